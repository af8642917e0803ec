/* model.c - prediction and the model file of model.h.
 *
 * Features come from model_feat.c. The model keeps a dense matrix of 16-bit
 * weights (bucket-major, one row of class weights per bucket, each weight a
 * multiple of one step) and stores only its non-zero rows in the file, so a
 * loaded model predicts exactly like the one that was saved. A class outside
 * long_mask is never the answer for a text of more than MODEL_SHORT_CHARS
 * code points (training sets the mask from the classes long texts have):
 *
 *   "NYMODEL\0" u32 version  u32 hash_bits min_n max_n flags seed  f32 extra_scale
 *   u32 nclasses  { u32 len, bytes } label names  f32 bias[nclasses]
 *   u32 info_len, bytes  u32 long_mask (from version 3)  u32 nrows  f32 step
 *   { u32 bucket, i16 w[nclasses] } rows
 *   with MODEL_F_IDF: f32 default idf  u32 count  { u32 bucket, f32 idf } others
 *   u32 FNV-1a checksum of everything before it
 *
 * all integers and floats little-endian. */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

#define MODEL_MAGIC "NYMODEL"
#define MODEL_VERSION 3u

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
    for (size_t b = 0; b < nb; b++)
        for (size_t c = 0; c < m->nclasses; c++)
            if (m->q[b * m->nclasses + c] != 0) {
                rows++;
                break;
            }
    return rows;
}

int model_new(const model_spec *spec, const char *const *labels, size_t nclasses, const char *info,
              model_clf **out, ny_err *e)
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
    size_t nb = (size_t)1 << spec->hash_bits;
    m->q = calloc(nb * nclasses, sizeof *m->q);
    m->step = 1.0f;
    m->info = strdup(info ? info : "");
    int ok = m->q && m->info;
    if (ok && (spec->flags & MODEL_F_IDF)) {
        ok = (m->idf = malloc(nb * sizeof *m->idf)) != NULL;
        for (size_t b = 0; ok && b < nb; b++)
            m->idf[b] = 1.0f;
    }
    for (size_t c = 0; ok && c < nclasses; c++)
        ok = (m->labels[c] = strdup(labels[c])) != NULL;
    if (!ok) {
        model_free(m);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    *out = m;
    return NY_OK;
}

void model_free(model_clf *m)
{
    if (!m)
        return;
    for (size_t c = 0; c < MODEL_MAX_CLASSES; c++)
        free(m->labels[c]);
    free(m->q);
    free(m->idf);
    free(m->info);
    free(m);
}

/* ---- the file ---- */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, x, 4);
}

static void put_f32(wbuf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}

