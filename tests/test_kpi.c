/* test_kpi.c - case figures (kpi.h) on a constructed history whose answers
 * were worked out by hand: the rates, the overdue and open counts, and the
 * times to accept and to close in working minutes across a weekend, the
 * Labour Day holiday (1-5 May 2026) and its make-up working Saturday (9
 * May), next to the same times in clock hours. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "kpi.h"
#include "testutil.h"

/* A China-time wall clock reading as Unix seconds. */
static int64_t cst(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) - CALENDAR_OFFSET;
}

static double num(json_t *j, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(j, a), b);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void test_history(void **st)
{
    (void)st;
    ny_err e;
    calendar *cal = NULL;
    MUST(calendar_load("data/calendar", &cal, &e));
    /* A: reported Thu 30 Apr 17:00, accepted Wed 6 May 10:00 after the holiday
     *    (60 + 60 = 120 working min; 137 h), closed on the make-up Saturday 9 May
     *    11:00 (60 + 3 x 480 + 120 = 1,620 min; 210 h), rated 满意.
     * B: reported Fri 13 Mar 16:00, accepted Mon 16 Mar 10:00 (120 + 60 = 180 min;
     *    66 h), closed 14:00 (120 + 240 = 360 min; 70 h) after missing its resolve
     *    deadline (overdue), rated 不满意.
     * C: reported Tue 17 Mar 09:30, accepted 09:45 (15 min; 0.25 h), in progress.
     * D: reported Wed 18 Mar 11:00, missed its accept deadline (overdue), open. */
    kpi_case cs[] = {
        {"411571001001001", "grid", "城乡建设", "closed", "gw", cst(2026, 4, 30, 17, 0),
         cst(2026, 5, 6, 10, 0), cst(2026, 5, 8, 17, 0), cst(2026, 5, 9, 11, 0), 0, 0, 0, 5, 0, 0},
        {"411571001001001", "community", "城乡建设", "closed", "comm", cst(2026, 3, 13, 16, 0),
         cst(2026, 3, 16, 10, 0), cst(2026, 3, 16, 13, 30), cst(2026, 3, 16, 14, 0), 0, 1, 1, 1, 0,
         0},
        {"411571001001002", "grid", "环境保护", "in_progress", "", cst(2026, 3, 17, 9, 30),
         cst(2026, 3, 17, 9, 45), 0, 0, 0, 0, 0, 0, 0, 0},
        {"411571001001002", "community", "环境保护", "reported", "", cst(2026, 3, 18, 11, 0), 0, 0,
         0, 1, 0, 1, 0, 0, 0},
    };
    kpi_acc a = {0};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        assert_int_equal(kpi_add(&a, cal, &cs[i]), NY_OK);
    json_t *j = kpi_json(&a);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "open")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "closed")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "overdue")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "escalated")), 2);
    /* accepted on time A, B, C of the four due to be accepted */
    assert_true(fabs(num(j, "rates", "response") - 0.75) < 1e-9);
    /* resolved: A on time, B late */
    assert_true(fabs(num(j, "rates", "on_time_resolve") - 0.5) < 1e-9);
    /* due to close: A, B (closed) and D (overdue); A alone without a missed deadline */
    assert_true(fabs(num(j, "rates", "on_time_close") - 0.3333) < 1e-9);
    assert_true(fabs(num(j, "rates", "close") - 0.6667) < 1e-9);
    assert_true(fabs(num(j, "rates", "solved") - 0.5) < 1e-9);
    assert_true(fabs(num(j, "rates", "satisfaction") - 0.5) < 1e-9);
    /* working minutes: accept 15, 120, 180 → mean 105, p90 (3rd of 3) 180; close
     * 360, 1,620 → mean 990, p90 1,620 */
    assert_true(fabs(num(j, "minutes_to_accept", "mean") - 105.0) < 1e-9);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "minutes_to_accept"), "p90")), 180);
    assert_true(fabs(num(j, "minutes_to_close", "mean") - 990.0) < 1e-9);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "minutes_to_close"), "p90")), 1620);
    /* clock hours: accept 0.25, 66, 137 → mean 67.75 (67.8), p90 137; close 70, 210 */
    assert_true(fabs(num(j, "hours_to_accept", "mean") - 67.8) < 1e-9);
    assert_true(fabs(num(j, "hours_to_accept", "p90") - 137.0) < 1e-9);
    assert_true(fabs(num(j, "hours_to_close", "mean") - 140.0) < 1e-9);
    assert_true(fabs(num(j, "hours_to_close", "p90") - 210.0) < 1e-9);
    json_decref(j);
    kpi_reset(&a);
    calendar_free(cal);
}

static void test_empty(void **st)
{
    (void)st;
    kpi_acc a = {0};
    json_t *j = kpi_json(&a);
    assert_true(json_is_null(json_object_get(json_object_get(j, "rates"), "response")));
    assert_true(json_is_null(json_object_get(json_object_get(j, "minutes_to_close"), "mean")));
    assert_true(json_is_null(json_object_get(json_object_get(j, "hours_to_accept"), "p90")));
    json_decref(j);
    kpi_reset(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
