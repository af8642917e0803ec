/* store_pg_write.c - the *_put_batch entries of the PostgreSQL driver for
 * organisation, people and knowledge.
 *
 * One struct pg_kind per table for pg_batch_run() (store_pg_batch.c): the
 * array-parameter INSERT, the element checks and the unique-violation wording.
 * The checks are those of store_sqlite_write.c in the same order and with the
 * same messages (vocabulary values against domain.h, referenced codes
 * resolved to ids with NY_ENOTFOUND naming an unknown code, a parent exactly
 * one level up, households and enterprises on grids), so both engines fail
 * the same element of a batch with the same NY_* code. Messages, cases, their
 * log and leads are in store_pg_traffic.c.
 * Units may name a parent earlier in the same batch; their ids are drawn from
 * the sequence in advance so that one INSERT can carry parents and children
 * alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store_pg.h"

static const char *const lexeme_kinds[] = {"literal", "pattern", NULL};

/* The unit code element i refers to, resolved by pg_resolve_units; with
 * need_grid the unit must be a grid. */
static int unit_ref(const struct pg_batch *b, size_t i, const char *code, int need_grid,
                    pg_what_fn what, ny_err *e)
{
    if (b->ref[i] && (!need_grid || b->level[i] == 3))
        return NY_OK;
    char w[200];
    what(pg_item(b, i), w, sizeof w);
    if (!b->ref[i])
        return ny_err_set_at(e, NY_ENOTFOUND, (long)i, "%s: unknown %s '%s'", w,
                             need_grid ? "grid" : "unit", pg_show(code));
    return ny_err_set_at(e, NY_EINVAL, (long)i, "%s: unit '%s' is a %s, not a grid", w, code,
                         b->level[i] >= 0 ? domain_levels[b->level[i]] : "unit of unknown level");
}

/* ---- units -------------------------------------------------------------- */

/* A unit of the batch by code, for parents named earlier in the same batch. */
struct unit_key {
    const char *code;
    size_t i;
};

