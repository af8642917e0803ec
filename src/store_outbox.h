/* store_outbox.h - storage of outbound things and of what ingest decides:
 * outbox rows and their claims (store_outbox.c), notices with their
 * per-group deliveries (store_notice.c), leads with their reporters and
 * the targets of groups and staff (store_effects.c).
 *
 * Written once for both engines over store_sql.h. Conventions as store.h:
 * NY_* codes, details in *e, strings in rows valid only during a callback,
 * times in Unix seconds. Each call runs inside the caller's transaction if
 * one is open. */
#ifndef NY_STORE_OUTBOX_H
#define NY_STORE_OUTBOX_H

#include <stdint.h>

#include "store.h"

/* ---- outbox rows (store_outbox.c) ---------------------------------------- */

typedef struct store_outbox_row {
    int64_t id;
    const char *key, *kind, *channel, *target;
    const char *payload; /* JSON: {"text":…,"group":…,"mentions":[…]} */
    const char *status;  /* pending | sending | sent | dead */
    const char *last_error;
    int attempts, priority;
    int64_t next_at, created_at, sent_at; /* sent_at 0 = not sent */
} store_outbox_row;

/* Inserts r (key, kind, channel, target, payload, priority, next_at,
 * created_at are read) as pending. A key already present inserts nothing:
 * *fresh becomes 0 and *id_out the existing row's id. */
int store_outbox_put(store *s, const store_outbox_row *r, int64_t *id_out, int *fresh, ny_err *e);

/* Inserts the n rows r[] as store_outbox_put does each, with a few
 * multi-row statements (store_sql_rows) and without reading ids back; a
 * key already present inserts nothing for that row. *inserted counts the
 * rows inserted. */
int store_outbox_put_batch(store *s, const store_outbox_row *r, size_t n, long *inserted,
                           ny_err *e);

/* Claims up to max (at most 256) due rows for node until now + lease_s:
 * sending rows whose lease ran out first, then pending rows whose next_at
 * has come, lowest priority number first, then oldest next_at. Calls fn for
 * each (status "sending"). Up to five short reads, each reading only the
 * rows it takes (index outbox_claim), and one UPDATE of the chosen rows by
 * id; run it inside a transaction (store_begin: the delivery worker's turn,
 * which also writes the outcomes of its last rows and takes their targets'
 * minute slots), which holds the chosen rows from their read to their
 * update: on PostgreSQL the reads lock them and skip rows locked by another
 * node's claim (FOR UPDATE SKIP LOCKED), on SQLite the write lock
 * serialises claims. The rows handed to fn are claimed only once that
 * transaction has committed. */
int store_outbox_claim(store *s, const char *node, int64_t now, int lease_s, int max,
                       int (*fn)(void *ctx, const store_outbox_row *r), void *ctx, ny_err *e);

/* The end of an attempt on row id claimed by node: status "sent" (sent_at
 * now, error ignored), "pending" (failed, retry at next_at) or "dead"
 * (failed for good); attempts become attempts, error is kept as
 * last_error. NY_ECONFLICT when node no longer holds the claim. */
int store_outbox_finish(store *s, int64_t id, const char *node, const char *status, int attempts,
                        int64_t now, int64_t next_at, const char *error, ny_err *e);

/* store_outbox_finish with status "sent" for the n (at most 256) rows
 * ids claimed by node, in one statement: each row's attempts go up by one,
 * sent_at and next_at become now. *updated counts the rows changed; a row
 * node no longer holds is left as it is (not counted). */
int store_outbox_sent_batch(store *s, const int64_t *ids, size_t n, const char *node, int64_t now,
                            long *updated, ny_err *e);

/* Gives back every row node has claimed (or only row id when id > 0),
 * pending again at next_at (0 = as they were due), attempts unchanged. */
int store_outbox_release(store *s, const char *node, int64_t id, int64_t next_at, ny_err *e);

/* Rows with status (NULL = all), newest first, limit/offset; *total the
 * number of such rows. */
int store_outbox_list(store *s, const char *status, long limit, long offset,
                      int (*fn)(void *ctx, const store_outbox_row *r), void *ctx, long *total,
                      ny_err *e);

/* A dead row goes back to pending, due now, with its attempts reset.
 * NY_ENOTFOUND for no such row, NY_ECONFLICT when it is not dead. */
int store_outbox_retry(store *s, int64_t id, int64_t now, ny_err *e);

