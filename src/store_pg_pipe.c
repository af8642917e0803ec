/* store_pg_pipe.c - the PostgreSQL driver's pipeline: statements sent
 * without waiting for their results.
 *
 * Without it every statement costs a round trip: the driver sends it and
 * waits for the server's answer before the caller can build the next one.
 * Inside the group commit most statements return nothing the caller reads
 * (savepoints, the rows of a case's log and reporters, a lead's first
 * report), so on a handle with store_pipeline() on, inside a transaction,
 * such statements are sent in libpq's pipeline mode and left unanswered
 * (pg_pipe_send). The next statement whose result the caller needs
 * (pg_pipe_exec: an INSERT ... RETURNING, a lookup, a count) joins the same
 * flight: the driver ends it with a sync and reads every answer in order,
 * so the whole run costs one round trip. pg_pipe_wait ends a flight with
 * nothing to add (store_sync, the group commit's check after a member).
 *
 * Failures keep the meaning they had. The server answers a failed
 * statement with its error and skips everything after it up to the sync;
 * the driver keeps the first failure, with the NY_* code and message the
 * statement would have had on its own, reports it from the call that
 * waited, and from every later statement of the transaction without
 * sending it, until the transaction or a savepoint is rolled back
 * (pg_pipe_reset), as PostgreSQL refuses them anyway. Outside a
 * transaction, or with the pipeline off, nothing changes: every statement
 * is sent and waited for on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"

int pg_pipe_can(const struct pg *h)
{
    return h->pipelined && h->in_tx;
}

void pg_pipe_reset(struct pg *h)
{
    h->failed = 0;
    h->nsp = 0;
}

/* Records the first failure of the flight in h->fail: statement number seq
 * (0: the connection's, nothing before it is sure). Savepoints sent at or
 * after it were never set: lost. */
static void keep_failure(struct pg *h, const PGresult *r, const char *what, long seq)
{
    if (h->failed)
        return;
    pg_error(h, r, &h->fail, what);
    h->failed = 1;
    for (int k = 0; k < h->nsp; k++)
        h->sp[k].lost = h->sp[k].lost || seq == 0 || h->sp[k].seq >= seq;
}

static int failure(struct pg *h, ny_err *e)
{
    if (e)
        *e = h->fail;
    return h->fail.code;
}

/* The savepoint name after prefix at the start of sql, or NULL. */
static const char *named(const char *sql, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(sql, prefix, n) != 0)
        return NULL;
    sql += n;
    if (strncmp(sql, "SAVEPOINT ", 10) == 0)
        sql += 10;
    return sql;
}

/* The index of the innermost open savepoint called name, or -1. */
static int find(const struct pg *h, const char *name)
{
    int k = h->nsp - 1;
    while (k >= 0 && strcmp(h->sp[k].name, name) != 0)
        k--;
    return k;
}

int pg_pipe_before(struct pg *h, const char *sql, ny_err *e)
{
    if (sql[0] != 'R' || strncmp(sql, "ROLLBACK", 8) != 0)
        return NY_OK;
    ny_err ignore;
    pg_pipe_wait(h, &ignore);
    const char *name = named(sql, "ROLLBACK TO ");
    if (!name) {
        pg_pipe_reset(h);
        return NY_OK;
    }
    int k = find(h, name);
    if (h->failed && (k < 0 || h->sp[k].lost)) /* sent after the failure: never set */
        return failure(h, e);
    if (k >= 0)
        h->nsp = k + 1; /* those inside it are gone; it stays */
    h->failed = 0;
    return NY_OK;
}

void pg_pipe_after(struct pg *h, const char *sql)
{
    const char *name;
    if (sql[0] == 'S' && (name = named(sql, "SAVEPOINT ")) != NULL) {
        if (h->nsp < PG_MAX_SAVEPOINTS && strlen(name) < sizeof h->sp[0].name) {
            snprintf(h->sp[h->nsp].name, sizeof h->sp[0].name, "%s", name);
            h->sp[h->nsp].lost = 0;
            h->sp[h->nsp++].seq = h->seq;
        }
    } else if (sql[0] == 'R' && (name = named(sql, "RELEASE ")) != NULL) {
        int k = find(h, name);
        if (k >= 0)
            h->nsp = k;
    }
}

