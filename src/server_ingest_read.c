/* server_ingest_read.c - reading a POST /api/v1/messages body without
 * building a jansson tree.
 *
 * Nearly every ingest body has one of two shapes: a message {id, group,
 * sender:{id, name}, text, time} or {"messages":[…]} of them. json_loadb
 * built a tree of it that cost more than triaging the message (about 37 k
 * instructions for a 300-byte message: a hash table per object, a copy per
 * string). server_ingest_read reads exactly those shapes in one pass,
 * unescaping the strings into one buffer and checking every field as
 * server_ingest.c's check_message does (the group known, the time valid,
 * ids of 1..128 bytes, ...). It reads nothing else: a body with more
 * (mentions, another key, a key twice, a number that is not a plain
 * integer, a NUL in a string, more than SERVER_MAX_BATCH messages,
 * anything malformed) or a field that check_message would refuse is left
 * to jansson and the full check, which give the answer and its reason. The
 * reader thus only ever decides on the way to acceptance: every refusal,
 * and every body outside the two shapes, takes the jansson path as
 * before. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

/* The reader: input from p to end, unescaped strings written at o. */
typedef struct rd {
    const char *p, *end;
    char *o;
} rd;

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* Skips white space and c: 1 when c was next. */
static int eat(rd *r, char c)
{
    ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 1;
    }
    return 0;
}

/* The next character after white space, or 0 at the end. */
static char peek(rd *r)
{
    ws(r);
    return r->p < r->end ? *r->p : 0;
}

static int hex4(rd *r, unsigned *v)
{
    if (r->end - r->p < 4)
        return 0;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *r->p++;
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return 0;
        *v = *v << 4 | d;
    }
    return 1;
}

