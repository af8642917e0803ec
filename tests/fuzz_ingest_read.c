/* fuzz_ingest_read.c - libFuzzer harness of the ingest body reader (`make
 * fuzz`, clang with -fsanitize=fuzzer,address,undefined; not part of `make
 * test`).
 *
 * Every input is an ingest body; ingest_diff (tests/ingest_diff.c) runs it
 * through the fast reader and the jansson path and the harness aborts on
 * any difference, so libFuzzer keeps the input that shows it. Reads past
 * the end of a body, leaks and undefined behaviour are caught by the
 * sanitizers. The server (one thread, no delivery) runs over a scratch
 * SQLite database with the few groups of ingest_diff_server; run from the
 * repository root (it reads data/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ingest_diff.h"

static server *sv;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/ny-fuzz-XXXXXX", db[64];
    ny_err e;
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(db, sizeof db, "%s/fuzz.db", dir);
    if (ingest_diff_server(db, &sv, &e) != NY_OK) {
        fprintf(stderr, "fuzz_ingest_read: %s\n", e.msg);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_diff_outcome d;
    if (ingest_diff(sv, (const char *)data, size, &d)) {
        fprintf(stderr, "fuzz_ingest_read: divergence: %s\n", d.why);
        abort();
    }
    return 0;
}
