/* server_http.c - the HTTP side of the server: libmicrohttpd setup, request
 * bodies with their limit, routing, JSON errors, /healthz, /metrics and the
 * JSON-lines access log.
 *
 * libmicrohttpd calls on_request several times per request: first with the
 * headers (a request record is made and counted in flight), then with each
 * piece of the body (kept up to the limit; beyond it only a flag is kept),
 * then once more to answer. The route answers with a server_reply, or
 * suspends the connection and leaves in the reply a function that answers
 * later (ingest waiting for the group commit): libmicrohttpd calls
 * on_request again once the connection is resumed, and that function
 * writes the answer. on_done
 * writes the access log line and ends the request's time in flight, which
 * server_stop waits on. Routes that need the database or the assistant go
 * through the calling thread's worker (server.c). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "jbuf.h"
#include "log.h"
#include "thread.h"
#include "server_int.h"

const double server_buckets[SERVER_NBUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                0.005,  0.01,    0.025,  0.1};
const int server_statuses[SERVER_NSTATUS] = {200, 400, 401, 403, 404, 405, 409,
                                             413, 415, 422, 429, 500, 503, 0};

/* Memory libmicrohttpd gives each connection for a request's headers and
 * its read and write buffers (bodies are copied out as they arrive, answers
 * are our own buffers). libmicrohttpd clears it for every request, so its
 * default of 32 KiB cost more per request than parsing the body; 16 KiB
 * still takes request headers of about 8 KiB. */
#define CONN_MEMORY (16 * 1024)

/* One request in progress. */
struct req {
    char *body;
    size_t len, cap;
    int too_large;
    struct timespec t0;
    int status;
    size_t sent;
    char method[12];
    char path[160];
    char detail[240]; /* the error message of a 4xx/5xx answer, for the log */
    void (*later)(server *sv, void *ctx, server_reply *r); /* a suspended request's answer */
    void *later_ctx;
};

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

void server_observe_triage(server_metrics *m, double seconds)
{
    size_t b = 0;
    while (b < SERVER_NBUCKETS && seconds > server_buckets[b])
        b++;
    atomic_fetch_add(&m->triage_bucket[b], 1);
    atomic_fetch_add(&m->triage_count, 1);
    atomic_fetch_add(&m->triage_us_sum, (long)(seconds * 1e6));
}

/* Appends msg as a JSON string with every byte that does not start a
 * valid UTF-8 sequence replaced by U+FFFD: a reason may quote what the
 * client sent, cut short (a group name cut at 120 bytes) or malformed
 * (jansson's error text quotes the bytes of a bad escape). */
static void reason_str(jbuf *b, const char *msg)
{
    size_t n = strlen(msg);
    if (domain_utf8_check(msg, n, NULL) == NY_OK) {
        jbuf_strn(b, msg, n);
        return;
    }
    jbuf t = {0};
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)msg[i];
        size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i + k <= n && domain_utf8_check(msg + i, k, NULL) == NY_OK) {
            jbuf_add(&t, msg + i, k);
            i += k;
        } else {
            jbuf_add(&t, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    jbuf_strn(b, t.p ? t.p : "", t.len);
    jbuf_free(&t);
}

int server_error(server_reply *r, int status, const char *msg, const char *field, long index)
{
    jbuf b = {0};
    jbuf_puts(&b, "{\"error\":");
    reason_str(&b, msg);
    jbuf_puts(&b, ",\"field\":");
    jbuf_str(&b, field);
    jbuf_puts(&b, ",\"index\":");
    if (index >= 0)
        jbuf_int(&b, index);
    else
        jbuf_puts(&b, "null");
    jbuf_add(&b, "}", 1);
    free(r->body);
    r->body = NULL;
    r->len = 0;
    if (jbuf_finish(&b, &r->body, &r->len, NULL) != NY_OK)
        r->body = NULL;
    r->content_type = "application/json";
    r->status = status;
    return status;
}

int server_json(server_reply *r, json_t *j)
{
    free(r->body);
    r->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!r->body)
        return server_error(r, 500, "out of memory", NULL, -1);
    r->len = strlen(r->body);
    r->content_type = "application/json";
    r->status = 200;
    return 200;
}

/* ---- routes ------------------------------------------------------------- */

void server_healthz(server *sv, const server_call *call, server_reply *r)
{
    (void)call;
    ny_err e;
    int version = 0;
    server_worker *w = server_worker_get(sv, &e);
    if (!w || store_schema_version(w->db, &version, &e) != NY_OK) {
        server_error(r, 503, e.msg, NULL, -1);
        return;
    }
    server_json(r, json_pack("{s:s, s:s, s:i}", "status", "ok", "engine", sv->engine_name,
                             "schema_version", version));
}

