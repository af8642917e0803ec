/* store_effects.c - storage for what ingest decides beyond the message
 * itself: where a chat group or a staff member is reached, and leads with
 * the messages and reporters merged into them.
 *
 * Part of the storage layer, written once for both engines through
 * store_sql(). server_effects.c calls these inside the ingest transaction;
 * outbox.c's enqueue reads the targets. A lead carries the key under which
 * the group etiquette (triage_etiquette_decide) merges later reports of the
 * same problem, so a merged report finds its lead in the same transaction
 * without any table kept in memory; lead_reports lists every later message
 * merged into a lead (its first is the lead's own message_id: no readers
 * need a second copy, and writing one cost every lead a row and an index
 * entry in the ingest commit). New leads are counted in the unit statistics
 * by store_leads_count, in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_outbox.h"
#include "store_sql.h"

/* The outbound channel of a group platform: the robots of WeCom, DingTalk
 * and Feishu; WeChat and generic groups are answered through their bridge's
 * webhook. */
static const char *channel_of(const char *platform)
{
    if (strcmp(platform, "wecom") == 0 || strcmp(platform, "dingtalk") == 0 ||
        strcmp(platform, "feishu") == 0)
        return platform;
    return "webhook";
}

static int on_group(void *ctx, const store_row *row)
{
    store_target *t = ctx;
    const char *target = store_row_text(row, 2);
    t->id = store_row_int(row, 0);
    t->unit_id = store_row_int(row, 5);
    snprintf(t->target, sizeof t->target, "%s", target ? target : "");
    snprintf(t->channel, sizeof t->channel, "%s",
             t->target[0] ? channel_of(store_row_text(row, 1)) : "");
    snprintf(t->group, sizeof t->group, "%s", store_row_text(row, 3));
    snprintf(t->name, sizeof t->name, "%s", store_row_text(row, 4));
    return NY_OK;
}

int store_group_target(store *s, int64_t group_id, store_target *t, ny_err *e)
{
    memset(t, 0, sizeof *t);
    store_val p[] = {SV_INT(group_id)};
    int rc = store_sql(s,
                       "SELECT id, platform, target, external_id, name, unit_id FROM chat_groups"
                       " WHERE id = ?",
                       p, 1, on_group, t, NULL, e);
    if (rc == NY_OK && !t->id)
        rc = ny_err_set(e, NY_ENOTFOUND, "no chat group %lld", (long long)group_id);
    return rc;
}

struct groups_ctx {
    int (*fn)(void *ctx, const store_group_unit *g);
    void *ctx;
};

static int on_group_unit(void *ctx, const store_row *row)
{
    struct groups_ctx *c = ctx;
    store_group_unit g = {.unit_code = store_row_text(row, 6),
                          .unit_name = store_row_text(row, 7),
                          .level = store_row_text(row, 8)};
    on_group(&g.t, row);
    return c->fn(c->ctx, &g);
}

int store_groups_targets(store *s, int64_t lo, int64_t hi,
                         int (*fn)(void *ctx, const store_group_unit *g), void *ctx, ny_err *e)
{
    store_val p[] = {SV_INT(lo), SV_INT(hi)};
    struct groups_ctx c = {fn, ctx};
    return store_sql(s,
                     "SELECT g.id, g.platform, g.target, g.external_id, g.name, g.unit_id,"
                     " u.code, u.name, u.level FROM chat_groups g JOIN units u ON u.id = g.unit_id"
                     " WHERE g.id BETWEEN ? AND ?",
                     p, 2, on_group_unit, &c, NULL, e);
}

struct unit_ctx {
    int64_t *id;
    char *name, *level;
    size_t namesz, levelsz;
};

static int on_unit(void *ctx, const store_row *row)
{
    struct unit_ctx *u = ctx;
    *u->id = store_row_int(row, 0);
    snprintf(u->name, u->namesz, "%s", store_row_text(row, 1));
    snprintf(u->level, u->levelsz, "%s", store_row_text(row, 2));
    return NY_OK;
}

