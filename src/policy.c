/* policy.c - the policy ranking index (policy.h).
 *
 * Building cuts every policy's title, keywords and summary into terms (CJK
 * bigrams, lone CJK characters, ASCII words, each packed into a 64-bit key),
 * sorts the (term, policy, field) triples once and turns them into posting
 * lists whose entries already hold the policy's BM25 weight for the term, so
 * that a query only adds up floats. Keywords are kept verbatim as well, in a
 * table keyed by their first two code points, for the exact-hit bonus. A query
 * decodes each character of the message once, feeding it to the term cutter
 * and pairing it with the character before to look up keyword starts, finds
 * the terms in an open-addressing table (asking a bit map of a few KiB first,
 * so most unknown terms cost no miss in the large tables) and accumulates
 * scores on the stack:
 * no allocation, no shared mutable state, so one index serves many threads. */
#include "policy.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* BM25 parameters and field weights (term frequency multipliers). */
#define BM25_K1 1.2
#define BM25_B 0.75
#define W_TITLE 3
#define W_KEYWORD 2
#define W_SUMMARY 1

/* Exact keyword hit bonus: KW_BASE for a two-character keyword, KW_PER_CHAR
 * more for each further character up to KW_MAX_CHARS, divided among the
 * policies sharing the keyword. */
#define KW_BASE 4.0
#define KW_PER_CHAR 1.5
#define KW_MAX_CHARS 8

/* A message that names a policy by none of its keywords must share with its
 * title at least TITLE_MIN distinct terms and at least half of the title's
 * distinct terms. */
#define TITLE_MIN 2

/* Per-query caps: term occurrences considered (longer texts are ranked on
 * their first Q_MAX_TERMS known terms) and keyword hits. */
#define Q_MAX_TERMS 1024
#define Q_MAX_KW 256

/* Presence filters: 2^VBITS bits for the vocabulary (about 6,500 keys, one in
 * ten unknown keys passes), 2^KBITS for the keyword starts (about 800). */
#define VBITS 16
#define KBITS 13

/* Bigrams never indexed, separated by spaces: question words, pronouns and
 * the procedure words nearly every policy and every question contains. */
static const char stop_bigrams[] = "怎么 怎样 如何 什么 是否 可以 能否 能不 没有 有没 一下 请问 "
                                   "我们 你们 他们 自己 这个 那个 就是 还是 或者 以及 以上 以下 "
                                   "按照 规定 相关 需要 申请 办理 部门 政策 当地 本区 具体 为准 "
                                   "答复 咨询 现行 一般 符合 条件";

enum { AUD_RESIDENT = 1, AUD_ENTERPRISE = 2 };

#define KEY_BIGRAM (1ull << 62)
#define KEY_UNIGRAM (2ull << 62)
#define KEY_WORD (3ull << 62)

typedef struct kw_entry {
    uint32_t off, len; /* bytes in kwtext */
    uint32_t doff, dn; /* its policies: kwdocs[doff .. doff+dn) */
    float bonus;       /* per policy */
    uint32_t next;     /* next keyword with the same first two code points, +1; 0 ends */
} kw_entry;

struct policy_index {
    size_t ndocs;
    unsigned char *aud; /* AUD_* bits per policy */
    uint16_t *tterms;   /* distinct indexed terms of each policy's title */
    /* vocabulary: term key -> term id, open addressing, key 0 = empty slot */
    uint64_t *vkeys;
    uint32_t *vids;
    size_t vmask;
    /* postings of term t: [toff[t], toff[t+1]) in pdoc, pw, ptitle */
    uint32_t *toff;
    uint16_t *pdoc;
    float *pw;
    unsigned char *ptitle;
    /* keywords */
    char *kwtext;
    kw_entry *kws;
    uint16_t *kwdocs;
    uint64_t *kkeys; /* first-two-code-point key -> first keyword (+1) */
    uint32_t *khead;
    size_t kmask;
    /* one bit per hash of every vocabulary key and keyword key: a query asks
       these small maps first and the large tables only on a set bit */
    uint64_t vbits[(1u << VBITS) / 64];
    uint64_t kbits[(1u << KBITS) / 64];
};