static void counter(FILE *f, const char *name, const char *help, long v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %ld\n", name, help, name, name, v);
}

/* The group commit's requests per commit and seconds per commit. */
static void commit_histograms(FILE *f, server_committer *c)
{
    fprintf(f, "# HELP nuanyang_ingest_commit_size Ingest requests per group commit.\n"
               "# TYPE nuanyang_ingest_commit_size histogram\n");
    long cum = 0;
    for (size_t b = 0; b < SERVER_COMMIT_NSIZE; b++) {
        cum += atomic_load(&c->size_bucket[b]);
        fprintf(f, "nuanyang_ingest_commit_size_bucket{le=\"%ld\"} %ld\n", 1L << b, cum);
    }
    fprintf(f,
            "nuanyang_ingest_commit_size_bucket{le=\"+Inf\"} %ld\n"
            "nuanyang_ingest_commit_size_sum %ld\nnuanyang_ingest_commit_size_count %ld\n",
            cum, atomic_load(&c->members), cum);
    fprintf(f, "# HELP nuanyang_ingest_commit_seconds Time of one group commit, begin to "
               "durable commit.\n# TYPE nuanyang_ingest_commit_seconds histogram\n");
    cum = 0;
    for (size_t b = 0; b <= SERVER_COMMIT_NTIME; b++) {
        cum += atomic_load(&c->time_bucket[b]);
        if (b < SERVER_COMMIT_NTIME)
            fprintf(f, "nuanyang_ingest_commit_seconds_bucket{le=\"%g\"} %ld\n",
                    server_commit_time_buckets[b], cum);
        else
            fprintf(f, "nuanyang_ingest_commit_seconds_bucket{le=\"+Inf\"} %ld\n", cum);
    }
    fprintf(f,
            "nuanyang_ingest_commit_seconds_sum %.6f\nnuanyang_ingest_commit_seconds_count %ld\n",
            (double)atomic_load(&c->time_us_sum) / 1e6, cum);
}

void server_metrics_text(server *sv, const server_call *call, server_reply *r)
{
    (void)call;
    server_metrics *m = &sv->m;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        server_error(r, 500, "out of memory", NULL, -1);
        return;
    }
    counter(f, "nuanyang_messages_ingested_total", "Messages stored by the ingest API.",
            atomic_load(&m->ingested));
    counter(f, "nuanyang_messages_duplicate_total",
            "Messages received again and answered as duplicate.", atomic_load(&m->duplicates));
    counter(f, "nuanyang_leads_decided_total",
            "Stored messages the assistant decided need a person.", atomic_load(&m->leads));
    counter(f, "nuanyang_ingest_commits_total",
            "Transactions committed by the ingest group commit.", atomic_load(&sv->commit.commits));
    counter(f, "nuanyang_ingest_commit_requests_total",
            "Ingest requests whose writes those transactions held.",
            atomic_load(&sv->commit.members));
    counter(f, "nuanyang_ingest_commit_fallbacks_total",
            "Group commits rolled back and retried request by request.",
            atomic_load(&sv->commit.fallbacks));
    counter(f, "nuanyang_ingest_commit_reruns_total",
            "Group commits run again with a savepoint per request after one request's own error.",
            atomic_load(&sv->commit.reruns));
    counter(f, "nuanyang_wal_checkpoints_total",
            "WAL checkpoints taken by the background checkpoint thread (SQLite).",
            atomic_load(&sv->commit.checkpoints));
    commit_histograms(f, &sv->commit);
    fprintf(f, "# HELP nuanyang_triage_seconds Time to triage one message.\n"
               "# TYPE nuanyang_triage_seconds histogram\n");
    long cum = 0;
    for (size_t b = 0; b <= SERVER_NBUCKETS; b++) {
        cum += atomic_load(&m->triage_bucket[b]);
        if (b < SERVER_NBUCKETS)
            fprintf(f, "nuanyang_triage_seconds_bucket{le=\"%g\"} %ld\n", server_buckets[b], cum);
        else
            fprintf(f, "nuanyang_triage_seconds_bucket{le=\"+Inf\"} %ld\n", cum);
    }
    fprintf(f, "nuanyang_triage_seconds_sum %.6f\nnuanyang_triage_seconds_count %ld\n",
            (double)atomic_load(&m->triage_us_sum) / 1e6, atomic_load(&m->triage_count));
    fprintf(f, "# HELP nuanyang_http_responses_total HTTP responses by status code.\n"
               "# TYPE nuanyang_http_responses_total counter\n");
    for (size_t i = 0; i < SERVER_NSTATUS; i++) {
        long v = atomic_load(&m->status[i]);
        if (server_statuses[i])
            fprintf(f, "nuanyang_http_responses_total{code=\"%d\"} %ld\n", server_statuses[i], v);
        else
            fprintf(f, "nuanyang_http_responses_total{code=\"other\"} %ld\n", v);
    }
    server_outbox_metrics(sv, f);
    fprintf(f,
            "# HELP nuanyang_http_in_flight Requests being handled.\n"
            "# TYPE nuanyang_http_in_flight gauge\nnuanyang_http_in_flight %d\n",
            atomic_load(&sv->in_flight));
    if (fclose(f) != 0) {
        free(buf);
        server_error(r, 500, "out of memory", NULL, -1);
        return;
    }
    free(r->body);
    r->body = buf;
    r->len = len;
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void server_suspend(const server_call *call)
{
    MHD_suspend_connection(call->conn);
}

