/* server_int.h - what the files of the server module share (server.c,
 * server_http.c, server_ingest.c); not for use outside the module. */
#ifndef NY_SERVER_INT_H
#define NY_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "auth.h"
#include "server.h"
#include "store.h"
#include "triage.h"

/* Most messages one ingest request may carry. */
#define SERVER_MAX_BATCH 1000

/* Upper bounds (seconds) of the triage latency histogram buckets. */
#define SERVER_NBUCKETS 9
extern const double server_buckets[SERVER_NBUCKETS];

/* HTTP status codes counted by /metrics; others count as the last entry. */
#define SERVER_NSTATUS 14
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

/* Most requests one group commit takes. */
#define SERVER_COMMIT_MAX 256

/* Buckets of the group commit's histograms in /metrics: requests per
 * commit (le 1, 2, 4, … SERVER_COMMIT_MAX) and seconds per commit (upper
 * bounds below, then +Inf). */
#define SERVER_COMMIT_NSIZE 9
#define SERVER_COMMIT_NTIME 10
extern const double server_commit_time_buckets[SERVER_COMMIT_NTIME];

/* Group commit (server_commit.c): the queue of jobs waiting for a commit,
 * the committer thread and the store handle every group is written through
 * (the thread's only), the checkpoint thread with its own handle (SQLite),
 * and counters for /metrics. */
typedef struct server_committer {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* the committer waits here for work (idle = 1) */
    pthread_cond_t drained; /* server_commit_close waits here for reserved = 0 */
    struct server_commit_job *head, *tail;
    int idle, stop, running;
    atomic_int closing;
    atomic_long reserved; /* suspended jobs not yet done */
    pthread_t thread;
    store *db;
    store *ckpt_db; /* NULL: no checkpoint thread (PostgreSQL, or not started) */
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    int ckpt_stop;
    atomic_long commits, members, fallbacks, reruns, checkpoints;
    atomic_long wal_frames;   /* the WAL's length at the last checkpoint (SQLite) */
    atomic_long wal_restarts; /* restart checkpoints taken by the committer */
    long restart_at;          /* the committer restarts the WAL beyond this many frames */
    atomic_long size_bucket[SERVER_COMMIT_NSIZE];
    atomic_long time_bucket[SERVER_COMMIT_NTIME + 1]; /* last: +Inf */
    atomic_long time_us_sum;
} server_committer;

/* A worker thread's own resources, made on its first request. */
typedef struct server_worker {
    store *db;
    triage_ws *ws;              /* a workspace of eng */
    struct live_engine *eng;    /* the engine ws belongs to (a reference) */
    long gen;                   /* the live generation eng came from */
    struct server_conns *conns; /* connectors seen lately (server_ingest.c) */
    struct server_fxcache *fxc; /* targets read lately (server_fxcache.c) */
    struct server_worker *next;
} server_worker;

struct server {
    server_opts o;
    struct server_live *live; /* triage engine and group table (server_live.c) */
    server_metrics m;
    atomic_int in_flight;
    atomic_int stopping;    /* server_stop has begun: answers close their connection */
    pthread_mutex_t lock;   /* guards workers */
    server_worker *workers; /* every worker made, closed by server_stop */
    struct MHD_Daemon *daemon;
    unsigned short port;
    char engine_name[16];
    int schema_version;
    atomic_llong test_now; /* with o.test_clock: the time set by the test, 0 = wall clock */
    struct server_stream_hub *stream; /* open event streams (server_stream.c) */
    struct server_relay *relay;       /* events to and from other nodes (server_relay.c) */
    triage_etiquette *etiquette;      /* one for the server: every thread's messages */
    outbox_worker *outbox;            /* the delivery worker, NULL with o.no_outbox */
    char fx_node[40];                 /* this run's prefix of lead merge keys */
    server_committer commit;
    struct server_cases_state *cases; /* SLA table and case scheduler (server_cases_sched.c) */
    struct server_kpi_memo *kpi_memo; /* recent KPI answers (server_kpi_memo.c) */
};

