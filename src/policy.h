/* policy.h - the policy knowledge base in memory: loading and ranking.
 *
 * A policy_list holds policy rows (store_policy) with their own copies of the
 * strings; it is filled from the default CSV file (data/policies.csv) or from
 * the database (policy_list_add is a store_policies_each callback). A
 * policy_index is built from any array of rows and answers, for one
 * normalised chat message, which policies it is about, best first.
 *
 * Ranking. Title, summary and each keyword are cut into terms: character
 * bigrams inside runs of Chinese characters, a unigram for a run of one
 * Chinese character, and whole runs of ASCII letters and digits. A handful of
 * function-word bigrams (怎么, 可以, 申请, ...) are not indexed. A policy's
 * score is BM25 (k1 = 1.2, b = 0.75) over these terms, with a term counted
 * three times in the title, twice in the keywords and once in the summary,
 * plus a bonus for every keyword of the policy found verbatim in the message
 * (longer keywords weigh more; a keyword shared by several policies is split
 * between them). Keywords of one character only count as unigram terms.
 *
 * A policy is returned only if (1) the message contains one of its keywords
 * verbatim, or shares with its title at least two distinct terms and at least
 * half of the title's distinct terms, and (2) its score is
 * at least POLICY_MIN_SCORE and at least POLICY_REL_SCORE times the best
 * score of the message. The first rule keeps messages that merely share
 * common words with a summary (老人, 孩子, 补贴) from being answered; the
 * second, calibrated on the shared chat-message set, drops weak matches and a
 * long tail of near-misses. Returning nothing is the expected answer for most
 * messages. BM25 scores grow with the logarithm of the number of policies, so
 * the minimum assumes a knowledge base of the default's size (dozens to a few
 * hundred policies); on a handful of rows only keyword hits pass it. A
 * keyword that begins or ends with an ASCII letter or digit only counts where
 * the message does not continue it (12345 is not found in 1234567).
 *
 * Audience: a resident group sees policies for residents and for both, an
 * enterprise group policies for enterprises and for both; without a group
 * kind every policy is eligible.
 *
 * An index is immutable once built and may be shared by any number of
 * threads; policy_rank allocates nothing (it uses about 25 KiB of stack). The index keeps no
 * pointer into the rows it was built from; hits name rows by their position in that array. */
#ifndef NY_POLICY_H
#define NY_POLICY_H

#include <stddef.h>

#include "err.h"
#include "store.h"

/* The most policies one index holds. */
#define POLICY_MAX_DOCS 2048

/* Thresholds of policy_rank (see above and docs/DESIGN.md). */
#define POLICY_MIN_SCORE 8.0
#define POLICY_REL_SCORE 0.5

/* ---- policy rows with owned strings ------------------------------------- */

typedef struct policy_list {
    store_policy *rows; /* n rows; every string is owned by the list, never NULL */
    size_t n;
    size_t cap; /* internal */
} policy_list;

#define POLICY_LIST_INIT                                                                           \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Appends a copy of *p (all ten fields; NULL strings become "") to the list
 * passed as ctx (a policy_list *). Its signature fits store_policies_each, so
 * store_policies_each(s, policy_list_add, &list, e) loads the database's
 * policies. Returns NY_OK, or NY_ERR when memory runs out. */
int policy_list_add(void *ctx, const store_policy *p);

/* Appends the policies of the CSV file at path (the import format: a header
 * naming the nine columns code,title,category,audience,department,summary,
 * eligibility,how_to_apply,keywords in any order, then one policy per
 * record). Every record must have all nine fields, a non-empty code and
 * title, and an audience of resident, enterprise or both. Returns NY_OK;
 * NY_ERR if the file cannot be read or memory runs out; NY_EINVAL for a
 * malformed file, with the message "PATH:LINE: column: reason". On failure
 * the list keeps the rows it had before the call. */
int policy_list_load_csv(policy_list *l, const char *path, ny_err *e);

/* Frees the rows and strings and resets the list to POLICY_LIST_INIT; NULL is
 * allowed. */
void policy_list_free(policy_list *l);

/* ---- the ranking index -------------------------------------------------- */

typedef struct policy_index policy_index;

typedef struct policy_hit {
    size_t policy; /* position of the policy in the array the index was built from */
    double score;
} policy_hit;

/* Builds the index over the n rows at p (n <= POLICY_MAX_DOCS; n == 0 gives
 * an index that never matches). Only title, summary, keywords and audience
 * are read; text is expected in normalised form (simplified Chinese), ASCII
 * letters are folded to lower case. Returns NY_OK and the index in *out;
 * NY_EINVAL (e->index = the row) for a missing title or an audience other
 * than resident, enterprise or both, or for too many rows; NY_ERR when
 * memory runs out. */
int policy_index_build(const store_policy *p, size_t n, policy_index **out, ny_err *e);

/* Frees the index; NULL is allowed. */
void policy_index_free(policy_index *ix);

/* The number of policies in the index. */
size_t policy_index_size(const policy_index *ix);

/* Ranks the policies for the message of len bytes at norm_text (the output
 * of norm_text(): valid UTF-8 expected; other bytes are treated as
 * separators). audience is "resident", "enterprise" or NULL (no filter).
 * Writes up to max hits, best first (equal scores in row order), to hits and
 * their number to *nhits; none is a normal outcome. Returns NY_OK, or
 * NY_EINVAL for another audience or NULL arguments. */
int policy_rank(const policy_index *ix, const char *norm_text, size_t len, const char *audience,
                policy_hit *hits, size_t max, size_t *nhits, ny_err *e);

#endif