void server_resume(void *conn)
{
    MHD_resume_connection(conn);
}

const char *server_header(const server_call *call, const char *name)
{
    return MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND, name);
}

const char *server_query(const server_call *call, const char *name)
{
    return MHD_lookup_connection_value(call->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void route(server *sv, struct MHD_Connection *c, struct req *q, server_reply *r)
{
    if (q->too_large) {
        char msg[120];
        snprintf(msg, sizeof msg, "request body larger than %zu bytes", sv->o.max_body);
        server_error(r, 413, msg, NULL, -1);
        return;
    }
    server_live_refresh(sv);
    server_call call = {.conn = c,
                        .method = q->method,
                        .path = q->path,
                        .body = q->body ? q->body : "",
                        .len = q->len};
    server_route(sv, &call, r);
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

/* Queues r as the answer to q (closing the connection after it once the
 * server is stopping). */
static enum MHD_Result respond(server *sv, struct MHD_Connection *c, struct req *q, server_reply *r)
{
    if (r->stream) { /* an event stream (server_stream.c) */
        MHD_add_response_header(r->stream, "Content-Type", r->content_type);
        MHD_add_response_header(r->stream, "Cache-Control", "no-cache");
        q->status = r->status;
        enum MHD_Result sok = MHD_queue_response(c, (unsigned)r->status, r->stream);
        MHD_destroy_response(r->stream);
        return sok;
    }
    if (!r->body)
        server_error(r, 500, "out of memory", NULL, -1);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, r->body ? r->body : (char *)"",
                                        r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r->content_type);
    if (r->allow[0])
        MHD_add_response_header(resp, "Allow", r->allow);
    if (r->cache_control)
        MHD_add_response_header(resp, "Cache-Control", r->cache_control);
    if (r->etag[0])
        MHD_add_response_header(resp, "ETag", r->etag);
    if (r->csp)
        MHD_add_response_header(resp, "Content-Security-Policy", r->csp);
    if (r->encoding)
        MHD_add_response_header(resp, "Content-Encoding", r->encoding);
    if (r->etag[0]) /* a file that may be sent compressed or not */
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (atomic_load(&sv->stopping)) /* a keep-alive client would keep the stop waiting */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->status >= 400 && r->body) {
        json_t *j = json_loadb(r->body, r->len, 0, NULL);
        const char *why = json_string_value(json_object_get(j, "error"));
        snprintf(q->detail, sizeof q->detail, "%s", why ? why : "");
        json_decref(j);
    }
    q->status = r->status;
    q->sent = r->len;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    server *sv = cls;
    struct req *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &q->t0);
        snprintf(q->method, sizeof q->method, "%s", method);
        snprintf(q->path, sizeof q->path, "%s", url);
        atomic_fetch_add(&sv->in_flight, 1);
        *con_cls = q;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > sv->o.max_body)
            q->too_large = 1;
        return MHD_YES;
    }
    if (q->later) { /* resumed: the suspended request's answer is ready */
        server_reply r = {0};
        void (*later)(server *, void *, server_reply *) = q->later;
        q->later = NULL;
        later(sv, q->later_ctx, &r);
        return respond(sv, c, q, &r);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (q->too_large || q->len + n > sv->o.max_body) {
            q->too_large = 1;
            return MHD_YES;
        }
        if (q->len + n + 1 > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n + 1)
                cap *= 2;
            char *p = realloc(q->body, cap);
            if (!p)
                return MHD_NO;
            q->body = p;
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload, n);
        q->len += n;
        q->body[q->len] = '\0';
        return MHD_YES;
    }
    server_reply r = {0};
    route(sv, c, q, &r);
    if (r.later) { /* suspended by the handler; called again once resumed */
        q->later = r.later;
        q->later_ctx = r.later_ctx;
        return MHD_YES;
    }
    return respond(sv, c, q, &r);
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i + 1 < SERVER_NSTATUS; i++)
        if (server_statuses[i] == status)
            return i;
    return SERVER_NSTATUS - 1;
}

