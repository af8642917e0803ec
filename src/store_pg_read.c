/* store_pg_read.c - the lookup, *_each and count entries of the PostgreSQL
 * driver.
 *
 * The orders are those of store_sqlite_read.c (units, households and
 * policies by code, enterprises by credit code, groups by platform and
 * external id, staff by account, lexicon by term, the rest by id); the code
 * columns are COLLATE "C", so PostgreSQL orders them byte-wise as SQLite
 * does. Large tables are read in pages of PG_PAGE rows by key ("WHERE key >
 * last key of the previous page ORDER BY key LIMIT n", served by the unique
 * index), so memory stays flat for 670,000 messages, no cursor or
 * transaction is held open across callbacks, and a callback may call the
 * store again. Strings handed to callbacks point into the current page's
 * PGresult and are valid only during the callback. */
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store_pg.h"

#define PG_PAGE 1000
#define PG_PAGE_TEXT "1000"

/* Turns row i of a page into the caller's struct and calls its callback. */
typedef int (*row_fn)(void *ctx, const PGresult *r, int i);

/* A paged read: first is the first page, next a later one with the key
 * columns keycol[0..nkeys) of the previous page's last row as $1, $2. */
struct pager {
    const char *first, *next;
    int nkeys;
    int keycol[2];
};

static int pages(struct pg *h, const struct pager *p, row_fn row, void *ctx, ny_err *e)
{
    char *keys[2] = {NULL, NULL};
    PGresult *r = NULL;
    ny_err_clear(e);
    int rc = pg_run(h, p->first, 0, NULL, &r, e, "query failed");
    while (rc == NY_OK) {
        int n = PQntuples(r);
        for (int i = 0; rc == NY_OK && i < n; i++)
            rc = row(ctx, r, i);
        if (rc != NY_OK || n < PG_PAGE)
            break;
        for (int k = 0; k < p->nkeys; k++) {
            free(keys[k]);
            if (!(keys[k] = strdup(PQgetvalue(r, n - 1, p->keycol[k]))))
                rc = ny_err_set(e, NY_ERR, "out of memory");
        }
        PQclear(r);
        r = NULL;
        if (rc == NY_OK)
            rc = pg_run(h, p->next, p->nkeys, (const char *const *)keys, &r, e, "query failed");
    }
    PQclear(r);
    free(keys[0]);
    free(keys[1]);
    return rc;
}

/* ---- units -------------------------------------------------------------- */

#define UNIT_SELECT                                                                                \
    "SELECT u.id, u.code, u.name, u.level, p.code FROM units u"                                    \
    " LEFT JOIN units p ON p.id = u.parent_id "

/* Calls fn for every row of r; *rows counts them. */
static int units_run(const PGresult *r, int (*fn)(void *ctx, const store_unit *u), void *ctx,
                     int *rows)
{
    int rc = NY_OK;
    *rows = PQntuples(r);
    for (int i = 0; rc == NY_OK && i < *rows; i++) {
        store_unit u = {pg_int(r, i, 0), pg_text(r, i, 1), pg_text(r, i, 2), pg_text(r, i, 3),
                        pg_text(r, i, 4)};
        rc = fn(ctx, &u);
    }
    return rc;
}

int pg_unit_get(void *impl, const char *code, int (*fn)(void *ctx, const store_unit *u), void *ctx,
                ny_err *e)
{
    PGresult *r;
    int rows;
    const char *vals[] = {code};
    ny_err_clear(e);
    int rc = pg_run(impl, UNIT_SELECT "WHERE u.code = $1", 1, vals, &r, e, "query failed");
    if (rc != NY_OK)
        return rc;
    rc = units_run(r, fn, ctx, &rows);
    PQclear(r);
    if (rc == NY_OK && rows == 0)
        rc = ny_err_set(e, NY_ENOTFOUND, "unknown unit '%s'", code ? code : "");
    return rc;
}

