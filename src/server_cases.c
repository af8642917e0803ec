/* server_cases.c - the case routes of the staff API (docs/API.md "Cases"):
 * list and open cases, one case with its history, and actions on it.
 *
 * Handlers authenticate (server_auth), turn the caller into a case_actor
 * and leave every rule to the case module: visibility (a case outside the
 * caller's reach is 404, so nothing leaks), which actions are allowed (409
 * with the list in "allowed"), and what an action does. The list filters
 * by the caller's subtree, or for a department by the cases it holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "domain.h"
#include "server_cases.h"
#include "store_case.h"
#include "store_case_msgs.h"

void server_case_actor(const server_caller *who, case_actor *a)
{
    *a = (case_actor){who->id.account,   who->id.name, who->id.role,
                      who->id.unit_code, who->prefix,  who->id.department};
}

int server_cases_lead(server *sv, store *db, int64_t lead_id, case_lead *l, ny_err *e)
{
    if (!case_lead_opens(l->intent))
        return NY_OK;
    int64_t case_id = 0;
    int rc = store_case_of_lead(db, lead_id, &l->duplicate_of, e);
    if (rc == NY_OK)
        rc = case_from_lead(db, server_cases_sla(sv), l, l->at, &case_id, e);
    if (rc == NY_OK && !l->duplicate_of)
        rc = store_case_link_lead(db, lead_id, case_id, e);
    return rc;
}

static json_t *time_or_null(int64_t t)
{
    char buf[32];
    if (!t)
        return json_null();
    case_time_iso(t, buf);
    return json_string(buf);
}

json_t *server_case_json(const case_row *c)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o,"
                     " s:b, s:s, s:s}",
                     "id", (json_int_t)c->id, "kind", c->kind, "source", c->source, "title",
                     c->title, "category", c->category, "urgency", c->urgency, "status", c->status,
                     "status_label", case_status_label(c->status), "level", c->level, "unit",
                     c->unit, "unit_name", c->unit_name, "priority", c->priority, "department",
                     c->department, "opened_at", time_or_null(c->opened_at), "due_at",
                     time_or_null(c->due_at), "overdue", c->overdue, "stage", c->stage, "origin",
                     c->origin);
}

/* The scope of a list for who, or an answer (403) when unit is outside. */
static int list_scope(const server_caller *who, const char *unit, case_filter *f, server_reply *r)
{
    if (server_role_is(who, "department"))
        f->department = who->id.department;
    else if (!server_role_is(who, "admin,district"))
        f->scope = who->prefix;
    if (unit && unit[0] && !server_in_scope(who, unit)) {
        server_forbidden(r, "unit outside your area / 单位不在本辖区");
        return 403;
    }
    return 0;
}

static long query_long(const server_call *call, const char *name, long def, long max)
{
    const char *v = server_query(call, name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 0)
        return -1;
    return n > max ? max : n;
}

struct items {
    json_t *arr;
};

static int on_item(void *ctx, const case_row *c)
{
    struct items *it = ctx;
    return json_array_append_new(it->arr, server_case_json(c)) ? NY_ERR : NY_OK;
}

void server_cases_list(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    ny_err e;
    case_filter f = {.status = server_query(call, "status"),
                     .level = server_query(call, "level"),
                     .unit = server_query(call, "unit"),
                     .category = server_query(call, "category"),
                     .q = server_query(call, "q"),
                     .kind = server_query(call, "kind"),
                     .overdue = -1};
    const char *od = server_query(call, "overdue");
    if (od && *od)
        f.overdue = strcmp(od, "1") == 0 || strcmp(od, "true") == 0;
    f.limit = query_long(call, "limit", 50, 500);
    f.offset = query_long(call, "offset", 0, 1L << 40);
    if (f.limit < 1 || f.offset < 0) {
        server_error(r, 422, "limit and offset must be whole numbers / 分页参数错误",
                     f.limit < 1 ? "limit" : "offset", -1);
        return;
    }
    if (list_scope(&who, f.unit, &f, r))
        return;
    if (f.q && strlen(f.q) > 200) {
        server_error(r, 422, "q too long / 搜索词过长", "q", -1);
        return;
    }
    server_worker *w = server_worker_get(sv, &e);
    struct items it = {json_array()};
    long total = 0;
    int rc = w ? store_case_list(w->db, &f, on_item, &it, &total, &e) : NY_EUNAVAIL;
    if (rc != NY_OK) {
        json_decref(it.arr);
        server_store_error(r, rc, &e);
        return;
    }
    server_json(r, json_pack("{s:o, s:I, s:I, s:I}", "items", it.arr, "total", (json_int_t)total,
                             "limit", (json_int_t)f.limit, "offset", (json_int_t)f.offset));
}

