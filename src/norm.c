/* norm.c - the first stage of the assistant's triage pipeline: one
 * table-driven pass that turns a raw chat message into the canonical text the
 * keyword matcher (match.c) and the classifier see.
 *
 * norm_open() asks utf8proc (NFKC, case folding, default ignorables) and the
 * compiled-in OpenCC character pairs (norm_t2s.c) once for every BMP code
 * point and stores the answer in a 64 Ki-entry table: keep the character,
 * replace it by bytes from a shared pool, drop it, or treat it as white space;
 * ASCII has its own 128-byte table. norm_text() then decodes UTF-8, looks each
 * character up and copies bytes: no library call per message. Rare cases take
 * slow paths: a combining mark re-normalises the short segment from the
 * preceding starter with utf8proc (so e + U+0301 composes), code points above
 * the BMP are checked against utf8proc's property table, and replacements
 * containing a space go through the white-space logic byte by byte. */
#include "norm.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* A table entry: kind in bits 0-1, flags, replacement length and pool offset. */
enum { K_IDENT = 0, K_REPL = 1, K_DROP = 2, K_SPACE = 3 };
#define E_KIND(x) ((x)&3u)
#define E_COMB 4u  /* may compose with the preceding character */
#define E_HASSP 8u /* replacement contains a space */
#define E_LEN(x) (((x) >> 4) & 63u)
#define E_OFF(x) ((x) >> 10)
#define E_MAKE(kind, flags, len, off)                                                              \
    ((uint32_t)(kind) | (uint32_t)(flags) | ((uint32_t)(len) << 4) | ((uint32_t)(off) << 10))

#define POOL_MAX (1u << 22) /* offsets have 22 bits */
#define POOL_PAD 8          /* zero bytes after the pool: replacements are copied 8 at a time */
#define SLACK 16            /* output bytes kept free beyond 3 per remaining input byte */
#define SEG_MARKS 32        /* combining marks composed with one starter (stream-safe limit) */
#define NO_STARTER SIZE_MAX

#define UP_OPTS                                                                                    \
    (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

struct norm_table {
    uint64_t keep[1024]; /* bit per BMP code point: plain K_IDENT (8 KiB, stays in L1) */
    uint32_t e[0x10000]; /* BMP code point → entry */
    uint8_t ascii[128];  /* ASCII → output byte, ' ' for white space, 0 to drop */
    char *pool;          /* replacement bytes, POOL_PAD zero bytes at the end */
};

/* ---- building the table ---- */

/* 1 for code points that are white space after normalisation. */
static int is_space_cp(int32_t cp)
{
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85)
        return 1;
    if (cp < 0x80)
        return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

/* 1 for code points that may compose with or reorder around the character
 * before them: combining marks, second parts of compositions, Hangul
 * vowel and trailing jamo. */
static int is_comb_cp(int32_t cp)
{
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    if (p->combining_class != 0)
        return 1;
    if (p->comb_index != UINT16_MAX && p->comb_index >= 0x8000)
        return 1;
    return (cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2);
}

/* NFKC_Casefold of UTF-8 bytes s[0..len) into out (cap code points); returns
 * the count, or -1 when utf8proc fails or out is too small. */
static long nfkc_cf(const uint8_t *s, size_t len, int32_t *out, long cap)
{
    utf8proc_ssize_t n = utf8proc_decompose(s, (utf8proc_ssize_t)len, out, cap, UP_OPTS);
    if (n < 0 || n > cap)
        return -1;
    n = utf8proc_normalize_utf32(out, n, UP_OPTS);
    return n < 0 ? -1 : (long)n;
}

static size_t encode_cps(const int32_t *cps, long n, uint8_t *buf)
{
    size_t len = 0;
    for (long i = 0; i < n; i++)
        len += (size_t)utf8proc_encode_char(cps[i], buf + len);
    return len;
}

typedef struct builder {
    norm_table *t;
    size_t pooln, poolcap;
    int32_t *t2s; /* BMP code point → simplified code point, 0 for none */
} builder;

static int pool_add(builder *b, const uint8_t *s, size_t len, uint32_t *off)
{
    if (b->pooln + len + POOL_PAD > b->poolcap) {
        size_t cap = b->poolcap ? b->poolcap * 2 : 65536;
        char *p = realloc(b->t->pool, cap);
        if (!p)
            return NY_ERR;
        b->t->pool = p;
        b->poolcap = cap;
    }
    if (b->pooln + len >= POOL_MAX)
        return NY_ERR;
    memcpy(b->t->pool + b->pooln, s, len);
    *off = (uint32_t)b->pooln;
    b->pooln += len;
    memset(b->t->pool + b->pooln, 0, POOL_PAD);
    return NY_OK;
}

/* Loads the traditional → simplified pairs into b->t2s. */
static int load_t2s(builder *b, ny_err *e)
{
    size_t len;
    const uint8_t *s = (const uint8_t *)norm_t2s_pairs(&len);
    b->t2s = calloc(0x10000, sizeof *b->t2s);
    if (!b->t2s)
        return ny_err_set(e, NY_ERR, "norm_open: out of memory");
    size_t i = 0;
    while (i < len) {
        int32_t from, to;
        utf8proc_ssize_t l1 = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &from);
        if (l1 <= 0 || from > 0xFFFF)
            return ny_err_set(e, NY_ERR, "norm_open: bad character pair data at %zu", i);
        utf8proc_ssize_t l2 =
            utf8proc_iterate(s + i + l1, (utf8proc_ssize_t)(len - i - (size_t)l1), &to);
        if (l2 <= 0)
            return ny_err_set(e, NY_ERR, "norm_open: bad character pair data at %zu", i);
        b->t2s[from] = to;
        i += (size_t)(l1 + l2);
    }
    return NY_OK;
}

