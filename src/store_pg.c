/* store_pg.c - the PostgreSQL driver: connection, migrations, transactions.
 *
 * store.c sends postgresql:// and postgres:// URIs and libpq keyword strings
 * here (store_pg_driver). A handle is one PGconn. Opening connects (creating
 * the database through the server's "postgres" database when it does not
 * exist yet and must_exist is not set), then applies the migrations of
 * store_pg_schema.c one transaction each under a transaction-scoped advisory
 * lock, so that several nodes starting at once migrate exactly once and
 * none of them sees a half-migrated schema. Every other statement is
 * prepared once per connection on first use (pg_run) and executed with text
 * parameters. This file also holds the helpers the other store_pg_*.c files
 * share: error mapping from SQLSTATE to NY_* codes and the atomic scope of a
 * batch (BEGIN/COMMIT on its own, SAVEPOINT inside the caller's
 * transaction). Nodes keep no state beyond their connection: everything
 * they must agree on lives in the database. */
#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_driver.h"
#include "store_pg_schema.h"

/* pg_advisory_xact_lock key serialising migrations: "nuanyang" in ASCII. */
#define PG_MIGRATE_LOCK "7959393061848346215"

const char *pg_text(const PGresult *r, int i, int col)
{
    return PQgetisnull(r, i, col) ? NULL : PQgetvalue(r, i, col);
}

int64_t pg_int(const PGresult *r, int i, int col)
{
    return PQgetisnull(r, i, col) ? 0 : strtoll(PQgetvalue(r, i, col), NULL, 10);
}

const char *pg_i64(char *out, int64_t v)
{
    snprintf(out, 24, "%" PRId64, v);
    return out;
}

void pg_buf_put(struct pg_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void pg_buf_free(struct pg_buf *b)
{
    free(b->p);
    b->p = NULL, b->len = b->cap = 0, b->oom = 0;
}

/* The server's message without libpq's trailing newline. */
static void pg_message(const char *msg, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
}

static int pg_code_of(struct pg *h, const char *state)
{
    if (PQstatus(h->conn) == CONNECTION_BAD)
        return NY_EUNAVAIL;
    if (!state)
        return NY_ERR;
    if (strcmp(state, "23505") == 0)
        return NY_EEXIST;
    if (strcmp(state, "23503") == 0)
        return NY_ENOTFOUND;
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        return NY_EINVAL;
    if (strcmp(state, "P0001") == 0) /* RAISE EXCEPTION of the append-only trigger */
        return NY_ECONFLICT;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strncmp(state, "40", 2) == 0 ||
        strcmp(state, "55P03") == 0)
        return NY_EUNAVAIL;
    return NY_ERR;
}

int pg_error_at(struct pg *h, const PGresult *r, long index, ny_err *e, const char *what)
{
    char msg[400];
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (primary && detail)
        snprintf(msg, sizeof msg, "%s (%s)", primary, detail);
    else
        pg_message(primary ? primary : PQerrorMessage(h->conn), msg, sizeof msg);
    int code = pg_code_of(h, r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL);
    return ny_err_set_at(e, code, index, "%s: %s", what, msg);
}

int pg_error(struct pg *h, const PGresult *r, ny_err *e, const char *what)
{
    return pg_error_at(h, r, -1, e, what);
}

/* After a lost connection, outside a transaction of the caller's: connects
 * again (the prepared statements went with the old session). If that fails
 * too, the statement about to run reports NY_EUNAVAIL. */
void pg_revive(struct pg *h)
{
    if (PQstatus(h->conn) != CONNECTION_BAD || h->in_tx)
        return;
    PQreset(h->conn);
    h->nprepared = 0;
    pg_sql_forget(h);
}

