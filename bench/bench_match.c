/* bench_match.c - measures the keyword pass: our Aho–Corasick automaton
 * (match.c) against hyperscan on the same lexicon and the same normalised
 * texts, the evidence behind the choice recorded in docs/DESIGN.md.
 *
 * The lexicon is data/lexicon.csv (first column; terms with "…" are gap
 * patterns), or --lexicon FILE. Texts are column 3 of the shared chat
 * messages and appeals (../shared/datasets, or --data DIR), read at run time
 * and normalised with norm_text first. Hyperscan gets every literal as an
 * escaped expression and every pattern A…B as A.{0,8}B, in UTF-8 mode, once
 * without start offsets and once with HS_FLAG_SOM_LEFTMOST (our automaton
 * always reports starts). Each figure is the median of --runs runs (default
 * 5) within this one process; both engines also count their hits, which must
 * agree. Usage: build/bench/bench_match [--data DIR] [--lexicon FILE]
 * [--runs N] */
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match.h"
#include "bench_util.h"
#include "norm.h"

/* Column `col` (0-based) of every line of a TSV file, normalised. */
static int load_column(const char *path, int col, const norm_table *nt, texts *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_match: cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    norm_buf nb = NORM_BUF_INIT;
    ny_err e;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) > 0) {
        char *p = line;
        for (int c = 0; c < col && p; c++) {
            p = strchr(p, '\t');
            p = p ? p + 1 : NULL;
        }
        if (!p)
            continue;
        size_t len = strcspn(p, "\t\r\n");
        if (norm_text(nt, p, len, 0, &nb, &e) != NY_OK || texts_add(out, nb.s, nb.len) != 0)
            rc = -1;
    }
    free(line);
    norm_buf_free(&nb);
    fclose(f);
    return rc;
}

/* The first CSV field of every line after the header (terms hold no commas
 * or quotes in the lexicon); lines starting with '#' are skipped. */
static int load_lexicon(const char *path, texts *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_match: cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int first = 1, rc = 0;
    while (rc == 0 && getline(&line, &cap, f) > 0) {
        size_t len = strcspn(line, ",\t\r\n");
        if (first || line[0] == '#' || len == 0) {
            first = 0;
            continue;
        }
        rc = texts_add(out, line, len);
    }
    free(line);
    fclose(f);
    return rc;
}

/* Appends s to an expression, escaping everything but letters, digits and
 * non-ASCII bytes. */
static size_t put_escaped(char *dst, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80 || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
            (*p >= 'A' && *p <= 'Z'))
            dst[n++] = (char)*p;
        else
            n += (size_t)sprintf(dst + n, "\\x%02x", *p);
    }
    dst[n] = '\0';
    return n;
}

typedef struct hs_engine {
    hs_database_t *db;
    hs_scratch_t *scratch;
    double compile_s;
} hs_engine;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)id;
    (void)from;
    (void)to;
    (void)flags;
    (*(size_t *)ctx)++;
    return 0;
}