/* Computes the table entry of one BMP code point. */
static int build_entry(builder *b, int32_t cp, ny_err *e)
{
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    utf8proc_category_t cat = (utf8proc_category_t)p->category;
    uint32_t *ent = &b->t->e[cp];
    if (cat == UTF8PROC_CATEGORY_CC) {
        *ent = E_MAKE(is_space_cp(cp) ? K_SPACE : K_DROP, 0, 0, 0);
        return NY_OK;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) { /* never decoded: UTF-8 cannot carry them */
        *ent = E_MAKE(K_IDENT, 0, 0, 0);
        return NY_OK;
    }
    int comb = is_comb_cp(cp);
    if (p->decomp_seqindex == UINT16_MAX && p->casefold_seqindex == UINT16_MAX && !p->ignorable &&
        b->t2s[cp] == 0 && !is_space_cp(cp)) {
        *ent = E_MAKE(K_IDENT, comb ? E_COMB : 0, 0, 0);
        return NY_OK;
    }
    int32_t r[64];
    uint8_t u[256];
    size_t ul = (size_t)utf8proc_encode_char(cp, u);
    long n = nfkc_cf(u, ul, r, 64);
    if (n < 0)
        return ny_err_set(e, NY_ERR, "norm_open: utf8proc failed on U+%04X", (unsigned)cp);
    /* traditional → simplified until nothing changes, then NFKC_Casefold again */
    int changed = 0;
    for (int round = 0; round < 4; round++) {
        int any = 0;
        for (long i = 0; i < n; i++)
            if (r[i] <= 0xFFFF && b->t2s[r[i]] != 0 && b->t2s[r[i]] != r[i]) {
                r[i] = b->t2s[r[i]];
                any = 1;
            }
        if (!any)
            break;
        changed = 1;
    }
    if (changed) {
        ul = encode_cps(r, n, u);
        n = nfkc_cf(u, ul, r, 64);
        if (n < 0)
            return ny_err_set(e, NY_ERR, "norm_open: utf8proc failed on U+%04X", (unsigned)cp);
    }
    int allspace = 1, anyspace = 0;
    for (long i = 0; i < n; i++) {
        if (is_space_cp(r[i])) {
            r[i] = ' ';
            anyspace = 1;
        } else {
            allspace = 0;
        }
    }
    if (n == 0) {
        *ent = E_MAKE(K_DROP, 0, 0, 0);
        return NY_OK;
    }
    if (allspace) {
        *ent = E_MAKE(K_SPACE, 0, 0, 0);
        return NY_OK;
    }
    comb = comb || is_comb_cp(r[0]);
    if (n == 1 && r[0] == cp) {
        *ent = E_MAKE(K_IDENT, comb ? E_COMB : 0, 0, 0);
        return NY_OK;
    }
    ul = encode_cps(r, n, u);
    if (ul > 63)
        return ny_err_set(e, NY_ERR, "norm_open: replacement of U+%04X too long", (unsigned)cp);
    uint32_t off;
    if (pool_add(b, u, ul, &off) != NY_OK)
        return ny_err_set(e, NY_ERR, "norm_open: out of memory");
    *ent = E_MAKE(K_REPL, (comb ? E_COMB : 0) | (anyspace ? E_HASSP : 0), ul, off);
    return NY_OK;
}

