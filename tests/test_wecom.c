/* test_wecom.c - unit tests of the WeCom callback crypto (wecom.h).
 *
 * Runs every vector of ../shared/vectors/wecom_callback.json (the test runs
 * from the repository root): signatures, decryption, URL verification and the
 * fixed-prefix encryption byte for byte. Then the envelopes (XML with CDATA or
 * plain text, JSON), encrypted replies in both forms, round trips for AI bots
 * (empty receive_id) and apps, each way input can be wrong (settings, base64,
 * ciphertext length, padding, length field, receive_id, signature), and a
 * seeded robustness loop that feeds about 20,000 random and mutated inputs
 * through every entry point and accepts only NY_OK or NY_EINVAL. Ciphertexts
 * with chosen bad framing are made here with OpenSSL directly. Needs no
 * database. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "wecom.h"

#define VECTORS "../shared/vectors/wecom_callback.json"

static json_t *vectors;

static int load_vectors(void **state)
{
    (void)state;
    json_error_t je;
    vectors = json_load_file(VECTORS, 0, &je);
    if (!vectors || !json_is_array(vectors) || json_array_size(vectors) != 5) {
        fprintf(stderr, "cannot read %s: %s\n", VECTORS, je.text);
        return -1;
    }
    return 0;
}

static int free_vectors(void **state)
{
    (void)state;
    json_decref(vectors);
    return 0;
}

static const char *vs(const json_t *v, const char *field)
{
    const char *s = json_string_value(json_object_get(v, field));
    if (!s)
        fail_msg("vector field %s missing", field);
    return s;
}

/* A context for vector v. */
static void vinit(const json_t *v, wecom *w)
{
    ny_err e;
    if (wecom_init(w, vs(v, "token"), vs(v, "encoding_aes_key"), vs(v, "receive_id"), &e) != NY_OK)
        fail_msg("%s: %s", vs(v, "name"), e.msg);
}

/* The V1 context (app with CorpID) used by most tests. */
static void v1_init(wecom *w)
{
    vinit(json_array_get(vectors, 0), w);
}

/* Asserts rc == NY_EINVAL and that the message contains part. */
static void expect_einval(int rc, const ny_err *e, const char *part)
{
    assert_int_equal(rc, NY_EINVAL);
    assert_int_equal(e->code, NY_EINVAL);
    if (!strstr(e->msg, part))
        fail_msg("message \"%s\" lacks \"%s\"", e->msg, part);
}

static void test_decrypt_vectors(void **state)
{
    (void)state;
    size_t i;
    json_t *v;
    int seen = 0;
    json_array_foreach(vectors, i, v)
    {
        if (strcmp(vs(v, "kind"), "decrypt") != 0)
            continue;
        seen++;
        wecom w;
        ny_err e;
        vinit(v, &w);
        char sig[WECOM_SIG_LEN + 1];
        assert_int_equal(
            wecom_signature(&w, vs(v, "timestamp"), vs(v, "nonce"), vs(v, "encrypt"), sig, &e),
            NY_OK);
        assert_string_equal(sig, vs(v, "msg_signature"));
        assert_int_equal(wecom_verify(&w, vs(v, "msg_signature"), vs(v, "timestamp"),
                                      vs(v, "nonce"), vs(v, "encrypt"), &e),
                         NY_OK);
        char *msg;
        size_t len;
        if (wecom_decrypt(&w, vs(v, "encrypt"), &msg, &len, &e) != NY_OK)
            fail_msg("%s: %s", vs(v, "name"), e.msg);
        assert_int_equal(len, strlen(vs(v, "plaintext")));
        assert_string_equal(msg, vs(v, "plaintext"));
        free(msg);
        wecom_wipe(&w);
        static const unsigned char zero[32];
        assert_memory_equal(w.key, zero, 32);
    }
    assert_int_equal(seen, 4);
}

static void test_encrypt_vector(void **state)
{
    (void)state;
    const json_t *v = json_array_get(vectors, 4);
    assert_string_equal(vs(v, "kind"), "encrypt");
    wecom w;
    ny_err e;
    vinit(v, &w);
    const char *rnd = vs(v, "random"), *pt = vs(v, "plaintext");
    assert_int_equal(strlen(rnd), WECOM_RANDOM_LEN);
    char *enc;
    assert_int_equal(wecom_encrypt(&w, pt, strlen(pt), (const unsigned char *)rnd, &enc, &e),
                     NY_OK);
    assert_string_equal(enc, vs(v, "encrypt"));
    char sig[WECOM_SIG_LEN + 1];
    assert_int_equal(wecom_signature(&w, vs(v, "timestamp"), vs(v, "nonce"), enc, sig, &e), NY_OK);
    assert_string_equal(sig, vs(v, "msg_signature"));
    char *back;
    size_t len;
    assert_int_equal(wecom_decrypt(&w, enc, &back, &len, &e), NY_OK);
    assert_string_equal(back, pt);
    free(back);
    free(enc);
}

