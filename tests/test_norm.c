/* test_norm.c - unit tests of the text normalisation in norm.c: full-width
 * forms, case folding, traditional → simplified characters, zero-width and
 * control characters, white space, composition of combining marks, repair and
 * strict rejection of invalid UTF-8, the offset map, very long and empty
 * input, random bytes, and the idempotence of the table over the whole BMP. */
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "norm.h"
#include "testutil.h"

static norm_table *tab;

static int setup(void **state)
{
    (void)state;
    ny_err e;
    return norm_open(&tab, &e) == NY_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    norm_close(tab);
    return 0;
}

/* Normalises len bytes of s (repairing) and compares with want. */
static void check_n(const char *s, size_t len, const char *want)
{
    norm_buf b = NORM_BUF_INIT;
    ny_err e;
    assert_int_equal(norm_text(tab, s, len, 0, &b, &e), NY_OK);
    assert_string_equal(b.s, want);
    assert_int_equal(b.len, strlen(want));
    norm_buf_free(&b);
}

static void check(const char *s, const char *want)
{
    check_n(s, strlen(s), want);
}

static void test_fullwidth_and_case(void **state)
{
    (void)state;
    check("ＡＢＣ１２３", "abc123");
    check("Ｈｅｌｌｏ，Ｗｏｒｌｄ！", "hello,world!");
    check("电话：１３８－０００（转）", "电话:138-000(转)");
    check("WiFi密码ABC", "wifi密码abc");
    check("Straße", "strasse");
    check("ΣΊΣΥΦΟΣ", "σίσυφοσ");
    check("ﬁｘ ①号楼 ㎡ ㍿", "fix 1号楼 m2 株式会社");
    check("\xF0\x9D\x90\x80\xF0\x9D\x90\x81", "ab"); /* mathematical bold A, B */
    check("水管😀漏了", "水管😀漏了");                 /* emoji pass through */
}

static void test_traditional(void **state)
{
    (void)state;
    check("電梯壞了", "电梯坏了");
    check("繁體", "繁体");
    check("樓道裡的燈不亮，請儘快維修", "楼道里的灯不亮,请尽快维修");
    check("醫保繳費", "医保缴费");
    check("ＡＢ棟電錶", "ab栋电表");
    check("电梯坏了", "电梯坏了"); /* simplified stays */
    size_t len;
    const char *pairs = norm_t2s_pairs(&len);
    assert_true(len > 3000 * 6);
    assert_int_equal(domain_utf8_check(pairs, len, NULL), NY_OK);
}

static void test_zero_width_and_control(void **state)
{
    (void)state;
    check("电\xE2\x80\x8B梯\xEF\xBB\xBF坏\xE2\x80\x8D了\xE2\x81\xA0", "电梯坏了");
    check("\xEF\xBB\xBF"
          "BOM",
          "bom");
    check("a\xC2\xAD"
          "b",
          "ab"); /* soft hyphen */
    check_n("a\x01"
            "b\x7f"
            "c\0d\x1b[0m",
            11, "abcd[0m");
    check("x\xE2\x80\xAEy\xE2\x81\xA6z", "xyz"); /* bidi controls */
    check("\xC2\x80\xC2\x9F"
          "ok",
          "ok"); /* C1 controls */
}

static void test_whitespace(void **state)
{
    (void)state;
    check("  电梯  \t坏了 \n\r 快修  ", "电梯 坏了 快修");
    check("第一行\n第二行\r\n第三行", "第一行 第二行 第三行");
    check("a\xC2\xA0\xE3\x80\x80\xE2\x80\x83"
          "b",
          "a b"); /* NBSP, ideographic space, em space */
    check("a\xE2\x80\xA8"
          "b\xE2\x80\xA9"
          "c\xC2\x85"
          "d",
          "a b c d");
    check(" \t\n\r\xE3\x80\x80 ", "");
    check("a \xE2\x80\x8B b", "a b"); /* zero-width between spaces */
}

static void test_composition(void **state)
{
    (void)state;
    check("e\xCC\x81", "\xC3\xA9");                    /* e + acute → é */
    check("E\xCC\x81t\xC3\xA9", "\xC3\xA9t\xC3\xA9");  /* case folded, composed */
    check("\xEF\xBD\xB6\xEF\xBE\x9E", "\xE3\x82\xAC"); /* half-width ｶﾞ → ガ */
    check("\xE3\x81\x8B\xE3\x82\x99", "\xE3\x81\x8C"); /* か + voiced mark → が */
    check("\xE1\x84\x80\xE1\x85\xA1", "\xEA\xB0\x80"); /* Hangul L + V → 가 */
    check("\xCC\x81"
          "a",
          "\xCC\x81"
          "a");                                            /* a mark with nothing before it stays */
    check("\xE9\x9B\xBB\xCC\x81", "\xE7\x94\xB5\xCC\x81"); /* 電 + mark: still 电 */
    /* a very long run of marks is composed in bounded segments */
    char buf[1 + 2 * 200 + 1];
    buf[0] = 'o';
    for (int i = 0; i < 200; i++)
        memcpy(buf + 1 + 2 * i, "\xCC\x88", 2);
    buf[sizeof buf - 1] = '\0';
    norm_buf b = NORM_BUF_INIT;
    ny_err e;
    assert_int_equal(norm_text(tab, buf, strlen(buf), 0, &b, &e), NY_OK);
    assert_memory_equal(b.s, "\xC3\xB6", 2); /* o + diaeresis → ö */
    assert_int_equal(b.len, 2 + 2 * 199);
    norm_buf_free(&b);
}

