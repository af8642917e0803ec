/* store_outbox.c - the outbox table: queueing, claims with a lease, the end
 * of each attempt, the dead-letter list and its retry.
 *
 * Part of the storage layer, written once for both engines through
 * store_sql(). The delivery worker (outbox_worker.c) is its main user: in
 * its transaction it reads the due rows it claims in claim order, which on
 * PostgreSQL locks them with FOR UPDATE SKIP LOCKED so that several nodes
 * claim disjoint sets, and marks them claimed with one UPDATE by id; on SQLite the transaction's
 * write lock serialises claims. Every later change of a claimed row is
 * conditional on the claim still being the caller's, so a node whose lease
 * ran out cannot overwrite the outcome of the node that took the row over.
 * Lists of ids or targets are padded to a few fixed lengths, so that their
 * statements stay prepared. The per-target sliding minute
 * (store_outbox_rate_take) lives here too, so that every node sending to
 * one robot shares it, and the worker handle's commits without a flush
 * (store_outbox_lazy_commits). What differs by engine: that locking
 * clause, the per-target window rows (written only on PostgreSQL, where
 * they serialise takes) and the setting that makes commits lazy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_outbox.h"
#include "store_sql.h"

static void row_of(const store_row *row, store_outbox_row *r)
{
    *r = (store_outbox_row){
        store_row_int(row, 0),      store_row_text(row, 1), store_row_text(row, 2),
        store_row_text(row, 3),     store_row_text(row, 4), store_row_text(row, 5),
        store_row_text(row, 6),     store_row_text(row, 7), (int)store_row_int(row, 8),
        (int)store_row_int(row, 9), store_row_int(row, 10), store_row_int(row, 11),
        store_row_int(row, 12)};
}

/* The columns row_of reads, in its order. */
#define COLS                                                                                       \
    "id, idem_key, kind, channel, target, payload, status, last_error, attempts, priority, "       \
    "next_at, created_at, COALESCE(sent_at, 0)"

struct each {
    int (*fn)(void *ctx, const store_outbox_row *r);
    void *ctx;
    long n; /* rows seen */
};

static int on_row(void *ctx, const store_row *row)
{
    struct each *x = ctx;
    store_outbox_row r;
    row_of(row, &r);
    x->n++;
    return x->fn(x->ctx, &r);
}

int store_outbox_put(store *s, const store_outbox_row *r, int64_t *id_out, int *fresh, ny_err *e)
{
    store_val p[] = {SV_TEXT(r->key),    SV_TEXT(r->kind),     SV_TEXT(r->channel),
                     SV_TEXT(r->target), SV_TEXT(r->payload),  SV_INT(r->priority),
                     SV_INT(r->next_at), SV_INT(r->created_at)};
    int64_t id = 0;
    int rc = store_sql_int(s,
                           "INSERT INTO outbox(idem_key, kind, channel, target, payload, priority,"
                           " next_at, created_at, status) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'pending')"
                           " ON CONFLICT(idem_key) DO NOTHING RETURNING id",
                           p, 8, &id, e);
    int is_new = rc == NY_OK;
    if (rc == NY_ENOTFOUND) /* the key was there: nothing inserted */
        rc = store_sql_int(s, "SELECT id FROM outbox WHERE idem_key = ?", p, 1, &id, e);
    if (rc != NY_OK)
        return rc;
    if (id_out)
        *id_out = id;
    if (fresh)
        *fresh = is_new;
    return NY_OK;
}

int store_outbox_put_batch(store *s, const store_outbox_row *r, size_t n, long *inserted, ny_err *e)
{
    enum { NCOL = 8 };
    *inserted = 0;
    if (!n)
        return NY_OK;
    store_val *p = calloc(n, NCOL * sizeof *p);
    if (!p)
        return ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const store_outbox_row *x = &r[i];
        store_val v[NCOL] = {SV_TEXT(x->key),    SV_TEXT(x->kind),     SV_TEXT(x->channel),
                             SV_TEXT(x->target), SV_TEXT(x->payload),  SV_INT(x->priority),
                             SV_INT(x->next_at), SV_INT(x->created_at)};
        memcpy(p + i * NCOL, v, sizeof v);
    }
    int rc = store_sql_rows(s,
                            "INSERT INTO outbox(idem_key, kind, channel, target, payload,"
                            " priority, next_at, created_at, status) VALUES",
                            "(?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                            " ON CONFLICT(idem_key) DO NOTHING", NCOL, p, n, NULL, inserted, e);
    free(p);
    return rc;
}