static void test_verify_url(void **state)
{
    (void)state;
    for (size_t i = 1; i <= 2; i++) {
        const json_t *v = json_array_get(vectors, i);
        wecom w;
        ny_err e;
        vinit(v, &w);
        char *echo;
        size_t len;
        assert_int_equal(wecom_verify_url(&w, vs(v, "msg_signature"), vs(v, "timestamp"),
                                          vs(v, "nonce"), vs(v, "encrypt"), &echo, &len, &e),
                         NY_OK);
        assert_string_equal(echo, vs(v, "plaintext"));
        free(echo);
        /* a different nonce breaks the signature; nothing is decrypted */
        assert_int_equal(wecom_verify_url(&w, vs(v, "msg_signature"), vs(v, "timestamp"), "1",
                                          vs(v, "encrypt"), &echo, &len, &e),
                         NY_EINVAL);
        assert_null(echo);
        expect_einval(wecom_verify_url(&w, vs(v, "msg_signature"), vs(v, "timestamp"),
                                       vs(v, "nonce"), "", &echo, &len, &e),
                      &e, "missing echostr");
        expect_einval(wecom_verify_url(&w, NULL, vs(v, "timestamp"), vs(v, "nonce"),
                                       vs(v, "encrypt"), &echo, &len, &e),
                      &e, "missing msg_signature");
    }
}

/* Opens body of the given format with vector v's query parameters. */
static int open_v(const json_t *v, const wecom *w, const char *body, wecom_format f, char **msg,
                  ny_err *e)
{
    size_t len;
    return wecom_open(w, vs(v, "msg_signature"), vs(v, "timestamp"), vs(v, "nonce"), body,
                      strlen(body), f, msg, &len, e);
}

static void test_envelope_xml(void **state)
{
    (void)state;
    const json_t *v = json_array_get(vectors, 0);
    const char *enc = vs(v, "encrypt");
    wecom w;
    v1_init(&w);
    static const char *const forms[] = {
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
        "<Encrypt><![CDATA[%s]]></Encrypt>\n<AgentID><![CDATA[218]]></AgentID>\n</xml>",
        "<xml><ToUserName>wx5823bf96d3bd56c7</ToUserName><Encrypt>%s</Encrypt>"
        "<AgentID>218</AgentID></xml>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n  <Empty/>\n  <Encrypt>\n    "
        "<![CDATA[%s]]>\n  </Encrypt>\n</xml>\n",
        /* the other children may hold anything that is not markup, even look-alikes */
        "\xEF\xBB\xBF<xml><ToUserName><![CDATA[<Encrypt>x</Encrypt>]]></ToUserName>"
        "<Encrypt><![CDATA[%s]]></Encrypt></xml>",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char body[2048];
        snprintf(body, sizeof body, forms[i], enc);
        char *got;
        ny_err e;
        if (wecom_envelope_xml(body, strlen(body), &got, &e) != NY_OK)
            fail_msg("form %zu: %s", i, e.msg);
        assert_string_equal(got, enc);
        free(got);
        char *msg;
        assert_int_equal(open_v(v, &w, body, WECOM_XML, &msg, &e), NY_OK);
        assert_string_equal(msg, vs(v, "plaintext"));
        free(msg);
    }
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", "empty"},
        {"<root><Encrypt>abcd</Encrypt></root>", "root element is not <xml>"},
        {"<?xml version=\"1.0\"<xml></xml>", "unterminated XML declaration"},
        {"<xml><ToUserName>a</ToUserName></xml>", "no Encrypt element"},
        {"<xml><Encrypt>abcd</Encrypt><Encrypt>abcd</Encrypt></xml>", "more than one Encrypt"},
        {"<xml><Encrypt><![CDATA[ ]]></Encrypt></xml>", "Encrypt element is empty"},
        {"<xml><Encrypt/></xml>", "Encrypt element is empty"},
        {"<xml><Encrypt><![CDATA[abcd</Encrypt></xml>", "unterminated CDATA"},
        {"<xml><Encrypt>abcd</Encrypt>", "unterminated <xml>"},
        {"<xml><Encrypt>abcd", "unterminated <Encrypt>"},
        {"<xml><Encrypt>ab<b>cd</b></Encrypt></xml>", "unexpected markup inside <Encrypt>"},
        {"<xml><Encrypt>abcd</Encrypted></xml>", "unexpected markup inside <Encrypt>"},
        {"<xml><Encrypt a=\"1\">abcd</Encrypt></xml>", "malformed start tag"},
        {"<xml>hello<Encrypt>abcd</Encrypt></xml>", "text directly inside <xml>"},
        {"<xml><!-- c --><Encrypt>abcd</Encrypt></xml>", "bad element name"},
        {"<xml><Encrypt>abcd</Encrypt></xml><xml/>", "content after </xml>"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *got = (char *)"untouched";
        ny_err e;
        int rc = wecom_envelope_xml(bad[i].body, strlen(bad[i].body), &got, &e);
        if (rc != NY_EINVAL || !strstr(e.msg, bad[i].why))
            fail_msg("case %zu: rc %d, \"%s\"", i, rc, e.msg);
        assert_null(got);
    }
    char *got;
    ny_err e;
    expect_einval(wecom_envelope_xml("<xml>\0<Encrypt>abcd</Encrypt></xml>", 35, &got, &e), &e,
                  "NUL byte at byte 6");
}

