/* demo_messages.c - a year of group chat, with the leads and cases it makes.
 *
 * The last stage of the demo generator (demo.c). Messages are spread over
 * the demo year, 2025-12-01 to 2026-11-30 China time: each day gets a share
 * (days off and the Spring Festival a little more, with some day-to-day
 * noise), each message an hour from a workday or day-off profile (busy
 * mornings and evenings, quiet nights), so that messages come out in time
 * order. Each goes to a group chosen by size and liveliness, from a member
 * with a stable per-group identity, with an intent mix like the real
 * district's: about 96% chat and questions, about 4% help, reports,
 * complaints and emergencies. Those become a lead for the group's unit and a
 * case whose event log plays the case loop (case.h) through: report,
 * accept, maybe escalate (the unit above accepts it again), start, resolve,
 * verify, close with a rating, with reminders and supervision when a
 * deadline (12345 classes: 2 h, 24 h, 7 d, 15 d) is missed and a few cases
 * that stall. Each case also gets the loop's own fields — its origin unit
 * and group, SLA stage, milestones, late marks against the built-in SLA
 * table, resolver — and its reporter, so the KPIs read the demo as they
 * read live cases. The demo clock stops at the end of the year, so recent
 * cases are still open at their stage. Rows go to the store in batches of
 * about 1,000 messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_int.h"
#include "domain.h"
#include "sla.h"
#include "store_case.h"

enum { BATCH = 1000, MAX_EVENTS = 16, DAYS = 365 };
#define YEAR_START 1764518400LL /* 2025-12-01 00:00 China time (UTC+8) */
#define YEAR_END (YEAR_START + DAYS * 86400LL)
#define CHINA_OFFSET (8 * 3600LL)

