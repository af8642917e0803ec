/* test_calendar.c - working-time arithmetic on the business calendar and
 * the SLA table: weekends, the 2026 holidays and make-up working days from
 * data/calendar/2026.tsv, lunch breaks, round trips, file errors, and the
 * 12345 default deadlines in working and clock time. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "sla.h"
#include "testutil.h"

/* A China-time wall clock reading as Unix seconds. */
static int64_t cst(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) - CALENDAR_OFFSET;
}

static calendar *load(void)
{
    ny_err e;
    calendar *c = NULL;
    MUST(calendar_load("data/calendar", &c, &e));
    return c;
}

static void test_weekdays_and_lunch(void **st)
{
    (void)st;
    calendar *c = load();
    assert_int_equal(calendar_day_seconds(c), 8 * 3600);
    /* an ordinary Friday 16:00 + 4 working hours = Monday 11:00 */
    assert_int_equal(calendar_add(c, cst(2026, 3, 13, 16, 0), 4 * 3600), cst(2026, 3, 16, 11, 0));
    /* the lunch hour does not count */
    assert_int_equal(calendar_add(c, cst(2026, 3, 16, 11, 30), 3600), cst(2026, 3, 16, 13, 30));
    /* before opening starts at 09:00; at the end of the day it stays there */
    assert_int_equal(calendar_add(c, cst(2026, 3, 16, 6, 0), 60), cst(2026, 3, 16, 9, 1));
    assert_int_equal(calendar_add(c, cst(2026, 3, 16, 17, 0), 3600), cst(2026, 3, 16, 18, 0));
    assert_int_equal(calendar_add(c, cst(2026, 3, 16, 17, 0), 0), cst(2026, 3, 16, 17, 0));
    assert_int_equal(calendar_between(c, cst(2026, 3, 13, 12, 0), cst(2026, 3, 16, 10, 0)),
                     6 * 3600);
    assert_int_equal(calendar_between(c, cst(2026, 3, 16, 10, 0), cst(2026, 3, 13, 12, 0)),
                     -6 * 3600);
    assert_false(calendar_is_workday(c, cst(2026, 3, 14, 10, 0)));
    assert_true(calendar_is_workday(c, cst(2026, 3, 16, 10, 0)));
    calendar_free(c);
}

static void test_holidays_and_makeup_days(void **st)
{
    (void)st;
    calendar *c = load();
    /* National Day: Sep 30 17:00 + 2 h -> Oct 8 10:00 (Oct 1-7 off) */
    assert_int_equal(calendar_add(c, cst(2026, 9, 30, 17, 0), 2 * 3600), cst(2026, 10, 8, 10, 0));
    /* Friday Oct 9 16:00 + 4 h -> Saturday Oct 10 (make-up day) 11:00 */
    assert_int_equal(calendar_add(c, cst(2026, 10, 9, 16, 0), 4 * 3600), cst(2026, 10, 10, 11, 0));
    assert_true(calendar_is_workday(c, cst(2026, 10, 10, 12, 0)));
    assert_false(calendar_is_workday(c, cst(2026, 10, 5, 12, 0))); /* a Monday in the holiday */
    /* Spring Festival: Fri Feb 13 17:00 + 2 h -> Sat Feb 14 (worked) 10:00 */
    assert_int_equal(calendar_add(c, cst(2026, 2, 13, 17, 0), 2 * 3600), cst(2026, 2, 14, 10, 0));
    /* ... and Feb 14 18:00 + 1 h skips Feb 15-23 and lands on Tue Feb 24 */
    assert_int_equal(calendar_add(c, cst(2026, 2, 14, 18, 0), 3600), cst(2026, 2, 24, 10, 0));
    /* Labour Day: May 1-5 off, Sat May 9 worked */
    assert_int_equal(calendar_between(c, cst(2026, 4, 30, 0, 0), cst(2026, 5, 11, 0, 0)),
                     5 * 8 * 3600); /* Apr 30, May 6, 7, 8 and 9 */
    calendar_free(c);
}

