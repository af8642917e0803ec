/* server_commit.c - group commit: concurrent ingest requests share one
 * transaction and one flush to disk, written by one committer thread.
 *
 * A request that has checked and triaged its messages hands its writes to
 * the committer as a job: a function that writes them through a given store
 * handle (store_message_ingest_batch and whatever else must be in the same
 * transaction) and a function to call when they are durable or have failed.
 * Jobs queue under one mutex. The committer thread takes everything queued
 * (at most SERVER_COMMIT_MAX jobs), runs it in one transaction on its own
 * store handle, commits once (DESIGN: synchronous=FULL, fsync), then calls
 * each job's done function and takes the next group, which has queued
 * meanwhile: the group grows with the load by itself. POST
 * /api/v1/messages does not wait for its job on a pool thread: it suspends
 * its connection, and its done function resumes it (server_ingest.c), so a
 * pool of a few threads keeps every connection moving while commits run.
 * server_commit_run is the waiting form for callers that must answer in
 * the same call (the WeCom callback, and ingest while the server closes).
 * Either way a request is answered only after the commit that holds its
 * rows has returned, so the durability of one commit holds for every
 * acknowledged message.
 *
 * The committer's handle is the only one the group commit writes through,
 * opened on the first group and kept: its page cache and prepared
 * statements stay warm. On SQLite it does not checkpoint the WAL at commit
 * (store_wal_writer); a thread of the committer does, on a handle of its
 * own, every CKPT_MS while commits come in, so no group waits for a copy
 * of the log into the database file. Those checkpoints are passive, and the
 * WAL starts over only when a write transaction begins with every frame
 * copied and no reader in the WAL, which never happens while groups follow
 * each other; so once the WAL is longer than CKPT_RESTART_FRAMES the
 * committer itself runs a restart checkpoint between two groups, waiting at
 * most CKPT_RESTART_WAIT_MS for the WAL's readers, and the next group
 * starts the WAL over (DESIGN: 10-30 ms every 64 MiB).
 *
 * A group first runs without savepoints, and there consecutive members
 * that share an apply_many (ingest requests: server_ingest.c) are written
 * by one call of it, so that their messages, leads, cases and outbox rows
 * go into each table with one set of multi-row statements rather than one
 * set per request (server_effects_apply); a failure of that call counts as
 * every one of its members' own.
 *
 * One member's failure does not sink the others. A group first runs without
 * savepoints (a savepoint per member copies every page it touches); when a
 * member fails with a data error of its own (NY_EINVAL, NY_ENOTFOUND,
 * NY_EEXIST), the transaction is rolled back and the group runs again with
 * each member inside its own savepoint: the failing member is rolled back to
 * it and gets its error, the others commit. Any other failure (the database
 * unavailable, a savepoint or the commit failing) rolls the whole group
 * back, closes the committer's handle and runs every member that has no
 * answer yet alone, in a transaction of its own on a fresh handle. A member
 * may thus run more than once; only the run that commits leaves rows.
 *
 * The committer's handle pipelines (store_pipeline): on PostgreSQL the
 * statements a member reads nothing from go out with the next one it
 * needs an answer from, so a member's failure may come back at a later
 * statement, even a later member's, or at the commit. A data error anywhere
 * in the first run, its commit included, therefore means the rerun; in the
 * rerun each member is synced (store_sync) before its savepoint is
 * released, so what fails there is the member's own, with the code and
 * message it would have had.
 *
 * Closing (server_stop): server_commit_close refuses new suspended jobs
 * (server_commit_reserve answers 0, the request waits with
 * server_commit_run instead) and waits until every suspended job is done,
 * so libmicrohttpd is never stopped with a connection still suspended;
 * server_commit_destroy then lets the thread finish what is queued and
 * joins it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_int.h"
#include "log.h"
#include "store_wal.h"
#include "thread.h"

/* How often the checkpoint thread copies the WAL while commits come in. */
#define CKPT_MS 50

/* The WAL's length in frames (64 MiB of 4 KiB pages) beyond which the
 * committer makes the log start over (restart_wal), and how long that
 * waits at most for the WAL's readers (the next group waits with it). */
#define CKPT_RESTART_FRAMES 16384
#define CKPT_RESTART_WAIT_MS 100

const double server_commit_time_buckets[SERVER_COMMIT_NTIME] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                                0.025,  0.05,  0.1,    0.25,  1};

