/* match.c - the keyword capture stage of the triage pipeline: an
 * Aho–Corasick automaton over the characters of normalised UTF-8, compiled
 * once from the lexicon and scanned, without locks, by any number of threads
 * (match_holder.c swaps a rebuilt one in).
 *
 * Every distinct string (a literal term, or the head or the tail of a gap
 * pattern) is a "part" and ends at one trie node. The automaton works on
 * symbols: each code point that occurs in some part has a number, every other
 * character is symbol 0 and sends the automaton back to the root without a
 * lookup. The root has a dense row over all symbols; the edges of the other
 * states live in one open-addressing hash table keyed by (state, symbol), and
 * each state has a failure link and a 64-bit mask of its edges' symbols, so
 * most failing lookups cost no probe. This keeps the automaton of the default
 * lexicon within a few hundred KiB, which matters more than the instruction
 * count: a byte-level automaton with dense rows near the root was about twice
 * as slow, with dense rows everywhere it does not fit the cache. Working on
 * whole characters also means a match can never split one, even in invalid
 * UTF-8. Transitions carry OUTBIT when the target ends a part (itself or along
 * its failure chain), so the scan loop tests one bit per character. A part
 * that is the head of a pattern is logged with its position; when a tail
 * ends, the logged heads are walked back from the nearest and each (head,
 * tail) pair is looked up in a second hash table. */
#include "match.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

#define OUTBIT 0x80000000u
#define IDMASK 0x7FFFFFFFu
#define NONE UINT32_MAX
#define MAX_SYMS 65535u /* symbols are 16-bit in the BMP map */

/* What an occurrence of a part means: a literal entry (head NONE), or the
 * tail of a pattern entry whose head is part `head`. */
typedef struct item {
    uint32_t head;
    uint32_t entry;
    uint32_t gap;
} item;

typedef struct pinfo { /* per part; its items end where the next part's begin */
    uint64_t heads;    /* bit (head & 63) set for the heads of its patterns */
    uint32_t len;      /* bytes */
    uint32_t ibeg;     /* items: pattern tails sorted by head, then ... */
    uint32_t ilit;     /* ... the literals */
    uint16_t maxgap;   /* largest gap of the patterns this part is the tail of */
    uint16_t is_head;  /* some pattern has this part as its head */
} pinfo;

typedef struct snode { /* per state */
    uint64_t kids;     /* bit (symbol & 63) set for the symbols of its edges */
    uint32_t fail;     /* failure target (with OUTBIT) */
    uint32_t part;     /* the part ending here, or NONE */
} snode;

typedef struct edge { /* key = state * (nsyms + 1) + symbol; 0 for a free slot */
    uint32_t key;
    uint32_t target; /* with OUTBIT */
} edge;

typedef struct pairslot { /* the patterns of one (head, tail) pair of parts */
    uint32_t head;        /* NONE for a free slot */
    uint32_t tail;
    uint32_t first; /* their first item (among the tail's, sorted by head) */
} pairslot;

typedef struct headpos { /* a logged occurrence of a pattern head */
    uint32_t part, start, end;
} headpos;

struct match_set {
    atomic_long refs;
    size_t nentries;
    uint32_t nstates, nsyms;
    uint16_t *bmp;    /* BMP code point → symbol */
    uint32_t *astral; /* sorted code points above the BMP that have symbols */
    uint32_t nastral; /* their symbols are nsyms - nastral + 1 + index */
    uint32_t *root;   /* symbol → target from the root (nsyms + 1 entries) */
    snode *nodes;     /* per state */
    uint32_t *dict;   /* state → next state on its failure chain ending a part, or NONE */
    edge *edges;      /* the other states' edges */
    uint32_t hmask;   /* edges has hmask + 1 slots */
    uint32_t hshift;  /* 32 - log2(hmask + 1) */
    uint32_t nparts;
    pinfo *parts;
    item *items;
    pairslot *pairs; /* (head, tail) → items */
    uint32_t pmask, pshift;
    uint32_t horizon; /* bytes of head history a tail may need */
};

static uint32_t hash_slot(uint32_t key, uint32_t shift)
{
    return (uint32_t)(key * 2654435761u) >> shift;
}

