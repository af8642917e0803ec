/* server_api.c - the staff API's shared helpers and its unit and group
 * routes: GET /api/v1/units[/{code}] and GET /api/v1/groups.
 *
 * Every staff handler starts with api_begin (session and worker) and, for
 * lists, api_unit_filter: without ?unit= a list covers the caller's own
 * subtree; a unit outside the caller's scope is 403 before anything is
 * read, so the answer does not even say whether it exists. Storage queries
 * (store_browse.h) take the subtree as a code range, so scope is applied
 * inside the SQL, and a single object outside the scope answers 404 like a
 * missing one. */
#include "server_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "store_browse.h"

int api_begin(server *sv, const server_call *call, server_caller *who, server_worker **w,
              server_reply *r)
{
    int rc = server_auth(sv, call, who, r);
    if (rc != NY_OK)
        return rc;
    ny_err e;
    if (!(*w = server_worker_get(sv, &e))) {
        server_error(r, 503, e.msg, NULL, -1);
        return NY_EUNAVAIL;
    }
    return NY_OK;
}

static int on_unit(void *ctx, const store_unit *su)
{
    api_unit *u = ctx;
    snprintf(u->code, sizeof u->code, "%s", su->code);
    snprintf(u->name, sizeof u->name, "%s", su->name);
    snprintf(u->level, sizeof u->level, "%s", su->level);
    u->id = su->id;
    if (domain_unit_prefix(su->level, su->code, u->lo, sizeof u->lo) != NY_OK)
        return NY_EINVAL;
    snprintf(u->hi, sizeof u->hi, "%s:", u->lo);
    return NY_OK;
}

int api_unit_load(server_worker *w, const char *code, api_unit *u, ny_err *e)
{
    memset(u, 0, sizeof *u);
    return store_unit_get(w->db, code, on_unit, u, e);
}

int api_unit_filter(server_worker *w, const server_call *call, const server_caller *who,
                    api_unit *u, server_reply *r)
{
    const char *code = server_query(call, "unit");
    if (!code || !*code)
        code = who->id.unit_code;
    size_t n = strlen(code);
    if (!server_in_scope(who, code)) { /* first: outside the scope says nothing more */
        server_forbidden(r, "该单位不在您的管辖范围 / unit outside your scope");
        return NY_EINVAL;
    }
    if (n < 12 || n > 15 || strspn(code, "0123456789") != n) {
        server_error(r, 422, "单位代码格式错误 / unit must be a 12- or 15-digit code", "unit", -1);
        return NY_EINVAL;
    }
    ny_err e;
    int rc = api_unit_load(w, code, u, &e);
    if (rc == NY_ENOTFOUND)
        server_error(r, 404, "没有该单位 / no such unit", "unit", -1);
    else if (rc != NY_OK)
        server_store_error(r, rc, &e);
    return rc;
}

/* A non-negative integer query argument in [lo, hi], or def when absent. */
static int int_arg(const server_call *call, const char *name, long def, long lo, long hi, long *out,
                   server_reply *r)
{
    const char *v = server_query(call, name);
    *out = def;
    if (!v)
        return NY_OK;
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "参数 %s 应为 %ld 到 %ld 的整数 / %s must be an integer in %ld..%ld", name, lo, hi,
                 name, lo, hi);
        server_error(r, 422, msg, name, -1);
        return NY_EINVAL;
    }
    *out = x;
    return NY_OK;
}

int api_page(const server_call *call, long *limit, long *offset, server_reply *r)
{
    int rc = int_arg(call, "limit", 50, 1, 500, limit, r);
    return rc == NY_OK ? int_arg(call, "offset", 0, 0, 100000000, offset, r) : rc;
}

/* A date "YYYY-MM-DD" as midnight China time, or an ISO-8601 time. */
static int parse_when(const char *s, int64_t *out)
{
    int y, m, d;
    char tail;
    if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
        char iso[40];
        snprintf(iso, sizeof iso, "%04d-%02d-%02dT00:00:00+08:00", y, m, d);
        return server_parse_time(iso, out);
    }
    return server_parse_time(s, out);
}

int api_range(const server_call *call, int64_t *from, int64_t *to, server_reply *r)
{
    const char *names[2] = {"from", "to"};
    int64_t *outs[2] = {from, to};
    for (int i = 0; i < 2; i++) {
        const char *v = server_query(call, names[i]);
        *outs[i] = 0;
        if (v && parse_when(v, outs[i]) != NY_OK) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "%s 应为日期或带时区的时间 / %s must be a date (2026-05-01) or an ISO-8601 "
                     "time with offset",
                     names[i], names[i]);
            server_error(r, 422, msg, names[i], -1);
            return NY_EINVAL;
        }
    }
    if (*from && *to && *from >= *to) {
        server_error(r, 422, "from 须早于 to / from must be before to", "to", -1);
        return NY_EINVAL;
    }
    return NY_OK;
}