int pg_units_prefixed(void *impl, const char *prefix, int (*fn)(void *ctx, const store_unit *u),
                      void *ctx, ny_err *e)
{
    PGresult *r;
    int rows, rc;
    ny_err_clear(e);
    if (!prefix) {
        rc = pg_run(impl, UNIT_SELECT "ORDER BY u.code", 0, NULL, &r, e, "query failed");
    } else {
        /* ':' sorts right after '9': [prefix, prefix':') is "starts with prefix" */
        const char *vals[] = {prefix};
        rc = pg_run(impl, UNIT_SELECT "WHERE u.code >= $1 AND u.code < $1 || ':' ORDER BY u.code",
                    1, vals, &r, e, "query failed");
    }
    if (rc != NY_OK)
        return rc;
    rc = units_run(r, fn, ctx, &rows);
    PQclear(r);
    return rc;
}

/* ---- the paged tables --------------------------------------------------- */

/* The caller's callback, of whichever row type. */
struct cb {
    union {
        int (*household)(void *ctx, const store_household *x);
        int (*enterprise)(void *ctx, const store_enterprise *x);
        int (*group)(void *ctx, const store_group *g);
        int (*staff)(void *ctx, const store_staff *p);
        int (*policy)(void *ctx, const store_policy *p);
        int (*lexeme)(void *ctx, const store_lexeme *l);
        int (*message)(void *ctx, const store_message *m);
        int (*kase)(void *ctx, const store_case *c);
        int (*event)(void *ctx, const store_case_event *ev);
        int (*lead)(void *ctx, const store_lead *l);
    } fn;
    void *ctx;
};

/* The first and the later pages of a SELECT ordered by order. */
#define PAGED(select, where, order)                                                                \
    select " ORDER BY " order " LIMIT " PG_PAGE_TEXT,                                              \
        select " WHERE " where " ORDER BY " order " LIMIT " PG_PAGE_TEXT

static int household_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_household x = {pg_int(r, i, 0),  pg_text(r, i, 1),     pg_text(r, i, 2),
                         pg_text(r, i, 3), (int)pg_int(r, i, 4), pg_text(r, i, 5)};
    return c->fn.household(c->ctx, &x);
}

int pg_households_each(void *impl, int (*fn)(void *ctx, const store_household *x), void *ctx,
                       ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT x.id, x.code, u.code, x.address, x.size, x.phone FROM households x"
              " JOIN units u ON u.id = x.grid_id",
              "x.code > $1", "x.code"),
        1,
        {1, 0}};
    struct cb c = {.fn.household = fn, .ctx = ctx};
    return pages(impl, &p, household_row, &c, e);
}

static int enterprise_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_enterprise x = {pg_int(r, i, 0), pg_text(r, i, 1), pg_text(r, i, 2), pg_text(r, i, 3),
                          pg_text(r, i, 4)};
    return c->fn.enterprise(c->ctx, &x);
}

int pg_enterprises_each(void *impl, int (*fn)(void *ctx, const store_enterprise *x), void *ctx,
                        ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT x.id, x.uscc, x.name, x.industry, u.code FROM enterprises x"
              " JOIN units u ON u.id = x.grid_id",
              "x.uscc > $1", "x.uscc"),
        1,
        {1, 0}};
    struct cb c = {.fn.enterprise = fn, .ctx = ctx};
    return pages(impl, &p, enterprise_row, &c, e);
}

static int group_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_group g = {pg_int(r, i, 0),  pg_text(r, i, 1), pg_text(r, i, 2),     pg_text(r, i, 3),
                     pg_text(r, i, 4), pg_text(r, i, 5), (int)pg_int(r, i, 6), pg_text(r, i, 7)};
    return c->fn.group(c->ctx, &g);
}

int pg_groups_each(void *impl, int (*fn)(void *ctx, const store_group *g), void *ctx, ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT g.id, g.platform, g.external_id, g.kind, u.code, g.name, g.members,"
              " g.target FROM chat_groups g JOIN units u ON u.id = g.unit_id",
              "(g.platform, g.external_id) > ($1, $2)", "g.platform, g.external_id"),
        2,
        {1, 2}};
    struct cb c = {.fn.group = fn, .ctx = ctx};
    return pages(impl, &p, group_row, &c, e);
}