void server_commit_init(server_committer *c)
{
    memset(c, 0, sizeof *c);
    c->restart_at = CKPT_RESTART_FRAMES;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_cond_init(&c->drained, NULL);
    pthread_mutex_init(&c->ckpt_mu, NULL);
    pthread_cond_init(&c->ckpt_cv, NULL);
}

/* ---- the checkpoint thread ------------------------------------------------ */

static void *checkpointer(void *arg)
{
    server_committer *c = arg;
    thread_name("ny-checkpoint");
    long seen = 0;
    pthread_mutex_lock(&c->ckpt_mu);
    while (!c->ckpt_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CKPT_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->ckpt_cv, &c->ckpt_mu, &until);
        long commits = atomic_load(&c->commits);
        if (c->ckpt_stop || commits == seen)
            continue;
        seen = commits;
        /* ckpt_mu stays held: the committer's restart_wal waits for this
         * checkpoint rather than find SQLite's checkpoint lock taken */
        ny_err e;
        long frames = 0;
        if (store_wal_checkpoint(c->ckpt_db, 0, &frames, NULL, &e) == NY_OK) {
            atomic_fetch_add(&c->checkpoints, 1);
            atomic_store(&c->wal_frames, frames);
        } else { /* the next turn tries again; a commit never waits for it */
            log_event("warn", "WAL checkpoint failed", "error", e.msg, NULL);
        }
    }
    pthread_mutex_unlock(&c->ckpt_mu);
    return NULL;
}

/* ---- one group ---------------------------------------------------------- */

static int data_error(int rc)
{
    return rc == NY_EINVAL || rc == NY_ENOTFOUND || rc == NY_EEXIST;
}

/* Counts a committed group of n members that took seconds. */
static void observe(server_committer *c, long n, double seconds)
{
    size_t b = 0;
    while (b + 1 < SERVER_COMMIT_NSIZE && n > 1L << b)
        b++;
    atomic_fetch_add(&c->size_bucket[b], 1);
    b = 0;
    while (b < SERVER_COMMIT_NTIME && seconds > server_commit_time_buckets[b])
        b++;
    atomic_fetch_add(&c->time_bucket[b], 1);
    atomic_fetch_add(&c->time_us_sum, (long)(seconds * 1e6));
    atomic_fetch_add(&c->commits, 1);
    atomic_fetch_add(&c->members, n);
}

/* How many members from m on share m's apply_many (1 when it has none). */
static size_t together(const server_commit_job *m)
{
    size_t n = 1;
    for (const server_commit_job *x = m->next; m->apply_many && x && x->apply_many == m->apply_many;
         x = x->next)
        n++;
    return n;
}

/* Runs the members in the open transaction. Without savepoints the first
 * member error ends the run and is returned (*mine = 1 for a data error of
 * the member's own, or of a run of members written together by their
 * apply_many). With savepoints a member's data error is undone and kept in
 * the member (own = 1) and the run goes on. Otherwise returns NY_OK or the
 * error that broke the transaction. */
static int run_members(store *db, server_commit_job *group, int savepoints, int *mine, ny_err *e)
{
    *mine = 0;
    for (server_commit_job *m = group; m; m = m->next) {
        size_t n = savepoints ? 1 : together(m);
        if (n > 1) { /* one call for the run; rc and e are the group's until the rerun */
            int rc = m->apply_many(db, m, n, e);
            for (size_t k = 0; k < n; k++) {
                m->own = 0;
                m->rc = rc;
                if (k + 1 < n)
                    m = m->next;
            }
            if (rc != NY_OK) {
                *mine = data_error(rc);
                return rc;
            }
            continue;
        }
        int rc = savepoints ? store_savepoint(db, e) : NY_OK;
        if (rc != NY_OK)
            return rc;
        m->own = 0;
        m->rc = m->apply(db, m->ctx, &m->e);
        if (m->rc == NY_OK && savepoints) /* what the driver pipelined is the member's too */
            m->rc = store_sync(db, &m->e);
        if (m->rc == NY_OK) {
            rc = savepoints ? store_savepoint_release(db, e) : NY_OK;
        } else if (data_error(m->rc) && savepoints) {
            m->own = 1; /* its own error; the savepoint undoes its writes */
            rc = store_savepoint_rollback(db, e);
        } else {
            *mine = data_error(m->rc);
            rc = m->rc;
        }
        if (rc != NY_OK)
            return rc;
    }
    return NY_OK;
}

