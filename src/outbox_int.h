/* outbox_int.h - what the files of the outbox module share (outbox_worker.c
 * and outbox_send.c); not for use outside the module. */
#ifndef NY_OUTBOX_INT_H
#define NY_OUTBOX_INT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "robot.h"
#include "store_outbox.h"

/* Builds the HTTP requests of row r at time now_ms: url (size sz) gets the
 * target without its "#sign=" fragment, *b the payloads to POST in order
 * (DingTalk's signed query already appended to each payload's query).
 * NY_EINVAL when the row cannot be sent at all (bad payload, URL or
 * channel: dead-letter it), NY_ERR when memory runs out. */
int outbox_build(const store_outbox_row *r, int64_t now_ms, char *url, size_t sz, robot_batch *b,
                 ny_err *e);

/* Judges the answer of one request: 1 when it was delivered (2xx, and no
 * non-zero "errcode" or "code" in a JSON body, which is how WeCom,
 * DingTalk and Feishu robots refuse), else 0 with the reason in why. */
int outbox_judge(long status, const char *body, size_t len, char *why, size_t sz);

/* Length of a target key in hex digits. */
#define OUTBOX_KEY_LEN 64

/* The key naming the target url in the shared sliding minute
 * (store_outbox_rate_take): the hex SHA-256 of url, so that no access token
 * in a URL is stored twice. */
void outbox_target_key(const char *url, char key[OUTBOX_KEY_LEN + 1]);

/* Entries of the worker's memory of target keys. */
#define OUTBOX_KEY_CACHE 4096

/* The target keys of the URLs sent to lately (one entry per hash of the
 * URL, the last URL with that hash kept), so that a target's SHA-256 is
 * computed once rather than for every row sent to it. Zeroed to start. */
typedef struct outbox_keys {
    uint64_t hash[OUTBOX_KEY_CACHE];
    char *url[OUTBOX_KEY_CACHE]; /* owned copies; NULL = empty */
    char key[OUTBOX_KEY_CACHE][OUTBOX_KEY_LEN + 1];
} outbox_keys;

/* outbox_target_key of url, remembered in c; the key lives until the next
 * call. */
const char *outbox_key_of(outbox_keys *c, const char *url);

/* Frees the copies c holds. */
void outbox_keys_free(outbox_keys *c);

/* ---- hosts that could not be reached ----------------------------------------
 * When a request fails before reaching its target (the name does not resolve,
 * the connection is refused), the worker notes the URL's host as down for
 * the first retry's ceiling; rows for that host claimed meanwhile fail at
 * once with the remembered reason instead of each trying again (with the
 * demo's unresolvable robots, every row). A later success clears it. */

/* Longest host ("name:port") remembered; longer ones are never noted. */
#define OUTBOX_HOST_MAX 128
/* Hosts remembered at once; the oldest note is replaced. */
#define OUTBOX_DOWN_SLOTS 16

typedef struct outbox_down {
    char host[OUTBOX_HOST_MAX];
    int64_t until_ms; /* 0: free */
    char why[160];
} outbox_down;

typedef struct outbox_downs {
    outbox_down v[OUTBOX_DOWN_SLOTS];
    unsigned next;
} outbox_downs;

/* Notes the host of url as down until until_ms (Unix ms) because of why. */
void outbox_down_note(outbox_downs *d, const char *url, int64_t until_ms, const char *why);

/* Forgets a note of the host of url (it answered). */
void outbox_down_clear(outbox_downs *d, const char *url);

/* 1 when the host of url is noted as down at now_ms, with the reason for
 * the row's error in why (size sz); else 0 (an expired note is dropped). */
int outbox_down_check(outbox_downs *d, const char *url, int64_t now_ms, char *why, size_t sz);

#endif
