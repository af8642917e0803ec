/* bench_demo.c - how long the demo district takes to generate.
 *
 * Times demo_generate() (demo.h) into a fresh SQLite file under $TMPDIR, once
 * for each message count given on the command line (default: 0, the district
 * alone, and 670000, the real district's year of messages), and prints the
 * seconds and the rows written. The targets are under 10 s without messages
 * and under 60 s with 670,000 in a release build. Usage:
 *     bench_demo [--seed N] [MESSAGES ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"
#include "bench_util.h"
#include "store.h"

/* Removes the database file and the journal files SQLite may leave. */
static void remove_db(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char name[600];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

/* One timed run; returns 0 on success. */
static int run(unsigned long long seed, long messages)
{
    const char *tmp = getenv("TMPDIR");
    char dir[400], path[512];
    snprintf(dir, sizeof dir, "%s/bench_demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/demo.db", dir);
    store *s = NULL;
    ny_err e;
    store_stats st;
    int rc = store_open(path, NULL, &s, &e);
    double t0 = bench_wall_now(), t1 = t0;
    if (rc == NY_OK) {
        demo_opts o = {.seed = seed, .messages = messages};
        rc = demo_generate(s, &o, &e);
        t1 = bench_wall_now();
    }
    if (rc == NY_OK)
        rc = store_stats_get(s, &st, &e);
    store_close(s);
    remove_db(path);
    rmdir(dir);
    if (rc != NY_OK) {
        fprintf(stderr, "bench_demo: %s\n", e.msg);
        return 1;
    }
    printf("demo_generate seed %llu, %ld messages: %.2f s  (%ld households, %ld enterprises, "
           "%ld leads, %ld cases)\n",
           seed, messages, t1 - t0, st.households, st.enterprises, st.leads,
           st.cases_open + st.cases_closed);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long seed = 1;
    long counts[16];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], &end, 10);
            if (*end) {
                fprintf(stderr, "bench_demo: bad seed '%s'\n", argv[i]);
                return 2;
            }
            continue;
        }
        long v = strtol(argv[i], &end, 10);
        if (*end || v < 0 || v > DEMO_MAX_MESSAGES || n == 16) {
            fprintf(stderr, "usage: bench_demo [--seed N] [MESSAGES ...]\n");
            return 2;
        }
        counts[n++] = v;
    }
    if (n == 0) {
        counts[n++] = 0;
        counts[n++] = 670000;
    }
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed |= run(seed, counts[i]);
    return failed;
}