/* Largest number of ids one statement names (the worker's most slots). */
#define IDS_MAX 256

/* "?, ?, …" for n placeholders into buf (3 * n bytes). */
static void marks(char *buf, size_t n)
{
    char *o = buf;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            *o++ = ',';
            *o++ = ' ';
        }
        *o++ = '?';
    }
    *o = '\0';
}

/* The number of placeholders a list of n values is padded to (repeating
 * its last value), so that lists of any length share five statement texts
 * (1, 4, 16, 64 or 256 values) in the drivers' prepared-statement caches. */
static size_t padded(size_t n)
{
    size_t k = 1;
    while (k < n)
        k *= 4;
    return k;
}

/* The rows chosen by one claim: their ids, and the caller's callback. */
struct claim {
    struct each each;
    int64_t *ids;
};

static int on_claim_row(void *ctx, const store_row *row)
{
    struct claim *c = ctx;
    store_outbox_row r;
    row_of(row, &r);
    r.status = "sending";
    c->ids[c->each.n++] = r.id;
    return c->each.fn(c->each.ctx, &r);
}

/* Chooses the rows that where selects (its parameters p[0..np-1]) in
 * order, at most max, handing each to the callback. */
static int choose(store *s, const char *where, int pg, store_val *p, int np, int max,
                  struct claim *c, ny_err *e)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " COLS " FROM outbox WHERE %s LIMIT ?%s", where,
             pg ? " FOR UPDATE SKIP LOCKED" : "");
    p[np] = SV_INT(max);
    return store_sql(s, sql, p, np + 1, on_claim_row, c, NULL, e);
}

int store_outbox_claim(store *s, const char *node, int64_t now, int lease_s, int max,
                       int (*fn)(void *ctx, const store_outbox_row *r), void *ctx, ny_err *e)
{
    if (max < 1)
        return NY_OK;
    if (max > IDS_MAX)
        max = IDS_MAX;
    int pg = strcmp(store_engine(s), "postgresql") == 0;
    int64_t ids[IDS_MAX];
    struct claim c = {{fn, ctx, 0}, ids};
    /* rows whose lease ran out first (a node died holding them: the
     * oldest work), then pending rows one priority at a time, each a range
     * of the outbox_claim index read in order; plain reads (locking the
     * rows on PostgreSQL), then one UPDATE by id for all of them, since an
     * UPDATE … RETURNING costs SQLite a temporary table per execution */
    store_val p[3] = {SV_INT(now)};
    int rc = choose(s, "status = 'sending' AND lease_until <= ? ORDER BY priority, next_at, id", pg,
                    p, 1, max, &c, e);
    for (int prio = 0; prio <= 3 && rc == NY_OK && c.each.n < max; prio++) {
        p[1] = SV_INT(prio);
        rc = choose(s, "status = 'pending' AND next_at <= ? AND priority = ? ORDER BY next_at, id",
                    pg, p, 2, max - (int)c.each.n, &c, e);
    }
    size_t n = (size_t)c.each.n, k = padded(n);
    if (rc != NY_OK || n == 0)
        return rc;
    store_val v[2 + IDS_MAX];
    v[0] = SV_TEXT(node);
    v[1] = SV_INT(now + lease_s);
    for (size_t i = 0; i < k; i++)
        v[2 + i] = SV_INT(ids[i < n ? i : n - 1]);
    char list[3 * IDS_MAX + 1], sql[160 + sizeof list];
    marks(list, k);
    snprintf(sql, sizeof sql,
             "UPDATE outbox SET status = 'sending', claimed_by = ?, lease_until = ?"
             " WHERE id IN (%s)",
             list);
    return store_sql(s, sql, v, (int)(2 + k), NULL, NULL, NULL, e);
}

int store_outbox_finish(store *s, int64_t id, const char *node, const char *status, int attempts,
                        int64_t now, int64_t next_at, const char *error, ny_err *e)
{
    int sent = strcmp(status, "sent") == 0;
    if (!sent && strcmp(status, "pending") != 0 && strcmp(status, "dead") != 0)
        return ny_err_set(e, NY_EINVAL, "bad outbox status '%s'", status);
    store_val p[] = {SV_TEXT(status),
                     SV_INT(attempts),
                     sent ? SV_INT(now) : SV_NULL,
                     SV_INT(sent ? now : next_at),
                     SV_TEXT(sent    ? ""
                             : error ? error
                                     : ""),
                     SV_INT(id),
                     SV_TEXT(node)};
    long changed = 0;
    int rc = store_sql(s,
                       "UPDATE outbox SET status = ?, attempts = ?, sent_at = ?, next_at = ?,"
                       " last_error = ?, claimed_by = NULL, lease_until = NULL"
                       " WHERE id = ? AND status = 'sending' AND claimed_by = ?",
                       p, 7, NULL, NULL, &changed, e);
    if (rc == NY_OK && changed == 0)
        rc = ny_err_set(e, NY_ECONFLICT, "outbox row %lld is no longer claimed by %s",
                        (long long)id, node);
    return rc;
}

