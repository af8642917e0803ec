/* norm.h - text normalisation for keyword matching and classification.
 *
 * norm_open() builds, once per process, an immutable lookup table from every
 * Basic Multilingual Plane code point to its normalised UTF-8 replacement:
 * NFKC with case folding (full-width ＡＢＣ１２３ → abc123), traditional →
 * simplified Chinese at character level (電梯壞了 → 电梯坏了), default
 * ignorable code points (U+200B, U+FEFF, ...) and control characters removed,
 * every kind of white space mapped to one ASCII space. norm_text() then
 * normalises a text in one table-driven pass and additionally collapses runs
 * of white space to one space and trims both ends.
 *
 * Invalid UTF-8 is repaired by replacing each offending byte with U+FFFD
 * (EF BF BD); with NORM_STRICT it is rejected instead. Code points outside the
 * BMP are case-folded and NFKC-mapped through utf8proc (mathematical letters,
 * enclosed alphanumerics) and otherwise passed through (emoji); they are not
 * converted traditional → simplified. A combining mark is composed with the
 * character before it (e + U+0301 → é) by a local utf8proc fallback.
 *
 * A norm_table is immutable after norm_open and may be shared by any number
 * of threads; a norm_buf belongs to one thread at a time. */
#ifndef NY_NORM_H
#define NY_NORM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct norm_table norm_table;

/* The output of norm_text, owned by the caller and reused across calls (its
 * memory grows to the largest text seen). Initialise with NORM_BUF_INIT (or
 * zero it) and release with norm_buf_free. */
typedef struct norm_buf {
    char *s;       /* normalised text, NUL-terminated; valid UTF-8 */
    size_t len;    /* bytes in s, not counting the NUL */
    uint32_t *map; /* with NORM_OFFSETS: for normalised byte i, map[2*i] and
                      map[2*i+1] are the start and end byte offsets in the
                      input of the input characters that produced it */
    size_t cap;    /* allocated bytes of s (internal) */
    size_t mapcap; /* allocated entries of map (internal) */
} norm_buf;

#define NORM_BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, NULL, 0, 0                                                                        \
    }

/* norm_text flags. */
enum {
    NORM_STRICT = 1u,  /* reject invalid UTF-8 with NY_EINVAL instead of repairing */
    NORM_OFFSETS = 2u, /* fill norm_buf.map (inputs up to 4 GiB - 1 bytes) */
};

/* Builds the normalisation table (a few milliseconds, about 300 KiB) and
 * stores it in *out. Returns NY_OK, or NY_ERR when memory or utf8proc fails.
 * Release with norm_close. */
int norm_open(norm_table **out, ny_err *e);

/* Frees a table from norm_open; NULL is ignored. No thread may still use it. */
void norm_close(norm_table *t);

/* Normalises len bytes at in (NUL bytes included, they are control
 * characters and removed) into out, replacing its previous content. flags is
 * a combination of NORM_STRICT and NORM_OFFSETS. Returns NY_OK; NY_EINVAL
 * under NORM_STRICT when the input is not valid UTF-8 (e->index and the
 * message give the byte offset of the first bad byte) or with NORM_OFFSETS
 * when len does not fit the 32-bit map; NY_ERR when memory runs out. On
 * failure out->len is 0. The result is idempotent: normalising it again
 * yields the same bytes. */
int norm_text(const norm_table *t, const char *in, size_t len, unsigned flags, norm_buf *out,
              ny_err *e);

/* Maps the normalised byte range [start, end) of b (filled with NORM_OFFSETS,
 * start < end <= b->len) to the input byte range [*ostart, *oend) that
 * produced it, so a match can be shown at its original position. */
void norm_span(const norm_buf *b, size_t start, size_t end, size_t *ostart, size_t *oend);

/* Releases the memory of b and resets it to NORM_BUF_INIT; NULL is ignored. */
void norm_buf_free(norm_buf *b);

/* Decodes the UTF-8 character at in[i] (i < len) into *cp and returns its
 * length (1-4), or returns 0 when the byte at i does not start a valid,
 * complete character (stray continuation byte, overlong form, surrogate,
 * above U+10FFFF, truncated). Shared by the normaliser and the matcher. */
static inline __attribute__((always_inline)) size_t norm_utf8_decode(const uint8_t *in, size_t i,
                                                                     size_t len, int32_t *cp)
{
    uint8_t c = in[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xF0) == 0xE0) { /* first: most characters of Chinese text */
        if (i + 2 < len && (in[i + 1] & 0xC0) == 0x80 && (in[i + 2] & 0xC0) == 0x80) {
            int32_t v = ((int32_t)(c & 0x0F) << 12) | ((int32_t)(in[i + 1] & 0x3F) << 6) |
                        (in[i + 2] & 0x3F);
            if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))
                return 0;
            *cp = v;
            return 3;
        }
        return 0;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        if (i + 1 < len && (in[i + 1] & 0xC0) == 0x80) {
            *cp = ((int32_t)(c & 0x1F) << 6) | (in[i + 1] & 0x3F);
            return 2;
        }
        return 0;
    }
    if (c >= 0xF0 && c <= 0xF4 && i + 3 < len && (in[i + 1] & 0xC0) == 0x80 &&
        (in[i + 2] & 0xC0) == 0x80 && (in[i + 3] & 0xC0) == 0x80) {
        int32_t v = ((int32_t)(c & 0x07) << 18) | ((int32_t)(in[i + 1] & 0x3F) << 12) |
                    ((int32_t)(in[i + 2] & 0x3F) << 6) | (in[i + 3] & 0x3F);
        if (v < 0x10000 || v > 0x10FFFF)
            return 0;
        *cp = v;
        return 4;
    }
    return 0;
}

/* The traditional → simplified character pairs compiled into the program
 * (src/norm_t2s.c, generated by scripts/gen_norm_t2s.sh from OpenCC's
 * TSCharacters dictionary): a UTF-8 string of concatenated pairs, each a
 * traditional character followed by its simplified form; *len receives its
 * length in bytes. Used by norm_open; exposed for the tests. */
const char *norm_t2s_pairs(size_t *len);

#endif
