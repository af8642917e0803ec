/* store.h - the domain-level storage interface of nuanyang.
 *
 * Callers (CLI, import/export, demo, later the server, triage and case
 * workflow) speak only in domain terms: units, groups, households, messages,
 * cases. No SQL leaves the drivers. store.c picks a driver from the URI given
 * to store_open(): a "postgresql://" / "postgres://" URI or a libpq keyword
 * string ("host=... dbname=...") selects the PostgreSQL driver (store_pg.c);
 * anything else is a SQLite file path (store_sqlite.c).
 *
 * Conventions shared by every function below:
 *  - return NY_OK or a negative NY_E* code (err.h); details go to *e.
 *  - strings in structs are UTF-8, borrowed: on input the caller keeps them
 *    alive for the call; on output (callbacks) they are valid only during the
 *    callback. NULL means "absent" only where a field says so.
 *  - times are int64 Unix seconds (UTC).
 *  - *_put_batch inserts n rows in order, resolving referenced codes to ids;
 *    on failure e->index names the failing element and none of the batch's
 *    rows are written (the caller's enclosing transaction, if any, stays
 *    usable). ids_out, when not NULL, receives the new row ids.
 *    Duplicate unique keys fail with NY_EEXIST, unknown references with
 *    NY_ENOTFOUND.
 *  - *_each iterates in a stable order (by code or by id) and calls fn for each
 *    row; fn returns NY_OK to continue, anything else stops the iteration and
 *    is returned.
 *  - A store handle is used by one thread at a time. */
#ifndef NY_STORE_H
#define NY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct store store;

/* The schema version this program writes (the last migration). */
#define STORE_SCHEMA_VERSION 16

typedef struct store_open_opts {
    /* Apply migrations only up to this version (0 = latest). For tests that
     * need an old-version database. */
    int target_version;
    /* Open an existing database only; fail with NY_ENOTFOUND if absent. */
    int must_exist;
} store_open_opts;

/* Opens (creating if needed: a SQLite file, or a PostgreSQL database through
 * the server's "postgres" database, which needs CREATEDB) the database named
 * by uri, applies pending
 * migrations in one transaction each and returns the handle in *out. A
 * database whose schema version is newer than STORE_SCHEMA_VERSION is refused
 * with NY_EVERSION; an unreachable server gives NY_EUNAVAIL. opts may be
 * NULL. */
int store_open(const char *uri, const store_open_opts *opts, store **out, ny_err *e);

/* Closes the handle; NULL is allowed. */
void store_close(store *s);

/* "sqlite" or "postgresql". */
const char *store_engine(const store *s);

/* Current schema version of the open database. */
int store_schema_version(store *s, int *version, ny_err *e);

/* Explicit transactions. Without one, each call commits on its own. */
int store_begin(store *s, ny_err *e);
int store_commit(store *s, ny_err *e);
int store_rollback(store *s, ny_err *e);
/* Ends the transaction of store_begin by the outcome rc of the work done in
 * it: commits when rc is NY_OK, else rolls back keeping the error in *e that
 * caused it. Returns the final code (a failed commit's, rolled back too). */
int store_end(store *s, int rc, ny_err *e);

/* Inside store_begin(): sets a savepoint (one level; do not nest these),
 * then either keeps what was written since (release) or undoes it and
 * drops the savepoint (rollback), leaving the transaction usable. On
 * PostgreSQL a failed statement must be followed by the rollback. */
int store_savepoint(store *s, ny_err *e);
int store_savepoint_release(store *s, ny_err *e);
int store_savepoint_rollback(store *s, ny_err *e);

/* Pipelining, for a handle that writes many statements per transaction
 * (the group commit's). With on = 1, inside a transaction, a statement
 * whose caller reads neither rows nor a count (store_sql with fn and
 * changes NULL, the drivers' own savepoints) may be sent without waiting
 * for it: the PostgreSQL driver sends it with the next statement that
 * needs an answer, in one round trip. Such a statement's failure is then
 * reported, with its own NY_* code and message, by that later call, by
 * store_sync or by store_commit (which then rolls back), and by every
 * statement after it until store_rollback or store_savepoint_rollback.
 * Off by default; no effect on SQLite. */
