/* model.c - feature hashing, prediction and the model file of model.h.
 *
 * A text becomes a sparse vector in one pass: UTF-8 is decoded (bad bytes
 * become U+FFFD), ASCII letters are folded to lower case, runs of white space
 * become one space, and for every code point the n-grams ending there are
 * hashed (read backwards from the current character, so each order costs one
 * mixing step). The workspace keeps, per bucket, the slot of the bucket in the
 * current vector, so counting needs no sorting and no allocation; the slots
 * are reset through the list of touched buckets. Counts c become 1 + ln c and
 * the vector is scaled to unit length; caller features are added after that,
 * so a long text does not dilute them: values of the same id add up and the
 * feature is extra_scale * ln(1 + sum), so many hits count, but not linearly
 * (with MODEL_F_SHORT_EXTRA only in texts of at most MODEL_SHORT_CHARS code
 * points: in a long appeal the many hits drowned out its n-grams). The model keeps a
 * dense weight matrix (bucket-major, one row of class weights per bucket) for fast lookups but
 * stores only its non-zero rows in the file, each weight as a 16-bit multiple
 * of one step (training rounds the weights to that grid already, so a loaded
 * model predicts exactly like the one that was saved):
 *
 *   "NYMODEL\0" u32 version  u32 hash_bits min_n max_n flags seed  f32 extra_scale
 *   u32 nclasses  { u32 len, bytes } label names  f32 bias[nclasses]
 *   u32 info_len, bytes  u32 nrows  f32 step  { u32 bucket, i16 w[nclasses] } rows
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
#define MODEL_VERSION 2u
#define CP_BOS 0x02u
#define CP_EOS 0x03u

struct model_ws {
    model_spec spec;
    uint32_t *slot; /* per bucket: 1 + position in idx/val, 0 when absent */
    uint32_t *idx;
    float *val;
    size_t cap;
};

model_spec model_spec_default(void)
{
    model_spec s = {.hash_bits = 18,
                    .min_n = 1,
                    .max_n = 3,
                    .flags = MODEL_F_DIGITS | MODEL_F_BOUNDARY | MODEL_F_IDF,
                    .seed = 0x6e79u,
                    .extra_scale = 1.0f};
    return s;
}

model_spec model_task_spec(int task)
{
    model_spec s = model_spec_default();
    if (task == MODEL_TASK_CATEGORY)
        s.flags |= MODEL_F_SHORT_EXTRA;
    else
        s.extra_scale = 0.0f;
    return s;
}

static uint64_t mix(uint64_t h, uint32_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static uint32_t bucket_of(uint64_t h, unsigned bits)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)(h >> (64 - bits));
}

uint32_t model_feature_id(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

int model_spec_check(const model_spec *s, ny_err *e)
{
    if (s->hash_bits < 12 || s->hash_bits > 24)
        return ny_err_set(e, NY_EINVAL, "hash_bits %u outside 12..24", s->hash_bits);
    if (s->min_n < 1 || s->min_n > 4 || s->max_n < s->min_n || s->max_n > 5)
        return ny_err_set(e, NY_EINVAL, "n-gram orders %u..%u outside 1..5", s->min_n, s->max_n);
    if (s->flags &
        ~(unsigned)(MODEL_F_DIGITS | MODEL_F_BOUNDARY | MODEL_F_IDF | MODEL_F_SHORT_EXTRA))
        return ny_err_set(e, NY_EINVAL, "unknown feature flags %#x", s->flags);
    if (!isfinite(s->extra_scale))
        return ny_err_set(e, NY_EINVAL, "extra_scale is not finite");
    return NY_OK;
}

int model_ws_new(const model_spec *spec, model_ws **out, ny_err *e)
{
    *out = NULL;
    int rc = model_spec_check(spec, e);
    if (rc != NY_OK)
        return rc;
    model_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return ny_err_set(e, NY_ERR, "out of memory");
    ws->spec = *spec;
    ws->cap = (size_t)(MODEL_MAX_CHARS + 2) * (spec->max_n - spec->min_n + 1) + MODEL_MAX_EXTRA;
    ws->slot = calloc((size_t)1 << spec->hash_bits, sizeof *ws->slot);
    ws->idx = malloc(ws->cap * sizeof *ws->idx);
    ws->val = malloc(ws->cap * sizeof *ws->val);
    if (!ws->slot || !ws->idx || !ws->val) {
        model_ws_free(ws);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    *out = ws;
    return NY_OK;
}

void model_ws_free(model_ws *ws)
{
    if (!ws)
        return;
    free(ws->slot);
    free(ws->idx);
    free(ws->val);
    free(ws);
}

/* Decodes one code point at s[*i] (advancing *i); bad sequences give U+FFFD
 * and consume one byte. */
static uint32_t next_cp(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp;
    size_t need;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xc2 && c <= 0xdf) {
        cp = c & 0x1fu, need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        cp = c & 0x0fu, need = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
        cp = c & 0x07u, need = 3;
    } else {
        (*i)++;
        return 0xfffdu;
    }
    if (need > len - *i - 1) {
        (*i)++;
        return 0xfffdu;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xc0u) != 0x80u) {
            (*i)++;
            return 0xfffdu;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3fu);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
        (*i)++;
        return 0xfffdu;
    }
    *i += need + 1;
    return cp;
}

