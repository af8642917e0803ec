/* store_pg_sql.c - store_sql() for the PostgreSQL driver.
 *
 * Rewrites the portable text's '?' placeholders to $1, $2 ... (leaving
 * quoted literals and identifiers alone), sends integer parameters as
 * decimal text, and runs the statement with PQexecParams: one round trip,
 * unprepared, so texts built at run time (search filters) are as safe as
 * fixed ones. Rows reach the callback as the server's text values. */
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

int pg_sql(void *impl, const char *sql, const store_val *params, int n,
           int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e)
{
    struct pg *h = impl;
    int count;
    char *text = placeholders(sql, &count);
    if (!text)
        return ny_err_set(e, NY_ERR, "out of memory");
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
    pg_revive(h);
    PGresult *r = PQexecParams(h->conn, text, n, NULL, vals, NULL, NULL, 0);
    free(text);
    free(vals);
    free(nums);
    ExecStatusType st = PQresultStatus(r);
    int rc = NY_OK;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = pg_error(h, r, e, "query failed");
        PQclear(r);
        return rc;
    }
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