int norm_open(norm_table **out, ny_err *e)
{
    ny_err_clear(e);
    *out = NULL;
    builder b = {0};
    b.t = calloc(1, sizeof *b.t);
    if (!b.t)
        return ny_err_set(e, NY_ERR, "norm_open: out of memory");
    int rc = load_t2s(&b, e);
    for (int32_t cp = 0; rc == NY_OK && cp < 0x10000; cp++)
        rc = build_entry(&b, cp, e);
    for (int32_t cp = 0; rc == NY_OK && cp < 0x10000; cp++)
        if (b.t->e[cp] == E_MAKE(K_IDENT, 0, 0, 0))
            b.t->keep[cp >> 6] |= (uint64_t)1 << (cp & 63);
    for (int c = 0; rc == NY_OK && c < 128; c++) {
        uint32_t x = b.t->e[c];
        switch (E_KIND(x)) {
        case K_IDENT:
            b.t->ascii[c] = (uint8_t)c;
            break;
        case K_REPL:
            if (E_LEN(x) != 1 || (unsigned char)b.t->pool[E_OFF(x)] >= 0x80)
                rc = ny_err_set(e, NY_ERR, "norm_open: ASCII %d maps outside ASCII", c);
            else
                b.t->ascii[c] = (uint8_t)b.t->pool[E_OFF(x)];
            break;
        case K_DROP:
            b.t->ascii[c] = 0;
            break;
        default:
            b.t->ascii[c] = ' ';
        }
    }
    free(b.t2s);
    if (rc != NY_OK) {
        norm_close(b.t);
        return rc;
    }
    *out = b.t;
    return NY_OK;
}

void norm_close(norm_table *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t);
}

/* ---- normalising ---- */

/* The output under construction, for the slow paths. */
typedef struct sink {
    norm_buf *b;
    size_t n;        /* bytes written */
    int pend;        /* a space is owed before the next character */
    uint32_t pa, pb; /* input span of the pending space */
    int offs;        /* filling the offset map */
} sink;

/* Makes room for need bytes (plus the NUL) in b, and their map entries. */
static int buf_reserve(norm_buf *b, size_t need, int offs)
{
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return NY_ERR;
        b->s = s;
        b->cap = cap;
    }
    if (offs && 2 * b->cap > b->mapcap) {
        uint32_t *m = realloc(b->map, 2 * b->cap * sizeof *m);
        if (!m)
            return NY_ERR;
        b->map = m;
        b->mapcap = 2 * b->cap;
    }
    return NY_OK;
}

static int sink_byte(sink *k, uint8_t c, uint32_t a, uint32_t z)
{
    if (buf_reserve(k->b, k->n + SLACK, k->offs) != NY_OK)
        return NY_ERR;
    if (k->offs) {
        k->b->map[2 * k->n] = a;
        k->b->map[2 * k->n + 1] = z;
    }
    k->b->s[k->n++] = (char)c;
    return NY_OK;
}

static void sink_space(sink *k, uint32_t a, uint32_t z)
{
    if (k->n == 0)
        return;
    if (!k->pend) {
        k->pend = 1;
        k->pa = a;
    }
    k->pb = z;
}

/* Writes bytes that are normalised already; spaces go through sink_space. */
static int sink_bytes(sink *k, const uint8_t *s, size_t len, uint32_t a, uint32_t z)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            sink_space(k, a, z);
            continue;
        }
        if (k->pend) {
            if (sink_byte(k, ' ', k->pa, k->pb) != NY_OK)
                return NY_ERR;
            k->pend = 0;
        }
        if (sink_byte(k, s[i], a, z) != NY_OK)
            return NY_ERR;
    }
    return NY_OK;
}

