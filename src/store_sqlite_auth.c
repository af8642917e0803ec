/* store_sqlite_auth.c - accounts, sessions and connectors in the SQLite driver.
 *
 * The driver entries behind the account and connector calls of store.h
 * (store.c has checked their arguments). Credentials sit in their own table
 * keyed by staff id and are read through a LEFT JOIN from staff, so a staff
 * member without a row reads as "no password, enabled, no failures". Writes
 * that must not lose a concurrent update are single statements: credentials
 * and failed logins are upserts keyed by the staff id found from the
 * account, the lockout arithmetic runs inside the UPDATE and RETURNING hands
 * back the new values. Sessions are found by the unique index on their token
 * hash, connectors by the unique indexes on name and key.
 * store_pg_auth.c implements the same entries for PostgreSQL with the same
 * codes and messages. */
#include "store_sqlite.h"

/* Staff columns (7) with the unit's code, and their joins. */
#define STAFF_COLS "s.id,s.account,s.name,s.phone,s.role,u.code,s.department"
#define STAFF_FROM " FROM staff s JOIN units u ON u.id=s.unit_id"

/* Credential columns (5) as stored or defaulted; needs the join below. */
#define CRED_COLS                                                                                  \
    "c.password_hash,coalesce(c.disabled,0),coalesce(c.failures,0),"                               \
    "coalesce(c.locked_until,0),coalesce(c.password_changed_at,0)"
#define CRED_JOIN " LEFT JOIN credentials c ON c.staff_id=s.id"

#define CONN_SELECT                                                                                \
    "SELECT id,name,kind,key,secret,wecom_token,wecom_aes_key,wecom_receive_id,disabled,"          \
    "created_at FROM connectors"

/* The staff row in columns at..at+6 of st. */
static store_staff staff_at(sqlite3_stmt *st, int at)
{
    return (store_staff){sqlite3_column_int64(st, at), sq_text(st, at + 1), sq_text(st, at + 2),
                         sq_text(st, at + 3),          sq_text(st, at + 4), sq_text(st, at + 5),
                         sq_text(st, at + 6)};
}

/* The credentials in columns at..at+4 of st. */
static store_credential credential_at(sqlite3_stmt *st, int at)
{
    return (store_credential){sq_text(st, at), sqlite3_column_int(st, at + 1),
                              sqlite3_column_int(st, at + 2), sqlite3_column_int64(st, at + 3),
                              sqlite3_column_int64(st, at + 4)};
}

static store_connector connector_of(sqlite3_stmt *st)
{
    return (store_connector){sqlite3_column_int64(st, 0),
                             sq_text(st, 1),
                             sq_text(st, 2),
                             sq_text(st, 3),
                             sq_text(st, 4),
                             sq_text(st, 5),
                             sq_text(st, 6),
                             sq_text(st, 7),
                             sqlite3_column_int(st, 8),
                             sqlite3_column_int64(st, 9)};
}

static int unknown_account(const char *account, ny_err *e)
{
    return ny_err_set(e, NY_ENOTFOUND, "unknown account '%s'", account);
}

/* Runs st (bound by the caller) as an UPDATE; *changes gets the rows it
 * matched. */
static int update(struct sq *h, sqlite3_stmt *st, long *changes, ny_err *e)
{
    int rc = sq_next(h, st, e);
    sq_reset(st);
    *changes = rc == NY_OK ? (long)sqlite3_changes(h->db) : 0;
    return rc;
}

/* The row id of account's staff row in *id, or NY_ENOTFOUND. */
static int staff_id(struct sq *h, const char *account, int64_t *id, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_STAFF_ID, "SELECT id FROM staff WHERE account=?1", &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, account);
    rc = sq_next(h, st, e);
    if (rc == 1)
        *id = sqlite3_column_int64(st, 0);
    sq_reset(st);
    return rc == 1 ? NY_OK : rc == NY_OK ? unknown_account(account, e) : rc;
}

