/* test_outbox.c - tests of the outbox storage and outbox_enqueue
 * (outbox.h, store_outbox.h), on either engine like test_store.c.
 *
 * Queueing by URL, by group and by staff account (targets resolved, a
 * missing target queues nothing), one row per idempotency key, refusals of
 * bad items, several items in one statement with the bad ones left out,
 * claims in priority order (a row not yet due holding back no other) with
 * leases that expire and lose the first claim its say, the end of an
 * attempt (sent, retry, dead), the dead-letter list and its retry, release
 * of a node's claims, the retention of sent rows (by the store call and by
 * a running worker), leads opened and joined under a merge key; and the
 * pure parts of sending: requests per channel (signed DingTalk URL, secret
 * fragment never sent, long WeCom texts split), the judgement of robot
 * answers, the sliding-minute limit per target, kept in the store and
 * shared by concurrent handles, and the worker's memory of hosts that
 * could not be reached. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "outbox.h"
#include "outbox_int.h"
#include "store_outbox.h"
#include "store_sql.h"
#include "testutil.h"

static int64_t group_id;

/* Units, two groups (one without a target) and two staff into s. */
static store *seed(store *s)
{
    ny_err e;
    store_unit u[] = {{0, "411571000000", "羊山新区", "district", NULL},
                      {0, "411571001000", "前进街道", "street", "411571000000"},
                      {0, "411571001001", "新都社区", "community", "411571001000"},
                      {0, "411571001001001", "第一网格", "grid", "411571001001"}};
    MUST(store_unit_put_batch(s, u, 4, NULL, &e));
    store_group g[] = {{0, "wecom", "wr-1", "resident", "411571001001001", "幸福小区1群", 100,
                        "http://127.0.0.1:9/wecom/wr-1"},
                       {0, "wechat", "wx-2", "resident", "411571001001001", "无目标群", 10, ""}};
    int64_t ids[2];
    MUST(store_group_put_batch(s, g, 2, ids, &e));
    group_id = ids[0];
    store_staff p[] = {{0, "gw1", "王网格", "13800000000", "grid_worker", "411571001001001", ""},
                       {0, "gw2", "李网格", "13800000001", "grid_worker", "411571001001001", ""}};
    MUST(store_staff_put_batch(s, p, 2, NULL, &e));
    MUST(store_staff_target_set(s, "gw1", "webhook", "http://127.0.0.1:9/staff/gw1", &e));
    return s;
}

static store *seeded(const char *tag)
{
    return seed(tu_open_fresh(tag));
}

struct got {
    int n;
    int64_t id[8];
    char key[8][80], channel[8][16], target[8][128], payload[8][256], status[8][16];
    int attempts[8];
};

static int collect(void *ctx, const store_outbox_row *r)
{
    struct got *g = ctx;
    if (g->n < 8) {
        g->id[g->n] = r->id;
        snprintf(g->key[g->n], sizeof g->key[0], "%s", r->key);
        snprintf(g->channel[g->n], sizeof g->channel[0], "%s", r->channel);
        snprintf(g->target[g->n], sizeof g->target[0], "%s", r->target);
        snprintf(g->payload[g->n], sizeof g->payload[0], "%s", r->payload);
        snprintf(g->status[g->n], sizeof g->status[0], "%s", r->status);
        g->attempts[g->n] = r->attempts;
    }
    g->n++;
    return NY_OK;
}

