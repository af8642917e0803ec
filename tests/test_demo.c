/* test_demo.c - tests of the demo district generator (demo.h).
 *
 * Runs on either engine through store.h only. The group setup generates the
 * district once (seed 1, 20,000 messages) and the tests read it: counts at
 * the real district's scale, the named units, one grid worker per grid,
 * valid credit codes, the message year, the share of messages that became
 * leads, a case with a sensible log for every lead. Two more generations
 * check determinism (same seed, same digest; another seed, another digest:
 * the digest leaves out the demo passwords, whose salts are random); the
 * refusals reuse the first district, so the suite makes three. The demo
 * logins, one per role, log in with DEMO_PASSWORD; no other account can. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "demo.h"
#include "domain.h"
#include "testutil.h"

enum { MESSAGES = 20000 };
#define YEAR_START 1764518400LL /* 2025-12-01 00:00 China time */
#define YEAR_END (YEAR_START + 365 * 86400LL)

/* Cheapest argon2id costs for the demo passwords. */
static const auth_params cheap = {
    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, 0, {0, 0, 0}};

/* The district every read-only test looks at, and its digest. */
static store *district;
static char district_digest[65];

/* Progress calls as seen by the callback. */
struct progress_log {
    int calls, stages, bad;
    const char *stage;
    long last_done, last_total;
};

static void on_progress(void *ctx, const char *stage, long done, long total)
{
    struct progress_log *p = ctx;
    p->calls++;
    if (!p->stage || strcmp(p->stage, stage) != 0) {
        if (p->stage && p->last_done != p->last_total)
            p->bad++; /* the previous stage did not finish at done == total */
        p->stage = stage;
        p->stages++;
    } else if (done < p->last_done) {
        p->bad++;
    }
    p->last_done = done;
    p->last_total = total;
}

static int setup(void **state)
{
    (void)state;
    ny_err e;
    struct progress_log log = {0};
    district = tu_open_fresh("demo");
    demo_opts o = {1, MESSAGES, on_progress, &log, &cheap};
    MUST(demo_generate(district, &o, &e));
    MUST(store_digest(district, district_digest, &e));
    assert_int_equal(log.stages, 6);
    assert_int_equal(log.bad, 0);
    assert_int_equal(log.last_done, MESSAGES);
    assert_int_equal(log.last_total, MESSAGES);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(district);
    return 0;
}

static void test_counts(void **state)
{
    (void)state;
    ny_err e;
    store_stats st;
    MUST(store_stats_get(district, &st, &e));
    assert_int_equal(st.units_district, 1);
    assert_true(st.units_street >= 6);
    assert_in_range(st.units_community, 65, 75);
    assert_true(st.units_grid >= 400);
    assert_int_equal(st.groups_resident, 820);
    assert_int_equal(st.groups_enterprise, 31);
    assert_in_range(st.households, 125000, 135000);
    assert_in_range(st.enterprises, 2200, 2400);
    assert_int_equal(st.messages, MESSAGES);
    assert_int_equal(st.cases_open + st.cases_closed, st.leads);
    assert_true(st.cases_closed > 10 * st.cases_open);
}

/* ---- named units --------------------------------------------------------- */
struct named {
    const char *want[4];
    char code[4][16], parent[4][16];
};

static int find_named(void *ctx, const store_unit *u)
{
    struct named *n = ctx;
    for (int i = 0; i < 4; i++)
        if (strcmp(u->name, n->want[i]) == 0) {
            snprintf(n->code[i], sizeof n->code[i], "%s", u->code);
            snprintf(n->parent[i], sizeof n->parent[i], "%s", u->parent_code ? u->parent_code : "");
        }
    return NY_OK;
}

static int get_name(void *ctx, const store_unit *u)
{
    snprintf(ctx, 64, "%s", u->name);
    return NY_OK;
}

static void test_named_units(void **state)
{
    (void)state;
    ny_err e;
    char name[64];
    MUST(store_unit_get(district, "411571000000", get_name, name, &e));
    assert_string_equal(name, "羊山新区");
    MUST(store_unit_get(district, "411571001000", get_name, name, &e));
    assert_string_equal(name, "前进街道");
    struct named n = {{"前进街道", "彭家湾乡", "新都社区", "潘寨村"}, {{0}}, {{0}}};
    MUST(store_units_subtree(district, NULL, find_named, &n, &e));
    for (int i = 0; i < 4; i++)
        assert_true(n.code[i][0] != '\0');
    assert_string_equal(n.parent[2], n.code[0]); /* 新都社区 under 前进街道 */
    assert_string_equal(n.parent[3], n.code[1]); /* 潘寨村 under 彭家湾乡 */
    /* 新都社区 has grids, found through its subtree */
    struct named g = {{"新都社区第一网格", "", "", ""}, {{0}}, {{0}}};
    MUST(store_units_subtree(district, n.code[2], find_named, &g, &e));
    assert_string_equal(g.parent[0], n.code[2]);
}

