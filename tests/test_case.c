/* test_case.c - the case loop on both engines: the full loop with its log
 * and feedback messages, every action refused where the state or the
 * caller does not allow it, the append-only log, the scheduler's reminder
 * and escalation up to the district department, suspension stopping the
 * clock across a holiday, residents' feedback (rating, "还没修好"),
 * duplicates and merges, return and reassignment. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "case.h"
#include "case_feedback.h"
#include "case_sched.h"
#include "store_sql.h"
#include "testutil.h"

#define DISTRICT "411571000000"
#define STREET "411571001000"
#define COMM "411571001001"
#define GRID1 "411571001001001"
#define GRID2 "411571001001002"

static int64_t cst(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) - CALENDAR_OFFSET;
}

static const case_actor gw1 = {"gw1", "王网格", "grid_worker", GRID1, GRID1, ""};
static const case_actor gw2 = {"gw2", "李网格", "grid_worker", GRID2, GRID2, ""};
static const case_actor comm = {"comm1", "社区", "community", COMM, COMM, ""};
static const case_actor street = {"street1", "街道", "street", STREET, "411571001", ""};
static const case_actor dist = {"district1", "区中心", "district", DISTRICT, "411571", ""};
static const case_actor dept = {"dept-zj", "住建", "department", DISTRICT, "411571", "区住建局"};

typedef struct fixture {
    store *db;
    sla *s;
    int64_t group;
} fixture;

static int setup(void **st)
{
    static fixture f;
    ny_err e;
    f.db = tu_open_fresh("case");
    store_unit u[] = {{0, DISTRICT, "羊山新区", "district", NULL},
                      {0, STREET, "前进街道", "street", DISTRICT},
                      {0, COMM, "新都社区", "community", STREET},
                      {0, GRID1, "第一网格", "grid", COMM},
                      {0, GRID2, "第二网格", "grid", COMM}};
    MUST(store_unit_put_batch(f.db, u, 5, NULL, &e));
    store_group g[] = {{0, "wecom", "g1", "resident", GRID1, "一网格居民群", 100,
                        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=g1"},
                       {0, "wecom", "g2", "resident", GRID2, "二网格居民群", 80,
                        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=g2"}};
    int64_t ids[2];
    MUST(store_group_put_batch(f.db, g, 2, ids, &e));
    f.group = ids[0];
    MUST(sla_load("data", &f.s, &e));
    *st = &f;
    return 0;
}

static int teardown(void **st)
{
    fixture *f = *st;
    store_close(f->db);
    sla_free(f->s);
    return 0;
}

static int64_t lead(fixture *f, const char *sender, const char *text, const char *category,
                    int64_t now, int64_t dup)
{
    ny_err e;
    case_lead l = {f->group, 0, now, GRID1, sender, sender, text, "report", category, dup};
    int64_t id = 0;
    MUST(case_from_lead(f->db, f->s, &l, now, &id, &e));
    return id;
}

static int act(fixture *f, int64_t id, const case_actor *a, int action, const char *note,
               int64_t now, unsigned *allowed)
{
    ny_err e;
    case_request r = {.action = action, .note = note};
    return case_act(f->db, f->s, id, a, &r, now, allowed, NULL, &e);
}

static case_row get(fixture *f, int64_t id)
{
    ny_err e;
    case_row c;
    MUST(store_case_load(f->db, id, &c, &e));
    return c;
}

static int64_t count(fixture *f, const char *sql, int64_t id)
{
    ny_err e;
    int64_t n = -1;
    store_val p[] = {SV_INT(id)};
    MUST(store_sql_int(f->db, sql, p, 1, &n, &e));
    return n;
}

static void test_full_loop(void **st)
{
    fixture *f = *st;
    int64_t t = cst(2026, 3, 16, 10, 0); /* a Monday */
    int64_t id = lead(f, "u1", "3栋楼道灯坏了好几天了", "城乡建设", t, 0);
    case_row c = get(f, id);
    assert_string_equal(c.status, "reported");
    assert_string_equal(c.stage, "accept");
    assert_string_equal(c.level, "grid");
    assert_int_equal(c.due_at, cst(2026, 3, 16, 15, 0)); /* 4 working hours, lunch skipped */
    case_row_free(&c);
    assert_int_equal(act(f, id, &gw1, CASE_ACCEPT, NULL, t + 600, NULL), NY_OK);
    assert_int_equal(act(f, id, &gw1, CASE_START, NULL, t + 700, NULL), NY_OK);
    assert_int_equal(act(f, id, &gw1, CASE_RESOLVE, "", t + 800, NULL), NY_EINVAL);
    assert_int_equal(act(f, id, &gw1, CASE_RESOLVE, "已更换灯泡", t + 900, NULL), NY_OK);
    unsigned allowed = 0;
    assert_int_equal(act(f, id, &gw1, CASE_VERIFY, NULL, t + 1000, &allowed), NY_ECONFLICT);
    assert_false(allowed & (1u << CASE_VERIFY)); /* not by the resolver */
    assert_int_equal(act(f, id, &comm, CASE_VERIFY, NULL, t + 1100, NULL), NY_OK);
    assert_int_equal(act(f, id, &comm, CASE_CLOSE, NULL, t + 1200, NULL), NY_OK);
    c = get(f, id);
    assert_string_equal(c.status, "closed");
    assert_int_equal(c.accepted_at, t + 600);
    assert_int_equal(c.resolved_at, t + 900);
    assert_int_equal(c.closed_at, t + 1200);
    assert_int_equal(c.overdue, 0);
    assert_int_equal(c.due_at, 0);
    case_row_free(&c);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM case_events WHERE case_id = ?", id), 6);
    /* accept, resolve and close told the reporter's group */
    assert_int_equal(
        count(f, "SELECT COUNT(*) FROM outbox WHERE idem_key LIKE 'case:' || ? || ':%'", id), 3);
    /* the log is append-only */
    ny_err e;
    store_val p[] = {SV_INT(id)};
    assert_int_equal(store_sql(f->db, "UPDATE case_events SET note = 'x' WHERE case_id = ?", p, 1,
                               NULL, NULL, NULL, &e),
                     NY_ECONFLICT);
    assert_int_equal(
        store_sql(f->db, "DELETE FROM case_events WHERE case_id = ?", p, 1, NULL, NULL, NULL, &e),
        NY_ECONFLICT);
}

