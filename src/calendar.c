/* calendar.c - working time on the business calendar (see calendar.h).
 *
 * The calendar is a table of day kinds (working or not) for every local day
 * from 1970-01-01 to 2099-12-31, filled by the weekday rule and overridden
 * by the calendar files, plus the day's working intervals (the same for
 * every working day) and a prefix sum of working seconds before each day.
 * Working seconds before a time t are then prefix[day] plus the part of the
 * day's intervals before t, and adding working time is a binary search in
 * the prefix sums followed by a walk over at most CAL_MAX_SPANS intervals.
 * The SLA deadlines of every case and the KPI time figures go through
 * these two functions, so they must be fast and exact to the second. */
#include "calendar.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAL_DAYS 47482 /* 1970-01-01 .. 2099-12-31 */
#define CAL_MAX_SPANS 4

struct calendar {
    int nspans;
    int32_t span_from[CAL_MAX_SPANS], span_to[CAL_MAX_SPANS]; /* seconds after local midnight */
    int64_t day_secs;
    unsigned char work[CAL_DAYS];
    int64_t before[CAL_DAYS + 1]; /* working seconds before day d */
};

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void recompute(calendar *c)
{
    c->day_secs = 0;
    for (int i = 0; i < c->nspans; i++)
        c->day_secs += c->span_to[i] - c->span_from[i];
    c->before[0] = 0;
    for (int d = 0; d < CAL_DAYS; d++)
        c->before[d + 1] = c->before[d] + (c->work[d] ? c->day_secs : 0);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Local day index of t, clamped to the table, and seconds into that day. */
static int64_t day_of(int64_t t, int64_t *sec)
{
    int64_t local = t + CALENDAR_OFFSET, d = floor_div(local, 86400);
    if (d < 0) {
        *sec = 0;
        return 0;
    }
    if (d >= CAL_DAYS) {
        *sec = 86400;
        return CAL_DAYS - 1;
    }
    *sec = local - d * 86400;
    return d;
}

/* Working seconds of day d before second sec of that day. */
static int64_t within(const calendar *c, int64_t d, int64_t sec)
{
    if (!c->work[d])
        return 0;
    int64_t n = 0;
    for (int i = 0; i < c->nspans; i++)
        if (sec > c->span_from[i])
            n += (sec < c->span_to[i] ? sec : c->span_to[i]) - c->span_from[i];
    return n;
}

static int64_t worked_before(const calendar *c, int64_t t)
{
    int64_t sec, d = day_of(t, &sec);
    return c->before[d] + within(c, d, sec);
}

int calendar_load(const char *dir, calendar **out, ny_err *e)
{
    calendar *c = calloc(1, sizeof *c);
    if (!c)
        return ny_err_set(e, NY_ERR, "out of memory");
    c->nspans = 2;
    c->span_from[0] = 9 * 3600, c->span_to[0] = 12 * 3600;
    c->span_from[1] = 13 * 3600, c->span_to[1] = 18 * 3600;
    for (int d = 0; d < CAL_DAYS; d++) {
        int wd = (int)((d + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
        c->work[d] = wd != 0 && wd != 6;
    }
    recompute(c);
    DIR *dh = dir ? opendir(dir) : NULL;
    if (dir && !dh) {
        calendar_free(c);
        return ny_err_set(e, NY_ENOTFOUND, "cannot read calendar directory %s", dir);
    }
    int rc = NY_OK;
    struct dirent *de;
    while (dh && rc == NY_OK && (de = readdir(dh))) {
        const char *n = de->d_name;
        if (strlen(n) != 8 || strspn(n, "0123456789") != 4 || strcmp(n + 4, ".tsv") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, n);
        FILE *f = fopen(path, "rb");
        char *text = NULL;
        long len = -1;
        if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && len < (1 << 20) &&
            fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1)) &&
            fread(text, 1, (size_t)len, f) == (size_t)len) {
            text[len] = '\0';
            rc = calendar_parse(c, text, path, e);
        } else {
            rc = ny_err_set(e, NY_ERR, "cannot read %s", path);
        }
        free(text);
        if (f)
            fclose(f);
    }
    if (dh)
        closedir(dh);
    if (rc != NY_OK) {
        calendar_free(c);
        return rc;
    }
    *out = c;
    return NY_OK;
}

