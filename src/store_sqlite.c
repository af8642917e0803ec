/* store_sqlite.c - the SQLite storage driver: connection, schema, transactions.
 *
 * Opens a database file with the settings nuanyang relies on (WAL journal,
 * foreign keys, synchronous=FULL so a commit survives power loss, a 10 s busy
 * timeout for concurrent processes, retried at a fine grain), brings its
 * schema up to date with the migrations of store_sqlite_schema.c, and
 * serves transactions, statistics,
 * claimable jobs and cache counters. The row-level entries live in
 * store_sqlite_write.c and store_sqlite_read.c, accounts and connectors in
 * store_sqlite_auth.c; this file also holds the helpers they share
 * (statement cache, error mapping, batch scopes) and the driver table
 * store_sqlite_driver. */
#include "store_sqlite.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store_driver.h"
#include "store_sqlite_schema.h"
#include "store_sqlite_walbuf.h"

/* ---- helpers shared by the driver files --------------------------------- */

int sq_stmt(struct sq *h, enum sq_stmt_id id, const char *sql, sqlite3_stmt **out, ny_err *e)
{
    *out = NULL;
    if (!h->st[id]) {
        int rc = sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &h->st[id], NULL);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(h->st[id]);
            h->st[id] = NULL;
            return ny_err_set(e, NY_ERR, "cannot prepare query: %s", sqlite3_errmsg(h->db));
        }
    } else if (sqlite3_stmt_busy(h->st[id])) {
        return ny_err_set(e, NY_ERR, "a query was started again from inside its own iteration");
    }
    *out = h->st[id];
    return NY_OK;
}

void sq_reset(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int sq_error(struct sq *h, int rc, ny_err *e, const char *what)
{
    int xrc = sqlite3_extended_errcode(h->db);
    const char *msg = sqlite3_errmsg(h->db);
    int code = NY_ERR;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = NY_EUNAVAIL;
        break;
    case SQLITE_CONSTRAINT:
        if (xrc == SQLITE_CONSTRAINT_UNIQUE || xrc == SQLITE_CONSTRAINT_PRIMARYKEY)
            code = NY_EEXIST;
        else if (xrc == SQLITE_CONSTRAINT_FOREIGNKEY)
            code = NY_ENOTFOUND;
        else if (xrc == SQLITE_CONSTRAINT_TRIGGER)
            code = NY_ECONFLICT;
        else
            code = NY_EINVAL;
        break;
    default:
        break;
    }
    return ny_err_set(e, code, "%s: %s", what, msg);
}

int sq_next(struct sq *h, sqlite3_stmt *st, ny_err *e)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return NY_OK;
    return sq_error(h, rc, e, "query failed");
}

void sq_bind_text(sqlite3_stmt *st, int col, const char *text)
{
    if (text)
        sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

const char *sq_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

/* ---- the write lock between this process's handles ----------------------
 * SQLite has one write lock per database and no way to wait for it: a
 * handle that finds it taken calls its busy handler and tries again. The
 * server's writers (the ingest committer, the delivery worker, the case
 * scheduler) are threads of one process, so a waiting handle sleeps on a
 * condition that every commit or rollback of this process signals, and
 * tries again the moment the lock is free rather than after its sleep.
 * The timed wait still bounds each try, for writers of other processes
 * (the CLI) and for a lock freed by a statement outside a transaction. */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static unsigned long gate_gen;  /* write transactions ended in this process */
static atomic_int gate_waiters; /* handles in busy_wait */

/* After a commit or rollback: wakes the handles waiting for the lock. */
static void gate_open(void)
{
    if (!atomic_load(&gate_waiters))
        return;
    pthread_mutex_lock(&gate_mu);
    gate_gen++;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* Runs one cached statement that returns no rows. */
static int run(struct sq *h, enum sq_stmt_id id, const char *sql, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, id, sql, &st, e);
    if (rc != NY_OK)
        return rc;
    rc = sq_next(h, st, e);
    sq_reset(st);
    if (id == SQ_COMMIT || id == SQ_ROLLBACK)
        gate_open();
    return rc == 1 ? NY_OK : rc;
}

int sq_batch_begin(struct sq *h, int *own, ny_err *e)
{
    *own = sqlite3_get_autocommit(h->db);
    if (*own)
        return run(h, SQ_BEGIN, "BEGIN IMMEDIATE", e);
    return run(h, SQ_SAVEPOINT, "SAVEPOINT ny_batch", e);
}

int sq_batch_end(struct sq *h, int own, int rc, ny_err *e)
{
    if (rc == NY_OK) {
        rc = own ? run(h, SQ_COMMIT, "COMMIT", e) : run(h, SQ_RELEASE, "RELEASE ny_batch", e);
        if (rc == NY_OK)
            return NY_OK;
    }
    /* An I/O error may already have ended the transaction; then there is
     * nothing left to undo. The undo's own failure would hide the cause. */
    if (!sqlite3_get_autocommit(h->db)) {
        if (own) {
            run(h, SQ_ROLLBACK, "ROLLBACK", NULL);
        } else {
            run(h, SQ_ROLLBACK_TO, "ROLLBACK TO ny_batch", NULL);
            run(h, SQ_RELEASE, "RELEASE ny_batch", NULL);
        }
    }
    return rc;
}

/* ---- opening and migrating ---------------------------------------------- */

/* Runs SQL text without results (pragmas, migrations). */
static int exec_sql(struct sq *h, const char *sql, ny_err *e, const char *what)
{
    int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_NOTADB)
        return ny_err_set(e, NY_ERR, "%s is not a nuanyang database (not an SQLite file)", h->path);
    return rc == SQLITE_OK ? NY_OK : sq_error(h, rc, e, what);
}

