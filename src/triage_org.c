/* triage_org.c - who is who, for the assistant's decision (triage_int.h).
 *
 * When the engine is built from a database it reads, once, the unit tree
 * (district, streets, communities, grids), the staff accounts and the chat
 * groups, and keeps what the decision asks per message: the chain of units
 * above a group's unit, the first staff member of each level's role in a
 * unit (the grid worker of a grid, the community officer, the street
 * officer), the account of the department for a category, and a group's
 * kind and unit by its external id. Units are kept in code order and groups
 * in external-id order, both searched by bisection; nothing here changes
 * after loading, so any number of threads may read it. */
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "triage_int.h"

/* store_*_each callbacks append to these growing arrays. */
typedef struct grow {
    void **v;
    size_t *n, cap, size;
} grow;

static void *grow_next(grow *g)
{
    if (*g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 256;
        void *p = realloc(*g->v, cap * g->size);
        if (!p)
            return NULL;
        *g->v = p;
        g->cap = cap;
    }
    return (char *)*g->v + (*g->n)++ * g->size;
}

static char *dup(const char *s)
{
    return strdup(s ? s : "");
}

typedef struct load_ctx {
    tri_org *o;
    grow g;
    char **parents; /* parent code per unit while loading */
    size_t pcap;
} load_ctx;

static int add_unit(void *ctx, const store_unit *u)
{
    load_ctx *c = ctx;
    if (*c->g.n == c->pcap) {
        size_t cap = c->pcap ? 2 * c->pcap : 256;
        char **p = realloc(c->parents, cap * sizeof *p);
        if (!p)
            return NY_ERR;
        c->parents = p;
        c->pcap = cap;
    }
    size_t i = *c->g.n;
    tri_unit *x = grow_next(&c->g);
    if (!x)
        return NY_ERR;
    *x = (tri_unit){dup(u->code), dup(u->name), domain_level(u->level), -1, {-1, -1, -1, -1}};
    c->parents[i] = u->parent_code ? strdup(u->parent_code) : NULL;
    return x->code && x->name && (c->parents[i] || !u->parent_code) ? NY_OK : NY_ERR;
}

static int cmp_unit(const void *key, const void *elem)
{
    return strcmp(key, ((const tri_unit *)elem)->code);
}

int tri_org_unit(const tri_org *o, const char *code)
{
    if (!code || !o->nunits)
        return -1;
    const tri_unit *u = bsearch(code, o->units, o->nunits, sizeof *o->units, cmp_unit);
    return u ? (int)(u - o->units) : -1;
}

/* Role of the staff member of each level: grid_worker for a grid, ... */
static int role_level(const char *role)
{
    static const char *const roles[] = {"district", "street", "community", "grid_worker", NULL};
    return domain_index(roles, role);
}

static int add_staff(void *ctx, const store_staff *p)
{
    load_ctx *c = ctx;
    tri_org *o = c->o;
    int level = role_level(p->role), dept = -1;
    if (p->role && strcmp(p->role, "department") == 0)
        for (int k = 0; domain_categories[k]; k++)
            if (tri_department_name(k) && p->department &&
                strcmp(p->department, tri_department_name(k)) == 0)
                dept = k;
    int unit = tri_org_unit(o, p->unit_code);
    int wanted = (level >= 0 && unit >= 0 && o->units[unit].staff[level] < 0) ||
                 (dept >= 0 && o->dept_staff[dept] < 0);
    if (!wanted)
        return NY_OK;
    int idx = (int)*c->g.n;
    tri_staff *x = grow_next(&c->g);
    if (!x)
        return NY_ERR;
    *x = (tri_staff){dup(p->account), dup(p->name), dup(p->department)};
    if (!x->account || !x->name || !x->department)
        return NY_ERR;
    if (dept >= 0 && o->dept_staff[dept] < 0)
        o->dept_staff[dept] = idx;
    else
        o->units[unit].staff[level] = idx;
    return NY_OK;
}

static int add_group(void *ctx, const store_group *g)
{
    load_ctx *c = ctx;
    tri_group *x = grow_next(&c->g);
    if (!x)
        return NY_ERR;
    *x = (tri_group){dup(g->external_id), dup(g->platform), dup(g->kind), dup(g->unit_code)};
    return x->external_id && x->platform && x->kind && x->unit_code ? NY_OK : NY_ERR;
}

static int cmp_group(const void *a, const void *b)
{
    const tri_group *x = a, *y = b;
    int c = strcmp(x->external_id, y->external_id);
    return c ? c : strcmp(x->platform, y->platform);
}

/* The result of a store_*_each call, with a message when a callback ran
 * out of memory (e was cleared before). */
static int each_result(int rc, ny_err *e)
{
    if (rc == NY_ERR && e && !e->msg[0])
        ny_err_set(e, NY_ERR, "out of memory");
    return rc;
}

int tri_org_load(tri_org *o, store *db, ny_err *e)
{
    o->district = -1;
    for (size_t k = 0; k < sizeof o->dept_staff / sizeof *o->dept_staff; k++)
        o->dept_staff[k] = -1;
    o->loaded = 1;
    load_ctx c = {o, {(void **)&o->units, &o->nunits, 0, sizeof(tri_unit)}, NULL, 0};
    ny_err_clear(e);
    int rc = each_result(store_units_subtree(db, NULL, add_unit, &c, e), e);
    for (size_t i = 0; i < o->nunits; i++) {
        if (rc == NY_OK && c.parents[i])
            o->units[i].parent = tri_org_unit(o, c.parents[i]);
        if (o->units[i].level == 0 && o->district < 0)
            o->district = (int)i;
        free(c.parents[i]);
    }
    free(c.parents);
    if (rc != NY_OK)
        return rc;
    c.g = (grow){(void **)&o->staff, &o->nstaff, 0, sizeof(tri_staff)};
    if ((rc = each_result(store_staff_each(db, add_staff, &c, e), e)) != NY_OK)
        return rc;
    c.g = (grow){(void **)&o->groups, &o->ngroups, 0, sizeof(tri_group)};
    if ((rc = each_result(store_groups_each(db, add_group, &c, e), e)) != NY_OK)
        return rc;
    if (o->ngroups)
        qsort(o->groups, o->ngroups, sizeof *o->groups, cmp_group);
    return NY_OK;
}

void tri_org_free(tri_org *o)
{
    for (size_t i = 0; i < o->nunits; i++) {
        free(o->units[i].code);
        free(o->units[i].name);
    }
    for (size_t i = 0; i < o->nstaff; i++) {
        free(o->staff[i].account);
        free(o->staff[i].name);
        free(o->staff[i].department);
    }
    for (size_t i = 0; i < o->ngroups; i++) {
        free(o->groups[i].external_id);
        free(o->groups[i].platform);
        free(o->groups[i].kind);
        free(o->groups[i].unit_code);
    }
    free(o->units);
    free(o->staff);
    free(o->groups);
    memset(o, 0, sizeof *o);
}

static int cmp_group_key(const void *key, const void *elem)
{
    return strcmp(key, ((const tri_group *)elem)->external_id);
}

const tri_group *tri_org_group(const tri_org *o, const char *external_id)
{
    if (!o->ngroups)
        return NULL;
    const tri_group *g =
        bsearch(external_id, o->groups, o->ngroups, sizeof *o->groups, cmp_group_key);
    while (g && g > o->groups && strcmp(g[-1].external_id, external_id) == 0)
        g--; /* the first platform of that id */
    return g;
}