static int unit_key_cmp(const void *a, const void *b)
{
    const struct unit_key *x = a, *y = b;
    int c = strcmp(x->code, y->code);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static const char *unit_parent_code(const void *item)
{
    return ((const store_unit *)item)->parent_code;
}

/* Parents from the database, ids for every element, the batch's own codes. */
static int unit_resolve(struct pg_batch *b, ny_err *e)
{
    static const char ids_sql[] = "SELECT nextval(pg_get_serial_sequence('units', 'id'))"
                                  " FROM generate_series(1, $1::int)";
    int rc = pg_resolve_units(b, unit_parent_code, e);
    if (rc != NY_OK)
        return rc;
    struct unit_key *keys = calloc(b->n + 1, sizeof *keys);
    b->ids = calloc(b->n, sizeof *b->ids);
    b->aux = keys;
    if (!keys || !b->ids)
        return ny_err_set(e, NY_ERR, "out of memory");
    size_t nk = 0;
    for (size_t i = 0; i < b->n; i++) {
        const store_unit *u = pg_item(b, i);
        if (u->code)
            keys[nk++] = (struct unit_key){u->code, i};
    }
    qsort(keys, nk, sizeof *keys, unit_key_cmp);
    keys[nk].code = NULL; /* end mark */
    char num[24];
    const char *vals[] = {pg_i64(num, (int64_t)b->n)};
    PGresult *r;
    if ((rc = pg_run(b->h, ids_sql, 1, vals, &r, e, "query failed")) != NY_OK)
        return rc;
    if ((size_t)PQntuples(r) != b->n)
        rc = ny_err_set(e, NY_ERR, "sequence returned %d ids for %zu units", PQntuples(r), b->n);
    for (size_t i = 0; rc == NY_OK && i < b->n; i++)
        b->ids[i] = pg_int(r, (int)i, 0);
    PQclear(r);
    return rc;
}

/* The first element before i with this code: 1 with its id and level. */
static int unit_in_batch(const struct pg_batch *b, const char *code, size_t i, int64_t *id,
                         int *level)
{
    const struct unit_key *keys = b->aux;
    size_t lo = 0, hi = 0;
    while (keys[hi].code)
        hi++;
    while (lo < hi) { /* lower bound of code */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(keys[mid].code, code) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!keys[lo].code || strcmp(keys[lo].code, code) != 0 || keys[lo].i >= i)
        return 0;
    *id = b->ids[keys[lo].i];
    *level = domain_level(((const store_unit *)pg_item(b, keys[lo].i))->level);
    return 1;
}

static int unit_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    const store_unit *u = pg_item(b, i);
    if (!u->code || !u->name)
        return ny_err_set_at(e, NY_EINVAL, (long)i, "a unit needs a code and a name");
    int lv = domain_level(u->level), plv = -1, has_parent = u->parent_code && *u->parent_code;
    if (lv < 0)
        return ny_err_set_at(e, NY_EINVAL, (long)i, "unit '%s': unknown level '%s' (expected %s)",
                             u->code, pg_show(u->level), domain_list_text(domain_levels));
    int64_t parent_id = 0;
    if (has_parent) {
        int found;
        if (precise) {
            found = pg_unit_lookup(b->h, u->parent_code, &parent_id, &plv, e);
            if (found < 0) {
                if (e)
                    e->index = (long)i;
                return found;
            }
        } else {
            found = unit_in_batch(b, u->parent_code, i, &parent_id, &plv);
            if (!found && b->ref[i])
                found = 1, parent_id = b->ref[i], plv = b->level[i];
        }
        if (!found)
            return ny_err_set_at(e, NY_ENOTFOUND, (long)i, "unknown parent unit '%s'",
                                 u->parent_code);
    }
    if (lv == 0 && has_parent)
        return ny_err_set_at(e, NY_EINVAL, (long)i, "unit '%s': a district has no parent", u->code);
    if (lv > 0 && !has_parent)
        return ny_err_set_at(e, NY_EINVAL, (long)i, "unit '%s': a %s needs a parent %s", u->code,
                             u->level, domain_levels[lv - 1]);
    if (lv > 0 && plv != lv - 1)
        return ny_err_set_at(e, NY_EINVAL, (long)i,
                             "unit '%s' (%s) cannot be under '%s' (%s): its parent must be a %s",
                             u->code, u->level, u->parent_code, plv >= 0 ? domain_levels[plv] : "?",
                             domain_levels[lv - 1]);
    int rc = domain_unit_code_check(u->level, u->code, u->parent_code, e);
    if (rc != NY_OK) {
        if (e)
            e->index = (long)i;
        return rc;
    }
    b->ref[i] = parent_id; /* for unit_row */
    return NY_OK;
}

static void unit_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_unit *u = pg_item(b, i);
    pg_col_int(c, 0, b->ids[i]);
    pg_col_text(c, 1, u->code);
    pg_col_text(c, 2, u->name);
    pg_col_text(c, 3, u->level);
    pg_col_opt(c, 4, b->ref[i]);
}

static void unit_exists(const void *item, long i, ny_err *e)
{
    ny_err_set_at(e, NY_EEXIST, i, "unit code '%s' already exists",
                  ((const store_unit *)item)->code);
}

static const struct pg_kind unit_kind = {
    "INSERT INTO units(id, code, name, level, parent_id)"
    " SELECT id, code, name, level, parent_id FROM unnest($1::bigint[], $2::text[],"
    " $3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY"
    " AS v(id, code, name, level, parent_id, ord) ORDER BY ord RETURNING id",
    5,
    sizeof(store_unit),
    unit_resolve,
    unit_check,
    unit_row,
    unit_exists};

int pg_unit_put_batch(void *impl, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &unit_kind, u, n, ids_out, e);
}

/* ---- households and enterprises ----------------------------------------- */