static int on_event(void *ctx, const case_event *ev)
{
    json_t *arr = ctx;
    json_t *changes = json_loads(ev->changes, 0, NULL);
    json_t *j = json_pack("{s:I, s:o, s:s, s:s, s:o, s:s}", "id", (json_int_t)ev->id, "at",
                          time_or_null(ev->at), "actor", ev->actor, "action", ev->action, "changes",
                          changes ? changes : json_object(), "note", ev->note);
    return json_array_append_new(arr, j) ? NY_ERR : NY_OK;
}

static int on_reporter(void *ctx, const case_reporter *rep)
{
    json_t *arr = ctx;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "group", rep->group, "group_name",
                          rep->group_name, "sender_id", rep->sender_id, "sender_name",
                          rep->sender_name, "at", time_or_null(rep->at));
    if (j && rep->message_id)
        json_object_set_new(j, "message_id", json_integer(rep->message_id));
    return json_array_append_new(arr, j) ? NY_ERR : NY_OK;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* One message that started the case, shaped as GET /messages gives it. */
static int on_msg(void *ctx, const case_msg *m)
{
    json_t *triage = m->triage ? json_loads(m->triage, 0, NULL) : NULL;
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:o, s:o, s:o}", "id", (json_int_t)m->id, "group",
        m->group, "group_name", m->group_name, "sender", "id", m->sender_id, "name", m->sender_name,
        "sent_at", time_or_null(m->sent_at), "text", m->text, "intent", str_or_null(m->intent),
        "category", str_or_null(m->category), "triage", triage ? triage : json_null());
    return json_array_append_new(ctx, j) ? NY_ERR : NY_OK;
}

/* The full case as GET /cases/{id} gives it, or NULL with *e. */
static json_t *case_detail(server *sv, store *db, const case_row *c, const case_actor *a, ny_err *e)
{
    json_t *j = server_case_json(c), *events = json_array(), *reps = json_array();
    json_t *msgs = json_array();
    const sla *s = server_cases_sla(sv);
    int rc = j && events && reps && msgs ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
    if (rc == NY_OK)
        rc = store_case_events(db, c->id, on_event, events, e);
    if (rc == NY_OK)
        rc = store_case_reporters(db, c->id, on_reporter, reps, e);
    if (rc == NY_OK)
        rc = store_case_msgs(db, c->id, 50, on_msg, msgs, e);
    if (rc != NY_OK) {
        json_decref(j);
        json_decref(events);
        json_decref(reps);
        json_decref(msgs);
        return NULL;
    }
    int64_t now = server_now(sv);
    int stage = strcmp(c->stage, "accept") == 0    ? SLA_ACCEPT
                : strcmp(c->stage, "resolve") == 0 ? SLA_RESOLVE
                                                   : SLA_VERIFY;
    json_t *slaj = json_pack(
        "{s:s, s:o, s:o, s:b}", "stage", c->stage, "due_at", time_or_null(c->due_at),
        "working_minutes_left",
        c->due_at
            ? json_integer(sla_left(s, sla_get(s, c->urgency, c->category, stage), now, c->due_at) /
                           60)
            : json_null(),
        "overdue", c->overdue);
    char allowed[512];
    case_allowed_json(case_allowed(c, a), allowed, sizeof allowed);
    json_t *more = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:o,"
        " s:s, s:o, s:o, s:o, s:o}",
        "description", c->description, "location", c->location, "photo_url", c->photo_url,
        "reporter", c->reporter, "accepted_at", time_or_null(c->accepted_at), "resolved_at",
        time_or_null(c->resolved_at), "verified_at", time_or_null(c->verified_at), "closed_at",
        time_or_null(c->closed_at), "satisfaction",
        c->satisfaction ? json_integer(c->satisfaction) : json_null(), "reopen_count",
        c->reopen_count, "version", (int)c->version, "merged_into",
        c->merged_into ? json_integer(c->merged_into) : json_null(), "resolved_by", c->resolved_by,
        "events", events, "reporters", reps, "sla", slaj, "allowed", json_loads(allowed, 0, NULL));
    if (!more || json_object_update(j, more)) {
        json_decref(more);
        json_decref(j);
        json_decref(msgs);
        ny_err_set(e, NY_ERR, "out of memory");
        return NULL;
    }
    json_decref(more);
    if (json_object_set_new(j, "messages", msgs)) {
        json_decref(j);
        ny_err_set(e, NY_ERR, "out of memory");
        return NULL;
    }
    return j;
}