static void test_envelope_json(void **state)
{
    (void)state;
    const json_t *v = json_array_get(vectors, 3);
    wecom w;
    vinit(v, &w);
    char body[1024];
    snprintf(body, sizeof body, "{\"tousername\":\"x\",\"encrypt\":\"%s\",\"agentid\":1}",
             vs(v, "encrypt"));
    char *msg;
    ny_err e;
    assert_int_equal(open_v(v, &w, body, WECOM_JSON, &msg, &e), NY_OK);
    assert_string_equal(msg, vs(v, "plaintext"));
    free(msg);
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", "empty"},
        {"{\"encrypt\":", "JSON envelope: "},
        {"[\"encrypt\"]", "not an object"},
        {"{\"Encrypt\":\"abcd\"}", "no \"encrypt\" member"},
        {"{\"encrypt\":12}", "not a string"},
        {"{\"encrypt\":\"\"}", "\"encrypt\" is empty"},
        {"{\"encrypt\":\"abcd\",\"encrypt\":\"abcd\"}", "JSON envelope: "},
        {"{\"encrypt\":\"ab\\u0000cd\"}", "JSON envelope: "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *got = (char *)"untouched";
        int rc = wecom_envelope_json(bad[i].body, strlen(bad[i].body), &got, &e);
        if (rc != NY_EINVAL || !strstr(e.msg, bad[i].why))
            fail_msg("case %zu: rc %d, \"%s\"", i, rc, e.msg);
        assert_null(got);
    }
    expect_einval(open_v(v, &w, body, (wecom_format)7, &msg, &e), &e, "unknown WeCom envelope");
    /* the XML of V1 is not a JSON envelope */
    expect_einval(open_v(v, &w, "<xml></xml>", WECOM_JSON, &msg, &e), &e, "JSON envelope: ");
}

/* An AI bot: empty receive_id, JSON messages in and out. */
static void test_ai_bot_round_trip(void **state)
{
    (void)state;
    const json_t *v = json_array_get(vectors, 0);
    wecom bot, app;
    ny_err e;
    assert_int_equal(wecom_init(&bot, "bottoken", vs(v, "encoding_aes_key"), "", &e), NY_OK);
    assert_int_equal(wecom_init(&app, "bottoken", vs(v, "encoding_aes_key"), NULL, &e), NY_OK);
    assert_string_equal(app.receive_id, "");
    const char *in =
        "{\"msgid\":\"1\",\"chattype\":\"group\",\"text\":{\"content\":\"@暖羊阳 路灯坏了\"}}";
    char *enc, sig[WECOM_SIG_LEN + 1];
    assert_int_equal(wecom_encrypt(&bot, in, strlen(in), NULL, &enc, &e), NY_OK);
    assert_int_equal(wecom_signature(&bot, "1700000000", "n0nce", enc, sig, &e), NY_OK);
    char body[1024];
    snprintf(body, sizeof body, "{\"encrypt\":\"%s\"}", enc);
    char *msg;
    size_t len;
    assert_int_equal(wecom_open(&bot, sig, "1700000000", "n0nce", body, strlen(body), WECOM_JSON,
                                &msg, &len, &e),
                     NY_OK);
    assert_string_equal(msg, in);
    free(msg);
    /* an app context (non-empty receive_id) refuses the bot's message, and back */
    wecom corp;
    v1_init(&corp);
    expect_einval(wecom_decrypt(&corp, enc, &msg, &len, &e), &e, "receive_id mismatch");
    free(enc);
    assert_int_equal(wecom_encrypt(&corp, in, strlen(in), NULL, &enc, &e), NY_OK);
    expect_einval(wecom_decrypt(&bot, enc, &msg, &len, &e), &e, "18-byte id");
    free(enc);
}