/* Reads "HH:MM" at s into seconds after midnight; 0 or -1. */
static int hhmm(const char *s, int32_t *out)
{
    int h, m, n = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h < 0 || h > 24 || m < 0 || m > 59 ||
        h * 60 + m > 24 * 60)
        return -1;
    *out = (int32_t)(h * 3600 + m * 60);
    return 0;
}

static int parse_hours(calendar *c, const char *v)
{
    int n = 0;
    int32_t from[CAL_MAX_SPANS], to[CAL_MAX_SPANS];
    for (;;) {
        if (n == CAL_MAX_SPANS || hhmm(v, &from[n]) || v[5] != '-' || hhmm(v + 6, &to[n]) ||
            to[n] <= from[n] || (n > 0 && from[n] < to[n - 1]))
            return -1;
        n++;
        v += 11;
        if (*v == '\0')
            break;
        if (*v++ != ',')
            return -1;
    }
    c->nspans = n;
    memcpy(c->span_from, from, sizeof from);
    memcpy(c->span_to, to, sizeof to);
    return 0;
}

int calendar_parse(calendar *c, const char *text, const char *name, ny_err *e)
{
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[512];
        lineno++;
        if (len >= sizeof line)
            return ny_err_set(e, NY_EINVAL, "%s:%d: line too long", name, lineno);
        memcpy(line, p, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        p = nl ? nl + 1 : p + len;
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char *f2 = strchr(line, '\t');
        if (!f2)
            return ny_err_set(e, NY_EINVAL, "%s:%d: expected tab-separated fields", name, lineno);
        *f2++ = '\0';
        char *f3 = strchr(f2, '\t');
        if (f3)
            *f3 = '\0';
        if (strcmp(line, "hours") == 0) {
            if (parse_hours(c, f2))
                return ny_err_set(e, NY_EINVAL,
                                  "%s:%d: hours must be HH:MM-HH:MM[,HH:MM-HH:MM...] in order",
                                  name, lineno);
            continue;
        }
        int y, m, d, n = 0;
        if (sscanf(line, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || y < 1970 || y > 2099 ||
            m < 1 || m > 12 || d < 1 || d > 31)
            return ny_err_set(e, NY_EINVAL, "%s:%d: date must be YYYY-MM-DD (1970-2099)", name,
                              lineno);
        int64_t day = days_from_civil(y, m, d);
        int64_t month_days =
            days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - days_from_civil(y, m, 1);
        if (d > month_days || day >= CAL_DAYS)
            return ny_err_set(e, NY_EINVAL, "%s:%d: no such date", name, lineno);
        if (strcmp(f2, "holiday") == 0)
            c->work[day] = 0;
        else if (strcmp(f2, "workday") == 0)
            c->work[day] = 1;
        else
            return ny_err_set(e, NY_EINVAL, "%s:%d: kind must be holiday or workday", name, lineno);
    }
    recompute(c);
    return NY_OK;
}

void calendar_free(calendar *c)
{
    free(c);
}

int calendar_is_workday(const calendar *c, int64_t t)
{
    int64_t sec;
    return c->work[day_of(t, &sec)];
}

int64_t calendar_day_seconds(const calendar *c)
{
    return c->day_secs;
}

int64_t calendar_between(const calendar *c, int64_t a, int64_t b)
{
    return worked_before(c, b) - worked_before(c, a);
}

int64_t calendar_add(const calendar *c, int64_t t, int64_t secs)
{
    if (secs <= 0)
        return t;
    int64_t target = worked_before(c, t) + secs;
    if (target > c->before[CAL_DAYS]) /* past the table: plain time */
        return t + secs;
    /* the first day d whose end reaches target */
    int64_t lo = 0, hi = CAL_DAYS - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c->before[mid + 1] >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    int64_t left = target - c->before[lo], base = lo * 86400 - CALENDAR_OFFSET;
    for (int i = 0; i < c->nspans; i++) {
        int64_t len = c->span_to[i] - c->span_from[i];
        if (left <= len)
            return base + c->span_from[i] + left;
        left -= len;
    }
    return base + 86400; /* not reached: the day holds target */
}
