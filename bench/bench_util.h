/* bench_util.h - helpers shared by the benchmark programs in bench/.
 *
 * Header-only (each bench/bench_NAME.c is one program, with its parts
 * bench_NAME_*.c if any): clocks, the median of repeated runs, and a
 * growable list of texts read from the shared data sets. Benchmarks
 * report thread CPU time where the machine is shared and noisy, wall time
 * where I/O is part of what is measured. */
#ifndef NY_BENCH_UTIL_H
#define NY_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Texts to measure on: s[i] is NUL-terminated and len[i] bytes long. */
typedef struct texts {
    char **s;
    size_t *len;
    size_t n, cap, bytes;
} texts;

/* CPU time of the calling thread, in seconds. */
static inline double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Monotonic wall-clock time, in seconds. */
static inline double bench_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the n values of v (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Appends a copy of s (len bytes); returns 0, or -1 when out of memory. */
static inline int texts_add(texts *t, const char *s, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        char **ns = realloc(t->s, cap * sizeof *ns);
        if (!ns)
            return -1;
        t->s = ns;
        size_t *nl = realloc(t->len, cap * sizeof *nl);
        if (!nl)
            return -1;
        t->len = nl;
        t->cap = cap;
    }
    if (!(t->s[t->n] = malloc(len + 1)))
        return -1;
    memcpy(t->s[t->n], s, len);
    t->s[t->n][len] = '\0';
    t->len[t->n++] = len;
    t->bytes += len;
    return 0;
}

/* Appends field col (0-based) of every line of the TSV file at path; lines
 * with fewer fields are skipped. Returns 0, or -1 (with a message naming
 * path) when the file cannot be read or memory runs out. */
static inline int texts_load_tsv(const char *path, int col, texts *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) > 0) {
        char *p = line;
        for (int i = 0; p && i < col; i++)
            if ((p = strchr(p, '\t')))
                p++;
        if (p)
            rc = texts_add(t, p, strcspn(p, "\t\r\n"));
    }
    free(line);
    fclose(f);
    if (rc)
        fprintf(stderr, "out of memory reading %s\n", path);
    return rc;
}

static inline void texts_free(texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->len);
}

#endif
