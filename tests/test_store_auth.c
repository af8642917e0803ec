/* test_store_auth.c - tests of the account and connector calls of store.h.
 *
 * On either engine, like test_store.c: the upgrade of a version-3 database
 * to the credentials, sessions and connectors of migration 4 (staff kept),
 * staff lookup, credentials with their defaults, the atomic failed-login
 * counter and its doubling lock, sessions (live, expired, revoked, of a
 * disabled account, touched), connectors (upsert by name, unique keys, field
 * checks), argument refusals, and calls inside a caller's transaction. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static const store_unit units[] = {
    {0, "411571000000", "羊山新区", "district", NULL},
    {0, "411571001000", "前进街道", "street", "411571000000"},
    {0, "411571001001", "新都社区", "community", "411571001000"},
    {0, "411571001001001", "新都社区第一网格", "grid", "411571001001"},
};
static const store_staff staff[] = {
    {0, "admin", "管理员", "13900000000", "admin", "411571000000", ""},
    {0, "comm411571001001", "张敏", "13900001111", "community", "411571001001", ""},
    {0, "gw411571001001001", "王芳", "13900002222", "grid_worker", "411571001001001", ""},
};
enum { NSTAFF = sizeof staff / sizeof staff[0] };

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define AES_KEY "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

static void seed(store *s)
{
    ny_err e;
    MUST(store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, &e));
    MUST(store_staff_put_batch(s, staff, NSTAFF, NULL, &e));
}

/* A staff row and credentials copied out of a callback. */
struct got {
    int calls;
    char account[32], role[16], unit[32], hash[80];
    int has_hash, disabled, failures;
    int64_t locked_until, changed_at, staff_id;
    int64_t session_id, expires_at, last_seen;
};

static void keep_staff(struct got *g, const store_staff *p)
{
    g->calls++;
    g->staff_id = p->id;
    snprintf(g->account, sizeof g->account, "%s", p->account);
    snprintf(g->role, sizeof g->role, "%s", p->role);
    snprintf(g->unit, sizeof g->unit, "%s", p->unit_code);
}

static int on_staff(void *ctx, const store_staff *p)
{
    keep_staff(ctx, p);
    return NY_OK;
}

static int on_cred(void *ctx, const store_staff *p, const store_credential *c)
{
    struct got *g = ctx;
    keep_staff(g, p);
    g->has_hash = c->password_hash != NULL;
    snprintf(g->hash, sizeof g->hash, "%s", c->password_hash ? c->password_hash : "");
    g->disabled = c->disabled;
    g->failures = c->failures;
    g->locked_until = c->locked_until;
    g->changed_at = c->password_changed_at;
    return NY_OK;
}

static int on_session(void *ctx, const store_session *x, const store_staff *p)
{
    struct got *g = ctx;
    keep_staff(g, p);
    assert_string_equal(x->account, p->account);
    g->session_id = x->id;
    g->expires_at = x->expires_at;
    g->last_seen = x->last_seen;
    return NY_OK;
}

static struct got cred_of(store *s, const char *account)
{
    ny_err e;
    struct got g = {0};
    MUST(store_credential_get(s, account, on_cred, &g, &e));
    assert_int_equal(g.calls, 1);
    return g;
}

/* ---- migration ----------------------------------------------------------- */

static void test_upgrade_from_3(void **state)
{
    (void)state;
    ny_err e;
    char uri[1024];
    store *s = NULL;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("auth_upgrade"));
    store_open_opts old = {.target_version = 3};
    MUST(store_open(uri, &old, &s, &e));
    seed(s);
    store_close(s);

    MUST(store_open(uri, NULL, &s, &e));
    int v = 0;
    MUST(store_schema_version(s, &v, &e));
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    struct got g = cred_of(s, "gw411571001001001");
    assert_string_equal(g.role, "grid_worker");
    assert_string_equal(g.unit, "411571001001001");
    assert_int_equal(g.has_hash, 0);
    assert_int_equal(g.disabled + g.failures, 0);
    store_credential c = {"$argon2id$v=19$m=8,t=1,p=1$x$y", 0, 0, 0, 100};
    MUST(store_credential_put(s, "gw411571001001001", &c, &e));
    store_stats st;
    MUST(store_stats_get(s, &st, &e));
    assert_int_equal(st.staff, NSTAFF);
    store_close(s);
}