void store_pipeline(store *s, int on);

/* How long, in ms, a call on s waits for a lock another connection holds
 * (SQLite's write lock, or its WAL's readers during a checkpoint) before it
 * gives up with NY_EUNAVAIL: STORE_BUSY_MS unless set. No effect on
 * PostgreSQL. */
#define STORE_BUSY_MS 10000
void store_busy_limit(store *s, int ms);

/* Waits for the statements sent without waiting: NY_OK, or the first
 * failure among them (the transaction must then be rolled back, or the
 * savepoint rolled back to). NY_OK at once when nothing is pending. */
int store_sync(store *s, ny_err *e);

/* ---- organisational units ------------------------------------------------
 * level: district, street, community, grid (see domain.h). Codes: district,
 * street and community codes are 12 digits (6 county + 3 street + 3
 * community); grid codes are the community code plus a 3-digit suffix. The
 * subtree of a unit is every unit whose code starts with the unit's
 * significant prefix (domain_unit_prefix()). */
typedef struct store_unit {
    int64_t id; /* output only */
    const char *code;
    const char *name;
    const char *level;       /* "district" | "street" | "community" | "grid" */
    const char *parent_code; /* NULL for the district */
} store_unit;

int store_unit_put_batch(store *s, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e);

/* Finds one unit by code; NY_ENOTFOUND if absent. fn is called once. */
int store_unit_get(store *s, const char *code, int (*fn)(void *ctx, const store_unit *u), void *ctx,
                   ny_err *e);

/* The unit with code root_code and all units below it, ordered by code
 * (parents before children). root_code NULL = the whole tree. */
int store_units_subtree(store *s, const char *root_code, int (*fn)(void *ctx, const store_unit *u),
                        void *ctx, ny_err *e);

/* ---- households -------------------------------------------------------- */
typedef struct store_household {
    int64_t id;
    const char *code;      /* unique household code */
    const char *grid_code; /* must name a grid */
    const char *address;
    int size;          /* persons, 1..99 */
    const char *phone; /* stored in full; mask with domain_mask_phone() on output; may be "" */
} store_household;

int store_household_put_batch(store *s, const store_household *h, size_t n, int64_t *ids_out,
                              ny_err *e);
int store_households_each(store *s, int (*fn)(void *ctx, const store_household *h), void *ctx,
                          ny_err *e);

/* ---- enterprises ------------------------------------------------------- */
typedef struct store_enterprise {
    int64_t id;
    const char *uscc; /* 18-character unified social credit code, unique */
    const char *name;
    const char *industry;
    const char *grid_code;
} store_enterprise;

int store_enterprise_put_batch(store *s, const store_enterprise *x, size_t n, int64_t *ids_out,
                               ny_err *e);
int store_enterprises_each(store *s, int (*fn)(void *ctx, const store_enterprise *x), void *ctx,
                           ny_err *e);

/* ---- chat groups ------------------------------------------------------- */
typedef struct store_group {
    int64_t id;
    const char *platform;    /* wechat | wecom | dingtalk | feishu | webhook */
    const char *external_id; /* unique per platform */
    const char *kind;        /* resident | enterprise */
    const char *unit_code;   /* owning unit (usually a grid) */
    const char *name;
    int members;
    const char *target; /* outbound target, e.g. a robot webhook URL; may be "" */
} store_group;

int store_group_put_batch(store *s, const store_group *g, size_t n, int64_t *ids_out, ny_err *e);
int store_groups_each(store *s, int (*fn)(void *ctx, const store_group *g), void *ctx, ny_err *e);

