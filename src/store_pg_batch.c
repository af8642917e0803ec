/* store_pg_batch.c - how the PostgreSQL driver writes a batch.
 *
 * The *_put_batch entries of store_pg_write.c describe each table with a
 * struct pg_kind and hand the batch to pg_batch_run(). A batch is one atomic
 * scope (pg_batch_begin: BEGIN, or a SAVEPOINT inside the caller's
 * transaction). Fast path: every element is checked in memory (vocabularies,
 * unit codes resolved for the whole batch with one query) and the elements
 * before the first bad one are written with a single INSERT ... SELECT FROM
 * unnest($1, $2, ...) WITH ORDINALITY, where each parameter is one column of
 * the batch as an array literal; that statement is prepared once per
 * connection and serves every batch size, and it costs one round trip per
 * batch instead of one per row. Exact path: when that INSERT fails on a
 * constraint, or when an element failed its checks, the batch is undone and
 * replayed element by element with the full checks of the SQLite driver
 * (including the queries that verify referenced row ids), so the failing
 * element, its NY_* code and its message are the ones SQLite reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store_pg.h"

const void *pg_item(const struct pg_batch *b, size_t i)
{
    return b->items + i * b->k->size;
}

/* Separator before a value: none right after the opening brace. */
static struct pg_buf *pg_col(struct pg_cols *c, int k)
{
    struct pg_buf *b = &c->col[k];
    if (b->len > 1)
        pg_buf_put(b, ",", 1);
    return b;
}

void pg_col_text(struct pg_cols *c, int k, const char *s)
{
    struct pg_buf *b = pg_col(c, k);
    if (!s) {
        pg_buf_put(b, "NULL", 4);
        return;
    }
    /* an array element in double quotes: backslash before " and \ */
    pg_buf_put(b, "\"", 1);
    for (const char *run = s;; s++) {
        if (*s == '"' || *s == '\\' || *s == '\0') {
            pg_buf_put(b, run, (size_t)(s - run));
            if (!*s)
                break;
            pg_buf_put(b, "\\", 1);
            run = s;
        }
    }
    pg_buf_put(b, "\"", 1);
}

void pg_col_int(struct pg_cols *c, int k, int64_t v)
{
    char num[24];
    pg_i64(num, v);
    pg_buf_put(pg_col(c, k), num, strlen(num));
}

void pg_col_opt(struct pg_cols *c, int k, int64_t v)
{
    if (v)
        pg_col_int(c, k, v);
    else
        pg_buf_put(pg_col(c, k), "NULL", 4);
}

void pg_col_real(struct pg_cols *c, int k, double v)
{
    char num[40];
    snprintf(num, sizeof num, "%.17g", v);
    pg_buf_put(pg_col(c, k), num, strlen(num));
}

const char *pg_show(const char *s)
{
    return s ? s : "(null)";
}

int pg_check_enum(const char *const *list, const char *value, int optional, pg_what_fn what,
                  const void *item, const char *field, long i, ny_err *e)
{
    if (domain_index(list, value) >= 0 || (optional && (!value || !*value)))
        return NY_OK;
    char w[200];
    what(item, w, sizeof w);
    return ny_err_set_at(e, NY_EINVAL, i, "%s: unknown %s '%s' (expected %s)", w, field,
                         pg_show(value), domain_list_text(list));
}

int pg_unit_lookup(struct pg *h, const char *code, int64_t *id, int *level, ny_err *e)
{
    static const char sql[] = "SELECT id, level FROM units WHERE code = $1";
    PGresult *r;
    const char *vals[] = {code};
    int rc = pg_run(h, sql, 1, vals, &r, e, "query failed");
    if (rc != NY_OK)
        return rc;
    int found = PQntuples(r) == 1;
    if (found) {
        *id = pg_int(r, 0, 0);
        *level = domain_level(pg_text(r, 0, 1));
    }
    PQclear(r);
    return found;
}

int pg_resolve_units(struct pg_batch *b, const char *(*code_of)(const void *item), ny_err *e)
{
    static const char sql[] = "SELECT u.id, u.level FROM unnest($1::text[]) WITH ORDINALITY"
                              " AS v(code, ord) LEFT JOIN units u ON u.code = v.code"
                              " ORDER BY v.ord";
    b->ref = calloc(b->n, sizeof *b->ref);
    b->level = calloc(b->n, sizeof *b->level);
    struct pg_cols c = {.n = 1};
    pg_buf_put(&c.col[0], "{", 1);
    for (size_t i = 0; i < b->n; i++)
        pg_col_text(&c, 0, code_of(pg_item(b, i)));
    pg_buf_put(&c.col[0], "}", 1);
    int rc = NY_OK;
    if (!b->ref || !b->level || c.col[0].oom)
        rc = ny_err_set(e, NY_ERR, "out of memory");
    PGresult *r = NULL;
    const char *vals[] = {c.col[0].p};
    if (rc == NY_OK)
        rc = pg_run(b->h, sql, 1, vals, &r, e, "query failed");
    if (rc == NY_OK && (size_t)PQntuples(r) != b->n)
        rc =
            ny_err_set(e, NY_ERR, "unit lookup returned %d rows for %zu codes", PQntuples(r), b->n);
    for (size_t i = 0; rc == NY_OK && i < b->n; i++) {
        b->ref[i] = pg_int(r, (int)i, 0);
        b->level[i] = PQgetisnull(r, (int)i, 1) ? -1 : domain_level(pg_text(r, (int)i, 1));
    }
    PQclear(r);
    pg_buf_free(&c.col[0]);
    return rc;
}