/* ---- staff and credentials ----------------------------------------------- */

static void test_staff_find(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("staff_find");
    seed(s);
    struct got g = {0};
    MUST(store_staff_find(s, "comm411571001001", on_staff, &g, &e));
    assert_int_equal(g.calls, 1);
    assert_string_equal(g.role, "community");
    assert_string_equal(g.unit, "411571001001");
    assert_true(g.staff_id > 0);
    assert_int_equal(store_staff_find(s, "nobody", on_staff, &g, &e), NY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "nobody"));
    assert_int_equal(store_staff_find(s, "", on_staff, &g, &e), NY_EINVAL);
    assert_int_equal(store_staff_find(s, NULL, on_staff, &g, &e), NY_EINVAL);
    assert_int_equal(g.calls, 1);
    store_close(s);
}

/* Collects the accounts of store_credentials_each. */
struct list {
    int n, with_hash;
    char account[8][32];
};

static int on_each(void *ctx, const store_staff *p, const store_credential *c)
{
    struct list *l = ctx;
    if (l->n < 8)
        snprintf(l->account[l->n], sizeof l->account[0], "%s", p->account);
    l->n++;
    l->with_hash += c->password_hash != NULL;
    return NY_OK;
}

static void test_credentials(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("creds");
    seed(s);
    struct got g = cred_of(s, "admin");
    assert_int_equal(g.has_hash, 0);
    assert_int_equal(g.locked_until + g.changed_at, 0);

    store_credential c = {"$argon2id$first", 1, 3, 500, 400};
    MUST(store_credential_put(s, "admin", &c, &e));
    g = cred_of(s, "admin");
    assert_string_equal(g.hash, "$argon2id$first");
    assert_int_equal(g.disabled, 1);
    assert_int_equal(g.failures, 3);
    assert_int_equal(g.locked_until, 500);
    assert_int_equal(g.changed_at, 400);
    store_credential c2 = {NULL, 0, 0, 0, 0}; /* every field replaced */
    MUST(store_credential_put(s, "admin", &c2, &e));
    g = cred_of(s, "admin");
    assert_int_equal(g.has_hash, 0);
    assert_int_equal(g.disabled + g.failures, 0);
    assert_int_equal(g.changed_at, 0);

    store_credential c3 = {"$argon2id$gw", 0, 0, 0, 10};
    MUST(store_credential_put(s, "gw411571001001001", &c3, &e));
    struct list l = {0};
    MUST(store_credentials_each(s, on_each, &l, &e));
    assert_int_equal(l.n, NSTAFF);
    assert_int_equal(l.with_hash, 1);
    assert_string_equal(l.account[0], "admin");
    assert_string_equal(l.account[1], "comm411571001001");
    assert_string_equal(l.account[2], "gw411571001001001");

    assert_int_equal(store_credential_put(s, "nobody", &c3, &e), NY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "unknown account 'nobody'"));
    store_credential bad = {NULL, 2, 0, 0, 0};
    assert_int_equal(store_credential_put(s, "admin", &bad, &e), NY_EINVAL);
    bad = (store_credential){NULL, 0, -1, 0, 0};
    assert_int_equal(store_credential_put(s, "admin", &bad, &e), NY_EINVAL);
    assert_int_equal(store_credential_get(s, "nobody", on_cred, &g, &e), NY_ENOTFOUND);
    store_close(s);
}

