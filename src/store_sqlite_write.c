/* store_sqlite_write.c - the *_put_batch entries of the SQLite driver
 * (messages have their own file, store_sqlite_msg.c).
 *
 * Every batch runs in one atomic scope (sq_batch_begin/sq_batch_end in
 * store_sqlite.c): its own BEGIN IMMEDIATE transaction, or a SAVEPOINT when
 * the caller has a transaction open, so a failing element leaves none of the
 * batch behind. Each element is checked before its INSERT: vocabulary values
 * against domain.h, referenced codes resolved to ids (an unknown one is
 * NY_ENOTFOUND naming the code), the unit hierarchy (a parent exactly one
 * level up; households and enterprises on grids) and referenced row ids. The
 * schema's own constraints catch the rest and are mapped by sq_error(). */
#include <stdio.h>
#include <stdlib.h>

#include "domain.h"
#include "store_sqlite.h"

/* A row id referenced by a message, case, event or lead. */
enum ref { REF_GROUP, REF_UNIT, REF_CASE, REF_MESSAGE };

static const struct {
    enum sq_stmt_id stmt;
    const char *sql;
    const char *name;
} refs[] = {
    [REF_GROUP] = {SQ_GROUP_EXISTS, "SELECT 1 FROM chat_groups WHERE id=?1", "group"},
    [REF_UNIT] = {SQ_UNIT_EXISTS, "SELECT 1 FROM units WHERE id=?1", "unit"},
    [REF_CASE] = {SQ_CASE_EXISTS, "SELECT 1 FROM cases WHERE id=?1", "case"},
    [REF_MESSAGE] = {SQ_MESSAGE_EXISTS, "SELECT 1 FROM messages WHERE id=?1", "message"},
};

static const char *const lexeme_kinds[] = {"literal", "pattern", NULL};

const char *sq_show(const char *s)
{
    return s ? s : "(null)";
}

int sq_at(ny_err *e, long i, int rc)
{
    if (e)
        e->index = i;
    return rc;
}

/* Steps the prepared INSERT st for element i (described by what), storing
 * the new row id in *id. Errors keep sq_error()'s code; callers reword
 * NY_EEXIST with the key. */
static int insert(struct sq *h, sqlite3_stmt *st, const char *what, long i, int64_t *id, ny_err *e)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE && id)
        *id = sqlite3_last_insert_rowid(h->db);
    rc = rc == SQLITE_DONE ? NY_OK : sq_at(e, i, sq_error(h, rc, e, what));
    sq_reset(st);
    return rc;
}

/* NY_OK if value is one of list (or, when optional, NULL or ""); else
 * NY_EINVAL naming what (the element) and field. */
static int check_enum(const char *const *list, const char *value, int optional, const char *what,
                      const char *field, long i, ny_err *e)
{
    if (domain_index(list, value) >= 0 || (optional && (!value || !*value)))
        return NY_OK;
    return ny_err_set_at(e, NY_EINVAL, i, "%s: unknown %s '%s' (expected %s)", what, field,
                         sq_show(value), domain_list_text(list));
}

/* Resolves a unit code: 1 with its id and level (0..3) when found, 0 when
 * not, or an NY_* error. */
static int unit_lookup(struct sq *h, const char *code, int64_t *id, int *level, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, SQ_UNIT_LOOKUP, "SELECT id,level FROM units WHERE code=?1", &st, e);
    if (rc != NY_OK)
        return rc;
    sq_bind_text(st, 1, code);
    rc = sq_next(h, st, e);
    if (rc == 1) {
        *id = sqlite3_column_int64(st, 0);
        *level = domain_level(sq_text(st, 1));
    }
    sq_reset(st);
    return rc;
}

/* Resolves the unit code that element i (described by what) refers to; with
 * need_grid the unit must be a grid (NY_EINVAL otherwise). */
static int unit_ref(struct sq *h, const char *code, int need_grid, const char *what, long i,
                    int64_t *id, ny_err *e)
{
    int level = -1, rc = unit_lookup(h, code, id, &level, e);
    if (rc < 0)
        return sq_at(e, i, rc);
    if (rc == 0)
        return ny_err_set_at(e, NY_ENOTFOUND, i, "%s: unknown %s '%s'", what,
                             need_grid ? "grid" : "unit", sq_show(code));
    if (need_grid && level != 3)
        return ny_err_set_at(e, NY_EINVAL, i, "%s: unit '%s' is a %s, not a grid", what, code,
                             level >= 0 ? domain_levels[level] : "unit of unknown level");
    return NY_OK;
}

