/* model_feat.c - how a text becomes the hashed features of model.h.
 *
 * A text becomes a sparse vector in one pass: UTF-8 is decoded (bad bytes
 * become U+FFFD), ASCII letters are folded to lower case, runs of white space
 * become one space, and for every code point the n-grams ending there are
 * hashed (read backwards from the current character, so each order costs one
 * mixing step). Counting uses a small open-addressing table in the
 * workspace, sized to the text (a chat message touches a few cache lines of
 * it) and cleared after use slot by slot (only those taken), so there is no
 * sorting, no allocation and no clearing of the whole table. The hashing of
 * one code point is compiled for the usual orders (1-3 and 1-2) with the
 * loops unrolled and, past the start of the text, without tests.
 * model_grams stops there (bucket and count), which is what the joint scorer
 * of two models needs; model_extract goes on: counts c become 1 + ln c,
 * times the model's IDF, and the vector is scaled to unit length; caller
 * features are added after that, so a long text does not dilute them: values
 * of the same id add up and the feature is extra_scale * ln(1 + sum), so many
 * hits count, but not linearly (with MODEL_F_SHORT_EXTRA only in texts of at
 * most MODEL_SHORT_CHARS code points: in a long appeal the many hits drowned
 * out its n-grams). A caller feature is its own entry even when its bucket is
 * also an n-gram's. With MODEL_F_HEAD the first MODEL_HEAD_CHARS code points
 * (an appeal's title) are hashed a second time from another seed; those
 * copies are scaled to length MODEL_HEAD_WEIGHT apart from the unit-length
 * vector of all n-grams, so the title counts more than any stretch of the
 * body. The file also holds the feature specifications. */
#include "model.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

#define CP_BOS 0x02u
#define CP_EOS 0x03u

