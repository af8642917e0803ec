/* store_pg_traffic.c - the *_put_batch entries of the PostgreSQL driver for
 * traffic: messages, cases, the case log and leads.
 *
 * Like store_pg_write.c, one struct pg_kind per table for pg_batch_run()
 * (store_pg_batch.c), with the checks of store_sqlite_write.c in the same
 * order and wording. These rows refer to other rows by id (a message's group,
 * a case's unit, an event's case, a lead's message, group, unit and case).
 * The fast path leaves those references to the foreign keys of the one
 * INSERT per batch; only when a batch fails is it replayed element by element
 * with an existence query per reference, which names the element and the
 * missing id exactly as the SQLite driver does. Ids of these tables are
 * their content in store_digest(): they are drawn from each table's identity
 * sequence in batch order. */
#include <stdio.h>

#include "domain.h"
#include "store_pg.h"

/* ---- messages, cases, the case log, leads ------------------------------- */

static const char group_exists_sql[] = "SELECT 1 FROM chat_groups WHERE id = $1";
static const char unit_exists_sql[] = "SELECT 1 FROM units WHERE id = $1";
static const char case_exists_sql[] = "SELECT 1 FROM cases WHERE id = $1";
static const char message_exists_sql[] = "SELECT 1 FROM messages WHERE id = $1";

static void message_what(const void *item, char *out, size_t outsz)
{
    const store_message *m = item;
    snprintf(out, outsz, "message %s/%s", pg_show(m->connector), pg_show(m->external_id));
}

static int message_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    const store_message *m = pg_item(b, i);
    int rc = NY_OK;
    if (precise) {
        char w[200];
        message_what(m, w, sizeof w);
        rc = pg_need_id(b->h, group_exists_sql, "group", m->group_id, w, (long)i, e);
    }
    if (rc == NY_OK && m->intent)
        rc = pg_check_enum(domain_intents, m->intent, 0, message_what, m, "intent", (long)i, e);
    if (rc == NY_OK && m->category)
        rc = pg_check_enum(domain_categories, m->category, 0, message_what, m, "category", (long)i,
                           e);
    return rc;
}

static void message_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_message *m = pg_item(b, i);
    pg_col_int(c, 0, m->group_id);
    pg_col_text(c, 1, m->connector);
    pg_col_text(c, 2, m->external_id);
    pg_col_text(c, 3, m->sender_id);
    pg_col_text(c, 4, m->sender_name);
    pg_col_int(c, 5, m->sent_at);
    pg_col_text(c, 6, m->text);
    pg_col_text(c, 7, m->intent);
    pg_col_text(c, 8, m->category);
    pg_col_text(c, 9, m->triage);
}

static void message_exists(const void *item, long i, ny_err *e)
{
    char w[200];
    message_what(item, w, sizeof w);
    ny_err_set_at(e, NY_EEXIST, i, "%s already exists", w);
}

static const struct pg_kind message_kind = {
    "INSERT INTO messages(group_id, connector, external_id, sender_id, sender_name, sent_at,"
    " text, intent, category, triage)"
    " SELECT group_id, connector, external_id, sender_id, sender_name, sent_at, text, intent,"
    " category, triage FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
    " $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])"
    " WITH ORDINALITY AS v(group_id, connector, external_id, sender_id, sender_name, sent_at,"
    " text, intent, category, triage, ord) ORDER BY ord RETURNING id",
    10,
    sizeof(store_message),
    NULL,
    message_check,
    message_row,
    message_exists};

int pg_message_put_batch(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &message_kind, m, n, ids_out, e);
}

