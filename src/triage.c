/* triage.c - the assistant's engine and its per-message pipeline (triage.h).
 *
 * The engine gathers what the other modules provide: the normalisation table
 * (norm_), the lexicon compiled into a keyword automaton (match_), the policy
 * index (policy_), the intent and category models (model_) and, from a
 * database, the organisation that says who is told (triage_org.c). Each
 * lexicon version pairs the automaton with the rows it was compiled from plus
 * the decision's cue words (triage_decide.c) and the emergency safety rule's
 * terms (model_emergency_terms), so one scan serves the model features, the
 * keywords of the result, the decision and the safety rule. A version is
 * published through a match_holder; the engine's list of live versions maps
 * the automaton a thread acquired back to its rows, and a workspace keeps a
 * reference to the version of its last message so the keyword strings of
 * its result stay valid however often the lexicon is reloaded meanwhile.
 *
 * triage_message then runs: normalise, scan, features, the two models (a
 * message that is empty after normalisation is other and 无 without them),
 * the emergency safety rule, the policy ranker for consult and help, and the
 * decision. It allocates only when a message is larger than any before it
 * on the workspace. */
#include "triage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

#include "domain.h"
#include "triage_int.h"

/* ---- lexicon versions ------------------------------------------------------ */

static void lex_free(tri_lex *x)
{
    if (!x)
        return;
    match_release(x->set);
    free(x->ent);
    free(x->pool);
    free(x);
}

static const char *const actions[] = {"", "notify_grid", "notify_community", "urgent", NULL};

/* Checks row i and fills entry x from it; the term is copied to *pool. */
static int entry_from_row(const store_lexeme *row, size_t i, tri_entry *x, char **pool, ny_err *e)
{
    int in = *row->intent ? domain_index(domain_intents, row->intent) : -2;
    int ca = *row->category ? domain_index(domain_categories, row->category) : -2;
    int ac = domain_index(actions, row->action);
    if (in == -1 || ca == -1 || ac < 0 || !(row->weight > 0) || !*row->term)
        return ny_err_set_at(e, NY_EINVAL, (long)i,
                             "lexicon row %zu (%.80s): bad intent, category, action or weight", i,
                             row->term);
    size_t tl = strlen(row->term) + 1;
    memcpy(*pool, row->term, tl);
    *x = (tri_entry){*pool,
                     in >= 0 ? domain_intents[in] : "",
                     ca >= 0 ? domain_categories[ca] : "",
                     actions[ac],
                     (float)row->weight,
                     ac == 3   ? TRI_URGENT
                     : ac == 2 ? TRI_COMMUNITY
                               : 0u,
                     -1,
                     0,
                     {{0, 0}, {0, 0}}};
    x->nfeat = model_hint_features(x->term, x->intent, x->category, x->weight, x->feat, 0, 3);
    *pool += tl;
    return NY_OK;
}