/* Emits one code point through the table, ignoring E_COMB (the caller has
 * composed already); code points above the BMP are written as they are. */
static int sink_cp(const norm_table *t, sink *k, int32_t cp, uint32_t a, uint32_t z)
{
    uint8_t u[4];
    if (cp > 0xFFFF)
        return sink_bytes(k, u, (size_t)utf8proc_encode_char(cp, u), a, z);
    uint32_t x = t->e[cp];
    switch (E_KIND(x)) {
    case K_IDENT:
        return sink_bytes(k, u, (size_t)utf8proc_encode_char(cp, u), a, z);
    case K_REPL:
        return sink_bytes(k, (const uint8_t *)t->pool + E_OFF(x), E_LEN(x), a, z);
    case K_SPACE:
        sink_space(k, a, z);
        return NY_OK;
    default:
        return NY_OK;
    }
}

/* 1 when cp may compose with what precedes it. */
static int comb_at(const norm_table *t, int32_t cp)
{
    if (cp <= 0xFFFF)
        return (t->e[cp] & E_COMB) != 0;
    return is_comb_cp(cp);
}

/* 1 when normalisation removes cp. */
static int dropped_cp(const norm_table *t, int32_t cp)
{
    if (cp <= 0xFFFF)
        return E_KIND(t->e[cp]) == K_DROP;
    return utf8proc_get_property(cp)->ignorable;
}

/* The segment that composition re-normalises starts at a, with the starter
 * when `starter` is set, and runs over the following combining and removed
 * characters, at most SEG_MARKS of them (counted in *count). Removed
 * characters belong to it because the output will not contain them: marks on
 * both sides of a U+200B compose as if it were not there. Returns the end. */
static size_t seg_end(const norm_table *t, const uint8_t *in, size_t a, size_t len, int starter,
                      int *count)
{
    int32_t cp;
    size_t i = a, l;
    if (starter)
        i += norm_utf8_decode(in, i, len, &cp);
    *count = 0;
    while (i < len && *count < SEG_MARKS && (l = norm_utf8_decode(in, i, len, &cp)) != 0 &&
           (comb_at(t, cp) || dropped_cp(t, cp))) {
        i += l;
        (*count)++;
    }
    return i;
}

/* Normalises the segment in[a..z) (valid UTF-8, see seg_end) without its
 * removed characters with utf8proc and emits the result through the table. */
static int sink_segment(const norm_table *t, sink *k, const uint8_t *in, size_t a, size_t z)
{
    uint8_t seg[(SEG_MARKS + 1) * 4];
    size_t sl = 0, l;
    int32_t cp, r[1024];
    for (size_t i = a; i < z && (l = norm_utf8_decode(in, i, z, &cp)) != 0; i += l) {
        if (!dropped_cp(t, cp)) {
            memcpy(seg + sl, in + i, l);
            sl += l;
        }
    }
    long n = nfkc_cf(seg, sl, r, 1024);
    if (n < 0) /* cannot happen: at most 33 characters of at most 18 each */
        return NY_ERR;
    for (long i = 0; i < n; i++)
        if (sink_cp(t, k, r[i], (uint32_t)a, (uint32_t)z) != NY_OK)
            return NY_ERR;
    return NY_OK;
}

/* A code point above the BMP that needs utf8proc (decomposition, case
 * folding); returns NY_OK or NY_ERR. */
static int sink_astral(const norm_table *t, sink *k, const uint8_t *in, size_t i, size_t l)
{
    int32_t r[64];
    long n = nfkc_cf(in + i, l, r, 64);
    if (n < 0)
        return sink_bytes(k, in + i, l, (uint32_t)i, (uint32_t)(i + l));
    for (long j = 0; j < n; j++)
        if (sink_cp(t, k, r[j], (uint32_t)i, (uint32_t)(i + l)) != NY_OK)
            return NY_ERR;
    return NY_OK;
}

static int oom(norm_buf *b, ny_err *e)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
    return ny_err_set(e, NY_ERR, "norm_text: out of memory");
}

#define PUT(byte, a, z)                                                                            \
    do {                                                                                           \
        if (offs) {                                                                                \
            map[2 * n] = (uint32_t)(a);                                                            \
            map[2 * n + 1] = (uint32_t)(z);                                                        \
        }                                                                                          \
        o[n++] = (uint8_t)(byte);                                                                  \
    } while (0)

