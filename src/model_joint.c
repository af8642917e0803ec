/* model_joint.c - two classifiers that hash text the same way, scored in one
 * pass (model.h).
 *
 * The assistant runs the intent and the category model on every message.
 * Both hash the same character n-grams into the same buckets, so hashing
 * twice is wasted work, and looking up each model's IDF table and weight
 * matrix separately costs up to four cache misses per n-gram on tables of
 * many megabytes. The joint table keeps, per bucket, one row of 16-bit
 * integers: both IDF values (in units of one step, which cancels out in the
 * unit-length scaling) followed by both models' weights (exactly the 16-bit
 * grid the model file stores), padded to a multiple of 16 bytes; with 6 + 8
 * classes a row is 32 bytes, half a cache line. The table asks the kernel
 * for huge pages, so the random row reads also spare the TLB. A message is
 * hashed once (model_grams), each n-gram reads one row and updates both
 * models' sums and norms, and the caller features are added per model as
 * model_extras weighs them. The result is the same as model_predict on each
 * model up to float rounding (sums run in a different order). A row of the
 * usual shape (16 lanes) is summed as two 8-lane vectors, with AVX2 where the
 * CPU has it (the loader picks the build); each lane still adds up in n-gram
 * order and a count's 1 + ln c comes from a table filled with the same
 * expression, so the scores do not change by a bit whichever build runs.
 * model_joint_load fills the table straight from the two model files
 * (model_file.c), so the engine never builds the models' own dense
 * matrices: they would only be copied here and thrown away. */
#include "model.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

/* Half a row of 16 weights, as read and as summed (GCC vector extensions). */
typedef int16_t v8h __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

typedef struct joint_side {
    model_spec spec;
    size_t nc, off; /* classes, first weight column in a row */
    float step;     /* value of one weight unit */
    float bias[MODEL_MAX_CLASSES];
    uint32_t long_mask;
} joint_side;

#define TF_TABLE 64 /* counts below it take their 1 + ln c from a table */

/* The n-gram sums of the usual shape (16 lanes: two IDF columns, then at
 * most 14 weights of both models): acc and norm as model_joint_predict uses
 * them. Each lane sums in n-gram order, as the general loop does, so the
 * results are the same to the bit; written twice, for AVX2 (a half row
 * widens to eight floats in two instructions, each lane picks its model's
 * value with one permute) and portably, model_joint_new picking one by the
 * CPU. */
typedef void sum16_fn(const uint16_t *rows, const float *tf, const int32_t *sel,
                      const uint32_t *idx, const float *val, size_t n, size_t na, size_t nb,
                      float *acc, float *norm);

/* Which of (va, vb, 0) each lane takes: its model's value, or 0 for the IDF
 * columns and the padding. */
static void lane_models(size_t na, size_t nb, int32_t sel[16])
{
    for (size_t c = 0; c < 16; c++)
        sel[c] = c >= 2 && c < 2 + na ? 0 : c >= 2 + na && c < 2 + na + nb ? 1 : 2;
}

static void sum16_out(const float *sum, float na2, float nb2, size_t na, size_t nb, float *acc,
                      float *norm)
{
    norm[0] = na2;
    norm[1] = nb2;
    for (size_t c = 0; c < na; c++)
        acc[c] = sum[2 + c];
    for (size_t c = 0; c < nb; c++)
        acc[MODEL_MAX_CLASSES + c] = sum[2 + na + c];
}

static void sum16_base(const uint16_t *rows, const float *tf, const int32_t *lanes,
                       const uint32_t *idx, const float *val, size_t n, size_t na, size_t nb,
                       float *acc, float *norm)
{
    v8i sel[2];
    memcpy(sel, lanes, sizeof sel);
    v8f lo = {0}, hi = {0};
    float na2 = 0, nb2 = 0;
    for (size_t i = 0; i < n; i++) {
        const uint16_t *row = rows + (size_t)idx[i] * 16;
        float t = val[i] < TF_TABLE ? tf[(int)val[i]] : 1.0f + logf(val[i]);
        float va = t * (float)row[0], vb = t * (float)row[1];
        na2 += va * va;
        nb2 += vb * vb;
        v8f pair = {va, vb, 0, 0, 0, 0, 0, 0};
        v8h w0, w1;
        memcpy(&w0, row, sizeof w0);
        memcpy(&w1, row + 8, sizeof w1);
        lo += __builtin_shuffle(pair, sel[0]) * __builtin_convertvector(w0, v8f);
        hi += __builtin_shuffle(pair, sel[1]) * __builtin_convertvector(w1, v8f);
    }
    float sum[16];
    memcpy(sum, &lo, sizeof lo);
    memcpy(sum + 8, &hi, sizeof hi);
    sum16_out(sum, na2, nb2, na, nb, acc, norm);
}

