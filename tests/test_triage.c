/* test_triage.c - unit tests of the assistant (triage.c, triage_decide.c,
 * triage_org.c, triage_etiquette.c).
 *
 * The decision table is checked on fixed intents and categories through the
 * module's internal tri_decide, so it does not move when the models are
 * retrained: each intent in no group, a resident group and an enterprise
 * group, without and with a database that knows the units and staff. The
 * whole pipeline is checked on messages whose meaning is not in doubt (the
 * emergency override, policies only for the right audience, keywords with
 * positions, repaired UTF-8), and the lexicon is reloaded while other threads
 * triage. The etiquette tests drive the clock by hand: rate limit, repeated
 * questions, merged reports, the bot's own messages, @-mentions, bounded
 * memory and concurrent use. The engine loads the default data from
 * $NUANYANG_DATA or data/ (the binaries run in the repository root). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "testutil.h"
#include "triage.h"
#include "triage_int.h"

enum { CONSULT, HELP, REPORT, EMERGENCY, COMPLAINT, OTHER };
enum { C_BUILD = 0, C_ENV = 1, C_LABOUR = 4, C_NONE = 7 };

static const char *data_dir(void)
{
    const char *d = getenv("NUANYANG_DATA");
    return d && *d ? d : "data";
}

static triage_engine *open_engine(store *db)
{
    triage_opts o = {data_dir(), NULL, db};
    triage_engine *en = NULL;
    ny_err e;
    int rc = triage_open(&o, &en, &e);
    if (rc != NY_OK)
        fail_msg("triage_open: %s", e.msg);
    return en;
}

/* ---- a small district in a database -------------------------------------- */

#define GRID "411571001001001"
#define COMM "411571001001"
#define STREET "411571001000"
#define DISTRICT "411571000000"

static store *small_district(void)
{
    store *s = tu_open_fresh("triage");
    ny_err e;
    store_unit u[] = {
        {.code = DISTRICT, .name = "羊山新区", .level = "district", .parent_code = NULL},
        {.code = STREET, .name = "前进街道", .level = "street", .parent_code = DISTRICT},
        {.code = COMM, .name = "新都社区", .level = "community", .parent_code = STREET},
        {.code = GRID, .name = "新都社区第一网格", .level = "grid", .parent_code = COMM},
    };
    assert_int_equal(store_unit_put_batch(s, u, 4, NULL, &e), NY_OK);
    store_staff st[] = {
        {.account = "gw1",
         .name = "董小燕",
         .phone = "13800000001",
         .role = "grid_worker",
         .unit_code = GRID,
         .department = ""},
        {.account = "comm1",
         .name = "李建国",
         .phone = "13800000002",
         .role = "community",
         .unit_code = COMM,
         .department = ""},
        {.account = "street1",
         .name = "王芳",
         .phone = "13800000003",
         .role = "street",
         .unit_code = STREET,
         .department = ""},
        {.account = "dept-renshe",
         .name = "赵强",
         .phone = "13800000004",
         .role = "department",
         .unit_code = DISTRICT,
         .department = "区人社局"},
    };
    assert_int_equal(store_staff_put_batch(s, st, 4, NULL, &e), NY_OK);
    store_group g[] = {
        {.platform = "wecom",
         .external_id = "res-1",
         .kind = "resident",
         .unit_code = GRID,
         .name = "新都一网格居民群",
         .members = 200,
         .target = ""},
        {.platform = "wecom",
         .external_id = "ent-1",
         .kind = "enterprise",
         .unit_code = COMM,
         .name = "新都企业服务群",
         .members = 40,
         .target = ""},
    };
    assert_int_equal(store_group_put_batch(s, g, 2, NULL, &e), NY_OK);
    return s;
}

/* ---- decision table ------------------------------------------------------- */

/* Runs the decision on a fixed intent and category. */
static void decide(triage_engine *en, triage_ws *ws, const triage_group *g, int intent,
                   int category, unsigned flags, unsigned district, triage_result *r)
{
    memset(r, 0, sizeof *r);
    r->intent = intent;
    r->category = category;
    tri_signals s = {flags, district};
    ny_err e;
    assert_int_equal(tri_decide(en, ws, g, &s, r, &e), NY_OK);
}

/* The roles of r->notify joined with ','. */
static const char *roles(const triage_result *r)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; i < r->nnotify; i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, r->notify[i].role);
    }
    return buf;
}