static int staff_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_staff p = {pg_int(r, i, 0),  pg_text(r, i, 1), pg_text(r, i, 2), pg_text(r, i, 3),
                     pg_text(r, i, 4), pg_text(r, i, 5), pg_text(r, i, 6)};
    return c->fn.staff(c->ctx, &p);
}

int pg_staff_each(void *impl, int (*fn)(void *ctx, const store_staff *p), void *ctx, ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT s.id, s.account, s.name, s.phone, s.role, u.code, s.department"
              " FROM staff s JOIN units u ON u.id = s.unit_id",
              "s.account > $1", "s.account"),
        1,
        {1, 0}};
    struct cb c = {.fn.staff = fn, .ctx = ctx};
    return pages(impl, &p, staff_row, &c, e);
}

static int policy_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_policy p = {pg_int(r, i, 0),  pg_text(r, i, 1), pg_text(r, i, 2), pg_text(r, i, 3),
                      pg_text(r, i, 4), pg_text(r, i, 5), pg_text(r, i, 6), pg_text(r, i, 7),
                      pg_text(r, i, 8), pg_text(r, i, 9)};
    return c->fn.policy(c->ctx, &p);
}

int pg_policies_each(void *impl, int (*fn)(void *ctx, const store_policy *p), void *ctx, ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT id, code, title, category, audience, department, summary, eligibility,"
              " how_to_apply, keywords FROM policies",
              "code > $1", "code"),
        1,
        {1, 0}};
    struct cb c = {.fn.policy = fn, .ctx = ctx};
    return pages(impl, &p, policy_row, &c, e);
}

static int lexeme_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    const char *w = pg_text(r, i, 5);
    store_lexeme l = {pg_int(r, i, 0),  pg_text(r, i, 1),        pg_text(r, i, 2), pg_text(r, i, 3),
                      pg_text(r, i, 4), w ? strtod(w, NULL) : 0, pg_text(r, i, 6)};
    return c->fn.lexeme(c->ctx, &l);
}

int pg_lexicon_each(void *impl, int (*fn)(void *ctx, const store_lexeme *l), void *ctx, ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT id, term, kind, intent, category, weight, action FROM lexicon", "term > $1",
              "term"),
        1,
        {1, 0}};
    struct cb c = {.fn.lexeme = fn, .ctx = ctx};
    return pages(impl, &p, lexeme_row, &c, e);
}

static int message_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_message m = {pg_int(r, i, 0),  pg_int(r, i, 1),  pg_text(r, i, 2), pg_text(r, i, 3),
                       pg_text(r, i, 4), pg_text(r, i, 5), pg_int(r, i, 6),  pg_text(r, i, 7),
                       pg_text(r, i, 8), pg_text(r, i, 9), pg_text(r, i, 10)};
    return c->fn.message(c->ctx, &m);
}

int pg_messages_each(void *impl, int (*fn)(void *ctx, const store_message *m), void *ctx, ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT id, group_id, connector, external_id, sender_id, sender_name, sent_at,"
              " text, intent, category, triage FROM messages",
              "id > $1::bigint", "id"),
        1,
        {0, 0}};
    struct cb c = {.fn.message = fn, .ctx = ctx};
    return pages(impl, &p, message_row, &c, e);
}

static int case_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_case k = {
        .id = pg_int(r, i, 0),
        .source = pg_text(r, i, 1),
        .title = pg_text(r, i, 2),
        .description = pg_text(r, i, 3),
        .category = pg_text(r, i, 4),
        .urgency = pg_text(r, i, 5),
        .priority = (int)pg_int(r, i, 6),
        .status = pg_text(r, i, 7),
        .level = pg_text(r, i, 8),
        .unit_id = pg_int(r, i, 9),
        .department = pg_text(r, i, 10),
        .location = pg_text(r, i, 11),
        .photo_url = pg_text(r, i, 12),
        .reporter = pg_text(r, i, 13),
        .opened_at = pg_int(r, i, 14),
        .due_at = pg_int(r, i, 15),
        .closed_at = pg_int(r, i, 16),
        .overdue = (int)pg_int(r, i, 17),
        .satisfaction = (int)pg_int(r, i, 18),
    };
    return c->fn.kase(c->ctx, &k);
}

