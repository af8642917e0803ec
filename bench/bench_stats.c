/* bench_stats.c - what GET /api/v1/stats costs at each level of the unit
 * tree, with the per-unit, per-day counters (store_stats.h) against the
 * baseline of counting the messages themselves, in the same run.
 *
 * For the district, a street, a community and a grid it times the storage
 * work of one /stats answer (totals over everything and for one day, by
 * child, by day) through store_stats, and the same figures computed from
 * messages and leads with GROUP BY queries, and checks that both give the
 * same message and lead counts. The database is a demo district with
 * messages: the path given, or one generated with 670,000 messages under
 * $TMPDIR (a minute or two). With --writers it instead times the demo
 * generator with and without the statistics triggers (what counting costs
 * whoever stores messages). Usage:
 *     bench_stats [DB]                 e.g. bench_stats var/big.db
 *     bench_stats --writers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "demo.h"
#include "store.h"
#include "store_sql.h"
#include "store_stats.h"

static int add_day(void *ctx, int64_t day, const store_stat_counts *c)
{
    (void)day;
    store_stat_counts *sum = ctx;
    for (int i = 0; i < STORE_STAT_N; i++)
        sum->v[i] += c->v[i];
    return NY_OK;
}

static int count_child(void *ctx, const store_unit *u, const store_stat_counts *c)
{
    (void)u;
    (void)c;
    (*(long *)ctx)++;
    return NY_OK;
}

static int ignore(void *ctx, const store_row *row)
{
    (void)row;
    (*(long *)ctx)++;
    return NY_OK;
}

/* One /stats answer from the counters (as server_api_stats.c makes it:
 * the days, summed into the totals, and the children); *messages and
 * *leads for checking. */
static int with_counters(store *s, const char *code, int64_t *messages, int64_t *leads, ny_err *e)
{
    store_stat_counts all = {{0}};
    long rows = 0;
    int rc = store_stats_by_day(s, code, 0, 100000, add_day, &all, e);
    if (rc == NY_OK)
        rc = store_stats_by_child(s, code, 0, 100000, count_child, &rows, e);
    *messages = all.v[STORE_STAT_MESSAGES];
    *leads = all.v[STORE_STAT_LEADS];
    return rc;
}

#define FROM_M                                                                                     \
    " FROM messages m JOIN chat_groups g ON g.id=m.group_id JOIN units u ON u.id=g.unit_id"        \
    " WHERE u.code>=? AND u.code<?"
#define BY_INTENT                                                                                  \
    "count(*),sum(CASE WHEN m.intent='consult' THEN 1 ELSE 0 END),sum(CASE WHEN "                  \
    "m.intent='report' THEN 1 ELSE 0 END),sum(CASE WHEN m.category='无' THEN 1 ELSE 0 END)"

/* The same figures counted from the messages and leads themselves. */
static int baseline(store *s, const char *lo, const char *hi, int child_len, int64_t today,
                    int64_t *messages, int64_t *leads, ny_err *e)
{
    store_val p[4] = {SV_TEXT(lo), SV_TEXT(hi), SV_INT(today), SV_INT(child_len)};
    long rows = 0;
    int rc = store_sql_int(s, "SELECT count(*)" FROM_M, p, 2, messages, e);
    if (rc == NY_OK)
        rc = store_sql(s, "SELECT " BY_INTENT FROM_M, p, 2, ignore, &rows, NULL, e);
    if (rc == NY_OK)
        rc = store_sql(s, "SELECT count(*)" FROM_M " AND (m.sent_at+28800)/86400=?", p, 3, ignore,
                       &rows, NULL, e);
    store_val pc[3] = {SV_INT(child_len), SV_TEXT(lo), SV_TEXT(hi)};
    if (rc == NY_OK)
        rc = store_sql(s,
                       "SELECT substr(u.code,1,?),count(*) FROM messages m JOIN chat_groups g ON "
                       "g.id=m.group_id JOIN units u ON u.id=g.unit_id WHERE u.code>=? AND u.code<?"
                       " GROUP BY 1",
                       pc, 3, ignore, &rows, NULL, e);
    if (rc == NY_OK)
        rc = store_sql(s, "SELECT (m.sent_at+28800)/86400,count(*)" FROM_M " GROUP BY 1", p, 2,
                       ignore, &rows, NULL, e);
    if (rc == NY_OK)
        rc = store_sql_int(s,
                           "SELECT count(*) FROM leads l JOIN units u ON u.id=l.unit_id"
                           " WHERE u.code>=? AND u.code<?",
                           p, 2, leads, e);
    return rc;
}

/* Seconds demo_generate takes for n messages into a fresh database, with
 * the statistics triggers or (keep 0) without them: what counting costs
 * the writers. */
