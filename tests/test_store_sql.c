/* test_store_sql.c - tests of the portable SQL layer (store_sql.h).
 *
 * Runs on whichever engine the runner selects, like test_store.c, with the
 * same expectations on both: placeholders (also next to quoted '?'),
 * integer/text/NULL parameters and results, RETURNING, changed-row counts,
 * the error mapping of constraint violations, a callback that stops the
 * iteration, nested use of the same text from inside a callback, and
 * parameter-count mistakes; store_sql_insert's ids (also past a trigger's
 * own insert); store_sql_rows' ids and counts over several statement
 * sizes; and the CHECK constraints of cases and the outbox after migration
 * 12, on a database migrated from schema 11. */
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

/* store_sql_insert: the new row's id, without RETURNING on SQLite. */
static void test_sql_insert(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("sqlins");
    int64_t a = 0, b = 0, v = 0;
    const char *ins = "INSERT INTO jobs(kind, dedupe_key, payload, run_at, status)"
                      " VALUES('probe', ?, '{}', 1, 'ready')";
    MUST(store_sql_insert(s, ins, (store_val[]){SV_TEXT("k1")}, 1, &a, &e));
    MUST(store_sql_insert(s, ins, (store_val[]){SV_TEXT("k2")}, 1, &b, &e));
    assert_true(a > 0 && b > a);
    MUST(store_sql_int(s, "SELECT id FROM jobs WHERE dedupe_key = 'k2'", NULL, 0, &v, &e));
    assert_int_equal(v, b);
    /* a duplicate is refused; an INSERT ... SELECT of nothing inserts nothing */
    assert_int_equal(store_sql_insert(s, ins, (store_val[]){SV_TEXT("k1")}, 1, &v, &e), NY_EEXIST);
    assert_int_equal(store_sql_insert(s,
                                      "INSERT INTO jobs(kind, dedupe_key, payload, run_at, status)"
                                      " SELECT 'probe', 'k3', '{}', 1, 'ready' WHERE 1 = 0",
                                      NULL, 0, &v, &e),
                     NY_ENOTFOUND);
    /* a lead: its trigger inserts into stat_deltas, the id is still the lead's */
    store_unit u = {0, "411571000000", "区", "district", NULL};
    MUST(store_unit_put_batch(s, &u, 1, NULL, &e));
    int64_t unit = 0, group = 0, msg = 0, lead = 0;
    MUST(store_sql_int(s, "SELECT id FROM units", NULL, 0, &unit, &e));
    MUST(store_sql_insert(s,
                          "INSERT INTO chat_groups(platform, external_id, name, kind, unit_id,"
                          " members) VALUES('wecom', 'g1', 'g', 'resident', ?, 1)",
                          (store_val[]){SV_INT(unit)}, 1, &group, &e));
    MUST(store_sql_insert(s,
                          "INSERT INTO messages(group_id, connector, external_id, sender_id,"
                          " sender_name, sent_at, text) VALUES(?, 'c', 'm1', 'u', 'n', 1, 't')",
                          (store_val[]){SV_INT(group)}, 1, &msg, &e));
    MUST(store_sql_insert(s, "INSERT INTO stat_deltas(unit_id, day) VALUES(?, 1)",
                          (store_val[]){SV_INT(unit)}, 1, &v, &e));
    /* SQLite counts leads in code since schema 15: a trigger of the test's
     * own stands in for the one PostgreSQL keeps */
    if (strcmp(store_engine(s), "sqlite") == 0)
        MUST(store_sql(s,
                       "CREATE TRIGGER probe_leads AFTER INSERT ON leads BEGIN INSERT INTO"
                       " stat_deltas(unit_id, day, leads) VALUES(NEW.unit_id, 0, 1); END",
                       NULL, 0, NULL, NULL, NULL, &e));
    MUST(store_sql_insert(s,
                          "INSERT INTO leads(message_id, group_id, unit_id, intent, category,"
                          " created_at) VALUES(?, ?, ?, 'report', 'x', 1)",
                          (store_val[]){SV_INT(msg), SV_INT(group), SV_INT(unit)}, 3, &lead, &e));
    MUST(store_sql_int(s, "SELECT id FROM leads", NULL, 0, &v, &e));
    assert_int_equal(lead, v);
    MUST(store_sql_int(s, "SELECT count(*) FROM stat_deltas WHERE leads = 1", NULL, 0, &v, &e));
    assert_int_equal(v, 1);
    store_close(s);
}