/* Opens the committer's handle when it has none. */
static int writer(server *sv, server_committer *c, ny_err *e)
{
    if (c->db)
        return NY_OK;
    int rc = store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &c->db, e);
    if (rc == NY_OK)
        store_pipeline(c->db, 1);
    if (rc == NY_OK && c->ckpt_db)
        rc = store_wal_writer(c->db, e);
    if (rc != NY_OK && c->db) {
        store_close(c->db);
        c->db = NULL;
    }
    return rc;
}

/* Closes a handle in an unknown state after a failure: the next group
 * opens a fresh one. */
static void drop_writer(server_committer *c)
{
    if (c->db) {
        store_rollback(c->db, NULL);
        store_close(c->db);
        c->db = NULL;
    }
}

/* Runs the group on the committer's handle: each member's rc (own = 1 for
 * a data error of its own, already undone). Returns the group's outcome:
 * NY_OK when it was committed, else the error that rolled it back. */
static int commit_group(server *sv, server_committer *c, server_commit_job *group)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ny_err e;
    int mine = 0;
    int rc = writer(sv, c, &e);
    if (rc == NY_OK)
        rc = store_begin(c->db, &e);
    if (rc == NY_OK)
        rc = run_members(c->db, group, 0, &mine, &e);
    if (rc == NY_OK && (rc = store_commit(c->db, &e)) != NY_OK)
        mine = data_error(rc); /* a member's pipelined statement failed */
    if (rc != NY_OK && mine) { /* again, each member in a savepoint */
        atomic_fetch_add(&c->reruns, 1);
        store_rollback(c->db, NULL);
        rc = store_begin(c->db, &e);
        if (rc == NY_OK)
            rc = run_members(c->db, group, 1, &mine, &e);
        if (rc == NY_OK)
            rc = store_commit(c->db, &e);
    }
    if (rc == NY_OK) {
        long n = 0;
        for (server_commit_job *m = group; m; m = m->next)
            n++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        observe(c, n, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        return NY_OK;
    }
    drop_writer(c);
    atomic_fetch_add(&c->fallbacks, 1);
    return rc;
}

/* After a failed group: runs each member without an answer of its own
 * alone, in its own transaction on the committer's handle (reopened). */
static void run_alone(server *sv, server_committer *c, server_commit_job *group)
{
    for (server_commit_job *m = group; m; m = m->next) {
        if (m->own)
            continue;
        m->rc = writer(sv, c, &m->e);
        if (m->rc == NY_OK)
            m->rc = store_begin(c->db, &m->e);
        if (m->rc != NY_OK) {
            drop_writer(c);
            continue;
        }
        m->rc = m->apply(c->db, m->ctx, &m->e);
        if (m->rc == NY_OK)
            m->rc = store_commit(c->db, &m->e);
        if (m->rc != NY_OK && data_error(m->rc))
            store_rollback(c->db, NULL);
        else if (m->rc != NY_OK)
            drop_writer(c);
    }
}

/* Between two groups, once the last checkpoint found the WAL longer than
 * c->restart_at frames: a restart checkpoint on the committer's handle. The
 * committer is the writer, so it waits for no lock but the WAL's readers,
 * for CKPT_RESTART_WAIT_MS at most; what is left to copy is what the
 * checkpoint thread has not copied yet (about one group). The next group
 * then starts the WAL over. One that gave up (a long reader) is tried
 * again once the WAL has grown by another CKPT_RESTART_FRAMES. */
static void restart_wal(server_committer *c)
{
    long frames = atomic_load(&c->wal_frames);
    if (!c->db || !c->ckpt_db || frames <= c->restart_at)
        return;
    ny_err e;
    pthread_mutex_lock(&c->ckpt_mu); /* not during the checkpoint thread's turn */
    store_busy_limit(c->db, CKPT_RESTART_WAIT_MS);
    int rc = store_wal_checkpoint(c->db, 1, NULL, NULL, &e);
    store_busy_limit(c->db, STORE_BUSY_MS);
    pthread_mutex_unlock(&c->ckpt_mu);
    if (rc == NY_OK) {
        c->restart_at = CKPT_RESTART_FRAMES;
        atomic_store(&c->wal_frames, 0);
        atomic_fetch_add(&c->wal_restarts, 1);
        return;
    }
    c->restart_at = frames + CKPT_RESTART_FRAMES;
    if (rc != NY_EUNAVAIL)
        log_event("warn", "WAL restart failed", "error", e.msg, NULL);
}

/* ---- the committer thread ------------------------------------------------ */

