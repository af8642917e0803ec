/* server_auth.c - staff sessions over HTTP and the scope rule every staff
 * route applies.
 *
 * POST /api/v1/login turns an account and password into a bearer token
 * (auth_login: argon2id, lockout with back-off), POST /api/v1/logout
 * revokes it, GET /api/v1/me says who the token belongs to. server_auth()
 * is the first call of every staff handler: it checks the token and gives
 * the caller's identity with the code prefix of their subtree, which
 * server_in_scope() compares against the unit of whatever is read or
 * written. Unit codes nest (domain_unit_prefix), so scope is a prefix test
 * and needs no database round trip. Also here: the small helpers handlers
 * share for answering errors and reading JSON bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "server_int.h"

int server_forbidden(server_reply *r, const char *why)
{
    char msg[300];
    snprintf(msg, sizeof msg, "无权限 / forbidden: %s", why);
    return server_error(r, 403, msg, NULL, -1);
}

int server_store_error(server_reply *r, int code, const ny_err *e)
{
    int status = code == NY_ENOTFOUND                        ? 404
                 : code == NY_EINVAL                         ? 422
                 : code == NY_EEXIST || code == NY_ECONFLICT ? 409
                 : code == NY_EUNAVAIL                       ? 503
                                                             : 500;
    return server_error(r, status, e && e->msg[0] ? e->msg : "storage error", NULL,
                        e ? e->index : -1);
}

json_t *server_body_object(const server_call *call, server_reply *r)
{
    ny_err e;
    char why[600];
    if (domain_utf8_check(call->body, call->len, &e) != NY_OK) {
        snprintf(why, sizeof why, "body is not valid UTF-8: %s", e.msg);
        server_error(r, 400, why, NULL, -1);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(call->body, call->len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(why, sizeof why, "malformed JSON at line %d column %d: %s", je.line, je.column,
                 je.text);
        server_error(r, 400, why, NULL, -1);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        server_error(r, 422, "body must be a JSON object", NULL, -1);
        return NULL;
    }
    return j;
}

/* The level of a unit code from its shape: "district" (6 digits + zeros),
 * "street", "community" (12 digits) or "grid" (15). */
static const char *level_of(const char *code)
{
    size_t n = strlen(code);
    if (n > 12)
        return "grid";
    if (n == 12 && strcmp(code + 9, "000") != 0)
        return "community";
    if (n == 12 && strcmp(code + 6, "000000") != 0)
        return "street";
    return "district";
}

static int caller_from(const auth_identity *id, server_caller *who)
{
    memset(who, 0, sizeof *who);
    who->id = *id;
    snprintf(who->level, sizeof who->level, "%s", level_of(id->unit_code));
    return domain_unit_prefix(who->level, id->unit_code, who->prefix, sizeof who->prefix);
}