struct model_ws {
    model_spec spec;
    uint64_t *tab; /* open addressing: (bucket + 1) << 32 | position in idx/val, 0 empty */
    size_t tabcap; /* entries of tab (a power of two) */
    uint32_t *idx;
    uint32_t *slot; /* the entry of tab each index took */
    float *val;
    size_t cap;
    size_t chars; /* code points of the last text that made features */
    size_t nmain; /* its entries before the MODEL_F_HEAD copies */
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
    if (task == MODEL_TASK_CATEGORY) {
        s.flags |= MODEL_F_SHORT_EXTRA;
        s.extra_scale = 2.0f; /* +0.3 points of chat macro-F1 over 1 (data/models/README.md) */
    } else if (task == MODEL_TASK_CATEGORY_LONG) {
        s.hash_bits = 19;
        s.max_n = 2;
        s.flags |= MODEL_F_HEAD;
        s.extra_scale = 0.0f;
    } else {
        s.extra_scale = 0.0f;
    }
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
    if (s->flags & ~(unsigned)(MODEL_F_DIGITS | MODEL_F_BOUNDARY | MODEL_F_IDF |
                               MODEL_F_SHORT_EXTRA | MODEL_F_HEAD))
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
    ws->cap = (size_t)(MODEL_MAX_CHARS + MODEL_HEAD_CHARS + 4) * (spec->max_n - spec->min_n + 1) +
              MODEL_MAX_EXTRA;
    ws->tabcap = 64;
    while (ws->tabcap < 2 * ws->cap)
        ws->tabcap *= 2;
    ws->tab = calloc(ws->tabcap, sizeof *ws->tab);
    ws->idx = malloc(ws->cap * sizeof *ws->idx);
    ws->slot = malloc(ws->cap * sizeof *ws->slot);
    ws->val = malloc(ws->cap * sizeof *ws->val);
    if (!ws->tab || !ws->idx || !ws->slot || !ws->val) {
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
    free(ws->tab);
    free(ws->idx);
    free(ws->slot);
    free(ws->val);
    free(ws);
}

/* Decodes one code point at s[*i] (advancing *i); bad sequences give U+FFFD
 * and consume one byte. */
static inline __attribute__((always_inline)) uint32_t next_cp(const unsigned char *s, size_t len,
                                                              size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp;
    size_t need;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if ((c & 0xf0u) == 0xe0u && *i + 2 < len && (s[*i + 1] & 0xc0u) == 0x80u &&
               (s[*i + 2] & 0xc0u) == 0x80u) { /* a well-formed 3-byte character (CJK) */
        cp = (c & 0x0fu) << 12 | (s[*i + 1] & 0x3fu) << 6 | (s[*i + 2] & 0x3fu);
        if (cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) {
            *i += 3;
            return cp;
        }
        (*i)++;
        return 0xfffdu;
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

static inline int is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' ||
           cp == 0x3000u || cp == 0xa0u;
}

/* The counting of one text: the table of mask + 1 entries maps buckets to
 * their position in idx/val; slot remembers the entries taken, so clearing
 * the table afterwards costs one store per distinct n-gram. */
typedef struct counter {
    uint64_t *tab;
    uint32_t *idx, *slot;
    float *val;
    size_t n, mask;
} counter;

/* Counts bucket b in the current text. */
static inline __attribute__((always_inline)) void add(counter *c, uint32_t b)
{
    uint64_t key = (uint64_t)(b + 1u) << 32;
    for (size_t p = b & c->mask;; p = (p + 1) & c->mask) {
        uint64_t t = c->tab[p];
        if (!t) {
            c->tab[p] = key | c->n;
            c->slot[c->n] = (uint32_t)p;
            c->idx[c->n] = b;
            c->val[c->n++] = 1.0f;
            return;
        }
        if ((t & 0xffffffff00000000ull) == key) {
            c->val[t & 0xffffffffu] += 1.0f;
            return;
        }
    }
}

/* The parts of a spec the scan reads per code point, in locals (stores
 * through the counter's uint32_t arrays could alias the spec's fields). */
typedef struct scan_spec {
    unsigned bits, min_n, flags;
} scan_spec;

/* Appends cp to the window win (win[0] newest, *have code points known, at
 * most max_n) and hashes the n-grams ending at it. Inlined with max_n a
 * constant, the shift and the orders unroll and the window stays in
 * registers. */
static inline __attribute__((always_inline)) void push(const scan_spec *s, counter *c,
                                                       uint64_t seed, uint32_t *win, unsigned *have,
                                                       uint32_t cp, const unsigned max_n)
{
#pragma GCC unroll 8
    for (unsigned k = max_n - 1; k > 0; k--)
        win[k] = win[k - 1];
    win[0] = cp;
    uint64_t h = seed;
    if (__builtin_expect(*have < max_n - 1, 0)) { /* the first code points of the text */
        (*have)++;
        for (unsigned k = 1; k <= *have; k++) {
            h = mix(h, win[k - 1]);
            if (k >= s->min_n && !(k == 1 && (cp == CP_BOS || cp == CP_EOS)))
                add(c, bucket_of(h ^ k, s->bits));
        }
        return;
    }
    *have = max_n;
    uint32_t b[8] = {0}; /* all orders: a fixed number of steps, then the counting */
#pragma GCC unroll 8
    for (unsigned k = 1; k <= max_n; k++) {
        h = mix(h, win[k - 1]);
        b[k - 1] = bucket_of(h ^ k, s->bits);
    }
    int skip1 = cp == CP_BOS || cp == CP_EOS;
#pragma GCC unroll 8
    for (unsigned k = 1; k <= max_n; k++)
        if (k >= s->min_n && !(k == 1 && skip1))
            add(c, b[k - 1]);
}

/* Counts the n-grams (orders up to max_n = s->max_n) of the first `limit`
 * code points of text, hashed from seed, with the end marker when eos;
 * returns the code points read. */
static inline __attribute__((always_inline)) size_t
scan_n(const model_spec *spec, counter *cp_, const char *text, size_t len, uint64_t seed,
       size_t limit, int eos, const unsigned max_n, const unsigned bits)
{
    counter local = *cp_, *c = &local; /* in registers: no reload after each store */
    const scan_spec ss = {bits, spec->min_n > 1 ? spec->min_n : 1, spec->flags}, *s = &ss;
    const unsigned char *u = (const unsigned char *)text;
    uint32_t win[8] = {0};
    unsigned have = 0;
    size_t chars = 0;
    int pending_space = 0;
    if (s->flags & MODEL_F_BOUNDARY)
        push(s, c, seed, win, &have, CP_BOS, max_n);
    for (size_t i = 0; i < len && chars < limit;) {
        uint32_t cp = next_cp(u, len, &i);
        if (cp <= 0x3000u) { /* above it (most CJK text) none of these apply */
            if (is_space(cp) || cp < 0x20u) {
                pending_space = chars > 0;
                continue;
            }
            if (cp >= 'A' && cp <= 'Z')
                cp += 'a' - 'A';
            else if ((s->flags & MODEL_F_DIGITS) && cp >= '0' && cp <= '9')
                cp = '0';
        }
        if (pending_space) {
            push(s, c, seed, win, &have, ' ', max_n);
            pending_space = 0;
        }
        push(s, c, seed, win, &have, cp, max_n);
        chars++;
    }
    if (eos && (s->flags & MODEL_F_BOUNDARY))
        push(s, c, seed, win, &have, CP_EOS, max_n);
    cp_->n = local.n;
    return chars;
}

/* scan_n for the spec's max_n and hash_bits: the usual shapes (orders 1-3
 * over 2^18 buckets: the chat models; 1-2 over 2^19: the long-text model)
 * get code of their own, with the bucket shift a constant. */
static size_t scan(const model_spec *s, counter *c, const char *text, size_t len, uint64_t seed,
                   size_t limit, int eos)
{
    if (s->max_n == 3 && s->hash_bits == 18)
        return scan_n(s, c, text, len, seed, limit, eos, 3, 18);
    if (s->max_n == 2 && s->hash_bits == 19)
        return scan_n(s, c, text, len, seed, limit, eos, 2, 19);
    return scan_n(s, c, text, len, seed, limit, eos, s->max_n, s->hash_bits);
}

size_t model_grams(model_ws *ws, const char *text, size_t len)
{
    const model_spec *s = &ws->spec;
    /* a table at least twice the n-grams this text can make, so short texts
       touch only a few cache lines of it */
    size_t orders = s->max_n - s->min_n + 1;
    size_t most = ((len < MODEL_MAX_CHARS ? len : MODEL_MAX_CHARS) + 2) * orders;
    if (s->flags & MODEL_F_HEAD)
        most += (MODEL_HEAD_CHARS + 2) * orders;
    size_t size = 64;
    while (size < 2 * most && size < ws->tabcap)
        size *= 2;
    counter c = {ws->tab, ws->idx, ws->slot, ws->val, 0, size - 1};
    ws->chars = scan(s, &c, text, len, s->seed, MODEL_MAX_CHARS, 1);
    ws->nmain = c.n;
    if (s->flags & MODEL_F_HEAD) /* the start again, as features of its own */
        scan(s, &c, text, len, s->seed ^ 0x68656164u, MODEL_HEAD_CHARS, 0);
    for (size_t i = 0; i < c.n; i++)
        ws->tab[c.slot[i]] = 0;
    return c.n;
}

size_t model_ws_chars(const model_ws *ws)
{
    return ws->chars;
}

const uint32_t *model_ws_idx(const model_ws *ws)
{
    return ws->idx;
}

const float *model_ws_val(const model_ws *ws)
{
    return ws->val;
}

uint32_t model_extra_bucket(const model_spec *s, uint32_t id)
{
    return bucket_of(mix(mix(s->seed, 0x4b57u), id), s->hash_bits);
}

/* ln(1 + v) for the sums of lexicon weights, mostly small multiples of 1/2:
 * those below 32 from a table filled by log1pf itself (the same floats),
 * the rest computed. */
#define LOG1P_HALVES 64
static float log1p_halves[LOG1P_HALVES];
static atomic_int log1p_ready;
static pthread_once_t log1p_once = PTHREAD_ONCE_INIT;

static void log1p_fill(void)
{
    for (int k = 0; k < LOG1P_HALVES; k++)
        log1p_halves[k] = log1pf((float)k / 2.0f);
    atomic_store_explicit(&log1p_ready, 1, memory_order_release);
}

static float log1p_sum(float v)
{
    float d = v * 2.0f;
    if (!(d >= 0 && d < LOG1P_HALVES) || d != (float)(int)d)
        return log1pf(v);
    if (!atomic_load_explicit(&log1p_ready, memory_order_acquire))
        pthread_once(&log1p_once, log1p_fill);
    return log1p_halves[(int)d];
}

size_t model_extras(const model_spec *s, size_t chars, const model_extra *extra, size_t nextra,
                    uint32_t *idx, float *val)
{
    if (nextra > MODEL_MAX_EXTRA)
        nextra = MODEL_MAX_EXTRA;
    if (s->extra_scale == 0.0f || ((s->flags & MODEL_F_SHORT_EXTRA) && chars > MODEL_SHORT_CHARS))
        return 0;
    size_t n = 0; /* values of the same id add up (few ids: a linear search) */
    for (size_t i = 0; i < nextra; i++) {
        uint32_t b = model_extra_bucket(s, extra[i].id);
        size_t k = 0;
        while (k < n && idx[k] != b)
            k++;
        if (k == n) {
            idx[n] = b;
            val[n++] = 0.0f;
        }
        val[k] += extra[i].value;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (val[i] > 0) {
            idx[kept] = idx[i];
            val[kept++] = s->extra_scale * log1p_sum(val[i]);
        }
    return kept;
}

size_t model_extract(model_ws *ws, const float *idf, const char *text, size_t len,
                     const model_extra *extra, size_t nextra, const uint32_t **idx,
                     const float **val)
{
    size_t n = model_grams(ws, text, len);
    /* the text's n-grams to unit length, the copies of its start to MODEL_HEAD_WEIGHT */
    size_t part[3] = {0, ws->nmain, n};
    for (int k = 0; k < 2; k++) {
        double norm = 0;
        for (size_t i = part[k]; i < part[k + 1]; i++) {
            float v = ws->val[i] == 1.0f ? 1.0f : 1.0f + logf(ws->val[i]);
            if (idf)
                v *= idf[ws->idx[i]];
            ws->val[i] = v;
            norm += (double)v * v;
        }
        if (norm > 0) {
            float inv = (float)((k ? MODEL_HEAD_WEIGHT : 1.0) / sqrt(norm));
            for (size_t i = part[k]; i < part[k + 1]; i++)
                ws->val[i] *= inv;
        }
    }
    n += model_extras(&ws->spec, ws->chars, extra, nextra, ws->idx + n, ws->val + n);
    *idx = ws->idx;
    *val = ws->val;
    return n;
}

size_t model_chars(const char *text, size_t len)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t chars = 0;
    for (size_t i = 0; i < len && chars < MODEL_MAX_CHARS;) {
        uint32_t cp = next_cp(u, len, &i);
        chars += !(is_space(cp) || cp < 0x20u);
    }
    return chars;
}
