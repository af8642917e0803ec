/* server_commit.c - group commit: concurrent ingest requests share one
 * transaction and one flush to disk.
 *
 * A request that has checked and triaged its messages hands its writes to
 * server_commit_run as a member: a function that writes them through a
 * given store handle (store_message_ingest_batch and whatever else must be
 * in the same transaction). Members queue under one mutex. A request that
 * finds nobody leading leads; otherwise it sleeps on its own condition
 * variable until the leader has answered it or handed it the lead. The
 * leader takes the queue (at most SERVER_COMMIT_MAX members, itself first),
 * runs every member in one transaction on the committer's own store handle,
 * commits once, then wakes exactly the members of its group and hands the
 * lead to the first request that queued meanwhile — no broadcast, so the
 * pool's other threads sleep on. Each request returns only when the commit
 * that holds its rows has returned, so the durability of a single commit
 * (DESIGN: synchronous=FULL, fsync) holds for every acknowledged message.
 *
 * The committer's handle is the only one the group commit writes through,
 * opened by the first leader and kept: its page cache and prepared
 * statements stay warm, where a handle that changed with every leader would
 * find its cache invalidated by the previous leader's commit and read the
 * changed pages again. On SQLite it does not checkpoint the WAL at commit
 * (store_wal_writer); a thread of the committer does, on a handle of its
 * own, every CKPT_MS while commits come in, so no group waits for a copy
 * of the log into the database file.
 *
 * One member's failure does not sink the others. A group first runs without
 * savepoints (a savepoint per member copies every page it touches); when a
 * member fails with a data error of its own (NY_EINVAL, NY_ENOTFOUND,
 * NY_EEXIST), the transaction is rolled back and the group runs again with
 * each member inside its own savepoint: the failing member is rolled back to
 * it and gets its error, the others commit. Any other failure (the database
 * unavailable, a savepoint or the commit failing) rolls the whole group
 * back, closes the committer's handle (the next leader opens a fresh one)
 * and sends every member that has no answer yet back to its own thread,
 * which runs it alone in a transaction of its own on its worker's handle, as
 * without group commit. A member may thus run more than once; only the run
 * that commits leaves rows. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_int.h"
#include "log.h"
#include "store_wal.h"

/* How often the checkpoint thread copies the WAL while commits come in. */
#define CKPT_MS 50

enum { QUEUED, LEAD, DONE, ALONE };

struct server_commit_member {
    server_apply_fn apply;
    void *ctx;
    pthread_cond_t cv; /* signalled when state leaves QUEUED */
    int state;         /* read and written under the committer's mutex only */
    int rc, own;       /* written by the leader while the member waits */
    ny_err e;
    struct server_commit_member *next;
};

const double server_commit_time_buckets[SERVER_COMMIT_NTIME] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                                0.025,  0.05,  0.1,    0.25,  1};

void server_commit_init(server_committer *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->ckpt_mu, NULL);
    pthread_cond_init(&c->ckpt_cv, NULL);
}

/* ---- the checkpoint thread ------------------------------------------------ */

static void *checkpointer(void *arg)
{
    server_committer *c = arg;
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
        pthread_mutex_unlock(&c->ckpt_mu);
        ny_err e;
        if (store_wal_checkpoint(c->ckpt_db, NULL, NULL, &e) == NY_OK)
            atomic_fetch_add(&c->checkpoints, 1);
        else /* the next turn tries again; a commit never waits for it */
            log_event("warn", "WAL checkpoint failed", "error", e.msg, NULL);
        pthread_mutex_lock(&c->ckpt_mu);
    }
    pthread_mutex_unlock(&c->ckpt_mu);
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
        return NY_OK;
    }
    c->ckpt_db = db;
    if (pthread_create(&c->ckpt_thread, NULL, checkpointer, c) != 0) {
        c->ckpt_db = NULL;
        store_close(db);
        return ny_err_set(e, NY_ERR, "cannot start the checkpoint thread");
    }
    return NY_OK;
}

