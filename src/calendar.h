/* calendar.h - working time on the district's business calendar.
 *
 * Case deadlines (sla_) are counted in working time: working hours on
 * working days, where Saturdays and Sundays are off unless the calendar
 * names them make-up working days (调休), and public holidays are off. The
 * facts live in editable data files, one a year (data/calendar/2026.tsv):
 *   hours<TAB>09:00-12:00,13:00-18:00     working hours of a working day
 *   2026-10-01<TAB>holiday<TAB>国庆节      a day off
 *   2026-10-10<TAB>workday<TAB>调休上班    a weekend day that is worked
 * Days of years without a file follow the weekday rule. All times are Unix
 * seconds; days are counted in China Standard Time (UTC+08:00, no DST).
 *
 * A loaded calendar is immutable and may be shared by threads. Arithmetic
 * is O(log days): the calendar keeps the working seconds before each day
 * from 1970 to 2099. */
#ifndef NY_CALENDAR_H
#define NY_CALENDAR_H

#include <stdint.h>

#include "err.h"

typedef struct calendar calendar;

/* The district's offset from UTC in seconds (+08:00). */
#define CALENDAR_OFFSET (8 * 3600)

/* A calendar with only the weekday rule and the hours 09:00-12:00 and
 * 13:00-18:00, then every file named YYYY.tsv in dir (dir may be NULL: no
 * files). A line that cannot be read is NY_EINVAL with "FILE:LINE: reason";
 * an unreadable directory NY_ENOTFOUND. */
int calendar_load(const char *dir, calendar **out, ny_err *e);

/* Adds the lines of one calendar file held in text (name is used in
 * messages) to c, and recomputes its tables. NY_OK or NY_EINVAL. */
int calendar_parse(calendar *c, const char *text, const char *name, ny_err *e);

/* Frees c; NULL is allowed. */
void calendar_free(calendar *c);

/* 1 when the local day containing t is a working day, else 0. */
int calendar_is_workday(const calendar *c, int64_t t);

/* Working seconds of one full working day (8 h with the default hours). */
int64_t calendar_day_seconds(const calendar *c);

/* Working seconds in the interval [a, b); negative when b < a. */
int64_t calendar_between(const calendar *c, int64_t a, int64_t b);

/* The earliest time at which secs (>= 0) working seconds have passed since
 * t: with the default hours, 16:00 on an ordinary Friday plus 4 working
 * hours is 11:00 on Monday; secs 0 gives t itself. */
int64_t calendar_add(const calendar *c, int64_t t, int64_t secs);

#endif