/* Answers r with c's detail after waking the case feed (so the events of
 * what just happened reach the live stream at once); frees c. */
static void answer_detail(server *sv, store *db, case_row *c, const case_actor *a, server_reply *r)
{
    ny_err e;
    server_cases_poke(sv);
    json_t *j = case_detail(sv, db, c, a, &e);
    case_row_free(c);
    if (!j)
        server_store_error(r, NY_ERR, &e);
    else
        server_json(r, j);
}

/* The case id in call->params[0], or 0 with r answered 404. */
static int64_t path_id(const server_call *call, server_reply *r)
{
    char *end;
    long long id = strtoll(call->params[0], &end, 10);
    if (*end || id <= 0) {
        server_error(r, 404, "没有这个案件 / no such case", NULL, -1);
        return 0;
    }
    return (int64_t)id;
}

void server_case_get(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    int64_t id = path_id(call, r);
    if (!id)
        return;
    ny_err e;
    case_actor a;
    server_case_actor(&who, &a);
    server_worker *w = server_worker_get(sv, &e);
    case_row c;
    int rc = w ? store_case_load(w->db, id, &c, &e) : NY_EUNAVAIL;
    if (rc == NY_OK && !case_visible(&c, &a)) {
        case_row_free(&c);
        rc = ny_err_set(&e, NY_ENOTFOUND, "没有这个案件 / no such case: %lld", (long long)id);
    }
    if (rc != NY_OK) {
        server_store_error(r, rc, &e);
        return;
    }
    answer_detail(sv, w->db, &c, &a, r);
}

/* A text field of body: NULL when absent; *bad set when present but not a
 * string or longer than max bytes. */
static const char *text_field(json_t *body, const char *name, size_t max, const char **bad)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) > max) {
        if (!*bad)
            *bad = name;
        return NULL;
    }
    return json_string_value(v);
}

void server_cases_post(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    json_t *body = server_body_object(call, r);
    if (!body)
        return;
    const char *bad = NULL;
    const char *source = text_field(body, "source", 16, &bad);
    const char *title = text_field(body, "title", 300, &bad);
    const char *desc = text_field(body, "description", 8000, &bad);
    const char *category = text_field(body, "category", 64, &bad);
    const char *unit = text_field(body, "unit", 20, &bad);
    const char *location = text_field(body, "location", 500, &bad);
    const char *reporter = text_field(body, "reporter", 100, &bad);
    const char *photo = text_field(body, "photo_url", 1000, &bad);
    const char *kind = text_field(body, "kind", 16, &bad);
    const char *urgency = text_field(body, "urgency", 16, &bad);
    const char *due = text_field(body, "due_at", 40, &bad);
    static const char *const sources[] = {"walk_in", "phone", "patrol", "hotline", NULL};
    static const char *const kinds[] = {"case", "rectification", NULL};
    static const char *const urgencies[] = {"emergency", "utility", "general", "complex", NULL};
    int64_t due_at = 0;
    if (!bad && domain_index(sources, source) < 0)
        bad = "source";
    if (!bad && (!title || !title[0]))
        bad = "title";
    if (!bad && domain_index(domain_categories, category) < 0)
        bad = "category";
    if (!bad && (!unit || !unit[0]))
        bad = "unit";
    if (!bad && kind && domain_index(kinds, kind) < 0)
        bad = "kind";
    if (!bad && urgency && domain_index(urgencies, urgency) < 0)
        bad = "urgency";
    if (!bad && due && server_parse_time(due, &due_at) != NY_OK)
        bad = "due_at";
    if (bad) {
        char msg[200];
        snprintf(msg, sizeof msg, "字段 %s 缺失或不正确 / field %s is missing or wrong", bad, bad);
        server_error(r, 422, msg, bad, -1);
        json_decref(body);
        return;
    }
    if (!server_in_scope(&who, unit)) {
        server_forbidden(r, "unit outside your area / 单位不在本辖区");
        json_decref(body);
        return;
    }
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    case_row c = {0};
    snprintf(c.kind, sizeof c.kind, "%s", kind ? kind : "case");
    snprintf(c.source, sizeof c.source, "%s", source);
    snprintf(c.category, sizeof c.category, "%s", category);
    snprintf(c.urgency, sizeof c.urgency, "%s", urgency ? urgency : "general");
    snprintf(c.unit, sizeof c.unit, "%s", unit);
    int rc = w ? NY_OK : NY_EUNAVAIL;
    if (rc == NY_OK &&
        (case_row_set(&c.title, title, &e) || case_row_set(&c.description, desc, &e) ||
         case_row_set(&c.location, location, &e) || case_row_set(&c.photo_url, photo, &e) ||
         case_row_set(&c.reporter, reporter, &e)))
        rc = NY_ERR;
    case_actor a;
    server_case_actor(&who, &a);
    int64_t now = server_now(sv);
    if (rc == NY_OK)
        rc = store_begin(w->db, &e);
    if (rc == NY_OK) {
        c.due_at = due_at;
        rc = case_open(w->db, server_cases_sla(sv), &c, &a, now, &e);
        if (rc == NY_OK)
            rc = store_commit(w->db, &e);
        if (rc != NY_OK) {
            ny_err keep = e;
            store_rollback(w->db, NULL);
            e = keep;
        }
    }
    json_decref(body);
    if (rc == NY_ENOTFOUND) /* the unit */
        rc = NY_EINVAL;
    if (rc != NY_OK) {
        server_store_error(r, rc, &e);
        case_row_free(&c);
        return;
    }
    answer_detail(sv, w->db, &c, &a, r); /* its "report" event goes to the live stream now */
    if (r->status == 200)
        r->status = 201;
}