/* ---- staff ------------------------------------------------------------- */
typedef struct store_staff {
    int64_t id;
    const char *account; /* login name, unique */
    const char *name;
    const char *phone;
    const char *role; /* grid_worker | community | street | district | department | admin */
    const char *unit_code;
    const char *department; /* for role department: its name, else "" */
} store_staff;

int store_staff_put_batch(store *s, const store_staff *p, size_t n, int64_t *ids_out, ny_err *e);
int store_staff_each(store *s, int (*fn)(void *ctx, const store_staff *p), void *ctx, ny_err *e);

/* ---- policies (knowledge base) ----------------------------------------- */
typedef struct store_policy {
    int64_t id;
    const char *code; /* unique, e.g. "dibao" */
    const char *title;
    const char *category; /* one of the seven domains (domain.h) */
    const char *audience; /* resident | enterprise | both */
    const char *department;
    const char *summary; /* <= 200 characters */
    const char *eligibility;
    const char *how_to_apply;
    const char *keywords; /* ';'-separated */
} store_policy;

int store_policy_put_batch(store *s, const store_policy *p, size_t n, int64_t *ids_out, ny_err *e);
int store_policies_each(store *s, int (*fn)(void *ctx, const store_policy *p), void *ctx,
                        ny_err *e);

/* ---- lexicon ------------------------------------------------------------
 * kind "literal" matches term as written; kind "pattern" is term with '…'
 * standing for a gap of a few characters (e.g. "电梯…坏"). */
typedef struct store_lexeme {
    int64_t id;
    const char *term;     /* unique */
    const char *kind;     /* literal | pattern */
    const char *intent;   /* intent hint or "" */
    const char *category; /* category hint or "" */
    double weight;
    const char *action; /* "" or an action name such as "notify_grid" */
} store_lexeme;

int store_lexicon_put_batch(store *s, const store_lexeme *l, size_t n, int64_t *ids_out, ny_err *e);
int store_lexicon_each(store *s, int (*fn)(void *ctx, const store_lexeme *l), void *ctx, ny_err *e);

/* ---- messages ------------------------------------------------------------
 * Unique on (connector, external_id): a second put of the same pair fails
 * with NY_EEXIST. intent/category/triage are NULL until triaged. */
typedef struct store_message {
    int64_t id;
    int64_t group_id;
    const char *connector;   /* who delivered it ("demo", "wecom:main", ...) */
    const char *external_id; /* the connector's message id */
    const char *sender_id;
    const char *sender_name;
    int64_t sent_at;
    const char *text;
    const char *intent;   /* NULL if not triaged */
    const char *category; /* NULL if not triaged */
    const char *triage;   /* JSON text of the triage result, NULL if not triaged */
} store_message;

int store_message_put_batch(store *s, const store_message *m, size_t n, int64_t *ids_out,
                            ny_err *e);
int store_messages_each(store *s, int (*fn)(void *ctx, const store_message *m), void *ctx,
                        ny_err *e);

/* Idempotent ingest: like store_message_put_batch, but a message whose
 * (connector, external_id) is already stored, or repeats an earlier element
 * of the same batch, is not an error. duplicate_out[i] (required) becomes 1
 * for such a message and ids_out[i] (required) the id of the message already
 * stored, which is left unchanged; new messages get 0 and their new id. The
 * new messages are written atomically (as one *_put_batch); any other failure
 * (unknown group, bad intent, ...) writes nothing and names the element's
 * index in the given array. Where the driver has no one-pass ingest
 * (PostgreSQL) the stored keys are looked up first and a concurrent writer
 * storing the same message between the check and the insert makes the batch
 * start over (at most three times), so two nodes ingesting one message store
 * it once; SQLite inserts each first element of a key with ON CONFLICT DO
 * NOTHING under its single writer, so there the checks (group, intent,
 * category) apply to a message already stored as well. */
int store_message_ingest_batch(store *s, const store_message *m, size_t n, int64_t *ids_out,
                               int *duplicate_out, ny_err *e);

