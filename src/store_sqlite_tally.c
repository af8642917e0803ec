/* store_sqlite_tally.c - the statistics of one batch of messages, counted
 * in memory while the batch is stored and written as one stat_deltas row per
 * unit and day when it ends (SQLite driver).
 *
 * Schema 7 counted every message with a row trigger: one stat_deltas row per
 * message, built by a join on chat_groups and a LIKE over the triage JSON,
 * about as expensive as storing the message itself. Schema 9 dropped that
 * trigger on SQLite; the message batches of store_sqlite_msg.c, the only
 * places that insert messages, tallies instead: sq_tally_groups reads the
 * units of a batch's groups in one range read of chat_groups when their
 * ids lie close together (a batch of 1,000 over the demo's 851 groups: one
 * statement instead of some 700), sq_tally_group resolves a message's
 * group to its unit once per batch (and is the group check that names a
 * missing group), sq_tally_add counts the stored message under its
 * unit and China-time day with exactly the columns and rules of the old
 * trigger, and sq_tally_flush writes the sums inside the batch's own atomic
 * scope (sixteen rows a statement while sixteen are left), so the figures
 * still change in the same transaction as the rows and a failing batch
 * leaves neither. store_stats.c folds these rows like any others.
 *
 * Schema 15 did the same for leads: sq_leads_count counts inserted leads per
 * unit and day (the leads column of the old trigger's row) and writes one
 * row each (sixteen a statement while sixteen are left); sq_lead_put_batch calls it at the end of
 * its batch, and store_effects.c, which inserts the ingest's leads with portable SQL, through
 * store_leads_count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store_sqlite.h"

/* Counter columns of stat_deltas in the order of TALLY_INSERT below. */
enum {
    T_MESSAGES,
    T_REPLIES,
    T_ANSWERED,
    T_INTENT,
    T_CATEGORY = T_INTENT + 6,
    T_N = T_CATEGORY + 8
};

#define TALLY_INSERT                                                                               \
    "INSERT INTO stat_deltas(unit_id,day,messages,replies,answered,i_consult,i_help,i_report,"     \
    "i_emergency,i_complaint,i_other,c_urban,c_environment,c_transport,c_education,c_labour,"      \
    "c_commerce,c_health,c_none) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"   \
    "?17,?18,?19)"

/* The same INSERT with TALLY_CHUNK rows: a batch of the district's mix has a
 * row for about every third message, and one statement for sixteen rows
 * costs about half as much a row as one for each. */
#define TALLY_CHUNK 16
#define TALLY_ROW1 "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define TALLY_ROW4 TALLY_ROW1 "," TALLY_ROW1 "," TALLY_ROW1 "," TALLY_ROW1
#define TALLY_INSERT_CHUNK                                                                         \
    "INSERT INTO stat_deltas(unit_id,day,messages,replies,answered,i_consult,i_help,i_report,"     \
    "i_emergency,i_complaint,i_other,c_urban,c_environment,c_transport,c_education,c_labour,"      \
    "c_commerce,c_health,c_none) VALUES" TALLY_ROW4 "," TALLY_ROW4 "," TALLY_ROW4 "," TALLY_ROW4

struct tally_group { /* chat group id (0: free slot) → unit id */
    int64_t id, unit;
};

struct tally_day { /* one unit and day; used slots are listed in order */
    int64_t unit, day, n[T_N];
};

struct sq_tally {
    size_t cap; /* slots in each table: a power of two, at least twice the batch */
    struct tally_group *groups;
    size_t ngroups;         /* groups kept: at most cap / 2, so that probes end */
    struct tally_day *days; /* set when first used: only used[] starts zeroed */
    unsigned char *used;
    size_t *order, norder; /* used day slots in first-use order */
};

sq_tally *sq_tally_new(size_t n)
{
    sq_tally *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = 16;
    while (t->cap < 2 * n)
        t->cap *= 2;
    t->groups = calloc(t->cap, sizeof *t->groups);
    t->days = malloc(t->cap * sizeof *t->days);
    t->used = calloc(t->cap, 1);
    t->order = malloc(t->cap * sizeof *t->order);
    if (!t->groups || !t->days || !t->used || !t->order) {
        sq_tally_free(t);
        return NULL;
    }
    return t;
}