/* A rating as a number 1..5 or the words 满意/基本满意/不满意; 0 = none,
 * -1 = bad. */
static int rating_of(json_t *v)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v))
        return json_integer_value(v) >= 1 && json_integer_value(v) <= 5 ? (int)json_integer_value(v)
                                                                        : -1;
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    return strcmp(s, "满意") == 0       ? 5
           : strcmp(s, "基本满意") == 0 ? 3
           : strcmp(s, "不满意") == 0   ? 1
                                        : -1;
}

void server_case_action(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    int64_t id = path_id(call, r);
    if (!id)
        return;
    json_t *body = server_body_object(call, r);
    if (!body)
        return;
    const char *bad = NULL;
    case_request req = {.action = domain_index(case_action_names,
                                               json_string_value(json_object_get(body, "action"))),
                        .note = text_field(body, "note", 2000, &bad),
                        .photo_url = text_field(body, "photo_url", 1000, &bad),
                        .unit = text_field(body, "unit", 20, &bad),
                        .department = text_field(body, "department", 120, &bad),
                        .rating = rating_of(json_object_get(body, "rating"))};
    json_t *into = json_object_get(body, "into");
    if (into && !json_is_integer(into) && !bad)
        bad = "into";
    req.into = into ? (int64_t)json_integer_value(into) : 0;
    if (req.action < 0)
        bad = "action";
    if (!bad && req.rating < 0)
        bad = "rating";
    if (bad) {
        char msg[300];
        snprintf(msg, sizeof msg, "字段 %s 缺失或不正确 / field %s is missing or wrong%s", bad, bad,
                 strcmp(bad, "action") == 0 ? " (accept, start, resolve, handle_on_spot, verify,"
                                              " close, return, suspend, resume, supervise,"
                                              " escalate, reopen, reassign, merge)"
                                            : "");
        server_error(r, 422, msg, bad, -1);
        json_decref(body);
        return;
    }
    ny_err e;
    case_actor a;
    server_case_actor(&who, &a);
    server_worker *w = server_worker_get(sv, &e);
    unsigned allowed = 0;
    case_row c;
    int rc =
        w ? case_act(w->db, server_cases_sla(sv), id, &a, &req, server_now(sv), &allowed, &c, &e)
          : NY_EUNAVAIL;
    json_decref(body);
    if (rc == NY_ECONFLICT && strstr(e.msg, "allowed")) {
        char list[512];
        case_allowed_json(allowed, list, sizeof list);
        server_error(r, 409, e.msg, "action", -1);
        json_t *j = json_loads(r->body, 0, NULL);
        json_object_set_new(j, "allowed", json_loads(list, 0, NULL));
        server_json(r, j);
        r->status = 409;
        return;
    }
    if (rc != NY_OK) {
        server_store_error(r, rc, &e);
        return;
    }
    answer_detail(sv, w->db, &c, &a, r);
}
