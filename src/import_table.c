/* import_table.c - column descriptions and value checks of the CSV kinds.
 *
 * The declarations of import_table.h: one import_table per kind, with its
 * columns in export order, and import_table_fill, which checks one row's
 * texts against them (presence, enumerations, numbers and their ranges,
 * lengths counted in characters, phone numbers, credit codes, unit code
 * shapes) and fills the store.h row struct. Rules that span columns (a unit's
 * code against its level and parent, a department officer's department, a
 * lexicon pattern's gap mark) are each table's check function. Checks that
 * need the database or the rest of the file (duplicates, references) are
 * import.c's. */
#include "import_table.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "import.h"

static const char *const lexeme_kinds[] = {"literal", "pattern", NULL};

/* A column of type kind holding text of at most max characters, one of list
 * (ENUM) or a number min..max (INT, REAL; always required). */
/* clang-format off */
#define COL(name, kind, req, max, type, field) {name, kind, req, 0, max, NULL, offsetof(type, field)}
#define ENUM(name, req, list, type, field) {name, IMPORT_ENUM, req, 0, 0, list, offsetof(type, field)}
#define NUMBER(name, kind, min, max, type, field) {name, kind, 1, min, max, NULL, offsetof(type, field)}
/* clang-format on */

static const import_col unit_cols[] = {
    COL("code", IMPORT_WORD, 1, 64, store_unit, code),
    COL("name", IMPORT_TEXT, 1, 50, store_unit, name),
    ENUM("level", 1, domain_levels, store_unit, level),
    COL("parent_code", IMPORT_UNIT, 0, 15, store_unit, parent_code),
};

static const import_col group_cols[] = {
    ENUM("platform", 1, domain_platforms, store_group, platform),
    COL("external_id", IMPORT_WORD, 1, 128, store_group, external_id),
    ENUM("kind", 1, domain_group_kinds, store_group, kind),
    COL("unit_code", IMPORT_UNIT, 1, 15, store_group, unit_code),
    COL("name", IMPORT_TEXT, 1, 100, store_group, name),
    NUMBER("members", IMPORT_INT, 0, 100000, store_group, members),
    COL("target", IMPORT_WORD, 0, 500, store_group, target),
};

static const import_col staff_cols[] = {
    COL("account", IMPORT_WORD, 1, 64, store_staff, account),
    COL("name", IMPORT_TEXT, 1, 50, store_staff, name),
    COL("phone", IMPORT_PHONE, 0, 20, store_staff, phone),
    ENUM("role", 1, domain_roles, store_staff, role),
    COL("unit_code", IMPORT_UNIT, 1, 15, store_staff, unit_code),
    COL("department", IMPORT_TEXT, 0, 50, store_staff, department),
};

static const import_col household_cols[] = {
    COL("code", IMPORT_WORD, 1, 64, store_household, code),
    COL("grid_code", IMPORT_UNIT, 1, 15, store_household, grid_code),
    COL("address", IMPORT_TEXT, 1, 200, store_household, address),
    NUMBER("size", IMPORT_INT, 1, 99, store_household, size),
    COL("phone", IMPORT_PHONE, 0, 20, store_household, phone),
};

static const import_col enterprise_cols[] = {
    COL("uscc", IMPORT_USCC, 1, 18, store_enterprise, uscc),
    COL("name", IMPORT_TEXT, 1, 100, store_enterprise, name),
    COL("industry", IMPORT_TEXT, 1, 50, store_enterprise, industry),
    COL("grid_code", IMPORT_UNIT, 1, 15, store_enterprise, grid_code),
};

