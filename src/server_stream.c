/* server_stream.c - GET /api/v1/stream: server-sent events for the
 * caller's scope, and server_stream_publish, the in-process call with which
 * other parts of the server (lead creation, the case workflow) announce
 * something new.
 *
 * Each open stream is a client with a bounded queue of formatted events.
 * server_stream_publish formats the event once and appends it to the queue
 * of every client whose scope holds the event's unit (server_in_scope); a
 * full queue drops its oldest event and the client is told how many it
 * missed (event "overflow"), so one slow reader costs bounded memory and
 * never slows the publisher. libmicrohttpd reads the stream through a
 * content-reader callback: when the queue is empty the callback suspends the
 * connection (no pool thread waits on a stream) and a publish, the
 * keep-alive ticker (a comment line every NUANYANG_STREAM_KEEPALIVE_MS,
 * default 15 s, which also finds clients that went away) or the shutdown
 * resumes it. server_stream_stop, the first step of a graceful stop, ends
 * every stream and refuses new ones, so no connection is left suspended when
 * the daemon stops.
 *
 * Locking: the hub's mutex guards the client list and every queue. The
 * reader callback runs inside libmicrohttpd with its response lock held and
 * takes the hub's mutex; libmicrohttpd's free callback only sets a flag, and
 * finished clients are unlinked and freed by the next publish or tick, so
 * the hub's mutex is never taken inside libmicrohttpd's own cleanup. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_int.h"
#include "thread.h"

/* Events one client may have waiting before the oldest are dropped. */
#define STREAM_QUEUE 256
/* Most streams open at once. */
#define STREAM_MAX_CLIENTS 256

typedef struct stream_client {
    server_caller who;
    struct MHD_Connection *conn;
    char *queue[STREAM_QUEUE]; /* ring of formatted events */
    unsigned head, count;
    long dropped;    /* events lost to a full queue since the last overflow notice */
    char *cur;       /* the event being written */
    size_t off;      /* bytes of cur already written */
    int suspended;   /* the connection is suspended, waiting for data */
    int ping;        /* a keep-alive comment is due */
    atomic_int gone; /* libmicrohttpd is done with the client: free it */
    struct stream_client *next;
} stream_client;

struct server_stream_hub {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t ticker;
    int ticker_started;
    int stopping;
    long keepalive_ms;
    size_t nclients;
    atomic_size_t open; /* nclients, readable without the lock */
    long long seq;      /* id of the last event published */
    stream_client *clients;
};

static void client_free(stream_client *c)
{
    for (unsigned i = 0; i < c->count; i++)
        free(c->queue[(c->head + i) % STREAM_QUEUE]);
    free(c->cur);
    free(c);
}

/* Unlinks and frees the clients libmicrohttpd has finished with. Under the
 * hub's lock. */
static void reap(struct server_stream_hub *h)
{
    for (stream_client **p = &h->clients; *p;) {
        stream_client *c = *p;
        if (atomic_load(&c->gone)) {
            *p = c->next;
            h->nclients--;
            atomic_store(&h->open, h->nclients);
            client_free(c);
        } else {
            p = &c->next;
        }
    }
}

/* Resumes c if it waits for data. Under the hub's lock: a suspended
 * connection cannot finish, so c stays valid. */
static void wake(stream_client *c)
{
    if (c->suspended) {
        c->suspended = 0;
        MHD_resume_connection(c->conn);
    }
}

static void *ticker(void *arg)
{
    struct server_stream_hub *h = arg;
    thread_name("ny-stream");
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = until.tv_nsec + (h->keepalive_ms % 1000) * 1000000LL;
        until.tv_sec += h->keepalive_ms / 1000 + ns / 1000000000LL;
        until.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&h->wake, &h->lock, &until);
        if (h->stopping)
            break;
        reap(h);
        for (stream_client *c = h->clients; c; c = c->next) {
            c->ping = 1;
            wake(c);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int server_stream_start(server *sv, ny_err *e)
{
    struct server_stream_hub *h = calloc(1, sizeof *h);
    if (!h)
        return ny_err_set(e, NY_ERR, "out of memory");
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    const char *ms = getenv("NUANYANG_STREAM_KEEPALIVE_MS");
    h->keepalive_ms = ms && atol(ms) >= 10 ? atol(ms) : 15000;
    sv->stream = h;
    if (pthread_create(&h->ticker, NULL, ticker, h) != 0)
        return ny_err_set(e, NY_ERR, "cannot start the stream keep-alive thread");
    h->ticker_started = 1;
    return NY_OK;
}

void server_stream_stop(server *sv)
{
    struct server_stream_hub *h = sv->stream;
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_cond_broadcast(&h->wake);
    for (stream_client *c = h->clients; c; c = c->next)
        wake(c);
    pthread_mutex_unlock(&h->lock);
    if (h->ticker_started)
        pthread_join(h->ticker, NULL);
    h->ticker_started = 0;
}

void server_stream_free(server *sv)
{
    struct server_stream_hub *h = sv->stream;
    if (!h)
        return;
    server_stream_stop(sv);
    for (stream_client *c = h->clients, *next; c; c = next) {
        next = c->next;
        client_free(c);
    }
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h);
    sv->stream = NULL;
}

/* Appends ev (taken) to c's queue, dropping the oldest event when full. */
static void enqueue(stream_client *c, char *ev)
{
    if (c->count == STREAM_QUEUE) {
        free(c->queue[c->head]);
        c->head = (c->head + 1) % STREAM_QUEUE;
        c->count--;
        c->dropped++;
    }
    c->queue[(c->head + c->count) % STREAM_QUEUE] = ev;
    c->count++;
}

