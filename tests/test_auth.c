/* test_auth.c - tests of the account layer (auth.h) on either engine.
 *
 * Password policy and its bilingual reasons, argon2id hashes at the costs
 * asked for (tests use libsodium's minimum costs), logins that answer alike
 * for unknown accounts, accounts without a password and wrong passwords, the
 * lockout with its doubling back-off and reset, disabled accounts, session
 * tokens (shape, stored only as SHA-256, expiry, logout, revocation on a
 * password change or disabling, last_seen bookkeeping), rehashing at new
 * costs, and connector credentials. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "testutil.h"

#define PASSWORD "yangshan2026"
#define T0 1767225600LL /* 2026-01-01 00:00 UTC */

/* Cheapest argon2id costs, default lifetime and lockout. */
static const auth_params cheap = {
    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, 0, {0, 0, 0}};

static const store_unit units[] = {
    {0, "411571000000", "羊山新区", "district", NULL},
    {0, "411571001000", "前进街道", "street", "411571000000"},
    {0, "411571001001", "新都社区", "community", "411571001000"},
    {0, "411571001001001", "新都社区第一网格", "grid", "411571001001"},
};
static const store_staff staff[] = {
    {0, "admin", "管理员", "13900000000", "admin", "411571000000", ""},
    {0, "dept-zhujian", "李强", "13900003333", "department", "411571000000", "区住建局"},
    {0, "gw411571001001001", "王芳", "13900002222", "grid_worker", "411571001001001", ""},
};

/* A fresh database with the staff above; admin and the grid worker have
 * PASSWORD, dept-zhujian has none. */
static store *fresh(const char *tag)
{
    ny_err e;
    store *s = tu_open_fresh(tag);
    MUST(store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, &e));
    MUST(store_staff_put_batch(s, staff, sizeof staff / sizeof staff[0], NULL, &e));
    MUST(auth_set_password(s, &cheap, "admin", PASSWORD, T0, &e));
    MUST(auth_set_password(s, &cheap, "gw411571001001001", PASSWORD, T0, &e));
    return s;
}

/* The credentials of account, copied. */
struct cred {
    char hash[AUTH_HASH_MAX];
    int disabled, failures;
    int64_t locked_until, changed_at;
};

static int on_cred(void *ctx, const store_staff *p, const store_credential *c)
{
    struct cred *k = ctx;
    (void)p;
    snprintf(k->hash, sizeof k->hash, "%s", c->password_hash ? c->password_hash : "");
    k->disabled = c->disabled;
    k->failures = c->failures;
    k->locked_until = c->locked_until;
    k->changed_at = c->password_changed_at;
    return NY_OK;
}

static struct cred cred_of(store *s, const char *account)
{
    ny_err e;
    struct cred k;
    MUST(store_credential_get(s, account, on_cred, &k, &e));
    return k;
}

