/* store_pg.h - shared internals of the PostgreSQL driver.
 *
 * Internal to store_pg.c (connection, migrations, transactions, statement
 * cache, error mapping), store_pg_batch.c (batch machinery and array
 * parameters), store_pg_write.c and store_pg_traffic.c (the *_put_batch
 * entries), store_pg_read.c (the *_each entries and counts),
 * store_pg_jobs.c (claimable jobs and cache versions) and store_pg_auth.c
 * (accounts, sessions, connectors). Nothing outside these files includes
 * it; everyone else reaches the driver through store_driver.h. */
#ifndef NY_STORE_PG_H
#define NY_STORE_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_sql.h"

/* Statements prepared on one connection, at most (the driver has about 65). */
#define PG_MAX_STMT 128

/* Portable texts (store_sql) prepared on one connection, at most; later
 * new texts run unprepared. */
#define PG_SQL_CACHE 256

/* A store_sql text prepared as "nys<index>": its hash, the text and its
 * number of parameters. */
struct pg_sql_slot {
    uint64_t hash;
    char *sql;
    int nparams;
};

/* A statement sent without waiting: what starts its error message, and
 * its number. */
struct pg_pending {
    const char *what;
    long seq;
};

/* Savepoints tracked per transaction, at most (they nest two or three
 * deep); one more cannot be rolled back to after a pipelined failure. */
#define PG_MAX_SAVEPOINTS 16

/* An open savepoint: its name, the number of the last statement sent
 * without waiting when it was set (a failure numbered after it can be
 * rolled back to it), and whether a failure before it means the server
 * never set it. */
struct pg_savepoint {
    char name[32];
    long seq;
    int lost;
};

/* The driver handle behind a PostgreSQL store: one connection. */
struct pg {
    PGconn *conn;
    int in_tx;                         /* a store_begin() transaction is open */
    const char *prepared[PG_MAX_STMT]; /* SQL texts prepared as "ny<index>" */
    int nprepared;
    struct pg_sql_slot sql[PG_SQL_CACHE]; /* store_sql texts prepared (store_pg_sql.c) */
    int nsql;
    PGresult *job; /* holds the strings of the last claim */
    /* the pipeline (store_pg_pipe.c) */
    int pipelined;              /* store_pipeline() is on */
    int npending;               /* statements sent whose answers are not read yet */
    struct pg_pending *pending; /* those statements, in order */
    int cap;                    /* capacity of pending */
    long seq;                   /* numbers the statements sent without waiting */
    int failed;                 /* one of them failed: fail, until rolled back */
    ny_err fail;
    struct pg_savepoint sp[PG_MAX_SAVEPOINTS]; /* savepoints open, innermost last */
    int nsp;
};

/* Forgets the store_sql texts prepared on the connection (after a
 * reconnect, and at close). */
void pg_sql_forget(struct pg *h);

/* Runs the static SQL text sql (prepared on this connection on first use,
 * keyed by the pointer) with n text parameters (NULL = SQL NULL). On success
 * returns NY_OK and the result in *out (caller PQclear()s it); on failure
 * *out is NULL and the code and message come from pg_error(). */
int pg_run(struct pg *h, const char *sql, int n, const char *const *vals, PGresult **out, ny_err *e,
           const char *what);

/* Outside a store_begin() transaction, reconnects a connection the server
 * dropped (the prepared statements are forgotten with it). */
void pg_revive(struct pg *h);

/* Runs a parameterless command with the simple protocol (BEGIN, SAVEPOINT,
 * migration scripts). NY_OK or the code from pg_error(). */
int pg_cmd(struct pg *h, const char *sql, ny_err *e, const char *what);

/* Turns the failed result r (may be NULL) into an NY_* code and a message
 * "what: server message": unique violations give NY_EEXIST, foreign keys
 * NY_ENOTFOUND, other integrity and data errors NY_EINVAL, the append-only
 * trigger NY_ECONFLICT, a lost connection or lock timeout NY_EUNAVAIL,
 * anything else NY_ERR. Does not free r. */
int pg_error(struct pg *h, const PGresult *r, ny_err *e, const char *what);

/* As pg_error(), recording index as the failing batch element. */
int pg_error_at(struct pg *h, const PGresult *r, long index, ny_err *e, const char *what);

/* Starts the atomic scope of one batch: BEGIN when no transaction is open
 * (*own = 1), else a SAVEPOINT inside the caller's (*own = 0). */
int pg_batch_begin(struct pg *h, int *own, ny_err *e);