static void test_decision_table(void **state)
{
    (void)state;
    triage_engine *en = open_engine(NULL);
    triage_ws *ws;
    ny_err e;
    assert_int_equal(triage_ws_new(en, &ws, &e), NY_OK);
    triage_group res = {"resident", NULL}, ent = {"enterprise", NULL};
    const triage_group *groups[] = {NULL, &res, &ent};
    static const struct {
        int intent;
        const char *roles, *enterprise_roles;
        int reply, priority;
    } table[] = {
        {CONSULT, "", "", 1, TRIAGE_LOW},
        {HELP, "grid_worker", "grid_worker,department", 1, TRIAGE_NORMAL},
        {REPORT, "grid_worker", "grid_worker,department", 1, TRIAGE_NORMAL},
        {EMERGENCY, "grid_worker,community,street", "grid_worker,community,street,department", 1,
         TRIAGE_URGENT},
        {COMPLAINT, "grid_worker,community", "grid_worker,community,department", 1, TRIAGE_HIGH},
        {OTHER, "", "", 0, TRIAGE_LOW},
    };
    triage_result r;
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        for (int k = 0; k < 3; k++) {
            decide(en, ws, groups[k], table[i].intent, C_BUILD, 0, 0, &r);
            assert_string_equal(roles(&r), k == 2 ? table[i].enterprise_roles : table[i].roles);
            assert_int_equal(r.reply != NULL, table[i].reply);
            assert_int_equal(r.priority, table[i].priority);
            for (size_t j = 0; j < r.nnotify; j++) /* no database: no units */
                assert_null(r.notify[j].unit_code);
            /* category 无 never goes to a department */
            decide(en, ws, groups[k], table[i].intent, C_NONE, 0, 0, &r);
            assert_string_equal(roles(&r), table[i].roles);
        }

    /* replies */
    decide(en, ws, NULL, HELP, C_BUILD, 0, 0, &r);
    assert_non_null(strstr(r.reply, "网格员"));
    decide(en, ws, NULL, CONSULT, C_BUILD, 0, 0, &r); /* no policy: grid worker or 12345 */
    assert_non_null(strstr(r.reply, "12345"));
    assert_non_null(strstr(r.reply, "网格员"));
    decide(en, ws, NULL, EMERGENCY, C_NONE, 0, 0, &r); /* no cue: all three numbers */
    assert_non_null(strstr(r.reply, "110"));
    assert_non_null(strstr(r.reply, "119"));
    assert_non_null(strstr(r.reply, "120"));
    assert_non_null(strstr(r.reply, "网格员已收到"));
    decide(en, ws, NULL, EMERGENCY, C_NONE, TRI_FIRE, 0, &r);
    assert_non_null(strstr(r.reply, "119"));
    assert_null(strstr(r.reply, "120"));
    assert_null(strstr(r.reply, "110"));
    decide(en, ws, NULL, EMERGENCY, C_NONE, TRI_MEDICAL | TRI_POLICE, 0, &r);
    assert_null(strstr(r.reply, "119"));
    assert_non_null(strstr(r.reply, "120"));
    assert_non_null(strstr(r.reply, "110"));

    /* signals: disputes bring in the community, district cues the department,
     * a danger word the safety rule did not accept raises the priority */
    decide(en, ws, &res, REPORT, C_BUILD, TRI_COMMUNITY, 0, &r);
    assert_string_equal(roles(&r), "grid_worker,community");
    decide(en, ws, &res, COMPLAINT, C_BUILD, 0, 1u << C_LABOUR, &r);
    assert_string_equal(roles(&r), "grid_worker,community,department");
    assert_string_equal(r.notify[2].department, "区人社局");
    assert_non_null(strstr(r.reply, "区人社局"));
    decide(en, ws, &res, REPORT, C_ENV, 0, 1u << C_ENV, &r);
    assert_string_equal(r.notify[1].department, "区生态环境分局");
    decide(en, ws, &res, HELP, C_BUILD, TRI_URGENT, 0, &r);
    assert_int_equal(r.priority, TRIAGE_HIGH);
    decide(en, ws, &res, CONSULT, C_BUILD, 0, 1u << C_LABOUR, &r); /* consult tells no one */
    assert_int_equal(r.nnotify, 0);
    triage_ws_free(ws);
    triage_close(en);
}

static void test_decision_with_database(void **state)
{
    (void)state;
    store *db = small_district();
    triage_engine *en = open_engine(db);
    triage_ws *ws;
    ny_err e;
    assert_int_equal(triage_ws_new(en, &ws, &e), NY_OK);
    triage_group res, ent;
    assert_int_equal(triage_find_group(en, "res-1", &res, &e), NY_OK);
    assert_string_equal(res.kind, "resident");
    assert_string_equal(res.unit_code, GRID);
    assert_int_equal(triage_find_group(en, "ent-1", &ent, &e), NY_OK);
    assert_int_equal(triage_find_group(en, "nope", &ent, &e), NY_ENOTFOUND);
    assert_int_equal(triage_find_group(en, "ent-1", &ent, &e), NY_OK);
    triage_result r;

    decide(en, ws, &res, EMERGENCY, C_NONE, 0, 0, &r);
    assert_string_equal(roles(&r), "grid_worker,community,street");
    assert_string_equal(r.notify[0].unit_code, GRID);
    assert_string_equal(r.notify[0].account, "gw1");
    assert_string_equal(r.notify[1].unit_code, COMM);
    assert_string_equal(r.notify[1].name, "李建国");
    assert_string_equal(r.notify[2].unit_code, STREET);
    assert_string_equal(r.notify[2].unit_name, "前进街道");

    decide(en, ws, &res, REPORT, C_BUILD, 0, 0, &r); /* the acknowledgement names her */
    assert_non_null(strstr(r.reply, "网格员董小燕"));
    decide(en, ws, &res, CONSULT, C_BUILD, 0, 0, &r);
    assert_non_null(strstr(r.reply, "网格员董小燕"));
    assert_int_equal(r.nnotify, 0);

    decide(en, ws, &res, COMPLAINT, C_LABOUR, 0, 1u << C_LABOUR, &r);
    assert_string_equal(roles(&r), "grid_worker,community,department");
    assert_string_equal(r.notify[2].unit_code, DISTRICT);
    assert_string_equal(r.notify[2].account, "dept-renshe");
    assert_string_equal(r.notify[2].department, "区人社局");

    /* a group owned by a community: its officer answers for the grid level */
    decide(en, ws, &ent, HELP, C_LABOUR, 0, 0, &r);
    assert_string_equal(roles(&r), "community,department");
    assert_string_equal(r.notify[0].unit_code, COMM);
    assert_non_null(strstr(r.reply, "社区工作人员李建国"));
    decide(en, ws, &ent, EMERGENCY, C_NONE, 0, 0, &r);
    assert_string_equal(roles(&r), "community,street");

    /* without a group the database gives names of departments only */
    decide(en, ws, NULL, REPORT, C_BUILD, 0, 0, &r);
    assert_null(r.notify[0].unit_code);
    assert_int_equal(strcmp(r.reply, "收到，已转告网格员，会尽快到现场查看处理。"), 0);
    triage_ws_free(ws);
    triage_close(en);
    store_close(db);
}