static void test_login_counter(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("login_counter");
    seed(s);
    store_credential c = {"$argon2id$h", 0, 0, 0, 1};
    MUST(store_credential_put(s, "admin", &c, &e));
    const store_lockout lock = {3, 10, 35};
    int n = -1;
    int64_t until = -1;
    const int64_t want[] = {0, 0, 1010, 1020, 1035, 1035};
    for (int i = 0; i < 6; i++) {
        MUST(store_login_failed(s, "admin", 1000, &lock, &n, &until, &e));
        assert_int_equal(n, i + 1);
        assert_int_equal(until, want[i]);
    }
    struct got g = cred_of(s, "admin");
    assert_int_equal(g.failures, 6);
    assert_int_equal(g.locked_until, 1035);
    assert_string_equal(g.hash, "$argon2id$h"); /* the hash is left alone */
    MUST(store_login_succeeded(s, "admin", &e));
    g = cred_of(s, "admin");
    assert_int_equal(g.failures, 0);
    assert_int_equal(g.locked_until, 0);
    assert_string_equal(g.hash, "$argon2id$h");

    /* without stored credentials: the first failure creates them */
    const store_lockout at_once = {1, 60, 3600};
    MUST(store_login_failed(s, "comm411571001001", 50, &at_once, &n, &until, &e));
    assert_int_equal(n, 1);
    assert_int_equal(until, 110);
    MUST(store_login_failed(s, "comm411571001001", 200, &at_once, NULL, NULL, &e));
    g = cred_of(s, "comm411571001001");
    assert_int_equal(g.failures, 2);
    assert_int_equal(g.locked_until, 320);
    assert_int_equal(g.has_hash, 0);
    MUST(store_login_succeeded(s, "gw411571001001001", &e)); /* nothing stored: fine */

    assert_int_equal(store_login_failed(s, "nobody", 1, &lock, &n, &until, &e), NY_ENOTFOUND);
    assert_int_equal(store_login_succeeded(s, "nobody", &e), NY_ENOTFOUND);
    const store_lockout bad[] = {{0, 10, 20}, {3, 0, 20}, {3, 30, 20}, {3, 10, 40 * 86400}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(store_login_failed(s, "admin", 1, &bad[i], &n, &until, &e), NY_EINVAL);
    store_close(s);
}

/* ---- sessions ------------------------------------------------------------ */

static void test_sessions(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("sessions");
    seed(s);
    int64_t id = 0;
    store_session x = {0, HASH_A, "gw411571001001001", 1000, 2000, 0};
    MUST(store_session_put(s, &x, &id, &e));
    assert_true(id > 0);
    struct got g = {0};
    MUST(store_session_find(s, HASH_A, 1500, on_session, &g, &e));
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.session_id, id);
    assert_string_equal(g.account, "gw411571001001001");
    assert_string_equal(g.role, "grid_worker");
    assert_string_equal(g.unit, "411571001001001");
    assert_int_equal(g.expires_at, 2000);
    assert_int_equal(g.last_seen, 1000);
    assert_int_equal(store_session_find(s, HASH_A, 2000, on_session, &g, &e), NY_ENOTFOUND);
    assert_int_equal(store_session_find(s, HASH_B, 1500, on_session, &g, &e), NY_ENOTFOUND);

    MUST(store_session_touch(s, HASH_A, 1600, &e));
    MUST(store_session_touch(s, HASH_A, 1200, &e)); /* never back */
    MUST(store_session_find(s, HASH_A, 1700, on_session, &g, &e));
    assert_int_equal(g.last_seen, 1600);

    assert_int_equal(store_session_put(s, &x, NULL, &e), NY_EEXIST);
    store_session y = {0, HASH_B, "nobody", 1000, 2000, 0};
    assert_int_equal(store_session_put(s, &y, NULL, &e), NY_ENOTFOUND);
    y = (store_session){0, HASH_B, "admin", 1000, 1000, 0};
    assert_int_equal(store_session_put(s, &y, NULL, &e), NY_EINVAL);
    const char *bad[] = {NULL, "", "abc", HASH_A "0",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                         "AAAAAAAAAAAAAAAAAA"};
    for (int i = 0; i < 5; i++) {
        y.token_hash = bad[i];
        y.expires_at = 2000;
        assert_int_equal(store_session_put(s, &y, NULL, &e), NY_EINVAL);
        assert_int_equal(store_session_find(s, bad[i], 1500, on_session, &g, &e), NY_EINVAL);
        assert_int_equal(store_session_revoke(s, bad[i], 1500, &e), NY_EINVAL);
    }

    /* logout; a revoked session is gone for good */
    MUST(store_session_revoke(s, HASH_A, 1800, &e));
    assert_int_equal(store_session_find(s, HASH_A, 1801, on_session, &g, &e), NY_ENOTFOUND);
    assert_int_equal(store_session_revoke(s, HASH_A, 1802, &e), NY_ENOTFOUND);
    assert_int_equal(store_session_touch(s, HASH_A, 1802, &e), NY_ENOTFOUND);

    /* a disabled account's sessions do not count; revoking all of them */
    y = (store_session){0, HASH_B, "admin", 1000, 5000, 0};
    MUST(store_session_put(s, &y, NULL, &e));
    store_credential off = {NULL, 1, 0, 0, 0}, on = {NULL, 0, 0, 0, 0};
    MUST(store_credential_put(s, "admin", &off, &e));
    assert_int_equal(store_session_find(s, HASH_B, 1500, on_session, &g, &e), NY_ENOTFOUND);
    MUST(store_credential_put(s, "admin", &on, &e));
    MUST(store_session_find(s, HASH_B, 1500, on_session, &g, &e));
    assert_string_equal(g.role, "admin");
    long count = -1;
    MUST(store_sessions_revoke_staff(s, "admin", 1600, &count, &e));
    assert_int_equal(count, 1);
    assert_int_equal(store_session_find(s, HASH_B, 1601, on_session, &g, &e), NY_ENOTFOUND);
    MUST(store_sessions_revoke_staff(s, "admin", 1700, &count, &e));
    assert_int_equal(count, 0);
    MUST(store_sessions_revoke_staff(s, "comm411571001001", 1700, NULL, &e));
    assert_int_equal(store_sessions_revoke_staff(s, "nobody", 1700, &count, &e), NY_ENOTFOUND);
    store_close(s);
}