static uint32_t pair_slot(uint32_t head, uint32_t tail, uint32_t shift)
{
    uint64_t key = (uint64_t)head << 32 | tail;
    return (uint32_t)((key * 0x9E3779B97F4A7C15u) >> (32 + shift));
}

/* The symbol of code point cp, 0 when no part contains it. */
static inline uint32_t sym_of(const match_set *m, int32_t cp)
{
    if (cp < 0x10000)
        return m->bmp[cp];
    uint32_t a = 0, z = m->nastral;
    while (a < z) {
        uint32_t mid = a + (z - a) / 2;
        if (m->astral[mid] < (uint32_t)cp)
            a = mid + 1;
        else
            z = mid;
    }
    if (a < m->nastral && m->astral[a] == (uint32_t)cp)
        return m->nsyms - m->nastral + 1 + a;
    return 0;
}

/* ---- compiling ---- */

typedef struct trie {
    uint32_t n, cap;
    uint32_t *first, *next, *sym, *part, *fail; /* per node */
    uint32_t *root_kid;                         /* symbol → node, NONE */
} trie;

static void trie_free(trie *t)
{
    free(t->first);
    free(t->next);
    free(t->sym);
    free(t->part);
    free(t->fail);
    free(t->root_kid);
}

static int trie_grow(trie *t)
{
    uint32_t cap = t->cap ? t->cap * 2 : 1024;
    uint32_t **arr[] = {&t->first, &t->next, &t->sym, &t->part, &t->fail};
    for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++) {
        uint32_t *p = realloc(*arr[i], cap * sizeof **arr[i]);
        if (!p)
            return NY_ERR;
        *arr[i] = p;
    }
    t->cap = cap;
    return NY_OK;
}

static uint32_t trie_kid(const trie *t, uint32_t u, uint32_t sym)
{
    if (u == 0)
        return t->root_kid[sym];
    for (uint32_t v = t->first[u]; v != NONE; v = t->next[v])
        if (t->sym[v] == sym)
            return v;
    return NONE;
}

/* Adds the part s (valid UTF-8, all its code points have symbols) and
 * returns its node in *node. */
static int trie_add(trie *t, const match_set *m, const char *s, uint32_t *node)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t len = strlen(s), i = 0;
    uint32_t u = 0;
    while (i < len) {
        int32_t cp = 0;
        i += norm_utf8_decode(p, i, len, &cp);
        uint32_t sym = sym_of(m, cp), v = trie_kid(t, u, sym);
        if (v == NONE) {
            if (t->n == t->cap && trie_grow(t) != NY_OK)
                return NY_ERR;
            v = t->n++;
            t->first[v] = NONE;
            t->part[v] = NONE;
            t->sym[v] = sym;
            if (u == 0) {
                t->next[v] = NONE;
                t->root_kid[sym] = v;
            } else {
                t->next[v] = t->first[u];
                t->first[u] = v;
            }
        }
        u = v;
    }
    *node = u;
    return NY_OK;
}

/* The complete transition of node u on sym, following failure links. */
static uint32_t trie_delta(const trie *t, uint32_t u, uint32_t sym)
{
    for (;;) {
        uint32_t v = trie_kid(t, u, sym);
        if (v != NONE)
            return v;
        if (u == 0)
            return 0;
        u = t->fail[u];
    }
}

