/* test_store_open311.c - the Open311 storage on both engines: clients
 * (names, key hashes, re-keying, disabling, the bound unit), where a
 * request lands (address_id inside the key's subtree only, the deepest unit
 * named in the address, else the key's unit), and cases read as requests
 * with every filter, the key's area by origin, the latest note and update
 * time from the log, and rectification items left out. */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "case.h"
#include "store_open311.h"
#include "testutil.h"

#define DISTRICT "411571000000"
#define STREET "411571001000"
#define COMM "411571001001"
#define GRID1 "411571001001001"
#define STREET2 "411571002000"
#define COMM2 "411571002001"

static store *fresh(sla **s)
{
    ny_err e;
    store *db = tu_open_fresh("open311");
    store_unit u[] = {
        {0, DISTRICT, "羊山新区", "district", NULL},  {0, STREET, "前进街道", "street", DISTRICT},
        {0, COMM, "新都社区", "community", STREET},   {0, GRID1, "新都社区第一网格", "grid", COMM},
        {0, STREET2, "羊山街道", "street", DISTRICT}, {0, COMM2, "羊山社区", "community", STREET2}};
    MUST(store_unit_put_batch(db, u, 6, NULL, &e));
    if (s)
        MUST(sla_load("data", s, &e));
    return db;
}

static void test_clients(void **state)
{
    (void)state;
    ny_err e;
    store *db = fresh(NULL);
    char key[AUTH_KEY_LEN + 1], hash[AUTH_KEY_HASH_LEN + 1], hash2[AUTH_KEY_HASH_LEN + 1];
    MUST(auth_api_key(key, hash, &e));
    char again[AUTH_KEY_HASH_LEN + 1];
    auth_key_hash(key, again);
    assert_string_equal(hash, again);
    assert_int_equal(store_open311_client_put(db, "bad name", hash, STREET, 1, &e), NY_EINVAL);
    assert_int_equal(store_open311_client_put(db, "fms", "ABC", STREET, 1, &e), NY_EINVAL);
    assert_int_equal(store_open311_client_put(db, "fms", hash, "411571009000", 1, &e),
                     NY_ENOTFOUND);
    MUST(store_open311_client_put(db, "fms", hash, STREET, 100, &e));
    store_open311_client c;
    MUST(store_open311_client_find(db, NULL, hash, &c, &e));
    assert_string_equal(c.name, "fms");
    assert_string_equal(c.unit, STREET);
    assert_string_equal(c.level, "street");
    assert_string_equal(c.unit_name, "前进街道");
    assert_int_equal(c.disabled, 0);
    assert_int_equal(c.created_at, 100);
    /* another client cannot take the same hash */
    assert_int_equal(store_open311_client_put(db, "copy", hash, STREET, 1, &e), NY_EEXIST);
    /* disabling, and re-keying (which enables and moves it) */
    MUST(store_open311_client_disable(db, "fms", 1, &e));
    MUST(store_open311_client_find(db, "fms", NULL, &c, &e));
    assert_int_equal(c.disabled, 1);
    assert_int_equal(store_open311_client_disable(db, "nobody", 1, &e), NY_ENOTFOUND);
    MUST(auth_api_key(key, hash2, &e));
    MUST(store_open311_client_put(db, "fms", hash2, DISTRICT, 200, &e));
    assert_int_equal(store_open311_client_find(db, NULL, hash, &c, &e), NY_ENOTFOUND);
    MUST(store_open311_client_find(db, NULL, hash2, &c, &e));
    assert_int_equal(c.disabled, 0);
    assert_string_equal(c.unit, DISTRICT);
    assert_int_equal(c.created_at, 100);
    store_close(db);
}