/* Every length across several pad sizes, random and fixed prefixes. */
static void test_round_trip(void **state)
{
    (void)state;
    wecom w;
    v1_init(&w);
    size_t big = 200000;
    char *buf = malloc(big);
    assert_non_null(buf);
    for (size_t i = 0; i < big; i++)
        buf[i] = (char)(i * 131 + 7); /* includes NUL and bytes >= 0x80 */
    ny_err e;
    for (size_t len = 0; len <= 200; len++) {
        char *enc, *back;
        size_t blen;
        assert_int_equal(wecom_encrypt(&w, buf, len, NULL, &enc, &e), NY_OK);
        assert_int_equal(wecom_decrypt(&w, enc, &back, &blen, &e), NY_OK);
        assert_int_equal(blen, len);
        assert_memory_equal(back, buf, len);
        assert_int_equal(back[len], '\0');
        free(back);
        free(enc);
    }
    char *a, *b, *back;
    size_t blen;
    assert_int_equal(wecom_encrypt(&w, buf, big, NULL, &a, &e), NY_OK);
    assert_int_equal(wecom_encrypt(&w, buf, big, NULL, &b, &e), NY_OK);
    assert_string_not_equal(a, b); /* fresh random prefixes */
    assert_int_equal(wecom_decrypt(&w, b, &back, &blen, &e), NY_OK);
    assert_int_equal(blen, big);
    assert_memory_equal(back, buf, big);
    free(back);
    free(a);
    free(b);
    assert_int_equal(wecom_encrypt(&w, NULL, 0, NULL, &a, &e), NY_OK);
    free(a);
    expect_einval(wecom_encrypt(&w, NULL, 3, NULL, &a, &e), &e, "NULL");
    expect_einval(wecom_encrypt(&w, buf, (size_t)WECOM_MSG_MAX + 1, NULL, &a, &e), &e, "exceeds");
    assert_null(a);
    free(buf);
}

static void test_reply(void **state)
{
    (void)state;
    const json_t *v = json_array_get(vectors, 4);
    wecom w;
    vinit(v, &w);
    const char *pt = vs(v, "plaintext");
    const unsigned char *rnd = (const unsigned char *)vs(v, "random");
    char *xml;
    ny_err e;
    assert_int_equal(wecom_reply(&w, pt, strlen(pt), vs(v, "timestamp"), vs(v, "nonce"), rnd,
                                 WECOM_XML, &xml, &e),
                     NY_OK);
    char want[1024];
    snprintf(want, sizeof want,
             "<xml><Encrypt><![CDATA[%s]]></Encrypt><MsgSignature><![CDATA[%s]]></MsgSignature>"
             "<TimeStamp>%s</TimeStamp><Nonce><![CDATA[%s]]></Nonce></xml>",
             vs(v, "encrypt"), vs(v, "msg_signature"), vs(v, "timestamp"), vs(v, "nonce"));
    assert_string_equal(xml, want);
    /* the reply opens like a callback */
    char *msg;
    assert_int_equal(open_v(v, &w, xml, WECOM_XML, &msg, &e), NY_OK);
    assert_string_equal(msg, pt);
    free(msg);
    free(xml);

    char *js;
    assert_int_equal(wecom_reply(&w, pt, strlen(pt), vs(v, "timestamp"), vs(v, "nonce"), rnd,
                                 WECOM_JSON, &js, &e),
                     NY_OK);
    json_error_t je;
    json_t *j = json_loads(js, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 4);
    assert_string_equal(json_string_value(json_object_get(j, "encrypt")), vs(v, "encrypt"));
    assert_string_equal(json_string_value(json_object_get(j, "msgsignature")),
                        vs(v, "msg_signature"));
    assert_true(json_is_integer(json_object_get(j, "timestamp")));
    assert_int_equal(json_integer_value(json_object_get(j, "timestamp")), 1409304348);
    assert_string_equal(json_string_value(json_object_get(j, "nonce")), vs(v, "nonce"));
    json_decref(j);
    assert_int_equal(open_v(v, &w, js, WECOM_JSON, &msg, &e), NY_OK);
    assert_string_equal(msg, pt);
    free(msg);
    free(js);

    char *out = (char *)"untouched";
    expect_einval(wecom_reply(&w, "x", 1, "", "n", NULL, WECOM_XML, &out, &e), &e, "timestamp");
    expect_einval(wecom_reply(&w, "x", 1, "12a", "n", NULL, WECOM_XML, &out, &e), &e,
                  "character 3 is not a digit");
    expect_einval(wecom_reply(&w, "x", 1, "1234567890123456789", "n", NULL, WECOM_XML, &out, &e),
                  &e, "1 to 18 digits");
    expect_einval(wecom_reply(&w, "x", 1, "1", "a]]>b", NULL, WECOM_XML, &out, &e), &e,
                  "character 2 is not an ASCII letter");
    expect_einval(wecom_reply(&w, "x", 1, "1", NULL, NULL, WECOM_JSON, &out, &e), &e, "nonce");
    expect_einval(wecom_reply(&w, "x", 1, "1", "n", NULL, (wecom_format)0, &out, &e), &e,
                  "unknown WeCom envelope format");
    assert_null(out);
}

