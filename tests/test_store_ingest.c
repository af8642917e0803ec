/* test_store_ingest.c - tests of store_message_ingest_batch, the idempotent
 * message ingest the server uses.
 *
 * On either engine, like test_store.c: new messages are stored with their
 * ids; a repeat of a stored (connector, external id) is reported as a
 * duplicate with the stored id and changes nothing; a repeat inside one
 * batch is stored once; the same external id from another connector is a
 * different message; a bad element (unknown group) writes nothing of the
 * batch and is named by its index in the caller's array; the statistics
 * count stored messages and not repeats; batches long enough for the
 * multi-row statements keep all of that; and the call works inside a
 * caller's transaction. Leads are counted too, by each unit and day of the
 * subtree, through every way they are inserted (store_lead_open,
 * store_lead_open_batch, store_lead_put_batch; SQLite counts them in code
 * since schema 15), and not when their transaction rolls back. On SQLite
 * (schema 16) a sixteen-row statement that fails half-way keeps its first
 * rows, which the batch then counts as new, not as repeats; and a message
 * of a group that does not exist is refused at the commit of the
 * transaction that wrote it (PostgreSQL: at once), leaving nothing. */
#include <stdio.h>
#include <string.h>

#include "store_outbox.h"
#include "store_sql.h"
#include "store_stats.h"
#include "testutil.h"

static const store_unit units[] = {
    {0, "411571000000", "羊山新区", "district", NULL},
    {0, "411571001000", "前进街道", "street", "411571000000"},
    {0, "411571001001", "新都社区", "community", "411571001000"},
    {0, "411571001001001", "新都社区第一网格", "grid", "411571001001"},
};

static int64_t seed(store *s)
{
    ny_err e;
    store_group g = {0, "webhook", "g1", "resident", "411571001001001", "一网格群", 10, ""};
    int64_t gid = 0;
    MUST(store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, &e));
    MUST(store_group_put_batch(s, &g, 1, &gid, &e));
    return gid;
}

static store_message msg(int64_t gid, const char *conn, const char *id, const char *text)
{
    store_message m = {0,          gid,  conn,     id,         "u1",       "张三",
                       1764547200, text, "report", "城乡建设", "{\"x\":1}"};
    return m;
}

struct texts {
    int n;
    char text[8][64];
};

static int on_msg(void *ctx, const store_message *m)
{
    struct texts *t = ctx;
    if (t->n < 8)
        snprintf(t->text[t->n], sizeof t->text[0], "%s/%s:%s", m->connector, m->external_id,
                 m->text);
    t->n++;
    return NY_OK;
}

static struct texts all(store *s)
{
    ny_err e;
    struct texts t = {0};
    MUST(store_messages_each(s, on_msg, &t, &e));
    return t;
}

static void test_new_and_repeat(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_repeat");
    int64_t gid = seed(s);
    store_message a[2] = {msg(gid, "c1", "m1", "one"), msg(gid, "c1", "m2", "two")};
    int64_t ids[3];
    int dup[3];
    MUST(store_message_ingest_batch(s, a, 2, ids, dup, &e));
    assert_int_equal(dup[0], 0);
    assert_int_equal(dup[1], 0);
    assert_true(ids[0] > 0 && ids[1] > ids[0]);
    int64_t first = ids[0], second = ids[1];

    /* a repeat with other content changes nothing; a new one is stored */
    store_message b[3] = {msg(gid, "c1", "m2", "changed"), msg(gid, "c1", "m3", "three"),
                          msg(gid, "c2", "m1", "other connector")};
    MUST(store_message_ingest_batch(s, b, 3, ids, dup, &e));
    assert_int_equal(dup[0], 1);
    assert_int_equal(ids[0], second);
    assert_int_equal(dup[1], 0);
    assert_int_equal(dup[2], 0);
    assert_true(ids[1] != first && ids[2] != first);
    struct texts t = all(s);
    assert_int_equal(t.n, 4);
    assert_string_equal(t.text[1], "c1/m2:two");

    /* all duplicates: nothing written, ids reported */
    MUST(store_message_ingest_batch(s, a, 2, ids, dup, &e));
    assert_int_equal(dup[0] + dup[1], 2);
    assert_int_equal(ids[0], first);
    assert_int_equal(all(s).n, 4);
    /* the statistics count the stored messages, not the repeats */
    store_stat_counts c;
    int64_t day = store_stat_day(1764547200);
    MUST(store_stats_total(s, "411571000000", day, day + 1, &c, &e));
    assert_int_equal(c.v[STORE_STAT_MESSAGES], 4);
    store_close(s);
}