static void test_locate(void **state)
{
    (void)state;
    ny_err e;
    store *db = fresh(NULL);
    char unit[32];
    const char *street_scope = "411571001";
    MUST(store_open311_locate(db, street_scope, GRID1, NULL, STREET, unit, &e));
    assert_string_equal(unit, GRID1);
    assert_int_equal(store_open311_locate(db, street_scope, COMM2, NULL, STREET, unit, &e),
                     NY_ENOTFOUND);
    assert_int_equal(
        store_open311_locate(db, street_scope, "nonsense", "新都社区", STREET, unit, &e),
        NY_ENOTFOUND);
    MUST(
        store_open311_locate(db, street_scope, NULL, "前进街道新都社区幸福小区", STREET, unit, &e));
    assert_string_equal(unit, COMM);
    MUST(store_open311_locate(db, street_scope, NULL, "新都社区第一网格3号楼", STREET, unit, &e));
    assert_string_equal(unit, GRID1);
    /* a name from outside the key's subtree does not route */
    MUST(store_open311_locate(db, street_scope, NULL, "羊山社区菜市场", STREET, unit, &e));
    assert_string_equal(unit, STREET);
    MUST(store_open311_locate(db, street_scope, NULL, NULL, STREET, unit, &e));
    assert_string_equal(unit, STREET);
    MUST(store_open311_locate(db, "411571", NULL, "羊山社区菜市场", DISTRICT, unit, &e));
    assert_string_equal(unit, COMM2);
    store_close(db);
}

/* Opens a case at unit at time t; returns its id. */
static int64_t open_at(store *db, const sla *s, const char *unit, const char *category,
                       const char *kind, int64_t t)
{
    ny_err e;
    case_actor a = {"open311:fms", "fms", "open311", STREET, "411571001", ""};
    case_row c = {0};
    snprintf(c.kind, sizeof c.kind, "%s", kind);
    snprintf(c.source, sizeof c.source, "hotline");
    snprintf(c.category, sizeof c.category, "%s", category);
    snprintf(c.unit, sizeof c.unit, "%s", unit);
    MUST(case_row_set(&c.title, "井盖松动", &e));
    MUST(case_row_set(&c.description, "幸福小区3号楼前井盖松动", &e));
    MUST(case_row_set(&c.location, "", &e));
    MUST(case_row_set(&c.photo_url, "", &e));
    MUST(case_row_set(&c.reporter, "", &e));
    if (strcmp(kind, "rectification") == 0)
        c.due_at = t + 86400;
    MUST(case_open(db, s, &c, &a, t, &e));
    int64_t id = c.id;
    case_row_free(&c);
    return id;
}

struct seen {
    int n;
    int64_t ids[16];
    char note[64], lat[24], status[16];
    int64_t updated;
};

static int on_req(void *ctx, const store_open311_request *r)
{
    struct seen *s = ctx;
    if (s->n < 16)
        s->ids[s->n] = r->id;
    if (s->n++ == 0) {
        snprintf(s->note, sizeof s->note, "%s", r->note);
        snprintf(s->lat, sizeof s->lat, "%s", r->lat ? r->lat : "NULL");
        snprintf(s->status, sizeof s->status, "%s", r->status);
        s->updated = r->updated_at;
    }
    return NY_OK;
}

static struct seen list(store *db, store_open311_filter f)
{
    ny_err e;
    struct seen s = {0};
    if (!f.end)
        f.end = 1000000;
    MUST(store_open311_requests(db, &f, on_req, &s, &e));
    return s;
}