static const import_col policy_cols[] = {
    COL("code", IMPORT_WORD, 1, 64, store_policy, code),
    COL("title", IMPORT_TEXT, 1, 100, store_policy, title),
    ENUM("category", 1, domain_categories, store_policy, category),
    ENUM("audience", 1, domain_audiences, store_policy, audience),
    COL("department", IMPORT_TEXT, 1, 50, store_policy, department),
    COL("summary", IMPORT_TEXT, 1, 200, store_policy, summary),
    COL("eligibility", IMPORT_LINES, 0, 2000, store_policy, eligibility),
    COL("how_to_apply", IMPORT_LINES, 0, 2000, store_policy, how_to_apply),
    COL("keywords", IMPORT_TEXT, 0, 500, store_policy, keywords),
};

static const import_col lexeme_cols[] = {
    COL("term", IMPORT_TEXT, 1, 50, store_lexeme, term),
    ENUM("kind", 1, lexeme_kinds, store_lexeme, kind),
    ENUM("intent", 0, domain_intents, store_lexeme, intent),
    ENUM("category", 0, domain_categories, store_lexeme, category),
    NUMBER("weight", IMPORT_REAL, -100, 100, store_lexeme, weight),
    COL("action", IMPORT_WORD, 0, 64, store_lexeme, action),
};

/* ---- rules across columns ------------------------------------------------ */

static int unit_check(void *row, int *col, ny_err *e)
{
    store_unit *u = row;
    int lv = domain_level(u->level);
    *col = 3;
    if (lv == 0 && u->parent_code)
        return ny_err_set(e, NY_EINVAL, "must be empty for a district");
    if (lv > 0 && !u->parent_code)
        return ny_err_set(e, NY_EINVAL, "a %s needs a parent unit", u->level);
    *col = 0;
    return domain_unit_code_check(u->level, u->code, u->parent_code, e);
}

static int staff_check(void *row, int *col, ny_err *e)
{
    store_staff *p = row;
    int department = strcmp(p->role, "department") == 0;
    *col = 5;
    if (department && !*p->department)
        return ny_err_set(e, NY_EINVAL, "must name the department of a department officer");
    if (!department && *p->department)
        return ny_err_set(e, NY_EINVAL, "must be empty unless role is department, got '%s'",
                          p->department);
    return NY_OK;
}

static int policy_check(void *row, int *col, ny_err *e)
{
    store_policy *p = row;
    *col = 2;
    if (strcmp(p->category, "无") == 0)
        return ny_err_set(e, NY_EINVAL, "a policy belongs to one of the seven domains, not 无");
    return NY_OK;
}

static int lexeme_check(void *row, int *col, ny_err *e)
{
    static const char gap[] = "…";
    store_lexeme *l = row;
    const char *at = strstr(l->term, gap);
    size_t len = strlen(l->term), glen = sizeof gap - 1;
    *col = 0;
    if (strcmp(l->kind, "literal") == 0) {
        if (at)
            return ny_err_set(e, NY_EINVAL, "a literal term cannot hold '…' (use kind pattern)");
        return NY_OK;
    }
    if (!at)
        return ny_err_set(e, NY_EINVAL, "a pattern needs '…' between its parts");
    if (at == l->term || strcmp(l->term + len - glen, gap) == 0)
        return ny_err_set(e, NY_EINVAL, "a pattern cannot start or end with '…'");
    return NY_OK;
}

/* ---- store adapters ------------------------------------------------------- */

typedef struct each_ctx {
    int (*fn)(void *ctx, const void *row);
    void *ctx;
} each_ctx;

static int units_all(store *s, int (*fn)(void *ctx, const store_unit *u), void *ctx, ny_err *e)
{
    return store_units_subtree(s, NULL, fn, ctx, e);
}

