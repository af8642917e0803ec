/* sign.h - HMAC request signatures: connector authentication and robot signing.
 *
 * Connectors (chat bridges posting messages in) authenticate every request
 * with three headers: X-Nuanyang-Key names the connector, X-Nuanyang-Timestamp
 * carries the Unix time in seconds as decimal digits, and X-Nuanyang-Signature
 * is "sha256=" followed by the 64 lowercase hex digits of HMAC-SHA256 keyed
 * with the connector's secret over the timestamp header's exact text
 * immediately followed by the raw request body. The server accepts a request
 * only within SIGN_WINDOW_S seconds of its own clock, either way, and compares
 * in constant time; the time is always passed in, so the functions are pure.
 *
 * Outbound, DingTalk and Feishu custom robots want their own signatures:
 * DingTalk sign = base64(HMAC-SHA256(key = secret, msg = MS + "\n" + secret))
 * with MS the time in milliseconds (URL-encoded by the caller, see robot.h),
 * Feishu sign = base64(HMAC-SHA256(key = S + "\n" + secret, msg = "")) with S
 * in seconds. All functions are thread-safe and allocate nothing that
 * outlives the call. */
#ifndef NY_SIGN_H
#define NY_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "err.h"

#define SIGN_HEADER_KEY "X-Nuanyang-Key"
#define SIGN_HEADER_TIMESTAMP "X-Nuanyang-Timestamp"
#define SIGN_HEADER_SIGNATURE "X-Nuanyang-Signature"

/* Seconds a connector request may be older or newer than the server's clock. */
#define SIGN_WINDOW_S 300

/* Length of a connector signature header value: "sha256=" + 64 hex digits. */
#define SIGN_HEADER_LEN 71

/* Length of a robot signature: base64 of a 32-byte HMAC-SHA256. */
#define SIGN_B64_LEN 44

/* Writes the X-Nuanyang-Signature value for a request into out (NUL-
 * terminated, SIGN_HEADER_LEN characters): "sha256=" + lowercase hex of
 * HMAC-SHA256(secret, timestamp + body). timestamp is the exact header text,
 * 1 to 18 decimal digits; body may be NULL when len is 0. Returns NY_OK, or
 * NY_EINVAL for an empty secret or a malformed timestamp. */
int sign_connector(const char *secret, const char *timestamp, const void *body, size_t len,
                   char out[SIGN_HEADER_LEN + 1], ny_err *e);

/* Checks a connector request at server time now (Unix seconds): header is
 * the X-Nuanyang-Signature value, timestamp the X-Nuanyang-Timestamp value
 * (either may be NULL when the header was absent). Returns NY_OK when the
 * signature matches and |now - timestamp| <= SIGN_WINDOW_S; otherwise
 * NY_EINVAL with the reason: missing or malformed header (not "sha256=" and
 * 64 hex digits, either case), missing or malformed timestamp, "stale"
 * timestamp (too old or too far in the future), or signature mismatch. The
 * comparison takes the same time wherever the digests differ. */
int sign_connector_verify(const char *secret, const char *timestamp, const void *body, size_t len,
                          const char *header, int64_t now, ny_err *e);

/* A connector secret made ready for verifying: two SHA-256 states with the
 * HMAC's inner and outer key blocks already hashed, so each request hashes
 * only its timestamp and body (with OpenSSL's SHA-256, which uses the CPU's
 * SHA or vector instructions). Holds key material: sign_key_free it. */
typedef struct sign_key {
    EVP_MD_CTX *inner, *outer;
} sign_key;

/* Prepares k from a connector secret (any length, as HMAC defines).
 * Returns NY_OK, NY_EINVAL for an empty secret, or NY_ERR when OpenSSL
 * fails or memory runs out; on failure k holds nothing to free. */
int sign_key_prepare(const char *secret, sign_key *k, ny_err *e);

/* Frees k's states (they are cleansed) and leaves k empty; an empty or
 * already freed k is fine. */
void sign_key_free(sign_key *k);

/* sign_connector_verify with a prepared secret: same checks, in the same
 * order, with the same reasons; k is only read, so one prepared key may be
 * used by many threads at once. */
int sign_connector_verify_key(const sign_key *k, const char *timestamp, const void *body,
                              size_t len, const char *header, int64_t now, ny_err *e);

/* Writes the DingTalk robot signature for timestamp_ms (milliseconds since
 * the epoch, >= 0) into out: base64(HMAC-SHA256(key = secret, msg =
 * timestamp_ms + "\n" + secret)), SIGN_B64_LEN characters, not yet
 * URL-encoded. Returns NY_OK, or NY_EINVAL for an empty secret or a negative
 * time. */
int sign_dingtalk(const char *secret, int64_t timestamp_ms, char out[SIGN_B64_LEN + 1], ny_err *e);

/* Writes the Feishu robot signature for timestamp_s (seconds, >= 0) into out:
 * base64(HMAC-SHA256(key = timestamp_s + "\n" + secret, msg = "")),
 * SIGN_B64_LEN characters. Returns NY_OK, NY_EINVAL for an empty secret or a
 * negative time, or NY_ERR when memory runs out. */
int sign_feishu(const char *secret, int64_t timestamp_s, char out[SIGN_B64_LEN + 1], ny_err *e);

#endif