int pg_messages_find(void *impl, const store_message *m, size_t n, int64_t *ids_out, ny_err *e)
{
    static const char sql[] =
        "SELECT m.id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(connector, xid, ord)"
        " LEFT JOIN messages m ON m.connector = v.connector AND m.external_id = v.xid"
        " ORDER BY v.ord";
    struct pg_cols c = {.n = 2};
    ny_err_clear(e);
    for (int k = 0; k < 2; k++)
        pg_buf_put(&c.col[k], "{", 1);
    for (size_t i = 0; i < n; i++) {
        pg_col_text(&c, 0, m[i].connector);
        pg_col_text(&c, 1, m[i].external_id);
    }
    for (int k = 0; k < 2; k++)
        pg_buf_put(&c.col[k], "}", 1);
    int rc = c.col[0].oom || c.col[1].oom ? ny_err_set(e, NY_ERR, "out of memory") : NY_OK;
    PGresult *r = NULL;
    const char *vals[] = {c.col[0].p, c.col[1].p};
    if (rc == NY_OK)
        rc = pg_run(impl, sql, 2, vals, &r, e, "query failed");
    if (rc == NY_OK && (size_t)PQntuples(r) != n)
        rc = ny_err_set(e, NY_ERR, "message lookup returned %d rows for %zu", PQntuples(r), n);
    for (size_t i = 0; rc == NY_OK && i < n; i++)
        ids_out[i] = pg_int(r, (int)i, 0);
    PQclear(r);
    for (int k = 0; k < 2; k++)
        pg_buf_free(&c.col[k]);
    return rc;
}

static void case_what(const void *item, char *out, size_t outsz)
{
    snprintf(out, outsz, "case '%s'", pg_show(((const store_case *)item)->title));
}

static int case_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    const store_case *c = pg_item(b, i);
    int rc = pg_check_enum(domain_levels, c->level, 0, case_what, c, "level", (long)i, e);
    if (rc == NY_OK && precise) {
        char w[200];
        case_what(c, w, sizeof w);
        rc = pg_need_id(b->h, unit_exists_sql, "unit", c->unit_id, w, (long)i, e);
    }
    return rc;
}

static void case_row(struct pg_batch *b, size_t i, struct pg_cols *cols)
{
    const store_case *c = pg_item(b, i);
    const char *text[] = {c->source, c->title, c->description, c->category, c->urgency};
    for (int k = 0; k < 5; k++)
        pg_col_text(cols, k, text[k]);
    pg_col_int(cols, 5, c->priority);
    pg_col_text(cols, 6, c->status);
    pg_col_text(cols, 7, c->level);
    pg_col_int(cols, 8, c->unit_id);
    pg_col_text(cols, 9, c->department);
    pg_col_text(cols, 10, c->location);
    pg_col_text(cols, 11, c->photo_url);
    pg_col_text(cols, 12, c->reporter);
    pg_col_int(cols, 13, c->opened_at);
    pg_col_opt(cols, 14, c->due_at);
    pg_col_opt(cols, 15, c->closed_at);
    pg_col_int(cols, 16, c->overdue);
    pg_col_opt(cols, 17, c->satisfaction);
}

static const struct pg_kind case_kind = {
    "INSERT INTO cases(source, title, description, category, urgency, priority, status, level,"
    " unit_id, department, location, photo_url, reporter, opened_at, due_at, closed_at,"
    " overdue, satisfaction)"
    " SELECT source, title, description, category, urgency, priority, status, level, unit_id,"
    " department, location, photo_url, reporter, opened_at, due_at, closed_at, overdue,"
    " satisfaction FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::int[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[],"
    " $13::text[], $14::bigint[], $15::bigint[], $16::bigint[], $17::int[], $18::int[])"
    " WITH ORDINALITY AS v(source, title, description, category, urgency, priority, status,"
    " level, unit_id, department, location, photo_url, reporter, opened_at, due_at,"
    " closed_at, overdue, satisfaction, ord) ORDER BY ord RETURNING id",
    18,
    sizeof(store_case),
    NULL,
    case_check,
    case_row,
    NULL};

int pg_case_put_batch(void *impl, const store_case *c, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &case_kind, c, n, ids_out, e);
}

