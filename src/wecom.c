/* wecom.c - WeCom callback signature, AES envelope and reply building (see wecom.h).
 *
 * The server's /connectors/wecom/{name} endpoint keeps one wecom context per
 * configured app or AI bot and calls wecom_verify_url for the GET check and
 * wecom_open for every POST; replies go back through wecom_reply. SHA-1 and
 * AES-256-CBC come from OpenSSL's EVP interface with OpenSSL's padding
 * switched off, because WeCom pads to 32-byte blocks (PKCS#7 with values
 * 1..32) rather than AES's 16; the padding, the 4-byte length field and the
 * receive_id trailer are checked here, each with its own error message.
 * Base64 is decoded by a small strict decoder of our own (the alphabet, the
 * length and the place of '=' are checked, but the unused low bits of the
 * last character are ignored, as EncodingAESKeys need) and encoded by
 * libsodium. The XML envelope is read by a minimal scanner that knows only
 * what WeCom sends: an optional declaration, the <xml> root and flat child
 * elements whose content is text or CDATA. */
#include "wecom.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

/* Length of an EncodingAESKey. */
#define KEY_CHARS 43
/* Longest ciphertext: header, largest message and receive_id, a full pad block. */
#define CIPHER_MAX (WECOM_RANDOM_LEN + 4 + WECOM_MSG_MAX + WECOM_ID_MAX + 32)
/* Longest base64 encrypt value accepted. */
#define B64_MAX (4 * (CIPHER_MAX / 3 + 1))
/* Longest timestamp and nonce accepted in a reply. */
#define TS_DIGITS_MAX 18
#define NONCE_MAX 64