void sq_tally_free(sq_tally *t)
{
    if (!t)
        return;
    free(t->groups);
    free(t->days);
    free(t->used);
    free(t->order);
    free(t);
}

static size_t mix(uint64_t a, uint64_t b, size_t cap)
{
    uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    x ^= x >> 29;
    return (size_t)x & (cap - 1);
}

/* The slot of group_id in t->groups: its own, or the free one it goes in. */
static size_t group_slot(const sq_tally *t, int64_t group_id)
{
    size_t k = mix((uint64_t)group_id, 0, t->cap);
    while (t->groups[k].id && t->groups[k].id != group_id)
        k = (k + 1) & (t->cap - 1);
    return k;
}

/* Keeps group_id's unit (ids are positive; 0 marks a free slot). */
static void group_keep(sq_tally *t, int64_t group_id, int64_t unit_id)
{
    size_t k = group_slot(t, group_id);
    if (group_id > 0 && !t->groups[k].id && t->ngroups < t->cap / 2) {
        t->groups[k].id = group_id;
        t->groups[k].unit = unit_id;
        t->ngroups++;
    }
}

int sq_tally_groups(struct sq *h, sq_tally *t, const store_message *m, size_t n, ny_err *e)
{
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = m[i].group_id > 0 && m[i].group_id < lo ? m[i].group_id : lo;
        hi = m[i].group_id > hi ? m[i].group_id : hi;
    }
    if (n < 2 || hi < lo || (uint64_t)(hi - lo) >= t->cap / 2)
        return NY_OK; /* one message, or ids too sparse: each read on first use */
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_GROUP_UNITS,
                     "SELECT id,unit_id FROM chat_groups WHERE id BETWEEN ?1 AND ?2", &st, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    while ((rc = sq_next(h, st, e)) == 1)
        group_keep(t, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
    sq_reset(st);
    return rc < 0 ? rc : NY_OK;
}

int sq_tally_group(struct sq *h, sq_tally *t, const store_message *m, long i, int64_t *unit_id,
                   ny_err *e)
{
    size_t k = group_slot(t, m->group_id);
    if (t->groups[k].id) {
        *unit_id = t->groups[k].unit;
        return NY_OK;
    }
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_GROUP_UNIT, "SELECT unit_id FROM chat_groups WHERE id=?1", &st, e);
    if (rc != NY_OK) {
        if (e)
            e->index = i;
        return rc;
    }
    sqlite3_bind_int64(st, 1, m->group_id);
    rc = sq_next(h, st, e);
    if (rc == 1)
        *unit_id = sqlite3_column_int64(st, 0);
    sq_reset(st);
    if (rc == 0)
        return ny_err_set_at(e, NY_ENOTFOUND, i, "message %s/%s: unknown group id %lld",
                             m->connector ? m->connector : "(null)",
                             m->external_id ? m->external_id : "(null)", (long long)m->group_id);
    if (rc != 1) {
        if (e)
            e->index = i;
        return rc;
    }
    group_keep(t, m->group_id, *unit_id);
    return NY_OK;
}

/* Index of value in list (NULL-terminated), or -1; NULL matches nothing. */
static int index_of(const char *const *list, const char *value)
{
    return value ? domain_index(list, value) : -1;
}

void sq_tally_add(sq_tally *t, int64_t unit_id, const store_message *m)
{
    int64_t day = (m->sent_at + 28800) / 86400; /* as SQL's integer division */
    size_t k = mix((uint64_t)unit_id, (uint64_t)day, t->cap);
    while (t->used[k] && (t->days[k].unit != unit_id || t->days[k].day != day))
        k = (k + 1) & (t->cap - 1);
    struct tally_day *d = &t->days[k];
    if (!t->used[k]) {
        t->used[k] = 1;
        *d = (struct tally_day){unit_id, day, {0}};
        t->order[t->norder++] = k;
    }
    /* the bot answered: the triage JSON has a reply that is a string */
    int replied = m->triage && strstr(m->triage, "\"reply\":\"") != NULL;
    int intent = index_of(domain_intents, m->intent);
    int category = index_of(domain_categories, m->category);
    d->n[T_MESSAGES]++;
    d->n[T_REPLIES] += replied;
    d->n[T_ANSWERED] += replied && intent == 0; /* a consultation answered */
    if (intent >= 0 && intent < 6)
        d->n[T_INTENT + intent]++;
    if (category >= 0 && category < 8)
        d->n[T_CATEGORY + category]++;
}