static void test_enqueue(void **state)
{
    (void)state;
    ny_err e;
    store *s = seeded("ob_enqueue");
    const char *who[] = {"u1", "bad id!"};
    outbox_item by_group = {"r:1", "reply",        NULL, NULL, NULL, group_id,
                            NULL,  "您好，已收到", who,  2,    2,    0};
    int64_t a, again;
    int fresh;
    MUST(outbox_enqueue(s, &by_group, 100, &a, &fresh, &e));
    assert_true(a > 0);
    assert_int_equal(fresh, 1);
    MUST(outbox_enqueue(s, &by_group, 101, &again, &fresh, &e));
    assert_int_equal(again, a);
    assert_int_equal(fresh, 0);
    outbox_item by_staff = {"n:1:gw1", "notify", NULL, NULL, NULL, 0,
                            "gw1",     "新线索", NULL, 0,    0,    0};
    int64_t b;
    MUST(outbox_enqueue(s, &by_staff, 100, &b, NULL, &e));
    outbox_item no_target = by_staff;
    no_target.key = "n:1:gw2";
    no_target.account = "gw2";
    int64_t none = -1;
    MUST(outbox_enqueue(s, &no_target, 100, &none, NULL, &e));
    assert_int_equal(none, 0);
    outbox_item by_url = {"x:1", "notice", "dingtalk", "https://oapi.example/robot?t=1#sign=SEC",
                          "g",   0,        NULL,       "通知",
                          NULL,  0,        3,          500};
    int64_t c;
    MUST(outbox_enqueue(s, &by_url, 100, &c, NULL, &e));

    outbox_item bad = by_url;
    bad.key = "has space";
    assert_int_equal(outbox_enqueue(s, &bad, 100, NULL, NULL, &e), NY_EINVAL);
    bad = by_url;
    bad.kind = "spam";
    assert_int_equal(outbox_enqueue(s, &bad, 100, NULL, NULL, &e), NY_EINVAL);
    bad = by_url;
    bad.target = "ftp://x";
    assert_int_equal(outbox_enqueue(s, &bad, 100, NULL, NULL, &e), NY_EINVAL);
    bad = by_url;
    bad.text = "\xff";
    assert_int_equal(outbox_enqueue(s, &bad, 100, NULL, NULL, &e), NY_EINVAL);
    bad = by_staff;
    bad.account = "nobody";
    assert_int_equal(outbox_enqueue(s, &bad, 100, NULL, NULL, &e), NY_ENOTFOUND);

    struct got g = {0};
    long total = 0;
    MUST(store_outbox_list(s, NULL, 10, 0, collect, &g, &total, &e));
    assert_int_equal(total, 3);
    assert_int_equal(g.id[2], a); /* newest first */
    assert_string_equal(g.channel[2], "wecom");
    assert_string_equal(g.target[2], "http://127.0.0.1:9/wecom/wr-1");
    assert_string_equal(g.payload[2],
                        "{\"text\":\"您好，已收到\",\"group\":\"wr-1\",\"mentions\":[\"u1\"]}");
    assert_string_equal(g.channel[1], "webhook");
    assert_string_equal(g.target[1], "http://127.0.0.1:9/staff/gw1");
    assert_string_equal(g.status[0], "pending");
    store_close(s);
}

/* store_outbox_claim in its own transaction, as the worker's turn runs it. */
static int claim(store *s, const char *node, int64_t now, int lease_s, int max,
                 int (*fn)(void *ctx, const store_outbox_row *r), void *ctx, ny_err *e)
{
    int rc = store_begin(s, e);
    if (rc == NY_OK)
        rc = store_outbox_claim(s, node, now, lease_s, max, fn, ctx, e);
    return store_end(s, rc, e);
}

static void test_claims(void **state)
{
    (void)state;
    ny_err e;
    store *s = seeded("ob_claim");
    int64_t id[3];
    const char *keys[] = {"k1", "k2", "k3"};
    int prio[] = {2, 0, 2};
    for (int i = 0; i < 3; i++) {
        outbox_item it = {keys[i], "reply", NULL, NULL, NULL,    group_id,
                          NULL,    "t",     NULL, 0,    prio[i], 0};
        MUST(outbox_enqueue(s, &it, 100 + i, &id[i], NULL, &e));
    }
    struct got g = {0};
    MUST(claim(s, "node-a", 200, 30, 2, collect, &g, &e));
    assert_int_equal(g.n, 2);
    /* urgent first, then the oldest, in claim order */
    assert_int_equal(g.id[0], id[1]);
    assert_int_equal(g.id[1], id[0]);
    assert_string_equal(g.status[0], "sending");
    struct got h = {0};
    MUST(claim(s, "node-b", 200, 30, 10, collect, &h, &e));
    assert_int_equal(h.n, 1); /* the claimed ones are not claimed again */
    assert_int_equal(h.id[0], id[2]);

    MUST(store_outbox_finish(s, id[1], "node-a", "sent", 1, 201, 0, NULL, &e));
    assert_int_equal(store_outbox_finish(s, id[1], "node-a", "sent", 1, 201, 0, NULL, &e),
                     NY_ECONFLICT);
    MUST(store_outbox_finish(s, id[0], "node-a", "pending", 1, 202, 300, "HTTP 500", &e));
    struct got none = {0};
    MUST(claim(s, "node-a", 229, 30, 10, collect, &none, &e));
    assert_int_equal(none.n, 0); /* k1 waits for its backoff, k3 is leased */
    struct got later = {0};
    MUST(claim(s, "node-a", 300, 30, 10, collect, &later, &e));
    assert_int_equal(later.n, 2); /* k1 due again, k3's lease ran out at 230 */
    assert_int_equal(later.attempts[0] + later.attempts[1], 1);
    assert_int_equal(store_outbox_finish(s, id[2], "node-b", "sent", 1, 301, 0, NULL, &e),
                     NY_ECONFLICT); /* node-b lost its claim */
    MUST(store_outbox_finish(s, id[0], "node-a", "dead", 2, 302, 0, "HTTP 500 again", &e));
    MUST(store_outbox_release(s, "node-a", 0, 0, &e));

    long waiting, dead;
    MUST(store_outbox_depth(s, &waiting, &dead, &e));
    assert_int_equal(waiting, 1);
    assert_int_equal(dead, 1);
    struct got d = {0};
    long total;
    MUST(store_outbox_list(s, "dead", 10, 0, collect, &d, &total, &e));
    assert_int_equal(total, 1);
    assert_int_equal(d.id[0], id[0]);
    assert_int_equal(d.attempts[0], 2);
    assert_int_equal(store_outbox_retry(s, id[1], 400, &e), NY_ECONFLICT);
    assert_int_equal(store_outbox_retry(s, 99999, 400, &e), NY_ENOTFOUND);
    MUST(store_outbox_retry(s, id[0], 400, &e));
    MUST(store_outbox_depth(s, &waiting, &dead, &e));
    assert_int_equal(waiting, 2);
    assert_int_equal(dead, 0);
    store_close(s);
}

