/* store_notify.h - notifications between the nodes that share a database.
 *
 * Several `nuanyang serve` nodes may share one PostgreSQL database; what one
 * of them announces live (a lead, a case event on GET /api/v1/stream) must
 * reach the clients connected to the others. PostgreSQL's LISTEN/NOTIFY
 * carries it: a node sends a payload on a channel, every connection that
 * listens to the channel receives it once (after the sender's transaction,
 * if any, commits). SQLite serves a single node and has no such channel:
 * store_notify_available() is 0 there and the other calls answer
 * NY_ECONFLICT. Payloads are text of at most STORE_NOTIFY_MAX bytes. */
#ifndef NY_STORE_NOTIFY_H
#define NY_STORE_NOTIFY_H

#include "store.h"

/* PostgreSQL's limit on a payload, less a margin. */
#define STORE_NOTIFY_MAX 7900

/* 1 when the engine carries notifications between nodes (PostgreSQL). */
int store_notify_available(store *s);

/* Sends payload (≤ STORE_NOTIFY_MAX bytes) on channel (lower-case letters,
 * digits and '_'). Outside a transaction it is delivered at once, inside
 * one on commit. NY_EINVAL for a bad channel or payload. */
int store_notify(store *s, const char *channel, const char *payload, ny_err *e);

/* Makes this handle receive the payloads sent on channel, from every
 * handle including its own. Call again after store_notify_wait reported
 * NY_EUNAVAIL: a lost connection is re-made without its subscriptions. */
int store_listen(store *s, const char *channel, ny_err *e);

/* Waits up to timeout_ms for payloads on the channels this handle listens
 * to, or for wake_fd (-1 for none) to become readable, and calls fn for
 * each payload received (fn's non-NY_OK return stops and is returned).
 * NY_OK also when the time ran out or wake_fd woke it (the caller reads
 * wake_fd); NY_EUNAVAIL when the connection was lost. */
int store_notify_wait(store *s, int wake_fd, int timeout_ms,
                      int (*fn)(void *ctx, const char *payload), void *ctx, ny_err *e);

#endif
