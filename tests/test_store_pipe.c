/* test_store_pipe.c - tests of pipelining (store_pipeline, store_sync).
 *
 * Runs on whichever engine the runner selects, with the same expectations
 * on both: on PostgreSQL a pipelining handle sends the statements it reads
 * nothing from without waiting, on SQLite pipelining changes nothing, and
 * what a caller sees must not tell the two apart. Each failure kind (a
 * unique key, a foreign key, a NOT NULL column) is run once on a plain
 * handle and once on a pipelining one: the pipelined failure comes back at
 * the latest from store_sync, with the same NY_* code and message; on
 * PostgreSQL every later statement of the transaction reports it too, and
 * the commit reports it and rolls back. After a failure the connection is
 * usable: a savepoint rolled back to keeps the transaction and the rows
 * before it, a rolled-back transaction leaves nothing, and the next one
 * commits; a savepoint set after the failure (skipped by the server) is
 * not rolled back to. Reads in the middle of pipelined writes see them; outside a
 * transaction nothing is deferred; a duplicate key twice in one pipelined
 * run fails at the second. */
#include <stdio.h>
#include <string.h>

#include "store_sql.h"
#include "testutil.h"

static const char create[] = "CREATE TABLE pipe_t(k TEXT PRIMARY KEY, v INTEGER NOT NULL,"
                             " unit_id INTEGER REFERENCES units(id))";
static const char insert[] = "INSERT INTO pipe_t(k, v, unit_id) VALUES(?, ?, ?)";

static char uri[1024];

/* A fresh database (its uri in uri) with pipe_t and one unit; its id in
 * *unit. */
static store *fresh(const char *tag, int64_t *unit)
{
    ny_err e;
    store *s;
    snprintf(uri, sizeof uri, "%s", tu_db_uri(tag));
    MUST(store_open(uri, NULL, &s, &e));
    store_unit u = {0, "411571000000", "区", "district", NULL};
    MUST(store_unit_put_batch(s, &u, 1, unit, &e));
    MUST(store_sql(s, create, NULL, 0, NULL, NULL, NULL, &e));
    return s;
}

static int put(store *s, const char *k, int null_v, int64_t unit, ny_err *e)
{
    store_val p[] = {SV_TEXT(k), null_v ? SV_NULL : SV_INT(7), unit ? SV_INT(unit) : SV_NULL};
    return store_sql(s, insert, p, 3, NULL, NULL, NULL, e);
}

static int64_t rows(store *s)
{
    ny_err e;
    int64_t n = -1;
    MUST(store_sql_int(s, "SELECT count(*) FROM pipe_t", NULL, 0, &n, &e));
    return n;
}

/* The three ways a write fails: a taken key, an unknown unit, a NULL v. */
enum { BAD_KEY, BAD_REF, BAD_NULL, NBAD };

static int put_bad(store *s, int kind, int64_t unit, ny_err *e)
{
    if (kind == BAD_KEY)
        return put(s, "a", 0, unit, e);
    if (kind == BAD_REF)
        return put(s, "r", 0, unit + 999, e);
    return put(s, "n", 1, unit, e);
}

static const int bad_code[NBAD] = {NY_EEXIST, NY_ENOTFOUND, NY_EINVAL};

static void test_pipe_writes_and_reads(void **state)
{
    (void)state;
    ny_err e;
    int64_t unit;
    store *s = fresh("pipe_rw", &unit);
    store_pipeline(s, 1);
    MUST(store_sync(s, &e)); /* nothing pending */
    MUST(store_begin(s, &e));
    char k[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        MUST(put(s, k, 0, unit, &e));
    }
    assert_int_equal(rows(s), 10); /* the read travels with them and sees them */
    long changes = -1;
    MUST(store_sql(s, "UPDATE pipe_t SET v = v + 1 WHERE k >= ?", (store_val[]){SV_TEXT("k5")}, 1,
                   NULL, NULL, &changes, &e));
    assert_int_equal(changes, 5);
    for (int i = 10; i < 15; i++) {
        snprintf(k, sizeof k, "k%d", i);
        MUST(put(s, k, 0, unit, &e));
    }
    MUST(store_commit(s, &e));
    assert_int_equal(rows(s), 15);
    int64_t v = 0;
    MUST(store_sql_int(s, "SELECT sum(v) FROM pipe_t", NULL, 0, &v, &e));
    assert_int_equal(v, 15 * 7 + 5);
    store_close(s);
}

