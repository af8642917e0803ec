/* server_commit.c - group commit: concurrent ingest requests share one
 * transaction and one flush to disk.
 *
 * A request that has checked and triaged its messages hands its writes to
 * server_commit_run as a member: a function that writes them through a
 * given store handle (store_message_ingest_batch and whatever else must be
 * in the same transaction). Members queue under one mutex. The first
 * request to find no leader becomes the leader: it takes the queue (at most
 * SERVER_COMMIT_MAX members), runs every member in one transaction on its
 * own store handle, each inside its own savepoint, commits once, marks the
 * members done and wakes the waiters; members that queued meanwhile form
 * the next group, led by one of them. Each request returns only when the
 * commit that holds its rows has returned, so the durability of a single
 * commit (DESIGN: synchronous=FULL, fsync) holds for every acknowledged
 * message.
 *
 * One member's failure does not sink the others. A member whose writes fail
 * with a data error (NY_EINVAL, NY_ENOTFOUND, NY_EEXIST) is rolled back to
 * its savepoint and gets that error; the group goes on. Any other failure
 * (the database unavailable, a savepoint or the commit failing) rolls the
 * whole group back and sends every member that has no answer yet back to
 * its own thread, which runs it alone in a transaction of its own, as
 * without group commit. */
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

enum { QUEUED, DONE, ALONE };

struct server_commit_member {
    server_apply_fn apply;
    void *ctx;
    int state;   /* read and written under the committer's mutex only */
    int rc, own; /* written by the leader while the member waits */
    ny_err e;
    struct server_commit_member *next;
};

void server_commit_init(server_committer *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

void server_commit_destroy(server_committer *c)
{
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

static int data_error(int rc)
{
    return rc == NY_EINVAL || rc == NY_ENOTFOUND || rc == NY_EEXIST;
}

/* Runs the group on db: each member's rc (own = 1 for a data error of its
 * own, already undone). Returns the group's outcome: NY_OK when it was
 * committed, else the error that rolled it back. */
static int commit_group(server_committer *c, store *db, struct server_commit_member *group)
{
    ny_err e;
    int rc = store_begin(db, &e);
    for (struct server_commit_member *m = group; rc == NY_OK && m; m = m->next) {
        rc = store_savepoint(db, &e);
        if (rc != NY_OK)
            break;
        m->rc = m->apply(db, m->ctx, &m->e);
        if (m->rc == NY_OK) {
            rc = store_savepoint_release(db, &e);
        } else if (data_error(m->rc)) {
            m->own = 1; /* its own error; the savepoint undoes its writes */
            rc = store_savepoint_rollback(db, &e);
        } else {
            rc = m->rc;
        }
    }
    if (rc == NY_OK)
        rc = store_commit(db, &e);
    else
        store_rollback(db, NULL);
    long members = 0;
    for (struct server_commit_member *m = group; m; m = m->next)
        members++;
    if (rc == NY_OK) {
        atomic_fetch_add(&c->commits, 1);
        atomic_fetch_add(&c->members, members);
    } else {
        atomic_fetch_add(&c->fallbacks, 1);
    }
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

int server_commit_run(server *sv, server_worker *w, server_apply_fn apply, void *ctx, ny_err *e)
{
    server_committer *c = &sv->commit;
    struct server_commit_member me = {.apply = apply, .ctx = ctx, .state = QUEUED};
    pthread_mutex_lock(&c->mu);
    if (c->tail)
        c->tail->next = &me;
    else
        c->head = &me;
    c->tail = &me;
    while (me.state == QUEUED) {
        if (c->leading || !c->head) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        /* lead: take up to SERVER_COMMIT_MAX members off the queue */
        struct server_commit_member *group = c->head, *last = group;
        for (int k = 1; k < SERVER_COMMIT_MAX && last->next; k++)
            last = last->next;
        c->head = last->next;
        if (!c->head)
            c->tail = NULL;
        last->next = NULL;
        c->leading = 1;
        pthread_mutex_unlock(&c->mu);
        int rc = commit_group(c, w->db, group);
        pthread_mutex_lock(&c->mu);
        for (struct server_commit_member *m = group, *next; m; m = next) {
            next = m->next; /* m may return (and vanish) once the mutex is released */
            m->state = rc == NY_OK || m->own ? DONE : ALONE;
        }
        c->leading = 0;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    if (me.state == ALONE)
        return run_alone(w->db, apply, ctx, e);
    if (me.rc != NY_OK && e)
        *e = me.e;
    return me.rc;
}
