/* store_case.h - storage of the case loop: cases with their SLA fields,
 * the append-only transaction log and reporters.
 *
 * Written once for both engines over store_sql (store_sql.h). A case_row is
 * a case as the workflow (case.h) reads and writes it: codes instead of
 * ids, owned strings. Updates are optimistic: store_case_save writes only
 * if the stored version is still the one loaded, so two nodes (or two
 * requests) acting on one case at once cannot both win; the loser gets
 * NY_ECONFLICT and starts over. Callers wrap a change, its log entry and
 * its outbox message in one store_begin/store_commit. */
#ifndef NY_STORE_CASE_H
#define NY_STORE_CASE_H

#include <stdint.h>

#include "store.h"

typedef struct case_row {
    int64_t id, version;
    char kind[16];    /* case | rectification */
    char source[16];  /* lead walk_in phone patrol hotline */
    char urgency[16]; /* emergency utility general complex */
    char status[16];  /* reported accepted in_progress resolved verified closed suspended */
    char level[16];   /* level of the holding unit */
    char stage[16];   /* SLA stage: accept resolve verify, or "" */
    char suspended_from[16];
    char category[64];
    char unit[32], origin[32], prev_unit[32]; /* unit codes; prev_unit may be "" */
    char unit_name[128];
    char department[128]; /* at district level: the department holding it */
    char resolved_by[256];
    char *title, *description, *location, *photo_url, *reporter; /* owned, never NULL */
    int priority, overdue, satisfaction, accept_late, resolve_late, reopen_count;
    int64_t opened_at, due_at, closed_at, accepted_at, resolved_at, verified_at;
    int64_t next_check_at, sla_left, merged_into, group_id; /* 0 = none */
    int64_t unit_id; /* store_case_insert_batch only: the id of unit (and of origin when it
                      * is the same code) when the caller knows it; 0 = looked up by code */
} case_row;

/* Frees the strings of c (not c itself); a zeroed row is fine. */
void case_row_free(case_row *c);

/* Copies src's strings into dst (which must not own any). NY_OK or NY_ERR. */
int case_row_copy(case_row *dst, const case_row *src, ny_err *e);

/* Sets one of c's owned strings (c->title, ...) to a copy of v ("" for
 * NULL). NY_OK or NY_ERR. */
int case_row_set(char **field, const char *v, ny_err *e);

/* Loads case id into *out (which the caller frees with case_row_free).
 * NY_ENOTFOUND when there is none. */
int store_case_load(store *s, int64_t id, case_row *out, ny_err *e);

/* Inserts c (its unit, origin and prev_unit codes must exist) and sets
 * c->id; c->version becomes 0. */
int store_case_insert(store *s, case_row *c, ny_err *e);

/* Inserts the n cases c[0..n-1] as store_case_insert does each, with a few
 * statements, and sets their ids; a case whose unit_id is set is written
 * with that unit (and origin, when it is the same code) without looking its
 * code up. */
int store_case_insert_batch(store *s, case_row *const *c, size_t n, ny_err *e);

/* Writes every field of c if the stored version is still c->version, then
 * raises c->version. NY_ECONFLICT when someone else changed it first. */
int store_case_save(store *s, case_row *c, ny_err *e);

/* The case-loop fields of a case written by the bulk demo generator
 * (store_case_put_batch knows only the original columns): units and group
 * by id, 0 = NULL. */
typedef struct case_milestones {
    int64_t case_id, origin_unit_id, group_id;
    const char *stage, *suspended_from, *resolved_by;
    int64_t next_check_at, sla_left, accepted_at, resolved_at, verified_at;
    int accept_late, resolve_late;
} case_milestones;

int store_case_set_milestones(store *s, const case_milestones *m, ny_err *e);

/* Appends one entry to case_id's log (changes: JSON object text). */
int store_case_log(store *s, int64_t case_id, int64_t at, const char *actor, const char *action,
                   const char *changes, const char *note, int64_t *event_id, ny_err *e);

/* One entry of store_case_log_batch (note NULL = ""). */
typedef struct case_log_row {
    int64_t case_id, at;
    const char *actor, *action, *changes, *note;
} case_log_row;

/* Appends n log entries, in order, with a few statements. */
int store_case_log_batch(store *s, const case_log_row *r, size_t n, ny_err *e);

