/* store_open311.c - the Open311 interface's storage, in portable SQL for
 * both engines (store_open311.h).
 *
 * Clients live in open311_clients (key hash, bound unit, disabled flag);
 * open311_requests links a case to the client that opened it. A request's
 * landing unit is found among the units of the client's subtree: an exact
 * code (address_id), else the deepest unit whose name the address text
 * contains, matched in C over the subtree's names (a few hundred rows),
 * which keeps the SQL free of engine-specific string functions. The
 * requests list is one query: cases joined to their holding unit and to
 * their origin (where the matter lies, which decides a key's area, so an
 * escalated request stays in view of the client that filed it), the
 * latest log time and note as correlated subqueries on the (case_id, id)
 * index of case_events, and the optional open311_requests row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store_open311.h"
#include "store_sql.h"

static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 1 && n <= 64 &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int store_open311_client_put(store *s, const char *name, const char *key_hash, const char *unit,
                             int64_t now, ny_err *e)
{
    if (!name_ok(name))
        return ny_err_set(e, NY_EINVAL,
                          "客户端名称须为 1–64 个字母、数字或 ._- / client name must be"
                          " 1..64 of [A-Za-z0-9._-]");
    if (!key_hash || strlen(key_hash) != 64 || strspn(key_hash, "0123456789abcdef") != 64)
        return ny_err_set(e, NY_EINVAL, "key hash must be 64 lowercase hex digits");
    store_val p[] = {SV_TEXT(name), SV_TEXT(key_hash), SV_INT(now), SV_TEXT(unit)};
    long changes = 0;
    int rc = store_sql(s,
                       "INSERT INTO open311_clients(name, key_hash, unit_id, disabled, created_at)"
                       " SELECT ?, ?, id, 0, ? FROM units WHERE code = ?"
                       " ON CONFLICT(name) DO UPDATE SET key_hash = excluded.key_hash,"
                       " unit_id = excluded.unit_id, disabled = 0",
                       p, 4, NULL, NULL, &changes, e);
    if (rc == NY_OK && changes == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "没有这个单位 / no such unit: %s", unit ? unit : "");
    return rc;
}

#define CLIENT_COLS                                                                                \
    "SELECT k.id, k.name, u.code, u.level, u.name, k.disabled, k.created_at"                       \
    " FROM open311_clients k JOIN units u ON u.id = k.unit_id"

static void client_of(const store_row *r, store_open311_client *c)
{
    memset(c, 0, sizeof *c);
    c->id = store_row_int(r, 0);
    snprintf(c->name, sizeof c->name, "%s", store_row_text(r, 1));
    snprintf(c->unit, sizeof c->unit, "%s", store_row_text(r, 2));
    snprintf(c->level, sizeof c->level, "%s", store_row_text(r, 3));
    snprintf(c->unit_name, sizeof c->unit_name, "%s", store_row_text(r, 4));
    c->disabled = (int)store_row_int(r, 5);
    c->created_at = store_row_int(r, 6);
}

struct one_client {
    store_open311_client *out;
    int found;
};

static int on_client(void *ctx, const store_row *r)
{
    struct one_client *x = ctx;
    client_of(r, x->out);
    x->found = 1;
    return NY_OK;
}

int store_open311_client_find(store *s, const char *name, const char *key_hash,
                              store_open311_client *out, ny_err *e)
{
    struct one_client x = {out, 0};
    store_val p[] = {SV_TEXT(name ? name : key_hash)};
    int rc =
        store_sql(s, name ? CLIENT_COLS " WHERE k.name = ?" : CLIENT_COLS " WHERE k.key_hash = ?",
                  p, 1, on_client, &x, NULL, e);
    if (rc == NY_OK && !x.found)
        rc = ny_err_set(e, NY_ENOTFOUND, "没有这个 Open311 客户端 / no such Open311 client");
    return rc;
}

int store_open311_client_disable(store *s, const char *name, int disabled, ny_err *e)
{
    store_val p[] = {SV_INT(disabled ? 1 : 0), SV_TEXT(name)};
    long changes = 0;
    int rc = store_sql(s, "UPDATE open311_clients SET disabled = ? WHERE name = ?", p, 2, NULL,
                       NULL, &changes, e);
    if (rc == NY_OK && changes == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "没有这个 Open311 客户端 / no such Open311 client: %s",
                        name);
    return rc;
}

struct each_client {
    int (*fn)(void *ctx, const store_open311_client *c);
    void *ctx;
};

static int on_each_client(void *ctx, const store_row *r)
{
    struct each_client *x = ctx;
    store_open311_client c;
    client_of(r, &c);
    return x->fn(x->ctx, &c);
}

int store_open311_clients_each(store *s, int (*fn)(void *ctx, const store_open311_client *c),
                               void *ctx, ny_err *e)
{
    struct each_client x = {fn, ctx};
    return store_sql(s, CLIENT_COLS " ORDER BY k.name", NULL, 0, on_each_client, &x, NULL, e);
}

/* The best unit so far whose name the address contains. */
struct locate {
    const char *address;
    char code[32];
    int depth;
    size_t name_len;
};

