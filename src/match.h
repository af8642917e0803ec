/* match.h - the keyword matcher of the assistant: a lexicon of literal terms
 * and gap patterns compiled into one immutable automaton, scanned in one pass.
 *
 * An entry is a literal term (电梯坏) or a pattern of a head and a tail with a
 * gap of at most `gap` characters between them (电梯…坏 matches 电梯又坏了).
 * Entries are matched against normalised text (norm_text): the parts given to
 * match_compile must already be normalised, match_compile_terms normalises
 * them itself. A scan reports every occurrence of every entry with its byte
 * range in the scanned text: overlapping and nested terms are all reported
 * (电梯, 电梯坏 and 梯坏 in 电梯坏了), and a match always covers whole UTF-8
 * characters; a byte of the text that is not part of a valid character
 * matches nothing and separates what is on either side. A pattern is reported once per occurrence
 * of its tail that follows an occurrence of its head, with at most `gap` characters between the end
 * of the head and the start of the tail and none of them ending a sentence (。 ! ? ！ ？ or a line
 * break: 电梯好了。门坏了 is no 电梯…坏); the hit runs from the start of the nearest such head to
 * the end of the tail.
 *
 * Hits come in order of their end offset. Offsets are byte offsets into the
 * scanned (normalised) text; norm_span maps them back to the original text.
 *
 * A compiled match_set is immutable and reference counted: any number of
 * threads may scan it at once. A match_holder publishes the current set for
 * hot reload: readers acquire it with a reference, a writer swaps in a new
 * set, and the old one is freed when its last reader releases it. */
#ifndef NY_MATCH_H
#define NY_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "norm.h"

/* The gap of patterns written as 电梯…坏 in match_compile_terms. */
#define MATCH_GAP_DEFAULT 8u
/* The largest gap an entry may ask for. */
#define MATCH_GAP_MAX 64u

/* One lexicon entry for match_compile. */
typedef struct match_entry {
    const char *head; /* the literal term, or the part before the gap: valid,
                         normalised, non-empty UTF-8 */
    const char *tail; /* NULL for a literal term; else the part after the gap */
    unsigned gap;     /* patterns: at most this many characters between head
                         and tail (0 .. MATCH_GAP_MAX); ignored for literals */
} match_entry;

/* One occurrence: entry index (position in the array given to the compile
 * call) and byte range [start, end) in the scanned text. */
typedef struct match_hit {
    uint32_t entry;
    uint32_t start;
    uint32_t end;
} match_hit;

/* The hits of a scan, owned by the caller and reused across scans (one
 * thread at a time). Initialise with MATCH_HITS_INIT or zero it; release with
 * match_hits_free. The fields after n are internal. */
typedef struct match_hits {
    match_hit *v; /* hits in order of end offset */
    size_t n;     /* number of hits */
    size_t cap;
    void *log; /* recent pattern heads (internal scratch) */
    size_t loglo, logn, logcap;
    uint32_t *stamp; /* per part: the last tail walk that saw it (internal) */
    size_t stampcap;
    uint32_t gen;
} match_hits;

#define MATCH_HITS_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0, NULL, 0, 0, 0, NULL, 0, 0                                                      \
    }

typedef struct match_set match_set;
typedef struct match_holder match_holder;

/* Compiles n entries (n may be 0) into a new set with one reference, stored
 * in *out. Returns NY_OK; NY_EINVAL for an entry with a NULL or empty part,
 * invalid UTF-8 or a gap above MATCH_GAP_MAX (e->index names the entry);
 * NY_ERR when memory runs out. */
int match_compile(const match_entry *entries, size_t n, match_set **out, ny_err *e);

/* Compiles lexicon terms as written by people: a term containing a run of
 * "…" (U+2026, so also "……") is a pattern with that run as the gap of
 * MATCH_GAP_DEFAULT characters, anything else a literal. Each part is
 * normalised with nt first (full-width, traditional characters and case do
 * not matter). Entry i of the set is terms[i]. Errors as match_compile; a term
 * that is empty after normalisation is NY_EINVAL. */
int match_compile_terms(const norm_table *nt, const char *const *terms, size_t n, match_set **out,
                        ny_err *e);

/* Adds a reference to m (for another thread or a longer life) and returns
 * m; pair it with one match_release. */
match_set *match_retain(match_set *m);

/* Drops one reference to m and frees it when that was the last; NULL is
 * ignored. Each match_compile*, and each match_holder_acquire, is paired with
 * one match_release. */
void match_release(match_set *m);

/* Number of entries m was compiled from. */
size_t match_entries(const match_set *m);

/* Scans len bytes of text (normalised UTF-8) and stores all hits in h,
 * replacing its previous content. Returns NY_OK; NY_EINVAL when len exceeds
 * UINT32_MAX; NY_ERR when memory runs out (h->n is then 0). */
int match_scan(const match_set *m, const char *text, size_t len, match_hits *h, ny_err *e);

/* Releases the memory of h and resets it to MATCH_HITS_INIT; NULL is ignored. */
void match_hits_free(match_hits *h);

/* Creates a holder publishing m, taking over the caller's reference to m.
 * Returns NY_OK or NY_ERR (out of memory; m is then released). */
int match_holder_new(match_set *m, match_holder **out, ny_err *e);

/* Returns the current set with a new reference, for a scan or a batch of
 * scans; release it with match_release. Lock-free, callable from any thread. */
match_set *match_holder_acquire(match_holder *h);

/* Publishes next (taking over the caller's reference) in place of the
 * current set, whose holder reference is dropped once no reader can still be
 * acquiring it; readers that hold it keep it until they release it. Swaps
 * from several threads are serialised. Never fails. */
void match_holder_swap(match_holder *h, match_set *next);

/* Frees the holder and drops its reference to the current set; NULL is
 * ignored. No thread may be inside match_holder_acquire or _swap. */
void match_holder_free(match_holder *h);

#endif