static void household_what(const void *item, char *out, size_t outsz)
{
    snprintf(out, outsz, "household '%s'", pg_show(((const store_household *)item)->code));
}

static const char *household_grid(const void *item)
{
    return ((const store_household *)item)->grid_code;
}

static int household_resolve(struct pg_batch *b, ny_err *e)
{
    return pg_resolve_units(b, household_grid, e);
}

static int household_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    (void)precise;
    const store_household *x = pg_item(b, i);
    if (x->size < 1 || x->size > 99) {
        char w[200];
        household_what(x, w, sizeof w);
        return ny_err_set_at(e, NY_EINVAL, (long)i, "%s: size %d is outside 1..99", w, x->size);
    }
    return unit_ref(b, i, x->grid_code, 1, household_what, e);
}

static void household_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_household *x = pg_item(b, i);
    pg_col_text(c, 0, x->code);
    pg_col_int(c, 1, b->ref[i]);
    pg_col_text(c, 2, x->address);
    pg_col_int(c, 3, x->size);
    pg_col_text(c, 4, x->phone);
}

static void household_exists(const void *item, long i, ny_err *e)
{
    ny_err_set_at(e, NY_EEXIST, i, "household code '%s' already exists",
                  ((const store_household *)item)->code);
}

static const struct pg_kind household_kind = {
    "INSERT INTO households(code, grid_id, address, size, phone)"
    " SELECT code, grid_id, address, size, phone FROM unnest($1::text[], $2::bigint[],"
    " $3::text[], $4::int[], $5::text[]) WITH ORDINALITY"
    " AS v(code, grid_id, address, size, phone, ord) ORDER BY ord RETURNING id",
    5,
    sizeof(store_household),
    household_resolve,
    household_check,
    household_row,
    household_exists};

int pg_household_put_batch(void *impl, const store_household *x, size_t n, int64_t *ids_out,
                           ny_err *e)
{
    return pg_batch_run(impl, &household_kind, x, n, ids_out, e);
}

static void enterprise_what(const void *item, char *out, size_t outsz)
{
    snprintf(out, outsz, "enterprise '%s'", pg_show(((const store_enterprise *)item)->uscc));
}

static const char *enterprise_grid(const void *item)
{
    return ((const store_enterprise *)item)->grid_code;
}

static int enterprise_resolve(struct pg_batch *b, ny_err *e)
{
    return pg_resolve_units(b, enterprise_grid, e);
}

static int enterprise_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    (void)precise;
    const store_enterprise *x = pg_item(b, i);
    return unit_ref(b, i, x->grid_code, 1, enterprise_what, e);
}

static void enterprise_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_enterprise *x = pg_item(b, i);
    pg_col_text(c, 0, x->uscc);
    pg_col_text(c, 1, x->name);
    pg_col_text(c, 2, x->industry);
    pg_col_int(c, 3, b->ref[i]);
}

static void enterprise_exists(const void *item, long i, ny_err *e)
{
    ny_err_set_at(e, NY_EEXIST, i, "enterprise credit code '%s' already exists",
                  ((const store_enterprise *)item)->uscc);
}

static const struct pg_kind enterprise_kind = {
    "INSERT INTO enterprises(uscc, name, industry, grid_id)"
    " SELECT uscc, name, industry, grid_id FROM unnest($1::text[], $2::text[], $3::text[],"
    " $4::bigint[]) WITH ORDINALITY AS v(uscc, name, industry, grid_id, ord)"
    " ORDER BY ord RETURNING id",
    4,
    sizeof(store_enterprise),
    enterprise_resolve,
    enterprise_check,
    enterprise_row,
    enterprise_exists};

int pg_enterprise_put_batch(void *impl, const store_enterprise *x, size_t n, int64_t *ids_out,
                            ny_err *e)
{
    return pg_batch_run(impl, &enterprise_kind, x, n, ids_out, e);
}

/* ---- groups and staff --------------------------------------------------- */

