/* model.c - prediction with the classifiers of model.h.
 *
 * Features come from model_feat.c, the file from model_file.c. The model
 * keeps a dense matrix of 16-bit weights (bucket-major, one row of class
 * weights per bucket, each weight a multiple of one step), so a loaded model
 * predicts exactly like the one that was saved. A class outside long_mask is
 * never the answer for a text of more than MODEL_SHORT_CHARS code points
 * (training sets the mask from the classes long texts have). The matrix and
 * the IDF table live in memory from model_big_alloc: a model of 2^18 or more
 * buckets takes a few huge pages instead of thousands of small ones, which
 * is most of what loading it used to cost. A model may also be a head only
 * (model_head_new: hashing, labels, intercepts, no weights), when its
 * weights live in a joint table (model_joint_load). */
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "model_int.h"

#define HUGE_PAGE ((size_t)2 << 20)

size_t model_features(const model_clf *m, model_ws *ws, const char *text, size_t len,
                      const model_extra *extra, size_t nextra, const uint32_t **idx,
                      const float **val)
{
    return model_extract(ws, m->idf, text, len, extra, nextra, idx, val);
}

int model_best_except(const model_clf *m, const float *scores, size_t chars, int skip)
{
    uint32_t allow = chars > MODEL_SHORT_CHARS ? m->long_mask : 0xffffffffu;
    int best = -1;
    for (size_t c = 0; c < m->nclasses; c++)
        if (((allow >> c) & 1u) && (int)c != skip && (best < 0 || scores[c] > scores[best]))
            best = (int)c;
    return best < 0 ? 0 : best;
}

/* The best class for scores, among the classes allowed for a text of chars
 * code points (m->long_mask for long texts). */
int model_best(const model_clf *m, const float *scores, size_t chars)
{
    return model_best_except(m, scores, chars, -1);
}

int model_predict(const model_clf *m, model_ws *ws, const char *text, size_t len,
                  const model_extra *extra, size_t nextra, float *scores)
{
    const uint32_t *idx;
    const float *val;
    size_t n = model_extract(ws, m->idf, text, len, extra, nextra, &idx, &val);
    size_t nc = m->nclasses;
    float acc[MODEL_MAX_CLASSES];
    memcpy(acc, m->bias, nc * sizeof *acc);
    float sum[MODEL_MAX_CLASSES] = {0};
    for (size_t i = 0; i < n; i++) {
        const int16_t *q = m->q + (size_t)idx[i] * nc;
        float v = val[i];
        for (size_t c = 0; c < nc; c++)
            sum[c] += v * (float)q[c];
    }
    for (size_t c = 0; c < nc; c++)
        acc[c] += sum[c] * m->step;
    if (scores)
        memcpy(scores, acc, nc * sizeof *acc);
    return model_best(m, acc, model_ws_chars(ws));
}

void model_add_extras(const model_clf *m, size_t chars, const model_extra *extra, size_t nextra,
                      float *scores)
{
    uint32_t idx[MODEL_MAX_EXTRA];
    float val[MODEL_MAX_EXTRA];
    size_t n = model_extras(&m->spec, chars, extra, nextra, idx, val);
    size_t nc = m->nclasses;
    for (size_t i = 0; i < n; i++) {
        const int16_t *q = m->q + (size_t)idx[i] * nc;
        for (size_t c = 0; c < nc; c++)
            scores[c] += val[i] * (float)q[c] * m->step;
    }
}

const model_spec *model_get_spec(const model_clf *m)
{
    return &m->spec;
}

size_t model_nclasses(const model_clf *m)
{
    return m->nclasses;
}

const char *model_label(const model_clf *m, size_t i)
{
    return m->labels[i];
}

int model_label_index(const model_clf *m, const char *name)
{
    for (size_t i = 0; i < m->nclasses; i++)
        if (strcmp(m->labels[i], name) == 0)
            return (int)i;
    return -1;
}

const char *model_info(const model_clf *m)
{
    return m->info ? m->info : "";
}

size_t model_nrows(const model_clf *m)
{
    size_t nb = (size_t)1 << m->spec.hash_bits, rows = 0;
    for (size_t b = 0; m->q && b < nb; b++)
        for (size_t c = 0; c < m->nclasses; c++)
            if (m->q[b * m->nclasses + c] != 0) {
                rows++;
                break;
            }
    return rows;
}

void *model_big_alloc(size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return calloc(1, bytes);
    size_t len = (bytes + 4095) & ~(size_t)4095, span = len + HUGE_PAGE;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (p + span > a + len)
        munmap(a + len, (size_t)(p + span - (a + len)));
    madvise(a, len, MADV_HUGEPAGE); /* only advice: ignore failure */
    return a;
}

void model_big_free(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < HUGE_PAGE)
        free(p);
    else
        munmap(p, (bytes + 4095) & ~(size_t)4095);
}

int model_head_new(const model_spec *spec, const char *const *labels, size_t nclasses,
                   const char *info, model_clf **out, ny_err *e)
{
    *out = NULL;
    int rc = model_spec_check(spec, e);
    if (rc != NY_OK)
        return rc;
    if (nclasses < 2 || nclasses > MODEL_MAX_CLASSES)
        return ny_err_set(e, NY_EINVAL, "%zu classes outside 2..%d", nclasses, MODEL_MAX_CLASSES);
    model_clf *m = calloc(1, sizeof *m);
    if (!m)
        return ny_err_set(e, NY_ERR, "out of memory");
    m->spec = *spec;
    m->nclasses = nclasses;
    m->long_mask = 0xffffffffu;
    m->step = 1.0f;
    m->info = strdup(info ? info : "");
    int ok = m->info != NULL;
    for (size_t c = 0; ok && c < nclasses; c++)
        ok = (m->labels[c] = strdup(labels[c])) != NULL;
    if (!ok) {
        model_free(m);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    *out = m;
    return NY_OK;
}

int model_add_weights(model_clf *m, ny_err *e)
{
    size_t nb = (size_t)1 << m->spec.hash_bits;
    m->q = model_big_alloc(nb * m->nclasses * sizeof *m->q);
    int ok = m->q != NULL;
    if (ok && (m->spec.flags & MODEL_F_IDF)) {
        ok = (m->idf = model_big_alloc(nb * sizeof *m->idf)) != NULL;
        for (size_t b = 0; ok && b < nb; b++)
            m->idf[b] = 1.0f;
    }
    return ok ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
}

int model_new(const model_spec *spec, const char *const *labels, size_t nclasses, const char *info,
              model_clf **out, ny_err *e)
{
    int rc = model_head_new(spec, labels, nclasses, info, out, e);
    if (rc == NY_OK && (rc = model_add_weights(*out, e)) != NY_OK) {
        model_free(*out);
        *out = NULL;
    }
    return rc;
}

void model_free(model_clf *m)
{
    if (!m)
        return;
    size_t nb = (size_t)1 << m->spec.hash_bits;
    for (size_t c = 0; c < MODEL_MAX_CLASSES; c++)
        free(m->labels[c]);
    model_big_free(m->q, nb * m->nclasses * sizeof *m->q);
    model_big_free(m->idf, nb * sizeof *m->idf);
    free(m->info);
    free(m);
}