/* ---- staff and credentials ---------------------------------------------- */

int sq_staff_find(void *impl, const char *account, int (*fn)(void *ctx, const store_staff *p),
                  void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc =
        sq_stmt(h, SQ_STAFF_FIND, "SELECT " STAFF_COLS STAFF_FROM " WHERE s.account=?1", &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, account);
    rc = sq_next(h, st, e);
    if (rc == 1) {
        store_staff p = staff_at(st, 0);
        rc = fn(ctx, &p);
    } else if (rc == NY_OK) {
        rc = unknown_account(account, e);
    }
    sq_reset(st);
    return rc;
}

int sq_credential_get(void *impl, const char *account,
                      int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                      void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_CRED_GET,
                     "SELECT " STAFF_COLS "," CRED_COLS STAFF_FROM CRED_JOIN " WHERE s.account=?1",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, account);
    rc = sq_next(h, st, e);
    if (rc == 1) {
        store_staff p = staff_at(st, 0);
        store_credential c = credential_at(st, 7);
        rc = fn(ctx, &p, &c);
    } else if (rc == NY_OK) {
        rc = unknown_account(account, e);
    }
    sq_reset(st);
    return rc;
}

int sq_credentials_each(void *impl,
                        int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                        void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_CREDS,
                     "SELECT " STAFF_COLS "," CRED_COLS STAFF_FROM CRED_JOIN " ORDER BY s.account",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_staff p = staff_at(st, 0);
        store_credential c = credential_at(st, 7);
        if ((rc = fn(ctx, &p, &c)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_credential_put(void *impl, const char *account, const store_credential *c, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    long changes;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_CRED_PUT,
                     "INSERT INTO credentials(staff_id,password_hash,disabled,failures,"
                     "locked_until,password_changed_at)"
                     " SELECT id,?2,?3,?4,?5,?6 FROM staff WHERE account=?1"
                     " ON CONFLICT(staff_id) DO UPDATE SET password_hash=excluded.password_hash,"
                     "disabled=excluded.disabled,failures=excluded.failures,"
                     "locked_until=excluded.locked_until,"
                     "password_changed_at=excluded.password_changed_at",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, account);
    sq_bind_text(st, 2, c->password_hash);
    sqlite3_bind_int(st, 3, c->disabled);
    sqlite3_bind_int(st, 4, c->failures);
    sqlite3_bind_int64(st, 5, c->locked_until);
    sqlite3_bind_int64(st, 6, c->password_changed_at);
    rc = update(h, st, &changes, e);
    return rc == NY_OK && changes == 0 ? unknown_account(account, e) : rc;
}

int sq_login_failed(void *impl, const char *account, int64_t now, const store_lockout *lock,
                    int *failures, int64_t *locked_until, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    /* the first failure inserts the row; later ones count up. The lock
     * doubles per failure beyond the threshold (shift capped far below
     * overflow: base <= 86400 < 2^17). */
    int rc = sq_stmt(h, SQ_LOGIN_FAILED,
                     "INSERT INTO credentials(staff_id,failures,locked_until)"
                     " SELECT id,1,CASE WHEN ?3<=1 THEN ?2+?4 ELSE 0 END FROM staff"
                     " WHERE account=?1"
                     " ON CONFLICT(staff_id) DO UPDATE SET failures=failures+1,"
                     "locked_until=CASE WHEN failures+1>=?3"
                     " THEN ?2+min(?5,?4<<min(failures+1-?3,40)) ELSE locked_until END"
                     " RETURNING failures,locked_until",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, account);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, lock->threshold);
    sqlite3_bind_int64(st, 4, lock->base_seconds);
    sqlite3_bind_int64(st, 5, lock->max_seconds);
    rc = sq_next(h, st, e);
    if (rc == 1) {
        *failures = sqlite3_column_int(st, 0);
        *locked_until = sqlite3_column_int64(st, 1);
        rc = sq_next(h, st, e);
    } else if (rc == NY_OK) {
        rc = unknown_account(account, e);
    }
    sq_reset(st);
    return rc;
}

int sq_login_succeeded(void *impl, const char *account, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    int64_t id;
    long changes;
    ny_err_clear(e);
    int rc = staff_id(h, account, &id, e);
    if (rc == NY_OK)
        rc = sq_stmt(h, SQ_LOGIN_OK,
                     "UPDATE credentials SET failures=0,locked_until=0 WHERE staff_id=?1", &st, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return update(h, st, &changes, e);
}

/* ---- sessions ----------------------------------------------------------- */

int sq_session_put(void *impl, const store_session *x, int64_t *id_out, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    long changes;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_SESSION_PUT,
                     "INSERT INTO sessions(token_hash,staff_id,created_at,expires_at,last_seen)"
                     " SELECT ?1,id,?3,?4,?3 FROM staff WHERE account=?2",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, x->token_hash);
    sq_bind_text(st, 2, x->account);
    sqlite3_bind_int64(st, 3, x->created_at);
    sqlite3_bind_int64(st, 4, x->expires_at);
    rc = update(h, st, &changes, e);
    if (rc == NY_EEXIST)
        return ny_err_set(e, rc, "a session with this token hash already exists");
    if (rc == NY_OK && changes == 0)
        return unknown_account(x->account, e);
    if (rc == NY_OK && id_out)
        *id_out = sqlite3_last_insert_rowid(h->db);
    return rc;
}

int sq_session_find(void *impl, const char *token_hash, int64_t now,
                    int (*fn)(void *ctx, const store_session *x, const store_staff *p), void *ctx,
                    ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(
        h, SQ_SESSION_FIND,
        "SELECT x.id,x.token_hash,s.account,x.created_at,x.expires_at,x.last_seen," STAFF_COLS
        " FROM sessions x JOIN staff s ON s.id=x.staff_id"
        " JOIN units u ON u.id=s.unit_id" CRED_JOIN
        " WHERE x.token_hash=?1 AND x.revoked_at IS NULL AND x.expires_at>?2"
        " AND coalesce(c.disabled,0)=0",
        &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, token_hash);
    sqlite3_bind_int64(st, 2, now);
    rc = sq_next(h, st, e);
    if (rc == 1) {
        store_session x = {sqlite3_column_int64(st, 0),
                           sq_text(st, 1),
                           sq_text(st, 2),
                           sqlite3_column_int64(st, 3),
                           sqlite3_column_int64(st, 4),
                           sqlite3_column_int64(st, 5)};
        store_staff p = staff_at(st, 6);
        rc = fn(ctx, &x, &p);
    } else if (rc == NY_OK) {
        rc = ny_err_set(e, NY_ENOTFOUND, "no live session with this token");
    }
    sq_reset(st);
    return rc;
}

/* Runs one of the session updates keyed by token hash ($1) and now ($2). */
static int session_update(struct sq *h, enum sq_stmt_id id, const char *sql, const char *token_hash,
                          int64_t now, ny_err *e)
{
    sqlite3_stmt *st;
    long changes;
    ny_err_clear(e);
    int rc = sq_stmt(h, id, sql, &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, token_hash);
    sqlite3_bind_int64(st, 2, now);
    rc = update(h, st, &changes, e);
    if (rc == NY_OK && changes == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "no unrevoked session with this token");
    return rc;
}

int sq_session_touch(void *impl, const char *token_hash, int64_t now, ny_err *e)
{
    return session_update(impl, SQ_SESSION_TOUCH,
                          "UPDATE sessions SET last_seen=max(last_seen,?2)"
                          " WHERE token_hash=?1 AND revoked_at IS NULL",
                          token_hash, now, e);
}

int sq_session_revoke(void *impl, const char *token_hash, int64_t now, ny_err *e)
{
    return session_update(impl, SQ_SESSION_REVOKE,
                          "UPDATE sessions SET revoked_at=?2"
                          " WHERE token_hash=?1 AND revoked_at IS NULL",
                          token_hash, now, e);
}

int sq_sessions_revoke_staff(void *impl, const char *account, int64_t now, long *count, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    int64_t id;
    ny_err_clear(e);
    int rc = staff_id(h, account, &id, e);
    if (rc == NY_OK)
        rc = sq_stmt(h, SQ_SESSIONS_REVOKE,
                     "UPDATE sessions SET revoked_at=?2 WHERE staff_id=?1 AND revoked_at IS NULL",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    return update(h, st, count, e);
}

/* ---- connectors --------------------------------------------------------- */

int sq_connector_put(void *impl, const store_connector *c, int64_t *id_out, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_CONN_PUT,
                     "INSERT INTO connectors(name,kind,key,secret,wecom_token,wecom_aes_key,"
                     "wecom_receive_id,disabled,created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"
                     " ON CONFLICT(name) DO UPDATE SET kind=excluded.kind,key=excluded.key,"
                     "secret=excluded.secret,wecom_token=excluded.wecom_token,"
                     "wecom_aes_key=excluded.wecom_aes_key,"
                     "wecom_receive_id=excluded.wecom_receive_id,disabled=excluded.disabled"
                     " RETURNING id",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    const char *text[] = {c->name,
                          c->kind,
                          c->key,
                          c->secret,
                          c->wecom_token ? c->wecom_token : "",
                          c->wecom_aes_key ? c->wecom_aes_key : "",
                          c->wecom_receive_id ? c->wecom_receive_id : ""};
    for (int i = 0; i < 7; i++)
        sq_bind_text(st, i + 1, text[i]);
    sqlite3_bind_int(st, 8, c->disabled);
    sqlite3_bind_int64(st, 9, c->created_at);
    rc = sq_next(h, st, e);
    if (rc == 1) {
        if (id_out)
            *id_out = sqlite3_column_int64(st, 0);
        rc = sq_next(h, st, e);
    }
    sq_reset(st);
    if (rc == NY_EEXIST)
        ny_err_set(e, rc, "connector key '%s' belongs to another connector", c->key);
    return rc;
}

/* Calls fn for each row of st (bound by the caller); *rows counts them. */
static int connectors_run(struct sq *h, sqlite3_stmt *st,
                          int (*fn)(void *ctx, const store_connector *c), void *ctx, int *rows,
                          ny_err *e)
{
    int rc;
    *rows = 0;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_connector c = connector_of(st);
        ++*rows;
        if ((rc = fn(ctx, &c)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

/* One connector by the column named in sql's WHERE clause. */
static int connector_by(struct sq *h, enum sq_stmt_id id, const char *sql, const char *value,
                        const char *what, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                        ny_err *e)
{
    sqlite3_stmt *st;
    int rows;
    ny_err_clear(e);
    int rc = sq_stmt(h, id, sql, &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, value);
    rc = connectors_run(h, st, fn, ctx, &rows, e);
    if (rc == NY_OK && rows == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "no connector with %s '%s'", what, value);
    return rc;
}

int sq_connector_find(void *impl, const char *name, int (*fn)(void *ctx, const store_connector *c),
                      void *ctx, ny_err *e)
{
    return connector_by(impl, SQ_CONN_FIND, CONN_SELECT " WHERE name=?1", name, "name", fn, ctx, e);
}

int sq_connector_find_by_key(void *impl, const char *key,
                             int (*fn)(void *ctx, const store_connector *c), void *ctx, ny_err *e)
{
    return connector_by(impl, SQ_CONN_BY_KEY, CONN_SELECT " WHERE key=?1", key, "key", fn, ctx, e);
}

int sq_connectors_each(void *impl, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                       ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    int rows;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_CONNS, CONN_SELECT " ORDER BY name", &st, e);
    return rc == NY_OK ? connectors_run(h, st, fn, ctx, &rows, e) : rc;
}
