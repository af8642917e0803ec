/* server_relay.c - live events between the nodes of a cluster.
 *
 * GET /api/v1/stream (server_stream.c) shows a caller the leads and case
 * events of its scope as they commit. With several nodes on one PostgreSQL
 * database the event happens on one node and the caller may be connected to
 * another, so every event published here is also sent through the database
 * (store_notify.h: NOTIFY on the channel "nuanyang_events" as
 * {"node","event","unit","data"}), and a relay thread with its own
 * connection LISTENs to it and hands the other nodes' events to the local
 * streams (server_stream_deliver). A node skips its own events, which it
 * delivered directly. Request threads never wait for the database here:
 * they queue the payload (bounded; the oldest is dropped when full, as a
 * live feed may) and wake the thread. A payload over the channel's limit
 * has its long strings cut (a message text to its first 200 characters).
 * A lost connection is re-made every second, and the subscription with it;
 * what was sent meanwhile is not replayed — a client that reconnects
 * refetches, as after an overflow. SQLite serves one node: no relay. */
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server_int.h"
#include "log.h"
#include "store_notify.h"
#include "thread.h"

#define RELAY_CHANNEL "nuanyang_events"
#define RELAY_QUEUE 1024
/* Longest string kept in a payload that had to be cut, in bytes. */
#define RELAY_CUT 600

struct server_relay {
    server *sv;
    store *db;
    pthread_t thread;
    int started, wake_fd, listening;
    atomic_int stop;
    pthread_mutex_t lock; /* guards the queue */
    char *queue[RELAY_QUEUE];
    size_t head, count;
};

static void wake(struct server_relay *r)
{
    uint64_t one = 1;
    if (write(r->wake_fd, &one, sizeof one) < 0) { /* the counter is full: it is awake */
    }
}

/* Cuts every string of v longer than RELAY_CUT bytes at a character
 * boundary, adding "…". */
static void cut_strings(json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            const char *s = json_string_value(x);
            size_t n = s ? strlen(s) : 0;
            if (n > RELAY_CUT) {
                size_t at = RELAY_CUT;
                while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80)
                    at--;
                char *t = malloc(at + 4);
                if (t) {
                    memcpy(t, s, at);
                    memcpy(t + at, "\xE2\x80\xA6", 4);
                    json_object_set_new(v, k, json_string(t));
                    free(t);
                }
            } else {
                cut_strings(x);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) cut_strings(x);
    }
}

/* The payload of one event, within the channel's limit, or NULL. */
static char *payload_of(server *sv, const char *event, const char *unit, json_t *data)
{
    json_t *copy = data ? json_deep_copy(data) : json_object();
    json_t *msg = json_pack("{s:s, s:s, s:s, s:o}", "node", sv->fx_node, "event", event, "unit",
                            unit, "data", copy);
    char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (s && strlen(s) > STORE_NOTIFY_MAX) {
        free(s);
        cut_strings(json_object_get(msg, "data"));
        s = json_dumps(msg, JSON_COMPACT);
        if (s && strlen(s) > STORE_NOTIFY_MAX) { /* still too long: the event without data */
            free(s);
            json_object_set_new(msg, "data", json_pack("{s:b}", "cut", 1));
            s = json_dumps(msg, JSON_COMPACT);
        }
    }
    json_decref(msg);
    return s;
}

void server_relay_send(server *sv, const char *event, const char *unit_code, json_t *data)
{
    struct server_relay *r = sv->relay;
    if (!r || atomic_load(&r->stop))
        return;
    char *p = payload_of(sv, event, unit_code, data);
    if (!p)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->count == RELAY_QUEUE) { /* full: the oldest goes */
        free(r->queue[r->head]);
        r->head = (r->head + 1) % RELAY_QUEUE;
        r->count--;
    }
    r->queue[(r->head + r->count++) % RELAY_QUEUE] = p;
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

/* One event from the channel: delivered here unless this node sent it. */
static int on_payload(void *ctx, const char *payload)
{
    struct server_relay *r = ctx;
    json_t *m = json_loads(payload, 0, NULL);
    const char *node = json_string_value(json_object_get(m, "node"));
    const char *event = json_string_value(json_object_get(m, "event"));
    const char *unit = json_string_value(json_object_get(m, "unit"));
    if (node && event && unit && strcmp(node, r->sv->fx_node) != 0)
        server_stream_deliver(r->sv, event, unit, json_object_get(m, "data"));
    json_decref(m);
    return NY_OK;
}

/* Sends what the request threads queued. */
static void drain(struct server_relay *r)
{
    for (;;) {
        pthread_mutex_lock(&r->lock);
        char *p = NULL;
        if (r->count) {
            p = r->queue[r->head];
            r->head = (r->head + 1) % RELAY_QUEUE;
            r->count--;
        }
        pthread_mutex_unlock(&r->lock);
        if (!p)
            return;
        ny_err e;
        if (store_notify(r->db, RELAY_CHANNEL, p, &e) != NY_OK) {
            log_event("warn", "event not relayed to other nodes", "error", e.msg, NULL);
            r->listening = 0;
        }
        free(p);
    }
}

static void *run(void *arg)
{
    struct server_relay *r = arg;
    thread_name("ny-relay");
    while (!atomic_load(&r->stop)) {
        ny_err e;
        if (!r->listening) {
            if (store_listen(r->db, RELAY_CHANNEL, &e) == NY_OK) {
                r->listening = 1;
            } else {
                log_event("warn", "cannot listen for other nodes' events", "error", e.msg, NULL);
                struct pollfd p = {r->wake_fd, POLLIN, 0};
                poll(&p, 1, 1000);
            }
        }
        drain(r);
        if (r->listening &&
            store_notify_wait(r->db, r->wake_fd, 1000, on_payload, r, &e) == NY_EUNAVAIL) {
            log_event("warn", "lost the connection for other nodes' events", "error", e.msg, NULL);
            r->listening = 0;
        }
        uint64_t n;
        if (read(r->wake_fd, &n, sizeof n) < 0) { /* nothing to reset */
        }
    }
    return NULL;
}

int server_relay_start(server *sv, ny_err *e)
{
    if (strcmp(sv->engine_name, "postgresql") != 0)
        return NY_OK;
    struct server_relay *r = calloc(1, sizeof *r);
    if (!r)
        return ny_err_set(e, NY_ERR, "out of memory");
    r->sv = sv;
    r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&r->lock, NULL);
    sv->relay = r;
    if (r->wake_fd < 0)
        return ny_err_set(e, NY_ERR, "cannot make the relay's wake-up descriptor");
    int rc = store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &r->db, e);
    if (rc == NY_OK && (rc = store_listen(r->db, RELAY_CHANNEL, e)) == NY_OK)
        r->listening = 1;
    if (rc == NY_OK && pthread_create(&r->thread, NULL, run, r) != 0)
        rc = ny_err_set(e, NY_ERR, "cannot start the relay thread");
    r->started = rc == NY_OK;
    return rc;
}

void server_relay_stop(server *sv)
{
    struct server_relay *r = sv->relay;
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    if (r->started) {
        wake(r);
        pthread_join(r->thread, NULL);
        r->started = 0;
    }
    for (; r->count; r->count--, r->head = (r->head + 1) % RELAY_QUEUE)
        free(r->queue[r->head]);
    store_close(r->db);
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    pthread_mutex_destroy(&r->lock);
    free(r);
    sv->relay = NULL;
}
