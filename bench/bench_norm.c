/* bench_norm.c - measures the normalisation stage (norm.c): start-up of the
 * table and throughput of norm_text on the shared chat messages and appeals,
 * with and without the offset map, against the direct approach the table
 * replaces (per message: utf8proc NFKC_Casefold, then OpenCC t2s), which
 * shows why the table exists.
 *
 * Texts are column 3 of ../shared/datasets/group_messages_train.tsv and
 * appeals_train.tsv (or --data DIR), read at run time. Each figure is thread
 * CPU time, the median of --runs runs (default 5) in this one process.
 * Usage: build/bench/bench_norm [--data DIR] [--runs N] */
#include <opencc/opencc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "norm.h"
#include "bench_util.h"

enum { M_TABLE, M_OFFSETS, M_DIRECT };

/* Normalises every text once; returns the output bytes. */
static size_t pass(int mode, const norm_table *nt, opencc_t oc, const texts *t, norm_buf *b)
{
    ny_err e;
    size_t out = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (mode != M_DIRECT) {
            if (norm_text(nt, t->s[i], t->len[i], mode == M_OFFSETS ? NORM_OFFSETS : 0, b, &e) !=
                NY_OK)
                exit(1);
            out += b->len;
            continue;
        }
        utf8proc_uint8_t *u = NULL;
        utf8proc_ssize_t n =
            utf8proc_map((const utf8proc_uint8_t *)t->s[i], (utf8proc_ssize_t)t->len[i], &u,
                         UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                             UTF8PROC_IGNORE);
        if (n < 0)
            exit(1);
        char *s = opencc_convert_utf8(oc, (const char *)u, (size_t)n);
        if (!s)
            exit(1);
        out += strlen(s);
        opencc_convert_utf8_free(s);
        free(u);
    }
    return out;
}

/* Texts per second and input MB per second: median of runs, each about 0.2 s. */
static void measure(int mode, const norm_table *nt, opencc_t oc, const texts *t, int runs,
                    double *per_s, double *mb_s)
{
    norm_buf b = NORM_BUF_INIT;
    double rate[64], mb[64];
    int reps = 1;
    for (int r = -1; r < runs; r++) {
        double t0 = bench_cpu_now();
        for (int k = 0; k < reps; k++)
            pass(mode, nt, oc, t, &b);
        double dt = bench_cpu_now() - t0;
        if (r < 0) {
            reps = dt > 0 ? (int)(0.2 / dt) + 1 : 1000;
            continue;
        }
        rate[r] = (double)t->n * reps / dt;
        mb[r] = (double)t->bytes * reps / dt / 1e6;
    }
    *per_s = bench_median(rate, runs);
    *mb_s = bench_median(mb, runs);
    norm_buf_free(&b);
}

int main(int argc, char **argv)
{
    const char *data = "../shared/datasets";
    int runs = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
    }
    if (runs < 1 || runs > 64)
        runs = 5;
    texts msgs = {0}, appeals = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/group_messages_train.tsv", data);
    if (texts_load_tsv(path, 2, &msgs) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/appeals_train.tsv", data);
    if (texts_load_tsv(path, 2, &appeals) != 0)
        return 1;
    /* start-up: wall-clock time of norm_open, median of runs */
    double st[64];
    norm_table *nt = NULL;
    ny_err e;
    for (int r = 0; r < runs; r++) {
        norm_close(nt);
        double t0 = bench_wall_now();
        if (norm_open(&nt, &e) != NY_OK) {
            fprintf(stderr, "bench_norm: %s\n", e.msg);
            return 1;
        }
        st[r] = bench_wall_now() - t0;
    }
    double t0 = bench_wall_now();
    opencc_t oc = opencc_open("t2s.json");
    double oc_open = bench_wall_now() - t0;
    if (oc == (opencc_t)-1) {
        fprintf(stderr, "bench_norm: opencc: %s\n", opencc_error());
        return 1;
    }
    printf("norm_open: %.2f ms (wall clock, median of %d); for comparison opencc_open(t2s.json): "
           "%.2f ms\n",
           bench_median(st, runs) * 1e3, runs, oc_open * 1e3);
    printf("texts: %zu chat messages (%.1f bytes on average), %zu appeals (%.0f bytes on "
           "average), raw; thread CPU time, median of %d runs\n\n",
           msgs.n, (double)msgs.bytes / (double)msgs.n, appeals.n,
           (double)appeals.bytes / (double)appeals.n, runs);
    printf("| method | chat msgs/s | ns per chat msg | chat MB/s | appeals/s | appeals MB/s "
           "|\n|---|---|---|---|---|---|\n");
    static const char *names[] = {"norm_text (table)", "norm_text with NORM_OFFSETS",
                                  "direct: utf8proc NFKC_Casefold + OpenCC t2s per text"};
    for (int mode = M_TABLE; mode <= M_DIRECT; mode++) {
        double mr, mm, ar, am;
        measure(mode, nt, oc, &msgs, runs, &mr, &mm);
        measure(mode, nt, oc, &appeals, runs, &ar, &am);
        printf("| %s | %.0f | %.0f | %.1f | %.0f | %.1f |\n", names[mode], mr, 1e9 / mr, mm, ar,
               am);
        fflush(stdout);
    }
    opencc_close(oc);
    norm_close(nt);
    texts_free(&msgs);
    texts_free(&appeals);
    return 0;
}
