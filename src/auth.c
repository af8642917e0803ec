/* auth.c - staff accounts: password policy and hashing, logins with lockout,
 * session tokens, connector credentials (auth.h).
 *
 * The rules of logging in sit here, on top of the domain storage calls of
 * store.h (credentials, failed-login counters, sessions); the HTTP server
 * and the `nuanyang user` command call these functions and never touch
 * hashes or tokens themselves. Hashing is libsodium's argon2id
 * (crypto_pwhash_str*, encoded strings carrying their own salt and costs),
 * randomness is randombytes_buf, and a token's stored form is its SHA-256 in
 * hex. No function keeps state between calls: costs, lifetimes and the
 * lockout come in an auth_params, the time comes from the caller. */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain.h"

#define WRONG_LOGIN "账号或密码错误 / wrong account or password"
#define BAD_SESSION "会话无效或已过期 / session invalid or expired"

_Static_assert(AUTH_HASH_MAX == crypto_pwhash_STRBYTES, "AUTH_HASH_MAX is the encoded size");
_Static_assert(AUTH_TOKEN_LEN + 1 ==
                   sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "a token is 32 bytes in unpadded base64url");

/* auth_params with every default filled in. */
typedef struct costs {
    unsigned long long ops;
    size_t mem;
    int64_t life;
    store_lockout lock;
} costs;

static int costs_of(const auth_params *p, costs *c, ny_err *e)
{
    static const auth_params none = {0, 0, 0, {0, 0, 0}};
    if (!p)
        p = &none;
    c->ops = p->opslimit ? p->opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
    c->mem = p->memlimit ? p->memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
    c->life = p->session_seconds ? p->session_seconds : AUTH_SESSION_SECONDS;
    c->lock.threshold = p->lockout.threshold ? p->lockout.threshold : AUTH_LOCK_THRESHOLD;
    c->lock.base_seconds = p->lockout.base_seconds ? p->lockout.base_seconds : AUTH_LOCK_BASE;
    c->lock.max_seconds = p->lockout.max_seconds ? p->lockout.max_seconds : AUTH_LOCK_MAX;
    if (c->ops < crypto_pwhash_OPSLIMIT_MIN || c->mem < crypto_pwhash_MEMLIMIT_MIN || c->life < 1)
        return ny_err_set(e, NY_EINVAL,
                          "argon2id costs below libsodium's minimum, or a session "
                          "lifetime under one second");
    if (sodium_init() < 0)
        return ny_err_set(e, NY_ERR, "libsodium could not start");
    return NY_OK;
}

/* ---- passwords ----------------------------------------------------------- */

int auth_password_check(const char *account, const char *password, ny_err *e)
{
    ny_err_clear(e);
    size_t len = password ? strlen(password) : 0, chars = 0, digits = 0;
    if (domain_utf8_check(password ? password : "", len, NULL) != NY_OK)
        return ny_err_set(e, NY_EINVAL,
                          "密码不是有效的 UTF-8 文本 / the password is not valid UTF-8");
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)password[i];
        if (ch < 0x20 || ch == 0x7f)
            return ny_err_set(e, NY_EINVAL,
                              "密码不能包含控制字符 / the password may not contain "
                              "control characters");
        chars += (ch & 0xC0) != 0x80;
        digits += ch >= '0' && ch <= '9';
    }
    if (chars < AUTH_PASSWORD_MIN)
        return ny_err_set(e, NY_EINVAL,
                          "密码至少需要 %d 个字符 / the password needs at least %d "
                          "characters",
                          AUTH_PASSWORD_MIN, AUTH_PASSWORD_MIN);
    if (chars > AUTH_PASSWORD_MAX)
        return ny_err_set(e, NY_EINVAL,
                          "密码最多 %d 个字符 / the password may have at most %d "
                          "characters",
                          AUTH_PASSWORD_MAX, AUTH_PASSWORD_MAX);
    if (digits == len)
        return ny_err_set(e, NY_EINVAL, "密码不能全是数字 / the password may not be only digits");
    if (account && strcasecmp(account, password) == 0)
        return ny_err_set(e, NY_EINVAL,
                          "密码不能与账号相同 / the password may not equal the "
                          "account name");
    return NY_OK;
}

