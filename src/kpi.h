/* kpi.h - the figures a district judges its case handling by (考核).
 *
 * Computed from each case's milestones, which every logged action writes
 * in the same transaction as its log entry (opened, first accepted,
 * resolved, closed; late marks per stage; rating; reopen count):
 *   响应率 response      accepted on time ÷ cases due to be accepted (accepted,
 *                        or whose accept deadline passed)
 *   按期处置率 on-time    resolved on time ÷ cases due to be resolved
 *   按期结案率, 结案率     closed without any missed deadline, and closed, ÷
 *                        cases due to be closed (closed, or overdue)
 *   解决率 solved         closed and not rated 不满意 (1-2) nor reopened ÷ closed
 *   满意率 satisfaction   rated 基本满意 or better (3-5) ÷ rated
 *   超期 overdue          cases that missed a deadline
 * plus mean and 90th-percentile times from report to acceptance and to
 * closing, in working minutes on the business calendar (the measure the
 * SLA deadlines use: a case reported on Friday evening and accepted on
 * Monday morning took minutes, not days) and in clock hours. A kpi_acc
 * accumulates cases; kpi_json writes the figures. */
#ifndef NY_KPI_H
#define NY_KPI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "calendar.h"
#include "err.h"

/* One case's milestones (times 0 = not reached). */
typedef struct kpi_case {
    const char *origin, *level, *category, *status, *resolved_by;
    int64_t opened_at, accepted_at, resolved_at, closed_at;
    int accept_late, resolve_late, overdue, satisfaction, reopen_count, on_spot;
} kpi_case;

typedef struct kpi_acc {
    long total, accept_due, accepted_on_time, resolve_due, resolved_on_time, close_due, closed,
        closed_on_time, solved, rated, satisfied, overdue, on_spot, escalated, open;
    /* for means and p90s: working minutes and clock seconds */
    int64_t *accept_min, *close_min, *accept_sec, *close_sec;
    size_t n_accept, n_close, cap_accept, cap_close;
} kpi_acc;

/* Adds one case to a (zeroed to start), its times counted on cal. NY_OK or
 * NY_ERR (memory). */
int kpi_add(kpi_acc *a, const calendar *cal, const kpi_case *c);

/* Frees a's arrays (a may be reused after kpi_reset). */
void kpi_reset(kpi_acc *a);

/* A ratio as a JSON number rounded to 4 places, or null when den is 0. */
json_t *kpi_rate(long num, long den);

/* The figures of a as a JSON object: total, open, closed, overdue, on_spot,
 * escalated, and rates {response, on_time_resolve, on_time_close, close,
 * solved, satisfaction}, minutes_to_accept and minutes_to_close {mean, p90}
 * in working minutes, hours_to_accept and hours_to_close {mean, p90} in
 * clock hours (one decimal; null when none). Sorts a's arrays. */
json_t *kpi_json(kpi_acc *a);

#endif
