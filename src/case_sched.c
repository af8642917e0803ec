/* case_sched.c - one pass of the case scheduler (see case_sched.h).
 *
 * For a case whose check time has come: before the deadline it is the
 * reminder (a "remind" log entry, next check at the deadline); at or after
 * the deadline the stage is late: the case is marked overdue and, while it
 * waits to be accepted or resolved below the district, escalated to the
 * parent unit by the system (case_apply with the escalate action, which
 * starts a fresh accept deadline there); at district level, when it waits
 * for verification, or for a rectification item (its owner stays
 * responsible), it gets an "overdue" log entry (催办) and no further checks
 * until someone acts.
 *
 * A pass is one transaction (one commit, not one per case: a commit waits
 * for the disk, and a burst of breaches would otherwise take seconds), with
 * a savepoint around each case so that a lost race or a failing case undoes
 * that case alone. */
#include "case_sched.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "case.h"
#include "store_case.h"

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const case_actor sys = {"system", "系统", "system", "", "", ""};

/* Handles one due case inside the pass's transaction; *what: 0 skipped, 1 reminded,
 * 2 escalated, 3 marked overdue. */
static int handle(store *db, const sla *s, case_row *c, int64_t now, int *what, ny_err *e)
{
    *what = 0;
    if (!c->next_check_at || c->next_check_at > now)
        return NY_OK; /* someone acted meanwhile */
    if (c->due_at && now < c->due_at) {
        c->next_check_at = c->due_at;
        int rc = store_case_save(db, c, e);
        if (rc == NY_OK) {
            char note[160], due[32];
            case_time_iso(c->due_at, due);
            snprintf(note, sizeof note, "即将到期，请于%s前办理 / due at %s", due, due);
            rc = store_case_log(db, c->id, now, "system", "remind", "{}", note, NULL, e);
        }
        *what = 1;
        return rc;
    }
    int escalate = (strcmp(c->stage, "accept") == 0 || strcmp(c->stage, "resolve") == 0) &&
                   strcmp(c->level, "district") != 0 && strcmp(c->kind, "case") == 0;
    if (escalate) {
        case_request req = {
            .action = CASE_ESCALATE,
            .note = strcmp(c->stage, "accept") == 0
                        ? "超过受理时限未受理，系统自动上报上级 / not accepted in time"
                        : "超过处置时限未办结，系统自动上报上级 / not resolved in time"};
        *what = 2;
        return case_apply(db, s, c, &sys, &req, now, NULL, e);
    }
    case_row before;
    int rc = case_row_copy(&before, c, e);
    if (rc != NY_OK)
        return rc;
    if (strcmp(c->stage, "accept") == 0)
        c->accept_late = 1;
    if (strcmp(c->stage, "resolve") == 0)
        c->resolve_late = 1;
    c->overdue = 1;
    c->next_check_at = 0;
    rc = store_case_save(db, c, e);
    if (rc == NY_OK)
        rc = store_case_log(db, c->id, now, "system", "overdue",
                            before.overdue ? "{}" : "{\"overdue\":[0,1]}",
                            "已超过办理时限，系统催办 / overdue", NULL, e);
    case_row_free(&before);
    *what = 3;
    return rc;
}

/* Handles case id inside the pass's transaction, under a savepoint: a
 * case another node changed first, or one that fails, is undone alone (a
 * race counts as skipped, *what = -1). *lost is set when even the undo
 * failed and the transaction cannot be trusted. */
static int one(store *db, const sla *s, int64_t id, int64_t now, int *what, int *lost, ny_err *e)
{
    case_row c;
    int rc = store_savepoint(db, e);
    if (rc != NY_OK)
        return rc;
    rc = store_case_load(db, id, &c, e);
    if (rc == NY_OK) {
        rc = handle(db, s, &c, now, what, e);
        case_row_free(&c);
    }
    if (rc == NY_OK)
        return store_savepoint_release(db, e);
    ny_err keep = *e;
    if (store_savepoint_rollback(db, NULL) != NY_OK) {
        *e = keep;
        *lost = 1;
        return rc;
    }
    *e = keep;
    if (rc == NY_ECONFLICT || rc == NY_ENOTFOUND) { /* another node won */
        *what = -1;
        return NY_OK;
    }
    return rc;
}

int case_sched_pass(store *db, const sla *s, int64_t now, int max, case_sched_stats *st, ny_err *e)
{
    int64_t ids[CASE_SCHED_MAX];
    int n = 0;
    if (max > CASE_SCHED_MAX)
        max = CASE_SCHED_MAX;
    int rc = store_case_due(db, now, max, ids, &n, e);
    if (rc != NY_OK || n == 0)
        return rc;
    if ((rc = store_begin(db, e)) != NY_OK)
        return rc;
    case_sched_stats add = {0};
    int first = NY_OK, lost = 0;
    ny_err keep = {0};
    double start = mono_now();
    for (int i = 0; i < n && !lost; i++) {
        int what = 0;
        if (i > 0 && mono_now() - start > CASE_SCHED_BUDGET)
            break; /* the rest are still due: the next pass takes them */
        rc = one(db, s, ids[i], now, &what, &lost, e);
        if (rc != NY_OK) { /* the others still go ahead; the first error is reported */
            if (first == NY_OK) {
                first = rc;
                keep = *e;
            }
            continue;
        }
        if (what <= 0)
            add.skipped++;
        else if (what == 1)
            add.reminded++;
        else if (what == 2)
            add.escalated++;
        else
            add.overdue++;
    }
    rc = lost ? first : store_commit(db, e);
    if (lost || rc != NY_OK) {
        store_rollback(db, NULL);
        if (lost)
            *e = keep;
        return rc;
    }
    st->reminded += add.reminded;
    st->escalated += add.escalated;
    st->overdue += add.overdue;
    st->skipped += add.skipped;
    if (first != NY_OK)
        *e = keep;
    return first;
}
