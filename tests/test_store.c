/* test_store.c - tests of the storage interface (store.h) on either engine.
 *
 * Every test speaks only store.h, so the same program checks the SQLite
 * driver and, when the runner sets NUANYANG_TEST_PG, the PostgreSQL driver:
 * opening and migrating, round trips of every entity kind, batch errors with
 * the failing index and nothing written, transactions, unit subtrees,
 * counts and the digest (jobs and cache versions: test_store_jobs.c). The few
 * checks that need the engine itself (schema newer than the program, a file
 * that is not a database, the append-only case log refusing UPDATE) open the
 * SQLite file directly and are skipped on PostgreSQL. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* Runs a store call that must succeed; needs a local ny_err e. */
/* The demo district's top: two streets, three communities, four grids, in
 * code order (the order *_each returns them). */
static const store_unit units[] = {
    {0, "411571000000", "羊山新区", "district", NULL},
    {0, "411571001000", "前进街道", "street", "411571000000"},
    {0, "411571001001", "新都社区", "community", "411571001000"},
    {0, "411571001001001", "新都社区第一网格", "grid", "411571001001"},
    {0, "411571001001002", "新都社区第二网格", "grid", "411571001001"},
    {0, "411571001002", "金色阳光社区", "community", "411571001000"},
    {0, "411571001002001", "金色阳光社区第一网格", "grid", "411571001002"},
    {0, "411571002000", "平桥街道", "street", "411571000000"},
    {0, "411571002001", "明港社区", "community", "411571002000"},
    {0, "411571002001001", "明港社区第一网格", "grid", "411571002001"},
};
enum { NUNITS = sizeof units / sizeof units[0], GRID1 = 3, GRID2 = 4, COMMUNITY1 = 2 };

/* Ids of the rows seed_all() wrote. */
struct seeded {
    int64_t unit[NUNITS], household[2], enterprise[2], group[2], staff[2], policy[2], lexeme[2];
    int64_t message[2], kase[2], event[3], lead[2];
};

static void seed_units(store *s, int64_t *ids)
{
    ny_err e;
    MUST(store_unit_put_batch(s, units, NUNITS, ids, &e));
}

/* Fixtures in the order *_each returns them. */
static const store_household households[] = {
    {0, "H411571001001001-0001", "411571001001001", "新都社区3号楼2单元501", 3, "13812345678"},
    {0, "H411571001001001-0002", "411571001001001", "新都社区5号楼1单元101", 1, ""},
};
static const store_enterprise enterprises[] = {
    {0, "91411571MA44XY3K0P", "信阳市羊山新区新都超市有限公司", "零售业", "411571001001002"},
    {0, "91411571MA9CNQ7L2P", "信阳市前进物业服务有限公司", "物业管理", "411571001001001"},
};
static const store_group groups[] = {
    {0, "wecom", "wrOgAAA001", "resident", "411571001001001", "新都社区一网格居民群", 212, ""},
    {0, "wecom", "wrOgAAA002", "enterprise", "411571001001002", "新都社区商户群", 38,
     "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo"},
};
static const store_staff staff[] = {
    {0, "wangfang", "王芳", "13900001111", "grid_worker", "411571001001001", ""},
    {0, "zhujian01", "李强", "13700002222", "department", "411571000000", "区住建局"},
};
static const store_policy policies[] = {
    {0, "dibao", "城乡居民最低生活保障", "劳动和社会保障", "resident", "区民政局",
     "家庭人均收入低于当地低保标准的居民可申请。", "本区户籍，家庭人均收入低于标准",
     "向社区提交申请，街道审核，区民政局审批", "低保;最低生活保障;困难"},
    {0, "kaiye", "小微企业开业补贴", "商贸旅游", "enterprise", "区商务局", "首次创业开业补贴。",
     "首次领取营业执照未满一年", "线上提交材料", "开业;补贴;创业"},
};
static const store_lexeme lexicon[] = {
    {0, "漏水", "literal", "report", "城乡建设", 1.0, ""},
    {0, "电梯…坏", "pattern", "report", "城乡建设", 1.5, "notify_grid"},
};

