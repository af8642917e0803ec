/* test_store_walbuf.c - tests of the WAL gathering VFS
 * (src/store_sqlite_walbuf.c), SQLite only.
 *
 * Two connections to one file, like the server's committer and a request
 * thread: the writer sets PRAGMA nuanyang_wal_buffer. The default VFS's
 * pwrite is counted (its replaceable system call), so the tests see that a
 * commit of a hundred pages goes out in a few writes when gathering and in
 * two a frame when not; and that what the other connection reads is
 * exactly what was committed: after a synchronous=FULL commit, after a
 * synchronous=NORMAL one (nothing syncs there: the buffer is written at
 * the shared memory barrier before the new frames are published), after a
 * transaction that spilled pages into the WAL and read them back before
 * rolling back, and across the WAL's restart after a checkpoint. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "store_sqlite_walbuf.h"
#include "testutil.h"

static long writes;
static sqlite3_syscall_ptr real_pwrite;
static const char *pwrite_name;

static ssize_t counting_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    writes++;
    return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, buf, n, off);
}

/* Counts the default VFS's writes from now on (it calls pwrite64 or
 * pwrite, whichever it was built with). */
static void count_writes(void)
{
    if (pwrite_name)
        return;
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
    assert_non_null(unix_vfs);
    static const char *const names[] = {"pwrite64", "pwrite"};
    for (size_t i = 0; i < 2 && !pwrite_name; i++) {
        sqlite3_syscall_ptr p = unix_vfs->xGetSystemCall(unix_vfs, names[i]);
        if (p && unix_vfs->xSetSystemCall(unix_vfs, names[i],
                                          (sqlite3_syscall_ptr)counting_pwrite) == SQLITE_OK) {
            real_pwrite = p;
            pwrite_name = names[i];
        }
    }
    assert_non_null(pwrite_name);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static long long one(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static sqlite3 *open_db(const char *path, int gather, const char *sync)
{
    sqlite3 *db;
    assert_int_equal(sq_walbuf_install(), SQLITE_OK);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA mmap_size=0");
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s; PRAGMA nuanyang_wal_buffer=%s", sync,
             gather ? "ON" : "OFF");
    exec(db, sql);
    return db;
}

/* Inserts rows k0..k0+n-1 of about 200 bytes each (one transaction). */
static void fill(sqlite3 *db, int k0, int n)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE k(i) AS (SELECT %d UNION ALL SELECT i+1 FROM k WHERE i<%d)"
             " INSERT INTO t SELECT i, printf('%%.200c', char(65 + i %% 26)) FROM k",
             k0, k0 + n - 1);
    exec(db, sql);
}

/* What a reader must see after rows 0..n-1 are committed. */
static void check(sqlite3 *reader, long long n)
{
    assert_int_equal(one(reader, "SELECT count(*) FROM t"), n);
    assert_int_equal(one(reader, "SELECT coalesce(sum(k), 0) FROM t"), n * (n - 1) / 2);
    assert_int_equal(one(reader, "SELECT count(*) FROM t WHERE v <> printf('%.200c',"
                                 " char(65 + k % 26))"),
                     0);
}

static void test_commit_in_few_writes(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    count_writes();
    const char *path = tu_db_uri("walbuf_few");
    sqlite3 *w = open_db(path, 0, "FULL"), *r = open_db(path, 0, "FULL");
    exec(w, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    assert_int_equal(one(w, "PRAGMA nuanyang_wal_buffer"), 0);

    long before = writes;
    fill(w, 0, 2000); /* about 100 pages */
    long plain = writes - before;
    assert_true(plain >= 100 * 2); /* a header and a page a frame */
    check(r, 2000);

    exec(w, "PRAGMA nuanyang_wal_buffer=ON");
    assert_int_equal(one(w, "PRAGMA nuanyang_wal_buffer"), 1);
    before = writes;
    fill(w, 2000, 2000);
    long gathered = writes - before;
    assert_true(gathered > 0);
    assert_true(gathered * 20 <= plain); /* 124 KiB a write */
    check(r, 4000);

    /* the WAL's restart after a full checkpoint: frames from offset 0 again */
    exec(r, "PRAGMA wal_checkpoint(PASSIVE)");
    fill(w, 4000, 1000);
    check(r, 5000);
    assert_int_equal(
        one(r, "SELECT count(*) FROM pragma_integrity_check() WHERE integrity_check <> 'ok'"), 0);
    sqlite3_close(r);
    sqlite3_close(w);
}

static void test_without_sync(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    const char *path = tu_db_uri("walbuf_normal");
    sqlite3 *w = open_db(path, 1, "NORMAL"), *r = open_db(path, 0, "FULL");
    exec(w, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    for (int i = 0; i < 5; i++) {
        fill(w, i * 700, 700);
        check(r, (i + 1) * 700L); /* published only after the buffer was written */
    }
    sqlite3_close(r);
    sqlite3_close(w);
}

static void test_spill_and_rollback(void **state)
{
    (void)state;
    if (tu_is_pg())
        skip();
    const char *path = tu_db_uri("walbuf_spill");
    sqlite3 *w = open_db(path, 1, "FULL"), *r = open_db(path, 0, "FULL");
    exec(w, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    fill(w, 0, 1000);
    exec(w, "PRAGMA cache_size=20"); /* a larger transaction spills pages into the WAL */
    exec(w, "BEGIN");
    fill(w, 1000, 6000);
    assert_int_equal(one(w, "SELECT count(*) FROM t"), 7000); /* read back through the WAL */
    assert_int_equal(one(w, "SELECT sum(length(v)) FROM t"), 7000 * 200);
    check(r, 1000);
    exec(w, "ROLLBACK");
    check(r, 1000);
    check(w, 1000);
    fill(w, 1000, 6000);
    check(r, 7000);
    assert_int_equal(
        one(r, "SELECT count(*) FROM pragma_integrity_check() WHERE integrity_check <> 'ok'"), 0);
    sqlite3_close(r);
    sqlite3_close(w);
    /* and from the file alone once both are closed */
    sqlite3 *again = open_db(path, 0, "FULL");
    check(again, 7000);
    sqlite3_close(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_in_few_writes),
        cmocka_unit_test(test_without_sync),
        cmocka_unit_test(test_spill_and_rollback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
