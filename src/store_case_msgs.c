/* store_case_msgs.c - reads the chat messages behind a case (see
 * store_case_msgs.h) for the case detail page.
 *
 * A case opened from a lead links to it through leads.case_id; messages
 * merged into that lead are in lead_reports; duplicates that joined the
 * case later, and reporters copied over when cases merge, are in
 * case_reporters.message_id. One query takes the union of the three, so a
 * message reached twice is listed once; each branch uses an index
 * (leads_case, lead_reports_lead, the case_reporters key). */
#include "store_case_msgs.h"

#include "store_sql.h"

struct msgs_ctx {
    int (*fn)(void *ctx, const case_msg *m);
    void *ctx;
};

static int on_msg(void *ctx, const store_row *r)
{
    struct msgs_ctx *x = ctx;
    case_msg m = {store_row_int(r, 0),  store_row_text(r, 1), store_row_text(r, 2),
                  store_row_text(r, 3), store_row_text(r, 4), store_row_int(r, 5),
                  store_row_text(r, 6), store_row_text(r, 7), store_row_text(r, 8),
                  store_row_text(r, 9)};
    return x->fn(x->ctx, &m);
}

int store_case_msgs(store *s, int64_t case_id, int limit, int (*fn)(void *ctx, const case_msg *m),
                    void *ctx, ny_err *e)
{
    store_val p[] = {SV_INT(case_id), SV_INT(case_id), SV_INT(case_id), SV_INT(limit)};
    struct msgs_ctx x = {fn, ctx};
    return store_sql(s,
                     "SELECT m.id, g.external_id, g.name, m.sender_id, m.sender_name, m.sent_at,"
                     " m.text, m.intent, m.category, m.triage"
                     " FROM messages m JOIN chat_groups g ON g.id = m.group_id"
                     " WHERE m.id IN (SELECT message_id FROM leads WHERE case_id = ?"
                     " UNION SELECT r.message_id FROM lead_reports r"
                     " JOIN leads l ON l.id = r.lead_id WHERE l.case_id = ?"
                     " UNION SELECT message_id FROM case_reporters"
                     " WHERE case_id = ? AND message_id IS NOT NULL)"
                     " ORDER BY m.sent_at, m.id LIMIT ?",
                     p, 4, on_msg, &x, NULL, e);
}
