/* store_notice.c - notices (群发通知) and their per-group deliveries.
 *
 * Part of the storage layer, written once for both engines through
 * store_sql(). server_notices.c fans a notice out in one transaction:
 * store_notice_put, store_notice_groups for the groups under the scope,
 * then per group an outbox row (outbox_enqueue) and its delivery row here.
 * A delivery does not keep its own state: reports read it from the outbox
 * row it points to (pending while pending or sending, sent, dead), and a
 * delivery without an outbox row is a group that had no robot target.
 * Unit subtrees are code ranges: every code starting with a prefix lies in
 * [prefix, prefix + ":"), since codes are digits and ':' follows '9'. */
#include <stdio.h>
#include <string.h>

#include "store_outbox.h"
#include "store_sql.h"

int store_notice_put(store *s, const char *sender, const char *scope_code, const char *kinds,
                     const char *text, int64_t created_at, int64_t send_at, int64_t *id_out,
                     ny_err *e)
{
    store_val p[] = {SV_TEXT(kinds),  SV_TEXT(text),   SV_INT(created_at),
                     SV_INT(send_at), SV_TEXT(sender), SV_TEXT(scope_code)};
    int rc = store_sql_int(s,
                           "INSERT INTO notices(sender_id, scope_unit_id, kinds, text, created_at,"
                           " send_at, status) SELECT st.id, u.id, ?, ?, ?, ?, 'scheduled'"
                           " FROM staff st, units u WHERE st.account = ? AND u.code = ?"
                           " RETURNING id",
                           p, 6, id_out, e);
    if (rc == NY_ENOTFOUND)
        return ny_err_set(e, NY_ENOTFOUND, "no staff account '%s' or unit '%s'", sender,
                          scope_code);
    return rc;
}

struct ids {
    int (*fn)(void *ctx, int64_t id);
    void *ctx;
};

static int on_id(void *ctx, const store_row *row)
{
    struct ids *x = ctx;
    return x->fn(x->ctx, store_row_int(row, 0));
}

int store_notice_groups(store *s, const char *prefix, const char *kinds,
                        int (*fn)(void *ctx, int64_t group_id), void *ctx, ny_err *e)
{
    char hi[40];
    snprintf(hi, sizeof hi, "%s:", prefix);
    int res = strstr(kinds, "resident") != NULL, ent = strstr(kinds, "enterprise") != NULL;
    store_val p[] = {SV_TEXT(prefix), (store_val){STORE_VTEXT, 0, hi},
                     SV_TEXT(res ? "resident" : ""), SV_TEXT(ent ? "enterprise" : "")};
    struct ids x = {fn, ctx};
    return store_sql(s,
                     "SELECT g.id FROM chat_groups g JOIN units u ON u.id = g.unit_id"
                     " WHERE u.code >= ? AND u.code < ? AND g.kind IN (?, ?) ORDER BY g.id",
                     p, 4, on_id, &x, NULL, e);
}

int store_notice_delivery_put(store *s, int64_t notice, int64_t group_id, int64_t outbox_id,
                              int64_t now, ny_err *e)
{
    store_val p[] = {SV_INT(notice), SV_INT(group_id), outbox_id ? SV_INT(outbox_id) : SV_NULL,
                     SV_TEXT(outbox_id ? "pending" : "failed"), SV_INT(now)};
    return store_sql(s,
                     "INSERT INTO notice_deliveries(notice_id, group_id, outbox_id, status,"
                     " updated_at) VALUES(?, ?, ?, ?, ?)",
                     p, 5, NULL, NULL, NULL, e);
}

/* The columns of a notice with its delivery counts, in on_notice's order. */
#define NOTICE_COLS                                                                                \
    "n.id, st.account, u.code, u.name, n.kinds, n.text, n.created_at, n.send_at,"                  \
    " (SELECT count(*) FROM notice_deliveries d JOIN outbox o ON o.id = d.outbox_id"               \
    " WHERE d.notice_id = n.id AND o.status IN ('pending', 'sending')),"                           \
    " (SELECT count(*) FROM notice_deliveries d JOIN outbox o ON o.id = d.outbox_id"               \
    " WHERE d.notice_id = n.id AND o.status = 'sent'),"                                            \
    " (SELECT count(*) FROM notice_deliveries d JOIN outbox o ON o.id = d.outbox_id"               \
    " WHERE d.notice_id = n.id AND o.status = 'dead'),"                                            \
    " (SELECT count(*) FROM notice_deliveries d WHERE d.notice_id = n.id"                          \
    " AND d.outbox_id IS NULL)"                                                                    \
    " FROM notices n JOIN staff st ON st.id = n.sender_id JOIN units u ON u.id = n.scope_unit_id"