static double generate(long n, int keep, ny_err *e)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/bench_stats_gen.%d.db", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    store *s = NULL;
    double t = -1;
    int rc = store_open(path, NULL, &s, e);
    if (rc == NY_OK && !keep)
        rc = store_sql(s, "DROP TRIGGER messages_stat", NULL, 0, NULL, NULL, NULL, e);
    if (rc == NY_OK && !keep)
        rc = store_sql(s, "DROP TRIGGER leads_stat", NULL, 0, NULL, NULL, NULL, e);
    if (rc == NY_OK) {
        demo_opts o = {.seed = 1, .messages = n};
        double t0 = bench_wall_now();
        if (demo_generate(s, &o, e) == NY_OK)
            t = bench_wall_now() - t0;
    }
    store_close(s);
    unlink(path);
    return t;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--writers") == 0) {
        ny_err e;
        double with = generate(100000, 1, &e), without = generate(100000, 0, &e);
        if (with < 0 || without < 0) {
            fprintf(stderr, "bench_stats: %s\n", e.msg);
            return 1;
        }
        printf("demo_generate, 100,000 messages: %.2f s with the statistics triggers, %.2f s "
               "without (%.2fx)\n",
               with, without, with / without);
        return 0;
    }
    char path[512];
    int made = 0;
    if (argc > 1) {
        snprintf(path, sizeof path, "%s", argv[1]);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/bench_stats.%d.db", tmp && *tmp ? tmp : "/tmp",
                 (int)getpid());
        made = 1;
    }
    store *s = NULL;
    ny_err e;
    int rc = store_open(path, NULL, &s, &e);
    if (rc == NY_OK && made) {
        printf("generating the demo district with 670,000 messages in %s ...\n", path);
        demo_opts o = {.seed = 1, .messages = 670000};
        rc = demo_generate(s, &o, &e);
    }
    double t0 = bench_wall_now(), c0 = bench_cpu_now();
    long folded = 0;
    if (rc == NY_OK)
        rc = store_stats_compact(s, 0, &folded, &e);
    if (rc == NY_OK)
        printf("fold %ld delta rows: %.0f ms (cpu %.0f ms)\n", folded,
               (bench_wall_now() - t0) * 1e3, (bench_cpu_now() - c0) * 1e3);
    static const struct {
        const char *level, *code, *lo, *hi;
        int child_len;
    } at[] = {{"district", "411571000000", "411571", "411571:", 9},
              {"street", "411571001000", "411571001", "411571001:", 12},
              {"community", "411571001001", "411571001001", "411571001001:", 15},
              {"grid", "411571001001001", "411571001001001", "411571001001001:", 15}};
    int64_t today = store_stat_day(1795000000); /* 2026-11-18, inside the demo year */
    for (size_t i = 0; rc == NY_OK && i < sizeof at / sizeof at[0]; i++) {
        double fast[21], slow[5], fcpu[21], scpu[5];
        int64_t m1 = 0, l1 = 0, m2 = 0, l2 = 0;
        for (int k = 0; rc == NY_OK && k < 21; k++) {
            double t = bench_wall_now(), c = bench_cpu_now();
            rc = with_counters(s, at[i].code, &m1, &l1, &e);
            fast[k] = bench_wall_now() - t;
            fcpu[k] = bench_cpu_now() - c;
        }
        for (int k = 0; rc == NY_OK && k < 5; k++) {
            double t = bench_wall_now(), c = bench_cpu_now();
            rc = baseline(s, at[i].lo, at[i].hi, at[i].child_len, today, &m2, &l2, &e);
            slow[k] = bench_wall_now() - t;
            scpu[k] = bench_cpu_now() - c;
        }
        if (rc != NY_OK)
            break;
        double f = bench_median(fast, 21), b = bench_median(slow, 5);
        double fc = bench_median(fcpu, 21), bc = bench_median(scpu, 5);
        printf("%-9s %6lld messages %5lld leads: counters %6.2f ms (cpu %5.2f), counting rows "
               "%8.1f ms (cpu %7.1f): %.0fx wall, %.0fx cpu%s\n",
               at[i].level, (long long)m1, (long long)l1, f * 1e3, fc * 1e3, b * 1e3, bc * 1e3,
               b / f, bc / fc, m1 == m2 && l1 == l2 ? "" : "  MISMATCH");
        if (m1 != m2 || l1 != l2)
            rc = NY_ERR;
    }
    if (rc != NY_OK)
        fprintf(stderr, "bench_stats: %s\n", e.msg[0] ? e.msg : "counts differ");
    store_close(s);
    if (made) {
        unlink(path);
        char side[600];
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
    }
    return rc == NY_OK ? 0 : 1;
}
