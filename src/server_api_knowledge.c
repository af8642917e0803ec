/* server_api_knowledge.c - the assistant's knowledge over HTTP: policies and
 * lexicon (everyone reads; district and admin write), and POST
 * /api/v1/triage, the live engine's full reading of a text for the web's
 * "try a message" box.
 *
 * An edit runs in one transaction: the row is written, its cache version
 * bumped (store_knowledge.h), and a new triage engine is built from the
 * same transaction (server_live_build). Only if the engine builds is the
 * transaction committed and the engine swapped in (server_live_publish), so
 * an edit the assistant cannot load is refused with 422 and changes
 * nothing. Requests in flight finish on the engine they started with; each
 * worker moves to the new one at its next request (server_live.c). Other
 * nodes see the bumped cache version within a second. Fields are checked
 * with the limits CSV import applies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "server_api.h"
#include "store_knowledge.h"

/* ---- field checks -------------------------------------------------------------- */

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A string field of body: required or not, at most max characters, no
 * control characters unless lines (then line breaks are allowed), and for
 * word no spaces. "" when absent and optional. NULL with r answered. */
static const char *text_field(json_t *body, const char *name, int required, size_t max, int lines,
                              int word, server_reply *r)
{
    json_t *v = json_object_get(body, name);
    const char *s = json_string_value(v);
    char msg[200];
    if (v && !s) {
        snprintf(msg, sizeof msg, "%s 应为字符串 / %s must be a string", name, name);
    } else if (!s || !*s) {
        if (!required)
            return "";
        snprintf(msg, sizeof msg, "缺少 %s / %s is required", name, name);
    } else if (chars(s) > max) {
        snprintf(msg, sizeof msg, "%s 过长 / %s is longer than %zu characters", name, name, max);
    } else {
        for (const char *p = s; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && !(lines && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f ||
                (word && c == ' ')) {
                snprintf(msg, sizeof msg, "%s 含有不允许的字符 / %s has a character not allowed",
                         name, name);
                server_error(r, 422, msg, name, -1);
                return NULL;
            }
        }
        return s;
    }
    server_error(r, 422, msg, name, -1);
    return NULL;
}

/* A field that must be one of list ("" allowed when optional). */
static const char *enum_field(json_t *body, const char *name, int required, const char *const *list,
                              server_reply *r)
{
    const char *s = text_field(body, name, required, 64, 0, 1, r);
    if (!s || !*s)
        return s;
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return s;
    char msg[200];
    snprintf(msg, sizeof msg, "%s 的取值无效 / %s has an unknown value", name, name);
    server_error(r, 422, msg, name, -1);
    return NULL;
}

static int may_edit(server *sv, const server_call *call, server_caller *who, server_worker **w,
                    server_reply *r)
{
    if (api_begin(sv, call, who, w, r) != NY_OK)
        return 0;
    if (!server_role_is(who, "district,admin")) {
        server_forbidden(r, "只有区级和管理员可以修改知识库 / only district and admin accounts "
                            "edit the knowledge base");
        return 0;
    }
    return 1;
}

/* Runs edit(db, row) in a transaction with a rebuild of the assistant;
 * answers r with doc (taken) on success. */
static void edit_and_reload(server *sv, server_worker *w,
                            int (*edit)(store *, const void *, ny_err *), const void *row,
                            json_t *doc, server_reply *r)
{
    ny_err e;
    server_live_build_t *b = NULL;
    int rc = store_begin(w->db, &e);
    if (rc == NY_OK && (rc = edit(w->db, row, &e)) == NY_OK &&
        (rc = server_live_build(sv, w->db, &b, &e)) != NY_OK) {
        char msg[700];
        snprintf(msg, sizeof msg,
                 "助手无法加载这次修改 / the assistant cannot load this change: %s", e.msg);
        ny_err e2;
        store_rollback(w->db, &e2);
        json_decref(doc);
        server_error(r, 422, msg, NULL, -1);
        return;
    }
    if (rc == NY_OK)
        rc = store_commit(w->db, &e);
    if (rc != NY_OK) {
        ny_err e2;
        store_rollback(w->db, &e2);
        server_live_build_free(b);
        json_decref(doc);
        server_store_error(r, rc, &e);
        return;
    }
    server_live_publish(sv, b);
    server_json(r, doc);
}

