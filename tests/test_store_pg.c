/* test_store_pg.c - what only the PostgreSQL driver has to get right.
 *
 * Runs when NUANYANG_TEST_PG names a server (tests/run.sh starts one) and
 * skips otherwise; engine-independent behaviour is covered by test_store.c
 * on both engines. Here: a database with a newer schema is refused
 * (NY_EVERSION), so is one holding another program's tables; an unreachable
 * server is NY_EUNAVAIL with libpq's reason; a missing database is created
 * (or NY_ENOTFOUND with must_exist); nodes starting at once migrate exactly
 * once (advisory lock); old target versions migrate forward; case_events
 * refuses UPDATE, DELETE and TRUNCATE from any client; a cache bump is
 * announced with NOTIFY; a lost connection is reported once and then
 * re-established; and ordering and unit subtrees stay byte-wise under a
 * database whose default collation is not (ICU zh). The test talks to the
 * server with libpq where it has to act outside the store interface. */
#include "testutil.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP_UNLESS_PG()                                                                           \
    do {                                                                                           \
        if (!tu_is_pg())                                                                           \
            skip();                                                                                \
    } while (0)

static PGconn *connect_ok(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

/* Runs sql and returns its status (the result is cleared). */
static ExecStatusType exec_status(PGconn *c, const char *sql, char *state, size_t statesz)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state)
        snprintf(state, statesz, "%s", s ? s : "");
    PQclear(r);
    return st;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    char *uri = strdup(tu_db_uri("pg_newer"));
    store *s;
    ny_err e;
    int v;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    assert_int_equal(store_schema_version(s, &v, &e), NY_OK);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    store_close(s);

    PGconn *c = connect_ok(uri);
    exec_ok(c, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    PQfinish(c);
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_EVERSION);
    assert_null(s);
    assert_non_null(strstr(e.msg, "99"));
    assert_non_null(strstr(e.msg, "upgrade nuanyang"));
    free(uri);
}

static void test_foreign_database_refused(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    char *uri = strdup(tu_db_uri("pg_foreign"));
    PGconn *c = connect_ok(uri);
    exec_ok(c, "CREATE TABLE invoices(id int PRIMARY KEY)");
    PQfinish(c);
    store *s;
    ny_err e;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_ERR);
    assert_null(s);
    assert_non_null(strstr(e.msg, "another program"));
    free(uri);
}

static void test_unreachable_server(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    store *s;
    ny_err e;
    assert_int_equal(store_open("host=/nonexistent/nuanyang-socket-dir port=54329 user=postgres"
                                " dbname=nuanyang",
                                NULL, &s, &e),
                     NY_EUNAVAIL);
    assert_null(s);
    assert_non_null(strstr(e.msg, "cannot connect to PostgreSQL"));
    assert_non_null(strstr(e.msg, "/nonexistent/nuanyang-socket-dir")); /* libpq's reason */
    assert_int_equal(
        store_open("postgresql://postgres@/nuanyang?host=/nonexistent/dir", NULL, &s, &e),
        NY_EUNAVAIL);
}

static void test_missing_database(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    char uri[1024];
    snprintf(uri, sizeof uri, "%s dbname=ny_created_%ld", getenv("NUANYANG_TEST_PG"),
             (long)getpid());
    store *s;
    ny_err e;
    store_open_opts must = {0, 1};
    assert_int_equal(store_open(uri, &must, &s, &e), NY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "does not exist"));
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK); /* created and migrated */
    int v;
    assert_int_equal(store_schema_version(s, &v, &e), NY_OK);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    store_close(s);
    assert_int_equal(store_open(uri, &must, &s, &e), NY_OK);
    store_close(s);
}

static void test_concurrent_first_open(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    enum { NODES = 6 };
    char *uri = strdup(tu_db_uri("pg_race"));
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid[NODES];
    for (int i = 0; i < NODES; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            char g;
            store *s;
            ny_err e;
            close(go[1]);
            if (read(go[0], &g, 1) != 1)
                _exit(91);
            if (store_open(uri, NULL, &s, &e) != NY_OK) {
                fprintf(stderr, "node %d: %s\n", i, e.msg);
                _exit(92);
            }
            store_close(s);
            _exit(0);
        }
    }
    close(go[0]);
    char gs[NODES];
    memset(gs, 'g', sizeof gs);
    assert_int_equal(write(go[1], gs, sizeof gs), (ssize_t)sizeof gs);
    close(go[1]);
    for (int i = 0; i < NODES; i++) {
        int status;
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    PGconn *c = connect_ok(uri);
    PGresult *r = PQexec(c, "SELECT value FROM meta WHERE key = 'schema_version'");
    assert_int_equal(PQntuples(r), 1);
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), STORE_SCHEMA_VERSION);
    PQclear(r);
    PQfinish(c);
    free(uri);
}