static void test_refusals(void **st)
{
    fixture *f = *st;
    int64_t t = cst(2026, 3, 17, 10, 0);
    int64_t id = lead(f, "u2", "垃圾桶满了没人清", "环境保护", t, 0);
    unsigned allowed = 0;
    /* nothing but accept, on-the-spot, return, escalate, merge from reported */
    static const int refused[] = {CASE_START,   CASE_RESOLVE, CASE_VERIFY, CASE_CLOSE,
                                  CASE_SUSPEND, CASE_RESUME,  CASE_REOPEN};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(act(f, id, &gw1, refused[i], "x", t, &allowed), NY_ECONFLICT);
    assert_int_equal(allowed, (1u << CASE_ACCEPT) | (1u << CASE_ON_SPOT) | (1u << CASE_RETURN) |
                                  (1u << CASE_ESCALATE) | (1u << CASE_MERGE));
    char json[256];
    case_allowed_json(allowed, json, sizeof json);
    assert_string_equal(json, "[\"accept\",\"handle_on_spot\",\"return\",\"escalate\",\"merge\"]");
    /* another grid does not see it; the community sees it but does not hold it */
    assert_int_equal(act(f, id, &gw2, CASE_ACCEPT, NULL, t, NULL), NY_ENOTFOUND);
    assert_int_equal(act(f, id, &comm, CASE_ACCEPT, NULL, t, &allowed), NY_ECONFLICT);
    assert_true(allowed & (1u << CASE_SUPERVISE));
    assert_int_equal(act(f, id, &gw1, CASE_SUPERVISE, "快", t, NULL), NY_ECONFLICT);
    assert_int_equal(act(f, id, &comm, CASE_SUPERVISE, "", t, NULL), NY_EINVAL);
    assert_int_equal(act(f, id, &comm, CASE_SUPERVISE, "请尽快处理", t, NULL), NY_OK);
    case_row c = get(f, id);
    assert_int_equal(c.priority, 1);
    case_row_free(&c);
    /* handled on the spot, then verified by the community, then closed: reopen by the
     * verifier works, reopen by the resolver does not */
    assert_int_equal(act(f, id, &gw1, CASE_ON_SPOT, "已现场清运", t + 60, NULL), NY_OK);
    assert_int_equal(act(f, id, &comm, CASE_VERIFY, NULL, t + 120, NULL), NY_OK);
    assert_int_equal(act(f, id, &gw1, CASE_CLOSE, NULL, t + 180, NULL), NY_OK);
    assert_int_equal(act(f, id, &gw1, CASE_REOPEN, "没弄干净", t + 240, NULL), NY_ECONFLICT);
    assert_int_equal(act(f, id, &comm, CASE_REOPEN, "没弄干净", t + 240, NULL), NY_OK);
    c = get(f, id);
    assert_string_equal(c.status, "in_progress");
    assert_int_equal(c.reopen_count, 1);
    assert_string_equal(c.stage, "resolve");
    case_row_free(&c);
    /* a department sees only what it holds */
    assert_int_equal(act(f, id, &dept, CASE_RESOLVE, "x", t, NULL), NY_ENOTFOUND);
}