/* Compiles n lexicon rows plus the decision cues into a new version. */
static int lex_build(const norm_table *nt, const store_lexeme *rows, size_t n, tri_lex **out,
                     ny_err *e)
{
    *out = NULL;
    const char *const *rule;
    size_t nrule = model_emergency_terms(&rule);
    size_t total = n + tri_ncues + nrule, bytes = 1;
    for (size_t i = 0; i < n; i++)
        bytes += strlen(rows[i].term ? rows[i].term : "") + 1;
    tri_lex *x = calloc(1, sizeof *x);
    const char **terms = malloc(total * sizeof *terms);
    if (x) {
        x->ent = malloc(total * sizeof *x->ent);
        x->pool = malloc(bytes);
    }
    if (!x || !terms || !x->ent || !x->pool) {
        free(terms);
        lex_free(x);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    char *pool = x->pool;
    int rc = NY_OK;
    for (size_t i = 0; i < n && rc == NY_OK; i++) {
        store_lexeme row = rows[i];
        row.term = row.term ? row.term : "";
        row.intent = row.intent ? row.intent : "";
        row.category = row.category ? row.category : "";
        row.action = row.action ? row.action : "";
        rc = entry_from_row(&row, i, &x->ent[i], &pool, e);
        terms[i] = x->ent[i].term;
    }
    for (size_t k = 0; k < tri_ncues && rc == NY_OK; k++) {
        x->ent[n + k] =
            (tri_entry){tri_cues[k].term, "", "", "", 0, tri_cues[k].flags, tri_cues[k].category, 0,
                        {{0, 0}, {0, 0}}};
        terms[n + k] = tri_cues[k].term;
    }
    for (size_t k = 0; k < nrule && rc == NY_OK; k++) {
        x->ent[n + tri_ncues + k] = (tri_entry){rule[k], "", "", "", 0, 0, -1, 0, {{0, 0}, {0, 0}}};
        terms[n + tri_ncues + k] = rule[k];
    }
    if (rc == NY_OK)
        rc = match_compile_terms(nt, terms, total, &x->set, e);
    free(terms);
    if (rc != NY_OK) {
        lex_free(x);
        return rc;
    }
    x->nlex = n;
    x->ntotal = total;
    x->rule_base = n + tri_ncues;
    x->nrule = nrule;
    *out = x;
    return NY_OK;
}

static void lock(atomic_flag *f)
{
    while (atomic_flag_test_and_set(f))
        thrd_yield();
}

/* Drops a workspace's reference to x; frees x when it was retired and this
 * was the last reference. */
static void lex_unref(triage_engine *en, tri_lex *x)
{
    if (!x)
        return;
    int dead = 0;
    lock(&en->lock);
    if (--x->refs == 0 && x->retired) {
        for (tri_lex **p = &en->lexes; *p; p = &(*p)->next)
            if (*p == x) {
                *p = x->next;
                break;
            }
        dead = 1;
    }
    atomic_flag_clear(&en->lock);
    if (dead)
        lex_free(x);
}

/* Makes x the current version: listed first, then published. The previous
 * current version (the one listed that is not retired) is retired and freed
 * unless a workspace still holds it. Publications are serialised as a whole,
 * so the holder's current set is always the newest listed version; the list
 * itself changes under the engine's lock. */
static void lex_publish(triage_engine *en, tri_lex *x)
{
    lock(&en->publish);
    lock(&en->lock);
    tri_lex *old = en->lexes;
    while (old && old->retired)
        old = old->next;
    x->next = en->lexes;
    en->lexes = x;
    atomic_flag_clear(&en->lock);
    match_holder_swap(en->holder, match_retain(x->set));
    int dead = 0;
    lock(&en->lock);
    if (old) {
        old->retired = 1;
        dead = old->refs == 0;
    }
    for (tri_lex **p = &en->lexes; dead && *p; p = &(*p)->next)
        if (*p == old) {
            *p = old->next;
            break;
        }
    atomic_flag_clear(&en->lock);
    atomic_flag_clear(&en->publish);
    if (dead)
        lex_free(old);
}

/* Points ws at the current version (with a reference), keeping its own when
 * it is still current. */
static int ws_lex(triage_ws *ws, ny_err *e)
{
    triage_engine *en = ws->en;
    tri_lex *found = NULL;
    for (;;) {
        match_set *s = match_holder_acquire(en->holder);
        if (ws->lex && ws->lex->set == s) {
            match_release(s);
            return NY_OK;
        }
        lock(&en->lock);
        for (tri_lex *x = en->lexes; x; x = x->next)
            if (x->set == s) {
                found = x;
                x->refs++;
                break;
            }
        atomic_flag_clear(&en->lock);
        match_release(s);
        if (found)
            break;
        /* s was retired and unlisted between acquire and lookup: take the newer one */
    }
    if (ws->seencap < found->ntotal) {
        uint32_t *seen = realloc(ws->seen, found->ntotal * sizeof *seen);
        if (!seen) {
            lex_unref(en, found);
            return ny_err_set(e, NY_ERR, "out of memory");
        }
        ws->seen = seen;
        ws->seencap = found->ntotal;
    }
    memset(ws->seen, 0, found->ntotal * sizeof *ws->seen);
    ws->stamp = 0;
    lex_unref(en, ws->lex);
    ws->lex = found;
    return NY_OK;
}

int triage_reload_rows(triage_engine *en, const store_lexeme *rows, size_t n, ny_err *e)
{
    ny_err_clear(e);
    tri_lex *x;
    int rc = lex_build(en->nt, rows, n, &x, e);
    if (rc != NY_OK)
        return rc;
    lex_publish(en, x);
    return NY_OK;
}

/* Reads the lexicon rows from db (when not NULL) or else, or when db has
 * none, from the default file. */
static int read_lexicon(const triage_engine *en, store *db, tri_lexrows *l, ny_err *e)
{
    if (db) {
        ny_err_clear(e);
        int rc = tri_each_result(store_lexicon_each(db, tri_lexrows_add, l, e), e);
        if (rc != NY_OK)
            return rc;
        if (l->n)
            return NY_OK;
    }
    return tri_lexrows_load_csv(l, en->lexicon_path, e);
}

int triage_reload(triage_engine *en, store *db, ny_err *e)
{
    ny_err_clear(e);
    tri_lexrows l = {NULL, 0, 0, NULL};
    int rc = read_lexicon(en, db, &l, e);
    if (rc == NY_OK)
        rc = triage_reload_rows(en, l.v, l.n, e);
    tri_lexrows_free(&l);
    return rc;
}

size_t triage_lexicon_size(triage_engine *en)
{
    match_set *s = match_holder_acquire(en->holder);
    const char *const *rule;
    size_t n = match_entries(s) - tri_ncues - model_emergency_terms(&rule);
    match_release(s);
    return n;
}

/* ---- engine ---------------------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (p) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    }
    return p;
}

/* One model to load, possibly on a thread of its own. */
typedef struct model_job {
    const char *dir, *file;
    const char *const *vocab;
    model_clf *m;
    int *map;
    model_joint *joint;
    int rc;
    ny_err e;
} model_job;

/* Maps the labels of j's model onto the domain list. */
static void map_labels(model_job *j, const char *path)
{
    for (size_t i = 0; j->rc == NY_OK && i < model_nclasses(j->m); i++)
        if ((j->map[i] = domain_index(j->vocab, model_label(j->m, i))) < 0)
            j->rc =
                ny_err_set(&j->e, NY_EINVAL, "%s: unknown class '%s'", path, model_label(j->m, i));
}

/* Loads the models of jobs (the long-text category model jobs[2] is
 * optional: without its file, every text goes to jobs[1]): the intent and
 * category models with their joint table in jobs[0].joint when they hash
 * text the same way (model_joint_load), each whole otherwise. */
static void *load_models(void *arg)
{
    model_job *jobs = arg;
    char *path[3];
    for (int k = 0; k < 3; k++)
        path[k] = path_join(jobs[k].dir, jobs[k].file);
    if (!path[0] || !path[1] || !path[2]) {
        jobs[0].rc = ny_err_set(&jobs[0].e, NY_ERR, "out of memory");
    } else {
        jobs[2].rc = model_load(path[2], &jobs[2].m, &jobs[2].e);
        map_labels(&jobs[2], path[2]);
        if (jobs[2].rc == NY_ENOTFOUND)
            jobs[2].rc = NY_OK;
        if (jobs[2].rc == NY_OK)
            jobs[0].rc = model_joint_load(path[0], path[1], &jobs[0].m, &jobs[1].m, &jobs[0].joint,
                                          &jobs[0].e);
        if (jobs[0].rc == NY_OK) {
            map_labels(&jobs[0], path[0]);
            map_labels(&jobs[1], path[1]);
        }
    }
    for (int k = 0; k < 3; k++)
        free(path[k]);
    return NULL;
}

static int load_policies(triage_engine *en, const char *data_dir, store *db, ny_err *e)
{
    int rc = NY_OK;
    ny_err_clear(e);
    if (db && (rc = tri_each_result(store_policies_each(db, policy_list_add, &en->policies, e),
                                    e)) != NY_OK)
        return rc;
    if (en->policies.n == 0) {
        char *path = path_join(data_dir, "policies.csv");
        if (!path)
            return ny_err_set(e, NY_ERR, "out of memory");
        rc = access(path, F_OK) == 0 ? policy_list_load_csv(&en->policies, path, e)
                                     : ny_err_set(e, NY_ENOTFOUND, "%s: no such file", path);
        free(path);
        if (rc != NY_OK)
            return rc;
    }
    size_t n = en->policies.n;
    if (!(en->cuts = malloc((2 * n + 1) * sizeof *en->cuts)))
        return ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; i < n; i++) { /* as the consultation reply quotes them */
        en->cuts[2 * i] = tri_cut(en->policies.rows[i].summary, 1, 90);
        en->cuts[2 * i + 1] = tri_cut(en->policies.rows[i].how_to_apply, 0, 60);
    }
    return policy_index_build(en->policies.rows, n, &en->pix, e);
}

