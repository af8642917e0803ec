/* server_notices.c - notices (群发通知) and the outbox over HTTP.
 *
 * POST /api/v1/notices {text, scope, kinds, at?} fans a notice out, in one
 * transaction, to every group of the given kinds under the scope unit: one
 * outbox row per group (key "notice:<id>:<group id>", due at the notice's
 * time, so a scheduled notice needs nothing but the outbox) and one
 * delivery row pointing at it. The scope must lie in the sender's subtree
 * (403 otherwise). GET /api/v1/notices and /api/v1/notices/{id} report
 * delivery per group, read from the outbox rows; notices outside the
 * caller's subtree are left out or answer 404. GET /api/v1/outbox (admin
 * and district) lists outbound rows with their last error, and POST
 * /api/v1/outbox/{id}/retry (admin) puts a dead letter back in the queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "outbox.h"
#include "server_int.h"
#include "store_outbox.h"

/* Most groups one notice reaches (the whole demo district has 851). */
#define MAX_FANOUT 20000
/* Longest notice text in bytes, and how far ahead one may be scheduled. */
#define NOTICE_TEXT_MAX 4000
#define NOTICE_AHEAD_MAX (90 * 86400)

/* Unix seconds as district time, "2026-05-01T08:30:00+08:00"; null for 0. */
static json_t *iso(int64_t t)
{
    if (!t)
        return json_null();
    time_t local = (time_t)(t + 8 * 3600);
    struct tm tm;
    char buf[40];
    gmtime_r(&local, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
    return json_string(buf);
}

/* The code prefix of what who may see: "" for the whole database. */
static const char *scope_prefix(const server_caller *who)
{
    return server_role_is(who, "admin,district,department") ? "" : who->prefix;
}

/* ?limit= and ?offset= (defaults 50 and 0, limit at most 500); 0 or the
 * 422 status already answered. */
static int paging(const server_call *call, long *limit, long *offset, server_reply *r)
{
    const char *l = server_query(call, "limit"), *o = server_query(call, "offset");
    char *end;
    *limit = l ? strtol(l, &end, 10) : 50;
    if (l && (*end || *limit < 1 || *limit > 500))
        return server_error(r, 422, "limit 须为 1..500 / limit must be 1..500", "limit", -1);
    *offset = o ? strtol(o, &end, 10) : 0;
    if (o && (*end || *offset < 0))
        return server_error(r, 422, "offset 须为非负整数 / offset must be >= 0", "offset", -1);
    return 0;
}

static server_worker *worker(server *sv, server_reply *r)
{
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    if (!w)
        server_error(r, 503, e.msg, NULL, -1);
    return w;
}

/* ---- POST /api/v1/notices ------------------------------------------------- */

/* The checked request. */
typedef struct notice_req {
    const char *text, *scope;
    char kinds[32];
    int64_t send_at;
} notice_req;

static int check_notice(server *sv, json_t *b, const server_caller *who, notice_req *q,
                        server_reply *r)
{
    json_t *text = json_object_get(b, "text");
    q->text = json_string_value(text);
    if (!q->text || !*q->text || json_string_length(text) > NOTICE_TEXT_MAX ||
        strlen(q->text) != json_string_length(text))
        return server_error(r, 422, "通知内容须为 1..4000 字节的文本 / text must be 1..4000 bytes",
                            "text", -1);
    q->scope = json_string_value(json_object_get(b, "scope"));
    if (!q->scope || (strlen(q->scope) != 12 && strlen(q->scope) != 15) ||
        strspn(q->scope, "0123456789") != strlen(q->scope))
        return server_error(r, 422, "范围须为单位代码 / scope must be a unit code", "scope", -1);
    if (!server_in_scope(who, q->scope))
        return server_forbidden(r, "范围超出本人辖区 / scope is outside your own area");
    json_t *kinds = json_object_get(b, "kinds");
    int res = 0, ent = 0, bad = !json_is_array(kinds) || json_array_size(kinds) == 0;
    for (size_t i = 0; !bad && i < json_array_size(kinds); i++) {
        const char *k = json_string_value(json_array_get(kinds, i));
        res |= k && strcmp(k, "resident") == 0;
        ent |= k && strcmp(k, "enterprise") == 0;
        bad = !k || (strcmp(k, "resident") != 0 && strcmp(k, "enterprise") != 0);
    }
    if (bad)
        return server_error(r, 422,
                            "群类型须为 resident 和/或 enterprise / kinds must list resident "
                            "and/or enterprise",
                            "kinds", -1);
    snprintf(q->kinds, sizeof q->kinds, "%s%s%s", res ? "resident" : "", res && ent ? "," : "",
             ent ? "enterprise" : "");
    json_t *at = json_object_get(b, "at");
    int64_t now = server_now(sv);
    q->send_at = now;
    if (at && !json_is_null(at)) {
        if (!json_is_string(at) || server_parse_time(json_string_value(at), &q->send_at) != NY_OK)
            return server_error(
                r, 422, "发送时间须为带时区的 ISO-8601 / at must be ISO-8601 with an offset", "at",
                -1);
        if (q->send_at > now + NOTICE_AHEAD_MAX)
            return server_error(r, 422, "最多提前 90 天预约 / at is more than 90 days ahead", "at",
                                -1);
        if (q->send_at < now)
            q->send_at = now;
    }
    return 0;
}

struct fanout {
    int64_t *ids;
    size_t n, cap;
};

static int on_group(void *ctx, int64_t id)
{
    struct fanout *f = ctx;
    if (f->n == MAX_FANOUT)
        return NY_EINVAL;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        int64_t *p = realloc(f->ids, cap * sizeof *p);
        if (!p)
            return NY_ERR;
        f->ids = p;
        f->cap = cap;
    }
    f->ids[f->n++] = id;
    return NY_OK;
}