/* ---- the whole pipeline --------------------------------------------------- */

static void run(triage_ws *ws, const char *text, const triage_group *g, triage_result *r)
{
    ny_err e;
    assert_int_equal(triage_message(ws, text, strlen(text), g, r, &e), NY_OK);
}

static int has_keyword(const triage_result *r, const char *term)
{
    for (size_t i = 0; i < r->nkeywords; i++)
        if (strcmp(r->keywords[i].term, term) == 0)
            return 1;
    return 0;
}

static void test_pipeline(void **state)
{
    (void)state;
    triage_engine *en = open_engine(NULL);
    triage_ws *ws;
    ny_err e;
    assert_int_equal(triage_ws_new(en, &ws, &e), NY_OK);
    triage_result r;

    /* emergencies are never missed: the safety rule or the model */
    static const char *const emergencies[] = {"楼下着火了 快来人", "3号楼有人晕倒了叫不醒",
                                              "厨房煤气泄漏了好大的味道", "救命 电梯里困人了"};
    for (size_t i = 0; i < sizeof emergencies / sizeof *emergencies; i++) {
        run(ws, emergencies[i], NULL, &r);
        assert_string_equal(r.intent_name, "emergency");
        assert_int_equal(r.priority, TRIAGE_URGENT);
        assert_non_null(strstr(r.reply, "网格员已收到"));
        assert_string_equal(roles(&r), "grid_worker,community,street");
    }
    /* the 困 of 困难 (hardship) near a lift traps no one: the lexicon's lift
     * patterns need 困住, 困人 or 困在 */
    static const char *const not_trapped[] = {"家里困难。电梯什么时候修好",
                                              "老人上下楼很困难。小区电梯又坏了"};
    for (size_t i = 0; i < sizeof not_trapped / sizeof *not_trapped; i++) {
        run(ws, not_trapped[i], NULL, &r);
        assert_string_not_equal(r.intent_name, "emergency");
    }
    run(ws, "有人困在3号楼电梯里", NULL, &r);
    assert_string_equal(r.intent_name, "emergency");
    run(ws, "楼下着火了 快来人", NULL, &r);
    assert_non_null(strstr(r.reply, "119"));
    assert_true(has_keyword(&r, "着火"));
    for (size_t i = 0; i < r.nkeywords; i++) { /* positions point at the term */
        const triage_keyword *k = &r.keywords[i];
        assert_true(k->start < k->end && k->end <= r.norm_len);
        if (strchr(k->term, 0xE2) == NULL) /* literal terms: the text is the term */
            assert_memory_equal(r.norm + k->start, k->term, k->end - k->start);
    }
    /* full-width and traditional text is normalised before matching */
    run(ws, "樓下着火了　快來人", NULL, &r);
    assert_string_equal(r.intent_name, "emergency");
    assert_true(has_keyword(&r, "着火"));
    /* original offsets */
    const char *t = "  电梯坏了";
    run(ws, t, NULL, &r);
    assert_true(has_keyword(&r, "电梯"));
    for (size_t i = 0; i < r.nkeywords; i++)
        if (strcmp(r.keywords[i].term, "电梯") == 0)
            assert_memory_equal(t + r.keywords[i].ostart, "电梯", 6);

    /* policies: for consult, filtered by the group's audience */
    triage_group res = {"resident", NULL}, ent = {"enterprise", NULL};
    run(ws, "请问我们公司的稳岗返还今年怎么申请", &ent, &r);
    assert_string_equal(r.intent_name, "consult");
    assert_true(r.npolicies >= 1);
    assert_string_equal(r.policies[0].code, "wengang_fanhuan");
    assert_non_null(strstr(r.reply, r.policies[0].title));
    run(ws, "请问我们公司的稳岗返还今年怎么申请", &res, &r);
    for (size_t i = 0; i < r.npolicies; i++)
        assert_string_not_equal(r.policies[i].code, "wengang_fanhuan");
    run(ws, "请问低保怎么申请 需要什么材料", &res, &r);
    assert_string_equal(r.intent_name, "consult");
    assert_true(r.npolicies >= 1);
    assert_string_equal(r.policies[0].code, "dibao");
    run(ws, "请问低保怎么申请 需要什么材料", &ent, &r); /* a resident policy */
    for (size_t i = 0; i < r.npolicies; i++)
        assert_string_not_equal(r.policies[i].code, "dibao");
    /* no policies outside consult and help */
    run(ws, "楼下着火了 快来人 低保户家里", NULL, &r);
    assert_int_equal(r.npolicies, 0);

    /* chit-chat: no reply, nobody told */
    run(ws, "好的 谢谢", &res, &r);
    assert_string_equal(r.intent_name, "other");
    assert_null(r.reply);
    assert_int_equal(r.nnotify, 0);
    /* chatter has no domain, whatever words it forwards */
    run(ws, "转发:关于城乡居民医保缴费的通知 请大家相互转告", &res, &r);
    assert_string_equal(r.intent_name, "other");
    assert_string_equal(r.category_name, "无");

    /* 无 is for chatter and for help without a public domain: a consultation,
       report or complaint of more than MODEL_CHATTER_CHARS code points (a
       short written appeal, polite and ending in thanks) always has one */
    static const char *const polite[] = {
        "您好，我上个月反映的问题到现在还没有回复，请问什么时候能处理？麻烦尽快答复，谢谢。",
        "请问一下各位，这个事情到底归哪个部门管？我们打了好几个电话都说不归他们管，谢谢！",
        "尊敬的李局长：您好！我们小区门口的路灯坏了一个多月了，麻烦您安排人修一下，万分感谢！",
    };
    size_t domain_asked = 0;
    for (size_t i = 0; i < sizeof polite / sizeof *polite; i++) {
        run(ws, polite[i], &res, &r);
        assert_true(model_chars(polite[i], strlen(polite[i])) > MODEL_CHATTER_CHARS);
        if (strcmp(r.intent_name, "other") && strcmp(r.intent_name, "help")) {
            assert_string_not_equal(r.category_name, "无");
            domain_asked++;
        }
    }
    assert_true(domain_asked >= 2);
    /* above MODEL_NONE_CHARS never 无, even read as thanks */
    static const char thanks[] = "各位领导好，我们厂里已经两个多月没有发工资了，老板也找不到人，"
                                 "请帮忙过问一下，非常感谢大家！";
    assert_true(model_chars(thanks, strlen(thanks)) > MODEL_NONE_CHARS);
    run(ws, thanks, &res, &r);
    assert_string_not_equal(r.category_name, "无");

    /* any bytes: repaired, never an error; empty text */
    static const char bad[] = "\xff\xfe\xc3电梯\xe6\x9d坏了\x00\x01";
    assert_int_equal(triage_message(ws, bad, sizeof bad - 1, NULL, &r, &e), NY_OK);
    assert_int_equal(domain_utf8_check(r.norm, r.norm_len, &e), NY_OK);
    run(ws, "", NULL, &r);
    assert_int_equal(r.nkeywords, 0);
    run(ws, " \t\u3000\u200b ", NULL, &r); /* nothing to read: other, no reply */
    assert_string_equal(r.intent_name, "other");
    assert_string_equal(r.category_name, "无");
    assert_null(r.reply);
    /* a long message */
    size_t n = 200000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i + 12 <= n; i += 12)
        memcpy(big + i, "电梯坏了", 12);
    assert_int_equal(triage_message(ws, big, n / 12 * 12, NULL, &r, &e), NY_OK);
    assert_true(r.nkeywords > 1000);
    assert_int_equal(r.keywords[1].repeat + r.keywords[0].repeat >= 0, 1);
    free(big);
    /* a bad group kind is the caller's error */
    triage_group odd = {"school", NULL};
    assert_int_equal(triage_message(ws, "x", 1, &odd, &r, &e), NY_EINVAL);
    assert_string_equal(triage_priority_name(TRIAGE_HIGH), "high");
    triage_ws_free(ws);
    triage_close(en);
}