static void test_old_version_migrates_forward(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    char *uri = strdup(tu_db_uri("pg_old"));
    store *s;
    ny_err e;
    int v;
    store_open_opts old = {1, 0};
    assert_int_equal(store_open(uri, &old, &s, &e), NY_OK);
    assert_int_equal(store_schema_version(s, &v, &e), NY_OK);
    assert_int_equal(v, 1);
    store_close(s);
    PGconn *c = connect_ok(uri);
    assert_int_equal(exec_status(c, "SELECT 1 FROM messages", NULL, 0), PGRES_FATAL_ERROR);
    PQfinish(c);
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    assert_int_equal(store_schema_version(s, &v, &e), NY_OK);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    store_close(s);
    free(uri);
}

/* One district, street, community and grid; returns the grid's id. */
static int64_t small_tree(store *s)
{
    store_unit u[] = {{0, "411571000000", "羊山新区", "district", NULL},
                      {0, "411571001000", "北京路街道", "street", "411571000000"},
                      {0, "411571001001", "一号社区", "community", "411571001000"},
                      {0, "411571001001001", "一号网格", "grid", "411571001001"}};
    int64_t ids[4];
    ny_err e;
    assert_int_equal(store_unit_put_batch(s, u, 4, ids, &e), NY_OK);
    return ids[3];
}

static void test_case_events_append_only(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    char *uri = strdup(tu_db_uri("pg_log"));
    store *s;
    ny_err e;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    int64_t grid = small_tree(s), case_id, ev_id;
    store_case c = {.source = "patrol",
                    .title = "井盖缺失",
                    .description = "路口井盖缺失",
                    .category = "城乡建设",
                    .urgency = "general",
                    .status = "reported",
                    .level = "grid",
                    .unit_id = grid,
                    .department = "",
                    .location = "",
                    .photo_url = "",
                    .reporter = "",
                    .opened_at = 1767225600};
    assert_int_equal(store_case_put_batch(s, &c, 1, &case_id, &e), NY_OK);
    store_case_event ev = {0, case_id, 1767225600, "system", "report", "{}", ""};
    assert_int_equal(store_case_event_append_batch(s, &ev, 1, &ev_id, &e), NY_OK);
    store_close(s);

    PGconn *pc = connect_ok(uri);
    char st[8];
    assert_int_equal(exec_status(pc, "UPDATE case_events SET note = 'edited'", st, sizeof st),
                     PGRES_FATAL_ERROR);
    assert_string_equal(st, "P0001");
    assert_int_equal(exec_status(pc, "DELETE FROM case_events", st, sizeof st), PGRES_FATAL_ERROR);
    assert_string_equal(st, "P0001");
    assert_int_equal(exec_status(pc, "TRUNCATE case_events CASCADE", st, sizeof st),
                     PGRES_FATAL_ERROR);
    PGresult *r = PQexec(pc, "SELECT count(*), min(note) FROM case_events");
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    assert_string_equal(PQgetvalue(r, 0, 1), "");
    PQclear(r);
    /* appending stays possible */
    assert_int_equal(exec_status(pc,
                                 "INSERT INTO case_events(case_id, at, actor, action)"
                                 " SELECT id, 1767225700, 'system', 'accept' FROM cases",
                                 NULL, 0),
                     PGRES_COMMAND_OK);
    PQfinish(pc);
    free(uri);
}

static void test_cache_bump_notifies(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    char *uri = strdup(tu_db_uri("pg_notify"));
    store *s;
    ny_err e;
    int64_t v;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    PGconn *listener = connect_ok(uri);
    exec_ok(listener, "LISTEN nuanyang_cache");
    assert_int_equal(store_cache_version(s, "lexicon", &v, &e), NY_OK);
    assert_int_equal(v, 0);
    assert_int_equal(store_begin(s, &e), NY_OK);
    assert_int_equal(store_cache_bump(s, "lexicon", &e), NY_OK);
    assert_int_equal(store_cache_bump(s, "lexicon", &e), NY_OK);
    PQconsumeInput(listener);
    assert_null(PQnotifies(listener)); /* nothing before commit */
    assert_int_equal(store_commit(s, &e), NY_OK);
    assert_int_equal(store_cache_version(s, "lexicon", &v, &e), NY_OK);
    assert_int_equal(v, 2);

    int seen = 0;
    for (int tries = 0; tries < 200 && seen < 1; tries++) {
        PQconsumeInput(listener);
        PGnotify *n;
        while ((n = PQnotifies(listener)) != NULL) {
            assert_string_equal(n->relname, "nuanyang_cache");
            assert_string_equal(n->extra, "lexicon"); /* duplicates fold into one */
            seen++;
            PQfreemem(n);
        }
        if (!seen)
            usleep(10000);
    }
    assert_int_equal(seen, 1);
    PQfinish(listener);
    store_close(s);
    free(uri);
}