/* Rows that refer to others by id: templates, completed by build_*(). */
static const store_message message_rows[] = {
    {0, 0, "demo", "m-0001", "wx_zhang", "张阿姨", 1767225600, "3号楼电梯又坏了，老人下不了楼",
     "report", "城乡建设", "{\"intent\":\"report\",\"score\":0.92}"},
    {0, 0, "demo", "m-0002", "wx_li", "李老板", 1767229200, "今天几点开门？", NULL, NULL, NULL},
};
static const store_case case_rows[] = {
    {0, "lead", "3号楼电梯故障", "3号楼电梯停运，老人出行困难", "城乡建设", "utility", 0,
     "accepted", "grid", 0, "", "新都社区3号楼", "", "张阿姨", 1767226000, 1767312400, 0, 0, 0},
    {0, "walk_in", "路灯不亮", "小区北门路灯不亮", "城乡建设", "general", 1, "closed", "community",
     0, "", "新都社区北门", "https://img.example/1.jpg", "", 1767000000, 0, 1767100000, 1, 5},
};
static const store_case_event event_rows[] = {
    {0, 0, 1767226000, "system", "report", "{}", "由线索生成"},
    {0, 0, 1767226300, "wangfang", "accept", "{\"status\":[\"reported\",\"accepted\"]}", ""},
    {0, 0, 1767100000, "wangfang", "close", "{\"status\":[\"verified\",\"closed\"]}", "居民满意"},
};
static const store_lead lead_rows[] = {
    {0, 0, 0, 0, "report", "城乡建设", 1767225700, 0},
    {0, 0, 0, 0, "consult", "商贸旅游", 1767229300, 0},
};

static void build_messages(store_message m[2], const int64_t gid[2])
{
    for (int i = 0; i < 2; i++) {
        m[i] = message_rows[i];
        m[i].group_id = gid[i];
    }
}

static void build_cases(store_case c[2], const int64_t uid[NUNITS])
{
    c[0] = case_rows[0];
    c[0].unit_id = uid[GRID1];
    c[1] = case_rows[1];
    c[1].unit_id = uid[COMMUNITY1];
}

static void build_events(store_case_event ev[3], const int64_t cid[2])
{
    for (int i = 0; i < 3; i++) {
        ev[i] = event_rows[i];
        ev[i].case_id = cid[i / 2];
    }
}

/* Lead 0 is about message 0 on grid 1 and became case 0; lead 1 has no case. */
static void build_leads(store_lead l[2], const int64_t mid[2], const int64_t gid[2],
                        const int64_t uid[NUNITS], const int64_t cid[2])
{
    for (int i = 0; i < 2; i++) {
        l[i] = lead_rows[i];
        l[i].message_id = mid[i];
        l[i].group_id = gid[i];
        l[i].unit_id = uid[i ? GRID2 : GRID1];
    }
    l[0].case_id = cid[0];
}

/* Writes messages, cases, events and leads referring to units uid and
 * groups gid; their ids go to ids. */
static void seed_dependents(store *s, const int64_t uid[NUNITS], const int64_t gid[2],
                            struct seeded *ids)
{
    ny_err e;
    store_message m[2];
    store_case c[2];
    store_case_event ev[3];
    store_lead l[2];
    build_messages(m, gid);
    MUST(store_message_put_batch(s, m, 2, ids->message, &e));
    build_cases(c, uid);
    MUST(store_case_put_batch(s, c, 2, ids->kase, &e));
    build_events(ev, ids->kase);
    MUST(store_case_event_append_batch(s, ev, 3, ids->event, &e));
    build_leads(l, ids->message, gid, uid, ids->kase);
    MUST(store_lead_put_batch(s, l, 2, ids->lead, &e));
}

