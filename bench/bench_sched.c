/* bench_sched.c - what one pass of the case scheduler costs when the
 * district holds a million open cases.
 *
 * Builds the demo district (no messages) in a fresh database (a SQLite file
 * under $TMPDIR, or the database given with --db, e.g. a PostgreSQL URI),
 * fills it with open cases at grid level spread over the accept, resolve
 * and verify stages, whose next check times lie between ten minutes and
 * thirty days ahead (so almost none is due), and times case_sched_pass()
 * exactly as the server's scheduler thread calls it (server_cases_sched.c:
 * at most 256 cases a pass) on the SLA table of data/:
 *   - the baseline: a pass with 20 cases due (10 reminders, 10 breaches that
 *     escalate or mark overdue) when the store holds 1,000 open cases;
 *   - the same pass when it holds N (default 1,000,000): the deadline index
 *     should make the two cost the same;
 *   - an idle pass (nothing due) at N;
 *   - a burst: B cases (default 10,000) falling due at once, drained by
 *     consecutive passes as the server does (a busy pass is followed at
 *     once by the next, until one finds nothing): the longest pass, the
 *     passes and the total.
 * It prints the fill time too, and checks every due case was handled.
 * Wall-clock times (the work is I/O and commits). Usage:
 *     bench_sched [--db URI] [--cases N] [--burst B] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "case_sched.h"
#include "demo.h"
#include "store.h"
#include "store_sql.h"

/* Monday 1 June 2026, 10:00 China time: the scheduler's "now". */
#define NOW 1780279200LL
#define PASS_MAX CASE_SCHED_MAX
/* Cases added per transaction when filling. */
#define FILL_CHUNK 50000

static int fail(const char *what, const ny_err *e)
{
    fprintf(stderr, "bench_sched: %s: %s\n", what, e->msg);
    return 1;
}

/* Adds cases [from, to) (numbered; deterministic fields) at grid level:
 * stage by number (accept, resolve or verify), next check time 10 min to
 * 30 days after NOW and the stage's deadline a day after it. One
 * INSERT ... SELECT over a recursive counter, written once for both
 * engines. */
static int fill(store *s, long from, long to, long grids, ny_err *e)
{
    static const char sql[] =
        "WITH RECURSIVE x(i) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT i + 1 FROM x WHERE i + "
        "1 < ?)"
        " INSERT INTO cases(source, title, description, category, urgency, priority, status,"
        " level, unit_id, origin_unit_id, opened_at, due_at, kind, stage, next_check_at,"
        " accepted_at, resolved_at, resolved_by)"
        " SELECT 'patrol', '巡查发现问题', '基准测试案件', '市政设施', 'general', 0,"
        " CASE x.i % 3 WHEN 0 THEN 'reported' WHEN 1 THEN 'in_progress' ELSE 'resolved' END,"
        " 'grid', g.id, g.id, ? - 86400 * (x.i % 7),"
        " ? + 600 + (x.i * 7919) % 2592000 + 86400, 'case',"
        " CASE x.i % 3 WHEN 0 THEN 'accept' WHEN 1 THEN 'resolve' ELSE 'verify' END,"
        " ? + 600 + (x.i * 7919) % 2592000,"
        " CASE WHEN x.i % 3 = 0 THEN NULL ELSE ? - 3600 END,"
        " CASE WHEN x.i % 3 = 2 THEN ? - 600 ELSE NULL END,"
        " CASE WHEN x.i % 3 = 2 THEN 'bench' ELSE '' END"
        " FROM x JOIN bench_grids g ON g.n = x.i % ?";
    store_val p[] = {SV_INT(from), SV_INT(to),  SV_INT(NOW), SV_INT(NOW),
                     SV_INT(NOW),  SV_INT(NOW), SV_INT(NOW), SV_INT(grids)};
    if (store_begin(s, e) != NY_OK)
        return NY_ERR;
    int rc = store_sql(s, sql, p, 8, NULL, NULL, NULL, e);
    if (rc == NY_OK)
        return store_commit(s, e);
    ny_err keep = *e;
    store_rollback(s, NULL);
    *e = keep;
    return rc;
}