#define FLUSH_SPACE()                                                                              \
    do {                                                                                           \
        if (pend) {                                                                                \
            PUT(' ', pa, pb);                                                                      \
            pend = 0;                                                                              \
        }                                                                                          \
    } while (0)

/* The one pass; offs is a constant in each caller so the compiler drops the
 * map writes from the plain variant. Invariant at the top of the loop:
 * cap >= n + pend + 3 * (len - i) + SLACK. */
static inline __attribute__((always_inline)) int run(const norm_table *t, const uint8_t *in,
                                                     size_t len, int strict, norm_buf *b, ny_err *e,
                                                     const int offs)
{
    if (buf_reserve(b, 3 * len + SLACK, offs) != NY_OK)
        return oom(b, e);
    uint8_t *o = (uint8_t *)b->s;
    uint32_t *map = b->map;
    size_t n = 0, i = 0;
    int pend = 0;
    uint32_t pa = 0, pb = 0;
    size_t st_in = NO_STARTER, st_out = 0; /* the last starter: input offset, output length */
    int st_pend = 0, st_count = 0;         /* and what was pending, characters since */
    while (i < len) {
        uint8_t c = in[i];
        if (c < 0x80) {
            uint8_t r = t->ascii[c];
            if (r > ' ') {
                st_in = i;
                st_out = n;
                st_pend = pend;
                st_count = 0;
                FLUSH_SPACE();
                PUT(r, i, i + 1);
            } else if (r == ' ') {
                if (n > 0) {
                    if (!pend)
                        pa = (uint32_t)i;
                    pend = 1;
                    pb = (uint32_t)(i + 1);
                }
                st_in = NO_STARTER;
            } else if (++st_count >= SEG_MARKS) {
                st_in = NO_STARTER;
            }
            i++;
            continue;
        }
        int32_t cp;
        size_t l;
        /* the continuation bytes read once into full-width variables: spilled as
           bytes and reloaded wider, they stalled store-to-load forwarding */
        uint32_t c1 = 0, c2 = 0;
        if ((c & 0xF0) == 0xE0 && i + 2 < len)
            c1 = in[i + 1], c2 = in[i + 2];
        if ((c1 & 0xC0) == 0x80 && (c2 & 0xC0) == 0x80) { /* the common case: a CJK character */
            cp = ((int32_t)(c & 0x0F) << 12) | ((int32_t)(c1 & 0x3F) << 6) | (int32_t)(c2 & 0x3F);
            l = (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) ? 0 : 3;
            if (l && (t->keep[cp >> 6] >> (cp & 63) & 1)) {
                st_in = i;
                st_out = n;
                st_pend = pend;
                st_count = 0;
                FLUSH_SPACE();
                PUT(c, i, i + 3);
                PUT(c1, i, i + 3);
                PUT(c2, i, i + 3);
                i += 3;
                continue;
            }
        } else {
            l = norm_utf8_decode(in, i, len, &cp);
        }
        if (l == 0) {
            if (strict) {
                b->len = 0;
                b->s[0] = '\0';
                return ny_err_set_at(e, NY_EINVAL, (long)i,
                                     "invalid UTF-8: byte 0x%02X at offset %zu", c, i);
            }
            st_in = NO_STARTER; /* nothing composes with a repaired byte */
            FLUSH_SPACE();
            PUT(0xEF, i, i + 1);
            PUT(0xBF, i, i + 1);
            PUT(0xBD, i, i + 1);
            i++;
            continue;
        }
        /* above the BMP there is no table entry: always the slow path */
        uint32_t x = l < 4 ? t->e[cp] : E_HASSP;
        if (!(x & (E_COMB | E_HASSP))) {
            switch (E_KIND(x)) {
            case K_IDENT:
                st_in = i;
                st_out = n;
                st_pend = pend;
                st_count = 0;
                FLUSH_SPACE();
                PUT(in[i], i, i + l);
                PUT(in[i + 1], i, i + l);
                if (l == 3)
                    PUT(in[i + 2], i, i + l);
                i += l;
                continue;
            case K_REPL: {
                size_t rl = E_LEN(x);
                if (rl > 3 * l && buf_reserve(b, n + 1 + rl + 3 * (len - i) + SLACK, offs) != NY_OK)
                    return oom(b, e);
                o = (uint8_t *)b->s;
                map = b->map;
                st_in = i;
                st_out = n;
                st_pend = pend;
                st_count = 0;
                FLUSH_SPACE();
                const char *src = t->pool + E_OFF(x);
                if (!offs && rl <= 8) {
                    memcpy(o + n, src, 8);
                    n += rl;
                } else {
                    for (size_t j = 0; j < rl; j++)
                        PUT(src[j], i, i + l);
                }
                i += l;
                continue;
            }
            case K_SPACE:
                if (n > 0) {
                    if (!pend)
                        pa = (uint32_t)i;
                    pend = 1;
                    pb = (uint32_t)(i + l);
                }
                st_in = NO_STARTER;
                i += l;
                continue;
            default:
                if (++st_count >= SEG_MARKS)
                    st_in = NO_STARTER;
                i += l;
                continue;
            }
        }
        /* slow paths: composition, characters above the BMP, spaces inside
         * a replacement */
        sink k = {b, n, pend, pa, pb, offs};
        int rc;
        if (comb_at(t, cp)) {
            int starter = st_in != NO_STARTER;
            size_t a = starter ? st_in : i;
            if (starter) {
                k.n = st_out;
                k.pend = st_pend;
            }
            size_t z = seg_end(t, in, a, len, starter, &st_count);
            rc = sink_segment(t, &k, in, a, z);
            if (!starter || st_count >= SEG_MARKS)
                st_in = NO_STARTER;
            i = z;
        } else if (l == 4 && utf8proc_get_property(cp)->ignorable) {
            if (++st_count >= SEG_MARKS)
                st_in = NO_STARTER;
            rc = NY_OK;
            i += l;
        } else {
            st_in = i;
            st_out = n;
            st_pend = pend;
            st_count = 0;
            if (l < 4) {
                rc = sink_cp(t, &k, cp, (uint32_t)i, (uint32_t)(i + l));
            } else {
                const utf8proc_property_t *p = utf8proc_get_property(cp);
                if (p->decomp_seqindex == UINT16_MAX && p->casefold_seqindex == UINT16_MAX)
                    rc = sink_bytes(&k, in + i, l, (uint32_t)i, (uint32_t)(i + l));
                else
                    rc = sink_astral(t, &k, in, i, l);
            }
            i += l;
        }
        if (rc != NY_OK || buf_reserve(b, k.n + 1 + 3 * (len - i) + SLACK, offs) != NY_OK)
            return oom(b, e);
        o = (uint8_t *)b->s;
        map = b->map;
        n = k.n;
        pend = k.pend;
        pa = k.pa;
        pb = k.pb;
    }
    o[n] = '\0';
    b->len = n;
    return NY_OK;
}

