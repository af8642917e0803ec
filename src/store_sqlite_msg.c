/* store_sqlite_msg.c - messages in the SQLite driver: the plain batch
 * insert (sq_message_put_batch), the look-up by key (sq_messages_find) and
 * ingest's idempotent batch (sq_message_ingest_batch), the one write on
 * the path of every message the server accepts.
 *
 * Each batch runs in one atomic scope (sq_batch_begin/sq_batch_end) and
 * tallies its statistics as it goes (store_sqlite_tally.c). Ingest stores
 * a message with INSERT … ON CONFLICT(connector,external_id) DO NOTHING, so
 * a new message costs no look-up and a repeated one is found by its key
 * afterwards. A batch writes its messages CHUNK rows a statement while at
 * least CHUNK are left: one statement's start, bindings' reset and halt
 * for sixteen rows instead of one (a fifth of a message row's cost; see
 * docs/BENCHMARKS.md, session 8), with the ids and the duplicates worked
 * out as ingest_chunk describes; what remains goes a row at a time.
 *
 * The multi-row statement is INSERT OR FAIL and the messages' foreign key
 * to their group is checked at commit (schema 16): a multi-row statement
 * that may abort half-way makes SQLite copy every page it touches into a
 * statement journal first, so that the abort can undo the statement's own
 * rows (2.3 k of a message row's 20 k instructions, docs/BENCHMARKS.md,
 * session 9). Without it a failing statement keeps the rows before the one
 * that failed; ingest_chunk tells them from older rows by their ids, and
 * the batch's scope undoes them with everything else when the batch
 * fails. */
#include <stdio.h>

#include "domain.h"
#include "store_sqlite.h"

/* NY_OK if value is one of list; else NY_EINVAL naming what (the message)
 * and field. */
static int known(const char *const *list, const char *value, const char *what, const char *field,
                 long i, ny_err *e)
{
    if (domain_index(list, value) >= 0)
        return NY_OK;
    return ny_err_set_at(e, NY_EINVAL, i, "%s: unknown %s '%s' (expected %s)", what, field,
                         sq_show(value), domain_list_text(list));
}

/* "message CONNECTOR/ID", the name of message m in its errors, into buf;
 * built only when something fails. */
static const char *message_what(const store_message *m, char *buf, size_t size)
{
    snprintf(buf, size, "message %s/%s", sq_show(m->connector), sq_show(m->external_id));
    return buf;
}

/* The checks of message m (element i) before it is stored: its group
 * (whose unit is put in *unit_id) and its intent and category. */
static int message_check(struct sq *h, sq_tally *t, const store_message *m, long i,
                         int64_t *unit_id, ny_err *e)
{
    int rc = sq_tally_group(h, t, m, i, unit_id, e);
    if (rc != NY_OK || ((!m->intent || domain_index(domain_intents, m->intent) >= 0) &&
                        (!m->category || domain_index(domain_categories, m->category) >= 0)))
        return rc;
    char what[160];
    message_what(m, what, sizeof what);
    rc = m->intent ? known(domain_intents, m->intent, what, "intent", i, e) : NY_OK;
    if (rc == NY_OK)
        rc = known(domain_categories, m->category, what, "category", i, e);
    return rc;
}

/* Steps the prepared message INSERT st for message m (element i), as
 * insert() does, naming the message only when the step fails. */
static int message_step(struct sq *h, sqlite3_stmt *st, const store_message *m, long i, int64_t *id,
                        ny_err *e)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        if (id)
            *id = sqlite3_last_insert_rowid(h->db);
        sq_reset(st);
        return NY_OK;
    }
    char what[160];
    rc = sq_at(e, i, sq_error(h, rc, e, message_what(m, what, sizeof what)));
    sq_reset(st);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "%s already exists", what);
    return rc;
}

#define MESSAGE_INSERT                                                                             \
    "INSERT INTO messages(group_id,connector,external_id,sender_id,sender_name,sent_at,text,"      \
    "intent,category,triage) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"

/* Binds m to the ten parameters after the first base of st. */
static void message_bind(sqlite3_stmt *st, int base, const store_message *m)
{
    sqlite3_bind_int64(st, base + 1, m->group_id);
    sq_bind_text(st, base + 2, m->connector);
    sq_bind_text(st, base + 3, m->external_id);
    sq_bind_text(st, base + 4, m->sender_id);
    sq_bind_text(st, base + 5, m->sender_name);
    sqlite3_bind_int64(st, base + 6, m->sent_at);
    sq_bind_text(st, base + 7, m->text);
    sq_bind_text(st, base + 8, m->intent);
    sq_bind_text(st, base + 9, m->category);
    sq_bind_text(st, base + 10, m->triage);
}