static void test_init_errors(void **state)
{
    (void)state;
    wecom w;
    ny_err e;
    const char *key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    char longid[WECOM_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    expect_einval(wecom_init(&w, "", key, "x", &e), &e, "token is empty");
    expect_einval(wecom_init(&w, NULL, key, "x", &e), &e, "token is empty");
    expect_einval(wecom_init(&w, longid, key, "x", &e), &e, "token is longer");
    expect_einval(wecom_init(&w, "t", key, longid, &e), &e, "receive_id is longer");
    expect_einval(wecom_init(&w, "t", NULL, "x", &e), &e, "0 characters instead of 43");
    expect_einval(wecom_init(&w, "t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2", "x", &e), &e,
                  "42 characters instead of 43");
    expect_einval(wecom_init(&w, "t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C=", "x", &e), &e,
                  "44 characters instead of 43");
    expect_einval(wecom_init(&w, "t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2-", "x", &e), &e,
                  "character 43 is not in the alphabet");
    expect_einval(wecom_init(&w, "t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B=C", "x", &e), &e,
                  "character 42 is not in the alphabet");
    longid[WECOM_ID_MAX] = '\0';
    assert_int_equal(wecom_init(&w, longid, key, longid, &e), NY_OK);
}

static void test_signature_errors(void **state)
{
    (void)state;
    const json_t *v = json_array_get(vectors, 0);
    wecom w;
    v1_init(&w);
    ny_err e;
    const char *ts = vs(v, "timestamp"), *nonce = vs(v, "nonce"), *enc = vs(v, "encrypt");
    char sig[WECOM_SIG_LEN + 2];
    strcpy(sig, vs(v, "msg_signature"));
    sig[10] = sig[10] == '0' ? '1' : '0';
    expect_einval(wecom_verify(&w, sig, ts, nonce, enc, &e), &e, "msg_signature mismatch");
    strcpy(sig, vs(v, "msg_signature"));
    expect_einval(wecom_verify(&w, sig, "1409659814", nonce, enc, &e), &e, "mismatch");
    expect_einval(wecom_verify(&w, sig, ts, nonce, "RypE", &e), &e, "mismatch");
    expect_einval(wecom_verify(&w, sig, NULL, nonce, enc, &e), &e, "missing timestamp");
    expect_einval(wecom_verify(&w, sig, ts, NULL, enc, &e), &e, "missing nonce");
    expect_einval(wecom_verify(&w, sig, ts, nonce, NULL, &e), &e, "missing encrypt value");
    expect_einval(wecom_verify(&w, "", ts, nonce, enc, &e), &e, "missing msg_signature");
    sig[1] = 'F'; /* 477715d1... -> 4F7715d1... */
    expect_einval(wecom_verify(&w, sig, ts, nonce, enc, &e), &e,
                  "character 2 is not a lowercase hex digit");
    strcpy(sig, vs(v, "msg_signature"));
    strcat(sig, "0");
    expect_einval(wecom_verify(&w, sig, ts, nonce, enc, &e), &e, "41 characters instead of 40");
    /* another token signs differently */
    wecom other;
    assert_int_equal(
        wecom_init(&other, "QDG6eL", vs(v, "encoding_aes_key"), vs(v, "receive_id"), &e), NY_OK);
    expect_einval(wecom_verify(&other, vs(v, "msg_signature"), ts, nonce, enc, &e), &e, "mismatch");
    /* a changed ciphertext in an envelope is caught by the signature */
    char body[1024];
    snprintf(body, sizeof body, "<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>", enc);
    char *p = strstr(body, "RypE");
    p[5] = p[5] == 'A' ? 'B' : 'A';
    char *msg;
    expect_einval(open_v(v, &w, body, WECOM_XML, &msg, &e), &e, "msg_signature mismatch");
    assert_null(msg);
}

/* Base64 of n bytes encrypted with AES-256-CBC under w's key as they are,
 * without any padding of our own: a ciphertext with chosen framing. */
static char *raw_cipher(const wecom *w, const unsigned char *pt, size_t n)
{
    unsigned char *ct = malloc(n + 1);
    assert_non_null(ct);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, w->key, w->key), 1);
    assert_int_equal(EVP_CIPHER_CTX_set_padding(c, 0), 1);
    assert_int_equal(EVP_EncryptUpdate(c, ct, &l1, pt, (int)n), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, ct + l1, &l2), 1);
    EVP_CIPHER_CTX_free(c);
    assert_int_equal((size_t)(l1 + l2), n);
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(cap);
    assert_non_null(out);
    sodium_bin2base64(out, cap, ct, n, sodium_base64_VARIANT_ORIGINAL);
    free(ct);
    return out;
}