static void test_policy(void **state)
{
    (void)state;
    ny_err e;
    const struct {
        const char *password, *reason;
    } weak[] = {
        {"", "至少需要 8 个字符"},
        {"abc1234", "at least 8 characters"},
        {"12345678", "全是数字"},
        {"1234567890123", "only digits"},
        {"Gw411571001001001", "不能与账号相同"},
        {"tab\there1", "control characters"},
        {"bad\xff\xfeutf8", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
        assert_int_equal(auth_password_check("gw411571001001001", weak[i].password, &e), NY_EINVAL);
        assert_non_null(strstr(e.msg, weak[i].reason));
        assert_non_null(strstr(e.msg, " / ")); /* Chinese / English */
    }
    char longest[AUTH_PASSWORD_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(auth_password_check("x", longest, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "at most 128"));
    longest[AUTH_PASSWORD_MAX] = '\0';
    MUST(auth_password_check("x", longest, &e));
    MUST(auth_password_check("admin", PASSWORD, &e));
    MUST(auth_password_check("admin", "羊山新区欢迎你们", &e)); /* 8 characters, 24 bytes */
    assert_int_equal(auth_password_check("admin", "羊山新区欢迎你", &e), NY_EINVAL);
    MUST(auth_password_check(NULL, "correct horse", &e));
}

static void test_hash(void **state)
{
    (void)state;
    ny_err e;
    char a[AUTH_HASH_MAX], b[AUTH_HASH_MAX];
    MUST(auth_password_hash(&cheap, PASSWORD, a, &e));
    MUST(auth_password_hash(&cheap, PASSWORD, b, &e));
    assert_int_equal(strncmp(a, "$argon2id$", 10), 0);
    assert_non_null(strstr(a, "m=8,t=1,")); /* the costs asked for */
    assert_string_not_equal(a, b);          /* random salts */
    assert_int_equal(crypto_pwhash_str_verify(a, PASSWORD, strlen(PASSWORD)), 0);
    auth_params below = {1, 1024, 0, {0, 0, 0}};
    assert_int_equal(auth_password_hash(&below, PASSWORD, a, &e), NY_EINVAL);
}

static void test_login(void **state)
{
    (void)state;
    ny_err e;
    store *s = fresh("login");
    char token[AUTH_TOKEN_LEN + 1];
    auth_identity who;
    MUST(auth_login(s, &cheap, "gw411571001001001", PASSWORD, T0 + 10, token, &who, &e));
    assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
    assert_int_equal(
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        AUTH_TOKEN_LEN);
    assert_string_equal(who.account, "gw411571001001001");
    assert_string_equal(who.role, "grid_worker");
    assert_string_equal(who.unit_code, "411571001001001");
    assert_string_equal(who.name, "王芳");
    assert_int_equal(who.expires_at, T0 + 10 + AUTH_SESSION_SECONDS);
    assert_true(who.staff_id > 0);

    /* unknown account, no password, wrong password: one answer */
    const char *acc[] = {"nobody", "dept-zhujian", "admin", "", NULL};
    const char *pw[] = {PASSWORD, PASSWORD, "wrong-password", PASSWORD, PASSWORD};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(auth_login(s, &cheap, acc[i], pw[i], T0, token, &who, &e), NY_EINVAL);
        assert_string_equal(e.msg, "账号或密码错误 / wrong account or password");
        assert_string_equal(token, "");
    }
    assert_int_equal(cred_of(s, "admin").failures, 1);
    assert_int_equal(cred_of(s, "dept-zhujian").failures, 0);

    /* success resets the count */
    MUST(auth_login(s, &cheap, "admin", PASSWORD, T0 + 20, token, NULL, &e));
    assert_int_equal(cred_of(s, "admin").failures, 0);

    /* names and departments as long as import allows (50 characters) */
    char long_name[160] = "", long_dept[160] = "";
    for (int i = 0; i < 50; i++) {
        strcat(long_name, "羊");
        strcat(long_dept, "局");
    }
    store_staff p = {0, "long-name", long_name, "", "department", "411571000000", long_dept};
    MUST(store_staff_put_batch(s, &p, 1, NULL, &e));
    MUST(auth_set_password(s, &cheap, "long-name", PASSWORD, T0, &e));
    MUST(auth_login(s, &cheap, "long-name", PASSWORD, T0, token, &who, &e));
    assert_string_equal(who.name, long_name);
    assert_string_equal(who.department, long_dept);
    store_close(s);
}

/* CPU time of the calling thread, in seconds: the work a login did,
 * which other processes on a loaded machine do not stretch as they do the
 * wall clock (argon2id runs on the calling thread). */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* An unknown account or one without a password costs the same argon2id work
 * as a wrong password: without it the answer would come in well under a
 * millisecond instead of tens. The three kinds of failure are measured in
 * turn, nine rounds, as thread CPU time, and their medians compared: a
 * slower moment of the machine falls on all three alike and on few
 * rounds, and the margin (a quarter) is far from both the 1:1 expected and
 * the 1:100 without the dummy hash. */
static void test_login_timing(void **state)
{
    (void)state;
    ny_err e;
    store *s = fresh("login_timing");
    /* ~30 ms a hash; no lock within the rounds' failures */
    const auth_params dear = {2, 32u << 20, 0, {1000, 1, 1}};
    MUST(auth_set_password(s, &dear, "admin", PASSWORD, T0, &e));
    static const char *const accounts[] = {"admin", "nobody", "dept-zhujian"};
    enum { ROUNDS = 9 };
    double t[3][ROUNDS];
    char token[AUTH_TOKEN_LEN + 1];
    for (int i = 0; i < ROUNDS; i++)
        for (int k = 0; k < 3; k++) {
            int a = (i + k) % 3; /* each kind first in a third of the rounds */
            double t0 = cpu_seconds();
            assert_int_equal(
                auth_login(s, &dear, accounts[a], "wrong-password", T0, token, NULL, &e),
                NY_EINVAL);
            t[a][i] = cpu_seconds() - t0;
        }
    for (int a = 0; a < 3; a++)
        qsort(t[a], ROUNDS, sizeof t[a][0], cmp_double);
    double known = t[0][ROUNDS / 2], unknown = t[1][ROUNDS / 2], nopass = t[2][ROUNDS / 2];
    assert_true(known > 0.005);
    assert_true(unknown > known / 4);
    assert_true(nopass > known / 4);
    store_close(s);
}

static void test_lockout(void **state)
{
    (void)state;
    ny_err e;
    store *s = fresh("lockout");
    char token[AUTH_TOKEN_LEN + 1];
    int64_t t = T0;
    for (int i = 0; i < AUTH_LOCK_THRESHOLD; i++)
        assert_int_equal(auth_login(s, &cheap, "admin", "nope-nope", t, token, NULL, &e),
                         NY_EINVAL);
    assert_int_equal(cred_of(s, "admin").locked_until, t + AUTH_LOCK_BASE);
    /* locked: even the right password is refused, unchecked and uncounted */
    assert_int_equal(auth_login(s, &cheap, "admin", PASSWORD, t + 30, token, NULL, &e),
                     NY_EUNAVAIL);
    assert_non_null(strstr(e.msg, "try again in 30 s"));
    assert_non_null(strstr(e.msg, "请 30 秒后再试"));
    assert_int_equal(cred_of(s, "admin").failures, AUTH_LOCK_THRESHOLD);
    /* after the lock, each further failure locks twice as long, up to the max */
    t += AUTH_LOCK_BASE;
    int64_t want = 2 * AUTH_LOCK_BASE;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(auth_login(s, &cheap, "admin", "nope-nope", t, token, NULL, &e),
                         NY_EINVAL);
        assert_int_equal(cred_of(s, "admin").locked_until, t + want);
        t += want;
        want = want * 2 > AUTH_LOCK_MAX ? AUTH_LOCK_MAX : want * 2;
    }
    assert_int_equal(want, AUTH_LOCK_MAX);
    /* the other account is untouched; success resets everything */
    MUST(auth_login(s, &cheap, "gw411571001001001", PASSWORD, t, token, NULL, &e));
    MUST(auth_login(s, &cheap, "admin", PASSWORD, t, token, NULL, &e));
    struct cred k = cred_of(s, "admin");
    assert_int_equal(k.failures, 0);
    assert_int_equal(k.locked_until, 0);
    for (int i = 0; i < AUTH_LOCK_THRESHOLD - 1; i++)
        assert_int_equal(auth_login(s, &cheap, "admin", "nope-nope", t, token, NULL, &e),
                         NY_EINVAL);
    assert_int_equal(cred_of(s, "admin").locked_until, 0);

    /* a lockout of one's own */
    auth_params strict = cheap;
    strict.lockout = (store_lockout){2, 5, 7};
    MUST(auth_login(s, &strict, "admin", PASSWORD, t, token, NULL, &e));
    for (int i = 0; i < 2; i++)
        assert_int_equal(auth_login(s, &strict, "admin", "nope-nope", t, token, NULL, &e),
                         NY_EINVAL);
    assert_int_equal(cred_of(s, "admin").locked_until, t + 5);
    assert_int_equal(auth_login(s, &strict, "admin", "nope-nope", t + 4, token, NULL, &e),
                     NY_EUNAVAIL);
    assert_int_equal(auth_login(s, &strict, "admin", "nope-nope", t + 5, token, NULL, &e),
                     NY_EINVAL);
    assert_int_equal(cred_of(s, "admin").locked_until, t + 5 + 7); /* 10 capped at 7 */
    store_close(s);
}