/* Takes the queue's first SERVER_COMMIT_MAX jobs (c->mu held). */
static server_commit_job *take(server_committer *c)
{
    server_commit_job *group = c->head, *last = group;
    for (int k = 1; k < SERVER_COMMIT_MAX && last->next; k++)
        last = last->next;
    c->head = last->next;
    if (!c->head)
        c->tail = NULL;
    last->next = NULL;
    return group;
}

static void *committer(void *arg)
{
    server *sv = arg;
    thread_name("ny-commit");
    server_committer *c = &sv->commit;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->head && !c->stop) {
            c->idle = 1;
            pthread_cond_wait(&c->cv, &c->mu);
        }
        c->idle = 0;
        if (!c->head)
            break; /* stopping, and nothing is left */
        server_commit_job *group = take(c);
        pthread_mutex_unlock(&c->mu);
        if (commit_group(sv, c, group) != NY_OK)
            run_alone(sv, c, group);
        long ended = 0;
        for (server_commit_job *m = group, *next; m; m = next) {
            next = m->next; /* m is its owner's again once done is called */
            ended += m->reserved;
            m->done(m);
        }
        restart_wal(c);
        pthread_mutex_lock(&c->mu);
        if (ended && atomic_fetch_sub(&c->reserved, ended) == ended)
            pthread_cond_broadcast(&c->drained);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int server_commit_start(server *sv, ny_err *e)
{
    server_committer *c = &sv->commit;
    store *db;
    int rc = store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &db, e);
    if (rc != NY_OK)
        return rc;
    if (strcmp(store_engine(db), "sqlite") != 0) {
        store_close(db);
    } else {
        c->ckpt_db = db;
        if (pthread_create(&c->ckpt_thread, NULL, checkpointer, c) != 0) {
            c->ckpt_db = NULL;
            store_close(db);
            return ny_err_set(e, NY_ERR, "cannot start the checkpoint thread");
        }
    }
    if (pthread_create(&c->thread, NULL, committer, sv) != 0)
        return ny_err_set(e, NY_ERR, "cannot start the committer thread");
    c->running = 1;
    return NY_OK;
}

int server_commit_reserve(server *sv)
{
    server_committer *c = &sv->commit;
    atomic_fetch_add(&c->reserved, 1); /* before looking at closing: see server_commit_close */
    if (!atomic_load(&c->closing))
        return 1;
    pthread_mutex_lock(&c->mu);
    atomic_fetch_sub(&c->reserved, 1);
    pthread_cond_broadcast(&c->drained);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* Queues job (its reserved flag set by the caller). */
static void queue(server_committer *c, server_commit_job *job)
{
    job->next = NULL;
    job->own = 0;
    pthread_mutex_lock(&c->mu);
    if (c->tail)
        c->tail->next = job;
    else
        c->head = job;
    c->tail = job;
    if (c->idle) { /* a busy committer finds the job when it takes its next group */
        c->idle = 0;
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

void server_commit_submit(server *sv, server_commit_job *job)
{
    job->reserved = 1;
    queue(&sv->commit, job);
}

/* A job server_commit_run waits for. */
typedef struct waiter {
    server_commit_job job;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} waiter;

static void wake(server_commit_job *job)
{
    waiter *w = (waiter *)job;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int server_commit_run(server *sv, server_apply_fn apply, void *ctx, ny_err *e)
{
    waiter w = {.job = {.apply = apply, .ctx = ctx, .done = wake}};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    queue(&sv->commit, &w.job);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    if (w.job.rc != NY_OK && e)
        *e = w.job.e;
    return w.job.rc;
}

void server_commit_close(server *sv)
{
    server_committer *c = &sv->commit;
    atomic_store(&c->closing, 1);
    pthread_mutex_lock(&c->mu);
    while (atomic_load(&c->reserved) > 0)
        pthread_cond_wait(&c->drained, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

void server_commit_destroy(server_committer *c)
{
    if (c->running) { /* the thread commits what is queued, then ends */
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
        c->running = 0;
    }
    if (c->ckpt_db) {
        pthread_mutex_lock(&c->ckpt_mu);
        c->ckpt_stop = 1;
        pthread_cond_signal(&c->ckpt_cv);
        pthread_mutex_unlock(&c->ckpt_mu);
        pthread_join(c->ckpt_thread, NULL);
        store_close(c->ckpt_db);
        c->ckpt_db = NULL;
    }
    store_close(c->db);
    c->db = NULL;
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    pthread_cond_destroy(&c->drained);
    pthread_mutex_destroy(&c->ckpt_mu);
    pthread_cond_destroy(&c->ckpt_cv);
}