/* A framed plaintext: random prefix, length field mlen, msg, trailer rid,
 * then pad bytes of value padval; returns the total length. */
static size_t frame(unsigned char *buf, uint32_t mlen, const char *msg, size_t msglen,
                    const char *rid, size_t pad, unsigned padval)
{
    memset(buf, 0x5a, WECOM_RANDOM_LEN);
    buf[16] = (unsigned char)(mlen >> 24);
    buf[17] = (unsigned char)(mlen >> 16);
    buf[18] = (unsigned char)(mlen >> 8);
    buf[19] = (unsigned char)mlen;
    memcpy(buf + 20, msg, msglen);
    memcpy(buf + 20 + msglen, rid, strlen(rid));
    size_t n = 20 + msglen + strlen(rid);
    memset(buf + n, (int)padval, pad);
    return n + pad;
}

/* Decrypting a raw ciphertext of n bytes of pt must fail with why. */
static void expect_bad_frame(const wecom *w, const unsigned char *pt, size_t n, const char *why)
{
    assert_int_equal(n % 16, 0);
    char *b64 = raw_cipher(w, pt, n), *msg = (char *)"untouched";
    size_t len;
    ny_err e;
    expect_einval(wecom_decrypt(w, b64, &msg, &len, &e), &e, why);
    assert_null(msg);
    free(b64);
}