static void test_disabled(void **state)
{
    (void)state;
    ny_err e;
    store *s = fresh("disabled");
    char token[AUTH_TOKEN_LEN + 1];
    auth_identity who;
    MUST(auth_login(s, &cheap, "admin", PASSWORD, T0, token, NULL, &e));
    MUST(auth_set_disabled(s, "admin", 1, T0 + 5, &e));
    assert_int_equal(auth_session_check(s, token, T0 + 6, &who, &e), NY_ENOTFOUND);
    assert_int_equal(auth_login(s, &cheap, "admin", PASSWORD, T0 + 7, token, NULL, &e),
                     NY_ECONFLICT);
    assert_non_null(strstr(e.msg, "disabled"));
    assert_int_equal(auth_login(s, &cheap, "admin", "wrong-password", T0 + 8, token, NULL, &e),
                     NY_EINVAL);
    assert_int_equal(cred_of(s, "admin").failures, 1);
    MUST(auth_set_disabled(s, "admin", 0, T0 + 9, &e));
    assert_int_equal(cred_of(s, "admin").failures, 0);
    MUST(auth_login(s, &cheap, "admin", PASSWORD, T0 + 10, token, NULL, &e));
    MUST(auth_session_check(s, token, T0 + 11, &who, &e));
    assert_int_equal(auth_set_disabled(s, "nobody", 1, T0, &e), NY_ENOTFOUND);
    store_close(s);
}