/* Hashes at already resolved costs. */
static int hash_at(const costs *c, const char *password, char out[AUTH_HASH_MAX], ny_err *e)
{
    if (crypto_pwhash_str(out, password, strlen(password), c->ops, c->mem) != 0)
        return ny_err_set(e, NY_ERR, "argon2id hashing failed (out of memory?)");
    return NY_OK;
}

int auth_password_hash(const auth_params *p, const char *password, char out[AUTH_HASH_MAX],
                       ny_err *e)
{
    costs c;
    ny_err_clear(e);
    int rc = costs_of(p, &c, e);
    return rc != NY_OK ? rc : hash_at(&c, password ? password : "", out, e);
}

/* ---- reading an account -------------------------------------------------- */

/* One account copied out of a store callback. */
typedef struct account {
    auth_identity who; /* expires_at unused */
    char hash[AUTH_HASH_MAX];
    store_credential cred; /* password_hash points to hash, or NULL */
    int too_long;          /* a field did not fit its buffer */
} account;

/* Copies the identity fields of p into *who; 0 if one does not fit. */
static int identity_of(const store_staff *p, auth_identity *who)
{
    int n[5];
    who->staff_id = p->id;
    n[0] = snprintf(who->account, sizeof who->account, "%s", p->account);
    n[1] = snprintf(who->name, sizeof who->name, "%s", p->name);
    n[2] = snprintf(who->role, sizeof who->role, "%s", p->role);
    n[3] = snprintf(who->unit_code, sizeof who->unit_code, "%s", p->unit_code);
    n[4] = snprintf(who->department, sizeof who->department, "%s", p->department);
    return n[0] < (int)sizeof who->account && n[1] < (int)sizeof who->name &&
           n[2] < (int)sizeof who->role && n[3] < (int)sizeof who->unit_code &&
           n[4] < (int)sizeof who->department;
}

static int keep_account(void *ctx, const store_staff *p, const store_credential *c)
{
    account *a = ctx;
    a->too_long = !identity_of(p, &a->who);
    a->cred = *c;
    a->cred.password_hash = NULL;
    if (c->password_hash) {
        if (strlen(c->password_hash) >= sizeof a->hash)
            a->too_long = 1;
        else
            a->cred.password_hash = strcpy(a->hash, c->password_hash);
    }
    return NY_OK;
}

/* Reads account into *a; NY_ENOTFOUND for an unknown account. */
static int read_account(store *s, const char *account_name, account *a, ny_err *e)
{
    memset(a, 0, sizeof *a);
    int rc = store_credential_get(s, account_name, keep_account, a, e);
    if (rc == NY_OK && a->too_long)
        rc = ny_err_set(e, NY_ERR, "account '%s' has a field longer than auth supports",
                        account_name);
    return rc;
}

int auth_set_password(store *s, const auth_params *p, const char *account_name,
                      const char *password, int64_t now, ny_err *e)
{
    costs c;
    account a;
    char hash[AUTH_HASH_MAX];
    ny_err_clear(e);
    int rc = auth_password_check(account_name, password, e);
    if (rc == NY_OK)
        rc = costs_of(p, &c, e);
    if (rc == NY_OK)
        rc = read_account(s, account_name, &a, e);
    if (rc == NY_OK)
        rc = hash_at(&c, password, hash, e);
    if (rc != NY_OK)
        return rc;
    store_credential cred = {hash, a.cred.disabled, 0, 0, now};
    rc = store_credential_put(s, account_name, &cred, e);
    return rc != NY_OK ? rc : store_sessions_revoke_staff(s, account_name, now, NULL, e);
}