/* NY_OK if the row id of kind r exists, else NY_ENOTFOUND for element i. */
static int need_id(struct sq *h, enum ref r, int64_t rowid, const char *what, long i, ny_err *e)
{
    sqlite3_stmt *st;
    int rc = sq_stmt(h, refs[r].stmt, refs[r].sql, &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sqlite3_bind_int64(st, 1, rowid);
    rc = sq_next(h, st, e);
    sq_reset(st);
    if (rc == 0)
        return ny_err_set_at(e, NY_ENOTFOUND, i, "%s: unknown %s id %lld", what, refs[r].name,
                             (long long)rowid);
    return rc == 1 ? NY_OK : sq_at(e, i, rc);
}

/* Binds an int64 where 0 means absent (SQL NULL). */
static void bind_opt_int(sqlite3_stmt *st, int col, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, col, v);
    else
        sqlite3_bind_null(st, col);
}

/* Stores one element; the new row id goes to *id (may be NULL). */
typedef int (*put_fn)(struct sq *h, const void *item, long i, int64_t *id, ny_err *e);

/* Runs put over the n elements of size bytes at items as one atomic batch. */
static int batch(void *impl, const void *items, size_t size, size_t n, put_fn put, int64_t *ids_out,
                 ny_err *e)
{
    struct sq *h = impl;
    int own;
    ny_err_clear(e);
    int rc = sq_batch_begin(h, &own, e);
    if (rc != NY_OK)
        return rc;
    const char *p = items;
    for (size_t i = 0; rc == NY_OK && i < n; i++)
        rc = put(h, p + i * size, (long)i, ids_out ? &ids_out[i] : NULL, e);
    return sq_batch_end(h, own, rc, e);
}

/* ---- units -------------------------------------------------------------- */

/* Resolves u's parent into *parent_id (0 for the district) and checks the
 * hierarchy: the parent exists and sits exactly one level up, and the code
 * extends the parent's (domain_unit_code_check). */
static int unit_parent(struct sq *h, const store_unit *u, const char *what, long i,
                       int64_t *parent_id, ny_err *e)
{
    int lv = domain_level(u->level), plv = -1, has_parent = u->parent_code && *u->parent_code;
    *parent_id = 0;
    if (lv < 0)
        return check_enum(domain_levels, u->level, 0, what, "level", i, e);
    if (has_parent) {
        int rc = unit_lookup(h, u->parent_code, parent_id, &plv, e);
        if (rc < 0)
            return sq_at(e, i, rc);
        if (rc == 0)
            return ny_err_set_at(e, NY_ENOTFOUND, i, "unknown parent unit '%s'", u->parent_code);
    }
    if (lv == 0 && has_parent)
        return ny_err_set_at(e, NY_EINVAL, i, "%s: a district has no parent", what);
    if (lv > 0 && !has_parent)
        return ny_err_set_at(e, NY_EINVAL, i, "%s: a %s needs a parent %s", what, u->level,
                             domain_levels[lv - 1]);
    if (lv > 0 && plv != lv - 1)
        return ny_err_set_at(
            e, NY_EINVAL, i, "%s (%s) cannot be under '%s' (%s): its parent must be a %s", what,
            u->level, u->parent_code, plv >= 0 ? domain_levels[plv] : "?", domain_levels[lv - 1]);
    int rc = domain_unit_code_check(u->level, u->code, u->parent_code, e);
    return rc == NY_OK ? NY_OK : sq_at(e, i, rc);
}

static int unit_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_unit *u = item;
    if (!u->code || !u->name)
        return ny_err_set_at(e, NY_EINVAL, i, "a unit needs a code and a name");
    char what[64];
    snprintf(what, sizeof what, "unit '%s'", u->code);
    int64_t parent_id;
    sqlite3_stmt *st = NULL;
    int rc = unit_parent(h, u, what, i, &parent_id, e);
    if (rc == NY_OK)
        rc = sq_stmt(h, SQ_INS_UNIT,
                     "INSERT INTO units(code,name,level,parent_id) VALUES(?1,?2,?3,?4)", &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sq_bind_text(st, 1, u->code);
    sq_bind_text(st, 2, u->name);
    sq_bind_text(st, 3, u->level);
    bind_opt_int(st, 4, parent_id);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "unit code '%s' already exists", u->code);
    return rc;
}

