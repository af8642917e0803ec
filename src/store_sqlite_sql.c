/* store_sqlite_sql.c - store_sql() for the SQLite driver.
 *
 * Runs one statement of the portable SQL subset (store_sql.h) on the
 * handle's connection. Statements are kept prepared in a small cache keyed
 * by their text, so the fixed texts of the outbox, case and API modules are
 * parsed once per connection; a text whose cached statement is still being
 * stepped (a callback running the same query again) gets a private
 * statement that is finalised after use. */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"

void sq_sql_cache_free(struct sq *h)
{
    for (int i = 0; i < SQ_SQL_CACHE; i++) {
        sqlite3_finalize(h->sql_cache[i].st);
        free(h->sql_cache[i].sql);
        h->sql_cache[i].st = NULL;
        h->sql_cache[i].sql = NULL;
    }
}

/* The prepared statement for sql: cached, or private (*own = 1). */
static int statement(struct sq *h, const char *sql, sqlite3_stmt **out, int *own, ny_err *e)
{
    *own = 0;
    for (int i = 0; i < SQ_SQL_CACHE; i++) {
        struct sq_sql_slot *slot = &h->sql_cache[i];
        if (slot->sql && strcmp(slot->sql, sql) == 0) {
            if (!sqlite3_stmt_busy(slot->st)) {
                *out = slot->st;
                return NY_OK;
            }
            break;
        }
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(h, rc, e, "query failed");
    if (!st)
        return ny_err_set(e, NY_EINVAL, "query failed: empty statement");
    char *copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    for (int i = 0; i < SQ_SQL_CACHE; i++) {
        if (h->sql_cache[i].sql && strcmp(h->sql_cache[i].sql, sql) == 0) {
            free(copy); /* the same text is busy in an enclosing call */
            *own = 1;
            *out = st;
            return NY_OK;
        }
    }
    struct sq_sql_slot *slot = &h->sql_cache[h->sql_next];
    if (slot->st && sqlite3_stmt_busy(slot->st)) {
        free(copy); /* never evict a statement in use: run this one privately */
        *own = 1;
        *out = st;
        return NY_OK;
    }
    sqlite3_finalize(slot->st);
    free(slot->sql);
    slot->sql = copy;
    slot->st = st;
    h->sql_next = (h->sql_next + 1) % SQ_SQL_CACHE;
    *out = st;
    return NY_OK;
}

static int bind_all(struct sq *h, sqlite3_stmt *st, const store_val *params, int n, ny_err *e)
{
    if (sqlite3_bind_parameter_count(st) != n)
        return ny_err_set(e, NY_EINVAL, "query failed: %d parameters given, %d expected", n,
                          sqlite3_bind_parameter_count(st));
    for (int i = 0; i < n; i++) {
        int rc;
        switch (params[i].type) {
        case STORE_VINT:
            rc = sqlite3_bind_int64(st, i + 1, params[i].i);
            break;
        case STORE_VTEXT:
            rc = sqlite3_bind_text(st, i + 1, params[i].s, -1, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, i + 1);
            break;
        }
        if (rc != SQLITE_OK)
            return sq_error(h, rc, e, "query failed");
    }
    return NY_OK;
}

int sq_sql(void *impl, const char *sql, const store_val *params, int n,
           int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st = NULL;
    int own, rc = statement(h, sql, &st, &own, e);
    if (rc != NY_OK)
        return rc;
    int ncols = sqlite3_column_count(st);
    if (ncols > STORE_SQL_MAX_COLS)
        rc = ny_err_set(e, NY_EINVAL, "query failed: more than %d columns", STORE_SQL_MAX_COLS);
    if (rc == NY_OK)
        rc = bind_all(h, st, params, n, e);
    const char *vals[STORE_SQL_MAX_COLS];
    while (rc == NY_OK) {
        int step = sq_next(h, st, e);
        if (step != 1) {
            rc = step;
            break;
        }
        if (!fn)
            continue;
        for (int c = 0; c < ncols; c++)
            vals[c] = (const char *)sqlite3_column_text(st, c);
        store_row row = {ncols, vals};
        rc = fn(ctx, &row);
    }
    if (rc == NY_OK && changes)
        *changes = (long)sqlite3_changes(h->db);
    if (own)
        sqlite3_finalize(st);
    else
        sq_reset(st);
    return rc;
}
