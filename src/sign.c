/* sign.c - HMAC-SHA256 request signatures (see sign.h).
 *
 * The server's connector endpoint calls sign_connector_verify before it looks
 * at a request body; the outbox worker calls sign_dingtalk and sign_feishu
 * (through robot.c) each time it sends to a signed robot, because both
 * platforms reject signatures made too long ago. HMAC comes from libsodium's
 * crypto_auth_hmacsha256 (any key length), base64 from sodium_bin2base64, and
 * digests are compared with sodium_memcmp, which runs in constant time. The
 * checks run cheapest first: header shape, timestamp shape, the replay
 * window, and only then the HMAC. A server keeps each connector's secret as
 * a sign_key: the HMAC's inner and outer SHA-256 states with the key blocks
 * already hashed (OpenSSL, whose SHA-256 uses the CPU's SHA extensions or
 * AVX2; libsodium's is portable C), so a request costs only the hashing of
 * its own timestamp and body. */
#include "sign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#define SHA256_BLOCK 64 /* bytes SHA-256 hashes at a time */
#define SHA256_BYTES 32 /* bytes of a digest */

/* Longest timestamp accepted: 18 digits always fit an int64_t. */
#define TS_DIGITS_MAX 18

/* Parses a timestamp header: 1..TS_DIGITS_MAX ASCII digits, nothing else. */
static int parse_ts(const char *ts, int64_t *out, ny_err *e)
{
    if (!ts || !ts[0])
        return ny_err_set(e, NY_EINVAL, "missing timestamp");
    size_t n = strlen(ts);
    if (n > TS_DIGITS_MAX)
        return ny_err_set(e, NY_EINVAL, "malformed timestamp: more than %d digits", TS_DIGITS_MAX);
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (ts[i] < '0' || ts[i] > '9')
            return ny_err_set(e, NY_EINVAL, "malformed timestamp: byte %zu is not a decimal digit",
                              i + 1);
        v = v * 10 + (ts[i] - '0');
    }
    *out = v;
    return NY_OK;
}

/* HMAC-SHA256 keyed with klen bytes of key over the concatenation of n
 * pieces. Returns NY_OK, or NY_ERR if libsodium reports a failure. */
static int hmac(const void *key, size_t klen, const void *const *piece, const size_t *plen,
                size_t n, unsigned char mac[crypto_auth_hmacsha256_BYTES], ny_err *e)
{
    crypto_auth_hmacsha256_state st;
    int rc = crypto_auth_hmacsha256_init(&st, key, klen);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (plen[i] > 0)
            rc = crypto_auth_hmacsha256_update(&st, piece[i], plen[i]);
    if (rc == 0)
        rc = crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    return rc == 0 ? NY_OK : ny_err_set(e, NY_ERR, "HMAC-SHA256 failed");
}

/* HMAC-SHA256(secret, timestamp + body). */
static int connector_mac(const char *secret, const char *timestamp, const void *body, size_t len,
                         unsigned char mac[crypto_auth_hmacsha256_BYTES], ny_err *e)
{
    const void *piece[2] = {timestamp, body};
    size_t plen[2] = {strlen(timestamp), len};
    return hmac(secret, strlen(secret), piece, plen, 2, mac, e);
}

int sign_connector(const char *secret, const char *timestamp, const void *body, size_t len,
                   char out[SIGN_HEADER_LEN + 1], ny_err *e)
{
    int64_t ts;
    if (!secret || !secret[0])
        return ny_err_set(e, NY_EINVAL, "empty connector secret");
    if (parse_ts(timestamp, &ts, e) != NY_OK)
        return NY_EINVAL;
    if (!body && len > 0)
        return ny_err_set(e, NY_EINVAL, "body is NULL but its length is %zu", len);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    if (connector_mac(secret, timestamp, body, len, mac, e) != NY_OK)
        return NY_ERR;
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, SIGN_HEADER_LEN + 1 - 7, mac, sizeof mac);
    return NY_OK;
}