static void test_round_trip(void **st)
{
    (void)st;
    calendar *c = load();
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t t = cst(2025, 12, 1, 0, 0) + (int64_t)(x % (400ull * 86400));
        int64_t secs = (int64_t)((x >> 20) % (40ull * 8 * 3600));
        int64_t due = calendar_add(c, t, secs);
        assert_true(due >= t);
        assert_int_equal(calendar_between(c, t, due), secs);
        if (secs > 0) /* the earliest such time */
            assert_int_equal(calendar_between(c, t, due - 1), secs - 1);
    }
    calendar_free(c);
}

static void test_bad_files(void **st)
{
    (void)st;
    calendar *c = load();
    ny_err e;
    assert_int_equal(calendar_parse(c, "2026-02-30\tholiday\tx\n", "f", &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "f:1:"));
    assert_int_equal(calendar_parse(c, "# c\n2026-03-02\tfree\tx\n", "f", &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "f:2:"));
    assert_int_equal(calendar_parse(c, "hours\t12:00-09:00\n", "f", &e), NY_EINVAL);
    assert_int_equal(calendar_parse(c, "hours 09:00-17:00\n", "f", &e), NY_EINVAL);
    /* an edit: a single 08:00-16:00 span, and March 16 off */
    MUST(calendar_parse(c, "hours\t08:00-16:00\n2026-03-16\tholiday\tx\n", "f", &e));
    assert_int_equal(calendar_add(c, cst(2026, 3, 13, 15, 0), 2 * 3600), cst(2026, 3, 17, 9, 0));
    calendar *none = NULL;
    assert_int_equal(calendar_load("/nonexistent/cal", &none, &e), NY_ENOTFOUND);
    calendar_free(c);
}

static void test_sla_defaults(void **st)
{
    (void)st;
    ny_err e;
    sla *s = NULL;
    MUST(sla_load("data", &s, &e));
    /* emergency: 2 clock hours to resolve, whatever the day */
    sla_limit l = sla_get(s, "emergency", "城乡建设", SLA_RESOLVE);
    assert_int_equal(l.working, 0);
    assert_int_equal(sla_due(s, l, cst(2026, 10, 1, 23, 0)), cst(2026, 10, 2, 1, 0));
    /* general: 7 working days across National Day */
    l = sla_get(s, "general", "城乡建设", SLA_RESOLVE);
    assert_int_equal(l.working, 1);
    assert_int_equal(sla_due(s, l, cst(2026, 9, 28, 10, 0)), cst(2026, 10, 13, 10, 0));
    /* the category override */
    assert_int_equal(sla_get(s, "general", "环境保护", SLA_RESOLVE).secs, 3 * 8 * 3600);
    assert_int_equal(sla_get(s, "complex", "无", SLA_RESOLVE).secs, 15 * 8 * 3600);
    assert_int_equal(sla_get(s, "utility", NULL, SLA_RESOLVE).secs, 24 * 3600);
    /* suspension: 2 working hours left, resumed on Friday 17:00 -> Monday 10:00 */
    l = sla_get(s, "general", "无", SLA_ACCEPT);
    assert_int_equal(sla_resume(s, l, cst(2026, 3, 13, 17, 0), 2 * 3600), cst(2026, 3, 16, 10, 0));
    assert_int_equal(sla_left(s, l, cst(2026, 3, 13, 17, 0), cst(2026, 3, 16, 10, 0)), 2 * 3600);
    assert_string_equal(sla_department(s, "城乡建设"), "区住建局");
    assert_int_equal(sla_reopen_days(s), 7);
    assert_int_equal(sla_digest_minute(s), 8 * 60 + 30);
    sla_free(s);
    /* built-in defaults without files */
    MUST(sla_load(NULL, &s, &e));
    assert_int_equal(sla_get(s, "general", "环境保护", SLA_RESOLVE).secs, 7 * 8 * 3600);
    sla_free(s);
    const char *path = tu_tmp_path("bad");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    tu_write_file(tu_tmp_path("sla.tsv"), "limit\tgeneral\t*\t1x\t2h\t3h\n");
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    assert_int_equal(sla_load(dir, &s, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "sla.tsv:1:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weekdays_and_lunch), cmocka_unit_test(test_holidays_and_makeup_days),
        cmocka_unit_test(test_round_trip),         cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_sla_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
