/* test_ingest_read.c - the fast ingest body reader (server_ingest_read.c)
 * against the jansson path, on many generated bodies.
 *
 * A deterministic generator writes ingest bodies of both shapes (one
 * message, {"messages":[…]}) with every field in turn valid or wrong:
 * keys missing, extra, repeated or in another order; values of the wrong
 * type; ids empty, of 128 and 129 bytes, negative, fractional, with an
 * exponent, leading zeros or 19+ digits; times at and beyond their bounds
 * and ISO strings right and wrong; strings with every escape (\u in both
 * cases, surrogate pairs, and invalid ones: lone or reversed surrogates,
 * \u0000, bad hex, unknown letters), raw control characters and invalid
 * UTF-8 (overlong, surrogates, beyond U+10FFFF, truncated, stray
 * continuation bytes); white space, valid and not, between every token;
 * nesting; batches of 0, 1, a few, 1,000 and 1,001; and then bodies cut at
 * every byte, or with a byte changed, added or removed. Each body goes
 * through ingest_diff (tests/ingest_diff.c): the fast reader must decline
 * it or yield exactly the jansson path's messages, and the answer with the
 * fast reader must equal the answer without it. The test also checks that
 * the generator reaches what it should (bodies the fast reader takes, and
 * refusals of each status), so it cannot pass by generating nothing of
 * interest. NY_TEST_SEED=N reruns with another seed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_diff.h"
#include "testutil.h"

/* ---- a reproducible random source ---- */

static unsigned long long rnd_state;

static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return n ? (unsigned)(rnd_state % n) : 0;
}

/* 1 with probability 1/n. */
static int one_in(unsigned n)
{
    return rnd(n) == 0;
}

/* ---- the body being written ---- */

typedef struct out {
    char *p;
    size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        assert_non_null(p);
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(o, tmp, (size_t)n);
}

/* How wrong the body may be: 0 only valid JSON of the right shapes; 1
 * also wrong keys, types and values; 2 also invalid white space, escapes
 * and UTF-8. */
static int wild;

/* White space between tokens: mostly none or a little, sometimes a
 * character JSON does not allow. */
static void ws(out *o)
{
    static const char *const spaces[] = {" ", "\n", "\t", "\r", "  \r\n\t ", "\n\n"};
    if (one_in(3))
        puts_(o, spaces[rnd(6)]);
    if (wild > 1 && one_in(800))
        puts_(o, one_in(2) ? "\f" : "\v");
}

/* An invalid piece inside a string: bad escapes, raw control characters,
 * broken UTF-8. */
static void bad_piece(out *o)
{
    static const char *const bad[] = {"\\x",
                                      "\\u12G4",
                                      "\\uD800",
                                      "\\uDC00",
                                      "\\uD800\\u0041",
                                      "\\uD800x",
                                      "\\uDBFF\\uDBFF",
                                      "\\u12",
                                      "\\u0000",
                                      "\\",
                                      "\x01",
                                      "\x1f",
                                      "\xc0\x80",
                                      "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80",
                                      "\xf5\x80\x80\x80",
                                      "\xff",
                                      "\x80",
                                      "\xe4\xb8",
                                      "\xf0\x9f\x98",
                                      "\\u",
                                      "\\uDC00\\uD800",
                                      "\\U0041",
                                      "\x7f",
                                      "\xc1\xbf"};
    puts_(o, bad[rnd(sizeof bad / sizeof bad[0])]);
}