/* Stores message m (element i) and counts it in t. */
static int message_put(struct sq *h, sq_tally *t, const store_message *m, long i, int64_t *id,
                       ny_err *e)
{
    int64_t unit_id = 0;
    int rc = message_check(h, t, m, i, &unit_id, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_MESSAGE, MESSAGE_INSERT, &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    message_bind(st, 0, m);
    rc = message_step(h, st, m, i, id, e);
    if (rc == NY_OK)
        sq_tally_add(t, unit_id, m);
    return rc;
}

/* Messages are not a plain batch(): their statistics are tallied while they
 * are stored and written before the batch's scope ends (schema 9). */
int sq_message_put_batch(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e)
{
    struct sq *h = impl;
    int own;
    ny_err_clear(e);
    sq_tally *t = sq_tally_new(n);
    if (!t)
        return ny_err_set(e, NY_ERR, "out of memory");
    int rc = sq_batch_begin(h, &own, e);
    if (rc == NY_OK)
        rc = sq_tally_groups(h, t, m, n, e);
    if (rc == NY_OK) {
        for (size_t i = 0; rc == NY_OK && i < n; i++)
            rc = message_put(h, t, &m[i], (long)i, ids_out ? &ids_out[i] : NULL, e);
        if (rc == NY_OK)
            rc = sq_tally_flush(h, t, e);
        rc = sq_batch_end(h, own, rc, e);
    }
    sq_tally_free(t);
    return rc;
}

/* The id of the stored message with m's key into *id (0 when there is
 * none). */
static int message_find(struct sq *h, const store_message *m, int64_t *id, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_MESSAGE_FIND,
                     "SELECT id FROM messages WHERE connector=?1 AND external_id=?2", &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, m->connector);
    sq_bind_text(st, 2, m->external_id);
    rc = sq_next(h, st, e);
    *id = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    sq_reset(st);
    return rc < 0 ? rc : NY_OK;
}

/* Stores message m (element i) unless one with its key is stored (then
 * *dup = 1 and *id is that message's): the insert itself finds the key
 * taken (ON CONFLICT DO NOTHING), so a new message costs no lookup. A
 * stored row with an id above before was stored by this batch's failed
 * statement (ingest_chunk) and is new (INT64_MAX: there was none). */
static int message_ingest(struct sq *h, sq_tally *t, const store_message *m, long i, int64_t before,
                          int64_t *id, int *dup, ny_err *e)
{
    int64_t unit_id = 0;
    int rc = message_check(h, t, m, i, &unit_id, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_MESSAGE_NEW,
                 MESSAGE_INSERT " ON CONFLICT(connector,external_id) DO NOTHING", &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    message_bind(st, 0, m);
    rc = message_step(h, st, m, i, id, e);
    if (rc != NY_OK)
        return rc;
    *dup = sqlite3_changes(h->db) == 0;
    if (*dup) {
        rc = message_find(h, m, id, e);
        if (rc == NY_OK && *id == 0) { /* a conflict on the key, yet no row with it */
            char what[160];
            rc = ny_err_set_at(e, NY_ERR, i, "%s: stored message not found",
                               message_what(m, what, sizeof what));
        }
        if (rc != NY_OK)
            return sq_at(e, i, rc);
        *dup = *id <= before;
    }
    if (!*dup)
        sq_tally_add(t, unit_id, m);
    return NY_OK;
}

/* The multi-row form of the ingest INSERT: CHUNK rows a statement. */
#define CHUNK 16
#define ROW1 "(?,?,?,?,?,?,?,?,?,?)"
#define ROW4 ROW1 "," ROW1 "," ROW1 "," ROW1
#define MESSAGE_INSERT_CHUNK                                                                       \
    "INSERT OR FAIL INTO "                                                                         \
    "messages(group_id,connector,external_id,sender_id,sender_name,sent_at,text,"                  \
    "intent,category,triage) VALUES" ROW4 "," ROW4 "," ROW4 "," ROW4                               \
    " ON CONFLICT(connector,external_id) DO NOTHING"

/* Stores the CHUNK messages m[at[0..CHUNK-1]] (each checked, its unit in
 * unit[]) with one statement, as message_ingest would one by one; *top is
 * the largest rowid of messages before it, and after it. When every row
 * is new their ids are the CHUNK consecutive rowids ending at the last one
 * (SQLite gives a new row the largest rowid plus one); when some key was
 * taken, each message is looked up by its key and is new exactly when its
 * id is above the largest rowid before the statement. A failing statement
 * keeps the rows before the failing one (OR FAIL): the chunk then runs a
 * row at a time, which counts those as new by the same rule and names the
 * failing message. */
static int ingest_chunk(struct sq *h, sq_tally *t, const store_message *m, const size_t *at_,
                        const int64_t *unit, int64_t *top, int64_t *ids_out, int *dup, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_INS_MESSAGE_CHUNK, MESSAGE_INSERT_CHUNK, &st, e);
    if (rc != NY_OK)
        return sq_at(e, (long)at_[0], rc);
    for (int k = 0; k < CHUNK; k++)
        message_bind(st, 10 * k, &m[at_[k]]);
    rc = sqlite3_step(st);
    sq_reset(st);
    if (rc != SQLITE_DONE) {
        int64_t before = *top;
        rc = NY_OK;
        for (int k = 0; rc == NY_OK && k < CHUNK; k++) {
            size_t i = at_[k];
            rc = message_ingest(h, t, &m[i], (long)i, before, &ids_out[i], &dup[i], e);
            if (rc == NY_OK && ids_out[i] > *top)
                *top = ids_out[i];
        }
        return rc;
    }
    int64_t changes = sqlite3_changes(h->db), last = sqlite3_last_insert_rowid(h->db);
    int64_t before = changes ? last - changes : INT64_MAX, fresh = 0;
    if (changes)
        *top = last;
    for (int k = 0; k < CHUNK; k++) {
        size_t i = at_[k];
        if (changes == CHUNK) {
            ids_out[i] = last - CHUNK + 1 + k;
        } else if ((rc = message_find(h, &m[i], &ids_out[i], e)) != NY_OK) {
            return sq_at(e, (long)i, rc);
        } else if (!ids_out[i]) {
            char what[160];
            return ny_err_set_at(e, NY_ERR, (long)i, "%s: stored message not found",
                                 message_what(&m[i], what, sizeof what));
        }
        dup[i] = changes != CHUNK && ids_out[i] <= before;
        if (!dup[i]) {
            sq_tally_add(t, unit[k], &m[i]);
            fresh++;
        }
    }
    if (fresh != changes)
        return ny_err_set_at(e, NY_ERR, (long)at_[0], "messages stored out of rowid order");
    return NY_OK;
}

