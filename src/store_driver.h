/* store_driver.h - the contract between store.c and an engine driver.
 *
 * Internal to the storage layer: only store.c and the drivers include it. A
 * driver fills one const struct store_driver; every entry has the meaning of
 * the store_* function of the same name in store.h, with the driver's own
 * handle (impl) in place of the store. All SQL lives in the drivers:
 * store_sqlite.c for SQLite and store_pg.c for PostgreSQL. */
#ifndef NY_STORE_DRIVER_H
#define NY_STORE_DRIVER_H

#include "store.h"
#include "store_sql.h"

struct store_driver {
    const char *name;
    /* Opens/creates the database, migrates it, returns the driver handle. */
    int (*open)(const char *uri, const store_open_opts *opts, void **impl, ny_err *e);
    void (*close)(void *impl);
    int (*schema_version)(void *impl, int *version, ny_err *e);
    int (*begin)(void *impl, ny_err *e);
    int (*commit)(void *impl, ny_err *e);
    int (*rollback)(void *impl, ny_err *e);
    int (*unit_put_batch)(void *impl, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e);
    int (*unit_get)(void *impl, const char *code, int (*fn)(void *ctx, const store_unit *u),
                    void *ctx, ny_err *e);
    /* Units whose code starts with prefix (NULL = all), ordered by code; the
     * root lookup of store_units_subtree() is done once, in store.c. */
    int (*units_prefixed)(void *impl, const char *prefix, int (*fn)(void *ctx, const store_unit *u),
                          void *ctx, ny_err *e);
    int (*household_put_batch)(void *impl, const store_household *h, size_t n, int64_t *ids_out,
                               ny_err *e);
    int (*households_each)(void *impl, int (*fn)(void *ctx, const store_household *h), void *ctx,
                           ny_err *e);
    int (*enterprise_put_batch)(void *impl, const store_enterprise *x, size_t n, int64_t *ids_out,
                                ny_err *e);
    int (*enterprises_each)(void *impl, int (*fn)(void *ctx, const store_enterprise *x), void *ctx,
                            ny_err *e);
    int (*group_put_batch)(void *impl, const store_group *g, size_t n, int64_t *ids_out, ny_err *e);
    int (*groups_each)(void *impl, int (*fn)(void *ctx, const store_group *g), void *ctx,
                       ny_err *e);
    int (*staff_put_batch)(void *impl, const store_staff *p, size_t n, int64_t *ids_out, ny_err *e);
    int (*staff_each)(void *impl, int (*fn)(void *ctx, const store_staff *p), void *ctx, ny_err *e);
    int (*policy_put_batch)(void *impl, const store_policy *p, size_t n, int64_t *ids_out,
                            ny_err *e);
    int (*policies_each)(void *impl, int (*fn)(void *ctx, const store_policy *p), void *ctx,
                         ny_err *e);
    int (*lexicon_put_batch)(void *impl, const store_lexeme *l, size_t n, int64_t *ids_out,
                             ny_err *e);
    int (*lexicon_each)(void *impl, int (*fn)(void *ctx, const store_lexeme *l), void *ctx,
                        ny_err *e);
    int (*message_put_batch)(void *impl, const store_message *m, size_t n, int64_t *ids_out,
                             ny_err *e);
    /* For each of the n messages, the id of the stored message with its
     * connector and external_id into ids_out[i], or 0 when there is none. */
    int (*messages_find)(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e);
    /* Optional (NULL: messages_find, then message_put_batch of the rest):
     * store_message_ingest_batch in one pass, in one atomic scope. first[i]
     * is the first element with i's connector and external_id (i itself
     * for the first); every other element is a duplicate of it. Each
     * first element is stored unless a message with its key is; ids_out[i]
     * and dup[i] as store_message_ingest_batch gives them. */
    int (*message_ingest_batch)(void *impl, const store_message *m, size_t n, const size_t *first,
                                int64_t *ids_out, int *dup, ny_err *e);
    int (*messages_each)(void *impl, int (*fn)(void *ctx, const store_message *m), void *ctx,
                         ny_err *e);
    int (*case_put_batch)(void *impl, const store_case *c, size_t n, int64_t *ids_out, ny_err *e);
    int (*cases_each)(void *impl, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e);
    int (*case_event_append_batch)(void *impl, const store_case_event *ev, size_t n,
                                   int64_t *ids_out, ny_err *e);
    int (*case_events_each)(void *impl, int (*fn)(void *ctx, const store_case_event *ev), void *ctx,
                            ny_err *e);
    int (*lead_put_batch)(void *impl, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e);
    /* NULL for an engine whose trigger counts inserted leads itself */
    int (*leads_count)(void *impl, const int64_t *unit_ids, const int64_t *created, size_t n,
                       ny_err *e);
    int (*leads_each)(void *impl, int (*fn)(void *ctx, const store_lead *l), void *ctx, ny_err *e);
    int (*stats_get)(void *impl, store_stats *out, ny_err *e);
    int (*job_enqueue)(void *impl, const store_job *job, int64_t *id_out, ny_err *e);
    int (*job_claim)(void *impl, const char *kind, const char *worker, int64_t now,
                     int lease_seconds, store_job *job, ny_err *e);
    int (*job_done)(void *impl, int64_t id, const char *worker, int64_t now, ny_err *e);
    int (*job_retry)(void *impl, int64_t id, const char *worker, int64_t retry_at,
                     const char *error, ny_err *e);
    int (*cache_version)(void *impl, const char *name, int64_t *version, ny_err *e);
    int (*cache_bump)(void *impl, const char *name, ny_err *e);
    /* Accounts and connectors: store.c has checked the arguments as store.h
     * describes (account not NULL, hash format, ranges, connector fields). */
    int (*staff_find)(void *impl, const char *account, int (*fn)(void *ctx, const store_staff *p),
                      void *ctx, ny_err *e);
    int (*credential_get)(void *impl, const char *account,
                          int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                          void *ctx, ny_err *e);
    int (*credentials_each)(void *impl,
                            int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                            void *ctx, ny_err *e);
    int (*credential_put)(void *impl, const char *account, const store_credential *c, ny_err *e);
    int (*login_failed)(void *impl, const char *account, int64_t now, const store_lockout *lock,
                        int *failures, int64_t *locked_until, ny_err *e);
    int (*login_succeeded)(void *impl, const char *account, ny_err *e);
    int (*session_put)(void *impl, const store_session *x, int64_t *id_out, ny_err *e);
    int (*session_find)(void *impl, const char *token_hash, int64_t now,
                        int (*fn)(void *ctx, const store_session *x, const store_staff *p),
                        void *ctx, ny_err *e);
    int (*session_touch)(void *impl, const char *token_hash, int64_t now, ny_err *e);
    int (*session_revoke)(void *impl, const char *token_hash, int64_t now, ny_err *e);
    int (*sessions_revoke_staff)(void *impl, const char *account, int64_t now, long *count,
                                 ny_err *e);
    int (*connector_put)(void *impl, const store_connector *c, int64_t *id_out, ny_err *e);
    int (*connector_find)(void *impl, const char *name,
                          int (*fn)(void *ctx, const store_connector *c), void *ctx, ny_err *e);
    int (*connector_find_by_key)(void *impl, const char *key,
                                 int (*fn)(void *ctx, const store_connector *c), void *ctx,
                                 ny_err *e);
    int (*connectors_each)(void *impl, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                           ny_err *e);
    /* store_sql(): one statement of the portable subset (store_sql.h). */
    int (*sql)(void *impl, const char *sql, const store_val *params, int n,
               int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e);
    /* store_sql_insert(): the id of the row the connection inserted last;
     * NULL for an engine that returns it with RETURNING instead. */
    int64_t (*last_id)(void *impl);
    /* store_pipeline() and store_sync(); NULL for an engine that sends
     * every statement and waits for it (store.c: nothing to do). */
    void (*pipeline)(void *impl, int on);
    int (*sync)(void *impl, ny_err *e);
    /* store_busy_limit(); NULL for an engine that does not wait for locks
     * this way. */
    void (*busy_limit)(void *impl, int ms);
    /* store_notify_wait (store_notify.h); NULL for an engine without
     * notifications. */
    int (*notify_wait)(void *impl, int wake_fd, int timeout_ms,
                       int (*fn)(void *ctx, const char *payload), void *ctx, ny_err *e);
};

/* For the engine-independent statement helpers (store_rows.c): 1 and the
 * id of the row s's connection inserted last when the engine tells it
 * (SQLite), 0 when ids must come from RETURNING (PostgreSQL). */
int store_last_id(store *s, int64_t *id);

extern const struct store_driver store_sqlite_driver;
extern const struct store_driver store_pg_driver;

#endif
