/* store_pg_ingest.c - store_message_ingest_batch in one round trip on
 * PostgreSQL (the driver's message_ingest_batch entry).
 *
 * Without this entry store.c finds the stored keys (one query), then
 * inserts the rest (pg_message_put_batch): two round trips before the
 * caller may go on, since the insert depends on what the lookup found.
 * Here one statement does both: its parameters are the batch's columns as
 * arrays (as in store_pg_batch.c), a CTE finds which keys are stored, the
 * INSERT takes the others in batch order (so ids are drawn in that order,
 * as everywhere in this driver), and the result gives each element its id
 * and whether it was stored before. It runs under a savepoint that goes
 * out with it in the same flight when the handle pipelines
 * (store_pg_pipe.c). Only the first element of each key is sent; the
 * others are duplicates of it.
 *
 * Anything else takes the exact path, with the semantics of store.c's
 * generic one: a batch with an element that fails its checks in memory, or
 * a statement that fails (a group that does not exist, a key another
 * transaction stored meanwhile), is undone to the savepoint and run again
 * as lookup plus pg_message_put_batch, whose element-by-element replay
 * names the failing element with the SQLite driver's code and message; a
 * key taken by a concurrent transaction between the two is retried, at
 * most three times. */
#include <stdlib.h>

#include "domain.h"
#include "store_pg.h"

static const char ingest_sql[] =
    "WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
    " $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])"
    " WITH ORDINALITY AS v(group_id, connector, external_id, sender_id, sender_name, sent_at,"
    " text, intent, category, triage, ord)),"
    " old AS (SELECT v.ord, m.id FROM v JOIN messages m ON m.connector = v.connector"
    " AND m.external_id = v.external_id),"
    " ins AS (INSERT INTO messages(group_id, connector, external_id, sender_id, sender_name,"
    " sent_at, text, intent, category, triage)"
    " SELECT group_id, connector, external_id, sender_id, sender_name, sent_at, text, intent,"
    " category, triage FROM v WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.ord = v.ord)"
    " ORDER BY ord RETURNING id, connector, external_id)"
    " SELECT COALESCE(old.id, ins.id), CASE WHEN old.id IS NULL THEN 0 ELSE 1 END FROM v"
    " LEFT JOIN old ON old.ord = v.ord"
    " LEFT JOIN ins ON ins.connector = v.connector AND ins.external_id = v.external_id"
    " ORDER BY v.ord";

/* 1 when message m passes the in-memory checks of the exact path. */
static int valid(const store_message *m)
{
    return (!m->intent || domain_index(domain_intents, m->intent) >= 0) &&
           (!m->category || domain_index(domain_categories, m->category) >= 0);
}

/* The fast path over the nf first elements at[0..nf): NY_OK with ids_out
 * and dup set for them, or the statement's failure. */
static int at_once(struct pg *h, const store_message *m, const size_t *at, size_t nf,
                   int64_t *ids_out, int *dup, ny_err *e)
{
    struct pg_cols c = {.n = 10};
    for (int k = 0; k < 10; k++)
        pg_buf_put(&c.col[k], "{", 1);
    for (size_t j = 0; j < nf; j++) {
        const store_message *x = &m[at[j]];
        pg_col_int(&c, 0, x->group_id);
        pg_col_text(&c, 1, x->connector);
        pg_col_text(&c, 2, x->external_id);
        pg_col_text(&c, 3, x->sender_id);
        pg_col_text(&c, 4, x->sender_name);
        pg_col_int(&c, 5, x->sent_at);
        pg_col_text(&c, 6, x->text);
        pg_col_text(&c, 7, x->intent);
        pg_col_text(&c, 8, x->category);
        pg_col_text(&c, 9, x->triage);
    }
    const char *vals[10];
    int rc = NY_OK;
    for (int k = 0; k < 10; k++) {
        pg_buf_put(&c.col[k], "}", 1);
        if (c.col[k].oom)
            rc = ny_err_set(e, NY_ERR, "out of memory");
        vals[k] = c.col[k].p;
    }
    PGresult *r = NULL;
    if (rc == NY_OK)
        rc = pg_run(h, ingest_sql, 10, vals, &r, e, "query failed");
    if (rc == NY_OK && (size_t)PQntuples(r) != nf)
        rc = ny_err_set(e, NY_ERR, "ingest returned %d rows for %zu", PQntuples(r), nf);
    for (size_t j = 0; rc == NY_OK && j < nf; j++) {
        ids_out[at[j]] = pg_int(r, (int)j, 0);
        dup[at[j]] = pg_int(r, (int)j, 1) != 0;
        if (!ids_out[at[j]])
            rc = ny_err_set(e, NY_ERR, "ingest returned no id for element %zu", at[j]);
    }
    PQclear(r);
    for (int k = 0; k < 10; k++)
        pg_buf_free(&c.col[k]);
    return rc;
}

