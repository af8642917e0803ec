/* bench_ingest_store.c - bench_ingest's storage side: the demo year read
 * into request bodies for the replay mode, and the in-process storage
 * ceiling of the store mode (rows through store_message_ingest_batch as
 * the group commit writes them, optionally with their effects as
 * server_effects.c writes them). bench_ingest.c describes both modes;
 * the bodies are sent by bench_ingest_http.c's client. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bench_ingest.h"
#include "case.h"
#include "case_feedback.h"
#include "outbox.h"
#include "store.h"
#include "store_outbox.h"
#include "triage.h"

/* Reading the source database for replay. */
typedef struct src {
    int64_t *gid;
    char **gext;
    size_t ng, cap;
    poster *p;
    buf cur;
    long in_cur, total;
} src;

static int on_src_group(void *ctx, const store_group *g)
{
    src *s = ctx;
    if (s->ng == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->gid = realloc(s->gid, s->cap * sizeof *s->gid);
        s->gext = realloc(s->gext, s->cap * sizeof *s->gext);
        if (!s->gid || !s->gext)
            die("out of memory");
    }
    s->gid[s->ng] = g->id;
    if (!(s->gext[s->ng++] = strdup(g->external_id)))
        die("out of memory");
    return NY_OK;
}

static void close_batch(src *s)
{
    if (!s->in_cur)
        return;
    if (s->p->batch > 1)
        buf_add(&s->cur, "]}", 2);
    poster *p = s->p;
    if (!(p->bodies = realloc(p->bodies, (p->nbodies + 1) * sizeof *p->bodies)))
        die("out of memory");
    p->bodies[p->nbodies++] = s->cur.p;
    s->cur = (buf){0};
    s->in_cur = 0;
}

static int on_src_message(void *ctx, const store_message *m)
{
    src *s = ctx;
    size_t lo = 0, hi = s->ng; /* groups come sorted by id */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->gid[mid] < m->group_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->ng || s->gid[lo] != m->group_id)
        die("message of an unknown group");
    if (s->p->batch > 1) /* a single message is posted as itself */
        buf_add(&s->cur, s->in_cur ? "," : "{\"messages\":[", s->in_cur ? 1 : 13);
    buf_add(&s->cur, "{\"id\":", 6);
    buf_json_str(&s->cur, m->external_id);
    buf_add(&s->cur, ",\"group\":", 9);
    buf_json_str(&s->cur, s->gext[lo]);
    buf_add(&s->cur, ",\"sender\":{\"id\":", 16);
    buf_json_str(&s->cur, m->sender_id);
    buf_add(&s->cur, ",\"name\":", 8);
    buf_json_str(&s->cur, m->sender_name ? m->sender_name : "");
    buf_add(&s->cur, "},\"text\":", 9);
    buf_json_str(&s->cur, m->text);
    buf_printf(&s->cur, ",\"time\":%lld}", (long long)m->sent_at);
    s->total++;
    if (++s->in_cur == s->p->batch)
        close_batch(s);
    return NY_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A group of a src while it is sorted. */
typedef struct gpair {
    int64_t id;
    char *ext;
} gpair;

static int cmp_gid(const void *a, const void *b)
{
    return cmp_i64(&((const gpair *)a)->id, &((const gpair *)b)->id);
}

static int cmp_gext(const void *a, const void *b)
{
    return strcmp(((const gpair *)a)->ext, ((const gpair *)b)->ext);
}

/* Sorts the groups of s with cmp (cmp_gid or cmp_gext), ids and external
 * ids together. */
static void sort_groups(src *s, int (*cmp)(const void *, const void *))
{
    gpair *g = malloc((s->ng ? s->ng : 1) * sizeof *g);
    if (!g)
        die("out of memory");
    for (size_t j = 0; j < s->ng; j++)
        g[j] = (gpair){s->gid[j], s->gext[j]};
    qsort(g, s->ng, sizeof *g, cmp);
    for (size_t j = 0; j < s->ng; j++) {
        s->gid[j] = g[j].id;
        s->gext[j] = g[j].ext;
    }
    free(g);
}

long load_replay(const char *db, poster *p)
{
    store *s;
    ny_err e;
    src sr = {.p = p};
    if (store_open(db, &(store_open_opts){0, 1}, &s, &e) != NY_OK ||
        store_groups_each(s, on_src_group, &sr, &e) != NY_OK)
        die(e.msg);
    sort_groups(&sr, cmp_gid); /* store_groups_each need not be in id order */
    if (store_messages_each(s, on_src_message, &sr, &e) != NY_OK)
        die(e.msg);
    close_batch(&sr);
    store_close(s);
    for (size_t i = 0; i < sr.ng; i++)
        free(sr.gext[i]);
    free(sr.gid);
    free(sr.gext);
    return sr.total;
}