static void test_invalid_repair(void **state)
{
    (void)state;
    check("ab\xFF"
          "cd",
          "ab\xEF\xBF\xBD"
          "cd");
    check("x\xE7\x94", "x\xEF\xBF\xBD\xEF\xBF\xBD");               /* truncated at the end */
    check("\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD");                 /* overlong */
    check("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* surrogate */
    check("\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    check("\x80\xCC\x81", "\xEF\xBF\xBD\xCC\x81"); /* a mark after a repaired byte */
    check("電\xFE梯", "电\xEF\xBF\xBD梯");
}

static void test_invalid_strict(void **state)
{
    (void)state;
    norm_buf b = NORM_BUF_INIT;
    ny_err e;
    const char *bad = "电梯\xE5\x9D";
    assert_int_equal(norm_text(tab, bad, strlen(bad), NORM_STRICT, &b, &e), NY_EINVAL);
    assert_int_equal(e.code, NY_EINVAL);
    assert_int_equal(e.index, 6);
    assert_non_null(strstr(e.msg, "offset 6"));
    assert_int_equal(b.len, 0);
    assert_int_equal(norm_text(tab, "\xC0\x80", 2, NORM_STRICT | NORM_OFFSETS, &b, &e), NY_EINVAL);
    assert_int_equal(e.index, 0);
    assert_int_equal(norm_text(tab, "電梯", strlen("電梯"), NORM_STRICT, &b, &e), NY_OK);
    assert_string_equal(b.s, "电梯");
    norm_buf_free(&b);
}

static void test_offsets(void **state)
{
    (void)state;
    norm_buf b = NORM_BUF_INIT;
    ny_err e;
    const char *in = "  Ｗｉｆｉ\xE2\x80\x8B  電梯壞了\n";
    assert_int_equal(norm_text(tab, in, strlen(in), NORM_OFFSETS, &b, &e), NY_OK);
    assert_string_equal(b.s, "wifi 电梯坏了");
    size_t os, oe;
    norm_span(&b, 0, 4, &os, &oe); /* wifi */
    assert_int_equal(os, 2);
    assert_int_equal(oe, 14);
    const char *p = strstr(b.s, "电梯");
    norm_span(&b, (size_t)(p - b.s), (size_t)(p - b.s) + 6, &os, &oe);
    assert_int_equal(os, strstr(in, "電梯") - in);
    assert_int_equal(oe - os, strlen("電梯"));
    norm_span(&b, 4, 5, &os, &oe); /* the collapsed space covers the run */
    assert_int_equal(os, 17);
    assert_int_equal(oe, 19);
    /* composition: the whole segment */
    assert_int_equal(norm_text(tab, "xe\xCC\x81y", 5, NORM_OFFSETS, &b, &e), NY_OK);
    assert_string_equal(b.s, "x\xC3\xA9y");
    norm_span(&b, 1, 3, &os, &oe);
    assert_int_equal(os, 1);
    assert_int_equal(oe, 4);
    /* plain and offset runs agree on random text */
    norm_buf c = NORM_BUF_INIT;
    srand(7);
    for (int r = 0; r < 200; r++) {
        char buf[300];
        size_t len = (size_t)(rand() % 300);
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(rand() % 4 ? 0xE0 + rand() % 32 : rand() % 256);
        assert_int_equal(norm_text(tab, buf, len, 0, &b, &e), NY_OK);
        assert_int_equal(norm_text(tab, buf, len, NORM_OFFSETS, &c, &e), NY_OK);
        assert_int_equal(b.len, c.len);
        assert_memory_equal(b.s, c.s, b.len);
        for (size_t i = 0; i < c.len; i++) {
            norm_span(&c, i, i + 1, &os, &oe);
            assert_true(os < oe && oe <= len);
        }
    }
    norm_buf_free(&c);
    norm_buf_free(&b);
}

static void test_long_and_empty(void **state)
{
    (void)state;
    norm_buf b = NORM_BUF_INIT;
    ny_err e;
    assert_int_equal(norm_text(tab, "", 0, 0, &b, &e), NY_OK);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.s, "");
    assert_int_equal(norm_text(tab, NULL, 0, NORM_OFFSETS, &b, &e), NY_OK);
    assert_int_equal(b.len, 0);
    /* an appeal-sized text and a much longer one */
    const char *unit = "  電梯ＡＢ\xEF\xB7\xBA  \xFF";
    size_t ul = strlen(unit), reps = 100000;
    char *big = malloc(ul * reps);
    assert_non_null(big);
    for (size_t i = 0; i < reps; i++)
        memcpy(big + i * ul, unit, ul);
    assert_int_equal(norm_text(tab, big, ul * reps, NORM_OFFSETS, &b, &e), NY_OK);
    norm_buf one = NORM_BUF_INIT;
    assert_int_equal(norm_text(tab, unit, ul, 0, &one, &e), NY_OK);
    /* U+FDFA expands to 33 bytes: far more than 3 per input byte */
    assert_true(one.len > 40);
    assert_int_equal(b.len, reps * (one.len + 1) - 1);
    assert_memory_equal(b.s, one.s, one.len);
    assert_int_equal(domain_utf8_check(b.s, b.len, NULL), NY_OK);
    /* the buffer is reused: a short text afterwards */
    assert_int_equal(norm_text(tab, "短", 3, 0, &b, &e), NY_OK);
    assert_string_equal(b.s, "短");
    norm_buf_free(&one);
    norm_buf_free(&b);
    free(big);
}

/* Random bytes and random characters: never a failure, always valid UTF-8
 * with no leading, trailing or double space, and idempotent. */
static void test_random_idempotent(void **state)
{
    (void)state;
    norm_buf a = NORM_BUF_INIT, b = NORM_BUF_INIT;
    ny_err e;
    srand(42);
    static const char *pieces[] = {"電",
                                   "梯",
                                   "Ａ",
                                   "a",
                                   " ",
                                   "\t",
                                   "\xE2\x80\x8B",
                                   "\xCC\x81",
                                   "\xEF\xBE\x9E",
                                   "\xEF\xBD\xB6",
                                   "ß",
                                   "😀",
                                   "\xFF",
                                   "\xE5",
                                   "\xEF\xB7\xBA",
                                   "\xC2\xA8",
                                   "①",
                                   "\xE1\x85\xA1",
                                   "\n"};
    size_t np = sizeof pieces / sizeof pieces[0];
    for (int r = 0; r < 3000; r++) {
        char buf[400];
        size_t len = 0;
        int mode = r % 2;
        while (len < 300) {
            if (mode) {
                buf[len++] = (char)(rand() % 256);
            } else {
                const char *p = pieces[rand() % (int)np];
                memcpy(buf + len, p, strlen(p));
                len += strlen(p);
            }
            if (rand() % 40 == 0)
                break;
        }
        assert_int_equal(norm_text(tab, buf, len, 0, &a, &e), NY_OK);
        assert_int_equal(domain_utf8_check(a.s, a.len, NULL), NY_OK);
        assert_int_equal(strlen(a.s), a.len);
        if (a.len) {
            assert_true(a.s[0] != ' ' && a.s[a.len - 1] != ' ');
            assert_null(strstr(a.s, "  "));
        }
        assert_int_equal(norm_text(tab, a.s, a.len, NORM_STRICT, &b, &e), NY_OK);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.s, b.s, a.len);
    }
    norm_buf_free(&a);
    norm_buf_free(&b);
}