int store_unit_of_code(store *s, const char *code, int64_t *id, char *name, size_t namesz,
                       char *level, size_t levelsz, ny_err *e)
{
    *id = 0;
    struct unit_ctx u = {id, name, level, namesz, levelsz};
    store_val p[] = {SV_TEXT(code)};
    int rc = store_sql(s, "SELECT id, name, level FROM units WHERE code = ?", p, 1, on_unit, &u,
                       NULL, e);
    if (rc == NY_OK && !*id)
        return ny_err_set(e, NY_ENOTFOUND, "没有这个单位 / no such unit: %s", code);
    return rc;
}

static int on_staff(void *ctx, const store_row *row)
{
    store_target *t = ctx;
    t->id = store_row_int(row, 0);
    snprintf(t->channel, sizeof t->channel, "%s", store_row_text(row, 1));
    snprintf(t->target, sizeof t->target, "%s", store_row_text(row, 2));
    snprintf(t->name, sizeof t->name, "%s", store_row_text(row, 3));
    if (!t->target[0])
        t->channel[0] = '\0';
    return NY_OK;
}

int store_staff_target(store *s, const char *account, store_target *t, ny_err *e)
{
    memset(t, 0, sizeof *t);
    store_val p[] = {SV_TEXT(account)};
    int rc =
        store_sql(s, "SELECT id, notify_channel, notify_target, name FROM staff WHERE account = ?",
                  p, 1, on_staff, t, NULL, e);
    if (rc == NY_OK && !t->id)
        rc = ny_err_set(e, NY_ENOTFOUND, "no staff account '%s'", account);
    return rc;
}

int store_staff_target_set(store *s, const char *account, const char *channel, const char *target,
                           ny_err *e)
{
    store_val p[] = {SV_TEXT(channel), SV_TEXT(channel[0] ? target : ""), SV_TEXT(account)};
    long changed = 0;
    int rc =
        store_sql(s, "UPDATE staff SET notify_channel = ?, notify_target = ? WHERE account = ?", p,
                  3, NULL, NULL, &changed, e);
    if (rc == NY_OK && !changed)
        rc = ny_err_set(e, NY_ENOTFOUND, "no staff account '%s'", account);
    return rc;
}

int store_targets_rebase(store *s, const char *base, int groups, long *ngroups, long *nstaff,
                         ny_err *e)
{
    store_val p[] = {SV_TEXT(base)};
    int rc = groups ? store_sql(s,
                                "UPDATE chat_groups SET target = CAST(? AS TEXT) || '/' ||"
                                " platform || '/' || external_id",
                                p, 1, NULL, NULL, ngroups, e)
                    : NY_OK;
    if (rc == NY_OK)
        rc = store_sql(s,
                       "UPDATE staff SET notify_channel = 'webhook',"
                       " notify_target = CAST(? AS TEXT) || '/staff/' || account",
                       p, 1, NULL, NULL, nstaff, e);
    return rc;
}

/* The unit a lead of group_id is counted under: unit_id when known (not
 * 0), else the group's. */
static int lead_unit(store *s, int64_t unit_id, int64_t group_id, int64_t *out, ny_err *e)
{
    *out = unit_id;
    if (unit_id)
        return NY_OK;
    int rc = store_sql_int(s, "SELECT unit_id FROM chat_groups WHERE id = ?",
                           (store_val[]){SV_INT(group_id)}, 1, out, e);
    if (rc == NY_ENOTFOUND)
        return ny_err_set(e, NY_ENOTFOUND, "no chat group %lld", (long long)group_id);
    return rc;
}