static void test_requests(void **state)
{
    (void)state;
    ny_err e;
    sla *s;
    store *db = fresh(&s);
    store_open311_client c;
    char hash[AUTH_KEY_HASH_LEN + 1], key[AUTH_KEY_LEN + 1];
    MUST(auth_api_key(key, hash, &e));
    MUST(store_open311_client_put(db, "fms", hash, STREET, 1, &e));
    MUST(store_open311_client_find(db, "fms", NULL, &c, &e));
    int64_t a = open_at(db, s, COMM, "城乡建设", "case", 1000);
    int64_t b = open_at(db, s, GRID1, "环境保护", "case", 2000);
    int64_t other = open_at(db, s, COMM2, "城乡建设", "case", 3000);
    open_at(db, s, GRID1, "城乡建设", "rectification", 4000);
    MUST(store_open311_request_put(db, a, c.id, "32.130100", "114.091200", "", 1000, &e));
    assert_int_equal(store_open311_request_put(db, a, c.id, NULL, NULL, "", 1000, &e), NY_EEXIST);

    struct seen all = list(db, (store_open311_filter){0});
    assert_int_equal(all.n, 3); /* the rectification item is no request */
    assert_int_equal(all.ids[0], other);
    assert_int_equal(all.ids[2], a);
    struct seen mine = list(db, (store_open311_filter){.scope = "411571001"});
    assert_int_equal(mine.n, 2);
    assert_int_equal(mine.ids[0], b);
    struct seen env = list(db, (store_open311_filter){.category = "环境保护"});
    assert_int_equal(env.n, 1);
    assert_int_equal(env.ids[0], b);
    struct seen window = list(db, (store_open311_filter){.start = 1000, .end = 2000});
    assert_int_equal(window.n, 2);
    struct seen limited = list(db, (store_open311_filter){.limit = 1});
    assert_int_equal(limited.n, 1);
    int64_t ids[] = {a, other};
    struct seen byid = list(db, (store_open311_filter){.ids = ids, .n_ids = 2, .start = 5000});
    assert_int_equal(byid.n, 2); /* ids ignore the other filters */
    struct seen one = list(db, (store_open311_filter){.ids = &a, .n_ids = 1});
    assert_string_equal(one.lat, "32.130100");
    assert_string_equal(one.note, "Open311 接口受理");
    assert_int_equal(one.updated, 1000);

    /* the case climbs to the district: still in the street's area (origin), and
     * its status, note and update time follow the log */
    case_actor comm = {"comm1", "社区", "community", COMM, COMM, ""};
    case_actor dist = {"district1", "区中心", "district", DISTRICT, "411571", ""};
    case_request esc = {.action = CASE_ESCALATE, .note = "需街道协调"};
    MUST(case_act(db, s, a, &comm, &esc, 5000, NULL, NULL, &e));
    case_actor street = {"street1", "街道", "street", STREET, "411571001", ""};
    esc.note = "需区住建局处理";
    MUST(case_act(db, s, a, &street, &esc, 6000, NULL, NULL, &e));
    case_request acc = {.action = CASE_ACCEPT};
    case_actor dept = {"dept-zj", "住建", "department", DISTRICT, "411571", "区住建局"};
    MUST(case_act(db, s, a, &dept, &acc, 7000, NULL, NULL, &e));
    one = list(db, (store_open311_filter){.ids = &a, .n_ids = 1, .scope = "411571001"});
    assert_int_equal(one.n, 1);
    assert_string_equal(one.note, "需区住建局处理");
    assert_string_equal(one.status, "accepted");
    assert_int_equal(one.updated, 7000);
    case_request res = {.action = CASE_RESOLVE, .note = "已更换井盖"};
    MUST(case_act(db, s, a, &dept, &res, 8000, NULL, NULL, &e));
    case_request ver = {.action = CASE_VERIFY};
    MUST(case_act(db, s, a, &dist, &ver, 8100, NULL, NULL, &e));
    case_request close = {.action = CASE_CLOSE};
    MUST(case_act(db, s, a, &dist, &close, 8200, NULL, NULL, &e));
    struct seen closed = list(db, (store_open311_filter){.status = 2});
    assert_int_equal(closed.n, 1);
    assert_string_equal(closed.note, "已更换井盖");
    assert_int_equal(list(db, (store_open311_filter){.status = 1}).n, 2);
    store_close(db);
    sla_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients),
        cmocka_unit_test(test_locate),
        cmocka_unit_test(test_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