/* Writes the notice, its outbox rows and deliveries (inside a transaction). */
static int fan_out(server *sv, store *db, const server_caller *who, const notice_req *q,
                   struct fanout *f, int64_t *id, ny_err *e)
{
    char prefix[32];
    int64_t wall = (int64_t)time(NULL), now = server_now(sv);
    size_t len = strlen(q->scope);
    const char *level = len == 15                             ? "grid"
                        : strcmp(q->scope + 6, "000000") == 0 ? "district"
                        : strcmp(q->scope + 9, "000") == 0    ? "street"
                                                              : "community";
    int rc = domain_unit_prefix(level, q->scope, prefix, sizeof prefix);
    if (rc != NY_OK)
        return ny_err_set(e, NY_EINVAL, "scope is not a unit code");
    rc = store_notice_put(db, who->id.account, q->scope, q->kinds, q->text, now, q->send_at, id, e);
    if (rc == NY_OK)
        rc = store_notice_groups(db, prefix, q->kinds, on_group, f, e);
    if (rc == NY_EINVAL && f->n == MAX_FANOUT)
        ny_err_set(e, NY_EINVAL, "a notice may reach at most %d groups", MAX_FANOUT);
    /* the outbox works in wall time; a test clock only moves the report */
    int64_t due = wall + (q->send_at - now);
    for (size_t i = 0; rc == NY_OK && i < f->n; i++) {
        char key[64];
        int64_t ob = 0;
        snprintf(key, sizeof key, "notice:%lld:%lld", (long long)*id, (long long)f->ids[i]);
        outbox_item it = {key,  "notice", NULL, NULL, NULL, f->ids[i],
                          NULL, q->text,  NULL, 0,    2,    due};
        rc = outbox_enqueue(db, &it, wall, &ob, NULL, e);
        if (rc == NY_EINVAL) /* a malformed robot address: recorded as failed */
            rc = NY_OK;
        if (rc == NY_OK)
            rc = store_notice_delivery_put(db, *id, f->ids[i], ob, now, e);
    }
    return rc;
}

