/* outbox_worker.c - the delivery worker: claims due outbox rows and sends
 * them with libcurl multi.
 *
 * One thread per server with its own store handle. Its writes share the
 * database's one write lock with the ingest group commit, so each turn is
 * one short transaction: the outcomes of the rows that ended since the
 * last turn (sent, retry, dead, put back), a claim of as many due rows as
 * there are free slots (store_outbox_claim, with a lease), and the
 * targets' minute slots for the claimed rows (store_outbox_rate_take_batch,
 * a few statements for all of them, shared by every node and kept across
 * restarts). The handle's commits do not wait for the disk
 * (store_outbox_lazy_commits): a crash of the process loses none of them,
 * a power loss at most repeats a delivery under its key. Each claimed
 * row's requests are built in the turn (outbox_send.c); a row whose target
 * is full goes back to pending at the time a slot frees, without counting
 * an attempt, and the others start once the turn has committed. Wakes
 * closer than CLAIM_GAP_MS share a claim, and outcomes wait at most that
 * long for a turn to carry them; with a backlog the next turn starts as
 * soon as no request is in flight. The thread may run at a lower priority
 * (outbox_opts.nice), so that request threads go first on busy cores, and
 * defers a turn (by at most OUTBOX_YIELD_MS) while requests wait for their
 * commit (outbox_opts.busy), so that its transaction does not hold the
 * write lock they need.
 * The parts of a split text go one after another; the row is sent when
 * all are, and a failed part fails the row, which is retried whole (its
 * parts keep their idempotency keys). A failure is retried after
 * exponential backoff with full jitter (robot_retry) until max_attempts,
 * then the row is dead with its last error. A host that cannot be resolved
 * or connected to is remembered as down until the first retry's ceiling has
 * passed (outbox_down_note): rows for it fail at once meanwhile, without a
 * request. Each slot keeps its libcurl handle, and the multi handle keeps
 * connections open, so rows to one host reuse a keep-alive connection.
 * A crash leaves claimed rows "sending": their lease runs out and any node
 * sends them again, with the same keys (at least once). outbox_stop lets
 * requests in flight finish and puts this node's other claims back. Once a
 * minute the worker also deletes rows sent longer ago than the retention
 * (store_outbox_purge), in batches of PURGE_BATCH and at most PURGE_TURN
 * rows a turn, so sending never waits long behind it; with several nodes
 * each purges, which is harmless. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "outbox.h"
#include "log.h"
#include "outbox_int.h"
#include "thread.h"

/* Least milliseconds between two claims started by wakes, and most an
 * outcome waits for the turn that writes it. */
#define CLAIM_GAP_MS 5

/* What ends a flight's row, written by the worker's next turn. */
enum { END_NONE, END_FINISH, END_RELEASE };

/* The request headers of a slot, set on its handle once: the fixed ones
 * and the idempotency key, whose text is rewritten for each request. */
typedef struct slot_headers {
    struct curl_slist node[4];
    char idem[ROBOT_KEY_MAX + 64];
} slot_headers;

/* A slot: a claimed row from its claim to its outcome. */
typedef struct flight {
    CURL *easy;        /* the slot's handle, kept from row to row */
    slot_headers *hdr; /* its headers, kept too */
    /* from here on cleared for each row */
    int used;
    int fresh; /* claimed in the turn that is running */
    int held;  /* built, waiting for its target's minute slots */
    int end;   /* END_*: the row's outcome is decided, to be written */
    const char *status;
    int64_t end_at, next_at; /* the outcome's time and next due time (Unix seconds) */
    char why[320];
    char *strings;      /* the claimed row's strings, which r points into */
    store_outbox_row r; /* the claimed row */
    char url[1280];
    robot_batch batch;
    size_t part;
    int added; /* easy is in the multi handle */
    char resp[2048];
    size_t resp_len;
} flight;

struct outbox_worker {
    outbox_opts o;
    robot_retry retry;
    char node[128];
    store *db;
    CURLM *multi;
    flight *slots;
    slot_headers *hdrs; /* one per slot */
    unsigned busy;
    outbox_downs down;
    outbox_keys keys; /* the targets' keys for their minute slots */
    pthread_t thread;
    atomic_int stop, woken;
    int backlog;       /* the last claim filled every free slot: more rows may be due */
    int deferred_turn; /* the last turn put rows back for their targets' minutes */
    atomic_long sent, failures, dead, deferred;
};