struct notices {
    int (*fn)(void *ctx, const store_notice *n);
    int (*fd)(void *ctx, const store_notice_delivery *d);
    void *ctx;
    int found;
};

static int on_notice(void *ctx, const store_row *row)
{
    struct notices *x = ctx;
    store_notice n = {
        store_row_int(row, 0),       store_row_text(row, 1),       store_row_text(row, 2),
        store_row_text(row, 3),      store_row_text(row, 4),       store_row_text(row, 5),
        store_row_int(row, 6),       store_row_int(row, 7),        (long)store_row_int(row, 8),
        (long)store_row_int(row, 9), (long)store_row_int(row, 10), (long)store_row_int(row, 11)};
    x->found = 1;
    return x->fn(x->ctx, &n);
}

int store_notices_list(store *s, const char *prefix, long limit, long offset,
                       int (*fn)(void *ctx, const store_notice *n), void *ctx, long *total,
                       ny_err *e)
{
    char hi[40];
    snprintf(hi, sizeof hi, "%s:", prefix);
    store_val p[] = {SV_TEXT(prefix), (store_val){STORE_VTEXT, 0, hi}, SV_INT(limit),
                     SV_INT(offset)};
    int64_t n = 0;
    int rc = store_sql_int(s,
                           "SELECT count(*) FROM notices n JOIN units u ON u.id = n.scope_unit_id"
                           " WHERE u.code >= ? AND u.code < ?",
                           p, 2, &n, e);
    if (rc != NY_OK)
        return rc;
    *total = (long)n;
    struct notices x = {fn, NULL, ctx, 0};
    return store_sql(s,
                     "SELECT " NOTICE_COLS " WHERE u.code >= ? AND u.code < ?"
                     " ORDER BY n.id DESC LIMIT ? OFFSET ?",
                     p, 4, on_notice, &x, NULL, e);
}

static int on_delivery(void *ctx, const store_row *row)
{
    struct notices *x = ctx;
    store_notice_delivery d = {store_row_text(row, 0), store_row_text(row, 1),
                               store_row_text(row, 2), (int)store_row_int(row, 3),
                               store_row_text(row, 4), store_row_int(row, 5)};
    return x->fd(x->ctx, &d);
}

int store_notice_get(store *s, int64_t id, int (*fn)(void *ctx, const store_notice *n),
                     int (*fd)(void *ctx, const store_notice_delivery *d), void *ctx, ny_err *e)
{
    store_val p[] = {SV_INT(id)};
    struct notices x = {fn, fd, ctx, 0};
    int rc = store_sql(s, "SELECT " NOTICE_COLS " WHERE n.id = ?", p, 1, on_notice, &x, NULL, e);
    if (rc == NY_OK && !x.found)
        return ny_err_set(e, NY_ENOTFOUND, "no notice %lld", (long long)id);
    if (rc != NY_OK || !fd)
        return rc;
    return store_sql(s,
                     "SELECT g.external_id, g.name, CASE WHEN o.id IS NULL THEN 'failed'"
                     " WHEN o.status IN ('pending', 'sending') THEN 'pending' ELSE o.status END,"
                     " COALESCE(o.attempts, 0), COALESCE(o.last_error, '群没有机器人地址 / "
                     "the group has no robot target'), COALESCE(o.sent_at, 0)"
                     " FROM notice_deliveries d JOIN chat_groups g ON g.id = d.group_id"
                     " LEFT JOIN outbox o ON o.id = d.outbox_id WHERE d.notice_id = ?"
                     " ORDER BY g.id",
                     p, 1, on_delivery, &x, NULL, e);
}
