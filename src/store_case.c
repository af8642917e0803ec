/* store_case.c - the case loop's storage, once for both engines (see
 * store_case.h).
 *
 * Every statement goes through store_sql with '?' parameters. Cases are
 * read with their holding, origin and previous units' codes joined in, and
 * written back as a whole under the version check that makes concurrent
 * updates safe without locks. Reporters, the outbox messages for a group
 * and the scheduler's due list are small indexed queries. The KPI and
 * ledger reads live in store_case_report.c. */
#include "store_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sql.h"

#define CASE_COLS                                                                                  \
    "c.id, c.version, c.kind, c.source, c.title, c.description, c.category, c.urgency,"            \
    " c.priority, c.status, c.level, u.code, u.name, c.department, c.location, c.photo_url,"       \
    " c.reporter, c.opened_at, c.due_at, c.closed_at, c.overdue, c.satisfaction,"                  \
    " COALESCE(o.code, u.code), c.group_id, c.stage, c.next_check_at, c.sla_left,"                 \
    " c.suspended_from, c.accepted_at, c.resolved_at, c.verified_at, c.accept_late,"               \
    " c.resolve_late, c.resolved_by, c.reopen_count, c.merged_into, p.code"
#define CASE_FROM                                                                                  \
    " FROM cases c JOIN units u ON u.id = c.unit_id LEFT JOIN units o ON o.id = c.origin_unit_id"  \
    " LEFT JOIN units p ON p.id = c.prev_unit_id"

void case_row_free(case_row *c)
{
    free(c->title);
    free(c->description);
    free(c->location);
    free(c->photo_url);
    free(c->reporter);
    c->title = c->description = c->location = c->photo_url = c->reporter = NULL;
}

int case_row_set(char **field, const char *v, ny_err *e)
{
    char *p = strdup(v ? v : "");
    if (!p)
        return ny_err_set(e, NY_ERR, "out of memory");
    free(*field);
    *field = p;
    return NY_OK;
}

int case_row_copy(case_row *dst, const case_row *src, ny_err *e)
{
    *dst = *src;
    dst->title = dst->description = dst->location = dst->photo_url = dst->reporter = NULL;
    if (case_row_set(&dst->title, src->title, e) ||
        case_row_set(&dst->description, src->description, e) ||
        case_row_set(&dst->location, src->location, e) ||
        case_row_set(&dst->photo_url, src->photo_url, e) ||
        case_row_set(&dst->reporter, src->reporter, e)) {
        case_row_free(dst);
        return NY_ERR;
    }
    return NY_OK;
}

static void put(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", v ? v : "");
}

/* Fills c from a row of CASE_COLS. */
static int from_row(const store_row *r, case_row *c, ny_err *e)
{
    *c = (case_row){0};
    c->id = store_row_int(r, 0);
    c->version = store_row_int(r, 1);
    put(c->kind, sizeof c->kind, store_row_text(r, 2));
    put(c->source, sizeof c->source, store_row_text(r, 3));
    put(c->category, sizeof c->category, store_row_text(r, 6));
    put(c->urgency, sizeof c->urgency, store_row_text(r, 7));
    c->priority = (int)store_row_int(r, 8);
    put(c->status, sizeof c->status, store_row_text(r, 9));
    put(c->level, sizeof c->level, store_row_text(r, 10));
    put(c->unit, sizeof c->unit, store_row_text(r, 11));
    put(c->unit_name, sizeof c->unit_name, store_row_text(r, 12));
    put(c->department, sizeof c->department, store_row_text(r, 13));
    c->opened_at = store_row_int(r, 17);
    c->due_at = store_row_int(r, 18);
    c->closed_at = store_row_int(r, 19);
    c->overdue = (int)store_row_int(r, 20);
    c->satisfaction = (int)store_row_int(r, 21);
    put(c->origin, sizeof c->origin, store_row_text(r, 22));
    c->group_id = store_row_int(r, 23);
    put(c->stage, sizeof c->stage, store_row_text(r, 24));
    c->next_check_at = store_row_int(r, 25);
    c->sla_left = store_row_int(r, 26);
    put(c->suspended_from, sizeof c->suspended_from, store_row_text(r, 27));
    c->accepted_at = store_row_int(r, 28);
    c->resolved_at = store_row_int(r, 29);
    c->verified_at = store_row_int(r, 30);
    c->accept_late = (int)store_row_int(r, 31);
    c->resolve_late = (int)store_row_int(r, 32);
    put(c->resolved_by, sizeof c->resolved_by, store_row_text(r, 33));
    c->reopen_count = (int)store_row_int(r, 34);
    c->merged_into = store_row_int(r, 35);
    put(c->prev_unit, sizeof c->prev_unit, store_row_text(r, 36));
    if (case_row_set(&c->title, store_row_text(r, 4), e) ||
        case_row_set(&c->description, store_row_text(r, 5), e) ||
        case_row_set(&c->location, store_row_text(r, 14), e) ||
        case_row_set(&c->photo_url, store_row_text(r, 15), e) ||
        case_row_set(&c->reporter, store_row_text(r, 16), e)) {
        case_row_free(c);
        return NY_ERR;
    }
    return NY_OK;
}