/* The normalisation table, built on a thread of its own, and after it,
 * without a database (nothing to share with the calling thread), the
 * policies; ready tells the calling thread, which needs the table for the
 * lexicon but not the policies, that it may go on. */
typedef struct norm_job {
    triage_engine *en;
    const char *data_dir;
    int policies; /* load the policies here */
    norm_table *nt;
    int rc, prc; /* the table's result and the policies' */
    ny_err e, pe;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
} norm_job;

static void *open_norm(void *arg)
{
    norm_job *j = arg;
    j->rc = norm_open(&j->nt, &j->e);
    pthread_mutex_lock(&j->mu);
    j->ready = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (j->rc == NY_OK && j->policies)
        j->prc = load_policies(j->en, j->data_dir, NULL, &j->pe);
    return NULL;
}

int triage_open(const triage_opts *o, triage_engine **out, ny_err *e)
{
    ny_err_clear(e);
    *out = NULL;
    if (!o || !o->data_dir)
        return ny_err_set(e, NY_EINVAL, "triage_open: no data directory");
    triage_engine *en = calloc(1, sizeof *en);
    if (!en)
        return ny_err_set(e, NY_ERR, "out of memory");
    atomic_flag_clear(&en->lock);
    atomic_flag_clear(&en->publish);
    char *models = o->models_dir ? strdup(o->models_dir) : path_join(o->data_dir, "models");
    en->lexicon_path = path_join(o->data_dir, "lexicon.csv");
    int rc = models && en->lexicon_path ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
    /* the models load on a second thread while this one builds the rest */
    model_job jobs[3] = {
        {models, "intent.model", domain_intents, NULL, en->intent_map, NULL, NY_OK, {0, -1, ""}},
        {models,
         "category.model",
         domain_categories,
         NULL,
         en->category_map,
         NULL,
         NY_OK,
         {0, -1, ""}},
        {models,
         "category_long.model",
         domain_categories,
         NULL,
         en->long_map,
         NULL,
         NY_OK,
         {0, -1, ""}}};
    /* and the normalisation table (and, without a database, the policies) on
     * a third, which the lexicon waits for */
    norm_job nj = {.en = en,
                   .data_dir = o->data_dir,
                   .policies = !o->db,
                   .mu = PTHREAD_MUTEX_INITIALIZER,
                   .cv = PTHREAD_COND_INITIALIZER};
    pthread_t th, tn;
    int threaded = rc == NY_OK && pthread_create(&th, NULL, load_models, jobs) == 0;
    if (rc == NY_OK && !threaded)
        load_models(jobs);
    int nthreaded = rc == NY_OK && pthread_create(&tn, NULL, open_norm, &nj) == 0;
    if (rc == NY_OK && !nthreaded)
        open_norm(&nj);
    if (rc == NY_OK && o->db)
        rc = load_policies(en, o->data_dir, o->db, e);
    if (rc == NY_OK && o->db)
        rc = tri_org_load(&en->org, o->db, e);
    tri_lexrows l = {NULL, 0, 0, NULL};
    tri_lex *x = NULL;
    if (rc == NY_OK)
        rc = read_lexicon(en, o->db, &l, e);
    pthread_mutex_lock(&nj.mu);
    while (nthreaded && !nj.ready)
        pthread_cond_wait(&nj.cv, &nj.mu);
    pthread_mutex_unlock(&nj.mu);
    en->nt = nj.nt;
    if (rc == NY_OK && (rc = nj.rc) != NY_OK && e)
        *e = nj.e;
    if (rc == NY_OK)
        rc = lex_build(en->nt, l.v, l.n, &x, e);
    tri_lexrows_free(&l);
    if (nthreaded)
        pthread_join(tn, NULL);
    if (rc == NY_OK && (rc = nj.prc) != NY_OK && e)
        *e = nj.pe;
    if (threaded)
        pthread_join(th, NULL);
    free(models);
    en->intent_m = jobs[0].m;
    en->category_m = jobs[1].m;
    en->long_m = jobs[2].m;
    en->joint = jobs[0].joint;
    for (size_t i = 0; domain_intents[i]; i++)
        model_intent_feature(domain_intents[i], &en->said[i], 0, 1);
    for (int k = 0; k < 3 && rc == NY_OK; k++)
        if ((rc = jobs[k].rc) != NY_OK && e)
            *e = jobs[k].e;
    if (rc == NY_OK && (rc = match_holder_new(match_retain(x->set), &en->holder, e)) == NY_OK)
        en->lexes = x;
    else
        lex_free(x);
    if (rc != NY_OK) {
        triage_close(en);
        return rc;
    }
    *out = en;
    return NY_OK;
}

