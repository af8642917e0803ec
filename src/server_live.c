/* server_live.c - the server's live data: the triage engine and the table
 * of chat groups, rebuilt from the database while requests keep running.
 *
 * Both are built together from one store handle (server_live_build) and
 * swapped in together (server_live_publish). The engine is reference
 * counted: the live data holds one reference and every worker's triage
 * workspace another, so a request in flight finishes on the engine it
 * started with and the old engine is closed when its last workspace moves
 * on. Workers move on at the start of their next request
 * (server_live_refresh, called before routing), never in the middle of one.
 * Group tables are small and replaced rarely (an import), so a replaced
 * table is kept until the server stops: a pointer from server_group_find
 * stays valid for the whole request.
 *
 * What the data was built from is summarised in a signature (the cache
 * versions of lexicon, policies and groups, and the counts and last ids of
 * groups, staff and units; store_knowledge.h). At most once a second, one
 * request compares it with the database's and rebuilds when it differs: a
 * group imported by `nuanyang import`, a policy changed on another node or
 * a staff member added are seen within a second, without a restart. A
 * change made through this server's own API rebuilds at once, inside the
 * writing transaction, so an edit that would break the assistant is refused
 * and rolled back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_int.h"
#include "log.h"
#include "store_knowledge.h"

/* Milliseconds between two checks of the database's signature. */
#define LIVE_CHECK_MS 1000

typedef struct live_engine {
    triage_engine *en;
    atomic_int refs;
} live_engine;

/* A slot of the groups' hash index: the hash of an external id and the
 * group's index + 1 (0: empty). */
typedef struct group_slot {
    uint32_t hash, at;
} group_slot;

typedef struct group_table {
    server_group *g; /* sorted by external id, then id */
    size_t n, cap;
    group_slot *slot; /* open addressing, mask + 1 slots, at most half full */
    size_t mask;
    struct group_table *older; /* replaced tables, freed at stop */
} group_table;

struct server_live {
    pthread_mutex_t lock;   /* guards cur, groups' list and sig */
    pthread_mutex_t reload; /* one rebuild at a time */
    live_engine *cur;
    atomic_long gen; /* bumped by each publish */
    _Atomic(group_table *) groups;
    char sig[STORE_SIGNATURE_MAX];
    atomic_llong next_check_ms;
};

struct server_live_build {
    live_engine *eng;
    group_table *groups;
    char sig[STORE_SIGNATURE_MAX];
};

static void engine_release(live_engine *x)
{
    if (x && atomic_fetch_sub(&x->refs, 1) == 1) {
        triage_close(x->en);
        free(x);
    }
}

static void table_free(group_table *t)
{
    for (size_t i = 0; t && i < t->n; i++) {
        free(t->g[i].external_id);
        free(t->g[i].kind);
        free(t->g[i].unit_code);
    }
    if (t) {
        free(t->g);
        free(t->slot);
    }
    free(t);
}

/* FNV-1a of the NUL-terminated s. */
static uint32_t id_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Indexes t's (sorted) groups by external id; the first of a repeated id,
 * the one with the lowest id, is the one found. */
static int table_index(group_table *t)
{
    size_t size = 16;
    while (size < 2 * t->n)
        size *= 2;
    if (!(t->slot = calloc(size, sizeof *t->slot)))
        return NY_ERR;
    t->mask = size - 1;
    for (size_t i = 0; i < t->n; i++) {
        uint32_t h = id_hash(t->g[i].external_id);
        size_t k = h & t->mask;
        while (t->slot[k].at && strcmp(t->g[t->slot[k].at - 1].external_id, t->g[i].external_id))
            k = (k + 1) & t->mask;
        if (!t->slot[k].at)
            t->slot[k] = (group_slot){h, (uint32_t)i + 1};
    }
    return NY_OK;
}

/* ---- building -------------------------------------------------------------- */

static int on_group(void *ctx, const store_group *g)
{
    group_table *t = ctx;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        server_group *p = realloc(t->g, cap * sizeof *p);
        if (!p)
            return NY_ERR;
        t->g = p;
        t->cap = cap;
    }
    server_group *x = &t->g[t->n];
    x->external_id = strdup(g->external_id);
    x->kind = strdup(g->kind);
    x->unit_code = strdup(g->unit_code);
    x->id = g->id;
    t->n++;
    return x->external_id && x->kind && x->unit_code ? NY_OK : NY_ERR;
}