/* ---- the storage ceiling ------------------------------------------------------------ */

/* A group's unit and kind for the triage of the effects mode. */
typedef struct unit_of {
    int64_t *gid;
    char **unit, **kind;
    size_t n, cap;
} unit_of;

static int on_unit_group(void *ctx, const store_group *g)
{
    unit_of *u = ctx;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 1024;
        u->gid = realloc(u->gid, u->cap * sizeof *u->gid);
        u->unit = realloc(u->unit, u->cap * sizeof *u->unit);
        u->kind = realloc(u->kind, u->cap * sizeof *u->kind);
        if (!u->gid || !u->unit || !u->kind)
            die("out of memory");
    }
    u->gid[u->n] = g->id;
    u->unit[u->n] = strdup(g->unit_code);
    u->kind[u->n] = strdup(g->kind);
    if (!u->unit[u->n] || !u->kind[u->n++])
        die("out of memory");
    return NY_OK;
}

/* What one message causes in the effects mode, resolved before the clock
 * starts as the server resolves it before its commit: a lead (intent,
 * category, priority), the holder of its case, and the targets and payload
 * of its notifications. */
typedef struct fx_row {
    const char *intent, *category;
    int priority, nacc;
    int64_t unit_id;
    char unit_name[128], level[16];
    store_target t[TRIAGE_MAX_NOTIFY];
    char *payload;
} fx_row;

/* The index of group gid in u. */
static size_t unit_index(const unit_of *u, int64_t gid)
{
    size_t k = 0;
    while (k < u->n && u->gid[k] != gid)
        k++;
    if (k == u->n)
        die("group without a unit");
    return k;
}

/* Triages message m for its effects into f and resolves them through s. */
static void fx_triage(store *s, triage_ws *ws, const unit_of *u, const store_message *m, fx_row *f)
{
    ny_err e;
    size_t k = unit_index(u, m->group_id);
    triage_group g = {u->kind[k], u->unit[k]};
    triage_result t;
    if (triage_message(ws, m->text, strlen(m->text), &g, &t, &e) != NY_OK)
        die(e.msg);
    free(f->payload);
    memset(f, 0, sizeof *f);
    f->intent = t.nnotify ? t.intent_name : NULL;
    f->category = t.category_name;
    f->priority = t.priority;
    char text[400];
    if (f->intent &&
        store_unit_of_code(s, u->unit[k], &f->unit_id, f->unit_name, sizeof f->unit_name, f->level,
                           sizeof f->level, &e) != NY_OK)
        die(e.msg);
    for (size_t i = 0; i < t.nnotify && i < TRIAGE_MAX_NOTIFY; i++)
        if (t.notify[i].account) {
            if (store_staff_target(s, t.notify[i].account, &f->t[f->nacc], &e) != NY_OK)
                die(e.msg);
            f->nacc += f->t[f->nacc].channel[0] != '\0';
        }
    int cut = (int)strlen(m->text) < 300 ? (int)strlen(m->text) : 300;
    while (cut > 0 && ((unsigned char)m->text[cut] & 0xC0) == 0x80)
        cut--; /* between UTF-8 characters */
    snprintf(text, sizeof text, "【暖羊阳】新线索（%s）\n%.*s", f->category, cut, m->text);
    outbox_item it = {"n:0:0", "notify", NULL, NULL, NULL, 0, NULL, text, NULL, 0, f->priority, 0};
    store_outbox_row r;
    if (f->nacc && outbox_row_of(&it, &f->t[0], 0, &r, &f->payload, &e) != NY_OK)
        die(e.msg);
}

/* Writes the effects of the n stored messages m (ids, dup) as
 * server_effects.c does for new leads: their cases, log entries and
 * reporters, the leads and their reports, then the notifications, each
 * table with a few multi-row statements. Returns the number of leads. */
