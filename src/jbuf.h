/* jbuf.h - a growable byte buffer for writing JSON text by hand where
 * building a jansson tree only to print it would cost more than the work it
 * describes (the ingest answer and stored triage result, the access log).
 * Appends never fail on their own: running out of memory is remembered and
 * reported once by jbuf_finish. */
#ifndef NY_JBUF_H
#define NY_JBUF_H

#include <stddef.h>

#include "err.h"

typedef struct jbuf {
    char *p;
    size_t len, cap;
    int oom;
} jbuf;

/* Makes room for n more bytes at once, so that the appends that follow do
 * not grow the buffer step by step (running out of memory is remembered as
 * for an append). */
void jbuf_reserve(jbuf *b, size_t n);
/* Appends n bytes of s as they are. */
void jbuf_add(jbuf *b, const char *s, size_t n);
/* Appends the NUL-terminated s as it is. */
void jbuf_puts(jbuf *b, const char *s);
/* Appends s as a JSON string literal (quotes, backslash and control
 * characters escaped, UTF-8 kept), or null when s is NULL. */
void jbuf_str(jbuf *b, const char *s);
/* Appends the n bytes at s (no NUL among them) as a JSON string literal,
 * escaped as jbuf_str does. */
void jbuf_strn(jbuf *b, const char *s, size_t n);
/* Appends v as a JSON number. */
void jbuf_int(jbuf *b, long long v);
/* Hands the text over: *out (NUL-terminated, the caller frees it) and *len
 * (may be NULL). NY_OK, or NY_ERR "out of memory" when an append failed (the
 * buffer is freed). */
int jbuf_finish(jbuf *b, char **out, size_t *len, ny_err *e);
/* Frees an unfinished buffer. */
void jbuf_free(jbuf *b);

#endif