/* ---- staff ------------------------------------------------------------- */
struct staff_check {
    long grid_workers, departments, admins;
    int bad;
};

static int check_staff(void *ctx, const store_staff *p)
{
    struct staff_check *c = ctx;
    char want[24];
    if (strcmp(p->role, "grid_worker") == 0) {
        c->grid_workers++;
        snprintf(want, sizeof want, "gw%s", p->unit_code);
        c->bad += strlen(p->unit_code) != 15 || strcmp(want, p->account) != 0;
    } else if (strcmp(p->role, "department") == 0) {
        c->departments++;
        c->bad += p->department[0] == '\0' || strcmp(p->unit_code, "411571000000") != 0;
    } else if (strcmp(p->role, "admin") == 0) {
        c->admins++;
        c->bad += strcmp(p->account, "admin") != 0;
    }
    c->bad += strlen(p->phone) != 11 || domain_index(domain_roles, p->role) < 0;
    return NY_OK;
}

static void test_staff(void **state)
{
    (void)state;
    ny_err e;
    store_stats st;
    struct staff_check c = {0};
    MUST(store_stats_get(district, &st, &e));
    MUST(store_staff_each(district, check_staff, &c, &e));
    /* accounts are unique, so one gw<grid code> per grid means one each */
    assert_int_equal(c.grid_workers, st.units_grid);
    assert_int_equal(c.departments, 7);
    assert_int_equal(c.admins, 1);
    assert_int_equal(c.bad, 0);
}

/* ---- demo logins --------------------------------------------------------- */
struct cred_count {
    int with_password, demo;
};

static int count_password(void *ctx, const store_staff *p, const store_credential *c)
{
    struct cred_count *k = ctx;
    if (!c->password_hash)
        return NY_OK;
    k->with_password++;
    for (int i = 0; i < DEMO_LOGINS; i++)
        k->demo += strcmp(p->account, demo_logins[i].account) == 0;
    return NY_OK;
}

static int unit_name(void *ctx, const store_unit *u)
{
    snprintf(ctx, 64, "%s", u->name);
    return NY_OK;
}

static void test_logins(void **state)
{
    (void)state;
    ny_err e;
    const int64_t now = 1767225600;
    char token[AUTH_TOKEN_LEN + 1], name[64];
    auth_identity who, again;
    const char *roles[] = {"admin", "district", "street", "community", "grid_worker", "department"};
    for (int i = 0; i < DEMO_LOGINS; i++) {
        MUST(auth_login(district, &cheap, demo_logins[i].account, DEMO_PASSWORD, now, token, &who,
                        &e));
        MUST(auth_session_check(district, token, now + 1, &again, &e));
        assert_string_equal(again.account, demo_logins[i].account);
        assert_string_equal(who.role, demo_logins[i].role);
        assert_string_equal(who.role, roles[i]); /* one per role, in order */
        MUST(store_unit_get(district, who.unit_code, unit_name, name, &e));
        if (strcmp(who.role, "department") == 0)
            assert_string_equal(who.department, demo_logins[i].unit);
        else
            assert_string_equal(name, demo_logins[i].unit);
    }
    struct cred_count k = {0};
    MUST(store_credentials_each(district, count_password, &k, &e));
    assert_int_equal(k.with_password, DEMO_LOGINS);
    assert_int_equal(k.demo, DEMO_LOGINS);
    assert_int_equal(auth_login(district, &cheap, "district2", DEMO_PASSWORD, now, token, NULL, &e),
                     NY_EINVAL);
}

/* ---- enterprises and households ------------------------------------------ */
static int check_uscc(void *ctx, const store_enterprise *x)
{
    ny_err e;
    int *bad = ctx;
    *bad += domain_uscc_check(x->uscc, &e) != NY_OK || strncmp(x->uscc + 2, "411571", 6) != 0 ||
            (!strstr(x->name, "信阳") && !strstr(x->name, "河南")) || !x->industry[0];
    return NY_OK;
}

struct hh_check {
    long n, persons;
    int bad;
};

static int check_household(void *ctx, const store_household *h)
{
    struct hh_check *c = ctx;
    c->n++;
    c->persons += h->size;
    c->bad += h->size < 1 || h->size > 6 || (h->phone[0] && strlen(h->phone) != 11) ||
              strncmp(h->code, h->grid_code, 15) != 0 ||
              (!strstr(h->address, "室") && !strstr(h->address, "号"));
    return NY_OK;
}

static void test_people(void **state)
{
    (void)state;
    ny_err e;
    int bad = 0;
    MUST(store_enterprises_each(district, check_uscc, &bad, &e));
    assert_int_equal(bad, 0);
    struct hh_check c = {0};
    MUST(store_households_each(district, check_household, &c, &e));
    assert_int_equal(c.bad, 0);
    /* an average household of two to three persons, as in the census */
    assert_in_range(c.persons * 100 / c.n, 230, 300);
}

