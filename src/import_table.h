/* import_table.h - the seven tables CSV import and export exchange.
 *
 * Internal to the import module (import.c, export.c). For each kind of CSV
 * file (units, groups, staff, households, enterprises, policies, lexicon) one
 * import_table describes the file's columns in export order, how each column's
 * text is checked, where its value lives in the store.h row struct, which
 * columns form the kind's unique key, which column names a unit that must
 * exist, and how rows are written to and read from the store. import.c and
 * export.c are generic over these descriptions, so a column is declared once
 * for both directions. */
#ifndef NY_IMPORT_TABLE_H
#define NY_IMPORT_TABLE_H

#include <stddef.h>

#include "err.h"
#include "store.h"

/* The most columns any table has. */
#define IMPORT_MAX_COLS 9

typedef enum import_col_type {
    IMPORT_TEXT,  /* one line of text: no line breaks or other control characters */
    IMPORT_LINES, /* text that may hold line breaks and tabs */
    IMPORT_WORD,  /* a key or name without spaces or control characters */
    IMPORT_ENUM,  /* one of list */
    IMPORT_INT,   /* decimal integer min..max, stored as int */
    IMPORT_REAL,  /* decimal number min..max, stored as double */
    IMPORT_PHONE, /* phone number: digits and '-', optionally a leading '+' */
    IMPORT_USCC,  /* unified social credit code with a valid check character */
    IMPORT_UNIT,  /* unit code: 12 or 15 digits */
} import_col_type;

typedef struct import_col {
    const char *name;
    import_col_type type;
    int required;            /* 1: the field must not be empty */
    long min, max;           /* INT, REAL: the range; text types: max characters */
    const char *const *list; /* ENUM: the accepted values, NULL-terminated */
    size_t offset;           /* of the value in the row: const char *, int or double */
} import_col;

/* ref_level of a table whose reference column names the parent unit, which
 * is one level above the row's own and may be a row of the same file. */
#define IMPORT_REF_PARENT (-2)

typedef struct import_table {
    const char *kind;
    const import_col *cols;
    size_t ncols;
    size_t row_size; /* sizeof the store.h row struct */
    int key[2];      /* columns of the unique key; key[1] is -1 for a one-column key */
    int ref;         /* column naming a unit that must exist, or -1 */
    int ref_level;   /* level that unit must have (0..3), -1 any, or IMPORT_REF_PARENT */
    /* Rules across columns of a filled row, or NULL. On a violation returns
     * NY_EINVAL with the column at fault in *col and the reason in e. */
    int (*check)(void *row, int *col, ny_err *e);
    /* The kind's store_*_put_batch (without ids). */
    int (*put)(store *s, const void *rows, size_t n, ny_err *e);
    /* The kind's store iterator, in the order export writes. */
    int (*each)(store *s, int (*fn)(void *ctx, const void *row), void *ctx, ny_err *e);
} import_table;

/* The table of kind, or NULL if kind is not one of import_kinds. */
const import_table *import_table_find(const char *kind);

/* Checks the t->ncols fields (in t's column order) and fills row (t->row_size
 * bytes) with their values; text values point into fields, which must outlive
 * the row. Optional columns left empty become "", an empty optional unit code NULL.
 * On a bad value returns NY_EINVAL with the column at fault in *col and the
 * reason (without a location) in e. */
int import_table_fill(const import_table *t, char *const *fields, void *row, int *col, ny_err *e);

#endif