/* ---- policies ----------------------------------------------------------------- */

static json_t *policy_json(const void *row)
{
    const store_policy *p = row;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "code", p->code, "title",
                     p->title, "category", p->category, "audience", p->audience, "department",
                     p->department, "summary", p->summary, "eligibility", p->eligibility,
                     "how_to_apply", p->how_to_apply, "keywords", p->keywords);
}

static int on_policy(void *ctx, const store_policy *p)
{
    return json_array_append_new(ctx, policy_json(p)) == 0 ? NY_OK : NY_ERR;
}

void api_policies(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    if (api_begin(sv, call, &who, &w, r) != NY_OK)
        return;
    json_t *items = json_array();
    ny_err e;
    int rc = store_policies_each(w->db, on_policy, items, &e);
    if (rc != NY_OK) {
        json_decref(items);
        server_store_error(r, rc, &e);
        return;
    }
    size_t n = json_array_size(items);
    api_list(r, items, (int64_t)n, (long)n, 0);
}

static int keep_policy(void *ctx, const store_policy *p)
{
    *(json_t **)ctx = policy_json(p);
    return NY_OK;
}

void api_policy_get(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    if (api_begin(sv, call, &who, &w, r) != NY_OK)
        return;
    json_t *doc = NULL;
    ny_err e;
    int rc = store_policy_get(w->db, call->params[0], keep_policy, &doc, &e);
    if (rc != NY_OK)
        server_store_error(r, rc, &e);
    else
        server_json(r, doc);
}

/* The policy of body (code from the path when given), checked. */
static int policy_from(json_t *body, const char *code, void *row, server_reply *r)
{
    store_policy *p = row;
    memset(p, 0, sizeof *p);
    p->code = code ? code : text_field(body, "code", 1, 64, 0, 1, r);
    if (p->code && code && strchr(code, ' ')) {
        server_error(r, 422, "code 含有空格 / code has a space", "code", -1);
        return NY_EINVAL;
    }
    if (!p->code || !(p->title = text_field(body, "title", 1, 100, 0, 0, r)) ||
        !(p->category = enum_field(body, "category", 1, domain_categories, r)) ||
        !(p->audience = enum_field(body, "audience", 1, domain_audiences, r)) ||
        !(p->department = text_field(body, "department", 1, 50, 0, 0, r)) ||
        !(p->summary = text_field(body, "summary", 1, 200, 0, 0, r)) ||
        !(p->eligibility = text_field(body, "eligibility", 0, 2000, 1, 0, r)) ||
        !(p->how_to_apply = text_field(body, "how_to_apply", 0, 2000, 1, 0, r)) ||
        !(p->keywords = text_field(body, "keywords", 0, 500, 0, 0, r)))
        return NY_EINVAL;
    return NY_OK;
}

static int policy_insert(store *s, const void *row, ny_err *e)
{
    return store_policy_insert(s, row, e);
}
static int policy_update(store *s, const void *row, ny_err *e)
{
    return store_policy_update(s, row, e);
}
static int policy_delete(store *s, const void *row, ny_err *e)
{
    return store_policy_delete(s, row, e);
}

/* ---- lexicon ------------------------------------------------------------------- */

static const char *const lexeme_actions[] = {"notify_grid", "notify_community", "urgent", NULL};

static json_t *lexeme_json(const void *row)
{
    const store_lexeme *l = row;
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}", "term", l->term, "kind", l->kind, "intent",
                     l->intent, "category", l->category, "weight", l->weight, "action", l->action);
}

struct lex_list {
    json_t *items;
    const char *q;
    long limit, offset, total;
};

static int on_lexeme(void *ctx, const store_lexeme *l)
{
    struct lex_list *x = ctx;
    if (x->q && *x->q && !strstr(l->term, x->q))
        return NY_OK;
    if (x->total >= x->offset && x->total < x->offset + x->limit &&
        json_array_append_new(x->items, lexeme_json(l)) != 0)
        return NY_ERR;
    x->total++;
    return NY_OK;
}