int sq_unit_put_batch(void *impl, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e)
{
    return batch(impl, u, sizeof *u, n, unit_put, ids_out, e);
}

/* ---- households and enterprises ----------------------------------------- */

static int household_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_household *x = item;
    char what[96];
    snprintf(what, sizeof what, "household '%s'", sq_show(x->code));
    if (x->size < 1 || x->size > 99)
        return ny_err_set_at(e, NY_EINVAL, i, "%s: size %d is outside 1..99", what, x->size);
    int64_t grid_id;
    int rc = unit_ref(h, x->grid_code, 1, what, i, &grid_id, e);
    sqlite3_stmt *st = NULL;
    if (rc == NY_OK)
        rc = sq_stmt(h, SQ_INS_HOUSEHOLD,
                     "INSERT INTO households(code,grid_id,address,size,phone)"
                     " VALUES(?1,?2,?3,?4,?5)",
                     &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sq_bind_text(st, 1, x->code);
    sqlite3_bind_int64(st, 2, grid_id);
    sq_bind_text(st, 3, x->address);
    sqlite3_bind_int(st, 4, x->size);
    sq_bind_text(st, 5, x->phone);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "household code '%s' already exists", x->code);
    return rc;
}

int sq_household_put_batch(void *impl, const store_household *x, size_t n, int64_t *ids_out,
                           ny_err *e)
{
    return batch(impl, x, sizeof *x, n, household_put, ids_out, e);
}

static int enterprise_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_enterprise *x = item;
    char what[96];
    snprintf(what, sizeof what, "enterprise '%s'", sq_show(x->uscc));
    int64_t grid_id;
    int rc = unit_ref(h, x->grid_code, 1, what, i, &grid_id, e);
    sqlite3_stmt *st = NULL;
    if (rc == NY_OK)
        rc = sq_stmt(h, SQ_INS_ENTERPRISE,
                     "INSERT INTO enterprises(uscc,name,industry,grid_id) VALUES(?1,?2,?3,?4)", &st,
                     e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sq_bind_text(st, 1, x->uscc);
    sq_bind_text(st, 2, x->name);
    sq_bind_text(st, 3, x->industry);
    sqlite3_bind_int64(st, 4, grid_id);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "enterprise credit code '%s' already exists", x->uscc);
    return rc;
}

int sq_enterprise_put_batch(void *impl, const store_enterprise *x, size_t n, int64_t *ids_out,
                            ny_err *e)
{
    return batch(impl, x, sizeof *x, n, enterprise_put, ids_out, e);
}

/* ---- groups and staff --------------------------------------------------- */

static int group_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_group *g = item;
    char what[160];
    snprintf(what, sizeof what, "group '%s' on %s", sq_show(g->external_id), sq_show(g->platform));
    int64_t unit_id;
    int rc = check_enum(domain_platforms, g->platform, 0, what, "platform", i, e);
    if (rc == NY_OK)
        rc = check_enum(domain_group_kinds, g->kind, 0, what, "kind", i, e);
    if (rc == NY_OK)
        rc = unit_ref(h, g->unit_code, 0, what, i, &unit_id, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_GROUP,
                 "INSERT INTO chat_groups(platform,external_id,kind,unit_id,name,members,target)"
                 " VALUES(?1,?2,?3,?4,?5,?6,?7)",
                 &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sq_bind_text(st, 1, g->platform);
    sq_bind_text(st, 2, g->external_id);
    sq_bind_text(st, 3, g->kind);
    sqlite3_bind_int64(st, 4, unit_id);
    sq_bind_text(st, 5, g->name);
    sqlite3_bind_int(st, 6, g->members);
    sq_bind_text(st, 7, g->target);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "%s already exists", what);
    return rc;
}

int sq_group_put_batch(void *impl, const store_group *g, size_t n, int64_t *ids_out, ny_err *e)
{
    return batch(impl, g, sizeof *g, n, group_put, ids_out, e);
}

