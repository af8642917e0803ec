/* store.c - driver selection and dispatch for the storage interface.
 *
 * store_open() decides from the URI which engine driver serves the database
 * and every other store_* call forwards to that driver's table (see
 * store_driver.h). The account and connector calls first check their
 * arguments here, once for both engines, so that both refuse the same input
 * with the same code and message. Engine-independent services built only on
 * the domain interface, such as store_digest(), live in store_digest.c. */
#include "store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store_driver.h"
#include "store_notify.h"
#include "store_sql.h"

struct store {
    const struct store_driver *drv;
    void *impl;
};

/* A PostgreSQL URI or a libpq keyword/value string ("host=... dbname=..."). */
static int uri_is_postgres(const char *uri)
{
    if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0)
        return 1;
    /* keyword string: starts with "keyword=" where keyword is [a-z_]+ */
    size_t k = strspn(uri, "abcdefghijklmnopqrstuvwxyz_");
    return k > 0 && uri[k] == '=';
}

int store_open(const char *uri, const store_open_opts *opts, store **out, ny_err *e)
{
    static const store_open_opts defaults = {0, 0};
    ny_err_clear(e);
    *out = NULL;
    if (!uri || !*uri)
        return ny_err_set(e, NY_EINVAL,
                          "no database given (use --db FILE or --db postgresql://...)");
    store *s = calloc(1, sizeof *s);
    if (!s)
        return ny_err_set(e, NY_ERR, "out of memory");
    s->drv = uri_is_postgres(uri) ? &store_pg_driver : &store_sqlite_driver;
    int rc = s->drv->open(uri, opts ? opts : &defaults, &s->impl, e);
    if (rc != NY_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return NY_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    s->drv->close(s->impl);
    free(s);
}

const char *store_engine(const store *s)
{
    return s->drv->name;
}

int store_schema_version(store *s, int *version, ny_err *e)
{
    return s->drv->schema_version(s->impl, version, e);
}

int store_begin(store *s, ny_err *e)
{
    return s->drv->begin(s->impl, e);
}

int store_commit(store *s, ny_err *e)
{
    return s->drv->commit(s->impl, e);
}

int store_rollback(store *s, ny_err *e)
{
    return s->drv->rollback(s->impl, e);
}

void store_pipeline(store *s, int on)
{
    if (s->drv->pipeline)
        s->drv->pipeline(s->impl, on);
}

void store_busy_limit(store *s, int ms)
{
    if (s->drv->busy_limit)
        s->drv->busy_limit(s->impl, ms);
}

int store_sync(store *s, ny_err *e)
{
    ny_err_clear(e);
    return s->drv->sync ? s->drv->sync(s->impl, e) : NY_OK;
}

int store_end(store *s, int rc, ny_err *e)
{
    if (rc == NY_OK)
        rc = store_commit(s, e);
    if (rc != NY_OK) {
        ny_err keep = *e;
        store_rollback(s, NULL);
        *e = keep;
    }
    return rc;
}

int store_unit_put_batch(store *s, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->unit_put_batch(s->impl, u, n, ids_out, e);
}

int store_unit_get(store *s, const char *code, int (*fn)(void *ctx, const store_unit *u), void *ctx,
                   ny_err *e)
{
    return s->drv->unit_get(s->impl, code, fn, ctx, e);
}

/* Receives the root unit's level and code for store_units_subtree. */
struct subtree_root {
    char level[16];
    char code[32];
};

static int subtree_root_keep(void *ctx, const store_unit *u)
{
    struct subtree_root *r = ctx;
    if (strlen(u->level) >= sizeof r->level || strlen(u->code) >= sizeof r->code)
        return NY_EINVAL;
    strcpy(r->level, u->level);
    strcpy(r->code, u->code);
    return NY_OK;
}

int store_units_subtree(store *s, const char *root_code, int (*fn)(void *ctx, const store_unit *u),
                        void *ctx, ny_err *e)
{
    ny_err_clear(e);
    if (!root_code)
        return s->drv->units_prefixed(s->impl, NULL, fn, ctx, e);
    struct subtree_root r;
    char prefix[16];
    int rc = s->drv->unit_get(s->impl, root_code, subtree_root_keep, &r, e);
    if (rc == NY_OK && domain_unit_prefix(r.level, r.code, prefix, sizeof prefix) != NY_OK)
        rc = NY_EINVAL;
    if (rc == NY_EINVAL)
        return ny_err_set(e, rc, "unit '%s' has a malformed code", root_code);
    if (rc != NY_OK)
        return rc;
    return s->drv->units_prefixed(s->impl, prefix, fn, ctx, e);
}

int store_household_put_batch(store *s, const store_household *h, size_t n, int64_t *ids_out,
                              ny_err *e)
{
    return s->drv->household_put_batch(s->impl, h, n, ids_out, e);
}

int store_households_each(store *s, int (*fn)(void *ctx, const store_household *h), void *ctx,
                          ny_err *e)
{
    return s->drv->households_each(s->impl, fn, ctx, e);
}

int store_enterprise_put_batch(store *s, const store_enterprise *x, size_t n, int64_t *ids_out,
                               ny_err *e)
{
    return s->drv->enterprise_put_batch(s->impl, x, n, ids_out, e);
}

int store_enterprises_each(store *s, int (*fn)(void *ctx, const store_enterprise *x), void *ctx,
                           ny_err *e)
{
    return s->drv->enterprises_each(s->impl, fn, ctx, e);
}

int store_group_put_batch(store *s, const store_group *g, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->group_put_batch(s->impl, g, n, ids_out, e);
}

int store_groups_each(store *s, int (*fn)(void *ctx, const store_group *g), void *ctx, ny_err *e)
{
    return s->drv->groups_each(s->impl, fn, ctx, e);
}

int store_staff_put_batch(store *s, const store_staff *p, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->staff_put_batch(s->impl, p, n, ids_out, e);
}

int store_staff_each(store *s, int (*fn)(void *ctx, const store_staff *p), void *ctx, ny_err *e)
{
    return s->drv->staff_each(s->impl, fn, ctx, e);
}

int store_policy_put_batch(store *s, const store_policy *p, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->policy_put_batch(s->impl, p, n, ids_out, e);
}

int store_policies_each(store *s, int (*fn)(void *ctx, const store_policy *p), void *ctx, ny_err *e)
{
    return s->drv->policies_each(s->impl, fn, ctx, e);
}

int store_lexicon_put_batch(store *s, const store_lexeme *l, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->lexicon_put_batch(s->impl, l, n, ids_out, e);
}

int store_lexicon_each(store *s, int (*fn)(void *ctx, const store_lexeme *l), void *ctx, ny_err *e)
{
    return s->drv->lexicon_each(s->impl, fn, ctx, e);
}

int store_message_put_batch(store *s, const store_message *m, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->message_put_batch(s->impl, m, n, ids_out, e);
}

int store_messages_each(store *s, int (*fn)(void *ctx, const store_message *m), void *ctx,
                        ny_err *e)
{
    return s->drv->messages_each(s->impl, fn, ctx, e);
}

/* FNV-1a of a message's connector and external id. */
static uint64_t key_hash(const store_message *m)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)m->connector; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL; /* a byte no UTF-8 text holds separates the two */
    for (const unsigned char *p = (const unsigned char *)m->external_id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

/* For each element, the index of the first element of m with the same
 * connector and external id into first[] (itself when it is the first), by
 * one pass over an open-addressing table of slot indices (cap, a power of
 * two above n). */
static void first_of_key(const store_message *m, size_t n, size_t *slot, size_t cap, size_t *first)
{
    for (size_t k = 0; k < cap; k++)
        slot[k] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)key_hash(&m[i]) & (cap - 1);
        while (slot[k] != SIZE_MAX && (strcmp(m[slot[k]].connector, m[i].connector) != 0 ||
                                       strcmp(m[slot[k]].external_id, m[i].external_id) != 0))
            k = (k + 1) & (cap - 1);
        if (slot[k] == SIZE_MAX)
            slot[k] = i;
        first[i] = slot[k];
    }
}

