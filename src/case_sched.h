/* case_sched.h - the case scheduler: reminders before a deadline, and on a
 * breach the overdue mark (超期) and automatic escalation one level up.
 *
 * Cases carry next_check_at (indexed): the reminder time of their current
 * stage, then its deadline. A pass takes up to CASE_SCHED_MAX cases whose
 * check time has come, oldest first, for at most CASE_SCHED_BUDGET seconds
 * (the rest wait for the next pass), and
 * handles them in one transaction, each under a savepoint and the case's
 * version check, so several nodes may run passes at once: for each case
 * only one of them commits, the others undo that case and move on. Time is
 * the caller's (the server's clock, or the test clock). */
#ifndef NY_CASE_SCHED_H
#define NY_CASE_SCHED_H

#include <stdint.h>

#include "sla.h"
#include "store.h"

/* Most cases one pass handles, and the wall-clock seconds after which it
 * takes no further case (a slow database still commits within a second;
 * what is left is still due, for the next pass). */
#define CASE_SCHED_MAX 256
#define CASE_SCHED_BUDGET 0.5

typedef struct case_sched_stats {
    long reminded, escalated, overdue, skipped;
} case_sched_stats;

/* Handles up to max (at most CASE_SCHED_MAX) cases due at now and commits
 * them; adds what it did to *st. A case that another node handled first
 * counts as skipped. NY_OK, or the first store error other than such a
 * race (the cases handled without error are still committed, unless the
 * commit itself fails: then nothing is, and *st is unchanged). */
int case_sched_pass(store *db, const sla *s, int64_t now, int max, case_sched_stats *st, ny_err *e);

#endif