/* Retention work per turn: rows per statement, rows per turn, turns. */
#define PURGE_BATCH 500
#define PURGE_TURN 20000
#define PURGE_EVERY_MS 60000

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void log_line(const char *msg, int64_t id, const char *why)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)id);
    log_event("warn", msg, "outbox_id", id ? num : NULL, "error", why, NULL);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    flight *f = ctx;
    size_t len = size * n, room = sizeof f->resp - 1 - f->resp_len;
    size_t take = len < room ? len : room;
    memcpy(f->resp + f->resp_len, p, take);
    f->resp_len += take;
    f->resp[f->resp_len] = '\0';
    return len;
}

/* Frees the row of slot f, keeping its handle for the next. */
static void release_flight(outbox_worker *w, flight *f)
{
    CURL *easy = f->easy;
    slot_headers *hdr = f->hdr;
    if (f->added)
        curl_multi_remove_handle(w->multi, easy);
    robot_batch_free(&f->batch);
    free(f->strings);
    memset(f, 0, sizeof *f);
    f->easy = easy;
    f->hdr = hdr;
    w->busy--;
}

/* Ends the row of f: sent, or failed with why: retried, or dead when it
 * ran out of attempts or can never be sent (permanent). The outcome is
 * written by the next turn. */
static void finish(outbox_worker *w, flight *f, int ok, int permanent, const char *why)
{
    int64_t t = now_ms();
    f->r.attempts++;
    f->held = 0;
    f->end = END_FINISH;
    f->end_at = t / 1000;
    f->why[0] = '\0';
    if (ok) {
        f->status = "sent";
        atomic_fetch_add(&w->sent, 1);
        return;
    }
    uint64_t rnd = 0;
    int64_t delay = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
        rnd = (uint64_t)t;
    atomic_fetch_add(&w->failures, 1);
    int again = !permanent && robot_retry_next(&w->retry, (uint32_t)f->r.attempts, rnd, &delay);
    if (!again) {
        atomic_fetch_add(&w->dead, 1);
        log_line("outbox row dead-lettered", f->r.id, why);
    }
    f->status = again ? "pending" : "dead";
    f->next_at = (t + delay + 999) / 1000;
    snprintf(f->why, sizeof f->why, "%s", why ? why : "");
}

/* Writes the outcome of every slot that has one (inside the turn's
 * transaction) and frees those slots: the rows sent in one statement, each
 * other outcome in its own. A write that fails leaves the row claimed: its
 * lease runs out and it is sent again (at least once). */
static void write_outcomes(outbox_worker *w)
{
    ny_err e;
    int64_t ids[256];
    size_t n = 0;
    for (unsigned i = 0; i < w->o.concurrency; i++) {
        flight *f = &w->slots[i];
        int sent = f->end == END_FINISH && strcmp(f->status, "sent") == 0;
        int rc = NY_OK;
        if (sent)
            ids[n++] = f->r.id;
        else if (f->end == END_FINISH)
            rc = store_outbox_finish(w->db, f->r.id, w->node, f->status, f->r.attempts, f->end_at,
                                     f->next_at, f->why, &e);
        else if (f->end == END_RELEASE)
            rc = store_outbox_release(w->db, w->node, f->r.id, f->next_at, &e);
        else
            continue;
        if (rc != NY_OK)
            log_line(f->end == END_FINISH ? "outbox row not updated" : "outbox row not released",
                     f->r.id, e.msg);
        release_flight(w, f);
    }
    long updated = 0;
    if (store_outbox_sent_batch(w->db, ids, n, w->node, now_ms() / 1000, &updated, &e) != NY_OK)
        log_line("outbox rows not marked sent", ids[0], e.msg);
    else if ((size_t)updated < n)
        log_line("outbox rows sent after their claim was lost", ids[0], "another node took them");
}

/* Sets the options every request of slot f's handle shares, once: they
 * stay through its transfers (no curl_easy_reset between them). Its header
 * list is the slot's own (libcurl reads it at each request and keeps no
 * copy): no list is built per request. "Expect:" keeps libcurl 7.x from
 * waiting for a 100 Continue before a body over 1 KiB; JSON is UTF-8 by
 * definition, no robot reads Accept, and fewer header bytes are cheaper
 * (libcurl formats its request head a byte at a time). */
