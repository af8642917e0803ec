/* import.c - CSV import: header matching, validation and one transaction.
 *
 * import_csv (import.h) streams a file through the CSV reader (csv.h), maps
 * the header's columns onto the kind's table (import_table.h), checks every
 * row with import_table_fill, then checks what needs more than the row: keys
 * repeated within the file (a hash map from key to first line), and unit
 * references, looked up once per distinct code through store_unit_get and
 * cached. Rows are written through the kind's store_*_put_batch in batches of
 * IMPORT_BATCH inside one transaction, so a file is all or nothing; a
 * batch's failing element maps back to its line. Units are held until the end
 * of the file, because a unit's parent may come after it: parents are then
 * resolved against the file and the database, and the units are written in
 * level order (district, street, community, grid) so that every parent is in
 * place before its children. Field texts live in an arena that is emptied
 * after each batch. */
#include "import.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "domain.h"
#include "import_table.h"

#define IMPORT_BATCH 1000

/* ---- arena: bump allocation, freed all at once ---------------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

typedef struct arena {
    chunk *head;
} arena;

static void *arena_alloc(arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void arena_free(arena *a)
{
    while (a->head) {
        chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ---- map: byte-string keys to longs (open addressing) --------------------- */

typedef struct slot {
    const char *key; /* NULL: empty */
    size_t len;
    long val;
} slot;

typedef struct map {
    slot *slots;
    size_t cap, n; /* cap is 0 or a power of two */
    arena keys;
} map;

static slot *map_slot(slot *slots, size_t cap, const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].key && (slots[i].len != len || memcmp(slots[i].key, key, len) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* 1 and *val if key is in m, else 0. */
static int map_get(const map *m, const char *key, size_t len, long *val)
{
    if (!m->cap)
        return 0;
    const slot *s = map_slot(m->slots, m->cap, key, len);
    if (s->key)
        *val = s->val;
    return s->key != NULL;
}

/* Sets key to val (copying key). NY_ERR when out of memory. */
static int map_put(map *m, const char *key, size_t len, long val, ny_err *e)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return ny_err_set(e, NY_ERR, "out of memory");
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                *map_slot(slots, cap, m->slots[i].key, m->slots[i].len) = m->slots[i];
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    slot *s = map_slot(m->slots, m->cap, key, len);
    if (!s->key) {
        char *copy = arena_alloc(&m->keys, len + 1);
        if (!copy)
            return ny_err_set(e, NY_ERR, "out of memory");
        memcpy(copy, key, len);
        *s = (slot){copy, len, 0};
        m->n++;
    }
    s->val = val;
    return NY_OK;
}

static void map_free(map *m)
{
    free(m->slots);
    arena_free(&m->keys);
}

/* ---- the import ----------------------------------------------------------- */

/* Where a buffered row came from: its line and its field texts. */
typedef struct row_ref {
    long line;
    char **fields; /* in table column order, in the text arena */
} row_ref;

typedef struct importer {
    store *s;
    const import_table *t;
    const char *name; /* the file as named in messages */
    csv_reader *csv;
    size_t pos[IMPORT_MAX_COLS]; /* file column of each table column */
    int col_at[IMPORT_MAX_COLS]; /* table column of each file column */
    int have_header;
    arena text; /* field texts of the buffered rows */
    char *rows; /* buffered rows, t->row_size bytes each */
    row_ref *refs;
    size_t n, cap;
    map keys;  /* unique key -> line it first appeared on */
    map units; /* unit code -> level 0..3, or -1 when the database lacks it */
    long written;
    ny_err sub; /* what the module's callees report */
    ny_err *e;  /* the caller's */
} importer;

/* Reports "FILE:LINE: column: reason" (or "FILE:LINE: reason" when col is
 * NULL) with code. */
__attribute__((format(printf, 5, 6))) static int fail(importer *im, int code, long line,
                                                      const char *col, const char *fmt, ...)
{
    char reason[448];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (col)
        return ny_err_set(im->e, code, "%s:%ld: %s: %s", im->name, line, col, reason);
    return ny_err_set(im->e, code, "%s:%ld: %s", im->name, line, reason);
}