static int check_part(const char *s, size_t idx, const char *what, ny_err *e)
{
    if (!s || !*s)
        return ny_err_set_at(e, NY_EINVAL, (long)idx, "entry %zu: empty %s", idx, what);
    ny_err ue;
    if (domain_utf8_check(s, strlen(s), &ue) != NY_OK)
        return ny_err_set_at(e, NY_EINVAL, (long)idx, "entry %zu: %s: %s", idx, what, ue.msg);
    return NY_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Numbers the code points of all parts: BMP ones in order of appearance,
 * then those above the BMP in code point order. */
static int number_symbols(match_set *m, const match_entry *ents, size_t n, ny_err *e)
{
    m->bmp = calloc(0x10000, sizeof *m->bmp);
    size_t acap = 0;
    if (!m->bmp)
        return NY_ERR;
    for (size_t x = 0; x < n; x++) {
        const char *s[2] = {ents[x].head, ents[x].tail};
        for (int k = 0; k < 2 && s[k]; k++) {
            const uint8_t *p = (const uint8_t *)s[k];
            size_t len = strlen(s[k]), i = 0;
            while (i < len) {
                int32_t cp = 0;
                i += norm_utf8_decode(p, i, len, &cp);
                if (cp < 0x10000) {
                    if (m->bmp[cp] == 0) {
                        if (m->nsyms == MAX_SYMS)
                            return ny_err_set(e, NY_EINVAL,
                                              "match_compile: more than %u "
                                              "distinct characters",
                                              MAX_SYMS);
                        m->bmp[cp] = (uint16_t)++m->nsyms;
                    }
                    continue;
                }
                if (m->nastral == acap) {
                    acap = acap ? 2 * acap : 64;
                    uint32_t *a = realloc(m->astral, acap * sizeof *a);
                    if (!a)
                        return NY_ERR;
                    m->astral = a;
                }
                m->astral[m->nastral++] = (uint32_t)cp;
            }
        }
    }
    if (m->nastral) {
        qsort(m->astral, m->nastral, sizeof *m->astral, cmp_u32);
        uint32_t k = 1;
        for (uint32_t i = 1; i < m->nastral; i++)
            if (m->astral[i] != m->astral[k - 1])
                m->astral[k++] = m->astral[i];
        m->nastral = k;
    }
    if (m->nsyms + m->nastral > MAX_SYMS)
        return ny_err_set(e, NY_EINVAL, "match_compile: more than %u distinct characters",
                          MAX_SYMS);
    m->nsyms += m->nastral;
    return NY_OK;
}

/* Items by head part, then entry; literals (head NONE) last. */
static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->head != y->head)
        return x->head < y->head ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

match_set *match_retain(match_set *m)
{
    atomic_fetch_add(&m->refs, 1);
    return m;
}

void match_release(match_set *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    free(m->bmp);
    free(m->astral);
    free(m->root);
    free(m->nodes);
    free(m->dict);
    free(m->edges);
    free(m->parts);
    free(m->items);
    free(m->pairs);
    free(m);
}

/* Lays the trie out as the scan automaton (see the file comment). */
static int build_automaton(match_set *m, trie *t, ny_err *e)
{
    uint32_t n = t->n, nedges = n - 1, rootkids = 0;
    uint32_t *order = malloc(n * sizeof *order); /* BFS order = state ids */
    uint32_t *id = malloc(n * sizeof *id);
    uint32_t *dict = malloc(n * sizeof *dict);
    int rc = NY_ERR;
    if (!order || !id || !dict)
        goto out;
    uint32_t qh = 0, qt = 0;
    order[qt++] = 0;
    t->fail[0] = 0;
    dict[0] = NONE;
    while (qh < qt) {
        uint32_t u = order[qh++];
        for (uint32_t sym = 1; u == 0 && sym <= m->nsyms; sym++) {
            uint32_t v = t->root_kid[sym];
            if (v == NONE)
                continue;
            t->fail[v] = 0;
            dict[v] = NONE;
            order[qt++] = v;
            rootkids++;
        }
        for (uint32_t v = u == 0 ? NONE : t->first[u]; v != NONE; v = t->next[v]) {
            t->fail[v] = trie_delta(t, t->fail[u], t->sym[v]);
            uint32_t f = t->fail[v];
            dict[v] = t->part[f] != NONE ? f : dict[f];
            order[qt++] = v;
        }
    }
    for (uint32_t k = 0; k < n; k++)
        id[order[k]] = k;
    if ((uint64_t)n * (m->nsyms + 1) >= UINT32_MAX || n > IDMASK) {
        rc = ny_err_set(e, NY_EINVAL, "match_compile: lexicon too large (%u states)", n);
        goto out;
    }
    nedges -= rootkids;
    uint32_t slots = 16, bits = 4;
    while (slots < 2 * nedges) {
        slots *= 2;
        bits++;
    }
    m->nstates = n;
    m->hmask = slots - 1;
    m->hshift = 32 - bits;
    m->root = malloc((m->nsyms + 1) * sizeof *m->root);
    m->nodes = calloc(n, sizeof *m->nodes);
    m->dict = malloc(n * sizeof *m->dict);
    m->edges = calloc(slots, sizeof *m->edges);
    if (!m->root || !m->nodes || !m->dict || !m->edges)
        goto out;
#define TARGET(node) (id[node] | (t->part[node] != NONE || dict[node] != NONE ? OUTBIT : 0u))
    m->root[0] = 0;
    for (uint32_t sym = 1; sym <= m->nsyms; sym++)
        m->root[sym] = t->root_kid[sym] == NONE ? 0 : TARGET(t->root_kid[sym]);
    for (uint32_t u = 0; u < n; u++) {
        snode *nd = &m->nodes[id[u]];
        nd->fail = TARGET(t->fail[u]);
        nd->part = t->part[u];
        m->dict[id[u]] = dict[u] == NONE ? NONE : id[dict[u]];
        for (uint32_t v = u == 0 ? NONE : t->first[u]; v != NONE; v = t->next[v]) {
            uint32_t key = id[u] * (m->nsyms + 1) + t->sym[v];
            uint32_t h = hash_slot(key, m->hshift);
            while (m->edges[h].key != 0)
                h = (h + 1) & m->hmask;
            m->edges[h] = (edge){key, TARGET(v)};
            nd->kids |= (uint64_t)1 << (t->sym[v] & 63);
        }
    }
#undef TARGET
    rc = NY_OK;
out:
    free(order);
    free(id);
    free(dict);
    return rc;
}

