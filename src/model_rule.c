/* model_rule.c - the emergency safety rule of model.h.
 *
 * The intent model is trained on few emergencies, and an emergency it misses
 * costs far more than a false alarm, so a short list of unmistakable cues of
 * danger happening now (fire, smoke, explosion, gas, someone collapsed, not
 * breathing, trapped, drowning, a cry for help) raises a message to emergency
 * whatever the model says. A cue is a term, or two terms that must occur in
 * this order ("电梯" ... "困"). The cue does not count when the message is
 * plainly about the past or over ("昨天", "已经灭了"), hypothetical or
 * instructional ("如果", "演练", "提示"), or a question about rules; "不是演练"
 * cancels "演练". A mask is a longer term that holds a cue in a harmless
 * sense ("特困人员" holds "困人", "水管爆了" holds "爆了": a burst pipe is a
 * repair, not a danger to life); when a mask occurs, its cue does not count.
 * The lists are kept short on purpose: every entry was checked against the
 * labelled chat messages for the false alarms it causes.
 *
 * All cue and blocker terms (a cue "a|b" gives two) are compiled once, on
 * first use, into one keyword automaton of match.h, and a message is scanned
 * once; the decision is then read off the hits, with the same meaning as a
 * search per term: "a|b" holds when some b starts at or after the end of the
 * first a, and "不是" cancels "演练" only before its first occurrence. Each
 * thread reuses its own hit list. Masks are compiled into the same automaton. Should the automaton
 * or a hit list be unavailable (out of memory), the rule searches term by term instead, so it never
 * fails. The assistant's pipeline compiles the same terms into its lexicon automaton instead
 * (model_emergency_terms) and reads the decision off that one scan's hits
 * (model_emergency_cue_hits), which spares it a second pass over the text. */
#include "model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "match.h"

/* Cues: "a" or "a|b" (a, then later b). */
static const char *const cues[] = {
    "着火",     "起火",     "失火",        "火灾",        "烧起来",    "冒黑烟",      "冒浓烟",
    "浓烟",     "火光",     "爆炸",        "爆了",        "漏气",      "煤气味",      "燃气味",
    "泄漏",     "救命",     "快来人",      "叫不醒",      "没呼吸",    "没有呼吸",    "喘不上气",
    "喘不过气", "晕倒",     "昏迷",        "不省人事",    "抽搐",      "溺水",        "掉水里",
    "掉河里",   "掉进河",   "掉进水",      "触电",        "困人",      "被困",        "压住人",
    "压到人",   "砍人",     "跳楼",        "中毒",        "决口",      "塌了|在里面", "塌了|在下面",
    "塌了|压",  "塌了|埋",  "塌了|下不来", "塌了|没出来", "血止不住",  "流了好多血",  "快叫救护车",
    "快打119",  "快打120",  "快报警",      "地震",        "滑坡",      "冒火花",      "掉下去了",
    "羊水破了", "脸都紫了", "往下掉",      "淹到",        "进水了|快",
};

/* Blockers: the cue is about the past, a drill, a rule or a hypothetical. */
static const char *const blockers[] = {
    "昨天",   "前天",     "上次", "上周",   "去年", "已经灭", "扑灭了",   "处理完",
    "没事了", "出院",     "演练", "如果",   "万一", "如遇",   "提示",     "培训",
    "知识",   "安全教育", "转发", "【",     "防范", "预防",   "怎么预防", "注意事项",
    "请问",   "咨询",     "新闻", "电视上", "听说",
};

/* Masks: a term that holds a cue in a harmless sense, and that cue. */
static const struct {
    const char *term, *cue;
} masks[] = {
    {"特困人", "困人"},   {"管爆了", "爆了"}, {"管道爆了", "爆了"},
    {"管子爆了", "爆了"}, {"胎爆了", "爆了"},
};