/* Writes code point u as UTF-8. */
static void put_utf8(out *o, unsigned u)
{
    char b[4];
    size_t n;
    if (u < 0x80) {
        b[0] = (char)u;
        n = 1;
    } else if (u < 0x800) {
        b[0] = (char)(0xC0 | u >> 6);
        b[1] = (char)(0x80 | (u & 0x3F));
        n = 2;
    } else if (u < 0x10000) {
        b[0] = (char)(0xE0 | u >> 12);
        b[1] = (char)(0x80 | (u >> 6 & 0x3F));
        b[2] = (char)(0x80 | (u & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | u >> 18);
        b[1] = (char)(0x80 | (u >> 12 & 0x3F));
        b[2] = (char)(0x80 | (u >> 6 & 0x3F));
        b[3] = (char)(0x80 | (u & 0x3F));
        n = 4;
    }
    put(o, b, n);
}

static void put_u(out *o, unsigned u)
{
    putf(o, one_in(2) ? "\\u%04x" : "\\u%04X", u);
}

/* Writes the UTF-8 string s (n bytes) as a JSON string, each character
 * literal or escaped at random (\u, surrogate pairs, the short escapes). */
static void jstr(out *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], u = c, len = 1;
        if (c >= 0xF0)
            u = c & 0x07, len = 4;
        else if (c >= 0xE0)
            u = c & 0x0F, len = 3;
        else if (c >= 0xC0)
            u = c & 0x1F, len = 2;
        for (unsigned k = 1; k < len; k++)
            u = u << 6 | (p[i + k] & 0x3F);
        i += len;
        static const char sh[] = "\"\\/\b\f\n\r\t", esc[] = "\"\\/bfnrt";
        const char *k = u && u < 0x80 ? strchr(sh, (int)u) : NULL;
        if (k && (u == '"' || u == '\\' || u < 0x20 || one_in(3))) {
            char e2[2] = {'\\', esc[k - sh]};
            put(o, e2, 2);
        } else if (u < 0x20 || u == '"' || u == '\\' || one_in(8)) {
            if (u >= 0x10000) {
                put_u(o, 0xD800 + ((u - 0x10000) >> 10));
                put_u(o, 0xDC00 + ((u - 0x10000) & 0x3FF));
            } else {
                put_u(o, u);
            }
        } else {
            put_utf8(o, u);
        }
        if (wild > 1 && one_in(1500))
            bad_piece(o);
    }
    put(o, "\"", 1);
}

static void jstrz(out *o, const char *s)
{
    jstr(o, s, strlen(s));
}

/* ---- field values ---- */

/* A JSON value of some other type than the field wants. */
static void wrong_type(out *o)
{
    static const char *const v[] = {"null", "true",     "false", "0",       "-1",
                                    "1.5",  "{}",       "[]",    "[\"a\"]", "{\"id\":1}",
                                    "\"\"", "[[[[]]]]", "1e400"};
    puts_(o, v[rnd(sizeof v / sizeof v[0] - !(wild > 1))]); /* the overflow only in 2 */
}

/* Text characters: ASCII, Chinese, other planes, and the ones that need
 * escaping. */
static void some_text(out *o, size_t max)
{
    static const char *const pieces[] = {
        "路灯", "坏了", "请问", "低保怎么申请", "a", "Z", "9",    " ",  "\"", "\\", "/",
        "\n",   "\t",   "😀",    "𠀋",           "é", "~", "\x7f", "，", "？"};
    size_t n = 1 + rnd((unsigned)max);
    for (size_t i = 0; i < n; i++)
        puts_(o, pieces[rnd(sizeof pieces / sizeof pieces[0])]);
}

/* An id (message or sender): mostly valid, often an integer, sometimes
 * one of the forms at and beyond the rules. */
static void id_value(out *o, long k)
{
    static const char *const numbers[] = {"0",
                                          "-0",
                                          "7",
                                          "-42",
                                          "123456789012345678",
                                          "999999999999999999",
                                          "-999999999999999999",
                                          "1234567890123456789",
                                          "9223372036854775807",
                                          "9223372036854775808",
                                          "-9223372036854775808",
                                          "12345678901234567890123",
                                          "012",
                                          "1.0",
                                          "1e3",
                                          "1E3",
                                          "-",
                                          "1.",
                                          "00",
                                          "-01",
                                          "3.14e-2"};
    unsigned pick = rnd(wild ? 10 : 6);
    if (pick < 3) {
        char s[48];
        snprintf(s, sizeof s, "m-%ld-%u", k, rnd(1000));
        jstrz(o, s);
    } else if (pick < 5) {
        putf(o, "%ld", k * 7919 + rnd(1000));
    } else if (pick == 5) {
        out t = {0};
        some_text(&t, 6);
        jstr(o, t.p, t.len < 128 ? t.len : 120);
        free(t.p);
    } else if (pick == 6) {
        puts_(o, numbers[rnd(sizeof numbers / sizeof numbers[0])]);
    } else if (pick == 7) {
        char s[131];
        size_t n = one_in(3) ? 0 : 127 + rnd(3); /* "", 127, 128, 129 bytes */
        memset(s, 'x', n);
        jstr(o, s, n);
    } else if (pick == 8) {
        out t = {0}; /* 128 bytes of multi-byte text written with escapes */
        for (int i = 0; i < 42; i++)
            puts_(&t, "群");
        put(&t, "ab", rnd(3));
        jstr(o, t.p, t.len);
        free(t.p);
    } else {
        wrong_type(o);
    }
}