/* ---- decoding and terms ------------------------------------------------- */

/* Decodes one code point at s[i] (i < len); returns its byte length and the
 * code point in *cp, or 1 and UINT32_MAX for a byte that does not start a
 * valid sequence. */
static inline size_t utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned c = s[i];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xF0) == 0xE0 && len - i >= 3 && (s[i + 1] & 0xC0) == 0x80 &&
        (s[i + 2] & 0xC0) == 0x80) { /* the common case: a BMP character such as 汉 */
        v = (c & 0x0Fu) << 12 | (s[i + 1] & 0x3Fu) << 6 | (s[i + 2] & 0x3Fu);
        if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
            *cp = v;
            return 3;
        }
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        goto bad;
    if (len - i < n)
        goto bad;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            goto bad;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        goto bad;
    *cp = v;
    return n;
bad:
    *cp = UINT32_MAX;
    return 1;
}

static int is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}

/* The ASCII letter or digit c stands for (folded to lower case, full-width
 * forms included), or 0. */
static int ascii_alnum(uint32_t c)
{
    if (c >= 0xFF10 && c <= 0xFF5A)
        c -= 0xFEE0;
    if (c >= 'A' && c <= 'Z')
        return (int)(c + 32);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return (int)c;
    return 0;
}

/* Cuts text into terms, fed one code point at a time so that building and
 * ranking share it and a query decodes each character once. */
typedef struct termer {
    uint32_t prev; /* last CJK character of the current run */
    size_t run;    /* CJK characters in the current run */
    size_t wlen;   /* characters in the current ASCII word */
    uint64_t wh;   /* FNV-1a hash of the current ASCII word */
} termer;

#define TERMER_INIT                                                                                \
    {                                                                                              \
        0, 0, 0, 0                                                                                 \
    }

/* Feeds code point c (UINT32_MAX for an invalid byte, 0 after the last
 * character); writes the terms c completes to out and returns their number
 * (at most two). */
static inline int termer_feed(termer *t, uint32_t c, uint64_t out[2])
{
    int n = 0;
    if (c != UINT32_MAX && is_cjk(c)) {
        if (t->wlen > 0)
            out[n++] = KEY_WORD | (t->wh & ~(3ull << 62)), t->wlen = 0;
        if (t->run > 0)
            out[n++] = KEY_BIGRAM | (uint64_t)t->prev << 21 | c;
        t->run++;
        t->prev = c;
        return n;
    }
    if (t->run == 1)
        out[n++] = KEY_UNIGRAM | t->prev;
    t->run = 0;
    int a = c == UINT32_MAX ? 0 : ascii_alnum(c);
    if (a) {
        if (t->wlen == 0)
            t->wh = 1469598103934665603ull;
        t->wh = (t->wh ^ (uint64_t)a) * 1099511628211ull;
        t->wlen++;
    } else if (t->wlen > 0) {
        out[n++] = KEY_WORD | (t->wh & ~(3ull << 62));
        t->wlen = 0;
    }
    return n;
}

/* Writes the terms of len bytes at text to out (room for len + 1 keys, the
 * most a text can have) and returns their number. */
static size_t text_terms(const char *text, size_t len, uint64_t *out)
{
    const unsigned char *s = (const unsigned char *)text;
    termer t = TERMER_INIT;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        i += utf8_next(s, len, i, &c);
        n += (size_t)termer_feed(&t, c, out + n);
    }
    return n + (size_t)termer_feed(&t, 0, out + n);
}

static size_t hash_slot(uint64_t key, size_t mask)
{
    key ^= key >> 29;
    key *= 0x9E3779B97F4A7C15ull;
    return (size_t)(key >> 32) & mask;
}

/* The filter bit of key in a map of 2^bits bits. */
static inline size_t filter_bit(uint64_t key, unsigned bits)
{
    key ^= key >> 31;
    key *= 0xD6E8FEB86659FD93ull;
    return (size_t)(key >> (64 - bits));
}