/* ---- cases and their transaction log ------------------------------------ */
typedef struct store_case {
    int64_t id;
    const char *source; /* lead | walk_in | phone | patrol | hotline */
    const char *title;
    const char *description;
    const char *category;
    const char *urgency; /* emergency | utility | general | complex (12345 classes) */
    int priority;        /* 0 normal, raised by supervision */
    const char *status;  /* reported accepted in_progress resolved verified closed suspended */
    const char *level;   /* level of the unit holding it */
    int64_t unit_id;
    const char *department; /* at district level: responsible department, else "" */
    const char *location;
    const char *photo_url;
    const char *reporter; /* display name or "" */
    int64_t opened_at;
    int64_t due_at;    /* next deadline, 0 = none */
    int64_t closed_at; /* 0 = open */
    int overdue;       /* 1 once a deadline was missed */
    int satisfaction;  /* 0 = not rated, else 1..5 */
} store_case;

int store_case_put_batch(store *s, const store_case *c, size_t n, int64_t *ids_out, ny_err *e);
int store_cases_each(store *s, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e);

/* One entry of a case's append-only transaction log. The database refuses
 * UPDATE and DELETE on the log. changes is a JSON object
 * {"field":[old,new],...}. */
typedef struct store_case_event {
    int64_t id;
    int64_t case_id;
    int64_t at;
    const char *actor;  /* staff account, "system" or "resident:<sender id>" */
    const char *action; /* report, accept, escalate, resolve, ... */
    const char *changes;
    const char *note;
} store_case_event;

int store_case_event_append_batch(store *s, const store_case_event *ev, size_t n, int64_t *ids_out,
                                  ny_err *e);
int store_case_events_each(store *s, int (*fn)(void *ctx, const store_case_event *ev), void *ctx,
                           ny_err *e);

/* ---- leads: messages the assistant found to need a person ---------------- */
typedef struct store_lead {
    int64_t id;
    int64_t message_id; /* unique: one lead per message */
    int64_t group_id;
    int64_t unit_id; /* unit told (the group's grid) */
    const char *intent;
    const char *category;
    int64_t created_at;
    int64_t case_id; /* 0 = no case yet */
} store_lead;

int store_lead_put_batch(store *s, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e);

/* Counts n leads just inserted with portable SQL (store_sql) into the unit
 * statistics, inside the caller's transaction: lead i under unit_ids[i]
 * (its resolved unit, not 0) and the China-time day of created[i], one
 * stat_deltas row per unit and day. SQLite counts leads here (schema 15
 * dropped its row trigger; store_lead_put_batch counts its own); on
 * PostgreSQL a statement trigger counts them and this does nothing. */
int store_leads_count(store *s, const int64_t *unit_ids, const int64_t *created, size_t n,
                      ny_err *e);
int store_leads_each(store *s, int (*fn)(void *ctx, const store_lead *l), void *ctx, ny_err *e);

/* ---- counts ------------------------------------------------------------- */
typedef struct store_stats {
    long units_district, units_street, units_community, units_grid;
    long groups_resident, groups_enterprise;
    long households, enterprises, staff, messages, leads;
    long cases_open, cases_closed;
    long policies, lexicon;
} store_stats;

int store_stats_get(store *s, store_stats *out, ny_err *e);

/* ---- claimable jobs (work that must happen exactly once across nodes) ----
 * A job is enqueued once (dedupe_key unique when not NULL: a second enqueue
 * with the same key is a no-op returning NY_EEXIST) and claimed by one worker
 * at a time with a lease. A claim whose lease expired (its worker died) can be
 * claimed again by anyone. */
typedef struct store_job {
    int64_t id;
    const char *kind;
    const char *dedupe_key; /* may be NULL */
    const char *payload;    /* JSON text */
    int64_t run_at;
    int attempts; /* claims so far, including the current one */
} store_job;