/* Groups the items by the part whose occurrence reports them: a literal by
 * its term, a pattern by its tail. */
static int build_items(match_set *m, const match_entry *entries, size_t n, const uint32_t *head,
                       const uint32_t *tail)
{
    m->items = malloc((n + 1) * sizeof *m->items);
    if (!m->items)
        return NY_ERR;
    /* count into ilit, then turn counts into starts, then fill with ilit as
     * the cursor; the part after the last is a sentinel */
    for (size_t i = 0; i < n; i++)
        m->parts[entries[i].tail ? tail[i] : head[i]].ilit++;
    uint32_t at = 0;
    for (uint32_t p = 0; p <= m->nparts; p++) {
        m->parts[p].ibeg = at;
        at += m->parts[p].ilit;
        m->parts[p].ilit = m->parts[p].ibeg;
    }
    for (size_t i = 0; i < n; i++) {
        int pat = entries[i].tail != NULL;
        pinfo *pi = &m->parts[pat ? tail[i] : head[i]];
        m->items[pi->ilit++] = (item){pat ? head[i] : NONE, (uint32_t)i, pat ? entries[i].gap : 0};
        if (pat) {
            m->parts[head[i]].is_head = 1;
            if (entries[i].gap > pi->maxgap)
                pi->maxgap = (uint16_t)entries[i].gap;
            pi->heads |= (uint64_t)1 << (head[i] & 63);
            if (4 * entries[i].gap + pi->len > m->horizon)
                m->horizon = 4 * entries[i].gap + pi->len;
        }
    }
    uint32_t npairs = 0;
    for (uint32_t p = 0; p < m->nparts; p++) {
        pinfo *pi = &m->parts[p];
        qsort(m->items + pi->ibeg, pi->ilit - pi->ibeg, sizeof *m->items, item_cmp);
        while (pi->ilit > pi->ibeg && m->items[pi->ilit - 1].head == NONE)
            pi->ilit--;
        npairs += pi->ilit - pi->ibeg;
    }
    /* the pair table: at most one slot per pattern, at most half full */
    uint32_t slots = 16, bits = 4;
    while (2 * slots < 3 * npairs) {
        slots *= 2;
        bits++;
    }
    m->pairs = malloc(slots * sizeof *m->pairs);
    if (!m->pairs)
        return NY_ERR;
    m->pmask = slots - 1;
    m->pshift = 32 - bits;
    for (uint32_t k = 0; k < slots; k++)
        m->pairs[k].head = NONE;
    for (uint32_t p = 0; p < m->nparts; p++) {
        const pinfo *pi = &m->parts[p];
        for (uint32_t a = pi->ibeg, z; a < pi->ilit; a = z) {
            for (z = a + 1; z < pi->ilit && m->items[z].head == m->items[a].head; z++)
                ;
            uint32_t k = pair_slot(m->items[a].head, p, m->pshift);
            while (m->pairs[k].head != NONE)
                k = (k + 1) & m->pmask;
            m->pairs[k] = (pairslot){m->items[a].head, p, a};
        }
    }
    return NY_OK;
}