static int on_unit(void *ctx, const store_row *r)
{
    struct locate *l = ctx;
    const char *code = store_row_text(r, 0), *name = store_row_text(r, 1);
    int depth = domain_level(store_row_text(r, 2));
    size_t len = strlen(name);
    if (!len || !strstr(l->address, name))
        return NY_OK;
    if (depth > l->depth || (depth == l->depth && len > l->name_len)) {
        snprintf(l->code, sizeof l->code, "%s", code);
        l->depth = depth;
        l->name_len = len;
    }
    return NY_OK;
}

int store_open311_locate(store *s, const char *scope, const char *address_id, const char *address,
                         const char *fallback, char unit[32], ny_err *e)
{
    int rc;
    if (address_id && address_id[0]) {
        store_val p[] = {SV_TEXT(address_id), SV_INT((int64_t)strlen(scope)), SV_TEXT(scope)};
        int64_t id = 0;
        rc = store_sql_int(s, "SELECT id FROM units WHERE code = ? AND substr(code, 1, ?) = ?", p,
                           3, &id, e);
        if (rc == NY_ENOTFOUND)
            return ny_err_set(e, rc,
                              "address_id 不是本接口辖区内的单位代码 / address_id is not a"
                              " unit code in this key's area");
        if (rc == NY_OK)
            snprintf(unit, 32, "%s", address_id);
        return rc;
    }
    snprintf(unit, 32, "%s", fallback);
    if (!address || !address[0])
        return NY_OK;
    struct locate l = {address, "", -1, 0};
    store_val p[] = {SV_INT((int64_t)strlen(scope)), SV_TEXT(scope)};
    rc = store_sql(s, "SELECT code, name, level FROM units WHERE substr(code, 1, ?) = ?", p, 2,
                   on_unit, &l, NULL, e);
    if (rc == NY_OK && l.code[0])
        snprintf(unit, 32, "%s", l.code);
    return rc;
}

int store_open311_request_put(store *s, int64_t case_id, int64_t client_id, const char *lat,
                              const char *lon, const char *address_id, int64_t now, ny_err *e)
{
    store_val p[] = {SV_INT(case_id),
                     SV_INT(client_id),
                     SV_TEXT(lat),
                     SV_TEXT(lon),
                     SV_TEXT(address_id ? address_id : ""),
                     SV_INT(now)};
    return store_sql(s,
                     "INSERT INTO open311_requests(case_id, client_id, lat, lon, address_id,"
                     " created_at) VALUES(?, ?, ?, ?, ?, ?)",
                     p, 6, NULL, NULL, NULL, e);
}

struct req_ctx {
    int (*fn)(void *ctx, const store_open311_request *r);
    void *ctx;
};