int store_job_enqueue(store *s, const store_job *job, int64_t *id_out, ny_err *e);

/* Claims the due job (run_at <= now) with the smallest run_at whose kind is
 * kind (NULL = any) and that is ready or whose lease expired, for worker,
 * until now + lease_seconds. Returns NY_OK and fills *job (strings valid until
 * the next call on s), or NY_ENOTFOUND when nothing is due. */
int store_job_claim(store *s, const char *kind, const char *worker, int64_t now, int lease_seconds,
                    store_job *job, ny_err *e);

/* Marks a job claimed by worker done. NY_ECONFLICT if worker no longer holds
 * the claim (its lease expired and another worker took it). */
int store_job_done(store *s, int64_t id, const char *worker, int64_t now, ny_err *e);

/* Releases a claimed job for a retry at retry_at, recording error.
 * NY_ECONFLICT as for store_job_done. */
int store_job_retry(store *s, int64_t id, const char *worker, int64_t retry_at, const char *error,
                    ny_err *e);

/* ---- cache versions: how nodes learn that shared data changed -------------
 * name is e.g. "lexicon", "policies", "units". */
int store_cache_version(store *s, const char *name, int64_t *version, ny_err *e);
int store_cache_bump(store *s, const char *name, ny_err *e);

/* ---- accounts: staff credentials and login sessions ----------------------
 * Accounts are staff rows (above) plus their credentials. Credentials are
 * kept apart from the staff row, so staff import/export and store_digest()
 * never see them. A staff member without stored credentials has none: no
 * password (cannot log in), enabled, no failures, not locked. Accounts are
 * named by their login name (staff.account); an unknown one is NY_ENOTFOUND.
 * Password hashing and the login rules belong to the auth module (auth.h);
 * the store keeps what it is given. */

/* Finds the staff member with login name account; fn is called once with
 * the row (role and unit code included). NY_ENOTFOUND if absent. */
int store_staff_find(store *s, const char *account, int (*fn)(void *ctx, const store_staff *p),
                     void *ctx, ny_err *e);

typedef struct store_credential {
    const char *password_hash;   /* argon2id encoded string; NULL = no password */
    int disabled;                /* 1 = may not log in */
    int failures;                /* failed logins since the last success */
    int64_t locked_until;        /* no login before this time; 0 = not locked */
    int64_t password_changed_at; /* 0 = never set */
} store_credential;

/* Calls fn once with the staff row and the credentials of account (all
 * defaults when none are stored). NY_ENOTFOUND if the account is unknown. */
int store_credential_get(store *s, const char *account,
                         int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                         void *ctx, ny_err *e);

/* Every staff member with their credentials, by account. */
int store_credentials_each(store *s,
                           int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                           void *ctx, ny_err *e);

/* Stores every field of *c as the credentials of account, replacing any it
 * had. NY_EINVAL for disabled not 0/1 or a negative count or time. */
int store_credential_put(store *s, const char *account, const store_credential *c, ny_err *e);

/* How repeated failed logins lock an account: after the threshold-th failure
 * in a row, and after each one beyond it, the account is locked until
 * now + min(max_seconds, base_seconds * 2^(failures - threshold)). */
typedef struct store_lockout {
    int threshold;        /* 1..1000 */
    int64_t base_seconds; /* 1..86400 */
    int64_t max_seconds;  /* base_seconds..31 days */
} store_lockout;

/* Records one failed login of account at now, atomically (concurrent
 * failures all count): failures + 1 and, per *lock, a new locked_until
 * (otherwise it is kept). The new values go to *failures and *locked_until
 * (either may be NULL). NY_EINVAL for lockout values out of range. */
int store_login_failed(store *s, const char *account, int64_t now, const store_lockout *lock,
                       int *failures, int64_t *locked_until, ny_err *e);

/* Records a successful login: failures 0, not locked. Changes nothing else;
 * fine for an account without stored credentials. */