int auth_set_disabled(store *s, const char *account_name, int disabled, int64_t now, ny_err *e)
{
    account a;
    ny_err_clear(e);
    int rc = read_account(s, account_name, &a, e);
    if (rc != NY_OK)
        return rc;
    a.cred.disabled = disabled != 0;
    if (!disabled)
        a.cred.failures = 0, a.cred.locked_until = 0;
    rc = store_credential_put(s, account_name, &a.cred, e);
    if (rc == NY_OK && disabled)
        rc = store_sessions_revoke_staff(s, account_name, now, NULL, e);
    return rc;
}

/* ---- sessions ------------------------------------------------------------ */

void auth_key_hash(const char *key, char hash[AUTH_KEY_HASH_LEN + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)key, strlen(key));
    sodium_bin2hex(hash, AUTH_KEY_HASH_LEN + 1, d, sizeof d);
}

/* 1 if token has the shape of one auth_login hands out. */
static int token_ok(const char *token)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    return token && strspn(token, b64url) == AUTH_TOKEN_LEN && token[AUTH_TOKEN_LEN] == '\0';
}

/* Opens a session for account at now, lasting life seconds. */
static int open_session(store *s, const char *account_name, int64_t now, int64_t life,
                        char token[AUTH_TOKEN_LEN + 1], ny_err *e)
{
    unsigned char raw[32];
    char hex[65];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, AUTH_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    auth_key_hash(token, hex);
    store_session x = {0, hex, account_name, now, now + life, now};
    int rc = store_session_put(s, &x, NULL, e);
    if (rc != NY_OK)
        sodium_memzero(token, AUTH_TOKEN_LEN + 1);
    return rc;
}

/* After a right password: clears failures and brings the hash to c's costs. */
static int after_success(store *s, const costs *c, const char *password, account *a, ny_err *e)
{
    int rc = NY_OK;
    if (a->cred.failures > 0 || a->cred.locked_until > 0)
        rc = store_login_succeeded(s, a->who.account, e);
    if (rc != NY_OK || crypto_pwhash_str_needs_rehash(a->hash, c->ops, c->mem) == 0)
        return rc;
    char fresh[AUTH_HASH_MAX];
    rc = hash_at(c, password, fresh, e);
    if (rc != NY_OK)
        return rc;
    store_credential cred = a->cred;
    cred.password_hash = fresh;
    cred.failures = 0;
    cred.locked_until = 0;
    return store_credential_put(s, a->who.account, &cred, e);
}

int auth_login(store *s, const auth_params *p, const char *account_name, const char *password,
               int64_t now, char token[AUTH_TOKEN_LEN + 1], auth_identity *who, ny_err *e)
{
    costs c;
    account a;
    ny_err_clear(e);
    token[0] = '\0';
    if (!account_name || !*account_name || !password)
        return ny_err_set(e, NY_EINVAL, WRONG_LOGIN);
    int rc = costs_of(p, &c, e);
    if (rc != NY_OK)
        return rc;
    rc = read_account(s, account_name, &a, e);
    int found = rc == NY_OK;
    if (rc != NY_OK && rc != NY_ENOTFOUND)
        return rc;
    if (found && a.cred.locked_until > now)
        return ny_err_set(e, NY_EUNAVAIL,
                          "登录失败次数过多，请 %lld 秒后再试 / too many failed logins; try again "
                          "in %lld s",
                          (long long)(a.cred.locked_until - now),
                          (long long)(a.cred.locked_until - now));
    int right = 0;
    if (found && a.cred.password_hash) {
        right = crypto_pwhash_str_verify(a.hash, password, strlen(password)) == 0;
    } else { /* the same argon2id work as a verify, so that timing tells nothing */
        char waste[AUTH_HASH_MAX];
        if ((rc = hash_at(&c, password, waste, e)) != NY_OK)
            return rc;
    }
    if (!right) {
        if (found && a.cred.password_hash &&
            (rc = store_login_failed(s, account_name, now, &c.lock, NULL, NULL, e)) != NY_OK)
            return rc;
        return ny_err_set(e, NY_EINVAL, WRONG_LOGIN);
    }
    if (a.cred.disabled)
        return ny_err_set(e, NY_ECONFLICT, "账号已停用 / account '%s' is disabled", account_name);
    if ((rc = after_success(s, &c, password, &a, e)) != NY_OK ||
        (rc = open_session(s, a.who.account, now, c.life, token, e)) != NY_OK)
        return rc;
    if (who) {
        *who = a.who;
        who->expires_at = now + c.life;
    }
    return NY_OK;
}

