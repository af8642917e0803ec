/* kpi.c - accumulating case figures (see kpi.h).
 *
 * The accumulator counts each case into the numerators and denominators of
 * the rates and keeps the acceptance and closing times in growing arrays,
 * so the 90th percentile is exact (nearest rank, found by quickselect). A district
 * year is about 28,000 cases: four arrays of that size and one pass; the
 * working time of a span is two lookups in the calendar's tables. */
#include "kpi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int push(int64_t **arr, size_t *n, size_t *cap, int64_t v)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        int64_t *p = realloc(*arr, c * sizeof *p);
        if (!p)
            return NY_ERR;
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = v;
    return NY_OK;
}

/* Appends one span [from, to) as working minutes and clock seconds. */
static int span(int64_t **min, int64_t **sec, size_t *n, size_t *cap, const calendar *cal,
                int64_t from, int64_t to)
{
    size_t had = *cap;
    if (push(min, n, cap, calendar_between(cal, from, to) / 60) != NY_OK)
        return NY_ERR;
    size_t m = *n - 1;
    if (*cap != had) { /* keep the seconds array as large as the minutes one */
        int64_t *p = realloc(*sec, *cap * sizeof *p);
        if (!p)
            return NY_ERR;
        *sec = p;
    }
    (*sec)[m] = to - from;
    return NY_OK;
}

int kpi_add(kpi_acc *a, const calendar *cal, const kpi_case *c)
{
    int closed = strcmp(c->status, "closed") == 0;
    int resolved = closed || c->resolved_at || strcmp(c->status, "verified") == 0;
    a->total++;
    a->open += !closed;
    if (c->accepted_at || c->accept_late) {
        a->accept_due++;
        a->accepted_on_time += c->accepted_at && !c->accept_late;
    }
    if (resolved || c->resolve_late) {
        a->resolve_due++;
        a->resolved_on_time += resolved && !c->resolve_late;
    }
    if (closed || c->overdue) {
        a->close_due++;
        a->closed += closed;
        a->closed_on_time += closed && !c->overdue;
    }
    if (closed)
        a->solved += c->reopen_count == 0 && (c->satisfaction == 0 || c->satisfaction >= 3);
    if (c->satisfaction) {
        a->rated++;
        a->satisfied += c->satisfaction >= 3;
    }
    a->overdue += c->overdue;
    a->on_spot += c->on_spot;
    a->escalated += c->level && strcmp(c->level, "grid") != 0;
    if (c->accepted_at && c->accepted_at >= c->opened_at &&
        span(&a->accept_min, &a->accept_sec, &a->n_accept, &a->cap_accept, cal, c->opened_at,
             c->accepted_at) != NY_OK)
        return NY_ERR;
    if (closed && c->closed_at >= c->opened_at &&
        span(&a->close_min, &a->close_sec, &a->n_close, &a->cap_close, cal, c->opened_at,
             c->closed_at) != NY_OK)
        return NY_ERR;
    return NY_OK;
}

void kpi_reset(kpi_acc *a)
{
    free(a->accept_min);
    free(a->close_min);
    free(a->accept_sec);
    free(a->close_sec);
    memset(a, 0, sizeof *a);
}

json_t *kpi_rate(long num, long den)
{
    if (den <= 0)
        return json_null();
    return json_real(round((double)num / (double)den * 10000.0) / 10000.0);
}

/* The k-th smallest (0-based) of the n values of v, in linear expected time
 * (quickselect with a middle pivot; v is reordered). Exact, as a sort. */
static int64_t kth_smallest(int64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                int64_t t = v[i];
                v[i++] = v[j];
                v[j] = t;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* {mean, p90} of the n values of v in units of unit (1: as they are, to
 * one decimal for the mean; 3600: seconds as hours, both to one decimal). */
static json_t *times(int64_t *v, size_t n, int unit)
{
    if (n == 0)
        return json_pack("{s:n, s:n}", "mean", "p90");
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    size_t rank = (size_t)ceil(0.9 * (double)n); /* nearest rank, 1-based */
    int64_t p90 = kth_smallest(v, n, rank - 1);
    double mean = round(sum / (double)n / unit * 10.0) / 10.0;
    if (unit == 1)
        return json_pack("{s:f, s:I}", "mean", mean, "p90", (json_int_t)p90);
    return json_pack("{s:f, s:f}", "mean", mean, "p90", round((double)p90 / unit * 10.0) / 10.0);
}

json_t *kpi_json(kpi_acc *a)
{
    json_t *rates = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o}", "response", kpi_rate(a->accepted_on_time, a->accept_due),
        "on_time_resolve", kpi_rate(a->resolved_on_time, a->resolve_due), "on_time_close",
        kpi_rate(a->closed_on_time, a->close_due), "close", kpi_rate(a->closed, a->close_due),
        "solved", kpi_rate(a->solved, a->closed), "satisfaction", kpi_rate(a->satisfied, a->rated));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "total",
                     (json_int_t)a->total, "open", (json_int_t)a->open, "closed",
                     (json_int_t)a->closed, "overdue", (json_int_t)a->overdue, "on_spot",
                     (json_int_t)a->on_spot, "escalated", (json_int_t)a->escalated, "rated",
                     (json_int_t)a->rated, "rates", rates, "minutes_to_accept",
                     times(a->accept_min, a->n_accept, 1), "minutes_to_close",
                     times(a->close_min, a->n_close, 1), "hours_to_accept",
                     times(a->accept_sec, a->n_accept, 3600), "hours_to_close",
                     times(a->close_sec, a->n_close, 3600));
}