void triage_close(triage_engine *en)
{
    if (!en)
        return;
    match_holder_free(en->holder);
    while (en->lexes) {
        tri_lex *x = en->lexes;
        en->lexes = x->next;
        lex_free(x);
    }
    model_joint_free(en->joint);
    model_free(en->intent_m);
    model_free(en->category_m);
    model_free(en->long_m);
    policy_index_free(en->pix);
    free(en->cuts);
    policy_list_free(&en->policies);
    tri_org_free(&en->org);
    norm_close(en->nt);
    free(en->lexicon_path);
    free(en);
}

int triage_find_group(const triage_engine *en, const char *external_id, triage_group *g, ny_err *e)
{
    const tri_group *x = external_id ? tri_org_group(&en->org, external_id) : NULL;
    if (!x)
        return ny_err_set(e, NY_ENOTFOUND, "no group with external id '%.200s'",
                          external_id ? external_id : "");
    g->kind = x->kind;
    g->unit_code = x->unit_code;
    return NY_OK;
}

/* ---- workspace and pipeline ------------------------------------------------ */

int triage_ws_new(triage_engine *en, triage_ws **out, ny_err *e)
{
    *out = NULL;
    triage_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return ny_err_set(e, NY_ERR, "out of memory");
    ws->en = en;
    int rc = model_ws_new(model_get_spec(en->intent_m), &ws->mi, e);
    if (rc == NY_OK)
        rc = model_ws_new(model_get_spec(en->category_m), &ws->mc, e);
    if (rc == NY_OK && en->long_m)
        rc = model_ws_new(model_get_spec(en->long_m), &ws->ml, e);
    if (rc != NY_OK) {
        triage_ws_free(ws);
        return rc;
    }
    *out = ws;
    return NY_OK;
}

