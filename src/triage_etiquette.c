/* triage_etiquette.c - how the assistant behaves in a chat group (triage.h).
 *
 * After triage says what a message is and what the answer would be, this
 * file decides whether the bot actually posts it, and folds repeated reports
 * into one lead. Per group it keeps the times of the last replies, so that no
 * sliding minute holds more than the rate (WeCom robots accept 20 messages a
 * minute and refuse the rest: a token bucket would let a burst exceed that), the last answers given
 * (hash of the normalised text and of the top policy, with the time) and the last leads (category,
 * time of the latest report, distinct reporters and bottom-k sketches of the character bigrams of
 * its first and its latest report, whose Jaccard estimate is exact for texts of up to SKETCH
 * distinct bigrams). A report joins the lead of the same category, reported within the window,
 * whose first or latest report is most similar to it; answers to the same text or policy within the
 * repeat window are skipped. Everything per group has a fixed size and groups are limited in number
 * (the least recently active is forgotten first), so memory is bounded. Groups are spread over
 * shards by a hash of their key, each shard behind its own spin lock (the work inside takes well
 * under a microsecond), so threads serving different groups rarely meet. What needs no group
 * state - whether the bot is @-mentioned, the hashes of the text and top policy, the sketch - can
 * be computed beforehand on any thread (triage_etiquette_prepare: the ingest commit, which decides
 * for every message in one serial pass, then does only the group's part). Time is the caller's. */
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "norm.h"
#include "triage_int.h"

#define SHARDS 16
#define ANSWERS 16           /* answers remembered per group */
#define LEADS 8              /* open leads remembered per group */
#define SKETCH TRIAGE_SKETCH /* bigram hashes kept per lead */
#define SENDERS 16           /* distinct senders remembered per lead */
#define RATE_MAX 120
#define SIG_CHARS 1024

enum { EMERGENCY = 3, CONSULT = 0 };

typedef struct answer {
    uint64_t text, policy; /* hashes; policy 0 = none */
    int64_t at;
} answer;

typedef struct lead {
    uint64_t id; /* 0 = free slot */
    int category;
    int64_t last;
    unsigned reporters, nsenders, nsketch[2];
    uint64_t senders[SENDERS];
    uint32_t sketch[2][SKETCH]; /* first and latest report, ascending */
} lead;

typedef struct group {
    uint64_t key;
    int64_t latest; /* latest time seen */
    unsigned nanswers, nextlead;
    unsigned nsent, pos;     /* replies in sent (at most the rate), next slot */
    int64_t sent[RATE_MAX];  /* ring of reply times; when full, pos is the oldest */
    answer answers[ANSWERS]; /* ring, nanswers written so far */
    lead leads[LEADS];
} group;

typedef struct shard {
    atomic_flag lock;
    group *g;
    size_t n, cap;
} shard;

struct triage_etiquette {
    triage_etiquette_opts o;
    char *bot_id, *bot_name, *at_name; /* owned copies; at_name = "@" + bot_name */
    size_t per_shard;
    atomic_uint_fast64_t next_lead;
    shard shards[SHARDS];
};

triage_etiquette_opts triage_etiquette_defaults(void)
{
    return (triage_etiquette_opts){20, 600, 1800, 0.6, 4096, NULL, "暖羊阳"};
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h ? h : 1;
}

