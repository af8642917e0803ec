/* server_int.h - what the files of the server module share (server.c,
 * server_http.c, server_ingest.c); not for use outside the module. */
#ifndef NY_SERVER_INT_H
#define NY_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server.h"
#include "store.h"
#include "triage.h"

/* Most messages one ingest request may carry. */
#define SERVER_MAX_BATCH 1000

/* Upper bounds (seconds) of the triage latency histogram buckets. */
#define SERVER_NBUCKETS 9
extern const double server_buckets[SERVER_NBUCKETS];

/* HTTP status codes counted by /metrics; others count as the last entry. */
#define SERVER_NSTATUS 12
extern const int server_statuses[SERVER_NSTATUS];

typedef struct server_metrics {
    atomic_long ingested, duplicates, leads, requests_rejected;
    atomic_long triage_count, triage_us_sum;
    atomic_long triage_bucket[SERVER_NBUCKETS + 1]; /* last: +Inf */
    atomic_long status[SERVER_NSTATUS];
} server_metrics;

/* One chat group as ingest needs it; strings owned by the table. */
typedef struct server_group {
    char *external_id, *kind, *unit_code;
    int64_t id;
} server_group;

/* A worker thread's own resources, made on its first request. */
typedef struct server_worker {
    store *db;
    triage_ws *ws;
    struct server_worker *next;
} server_worker;

struct server {
    server_opts o;
    triage_engine *engine;
    server_group *groups; /* sorted by external_id */
    size_t ngroups;
    server_metrics m;
    atomic_int in_flight;
    pthread_mutex_t lock;   /* guards workers */
    server_worker *workers; /* every worker made, closed by server_stop */
    struct MHD_Daemon *daemon;
    unsigned short port;
    char engine_name[16];
    int schema_version;
};

/* The calling thread's worker (store handle and triage workspace), made on
 * first use. NULL with *e filled when the database cannot be opened. */
server_worker *server_worker_get(server *sv, ny_err *e);

/* The group with this external id, or NULL. */
const server_group *server_group_find(const server *sv, const char *external_id);

/* A response being built by a route: status, JSON body (owned) and an
 * optional Allow header for 405. */
typedef struct server_reply {
    int status;
    char *body;
    size_t len;
    const char *content_type;
    const char *allow;
} server_reply;

/* Sets r to the JSON error {"error":msg,"field":field|null,"index":index|null}
 * (index < 0 = null) with status. Returns status. */
int server_error(server_reply *r, int status, const char *msg, const char *field, long index);

/* Sets r to the JSON document j (stolen) with status 200. */
int server_json(server_reply *r, json_t *j);

/* Header lookup for the request being handled. */
typedef const char *(*server_header_fn)(void *conn, const char *name);

/* POST /api/v1/messages: body of len bytes; hdr reads request headers. */
void server_ingest(server *sv, void *conn, server_header_fn hdr, const char *body, size_t len,
                   server_reply *r);

/* Parses an ISO-8601 time with offset ("2026-05-01T08:30:00+08:00", "…Z",
 * optional fraction) into Unix seconds. NY_OK or NY_EINVAL. */
int server_parse_time(const char *s, int64_t *out);

/* server_http.c: starts libmicrohttpd on sv->o (sets sv->daemon and
 * sv->port; NY_EUNAVAIL when it cannot bind), stops accepting new
 * connections, and stops the daemon (joins its threads). */
int server_http_start(server *sv, ny_err *e);
void server_http_quiesce(server *sv);
void server_http_stop(server *sv);

/* Records one triage latency in the histogram. */
void server_observe_triage(server_metrics *m, double seconds);

#endif
