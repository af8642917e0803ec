/* test_jbuf.c - tests of the hand-written JSON buffer (jbuf): every string
 * it writes parses back with jansson to the same bytes, whatever control
 * characters, quotes, backslashes or multi-byte UTF-8 it holds; NULL is
 * null; numbers and raw text go in as they are. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jbuf.h"
#include "testutil.h"

/* Writes ["s"] and parses it back; returns the parsed string (owned by
 * *doc). */
static const char *round_trip(const char *s, json_t **doc)
{
    jbuf b = {0};
    ny_err e;
    jbuf_add(&b, "[", 1);
    jbuf_str(&b, s);
    jbuf_add(&b, "]", 1);
    char *text;
    size_t len;
    MUST(jbuf_finish(&b, &text, &len, &e));
    assert_int_equal(len, strlen(text));
    *doc = json_loadb(text, len, 0, NULL);
    free(text);
    assert_non_null(*doc);
    return json_string_value(json_array_get(*doc, 0));
}

static void test_strings(void **state)
{
    (void)state;
    static const char *const cases[] = {"",
                                        "plain",
                                        "引号\"与\\反斜杠",
                                        "line\nbreak\ttab\rcr",
                                        "\x01\x1f\x7f",
                                        "路灯坏了",
                                        "emoji 😀 end",
                                        "/slash/",
                                        "\"",
                                        "\\"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *doc;
        const char *back = round_trip(cases[i], &doc);
        assert_non_null(back);
        assert_string_equal(back, cases[i]);
        json_decref(doc);
    }
    char all[32]; /* every control character */
    for (int c = 1; c < 32; c++)
        all[c - 1] = (char)c;
    all[31] = '\0';
    json_t *doc;
    assert_string_equal(round_trip(all, &doc), all);
    json_decref(doc);
    /* long runs are scanned eight bytes at a time: each character that
     * needs escaping at every offset, after Chinese or ASCII text and
     * before more of both (bytes just above and below the escaped ones) */
    static const char special[] = {'"', '\\', '\x01', '\x1f', '\n', '\0'};
    for (size_t k = 0; special[k]; k++)
        for (int at = 0; at < 30; at++) {
            char text[96];
            int n = 0;
            for (int i = 0; i + 3 <= at; i += 3)
                n += snprintf(text + n, sizeof text - (size_t)n, "路");
            for (int i = at / 3 * 3; i < at; i++)
                text[n++] = (char)('!' + i % 60); /* '!' .. '\\' and beyond */
            text[n++] = special[k];
            snprintf(text + n, sizeof text - (size_t)n, "灯坏了#[]~\x7f abc 路灯坏了");
            assert_string_equal(round_trip(text, &doc), text);
            json_decref(doc);
        }
}

static void test_shapes(void **state)
{
    (void)state;
    jbuf b = {0};
    ny_err e;
    jbuf_puts(&b, "{\"a\":");
    jbuf_str(&b, NULL);
    jbuf_puts(&b, ",\"n\":");
    jbuf_int(&b, -1234567890123LL);
    jbuf_puts(&b, ",\"s\":");
    jbuf_str(&b, "x");
    jbuf_add(&b, "}", 1);
    char *text;
    MUST(jbuf_finish(&b, &text, NULL, &e));
    assert_string_equal(text, "{\"a\":null,\"n\":-1234567890123,\"s\":\"x\"}");
    assert_null(b.p); /* handed over */
    free(text);
    jbuf big = {0}; /* growth across many reallocations */
    for (int i = 0; i < 10000; i++)
        jbuf_str(&big, "长文本");
    size_t len;
    MUST(jbuf_finish(&big, &text, &len, &e));
    assert_int_equal(len, 10000 * (strlen("长文本") + 2));
    free(text);
    jbuf unused = {0};
    jbuf_puts(&unused, "dropped");
    jbuf_free(&unused);
    assert_null(unused.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