int match_compile(const match_entry *entries, size_t n, match_set **out, ny_err *e)
{
    ny_err_clear(e);
    *out = NULL;
    if (n >= NONE)
        return ny_err_set(e, NY_EINVAL, "match_compile: too many entries");
    for (size_t i = 0; i < n; i++) {
        int rc = check_part(entries[i].head, i, entries[i].tail ? "head" : "term", e);
        if (rc == NY_OK && entries[i].tail)
            rc = check_part(entries[i].tail, i, "tail", e);
        if (rc != NY_OK)
            return rc;
        if (entries[i].tail && entries[i].gap > MATCH_GAP_MAX)
            return ny_err_set_at(e, NY_EINVAL, (long)i, "entry %zu: gap %u above %u", i,
                                 entries[i].gap, MATCH_GAP_MAX);
    }
    match_set *m = calloc(1, sizeof *m);
    if (m)
        atomic_init(&m->refs, 1);
    trie t = {0};
    uint32_t *head = malloc((n + 1) * sizeof *head); /* entry → head part */
    uint32_t *tail = malloc((n + 1) * sizeof *tail); /* entry → tail part */
    int rc = NY_ERR;
    if (!m || !head || !tail)
        goto fail;
    m->nentries = n;
    rc = number_symbols(m, entries, n, e);
    if (rc != NY_OK)
        goto fail;
    rc = NY_ERR;
    if (trie_grow(&t) != NY_OK)
        goto fail;
    t.root_kid = malloc((m->nsyms + 1) * sizeof *t.root_kid);
    if (!t.root_kid)
        goto fail;
    memset(t.root_kid, 0xFF, (m->nsyms + 1) * sizeof *t.root_kid);
    t.n = 1;
    t.first[0] = t.next[0] = t.part[0] = NONE;
    t.sym[0] = 0;
    /* parts: one per distinct string */
    for (size_t i = 0; i < n; i++) {
        const char *s[2] = {entries[i].head, entries[i].tail};
        uint32_t *dst[2] = {head, tail};
        for (int k = 0; k < 2; k++) {
            uint32_t node;
            dst[k][i] = NONE;
            if (!s[k])
                continue;
            if (trie_add(&t, m, s[k], &node) != NY_OK)
                goto fail;
            if (t.part[node] == NONE)
                t.part[node] = m->nparts++;
            dst[k][i] = t.part[node];
        }
    }
    m->parts = calloc(m->nparts + 1, sizeof *m->parts);
    if (!m->parts)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        m->parts[head[i]].len = (uint32_t)strlen(entries[i].head);
        if (entries[i].tail)
            m->parts[tail[i]].len = (uint32_t)strlen(entries[i].tail);
    }
    if (build_items(m, entries, n, head, tail) != NY_OK ||
        (rc = build_automaton(m, &t, e)) != NY_OK)
        goto fail;
    trie_free(&t);
    free(head);
    free(tail);
    *out = m;
    return NY_OK;
fail:
    trie_free(&t);
    free(head);
    free(tail);
    if (m)
        match_release(m);
    return rc == NY_ERR ? ny_err_set(e, NY_ERR, "match_compile: out of memory") : rc;
}

/* The part of raw term text before and after the first run of U+2026. */
static const char *find_gap(const char *s, const char **after)
{
    const char *g = strstr(s, "\xE2\x80\xA6");
    if (!g)
        return NULL;
    const char *z = g;
    while (strncmp(z, "\xE2\x80\xA6", 3) == 0)
        z += 3;
    *after = z;
    return g;
}

static int norm_part(const norm_table *nt, const char *s, size_t len, norm_buf *nb, char **out,
                     size_t idx, ny_err *e)
{
    ny_err ne;
    int rc = norm_text(nt, s, len, NORM_STRICT, nb, &ne);
    if (rc != NY_OK)
        return ny_err_set_at(e, rc, (long)idx, "term %zu: %s", idx, ne.msg);
    if (nb->len == 0)
        return ny_err_set_at(e, NY_EINVAL, (long)idx, "term %zu: empty after normalisation", idx);
    *out = strdup(nb->s);
    if (!*out)
        return ny_err_set(e, NY_ERR, "match_compile_terms: out of memory");
    return NY_OK;
}