__attribute__((target("avx2"))) static void sum16_avx2(const uint16_t *rows, const float *tf,
                                                       const int32_t *lanes, const uint32_t *idx,
                                                       const float *val, size_t n, size_t na,
                                                       size_t nb, float *acc, float *norm)
{
    const __m256i sel0 = _mm256_loadu_si256((const __m256i *)lanes),
                  sel1 = _mm256_loadu_si256((const __m256i *)(lanes + 8));
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    __m128 nrm = _mm_setzero_ps();
    for (size_t i = 0; i < n; i++) {
        const uint16_t *row = rows + (size_t)idx[i] * 16;
        float t = val[i] < TF_TABLE ? tf[(int)val[i]] : 1.0f + logf(val[i]);
        uint32_t both; /* the two IDF columns */
        memcpy(&both, row, sizeof both);
        __m128 pair = _mm_mul_ps(_mm_cvtepi32_ps(_mm_cvtepu16_epi32(_mm_cvtsi32_si128((int)both))),
                                 _mm_set1_ps(t)); /* (va, vb, 0, 0) */
        nrm = _mm_add_ps(nrm, _mm_mul_ps(pair, pair));
        __m256 p = _mm256_zextps128_ps256(pair);
        __m256 w0 = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const void *)row)));
        __m256 w1 =
            _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const void *)(row + 8))));
        lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_permutevar8x32_ps(p, sel0), w0));
        hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_permutevar8x32_ps(p, sel1), w1));
    }
    float sum[16], nr[4];
    _mm256_storeu_ps(sum, lo);
    _mm256_storeu_ps(sum + 8, hi);
    _mm_storeu_ps(nr, nrm);
    sum16_out(sum, nr[0], nr[1], na, nb, acc, norm);
}

struct model_joint {
    joint_side side[2];
    float tf[TF_TABLE]; /* 1 + ln c for a count c, as computed per n-gram */
    size_t stride;      /* uint16 per row */
    uint16_t *rows;
    size_t bytes;
    sum16_fn *sum16;   /* for rows of 16 lanes: AVX2 or portable */
    int32_t lanes[16]; /* and the model of each lane (lane_models) */
};

static int same_hashing(const model_spec *a, const model_spec *b)
{
    unsigned f = MODEL_F_DIGITS | MODEL_F_BOUNDARY;
    return a->hash_bits == b->hash_bits && a->min_n == b->min_n && a->max_n == b->max_n &&
           a->seed == b->seed && (a->flags & f) == (b->flags & f) &&
           !((a->flags | b->flags) & MODEL_F_HEAD); /* one scaling for all n-grams here */
}

/* A joint table for models of heads a and b (same hashing): its sides and
 * its rows (zeroed, on huge pages when the kernel gives them). */
