/* test_server_commit.c - tests of the ingest group commit
 * (server_commit_run), on either engine.
 *
 * Eight threads hand in one message each at the same moment, with a write slow enough
 * that they queue: every message is stored, fewer transactions are
 * committed than requests, and the one request whose group is unknown gets
 * its own error without sinking the others. A member failing with a
 * non-data error (the database unavailable) rolls its group back; every
 * member is then retried alone and stored exactly once. Savepoints keep the
 * transaction usable after a member's failure on PostgreSQL too, also when
 * the failing write was pipelined and its error came back later (it is
 * still that member's, with the message a plain handle gives). A repeated
 * message id in the same group is a duplicate. On SQLite
 * the committer's checkpoint thread copies the WAL into the database file
 * while commits come in; on PostgreSQL there is no such thread. One thread
 * handing in 64 jobs without waiting for them (as a pool thread does with
 * suspended connections) gets every one done in a few shared commits, and
 * closing the committer waits for all of them, then makes callers wait
 * (server_commit_run) instead. On SQLite a WAL that groups following each
 * other keep from starting over is restarted by the committer once it
 * passes 64 MiB. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server_int.h"
#include "store_sql.h"
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
    int bad_late;  /* 1: after its message, a write that fails (pipelined on PostgreSQL) */
    int same_as;   /* >= 0: the message repeats that request's id */
    char msg[512]; /* the error it got */
} req;

/* Requests of run() that fail late, and that repeat another's id (-1: none). */
static int late_k = -1, dup_k = -1;

/* A write the caller reads nothing from, failing on a foreign key when
 * lead_id names no lead. */
static int report(store *db, int64_t message_id, int64_t lead_id, ny_err *e)
{
    store_val p[] = {SV_INT(message_id), SV_INT(lead_id), SV_TEXT("u1"), SV_INT(0)};
    return store_sql(db,
                     "INSERT INTO lead_reports(message_id, lead_id, sender_id, at)"
                     " VALUES(?, ?, ?, ?)",
                     p, 4, NULL, NULL, NULL, e);
}

static int apply(store *db, void *ctx, ny_err *e)
{
    req *q = ctx;
    char id[16], key[16];
    snprintf(id, sizeof id, "m%d", q->same_as >= 0 ? q->same_as : q->k);
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
    int rc = store_message_ingest_batch(db, &m, 1, &mid, &dup, e);
    snprintf(key, sizeof key, "t:%d", q->k); /* a write of each member that must stay or go */
    if (rc == NY_OK)
        rc = store_sql(db, "INSERT INTO meta(key, value) VALUES(?, 'x')",
                       (store_val[]){{STORE_VTEXT, 0, key}}, 1, NULL, NULL, NULL, e);
    if (rc == NY_OK && q->bad_late)
        rc = report(db, mid, 999999, e);
    return rc;
}

