/* server_ingest.c - POST /api/v1/messages: chat bridges post group messages
 * in; each is triaged and stored once.
 *
 * The order is what makes the endpoint safe to retry: the connector is
 * authenticated first (X-Nuanyang-Key looked up in the store, the signature
 * checked by sign_connector_verify over the raw body), then the whole body is
 * checked — UTF-8, JSON, every field of every message, every group known —
 * before anything is triaged or stored, so a refused request stores nothing.
 * The usual bodies are read and checked without jansson
 * (server_ingest_read.c); any other body, and every refusal, goes through
 * json_loadb and check_message here (server_ingest_parse, which the tests
 * also run without the fast reader to compare the two).
 * The messages are then triaged on the thread's workspace and written with
 * store_message_ingest_batch, which is idempotent on (connector name,
 * message id) and atomic; the answer is sent only after that commit, with
 * "stored" or "duplicate" and the triage result per message. The result is
 * written as JSON text once (jbuf), stored as it is, and copied into the
 * answer. That last
 * part, server_ingest_store, is also the path of group messages arriving
 * through the WeCom callback (server_wecom.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "jbuf.h"
#include "server_int.h"
#include "sign.h"

/* ---- connectors ----------------------------------------------------------
 * Each worker thread keeps the connectors it has seen lately (name, disabled
 * flag and the secret prepared as a sign_key), so a request neither queries
 * the database for its key nor absorbs the secret into the HMAC again. An
 * entry is trusted for CONN_CHECK_MS and then read again from the database:
 * `nuanyang connector disable`, enable or a new secret written by the CLI
 * (or another node) takes effect within that time. Unknown keys are never
 * cached. */

#define CONN_SLOTS 8       /* connectors remembered per worker thread */
#define CONN_CHECK_MS 1000 /* how long an entry is trusted */
#define CONN_KEY_MAX 128   /* longest key a connector can have (store.h) */

typedef struct conn_info {
    char key[CONN_KEY_MAX + 1], name[80];
    int disabled, used;
    long long checked_ms; /* monotonic time of the database read */
    sign_key k;
} conn_info;

struct server_conns {
    conn_info slot[CONN_SLOTS];
    unsigned next; /* the slot the next new key replaces */
};

static long long mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Fills ci from the store row (the key is set by the caller). */
static int on_connector(void *ctx, const store_connector *c)
{
    conn_info *ci = ctx;
    ny_err e;
    snprintf(ci->name, sizeof ci->name, "%s", c->name);
    ci->disabled = c->disabled;
    return sign_key_prepare(c->secret, &ci->k, &e) == NY_OK ? NY_OK : NY_EINVAL;
}

void server_conns_free(server_worker *w)
{
    if (w->conns)
        for (int i = 0; i < CONN_SLOTS; i++)
            sign_key_free(&w->conns->slot[i].k);
    free(w->conns);
    w->conns = NULL;
}

/* The worker's entry for key, read from the database when it is absent or
 * older than CONN_CHECK_MS. Returns NY_OK with *out, NY_ENOTFOUND, or the
 * store's error in e. */
static int conn_lookup(server_worker *w, const char *key, conn_info **out, ny_err *e)
{
    if (!w->conns && !(w->conns = calloc(1, sizeof *w->conns)))
        return ny_err_set(e, NY_ERR, "out of memory");
    struct server_conns *cs = w->conns;
    long long now = mono_ms();
    conn_info *ci = NULL;
    for (int i = 0; i < CONN_SLOTS && !ci; i++)
        if (cs->slot[i].used && strcmp(cs->slot[i].key, key) == 0)
            ci = &cs->slot[i];
    if (ci && now - ci->checked_ms < CONN_CHECK_MS) {
        *out = ci;
        return NY_OK;
    }
    if (!ci)
        ci = &cs->slot[cs->next++ % CONN_SLOTS];
    sign_key_free(&ci->k);
    ci->used = 0;
    if (strlen(key) > CONN_KEY_MAX)
        return ny_err_set(e, NY_ENOTFOUND, "unknown connector key");
    int rc = store_connector_find_by_key(w->db, key, on_connector, ci, e);
    if (rc != NY_OK)
        return rc == NY_EINVAL ? ny_err_set(e, NY_ERR, "connector secret unusable") : rc;
    snprintf(ci->key, sizeof ci->key, "%s", key);
    ci->used = 1;
    ci->checked_ms = now;
    *out = ci;
    return NY_OK;
}