/* The shared sliding minute of one delivery target (a key naming it, e.g.
 * a hash of its URL): takes k request slots at now_ms when fewer than
 * per_minute - k + 1 were taken in the 60 s before, setting *taken to 1; else
 * *taken is 0 and *next_ms the earliest time k slots will be free. k is
 * clamped to 1..per_minute. Runs in its own transaction (not inside
 * another); takes for one target are serialised across every handle,
 * process and node on the database, so together they never exceed the
 * limit, and the window survives restarts. */
int store_outbox_rate_take(store *s, const char *target, int k, int per_minute, int64_t now_ms,
                           int *taken, int64_t *next_ms, ny_err *e);

/* store_outbox_rate_take for n (at most 256) targets in the caller's
 * transaction (the delivery worker's turn, with the claim of the rows), in
 * order: a later take for the same target sees the slots of an earlier
 * one. A few statements for all of them (each target's window row written
 * in the targets' sorted order, its old sends deleted, the sends counted,
 * the new sends inserted), not a few per take. taken[i] and next_ms[i] as
 * store_outbox_rate_take gives them; on an error roll the transaction back
 * (nothing is taken then). */
int store_outbox_rate_take_batch(store *s, const char *const *targets, const int *k, size_t n,
                                 int per_minute, int64_t now_ms, int *taken, int64_t *next_ms,
                                 ny_err *e);

/* Makes the commits of handle s return without waiting for their own
 * flush to disk (the delivery worker's handle): on SQLite, in WAL mode,
 * synchronous=NORMAL on this connection only, so its transactions reach
 * the disk with the next commit of a handle that flushes (every other
 * handle keeps synchronous=FULL, and a flush of the log covers everything
 * written to it before) or with the next checkpoint; on PostgreSQL
 * synchronous_commit=off for this session, so they reach the disk within
 * the WAL writer's delay. A crash of the process loses nothing committed
 * this way; a power loss (or, on PostgreSQL, a crash of the database
 * server) may lose the last such transactions. */
int store_outbox_lazy_commits(store *s, ny_err *e);

/* Rows waiting (pending or sending) and dead. */
int store_outbox_depth(store *s, long *waiting, long *dead, ny_err *e);

/* Retention: deletes at most max rows that were sent before sent_before,
 * oldest first within each priority, in one statement per priority (0..3);
 * *purged (may be NULL) receives how many. Rows waiting or dead are never
 * deleted (a dead letter stays until it is retried), nor a sent row that a
 * notice delivery refers to (the notice's report reads it). Callers repeat
 * it while it deletes max rows, so the write lock is held only briefly at a
 * time. */
int store_outbox_purge(store *s, int64_t sent_before, int max, long *purged, ny_err *e);

/* ---- targets and leads (store_effects.c) --------------------------------- */

/* Where a group or a staff member is reached. channel "" = not reachable. */
typedef struct store_target {
    char channel[16];
    char target[1024];
    char group[128]; /* the group's external id ("" for staff) */
    char name[128];  /* the group's or staff member's name */
    int64_t id;      /* chat_groups.id or staff.id */
    int64_t unit_id; /* the group's unit (chat_groups.unit_id), 0 for staff */
} store_target;

/* The group's target (channel from its platform). NY_ENOTFOUND if absent. */
int store_group_target(store *s, int64_t group_id, store_target *t, ny_err *e);

/* The id, name and level of the unit with this code (name and level cut to
 * their sizes), read before a commit so that the rows written inside name
 * the unit by id; NY_ENOTFOUND ("no such unit", as store_case_unit says)
 * if there is none. */
int store_unit_of_code(store *s, const char *code, int64_t *id, char *name, size_t namesz,
                       char *level, size_t levelsz, ny_err *e);

/* A chat group as store_groups_targets gives it: its target (t.unit_id its
 * unit's id), and the code, name and level of its unit. */
typedef struct store_group_unit {
    store_target t;
    const char *unit_code, *unit_name, *level;
} store_group_unit;

/* Calls fn for every chat group whose id is from lo to hi (in one range
 * read: the groups of a large request at once, where store_group_target
 * and store_case_unit would each read them one at a time); fn's error ends
 * the walk and is returned. The strings live until fn returns. */
int store_groups_targets(store *s, int64_t lo, int64_t hi,
                         int (*fn)(void *ctx, const store_group_unit *g), void *ctx, ny_err *e);