struct load_ctx {
    case_row *out;
    int found;
    ny_err *e;
};

static int on_load(void *ctx, const store_row *r)
{
    struct load_ctx *l = ctx;
    int rc = from_row(r, l->out, l->e);
    l->found = rc == NY_OK;
    return rc;
}

int store_case_load(store *s, int64_t id, case_row *out, ny_err *e)
{
    struct load_ctx l = {out, 0, e};
    store_val p[] = {SV_INT(id)};
    int rc =
        store_sql(s, "SELECT " CASE_COLS CASE_FROM " WHERE c.id = ?", p, 1, on_load, &l, NULL, e);
    if (rc == NY_OK && !l.found)
        return ny_err_set(e, NY_ENOTFOUND, "没有这个案件 / no such case: %lld", (long long)id);
    return rc;
}

static store_val nz(int64_t v)
{
    return v ? SV_INT(v) : SV_NULL;
}

static store_val code_or_null(const char *code)
{
    return code && code[0] ? SV_TEXT(code) : SV_NULL;
}

#define UNIT_ID "(SELECT id FROM units WHERE code = ?)"
/* A unit by its id when the caller knows it (the first parameter, not 0),
 * else by its code: the look-up is not run when the id is given. */
#define UNIT_ID_OR "COALESCE(NULLIF(CAST(? AS BIGINT), 0), (SELECT id FROM units WHERE code = ?))"

/* The id an insert passes for c's origin: its unit's when they are the same unit
 * (0: by code). */
static int64_t origin_id(const case_row *c)
{
    return strcmp(c->origin, c->unit) == 0 ? c->unit_id : 0;
}

int store_case_insert(store *s, case_row *c, ny_err *e)
{
    store_val p[] = {SV_TEXT(c->kind),        SV_TEXT(c->source),     SV_TEXT(c->title),
                     SV_TEXT(c->description), SV_TEXT(c->category),   SV_TEXT(c->urgency),
                     SV_INT(c->priority),     SV_TEXT(c->status),     SV_TEXT(c->level),
                     SV_TEXT(c->unit),        SV_TEXT(c->department), SV_TEXT(c->location),
                     SV_TEXT(c->photo_url),   SV_TEXT(c->reporter),   SV_INT(c->opened_at),
                     nz(c->due_at),           SV_TEXT(c->origin),     nz(c->group_id),
                     SV_TEXT(c->stage),       nz(c->next_check_at),   nz(c->accepted_at),
                     nz(c->resolved_at),      SV_TEXT(c->resolved_by)};
    int64_t id = 0;
    int rc = store_sql_insert(
        s,
        "INSERT INTO cases(kind, source, title, description, category, urgency, priority, status,"
        " level, unit_id, department, location, photo_url, reporter, opened_at, due_at,"
        " origin_unit_id, group_id, stage, next_check_at, accepted_at, resolved_at, resolved_by)"
        " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, " UNIT_ID ", ?, ?, ?, ?, ?, ?, " UNIT_ID
        ", ?, ?, ?, ?, ?, ?)",
        p, (int)(sizeof p / sizeof p[0]), &id, e);
    if (rc != NY_OK)
        return rc;
    c->id = id;
    c->version = 0;
    return NY_OK;
}

