/* test_robot.c - unit tests of the chat robot payloads and pacing (robot.h).
 *
 * Every payload is parsed back with jansson and compared member by member:
 * WeCom group robot texts (mentions on the first part only), DingTalk with
 * the signed URL suffix reproducing the domain.md check value, Feishu with
 * its signed body and defused "<at", and the generic webhook. Splitting is
 * checked on a 10,000-byte Chinese text and on seeded random texts of 1- to
 * 4-byte characters: every part within the limit, valid UTF-8, markers
 * "(i/n) " in order, and the parts without markers concatenating to the
 * input; cuts fall on line breaks or sentence ends when there are any. The
 * retry schedule through its ceilings, jitter
 * bounds and the dead-letter limit. Needs no database. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain.h"
#include "robot.h"

/* Asserts rc == NY_EINVAL and that the message contains part. */
static void expect_einval(int rc, const ny_err *e, const char *part)
{
    assert_int_equal(rc, NY_EINVAL);
    if (!strstr(e->msg, part))
        fail_msg("message \"%s\" lacks \"%s\"", e->msg, part);
}

/* Parses payload i of b; fails the test when it is not a JSON object. */
static json_t *parse(const robot_batch *b, size_t i)
{
    json_error_t je;
    json_t *j = json_loads(b->v[i].body, 0, &je);
    if (!j || !json_is_object(j))
        fail_msg("payload %zu is not a JSON object: %s", i, b->v[i].body);
    assert_int_equal(b->v[i].len, strlen(b->v[i].body));
    return j;
}

static const char *jstr(const json_t *j, const char *path1, const char *path2)
{
    const json_t *v = json_object_get(j, path1);
    if (path2)
        v = json_object_get(v, path2);
    const char *s = json_string_value(v);
    if (!s)
        fail_msg("no string at %s.%s", path1, path2 ? path2 : "");
    return s;
}

/* Asserts that array a holds exactly the n strings of want. */
static void expect_strings(const json_t *a, const char *const *want, size_t n)
{
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(a, i)), want[i]);
}

static const char *const users[] = {"zhangsan", "li.si"};
static const char *const mobiles[] = {"13800000000"};

static void test_wecom_payload(void **state)
{
    (void)state;
    const char *text = "【通知】明天上午9点停水，请提前储水。";
    robot_text m = {"outbox-42", text, strlen(text), users, 2, mobiles, 1, true};
    robot_batch b;
    ny_err e;
    assert_int_equal(robot_wecom(&m, &b, &e), NY_OK);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.v[0].key, "outbox-42");
    assert_string_equal(b.v[0].query, "");
    json_t *j = parse(&b, 0);
    assert_int_equal(json_object_size(j), 2);
    assert_string_equal(jstr(j, "msgtype", NULL), "text");
    assert_string_equal(jstr(j, "text", "content"), text);
    const json_t *t = json_object_get(j, "text");
    static const char *const ml[] = {"zhangsan", "li.si", "@all"};
    expect_strings(json_object_get(t, "mentioned_list"), ml, 3);
    expect_strings(json_object_get(t, "mentioned_mobile_list"), mobiles, 1);
    json_decref(j);
    robot_batch_free(&b);
    assert_null(b.v);
    assert_int_equal(b.n, 0);
    robot_batch_free(NULL);
}

/* Checks parts from robot_wecom or robot_split: each within limit, valid
 * UTF-8, numbered "(i/n) " when n > 1; returns the concatenation of the
 * parts without markers (malloc'd). */
static char *join_parts(char **parts, size_t n, size_t limit)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(parts[i]);
    char *all = malloc(cap);
    assert_non_null(all);
    all[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        ny_err e;
        if (len > limit)
            fail_msg("part %zu has %zu bytes, limit %zu", i + 1, len, limit);
        assert_int_equal(domain_utf8_check(parts[i], len, &e), NY_OK);
        const char *body = parts[i];
        if (n > 1) {
            char marker[48];
            snprintf(marker, sizeof marker, "(%zu/%zu) ", i + 1, n);
            assert_memory_equal(parts[i], marker, strlen(marker));
            body += strlen(marker);
        }
        assert_true(body[0] != '\0');
        strcat(all, body);
    }
    return all;
}

/* A Chinese text of exactly len bytes (ending in "!" when len is not a
 * multiple of 3), with sentence ends and commas when punctuated. */