/* Undoes everything since pg_batch_begin and keeps the scope open, so that
 * a failed batch can be replayed row by row to find the failing element. */
int pg_batch_undo(struct pg *h, int own, ny_err *e);

/* Ends the scope opened by pg_batch_begin: commits/releases when rc is NY_OK,
 * else undoes everything since pg_batch_begin (the caller's transaction stays
 * usable). Returns rc, or the commit's failure. */
int pg_batch_end(struct pg *h, int own, int rc, ny_err *e);

/* Column col of row i as text, NULL for SQL NULL; valid while r lives. */
const char *pg_text(const PGresult *r, int i, int col);

/* Column col of row i as an integer; SQL NULL gives 0. */
int64_t pg_int(const PGresult *r, int i, int col);

/* A growable buffer; oom is set (and appends stop) when memory runs out. */
struct pg_buf {
    char *p;
    size_t len, cap;
    int oom;
};

void pg_buf_put(struct pg_buf *b, const char *s, size_t n);
void pg_buf_free(struct pg_buf *b);

/* Formats v into out (>= 24 bytes) and returns out. */
const char *pg_i64(char *out, int64_t v);

/* ---- batches (store_pg_batch.c) ------------------------------------------
 * A batch is written with one INSERT whose parameters are whole columns: $k
 * is a PostgreSQL array literal holding column k of every row, unnest()ed
 * back into rows in order. One prepared statement per table serves every
 * batch size. */

#define PG_MAX_COLS 20

/* The column arrays of one INSERT being built. */
struct pg_cols {
    struct pg_buf col[PG_MAX_COLS];
    int n;
};

/* Append one value to column k of the current row. */
void pg_col_text(struct pg_cols *c, int k, const char *s); /* NULL = SQL NULL */
void pg_col_int(struct pg_cols *c, int k, int64_t v);
void pg_col_opt(struct pg_cols *c, int k, int64_t v); /* 0 = SQL NULL */
void pg_col_real(struct pg_cols *c, int k, double v);

struct pg_batch;

/* How one table's elements are checked and written. */
struct pg_kind {
    const char *sql; /* INSERT ... FROM unnest($1, ...) WITH ORDINALITY ... RETURNING id */
    int ncols;
    size_t size; /* bytes of one element */
    /* Batch-wide lookups before any check (NULL = none); see pg_resolve_units. */
    int (*resolve)(struct pg_batch *b, ny_err *e);
    /* The checks of element i, in the SQLite driver's order. Without precise,
     * checks that need a query per element (referenced row ids exist) are
     * left to the foreign keys of the bulk INSERT. */
    int (*check)(struct pg_batch *b, size_t i, int precise, ny_err *e);
    /* Appends element i's values to the column arrays. */
    void (*row)(struct pg_batch *b, size_t i, struct pg_cols *c);
    /* Rewords a unique violation of element i (NULL = keep the server's). */
    void (*exists)(const void *item, long i, ny_err *e);
};

/* One batch in progress. */
struct pg_batch {
    struct pg *h;
    const struct pg_kind *k;
    const char *items;
    size_t n;
    int64_t *ref; /* per element: id of the unit its code names, 0 = unknown */
    int *level;   /* per element: that unit's level (domain_level), -1 = unknown */
    int64_t *ids; /* per element: row id chosen in advance, or NULL */
    void *aux;    /* scratch of the kind's resolve hook */
};

/* Element i of the batch. */
const void *pg_item(const struct pg_batch *b, size_t i);

/* Writes the n elements of items as one atomic batch with the semantics of
 * store.h: checks each element (k->check), inserts them all with one
 * statement, and when something fails undoes the batch and repeats it element
 * by element, so that the failing element, its NY_* code and message are those
 * the SQLite driver reports. ids_out (may be NULL) receives the new ids. */
int pg_batch_run(struct pg *h, const struct pg_kind *k, const void *items, size_t n,
                 int64_t *ids_out, ny_err *e);

/* For resolve hooks: looks up, in one query, the unit whose code code_of()
 * gives for each element (NULL code = none), filling b->ref and b->level. */
int pg_resolve_units(struct pg_batch *b, const char *(*code_of)(const void *item), ny_err *e);

/* Looks up one unit by code: 1 with its id and level when found, 0 when not,
 * or an NY_* error. */
int pg_unit_lookup(struct pg *h, const char *code, int64_t *id, int *level, ny_err *e);

/* NY_OK if a row with id rowid exists, where exists_sql is "SELECT 1 FROM t
 * WHERE id = $1"; else NY_ENOTFOUND "what: unknown name id N" for element i. */