/* Makes n of the benchmark's cases due at NOW, picked evenly by id (every
 * step-th, starting at offset) among those not due yet: every other one a
 * reminder (its deadline two hours ahead), the rest breaches. */
static int make_due(store *s, long n, long total, long offset, ny_err *e)
{
    long step = total / n > 0 ? total / n : 1;
    store_val p[] = {SV_INT(NOW - 60), SV_INT(step), SV_INT(NOW + 7200),    SV_INT(NOW - 60),
                     SV_INT(NOW),      SV_INT(step), SV_INT(offset % step), SV_INT(n)};
    return store_sql(
        s,
        "UPDATE cases SET next_check_at = ?,"
        " due_at = CASE WHEN (id / ?) % 2 = 0 THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END"
        " WHERE id IN (SELECT id FROM cases WHERE description = '基准测试案件'"
        " AND next_check_at > ? AND id % ? = ? ORDER BY id LIMIT ?)",
        p, 8, NULL, NULL, NULL, e);
}

/* Passes at NOW, one after the other as the server runs them, until one
 * handles nothing; the total
 * time, the longest pass and the count. */
static int drain(store *s, const sla *sl, double *total, double *longest, int *passes,
                 case_sched_stats *st, ny_err *e)
{
    *total = *longest = 0;
    *passes = 0;
    for (;;) {
        case_sched_stats one = {0};
        double t0 = bench_wall_now();
        int rc = case_sched_pass(s, sl, NOW, PASS_MAX, &one, e);
        double t = bench_wall_now() - t0;
        if (rc != NY_OK)
            return rc;
        *total += t;
        if (t > *longest)
            *longest = t;
        (*passes)++;
        st->reminded += one.reminded;
        st->escalated += one.escalated;
        st->overdue += one.overdue;
        st->skipped += one.skipped;
        if (one.reminded + one.escalated + one.overdue + one.skipped == 0)
            return NY_OK;
    }
}

static void show(const char *what, double t, const case_sched_stats *st, double base)
{
    printf("%-44s %9.1f ms  (%ld reminded, %ld escalated, %ld overdue, %ld skipped)", what,
           t * 1000, st->reminded, st->escalated, st->overdue, st->skipped);
    if (base > 0)
        printf("  %.2fx baseline", t / base);
    printf("\n");
}

/* A typical pass: 20 cases due among the open ones. */
static int typical(store *s, const sla *sl, long open, long offset, double *t, case_sched_stats *st,
                   ny_err *e)
{
    int passes;
    double total;
    int rc = make_due(s, 20, open, offset, e);
    return rc == NY_OK ? drain(s, sl, &total, t, &passes, st, e) : rc; /* its one busy pass */
}