static char *chinese(size_t len, int punctuated)
{
    static const char *const words[] = {"网格", "社区", "居民", "反映", "路灯", "损坏",
                                        "已经", "派单", "处置", "完毕", "感谢", "支持"};
    char *s = malloc(len + 1);
    assert_non_null(s);
    size_t o = 0;
    for (unsigned i = 0; o < len; i++) {
        const char *w = punctuated && i % 13 == 12 ? (i % 39 == 38 ? "？" : "。")
                        : punctuated && i % 5 == 4 ? "，"
                                                   : words[(i * 7) % 12];
        if (len - o < strlen(w))
            w = len - o >= 3 ? "好" : "!";
        memcpy(s + o, w, strlen(w));
        o += strlen(w);
    }
    s[len] = '\0';
    return s;
}

static void test_wecom_split_chinese(void **state)
{
    (void)state;
    for (int punctuated = 0; punctuated <= 1; punctuated++) {
        char *text = chinese(10000, punctuated);
        robot_text m = {"n-7", text, 10000, users, 2, NULL, 0, false};
        robot_batch b;
        ny_err e;
        assert_int_equal(robot_wecom(&m, &b, &e), NY_OK);
        assert_true(b.n >= 5 && b.n <= 6);
        char *parts[16];
        json_t *js[16];
        for (size_t i = 0; i < b.n; i++) {
            char key[32];
            snprintf(key, sizeof key, "n-7/%zu", i + 1);
            assert_string_equal(b.v[i].key, key);
            js[i] = parse(&b, i);
            parts[i] = (char *)jstr(js[i], "text", "content");
            size_t want = i == 0 ? 2 : 0;
            const json_t *t = json_object_get(js[i], "text");
            assert_int_equal(json_array_size(json_object_get(t, "mentioned_list")), want);
            assert_int_equal(json_array_size(json_object_get(t, "mentioned_mobile_list")), 0);
            /* with punctuation every cut falls after a sentence end */
            if (punctuated && i + 1 < b.n) {
                size_t l = strlen(parts[i]);
                assert_true(memcmp(parts[i] + l - 3, "。", 3) == 0 ||
                            memcmp(parts[i] + l - 3, "？", 3) == 0);
            }
        }
        char *all = join_parts(parts, b.n, ROBOT_WECOM_TEXT_MAX);
        assert_string_equal(all, text);
        free(all);
        for (size_t i = 0; i < b.n; i++)
            json_decref(js[i]);
        robot_batch_free(&b);
        free(text);
    }
}

static void test_split_prefers_lines(void **state)
{
    (void)state;
    /* lines of 50 bytes; a sentence end inside each line */
    char text[5000] = "";
    for (int i = 0; i < 60; i++)
        strcat(text, "第一条：路灯坏了。请尽快维修，谢谢“好的！”ok\n");
    char **parts;
    size_t n;
    ny_err e;
    assert_int_equal(robot_split(text, strlen(text), 300, &parts, &n, &e), NY_OK);
    assert_true(n > 1);
    for (size_t i = 0; i + 1 < n; i++)
        assert_int_equal(parts[i][strlen(parts[i]) - 1], '\n');
    char *all = join_parts(parts, n, 300);
    assert_string_equal(all, text);
    free(all);
    robot_parts_free(parts, n);
    /* without line breaks: after the sentence end and its closing quote */
    for (char *p = text; (p = strchr(p, '\n'));)
        *p = 'x';
    assert_int_equal(robot_split(text, strlen(text), 300, &parts, &n, &e), NY_OK);
    for (size_t i = 0; i + 1 < n; i++) {
        size_t l = strlen(parts[i]);
        assert_true(memcmp(parts[i] + l - 3, "。", 3) == 0 ||
                    memcmp(parts[i] + l - 6, "！”", 6) == 0);
    }
    robot_parts_free(parts, n);
    robot_parts_free(NULL, 0);
}