/* One attempt of store_message_ingest_batch: finds what is stored (one
 * driver call), then inserts the rest as one batch. fresh and where are
 * scratch arrays of n; first[i] is the first element with i's key. */
static int ingest_once(store *s, const store_message *m, size_t n, const size_t *first,
                       int64_t *ids_out, int *dup, store_message *fresh, size_t *where, ny_err *e)
{
    int rc = s->drv->messages_find(s->impl, m, n, ids_out, e);
    if (rc != NY_OK)
        return rc;
    size_t nfresh = 0;
    for (size_t i = 0; i < n; i++) {
        long j = ids_out[i] || first[i] == i ? -1 : (long)first[i];
        dup[i] = ids_out[i] ? 1 : j >= 0 ? 2 + (int)j : 0; /* 2 + j: resolved after the insert */
        if (!dup[i]) {
            where[nfresh] = i;
            fresh[nfresh++] = m[i];
        }
    }
    int64_t *newids = calloc(nfresh ? nfresh : 1, sizeof *newids);
    if (!newids)
        return ny_err_set(e, NY_ERR, "out of memory");
    rc = nfresh ? s->drv->message_put_batch(s->impl, fresh, nfresh, newids, e) : NY_OK;
    if (rc != NY_OK && e && e->index >= 0 && (size_t)e->index < nfresh)
        e->index = (long)where[e->index];
    for (size_t k = 0; rc == NY_OK && k < nfresh; k++)
        ids_out[where[k]] = newids[k];
    free(newids);
    for (size_t i = 0; rc == NY_OK && i < n; i++)
        if (dup[i] >= 2) {
            ids_out[i] = ids_out[dup[i] - 2];
            dup[i] = 1;
        }
    return rc;
}

