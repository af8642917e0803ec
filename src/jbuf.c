/* jbuf.c - JSON text written by hand into a growable buffer.
 *
 * The server's hottest answers are small fixed shapes: the ingest answer
 * (one triage result per message, already stored as text), the stored
 * triage result and the access log line. Printing them through a jansson
 * tree cost a third of an ingest request's CPU on the request thread
 * (docs/BENCHMARKS.md, "Ingest server"); jbuf appends the same JSON
 * directly. Only strings need care: '"', '\\' and control characters are
 * escaped, everything else (valid UTF-8, checked where the text entered)
 * is copied. */
#include "jbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for more bytes plus a NUL; 0 when out of memory. */
static int need(jbuf *b, size_t more)
{
    if (b->oom)
        return 0;
    if (b->len + more + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void jbuf_reserve(jbuf *b, size_t n)
{
    need(b, n);
}

void jbuf_add(jbuf *b, const char *s, size_t n)
{
    if (!need(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void jbuf_puts(jbuf *b, const char *s)
{
    jbuf_add(b, s, strlen(s));
}

void jbuf_str(jbuf *b, const char *s)
{
    if (!s)
        jbuf_add(b, "null", 4);
    else
        jbuf_strn(b, s, strlen(s));
}

/* 1 when one of the 8 bytes of w needs escaping: below 0x20, '"' or '\\'
 * (each test is exact for every byte, UTF-8 continuation bytes included). */
static int any_special(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
    return ((((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash)) &
            high) != 0;
}

/* The first byte of the n at s that needs escaping, or s + n. */
static const char *first_special(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    uint64_t w;
    while (end - p >= 8 && (memcpy(&w, p, 8), !any_special(w)))
        p += 8;
    while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
        p++;
    return p;
}

void jbuf_strn(jbuf *b, const char *s, size_t n)
{
    if (first_special(s, n) == s + n) { /* the usual string: one copy */
        if (!need(b, n + 2))
            return;
        char *o = b->p + b->len;
        o[0] = '"';
        memcpy(o + 1, s, n);
        o[n + 1] = '"';
        o[n + 2] = '\0';
        b->len += n + 2;
        return;
    }
    jbuf_add(b, "\"", 1);
    const char *run = s, *end = s + n; /* bytes copied as they are, up to p */
    for (const char *p = s;; p++) {
        uint64_t w;
        while (end - p >= 8 && (memcpy(&w, p, 8), !any_special(w)))
            p += 8; /* eight plain bytes at a time */
        unsigned char c = p < end ? (unsigned char)*p : 0;
        if (p < end && c >= 0x20 && c != '"' && c != '\\')
            continue;
        jbuf_add(b, run, (size_t)(p - run));
        if (p == end)
            break;
        char esc[8];
        switch (c) {
        case '"':
        case '\\':
            esc[0] = '\\';
            esc[1] = (char)c;
            jbuf_add(b, esc, 2);
            break;
        case '\n':
            jbuf_add(b, "\\n", 2);
            break;
        case '\r':
            jbuf_add(b, "\\r", 2);
            break;
        case '\t':
            jbuf_add(b, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jbuf_add(b, esc, 6);
            break;
        }
        run = p + 1;
    }
    jbuf_add(b, "\"", 1);
}

void jbuf_int(jbuf *b, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", v);
    jbuf_add(b, num, (size_t)n);
}

int jbuf_finish(jbuf *b, char **out, size_t *len, ny_err *e)
{
    if (!need(b, 0)) {
        jbuf_free(b);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    *out = b->p;
    if (len)
        *len = b->len;
    *b = (jbuf){0};
    return NY_OK;
}

void jbuf_free(jbuf *b)
{
    free(b->p);
    *b = (jbuf){0};
}
