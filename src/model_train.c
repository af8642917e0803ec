/* model_train.c - training the classifiers of model.h with liblinear.
 *
 * Every example is turned into a hashed feature vector once (model.c), in the
 * sorted 1-based form liblinear wants, with a constant bias feature. The
 * solver (L2-regularised logistic regression or L2-loss SVM, one-vs-rest),
 * the constant C and the class weighting (none, or inversely proportional to
 * class frequency) are chosen by stratified cross-validation inside the
 * training data, by macro-F1. The same held-out decision values then give,
 * when asked (opts->calibrate), a score offset per class that raises
 * macro-F1, and with a safety class (emergency) the smallest offset for that
 * class whose recall reaches the requested level; offsets are folded into
 * the intercepts. The final model is trained on all examples and its
 * liblinear weights copied into a model_clf. liblinear's random state is
 * reset before every solver run, so a model depends on its data alone.
 * Nothing here looks at data other
 * than what the caller passes, so `nuanyang eval --cv` can call it per fold. */
#include "model.h"

#include <linear.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

typedef struct tproblem {
    struct problem prob;
    struct feature_node *space;
    size_t nclasses;
    uint32_t *bucket; /* liblinear feature i + 1 is hash bucket bucket[i] */
    size_t nfeat;
    float *idf;                      /* with MODEL_F_IDF: per bucket */
    size_t nlong[MODEL_MAX_CLASSES]; /* examples of more than MODEL_SHORT_CHARS code points */
} tproblem;

typedef struct config {
    int solver;
    double C;
    int balanced;
} config;

static const int solvers[] = {L2R_L2LOSS_SVC_DUAL};
static const double cs[] = {0.5, 1, 2, 4, 8};
#define FIT_SEED 1u

static void quiet(const char *s)
{
    (void)s;
}

static const char *solver_name(int solver)
{
    return solver == L2R_LR ? "logistic regression" : "L2-loss SVM";
}

static int cmp_node(const void *a, const void *b)
{
    const struct feature_node *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

static void tproblem_free(tproblem *t)
{
    free(t->prob.x);
    free(t->prob.y);
    free(t->space);
    free(t->bucket);
    free(t->idf);
    memset(t, 0, sizeof *t);
}

/* Renumbers the buckets that occur (1-based bucket numbers in the nodes) as
 * consecutive liblinear features in bucket order, so the solvers work on
 * the few thousand features seen rather than the whole hash space, and
 * numbers the bias feature last. */
static int compact(tproblem *t, unsigned bits, size_t total)
{
    size_t nb = (size_t)1 << bits;
    uint32_t *map = calloc(nb, sizeof *map);
    if (!map)
        return NY_ERR;
    for (size_t i = 0; i < total; i++)
        if (t->space[i].index > 0)
            map[t->space[i].index - 1] = 1;
    size_t d = 0;
    for (size_t b = 0; b < nb; b++)
        d += map[b];
    t->bucket = malloc((d ? d : 1) * sizeof *t->bucket);
    if (!t->bucket) {
        free(map);
        return NY_ERR;
    }
    d = 0;
    for (size_t b = 0; b < nb; b++)
        if (map[b]) {
            t->bucket[d] = (uint32_t)b;
            map[b] = (uint32_t)++d;
        }
    for (size_t i = 0; i < total; i++) {
        struct feature_node *x = &t->space[i];
        if (x->index > 0)
            x->index = (int)map[x->index - 1];
        else if (x->index == 0)
            x->index = (int)d + 1;
    }
    free(map);
    t->nfeat = d;
    t->prob.n = (int)d + 1;
    return NY_OK;
}

/* Smoothed inverse document frequencies, ln((1 + N) / (1 + df)) + 1, of the
 * character n-grams of the labelled texts. */
static float *idf_weights(model_ws *ws, unsigned bits, const char *const *texts, const size_t *lens,
                          const int *labels, size_t n, unsigned min_df)
{
    size_t nb = (size_t)1 << bits, docs = 0;
    uint32_t *df = calloc(nb, sizeof *df);
    float *idf = malloc(nb * sizeof *idf);
    if (!df || !idf) {
        free(df);
        free(idf);
        return NULL;
    }
    const uint32_t *idx;
    const float *val;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0)
            continue;
        docs++;
        size_t nf = model_extract(ws, NULL, texts[i], lens[i], NULL, 0, &idx, &val);
        for (size_t j = 0; j < nf; j++)
            df[idx[j]]++;
    }
    for (size_t b = 0; b < nb; b++)
        idf[b] = df[b] < min_df ? 0.0f : (float)(log((1.0 + (double)docs) / (1.0 + df[b])) + 1.0);
    free(df);
    return idf;
}