/* A pool thread's first connection lowers the thread's priority by
 * o.pool_nice (thread.c), so that on busy cores the group committer, which
 * every acknowledged message waits for, goes first. A connection stays on
 * the pool thread that accepted it, so this runs on each pool thread. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_ctx;
    server *sv = cls;
    static _Thread_local int lowered;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED || lowered)
        return;
    lowered = 1;
    ny_err e;
    if (thread_lower_priority(sv->o.pool_nice, &e) != NY_OK)
        log_event("warn", "request thread priority not lowered", "error", e.msg, NULL);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode why)
{
    (void)c;
    server *sv = cls;
    struct req *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    if (q->later) /* ended while suspended or before its answer was made */
        q->later(sv, q->later_ctx, NULL);
    if (q->status)
        atomic_fetch_add(&sv->m.status[status_slot(q->status)], 1);
    static _Thread_local time_t ts_of; /* the second ts was written for, per thread */
    static _Thread_local char ts[32];
    char num[80];
    time_t now = time(NULL);
    if (now != ts_of) {
        struct tm tm;
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        ts_of = now;
    }
    jbuf b = {0}; /* one JSON line, written by hand: a jansson tree cost more than the request */
    jbuf_puts(&b, "{\"ts\":\"");
    jbuf_puts(&b, ts);
    jbuf_puts(&b, q->status >= 500 || !q->status ? "\",\"level\":\"error\",\"method\":"
                                                 : "\",\"level\":\"info\",\"method\":");
    jbuf_str(&b, q->method);
    jbuf_puts(&b, ",\"path\":");
    jbuf_str(&b, domain_utf8_or(q->path, "(not UTF-8)"));
    long long us = (long long)(since(&q->t0) * 1e6); /* ms with three decimals, no %g */
    snprintf(num, sizeof num, ",\"status\":%d,\"ms\":%lld.%03lld,\"in\":%zu,\"out\":%zu", q->status,
             us / 1000, us % 1000, q->len, q->sent);
    jbuf_puts(&b, num);
    if (q->detail[0]) {
        jbuf_puts(&b, ",\"error\":");
        jbuf_str(&b, domain_utf8_or(q->detail, "(not UTF-8)"));
    }
    if (why != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        jbuf_puts(&b, ",\"terminated\":");
        jbuf_int(&b, why);
    }
    jbuf_puts(&b, "}\n");
    char *line;
    size_t len;
    if (jbuf_finish(&b, &line, &len, NULL) == NY_OK) {
        fwrite(line, 1, len, stderr);
        free(line);
    }
    free(q->body);
    free(q);
    atomic_fetch_sub(&sv->in_flight, 1);
}

int server_http_start(server *sv, ny_err *e)
{
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(sv->o.port);
    if (inet_pton(AF_INET, sv->o.listen_addr, &addr.sin_addr) != 1)
        return ny_err_set(e, NY_EINVAL, "listen address '%s' is not an IPv4 address",
                          sv->o.listen_addr);
    unsigned threads = sv->o.threads;
    if (!threads) { /* no thread waits for a flush: ingest suspends its connection */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 2 : n > 32 ? 64 : 2 * (unsigned)n;
    }
    /* the logger first: libmicrohttpd reports the options that follow it
     * through it, and warns at every start when it comes later */
    sv->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
                                      MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME,
                                  0, NULL, NULL, on_request, sv, MHD_OPTION_EXTERNAL_LOGGER,
                                  log_mhd, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                  MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
                                  sv->o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                                  sv->o.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                  (size_t)CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_done, sv,
                                  MHD_OPTION_NOTIFY_CONNECTION, on_connection, sv, MHD_OPTION_END);
    if (!sv->daemon)
        return ny_err_set(e, NY_EUNAVAIL, "cannot listen on %s:%u (address in use?)",
                          sv->o.listen_addr, sv->o.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(sv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    sv->port = info ? info->port : sv->o.port;
    return NY_OK;
}

void server_http_quiesce(server *sv)
{
    if (!sv->daemon)
        return;
    MHD_socket fd = MHD_quiesce_daemon(sv->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void server_http_stop(server *sv)
{
    if (sv->daemon)
        MHD_stop_daemon(sv->daemon);
    sv->daemon = NULL;
}