static void *thread(void *arg)
{
    req *q = arg;
    ny_err e;
    pthread_barrier_wait(q->go);
    q->rc = server_commit_run(q->sv, apply, q, &e);
    snprintf(q->msg, sizeof q->msg, "%s", q->rc == NY_OK ? "" : e.msg);
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
        qs[k] = (req){sv,          k,           NY_ERR,
                      k == fail_k, 0,           fail_k < 0 && k == 3,
                      &go,         k == late_k, k == dup_k ? dup_k - 1 : -1,
                      ""};
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

static int count_meta(store *s, const char *key)
{
    ny_err e;
    int64_t n = -1;
    MUST(store_sql_int(s, "SELECT count(*) FROM meta WHERE key = ?",
                       (store_val[]){{STORE_VTEXT, 0, key}}, 1, &n, &e));
    return (int)n;
}

/* A member whose last write fails where the caller does not wait for it
 * (on PostgreSQL the committer pipelines it, and the failure comes back
 * later): it gets the error that write gets on a plain handle, and alone
 * loses its rows, through the savepoint rerun; a member repeating another's
 * message id in the same group is a duplicate and stores nothing twice. */
static void test_late_member_error(void **state)
{
    (void)state;
    static server sv;
    req qs[NTHREADS];
    late_k = 2, dup_k = 6;
    int n = run("commit_late", -1, 0, NULL, &sv, qs);
    late_k = dup_k = -1;
    assert_int_equal(n, NTHREADS - 3); /* unknown group (3), late failure (2), repeat (6) */
    ny_err e;
    store *s;
    MUST(store_open(uri, NULL, &s, &e));
    int64_t some;
    MUST(store_sql_int(s, "SELECT min(id) FROM messages", NULL, 0, &some, &e));
    MUST(store_begin(s, &e)); /* the same write on a plain handle */
    assert_int_equal(report(s, some, 999999, &e), NY_ENOTFOUND);
    store_rollback(s, NULL);
    for (int k = 0; k < NTHREADS; k++) {
        char key[16];
        snprintf(key, sizeof key, "t:%d", k);
        assert_int_equal(qs[k].rc, k == 3 || k == 2 ? NY_ENOTFOUND : NY_OK);
        assert_int_equal(count_meta(s, key), k == 2 || k == 3 ? 0 : 1);
    }
    assert_string_equal(qs[2].msg, e.msg);
    assert_true(atomic_load(&sv.commit.reruns) >= 1);
    assert_int_equal(atomic_load(&sv.commit.fallbacks), 0);
    store_close(s);
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
        jobs[k] = (async_job){.q = {&sv, k, NY_ERR, 0, 0, k == 7, NULL, 0, -1, ""}, .done = &done};
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
    req late = {&sv, N, NY_ERR, 0, 0, 0, NULL, 0, -1, ""};
    assert_int_equal(server_commit_run(&sv, apply, &late, &e), NY_OK);
    server_commit_destroy(&sv.commit);
    int n = 0;
    MUST(store_messages_each(s, count, &n, &e));
    assert_int_equal(n, N);
    store_close(s);
}

/* Jobs that share an apply_many: the committer's first run of a group
 * writes them with one call; counted here. */
static atomic_int many_calls, many_jobs;

static int apply_many(store *db, server_commit_job *first, size_t n, ny_err *e)
{
    atomic_fetch_add(&many_calls, 1);
    int rc = NY_OK;
    server_commit_job *x = first;
    for (size_t k = 0; k < n && rc == NY_OK; k++, x = x->next)
        rc = apply(db, x->ctx, e);
    if (rc == NY_OK)
        atomic_fetch_add(&many_jobs, (int)n);
    return rc;
}

/* Submits n jobs with apply_many at once (job bad names an unknown group,
 * job lost fails its first run as if the database went away) and returns
 * the number of messages stored. */
static int run_many(const char *tag, int n, int bad, int lost, server *sv, async_job *jobs)
{
    ny_err e;
    store *s;
    snprintf(uri, sizeof uri, "%s", tu_db_uri(tag));
    MUST(store_open(uri, NULL, &s, &e));
    store_group g = {0, "webhook", "g1", "resident", "411571001001001", "一网格群", 10, ""};
    MUST(store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, &e));
    MUST(store_group_put_batch(s, &g, 1, &gid, &e));
    memset(sv, 0, sizeof *sv);
    sv->o.db_uri = uri;
    server_commit_init(&sv->commit);
    MUST(server_commit_start(sv, &e));
    atomic_store(&many_calls, 0);
    atomic_store(&many_jobs, 0);
    atomic_int done = 0;
    for (int k = 0; k < n; k++) {
        jobs[k] = (async_job){.q = {sv, k, NY_ERR, k == lost, 0, k == bad, NULL, 0, -1, ""},
                              .done = &done};
        jobs[k].job = (server_commit_job){
            .apply = apply, .apply_many = apply_many, .ctx = &jobs[k].q, .done = async_done};
        assert_int_equal(server_commit_reserve(sv), 1);
        server_commit_submit(sv, &jobs[k].job);
    }
    server_commit_close(sv);
    assert_int_equal(atomic_load(&done), n);
    server_commit_destroy(&sv->commit);
    int stored = 0;
    MUST(store_messages_each(s, count, &stored, &e));
    store_close(s);
    return stored;
}