/* put_NAME and each_NAME for a kind whose rows are TYPE. */
#define ADAPTERS(name, type, put_batch, iterate)                                                   \
    static int put_##name(store *s, const void *rows, size_t n, ny_err *e)                         \
    {                                                                                              \
        return put_batch(s, rows, n, NULL, e);                                                     \
    }                                                                                              \
    static int row_##name(void *ctx, const type *row)                                              \
    {                                                                                              \
        const each_ctx *x = ctx;                                                                   \
        return x->fn(x->ctx, row);                                                                 \
    }                                                                                              \
    static int each_##name(store *s, int (*fn)(void *ctx, const void *row), void *ctx, ny_err *e)  \
    {                                                                                              \
        each_ctx x = {fn, ctx};                                                                    \
        return iterate(s, row_##name, &x, e);                                                      \
    }

ADAPTERS(units, store_unit, store_unit_put_batch, units_all)
ADAPTERS(groups, store_group, store_group_put_batch, store_groups_each)
ADAPTERS(staff, store_staff, store_staff_put_batch, store_staff_each)
ADAPTERS(households, store_household, store_household_put_batch, store_households_each)
ADAPTERS(enterprises, store_enterprise, store_enterprise_put_batch, store_enterprises_each)
ADAPTERS(policies, store_policy, store_policy_put_batch, store_policies_each)
ADAPTERS(lexicon, store_lexeme, store_lexicon_put_batch, store_lexicon_each)

/* The members every table sets the same way from its name, columns and row type. */
#define TABLE(name, columns, type)                                                                 \
    .kind = #name, .cols = columns, .ncols = sizeof columns / sizeof columns[0],                   \
    .row_size = sizeof(type), .put = put_##name, .each = each_##name

static const import_table tables[] = {
    {TABLE(units, unit_cols, store_unit), .key = {0, -1}, .ref = 3, .ref_level = IMPORT_REF_PARENT,
     .check = unit_check},
    {TABLE(groups, group_cols, store_group), .key = {0, 1}, .ref = 3, .ref_level = -1},
    {TABLE(staff, staff_cols, store_staff), .key = {0, -1}, .ref = 4, .ref_level = -1,
     .check = staff_check},
    {TABLE(households, household_cols, store_household), .key = {0, -1}, .ref = 1, .ref_level = 3},
    {TABLE(enterprises, enterprise_cols, store_enterprise), .key = {0, -1}, .ref = 3,
     .ref_level = 3},
    {TABLE(policies, policy_cols, store_policy), .key = {0, -1}, .ref = -1, .ref_level = -1,
     .check = policy_check},
    {TABLE(lexicon, lexeme_cols, store_lexeme), .key = {0, -1}, .ref = -1, .ref_level = -1,
     .check = lexeme_check},
};

const char *const import_kinds[] = {"units",       "groups",   "staff",   "households",
                                    "enterprises", "policies", "lexicon", NULL};

const import_table *import_table_find(const char *kind)
{
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (kind && strcmp(tables[i].kind, kind) == 0)
            return &tables[i];
    return NULL;
}

/* ---- value checks ---------------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int check_text(const import_col *c, const char *v, ny_err *e)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        int control = *p < 0x20 || *p == 0x7F;
        if (c->type == IMPORT_WORD && (control || *p == ' '))
            return ny_err_set(e, NY_EINVAL, "must not contain spaces or control characters");
        if (c->type == IMPORT_TEXT && control)
            return ny_err_set(e, NY_EINVAL, "must be one line without control characters");
        if (c->type == IMPORT_LINES && control && *p != '\n' && *p != '\r' && *p != '\t')
            return ny_err_set(e, NY_EINVAL, "must not contain control characters");
    }
    size_t n = utf8_chars(v);
    if ((long)n > c->max)
        return ny_err_set(e, NY_EINVAL, "longer than %ld characters (%zu)", c->max, n);
    return NY_OK;
}

static int check_enum(const import_col *c, const char *v, ny_err *e)
{
    if (domain_index(c->list, v) >= 0)
        return NY_OK;
    char text[256];
    size_t off = 0;
    for (int i = 0; c->list[i] && off < sizeof text; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "%s%s", i ? "/" : "", c->list[i]);
    return ny_err_set(e, NY_EINVAL, "must be one of %s%s, got '%.60s'", text,
                      c->required ? "" : " or empty", v);
}

/* Length of the run of decimal digits at p. */
static size_t digits(const char *p)
{
    return strspn(p, "0123456789");
}

static int parse_int(const import_col *c, const char *v, int *out, ny_err *e)
{
    const char *p = v + (*v == '-');
    size_t n = digits(p);
    long x = n > 0 && n < 10 && !p[n] ? strtol(v, NULL, 10) : c->min - 1;
    if (x < c->min || x > c->max)
        return ny_err_set(e, NY_EINVAL, "must be an integer %ld..%ld, got '%.60s'", c->min, c->max,
                          v);
    *out = (int)x;
    return NY_OK;
}

/* Accepts -?D+(.D+)?([eE][+-]?D+)? only: no spaces, hex, inf or nan. */
static int parse_real(const import_col *c, const char *v, double *out, ny_err *e)
{
    const char *p = v + (*v == '-');
    size_t n = digits(p);
    int ok = n > 0;
    p += n;
    if (ok && *p == '.') {
        n = digits(++p);
        ok = n > 0;
        p += n;
    }
    if (ok && (*p == 'e' || *p == 'E')) {
        p += p[1] == '+' || p[1] == '-' ? 2 : 1;
        n = digits(p);
        ok = n > 0;
        p += n;
    }
    double x = ok && !*p ? strtod(v, NULL) : 0;
    if (!ok || *p || !(x >= (double)c->min && x <= (double)c->max))
        return ny_err_set(e, NY_EINVAL, "must be a number %ld..%ld, got '%.60s'", c->min, c->max,
                          v);
    *out = x;
    return NY_OK;
}

static int check_phone(const import_col *c, const char *v, ny_err *e)
{
    if (strchr(v, '*'))
        return ny_err_set(e, NY_EINVAL,
                          "'%.30s' is masked; import needs full numbers (export with full phones)",
                          v);
    const char *p = v + (*v == '+');
    size_t len = strlen(v);
    if (strspn(p, "0123456789-") != strlen(p) || len < 3 || (long)len > c->max)
        return ny_err_set(e, NY_EINVAL,
                          "must be a phone number (3..%ld digits or '-', may start with '+'), "
                          "got '%.30s'",
                          c->max, v);
    return NY_OK;
}

static int check_unit_code(const char *v, ny_err *e)
{
    size_t len = strlen(v);
    if ((len != 12 && len != 15) || digits(v) != len)
        return ny_err_set(e, NY_EINVAL, "must be a 12- or 15-digit unit code, got '%.30s'", v);
    return NY_OK;
}

static int fill_value(const import_col *c, const char *v, char *slot, ny_err *e)
{
    if (c->type == IMPORT_INT)
        return parse_int(c, v, (int *)(void *)slot, e);
    if (c->type == IMPORT_REAL)
        return parse_real(c, v, (double *)(void *)slot, e);
    const char **text = (const char **)(void *)slot;
    *text = v;
    if (!*v) {
        if (c->required)
            return ny_err_set(e, NY_EINVAL, "must not be empty");
        if (c->type == IMPORT_UNIT)
            *text = NULL;
        return NY_OK;
    }
    switch (c->type) {
    case IMPORT_ENUM:
        return check_enum(c, v, e);
    case IMPORT_PHONE:
        return check_phone(c, v, e);
    case IMPORT_USCC:
        return domain_uscc_check(v, e);
    case IMPORT_UNIT:
        return check_unit_code(v, e);
    default: /* IMPORT_TEXT, IMPORT_LINES, IMPORT_WORD */
        return check_text(c, v, e);
    }
}

int import_table_fill(const import_table *t, char *const *fields, void *row, int *col, ny_err *e)
{
    memset(row, 0, t->row_size);
    for (size_t i = 0; i < t->ncols; i++) {
        *col = (int)i;
        int rc = fill_value(&t->cols[i], fields[i], (char *)row + t->cols[i].offset, e);
        if (rc != NY_OK)
            return rc;
    }
    return t->check ? t->check(row, col, e) : NY_OK;
}
