/* outbox.h - outbound delivery through a persistent outbox.
 *
 * Everything the platform says outside itself — the bot's replies in chat
 * groups, notifications to staff, notices (群发通知), case feedback — is
 * first written as an outbox row, in the same transaction as what caused it,
 * and then delivered by a worker. A row names its channel (wecom, dingtalk,
 * feishu or webhook), its target URL and the text; the platform payload is
 * built only at send time (robot.h), because signed robots check the time.
 * Every row has an idempotency key, unique in the table: enqueueing the same
 * key twice queues one row, and every HTTP request of a row carries the key
 * (header X-Nuanyang-Idempotency-Key, and in the body of the generic
 * webhook), so a receiver can drop the repeats that at-least-once delivery
 * allows after a crash.
 *
 * Targets are URLs (http or https). A robot's signing secret (DingTalk,
 * Feishu) rides in the fragment: "https://oapi.dingtalk.com/robot/send?
 * access_token=…#sign=SEC…"; the fragment is never sent. A chat group's
 * target is chat_groups.target with the channel of its platform (wecom,
 * dingtalk and feishu themselves; wechat and webhook groups go through the
 * generic webhook of their bridge). A staff member's target is
 * staff.notify_channel and staff.notify_target ("" = not pushed).
 *
 * The worker (outbox_start) runs on its own thread with its own store
 * handle: it claims due rows with a lease (several nodes may run workers on
 * one database: a row is claimed by one of them at a time, and a claim
 * whose lease ran out — its node died — is taken again), sends with libcurl
 * multi, keeps every target within a sliding-minute limit (WeCom and
 * DingTalk robots accept 20 a minute), retries failures with exponential
 * backoff and full jitter (robot_retry) and dead-letters a row after the
 * configured number of attempts, keeping the last error. Sent rows are
 * kept for a configurable time (7 days by default) and then deleted by the
 * worker a few hundred at a time, once a minute; dead letters stay until
 * they are retried. */
#ifndef NY_OUTBOX_H
#define NY_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"
#include "store_outbox.h"

/* Most bytes of text one outbox row may carry (WeCom rows are split into
 * parts of 2048 bytes when sent). */
#define OUTBOX_TEXT_MAX 16384
/* Most mentions of one row. */
#define OUTBOX_MAX_MENTIONS 8

/* One thing to send. Say where it goes in one of three ways: channel and
 * target themselves; or group_id (> 0), a chat group whose platform and
 * target are looked up; or account, a staff member whose notification
 * target is looked up. Strings are borrowed for the call. */
typedef struct outbox_item {
    const char *key;     /* idempotency key: 1..64 of letters, digits and "._:-" */
    const char *kind;    /* "reply" (to a group), "notify" (to staff) or "notice" */
    const char *channel; /* "wecom", "dingtalk", "feishu", "webhook", or NULL */
    const char *target;  /* with channel: the URL ("#sign=SECRET" for signed robots) */
    const char *group;   /* with channel: the group's external id for the webhook body, or NULL */
    int64_t group_id;    /* without channel: the chat group (chat_groups.id) */
    const char *account; /* without channel and group_id: the staff member's login name */
    const char *text;    /* UTF-8, 1..OUTBOX_TEXT_MAX bytes */
    const char *const *mentions; /* user ids to @-mention (invalid ones are left out) */
    size_t nmentions;            /* at most OUTBOX_MAX_MENTIONS are used */
    int priority;                /* 0 urgent .. 3 low (triage.h's priorities); lower goes first */
    int64_t not_before;          /* earliest send time, Unix seconds (0 = now) */
} outbox_item;

/* Queues it at time now (Unix seconds) through s, inside the caller's
 * transaction if one is open. *id_out (may be NULL) receives the row id: a
 * new row's, or that of the row already queued under the same key (nothing
 * is changed then, and *fresh, when not NULL, is 0; else 1). A group or
 * staff member without a target queues nothing: NY_OK with *id_out 0.
 * Returns NY_EINVAL for a bad key, kind, channel, URL or text (the message
 * says which), NY_ENOTFOUND for an unknown group or account, store errors
 * as the store gives them. */
int outbox_enqueue(store *s, const outbox_item *it, int64_t now, int64_t *id_out, int *fresh,
                   ny_err *e);

/* Most items of one outbox_enqueue_batch. */
#define OUTBOX_BATCH_MAX 16