static void group_value(out *o)
{
    unsigned pick = rnd(wild ? 8 : 6);
    if (pick < 6)
        jstrz(o, ingest_diff_groups[rnd(INGEST_DIFF_NGROUPS)]);
    else if (pick == 6)
        jstrz(o, one_in(2) ? "" : one_in(2) ? "no-such-group" : "g1 ");
    else
        wrong_type(o);
}

static void text_value(out *o)
{
    if (!wild || !one_in(8)) {
        out t = {0};
        some_text(&t, 30);
        jstr(o, t.p, t.len);
        free(t.p);
    } else if (one_in(2)) {
        puts_(o, one_in(2) ? "\"\"" : "\"a\\u0000b\"");
    } else {
        wrong_type(o);
    }
}

static void time_value(out *o)
{
    static const char *const good[] = {"\"2026-05-01T08:30:00+08:00\"",
                                       "\"2026-05-01T08:30:00Z\"",
                                       "\"2026-05-01 08:30+0800\"",
                                       "\"2026-05-01t08:30:00.123z\"",
                                       "\"2024-02-29T00:00:00-05:30\"",
                                       "\"1970-01-01T00:00:00Z\"",
                                       "0",
                                       "253402300799",
                                       "1767225600",
                                       "-0"};
    static const char *const bad[] = {"\"2026-05-01T08:30:00\"",
                                      "\"2025-02-29T00:00:00Z\"",
                                      "\"2026-13-01T00:00:00Z\"",
                                      "\"2026-05-01\"",
                                      "\"1969-12-31T23:59:59Z\"",
                                      "\"2026-05-01T24:00:00Z\"",
                                      "\"2026-05-01T08:30:00+15:00\"",
                                      "\"2026-05-01T08:30:00.Z\"",
                                      "\"\"",
                                      "-1",
                                      "253402300800",
                                      "1.5e9",
                                      "1767225600.0",
                                      "99999999999999999999",
                                      "\"2026-05-01T08:30:00+08:00x\""};
    if (!wild || rnd(4))
        puts_(o, good[rnd(sizeof good / sizeof good[0])]);
    else if (rnd(3))
        puts_(o, bad[rnd(sizeof bad / sizeof bad[0])]);
    else
        wrong_type(o);
}

static void sender_value(out *o, long k)
{
    if (wild && one_in(20)) {
        wrong_type(o);
        return;
    }
    int order = rnd(2), drop = wild && one_in(10) ? (int)rnd(2) + 1 : 0;
    int extra = wild && one_in(15), twice = wild && one_in(40);
    put(o, "{", 1);
    int first = 1;
    for (int i = 0; i < 2 + twice; i++) {
        int which = (i + order) % 2;
        if (drop == which + 1)
            continue;
        if (!first)
            put(o, ",", 1);
        first = 0;
        ws(o);
        jstrz(o, which ? "name" : "id");
        ws(o);
        put(o, ":", 1);
        ws(o);
        if (which) {
            if (wild && one_in(15))
                wrong_type(o);
            else
                jstrz(o, one_in(10) ? "" : k % 2 ? "居民甲" : "Li \"Lei\"");
        } else {
            id_value(o, k);
        }
        ws(o);
    }
    if (extra) {
        puts_(o, first ? "" : ",");
        puts_(o, "\"avatar\":\"x\"");
    }
    put(o, "}", 1);
}

/* One message object with its keys in a random order; in wild mode keys
 * go missing, come twice or are added. */