/* Binds the row of d to the 2 + T_N parameters after the first base. */
static void day_bind(sqlite3_stmt *st, int base, const struct tally_day *d)
{
    sqlite3_bind_int64(st, base + 1, d->unit);
    sqlite3_bind_int64(st, base + 2, d->day);
    for (int c = 0; c < T_N; c++)
        sqlite3_bind_int64(st, base + 3 + c, d->n[c]);
}

int sq_tally_flush(struct sq *h, sq_tally *t, ny_err *e)
{
    size_t o = 0;
    for (; o + TALLY_CHUNK <= t->norder; o += TALLY_CHUNK) { /* TALLY_CHUNK rows a statement */
        sqlite3_stmt *st;
        int rc = sq_stmt(h, SQ_STAT_DELTA_CHUNK, TALLY_INSERT_CHUNK, &st, e);
        if (rc != NY_OK)
            return rc;
        for (int k = 0; k < TALLY_CHUNK; k++)
            day_bind(st, k * (2 + T_N), &t->days[t->order[o + (size_t)k]]);
        rc = sq_next(h, st, e);
        sq_reset(st);
        if (rc < 0)
            return rc;
    }
    for (; o < t->norder; o++) {
        sqlite3_stmt *st;
        int rc = sq_stmt(h, SQ_STAT_DELTA, TALLY_INSERT, &st, e);
        if (rc != NY_OK)
            return rc;
        day_bind(st, 0, &t->days[t->order[o]]);
        rc = sq_next(h, st, e);
        sq_reset(st);
        if (rc < 0)
            return rc;
    }
    return NY_OK;
}

/* One lead of sq_leads_count: its unit and day. */
struct lead_day {
    int64_t unit, day;
};

static int cmp_lead_day(const void *a, const void *b)
{
    const struct lead_day *x = a, *y = b;
    if (x->unit != y->unit)
        return x->unit < y->unit ? -1 : 1;
    return x->day < y->day ? -1 : x->day > y->day;
}

#define LEADS_ROW4 "(?,?,?),(?,?,?),(?,?,?),(?,?,?)"
#define LEADS_INSERT_CHUNK                                                                         \
    "INSERT INTO stat_deltas(unit_id,day,leads) VALUES" LEADS_ROW4 "," LEADS_ROW4 "," LEADS_ROW4   \
    "," LEADS_ROW4

int sq_leads_count(void *impl, const int64_t *unit_ids, const int64_t *created, size_t n, ny_err *e)
{
    struct sq *h = impl;
    struct lead_day one, *v = n == 1 ? &one : malloc(n * sizeof *v);
    if (!v)
        return ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = (struct lead_day){unit_ids[i], (created[i] + 28800) / 86400};
    qsort(v, n, sizeof *v, cmp_lead_day);
    size_t rows = 0; /* the sums, in place: v[k] with its count in counts[k] */
    int64_t *counts = malloc((n ? n : 1) * sizeof *counts);
    if (!counts) {
        if (v != &one)
            free(v);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].unit == v[i].unit && v[j].day == v[i].day; j++)
            ;
        v[rows] = v[i];
        counts[rows++] = (int64_t)(j - i);
    }
    int rc = NY_OK;
    for (size_t o = 0; rc == NY_OK && o < rows;) {
        int k = rows - o >= TALLY_CHUNK ? TALLY_CHUNK : 1;
        sqlite3_stmt *st;
        rc = k > 1 ? sq_stmt(h, SQ_STAT_LEADS_CHUNK, LEADS_INSERT_CHUNK, &st, e)
                   : sq_stmt(h, SQ_STAT_LEADS,
                             "INSERT INTO stat_deltas(unit_id,day,leads) VALUES(?1,?2,?3)", &st, e);
        if (rc != NY_OK)
            break;
        for (int r = 0; r < k; r++, o++) {
            sqlite3_bind_int64(st, 3 * r + 1, v[o].unit);
            sqlite3_bind_int64(st, 3 * r + 2, v[o].day);
            sqlite3_bind_int64(st, 3 * r + 3, counts[o]);
        }
        rc = sq_next(h, st, e);
        sq_reset(st);
        rc = rc < 0 ? rc : NY_OK;
    }
    free(counts);
    if (v != &one)
        free(v);
    return rc;
}
