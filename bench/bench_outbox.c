/* bench_outbox.c - the outbox worker's delivery ceiling on its own: a queue
 * filled beforehand, drained by the worker with no ingest beside it, driven
 * by bench/outbox.sh.
 *
 * The worker (outbox_start) runs in this process exactly as `nuanyang serve`
 * starts it, on its own thread and store handle, against a receiver such as
 * build/bench/bench_sink; the main thread only watches its counters, so a
 * callgrind run with --separate-threads=yes gives the worker's instructions
 * per delivered row without anything else in the count.
 *
 *   bench_outbox fill DB ROWS URL [TARGETS]
 *       queues ROWS generic-webhook rows (the shape of the ingest effects'
 *       rows: a short Chinese text, a group, one mention; priorities 0..3 in
 *       turn) for TARGETS receivers URL/t/0 .. URL/t/(TARGETS-1) (default
 *       1,000, about the demo district's groups and staff), 500 rows a
 *       transaction; prints rows=N seconds=S
 *   bench_outbox drain DB ROWS [SECONDS]
 *       starts the worker (per-target limit 1,000 a minute, the most allowed,
 *       as bench/ingest.sh serves; other options the server's defaults) and
 *       waits until it has delivered ROWS rows or SECONDS (default 120) have
 *       passed, then stops it and prints rows, seconds, rows_per_s and the
 *       worker's counts (sent, failures, deferred) and the queue left.
 *
 * Each mode prints one line of key=value pairs for the script to read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "outbox.h"
#include "store.h"
#include "store_outbox.h"

static int fail(const char *what, const ny_err *e)
{
    fprintf(stderr, "bench_outbox: %s: %s\n", what, e->msg);
    return 1;
}

/* Queues one transaction of n rows, numbered from first. */
static int fill_some(store *s, long first, long n, const char *url, long targets, ny_err *e)
{
    enum { CHUNK = 500 };
    store_outbox_row rows[CHUNK];
    char *payloads[CHUNK] = {0};
    char keys[CHUNK][32];
    store_target t[CHUNK];
    int rc = store_begin(s, e);
    for (long i = 0; i < n && rc == NY_OK; i++) {
        long k = first + i;
        static const char *const mention[] = {"u1"};
        snprintf(keys[i], sizeof keys[i], "b:%ld", k);
        outbox_item it = {.key = keys[i],
                          .kind = k % 2 ? "reply" : "notify",
                          .text =
                              "您好，已收到您反映的小区路灯不亮问题，网格员将尽快上门查看处理。",
                          .mentions = mention,
                          .nmentions = 1,
                          .priority = (int)(k % 4)};
        memset(&t[i], 0, sizeof t[i]);
        snprintf(t[i].channel, sizeof t[i].channel, "webhook");
        snprintf(t[i].target, sizeof t[i].target, "%s/t/%ld", url, k % targets);
        snprintf(t[i].group, sizeof t[i].group, "g%ld", k % targets);
        rc = outbox_row_of(&it, &t[i], (int64_t)time(NULL), &rows[i], &payloads[i], e);
    }
    long inserted = 0;
    if (rc == NY_OK)
        rc = store_outbox_put_batch(s, rows, (size_t)n, &inserted, e);
    for (long i = 0; i < n; i++)
        free(payloads[i]);
    if (rc == NY_OK)
        return store_commit(s, e);
    store_rollback(s, NULL);
    return rc;
}

static int fill(const char *db, long rows, const char *url, long targets)
{
    ny_err e;
    store *s = NULL;
    if (store_open(db, NULL, &s, &e) != NY_OK)
        return fail("open", &e);
    double t0 = bench_wall_now();
    int rc = NY_OK;
    for (long at = 0; at < rows && rc == NY_OK; at += 500)
        rc = fill_some(s, at, rows - at < 500 ? rows - at : 500, url, targets, &e);
    store_close(s);
    if (rc != NY_OK)
        return fail("fill", &e);
    printf("mode=fill rows=%ld targets=%ld seconds=%.2f\n", rows, targets, bench_wall_now() - t0);
    return 0;
}

static int drain(const char *db, long rows, double limit)
{
    ny_err e;
    outbox_worker *w = NULL;
    outbox_opts o = {.per_minute = 1000};
    double t0 = bench_wall_now(), cpu0 = (double)clock() / CLOCKS_PER_SEC;
    if (outbox_start(db, &o, &w, &e) != NY_OK)
        return fail("worker", &e);
    outbox_counts c = {0};
    while (bench_wall_now() - t0 < limit) {
        outbox_counts_get(w, &c);
        if (c.sent + c.failures >= rows)
            break;
        usleep(2000);
    }
    double secs = bench_wall_now() - t0;
    outbox_counts_get(w, &c);
    outbox_stop(w);
    double cpu = (double)clock() / CLOCKS_PER_SEC - cpu0;
    store *s = NULL;
    long waiting = -1, dead = -1;
    if (store_open(db, NULL, &s, &e) != NY_OK ||
        store_outbox_depth(s, &waiting, &dead, &e) != NY_OK)
        fprintf(stderr, "bench_outbox: depth: %s\n", e.msg);
    store_close(s);
    printf("mode=drain rows=%ld seconds=%.3f rows_per_s=%.0f cpu_s=%.2f sent=%ld failures=%ld "
           "deferred=%ld waiting=%ld dead=%ld\n",
           c.sent, secs, (double)c.sent / secs, cpu, c.sent, c.failures, c.deferred, waiting, dead);
    return c.sent >= rows ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && argc <= 6 && strcmp(argv[1], "fill") == 0)
        return fill(argv[2], atol(argv[3]), argv[4], argc == 6 ? atol(argv[5]) : 1000);
    if (argc >= 4 && argc <= 5 && strcmp(argv[1], "drain") == 0)
        return drain(argv[2], atol(argv[3]), argc == 5 ? atof(argv[4]) : 120);
    fprintf(stderr, "usage: bench_outbox fill DB ROWS URL [TARGETS]\n"
                    "       bench_outbox drain DB ROWS [SECONDS]\n");
    return 2;
}
