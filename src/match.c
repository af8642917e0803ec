/* match.c - the keyword capture stage of the triage pipeline: an
 * Aho–Corasick automaton over the bytes of normalised UTF-8, compiled once
 * from the lexicon and scanned by any number of threads, plus the holder that
 * swaps a rebuilt automaton in while readers keep using the old one.
 *
 * Every distinct string (a literal term, or the head or the tail of a gap
 * pattern) is a "part" and ends at one trie node. States near the root (at
 * most DENSE_DEPTH bytes deep) and states with many children get a dense row
 * of complete transitions over byte classes; the automaton spends most of its
 * time there, one load per byte. Deeper states keep only their own edges and
 * a failure link. Transitions carry OUTBIT when the target state ends a part
 * (itself or along its failure chain), so the scan loop tests one bit per
 * byte. A part that is the head of a pattern is logged with its position; when
 * a tail ends, the log is searched backwards for the nearest head within the
 * gap. Since the parts are whole UTF-8 strings and the text is valid UTF-8, a
 * match starts and ends on character boundaries. */
#include "match.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

#define OUTBIT 0x80000000u
#define IDMASK 0x7FFFFFFFu
#define NONE UINT32_MAX
#define DENSE_DEPTH 2  /* states this close to the root get a dense row */
#define DENSE_FANOUT 8 /* and so do states with more children than this */

enum { IT_LIT = 0, IT_TAIL = 1 };

/* What an occurrence of a part means: a literal entry, or the tail of a
 * pattern entry whose head is part `head`. */
typedef struct item {
    uint32_t entry;
    uint16_t kind;
    uint16_t gap;
    uint32_t head;
} item;

typedef struct sstate { /* a sparse state: own edges and failure link */
    uint32_t fail;      /* with OUTBIT */
    uint32_t ebeg;      /* first edge in ebyte/etgt */
    uint32_t ecnt;
} sstate;

typedef struct headpos { /* a logged occurrence of a pattern head */
    uint32_t part, start, end;
} headpos;

struct match_set {
    atomic_long refs;
    size_t nentries;
    uint32_t nstates, ndense, nclass;
    uint8_t cls[256]; /* byte → class; class 0: bytes on no edge */
    uint32_t *dense;  /* ndense rows of nclass targets (with OUTBIT) */
    sstate *sparse;   /* states ndense .. nstates-1 */
    uint8_t *ebyte;   /* edge labels of sparse states */
    uint32_t *etgt;   /* edge targets (with OUTBIT) */
    uint32_t *spart;  /* state → part ending there, or NONE */
    uint32_t *dict;   /* state → next state on its failure chain ending a part */
    uint32_t nparts;
    uint32_t *plen; /* part → length in bytes */
    uint8_t *phead; /* part → 1 when some pattern has it as head */
    uint32_t *ibeg; /* part → first item (nparts + 1 entries) */
    item *items;
    uint32_t horizon; /* bytes of head history a tail may need */
};

/* ---- compiling ---- */

typedef struct trie {
    uint32_t n, cap;
    uint32_t *first, *next, *part, *fail, *depth, *nkids;
    uint8_t *byte;
    uint32_t root_kid[256];
} trie;

static void trie_free(trie *t)
{
    free(t->first);
    free(t->next);
    free(t->part);
    free(t->fail);
    free(t->depth);
    free(t->nkids);
    free(t->byte);
}

static int trie_grow(trie *t)
{
    uint32_t cap = t->cap ? t->cap * 2 : 1024;
    uint32_t **arr[] = {&t->first, &t->next, &t->part, &t->fail, &t->depth, &t->nkids};
    for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++) {
        uint32_t *p = realloc(*arr[i], cap * sizeof **arr[i]);
        if (!p)
            return NY_ERR;
        *arr[i] = p;
    }
    uint8_t *b = realloc(t->byte, cap);
    if (!b)
        return NY_ERR;
    t->byte = b;
    t->cap = cap;
    return NY_OK;
}

static uint32_t trie_kid(const trie *t, uint32_t u, uint8_t c)
{
    if (u == 0)
        return t->root_kid[c];
    for (uint32_t v = t->first[u]; v != NONE; v = t->next[v])
        if (t->byte[v] == c)
            return v;
    return NONE;
}