static void test_open_errors(void **state)
{
    (void)state;
    triage_opts o = {tu_tmp_path("no-such-dir"), NULL, NULL};
    triage_engine *en = NULL;
    ny_err e;
    assert_int_equal(triage_open(&o, &en, &e), NY_ENOTFOUND);
    assert_null(en);
    o.data_dir = NULL;
    assert_int_equal(triage_open(&o, &en, &e), NY_EINVAL);
}

/* ---- lexicon from the database and hot reload ----------------------------- */

typedef struct reload_ctx {
    triage_engine *en;
    atomic_int stop, bad;
    atomic_long done;
} reload_ctx;

static void *triage_thread(void *arg)
{
    reload_ctx *c = arg;
    triage_ws *ws;
    ny_err e;
    if (triage_ws_new(c->en, &ws, &e) != NY_OK) {
        atomic_store(&c->bad, 1);
        return NULL;
    }
    triage_result r;
    static const char text[] = "甲乙丙丁词 电梯坏了没人修";
    while (!atomic_load(&c->stop)) {
        if (triage_message(ws, text, sizeof text - 1, NULL, &r, &e) != NY_OK) {
            atomic_store(&c->bad, 1);
            break;
        }
        /* either version: the small one finds its own term, the full one 电梯 */
        int small = has_keyword(&r, "甲乙丙丁词"), full = has_keyword(&r, "电梯");
        if (small == full)
            atomic_store(&c->bad, 1);
        atomic_fetch_add(&c->done, 1);
    }
    triage_ws_free(ws);
    return NULL;
}