int pg_cases_each(void *impl, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT id, source, title, description, category, urgency, priority, status,"
              " level, unit_id, department, location, photo_url, reporter, opened_at,"
              " due_at, closed_at, overdue, satisfaction FROM cases",
              "id > $1::bigint", "id"),
        1,
        {0, 0}};
    struct cb c = {.fn.kase = fn, .ctx = ctx};
    return pages(impl, &p, case_row, &c, e);
}

static int event_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_case_event ev = {pg_int(r, i, 0),  pg_int(r, i, 1),  pg_int(r, i, 2), pg_text(r, i, 3),
                           pg_text(r, i, 4), pg_text(r, i, 5), pg_text(r, i, 6)};
    return c->fn.event(c->ctx, &ev);
}

int pg_case_events_each(void *impl, int (*fn)(void *ctx, const store_case_event *ev), void *ctx,
                        ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT id, case_id, at, actor, action, changes, note FROM case_events",
              "id > $1::bigint", "id"),
        1,
        {0, 0}};
    struct cb c = {.fn.event = fn, .ctx = ctx};
    return pages(impl, &p, event_row, &c, e);
}

static int lead_row(void *ctx, const PGresult *r, int i)
{
    const struct cb *c = ctx;
    store_lead l = {pg_int(r, i, 0),  pg_int(r, i, 1),  pg_int(r, i, 2), pg_int(r, i, 3),
                    pg_text(r, i, 4), pg_text(r, i, 5), pg_int(r, i, 6), pg_int(r, i, 7)};
    return c->fn.lead(c->ctx, &l);
}

int pg_leads_each(void *impl, int (*fn)(void *ctx, const store_lead *l), void *ctx, ny_err *e)
{
    static const struct pager p = {
        PAGED("SELECT id, message_id, group_id, unit_id, intent, category, created_at, case_id"
              " FROM leads",
              "id > $1::bigint", "id"),
        1,
        {0, 0}};
    struct cb c = {.fn.lead = fn, .ctx = ctx};
    return pages(impl, &p, lead_row, &c, e);
}

/* ---- counts ------------------------------------------------------------- */

int pg_stats_get(void *impl, store_stats *out, ny_err *e)
{
    static const char sql[] = "SELECT"
                              " (SELECT count(*) FROM units WHERE level = 'district'),"
                              " (SELECT count(*) FROM units WHERE level = 'street'),"
                              " (SELECT count(*) FROM units WHERE level = 'community'),"
                              " (SELECT count(*) FROM units WHERE level = 'grid'),"
                              " (SELECT count(*) FROM chat_groups WHERE kind = 'resident'),"
                              " (SELECT count(*) FROM chat_groups WHERE kind = 'enterprise'),"
                              " (SELECT count(*) FROM households),"
                              " (SELECT count(*) FROM enterprises),"
                              " (SELECT count(*) FROM staff),"
                              " (SELECT count(*) FROM messages),"
                              " (SELECT count(*) FROM leads),"
                              " (SELECT count(*) FROM cases WHERE status <> 'closed'),"
                              " (SELECT count(*) FROM cases WHERE status = 'closed'),"
                              " (SELECT count(*) FROM policies),"
                              " (SELECT count(*) FROM lexicon)";
    PGresult *r;
    ny_err_clear(e);
    memset(out, 0, sizeof *out);
    int rc = pg_run(impl, sql, 0, NULL, &r, e, "query failed");
    if (rc != NY_OK)
        return rc;
    long *f[] = {&out->units_district, &out->units_street,    &out->units_community,
                 &out->units_grid,     &out->groups_resident, &out->groups_enterprise,
                 &out->households,     &out->enterprises,     &out->staff,
                 &out->messages,       &out->leads,           &out->cases_open,
                 &out->cases_closed,   &out->policies,        &out->lexicon};
    for (int i = 0; i < (int)(sizeof f / sizeof f[0]); i++)
        *f[i] = (long)pg_int(r, 0, i);
    PQclear(r);
    return NY_OK;
}
