/* store_sqlite.h - shared internals of the SQLite driver.
 *
 * Internal to store_sqlite.c (connection, migrations, transactions, jobs,
 * counters), store_sqlite_write.c (the *_put_batch entries),
 * store_sqlite_msg.c (messages: put, find and ingest batches),
 * store_sqlite_read.c (the *_each entries), store_sqlite_auth.c
 * (accounts, sessions, connectors) and store_sqlite_tally.c (message
 * statistics per batch). Nothing outside these files
 * includes it; everyone else reaches the driver through store_driver.h. */
#ifndef NY_STORE_SQLITE_H
#define NY_STORE_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"
#include "store_sql.h"

/* Every cached statement of a handle, prepared on first use. */
enum sq_stmt_id {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SAVEPOINT,
    SQ_RELEASE,
    SQ_ROLLBACK_TO,
    SQ_HAS_META,
    SQ_VERSION_GET,
    SQ_STATS,
    SQ_JOB_ENQUEUE,
    SQ_JOB_PICK,
    SQ_JOB_TAKE,
    SQ_JOB_DONE,
    SQ_JOB_RETRY,
    SQ_CACHE_GET,
    SQ_CACHE_BUMP,
    SQ_UNIT_LOOKUP,
    SQ_GROUP_EXISTS,
    SQ_UNIT_EXISTS,
    SQ_CASE_EXISTS,
    SQ_MESSAGE_EXISTS,
    SQ_INS_UNIT,
    SQ_INS_HOUSEHOLD,
    SQ_INS_ENTERPRISE,
    SQ_INS_GROUP,
    SQ_INS_STAFF,
    SQ_INS_POLICY,
    SQ_INS_LEXEME,
    SQ_INS_MESSAGE,
    SQ_MESSAGE_FIND,
    SQ_INS_MESSAGE_NEW,
    SQ_INS_MESSAGE_CHUNK,
    SQ_MESSAGE_TOP,
    SQ_INS_CASE,
    SQ_INS_EVENT,
    SQ_INS_LEAD,
    SQ_UNIT_GET,
    SQ_UNITS_ALL,
    SQ_UNITS_RANGE,
    SQ_HOUSEHOLDS,
    SQ_ENTERPRISES,
    SQ_GROUPS,
    SQ_STAFF,
    SQ_POLICIES,
    SQ_LEXICON,
    SQ_MESSAGES,
    SQ_CASES,
    SQ_EVENTS,
    SQ_LEADS,
    SQ_STAFF_FIND,
    SQ_STAFF_ID,
    SQ_CRED_GET,
    SQ_CREDS,
    SQ_CRED_PUT,
    SQ_LOGIN_FAILED,
    SQ_LOGIN_OK,
    SQ_SESSION_PUT,
    SQ_SESSION_FIND,
    SQ_SESSION_TOUCH,
    SQ_SESSION_REVOKE,
    SQ_SESSIONS_REVOKE,
    SQ_CONN_PUT,
    SQ_CONN_FIND,
    SQ_CONN_BY_KEY,
    SQ_CONNS,
    SQ_GROUP_UNIT,
    SQ_GROUP_UNITS,
    SQ_STAT_DELTA,
    SQ_STAT_DELTA_CHUNK,
    SQ_STAT_LEADS,
    SQ_STAT_LEADS_CHUNK,
    SQ_NSTMT
};

/* How many store_sql() texts a handle keeps prepared. */
#define SQ_SQL_CACHE 48

/* The driver handle behind a SQLite store. */
struct sq {
    sqlite3 *db;
    char *path;                 /* as given to open, for messages */
    sqlite3_stmt *st[SQ_NSTMT]; /* cached statements, NULL until first use */
    char *job_str[3];           /* kind, dedupe_key, payload of the last claim */
    struct sq_sql_slot {        /* store_sql() statements, keyed by their text */
        char *sql;
        sqlite3_stmt *st;
    } sql_cache[SQ_SQL_CACHE];
    int sql_next;               /* slot the next new text replaces */
    struct timespec busy_since; /* when the busy handler's tries began */
    int busy_ms;                /* how long it tries (store_busy_limit; 10 s) */
};

/* store_sql() entry (store_sqlite_sql.c) and the release of its statement
 * cache on close. */
int sq_sql(void *impl, const char *sql, const store_val *params, int n,
           int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e);
void sq_sql_cache_free(struct sq *h);