static void test_escalation(void **st)
{
    fixture *f = *st;
    ny_err e;
    int64_t t = cst(2026, 3, 18, 9, 0);
    int64_t id = lead(f, "u3", "路边井盖松动", "城乡建设", t, 0);
    case_sched_stats s = {0};
    MUST(case_sched_pass(f->db, f->s, t + 3600, 100, &s, &e));
    assert_int_equal(s.reminded + s.escalated, 0);
    MUST(case_sched_pass(f->db, f->s, cst(2026, 3, 18, 13, 30), 100, &s, &e)); /* 75% of 4 h */
    assert_int_equal(s.reminded, 1);
    MUST(case_sched_pass(f->db, f->s, cst(2026, 3, 18, 14, 0), 100, &s, &e)); /* the deadline */
    assert_int_equal(s.escalated, 1);
    case_row c = get(f, id);
    assert_string_equal(c.level, "community");
    assert_string_equal(c.unit, COMM);
    assert_int_equal(c.overdue, 1);
    assert_int_equal(c.accept_late, 1);
    assert_string_equal(c.status, "reported");
    int64_t due = c.due_at;
    case_row_free(&c);
    MUST(case_sched_pass(f->db, f->s, due, 100, &s, &e));
    c = get(f, id);
    assert_string_equal(c.level, "street");
    due = c.due_at;
    case_row_free(&c);
    MUST(case_sched_pass(f->db, f->s, due, 100, &s, &e));
    c = get(f, id);
    assert_string_equal(c.level, "district");
    assert_string_equal(c.department, "区住建局");
    due = c.due_at;
    case_row_free(&c);
    /* the department holds it now; at the top a breach is marked, not escalated */
    MUST(case_sched_pass(f->db, f->s, due + 1, 100, &s, &e));
    c = get(f, id);
    assert_string_equal(c.level, "district");
    assert_int_equal(c.next_check_at, 0);
    case_row_free(&c);
    assert_int_equal(s.escalated, 3);
    assert_true(s.overdue >= 1);
    assert_int_equal(act(f, id, &dept, CASE_ACCEPT, NULL, due + 60, NULL), NY_OK);
    assert_int_equal(act(f, id, &gw1, CASE_START, NULL, due + 60, NULL), NY_ENOTFOUND);
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM case_events WHERE case_id = ? AND"
                           " action = 'escalate' AND actor = 'system'",
                           id),
                     3);
}

static void test_suspend_stops_clock(void **st)
{
    fixture *f = *st;
    /* accepted Wed 2026-09-30 09:00: 7 working days to resolve */
    int64_t t = cst(2026, 9, 30, 9, 0);
    int64_t id = lead(f, "u4", "小区围墙开裂", "城乡建设", t, 0);
    assert_int_equal(act(f, id, &gw1, CASE_ACCEPT, NULL, t, NULL), NY_OK);
    case_row c = get(f, id);
    int64_t due = c.due_at;
    case_row_free(&c);
    assert_int_equal(due, cst(2026, 10, 14, 18, 0)); /* Oct 1-7 off, Sat Oct 10 worked */
    /* suspended at 10:00 on Sep 30 (1 working hour used), resumed on Oct 12 09:00 */
    assert_int_equal(
        act(f, id, &gw1, CASE_SUSPEND, "等待业主委员会决议", cst(2026, 9, 30, 10, 0), NULL), NY_OK);
    c = get(f, id);
    assert_int_equal(c.due_at, 0);
    assert_int_equal(c.sla_left, 55 * 3600);
    case_row_free(&c);
    assert_int_equal(act(f, id, &gw1, CASE_RESUME, NULL, cst(2026, 10, 12, 9, 0), NULL), NY_OK);
    c = get(f, id);
    assert_string_equal(c.status, "accepted");
    /* 55 working hours from Mon Oct 12 09:00: 6 days + 7 h -> Tue Oct 20 17:00 */
    assert_int_equal(c.due_at, cst(2026, 10, 20, 17, 0));
    case_row_free(&c);
}