/* ---- messages, leads, cases ------------------------------------------ */
struct msg_check {
    long n, problems, bad;
};

static int check_message(void *ctx, const store_message *m)
{
    struct msg_check *c = ctx;
    int intent = domain_index(domain_intents, m->intent);
    c->n++;
    c->problems += intent >= 1 && intent <= 4; /* help report emergency complaint */
    c->bad += m->sent_at < YEAR_START || m->sent_at >= YEAR_END || intent < 0 ||
              domain_index(domain_categories, m->category) < 0 || !m->triage ||
              !strstr(m->triage, "\"source\":\"demo\"") || strcmp(m->connector, "demo") != 0 ||
              strncmp(m->external_id, "demo-", 5) != 0 || !m->text[0] || !m->sender_id[0];
    return NY_OK;
}

static int check_lead(void *ctx, const store_lead *l)
{
    struct msg_check *c = ctx;
    int intent = domain_index(domain_intents, l->intent);
    c->n++;
    c->bad += l->case_id == 0 || intent < 1 || intent > 4 || l->created_at < YEAR_START ||
              l->created_at >= YEAR_END;
    return NY_OK;
}

/* The log of each case starts with its report and runs forward in time. */
struct log_check {
    int64_t case_id, last_at;
    long cases, events, bad;
};

static int check_event(void *ctx, const store_case_event *ev)
{
    struct log_check *c = ctx;
    if (ev->case_id != c->case_id) {
        c->cases++;
        c->bad += strcmp(ev->action, "report") != 0;
        c->case_id = ev->case_id;
        c->last_at = ev->at;
    }
    c->events++;
    c->bad += ev->at < c->last_at || ev->at >= YEAR_END || ev->changes[0] != '{';
    c->last_at = ev->at;
    return NY_OK;
}

struct case_check {
    long n, escalated, rated, bad;
};

static int check_case(void *ctx, const store_case *k)
{
    struct case_check *c = ctx;
    int closed = strcmp(k->status, "closed") == 0;
    c->n++;
    c->escalated += strcmp(k->level, "grid") != 0;
    c->rated += k->satisfaction > 0;
    c->bad += strcmp(k->source, "lead") != 0 || (closed != (k->closed_at != 0)) ||
              (strcmp(k->level, "district") == 0) != (k->department[0] != '\0') || !k->title[0] ||
              k->opened_at < YEAR_START;
    return NY_OK;
}

static void test_messages(void **state)
{
    (void)state;
    ny_err e;
    struct msg_check m = {0}, l = {0};
    MUST(store_messages_each(district, check_message, &m, &e));
    assert_int_equal(m.n, MESSAGES);
    assert_int_equal(m.bad, 0);
    /* the real district: 28,000 leads from 670,000 messages */
    assert_in_range(m.problems * 1000 / m.n, 30, 50);
    MUST(store_leads_each(district, check_lead, &l, &e));
    assert_int_equal(l.n, m.problems);
    assert_int_equal(l.bad, 0);
    struct case_check c = {0};
    MUST(store_cases_each(district, check_case, &c, &e));
    assert_int_equal(c.n, l.n);
    assert_int_equal(c.bad, 0);
    assert_true(c.escalated > 0 && c.escalated < c.n / 2);
    assert_true(c.rated > c.n / 2);
    struct log_check g = {0};
    MUST(store_case_events_each(district, check_event, &g, &e));
    assert_int_equal(g.cases, c.n);
    assert_int_equal(g.bad, 0);
    assert_true(g.events >= 4 * g.cases);
}

/* ---- determinism and refusals ----------------------------------------- */
static void digest_of(uint64_t seed, long messages, char out[65])
{
    ny_err e;
    store *s = tu_open_fresh("demo_seed");
    demo_opts o = {seed, messages, NULL, NULL, &cheap};
    MUST(demo_generate(s, &o, &e));
    MUST(store_digest(s, out, &e));
    store_close(s);
}

static void test_determinism(void **state)
{
    (void)state;
    char same[65], other[65];
    digest_of(1, MESSAGES, same);
    assert_string_equal(same, district_digest);
    digest_of(2, MESSAGES, other);
    assert_string_not_equal(other, district_digest);
}

static void test_refusals(void **state)
{
    (void)state;
    ny_err e;
    char before[65], after[65];
    demo_opts bad = {1, -1, NULL, NULL, &cheap};
    assert_int_equal(demo_generate(district, &bad, &e), NY_EINVAL);
    /* a database with units is refused and left as it was */
    demo_opts o = {5, 10, NULL, NULL, &cheap};
    MUST(store_digest(district, before, &e));
    assert_int_equal(demo_generate(district, &o, &e), NY_EEXIST);
    MUST(store_digest(district, after, &e));
    assert_string_equal(before, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),      cmocka_unit_test(test_named_units),
        cmocka_unit_test(test_staff),       cmocka_unit_test(test_logins),
        cmocka_unit_test(test_people),      cmocka_unit_test(test_messages),
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
