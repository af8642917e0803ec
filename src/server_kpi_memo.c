/* server_kpi_memo.c - a memo in front of the KPI route (see
 * server_kpi_memo.h), so the command centre's dashboard, which every screen
 * in the district reloads, does not recompute the same figures from the
 * case table on each request.
 *
 * Entries are the JSON text of a 200 answer, keyed by unit code, the from
 * and to parameters as given and (without to=) the TTL-long step of
 * server_now(),
 * with the case log stamp seen before computing. The stamp is read before
 * the figures, so a write that lands in between makes the entry older than
 * its stamp says and the next request recomputes. A fixed table of slots,
 * replaced least recently used first, under one mutex; the figures
 * themselves are computed outside the lock. */
#include "server_kpi_memo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_cases.h"
#include "store_case_stamp.h"

struct slot {
    char key[160];
    int64_t stamp;
    time_t made, used;
    char *body;
    size_t len;
};

struct server_kpi_memo {
    pthread_mutex_t lock;
    struct slot s[SERVER_KPI_MEMO_SLOTS];
};

int server_kpi_memo_start(server *sv, ny_err *e)
{
    sv->kpi_memo = calloc(1, sizeof *sv->kpi_memo);
    if (!sv->kpi_memo)
        return ny_err_set(e, NY_ERR, "out of memory");
    pthread_mutex_init(&sv->kpi_memo->lock, NULL);
    return NY_OK;
}

void server_kpi_memo_free(server *sv)
{
    struct server_kpi_memo *m = sv->kpi_memo;
    if (!m)
        return;
    for (int i = 0; i < SERVER_KPI_MEMO_SLOTS; i++)
        free(m->s[i].body);
    pthread_mutex_destroy(&m->lock);
    free(m);
    sv->kpi_memo = NULL;
}

static time_t mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec;
}

/* Copies a fresh entry for key and stamp into r; 1 when served. */
static int lookup(struct server_kpi_memo *m, const char *key, int64_t stamp, server_reply *r)
{
    int served = 0;
    time_t now = mono();
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < SERVER_KPI_MEMO_SLOTS && !served; i++) {
        struct slot *s = &m->s[i];
        if (!s->body || strcmp(s->key, key) != 0)
            continue;
        if (s->stamp != stamp || now - s->made >= SERVER_KPI_MEMO_TTL)
            break;
        char *body = malloc(s->len + 1);
        if (!body)
            break;
        memcpy(body, s->body, s->len + 1);
        free(r->body);
        r->body = body;
        r->len = s->len;
        r->content_type = "application/json";
        r->status = 200;
        s->used = now;
        served = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return served;
}

/* Remembers r's body for key and stamp, in its old slot or the least
 * recently used one. A copy that cannot be made is simply not kept. */
static void keep(struct server_kpi_memo *m, const char *key, int64_t stamp, time_t made,
                 const server_reply *r)
{
    char *body = malloc(r->len + 1);
    if (!body)
        return;
    memcpy(body, r->body, r->len);
    body[r->len] = '\0';
    pthread_mutex_lock(&m->lock);
    struct slot *s = &m->s[0];
    for (int i = 0; i < SERVER_KPI_MEMO_SLOTS; i++) {
        struct slot *c = &m->s[i];
        if (c->body && strcmp(c->key, key) == 0) {
            s = c;
            break;
        }
        if (!c->body || c->used < s->used)
            s = c;
    }
    free(s->body);
    snprintf(s->key, sizeof s->key, "%s", key);
    s->stamp = stamp;
    s->made = s->used = made;
    s->body = body;
    s->len = r->len;
    pthread_mutex_unlock(&m->lock);
}

void server_kpi_memoized(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    const char *unit = server_query(call, "unit"), *from = server_query(call, "from"),
               *to = server_query(call, "to");
    char key[160];
    ny_err e;
    server_worker *w = NULL;
    int64_t stamp = 0;
    int n = snprintf(key, sizeof key, "%s|%s|%s|%lld", unit && *unit ? unit : who.id.unit_code,
                     from ? from : "", to ? to : "",
                     to && *to ? 0LL : (long long)(server_now(sv) / SERVER_KPI_MEMO_TTL));
    int usable =
        n > 0 && (size_t)n < sizeof key && (!unit || !*unit || server_in_scope(&who, unit));
    if (usable)
        w = server_worker_get(sv, &e);
    if (w && store_case_stamp(w->db, &stamp, &e) == NY_OK) {
        if (lookup(sv->kpi_memo, key, stamp, r))
            return;
        time_t made = mono();
        server_kpi(sv, call, r);
        if (r->status == 200 && r->body)
            keep(sv->kpi_memo, key, stamp, made, r);
        return;
    }
    server_kpi(sv, call, r); /* out of scope (it answers 403), or no stamp: no memo */
}