int store_case_insert_batch(store *s, case_row *const *c, size_t n, ny_err *e)
{
    enum { NCOL = 25 };
    store_val *p = calloc(n ? n : 1, NCOL * sizeof *p);
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!p || !ids) {
        free(p);
        free(ids);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const case_row *x = c[i];
        store_val v[NCOL] = {SV_TEXT(x->kind),        SV_TEXT(x->source),    SV_TEXT(x->title),
                             SV_TEXT(x->description), SV_TEXT(x->category),  SV_TEXT(x->urgency),
                             SV_INT(x->priority),     SV_TEXT(x->status),    SV_TEXT(x->level),
                             SV_INT(x->unit_id),      SV_TEXT(x->unit),      SV_TEXT(x->department),
                             SV_TEXT(x->location),    SV_TEXT(x->photo_url), SV_TEXT(x->reporter),
                             SV_INT(x->opened_at),    nz(x->due_at),         SV_INT(origin_id(x)),
                             SV_TEXT(x->origin),      nz(x->group_id),       SV_TEXT(x->stage),
                             nz(x->next_check_at),    nz(x->accepted_at),    nz(x->resolved_at),
                             SV_TEXT(x->resolved_by)};
        memcpy(p + i * NCOL, v, sizeof v);
    }
    int rc = store_sql_rows(
        s,
        "INSERT INTO cases(kind, source, title, description, category, urgency, priority, status,"
        " level, unit_id, department, location, photo_url, reporter, opened_at, due_at,"
        " origin_unit_id, group_id, stage, next_check_at, accepted_at, resolved_at, resolved_by)"
        " VALUES",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, " UNIT_ID_OR ", ?, ?, ?, ?, ?, ?, " UNIT_ID_OR
        ", ?, ?, ?, ?, ?, ?)",
        "", NCOL, p, n, ids, NULL, e);
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        c[i]->id = ids[i];
        c[i]->version = 0;
    }
    free(p);
    free(ids);
    return rc;
}

int store_case_save(store *s, case_row *c, ny_err *e)
{
    store_val p[] = {SV_TEXT(c->kind),
                     SV_TEXT(c->title),
                     SV_TEXT(c->description),
                     SV_TEXT(c->category),
                     SV_TEXT(c->urgency),
                     SV_INT(c->priority),
                     SV_TEXT(c->status),
                     SV_TEXT(c->level),
                     SV_TEXT(c->unit),
                     SV_TEXT(c->department),
                     SV_TEXT(c->location),
                     SV_TEXT(c->photo_url),
                     nz(c->due_at),
                     nz(c->closed_at),
                     SV_INT(c->overdue),
                     nz(c->satisfaction),
                     SV_TEXT(c->stage),
                     nz(c->next_check_at),
                     c->sla_left ? SV_INT(c->sla_left) : SV_NULL,
                     SV_TEXT(c->suspended_from),
                     nz(c->accepted_at),
                     nz(c->resolved_at),
                     nz(c->verified_at),
                     SV_INT(c->accept_late),
                     SV_INT(c->resolve_late),
                     SV_TEXT(c->resolved_by),
                     SV_INT(c->reopen_count),
                     nz(c->merged_into),
                     code_or_null(c->prev_unit),
                     SV_INT(c->id),
                     SV_INT(c->version)};
    long changes = 0;
    int rc = store_sql(
        s,
        "UPDATE cases SET kind = ?, title = ?, description = ?, category = ?, urgency = ?,"
        " priority = ?, status = ?, level = ?, unit_id = " UNIT_ID ", department = ?,"
        " location = ?, photo_url = ?, due_at = ?, closed_at = ?, overdue = ?, satisfaction = ?,"
        " stage = ?, next_check_at = ?, sla_left = ?, suspended_from = ?, accepted_at = ?,"
        " resolved_at = ?, verified_at = ?, accept_late = ?, resolve_late = ?, resolved_by = ?,"
        " reopen_count = ?, merged_into = ?, prev_unit_id = " UNIT_ID ", version = version + 1"
        " WHERE id = ? AND version = ?",
        p, (int)(sizeof p / sizeof p[0]), NULL, NULL, &changes, e);
    if (rc != NY_OK)
        return rc;
    if (changes != 1)
        return ny_err_set(e, NY_ECONFLICT,
                          "案件已被他人修改，请刷新后重试 / the case changed meanwhile, try again");
    c->version++;
    return NY_OK;
}

