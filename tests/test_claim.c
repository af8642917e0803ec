/* test_claim.c - jobs claimed across processes happen exactly once.
 *
 * Exercises store_job_claim/done/retry the way several nodes use them: real
 * worker processes, each with its own store handle opened after fork(), on
 * one database (a SQLite WAL file, or a PostgreSQL database when
 * NUANYANG_TEST_PG is set; the test only speaks store.h). Workers report the
 * jobs they finished (store_job_done returned NY_OK) in their own files and
 * the parent checks that every job was finished exactly once: with two
 * workers racing over 200 jobs, when a worker is SIGKILLed holding a claim
 * (another takes the job over once the lease has expired), and when a worker
 * whose lease expired tries to finish a job taken over by another (it gets
 * NY_ECONFLICT). Time is the explicit `now` of the API, so lease expiry needs
 * no sleeping. Children report failures through their exit status and
 * stderr, never through cmocka. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NJOBS 200
#define T0 1000000 /* the jobs' run_at */

/* Opens uri or fails the child with exit status 90. */
static store *child_open(const char *uri)
{
    store *s = NULL;
    ny_err e;
    if (store_open(uri, NULL, &s, &e) != NY_OK) {
        fprintf(stderr, "child %d: store_open: %s\n", (int)getpid(), e.msg);
        _exit(90);
    }
    return s;
}

static void child_fail(store *s, const char *what, int rc, const ny_err *e, int status)
{
    fprintf(stderr, "child %d: %s returned %d (%s)\n", (int)getpid(), what, rc, e->msg);
    store_close(s);
    _exit(status);
}

/* Appends id as a line to path. */
static int append_id(const char *path, int64_t id)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    int ok = fprintf(f, "%lld\n", (long long)id) > 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Reads the ids of a done file into count[id] (ids 1..max). */
static void count_ids(const char *path, int *count, int64_t max)
{
    char *text = tu_read_file(path);
    for (char *p = text, *end; *p; p = end) {
        long long id = strtoll(p, &end, 10);
        assert_true(end > p);
        assert_in_range(id, 1, max);
        count[id]++;
        while (*end == '\n')
            end++;
    }
    free(text);
}

