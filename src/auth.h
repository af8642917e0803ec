/* auth.h - staff accounts: passwords, logins, sessions, connector secrets.
 *
 * The account layer under the HTTP server and the `nuanyang user` command.
 * Passwords are hashed with argon2id (libsodium crypto_pwhash_str) and kept
 * as the encoded string in the store's credentials; a login checks the
 * password, counts failures (locking the account with a doubling back-off)
 * and opens a session. The session token is 256 random bits handed to the
 * caller once, as 43 base64url characters; the store keeps only its SHA-256,
 * so a copy of the database holds no usable token. Every function takes the
 * current time from the caller, so tests control the clock.
 *
 * Errors follow err.h. A login that fails for an unknown account, an account
 * without a password or a wrong password is the same NY_EINVAL with the same
 * message, after the same amount of hashing work, so that answers do not
 * tell which accounts exist. */
#ifndef NY_AUTH_H
#define NY_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define AUTH_SESSION_SECONDS (12 * 3600) /* default session lifetime */
#define AUTH_LOCK_THRESHOLD 5            /* failures in a row before the first lock */
#define AUTH_LOCK_BASE 60                /* seconds of the first lock, doubling... */
#define AUTH_LOCK_MAX 3600               /* ...up to this */
#define AUTH_TOUCH_SECONDS 60            /* last_seen is written at most this often */
#define AUTH_PASSWORD_MIN 8              /* characters */
#define AUTH_PASSWORD_MAX 128            /* characters */

#define AUTH_HASH_MAX 128  /* bytes of an encoded hash with its NUL (crypto_pwhash_STRBYTES) */
#define AUTH_TOKEN_LEN 43  /* base64url characters of a session token */
#define AUTH_KEY_LEN 32    /* hex digits of a connector key */
#define AUTH_SECRET_LEN 64 /* hex digits of a connector secret */

#define AUTH_KEY_HASH_LEN 64 /* hex digits of a stored key or token hash (SHA-256) */

/* Costs and limits; a zero field takes the default named beside it. Tests
 * pass low argon2id costs here; production passes NULL for all defaults. */
typedef struct auth_params {
    unsigned long long opslimit; /* argon2id passes: crypto_pwhash_OPSLIMIT_INTERACTIVE */
    size_t memlimit;             /* argon2id bytes: crypto_pwhash_MEMLIMIT_INTERACTIVE */
    int64_t session_seconds;     /* AUTH_SESSION_SECONDS */
    store_lockout lockout;       /* AUTH_LOCK_THRESHOLD, AUTH_LOCK_BASE, AUTH_LOCK_MAX */
} auth_params;

/* Who a session belongs to: what the server needs to scope every request.
 * Staff fields longer than these buffers (far beyond what import allows)
 * make auth_login and auth_session_check fail with NY_ERR. */
typedef struct auth_identity {
    int64_t staff_id;
    char account[256];
    char name[256];
    char role[16];        /* grid_worker | community | street | district | department | admin */
    char unit_code[32];   /* the unit whose subtree the account may see */
    char department[256]; /* for role department, else "" */
    int64_t expires_at;   /* when the session ends */
} auth_identity;

/* NY_OK if password may be set for account, else NY_EINVAL with the reason
 * in Chinese and English: fewer than AUTH_PASSWORD_MIN or more than
 * AUTH_PASSWORD_MAX characters, not UTF-8, control characters, only digits,
 * or equal to the account name (ignoring ASCII case). */
int auth_password_check(const char *account, const char *password, ny_err *e);

/* Hashes password with argon2id at p's costs into out (an encoded string
 * with parameters and a random salt, NUL-terminated). Does not apply the
 * policy; NY_ERR if hashing fails (out of memory). */
int auth_password_hash(const auth_params *p, const char *password, char out[AUTH_HASH_MAX],
                       ny_err *e);

/* Checks the policy, hashes password and stores it as account's password at
 * now: failures and lock are cleared, the disabled flag is kept, and every
 * session of the account is revoked. NY_ENOTFOUND for an unknown account. */
int auth_set_password(store *s, const auth_params *p, const char *account, const char *password,
                      int64_t now, ny_err *e);

/* Disables (disabled = 1) or enables (0) account at now. Disabling revokes
 * every session of the account; enabling also clears failures and lock. */
int auth_set_disabled(store *s, const char *account, int disabled, int64_t now, ny_err *e);

/* Logs account in with password at now. On success writes a new session
 * token (AUTH_TOKEN_LEN characters and a NUL) to token and fills *who (may
 * be NULL). Failures: NY_EINVAL "账号或密码错误 / wrong account or password"
 * for an unknown account, one without a password or a wrong password (a
 * wrong password counts towards the lock); NY_EUNAVAIL while the account is
 * locked, saying for how long (the password is not checked); NY_ECONFLICT
 * for a disabled account, only after the right password. A hash made at
 * other costs than p's is replaced by one at p's costs. */
int auth_login(store *s, const auth_params *p, const char *account, const char *password,
               int64_t now, char token[AUTH_TOKEN_LEN + 1], auth_identity *who, ny_err *e);

/* The identity behind a bearer token at now, in *who. NY_ENOTFOUND "会话无效
 * 或已过期 / session invalid or expired" for a malformed, unknown, expired or
 * revoked token or a disabled account. Records the session's last use when
 * the previous record is AUTH_TOUCH_SECONDS old or more. */
int auth_session_check(store *s, const char *token, int64_t now, auth_identity *who, ny_err *e);

/* Revokes the session of token at now (logout). NY_ENOTFOUND "会话无效或已
 * 过期 / session invalid or expired" for a malformed or unknown token or one
 * already revoked; an expired one is revoked like any other. */
int auth_logout(store *s, const char *token, int64_t now, ny_err *e);

/* A fresh connector credential: key (128 random bits) and secret (256
 * random bits), both lowercase hex with a NUL. */
int auth_connector_credentials(char key[AUTH_KEY_LEN + 1], char secret[AUTH_SECRET_LEN + 1],
                               ny_err *e);

/* A fresh API key (128 random bits, lowercase hex with a NUL) for a client
 * that presents it with each request (Open311), and its stored form. */
int auth_api_key(char key[AUTH_KEY_LEN + 1], char hash[AUTH_KEY_HASH_LEN + 1], ny_err *e);

/* The stored form of a bearer secret (session token, API key): SHA-256 of
 * its characters as lowercase hex. The secrets are random, so a copy of the
 * database holds nothing a client could present. */
void auth_key_hash(const char *key, char hash[AUTH_KEY_HASH_LEN + 1]);

#endif