int pg_need_id(struct pg *h, const char *exists_sql, const char *name, int64_t rowid,
               const char *what, long i, ny_err *e)
{
    char num[24];
    const char *vals[] = {pg_i64(num, rowid)};
    PGresult *r;
    int rc = pg_run(h, exists_sql, 1, vals, &r, e, "query failed");
    if (rc != NY_OK) {
        if (e)
            e->index = i;
        return rc;
    }
    int found = PQntuples(r) > 0;
    PQclear(r);
    if (!found)
        return ny_err_set_at(e, NY_ENOTFOUND, i, "%s: unknown %s id %lld", what, name,
                             (long long)rowid);
    return NY_OK;
}

/* Inserts elements [from, from + count) with one statement; their new ids go
 * to ids_out[from ...] when ids_out is not NULL. */
static int pg_insert(struct pg_batch *b, struct pg_cols *c, size_t from, size_t count,
                     int64_t *ids_out, ny_err *e)
{
    const struct pg_kind *k = b->k;
    c->n = k->ncols;
    for (int j = 0; j < k->ncols; j++) {
        c->col[j].len = 0;
        pg_buf_put(&c->col[j], "{", 1);
    }
    for (size_t i = from; i < from + count; i++)
        k->row(b, i, c);
    const char *vals[PG_MAX_COLS];
    for (int j = 0; j < k->ncols; j++) {
        pg_buf_put(&c->col[j], "}", 1);
        if (c->col[j].oom)
            return ny_err_set(e, NY_ERR, "out of memory");
        vals[j] = c->col[j].p;
    }
    PGresult *r;
    int rc = pg_run(b->h, k->sql, k->ncols, vals, &r, e, "query failed");
    if (rc != NY_OK) {
        if (count == 1 && e) {
            e->index = (long)from;
            if (rc == NY_EEXIST && k->exists)
                k->exists(pg_item(b, from), (long)from, e);
        }
        return rc;
    }
    if ((size_t)PQntuples(r) != count)
        rc = ny_err_set(e, NY_ERR, "insert returned %d ids for %zu rows", PQntuples(r), count);
    for (size_t i = 0; rc == NY_OK && ids_out && i < count; i++)
        ids_out[from + i] = pg_int(r, (int)i, 0);
    PQclear(r);
    return rc;
}

/* A constraint failure that the element-by-element replay can pin down. */
static int pg_is_data_error(int rc)
{
    return rc == NY_EEXIST || rc == NY_ENOTFOUND || rc == NY_EINVAL || rc == NY_ECONFLICT;
}

int pg_batch_run(struct pg *h, const struct pg_kind *k, const void *items, size_t n,
                 int64_t *ids_out, ny_err *e)
{
    ny_err_clear(e);
    if (n == 0)
        return NY_OK;
    struct pg_batch b = {h, k, items, n, NULL, NULL, NULL, NULL};
    struct pg_cols c = {0};
    int own, rc = pg_batch_begin(h, &own, e);
    if (rc != NY_OK)
        return rc;
    if (k->resolve)
        rc = k->resolve(&b, e);
    /* fast path: the elements before the first that fails its checks */
    size_t good = 0, start;
    ny_err ignore;
    while (rc == NY_OK && good < n && k->check(&b, good, 0, &ignore) == NY_OK)
        good++;
    start = good;
    if (rc == NY_OK && good > 0) {
        rc = pg_insert(&b, &c, 0, good, ids_out, e);
        if (pg_is_data_error(rc)) {
            rc = pg_batch_undo(h, own, e);
            start = 0;
        }
    }
    /* exact path: element by element, stopping at the first failure */
    for (size_t i = start; rc == NY_OK && i < n; i++) {
        rc = k->check(&b, i, 1, e);
        if (rc == NY_OK)
            rc = pg_insert(&b, &c, i, 1, ids_out, e);
    }
    for (int j = 0; j < PG_MAX_COLS; j++)
        pg_buf_free(&c.col[j]);
    free(b.ref);
    free(b.level);
    free(b.ids);
    free(b.aux);
    return pg_batch_end(h, own, rc, e);
}