/* Publishes the one-row lexicon over and over, racing the main thread. */
static void *reload_thread(void *arg)
{
    reload_ctx *c = arg;
    store_lexeme row = {.term = "甲乙丙丁词",
                        .kind = "literal",
                        .intent = "",
                        .category = "",
                        .weight = 1,
                        .action = ""};
    ny_err e;
    for (int k = 0; k < 30; k++)
        if (triage_reload_rows(c->en, &row, 1, &e) != NY_OK)
            atomic_store(&c->bad, 1);
    return NULL;
}

static void test_reload(void **state)
{
    (void)state;
    store *db = small_district();
    ny_err e;
    triage_engine *en = open_engine(db); /* empty lexicon table: the default file */
    size_t full = triage_lexicon_size(en);
    assert_true(full > 1000);
    store_lexeme rows[] = {
        {.term = "甲乙丙丁词",
         .kind = "literal",
         .intent = "report",
         .category = "城乡建设",
         .weight = 1,
         .action = "notify_community"},
        {.term = "没人…修",
         .kind = "pattern",
         .intent = "",
         .category = "",
         .weight = 1,
         .action = ""},
    };
    assert_int_equal(store_lexicon_put_batch(db, rows, 2, NULL, &e), NY_OK);
    assert_int_equal(triage_reload(en, db, &e), NY_OK);
    assert_int_equal(triage_lexicon_size(en), 2);
    triage_ws *ws;
    assert_int_equal(triage_ws_new(en, &ws, &e), NY_OK);
    triage_result r;
    run(ws, "甲乙丙丁词 电梯坏了没人修", NULL, &r);
    assert_int_equal(r.nkeywords, 2);
    assert_string_equal(r.keywords[0].term, "甲乙丙丁词");
    assert_string_equal(r.keywords[0].action, "notify_community");
    assert_string_equal(r.keywords[1].term, "没人…修");
    /* a bad row leaves the lexicon as it was */
    store_lexeme badrow = {.term = "x",
                           .kind = "literal",
                           .intent = "gossip",
                           .category = "",
                           .weight = 1,
                           .action = ""};
    assert_int_equal(triage_reload_rows(en, &badrow, 1, &e), NY_EINVAL);
    assert_int_equal(e.index, 0);
    assert_int_equal(triage_lexicon_size(en), 2);
    /* back to the file */
    assert_int_equal(triage_reload(en, NULL, &e), NY_OK);
    assert_int_equal(triage_lexicon_size(en), full);
    /* the result of a message survives a reload until the next message */
    run(ws, "电梯坏了", NULL, &r);
    assert_int_equal(triage_reload_rows(en, rows, 1, &e), NY_OK);
    assert_true(has_keyword(&r, "电梯"));
    triage_ws_free(ws);

    /* swaps from two threads while four threads triage */
    reload_ctx c = {.en = en};
    atomic_init(&c.stop, 0);
    atomic_init(&c.bad, 0);
    atomic_init(&c.done, 0);
    pthread_t th[4], rt;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, triage_thread, &c), 0);
    assert_int_equal(pthread_create(&rt, NULL, reload_thread, &c), 0);
    for (int k = 0; k < 40; k++) {
        if (k % 2)
            assert_int_equal(triage_reload_rows(en, rows, 1, &e), NY_OK);
        else
            assert_int_equal(triage_reload(en, NULL, &e), NY_OK);
    }
    assert_int_equal(pthread_join(rt, NULL), 0);
    while (atomic_load(&c.done) < 2000)
        (void)sched_yield();
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&c.bad), 0);
    triage_close(en);
    store_close(db);
}

/* ---- etiquette ------------------------------------------------------------- */

/* A triaged message as the etiquette sees it. */
static triage_result fake(int intent, int category, const char *norm, const char *reply,
                          const char *policy)
{
    triage_result r;
    memset(&r, 0, sizeof r);
    r.intent = intent;
    r.category = category;
    r.norm = norm;
    r.norm_len = strlen(norm);
    r.reply = reply;
    if (policy) {
        r.policies[0] = (triage_policy){policy, policy, "", "", "", 10};
        r.npolicies = 1;
    }
    return r;
}

static int decide_at(triage_etiquette *et, const char *group, const char *sender, int64_t ms,
                     const triage_result *r, triage_verdict *v)
{
    triage_post p = {group, sender, NULL, 0, r->norm, r->norm_len, ms, NULL};
    ny_err e;
    assert_int_equal(triage_etiquette_decide(et, &p, r, v, &e), NY_OK);
    return v->why;
}

