/* sla.h - case deadlines: how long each stage of a case may take.
 *
 * A case has three timed stages: accept (报到受理 → 立案), resolve (立案 →
 * 已处置) and verify (已处置 → 核查结案). Each (urgency, category) pair has a
 * limit per stage, in clock time or in working time on the business
 * calendar (calendar.h); data/sla.tsv holds them with the department that
 * takes a category at district level and a few settings (sla.tsv explains
 * its format). An sla is immutable once loaded and may be shared by
 * threads; it owns its calendar. */
#ifndef NY_SLA_H
#define NY_SLA_H

#include <stdint.h>

#include "calendar.h"
#include "err.h"

typedef struct sla sla;

enum sla_stage { SLA_ACCEPT, SLA_RESOLVE, SLA_VERIFY, SLA_NSTAGES };

/* One stage's limit: secs of clock time, or of working time when working. */
typedef struct sla_limit {
    int64_t secs;
    int working;
} sla_limit;

/* Loads data_dir/calendar/ (every YYYY.tsv) and data_dir/sla.tsv. A missing
 * sla.tsv or calendar directory gives the built-in 12345 defaults (the same
 * as the shipped file without its category line) and the weekday rule;
 * data_dir NULL gives the defaults only. A bad line is NY_EINVAL with
 * "FILE:LINE: reason". */
int sla_load(const char *data_dir, sla **out, ny_err *e);

/* Frees s; NULL is allowed. */
void sla_free(sla *s);

/* The business calendar s counts working time on. */
const calendar *sla_calendar(const sla *s);

/* The limit of stage for a case of this urgency and category (the
 * category's own line, else the urgency's * line; an unknown urgency counts
 * as general). */
sla_limit sla_get(const sla *s, const char *urgency, const char *category, int stage);

/* The deadline of a stage that starts at from with limit l. */
int64_t sla_due(const sla *s, sla_limit l, int64_t from);

/* Time left until due counted on l's clock (working or clock seconds);
 * negative once due has passed. */
int64_t sla_left(const sla *s, sla_limit l, int64_t now, int64_t due);

/* The deadline of a stage resumed at now with left seconds of l's clock
 * still to run (a suspension stops the clock). */
int64_t sla_resume(const sla *s, sla_limit l, int64_t now, int64_t left);

/* When to remind the holder of a stage that started at from (the
 * remind_percent share of the limit used). */
int64_t sla_remind_at(const sla *s, sla_limit l, int64_t from);

/* The department that holds a case of this category at district level
 * ("区社会治理中心" when the file names none). */
const char *sla_department(const sla *s, const char *category);

/* Days after resolution within which a reporter may reopen a case. */
int sla_reopen_days(const sla *s);

/* Local minute of the day (0..1439) at which daily digests go out. */
int sla_digest_minute(const sla *s);

#endif