static void group_what(const void *item, char *out, size_t outsz)
{
    const store_group *g = item;
    snprintf(out, outsz, "group '%s' on %s", pg_show(g->external_id), pg_show(g->platform));
}

static const char *group_unit(const void *item)
{
    return ((const store_group *)item)->unit_code;
}

static int group_resolve(struct pg_batch *b, ny_err *e)
{
    return pg_resolve_units(b, group_unit, e);
}

static int group_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    (void)precise;
    const store_group *g = pg_item(b, i);
    int rc = pg_check_enum(domain_platforms, g->platform, 0, group_what, g, "platform", (long)i, e);
    if (rc == NY_OK)
        rc = pg_check_enum(domain_group_kinds, g->kind, 0, group_what, g, "kind", (long)i, e);
    if (rc == NY_OK)
        rc = unit_ref(b, i, g->unit_code, 0, group_what, e);
    return rc;
}

static void group_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_group *g = pg_item(b, i);
    pg_col_text(c, 0, g->platform);
    pg_col_text(c, 1, g->external_id);
    pg_col_text(c, 2, g->kind);
    pg_col_int(c, 3, b->ref[i]);
    pg_col_text(c, 4, g->name);
    pg_col_int(c, 5, g->members);
    pg_col_text(c, 6, g->target);
}

static void group_exists(const void *item, long i, ny_err *e)
{
    char w[200];
    group_what(item, w, sizeof w);
    ny_err_set_at(e, NY_EEXIST, i, "%s already exists", w);
}

static const struct pg_kind group_kind = {
    "INSERT INTO chat_groups(platform, external_id, kind, unit_id, name, members, target)"
    " SELECT platform, external_id, kind, unit_id, name, members, target FROM unnest("
    "$1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::text[])"
    " WITH ORDINALITY AS v(platform, external_id, kind, unit_id, name, members, target, ord)"
    " ORDER BY ord RETURNING id",
    7,
    sizeof(store_group),
    group_resolve,
    group_check,
    group_row,
    group_exists};

int pg_group_put_batch(void *impl, const store_group *g, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &group_kind, g, n, ids_out, e);
}

static void staff_what(const void *item, char *out, size_t outsz)
{
    snprintf(out, outsz, "staff '%s'", pg_show(((const store_staff *)item)->account));
}

static const char *staff_unit(const void *item)
{
    return ((const store_staff *)item)->unit_code;
}

static int staff_resolve(struct pg_batch *b, ny_err *e)
{
    return pg_resolve_units(b, staff_unit, e);
}

static int staff_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    (void)precise;
    const store_staff *p = pg_item(b, i);
    int rc = pg_check_enum(domain_roles, p->role, 0, staff_what, p, "role", (long)i, e);
    if (rc == NY_OK)
        rc = unit_ref(b, i, p->unit_code, 0, staff_what, e);
    return rc;
}

static void staff_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_staff *p = pg_item(b, i);
    pg_col_text(c, 0, p->account);
    pg_col_text(c, 1, p->name);
    pg_col_text(c, 2, p->phone);
    pg_col_text(c, 3, p->role);
    pg_col_int(c, 4, b->ref[i]);
    pg_col_text(c, 5, p->department);
}

static void staff_exists(const void *item, long i, ny_err *e)
{
    ny_err_set_at(e, NY_EEXIST, i, "staff account '%s' already exists",
                  ((const store_staff *)item)->account);
}

static const struct pg_kind staff_kind = {
    "INSERT INTO staff(account, name, phone, role, unit_id, department)"
    " SELECT account, name, phone, role, unit_id, department FROM unnest($1::text[],"
    " $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY"
    " AS v(account, name, phone, role, unit_id, department, ord) ORDER BY ord RETURNING id",
    6,
    sizeof(store_staff),
    staff_resolve,
    staff_check,
    staff_row,
    staff_exists};

int pg_staff_put_batch(void *impl, const store_staff *p, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &staff_kind, p, n, ids_out, e);
}