static int run_plain(const norm_table *t, const uint8_t *in, size_t len, int strict, norm_buf *b,
                     ny_err *e)
{
    return run(t, in, len, strict, b, e, 0);
}

static int run_offsets(const norm_table *t, const uint8_t *in, size_t len, int strict, norm_buf *b,
                       ny_err *e)
{
    return run(t, in, len, strict, b, e, 1);
}

int norm_text(const norm_table *t, const char *in, size_t len, unsigned flags, norm_buf *out,
              ny_err *e)
{
    int strict = (flags & NORM_STRICT) != 0;
    if (flags & NORM_OFFSETS) {
        if (len >= UINT32_MAX) {
            out->len = 0;
            return ny_err_set(e, NY_EINVAL, "norm_text: %zu bytes exceed the offset map", len);
        }
        return run_offsets(t, (const uint8_t *)in, len, strict, out, e);
    }
    return run_plain(t, (const uint8_t *)in, len, strict, out, e);
}

void norm_span(const norm_buf *b, size_t start, size_t end, size_t *ostart, size_t *oend)
{
    *ostart = b->map[2 * start];
    *oend = b->map[2 * (end - 1) + 1];
}

void norm_buf_free(norm_buf *b)
{
    if (!b)
        return;
    free(b->s);
    free(b->map);
    *b = (norm_buf)NORM_BUF_INIT;
}
