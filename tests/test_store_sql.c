/* test_store_sql.c - tests of the portable SQL layer (store_sql.h).
 *
 * Runs on whichever engine the runner selects, like test_store.c, with the
 * same expectations on both: placeholders (also next to quoted '?'),
 * integer/text/NULL parameters and results, RETURNING, changed-row counts,
 * the error mapping of constraint violations, a callback that stops the
 * iteration, nested use of the same text from inside a callback, and
 * parameter-count mistakes. */
#include <stdio.h>
#include <string.h>

#include "store_sql.h"
#include "testutil.h"

struct rows {
    int n;
    char text[8][64];
    int64_t num[8];
    int null[8];
};

static int collect(void *ctx, const store_row *row)
{
    struct rows *r = ctx;
    if (r->n < 8) {
        const char *t = store_row_text(row, 1);
        snprintf(r->text[r->n], sizeof r->text[0], "%s", t ? t : "(null)");
        r->num[r->n] = store_row_int(row, 0);
        r->null[r->n] = store_row_isnull(row, 1);
    }
    r->n++;
    return NY_OK;
}

static int stop_at_first(void *ctx, const store_row *row)
{
    (void)row;
    ++*(int *)ctx;
    return NY_ECONFLICT;
}

struct nested {
    store *s;
    int inner;
};

static int run_same_inside(void *ctx, const store_row *row)
{
    (void)row;
    struct nested *x = ctx;
    ny_err e;
    int64_t v;
    store_val p[] = {SV_TEXT("411571000000")};
    MUST(store_sql_int(x->s, "SELECT count(*) FROM units WHERE code >= ?", p, 1, &v, &e));
    x->inner += (int)v;
    return NY_OK;
}

static void test_sql_basics(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("sql");
    store_unit u[] = {{0, "411571000000", "区", "district", NULL},
                      {0, "411571001000", "街道", "street", "411571000000"}};
    MUST(store_unit_put_batch(s, u, 2, NULL, &e));

    long changes = -1;
    int64_t id = 0;
    struct rows r = {0};
    MUST(store_sql(s,
                   "INSERT INTO jobs(kind, dedupe_key, payload, run_at, status, last_error)"
                   " VALUES('probe', ? || '-x', ?, ?, 'ready', '?') RETURNING id, payload",
                   (store_val[]){SV_TEXT("a?b"), SV_TEXT("{\"q\":\"?\"}"), SV_INT(42)}, 3, collect,
                   &r, &changes, &e));
    assert_int_equal(r.n, 1);
    assert_true(r.num[0] > 0);
    assert_string_equal(r.text[0], "{\"q\":\"?\"}");
    assert_int_equal(changes, 1);
    id = r.num[0];

    memset(&r, 0, sizeof r);
    MUST(store_sql(s, "SELECT run_at, dedupe_key, last_error FROM jobs WHERE id = ?",
                   (store_val[]){SV_INT(id)}, 1, collect, &r, NULL, &e));
    assert_int_equal(r.n, 1);
    assert_int_equal(r.num[0], 42);
    assert_string_equal(r.text[0], "a?b-x");

    /* NULL parameters and results */
    memset(&r, 0, sizeof r);
    MUST(store_sql(s, "SELECT id, claimed_by FROM jobs WHERE kind = ? AND claimed_by IS NULL",
                   (store_val[]){SV_TEXT("probe")}, 1, collect, &r, NULL, &e));
    assert_int_equal(r.n, 1);
    assert_true(r.null[0]);
    MUST(store_sql(s, "UPDATE jobs SET claimed_by = ? WHERE id = ?",
                   (store_val[]){SV_NULL, SV_INT(id)}, 2, NULL, NULL, &changes, &e));
    assert_int_equal(changes, 1);
    MUST(store_sql(s, "UPDATE jobs SET claimed_by = 'x' WHERE id = ?", (store_val[]){SV_INT(-1)}, 1,
                   NULL, NULL, &changes, &e));
    assert_int_equal(changes, 0);

    /* booleans read as integers, counts, store_sql_int */
    int64_t v = -1;
    MUST(store_sql_int(s, "SELECT count(*) FROM units", NULL, 0, &v, &e));
    assert_int_equal(v, 2);
    assert_int_equal(store_sql_int(s, "SELECT id FROM units WHERE code = ?",
                                   (store_val[]){SV_TEXT("nope")}, 1, &v, &e),
                     NY_ENOTFOUND);

    /* constraint mapping: unique, foreign key */
    int rc = store_sql(s,
                       "INSERT INTO jobs(kind, dedupe_key, payload, run_at, status)"
                       " VALUES('probe', 'a?b-x', '{}', 1, 'ready')",
                       NULL, 0, NULL, NULL, NULL, &e);
    assert_int_equal(rc, NY_EEXIST);
    assert_non_null(strstr(e.msg, "query failed"));
    rc = store_sql(s, "INSERT INTO units(code, name, level, parent_id) VALUES(?, ?, 'street', ?)",
                   (store_val[]){SV_TEXT("411571002000"), SV_TEXT("x"), SV_INT(999999)}, 3, NULL,
                   NULL, NULL, &e);
    assert_int_equal(rc, NY_ENOTFOUND);

    /* parameter count mistakes are refused before running */
    rc = store_sql(s, "SELECT ? + ?", (store_val[]){SV_INT(1)}, 1, NULL, NULL, NULL, &e);
    assert_int_equal(rc, NY_EINVAL);

    /* a callback stops the iteration and its code comes back */
    int calls = 0;
    rc = store_sql(s, "SELECT id FROM units ORDER BY code", NULL, 0, stop_at_first, &calls, NULL,
                   &e);
    assert_int_equal(rc, NY_ECONFLICT);
    assert_int_equal(calls, 1);

    /* the same text run again from inside its own callback */
    struct nested x = {s, 0};
    MUST(store_sql(s, "SELECT count(*) FROM units WHERE code >= ?",
                   (store_val[]){SV_TEXT("411571000000")}, 1, run_same_inside, &x, NULL, &e));
    assert_int_equal(x.inner, 2);

    /* inside a transaction, rolled back */
    MUST(store_begin(s, &e));
    MUST(store_sql(s, "DELETE FROM jobs WHERE id = ?", (store_val[]){SV_INT(id)}, 1, NULL, NULL,
                   &changes, &e));
    assert_int_equal(changes, 1);
    MUST(store_rollback(s, &e));
    MUST(store_sql_int(s, "SELECT count(*) FROM jobs", NULL, 0, &v, &e));
    assert_int_equal(v, 1);
    store_close(s);
}

/* More distinct texts than the statement cache holds (SQLite's 48,
 * PostgreSQL's PG_SQL_CACHE of 256), each run twice: the later ones run
 * unprepared. A text that cannot be prepared fails and leaves the cache
 * working. */
static void test_sql_many_texts(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("sqlmany");
    char sql[100];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i++) {
            int64_t v = -1;
            snprintf(sql, sizeof sql, "SELECT %d + ?", i);
            MUST(store_sql_int(s, sql, (store_val[]){SV_INT(round)}, 1, &v, &e));
            assert_int_equal(v, i + round);
        }
    }
    assert_int_not_equal(store_sql(s, "SELEC ?", (store_val[]){SV_INT(1)}, 1, NULL, NULL, NULL, &e),
                         NY_OK);
    assert_non_null(strstr(e.msg, "query failed"));
    int64_t v = -1;
    MUST(store_sql_int(s, "SELECT 7 + ?", (store_val[]){SV_INT(1)}, 1, &v, &e));
    assert_int_equal(v, 8);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_basics),
        cmocka_unit_test(test_sql_many_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