/* The calling thread's worker (store handle and triage workspace), made on
 * first use. NULL with *e filled when the database cannot be opened. */
server_worker *server_worker_get(server *sv, ny_err *e);

/* The group with this external id, or NULL. The pointer stays valid
 * until the server stops. */
const server_group *server_group_find(const server *sv, const char *external_id);

/* ---- live data: triage engine and groups (server_live.c) -----------------
 * Rebuilt from the database without a restart; see server_live.c. */
typedef struct server_live_build server_live_build_t;

/* Builds the first engine and group table from db (server_start). */
int server_live_start(server *sv, store *db, ny_err *e);
/* Frees the live data (after every worker's workspace is freed). */
void server_live_free(server *sv);
/* Builds a new engine and group table from db, which may be inside a
 * transaction (the build sees its uncommitted writes). Errors as
 * triage_open gives them: a knowledge edit that breaks the build is
 * refused. */
int server_live_build(server *sv, store *db, server_live_build_t **out, ny_err *e);
/* Swaps a build in (taking it); requests in flight keep their engine. */
void server_live_publish(server *sv, server_live_build_t *b);
void server_live_build_free(server_live_build_t *b);
/* Build and publish, one rebuild at a time. */
int server_live_reload(server *sv, store *db, ny_err *e);
/* Called before each request is routed: at most once a second compares
 * the database's data signature and rebuilds when it changed, then moves
 * the calling thread's worker to the newest engine. Never fails a request. */
void server_live_refresh(server *sv);
/* Gives w a workspace of the newest engine (freeing its old one). */
int server_live_ws(server *sv, server_worker *w, ny_err *e);
void server_live_ws_free(server_worker *w);
/* How many engines have been published (1 after start). */
long server_live_generation(const server *sv);

/* A response being built by a route: status, JSON body (owned) and the
 * Allow header of a 405 ("" otherwise). */
typedef struct server_reply {
    int status;
    char *body;
    size_t len;
    const char *content_type;
    char allow[160];
    struct MHD_Response *stream;     /* instead of body: a streamed response (server_stream.c) */
    const char *cache_control, *csp; /* Cache-Control, Content-Security-Policy or NULL */
    char etag[48];                   /* ETag or "" */
    const char *encoding;            /* Content-Encoding (also sends Vary) or NULL */
    /* Instead of an answer now: the handler has suspended the connection
     * (server_suspend) and will resume it (server_resume); then later(sv,
     * later_ctx, r) answers into r on a pool thread. When the request ends
     * unanswered (the server stopping) it is called with r NULL and only
     * frees later_ctx. */
    void (*later)(server *sv, void *ctx, struct server_reply *r);
    void *later_ctx;
} server_reply;

/* Sets r to the JSON error {"error":msg,"field":field|null,"index":index|null}
 * (index < 0 = null) with status. Returns status. */
int server_error(server_reply *r, int status, const char *msg, const char *field, long index);

/* Sets r to the JSON document j (stolen) with status 200. */
int server_json(server_reply *r, json_t *j);

/* Most {} captures a route pattern may have. */
#define SERVER_MAX_PARAMS 4

/* One request as a route handler sees it. path params are the segments
 * matched by "{}" in the route's pattern, in order (NUL-terminated copies). */
typedef struct server_call {
    void *conn; /* the libmicrohttpd connection, for header and query */
    const char *method, *path;
    const char *body; /* NUL-terminated; "" when there is none */
    size_t len;
    char params[SERVER_MAX_PARAMS][96];
    int nparams;
} server_call;

/* Suspends call's connection: libmicrohttpd neither reads nor times it out
 * until server_resume(call->conn); the handler then returns with r->later
 * set. server_resume may be called from any thread, also before the
 * handler has returned. */
void server_suspend(const server_call *call);
void server_resume(void *conn);

