/* case.c - the case state machine and its actions (see case.h).
 *
 * case_allowed is the single source of truth for what may happen: the API
 * answers 409 with its list, the case page shows it, and case_apply checks
 * it before anything else. case_apply then works on a copy of the case,
 * so the log entry can list every field that changed (old → new) by
 * comparing the two, saves it under the version check, logs it and queues
 * the reporter's message, all in the caller's transaction. Opening cases
 * from leads and reading residents' feedback live in case_open.c; the
 * scheduler in case_sched.c. */
#include "case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "outbox.h"

const char *const case_action_names[] = {
    "accept", "start",     "resolve",  "handle_on_spot", "verify",   "close", "return", "suspend",
    "resume", "supervise", "escalate", "reopen",         "reassign", "merge", NULL};

void case_time_iso(int64_t t, char *buf)
{
    time_t local = (time_t)(t + CALENDAR_OFFSET);
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
}

const char *case_status_label(const char *status)
{
    static const char *const names[][2] = {{"reported", "受理"},      {"accepted", "立案"},
                                           {"in_progress", "处置中"}, {"resolved", "已处置"},
                                           {"verified", "核查"},      {"closed", "结案"},
                                           {"suspended", "挂起"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(status, names[i][0]) == 0)
            return names[i][1];
    return status;
}

static int is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* a works the case where it is now. */
static int holds(const case_row *c, const case_actor *a)
{
    if (is(a->role, "admin") || is(a->role, "system"))
        return 1;
    if (is(c->level, "district"))
        return is(a->role, "district") ||
               (is(a->role, "department") && is(a->department, c->department));
    return !is(a->role, "department") && !is(a->role, "resident") && is(a->unit, c->unit);
}

/* a holds a unit above the holder's. */
static int above(const case_row *c, const case_actor *a)
{
    if (is(a->role, "admin") || is(a->role, "district"))
        return 1;
    if (is(a->role, "department") || is(a->role, "resident") || is(a->role, "system") ||
        !a->prefix || !a->prefix[0])
        return 0;
    return !is(a->unit, c->unit) && strncmp(c->unit, a->prefix, strlen(a->prefix)) == 0;
}

int case_visible(const case_row *c, const case_actor *a)
{
    return holds(c, a) || above(c, a);
}

unsigned case_allowed(const case_row *c, const case_actor *a)
{
    if (is(a->role, "resident") || !case_visible(c, a))
        return 0;
    int h = holds(c, a), up = above(c, a), not_resolver = !is(a->account, c->resolved_by);
    int grid = is(c->level, "grid"), top = is(c->level, "district");
    int can_return = c->prev_unit[0] || !top;
    unsigned m = 0;
#define OK(act, cond)                                                                              \
    do {                                                                                           \
        if (cond)                                                                                  \
            m |= 1u << (act);                                                                      \
    } while (0)
    const char *st = c->status;
    int fresh = is(st, "reported"), acc = is(st, "accepted"), work = is(st, "in_progress");
    if (fresh || acc || work) {
        OK(CASE_ACCEPT, h && fresh);
        OK(CASE_START, h && acc);
        OK(CASE_RESOLVE, h && (acc || work));
        OK(CASE_ON_SPOT, h && grid && (fresh || acc));
        OK(CASE_RETURN, h && can_return && (fresh || acc));
        OK(CASE_SUSPEND, h && (acc || work));
        OK(CASE_ESCALATE, h && !top);
        OK(CASE_REASSIGN, up || (h && !grid));
        OK(CASE_MERGE, 1);
        OK(CASE_SUPERVISE, up);
    } else if (is(st, "suspended")) {
        OK(CASE_RESUME, h || up);
        OK(CASE_SUPERVISE, up);
    } else if (is(st, "resolved")) {
        OK(CASE_VERIFY, not_resolver);
        OK(CASE_REOPEN, not_resolver);
        OK(CASE_SUPERVISE, up);
    } else if (is(st, "verified")) {
        OK(CASE_CLOSE, 1);
        OK(CASE_REOPEN, not_resolver);
    } else if (is(st, "closed")) {
        OK(CASE_REOPEN, not_resolver && !c->merged_into);
    }
#undef OK
    return m;
}

void case_allowed_json(unsigned mask, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < CASE_NACTIONS && used < n; i++)
        if (mask & (1u << i))
            used += (size_t)snprintf(buf + used, n - used, "%s\"%s\"", used > 1 ? "," : "",
                                     case_action_names[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
}

static const char *stage_index_name[SLA_NSTAGES] = {"accept", "resolve", "verify"};

static int stage_index(const char *stage)
{
    for (int i = 0; i < SLA_NSTAGES; i++)
        if (is(stage, stage_index_name[i]))
            return i;
    return -1;
}

void case_stage_start(case_row *c, const sla *s, const char *stage, int64_t now)
{
    int k = stage_index(stage);
    snprintf(c->stage, sizeof c->stage, "%s", k >= 0 ? stage : "");
    if (k < 0) {
        c->due_at = c->next_check_at = 0;
        return;
    }
    sla_limit l = sla_get(s, c->urgency, c->category, k);
    c->due_at = sla_due(s, l, now);
    int64_t remind = sla_remind_at(s, l, now);
    c->next_check_at = remind < c->due_at ? remind : c->due_at;
}

/* The JSON object of the fields that differ between a and b. */
static char *changes_json(const case_row *a, const case_row *b)
{
    json_t *j = json_object();
#define STR(f, name)                                                                               \
    if (strcmp(a->f, b->f) != 0)                                                                   \
    json_object_set_new(j, name, json_pack("[s,s]", a->f, b->f))
#define INT(f, name)                                                                               \
    if (a->f != b->f)                                                                              \
    json_object_set_new(j, name, json_pack("[I,I]", (json_int_t)a->f, (json_int_t)b->f))
    if (!j)
        return NULL;
    STR(status, "status");
    STR(level, "level");
    STR(unit, "unit");
    STR(department, "department");
    STR(kind, "kind");
    STR(category, "category");
    INT(priority, "priority");
    INT(overdue, "overdue");
    INT(satisfaction, "satisfaction");
    INT(reopen_count, "reopen_count");
    INT(merged_into, "merged_into");
    STR(stage, "stage");
    if (a->due_at != b->due_at) {
        char x[32] = "", y[32] = "";
        if (a->due_at)
            case_time_iso(a->due_at, x);
        if (b->due_at)
            case_time_iso(b->due_at, y);
        json_object_set_new(j, "due_at",
                            json_pack("[s?,s?]", a->due_at ? x : NULL, b->due_at ? y : NULL));
    }
    if (strcmp(a->photo_url, b->photo_url) != 0)
        json_object_set_new(j, "photo_url", json_pack("[s,s]", a->photo_url, b->photo_url));
#undef STR
#undef INT
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return text;
}

/* Writes c after the change from before: save, log, and the reporter's
 * message when msg is not NULL. */
static int commit_change(store *db, const case_row *before, case_row *c, const char *actor,
                         const char *action, const char *note, const char *msg, int64_t now,
                         ny_err *e)
{
    char *changes = changes_json(before, c);
    if (!changes)
        return ny_err_set(e, NY_ERR, "out of memory");
    int64_t ev = 0;
    int rc = store_case_save(db, c, e);
    if (rc == NY_OK)
        rc = store_case_log(db, c->id, now, actor, action, changes, note, &ev, e);
    free(changes);
    if (rc == NY_OK && msg && c->group_id) {
        char key[64];
        snprintf(key, sizeof key, "case:%lld:%lld", (long long)c->id, (long long)ev);
        outbox_item it = {
            .key = key, .kind = "reply", .group_id = c->group_id, .text = msg, .priority = 2};
        rc = outbox_enqueue(db, &it, now, NULL, NULL, e);
    }
    return rc;
}

/* Moves c to unit code at its level; department at district level. */
static int move_to(store *db, const sla *s, case_row *c, const char *code, const char *department,
                   int64_t now, ny_err *e)
{
    char name[128], level[16], parent[32];
    int rc =
        store_case_unit(db, code, name, sizeof name, level, sizeof level, parent, sizeof parent, e);
    if (rc != NY_OK)
        return rc;
    snprintf(c->prev_unit, sizeof c->prev_unit, "%s", c->unit);
    snprintf(c->unit, sizeof c->unit, "%s", code);
    snprintf(c->unit_name, sizeof c->unit_name, "%s", name);
    snprintf(c->level, sizeof c->level, "%s", level);
    snprintf(c->department, sizeof c->department, "%s",
             is(level, "district")
                 ? (department && department[0] ? department : sla_department(s, c->category))
                 : "");
    snprintf(c->status, sizeof c->status, "reported");
    case_stage_start(c, s, "accept", now);
    return NY_OK;
}

/* The parent unit's code of c's holder, "" at the top. */
static int parent_of(store *db, const char *code, char *parent, ny_err *e)
{
    char name[128], level[16];
    return store_case_unit(db, code, name, sizeof name, level, sizeof level, parent, 32, e);
}

static int needs_note(int action)
{
    return action == CASE_RESOLVE || action == CASE_ON_SPOT || action == CASE_RETURN ||
           action == CASE_SUSPEND || action == CASE_SUPERVISE || action == CASE_ESCALATE ||
           action == CASE_REOPEN;
}

/* Marks the current stage late. */
static void mark_late(case_row *c)
{
    if (is(c->stage, "accept"))
        c->accept_late = 1;
    if (is(c->stage, "resolve"))
        c->resolve_late = 1;
    c->overdue = 1;
}

/* Marks the stage late when it ends at now, after its deadline. */
static void end_stage_late(case_row *c, int64_t now)
{
    if (c->due_at && now > c->due_at)
        mark_late(c);
}

static int do_merge(store *db, const sla *s, case_row *c, const case_actor *a,
                    const case_request *req, int64_t now, ny_err *e);

int case_apply(store *db, const sla *s, case_row *c, const case_actor *a, const case_request *req,
               int64_t now, unsigned *allowed, ny_err *e)
{
    unsigned mask = case_allowed(c, a);
    if (allowed)
        *allowed = mask;
    if (req->action < 0 || req->action >= CASE_NACTIONS || !(mask & (1u << req->action))) {
        char list[256];
        case_allowed_json(mask, list, sizeof list);
        return ny_err_set(
            e, NY_ECONFLICT,
            "当前状态（%s）不能执行此操作 / action %s not allowed now; allowed: %s",
            case_status_label(c->status),
            req->action >= 0 && req->action < CASE_NACTIONS ? case_action_names[req->action] : "?",
            list);
    }
    const char *note = req->note ? req->note : "";
    if (needs_note(req->action) && !note[0])
        return ny_err_set(e, NY_EINVAL, "请填写说明 / a note is required for %s",
                          case_action_names[req->action]);
    if (req->rating < 0 || req->rating > 5)
        return ny_err_set(e, NY_EINVAL, "评价须为1-5 / rating must be 1..5");
    if (req->action == CASE_MERGE)
        return do_merge(db, s, c, a, req, now, e);
    case_row before;
    int rc = case_row_copy(&before, c, e);
    if (rc != NY_OK)
        return rc;
    if (req->photo_url && req->photo_url[0] &&
        (rc = case_row_set(&c->photo_url, req->photo_url, e)))
        goto out;
    char msg[1024];
    const char *send = NULL;
    const char *who = a->name && a->name[0] ? a->name : a->account;
    switch (req->action) {
    case CASE_ACCEPT:
        end_stage_late(c, now);
        if (!c->accepted_at)
            c->accepted_at = now;
        snprintf(c->status, sizeof c->status, "accepted");
        case_stage_start(c, s, "resolve", now);
        snprintf(msg, sizeof msg, "【暖羊阳】您反映的“%s”已由%s受理，承办人：%s，我们会尽快处理。",
                 c->title, c->unit_name, who);
        send = msg;
        break;
    case CASE_START:
        snprintf(c->status, sizeof c->status, "in_progress");
        break;
    case CASE_ON_SPOT:
        end_stage_late(c, now);
        if (!c->accepted_at)
            c->accepted_at = now;
        __attribute__((fallthrough)); /* settled at once */
    case CASE_RESOLVE:
        if (is(c->stage, "resolve"))
            end_stage_late(c, now);
        c->resolved_at = now;
        snprintf(c->resolved_by, sizeof c->resolved_by, "%s", a->account);
        snprintf(c->status, sizeof c->status, "resolved");
        case_stage_start(c, s, "verify", now);
        snprintf(msg, sizeof msg,
                 "【暖羊阳】您反映的“%s”已处置：%s（%s）。请回复“满意”“基本满意”或“不满意”评价；"
                 "如问题仍未解决，请回复“还没修好”。",
                 c->title, note, who);
        send = msg;
        break;
    case CASE_VERIFY:
        c->verified_at = now;
        snprintf(c->status, sizeof c->status, "verified");
        break;
    case CASE_CLOSE:
        end_stage_late(c, now);
        if (req->rating)
            c->satisfaction = req->rating;
        c->closed_at = now;
        snprintf(c->status, sizeof c->status, "closed");
        case_stage_start(c, s, "", now);
        snprintf(msg, sizeof msg, "【暖羊阳】您反映的“%s”已办结，感谢您的反馈和监督。", c->title);
        send = msg;
        break;
    case CASE_RETURN: {
        char target[32];
        if (c->prev_unit[0] && !is(c->prev_unit, c->unit))
            snprintf(target, sizeof target, "%s", c->prev_unit);
        else if ((rc = parent_of(db, c->unit, target, e)) != NY_OK)
            goto out;
        rc = move_to(db, s, c, target, NULL, now, e);
        break;
    }
    case CASE_SUSPEND: {
        int k = stage_index(c->stage);
        int64_t left = k >= 0 && c->due_at
                           ? sla_left(s, sla_get(s, c->urgency, c->category, k), now, c->due_at)
                           : 0;
        c->sla_left = left > 0 ? left : 1;
        snprintf(c->suspended_from, sizeof c->suspended_from, "%s", c->status);
        snprintf(c->status, sizeof c->status, "suspended");
        c->due_at = c->next_check_at = 0;
        break;
    }
    case CASE_RESUME: {
        int k = stage_index(c->stage);
        snprintf(c->status, sizeof c->status, "%s",
                 c->suspended_from[0] ? c->suspended_from : "in_progress");
        c->suspended_from[0] = '\0';
        if (k >= 0) {
            c->due_at = sla_resume(s, sla_get(s, c->urgency, c->category, k), now, c->sla_left);
            c->next_check_at = c->due_at;
        }
        c->sla_left = 0;
        break;
    }
    case CASE_SUPERVISE:
        if (c->priority < 9)
            c->priority++;
        break;
    case CASE_ESCALATE: {
        char target[32];
        if (is(a->role, "system")) /* the scheduler escalates on a breach */
            mark_late(c);
        else
            end_stage_late(c, now);
        if ((rc = parent_of(db, c->unit, target, e)) != NY_OK)
            goto out;
        rc = move_to(db, s, c, target, NULL, now, e);
        break;
    }
    case CASE_REOPEN:
        c->reopen_count++;
        c->closed_at = c->verified_at = c->resolved_at = 0;
        c->resolved_by[0] = '\0';
        snprintf(c->status, sizeof c->status, "in_progress");
        case_stage_start(c, s, "resolve", now);
        break;
    case CASE_REASSIGN: {
        const char *unit = req->unit && req->unit[0] ? req->unit : NULL;
        const char *dept = req->department && req->department[0] ? req->department : NULL;
        if (!unit && !dept) {
            rc = ny_err_set(e, NY_EINVAL, "请指定承办单位或部门 / unit or department required");
            goto out;
        }
        if (unit && !is(a->role, "admin") && !is(a->role, "district") &&
            strncmp(unit, a->prefix, strlen(a->prefix)) != 0) {
            rc = ny_err_set(e, NY_EINVAL, "只能派给本辖区单位 / unit outside your area: %s", unit);
            goto out;
        }
        if (!unit) { /* a department of the district */
            char top[32];
            snprintf(top, sizeof top, "%s", c->unit);
            for (;;) {
                char parent[32];
                if ((rc = parent_of(db, top, parent, e)) != NY_OK)
                    goto out;
                if (!parent[0])
                    break;
                snprintf(top, sizeof top, "%s", parent);
            }
            rc = move_to(db, s, c, top, dept, now, e);
        } else {
            rc = move_to(db, s, c, unit, NULL, now, e);
            if (rc == NY_ENOTFOUND)
                rc = NY_EINVAL;
        }
        break;
    }
    default:
        rc = ny_err_set(e, NY_ERR, "unhandled action");
        break;
    }
    if (rc == NY_OK)
        rc = commit_change(db, &before, c, a->account, case_action_names[req->action], note, send,
                           now, e);
out:
    case_row_free(&before);
    return rc;
}

static int do_merge(store *db, const sla *s, case_row *c, const case_actor *a,
                    const case_request *req, int64_t now, ny_err *e)
{
    (void)s;
    if (req->into == c->id || req->into <= 0)
        return ny_err_set(e, NY_EINVAL, "请指定要并入的另一案件 / into must name another case");
    case_row t = {0};
    int rc = store_case_load(db, req->into, &t, e);
    if (rc == NY_ENOTFOUND || (rc == NY_OK && !case_visible(&t, a)))
        rc = ny_err_set(e, NY_EINVAL, "没有这个案件 / no such case to merge into: %lld",
                        (long long)req->into);
    else if (rc == NY_OK && (is(t.status, "closed") || t.merged_into))
        rc = ny_err_set(e, NY_EINVAL, "目标案件已结案 / the case to merge into is closed");
    case_row before = {0};
    if (rc == NY_OK)
        rc = case_row_copy(&before, c, e);
    if (rc == NY_OK) {
        c->merged_into = t.id;
        c->closed_at = now;
        snprintf(c->status, sizeof c->status, "closed");
        c->due_at = c->next_check_at = 0;
        c->stage[0] = '\0';
        rc = commit_change(db, &before, c, a->account, "merge", req->note, NULL, now, e);
    }
    if (rc == NY_OK)
        rc = store_case_reporters_merge(db, c->id, t.id, e);
    if (rc == NY_OK) {
        char note[160];
        snprintf(note, sizeof note, "并入重复案件 #%lld / merged case #%lld", (long long)c->id,
                 (long long)c->id);
        case_row tb;
        rc = case_row_copy(&tb, &t, e);
        if (rc == NY_OK) /* the version bump records the merge on the target too */
            rc = commit_change(db, &tb, &t, a->account, "merge", note, NULL, now, e);
        case_row_free(&tb);
    }
    case_row_free(&before);
    case_row_free(&t);
    return rc;
}

int case_act(store *db, const sla *s, int64_t id, const case_actor *a, const case_request *req,
             int64_t now, unsigned *allowed, case_row *out, ny_err *e)
{
    int rc = NY_ECONFLICT;
    for (int attempt = 0; attempt < 3; attempt++) {
        case_row c;
        if ((rc = store_begin(db, e)) != NY_OK)
            return rc;
        rc = store_case_load(db, id, &c, e);
        if (rc == NY_OK && !case_visible(&c, a)) {
            case_row_free(&c);
            rc = ny_err_set(e, NY_ENOTFOUND, "没有这个案件 / no such case: %lld", (long long)id);
        }
        if (rc == NY_OK) {
            rc = case_apply(db, s, &c, a, req, now, allowed, e);
            if (rc == NY_OK)
                rc = store_commit(db, e);
            if (rc == NY_OK && out)
                *out = c;
            else
                case_row_free(&c);
        }
        if (rc == NY_OK)
            return NY_OK;
        ny_err keep = *e;
        store_rollback(db, NULL);
        *e = keep;
        /* retry only a lost race (the save's version check), not a refusal */
        if (rc != NY_ECONFLICT || strstr(e->msg, "allowed"))
            return rc;
    }
    return rc;
}

int case_open(store *db, const sla *s, case_row *c, const case_actor *a, int64_t now, ny_err *e)
{
    char parent[32], unit_name[sizeof c->unit_name], level[sizeof c->level];
    int rc = store_case_unit(db, c->unit, unit_name, sizeof unit_name, level, sizeof level, parent,
                             sizeof parent, e);
    if (rc != NY_OK)
        return rc;
    case_open_fill(s, c, unit_name, level, now);
    if ((rc = store_case_insert(db, c, e)) != NY_OK)
        return rc;
    char changes[512];
    const char *note = case_open_log(c, a, changes, sizeof changes);
    return store_case_log(db, c->id, now, a->account, "report", changes, note, NULL, e);
}

void case_open_fill(const sla *s, case_row *c, const char *unit_name, const char *level,
                    int64_t now)
{
    snprintf(c->unit_name, sizeof c->unit_name, "%s", unit_name);
    snprintf(c->level, sizeof c->level, "%s", level);
    if (!c->kind[0])
        snprintf(c->kind, sizeof c->kind, "case");
    if (!c->urgency[0])
        snprintf(c->urgency, sizeof c->urgency, "general");
    if (is(c->level, "district") && !c->department[0])
        snprintf(c->department, sizeof c->department, "%s", sla_department(s, c->category));
    snprintf(c->origin, sizeof c->origin, "%s", c->unit);
    int64_t deadline = c->due_at;
    c->opened_at = now;
    if (is(c->kind, "rectification") && deadline > now) {
        /* a rectification item comes with its owner and deadline */
        snprintf(c->status, sizeof c->status, "accepted");
        c->accepted_at = now;
        snprintf(c->stage, sizeof c->stage, "resolve");
        c->due_at = c->next_check_at = deadline;
    } else {
        snprintf(c->status, sizeof c->status, "reported");
        case_stage_start(c, s, "accept", now);
    }
}

const char *case_open_log(const case_row *c, const case_actor *a, char *changes, size_t n)
{
    char due[32];
    case_time_iso(c->due_at, due);
    snprintf(changes, n,
             "{\"status\":[null,\"%s\"],\"unit\":[null,\"%s\"],\"due_at\":[null,\"%s\"]}",
             c->status, c->unit, due);
    return is(c->source, "lead")    ? "群消息线索自动立案"
           : is(a->role, "open311") ? "Open311 接口受理"
                                    : "工作人员登记";
}
