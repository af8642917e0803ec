/* store_case_feed.c - the case log read forward, for the live stream (see
 * store_case.h, "feed").
 *
 * server_cases_events.c polls these two reads to announce committed case
 * events on GET /api/v1/stream: only committed rows are visible to them, so
 * nothing rolled back is ever announced, and events written by other nodes
 * are seen as well. Portable SQL over store_sql; the reads follow the
 * primary key of case_events. */
#include "store_case.h"

#include "store_sql.h"

int store_case_feed_last(store *s, int64_t *id, ny_err *e)
{
    return store_sql_int(s, "SELECT COALESCE(MAX(id), 0) FROM case_events", NULL, 0, id, e);
}

struct feed_ctx {
    int (*fn)(void *ctx, const case_feed_item *it);
    void *ctx;
};

static int on_item(void *ctx, const store_row *r)
{
    struct feed_ctx *f = ctx;
    case_feed_item it = {.id = store_row_int(r, 0),
                         .case_id = store_row_int(r, 1),
                         .at = store_row_int(r, 2),
                         .actor = store_row_text(r, 3),
                         .action = store_row_text(r, 4),
                         .changes = store_row_text(r, 5),
                         .kind = store_row_text(r, 6),
                         .category = store_row_text(r, 7),
                         .status = store_row_text(r, 8),
                         .level = store_row_text(r, 9),
                         .unit = store_row_text(r, 10),
                         .unit_name = store_row_text(r, 11),
                         .department = store_row_text(r, 12),
                         .overdue = (int)store_row_int(r, 13)};
    return f->fn(f->ctx, &it);
}

int store_case_feed(store *s, int64_t after, int max,
                    int (*fn)(void *ctx, const case_feed_item *it), void *ctx, ny_err *e)
{
    struct feed_ctx f = {fn, ctx};
    store_val p[] = {SV_INT(after), SV_INT(max)};
    return store_sql(s,
                     "SELECT v.id, v.case_id, v.at, v.actor, v.action, v.changes, c.kind,"
                     " c.category, c.status, c.level, u.code, u.name, c.department, c.overdue"
                     " FROM case_events v JOIN cases c ON c.id = v.case_id"
                     " JOIN units u ON u.id = c.unit_id WHERE v.id > ? ORDER BY v.id LIMIT ?",
                     p, 2, on_item, &f, NULL, e);
}

struct ids_ctx {
    int (*fn)(void *ctx, int64_t id);
    void *ctx;
};

static int on_id(void *ctx, const store_row *r)
{
    struct ids_ctx *c = ctx;
    return c->fn(c->ctx, store_row_int(r, 0));
}

int store_case_feed_ids(store *s, int64_t after, int max, int (*fn)(void *ctx, int64_t id),
                        void *ctx, ny_err *e)
{
    struct ids_ctx c = {fn, ctx};
    store_val p[] = {SV_INT(after), SV_INT(max)};
    return store_sql(s, "SELECT id FROM case_events WHERE id > ? ORDER BY id LIMIT ?", p, 2, on_id,
                     &c, NULL, e);
}