/* Adds s to the trie and returns its node in *node. */
static int trie_add(trie *t, const char *s, uint32_t *node)
{
    uint32_t u = 0;
    for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
        uint32_t v = trie_kid(t, u, *p);
        if (v == NONE) {
            if (t->n == t->cap && trie_grow(t) != NY_OK)
                return NY_ERR;
            v = t->n++;
            t->first[v] = NONE;
            t->part[v] = NONE;
            t->nkids[v] = 0;
            t->byte[v] = *p;
            t->depth[v] = t->depth[u] + 1;
            t->next[v] = t->first[u];
            t->first[u] = v;
            t->nkids[u]++;
            if (u == 0)
                t->root_kid[*p] = v;
        }
        u = v;
    }
    *node = u;
    return NY_OK;
}

/* The complete transition of node u on byte c, following failure links. */
static uint32_t trie_delta(const trie *t, uint32_t u, uint8_t c)
{
    for (;;) {
        uint32_t v = trie_kid(t, u, c);
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

void match_release(match_set *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    free(m->dense);
    free(m->sparse);
    free(m->ebyte);
    free(m->etgt);
    free(m->spart);
    free(m->dict);
    free(m->plen);
    free(m->phead);
    free(m->ibeg);
    free(m->items);
    free(m);
}

/* Lays the trie out as the scan automaton (see the file comment). */
static int build_automaton(match_set *m, trie *t)
{
    uint32_t n = t->n;
    uint32_t *order = malloc(n * sizeof *order); /* BFS order */
    uint32_t *newid = malloc(n * sizeof *newid); /* node → state id */
    uint32_t *dict = malloc(n * sizeof *dict);   /* node → dictionary link (node) */
    int rc = NY_ERR;
    if (!order || !newid || !dict)
        goto out;
    /* breadth-first: failure and dictionary links */
    uint32_t qh = 0, qt = 0;
    order[qt++] = 0;
    t->fail[0] = 0;
    dict[0] = NONE;
    while (qh < qt) {
        uint32_t u = order[qh++];
        for (uint32_t v = t->first[u]; v != NONE; v = t->next[v]) {
            t->fail[v] = u == 0 ? 0 : trie_delta(t, t->fail[u], t->byte[v]);
            uint32_t f = t->fail[v];
            dict[v] = t->part[f] != NONE ? f : dict[f];
            order[qt++] = v;
        }
    }
    /* dense states first, both groups in BFS order */
    uint32_t nd = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t u = order[k];
        if (t->depth[u] <= DENSE_DEPTH || t->nkids[u] > DENSE_FANOUT)
            newid[u] = nd++;
    }
    uint32_t ns = nd;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t u = order[k];
        if (!(t->depth[u] <= DENSE_DEPTH || t->nkids[u] > DENSE_FANOUT))
            newid[u] = ns++;
    }
    m->nstates = n;
    m->ndense = nd;
    /* byte classes: one per byte that labels an edge, class 0 for the rest
     * (byte 0 included: parts are C strings, so at most 255 classes more) */
    uint8_t rep[256];
    int used[256] = {0};
    for (uint32_t v = 1; v < n; v++)
        used[t->byte[v]] = 1;
    m->nclass = 1;
    rep[0] = 0;
    for (int c = 0; c < 256; c++) {
        m->cls[c] = 0;
        if (used[c]) {
            m->cls[c] = (uint8_t)m->nclass;
            rep[m->nclass++] = (uint8_t)c;
        }
    }
    uint32_t nedges = 0;
    for (uint32_t u = 0; u < n; u++)
        if (newid[u] >= nd)
            nedges += t->nkids[u];
    m->dense = malloc((size_t)nd * m->nclass * sizeof *m->dense);
    m->sparse = malloc((n - nd + 1) * sizeof *m->sparse);
    m->ebyte = malloc(nedges + 1);
    m->etgt = malloc((nedges + 1) * sizeof *m->etgt);
    m->spart = malloc(n * sizeof *m->spart);
    m->dict = malloc(n * sizeof *m->dict);
    if (!m->dense || !m->sparse || !m->ebyte || !m->etgt || !m->spart || !m->dict)
        goto out;
#define TARGET(node) (newid[node] | (t->part[node] != NONE || dict[node] != NONE ? OUTBIT : 0u))
    uint32_t ne = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t u = order[k], id = newid[u];
        m->spart[id] = t->part[u];
        m->dict[id] = dict[u] == NONE ? NONE : newid[dict[u]];
        if (id < nd) {
            uint32_t *row = m->dense + (size_t)id * m->nclass;
            row[0] = 0;
            for (uint32_t c = 1; c < m->nclass; c++) {
                uint32_t v = trie_delta(t, u, rep[c]);
                row[c] = TARGET(v);
            }
        } else {
            sstate *ss = &m->sparse[id - nd];
            ss->fail = TARGET(t->fail[u]);
            ss->ebeg = ne;
            ss->ecnt = t->nkids[u];
            for (uint32_t v = t->first[u]; v != NONE; v = t->next[v]) {
                m->ebyte[ne] = t->byte[v];
                m->etgt[ne++] = TARGET(v);
            }
        }
    }