static void test_repeat_within_batch(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_within");
    int64_t gid = seed(s);
    store_message a[3] = {msg(gid, "c1", "x", "first"), msg(gid, "c1", "y", "y"),
                          msg(gid, "c1", "x", "second")};
    int64_t ids[3];
    int dup[3];
    MUST(store_message_ingest_batch(s, a, 3, ids, dup, &e));
    assert_int_equal(dup[0], 0);
    assert_int_equal(dup[1], 0);
    assert_int_equal(dup[2], 1);
    assert_int_equal(ids[2], ids[0]);
    struct texts t = all(s);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.text[0], "c1/x:first");
    store_close(s);
}

static void test_bad_element(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_bad");
    int64_t gid = seed(s);
    store_message pre = msg(gid, "c1", "old", "old");
    int64_t ids[3];
    int dup[3];
    MUST(store_message_ingest_batch(s, &pre, 1, ids, dup, &e));
    /* element 2 names a missing group: its index is in the caller's array
     * although element 0 is a duplicate and not inserted */
    store_message a[3] = {msg(gid, "c1", "old", "old"), msg(gid, "c1", "n1", "n1"),
                          msg(gid + 99, "c1", "n2", "n2")};
    assert_int_equal(store_message_ingest_batch(s, a, 3, ids, dup, &e), NY_ENOTFOUND);
    assert_int_equal(e.index, 2);
    assert_int_equal(all(s).n, 1);

    store_message bad = msg(gid, "c1", "n3", "n3");
    bad.intent = "nonsense";
    assert_int_equal(store_message_ingest_batch(s, &bad, 1, ids, dup, &e), NY_EINVAL);
    assert_int_equal(e.index, 0);
    assert_int_equal(all(s).n, 1);
    MUST(store_message_ingest_batch(s, a, 0, ids, dup, &e));
    store_close(s);
}

/* Batches long enough to be written sixteen rows a statement (SQLite):
 * new rows get increasing ids; a statement in which some keys are taken
 * (stored before, or not) tells the duplicates from the new rows exactly;
 * a statement that fails names its element and leaves nothing; the
 * statistics, twenty days of rows written sixteen a statement, count every
 * new message once. */