/* A request header or query-string argument of call, or NULL. */
const char *server_header(const server_call *call, const char *name);
const char *server_query(const server_call *call, const char *name);

/* A route handler: answers call into r (status, body). */
typedef void (*server_handler)(server *sv, const server_call *call, server_reply *r);

/* The route table (server_routes.c): finds the handler for call's method
 * and path and runs it, or answers 404 (no such path) or 405 (path exists,
 * method not allowed; r->allow lists the allowed methods). */
void server_route(server *sv, server_call *call, server_reply *r);

/* The time the server works with: the wall clock, or with --test-clock the
 * time last set through POST /api/v1/admin/clock. Unix seconds. */
int64_t server_now(server *sv);

/* ---- staff authentication and scope (server_auth.c) ----------------------
 * Staff requests carry "Authorization: Bearer <token>" from POST
 * /api/v1/login. */

/* The staff member behind a request, with the code prefix of their subtree
 * (domain_unit_prefix of their unit: "411571" for the district, the whole
 * grid code for a grid worker). */
typedef struct server_caller {
    auth_identity id;
    char prefix[32];
    char level[16]; /* level of id.unit_code */
} server_caller;

/* Authenticates call's bearer token. NY_OK with *who filled; otherwise r is
 * answered (401 "请先登录 / login required" or "会话无效或已过期", 503 when
 * the store is unavailable) and the code is returned: the handler just
 * returns. */
int server_auth(server *sv, const server_call *call, server_caller *who, server_reply *r);

/* 1 when the unit with this code lies in who's subtree (admin, district and
 * department see the whole district), else 0. */
int server_in_scope(const server_caller *who, const char *unit_code);

/* 1 when who's role is one of the comma-separated roles ("street,district"). */
int server_role_is(const server_caller *who, const char *roles);

/* Answers 403 "无权限 / forbidden: why" and returns 403. */
int server_forbidden(server_reply *r, const char *why);

/* Answers r from a store error code: NY_ENOTFOUND 404, NY_EINVAL 422,
 * NY_EEXIST and NY_ECONFLICT 409, NY_EUNAVAIL 503, else 500; returns the
 * status. */
int server_store_error(server_reply *r, int code, const ny_err *e);

/* Parses call's body as a JSON object (UTF-8 checked). NULL with r answered
 * 400/422 when it is not one. */
json_t *server_body_object(const server_call *call, server_reply *r);

/* Route handlers of the first slice. */
void server_healthz(server *sv, const server_call *call, server_reply *r);
void server_metrics_text(server *sv, const server_call *call, server_reply *r);
void server_ingest(server *sv, const server_call *call, server_reply *r);
void server_login(server *sv, const server_call *call, server_reply *r);
void server_logout(server *sv, const server_call *call, server_reply *r);
void server_me(server *sv, const server_call *call, server_reply *r);
void server_admin_clock(server *sv, const server_call *call, server_reply *r);
void server_wecom(server *sv, const server_call *call, server_reply *r);

/* ---- ingest (server_ingest.c), shared by POST /api/v1/messages and the
 * WeCom callback (server_wecom.c) ----------------------------------------- */

/* One message after validation; strings belong to the caller (the
 * request's JSON document or the decrypted callback). */
typedef struct server_msg {
    const char *id, *sender_id, *sender_name, *text;
    char id_buf[24], sender_buf[24]; /* integer ids written as text */
    size_t text_len;
    const server_group *g;
    json_t *mentions; /* @-mentioned ids: a JSON array of strings, or NULL */
    int reply_inline; /* 1: the reply goes back in the request's answer, not the outbox */
    int64_t sent_at;
} server_msg;

/* Reads an ingest body of the usual shapes — a message {id, group,
 * sender:{id, name}, text, time} or {"messages":[…]} of at most
 * SERVER_MAX_BATCH — without jansson (server_ingest_read.c), checking each
 * message as server_ingest's check does. 1 with *out (count messages, to
 * free) whose strings point into *strs (to free); 0 for any other body or
 * any field the check would refuse, with nothing allocated: the caller
 * then parses it with jansson, which gives the answer. body is valid UTF-8
 * of len bytes. */