#undef TARGET
    rc = NY_OK;
out:
    free(order);
    free(newid);
    free(dict);
    return rc;
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
    trie t = {0};
    uint32_t *head = malloc((n + 1) * sizeof *head); /* entry → head part */
    uint32_t *tail = malloc((n + 1) * sizeof *tail); /* entry → tail or literal part */
    if (!m || !head || !tail || trie_grow(&t) != NY_OK)
        goto oom;
    atomic_init(&m->refs, 1);
    m->nentries = n;
    memset(t.root_kid, 0xFF, sizeof t.root_kid);
    t.n = 1;
    t.first[0] = NONE;
    t.part[0] = NONE;
    t.depth[0] = 0;
    t.nkids[0] = 0;
    t.byte[0] = 0;
    /* parts: one per distinct string */
    for (size_t i = 0; i < n; i++) {
        const char *s[2] = {entries[i].head, entries[i].tail};
        uint32_t *dst[2] = {head, tail};
        for (int k = 0; k < 2; k++) {
            uint32_t node;
            if (!s[k]) {
                dst[k][i] = NONE;
                continue;
            }
            if (trie_add(&t, s[k], &node) != NY_OK)
                goto oom;
            if (t.part[node] == NONE)
                t.part[node] = m->nparts++;
            dst[k][i] = t.part[node];
        }
    }
    m->plen = calloc(m->nparts + 1, sizeof *m->plen);
    m->phead = calloc(m->nparts + 1, 1);
    m->ibeg = calloc(m->nparts + 2, sizeof *m->ibeg);
    m->items = malloc((n + 1) * sizeof *m->items);
    if (!m->plen || !m->phead || !m->ibeg || !m->items)
        goto oom;
    for (uint32_t v = 1; v < t.n; v++)
        if (t.part[v] != NONE)
            m->plen[t.part[v]] = t.depth[v];
    /* items grouped by the part whose occurrence reports them */
    for (size_t i = 0; i < n; i++)
        m->ibeg[(entries[i].tail ? tail[i] : head[i]) + 1]++;
    for (uint32_t p = 0; p < m->nparts; p++)
        m->ibeg[p + 1] += m->ibeg[p];
    for (size_t i = 0; i < n; i++) {
        int pat = entries[i].tail != NULL;
        uint32_t p = pat ? tail[i] : head[i];
        item *it = &m->items[m->ibeg[p]++];
        it->entry = (uint32_t)i;
        it->kind = pat ? IT_TAIL : IT_LIT;
        it->gap = pat ? (uint16_t)entries[i].gap : 0;
        it->head = pat ? head[i] : NONE;
        if (pat) {
            m->phead[head[i]] = 1;
            uint32_t h = 4 * entries[i].gap + m->plen[tail[i]];
            if (h > m->horizon)
                m->horizon = h;
        }
    }
    for (uint32_t p = m->nparts; p > 0; p--) /* undo the shift of the fill */
        m->ibeg[p] = m->ibeg[p - 1];
    m->ibeg[0] = 0;
    if (build_automaton(m, &t) != NY_OK)
        goto oom;
    trie_free(&t);
    free(head);
    free(tail);
    *out = m;
    return NY_OK;
oom:
    trie_free(&t);
    free(head);
    free(tail);
    if (m) {
        atomic_init(&m->refs, 1);
        match_release(m);
    }
    return ny_err_set(e, NY_ERR, "match_compile: out of memory");
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

/* The tail of pattern `it` occupies [start, end): reports it when a head
 * ends at most it->gap characters before start. */
