/* bench_triage.c - measures the assistant's whole pipeline in one process on
 * one core: triage_message (normalise, keywords, both models, safety rule,
 * policies, decision) on the shared chat messages, against the target of
 * 200,000 messages per second, plus the cost of each stage run on its own
 * and the engine's start-up (triage_open: normalisation table, lexicon,
 * policy index, models).
 *
 * Texts are column 3 of ../shared/datasets/group_messages_train.tsv (or
 * --messages FILE), read at run time, never copied. The engine loads from
 * --data DIR (else $NUANYANG_DATA, else data). Each figure is the median of
 * --runs runs (default 5) of thread CPU time; each run triages every message
 * --rounds times (default 50). Usage: build/bench/bench_triage [--data DIR]
 * [--messages FILE] [--runs N] [--rounds N] [--stage NAME] (only the stages whose
 * name contains NAME, e.g. for a profiler) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match.h"
#include "bench_util.h"
#include "model.h"
#include "norm.h"
#include "policy.h"
#include "triage.h"

typedef struct stage_ctx {
    triage_ws *ws;
    norm_table *nt;
    norm_buf nb;
    texts *norm; /* the texts normalised once */
    match_set *ms;
    match_hits hits;
    model_clf *mi, *mc;
    model_ws *wi, *wc;
    model_joint *joint;
    policy_index *pix;
    size_t sink;
} stage_ctx;

enum {
    ST_PIPELINE,
    ST_NORM,
    ST_MATCH,
    ST_INTENT,
    ST_CATEGORY,
    ST_JOINT,
    ST_RULE,
    ST_POLICY,
    NSTAGES
};
static const char *const stage_names[] = {"triage_message (whole pipeline)",
                                          "norm_text",
                                          "match_scan (lexicon)",
                                          "model_predict intent",
                                          "model_predict category",
                                          "model_joint_predict (both models)",
                                          "model_emergency_cue",
                                          "policy_rank"};

/* Runs one stage over every text once. */
static int run_stage(stage_ctx *c, int stage, const texts *t)
{
    ny_err e;
    triage_result r;
    for (size_t i = 0; i < t->n; i++) {
        const char *s = t->s[i], *ns = c->norm->s[i];
        size_t len = t->len[i], nl = c->norm->len[i];
        policy_hit ph[TRIAGE_MAX_POLICIES];
        size_t np = 0;
        switch (stage) {
        case ST_PIPELINE:
            if (triage_message(c->ws, s, len, NULL, &r, &e) != NY_OK)
                return -1;
            c->sink += r.nkeywords + (size_t)r.intent;
            break;
        case ST_NORM:
            if (norm_text(c->nt, s, len, NORM_OFFSETS, &c->nb, &e) != NY_OK)
                return -1;
            c->sink += c->nb.len;
            break;
        case ST_MATCH:
            if (match_scan(c->ms, ns, nl, &c->hits, &e) != NY_OK)
                return -1;
            c->sink += c->hits.n;
            break;
        case ST_INTENT:
            c->sink += (size_t)model_predict(c->mi, c->wi, ns, nl, NULL, 0, NULL);
            break;
        case ST_CATEGORY:
            c->sink += (size_t)model_predict(c->mc, c->wc, ns, nl, NULL, 0, NULL);
            break;
        case ST_JOINT: {
            int best[2];
            model_joint_predict(c->joint, c->wi, ns, nl, NULL, 0, best, NULL, NULL);
            c->sink += (size_t)(best[0] + best[1]);
            break;
        }
        case ST_RULE:
            c->sink += (size_t)model_emergency_cue(ns, nl, 0);
            break;
        case ST_POLICY:
            if (policy_rank(c->pix, ns, nl, NULL, ph, TRIAGE_MAX_POLICIES, &np, &e) != NY_OK)
                return -1;
            c->sink += np;
            break;
        }
    }
    return 0;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The parts a stage needs outside the engine: the lexicon terms compiled
 * alone, the models, the policy index. */
static int stage_setup(stage_ctx *c, const char *dir, const texts *t)
{
    ny_err e;
    if (norm_open(&c->nt, &e) != NY_OK)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (norm_text(c->nt, t->s[i], t->len[i], 0, &c->nb, &e) != NY_OK ||
            !(c->norm->s[i] = strdup(c->nb.s)))
            return -1;
        c->norm->len[i] = c->nb.len;
        c->norm->n = i + 1;
    }
    char *lex = join(dir, "lexicon.csv"), *pol = join(dir, "policies.csv");
    char *mi = join(dir, "models/intent.model"), *mc = join(dir, "models/category.model");
    int rc = lex && pol && mi && mc ? 0 : -1;
    /* the lexicon's first column, as the engine compiles it */
    FILE *f = rc == 0 ? fopen(lex, "r") : NULL;
    texts terms = {0};
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        for (int first = 1; (n = getline(&line, &cap, f)) >= 0; first = 0) {
            size_t l = strcspn(line, ",\r\n");
            if (first)
                continue;
            if (texts_add(&terms, line, l) != 0)
                rc = -1;
            if (rc)
                break;
        }
        free(line);
        fclose(f);
    } else {
        rc = -1;
    }
    if (rc == 0 && match_compile_terms(c->nt, (const char *const *)terms.s, terms.n, &c->ms, &e))
        rc = -1;
    texts_free(&terms);
    policy_list pl = POLICY_LIST_INIT;
    if (rc == 0 &&
        (model_load(mi, &c->mi, &e) || model_load(mc, &c->mc, &e) ||
         model_ws_new(model_get_spec(c->mi), &c->wi, &e) ||
         model_ws_new(model_get_spec(c->mc), &c->wc, &e) ||
         model_joint_new(c->mi, c->mc, &c->joint, &e) || policy_list_load_csv(&pl, pol, &e) ||
         policy_index_build(pl.rows, pl.n, &c->pix, &e)))
        rc = -1;
    if (rc)
        fprintf(stderr, "bench_triage: setup: %s\n", e.msg);
    policy_list_free(&pl);
    free(lex);
    free(pol);
    free(mi);
    free(mc);
    return rc;
}

