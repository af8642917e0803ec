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
    float *w;                      /* 2^hash_bits rows of nclasses weights */
    float *idf;                    /* with MODEL_F_IDF: 2^hash_bits weights */
    char *info;                    /* training summary */
};

/* Checks the ranges of a feature specification: NY_OK or NY_EINVAL. */
int model_spec_check(const model_spec *s, ny_err *e);

/* A model with all weights zero, ready to be filled in. Returns NY_OK,
 * NY_EINVAL (bad spec or class count) or NY_ERR (out of memory). */
int model_new(const model_spec *spec, const char *const *labels, size_t nclasses, const char *info,
              model_clf **out, ny_err *e);

/* Rounds every weight of m to the 16-bit grid the file stores. */
void model_quantize(model_clf *m);

/* The features of text under spec and, when idf is not NULL, the IDF
 * weights idf (2^hash_bits entries); as model_features. */
size_t model_extract(model_ws *ws, const float *idf, const char *text, size_t len,
                     const model_extra *extra, size_t nextra, const uint32_t **idx,
                     const float **val);

#endif