/* Queues n (at most OUTBOX_BATCH_MAX) items at time now as outbox_enqueue
 * does each, with one INSERT for all of them (the ingest effects of a
 * message: its staff notifications and reply). item_rc[i] gets each item's
 * own outcome: NY_OK (queued, already queued under its key, or nothing to
 * queue), NY_EINVAL or NY_ENOTFOUND as outbox_enqueue says; such items are
 * left out and the others queued. *queued counts the rows inserted. Returns
 * NY_OK, or a store error (nothing is queued then; inside a transaction,
 * roll it back). */
int outbox_enqueue_batch(store *s, const outbox_item *items, size_t n, int64_t now, int *item_rc,
                         long *queued, ny_err *e);

/* What outbox_enqueue does before it writes, for a caller that resolved the
 * target itself (store_group_target, store_staff_target; it->channel,
 * group_id and account are not read) and writes many rows at once with
 * store_outbox_put_batch: checks it as outbox_enqueue does and fills *r
 * (its strings borrowed from it and t) with *payload (r->payload, to free)
 * for time now. NY_OK with *payload NULL when t has no channel (nothing to
 * queue); NY_EINVAL as outbox_enqueue says. No store access. */
int outbox_row_of(const outbox_item *it, const store_target *t, int64_t now, store_outbox_row *r,
                  char **payload, ny_err *e);

/* ---- the delivery worker ------------------------------------------------- */

typedef struct outbox_opts {
    unsigned max_attempts; /* dead-letter after this many failed attempts; 0 = 10 */
    unsigned base_ms;      /* first backoff ceiling; 0 = 1000 */
    unsigned cap_ms;       /* largest backoff ceiling; 0 = 900000 (15 min) */
    unsigned lease_s;      /* how long a claim lasts; 0 = 30 */
    unsigned per_minute;   /* requests to one target in any sliding minute; 0 = 20 */
    unsigned concurrency;  /* rows in flight at once; 0 = 64 */
    unsigned timeout_s;    /* one HTTP request; 0 = 10 (capped below the lease) */
    unsigned poll_ms;      /* how often the table is looked at when idle; 0 = 500 */
    unsigned keep_s;       /* sent rows are deleted this long after sending; 0 = 7 days */
    const char *node;      /* owner name of this node's claims; NULL = host:pid:random */
    int nice; /* 0..19 added to the worker thread's nice value, so that on busy cores it
               * yields to the threads that answer requests; 0 = unchanged */
    /* Asked before each turn (NULL = never busy): non-zero while requests
     * wait for their commit (the server's ingest). The worker then defers
     * the turn, which would take the write lock they need, by at most
     * OUTBOX_YIELD_MS, so it goes on delivering under
     * sustained ingest and drains the backlog at full speed once it
     * pauses. Called on the worker's thread. */
    int (*busy)(void *ctx);
    void *busy_ctx;
} outbox_opts;

/* Longest a turn is deferred for outbox_opts.busy. */
#define OUTBOX_YIELD_MS 50

typedef struct outbox_worker outbox_worker;

/* Checks o (NULL = defaults), opens its own handle on db_uri and starts the
 * worker thread. NY_EINVAL for an option out of range (attempts 1..100,
 * base <= cap <= one day, lease 2..3600 s, per_minute 1..1000, concurrency
 * 1..256, keep at most 10 years), store errors as store_open gives them, NY_ERR when the thread or
 * libcurl cannot start. */
int outbox_start(const char *db_uri, const outbox_opts *o, outbox_worker **out, ny_err *e);

/* Tells the worker that rows were queued, so it looks now rather than at
 * its next poll. Any thread; NULL is allowed. */
void outbox_wake(outbox_worker *w);

/* Stops the worker: no new claims, requests in flight finish (each within
 * its timeout), rows claimed but not sent go back to pending, the thread is
 * joined and its store closed. NULL is allowed. */
void outbox_stop(outbox_worker *w);

/* What the worker did since it started. */
typedef struct outbox_counts {
    long sent;     /* rows delivered */
    long failures; /* failed attempts (each retried or dead-lettered) */
    long dead;     /* rows dead-lettered */
    long deferred; /* claims put back because a target's minute was full */
} outbox_counts;

/* Reads the counters (any thread). w NULL gives zeros. */
void outbox_counts_get(outbox_worker *w, outbox_counts *c);

#endif
