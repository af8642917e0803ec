/* bench_ingest.c - load generator and storage ceiling for the server's
 * ingest benchmarks, driven by bench/ingest.sh.
 *
 * The HTTP modes keep N keep-alive connections to a server on loopback, each
 * with one request outstanding (a closed loop: a connection sends its next
 * request when the answer to the last one is complete), on one epoll thread
 * with non-blocking sockets, so the client costs a few microseconds a
 * request. Every answer must be 200; anything else is counted as an error.
 * Latency is measured per request from the first byte written to the last
 * byte read.
 *
 *   bench_ingest get PORT CONNS SECONDS PATH
 *   bench_ingest post PORT CONNS SECONDS BATCH KEY SECRET GROUPS TEXTS [REQUESTS]
 *       signed POST /api/v1/messages with BATCH new messages each (ids unique
 *       per run, groups and texts taken in turn from the two files, one a line);
 *       with REQUESTS (and SECONDS 0) exactly that many requests, the same
 *       sequence every run, for instruction counts (valgrind) of the server
 *   bench_ingest replay PORT CONNS SRC_DB KEY SECRET [SECONDS [REQUESTS [BATCH]]]
 *       posts every message of SRC_DB (the demo's year) in batches of 1,000
 *       (or BATCH; 1 posts each message alone, the single-message form),
 *       time order, and reports the total time; with SECONDS (> 0) it stops
 *       after that long, with REQUESTS (> 0, and SECONDS 0) after that many
 *       batches from the start of the year (the same sequence every run):
 *       the district's own mix, about 4% of messages opening a lead
 *   bench_ingest store DB BATCH ROWS GROUPS TEXTS [effects]
 *   bench_ingest store DB BATCH ROWS --from SRC_DB [effects]
 *       the storage ceiling: the same rows through store_message_ingest_batch
 *       in-process - the texts of the file spread over the groups in turn,
 *       or with --from the first ROWS messages of SRC_DB (the demo's year,
 *       as replay posts them: the replay's own mix and its ceiling) - each
 *       triaged in its group beforehand and stored with the triage JSON the
 *       server stores; each batch in a transaction and a savepoint as the
 *       group commit does, and only the commits are timed;
 *       with "effects", each message that opens a lead also gets in the same
 *       transaction what the server writes for it (server_effects.c): its
 *       case with the log entry and reporter (case_from_lead), the lead with
 *       the lead (store_lead_open_batch) and the staff notifications in
 *       one outbox statement (outbox_enqueue_batch) - the storage ceiling of
 *       ingest with its effects
 *
 * Each mode prints one line of key=value pairs for the script to read;
 * the HTTP modes include client_cpu_s, the CPU this process used (building
 * and signing bodies, the sockets), which shares the machine's cores with
 * the server.
 * The HTTP client is in bench_ingest_http.c, the replay source and the
 * storage ceiling in bench_ingest_store.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_ingest.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: see the comment at the top of bench/bench_ingest.c; "
                        "bench/ingest.sh runs every mode\n");
        return 2;
    }
    const char *mode = argv[1];
    load ld = {0};
    if (strcmp(mode, "get") == 0 && argc == 6) {
        double took = run_load(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), next_get, argv[5], &ld);
        report("get", &ld, took, 1);
    } else if (strcmp(mode, "post") == 0 && (argc == 10 || argc == 11)) {
        poster p = {.key = argv[6], .secret = argv[7], .batch = atol(argv[5])};
        p.max = argc == 11 ? atol(argv[10]) : 0;
        p.groups = read_lines(argv[8]);
        p.texts = read_lines(argv[9]);
        snprintf(p.run, sizeof p.run, "b%lld", (long long)time(NULL));
        double took = run_load(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), next_post, &p, &ld);
        report(p.batch > 1 ? "post_batch" : "post", &ld, took, p.batch);
        free(p.body.p);
    } else if (strcmp(mode, "replay") == 0 && argc >= 7 && argc <= 10) {
        poster p = {.key = argv[5], .secret = argv[6], .batch = REPLAY_BATCH};
        if (argc == 10 && (p.batch = atol(argv[9])) < 1)
            die("replay needs a BATCH of at least 1");
        long total = load_replay(argv[4], &p);
        p.max = argc >= 9 ? atol(argv[8]) : 0;
        double cpu0 = client_cpu(); /* the bodies are read before the run */
        double took = run_load(atoi(argv[2]), atoi(argv[3]), argc >= 8 ? atof(argv[7]) : 0,
                               next_replay, &p, &ld);
        /* every request started was answered; each batch but the year's last is full */
        long sent = p.next_body == p.nbodies ? total : (long)p.next_body * p.batch;
        qsort(ld.lat, ld.nlat, sizeof *ld.lat, bench_cmp_double);
        printf("mode=replay messages=%ld requests=%ld errors=%ld seconds=%.2f msgs_per_s=%.0f "
               "req_per_s=%.0f p50_ms=%.2f p99_ms=%.2f client_cpu_s=%.2f\n",
               sent, ld.done, ld.errors, took, (double)sent / took, (double)ld.done / took,
               ld.nlat ? ld.lat[ld.nlat / 2] : 0,
               ld.nlat ? ld.lat[(size_t)((double)ld.nlat * 0.99)] : 0, client_cpu() - cpu0);
        free(ld.lat);
        for (size_t i = 0; i < p.nbodies; i++)
            free(p.bodies[i]);
        free(p.bodies);
    } else if (strcmp(mode, "store") == 0 && (argc == 7 || argc == 8)) {
        int effects = argc == 8 && strcmp(argv[7], "effects") == 0;
        if (argc == 8 && !effects)
            die("the last argument of store mode can only be \"effects\"");
        if (atol(argv[3]) < 1 || atol(argv[4]) < 1)
            die("store mode needs BATCH and ROWS of at least 1");
        int from = strcmp(argv[5], "--from") == 0;
        return store_ceiling(argv[2], atol(argv[3]), atol(argv[4]), from ? NULL : argv[5],
                             from ? NULL : argv[6], from ? argv[6] : NULL, effects);
    } else {
        fprintf(stderr, "bench_ingest: unknown mode or wrong arguments\n");
        return 2;
    }
    return ld.errors ? 1 : 0;
}