/* Reads meta.schema_version; a database without a meta table is version 0,
 * but only if it is empty: tables of another program are not adopted. */
static int read_version(struct sq *h, int *version, ny_err *e)
{
    sqlite3_stmt *st;
    *version = 0;
    int rc = sq_stmt(h, SQ_HAS_META,
                     "SELECT (SELECT count(*) FROM sqlite_schema WHERE name='meta'),"
                     " (SELECT count(*) FROM sqlite_schema)",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    rc = sq_next(h, st, e);
    if (rc != 1) {
        sq_reset(st);
        return rc;
    }
    int has_meta = sqlite3_column_int(st, 0), objects = sqlite3_column_int(st, 1);
    sq_reset(st);
    if (!has_meta)
        return objects == 0 ? NY_OK
                            : ny_err_set(e, NY_ERR,
                                         "%s is an SQLite database of another program (it has "
                                         "tables but no nuanyang meta table)",
                                         h->path);
    rc = sq_stmt(h, SQ_VERSION_GET, "SELECT value FROM meta WHERE key='schema_version'", &st, e);
    if (rc != NY_OK)
        return rc;
    rc = sq_next(h, st, e);
    const char *text = rc == 1 ? sq_text(st, 0) : NULL;
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : -1;
    if (rc == 1 && (!text || *end || v < 0 || v > 1000000))
        rc = ny_err_set(e, NY_ERR, "%s: meta has a malformed schema_version", h->path);
    else if (rc == NY_OK)
        rc = ny_err_set(e, NY_ERR, "%s: meta has no schema_version", h->path);
    sq_reset(st);
    if (rc != 1)
        return rc;
    *version = (int)v;
    return NY_OK;
}

/* Applies migrations one transaction at a time until target; rereads the
 * version inside each transaction so concurrent openers do not race. */
static int migrate(struct sq *h, int target, ny_err *e)
{
    for (;;) {
        int v, rc = exec_sql(h, "BEGIN IMMEDIATE", e, "cannot start migration");
        if (rc != NY_OK)
            return rc;
        rc = read_version(h, &v, e);
        if (rc == NY_OK && v > STORE_SCHEMA_VERSION)
            rc = ny_err_set(e, NY_EVERSION,
                            "database %s has schema version %d, newer than this nuanyang "
                            "supports (%d); upgrade nuanyang",
                            h->path, v, STORE_SCHEMA_VERSION);
        if (rc == NY_OK && v >= target)
            return exec_sql(h, "COMMIT", e, "cannot finish migration");
        if (rc == NY_OK) {
            char sql[160];
            snprintf(sql, sizeof sql,
                     "INSERT INTO meta(key,value) VALUES('schema_version','%d')"
                     " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                     v + 1);
            rc = exec_sql(h, store_sqlite_migrations[v], e, "migration failed");
            if (rc == NY_OK)
                rc = exec_sql(h, sql, e, "cannot record schema version");
            if (rc == NY_OK)
                rc = exec_sql(h, "COMMIT", e, "cannot commit migration");
        }
        if (rc != NY_OK) {
            if (!sqlite3_get_autocommit(h->db))
                sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
}

/* The busy handler: retries a locked database for 10 s (h->busy_ms). Each try waits
 * until a write transaction of this process ends (gate_open), at most 50
 * µs the first time, doubling to 2 ms: SQLite's own busy_timeout sleeps
 * 1, 2, 5 … up to 100 ms between tries, far longer than another
 * connection of the server holds the write lock for one commit, and the
 * ingest group commit would wait behind the sleep. */
static int busy_wait(void *ctx, int tries)
{
    struct sq *h = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (tries == 0)
        h->busy_since = now;
    else if ((now.tv_sec - h->busy_since.tv_sec) * 1000 +
                 (now.tv_nsec - h->busy_since.tv_nsec) / 1000000 >=
             h->busy_ms)
        return 0;
    long us = tries < 6 ? 50L << tries : 2000;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += us * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&gate_mu);
    atomic_fetch_add(&gate_waiters, 1);
    for (unsigned long gen = gate_gen; gen == gate_gen;)
        if (pthread_cond_timedwait(&gate_cv, &gate_mu, &until) != 0)
            break;
    atomic_fetch_sub(&gate_waiters, 1);
    pthread_mutex_unlock(&gate_mu);
    return 1;
}

/* The largest part of a database file a connection maps (256 MiB). */
#define SQ_MMAP_SIZE "268435456"

/* Sets the connection pragmas; journal_mode answers with the mode it got. */
static int configure(struct sq *h, ny_err *e)
{
    if (sqlite3_busy_handler(h->db, busy_wait, h) != SQLITE_OK)
        return ny_err_set(e, NY_ERR, "cannot set busy handler");
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(h->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    char mode[16] = "";
    if (src == SQLITE_ROW)
        snprintf(mode, sizeof mode, "%s", sq_text(st, 0) ? sq_text(st, 0) : "");
    sqlite3_finalize(st);
    if (src == SQLITE_NOTADB)
        return ny_err_set(e, NY_ERR, "%s is not a nuanyang database (not an SQLite file)", h->path);
    if (src != SQLITE_ROW)
        return sq_error(h, src, e, "cannot set journal mode");
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
        return ny_err_set(e, NY_ERR, "%s: cannot switch to WAL journal (got '%s')", h->path, mode);
    /* mmap_size: pages of the database file not in the connection's cache
     * are read through a shared mapping instead of a pread() copy each (the
     * WAL's pages are still read with pread). */
    return exec_sql(h,
                    "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
                    " PRAGMA mmap_size=" SQ_MMAP_SIZE,
                    e, "cannot configure database");
}

/* SQLite counts every allocation in process-wide statistics behind a global
 * mutex; with a store call making dozens of allocations and every pool thread
 * on its own handle, that lock and its unlock were 8% of the server's CPU
 * during batched ingest. Nothing here reads those statistics. The setting
 * must come before SQLite initialises; if something in the process already
 * used SQLite (sqlite3_config then refuses with SQLITE_MISUSE), the counting
 * stays on, which costs time but changes no result. */
static void global_config(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* the WAL gathering VFS (store_sqlite_walbuf.c); should it fail, the
     * default VFS is left as it is and the pragma that asks for gathering
     * is ignored: every write then goes through as SQLite makes it */
    (void)sq_walbuf_install();
}

static void sq_close(void *impl)
{
    struct sq *h = impl;
    if (!h)
        return;
    for (int i = 0; i < SQ_NSTMT; i++)
        sqlite3_finalize(h->st[i]);
    sq_sql_cache_free(h);
    sqlite3_close(h->db);
    for (int i = 0; i < 3; i++)
        free(h->job_str[i]);
    free(h->path);
    free(h);
}

static int sq_open(const char *uri, const store_open_opts *opts, void **impl, ny_err *e)
{
    *impl = NULL;
    ny_err_clear(e);
    int target = opts->target_version ? opts->target_version : STORE_SCHEMA_VERSION;
    if (target < 0 || target > STORE_SCHEMA_VERSION || target > store_sqlite_migration_count)
        return ny_err_set(e, NY_EINVAL, "cannot migrate to schema version %d (latest is %d)",
                          opts->target_version, STORE_SCHEMA_VERSION);
    struct stat sb;
    if (opts->must_exist && stat(uri, &sb) != 0)
        return ny_err_set(e, NY_ENOTFOUND, "database %s does not exist", uri);
    struct sq *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(uri))) {
        free(h);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    /* A handle belongs to one thread at a time (store.h), so SQLite's own
     * per-call mutexes are not needed. */
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (opts->must_exist ? 0 : SQLITE_OPEN_CREATE);
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int rc = pthread_once(&once, global_config) == 0 ? sqlite3_open_v2(uri, &h->db, flags, NULL)
                                                     : SQLITE_ERROR;
    if (rc != SQLITE_OK) {
        rc = ny_err_set(e, NY_ERR, "cannot open database %s: %s", uri,
                        h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
        sq_close(h);
        return rc;
    }
    sqlite3_extended_result_codes(h->db, 1);
    h->busy_ms = STORE_BUSY_MS;
    rc = configure(h, e);
    if (rc == NY_OK)
        rc = migrate(h, target, e);
    if (rc != NY_OK) {
        sq_close(h);
        return rc;
    }
    *impl = h;
    return NY_OK;
}

static int sq_schema_version(void *impl, int *version, ny_err *e)
{
    ny_err_clear(e);
    return read_version(impl, version, e);
}

/* ---- explicit transactions ---------------------------------------------- */

static int sq_begin(void *impl, ny_err *e)
{
    struct sq *h = impl;
    ny_err_clear(e);
    if (!sqlite3_get_autocommit(h->db))
        return ny_err_set(e, NY_ECONFLICT, "a transaction is already open");
    return run(h, SQ_BEGIN, "BEGIN IMMEDIATE", e);
}

static int sq_commit(void *impl, ny_err *e)
{
    struct sq *h = impl;
    ny_err_clear(e);
    if (sqlite3_get_autocommit(h->db))
        return ny_err_set(e, NY_ECONFLICT, "no transaction is open");
    int rc = run(h, SQ_COMMIT, "COMMIT", e);
    if (rc != NY_OK && !sqlite3_get_autocommit(h->db))
        run(h, SQ_ROLLBACK, "ROLLBACK", NULL);
    return rc;
}

static int sq_rollback(void *impl, ny_err *e)
{
    struct sq *h = impl;
    ny_err_clear(e);
    if (sqlite3_get_autocommit(h->db))
        return ny_err_set(e, NY_ECONFLICT, "no transaction is open");
    return run(h, SQ_ROLLBACK, "ROLLBACK", e);
}

static void sq_busy_limit(void *impl, int ms)
{
    ((struct sq *)impl)->busy_ms = ms;
}

/* ---- counts ------------------------------------------------------------- */

static int sq_stats_get(void *impl, store_stats *out, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    memset(out, 0, sizeof *out);
    int rc = sq_stmt(h, SQ_STATS,
                     "SELECT"
                     " (SELECT count(*) FROM units WHERE level='district'),"
                     " (SELECT count(*) FROM units WHERE level='street'),"
                     " (SELECT count(*) FROM units WHERE level='community'),"
                     " (SELECT count(*) FROM units WHERE level='grid'),"
                     " (SELECT count(*) FROM chat_groups WHERE kind='resident'),"
                     " (SELECT count(*) FROM chat_groups WHERE kind='enterprise'),"
                     " (SELECT count(*) FROM households),"
                     " (SELECT count(*) FROM enterprises),"
                     " (SELECT count(*) FROM staff),"
                     " (SELECT count(*) FROM messages),"
                     " (SELECT count(*) FROM leads),"
                     " (SELECT count(*) FROM cases WHERE status<>'closed'),"
                     " (SELECT count(*) FROM cases WHERE status='closed'),"
                     " (SELECT count(*) FROM policies),"
                     " (SELECT count(*) FROM lexicon)",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    rc = sq_next(h, st, e);
    if (rc == 1) {
        long *f[] = {&out->units_district, &out->units_street,    &out->units_community,
                     &out->units_grid,     &out->groups_resident, &out->groups_enterprise,
                     &out->households,     &out->enterprises,     &out->staff,
                     &out->messages,       &out->leads,           &out->cases_open,
                     &out->cases_closed,   &out->policies,        &out->lexicon};
        for (int i = 0; i < (int)(sizeof f / sizeof f[0]); i++)
            *f[i] = (long)sqlite3_column_int64(st, i);
        rc = NY_OK;
    }
    sq_reset(st);
    return rc;
}

/* ---- claimable jobs ----------------------------------------------------- */

static int sq_job_enqueue(void *impl, const store_job *job, int64_t *id_out, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    if (!job->kind || !*job->kind)
        return ny_err_set(e, NY_EINVAL, "a job needs a kind");
    int rc = sq_stmt(h, SQ_JOB_ENQUEUE,
                     "INSERT INTO jobs(kind,dedupe_key,payload,run_at,status)"
                     " VALUES(?1,?2,?3,?4,'ready')",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, job->kind);
    sq_bind_text(st, 2, job->dedupe_key);
    sq_bind_text(st, 3, job->payload ? job->payload : "{}");
    sqlite3_bind_int64(st, 4, job->run_at);
    rc = sq_next(h, st, e);
    if (rc == NY_OK && id_out)
        *id_out = sqlite3_last_insert_rowid(h->db);
    if (rc == NY_EEXIST)
        ny_err_set(e, rc, "a job with dedupe key '%s' already exists", job->dedupe_key);
    sq_reset(st);
    return rc;
}

/* Keeps a copy of a claimed job's string in the handle (slot 0..2). */
static int keep_job_str(struct sq *h, int slot, const char *text, const char **out, ny_err *e)
{
    free(h->job_str[slot]);
    h->job_str[slot] = NULL;
    *out = NULL;
    if (!text)
        return NY_OK;
    if (!(h->job_str[slot] = strdup(text)))
        return ny_err_set(e, NY_ERR, "out of memory");
    *out = h->job_str[slot];
    return NY_OK;
}

/* Finds the job to claim and marks it claimed; caller holds the write lock. */
static int claim_locked(struct sq *h, const char *kind, const char *worker, int64_t now,
                        int lease_seconds, store_job *job, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_JOB_PICK,
                     "SELECT id,kind,dedupe_key,payload,run_at,attempts FROM jobs"
                     " WHERE run_at<=?1 AND (?2 IS NULL OR kind=?2)"
                     " AND (status='ready' OR (status='claimed' AND lease_until<?1))"
                     " ORDER BY run_at,id LIMIT 1",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    sq_bind_text(st, 2, kind);
    rc = sq_next(h, st, e);
    if (rc == NY_OK)
        rc = kind ? ny_err_set(e, NY_ENOTFOUND, "no '%s' job is due", kind)
                  : ny_err_set(e, NY_ENOTFOUND, "no job is due");
    if (rc == 1) {
        memset(job, 0, sizeof *job);
        job->id = sqlite3_column_int64(st, 0);
        job->run_at = sqlite3_column_int64(st, 4);
        job->attempts = sqlite3_column_int(st, 5) + 1;
        rc = keep_job_str(h, 0, sq_text(st, 1), &job->kind, e);
        if (rc == NY_OK)
            rc = keep_job_str(h, 1, sq_text(st, 2), &job->dedupe_key, e);
        if (rc == NY_OK)
            rc = keep_job_str(h, 2, sq_text(st, 3), &job->payload, e);
    }
    sq_reset(st);
    if (rc != NY_OK)
        return rc;
    rc = sq_stmt(h, SQ_JOB_TAKE,
                 "UPDATE jobs SET status='claimed',claimed_by=?2,lease_until=?3,"
                 "attempts=attempts+1 WHERE id=?1",
                 &st, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_bind_int64(st, 1, job->id);
    sq_bind_text(st, 2, worker);
    sqlite3_bind_int64(st, 3, now + lease_seconds);
    rc = sq_next(h, st, e);
    sq_reset(st);
    return rc;
}

static int sq_job_claim(void *impl, const char *kind, const char *worker, int64_t now,
                        int lease_seconds, store_job *job, ny_err *e)
{
    struct sq *h = impl;
    int own;
    ny_err_clear(e);
    if (!worker || !*worker || lease_seconds <= 0)
        return ny_err_set(e, NY_EINVAL, "a claim needs a worker name and a positive lease");
    int rc = sq_batch_begin(h, &own, e);
    if (rc != NY_OK)
        return rc;
    rc = claim_locked(h, kind, worker, now, lease_seconds, job, e);
    return sq_batch_end(h, own, rc, e);
}

/* Runs a job update guarded by "claimed by worker"; NY_ECONFLICT if no row
 * matched. */
static int job_release(struct sq *h, sqlite3_stmt *st, int64_t id, const char *worker, ny_err *e)
{
    int rc = sq_next(h, st, e);
    sq_reset(st);
    if (rc == NY_OK && sqlite3_changes(h->db) == 0)
        rc = ny_err_set(e, NY_ECONFLICT, "job %lld is not claimed by worker '%s'", (long long)id,
                        worker);
    return rc;
}

static int sq_job_done(void *impl, int64_t id, const char *worker, int64_t now, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_JOB_DONE,
                     "UPDATE jobs SET status='done',done_at=?3,lease_until=NULL"
                     " WHERE id=?1 AND status='claimed' AND claimed_by=?2",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sq_bind_text(st, 2, worker);
    sqlite3_bind_int64(st, 3, now);
    return job_release(h, st, id, worker, e);
}

static int sq_job_retry(void *impl, int64_t id, const char *worker, int64_t retry_at,
                        const char *error, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    int rc = sq_stmt(h, SQ_JOB_RETRY,
                     "UPDATE jobs SET status='ready',run_at=?3,last_error=?4,claimed_by=NULL,"
                     "lease_until=NULL WHERE id=?1 AND status='claimed' AND claimed_by=?2",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sq_bind_text(st, 2, worker);
    sqlite3_bind_int64(st, 3, retry_at);
    sq_bind_text(st, 4, error ? error : "");
    return job_release(h, st, id, worker, e);
}

/* ---- cache versions ----------------------------------------------------- */

static int sq_cache_version(void *impl, const char *name, int64_t *version, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    *version = 0;
    int rc = sq_stmt(h, SQ_CACHE_GET,
                     "SELECT CAST(value AS INTEGER) FROM meta WHERE key='cache:'||?1", &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, name);
    rc = sq_next(h, st, e);
    if (rc == 1) {
        *version = sqlite3_column_int64(st, 0);
        rc = NY_OK;
    }
    sq_reset(st);
    return rc;
}

static int sq_cache_bump(void *impl, const char *name, ny_err *e)
{
    struct sq *h = impl;
    sqlite3_stmt *st;
    ny_err_clear(e);
    if (!name || !*name)
        return ny_err_set(e, NY_EINVAL, "a cache needs a name");
    int rc = sq_stmt(h, SQ_CACHE_BUMP,
                     "INSERT INTO meta(key,value) VALUES('cache:'||?1,'1')"
                     " ON CONFLICT(key) DO UPDATE SET value=CAST(CAST(value AS INTEGER)+1 AS TEXT)",
                     &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, name);
    rc = sq_next(h, st, e);
    sq_reset(st);
    return rc;
}

static int64_t sq_last_id(void *impl)
{
    struct sq *h = impl;
    return sqlite3_last_insert_rowid(h->db);
}

const struct store_driver store_sqlite_driver = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .busy_limit = sq_busy_limit,
    .rollback = sq_rollback,
    .unit_put_batch = sq_unit_put_batch,
    .unit_get = sq_unit_get,
    .units_prefixed = sq_units_prefixed,
    .household_put_batch = sq_household_put_batch,
    .households_each = sq_households_each,
    .enterprise_put_batch = sq_enterprise_put_batch,
    .enterprises_each = sq_enterprises_each,
    .group_put_batch = sq_group_put_batch,
    .groups_each = sq_groups_each,
    .staff_put_batch = sq_staff_put_batch,
    .staff_each = sq_staff_each,
    .policy_put_batch = sq_policy_put_batch,
    .policies_each = sq_policies_each,
    .lexicon_put_batch = sq_lexicon_put_batch,
    .lexicon_each = sq_lexicon_each,
    .message_put_batch = sq_message_put_batch,
    .messages_find = sq_messages_find,
    .message_ingest_batch = sq_message_ingest_batch,
    .messages_each = sq_messages_each,
    .case_put_batch = sq_case_put_batch,
    .cases_each = sq_cases_each,
    .case_event_append_batch = sq_case_event_append_batch,
    .case_events_each = sq_case_events_each,
    .lead_put_batch = sq_lead_put_batch,
    .leads_count = sq_leads_count,
    .leads_each = sq_leads_each,
    .stats_get = sq_stats_get,
    .job_enqueue = sq_job_enqueue,
    .job_claim = sq_job_claim,
    .job_done = sq_job_done,
    .job_retry = sq_job_retry,
    .cache_version = sq_cache_version,
    .cache_bump = sq_cache_bump,
    .staff_find = sq_staff_find,
    .credential_get = sq_credential_get,
    .credentials_each = sq_credentials_each,
    .credential_put = sq_credential_put,
    .login_failed = sq_login_failed,
    .login_succeeded = sq_login_succeeded,
    .session_put = sq_session_put,
    .session_find = sq_session_find,
    .session_touch = sq_session_touch,
    .session_revoke = sq_session_revoke,
    .sessions_revoke_staff = sq_sessions_revoke_staff,
    .connector_put = sq_connector_put,
    .connector_find = sq_connector_find,
    .connector_find_by_key = sq_connector_find_by_key,
    .connectors_each = sq_connectors_each,
    .sql = sq_sql,
    .last_id = sq_last_id,
};