/* Receives a found session for auth_session_check. */
typedef struct live_session {
    auth_identity who;
    int64_t last_seen;
    int fits;
} live_session;

static int keep_session(void *ctx, const store_session *x, const store_staff *p)
{
    live_session *f = ctx;
    f->fits = identity_of(p, &f->who);
    f->who.expires_at = x->expires_at;
    f->last_seen = x->last_seen;
    return NY_OK;
}

int auth_session_check(store *s, const char *token, int64_t now, auth_identity *who, ny_err *e)
{
    char hex[65];
    live_session f;
    ny_err_clear(e);
    if (!token_ok(token))
        return ny_err_set(e, NY_ENOTFOUND, BAD_SESSION);
    auth_key_hash(token, hex);
    int rc = store_session_find(s, hex, now, keep_session, &f, e);
    if (rc == NY_ENOTFOUND)
        return ny_err_set(e, rc, BAD_SESSION);
    if (rc == NY_OK && !f.fits)
        rc = ny_err_set(e, NY_ERR, "the session's account has a field longer than auth supports");
    if (rc == NY_OK && now - f.last_seen >= AUTH_TOUCH_SECONDS)
        rc = store_session_touch(s, hex, now, e);
    if (rc == NY_OK)
        *who = f.who;
    return rc;
}

int auth_logout(store *s, const char *token, int64_t now, ny_err *e)
{
    char hex[65];
    ny_err_clear(e);
    if (!token_ok(token))
        return ny_err_set(e, NY_ENOTFOUND, BAD_SESSION);
    auth_key_hash(token, hex);
    int rc = store_session_revoke(s, hex, now, e);
    return rc == NY_ENOTFOUND ? ny_err_set(e, rc, BAD_SESSION) : rc;
}

/* ---- connectors ---------------------------------------------------------- */

int auth_connector_credentials(char key[AUTH_KEY_LEN + 1], char secret[AUTH_SECRET_LEN + 1],
                               ny_err *e)
{
    unsigned char k[AUTH_KEY_LEN / 2], sec[AUTH_SECRET_LEN / 2];
    ny_err_clear(e);
    if (sodium_init() < 0)
        return ny_err_set(e, NY_ERR, "libsodium could not start");
    randombytes_buf(k, sizeof k);
    randombytes_buf(sec, sizeof sec);
    sodium_bin2hex(key, AUTH_KEY_LEN + 1, k, sizeof k);
    sodium_bin2hex(secret, AUTH_SECRET_LEN + 1, sec, sizeof sec);
    sodium_memzero(sec, sizeof sec);
    return NY_OK;
}

int auth_api_key(char key[AUTH_KEY_LEN + 1], char hash[AUTH_KEY_HASH_LEN + 1], ny_err *e)
{
    unsigned char k[AUTH_KEY_LEN / 2];
    ny_err_clear(e);
    if (sodium_init() < 0)
        return ny_err_set(e, NY_ERR, "libsodium could not start");
    randombytes_buf(k, sizeof k);
    sodium_bin2hex(key, AUTH_KEY_LEN + 1, k, sizeof k);
    sodium_memzero(k, sizeof k);
    auth_key_hash(key, hash);
    return NY_OK;
}