void server_notice_create(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    json_t *b = server_body_object(call, r);
    notice_req q;
    server_worker *w;
    if (!b || check_notice(sv, b, &who, &q, r) || !(w = worker(sv, r))) {
        json_decref(b);
        return;
    }
    ny_err e;
    struct fanout f = {0};
    int64_t id = 0;
    int rc = store_begin(w->db, &e);
    if (rc == NY_OK) {
        rc = fan_out(sv, w->db, &who, &q, &f, &id, &e);
        if (rc == NY_OK)
            rc = store_commit(w->db, &e);
        else
            store_rollback(w->db, NULL);
    }
    if (rc == NY_OK) {
        outbox_wake(sv->outbox);
        server_json(r, json_pack("{s:I, s:I, s:s}", "id", (json_int_t)id, "groups", (json_int_t)f.n,
                                 "status", q.send_at > server_now(sv) ? "scheduled" : "sending"));
    } else if (rc == NY_ENOTFOUND) {
        server_error(r, 422, "没有这个单位 / no such unit", "scope", -1);
    } else {
        server_store_error(r, rc, &e);
    }
    free(f.ids);
    json_decref(b);
}

/* ---- GET /api/v1/notices, /api/v1/notices/{id} ------------------------------- */

struct report {
    server *sv;
    json_t *list, *one;
    const server_caller *who;
};

static json_t *notice_json(server *sv, const store_notice *n)
{
    const char *status = n->send_at > server_now(sv) ? "scheduled"
                         : n->pending                ? "sending"
                                                     : "sent";
    json_t *kinds = json_array();
    if (strstr(n->kinds, "resident"))
        json_array_append_new(kinds, json_string("resident"));
    if (strstr(n->kinds, "enterprise"))
        json_array_append_new(kinds, json_string("enterprise"));
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:{s:I, s:I, s:I, s:I}}", "id",
                     (json_int_t)n->id, "text", n->text, "sender", n->sender, "scope", n->scope,
                     "scope_name", n->scope_name, "kinds", kinds, "created_at", iso(n->created_at),
                     "send_at", iso(n->send_at), "status", status, "counts", "pending",
                     (json_int_t)n->pending, "sent", (json_int_t)n->sent, "dead",
                     (json_int_t)n->dead, "failed", (json_int_t)n->failed);
}

static int on_notice(void *ctx, const store_notice *n)
{
    struct report *x = ctx;
    json_t *j = notice_json(x->sv, n);
    if (!j)
        return NY_ERR;
    if (x->list)
        return json_array_append_new(x->list, j) == 0 ? NY_OK : NY_ERR;
    if (!server_in_scope(x->who, n->scope)) {
        json_decref(j);
        return NY_ENOTFOUND;
    }
    x->one = j;
    json_object_set_new(j, "deliveries", json_array());
    return NY_OK;
}

static int on_delivery(void *ctx, const store_notice_delivery *d)
{
    struct report *x = ctx;
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "group", d->group, "group_name",
                          d->group_name, "status", d->status, "attempts", d->attempts, "last_error",
                          d->last_error, "sent_at", iso(d->sent_at));
    return j && json_array_append_new(json_object_get(x->one, "deliveries"), j) == 0 ? NY_OK
                                                                                     : NY_ERR;
}

void server_notices_list(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    long limit, offset, total = 0;
    server_worker *w;
    if (server_auth(sv, call, &who, r) != NY_OK || paging(call, &limit, &offset, r) ||
        !(w = worker(sv, r)))
        return;
    ny_err e;
    struct report x = {sv, json_array(), NULL, &who};
    int rc =
        store_notices_list(w->db, scope_prefix(&who), limit, offset, on_notice, &x, &total, &e);
    if (rc != NY_OK) {
        json_decref(x.list);
        server_store_error(r, rc, &e);
        return;
    }
    server_json(r, json_pack("{s:o, s:I, s:I, s:I}", "items", x.list, "total", (json_int_t)total,
                             "limit", (json_int_t)limit, "offset", (json_int_t)offset));
}

/* A path id: a positive integer, else 0. */
static int64_t path_id(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end || v <= 0 ? 0 : (int64_t)v;
}

void server_notice_get(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    if (server_auth(sv, call, &who, r) != NY_OK || !(w = worker(sv, r)))
        return;
    ny_err e;
    struct report x = {sv, NULL, NULL, &who};
    int64_t id = path_id(call->params[0]);
    int rc = id ? store_notice_get(w->db, id, on_notice, on_delivery, &x, &e) : NY_ENOTFOUND;
    if (rc == NY_OK && x.one) {
        server_json(r, x.one);
        return;
    }
    json_decref(x.one);
    if (rc == NY_ENOTFOUND)
        server_error(r, 404, "没有这条通知 / no such notice", NULL, -1);
    else
        server_store_error(r, rc, &e);
}