/* ---- knowledge: policies and lexicon ------------------------------------ */

static void policy_what(const void *item, char *out, size_t outsz)
{
    snprintf(out, outsz, "policy '%s'", pg_show(((const store_policy *)item)->code));
}

static int policy_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    (void)precise;
    const store_policy *p = pg_item(b, i);
    int rc =
        pg_check_enum(domain_audiences, p->audience, 0, policy_what, p, "audience", (long)i, e);
    if (rc == NY_OK)
        rc = pg_check_enum(domain_categories, p->category, 0, policy_what, p, "category", (long)i,
                           e);
    return rc;
}

static void policy_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_policy *p = pg_item(b, i);
    const char *v[] = {p->code,    p->title,       p->category,     p->audience, p->department,
                       p->summary, p->eligibility, p->how_to_apply, p->keywords};
    for (int k = 0; k < 9; k++)
        pg_col_text(c, k, v[k]);
}

static void policy_exists(const void *item, long i, ny_err *e)
{
    ny_err_set_at(e, NY_EEXIST, i, "policy code '%s' already exists",
                  ((const store_policy *)item)->code);
}

static const struct pg_kind policy_kind = {
    "INSERT INTO policies(code, title, category, audience, department, summary, eligibility,"
    " how_to_apply, keywords)"
    " SELECT code, title, category, audience, department, summary, eligibility, how_to_apply,"
    " keywords FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY AS v(code, title,"
    " category, audience, department, summary, eligibility, how_to_apply, keywords, ord)"
    " ORDER BY ord RETURNING id",
    9,
    sizeof(store_policy),
    NULL,
    policy_check,
    policy_row,
    policy_exists};

int pg_policy_put_batch(void *impl, const store_policy *p, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &policy_kind, p, n, ids_out, e);
}

static void lexeme_what(const void *item, char *out, size_t outsz)
{
    snprintf(out, outsz, "lexicon term '%s'", pg_show(((const store_lexeme *)item)->term));
}

static int lexeme_check(struct pg_batch *b, size_t i, int precise, ny_err *e)
{
    (void)precise;
    const store_lexeme *l = pg_item(b, i);
    int rc = pg_check_enum(lexeme_kinds, l->kind, 0, lexeme_what, l, "kind", (long)i, e);
    if (rc == NY_OK)
        rc = pg_check_enum(domain_intents, l->intent, 1, lexeme_what, l, "intent", (long)i, e);
    if (rc == NY_OK)
        rc = pg_check_enum(domain_categories, l->category, 1, lexeme_what, l, "category", (long)i,
                           e);
    return rc;
}

static void lexeme_row(struct pg_batch *b, size_t i, struct pg_cols *c)
{
    const store_lexeme *l = pg_item(b, i);
    pg_col_text(c, 0, l->term);
    pg_col_text(c, 1, l->kind);
    pg_col_text(c, 2, l->intent);
    pg_col_text(c, 3, l->category);
    pg_col_real(c, 4, l->weight);
    pg_col_text(c, 5, l->action);
}

static void lexeme_exists(const void *item, long i, ny_err *e)
{
    char w[200];
    lexeme_what(item, w, sizeof w);
    ny_err_set_at(e, NY_EEXIST, i, "%s already exists", w);
}

static const struct pg_kind lexeme_kind = {
    "INSERT INTO lexicon(term, kind, intent, category, weight, action)"
    " SELECT term, kind, intent, category, weight, action FROM unnest($1::text[],"
    " $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[]) WITH ORDINALITY"
    " AS v(term, kind, intent, category, weight, action, ord) ORDER BY ord RETURNING id",
    6,
    sizeof(store_lexeme),
    NULL,
    lexeme_check,
    lexeme_row,
    lexeme_exists};

int pg_lexicon_put_batch(void *impl, const store_lexeme *l, size_t n, int64_t *ids_out, ny_err *e)
{
    return pg_batch_run(impl, &lexeme_kind, l, n, ids_out, e);
}