void api_lexicon(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    long limit, offset;
    if (api_begin(sv, call, &who, &w, r) != NY_OK || api_page(call, &limit, &offset, r) != NY_OK)
        return;
    struct lex_list x = {json_array(), server_query(call, "q"), limit, offset, 0};
    ny_err e;
    int rc = store_lexicon_each(w->db, on_lexeme, &x, &e);
    if (rc != NY_OK) {
        json_decref(x.items);
        server_store_error(r, rc, &e);
        return;
    }
    api_list(r, x.items, x.total, limit, offset);
}

static int lexeme_from(json_t *body, const char *term, void *row, server_reply *r)
{
    store_lexeme *l = row;
    memset(l, 0, sizeof *l);
    l->term = term ? term : text_field(body, "term", 1, 50, 0, 0, r);
    if (!l->term || !(l->intent = enum_field(body, "intent", 0, domain_intents, r)) ||
        !(l->category = enum_field(body, "category", 0, domain_categories, r)) ||
        !(l->action = enum_field(body, "action", 0, lexeme_actions, r)))
        return NY_EINVAL;
    l->kind = strstr(l->term, "…") ? "pattern" : "literal";
    json_t *kind = json_object_get(body, "kind");
    if (kind && (!json_is_string(kind) || strcmp(json_string_value(kind), l->kind) != 0)) {
        server_error(r, 422,
                     "kind 与词形不符（含“…”为 pattern）/ kind must be pattern for a term "
                     "with '…', else literal",
                     "kind", -1);
        return NY_EINVAL;
    }
    json_t *wt = json_object_get(body, "weight");
    l->weight = wt ? json_number_value(wt) : 1.0;
    if (wt && (!json_is_number(wt) || l->weight < -100 || l->weight > 100)) {
        server_error(r, 422, "weight 应为 -100 到 100 的数 / weight must be a number in -100..100",
                     "weight", -1);
        return NY_EINVAL;
    }
    return NY_OK;
}

static int lexeme_insert(store *s, const void *row, ny_err *e)
{
    return store_lexeme_insert(s, row, e);
}
static int lexeme_update(store *s, const void *row, ny_err *e)
{
    return store_lexeme_update(s, row, e);
}
static int lexeme_delete(store *s, const void *row, ny_err *e)
{
    return store_lexeme_delete(s, row, e);
}

/* ---- writes of either kind ------------------------------------------------------ */

/* What differs between a policy and a lexicon entry when written: the name
 * of the key field, how a body becomes a row, a row JSON, and the store's
 * three writes. */
typedef struct knowledge_kind {
    const char *key;
    int (*from)(json_t *body, const char *key, void *row, server_reply *r);
    json_t *(*json)(const void *row);
    int (*insert)(store *s, const void *row, ny_err *e);
    int (*update)(store *s, const void *row, ny_err *e);
    int (*remove)(store *s, const void *row, ny_err *e);
} knowledge_kind;

static const knowledge_kind policy_kind = {"code",        policy_from,   policy_json,
                                           policy_insert, policy_update, policy_delete};
static const knowledge_kind lexeme_kind = {"term",        lexeme_from,   lexeme_json,
                                           lexeme_insert, lexeme_update, lexeme_delete};

/* POST (update 0, key from the body) or PUT (update 1, key from the path). */
static void knowledge_write(server *sv, const server_call *call, server_reply *r,
                            const knowledge_kind *k, int update)
{
    server_caller who;
    server_worker *w;
    union {
        store_policy p;
        store_lexeme l;
    } row;
    if (!may_edit(sv, call, &who, &w, r))
        return;
    json_t *body = server_body_object(call, r);
    if (!body)
        return;
    if (k->from(body, update ? call->params[0] : NULL, &row, r) == NY_OK)
        edit_and_reload(sv, w, update ? k->update : k->insert, &row, k->json(&row), r);
    json_decref(body);
}

