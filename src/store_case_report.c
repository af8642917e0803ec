/* store_case_report.c - reads for case figures, worker tables, the
 * ledger's neighbours and the digest (see store_case_report.h).
 *
 * The KPI read is one scan of the cases reported in a time range joined to
 * their origin unit; everything else is aggregated in C (kpi.c), which
 * keeps the SQL portable and the percentiles exact. */
#include "store_case_report.h"

#include <stdio.h>
#include <string.h>

#include "store_sql.h"

struct kpi_ctx {
    int (*fn)(void *ctx, const kpi_case *c);
    void *ctx;
};

static int on_kpi(void *ctx, const store_row *r)
{
    struct kpi_ctx *k = ctx;
    kpi_case c = {store_row_text(r, 0),      store_row_text(r, 1),      store_row_text(r, 2),
                  store_row_text(r, 3),      store_row_text(r, 4),      store_row_int(r, 5),
                  store_row_int(r, 6),       store_row_int(r, 7),       store_row_int(r, 8),
                  (int)store_row_int(r, 9),  (int)store_row_int(r, 10), (int)store_row_int(r, 11),
                  (int)store_row_int(r, 12), (int)store_row_int(r, 13), (int)store_row_int(r, 14)};
    return k->fn(k->ctx, &c);
}

int store_case_kpi(store *s, const char *prefix, int64_t from, int64_t to, int on_spot,
                   int (*fn)(void *ctx, const kpi_case *c), void *ctx, ny_err *e)
{
    char sql[1600];
    snprintf(sql, sizeof sql,
             "SELECT o.code, c.level, c.category, c.status, c.resolved_by, c.opened_at,"
             " c.accepted_at, c.resolved_at, c.closed_at, c.accept_late, c.resolve_late,"
             " c.overdue, c.satisfaction, c.reopen_count, %s"
             " FROM cases c JOIN units o ON o.id = COALESCE(c.origin_unit_id, c.unit_id)"
             " WHERE c.opened_at >= ? AND c.opened_at < ? AND c.kind = 'case'"
             " AND c.merged_into IS NULL AND substr(o.code, 1, ?) = ?",
             on_spot ? "CASE WHEN EXISTS(SELECT 1 FROM case_events v WHERE v.case_id = c.id"
                       " AND v.action = 'handle_on_spot') THEN 1 ELSE 0 END"
                     : "0");
    store_val p[] = {SV_INT(from), SV_INT(to), SV_INT((int64_t)strlen(prefix)), SV_TEXT(prefix)};
    struct kpi_ctx k = {fn, ctx};
    return store_sql(s, sql, p, 4, on_kpi, &k, NULL, e);
}

struct three {
    int (*fn)(void *ctx, const char *a, const char *b, const char *c);
    void *ctx;
};

static int on_three(void *ctx, const store_row *r)
{
    struct three *t = ctx;
    return t->fn(t->ctx, store_row_text(r, 0), store_row_text(r, 1), store_row_text(r, 2));
}

int store_case_children(store *s, const char *code,
                        int (*fn)(void *ctx, const char *code, const char *name, const char *level),
                        void *ctx, ny_err *e)
{
    struct three t = {fn, ctx};
    store_val p[] = {SV_TEXT(code)};
    return store_sql(
        s,
        "SELECT u.code, u.name, u.level FROM units u JOIN units p ON p.id = u.parent_id"
        " WHERE p.code = ? ORDER BY u.code",
        p, 1, on_three, &t, NULL, e);
}

struct four {
    int (*fn)(void *ctx, const char *a, const char *b, const char *c, const char *d);
    void *ctx;
};

static int on_four(void *ctx, const store_row *r)
{
    struct four *f = ctx;
    return f->fn(f->ctx, store_row_text(r, 0), store_row_text(r, 1), store_row_text(r, 2),
                 store_row_text(r, 3));
}

int store_case_grid_workers(store *s, const char *prefix,
                            int (*fn)(void *ctx, const char *grid, const char *grid_name,
                                      const char *account, const char *name),
                            void *ctx, ny_err *e)
{
    struct four f = {fn, ctx};
    store_val p[] = {SV_INT((int64_t)strlen(prefix)), SV_TEXT(prefix)};
    return store_sql(s,
                     "SELECT u.code, u.name, st.account, st.name FROM staff st"
                     " JOIN units u ON u.id = st.unit_id WHERE st.role = 'grid_worker'"
                     " AND u.level = 'grid' AND substr(u.code, 1, ?) = ?"
                     " ORDER BY u.code, st.account",
                     p, 2, on_four, &f, NULL, e);
}

int store_case_closed_count(store *s, const char *prefix, int64_t from, int64_t to, int64_t *n,
                            ny_err *e)
{
    store_val p[] = {SV_INT(from), SV_INT(to), SV_INT((int64_t)strlen(prefix)), SV_TEXT(prefix)};
    return store_sql_int(s,
                         "SELECT COUNT(*) FROM cases c JOIN units u ON u.id = c.unit_id"
                         " WHERE c.closed_at >= ? AND c.closed_at < ? AND c.merged_into IS NULL"
                         " AND substr(u.code, 1, ?) = ?",
                         p, 4, n, e);
}

int store_case_digest_staff(store *s,
                            int (*fn)(void *ctx, const char *code, const char *level,
                                      const char *account),
                            void *ctx, ny_err *e)
{
    struct three t = {fn, ctx};
    return store_sql(s,
                     "SELECT u.code, u.level, st.account FROM staff st JOIN units u"
                     " ON u.id = st.unit_id WHERE st.role <> 'admin' ORDER BY u.code, st.account",
                     NULL, 0, on_three, &t, NULL, e);
}

int store_case_digest_jobs(store *s, int64_t *n, ny_err *e)
{
    return store_sql_int(s, "SELECT COUNT(*) FROM jobs WHERE kind = 'case_digest'", NULL, 0, n, e);
}