/* Value of a character of the standard base64 alphabet, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes n characters of padded base64 at s into out, which has room for
 * n / 4 * 3 bytes; *outlen gets the byte count. what names the value in
 * messages. Bits of the last character that do not complete a byte are
 * ignored. Returns NY_OK or NY_EINVAL. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen, const char *what,
                      ny_err *e)
{
    if (n == 0 || n % 4 != 0)
        return ny_err_set(e, NY_EINVAL, "bad base64 in %s: length %zu is not a multiple of 4", what,
                          n);
    size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n - pad; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0)
            return ny_err_set(e, NY_EINVAL,
                              "bad base64 in %s: character %zu is not in the alphabet", what,
                              i + 1);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *outlen = o;
    return NY_OK;
}

/* Malloc'd padded base64 of n bytes, or NULL when memory runs out. */
static char *b64_encode(const unsigned char *in, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(cap);
    if (out)
        sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int wecom_init(wecom *w, const char *token, const char *encoding_aes_key, const char *receive_id,
               ny_err *e)
{
    memset(w, 0, sizeof *w);
    if (!token || !token[0])
        return ny_err_set(e, NY_EINVAL, "WeCom token is empty");
    if (strlen(token) > WECOM_ID_MAX)
        return ny_err_set(e, NY_EINVAL, "WeCom token is longer than %d bytes", WECOM_ID_MAX);
    if (!receive_id)
        receive_id = "";
    if (strlen(receive_id) > WECOM_ID_MAX)
        return ny_err_set(e, NY_EINVAL, "WeCom receive_id is longer than %d bytes", WECOM_ID_MAX);
    size_t klen = encoding_aes_key ? strlen(encoding_aes_key) : 0;
    if (klen != KEY_CHARS)
        return ny_err_set(e, NY_EINVAL, "EncodingAESKey has %zu characters instead of %d", klen,
                          KEY_CHARS);
    char padded[KEY_CHARS + 2];
    memcpy(padded, encoding_aes_key, KEY_CHARS);
    padded[KEY_CHARS] = '=';
    padded[KEY_CHARS + 1] = '\0';
    unsigned char key[33];
    size_t n;
    if (b64_decode(padded, KEY_CHARS + 1, key, &n, "EncodingAESKey", e) != NY_OK)
        return NY_EINVAL;
    memcpy(w->key, key, sizeof w->key);
    OPENSSL_cleanse(key, sizeof key);
    strcpy(w->token, token);
    strcpy(w->receive_id, receive_id);
    return NY_OK;
}

void wecom_wipe(wecom *w)
{
    OPENSSL_cleanse(w->key, sizeof w->key);
}

int wecom_signature(const wecom *w, const char *timestamp, const char *nonce, const char *encrypt,
                    char out[WECOM_SIG_LEN + 1], ny_err *e)
{
    const char *v[4] = {w->token, timestamp, nonce, encrypt};
    if (!timestamp || !nonce || !encrypt)
        return ny_err_set(e, NY_EINVAL, "missing %s",
                          !timestamp ? "timestamp"
                          : !nonce   ? "nonce"
                                     : "encrypt value");
    for (int i = 1; i < 4; i++)
        for (int j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    unsigned char md[20];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1;
    for (int i = 0; i < 4 && ok; i++)
        ok = EVP_DigestUpdate(c, v[i], strlen(v[i])) == 1;
    ok = ok && EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == sizeof md;
    EVP_MD_CTX_free(c);
    if (!ok)
        return ny_err_set(e, NY_ERR, "SHA-1 failed");
    sodium_bin2hex(out, WECOM_SIG_LEN + 1, md, sizeof md);
    return NY_OK;
}

int wecom_verify(const wecom *w, const char *msg_signature, const char *timestamp,
                 const char *nonce, const char *encrypt, ny_err *e)
{
    if (!msg_signature || !msg_signature[0])
        return ny_err_set(e, NY_EINVAL, "missing msg_signature");
    size_t n = strlen(msg_signature);
    if (n != WECOM_SIG_LEN)
        return ny_err_set(e, NY_EINVAL, "malformed msg_signature: %zu characters instead of %d", n,
                          WECOM_SIG_LEN);
    for (size_t i = 0; i < n; i++) {
        char c = msg_signature[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return ny_err_set(e, NY_EINVAL,
                              "malformed msg_signature: character %zu is not a lowercase hex "
                              "digit",
                              i + 1);
    }
    char want[WECOM_SIG_LEN + 1];
    int rc = wecom_signature(w, timestamp, nonce, encrypt, want, e);
    if (rc != NY_OK)
        return rc;
    if (CRYPTO_memcmp(want, msg_signature, WECOM_SIG_LEN) != 0)
        return ny_err_set(e, NY_EINVAL, "msg_signature mismatch");
    return NY_OK;
}

/* AES-256-CBC of n bytes (a multiple of 16, at most CIPHER_MAX) without
 * padding, IV = the first 16 key bytes; enc is 1 to encrypt, 0 to decrypt. */
static int aes_cbc(const unsigned char key[32], int enc, const unsigned char *in, size_t n,
                   unsigned char *out, ny_err *e)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    int ok = c && EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, key, key, enc) == 1 &&
             EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
             EVP_CipherUpdate(c, out, &l1, in, (int)n) == 1 &&
             EVP_CipherFinal_ex(c, out + l1, &l2) == 1 && (size_t)l1 + (size_t)l2 == n;
    EVP_CIPHER_CTX_free(c);
    return ok ? NY_OK : ny_err_set(e, NY_ERR, "AES-256-CBC failed");
}

/* Checks the padding and framing of n decrypted bytes and copies the message
 * out when the receive_id trailer matches. */
static int unframe(const wecom *w, const unsigned char *p, size_t n, char **msg, size_t *len,
                   ny_err *e)
{
    unsigned pad = p[n - 1];
    if (pad < 1 || pad > 32)
        return ny_err_set(e, NY_EINVAL, "bad padding: last byte %u is outside 1..32", pad);
    for (size_t i = n - pad; i < n; i++)
        if (p[i] != pad)
            return ny_err_set(e, NY_EINVAL, "bad padding: the last %u bytes are not all %u", pad,
                              pad);
    n -= pad;
    if (n < WECOM_RANDOM_LEN + 4)
        return ny_err_set(e, NY_EINVAL, "plaintext of %zu bytes is shorter than its 20-byte header",
                          n);
    const unsigned char *h = p + WECOM_RANDOM_LEN;
    uint32_t mlen = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    size_t room = n - WECOM_RANDOM_LEN - 4;
    if (mlen > room)
        return ny_err_set(e, NY_EINVAL, "length field %u exceeds the %zu bytes after the header",
                          mlen, room);
    const unsigned char *rid = h + 4 + mlen;
    size_t ridlen = room - mlen, want = strlen(w->receive_id);
    if (ridlen != want || memcmp(rid, w->receive_id, want) != 0)
        return ny_err_set(e, NY_EINVAL,
                          "receive_id mismatch: the message is for a %zu-byte id, not \"%s\"",
                          ridlen, w->receive_id);
    char *out = malloc((size_t)mlen + 1);
    if (!out)
        return ny_err_set(e, NY_ERR, "out of memory");
    memcpy(out, h + 4, mlen);
    out[mlen] = '\0';
    *msg = out;
    *len = mlen;
    return NY_OK;
}

int wecom_decrypt(const wecom *w, const char *encrypt, char **msg, size_t *len, ny_err *e)
{
    *msg = NULL;
    *len = 0;
    if (!encrypt || !encrypt[0])
        return ny_err_set(e, NY_EINVAL, "empty encrypt value");
    size_t n = strlen(encrypt);
    if (n > B64_MAX)
        return ny_err_set(e, NY_EINVAL, "encrypt value of %zu characters is too long", n);
    unsigned char *ct = malloc(n / 4 * 3 + 1);
    if (!ct)
        return ny_err_set(e, NY_ERR, "out of memory");
    size_t clen = 0;
    int rc = b64_decode(encrypt, n, ct, &clen, "encrypt value", e);
    if (rc == NY_OK && (clen == 0 || clen % 32 != 0))
        rc = ny_err_set(e, NY_EINVAL, "ciphertext length %zu is not a positive multiple of 32",
                        clen);
    unsigned char *pt = rc == NY_OK ? malloc(clen) : NULL;
    if (rc == NY_OK && !pt)
        rc = ny_err_set(e, NY_ERR, "out of memory");
    if (rc == NY_OK)
        rc = aes_cbc(w->key, 0, ct, clen, pt, e);
    if (rc == NY_OK)
        rc = unframe(w, pt, clen, msg, len, e);
    if (pt)
        OPENSSL_cleanse(pt, clen);
    free(pt);
    free(ct);
    return rc;
}

int wecom_encrypt(const wecom *w, const char *msg, size_t len,
                  const unsigned char random[WECOM_RANDOM_LEN], char **encrypt, ny_err *e)
{
    *encrypt = NULL;
    if (!msg && len > 0)
        return ny_err_set(e, NY_EINVAL, "message is NULL but its length is %zu", len);
    if (len > WECOM_MSG_MAX)
        return ny_err_set(e, NY_EINVAL, "message of %zu bytes exceeds %u", len, WECOM_MSG_MAX);
    size_t ridlen = strlen(w->receive_id);
    size_t n = WECOM_RANDOM_LEN + 4 + len + ridlen;
    size_t pad = 32 - n % 32;
    unsigned char *pt = malloc(n + pad), *ct = malloc(n + pad);
    int rc = pt && ct ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
    if (rc == NY_OK && random)
        memcpy(pt, random, WECOM_RANDOM_LEN);
    else if (rc == NY_OK && RAND_bytes(pt, WECOM_RANDOM_LEN) != 1)
        rc = ny_err_set(e, NY_ERR, "random generator failed");
    if (rc == NY_OK) {
        unsigned char *h = pt + WECOM_RANDOM_LEN;
        h[0] = (unsigned char)(len >> 24);
        h[1] = (unsigned char)(len >> 16);
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        if (len > 0)
            memcpy(h + 4, msg, len);
        memcpy(h + 4 + len, w->receive_id, ridlen);
        memset(pt + n, (int)pad, pad);
        rc = aes_cbc(w->key, 1, pt, n + pad, ct, e);
    }
    if (rc == NY_OK && !(*encrypt = b64_encode(ct, n + pad)))
        rc = ny_err_set(e, NY_ERR, "out of memory");
    if (pt)
        OPENSSL_cleanse(pt, n + pad);
    free(pt);
    free(ct);
    return rc;
}

int wecom_verify_url(const wecom *w, const char *msg_signature, const char *timestamp,
                     const char *nonce, const char *echostr, char **msg, size_t *len, ny_err *e)
{
    *msg = NULL;
    *len = 0;
    if (!echostr || !echostr[0])
        return ny_err_set(e, NY_EINVAL, "missing echostr");
    int rc = wecom_verify(w, msg_signature, timestamp, nonce, echostr, e);
    if (rc != NY_OK)
        return rc;
    return wecom_decrypt(w, echostr, msg, len, e);
}

/* 1 when the n - i bytes at s + i start with lit. */
static int at(const char *s, size_t n, size_t i, const char *lit)
{
    size_t l = strlen(lit);
    return n - i >= l && memcmp(s + i, lit, l) == 0;
}

/* First index >= i where lit starts, or n. */
static size_t find(const char *s, size_t n, size_t i, const char *lit)
{
    for (; i < n; i++)
        if (at(s, n, i, lit))
            return i;
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_space(const char *s, size_t n, size_t i)
{
    while (i < n && is_space(s[i]))
        i++;
    return i;
}

static int is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
}

/* Reads the content of element name (its start tag already consumed, s + *i
 * just past it) up to and including its end tag. When out is not NULL the
 * text and CDATA content is appended to out at *olen. */
static int xml_content(const char *s, size_t n, size_t *i, const char *name, size_t nlen, char *out,
                       size_t *olen, ny_err *e)
{
    size_t p = *i;
    for (;;) {
        if (p >= n)
            return ny_err_set(e, NY_EINVAL, "XML envelope: unterminated <%.*s> element", (int)nlen,
                              name);
        size_t from = p, to;
        if (at(s, n, p, "<![CDATA[")) {
            from = p + 9;
            to = find(s, n, from, "]]>");
            if (to == n)
                return ny_err_set(e, NY_EINVAL, "XML envelope: unterminated CDATA section");
            p = to + 3;
        } else if (s[p] == '<') {
            if (p + 1 < n && s[p + 1] == '/' && n - p - 2 > nlen &&
                memcmp(s + p + 2, name, nlen) == 0 && s[p + 2 + nlen] == '>') {
                *i = p + 3 + nlen;
                return NY_OK;
            }
            return ny_err_set(e, NY_EINVAL,
                              "XML envelope: unexpected markup inside <%.*s> at byte %zu",
                              (int)nlen, name, p + 1);
        } else {
            for (to = p; to < n && s[to] != '<'; to++)
                ;
            p = to;
        }
        if (out) {
            memcpy(out + *olen, s + from, to - from);
            *olen += to - from;
        }
    }
}

int wecom_envelope_xml(const char *body, size_t len, char **encrypt, ny_err *e)
{
    *encrypt = NULL;
    if (!body || len == 0)
        return ny_err_set(e, NY_EINVAL, "XML envelope is empty");
    const char *nul = memchr(body, '\0', len);
    if (nul)
        return ny_err_set(e, NY_EINVAL, "XML envelope: NUL byte at byte %zu",
                          (size_t)(nul - body) + 1);
    const char *s = body;
    size_t n = len, i = 0;
    if (at(s, n, 0, "\xEF\xBB\xBF"))
        i = 3;
    i = skip_space(s, n, i);
    if (at(s, n, i, "<?xml")) {
        size_t j = find(s, n, i, "?>");
        if (j == n)
            return ny_err_set(e, NY_EINVAL, "XML envelope: unterminated XML declaration");
        i = skip_space(s, n, j + 2);
    }
    if (!at(s, n, i, "<xml>"))
        return ny_err_set(e, NY_EINVAL, "XML envelope: the root element is not <xml>");
    i += 5;
    char *out = NULL;
    size_t olen = 0;
    int rc = NY_OK;
    for (;;) {
        i = skip_space(s, n, i);
        if (i == n) {
            rc = ny_err_set(e, NY_EINVAL, "XML envelope: unterminated <xml> element");
            break;
        }
        if (at(s, n, i, "</xml>")) {
            if (skip_space(s, n, i + 6) != n)
                rc = ny_err_set(e, NY_EINVAL, "XML envelope: content after </xml>");
            break;
        }
        if (s[i] != '<') {
            rc = ny_err_set(e, NY_EINVAL, "XML envelope: text directly inside <xml> at byte %zu",
                            i + 1);
            break;
        }
        const char *name = s + ++i;
        while (i < n && is_name_char(s[i]))
            i++;
        size_t nlen = (size_t)(s + i - name);
        if (nlen == 0 || nlen > 64) {
            rc = ny_err_set(e, NY_EINVAL, "XML envelope: bad element name at byte %zu",
                            (size_t)(name - s) + 1);
            break;
        }
        int is_enc = nlen == 7 && memcmp(name, "Encrypt", 7) == 0;
        if (is_enc && out) {
            rc = ny_err_set(e, NY_EINVAL, "XML envelope: more than one Encrypt element");
            break;
        }
        if (is_enc && !(out = malloc(n - i + 1))) {
            rc = ny_err_set(e, NY_ERR, "out of memory");
            break;
        }
        if (at(s, n, i, "/>")) {
            i += 2;
            continue;
        }
        if (i == n || s[i] != '>') {
            rc = ny_err_set(e, NY_EINVAL,
                            "XML envelope: malformed start tag or attributes in <%.*s>", (int)nlen,
                            name);
            break;
        }
        i++;
        rc = xml_content(s, n, &i, name, nlen, is_enc ? out : NULL, &olen, e);
        if (rc != NY_OK)
            break;
    }
    if (rc == NY_OK && !out)
        rc = ny_err_set(e, NY_EINVAL, "XML envelope: no Encrypt element");
    if (rc != NY_OK) {
        free(out);
        return rc;
    }
    size_t a = 0, b = olen;
    while (a < b && is_space(out[a]))
        a++;
    while (b > a && is_space(out[b - 1]))
        b--;
    if (a == b) {
        free(out);
        return ny_err_set(e, NY_EINVAL, "XML envelope: the Encrypt element is empty");
    }
    memmove(out, out + a, b - a);
    out[b - a] = '\0';
    *encrypt = out;
    return NY_OK;
}

int wecom_envelope_json(const char *body, size_t len, char **encrypt, ny_err *e)
{
    *encrypt = NULL;
    if (!body || len == 0)
        return ny_err_set(e, NY_EINVAL, "JSON envelope is empty");
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ny_err_set(e, NY_EINVAL, "JSON envelope: %s at line %d, column %d", je.text, je.line,
                          je.column);
    int rc = NY_OK;
    json_t *v = json_is_object(root) ? json_object_get(root, "encrypt") : NULL;
    if (!json_is_object(root))
        rc = ny_err_set(e, NY_EINVAL, "JSON envelope is not an object");
    else if (!v)
        rc = ny_err_set(e, NY_EINVAL, "JSON envelope has no \"encrypt\" member");
    else if (!json_is_string(v))
        rc = ny_err_set(e, NY_EINVAL, "JSON envelope: \"encrypt\" is not a string");
    else if (json_string_length(v) == 0)
        rc = ny_err_set(e, NY_EINVAL, "JSON envelope: \"encrypt\" is empty");
    else if (!(*encrypt = strdup(json_string_value(v))))
        rc = ny_err_set(e, NY_ERR, "out of memory");
    json_decref(root);
    return rc;
}

int wecom_open(const wecom *w, const char *msg_signature, const char *timestamp, const char *nonce,
               const char *body, size_t body_len, wecom_format format, char **msg, size_t *len,
               ny_err *e)
{
    *msg = NULL;
    *len = 0;
    char *enc = NULL;
    int rc;
    if (format == WECOM_XML)
        rc = wecom_envelope_xml(body, body_len, &enc, e);
    else if (format == WECOM_JSON)
        rc = wecom_envelope_json(body, body_len, &enc, e);
    else
        rc = ny_err_set(e, NY_EINVAL, "unknown WeCom envelope format %d", (int)format);
    if (rc == NY_OK)
        rc = wecom_verify(w, msg_signature, timestamp, nonce, enc, e);
    if (rc == NY_OK)
        rc = wecom_decrypt(w, enc, msg, len, e);
    free(enc);
    return rc;
}

/* Checks the timestamp and nonce of a reply; *ts gets the timestamp's value. */
static int reply_params(const char *timestamp, const char *nonce, json_int_t *ts, ny_err *e)
{
    size_t tn = timestamp ? strlen(timestamp) : 0, nn = nonce ? strlen(nonce) : 0;
    if (tn == 0 || tn > TS_DIGITS_MAX)
        return ny_err_set(e, NY_EINVAL, "reply timestamp must have 1 to %d digits", TS_DIGITS_MAX);
    *ts = 0;
    for (size_t i = 0; i < tn; i++) {
        if (timestamp[i] < '0' || timestamp[i] > '9')
            return ny_err_set(e, NY_EINVAL, "reply timestamp: character %zu is not a digit", i + 1);
        *ts = *ts * 10 + (timestamp[i] - '0');
    }
    if (nn == 0 || nn > NONCE_MAX)
        return ny_err_set(e, NY_EINVAL, "reply nonce must have 1 to %d characters", NONCE_MAX);
    for (size_t i = 0; i < nn; i++) {
        char c = nonce[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return ny_err_set(e, NY_EINVAL,
                              "reply nonce: character %zu is not an ASCII letter or digit", i + 1);
    }
    return NY_OK;
}

/* The XML reply envelope, malloc'd, or NULL when memory runs out. */
static char *reply_xml(const char *enc, const char *sig, const char *timestamp, const char *nonce)
{
    static const char fmt[] = "<xml><Encrypt><![CDATA[%s]]></Encrypt>"
                              "<MsgSignature><![CDATA[%s]]></MsgSignature>"
                              "<TimeStamp>%s</TimeStamp><Nonce><![CDATA[%s]]></Nonce></xml>";
    size_t cap = sizeof fmt + strlen(enc) + strlen(sig) + strlen(timestamp) + strlen(nonce);
    char *out = malloc(cap);
    if (out)
        snprintf(out, cap, fmt, enc, sig, timestamp, nonce);
    return out;
}

int wecom_reply(const wecom *w, const char *msg, size_t len, const char *timestamp,
                const char *nonce, const unsigned char random[WECOM_RANDOM_LEN],
                wecom_format format, char **out, ny_err *e)
{
    *out = NULL;
    json_int_t ts = 0;
    if (format != WECOM_XML && format != WECOM_JSON)
        return ny_err_set(e, NY_EINVAL, "unknown WeCom envelope format %d", (int)format);
    int rc = reply_params(timestamp, nonce, &ts, e);
    char *enc = NULL;
    char sig[WECOM_SIG_LEN + 1];
    if (rc == NY_OK)
        rc = wecom_encrypt(w, msg, len, random, &enc, e);
    if (rc == NY_OK)
        rc = wecom_signature(w, timestamp, nonce, enc, sig, e);
    if (rc == NY_OK && format == WECOM_XML) {
        if (!(*out = reply_xml(enc, sig, timestamp, nonce)))
            rc = ny_err_set(e, NY_ERR, "out of memory");
    } else if (rc == NY_OK) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "encrypt", enc, "msgsignature", sig,
                              "timestamp", ts, "nonce", nonce);
        if (!j || !(*out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)))
            rc = ny_err_set(e, NY_ERR, "out of memory");
        json_decref(j);
    }
    free(enc);
    return rc;
}
