/* test_sign.c - unit tests of the request signatures (sign.h).
 *
 * Connector signatures are checked against OpenSSL's HMAC as an independent
 * reference, then verified at the edges of the five-minute replay window
 * (300 s either way passes, 301 s fails as stale), with changed bodies,
 * secrets and timestamp spellings, and with every malformed header and
 * timestamp. The DingTalk and Feishu robot signatures must reproduce the
 * check values of ../shared/reference/domain.md. Needs no database. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sign.h"

/* Asserts rc == NY_EINVAL and that the message contains part. */
static void expect_einval(int rc, const ny_err *e, const char *part)
{
    assert_int_equal(rc, NY_EINVAL);
    if (!strstr(e->msg, part))
        fail_msg("message \"%s\" lacks \"%s\"", e->msg, part);
}

/* "sha256=" + hex HMAC-SHA256(secret, ts + body), computed by OpenSSL. */
static void reference(const char *secret, const char *ts, const char *body, char *out)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s%s", ts, body);
    unsigned char md[32];
    unsigned int mdlen = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
                         (size_t)n, md, &mdlen));
    assert_int_equal(mdlen, 32);
    strcpy(out, "sha256=");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static void test_connector_matches_reference(void **state)
{
    (void)state;
    static const struct {
        const char *secret, *ts, *body;
    } cases[] = {
        {"s3cret", "1700000000", "{\"id\":\"m1\",\"text\":\"路灯坏了\"}"},
        {"k", "0", ""},
        /* a secret longer than the SHA-256 block is hashed first */
        {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
         "999999999999999999", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[SIGN_HEADER_LEN + 1], want[80];
        ny_err e;
        assert_int_equal(sign_connector(cases[i].secret, cases[i].ts, cases[i].body,
                                        strlen(cases[i].body), got, &e),
                         NY_OK);
        reference(cases[i].secret, cases[i].ts, cases[i].body, want);
        assert_string_equal(got, want);
        assert_int_equal(strlen(got), SIGN_HEADER_LEN);
    }
    char got[SIGN_HEADER_LEN + 1], want[80];
    ny_err e;
    assert_int_equal(sign_connector("k", "0", NULL, 0, got, &e), NY_OK);
    reference("k", "0", "", want);
    assert_string_equal(got, want);
}

static void test_connector_verify_window(void **state)
{
    (void)state;
    const char *body = "{\"messages\":[]}", *ts = "1700000000";
    char h[SIGN_HEADER_LEN + 1];
    ny_err e;
    assert_int_equal(sign_connector("s3cret", ts, body, strlen(body), h, &e), NY_OK);
    int64_t t = 1700000000;
    assert_int_equal(sign_connector_verify("s3cret", ts, body, strlen(body), h, t, &e), NY_OK);
    assert_int_equal(sign_connector_verify("s3cret", ts, body, strlen(body), h, t + 300, &e),
                     NY_OK);
    assert_int_equal(sign_connector_verify("s3cret", ts, body, strlen(body), h, t - 300, &e),
                     NY_OK);
    expect_einval(sign_connector_verify("s3cret", ts, body, strlen(body), h, t + 301, &e), &e,
                  "stale timestamp: 301 s old");
    expect_einval(sign_connector_verify("s3cret", ts, body, strlen(body), h, t - 301, &e), &e,
                  "stale timestamp: 301 s in the future");
    expect_einval(sign_connector_verify("s3cret", ts, body, strlen(body), h, 0, &e), &e, "stale");
    /* the header's hex digits may come in either case */
    for (char *p = h + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(sign_connector_verify("s3cret", ts, body, strlen(body), h, t, &e), NY_OK);
}

static void test_connector_mismatch(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"m1\"}", *ts = "1700000000";
    char h[SIGN_HEADER_LEN + 1];
    ny_err e;
    int64_t t = 1700000000;
    assert_int_equal(sign_connector("s3cret", ts, body, strlen(body), h, &e), NY_OK);
    expect_einval(sign_connector_verify("s3cret", ts, "{\"id\":\"m2\"}", strlen(body), h, t, &e),
                  &e, "signature mismatch");
    expect_einval(sign_connector_verify("s3cret", ts, body, strlen(body) - 1, h, t, &e), &e,
                  "signature mismatch");
    expect_einval(sign_connector_verify("s3cret!", ts, body, strlen(body), h, t, &e), &e,
                  "signature mismatch");
    expect_einval(sign_connector_verify("s3cret", "1700000001", body, strlen(body), h, t, &e), &e,
                  "signature mismatch");
    /* the same instant spelt differently is a different signed text */
    expect_einval(sign_connector_verify("s3cret", "01700000000", body, strlen(body), h, t, &e), &e,
                  "signature mismatch");
    char flipped[SIGN_HEADER_LEN + 1];
    for (size_t i = 7; i < SIGN_HEADER_LEN; i++) {
        strcpy(flipped, h);
        flipped[i] = flipped[i] == '0' ? '1' : '0';
        expect_einval(sign_connector_verify("s3cret", ts, body, strlen(body), flipped, t, &e), &e,
                      "signature mismatch");
    }
}

static void test_connector_malformed(void **state)
{
    (void)state;
    const char *body = "{}", *ts = "1700000000";
    char h[SIGN_HEADER_LEN + 1], bad[SIGN_HEADER_LEN + 8];
    ny_err e;
    int64_t t = 1700000000;
    assert_int_equal(sign_connector("s3cret", ts, body, 2, h, &e), NY_OK);
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, NULL, t, &e), &e,
                  "missing X-Nuanyang-Signature header");
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, "", t, &e), &e, "missing");
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, h + 7, t, &e), &e,
                  "does not start with \"sha256=\"");
    strcpy(bad, h);
    memcpy(bad, "SHA256=", 7);
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, bad, t, &e), &e,
                  "does not start with");
    strcpy(bad, h);
    bad[SIGN_HEADER_LEN - 1] = '\0';
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, bad, t, &e), &e,
                  "63 hex digits instead of 64");
    snprintf(bad, sizeof bad, "%s0", h);
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, bad, t, &e), &e,
                  "65 hex digits instead of 64");
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, "sha256=", t, &e), &e,
                  "0 hex digits");
    strcpy(bad, h);
    bad[40] = 'g';
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, bad, t, &e), &e, "non-hex");
    strcpy(bad, h);
    bad[20] = ' ';
    expect_einval(sign_connector_verify("s3cret", ts, body, 2, bad, t, &e), &e, "non-hex");

    static const struct {
        const char *ts, *why;
    } tss[] = {
        {"", "missing timestamp"},
        {"-1700000000", "byte 1 is not a decimal digit"},
        {"+1700000000", "byte 1 is not a decimal digit"},
        {" 1700000000", "byte 1 is not a decimal digit"},
        {"1700000000 ", "byte 11 is not a decimal digit"},
        {"1.7e9", "byte 2 is not a decimal digit"},
        {"1700000000000000000", "more than 18 digits"},
    };
    for (size_t i = 0; i < sizeof tss / sizeof tss[0]; i++) {
        expect_einval(sign_connector_verify("s3cret", tss[i].ts, body, 2, h, t, &e), &e,
                      tss[i].why);
        expect_einval(sign_connector("s3cret", tss[i].ts, body, 2, bad, &e), &e, tss[i].why);
    }
    expect_einval(sign_connector_verify("s3cret", NULL, body, 2, h, t, &e), &e,
                  "missing timestamp");
    expect_einval(sign_connector_verify("", ts, body, 2, h, t, &e), &e, "empty connector secret");
    expect_einval(sign_connector_verify(NULL, ts, body, 2, h, t, &e), &e, "empty connector");
    expect_einval(sign_connector_verify("s3cret", ts, NULL, 2, h, t, &e), &e, "body is NULL");
    expect_einval(sign_connector("", ts, body, 2, bad, &e), &e, "empty connector secret");
    expect_einval(sign_connector("s3cret", ts, NULL, 1, bad, &e), &e, "body is NULL");
}