int pg_run(struct pg *h, const char *sql, int n, const char *const *vals, PGresult **out, ny_err *e,
           const char *what)
{
    char name[16];
    int k = 0;
    *out = NULL;
    pg_revive(h);
    while (k < h->nprepared && h->prepared[k] != sql)
        k++;
    snprintf(name, sizeof name, "ny%d", k);
    if (k == h->nprepared) {
        if (k == PG_MAX_STMT)
            return ny_err_set(e, NY_ERR, "%s: too many prepared statements", what);
        int rc = pg_pipe_wait(h, e); /* no preparing in the middle of a flight */
        if (rc != NY_OK)
            return rc;
        PGresult *p = PQprepare(h->conn, name, sql, 0, NULL);
        if (PQresultStatus(p) != PGRES_COMMAND_OK) {
            rc = pg_error(h, p, e, what);
            PQclear(p);
            return rc;
        }
        PQclear(p);
        h->prepared[h->nprepared++] = sql;
    }
    return pg_pipe_exec(h, name, NULL, n, vals, out, what, e);
}

int pg_cmd(struct pg *h, const char *sql, ny_err *e, const char *what)
{
    pg_revive(h);
    int rc = pg_pipe_before(h, sql, e);
    if (rc == NY_OK)
        rc = pg_pipe_wait(h, e);
    if (rc != NY_OK)
        return rc;
    PGresult *r = PQexec(h->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_error(h, r, e, what);
    else
        pg_pipe_after(h, sql);
    PQclear(r);
    return rc;
}

/* Runs a parameterless command that returns nothing (SAVEPOINT, RELEASE)
 * without waiting when pg_pipe_can(), else as pg_cmd. */
static int pg_cmd_later(struct pg *h, const char *sql, ny_err *e, const char *what)
{
    if (!pg_pipe_can(h))
        return pg_cmd(h, sql, e, what);
    int rc = pg_pipe_before(h, sql, e);
    if (rc == NY_OK)
        rc = pg_pipe_send(h, NULL, sql, 0, NULL, what, e);
    if (rc == NY_OK)
        pg_pipe_after(h, sql);
    return rc;
}

int pg_batch_begin(struct pg *h, int *own, ny_err *e)
{
    pg_revive(h);
    *own = PQtransactionStatus(h->conn) == PQTRANS_IDLE;
    return *own ? pg_cmd(h, "BEGIN", e, "begin batch")
                : pg_cmd_later(h, "SAVEPOINT ny_batch", e, "begin batch");
}

int pg_batch_undo(struct pg *h, int own, ny_err *e)
{
    if (own) {
        int rc = pg_cmd(h, "ROLLBACK", e, "undo batch");
        return rc != NY_OK ? rc : pg_cmd(h, "BEGIN", e, "begin batch");
    }
    return pg_cmd(h, "ROLLBACK TO SAVEPOINT ny_batch", e, "undo batch");
}

int pg_batch_end(struct pg *h, int own, int rc, ny_err *e)
{
    ny_err ignore;
    if (rc == NY_OK)
        return own ? pg_cmd(h, "COMMIT", e, "end batch")
                   : pg_cmd_later(h, "RELEASE SAVEPOINT ny_batch", e, "end batch");
    /* keep the first error in e; a failing undo leaves the connection as it is */
    if (own)
        pg_cmd(h, "ROLLBACK", &ignore, "undo batch");
    else if (pg_cmd(h, "ROLLBACK TO SAVEPOINT ny_batch", &ignore, "undo batch") == NY_OK)
        pg_cmd(h, "RELEASE SAVEPOINT ny_batch", &ignore, "undo batch");
    return rc;
}

static void pg_quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* Connects to uri; dbname, when not NULL, replaces the database it names. */
static PGconn *pg_connect(const char *uri, const char *dbname)
{
    /* entries after the expanded uri override it, entries before are defaults;
     * as connection options they also hold for PQreset() */
    const char *keys[] = {"connect_timeout", "application_name", "dbname",
                          "client_encoding", "dbname",           NULL};
    const char *vals[] = {"10", "nuanyang", uri, "UTF8", dbname, NULL};
    if (!dbname)
        keys[4] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c)
        PQsetNoticeProcessor(c, pg_quiet, NULL);
    return c;
}

/* After a failed connection: if the server is reachable and the database does
 * not exist, creates it (or reports NY_ENOTFOUND under must_exist). Returns
 * NY_OK when the database was created, else the code to report. */