static int event_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    const store_case_event *ev = pg_item(b, i);
    if (!precise)
        return NY_OK;
    char w[200];
    snprintf(w, sizeof w, "event '%s' of case %lld", pg_show(ev->action), (long long)ev->case_id);
    return pg_need_id(b->h, case_exists_sql, "case", ev->case_id, w, (long)i, e);
}

static void event_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_case_event *ev = pg_item(b, i);
    pg_col_int(c, 0, ev->case_id);
    pg_col_int(c, 1, ev->at);
    pg_col_text(c, 2, ev->actor);
    pg_col_text(c, 3, ev->action);
    pg_col_text(c, 4, ev->changes);
    pg_col_text(c, 5, ev->note);
}

static const struct pg_kind event_kind = {
    "INSERT INTO case_events(case_id, at, actor, action, changes, note)"
    " SELECT case_id, at, actor, action, changes, note FROM unnest($1::bigint[],"
    " $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY"
    " AS v(case_id, at, actor, action, changes, note, ord) ORDER BY ord RETURNING id",
    6,
    sizeof(store_case_event),
    NULL,
    event_check,
    event_row,
    NULL};

int pg_case_event_append_batch(void *impl, const store_case_event *ev, size_t n, int64_t *ids_out,
                               ny_err *e)
{
    return pg_batch_run(impl, &event_kind, ev, n, ids_out, e);
}

static void lead_what(const void *item, char *out, size_t outsz)
{
    snprintf(out, outsz, "lead for message %lld",
             (long long)((const store_lead *)item)->message_id);
}

static int lead_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    const store_lead *l = pg_item(b, i);
    int rc = pg_check_enum(domain_intents, l->intent, 0, lead_what, l, "intent", (long)i, e);
    if (rc == NY_OK)
        rc = pg_check_enum(domain_categories, l->category, 0, lead_what, l, "category", (long)i, e);
    if (rc != NY_OK || !precise)
        return rc;
    char w[200];
    lead_what(l, w, sizeof w);
    rc = pg_need_id(b->h, message_exists_sql, "message", l->message_id, w, (long)i, e);
    if (rc == NY_OK)
        rc = pg_need_id(b->h, group_exists_sql, "group", l->group_id, w, (long)i, e);
    if (rc == NY_OK)
        rc = pg_need_id(b->h, unit_exists_sql, "unit", l->unit_id, w, (long)i, e);
    if (rc == NY_OK && l->case_id)
        rc = pg_need_id(b->h, case_exists_sql, "case", l->case_id, w, (long)i, e);
    return rc;
}

static void lead_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_lead *l = pg_item(b, i);
    pg_col_int(c, 0, l->message_id);
    pg_col_int(c, 1, l->group_id);
    pg_col_int(c, 2, l->unit_id);
    pg_col_text(c, 3, l->intent);
    pg_col_text(c, 4, l->category);
    pg_col_int(c, 5, l->created_at);
    pg_col_opt(c, 6, l->case_id);
}

static void lead_exists(const void *item, long i, ny_err *e)
{
    char w[200];
    lead_what(item, w, sizeof w);
    ny_err_set_at(e, NY_EEXIST, i, "a %s already exists", w);
}

static const struct pg_kind lead_kind = {
    "INSERT INTO leads(message_id, group_id, unit_id, intent, category, created_at, case_id)"
    " SELECT message_id, group_id, unit_id, intent, category, created_at, case_id FROM"
    " unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[],"
    " $7::bigint[]) WITH ORDINALITY AS v(message_id, group_id, unit_id, intent, category,"
    " created_at, case_id, ord) ORDER BY ord RETURNING id",
    7,
    sizeof(store_lead),
    NULL,
    lead_check,
    lead_row,
    lead_exists};

int pg_lead_put_batch(void *impl, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &lead_kind, l, n, ids_out, e);
}
