/* triage_rows.c - the lexicon rows the engine compiles (triage_int.h).
 *
 * The engine builds every lexicon version from rows read either from the
 * database (store_lexicon_each) or from the default CSV file; both land in a
 * tri_lexrows, whose strings are copied into blocks of 64 KiB: thousands of
 * rows are read at start-up, and one allocation per string cost more than
 * reading them. The rows live only until the version is compiled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "triage_int.h"

/* A block of the string arena of tri_lexrows. */
struct tri_lexblock {
    struct tri_lexblock *next;
    size_t used, cap;
    char s[];
};

void tri_lexrows_free(tri_lexrows *l)
{
    while (l->blocks) {
        tri_lexblock *b = l->blocks;
        l->blocks = b->next;
        free(b);
    }
    free(l->v);
    *l = (tri_lexrows){NULL, 0, 0, NULL};
}

/* A copy of s ("" for NULL) in l's arena, or NULL when out of memory. */
static const char *lexrows_str(tri_lexrows *l, const char *s)
{
    size_t n = s ? strlen(s) + 1 : 1;
    tri_lexblock *b = l->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        *b = (tri_lexblock){l->blocks, 0, cap};
        l->blocks = b;
    }
    char *d = b->s + b->used;
    memcpy(d, s ? s : "", n);
    b->used += n;
    return d;
}

int tri_lexrows_add(void *ctx, const store_lexeme *x)
{
    tri_lexrows *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        store_lexeme *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NY_ERR;
        l->v = v;
        l->cap = cap;
    }
    store_lexeme *y = &l->v[l->n];
    *y = (store_lexeme){0,
                        lexrows_str(l, x->term),
                        "",
                        lexrows_str(l, x->intent),
                        lexrows_str(l, x->category),
                        x->weight,
                        lexrows_str(l, x->action)};
    if (!y->term || !y->intent || !y->category || !y->action)
        return NY_ERR;
    l->n++;
    return NY_OK;
}

int tri_each_result(int rc, ny_err *e)
{
    if (rc == NY_ERR && e && !e->msg[0])
        ny_err_set(e, NY_ERR, "out of memory");
    return rc;
}

int tri_lexrows_load_csv(tri_lexrows *l, const char *path, ny_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ny_err_set(e, NY_ENOTFOUND, "%s: cannot open", path);
    csv_reader *r;
    int rc = csv_open(f, &r, e);
    if (rc != NY_OK) {
        fclose(f);
        return rc;
    }
    csv_record rec;
    for (int header = 1;; header = 0) {
        if ((rc = csv_next(r, &rec, e)) != NY_OK) {
            char why[sizeof e->msg] = "bad record";
            if (e)
                memcpy(why, e->msg, sizeof why);
            rc = ny_err_set(e, rc, "%s:%ld: %s", path, rec.line, why);
            break;
        }
        if (rec.n == 0)
            break;
        if (header) {
            static const char *const cols[] = {"term",     "kind",   "intent",
                                               "category", "weight", "action"};
            for (size_t i = 0; i < 6 && rc == NY_OK; i++)
                if (rec.n != 6 || strcmp(rec.fields[i], cols[i]) != 0)
                    rc = ny_err_set(e, NY_EINVAL,
                                    "%s:1: expected header term,kind,intent,category,weight,action",
                                    path);
            if (rc != NY_OK)
                break;
            continue;
        }
        char *end;
        double w = rec.n == 6 ? strtod(rec.fields[4], &end) : 0;
        if (rec.n != 6 || *end || !(w > 0)) {
            rc = ny_err_set(e, NY_EINVAL, "%s:%ld: expected 6 fields and a positive weight", path,
                            rec.line);
            break;
        }
        store_lexeme x = {0, rec.fields[0], rec.fields[1], rec.fields[2], rec.fields[3],
                          w, rec.fields[5]};
        if (tri_lexrows_add(l, &x) != NY_OK) {
            rc = ny_err_set(e, NY_ERR, "out of memory");
            break;
        }
    }
    csv_close(r);
    fclose(f);
    return rc;
}