static int pg_create_database(const char *uri, const char *dbname, const char *why, int must_exist,
                              ny_err *e)
{
    PGconn *m = pg_connect(uri, "postgres");
    if (!m || PQstatus(m) != CONNECTION_OK) {
        PQfinish(m);
        return ny_err_set(e, NY_EUNAVAIL, "cannot connect to PostgreSQL: %s", why);
    }
    const char *vals[] = {dbname};
    PGresult *r = PQexecParams(m, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, vals,
                               NULL, NULL, 0);
    int rc;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) > 0) {
        rc = ny_err_set(e, NY_EUNAVAIL, "cannot connect to PostgreSQL: %s", why);
    } else if (must_exist) {
        rc = ny_err_set(e, NY_ENOTFOUND, "PostgreSQL database \"%s\" does not exist", dbname);
    } else {
        PQclear(r);
        char *ident = PQescapeIdentifier(m, dbname, strlen(dbname));
        char sql[600];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", ident ? ident : "\"\"");
        PQfreemem(ident);
        r = PQexec(m, sql);
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (PQresultStatus(r) == PGRES_COMMAND_OK || (state && strcmp(state, "42P04") == 0)) {
            rc = NY_OK; /* created, or another node just created it */
        } else {
            char msg[400];
            pg_message(PQerrorMessage(m), msg, sizeof msg);
            rc = ny_err_set(e, NY_ERR, "cannot create PostgreSQL database \"%s\": %s", dbname, msg);
        }
    }
    PQclear(r);
    PQfinish(m);
    return rc;
}

static int pg_open_conn(struct pg *h, const char *uri, int must_exist, ny_err *e)
{
    h->conn = pg_connect(uri, NULL);
    if (!h->conn)
        return ny_err_set(e, NY_ERR, "out of memory");
    if (PQstatus(h->conn) == CONNECTION_OK)
        return NY_OK;
    char why[400], dbname[200];
    pg_message(PQerrorMessage(h->conn), why, sizeof why);
    snprintf(dbname, sizeof dbname, "%s", PQdb(h->conn) ? PQdb(h->conn) : "");
    PQfinish(h->conn);
    h->conn = NULL;
    int rc = NY_EUNAVAIL;
    if (*dbname && strcmp(dbname, "postgres") != 0)
        rc = pg_create_database(uri, dbname, why, must_exist, e);
    else
        ny_err_set(e, rc, "cannot connect to PostgreSQL: %s", why);
    if (rc != NY_OK)
        return rc;
    h->conn = pg_connect(uri, NULL);
    if (!h->conn)
        return ny_err_set(e, NY_ERR, "out of memory");
    if (PQstatus(h->conn) != CONNECTION_OK) {
        pg_message(PQerrorMessage(h->conn), why, sizeof why);
        return ny_err_set(e, NY_EUNAVAIL, "cannot connect to PostgreSQL: %s", why);
    }
    return NY_OK;
}

/* Reads meta.schema_version; a database without a meta table is version 0,
 * but only if its schema holds no tables: another program's are not adopted. */
static int pg_read_version(struct pg *h, int *version, ny_err *e)
{
    static const char probe[] =
        "SELECT to_regclass('meta') IS NOT NULL, (SELECT count(*) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
        " AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))";
    static const char get[] = "SELECT value FROM meta WHERE key = 'schema_version'";
    PGresult *r;
    *version = 0;
    int rc = pg_run(h, probe, 0, NULL, &r, e, "read schema version");
    if (rc != NY_OK)
        return rc;
    int has_meta = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    int64_t objects = pg_int(r, 0, 1);
    PQclear(r);
    if (!has_meta)
        return objects == 0 ? NY_OK
                            : ny_err_set(e, NY_ERR,
                                         "PostgreSQL database \"%s\" belongs to another program "
                                         "(it has tables but no nuanyang meta table)",
                                         PQdb(h->conn));
    if ((rc = pg_run(h, get, 0, NULL, &r, e, "read schema version")) != NY_OK)
        return rc;
    const char *text = PQntuples(r) == 1 ? pg_text(r, 0, 0) : NULL;
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : -1;
    if (!text)
        rc = ny_err_set(e, NY_ERR, "database \"%s\": meta has no schema_version", PQdb(h->conn));
    else if (*end || v < 0 || v > 1000000)
        rc = ny_err_set(e, NY_ERR, "database \"%s\": meta has a malformed schema_version",
                        PQdb(h->conn));
    else
        *version = (int)v;
    PQclear(r);
    return rc;
}