/* The exact path over the first elements at[0..nf): lookup, then the
 * batch insert of those not stored (fresh is scratch for nf messages). */
static int exact(struct pg *h, const store_message *m, const size_t *at, size_t nf,
                 store_message *fresh, size_t *where, int64_t *ids_out, int *dup, ny_err *e)
{
    int rc = NY_EEXIST;
    for (int attempt = 0; rc == NY_EEXIST && attempt < 3; attempt++) {
        for (size_t j = 0; j < nf; j++)
            fresh[j] = m[at[j]];
        int64_t *found = calloc(nf, sizeof *found);
        if (!found)
            return ny_err_set(e, NY_ERR, "out of memory");
        rc = pg_messages_find(h, fresh, nf, found, e);
        size_t nfresh = 0;
        for (size_t j = 0; rc == NY_OK && j < nf; j++) {
            ids_out[at[j]] = found[j];
            dup[at[j]] = found[j] != 0;
            if (!found[j]) {
                where[nfresh] = at[j];
                fresh[nfresh++] = m[at[j]];
            }
        }
        free(found);
        if (rc != NY_OK || nfresh == 0)
            return rc;
        int64_t *ids = calloc(nfresh, sizeof *ids);
        if (!ids)
            return ny_err_set(e, NY_ERR, "out of memory");
        rc = pg_message_put_batch(h, fresh, nfresh, ids, e);
        if (rc != NY_OK && e && e->index >= 0 && (size_t)e->index < nfresh)
            e->index = (long)where[e->index];
        for (size_t k = 0; rc == NY_OK && k < nfresh; k++)
            ids_out[where[k]] = ids[k];
        free(ids);
    }
    return rc;
}

int pg_message_ingest_batch(void *impl, const store_message *m, size_t n, const size_t *first,
                            int64_t *ids_out, int *dup, ny_err *e)
{
    struct pg *h = impl;
    ny_err_clear(e);
    size_t *at = malloc(n * sizeof *at), *where = malloc(n * sizeof *where), nf = 0;
    store_message *fresh = malloc(n * sizeof *fresh);
    int rc = at && where && fresh ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
    int ok = 1;
    for (size_t i = 0; rc == NY_OK && i < n; i++)
        if (first[i] == i) {
            at[nf++] = i;
            ok = ok && valid(&m[i]);
        }
    int own = 0;
    if (rc == NY_OK)
        rc = pg_batch_begin(h, &own, e);
    if (rc == NY_OK) {
        ny_err fast;
        int frc = ok ? at_once(h, m, at, nf, ids_out, dup, &fast) : NY_EINVAL;
        if (frc != NY_OK && (rc = pg_batch_undo(h, own, e)) == NY_OK)
            rc = exact(h, m, at, nf, fresh, where, ids_out, dup, e);
        for (size_t i = 0; rc == NY_OK && i < n; i++)
            if (first[i] != i) { /* an earlier element has its key */
                ids_out[i] = ids_out[first[i]];
                dup[i] = 1;
            }
        rc = pg_batch_end(h, own, rc, e);
    }
    free(at);
    free(where);
    free(fresh);
    return rc;
}