/* ---- time --------------------------------------------------------------- */

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return 0;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int server_parse_time(const char *s, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return NY_EINVAL;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
        return NY_EINVAL;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &sec))
            return NY_EINVAL;
        if (*p == '.' || *p == ',') {
            p++;
            if (*p < '0' || *p > '9')
                return NY_EINVAL;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (!digits(&p, 2, &oh))
            return NY_EINVAL;
        if (*p == ':')
            p++;
        if (*p && !digits(&p, 2, &om))
            return NY_EINVAL;
    } else {
        return NY_EINVAL; /* an offset is required: local time is ambiguous */
    }
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59 || oh > 14 || om > 59)
        return NY_EINVAL;
    *out =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    return NY_OK;
}

/* ---- validation ----------------------------------------------------------- */

/* A required id: a non-empty string of at most 128 bytes, or an integer
 * (written into buf). NULL when absent or malformed. */
static const char *id_of(json_t *v, char *buf, size_t sz)
{
    if (json_is_integer(v)) {
        snprintf(buf, sz, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    return s && n > 0 && n <= 128 && strlen(s) == n ? s : NULL;
}

/* Checks message j (index i) into *m; on failure answers r and returns the
 * status. */
static int check_message(const server *sv, json_t *j, long i, server_msg *m, server_reply *r)
{
    char why[240];
    if (!json_is_object(j))
        return server_error(r, 422, "a message must be a JSON object", NULL, i);
    if (!(m->id = id_of(json_object_get(j, "id"), m->id_buf, sizeof m->id_buf)))
        return server_error(r, 422, "id is missing or not a string of 1..128 bytes or an integer",
                            "id", i);
    const char *group = json_string_value(json_object_get(j, "group"));
    if (!group || !*group)
        return server_error(r, 422, "group is missing or not a non-empty string", "group", i);
    if (!(m->g = server_group_find(sv, group))) {
        snprintf(why, sizeof why, "unknown group '%.120s'", group);
        return server_error(r, 422, why, "group", i);
    }
    json_t *sender = json_object_get(j, "sender");
    if (!json_is_object(sender))
        return server_error(r, 422, "sender is missing or not an object {id, name}", "sender", i);
    if (!(m->sender_id = id_of(json_object_get(sender, "id"), m->sender_buf, sizeof m->sender_buf)))
        return server_error(r, 422, "sender.id is missing or not a string or an integer",
                            "sender.id", i);
    json_t *name = json_object_get(sender, "name");
    if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name))
        return server_error(r, 422, "sender.name is missing or not a string", "sender.name", i);
    m->sender_name = json_string_value(name);
    json_t *text = json_object_get(j, "text");
    if (!json_is_string(text) || json_string_length(text) == 0)
        return server_error(r, 422, "text is missing or not a non-empty string", "text", i);
    m->text = json_string_value(text);
    m->text_len = json_string_length(text);
    if (strlen(m->text) != m->text_len)
        return server_error(r, 422, "text contains a NUL character", "text", i);
    json_t *t = json_object_get(j, "time");
    if (json_is_integer(t) && json_integer_value(t) >= 0 &&
        json_integer_value(t) <= 253402300799LL) {
        m->sent_at = json_integer_value(t);
    } else if (!json_is_string(t) ||
               server_parse_time(json_string_value(t), &m->sent_at) != NY_OK) {
        return server_error(r, 422,
                            "time is missing or not ISO-8601 with an offset "
                            "(2026-05-01T08:30:00+08:00) or Unix seconds",
                            "time", i);
    }
    json_t *mentions = json_object_get(j, "mentions");
    int mentions_ok = !mentions || json_is_array(mentions);
    for (size_t k = 0; mentions_ok && k < json_array_size(mentions); k++)
        mentions_ok = json_is_string(json_array_get(mentions, k));
    if (!mentions_ok)
        return server_error(r, 422, "mentions must be an array of strings", "mentions", i);
    m->mentions = mentions;
    return 0;
}

