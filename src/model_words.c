/* model_words.c - dictionary words as features of the short category model
 * (model.h).
 *
 * The lexicon's terms help the category model as features of their own
 * ("term=<term>"), and a larger word list helps more: data/words.txt holds
 * the common words of a general Chinese dictionary (one a line, 2 to
 * MODEL_WORD_MAX code points; its source is in data/models/README.md). Every
 * word of the list that occurs in a normalised text, overlapping ones
 * included, becomes the feature "word=<word>" with the small value
 * MODEL_WORD_VALUE, the same for training (`nuanyang train`, `eval`, through
 * the lexicon of cli_model.c) and for the assistant's triage. The list is kept
 * as an open-addressing set of 64-bit hashes that also marks the beginnings
 * of words; a scan extends a hash code point by code point from every start
 * while the text so far begins a word, so a text of n code points costs
 * little more than n probes and allocates nothing. */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A slot holds a hash with its two low bits replaced by flags (0: empty):
 * the text so far is a word of the list, and it begins a longer one, so a
 * scan stops extending as soon as no word can follow. */
#define IS_WORD 1u
#define IS_PREFIX 2u
#define FLAGS 3u

struct model_words {
    uint64_t *slot;
    size_t mask, used; /* used: slots taken, at most half of them */
};

/* FNV-1a over bytes, 64 bits for the set and 32 bits for the feature id
 * (the id of "word=<word>", as model_feature_id would hash it) */
#define H64_INIT 1469598103934665603ull
#define H64_PRIME 1099511628211ull
#define H32_PRIME 16777619u

static uint32_t word_prefix_id(void)
{
    uint32_t h = 2166136261u;
    for (const char *p = "word="; *p; p++)
        h = (h ^ (unsigned char)*p) * H32_PRIME;
    return h;
}

/* The flags of the text with hash h, 0 when it is neither a word of the list
 * nor the beginning of one. */
static unsigned set_flags(const model_words *w, uint64_t h)
{
    uint64_t key = h | FLAGS;
    for (size_t j = (h >> 2) & w->mask;; j = (j + 1) & w->mask) {
        if (!w->slot[j])
            return 0;
        if ((w->slot[j] | FLAGS) == key)
            return (unsigned)(w->slot[j] & FLAGS);
    }
}

static void set_add(model_words *w, uint64_t h, unsigned flags)
{
    uint64_t key = h | FLAGS;
    size_t j = (h >> 2) & w->mask;
    while (w->slot[j] && (w->slot[j] | FLAGS) != key)
        j = (j + 1) & w->mask;
    w->used += !w->slot[j];
    w->slot[j] = (w->slot[j] ? w->slot[j] : key & ~(uint64_t)FLAGS) | flags;
}

static size_t next_cp(const char *t, size_t len, size_t i)
{
    for (i++; i < len && ((unsigned char)t[i] & 0xC0) == 0x80; i++)
        ;
    return i;
}

static size_t count_cps(const char *t, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)t[i] & 0xC0) != 0x80;
    return n;
}

/* Adds the word t (len bytes) and marks every shorter beginning of it of two
 * code points or more as a prefix. */
static void add_word(model_words *w, const char *t, size_t len)
{
    uint64_t h = H64_INIT;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t end = next_cp(t, len, i);
        for (; i < end; i++)
            h = (h ^ (unsigned char)t[i]) * H64_PRIME;
        if (++k >= 2)
            set_add(w, h, i == len ? IS_WORD : IS_PREFIX);
    }
}

int model_words_load(const char *path, model_words **out, ny_err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return ny_err_set(e, errno == ENOENT ? NY_ENOTFOUND : NY_ERR, "%s: %s", path,
                          strerror(errno));
    model_words *w = calloc(1, sizeof *w);
    size_t cap = 1u << 18;
    if (w)
        w->slot = calloc(cap, sizeof *w->slot);
    if (!w || !w->slot) {
        fclose(f);
        model_words_free(w);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    w->mask = cap - 1;
    char line[256];
    size_t lineno = 0;
    int rc = NY_OK;
    while (rc == NY_OK && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\r\n"), cps = count_cps(line, len);
        if (len == 0)
            continue;
        if (cps < 2 || cps > MODEL_WORD_MAX)
            rc = ny_err_set(e, NY_EINVAL, "%s:%zu: a word of 2 to %d code points expected", path,
                            lineno, MODEL_WORD_MAX);
        else if (w->used + MODEL_WORD_MAX > cap / 2)
            rc = ny_err_set(e, NY_EINVAL, "%s:%zu: too many words", path, lineno);
        else
            add_word(w, line, len);
    }
    if (rc == NY_OK && ferror(f))
        rc = ny_err_set(e, NY_ERR, "%s: read error", path);
    fclose(f);
    if (rc != NY_OK) {
        model_words_free(w);
        return rc;
    }
    *out = w;
    return NY_OK;
}

void model_words_free(model_words *w)
{
    if (!w)
        return;
    free(w->slot);
    free(w);
}

size_t model_words_features(const model_words *w, const char *text, size_t len, model_extra *out,
                            size_t n, size_t cap)
{
    if (!w)
        return n;
    uint32_t pre = word_prefix_id();
    for (size_t i = 0; i < len && n < cap; i = next_cp(text, len, i)) {
        uint64_t h = H64_INIT;
        uint32_t id = pre;
        size_t j = i;
        for (int k = 1; k <= MODEL_WORD_MAX && j < len && n < cap; k++) {
            size_t end = next_cp(text, len, j);
            for (; j < end; j++) {
                h = (h ^ (unsigned char)text[j]) * H64_PRIME;
                id = (id ^ (unsigned char)text[j]) * H32_PRIME;
            }
            if (k < 2)
                continue;
            unsigned f = set_flags(w, h);
            if (f & IS_WORD)
                out[n++] = (model_extra){id ? id : 1, MODEL_WORD_VALUE};
            if (!(f & IS_PREFIX))
                break;
        }
    }
    return n;
}
