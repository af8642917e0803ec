/* store_sql.h - portable parameterised SQL for engine-neutral storage code.
 *
 * The domain entries of store.h each exist twice, once per engine. Newer
 * storage modules (outbox, notices, cases, the staff API's searches) instead
 * write their SQL once, in the subset both engines understand, and run it
 * through store_sql(). The rules of that subset:
 *  - parameters are written '?' and numbered in order; the PostgreSQL
 *    driver rewrites them to $1, $2 ... (never inside quoted literals);
 *  - values are integers (int64), text or NULL; times are Unix seconds;
 *  - results are read as text or integers; select integers, not booleans
 *    (CASE WHEN ... THEN 1 ELSE 0 END), and CAST(? AS BIGINT) where the
 *    type of a parameter cannot be inferred from its context;
 *  - INSERT ... RETURNING, ON CONFLICT ... DO NOTHING/UPDATE, LIMIT/OFFSET,
 *    COALESCE, string || concatenation work on both; engine-only syntax
 *    (FOR UPDATE SKIP LOCKED, STRICT tables) stays in the drivers;
 *  - tables are created by the drivers' numbered migrations, which must keep
 *    the two schemas in step.
 * These modules are part of the storage layer: their files are named
 * store_*.c and no SQL leaves them. */
#ifndef NY_STORE_SQL_H
#define NY_STORE_SQL_H

#include <stdint.h>

#include "store.h"

enum store_val_type { STORE_VNULL, STORE_VINT, STORE_VTEXT };

/* One parameter value. Text is borrowed for the duration of the call. */
typedef struct store_val {
    enum store_val_type type;
    int64_t i;
    const char *s;
} store_val;

/* Constructors: SV_INT(42), SV_TEXT("x") (NULL text binds SQL NULL),
 * SV_NULL. */
#define SV_INT(v) ((store_val){STORE_VINT, (int64_t)(v), NULL})
#define SV_TEXT(v) ((store_val){(v) ? STORE_VTEXT : STORE_VNULL, 0, (v)})
#define SV_NULL ((store_val){STORE_VNULL, 0, NULL})

/* One result row: ncols values as text, NULL for SQL NULL. Valid only
 * during the callback. */
typedef struct store_row {
    int ncols;
    const char *const *vals;
} store_row;

/* Most columns a result row may have. */
#define STORE_SQL_MAX_COLS 64

/* Runs one statement of the portable subset with n parameters. For each
 * result row calls fn (may be NULL to ignore rows); fn returns NY_OK to go
 * on, anything else stops and is returned. *changes (may be NULL) receives
 * the number of rows an INSERT/UPDATE/DELETE touched. Errors follow the
 * drivers' mapping: unique violation NY_EEXIST, foreign key NY_ENOTFOUND,
 * other constraints NY_EINVAL, the append-only triggers NY_ECONFLICT,
 * busy/locked or lost server NY_EUNAVAIL, else NY_ERR; e->msg starts with
 * "query failed". Inside store_begin() on PostgreSQL a failed statement
 * aborts the transaction: roll back. */
int store_sql(store *s, const char *sql, const store_val *params, int n,
              int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e);

/* Column col of row: text (NULL for SQL NULL or a column out of range), an
 * integer (0 for NULL or text that is not a number; PostgreSQL booleans t/f
 * give 1/0), or whether it is NULL. */
const char *store_row_text(const store_row *row, int col);
int64_t store_row_int(const store_row *row, int col);
int store_row_isnull(const store_row *row, int col);

/* Convenience: runs a query expected to give at most one row and stores its
 * first column as an integer in *out. NY_ENOTFOUND when no row came back. */
int store_sql_int(store *s, const char *sql, const store_val *params, int n, int64_t *out,
                  ny_err *e);

/* Runs an INSERT of the portable subset (without RETURNING) into a table
 * keyed by an integer column named id and stores the id of the last row it
 * inserted in *id. On SQLite that is the connection's last inserted rowid:
 * no RETURNING clause, for which SQLite builds and drops a temporary table
 * on every execution. On PostgreSQL the statement runs with " RETURNING id"
 * appended and the last row returned is taken. A row inserted by a trigger
 * of the statement does not count. NY_ENOTFOUND when nothing was inserted
 * (an INSERT ... SELECT that selected nothing). */
int store_sql_insert(store *s, const char *sql, const store_val *params, int n, int64_t *id,
                     ny_err *e);

/* Writes nrows rows of one shape with a few statements: each statement is
 * head, k copies of row joined by commas, then tail (e.g. "INSERT INTO t(a,
 * b) VALUES", "(?, ?)", " ON CONFLICT(a) DO NOTHING"), with ncols
 * parameters per row taken in order from params (nrows * ncols of them).
 * *changes (may be NULL) receives the number of rows written. ids (may be
 * NULL; only for a plain INSERT into a table keyed by an integer column id)
 * receives each row's new id in order; every row must then be inserted, or
 * the call fails with NY_ECONFLICT. Errors as store_sql; run it inside a
 * transaction, since an error can leave earlier statements' rows. */
int store_sql_rows(store *s, const char *head, const char *row, const char *tail, int ncols,
                   const store_val *params, size_t nrows, int64_t *ids, long *changes, ny_err *e);

#endif