static int tail_hit(const match_hits *h, const item *it, const uint8_t *p, uint32_t start,
                    uint32_t *hstart)
{
    const headpos *lg = h->log;
    for (size_t k = h->logn; k > h->loglo; k--) {
        const headpos *hp = &lg[k - 1];
        if (hp->end > start)
            continue;
        if (start - hp->end > 4u * it->gap)
            return 0;
        if (hp->part != it->head)
            continue;
        uint32_t chars = 0;
        for (uint32_t i = hp->end; i < start && chars <= it->gap; i++)
            chars += (p[i] & 0xC0) != 0x80;
        if (chars > it->gap)
            return 0;
        *hstart = hp->start;
        return 1;
    }
    return 0;
}

/* Reports everything that ends at byte `end` in state s. */
static int report(const match_set *m, uint32_t s, const uint8_t *p, uint32_t end, match_hits *h)
{
    for (; s != NONE; s = m->dict[s]) {
        uint32_t part = m->spart[s];
        if (part == NONE)
            continue;
        uint32_t start = end - m->plen[part];
        for (uint32_t k = m->ibeg[part]; k < m->ibeg[part + 1]; k++) {
            const item *it = &m->items[k];
            uint32_t hs = start;
            if (it->kind == IT_TAIL && !tail_hit(h, it, p, start, &hs))
                continue;
            if (hit_push(h, it->entry, hs, end) != NY_OK)
                return NY_ERR;
        }
        if (m->phead[part] && log_push(h, m->horizon, part, start, end) != NY_OK)
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
    const uint8_t *p = (const uint8_t *)text;
    const uint32_t nd = m->ndense, nc = m->nclass;
    const uint32_t *dense = m->dense;
    const uint8_t *cls = m->cls;
    uint32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        uint32_t x = s & IDMASK;
        while (x >= nd) {
            const sstate *ss = &m->sparse[x - nd];
            uint32_t k = ss->ebeg, kend = k + ss->ecnt;
            while (k < kend && m->ebyte[k] != c)
                k++;
            if (k < kend) {
                s = m->etgt[k];
                goto moved;
            }
            s = ss->fail;
            x = s & IDMASK;
        }
        s = dense[x * nc + cls[c]];
    moved:
        if ((s & OUTBIT) && report(m, s & IDMASK, p, (uint32_t)(i + 1), h) != NY_OK) {
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
    *h = (match_hits)MATCH_HITS_INIT;
}

/* ---- hot reload ---- */

/* Readers announce themselves in active[epoch & 1] for the few instructions
 * between loading `cur` and taking their reference. A writer publishes the
 * new set, then twice flips the epoch and waits for the counter of the old
 * parity to drain: afterwards no reader can still be about to take a
 * reference to the old set, so the holder's reference can go. New readers use
 * the other counter, so the writer never waits for them. */
struct match_holder {
    _Atomic(match_set *) cur;
    atomic_uint epoch;
    atomic_long active[2];
    pthread_mutex_t wlock; /* serialises writers */
};

int match_holder_new(match_set *m, match_holder **out, ny_err *e)
{
    ny_err_clear(e);
    match_holder *h = calloc(1, sizeof *h);
    if (!h || pthread_mutex_init(&h->wlock, NULL) != 0) {
        free(h);
        match_release(m);
        *out = NULL;
        return ny_err_set(e, NY_ERR, "match_holder_new: out of memory");
    }
    atomic_init(&h->cur, m);
    atomic_init(&h->epoch, 0);
    atomic_init(&h->active[0], 0);
    atomic_init(&h->active[1], 0);
    *out = h;
    return NY_OK;
}

match_set *match_holder_acquire(match_holder *h)
{
    unsigned ep = atomic_load(&h->epoch) & 1u;
    atomic_fetch_add(&h->active[ep], 1);
    match_set *m = atomic_load(&h->cur);
    atomic_fetch_add(&m->refs, 1);
    atomic_fetch_sub(&h->active[ep], 1);
    return m;
}

void match_holder_swap(match_holder *h, match_set *next)
{
    pthread_mutex_lock(&h->wlock);
    match_set *old = atomic_exchange(&h->cur, next);
    for (int phase = 0; phase < 2; phase++) {
        unsigned ep = atomic_fetch_add(&h->epoch, 1) & 1u;
        while (atomic_load(&h->active[ep]) != 0)
            sched_yield();
    }
    pthread_mutex_unlock(&h->wlock);
    match_release(old);
}

void match_holder_free(match_holder *h)
{
    if (!h)
        return;
    match_release(atomic_load(&h->cur));
    pthread_mutex_destroy(&h->wlock);
    free(h);
}