/* ---- triage ----------------------------------------------------------------- */

/* The triage result as JSON text (what is stored with the message and,
 * with its id and status added, answered): the keys intent, category,
 * keywords, policies, notify, reply and priority, in that order. */
static int result_text(const triage_result *t, char **out, size_t *len, ny_err *e)
{
    jbuf b = {0};
    jbuf_puts(&b, "{\"intent\":");
    jbuf_str(&b, t->intent_name);
    jbuf_puts(&b, ",\"category\":");
    jbuf_str(&b, t->category_name);
    jbuf_puts(&b, ",\"keywords\":[");
    for (size_t i = 0, k = 0; i < t->nkeywords; i++)
        if (!t->keywords[i].repeat) {
            jbuf_add(&b, ",", k++ > 0);
            jbuf_str(&b, t->keywords[i].term);
        }
    jbuf_puts(&b, "],\"policies\":[");
    for (size_t i = 0; i < t->npolicies; i++) {
        jbuf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        jbuf_str(&b, t->policies[i].code);
        jbuf_puts(&b, ",\"title\":");
        jbuf_str(&b, t->policies[i].title);
        jbuf_add(&b, "}", 1);
    }
    jbuf_puts(&b, "],\"notify\":[");
    for (size_t i = 0; i < t->nnotify; i++) {
        const triage_notify *n = &t->notify[i];
        jbuf_puts(&b, i ? ",{\"role\":" : "{\"role\":");
        jbuf_str(&b, n->role);
        jbuf_puts(&b, ",\"unit\":");
        jbuf_str(&b, n->unit_code);
        if (n->unit_name) {
            jbuf_puts(&b, ",\"unit_name\":");
            jbuf_str(&b, n->unit_name);
        }
        if (n->department) {
            jbuf_puts(&b, ",\"department\":");
            jbuf_str(&b, n->department);
        }
        if (n->account) {
            jbuf_puts(&b, ",\"account\":");
            jbuf_str(&b, n->account);
            jbuf_puts(&b, ",\"name\":");
            jbuf_str(&b, n->name);
        }
        jbuf_add(&b, "}", 1);
    }
    jbuf_puts(&b, "],\"reply\":");
    jbuf_str(&b, t->reply);
    jbuf_puts(&b, ",\"priority\":");
    jbuf_str(&b, triage_priority_name(t->priority));
    jbuf_add(&b, "}", 1);
    return jbuf_finish(&b, out, len, e);
}

/* The answer {"results":[…]}: each message's stored result with its id and
 * status added (the result text without its closing brace, then the two
 * keys). */
static int answer_text(const server_msg *in, size_t n, char *const *texts, const size_t *lens,
                       const int *dup, char **out, size_t *len, ny_err *e)
{
    jbuf b = {0};
    jbuf_puts(&b, "{\"results\":[");
    for (size_t i = 0; i < n; i++) {
        jbuf_add(&b, ",", i > 0);
        jbuf_add(&b, texts[i], lens[i] - 1);
        jbuf_puts(&b, ",\"id\":");
        jbuf_str(&b, in[i].id);
        jbuf_puts(&b, dup[i] ? ",\"status\":\"duplicate\"}" : ",\"status\":\"stored\"}");
    }
    jbuf_puts(&b, "]}");
    return jbuf_finish(&b, out, len, e);
}

/* One ingest request from triage to its answer: what the committer writes
 * (rows, effects) and gets back (ids, dup, rc), the texts of the answer,
 * and for a suspended request what it owns (its JSON document and checked
 * messages) and its connection. */
