/* model_file.c - the model file of model.h: writing, mapping, reading.
 *
 * A model is kept in a small binary file that stores only the non-zero
 * weight rows of its matrix (model.c keeps it dense in memory):
 *
 *   "NYMODEL\0" u32 version  u32 hash_bits min_n max_n flags seed  f32 extra_scale
 *   u32 nclasses  { u32 len, bytes } label names  f32 bias[nclasses]
 *   u32 info_len, bytes  u32 long_mask (from version 3)  u32 nrows  f32 step
 *   { u32 bucket, i16 w[nclasses] } rows
 *   with MODEL_F_IDF: f32 default idf  u32 count  { u32 bucket, f32 idf } others
 *   u32 checksum of everything before it
 *
 * all integers and floats little-endian. Up to version 3 the checksum is
 * FNV-1a over the bytes, which reads one byte per multiplication in a chain
 * (about 10 ms for the 7.8 MB of the default models, a fifth of start-up);
 * version 4 (written since) sums 8-byte words on four independent lanes,
 * eight times faster, and is otherwise the same. Both are read. Loading maps
 * the file instead of copying it (model_file_open checks it and parses the
 * header, leaving the rows where they are) so that a caller can read the
 * rows straight into the table it needs: model_load into the model's own
 * matrix, model_joint_load (model_joint.c) into a joint table. */
#include "model.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_int.h"

#define MODEL_MAGIC "NYMODEL"
#define MODEL_VERSION 4u
#define MODEL_MAX_FILE ((size_t)1 << 30)

/* ---- checksums ---- */

static uint32_t fnv(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The version 4 checksum: four lanes each take every fourth 8-byte word
 * (xor, multiply by an odd constant, rotate), then the lanes, the tail bytes
 * and the length are folded into 32 bits. */
static uint32_t wide_sum(const unsigned char *p, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    uint64_t h[4] = {1, 2, 3, 4};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * l, 8);
            uint64_t x = (h[l] ^ le64toh(w)) * k;
            h[l] = x << 27 | x >> 37;
        }
    uint64_t x = n;
    for (int l = 0; l < 4; l++)
        x = (x ^ h[l]) * k;
    for (; i < n; i++)
        x = (x ^ p[i]) * k;
    x ^= x >> 32;
    return (uint32_t)x;
}

/* ---- writing ---- */

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
    if (!m->q)
        return ny_err_set(e, NY_EINVAL, "%s: a model head has no weights to save", path);
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
    put_u32(&b, wide_sum(b.p, b.n));
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

/* ---- reading ---- */

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
    b->pos += 4;
    return model_get_u32le(b->p + b->pos - 4);
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

/* Parses the header of the checked file in b into f->head and finds the
 * sections that follow it. */
static int parse(rbuf *b, model_file *f, uint32_t version, ny_err *e)
{
    const char *path = f->path;
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
        rc = model_head_new(&s, (const char *const *)labels, nc, NULL, &f->head, e);
    for (uint32_t c = 0; c < nc; c++)
        free(labels[c]);
    if (rc != NY_OK)
        return rc;
    model_clf *m = f->head;
    for (uint32_t c = 0; c < nc; c++)
        m->bias[c] = get_f32(b);
    free(m->info);
    m->info = get_str(b, 1u << 20);
    if (version >= 3)
        m->long_mask = get_u32(b);
    f->nrows = get_u32(b);
    m->step = get_f32(b);
    uint32_t nb = 1u << s.hash_bits;
    if (!b->bad && (f->nrows > nb || (b->n - b->pos) / (4 + 2 * nc) < f->nrows))
        b->bad = 1;
    if (!b->bad) {
        f->rows = b->p + b->pos;
        b->pos += (size_t)f->nrows * (4 + 2 * nc);
    }
    if ((s.flags & MODEL_F_IDF) && !b->bad) {
        f->idf_default = get_f32(b);
        f->nidf = get_u32(b);
        if (f->nidf > nb || (b->n - b->pos) / 8 < f->nidf)
            b->bad = 1;
        else
            f->idf = b->p + b->pos, b->pos += (size_t)f->nidf * 8;
    }
    if (!b->bad && b->pos != b->n)
        b->bad = 1;
    if (b->bad) {
        int oom = b->bad == 2;
        model_free(f->head);
        f->head = NULL;
        return oom ? ny_err_set(e, NY_ERR, "out of memory")
                   : ny_err_set(e, NY_EINVAL, "%s: damaged weights", path);
    }
    return NY_OK;
}

