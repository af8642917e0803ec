/* model_int.h - internals shared by the files of the model module.
 *
 * The layout of a classifier (model.c owns it; model_train.c fills in the
 * weights of a new one) and the helpers both sides use. Not for other
 * modules: they go through model.h. */
#ifndef NY_MODEL_INT_H
#define NY_MODEL_INT_H

#include "model.h"

struct model_clf {
    model_spec spec;
    size_t nclasses;
    char *labels[MODEL_MAX_CLASSES];
    float bias[MODEL_MAX_CLASSES]; /* intercepts, including any safety offset */
    int16_t *q;                    /* 2^hash_bits rows of nclasses weights, in steps */
    float step;                    /* the value of one step */
    float *idf;                    /* with MODEL_F_IDF: 2^hash_bits weights */
    char *info;                    /* training summary */
    uint32_t long_mask;            /* bit c: class c may be predicted for a text of more
                                      than MODEL_SHORT_CHARS code points */
};

/* Checks the ranges of a feature specification: NY_OK or NY_EINVAL. */
int model_spec_check(const model_spec *s, ny_err *e);

/* A model with all weights zero, ready to be filled in. Returns NY_OK,
 * NY_EINVAL (bad spec or class count) or NY_ERR (out of memory). */
int model_new(const model_spec *spec, const char *const *labels, size_t nclasses, const char *info,
              model_clf **out, ny_err *e);

/* Hashes the character n-grams of text under the workspace's spec: sets
 * ws's index list to the distinct buckets and its value list to their counts
 * (as floats), and returns how many; model_ws_chars(ws) then gives the code
 * points read. model_extract builds on it, as does the joint scorer. */
size_t model_grams(model_ws *ws, const char *text, size_t len);

/* The index list and value list of ws, as model_grams left them. */
const uint32_t *model_ws_idx(const model_ws *ws);
const float *model_ws_val(const model_ws *ws);

/* The bucket of caller feature id under spec s. */
uint32_t model_extra_bucket(const model_spec *s, uint32_t id);

/* The caller features as spec s weighs them for a text of chars code points:
 * values of the same id summed, then extra_scale * ln(1 + sum); none when
 * extra_scale is 0 or the text is too long for them (MODEL_F_SHORT_EXTRA).
 * Writes distinct buckets to idx and values to val; returns how many. */
size_t model_extras(const model_spec *s, size_t chars, const model_extra *extra, size_t nextra,
                    uint32_t *idx, float *val);

/* The best of m's classes by scores for a text of chars code points (only
 * the classes of long_mask for a long text). */
int model_best(const model_clf *m, const float *scores, size_t chars);

/* The features of text under spec and, when idf is not NULL, the IDF
 * weights idf (2^hash_bits entries); as model_features. */
size_t model_extract(model_ws *ws, const float *idf, const char *text, size_t len,
                     const model_extra *extra, size_t nextra, const uint32_t **idx,
                     const float **val);

#endif
