/* sla.c - case deadlines per urgency and category (see sla.h).
 *
 * The table is small (a line per urgency plus category overrides), so a
 * lookup is a linear scan. The built-in defaults are the same lines as the
 * shipped data/sla.tsv minus its category override, so a server without
 * the file still applies 12345 practice. Deadline arithmetic in working
 * time goes to calendar_add/calendar_between; clock time is plain seconds. */
#include "sla.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"

#define SLA_MAX_LINES 128
#define SLA_MAX_DEPTS 32

typedef struct sla_line {
    char urgency[16];
    char category[64]; /* "*" = any */
    sla_limit lim[SLA_NSTAGES];
} sla_line;

struct sla {
    calendar *cal;
    sla_line lines[SLA_MAX_LINES];
    int nlines;
    char dept_cat[SLA_MAX_DEPTS][64], dept_name[SLA_MAX_DEPTS][128];
    int ndepts;
    int remind_percent, reopen_days, digest_minute;
};

static const char *const urgencies[] = {"emergency", "utility", "general", "complex", NULL};

/* "30m", "2h", "7d", "4wh", "15wd" -> limit; 0 or -1. */
static int parse_dur(const char *s, sla_limit *out, int64_t day_secs)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s || n <= 0 || n > 100000)
        return -1;
    int working = 0;
    if (*end == 'w') {
        working = 1;
        end++;
    }
    int64_t unit = 0;
    if (strcmp(end, "m") == 0 && !working)
        unit = 60;
    else if (strcmp(end, "h") == 0)
        unit = 3600;
    else if (strcmp(end, "d") == 0)
        unit = working ? day_secs : 86400;
    if (!unit)
        return -1;
    *out = (sla_limit){(int64_t)n * unit, working};
    return 0;
}

static void add_defaults(sla *s)
{
    static const char *const def[4][3] = {
        {"30m", "2h", "24h"}, {"2h", "24h", "2wd"}, {"4wh", "7wd", "3wd"}, {"1wd", "15wd", "5wd"}};
    int64_t day = calendar_day_seconds(s->cal);
    for (int u = 0; u < 4; u++) {
        sla_line *l = &s->lines[s->nlines++];
        snprintf(l->urgency, sizeof l->urgency, "%s", urgencies[u]);
        snprintf(l->category, sizeof l->category, "*");
        for (int k = 0; k < SLA_NSTAGES; k++)
            parse_dur(def[u][k], &l->lim[k], day);
    }
    s->remind_percent = 75;
    s->reopen_days = 7;
    s->digest_minute = 8 * 60 + 30;
}

static sla_line *find(sla *s, const char *urgency, const char *category)
{
    for (int i = 0; i < s->nlines; i++)
        if (strcmp(s->lines[i].urgency, urgency) == 0 &&
            strcmp(s->lines[i].category, category) == 0)
            return &s->lines[i];
    return NULL;
}

/* One line split at tabs into at most 6 fields; returns the count. */
static int split(char *line, char **f)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < 6; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static int parse_line(sla *s, char *line, const char *path, int lineno, ny_err *e)
{
    char *f[6];
    int n = split(line, f);
    int64_t day = calendar_day_seconds(s->cal);
    if (strcmp(f[0], "limit") == 0 && n == 6) {
        if (domain_index(urgencies, f[1]) < 0)
            return ny_err_set(e, NY_EINVAL, "%s:%d: urgency must be one of %s", path, lineno,
                              "emergency/utility/general/complex");
        if (strcmp(f[2], "*") != 0 && domain_index(domain_categories, f[2]) < 0)
            return ny_err_set(e, NY_EINVAL, "%s:%d: unknown category %s", path, lineno, f[2]);
        sla_limit lim[SLA_NSTAGES];
        for (int k = 0; k < SLA_NSTAGES; k++)
            if (parse_dur(f[3 + k], &lim[k], day))
                return ny_err_set(e, NY_EINVAL,
                                  "%s:%d: bad duration '%s' (e.g. 30m, 2h, 7d, 4wh, 15wd)", path,
                                  lineno, f[3 + k]);
        sla_line *l = find(s, f[1], f[2]);
        if (!l) {
            if (s->nlines == SLA_MAX_LINES)
                return ny_err_set(e, NY_EINVAL, "%s:%d: too many limit lines", path, lineno);
            l = &s->lines[s->nlines++];
            snprintf(l->urgency, sizeof l->urgency, "%s", f[1]);
            snprintf(l->category, sizeof l->category, "%s", f[2]);
        }
        memcpy(l->lim, lim, sizeof lim);
    } else if (strcmp(f[0], "department") == 0 && n == 3) {
        if (domain_index(domain_categories, f[1]) < 0 || s->ndepts == SLA_MAX_DEPTS ||
            strlen(f[2]) == 0 || strlen(f[2]) >= sizeof s->dept_name[0])
            return ny_err_set(e, NY_EINVAL, "%s:%d: department needs a known category and a name",
                              path, lineno);
        snprintf(s->dept_cat[s->ndepts], sizeof s->dept_cat[0], "%s", f[1]);
        snprintf(s->dept_name[s->ndepts++], sizeof s->dept_name[0], "%s", f[2]);
    } else if (strcmp(f[0], "setting") == 0 && n == 3) {
        int h, m, k = 0;
        long v = strtol(f[2], NULL, 10);
        if (strcmp(f[1], "remind_percent") == 0 && v >= 1 && v <= 99)
            s->remind_percent = (int)v;
        else if (strcmp(f[1], "reopen_days") == 0 && v >= 0 && v <= 365)
            s->reopen_days = (int)v;
        else if (strcmp(f[1], "digest_at") == 0 && sscanf(f[2], "%2d:%2d%n", &h, &m, &k) == 2 &&
                 k == 5 && h < 24 && m < 60 && h >= 0 && m >= 0)
            s->digest_minute = h * 60 + m;
        else
            return ny_err_set(e, NY_EINVAL, "%s:%d: bad setting %s", path, lineno, f[1]);
    } else {
        return ny_err_set(e, NY_EINVAL,
                          "%s:%d: expected limit (6 fields), department (3) or setting (3)", path,
                          lineno);
    }
    return NY_OK;
}

