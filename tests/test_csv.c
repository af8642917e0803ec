/* test_csv.c - unit tests of the CSV reader and writer (csv.h).
 *
 * Feeds in-memory text through csv_next and checks fields and the line each
 * record starts on: quoting, doubled quotes, embedded commas and newlines,
 * CRLF and lone CR line ends, the byte order mark, buffer-boundary crossings,
 * and the errors (unterminated quote, stray quotes, bad UTF-8, NUL bytes).
 * The writer is checked for its quoting rule and for reading back what it
 * wrote. Needs no database. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* A reader over a private copy of len bytes of text. */
typedef struct mem_input {
    FILE *f;
    char *copy;
    csv_reader *r;
} mem_input;

static void input_open(mem_input *in, const char *text, size_t len)
{
    ny_err e;
    in->copy = malloc(len + 1);
    assert_non_null(in->copy);
    memcpy(in->copy, text, len);
    in->f = fmemopen(in->copy, len, "rb");
    assert_non_null(in->f);
    assert_int_equal(csv_open(in->f, &in->r, &e), NY_OK);
}

static void input_close(mem_input *in)
{
    csv_close(in->r);
    fclose(in->f);
    free(in->copy);
}

/* Reads one record and checks its line and fields (a NULL-terminated list). */
static void expect_record(mem_input *in, long line, const char *const *want)
{
    csv_record rec;
    ny_err e;
    int rc = csv_next(in->r, &rec, &e);
    if (rc != NY_OK)
        fail_msg("line %ld: %s", line, e.msg);
    size_t n = 0;
    while (want[n])
        n++;
    assert_int_equal(rec.line, line);
    assert_int_equal(rec.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rec.fields[i], want[i]);
        assert_int_equal(rec.lens[i], strlen(want[i]));
    }
}

static void expect_end(mem_input *in)
{
    csv_record rec;
    ny_err e;
    assert_int_equal(csv_next(in->r, &rec, &e), NY_OK);
    assert_int_equal(rec.n, 0);
}

/* Reads records until the first error; checks its code, line, field, text. */
static void expect_error(const char *text, size_t len, long line, long field, const char *msg)
{
    mem_input in;
    csv_record rec;
    ny_err e;
    int rc;
    input_open(&in, text, len);
    while ((rc = csv_next(in.r, &rec, &e)) == NY_OK && rec.n > 0)
        ;
    assert_int_equal(rc, NY_EINVAL);
    assert_int_equal(rec.line, line);
    assert_int_equal(e.index, field);
    assert_string_equal(e.msg, msg);
    input_close(&in);
}

#define REC(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_plain_records(void **state)
{
    (void)state;
    static const char text[] = "code,name\n411571000000,羊山新区\n,\nlast,no newline";
    mem_input in;
    input_open(&in, text, sizeof text - 1);
    expect_record(&in, 1, REC("code", "name"));
    expect_record(&in, 2, REC("411571000000", "羊山新区"));
    expect_record(&in, 3, REC("", ""));
    expect_record(&in, 4, REC("last", "no newline"));
    expect_end(&in);
    expect_end(&in);
    input_close(&in);
}

static void test_quoting_and_line_numbers(void **state)
{
    (void)state;
    static const char text[] = "\"a,b\",\"say \"\"hi\"\"\",\"\"\n"
                               "\"two\nlines\",x\n"
                               "\"three\n\nlines\",y\n"
                               "after,\"\"\"\"\n";
    mem_input in;
    input_open(&in, text, sizeof text - 1);
    expect_record(&in, 1, REC("a,b", "say \"hi\"", ""));
    expect_record(&in, 2, REC("two\nlines", "x"));
    expect_record(&in, 4, REC("three\n\nlines", "y"));
    expect_record(&in, 7, REC("after", "\""));
    expect_end(&in);
    input_close(&in);
}

static void test_crlf_and_lone_cr(void **state)
{
    (void)state;
    static const char text[] = "a,b\r\nc,\"d\r\ne\"\r\nf\rg\r\n\r\nh";
    mem_input in;
    input_open(&in, text, sizeof text - 1);
    expect_record(&in, 1, REC("a", "b"));
    expect_record(&in, 2, REC("c", "d\r\ne"));
    expect_record(&in, 4, REC("f"));
    expect_record(&in, 5, REC("g"));
    expect_record(&in, 6, REC(""));
    expect_record(&in, 7, REC("h"));
    expect_end(&in);
    input_close(&in);
}