/* Builds the liblinear problem of the examples with labels >= 0. */
static int build(const model_train_opts *o, model_ws *ws, const char *const *texts,
                 const size_t *lens, const int *labels, size_t n, tproblem *t, ny_err *e)
{
    memset(t, 0, sizeof *t);
    if ((o->spec.flags & MODEL_F_IDF) &&
        !(t->idf = idf_weights(ws, o->spec.hash_bits, texts, lens, labels, n, o->min_df)))
        return ny_err_set(e, NY_ERR, "out of memory");
    size_t total = 0, l = 0, at = 0;
    model_extra extra[MODEL_MAX_EXTRA];
    const uint32_t *idx;
    const float *val;
    for (int pass = 0; pass < 2; pass++) {
        at = 0;
        l = 0;
        for (size_t i = 0; i < n; i++) {
            if (labels[i] < 0)
                continue;
            size_t ne =
                o->extra ? o->extra(o->extra_ctx, i, texts[i], lens[i], extra, MODEL_MAX_EXTRA) : 0;
            size_t nf = model_extract(ws, t->idf, texts[i], lens[i], extra, ne, &idx, &val);
            if (pass == 0 && model_ws_chars(ws) > MODEL_SHORT_CHARS &&
                labels[i] < MODEL_MAX_CLASSES)
                t->nlong[labels[i]]++;
            if (pass == 1) {
                struct feature_node *x = t->space + at;
                size_t k = 0;
                for (size_t j = 0; j < nf; j++)
                    if (val[j] != 0.0f)
                        x[k++] = (struct feature_node){(int)idx[j] + 1, val[j]};
                qsort(x, k, sizeof *x, cmp_node);
                size_t u = 0; /* a caller feature may share a bucket with an n-gram */
                for (size_t j = 0; j < k; j++)
                    if (u && x[u - 1].index == x[j].index)
                        x[u - 1].value += x[j].value;
                    else
                        x[u++] = x[j];
                k = u;
                x[k++] = (struct feature_node){0, 1.0}; /* bias, numbered below */
                x[k++] = (struct feature_node){-1, 0};
                t->prob.x[l] = x;
                t->prob.y[l] = labels[i];
                at += k;
            } else {
                total += nf + 2;
            }
            l++;
        }
        if (pass == 0) {
            if (l == 0) {
                tproblem_free(t);
                return ny_err_set(e, NY_EINVAL, "no labelled examples to train on");
            }
            t->space = malloc(total * sizeof *t->space);
            t->prob.x = malloc(l * sizeof *t->prob.x);
            t->prob.y = malloc(l * sizeof *t->prob.y);
            if (!t->space || !t->prob.x || !t->prob.y) {
                tproblem_free(t);
                return ny_err_set(e, NY_ERR, "out of memory");
            }
        }
    }
    t->prob.l = (int)l;
    if (compact(t, o->spec.hash_bits, at) != NY_OK) {
        tproblem_free(t);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    t->prob.bias = 1.0;
    size_t nc = 0;
    while (o->labels[nc])
        nc++;
    t->nclasses = nc;
    return NY_OK;
}

/* Trains on the rows of t selected by use (all when NULL). */
static struct model *fit(const tproblem *t, const config *c, const unsigned char *use)
{
    struct problem p = t->prob;
    struct feature_node **x = NULL;
    double *y = NULL;
    if (use) {
        x = malloc((size_t)t->prob.l * sizeof *x);
        y = malloc((size_t)t->prob.l * sizeof *y);
        if (!x || !y) {
            free(x);
            free(y);
            return NULL;
        }
        p.l = 0;
        for (int i = 0; i < t->prob.l; i++)
            if (use[i]) {
                x[p.l] = t->prob.x[i];
                y[p.l++] = t->prob.y[i];
            }
        p.x = x, p.y = y;
    }
    int wl[MODEL_MAX_CLASSES];
    double wv[MODEL_MAX_CLASSES];
    size_t count[MODEL_MAX_CLASSES] = {0};
    for (int i = 0; i < p.l; i++)
        count[(int)p.y[i]]++;
    int nw = 0;
    size_t present = 0;
    for (size_t k = 0; k < t->nclasses; k++)
        present += count[k] > 0;
    for (size_t k = 0; c->balanced && k < t->nclasses; k++)
        if (count[k]) {
            wl[nw] = (int)k;
            wv[nw++] = (double)p.l / ((double)present * (double)count[k]);
        }
    struct parameter par = {.solver_type = c->solver,
                            .eps = c->solver == L2R_LR ? 0.01 : 0.1,
                            .C = c->C,
                            .nr_weight = nw,
                            .weight_label = wl,
                            .weight = wv};
    /* liblinear's solvers shuffle with rand(): reseeding before every model
       makes each one depend on its own data alone, not on the models trained
       before it in this process (a CV fold trains what `train` would) */
    srand(FIT_SEED);
    struct model *m = check_parameter(&p, &par) ? NULL : train(&p, &par);
    free(x);
    free(y);
    return m;
}

/* Decision values of m for x into s[nclasses]; classes the model never saw
 * get a very low score. */
static void decide(const struct model *m, const struct feature_node *x, size_t nclasses, float *s)
{
    double dec[MODEL_MAX_CLASSES];
    predict_values(m, x, dec);
    for (size_t k = 0; k < nclasses; k++)
        s[k] = -1e30f;
    if (m->nr_class == 2) {
        s[m->label[0]] = (float)dec[0];
        s[m->label[1]] = (float)-dec[0];
    } else {
        for (int k = 0; k < m->nr_class; k++)
            s[m->label[k]] = (float)dec[k];
    }
}

static int argmax(const float *s, size_t n, const float *off)
{
    int best = 0;
    float bv = s[0] + off[0];
    for (size_t k = 1; k < n; k++) {
        float v = s[k] + off[k];
        if (v > bv)
            bv = v, best = (int)k;
    }
    return best;
}

/* Held-out decision values of every row under config c (k folds). */
static int inner_cv(const tproblem *t, const config *c, const int *fold, unsigned k, float *scores)
{
    size_t l = (size_t)t->prob.l;
    unsigned char *use = malloc(l);
    if (!use)
        return NY_ERR;
    for (unsigned f = 0; f < k; f++) {
        for (size_t i = 0; i < l; i++)
            use[i] = fold[i] != (int)f;
        struct model *m = fit(t, c, use);
        if (!m) {
            free(use);
            return NY_ERR;
        }
        for (size_t i = 0; i < l; i++)
            if (!use[i])
                decide(m, t->prob.x[i], t->nclasses, scores + i * t->nclasses);
        free_and_destroy_model(&m);
    }
    free(use);
    return NY_OK;
}

/* Macro-F1 of the held-out scores with the per-class offsets off; pred and
 * gold are scratch space. */
static double cv_macro_f1(const tproblem *t, const float *scores, const float *off, int *pred,
                          int *gold, model_scores *ms)
{
    size_t k = 0;
    for (int i = 0; i < t->prob.l; i++) {
        pred[k] = argmax(scores + (size_t)i * t->nclasses, t->nclasses, off);
        gold[k++] = (int)t->prob.y[i];
    }
    model_score(gold, pred, k, t->nclasses, ms);
    return ms->macro_f1;
}

/* Per-class offsets (all but class skip) that raise the held-out macro-F1:
 * coordinate ascent over CAL_STEPS steps of CAL_STEP
 * either side of zero, a move kept only when it gains more than CAL_GAIN,
 * until a round moves nothing (at most CAL_ROUNDS rounds). */
#define CAL_STEP 0.05f
#define CAL_STEPS 10
#define CAL_GAIN 1e-3
#define CAL_ROUNDS 3
static void calibrate(const tproblem *t, const float *scores, int skip, float *off, int *pred,
                      int *gold, model_scores *ms)
{
    double best = cv_macro_f1(t, scores, off, pred, gold, ms);
    for (int round = 0, moved = 1; moved && round < CAL_ROUNDS; round++) {
        moved = 0;
        for (size_t k = 0; k < t->nclasses; k++) {
            if ((int)k == skip)
                continue;
            float chosen = off[k];
            for (int step = -CAL_STEPS; step <= CAL_STEPS; step++) {
                off[k] = (float)step * CAL_STEP;
                double f = cv_macro_f1(t, scores, off, pred, gold, ms);
                if (f > best + CAL_GAIN)
                    best = f, chosen = off[k], moved = 1;
            }
            off[k] = chosen;
        }
    }
}

/* Copies liblinear's weights into a new model_clf. */
static int export(const model_train_opts *o, const tproblem *t, const struct model *lm,
                  const float *off, const char *info, model_clf **out, ny_err *e)
{
    size_t nclasses = t->nclasses;
    int rc = model_new(&o->spec, o->labels, nclasses, info, out, e);
    if (rc != NY_OK)
        return rc;
    model_clf *m = *out;
    if (t->idf)
        memcpy(m->idf, t->idf, ((size_t)1 << o->spec.hash_bits) * sizeof *m->idf);
    size_t nb = t->nfeat;
    int two = lm->nr_class == 2;
    int stride = two ? 1 : lm->nr_class;
    for (size_t k = 0; k < nclasses; k++)
        m->bias[k] = -1e30f;
    double top = 0; /* weights are kept as 16-bit multiples of top / 32767 */
    for (size_t i = 0; i < nb * (size_t)stride; i++)
        if (fabs(lm->w[i]) > top)
            top = fabs(lm->w[i]);
    m->step = top > 0 ? (float)(top / 32767.0) : 1.0f;
    for (int k = 0; k < lm->nr_class; k++) {
        int cls = lm->label[k];
        double sign = two && k == 1 ? -1 : 1;
        int col = two ? 0 : k;
        for (size_t b = 0; b < nb; b++) {
            long q = lrint(sign * lm->w[b * (size_t)stride + (size_t)col] / m->step);
            m->q[(size_t)t->bucket[b] * nclasses + (size_t)cls] = (int16_t)(q > 32767    ? 32767
                                                                            : q < -32767 ? -32767
                                                                                         : q);
        }
        m->bias[cls] = (float)(sign * lm->w[nb * (size_t)stride + (size_t)col]);
    }
    for (size_t k = 0; k < nclasses; k++)
        if (m->bias[k] > -1e29f)
            m->bias[k] += off[k];
    size_t nlong = 0;
    for (size_t k = 0; k < nclasses; k++)
        nlong += t->nlong[k];
    for (size_t k = 0; o->long_min_share > 0 && k < nclasses; k++)
        if ((int)k != o->safety_class && (double)t->nlong[k] < o->long_min_share * (double)nlong)
            m->long_mask &= ~(1u << k);
    return NY_OK;
}

int model_train(const model_train_opts *o, const char *const *texts, const size_t *lens,
                const int *labels, size_t n, model_clf **out, ny_err *e)
{
    *out = NULL;
    model_ws *ws;
    int rc = model_ws_new(&o->spec, &ws, e);
    if (rc != NY_OK)
        return rc;
    tproblem t;
    rc = build(o, ws, texts, lens, labels, n, &t, e);
    model_ws_free(ws);
    if (rc != NY_OK)
        return rc;
    set_print_string_function(quiet);
    size_t l = (size_t)t.prob.l, nc = t.nclasses;
    unsigned k = o->inner_folds < 2 ? 2 : o->inner_folds;
    int *gold = malloc(l * sizeof *gold), *fold = malloc(l * sizeof *fold);
    int *pred = malloc(l * sizeof *pred);
    float *scores = malloc(l * nc * sizeof *scores), *best_scores = malloc(l * nc * sizeof *scores);
    model_scores *ms = malloc(sizeof *ms);
    if (!gold || !fold || !pred || !scores || !best_scores || !ms) {
        rc = ny_err_set(e, NY_ERR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < l; i++)
        gold[i] = (int)t.prob.y[i];
    if ((rc = model_folds(gold, l, k, 0x5eedu, fold, e)) != NY_OK)
        goto done;
    config best = {L2R_L2LOSS_SVC_DUAL, o->fixed_c, 1};
    double best_f1 = -1;
    float off[MODEL_MAX_CLASSES] = {0};
    for (size_t si = 0; o->fixed_c <= 0 && si < sizeof solvers / sizeof *solvers; si++)
        for (size_t ci = 0; ci < sizeof cs / sizeof *cs; ci++)
            for (int bal = 0; bal < 2; bal++) {
                config c = {solvers[si], cs[ci], bal};
                if (inner_cv(&t, &c, fold, k, scores) != NY_OK) {
                    rc = ny_err_set(e, NY_ERR, "liblinear training failed (out of memory?)");
                    goto done;
                }
                double f1 = cv_macro_f1(&t, scores, off, pred, gold, ms);
                if (o->verbose)
                    fprintf(stderr, "  %-19s C=%-4g %-8s inner macro-F1 %.4f\n",
                            solver_name(c.solver), c.C, bal ? "balanced" : "plain", f1);
                if (f1 > best_f1 + 1e-9) {
                    best_f1 = f1, best = c;
                    memcpy(best_scores, scores, l * nc * sizeof *scores);
                }
            }
    int safety = o->safety_class;
    if (safety < 0 || (size_t)safety >= nc || o->fixed_c > 0)
        safety = -1;
    if (o->calibrate && o->fixed_c <= 0) {
        calibrate(&t, best_scores, safety, off, pred, gold, ms);
        if (o->verbose)
            fprintf(stderr, "  class offsets: inner macro-F1 %.4f\n",
                    cv_macro_f1(&t, best_scores, off, pred, gold, ms));
    }
    if (safety >= 0) {
        float chosen = 0;
        for (float next = 0; next < 3.0f; next += 0.02f) {
            off[safety] = next;
            cv_macro_f1(&t, best_scores, off, pred, gold, ms);
            if (ms->precision[safety] < o->safety_precision)
                break;
            chosen = next;
            if (ms->recall[safety] >= o->safety_recall)
                break;
        }
        off[safety] = chosen;
        cv_macro_f1(&t, best_scores, off, pred, gold, ms);
        if (o->verbose)
            fprintf(stderr,
                    "  safety offset %.2f: inner recall %.3f precision %.3f macro-F1 %.4f\n",
                    chosen, ms->recall[safety], ms->precision[safety], ms->macro_f1);
    }
    char info[512], offs[160] = "", inner[64] = "C fixed";
    if (o->fixed_c <= 0)
        snprintf(inner, sizeof inner, "inner %u-fold macro-F1 %.4f", k, best_f1);
    for (size_t c = 0, at = 0; c < nc && at < sizeof offs; c++)
        at += (size_t)snprintf(offs + at, sizeof offs - at, "%s%.2f", c ? " " : "", off[c]);
    snprintf(info, sizeof info,
             "%s, C=%g, %s class weights, %zu examples; %s; class offsets %s%s%s",
             solver_name(best.solver), best.C, best.balanced ? "balanced" : "uniform", l, inner,
             offs, o->note ? "; " : "", o->note ? o->note : "");
    struct model *lm = fit(&t, &best, NULL);
    if (!lm) {
        rc = ny_err_set(e, NY_ERR, "liblinear training failed (out of memory?)");
        goto done;
    }
    rc = export(o, &t, lm, off, info, out, e);
    free_and_destroy_model(&lm);
done:
    free(gold);
    free(fold);
    free(pred);
    free(scores);
    free(best_scores);
    free(ms);
    tproblem_free(&t);
    return rc;
}