void triage_ws_free(triage_ws *ws)
{
    if (!ws)
        return;
    lex_unref(ws->en, ws->lex);
    norm_buf_free(&ws->nb);
    match_hits_free(&ws->hits);
    model_ws_free(ws->mi);
    model_ws_free(ws->mc);
    model_ws_free(ws->ml);
    free(ws->kw);
    free(ws->seen);
    free(ws->reply);
    free(ws);
}

/* Turns the hits of the scan into keywords, model features and signals;
 * returns the number of features. */
static size_t collect(triage_ws *ws, triage_result *r, tri_signals *s)
{
    const tri_lex *lx = ws->lex;
    size_t nf = 0, nk = 0;
    if (++ws->stamp == 0) {
        memset(ws->seen, 0, lx->ntotal * sizeof *ws->seen);
        ws->stamp = 1;
    }
    for (size_t i = 0; i < ws->hits.n; i++) {
        const match_hit *h = &ws->hits.v[i];
        const tri_entry *x = &lx->ent[h->entry];
        s->flags |= x->flags;
        if (h->entry >= lx->nlex) {
            if (x->flags & TRI_DISTRICT)
                s->district_mask |= 1u << x->cue_category;
            continue;
        }
        for (size_t k = 0; k < x->nfeat && nf < MODEL_MAX_EXTRA; k++)
            ws->extra[nf++] = x->feat[k];
        triage_keyword *kw = &ws->kw[nk++];
        size_t os, oe;
        norm_span(&ws->nb, h->start, h->end, &os, &oe);
        *kw = (triage_keyword){x->term,
                               x->intent,
                               x->category,
                               x->action,
                               x->weight,
                               h->entry,
                               h->start,
                               h->end,
                               (uint32_t)os,
                               (uint32_t)oe,
                               ws->seen[h->entry] == ws->stamp};
        ws->seen[h->entry] = ws->stamp;
    }
    r->keywords = ws->kw;
    r->nkeywords = nk;
    return nf;
}