/* Reads the flight's answers up to its sync: the pipelined statements',
 * keeping the first failure, then (when last is not NULL) the answer of
 * the statement added at the end. Leaves pipeline mode. */
static void drain(struct pg *h, PGresult **last)
{
    int got = 0, nulls = 0;
    for (;;) {
        PGresult *r = PQgetResult(h->conn);
        if (!r) { /* the end of one statement's answer; twice: nothing more comes */
            if (++nulls > 1 || PQstatus(h->conn) == CONNECTION_BAD)
                break;
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (got < h->npending) {
            if (st == PGRES_FATAL_ERROR)
                keep_failure(h, r, h->pending[got].what, h->pending[got].seq);
            PQclear(r);
        } else if (last && !*last) {
            *last = r;
        } else {
            PQclear(r);
        }
        got++;
    }
    if (got < h->npending + (last ? 1 : 0))
        keep_failure(h, NULL, got < h->npending ? h->pending[got].what : "query failed", 0);
    h->npending = 0;
    if (!PQexitPipelineMode(h->conn))
        keep_failure(h, NULL, "pipeline", 0);
}

int pg_pipe_send(struct pg *h, const char *name, const char *text, int n, const char *const *vals,
                 const char *what, ny_err *e)
{
    if (h->failed)
        return failure(h, e);
    if (h->npending == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        struct pg_pending *p = realloc(h->pending, (size_t)cap * sizeof *p);
        if (!p)
            return ny_err_set(e, NY_ERR, "out of memory");
        h->pending = p;
        h->cap = cap;
    }
    if (PQpipelineStatus(h->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(h->conn))
        return pg_error(h, NULL, e, what);
    int sent = name ? PQsendQueryPrepared(h->conn, name, n, vals, NULL, NULL, 0)
                    : PQsendQueryParams(h->conn, text, n, NULL, vals, NULL, NULL, 0);
    if (!sent) {
        keep_failure(h, NULL, what, 0);
        return failure(h, e);
    }
    h->pending[h->npending++] = (struct pg_pending){what, ++h->seq};
    return NY_OK;
}

int pg_pipe_wait(struct pg *h, ny_err *e)
{
    if (h->npending > 0) {
        if (PQpipelineSync(h->conn))
            drain(h, NULL);
        else
            keep_failure(h, NULL, "pipeline", 0);
        h->npending = 0;
    }
    if (PQpipelineStatus(h->conn) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(h->conn);
    return h->failed ? failure(h, e) : NY_OK;
}

int pg_pipe_exec(struct pg *h, const char *name, const char *text, int n, const char *const *vals,
                 PGresult **out, const char *what, ny_err *e)
{
    PGresult *r = NULL;
    *out = NULL;
    if (h->failed)
        return failure(h, e);
    if (h->npending == 0) {
        r = name ? PQexecPrepared(h->conn, name, n, vals, NULL, NULL, 0)
                 : PQexecParams(h->conn, text, n, NULL, vals, NULL, NULL, 0);
    } else { /* with the statements pipelined before it, in one flight */
        int sent = name ? PQsendQueryPrepared(h->conn, name, n, vals, NULL, NULL, 0)
                        : PQsendQueryParams(h->conn, text, n, NULL, vals, NULL, NULL, 0);
        if (sent && PQpipelineSync(h->conn))
            drain(h, &r);
        else
            keep_failure(h, NULL, what, 0);
        if (PQpipelineStatus(h->conn) != PQ_PIPELINE_OFF)
            PQexitPipelineMode(h->conn);
        h->npending = 0;
        if (h->failed) {
            PQclear(r);
            return failure(h, e);
        }
    }
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = pg_error(h, r, e, what);
        PQclear(r);
        return rc;
    }
    *out = r;
    return NY_OK;
}
