/* store_pg_auth.c - accounts, sessions and connectors in the PostgreSQL driver.
 *
 * The PostgreSQL side of store_sqlite_auth.c: the same entries, semantics,
 * codes and messages, one statement each so that concurrent nodes never lose
 * an update. Credentials and failed logins are upserts keyed by the staff id
 * found from the account (INSERT ... SELECT ... ON CONFLICT DO UPDATE), with
 * the lockout arithmetic inside the statement and RETURNING handing back the
 * new values; the updates that must tell an unknown account from "nothing to
 * change" count both in one statement through data-modifying CTEs. Staff and
 * connectors are small tables (thousands of rows at most), so their
 * iterations read one result instead of paging. */
#include <stdlib.h>

#include "store_pg.h"

#define STAFF_COLS "s.id, s.account, s.name, s.phone, s.role, u.code, s.department"
#define STAFF_FROM " FROM staff s JOIN units u ON u.id = s.unit_id"
#define CRED_COLS                                                                                  \
    "c.password_hash, coalesce(c.disabled, 0), coalesce(c.failures, 0),"                           \
    " coalesce(c.locked_until, 0), coalesce(c.password_changed_at, 0)"
#define CRED_JOIN " LEFT JOIN credentials c ON c.staff_id = s.id"
#define CONN_SELECT                                                                                \
    "SELECT id, name, kind, key, secret, wecom_token, wecom_aes_key, wecom_receive_id,"            \
    " disabled, created_at FROM connectors"

static store_staff staff_at(const PGresult *r, int i, int at)
{
    return (store_staff){pg_int(r, i, at),      pg_text(r, i, at + 1), pg_text(r, i, at + 2),
                         pg_text(r, i, at + 3), pg_text(r, i, at + 4), pg_text(r, i, at + 5),
                         pg_text(r, i, at + 6)};
}

static store_credential credential_at(const PGresult *r, int i, int at)
{
    return (store_credential){pg_text(r, i, at), (int)pg_int(r, i, at + 1),
                              (int)pg_int(r, i, at + 2), pg_int(r, i, at + 3),
                              pg_int(r, i, at + 4)};
}

static int unknown_account(const char *account, ny_err *e)
{
    return ny_err_set(e, NY_ENOTFOUND, "unknown account '%s'", account);
}

/* Runs sql; *rows gets the rows it returned, or for a command without
 * RETURNING the rows it changed. The caller PQclear()s *out. */
static int run(struct pg *h, const char *sql, int n, const char *const *vals, PGresult **out,
               long *rows, ny_err *e)
{
    ny_err_clear(e);
    int rc = pg_run(h, sql, n, vals, out, e, "query failed");
    if (rc == NY_OK)
        *rows = PQresultStatus(*out) == PGRES_TUPLES_OK ? PQntuples(*out)
                                                        : strtol(PQcmdTuples(*out), NULL, 10);
    return rc;
}

/* As run(), for a statement that may fail on a constraint: inside the
 * caller's transaction it runs under a savepoint, so that a failure leaves
 * the transaction usable, as in SQLite. */
static int guarded(struct pg *h, const char *sql, int n, const char *const *vals, PGresult **out,
                   long *rows, ny_err *e)
{
    if (PQtransactionStatus(h->conn) != PQTRANS_INTRANS)
        return run(h, sql, n, vals, out, rows, e);
    ny_err ignore;
    int rc = pg_cmd(h, "SAVEPOINT ny_auth", e, "begin");
    if (rc == NY_OK)
        rc = run(h, sql, n, vals, out, rows, e);
    if (rc != NY_OK && pg_cmd(h, "ROLLBACK TO SAVEPOINT ny_auth", &ignore, "undo") != NY_OK)
        return rc;
    int released = pg_cmd(h, "RELEASE SAVEPOINT ny_auth", rc == NY_OK ? e : &ignore, "end");
    if (rc == NY_OK && released != NY_OK) {
        PQclear(*out);
        *out = NULL;
        rc = released;
    }
    return rc;
}

/* ---- staff and credentials ---------------------------------------------- */