static int staff_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_staff *p = item;
    char what[96];
    snprintf(what, sizeof what, "staff '%s'", sq_show(p->account));
    int64_t unit_id;
    int rc = check_enum(domain_roles, p->role, 0, what, "role", i, e);
    if (rc == NY_OK)
        rc = unit_ref(h, p->unit_code, 0, what, i, &unit_id, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_STAFF,
                 "INSERT INTO staff(account,name,phone,role,unit_id,department)"
                 " VALUES(?1,?2,?3,?4,?5,?6)",
                 &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sq_bind_text(st, 1, p->account);
    sq_bind_text(st, 2, p->name);
    sq_bind_text(st, 3, p->phone);
    sq_bind_text(st, 4, p->role);
    sqlite3_bind_int64(st, 5, unit_id);
    sq_bind_text(st, 6, p->department);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "staff account '%s' already exists", p->account);
    return rc;
}

int sq_staff_put_batch(void *impl, const store_staff *p, size_t n, int64_t *ids_out, ny_err *e)
{
    return batch(impl, p, sizeof *p, n, staff_put, ids_out, e);
}

/* ---- knowledge: policies and lexicon ------------------------------------ */

static int policy_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_policy *p = item;
    char what[96];
    snprintf(what, sizeof what, "policy '%s'", sq_show(p->code));
    int rc = check_enum(domain_audiences, p->audience, 0, what, "audience", i, e);
    if (rc == NY_OK)
        rc = check_enum(domain_categories, p->category, 0, what, "category", i, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_POLICY,
                 "INSERT INTO policies(code,title,category,audience,department,summary,"
                 "eligibility,how_to_apply,keywords) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                 &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    const char *v[] = {p->code,    p->title,       p->category,     p->audience, p->department,
                       p->summary, p->eligibility, p->how_to_apply, p->keywords};
    for (int k = 0; k < 9; k++)
        sq_bind_text(st, k + 1, v[k]);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "policy code '%s' already exists", p->code);
    return rc;
}

int sq_policy_put_batch(void *impl, const store_policy *p, size_t n, int64_t *ids_out, ny_err *e)
{
    return batch(impl, p, sizeof *p, n, policy_put, ids_out, e);
}

static int lexeme_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_lexeme *l = item;
    char what[96];
    snprintf(what, sizeof what, "lexicon term '%s'", sq_show(l->term));
    int rc = check_enum(lexeme_kinds, l->kind, 0, what, "kind", i, e);
    if (rc == NY_OK)
        rc = check_enum(domain_intents, l->intent, 1, what, "intent", i, e);
    if (rc == NY_OK)
        rc = check_enum(domain_categories, l->category, 1, what, "category", i, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_LEXEME,
                 "INSERT INTO lexicon(term,kind,intent,category,weight,action)"
                 " VALUES(?1,?2,?3,?4,?5,?6)",
                 &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sq_bind_text(st, 1, l->term);
    sq_bind_text(st, 2, l->kind);
    sq_bind_text(st, 3, l->intent);
    sq_bind_text(st, 4, l->category);
    sqlite3_bind_double(st, 5, l->weight);
    sq_bind_text(st, 6, l->action);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "%s already exists", what);
    return rc;
}

int sq_lexicon_put_batch(void *impl, const store_lexeme *l, size_t n, int64_t *ids_out, ny_err *e)
{
    return batch(impl, l, sizeof *l, n, lexeme_put, ids_out, e);
}

/* ---- messages, cases, the case log, leads ------------------------------- */

static int case_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_case *c = item;
    char what[160];
    snprintf(what, sizeof what, "case '%s'", sq_show(c->title));
    int rc = check_enum(domain_levels, c->level, 0, what, "level", i, e);
    if (rc == NY_OK)
        rc = need_id(h, REF_UNIT, c->unit_id, what, i, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_CASE,
                 "INSERT INTO cases(source,title,description,category,urgency,priority,status,"
                 "level,unit_id,department,location,photo_url,reporter,opened_at,due_at,"
                 "closed_at,overdue,satisfaction)"
                 " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
                 &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sq_bind_text(st, 1, c->source);
    sq_bind_text(st, 2, c->title);
    sq_bind_text(st, 3, c->description);
    sq_bind_text(st, 4, c->category);
    sq_bind_text(st, 5, c->urgency);
    sqlite3_bind_int(st, 6, c->priority);
    sq_bind_text(st, 7, c->status);
    sq_bind_text(st, 8, c->level);
    sqlite3_bind_int64(st, 9, c->unit_id);
    sq_bind_text(st, 10, c->department);
    sq_bind_text(st, 11, c->location);
    sq_bind_text(st, 12, c->photo_url);
    sq_bind_text(st, 13, c->reporter);
    sqlite3_bind_int64(st, 14, c->opened_at);
    bind_opt_int(st, 15, c->due_at);
    bind_opt_int(st, 16, c->closed_at);
    sqlite3_bind_int(st, 17, c->overdue);
    bind_opt_int(st, 18, c->satisfaction);
    return insert(h, st, what, i, id, e);
}

