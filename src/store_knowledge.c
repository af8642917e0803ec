/* store_knowledge.c - single-entry reads and edits of policies and lexicon,
 * and the data signature servers compare to notice changes made elsewhere.
 *
 * Inserts go through the drivers' batch entries (their checks and error
 * mapping); reads, updates and deletes are portable SQL by key. Each edit
 * bumps its cache version so every node rebuilds its assistant; the staff
 * API runs edit and bump in one transaction. */
#include "store_knowledge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sql.h"

struct sig {
    char *out;
    size_t n;
};

static int on_sig(void *ctx, const store_row *row)
{
    struct sig *g = ctx;
    size_t used = strlen(g->out);
    for (int i = 0; i < row->ncols && used + 1 < g->n; i++) {
        snprintf(g->out + used, g->n - used, "%s%s", i ? ":" : "",
                 row->vals[i] ? row->vals[i] : "-");
        used = strlen(g->out);
    }
    return NY_OK;
}

int store_data_signature(store *s, char *out, size_t n, ny_err *e)
{
    const char *caches[3] = {"lexicon", "policies", "groups"};
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        int64_t v = 0;
        int rc = store_cache_version(s, caches[i], &v, e);
        if (rc != NY_OK)
            return rc;
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%lld/", (long long)v);
    }
    struct sig g = {out, n};
    return store_sql(s,
                     "SELECT (SELECT count(*) FROM chat_groups),(SELECT max(id) FROM chat_groups),"
                     "(SELECT count(*) FROM staff),(SELECT max(id) FROM staff),"
                     "(SELECT count(*) FROM units),(SELECT max(id) FROM units)",
                     NULL, 0, on_sig, &g, NULL, e);
}

/* ---- policies ------------------------------------------------------------------ */

#define POLICY_COLS                                                                                \
    "id,code,title,category,audience,department,summary,eligibility,how_to_apply,keywords"

struct one_policy {
    int (*fn)(void *ctx, const store_policy *p);
    void *ctx;
};

static int on_policy(void *ctx, const store_row *r)
{
    struct one_policy *o = ctx;
    store_policy p = {store_row_int(r, 0),  store_row_text(r, 1), store_row_text(r, 2),
                      store_row_text(r, 3), store_row_text(r, 4), store_row_text(r, 5),
                      store_row_text(r, 6), store_row_text(r, 7), store_row_text(r, 8),
                      store_row_text(r, 9)};
    return o->fn(o->ctx, &p);
}

static int found(void *ctx, const store_row *r)
{
    (void)r;
    *(int *)ctx = 1;
    return NY_OK;
}

int store_policy_get(store *s, const char *code, int (*fn)(void *ctx, const store_policy *p),
                     void *ctx, ny_err *e)
{
    struct one_policy o = {fn, ctx};
    int seen = 0;
    store_val k = SV_TEXT(code);
    int rc = store_sql(s, "SELECT 1 FROM policies WHERE code=?", &k, 1, found, &seen, NULL, e);
    if (rc == NY_OK && !seen)
        return ny_err_set(e, NY_ENOTFOUND, "没有该政策 / no policy %s", code);
    if (rc == NY_OK)
        rc = store_sql(s, "SELECT " POLICY_COLS " FROM policies WHERE code=?", &k, 1, on_policy, &o,
                       NULL, e);
    return rc;
}

int store_policy_insert(store *s, const store_policy *p, ny_err *e)
{
    int rc = store_policy_put_batch(s, p, 1, NULL, e);
    return rc == NY_OK ? store_cache_bump(s, "policies", e) : rc;
}

/* rc, or NY_ENOTFOUND when nothing changed; bumps name when something did. */
static int changed(store *s, int rc, long n, const char *name, const char *what, const char *key,
                   ny_err *e)
{
    if (rc != NY_OK)
        return rc;
    if (n == 0)
        return ny_err_set(e, NY_ENOTFOUND, "没有该条目 / no %s %s", what, key);
    return store_cache_bump(s, name, e);
}