static long fx_write(store *s, const sla *sl, const unit_of *u, const store_message *m,
                     const int64_t *ids, const int *dup, fx_row *f, long n, int64_t now)
{
    ny_err e;
    static const case_actor sys = {"system", "系统", "system", "", "", ""};
    size_t cap = (size_t)n;
    case_row *rows = calloc(cap, sizeof *rows);
    case_row **cp = calloc(cap, sizeof *cp);
    case_log_row *log = calloc(cap, sizeof *log);
    case_reporter_row *rep = calloc(cap, sizeof *rep);
    store_lead *leads = calloc(cap, sizeof *leads);
    const char **keys = calloc(cap, sizeof *keys), **senders = calloc(cap, sizeof *senders);
    int64_t *lead_ids = calloc(cap, sizeof *lead_ids);
    char(*changes)[256] = calloc(cap, sizeof *changes);
    store_outbox_row *out = calloc(cap * TRIAGE_MAX_NOTIFY, sizeof *out);
    char(*okeys)[40] = calloc(cap * TRIAGE_MAX_NOTIFY, sizeof *okeys);
    if (!rows || !cp || !log || !rep || !leads || !keys || !senders || !lead_ids || !changes ||
        !out || !okeys)
        die("out of memory");
    size_t nc = 0, nl = 0, no = 0;
    for (long i = 0; i < n; i++) {
        if (dup[i] || !f[i].intent)
            continue;
        int64_t case_id = 0;
        if (case_lead_opens(f[i].intent)) {
            case_lead cl = {m[i].group_id,
                            ids[i],
                            now,
                            u->unit[unit_index(u, m[i].group_id)],
                            m[i].sender_id,
                            m[i].sender_name,
                            m[i].text,
                            f[i].intent,
                            f[i].category,
                            0};
            if (case_from_lead_row(&cl, &rows[nc], &e) != NY_OK)
                die(e.msg);
            case_open_fill(sl, &rows[nc], f[i].unit_name, f[i].level, now);
            rows[nc].unit_id = f[i].unit_id;
            cp[nc] = &rows[nc];
            case_id = -(int64_t)(++nc); /* its case, until the ids are known */
        }
        leads[nl] = (store_lead){0,           ids[i],        m[i].group_id, f[i].unit_id,
                                 f[i].intent, f[i].category, now,           case_id};
        keys[nl] = NULL;
        senders[nl++] = m[i].sender_id;
    }
    if (nc && store_case_insert_batch(s, cp, nc, &e) != NY_OK)
        die(e.msg);
    for (size_t k = 0, j = 0; k < nl; k++) {
        if (leads[k].case_id >= 0)
            continue;
        const case_row *c = cp[-leads[k].case_id - 1];
        log[j] = (case_log_row){c->id, now, sys.account, "report", changes[j], NULL};
        log[j].note = case_open_log(c, &sys, changes[j], sizeof changes[j]);
        rep[j] = (case_reporter_row){c->id, c->group_id, leads[k].message_id,
                                     now,   senders[k],  c->reporter};
        leads[k].case_id = c->id;
        j++;
    }
    if (nc && (store_case_log_batch(s, log, nc, &e) != NY_OK ||
               store_case_reporter_add_batch(s, rep, nc, &e) != NY_OK))
        die(e.msg);
    if (nl && store_lead_open_batch(s, leads, keys, nl, lead_ids, &e) != NY_OK)
        die(e.msg);
    for (long i = 0; i < n; i++)
        for (int k = 0; !dup[i] && f[i].intent && k < f[i].nacc; k++) {
            snprintf(okeys[no], sizeof okeys[no], "n:%lld:%d", (long long)ids[i], k);
            out[no] = (store_outbox_row){.key = okeys[no],
                                         .kind = "notify",
                                         .channel = f[i].t[k].channel,
                                         .target = f[i].t[k].target,
                                         .payload = f[i].payload,
                                         .priority = f[i].priority,
                                         .next_at = now,
                                         .created_at = now};
            no++;
        }
    long queued = 0;
    if (no && store_outbox_put_batch(s, out, no, &queued, &e) != NY_OK)
        die(e.msg);
    for (size_t k = 0; k < nc; k++)
        case_row_free(&rows[k]);
    free(rows);
    free(cp);
    free(log);
    free(rep);
    free(leads);
    free(keys);
    free(senders);
    free(lead_ids);
    free(changes);
    free(out);
    free(okeys);
    return (long)nl;
}

/* The rows of a storage ceiling: group, text and sender of each. */
typedef struct crows {
    size_t n, cap;
    int64_t *gid;
    const char **text, **sender, **name;
    const src *to; /* the target database's groups, sorted by external id (from mode) */
    src from;      /* the source database's groups, sorted by id (from mode) */
} crows;

