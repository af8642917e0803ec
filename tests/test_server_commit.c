/* test_server_commit.c - tests of the ingest group commit
 * (server_commit_run), on either engine.
 *
 * Eight threads hand in one message each at the same moment, with a write slow enough
 * that they queue: every message is stored, fewer transactions are
 * committed than requests, and the one request whose group is unknown gets
 * its own error without sinking the others. A member failing with a
 * non-data error (the database unavailable) rolls its group back; every
 * member is then retried alone and stored exactly once. Savepoints keep the
 * transaction usable after a member's failure on PostgreSQL too. On SQLite
 * the committer's checkpoint thread copies the WAL into the database file
 * while commits come in; on PostgreSQL there is no such thread. One thread
 * handing in 64 jobs without waiting for them (as a pool thread does with
 * suspended connections) gets every one done in a few shared commits, and
 * closing the committer waits for all of them, then makes callers wait
 * (server_commit_run) instead. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server_int.h"
#include "testutil.h"

#define NTHREADS 8

static const store_unit units[] = {
    {0, "411571000000", "羊山新区", "district", NULL},
    {0, "411571001000", "前进街道", "street", "411571000000"},
    {0, "411571001001", "新都社区", "community", "411571001000"},
    {0, "411571001001001", "新都社区第一网格", "grid", "411571001001"},
};

static int64_t gid;
static char uri[512];

/* One request of a thread. */
typedef struct req {
    server *sv;
    int k, rc;
    int fail_once; /* 1: the first run answers NY_EUNAVAIL */
    int runs;      /* how often apply ran */
    int bad_group; /* 1: the message names a group that does not exist */
    pthread_barrier_t *go;
} req;

static int apply(store *db, void *ctx, ny_err *e)
{
    req *q = ctx;
    char id[16];
    snprintf(id, sizeof id, "m%d", q->k);
    store_message m = {0,          q->bad_group ? 999999 : gid,
                       "c1",       id,
                       "u1",       "张三",
                       1764547200, "路灯坏了",
                       "report",   "城乡建设",
                       "{}"};
    int64_t mid;
    int dup;
    struct timespec slow = {0, 2 * 1000 * 1000};
    nanosleep(&slow, NULL);
    if (q->runs++ == 0 && q->fail_once)
        return ny_err_set(e, NY_EUNAVAIL, "simulated lost connection");
    return store_message_ingest_batch(db, &m, 1, &mid, &dup, e);
}

static void *thread(void *arg)
{
    req *q = arg;
    ny_err e;
    pthread_barrier_wait(q->go);
    q->rc = server_commit_run(q->sv, apply, q, &e);
    return NULL;
}

static int count(void *ctx, const store_message *m)
{
    (void)m;
    ++*(int *)ctx;
    return NY_OK;
}

/* Waits up to 2 s for the checkpoint thread's first checkpoint. */
static long first_checkpoint(server *sv)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 200 && atomic_load(&sv->commit.checkpoints) == 0; i++)
        nanosleep(&tick, NULL);
    return atomic_load(&sv->commit.checkpoints);
}

/* Runs NTHREADS requests at once on a fresh database: request fail_k fails
 * its first run with NY_EUNAVAIL, or with fail_k -1 request 3 names an
 * unknown group. With start, *checkpoints gets how many checkpoints the
 * committer's checkpoint thread took. Returns the number of messages
 * stored. */
static int run(const char *tag, int fail_k, int start, long *checkpoints, server *sv, req *qs)
{
    ny_err e;
    store *s;
    snprintf(uri, sizeof uri, "%s", tu_db_uri(tag));
    MUST(store_open(uri, NULL, &s, &e));
    store_group g = {0, "webhook", "g1", "resident", "411571001001001", "一网格群", 10, ""};
    MUST(store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, &e));
    MUST(store_group_put_batch(s, &g, 1, &gid, &e));
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NTHREADS);
    memset(sv, 0, sizeof *sv);
    sv->o.db_uri = uri; /* the committer opens its own handle on it */
    server_commit_init(&sv->commit);
    MUST(server_commit_start(sv, &e));
    pthread_t t[NTHREADS];
    for (int k = 0; k < NTHREADS; k++)
        qs[k] = (req){sv, k, NY_ERR, k == fail_k, 0, fail_k < 0 && k == 3, &go};
    for (int k = 0; k < NTHREADS; k++)
        assert_int_equal(pthread_create(&t[k], NULL, thread, &qs[k]), 0);
    for (int k = 0; k < NTHREADS; k++)
        pthread_join(t[k], NULL);
    pthread_barrier_destroy(&go);
    if (start)
        *checkpoints = sv->commit.ckpt_db ? first_checkpoint(sv) : 0;
    server_commit_destroy(&sv->commit);
    int n = 0;
    MUST(store_messages_each(s, count, &n, &e));
    store_close(s);
    return n;
}