/* The stored form of a token, computed independently of auth.c. */
static void sha256_hex(const char *token, char hex[65])
{
    unsigned char d[32];
    crypto_hash_sha256(d, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(hex, 65, d, sizeof d);
}

static int on_session(void *ctx, const store_session *x, const store_staff *p)
{
    (void)p;
    *(int64_t *)ctx = x->last_seen;
    return NY_OK;
}

static void test_sessions(void **state)
{
    (void)state;
    ny_err e;
    store *s = fresh("auth_sessions");
    char token[AUTH_TOKEN_LEN + 1], other[AUTH_TOKEN_LEN + 1], hex[65];
    auth_identity who;
    MUST(auth_login(s, &cheap, "gw411571001001001", PASSWORD, T0, token, NULL, &e));
    MUST(auth_login(s, &cheap, "gw411571001001001", PASSWORD, T0, other, NULL, &e));
    assert_string_not_equal(token, other);

    /* stored as SHA-256 only; last_seen written at most once a minute */
    int64_t seen = 0;
    sha256_hex(token, hex);
    MUST(store_session_find(s, hex, T0, on_session, &seen, &e));
    assert_int_equal(seen, T0);
    MUST(auth_session_check(s, token, T0 + AUTH_TOUCH_SECONDS - 1, &who, &e));
    MUST(store_session_find(s, hex, T0, on_session, &seen, &e));
    assert_int_equal(seen, T0);
    MUST(auth_session_check(s, token, T0 + 100, &who, &e));
    MUST(store_session_find(s, hex, T0, on_session, &seen, &e));
    assert_int_equal(seen, T0 + 100);
    assert_string_equal(who.account, "gw411571001001001");
    assert_string_equal(who.unit_code, "411571001001001");
    assert_int_equal(who.expires_at, T0 + AUTH_SESSION_SECONDS);

    /* expiry */
    MUST(auth_session_check(s, token, T0 + AUTH_SESSION_SECONDS - 1, &who, &e));
    assert_int_equal(auth_session_check(s, token, T0 + AUTH_SESSION_SECONDS, &who, &e),
                     NY_ENOTFOUND);
    assert_string_equal(e.msg, "会话无效或已过期 / session invalid or expired");

    /* malformed or forged tokens */
    const char *bad[] = {NULL, "", "short", hex, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(auth_session_check(s, bad[i], T0, &who, &e), NY_ENOTFOUND);
        assert_int_equal(auth_logout(s, bad[i], T0, &e), NY_ENOTFOUND);
    }
    char forged[AUTH_TOKEN_LEN + 1];
    memcpy(forged, token, sizeof forged);
    forged[0] = forged[0] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_session_check(s, forged, T0 + 1, &who, &e), NY_ENOTFOUND);

    /* logout ends one session, a password change all of them */
    MUST(auth_logout(s, token, T0 + 200, &e));
    assert_int_equal(auth_session_check(s, token, T0 + 201, &who, &e), NY_ENOTFOUND);
    assert_int_equal(auth_logout(s, token, T0 + 202, &e), NY_ENOTFOUND);
    MUST(auth_session_check(s, other, T0 + 203, &who, &e));
    MUST(auth_set_password(s, &cheap, "gw411571001001001", "new password 1", T0 + 300, &e));
    assert_int_equal(auth_session_check(s, other, T0 + 301, &who, &e), NY_ENOTFOUND);
    assert_int_equal(
        auth_login(s, &cheap, "gw411571001001001", PASSWORD, T0 + 302, token, NULL, &e), NY_EINVAL);
    MUST(auth_login(s, &cheap, "gw411571001001001", "new password 1", T0 + 303, token, NULL, &e));
    assert_int_equal(cred_of(s, "gw411571001001001").changed_at, T0 + 300);

    /* a session of its own length */
    auth_params shortlived = cheap;
    shortlived.session_seconds = 60;
    MUST(auth_login(s, &shortlived, "admin", PASSWORD, T0, token, &who, &e));
    assert_int_equal(who.expires_at, T0 + 60);
    assert_int_equal(auth_session_check(s, token, T0 + 60, &who, &e), NY_ENOTFOUND);
    store_close(s);
}