/* Queues key and ends it at time at with status (sent, dead or pending);
 * keys starting with 'u' are urgent (priority 0), the others priority 2. */
static int64_t ended(store *s, const char *key, const char *status, int64_t at)
{
    ny_err e;
    int64_t id;
    outbox_item it = {
        key, "reply", NULL, NULL, NULL, group_id, NULL, "t", NULL, 0, key[0] == 'u' ? 0 : 2, 0};
    MUST(outbox_enqueue(s, &it, at - 10, &id, NULL, &e));
    struct got g = {0};
    MUST(claim(s, "n", at, 30, 1, collect, &g, &e));
    assert_int_equal(g.n, 1);
    if (strcmp(status, "pending") != 0)
        MUST(store_outbox_finish(s, id, "n", status, 1, at, at + 60, "x", &e));
    else
        MUST(store_outbox_release(s, "n", id, at + 60, &e));
    return id;
}

static long count_rows(store *s, const char *status)
{
    ny_err e;
    struct got g = {0};
    long total = 0;
    MUST(store_outbox_list(s, status, 1, 0, collect, &g, &total, &e));
    return total;
}

static void test_retention(void **state)
{
    (void)state;
    ny_err e;
    char *uri = strdup(tu_db_uri("ob_keep")); /* the worker opens it too */
    assert_non_null(uri);
    store *s;
    MUST(store_open(uri, NULL, &s, &e));
    seed(s);
    ended(s, "old1", "sent", 1000);
    ended(s, "old2", "sent", 1100);
    ended(s, "urgent_old3", "sent", 1200);
    int64_t recent = ended(s, "new", "sent", 5000);
    ended(s, "dead", "dead", 900);
    ended(s, "wait", "pending", 900);
    int64_t noticed = ended(s, "notice", "sent", 800);
    int64_t nid;
    MUST(store_notice_put(s, "gw1", "411571001001001", "resident", "通知", 700, 700, &nid, &e));
    MUST(store_notice_delivery_put(s, nid, group_id, noticed, 700, &e));

    long n = -1;
    MUST(store_outbox_purge(s, 1000, 10, &n, &e));
    assert_int_equal(n, 0); /* sent at 1000 is not before 1000; the notice's row stays */
    MUST(store_outbox_purge(s, 4000, 2, &n, &e));
    assert_int_equal(n, 2); /* at most max at a time */
    MUST(store_outbox_purge(s, 4000, 2, &n, &e));
    assert_int_equal(n, 1);
    MUST(store_outbox_purge(s, 4000, 2, &n, &e));
    assert_int_equal(n, 0);
    assert_int_equal(count_rows(s, "sent"), 2); /* the recent one and the notice's */
    assert_int_equal(count_rows(s, "dead"), 1); /* dead letters stay */
    assert_int_equal(count_rows(s, "pending"), 1);
    struct got left = {0};
    long total = 0;
    MUST(store_outbox_list(s, "sent", 2, 0, collect, &left, &total, &e));
    assert_true(left.id[0] == recent || left.id[1] == recent);

    /* the worker purges on its own: everything sent before now - 1 day */
    outbox_worker *w;
    MUST(outbox_start(uri, &(outbox_opts){.keep_s = 86400, .poll_ms = 50}, &w, &e));
    for (int i = 0; i < 200 && count_rows(s, "sent") > 1; i++)
        usleep(25000);
    outbox_stop(w);
    assert_int_equal(count_rows(s, "sent"), 1); /* only the notice's row is left */
    assert_int_equal(count_rows(s, "dead"), 1);
    assert_int_equal(outbox_start(uri, &(outbox_opts){.keep_s = 3651u * 86400}, &w, &e), NY_EINVAL);
    free(uri);
    store_close(s);
}

/* A running worker over a backlog of rows whose host refuses connections:
 * the first requests fail, the host is remembered as down and the rows
 * claimed after them fail at once with that reason, without a request; a
 * stop ends the worker at once although rows are still due (it claims no
 * more once stopping), leaving them pending, none dead. */