static int cmp_ext(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int on_ceiling_message(void *ctx, const store_message *m)
{
    crows *r = ctx;
    if (r->n == r->cap)
        return NY_OK; /* enough rows */
    size_t lo = 0, hi = r->from.ng;
    while (lo < hi) { /* the source group, by id */
        size_t mid = (lo + hi) / 2;
        if (r->from.gid[mid] < m->group_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->from.ng || r->from.gid[lo] != m->group_id)
        die("message of an unknown group");
    const char *ext = r->from.gext[lo];
    char **hit = bsearch(&ext, r->to->gext, r->to->ng, sizeof *r->to->gext, cmp_ext);
    if (!hit)
        die("a group of the source database is not in the target database");
    r->gid[r->n] = r->to->gid[hit - r->to->gext];
    if (!(r->text[r->n] = strdup(m->text)) || !(r->sender[r->n] = strdup(m->sender_id)) ||
        !(r->name[r->n] = strdup(m->sender_name ? m->sender_name : "")))
        die("out of memory");
    r->n++;
    return NY_OK;
}

/* The stored triage JSON of t, shaped as the server stores it
 * (server_ingest.c): intent, category, keywords, policies, notify, reply,
 * priority. */
static char *triage_json(const triage_result *t)
{
    json_t *kw = json_array(), *pol = json_array(), *nt = json_array();
    for (size_t i = 0; i < t->nkeywords; i++)
        if (!t->keywords[i].repeat)
            json_array_append_new(kw, json_string(t->keywords[i].term));
    for (size_t i = 0; i < t->npolicies; i++)
        json_array_append_new(
            pol, json_pack("{s:s, s:s}", "id", t->policies[i].code, "title", t->policies[i].title));
    for (size_t i = 0; i < t->nnotify; i++) {
        const triage_notify *n = &t->notify[i];
        json_t *o = json_pack("{s:s, s:s}", "role", n->role, "unit", n->unit_code);
        if (n->unit_name)
            json_object_set_new(o, "unit_name", json_string(n->unit_name));
        if (n->department)
            json_object_set_new(o, "department", json_string(n->department));
        if (n->account) {
            json_object_set_new(o, "account", json_string(n->account));
            json_object_set_new(o, "name", json_string(n->name));
        }
        json_array_append_new(nt, o);
    }
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s?, s:s}", "intent", t->intent_name,
                          "category", t->category_name, "keywords", kw, "policies", pol, "notify",
                          nt, "reply", t->reply, "priority", triage_priority_name(t->priority));
    char *out = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!out)
        die("out of memory");
    return out;
}

