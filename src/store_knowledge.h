/* store_knowledge.h - editing the assistant's knowledge (policies and
 * lexicon) one entry at a time, and the signature that tells a server its
 * in-memory data is stale.
 *
 * The CRUD entries complement store_policy_put_batch/store_lexicon_put_batch
 * (inserts) with reads, updates and deletes by key. Every write here also
 * bumps the cache version of what it changed ("policies" or "lexicon") in
 * the same statement sequence, so a caller that wraps it in a transaction
 * commits both or neither. Storage code over store_sql: the same SQL on
 * both engines. */
#ifndef NY_STORE_KNOWLEDGE_H
#define NY_STORE_KNOWLEDGE_H

#include <stddef.h>

#include "store.h"

/* Bytes of a data signature with its NUL. */
#define STORE_SIGNATURE_MAX 200

/* A short text that changes whenever the data a server builds its triage
 * engine and group table from changes: the cache versions of "lexicon",
 * "policies" and "groups" and the count and largest id of chat groups,
 * staff and units. */
int store_data_signature(store *s, char *out, size_t n, ny_err *e);

/* The policy with this code; fn is called once. NY_ENOTFOUND if absent. */
int store_policy_get(store *s, const char *code, int (*fn)(void *ctx, const store_policy *p),
                     void *ctx, ny_err *e);

/* Inserts p (NY_EEXIST when its code is taken), replaces every field of the
 * policy with p's code (NY_ENOTFOUND when there is none), or deletes it
 * (NY_ENOTFOUND). Each bumps the "policies" cache version. */
int store_policy_insert(store *s, const store_policy *p, ny_err *e);
int store_policy_update(store *s, const store_policy *p, ny_err *e);
int store_policy_delete(store *s, const char *code, ny_err *e);

/* The same for lexicon entries, keyed by term; each bumps "lexicon". */
int store_lexeme_get(store *s, const char *term, int (*fn)(void *ctx, const store_lexeme *l),
                     void *ctx, ny_err *e);
int store_lexeme_insert(store *s, const store_lexeme *l, ny_err *e);
int store_lexeme_update(store *s, const store_lexeme *l, ny_err *e);
int store_lexeme_delete(store *s, const char *term, ny_err *e);

#endif