int store_login_succeeded(store *s, const char *account, ny_err *e);

/* A login session. Only the SHA-256 of the bearer token is stored; each
 * session call below refuses a malformed token_hash with NY_EINVAL. */
typedef struct store_session {
    int64_t id;
    const char *token_hash; /* 64 lowercase hex digits, unique */
    const char *account;
    int64_t created_at;
    int64_t expires_at; /* > created_at */
    int64_t last_seen;
} store_session;

/* Stores a new session (last_seen = created_at) and its id in *id_out (may
 * be NULL). NY_EINVAL for expires_at <= created_at,
 * NY_EEXIST for a hash already stored, NY_ENOTFOUND for an unknown account. */
int store_session_put(store *s, const store_session *x, int64_t *id_out, ny_err *e);

/* Finds the live session with token_hash at now: not revoked, expires_at >
 * now, and its account not disabled. fn is called once with the session and
 * its staff row. NY_ENOTFOUND when there is no such session. */
int store_session_find(store *s, const char *token_hash, int64_t now,
                       int (*fn)(void *ctx, const store_session *x, const store_staff *p),
                       void *ctx, ny_err *e);

/* Moves the session's last_seen forward to now (never back). NY_ENOTFOUND
 * if no unrevoked session has token_hash. */
int store_session_touch(store *s, const char *token_hash, int64_t now, ny_err *e);

/* Revokes the session with token_hash at now (logout). NY_ENOTFOUND if no
 * unrevoked session has that hash. */
int store_session_revoke(store *s, const char *token_hash, int64_t now, ny_err *e);

/* Revokes every unrevoked session of account at now; *count (may be NULL)
 * receives how many. NY_ENOTFOUND for an unknown account. */
int store_sessions_revoke_staff(store *s, const char *account, int64_t now, long *count, ny_err *e);

/* ---- connectors: the chat bridges allowed to post messages ---------------
 * A connector authenticates with its key (public, sent with each request)
 * and its secret (the HMAC key; stored as given, because verifying a
 * signature needs it). A wecom connector also has the callback token, the
 * 43-character EncodingAESKey and the receive id (may be "" for AI-bot
 * callbacks); for a webhook connector those are "". */
typedef struct store_connector {
    int64_t id;
    const char *name; /* unique; 1..64 of [A-Za-z0-9._-] */
    const char *kind; /* webhook | wecom */
    const char *key;  /* unique; 1..128 of [A-Za-z0-9._-] */
    const char *secret;
    const char *wecom_token;
    const char *wecom_aes_key;
    const char *wecom_receive_id;
    int disabled; /* 1 = requests are refused */
    int64_t created_at;
} store_connector;

/* Stores the connector named c->name, replacing every field of an existing
 * one of that name except its id and created_at; the row id goes to *id_out
 * (may be NULL). NY_EINVAL for a malformed field, NY_EEXIST when another
 * connector has the key. */
int store_connector_put(store *s, const store_connector *c, int64_t *id_out, ny_err *e);

/* Finds one connector by name, or by key; fn is called once. NY_ENOTFOUND
 * if absent. Disabled connectors are found too (the caller refuses them). */
int store_connector_find(store *s, const char *name, int (*fn)(void *ctx, const store_connector *c),
                         void *ctx, ny_err *e);
int store_connector_find_by_key(store *s, const char *key,
                                int (*fn)(void *ctx, const store_connector *c), void *ctx,
                                ny_err *e);

/* Every connector, by name. */
int store_connectors_each(store *s, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                          ny_err *e);

/* ---- whole-database digest -------------------------------------------------
 * SHA-256 (hex, 64 chars + NUL) over every domain row in a canonical order,
 * independent of engine and of row ids (references are hashed as codes or as
 * ranks), so gaps in id sequences do not matter. Two databases with the same
 * content have the same digest. */
int store_digest(store *s, char hex_out[65], ny_err *e);

#endif