/* One step: under the lock, applies the next migration if one is due. *done
 * is set when the database is at (or beyond) target. */
static int pg_migrate_step(struct pg *h, int target, int *done, ny_err *e)
{
    static const char set_version[] = "INSERT INTO meta(key, value) VALUES('schema_version', $1)"
                                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    PGresult *r;
    int v, rc = pg_run(h, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", 0, NULL, &r, e,
                       "lock for migration");
    if (rc != NY_OK)
        return rc;
    PQclear(r);
    if ((rc = pg_read_version(h, &v, e)) != NY_OK)
        return rc;
    if (v > STORE_SCHEMA_VERSION)
        return ny_err_set(e, NY_EVERSION,
                          "database \"%s\" has schema version %d, newer than this nuanyang "
                          "supports (%d); upgrade nuanyang",
                          PQdb(h->conn), v, STORE_SCHEMA_VERSION);
    if (v >= target) {
        *done = 1;
        return NY_OK;
    }
    char what[64], num[24];
    snprintf(what, sizeof what, "migration %d", v + 1);
    if ((rc = pg_cmd(h, store_pg_migrations[v], e, what)) != NY_OK)
        return rc;
    const char *vals[] = {pg_i64(num, v + 1)};
    if ((rc = pg_run(h, set_version, 1, vals, &r, e, what)) == NY_OK)
        PQclear(r);
    return rc;
}

static int pg_migrate(struct pg *h, int target, ny_err *e)
{
    if (target <= 0 || target > store_pg_migration_count)
        target = store_pg_migration_count;
    for (int done = 0; !done;) {
        int rc = pg_cmd(h, "BEGIN", e, "migrate");
        if (rc == NY_OK)
            rc = pg_migrate_step(h, target, &done, e);
        if (rc == NY_OK)
            rc = pg_cmd(h, "COMMIT", e, "migrate");
        if (rc != NY_OK) {
            ny_err ignore;
            pg_cmd(h, "ROLLBACK", &ignore, "migrate");
            return rc;
        }
    }
    return NY_OK;
}

static void pg_close(void *impl)
{
    struct pg *h = impl;
    if (!h)
        return;
    PQclear(h->job);
    PQfinish(h->conn);
    pg_sql_forget(h);
    free(h->pending);
    free(h);
}

static int pg_open(const char *uri, const store_open_opts *opts, void **impl, ny_err *e)
{
    *impl = NULL;
    ny_err_clear(e);
    struct pg *h = calloc(1, sizeof *h);
    if (!h)
        return ny_err_set(e, NY_ERR, "out of memory");
    int rc = pg_open_conn(h, uri, opts->must_exist, e);
    if (rc == NY_OK)
        rc = pg_migrate(h, opts->target_version, e);
    if (rc != NY_OK) {
        pg_close(h);
        return rc;
    }
    *impl = h;
    return NY_OK;
}

static int pg_schema_version(void *impl, int *version, ny_err *e)
{
    ny_err_clear(e);
    return pg_read_version(impl, version, e);
}

static int pg_begin(void *impl, ny_err *e)
{
    struct pg *h = impl;
    ny_err_clear(e);
    PGTransactionStatusType ts = PQtransactionStatus(h->conn); /* UNKNOWN: lost, see pg_cmd */
    if (h->in_tx || ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR || ts == PQTRANS_ACTIVE)
        return ny_err_set(e, NY_ECONFLICT, "a transaction is already open");
    pg_pipe_reset(h);
    if (h->pipelined) { /* goes out with the first statement */
        pg_revive(h);
        h->in_tx = 1;
        int rc = pg_pipe_send(h, NULL, "BEGIN", 0, NULL, "begin", e);
        h->in_tx = rc == NY_OK;
        return rc;
    }
    int rc = pg_cmd(h, "BEGIN", e, "begin");
    h->in_tx = rc == NY_OK;
    return rc;
}