/* Compiles the normalised entries as hyperscan expressions. */
static int hs_build(const match_entry *ents, size_t n, int som, hs_engine *out)
{
    char **exprs = calloc(n + 1, sizeof *exprs);
    unsigned *flags = calloc(n + 1, sizeof *flags), *ids = calloc(n + 1, sizeof *ids);
    int rc = exprs && flags && ids ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t need = 4 * (strlen(ents[i].head) + (ents[i].tail ? strlen(ents[i].tail) : 0)) + 16;
        exprs[i] = malloc(need);
        if (!exprs[i]) {
            rc = -1;
            break;
        }
        size_t k = put_escaped(exprs[i], ents[i].head);
        if (ents[i].tail) {
            k += (size_t)sprintf(exprs[i] + k, ".{0,%u}", ents[i].gap);
            put_escaped(exprs[i] + k, ents[i].tail);
        }
        flags[i] = HS_FLAG_UTF8 | HS_FLAG_DOTALL | (som ? HS_FLAG_SOM_LEFTMOST : 0);
        ids[i] = (unsigned)i;
    }
    hs_compile_error_t *err = NULL;
    double t0 = bench_cpu_now();
    if (rc == 0 && hs_compile_multi((const char *const *)exprs, flags, ids, (unsigned)n,
                                    HS_MODE_BLOCK, NULL, &out->db, &err) != HS_SUCCESS) {
        fprintf(stderr, "hyperscan%s: %s (expression %d)\n", som ? " (SOM)" : "",
                err ? err->message : "?", err ? err->expression : -1);
        hs_free_compile_error(err);
        rc = -1;
    }
    out->compile_s = bench_cpu_now() - t0;
    if (rc == 0 && hs_alloc_scratch(out->db, &out->scratch) != HS_SUCCESS)
        rc = -1;
    for (size_t i = 0; exprs && i < n; i++)
        free(exprs[i]);
    free(exprs);
    free(flags);
    free(ids);
    return rc;
}

typedef struct result {
    double per_s, mb_s;
    size_t hits;
} result;

/* Scans all texts reps times per run; median over runs. engine 0 is ours,
 * otherwise hyperscan. */
static result measure(const match_set *m, const hs_engine *hs, const texts *t, int runs)
{
    match_hits h = MATCH_HITS_INIT;
    ny_err e;
    size_t hits = 0;
    int reps = 1;
    double rate[64], mb[64];
    for (int r = -1; r < runs; r++) { /* run -1 calibrates to about 0.2 s */
        double t0 = bench_cpu_now();
        for (int k = 0; k < reps; k++) {
            hits = 0;
            for (size_t i = 0; i < t->n; i++) {
                if (m) {
                    if (match_scan(m, t->s[i], t->len[i], &h, &e) != NY_OK)
                        exit(1);
                    hits += h.n;
                } else if (hs_scan(hs->db, t->s[i], (unsigned)t->len[i], 0, hs->scratch, on_match,
                                   &hits) != HS_SUCCESS) {
                    exit(1);
                }
            }
        }
        double dt = bench_cpu_now() - t0;
        if (r < 0) {
            reps = dt > 0 ? (int)(0.2 / dt) + 1 : 1000;
            continue;
        }
        rate[r] = (double)t->n * reps / dt;
        mb[r] = (double)t->bytes * reps / dt / 1e6;
    }
    match_hits_free(&h);
    return (result){bench_median(rate, runs), bench_median(mb, runs), hits};
}

/* Compiles ents with both engines and prints one table row per engine. */
static void bench_lexicon(const char *label, const match_entry *ents, size_t n, const texts *msgs,
                          const texts *appeals, int runs)
{
    double ct[64];
    match_set *m = NULL;
    ny_err e;
    for (int r = 0; r < runs; r++) { /* our compile time: median of several */
        match_release(m);
        double t0 = bench_cpu_now();
        if (match_compile(ents, n, &m, &e) != NY_OK) {
            fprintf(stderr, "bench_match: %s\n", e.msg);
            exit(1);
        }
        ct[r] = bench_cpu_now() - t0;
    }
    hs_engine hs[2] = {{0}, {0}};
    int have[2];
    for (int som = 0; som < 2; som++)
        have[som] = hs_build(ents, n, som, &hs[som]) == 0;
    const struct {
        const char *name;
        const match_set *m;
        const hs_engine *hs;
        int have;
        double compile;
    } eng[] = {
        {"own Aho–Corasick (match.c)", m, NULL, 1, bench_median(ct, runs)},
        {"hyperscan, end offsets only", NULL, &hs[0], have[0], hs[0].compile_s},
        {"hyperscan, HS_FLAG_SOM_LEFTMOST", NULL, &hs[1], have[1], hs[1].compile_s},
    };
    for (size_t k = 0; k < sizeof eng / sizeof eng[0]; k++) {
        if (!eng[k].have) {
            printf("| %s | %s | failed to compile | | | | | |\n", label, eng[k].name);
            continue;
        }
        result rm = measure(eng[k].m, eng[k].hs, msgs, runs);
        result ra = measure(eng[k].m, eng[k].hs, appeals, runs);
        printf("| %s | %s | %.1f | %.0f | %.1f | %.0f | %.1f | %zu / %zu |\n", label, eng[k].name,
               eng[k].compile * 1e3, rm.per_s, rm.mb_s, ra.per_s, ra.mb_s, rm.hits, ra.hits);
        fflush(stdout);
    }
    for (int som = 0; som < 2; som++) {
        if (have[som]) {
            hs_free_scratch(hs[som].scratch);
            hs_free_database(hs[som].db);
        }
    }
    match_release(m);
}

