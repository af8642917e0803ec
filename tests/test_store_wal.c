/* test_store_wal.c - tests of the checkpoints of store_wal.c, SQLite only.
 *
 * The ingest committer writes back to back, so a passive checkpoint never
 * finds the WAL copied and free of readers when the next write transaction
 * starts, and the WAL grew by every commit (to 230 MB in ten seconds of
 * batched ingest). A restart checkpoint waits for the readers of the WAL
 * and lets the next write transaction start it over. Here a reader that
 * holds a snapshot of the WAL when a write starts keeps the WAL growing
 * after a passive checkpoint; a restart checkpoint, waiting while that
 * reader finishes on another thread, makes the next write start the WAL
 * from its first frame; and the counts of frames come back. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <time.h>

#include "store_sql.h"
#include "store_wal.h"
#include "testutil.h"

static void write_rows(store *w, int n)
{
    ny_err e;
    MUST(store_begin(w, &e));
    for (int i = 0; i < n; i++)
        MUST(store_sql(w, "INSERT INTO t(v) VALUES(randomblob(300))", NULL, 0, NULL, NULL, NULL,
                       &e));
    MUST(store_commit(w, &e));
}

/* A reader holding a snapshot of the WAL (a read transaction with a row
 * read). */
static sqlite3 *reader(const char *path)
{
    sqlite3 *r;
    assert_int_equal(sqlite3_open(path, &r), SQLITE_OK);
    assert_int_equal(sqlite3_exec(r, "BEGIN; SELECT count(*) FROM t", NULL, NULL, NULL), SQLITE_OK);
    return r;
}

static void *finish_later(void *arg)
{
    struct timespec t = {0, 200 * 1000 * 1000};
    nanosleep(&t, NULL);
    sqlite3_exec(arg, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

static void test_restart(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    ny_err e;
    char path[1024];
    snprintf(path, sizeof path, "%s", tu_db_uri("wal_restart"));
    store *w, *c;
    MUST(store_open(path, NULL, &w, &e));
    MUST(store_open(path, NULL, &c, &e));
    MUST(store_wal_writer(w, &e));
    MUST(store_sql(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)", NULL, 0, NULL, NULL, NULL,
                   &e));
    long frames = 0, done = 0, before = 0;

    /* a reader of the WAL when writes start: the WAL goes on growing */
    write_rows(w, 100);
    sqlite3 *r = reader(path);
    write_rows(w, 100);
    MUST(store_wal_checkpoint(c, 0, &frames, &done, &e));
    assert_true(done > 0 && done < frames); /* not past the reader's snapshot */
    before = frames;
    write_rows(w, 100);
    MUST(store_wal_checkpoint(c, 0, &frames, &done, &e));
    assert_true(frames > before);

    /* a restart checkpoint waits for that reader (finishing on another
     * thread), after which the next write starts the WAL over */
    before = frames;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, finish_later, r), 0);
    MUST(store_wal_checkpoint(c, 1, &frames, &done, &e));
    assert_int_equal(done, frames);
    pthread_join(t, NULL);
    sqlite3_close(r);
    write_rows(w, 10);
    MUST(store_wal_checkpoint(c, 0, &frames, &done, &e));
    assert_true(frames < before / 4);
    int64_t n = 0;
    MUST(store_sql_int(c, "SELECT count(*) FROM t", NULL, 0, &n, &e));
    assert_int_equal(n, 310);
    store_close(c);
    store_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
