/* csv.c - the RFC 4180 reader and writer declared in csv.h.
 *
 * CSV import (import.c) reads people's spreadsheets through csv_next and CSV
 * export (export.c) writes them back through csv_write, so the two sides
 * speak exactly one dialect and a file written by export reads back to the
 * same fields. The reader buffers its input itself and keeps the bytes of the
 * current record in one growing buffer, copying runs of ordinary bytes at
 * once (start-up reads the lexicon through it); a record may not exceed
 * CSV_MAX_RECORD bytes or CSV_MAX_FIELDS fields, which also stops a stray
 * opening quote from swallowing a whole file into memory. */
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

#define CSV_MAX_RECORD (1 << 20)
#define CSV_MAX_FIELDS 1024
#define CSV_EOF (-1)
#define CSV_IOERR (-2)

struct csv_reader {
    FILE *f;
    unsigned char in[65536];
    size_t pos, len; /* unread input is in[pos..len) */
    int started;     /* the byte order mark has been looked for */
    long line;       /* physical line of the next unread byte */
    char *buf;       /* field bytes of the current record, each NUL-terminated */
    size_t used, cap;
    size_t nf, fcap; /* fields of the current record and room for them */
    size_t *off;     /* offset of each field in buf */
    size_t *lens;
    char **fields;
};

int csv_open(FILE *f, csv_reader **out, ny_err *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return ny_err_set(e, NY_ERR, "out of memory");
    (*out)->f = f;
    (*out)->line = 1;
    return NY_OK;
}

void csv_close(csv_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->off);
    free(r->lens);
    free(r->fields);
    free(r);
}

/* Makes at least one unread byte available unless the input is exhausted.
 * Returns 1 if a byte is available, 0 at the end, CSV_IOERR on a read error. */
static int fill(csv_reader *r, ny_err *e)
{
    if (r->pos < r->len)
        return 1;
    r->pos = 0;
    r->len = fread(r->in, 1, sizeof r->in, r->f);
    if (r->len == 0 && ferror(r->f)) {
        ny_err_set(e, NY_ERR, "read error: %s", strerror(errno));
        return CSV_IOERR;
    }
    return r->len > 0;
}

/* The next byte (0..255) without consuming it, CSV_EOF or CSV_IOERR. */
static int peek_byte(csv_reader *r, ny_err *e)
{
    int rc = fill(r, e);
    if (rc <= 0)
        return rc == 0 ? CSV_EOF : rc;
    return r->in[r->pos];
}

/* The next byte (0..255), consumed, or CSV_EOF or CSV_IOERR. */
static int next_byte(csv_reader *r, ny_err *e)
{
    int c = peek_byte(r, e);
    if (c >= 0)
        r->pos++;
    return c;
}

/* Makes room for n more bytes in the record buffer, which may not grow
 * past CSV_MAX_RECORD. */
static int reserve(csv_reader *r, size_t n, ny_err *e)
{
    while (r->used + n > r->cap) {
        if (r->cap >= CSV_MAX_RECORD)
            return ny_err_set_at(e, NY_EINVAL, (long)r->nf,
                                 "record longer than %d bytes (is a quote left open?)",
                                 CSV_MAX_RECORD);
        size_t cap = r->cap ? r->cap * 2 : 4096;
        char *p = realloc(r->buf, cap);
        if (!p)
            return ny_err_set(e, NY_ERR, "out of memory");
        r->buf = p;
        r->cap = cap;
    }
    return NY_OK;
}

static int append(csv_reader *r, int c, ny_err *e)
{
    int rc = r->used < r->cap ? NY_OK : reserve(r, 1, e);
    if (rc == NY_OK)
        r->buf[r->used++] = (char)c;
    return rc;
}

/* Appends the n buffered input bytes at r->pos (a run of ordinary bytes)
 * and consumes them. */
static int append_run(csv_reader *r, size_t n, ny_err *e)
{
    int rc = reserve(r, n, e);
    if (rc == NY_OK) {
        memcpy(r->buf + r->used, r->in + r->pos, n);
        r->used += n;
        r->pos += n;
    }
    return rc;
}

/* The length of the run of buffered input bytes at r->pos that a field
 * takes as they are: no quote, CR or LF, and in an unquoted field no comma
 * (the byte loops below see only the bytes that end such runs). */
static size_t ordinary_run(const csv_reader *r, int quoted)
{
    const unsigned char *p = r->in + r->pos, *q = p, *end = r->in + r->len;
    if (quoted)
        while (q < end && *q != '"' && *q != '\n' && *q != '\r')
            q++;
    else
        while (q < end && *q != '"' && *q != '\n' && *q != '\r' && *q != ',')
            q++;
    return (size_t)(q - p);
}

static int begin_field(csv_reader *r, ny_err *e)
{
    if (r->nf == r->fcap) {
        if (r->fcap >= CSV_MAX_FIELDS)
            return ny_err_set_at(e, NY_EINVAL, (long)r->nf, "more than %d fields", CSV_MAX_FIELDS);
        size_t cap = r->fcap ? r->fcap * 2 : 16;
        size_t *off = realloc(r->off, cap * sizeof *off);
        if (off)
            r->off = off;
        size_t *lens = realloc(r->lens, cap * sizeof *lens);
        if (lens)
            r->lens = lens;
        char **fields = realloc(r->fields, cap * sizeof *fields);
        if (fields)
            r->fields = fields;
        if (!off || !lens || !fields)
            return ny_err_set(e, NY_ERR, "out of memory");
        r->fcap = cap;
    }
    r->off[r->nf] = r->used;
    return NY_OK;
}