static int check(model_file *f, ny_err *e)
{
    const char *path = f->path;
    rbuf b = {f->map, f->size, 0, 0};
    if (b.n < 16 || memcmp(b.p, MODEL_MAGIC, 8) != 0)
        return ny_err_set(e, NY_EINVAL, "%s: not a nuanyang model file", path);
    uint32_t version = model_get_u32le(b.p + 8);
    uint32_t sum = version >= 4 ? wide_sum(b.p, b.n - 4) : fnv(b.p, b.n - 4);
    if (sum != model_get_u32le(b.p + b.n - 4))
        return ny_err_set(e, NY_EINVAL, "%s: checksum mismatch (damaged file)", path);
    if (version > MODEL_VERSION)
        return ny_err_set(e, NY_EVERSION, "%s: model format %u is newer than this program (%u)",
                          path, version, MODEL_VERSION);
    b.n -= 4;
    b.pos = 12;
    return parse(&b, f, version, e);
}

int model_file_open(const char *path, model_file *f, ny_err *e)
{
    *f = (model_file){.path = path};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ny_err_set(e, errno == ENOENT ? NY_ENOTFOUND : NY_ERR, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    int rc = NY_OK;
    if (fstat(fd, &st) != 0)
        rc = ny_err_set(e, NY_ERR, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode) || (size_t)st.st_size > MODEL_MAX_FILE)
        rc = ny_err_set(e, NY_EINVAL, "%s: not a regular file of at most 1 GiB", path);
    else if (st.st_size < 16)
        rc = ny_err_set(e, NY_EINVAL, "%s: not a nuanyang model file", path);
    if (rc == NY_OK) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED)
            rc = ny_err_set(e, NY_ERR, "%s: cannot map: %s", path, strerror(errno));
        else
            f->map = p, f->size = (size_t)st.st_size;
    }
    close(fd);
    if (rc == NY_OK && (rc = check(f, e)) != NY_OK)
        model_file_close(f);
    return rc;
}

int model_file_weights(model_file *f, ny_err *e)
{
    model_clf *m = f->head;
    int rc = model_add_weights(m, e);
    if (rc != NY_OK)
        return rc;
    size_t nc = m->nclasses, rec = 4 + 2 * nc;
    uint32_t nb = 1u << m->spec.hash_bits;
    for (uint32_t r = 0; r < f->nrows; r++) {
        const unsigned char *p = f->rows + (size_t)r * rec;
        uint32_t row = model_get_u32le(p);
        if (row >= nb)
            return ny_err_set(e, NY_EINVAL, "%s: damaged weights", f->path);
        model_get_i16le(m->q + (size_t)row * nc, p + 4, nc);
    }
    if (!m->idf)
        return NY_OK;
    for (uint32_t r = 0; r < nb; r++)
        m->idf[r] = f->idf_default;
    for (uint32_t r = 0; r < f->nidf; r++) {
        uint32_t row = model_get_u32le(f->idf + 8 * (size_t)r);
        float v = model_get_f32le(f->idf + 8 * (size_t)r + 4);
        if (row >= nb || !isfinite(v))
            return ny_err_set(e, NY_EINVAL, "%s: damaged weights", f->path);
        m->idf[row] = v;
    }
    return NY_OK;
}

void model_file_close(model_file *f)
{
    if (f->map)
        munmap((void *)f->map, f->size);
    model_free(f->head);
    *f = (model_file){.path = f->path};
}

int model_load(const char *path, model_clf **out, ny_err *e)
{
    *out = NULL;
    model_file f;
    int rc = model_file_open(path, &f, e);
    if (rc != NY_OK)
        return rc;
    if ((rc = model_file_weights(&f, e)) == NY_OK) {
        *out = f.head;
        f.head = NULL;
    }
    model_file_close(&f);
    return rc;
}