int pg_need_id(struct pg *h, const char *exists_sql, const char *name, int64_t rowid,
               const char *what, long i, ny_err *e);

/* Writes the "what" of an element (e.g. "household '123'") for messages. */
typedef void (*pg_what_fn)(const void *item, char *out, size_t outsz);

/* s, or "(null)" for messages. */
const char *pg_show(const char *s);

/* NY_OK if value is one of list (or, when optional, NULL or ""); else
 * NY_EINVAL "what: unknown field 'value' (expected a/b/c)" for element i. */
int pg_check_enum(const char *const *list, const char *value, int optional, pg_what_fn what,
                  const void *item, const char *field, long i, ny_err *e);

/* Write entries of the driver table (store_pg_write.c and, for messages,
 * cases, events and leads, store_pg_traffic.c); each behaves as the store_*
 * function of the same name in store.h. */
int pg_unit_put_batch(void *impl, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e);
int pg_household_put_batch(void *impl, const store_household *x, size_t n, int64_t *ids_out,
                           ny_err *e);
int pg_enterprise_put_batch(void *impl, const store_enterprise *x, size_t n, int64_t *ids_out,
                            ny_err *e);
int pg_group_put_batch(void *impl, const store_group *g, size_t n, int64_t *ids_out, ny_err *e);
int pg_staff_put_batch(void *impl, const store_staff *p, size_t n, int64_t *ids_out, ny_err *e);
int pg_policy_put_batch(void *impl, const store_policy *p, size_t n, int64_t *ids_out, ny_err *e);
int pg_lexicon_put_batch(void *impl, const store_lexeme *l, size_t n, int64_t *ids_out, ny_err *e);
int pg_message_put_batch(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e);
int pg_messages_find(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e);
/* store_message_ingest_batch in one statement (store_pg_ingest.c). */
int pg_message_ingest_batch(void *impl, const store_message *m, size_t n, const size_t *first,
                            int64_t *ids_out, int *dup, ny_err *e);
int pg_case_put_batch(void *impl, const store_case *c, size_t n, int64_t *ids_out, ny_err *e);
int pg_case_event_append_batch(void *impl, const store_case_event *ev, size_t n, int64_t *ids_out,
                               ny_err *e);
int pg_lead_put_batch(void *impl, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e);

/* Read entries of the driver table (store_pg_read.c). */
int pg_unit_get(void *impl, const char *code, int (*fn)(void *ctx, const store_unit *u), void *ctx,
                ny_err *e);
int pg_units_prefixed(void *impl, const char *prefix, int (*fn)(void *ctx, const store_unit *u),
                      void *ctx, ny_err *e);
int pg_households_each(void *impl, int (*fn)(void *ctx, const store_household *x), void *ctx,
                       ny_err *e);
int pg_enterprises_each(void *impl, int (*fn)(void *ctx, const store_enterprise *x), void *ctx,
                        ny_err *e);
int pg_groups_each(void *impl, int (*fn)(void *ctx, const store_group *g), void *ctx, ny_err *e);
int pg_staff_each(void *impl, int (*fn)(void *ctx, const store_staff *p), void *ctx, ny_err *e);
int pg_policies_each(void *impl, int (*fn)(void *ctx, const store_policy *p), void *ctx, ny_err *e);
int pg_lexicon_each(void *impl, int (*fn)(void *ctx, const store_lexeme *l), void *ctx, ny_err *e);
int pg_messages_each(void *impl, int (*fn)(void *ctx, const store_message *m), void *ctx,
                     ny_err *e);
int pg_cases_each(void *impl, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e);
int pg_case_events_each(void *impl, int (*fn)(void *ctx, const store_case_event *ev), void *ctx,
                        ny_err *e);
int pg_leads_each(void *impl, int (*fn)(void *ctx, const store_lead *l), void *ctx, ny_err *e);
int pg_stats_get(void *impl, store_stats *out, ny_err *e);

/* Jobs and cache versions (store_pg_jobs.c). */
int pg_job_enqueue(void *impl, const store_job *job, int64_t *id_out, ny_err *e);
int pg_job_claim(void *impl, const char *kind, const char *worker, int64_t now, int lease_seconds,
                 store_job *job, ny_err *e);
int pg_job_done(void *impl, int64_t id, const char *worker, int64_t now, ny_err *e);
int pg_job_retry(void *impl, int64_t id, const char *worker, int64_t retry_at, const char *error,
                 ny_err *e);
int pg_cache_version(void *impl, const char *name, int64_t *version, ny_err *e);
int pg_cache_bump(void *impl, const char *name, ny_err *e);