/* Jobs sharing an apply_many are written together; a member's data error
 * in such a call reruns the group with each member alone in its savepoint
 * (that member gets the error it gets alone, the others commit); a failure
 * of another kind runs each member alone, each stored exactly once. */
static void test_apply_many(void **state)
{
    (void)state;
    enum { N = 64 };
    static server sv;
    static async_job jobs[N];
    assert_int_equal(run_many("commit_many_ok", N, -1, -1, &sv, jobs), N);
    /* the jobs queued while the first committed: one call, one commit */
    assert_true(atomic_load(&many_jobs) >= 2);
    assert_true(atomic_load(&sv.commit.commits) <= N / 4);
    assert_int_equal(atomic_load(&sv.commit.reruns), 0);

    assert_int_equal(run_many("commit_many", N, 9, -1, &sv, jobs), N - 1);
    for (int k = 0; k < N; k++)
        assert_int_equal(jobs[k].job.rc, k == 9 ? NY_ENOTFOUND : NY_OK);
    assert_true(atomic_load(&many_calls) >= 1);
    assert_true(atomic_load(&sv.commit.reruns) >= 1);
    assert_int_equal(atomic_load(&sv.commit.fallbacks), 0);
    assert_int_equal(atomic_load(&sv.commit.members), N);
    ny_err e; /* the error job 9 gets alone, on a plain handle */
    store *s;
    MUST(store_open(uri, NULL, &s, &e));
    MUST(store_begin(s, &e));
    req q = jobs[9].q;
    assert_int_equal(apply(s, &q, &e), NY_ENOTFOUND);
    store_rollback(s, NULL);
    store_close(s);
    assert_string_equal(jobs[9].job.e.msg, e.msg);

    assert_int_equal(run_many("commit_many_lost", N, -1, 20, &sv, jobs), N);
    for (int k = 0; k < N; k++)
        assert_int_equal(jobs[k].job.rc, NY_OK);
    assert_true(atomic_load(&sv.commit.fallbacks) >= 1);
    assert_int_equal(jobs[20].q.runs, 2);
}

/* A job writing about 1 MiB (250 pages) into the WAL. */
static int big_write(store *db, void *ctx, ny_err *e)
{
    (void)ctx;
    return store_sql(db,
                     "INSERT INTO meta(key, value)"
                     " VALUES(hex(randomblob(16)), hex(randomblob(500000)))",
                     NULL, 0, NULL, NULL, NULL, e);
}

static void *big_writer(void *arg)
{
    server *sv = arg;
    ny_err e;
    for (int i = 0; i < 60; i++)
        MUST(server_commit_run(sv, big_write, NULL, &e));
    return NULL;
}

/* SQLite: two threads keep a job queued, so groups follow each other as
 * under load and a passive checkpoint never lets the WAL start over; the
 * committer restarts it once it passes 64 MiB (CKPT_RESTART_FRAMES), and
 * the WAL file stays well under the 120 MiB written. */
static void test_wal_restart(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    static server sv;
    ny_err e;
    store *s;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("commit_restart"));
    MUST(store_open(uri, NULL, &s, &e));
    memset(&sv, 0, sizeof sv);
    sv.o.db_uri = uri;
    server_commit_init(&sv.commit);
    MUST(server_commit_start(&sv, &e));
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&t[k], NULL, big_writer, &sv), 0);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    long restarts = atomic_load(&sv.commit.wal_restarts);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", uri);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    server_commit_destroy(&sv.commit);
    assert_true(restarts >= 1);
    assert_true(st.st_size < 100L << 20);
    int64_t n = 0;
    MUST(store_sql_int(s, "SELECT count(*) FROM meta WHERE length(value) = 1000000", NULL, 0, &n,
                       &e));
    assert_int_equal(n, 120);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_and_own_error),
        cmocka_unit_test(test_fallback_alone),
        cmocka_unit_test(test_late_member_error),
        cmocka_unit_test(test_checkpoint_thread),
        cmocka_unit_test(test_submit_without_waiting),
        cmocka_unit_test(test_apply_many),
        cmocka_unit_test(test_wal_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