/* Every entity kind, in code order. */
static void seed_all(store *s, struct seeded *ids)
{
    ny_err e;
    seed_units(s, ids->unit);
    MUST(store_household_put_batch(s, households, 2, ids->household, &e));
    MUST(store_enterprise_put_batch(s, enterprises, 2, ids->enterprise, &e));
    MUST(store_group_put_batch(s, groups, 2, ids->group, &e));
    MUST(store_staff_put_batch(s, staff, 2, ids->staff, &e));
    MUST(store_policy_put_batch(s, policies, 2, ids->policy, &e));
    MUST(store_lexicon_put_batch(s, lexicon, 2, ids->lexeme, &e));
    seed_dependents(s, ids->unit, ids->group, ids);
}

/* Equal strings, where NULL equals only NULL. */
static void str_eq(const char *want, const char *got)
{
    if (!want || !got)
        assert_ptr_equal(want, got);
    else
        assert_string_equal(want, got);
}

/* Iteration state of the round-trip callbacks: expected rows and ids. */
struct expect {
    const void *rows;
    const int64_t *ids;
    size_t n, seen;
};

static const void *next_row(struct expect *x, size_t size, int64_t id)
{
    assert_true(x->seen < x->n);
    assert_int_equal(id, x->ids[x->seen]);
    return (const char *)x->rows + size * x->seen++;
}

static int check_unit(void *ctx, const store_unit *u)
{
    const store_unit *w = next_row(ctx, sizeof *w, u->id);
    str_eq(w->code, u->code);
    str_eq(w->name, u->name);
    str_eq(w->level, u->level);
    str_eq(w->parent_code, u->parent_code);
    return NY_OK;
}

static int check_household(void *ctx, const store_household *h)
{
    const store_household *w = next_row(ctx, sizeof *w, h->id);
    str_eq(w->code, h->code);
    str_eq(w->grid_code, h->grid_code);
    str_eq(w->address, h->address);
    assert_int_equal(w->size, h->size);
    str_eq(w->phone, h->phone);
    return NY_OK;
}

static int check_enterprise(void *ctx, const store_enterprise *x)
{
    const store_enterprise *w = next_row(ctx, sizeof *w, x->id);
    str_eq(w->uscc, x->uscc);
    str_eq(w->name, x->name);
    str_eq(w->industry, x->industry);
    str_eq(w->grid_code, x->grid_code);
    return NY_OK;
}

static int check_group(void *ctx, const store_group *g)
{
    const store_group *w = next_row(ctx, sizeof *w, g->id);
    str_eq(w->platform, g->platform);
    str_eq(w->external_id, g->external_id);
    str_eq(w->kind, g->kind);
    str_eq(w->unit_code, g->unit_code);
    str_eq(w->name, g->name);
    assert_int_equal(w->members, g->members);
    str_eq(w->target, g->target);
    return NY_OK;
}

static int check_staff(void *ctx, const store_staff *p)
{
    const store_staff *w = next_row(ctx, sizeof *w, p->id);
    str_eq(w->account, p->account);
    str_eq(w->name, p->name);
    str_eq(w->phone, p->phone);
    str_eq(w->role, p->role);
    str_eq(w->unit_code, p->unit_code);
    str_eq(w->department, p->department);
    return NY_OK;
}

static int check_policy(void *ctx, const store_policy *p)
{
    const store_policy *w = next_row(ctx, sizeof *w, p->id);
    str_eq(w->code, p->code);
    str_eq(w->title, p->title);
    str_eq(w->category, p->category);
    str_eq(w->audience, p->audience);
    str_eq(w->department, p->department);
    str_eq(w->summary, p->summary);
    str_eq(w->eligibility, p->eligibility);
    str_eq(w->how_to_apply, p->how_to_apply);
    str_eq(w->keywords, p->keywords);
    return NY_OK;
}

static int check_lexeme(void *ctx, const store_lexeme *l)
{
    const store_lexeme *w = next_row(ctx, sizeof *w, l->id);
    str_eq(w->term, l->term);
    str_eq(w->kind, l->kind);
    str_eq(w->intent, l->intent);
    str_eq(w->category, l->category);
    assert_true(w->weight == l->weight);
    str_eq(w->action, l->action);
    return NY_OK;
}