int store_message_ingest_batch(store *s, const store_message *m, size_t n, int64_t *ids_out,
                               int *duplicate_out, ny_err *e)
{
    ny_err_clear(e);
    if (n == 0)
        return NY_OK;
    for (size_t i = 0; i < n; i++)
        if (!m[i].connector || !m[i].external_id)
            return ny_err_set_at(e, NY_EINVAL, (long)i, "message %zu has no connector or id", i);
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    store_message *fresh = malloc(n * sizeof *fresh);
    size_t *where = malloc(n * sizeof *where), *first = malloc(n * sizeof *first),
           *slot = malloc(cap * sizeof *slot);
    int rc = NY_ERR;
    if (!fresh || !where || !first || !slot) {
        rc = ny_err_set(e, NY_ERR, "out of memory");
    } else {
        first_of_key(m, n, slot, cap, first);
        if (s->drv->message_ingest_batch)
            rc = s->drv->message_ingest_batch(s->impl, m, n, first, ids_out, duplicate_out, e);
        for (int attempt = 0; !s->drv->message_ingest_batch && attempt < 3; attempt++) {
            rc = ingest_once(s, m, n, first, ids_out, duplicate_out, fresh, where, e);
            if (rc != NY_EEXIST)
                break;
        }
    }
    free(fresh);
    free(where);
    free(first);
    free(slot);
    return rc;
}

int store_case_put_batch(store *s, const store_case *c, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->case_put_batch(s->impl, c, n, ids_out, e);
}

int store_cases_each(store *s, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e)
{
    return s->drv->cases_each(s->impl, fn, ctx, e);
}

int store_case_event_append_batch(store *s, const store_case_event *ev, size_t n, int64_t *ids_out,
                                  ny_err *e)
{
    return s->drv->case_event_append_batch(s->impl, ev, n, ids_out, e);
}

int store_case_events_each(store *s, int (*fn)(void *ctx, const store_case_event *ev), void *ctx,
                           ny_err *e)
{
    return s->drv->case_events_each(s->impl, fn, ctx, e);
}

int store_lead_put_batch(store *s, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->lead_put_batch(s->impl, l, n, ids_out, e);
}

int store_leads_count(store *s, const int64_t *unit_ids, const int64_t *created, size_t n,
                      ny_err *e)
{
    return s->drv->leads_count && n ? s->drv->leads_count(s->impl, unit_ids, created, n, e) : NY_OK;
}