const char *api_time(int64_t t, char *buf, size_t n)
{
    time_t local = (time_t)(t + API_UTC_OFFSET);
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
    return buf;
}

void api_list(server_reply *r, json_t *items, int64_t total, long limit, long offset)
{
    server_json(r, json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total", (json_int_t)total,
                             "limit", (int)limit, "offset", (int)offset));
}

/* ---- units ------------------------------------------------------------------ */

static json_t *unit_brief(const char *code, const char *name, const char *level)
{
    return json_pack("{s:s, s:s, s:s}", "code", code, "name", name, "level", level);
}

static int on_child(void *ctx, const store_unit *u)
{
    return json_array_append_new(ctx, unit_brief(u->code, u->name, u->level)) == 0 ? NY_OK : NY_ERR;
}

struct parent {
    char code[32];
};

static int on_parent(void *ctx, const store_unit *u)
{
    struct parent *p = ctx;
    snprintf(p->code, sizeof p->code, "%s", u->parent_code ? u->parent_code : "");
    return NY_OK;
}

/* The unit document of code, in who's scope, or an error answer. */
static void unit_doc(server *sv, const server_call *call, server_reply *r, const char *code)
{
    server_caller who;
    server_worker *w;
    if (api_begin(sv, call, &who, &w, r) != NY_OK)
        return;
    if (!code)
        code = who.id.unit_code;
    ny_err e;
    api_unit u;
    struct parent par = {""};
    int rc = server_in_scope(&who, code) ? api_unit_load(w, code, &u, &e) : NY_ENOTFOUND;
    if (rc == NY_OK)
        rc = store_unit_get(w->db, code, on_parent, &par, &e);
    if (rc == NY_ENOTFOUND) {
        server_error(r, 404, "没有该单位 / no such unit", NULL, -1);
        return;
    }
    json_t *path = json_array(), *kids = json_array();
    /* the path from the district down to the unit (at most four levels) */
    char at[32];
    snprintf(at, sizeof at, "%s", code);
    for (int depth = 0; rc == NY_OK && at[0] && depth < 8; depth++) {
        api_unit a;
        struct parent up = {""};
        rc = api_unit_load(w, at, &a, &e);
        if (rc == NY_OK)
            rc = store_unit_get(w->db, at, on_parent, &up, &e);
        if (rc == NY_OK)
            json_array_insert_new(path, 0, unit_brief(a.code, a.name, a.level));
        snprintf(at, sizeof at, "%s", up.code);
    }
    if (rc == NY_OK)
        rc = store_unit_children(w->db, code, on_child, kids, &e);
    if (rc != NY_OK) {
        json_decref(path);
        json_decref(kids);
        server_store_error(r, rc, &e);
        return;
    }
    server_json(r,
                json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "code", u.code, "name", u.name, "level",
                          u.level, "parent", par.code[0] ? json_string(par.code) : json_null(),
                          "path", path, "children", kids));
}

void api_units_get(server *sv, const server_call *call, server_reply *r)
{
    unit_doc(sv, call, r, NULL);
}

void api_unit_get(server *sv, const server_call *call, server_reply *r)
{
    unit_doc(sv, call, r, call->params[0]);
}

/* ---- groups ------------------------------------------------------------------ */

static int on_group(void *ctx, const store_browse_row *g)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "external_id", g->group, "platform",
                  g->platform, "name", g->group_name, "kind", g->kind, "unit", g->unit_code,
                  "unit_name", g->unit_name, "members", (json_int_t)g->members);
    return json_array_append_new(ctx, o) == 0 ? NY_OK : NY_ERR;
}

void api_groups(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    api_unit u;
    long limit, offset;
    if (api_begin(sv, call, &who, &w, r) != NY_OK ||
        api_unit_filter(w, call, &who, &u, r) != NY_OK ||
        api_page(call, &limit, &offset, r) != NY_OK)
        return;
    const char *kind = server_query(call, "kind");
    if (kind && *kind && strcmp(kind, "resident") != 0 && strcmp(kind, "enterprise") != 0) {
        server_error(r, 422,
                     "kind 应为 resident 或 enterprise / kind must be resident or enterprise",
                     "kind", -1);
        return;
    }
    store_browse_q q = {
        .code_lo = u.lo, .code_hi = u.hi, .kind = kind, .limit = limit, .offset = offset};
    json_t *items = json_array();
    int64_t total = 0;
    ny_err e;
    int rc = store_browse_groups(w->db, &q, on_group, items, &total, &e);
    if (rc != NY_OK) {
        json_decref(items);
        server_store_error(r, rc, &e);
        return;
    }
    api_list(r, items, total, limit, offset);
}