int store_outbox_sent_batch(store *s, const int64_t *ids, size_t n, const char *node, int64_t now,
                            long *updated, ny_err *e)
{
    *updated = 0;
    if (n == 0)
        return NY_OK;
    if (n > IDS_MAX)
        return ny_err_set(e, NY_EINVAL, "more than %d outbox rows at once", IDS_MAX);
    size_t k = padded(n);
    store_val v[IDS_MAX + 3];
    v[0] = SV_INT(now);
    v[1] = SV_INT(now);
    for (size_t i = 0; i < k; i++)
        v[2 + i] = SV_INT(ids[i < n ? i : n - 1]);
    v[2 + k] = SV_TEXT(node);
    char list[3 * IDS_MAX + 1], sql[300 + sizeof list];
    marks(list, k);
    snprintf(sql, sizeof sql,
             "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?,"
             " next_at = ?, last_error = '', claimed_by = NULL, lease_until = NULL"
             " WHERE id IN (%s) AND status = 'sending' AND claimed_by = ?",
             list);
    return store_sql(s, sql, v, (int)(3 + k), NULL, NULL, updated, e);
}

int store_outbox_release(store *s, const char *node, int64_t id, int64_t next_at, ny_err *e)
{
    store_val p[] = {SV_INT(next_at), SV_INT(next_at), SV_TEXT(node), SV_INT(id), SV_INT(id)};
    return store_sql(s,
                     "UPDATE outbox SET status = 'pending', claimed_by = NULL, lease_until = NULL,"
                     " next_at = CASE WHEN CAST(? AS BIGINT) > 0 THEN ? ELSE next_at END"
                     " WHERE status = 'sending' AND claimed_by = ?"
                     " AND (CAST(? AS BIGINT) = 0 OR id = ?)",
                     p, 5, NULL, NULL, NULL, e);
}

int store_outbox_list(store *s, const char *status, long limit, long offset,
                      int (*fn)(void *ctx, const store_outbox_row *r), void *ctx, long *total,
                      ny_err *e)
{
    store_val p[] = {SV_TEXT(status), SV_TEXT(status), SV_INT(limit), SV_INT(offset)};
    int64_t n = 0;
    int rc = store_sql_int(
        s, "SELECT count(*) FROM outbox WHERE (CAST(? AS TEXT) IS NULL OR status = ?)", p, 2, &n,
        e);
    if (rc != NY_OK)
        return rc;
    *total = (long)n;
    struct each x = {fn, ctx, 0};
    return store_sql(s,
                     "SELECT " COLS " FROM outbox WHERE (CAST(? AS TEXT) IS NULL OR status = ?)"
                     " ORDER BY id DESC LIMIT ? OFFSET ?",
                     p, 4, on_row, &x, NULL, e);
}

int store_outbox_retry(store *s, int64_t id, int64_t now, ny_err *e)
{
    store_val p[] = {SV_INT(now), SV_INT(id)};
    long changed = 0;
    int rc = store_sql(s,
                       "UPDATE outbox SET status = 'pending', attempts = 0, next_at = ?"
                       " WHERE id = ? AND status = 'dead'",
                       p, 2, NULL, NULL, &changed, e);
    if (rc != NY_OK || changed)
        return rc;
    int64_t there = 0;
    rc = store_sql_int(s, "SELECT count(*) FROM outbox WHERE id = ?", p + 1, 1, &there, e);
    if (rc != NY_OK)
        return rc;
    return there ? ny_err_set(e, NY_ECONFLICT, "outbox row %lld is not dead", (long long)id)
                 : ny_err_set(e, NY_ENOTFOUND, "no outbox row %lld", (long long)id);
}

static int on_depth(void *ctx, const store_row *row)
{
    long *v = ctx;
    v[0] = (long)store_row_int(row, 0);
    v[1] = (long)store_row_int(row, 1);
    return NY_OK;
}