static int joint_alloc(const model_clf *a, const model_clf *b, model_joint **out, ny_err *e)
{
    *out = NULL;
    if (!same_hashing(&a->spec, &b->spec))
        return ny_err_set(e, NY_EINVAL, "the two models hash text differently");
    model_joint *j = calloc(1, sizeof *j);
    if (!j)
        return ny_err_set(e, NY_ERR, "out of memory");
    const model_clf *m[2] = {a, b};
    size_t nb = (size_t)1 << a->spec.hash_bits;
    j->stride = (2 + a->nclasses + b->nclasses + 7) & ~(size_t)7;
    j->bytes = nb * j->stride * sizeof *j->rows;
    if (!(j->rows = model_big_alloc(j->bytes))) {
        free(j);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    size_t off = 2;
    for (int k = 0; k < 2; k++) {
        joint_side *s = &j->side[k];
        s->spec = m[k]->spec;
        s->nc = m[k]->nclasses;
        s->off = off;
        s->step = m[k]->step;
        memcpy(s->bias, m[k]->bias, sizeof s->bias);
        s->long_mask = m[k]->long_mask;
        off += s->nc;
    }
    for (int c = 0; c < TF_TABLE; c++)
        j->tf[c] = c <= 1 ? 1.0f : 1.0f + logf((float)c);
    j->sum16 = __builtin_cpu_supports("avx2") ? sum16_avx2 : sum16_base;
    if (j->stride == 16)
        lane_models(a->nclasses, b->nclasses, j->lanes);
    *out = j;
    return NY_OK;
}

/* An IDF value in units of the joint table (1/unit each): 1..65535. */
static uint16_t idf_units(float idf, float unit)
{
    float q = idf * unit + 0.5f;
    return (uint16_t)(q < 1 ? 1 : q > 65535 ? 65535 : q);
}

int model_joint_new(const model_clf *a, const model_clf *b, model_joint **out, ny_err *e)
{
    model_joint *j;
    int rc = joint_alloc(a, b, &j, e);
    if (rc != NY_OK)
        return rc;
    const model_clf *m[2] = {a, b};
    size_t nb = (size_t)1 << a->spec.hash_bits;
    float top = 0; /* the IDF unit: the largest IDF of either model is 65535 units */
    for (int k = 0; k < 2; k++)
        for (size_t r = 0; m[k]->idf && r < nb; r++)
            if (m[k]->idf[r] > top)
                top = m[k]->idf[r];
    float idf_step = top > 0 ? top / 65535.0f : 1.0f;
    float inv_idf = 1.0f / idf_step;
    for (size_t r = 0; r < nb; r++) {
        uint16_t *row = j->rows + r * j->stride;
        for (int k = 0; k < 2; k++) {
            const joint_side *s = &j->side[k];
            row[k] = idf_units(m[k]->idf ? m[k]->idf[r] : 1.0f, inv_idf);
            memcpy(row + s->off, m[k]->q + r * s->nc, s->nc * sizeof *row);
        }
    }
    *out = j;
    return NY_OK;
}

/* The joint table of two checked model files, read straight from their
 * rows: what model_joint_new makes of the two loaded models, without their
 * dense matrices and IDF tables. */
static int joint_from_files(const model_file *f, model_joint **out, ny_err *e)
{
    model_joint *j;
    int rc = joint_alloc(f[0].head, f[1].head, &j, e);
    if (rc != NY_OK)
        return rc;
    uint32_t nb = 1u << f[0].head->spec.hash_bits;
    float top = 0; /* as model_joint_new: the largest IDF value any bucket has */
    for (int k = 0; k < 2; k++) {
        if (!(f[k].head->spec.flags & MODEL_F_IDF))
            continue;
        if (f[k].nidf < nb && f[k].idf_default > top)
            top = f[k].idf_default;
        for (uint32_t r = 0; r < f[k].nidf && rc == NY_OK; r++) {
            uint32_t row = model_get_u32le(f[k].idf + 8 * (size_t)r);
            float v = model_get_f32le(f[k].idf + 8 * (size_t)r + 4);
            if (row >= nb || !isfinite(v))
                rc = ny_err_set(e, NY_EINVAL, "%s: damaged weights", f[k].path);
            else if (v > top)
                top = v;
        }
    }
    float inv_idf = 1.0f / (top > 0 ? top / 65535.0f : 1.0f);
    uint16_t dflt[2];
    for (int k = 0; k < 2; k++)
        dflt[k] = idf_units(f[k].head->spec.flags & MODEL_F_IDF ? f[k].idf_default : 1.0f, inv_idf);
    for (size_t r = 0; rc == NY_OK && r < nb; r++) {
        j->rows[r * j->stride] = dflt[0];
        j->rows[r * j->stride + 1] = dflt[1];
    }
    for (int k = 0; k < 2 && rc == NY_OK; k++) {
        for (uint32_t r = 0; r < f[k].nidf; r++) { /* checked above */
            uint32_t row = model_get_u32le(f[k].idf + 8 * (size_t)r);
            j->rows[(size_t)row * j->stride + k] =
                idf_units(model_get_f32le(f[k].idf + 8 * (size_t)r + 4), inv_idf);
        }
        const joint_side *s = &j->side[k];
        size_t rec = 4 + 2 * s->nc;
        for (uint32_t r = 0; r < f[k].nrows && rc == NY_OK; r++) {
            const unsigned char *p = f[k].rows + (size_t)r * rec;
            uint32_t row = model_get_u32le(p);
            if (row >= nb) {
                rc = ny_err_set(e, NY_EINVAL, "%s: damaged weights", f[k].path);
                break;
            }
            model_get_i16le((int16_t *)(j->rows + (size_t)row * j->stride + s->off), p + 4, s->nc);
        }
    }
    if (rc != NY_OK) {
        model_joint_free(j);
        return rc;
    }
    *out = j;
    return NY_OK;
}

int model_joint_load(const char *path_a, const char *path_b, model_clf **a, model_clf **b,
                     model_joint **j, ny_err *e)
{
    *a = *b = NULL;
    *j = NULL;
    model_file f[2];
    int rc = model_file_open(path_a, &f[0], e);
    if (rc != NY_OK)
        return rc;
    if ((rc = model_file_open(path_b, &f[1], e)) != NY_OK) {
        model_file_close(&f[0]);
        return rc;
    }
    if (same_hashing(&f[0].head->spec, &f[1].head->spec))
        rc = joint_from_files(f, j, e);
    else if ((rc = model_file_weights(&f[0], e)) == NY_OK)
        rc = model_file_weights(&f[1], e);
    if (rc == NY_OK) {
        *a = f[0].head;
        *b = f[1].head;
        f[0].head = f[1].head = NULL;
    }
    model_file_close(&f[0]);
    model_file_close(&f[1]);
    return rc;
}

void model_joint_portable(model_joint *j)
{
    j->sum16 = sum16_base;
}

void model_joint_free(model_joint *j)
{
    if (!j)
        return;
    model_big_free(j->rows, j->bytes);
    free(j);
}

/* Adds the caller features of side k (their buckets' weight columns). */
static void add_extras(const model_joint *j, int k, size_t chars, const model_extra *extra,
                       size_t nextra, float *score)
{
    const joint_side *s = &j->side[k];
    uint32_t idx[MODEL_MAX_EXTRA];
    float val[MODEL_MAX_EXTRA];
    size_t n = model_extras(&s->spec, chars, extra, nextra, idx, val);
    for (size_t i = 0; i < n; i++) {
        const uint16_t *row = j->rows + (size_t)idx[i] * j->stride + s->off;
        float v = val[i] * s->step;
        for (size_t c = 0; c < s->nc; c++)
            score[c] += v * (float)(int16_t)row[c];
    }
}

void model_joint_add_extras(const model_joint *j, int k, size_t chars, const model_extra *extra,
                            size_t nextra, float *scores)
{
    const joint_side *s = &j->side[k];
    uint32_t idx[MODEL_MAX_EXTRA];
    float val[MODEL_MAX_EXTRA];
    size_t n = model_extras(&s->spec, chars, extra, nextra, idx, val);
    for (size_t i = 0; i < n; i++) { /* as model_add_extras, to the bit */
        const uint16_t *row = j->rows + (size_t)idx[i] * j->stride + s->off;
        for (size_t c = 0; c < s->nc; c++)
            scores[c] += val[i] * (float)(int16_t)row[c] * s->step;
    }
}

static int best_of(const joint_side *s, const float *score, size_t chars)
{
    uint32_t allow = chars > MODEL_SHORT_CHARS ? s->long_mask : 0xffffffffu;
    int best = -1;
    for (size_t c = 0; c < s->nc; c++)
        if (((allow >> c) & 1u) && (best < 0 || score[c] > score[best]))
            best = (int)c;
    return best < 0 ? 0 : best;
}

void model_joint_predict(const model_joint *j, model_ws *ws, const char *text, size_t len,
                         const model_extra *extra, size_t nextra, int best[2], float *scores_a,
                         float *scores_b)
{
    size_t n = model_grams(ws, text, len), chars = model_ws_chars(ws);
    const uint32_t *idx = model_ws_idx(ws);
    const float *val = model_ws_val(ws);
    const size_t stride = j->stride, na = j->side[0].nc, nb = j->side[1].nc;
    float acc[2 * MODEL_MAX_CLASSES] = {0};
    float norm[2] = {0, 0};
    for (size_t i = 0; i < n; i++) /* every row asked for at once: the misses overlap */
        __builtin_prefetch(j->rows + (size_t)idx[i] * stride);
    if (stride == 16) { /* the usual shape: one row is one vector of 16 lanes */
        j->sum16(j->rows, j->tf, j->lanes, idx, val, n, na, nb, acc, norm);
    } else {
        for (size_t i = 0; i < n; i++) {
            const uint16_t *row = j->rows + (size_t)idx[i] * stride;
            float t = val[i] == 1.0f ? 1.0f : 1.0f + logf(val[i]);
            float va = t * (float)row[0], vb = t * (float)row[1];
            norm[0] += va * va;
            norm[1] += vb * vb;
            const uint16_t *wa = row + 2, *wb = row + 2 + na;
            for (size_t c = 0; c < na; c++)
                acc[c] += va * (float)(int16_t)wa[c];
            for (size_t c = 0; c < nb; c++)
                acc[MODEL_MAX_CLASSES + c] += vb * (float)(int16_t)wb[c];
        }
    }
    float score[2][MODEL_MAX_CLASSES];
    for (int k = 0; k < 2; k++) {
        const joint_side *s = &j->side[k];
        /* the IDF unit cancels out in the scaling to unit length */
        float scale = norm[k] > 0 ? s->step / sqrtf(norm[k]) : 0.0f;
        for (size_t c = 0; c < s->nc; c++)
            score[k][c] = s->bias[c] + acc[k * MODEL_MAX_CLASSES + c] * scale;
        add_extras(j, k, chars, extra, nextra, score[k]);
        best[k] = best_of(s, score[k], chars);
    }
    if (scores_a)
        memcpy(scores_a, score[0], na * sizeof *scores_a);
    if (scores_b)
        memcpy(scores_b, score[1], nb * sizeof *scores_b);
}