static void test_worker_down_host(void **state)
{
    (void)state;
    ny_err e;
    char *uri = strdup(tu_db_uri("ob_down"));
    assert_non_null(uri);
    store *s;
    MUST(store_open(uri, NULL, &s, &e));
    seed(s);
    char key[32];
    MUST(store_begin(s, &e));
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "down:%d", i);
        outbox_item it = {key,  "notify", "webhook", "http://127.0.0.1:1/hook",
                          NULL, 0,        NULL,      "通知",
                          NULL, 0,        2,         0};
        MUST(outbox_enqueue(s, &it, 0, NULL, NULL, &e));
    }
    MUST(store_commit(s, &e));
    outbox_worker *w;
    MUST(outbox_start(uri,
                      &(outbox_opts){.concurrency = 2,
                                     .base_ms = 60000,
                                     .cap_ms = 60000,
                                     .max_attempts = 100,
                                     .poll_ms = 20},
                      &w, &e));
    int64_t cached = 0;
    for (int i = 0; i < 200 && cached < 20; i++) {
        usleep(25000);
        MUST(store_sql_int(s,
                           "SELECT count(*) FROM outbox WHERE attempts = 1 AND last_error LIKE "
                           "'%unreachable moments ago%'",
                           NULL, 0, &cached, &e));
    }
    assert_true(cached >= 20);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    outbox_stop(w);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 2); /* not after claiming every due row */
    assert_int_equal(count_rows(s, "dead"), 0);
    assert_int_equal(count_rows(s, "sending"), 0);
    assert_int_equal(count_rows(s, "pending"), 1000);
    MUST(store_sql_int(s, "SELECT count(*) FROM outbox WHERE attempts = 0", NULL, 0, &cached, &e));
    assert_true(cached > 0); /* the stop left due rows unclaimed */
    free(uri);
    store_close(s);
}

static void test_enqueue_batch(void **state)
{
    (void)state;
    ny_err e;
    store *s = seeded("ob_batch");
    const char *who[] = {"u1"};
    outbox_item it[] = {
        {"n:7:0", "notify", NULL, NULL, NULL, 0, "gw1", "新线索", NULL, 0, 1, 0},
        {"n:7:1", "notify", NULL, NULL, NULL, 0, "gw2", "新线索", NULL, 0, 1, 0}, /* no target */
        {"n:7:2", "notify", NULL, NULL, NULL, 0, "nobody", "新线索", NULL, 0, 1, 0},
        {"n:7:3", "notify", "webhook", "ftp://x", NULL, 0, NULL, "新线索", NULL, 0, 1, 0},
        {"r:7", "reply", NULL, NULL, NULL, group_id, NULL, "您好", who, 1, 1, 0}};
    int item_rc[5];
    long queued = -1;
    MUST(outbox_enqueue_batch(s, it, 5, 100, item_rc, &queued, &e));
    assert_int_equal(queued, 2); /* gw1 and the group; the bad ones are left out */
    assert_int_equal(item_rc[0], NY_OK);
    assert_int_equal(item_rc[1], NY_OK);
    assert_int_equal(item_rc[2], NY_ENOTFOUND);
    assert_int_equal(item_rc[3], NY_EINVAL);
    assert_int_equal(item_rc[4], NY_OK);
    MUST(outbox_enqueue_batch(s, it, 5, 101, item_rc, &queued, &e));
    assert_int_equal(queued, 0); /* the same keys again queue nothing */
    struct got g = {0};
    long total = 0;
    MUST(store_outbox_list(s, NULL, 10, 0, collect, &g, &total, &e));
    assert_int_equal(total, 2);
    assert_string_equal(g.key[0], "r:7"); /* newest first */
    assert_string_equal(g.payload[0],
                        "{\"text\":\"您好\",\"group\":\"wr-1\",\"mentions\":[\"u1\"]}");
    assert_string_equal(g.key[1], "n:7:0");
    assert_string_equal(g.target[1], "http://127.0.0.1:9/staff/gw1");
    outbox_item many[OUTBOX_BATCH_MAX + 1];
    assert_int_equal(outbox_enqueue_batch(s, many, OUTBOX_BATCH_MAX + 1, 100, item_rc, &queued, &e),
                     NY_EINVAL);
    store_close(s);
}

/* Claims read the rows they take in claim order: an urgent row that is
 * not due yet does not hold back due rows of lower priority, and a row
 * whose lease ran out comes first. */