int server_ingest_read(const server *sv, const char *body, size_t len, server_msg **out,
                       size_t *count, char **strs);

/* Reads and checks a POST /api/v1/messages body of len bytes (NUL after
 * them): valid UTF-8, a message object or {"messages":[…]} of 1 to
 * SERVER_MAX_BATCH, every field of every message (check_message in
 * server_ingest.c). With fast, the usual shapes go through
 * server_ingest_read first; without, everything through jansson (the
 * reference the tests compare the fast reader with). 0 with *out (*count
 * messages) pointing into *doc or *strs, all three to free (the unused
 * ones NULL); otherwise r is answered (400 UTF-8 or JSON, 413 too many,
 * 422 naming the field and index) and its status returned, with nothing
 * to free. */
int server_ingest_parse(const server *sv, const char *body, size_t len, int fast, server_msg **out,
                        size_t *count, json_t **doc, char **strs, server_reply *r);

/* ---- ingest effects (server_effects.c) ------------------------------------
 * What ingested messages cause — leads, the bot's replies, staff
 * notifications — written in the transaction that stores them. */
typedef struct server_effects server_effects;

/* Room for the effects of n messages; NULL when memory runs out. */
server_effects *server_effects_new(size_t n);
void server_effects_free(server_effects *fx);

/* Notes message i of the batch, in, stored as row, as triaged into t
 * (copying what the next triage on the workspace would overwrite), with
 * what the group etiquette et will read of it (triage_etiquette_prepare);
 * row and in must live until server_effects_free. NY_OK or NY_ERR (memory). */
int server_effects_note(server_effects *fx, const triage_etiquette *et, size_t i,
                        const triage_result *t, const store_message *row, const server_msg *in);

/* Before the commit, on the request's own handle db: reads what the
 * effects of the noted messages need and no write lock protects (group
 * and staff targets, the units that will hold their cases) and builds the
 * notifications' payloads, so that apply only writes. What the thread read
 * less than a second ago is taken from *cache (its server_worker.fxc, made
 * on first use) instead. Store errors are returned. */
int server_effects_resolve(server_effects *fx, store *db, struct server_fxcache **cache, ny_err *e);

/* One request's part of an apply: its n message rows, the ids and
 * duplicate flags store_message_ingest_batch gives them, and its effects. */
typedef struct server_ingest_part {
    const store_message *rows;
    size_t n;
    int64_t *ids;
    int *dup;
    server_effects *fx;
} server_ingest_part;

/* Inside the open transaction: stores the messages of nparts requests with
 * one store_message_ingest_batch (filling each part's ids and dup), then
 * applies the group etiquette to each new message in order and writes the
 * leads, replies and notifications of them all, each table with one set of
 * multi-row statements (a message that joins a lead or replies on a case
 * first writes the leads before it). Any error is returned and the caller
 * rolls back (the group commit then reruns each request alone in its own
 * savepoint); nothing is done for duplicates. */
int server_effects_apply(server *sv, store *db, const server_ingest_part *part, size_t nparts,
                         ny_err *e);

/* After the commit: wakes the delivery worker when rows were queued. */
void server_effects_committed(server *sv, server_effects *fx);

/* Triages n checked messages on w's workspace and stores them for
 * connector with store_message_ingest_batch (idempotent on connector and
 * message id, atomic), returning only after the commit. On success returns
 * 0 and *answer (*len bytes, the caller frees it) is the JSON text
 * {"results":[…]} with each message's triage result, "id" and "status"
 * ("stored" or "duplicate"), in order. Otherwise r is answered (422 naming
 * the index, 503, 500) and its status returned. */
int server_ingest_store(server *sv, server_worker *w, const char *connector, server_msg *in,
                        size_t n, char **answer, size_t *len, server_reply *r);