static const char *find(const char *hay, size_t len, const char *needle, size_t from)
{
    size_t nl = strlen(needle);
    if (from > len || nl > len - from)
        return NULL;
    for (size_t i = from; i + nl <= len; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

/* Whether cue (possibly "a|b") occurs in text. */
static int has_cue(const char *text, size_t len, const char *cue)
{
    const char *bar = strchr(cue, '|');
    if (!bar)
        return find(text, len, cue, 0) != NULL;
    char first[64];
    size_t fl = (size_t)(bar - cue);
    if (fl >= sizeof first)
        return 0;
    memcpy(first, cue, fl);
    first[fl] = '\0';
    const char *a = find(text, len, first, 0);
    return a && find(text, len, bar + 1, (size_t)(a - text) + fl) != NULL;
}

/* Whether the first "演练" at b is cancelled by "不是" right before it. */
static int drill_denied(const char *text, const char *b)
{
    return b - text >= 6 && memcmp(b - 6, "不是", 6) == 0;
}

/* The rule by one search per term: the fallback when no automaton or hit
 * list can be had. */
static int cue_by_search(const char *text, size_t len, int urgent)
{
    int cue = urgent != 0;
    for (size_t i = 0; !cue && i < sizeof cues / sizeof *cues; i++) {
        cue = has_cue(text, len, cues[i]);
        for (size_t j = 0; cue && j < sizeof masks / sizeof *masks; j++)
            if (strcmp(masks[j].cue, cues[i]) == 0 && find(text, len, masks[j].term, 0))
                cue = 0;
    }
    if (!cue)
        return 0;
    for (size_t i = 0; i < sizeof blockers / sizeof *blockers; i++) {
        const char *b = find(text, len, blockers[i], 0);
        if (!b)
            continue;
        if (strcmp(blockers[i], "演练") == 0 && drill_denied(text, b))
            continue;
        return 0;
    }
    return 1;
}

#define NCUES (sizeof cues / sizeof *cues)
#define NBLOCKERS (sizeof blockers / sizeof *blockers)
/* Automaton entries: every cue part (two for "a|b"), then the blockers. */
#define NMASKS (sizeof masks / sizeof *masks)
#define NENTRIES (2 * NCUES + NBLOCKERS + NMASKS)
#define NONE UINT32_MAX

/* Built once by rule_init; read-only afterwards. */
static match_set *rule_set;         /* NULL when compiling failed */
static tss_t rule_hits;             /* each thread's match_hits */
static int rule_hits_ok;            /* whether rule_hits was created */
static uint32_t cue_head[NCUES];    /* entry of the term, or of a in "a|b" */
static uint32_t cue_tail[NCUES];    /* entry of b in "a|b", or NONE */
static uint32_t first_blocker;      /* entry of blockers[0] */
static uint32_t first_mask;         /* entry of masks[0] */
static uint32_t mask_cue[NMASKS];   /* the cue index of each mask */
static uint32_t nentries;           /* entries compiled */
static uint32_t drill_entry;        /* entry of "演练" */
static const char *terms[NENTRIES]; /* the term of each entry */
static char parts[NCUES][2][64];    /* the split cue parts */
static once_flag rule_once = ONCE_FLAG_INIT;

static void hits_free(void *p)
{
    match_hits_free(p);
    free(p);
}

static void rule_init(void)
{
    match_entry ent[NENTRIES];
    uint32_t n = 0;
    for (size_t i = 0; i < NCUES; i++) {
        const char *bar = strchr(cues[i], '|');
        size_t fl = bar ? (size_t)(bar - cues[i]) : strlen(cues[i]);
        if (fl >= sizeof parts[i][0] || (bar && strlen(bar + 1) >= sizeof parts[i][1]))
            return;
        memcpy(parts[i][0], cues[i], fl);
        parts[i][0][fl] = '\0';
        cue_head[i] = n;
        ent[n++] = (match_entry){parts[i][0], NULL, 0};
        cue_tail[i] = NONE;
        if (bar) {
            strcpy(parts[i][1], bar + 1);
            cue_tail[i] = n;
            ent[n++] = (match_entry){parts[i][1], NULL, 0};
        }
    }
    first_blocker = n;
    drill_entry = NONE;
    for (size_t i = 0; i < NBLOCKERS; i++) {
        if (strcmp(blockers[i], "演练") == 0)
            drill_entry = n;
        ent[n++] = (match_entry){blockers[i], NULL, 0};
    }
    first_mask = n;
    for (size_t i = 0; i < NMASKS; i++) {
        mask_cue[i] = NONE;
        for (size_t c = 0; c < NCUES; c++)
            if (strcmp(masks[i].cue, cues[c]) == 0)
                mask_cue[i] = (uint32_t)c;
        ent[n++] = (match_entry){masks[i].term, NULL, 0};
    }
    for (uint32_t k = 0; k < n; k++)
        terms[k] = ent[k].head;
    nentries = n;
    if (tss_create(&rule_hits, hits_free) != thrd_success)
        return;
    rule_hits_ok = 1;
    match_set *m;
    if (match_compile(ent, n, &m, NULL) == NY_OK)
        rule_set = m;
}

/* This thread's hit list, or NULL when none can be had. */
static match_hits *thread_hits(void)
{
    match_hits *h = tss_get(rule_hits);
    if (h)
        return h;
    h = malloc(sizeof *h);
    if (!h)
        return NULL;
    *h = (match_hits)MATCH_HITS_INIT;
    if (tss_set(rule_hits, h) != thrd_success) {
        free(h);
        return NULL;
    }
    return h;
}

/* The decision read off hits of a scan in which the rule's entries are
 * base .. base + nentries - 1 (other entries are skipped). */
static int cue_by_hits(const char *text, const match_hit *v, size_t n, uint32_t base, int urgent)
{
    /* Per entry: the end of its first occurrence and the start of its last
     * (hits come in order of end offset, and all occurrences of one term
     * have its length, so the first to end is also the first to start). */
    size_t k0 = 0; /* the first hit of the rule's: none (most messages) decides at once */
    while (k0 < n && (v[k0].entry < base || v[k0].entry - base >= nentries))
        k0++;
    if (k0 == n)
        return urgent != 0;
    uint32_t first_end[NENTRIES], last_start[NENTRIES];
    memset(first_end, 0xFF, nentries * sizeof *first_end);
    for (size_t k = k0; k < n; k++) {
        const match_hit *x = &v[k];
        uint32_t e = x->entry - base;
        if (x->entry < base || e >= nentries)
            continue;
        if (first_end[e] == NONE)
            first_end[e] = x->end;
        last_start[e] = x->start;
    }
    int cue = urgent != 0;
    for (size_t i = 0; !cue && i < NCUES; i++) {
        uint32_t a = first_end[cue_head[i]], b = cue_tail[i];
        cue = a != NONE && (b == NONE || (first_end[b] != NONE && last_start[b] >= a));
        for (uint32_t j = 0; cue && j < NMASKS; j++)
            cue = !(mask_cue[j] == i && first_end[first_mask + j] != NONE);
    }
    if (!cue)
        return 0;
    for (uint32_t e = first_blocker; e < first_mask; e++) {
        if (first_end[e] == NONE)
            continue;
        if (e == drill_entry && drill_denied(text, text + first_end[e] - strlen("演练")))
            continue;
        return 0;
    }
    return 1;
}

int model_emergency_cue(const char *text, size_t len, int urgent)
{
    call_once(&rule_once, rule_init);
    match_hits *h = rule_set && rule_hits_ok ? thread_hits() : NULL;
    if (!h || match_scan(rule_set, text, len, h, NULL) != NY_OK)
        return cue_by_search(text, len, urgent);
    return cue_by_hits(text, h->v, h->n, 0, urgent);
}

size_t model_emergency_terms(const char *const **out)
{
    call_once(&rule_once, rule_init);
    *out = terms;
    return rule_set ? nentries : 0;
}

int model_emergency_cue_hits(const char *text, const struct match_hit *hits, size_t nhits,
                             uint32_t base, int urgent)
{
    call_once(&rule_once, rule_init);
    return cue_by_hits(text, hits, nhits, base, urgent);
}