static inline int filter_has(const uint64_t *map, unsigned bits, uint64_t key)
{
    size_t b = filter_bit(key, bits);
    return (int)(map[b / 64] >> (b % 64) & 1);
}

static size_t table_size(size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

/* The key of the first two code points at s (len bytes), or 0 if the text
 * does not start with two valid code points. */
static uint64_t pair_key(const unsigned char *s, size_t len)
{
    uint32_t a, b;
    if (len == 0)
        return 0;
    size_t n = utf8_next(s, len, 0, &a);
    if (a == UINT32_MAX || n >= len)
        return 0;
    utf8_next(s, len, n, &b);
    if (b == UINT32_MAX)
        return 0;
    return KEY_BIGRAM | (uint64_t)a << 21 | b;
}

/* ---- building ------------------------------------------------------------ */

typedef struct ent {
    uint64_t key;
    uint32_t doc;
    uint32_t field;
} ent;

typedef struct kw_raw {
    const char *s; /* in kwtext */
    uint32_t off, len, nchars, doc;
} kw_raw;

typedef struct build {
    ent *ents;
    size_t n, cap;
    uint32_t doc, field;
    double dl; /* weighted length of the current policy */
    uint64_t *stop;
    size_t nstop;
    uint64_t *terms; /* scratch for the terms of one field */
    size_t tcap;
    int oom;
} build;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Adds the terms of len bytes at text as entries of the current policy and
 * field, leaving out stop bigrams. */
static void add_field(build *b, const char *text, size_t len)
{
    if (b->oom)
        return;
    if (len + 1 > b->tcap) {
        uint64_t *t = realloc(b->terms, (len + 1) * sizeof *t);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->terms = t, b->tcap = len + 1;
    }
    size_t nt = text_terms(text, len, b->terms);
    for (size_t i = 0; i < nt; i++) {
        uint64_t key = b->terms[i];
        if ((key >> 62) == 1 && bsearch(&key, b->stop, b->nstop, sizeof key, cmp_u64))
            continue;
        if (b->n == b->cap) {
            size_t cap = b->cap ? 2 * b->cap : 1024;
            ent *p = realloc(b->ents, cap * sizeof *p);
            if (!p) {
                b->oom = 1;
                return;
            }
            b->ents = p, b->cap = cap;
        }
        b->ents[b->n++] = (ent){key, b->doc, b->field};
        b->dl += b->field == 0 ? W_TITLE : b->field == 1 ? W_KEYWORD : W_SUMMARY;
    }
}

static int cmp_ent(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

/* The postings and vocabulary from the sorted entries; dl[] per policy. */
static int build_postings(policy_index *ix, build *b, const double *dl)
{
    size_t nterms = 0, npost = 0;
    double avgdl = 0;
    for (size_t d = 0; d < ix->ndocs; d++)
        avgdl += dl[d];
    avgdl = ix->ndocs ? avgdl / (double)ix->ndocs : 1;
    if (avgdl <= 0)
        avgdl = 1;
    for (size_t i = 0; i < b->n; i++) {
        if (i == 0 || b->ents[i].key != b->ents[i - 1].key)
            nterms++, npost++;
        else if (b->ents[i].doc != b->ents[i - 1].doc)
            npost++;
    }
    ix->vmask = table_size(nterms) - 1;
    ix->vkeys = calloc(ix->vmask + 1, sizeof *ix->vkeys);
    ix->vids = calloc(ix->vmask + 1, sizeof *ix->vids);
    ix->toff = calloc(nterms + 1, sizeof *ix->toff);
    ix->pdoc = calloc(npost + 1, sizeof *ix->pdoc);
    ix->pw = calloc(npost + 1, sizeof *ix->pw);
    ix->ptitle = calloc(npost + 1, 1);
    if (!ix->vkeys || !ix->vids || !ix->toff || !ix->pdoc || !ix->pw || !ix->ptitle)
        return NY_ERR;
    size_t t = 0, p = 0;
    for (size_t i = 0; i < b->n;) {
        size_t j = i, df = 0;
        while (j < b->n && b->ents[j].key == b->ents[i].key) {
            df += j == i || b->ents[j].doc != b->ents[j - 1].doc;
            j++;
        }
        double n = (double)ix->ndocs;
        double idf = log(1.0 + (n - (double)df + 0.5) / ((double)df + 0.5));
        ix->toff[t] = (uint32_t)p;
        for (size_t k = i; k < j;) {
            size_t m = k;
            double tf = 0;
            int title = 0;
            while (m < j && b->ents[m].doc == b->ents[k].doc) {
                uint32_t f = b->ents[m].field;
                tf += f == 0 ? W_TITLE : f == 1 ? W_KEYWORD : W_SUMMARY;
                title |= f == 0;
                m++;
            }
            uint32_t d = b->ents[k].doc;
            double norm = BM25_K1 * (1.0 - BM25_B + BM25_B * dl[d] / avgdl);
            ix->pdoc[p] = (uint16_t)d;
            ix->pw[p] = (float)(idf * tf * (BM25_K1 + 1.0) / (tf + norm));
            ix->ptitle[p] = (unsigned char)title;
            ix->tterms[d] += (uint16_t)(title && ix->tterms[d] < UINT16_MAX);
            p++;
            k = m;
        }
        size_t slot = hash_slot(b->ents[i].key, ix->vmask);
        while (ix->vkeys[slot])
            slot = (slot + 1) & ix->vmask;
        ix->vkeys[slot] = b->ents[i].key;
        ix->vids[slot] = (uint32_t)t;
        t++;
        i = j;
    }
    ix->toff[t] = (uint32_t)p;
    return NY_OK;
}

static int cmp_kw(const void *a, const void *b)
{
    const kw_raw *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

/* The exact-keyword table: every keyword of two or more code points, once,
 * with the policies that list it. */
static int build_keywords(policy_index *ix, const store_policy *p, size_t n)
{
    size_t total = 0, nraw = 0;
    for (size_t d = 0; d < n; d++)
        if (p[d].keywords)
            total += strlen(p[d].keywords) + 1;
    ix->kwtext = malloc(total + 1);
    kw_raw *raw = malloc((total / 2 + 1) * sizeof *raw);
    if (!ix->kwtext || !raw) {
        free(raw);
        return NY_ERR;
    }
    size_t off = 0;
    for (size_t d = 0; d < n; d++) {
        const char *k = p[d].keywords ? p[d].keywords : "";
        while (*k) {
            size_t len = strcspn(k, ";");
            size_t a = 0, z = len;
            while (a < z && k[a] == ' ')
                a++;
            while (z > a && k[z - 1] == ' ')
                z--;
            size_t nchars = 0;
            for (size_t i = a; i < z; i++) {
                char c = k[i];
                nchars += ((unsigned char)c & 0xC0) != 0x80;
                ix->kwtext[off + i - a] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            if (nchars >= 2)
                raw[nraw++] = (kw_raw){ix->kwtext + off, (uint32_t)off, (uint32_t)(z - a),
                                       (uint32_t)nchars, (uint32_t)d};
            off += z - a;
            k += len + (k[len] == ';');
        }
    }
    qsort(raw, nraw, sizeof *raw, cmp_kw);
    ix->kws = calloc(nraw + 1, sizeof *ix->kws);
    ix->kwdocs = calloc(nraw + 1, sizeof *ix->kwdocs);
    ix->kmask = table_size(nraw) - 1;
    ix->kkeys = calloc(ix->kmask + 1, sizeof *ix->kkeys);
    ix->khead = calloc(ix->kmask + 1, sizeof *ix->khead);
    if (!ix->kws || !ix->kwdocs || !ix->kkeys || !ix->khead) {
        free(raw);
        return NY_ERR;
    }
    size_t nk = 0, nd = 0;
    for (size_t i = 0; i < nraw;) {
        size_t j = i;
        kw_entry *k = &ix->kws[nk];
        k->off = raw[i].off, k->len = raw[i].len, k->doff = (uint32_t)nd;
        while (j < nraw && raw[j].len == raw[i].len &&
               !memcmp(ix->kwtext + raw[j].off, ix->kwtext + raw[i].off, raw[i].len)) {
            if (j == i || raw[j].doc != raw[j - 1].doc)
                ix->kwdocs[nd++] = (uint16_t)raw[j].doc;
            j++;
        }
        k->dn = (uint32_t)(nd - k->doff);
        size_t c = raw[i].nchars < KW_MAX_CHARS ? raw[i].nchars : KW_MAX_CHARS;
        k->bonus = (float)((KW_BASE + KW_PER_CHAR * (double)(c - 2)) / k->dn);
        uint64_t key = pair_key((const unsigned char *)ix->kwtext + k->off, k->len);
        size_t slot = hash_slot(key, ix->kmask);
        while (ix->kkeys[slot] && ix->kkeys[slot] != key)
            slot = (slot + 1) & ix->kmask;
        ix->kkeys[slot] = key;
        k->next = ix->khead[slot];
        ix->khead[slot] = (uint32_t)nk + 1;
        nk++;
        i = j;
    }
    free(raw);
    return NY_OK;
}

int policy_index_build(const store_policy *p, size_t n, policy_index **out, ny_err *e)
{
    if (!out || (!p && n))
        return ny_err_set(e, NY_EINVAL, "policy_index_build: NULL argument");
    *out = NULL;
    if (n > POLICY_MAX_DOCS)
        return ny_err_set(e, NY_EINVAL, "too many policies: %zu (at most %d)", n, POLICY_MAX_DOCS);
    policy_index *ix = calloc(1, sizeof *ix);
    double *dl = calloc(n + 1, sizeof *dl);
    uint64_t stop[sizeof stop_bigrams];
    build b = {0};
    b.stop = stop;
    int rc = NY_ERR;
    if (!ix || !dl)
        goto oom;
    ix->ndocs = n;
    ix->aud = calloc(n + 1, 1);
    ix->tterms = calloc(n + 1, sizeof *ix->tterms);
    if (!ix->aud || !ix->tterms)
        goto oom;
    b.nstop = text_terms(stop_bigrams, sizeof stop_bigrams - 1, stop);
    qsort(stop, b.nstop, sizeof *stop, cmp_u64);
    for (size_t d = 0; d < n; d++) {
        const char *a = p[d].audience ? p[d].audience : "";
        ix->aud[d] = !strcmp(a, "resident")     ? AUD_RESIDENT
                     : !strcmp(a, "enterprise") ? AUD_ENTERPRISE
                     : !strcmp(a, "both")       ? AUD_RESIDENT | AUD_ENTERPRISE
                                                : 0;
        if (!ix->aud[d]) {
            rc = ny_err_set_at(e, NY_EINVAL, (long)d,
                               "policy %zu: audience must be resident, enterprise or both", d);
            goto fail;
        }
        if (!p[d].title || !*p[d].title) {
            rc = ny_err_set_at(e, NY_EINVAL, (long)d, "policy %zu: title is empty", d);
            goto fail;
        }
        b.doc = (uint32_t)d, b.dl = 0;
        b.field = 0;
        add_field(&b, p[d].title, strlen(p[d].title));
        b.field = 1;
        for (const char *k = p[d].keywords ? p[d].keywords : ""; *k;) {
            size_t len = strcspn(k, ";");
            add_field(&b, k, len);
            k += len + (k[len] == ';');
        }
        b.field = 2;
        if (p[d].summary)
            add_field(&b, p[d].summary, strlen(p[d].summary));
        dl[d] = b.dl;
    }
    if (b.oom)
        goto oom;
    if (b.n)
        qsort(b.ents, b.n, sizeof *b.ents, cmp_ent);
    if (build_postings(ix, &b, dl) != NY_OK || build_keywords(ix, p, n) != NY_OK)
        goto oom;
    for (size_t i = 0; i <= ix->vmask; i++)
        if (ix->vkeys[i]) {
            size_t bit = filter_bit(ix->vkeys[i], VBITS);
            ix->vbits[bit / 64] |= 1ull << (bit % 64);
        }
    for (size_t i = 0; i <= ix->kmask; i++)
        if (ix->kkeys[i]) {
            size_t bit = filter_bit(ix->kkeys[i], KBITS);
            ix->kbits[bit / 64] |= 1ull << (bit % 64);
        }
    free(b.ents);
    free(b.terms);
    free(dl);
    *out = ix;
    return NY_OK;
oom:
    rc = ny_err_set(e, NY_ERR, "out of memory building the policy index");
fail:
    free(b.ents);
    free(b.terms);
    free(dl);
    policy_index_free(ix);
    return rc;
}

void policy_index_free(policy_index *ix)
{
    if (!ix)
        return;
    free(ix->aud);
    free(ix->tterms);
    free(ix->vkeys);
    free(ix->vids);
    free(ix->toff);
    free(ix->pdoc);
    free(ix->pw);
    free(ix->ptitle);
    free(ix->kwtext);
    free(ix->kws);
    free(ix->kwdocs);
    free(ix->kkeys);
    free(ix->khead);
    free(ix);
}

size_t policy_index_size(const policy_index *ix)
{
    return ix ? ix->ndocs : 0;
}

/* ---- ranking ------------------------------------------------------------- */

/* What one pass over a message found: the known terms (with repeats) and the
 * keywords present verbatim. */
typedef struct found {
    uint32_t terms[Q_MAX_TERMS];
    size_t nterms;
    uint32_t kw[Q_MAX_KW];
    size_t nkw;
} found;

static inline void find_term(const policy_index *ix, uint64_t key, found *f)
{
    if (f->nterms == Q_MAX_TERMS || !filter_has(ix->vbits, VBITS, key))
        return;
    for (size_t slot = hash_slot(key, ix->vmask); ix->vkeys[slot]; slot = (slot + 1) & ix->vmask)
        if (ix->vkeys[slot] == key) {
            f->terms[f->nterms++] = ix->vids[slot];
            return;
        }
}

/* Sorts a[0..n) and removes repeats; returns the new length. */
static size_t sort_unique(uint32_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || a[m - 1] != a[i])
            a[m++] = a[i];
    return m;
}

/* 1 if the bytes at s[i] (the end of a keyword or the start of the rest of
 * the text) continue an ASCII word that the keyword would cut: a keyword that
 * starts or ends with a letter or digit must not be glued to another one
 * (12345 is not found in 1234567). */
static int ascii_glued(const unsigned char *s, size_t len, size_t i)
{
    return i < len && s[i] < 0x80 && ascii_alnum(s[i]);
}

/* Records the keywords that occur at byte i of the text, whose first two
 * code points form key. */
static void find_keywords_at(const policy_index *ix, const unsigned char *s, size_t len, size_t i,
                             uint64_t key, found *f)
{
    if (!filter_has(ix->kbits, KBITS, key))
        return;
    size_t slot = hash_slot(key, ix->kmask);
    while (ix->kkeys[slot] && ix->kkeys[slot] != key)
        slot = (slot + 1) & ix->kmask;
    for (uint32_t k = ix->kkeys[slot] ? ix->khead[slot] : 0; k; k = ix->kws[k - 1].next) {
        const kw_entry *w = &ix->kws[k - 1];
        const unsigned char *t = (const unsigned char *)ix->kwtext + w->off;
        if (w->len > len - i || memcmp(s + i, t, w->len) || f->nkw == Q_MAX_KW)
            continue;
        if (t[0] < 0x80 && ascii_alnum(t[0]) && i > 0 && ascii_glued(s, len, i - 1))
            continue;
        if (t[w->len - 1] < 0x80 && ascii_alnum(t[w->len - 1]) && ascii_glued(s, len, i + w->len))
            continue;
        f->kw[f->nkw++] = k - 1;
    }
}

/* One pass over the message: each character is decoded once, fed to the
 * term cutter, and paired with the one before it to look up keyword starts. */
static void scan(const policy_index *ix, const unsigned char *s, size_t len, found *f)
{
    termer t = TERMER_INIT;
    uint32_t prev = UINT32_MAX;
    size_t prev_at = 0;
    f->nterms = f->nkw = 0;
    for (size_t i = 0; i <= len;) {
        uint32_t c = 0;
        size_t step = i < len ? utf8_next(s, len, i, &c) : 1;
        uint64_t k[2];
        int m = termer_feed(&t, c, k);
        for (int j = 0; j < m; j++)
            find_term(ix, k[j], f);
        if (i < len && prev != UINT32_MAX && c != UINT32_MAX)
            find_keywords_at(ix, s, len, prev_at, KEY_BIGRAM | (uint64_t)prev << 21 | c, f);
        prev = c, prev_at = i;
        i += step;
    }
}

typedef struct dstate {
    float score;
    unsigned char seen, title, kw;
} dstate;

/* 1 if hit a ranks before hit b. */
static int better(const policy_hit *a, const policy_hit *b)
{
    return a->score > b->score || (a->score == b->score && a->policy < b->policy);
}

int policy_rank(const policy_index *ix, const char *norm_text, size_t len, const char *audience,
                policy_hit *hits, size_t max, size_t *nhits, ny_err *e)
{
    if (!ix || !nhits || (!norm_text && len) || (!hits && max))
        return ny_err_set(e, NY_EINVAL, "policy_rank: NULL argument");
    *nhits = 0;
    unsigned mask;
    if (!audience)
        mask = AUD_RESIDENT | AUD_ENTERPRISE;
    else if (!strcmp(audience, "resident"))
        mask = AUD_RESIDENT;
    else if (!strcmp(audience, "enterprise"))
        mask = AUD_ENTERPRISE;
    else
        return ny_err_set(e, NY_EINVAL, "audience must be resident, enterprise or none, not '%s'",
                          audience);
    if (max == 0 || ix->ndocs == 0 || len == 0)
        return NY_OK;

    found q;
    scan(ix, (const unsigned char *)norm_text, len, &q);
    size_t nt = sort_unique(q.terms, q.nterms);
    size_t nkw = sort_unique(q.kw, q.nkw);
    if (nt == 0 && nkw == 0)
        return NY_OK;

    dstate st[POLICY_MAX_DOCS];
    uint16_t touched[POLICY_MAX_DOCS];
    size_t ntouched = 0;
    memset(st, 0, ix->ndocs * sizeof *st);
    for (size_t i = 0; i < nt; i++)
        for (uint32_t p = ix->toff[q.terms[i]]; p < ix->toff[q.terms[i] + 1]; p++) {
            uint16_t d = ix->pdoc[p];
            if (!(ix->aud[d] & mask))
                continue;
            if (!st[d].seen)
                st[d].seen = 1, touched[ntouched++] = d;
            st[d].score += ix->pw[p];
            if (ix->ptitle[p] && st[d].title < 255)
                st[d].title++;
        }
    for (size_t i = 0; i < nkw; i++) {
        const kw_entry *w = &ix->kws[q.kw[i]];
        for (uint32_t j = 0; j < w->dn; j++) {
            uint16_t d = ix->kwdocs[w->doff + j];
            if (!(ix->aud[d] & mask))
                continue;
            if (!st[d].seen)
                st[d].seen = 1, touched[ntouched++] = d;
            st[d].score += w->bonus;
            st[d].kw = 1;
        }
    }

    size_t n = 0;
    for (size_t i = 0; i < ntouched; i++) {
        const dstate *s = &st[touched[i]];
        int by_title = s->title >= TITLE_MIN && 2u * s->title >= ix->tterms[touched[i]];
        if (!(s->kw || by_title) || s->score < POLICY_MIN_SCORE)
            continue;
        policy_hit h = {touched[i], s->score};
        if (n == max && !better(&h, &hits[n - 1]))
            continue;
        size_t j = n < max ? n++ : n - 1;
        for (; j > 0 && better(&h, &hits[j - 1]); j--)
            hits[j] = hits[j - 1];
        hits[j] = h;
    }
    while (n > 1 && hits[n - 1].score < POLICY_REL_SCORE * hits[0].score)
        n--;
    *nhits = n;
    return NY_OK;
}