/* Inserts one case with column col set to val (the others valid). */
static int insert_case(store *s, int64_t unit, const char *col, const char *val, ny_err *e)
{
    const char *cols[] = {"source", "urgency", "status", "level", "stage"};
    const char *vals[] = {"lead", "general", "reported", "district", "accept"};
    for (int i = 0; i < 5; i++)
        if (strcmp(cols[i], col) == 0)
            vals[i] = val;
    store_val p[] = {SV_TEXT(vals[0]), SV_TEXT(vals[1]), SV_TEXT(vals[2]),
                     SV_TEXT(vals[3]), SV_INT(unit),     SV_TEXT(vals[4])};
    return store_sql(
        s,
        "INSERT INTO cases(source, title, description, category, urgency, status,"
        " level, unit_id, opened_at, stage) VALUES(?, 't', 'd', 'x', ?, ?, ?, ?, 1, ?)",
        p, 6, NULL, NULL, NULL, e);
}

/* The CHECK constraints of cases and the outbox (written without IN lists of
 * three or more values on SQLite by migration 12) refuse what they refused
 * before and accept every value they accepted, on a database migrated from
 * schema 11 with rows in it. */
static void test_sql_checks(void **state)
{
    (void)state;
    ny_err e;
    const char *uri = tu_db_uri("sqlchk");
    store *s;
    MUST(store_open(uri, &(store_open_opts){11, 0}, &s, &e));
    store_unit u = {0, "411571000000", "区", "district", NULL};
    MUST(store_unit_put_batch(s, &u, 1, NULL, &e));
    int64_t unit = 0, v = 0;
    MUST(store_sql_int(s, "SELECT id FROM units", NULL, 0, &unit, &e));
    MUST(insert_case(s, unit, "status", "closed", &e));
    store_close(s);
    MUST(store_open(uri, NULL, &s, &e));
    int version = 0;
    MUST(store_schema_version(s, &version, &e));
    assert_int_equal(version, STORE_SCHEMA_VERSION);
    MUST(store_sql_int(s, "SELECT count(*) FROM cases WHERE status = 'closed'", NULL, 0, &v, &e));
    assert_int_equal(v, 1);
    if (!tu_is_pg()) {
        MUST(store_sql_int(s,
                           "SELECT count(*) FROM sqlite_schema WHERE name IN ('cases', 'outbox')"
                           " AND (instr(sql, 'status IN(') OR instr(sql, 'source IN(')"
                           " OR instr(sql, 'urgency IN(') OR instr(sql, 'level IN(')"
                           " OR instr(sql, 'stage IN(') OR instr(sql, 'kind IN(''reply'''))",
                           NULL, 0, &v, &e));
        assert_int_equal(v, 0);
        MUST(store_sql_int(s,
                           "SELECT count(*) FROM pragma_integrity_check"
                           " WHERE integrity_check <> 'ok'",
                           NULL, 0, &v, &e));
        assert_int_equal(v, 0);
    }
    static const char *const good[][2] = {
        {"source", "walk_in"},  {"source", "phone"},      {"source", "patrol"},
        {"source", "hotline"},  {"urgency", "emergency"}, {"urgency", "utility"},
        {"urgency", "complex"}, {"status", "accepted"},   {"status", "in_progress"},
        {"status", "resolved"}, {"status", "verified"},   {"status", "suspended"},
        {"level", "street"},    {"level", "community"},   {"level", "grid"},
        {"stage", ""},          {"stage", "resolve"},     {"stage", "verify"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        MUST(insert_case(s, unit, good[i][0], good[i][1], &e));
    static const char *const cols[] = {"source", "urgency", "status", "level", "stage"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(insert_case(s, unit, cols[i], "bogus", &e), NY_EINVAL);
        assert_int_equal(insert_case(s, unit, cols[i], "Lead", &e), NY_EINVAL);
    }
    const char *ob = "INSERT INTO outbox(idem_key, kind, channel, target, payload, status,"
                     " next_at, created_at) VALUES(?, ?, 'webhook', 'http://x', '{}', ?, 0, 0)";
    static const char *const kinds[] = {"reply", "notify", "notice"};
    static const char *const states[] = {"pending", "sending", "sent", "dead"};
    char buf[32];
    for (unsigned k = 0; k < 3; k++)
        for (unsigned st = 0; st < 4; st++) {
            snprintf(buf, sizeof buf, "k%u%u", k, st);
            const char *key = buf;
            MUST(store_sql(s, ob,
                           (store_val[]){SV_TEXT(key), SV_TEXT(kinds[k]), SV_TEXT(states[st])}, 3,
                           NULL, NULL, NULL, &e));
        }
    assert_int_equal(store_sql(s, ob,
                               (store_val[]){SV_TEXT("x1"), SV_TEXT("mail"), SV_TEXT("pending")}, 3,
                               NULL, NULL, NULL, &e),
                     NY_EINVAL);
    assert_int_equal(store_sql(s, ob,
                               (store_val[]){SV_TEXT("x2"), SV_TEXT("reply"), SV_TEXT("queued")}, 3,
                               NULL, NULL, NULL, &e),
                     NY_EINVAL);
    store_close(s);
}

/* store_sql_rows: 87 rows (64 + 16 + 4 + 1 + 1 + 1 per statement) with
 * their ids in order; the rows a conflict skips are not counted; ids of a
 * statement that skips a row are refused. */
static void test_sql_rows(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("sqlrows");
    enum { N = 87 };
    char keys[N][16];
    store_val p[N * 2];
    int64_t ids[N], v = 0;
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "r%d", i);
        const char *k = keys[i];
        p[2 * i] = SV_TEXT(k);
        p[2 * i + 1] = SV_INT(i);
    }
    const char *head = "INSERT INTO jobs(kind, dedupe_key, payload, run_at, status) VALUES";
    const char *row = "('probe', ?, '{}', ?, 'ready')";
    long changes = -1;
    MUST(store_sql_rows(s, head, row, "", 2, p, N, ids, &changes, &e));
    assert_int_equal(changes, N);
    for (int i = 0; i < N; i++) {
        MUST(store_sql_int(s, "SELECT run_at FROM jobs WHERE id = ?", (store_val[]){SV_INT(ids[i])},
                           1, &v, &e));
        assert_int_equal(v, i);
    }
    /* again under ON CONFLICT: nothing new, counted as nothing written */
    MUST(store_sql_rows(s, head, row, " ON CONFLICT(dedupe_key) DO NOTHING", 2, p, 5, NULL,
                        &changes, &e));
    assert_int_equal(changes, 0);
    assert_int_equal(
        store_sql_rows(s, head, row, " ON CONFLICT(dedupe_key) DO NOTHING", 2, p, 5, ids, NULL, &e),
        NY_ECONFLICT);
    /* without ON CONFLICT a repeated key fails the statement */
    assert_int_equal(store_sql_rows(s, head, row, "", 2, p, 3, ids, NULL, &e), NY_EEXIST);
    MUST(store_sql_int(s, "SELECT count(*) FROM jobs", NULL, 0, &v, &e));
    assert_int_equal(v, N);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_basics), cmocka_unit_test(test_sql_many_texts),
        cmocka_unit_test(test_sql_insert), cmocka_unit_test(test_sql_rows),
        cmocka_unit_test(test_sql_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
