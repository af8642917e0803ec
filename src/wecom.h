/* wecom.h - WeCom (企业微信) callback crypto and envelopes.
 *
 * WeCom signs and encrypts what it posts to a callback URL, and expects
 * encrypted passive replies, with one scheme shared by app callbacks (XML)
 * and AI-bot callbacks (JSON):
 *
 *   msg_signature = hex(SHA1(concatenation of token, timestamp, nonce and
 *                   encrypt, sorted bytewise));
 *   key           = base64-decode(EncodingAESKey + "=")  (43 chars, 32 bytes),
 *                   IV = the first 16 key bytes;
 *   encrypt       = base64(AES-256-CBC(16 random bytes ‖ 4-byte big-endian
 *                   msg length ‖ msg ‖ receive_id, PKCS#7-padded to a
 *                   multiple of 32 bytes, pad values 1..32)).
 *
 * receive_id is the CorpID for apps and the empty string for AI bots; it is
 * compared exactly, so a context made with "" accepts only messages whose
 * trailer is empty. The 43 characters of an EncodingAESKey carry 258 bits, so
 * the last character's two low bits are ignored, as WeCom's own libraries do.
 *
 * Always verify the signature before decrypting outside input: decryption
 * alone does not authenticate (CBC lets a forger alter message bytes without
 * touching the padding). wecom_open and wecom_verify_url do both in the right
 * order. Every failure on outside input is NY_EINVAL with the reason in
 * e->msg; NY_ERR means memory or OpenSSL failed. A wecom context is
 * immutable after wecom_init and may be shared between threads. */
#ifndef NY_WECOM_H
#define NY_WECOM_H

#include <stddef.h>

#include "err.h"

/* Hex digits of a msg_signature. */
#define WECOM_SIG_LEN 40
/* Bytes of the random prefix of every plaintext. */
#define WECOM_RANDOM_LEN 16
/* Longest token or receive_id accepted, in bytes. */
#define WECOM_ID_MAX 128
/* Longest message encrypted or decrypted, in bytes. */
#define WECOM_MSG_MAX (1u << 24)

/* Callback context: one per configured WeCom app or AI bot. */
typedef struct wecom {
    char token[WECOM_ID_MAX + 1];
    char receive_id[WECOM_ID_MAX + 1];
    unsigned char key[32];
} wecom;

/* Envelope formats: app callbacks use XML, AI-bot callbacks JSON. */
typedef enum wecom_format { WECOM_XML = 1, WECOM_JSON = 2 } wecom_format;

/* Fills *w from the callback settings: token (1..WECOM_ID_MAX bytes),
 * encoding_aes_key (exactly 43 characters of the standard base64 alphabet)
 * and receive_id (0..WECOM_ID_MAX bytes; "" for AI bots). Returns NY_OK or
 * NY_EINVAL naming the bad setting. */
int wecom_init(wecom *w, const char *token, const char *encoding_aes_key, const char *receive_id,
               ny_err *e);

/* Overwrites the key material in *w with zeros. */
void wecom_wipe(wecom *w);

/* Writes the msg_signature of (token, timestamp, nonce, encrypt) into out as
 * WECOM_SIG_LEN lowercase hex digits and a NUL. Returns NY_OK or NY_ERR. */
int wecom_signature(const wecom *w, const char *timestamp, const char *nonce, const char *encrypt,
                    char out[WECOM_SIG_LEN + 1], ny_err *e);

/* Checks msg_signature (40 lowercase hex digits, as WeCom sends it) against
 * the one computed for the other three values, in constant time. Returns
 * NY_OK, NY_EINVAL when a value is missing, malformed or does not match, or
 * NY_ERR. */
int wecom_verify(const wecom *w, const char *msg_signature, const char *timestamp,
                 const char *nonce, const char *encrypt, ny_err *e);

/* Decrypts a base64 encrypt value. On NY_OK *msg is a malloc'd copy of the
 * message with a NUL appended (the message itself may hold any bytes) and
 * *len its length; the caller frees it. NY_EINVAL says precisely what is
 * wrong: bad base64, a ciphertext length that is not a positive multiple of
 * 32, bad padding, a length field beyond the plaintext or a receive_id other
 * than the context's. Does not authenticate: verify the signature first. */
int wecom_decrypt(const wecom *w, const char *encrypt, char **msg, size_t *len, ny_err *e);

/* Encrypts len bytes of msg (at most WECOM_MSG_MAX) for the context's
 * receive_id. random is the 16-byte prefix, or NULL for fresh random bytes
 * from OpenSSL's generator (pass fixed bytes only in tests). On NY_OK
 * *encrypt is a malloc'd base64 string the caller frees. */
int wecom_encrypt(const wecom *w, const char *msg, size_t len,
                  const unsigned char random[WECOM_RANDOM_LEN], char **encrypt, ny_err *e);

/* Answers WeCom's URL check (GET with msg_signature, timestamp, nonce and
 * echostr in the query, already URL-decoded): verifies the signature over
 * echostr, decrypts it and returns the plaintext in *msg / *len (malloc'd,
 * NUL-appended), which the server sends back verbatim as the response body. */
int wecom_verify_url(const wecom *w, const char *msg_signature, const char *timestamp,
                     const char *nonce, const char *echostr, char **msg, size_t *len, ny_err *e);

/* Extracts the Encrypt element of an XML callback envelope of len bytes,
 * <xml><ToUserName>…</ToUserName><Encrypt><![CDATA[…]]></Encrypt>…</xml>,
 * written as CDATA or as plain text. The root must be <xml> (an XML
 * declaration before it is allowed) and its children flat elements without
 * attributes; exactly one Encrypt child, not empty. On NY_OK *encrypt is a
 * malloc'd string the caller frees. Malformed input gives NY_EINVAL. */
int wecom_envelope_xml(const char *body, size_t len, char **encrypt, ny_err *e);

/* Extracts "encrypt" from a JSON callback envelope {"encrypt":"…"} of len
 * bytes (other members are ignored). On NY_OK *encrypt is malloc'd. */
int wecom_envelope_json(const char *body, size_t len, char **encrypt, ny_err *e);

/* Handles a POST callback: parses the envelope of the given format, verifies
 * msg_signature over its Encrypt value, decrypts it and returns the message
 * (XML for apps, JSON for AI bots) in *msg / *len, malloc'd and
 * NUL-appended. */
int wecom_open(const wecom *w, const char *msg_signature, const char *timestamp, const char *nonce,
               const char *body, size_t body_len, wecom_format format, char **msg, size_t *len,
               ny_err *e);

/* Builds the encrypted passive reply carrying len bytes of msg: encrypts it
 * (random as in wecom_encrypt), signs it with timestamp (1..18 digits) and
 * nonce (1..64 letters and digits) and wraps everything in the envelope of
 * the given format:
 *   XML:  <xml><Encrypt><![CDATA[…]]></Encrypt><MsgSignature><![CDATA[…]]>
 *         </MsgSignature><TimeStamp>…</TimeStamp><Nonce><![CDATA[…]]></Nonce></xml>
 *   JSON: {"encrypt":"…","msgsignature":"…","timestamp":…,"nonce":"…"}
 *         (timestamp as a number, as the AI-bot protocol wants).
 * On NY_OK *out is the malloc'd NUL-terminated envelope. */
int wecom_reply(const wecom *w, const char *msg, size_t len, const char *timestamp,
                const char *nonce, const unsigned char random[WECOM_RANDOM_LEN],
                wecom_format format, char **out, ny_err *e);

#endif
