/* store_stats.c - the unit statistics behind GET /api/v1/stats: folding the
 * per-message deltas into per-unit, per-day rows, and reading totals, days
 * and children of any subtree.
 *
 * Migration 7's triggers write one stat_deltas row per stored message or
 * lead, for the group's own unit (usually a grid), in the writer's
 * transaction: nothing has to remember to count, and no row is shared
 * between concurrent writers, so ingest on several nodes never waits on a
 * counter. store_stats_compact folds the deltas into stat_days for the unit
 * and each ancestor (the unit tree is at most four levels deep, so the
 * ancestors are three self-joins), then deletes exactly the rows it
 * folded: it notes how many rows it saw, and if the delete meets a different
 * number (a writer committed a delta in between) it rolls back and leaves
 * everything for the next time. Compactors serialise on a meta row.
 *
 * A read sums the subtree root's stat_days rows plus the deltas not yet
 * folded of every unit in the subtree (a code range on units), so a
 * district's year is about 365 rows plus a short tail, whatever the number
 * of messages. Everything runs through store_sql, the same SQL on both
 * engines. */
#include "store_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store_sql.h"

#define COLS                                                                                       \
    "messages,leads,replies,answered,i_consult,i_help,i_report,i_emergency,i_complaint,i_other,"   \
    "c_urban,c_environment,c_transport,c_education,c_labour,c_commerce,c_health,c_none"
#define SUMS                                                                                       \
    "COALESCE(sum(messages),0),COALESCE(sum(leads),0),COALESCE(sum(replies),0),"                   \
    "COALESCE(sum(answered),0),COALESCE(sum(i_consult),0),COALESCE(sum(i_help),0),"                \
    "COALESCE(sum(i_report),0),COALESCE(sum(i_emergency),0),COALESCE(sum(i_complaint),0),"         \
    "COALESCE(sum(i_other),0),COALESCE(sum(c_urban),0),COALESCE(sum(c_environment),0),"            \
    "COALESCE(sum(c_transport),0),COALESCE(sum(c_education),0),COALESCE(sum(c_labour),0),"         \
    "COALESCE(sum(c_commerce),0),COALESCE(sum(c_health),0),COALESCE(sum(c_none),0)"
#define UPSERT                                                                                     \
    "messages=stat_days.messages+excluded.messages,leads=stat_days.leads+excluded.leads,"          \
    "replies=stat_days.replies+excluded.replies,"                                                  \
    "answered=stat_days.answered+excluded.answered,"                                               \
    "i_consult=stat_days.i_consult+excluded.i_consult,"                                            \
    "i_help=stat_days.i_help+excluded.i_help,i_report=stat_days.i_report+excluded.i_report,"       \
    "i_emergency=stat_days.i_emergency+excluded.i_emergency,"                                      \
    "i_complaint=stat_days.i_complaint+excluded.i_complaint,"                                      \
    "i_other=stat_days.i_other+excluded.i_other,c_urban=stat_days.c_urban+excluded.c_urban,"       \
    "c_environment=stat_days.c_environment+excluded.c_environment,"                                \
    "c_transport=stat_days.c_transport+excluded.c_transport,"                                      \
    "c_education=stat_days.c_education+excluded.c_education,"                                      \
    "c_labour=stat_days.c_labour+excluded.c_labour,"                                               \
    "c_commerce=stat_days.c_commerce+excluded.c_commerce,"                                         \
    "c_health=stat_days.c_health+excluded.c_health,c_none=stat_days.c_none+excluded.c_none"
#define SUMS_AS                                                                                    \
    "sum(messages) AS messages,sum(leads) AS leads,sum(replies) AS replies,"                       \
    "sum(answered) AS answered,sum(i_consult) AS i_consult,sum(i_help) AS i_help,"                 \
    "sum(i_report) AS i_report,sum(i_emergency) AS i_emergency,"                                   \
    "sum(i_complaint) AS i_complaint,sum(i_other) AS i_other,sum(c_urban) AS c_urban,"             \
    "sum(c_environment) AS c_environment,sum(c_transport) AS c_transport,"                         \
    "sum(c_education) AS c_education,sum(c_labour) AS c_labour,sum(c_commerce) AS c_commerce,"     \
    "sum(c_health) AS c_health,sum(c_none) AS c_none"
/* Folds the deltas with ids in [?, ?] into stat_days: summed per unit and
 * day first, then added to the unit and each of its ancestors. */
#define FOLD                                                                                       \
    "INSERT INTO stat_days(unit_id,day," COLS ") SELECT a.id,d.day," SUMS                          \
    " FROM (SELECT unit_id,day," SUMS_AS " FROM stat_deltas WHERE id>=? AND id<=?"                 \
    " GROUP BY unit_id,day) d JOIN units u0 ON u0.id=d.unit_id"                                    \
    " LEFT JOIN units u1 ON u1.id=u0.parent_id LEFT JOIN units u2 ON u2.id=u1.parent_id"           \
    " LEFT JOIN units u3 ON u3.id=u2.parent_id JOIN units a ON a.id IN (u0.id,u1.id,u2.id,u3.id)"  \
    " WHERE 1=1 GROUP BY a.id,d.day ON CONFLICT(unit_id,day) DO UPDATE SET " UPSERT