/* The largest id of messages into *top (0 when there is none). */
static int max_id(struct sq *h, int64_t *top, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_MESSAGE_TOP, "SELECT max(id) FROM messages", &st, e);
    if (rc != NY_OK)
        return rc;
    rc = sq_next(h, st, e);
    *top = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    sq_reset(st);
    return rc < 0 ? rc : NY_OK;
}

int sq_message_ingest_batch(void *impl, const store_message *m, size_t n, const size_t *first,
                            int64_t *ids_out, int *dup, ny_err *e)
{
    struct sq *h = impl;
    int own;
    ny_err_clear(e);
    sq_tally *t = sq_tally_new(n);
    if (!t)
        return ny_err_set(e, NY_ERR, "out of memory");
    int rc = sq_batch_begin(h, &own, e);
    if (rc == NY_OK)
        rc = sq_tally_groups(h, t, m, n, e);
    if (rc == NY_OK) {
        /* the first element of each key, CHUNK at a time while CHUNK are
         * left, then one at a time; then those whose key came earlier */
        size_t at_[CHUNK], k = 0, left = 0;
        int64_t unit[CHUNK], top = 0;
        for (size_t i = 0; i < n; i++)
            left += first[i] == i;
        if (left >= CHUNK)
            rc = max_id(h, &top, e);
        for (size_t i = 0; rc == NY_OK && i < n; i++) {
            if (first[i] != i)
                continue;
            if (left - k < CHUNK && k == 0) {
                rc = message_ingest(h, t, &m[i], (long)i, INT64_MAX, &ids_out[i], &dup[i], e);
                left--;
                continue;
            }
            rc = message_check(h, t, &m[i], (long)i, &unit[k], e);
            at_[k++] = i;
            if (rc == NY_OK && k == CHUNK) {
                rc = ingest_chunk(h, t, m, at_, unit, &top, ids_out, dup, e);
                left -= CHUNK;
                k = 0;
            }
        }
        for (size_t i = 0; rc == NY_OK && i < n; i++)
            if (first[i] != i) { /* an earlier element has its key: stored or found */
                ids_out[i] = ids_out[first[i]];
                dup[i] = 1;
            }
        if (rc == NY_OK)
            rc = sq_tally_flush(h, t, e);
        rc = sq_batch_end(h, own, rc, e);
    }
    sq_tally_free(t);
    return rc;
}

int sq_messages_find(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e)
{
    ny_err_clear(e);
    for (size_t i = 0; i < n; i++) {
        int rc = message_find(impl, &m[i], &ids_out[i], e);
        if (rc != NY_OK)
            return rc;
    }
    return NY_OK;
}