static void test_chunks(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_chunks");
    int64_t gid = seed(s);
    enum { N = 40 };
    char keys[2 * N][16];
    store_message a[N], b[N];
    int64_t ids[N], first[N], top = 0;
    int dup[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "a%d", i);
        a[i] = msg(gid, "c1", keys[i], "first");
        a[i].sent_at += (int64_t)(i % 20) * 86400; /* twenty unit-days */
    }
    MUST(store_message_ingest_batch(s, a, N, ids, dup, &e));
    for (int i = 0; i < N; i++) {
        assert_int_equal(dup[i], 0);
        assert_true(ids[i] > top);
        top = first[i] = ids[i];
    }
    /* every third a repeat of a stored key, one a repeat within the batch */
    for (int i = 0; i < N; i++) {
        snprintf(keys[N + i], sizeof keys[N + i], "b%d", i);
        b[i] = msg(gid, "c1", i % 3 == 0 ? keys[i] : keys[N + i], "second");
    }
    b[31] = msg(gid, "c1", keys[N + 1], "again");
    b[0] = msg(gid, "c1", keys[N - 1], "last"); /* the newest stored row */
    MUST(store_message_ingest_batch(s, b, N, ids, dup, &e));
    int fresh = 0;
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) {
            assert_int_equal(dup[i], 1);
            assert_int_equal(ids[i], first[i ? i : N - 1]);
        } else if (i == 31) {
            assert_int_equal(dup[i], 1);
            assert_int_equal(ids[i], ids[1]);
        } else {
            assert_int_equal(dup[i], 0);
            assert_true(ids[i] > first[N - 1]);
            fresh++;
        }
    }
    /* all taken: nothing changes */
    MUST(store_message_ingest_batch(s, a, N, ids, dup, &e));
    for (int i = 0; i < N; i++) {
        assert_int_equal(dup[i], 1);
        assert_int_equal(ids[i], first[i]);
    }
    assert_int_equal(all(s).n, N + fresh);
    assert_string_equal(all(s).text[0], "c1/a0:first");

    /* a constraint the checks do not see fails the statement: element 20 */
    for (int i = 0; i < N; i++)
        a[i] = msg(gid, "c2", keys[i], "x");
    a[20].sender_id = NULL;
    assert_int_equal(store_message_ingest_batch(s, a, N, ids, dup, &e), NY_EINVAL);
    assert_int_equal(e.index, 20);
    assert_int_equal(all(s).n, N + fresh);

    store_stat_counts c;
    int64_t day = store_stat_day(1764547200);
    MUST(store_stats_total(s, "411571000000", day, day + 20, &c, &e));
    assert_int_equal(c.v[STORE_STAT_MESSAGES], N + fresh);
    store_close(s);
}

static void test_in_transaction(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_tx");
    int64_t gid = seed(s);
    store_message a[2] = {msg(gid, "c1", "m1", "one"), msg(gid, "c1", "m2", "two")};
    int64_t ids[2];
    int dup[2];
    MUST(store_begin(s, &e));
    MUST(store_message_ingest_batch(s, a, 2, ids, dup, &e));
    MUST(store_message_ingest_batch(s, a, 2, ids, dup, &e));
    assert_int_equal(dup[0] + dup[1], 2);
    store_message bad = msg(gid + 99, "c1", "m9", "x");
    assert_int_equal(store_message_ingest_batch(s, &bad, 1, ids, dup, &e), NY_ENOTFOUND);
    MUST(store_commit(s, &e));
    assert_int_equal(all(s).n, 2);

    MUST(store_begin(s, &e));
    store_message c = msg(gid, "c1", "m3", "three");
    MUST(store_message_ingest_batch(s, &c, 1, ids, dup, &e));
    MUST(store_rollback(s, &e));
    assert_int_equal(all(s).n, 2);
    store_close(s);
}

static int64_t leads_of(store *s, const char *unit, int64_t day, int64_t days)
{
    ny_err e;
    store_stat_counts c;
    MUST(store_stats_total(s, unit, day, day + days, &c, &e));
    return c.v[STORE_STAT_LEADS];
}

