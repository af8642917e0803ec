/* test_outbox_worker.c - tests of how the delivery worker (outbox_worker.c)
 * writes and shares the database with ingest, on either engine like
 * test_outbox.c.
 *
 * The rows a turn sent are marked in one statement, only those the node
 * still holds.
 * While its busy callback says requests wait for their commit, the worker
 * defers its turns, but never for long: rows are still tried under
 * sustained ingest, and a queue that waited is taken at once when ingest
 * pauses. Its handle's commits do not flush (store_outbox_lazy_commits),
 * and what it wrote is read back by another handle. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "outbox.h"
#include "store_outbox.h"
#include "store_sql.h"
#include "testutil.h"

/* A busy callback: busy while busy is set, counting its calls. */
struct ingest {
    atomic_int busy;
    atomic_long calls;
};

static int is_busy(void *ctx)
{
    struct ingest *g = ctx;
    atomic_fetch_add(&g->calls, 1);
    return atomic_load(&g->busy);
}

/* Queues n rows for a port that refuses connections (each is tried once,
 * then waits a minute for its retry). */
static char *queue_rows(const char *tag, int n, store **out)
{
    ny_err e;
    char *uri = strdup(tu_db_uri(tag));
    assert_non_null(uri);
    MUST(store_open(uri, NULL, out, &e));
    char key[32];
    MUST(store_begin(*out, &e));
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "y:%d", i);
        outbox_item it = {key,  "notify", "webhook", "http://127.0.0.1:1/hook",
                          NULL, 0,        NULL,      "通知",
                          NULL, 0,        2,         0};
        MUST(outbox_enqueue(*out, &it, 0, NULL, NULL, &e));
    }
    MUST(store_commit(*out, &e));
    return uri;
}

static int64_t tried(store *s)
{
    ny_err e;
    int64_t n = 0;
    MUST(store_sql_int(s, "SELECT count(*) FROM outbox WHERE attempts > 0", NULL, 0, &n, &e));
    return n;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Under endless ingest the worker still takes turns, each deferred by at
 * most OUTBOX_YIELD_MS; once ingest pauses the rest goes at full speed. */
static void test_yields_but_delivers(void **state)
{
    (void)state;
    ny_err e;
    store *s;
    char *uri = queue_rows("ob_yield", 400, &s);
    struct ingest g = {1, 0};
    outbox_worker *w;
    MUST(outbox_start(uri,
                      &(outbox_opts){.concurrency = 4,
                                     .base_ms = 60000,
                                     .cap_ms = 60000,
                                     .poll_ms = 20,
                                     .busy = is_busy,
                                     .busy_ctx = &g},
                      &w, &e));
    double t0 = now_s();
    int64_t n = 0;
    while ((n = tried(s)) < 8 && now_s() - t0 < 10)
        usleep(20000);
    assert_true(n >= 8);                    /* turns still run while busy */
    assert_true(atomic_load(&g.calls) > 0); /* and were deferred meanwhile */
    /* always busy: about a turn of 4 rows per OUTBOX_YIELD_MS at most */
    double busy_s = now_s() - t0;
    assert_true(busy_s >= (double)(n / 4 - 1) * OUTBOX_YIELD_MS / 1000.0 * 0.9);
    atomic_store(&g.busy, 0);
    t0 = now_s();
    while ((n = tried(s)) < 400 && now_s() - t0 < 10)
        usleep(20000);
    assert_int_equal(n, 400);
    outbox_stop(w);
    free(uri);
    store_close(s);
}

/* The worker's handle writes without its own flush, and other handles see
 * what it committed (the outcomes of its rows). */
static void test_lazy_commits(void **state)
{
    (void)state;
    ny_err e;
    store *s;
    char *uri = queue_rows("ob_lazy", 3, &s);
    store *lazy;
    MUST(store_open(uri, NULL, &lazy, &e));
    MUST(store_outbox_lazy_commits(lazy, &e));
    int pg = strcmp(store_engine(lazy), "postgresql") == 0;
    const char *q = pg ? "SELECT CASE WHEN current_setting('synchronous_commit') = 'off'"
                         " THEN 1 ELSE 2 END"
                       : "PRAGMA synchronous";
    int64_t level = -1;
    MUST(store_sql_int(lazy, q, NULL, 0, &level, &e));
    assert_int_equal(level, 1); /* NORMAL (off) on this connection */
    MUST(store_sql_int(s, q, NULL, 0, &level, &e));
    assert_int_equal(level, 2); /* FULL (on) on the others */
    MUST(store_sql(lazy, "UPDATE outbox SET attempts = 7 WHERE idem_key = 'y:1'", NULL, 0, NULL,
                   NULL, NULL, &e));
    int64_t a = 0;
    MUST(store_sql_int(s, "SELECT attempts FROM outbox WHERE idem_key = 'y:1'", NULL, 0, &a, &e));
    assert_int_equal(a, 7);
    store_close(lazy);
    free(uri);
    store_close(s);
}

static void test_sent_batch(void **state)
{
    (void)state;
    ny_err e;
    store *s;
    char *uri = queue_rows("ob_sent_batch", 3, &s);
    int64_t id[3];
    for (int i = 0; i < 3; i++) {
        char q[64];
        snprintf(q, sizeof q, "SELECT id FROM outbox WHERE idem_key = 'y:%d'", i);
        MUST(store_sql_int(s, q, NULL, 0, &id[i], &e));
    }
    MUST(store_begin(s, &e));
    MUST(store_sql(s, "UPDATE outbox SET status = 'sending', claimed_by = 'a', lease_until = 99",
                   NULL, 0, NULL, NULL, NULL, &e));
    long n = -1;
    MUST(store_outbox_sent_batch(s, id, 2, "a", 500, &n, &e));
    assert_int_equal(n, 2);
    MUST(store_outbox_sent_batch(s, id + 2, 1, "b", 500, &n, &e));
    assert_int_equal(n, 0); /* not b's claim */
    MUST(store_outbox_sent_batch(s, id, 1, "a", 501, &n, &e));
    assert_int_equal(n, 0); /* already sent */
    MUST(store_commit(s, &e));
    int64_t v = 0;
    MUST(store_sql_int(s,
                       "SELECT count(*) FROM outbox WHERE status = 'sent' AND attempts = 1"
                       " AND sent_at = 500 AND claimed_by IS NULL",
                       NULL, 0, &v, &e));
    assert_int_equal(v, 2);
    MUST(store_sql_int(s, "SELECT count(*) FROM outbox WHERE status = 'sending'", NULL, 0, &v, &e));
    assert_int_equal(v, 1);
    free(uri);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yields_but_delivers),
        cmocka_unit_test(test_lazy_commits),
        cmocka_unit_test(test_sent_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