/* Accounts, sessions and connectors (store_pg_auth.c); store.c has checked
 * the arguments as store.h describes. */
int pg_staff_find(void *impl, const char *account, int (*fn)(void *ctx, const store_staff *p),
                  void *ctx, ny_err *e);
int pg_credential_get(void *impl, const char *account,
                      int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                      void *ctx, ny_err *e);
int pg_credentials_each(void *impl,
                        int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                        void *ctx, ny_err *e);
int pg_credential_put(void *impl, const char *account, const store_credential *c, ny_err *e);
int pg_login_failed(void *impl, const char *account, int64_t now, const store_lockout *lock,
                    int *failures, int64_t *locked_until, ny_err *e);
int pg_login_succeeded(void *impl, const char *account, ny_err *e);
int pg_session_put(void *impl, const store_session *x, int64_t *id_out, ny_err *e);
int pg_session_find(void *impl, const char *token_hash, int64_t now,
                    int (*fn)(void *ctx, const store_session *x, const store_staff *p), void *ctx,
                    ny_err *e);
int pg_session_touch(void *impl, const char *token_hash, int64_t now, ny_err *e);
int pg_session_revoke(void *impl, const char *token_hash, int64_t now, ny_err *e);
int pg_sessions_revoke_staff(void *impl, const char *account, int64_t now, long *count, ny_err *e);
int pg_connector_put(void *impl, const store_connector *c, int64_t *id_out, ny_err *e);
int pg_connector_find(void *impl, const char *name, int (*fn)(void *ctx, const store_connector *c),
                      void *ctx, ny_err *e);
int pg_connector_find_by_key(void *impl, const char *key,
                             int (*fn)(void *ctx, const store_connector *c), void *ctx, ny_err *e);
int pg_connectors_each(void *impl, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                       ny_err *e);

/* ---- the pipeline (store_pg_pipe.c) --------------------------------------
 * With store_pipeline() on, inside a transaction, statements the caller
 * reads nothing from are sent without waiting; the next statement that
 * needs its answer travels with them, and the first failure among them is
 * reported then and by every later statement until a rollback. */

/* 1 when a statement that returns nothing may be sent without waiting now. */
int pg_pipe_can(const struct pg *h);

/* Sends, without waiting for its answer, the prepared statement name (or,
 * when name is NULL, the text) with n text parameters; what starts the
 * message of its failure. NY_OK, a failure kept from before, or the
 * failure to send. */
int pg_pipe_send(struct pg *h, const char *name, const char *text, int n, const char *const *vals,
                 const char *what, ny_err *e);

/* Runs one statement as PQexecPrepared (name) or PQexecParams (text) and
 * waits for it, together with the statements sent before it. NY_OK with
 * the result in *out (the caller PQclear()s it), else *out is NULL and the
 * first failure among them (pg_error's code and message, starting with
 * what for this statement). */
int pg_pipe_exec(struct pg *h, const char *name, const char *text, int n, const char *const *vals,
                 PGresult **out, const char *what, ny_err *e);

/* Waits for the statements sent without waiting (store_sync): NY_OK, or
 * the first failure among them, kept for later statements. */
int pg_pipe_wait(struct pg *h, ny_err *e);

/* Forgets a kept failure and the savepoints (BEGIN, COMMIT, ROLLBACK). */
void pg_pipe_reset(struct pg *h);

/* Before the text statement sql is sent (any statement; only SAVEPOINT,
 * RELEASE and ROLLBACK matter): a ROLLBACK waits for the flight and forgets
 * the kept failure; a ROLLBACK TO a savepoint set before the kept failure
 * forgets it too, while one that was never set (its SAVEPOINT was skipped
 * after the failure) returns the failure and must not be sent, lest it
 * reach an outer savepoint of the same name. NY_OK to send. */
int pg_pipe_before(struct pg *h, const char *sql, ny_err *e);

/* After sql was sent or ran: a SAVEPOINT is noted, a RELEASE forgets it
 * and those inside it. */
void pg_pipe_after(struct pg *h, const char *sql);

/* store_sql() entry (store_pg_sql.c): rewrites '?' to $n and runs the text
 * unprepared with PQexecParams. */
int pg_sql(void *impl, const char *sql, const store_val *params, int n,
           int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e);

/* store_notify_wait() entry (store_pg_notify.c). */
int pg_notify_wait(void *impl, int wake_fd, int timeout_ms,
                   int (*fn)(void *ctx, const char *payload), void *ctx, ny_err *e);

#endif
