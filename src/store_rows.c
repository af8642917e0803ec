/* store_rows.c - inserts that hand back ids, and multi-row statements, in
 * the portable SQL subset (store_sql_insert and store_sql_rows in
 * store_sql.h).
 *
 * Part of the storage layer's engine-independent services, used where rows
 * are written inside the ingest transaction (the effects: cases, their log
 * entries and reporters, leads and their reports). Ids of inserted rows come
 * from the connection's last rowid on SQLite, because SQLite runs every
 * RETURNING clause through a temporary table that it creates and drops on
 * each execution, and from RETURNING on PostgreSQL. A multi-row statement is
 * the head, k copies of the row and the tail, with k one of a few fixed
 * sizes (64, 16, 4, 1: largest first), so that a batch of any length runs
 * through at most four distinct texts per shape, each prepared once per
 * connection by the drivers' statement caches, with parameters far below
 * both engines' limits. A multi-row INSERT on SQLite gives consecutive
 * rowids (each the largest so far plus one), so the ids of its rows are the
 * last one and those before it; on PostgreSQL RETURNING gives them in the
 * order of the rows, as the drivers' own batch inserts rely on. */
#include <stdlib.h>
#include <string.h>

#include "store_driver.h"
#include "store_sql.h"

static const size_t sizes[] = {64, 16, 4, 1};

/* The ids RETURNING gives, in order (PostgreSQL). */
struct ids_ctx {
    int64_t *ids;
    size_t n, max;
};

static int keep_id(void *ctx, const store_row *row)
{
    struct ids_ctx *x = ctx;
    if (x->n < x->max)
        x->ids[x->n] = store_row_int(row, 0);
    x->n++;
    return NY_OK;
}

/* sql with " RETURNING id" appended, in buf when it fits, else malloc'd. */
static char *returning(const char *sql, char *buf, size_t size)
{
    size_t len = strlen(sql);
    char *text = len + sizeof " RETURNING id" <= size ? buf : malloc(len + sizeof " RETURNING id");
    if (text) {
        memcpy(text, sql, len);
        memcpy(text + len, " RETURNING id", sizeof " RETURNING id");
    }
    return text;
}

int store_sql_insert(store *s, const char *sql, const store_val *params, int n, int64_t *id,
                     ny_err *e)
{
    long changes = 0;
    int64_t last = 0;
    int rc;
    if (store_last_id(s, &last)) {
        rc = store_sql(s, sql, params, n, NULL, NULL, &changes, e);
        if (rc == NY_OK && changes > 0)
            store_last_id(s, id);
    } else {
        char buf[2048], *text = returning(sql, buf, sizeof buf);
        if (!text)
            return ny_err_set(e, NY_ERR, "out of memory");
        int64_t got = 0;
        struct ids_ctx x = {&got, 0, 1};
        rc = store_sql(s, text, params, n, keep_id, &x, NULL, e);
        if (text != buf)
            free(text);
        changes = (long)x.n;
        if (rc == NY_OK && changes)
            *id = got;
    }
    if (rc == NY_OK && !changes)
        return ny_err_set(e, NY_ENOTFOUND, "query inserted no row");
    return rc;
}

int store_sql_rows(store *s, const char *head, const char *row, const char *tail, int ncols,
                   const store_val *params, size_t nrows, int64_t *ids, long *changes, ny_err *e)
{
    if (changes)
        *changes = 0;
    size_t lh = strlen(head), lr = strlen(row), lt = strlen(tail);
    int64_t last = 0;
    int by_rowid = store_last_id(s, &last);
    char *sql = malloc(lh + 64 * (lr + 2) + lt + sizeof " RETURNING id");
    if (!sql)
        return ny_err_set(e, NY_ERR, "out of memory");
    int rc = NY_OK;
    for (size_t at = 0; rc == NY_OK && at < nrows;) {
        size_t k = 1;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            if (nrows - at >= sizes[i]) {
                k = sizes[i];
                break;
            }
        char *p = sql;
        memcpy(p, head, lh);
        p += lh;
        for (size_t i = 0; i < k; i++) {
            if (i)
                *p++ = ',';
            memcpy(p, row, lr);
            p += lr;
        }
        memcpy(p, tail, lt + 1);
        if (ids && !by_rowid)
            memcpy(p + lt, " RETURNING id", sizeof " RETURNING id");
        long changed = 0;
        struct ids_ctx x = {ids ? ids + at : NULL, 0, k};
        rc = store_sql(s, sql, params + at * (size_t)ncols, (int)k * ncols,
                       ids && !by_rowid ? keep_id : NULL, &x, &changed, e);
        size_t got = by_rowid || !ids ? (size_t)changed : x.n;
        if (changes)
            *changes += (long)got;
        if (rc == NY_OK && ids && got != k)
            rc = ny_err_set(e, NY_ECONFLICT, "query failed: %zu of %zu rows written", got, k);
        if (rc == NY_OK && ids && by_rowid && store_last_id(s, &last))
            for (size_t i = 0; i < k; i++)
                ids[at + i] = last - (int64_t)(k - 1 - i);
        at += k;
    }
    free(sql);
    return rc;
}