static void wait_ok(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A fresh database with n jobs of kind "test"; returns its uri (malloc'd). */
static char *jobs_db(const char *tag, int n, int64_t *ids)
{
    char *uri = strdup(tu_db_uri(tag));
    assert_non_null(uri);
    store *s;
    ny_err e;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    assert_int_equal(store_begin(s, &e), NY_OK);
    for (int i = 0; i < n; i++) {
        char payload[32];
        snprintf(payload, sizeof payload, "{\"n\":%d}", i);
        store_job j = {0, "test", NULL, payload, T0 + i % 7, 0};
        assert_int_equal(store_job_enqueue(s, &j, &ids[i], &e), NY_OK);
    }
    assert_int_equal(store_commit(s, &e), NY_OK);
    store_close(s); /* never fork with an open handle */
    return uri;
}

/* Nothing is left to claim, even long after every lease would have run out. */
static void assert_all_done(const char *uri)
{
    store *s;
    ny_err e;
    store_job j;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    assert_int_equal(store_job_claim(s, NULL, "checker", T0 + 1000000, 60, &j, &e), NY_ENOTFOUND);
    store_close(s);
}

/* ---- two workers race over NJOBS jobs -------------------------------------- */

static void race_worker(const char *uri, const char *name, const char *done_path, int go_fd)
{
    store *s = child_open(uri);
    char go;
    if (read(go_fd, &go, 1) != 1) /* start together */
        _exit(91);
    for (;;) {
        store_job j;
        ny_err e;
        int rc = store_job_claim(s, "test", name, T0 + 100, 60, &j, &e);
        if (rc == NY_ENOTFOUND)
            break;
        if (rc != NY_OK)
            child_fail(s, "claim", rc, &e, 92);
        if (j.attempts != 1 || !j.payload || strncmp(j.payload, "{\"n\":", 5) != 0)
            child_fail(s, "claimed job", 0, &e, 93);
        usleep(200); /* the job's effect */
        rc = store_job_done(s, j.id, name, T0 + 100, &e);
        if (rc != NY_OK)
            child_fail(s, "done", rc, &e, 94);
        if (append_id(done_path, j.id) != 0)
            child_fail(s, "append", 0, &e, 95);
    }
    store_close(s);
    _exit(0);
}

static void test_two_workers_each_job_once(void **state)
{
    (void)state;
    int64_t ids[NJOBS];
    char *uri = jobs_db("claim_race", NJOBS, ids);
    for (int i = 0; i < NJOBS; i++) /* a fresh database numbers them 1..NJOBS */
        assert_int_equal(ids[i], 1 + i);
    char path[2][512];
    snprintf(path[0], sizeof path[0], "%s", tu_tmp_path("race-A.done"));
    snprintf(path[1], sizeof path[1], "%s", tu_tmp_path("race-B.done"));
    tu_write_file(path[0], "");
    tu_write_file(path[1], "");
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid[2];
    for (int w = 0; w < 2; w++) {
        pid[w] = fork();
        assert_true(pid[w] >= 0);
        if (pid[w] == 0) {
            close(go[1]);
            race_worker(uri, w ? "worker-B" : "worker-A", path[w], go[0]);
        }
    }
    close(go[0]);
    assert_int_equal(write(go[1], "gg", 2), 2);
    close(go[1]);
    wait_ok(pid[0]);
    wait_ok(pid[1]);

    int count[NJOBS + 1] = {0}, per_worker[2] = {0};
    for (int w = 0; w < 2; w++) {
        int before = 0, after = 0;
        for (int i = 1; i <= NJOBS; i++)
            before += count[i];
        count_ids(path[w], count, ids[NJOBS - 1]);
        for (int i = 1; i <= NJOBS; i++)
            after += count[i];
        per_worker[w] = after - before;
    }
    for (int i = 0; i < NJOBS; i++)
        assert_int_equal(count[ids[i]], 1);
    assert_int_equal(per_worker[0] + per_worker[1], NJOBS);
    print_message("jobs finished by worker A: %d, by worker B: %d\n", per_worker[0], per_worker[1]);
    assert_all_done(uri);
    free(uri);
}

/* ---- a worker killed while holding a claim ---------------------------------- */

static void test_killed_worker_job_taken_over(void **state)
{
    (void)state;
    int64_t ids[1];
    char *uri = jobs_db("claim_kill", 1, ids);
    char done_path[512];
    snprintf(done_path, sizeof done_path, "%s", tu_tmp_path("kill-B.done"));
    tu_write_file(done_path, "");
    int p[2];
    assert_int_equal(pipe(p), 0);

    pid_t victim = fork();
    assert_true(victim >= 0);
    if (victim == 0) { /* claims, reports the id, then hangs until killed */
        close(p[0]);
        store *s = child_open(uri);
        store_job j;
        ny_err e;
        int rc = store_job_claim(s, NULL, "victim", T0, 30, &j, &e);
        if (rc != NY_OK)
            child_fail(s, "claim", rc, &e, 92);
        if (write(p[1], &j.id, sizeof j.id) != (ssize_t)sizeof j.id)
            _exit(96);
        for (;;)
            pause();
    }
    close(p[1]);
    int64_t claimed = 0;
    assert_int_equal(read(p[0], &claimed, sizeof claimed), (ssize_t)sizeof claimed);
    close(p[0]);
    assert_int_equal(claimed, ids[0]);
    assert_int_equal(kill(victim, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(victim, &status, 0), victim);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    pid_t heir = fork();
    assert_true(heir >= 0);
    if (heir == 0) {
        store *s = child_open(uri);
        store_job j;
        ny_err e;
        /* the dead worker's lease (until T0 + 30) still holds */
        int rc = store_job_claim(s, NULL, "heir", T0 + 30, 30, &j, &e);
        if (rc != NY_ENOTFOUND)
            child_fail(s, "claim under a live lease", rc, &e, 92);
        rc = store_job_claim(s, NULL, "heir", T0 + 31, 30, &j, &e);
        if (rc != NY_OK)
            child_fail(s, "claim after expiry", rc, &e, 93);
        if (j.id != claimed || j.attempts != 2)
            child_fail(s, "taken-over job", 0, &e, 94);
        if ((rc = store_job_done(s, j.id, "heir", T0 + 40, &e)) != NY_OK)
            child_fail(s, "done", rc, &e, 95);
        if (append_id(done_path, j.id) != 0)
            child_fail(s, "append", 0, &e, 96);
        store_close(s);
        _exit(0);
    }
    wait_ok(heir);

    int count[2] = {0};
    count_ids(done_path, count, 1);
    assert_int_equal(count[claimed], 1);
    /* the dead worker, were it to come back, no longer holds the job */
    store *s;
    ny_err e;
    assert_int_equal(store_open(uri, NULL, &s, &e), NY_OK);
    assert_int_equal(store_job_done(s, claimed, "victim", T0 + 50, &e), NY_ECONFLICT);
    store_close(s);
    assert_all_done(uri);
    free(uri);
}

/* ---- a worker finishing after its lease expired and the job moved on ------- */

static void test_expired_lease_conflict(void **state)
{
    (void)state;
    int64_t ids[1];
    char *uri = jobs_db("claim_late", 1, ids);
    int claimed_pipe[2], go_pipe[2];
    assert_int_equal(pipe(claimed_pipe), 0);
    assert_int_equal(pipe(go_pipe), 0);

    pid_t slow = fork();
    assert_true(slow >= 0);
    if (slow == 0) {
        close(claimed_pipe[0]);
        close(go_pipe[1]);
        store *s = child_open(uri);
        store_job j;
        ny_err e;
        int rc = store_job_claim(s, "test", "slow", T0, 10, &j, &e);
        if (rc != NY_OK)
            child_fail(s, "claim", rc, &e, 92);
        char go;
        if (write(claimed_pipe[1], &j.id, sizeof j.id) != (ssize_t)sizeof j.id ||
            read(go_pipe[0], &go, 1) != 1)
            _exit(97);
        /* meanwhile the lease ran out and the job was taken over and done */
        if ((rc = store_job_done(s, j.id, "slow", T0 + 20, &e)) != NY_ECONFLICT)
            child_fail(s, "late done", rc, &e, 93);
        if ((rc = store_job_retry(s, j.id, "slow", T0 + 60, "late", &e)) != NY_ECONFLICT)
            child_fail(s, "late retry", rc, &e, 94);
        store_close(s);
        _exit(0);
    }
    close(claimed_pipe[1]);
    close(go_pipe[0]);
    int64_t claimed = 0;
    assert_int_equal(read(claimed_pipe[0], &claimed, sizeof claimed), (ssize_t)sizeof claimed);
    close(claimed_pipe[0]);

    pid_t fast = fork();
    assert_true(fast >= 0);
    if (fast == 0) {
        store *s = child_open(uri);
        store_job j;
        ny_err e;
        int rc = store_job_claim(s, "test", "fast", T0 + 11, 10, &j, &e);
        if (rc != NY_OK || j.id != claimed)
            child_fail(s, "takeover", rc, &e, 92);
        if ((rc = store_job_done(s, j.id, "fast", T0 + 12, &e)) != NY_OK)
            child_fail(s, "done", rc, &e, 93);
        store_close(s);
        _exit(0);
    }
    wait_ok(fast);
    assert_int_equal(write(go_pipe[1], "g", 1), 1);
    close(go_pipe[1]);
    wait_ok(slow);
    assert_all_done(uri);
    free(uri);
}

/* ---- retry hands the job back; only its holder may retry or finish it ------ */

static void test_retry_and_holder_checks(void **state)
{
    (void)state;
    store *s = tu_open_fresh("claim_retry");
    ny_err e;
    int64_t id, again;
    store_job j = {0, "mail", "mail:1", NULL, T0, 0};
    assert_int_equal(store_job_enqueue(s, &j, &id, &e), NY_OK);
    assert_int_equal(store_job_enqueue(s, &j, &again, &e), NY_EEXIST);
    j.kind = "";
    assert_int_equal(store_job_enqueue(s, &j, &again, &e), NY_EINVAL);

    assert_int_equal(store_job_claim(s, "mail", "w1", T0 - 1, 30, &j, &e), NY_ENOTFOUND);
    assert_int_equal(store_job_claim(s, "other", "w1", T0, 30, &j, &e), NY_ENOTFOUND);
    assert_int_equal(store_job_claim(s, "mail", "", T0, 30, &j, &e), NY_EINVAL);
    assert_int_equal(store_job_claim(s, "mail", "w1", T0, 0, &j, &e), NY_EINVAL);
    assert_int_equal(store_job_claim(s, "mail", "w1", T0, 30, &j, &e), NY_OK);
    assert_int_equal(j.id, id);
    assert_string_equal(j.kind, "mail");
    assert_string_equal(j.dedupe_key, "mail:1");
    assert_string_equal(j.payload, "{}");
    assert_int_equal(j.run_at, T0);
    assert_int_equal(j.attempts, 1);
    assert_int_equal(store_job_claim(s, NULL, "w2", T0 + 5, 30, &j, &e), NY_ENOTFOUND);
    assert_int_equal(store_job_done(s, id, "w2", T0 + 5, &e), NY_ECONFLICT);
    assert_int_equal(store_job_retry(s, id, "w2", T0 + 5, "x", &e), NY_ECONFLICT);

    assert_int_equal(store_job_retry(s, id, "w1", T0 + 100, "smtp down", &e), NY_OK);
    assert_int_equal(store_job_done(s, id, "w1", T0 + 6, &e), NY_ECONFLICT);
    assert_int_equal(store_job_claim(s, NULL, "w2", T0 + 99, 30, &j, &e), NY_ENOTFOUND);
    assert_int_equal(store_job_claim(s, NULL, "w2", T0 + 100, 30, &j, &e), NY_OK);
    assert_int_equal(j.id, id);
    assert_int_equal(j.run_at, T0 + 100);
    assert_int_equal(j.attempts, 2);
    assert_int_equal(store_job_done(s, id, "w2", T0 + 101, &e), NY_OK);
    assert_int_equal(store_job_done(s, id, "w2", T0 + 102, &e), NY_ECONFLICT);
    assert_int_equal(store_job_claim(s, NULL, "w3", T0 + 1000000, 30, &j, &e), NY_ENOTFOUND);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_workers_each_job_once),
        cmocka_unit_test(test_killed_worker_job_taken_over),
        cmocka_unit_test(test_expired_lease_conflict),
        cmocka_unit_test(test_retry_and_holder_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