int store_outbox_depth(store *s, long *waiting, long *dead, ny_err *e)
{
    long v[2] = {0, 0};
    int rc = store_sql(s,
                       "SELECT COALESCE(sum(CASE WHEN status IN ('pending', 'sending') THEN 1 "
                       "ELSE 0 END), 0), COALESCE(sum(CASE WHEN status = 'dead' THEN 1 ELSE 0 "
                       "END), 0) FROM outbox"
                       " WHERE status IN ('pending', 'sending', 'dead')",
                       NULL, 0, on_depth, v, NULL, e);
    *waiting = v[0];
    *dead = v[1];
    return rc;
}

/* One target of a batch of takes: the target's sends in the last minute
 * (in the table, and taken by this batch at now_ms). */
struct window {
    const char *target;
    long table, batch;
};

static int cmp_window(const void *a, const void *b)
{
    return strcmp(((const struct window *)a)->target, ((const struct window *)b)->target);
}

static struct window *find_window(struct window *w, size_t n, const char *target)
{
    struct window key = {target, 0, 0};
    return bsearch(&key, w, n, sizeof *w, cmp_window);
}

/* The distinct targets of a batch of takes, sorted. */
struct windows {
    struct window *v;
    size_t n;
};

static int on_count(void *ctx, const store_row *row)
{
    struct windows *ws = ctx;
    struct window *x = find_window(ws->v, ws->n, store_row_text(row, 0));
    if (x)
        x->table = (long)store_row_int(row, 1);
    return NY_OK;
}

/* Runs head + "(?, …)" + tail with the n targets of w as the list (padded
 * by repeating the last) followed by the na values of after. */
static int over_targets(store *s, const char *head, const char *tail, const struct window *w,
                        size_t n, const store_val *after, int na,
                        int (*fn)(void *ctx, const store_row *row), void *ctx, ny_err *e)
{
    store_val v[IDS_MAX + 4];
    size_t k = padded(n);
    char list[3 * IDS_MAX + 1], sql[256 + sizeof list];
    for (size_t i = 0; i < k; i++)
        v[i] = SV_TEXT(w[i < n ? i : n - 1].target);
    for (int i = 0; i < na; i++)
        v[k + (size_t)i] = after[i];
    marks(list, k);
    snprintf(sql, sizeof sql, "%s(%s)%s", head, list, tail);
    return store_sql(s, sql, v, (int)k + na, fn, ctx, NULL, e);
}

int store_outbox_rate_take(store *s, const char *target, int k, int per_minute, int64_t now_ms,
                           int *taken, int64_t *next_ms, ny_err *e)
{
    int rc = store_begin(s, e);
    if (rc == NY_OK)
        rc = store_outbox_rate_take_batch(s, &target, &k, 1, per_minute, now_ms, taken, next_ms, e);
    if (rc == NY_OK)
        return store_commit(s, e);
    ny_err e2;
    store_rollback(s, &e2);
    return rc;
}

/* Decides each take in order against the counts of w (nw distinct
 * targets), then writes the sends taken in one multi-row INSERT; a take
 * that does not fit reads the send it waits for. */
static int decide(store *s, const char *const *targets, const int *k, size_t n, int per_minute,
                  int64_t now_ms, struct window *w, size_t nw, int *taken, int64_t *next_ms,
                  ny_err *e)
{
    int rc = NY_OK;
    long total = 0;
    for (size_t i = 0; i < n && rc == NY_OK; i++) {
        struct window *x = find_window(w, nw, targets[i]);
        long ki = k[i] < 1 ? 1 : k[i] > per_minute ? per_minute : k[i];
        long used = x->table + x->batch;
        taken[i] = used + ki <= per_minute;
        next_ms[i] = now_ms;
        if (taken[i]) {
            x->batch += ki;
            total += ki;
            continue;
        }
        /* the (used + k - per_minute)-th oldest send must leave; the batch's
         * own sends are the youngest */
        long j = used + ki - per_minute - 1;
        int64_t at = now_ms;
        if (j < x->table)
            rc = store_sql_int(s,
                               "SELECT at FROM outbox_sends WHERE target = ? ORDER BY at"
                               " LIMIT 1 OFFSET ?",
                               (store_val[]){SV_TEXT(targets[i]), SV_INT(j)}, 2, &at, e);
        next_ms[i] = at + 60000;
    }
    if (rc != NY_OK || total == 0)
        return rc;
    store_val *p = calloc((size_t)total, 2 * sizeof *p);
    if (!p)
        return ny_err_set(e, NY_ERR, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        long ki = k[i] < 1 ? 1 : k[i] > per_minute ? per_minute : k[i];
        for (long j = 0; taken[i] && j < ki; j++) {
            p[2 * m] = SV_TEXT(targets[i]);
            p[2 * m++ + 1] = SV_INT(now_ms);
        }
    }
    rc = store_sql_rows(s, "INSERT INTO outbox_sends(target, at) VALUES", "(?, ?)", "", 2, p, m,
                        NULL, NULL, e);
    free(p);
    return rc;
}