/* Value of one hex digit (either case), or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void sign_key_free(sign_key *k)
{
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    k->inner = k->outer = NULL;
}

/* A SHA-256 state that has hashed key XOR pad (key: at most one block). */
static EVP_MD_CTX *padded(const unsigned char *key, size_t klen, unsigned char pad)
{
    unsigned char block[SHA256_BLOCK];
    memset(block, pad, sizeof block);
    for (size_t i = 0; i < klen; i++)
        block[i] ^= key[i];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c &&
        (!EVP_DigestInit_ex(c, EVP_sha256(), NULL) || !EVP_DigestUpdate(c, block, sizeof block))) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    OPENSSL_cleanse(block, sizeof block);
    return c;
}

int sign_key_prepare(const char *secret, sign_key *k, ny_err *e)
{
    k->inner = k->outer = NULL;
    if (!secret || !secret[0])
        return ny_err_set(e, NY_EINVAL, "empty connector secret");
    const unsigned char *key = (const unsigned char *)secret;
    size_t klen = strlen(secret);
    unsigned char hashed[SHA256_BYTES];
    unsigned int hlen = 0;
    if (klen > SHA256_BLOCK) { /* HMAC hashes a key longer than a block */
        if (!EVP_Digest(key, klen, hashed, &hlen, EVP_sha256(), NULL))
            return ny_err_set(e, NY_ERR, "SHA-256 failed");
        key = hashed;
        klen = hlen;
    }
    k->inner = padded(key, klen, 0x36);
    k->outer = padded(key, klen, 0x5c);
    OPENSSL_cleanse(hashed, sizeof hashed);
    if (!k->inner || !k->outer) {
        sign_key_free(k);
        return ny_err_set(e, NY_ERR, "SHA-256 state: out of memory or OpenSSL failure");
    }
    return NY_OK;
}

/* HMAC-SHA256 with the prepared k over timestamp + body into mac. */
static int keyed_mac(const sign_key *k, const char *timestamp, const void *body, size_t len,
                     unsigned char mac[SHA256_BYTES])
{
    unsigned char inner[SHA256_BYTES];
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_MD_CTX_copy_ex(c, k->inner) &&
             EVP_DigestUpdate(c, timestamp, strlen(timestamp)) &&
             (len == 0 || EVP_DigestUpdate(c, body, len)) && EVP_DigestFinal_ex(c, inner, &n) &&
             EVP_MD_CTX_copy_ex(c, k->outer) && EVP_DigestUpdate(c, inner, sizeof inner) &&
             EVP_DigestFinal_ex(c, mac, &n);
    EVP_MD_CTX_free(c);
    OPENSSL_cleanse(inner, sizeof inner);
    return ok;
}