static void test_dingtalk(void **state)
{
    (void)state;
    char s[SIGN_B64_LEN + 1];
    ny_err e;
    assert_int_equal(sign_dingtalk("SEC0123456789abcdef", 1700000000000, s, &e), NY_OK);
    assert_string_equal(s, "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk=");
    assert_int_equal(sign_dingtalk("SEC0123456789abcdef", 1700000000001, s, &e), NY_OK);
    assert_string_not_equal(s, "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk=");
    assert_int_equal(strlen(s), SIGN_B64_LEN);
    expect_einval(sign_dingtalk("", 1700000000000, s, &e), &e, "empty DingTalk robot secret");
    expect_einval(sign_dingtalk(NULL, 1700000000000, s, &e), &e, "empty DingTalk");
    expect_einval(sign_dingtalk("SEC1", -1, s, &e), &e, "negative DingTalk timestamp -1");
}

static void test_feishu(void **state)
{
    (void)state;
    char s[SIGN_B64_LEN + 1];
    ny_err e;
    assert_int_equal(sign_feishu("abcdefg", 1700000000, s, &e), NY_OK);
    assert_string_equal(s, "MG3+anzoaiz7TsNTZaSNwEZQ7N86Rd/HxssGOOkfrjI=");
    /* the key is "1700000000\nabcdefg" and the message empty: check with OpenSSL */
    unsigned char md[32];
    unsigned int mdlen = 0;
    const char *key = "1700000001\nabcdefg";
    assert_non_null(
        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)"", 0, md, &mdlen));
    unsigned char b64[64];
    assert_int_equal(EVP_EncodeBlock(b64, md, 32), SIGN_B64_LEN);
    assert_int_equal(sign_feishu("abcdefg", 1700000001, s, &e), NY_OK);
    assert_string_equal(s, (const char *)b64);
    expect_einval(sign_feishu("", 1700000000, s, &e), &e, "empty Feishu robot secret");
    expect_einval(sign_feishu("abcdefg", -5, s, &e), &e, "negative Feishu timestamp -5");
}