int triage_message(triage_ws *ws, const char *text, size_t len, const triage_group *g,
                   triage_result *r, ny_err *e)
{
    enum { NONE = 7 }; /* domain_categories: 无 */
    triage_engine *en = ws->en;
    const char *kind = g ? g->kind : NULL;
    if (kind && domain_index(domain_group_kinds, kind) < 0)
        return ny_err_set(e, NY_EINVAL, "group kind '%.40s' is not resident or enterprise", kind);
    if (len > TRIAGE_MAX_TEXT)
        len = TRIAGE_MAX_TEXT;
    int rc = norm_text(en->nt, text, len, NORM_OFFSETS, &ws->nb, e);
    if (rc == NY_OK)
        rc = ws_lex(ws, e);
    if (rc == NY_OK)
        rc = match_scan(ws->lex->set, ws->nb.s, ws->nb.len, &ws->hits, e);
    if (rc != NY_OK)
        return rc;
    if (ws->kwcap < ws->hits.n) {
        size_t cap = ws->hits.n + 64;
        triage_keyword *kw = realloc(ws->kw, cap * sizeof *kw);
        if (!kw)
            return ny_err_set(e, NY_ERR, "out of memory");
        ws->kw = kw;
        ws->kwcap = cap;
    }
    tri_signals sig = {0, 0};
    size_t nf = collect(ws, r, &sig);
    const char *t = ws->nb.s;
    size_t tl = ws->nb.len;
    r->norm = t;
    r->norm_len = tl;
    static const int EMERGENCY = 3, CONSULT = 0, HELP = 1, OTHER = 5; /* domain_intents order */
    /* the category model's scores */
    float sc[MODEL_MAX_CLASSES];
    if (tl == 0) { /* nothing left to read (empty, blank, control characters only) */
        r->intent = OTHER;
        r->category = NONE;
    } else if (en->joint) {
        int best[2];
        model_joint_predict(en->joint, ws->mi, t, tl, ws->extra, nf, best, NULL, sc);
        r->intent = en->intent_map[best[0]];
        r->category = en->category_map[best[1]];
    } else {
        r->intent = en->intent_map[model_predict(en->intent_m, ws->mi, t, tl, ws->extra, nf, NULL)];
        r->category =
            en->category_map[model_predict(en->category_m, ws->mc, t, tl, ws->extra, nf, sc)];
    }
    if (tl) { /* the category model also reads the intent found (model_intent_feature) */
        if (en->joint)
            model_joint_add_extras(en->joint, 1, model_ws_chars(ws->mi), &en->said[r->intent], 1,
                                   sc);
        else
            model_add_extras(en->category_m, model_ws_chars(ws->mi), &en->said[r->intent], 1, sc);
        r->category =
            en->category_map[model_best_except(en->category_m, sc, model_ws_chars(ws->mi), -1)];
    }
    if (r->intent == OTHER && tl && model_ws_chars(ws->mi) <= MODEL_CHATTER_CHARS)
        r->category = NONE; /* chatter has no domain (as `nuanyang eval` scores it) */
    else if (r->category == NONE && tl && model_ws_chars(ws->mi) > MODEL_CHATTER_CHARS &&
             ((r->intent != OTHER && r->intent != HELP) ||
              model_ws_chars(ws->mi) > MODEL_NONE_CHARS)) /* no chatter: it has a domain */
        r->category = en->category_map[model_best_except(en->category_m, sc, model_ws_chars(ws->mi),
                                                         model_label_index(en->category_m, "无"))];
    if (tl && en->long_m && model_ws_chars(ws->mi) > MODEL_SHORT_CHARS) /* an appeal */
        r->category = en->long_map[model_predict(en->long_m, ws->ml, t, tl, NULL, 0, NULL)];
    r->overridden = 0;
    int urgent = (sig.flags & TRI_URGENT) != 0;
    if (r->intent != EMERGENCY &&
        (ws->lex->nrule ? model_emergency_cue_hits(t, ws->hits.v, ws->hits.n,
                                                   (uint32_t)ws->lex->rule_base, urgent)
                        : model_emergency_cue(t, tl, urgent))) {
        r->intent = EMERGENCY;
        r->overridden = 1;
    }
    r->intent_name = domain_intents[r->intent];
    r->category_name = domain_categories[r->category];
    r->npolicies = 0;
    if (r->intent == CONSULT || r->intent == HELP) {
        policy_hit ph[TRIAGE_MAX_POLICIES];
        size_t np = 0;
        if ((rc = policy_rank(en->pix, t, tl, kind, ph, TRIAGE_MAX_POLICIES, &np, e)) != NY_OK)
            return rc;
        for (size_t i = 0; i < np; i++) {
            const store_policy *p = &en->policies.rows[ph[i].policy];
            r->policies[i] = (triage_policy){p->code,    p->title,        p->department,
                                             p->summary, p->how_to_apply, ph[i].score};
        }
        r->npolicies = np;
        if (np) {
            ws->cut[0] = en->cuts[2 * ph[0].policy];
            ws->cut[1] = en->cuts[2 * ph[0].policy + 1];
        }
    }
    return tri_decide(en, ws, g, &sig, r, e);
}

const char *triage_priority_name(int priority)
{
    static const char *const names[] = {"urgent", "high", "normal", "low"};
    return priority >= 0 && priority <= 3 ? names[priority] : "normal";
}