static void test_group_and_own_error(void **state)
{
    (void)state;
    static server sv;
    req qs[NTHREADS];
    assert_int_equal(run("commit_group", -1, 0, NULL, &sv, qs), NTHREADS - 1);
    for (int k = 0; k < NTHREADS; k++)
        assert_int_equal(qs[k].rc, k == 3 ? NY_ENOTFOUND : NY_OK);
    long commits = atomic_load(&sv.commit.commits), members = atomic_load(&sv.commit.members);
    assert_int_equal(members, NTHREADS);
    assert_true(commits >= 1 && commits < members);
    assert_int_equal(atomic_load(&sv.commit.fallbacks), 0);
    /* request 3's group ran first without savepoints, then again with them */
    assert_true(atomic_load(&sv.commit.reruns) >= 1);
    long sized = 0;
    for (int b = 0; b < SERVER_COMMIT_NSIZE; b++)
        sized += atomic_load(&sv.commit.size_bucket[b]);
    assert_int_equal(sized, commits);
    long timed = 0;
    for (int b = 0; b <= SERVER_COMMIT_NTIME; b++)
        timed += atomic_load(&sv.commit.time_bucket[b]);
    assert_int_equal(timed, commits);
}

static void test_checkpoint_thread(void **state)
{
    (void)state;
    static server sv;
    req qs[NTHREADS];
    long checkpoints = -1;
    assert_int_equal(run("commit_ckpt", -1, 1, &checkpoints, &sv, qs), NTHREADS - 1);
    if (tu_is_pg())
        assert_int_equal(checkpoints, 0); /* PostgreSQL checkpoints by itself */
    else
        assert_true(checkpoints >= 1);
    for (int k = 0; k < NTHREADS; k++)
        assert_int_equal(qs[k].rc, k == 3 ? NY_ENOTFOUND : NY_OK);
}

static void test_fallback_alone(void **state)
{
    (void)state;
    static server sv;
    req qs[NTHREADS];
    assert_int_equal(run("commit_fallback", 5, 0, NULL, &sv, qs), NTHREADS);
    for (int k = 0; k < NTHREADS; k++)
        assert_int_equal(qs[k].rc, NY_OK);
    assert_true(atomic_load(&sv.commit.fallbacks) >= 1);
    assert_int_equal(qs[5].runs, 2);
}

/* One thread hands in many jobs without waiting, as a pool thread does
 * with its suspended connections. */
typedef struct async_job {
    server_commit_job job;
    req q;
    atomic_int *done;
} async_job;

static void async_done(server_commit_job *job)
{
    atomic_fetch_add(((async_job *)job)->done, 1);
}

static void test_submit_without_waiting(void **state)
{
    (void)state;
    enum { N = 64 };
    static server sv;
    static async_job jobs[N];
    ny_err e;
    store *s;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("commit_async"));
    MUST(store_open(uri, NULL, &s, &e));
    store_group g = {0, "webhook", "g1", "resident", "411571001001001", "一网格群", 10, ""};
    MUST(store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, &e));
    MUST(store_group_put_batch(s, &g, 1, &gid, &e));
    memset(&sv, 0, sizeof sv);
    sv.o.db_uri = uri;
    server_commit_init(&sv.commit);
    MUST(server_commit_start(&sv, &e));
    atomic_int done = 0;
    for (int k = 0; k < N; k++) {
        jobs[k] = (async_job){.q = {&sv, k, NY_ERR, 0, 0, k == 7, NULL}, .done = &done};
        jobs[k].job = (server_commit_job){.apply = apply, .ctx = &jobs[k].q, .done = async_done};
        assert_int_equal(server_commit_reserve(&sv), 1);
        server_commit_submit(&sv, &jobs[k].job);
    }
    server_commit_close(&sv); /* returns once every reserved job is done */
    assert_int_equal(atomic_load(&done), N);
    assert_int_equal(atomic_load(&sv.commit.reserved), 0);
    assert_int_equal(server_commit_reserve(&sv), 0); /* closing: callers wait instead */
    for (int k = 0; k < N; k++)
        assert_int_equal(jobs[k].job.rc, k == 7 ? NY_ENOTFOUND : NY_OK);
    /* the jobs queued while a group committed share the next commit */
    assert_true(atomic_load(&sv.commit.commits) <= N / 4);
    req late = {&sv, N, NY_ERR, 0, 0, 0, NULL};
    assert_int_equal(server_commit_run(&sv, apply, &late, &e), NY_OK);
    server_commit_destroy(&sv.commit);
    int n = 0;
    MUST(store_messages_each(s, count, &n, &e));
    assert_int_equal(n, N);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_and_own_error),
        cmocka_unit_test(test_fallback_alone),
        cmocka_unit_test(test_checkpoint_thread),
        cmocka_unit_test(test_submit_without_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