/* Returns in *out the cached statement id, preparing it from sql on first
 * use. The statement is reset and unbound. NY_ERR if it cannot be prepared or
 * is still being stepped by an enclosing iteration (a callback of an *_each
 * may not run the same iteration again). */
int sq_stmt(struct sq *h, enum sq_stmt_id id, const char *sql, sqlite3_stmt **out, ny_err *e);

/* Resets st and clears its bindings; always call after a statement's use. */
void sq_reset(sqlite3_stmt *st);

/* Steps st once: 1 on a row, NY_OK when done, or an NY_* code from
 * sq_error(). */
int sq_next(struct sq *h, sqlite3_stmt *st, ny_err *e);

/* Turns the failure rc of the last call on h->db into an NY_* code and a
 * message starting with what: unique violations give NY_EEXIST, foreign keys
 * NY_ENOTFOUND, other constraints NY_EINVAL, the append-only triggers
 * NY_ECONFLICT, busy/locked NY_EUNAVAIL, anything else NY_ERR. */
int sq_error(struct sq *h, int rc, ny_err *e, const char *what);

/* Binds text (NULL binds SQL NULL); the string must outlive the step. */
void sq_bind_text(sqlite3_stmt *st, int col, const char *text);

/* Column col as text, NULL for SQL NULL; valid until the next step/reset. */
const char *sq_text(sqlite3_stmt *st, int col);

/* s, or "(null)" when s is NULL: for naming a value in an error message. */
const char *sq_show(const char *s);

/* Records element i as the failing one of the error already in *e (e may be
 * NULL) and returns rc unchanged, so a caller can `return sq_at(e, i, rc)`. */
int sq_at(ny_err *e, long i, int rc);

/* Starts the atomic scope of one batch: BEGIN IMMEDIATE when no transaction
 * is open (*own = 1), else a SAVEPOINT inside the caller's (*own = 0). */
int sq_batch_begin(struct sq *h, int *own, ny_err *e);

/* Ends the scope opened by sq_batch_begin: commits/releases when rc is NY_OK,
 * else undoes everything since sq_batch_begin. Returns rc, or the commit's
 * failure. */
int sq_batch_end(struct sq *h, int own, int rc, ny_err *e);

/* The statistics of one batch of messages (store_sqlite_tally.c), counted in
 * memory and written as one stat_deltas row per unit and day. */
typedef struct sq_tally sq_tally;

/* A tally for a batch of at most n messages; NULL when out of memory. */
sq_tally *sq_tally_new(size_t n);

/* Frees t (NULL is fine). */
void sq_tally_free(sq_tally *t);

/* Reads the units of the chat groups of the n messages m into t before
 * they are stored, in one range read of chat_groups when their ids lie
 * close together (fewer than n ids from the lowest to the highest, so that
 * t holds them all), else nothing (sq_tally_group then reads each group on
 * first use). */
int sq_tally_groups(struct sq *h, sq_tally *t, const store_message *m, size_t n, ny_err *e);

/* The unit of message m's chat group into *unit_id, looked up once per
 * batch; an unknown group is NY_ENOTFOUND for element i. */
int sq_tally_group(struct sq *h, sq_tally *t, const store_message *m, long i, int64_t *unit_id,
                   ny_err *e);

/* Counts stored message m under unit_id and its China-time day: one
 * message, a reply when its triage JSON holds a reply text, an answered
 * consultation, its intent and category. */
void sq_tally_add(sq_tally *t, int64_t unit_id, const store_message *m);

/* Writes the counts as stat_deltas rows, in the caller's transaction. */
int sq_tally_flush(struct sq *h, sq_tally *t, ny_err *e);

/* store_leads_count's entry: n leads counted per unit and China-time day,
 * one stat_deltas row each, in the caller's transaction (also the end of
 * sq_lead_put_batch). */
int sq_leads_count(void *impl, const int64_t *unit_ids, const int64_t *created, size_t n,
                   ny_err *e);

/* Write entries of the driver table (store_sqlite_write.c); each behaves as
 * the store_* function of the same name in store.h. */
int sq_unit_put_batch(void *impl, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e);
int sq_household_put_batch(void *impl, const store_household *x, size_t n, int64_t *ids_out,
                           ny_err *e);
int sq_enterprise_put_batch(void *impl, const store_enterprise *x, size_t n, int64_t *ids_out,
                            ny_err *e);