/* The token of "Authorization: Bearer <token>", or NULL. */
static const char *bearer(const server_call *call)
{
    const char *h = server_header(call, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

int server_auth(server *sv, const server_call *call, server_caller *who, server_reply *r)
{
    ny_err e;
    const char *token = bearer(call);
    if (!token) {
        server_error(r, 401, "请先登录 / login required (Authorization: Bearer <token>)",
                     "Authorization", -1);
        return NY_EINVAL;
    }
    server_worker *w = server_worker_get(sv, &e);
    if (!w) {
        server_error(r, 503, e.msg, NULL, -1);
        return NY_EUNAVAIL;
    }
    auth_identity id;
    int rc = auth_session_check(w->db, token, server_now(sv), &id, &e);
    if (rc == NY_ENOTFOUND) {
        server_error(r, 401, e.msg, "Authorization", -1);
        return rc;
    }
    if (rc != NY_OK) {
        server_store_error(r, rc, &e);
        return rc;
    }
    if (caller_from(&id, who) != NY_OK) {
        server_error(r, 500, "account's unit has a malformed code", NULL, -1);
        return NY_ERR;
    }
    return NY_OK;
}

int server_in_scope(const server_caller *who, const char *unit_code)
{
    if (!unit_code)
        return 0;
    if (strcmp(who->id.role, "admin") == 0 || strcmp(who->id.role, "district") == 0 ||
        strcmp(who->id.role, "department") == 0)
        return 1;
    return strncmp(unit_code, who->prefix, strlen(who->prefix)) == 0;
}

int server_role_is(const server_caller *who, const char *roles)
{
    size_t n = strlen(who->id.role);
    for (const char *p = roles; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncmp(p, who->id.role, n) == 0)
            return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

static json_t *identity_json(const server_caller *who)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "account", who->id.account, "name",
                     who->id.name, "role", who->id.role, "unit", who->id.unit_code, "level",
                     who->level, "department", who->id.department, "expires_at",
                     (json_int_t)who->id.expires_at);
}

void server_login(server *sv, const server_call *call, server_reply *r)
{
    ny_err e;
    json_t *body = server_body_object(call, r);
    if (!body)
        return;
    const char *account = json_string_value(json_object_get(body, "account"));
    const char *password = json_string_value(json_object_get(body, "password"));
    server_worker *w = NULL;
    if (!account || !*account) {
        server_error(r, 422, "请输入账号 / account is required", "account", -1);
    } else if (!password || !*password) {
        server_error(r, 422, "请输入密码 / password is required", "password", -1);
    } else if (!(w = server_worker_get(sv, &e))) {
        server_error(r, 503, e.msg, NULL, -1);
    } else {
        char token[AUTH_TOKEN_LEN + 1];
        auth_identity id;
        int rc = auth_login(w->db, NULL, account, password, server_now(sv), token, &id, &e);
        server_caller who;
        if (rc == NY_EINVAL)
            server_error(r, 401, e.msg, NULL, -1);
        else if (rc == NY_EUNAVAIL && strstr(e.msg, "too many failed logins"))
            server_error(r, 429, e.msg, NULL, -1);
        else if (rc == NY_ECONFLICT)
            server_error(r, 403, e.msg, NULL, -1);
        else if (rc != NY_OK)
            server_store_error(r, rc, &e);
        else if (caller_from(&id, &who) != NY_OK)
            server_error(r, 500, "account's unit has a malformed code", NULL, -1);
        else {
            json_t *j = identity_json(&who);
            json_object_set_new(j, "token", json_string(token));
            server_json(r, j);
        }
    }
    json_decref(body);
}

void server_logout(server *sv, const server_call *call, server_reply *r)
{
    ny_err e;
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    server_worker *w = server_worker_get(sv, &e);
    int rc = w ? auth_logout(w->db, bearer(call), server_now(sv), &e) : NY_EUNAVAIL;
    if (rc != NY_OK)
        server_store_error(r, rc, &e);
    else
        server_json(r, json_pack("{s:s}", "status", "logged out"));
}

void server_me(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    server_json(r, identity_json(&who));
}

/* POST /api/v1/admin/clock {"now": ISO-8601}: only on a server started with
 * --test-clock (otherwise the route answers 404 like any unknown path), and
 * only for an admin. Sets the time server_now() gives from then on. */
void server_admin_clock(server *sv, const server_call *call, server_reply *r)
{
    if (!sv->o.test_clock) {
        char msg[200];
        snprintf(msg, sizeof msg, "no such route: %s %s", call->method, call->path);
        server_error(r, 404, msg, NULL, -1);
        return;
    }
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    if (!server_role_is(&who, "admin")) {
        server_forbidden(r, "only an admin may set the test clock");
        return;
    }
    json_t *body = server_body_object(call, r);
    if (!body)
        return;
    const char *now = json_string_value(json_object_get(body, "now"));
    int64_t t;
    if (!now || server_parse_time(now, &t) != NY_OK || t <= 0) {
        server_error(r, 422, "now must be an ISO-8601 time with offset", "now", -1);
    } else {
        atomic_store(&sv->test_now, (long long)t);
        server_json(r, json_pack("{s:s, s:I}", "now", now, "unix", (json_int_t)t));
    }
    json_decref(body);
}