/* One log entry, valid during the callback. */
typedef struct case_event {
    int64_t id, at;
    const char *actor, *action, *changes, *note;
} case_event;

/* The log of case_id, oldest first. */
int store_case_events(store *s, int64_t case_id, int (*fn)(void *ctx, const case_event *ev),
                      void *ctx, ny_err *e);

/* Records a reporter of case_id (idempotent per group and sender).
 * message_id 0 = none. */
int store_case_reporter_add(store *s, int64_t case_id, int64_t group_id, const char *sender_id,
                            const char *sender_name, int64_t message_id, int64_t at, ny_err *e);

/* One reporter of store_case_reporter_add_batch (message_id 0 = none). */
typedef struct case_reporter_row {
    int64_t case_id, group_id, message_id, at;
    const char *sender_id, *sender_name;
} case_reporter_row;

/* Records the first reporters of n new cases with a few statements (a
 * reporter already recorded for its case is an error here: NY_EEXIST). */
int store_case_reporter_add_batch(store *s, const case_reporter_row *r, size_t n, ny_err *e);

/* Copies every reporter of from to to (merging duplicates). */
int store_case_reporters_merge(store *s, int64_t from, int64_t to, ny_err *e);

/* One reporter, valid during the callback. */
typedef struct case_reporter {
    const char *group, *group_name, *sender_id, *sender_name;
    int64_t message_id, at;
} case_reporter;

int store_case_reporters(store *s, int64_t case_id, int (*fn)(void *ctx, const case_reporter *r),
                         void *ctx, ny_err *e);

/* The newest case this sender reported in this group that is not closed,
 * or was closed at or after closed_since (reopen window); NY_ENOTFOUND if
 * none. */
int store_case_of_reporter(store *s, int64_t group_id, const char *sender_id, int64_t closed_since,
                           int64_t *case_id, ny_err *e);

/* The case a lead opened (0 = none yet), and linking a lead to its case. */
int store_case_of_lead(store *s, int64_t lead_id, int64_t *case_id, ny_err *e);
int store_case_link_lead(store *s, int64_t lead_id, int64_t case_id, ny_err *e);

/* Filters of a case list; NULL or 0 fields do not filter. scope is a unit
 * code prefix the holding unit must start with; department (for the
 * department role) restricts to district-level cases it holds. */
typedef struct case_filter {
    const char *scope, *department, *status, *level, *unit, *category, *q, *kind;
    int overdue; /* -1 any, 0, 1 */
    int open_only;
    long limit, offset;
} case_filter;

/* The cases matching f, newest first, limit/offset applied, and the total
 * number matching in *total. */
int store_case_list(store *s, const case_filter *f, int (*fn)(void *ctx, const case_row *c),
                    void *ctx, long *total, ny_err *e);

/* The ids of up to max cases whose next check time is at or before now, in
 * time order (the scheduler's index). */
int store_case_due(store *s, int64_t now, int max, int64_t *ids, int *n, ny_err *e);

/* ---- feed: the log read forward (store_case_feed.c) ----------------------
 * One committed log entry with its case as the case is now (no texts: case
 * events carry none, see server_cases_events.c). */
typedef struct case_feed_item {
    int64_t id, case_id, at;
    const char *actor, *action, *changes; /* changes: JSON object text */
    const char *kind, *category, *status, *level, *unit, *unit_name, *department;
    int overdue;
} case_feed_item;

/* The id of the newest log entry (0 when there is none). */
int store_case_feed_last(store *s, int64_t *id, ny_err *e);

/* Up to max log entries with ids above after, oldest first. */
int store_case_feed(store *s, int64_t after, int max,
                    int (*fn)(void *ctx, const case_feed_item *it), void *ctx, ny_err *e);

/* The ids alone of the entries store_case_feed would give, in its order
 * (for a reader that passes them over). */
int store_case_feed_ids(store *s, int64_t after, int max, int (*fn)(void *ctx, int64_t id),
                        void *ctx, ny_err *e);

/* Name and level of a unit, and its parent's code ("" for the district).
 * NY_ENOTFOUND when there is no such unit. */
int store_case_unit(store *s, const char *code, char *name, size_t namesz, char *level,
                    size_t levelsz, char *parent, size_t parentsz, ny_err *e);

#endif