/* ---- calendar --------------------------------------------------------- */

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian). */
static void civil(long days, int *y, int *m, int *d)
{
    long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 2026 public holidays (1) and make-up working days on weekends (2). */
static int holiday_kind(int y, int m, int d)
{
    static const struct {
        int m, from, to, kind;
    } days2026[] = {{1, 1, 3, 1},   {1, 4, 4, 2},  {2, 14, 14, 2}, {2, 15, 23, 1}, {2, 28, 28, 2},
                    {4, 4, 6, 1},   {5, 1, 5, 1},  {5, 9, 9, 2},   {6, 19, 21, 1}, {9, 20, 20, 2},
                    {9, 25, 27, 1}, {10, 1, 7, 1}, {10, 10, 10, 2}};
    if (y != 2026)
        return 0;
    for (size_t i = 0; i < sizeof days2026 / sizeof days2026[0]; i++)
        if (days2026[i].m == m && d >= days2026[i].from && d <= days2026[i].to)
            return days2026[i].kind;
    return 0;
}

typedef struct day_info {
    int month, mday, off; /* off: weekend or holiday, not a make-up workday */
} day_info;

static day_info day_of(int i)
{
    day_info di;
    int y;
    civil((long)((YEAR_START + CHINA_OFFSET) / 86400) + i, &y, &di.month, &di.mday);
    int kind = holiday_kind(y, di.month, di.mday);
    int weekend = i % 7 >= 5; /* day 0, 2025-12-01, is a Monday */
    di.off = kind == 1 || (weekend && kind != 2);
    return di;
}

/* Messages per hour of the day, on workdays and on days off. */
static const int hours_work[24] = {8,  4,  2,  1,  1,  3,  18, 45, 60, 62, 58, 55,
                                   60, 40, 45, 50, 52, 58, 62, 72, 80, 75, 45, 20};
static const int hours_off[24] = {12, 6,  3,  1,  1,  2,  8,  22, 40, 55, 62, 60,
                                  58, 45, 48, 52, 55, 58, 60, 70, 78, 72, 50, 25};

/* How many of the n messages fall on each day. */
static void plan_days(demo_rng *r, long n, long *count)
{
    long weight[DAYS], total = 0;
    for (int i = 0; i < DAYS; i++) {
        day_info di = day_of(i);
        int w = di.off ? 112 : 100;
        if (di.month == 2 && (di.mday == 16 || di.mday == 17)) /* New Year's Eve and Day */
            w = 220;
        weight[i] = w * demo_rng_range(r, 85, 115);
        total += weight[i];
    }
    long cum = 0, given = 0;
    for (int i = 0; i < DAYS; i++) {
        cum += weight[i];
        long upto = (long)((long long)n * cum / total); /* at most 1e8 * 1e7 */
        count[i] = upto - given;
        given = upto;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---- senders ------------------------------------------------------------ */
static void hash_chars(uint64_t h, const char *alphabet, int n, char *out)
{
    size_t len = strlen(alphabet);
    for (int i = 0; i < n; i++) {
        h = demo_mix(h, (uint64_t)i);
        out[i] = alphabet[h % len];
    }
    out[n] = '\0';
}

/* The platform's user id and the display name of member k of group gi.
 * The same member always gets the same identity. */
static void member(const demo_world *w, int gi, int k, char *id, size_t idsz, char *name,
                   size_t namesz)
{
    const demo_group *g = &w->groups[gi];
    uint64_t h = demo_mix(demo_mix(w->seed, 0x6d656d626572), (uint64_t)gi * 1000003 + (uint64_t)k);
    char tail[40], person[16];
    if (strcmp(g->platform, "wechat") == 0) {
        hash_chars(h, "abcdefghijklmnopqrstuvwxyz0123456789", 14, tail);
        snprintf(id, idsz, "wxid_%s", tail);
    } else if (strcmp(g->platform, "wecom") == 0) {
        hash_chars(h, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 22, tail);
        snprintf(id, idsz, "wm%s", tail);
    } else if (strcmp(g->platform, "dingtalk") == 0) {
        hash_chars(h, "0123456789abcdef", 20, tail);
        snprintf(id, idsz, "ding%s", tail);
    } else {
        hash_chars(h, "0123456789abcdef", 32, tail);
        snprintf(id, idsz, "ou_%s", tail);
    }
    demo_rng r;
    demo_rng_init(&r, h, 0x6e616d65);
    demo_person_name(&r, person, sizeof person);
    int style = (int)demo_rng_below(&r, 100);
    if (g->enterprise) {
        const demo_park *pk = &w->parks[g->park];
        const char *firm =
            pk->n_firms ? w->firms[pk->first_firm + k % pk->n_firms].short_name : pk->name;
        static const char *const titles[] = {"经理", "总", "会计", "主任"};
        if (style < 50)
            snprintf(name, namesz, "%s-%s", firm, person);
        else
            snprintf(name, namesz, "%s %s%s", firm, demo_surname(&r), DEMO_PICK(&r, titles));
        return;
    }
    const demo_grid *gr = &w->grids[g->grid];
    if (w->comms[gr->comm].village) {
        if (style < 40)
            snprintf(name, namesz, "%s %s", gr->place[k % gr->n_places], person);
        else if (style < 70)
            snprintf(name, namesz, "%s", person);
        else
            demo_nickname(&r, name, namesz);
        return;
    }
    int b = gr->first_building + (int)demo_rng_below(&r, (uint32_t)gr->n_buildings);
    if (style < 35) {
        snprintf(name, namesz, "%d-%d-%d%02d %s", b, demo_rng_range(&r, 1, gr->stair_units),
                 demo_rng_range(&r, 1, gr->floors), demo_rng_range(&r, 1, 2), person);
    } else if (style < 55) {
        static const char *const calls[] = {"姐", "哥", "叔", "阿姨", "大爷", "老师"};
        snprintf(name, namesz, "%d栋%s%s", b, demo_surname(&r), DEMO_PICK(&r, calls));
    } else {
        demo_nickname(&r, name, namesz);
    }
}

/* ---- one batch of messages and what follows from them ----------------------- */
typedef struct msg_slot {
    char external_id[32], sender_id[48], sender_name[96], triage[112], photo[80];
    int group, intent;
    int64_t at;
    demo_text t;
} msg_slot;

typedef struct event_slot {
    int64_t at;
    const char *actor, *action;
    char changes[192], note[96];
} event_slot;

/* A case being played through its loop, before it is written. */
typedef struct case_run {
    const demo_world *w;
    const demo_group *g;
    int category;
    int level;
    const char *status, *department, *resolved_by;
    int overdue, priority, satisfaction, accept_late, resolve_late;
    int64_t closed_at, resolved_at, accepted_at, verified_at, accept_due;
    event_slot *ev; /* MAX_EVENTS slots */
    int n_ev;
} case_run;

typedef struct batch {
    msg_slot *msg;
    store_message *m;
    int64_t *msg_ids;
    int n;
    store_case *c;
    case_run *run;
    int *case_msg; /* message index of each case */
    int64_t *case_ids;
    event_slot *ev; /* BATCH * MAX_EVENTS */
    store_case_event *e;
    store_lead *l;
} batch;

static const char *const level_names[] = {"district", "street", "community", "grid"};
static const char *const urgency_names[] = {"emergency", "utility", "general", "complex"};

/* Appends an event at time at, or returns NULL when that is after the end
 * of the demo year (the demo clock has not got there yet). */
static event_slot *add_event(case_run *c, int64_t at, const char *actor, const char *action)
{
    if (at >= YEAR_END || c->n_ev >= MAX_EVENTS)
        return NULL;
    event_slot *e = &c->ev[c->n_ev++];
    e->at = at;
    e->actor = actor;
    e->action = action;
    e->changes[0] = e->note[0] = '\0';
    return e;
}

/* An event that moves the case's status from its current one to to. */
static event_slot *step(case_run *c, int64_t at, const char *actor, const char *action,
                        const char *to, const char *note)
{
    event_slot *e = add_event(c, at, actor, action);
    if (!e)
        return NULL;
    snprintf(e->changes, sizeof e->changes, "{\"status\":[\"%s\",\"%s\"]}", c->status, to);
    snprintf(e->note, sizeof e->note, "%s", note);
    c->status = to;
    return e;
}

/* The account that works the case at its current level. */
static const char *handler(const case_run *c)
{
    const char *acc = NULL;
    if (c->level == 0) {
        demo_department(c->category, &acc);
        return acc;
    }
    return demo_account_for(c->w, c->g, c->level);
}

static int64_t span(demo_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(demo_rng_unit(r) * (double)(hi - lo));
}

/* Time t moved into office hours (08:00-21:00 China time) unless the
 * matter is an emergency. */
static int64_t office(demo_rng *r, int urgency, int64_t t)
{
    int64_t local = (t + CHINA_OFFSET) % 86400;
    if (urgency == 0 || (local >= 8 * 3600 && local < 21 * 3600))
        return t;
    int64_t wait = local < 8 * 3600 ? 8 * 3600 - local : 86400 - local + 8 * 3600;
    return t + wait + span(r, 0, 5400);
}

static const char *resolution_note(int category)
{
    static const char *const notes[8] = {
        "已联系物业和维修单位处理完毕", "已协调环卫和执法人员现场处置", "已联系交通部门修复疏导",
        "已与学校和相关单位沟通解决",   "已协调人社部门对接办理",       "已联系市场监管人员处理",
        "已联系卫生服务中心上门处置",   "网格员已上门帮助解决"};
    return notes[category >= 0 && category < 8 ? category : 7];
}

/* Plays one case through its loop from t0, with the accept deadline of the
 * SLA table s; fills the case row too. */
static void run_case(demo_rng *r, case_run *c, int urgency, int64_t t0, store_case *row,
                     const sla *s)
{
    static const int64_t limit[4] = {2 * 3600, 24 * 3600, 7 * 86400, 15 * 86400};
    int64_t deadline = t0 + limit[urgency], t = t0;
    c->status = "reported";
    c->level = c->g->unit_level;
    c->department = "";
    event_slot *e = add_event(c, t, "system", "report");
    if (e) {
        snprintf(e->changes, sizeof e->changes, "{\"status\":[null,\"reported\"]}");
        snprintf(e->note, sizeof e->note, "群消息线索自动立案");
    }
    /* accepted at once in an emergency, else within working hours */
    t = office(r, urgency, t + (urgency == 0 ? span(r, 60, 900) : span(r, 300, 3 * 3600)));
    c->accept_due = sla_due(
        s, sla_get(s, urgency_names[urgency], domain_categories[c->category], SLA_ACCEPT), t0);
    if (step(c, t, handler(c), "accept", "accepted", "已受理"))
        c->accepted_at = t;
    c->accept_late = c->accepted_at ? c->accepted_at > c->accept_due : YEAR_END > c->accept_due;
    /* escalation: complex and utility matters go up more often */
    static const int up_permille[4] = {250, 300, 120, 550};
    int floor_level = c->category == 7 ? 2 : 0; /* help without a department stays local */
    int ups = demo_rng_permille(r, up_permille[urgency]);
    ups += ups && demo_rng_permille(r, 350);
    ups += ups == 2 && demo_rng_permille(r, 400);
    for (int k = 0; k < ups && c->level > floor_level; k++) {
        const char *from_code, *to_code;
        demo_unit_id_for(c->w, c->g, c->level, &from_code);
        demo_unit_id_for(c->w, c->g, c->level - 1, &to_code);
        t = office(r, urgency, t + (urgency == 0 ? span(r, 300, 1800) : span(r, 1200, 86400)));
        if (!(e = add_event(c, t, handler(c), "escalate")))
            break;
        int from = c->level--;
        int n = snprintf(e->changes, sizeof e->changes,
                         "{\"status\":[\"%s\",\"reported\"],\"level\":[\"%s\",\"%s\"],"
                         "\"unit\":[\"%s\",\"%s\"]",
                         c->status, level_names[from], level_names[c->level], from_code, to_code);
        c->status = "reported";
        if (c->level == 0) {
            c->department = demo_department(c->category, NULL);
            snprintf(e->changes + n, sizeof e->changes - (size_t)n,
                     ",\"department\":[\"\",\"%s\"]}", c->department);
        } else {
            snprintf(e->changes + n, sizeof e->changes - (size_t)n, "}");
        }
        snprintf(e->note, sizeof e->note, "超出本级处置能力，提请上级协调");
        t += 900; /* the unit above takes it on */
        if (!step(c, t, handler(c), "accept", "accepted", "上级已受理"))
            break;
    }
    t = office(r, urgency, t + (urgency == 0 ? span(r, 60, 600) : span(r, 600, 4 * 3600)));
    step(c, t, handler(c), "start", "in_progress", "已派人处置");
    /* the fate of the case: on time, late, or stalled */
    static const int64_t work[4][2] = {
        {1200, 3 * 3600}, {2 * 3600, 20 * 3600}, {4 * 3600, 5 * 86400}, {2 * 86400, 14 * 86400}};
    int fate = demo_rng_below(r, 1000); /* 0..29 late, 30..44 very late, 45..59 stalls */
    int stalled = urgency != 0 && fate >= 45 && fate < 60;
    int64_t resolve = t + span(r, work[urgency][0], work[urgency][1]);
    if (fate < 30)
        resolve = t0 + (int64_t)((double)limit[urgency] * (1.05 + 1.5 * demo_rng_unit(r)));
    else if (fate < 45 && urgency != 0)
        resolve = deadline + span(r, 4 * 86400, 40 * 86400);
    else if (resolve >= deadline && t < deadline - 60)
        resolve = span(r, t + 60, deadline - 60);
    resolve = office(r, urgency, resolve > t ? resolve : t + span(r, 600, 3600));
    if (stalled) {
        int64_t at = office(r, urgency, deadline + 3 * 86400 + span(r, 86400, 7 * 86400));
        step(c, at > t ? at : t + 3600, handler(c), "suspend", "suspended",
             "涉及历史遗留问题，需统筹解决，暂时挂账");
    } else if (step(c, resolve, handler(c), "resolve", "resolved", resolution_note(c->category))) {
        c->resolved_at = resolve;
        c->resolved_by = handler(c);
        const char *verifier = c->level == c->g->unit_level
                                   ? demo_account_for(c->w, c->g, c->level - 1)
                                   : demo_account_for(c->w, c->g, c->g->unit_level);
        t = office(r, urgency, resolve + span(r, 3600, 2 * 86400));
        if (step(c, t, verifier, "verify", "verified", "现场核查，问题已解决")) {
            c->verified_at = t;
            static const int stars[5] = {2, 3, 6, 20, 69};
            t = office(r, 2, t + span(r, 3600, 3 * 86400)); /* the call-back */
            int rated = demo_rng_permille(r, 900);
            int sat = rated ? 1 + demo_rng_weighted(r, stars, 5) : 0;
            if ((e = step(c, t, "system", "close", "closed",
                          rated ? "回访完成，已评价" : "回访未接通，按期办结"))) {
                if (rated)
                    snprintf(e->changes, sizeof e->changes,
                             "{\"status\":[\"verified\",\"closed\"],\"satisfaction\":[0,%d]}", sat);
                c->satisfaction = sat;
                c->closed_at = t;
            }
        }
    }
    /* a missed deadline brings a reminder, a badly missed one supervision;
     * these interleave with the loop, so the log is put in time order */
    c->resolve_late = stalled || resolve > deadline;
    if ((stalled || resolve > deadline) && (e = add_event(c, deadline + 600, "system", "remind"))) {
        snprintf(e->changes, sizeof e->changes, "{\"overdue\":[0,1]}");
        snprintf(e->note, sizeof e->note, "已超过办理时限，系统催办");
        c->overdue = 1;
    }
    if ((stalled || resolve > deadline + 3 * 86400) &&
        (e = add_event(c, deadline + 3 * 86400, "district1", "supervise"))) {
        snprintf(e->changes, sizeof e->changes, "{\"priority\":[0,1]}");
        snprintf(e->note, sizeof e->note, "区社会治理中心督办");
        c->priority = 1;
    }
    for (int i = 1; i < c->n_ev; i++) /* stable insertion sort by time */
        for (int j = i; j > 0 && c->ev[j - 1].at > c->ev[j].at; j--) {
            event_slot tmp = c->ev[j];
            c->ev[j] = c->ev[j - 1];
            c->ev[j - 1] = tmp;
        }
    const char *code;
    row->level = level_names[c->level];
    row->unit_id = demo_unit_id_for(c->w, c->g, c->level, &code);
    row->department = c->department;
    row->status = c->status;
    row->priority = c->priority;
    row->overdue = c->overdue;
    row->satisfaction = c->satisfaction;
    row->closed_at = c->closed_at;
    if (strcmp(c->status, "closed") == 0 || strcmp(c->status, "suspended") == 0)
        row->due_at = 0;
    else if (c->resolved_at)
        row->due_at = c->resolved_at + 3 * 86400; /* verification and call-back */
    else if (strcmp(c->status, "reported") == 0)
        row->due_at = c->accept_due;
    else
        row->due_at = deadline;
}

/* Writes the case-loop fields of case id (its SLA stage and next check,
 * milestones, late marks, resolver) and its reporter, the sender of x. */
static int case_fields(store *s, const case_run *c, const store_case *row, int64_t id,
                       const msg_slot *x, int64_t msg_id, ny_err *e)
{
    const char *st = c->status;
    int closed = strcmp(st, "closed") == 0, suspended = strcmp(st, "suspended") == 0;
    const char *stage = closed                                                       ? ""
                        : strcmp(st, "reported") == 0                                ? "accept"
                        : strcmp(st, "resolved") == 0 || strcmp(st, "verified") == 0 ? "verify"
                                                                                     : "resolve";
    case_milestones m = {id,
                         c->g->unit_id,
                         c->g->id,
                         stage,
                         suspended ? "in_progress" : "",
                         c->resolved_by ? c->resolved_by : "",
                         row->due_at > YEAR_END ? row->due_at : 0,
                         suspended ? 1 : 0,
                         c->accepted_at,
                         c->resolved_at,
                         c->verified_at,
                         c->accept_late,
                         c->resolve_late};
    int rc = store_case_set_milestones(s, &m, e);
    if (rc == NY_OK)
        rc = store_case_reporter_add(s, id, c->g->id, x->sender_id, x->sender_name, msg_id,
                                     row->opened_at, e);
    return rc;
}

/* Writes the batch's messages, then the cases, their events and the leads
 * for the messages that need a person. */
static int flush(store *s, demo_world *w, demo_rng *r, batch *b, const sla *sl, ny_err *e)
{
    int rc = store_message_put_batch(s, b->m, (size_t)b->n, b->msg_ids, e);
    if (rc != NY_OK || b->n == 0)
        return rc;
    int nc = 0;
    for (int i = 0; i < b->n; i++) {
        msg_slot *x = &b->msg[i];
        if (x->intent < 1 || x->intent > 4) /* help, report, emergency, complaint */
            continue;
        case_run *c = &b->run[nc];
        *c = (case_run){.w = w,
                        .g = &w->groups[x->group],
                        .category = x->t.category,
                        .ev = b->ev + (size_t)nc * MAX_EVENTS};
        int64_t t0 = x->at + span(r, 5, 60);
        if (t0 >= YEAR_END)
            t0 = YEAR_END - 1;
        store_case *row = &b->c[nc];
        int photo = (x->intent == 2 || x->intent == 4) && demo_rng_permille(r, 350);
        if (photo)
            snprintf(x->photo, sizeof x->photo, "https://img.example.invalid/demo/%s.jpg",
                     x->external_id);
        int urgency = x->intent == 3 ? 0 : x->t.urgency;
        *row = (store_case){.source = "lead",
                            .title = x->t.title,
                            .description = x->t.text,
                            .category = domain_categories[x->t.category],
                            .urgency = urgency_names[urgency],
                            .location = x->t.location,
                            .photo_url = photo ? x->photo : "",
                            .reporter = x->sender_name,
                            .opened_at = t0};
        run_case(r, c, urgency, t0, row, sl);
        b->case_msg[nc++] = i;
    }
    if (nc == 0)
        return NY_OK;
    if ((rc = store_case_put_batch(s, b->c, (size_t)nc, b->case_ids, e)) != NY_OK)
        return rc;
    int ne = 0;
    for (int k = 0; k < nc; k++) {
        case_run *c = &b->run[k];
        for (int j = 0; j < c->n_ev; j++, ne++)
            b->e[ne] = (store_case_event){0,
                                          b->case_ids[k],
                                          c->ev[j].at,
                                          c->ev[j].actor,
                                          c->ev[j].action,
                                          c->ev[j].changes,
                                          c->ev[j].note};
        const msg_slot *x = &b->msg[b->case_msg[k]];
        const demo_group *g = &w->groups[x->group];
        b->l[k] = (store_lead){0,
                               b->msg_ids[b->case_msg[k]],
                               g->id,
                               g->unit_id,
                               domain_intents[x->intent],
                               domain_categories[x->t.category],
                               b->c[k].opened_at,
                               b->case_ids[k]};
    }
    for (int i = 0; i < ne && rc == NY_OK; i += BATCH) {
        size_t m = (size_t)(ne - i < BATCH ? ne - i : BATCH);
        rc = store_case_event_append_batch(s, b->e + i, m, NULL, e);
    }
    if (rc == NY_OK)
        rc = store_lead_put_batch(s, b->l, (size_t)nc, NULL, e);
    for (int k = 0; k < nc && rc == NY_OK; k++)
        rc = case_fields(s, &b->run[k], &b->c[k], b->case_ids[k], &b->msg[b->case_msg[k]],
                         b->msg_ids[b->case_msg[k]], e);
    return rc;
}

/* Intent shares per thousand, in domain_intents order (consult, help,
 * report, emergency, complaint, other): about 4% need a person, as in the
 * real district (28,000 leads from 670,000 messages). */
static const int intents_resident[6] = {16, 9, 21, 3, 9, 942};
static const int intents_enterprise[6] = {30, 12, 18, 2, 10, 928};

/* Buffers for one batch, allocated together. */
static int batch_alloc(batch *b)
{
    b->msg = calloc(BATCH, sizeof *b->msg);
    b->m = calloc(BATCH, sizeof *b->m);
    b->msg_ids = calloc(BATCH, sizeof *b->msg_ids);
    b->c = calloc(BATCH, sizeof *b->c);
    b->run = calloc(BATCH, sizeof *b->run);
    b->case_msg = calloc(BATCH, sizeof *b->case_msg);
    b->case_ids = calloc(BATCH, sizeof *b->case_ids);
    b->ev = calloc((size_t)BATCH * MAX_EVENTS, sizeof *b->ev);
    b->e = calloc((size_t)BATCH * MAX_EVENTS, sizeof *b->e);
    b->l = calloc(BATCH, sizeof *b->l);
    return b->msg && b->m && b->msg_ids && b->c && b->run && b->case_msg && b->case_ids && b->ev &&
           b->e && b->l;
}

static void batch_free(batch *b)
{
    free(b->msg);
    free(b->m);
    free(b->msg_ids);
    free(b->c);
    free(b->run);
    free(b->case_msg);
    free(b->case_ids);
    free(b->ev);
    free(b->e);
    free(b->l);
}

/* A group, with probability in proportion to its members and liveliness. */
static int pick_group(demo_rng *r, const uint64_t *cum, int n)
{
    uint64_t x = demo_rng_next(r) % cum[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Fills message slot x: message number seq at time at. */
static void make_message(demo_world *w, demo_rng *r, const uint64_t *cum, long seq, int64_t at,
                         const day_info *di, msg_slot *x, store_message *m)
{
    int gi = pick_group(r, cum, DEMO_GROUPS);
    const demo_group *g = &w->groups[gi];
    int hour = (int)((at + CHINA_OFFSET) % 86400 / 3600);
    x->group = gi;
    x->at = at;
    x->intent = demo_rng_weighted(r, g->enterprise ? intents_enterprise : intents_resident, 6);
    int staff =
        x->intent == 5 && hour >= 7 && hour <= 20 && demo_rng_permille(r, g->enterprise ? 120 : 60);
    demo_text_req q = {w, g, x->intent, staff, hour, di->month, di->mday};
    demo_text_make(r, &q, &x->t);
    if (staff) {
        const char *who;
        if (!g->enterprise)
            who = w->grids[g->grid].worker;
        else if (w->parks[g->park].comm >= 0)
            who = w->comms[w->parks[g->park].comm].officer;
        else
            who = w->streets[w->parks[g->park].street].officer;
        snprintf(x->sender_id, sizeof x->sender_id, "staff:%s",
                 demo_account_for(w, g, g->unit_level));
        snprintf(x->sender_name, sizeof x->sender_name, "%s%s",
                 g->enterprise ? "园区专员" : "网格员", who);
    } else {
        /* a few members write most of the messages */
        double u = demo_rng_unit(r);
        member(w, gi, (int)(u * u * g->members), x->sender_id, sizeof x->sender_id, x->sender_name,
               sizeof x->sender_name);
    }
    snprintf(x->external_id, sizeof x->external_id, "demo-%ld", seq);
    snprintf(x->triage, sizeof x->triage,
             "{\"intent\":\"%s\",\"category\":\"%s\",\"source\":\"demo\"}",
             domain_intents[x->intent], domain_categories[x->t.category]);
    *m = (store_message){0,
                         g->id,
                         "demo",
                         x->external_id,
                         x->sender_id,
                         x->sender_name,
                         at,
                         x->t.text,
                         domain_intents[x->intent],
                         domain_categories[x->t.category],
                         x->triage};
}

int demo_messages(store *s, demo_world *w, ny_err *e)
{
    long total = w->opts->messages, count[DAYS], most = 1, done = 0;
    demo_rng r_days, r_msg, r_case;
    demo_rng_init(&r_days, w->seed, 0x64617973);
    demo_rng_init(&r_msg, w->seed, 0x6d657373616765);
    demo_rng_init(&r_case, w->seed, 0x6361736573);
    plan_days(&r_days, total, count);
    for (int d = 0; d < DAYS; d++)
        most = count[d] > most ? count[d] : most;
    uint64_t cum[DEMO_GROUPS], acc = 0;
    for (int i = 0; i < DEMO_GROUPS; i++)
        cum[i] = acc += (uint64_t)w->groups[i].members * (uint64_t)w->groups[i].activity + 1;
    batch b = {0};
    sla *sl = NULL;
    int rc = sla_load(NULL, &sl, e); /* the built-in 12345 deadlines */
    if (rc != NY_OK)
        return rc;
    int64_t *times = malloc((size_t)most * sizeof *times);
    if (!times || !batch_alloc(&b)) {
        free(times);
        batch_free(&b);
        sla_free(sl);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    demo_progress(w, "messages", 0, total);
    for (int d = 0; d < DAYS && rc == NY_OK; d++) {
        day_info di = day_of(d);
        const int *hours = di.off ? hours_off : hours_work;
        for (long i = 0; i < count[d]; i++)
            times[i] = YEAR_START + d * 86400LL + demo_rng_weighted(&r_days, hours, 24) * 3600LL +
                       demo_rng_below(&r_days, 3600);
        qsort(times, (size_t)count[d], sizeof *times, cmp_i64);
        for (long i = 0; i < count[d] && rc == NY_OK; i++) {
            make_message(w, &r_msg, cum, done + b.n + 1, times[i], &di, &b.msg[b.n], &b.m[b.n]);
            if (++b.n == BATCH && (rc = flush(s, w, &r_case, &b, sl, e)) == NY_OK) {
                done += b.n;
                b.n = 0;
                demo_progress(w, "messages", done, total);
            }
        }
    }
    if (rc == NY_OK && b.n > 0) {
        rc = flush(s, w, &r_case, &b, sl, e);
        done += b.n;
    }
    free(times);
    batch_free(&b);
    sla_free(sl);
    if (rc == NY_OK)
        demo_progress(w, "messages", done, total);
    return rc;
}