/* The failure of kind on a plain handle: its code and message. */
static int plain_failure(store *s, int kind, int64_t unit, char *msg, size_t size)
{
    ny_err e;
    store_pipeline(s, 0);
    MUST(store_begin(s, &e));
    int rc = put_bad(s, kind, unit, &e);
    snprintf(msg, size, "%s", e.msg);
    MUST(store_rollback(s, &e));
    store_pipeline(s, 1);
    return rc;
}

static void test_pipe_same_errors(void **state)
{
    (void)state;
    ny_err e;
    int64_t unit;
    store *s = fresh("pipe_err", &unit);
    MUST(put(s, "a", 0, unit, &e));
    for (int kind = 0; kind < NBAD; kind++) {
        char want[512];
        int want_rc = plain_failure(s, kind, unit, want, sizeof want);
        assert_int_equal(want_rc, bad_code[kind]);
        assert_non_null(strstr(want, "query failed"));

        /* reported by store_sync at the latest, with the same code and message */
        MUST(store_begin(s, &e));
        MUST(put(s, "b", 0, unit, &e));
        int rc = put_bad(s, kind, unit, &e);
        if (tu_is_pg())
            assert_int_equal(rc, NY_OK); /* sent, not waited for */
        if (rc == NY_OK)
            rc = store_sync(s, &e);
        assert_int_equal(rc, want_rc);
        assert_string_equal(e.msg, want);
        if (tu_is_pg()) { /* the transaction is aborted: every later statement says why */
            int64_t n;
            assert_int_equal(store_sql_int(s, "SELECT count(*) FROM pipe_t", NULL, 0, &n, &e),
                             want_rc);
            assert_string_equal(e.msg, want);
            assert_int_equal(put(s, "c", 0, unit, &e), want_rc);
            assert_int_equal(store_sync(s, &e), want_rc);
        }
        MUST(store_rollback(s, &e));
        assert_int_equal(rows(s), 1); /* "b" went with the transaction */

        /* reported by the commit, which rolls back */
        MUST(store_begin(s, &e));
        MUST(put(s, "b", 0, unit, &e));
        rc = put_bad(s, kind, unit, &e);
        if (rc == NY_OK) {
            rc = store_commit(s, &e);
        } else {
            ny_err keep = e;
            store_rollback(s, NULL);
            e = keep;
        }
        assert_int_equal(rc, want_rc);
        assert_string_equal(e.msg, want);
        assert_int_equal(rows(s), 1);

        /* the connection is usable: the next transaction commits */
        MUST(store_begin(s, &e));
        MUST(put(s, "b", 0, unit, &e));
        MUST(store_commit(s, &e));
        assert_int_equal(rows(s), 2);
        MUST(store_sql(s, "DELETE FROM pipe_t WHERE k = 'b'", NULL, 0, NULL, NULL, NULL, &e));
    }
    store_close(s);
}

static void test_pipe_savepoint(void **state)
{
    (void)state;
    ny_err e;
    int64_t unit;
    store *s = fresh("pipe_sp", &unit);
    store_pipeline(s, 1);
    MUST(store_begin(s, &e));
    MUST(put(s, "a", 0, unit, &e));
    for (int kind = 0; kind < NBAD; kind++) {
        MUST(store_savepoint(s, &e));
        int rc = put_bad(s, kind, unit, &e);
        if (rc == NY_OK)
            rc = store_sync(s, &e);
        assert_int_equal(rc, bad_code[kind]);
        MUST(store_savepoint_rollback(s, &e)); /* the transaction goes on */
    }
    MUST(store_savepoint(s, &e));
    MUST(put(s, "b", 0, unit, &e));
    MUST(store_sync(s, &e));
    MUST(store_savepoint_release(s, &e));
    MUST(put(s, "c", 0, unit, &e));
    MUST(store_commit(s, &e));
    assert_int_equal(rows(s), 3);
    store_close(s);
}

