/* policy_list.c - policy rows with owned strings, from the database or from
 * the default CSV file (policy.h).
 *
 * The assistant needs its knowledge base in memory whether or not a database
 * is open: with one, the rows arrive through store_policies_each and are only
 * valid during the callback, so they are copied; without one, they are read
 * from data/policies.csv with the shared CSV reader. Checks here are the few
 * the ranking depends on (all columns, code, title, audience); the full
 * validation of an import lives in the import module. */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* The columns of a policies CSV file, in the order of store_policy's fields. */
static const char *const columns[] = {"code",        "title",        "category",
                                      "audience",    "department",   "summary",
                                      "eligibility", "how_to_apply", "keywords"};
#define NCOLS (sizeof columns / sizeof columns[0])

/* The string fields of a row, in the order of columns[]. */
static const char **row_field(store_policy *r, size_t i)
{
    const char **f[NCOLS] = {&r->code,        &r->title,        &r->category,
                             &r->audience,    &r->department,   &r->summary,
                             &r->eligibility, &r->how_to_apply, &r->keywords};
    return f[i];
}

static void row_free(store_policy *r)
{
    for (size_t i = 0; i < NCOLS; i++)
        free((char *)*row_field(r, i));
}

int policy_list_add(void *ctx, const store_policy *p)
{
    policy_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        store_policy *rows = realloc(l->rows, cap * sizeof *rows);
        if (!rows)
            return NY_ERR;
        l->rows = rows, l->cap = cap;
    }
    store_policy in = *p, r = {0};
    r.id = p->id;
    for (size_t i = 0; i < NCOLS; i++) {
        const char *s = *row_field(&in, i);
        char *copy = strdup(s ? s : "");
        if (!copy) {
            row_free(&r);
            return NY_ERR;
        }
        *row_field(&r, i) = copy;
    }
    l->rows[l->n++] = r;
    return NY_OK;
}

void policy_list_free(policy_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        row_free(&l->rows[i]);
    free(l->rows);
    *l = (policy_list)POLICY_LIST_INIT;
}

/* Maps the header record to col[] (field index of each column). */
static int read_header(const char *path, const csv_record *rec, size_t col[NCOLS], ny_err *e)
{
    int seen[NCOLS] = {0};
    for (size_t f = 0; f < rec->n; f++) {
        size_t i = 0;
        while (i < NCOLS && strcmp(rec->fields[f], columns[i]))
            i++;
        if (i == NCOLS)
            return ny_err_set(e, NY_EINVAL, "%s:%ld: %s: unknown column", path, rec->line,
                              rec->fields[f]);
        if (seen[i]++)
            return ny_err_set(e, NY_EINVAL, "%s:%ld: %s: column given twice", path, rec->line,
                              columns[i]);
        col[i] = f;
    }
    for (size_t i = 0; i < NCOLS; i++)
        if (!seen[i])
            return ny_err_set(e, NY_EINVAL, "%s:%ld: %s: column missing", path, rec->line,
                              columns[i]);
    return NY_OK;
}

/* Checks one record and appends it. */
static int add_record(policy_list *l, const char *path, const csv_record *rec,
                      const size_t col[NCOLS], ny_err *e)
{
    if (rec->n != NCOLS)
        return ny_err_set(e, NY_EINVAL, "%s:%ld: %zu fields, expected %zu", path, rec->line, rec->n,
                          NCOLS);
    store_policy r = {0};
    for (size_t i = 0; i < NCOLS; i++)
        *row_field(&r, i) = rec->fields[col[i]];
    if (!*r.code)
        return ny_err_set(e, NY_EINVAL, "%s:%ld: code: empty", path, rec->line);
    if (!*r.title)
        return ny_err_set(e, NY_EINVAL, "%s:%ld: title: empty", path, rec->line);
    if (strcmp(r.audience, "resident") && strcmp(r.audience, "enterprise") &&
        strcmp(r.audience, "both"))
        return ny_err_set(e, NY_EINVAL,
                          "%s:%ld: audience: '%s' is not resident, enterprise or both", path,
                          rec->line, r.audience);
    if (policy_list_add(l, &r) != NY_OK)
        return ny_err_set(e, NY_ERR, "out of memory reading %s", path);
    return NY_OK;
}

int policy_list_load_csv(policy_list *l, const char *path, ny_err *e)
{
    if (!l || !path)
        return ny_err_set(e, NY_EINVAL, "policy_list_load_csv: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f)
        return ny_err_set(e, NY_ERR, "%s: %s", path, strerror(errno));
    size_t n0 = l->n, col[NCOLS];
    csv_reader *r = NULL;
    csv_record rec;
    int rc = csv_open(f, &r, e);
    if (rc == NY_OK)
        rc = csv_next(r, &rec, e);
    if (rc == NY_OK && rec.n == 0)
        rc = ny_err_set(e, NY_EINVAL, "%s:1: empty file, expected a header", path);
    else if (rc == NY_OK)
        rc = read_header(path, &rec, col, e);
    while (rc == NY_OK) {
        rc = csv_next(r, &rec, e);
        if (rc != NY_OK) {
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e ? e->msg : "malformed record");
            rc = ny_err_set(e, rc, "%s:%ld: %s", path, rec.line, why);
        } else if (rec.n == 0) {
            break;
        } else {
            rc = add_record(l, path, &rec, col, e);
        }
    }
    csv_close(r);
    if (fclose(f) != 0 && rc == NY_OK)
        rc = ny_err_set(e, NY_ERR, "%s: %s", path, strerror(errno));
    if (rc != NY_OK)
        while (l->n > n0)
            row_free(&l->rows[--l->n]);
    return rc;
}