int store_lead_open(store *s, const store_lead *l, const char *merge_key, int64_t *id_out,
                    ny_err *e)
{
    store_val p[] = {SV_INT(l->message_id),
                     SV_INT(l->unit_id),
                     SV_TEXT(l->intent),
                     SV_TEXT(l->category),
                     SV_INT(l->created_at),
                     SV_TEXT(merge_key),
                     l->case_id ? SV_INT(l->case_id) : SV_NULL,
                     SV_INT(l->group_id)};
    int64_t id;
    int rc = store_sql_insert(s,
                              "INSERT INTO leads(message_id, group_id, unit_id, intent, category,"
                              " created_at, merge_key, reporters, case_id) SELECT ?, id,"
                              " COALESCE(NULLIF(CAST(? AS BIGINT), 0), unit_id), ?, ?, ?, ?, 1,"
                              " CAST(? AS BIGINT) FROM chat_groups WHERE id = ?",
                              p, 8, &id, e);
    if (rc == NY_ENOTFOUND)
        return ny_err_set(e, NY_ENOTFOUND, "no chat group %lld", (long long)l->group_id);
    if (rc != NY_OK)
        return rc;
    int64_t unit;
    rc = lead_unit(s, l->unit_id, l->group_id, &unit, e);
    if (rc == NY_OK)
        rc = store_leads_count(s, &unit, &l->created_at, 1, e);
    if (rc == NY_OK && id_out)
        *id_out = id;
    return rc;
}

int store_lead_join(store *s, const char *merge_key, int64_t message_id, const char *sender_id,
                    int reporters, int64_t at, int64_t *lead_id, ny_err *e)
{
    store_val k[] = {SV_TEXT(merge_key)};
    int64_t id;
    int rc = store_sql_int(s, "SELECT id FROM leads WHERE merge_key = ? ORDER BY id DESC LIMIT 1",
                           k, 1, &id, e);
    if (rc == NY_ENOTFOUND)
        return ny_err_set(e, NY_ENOTFOUND, "no lead under key '%s'", merge_key);
    if (rc != NY_OK)
        return rc;
    store_val q[] = {SV_INT(message_id), SV_INT(id), SV_TEXT(sender_id), SV_INT(at)};
    rc = store_sql(
        s, "INSERT INTO lead_reports(message_id, lead_id, sender_id, at) VALUES(?, ?, ?, ?)", q, 4,
        NULL, NULL, NULL, e);
    store_val r[] = {SV_INT(reporters), SV_INT(id), SV_INT(reporters)};
    if (rc == NY_OK)
        rc = store_sql(s, "UPDATE leads SET reporters = ? WHERE id = ? AND reporters < ?", r, 3,
                       NULL, NULL, NULL, e);
    if (rc == NY_OK && lead_id)
        *lead_id = id;
    return rc;
}

int store_lead_open_batch(store *s, const store_lead *l, const char *const *merge_keys, size_t n,
                          int64_t *ids, ny_err *e)
{
    enum { NL = 9 };
    store_val *p = calloc(n ? n : 1, NL * sizeof *p);
    int64_t *units = malloc((n ? n : 1) * 2 * sizeof *units);
    int rc = p && units ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        store_val v[NL] = {SV_INT(l[i].message_id),
                           SV_INT(l[i].group_id),
                           SV_INT(l[i].unit_id),
                           SV_INT(l[i].group_id),
                           SV_TEXT(l[i].intent),
                           SV_TEXT(l[i].category),
                           SV_INT(l[i].created_at),
                           SV_TEXT(merge_keys[i]),
                           l[i].case_id ? SV_INT(l[i].case_id) : SV_NULL};
        memcpy(p + i * NL, v, sizeof v);
    }
    if (rc == NY_OK)
        rc = store_sql_rows(s,
                            "INSERT INTO leads(message_id, group_id, unit_id, intent, category,"
                            " created_at, merge_key, reporters, case_id) VALUES",
                            "(?, ?, COALESCE(NULLIF(CAST(? AS BIGINT), 0),"
                            " (SELECT unit_id FROM chat_groups WHERE id = ?)), ?, ?, ?, ?, 1,"
                            " CAST(? AS BIGINT))",
                            "", NL, p, n, ids, NULL, e);
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        units[n + i] = l[i].created_at;
        rc = lead_unit(s, l[i].unit_id, l[i].group_id, &units[i], e);
    }
    if (rc == NY_OK)
        rc = store_leads_count(s, units, units + n, n, e);
    free(p);
    free(units);
    return rc;
}