/* Ends the store's server session (application_name "nuanyang") from outside
 * and waits until it is gone. */
static void kill_sessions(const char *uri)
{
    PGconn *c = connect_ok(uri);
    exec_ok(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
               " WHERE datname = current_database() AND application_name = 'nuanyang'");
    for (int tries = 0; tries < 500; tries++) {
        PGresult *r = PQexec(c, "SELECT count(*) FROM pg_stat_activity"
                                " WHERE datname = current_database()"
                                " AND application_name = 'nuanyang'");
        int left = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (left == 0)
            break;
        usleep(10000);
    }
    PQfinish(c);
}

static void test_reconnect_after_lost_connection(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    char *uri = strdup(tu_db_uri("pg_lost"));
    store *s;
    ny_err e;
    store_stats st;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    small_tree(s);

    kill_sessions(uri);
    assert_int_equal(store_stats_get(s, &st, &e), NY_EUNAVAIL); /* noticed here */
    assert_int_equal(store_stats_get(s, &st, &e), NY_OK);       /* connected again */
    assert_int_equal(st.units_grid, 1);

    /* inside a transaction the loss is reported until the caller ends it */
    assert_int_equal(store_begin(s, &e), NY_OK);
    kill_sessions(uri);
    assert_int_equal(store_stats_get(s, &st, &e), NY_EUNAVAIL);
    assert_int_equal(store_stats_get(s, &st, &e), NY_EUNAVAIL);
    assert_int_equal(store_rollback(s, &e), NY_OK);
    assert_int_equal(store_stats_get(s, &st, &e), NY_OK);
    assert_int_equal(st.units_district, 1);
    /* a transaction may be the first thing after a loss */
    kill_sessions(uri);
    assert_int_equal(store_stats_get(s, &st, &e), NY_EUNAVAIL);
    assert_int_equal(store_begin(s, &e), NY_OK);
    assert_int_equal(store_stats_get(s, &st, &e), NY_OK);
    assert_int_equal(store_commit(s, &e), NY_OK);
    store_close(s);
    free(uri);
}

/* ---- byte-wise order under a linguistic default collation ---------------- */

struct codes {
    char text[256];
};

static int policy_code(void *ctx, const store_policy *p)
{
    struct codes *c = ctx;
    strncat(c->text, p->code, sizeof c->text - strlen(c->text) - 2);
    strcat(c->text, " ");
    return NY_OK;
}

static int unit_code(void *ctx, const store_unit *u)
{
    struct codes *c = ctx;
    strncat(c->text, u->code, sizeof c->text - strlen(c->text) - 2);
    strcat(c->text, " ");
    return NY_OK;
}

static void test_order_is_bytewise_under_icu(void **state)
{
    (void)state;
    SKIP_UNLESS_PG();
    const char *admin = getenv("NUANYANG_TEST_PG");
    char name[64], sql[256], uri[1024];
    snprintf(name, sizeof name, "ny_icu_%ld", (long)getpid());
    PGconn *c = connect_ok(admin);
    snprintf(sql, sizeof sql,
             "CREATE DATABASE %s TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'zh'"
             " LOCALE 'C.UTF-8'",
             name);
    if (exec_status(c, sql, NULL, 0) != PGRES_COMMAND_OK) {
        PQfinish(c);
        skip(); /* a server built without ICU */
    }
    PQfinish(c);
    snprintf(uri, sizeof uri, "%s dbname=%s", admin, name);
    store *s;
    ny_err e;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    small_tree(s);
    /* a second street: under ICU, ':' would sort before the digits */
    store_unit u2 = {0, "411571002000", "南京路街道", "street", "411571000000"};
    assert_int_equal(store_unit_put_batch(s, &u2, 1, NULL, &e), NY_OK);
    store_policy p[3];
    const char *codes[] = {"a", "B", "_x"};
    for (int i = 0; i < 3; i++)
        p[i] = (store_policy){0, codes[i], "t", "无", "both", "d", "s", "e", "h", "k"};
    assert_int_equal(store_policy_put_batch(s, p, 3, NULL, &e), NY_OK);
    struct codes got = {""};
    assert_int_equal(store_policies_each(s, policy_code, &got, &e), NY_OK);
    assert_string_equal(got.text, "B _x a ");
    got.text[0] = '\0';
    assert_int_equal(store_units_subtree(s, "411571001000", unit_code, &got, &e), NY_OK);
    assert_string_equal(got.text, "411571001000 411571001001 411571001001001 ");
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_foreign_database_refused),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test(test_missing_database),
        cmocka_unit_test(test_concurrent_first_open),
        cmocka_unit_test(test_old_version_migrates_forward),
        cmocka_unit_test(test_case_events_append_only),
        cmocka_unit_test(test_cache_bump_notifies),
        cmocka_unit_test(test_reconnect_after_lost_connection),
        cmocka_unit_test(test_order_is_bytewise_under_icu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
