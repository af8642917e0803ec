/* server_api_stats.c - GET /api/v1/stats: the figures of a unit subtree
 * for the dashboard at every level (district, street, community, grid):
 * messages, messages today, leads, consultations and those answered,
 * replies sent, by intent, by category, by child unit and by day.
 *
 * The counts come from store_stats (per-unit, per-day rows kept by
 * triggers and folded by store_stats_compact), so the cost does not grow
 * with the number of messages: a district's year is a few hundred rows.
 * Two queries make an answer: the days (summed here into the totals and
 * today's figures) and the children.
 * Before reading, a request folds the waiting deltas when there are many
 * (STATS_FOLD_AT); otherwise it reads them as they are. Without from/to the
 * range is everything; days are China days. */
#include <string.h>

#include "domain.h"
#include "server_api.h"
#include "store_stats.h"

/* Deltas waiting before a request folds them first. */
#define STATS_FOLD_AT 2000
/* Days before the first (1970) and after the last possible day. */
#define DAY_MIN 0
#define DAY_MAX 100000

static json_t *by_names(const store_stat_counts *c, int first, const char *const *names)
{
    json_t *o = json_object();
    for (int i = 0; names[i]; i++)
        json_object_set_new(o, names[i], json_integer(c->v[first + i]));
    return o;
}

static int on_child(void *ctx, const store_unit *u, const store_stat_counts *c)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "unit", u->code, "unit_name", u->name,
                          "level", u->level, "messages", (json_int_t)c->v[STORE_STAT_MESSAGES],
                          "leads", (json_int_t)c->v[STORE_STAT_LEADS]);
    return json_array_append_new(ctx, o) == 0 ? NY_OK : NY_ERR;
}

/* by_day rows, summed into the totals as they come. */
struct days {
    json_t *list;
    store_stat_counts all, today;
    int64_t today_day;
};

static int on_day(void *ctx, int64_t day, const store_stat_counts *c)
{
    struct days *d = ctx;
    for (int i = 0; i < STORE_STAT_N; i++)
        d->all.v[i] += c->v[i];
    if (day == d->today_day)
        d->today = *c;
    char date[40];
    api_time(day * 86400 - API_UTC_OFFSET, date, sizeof date);
    date[10] = '\0';
    json_t *o = json_pack("{s:s, s:I, s:I}", "date", date, "messages",
                          (json_int_t)c->v[STORE_STAT_MESSAGES], "leads",
                          (json_int_t)c->v[STORE_STAT_LEADS]);
    return json_array_append_new(d->list, o) == 0 ? NY_OK : NY_ERR;
}

void api_stats(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    server_worker *w;
    api_unit u;
    int64_t from, to;
    if (api_begin(sv, call, &who, &w, r) != NY_OK ||
        api_unit_filter(w, call, &who, &u, r) != NY_OK || api_range(call, &from, &to, r) != NY_OK)
        return;
    /* [from, to) in days: a time inside a day counts that whole day */
    int64_t d0 = from ? store_stat_day(from) : DAY_MIN;
    int64_t d1 = to ? store_stat_day(to - 1) + 1 : DAY_MAX;
    struct days d = {.list = json_array(), .today_day = store_stat_day(server_now(sv))};
    json_t *kids = json_array();
    ny_err e;
    int rc = store_stats_compact(w->db, STATS_FOLD_AT, NULL, &e);
    if (rc == NY_OK)
        rc = store_stats_by_day(w->db, u.code, d0, d1, on_day, &d, &e);
    if (rc == NY_OK && (d.today_day < d0 || d.today_day >= d1)) /* today outside the range */
        rc = store_stats_total(w->db, u.code, d.today_day, d.today_day + 1, &d.today, &e);
    if (rc == NY_OK)
        rc = store_stats_by_child(w->db, u.code, d0, d1, on_child, kids, &e);
    if (rc != NY_OK) {
        json_decref(kids);
        json_decref(d.list);
        server_store_error(r, rc, &e);
        return;
    }
    const store_stat_counts *all = &d.all, *now = &d.today;
    server_json(r, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
                             "unit", u.code, "unit_name", u.name, "level", u.level, "messages",
                             (json_int_t)all->v[STORE_STAT_MESSAGES], "messages_today",
                             (json_int_t)now->v[STORE_STAT_MESSAGES], "leads",
                             (json_int_t)all->v[STORE_STAT_LEADS], "consultations",
                             (json_int_t)all->v[STORE_STAT_INTENT0], "consultations_answered",
                             (json_int_t)all->v[STORE_STAT_ANSWERED], "replies_sent",
                             (json_int_t)all->v[STORE_STAT_REPLIES], "by_intent",
                             by_names(all, STORE_STAT_INTENT0, domain_intents), "by_category",
                             by_names(all, STORE_STAT_CATEGORY0, domain_categories), "by_child",
                             kids, "by_day", d.list));
}
