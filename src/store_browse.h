/* store_browse.h - the staff API's list queries: chat groups, messages and
 * leads of a unit subtree with filters, newest first, a page at a time, and
 * the children of a unit.
 *
 * Every query is limited to the subtree whose units have codes in
 * [code_lo, code_hi) (a unit's significant prefix and that prefix followed
 * by ':', which sorts right after '9'), so scope is part of the SQL and a
 * row outside it cannot be returned. Each call also counts the rows that
 * match (*total) for pagination. Strings given to callbacks are valid only
 * during the call. Storage code over store_sql: the same SQL on both
 * engines. */
#ifndef NY_STORE_BROWSE_H
#define NY_STORE_BROWSE_H

#include <stdint.h>

#include "store.h"

/* A subtree, filters and a page. Empty strings (or NULL) and zero times
 * mean "no filter". */
typedef struct store_browse_q {
    const char *code_lo, *code_hi; /* the subtree's code range */
    const char *group;             /* a group's external id */
    const char *kind;              /* groups: resident | enterprise */
    const char *intent, *category; /* leads */
    const char *text;              /* messages: a substring of the text */
    int64_t from, to;              /* [from, to) on the message's or lead's time */
    long limit, offset;
} store_browse_q;

/* One row of a list: the fields the API shows. NULL where the row has none. */
typedef struct store_browse_row {
    int64_t id, message_id, case_id, time;
    const char *group, *group_name, *platform, *kind;
    const char *unit_code, *unit_name;
    const char *sender_id, *sender_name, *text;
    const char *intent, *category, *triage;
    int64_t members;
} store_browse_row;

typedef int (*store_browse_fn)(void *ctx, const store_browse_row *row);

/* Chat groups by unit code and external id (kind filters). */
int store_browse_groups(store *s, const store_browse_q *q, store_browse_fn fn, void *ctx,
                        int64_t *total, ny_err *e);

/* Messages newest first (group, text, from/to filter). */
int store_browse_messages(store *s, const store_browse_q *q, store_browse_fn fn, void *ctx,
                          int64_t *total, ny_err *e);

/* Leads newest first with their message's text (group, intent, category,
 * from/to filter). */
int store_browse_leads(store *s, const store_browse_q *q, store_browse_fn fn, void *ctx,
                       int64_t *total, ny_err *e);

/* The units whose parent is the unit with this code, by code. */
int store_unit_children(store *s, const char *code, int (*fn)(void *ctx, const store_unit *u),
                        void *ctx, ny_err *e);

#endif