int store_case_set_milestones(store *s, const case_milestones *m, ny_err *e)
{
    store_val p[] = {nz(m->origin_unit_id),  nz(m->group_id),         SV_TEXT(m->stage),
                     nz(m->next_check_at),   nz(m->sla_left),         SV_TEXT(m->suspended_from),
                     nz(m->accepted_at),     nz(m->resolved_at),      nz(m->verified_at),
                     SV_INT(m->accept_late), SV_INT(m->resolve_late), SV_TEXT(m->resolved_by),
                     SV_INT(m->case_id)};
    return store_sql(s,
                     "UPDATE cases SET origin_unit_id = ?, group_id = ?, stage = ?,"
                     " next_check_at = ?, sla_left = ?, suspended_from = ?, accepted_at = ?,"
                     " resolved_at = ?, verified_at = ?, accept_late = ?, resolve_late = ?,"
                     " resolved_by = ? WHERE id = ?",
                     p, 13, NULL, NULL, NULL, e);
}

int store_case_log(store *s, int64_t case_id, int64_t at, const char *actor, const char *action,
                   const char *changes, const char *note, int64_t *event_id, ny_err *e)
{
    store_val p[] = {SV_INT(case_id), SV_INT(at),       SV_TEXT(actor),
                     SV_TEXT(action), SV_TEXT(changes), SV_TEXT(note ? note : "")};
    int64_t id = 0;
    int rc = store_sql_insert(s,
                              "INSERT INTO case_events(case_id, at, actor, action, changes, note)"
                              " VALUES(?, ?, ?, ?, ?, ?)",
                              p, 6, &id, e);
    if (rc == NY_OK && event_id)
        *event_id = id;
    return rc;
}

int store_case_log_batch(store *s, const case_log_row *r, size_t n, ny_err *e)
{
    enum { NCOL = 6 };
    store_val *p = calloc(n ? n : 1, NCOL * sizeof *p);
    if (!p)
        return ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; i < n; i++) {
        store_val v[NCOL] = {SV_INT(r[i].case_id),  SV_INT(r[i].at),
                             SV_TEXT(r[i].actor),   SV_TEXT(r[i].action),
                             SV_TEXT(r[i].changes), SV_TEXT(r[i].note ? r[i].note : "")};
        memcpy(p + i * NCOL, v, sizeof v);
    }
    int rc = store_sql_rows(s,
                            "INSERT INTO case_events(case_id, at, actor, action, changes, note)"
                            " VALUES",
                            "(?, ?, ?, ?, ?, ?)", "", NCOL, p, n, NULL, NULL, e);
    free(p);
    return rc;
}

struct ev_ctx {
    int (*fn)(void *ctx, const case_event *ev);
    void *ctx;
};

static int on_event(void *ctx, const store_row *r)
{
    struct ev_ctx *x = ctx;
    case_event ev = {store_row_int(r, 0),  store_row_int(r, 1),  store_row_text(r, 2),
                     store_row_text(r, 3), store_row_text(r, 4), store_row_text(r, 5)};
    return x->fn(x->ctx, &ev);
}

int store_case_events(store *s, int64_t case_id, int (*fn)(void *ctx, const case_event *ev),
                      void *ctx, ny_err *e)
{
    struct ev_ctx x = {fn, ctx};
    store_val p[] = {SV_INT(case_id)};
    return store_sql(s,
                     "SELECT id, at, actor, action, changes, note FROM case_events"
                     " WHERE case_id = ? ORDER BY id",
                     p, 1, on_event, &x, NULL, e);
}

int store_case_reporter_add(store *s, int64_t case_id, int64_t group_id, const char *sender_id,
                            const char *sender_name, int64_t message_id, int64_t at, ny_err *e)
{
    store_val p[] = {SV_INT(case_id),      SV_INT(group_id), SV_TEXT(sender_id),
                     SV_TEXT(sender_name), nz(message_id),   SV_INT(at)};
    return store_sql(s,
                     "INSERT INTO case_reporters(case_id, group_id, sender_id, sender_name,"
                     " message_id, at) VALUES(?, ?, ?, ?, ?, ?)"
                     " ON CONFLICT(case_id, group_id, sender_id) DO NOTHING",
                     p, 6, NULL, NULL, NULL, e);
}

int store_case_reporter_add_batch(store *s, const case_reporter_row *r, size_t n, ny_err *e)
{
    enum { NCOL = 6 };
    store_val *p = calloc(n ? n : 1, NCOL * sizeof *p);
    if (!p)
        return ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; i < n; i++) {
        store_val v[NCOL] = {SV_INT(r[i].case_id),    SV_INT(r[i].group_id),
                             SV_TEXT(r[i].sender_id), SV_TEXT(r[i].sender_name),
                             nz(r[i].message_id),     SV_INT(r[i].at)};
        memcpy(p + i * NCOL, v, sizeof v);
    }
    int rc = store_sql_rows(s,
                            "INSERT INTO case_reporters(case_id, group_id, sender_id, sender_name,"
                            " message_id, at) VALUES",
                            "(?, ?, ?, ?, ?, ?)", "", NCOL, p, n, NULL, NULL, e);
    free(p);
    return rc;
}