static const char *text_or_empty(const store_row *r, int col)
{
    const char *v = store_row_text(r, col);
    return v ? v : "";
}

static int on_request(void *ctx, const store_row *r)
{
    struct req_ctx *x = ctx;
    store_open311_request q = {
        .id = store_row_int(r, 0),
        .status = text_or_empty(r, 1),
        .category = text_or_empty(r, 2),
        .title = text_or_empty(r, 3),
        .description = text_or_empty(r, 4),
        .location = text_or_empty(r, 5),
        .photo_url = text_or_empty(r, 6),
        .unit_name = text_or_empty(r, 7),
        .level = text_or_empty(r, 8),
        .department = text_or_empty(r, 9),
        .opened_at = store_row_int(r, 10),
        .due_at = store_row_int(r, 11),
        .merged_into = store_row_int(r, 12),
        .updated_at = store_row_int(r, 13),
        .note = text_or_empty(r, 14),
        .lat = store_row_text(r, 15),
        .lon = store_row_text(r, 16),
        .address_id = text_or_empty(r, 17),
    };
    return x->fn(x->ctx, &q);
}

/* Most ids one list may select. */
#define MAX_IDS 100

int store_open311_requests(store *s, const store_open311_filter *f,
                           int (*fn)(void *ctx, const store_open311_request *r), void *ctx,
                           ny_err *e)
{
    char sql[4096];
    store_val p[MAX_IDS + 8];
    int k = 0;
    if (f->n_ids > MAX_IDS)
        return ny_err_set(e, NY_EINVAL, "at most %d service_request_id values", MAX_IDS);
    size_t used = (size_t)snprintf(
        sql, sizeof sql,
        "SELECT c.id, c.status, c.category, c.title, c.description, c.location, c.photo_url,"
        " u.name, c.level, c.department, c.opened_at, c.due_at, c.merged_into,"
        " (SELECT MAX(ev.at) FROM case_events ev WHERE ev.case_id = c.id),"
        " (SELECT ev.note FROM case_events ev WHERE ev.case_id = c.id AND ev.note <> ''"
        " ORDER BY ev.id DESC LIMIT 1),"
        " o.lat, o.lon, o.address_id"
        " FROM cases c JOIN units u ON u.id = c.unit_id"
        " JOIN units ou ON ou.id = COALESCE(c.origin_unit_id, c.unit_id)"
        " LEFT JOIN open311_requests o ON o.case_id = c.id WHERE c.kind = 'case'");
#define ADD(text) used += (size_t)snprintf(sql + used, sizeof sql - used, "%s", text)
    if (f->scope && f->scope[0]) {
        ADD(" AND substr(ou.code, 1, ?) = ?");
        p[k++] = SV_INT((int64_t)strlen(f->scope));
        p[k++] = SV_TEXT(f->scope);
    }
    if (f->n_ids > 0) {
        ADD(" AND c.id IN (");
        for (int i = 0; i < f->n_ids; i++) {
            ADD(i ? ", ?" : "?");
            p[k++] = SV_INT(f->ids[i]);
        }
        ADD(")");
    } else {
        ADD(" AND c.opened_at >= ? AND c.opened_at <= ?");
        p[k++] = SV_INT(f->start);
        p[k++] = SV_INT(f->end);
        if (f->category && f->category[0]) {
            ADD(" AND c.category = ?");
            p[k++] = SV_TEXT(f->category);
        }
        if (f->status == 1)
            ADD(" AND c.status <> 'closed'");
        else if (f->status == 2)
            ADD(" AND c.status = 'closed'");
    }
    ADD(" ORDER BY c.opened_at DESC, c.id DESC LIMIT ?");
#undef ADD
    p[k++] = SV_INT(f->limit > 0 ? f->limit : 1000);
    struct req_ctx x = {fn, ctx};
    return store_sql(s, sql, p, k, on_request, &x, NULL, e);
}