static int check_message(void *ctx, const store_message *m)
{
    const store_message *w = next_row(ctx, sizeof *w, m->id);
    assert_int_equal(w->group_id, m->group_id);
    str_eq(w->connector, m->connector);
    str_eq(w->external_id, m->external_id);
    str_eq(w->sender_id, m->sender_id);
    str_eq(w->sender_name, m->sender_name);
    assert_int_equal(w->sent_at, m->sent_at);
    str_eq(w->text, m->text);
    str_eq(w->intent, m->intent);
    str_eq(w->category, m->category);
    str_eq(w->triage, m->triage);
    return NY_OK;
}

static int check_case(void *ctx, const store_case *c)
{
    const store_case *w = next_row(ctx, sizeof *w, c->id);
    const char *ws[] = {w->source,   w->title,     w->description, w->category,
                        w->urgency,  w->status,    w->level,       w->department,
                        w->location, w->photo_url, w->reporter};
    const char *gs[] = {c->source,   c->title,     c->description, c->category,
                        c->urgency,  c->status,    c->level,       c->department,
                        c->location, c->photo_url, c->reporter};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
        str_eq(ws[i], gs[i]);
    assert_int_equal(w->priority, c->priority);
    assert_int_equal(w->unit_id, c->unit_id);
    assert_int_equal(w->opened_at, c->opened_at);
    assert_int_equal(w->due_at, c->due_at);
    assert_int_equal(w->closed_at, c->closed_at);
    assert_int_equal(w->overdue, c->overdue);
    assert_int_equal(w->satisfaction, c->satisfaction);
    return NY_OK;
}

static int check_event(void *ctx, const store_case_event *ev)
{
    const store_case_event *w = next_row(ctx, sizeof *w, ev->id);
    assert_int_equal(w->case_id, ev->case_id);
    assert_int_equal(w->at, ev->at);
    str_eq(w->actor, ev->actor);
    str_eq(w->action, ev->action);
    str_eq(w->changes, ev->changes);
    str_eq(w->note, ev->note);
    return NY_OK;
}

static int check_lead(void *ctx, const store_lead *l)
{
    const store_lead *w = next_row(ctx, sizeof *w, l->id);
    assert_int_equal(w->message_id, l->message_id);
    assert_int_equal(w->group_id, l->group_id);
    assert_int_equal(w->unit_id, l->unit_id);
    str_eq(w->intent, l->intent);
    str_eq(w->category, l->category);
    assert_int_equal(w->created_at, l->created_at);
    assert_int_equal(w->case_id, l->case_id);
    return NY_OK;
}

/* Records the codes a unit iteration returns. */
struct codes {
    char code[16][16];
    size_t n;
};

static int collect_code(void *ctx, const store_unit *u)
{
    struct codes *c = ctx;
    assert_true(c->n < 16);
    snprintf(c->code[c->n++], sizeof c->code[0], "%s", u->code);
    return NY_OK;
}

static size_t count_units(store *s)
{
    ny_err e;
    struct codes c = {.n = 0};
    MUST(store_units_subtree(s, NULL, collect_code, &c, &e));
    return c.n;
}

static int count_household(void *ctx, const store_household *h)
{
    (void)h;
    ++*(size_t *)ctx;
    return NY_OK;
}

static size_t count_households(store *s)
{
    ny_err e;
    size_t n = 0;
    MUST(store_households_each(s, count_household, &n, &e));
    return n;
}

/* ---- opening and migrating ---------------------------------------------- */

static void test_open_reopen(void **state)
{
    (void)state;
    ny_err e;
    char uri[1024];
    store *s = tu_open_fresh("open");
    int v = 0;
    MUST(store_schema_version(s, &v, &e));
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_string_equal(store_engine(s), tu_is_pg() ? "postgresql" : "sqlite");
    store_close(s);

    snprintf(uri, sizeof uri, "%s", tu_db_uri("reopen"));
    MUST(store_open(uri, NULL, &s, &e));
    seed_units(s, NULL);
    store_close(s);
    store_open_opts existing = {.must_exist = 1};
    MUST(store_open(uri, &existing, &s, &e));
    MUST(store_schema_version(s, &v, &e));
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(count_units(s), NUNITS);
    store_close(s);
    store_close(NULL);
}