int sq_case_put_batch(void *impl, const store_case *c, size_t n, int64_t *ids_out, ny_err *e)
{
    return batch(impl, c, sizeof *c, n, case_put, ids_out, e);
}

static int event_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_case_event *ev = item;
    char what[96];
    snprintf(what, sizeof what, "event '%s' of case %lld", sq_show(ev->action),
             (long long)ev->case_id);
    int rc = need_id(h, REF_CASE, ev->case_id, what, i, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_EVENT,
                 "INSERT INTO case_events(case_id,at,actor,action,changes,note)"
                 " VALUES(?1,?2,?3,?4,?5,?6)",
                 &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sqlite3_bind_int64(st, 1, ev->case_id);
    sqlite3_bind_int64(st, 2, ev->at);
    sq_bind_text(st, 3, ev->actor);
    sq_bind_text(st, 4, ev->action);
    sq_bind_text(st, 5, ev->changes);
    sq_bind_text(st, 6, ev->note);
    return insert(h, st, what, i, id, e);
}

int sq_case_event_append_batch(void *impl, const store_case_event *ev, size_t n, int64_t *ids_out,
                               ny_err *e)
{
    return batch(impl, ev, sizeof *ev, n, event_put, ids_out, e);
}

static int lead_put(struct sq *h, const void *item, long i, int64_t *id, ny_err *e)
{
    const store_lead *l = item;
    char what[64];
    snprintf(what, sizeof what, "lead for message %lld", (long long)l->message_id);
    int rc = check_enum(domain_intents, l->intent, 0, what, "intent", i, e);
    if (rc == NY_OK)
        rc = check_enum(domain_categories, l->category, 0, what, "category", i, e);
    if (rc == NY_OK)
        rc = need_id(h, REF_MESSAGE, l->message_id, what, i, e);
    if (rc == NY_OK)
        rc = need_id(h, REF_GROUP, l->group_id, what, i, e);
    if (rc == NY_OK)
        rc = need_id(h, REF_UNIT, l->unit_id, what, i, e);
    if (rc == NY_OK && l->case_id)
        rc = need_id(h, REF_CASE, l->case_id, what, i, e);
    if (rc != NY_OK)
        return rc;
    sqlite3_stmt *st;
    rc = sq_stmt(h, SQ_INS_LEAD,
                 "INSERT INTO leads(message_id,group_id,unit_id,intent,category,created_at,"
                 "case_id) VALUES(?1,?2,?3,?4,?5,?6,?7)",
                 &st, e);
    if (rc != NY_OK)
        return sq_at(e, i, rc);
    sqlite3_bind_int64(st, 1, l->message_id);
    sqlite3_bind_int64(st, 2, l->group_id);
    sqlite3_bind_int64(st, 3, l->unit_id);
    sq_bind_text(st, 4, l->intent);
    sq_bind_text(st, 5, l->category);
    sqlite3_bind_int64(st, 6, l->created_at);
    bind_opt_int(st, 7, l->case_id);
    rc = insert(h, st, what, i, id, e);
    if (rc == NY_EEXIST)
        ny_err_set_at(e, rc, i, "a %s already exists", what);
    return rc;
}

int sq_lead_put_batch(void *impl, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e)
{
    /* the leads and their counts in one atomic scope (schema 15: no trigger) */
    struct sq *h = impl;
    int own;
    ny_err_clear(e);
    int rc = sq_batch_begin(h, &own, e);
    if (rc != NY_OK)
        return rc;
    for (size_t i = 0; rc == NY_OK && i < n; i++)
        rc = lead_put(h, &l[i], (long)i, ids_out ? &ids_out[i] : NULL, e);
    int64_t *units = rc == NY_OK && n ? malloc(2 * n * sizeof *units) : NULL;
    if (rc == NY_OK && n && !units)
        rc = ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        units[i] = l[i].unit_id;
        units[n + i] = l[i].created_at;
    }
    if (rc == NY_OK && n)
        rc = sq_leads_count(h, units, units + n, n, e);
    free(units);
    return sq_batch_end(h, own, rc, e);
}