int store_case_reporters_merge(store *s, int64_t from, int64_t to, ny_err *e)
{
    store_val p[] = {SV_INT(to), SV_INT(from)};
    return store_sql(s,
                     "INSERT INTO case_reporters(case_id, group_id, sender_id, sender_name,"
                     " message_id, at) SELECT ?, group_id, sender_id, sender_name, message_id, at"
                     " FROM case_reporters WHERE case_id = ?"
                     " ON CONFLICT(case_id, group_id, sender_id) DO NOTHING",
                     p, 2, NULL, NULL, NULL, e);
}

struct rep_ctx {
    int (*fn)(void *ctx, const case_reporter *r);
    void *ctx;
};

static int on_reporter(void *ctx, const store_row *r)
{
    struct rep_ctx *x = ctx;
    case_reporter rep = {store_row_text(r, 0), store_row_text(r, 1), store_row_text(r, 2),
                         store_row_text(r, 3), store_row_int(r, 4),  store_row_int(r, 5)};
    return x->fn(x->ctx, &rep);
}

int store_case_reporters(store *s, int64_t case_id, int (*fn)(void *ctx, const case_reporter *r),
                         void *ctx, ny_err *e)
{
    struct rep_ctx x = {fn, ctx};
    store_val p[] = {SV_INT(case_id)};
    return store_sql(s,
                     "SELECT g.external_id, g.name, r.sender_id, r.sender_name, r.message_id, r.at"
                     " FROM case_reporters r JOIN chat_groups g ON g.id = r.group_id"
                     " WHERE r.case_id = ? ORDER BY r.at, r.sender_id",
                     p, 1, on_reporter, &x, NULL, e);
}

int store_case_of_reporter(store *s, int64_t group_id, const char *sender_id, int64_t closed_since,
                           int64_t *case_id, ny_err *e)
{
    store_val p[] = {SV_INT(group_id), SV_TEXT(sender_id), SV_INT(closed_since)};
    int rc = store_sql_int(s,
                           "SELECT c.id FROM case_reporters r JOIN cases c ON c.id = r.case_id"
                           " WHERE r.group_id = ? AND r.sender_id = ? AND c.merged_into IS NULL"
                           " AND (c.status <> 'closed' OR c.closed_at >= ?)"
                           " ORDER BY c.id DESC LIMIT 1",
                           p, 3, case_id, e);
    return rc;
}

int store_case_of_lead(store *s, int64_t lead_id, int64_t *case_id, ny_err *e)
{
    store_val p[] = {SV_INT(lead_id)};
    *case_id = 0;
    int rc =
        store_sql_int(s, "SELECT COALESCE(case_id, 0) FROM leads WHERE id = ?", p, 1, case_id, e);
    return rc;
}

int store_case_link_lead(store *s, int64_t lead_id, int64_t case_id, ny_err *e)
{
    store_val p[] = {SV_INT(case_id), SV_INT(lead_id)};
    return store_sql(s, "UPDATE leads SET case_id = ? WHERE id = ?", p, 2, NULL, NULL, NULL, e);
}

/* The WHERE clause and parameters of a filter. */
static int where(const case_filter *f, char *sql, size_t n, store_val *p, char *like, size_t likesz)
{
    int k = 0;
    size_t used = (size_t)snprintf(sql, n, " WHERE 1 = 1");
#define ADD(cond, val)                                                                             \
    do {                                                                                           \
        used += (size_t)snprintf(sql + used, n - used, "%s", cond);                                \
        p[k++] = (val);                                                                            \
    } while (0)
    if (f->scope && f->scope[0]) {
        ADD(" AND substr(u.code, 1, ?)", SV_INT((int64_t)strlen(f->scope)));
        ADD(" = ?", SV_TEXT(f->scope));
    }
    if (f->unit && f->unit[0]) {
        ADD(" AND substr(u.code, 1, ?)", SV_INT((int64_t)strlen(f->unit)));
        ADD(" = ?", SV_TEXT(f->unit));
    }
    if (f->department && f->department[0])
        ADD(" AND c.level = 'district' AND c.department = ?", SV_TEXT(f->department));
    if (f->status && f->status[0])
        ADD(" AND c.status = ?", SV_TEXT(f->status));
    if (f->level && f->level[0])
        ADD(" AND c.level = ?", SV_TEXT(f->level));
    if (f->category && f->category[0])
        ADD(" AND c.category = ?", SV_TEXT(f->category));
    if (f->kind && f->kind[0])
        ADD(" AND c.kind = ?", SV_TEXT(f->kind));
    if (f->overdue >= 0)
        ADD(" AND c.overdue = ?", SV_INT(f->overdue));
    if (f->q && f->q[0]) {
        snprintf(like, likesz, "%%%s%%", f->q);
        ADD(" AND (c.title LIKE ?", SV_TEXT(like));
        ADD(" OR c.description LIKE ?)", SV_TEXT(like));
    }
#undef ADD
    if (f->open_only)
        snprintf(sql + used, n - used, " AND c.status <> 'closed'");
    return k;
}