/* A prepared key answers as the secret does, any number of times (the state
 * it holds is copied, never advanced), and secrets longer than a block are
 * prepared the same way as short ones. */
static void test_prepared_key(void **state)
{
    (void)state;
    const char *secrets[] = {"s3cret",
                             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX"};
    const char *ts = "1700000000";
    int64_t t = 1700000000;
    ny_err e;
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        sign_key k;
        assert_int_equal(sign_key_prepare(secrets[i], &k, &e), NY_OK);
        for (int n = 0; n < 3; n++) {
            char body[200], h[SIGN_HEADER_LEN + 1];
            snprintf(body, sizeof body, "{\"id\":\"m%d\",\"text\":\"%0*d\"}", n, 40 * n + 1, n);
            assert_int_equal(sign_connector(secrets[i], ts, body, strlen(body), h, &e), NY_OK);
            assert_int_equal(sign_connector_verify_key(&k, ts, body, strlen(body), h, t, &e),
                             NY_OK);
            expect_einval(sign_connector_verify_key(&k, ts, body, strlen(body) - 1, h, t, &e), &e,
                          "signature mismatch");
            expect_einval(sign_connector_verify_key(&k, ts, body, strlen(body), h, t + 301, &e), &e,
                          "stale timestamp: 301 s old");
            expect_einval(sign_connector_verify_key(&k, ts, body, strlen(body), NULL, t, &e), &e,
                          "missing X-Nuanyang-Signature header");
        }
        sign_key other;
        assert_int_equal(sign_key_prepare("s3cret!", &other, &e), NY_OK);
        char h[SIGN_HEADER_LEN + 1];
        assert_int_equal(sign_connector(secrets[i], ts, "{}", 2, h, &e), NY_OK);
        expect_einval(sign_connector_verify_key(&other, ts, "{}", 2, h, t, &e), &e,
                      "signature mismatch");
        sign_key_free(&k);
        sign_key_free(&other);
    }
    sign_key k;
    expect_einval(sign_key_prepare("", &k, &e), &e, "empty connector secret");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connector_matches_reference),
        cmocka_unit_test(test_connector_verify_window),
        cmocka_unit_test(test_connector_mismatch),
        cmocka_unit_test(test_connector_malformed),
        cmocka_unit_test(test_prepared_key),
        cmocka_unit_test(test_dingtalk),
        cmocka_unit_test(test_feishu),
    };
    return cmocka_run_group_tests_name("sign", tests, NULL, NULL);
}