static void test_split_edges(void **state)
{
    (void)state;
    char *text = chinese(2049 * 3, 0);
    char **parts;
    size_t n;
    ny_err e;
    /* exactly at the limit: one part, unchanged */
    assert_int_equal(robot_split(text, 2046, 2048, &parts, &n, &e), NY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(parts[0]), 2046);
    robot_parts_free(parts, n);
    assert_int_equal(robot_split("abc", 3, 64, &parts, &n, &e), NY_OK);
    assert_int_equal(n, 1);
    assert_string_equal(parts[0], "abc");
    robot_parts_free(parts, n);
    /* 2049 bytes: two parts */
    char *t2 = malloc(2050);
    assert_non_null(t2);
    memset(t2, 'a', 2049);
    t2[2049] = '\0';
    assert_int_equal(robot_split(t2, 2049, 2048, &parts, &n, &e), NY_OK);
    assert_int_equal(n, 2);
    char *all = join_parts(parts, n, 2048);
    assert_string_equal(all, t2);
    free(all);
    robot_parts_free(parts, n);
    free(t2);
    /* many parts: the marker widens to two and three digits */
    size_t counts[2] = {0, 0};
    size_t lens[2] = {600, 6000};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(robot_split(text, lens[k], 64, &parts, &n, &e), NY_OK);
        counts[k] = n;
        all = join_parts(parts, n, 64);
        assert_memory_equal(all, text, lens[k]);
        assert_int_equal(strlen(all), lens[k]);
        free(all);
        robot_parts_free(parts, n);
    }
    assert_true(counts[0] >= 10 && counts[0] < 100);
    assert_true(counts[1] >= 100);
    free(text);

    expect_einval(robot_split("abc", 3, 63, &parts, &n, &e), &e, "below 64");
    expect_einval(robot_split("", 0, 2048, &parts, &n, &e), &e, "text is empty");
    expect_einval(robot_split(NULL, 4, 2048, &parts, &n, &e), &e, "text is empty");
    expect_einval(robot_split("a\0b", 3, 2048, &parts, &n, &e), &e, "NUL byte at byte 2");
    expect_einval(robot_split("ab\xE4\xB8", 4, 2048, &parts, &n, &e), &e, "UTF-8");
    expect_einval(robot_split("\xC0\xAF", 2, 2048, &parts, &n, &e), &e, "UTF-8");
    assert_null(parts);
    assert_int_equal(n, 0);
}

/* Seeded random texts of 1- to 4-byte characters and line breaks, random limits. */
static void test_split_random(void **state)
{
    (void)state;
    static const char *const chars[] = {"a", " ", "\n", "é", "。", "，", "汉", "”", "😀", "!"};
    unsigned long r = 12345;
    char *text = malloc(20000);
    assert_non_null(text);
    for (int round = 0; round < 300; round++) {
        size_t len = 0, want = 1 + (r = r * 6364136223846793005u + 1442695040888963407u) % 12000;
        while (len < want) {
            r = r * 6364136223846793005u + 1442695040888963407u;
            const char *c = chars[(r >> 33) % 10];
            memcpy(text + len, c, strlen(c));
            len += strlen(c);
        }
        text[len] = '\0';
        size_t limit = 64 + (r >> 40) % 3000;
        char **parts;
        size_t n;
        ny_err e;
        assert_int_equal(robot_split(text, len, limit, &parts, &n, &e), NY_OK);
        assert_int_equal(n == 1, len <= limit);
        char *all = join_parts(parts, n, limit);
        assert_string_equal(all, text);
        free(all);
        robot_parts_free(parts, n);
    }
    free(text);
}

static void test_dingtalk_payload(void **state)
{
    (void)state;
    const char *text = "@13800000000 请核实小区东门积水情况";
    robot_text m = {"d-1", text, strlen(text), users, 2, mobiles, 1, false};
    robot_batch b;
    ny_err e;
    assert_int_equal(robot_dingtalk(&m, "SEC0123456789abcdef", 1700000000000, &b, &e), NY_OK);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.v[0].key, "d-1");
    assert_string_equal(b.v[0].query, "&timestamp=1700000000000"
                                      "&sign=TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D");
    json_t *j = parse(&b, 0);
    assert_string_equal(jstr(j, "msgtype", NULL), "text");
    /* the mobile is already in the text; the user ids are appended */
    assert_string_equal(jstr(j, "text", "content"),
                        "@13800000000 请核实小区东门积水情况 @zhangsan @li.si");
    const json_t *at = json_object_get(j, "at");
    expect_strings(json_object_get(at, "atMobiles"), mobiles, 1);
    expect_strings(json_object_get(at, "atUserIds"), users, 2);
    assert_true(json_is_false(json_object_get(at, "isAtAll")));
    json_decref(j);
    robot_batch_free(&b);

    robot_text all = {"d-2", "全体注意", strlen("全体注意"), NULL, 0, NULL, 0, true};
    assert_int_equal(robot_dingtalk(&all, NULL, 1700000000000, &b, &e), NY_OK);
    assert_string_equal(b.v[0].query, "");
    assert_string_equal(b.v[0].body,
                        "{\"msgtype\":\"text\",\"text\":{\"content\":\"全体注意\"},"
                        "\"at\":{\"atMobiles\":[],\"atUserIds\":[],\"isAtAll\":true}}");
    robot_batch_free(&b);
    expect_einval(robot_dingtalk(&all, "SEC1", -1, &b, &e), &e, "negative DingTalk timestamp");
    assert_null(b.v);
}