static void test_rate_limit(void **state)
{
    (void)state;
    triage_etiquette *et;
    ny_err e;
    assert_int_equal(triage_etiquette_new(NULL, &et, &e), NY_OK);
    triage_verdict v;
    char text[32];
    for (int i = 0; i < 21; i++) { /* 21 different questions in 21 seconds */
        snprintf(text, sizeof text, "问题%d", i);
        triage_result r = fake(CONSULT, C_BUILD, text, "答复", NULL);
        decide_at(et, "g1", "u1", 1000 * i, &r, &v);
        assert_int_equal(v.why, i < 20 ? TRIAGE_SAY : TRIAGE_RATE);
        assert_true(i < 20 ? v.reply != NULL : v.reply == NULL);
    }
    /* another group has its own budget */
    triage_result r = fake(CONSULT, C_BUILD, "别的群的问题", "答复", NULL);
    assert_int_equal(decide_at(et, "g2", "u1", 21000, &r, &v), TRIAGE_SAY);
    /* a sliding minute: the next reply when the first one is a minute old */
    r = fake(CONSULT, C_BUILD, "问题21", "答复", NULL);
    assert_int_equal(decide_at(et, "g1", "u1", 59999, &r, &v), TRIAGE_RATE);
    r = fake(CONSULT, C_BUILD, "问题22", "答复", NULL);
    assert_int_equal(decide_at(et, "g1", "u1", 60000, &r, &v), TRIAGE_SAY);
    r = fake(CONSULT, C_BUILD, "问题23", "答复", NULL);
    assert_int_equal(decide_at(et, "g1", "u1", 60500, &r, &v), TRIAGE_RATE);
    /* a minute later the whole budget is back */
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof text, "后来的问题%d", i);
        r = fake(CONSULT, C_BUILD, text, "答复", NULL);
        assert_int_equal(decide_at(et, "g1", "u1", 200000 + i, &r, &v), TRIAGE_SAY);
    }
    r = fake(EMERGENCY, C_NONE, "着火了", "119", NULL); /* the platform refuses more */
    assert_int_equal(decide_at(et, "g1", "u1", 200100, &r, &v), TRIAGE_RATE);
    triage_etiquette_free(et);
}

static void test_repeat_and_mentions(void **state)
{
    (void)state;
    triage_etiquette_opts o = triage_etiquette_defaults();
    o.bot_sender_id = "bot-42";
    triage_etiquette *et;
    ny_err e;
    assert_int_equal(triage_etiquette_new(&o, &et, &e), NY_OK);
    triage_verdict v;
    triage_result q = fake(CONSULT, C_LABOUR, "低保怎么申请", "【低保】...", "dibao");
    assert_int_equal(decide_at(et, "g", "u1", 0, &q, &v), TRIAGE_SAY);
    assert_int_equal(v.lead, 0);
    /* the same text, or another question on the same policy: answered once */
    assert_int_equal(decide_at(et, "g", "u2", 60000, &q, &v), TRIAGE_REPEAT);
    triage_result q2 = fake(CONSULT, C_LABOUR, "吃低保要什么条件", "【低保】...", "dibao");
    assert_int_equal(decide_at(et, "g", "u3", 120000, &q2, &v), TRIAGE_REPEAT);
    /* another group, or after the window: answered */
    assert_int_equal(decide_at(et, "h", "u2", 120000, &q, &v), TRIAGE_SAY);
    assert_int_equal(decide_at(et, "g", "u2", 700000, &q, &v), TRIAGE_SAY);
    /* an @-mention is answered even when repeated */
    triage_post p = {"g", "u4", NULL, 0, "@暖羊阳 低保怎么申请", 28, 701000, NULL};
    assert_int_equal(triage_etiquette_decide(et, &p, &q, &v, &e), NY_OK);
    assert_int_equal(v.why, TRIAGE_SAY);
    assert_int_equal(v.mentioned, 1);
    /* an @-mention of chit-chat gets the help text; without it, silence */
    triage_result chat = fake(OTHER, C_NONE, "在吗", NULL, NULL);
    assert_int_equal(decide_at(et, "g", "u5", 702000, &chat, &v), TRIAGE_NOTHING);
    p.text = "@暖羊阳 在吗";
    p.len = strlen(p.text);
    assert_int_equal(triage_etiquette_decide(et, &p, &chat, &v, &e), NY_OK);
    assert_int_equal(v.why, TRIAGE_SAY);
    assert_string_equal(v.reply, triage_help_text());
    const char *mentions[] = {"someone", "bot-42"}; /* the platform's mention list */
    p = (triage_post){"g", "u6", mentions, 2, "在吗", 6, 703000, NULL};
    assert_int_equal(triage_etiquette_decide(et, &p, &chat, &v, &e), NY_OK);
    assert_int_equal(v.why, TRIAGE_SAY);
    mentions[1] = "暖羊阳";
    assert_int_equal(triage_etiquette_decide(et, &p, &chat, &v, &e), NY_OK);
    assert_int_equal(v.mentioned, 1);
    /* the bot's own messages: ignored, nothing recorded */
    triage_result rep = fake(REPORT, C_BUILD, "路灯坏了", "收到", NULL);
    assert_int_equal(decide_at(et, "g", "bot-42", 704000, &rep, &v), TRIAGE_OWN);
    assert_int_equal(v.lead, 0);
    assert_null(v.reply);
    assert_int_equal(decide_at(et, "g", "u7", 705000, &rep, &v), TRIAGE_SAY);
    assert_int_equal(v.reporters, 1);
    /* emergencies are answered even when repeated */
    triage_result fire = fake(EMERGENCY, C_NONE, "着火了", "请拨打119", NULL);
    assert_int_equal(decide_at(et, "g", "u8", 706000, &fire, &v), TRIAGE_SAY);
    assert_int_equal(decide_at(et, "g", "u9", 707000, &fire, &v), TRIAGE_SAY);
    assert_int_equal(v.merged, 1);
    assert_int_equal(v.reporters, 2);
    /* a missing group key is the caller's error */
    p.group = NULL;
    assert_int_equal(triage_etiquette_decide(et, &p, &chat, &v, &e), NY_EINVAL);
    triage_etiquette_free(et);

    o.rate_per_minute = 0;
    assert_int_equal(triage_etiquette_new(&o, &et, &e), NY_EINVAL);
    o = triage_etiquette_defaults();
    o.dup_similarity = 1.5;
    assert_int_equal(triage_etiquette_new(&o, &et, &e), NY_EINVAL);
}

