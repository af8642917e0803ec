/* bench_ingest.h - the parts of bench_ingest (bench/ingest.sh's load
 * generator and storage ceiling) shared between its files: the HTTP client
 * (bench_ingest_http.c: a growable buffer, the closed-loop load, GET and
 * signed POST requests) and the storage side (bench_ingest_store.c: the
 * demo year read for replay, the in-process storage ceiling). main() is in
 * bench_ingest.c, which documents every mode. Errors end the program with a
 * message (die): a benchmark has no one to hand them to. */
#ifndef NY_BENCH_INGEST_H
#define NY_BENCH_INGEST_H

#include <stddef.h>

#include "bench_util.h"

#define REPLAY_BATCH 1000 /* messages per replayed request unless told */

/* Prints "bench_ingest: what" to stderr and exits with status 1. */
void die(const char *what) __attribute__((noreturn));

/* ---- growable byte buffer (bench_ingest_http.c) ---- */

/* A byte buffer, always NUL-terminated once something was added. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

/* Makes room for more bytes (and the NUL) after b->len. */
void buf_need(buf *b, size_t more);

/* Appends the n bytes of s. */
void buf_add(buf *b, const char *s, size_t n);

/* Appends the formatted text. */
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s (NUL-terminated) as a JSON string literal. */
void buf_json_str(buf *b, const char *s);

/* The non-empty lines of the file at path (line ends removed); dies when
 * it cannot be read or has none. */
texts read_lines(const char *path);

/* ---- the closed-loop HTTP client (bench_ingest_http.c) ---- */

/* Makes the next request into out (whole HTTP request); 0 when there is no
 * more work. */
typedef int (*next_fn)(void *ctx, buf *out);

/* What a load run measured: each request's latency in ms, the requests
 * answered and those not answered 200. */
typedef struct load {
    double *lat;
    size_t nlat, cap;
    long errors, done;
    int printed_error;
} load;

/* Runs the closed loop on nconn keep-alive connections to 127.0.0.1:port
 * until next says there is no more work or seconds (> 0) have passed;
 * returns the wall time taken. */
double run_load(int port, int nconn, double seconds, next_fn next, void *ctx, load *ld);

/* The CPU time (user and system) this process has used so far, seconds:
 * the load generator's own share of the machine. */
double client_cpu(void);

/* Prints the line mode=… requests=… req_per_s=… p50_ms=… p99_ms=…
 * client_cpu_s=… of ld (per_request messages in each request) and frees
 * its latencies. */
void report(const char *mode, load *ld, double took, long per_request);

/* next_fn of GET requests of the path ctx. */
int next_get(void *ctx, buf *out);

/* A signed POST /api/v1/messages source: new messages (next_post) or the
 * prepared bodies of a replay (next_replay). */
typedef struct poster {
    const char *key, *secret;
    texts groups, texts;
    long batch, seq, max; /* max: requests to send, 0 for no limit */
    buf body;
    char run[24];
    /* replay: prepared bodies */
    char **bodies;
    size_t nbodies, next_body;
} poster;

/* next_fn of p (ctx): batch new messages per request, ids unique per run,
 * groups and texts in turn; at most max requests when max > 0. */
int next_post(void *ctx, buf *out);

/* next_fn of p (ctx): its prepared bodies in order, at most max. */
int next_replay(void *ctx, buf *out);

/* ---- the storage side (bench_ingest_store.c) ---- */

/* Reads every message of the database db (the demo's year) into p's
 * bodies, p->batch (at least 1) a body in time order, a batch of one as the
 * single-message form; returns the message count. */
long load_replay(const char *db, poster *p);

/* The storage ceiling of the store mode (bench_ingest.c describes it);
 * prints its line and returns 0. */
int store_ceiling(const char *db, long batch, long rows, const char *groups_file,
                  const char *texts_file, const char *src_db, int effects);

#endif