int sq_group_put_batch(void *impl, const store_group *g, size_t n, int64_t *ids_out, ny_err *e);
int sq_staff_put_batch(void *impl, const store_staff *p, size_t n, int64_t *ids_out, ny_err *e);
int sq_policy_put_batch(void *impl, const store_policy *p, size_t n, int64_t *ids_out, ny_err *e);
int sq_lexicon_put_batch(void *impl, const store_lexeme *l, size_t n, int64_t *ids_out, ny_err *e);
int sq_message_put_batch(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e);
int sq_messages_find(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e);
int sq_message_ingest_batch(void *impl, const store_message *m, size_t n, const size_t *first,
                            int64_t *ids_out, int *dup, ny_err *e);
int sq_case_put_batch(void *impl, const store_case *c, size_t n, int64_t *ids_out, ny_err *e);
int sq_case_event_append_batch(void *impl, const store_case_event *ev, size_t n, int64_t *ids_out,
                               ny_err *e);
int sq_lead_put_batch(void *impl, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e);

/* Read entries of the driver table (store_sqlite_read.c); each behaves as
 * the store_* function of the same name in store.h. */
int sq_unit_get(void *impl, const char *code, int (*fn)(void *ctx, const store_unit *u), void *ctx,
                ny_err *e);
int sq_units_prefixed(void *impl, const char *prefix, int (*fn)(void *ctx, const store_unit *u),
                      void *ctx, ny_err *e);
int sq_households_each(void *impl, int (*fn)(void *ctx, const store_household *x), void *ctx,
                       ny_err *e);
int sq_enterprises_each(void *impl, int (*fn)(void *ctx, const store_enterprise *x), void *ctx,
                        ny_err *e);
int sq_groups_each(void *impl, int (*fn)(void *ctx, const store_group *g), void *ctx, ny_err *e);
int sq_staff_each(void *impl, int (*fn)(void *ctx, const store_staff *p), void *ctx, ny_err *e);
int sq_policies_each(void *impl, int (*fn)(void *ctx, const store_policy *p), void *ctx, ny_err *e);
int sq_lexicon_each(void *impl, int (*fn)(void *ctx, const store_lexeme *l), void *ctx, ny_err *e);
int sq_messages_each(void *impl, int (*fn)(void *ctx, const store_message *m), void *ctx,
                     ny_err *e);
int sq_cases_each(void *impl, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e);
int sq_case_events_each(void *impl, int (*fn)(void *ctx, const store_case_event *ev), void *ctx,
                        ny_err *e);
int sq_leads_each(void *impl, int (*fn)(void *ctx, const store_lead *l), void *ctx, ny_err *e);

/* Account and connector entries of the driver table (store_sqlite_auth.c);
 * each behaves as the store_* function of the same name in store.h, whose
 * argument checks store.c has already made. */
int sq_staff_find(void *impl, const char *account, int (*fn)(void *ctx, const store_staff *p),
                  void *ctx, ny_err *e);
int sq_credential_get(void *impl, const char *account,
                      int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                      void *ctx, ny_err *e);
int sq_credentials_each(void *impl,
                        int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                        void *ctx, ny_err *e);
int sq_credential_put(void *impl, const char *account, const store_credential *c, ny_err *e);
int sq_login_failed(void *impl, const char *account, int64_t now, const store_lockout *lock,
                    int *failures, int64_t *locked_until, ny_err *e);
int sq_login_succeeded(void *impl, const char *account, ny_err *e);
int sq_session_put(void *impl, const store_session *x, int64_t *id_out, ny_err *e);
int sq_session_find(void *impl, const char *token_hash, int64_t now,
                    int (*fn)(void *ctx, const store_session *x, const store_staff *p), void *ctx,
                    ny_err *e);
int sq_session_touch(void *impl, const char *token_hash, int64_t now, ny_err *e);
int sq_session_revoke(void *impl, const char *token_hash, int64_t now, ny_err *e);
int sq_sessions_revoke_staff(void *impl, const char *account, int64_t now, long *count, ny_err *e);
int sq_connector_put(void *impl, const store_connector *c, int64_t *id_out, ny_err *e);
int sq_connector_find(void *impl, const char *name, int (*fn)(void *ctx, const store_connector *c),
                      void *ctx, ny_err *e);
int sq_connector_find_by_key(void *impl, const char *key,
                             int (*fn)(void *ctx, const store_connector *c), void *ctx, ny_err *e);
int sq_connectors_each(void *impl, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                       ny_err *e);

#endif