static int pg_commit(void *impl, ny_err *e)
{
    struct pg *h = impl;
    ny_err_clear(e);
    if (!h->in_tx)
        return ny_err_set(e, NY_ECONFLICT, "no transaction is open");
    h->in_tx = 0;
    PGresult *r; /* with the statements still in flight */
    int rc = pg_pipe_exec(h, NULL, "COMMIT", 0, NULL, &r, "commit", e);
    if (rc == NY_OK && strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        rc = ny_err_set(e, NY_ERR, "commit: the transaction had failed and was rolled back");
    PQclear(r);
    if (h->failed) { /* one of them failed: COMMIT was skipped */
        ny_err ignore;
        pg_cmd(h, "ROLLBACK", &ignore, "rollback");
    }
    return rc;
}

static void pg_pipeline(void *impl, int on)
{
    ((struct pg *)impl)->pipelined = on;
}

static int pg_sync(void *impl, ny_err *e)
{
    ny_err_clear(e);
    return pg_pipe_wait(impl, e);
}

static int pg_rollback(void *impl, ny_err *e)
{
    struct pg *h = impl;
    ny_err_clear(e);
    if (!h->in_tx)
        return ny_err_set(e, NY_ECONFLICT, "no transaction is open");
    h->in_tx = 0;
    return pg_cmd(h, "ROLLBACK", e, "rollback");
}

const struct store_driver store_pg_driver = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .unit_put_batch = pg_unit_put_batch,
    .unit_get = pg_unit_get,
    .units_prefixed = pg_units_prefixed,
    .household_put_batch = pg_household_put_batch,
    .households_each = pg_households_each,
    .enterprise_put_batch = pg_enterprise_put_batch,
    .enterprises_each = pg_enterprises_each,
    .group_put_batch = pg_group_put_batch,
    .groups_each = pg_groups_each,
    .staff_put_batch = pg_staff_put_batch,
    .staff_each = pg_staff_each,
    .policy_put_batch = pg_policy_put_batch,
    .policies_each = pg_policies_each,
    .lexicon_put_batch = pg_lexicon_put_batch,
    .lexicon_each = pg_lexicon_each,
    .message_put_batch = pg_message_put_batch,
    .messages_find = pg_messages_find,
    .message_ingest_batch = pg_message_ingest_batch,
    .messages_each = pg_messages_each,
    .case_put_batch = pg_case_put_batch,
    .cases_each = pg_cases_each,
    .case_event_append_batch = pg_case_event_append_batch,
    .case_events_each = pg_case_events_each,
    .lead_put_batch = pg_lead_put_batch,
    .leads_each = pg_leads_each,
    .stats_get = pg_stats_get,
    .job_enqueue = pg_job_enqueue,
    .job_claim = pg_job_claim,
    .job_done = pg_job_done,
    .job_retry = pg_job_retry,
    .cache_version = pg_cache_version,
    .cache_bump = pg_cache_bump,
    .staff_find = pg_staff_find,
    .credential_get = pg_credential_get,
    .credentials_each = pg_credentials_each,
    .credential_put = pg_credential_put,
    .login_failed = pg_login_failed,
    .login_succeeded = pg_login_succeeded,
    .session_put = pg_session_put,
    .session_find = pg_session_find,
    .session_touch = pg_session_touch,
    .session_revoke = pg_session_revoke,
    .sessions_revoke_staff = pg_sessions_revoke_staff,
    .connector_put = pg_connector_put,
    .connector_find = pg_connector_find,
    .connector_find_by_key = pg_connector_find_by_key,
    .connectors_each = pg_connectors_each,
    .sql = pg_sql,
    .pipeline = pg_pipeline,
    .sync = pg_sync,
    .notify_wait = pg_notify_wait,
};
