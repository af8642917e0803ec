/* test_domain.c - unit tests of the vocabularies and identifier checks in
 * domain.c: division and grid codes, credit-code check characters, phone
 * masking and UTF-8 validation. No database involved. */
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "testutil.h"

static void test_vocabularies(void **state)
{
    (void)state;
    assert_int_equal(domain_level("district"), 0);
    assert_int_equal(domain_level("grid"), 3);
    assert_int_equal(domain_level("village"), -1);
    assert_int_equal(domain_level(NULL), -1);
    assert_int_equal(domain_index(domain_intents, "emergency"), 3);
    assert_true(domain_index(domain_categories, "劳动和社会保障") >= 0);
    assert_int_equal(domain_index(domain_categories, "劳动保障"), -1);
    assert_string_equal(domain_list_text(domain_group_kinds), "resident/enterprise");
    assert_string_equal(domain_list_text(domain_group_kinds), "resident/enterprise");
}

static void test_unit_codes(void **state)
{
    (void)state;
    ny_err e;
    assert_int_equal(domain_unit_code_check("district", "411571000000", NULL, &e), NY_OK);
    assert_int_equal(domain_unit_code_check("street", "411571001000", "411571000000", &e), NY_OK);
    assert_int_equal(domain_unit_code_check("community", "411571001001", "411571001000", &e),
                     NY_OK);
    assert_int_equal(domain_unit_code_check("grid", "411571001001001", "411571001001", &e), NY_OK);
    /* wrong length, letters, wrong parent, zero parts, trailing digits */
    assert_int_equal(domain_unit_code_check("district", "41157100000", NULL, &e), NY_EINVAL);
    assert_int_equal(domain_unit_code_check("district", "411571000001", NULL, &e), NY_EINVAL);
    assert_int_equal(domain_unit_code_check("street", "41157100A000", "411571000000", &e),
                     NY_EINVAL);
    assert_int_equal(domain_unit_code_check("street", "411572001000", "411571000000", &e),
                     NY_EINVAL);
    assert_non_null(strstr(e.msg, "parent"));
    assert_int_equal(domain_unit_code_check("street", "411571000000", "411571000000", &e),
                     NY_EINVAL);
    assert_int_equal(domain_unit_code_check("street", "411571001001", "411571000000", &e),
                     NY_EINVAL);
    assert_int_equal(domain_unit_code_check("community", "411571002001", "411571001000", &e),
                     NY_EINVAL);
    assert_int_equal(domain_unit_code_check("grid", "411571001001000", "411571001001", &e),
                     NY_EINVAL);
    assert_int_equal(domain_unit_code_check("grid", "411571001001001", NULL, &e), NY_EINVAL);
    assert_int_equal(domain_unit_code_check("village", "411571001001", "411571001000", &e),
                     NY_EINVAL);
    assert_non_null(strstr(e.msg, "district/street/community/grid"));
}

static void test_unit_prefix(void **state)
{
    (void)state;
    char p[16];
    assert_int_equal(domain_unit_prefix("district", "411571000000", p, sizeof p), NY_OK);
    assert_string_equal(p, "411571");
    assert_int_equal(domain_unit_prefix("street", "411571001000", p, sizeof p), NY_OK);
    assert_string_equal(p, "411571001");
    assert_int_equal(domain_unit_prefix("grid", "411571001001001", p, sizeof p), NY_OK);
    assert_string_equal(p, "411571001001001");
    assert_int_equal(domain_unit_prefix("grid", "4115", p, sizeof p), NY_EINVAL);
}

static void test_uscc(void **state)
{
    (void)state;
    ny_err e;
    /* a published example of a valid code */
    assert_int_equal(domain_uscc_check("91350100M000100Y43", &e), NY_OK);
    assert_int_equal(domain_uscc_check_char("91350100M000100Y4"), '3');
    assert_int_equal(domain_uscc_check("91350100M000100Y44", &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "'3'"));
    assert_int_equal(domain_uscc_check("91350100M000100Y4", &e), NY_EINVAL);
    assert_int_equal(domain_uscc_check("91350100I000100Y43", &e), NY_EINVAL); /* I not allowed */
    assert_int_equal(domain_uscc_check_char("9135010OM000100Y4"), 0);
    /* every generated check character verifies */
    char code[19] = "91411571MA0000000";
    for (int i = 0; i < 50; i++) {
        code[16] = "0123456789ABCDEFGHJKLMNPQRTUWXY"[i % 31];
        code[15] = "0123456789"[i % 10];
        code[17] = domain_uscc_check_char(code);
        code[18] = '\0';
        assert_int_equal(domain_uscc_check(code, &e), NY_OK);
    }
}

static void test_mask_phone(void **state)
{
    (void)state;
    char out[32];
    domain_mask_phone("13812345678", out, sizeof out);
    assert_string_equal(out, "138****5678");
    domain_mask_phone("3761234", out, sizeof out);
    assert_string_equal(out, "*****34");
    domain_mask_phone("", out, sizeof out);
    assert_string_equal(out, "");
}

static void test_utf8(void **state)
{
    (void)state;
    ny_err e;
    const char *good = "羊山新区 ok 😀";
    assert_int_equal(domain_utf8_check(good, strlen(good), &e), NY_OK);
    assert_int_equal(domain_utf8_check("a\xff", 2, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "byte 2"));
    assert_int_equal(domain_utf8_check("\xe7\xbe", 2, &e), NY_EINVAL);       /* truncated */
    assert_int_equal(domain_utf8_check("\xc0\xaf", 2, &e), NY_EINVAL);       /* overlong */
    assert_int_equal(domain_utf8_check("\xed\xa0\x80", 3, &e), NY_EINVAL);   /* surrogate */
    assert_int_equal(domain_utf8_check("\xf4\x90\x80\x80", 4, &e), NY_EINVAL); /* > U+10FFFF */
    /* ASCII runs are read eight bytes at a time: a bad byte or a character
     * anywhere in or after a run, and a length that ends inside one */
    for (size_t at = 0; at < 40; at++) {
        char buf[48], want[32];
        memset(buf, 'a', sizeof buf);
        buf[at] = '\xff';
        snprintf(want, sizeof want, "at byte %zu", at + 1);
        for (size_t len = at + 1; len <= 41; len += 7) {
            assert_int_equal(domain_utf8_check(buf, len, &e), NY_EINVAL);
            assert_non_null(strstr(e.msg, want));
        }
        assert_int_equal(domain_utf8_check(buf, at, &e), NY_OK);
        memcpy(buf + at, "\xe7\xbe\x8a", 3); /* 羊 */
        assert_int_equal(domain_utf8_check(buf, 43, &e), NY_OK);
        assert_int_equal(domain_utf8_check(buf, at + 2, &e), NY_EINVAL); /* cut inside it */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocabularies), cmocka_unit_test(test_unit_codes),
        cmocka_unit_test(test_unit_prefix),  cmocka_unit_test(test_uscc),
        cmocka_unit_test(test_mask_phone),   cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests_name("domain", tests, NULL, NULL);
}