int triage_etiquette_new(const triage_etiquette_opts *o, triage_etiquette **out, ny_err *e)
{
    *out = NULL;
    triage_etiquette_opts d = o ? *o : triage_etiquette_defaults();
    if (!d.rate_per_minute || d.rate_per_minute > RATE_MAX || !d.repeat_window_s ||
        !d.dup_window_s || !d.max_groups || !(d.dup_similarity > 0 && d.dup_similarity <= 1))
        return ny_err_set(e, NY_EINVAL,
                          "etiquette: rate outside 1..120, zero window or "
                          "group count, or similarity outside (0, 1]");
    triage_etiquette *et = calloc(1, sizeof *et);
    if (!et)
        return ny_err_set(e, NY_ERR, "out of memory");
    const char *name = d.bot_name ? d.bot_name : "";
    size_t nl = strlen(name);
    et->bot_id = d.bot_sender_id ? strdup(d.bot_sender_id) : NULL;
    et->bot_name = strdup(name);
    et->at_name = malloc(nl + 2);
    if ((d.bot_sender_id && !et->bot_id) || !et->bot_name || !et->at_name) {
        triage_etiquette_free(et);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    et->at_name[0] = '@';
    memcpy(et->at_name + 1, name, nl + 1);
    d.bot_sender_id = et->bot_id;
    d.bot_name = et->bot_name;
    et->o = d;
    et->per_shard = (d.max_groups + SHARDS - 1) / SHARDS;
    atomic_init(&et->next_lead, 1);
    for (int i = 0; i < SHARDS; i++)
        atomic_flag_clear(&et->shards[i].lock);
    *out = et;
    return NY_OK;
}

void triage_etiquette_free(triage_etiquette *et)
{
    if (!et)
        return;
    for (int i = 0; i < SHARDS; i++)
        free(et->shards[i].g);
    free(et->bot_id);
    free(et->bot_name);
    free(et->at_name);
    free(et);
}

/* ---- similarity ------------------------------------------------------------- */

/* Whether code point c carries content (letters, digits, CJK), not
 * punctuation, symbols, emoji or the replacement character. */
static int content(int32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return !(c >= 0x2000 && c <= 0x2BFF) && !(c >= 0x3000 && c <= 0x303F) &&
           !(c >= 0xFE10 && c <= 0xFE6F) && !(c >= 0xFF00 && c <= 0xFF65) && c != 0xFFFD &&
           c < 0x1F000;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The bottom-k sketch of the character bigrams of text (content characters
 * of its first SIG_CHARS characters, punctuation skipped): the SKETCH
 * smallest distinct bigram hashes, ascending. Returns how many. */
static unsigned sketch(const char *text, size_t len, uint32_t out[SKETCH])
{
    uint32_t h[SIG_CHARS];
    size_t n = 0, chars = 0;
    int32_t prev = -1;
    for (size_t i = 0; i < len && chars < SIG_CHARS;) {
        int32_t c;
        size_t k = norm_utf8_decode((const uint8_t *)text, i, len, &c);
        i += k ? k : 1;
        chars++;
        if (!k || !content(c))
            continue;
        if (prev >= 0) {
            uint64_t x = ((uint64_t)(uint32_t)prev << 32 | (uint32_t)c) * 0x9e3779b97f4a7c15ull;
            h[n++] = (uint32_t)(x >> 32);
        }
        prev = c;
    }
    if (n == 0 && prev >= 0) /* one character: its own "bigram" */
        h[n++] = (uint32_t)(((uint64_t)(uint32_t)prev * 0x9e3779b97f4a7c15ull) >> 32);
    qsort(h, n, sizeof *h, cmp_u32);
    unsigned m = 0;
    for (size_t i = 0; i < n && m < SKETCH; i++)
        if (i == 0 || h[i] != h[i - 1])
            out[m++] = h[i];
    return m;
}

/* Jaccard estimate of two sketches: among the SKETCH smallest hashes of the
 * union, the share found in both (exact when neither sketch was cut). */
static double jaccard(const uint32_t *a, unsigned na, const uint32_t *b, unsigned nb)
{
    unsigned i = 0, j = 0, seen = 0, both = 0;
    while (seen < SKETCH && (i < na || j < nb)) {
        if (j == nb || (i < na && a[i] < b[j])) {
            i++;
        } else if (i == na || b[j] < a[i]) {
            j++;
        } else {
            i++;
            j++;
            both++;
        }
        seen++;
    }
    return seen ? (double)both / seen : 0;
}

/* ---- groups ----------------------------------------------------------------- */

/* The state of group key in shard s, created (or recycled from the least
 * recently active group when the shard is full) when absent; NULL when
 * memory runs out. Called under the shard's lock. */
static group *group_get(triage_etiquette *et, shard *s, uint64_t key)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->g[i].key == key)
            return &s->g[i];
    group *g;
    if (s->n < et->per_shard) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 8;
            if (cap > et->per_shard)
                cap = et->per_shard;
            group *v = realloc(s->g, cap * sizeof *v);
            if (!v)
                return NULL;
            s->g = v;
            s->cap = cap;
        }
        g = &s->g[s->n++];
    } else {
        g = &s->g[0];
        for (size_t i = 1; i < s->n; i++)
            if (s->g[i].latest < g->latest)
                g = &s->g[i];
    }
    memset(g, 0, sizeof *g);
    g->key = key;
    g->latest = INT64_MIN;
    return g;
}