static int is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' ||
           cp == 0x3000u || cp == 0xa0u;
}

static void add(model_ws *ws, size_t *n, uint32_t b, float v)
{
    uint32_t s = ws->slot[b];
    if (s) {
        ws->val[s - 1] += v;
        return;
    }
    ws->idx[*n] = b;
    ws->val[*n] = v;
    ws->slot[b] = (uint32_t)++ * n;
}

/* Hashes the n-grams ending at the newest code point of win (win[0] newest,
 * have code points known). */
static void emit(model_ws *ws, size_t *n, const uint32_t *win, unsigned have)
{
    const model_spec *s = &ws->spec;
    uint64_t h = s->seed;
    for (unsigned k = 1; k <= s->max_n && k <= have; k++) {
        h = mix(h, win[k - 1]);
        if (k < s->min_n)
            continue;
        if (k == 1 && (win[0] == CP_BOS || win[0] == CP_EOS))
            continue;
        add(ws, n, bucket_of(h ^ k, s->hash_bits), 1.0f);
    }
}

static void push(model_ws *ws, size_t *n, uint32_t *win, unsigned *have, uint32_t cp)
{
    for (unsigned k = ws->spec.max_n - 1; k > 0; k--)
        win[k] = win[k - 1];
    win[0] = cp;
    if (*have < ws->spec.max_n)
        (*have)++;
    emit(ws, n, win, *have);
}

size_t model_features(const model_clf *m, model_ws *ws, const char *text, size_t len,
                      const model_extra *extra, size_t nextra, const uint32_t **idx,
                      const float **val)
{
    return model_extract(ws, m->idf, text, len, extra, nextra, idx, val);
}