static void test_feishu_payload(void **state)
{
    (void)state;
    const char *text = "转发：<at user_id=\"all\">所有人</at> 与 <AT>";
    robot_text m = {"f-1", text, strlen(text), users, 1, mobiles, 1, true};
    robot_batch b;
    ny_err e;
    assert_int_equal(robot_feishu(&m, "abcdefg", 1700000000, &b, &e), NY_OK);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.v[0].query, "");
    assert_memory_equal(b.v[0].body, "{\"timestamp\":\"1700000000\",\"sign\":", 33);
    json_t *j = parse(&b, 0);
    assert_int_equal(json_object_size(j), 4);
    assert_string_equal(jstr(j, "sign", NULL), "MG3+anzoaiz7TsNTZaSNwEZQ7N86Rd/HxssGOOkfrjI=");
    assert_string_equal(jstr(j, "msg_type", NULL), "text");
    assert_string_equal(jstr(j, "content", "text"),
                        "转发：＜at user_id=\"all\">所有人</at> 与 ＜AT>"
                        " <at user_id=\"zhangsan\"></at> <at user_id=\"all\"></at>");
    json_decref(j);
    robot_batch_free(&b);

    robot_text plain = {"f-2", "hi", 2, NULL, 0, NULL, 0, false};
    assert_int_equal(robot_feishu(&plain, "", 1700000000, &b, &e), NY_OK);
    assert_string_equal(b.v[0].body, "{\"msg_type\":\"text\",\"content\":{\"text\":\"hi\"}}");
    robot_batch_free(&b);
}

static void test_generic_payload(void **state)
{
    (void)state;
    const char *text = "您好，已为您登记\"路灯\"问题。";
    robot_text m = {"g:9", text, strlen(text), users, 2, mobiles, 1, true};
    robot_batch b;
    ny_err e;
    assert_int_equal(robot_generic(&m, "reply", "wx-group-17", &b, &e), NY_OK);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.v[0].key, "g:9");
    json_t *j = parse(&b, 0);
    assert_int_equal(json_object_size(j), 5);
    assert_string_equal(jstr(j, "idempotency_key", NULL), "g:9");
    assert_string_equal(jstr(j, "kind", NULL), "reply");
    assert_string_equal(jstr(j, "group", NULL), "wx-group-17");
    assert_string_equal(jstr(j, "text", NULL), text);
    static const char *const mentions[] = {"zhangsan", "li.si", "@all"};
    expect_strings(json_object_get(j, "mentions"), mentions, 3);
    json_decref(j);
    robot_batch_free(&b);
    expect_einval(robot_generic(&m, "", "g", &b, &e), &e, "kind is empty");
    expect_einval(robot_generic(&m, "reply", NULL, &b, &e), &e, "group is empty");
    expect_einval(robot_generic(&m, "reply", "g\xFF", &b, &e), &e, "group: invalid UTF-8");
}