static void test_claim_order(void **state)
{
    (void)state;
    ny_err e;
    store *s = seeded("ob_claim_order");
    const char *keys[] = {"later-urgent", "due-low", "due-normal", "due-urgent", "due-normal2"};
    int prio[] = {0, 3, 2, 0, 2};
    int64_t not_before[] = {500, 0, 0, 0, 0}, id[5];
    for (int i = 0; i < 5; i++) {
        outbox_item it = {keys[i], "reply", NULL, NULL, NULL,    group_id,
                          NULL,    "t",     NULL, 0,    prio[i], not_before[i]};
        MUST(outbox_enqueue(s, &it, 100 + i, &id[i], NULL, &e));
    }
    struct got g = {0};
    MUST(claim(s, "node-a", 200, 30, 1, collect, &g, &e));
    assert_int_equal(g.n, 1);
    assert_int_equal(g.id[0], id[3]); /* the due urgent one */
    MUST(store_outbox_finish(s, id[3], "node-a", "sent", 1, 200, 0, NULL, &e));
    struct got h = {0};
    MUST(claim(s, "node-b", 210, 30, 1, collect, &h, &e));
    assert_int_equal(h.id[0], id[2]); /* normal before low */
    struct got x = {0};
    MUST(claim(s, "node-a", 250, 30, 2, collect, &x, &e));
    assert_int_equal(x.n, 2); /* node-b's lease ran out at 240: its row first, then normal */
    assert_int_equal(x.id[0], id[2]);
    assert_int_equal(x.id[1], id[4]);
    struct got rest = {0};
    MUST(claim(s, "node-a", 260, 30, 5, collect, &rest, &e));
    assert_int_equal(rest.n, 1); /* the low one; later-urgent waits for 500 */
    assert_int_equal(rest.id[0], id[1]);
    store_close(s);
}

static void test_leads(void **state)
{
    (void)state;
    ny_err e;
    store *s = seeded("ob_leads");
    store_message m[] = {
        {0, group_id, "t", "m1", "u1", "甲", 100, "电梯坏了", "report", "城乡建设", NULL},
        {0, group_id, "t", "m2", "u2", "乙", 110, "电梯又坏了", "report", "城乡建设", NULL}};
    int64_t mid[2];
    MUST(store_message_put_batch(s, m, 2, mid, &e));
    int64_t unit;
    store_val p[] = {SV_TEXT("411571001001001")};
    MUST(store_sql_int(s, "SELECT id FROM units WHERE code = ?", p, 1, &unit, &e));
    store_lead l = {0, mid[0], group_id, unit, "report", "城乡建设", 100, 0};
    int64_t lead, joined;
    MUST(store_lead_open(s, &l, "node:7", &lead, &e));
    MUST(store_lead_join(s, "node:7", mid[1], "u2", 2, 110, &joined, &e));
    assert_int_equal(joined, lead);
    assert_int_equal(store_lead_join(s, "node:8", mid[1], "u2", 2, 110, &joined, &e), NY_ENOTFOUND);
    int64_t v;
    store_val q[] = {SV_INT(lead)};
    MUST(store_sql_int(s, "SELECT reporters FROM leads WHERE id = ?", q, 1, &v, &e));
    assert_int_equal(v, 2);
    /* the first report is the lead's own message; only the joined one is listed */
    MUST(store_sql_int(s, "SELECT count(*) FROM lead_reports WHERE lead_id = ?", q, 1, &v, &e));
    assert_int_equal(v, 1);
    MUST(store_sql_int(s, "SELECT message_id FROM lead_reports WHERE lead_id = ?", q, 1, &v, &e));
    assert_int_equal(v, mid[1]);
    MUST(store_sql_int(s, "SELECT message_id FROM leads WHERE id = ?", q, 1, &v, &e));
    assert_int_equal(v, mid[0]);
    store_close(s);
}

