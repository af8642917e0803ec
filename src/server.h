/* server.h - the nuanyang platform server (`nuanyang serve`).
 *
 * An HTTP/1.1 server on libmicrohttpd: a thread pool with one worker per
 * core, each worker holding its own store handle and triage workspace
 * (store handles are single-thread), over one shared triage engine and one
 * immutable table of the database's chat groups read at start. Routes:
 * GET /healthz, GET /metrics (Prometheus text) and POST /api/v1/messages
 * (signed connector ingest, see server_ingest.c). Every error is a JSON
 * body {"error":…,"field":…,"index":…}; each request is logged as one JSON
 * line on stderr. A message is acknowledged only after the transaction that
 * stores it has committed. The triage engine and the chat groups are
 * rebuilt from the database when it changes (within a second for changes
 * made elsewhere, at once for the staff API's own), without a restart. */
#ifndef NY_SERVER_H
#define NY_SERVER_H

#include <stddef.h>

#include "err.h"
#include "outbox.h"

typedef struct server server;

typedef struct server_opts {
    const char *db_uri;       /* the database (SQLite file or PostgreSQL URI) */
    const char *data_dir;     /* the assistant's data directory (lexicon, policies, models) */
    const char *listen_addr;  /* IPv4 address to bind, e.g. "127.0.0.1" */
    unsigned short port;      /* TCP port; 0 = any free port (see server_port) */
    unsigned threads;         /* worker threads; 0 = 16 per core, at most 64 */
    size_t max_body;          /* request body limit in bytes; 0 = 1 MiB */
    unsigned max_connections; /* concurrent connections; 0 = 1024 */
    unsigned timeout_s;       /* idle seconds before a connection is closed; 0 = 30 */
    int test_clock;           /* 1 = POST /api/v1/admin/clock may set the time (tests only) */
    const char *web_dir;      /* the web front end's files (server_static.c); NULL = none */
    outbox_opts outbox;       /* the delivery worker (outbox.h) */
    int no_outbox;            /* 1 = this node queues but does not deliver */
    const char *bot_id;       /* the bot's own sender id in the groups (ignored), or NULL */
    int open311;              /* SERVER_OPEN311_*: who may read the Open311 requests */
    const char *test_start;   /* with test_clock: ISO-8601 time the clock starts at, or NULL */
    int pool_nice;            /* 0..19 added to each request thread's nice value (thread.c) */
} server_opts;

/* server_opts.open311: Open311 reads are public (POST always needs an
 * api_key), need an api_key and cover its unit's subtree, or the Open311
 * routes answer 404. */
enum { SERVER_OPEN311_PUBLIC, SERVER_OPEN311_KEY, SERVER_OPEN311_OFF };

/* Opens the database once to build the triage engine and the group table,
 * then starts listening. Returns NY_OK and the server in *out; NY_EINVAL for
 * a bad option (address, limits); store and triage errors as they give them;
 * NY_EUNAVAIL when the address cannot be bound. */
int server_start(const server_opts *o, server **out, ny_err *e);

/* The TCP port the server listens on. */
unsigned short server_port(const server *sv);

/* Graceful stop: stops accepting connections, waits up to grace_s seconds
 * for requests in flight to finish, stops the workers, closes every store
 * handle and frees the server. NULL is allowed. */
void server_stop(server *sv, unsigned grace_s);

#endif