static void stage_teardown(stage_ctx *c)
{
    norm_buf_free(&c->nb);
    norm_close(c->nt);
    match_release(c->ms);
    match_hits_free(&c->hits);
    model_ws_free(c->wi);
    model_ws_free(c->wc);
    model_free(c->mi);
    model_free(c->mc);
    model_joint_free(c->joint);
    policy_index_free(c->pix);
}

int main(int argc, char **argv)
{
    const char *data = getenv("NUANYANG_DATA");
    const char *msgs = "../shared/datasets/group_messages_train.tsv";
    const char *only = NULL; /* --stage: run only the stages whose name contains it */
    int runs = 5, rounds = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
            msgs = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--stage") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_triage [--data DIR] [--messages FILE] [--runs N] "
                            "[--rounds N] [--stage NAME]\n");
            return 2;
        }
    }
    if (!data || !*data)
        data = "data";
    if (runs < 1 || runs > 100 || rounds < 1) {
        fprintf(stderr, "bench_triage: --runs 1..100, --rounds >= 1\n");
        return 2;
    }
    texts t = {0}, nt = {0};
    if (texts_load_tsv(msgs, 2, &t) != 0 || t.n == 0)
        return 1;
    nt.s = calloc(t.n, sizeof *nt.s);
    nt.len = calloc(t.n, sizeof *nt.len);
    size_t bytes = 0;
    for (size_t i = 0; i < t.n; i++)
        bytes += t.len[i];

    /* start-up: the engine from the default data, median of runs */
    triage_opts o = {data, NULL, NULL};
    double open_ms[100];
    triage_engine *en = NULL;
    ny_err e;
    for (int r = 0; r < runs; r++) {
        triage_close(en);
        double t0 = bench_wall_now();
        if (triage_open(&o, &en, &e) != NY_OK) {
            fprintf(stderr, "bench_triage: %s\n", e.msg);
            return 1;
        }
        open_ms[r] = (bench_wall_now() - t0) * 1e3;
    }
    stage_ctx c = {0};
    c.norm = &nt;
    if (!nt.s || !nt.len || triage_ws_new(en, &c.ws, &e) != NY_OK || stage_setup(&c, data, &t))
        return 1;

    printf("bench_triage: %zu chat messages (%.1f bytes each), %d rounds per run, median of "
           "%d runs, one thread\n",
           t.n, (double)bytes / (double)t.n, rounds, runs);
    printf("start-up triage_open (data %s): %.1f ms\n\n", data, bench_median(open_ms, runs));
    printf("| stage | msgs/s | ns/msg |\n|---|---|---|\n");
    for (int st = 0; st < NSTAGES; st++) {
        double v[100];
        if (only && !strstr(stage_names[st], only))
            continue;
        for (int r = 0; r < runs; r++) {
            double t0 = bench_cpu_now();
            for (int k = 0; k < rounds; k++)
                if (run_stage(&c, st, &t) != 0) {
                    fprintf(stderr, "bench_triage: stage %s failed\n", stage_names[st]);
                    return 1;
                }
            v[r] = bench_cpu_now() - t0;
        }
        double s = bench_median(v, runs), per = s / ((double)t.n * rounds);
        printf("| %s | %.0f | %.0f |\n", stage_names[st], 1 / per, per * 1e9);
    }
    /* the joint table against each model on its own, and an FNV-1a checksum of
       the bits of every score (a faster build must not change one) */
    size_t agree = 0;
    uint32_t sum = 2166136261u;
    for (size_t i = 0; i < t.n; i++) {
        int best[2];
        float sc[4][MODEL_MAX_CLASSES] = {{0}};
        model_joint_predict(c.joint, c.wi, nt.s[i], nt.len[i], NULL, 0, best, sc[0], sc[1]);
        agree += best[0] == model_predict(c.mi, c.wi, nt.s[i], nt.len[i], NULL, 0, sc[2]) &&
                 best[1] == model_predict(c.mc, c.wc, nt.s[i], nt.len[i], NULL, 0, sc[3]);
        const unsigned char *b = (const unsigned char *)sc;
        for (size_t k = 0; k < sizeof sc; k++)
            sum = (sum ^ b[k]) * 16777619u;
    }
    printf("\nmodel_joint_predict agrees with model_predict on %zu of %zu messages\n", agree, t.n);
    printf("score checksum %08x\n", sum);
    printf("(sink %zu)\n", c.sink);
    stage_teardown(&c);
    triage_ws_free(c.ws);
    triage_close(en);
    for (size_t i = 0; i < t.n; i++)
        free(nt.s[i]);
    texts_free(&t);
    free(nt.s);
    free(nt.len);
    return 0;
}