int store_leads_each(store *s, int (*fn)(void *ctx, const store_lead *l), void *ctx, ny_err *e)
{
    return s->drv->leads_each(s->impl, fn, ctx, e);
}

int store_stats_get(store *s, store_stats *out, ny_err *e)
{
    return s->drv->stats_get(s->impl, out, e);
}

int store_job_enqueue(store *s, const store_job *job, int64_t *id_out, ny_err *e)
{
    return s->drv->job_enqueue(s->impl, job, id_out, e);
}

int store_job_claim(store *s, const char *kind, const char *worker, int64_t now, int lease_seconds,
                    store_job *job, ny_err *e)
{
    return s->drv->job_claim(s->impl, kind, worker, now, lease_seconds, job, e);
}

int store_job_done(store *s, int64_t id, const char *worker, int64_t now, ny_err *e)
{
    return s->drv->job_done(s->impl, id, worker, now, e);
}

int store_job_retry(store *s, int64_t id, const char *worker, int64_t retry_at, const char *error,
                    ny_err *e)
{
    return s->drv->job_retry(s->impl, id, worker, retry_at, error, e);
}

int store_cache_version(store *s, const char *name, int64_t *version, ny_err *e)
{
    return s->drv->cache_version(s->impl, name, version, e);
}

int store_cache_bump(store *s, const char *name, ny_err *e)
{
    return s->drv->cache_bump(s->impl, name, e);
}

/* ---- accounts and connectors: argument checks, then the driver ------------ */

static const char *const connector_kinds[] = {"webhook", "wecom", NULL};

static int need_account(const char *account, ny_err *e)
{
    ny_err_clear(e);
    if (!account || !*account)
        return ny_err_set(e, NY_EINVAL, "no account given");
    return NY_OK;
}

static int need_hash(const char *hash, ny_err *e)
{
    ny_err_clear(e);
    size_t n = hash ? strspn(hash, "0123456789abcdef") : 0;
    if (n != 64 || hash[n] != '\0')
        return ny_err_set(e, NY_EINVAL, "a session token hash is 64 lowercase hex digits");
    return NY_OK;
}

/* 1 if text is 1..max characters of [A-Za-z0-9._-]. */
static int is_name(const char *text, size_t max)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    size_t n = text ? strspn(text, ok) : 0;
    return n > 0 && n <= max && text[n] == '\0';
}

static int is_empty(const char *text)
{
    return !text || !*text;
}