int match_compile_terms(const norm_table *nt, const char *const *terms, size_t n, match_set **out,
                        ny_err *e)
{
    ny_err_clear(e);
    *out = NULL;
    match_entry *ents = calloc(n + 1, sizeof *ents);
    norm_buf nb = NORM_BUF_INIT;
    int rc = ents ? NY_OK : ny_err_set(e, NY_ERR, "match_compile_terms: out of memory");
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        const char *s = terms[i] ? terms[i] : "";
        const char *after = NULL, *g = find_gap(s, &after);
        char *h = NULL, *tl = NULL;
        rc = norm_part(nt, s, g ? (size_t)(g - s) : strlen(s), &nb, &h, i, e);
        ents[i].head = h;
        if (rc == NY_OK && g) {
            rc = norm_part(nt, after, strlen(after), &nb, &tl, i, e);
            ents[i].tail = tl;
            ents[i].gap = MATCH_GAP_DEFAULT;
        }
    }
    norm_buf_free(&nb);
    if (rc == NY_OK)
        rc = match_compile(ents, n, out, e);
    for (size_t i = 0; ents && i < n; i++) {
        free((char *)ents[i].head);
        free((char *)ents[i].tail);
    }
    free(ents);
    return rc;
}

size_t match_entries(const match_set *m)
{
    return m->nentries;
}

/* ---- scanning ---- */

static int hit_push(match_hits *h, uint32_t entry, uint32_t start, uint32_t end)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        match_hit *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return NY_ERR;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = (match_hit){entry, start, end};
    return NY_OK;
}

static int log_push(match_hits *h, uint32_t horizon, uint32_t part, uint32_t start, uint32_t end)
{
    headpos *lg = h->log;
    while (h->loglo < h->logn && lg[h->loglo].end + horizon < end)
        h->loglo++;
    if (h->loglo > 64 && 2 * h->loglo > h->logn) {
        memmove(lg, lg + h->loglo, (h->logn - h->loglo) * sizeof *lg);
        h->logn -= h->loglo;
        h->loglo = 0;
    }
    if (h->logn == h->logcap) {
        size_t cap = h->logcap ? h->logcap * 2 : 64;
        lg = realloc(h->log, cap * sizeof *lg);
        if (!lg)
            return NY_ERR;
        h->log = lg;
        h->logcap = cap;
    }
    lg[h->logn++] = (headpos){part, start, end};
    return NY_OK;
}

/* 1 when the n bytes at q begin with a character that ends a sentence
 * (。 ! ? ！ ？ or a line break), which no pattern's gap may cross. */
static int stops_gap(const uint8_t *q, uint32_t n)
{
    if (q[0] == '!' || q[0] == '?' || q[0] == '\n')
        return 1;
    if (n < 3)
        return 0;
    return (q[0] == 0xE3 && q[1] == 0x80 && q[2] == 0x82) ||                 /* 。 */
           (q[0] == 0xEF && q[1] == 0xBC && (q[2] == 0x81 || q[2] == 0x9F)); /* ！ ？ */
}

/* The part `part` (pi), the tail of some patterns, occurs at [start, end):
 * walks the logged heads from the nearest back while they are close enough,
 * and reports each pattern whose head is found at most its gap away. A head
 * part is looked at only at its nearest occurrence (stamped with this walk's
 * generation); the patterns of a (head, tail) pair come from a hash table, so
 * the cost does not grow with the number of objects crossed with one problem
 * word. */
static int tail_hits(const match_set *m, match_hits *h, uint32_t part, const pinfo *pi,
                     const uint8_t *p, uint32_t start, uint32_t end)
{
    if (++h->gen == 0) { /* wrapped: forget all stamps */
        memset(h->stamp, 0, h->stampcap * sizeof *h->stamp);
        h->gen = 1;
    }
    const headpos *lg = h->log;
    for (size_t k = h->logn; k > h->loglo; k--) {
        const headpos *hp = &lg[k - 1];
        if (hp->end > start)
            continue;
        if (start - hp->end > 4 * pi->maxgap)
            break;
        if (!(pi->heads >> (hp->part & 63) & 1) || h->stamp[hp->part] == h->gen)
            continue;
        h->stamp[hp->part] = h->gen;
        const pairslot *ps = &m->pairs[pair_slot(hp->part, part, m->pshift)];
        while (ps->head != NONE && (ps->head != hp->part || ps->tail != part))
            ps = &m->pairs[(uint32_t)(ps - m->pairs + 1) & m->pmask];
        if (ps->head == NONE)
            continue;
        uint32_t chars = 0;
        for (uint32_t i = hp->end; i < start && chars <= pi->maxgap; i++) {
            if (stops_gap(p + i, start - i)) {
                chars = UINT32_MAX; /* head and tail in different sentences */
                break;
            }
            chars += (p[i] & 0xC0) != 0x80;
        }
        for (uint32_t j = ps->first; j < pi->ilit && m->items[j].head == hp->part; j++)
            if (chars <= m->items[j].gap && hit_push(h, m->items[j].entry, hp->start, end) != NY_OK)
                return NY_ERR;
    }
    return NY_OK;
}