struct list_ctx {
    int (*fn)(void *ctx, const case_row *c);
    void *ctx;
    ny_err *e;
};

static int on_list(void *ctx, const store_row *r)
{
    struct list_ctx *l = ctx;
    case_row c;
    int rc = from_row(r, &c, l->e);
    if (rc != NY_OK)
        return rc;
    rc = l->fn(l->ctx, &c);
    case_row_free(&c);
    return rc;
}

int store_case_list(store *s, const case_filter *f, int (*fn)(void *ctx, const case_row *c),
                    void *ctx, long *total, ny_err *e)
{
    char w[1024], like[600], sql[4096];
    store_val p[24];
    int k = where(f, w, sizeof w, p, like, sizeof like);
    int64_t count = 0;
    snprintf(sql, sizeof sql, "SELECT COUNT(*)" CASE_FROM "%s", w);
    int rc = store_sql_int(s, sql, p, k, &count, e);
    if (rc != NY_OK)
        return rc;
    *total = (long)count;
    p[k++] = SV_INT(f->limit > 0 ? f->limit : 50);
    p[k++] = SV_INT(f->offset > 0 ? f->offset : 0);
    snprintf(sql, sizeof sql,
             "SELECT " CASE_COLS CASE_FROM "%s ORDER BY c.id DESC LIMIT ? OFFSET ?", w);
    struct list_ctx l = {fn, ctx, e};
    return store_sql(s, sql, p, k, on_list, &l, NULL, e);
}

struct due_ctx {
    int64_t *ids;
    int n, max;
};

static int on_due(void *ctx, const store_row *r)
{
    struct due_ctx *d = ctx;
    if (d->n < d->max)
        d->ids[d->n++] = store_row_int(r, 0);
    return NY_OK;
}

int store_case_due(store *s, int64_t now, int max, int64_t *ids, int *n, ny_err *e)
{
    struct due_ctx d = {ids, 0, max};
    store_val p[] = {SV_INT(now), SV_INT(max)};
    int rc = store_sql(s,
                       "SELECT id FROM cases WHERE next_check_at IS NOT NULL AND next_check_at <= ?"
                       " ORDER BY next_check_at, id LIMIT ?",
                       p, 2, on_due, &d, NULL, e);
    *n = d.n;
    return rc;
}

struct unit_ctx {
    char *name, *level, *parent;
    size_t namesz, levelsz, parentsz;
    int found;
};

static int on_unit(void *ctx, const store_row *r)
{
    struct unit_ctx *u = ctx;
    put(u->name, u->namesz, store_row_text(r, 0));
    put(u->level, u->levelsz, store_row_text(r, 1));
    put(u->parent, u->parentsz, store_row_text(r, 2));
    u->found = 1;
    return NY_OK;
}

int store_case_unit(store *s, const char *code, char *name, size_t namesz, char *level,
                    size_t levelsz, char *parent, size_t parentsz, ny_err *e)
{
    struct unit_ctx u = {name, level, parent, namesz, levelsz, parentsz, 0};
    store_val p[] = {SV_TEXT(code)};
    int rc = store_sql(s,
                       "SELECT u.name, u.level, p.code FROM units u"
                       " LEFT JOIN units p ON p.id = u.parent_id WHERE u.code = ?",
                       p, 1, on_unit, &u, NULL, e);
    if (rc == NY_OK && !u.found)
        return ny_err_set(e, NY_ENOTFOUND, "没有这个单位 / no such unit: %s", code);
    return rc;
}
