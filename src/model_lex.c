/* model_lex.c - keyword features for the classifiers from a lexicon (model.h).
 *
 * The lexicon (data/lexicon.csv: term, kind, intent, category, weight,
 * action) names for each term the intent and category it hints at. A hit
 * becomes up to two caller features of the model, "intent=<hint>" and
 * "category=<hint>", each with the entry's weight (several hits of the same
 * hint add up), and one of the term itself, "term=<term>", with the small
 * value MODEL_TERM_VALUE: a word, or a gap pattern such as 电梯…坏, as a
 * feature of its own, which the character 1-3-grams only approximate for
 * longer terms. The model learns how far to trust each hint from the training
 * data, so the lexicon contributes knowledge beyond the labelled messages
 * (terms no training message contains) without overriding them. The
 * assistant's triage builds the same features from its own matcher with
 * model_hint_features; this file also loads the CSV for `nuanyang train` and
 * `eval`, which run without a database. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "match.h"
#include "norm.h"

typedef struct lex_entry {
    uint32_t intent_id, category_id; /* 0: no hint */
    uint32_t term_id;
    float weight;
    int urgent;
} lex_entry;

struct model_lexicon {
    match_set *set;
    lex_entry *entries;
    size_t n;
    match_hits hits;
};

static uint32_t hint_id(const char *kind, const char *hint)
{
    /* model_feature_id of "<kind>=<hint>" (no name of 128 bytes or more),
     * hashed in place: the engine asks for thousands at start-up */
    size_t kl = hint ? strlen(kind) : 0, hl = hint ? strlen(hint) : 0;
    if (!hl || kl + 1 + hl >= 128)
        return 0;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < kl; i++)
        h = (h ^ (unsigned char)kind[i]) * 16777619u;
    h = (h ^ (unsigned char)'=') * 16777619u;
    for (size_t i = 0; i < hl; i++)
        h = (h ^ (unsigned char)hint[i]) * 16777619u;
    return h ? h : 1;
}

size_t model_hint_features(const char *term, const char *intent, const char *category, float weight,
                           model_extra *out, size_t n, size_t cap)
{
    uint32_t ids[2] = {hint_id("intent", intent), hint_id("category", category)};
    for (int k = 0; k < 2; k++)
        if (ids[k] && n < cap)
            out[n++] = (model_extra){ids[k], weight};
    uint32_t tid = hint_id("term", term);
    if (tid && n < cap)
        out[n++] = (model_extra){tid, MODEL_TERM_VALUE};
    return n;
}

size_t model_intent_feature(const char *intent, model_extra *out, size_t n, size_t cap)
{
    uint32_t id = hint_id("intent_is", intent);
    if (id && n < cap)
        out[n++] = (model_extra){id, 1.0f};
    return n;
}

/* Checks the header and reads every row of the lexicon file f. */
static int read_rows(FILE *f, const char *path, char ***terms, lex_entry **entries, size_t *n,
                     ny_err *e)
{
    csv_reader *r;
    int rc = csv_open(f, &r, e);
    if (rc != NY_OK)
        return rc;
    csv_record rec;
    size_t cap = 0;
    int header = 1;
    for (;;) {
        if ((rc = csv_next(r, &rec, e)) != NY_OK) {
            char msg[256] = "";
            if (e)
                memcpy(msg, e->msg, sizeof msg - 1);
            ny_err_set(e, rc, "%s:%ld: %.200s", path, rec.line, msg);
            break;
        }
        if (rec.n == 0)
            break;
        if (header) {
            header = 0;
            if (rec.n < 6 || strcmp(rec.fields[0], "term") != 0 ||
                strcmp(rec.fields[2], "intent") != 0 || strcmp(rec.fields[4], "weight") != 0) {
                rc =
                    ny_err_set(e, NY_EINVAL,
                               "%s: expected header term,kind,intent,category,weight,action", path);
                break;
            }
            continue;
        }
        char *end;
        float w = rec.n >= 6 ? strtof(rec.fields[4], &end) : 0;
        if (rec.n < 6 || !*rec.fields[0] || *end || !(w > 0)) {
            rc = ny_err_set(e, NY_EINVAL, "%s:%ld: expected a term and a positive weight", path,
                            rec.line);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **t = realloc(*terms, cap * sizeof *t);
            if (t)
                *terms = t;
            lex_entry *x = t ? realloc(*entries, cap * sizeof *x) : NULL;
            if (!x) {
                rc = ny_err_set(e, NY_ERR, "out of memory");
                break;
            }
            *entries = x;
        }
        if (!((*terms)[*n] = strdup(rec.fields[0]))) {
            rc = ny_err_set(e, NY_ERR, "out of memory");
            break;
        }
        (*entries)[(*n)++] =
            (lex_entry){hint_id("intent", rec.fields[2]), hint_id("category", rec.fields[3]),
                        hint_id("term", rec.fields[0]), w, strcmp(rec.fields[5], "urgent") == 0};
    }
    csv_close(r);
    return rc;
}

int model_lexicon_load(const char *path, model_lexicon **out, ny_err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ny_err_set(e, NY_ENOTFOUND, "%s: cannot open", path);
    char **terms = NULL;
    lex_entry *entries = NULL;
    size_t n = 0;
    int rc = read_rows(f, path, &terms, &entries, &n, e);
    fclose(f);
    norm_table *nt = NULL;
    match_set *set = NULL;
    if (rc == NY_OK)
        rc = norm_open(&nt, e);
    if (rc == NY_OK)
        rc = match_compile_terms(nt, (const char *const *)terms, n, &set, e);
    norm_close(nt);
    for (size_t i = 0; i < n; i++)
        free(terms[i]);
    free(terms);
    if (rc == NY_OK && !(*out = calloc(1, sizeof **out)))
        rc = ny_err_set(e, NY_ERR, "out of memory");
    if (rc != NY_OK) {
        match_release(set);
        free(entries);
        return rc;
    }
    (*out)->set = set;
    (*out)->entries = entries;
    (*out)->n = n;
    return NY_OK;
}

void model_lexicon_free(model_lexicon *lx)
{
    if (!lx)
        return;
    match_release(lx->set);
    match_hits_free(&lx->hits);
    free(lx->entries);
    free(lx);
}

size_t model_lexicon_features(model_lexicon *lx, const char *text, size_t len, model_extra *out,
                              size_t cap, int *urgent)
{
    size_t n = 0;
    if (urgent)
        *urgent = 0;
    if (match_scan(lx->set, text, len, &lx->hits, NULL) != NY_OK)
        return 0;
    for (size_t i = 0; i < lx->hits.n; i++) {
        const lex_entry *x = &lx->entries[lx->hits.v[i].entry];
        if (x->intent_id && n < cap)
            out[n++] = (model_extra){x->intent_id, x->weight};
        if (x->category_id && n < cap)
            out[n++] = (model_extra){x->category_id, x->weight};
        if (x->term_id && n < cap)
            out[n++] = (model_extra){x->term_id, MODEL_TERM_VALUE};
        if (urgent && x->urgent)
            *urgent = 1;
    }
    return n;
}
