/* store_pg_sql.c - store_sql() for the PostgreSQL driver.
 *
 * Rewrites the portable text's '?' placeholders to $1, $2 ... (leaving
 * quoted literals and identifiers alone), sends integer parameters as
 * decimal text, and runs the statement. A text is prepared on the
 * connection the first time it runs (one extra round trip) and kept,
 * keyed by its content, so the fixed texts of the ingest effects, the
 * outbox and the staff API are parsed and planned once per connection and
 * then cost one round trip with no parsing; once PG_SQL_CACHE texts are
 * prepared, new ones run unprepared with PQexecParams. Values always
 * travel as parameters, never in the text, so texts built at run time
 * (search filters) are as safe as fixed ones. Rows reach the callback as
 * the server's text values. A statement whose caller reads neither rows
 * nor a count is pipelined when the handle allows it (store_pg_pipe.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"

/* sql with each '?' outside quotes replaced by $k; malloc'd, or NULL. The
 * number of placeholders goes to *count. */
static char *placeholders(const char *sql, int *count)
{
    size_t len = strlen(sql), cap = len * 4 + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    char quote = 0;
    int k = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            out[o++] = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            out[o++] = *p;
        } else if (*p == '?') {
            o += (size_t)snprintf(out + o, cap - o, "$%d", ++k);
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    *count = k;
    return out;
}

void pg_sql_forget(struct pg *h)
{
    for (int i = 0; i < h->nsql; i++)
        free(h->sql[i].sql);
    h->nsql = 0;
}

static uint64_t hash_of(const char *s)
{
    uint64_t x = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ULL;
    return x;
}

/* The slot of sql prepared on h (its statement "nys<slot>") in *slot:
 * found, or prepared now; else -1 and *text gets the rewritten text to run
 * unprepared (the caller frees it): when the cache is full, or when the
 * text's parameter count is not n (the caller refuses it). *count gets the
 * number of parameters. NY_OK, or the failed prepare's code. */
static int prepared(struct pg *h, const char *sql, int n, int *slot, int *count, char **text,
                    ny_err *e)
{
    uint64_t x = hash_of(sql);
    *slot = -1;
    *text = NULL;
    for (int i = 0; i < h->nsql; i++)
        if (h->sql[i].hash == x && strcmp(h->sql[i].sql, sql) == 0) {
            *count = h->sql[i].nparams;
            *slot = i;
            return NY_OK;
        }
    if (!(*text = placeholders(sql, count)))
        return ny_err_set(e, NY_ERR, "out of memory");
    if (h->nsql == PG_SQL_CACHE || *count != n)
        return NY_OK;
    int rc = pg_pipe_wait(h, e); /* no preparing in the middle of a flight */
    if (rc != NY_OK)
        return rc;
    char *copy = strdup(sql), name[16];
    if (!copy)
        return ny_err_set(e, NY_ERR, "out of memory");
    snprintf(name, sizeof name, "nys%d", h->nsql);
    PGresult *p = PQprepare(h->conn, name, *text, 0, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK) {
        rc = pg_error(h, p, e, "query failed");
        PQclear(p);
        free(copy);
        return rc;
    }
    PQclear(p);
    free(*text);
    *text = NULL;
    h->sql[h->nsql] = (struct pg_sql_slot){x, copy, *count};
    *slot = h->nsql++;
    return NY_OK;
}

int pg_sql(void *impl, const char *sql, const store_val *params, int n,
           int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e)
{
    struct pg *h = impl;
    int count = 0;
    char *text;
    pg_revive(h);
    int slot, rc = pg_pipe_before(h, sql, e); /* savepoints: see store_pg_pipe.c */
    if (rc != NY_OK)
        return rc;
    rc = prepared(h, sql, n, &slot, &count, &text, e);
    if (rc != NY_OK) {
        free(text);
        return rc;
    }
    if (count != n) {
        free(text);
        return ny_err_set(e, NY_EINVAL, "query failed: %d parameters given, %d expected", n, count);
    }
    const char **vals = calloc((size_t)(n ? n : 1), sizeof *vals);
    char(*nums)[24] = calloc((size_t)(n ? n : 1), sizeof *nums);
    if (!vals || !nums) {
        free(text);
        free(vals);
        free(nums);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (params[i].type == STORE_VINT) {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, params[i].i);
            vals[i] = nums[i];
        } else if (params[i].type == STORE_VTEXT) {
            vals[i] = params[i].s;
        }
    }
    PGresult *r = NULL;
    char name[16];
    snprintf(name, sizeof name, "nys%d", slot);
    if (!fn && !changes && pg_pipe_can(h)) /* the caller reads nothing: no waiting */
        rc = pg_pipe_send(h, slot >= 0 ? name : NULL, text, n, vals, "query failed", e);
    else
        rc = pg_pipe_exec(h, slot >= 0 ? name : NULL, text, n, vals, &r, "query failed", e);
    free(text);
    free(vals);
    free(nums);
    if (rc == NY_OK)
        pg_pipe_after(h, sql);
    if (rc != NY_OK || !r)
        return rc;
    int ncols = PQnfields(r), nrows = PQntuples(r);
    if (ncols > STORE_SQL_MAX_COLS)
        rc = ny_err_set(e, NY_EINVAL, "query failed: more than %d columns", STORE_SQL_MAX_COLS);
    const char *row_vals[STORE_SQL_MAX_COLS];
    for (int i = 0; rc == NY_OK && fn && i < nrows; i++) {
        for (int c = 0; c < ncols; c++)
            row_vals[c] = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
        store_row row = {ncols, row_vals};
        rc = fn(ctx, &row);
    }
    if (rc == NY_OK && changes) {
        const char *t = PQcmdTuples(r);
        *changes = *t ? atol(t) : 0;
    }
    PQclear(r);
    return rc;
}
