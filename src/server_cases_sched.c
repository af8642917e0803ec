/* server_cases_sched.c - the server's case scheduler thread and its SLA
 * table.
 *
 * One thread per server runs case_sched_pass on its own store handle every
 * 0.2 s at server_now(), so a test that moves the test clock sees
 * reminders and escalations within a fraction of a second. A pass handles
 * at most 256 cases; when it was full the next one follows at once.
 * Several nodes may run schedulers on one database: the pass is safe
 * against that (case_sched.h). Errors are logged as JSON lines on stderr
 * and the thread goes on; a lost database is retried on the next tick. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "case_sched.h"
#include "server_cases.h"

struct server_cases_state {
    sla *sla;
    pthread_t thread;
    int running;
    atomic_int stop;
};

static void *run(void *arg)
{
    server *sv = arg;
    struct server_cases_state *st = sv->cases;
    store *db = NULL;
    struct timespec tick = {0, 200 * 1000 * 1000};
    while (!atomic_load(&st->stop)) {
        ny_err e;
        ny_err_clear(&e);
        if (!db && store_open(sv->o.db_uri, &(store_open_opts){0, 1}, &db, &e) != NY_OK) {
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"case scheduler: %s\"}\n", e.msg);
            db = NULL;
        }
        case_sched_stats s = {0};
        int rc = db ? case_sched_pass(db, st->sla, server_now(sv), 256, &s, &e) : NY_OK;
        if (rc != NY_OK)
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"case scheduler: %s\"}\n", e.msg);
        long done = s.reminded + s.escalated + s.overdue + s.skipped;
        if (done < 256 || rc != NY_OK)
            nanosleep(&tick, NULL);
    }
    store_close(db);
    return NULL;
}

int server_cases_start(server *sv, ny_err *e)
{
    struct server_cases_state *st = calloc(1, sizeof *st);
    if (!st)
        return ny_err_set(e, NY_ERR, "out of memory");
    int rc = sla_load(sv->o.data_dir, &st->sla, e);
    if (rc != NY_OK) {
        free(st);
        return rc;
    }
    sv->cases = st;
    if (pthread_create(&st->thread, NULL, run, sv) != 0)
        return ny_err_set(e, NY_ERR, "cannot start the case scheduler thread");
    st->running = 1;
    return NY_OK;
}

void server_cases_stop(server *sv)
{
    struct server_cases_state *st = sv->cases;
    if (!st)
        return;
    atomic_store(&st->stop, 1);
    if (st->running)
        pthread_join(st->thread, NULL);
    sla_free(st->sla);
    free(st);
    sv->cases = NULL;
}

const sla *server_cases_sla(server *sv)
{
    return sv->cases->sla;
}