static void knowledge_delete(server *sv, const server_call *call, server_reply *r,
                             const knowledge_kind *k)
{
    server_caller who;
    server_worker *w;
    if (may_edit(sv, call, &who, &w, r))
        edit_and_reload(sv, w, k->remove, call->params[0],
                        json_pack("{s:s, s:b}", k->key, call->params[0], "deleted", 1), r);
}

void api_policy_post(server *sv, const server_call *call, server_reply *r)
{
    knowledge_write(sv, call, r, &policy_kind, 0);
}

void api_policy_put(server *sv, const server_call *call, server_reply *r)
{
    knowledge_write(sv, call, r, &policy_kind, 1);
}

void api_policy_delete(server *sv, const server_call *call, server_reply *r)
{
    knowledge_delete(sv, call, r, &policy_kind);
}

void api_lexeme_post(server *sv, const server_call *call, server_reply *r)
{
    knowledge_write(sv, call, r, &lexeme_kind, 0);
}

void api_lexeme_put(server *sv, const server_call *call, server_reply *r)
{
    knowledge_write(sv, call, r, &lexeme_kind, 1);
}

void api_lexeme_delete(server *sv, const server_call *call, server_reply *r)
{
    knowledge_delete(sv, call, r, &lexeme_kind);
}

/* ---- try a message ---------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *reading_json(const triage_result *t)
{
    json_t *kw = json_array(), *pol = json_array(), *who = json_array();
    for (size_t i = 0; i < t->nkeywords; i++) {
        const triage_keyword *k = &t->keywords[i];
        json_array_append_new(
            kw, json_pack("{s:s, s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:f, s:b}", "term", k->term,
                          "start", (int)k->start, "end", (int)k->end, "ostart", (int)k->ostart,
                          "oend", (int)k->oend, "intent", k->intent, "category", k->category,
                          "action", k->action, "weight", (double)k->weight, "repeat", k->repeat));
    }
    for (size_t i = 0; i < t->npolicies; i++) {
        const triage_policy *p = &t->policies[i];
        json_array_append_new(pol, json_pack("{s:s, s:s, s:s, s:s, s:s, s:f}", "code", p->code,
                                             "title", p->title, "department", p->department,
                                             "summary", p->summary, "how_to_apply", p->how_to_apply,
                                             "score", p->score));
    }
    for (size_t i = 0; i < t->nnotify; i++) {
        const triage_notify *n = &t->notify[i];
        json_array_append_new(who, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "role", n->role,
                                             "unit", str_or_null(n->unit_code), "unit_name",
                                             str_or_null(n->unit_name), "account",
                                             str_or_null(n->account), "name", str_or_null(n->name),
                                             "department", str_or_null(n->department)));
    }
    return json_pack("{s:s%, s:o, s:s, s:s, s:b, s:o, s:o, s:o, s:s}", "normalized", t->norm,
                     t->norm_len, "keywords", kw, "intent", t->intent_name, "category",
                     t->category_name, "overridden", t->overridden, "policies", pol, "notify", who,
                     "reply", str_or_null(t->reply), "priority", triage_priority_name(t->priority));
}

void api_triage(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    if (api_begin(sv, call, &who, &w, r) != NY_OK)
        return;
    json_t *body = server_body_object(call, r);
    if (!body)
        return;
    const char *text = text_field(body, "text", 1, 4000, 1, 0, r), *kind = NULL, *unit = NULL;
    if (text && (kind = enum_field(body, "kind", 0, domain_group_kinds, r)) &&
        (unit = text_field(body, "unit", 0, 15, 0, 1, r))) {
        if (*unit && !server_in_scope(&who, unit)) {
            server_forbidden(r, "该单位不在您的管辖范围 / unit outside your scope");
        } else {
            triage_group g = {*kind ? kind : "resident", *unit ? unit : NULL};
            triage_result t;
            ny_err e;
            int rc = triage_message(w->ws, text, strlen(text), &g, &t, &e);
            if (rc != NY_OK)
                server_error(r, 500, e.msg, NULL, -1);
            else
                server_json(r, reading_json(&t));
        }
    }
    json_decref(body);
}