static void test_set_password(void **state)
{
    (void)state;
    ny_err e;
    store *s = fresh("set_password");
    assert_int_equal(auth_set_password(s, &cheap, "nobody", PASSWORD, T0, &e), NY_ENOTFOUND);
    assert_int_equal(auth_set_password(s, &cheap, "admin", "12345678", T0, &e), NY_EINVAL);
    assert_int_equal(auth_set_password(s, &cheap, "admin", "1234567890", T0, &e), NY_EINVAL);
    /* a disabled account keeps its flag across a password change */
    MUST(auth_set_disabled(s, "admin", 1, T0, &e));
    MUST(auth_set_password(s, &cheap, "admin", "another pass", T0 + 1, &e));
    struct cred k = cred_of(s, "admin");
    assert_int_equal(k.disabled, 1);
    assert_int_equal(k.changed_at, T0 + 1);

    /* a hash at other costs is brought to the current ones at the next login */
    MUST(auth_set_password(s, &cheap, "dept-zhujian", PASSWORD, T0, &e));
    auth_params dearer = cheap;
    dearer.opslimit = crypto_pwhash_OPSLIMIT_MIN + 1;
    char token[AUTH_TOKEN_LEN + 1];
    MUST(auth_login(s, &dearer, "dept-zhujian", PASSWORD, T0 + 5, token, NULL, &e));
    k = cred_of(s, "dept-zhujian");
    assert_non_null(strstr(k.hash, ",t=2,"));
    assert_int_equal(k.changed_at, T0); /* not a password change */
    MUST(auth_session_check(s, token, T0 + 6, &(auth_identity){0}, &e));
    MUST(auth_login(s, &dearer, "dept-zhujian", PASSWORD, T0 + 7, token, NULL, &e));
    store_close(s);
}

static void test_connector_credentials(void **state)
{
    (void)state;
    ny_err e;
    char k1[AUTH_KEY_LEN + 1], s1[AUTH_SECRET_LEN + 1], k2[AUTH_KEY_LEN + 1],
        s2[AUTH_SECRET_LEN + 1];
    MUST(auth_connector_credentials(k1, s1, &e));
    MUST(auth_connector_credentials(k2, s2, &e));
    assert_int_equal(strlen(k1), AUTH_KEY_LEN);
    assert_int_equal(strlen(s1), AUTH_SECRET_LEN);
    assert_int_equal(strspn(k1, "0123456789abcdef"), AUTH_KEY_LEN);
    assert_int_equal(strspn(s1, "0123456789abcdef"), AUTH_SECRET_LEN);
    assert_string_not_equal(k1, k2);
    assert_string_not_equal(s1, s2);
    store *s = tu_open_fresh("conn_creds");
    store_connector c = {0, "relay", "webhook", k1, s1, NULL, NULL, NULL, 0, T0};
    MUST(store_connector_put(s, &c, NULL, &e)); /* the store takes them as they are */
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_login_timing),
        cmocka_unit_test(test_lockout),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_set_password),
        cmocka_unit_test(test_connector_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