static void test_leads_counted(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_leads");
    int64_t g1 = seed(s), g2 = 0, u1 = 0;
    store_unit grid2 = {0, "411571001001002", "新都社区第二网格", "grid", "411571001001"};
    store_group g = {0, "webhook", "g2", "resident", "411571001001002", "二网格群", 10, ""};
    MUST(store_unit_put_batch(s, &grid2, 1, NULL, &e));
    MUST(store_group_put_batch(s, &g, 1, &g2, &e));
    MUST(store_sql_int(s, "SELECT id FROM units WHERE code = '411571001001001'", NULL, 0, &u1, &e));
    store_message m[6];
    int64_t mid[6];
    int dup[6];
    static const char *const ext[] = {"l1", "l2", "l3", "l4", "l5", "l6"};
    for (int i = 0; i < 6; i++)
        m[i] = msg(i == 2 || i == 3 ? g2 : g1, "c1", ext[i], "路灯坏了");
    MUST(store_message_ingest_batch(s, m, 6, mid, dup, &e));
    int64_t t0 = 1764547200, t1 = t0 + 86400, day = store_stat_day(t0);
    /* one alone with its unit left to the group; three in one batch, units
     * known or not, over two days; one through the driver's batch */
    store_lead one = {0, mid[0], g1, 0, "report", "城乡建设", t0, 0};
    MUST(store_lead_open(s, &one, NULL, NULL, &e));
    store_lead three[3] = {{0, mid[1], g1, u1, "report", "城乡建设", t0, 0},
                           {0, mid[2], g2, 0, "help", "无", t0, 0},
                           {0, mid[3], g2, 0, "help", "无", t1, 0}};
    const char *keys[3] = {NULL, NULL, NULL};
    int64_t ids[3];
    MUST(store_lead_open_batch(s, three, keys, 3, ids, &e));
    store_lead put = {0, mid[4], g1, u1, "report", "城乡建设", t0, 0};
    MUST(store_lead_put_batch(s, &put, 1, NULL, &e));
    /* one rolled back with its transaction: not counted */
    store_lead gone = {0, mid[5], g1, u1, "report", "城乡建设", t0, 0};
    MUST(store_begin(s, &e));
    MUST(store_lead_open_batch(s, &gone, keys, 1, ids, &e));
    MUST(store_rollback(s, &e));

    int64_t n = 0;
    MUST(store_sql_int(s, "SELECT count(*) FROM leads", NULL, 0, &n, &e));
    assert_int_equal(n, 5);
    assert_int_equal(leads_of(s, "411571001001001", day, 1), 3);
    assert_int_equal(leads_of(s, "411571001001002", day, 1), 1);
    assert_int_equal(leads_of(s, "411571001001002", day + 1, 1), 1);
    assert_int_equal(leads_of(s, "411571001001", day, 2), 5);
    assert_int_equal(leads_of(s, "411571000000", day, 1), 4);
    assert_int_equal(leads_of(s, "411571000000", day, 2), 5);
    /* and after the deltas are folded into the days */
    long folded = 0;
    MUST(store_stats_compact(s, 0, &folded, &e));
    assert_int_equal(leads_of(s, "411571001001001", day, 1), 3);
    assert_int_equal(leads_of(s, "411571000000", day, 2), 5);
    store_close(s);
}

/* Forty leads of one batch on twenty unit-days (two grids, twenty days, two
 * leads each): the counts go sixteen unit-days a statement, then one by one. */
static void test_leads_counted_chunks(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_leads_chunks");
    int64_t g1 = seed(s), g2 = 0;
    store_unit grid2 = {0, "411571001001002", "新都社区第二网格", "grid", "411571001001"};
    store_group g = {0, "webhook", "g2", "resident", "411571001001002", "二网格群", 10, ""};
    MUST(store_unit_put_batch(s, &grid2, 1, NULL, &e));
    MUST(store_group_put_batch(s, &g, 1, &g2, &e));
    enum { N = 40 };
    store_message m[N];
    store_lead l[N];
    const char *keys[N] = {0};
    char ext[N][16];
    int64_t mid[N], ids[N], t0 = 1764547200, day = store_stat_day(t0);
    int dup[N];
    for (int i = 0; i < N; i++) {
        snprintf(ext[i], sizeof ext[i], "k%d", i);
        m[i] = msg(i % 2 ? g2 : g1, "c1", ext[i], "路灯坏了");
    }
    MUST(store_message_ingest_batch(s, m, N, mid, dup, &e));
    for (int i = 0; i < N; i++)
        l[i] = (store_lead){
            0, mid[i], i % 2 ? g2 : g1, 0, "report", "城乡建设", t0 + (int64_t)(i % 20) * 86400, 0};
    MUST(store_lead_open_batch(s, l, keys, N, ids, &e));
    for (int d = 0; d < 20; d++) {
        assert_int_equal(leads_of(s, "411571001001001", day + d, 1), d % 2 ? 0 : 2);
        assert_int_equal(leads_of(s, "411571001001002", day + d, 1), d % 2 ? 2 : 0);
    }
    assert_int_equal(leads_of(s, "411571001001", day, 20), N);
    assert_int_equal(leads_of(s, "411571000000", day + 4, 16), 32);
    store_close(s);
}