int sign_connector_verify_key(const sign_key *k, const char *timestamp, const void *body,
                              size_t len, const char *header, int64_t now, ny_err *e)
{
    if (!header || !header[0])
        return ny_err_set(e, NY_EINVAL, "missing %s header", SIGN_HEADER_SIGNATURE);
    if (strncmp(header, "sha256=", 7) != 0)
        return ny_err_set(e, NY_EINVAL, "malformed %s header: does not start with \"sha256=\"",
                          SIGN_HEADER_SIGNATURE);
    size_t hlen = strlen(header);
    if (hlen != SIGN_HEADER_LEN)
        return ny_err_set(e, NY_EINVAL, "malformed %s header: %zu hex digits instead of 64",
                          SIGN_HEADER_SIGNATURE, hlen - 7);
    unsigned char want[crypto_auth_hmacsha256_BYTES];
    for (size_t i = 0; i < sizeof want; i++) {
        int hi = hexval(header[7 + 2 * i]), lo = hexval(header[8 + 2 * i]);
        if (hi < 0 || lo < 0)
            return ny_err_set(e, NY_EINVAL, "malformed %s header: non-hex character",
                              SIGN_HEADER_SIGNATURE);
        want[i] = (unsigned char)(hi << 4 | lo);
    }
    int64_t ts;
    if (parse_ts(timestamp, &ts, e) != NY_OK)
        return NY_EINVAL;
    if (ts < now - SIGN_WINDOW_S)
        return ny_err_set(e, NY_EINVAL,
                          "stale timestamp: %" PRId64 " s old, more than the %d s window", now - ts,
                          SIGN_WINDOW_S);
    if (ts > now + SIGN_WINDOW_S)
        return ny_err_set(e, NY_EINVAL,
                          "stale timestamp: %" PRId64 " s in the future, more than the %d s window",
                          ts - now, SIGN_WINDOW_S);
    if (!body && len > 0)
        return ny_err_set(e, NY_EINVAL, "body is NULL but its length is %zu", len);
    if (!k->inner || !k->outer)
        return ny_err_set(e, NY_EINVAL, "empty connector secret");
    unsigned char mac[SHA256_BYTES];
    if (!keyed_mac(k, timestamp, body, len, mac))
        return ny_err_set(e, NY_ERR, "HMAC-SHA256 failed");
    if (sodium_memcmp(mac, want, sizeof mac) != 0)
        return ny_err_set(e, NY_EINVAL, "signature mismatch");
    return NY_OK;
}

int sign_connector_verify(const char *secret, const char *timestamp, const void *body, size_t len,
                          const char *header, int64_t now, ny_err *e)
{
    sign_key k;
    int rc = sign_key_prepare(secret, &k, e);
    if (rc == NY_OK)
        rc = sign_connector_verify_key(&k, timestamp, body, len, header, now, e);
    sign_key_free(&k);
    return rc;
}

/* Base64 (standard alphabet, padded) of a 32-byte MAC into out. */
static void mac_base64(const unsigned char mac[crypto_auth_hmacsha256_BYTES],
                       char out[SIGN_B64_LEN + 1])
{
    sodium_bin2base64(out, SIGN_B64_LEN + 1, mac, crypto_auth_hmacsha256_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
}

int sign_dingtalk(const char *secret, int64_t timestamp_ms, char out[SIGN_B64_LEN + 1], ny_err *e)
{
    if (!secret || !secret[0])
        return ny_err_set(e, NY_EINVAL, "empty DingTalk robot secret");
    if (timestamp_ms < 0)
        return ny_err_set(e, NY_EINVAL, "negative DingTalk timestamp %" PRId64, timestamp_ms);
    char ms[24];
    int n = snprintf(ms, sizeof ms, "%" PRId64 "\n", timestamp_ms);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    size_t slen = strlen(secret);
    const void *piece[2] = {ms, secret};
    size_t plen[2] = {(size_t)n, slen};
    if (hmac(secret, slen, piece, plen, 2, mac, e) != NY_OK)
        return NY_ERR;
    mac_base64(mac, out);
    return NY_OK;
}

int sign_feishu(const char *secret, int64_t timestamp_s, char out[SIGN_B64_LEN + 1], ny_err *e)
{
    if (!secret || !secret[0])
        return ny_err_set(e, NY_EINVAL, "empty Feishu robot secret");
    if (timestamp_s < 0)
        return ny_err_set(e, NY_EINVAL, "negative Feishu timestamp %" PRId64, timestamp_s);
    size_t slen = strlen(secret), cap = slen + 24;
    char *key = malloc(cap);
    if (!key)
        return ny_err_set(e, NY_ERR, "out of memory");
    int n = snprintf(key, cap, "%" PRId64 "\n%s", timestamp_s, secret);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    int rc = hmac(key, (size_t)n, NULL, NULL, 0, mac, e);
    sodium_memzero(key, cap);
    free(key);
    if (rc != NY_OK)
        return rc;
    mac_base64(mac, out);
    return NY_OK;
}