/* The same posts decided with their etiquette inputs prepared beforehand
 * (triage_etiquette_prepare, as the ingest commit does) and computed inside:
 * every verdict the same - merges, repeats, mentions, rate, own messages. */
static void test_prepared_same(void **state)
{
    (void)state;
    triage_etiquette_opts o = triage_etiquette_defaults();
    o.bot_sender_id = "bot-42";
    o.rate_per_minute = 3;
    triage_etiquette *inside, *ahead;
    ny_err e;
    assert_int_equal(triage_etiquette_new(&o, &inside, &e), NY_OK);
    assert_int_equal(triage_etiquette_new(&o, &ahead, &e), NY_OK);
    const char *bot[] = {"bot-42"};
    struct {
        const char *group, *sender, *raw;
        int intent, category;
        const char *norm, *reply, *policy;
        const char *const *mentions;
        size_t nmentions;
    } posts[] = {
        {"g", "u1", "3号楼电梯坏了", REPORT, C_BUILD, "3号楼电梯坏了", "收到", NULL, NULL, 0},
        {"g", "u2", "3号楼的电梯坏了!", REPORT, C_BUILD, "3号楼的电梯坏了!", "收到", NULL, NULL, 0},
        {"g", "u2", "3号楼电梯又坏了", REPORT, C_BUILD, "3号楼电梯又坏了", "收到", NULL, NULL, 0},
        {"g", "u3", "3号楼电梯坏了", REPORT, C_ENV, "3号楼电梯坏了", "收到", NULL, NULL, 0},
        {"h", "u1", "小区门口路灯不亮了", HELP, C_BUILD, "小区门口路灯不亮了", "收到", NULL, NULL,
         0},
        {"g", "u4", "低保怎么申请", CONSULT, C_LABOUR, "低保怎么申请", "【低保】", "dibao", NULL,
         0},
        {"g", "u5", "吃低保要什么条件", CONSULT, C_LABOUR, "吃低保要什么条件", "【低保】", "dibao",
         NULL, 0},
        {"g", "u6", "@暖羊阳 在吗", OTHER, C_NONE, "在吗", NULL, NULL, NULL, 0},
        {"g", "u7", "在吗", OTHER, C_NONE, "@暖羊阳在吗", NULL, NULL, NULL, 0},
        {"g", "u8", "在吗", OTHER, C_NONE, "在吗", NULL, NULL, bot, 1},
        {"g", "bot-42", "收到", REPORT, C_BUILD, "收到", "收到", NULL, NULL, 0},
        {"g", "u9", "着火了", EMERGENCY, C_NONE, "着火了", "请拨打119", NULL, NULL, 0},
        {"g", "u10", "着火了!", EMERGENCY, C_NONE, "着火了!", "请拨打119", NULL, NULL, 0},
        {"g", NULL, "垃圾没人清运", COMPLAINT, C_ENV, "垃圾没人清运", "收到", NULL, NULL, 0},
        {"g", "u11", "。。。", REPORT, C_BUILD, "。。。", "收到", NULL, NULL, 0},
    };
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
            triage_result r = fake(posts[i].intent, posts[i].category, posts[i].norm,
                                   posts[i].reply, posts[i].policy);
            int64_t ms = round * 3600000 + (int64_t)i * 1000;
            triage_post p = {posts[i].group,
                             posts[i].sender,
                             posts[i].mentions,
                             posts[i].nmentions,
                             posts[i].raw,
                             strlen(posts[i].raw),
                             ms,
                             NULL};
            triage_verdict a, b;
            assert_int_equal(triage_etiquette_decide(inside, &p, &r, &a, &e), NY_OK);
            triage_etiquette_prep prep;
            triage_etiquette_prepare(ahead, &p, &r, &prep);
            p.prep = &prep;
            assert_int_equal(triage_etiquette_decide(ahead, &p, &r, &b, &e), NY_OK);
            assert_int_equal(a.why, b.why);
            assert_ptr_equal(a.reply, b.reply);
            assert_int_equal(a.mentioned, b.mentioned);
            assert_int_equal(a.lead, b.lead);
            assert_int_equal(a.reporters, b.reporters);
            assert_int_equal(a.merged, b.merged);
            if (i == 1 || i == 2)
                assert_int_equal(b.merged, 1); /* the cases above do meet */
            if (i >= 7 && i <= 9)
                assert_int_equal(b.mentioned, 1);
        }
    triage_etiquette_free(inside);
    triage_etiquette_free(ahead);
}