/* SQLite: a sixteen-row statement failing at its fifth row (a trigger that
 * fails the first insert of key a20, once) keeps the four rows before it;
 * the batch goes on a row at a time and must count those four as new
 * messages with their ids, not as repeats of stored ones. */
static void test_chunk_fails_half_way(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    ny_err e;
    store *s = tu_open_fresh("ingest_half");
    int64_t gid = seed(s);
    enum { N = 40 };
    char keys[N][16];
    store_message a[N];
    int64_t ids[N];
    int dup[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "a%d", i);
        a[i] = msg(gid, "c1", keys[i], "x");
    }
    MUST(store_sql(s, "CREATE TEMP TABLE once(x INTEGER)", NULL, 0, NULL, NULL, NULL, &e));
    MUST(store_sql(s,
                   "CREATE TEMP TRIGGER fail_once BEFORE INSERT ON main.messages"
                   " WHEN NEW.external_id = 'a20' AND NOT EXISTS(SELECT 1 FROM temp.once)"
                   " BEGIN INSERT INTO once VALUES(1); SELECT RAISE(FAIL, 'once'); END",
                   NULL, 0, NULL, NULL, NULL, &e));
    MUST(store_message_ingest_batch(s, a, N, ids, dup, &e));
    int64_t once = 0;
    MUST(store_sql_int(s, "SELECT count(*) FROM temp.once", NULL, 0, &once, &e));
    assert_int_equal(once, 1); /* the trigger did fail a statement */
    for (int i = 0; i < N; i++) {
        assert_int_equal(dup[i], 0);
        if (i)
            assert_true(ids[i] > ids[i - 1]);
    }
    assert_int_equal(all(s).n, N);
    store_stat_counts c;
    int64_t day = store_stat_day(1764547200);
    MUST(store_stats_total(s, "411571000000", day, day + 1, &c, &e));
    assert_int_equal(c.v[STORE_STAT_MESSAGES], N);
    store_close(s);
}

/* A message of a missing group written past the batch's checks: refused,
 * on SQLite at the commit (the key is checked there since schema 16), on
 * PostgreSQL by the statement; nothing of the transaction stays. */
static void test_group_key_at_commit(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("ingest_fk");
    int64_t gid = seed(s);
    store_message ok = msg(gid, "c1", "m1", "one");
    int64_t id;
    int dup;
    MUST(store_begin(s, &e));
    MUST(store_message_ingest_batch(s, &ok, 1, &id, &dup, &e));
    int rc = store_sql(s,
                       "INSERT INTO messages(group_id, connector, external_id, sender_id,"
                       " sender_name, sent_at, text) VALUES(?, 'c1', 'm2', 'u1', 'x', 1, 'x')",
                       (store_val[]){SV_INT(gid + 99)}, 1, NULL, NULL, NULL, &e);
    if (tu_is_pg()) {
        assert_int_equal(rc, NY_ENOTFOUND);
        MUST(store_rollback(s, &e));
    } else {
        MUST(rc);
        assert_int_equal(store_commit(s, &e), NY_ENOTFOUND);
    }
    assert_int_equal(all(s).n, 0);
    MUST(store_message_ingest_batch(s, &ok, 1, &id, &dup, &e));
    assert_int_equal(dup, 0);
    assert_int_equal(all(s).n, 1);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_repeat),       cmocka_unit_test(test_repeat_within_batch),
        cmocka_unit_test(test_bad_element),          cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_in_transaction),       cmocka_unit_test(test_leads_counted),
        cmocka_unit_test(test_leads_counted_chunks), cmocka_unit_test(test_chunk_fails_half_way),
        cmocka_unit_test(test_group_key_at_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