static void setup_handle(outbox_worker *w, flight *f)
{
    CURL *easy = f->easy;
    slot_headers *h = f->hdr;
    static const char *const fixed[] = {"Content-Type: application/json", "Accept:", "Expect:"};
    for (size_t i = 0; i < 3; i++)
        h->node[i] = (struct curl_slist){(char *)fixed[i], &h->node[i + 1]};
    h->node[3] = (struct curl_slist){h->idem, NULL};
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h->node);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, f);
    unsigned timeout =
        w->o.timeout_s * 1000 < w->o.lease_s * 500 ? w->o.timeout_s * 1000 : w->o.lease_s * 500;
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "nuanyang-outbox/1");
}

/* Starts the current part of f. 0, or -1 with f finished as failed. */
static int start_part(outbox_worker *w, flight *f)
{
    robot_payload *p = &f->batch.v[f->part];
    char url[sizeof f->url + ROBOT_QUERY_MAX];
    snprintf(url, sizeof url, "%s%s", f->url, p->query);
    if (p->query[0] == '&' && !strchr(f->url, '?'))
        url[strlen(f->url)] = '?';
    if (f->added) {
        curl_multi_remove_handle(w->multi, f->easy);
        f->added = 0;
    }
    if (!f->easy && (f->easy = curl_easy_init()))
        setup_handle(w, f);
    if (!f->easy) {
        finish(w, f, 0, 0, "out of memory");
        return -1;
    }
    snprintf(f->hdr->idem, sizeof f->hdr->idem, "%s: %s", ROBOT_IDEM_HEADER, p->key);
    f->resp_len = 0;
    f->resp[0] = '\0';
    /* options that stay are set once per handle (setup_handle); the body
     * is not copied (it lives in f->batch until the part ends) */
    curl_easy_setopt(f->easy, CURLOPT_URL, url);
    curl_easy_setopt(f->easy, CURLOPT_POSTFIELDSIZE, (long)p->len);
    curl_easy_setopt(f->easy, CURLOPT_POSTFIELDS, p->body);
    if (curl_multi_add_handle(w->multi, f->easy) != CURLM_OK) {
        finish(w, f, 0, 0, "cannot start the request");
        return -1;
    }
    f->added = 1;
    return 0;
}

/* Copies n bytes of s into *at (NUL-terminated) and returns the copy. */
static const char *put_string(char **at, const char *s)
{
    size_t n = strlen(s) + 1;
    char *out = memcpy(*at, s, n);
    *at += n;
    return out;
}

/* Takes one claimed row into a free slot (its strings copied: the store's
 * are valid only during the call). */
static int on_claimed(void *ctx, const store_outbox_row *r)
{
    outbox_worker *w = ctx;
    flight *f = NULL;
    for (unsigned i = 0; i < w->o.concurrency && !f; i++)
        if (!w->slots[i].used)
            f = &w->slots[i];
    if (!f) { /* cannot happen: claims never exceed the free slots */
        ny_err e;
        return ny_err_set(&e, NY_ERR, "no free outbox slot");
    }
    const char *in[] = {r->key, r->kind, r->channel, r->target, r->payload};
    size_t size = 0;
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        size += strlen(in[i] ? in[i] : "") + 1;
    f->used = 1;
    f->fresh = 1;
    w->busy++;
    f->r = *r;
    f->r.status = f->r.last_error = NULL;
    char *at = f->strings = malloc(size);
    if (!at) {
        f->r.key = f->r.kind = f->r.channel = f->r.target = f->r.payload = "";
        finish(w, f, 0, 0, "out of memory");
        return NY_OK;
    }
    f->r.key = put_string(&at, r->key ? r->key : "");
    f->r.kind = put_string(&at, r->kind ? r->kind : "");
    f->r.channel = put_string(&at, r->channel ? r->channel : "");
    f->r.target = put_string(&at, r->target ? r->target : "");
    f->r.payload = put_string(&at, r->payload ? r->payload : "");
    return NY_OK;
}

/* Builds the requests of the rows claimed in this turn; a row whose host
 * is noted as down, or that cannot be built, ends failed. */
