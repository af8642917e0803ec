/* export.c - CSV export of one kind of master data (export_csv, import.h).
 *
 * Walks the kind's store iterator and writes each row with the CSV writer
 * (csv.h) in the column order of its import_table, so that what export writes
 * is exactly what import reads: numbers in their shortest round-trip form,
 * an absent parent code as an empty field, and (unless full phones are asked
 * for) phone numbers masked with domain_mask_phone. A file is written under a
 * temporary name in the target's directory and renamed over the target only
 * after it has been flushed and synced, so readers never see half a file. */
#include "import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "domain.h"
#include "import_table.h"

typedef struct exporter {
    const import_table *t;
    FILE *out;
    const char *name; /* the file as named in messages */
    int full_phones;
    long rows;
    char num[IMPORT_MAX_COLS][32]; /* formatted numbers of the current row */
    char *masked;                  /* masked phone of the current row */
    size_t masked_cap;
    ny_err sub; /* what the CSV writer reports */
    ny_err *e;  /* the caller's */
} exporter;

/* The shortest %g form of v that reads back as v. */
static void format_real(double v, char *out, size_t outsz)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, outsz, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static const char *mask(exporter *x, const char *phone)
{
    size_t need = strlen(phone) + 1;
    if (need > x->masked_cap) {
        char *p = realloc(x->masked, need);
        if (!p)
            return NULL;
        x->masked = p;
        x->masked_cap = need;
    }
    domain_mask_phone(phone, x->masked, x->masked_cap);
    return x->masked;
}

static int write_row(void *ctx, const void *row)
{
    exporter *x = ctx;
    const char *fields[IMPORT_MAX_COLS];
    for (size_t i = 0; i < x->t->ncols; i++) {
        const import_col *c = &x->t->cols[i];
        const char *at = (const char *)row + c->offset;
        if (c->type == IMPORT_INT) {
            snprintf(x->num[i], sizeof x->num[i], "%d", *(const int *)(const void *)at);
            fields[i] = x->num[i];
        } else if (c->type == IMPORT_REAL) {
            format_real(*(const double *)(const void *)at, x->num[i], sizeof x->num[i]);
            fields[i] = x->num[i];
        } else {
            const char *text = *(const char *const *)(const void *)at;
            if (!text)
                text = ""; /* a district's parent code */
            else if (c->type == IMPORT_PHONE && !x->full_phones && !(text = mask(x, text)))
                return ny_err_set(x->e, NY_ERR, "out of memory");
            fields[i] = text;
        }
    }
    if (csv_write(x->out, fields, x->t->ncols, &x->sub) != NY_OK)
        return ny_err_set(x->e, x->sub.code, "%s: %s", x->name, x->sub.msg);
    x->rows++;
    return NY_OK;
}

static int write_all(exporter *x, store *s)
{
    const char *header[IMPORT_MAX_COLS];
    for (size_t i = 0; i < x->t->ncols; i++)
        header[i] = x->t->cols[i].name;
    int rc = csv_write(x->out, header, x->t->ncols, &x->sub);
    if (rc != NY_OK)
        return ny_err_set(x->e, rc, "%s: %s", x->name, x->sub.msg);
    rc = x->t->each(s, write_row, x, x->e);
    if (rc == NY_OK && fflush(x->out) != 0)
        rc = ny_err_set(x->e, NY_ERR, "%s: write error: %s", x->name, strerror(errno));
    return rc;
}

/* Creates a new file beside path, named in tmp (tmpsz bytes), open in *out. */
static int open_temp(const char *path, char *tmp, size_t tmpsz, FILE **out, ny_err *e)
{
    /* mkstemp wants the name to end in six 'X' */
    int n = snprintf(tmp, tmpsz, "%s.tmp-", path);
    if (n < 0 || (size_t)n + 7 > tmpsz)
        return ny_err_set(e, NY_EINVAL, "%s: path too long", path);
    memset(tmp + n, 'X', 6);
    tmp[n + 6] = '\0';
    int fd = mkstemp(tmp);
    *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (*out)
        return NY_OK;
    int rc = ny_err_set(e, NY_ERR, "%s: cannot create: %s", path, strerror(errno));
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    return rc;
}

int export_csv(store *s, const char *kind, const char *path, int full_phones, long *rows_out,
               ny_err *e)
{
    ny_err_clear(e);
    *rows_out = 0;
    exporter x = {.t = import_table_find(kind), .full_phones = full_phones, .e = e};
    if (!x.t)
        return ny_err_set(e, NY_EINVAL, "unknown kind '%s'", kind ? kind : "");
    if (strcmp(path, "-") == 0) {
        x.out = stdout;
        x.name = "<stdout>";
        int rc = write_all(&x, s);
        free(x.masked);
        if (rc == NY_OK)
            *rows_out = x.rows;
        return rc;
    }
    char tmp[4096];
    int rc = open_temp(path, tmp, sizeof tmp, &x.out, e);
    if (rc != NY_OK)
        return rc;
    x.name = path;
    rc = write_all(&x, s);
    free(x.masked);
    if (rc == NY_OK && fsync(fileno(x.out)) != 0)
        rc = ny_err_set(e, NY_ERR, "%s: cannot sync: %s", path, strerror(errno));
    if (fclose(x.out) != 0 && rc == NY_OK)
        rc = ny_err_set(e, NY_ERR, "%s: write error: %s", path, strerror(errno));
    if (rc == NY_OK && rename(tmp, path) != 0)
        rc = ny_err_set(e, NY_ERR, "%s: cannot rename %s: %s", path, tmp, strerror(errno));
    if (rc != NY_OK) {
        unlink(tmp);
        return rc;
    }
    *rows_out = x.rows;
    return NY_OK;
}