static void test_bad_ciphertexts(void **state)
{
    (void)state;
    wecom w;
    v1_init(&w);
    ny_err e;
    char *msg;
    size_t len;
    static const struct {
        const char *enc, *why;
    } b64[] = {
        {"", "empty encrypt value"},
        {"abc", "length 3 is not a multiple of 4"},
        {"ab!d", "character 3 is not in the alphabet"},
        {"a=bc", "character 2 is not in the alphabet"},
        {"ab c", "character 3 is not in the alphabet"},
        {"====", "character 1 is not in the alphabet"},
        {"AAAA", "ciphertext length 3 is not a positive multiple of 32"},
        {"AAAAAAAAAAAAAAAAAAAAAA==", "ciphertext length 16 is not a positive multiple of 32"},
    };
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++)
        expect_einval(wecom_decrypt(&w, b64[i].enc, &msg, &len, &e), &e, b64[i].why);
    expect_einval(wecom_decrypt(&w, NULL, &msg, &len, &e), &e, "empty encrypt value");

    unsigned char pt[256];
    const char *rid = "wx5823bf96d3bd56c7"; /* 18 bytes: header 20 + 5 + 18 = 43, pad 21 */
    assert_int_equal(frame(pt, 5, "hello", 5, rid, 21, 21), 64);
    char *good = raw_cipher(&w, pt, 64);
    assert_int_equal(wecom_decrypt(&w, good, &msg, &len, &e), NY_OK);
    assert_string_equal(msg, "hello");
    free(msg);
    /* a changed byte in the last block garbles the padding */
    char *p = good + strlen(good) - 6;
    *p = *p == 'A' ? 'B' : 'A';
    expect_einval(wecom_decrypt(&w, good, &msg, &len, &e), &e, "bad padding");
    free(good);

    frame(pt, 5, "hello", 5, rid, 21, 0);
    expect_bad_frame(&w, pt, 64, "last byte 0 is outside 1..32");
    frame(pt, 5, "hello", 5, rid, 21, 33);
    expect_bad_frame(&w, pt, 64, "last byte 33 is outside 1..32");
    frame(pt, 5, "hello", 5, rid, 21, 21);
    pt[50] = 20;
    expect_bad_frame(&w, pt, 64, "the last 21 bytes are not all 21");
    memset(pt, 32, 32);
    expect_bad_frame(&w, pt, 32, "plaintext of 0 bytes is shorter than its 20-byte header");
    frame(pt, 6, "hello", 5, rid, 21, 21);
    expect_bad_frame(&w, pt, 64, "receive_id mismatch");
    frame(pt, 24, "hello", 5, rid, 21, 21);
    expect_bad_frame(&w, pt, 64, "length field 24 exceeds the 23 bytes after the header");
    frame(pt, 0xffffffffu, "hello", 5, rid, 21, 21);
    expect_bad_frame(&w, pt, 64, "length field 4294967295 exceeds");
    frame(pt, 5, "hello", 5, "wx5823bf96d3bd56c8", 21, 21);
    expect_bad_frame(&w, pt, 64, "receive_id mismatch");
    /* a pad value of 32 needs a whole block of 32s: cut short it is refused */
    assert_int_equal(frame(pt, 6, "hello!", 6, "wx5823bf96d3bd56", 32, 32), 74);
    expect_bad_frame(&w, pt, 64, "the last 32 bytes are not all 32");
    /* and a full block of them is right when the framed message fills 64 bytes */
    assert_int_equal(frame(pt, 26, "hello!hello!hello!hello!hi", 26, rid, 32, 32), 96);
    char *enc = raw_cipher(&w, pt, 96);
    assert_int_equal(wecom_decrypt(&w, enc, &msg, &len, &e), NY_OK);
    assert_int_equal(len, 26);
    free(msg);
    free(enc);
    /* an absurdly long value is refused before anything is allocated for it */
    size_t huge = (size_t)WECOM_MSG_MAX / 3 * 4 + 4096;
    char *big = malloc(huge + 1);
    assert_non_null(big);
    memset(big, 'A', huge);
    big[huge] = '\0';
    expect_einval(wecom_decrypt(&w, big, &msg, &len, &e), &e, "too long");
    free(big);
}

/* splitmix64: a fixed-seed source for the robustness loop. */
static uint64_t rnd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Applies 1..4 random edits to the NUL-terminated s (capacity cap) using
 * characters from alphabet or any byte. */
static void mutate(uint64_t *r, char *s, size_t cap, const char *alphabet)
{
    int edits = 1 + (int)(rnd_next(r) % 4);
    size_t alen = strlen(alphabet);
    for (int k = 0; k < edits; k++) {
        size_t n = strlen(s), i = n ? rnd_next(r) % n : 0;
        uint64_t x = rnd_next(r);
        char c = (x >> 8) % 4 == 0 ? (char)(1 + (x >> 16) % 255) : alphabet[(x >> 16) % alen];
        switch (x % 5) {
        case 0: /* replace */
            if (n)
                s[i] = c;
            break;
        case 1: /* delete */
            if (n)
                memmove(s + i, s + i + 1, n - i);
            break;
        case 2: /* insert */
            if (n + 2 < cap) {
                memmove(s + i + 1, s + i, n - i + 1);
                s[i] = c;
            }
            break;
        case 3: /* truncate */
            s[i] = '\0';
            break;
        default: /* swap two characters */
            if (n) {
                size_t j = rnd_next(r) % n;
                char t = s[i];
                s[i] = s[j];
                s[j] = t;
            }
        }
    }
}

/* rc must be NY_OK (then *msg is set and freed here) or NY_EINVAL. */
static void accept_rc(int rc, char *msg, const ny_err *e, unsigned long iter)
{
    if (rc == NY_OK) {
        assert_non_null(msg);
        free(msg);
    } else if (rc != NY_EINVAL) {
        fail_msg("iteration %lu: rc %d, %s", iter, rc, e->msg);
    } else {
        assert_null(msg);
        assert_true(e->msg[0] != '\0');
    }
}

