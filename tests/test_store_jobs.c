/* test_store_jobs.c - tests of claimable jobs and cache versions (store.h).
 *
 * The coordination side of the storage interface, on either engine like
 * test_store.c: enqueueing with dedupe keys, claim order, leases that expire
 * so another worker can take over (and the first one then loses its claim),
 * retries, and the per-name cache counters that tell nodes shared data
 * changed. */
#include <stdio.h>

#include "testutil.h"

/* Runs a store call that must succeed; needs a local ny_err e. */
static void test_jobs(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("jobs");
    int64_t a, b, c, d, again = -1;
    store_job ja = {0, "notify", "notice:7:group:3", "{\"notice\":7}", 100, 0};
    store_job jb = {0, "notify", NULL, "{\"notice\":8}", 50, 0};
    store_job jc = {0, "report", "report:2026-01", "{}", 10, 0};
    store_job jd = {0, "notify", NULL, "{\"notice\":9}", 1000, 0};
    MUST(store_job_enqueue(s, &ja, &a, &e));
    MUST(store_job_enqueue(s, &jb, &b, &e));
    MUST(store_job_enqueue(s, &jc, &c, &e));
    MUST(store_job_enqueue(s, &jd, &d, &e));
    store_job dupe = {0, "notify", "notice:7:group:3", "{\"other\":1}", 5, 0};
    assert_int_equal(store_job_enqueue(s, &dupe, &again, &e), NY_EEXIST);

    store_job got;
    MUST(store_job_claim(s, "notify", "node-a", 200, 60, &got, &e));
    assert_int_equal(got.id, b); /* smallest run_at first */
    assert_null(got.dedupe_key);
    assert_string_equal(got.payload, "{\"notice\":8}");
    assert_int_equal(got.attempts, 1);
    MUST(store_job_claim(s, "notify", "node-a", 200, 60, &got, &e));
    assert_int_equal(got.id, a);
    assert_string_equal(got.kind, "notify");
    assert_string_equal(got.dedupe_key, "notice:7:group:3");
    assert_string_equal(got.payload, "{\"notice\":7}"); /* the duplicate changed nothing */
    assert_int_equal(got.run_at, 100);
    assert_int_equal(store_job_claim(s, "notify", "node-a", 200, 60, &got, &e), NY_ENOTFOUND);
    MUST(store_job_claim(s, NULL, "node-b", 200, 60, &got, &e));
    assert_int_equal(got.id, c);

    assert_int_equal(store_job_done(s, a, "node-b", 210, &e), NY_ECONFLICT);
    MUST(store_job_done(s, a, "node-a", 210, &e));
    assert_int_equal(store_job_done(s, a, "node-a", 211, &e), NY_ECONFLICT);

    assert_int_equal(store_job_retry(s, b, "node-b", 500, "timeout", &e), NY_ECONFLICT);
    MUST(store_job_retry(s, b, "node-a", 500, "webhook timeout", &e));
    assert_int_equal(store_job_claim(s, "notify", "node-a", 400, 60, &got, &e), NY_ENOTFOUND);
    MUST(store_job_claim(s, "notify", "node-b", 500, 60, &got, &e));
    assert_int_equal(got.id, b);
    assert_int_equal(got.attempts, 2);
    MUST(store_job_done(s, b, "node-b", 505, &e));
    MUST(store_job_claim(s, "notify", "node-b", 1000, 60, &got, &e));
    assert_int_equal(got.id, d);
    store_close(s);
}

static void test_job_lease_expiry(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("lease");
    int64_t id;
    store_job j = {0, "daily_report", "daily:2026-01-01", "{}", 0, 0};
    MUST(store_job_enqueue(s, &j, &id, &e));
    store_job got;
    MUST(store_job_claim(s, "daily_report", "node-a", 100, 30, &got, &e));
    assert_int_equal(got.attempts, 1);
    assert_int_equal(store_job_claim(s, "daily_report", "node-b", 130, 30, &got, &e),
                     NY_ENOTFOUND); /* lease still held until 130 */
    MUST(store_job_claim(s, "daily_report", "node-b", 131, 30, &got, &e));
    assert_int_equal(got.id, id);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(store_job_done(s, id, "node-a", 140, &e), NY_ECONFLICT);
    MUST(store_job_done(s, id, "node-b", 141, &e));
    assert_int_equal(store_job_claim(s, NULL, "node-a", 10000, 30, &got, &e), NY_ENOTFOUND);
    store_close(s);
}

static void test_cache_versions(void **state)
{
    (void)state;
    ny_err e;
    char uri[1024];
    store *s = NULL;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("cache"));
    MUST(store_open(uri, NULL, &s, &e));
    int64_t v = -1;
    MUST(store_cache_version(s, "lexicon", &v, &e));
    assert_int_equal(v, 0);
    MUST(store_cache_bump(s, "lexicon", &e));
    MUST(store_cache_bump(s, "lexicon", &e));
    MUST(store_cache_bump(s, "policies", &e));
    store_close(s);
    MUST(store_open(uri, NULL, &s, &e));
    MUST(store_cache_version(s, "lexicon", &v, &e));
    assert_int_equal(v, 2);
    MUST(store_cache_version(s, "policies", &v, &e));
    assert_int_equal(v, 1);
    MUST(store_cache_version(s, "units", &v, &e));
    assert_int_equal(v, 0);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_job_lease_expiry),
        cmocka_unit_test(test_cache_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
