/* server_cases_sched.c - the server's case scheduler thread and its SLA
 * table.
 *
 * One thread per server runs case_sched_pass on its own store handle every
 * 0.2 s at server_now(), so a test that moves the test clock sees
 * reminders and escalations within a fraction of a second. A pass handles
 * at most 256 cases in at most half a second; after a pass that handled
 * any the next one follows at once, so a burst drains without waiting.
 * Several nodes may run schedulers on one database: the pass is safe
 * against that (case_sched.h). Errors are logged as JSON lines on stderr
 * and the thread goes on; a lost database is retried on the next tick.
 *
 * After each pass the thread publishes the case log's new entries on the
 * live stream (server_cases_events.c); a staff action pokes it awake so its
 * event goes out at once rather than at the next tick.
 *
 * The same thread sends the daily digests: once the local time passes
 * digest_at (data/sla.tsv) it enqueues the day's digest job (jobs, with
 * the date as dedupe key, so the nodes enqueue it once), claims it, and
 * queues every staff member's digest of the day before in the outbox in
 * the transaction that marks the job done. A server that was down at
 * digest time enqueues the missed day's job when it starts (only the
 * latest: older digests are stale; and only on a database that has had
 * digests: a new one missed nothing, also when it starts after the day's
 * digest time); the dedupe key keeps it to once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "case_sched.h"
#include "domain.h"
#include "log.h"
#include "outbox.h"
#include "server_cases.h"
#include "store_case.h"
#include "store_case_report.h"
#include "thread.h"

struct server_cases_state {
    sla *sla;
    pthread_t thread;
    int running;
    atomic_int stop;
    pthread_mutex_t lock; /* guards poked; wake signals it */
    pthread_cond_t wake;
    int poked;
    server_case_feed feed;
};

#define DAY 86400

typedef struct recipient {
    char code[32], level[16], account[128];
} recipient;

struct recipients {
    recipient *r;
    size_t n, cap;
};

static int on_recipient(void *ctx, const char *code, const char *level, const char *account)
{
    struct recipients *rs = ctx;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 256;
        recipient *p = realloc(rs->r, cap * sizeof *p);
        if (!p)
            return NY_ERR;
        rs->r = p;
        rs->cap = cap;
    }
    recipient *x = &rs->r[rs->n++];
    snprintf(x->code, sizeof x->code, "%s", code);
    snprintf(x->level, sizeof x->level, "%s", level);
    snprintf(x->account, sizeof x->account, "%s", account);
    return NY_OK;
}

/* Queues the digest of the local day starting at day for every staff
 * member, inside the caller's transaction. */
static int send_digests(store *db, int64_t day, int64_t now, ny_err *e)
{
    struct recipients rs = {0};
    int rc = store_case_digest_staff(db, on_recipient, &rs, e);
    char text[4096] = "", date[32], name[128], level[16], parent[32], prefix[32];
    case_time_iso(day, date);
    date[10] = '\0';
    for (size_t i = 0; i < rs.n && rc == NY_OK; i++) {
        recipient *x = &rs.r[i];
        if (i == 0 || strcmp(x->code, rs.r[i - 1].code) != 0) {
            rc = store_case_unit(db, x->code, name, sizeof name, level, sizeof level, parent,
                                 sizeof parent, e);
            if (rc == NY_OK && domain_unit_prefix(x->level, x->code, prefix, sizeof prefix))
                rc = ny_err_set(e, NY_EINVAL, "malformed unit code %s", x->code);
            if (rc == NY_OK)
                rc = server_cases_digest_text(db, name, prefix, day, text, sizeof text, e);
        }
        char key[64]; /* accounts may hold any characters: the key names a hash of it */
        uint64_t h = 1469598103934665603ull;
        for (const char *p = x->account; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        snprintf(key, sizeof key, "digest:%s:%016llx", date, (unsigned long long)h);
        outbox_item it = {
            .key = key, .kind = "notify", .account = x->account, .text = text, .priority = 3};
        if (rc == NY_OK)
            rc = outbox_enqueue(db, &it, now, NULL, NULL, e);
    }
    free(rs.r);
    return rc;
}

/* Enqueues the digest job of the last digest time that has passed (today's
 * once digest_at is past, else yesterday's: a server that was down at
 * digest time catches up when it starts), then runs any digest job that is
 * due. The job's dedupe key names its day, so each day's digest is queued
 * once whatever the restarts and nodes. last holds the day already
 * enqueued by this thread. */
static int digest_tick(store *db, const sla *s, int64_t now, const char *worker, int64_t *last,
                       ny_err *e)
{
    int64_t local = now + CALENDAR_OFFSET, into = ((local % DAY) + DAY) % DAY;
    int64_t today = now - into;
    int64_t due = into >= (int64_t)sla_digest_minute(s) * 60 ? today : today - DAY;
    /* Catching up — a digest time that passed before this thread's first
     * tick, yesterday's or today's — only where digests were sent before. */
    if (*last != due && (due != today || *last == 0)) {
        int64_t jobs = 0;
        int rc = store_case_digest_jobs(db, &jobs, e);
        if (rc != NY_OK)
            return rc;
        if (jobs == 0)
            *last = due;
    }
    if (*last != due) {
        char key[48], payload[48], date[32];
        case_time_iso(due, date);
        date[10] = '\0';
        snprintf(key, sizeof key, "case_digest:%s", date);
        snprintf(payload, sizeof payload, "{\"day\":%lld}", (long long)(due - DAY));
        store_job job = {0, "case_digest", key, payload, now, 0};
        int rc = store_job_enqueue(db, &job, NULL, e);
        if (rc != NY_OK && rc != NY_EEXIST)
            return rc;
        *last = due;
    }
    store_job job;
    int rc = store_job_claim(db, "case_digest", worker, now, 300, &job, e);
    if (rc == NY_ENOTFOUND)
        return NY_OK;
    if (rc != NY_OK)
        return rc;
    long long day = 0;
    if (sscanf(job.payload, "{\"day\":%lld}", &day) != 1)
        day = today - DAY;
    int64_t id = job.id;
    if ((rc = store_begin(db, e)) != NY_OK)
        return rc;
    rc = send_digests(db, (int64_t)day, now, e);
    if (rc == NY_OK)
        rc = store_job_done(db, id, worker, now, e);
    return store_end(db, rc, e);
}

/* Waits 0.2 s, or until poked or stopped. */
static void nap(struct server_cases_state *st)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&st->lock);
    while (!st->poked && !atomic_load(&st->stop))
        if (pthread_cond_timedwait(&st->wake, &st->lock, &until) != 0)
            break;
    st->poked = 0;
    pthread_mutex_unlock(&st->lock);
}

