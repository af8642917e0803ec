/* server_cases.h - what the case routes of the server share
 * (server_cases.c, server_cases_report.c, server_cases_sched.c); not for use
 * outside the server module. */
#ifndef NY_SERVER_CASES_H
#define NY_SERVER_CASES_H

#include "case.h"
#include "case_feedback.h"
#include "server_int.h"

/* Loads the SLA table and calendar from the server's data directory and
 * starts the case scheduler thread (a pass every 0.2 s at server_now()).
 * NY_EINVAL for a bad data file. */
int server_cases_start(server *sv, ny_err *e);

/* Stops the scheduler and frees the SLA table; safe when never started. */
void server_cases_stop(server *sv);

/* The server's SLA table (with its calendar). */
const sla *server_cases_sla(server *sv);

/* The case side of a lead written by ingest (server_effects.c), in its
 * transaction: a help, report, complaint or emergency lead opens a case, or
 * adds its sender to the case of the lead it joined (merged duplicates);
 * the lead is linked to its case. l->duplicate_of is filled here. */
int server_cases_lead(server *sv, store *db, int64_t lead_id, case_lead *l, ny_err *e);

/* The caller as the case module's actor (borrowing who's strings). */
void server_case_actor(const server_caller *who, case_actor *a);

/* A case as a list item of GET /api/v1/cases. */
json_t *server_case_json(const case_row *c);

/* The daily digest (日报) of the unit named name with subtree prefix for
 * the local day starting at day: new and closed cases that day, open and
 * overdue cases now, the first overdue ones listed; into out. */
int server_cases_digest_text(store *db, const char *name, const char *prefix, int64_t day,
                             char *out, size_t n, ny_err *e);

/* Wakes the scheduler thread at once (after a staff action committed), so
 * its event reader announces the change without waiting for the tick. */
void server_cases_poke(server *sv);

/* Most announced log ids kept above the mark (server_cases_events.c). */
#define SERVER_CASE_FEED_SEEN 1024

/* The case-event reader's memory: every log id up to mark is announced (or
 * given up); seen holds those above it already announced; hole_since is
 * when the first missing id after mark was noticed (0 = none). Zeroed to
 * start. */
typedef struct server_case_feed {
    int64_t mark;
    int64_t seen[SERVER_CASE_FEED_SEEN];
    size_t nseen;
    double hole_since;
    int started;
} server_case_feed;

/* Publishes the case log entries committed since the last call as "case"
 * events on the live stream; the first call only notes where the log ends.
 * Called by the scheduler thread with its own store handle. */
int server_cases_feed_poll(server *sv, store *db, server_case_feed *f, ny_err *e);

/* Routes (docs/API.md "Cases"). */
void server_cases_list(server *sv, const server_call *call, server_reply *r);
void server_cases_post(server *sv, const server_call *call, server_reply *r);
void server_case_get(server *sv, const server_call *call, server_reply *r);
void server_case_action(server *sv, const server_call *call, server_reply *r);
void server_kpi(server *sv, const server_call *call, server_reply *r);
void server_kpi_workers(server *sv, const server_call *call, server_reply *r);
void server_ledger(server *sv, const server_call *call, server_reply *r);
void server_digest(server *sv, const server_call *call, server_reply *r);

#endif