static void test_duplicates(void **state)
{
    (void)state;
    triage_etiquette *et;
    ny_err e;
    assert_int_equal(triage_etiquette_new(NULL, &et, &e), NY_OK);
    triage_verdict v;
    /* three residents, one broken lift */
    triage_result a = fake(REPORT, C_BUILD, "3号楼电梯坏了", "收到", NULL);
    triage_result b = fake(REPORT, C_BUILD, "3号楼的电梯坏了!", "收到", NULL);
    triage_result c = fake(REPORT, C_BUILD, "3号楼电梯又坏了", "收到", NULL);
    assert_int_equal(decide_at(et, "g", "u1", 0, &a, &v), TRIAGE_SAY);
    uint64_t lead = v.lead;
    assert_true(lead != 0);
    assert_int_equal(v.merged, 0);
    assert_int_equal(decide_at(et, "g", "u2", 60000, &b, &v), TRIAGE_DUPLICATE);
    assert_int_equal(v.lead, lead);
    assert_int_equal(v.reporters, 2);
    assert_int_equal(v.merged, 1);
    assert_int_equal(decide_at(et, "g", "u3", 120000, &c, &v), TRIAGE_DUPLICATE);
    assert_int_equal(v.lead, lead);
    assert_int_equal(v.reporters, 3);
    /* the same resident again is no new reporter */
    decide_at(et, "g", "u3", 130000, &b, &v);
    assert_int_equal(v.lead, lead);
    assert_int_equal(v.reporters, 3);
    /* another category, another group, another problem: separate leads */
    triage_result d = fake(REPORT, C_ENV, "3号楼电梯坏了", "收到", NULL);
    decide_at(et, "g", "u4", 140000, &d, &v);
    assert_true(v.lead != lead);
    assert_int_equal(v.reporters, 1);
    decide_at(et, "other", "u4", 140000, &a, &v);
    assert_true(v.lead != lead);
    triage_result f = fake(REPORT, C_BUILD, "小区门口路灯不亮了", "收到", NULL);
    decide_at(et, "g", "u5", 150000, &f, &v);
    assert_true(v.lead != lead);
    assert_int_equal(v.merged, 0);
    /* the window runs from the latest report: 30 minutes after it, a new lead */
    decide_at(et, "g", "u6", 130000 + 1700000, &a, &v);
    assert_int_equal(v.lead, lead);
    assert_int_equal(v.reporters, 4);
    decide_at(et, "g", "u7", 130000 + 1700000 + 1800001, &a, &v);
    assert_true(v.lead != lead);
    /* consult and other make no lead */
    triage_result q = fake(CONSULT, C_BUILD, "3号楼电梯坏了找谁", "答复", NULL);
    decide_at(et, "g", "u8", 4000000, &q, &v);
    assert_int_equal(v.lead, 0);
    triage_etiquette_free(et);
}

static void test_bounded_groups(void **state)
{
    (void)state;
    triage_etiquette_opts o = triage_etiquette_defaults();
    o.max_groups = 16; /* one group per shard */
    triage_etiquette *et;
    ny_err e;
    assert_int_equal(triage_etiquette_new(&o, &et, &e), NY_OK);
    triage_verdict v;
    char group[32];
    triage_result r = fake(CONSULT, C_BUILD, "同一个问题", "答复", NULL);
    for (int i = 0; i < 5000; i++) {
        snprintf(group, sizeof group, "group-%d", i);
        assert_int_equal(decide_at(et, group, "u", i, &r, &v), TRIAGE_SAY);
    }
    /* group-0 was forgotten long ago: it answers again */
    assert_int_equal(decide_at(et, "group-0", "u", 6000, &r, &v), TRIAGE_SAY);
    triage_etiquette_free(et);
}

typedef struct et_ctx {
    triage_etiquette *et;
    int id;
    atomic_int said;
} et_ctx;

static void *etiquette_thread(void *arg)
{
    et_ctx *c = arg;
    char text[32];
    triage_verdict v;
    for (int i = 0; i < 400; i++) { /* 8 groups x 50 questions at the same moment */
        snprintf(text, sizeof text, "问题%d-%d", c->id, i);
        triage_result r = fake(CONSULT, C_BUILD, text, "答复", NULL);
        triage_post p = {i % 2 ? "odd" : "even", "u", NULL, 0, text, strlen(text), 1000, NULL};
        char group[16];
        snprintf(group, sizeof group, "g%d", i % 8);
        p.group = group;
        ny_err e;
        if (triage_etiquette_decide(c->et, &p, &r, &v, &e) == NY_OK && v.why == TRIAGE_SAY)
            atomic_fetch_add(&c->said, 1);
    }
    return NULL;
}

static void test_etiquette_threads(void **state)
{
    (void)state;
    triage_etiquette *et;
    ny_err e;
    assert_int_equal(triage_etiquette_new(NULL, &et, &e), NY_OK);
    et_ctx c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i].et = et;
        c[i].id = i;
        atomic_init(&c[i].said, 0);
        assert_int_equal(pthread_create(&th[i], NULL, etiquette_thread, &c[i]), 0);
    }
    int said = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        said += atomic_load(&c[i].said);
    }
    assert_int_equal(said, 8 * 20); /* each of the 8 groups answered exactly 20 */
    triage_etiquette_free(et);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_decision_with_database),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_repeat_and_mentions),
        cmocka_unit_test(test_prepared_same),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_bounded_groups),
        cmocka_unit_test(test_etiquette_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