/* The rows of a subtree: the root's folded days and the unfolded deltas of
 * every unit in the code range. Parameters: root id, from, to, code low,
 * code high, from, to. */
#define SUBTREE                                                                                    \
    " FROM (SELECT day," COLS " FROM stat_days WHERE unit_id=? AND day>=? AND day<?"               \
    " UNION ALL SELECT d.day," COLS " FROM stat_deltas d JOIN units u ON u.id=d.unit_id"           \
    " WHERE u.code>=? AND u.code<? AND d.day>=? AND d.day<?) t"

int64_t store_stat_day(int64_t t)
{
    int64_t x = t + 8 * 3600;
    return x >= 0 ? x / 86400 : -((-x + 86399) / 86400);
}

static void read_counts(const store_row *row, int first, store_stat_counts *c)
{
    for (int i = 0; i < STORE_STAT_N; i++)
        c->v[i] = store_row_int(row, first + i);
}

static int add_counts(void *ctx, const store_row *row)
{
    store_stat_counts *c = ctx, x;
    read_counts(row, 0, &x);
    for (int i = 0; i < STORE_STAT_N; i++)
        c->v[i] += x.v[i];
    return NY_OK;
}

/* ---- compaction ---------------------------------------------------------- */

struct span {
    int64_t lo, hi, n;
};

static int on_span(void *ctx, const store_row *row)
{
    struct span *sp = ctx;
    sp->lo = store_row_int(row, 0);
    sp->hi = store_row_int(row, 1);
    sp->n = store_row_int(row, 2);
    return NY_OK;
}

int store_stats_compact(store *s, long min_rows, long *folded, ny_err *e)
{
    if (folded)
        *folded = 0;
    int64_t waiting = 0;
    int rc = store_sql_int(s, "SELECT count(*) FROM stat_deltas", NULL, 0, &waiting, e);
    if (rc != NY_OK || waiting == 0 || waiting < min_rows)
        return rc;
    if ((rc = store_begin(s, e)) != NY_OK)
        return rc;
    struct span sp = {0, 0, 0};
    long changes = 0;
    rc = store_sql(s,
                   "INSERT INTO meta(key,value) VALUES('stats:compact','0')"
                   " ON CONFLICT(key) DO UPDATE SET value=meta.value",
                   NULL, 0, NULL, NULL, NULL, e);
    if (rc == NY_OK)
        rc = store_sql(s, "SELECT min(id),max(id),count(*) FROM stat_deltas", NULL, 0, on_span, &sp,
                       NULL, e);
    store_val span[2] = {SV_INT(sp.lo), SV_INT(sp.hi)};
    if (rc == NY_OK && sp.n > 0)
        rc = store_sql(s, FOLD, span, 2, NULL, NULL, NULL, e);
    if (rc == NY_OK && sp.n > 0)
        rc = store_sql(s, "DELETE FROM stat_deltas WHERE id>=? AND id<=?", span, 2, NULL, NULL,
                       &changes, e);
    if (rc != NY_OK || changes != sp.n) { /* failed, or a writer committed in between */
        ny_err e2;
        store_rollback(s, &e2);
        return rc;
    }
    rc = store_commit(s, e);
    if (rc == NY_OK && folded)
        *folded = (long)sp.n;
    return rc;
}

/* ---- reads ----------------------------------------------------------------- */

/* A subtree root: its id and the code range of its subtree. */
typedef struct root {
    int64_t id;
    char level[16];
    char lo[32], hi[40];
} root;

static int on_unit(void *ctx, const store_unit *u)
{
    root *r = ctx;
    r->id = u->id;
    snprintf(r->level, sizeof r->level, "%s", u->level);
    if (domain_unit_prefix(u->level, u->code, r->lo, sizeof r->lo) != NY_OK)
        return NY_EINVAL;
    snprintf(r->hi, sizeof r->hi, "%s:", r->lo); /* ':' sorts right after '9' */
    return NY_OK;
}

static int find_root(store *s, const char *code, root *r, ny_err *e)
{
    int rc = store_unit_get(s, code, on_unit, r, e);
    if (rc == NY_EINVAL)
        ny_err_set(e, rc, "unit %s has a malformed code", code);
    return rc;
}

int store_stats_total(store *s, const char *unit_code, int64_t from_day, int64_t to_day,
                      store_stat_counts *out, ny_err *e)
{
    memset(out, 0, sizeof *out);
    root r;
    int rc = find_root(s, unit_code, &r, e);
    if (rc != NY_OK)
        return rc;
    store_val p[7] = {SV_INT(r.id),  SV_INT(from_day), SV_INT(to_day), SV_TEXT(r.lo),
                      SV_TEXT(r.hi), SV_INT(from_day), SV_INT(to_day)};
    return store_sql(s, "SELECT " SUMS SUBTREE, p, 7, add_counts, out, NULL, e);
}