/* The next record that is not a blank line (rec->n == 0 at the end). */
static int next_record(importer *im, csv_record *rec)
{
    do {
        int rc = csv_next(im->csv, rec, &im->sub);
        if (rc == NY_ERR)
            return ny_err_set(im->e, rc, "%s: %s", im->name, im->sub.msg);
        if (rc != NY_OK) {
            char label[32];
            long i = im->sub.index;
            if (im->have_header && i >= 0 && i < (long)im->t->ncols)
                return fail(im, rc, rec->line, im->t->cols[im->col_at[i]].name, "%s", im->sub.msg);
            snprintf(label, sizeof label, "field %ld", i + 1);
            return fail(im, rc, rec->line, i >= 0 ? label : NULL, "%s", im->sub.msg);
        }
    } while (rec->n == 1 && rec->lens[0] == 0);
    return NY_OK;
}

static void column_list(const import_table *t, char *out, size_t outsz)
{
    size_t off = 0;
    for (size_t i = 0; i < t->ncols && off < outsz; i++)
        off += (size_t)snprintf(out + off, outsz - off, "%s%s", i ? "," : "", t->cols[i].name);
}

static int find_column(const import_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int read_header(importer *im)
{
    const import_table *t = im->t;
    char expected[256];
    column_list(t, expected, sizeof expected);
    csv_record rec;
    int rc = next_record(im, &rec);
    if (rc != NY_OK)
        return rc;
    if (rec.n == 0)
        return fail(im, NY_EINVAL, 1, NULL, "empty file, expected the header row %s", expected);
    int seen[IMPORT_MAX_COLS] = {0};
    for (size_t i = 0; i < rec.n; i++) {
        const char *name = rec.fields[i];
        int c = find_column(t, name);
        if (c < 0)
            return fail(im, NY_EINVAL, rec.line, *name ? name : "(empty)",
                        "unknown column (expected %s)", expected);
        if (seen[c])
            return fail(im, NY_EINVAL, rec.line, name, "duplicate column");
        seen[c] = 1;
        im->pos[c] = i;
        im->col_at[i] = c;
    }
    for (size_t c = 0; c < t->ncols; c++)
        if (!seen[c])
            return fail(im, NY_EINVAL, rec.line, t->cols[c].name, "missing column (expected %s)",
                        expected);
    im->have_header = 1;
    return NY_OK;
}

static int got_unit(void *ctx, const store_unit *u)
{
    *(int *)ctx = domain_level(u->level);
    return NY_OK;
}

/* Checks that code names a unit of level want (-1 = any level), in the file
 * (units only) or the database. */
static int check_ref(importer *im, const char *code, int want, long line, const char *col)
{
    long cached;
    int level = -1;
    size_t len = strlen(code);
    if (map_get(&im->units, code, len, &cached)) {
        level = (int)cached;
    } else {
        int rc = store_unit_get(im->s, code, got_unit, &level, &im->sub);
        if (rc != NY_OK && rc != NY_ENOTFOUND)
            return fail(im, rc, line, col, "%s", im->sub.msg);
        if (map_put(&im->units, code, len, level, im->e) != NY_OK)
            return NY_ERR;
    }
    int parent = im->t->ref_level == IMPORT_REF_PARENT;
    const char *what = parent ? "parent unit" : "unit";
    if (level < 0)
        return fail(im, NY_ENOTFOUND, line, col, "unknown %s '%s'",
                    !parent && want >= 0 ? domain_levels[want] : what, code);
    if (want >= 0 && level != want)
        return fail(im, NY_EINVAL, line, col, "%s '%s' is a %s, expected a %s", what, code,
                    domain_levels[level], domain_levels[want]);
    return NY_OK;
}

/* Records the row's unique key, refusing one seen before in the file. A
 * two-column key is the two texts joined by a NUL byte. */
static int check_key(importer *im, char *const *f, long line)
{
    const import_table *t = im->t;
    int k0 = t->key[0], k1 = t->key[1], named = k1 >= 0 ? k1 : k0;
    const char *key = f[k0];
    size_t len = strlen(f[k0]);
    if (k1 >= 0) {
        size_t len1 = strlen(f[k1]);
        char *joined = arena_alloc(&im->text, len + 1 + len1);
        if (!joined)
            return ny_err_set(im->e, NY_ERR, "out of memory");
        memcpy(joined, f[k0], len + 1);
        memcpy(joined + len + 1, f[k1], len1);
        key = joined;
        len += 1 + len1;
    }
    long first;
    if (map_get(&im->keys, key, len, &first))
        return fail(im, NY_EEXIST, line, t->cols[named].name, "duplicate of line %ld", first);
    return map_put(&im->keys, key, len, line, im->e);
}

/* Writes buffered rows from..from+n-1 in one batch. */
static int put_rows(importer *im, size_t from, size_t n)
{
    const import_table *t = im->t;
    if (n == 0)
        return NY_OK;
    int rc = t->put(im->s, im->rows + from * t->row_size, n, &im->sub);
    if (rc == NY_OK) {
        im->written += (long)n;
        return NY_OK;
    }
    long i = im->sub.index;
    if (i < 0 || i >= (long)n)
        return ny_err_set(im->e, rc, "%s: %s", im->name, im->sub.msg);
    const row_ref *r = &im->refs[from + (size_t)i];
    int named = t->key[1] >= 0 ? t->key[1] : t->key[0];
    if (rc == NY_EEXIST)
        return fail(im, rc, r->line, t->cols[named].name, "'%s' already exists in the database",
                    r->fields[named]);
    if (rc == NY_ENOTFOUND && t->ref >= 0)
        return fail(im, rc, r->line, t->cols[t->ref].name, "%s", im->sub.msg);
    return fail(im, rc, r->line, NULL, "%s", im->sub.msg);
}

/* Writes the buffered rows of a kind without parent references and empties
 * the buffer. */
static int flush(importer *im)
{
    int rc = put_rows(im, 0, im->n);
    im->n = 0;
    arena_free(&im->text);
    return rc;
}

/* Units only: resolves every parent against the file and the database, then
 * writes the units in level order, keeping each one's line for errors. */
static int finish_units(importer *im)
{
    const store_unit *u = (const store_unit *)(void *)im->rows;
    for (size_t i = 0; i < im->n; i++) {
        if (!u[i].parent_code)
            continue;
        int rc = check_ref(im, u[i].parent_code, domain_level(u[i].level) - 1, im->refs[i].line,
                           im->t->cols[im->t->ref].name);
        if (rc != NY_OK)
            return rc;
    }
    store_unit *sorted = malloc(im->n * sizeof *sorted + 1);
    row_ref *refs = malloc(im->n * sizeof *refs + 1);
    if (!sorted || !refs) {
        free(sorted);
        free(refs);
        return ny_err_set(im->e, NY_ERR, "out of memory");
    }
    size_t k = 0;
    for (int level = 0; level < 4; level++)
        for (size_t i = 0; i < im->n; i++)
            if (domain_level(u[i].level) == level) {
                sorted[k] = u[i];
                refs[k++] = im->refs[i];
            }
    free(im->rows);
    free(im->refs);
    im->rows = (char *)sorted;
    im->refs = refs;
    im->cap = im->n;
    for (size_t from = 0; from < im->n; from += IMPORT_BATCH) {
        int rc = put_rows(im, from, im->n - from < IMPORT_BATCH ? im->n - from : IMPORT_BATCH);
        if (rc != NY_OK)
            return rc;
    }
    return NY_OK;
}

/* Copies the record's fields in table column order into the text arena. */
static char **copy_fields(importer *im, const csv_record *rec)
{
    const import_table *t = im->t;
    size_t size = t->ncols * sizeof(char *);
    for (size_t c = 0; c < t->ncols; c++)
        size += rec->lens[im->pos[c]] + 1;
    char **f = arena_alloc(&im->text, size);
    if (!f)
        return NULL;
    char *p = (char *)(f + t->ncols);
    for (size_t c = 0; c < t->ncols; c++) {
        size_t len = rec->lens[im->pos[c]] + 1;
        memcpy(p, rec->fields[im->pos[c]], len);
        f[c] = p;
        p += len;
    }
    return f;
}

static int add_row(importer *im, const csv_record *rec)
{
    const import_table *t = im->t;
    if (rec->n != t->ncols)
        return fail(im, NY_EINVAL, rec->line, NULL,
                    "wrong number of columns: expected %zu, got %zu", t->ncols, rec->n);
    if (im->n == im->cap) {
        size_t cap = im->cap ? im->cap * 2 : IMPORT_BATCH;
        char *rows = realloc(im->rows, cap * t->row_size);
        if (rows)
            im->rows = rows;
        row_ref *refs = realloc(im->refs, cap * sizeof *refs);
        if (refs)
            im->refs = refs;
        if (!rows || !refs)
            return ny_err_set(im->e, NY_ERR, "out of memory");
        im->cap = cap;
    }
    char **f = copy_fields(im, rec);
    if (!f)
        return ny_err_set(im->e, NY_ERR, "out of memory");
    void *row = im->rows + im->n * t->row_size;
    int col;
    int rc = import_table_fill(t, f, row, &col, &im->sub);
    if (rc != NY_OK)
        return fail(im, rc, rec->line, t->cols[col].name, "%s", im->sub.msg);
    rc = check_key(im, f, rec->line);
    if (rc != NY_OK)
        return rc;
    if (t->ref_level == IMPORT_REF_PARENT) {
        /* the file's own units, for resolving parents at the end */
        const store_unit *u = row;
        rc = map_put(&im->units, u->code, strlen(u->code), domain_level(u->level), im->e);
    } else if (t->ref >= 0) {
        rc = check_ref(im, f[t->ref], t->ref_level, rec->line, t->cols[t->ref].name);
    }
    if (rc != NY_OK)
        return rc;
    im->refs[im->n++] = (row_ref){rec->line, f};
    if (t->ref_level != IMPORT_REF_PARENT && im->n == IMPORT_BATCH)
        return flush(im);
    return NY_OK;
}

/* Reads the rows and writes them in one transaction. */
static int run(importer *im)
{
    int rc = store_begin(im->s, &im->sub);
    if (rc != NY_OK)
        return ny_err_set(im->e, rc, "%s: %s", im->name, im->sub.msg);
    csv_record rec;
    while ((rc = next_record(im, &rec)) == NY_OK && rec.n > 0)
        if ((rc = add_row(im, &rec)) != NY_OK)
            break;
    if (rc == NY_OK)
        rc = im->t->ref_level == IMPORT_REF_PARENT ? finish_units(im) : flush(im);
    if (rc == NY_OK) {
        rc = store_commit(im->s, &im->sub);
        if (rc != NY_OK)
            ny_err_set(im->e, rc, "%s: commit failed: %s", im->name, im->sub.msg);
    }
    if (rc != NY_OK && store_rollback(im->s, &im->sub) != NY_OK && im->e) {
        size_t len = strlen(im->e->msg);
        snprintf(im->e->msg + len, sizeof im->e->msg - len, " (and rollback failed: %s)",
                 im->sub.msg);
    }
    return rc;
}

int import_csv(store *s, const char *kind, const char *path, long *rows_out, ny_err *e)
{
    ny_err_clear(e);
    *rows_out = 0;
    const import_table *t = import_table_find(kind);
    if (!t)
        return ny_err_set(e, NY_EINVAL, "unknown kind '%s'", kind ? kind : "");
    int from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return ny_err_set(e, NY_ERR, "%s: cannot open: %s", path, strerror(errno));
    importer im = {.s = s, .t = t, .name = from_stdin ? "<stdin>" : path, .e = e};
    int rc = csv_open(f, &im.csv, &im.sub);
    if (rc != NY_OK)
        ny_err_set(e, rc, "%s: %s", im.name, im.sub.msg);
    else if ((rc = read_header(&im)) == NY_OK)
        rc = run(&im);
    csv_close(im.csv);
    if (!from_stdin)
        fclose(f);
    arena_free(&im.text);
    free(im.rows);
    free(im.refs);
    map_free(&im.keys);
    map_free(&im.units);
    if (rc == NY_OK)
        *rows_out = im.written;
    return rc;
}