/* A savepoint set after a pipelined failure was never set (PostgreSQL
 * skipped it): rolling back to it reports the failure instead of reaching
 * an outer savepoint of the same name and carrying on. */
static void test_pipe_savepoint_after_failure(void **state)
{
    (void)state;
    ny_err e;
    int64_t unit;
    store *s = fresh("pipe_sp2", &unit);
    store_pipeline(s, 1);
    MUST(store_begin(s, &e));
    MUST(put(s, "a", 0, unit, &e));
    MUST(store_sql(s, "SAVEPOINT sp", NULL, 0, NULL, NULL, NULL, &e));
    MUST(put(s, "b", 0, unit, &e));
    int rc = put_bad(s, BAD_REF, unit, &e);
    if (rc == NY_OK)
        rc = store_sql(s, "SAVEPOINT sp", NULL, 0, NULL, NULL, NULL, &e);
    if (rc == NY_OK)
        rc = store_sync(s, &e);
    assert_int_equal(rc, NY_ENOTFOUND);
    if (tu_is_pg()) /* the inner one was never set; the outer one is not it */
        assert_int_equal(store_sql(s, "ROLLBACK TO SAVEPOINT sp", NULL, 0, NULL, NULL, NULL, &e),
                         NY_ENOTFOUND);
    MUST(store_rollback(s, &e));
    assert_int_equal(rows(s), 0);
    /* set before the failure: rolling back to it undoes it, the rest stays */
    MUST(store_begin(s, &e));
    MUST(put(s, "a", 0, unit, &e));
    MUST(store_sql(s, "SAVEPOINT sp", NULL, 0, NULL, NULL, NULL, &e));
    rc = put_bad(s, BAD_REF, unit, &e);
    if (rc == NY_OK)
        rc = store_sync(s, &e);
    assert_int_equal(rc, NY_ENOTFOUND);
    MUST(store_sql(s, "ROLLBACK TO SAVEPOINT sp", NULL, 0, NULL, NULL, NULL, &e));
    MUST(store_sql(s, "RELEASE SAVEPOINT sp", NULL, 0, NULL, NULL, NULL, &e));
    MUST(store_commit(s, &e));
    assert_int_equal(rows(s), 1);
    store_close(s);
}

static void test_pipe_duplicate_in_one_run(void **state)
{
    (void)state;
    ny_err e;
    int64_t unit;
    store *s = fresh("pipe_dup", &unit);
    store_pipeline(s, 1);
    MUST(store_begin(s, &e));
    MUST(put(s, "x", 0, unit, &e));
    MUST(put(s, "y", 0, unit, &e));
    int rc = put(s, "x", 0, unit, &e);
    if (rc == NY_OK)
        rc = store_sync(s, &e);
    assert_int_equal(rc, NY_EEXIST);
    MUST(store_rollback(s, &e));
    assert_int_equal(rows(s), 0);
    store_close(s);
}

static void test_pipe_outside_transaction(void **state)
{
    (void)state;
    ny_err e;
    int64_t unit;
    store *s = fresh("pipe_auto", &unit);
    store_pipeline(s, 1);
    MUST(put(s, "a", 0, unit, &e)); /* committed on its own, at once */
    store *other;
    MUST(store_open(uri, &(store_open_opts){0, 1}, &other, &e));
    assert_int_equal(rows(other), 1);
    store_close(other);
    assert_int_equal(put(s, "a", 0, unit, &e), NY_EEXIST); /* reported by the call itself */
    MUST(store_sync(s, &e));
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_writes_and_reads),
        cmocka_unit_test(test_pipe_same_errors),
        cmocka_unit_test(test_pipe_savepoint),
        cmocka_unit_test(test_pipe_savepoint_after_failure),
        cmocka_unit_test(test_pipe_duplicate_in_one_run),
        cmocka_unit_test(test_pipe_outside_transaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
