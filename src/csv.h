/* csv.h - streaming RFC 4180 reader and writer.
 *
 * The reader turns a FILE* into records one at a time: fields separated by
 * commas, optionally enclosed in double quotes (a quote inside is written
 * twice; quoted fields may hold commas, CR and LF), records ended by CRLF, LF
 * or a lone CR or by the end of the file. A UTF-8 byte order mark at the start
 * of the input is skipped. Every field is checked to be valid UTF-8 without NUL
 * bytes. Each record knows the physical line it starts on, so callers can
 * point people at the right line of the file. The writer produces the same
 * dialect, quoting only where needed and ending every record with "\n". */
#ifndef NY_CSV_H
#define NY_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

typedef struct csv_reader csv_reader;

/* One record. fields[i] is NUL-terminated UTF-8 of lens[i] bytes. Both arrays
 * belong to the reader and stay valid until the next csv_next or csv_close. */
typedef struct csv_record {
    long line; /* physical line (1-based) the record starts on */
    size_t n;  /* number of fields; 0 means the input is exhausted */
    char **fields;
    size_t *lens;
} csv_record;

/* Creates a reader over f. The reader does not close f. Returns NY_OK, or
 * NY_ERR when out of memory. */
int csv_open(FILE *f, csv_reader **out, ny_err *e);

/* Frees the reader; NULL is allowed. */
void csv_close(csv_reader *r);

/* Reads the next record into *rec (rec->n == 0 at the end of the input). A
 * malformed record gives NY_EINVAL with the reason in e->msg (without a
 * location), rec->line set to the line to report (where the record starts, or
 * for an unterminated quoted field where its quote opened) and e->index set to
 * the 0-based field at fault. Read errors give NY_ERR. After an error the
 * reader must not be used further except to close it. */
int csv_next(csv_reader *r, csv_record *rec, ny_err *e);

/* Writes n fields as one record followed by "\n". A field is quoted when it
 * contains a comma, quote, CR or LF or starts or ends with a space. Returns
 * NY_OK, or NY_ERR when the stream reports a write error. */
int csv_write(FILE *f, const char *const *fields, size_t n, ny_err *e);

#endif
