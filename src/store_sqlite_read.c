/* store_sqlite_read.c - the lookup and *_each entries of the SQLite driver.
 *
 * Each entry steps one cached SELECT in the order store.h promises (units,
 * households and policies by code, enterprises by credit code, groups by
 * platform and external id, staff by account, lexicon by term, the rest by
 * id) and hands every row to the caller's callback as a struct whose strings
 * point into SQLite's row buffers, valid only during that callback. Codes of
 * referenced units come from joins, so callers never see unit row ids where a
 * code exists. */
#include <string.h>

#include "domain.h"
#include "store_sqlite.h"

/* SELECT list and joins giving a unit with its parent's code. */
#define UNIT_SELECT                                                                                \
    "SELECT u.id,u.code,u.name,u.level,p.code FROM units u"                                        \
    " LEFT JOIN units p ON p.id=u.parent_id "

/* Calls fn for every row of st (bound by the caller) and resets it. */
static int units_run(struct sq *h, sqlite3_stmt *st, int (*fn)(void *ctx, const store_unit *u),
                     void *ctx, int *rows, ny_err *e)
{
    int rc;
    *rows = 0;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_unit u = {sqlite3_column_int64(st, 0), sq_text(st, 1), sq_text(st, 2), sq_text(st, 3),
                        sq_text(st, 4)};
        ++*rows;
        if ((rc = fn(ctx, &u)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_unit_get(void *impl, const char *code, int (*fn)(void *ctx, const store_unit *u), void *ctx,
                ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    int rows;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_UNIT_GET, UNIT_SELECT "WHERE u.code=?1", &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, code);
    rc = units_run(h, st, fn, ctx, &rows, e);
    if (rc == NY_OK && rows == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "unknown unit '%s'", code ? code : "");
    return rc;
}

int sq_units_prefixed(void *impl, const char *prefix, int (*fn)(void *ctx, const store_unit *u),
                      void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    int rows, rc;
    ny_err_clear(e);
    if (!prefix) {
        rc = sq_stmt(h, SQ_UNITS_ALL, UNIT_SELECT "ORDER BY u.code", &st, e);
        return rc == NY_OK ? units_run(h, st, fn, ctx, &rows, e) : rc;
    }
    /* ':' sorts right after '9': [prefix, prefix':') is "starts with prefix" */
    rc = sq_stmt(h, SQ_UNITS_RANGE,
                 UNIT_SELECT "WHERE u.code>=?1 AND u.code<?1||':' ORDER BY u.code", &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, prefix);
    return units_run(h, st, fn, ctx, &rows, e);
}

int sq_households_each(void *impl, int (*fn)(void *ctx, const store_household *x), void *ctx,
                       ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_HOUSEHOLDS,
                     "SELECT x.id,x.code,u.code,x.address,x.size,x.phone FROM households x"
                     " JOIN units u ON u.id=x.grid_id ORDER BY x.code",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_household x = {
            sqlite3_column_int64(st, 0), sq_text(st, 1), sq_text(st, 2), sq_text(st, 3),
            sqlite3_column_int(st, 4),   sq_text(st, 5)};
        if ((rc = fn(ctx, &x)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_enterprises_each(void *impl, int (*fn)(void *ctx, const store_enterprise *x), void *ctx,
                        ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_ENTERPRISES,
                     "SELECT x.id,x.uscc,x.name,x.industry,u.code FROM enterprises x"
                     " JOIN units u ON u.id=x.grid_id ORDER BY x.uscc",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_enterprise x = {sqlite3_column_int64(st, 0), sq_text(st, 1), sq_text(st, 2),
                              sq_text(st, 3), sq_text(st, 4)};
        if ((rc = fn(ctx, &x)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_groups_each(void *impl, int (*fn)(void *ctx, const store_group *g), void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_GROUPS,
                     "SELECT g.id,g.platform,g.external_id,g.kind,u.code,g.name,g.members,g.target"
                     " FROM chat_groups g JOIN units u ON u.id=g.unit_id"
                     " ORDER BY g.platform,g.external_id",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_group g = {sqlite3_column_int64(st, 0),
                         sq_text(st, 1),
                         sq_text(st, 2),
                         sq_text(st, 3),
                         sq_text(st, 4),
                         sq_text(st, 5),
                         sqlite3_column_int(st, 6),
                         sq_text(st, 7)};
        if ((rc = fn(ctx, &g)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_staff_each(void *impl, int (*fn)(void *ctx, const store_staff *p), void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_STAFF,
                     "SELECT s.id,s.account,s.name,s.phone,s.role,u.code,s.department"
                     " FROM staff s JOIN units u ON u.id=s.unit_id ORDER BY s.account",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_staff p = {sqlite3_column_int64(st, 0),
                         sq_text(st, 1),
                         sq_text(st, 2),
                         sq_text(st, 3),
                         sq_text(st, 4),
                         sq_text(st, 5),
                         sq_text(st, 6)};
        if ((rc = fn(ctx, &p)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_policies_each(void *impl, int (*fn)(void *ctx, const store_policy *p), void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_POLICIES,
                     "SELECT id,code,title,category,audience,department,summary,eligibility,"
                     "how_to_apply,keywords FROM policies ORDER BY code",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_policy p = {sqlite3_column_int64(st, 0),
                          sq_text(st, 1),
                          sq_text(st, 2),
                          sq_text(st, 3),
                          sq_text(st, 4),
                          sq_text(st, 5),
                          sq_text(st, 6),
                          sq_text(st, 7),
                          sq_text(st, 8),
                          sq_text(st, 9)};
        if ((rc = fn(ctx, &p)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_lexicon_each(void *impl, int (*fn)(void *ctx, const store_lexeme *l), void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_LEXICON,
                     "SELECT id,term,kind,intent,category,weight,action FROM lexicon ORDER BY term",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_lexeme l = {sqlite3_column_int64(st, 0),
                          sq_text(st, 1),
                          sq_text(st, 2),
                          sq_text(st, 3),
                          sq_text(st, 4),
                          sqlite3_column_double(st, 5),
                          sq_text(st, 6)};
        if ((rc = fn(ctx, &l)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_messages_each(void *impl, int (*fn)(void *ctx, const store_message *m), void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_MESSAGES,
                     "SELECT id,group_id,connector,external_id,sender_id,sender_name,sent_at,text,"
                     "intent,category,triage FROM messages ORDER BY id",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_message m = {sqlite3_column_int64(st, 0),
                           sqlite3_column_int64(st, 1),
                           sq_text(st, 2),
                           sq_text(st, 3),
                           sq_text(st, 4),
                           sq_text(st, 5),
                           sqlite3_column_int64(st, 6),
                           sq_text(st, 7),
                           sq_text(st, 8),
                           sq_text(st, 9),
                           sq_text(st, 10)};
        if ((rc = fn(ctx, &m)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_cases_each(void *impl, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_CASES,
                     "SELECT id,source,title,description,category,urgency,priority,status,level,"
                     "unit_id,department,location,photo_url,reporter,opened_at,"
                     "coalesce(due_at,0),coalesce(closed_at,0),overdue,coalesce(satisfaction,0)"
                     " FROM cases ORDER BY id",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_case c = {
            .id = sqlite3_column_int64(st, 0),
            .source = sq_text(st, 1),
            .title = sq_text(st, 2),
            .description = sq_text(st, 3),
            .category = sq_text(st, 4),
            .urgency = sq_text(st, 5),
            .priority = sqlite3_column_int(st, 6),
            .status = sq_text(st, 7),
            .level = sq_text(st, 8),
            .unit_id = sqlite3_column_int64(st, 9),
            .department = sq_text(st, 10),
            .location = sq_text(st, 11),
            .photo_url = sq_text(st, 12),
            .reporter = sq_text(st, 13),
            .opened_at = sqlite3_column_int64(st, 14),
            .due_at = sqlite3_column_int64(st, 15),
            .closed_at = sqlite3_column_int64(st, 16),
            .overdue = sqlite3_column_int(st, 17),
            .satisfaction = sqlite3_column_int(st, 18),
        };
        if ((rc = fn(ctx, &c)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_case_events_each(void *impl, int (*fn)(void *ctx, const store_case_event *ev), void *ctx,
                        ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_EVENTS,
                     "SELECT id,case_id,at,actor,action,changes,note FROM case_events ORDER BY id",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_case_event ev = {sqlite3_column_int64(st, 0),
                               sqlite3_column_int64(st, 1),
                               sqlite3_column_int64(st, 2),
                               sq_text(st, 3),
                               sq_text(st, 4),
                               sq_text(st, 5),
                               sq_text(st, 6)};
        if ((rc = fn(ctx, &ev)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}

int sq_leads_each(void *impl, int (*fn)(void *ctx, const store_lead *l), void *ctx, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_LEADS,
                     "SELECT id,message_id,group_id,unit_id,intent,category,created_at,"
                     "coalesce(case_id,0) FROM leads ORDER BY id",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    while ((rc = sq_next(h, st, e)) == 1) {
        store_lead l = {sqlite3_column_int64(st, 0),
                        sqlite3_column_int64(st, 1),
                        sqlite3_column_int64(st, 2),
                        sqlite3_column_int64(st, 3),
                        sq_text(st, 4),
                        sq_text(st, 5),
                        sqlite3_column_int64(st, 6),
                        sqlite3_column_int64(st, 7)};
        if ((rc = fn(ctx, &l)) != NY_OK)
            break;
    }
    sq_reset(st);
    return rc;
}