static void test_build_and_judge(void **state)
{
    (void)state;
    ny_err e;
    char url[1400];
    robot_batch b;
    store_outbox_row r = {0};
    r.key = "r:9";
    r.kind = "reply";
    r.channel = "dingtalk";
    r.target = "https://oapi.example/robot/send?access_token=T#sign=SECabc";
    r.payload = "{\"text\":\"你好\",\"group\":\"g\",\"mentions\":[\"u1\"]}";
    MUST(outbox_build(&r, 1700000000000, url, sizeof url, &b, &e));
    assert_string_equal(url, "https://oapi.example/robot/send?access_token=T");
    assert_int_equal(b.n, 1);
    assert_non_null(strstr(b.v[0].query, "&timestamp=1700000000000&sign="));
    assert_null(strstr(b.v[0].body, "SECabc"));
    robot_batch_free(&b);

    char big[6000 + 64];
    size_t n = 0;
    for (int k = 0; n < 6000; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "通知内容第%d段。", k);
    char payload[7000];
    snprintf(payload, sizeof payload, "{\"text\":\"%s\",\"group\":\"g\",\"mentions\":[]}", big);
    r.channel = "wecom";
    r.target = "http://127.0.0.1:9/w";
    r.payload = payload;
    MUST(outbox_build(&r, 0, url, sizeof url, &b, &e));
    assert_true(b.n >= 3);
    assert_string_equal(b.v[1].key, "r:9/2");
    robot_batch_free(&b);
    /* payloads read without jansson (as outbox.c writes them) and with it */
    static const char *const reads[][2] = {
        {"{\"text\":\"a\\\"b\\n\\/c\",\"group\":\"g1\",\"mentions\":[\"u1\",\"u2\"]}",
         "{\"idempotency_key\":\"r:9\",\"kind\":\"reply\",\"group\":\"g1\",\"text\":\"a\\\"b\\n/"
         "c\",\"mentions\":[\"u1\",\"u2\"]}"},
        {" { \"text\" : \"\\u00e9t\u00e9\" , \"group\":\"\", \"mentions\" : [ ] } ",
         "{\"idempotency_key\":\"r:9\",\"kind\":\"reply\",\"group\":\"-\",\"text\":"
         "\"\u00e9t\u00e9\","
         "\"mentions\":[]}"},
        {"{\"group\":\"g2\",\"mentions\":[\"u3\",7],\"text\":\"x\"}",
         "{\"idempotency_key\":\"r:9\",\"kind\":\"reply\",\"group\":\"g2\",\"text\":\"x\","
         "\"mentions\":[\"u3\"]}"},
    };
    r.channel = "webhook";
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        r.payload = reads[i][0];
        MUST(outbox_build(&r, 0, url, sizeof url, &b, &e));
        assert_string_equal(b.v[0].body, reads[i][1]);
        robot_batch_free(&b);
    }
    r.payload = "{\"text\":\"\",\"group\":\"g\",\"mentions\":[]}";
    assert_int_equal(outbox_build(&r, 0, url, sizeof url, &b, &e), NY_EINVAL);
    r.payload = "{\"text\":\"x\",\"group\":\"g\",\"mentions\":[]} trailing";
    assert_int_equal(outbox_build(&r, 0, url, sizeof url, &b, &e), NY_EINVAL);
    r.payload = payload;
    r.channel = "pigeon";
    assert_int_equal(outbox_build(&r, 0, url, sizeof url, &b, &e), NY_EINVAL);
    r.channel = "webhook";
    r.payload = "not json";
    assert_int_equal(outbox_build(&r, 0, url, sizeof url, &b, &e), NY_EINVAL);

    char why[200];
    assert_int_equal(outbox_judge(200, "{\"errcode\":0}", 13, why, sizeof why), 1);
    assert_int_equal(outbox_judge(204, "", 0, why, sizeof why), 1);
    assert_int_equal(outbox_judge(200, "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}",
                                  50, why, sizeof why),
                     0);
    assert_non_null(strstr(why, "45009"));
    assert_int_equal(
        outbox_judge(200, "{\"code\":19021,\"msg\":\"sign match fail\"}", 38, why, sizeof why), 0);
    assert_int_equal(outbox_judge(500, "boom", 4, why, sizeof why), 0);
    assert_string_equal(why, "HTTP 500: boom");
    /* answers read without a parse, and the escapes that still need one */
    const char *ok = "{\"ok\":true,\"message\":\"queued\"}";
    assert_int_equal(outbox_judge(200, ok, strlen(ok), why, sizeof why), 1);
    const char *esc = "{\"\\u0065rrcode\":93000,\"errmsg\":\"x\"}";
    assert_int_equal(outbox_judge(200, esc, strlen(esc), why, sizeof why), 0);
    assert_non_null(strstr(why, "93000"));
    const char *late = "{\"data\":{},\"msg\":\"no\",\"code\":7}";
    assert_int_equal(outbox_judge(200, late, strlen(late), why, sizeof why), 0);
    assert_int_equal(outbox_judge(200, "{\"codex\":1}", 11, why, sizeof why), 1);
    const char *wecom = "{\"errcode\":0,\"errmsg\":\"ok\"}";
    assert_int_equal(outbox_judge(200, wecom, strlen(wecom), why, sizeof why), 1);
    const char *twice = "{\"errcode\":0,\"errcode\":45009}";
    assert_int_equal(outbox_judge(200, twice, strlen(twice), why, sizeof why), 0);
    const char *more = "{\"errcode\":01}";
    assert_int_equal(outbox_judge(200, more, strlen(more), why, sizeof why), 1);
    const char *tenth = "{\"errcode\":0.5}";
    assert_int_equal(outbox_judge(200, tenth, strlen(tenth), why, sizeof why), 1);
}

/* The worker's memory of hosts that could not be reached: by host and
 * port (case, path, query, user info and fragment aside), until its time,
 * cleared by a success, the oldest note replaced when full. */