/* Every BMP character on its own: normalising twice changes nothing. */
static void test_table_idempotent(void **state)
{
    (void)state;
    norm_buf a = NORM_BUF_INIT, b = NORM_BUF_INIT;
    ny_err e;
    for (int cp = 1; cp < 0x10000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char u[4];
        size_t l = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
        if (l == 1) {
            u[0] = (char)cp;
        } else if (l == 2) {
            u[0] = (char)(0xC0 | cp >> 6);
            u[1] = (char)(0x80 | (cp & 0x3F));
        } else {
            u[0] = (char)(0xE0 | cp >> 12);
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
        }
        assert_int_equal(norm_text(tab, u, l, 0, &a, &e), NY_OK);
        assert_int_equal(norm_text(tab, a.s, a.len, 0, &b, &e), NY_OK);
        if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0)
            fail_msg("U+%04X is not idempotent", (unsigned)cp);
    }
    norm_buf_free(&a);
    norm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fullwidth_and_case),
        cmocka_unit_test(test_traditional),
        cmocka_unit_test(test_zero_width_and_control),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_composition),
        cmocka_unit_test(test_invalid_repair),
        cmocka_unit_test(test_invalid_strict),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_long_and_empty),
        cmocka_unit_test(test_random_idempotent),
        cmocka_unit_test(test_table_idempotent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