typedef struct ingest_job {
    server_commit_job job; /* first: the committer hands it back to done */
    server *sv;
    server_msg *in;
    size_t n;
    store_message *rows;
    char **texts;
    size_t *lens;
    int64_t *ids;
    int *dup;
    char *lead;
    server_effects *fx;
    char connector[80];
    json_t *doc; /* the request's document, which in points into, or NULL */
    char *strs;  /* or the strings of server_ingest_read, which in points into */
    void *conn;  /* suspended: the connection to resume */
} ingest_job;

static void job_free(ingest_job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n && j->texts; i++)
        free(j->texts[i]);
    free(j->rows);
    free(j->texts);
    free(j->lens);
    free(j->ids);
    free(j->dup);
    free(j->lead);
    server_effects_free(j->fx);
    json_decref(j->doc);
    free(j->strs);
    free(j->in);
    free(j);
}

/* The messages and what they cause (server_effects.c), in one transaction. */
static int apply_ingest(store *db, void *ctx, ny_err *e)
{
    ingest_job *j = ctx;
    server_ingest_part p = {j->rows, j->n, j->ids, j->dup, j->fx};
    return server_effects_apply(j->sv, db, &p, 1, e);
}

/* apply_ingest for n requests of a commit group at once. */
static int apply_ingest_many(store *db, server_commit_job *first, size_t n, ny_err *e)
{
    server_ingest_part *p = malloc(n * sizeof *p);
    if (!p)
        return ny_err_set(e, NY_ERR, "out of memory");
    server_commit_job *x = first;
    for (size_t k = 0; k < n; k++, x = x->next) {
        ingest_job *j = x->ctx;
        p[k] = (server_ingest_part){j->rows, j->n, j->ids, j->dup, j->fx};
    }
    int rc = server_effects_apply(((ingest_job *)first->ctx)->sv, db, p, n, e);
    free(p);
    return rc;
}

/* Answers r from an error of the triage or the commit; returns the status. */
static int fail(server_reply *r, int rc, const ny_err *e)
{
    if (rc == NY_EUNAVAIL)
        return server_error(r, 503, e->msg, NULL, -1);
    if (rc == NY_ENOTFOUND || rc == NY_EINVAL)
        return server_error(r, 422, e->msg, rc == NY_ENOTFOUND ? "group" : NULL, e->index);
    return server_error(r, 500, e->msg, NULL, e->index >= 0 ? e->index : -1);
}

/* Triages the n checked messages of in (borrowed; the job frees neither)
 * on w's workspace into a new job for the committer. 0 with *out set, or
 * r answered and its status returned. */