static void remove_db(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char name[600];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

static int run(const char *uri, long cases, long burst)
{
    store *s = NULL;
    sla *sl = NULL;
    ny_err e;
    int64_t grids = 0;
    if (store_open(uri, NULL, &s, &e) != NY_OK)
        return fail("open", &e);
    int rc = sla_load("data", &sl, &e);
    double t0 = bench_wall_now();
    demo_opts o = {.seed = 1, .messages = 0};
    if (rc == NY_OK)
        rc = demo_generate(s, &o, &e);
    if (rc == NY_OK)
        printf("demo district: %.1f s\n", bench_wall_now() - t0);
    if (rc == NY_OK) /* the demo's own cases are closed or open: take them out of the way */
        rc = store_sql(s, "UPDATE cases SET next_check_at = NULL", NULL, 0, NULL, NULL, NULL, &e);
    if (rc == NY_OK)
        rc = store_sql(s, "CREATE TEMP TABLE bench_grids(n INTEGER PRIMARY KEY, id INTEGER)", NULL,
                       0, NULL, NULL, NULL, &e);
    if (rc == NY_OK)
        rc = store_sql(s,
                       "INSERT INTO bench_grids(n, id) SELECT ROW_NUMBER() OVER (ORDER BY id) - 1,"
                       " id FROM units WHERE level = 'grid'",
                       NULL, 0, NULL, NULL, NULL, &e);
    if (rc == NY_OK)
        rc = store_sql_int(s, "SELECT COUNT(*) FROM bench_grids", NULL, 0, &grids, &e);
    if (rc == NY_OK && grids == 0)
        rc = ny_err_set(&e, NY_ERR, "the demo district has no grids");
    long small = cases < 1000 ? cases : 1000;
    if (rc == NY_OK)
        rc = fill(s, 0, small, grids, &e);
    double base = 0, t = 0, longest = 0;
    case_sched_stats st = {0};
    if (rc == NY_OK && (rc = typical(s, sl, small, 0, &base, &st, &e)) == NY_OK)
        show("pass, 20 due, 1,000 open (baseline)", base, &st, 0);
    t0 = bench_wall_now();
    for (long at = small; rc == NY_OK && at < cases; at += FILL_CHUNK)
        rc = fill(s, at, at + FILL_CHUNK < cases ? at + FILL_CHUNK : cases, grids, &e);
    if (rc == NY_OK) /* the statistics a live database has (PostgreSQL plans by them) */
        rc = store_sql(s, "ANALYZE cases", NULL, 0, NULL, NULL, NULL, &e);
    if (rc == NY_OK)
        printf("fill %ld open cases (and ANALYZE): %.1f s\n", cases - small, bench_wall_now() - t0);
    if (rc == NY_OK &&
        (st = (case_sched_stats){0}, rc = typical(s, sl, cases, 1, &t, &st, &e)) == NY_OK) {
        char what[64];
        snprintf(what, sizeof what, "pass, 20 due, %ld open", cases);
        show(what, t, &st, base);
    }
    int passes = 0;
    if (rc == NY_OK &&
        (st = (case_sched_stats){0}, rc = drain(s, sl, &t, &longest, &passes, &st, &e)) == NY_OK)
        show("idle pass (nothing due)", t, &st, base);
    if (rc == NY_OK)
        rc = make_due(s, burst, cases, 2, &e);
    if (rc == NY_OK &&
        (st = (case_sched_stats){0}, rc = drain(s, sl, &t, &longest, &passes, &st, &e)) == NY_OK) {
        char what[64];
        snprintf(what, sizeof what, "burst of %ld due: %d passes, total", burst, passes);
        show(what, t, &st, base);
        printf("%-44s %9.1f ms  %.2fx baseline\n", "burst: longest pass", longest * 1000,
               longest / base);
        long done = st.reminded + st.escalated + st.overdue;
        if (done != burst)
            rc = ny_err_set(&e, NY_ERR, "the burst handled %ld of %ld cases", done, burst);
    }
    sla_free(sl);
    store_close(s);
    return rc == NY_OK ? 0 : fail("run", &e);
}

int main(int argc, char **argv)
{
    const char *uri = NULL;
    long cases = 1000000, burst = 10000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            uri = argv[++i];
        else if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc)
            cases = atol(argv[++i]);
        else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc)
            burst = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_sched [--db URI] [--cases N] [--burst B]\n");
            return 2;
        }
    }
    if (cases < 1000 || burst < 20 || burst > cases / 2) {
        fprintf(stderr, "bench_sched: need --cases >= 1000 and 20 <= --burst <= cases/2\n");
        return 2;
    }
    if (uri)
        return run(uri, cases, burst);
    const char *tmp = getenv("TMPDIR");
    char dir[400], path[512];
    snprintf(dir, sizeof dir, "%s/bench_sched.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/sched.db", dir);
    int rc = run(path, cases, burst);
    remove_db(path);
    rmdir(dir);
    return rc;
}
