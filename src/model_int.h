/* model_int.h - internals shared by the files of the model module.
 *
 * The layout of a classifier (model.c owns it; model_train.c fills in the
 * weights of a new one) and the helpers both sides use. Not for other
 * modules: they go through model.h. */
#ifndef NY_MODEL_INT_H
#define NY_MODEL_INT_H

#include <string.h>

#include "model.h"

struct model_clf {
    model_spec spec;
    size_t nclasses;
    char *labels[MODEL_MAX_CLASSES];
    float bias[MODEL_MAX_CLASSES]; /* intercepts, including any safety offset */
    int16_t *q;                    /* 2^hash_bits rows of nclasses weights, in steps
                                      (NULL in a head: model_head_new) */
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

/* The head of a model: as model_new but without weights or IDF table (q and
 * idf NULL); only for what needs no weights (spec, labels, intercepts, step,
 * long_mask), e.g. beside a joint table that holds its weights. */
int model_head_new(const model_spec *spec, const char *const *labels, size_t nclasses,
                   const char *info, model_clf **out, ny_err *e);

/* Gives head m its weight matrix (all zero) and, with MODEL_F_IDF, its IDF
 * table (all 1): NY_OK or NY_ERR when out of memory (m unchanged but for
 * what was allocated, which model_free frees). */
int model_add_weights(model_clf *m, ny_err *e);

/* Zeroed memory for a large table: below 2 MiB from calloc, else mapped
 * and advised onto huge pages (the kernel may decline; the memory is the
 * same either way). NULL when out of memory. model_big_free takes the same
 * size; NULL is allowed. */
void *model_big_alloc(size_t bytes);
void model_big_free(void *p, size_t bytes);

/* A model file mapped read-only and checked (magic, version, checksum,
 * header, the lengths of its sections) but its weights not yet read: head
 * holds everything else; rows points at nrows records { u32 bucket,
 * i16 w[nclasses] } and, with MODEL_F_IDF, idf at nidf records { u32 bucket,
 * f32 idf } of the buckets whose IDF is not idf_default. Buckets and values
 * are checked where they are read (model_file_weights, the joint loader). */
typedef struct model_file {
    const unsigned char *map;
    size_t size;
    const char *path;
    model_clf *head;
    const unsigned char *rows;
    uint32_t nrows;
    const unsigned char *idf;
    uint32_t nidf;
    float idf_default;
} model_file;

/* Maps and checks the model file at path into f. Returns NY_OK, NY_ENOTFOUND,
 * NY_EVERSION (a newer format), NY_EINVAL (not a model or damaged) or NY_ERR;
 * on failure f holds nothing to close. path must outlive f. */
int model_file_open(const char *path, model_file *f, ny_err *e);

/* Reads f's weights and IDF values into its head (model_add_weights first):
 * NY_OK, NY_EINVAL (a bucket out of range or a value not finite) or NY_ERR. */
int model_file_weights(model_file *f, ny_err *e);

/* Decoders of the little-endian fields of the file. */
static inline uint32_t model_get_u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Copies n little-endian 16-bit weights from p to w. */
static inline void model_get_i16le(int16_t *w, const unsigned char *p, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) /* the usual class counts, copied without a call */
        memcpy(w, p, 16);
    else if (n == 6)
        memcpy(w, p, 12);
    else
        memcpy(w, p, 2 * n);
#else
    for (size_t c = 0; c < n; c++)
        w[c] = (int16_t)(uint16_t)(p[2 * c] | p[2 * c + 1] << 8);
#endif
}

static inline float model_get_f32le(const unsigned char *p)
{
    uint32_t v = model_get_u32le(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* Makes j sum its rows with the portable code even where the CPU has AVX2
 * (for the test that holds the two to the same bits). */
void model_joint_portable(model_joint *j);

/* Unmaps f and frees its head unless the caller took it (set f->head to
 * NULL first). */
void model_file_close(model_file *f);

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