static void test_down_hosts(void **state)
{
    (void)state;
    outbox_downs d = {0};
    char why[400];
    assert_int_equal(outbox_down_check(&d, "http://a.example/x", 1000, why, sizeof why), 0);
    outbox_down_note(&d, "https://robot.EXAMPLE.invalid/wecom/1?k=1#sign=S", 2000,
                     "Could not resolve hostname");
    assert_int_equal(outbox_down_check(&d, "https://user@robot.example.invalid/dingtalk/2", 1500,
                                       why, sizeof why),
                     1);
    assert_non_null(strstr(why, "robot.example.invalid"));
    assert_non_null(strstr(why, "Could not resolve hostname"));
    assert_int_equal(
        outbox_down_check(&d, "https://robot.example.invalid:8443/w", 1500, why, sizeof why),
        0); /* another port */
    assert_int_equal(
        outbox_down_check(&d, "https://robot.example.invalid/w", 2000, why, sizeof why),
        0); /* expired, and forgotten */
    outbox_down_note(&d, "http://127.0.0.1:9/w", 5000, "Couldn't connect to server");
    assert_int_equal(outbox_down_check(&d, "http://127.0.0.1:9/other", 4000, why, sizeof why), 1);
    outbox_down_clear(&d, "http://127.0.0.1:9/again");
    assert_int_equal(outbox_down_check(&d, "http://127.0.0.1:9/other", 4000, why, sizeof why), 0);
    char url[64];
    for (int i = 0; i <= OUTBOX_DOWN_SLOTS; i++) {
        snprintf(url, sizeof url, "http://h%d.example/", i);
        outbox_down_note(&d, url, 9000, "down");
    }
    assert_int_equal(outbox_down_check(&d, "http://h0.example/", 100, why, sizeof why), 0);
    snprintf(url, sizeof url, "http://h%d.example/", OUTBOX_DOWN_SLOTS);
    assert_int_equal(outbox_down_check(&d, url, 100, why, sizeof why), 1);
    assert_int_equal(outbox_down_check(&d, "http://h1.example/", 100, why, sizeof why), 1);
}

/* The worker's memory of target keys gives what outbox_target_key gives,
 * for URLs seen again and for more URLs than it has entries. */
static void test_target_keys(void **state)
{
    (void)state;
    outbox_keys *c = calloc(1, sizeof *c);
    char url[64], want[OUTBOX_KEY_LEN + 1];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3 * OUTBOX_KEY_CACHE; i += round + 1) {
            snprintf(url, sizeof url, "http://127.0.0.1:9/t/%d", i % 700);
            outbox_target_key(url, want);
            assert_string_equal(outbox_key_of(c, url), want);
        }
    outbox_keys_free(c);
    free(c);
}

static int take(store *s, const char *target, int k, int64_t now, int64_t *next)
{
    ny_err e;
    int taken = -1;
    MUST(store_outbox_rate_take(s, target, k, 20, now, &taken, next, &e));
    return taken;
}

static void test_minute_window(void **state)
{
    (void)state;
    store *s = tu_open_fresh("window");
    int64_t next;
    for (int i = 0; i < 20; i++)
        assert_int_equal(take(s, "a", 1, 1000 + i * 100, &next), 1);
    assert_int_equal(take(s, "a", 1, 5000, &next), 0);
    assert_int_equal(next, 1000 + 60000);              /* when the first send leaves the minute */
    assert_int_equal(take(s, "b", 1, 5000, &next), 1); /* per target */
    assert_int_equal(take(s, "a", 1, 60999, &next), 0);
    assert_int_equal(take(s, "a", 1, 61000, &next), 1);
    assert_int_equal(take(s, "a", 2, 61101, &next), 0); /* needs two slots */
    assert_int_equal(next, 1200 + 60000);
    assert_int_equal(take(s, "a", 2, 61200, &next), 1);
    assert_int_equal(take(s, "c", 99, 70000, &next), 1); /* clamped to the limit */
    assert_int_equal(take(s, "c", 1, 70001, &next), 0);
    ny_err e;
    char key[OUTBOX_KEY_LEN + 1];
    outbox_target_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", key);
    assert_int_equal(strlen(key), OUTBOX_KEY_LEN);
    assert_null(strstr(key, "abc"));
    int taken;
    assert_int_equal(store_outbox_rate_take(s, "d", 1, 0, 1, &taken, &next, &e), NY_EINVAL);
    store_close(s);
}

/* Several handles (as several nodes would) taking slots of one target at
 * the same time never exceed the limit together. */
struct racer {
    const char *uri;
    int taken;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    store *s;
    ny_err e;
    if (store_open(r->uri, NULL, &s, &e) != NY_OK)
        return NULL;
    for (int i = 0; i < 15; i++) {
        int taken = 0;
        int64_t next;
        if (store_outbox_rate_take(s, "shared", 1, 20, 100000 + i, &taken, &next, &e) == NY_OK)
            r->taken += taken;
    }
    store_close(s);
    return NULL;
}

static void test_minute_window_shared(void **state)
{
    (void)state;
    char uri[1024];
    snprintf(uri, sizeof uri, "%s", tu_db_uri("window_shared"));
    store *s;
    ny_err e;
    MUST(store_open(uri, NULL, &s, &e)); /* migrates before the racers open it */
    struct racer r[3] = {{uri, 0}, {uri, 0}, {uri, 0}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r[0].taken + r[1].taken + r[2].taken, 20); /* of 45 asked */
    int64_t used = 0;
    MUST(store_sql_int(s, "SELECT count(*) FROM outbox_sends", NULL, 0, &used, &e));
    assert_int_equal(used, 20);
    store_close(s);
}