static int end_field(csv_reader *r, ny_err *e)
{
    r->lens[r->nf] = r->used - r->off[r->nf];
    int rc = append(r, '\0', e);
    if (rc == NY_OK)
        r->nf++;
    return rc;
}

/* Reads the rest of a quoted field (the opening quote is consumed) into the
 * buffer; *c receives the byte after the closing quote. */
static int read_quoted(csv_reader *r, csv_record *rec, int *c, ny_err *e)
{
    long qline = r->line;
    for (;;) {
        size_t run = ordinary_run(r, 1);
        if (run) {
            int rc = append_run(r, run, e);
            if (rc != NY_OK)
                return rc;
        }
        int b = next_byte(r, e);
        if (b == CSV_IOERR)
            return NY_ERR;
        if (b == CSV_EOF) {
            rec->line = qline;
            return ny_err_set_at(e, NY_EINVAL, (long)r->nf, "unterminated quoted field");
        }
        if (b == '"') {
            b = next_byte(r, e);
            if (b != '"') {
                *c = b;
                return b == CSV_IOERR ? NY_ERR : NY_OK;
            }
        } else if (b == '\n') {
            r->line++;
        } else if (b == '\r') {
            int p = peek_byte(r, e);
            if (p == CSV_IOERR)
                return NY_ERR;
            if (p != '\n')
                r->line++;
        }
        int rc = append(r, b, e);
        if (rc != NY_OK)
            return rc;
    }
}

/* Reads an unquoted field whose first byte is *c; *c receives the byte that
 * ended it. */
static int read_plain(csv_reader *r, int *c, ny_err *e)
{
    while (*c != ',' && *c != '\n' && *c != '\r' && *c != CSV_EOF) {
        if (*c == '"')
            return ny_err_set_at(e, NY_EINVAL, (long)r->nf,
                                 "quote inside an unquoted field (quote the whole field)");
        int rc = append(r, *c, e);
        size_t run = rc == NY_OK ? ordinary_run(r, 0) : 0;
        if (run)
            rc = append_run(r, run, e);
        if (rc != NY_OK)
            return rc;
        *c = next_byte(r, e);
        if (*c == CSV_IOERR)
            return NY_ERR;
    }
    return NY_OK;
}

/* Publishes the buffered fields in rec after checking their encoding. */
static int finish_record(csv_reader *r, csv_record *rec, ny_err *e)
{
    for (size_t i = 0; i < r->nf; i++) {
        r->fields[i] = r->buf + r->off[i];
        const char *nul = memchr(r->fields[i], '\0', r->lens[i]);
        if (nul)
            return ny_err_set_at(e, NY_EINVAL, (long)i, "NUL byte at byte %zu",
                                 (size_t)(nul - r->fields[i]) + 1);
        int rc = domain_utf8_check(r->fields[i], r->lens[i], e);
        if (rc != NY_OK) {
            if (e)
                e->index = (long)i;
            return rc;
        }
    }
    rec->n = r->nf;
    rec->fields = r->fields;
    rec->lens = r->lens;
    return NY_OK;
}

static int skip_bom(csv_reader *r, ny_err *e)
{
    r->started = 1;
    /* nothing is consumed yet: fread fills the buffer unless the input is shorter */
    if (fill(r, e) == CSV_IOERR)
        return NY_ERR;
    if (r->len - r->pos >= 3 && memcmp(r->in + r->pos, "\xEF\xBB\xBF", 3) == 0)
        r->pos += 3;
    return NY_OK;
}

int csv_next(csv_reader *r, csv_record *rec, ny_err *e)
{
    rec->n = 0;
    rec->fields = NULL;
    rec->lens = NULL;
    if (!r->started && skip_bom(r, e) != NY_OK)
        return NY_ERR;
    rec->line = r->line;
    r->used = 0;
    r->nf = 0;
    int c = next_byte(r, e);
    if (c == CSV_IOERR)
        return NY_ERR;
    if (c == CSV_EOF)
        return NY_OK;
    for (;;) {
        int rc = begin_field(r, e);
        if (rc == NY_OK && c == '"') {
            rc = read_quoted(r, rec, &c, e);
            if (rc == NY_OK && c != ',' && c != '\n' && c != '\r' && c != CSV_EOF)
                rc = ny_err_set_at(e, NY_EINVAL, (long)r->nf,
                                   "unexpected character after a closing quote");
        } else if (rc == NY_OK) {
            rc = read_plain(r, &c, e);
        }
        if (rc == NY_OK)
            rc = end_field(r, e);
        if (rc != NY_OK)
            return rc;
        if (c != ',')
            break;
        c = next_byte(r, e);
        if (c == CSV_IOERR)
            return NY_ERR;
    }
    if (c == '\r') {
        int p = peek_byte(r, e);
        if (p == CSV_IOERR)
            return NY_ERR;
        if (p == '\n')
            r->pos++;
    }
    if (c != CSV_EOF)
        r->line++;
    return finish_record(r, rec, e);
}

static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

int csv_write(FILE *f, const char *const *fields, size_t n, ny_err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            putc(',', f);
        if (!needs_quotes(fields[i])) {
            fputs(fields[i], f);
            continue;
        }
        putc('"', f);
        for (const char *p = fields[i]; *p; p++) {
            if (*p == '"')
                putc('"', f);
            putc(*p, f);
        }
        putc('"', f);
    }
    putc('\n', f);
    if (ferror(f))
        return ny_err_set(e, NY_ERR, "write error: %s", strerror(errno));
    return NY_OK;
}