int pg_staff_find(void *impl, const char *account, int (*fn)(void *ctx, const store_staff *p),
                  void *ctx, ny_err *e)
{
    static const char sql[] = "SELECT " STAFF_COLS STAFF_FROM " WHERE s.account = $1";
    const char *vals[] = {account};
    PGresult *r;
    long rows;
    int rc = run(impl, sql, 1, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    if (rows == 1) {
        store_staff p = staff_at(r, 0, 0);
        rc = fn(ctx, &p);
    } else {
        rc = unknown_account(account, e);
    }
    PQclear(r);
    return rc;
}

int pg_credential_get(void *impl, const char *account,
                      int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                      void *ctx, ny_err *e)
{
    static const char sql[] =
        "SELECT " STAFF_COLS ", " CRED_COLS STAFF_FROM CRED_JOIN " WHERE s.account = $1";
    const char *vals[] = {account};
    PGresult *r;
    long rows;
    int rc = run(impl, sql, 1, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    if (rows == 1) {
        store_staff p = staff_at(r, 0, 0);
        store_credential c = credential_at(r, 0, 7);
        rc = fn(ctx, &p, &c);
    } else {
        rc = unknown_account(account, e);
    }
    PQclear(r);
    return rc;
}

int pg_credentials_each(void *impl,
                        int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                        void *ctx, ny_err *e)
{
    static const char sql[] =
        "SELECT " STAFF_COLS ", " CRED_COLS STAFF_FROM CRED_JOIN " ORDER BY s.account";
    PGresult *r;
    long rows;
    int rc = run(impl, sql, 0, NULL, &r, &rows, e);
    for (int i = 0; rc == NY_OK && i < rows; i++) {
        store_staff p = staff_at(r, i, 0);
        store_credential c = credential_at(r, i, 7);
        rc = fn(ctx, &p, &c);
    }
    PQclear(r);
    return rc;
}

int pg_credential_put(void *impl, const char *account, const store_credential *c, ny_err *e)
{
    static const char sql[] =
        "INSERT INTO credentials(staff_id, password_hash, disabled, failures, locked_until,"
        " password_changed_at)"
        " SELECT id, $2, $3::int, $4::int, $5::bigint, $6::bigint FROM staff WHERE account = $1"
        " ON CONFLICT(staff_id) DO UPDATE SET password_hash = excluded.password_hash,"
        " disabled = excluded.disabled, failures = excluded.failures,"
        " locked_until = excluded.locked_until,"
        " password_changed_at = excluded.password_changed_at RETURNING staff_id";
    char d[24], f[24], l[24], p[24];
    const char *vals[] = {account,
                          c->password_hash,
                          pg_i64(d, c->disabled),
                          pg_i64(f, c->failures),
                          pg_i64(l, c->locked_until),
                          pg_i64(p, c->password_changed_at)};
    PGresult *r;
    long rows;
    int rc = guarded(impl, sql, 6, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    PQclear(r);
    return rows == 0 ? unknown_account(account, e) : NY_OK;
}

int pg_login_failed(void *impl, const char *account, int64_t now, const store_lockout *lock,
                    int *failures, int64_t *locked_until, ny_err *e)
{
    /* as in the SQLite driver: the first failure inserts the row, the lock
     * doubles per failure beyond the threshold (base <= 86400 < 2^17, so
     * the capped shift cannot overflow) */
    static const char sql[] =
        "INSERT INTO credentials(staff_id, failures, locked_until)"
        " SELECT id, 1, CASE WHEN $3::int <= 1 THEN $2::bigint + $4::bigint ELSE 0 END"
        " FROM staff WHERE account = $1"
        " ON CONFLICT(staff_id) DO UPDATE SET failures = credentials.failures + 1,"
        " locked_until = CASE WHEN credentials.failures + 1 >= $3::int"
        " THEN $2::bigint + LEAST($5::bigint,"
        " $4::bigint << LEAST(credentials.failures + 1 - $3::int, 40))"
        " ELSE credentials.locked_until END RETURNING failures, locked_until";
    char t[24], th[24], b[24], m[24];
    const char *vals[] = {account, pg_i64(t, now), pg_i64(th, lock->threshold),
                          pg_i64(b, lock->base_seconds), pg_i64(m, lock->max_seconds)};
    PGresult *r;
    long rows;
    int rc = run(impl, sql, 5, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    if (rows == 1) {
        *failures = (int)pg_int(r, 0, 0);
        *locked_until = pg_int(r, 0, 1);
    } else {
        rc = unknown_account(account, e);
    }
    PQclear(r);
    return rc;
}

int pg_login_succeeded(void *impl, const char *account, ny_err *e)
{
    static const char sql[] = "WITH s AS (SELECT id FROM staff WHERE account = $1),"
                              " u AS (UPDATE credentials SET failures = 0, locked_until = 0"
                              " WHERE staff_id = (SELECT id FROM s) RETURNING 1)"
                              " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM u)";
    const char *vals[] = {account};
    PGresult *r;
    long rows;
    int rc = run(impl, sql, 1, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    if (pg_int(r, 0, 0) == 0)
        rc = unknown_account(account, e);
    PQclear(r);
    return rc;
}

/* ---- sessions ----------------------------------------------------------- */

int pg_session_put(void *impl, const store_session *x, int64_t *id_out, ny_err *e)
{
    static const char sql[] =
        "INSERT INTO sessions(token_hash, staff_id, created_at, expires_at, last_seen)"
        " SELECT $1, id, $3::bigint, $4::bigint, $3::bigint FROM staff WHERE account = $2"
        " RETURNING id";
    char c[24], x2[24];
    const char *vals[] = {x->token_hash, x->account, pg_i64(c, x->created_at),
                          pg_i64(x2, x->expires_at)};
    PGresult *r;
    long rows;
    int rc = guarded(impl, sql, 4, vals, &r, &rows, e);
    if (rc == NY_EEXIST)
        return ny_err_set(e, rc, "a session with this token hash already exists");
    if (rc != NY_OK)
        return rc;
    if (rows == 0)
        rc = unknown_account(x->account, e);
    else if (id_out)
        *id_out = pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_session_find(void *impl, const char *token_hash, int64_t now,
                    int (*fn)(void *ctx, const store_session *x, const store_staff *p), void *ctx,
                    ny_err *e)
{
    static const char sql[] =
        "SELECT x.id, x.token_hash, s.account, x.created_at, x.expires_at, x.last_seen, " STAFF_COLS
        " FROM sessions x JOIN staff s ON s.id = x.staff_id JOIN units u ON u.id = "
        "s.unit_id" CRED_JOIN " WHERE x.token_hash = $1 AND x.revoked_at IS NULL"
        " AND x.expires_at > $2::bigint AND coalesce(c.disabled, 0) = 0";
    char t[24];
    const char *vals[] = {token_hash, pg_i64(t, now)};
    PGresult *r;
    long rows;
    int rc = run(impl, sql, 2, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    if (rows == 1) {
        store_session x = {pg_int(r, 0, 0), pg_text(r, 0, 1), pg_text(r, 0, 2),
                           pg_int(r, 0, 3), pg_int(r, 0, 4),  pg_int(r, 0, 5)};
        store_staff p = staff_at(r, 0, 6);
        rc = fn(ctx, &x, &p);
    } else {
        rc = ny_err_set(e, NY_ENOTFOUND, "no live session with this token");
    }
    PQclear(r);
    return rc;
}

/* Runs one of the session updates keyed by token hash ($1) and now ($2). */
static int session_update(struct pg *h, const char *sql, const char *token_hash, int64_t now,
                          ny_err *e)
{
    char t[24];
    const char *vals[] = {token_hash, pg_i64(t, now)};
    PGresult *r;
    long rows;
    int rc = run(h, sql, 2, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    PQclear(r);
    return rows == 0 ? ny_err_set(e, NY_ENOTFOUND, "no unrevoked session with this token") : NY_OK;
}

int pg_session_touch(void *impl, const char *token_hash, int64_t now, ny_err *e)
{
    static const char sql[] = "UPDATE sessions SET last_seen = GREATEST(last_seen, $2::bigint)"
                              " WHERE token_hash = $1 AND revoked_at IS NULL";
    return session_update(impl, sql, token_hash, now, e);
}

int pg_session_revoke(void *impl, const char *token_hash, int64_t now, ny_err *e)
{
    static const char sql[] = "UPDATE sessions SET revoked_at = $2::bigint"
                              " WHERE token_hash = $1 AND revoked_at IS NULL";
    return session_update(impl, sql, token_hash, now, e);
}

int pg_sessions_revoke_staff(void *impl, const char *account, int64_t now, long *count, ny_err *e)
{
    static const char sql[] =
        "WITH s AS (SELECT id FROM staff WHERE account = $1),"
        " u AS (UPDATE sessions SET revoked_at = $2::bigint"
        " WHERE staff_id = (SELECT id FROM s) AND revoked_at IS NULL RETURNING 1)"
        " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM u)";
    char t[24];
    const char *vals[] = {account, pg_i64(t, now)};
    PGresult *r;
    long rows;
    int rc = run(impl, sql, 2, vals, &r, &rows, e);
    if (rc != NY_OK)
        return rc;
    if (pg_int(r, 0, 0) == 0)
        rc = unknown_account(account, e);
    else
        *count = (long)pg_int(r, 0, 1);
    PQclear(r);
    return rc;
}

/* ---- connectors --------------------------------------------------------- */

int pg_connector_put(void *impl, const store_connector *c, int64_t *id_out, ny_err *e)
{
    static const char sql[] =
        "INSERT INTO connectors(name, kind, key, secret, wecom_token, wecom_aes_key,"
        " wecom_receive_id, disabled, created_at)"
        " VALUES($1, $2, $3, $4, $5, $6, $7, $8::int, $9::bigint)"
        " ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, key = excluded.key,"
        " secret = excluded.secret, wecom_token = excluded.wecom_token,"
        " wecom_aes_key = excluded.wecom_aes_key, wecom_receive_id = excluded.wecom_receive_id,"
        " disabled = excluded.disabled RETURNING id";
    char d[24], t[24];
    const char *vals[] = {c->name,
                          c->kind,
                          c->key,
                          c->secret,
                          c->wecom_token ? c->wecom_token : "",
                          c->wecom_aes_key ? c->wecom_aes_key : "",
                          c->wecom_receive_id ? c->wecom_receive_id : "",
                          pg_i64(d, c->disabled),
                          pg_i64(t, c->created_at)};
    PGresult *r;
    long rows;
    int rc = guarded(impl, sql, 9, vals, &r, &rows, e);
    if (rc == NY_EEXIST)
        return ny_err_set(e, rc, "connector key '%s' belongs to another connector", c->key);
    if (rc != NY_OK)
        return rc;
    if (id_out)
        *id_out = pg_int(r, 0, 0);
    PQclear(r);
    return NY_OK;
}

/* Runs a connector SELECT and calls fn for each row; *rows counts them. */
static int connectors_run(struct pg *h, const char *sql, const char *value,
                          int (*fn)(void *ctx, const store_connector *c), void *ctx, long *rows,
                          ny_err *e)
{
    const char *vals[] = {value};
    PGresult *r;
    int rc = run(h, sql, value ? 1 : 0, vals, &r, rows, e);
    if (rc != NY_OK)
        return rc;
    for (int i = 0; rc == NY_OK && i < *rows; i++) {
        store_connector c = {pg_int(r, i, 0),  pg_text(r, i, 1), pg_text(r, i, 2),
                             pg_text(r, i, 3), pg_text(r, i, 4), pg_text(r, i, 5),
                             pg_text(r, i, 6), pg_text(r, i, 7), (int)pg_int(r, i, 8),
                             pg_int(r, i, 9)};
        rc = fn(ctx, &c);
    }
    PQclear(r);
    return rc;
}

int pg_connector_find(void *impl, const char *name, int (*fn)(void *ctx, const store_connector *c),
                      void *ctx, ny_err *e)
{
    long rows;
    int rc = connectors_run(impl, CONN_SELECT " WHERE name = $1", name, fn, ctx, &rows, e);
    if (rc == NY_OK && rows == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "no connector with name '%s'", name);
    return rc;
}

int pg_connector_find_by_key(void *impl, const char *key,
                             int (*fn)(void *ctx, const store_connector *c), void *ctx, ny_err *e)
{
    long rows;
    int rc = connectors_run(impl, CONN_SELECT " WHERE key = $1", key, fn, ctx, &rows, e);
    if (rc == NY_OK && rows == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "no connector with key '%s'", key);
    return rc;
}

int pg_connectors_each(void *impl, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                       ny_err *e)
{
    long rows;
    return connectors_run(impl, CONN_SELECT " ORDER BY name", NULL, fn, ctx, &rows, e);
}