void server_cases_poke(server *sv)
{
    struct server_cases_state *st = sv->cases;
    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    st->poked = 1;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->lock);
}

static void *run(void *arg)
{
    server *sv = arg;
    thread_name("ny-cases");
    struct server_cases_state *st = sv->cases;
    store *db = NULL;
    char worker[64];
    snprintf(worker, sizeof worker, "sched-%ld-%p", (long)getpid(), (void *)sv);
    int64_t last_digest = 0;
    while (!atomic_load(&st->stop)) {
        ny_err e;
        ny_err_clear(&e);
        if (!db && store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &db, &e) != NY_OK) {
            log_event("error", "case scheduler: cannot open the database", "error", e.msg, NULL);
            db = NULL;
        }
        case_sched_stats s = {0};
        int64_t now = server_now(sv);
        int rc = db ? case_sched_pass(db, st->sla, now, CASE_SCHED_MAX, &s, &e) : NY_OK;
        if (rc != NY_OK)
            log_event("error", "case scheduler pass failed", "error", e.msg, NULL);
        if (db && digest_tick(db, st->sla, now, worker, &last_digest, &e) != NY_OK)
            log_event("error", "daily digest failed", "error", e.msg, NULL);
        if (db && server_cases_feed_poll(sv, db, &st->feed, &e) != NY_OK)
            log_event("error", "case events not read", "error", e.msg, NULL);
        long done = s.reminded + s.escalated + s.overdue + s.skipped;
        if (done == 0 || rc != NY_OK) /* after a busy pass the next follows at once */
            nap(st);
    }
    store_close(db);
    return NULL;
}

int server_cases_start(server *sv, ny_err *e)
{
    struct server_cases_state *st = calloc(1, sizeof *st);
    if (!st)
        return ny_err_set(e, NY_ERR, "out of memory");
    int rc = sla_load(sv->o.data_dir, &st->sla, e);
    if (rc != NY_OK) {
        free(st);
        return rc;
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->wake, NULL);
    sv->cases = st;
    store *db = NULL; /* events are announced from here on, before the first request */
    ny_err why;
    if (store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &db, &why) != NY_OK ||
        server_cases_feed_poll(sv, db, &st->feed, &why) != NY_OK)
        log_event("warn", "case events not read (retried)", "error", why.msg, NULL);
    store_close(db);
    if (pthread_create(&st->thread, NULL, run, sv) != 0)
        return ny_err_set(e, NY_ERR, "cannot start the case scheduler thread");
    st->running = 1;
    return NY_OK;
}

void server_cases_stop(server *sv)
{
    struct server_cases_state *st = sv->cases;
    if (!st)
        return;
    atomic_store(&st->stop, 1);
    server_cases_poke(sv);
    if (st->running)
        pthread_join(st->thread, NULL);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->lock);
    sla_free(st->sla);
    free(st);
    sv->cases = NULL;
}

const sla *server_cases_sla(server *sv)
{
    return sv->cases->sla;
}
