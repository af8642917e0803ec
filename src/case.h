/* case.h - the closed case loop: states, actions, who may take them, and
 * what each does to a case, its deadlines, its log and its reporters.
 *
 * States: reported (受理) → accepted (立案) → in_progress (处置中) →
 * resolved (已处置) → verified (核查) → closed (结案), plus suspended (挂起).
 * A case is held by one unit at one level (grid, community, street, or the
 * district, where a department holds it). Each action is allowed only in
 * some states and to some callers: the holder works the case (accept,
 * start, resolve, handle_on_spot at grid level, return, suspend, resume,
 * escalate), a superior steers it (supervise, reassign, resume), anyone who
 * sees it but did not resolve it may verify or reopen it, and anyone who
 * sees it may close a verified case or merge duplicates. Every change is
 * saved with a version check and logged in case_events (actor, time,
 * action, changed fields old → new, note) in the same transaction; the
 * reporter's group hears of accept, resolve and close through the outbox.
 * Deadlines come from sla.h: each stage (accept, resolve, verify) starts a
 * deadline and a reminder time in next_check_at, which the scheduler
 * (case_sched_pass) watches. */
#ifndef NY_CASE_H
#define NY_CASE_H

#include <stdint.h>

#include "sla.h"
#include "store.h"
#include "store_case.h"

enum case_action {
    CASE_ACCEPT,
    CASE_START,
    CASE_RESOLVE,
    CASE_ON_SPOT,
    CASE_VERIFY,
    CASE_CLOSE,
    CASE_RETURN,
    CASE_SUSPEND,
    CASE_RESUME,
    CASE_SUPERVISE,
    CASE_ESCALATE,
    CASE_REOPEN,
    CASE_REASSIGN,
    CASE_MERGE,
    CASE_NACTIONS
};

/* Action names as the API spells them ("accept", ..., "merge"), in enum
 * order, NULL-terminated. */
extern const char *const case_action_names[];

/* Who acts. Staff: account, name, role, unit (code), prefix (the code
 * prefix of their subtree) and department. The scheduler acts as role
 * "system" (account "system"); a reporter in a group as role "resident"
 * (account "resident:<sender id>"). */
typedef struct case_actor {
    const char *account, *name, *role, *unit, *prefix, *department;
} case_actor;

/* What the actor asks for. note is required by resolve, handle_on_spot,
 * return, suspend, supervise, escalate and reopen; unit or department name
 * the new holder of reassign; into the case a merge goes into; rating
 * (1..5, 0 = none) may come with close. */
typedef struct case_request {
    int action;
    const char *note, *photo_url, *unit, *department;
    int rating;
    int64_t into;
} case_request;

/* 1 when a may see c (it holds it, holds a unit above it, or is the
 * department, district or admin), else 0. */
int case_visible(const case_row *c, const case_actor *a);

/* The actions a may take on c now, as a bit mask (1u << CASE_ACCEPT ...). */
unsigned case_allowed(const case_row *c, const case_actor *a);

/* Writes the names of the actions in mask as a JSON array text into buf. */
void case_allowed_json(unsigned mask, char *buf, size_t n);

/* Applies req to the case c (loaded by the caller inside its transaction)
 * at time now: checks it is allowed (NY_ECONFLICT with *allowed set to the
 * mask of what is, and a message naming them), checks the request
 * (NY_EINVAL naming the field), changes c, saves it under the version check
 * (NY_ECONFLICT when someone else was faster), logs the event and queues
 * the reporter's message. c holds the new state on NY_OK. allowed may be
 * NULL. */
int case_apply(store *db, const sla *s, case_row *c, const case_actor *a, const case_request *req,
               int64_t now, unsigned *allowed, ny_err *e);

/* case_apply in its own transaction, starting over (up to three times)
 * when a concurrent update wins; *out (may be NULL) receives the new state,
 * which the caller frees. NY_ENOTFOUND also when a may not see the case. */
int case_act(store *db, const sla *s, int64_t id, const case_actor *a, const case_request *req,
             int64_t now, unsigned *allowed, case_row *out, ny_err *e);

/* Opens a new case from c's fields (kind, source, title, description,
 * category, urgency, unit, location, photo_url, reporter, group_id; level
 * and unit_name are looked up): status reported, stage accept with its
 * deadline, origin = unit, logged as "report" by a. A rectification item
 * whose c->due_at is set (a deadline after now) starts accepted instead,
 * in the resolve stage with that deadline. Runs inside the caller's
 * transaction (or autocommits each statement without one). */
int case_open(store *db, const sla *s, case_row *c, const case_actor *a, int64_t now, ny_err *e);

/* case_open's part without the store, for callers that open many cases
 * with one statement (the ingest effects): fills c as case_open does, its
 * holding unit's name and level given. */
void case_open_fill(const sla *s, case_row *c, const char *unit_name, const char *level,
                    int64_t now);

/* The "report" log entry of a case just opened by a: its changes JSON
 * into changes (n bytes, 256 are enough) and the note it returns. */
const char *case_open_log(const case_row *c, const case_actor *a, char *changes, size_t n);

/* Sets c's stage and its deadline and reminder from now on s's limits. */
void case_stage_start(case_row *c, const sla *s, const char *stage, int64_t now);

/* Formats t as "2026-05-01T08:30:00+08:00" (China time) into buf[32]. */
void case_time_iso(int64_t t, char *buf);

/* Chinese label of a status ("受理", "立案", ...). */
const char *case_status_label(const char *status);

#endif
