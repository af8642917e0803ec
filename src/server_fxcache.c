/* server_fxcache.c - the targets the ingest effects read, remembered per
 * request thread for at most a second.
 *
 * Before each commit, server_effects_resolve reads every group of a request
 * (its target and its unit: one read) and every staff member a new lead
 * notifies (one read each), some 29 thousand instructions a single-message
 * request with a lead, on tables that change rarely (a target set through
 * `nuanyang outbox target` or `outbox rebase`, a group moved to another
 * unit). Each pool thread keeps what it read in a table of its own (no
 * lock: server_worker.fxc), direct-mapped by group id and by a hash of the
 * account, and uses an entry for SERVER_FXCACHE_MS from the moment its read
 * began: the rule of the connectors' memory (server_ingest.c), so a change
 * reaches every request begun a second later. A group's entry also names
 * the unit the server had for it; when the server's group table (reloaded
 * live) says another unit, the entry is not used. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_fxcache.h"

/* Entries: groups (the district has 851) and staff members. */
#define GROUPS 1024
#define STAFF 512

struct group_entry {
    long long at; /* when its read began; 0 = empty */
    char unit_code[32];
    fxc_group g;
};

struct staff_entry {
    long long at;
    char account[64];
    fxc_staff s;
};

struct server_fxcache {
    struct group_entry group[GROUPS];
    struct staff_entry staff[STAFF];
};

long long server_fxcache_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static size_t staff_slot(const char *account)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = account; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h % STAFF);
}

static int fresh(long long at, long long now_ms)
{
    return at && now_ms - at <= SERVER_FXCACHE_MS;
}

static server_fxcache *made(server_fxcache **c)
{
    if (!*c)
        *c = calloc(1, sizeof **c);
    return *c;
}

int server_fxcache_group(const server_fxcache *c, int64_t id, const char *unit_code,
                         long long now_ms, fxc_group *out)
{
    const struct group_entry *x = c ? &c->group[(uint64_t)id % GROUPS] : NULL;
    if (!x || !fresh(x->at, now_ms) || x->g.id != id || strcmp(x->unit_code, unit_code) != 0)
        return 0;
    *out = x->g;
    return 1;
}

void server_fxcache_put_group(server_fxcache **c, const char *unit_code, const fxc_group *g,
                              long long read_ms)
{
    size_t n = strlen(unit_code);
    if (n >= sizeof c[0]->group[0].unit_code || !made(c))
        return;
    struct group_entry *x = &(*c)->group[(uint64_t)g->id % GROUPS];
    x->at = read_ms ? read_ms : 1;
    memcpy(x->unit_code, unit_code, n + 1);
    x->g = *g;
}

int server_fxcache_staff(const server_fxcache *c, const char *account, long long now_ms,
                         fxc_staff *out)
{
    const struct staff_entry *x = c ? &c->staff[staff_slot(account)] : NULL;
    if (!x || !fresh(x->at, now_ms) || strcmp(x->account, account) != 0)
        return 0;
    *out = x->s;
    return 1;
}

void server_fxcache_put_staff(server_fxcache **c, const char *account, const fxc_staff *s,
                              long long read_ms)
{
    size_t n = strlen(account);
    if (n >= sizeof c[0]->staff[0].account || !made(c))
        return;
    struct staff_entry *x = &(*c)->staff[staff_slot(account)];
    x->at = read_ms ? read_ms : 1;
    memcpy(x->account, account, n + 1);
    x->s = *s;
}

void server_fxcache_free(server_fxcache *c)
{
    free(c);
}