/* The staff member's notification target. NY_ENOTFOUND if absent. */
int store_staff_target(store *s, const char *account, store_target *t, ny_err *e);

/* Sets the notification target of a staff member (channel "" clears it).
 * NY_ENOTFOUND for an unknown account. */
int store_staff_target_set(store *s, const char *account, const char *channel, const char *target,
                           ny_err *e);

/* Points every staff member's notification target at base +
 * "/staff/<account>" (channel webhook) and, with groups set, every group's
 * target at base + "/<platform>/<external id>": the demo's staff targets,
 * and demos and tests with a local receiver. *ngroups and *nstaff (may be
 * NULL) receive the counts. */
int store_targets_rebase(store *s, const char *base, int groups, long *ngroups, long *nstaff,
                         ny_err *e);

/* Opens a lead for message l->message_id (group, unit — 0 for the group's
 * own —, intent, category, created_at and case_id — 0 for none yet — read)
 * under merge_key (may be NULL) with one reporter, and counts it in the
 * unit statistics. The message is the lead's first report (its message_id);
 * lead_reports receives only the messages joined later (store_lead_join). */
int store_lead_open(store *s, const store_lead *l, const char *merge_key, int64_t *id_out,
                    ny_err *e);

/* Opens the n leads l[0..n-1] as store_lead_open does each (merge_keys[i]
 * may be NULL) with a few statements, and gives their ids in ids[0..n-1]. */
int store_lead_open_batch(store *s, const store_lead *l, const char *const *merge_keys, size_t n,
                          int64_t *ids, ny_err *e);

/* Lists message_id by sender_id at time at in lead_reports under the lead
 * opened under merge_key (the latest with that key) and sets its reporter
 * count to reporters. *lead_id receives the lead. NY_ENOTFOUND when no lead
 * has that key. */
int store_lead_join(store *s, const char *merge_key, int64_t message_id, const char *sender_id,
                    int reporters, int64_t at, int64_t *lead_id, ny_err *e);

/* ---- notices (store_notice.c) --------------------------------------------
 * A notice (群发通知) is sent by a staff member to every group of the given
 * kinds under a scope unit; each group gets a notice_deliveries row pointing
 * at the outbox row that carries it, and delivery state is read from there. */

/* Inserts a notice by sender (account) for the unit scope_code; kinds is
 * "resident", "enterprise" or "resident,enterprise". NY_ENOTFOUND for an
 * unknown account or unit (the message says which). */
int store_notice_put(store *s, const char *sender, const char *scope_code, const char *kinds,
                     const char *text, int64_t created_at, int64_t send_at, int64_t *id_out,
                     ny_err *e);

/* The groups of the notice's fan-out: every group whose unit code starts
 * with prefix and whose kind is in kinds (as above), by id. */
int store_notice_groups(store *s, const char *prefix, const char *kinds,
                        int (*fn)(void *ctx, int64_t group_id), void *ctx, ny_err *e);

/* Records the delivery of notice to group through outbox row outbox_id
 * (0 = none: the group has no target, recorded as failed). */
int store_notice_delivery_put(store *s, int64_t notice, int64_t group_id, int64_t outbox_id,
                              int64_t now, ny_err *e);

typedef struct store_notice {
    int64_t id;
    const char *sender, *scope, *scope_name, *kinds, *text;
    int64_t created_at, send_at;
    long pending, sent, dead, failed; /* deliveries by state */
} store_notice;

typedef struct store_notice_delivery {
    const char *group, *group_name; /* external id and name */
    const char *status;             /* pending | sent | dead | failed (no target) */
    int attempts;
    const char *last_error;
    int64_t sent_at; /* 0 = not sent */
} store_notice_delivery;

/* Notices whose scope unit code starts with prefix ("" = all), newest
 * first, limit/offset, with their delivery counts; *total the number. */
int store_notices_list(store *s, const char *prefix, long limit, long offset,
                       int (*fn)(void *ctx, const store_notice *n), void *ctx, long *total,
                       ny_err *e);

/* Notice id with its counts, then each of its deliveries by group name.
 * NY_ENOTFOUND when absent. fd may be NULL. */
int store_notice_get(store *s, int64_t id, int (*fn)(void *ctx, const store_notice *n),
                     int (*fd)(void *ctx, const store_notice_delivery *d), void *ctx, ny_err *e);

#endif