/* 1 when who's scope holds one of the n units. */
static int in_scope_any(const server_caller *who, const char *const *units, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (server_in_scope(who, units[i]))
            return 1;
    return 0;
}

void server_stream_deliver(server *sv, const char *event, const char *unit_code, json_t *data)
{
    server_stream_deliver_units(sv, event, &unit_code, 1, data);
}

void server_stream_deliver_units(server *sv, const char *event, const char *const *units, size_t n,
                                 json_t *data)
{
    struct server_stream_hub *h = sv->stream;
    if (!h || !event || !units || !units[0] || !atomic_load(&h->open))
        return; /* nobody to tell: not even formatted */
    char *json = data ? json_dumps(data, JSON_COMPACT) : NULL;
    server_stream_deliver_text(sv, event, units, n, json);
    free(json);
}

void server_stream_deliver_text(server *sv, const char *event, const char *const *units, size_t n,
                                const char *json)
{
    struct server_stream_hub *h = sv->stream;
    if (!h || !event || !units || !units[0] || !atomic_load(&h->open))
        return;
    pthread_mutex_lock(&h->lock);
    reap(h);
    long long id = ++h->seq;
    char *text = NULL; /* the event as sent, formatted once for every client it goes to */
    for (stream_client *c = h->clients; c && !h->stopping; c = c->next) {
        if (!in_scope_any(&c->who, units, n))
            continue;
        if (!text) {
            size_t size = strlen(event) + (json ? strlen(json) : 2) + 64;
            if (!(text = malloc(size)))
                break;
            snprintf(text, size, "event: %s\nid: %lld\ndata: %s\n\n", event, id,
                     json ? json : "{}");
        }
        char *ev = strdup(text);
        if (!ev)
            break;
        enqueue(c, ev);
        wake(c);
    }
    pthread_mutex_unlock(&h->lock);
    free(text);
}

int server_stream_listening(const server *sv)
{
    return (sv->stream && atomic_load(&sv->stream->open)) || sv->relay;
}

void server_stream_publish(server *sv, const char *event, const char *unit_code, json_t *data)
{
    server_stream_deliver(sv, event, unit_code, data);
    if (event && unit_code)
        server_relay_send(sv, event, unit_code, data);
}

/* Takes the next text to write for c into c->cur: an overflow notice, a
 * queued event or a keep-alive comment. 0 when there is nothing. */
static int next_text(stream_client *c)
{
    if (c->dropped) {
        char buf[96];
        snprintf(buf, sizeof buf, "event: overflow\ndata: {\"dropped\":%ld}\n\n", c->dropped);
        c->cur = strdup(buf);
        c->dropped = 0;
    } else if (c->count) {
        c->cur = c->queue[c->head];
        c->head = (c->head + 1) % STREAM_QUEUE;
        c->count--;
    } else if (c->ping) {
        c->cur = strdup(": keep-alive\n\n");
        c->ping = 0;
    }
    c->off = 0;
    return c->cur != NULL;
}

typedef struct reader_ctx {
    struct server_stream_hub *hub;
    stream_client *c;
} reader_ctx;

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    reader_ctx *rc = cls;
    struct server_stream_hub *h = rc->hub;
    stream_client *c = rc->c;
    ssize_t n = 0;
    pthread_mutex_lock(&h->lock);
    if (c->cur || next_text(c)) {
        size_t left = strlen(c->cur) - c->off;
        size_t k = left < max ? left : max;
        memcpy(buf, c->cur + c->off, k);
        c->off += k;
        if (c->off == strlen(c->cur)) {
            free(c->cur);
            c->cur = NULL;
        }
        n = (ssize_t)k;
    } else if (h->stopping) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        c->suspended = 1;
        MHD_suspend_connection(c->conn);
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

static void reader_done(void *cls)
{
    reader_ctx *rc = cls;
    atomic_store(&rc->c->gone, 1);
    free(rc);
}

void server_stream(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    if (server_auth(sv, call, &who, r) != NY_OK)
        return;
    struct server_stream_hub *h = sv->stream;
    stream_client *c = calloc(1, sizeof *c);
    reader_ctx *rc = calloc(1, sizeof *rc);
    if (!c || !rc) {
        free(c);
        free(rc);
        server_error(r, 500, "out of memory", NULL, -1);
        return;
    }
    c->who = who;
    c->conn = call->conn;
    c->cur = strdup("retry: 3000\n: connected\n\n");
    rc->hub = h;
    rc->c = c;
    pthread_mutex_lock(&h->lock);
    reap(h);
    int refuse = h->stopping ? 503 : h->nclients >= STREAM_MAX_CLIENTS ? 429 : 0;
    if (!refuse && c->cur) {
        c->next = h->clients;
        h->clients = c;
        h->nclients++;
        atomic_store(&h->open, h->nclients);
    }
    pthread_mutex_unlock(&h->lock);
    if (refuse || !c->cur) {
        client_free(c);
        free(rc);
        server_error(r, refuse ? refuse : 500,
                     refuse == 503   ? "服务正在停止 / the server is shutting down"
                     : refuse == 429 ? "事件流连接过多 / too many open streams"
                                     : "out of memory",
                     NULL, -1);
        return;
    }
    r->status = 200;
    r->content_type = "text/event-stream; charset=utf-8";
    r->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, reader, rc, reader_done);
    if (!r->stream) { /* never read: the client is unlinked at the next reap */
        atomic_store(&c->gone, 1);
        free(rc);
        server_error(r, 500, "out of memory", NULL, -1);
    }
}