static void test_bom(void **state)
{
    (void)state;
    static const char text[] = "\xEF\xBB\xBFterm,kind\n\xEF\xBB\xBFx,y\n";
    mem_input in;
    input_open(&in, text, sizeof text - 1);
    expect_record(&in, 1, REC("term", "kind"));
    /* only a mark at the very start is skipped; later it is data */
    expect_record(&in, 2, REC("\xEF\xBB\xBFx", "y"));
    expect_end(&in);
    input_close(&in);

    static const char only[] = "\xEF\xBB\xBF";
    input_open(&in, only, sizeof only - 1);
    expect_end(&in);
    input_close(&in);
}

static void test_empty_input(void **state)
{
    (void)state;
    mem_input in;
    input_open(&in, "", 0);
    expect_end(&in);
    input_close(&in);
}

/* Records that straddle the reader's 64 KiB input buffer, with CRLF pairs and
 * doubled quotes split across refills, keep their fields and line numbers. */
static void test_long_input(void **state)
{
    (void)state;
    size_t cap = 1 << 21, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 20000; i++)
        len += (size_t)snprintf(text + len, cap - len, "%d,\"q\"\"%d\nz\",新都社区\r\n", i, i);
    mem_input in;
    input_open(&in, text, len);
    for (int i = 0; i < 20000; i++) {
        char a[16], b[32];
        snprintf(a, sizeof a, "%d", i);
        snprintf(b, sizeof b, "q\"%d\nz", i);
        expect_record(&in, 1 + 2L * i, REC(a, b, "新都社区"));
    }
    expect_end(&in);
    input_close(&in);
    free(text);
}

static void test_errors(void **state)
{
    (void)state;
    static const char unterminated[] = "a,b\nc,\"open\nstill open\n";
    expect_error(unterminated, sizeof unterminated - 1, 2, 1, "unterminated quoted field");
    static const char later[] = "a,b\nc,\"x\ny\",\"open\n\n";
    expect_error(later, sizeof later - 1, 3, 2, "unterminated quoted field");
    static const char stray[] = "a,b\nc,d\"e\n";
    expect_error(stray, sizeof stray - 1, 2, 1,
                 "quote inside an unquoted field (quote the whole field)");
    static const char after[] = "\"a\"b,c\n";
    expect_error(after, sizeof after - 1, 1, 0, "unexpected character after a closing quote");
    static const char utf8[] = "name,x\n羊山,\"ab\ncd\xC3\x28\"\n";
    expect_error(utf8, sizeof utf8 - 1, 2, 1, "invalid UTF-8 at byte 6");
    static const char truncated[] = "ok\n\xE6\x96\n";
    expect_error(truncated, sizeof truncated - 1, 2, 0, "truncated UTF-8 sequence at byte 1");
    static const char nul[] = "a,b\0c\n";
    expect_error(nul, sizeof nul - 1, 1, 1, "NUL byte at byte 2");
}

static void test_record_limit(void **state)
{
    (void)state;
    size_t len = (1 << 20) + 16;
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, 'a', len);
    text[0] = '"';
    expect_error(text, len, 1, 0, "record longer than 1048576 bytes (is a quote left open?)");
    free(text);
}

static char *write_records(const char *const *const *records)
{
    char *out = NULL;
    size_t len = 0;
    ny_err e;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    for (size_t i = 0; records[i]; i++) {
        size_t n = 0;
        while (records[i][n])
            n++;
        assert_int_equal(csv_write(f, records[i], n, &e), NY_OK);
    }
    assert_int_equal(fclose(f), 0);
    return out;
}

static void test_writer_quoting(void **state)
{
    (void)state;
    const char *const *records[] = {
        REC("plain", "", "羊山新区", "a;b"),
        REC("a,b", "say \"hi\"", "two\nlines", "cr\rx"),
        REC(" lead", "trail ", "in side", "crlf\r\n"),
        NULL,
    };
    char *out = write_records(records);
    assert_string_equal(out, "plain,,羊山新区,a;b\n"
                             "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rx\"\n"
                             "\" lead\",\"trail \",in side,\"crlf\r\n\"\n");
    mem_input in;
    input_open(&in, out, strlen(out));
    /* the second record spans lines 2-4: LF and a lone CR each end a line */
    static const long lines[] = {1, 2, 5};
    for (size_t i = 0; records[i]; i++)
        expect_record(&in, lines[i], records[i]);
    expect_end(&in);
    input_close(&in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_records),    cmocka_unit_test(test_quoting_and_line_numbers),
        cmocka_unit_test(test_crlf_and_lone_cr), cmocka_unit_test(test_bom),
        cmocka_unit_test(test_empty_input),      cmocka_unit_test(test_long_input),
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_writer_quoting),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