/* ---- connectors ---------------------------------------------------------- */

struct conns {
    int n, disabled;
    int64_t id, created_at;
    char name[8][32], key[64], secret[80], kind[16], token[32], aes[48], receive[32];
};

static int on_conn(void *ctx, const store_connector *c)
{
    struct conns *l = ctx;
    if (l->n < 8)
        snprintf(l->name[l->n], sizeof l->name[0], "%s", c->name);
    l->n++;
    l->id = c->id;
    l->disabled = c->disabled;
    l->created_at = c->created_at;
    snprintf(l->key, sizeof l->key, "%s", c->key);
    snprintf(l->secret, sizeof l->secret, "%s", c->secret);
    snprintf(l->kind, sizeof l->kind, "%s", c->kind);
    snprintf(l->token, sizeof l->token, "%s", c->wecom_token);
    snprintf(l->aes, sizeof l->aes, "%s", c->wecom_aes_key);
    snprintf(l->receive, sizeof l->receive, "%s", c->wecom_receive_id);
    return NY_OK;
}

static void test_connectors(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("connectors");
    store_connector hook = {0, "relay-1", "webhook", "k1", "s1", NULL, NULL, NULL, 0, 100};
    store_connector wecom = {0, "wecom.main", "wecom", "k2", "s2", "tok", AES_KEY, "", 0, 200};
    int64_t id1 = 0, id2 = 0, again = 0;
    MUST(store_connector_put(s, &hook, &id1, &e));
    MUST(store_connector_put(s, &wecom, &id2, &e));
    assert_true(id1 > 0 && id2 > 0 && id1 != id2);

    struct conns l = {0};
    MUST(store_connector_find_by_key(s, "k2", on_conn, &l, &e));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.name[0], "wecom.main");
    assert_string_equal(l.kind, "wecom");
    assert_string_equal(l.token, "tok");
    assert_string_equal(l.aes, AES_KEY);
    assert_string_equal(l.receive, "");
    assert_int_equal(l.id, id2);
    memset(&l, 0, sizeof l);
    MUST(store_connector_find(s, "relay-1", on_conn, &l, &e));
    assert_string_equal(l.key, "k1");
    assert_string_equal(l.secret, "s1");
    assert_string_equal(l.token, "");
    assert_int_equal(store_connector_find(s, "none", on_conn, &l, &e), NY_ENOTFOUND);
    assert_int_equal(store_connector_find_by_key(s, "none", on_conn, &l, &e), NY_ENOTFOUND);

    /* same name: replaced in place, id and created_at kept */
    store_connector rotated = {0, "relay-1", "webhook", "k3", "s3", "", "", "", 1, 999};
    MUST(store_connector_put(s, &rotated, &again, &e));
    assert_int_equal(again, id1);
    memset(&l, 0, sizeof l);
    MUST(store_connector_find(s, "relay-1", on_conn, &l, &e));
    assert_string_equal(l.key, "k3");
    assert_string_equal(l.secret, "s3");
    assert_int_equal(l.disabled, 1);
    assert_int_equal(l.created_at, 100);
    assert_int_equal(store_connector_find_by_key(s, "k1", on_conn, &l, &e), NY_ENOTFOUND);

    /* another connector's key */
    store_connector thief = {0, "relay-2", "webhook", "k2", "s", NULL, NULL, NULL, 0, 1};
    assert_int_equal(store_connector_put(s, &thief, NULL, &e), NY_EEXIST);
    assert_non_null(strstr(e.msg, "k2"));

    memset(&l, 0, sizeof l);
    MUST(store_connectors_each(s, on_conn, &l, &e));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.name[0], "relay-1");
    assert_string_equal(l.name[1], "wecom.main");

    store_connector bad[] = {
        {0, "", "webhook", "k", "s", NULL, NULL, NULL, 0, 1},
        {0, "a b", "webhook", "k", "s", NULL, NULL, NULL, 0, 1},
        {0, "x", "dingtalk", "k", "s", NULL, NULL, NULL, 0, 1},
        {0, "x", "webhook", "k/1", "s", NULL, NULL, NULL, 0, 1},
        {0, "x", "webhook", "k", "", NULL, NULL, NULL, 0, 1},
        {0, "x", "webhook", "k", "s", "tok", NULL, NULL, 0, 1},
        {0, "x", "wecom", "k", "s", "", AES_KEY, NULL, 0, 1},
        {0, "x", "wecom", "k", "s", "tok", "short", NULL, 0, 1},
        {0, "x", "webhook", "k", "s", NULL, NULL, NULL, 2, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(store_connector_put(s, &bad[i], NULL, &e), NY_EINVAL);
    memset(&l, 0, sizeof l);
    MUST(store_connectors_each(s, on_conn, &l, &e));
    assert_int_equal(l.n, 2);
    store_close(s);
}

/* ---- inside a caller's transaction --------------------------------------- */

static void test_in_transaction(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("auth_tx");
    seed(s);
    MUST(store_begin(s, &e));
    store_credential c = {"$argon2id$tx", 0, 0, 0, 5};
    MUST(store_credential_put(s, "admin", &c, &e));
    store_session x = {0, HASH_A, "admin", 10, 20, 0};
    MUST(store_session_put(s, &x, NULL, &e));
    const store_lockout lock = {5, 60, 3600};
    MUST(store_login_failed(s, "admin", 10, &lock, NULL, NULL, &e));
    assert_string_equal(cred_of(s, "admin").hash, "$argon2id$tx");
    MUST(store_rollback(s, &e));
    assert_int_equal(cred_of(s, "admin").has_hash, 0);
    struct got g = {0};
    assert_int_equal(store_session_find(s, HASH_A, 11, on_session, &g, &e), NY_ENOTFOUND);

    /* a refused write leaves the transaction usable on both engines */
    MUST(store_begin(s, &e));
    MUST(store_credential_put(s, "admin", &c, &e));
    MUST(store_session_put(s, &x, NULL, &e));
    assert_int_equal(store_session_put(s, &x, NULL, &e), NY_EEXIST);
    store_connector k1 = {0, "a", "webhook", "k1", "s", NULL, NULL, NULL, 0, 1};
    store_connector k1b = {0, "b", "webhook", "k1", "s", NULL, NULL, NULL, 0, 1};
    MUST(store_connector_put(s, &k1, NULL, &e));
    assert_int_equal(store_connector_put(s, &k1b, NULL, &e), NY_EEXIST);
    MUST(store_commit(s, &e));
    assert_string_equal(cred_of(s, "admin").hash, "$argon2id$tx");
    MUST(store_session_find(s, HASH_A, 11, on_session, &g, &e));
    MUST(store_connector_find(s, "a", on_conn, &(struct conns){0}, &e));
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_from_3), cmocka_unit_test(test_staff_find),
        cmocka_unit_test(test_credentials),    cmocka_unit_test(test_login_counter),
        cmocka_unit_test(test_sessions),       cmocka_unit_test(test_connectors),
        cmocka_unit_test(test_in_transaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