static int prepare(server *sv, server_worker *w, const char *connector, server_msg *in, size_t n,
                   ingest_job **out, server_reply *r)
{
    ingest_job *j = calloc(1, sizeof *j);
    ny_err e;
    int rc = j ? NY_OK : ny_err_set(&e, NY_ERR, "out of memory");
    if (rc == NY_OK) {
        *j = (ingest_job){.job = {.apply = apply_ingest, .apply_many = apply_ingest_many, .ctx = j},
                          .sv = sv,
                          .in = in,
                          .n = n,
                          .rows = calloc(n, sizeof *j->rows),
                          .texts = calloc(n, sizeof *j->texts),
                          .lens = calloc(n, sizeof *j->lens),
                          .ids = calloc(n, sizeof *j->ids),
                          .dup = calloc(n, sizeof *j->dup),
                          .lead = calloc(n, 1),
                          .fx = server_effects_new(n)};
        snprintf(j->connector, sizeof j->connector, "%s", connector);
        if (!j->rows || !j->texts || !j->lens || !j->ids || !j->dup || !j->lead || !j->fx)
            rc = ny_err_set(&e, NY_ERR, "out of memory");
    }
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        triage_group g = {in[i].g->kind, in[i].g->unit_code};
        triage_result t;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = triage_message(w->ws, in[i].text, in[i].text_len, &g, &t, &e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc != NY_OK)
            break;
        server_observe_triage(&sv->m, (double)(t1.tv_sec - t0.tv_sec) +
                                          (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if ((rc = result_text(&t, &j->texts[i], &j->lens[i], &e)) != NY_OK)
            break;
        j->lead[i] = t.nnotify > 0;
        j->rows[i] = (store_message){0,
                                     in[i].g->id,
                                     j->connector,
                                     in[i].id,
                                     in[i].sender_id,
                                     in[i].sender_name,
                                     in[i].sent_at,
                                     in[i].text,
                                     t.intent_name,
                                     t.category_name,
                                     j->texts[i]};
        if ((rc = server_effects_note(j->fx, j->sv->etiquette, i, &t, &j->rows[i], &in[i])) != NY_OK) {
            ny_err_set(&e, rc, "out of memory");
            break;
        }
    }
    if (rc == NY_OK)
        rc = server_effects_resolve(j->fx, w->db, &w->fxc, &e);
    if (rc == NY_OK) {
        *out = j;
        return 0;
    }
    if (j)
        j->in = NULL; /* the caller's */
    job_free(j);
    return fail(r, rc, &e);
}

/* After the commit: wakes delivery, publishes the leads, counts, and
 * writes the answer (0 with *answer set) or answers r with the error. */
static int finish(ingest_job *j, char **answer, size_t *answer_len, server_reply *r)
{
    int rc = j->job.rc;
    ny_err e = j->job.e;
    *answer = NULL;
    if (rc == NY_OK) {
        server_effects_committed(j->sv, j->fx);
        rc = answer_text(j->in, j->n, j->texts, j->lens, j->dup, answer, answer_len, &e);
    }
    if (rc != NY_OK)
        return fail(r, rc, &e);
    long stored = 0, leads = 0;
    for (size_t i = 0; i < j->n; i++) {
        stored += !j->dup[i];
        leads += !j->dup[i] && j->lead[i];
    }
    atomic_fetch_add(&j->sv->m.ingested, stored);
    atomic_fetch_add(&j->sv->m.duplicates, (long)j->n - stored);
    atomic_fetch_add(&j->sv->m.leads, leads);
    return 0;
}

int server_ingest_store(server *sv, server_worker *w, const char *connector, server_msg *in,
                        size_t n, char **answer, size_t *answer_len, server_reply *r)
{
    ingest_job *j = NULL;
    int status = prepare(sv, w, connector, in, n, &j, r);
    if (status)
        return status;
    j->job.rc = server_commit_run(sv, apply_ingest, j, &j->job.e);
    status = finish(j, answer, answer_len, r);
    j->in = NULL; /* the caller's */
    job_free(j);
    return status;
}

/* The committer's call once a suspended request's writes are durable (or
 * failed): its connection is resumed, and answer() runs on a pool thread. */
static void job_done(server_commit_job *job)
{
    server_resume(((ingest_job *)job)->conn);
}

/* server_reply.later of a suspended request. */
static void answer_later(server *sv, void *ctx, server_reply *r)
{
    (void)sv;
    ingest_job *j = ctx;
    char *answer;
    size_t len;
    if (r && !finish(j, &answer, &len, r)) {
        free(r->body);
        r->body = answer;
        r->len = len;
        r->content_type = "application/json";
        r->status = 200;
    }
    job_free(j);
}

/* ---- the route ---------------------------------------------------------------- */

/* Triages the n checked messages of in and hands them to the group commit
 * (suspended until they are durable, or waiting while the server closes).
 * in is the caller's, with the document doc or the string buffer strs it
 * points into (either may be NULL): all three are freed here. */
static void submit(server *sv, server_worker *w, const server_call *call, const char *connector,
                   server_msg *in, size_t n, json_t *doc, char *strs, server_reply *r)
{
    ingest_job *j = NULL;
    if (prepare(sv, w, connector, in, n, &j, r)) {
        free(in);
        json_decref(doc);
        free(strs);
        return;
    }
    j->doc = doc;
    j->strs = strs;
    if (server_commit_reserve(sv)) { /* answered by answer_later once committed */
        j->conn = call->conn;
        j->job.done = job_done;
        r->later = answer_later;
        r->later_ctx = j;
        server_suspend(call);
        server_commit_submit(sv, &j->job);
        return;
    }
    j->job.rc = server_commit_run(sv, apply_ingest, j, &j->job.e);
    answer_later(sv, j, r); /* frees j with in, doc and strs */
}

/* Authenticates the request; on failure answers r and returns its status.
 * On success *name receives the connector's name. */
static int authenticate(server *sv, server_worker *w, const server_call *call, char name[80],
                        server_reply *r)
{
    ny_err e;
    const char *key = server_header(call, SIGN_HEADER_KEY);
    if (!key || !*key)
        return server_error(r, 401, "missing " SIGN_HEADER_KEY " header", SIGN_HEADER_KEY, -1);
    conn_info *ci = NULL;
    int rc = conn_lookup(w, key, &ci, &e);
    if (rc == NY_ENOTFOUND)
        return server_error(r, 401, "unknown connector key", SIGN_HEADER_KEY, -1);
    if (rc != NY_OK)
        return server_error(r, rc == NY_EUNAVAIL ? 503 : 500, e.msg, NULL, -1);
    if (ci->disabled)
        return server_error(r, 403, "connector is disabled", SIGN_HEADER_KEY, -1);
    if (sign_connector_verify_key(&ci->k, server_header(call, SIGN_HEADER_TIMESTAMP), call->body,
                                  call->len, server_header(call, SIGN_HEADER_SIGNATURE),
                                  server_now(sv), &e) != NY_OK)
        return server_error(r, 401, e.msg, SIGN_HEADER_SIGNATURE, -1);
    memcpy(name, ci->name, 80);
    return 0;
}

int server_ingest_parse(const server *sv, const char *body, size_t len, int fast, server_msg **out,
                        size_t *count, json_t **doc, char **strs, server_reply *r)
{
    ny_err e;
    char why[600];
    *out = NULL;
    *count = 0;
    *doc = NULL;
    *strs = NULL;
    if (domain_utf8_check(body, len, &e) != NY_OK) {
        snprintf(why, sizeof why, "body is not valid UTF-8: %s", e.msg);
        return server_error(r, 400, why, NULL, -1);
    }
    if (fast && server_ingest_read(sv, body, len, out, count, strs))
        return 0; /* the usual shapes, checked */
    json_error_t je;
    json_t *d = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!d) {
        snprintf(why, sizeof why, "malformed JSON at line %d column %d: %s", je.line, je.column,
                 je.text);
        return server_error(r, 400, why, NULL, -1);
    }
    json_t *list = json_object_get(d, "messages");
    size_t n = list ? json_array_size(list) : 1;
    int status = 0;
    server_msg *in = NULL;
    if (!json_is_object(d)) {
        status =
            server_error(r, 422, "body must be a message object or {\"messages\":[...]}", NULL, -1);
    } else if (list && !json_is_array(list)) {
        status = server_error(r, 422, "messages must be an array", "messages", -1);
    } else if (n == 0) {
        status = server_error(r, 422, "messages is empty", "messages", -1);
    } else if (n > SERVER_MAX_BATCH) {
        snprintf(why, sizeof why, "at most %d messages per request, got %zu", SERVER_MAX_BATCH, n);
        status = server_error(r, 413, why, "messages", -1);
    } else if (!(in = calloc(n, sizeof *in))) {
        status = server_error(r, 500, "out of memory", NULL, -1);
    }
    for (size_t i = 0; !status && i < n; i++)
        status = check_message(sv, list ? json_array_get(list, i) : d, (long)i, &in[i], r);
    if (status) {
        free(in);
        json_decref(d);
        return status;
    }
    *out = in;
    *count = n;
    *doc = d;
    return 0;
}

void server_ingest(server *sv, const server_call *call, server_reply *r)
{
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    if (!w) {
        server_error(r, 503, e.msg, NULL, -1);
        return;
    }
    char connector[80];
    server_msg *in;
    size_t n;
    json_t *doc;
    char *strs;
    if (authenticate(sv, w, call, connector, r) ||
        server_ingest_parse(sv, call->body, call->len, 1, &in, &n, &doc, &strs, r))
        return;
    submit(sv, w, call, connector, in, n, doc, strs, r);
}
