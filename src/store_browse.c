/* store_browse.c - the staff API's list queries (groups, messages, leads,
 * children of a unit) in portable SQL.
 *
 * Each list is one SELECT with every filter always present and neutralised
 * by its default ('' matches any group, kind, intent or category; the time
 * range defaults to everything; an empty text pattern is '%'), so each
 * query is a single statement text that SQLite keeps prepared. The subtree
 * is a code range on units, the same rule server_in_scope applies, so a
 * list can hold nothing outside the caller's scope. Messages and leads come
 * newest first (time, then id, both descending), which the time indexes on
 * messages and leads serve; the count for pagination runs the same WHERE. */
#include "store_browse.h"

#include <stdlib.h>
#include <string.h>

#include "store_sql.h"

#define ALWAYS_TO 4102444800LL /* 2100-01-01: "no upper bound" */

static int64_t to_or_max(int64_t t)
{
    return t ? t : ALWAYS_TO;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

struct ctx {
    store_browse_fn fn;
    void *ctx;
    int which; /* 0 groups, 1 messages, 2 leads */
};

static const char *txt(const store_row *row, int i)
{
    return store_row_text(row, i);
}

static int on_row(void *p, const store_row *row)
{
    struct ctx *c = p;
    store_browse_row r;
    memset(&r, 0, sizeof r);
    if (c->which == 0) {
        r.group = txt(row, 0);
        r.platform = txt(row, 1);
        r.group_name = txt(row, 2);
        r.kind = txt(row, 3);
        r.unit_code = txt(row, 4);
        r.unit_name = txt(row, 5);
        r.members = store_row_int(row, 6);
    } else {
        r.id = store_row_int(row, 0);
        r.group = txt(row, 1);
        r.group_name = txt(row, 2);
        r.unit_code = txt(row, 3);
        r.unit_name = txt(row, 4);
        r.time = store_row_int(row, 5);
        r.text = txt(row, 6);
        r.intent = txt(row, 7);
        r.category = txt(row, 8);
        if (c->which == 1) {
            r.sender_id = txt(row, 9);
            r.sender_name = txt(row, 10);
            r.triage = txt(row, 11);
        } else {
            r.message_id = store_row_int(row, 9);
            r.case_id = store_row_int(row, 10);
        }
    }
    return c->fn(c->ctx, &r);
}

/* Runs "SELECT cols FROM+WHERE ORDER LIMIT ? OFFSET ?" and "SELECT count(*)
 * FROM+WHERE" with the n parameters p (the page is appended). */
static int page(store *s, const char *list_sql, const char *count_sql, store_val *p, int n,
                const store_browse_q *q, struct ctx *c, int64_t *total, ny_err *e)
{
    int rc = store_sql_int(s, count_sql, p, n, total, e);
    if (rc != NY_OK)
        return rc;
    p[n] = SV_INT(q->limit);
    p[n + 1] = SV_INT(q->offset);
    return store_sql(s, list_sql, p, n + 2, on_row, c, NULL, e);
}

#define GROUPS_FROM                                                                                \
    " FROM chat_groups g JOIN units u ON u.id=g.unit_id"                                           \
    " WHERE u.code>=? AND u.code<? AND (g.kind=? OR ?='')"

int store_browse_groups(store *s, const store_browse_q *q, store_browse_fn fn, void *ctx,
                        int64_t *total, ny_err *e)
{
    store_val p[6] = {SV_TEXT(q->code_lo), SV_TEXT(q->code_hi), SV_TEXT(or_empty(q->kind)),
                      SV_TEXT(or_empty(q->kind))};
    struct ctx c = {fn, ctx, 0};
    return page(s,
                "SELECT g.external_id,g.platform,g.name,g.kind,u.code,u.name,g.members" GROUPS_FROM
                " ORDER BY u.code,g.external_id,g.platform LIMIT ? OFFSET ?",
                "SELECT count(*)" GROUPS_FROM, p, 4, q, &c, total, e);
}

/* Escapes LIKE's wild cards in text and wraps it in '%': the pattern of a
 * substring search (with ESCAPE '!'). malloc'd. */
static char *like_pattern(const char *text)
{
    size_t n = strlen(text);
    char *p = malloc(2 * n + 3), *o = p;
    if (!p)
        return NULL;
    *o++ = '%';
    for (const char *t = text; *t; t++) {
        if (*t == '%' || *t == '_' || *t == '!')
            *o++ = '!';
        *o++ = *t;
    }
    *o++ = '%';
    *o = '\0';
    return p;
}

#define MESSAGES_FROM                                                                              \
    " FROM messages m JOIN chat_groups g ON g.id=m.group_id JOIN units u ON u.id=g.unit_id"        \
    " WHERE u.code>=? AND u.code<? AND (g.external_id=? OR ?='')"                                  \
    " AND m.sent_at>=? AND m.sent_at<? AND m.text LIKE ? ESCAPE '!'"

int store_browse_messages(store *s, const store_browse_q *q, store_browse_fn fn, void *ctx,
                          int64_t *total, ny_err *e)
{
    char *like = like_pattern(or_empty(q->text));
    if (!like)
        return ny_err_set(e, NY_ERR, "out of memory");
    store_val p[9] = {SV_TEXT(q->code_lo),
                      SV_TEXT(q->code_hi),
                      SV_TEXT(or_empty(q->group)),
                      SV_TEXT(or_empty(q->group)),
                      SV_INT(q->from),
                      SV_INT(to_or_max(q->to)),
                      SV_TEXT(like)};
    struct ctx c = {fn, ctx, 1};
    int rc = page(s,
                  "SELECT m.id,g.external_id,g.name,u.code,u.name,m.sent_at,m.text,m.intent,"
                  "m.category,m.sender_id,m.sender_name,m.triage" MESSAGES_FROM
                  " ORDER BY m.sent_at DESC,m.id DESC LIMIT ? OFFSET ?",
                  "SELECT count(*)" MESSAGES_FROM, p, 7, q, &c, total, e);
    free(like);
    return rc;
}

#define LEADS_FROM                                                                                 \
    " FROM leads l JOIN messages m ON m.id=l.message_id JOIN chat_groups g ON g.id=l.group_id"     \
    " JOIN units u ON u.id=l.unit_id"                                                              \
    " WHERE u.code>=? AND u.code<? AND (g.external_id=? OR ?='') AND (l.intent=? OR ?='')"         \
    " AND (l.category=? OR ?='') AND l.created_at>=? AND l.created_at<?"

int store_browse_leads(store *s, const store_browse_q *q, store_browse_fn fn, void *ctx,
                       int64_t *total, ny_err *e)
{
    store_val p[12] = {SV_TEXT(q->code_lo),
                       SV_TEXT(q->code_hi),
                       SV_TEXT(or_empty(q->group)),
                       SV_TEXT(or_empty(q->group)),
                       SV_TEXT(or_empty(q->intent)),
                       SV_TEXT(or_empty(q->intent)),
                       SV_TEXT(or_empty(q->category)),
                       SV_TEXT(or_empty(q->category)),
                       SV_INT(q->from),
                       SV_INT(to_or_max(q->to))};
    struct ctx c = {fn, ctx, 2};
    return page(s,
                "SELECT l.id,g.external_id,g.name,u.code,u.name,l.created_at,m.text,l.intent,"
                "l.category,l.message_id,l.case_id" LEADS_FROM
                " ORDER BY l.created_at DESC,l.id DESC LIMIT ? OFFSET ?",
                "SELECT count(*)" LEADS_FROM, p, 10, q, &c, total, e);
}

struct kids {
    int (*fn)(void *ctx, const store_unit *u);
    void *ctx;
};

static int on_kid(void *p, const store_row *row)
{
    struct kids *k = p;
    store_unit u = {store_row_int(row, 0), txt(row, 1), txt(row, 2), txt(row, 3), txt(row, 4)};
    return k->fn(k->ctx, &u);
}

int store_unit_children(store *s, const char *code, int (*fn)(void *ctx, const store_unit *u),
                        void *ctx, ny_err *e)
{
    store_val p = SV_TEXT(code);
    struct kids k = {fn, ctx};
    return store_sql(s,
                     "SELECT c.id,c.code,c.name,c.level,p.code FROM units c JOIN units p"
                     " ON p.id=c.parent_id WHERE p.code=? ORDER BY c.code",
                     &p, 1, on_kid, &k, NULL, e);
}