static int check_connector(const store_connector *c, ny_err *e)
{
    ny_err_clear(e);
    if (!is_name(c->name, 64))
        return ny_err_set(e, NY_EINVAL, "a connector name is 1..64 of A-Z a-z 0-9 . _ -");
    if (domain_index(connector_kinds, c->kind) < 0)
        return ny_err_set(e, NY_EINVAL, "connector '%s': unknown kind '%s' (expected %s)", c->name,
                          c->kind ? c->kind : "(null)", domain_list_text(connector_kinds));
    if (!is_name(c->key, 128))
        return ny_err_set(e, NY_EINVAL, "connector '%s': a key is 1..128 of A-Z a-z 0-9 . _ -",
                          c->name);
    if (is_empty(c->secret))
        return ny_err_set(e, NY_EINVAL, "connector '%s' needs a secret", c->name);
    if (c->disabled != 0 && c->disabled != 1)
        return ny_err_set(e, NY_EINVAL, "connector '%s': disabled is 0 or 1", c->name);
    if (c->created_at < 0)
        return ny_err_set(e, NY_EINVAL, "connector '%s': negative created_at", c->name);
    if (strcmp(c->kind, "webhook") == 0) {
        if (!is_empty(c->wecom_token) || !is_empty(c->wecom_aes_key) ||
            !is_empty(c->wecom_receive_id))
            return ny_err_set(e, NY_EINVAL, "webhook connector '%s' has WeCom fields", c->name);
        return NY_OK;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *aes = c->wecom_aes_key;
    if (is_empty(c->wecom_token))
        return ny_err_set(e, NY_EINVAL, "WeCom connector '%s' needs the callback token", c->name);
    if (!aes || strspn(aes, b64) != 43 || aes[43] != '\0')
        return ny_err_set(e, NY_EINVAL,
                          "WeCom connector '%s': the EncodingAESKey is 43 base64 characters",
                          c->name);
    return NY_OK;
}

int store_staff_find(store *s, const char *account, int (*fn)(void *ctx, const store_staff *p),
                     void *ctx, ny_err *e)
{
    int rc = need_account(account, e);
    return rc != NY_OK ? rc : s->drv->staff_find(s->impl, account, fn, ctx, e);
}

int store_credential_get(store *s, const char *account,
                         int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                         void *ctx, ny_err *e)
{
    int rc = need_account(account, e);
    return rc != NY_OK ? rc : s->drv->credential_get(s->impl, account, fn, ctx, e);
}

int store_credentials_each(store *s,
                           int (*fn)(void *ctx, const store_staff *p, const store_credential *c),
                           void *ctx, ny_err *e)
{
    return s->drv->credentials_each(s->impl, fn, ctx, e);
}

int store_credential_put(store *s, const char *account, const store_credential *c, ny_err *e)
{
    int rc = need_account(account, e);
    if (rc != NY_OK)
        return rc;
    if (c->disabled != 0 && c->disabled != 1)
        return ny_err_set(e, NY_EINVAL, "account '%s': disabled is 0 or 1", account);
    if (c->failures < 0 || c->locked_until < 0 || c->password_changed_at < 0)
        return ny_err_set(e, NY_EINVAL, "account '%s': negative failure count or time", account);
    return s->drv->credential_put(s->impl, account, c, e);
}

int store_login_failed(store *s, const char *account, int64_t now, const store_lockout *lock,
                       int *failures, int64_t *locked_until, ny_err *e)
{
    int rc = need_account(account, e);
    if (rc != NY_OK)
        return rc;
    if (lock->threshold < 1 || lock->threshold > 1000 || lock->base_seconds < 1 ||
        lock->base_seconds > 86400 || lock->max_seconds < lock->base_seconds ||
        lock->max_seconds > 31 * 86400)
        return ny_err_set(e, NY_EINVAL,
                          "lockout out of range (threshold 1..1000, base 1..86400 s,"
                          " max base..31 days)");
    int n = 0;
    int64_t until = 0;
    rc = s->drv->login_failed(s->impl, account, now, lock, &n, &until, e);
    if (rc == NY_OK && failures)
        *failures = n;
    if (rc == NY_OK && locked_until)
        *locked_until = until;
    return rc;
}

int store_login_succeeded(store *s, const char *account, ny_err *e)
{
    int rc = need_account(account, e);
    return rc != NY_OK ? rc : s->drv->login_succeeded(s->impl, account, e);
}

int store_session_put(store *s, const store_session *x, int64_t *id_out, ny_err *e)
{
    int rc = need_hash(x->token_hash, e);
    if (rc == NY_OK)
        rc = need_account(x->account, e);
    if (rc == NY_OK && x->expires_at <= x->created_at)
        rc = ny_err_set(e, NY_EINVAL, "a session must expire after it was created");
    return rc != NY_OK ? rc : s->drv->session_put(s->impl, x, id_out, e);
}

int store_session_find(store *s, const char *token_hash, int64_t now,
                       int (*fn)(void *ctx, const store_session *x, const store_staff *p),
                       void *ctx, ny_err *e)
{
    int rc = need_hash(token_hash, e);
    return rc != NY_OK ? rc : s->drv->session_find(s->impl, token_hash, now, fn, ctx, e);
}

int store_session_touch(store *s, const char *token_hash, int64_t now, ny_err *e)
{
    int rc = need_hash(token_hash, e);
    return rc != NY_OK ? rc : s->drv->session_touch(s->impl, token_hash, now, e);
}

int store_session_revoke(store *s, const char *token_hash, int64_t now, ny_err *e)
{
    int rc = need_hash(token_hash, e);
    return rc != NY_OK ? rc : s->drv->session_revoke(s->impl, token_hash, now, e);
}

int store_sessions_revoke_staff(store *s, const char *account, int64_t now, long *count, ny_err *e)
{
    long n = 0;
    int rc = need_account(account, e);
    if (rc == NY_OK)
        rc = s->drv->sessions_revoke_staff(s->impl, account, now, &n, e);
    if (rc == NY_OK && count)
        *count = n;
    return rc;
}

int store_connector_put(store *s, const store_connector *c, int64_t *id_out, ny_err *e)
{
    int rc = check_connector(c, e);
    return rc != NY_OK ? rc : s->drv->connector_put(s->impl, c, id_out, e);
}

int store_connector_find(store *s, const char *name, int (*fn)(void *ctx, const store_connector *c),
                         void *ctx, ny_err *e)
{
    ny_err_clear(e);
    if (!name)
        return ny_err_set(e, NY_EINVAL, "no connector name given");
    return s->drv->connector_find(s->impl, name, fn, ctx, e);
}

int store_connector_find_by_key(store *s, const char *key,
                                int (*fn)(void *ctx, const store_connector *c), void *ctx,
                                ny_err *e)
{
    ny_err_clear(e);
    if (!key)
        return ny_err_set(e, NY_EINVAL, "no connector key given");
    return s->drv->connector_find_by_key(s->impl, key, fn, ctx, e);
}

int store_connectors_each(store *s, int (*fn)(void *ctx, const store_connector *c), void *ctx,
                          ny_err *e)
{
    return s->drv->connectors_each(s->impl, fn, ctx, e);
}

/* ---- portable SQL (store_sql.h) ----------------------------------------- */

int store_sql(store *s, const char *sql, const store_val *params, int n,
              int (*fn)(void *ctx, const store_row *row), void *ctx, long *changes, ny_err *e)
{
    ny_err_clear(e);
    if (changes)
        *changes = 0;
    if (!sql || n < 0 || (n > 0 && !params))
        return ny_err_set(e, NY_EINVAL, "query failed: no statement or parameters");
    return s->drv->sql(s->impl, sql, params, n, fn, ctx, changes, e);
}

int store_last_id(store *s, int64_t *id)
{
    if (!s->drv->last_id)
        return 0;
    *id = s->drv->last_id(s->impl);
    return 1;
}

int store_notify_wait(store *s, int wake_fd, int timeout_ms,
                      int (*fn)(void *ctx, const char *payload), void *ctx, ny_err *e)
{
    ny_err_clear(e);
    if (!s->drv->notify_wait)
        return ny_err_set(e, NY_ECONFLICT, "notifications need PostgreSQL");
    return s->drv->notify_wait(s->impl, wake_fd, timeout_ms, fn, ctx, e);
}

const char *store_row_text(const store_row *row, int col)
{
    return col >= 0 && col < row->ncols ? row->vals[col] : NULL;
}

int64_t store_row_int(const store_row *row, int col)
{
    const char *t = store_row_text(row, col);
    if (!t)
        return 0;
    if (t[0] == 't' && t[1] == '\0')
        return 1;
    return strtoll(t, NULL, 10);
}

int store_row_isnull(const store_row *row, int col)
{
    return store_row_text(row, col) == NULL;
}

struct first_int {
    int found;
    int64_t value;
};

static int keep_first_int(void *ctx, const store_row *row)
{
    struct first_int *f = ctx;
    if (!f->found) {
        f->found = 1;
        f->value = store_row_int(row, 0);
    }
    return NY_OK;
}

int store_sql_int(store *s, const char *sql, const store_val *params, int n, int64_t *out,
                  ny_err *e)
{
    struct first_int f = {0, 0};
    int rc = store_sql(s, sql, params, n, keep_first_int, &f, NULL, e);
    if (rc != NY_OK)
        return rc;
    if (!f.found)
        return ny_err_set(e, NY_ENOTFOUND, "query gave no row");
    *out = f.value;
    return NY_OK;
}
