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

/* Per-target sliding-minute limits: at most per_minute requests to one
 * target in any 60 s. Bounded by the number of distinct targets. */
typedef struct outbox_rates outbox_rates;

/* NY_OK or NY_ERR (memory). */
int outbox_rates_new(unsigned per_minute, outbox_rates **out, ny_err *e);
void outbox_rates_free(outbox_rates *r);

/* Takes k request slots (clamped to per_minute) of target at now_ms: 1 when
 * taken; 0 when the minute is full, with *next_ms the earliest time they
 * will be free; NY_ERR when memory runs out. */
int outbox_rates_take(outbox_rates *r, const char *target, unsigned k, int64_t now_ms,
                      int64_t *next_ms);

#endif
