/* server_api_lists.c - GET /api/v1/messages and GET /api/v1/leads: a unit
 * subtree's chat messages (search by text, group and time) and leads
 * (filter by intent, category, group and time), newest first, a page at a
 * time.
 *
 * Both lists go through api_unit_filter (the caller's subtree, or a unit in
 * it; 403 outside) and store_browse_*, which applies the subtree as a code
 * range in SQL. A message's stored triage result is returned as JSON. */
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "server_api.h"
#include "store_browse.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int on_message(void *ctx, const store_browse_row *m)
{
    char at[40];
    json_t *triage = m->triage ? json_loads(m->triage, 0, NULL) : NULL;
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:o, s:o, s:o}", "id",
                          (json_int_t)m->id, "group", m->group, "group_name", m->group_name, "unit",
                          m->unit_code, "unit_name", m->unit_name, "sender", "id", m->sender_id,
                          "name", m->sender_name, "sent_at", api_time(m->time, at, sizeof at),
                          "text", m->text, "intent", str_or_null(m->intent), "category",
                          str_or_null(m->category), "triage", triage ? triage : json_null());
    return json_array_append_new(ctx, o) == 0 ? NY_OK : NY_ERR;
}

static int on_lead(void *ctx, const store_browse_row *l)
{
    char at[40];
    json_t *o =
        json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)l->id,
                  "message_id", (json_int_t)l->message_id, "text", l->text, "group", l->group,
                  "unit", l->unit_code, "unit_name", l->unit_name, "intent", l->intent, "category",
                  l->category, "created_at", api_time(l->time, at, sizeof at), "case_id",
                  l->case_id ? json_integer(l->case_id) : json_null());
    return json_array_append_new(ctx, o) == 0 ? NY_OK : NY_ERR;
}

/* 1 when v is absent, empty or one of the NULL-terminated list. */
static int one_of(const char *v, const char *const *list)
{
    if (!v || !*v)
        return 1;
    for (size_t i = 0; list[i]; i++)
        if (strcmp(v, list[i]) == 0)
            return 1;
    return 0;
}

/* The common start of both lists: caller, worker, subtree, page, range. */
static int start(server *sv, const server_call *call, server_reply *r, server_worker **w,
                 api_unit *u, store_browse_q *q)
{
    server_caller who;
    long limit, offset;
    int64_t from, to;
    if (api_begin(sv, call, &who, w, r) != NY_OK ||
        api_unit_filter(*w, call, &who, u, r) != NY_OK ||
        api_page(call, &limit, &offset, r) != NY_OK || api_range(call, &from, &to, r) != NY_OK)
        return NY_EINVAL;
    memset(q, 0, sizeof *q);
    q->code_lo = u->lo;
    q->code_hi = u->hi;
    q->group = server_query(call, "group");
    q->from = from;
    q->to = to;
    q->limit = limit;
    q->offset = offset;
    return NY_OK;
}

static void finish(server_reply *r, int rc, const ny_err *e, json_t *items, int64_t total,
                   const store_browse_q *q)
{
    if (rc != NY_OK) {
        json_decref(items);
        server_store_error(r, rc, e);
        return;
    }
    api_list(r, items, total, q->limit, q->offset);
}

void api_messages(server *sv, const server_call *call, server_reply *r)
{
    server_worker *w;
    api_unit u;
    store_browse_q q;
    if (start(sv, call, r, &w, &u, &q) != NY_OK)
        return;
    q.text = server_query(call, "q");
    if (q.text && strlen(q.text) > 200) {
        server_error(r, 422, "搜索词过长 / q is longer than 200 bytes", "q", -1);
        return;
    }
    json_t *items = json_array();
    int64_t total = 0;
    ny_err e;
    int rc = store_browse_messages(w->db, &q, on_message, items, &total, &e);
    finish(r, rc, &e, items, total, &q);
}

void api_leads(server *sv, const server_call *call, server_reply *r)
{
    server_worker *w;
    api_unit u;
    store_browse_q q;
    if (start(sv, call, r, &w, &u, &q) != NY_OK)
        return;
    q.intent = server_query(call, "intent");
    q.category = server_query(call, "category");
    if (!one_of(q.intent, domain_intents)) {
        server_error(r, 422, "未知的意图 / unknown intent", "intent", -1);
        return;
    }
    if (!one_of(q.category, domain_categories)) {
        server_error(r, 422, "未知的类别 / unknown category", "category", -1);
        return;
    }
    json_t *items = json_array();
    int64_t total = 0;
    ny_err e;
    int rc = store_browse_leads(w->db, &q, on_lead, items, &total, &e);
    finish(r, rc, &e, items, total, &q);
}