static uint32_t fnv(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The IDF value most buckets share, stored once: the largest (buckets unseen
 * in training) or 0 (buckets dropped for too few documents), whichever is
 * more common. */
static float idf_default(const float *idf, size_t nb)
{
    float d = idf[0];
    size_t zeros = 0, tops = 0;
    for (size_t r = 1; r < nb; r++)
        if (idf[r] > d)
            d = idf[r];
    for (size_t r = 0; r < nb; r++) {
        zeros += idf[r] == 0.0f;
        tops += idf[r] == d;
    }
    return zeros > tops ? 0.0f : d;
}

int model_save(const model_clf *m, const char *path, ny_err *e)
{
    wbuf b = {0};
    put(&b, MODEL_MAGIC, 8);
    put_u32(&b, MODEL_VERSION);
    put_u32(&b, m->spec.hash_bits);
    put_u32(&b, m->spec.min_n);
    put_u32(&b, m->spec.max_n);
    put_u32(&b, m->spec.flags);
    put_u32(&b, m->spec.seed);
    put_f32(&b, m->spec.extra_scale);
    put_u32(&b, (uint32_t)m->nclasses);
    for (size_t c = 0; c < m->nclasses; c++) {
        put_u32(&b, (uint32_t)strlen(m->labels[c]));
        put(&b, m->labels[c], strlen(m->labels[c]));
    }
    for (size_t c = 0; c < m->nclasses; c++)
        put_f32(&b, m->bias[c]);
    put_u32(&b, (uint32_t)strlen(model_info(m)));
    put(&b, model_info(m), strlen(model_info(m)));
    put_u32(&b, m->long_mask);
    put_u32(&b, (uint32_t)model_nrows(m));
    size_t nb = (size_t)1 << m->spec.hash_bits, nc = m->nclasses;
    put_f32(&b, m->step);
    for (size_t r = 0; r < nb; r++) {
        const int16_t *w = m->q + r * nc;
        size_t c = 0;
        while (c < nc && w[c] == 0)
            c++;
        if (c == nc)
            continue;
        put_u32(&b, (uint32_t)r);
        for (c = 0; c < nc; c++) {
            uint16_t q = (uint16_t)w[c];
            unsigned char x[2] = {(unsigned char)q, (unsigned char)(q >> 8)};
            put(&b, x, 2);
        }
    }
    if (m->idf) { /* the value of unseen buckets is the default, the rest are listed */
        float dflt = idf_default(m->idf, nb);
        size_t count = 0;
        for (size_t r = 0; r < nb; r++)
            count += m->idf[r] != dflt;
        put_f32(&b, dflt);
        put_u32(&b, (uint32_t)count);
        for (size_t r = 0; r < nb; r++)
            if (m->idf[r] != dflt) {
                put_u32(&b, (uint32_t)r);
                put_f32(&b, m->idf[r]);
            }
    }
    if (b.oom) {
        free(b.p);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    put_u32(&b, fnv(b.p, b.n));
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp || b.oom) {
        free(b.p);
        return ny_err_set(e, NY_ERR, "%s: path too long or out of memory", path);
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(b.p);
        return ny_err_set(e, NY_ERR, "%s: %s", tmp, strerror(errno));
    }
    int bad = fwrite(b.p, 1, b.n, f) != b.n;
    bad |= fclose(f) != 0;
    free(b.p);
    if (bad || rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        return ny_err_set(e, NY_ERR, "%s: cannot write: %s", path, strerror(err));
    }
    return NY_OK;
}

typedef struct rbuf {
    const unsigned char *p;
    size_t n, pos;
    int bad;
} rbuf;

static uint32_t get_u32(rbuf *b)
{
    if (b->pos + 4 > b->n) {
        b->bad = 1;
        return 0;
    }
    const unsigned char *x = b->p + b->pos;
    b->pos += 4;
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

static float get_f32(rbuf *b)
{
    uint32_t v = get_u32(b);
    float f;
    memcpy(&f, &v, 4);
    return isfinite(f) ? f : (b->bad = 1, 0.0f);
}

/* Reads a length-prefixed string into a new buffer, or NULL (b->bad set). */
static char *get_str(rbuf *b, size_t max)
{
    uint32_t len = get_u32(b);
    if (b->bad || len > max || b->pos + len > b->n) {
        b->bad = 1;
        return NULL;
    }
    char *s = malloc(len + 1);
    if (!s) {
        b->bad = 2;
        return NULL;
    }
    memcpy(s, b->p + b->pos, len);
    s[len] = '\0';
    b->pos += len;
    return s;
}

static int parse(rbuf *b, const char *path, model_clf **out, ny_err *e)
{
    if (b->n < 12 || memcmp(b->p, MODEL_MAGIC, 8) != 0)
        return ny_err_set(e, NY_EINVAL, "%s: not a nuanyang model file", path);
    if (fnv(b->p, b->n - 4) != (b->pos = b->n - 4, get_u32(b)))
        return ny_err_set(e, NY_EINVAL, "%s: checksum mismatch (damaged file)", path);
    b->n -= 4;
    b->pos = 8;
    uint32_t version = get_u32(b);
    if (version > MODEL_VERSION)
        return ny_err_set(e, NY_EVERSION, "%s: model format %u is newer than this program (%u)",
                          path, version, MODEL_VERSION);
    model_spec s;
    s.hash_bits = get_u32(b);
    s.min_n = get_u32(b);
    s.max_n = get_u32(b);
    s.flags = get_u32(b);
    s.seed = get_u32(b);
    s.extra_scale = get_f32(b);
    uint32_t nc = get_u32(b);
    if (b->bad || nc < 2 || nc > MODEL_MAX_CLASSES)
        return ny_err_set(e, NY_EINVAL, "%s: bad header", path);
    char *labels[MODEL_MAX_CLASSES] = {0};
    for (uint32_t c = 0; c < nc && !b->bad; c++)
        labels[c] = get_str(b, 256);
    int rc;
    if (b->bad)
        rc = b->bad == 2 ? ny_err_set(e, NY_ERR, "out of memory")
                         : ny_err_set(e, NY_EINVAL, "%s: bad label names", path);
    else
        rc = model_new(&s, (const char *const *)labels, nc, NULL, out, e);
    for (uint32_t c = 0; c < nc; c++)
        free(labels[c]);
    if (rc != NY_OK)
        return rc;
    model_clf *m = *out;
    for (uint32_t c = 0; c < nc; c++)
        m->bias[c] = get_f32(b);
    free(m->info);
    m->info = get_str(b, 1u << 20);
    if (version >= 3)
        m->long_mask = get_u32(b);
    uint32_t nrows = get_u32(b);
    m->step = get_f32(b);
    uint32_t nb = 1u << s.hash_bits;
    if (!b->bad && (nrows > nb || (b->n - b->pos) / (4 + 2 * nc) < nrows))
        b->bad = 1;
    for (uint32_t r = 0; r < nrows && !b->bad; r++) {
        uint32_t row = get_u32(b);
        if (row >= nb) {
            b->bad = 1;
            break;
        }
        for (uint32_t c = 0; c < nc; c++, b->pos += 2) {
            uint16_t q = (uint16_t)(b->p[b->pos] | b->p[b->pos + 1] << 8);
            m->q[(size_t)row * nc + c] = (int16_t)q;
        }
    }
    if (m->idf && !b->bad) {
        float dflt = get_f32(b);
        uint32_t count = get_u32(b);
        if (count > nb || (b->n - b->pos) / 8 < count)
            b->bad = 1;
        for (uint32_t r = 0; r < nb && !b->bad; r++)
            m->idf[r] = dflt;
        for (uint32_t r = 0; r < count && !b->bad; r++) {
            uint32_t row = get_u32(b);
            float v = get_f32(b);
            if (row >= nb)
                b->bad = 1;
            else
                m->idf[row] = v;
        }
    }
    if (!b->bad && b->pos != b->n)
        b->bad = 1;
    if (b->bad) {
        int oom = b->bad == 2;
        model_free(m);
        *out = NULL;
        return oom ? ny_err_set(e, NY_ERR, "out of memory")
                   : ny_err_set(e, NY_EINVAL, "%s: damaged weights", path);
    }
    return NY_OK;
}

int model_load(const char *path, model_clf **out, ny_err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ny_err_set(e, errno == ENOENT ? NY_ENOTFOUND : NY_ERR, "%s: %s", path,
                          strerror(errno));
    unsigned char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            unsigned char *p = cap > (1u << 30) ? NULL : realloc(data, cap);
            if (!p) {
                free(data);
                fclose(f);
                return ny_err_set(e, NY_ERR, "%s: too large or out of memory", path);
            }
            data = p;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(data);
        return ny_err_set(e, NY_ERR, "%s: read error", path);
    }
    rbuf b = {data, n, 0, 0};
    int rc = parse(&b, path, out, e);
    free(data);
    return rc;
}