static void message(out *o, long k)
{
    static const char *const keys[] = {"id", "group", "sender", "text", "time"};
    int order[5] = {0, 1, 2, 3, 4};
    for (int i = 4; i > 0; i--) {
        int j = (int)rnd((unsigned)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    ws(o);
    put(o, "{", 1);
    int first = 1, nkeys = 5 + (wild && one_in(40));
    for (int i = 0; i < nkeys; i++) {
        int f = i < 5 ? order[i] : order[rnd(5)]; /* the sixth: a key twice */
        if (wild && one_in(40))
            continue; /* a key missing */
        if (!first)
            put(o, ",", 1);
        first = 0;
        ws(o);
        jstrz(o, keys[f]);
        ws(o);
        put(o, ":", 1);
        ws(o);
        switch (f) {
        case 0:
            id_value(o, k);
            break;
        case 1:
            group_value(o);
            break;
        case 2:
            sender_value(o, k);
            break;
        case 3:
            text_value(o);
            break;
        default:
            time_value(o);
        }
        ws(o);
    }
    if (wild && one_in(10)) { /* another key */
        static const char *const extra[] = {"\"mentions\":[\"u1\",\"u2\"]",
                                            "\"mentions\":[]",
                                            "\"mentions\":[1]",
                                            "\"mentions\":\"u1\"",
                                            "\"mentions\":null",
                                            "\"foo\":1",
                                            "\"messages\":[]",
                                            "\"\":0",
                                            "\"id\\u0000\":1"};
        puts_(o, first ? "" : ",");
        puts_(o, extra[rnd(sizeof extra / sizeof extra[0])]);
    }
    put(o, "}", 1);
    ws(o);
}

static long seq; /* message numbers, for distinct ids */

/* A whole body: one message, or a batch of n (random when n < 0). */
static void body(out *o, long n)
{
    if (n == 1 && one_in(2)) {
        message(o, seq++);
        return;
    }
    if (n < 0)
        n = one_in(10) ? 0 : 1 + (long)rnd(one_in(4) ? 12 : 3);
    ws(o);
    put(o, "{", 1);
    if (wild && one_in(30))
        puts_(o, "\"x\":1,");
    ws(o);
    jstrz(o, "messages");
    ws(o);
    put(o, ":", 1);
    ws(o);
    put(o, "[", 1);
    for (long i = 0; i < n; i++) {
        if (i)
            put(o, ",", 1);
        if (wild && one_in(200))
            wrong_type(o);
        else
            message(o, seq++);
    }
    ws(o);
    put(o, "]", 1);
    if (wild && one_in(30))
        puts_(o, ",\"x\":1");
    ws(o);
    put(o, "}", 1);
    ws(o);
}

/* ---- the checks ---- */

static server *sv;

/* What the bodies led to, to check that the generator reaches them. */
typedef struct tally {
    long bodies, fast, accepted, status[600];
} tally;

static void show(const char *what, const tally *t)
{
    print_message("%s: %ld bodies, %ld taken by the fast reader, %ld accepted, refused: %ld 400, "
                  "%ld 413, %ld 422\n",
                  what, t->bodies, t->fast, t->accepted, t->status[400], t->status[413],
                  t->status[422]);
}

static void check(const char *b, size_t len, tally *t)
{
    ingest_diff_outcome d;
    if (ingest_diff(sv, b, len, &d))
        fail_msg("divergence (seed %llu, body %ld): %s\nbody (%zu bytes): %.*s", rnd_state,
                 t->bodies, d.why, len, (int)(len < 2000 ? len : 2000), b);
    t->bodies++;
    t->fast += d.fast;
    t->accepted += d.status == 0;
    t->status[d.status < 600 && d.status >= 0 ? d.status : 0]++;
}

/* Changes o's body at random: cut, a byte changed, added or removed. */
static void mutate(out *o)
{
    if (!o->len)
        return;
    size_t at = rnd((unsigned)o->len);
    static const char bytes[] = "{}[]\",:\\ 0-.eu\x01\x80\xff";
    switch (rnd(4)) {
    case 0:
        o->len = at;
        break;
    case 1:
        o->p[at] = bytes[rnd(sizeof bytes - 1)];
        break;
    case 2:
        put(o, "x", 1);
        memmove(o->p + at + 1, o->p + at, o->len - at - 1);
        o->p[at] = bytes[rnd(sizeof bytes - 1)];
        break;
    default:
        memmove(o->p + at, o->p + at + 1, o->len - at - 1);
        o->len--;
    }
}

static int setup(void **state)
{
    (void)state;
    ny_err e;
    const char *seed = getenv("NY_TEST_SEED");
    rnd_state = seed ? strtoull(seed, NULL, 10) : 0x9E3779B97F4A7C15ULL;
    if (!rnd_state)
        rnd_state = 1;
    MUST(ingest_diff_server(tu_db_uri("ingest_read"), &sv, &e));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    server_stop(sv, 1);
    return 0;
}

/* Valid bodies only: the fast reader must take (nearly) all of them, and
 * agree. */
static void test_valid_bodies(void **state)
{
    (void)state;
    tally t = {0};
    wild = 0;
    for (int i = 0; i < 3000; i++) {
        out o = {0};
        body(&o, i % 3 ? 1 : -1);
        check(o.p, o.len, &t);
        free(o.p);
    }
    show("valid", &t);
    /* declined: the empty batches and ids of 19 digits (out of the fast
     * reader's range) */
    assert_true(t.fast > t.bodies * 8 / 10);
    assert_true(t.accepted >= t.fast);
}

/* Every kind of wrong body, then mutated bodies. */
static void test_wild_bodies(void **state)
{
    (void)state;
    tally t = {0};
    for (int i = 0; i < 20000; i++) {
        wild = 1 + i % 2;
        out o = {0};
        body(&o, i % 2 ? 1 : -1);
        for (int m = i % 4 == 3 ? 1 + (int)rnd(3) : 0; m > 0; m--)
            mutate(&o);
        check(o.p ? o.p : "", o.len, &t);
        free(o.p);
    }
    show("wild", &t);
    /* the generator reaches both paths and every refusal */
    assert_true(t.fast > 1000);
    assert_true(t.accepted > t.fast);
    assert_true(t.status[400] > 1000);
    assert_true(t.status[422] > 1000);
    wild = 0;
}

/* Three bodies cut at every byte. */
static void test_truncation(void **state)
{
    (void)state;
    tally t = {0};
    wild = 0;
    for (int k = 0; k < 3; k++) {
        out o = {0};
        body(&o, k == 0 ? 1 : k + 1);
        for (size_t cut = 0; cut <= o.len; cut++)
            check(o.p, cut, &t);
        free(o.p);
    }
    show("cut", &t);
    assert_true(t.status[400] > 300);
}

/* Batches at the limits: 0 (422), 1, 1,000 (taken by the fast reader)
 * and 1,001 (413). */
static void test_batch_sizes(void **state)
{
    (void)state;
    static const long sizes[] = {0, 1, 1000, 1001};
    static const int want[] = {422, 0, 0, 413};
    for (int k = 0; k < 4; k++) {
        tally t = {0};
        out o = {0};
        puts_(&o, "{\"messages\":[");
        for (long i = 0; i < sizes[k]; i++)
            putf(&o,
                 "%s{\"id\":\"b%ld\",\"group\":\"g1\",\"sender\":{\"id\":%ld,\"name\":\"n\"},"
                 "\"text\":\"路灯坏了\\u8def\",\"time\":%ld}",
                 i ? "," : "", i, i, 1767225600L + i);
        puts_(&o, "]}");
        check(o.p, o.len, &t);
        assert_int_equal(t.status[want[k]], 1);
        assert_int_equal(t.fast, want[k] == 0);
        free(o.p);
    }
}

/* Strings copied eight bytes at a time: a text and a sender name of every
 * length up to 40 bytes with one byte that needs a look (a quote or
 * backslash escape, \n, \u, a raw control character, the closing quote
 * itself) at every position, so that it falls on each place of an eight-byte
 * word and at the end of the body. */
static void test_string_words(void **state)
{
    (void)state;
    static const char *const marks[] = {"\\\"", "\\\\", "\\n", "\\u8def", "\t", "\x01", "\""};
    tally t = {0};
    for (size_t n = 0; n <= 40; n++)
        for (size_t at = 0; at <= n; at++)
            for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
                char text[64];
                memset(text, 'a', n);
                text[n] = '\0';
                if (at < n)
                    text[at] = 'b';
                out o = {0};
                putf(&o,
                     "{\"id\":\"w\",\"group\":\"g1\",\"sender\":{\"id\":\"s\","
                     "\"name\":\"%.*s%s%s\"},\"text\":\"%.*s%s%s\",\"time\":1767225600}",
                     (int)at, text, marks[m], text + at, (int)at, text, marks[m], text + at);
                check(o.p, o.len, &t);
                free(o.p);
            }
    show("words", &t);
    assert_true(t.fast > 0 && t.status[400] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_bodies),
        cmocka_unit_test(test_wild_bodies),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_batch_sizes),
        cmocka_unit_test(test_string_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
