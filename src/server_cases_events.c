/* server_cases_events.c - case events on the live stream (GET
 * /api/v1/stream, event "case").
 *
 * Every change to a case is one entry of its append-only log, written in
 * the change's transaction. The scheduler thread (server_cases_sched.c)
 * reads the log forward after each pass and whenever a staff action pokes
 * it, and publishes each new entry once, with the case as it stands: so an
 * event is announced only after its transaction committed, whoever wrote
 * it (a staff action, the scheduler, ingest, another node). An event goes
 * to the subscribers whose scope holds the case's unit, and when the entry
 * moved the case (escalate, return, reassign) also to those of the unit it
 * left. While no stream would get them (server_stream_listening), the
 * entries are passed over by their ids alone, with the same marks: no case
 * is read and no event built for nobody.
 *
 * Log ids are given out before commit, so on PostgreSQL a later id may
 * commit first. The reader keeps a mark below which every id is done and
 * remembers the ids above it already announced; a hole at the mark is
 * waited for up to FEED_HOLE_SECONDS (a transaction still running) and then
 * passed over (one that rolled back). On SQLite ids commit in order and
 * there are no holes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jbuf.h"
#include "server_cases.h"
#include "store_case.h"

/* Entries read per poll. */
#define FEED_BATCH 500
/* How long a hole in the log ids is waited for. */
#define FEED_HOLE_SECONDS 5.0

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int seen(const server_case_feed *f, int64_t id)
{
    for (size_t i = 0; i < f->nseen; i++)
        if (f->seen[i] == id)
            return 1;
    return 0;
}

/* The new value of field in the changes object, or NULL. */
static json_t *new_value(json_t *changes, const char *field)
{
    json_t *pair = json_object_get(changes, field);
    return json_is_array(pair) && json_array_size(pair) == 2 ? json_array_get(pair, 1) : NULL;
}

static const char *text_or(json_t *v, const char *def)
{
    return json_is_string(v) ? json_string_value(v) : def;
}

struct poll_ctx {
    server *sv;
    server_case_feed *f;
    int rows;
};

/* Counts entry id as read and notes it as announced: 1 when it is new
 * (to be announced now), 0 when it was announced before or has to wait. */
static int note(struct poll_ctx *p, int64_t id)
{
    server_case_feed *f = p->f;
    p->rows++;
    if (id <= f->mark || seen(f, id))
        return 0;
    if (f->nseen == SERVER_CASE_FEED_SEEN) /* too many waiting behind a hole */
        return 0;
    f->seen[f->nseen++] = id;
    return 1;
}

/* An entry read while nobody listens: passed over as announced. */
static int on_id(void *ctx, int64_t id)
{
    note(ctx, id);
    return NY_OK;
}

static int on_item(void *ctx, const case_feed_item *it)
{
    struct poll_ctx *p = ctx;
    if (!note(p, it->id))
        return NY_OK;
    json_t *changes = json_loads(it->changes, 0, NULL);
    const char *status = text_or(new_value(changes, "status"), it->status);
    const char *level = text_or(new_value(changes, "level"), it->level);
    const char *unit = text_or(new_value(changes, "unit"), it->unit);
    json_t *od = new_value(changes, "overdue");
    json_t *from = json_object_get(changes, "unit");
    const char *left = json_is_array(from) ? text_or(json_array_get(from, 0), NULL) : NULL;
    char at[32];
    case_time_iso(it->at, at);
    /* written directly: a jansson tree built only to be printed cost more
     * than reading the entry */
    jbuf d = {0};
    static const char *const keys[] = {"action", "actor",        "at",    "kind", "category",
                                       "status", "status_label", "level", "unit", "department"};
    const char *vals[] = {it->action,
                          it->actor,
                          at,
                          it->kind,
                          it->category,
                          status,
                          case_status_label(status),
                          level,
                          unit,
                          it->department};
    jbuf_puts(&d, "{\"id\":");
    jbuf_int(&d, it->id);
    jbuf_puts(&d, ",\"case_id\":");
    jbuf_int(&d, it->case_id);
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        jbuf_puts(&d, ",\"");
        jbuf_puts(&d, keys[k]);
        jbuf_puts(&d, "\":");
        jbuf_str(&d, vals[k] ? vals[k] : "");
    }
    jbuf_puts(&d, (json_is_integer(od) ? json_integer_value(od) : it->overdue)
                      ? ",\"overdue\":true"
                      : ",\"overdue\":false");
    if (strcmp(unit, it->unit) == 0) {
        jbuf_puts(&d, ",\"unit_name\":");
        jbuf_str(&d, it->unit_name ? it->unit_name : "");
    }
    if (left && left[0]) {
        jbuf_puts(&d, ",\"from_unit\":");
        jbuf_str(&d, left);
    }
    jbuf_add(&d, "}", 1);
    const char *units[3] = {unit, it->unit, left && left[0] ? left : it->unit};
    char *text = NULL;
    ny_err e;
    if (jbuf_finish(&d, &text, NULL, &e) == NY_OK)
        server_stream_deliver_text(p->sv, "case", units, 3, text);
    free(text);
    json_decref(changes); /* status, level, unit and left point into it until here */
    return NY_OK;
}

/* Moves the mark over the ids announced right after it, and over the
 * holes below them once they have waited long enough (or the list is
 * full). */
static void advance(server_case_feed *f, double now)
{
    for (;;) {
        size_t i = 0;
        while (i < f->nseen && f->seen[i] != f->mark + 1)
            i++;
        if (i < f->nseen) {
            f->seen[i] = f->seen[--f->nseen];
            f->mark++;
            f->hole_since = 0;
            continue;
        }
        if (f->nseen == 0) {
            f->hole_since = 0;
            return;
        }
        if (f->hole_since == 0)
            f->hole_since = now;
        if (now - f->hole_since < FEED_HOLE_SECONDS && f->nseen < SERVER_CASE_FEED_SEEN)
            return;
        int64_t low = f->seen[0]; /* give the holes below the lowest announced id up */
        for (size_t j = 1; j < f->nseen; j++)
            if (f->seen[j] < low)
                low = f->seen[j];
        f->mark = low - 1;
    }
}

int server_cases_feed_poll(server *sv, store *db, server_case_feed *f, ny_err *e)
{
    if (!f->started) { /* announce what is new from now on */
        int rc = store_case_feed_last(db, &f->mark, e);
        if (rc != NY_OK)
            return rc;
        f->started = 1;
        return NY_OK;
    }
    struct poll_ctx p = {sv, f, 0};
    do { /* a full batch may have more behind it */
        p.rows = 0;
        /* with no stream to tell, the entries are only passed over (their
         * ids read, not their cases; no event built), by the same marks */
        int rc = server_stream_listening(sv)
                     ? store_case_feed(db, f->mark, FEED_BATCH, on_item, &p, e)
                     : store_case_feed_ids(db, f->mark, FEED_BATCH, on_id, &p, e);
        if (rc != NY_OK)
            return rc;
        advance(f, mono_now());
    } while (p.rows == FEED_BATCH && f->nseen == 0);
    return NY_OK;
}