struct day_ctx {
    int (*fn)(void *ctx, int64_t day, const store_stat_counts *c);
    void *ctx;
};

static int on_day(void *ctx, const store_row *row)
{
    struct day_ctx *d = ctx;
    store_stat_counts c;
    read_counts(row, 1, &c);
    return d->fn(d->ctx, store_row_int(row, 0), &c);
}

int store_stats_by_day(store *s, const char *unit_code, int64_t from_day, int64_t to_day,
                       int (*fn)(void *ctx, int64_t day, const store_stat_counts *c), void *ctx,
                       ny_err *e)
{
    root r;
    int rc = find_root(s, unit_code, &r, e);
    if (rc != NY_OK)
        return rc;
    store_val p[7] = {SV_INT(r.id),  SV_INT(from_day), SV_INT(to_day), SV_TEXT(r.lo),
                      SV_TEXT(r.hi), SV_INT(from_day), SV_INT(to_day)};
    struct day_ctx d = {fn, ctx};
    return store_sql(s, "SELECT day," SUMS SUBTREE " GROUP BY day ORDER BY day", p, 7, on_day, &d,
                     NULL, e);
}

/* The children of a root with their counts. */
typedef struct child {
    char *code, *name, *level;
    char prefix[32];
    store_stat_counts c;
} child;

struct kids {
    child *k;
    size_t n, cap;
};

static int on_child(void *ctx, const store_row *row)
{
    struct kids *ks = ctx;
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        child *p = realloc(ks->k, cap * sizeof *p);
        if (!p)
            return NY_ERR;
        ks->k = p;
        ks->cap = cap;
    }
    child *c = &ks->k[ks->n];
    memset(c, 0, sizeof *c);
    c->code = strdup(store_row_text(row, 0));
    c->name = strdup(store_row_text(row, 1));
    c->level = strdup(store_row_text(row, 2));
    ks->n++;
    if (!c->code || !c->name || !c->level)
        return NY_ERR;
    return domain_unit_prefix(c->level, c->code, c->prefix, sizeof c->prefix);
}

/* Adds a row (key, counts...) to the child whose code (exact) or prefix is
 * the key. */
static int add_to_child(void *ctx, const store_row *row)
{
    struct kids *ks = ctx;
    const char *key = store_row_text(row, 0);
    for (size_t i = 0; key && i < ks->n; i++) {
        if (strcmp(ks->k[i].code, key) != 0 && strcmp(ks->k[i].prefix, key) != 0)
            continue;
        ks->k[i].c.v[STORE_STAT_MESSAGES] += store_row_int(row, 1);
        ks->k[i].c.v[STORE_STAT_LEADS] += store_row_int(row, 2);
        break;
    }
    return NY_OK;
}

int store_stats_by_child(store *s, const char *unit_code, int64_t from_day, int64_t to_day,
                         int (*fn)(void *ctx, const store_unit *child, const store_stat_counts *c),
                         void *ctx, ny_err *e)
{
    root r;
    int rc = find_root(s, unit_code, &r, e);
    if (rc != NY_OK)
        return rc;
    struct kids ks = {0};
    store_val id = SV_INT(r.id);
    rc = store_sql(s, "SELECT code,name,level FROM units WHERE parent_id=? ORDER BY code", &id, 1,
                   on_child, &ks, NULL, e);
    if (rc == NY_ERR && !e->msg[0])
        ny_err_set(e, rc, "out of memory");
    if (rc == NY_OK && ks.n) {
        store_val p[3] = {SV_INT(r.id), SV_INT(from_day), SV_INT(to_day)};
        rc = store_sql(s,
                       "SELECT c.code,sum(t.messages),sum(t.leads) FROM units c"
                       " JOIN stat_days t ON t.unit_id=c.id"
                       " WHERE c.parent_id=? AND t.day>=? AND t.day<? GROUP BY c.code",
                       p, 3, add_to_child, &ks, NULL, e);
    }
    if (rc == NY_OK && ks.n) {
        store_val p[5] = {SV_INT((int64_t)strlen(ks.k[0].prefix)), SV_TEXT(r.lo), SV_TEXT(r.hi),
                          SV_INT(from_day), SV_INT(to_day)};
        rc = store_sql(s,
                       "SELECT substr(u.code,1,?),sum(d.messages),sum(d.leads)"
                       " FROM stat_deltas d JOIN units u ON u.id=d.unit_id"
                       " WHERE u.code>=? AND u.code<? AND d.day>=? AND d.day<? GROUP BY 1",
                       p, 5, add_to_child, &ks, NULL, e);
    }
    for (size_t i = 0; rc == NY_OK && i < ks.n; i++) {
        store_unit u = {0, ks.k[i].code, ks.k[i].name, ks.k[i].level, unit_code};
        rc = fn(ctx, &u, &ks.k[i].c);
    }
    for (size_t i = 0; i < ks.n; i++) {
        free(ks.k[i].code);
        free(ks.k[i].name);
        free(ks.k[i].level);
    }
    free(ks.k);
    return rc;
}