void server_commit_destroy(server_committer *c)
{
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
    pthread_mutex_destroy(&c->ckpt_mu);
    pthread_cond_destroy(&c->ckpt_cv);
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

/* Runs the members in the open transaction. Without savepoints the first
 * member error ends the run and is returned (*mine = 1 for a data error of
 * the member's own). With savepoints a member's data error is undone and
 * kept in the member (own = 1) and the run goes on. Otherwise returns
 * NY_OK or the error that broke the transaction. */
static int run_members(store *db, struct server_commit_member *group, int savepoints, int *mine,
                       ny_err *e)
{
    *mine = 0;
    for (struct server_commit_member *m = group; m; m = m->next) {
        int rc = savepoints ? store_savepoint(db, e) : NY_OK;
        if (rc != NY_OK)
            return rc;
        m->own = 0;
        m->rc = m->apply(db, m->ctx, &m->e);
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

/* Runs the group on the committer's handle (opened here when there is
 * none): each member's rc (own = 1 for a data error of its own, already
 * undone). Returns the group's outcome: NY_OK when it was committed, else
 * the error that rolled it back. Called by the leader only. */
static int commit_group(server *sv, server_committer *c, struct server_commit_member *group)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ny_err e;
    int rc = NY_OK, mine = 0;
    if (!c->db) {
        rc = store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &c->db, &e);
        if (rc == NY_OK && c->ckpt_db)
            rc = store_wal_writer(c->db, &e);
    }
    if (rc == NY_OK)
        rc = store_begin(c->db, &e);
    if (rc == NY_OK)
        rc = run_members(c->db, group, 0, &mine, &e);
    if (rc != NY_OK && mine) { /* again, each member in a savepoint */
        atomic_fetch_add(&c->reruns, 1);
        store_rollback(c->db, NULL);
        rc = store_begin(c->db, &e);
        if (rc == NY_OK)
            rc = run_members(c->db, group, 1, &mine, &e);
    }
    if (rc == NY_OK)
        rc = store_commit(c->db, &e);
    if (rc == NY_OK) {
        long n = 0;
        for (struct server_commit_member *m = group; m; m = m->next)
            n++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        observe(c, n, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        return NY_OK;
    }
    if (c->db) { /* a handle in an unknown state is not reused */
        store_rollback(c->db, NULL);
        store_close(c->db);
        c->db = NULL;
    }
    atomic_fetch_add(&c->fallbacks, 1);
    return rc;
}

/* Runs one member alone in its own transaction. */
static int run_alone(store *db, server_apply_fn apply, void *ctx, ny_err *e)
{
    int rc = store_begin(db, e);
    if (rc != NY_OK)
        return rc;
    rc = apply(db, ctx, e);
    if (rc == NY_OK)
        return store_commit(db, e);
    store_rollback(db, NULL);
    return rc;
}

/* The leader's turn, entered and left with c->mu held and the leader at
 * the head of the queue: commits a group, answers its members, passes the
 * lead on. */
static void lead(server *sv, server_committer *c)
{
    struct server_commit_member *group = c->head, *last = group;
    for (int k = 1; k < SERVER_COMMIT_MAX && last->next; k++)
        last = last->next;
    c->head = last->next;
    if (!c->head)
        c->tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&c->mu);
    int rc = commit_group(sv, c, group);
    pthread_mutex_lock(&c->mu);
    for (struct server_commit_member *m = group, *next; m; m = next) {
        next = m->next; /* m may return (and vanish) once the mutex is released */
        m->state = rc == NY_OK || m->own ? DONE : ALONE;
        pthread_cond_signal(&m->cv);
    }
    if (c->head) { /* those who queued meanwhile: the first leads them */
        c->head->state = LEAD;
        pthread_cond_signal(&c->head->cv);
    } else {
        c->leading = 0;
    }
}

int server_commit_run(server *sv, server_worker *w, server_apply_fn apply, void *ctx, ny_err *e)
{
    server_committer *c = &sv->commit;
    struct server_commit_member me = {.apply = apply, .ctx = ctx, .state = QUEUED};
    pthread_cond_init(&me.cv, NULL);
    pthread_mutex_lock(&c->mu);
    if (c->tail)
        c->tail->next = &me;
    else
        c->head = &me;
    c->tail = &me;
    if (!c->leading) { /* nobody leads, so the queue was empty: me is its head */
        c->leading = 1;
        me.state = LEAD;
    }
    while (me.state == QUEUED)
        pthread_cond_wait(&me.cv, &c->mu);
    if (me.state == LEAD)
        lead(sv, c); /* me is the head, so it is in the group it commits */
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&me.cv);
    if (me.state == ALONE)
        return run_alone(w->db, apply, ctx, e);
    if (me.rc != NY_OK && e)
        *e = me.e;
    return me.rc;
}