/* One batch of takes at now against a limit of 3 a minute. */
static void take_batch(store *s, const char *const *t, const int *k, size_t n, int64_t now,
                       int *taken, int64_t *next)
{
    ny_err e;
    MUST(store_begin(s, &e));
    MUST(store_outbox_rate_take_batch(s, t, k, n, 3, now, taken, next, &e));
    MUST(store_commit(s, &e));
}

/* A batch of takes decides each in order as single takes one after
 * another would: a later take for a target sees the earlier ones' slots,
 * and one that does not fit learns when the send it waits for leaves the
 * minute, be that send in the table or in the batch itself; random batches
 * give what the same takes one at a time give on another database. */
static void test_minute_window_batch(void **state)
{
    (void)state;
    store *s = tu_open_fresh("window_batch");
    const char *t1[] = {"a", "b", "a", "a", "b", "c"};
    int k1[] = {1, 2, 2, 1, 1, 9}, taken[8];
    int64_t next[8];
    take_batch(s, t1, k1, 6, 100000, taken, next);
    int want1[] = {1, 1, 1, 0, 1, 1};
    for (int i = 0; i < 6; i++)
        assert_int_equal(taken[i], want1[i]);
    assert_int_equal(next[3], 160000); /* waits for a send of this batch */
    const char *t2[] = {"c", "a", "d"};
    int k2[] = {1, 1, 1};
    take_batch(s, t2, k2, 3, 130000, taken, next);
    assert_int_equal(taken[0], 0);
    assert_int_equal(next[0], 160000); /* waits for a send in the table */
    assert_int_equal(taken[1], 0);
    assert_int_equal(taken[2], 1);
    take_batch(s, t2, k2, 3, 160000, taken, next);
    assert_int_equal(taken[0] + taken[1] + taken[2], 3); /* the minute has passed */
    store_close(s);

    store *x = tu_open_fresh("window_batch_x"), *y = tu_open_fresh("window_batch_y");
    const char *names[] = {"p", "q", "r"};
    unsigned seed = 7;
    for (int round = 0; round < 40; round++) {
        const char *t[8];
        int k[8], bt[8], st[8];
        int64_t bn[8], sn[8], now = 1000000 + round * 4000;
        size_t n = 1 + (size_t)(rand_r(&seed) % 8);
        for (size_t i = 0; i < n; i++) {
            t[i] = names[rand_r(&seed) % 3];
            k[i] = 1 + rand_r(&seed) % 2;
        }
        take_batch(x, t, k, n, now, bt, bn);
        for (size_t i = 0; i < n; i++) {
            ny_err e;
            MUST(store_outbox_rate_take(y, t[i], k[i], 3, now, &st[i], &sn[i], &e));
            assert_int_equal(bt[i], st[i]);
            assert_int_equal(bn[i], sn[i]);
        }
    }
    store_close(x);
    store_close(y);
}

/* Handles taking batches for the same targets in different orders at once
 * (nodes whose turns overlap) neither deadlock nor exceed the limit. */
static void *race_batch(void *arg)
{
    struct racer *r = arg;
    store *s;
    ny_err e;
    if (store_open(r->uri, NULL, &s, &e) != NY_OK)
        return NULL;
    for (int i = 0; i < 12; i++) {
        const char *t[] = {i % 2 ? "s1" : "s2", "own", i % 2 ? "s2" : "s1"};
        int k[] = {1, 1, 1}, taken[3];
        int64_t next[3];
        int rc = store_begin(s, &e);
        if (rc == NY_OK)
            rc = store_outbox_rate_take_batch(s, t, k, 3, 20, 200000 + i, taken, next, &e);
        if (store_end(s, rc, &e) == NY_OK)
            r->taken += taken[0] + taken[2];
        else
            r->taken = -1000; /* a failure (a deadlock) fails the test */
    }
    store_close(s);
    return NULL;
}

static void test_minute_window_shared_batches(void **state)
{
    (void)state;
    char uri[1024];
    snprintf(uri, sizeof uri, "%s", tu_db_uri("window_shared_batch"));
    store *s;
    ny_err e;
    MUST(store_open(uri, NULL, &s, &e));
    struct racer r[3] = {{uri, 0}, {uri, 0}, {uri, 0}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_batch, &r[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r[0].taken + r[1].taken + r[2].taken, 40); /* s1 and s2: 20 each of 36 */
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enqueue),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_enqueue_batch),
        cmocka_unit_test(test_claim_order),
        cmocka_unit_test(test_leads),
        cmocka_unit_test(test_build_and_judge),
        cmocka_unit_test(test_minute_window),
        cmocka_unit_test(test_minute_window_shared),
        cmocka_unit_test(test_minute_window_batch),
        cmocka_unit_test(test_minute_window_shared_batches),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_down_hosts),
        cmocka_unit_test(test_target_keys),
        cmocka_unit_test(test_worker_down_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