static int by_external_id(const void *a, const void *b)
{
    const server_group *x = a, *y = b;
    int c = strcmp(x->external_id, y->external_id);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

int server_live_build(server *sv, store *db, server_live_build_t **out, ny_err *e)
{
    *out = NULL;
    server_live_build_t *b = calloc(1, sizeof *b);
    if (!b || !(b->eng = calloc(1, sizeof *b->eng)) ||
        !(b->groups = calloc(1, sizeof *b->groups))) {
        server_live_build_free(b);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    atomic_init(&b->eng->refs, 1);
    int rc = store_data_signature(db, b->sig, sizeof b->sig, e);
    triage_opts to = {sv->o.data_dir, NULL, db};
    if (rc == NY_OK)
        rc = triage_open(&to, &b->eng->en, e);
    if (rc == NY_OK) {
        rc = store_groups_each(db, on_group, b->groups, e);
        if (rc == NY_ERR && !e->msg[0])
            ny_err_set(e, rc, "out of memory reading the chat groups");
    }
    if (rc != NY_OK) {
        server_live_build_free(b);
        return rc;
    }
    if (b->groups->n)
        qsort(b->groups->g, b->groups->n, sizeof *b->groups->g, by_external_id);
    if (table_index(b->groups) != NY_OK) {
        server_live_build_free(b);
        return ny_err_set(e, NY_ERR, "out of memory indexing the chat groups");
    }
    *out = b;
    return NY_OK;
}

void server_live_build_free(server_live_build_t *b)
{
    if (!b)
        return;
    if (b->eng)
        engine_release(b->eng);
    table_free(b->groups);
    free(b);
}

void server_live_publish(server *sv, server_live_build_t *b)
{
    struct server_live *l = sv->live;
    pthread_mutex_lock(&l->lock);
    live_engine *old = l->cur;
    l->cur = b->eng;
    b->groups->older = atomic_load(&l->groups);
    atomic_store(&l->groups, b->groups);
    memcpy(l->sig, b->sig, sizeof l->sig);
    atomic_fetch_add(&l->gen, 1);
    pthread_mutex_unlock(&l->lock);
    engine_release(old);
    free(b);
}

/* ---- life ------------------------------------------------------------------- */

int server_live_start(server *sv, store *db, ny_err *e)
{
    struct server_live *l = calloc(1, sizeof *l);
    if (!l)
        return ny_err_set(e, NY_ERR, "out of memory");
    pthread_mutex_init(&l->lock, NULL);
    pthread_mutex_init(&l->reload, NULL);
    sv->live = l;
    server_live_build_t *b;
    int rc = server_live_build(sv, db, &b, e);
    if (rc == NY_OK)
        server_live_publish(sv, b);
    return rc;
}

void server_live_free(server *sv)
{
    struct server_live *l = sv->live;
    if (!l)
        return;
    engine_release(l->cur);
    for (group_table *t = atomic_load(&l->groups), *older; t; t = older) {
        older = t->older;
        table_free(t);
    }
    pthread_mutex_destroy(&l->lock);
    pthread_mutex_destroy(&l->reload);
    free(l);
    sv->live = NULL;
}

/* ---- workers ------------------------------------------------------------------ */

int server_live_ws(server *sv, server_worker *w, ny_err *e)
{
    struct server_live *l = sv->live;
    pthread_mutex_lock(&l->lock);
    live_engine *eng = l->cur;
    atomic_fetch_add(&eng->refs, 1);
    long gen = atomic_load(&l->gen);
    pthread_mutex_unlock(&l->lock);
    triage_ws *ws;
    int rc = triage_ws_new(eng->en, &ws, e);
    if (rc != NY_OK) {
        engine_release(eng);
        return rc;
    }
    server_live_ws_free(w);
    w->ws = ws;
    w->eng = eng;
    w->gen = gen;
    return NY_OK;
}

void server_live_ws_free(server_worker *w)
{
    triage_ws_free(w->ws);
    engine_release(w->eng);
    w->ws = NULL;
    w->eng = NULL;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int server_live_reload(server *sv, store *db, ny_err *e)
{
    server_live_build_t *b;
    pthread_mutex_lock(&sv->live->reload);
    int rc = server_live_build(sv, db, &b, e);
    if (rc == NY_OK)
        server_live_publish(sv, b);
    pthread_mutex_unlock(&sv->live->reload);
    return rc;
}

/* One JSON line on stderr, like the access log. */

void server_live_refresh(server *sv)
{
    struct server_live *l = sv->live;
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    if (!w)
        return; /* the route answers 503 when it needs the database */
    long long now = now_ms(), due = atomic_load(&l->next_check_ms);
    if (now >= due &&
        atomic_compare_exchange_strong(&l->next_check_ms, &due, now + LIVE_CHECK_MS)) {
        char sig[STORE_SIGNATURE_MAX];
        if (store_data_signature(w->db, sig, sizeof sig, &e) == NY_OK) {
            pthread_mutex_lock(&l->lock);
            int changed = strcmp(sig, l->sig) != 0;
            pthread_mutex_unlock(&l->lock);
            if (changed && server_live_reload(sv, w->db, &e) != NY_OK)
                log_event("error", "reloading the assistant failed", "error", e.msg, NULL);
        }
    }
    if (w->gen != atomic_load(&l->gen) && server_live_ws(sv, w, &e) != NY_OK)
        log_event("error", "a new triage workspace failed", "error", e.msg, NULL);
}

long server_live_generation(const server *sv)
{
    return atomic_load(&sv->live->gen);
}

const server_group *server_group_find(const server *sv, const char *external_id)
{
    const group_table *t = atomic_load(&sv->live->groups);
    uint32_t h = id_hash(external_id);
    for (size_t k = h & t->mask; t->slot[k].at; k = (k + 1) & t->mask) {
        const server_group *g = &t->g[t->slot[k].at - 1];
        if (t->slot[k].hash == h && strcmp(g->external_id, external_id) == 0)
            return g;
    }
    return NULL;
}