int store_outbox_rate_take_batch(store *s, const char *const *targets, const int *k, size_t n,
                                 int per_minute, int64_t now_ms, int *taken, int64_t *next_ms,
                                 ny_err *e)
{
    if (per_minute < 1)
        return ny_err_set(e, NY_EINVAL, "rate limit %d is not positive", per_minute);
    if (n == 0)
        return NY_OK;
    if (n > IDS_MAX)
        return ny_err_set(e, NY_EINVAL, "more than %d rate takes at once", IDS_MAX);
    /* the distinct targets, sorted: their window rows are written in this
     * order, so two nodes taking for the same targets lock them in the same
     * order */
    struct window w[IDS_MAX];
    size_t nw = 0;
    for (size_t i = 0; i < n; i++)
        w[i] = (struct window){targets[i], 0, 0};
    qsort(w, n, sizeof *w, cmp_window);
    for (size_t i = 0; i < n; i++)
        if (!nw || strcmp(w[nw - 1].target, w[i].target) != 0)
            w[nw++] = w[i];
    /* on PostgreSQL the write to each target's row serialises takes for it
     * (a row lock held to the end of the transaction); on SQLite the
     * transaction's write lock already does */
    int rc = NY_OK;
    if (strcmp(store_engine(s), "postgresql") == 0) {
        store_val *p = calloc(nw, 2 * sizeof *p);
        if (!p)
            return ny_err_set(e, NY_ERR, "out of memory");
        for (size_t i = 0; i < nw; i++) {
            p[2 * i] = SV_TEXT(w[i].target);
            p[2 * i + 1] = SV_INT(now_ms);
        }
        rc = store_sql_rows(s, "INSERT INTO outbox_window(target, touched) VALUES", "(?, ?)",
                            " ON CONFLICT(target) DO UPDATE SET touched = excluded.touched", 2, p,
                            nw, NULL, NULL, e);
        free(p);
    }
    store_val old = SV_INT(now_ms - 60000);
    if (rc == NY_OK)
        rc = over_targets(s, "DELETE FROM outbox_sends WHERE target IN ", " AND at <= ?", w, nw,
                          &old, 1, NULL, NULL, e);
    if (rc == NY_OK)
        rc =
            over_targets(s, "SELECT target, count(*) FROM outbox_sends WHERE target IN ",
                         " GROUP BY target", w, nw, NULL, 0, on_count, &(struct windows){w, nw}, e);
    if (rc == NY_OK)
        rc = decide(s, targets, k, n, per_minute, now_ms, w, nw, taken, next_ms, e);
    return rc;
}

int store_outbox_lazy_commits(store *s, ny_err *e)
{
    if (strcmp(store_engine(s), "postgresql") == 0)
        return store_sql(s, "SELECT set_config('synchronous_commit', 'off', false)", NULL, 0, NULL,
                         NULL, NULL, e);
    return store_sql(s, "PRAGMA synchronous=NORMAL", NULL, 0, NULL, NULL, NULL, e);
}

int store_outbox_purge(store *s, int64_t sent_before, int max, long *purged, ny_err *e)
{
    /* A sent row's next_at is its sent_at. One statement per priority (0..3,
     * outbox_enqueue refuses others) with the priority fixed reads each a
     * range of an index that starts (status, priority, next_at) in order, or
     * of one on (status, next_at) filtered by priority, and stops at the
     * rows it takes. */
    long total = 0;
    int rc = NY_OK;
    for (int prio = 0; prio <= 3 && rc == NY_OK && total < max; prio++) {
        store_val p[] = {SV_INT(prio), SV_INT(sent_before), SV_INT(sent_before),
                         SV_INT(max - total)};
        long n = 0;
        rc = store_sql(s,
                       "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o"
                       " WHERE o.status = 'sent' AND o.priority = ? AND o.next_at < ?"
                       " AND o.sent_at < ? AND NOT EXISTS (SELECT 1 FROM notice_deliveries d"
                       " WHERE d.outbox_id = o.id) ORDER BY o.next_at LIMIT ?)",
                       p, 4, NULL, NULL, &n, e);
        total += rc == NY_OK ? n : 0;
    }
    if (purged)
        *purged = total;
    return rc;
}