static void test_feedback(void **st)
{
    fixture *f = *st;
    ny_err e;
    int64_t t = cst(2026, 4, 1, 10, 0);
    int64_t id = lead(f, "u5", "楼下水管漏水", "城乡建设", t, 0);
    int64_t got = -1;
    /* before anything was done, a rating is not feedback */
    MUST(case_feedback(f->db, f->s, f->group, "u5", "满意", t + 60, &got, &e));
    assert_int_equal(got, 0);
    assert_int_equal(act(f, id, &gw1, CASE_ON_SPOT, "已关阀门并报修", t + 120, NULL), NY_OK);
    MUST(case_feedback(f->db, f->s, f->group, "u5", "今天天气不错", t + 180, &got, &e));
    assert_int_equal(got, 0);
    MUST(case_feedback(f->db, f->s, f->group, "other", "满意", t + 180, &got, &e));
    assert_int_equal(got, 0); /* not a reporter */
    MUST(case_feedback(f->db, f->s, f->group, "u5", "基本满意，谢谢", t + 240, &got, &e));
    assert_int_equal(got, id);
    case_row c = get(f, id);
    assert_string_equal(c.status, "closed");
    assert_int_equal(c.satisfaction, 3);
    case_row_free(&c);
    /* "还没修好" within the reopen window reopens it */
    MUST(case_feedback(f->db, f->s, f->group, "u5", "还没修好，又漏了", t + 86400, &got, &e));
    assert_int_equal(got, id);
    c = get(f, id);
    assert_string_equal(c.status, "in_progress");
    assert_int_equal(c.reopen_count, 1);
    case_row_free(&c);
    assert_int_equal(case_feedback_kind("不满意"), 1);
    assert_int_equal(case_feedback_kind("满意"), 5);
    assert_int_equal(case_feedback_kind("问题还在"), -1);
}

static void test_duplicates_merge_return(void **st)
{
    fixture *f = *st;
    ny_err e;
    int64_t t = cst(2026, 4, 2, 10, 0);
    int64_t a = lead(f, "u6", "小区门口路灯不亮", "城乡建设", t, 0);
    assert_int_equal(lead(f, "u7", "门口路灯坏了", "城乡建设", t + 60, a), a);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM case_reporters WHERE case_id = ?", a), 2);
    int64_t b = lead(f, "u8", "路灯一直不亮", "城乡建设", t + 120, 0);
    case_request m = {.action = CASE_MERGE, .into = a};
    MUST(case_act(f->db, f->s, b, &gw1, &m, t + 180, NULL, NULL, &e));
    case_row c = get(f, b);
    assert_string_equal(c.status, "closed");
    assert_int_equal(c.merged_into, a);
    case_row_free(&c);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM case_reporters WHERE case_id = ?", a), 3);
    /* return: grid -> community; the community sends it to grid 2, which returns it */
    assert_int_equal(act(f, a, &gw1, CASE_RETURN, "不属于本网格", t + 240, NULL), NY_OK);
    c = get(f, a);
    assert_string_equal(c.unit, COMM);
    case_row_free(&c);
    case_request r = {.action = CASE_REASSIGN, .unit = GRID2, .note = "请二网格处理"};
    MUST(case_act(f->db, f->s, a, &comm, &r, t + 300, NULL, NULL, &e));
    assert_int_equal(act(f, a, &gw2, CASE_RETURN, "也不属于本网格", t + 360, NULL), NY_OK);
    c = get(f, a);
    assert_string_equal(c.unit, COMM);
    case_row_free(&c);
    /* the district hands it to a department */
    case_request d = {.action = CASE_REASSIGN, .department = "区住建局", .note = "转住建"};
    MUST(case_act(f->db, f->s, a, &dist, &d, t + 420, NULL, NULL, &e));
    c = get(f, a);
    assert_string_equal(c.level, "district");
    assert_string_equal(c.department, "区住建局");
    case_row_free(&c);
    assert_int_equal(act(f, a, &dept, CASE_ACCEPT, NULL, t + 480, NULL), NY_OK);
    assert_int_equal(act(f, a, &street, CASE_ACCEPT, NULL, t + 480, NULL), NY_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_loop),  cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_escalation), cmocka_unit_test(test_suspend_stops_clock),
        cmocka_unit_test(test_feedback),   cmocka_unit_test(test_duplicates_merge_return),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