static void build_claimed(outbox_worker *w)
{
    int64_t t = now_ms();
    for (unsigned i = 0; i < w->o.concurrency; i++) {
        flight *f = &w->slots[i];
        if (!f->fresh || f->end)
            continue;
        char why[320];
        ny_err e;
        if (outbox_down_check(&w->down, f->r.target, t, why, sizeof why)) {
            finish(w, f, 0, 0, why);
            continue;
        }
        int rc = outbox_build(&f->r, t, f->url, sizeof f->url, &f->batch, &e);
        if (rc != NY_OK)
            finish(w, f, 0, rc == NY_EINVAL, e.msg);
        else
            f->held = 1;
    }
}

/* Takes the minute slots of the held rows, inside the turn: a row whose
 * target has room for all its parts stays held, to start once the turn
 * commits; the others go back to pending until slots free, without
 * counting an attempt. */
static int take_slots(outbox_worker *w, ny_err *e)
{
    const char *targets[256];
    char keys[256][OUTBOX_KEY_LEN + 1];
    int parts[256], taken[256];
    int64_t next[256];
    flight *held[256];
    size_t n = 0;
    for (unsigned i = 0; i < w->o.concurrency; i++) {
        flight *f = &w->slots[i];
        if (!f->held)
            continue;
        memcpy(keys[n], outbox_key_of(&w->keys, f->url), sizeof keys[n]);
        targets[n] = keys[n];
        parts[n] = (int)f->batch.n;
        held[n++] = f;
    }
    if (!n)
        return NY_OK;
    int rc = store_outbox_rate_take_batch(w->db, targets, parts, n, (int)w->o.per_minute, now_ms(),
                                          taken, next, e);
    for (size_t k = 0; rc == NY_OK && k < n; k++) {
        if (taken[k])
            continue;
        atomic_fetch_add(&w->deferred, 1);
        w->deferred_turn = 1;
        held[k]->held = 0;
        held[k]->end = END_RELEASE;
        held[k]->next_at = (next[k] + 999) / 1000;
    }
    return rc;
}

/* One turn of the worker, one transaction: writes the outcomes decided
 * since the last turn and, when claim_now is set and slots are then free,
 * claims due rows, builds them and takes their minute slots; once
 * it has committed, the rows that got their slots start. When the turn fails, the rows it claimed
 * are forgotten (the claim rolled back) and the outcomes it wrote stay unwritten: those rows are
 * still claimed, and their lease brings them back. */
static void turn(outbox_worker *w, int claim_now)
{
    ny_err e;
    int ends = 0;
    for (unsigned i = 0; i < w->o.concurrency; i++)
        ends += w->slots[i].end != END_NONE;
    if (!ends && (!claim_now || w->busy >= w->o.concurrency))
        return;
    int rc = store_begin(w->db, &e);
    if (rc == NY_OK)
        write_outcomes(w);
    int free_slots = (int)(w->o.concurrency - w->busy);
    w->deferred_turn = 0;
    if (rc == NY_OK && claim_now && free_slots > 0) {
        unsigned before = w->busy;
        rc = store_outbox_claim(w->db, w->node, now_ms() / 1000, (int)w->o.lease_s, free_slots,
                                on_claimed, w, &e);
        w->backlog = rc == NY_OK && (int)(w->busy - before) == free_slots;
        if (rc == NY_OK) {
            build_claimed(w);
            rc = take_slots(w, &e);
        }
    }
    if (rc == NY_OK)
        rc = store_commit(w->db, &e);
    if (rc != NY_OK) {
        log_line("outbox turn failed", 0, e.msg);
        store_rollback(w->db, NULL);
    }
    for (unsigned i = 0; i < w->o.concurrency; i++) {
        flight *f = &w->slots[i];
        if (f->fresh && rc != NY_OK) {
            release_flight(w, f);
            continue;
        }
        f->fresh = 0;
        if (f->held) {
            f->held = 0;
            start_part(w, f);
        }
    }
}

/* Handles the requests that completed. */
static void completed(outbox_worker *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        flight *f = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        char why[320];
        long status = 0;
        int ok = 0;
        CURLcode res = m->data.result;
        if (res != CURLE_OK) {
            snprintf(why, sizeof why, "%s", curl_easy_strerror(res));
            if (res == CURLE_COULDNT_RESOLVE_HOST || res == CURLE_COULDNT_RESOLVE_PROXY ||
                res == CURLE_COULDNT_CONNECT)
                outbox_down_note(&w->down, f->url, now_ms() + w->o.base_ms, why);
        } else {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            ok = outbox_judge(status, f->resp, f->resp_len, why, sizeof why);
            outbox_down_clear(&w->down, f->url);
        }
        if (ok && f->part + 1 < f->batch.n) {
            f->part++;
            start_part(w, f);
        } else {
            finish(w, f, ok, 0, why);
        }
    }
}

