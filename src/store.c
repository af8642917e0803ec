/* store.c - driver selection and dispatch for the storage interface.
 *
 * store_open() decides from the URI which engine driver serves the database
 * and every other store_* call forwards to that driver's table (see
 * store_driver.h). Engine-independent services built only on the domain
 * interface, such as store_digest(), live in store_digest.c. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "store_driver.h"

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
        return ny_err_set(e, NY_EINVAL, "no database given (use --db FILE or --db postgresql://...)");
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

int store_unit_put_batch(store *s, const store_unit *u, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->unit_put_batch(s->impl, u, n, ids_out, e);
}

int store_unit_get(store *s, const char *code, int (*fn)(void *ctx, const store_unit *u), void *ctx, ny_err *e)
{
    return s->drv->unit_get(s->impl, code, fn, ctx, e);
}

int store_units_subtree(store *s, const char *root_code, int (*fn)(void *ctx, const store_unit *u), void *ctx, ny_err *e)
{
    return s->drv->units_subtree(s->impl, root_code, fn, ctx, e);
}

int store_household_put_batch(store *s, const store_household *h, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->household_put_batch(s->impl, h, n, ids_out, e);
}

int store_households_each(store *s, int (*fn)(void *ctx, const store_household *h), void *ctx, ny_err *e)
{
    return s->drv->households_each(s->impl, fn, ctx, e);
}

int store_enterprise_put_batch(store *s, const store_enterprise *x, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->enterprise_put_batch(s->impl, x, n, ids_out, e);
}

int store_enterprises_each(store *s, int (*fn)(void *ctx, const store_enterprise *x), void *ctx, ny_err *e)
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

int store_messages_each(store *s, int (*fn)(void *ctx, const store_message *m), void *ctx, ny_err *e)
{
    return s->drv->messages_each(s->impl, fn, ctx, e);
}

int store_case_put_batch(store *s, const store_case *c, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->case_put_batch(s->impl, c, n, ids_out, e);
}

int store_cases_each(store *s, int (*fn)(void *ctx, const store_case *c), void *ctx, ny_err *e)
{
    return s->drv->cases_each(s->impl, fn, ctx, e);
}

int store_case_event_append_batch(store *s, const store_case_event *ev, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->case_event_append_batch(s->impl, ev, n, ids_out, e);
}

int store_case_events_each(store *s, int (*fn)(void *ctx, const store_case_event *ev), void *ctx, ny_err *e)
{
    return s->drv->case_events_each(s->impl, fn, ctx, e);
}

int store_lead_put_batch(store *s, const store_lead *l, size_t n, int64_t *ids_out, ny_err *e)
{
    return s->drv->lead_put_batch(s->impl, l, n, ids_out, e);
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

int store_job_claim(store *s, const char *kind, const char *worker, int64_t now, int lease_seconds, store_job *job, ny_err *e)
{
    return s->drv->job_claim(s->impl, kind, worker, now, lease_seconds, job, e);
}

int store_job_done(store *s, int64_t id, const char *worker, int64_t now, ny_err *e)
{
    return s->drv->job_done(s->impl, id, worker, now, e);
}

int store_job_retry(store *s, int64_t id, const char *worker, int64_t retry_at, const char *error, ny_err *e)
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