/* Writes code point u (not NUL, not a surrogate) as UTF-8 at r->o. */
static void put_utf8(rd *r, unsigned u)
{
    unsigned char *o = (unsigned char *)r->o;
    if (u < 0x80) {
        *o++ = (unsigned char)u;
    } else if (u < 0x800) {
        *o++ = (unsigned char)(0xC0 | u >> 6);
        *o++ = (unsigned char)(0x80 | (u & 0x3F));
    } else if (u < 0x10000) {
        *o++ = (unsigned char)(0xE0 | u >> 12);
        *o++ = (unsigned char)(0x80 | (u >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (u & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | u >> 18);
        *o++ = (unsigned char)(0x80 | (u >> 12 & 0x3F));
        *o++ = (unsigned char)(0x80 | (u >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (u & 0x3F));
    }
    r->o = (char *)o;
}

/* The \u escape whose "\u" was read: a code point, or a surrogate pair. */
static int escape_u(rd *r)
{
    unsigned u, lo;
    if (!hex4(r, &u) || u == 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return 0; /* NUL would cut the string; a lone low surrogate is invalid */
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
            return 0;
        r->p += 2;
        if (!hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return 0;
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
    }
    put_utf8(r, u);
    return 1;
}

/* The bytes of w (in memory order, little-endian) that end or escape a
 * string or are control characters: the high bit of each byte below 0x20,
 * '"' or '\\' - exact for the first such byte, which is all the copy below
 * needs (a borrow only runs upward from a byte that matched). */
static uint64_t special8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
    return (((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash)) &
           high;
}

/* A string (after white space), unescaped and NUL-terminated at r->o: *s
 * and its length *n. The body is valid UTF-8 (checked before). Plain bytes
 * are copied eight at a time up to the first byte that needs a look: the
 * output never runs ahead of the input, so eight bytes written where fewer
 * count stay inside the buffer. */
static int str(rd *r, const char **s, size_t *n)
{
    if (!eat(r, '"'))
        return 0;
    const char *p = r->p, *end = r->end;
    char *o = r->o, *start = o;
    for (;;) {
        while (end - p >= 8) {
            uint64_t w, m;
            memcpy(&w, p, 8);
            memcpy(o, &w, 8);
            m = special8(w);
            if (m) {
                unsigned k = (unsigned)__builtin_ctzll(m) / 8;
                o += k;
                p += k;
                break;
            }
            o += 8;
            p += 8;
        }
        if (p == end)
            return 0;
        unsigned char c = (unsigned char)*p++;
        if (c == '"') {
            *s = start;
            *n = (size_t)(o - start);
            *o++ = '\0';
            r->p = p;
            r->o = o;
            return 1;
        }
        if (c < 0x20) /* control characters must be escaped */
            return 0;
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (p == end)
            return 0;
        c = (unsigned char)*p++;
        if (c == 'u') {
            r->p = p;
            r->o = o;
            if (!escape_u(r))
                return 0;
            p = r->p;
            o = r->o;
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = strchr(from, c);
        if (!c || !k)
            return 0;
        *o++ = to[k - from];
    }
}

/* A plain integer (no fraction or exponent, at most 18 digits). */
static int integer(rd *r, long long *v)
{
    ws(r);
    const char *p = r->p;
    int neg = p < r->end && *p == '-';
    p += neg;
    if (p == r->end || *p < '0' || *p > '9' ||
        (*p == '0' && p + 1 < r->end && p[1] >= '0' && p[1] <= '9'))
        return 0;
    long long x = 0;
    int digits = 0;
    for (; p < r->end && *p >= '0' && *p <= '9'; p++)
        if (++digits > 18)
            return 0;
        else
            x = x * 10 + (*p - '0');
    if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return 0;
    *v = neg ? -x : x;
    r->p = p;
    return 1;
}

/* An id as check_message takes it: a string of 1..128 bytes, or an integer
 * written as text (into the string buffer). */
static const char *id(rd *r)
{
    const char *s;
    size_t n;
    long long v;
    if (peek(r) == '"')
        return str(r, &s, &n) && n > 0 && n <= 128 ? s : NULL;
    if (!integer(r, &v))
        return NULL;
    char text[24], *out = r->o;
    int tn = snprintf(text, sizeof text, "%lld", v);
    memcpy(out, text, (size_t)tn + 1);
    r->o += tn + 1;
    return out;
}

/* The sender object {id, name}, each once. */
static int sender(rd *r, server_msg *m)
{
    int seen = 0;
    if (!eat(r, '{'))
        return 0;
    do {
        const char *k;
        size_t kn, n;
        if (!str(r, &k, &kn) || !eat(r, ':'))
            return 0;
        if (kn == 2 && memcmp(k, "id", 2) == 0 && !(seen & 1)) {
            seen |= 1;
            if (!(m->sender_id = id(r)))
                return 0;
        } else if (kn == 4 && memcmp(k, "name", 4) == 0 && !(seen & 2)) {
            seen |= 2;
            if (!str(r, &m->sender_name, &n))
                return 0;
        } else {
            return 0;
        }
    } while (eat(r, ','));
    return seen == 3 && eat(r, '}');
}

/* The index of message key k (kn bytes) among id, group, sender, text and
 * time, or -1: by its length first, then one comparison. */
static int key_index(const char *k, size_t kn)
{
    switch (kn) {
    case 2:
        return memcmp(k, "id", 2) == 0 ? 0 : -1;
    case 4:
        return memcmp(k, "text", 4) == 0 ? 3 : memcmp(k, "time", 4) == 0 ? 4 : -1;
    case 5:
        return memcmp(k, "group", 5) == 0 ? 1 : -1;
    case 6:
        return memcmp(k, "sender", 6) == 0 ? 2 : -1;
    default:
        return -1;
    }
}

/* The value of key k of a message into m; bit is set in *seen. */
static int field(const server *sv, rd *r, const char *k, size_t kn, server_msg *m, int *seen)
{
    int i = key_index(k, kn);
    if (i < 0 || (*seen & 1 << i))
        return 0; /* another key (mentions, ...) or a repeated one */
    *seen |= 1 << i;
    const char *s;
    size_t n;
    long long t;
    switch (i) {
    case 0:
        return (m->id = id(r)) != NULL;
    case 1:
        return str(r, &s, &n) && n > 0 && (m->g = server_group_find(sv, s)) != NULL;
    case 2:
        return sender(r, m);
    case 3:
        return str(r, &m->text, &m->text_len) && m->text_len > 0;
    default:
        if (peek(r) == '"')
            return str(r, &s, &n) && server_parse_time(s, &m->sent_at) == NY_OK;
        if (!integer(r, &t) || t < 0 || t > 253402300799LL)
            return 0;
        m->sent_at = t;
        return 1;
    }
}

/* The members of a message object whose "{" was read. */
static int message(const server *sv, rd *r, server_msg *m)
{
    int seen = 0;
    memset(m, 0, sizeof *m);
    do {
        const char *k;
        size_t kn;
        if (!str(r, &k, &kn) || !eat(r, ':') || !field(sv, r, k, kn, m, &seen))
            return 0;
    } while (eat(r, ','));
    return seen == 31 && eat(r, '}');
}

int server_ingest_read(const server *sv, const char *body, size_t len, server_msg **out,
                       size_t *count, char **strs)
{
    *out = NULL;
    *count = 0;
    *strs = NULL;
    /* every string's text and NUL fit in its quoted form, and an integer
     * id's text and NUL in its digits and the delimiter after them */
    char *buf = malloc(len + 2);
    size_t cap = 1, n = 0;
    server_msg *ms = malloc(sizeof *ms);
    rd r = {body, body + len, buf};
    int ok = buf && ms && eat(&r, '{');
    if (ok) {
        rd first = r;
        const char *k;
        size_t kn;
        if (str(&r, &k, &kn) && strcmp(k, "messages") == 0 && eat(&r, ':')) {
            ok = eat(&r, '[') && !eat(&r, ']');
            while (ok) {
                if (n == cap) {
                    server_msg *more =
                        cap < SERVER_MAX_BATCH ? realloc(ms, 2 * cap * sizeof *ms) : NULL;
                    if (!more) { /* more than SERVER_MAX_BATCH, or memory */
                        ok = 0;
                        break;
                    }
                    ms = more;
                    cap *= 2;
                }
                ok = eat(&r, '{') && message(sv, &r, &ms[n++]);
                if (!ok || !eat(&r, ','))
                    break;
            }
            ok = ok && n <= SERVER_MAX_BATCH && eat(&r, ']') && eat(&r, '}');
        } else {
            r = first; /* one message: read it from its first key again */
            r.o = buf;
            ok = message(sv, &r, &ms[0]);
            n = 1;
        }
        ws(&r);
        ok = ok && r.p == r.end;
    }
    if (!ok) {
        free(buf);
        free(ms);
        return 0;
    }
    *out = ms;
    *count = n;
    *strs = buf;
    return 1;
}