/* Deletes rows sent before the retention, in small batches. */
static void purge(outbox_worker *w, int64_t now_s)
{
    ny_err e;
    long n = PURGE_BATCH;
    for (long done = 0; n == PURGE_BATCH && done < PURGE_TURN && !atomic_load(&w->stop);
         done += n) {
        if (store_outbox_purge(w->db, now_s - (int64_t)w->o.keep_s, PURGE_BATCH, &n, &e) != NY_OK) {
            log_line("outbox retention failed", 0, e.msg);
            return;
        }
    }
}

/* The number of slots with an outcome to write. */
static unsigned count_ends(const outbox_worker *w)
{
    unsigned n = 0;
    for (unsigned i = 0; i < w->o.concurrency; i++)
        n += w->slots[i].end != END_NONE;
    return n;
}

static void *run(void *arg)
{
    outbox_worker *w = arg;
    thread_name("ny-outbox");
    ny_err pe;
    if (thread_lower_priority(w->o.nice, &pe) != NY_OK)
        log_line("outbox worker priority not lowered", 0, pe.msg);
    int64_t next_poll = 0, last_turn = 0, next_purge = 0, yield_since = 0;
    while (!atomic_load(&w->stop) || w->busy) {
        int64_t t = now_ms();
        int stopping = atomic_load(&w->stop);
        /* a turn claims on a wake, at the poll, or while a backlog waits
         * for slots; it runs at most every CLAIM_GAP_MS (outcomes and the
         * wakes of a burst of commits share one transaction), at once at
         * the poll or while stopping, and with a backlog as soon as no
         * request is in flight (the slots' outcomes all known, the next
         * claim as large as it can be) */
        int want = !stopping && (atomic_load(&w->woken) || t >= next_poll || w->backlog);
        unsigned ends = count_ends(w);
        int drained = w->backlog && ends == w->busy && !w->deferred_turn;
        int gap = t < last_turn + CLAIM_GAP_MS && t < next_poll && !stopping && !drained;
        /* requests waiting for their commit go first, for a while */
        int yield = (want || ends) && !gap && !stopping && w->o.busy &&
                    (!yield_since || t < yield_since + OUTBOX_YIELD_MS) && w->o.busy(w->o.busy_ctx);
        if (yield && !yield_since)
            yield_since = t;
        if ((want || ends) && !gap && !yield) {
            yield_since = 0;
            if (want) {
                atomic_store(&w->woken, 0);
                next_poll = t + w->o.poll_ms;
            }
            turn(w, want);
            last_turn = t;
        }
        if (!stopping && t >= next_purge) {
            purge(w, t / 1000);
            next_purge = t + PURGE_EVERY_MS;
        }
        int running;
        curl_multi_perform(w->multi, &running);
        completed(w);
        int64_t until = next_poll;
        ends = count_ends(w);
        if (yield)
            until = now_ms() + 1; /* asks again in a millisecond */
        else if (w->backlog && ends == w->busy && !w->deferred_turn)
            until = now_ms(); /* the next turn is due now */
        else if ((ends || atomic_load(&w->woken) || (w->backlog && w->busy < w->o.concurrency)) &&
                 last_turn + CLAIM_GAP_MS < until)
            until = last_turn + CLAIM_GAP_MS;
        int64_t wait = until - now_ms();
        curl_multi_poll(w->multi, NULL, 0, wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait, NULL);
    }
    ny_err e;
    if (store_outbox_release(w->db, w->node, 0, 0, &e) != NY_OK)
        log_line("outbox claims not released", 0, e.msg);
    return NULL;
}