/* Wipes and frees w's cache of connectors (their prepared secrets). */
void server_conns_free(server_worker *w);

/* ---- event streams (server_stream.c) -------------------------------------- */

/* Announces an event to every open GET /api/v1/stream whose caller's scope
 * holds unit_code: each such client receives "event: <event>", an id and
 * "data: <data as compact JSON>". event is "lead" or "case"; data is
 * borrowed (the caller keeps its reference). Never blocks on a client: a
 * client whose queue is full loses its oldest event and is told so. Safe
 * from any thread; does nothing once the server is stopping. */
void server_stream_publish(server *sv, const char *event, const char *unit_code, json_t *data);

/* 1 when a published event would reach anyone: a stream is open on this
 * node, or events are relayed to other nodes. A publisher may skip
 * building an event's data when it is 0 (a stream opened a moment later
 * gets only the events published after it). */
int server_stream_listening(const server *sv);

/* The local half of server_stream_publish: this node's streams only (the
 * relay's entry for other nodes' events). */
void server_stream_deliver(server *sv, const char *event, const char *unit_code, json_t *data);

/* server_stream_deliver for an event that concerns n units (a case moving
 * from one unit to another): each of this node's clients whose scope holds
 * any of them receives it once. Case events use it: every node reads the
 * case log itself, so they are never relayed. */
void server_stream_deliver_units(server *sv, const char *event, const char *const *units, size_t n,
                                 json_t *data);

/* server_stream_deliver_units with the data already written as JSON text
 * (an object; NULL = {}), for a publisher that writes it directly (jbuf)
 * rather than build a jansson tree only to print it. */
void server_stream_deliver_text(server *sv, const char *event, const char *const *units, size_t n,
                                const char *json);

/* GET /api/v1/stream. */
void server_stream(server *sv, const server_call *call, server_reply *r);

/* Server life: start makes the hub and its keep-alive thread (NY_OK or
 * NY_ERR); stop ends every stream and refuses new ones (before the server
 * waits for requests in flight); free releases the hub after the daemon has
 * stopped. stop and free accept a server without a hub. */
int server_stream_start(server *sv, ny_err *e);
void server_stream_stop(server *sv);
void server_stream_free(server *sv);

/* ---- events between nodes (server_relay.c) ------------------------------- */

/* On PostgreSQL: opens the relay's own connection, subscribes to the other
 * nodes' events and starts its thread (NY_OK, or an NY_* code with *e);
 * on SQLite does nothing. */
int server_relay_start(server *sv, ny_err *e);

/* Queues an event published on this node for the other nodes (called by
 * server_stream_publish; never blocks on the database). */
void server_relay_send(server *sv, const char *event, const char *unit_code, json_t *data);

/* Stops the thread and frees the relay (before the streams stop). */
void server_relay_stop(server *sv);
/* A request's writes: writes them through db (inside a transaction and a
 * savepoint that the caller owns); NY_OK or an NY_* code with *e filled. */
typedef int (*server_apply_fn)(store *db, void *ctx, ny_err *e);
struct server_commit_job;
/* The writes of n consecutive jobs from first (linked by next) that share
 * this function, together, in the open transaction and without savepoints:
 * NY_OK, or an NY_* code with *e filled for them all. */
typedef int (*server_apply_many_fn)(store *db, struct server_commit_job *first, size_t n,
                                    ny_err *e);

/* One request's writes for the committer: apply, apply_many and ctx are
 * the caller's; done is called on the committer's thread once rc (NY_OK, or
 * apply's own error with its writes undone, or the error of its run alone
 * after its group failed) and e hold the outcome, and from then on the job
 * is the caller's again (done may free it). apply_many may be NULL; when
 * consecutive jobs of a group share it, the group's first run writes them
 * with one call of it (a failure there reruns each with apply in its own
 * savepoint, as for any member's data error). The other fields are the
 * committer's. */