/* ---- the outbox ----------------------------------------------------------------- */

static int on_outbox(void *ctx, const store_outbox_row *o)
{
    json_t *j =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:o}", "id", (json_int_t)o->id,
                  "key", o->key, "kind", o->kind, "channel", o->channel, "status", o->status,
                  "attempts", o->attempts, "last_error", o->last_error, "next_at", iso(o->next_at),
                  "created_at", iso(o->created_at), "sent_at", iso(o->sent_at));
    return j && json_array_append_new(ctx, j) == 0 ? NY_OK : NY_ERR;
}

void server_outbox_list(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    long limit, offset, total = 0;
    server_worker *w;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    if (!server_role_is(&who, "admin,district")) {
        server_forbidden(r, "仅管理员和区级可查看 / only admin and district");
        return;
    }
    const char *status = server_query(call, "status");
    if (status && strcmp(status, "pending") != 0 && strcmp(status, "sending") != 0 &&
        strcmp(status, "sent") != 0 && strcmp(status, "dead") != 0) {
        server_error(r, 422, "状态须为 pending/sending/sent/dead / bad status", "status", -1);
        return;
    }
    if (paging(call, &limit, &offset, r) || !(w = worker(sv, r)))
        return;
    ny_err e;
    json_t *items = json_array();
    int rc = store_outbox_list(w->db, status, limit, offset, on_outbox, items, &total, &e);
    if (rc != NY_OK) {
        json_decref(items);
        server_store_error(r, rc, &e);
        return;
    }
    server_json(r, json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total,
                             "limit", (json_int_t)limit, "offset", (json_int_t)offset));
}

void server_outbox_retry(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    if (!server_role_is(&who, "admin")) {
        server_forbidden(r, "仅管理员可重发 / only an admin may retry");
        return;
    }
    if (!(w = worker(sv, r)))
        return;
    ny_err e;
    int64_t id = path_id(call->params[0]);
    int rc = id ? store_outbox_retry(w->db, id, (int64_t)time(NULL), &e) : NY_ENOTFOUND;
    if (rc == NY_OK) {
        outbox_wake(sv->outbox);
        server_json(r, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "pending"));
    } else if (rc == NY_ENOTFOUND) {
        server_error(r, 404, "没有这条外发消息 / no such outbox row", NULL, -1);
    } else if (rc == NY_ECONFLICT) {
        server_error(r, 409, "只有死信可以重发 / only a dead letter can be retried", NULL, -1);
    } else {
        server_store_error(r, rc, &e);
    }
}

/* ---- metrics ------------------------------------------------------------------ */

static void metric(FILE *f, const char *name, const char *type, const char *help, long v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %ld\n", name, help, name, type, name, v);
}

void server_outbox_metrics(server *sv, FILE *f)
{
    ny_err e;
    long waiting, dead;
    server_worker *w = server_worker_get(sv, &e);
    if (w && store_outbox_depth(w->db, &waiting, &dead, &e) == NY_OK) {
        metric(f, "nuanyang_outbox_depth", "gauge", "Outbound messages waiting to be sent.",
               waiting);
        metric(f, "nuanyang_outbox_dead", "gauge", "Outbound messages dead-lettered.", dead);
    }
    outbox_counts c;
    outbox_counts_get(sv->outbox, &c);
    metric(f, "nuanyang_outbox_sent_total", "counter", "Outbound messages delivered by this node.",
           c.sent);
    metric(f, "nuanyang_outbox_failures_total", "counter",
           "Failed delivery attempts on this node (each retried or dead-lettered).", c.failures);
    metric(f, "nuanyang_outbox_dead_letters_total", "counter",
           "Outbound messages this node dead-lettered.", c.dead);
    metric(f, "nuanyang_outbox_deferred_total", "counter",
           "Claims put back because a target's minute was full.", c.deferred);
}