static int check_opts(outbox_opts *o, ny_err *e)
{
    o->max_attempts = o->max_attempts ? o->max_attempts : ROBOT_RETRY_ATTEMPTS;
    o->base_ms = o->base_ms ? o->base_ms : ROBOT_RETRY_BASE_MS;
    o->cap_ms = o->cap_ms ? o->cap_ms : ROBOT_RETRY_CAP_MS;
    o->lease_s = o->lease_s ? o->lease_s : 30;
    o->per_minute = o->per_minute ? o->per_minute : ROBOT_RATE_PER_MIN;
    o->concurrency = o->concurrency ? o->concurrency : 64;
    o->timeout_s = o->timeout_s ? o->timeout_s : 10;
    o->poll_ms = o->poll_ms ? o->poll_ms : 500;
    o->keep_s = o->keep_s ? o->keep_s : 7 * 86400;
    if (o->max_attempts > 100 || o->lease_s < 2 || o->lease_s > 3600 || o->per_minute > 1000 ||
        o->concurrency > 256 || o->timeout_s > 600 || o->poll_ms > 60000 || o->nice < 0 ||
        o->nice > 19 || o->keep_s > 3650u * 86400)
        return ny_err_set(e, NY_EINVAL,
                          "outbox options out of range (attempts 1..100, lease 2..3600 s, "
                          "per minute 1..1000, concurrency 1..256, keep up to 3650 days, "
                          "nice 0..19)");
    return NY_OK;
}

static void free_worker(outbox_worker *w)
{
    for (unsigned i = 0; w->slots && i < w->o.concurrency; i++) {
        if (w->slots[i].added)
            curl_multi_remove_handle(w->multi, w->slots[i].easy);
        if (w->slots[i].easy)
            curl_easy_cleanup(w->slots[i].easy);
    }
    if (w->multi)
        curl_multi_cleanup(w->multi);
    free(w->slots);
    free(w->hdrs);
    outbox_keys_free(&w->keys);
    store_close(w->db);
    free(w);
}

int outbox_start(const char *db_uri, const outbox_opts *o, outbox_worker **out, ny_err *e)
{
    *out = NULL;
    outbox_worker *w = calloc(1, sizeof *w);
    if (!w)
        return ny_err_set(e, NY_ERR, "out of memory");
    if (o)
        w->o = *o;
    int rc = check_opts(&w->o, e);
    if (rc == NY_OK)
        rc = robot_retry_init(&w->retry, w->o.base_ms, w->o.cap_ms, w->o.max_attempts, e);
    if (rc == NY_OK && (!(w->slots = calloc(w->o.concurrency, sizeof *w->slots)) ||
                        !(w->hdrs = calloc(w->o.concurrency, sizeof *w->hdrs))))
        rc = ny_err_set(e, NY_ERR, "out of memory");
    for (unsigned i = 0; rc == NY_OK && i < w->o.concurrency; i++)
        w->slots[i].hdr = &w->hdrs[i];
    if (rc == NY_OK && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        rc = ny_err_set(e, NY_ERR, "libcurl cannot start");
    if (rc == NY_OK && !(w->multi = curl_multi_init()))
        rc = ny_err_set(e, NY_ERR, "libcurl cannot start");
    if (rc == NY_OK)
        rc = store_open(db_uri, &(store_open_opts){0, 1}, &w->db, e);
    if (rc == NY_OK)
        rc = store_outbox_lazy_commits(w->db, e);
    if (rc == NY_OK) {
        char host[64] = "node";
        uint32_t nonce = 0;
        gethostname(host, sizeof host - 1);
        if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce)
            nonce = (uint32_t)now_ms();
        if (w->o.node)
            snprintf(w->node, sizeof w->node, "%s", w->o.node);
        else
            snprintf(w->node, sizeof w->node, "%s:%ld:%08x", host, (long)getpid(), nonce);
        w->o.node = NULL;
        if (pthread_create(&w->thread, NULL, run, w) != 0)
            rc = ny_err_set(e, NY_ERR, "cannot start the outbox thread");
    }
    if (rc != NY_OK) {
        free_worker(w);
        return rc;
    }
    *out = w;
    return NY_OK;
}

void outbox_wake(outbox_worker *w)
{
    if (!w)
        return;
    atomic_store(&w->woken, 1);
    curl_multi_wakeup(w->multi);
}

void outbox_stop(outbox_worker *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, 1);
    curl_multi_wakeup(w->multi);
    pthread_join(w->thread, NULL);
    free_worker(w);
}

void outbox_counts_get(outbox_worker *w, outbox_counts *c)
{
    memset(c, 0, sizeof *c);
    if (!w)
        return;
    c->sent = atomic_load(&w->sent);
    c->failures = atomic_load(&w->failures);
    c->dead = atomic_load(&w->dead);
    c->deferred = atomic_load(&w->deferred);
}