static void test_migration_upgrade(void **state)
{
    (void)state;
    ny_err e;
    char uri[1024];
    store *s = NULL;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("upgrade"));
    store_open_opts old = {.target_version = 1};
    MUST(store_open(uri, &old, &s, &e));
    int v = 0;
    MUST(store_schema_version(s, &v, &e));
    assert_int_equal(v, 1);
    seed_units(s, NULL);
    store_close(s);

    MUST(store_open(uri, NULL, &s, &e));
    MUST(store_schema_version(s, &v, &e));
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(count_units(s), NUNITS);
    store_stats st;
    MUST(store_stats_get(s, &st, &e));
    assert_int_equal(st.units_grid, 4);
    assert_int_equal(st.cases_open, 0);
    store_close(s);
}

/* SQLite only: schema newer than the program, missing file, not a database. */
static void test_sqlite_refusals(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    ny_err e;
    char uri[1024];
    store *s = NULL;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("newer"));
    MUST(store_open(uri, NULL, &s, &e));
    store_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(uri, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema_version'", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_EVERSION);
    assert_null(s);
    assert_non_null(strstr(e.msg, "schema version 99"));
    assert_non_null(strstr(e.msg, "upgrade nuanyang"));

    store_open_opts existing = {.must_exist = 1};
    assert_int_equal(store_open(tu_tmp_path("absent.db"), &existing, &s, &e), NY_ENOTFOUND);
    assert_non_null(strstr(e.msg, "does not exist"));

    const char *junk = tu_tmp_path("notes.txt");
    tu_write_file(junk, "这不是数据库，只是一段很长的文字。This is not a database at all, "
                        "just text long enough to fill a header page of an SQLite file.\n");
    assert_int_equal(store_open(junk, NULL, &s, &e), NY_ERR);
    assert_non_null(strstr(e.msg, "not an SQLite file"));
}

/* ---- round trips and batch errors --------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    ny_err e;
    struct seeded ids;
    store *s = tu_open_fresh("roundtrip");
    seed_all(s, &ids);

    struct expect x = {units, ids.unit, NUNITS, 0};
    MUST(store_units_subtree(s, NULL, check_unit, &x, &e));
    assert_int_equal(x.seen, NUNITS);
    x = (struct expect){households, ids.household, 2, 0};
    MUST(store_households_each(s, check_household, &x, &e));
    assert_int_equal(x.seen, 2);
    x = (struct expect){enterprises, ids.enterprise, 2, 0};
    MUST(store_enterprises_each(s, check_enterprise, &x, &e));
    assert_int_equal(x.seen, 2);
    x = (struct expect){groups, ids.group, 2, 0};
    MUST(store_groups_each(s, check_group, &x, &e));
    assert_int_equal(x.seen, 2);
    x = (struct expect){staff, ids.staff, 2, 0};
    MUST(store_staff_each(s, check_staff, &x, &e));
    assert_int_equal(x.seen, 2);
    x = (struct expect){policies, ids.policy, 2, 0};
    MUST(store_policies_each(s, check_policy, &x, &e));
    assert_int_equal(x.seen, 2);
    x = (struct expect){lexicon, ids.lexeme, 2, 0};
    MUST(store_lexicon_each(s, check_lexeme, &x, &e));
    assert_int_equal(x.seen, 2);

    /* the later tables refer to ids; rebuild the rows seed_all() wrote */
    store_message m[2];
    store_case c[2];
    store_case_event ev[3];
    store_lead l[2];
    build_messages(m, ids.group);
    build_cases(c, ids.unit);
    build_events(ev, ids.kase);
    build_leads(l, ids.message, ids.group, ids.unit, ids.kase);
    x = (struct expect){m, ids.message, 2, 0};
    MUST(store_messages_each(s, check_message, &x, &e));
    assert_int_equal(x.seen, 2);
    x = (struct expect){c, ids.kase, 2, 0};
    MUST(store_cases_each(s, check_case, &x, &e));
    assert_int_equal(x.seen, 2);
    x = (struct expect){ev, ids.event, 3, 0};
    MUST(store_case_events_each(s, check_event, &x, &e));
    assert_int_equal(x.seen, 3);
    x = (struct expect){l, ids.lead, 2, 0};
    MUST(store_leads_each(s, check_lead, &x, &e));
    assert_int_equal(x.seen, 2);
    store_close(s);
}