typedef struct server_commit_job {
    server_apply_fn apply;
    server_apply_many_fn apply_many;
    void *ctx;
    void (*done)(struct server_commit_job *job);
    int rc;
    ny_err e;
    int own, reserved;
    struct server_commit_job *next;
} server_commit_job;

/* Reserves the committer for one job that will not be waited for (a
 * suspended connection): 1, and the caller then passes the job to
 * server_commit_submit; 0 once the server is closing, and the caller uses
 * server_commit_run instead. */
int server_commit_reserve(server *sv);

/* Queues job (after a reserve) for the next group commit and returns at
 * once; job->done is called when its transaction has committed or
 * failed. */
void server_commit_submit(server *sv, server_commit_job *job);

/* Runs apply(db, ctx) in a group commit with the writes of concurrent
 * requests and returns once the transaction holding them has committed:
 * NY_OK, or apply's own error (its writes undone, the others' kept). When
 * the group as a whole fails, the writes are retried alone and that
 * outcome is returned. apply runs on the committer's thread, with its
 * store handle (opened on sv->o.db_uri), while this one waits. */
int server_commit_run(server *sv, server_apply_fn apply, void *ctx, ny_err *e);

/* Refuses further reserves and waits until every reserved job is done
 * (server_stop, before libmicrohttpd stops: no connection stays
 * suspended). */
void server_commit_close(server *sv);

/* Sets up and tears down the committer of a server. start (after init)
 * opens the checkpoint thread's handle on sv->o.db_uri and starts that
 * thread on SQLite (not on PostgreSQL), then starts the committer thread:
 * NY_OK or the store's error. destroy lets the committer finish what is
 * queued, stops both threads and closes both handles, so it runs after the
 * last request. */
void server_commit_init(server_committer *c);
int server_commit_start(server *sv, ny_err *e);
void server_commit_destroy(server_committer *c);

/* server_static.c: answers a path no route knows from the web directory
 * (GET and HEAD; "/" is index.html) and returns the status, or returns 0
 * without answering for /api/ paths, which keep their JSON 404. */
int server_static(server *sv, const server_call *call, server_reply *r);

/* Parses an ISO-8601 time with offset ("2026-05-01T08:30:00+08:00", "…Z",
 * optional fraction) into Unix seconds. NY_OK or NY_EINVAL. */
int server_parse_time(const char *s, int64_t *out);

/* server_http.c: starts libmicrohttpd on sv->o (sets sv->daemon and
 * sv->port; NY_EUNAVAIL when it cannot bind), stops accepting new
 * connections, and stops the daemon (joins its threads). */
int server_http_start(server *sv, ny_err *e);
void server_http_quiesce(server *sv);
void server_http_stop(server *sv);

/* Notices and the outbox (server_notices.c). */
void server_notice_create(server *sv, const server_call *call, server_reply *r);
void server_notices_list(server *sv, const server_call *call, server_reply *r);
void server_notice_get(server *sv, const server_call *call, server_reply *r);
void server_outbox_list(server *sv, const server_call *call, server_reply *r);
void server_outbox_retry(server *sv, const server_call *call, server_reply *r);

/* Writes the outbox's Prometheus lines to f: rows waiting and dead (read
 * from the database), and this node's sent, failed, dead-lettered and
 * deferred counts. */
void server_outbox_metrics(server *sv, FILE *f);

/* Open311 GeoReport v2 (server_open311.c). */
void server_open311_discovery(server *sv, const server_call *call, server_reply *r);
void server_open311_services(server *sv, const server_call *call, server_reply *r);
void server_open311_service(server *sv, const server_call *call, server_reply *r);
void server_open311_requests(server *sv, const server_call *call, server_reply *r);
void server_open311_request(server *sv, const server_call *call, server_reply *r);
void server_open311_post(server *sv, const server_call *call, server_reply *r);

/* Records one triage latency in the histogram. */
void server_observe_triage(server_metrics *m, double seconds);

#endif