static void test_payload_errors(void **state)
{
    (void)state;
    robot_batch b;
    ny_err e;
    char longkey[ROBOT_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    static const char *const bad_ids[] = {"ok", "has space"};
    static const char *const empty_id[] = {""};
    const struct {
        robot_text m;
        const char *why;
    } cases[] = {
        {{NULL, "x", 1, NULL, 0, NULL, 0, false}, "idempotency key must have"},
        {{"", "x", 1, NULL, 0, NULL, 0, false}, "idempotency key must have"},
        {{longkey, "x", 1, NULL, 0, NULL, 0, false}, "idempotency key must have"},
        {{"a/b", "x", 1, NULL, 0, NULL, 0, false}, "character 2 is not allowed"},
        {{"k", "", 0, NULL, 0, NULL, 0, false}, "text is empty"},
        {{"k", "\xE6\xB1", 2, NULL, 0, NULL, 0, false}, "text: truncated UTF-8"},
        {{"k", "x", 1, bad_ids, 2, NULL, 0, false}, "mention 2: character 4 is not allowed"},
        {{"k", "x", 1, NULL, 0, empty_id, 1, false}, "mention 1 must have 1 to 64"},
        {{"k", "x", 1, NULL, 3, NULL, 0, false}, "mention list is NULL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_einval(robot_wecom(&cases[i].m, &b, &e), &e, cases[i].why);
        expect_einval(robot_dingtalk(&cases[i].m, "s", 1, &b, &e), &e, cases[i].why);
        expect_einval(robot_feishu(&cases[i].m, "s", 1, &b, &e), &e, cases[i].why);
        expect_einval(robot_generic(&cases[i].m, "k", "g", &b, &e), &e, cases[i].why);
        assert_null(b.v);
        assert_int_equal(b.n, 0);
    }
    longkey[ROBOT_KEY_MAX] = '\0';
    robot_text ok = {longkey, "x", 1, NULL, 0, NULL, 0, false};
    assert_int_equal(robot_wecom(&ok, &b, &e), NY_OK);
    assert_string_equal(b.v[0].key, longkey);
    robot_batch_free(&b);
}

static void test_retry(void **state)
{
    (void)state;
    robot_retry p;
    ny_err e;
    assert_int_equal(robot_retry_init(&p, 1000, 60000, 5, &e), NY_OK);
    static const int64_t want[] = {0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (uint32_t f = 0; f < 9; f++)
        assert_int_equal(robot_retry_ceiling(&p, f), want[f]);
    int64_t prev = 0;
    for (uint32_t f = 1; f < 1000; f++) {
        int64_t c = robot_retry_ceiling(&p, f);
        assert_true(c >= prev && c <= 60000);
        prev = c;
    }
    assert_int_equal(robot_retry_ceiling(&p, UINT32_MAX), 60000);

    int64_t d;
    assert_true(robot_retry_next(&p, 1, 0, &d));
    assert_int_equal(d, 0);
    assert_true(robot_retry_next(&p, 1, UINT64_MAX, &d));
    assert_int_equal(d, 1000);
    assert_true(robot_retry_next(&p, 3, UINT64_MAX / 2, &d));
    assert_true(d >= 1999 && d <= 2001);
    /* deterministic, and within [0, ceiling] */
    unsigned long long r = 99;
    for (int i = 0; i < 10000; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t f = 1 + (uint32_t)(r >> 60) % 4;
        int64_t d2;
        assert_true(robot_retry_next(&p, f, r, &d));
        assert_true(robot_retry_next(&p, f, r, &d2));
        assert_int_equal(d, d2);
        assert_true(d >= 0 && d <= robot_retry_ceiling(&p, f));
    }
    /* dead letter after max_attempts failures */
    assert_true(robot_retry_next(&p, 4, 1, &d));
    assert_false(robot_retry_next(&p, 5, 1, &d));
    assert_false(robot_retry_next(&p, 6, 1, &d));
    assert_int_equal(
        robot_retry_init(&p, ROBOT_RETRY_BASE_MS, ROBOT_RETRY_CAP_MS, ROBOT_RETRY_ATTEMPTS, &e),
        NY_OK);
    assert_int_equal(robot_retry_ceiling(&p, 11), ROBOT_RETRY_CAP_MS);
    assert_false(robot_retry_next(&p, ROBOT_RETRY_ATTEMPTS, 1, &d));

    expect_einval(robot_retry_init(&p, 0, 10, 3, &e), &e, "1 <= base");
    expect_einval(robot_retry_init(&p, 100, 10, 3, &e), &e, "1 <= base");
    expect_einval(robot_retry_init(&p, 100, 86400001, 3, &e), &e, "<= 86400000 ms");
    expect_einval(robot_retry_init(&p, 100, 1000, 0, &e), &e, "at least 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wecom_payload),       cmocka_unit_test(test_wecom_split_chinese),
        cmocka_unit_test(test_split_prefers_lines), cmocka_unit_test(test_split_edges),
        cmocka_unit_test(test_split_random),        cmocka_unit_test(test_dingtalk_payload),
        cmocka_unit_test(test_feishu_payload),      cmocka_unit_test(test_generic_payload),
        cmocka_unit_test(test_payload_errors),      cmocka_unit_test(test_retry),
    };
    return cmocka_run_group_tests_name("robot", tests, NULL, NULL);
}