static void test_batch_errors(void **state)
{
    (void)state;
    ny_err e;
    struct seeded ids;
    store *s = tu_open_fresh("errors");
    seed_all(s, &ids);

    const store_unit dup[] = {{0, "411571001003", "羊山社区", "community", "411571001000"},
                              {0, "411571001001", "新都社区", "community", "411571001000"}};
    assert_int_equal(store_unit_put_batch(s, dup, 2, NULL, &e), NY_EEXIST);
    assert_int_equal(e.index, 1);
    assert_non_null(strstr(e.msg, "411571001001"));
    assert_int_equal(count_units(s), NUNITS); /* 411571001003 was not kept */

    const store_unit orphan[] = {{0, "411571002002", "五星社区", "community", "411571002000"},
                                 {0, "411571009001", "无名社区", "community", "411571009000"}};
    assert_int_equal(store_unit_put_batch(s, orphan, 2, NULL, &e), NY_ENOTFOUND);
    assert_int_equal(e.index, 1);
    assert_non_null(strstr(e.msg, "unknown parent unit '411571009000'"));
    assert_int_equal(count_units(s), NUNITS);

    const store_unit skip_level[] = {{0, "411571001000001", "错位网格", "grid", "411571001000"}};
    assert_int_equal(store_unit_put_batch(s, skip_level, 1, NULL, &e), NY_EINVAL);
    assert_int_equal(e.index, 0);
    const store_unit misplaced[] = {
        {0, "411571003000", "十三里桥乡", "street", "411571000000"},
        {0, "411571003001", "十三里桥社区", "community", "411571003000"},
        {0, "411571003001001", "十三里桥网格", "grid", "411571003001"},
        {0, "411571003002", "乡政府社区", "community", "411571000000"}};
    assert_int_equal(store_unit_put_batch(s, misplaced, 4, NULL, &e), NY_EINVAL);
    assert_int_equal(e.index, 3);
    assert_int_equal(count_units(s), NUNITS);

    const store_household hh[] = {
        {0, "H411571001002001-0001", "411571001002001", "金色阳光1号楼", 4, "13600000000"},
        {0, "H411571001002-0001", "411571001002", "金色阳光2号楼", 2, ""}};
    assert_int_equal(store_household_put_batch(s, hh, 2, NULL, &e), NY_EINVAL);
    assert_int_equal(e.index, 1);
    assert_non_null(strstr(e.msg, "411571001002"));
    assert_int_equal(count_households(s), 2);
    const store_household nogrid[] = {
        {0, "H411571001009001-0001", "411571001009001", "不存在的网格", 2, ""}};
    assert_int_equal(store_household_put_batch(s, nogrid, 1, NULL, &e), NY_ENOTFOUND);
    assert_int_equal(e.index, 0);
    const store_household dup_hh[] = {households[1]};
    assert_int_equal(store_household_put_batch(s, dup_hh, 1, NULL, &e), NY_EEXIST);
    assert_int_equal(e.index, 0);

    const store_enterprise ent[] = {
        {0, "91411571MA44XY3K0P", "重复登记公司", "零售业", "411571001001001"}};
    assert_int_equal(store_enterprise_put_batch(s, ent, 1, NULL, &e), NY_EEXIST);
    const store_enterprise on_street[] = {
        {0, "91411571MA00000GX1", "街道公司", "零售业", "411571001000"}};
    assert_int_equal(store_enterprise_put_batch(s, on_street, 1, NULL, &e), NY_EINVAL);

    const store_message again[] = {
        {0, ids.group[0], "demo", "m-0003", "wx_a", "甲", 1767230000, "新消息", NULL, NULL, NULL},
        {0, ids.group[0], "demo", "m-0001", "wx_b", "乙", 1767230001, "重复", NULL, NULL, NULL}};
    assert_int_equal(store_message_put_batch(s, again, 2, NULL, &e), NY_EEXIST);
    assert_int_equal(e.index, 1);
    store_stats st;
    MUST(store_stats_get(s, &st, &e));
    assert_int_equal(st.messages, 2);

    const store_group bad_unit[] = {
        {0, "wechat", "g-9", "resident", "411571009001001", "无主群", 3, ""}};
    assert_int_equal(store_group_put_batch(s, bad_unit, 1, NULL, &e), NY_ENOTFOUND);
    const store_staff dup_staff[] = {staff[1], staff[0]};
    assert_int_equal(store_staff_put_batch(s, dup_staff, 2, NULL, &e), NY_EEXIST);
    assert_int_equal(e.index, 0);
    store_close(s);
}