int store_ceiling(const char *db, long batch, long rows, const char *groups_file,
                  const char *texts_file, const char *src_db, int effects)
{
    store *s;
    triage_engine *en;
    triage_ws *ws;
    ny_err e;
    if (store_open(db, &(store_open_opts){0, 1}, &s, &e) != NY_OK ||
        triage_open(&(triage_opts){"data", NULL, s}, &en, &e) != NY_OK ||
        triage_ws_new(en, &ws, &e) != NY_OK)
        die(e.msg);
    store_pipeline(s, 1); /* as the server's committer handle */
    src sr = {0};
    if (store_groups_each(s, on_src_group, &sr, &e) != NY_OK)
        die(e.msg);
    sort_groups(&sr, cmp_gext);
    crows cr = {.cap = (size_t)rows, .to = &sr};
    cr.gid = malloc(cr.cap * sizeof *cr.gid);
    cr.text = malloc(cr.cap * sizeof *cr.text);
    cr.sender = malloc(cr.cap * sizeof *cr.sender);
    cr.name = malloc(cr.cap * sizeof *cr.name);
    if (!cr.gid || !cr.text || !cr.sender || !cr.name)
        die("out of memory");
    texts groups = {0}, tx = {0};
    if (src_db) { /* the first rows messages of the source, in id order */
        store *from;
        if (store_open(src_db, &(store_open_opts){0, 1}, &from, &e) != NY_OK ||
            store_groups_each(from, on_src_group, &cr.from, &e) != NY_OK)
            die(e.msg);
        sort_groups(&cr.from, cmp_gid);
        if (store_messages_each(from, on_ceiling_message, &cr, &e) != NY_OK)
            die(e.msg);
        store_close(from);
        if (cr.n < cr.cap)
            die("the source database has fewer messages than ROWS");
    } else { /* the texts over the groups, in turn */
        groups = read_lines(groups_file);
        tx = read_lines(texts_file);
        for (size_t k = 0; k < cr.cap; k++) {
            const char *ext = groups.s[k % groups.n];
            char **hit = bsearch(&ext, sr.gext, sr.ng, sizeof *sr.gext, cmp_ext);
            if (!hit)
                die("unknown group in the groups file");
            cr.gid[k] = sr.gid[hit - sr.gext];
            cr.text[k] = tx.s[k % tx.n];
            cr.sender[k] = "u1";
            cr.name[k] = "居民";
        }
        cr.n = cr.cap;
    }
    unit_of units = {0};
    if (store_groups_each(s, on_unit_group, &units, &e) != NY_OK)
        die(e.msg);
    /* the triage JSON the server would store, each row in its group */
    char **tri = malloc(cr.n * sizeof *tri);
    const char **intent = malloc(cr.n * sizeof *intent), **cat = malloc(cr.n * sizeof *cat);
    if (!tri || !intent || !cat)
        die("out of memory");
    for (size_t k = 0; k < cr.n; k++) {
        size_t u = unit_index(&units, cr.gid[k]);
        triage_result t;
        triage_group g = {units.kind[u], units.unit[u]};
        if (triage_message(ws, cr.text[k], strlen(cr.text[k]), &g, &t, &e) != NY_OK)
            die(e.msg);
        tri[k] = triage_json(&t);
        intent[k] = t.intent_name;
        cat[k] = t.category_name;
    }
    store_message *m = calloc((size_t)batch, sizeof *m);
    char(*ids)[32] = calloc((size_t)batch, sizeof *ids);
    int64_t *out = calloc((size_t)batch, sizeof *out);
    int *dup = calloc((size_t)batch, sizeof *dup);
    fx_row *fx = calloc((size_t)batch, sizeof *fx);
    sla *sl = NULL;
    if (!m || !ids || !out || !dup || !fx)
        die("out of memory");
    if (effects && sla_load("data", &sl, &e) != NY_OK)
        die(e.msg);
    long leads = 0;
    long long now = (long long)time(NULL);
    size_t ncommits = (size_t)((rows + batch - 1) / batch), c = 0;
    double *lat = malloc(ncommits * sizeof *lat);
    if (!lat)
        die("out of memory");
    double took = 0; /* in the commits only: not the triage of the effects */
    long done = 0;
    while (done < rows) {
        long n = rows - done < batch ? rows - done : batch;
        for (long i = 0; i < n; i++) {
            long k = done + i;
            snprintf(ids[i], sizeof ids[i], "s%lld-%ld", now, k);
            m[i] = (store_message){0,   cr.gid[k],  "ceiling", ids[i], cr.sender[k], cr.name[k],
                                   now, cr.text[k], intent[k], cat[k], tri[k]};
            if (effects)
                fx_triage(s, ws, &units, &m[i], &fx[i]);
        }
        double c0 = bench_wall_now();
        /* as the server's group commit runs it: a transaction with the
         * request's writes in a savepoint */
        if (store_begin(s, &e) != NY_OK || store_savepoint(s, &e) != NY_OK ||
            store_message_ingest_batch(s, m, (size_t)n, out, dup, &e) != NY_OK)
            die(e.msg);
        if (effects)
            leads += fx_write(s, sl, &units, m, out, dup, fx, n, now);
        if (store_savepoint_release(s, &e) != NY_OK || store_commit(s, &e) != NY_OK)
            die(e.msg);
        took += bench_wall_now() - c0;
        lat[c++] = (bench_wall_now() - c0) * 1e3;
        done += n;
    }
    qsort(lat, c, sizeof *lat, bench_cmp_double);
    printf("mode=%s batch=%ld rows=%ld leads=%ld seconds=%.2f rows_per_s=%.0f commits_per_s=%.0f "
           "commit_p50_ms=%.2f commit_p99_ms=%.2f commit_max_ms=%.2f\n",
           effects ? "store_effects" : "store", batch, rows, leads, took, (double)rows / took,
           (double)c / took, lat[c / 2], lat[(size_t)((double)c * 0.99)], lat[c - 1]);
    for (size_t i = 0; i < units.n; i++) {
        free(units.unit[i]);
        free(units.kind[i]);
    }
    free(units.gid);
    free(units.unit);
    free(units.kind);
    for (long i = 0; i < batch; i++)
        free(fx[i].payload);
    for (size_t k = 0; k < cr.n; k++) {
        free(tri[k]);
        if (src_db) {
            free((char *)cr.text[k]);
            free((char *)cr.sender[k]);
            free((char *)cr.name[k]);
        }
    }
    free(tri);
    free(intent);
    free(cat);
    free(cr.gid);
    free(cr.text);
    free(cr.sender);
    free(cr.name);
    texts_free(&groups);
    texts_free(&tx);
    free(fx);
    free(m);
    free(ids);
    free(out);
    free(dup);
    sla_free(sl);
    free(lat);
    triage_ws_free(ws);
    triage_close(en);
    store_close(s);
    return 0;
}