size_t model_extract(model_ws *ws, const float *idf, const char *text, size_t len,
                     const model_extra *extra, size_t nextra, const uint32_t **idx,
                     const float **val)
{
    const model_spec *s = &ws->spec;
    const unsigned char *u = (const unsigned char *)text;
    uint32_t win[8] = {0};
    unsigned have = 0;
    size_t n = 0, chars = 0;
    int pending_space = 0;
    if (s->flags & MODEL_F_BOUNDARY)
        push(ws, &n, win, &have, CP_BOS);
    for (size_t i = 0; i < len && chars < MODEL_MAX_CHARS;) {
        uint32_t cp = next_cp(u, len, &i);
        if (is_space(cp) || cp < 0x20u) {
            pending_space = chars > 0;
            continue;
        }
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        else if ((s->flags & MODEL_F_DIGITS) && cp >= '0' && cp <= '9')
            cp = '0';
        if (pending_space) {
            push(ws, &n, win, &have, ' ');
            pending_space = 0;
        }
        push(ws, &n, win, &have, cp);
        chars++;
    }
    if (s->flags & MODEL_F_BOUNDARY)
        push(ws, &n, win, &have, CP_EOS);
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        float v = 1.0f + logf(ws->val[i]);
        if (idf)
            v *= idf[ws->idx[i]];
        ws->val[i] = v;
        norm += (double)v * v;
    }
    if (norm > 0) {
        float inv = (float)(1.0 / sqrt(norm));
        for (size_t i = 0; i < n; i++)
            ws->val[i] *= inv;
    }
    if (nextra > MODEL_MAX_EXTRA)
        nextra = MODEL_MAX_EXTRA;
    if ((s->flags & MODEL_F_SHORT_EXTRA) && chars > MODEL_SHORT_CHARS)
        nextra = 0;
    size_t first = n; /* caller features with the same id add up, then ln(1 + sum) */
    for (size_t i = 0; i < nextra; i++) {
        uint64_t h = mix(mix(s->seed, 0x4b57u), extra[i].id);
        add(ws, &n, bucket_of(h, s->hash_bits), extra[i].value);
    }
    for (size_t i = first; i < n; i++)
        ws->val[i] = ws->val[i] > 0 ? s->extra_scale * log1pf(ws->val[i]) : 0.0f;
    for (size_t i = 0; i < n; i++)
        ws->slot[ws->idx[i]] = 0;
    *idx = ws->idx;
    *val = ws->val;
    return n;
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
    for (size_t i = 0; i < n; i++) {
        const float *w = m->w + (size_t)idx[i] * nc;
        float v = val[i];
        for (size_t c = 0; c < nc; c++)
            acc[c] += v * w[c];
    }
    size_t best = 0;
    for (size_t c = 1; c < nc; c++)
        if (acc[c] > acc[best])
            best = c;
    if (scores)
        memcpy(scores, acc, nc * sizeof *acc);
    return (int)best;
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
            if (m->w[b * m->nclasses + c] != 0.0f) {
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
    size_t nb = (size_t)1 << spec->hash_bits;
    m->w = calloc(nb * nclasses, sizeof *m->w);
    m->info = strdup(info ? info : "");
    int ok = m->w && m->info;
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
    free(m->w);
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

/* The step of the 16-bit weight grid of m: the largest |weight| / 32767. */
static float weight_step(const model_clf *m)
{
    size_t nw = ((size_t)1 << m->spec.hash_bits) * m->nclasses;
    float top = 0;
    for (size_t i = 0; i < nw; i++)
        if (fabsf(m->w[i]) > top)
            top = fabsf(m->w[i]);
    return top > 0 ? top / 32767.0f : 1.0f;
}

void model_quantize(model_clf *m)
{
    size_t nw = ((size_t)1 << m->spec.hash_bits) * m->nclasses;
    float step = weight_step(m);
    for (size_t i = 0; i < nw; i++)
        m->w[i] = step * (float)(int)lrintf(m->w[i] / step);
}

/* The largest IDF value, which every bucket unseen in training has. */
static float idf_default(const float *idf, size_t nb)
{
    float d = idf[0];
    for (size_t r = 1; r < nb; r++)
        if (idf[r] > d)
            d = idf[r];
    return d;
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
    put_u32(&b, (uint32_t)model_nrows(m));
    size_t nb = (size_t)1 << m->spec.hash_bits, nc = m->nclasses;
    float step = weight_step(m);
    put_f32(&b, step);
    for (size_t r = 0; r < nb; r++) {
        const float *w = m->w + r * nc;
        size_t c = 0;
        while (c < nc && w[c] == 0.0f)
            c++;
        if (c == nc)
            continue;
        put_u32(&b, (uint32_t)r);
        for (c = 0; c < nc; c++) {
            uint16_t q = (uint16_t)(int16_t)lrintf(w[c] / step);
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
    uint32_t nrows = get_u32(b);
    float step = get_f32(b);
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
            m->w[(size_t)row * nc + c] = step * (float)(int16_t)q;
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