static void test_transactions(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("tx");
    MUST(store_begin(s, &e));
    seed_units(s, NULL);
    MUST(store_rollback(s, &e));
    assert_int_equal(count_units(s), 0);

    MUST(store_begin(s, &e));
    seed_units(s, NULL);
    MUST(store_commit(s, &e));
    assert_int_equal(count_units(s), NUNITS);

    /* a failed batch inside a transaction, then rollback: nothing of it stays */
    MUST(store_begin(s, &e));
    const store_household ok[] = {
        {0, "H411571002001001-0001", "411571002001001", "明港小区1号楼", 2, ""}};
    MUST(store_household_put_batch(s, ok, 1, NULL, &e));
    const store_unit dup[] = {units[0]};
    assert_int_equal(store_unit_put_batch(s, dup, 1, NULL, &e), NY_EEXIST);
    MUST(store_rollback(s, &e));
    assert_int_equal(count_households(s), 0);
    assert_int_equal(count_units(s), NUNITS);
    store_close(s);
}

/* SQLite only: the case log refuses UPDATE and DELETE in the engine. */
static void test_case_log_append_only(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    ny_err e;
    char uri[1024];
    struct seeded ids;
    store *s = NULL;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("append"));
    MUST(store_open(uri, NULL, &s, &e));
    seed_all(s, &ids);
    store_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(uri, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE case_events SET note='改写'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM case_events", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- queries ------------------------------------------------------------ */

static int keep_parent(void *ctx, const store_unit *u)
{
    snprintf(ctx, 16, "%s", u->parent_code ? u->parent_code : "");
    return NY_OK;
}

static void test_subtree(void **state)
{
    (void)state;
    ny_err e;
    store *s = tu_open_fresh("subtree");
    seed_units(s, NULL);
    struct codes c = {.n = 0};
    MUST(store_units_subtree(s, "411571001000", collect_code, &c, &e));
    const char *want[] = {"411571001000",    "411571001001", "411571001001001",
                          "411571001001002", "411571001002", "411571001002001"};
    assert_int_equal(c.n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(c.code[i], want[i]);

    c.n = 0;
    MUST(store_units_subtree(s, "411571001001001", collect_code, &c, &e));
    assert_int_equal(c.n, 1);
    c.n = 0;
    MUST(store_units_subtree(s, "411571000000", collect_code, &c, &e));
    assert_int_equal(c.n, NUNITS);
    assert_int_equal(store_units_subtree(s, "411571009000", collect_code, &c, &e), NY_ENOTFOUND);

    char parent[16] = "";
    MUST(store_unit_get(s, "411571001002001", keep_parent, parent, &e));
    assert_string_equal(parent, "411571001002");
    assert_int_equal(store_unit_get(s, "411571001002009", keep_parent, parent, &e), NY_ENOTFOUND);
    store_close(s);
}

static int stop_at_second(void *ctx, const store_unit *u)
{
    (void)u;
    return ++*(int *)ctx == 2 ? NY_ECONFLICT : NY_OK;
}

static void test_stats_and_stop(void **state)
{
    (void)state;
    ny_err e;
    struct seeded ids;
    store *s = tu_open_fresh("stats");
    seed_all(s, &ids);
    store_stats st;
    MUST(store_stats_get(s, &st, &e));
    assert_int_equal(st.units_district, 1);
    assert_int_equal(st.units_street, 2);
    assert_int_equal(st.units_community, 3);
    assert_int_equal(st.units_grid, 4);
    assert_int_equal(st.groups_resident, 1);
    assert_int_equal(st.groups_enterprise, 1);
    assert_int_equal(st.households, 2);
    assert_int_equal(st.enterprises, 2);
    assert_int_equal(st.staff, 2);
    assert_int_equal(st.messages, 2);
    assert_int_equal(st.leads, 2);
    assert_int_equal(st.cases_open, 1);
    assert_int_equal(st.cases_closed, 1);
    assert_int_equal(st.policies, 2);
    assert_int_equal(st.lexicon, 2);

    /* a callback's non-OK result stops the iteration and is returned */
    int seen = 0;
    assert_int_equal(store_units_subtree(s, NULL, stop_at_second, &seen, &e), NY_ECONFLICT);
    assert_int_equal(seen, 2);
    assert_int_equal(count_units(s), NUNITS); /* and the query is reusable */
    store_close(s);
}

/* ---- digest ------------------------------------------------------------- */

/* Loads the same content as seed_all() but in another order, so that the
 * row ids of units, groups and the other coded rows differ. */
static void seed_reordered(store *s)
{
    ny_err e;
    struct seeded ids;
    MUST(store_unit_put_batch(s, &units[0], 1, &ids.unit[0], &e));
    MUST(store_unit_put_batch(s, &units[7], 3, &ids.unit[7], &e));
    MUST(store_unit_put_batch(s, &units[1], 6, &ids.unit[1], &e));
    const store_household hh[2] = {households[1], households[0]};
    MUST(store_household_put_batch(s, hh, 2, NULL, &e));
    const store_enterprise ent[2] = {enterprises[1], enterprises[0]};
    MUST(store_enterprise_put_batch(s, ent, 2, NULL, &e));
    MUST(store_group_put_batch(s, &groups[1], 1, &ids.group[1], &e));
    MUST(store_group_put_batch(s, &groups[0], 1, &ids.group[0], &e));
    const store_staff sf[2] = {staff[1], staff[0]};
    MUST(store_staff_put_batch(s, sf, 2, NULL, &e));
    const store_policy po[2] = {policies[1], policies[0]};
    MUST(store_policy_put_batch(s, po, 2, NULL, &e));
    const store_lexeme lx[2] = {lexicon[1], lexicon[0]};
    MUST(store_lexicon_put_batch(s, lx, 2, NULL, &e));
    /* a failed batch: PostgreSQL does not reuse the ids it drew, SQLite does */
    store_message dup[2] = {message_rows[0], message_rows[0]};
    dup[0].group_id = dup[1].group_id = ids.group[0];
    assert_int_equal(store_message_put_batch(s, dup, 2, NULL, &e), NY_EEXIST);
    seed_dependents(s, ids.unit, ids.group, &ids);
}

static void test_digest(void **state)
{
    (void)state;
    ny_err e;
    struct seeded ids;
    char empty[65], da[65], db[65], changed[65];
    store *a = tu_open_fresh("digest-a");
    MUST(store_digest(a, empty, &e));
    assert_int_equal(strlen(empty), 64);
    seed_all(a, &ids);
    MUST(store_digest(a, da, &e));
    assert_string_not_equal(da, empty);

    store *b = tu_open_fresh("digest-b");
    seed_reordered(b);
    MUST(store_digest(b, db, &e));
    assert_string_equal(da, db);

    const store_household more[] = {
        {0, "H411571002001001-0001", "411571002001001", "明港小区1号楼", 2, ""}};
    MUST(store_household_put_batch(b, more, 1, NULL, &e));
    MUST(store_digest(b, changed, &e));
    assert_string_not_equal(changed, da);
    store_close(a);
    store_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_reopen),          cmocka_unit_test(test_migration_upgrade),
        cmocka_unit_test(test_sqlite_refusals),      cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_batch_errors),         cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_case_log_append_only), cmocka_unit_test(test_subtree),
        cmocka_unit_test(test_stats_and_stop),       cmocka_unit_test(test_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