/* Records a reply at time t unless the last minute already holds the rate. */
static int take_slot(const triage_etiquette *et, group *g, int64_t t)
{
    unsigned rate = et->o.rate_per_minute;
    if (g->nsent == rate && t - g->sent[g->pos] < 60000)
        return 0;
    g->sent[g->pos] = t;
    g->pos = (g->pos + 1) % rate;
    if (g->nsent < rate)
        g->nsent++;
    return 1;
}

static int repeated(const triage_etiquette *et, const group *g, uint64_t text, uint64_t policy,
                    int64_t t)
{
    unsigned n = g->nanswers < ANSWERS ? g->nanswers : ANSWERS;
    for (unsigned i = 0; i < n; i++) {
        const answer *a = &g->answers[i];
        if (t - a->at <= (int64_t)et->o.repeat_window_s * 1000 &&
            (a->text == text || (policy && a->policy == policy)))
            return 1;
    }
    return 0;
}

/* Adds the report (its sketch sk of nsk hashes) to the most similar recent
 * lead of its category, or opens a lead; fills v->lead, v->reporters and
 * v->merged. */
static void file_lead(triage_etiquette *et, group *g, const triage_post *p, const triage_result *r,
                      const uint32_t *sk, unsigned nsk, int64_t t, triage_verdict *v)
{
    lead *best = NULL;
    double best_sim = 0;
    for (unsigned i = 0; i < LEADS; i++) {
        lead *l = &g->leads[i];
        if (!l->id || l->category != r->category ||
            t - l->last > (int64_t)et->o.dup_window_s * 1000)
            continue;
        double sim = jaccard(sk, nsk, l->sketch[0], l->nsketch[0]);
        double sim2 = jaccard(sk, nsk, l->sketch[1], l->nsketch[1]);
        sim = sim2 > sim ? sim2 : sim;
        if (sim >= et->o.dup_similarity && sim > best_sim) {
            best = l;
            best_sim = sim;
        }
    }
    uint64_t sender = p->sender_id ? hash(p->sender_id, strlen(p->sender_id)) : 0;
    if (best) {
        int known = 0;
        for (unsigned i = 0; sender && i < best->nsenders; i++)
            known |= best->senders[i] == sender;
        if (!known) {
            best->reporters++;
            if (sender && best->nsenders < SENDERS)
                best->senders[best->nsenders++] = sender;
        }
        best->last = t;
        memcpy(best->sketch[1], sk, nsk * sizeof *sk);
        best->nsketch[1] = nsk;
        *v = (triage_verdict){0, NULL, 0, best->id, best->reporters, 1};
        return;
    }
    lead *l = &g->leads[g->nextlead++ % LEADS];
    memset(l, 0, sizeof *l);
    l->id = atomic_fetch_add(&et->next_lead, 1);
    l->category = r->category;
    l->last = t;
    l->reporters = 1;
    if (sender)
        l->senders[l->nsenders++] = sender;
    for (int k = 0; k < 2; k++) {
        memcpy(l->sketch[k], sk, nsk * sizeof *sk);
        l->nsketch[k] = nsk;
    }
    *v = (triage_verdict){0, NULL, 0, l->id, 1, 0};
}

