/* store_pg_jobs.c - claimable jobs and cache versions in PostgreSQL.
 *
 * The coordination that lets several stateless nodes share one database.
 * A claim is a single statement, UPDATE ... WHERE id = (SELECT ... FOR UPDATE
 * SKIP LOCKED LIMIT 1) RETURNING ...: concurrent workers never wait for each
 * other and never take the same job, and a job whose lease ran out (its
 * worker died) is taken over by the next claim at a later `now`. done and
 * retry only touch a job still claimed by the calling worker, so a worker
 * whose job was taken over gets NY_ECONFLICT and its late result is ignored.
 * Selection order and conditions are those of the SQLite driver.
 *
 * Cache versions are counters in meta ('cache:<name>'). Nodes compare the
 * version before using a cached copy of shared data (lexicon, policies,
 * units) and reload when it moved; that check is the contract. A bump also
 * sends NOTIFY nuanyang_cache with the name as payload (delivered when the
 * bumping transaction commits), so nodes that LISTEN can refresh at once
 * instead of at their next check. */
#include <stdio.h>
#include <string.h>

#include "store_pg.h"

int pg_job_enqueue(void *impl, const store_job *job, int64_t *id_out, ny_err *e)
{
    static const char sql[] = "INSERT INTO jobs(kind, dedupe_key, payload, run_at, status)"
                              " VALUES($1, $2, $3, $4, 'ready')"
                              " ON CONFLICT(dedupe_key) DO NOTHING RETURNING id";
    ny_err_clear(e);
    if (!job->kind || !*job->kind)
        return ny_err_set(e, NY_EINVAL, "a job needs a kind");
    char num[24];
    const char *vals[] = {job->kind, job->dedupe_key, job->payload ? job->payload : "{}",
                          pg_i64(num, job->run_at)};
    PGresult *r;
    int rc = pg_run(impl, sql, 4, vals, &r, e, "query failed");
    if (rc != NY_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = ny_err_set(e, NY_EEXIST, "a job with dedupe key '%s' already exists", job->dedupe_key);
    else if (id_out)
        *id_out = pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_job_claim(void *impl, const char *kind, const char *worker, int64_t now, int lease_seconds,
                 store_job *job, ny_err *e)
{
    static const char sql[] =
        "UPDATE jobs SET status = 'claimed', claimed_by = $3, lease_until = $2::bigint + $4::int,"
        " attempts = attempts + 1"
        " WHERE id = (SELECT id FROM jobs WHERE run_at <= $2::bigint"
        " AND ($1::text IS NULL OR kind = $1::text)"
        " AND (status = 'ready' OR (status = 'claimed' AND lease_until < $2::bigint))"
        " ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, kind, dedupe_key, payload, run_at, attempts";
    struct pg *h = impl;
    ny_err_clear(e);
    if (!worker || !*worker || lease_seconds <= 0)
        return ny_err_set(e, NY_EINVAL, "a claim needs a worker name and a positive lease");
    char t[24], lease[24];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *vals[] = {kind, pg_i64(t, now), worker, lease};
    PGresult *r;
    int rc = pg_run(h, sql, 4, vals, &r, e, "query failed");
    if (rc != NY_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return kind ? ny_err_set(e, NY_ENOTFOUND, "no '%s' job is due", kind)
                    : ny_err_set(e, NY_ENOTFOUND, "no job is due");
    }
    PQclear(h->job); /* the previous claim's strings */
    h->job = r;
    memset(job, 0, sizeof *job);
    job->id = pg_int(r, 0, 0);
    job->kind = pg_text(r, 0, 1);
    job->dedupe_key = pg_text(r, 0, 2);
    job->payload = pg_text(r, 0, 3);
    job->run_at = pg_int(r, 0, 4);
    job->attempts = (int)pg_int(r, 0, 5);
    return NY_OK;
}

/* Runs a job update guarded by "claimed by worker" (id $1, worker $2);
 * NY_ECONFLICT if no row matched. */
static int job_release(struct pg *h, const char *sql, int n, const char *const *vals, int64_t id,
                       const char *worker, ny_err *e)
{
    PGresult *r;
    ny_err_clear(e);
    int rc = pg_run(h, sql, n, vals, &r, e, "query failed");
    if (rc != NY_OK)
        return rc;
    if (strcmp(PQcmdTuples(r), "0") == 0)
        rc = ny_err_set(e, NY_ECONFLICT, "job %lld is not claimed by worker '%s'", (long long)id,
                        worker ? worker : "");
    PQclear(r);
    return rc;
}

int pg_job_done(void *impl, int64_t id, const char *worker, int64_t now, ny_err *e)
{
    static const char sql[] = "UPDATE jobs SET status = 'done', done_at = $3, lease_until = NULL"
                              " WHERE id = $1 AND status = 'claimed' AND claimed_by = $2";
    char a[24], b[24];
    const char *vals[] = {pg_i64(a, id), worker, pg_i64(b, now)};
    return job_release(impl, sql, 3, vals, id, worker, e);
}

int pg_job_retry(void *impl, int64_t id, const char *worker, int64_t retry_at, const char *error,
                 ny_err *e)
{
    static const char sql[] =
        "UPDATE jobs SET status = 'ready', run_at = $3, last_error = $4, claimed_by = NULL,"
        " lease_until = NULL WHERE id = $1 AND status = 'claimed' AND claimed_by = $2";
    char a[24], b[24];
    const char *vals[] = {pg_i64(a, id), worker, pg_i64(b, retry_at), error ? error : ""};
    return job_release(impl, sql, 4, vals, id, worker, e);
}

int pg_cache_version(void *impl, const char *name, int64_t *version, ny_err *e)
{
    static const char sql[] = "SELECT value::bigint FROM meta WHERE key = 'cache:' || $1::text";
    PGresult *r;
    const char *vals[] = {name};
    ny_err_clear(e);
    *version = 0;
    int rc = pg_run(impl, sql, 1, vals, &r, e, "query failed");
    if (rc != NY_OK)
        return rc;
    if (PQntuples(r) == 1)
        *version = pg_int(r, 0, 0);
    PQclear(r);
    return NY_OK;
}

int pg_cache_bump(void *impl, const char *name, ny_err *e)
{
    static const char sql[] =
        "WITH b AS (INSERT INTO meta(key, value) VALUES('cache:' || $1::text, '1')"
        " ON CONFLICT(key) DO UPDATE SET value = (meta.value::bigint + 1)::text RETURNING value)"
        " SELECT value, pg_notify('nuanyang_cache', $1::text) FROM b";
    PGresult *r;
    const char *vals[] = {name};
    ny_err_clear(e);
    if (!name || !*name)
        return ny_err_set(e, NY_EINVAL, "a cache needs a name");
    int rc = pg_run(impl, sql, 1, vals, &r, e, "query failed");
    if (rc == NY_OK)
        PQclear(r);
    return rc;
}