static int load_file(sla *s, const char *path, ny_err *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NY_OK; /* the defaults stand */
    char line[1024];
    int lineno = 0, rc = NY_OK;
    while (rc == NY_OK && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && line[0] != '#')
            rc = parse_line(s, line, path, lineno, e);
    }
    fclose(f);
    return rc;
}

int sla_load(const char *data_dir, sla **out, ny_err *e)
{
    sla *s = calloc(1, sizeof *s);
    if (!s)
        return ny_err_set(e, NY_ERR, "out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/calendar", data_dir ? data_dir : "");
    struct stat st;
    int have_dir = data_dir && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    int rc = calendar_load(have_dir ? path : NULL, &s->cal, e);
    if (rc == NY_OK) {
        add_defaults(s);
        if (data_dir) {
            snprintf(path, sizeof path, "%s/sla.tsv", data_dir);
            rc = load_file(s, path, e);
        }
    }
    if (rc != NY_OK) {
        sla_free(s);
        return rc;
    }
    *out = s;
    return NY_OK;
}

void sla_free(sla *s)
{
    if (!s)
        return;
    calendar_free(s->cal);
    free(s);
}

const calendar *sla_calendar(const sla *s)
{
    return s->cal;
}

sla_limit sla_get(const sla *s, const char *urgency, const char *category, int stage)
{
    if (domain_index(urgencies, urgency) < 0)
        urgency = "general";
    if (stage < 0 || stage >= SLA_NSTAGES)
        stage = SLA_RESOLVE;
    sla_line *l = category ? find((sla *)s, urgency, category) : NULL;
    if (!l)
        l = find((sla *)s, urgency, "*");
    return l ? l->lim[stage] : (sla_limit){7 * 86400, 0};
}

int64_t sla_due(const sla *s, sla_limit l, int64_t from)
{
    return l.working ? calendar_add(s->cal, from, l.secs) : from + l.secs;
}

int64_t sla_left(const sla *s, sla_limit l, int64_t now, int64_t due)
{
    return l.working ? calendar_between(s->cal, now, due) : due - now;
}

int64_t sla_resume(const sla *s, sla_limit l, int64_t now, int64_t left)
{
    if (left <= 0)
        return now;
    return sla_due(s, (sla_limit){left, l.working}, now);
}

int64_t sla_remind_at(const sla *s, sla_limit l, int64_t from)
{
    return sla_due(s, (sla_limit){l.secs * s->remind_percent / 100, l.working}, from);
}

const char *sla_department(const sla *s, const char *category)
{
    for (int i = 0; i < s->ndepts; i++)
        if (category && strcmp(s->dept_cat[i], category) == 0)
            return s->dept_name[i];
    return "区社会治理中心";
}

int sla_reopen_days(const sla *s)
{
    return s->reopen_days;
}

int sla_digest_minute(const sla *s)
{
    return s->digest_minute;
}
