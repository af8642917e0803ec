/* ingest_diff.h - the differential check of the ingest body reader, shared
 * by tests/test_ingest_read.c (random bodies under cmocka) and
 * tests/fuzz_ingest_read.c (libFuzzer, `make fuzz`).
 *
 * server_ingest_read (src/server_ingest_read.c) reads the usual ingest
 * bodies without jansson and may only ever decline or agree: for any body,
 * either it falls back, or it yields exactly the messages that the jansson
 * path (json_loadb and check_message, server_ingest_parse without fast)
 * yields; and server_ingest_parse with the fast reader answers every body
 * exactly as without it (the same refusal status and JSON reason naming
 * field and index, or the same messages). */
#ifndef NY_INGEST_DIFF_H
#define NY_INGEST_DIFF_H

#include <stddef.h>

#include "server.h"

/* The external ids of the groups ingest_diff_server creates. */
#define INGEST_DIFF_NGROUPS 5
extern const char *const ingest_diff_groups[INGEST_DIFF_NGROUPS];

/* Creates a small district with the groups ingest_diff_groups in the empty
 * database db_uri and starts a server on it (loopback, any port, one
 * thread, no delivery). NY_OK with *out, or the error in *e. */
int ingest_diff_server(const char *db_uri, server **out, ny_err *e);

/* What ingest_diff saw of one body. */
typedef struct ingest_diff_outcome {
    int status;    /* the reference answer: 0 accepted, else the refusal status */
    int fast;      /* 1 when server_ingest_read accepted the body */
    size_t count;  /* messages accepted */
    char why[512]; /* the divergence, when ingest_diff returns 1 */
} ingest_diff_outcome;

/* Runs body (len bytes, any content) through the reference path, the fast
 * reader alone (on an exact-length copy, so that a read past the end is
 * caught by AddressSanitizer) and server_ingest_parse with the fast
 * reader, and compares. 0 when they agree, 1 with out->why naming the
 * difference. */
int ingest_diff(const server *sv, const char *body, size_t len, ingest_diff_outcome *out);

#endif