/* Whether text holds "@<bot name>" ("@" is ASCII: never inside a character). */
static int has_at_name(const triage_etiquette *et, const char *text, size_t len)
{
    size_t al = strlen(et->at_name);
    for (size_t i = 0; text && i + al <= len; i++)
        if (text[i] == '@' && memcmp(text + i, et->at_name, al) == 0)
            return 1;
    return 0;
}

/* Whether p @-mentions the bot: by the platform's mention list (sender id
 * or name) or in its text, raw or normalised (full-width "＠" included). */
static int is_mentioned(const triage_etiquette *et, const triage_post *p, const triage_result *r)
{
    for (size_t i = 0; i < p->nmentions; i++) {
        const char *m = p->mentions[i];
        if (m && ((et->bot_id && strcmp(m, et->bot_id) == 0) ||
                  (*et->bot_name && (strcmp(m, et->bot_name) == 0 || strcmp(m, et->at_name) == 0))))
            return 1;
    }
    return *et->bot_name &&
           (has_at_name(et, p->text, p->len) || has_at_name(et, r->norm, r->norm_len));
}

void triage_etiquette_prepare(const triage_etiquette *et, const triage_post *p,
                              const triage_result *r, triage_etiquette_prep *out)
{
    out->mentioned = is_mentioned(et, p, r);
    out->text = hash(r->norm, r->norm_len);
    out->policy = r->intent == CONSULT && r->npolicies
                      ? hash(r->policies[0].code, strlen(r->policies[0].code))
                      : 0;
    out->nsketch = r->intent >= 1 && r->intent <= 4 ? sketch(r->norm, r->norm_len, out->sketch) : 0;
}

int triage_etiquette_decide(triage_etiquette *et, const triage_post *p, const triage_result *r,
                            triage_verdict *v, ny_err *e)
{
    *v = (triage_verdict){TRIAGE_NOTHING, NULL, 0, 0, 0, 0};
    if (!p->group)
        return ny_err_set(e, NY_EINVAL, "etiquette: the post names no group");
    if (et->bot_id && p->sender_id && strcmp(p->sender_id, et->bot_id) == 0) {
        v->why = TRIAGE_OWN;
        return NY_OK;
    }
    triage_etiquette_prep own;
    const triage_etiquette_prep *pre = p->prep;
    if (!pre) {
        triage_etiquette_prepare(et, p, r, &own);
        pre = &own;
    }
    int mentioned = pre->mentioned;
    uint64_t key = hash(p->group, strlen(p->group));
    shard *s = &et->shards[(key >> 59) % SHARDS];
    while (atomic_flag_test_and_set(&s->lock))
        thrd_yield();
    group *g = group_get(et, s, key);
    if (!g) {
        atomic_flag_clear(&s->lock);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    int64_t before = g->latest, t = p->now_ms > before ? p->now_ms : before;
    g->latest = t;
    if (r->intent >= 1 && r->intent <= 4) /* help, report, emergency, complaint */
        file_lead(et, g, p, r, pre->sketch, pre->nsketch, t, v);
    v->mentioned = mentioned;
    const char *reply = r->reply ? r->reply : mentioned ? triage_help_text() : NULL;
    uint64_t text = pre->text, policy = pre->policy;
    int free_pass = mentioned || r->intent == EMERGENCY;
    if (!reply)
        v->why = TRIAGE_NOTHING;
    else if (!free_pass && v->merged)
        v->why = TRIAGE_DUPLICATE;
    else if (!free_pass && repeated(et, g, text, policy, t))
        v->why = TRIAGE_REPEAT;
    else if (!take_slot(et, g, t))
        v->why = TRIAGE_RATE;
    else {
        g->answers[g->nanswers++ % ANSWERS] = (answer){text, policy, t};
        v->why = TRIAGE_SAY;
        v->reply = reply;
    }
    atomic_flag_clear(&s->lock);
    return NY_OK;
}