int store_policy_update(store *s, const store_policy *p, ny_err *e)
{
    store_val v[9] = {SV_TEXT(p->title),        SV_TEXT(p->category), SV_TEXT(p->audience),
                      SV_TEXT(p->department),   SV_TEXT(p->summary),  SV_TEXT(p->eligibility),
                      SV_TEXT(p->how_to_apply), SV_TEXT(p->keywords), SV_TEXT(p->code)};
    long n = 0;
    int rc = store_sql(s,
                       "UPDATE policies SET title=?,category=?,audience=?,department=?,summary=?,"
                       "eligibility=?,how_to_apply=?,keywords=? WHERE code=?",
                       v, 9, NULL, NULL, &n, e);
    return changed(s, rc, n, "policies", "policy", p->code, e);
}

int store_policy_delete(store *s, const char *code, ny_err *e)
{
    store_val k = SV_TEXT(code);
    long n = 0;
    int rc = store_sql(s, "DELETE FROM policies WHERE code=?", &k, 1, NULL, NULL, &n, e);
    return changed(s, rc, n, "policies", "policy", code, e);
}

/* ---- lexicon ------------------------------------------------------------------- */

struct one_lexeme {
    int (*fn)(void *ctx, const store_lexeme *l);
    void *ctx;
};

static int on_lexeme(void *ctx, const store_row *r)
{
    struct one_lexeme *o = ctx;
    store_lexeme l = {store_row_int(r, 0),  store_row_text(r, 1),
                      store_row_text(r, 2), store_row_text(r, 3),
                      store_row_text(r, 4), strtod(store_row_text(r, 5), NULL),
                      store_row_text(r, 6)};
    return o->fn(o->ctx, &l);
}

int store_lexeme_get(store *s, const char *term, int (*fn)(void *ctx, const store_lexeme *l),
                     void *ctx, ny_err *e)
{
    struct one_lexeme o = {fn, ctx};
    int seen = 0;
    store_val k = SV_TEXT(term);
    int rc = store_sql(s, "SELECT 1 FROM lexicon WHERE term=?", &k, 1, found, &seen, NULL, e);
    if (rc == NY_OK && !seen)
        return ny_err_set(e, NY_ENOTFOUND, "没有该关键词 / no lexicon term %s", term);
    if (rc == NY_OK)
        rc =
            store_sql(s,
                      "SELECT id,term,kind,intent,category,CAST(weight AS TEXT),action FROM lexicon"
                      " WHERE term=?",
                      &k, 1, on_lexeme, &o, NULL, e);
    return rc;
}

int store_lexeme_insert(store *s, const store_lexeme *l, ny_err *e)
{
    int rc = store_lexicon_put_batch(s, l, 1, NULL, e);
    return rc == NY_OK ? store_cache_bump(s, "lexicon", e) : rc;
}

int store_lexeme_update(store *s, const store_lexeme *l, ny_err *e)
{
    char w[32];
    snprintf(w, sizeof w, "%.17g", l->weight);
    store_val v[6] = {SV_TEXT(l->kind),     SV_TEXT(l->intent),
                      SV_TEXT(l->category), (store_val){STORE_VTEXT, 0, w},
                      SV_TEXT(l->action),   SV_TEXT(l->term)};
    long n = 0;
    int rc = store_sql(
        s,
        "UPDATE lexicon SET kind=?,intent=?,category=?,weight=CAST(? AS DOUBLE PRECISION),"
        "action=? WHERE term=?",
        v, 6, NULL, NULL, &n, e);
    return changed(s, rc, n, "lexicon", "term", l->term, e);
}

int store_lexeme_delete(store *s, const char *term, ny_err *e)
{
    store_val k = SV_TEXT(term);
    long n = 0;
    int rc = store_sql(s, "DELETE FROM lexicon WHERE term=?", &k, 1, NULL, NULL, &n, e);
    return changed(s, rc, n, "lexicon", "term", term, e);
}