/* Reports everything that ends at byte `end` in state s. */
static int report(const match_set *m, uint32_t s, const uint8_t *p, uint32_t end, match_hits *h)
{
    for (; s != NONE; s = m->dict[s]) {
        uint32_t part = m->nodes[s].part;
        if (part == NONE)
            continue;
        const pinfo *pi = &m->parts[part];
        uint32_t start = end - pi->len;
        if (pi->ilit > pi->ibeg && tail_hits(m, h, part, pi, p, start, end) != NY_OK)
            return NY_ERR;
        for (uint32_t k = pi->ilit; k < pi[1].ibeg; k++)
            if (hit_push(h, m->items[k].entry, start, end) != NY_OK)
                return NY_ERR;
        if (pi->is_head && log_push(h, m->horizon, part, start, end) != NY_OK)
            return NY_ERR;
    }
    return NY_OK;
}

int match_scan(const match_set *m, const char *text, size_t len, match_hits *h, ny_err *e)
{
    h->n = 0;
    h->loglo = h->logn = 0;
    if (len > UINT32_MAX)
        return ny_err_set(e, NY_EINVAL, "match_scan: %zu bytes are too many", len);
    if (h->stampcap < m->nparts) {
        uint32_t *st = realloc(h->stamp, m->nparts * sizeof *st);
        if (!st)
            return ny_err_set(e, NY_ERR, "match_scan: out of memory");
        memset(st + h->stampcap, 0, (m->nparts - h->stampcap) * sizeof *st);
        h->stamp = st;
        h->stampcap = m->nparts;
    }
    const uint8_t *p = (const uint8_t *)text;
    const uint16_t *bmp = m->bmp;
    const uint32_t *root = m->root;
    const snode *nodes = m->nodes;
    const edge *edges = m->edges;
    const uint32_t nsym1 = m->nsyms + 1, hmask = m->hmask, hshift = m->hshift;
    uint32_t s = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t sym;
        int32_t cp = 0;
        size_t l;
        if (p[i] < 0x80) {
            sym = bmp[p[i]];
            l = 1;
        } else if ((l = norm_utf8_decode(p, i, len, &cp)) != 0) {
            sym = sym_of(m, cp);
        } else { /* a byte that is no character: nothing matches across it */
            sym = 0;
            l = 1;
        }
        i += l;
        if (sym == 0) {
            s = 0;
            continue;
        }
        for (;;) {
            uint32_t x = s & IDMASK;
            if (x == 0) {
                s = root[sym];
                break;
            }
            const snode *nd = &nodes[x];
            if (nd->kids >> (sym & 63) & 1) { /* some edge may have this symbol */
                uint32_t key = x * nsym1 + sym;
                for (uint32_t k = hash_slot(key, hshift);; k = (k + 1) & hmask) {
                    if (edges[k].key == key) {
                        s = edges[k].target;
                        goto moved;
                    }
                    if (edges[k].key == 0)
                        break;
                }
            }
            s = nd->fail;
        }
    moved:
        if ((s & OUTBIT) && report(m, s & IDMASK, p, (uint32_t)i, h) != NY_OK) {
            h->n = 0;
            return ny_err_set(e, NY_ERR, "match_scan: out of memory");
        }
    }
    return NY_OK;
}

void match_hits_free(match_hits *h)
{
    if (!h)
        return;
    free(h->v);
    free(h->log);
    free(h->stamp);
    *h = (match_hits)MATCH_HITS_INIT;
}
