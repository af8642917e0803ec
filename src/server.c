/* server.c - the life of the nuanyang server: start, per-thread workers,
 * graceful stop.
 *
 * server_start reads the database once (engine name and schema version;
 * the triage engine and the chat groups are live data, see server_live.c),
 * then starts the group committer (server_commit.c) and libmicrohttpd (server_http.c) with a
 * thread pool. Each pool thread makes its own worker — a store handle and a triage workspace — on
 * its first request and keeps it for the life of the server; server_stop stops accepting, waits for
 * requests in flight (ingest requests suspended on the group commit among them), closes the
 * committer to new suspended requests and waits until each is resumed, stops the pool, and only
 * then stops the committer and closes the workers' stores, so no request loses its database under
 * it. */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "server_cases.h"
#include "server_fxcache.h"
#include "server_kpi_memo.h"
#include "server_int.h"

static _Thread_local server *tl_server;
static _Thread_local server_worker *tl_worker;

server_worker *server_worker_get(server *sv, ny_err *e)
{
    if (tl_server == sv && tl_worker)
        return tl_worker;
    server_worker *w = calloc(1, sizeof *w);
    if (!w) {
        ny_err_set(e, NY_ERR, "out of memory");
        return NULL;
    }
    if (store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &w->db, e) != NY_OK) {
        free(w);
        return NULL;
    }
    if (server_live_ws(sv, w, e) != NY_OK) {
        store_close(w->db);
        free(w);
        return NULL;
    }
    pthread_mutex_lock(&sv->lock);
    w->next = sv->workers;
    sv->workers = w;
    pthread_mutex_unlock(&sv->lock);
    tl_server = sv;
    tl_worker = w;
    return w;
}

int64_t server_now(server *sv)
{
    if (sv->o.test_clock) {
        long long t = atomic_load(&sv->test_now);
        if (t)
            return (int64_t)t;
    }
    return (int64_t)time(NULL);
}

static int load(server *sv, ny_err *e)
{
    store *db;
    int rc = store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &db, e);
    if (rc != NY_OK)
        return rc;
    rc = server_live_start(sv, db, e);
    if (rc == NY_OK)
        rc = store_schema_version(db, &sv->schema_version, e);
    snprintf(sv->engine_name, sizeof sv->engine_name, "%s", store_engine(db));
    store_close(db);
    return rc;
}

/* Whether requests wait for their group commit: the delivery worker defers
 * its turns meanwhile (outbox_opts.busy). */
static int ingest_waiting(void *ctx)
{
    server *sv = ctx;
    return atomic_load(&sv->commit.reserved) > 0;
}

/* The shared group etiquette, this run's merge-key prefix and the
 * delivery worker (server_effects.c, outbox.h). */
static int start_outbound(server *sv, ny_err *e)
{
    triage_etiquette_opts eo = triage_etiquette_defaults();
    eo.bot_sender_id = sv->o.bot_id;
    uint64_t nonce = 0;
    if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce)
        nonce = (uint64_t)time(NULL);
    snprintf(sv->fx_node, sizeof sv->fx_node, "%016llx", (unsigned long long)nonce);
    int rc = triage_etiquette_new(&eo, &sv->etiquette, e);
    outbox_opts oo = sv->o.outbox;
    oo.busy = ingest_waiting;
    oo.busy_ctx = sv;
    if (rc == NY_OK && !sv->o.no_outbox)
        rc = outbox_start(sv->o.db_uri, &oo, &sv->outbox, e);
    return rc;
}

static void free_server(server *sv)
{
    outbox_stop(sv->outbox);
    triage_etiquette_free(sv->etiquette);
    for (server_worker *w = sv->workers, *next; w; w = next) {
        next = w->next;
        server_live_ws_free(w);
        server_conns_free(w);
        server_fxcache_free(w->fxc);
        store_close(w->db);
        free(w);
    }
    server_live_free(sv);
    server_relay_stop(sv);
    server_stream_free(sv);
    server_cases_stop(sv);
    server_kpi_memo_free(sv);
    pthread_mutex_destroy(&sv->lock);
    server_commit_destroy(&sv->commit);
    free(sv);
}

int server_start(const server_opts *o, server **out, ny_err *e)
{
    ny_err_clear(e);
    *out = NULL;
    if (!o->db_uri || !*o->db_uri)
        return ny_err_set(e, NY_EINVAL, "no database given");
    if (o->max_body > (64u << 20))
        return ny_err_set(e, NY_EINVAL, "the body limit must be at most 64 MiB");
    server *sv = calloc(1, sizeof *sv);
    if (!sv)
        return ny_err_set(e, NY_ERR, "out of memory");
    sv->o = *o;
    if (!sv->o.max_body)
        sv->o.max_body = 1u << 20;
    if (!sv->o.max_connections)
        sv->o.max_connections = 1024;
    if (!sv->o.timeout_s)
        sv->o.timeout_s = 30;
    if (!sv->o.listen_addr)
        sv->o.listen_addr = "127.0.0.1";
    pthread_mutex_init(&sv->lock, NULL);
    server_commit_init(&sv->commit);
    int64_t start = 0;
    int rc = NY_OK;
    if (o->test_clock && o->test_start && server_parse_time(o->test_start, &start) != NY_OK)
        rc = ny_err_set(e, NY_EINVAL, "--test-clock: not an ISO-8601 time: %s", o->test_start);
    atomic_store(&sv->test_now, (long long)start);
    if (rc == NY_OK)
        rc = load(sv, e);
    if (rc == NY_OK)
        rc = server_commit_start(sv, e);
    if (rc == NY_OK)
        rc = server_stream_start(sv, e);
    if (rc == NY_OK)
        rc = start_outbound(sv, e);
    if (rc == NY_OK)
        rc = server_relay_start(sv, e);
    if (rc == NY_OK)
        rc = server_cases_start(sv, e);
    if (rc == NY_OK)
        rc = server_kpi_memo_start(sv, e);
    if (rc == NY_OK)
        rc = server_http_start(sv, e);
    if (rc != NY_OK) {
        free_server(sv);
        return rc;
    }
    *out = sv;
    return NY_OK;
}

unsigned short server_port(const server *sv)
{
    return sv->port;
}

void server_stop(server *sv, unsigned grace_s)
{
    if (!sv)
        return;
    atomic_store(&sv->stopping, 1);
    server_relay_stop(sv);
    server_stream_stop(sv);
    server_http_quiesce(sv);
    struct timespec tick = {0, 20 * 1000 * 1000};
    for (unsigned waited = 0; atomic_load(&sv->in_flight) > 0 && waited < grace_s * 50; waited++)
        nanosleep(&tick, NULL);
    server_commit_close(sv); /* every suspended request resumed: the daemon may stop */
    server_http_stop(sv);
    free_server(sv);
}