int main(int argc, char **argv)
{
    const char *data = "../shared/datasets", *lexpath = "data/lexicon.csv";
    int runs = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else if (strcmp(argv[i], "--lexicon") == 0)
            lexpath = argv[i + 1];
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
    }
    if (runs < 1 || runs > 64)
        runs = 5;
    norm_table *nt;
    ny_err e;
    if (norm_open(&nt, &e) != NY_OK) {
        fprintf(stderr, "bench_match: %s\n", e.msg);
        return 1;
    }
    texts lex = {0}, msgs = {0}, appeals = {0};
    char path[4096];
    if (load_lexicon(lexpath, &lex) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/group_messages_train.tsv", data);
    if (load_column(path, 2, nt, &msgs) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/appeals_train.tsv", data);
    if (load_column(path, 2, nt, &appeals) != 0)
        return 1;

    /* the entries, normalised as match_compile_terms does; literals first */
    match_entry *ents = calloc(lex.n + 1, sizeof *ents);
    norm_buf nb = NORM_BUF_INIT;
    size_t nlit = 0, npat = 0;
    for (size_t i = 0; ents && i < lex.n; i++) {
        char *g = strstr(lex.s[i], "\xE2\x80\xA6"), *tail = NULL;
        if (g) {
            for (tail = g; strncmp(tail, "\xE2\x80\xA6", 3) == 0;)
                tail += 3;
            *g = '\0';
        }
        match_entry *en = &ents[g ? lex.n - 1 - npat++ : nlit++];
        if (norm_text(nt, lex.s[i], strlen(lex.s[i]), 0, &nb, &e) != NY_OK ||
            !(en->head = strdup(nb.s)))
            return 1;
        if (tail) {
            if (norm_text(nt, tail, strlen(tail), 0, &nb, &e) != NY_OK ||
                !(en->tail = strdup(nb.s)))
                return 1;
            en->gap = MATCH_GAP_DEFAULT;
        }
    }
    norm_buf_free(&nb);

    printf("lexicon %s: %zu entries (%zu literals, %zu gap patterns A…B, gap %u)\n", lexpath, lex.n,
           nlit, npat, MATCH_GAP_DEFAULT);
    printf("texts: %zu chat messages (%.1f bytes on average), %zu appeals (%.0f bytes on "
           "average), normalised first; thread CPU time, median of %d runs\n\n",
           msgs.n, (double)msgs.bytes / (double)msgs.n, appeals.n,
           (double)appeals.bytes / (double)appeals.n, runs);
    printf("| lexicon | engine | compile ms | chat msgs/s | chat MB/s | appeals/s | appeals MB/s "
           "| hits (chat / appeals) |\n|---|---|---|---|---|---|---|---|\n");
    bench_lexicon("full", ents, lex.n, &msgs, &appeals, runs);
    bench_lexicon("literals only", ents, nlit, &msgs, &appeals, runs);
    for (size_t i = 0; i < lex.n; i++) {
        free((char *)ents[i].head);
        free((char *)ents[i].tail);
    }
    free(ents);
    texts_free(&lex);
    texts_free(&msgs);
    texts_free(&appeals);
    norm_close(nt);
    return 0;
}