static void test_robustness(void **state)
{
    (void)state;
    const json_t *v = json_array_get(vectors, 0);
    wecom w;
    v1_init(&w);
    const char *ts = vs(v, "timestamp"), *nonce = vs(v, "nonce");
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    static const char xml[] = "<>/![]CDATAEncryptxml= \n\"{}:,\\u0";
    uint64_t r = 20240601;
    char buf[2048], body[2600], sig[WECOM_SIG_LEN + 1];
    unsigned char pt[512];
    for (unsigned long it = 0; it < 20000; it++) {
        ny_err e;
        char *msg = NULL;
        size_t len = 0;
        int rc;
        switch (it % 5) {
        case 0: /* mutated ciphertext, correctly signed, through the XML path */
            strcpy(buf, vs(v, "encrypt"));
            mutate(&r, buf, sizeof buf, b64);
            assert_int_equal(wecom_signature(&w, ts, nonce, buf, sig, &e), NY_OK);
            snprintf(body, sizeof body, "<xml><Encrypt><![CDATA[%s]]></Encrypt></xml>", buf);
            rc = wecom_open(&w, sig, ts, nonce, body, strlen(body), WECOM_XML, &msg, &len, &e);
            accept_rc(rc, msg, &e, it);
            break;
        case 1: { /* random framing under the right key */
            size_t blocks = 1 + rnd_next(&r) % 8, n = 32 * blocks;
            for (size_t i = 0; i < n; i++)
                pt[i] = (unsigned char)rnd_next(&r);
            if (rnd_next(&r) % 2) { /* valid padding, small length field */
                unsigned pad = 1 + (unsigned)(rnd_next(&r) % 32);
                memset(pt + n - pad, (int)pad, pad);
                pt[16] = pt[17] = 0;
                pt[18] = (unsigned char)(rnd_next(&r) % 2);
            }
            char *enc = raw_cipher(&w, pt, n);
            rc = wecom_decrypt(&w, enc, &msg, &len, &e);
            accept_rc(rc, msg, &e, it);
            free(enc);
            break;
        }
        case 2: /* mutated XML envelope */
            snprintf(body, sizeof body,
                     "<?xml version=\"1.0\"?><xml><ToUserName><![CDATA[a]]></ToUserName>"
                     "<Encrypt><![CDATA[%s]]></Encrypt><AgentID>218</AgentID></xml>",
                     vs(v, "encrypt"));
            mutate(&r, body, sizeof body, xml);
            rc = wecom_envelope_xml(body, strlen(body), &msg, &e);
            accept_rc(rc, msg, &e, it);
            msg = NULL;
            rc = wecom_open(&w, vs(v, "msg_signature"), ts, nonce, body, strlen(body), WECOM_XML,
                            &msg, &len, &e);
            accept_rc(rc, msg, &e, it);
            break;
        case 3: /* mutated JSON envelope */
            snprintf(body, sizeof body, "{\"encrypt\":\"%s\",\"agentid\":1}", vs(v, "encrypt"));
            mutate(&r, body, sizeof body, xml);
            rc = wecom_open(&w, vs(v, "msg_signature"), ts, nonce, body, strlen(body), WECOM_JSON,
                            &msg, &len, &e);
            accept_rc(rc, msg, &e, it);
            break;
        default: { /* random bytes everywhere */
            size_t n = rnd_next(&r) % 300;
            for (size_t i = 0; i < n; i++)
                body[i] = (char)(1 + rnd_next(&r) % 255);
            body[n] = '\0';
            rc = wecom_decrypt(&w, body, &msg, &len, &e);
            accept_rc(rc, msg, &e, it);
            msg = NULL;
            rc = wecom_verify(&w, body, ts, nonce, vs(v, "encrypt"), &e);
            assert_int_equal(rc, NY_EINVAL);
            rc = wecom_open(&w, sig, ts, body, body, n, (wecom_format)(1 + it % 2), &msg, &len, &e);
            accept_rc(rc, msg, &e, it);
            msg = NULL;
            rc = wecom_verify_url(&w, sig, body, nonce, body, &msg, &len, &e);
            accept_rc(rc, msg, &e, it);
        }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decrypt_vectors), cmocka_unit_test(test_encrypt_vector),
        cmocka_unit_test(test_verify_url),      cmocka_unit_test(test_envelope_xml),
        cmocka_unit_test(test_envelope_json),   cmocka_unit_test(test_ai_bot_round_trip),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_reply),
        cmocka_unit_test(test_init_errors),     cmocka_unit_test(test_signature_errors),
        cmocka_unit_test(test_bad_ciphertexts), cmocka_unit_test(test_robustness),
    };
    return cmocka_run_group_tests_name("wecom", tests, load_vectors, free_vectors);
}
