/* store_digest.c - the engine-independent whole-database digest (store.h).
 *
 * Reads every domain table through the store_*_each functions, in the fixed
 * order units, households, enterprises, groups, staff, policies, lexicon,
 * messages, cases, case events, leads, and feeds SHA-256 an unambiguous
 * encoding: a table tag, then per row a type-tagged, length-prefixed field
 * for every column and a record terminator. Row ids of tables with natural
 * keys are left out; where a message, case or lead refers to a unit or group
 * by id, the digest uses the unit's code or the group's platform and external
 * id instead, so two databases loaded with the same content in any engine
 * hash alike. Messages, cases, events and leads have no natural key: they
 * are hashed in id order with each id replaced by its rank (1, 2, 3 ...), and
 * references to messages and cases by the rank of the row they name, so gaps
 * in id sequences (PostgreSQL does not reuse the ids of rolled-back inserts)
 * do not change the digest. */
#include "store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Row id to natural key, for units and groups. */
struct key {
    int64_t id;
    char *key;
};

struct keymap {
    struct key *v;
    size_t n, cap;
};

/* Ids of a table without natural key, in ascending order as iterated. */
struct idlist {
    int64_t *v;
    size_t n, cap;
};

/* The digest in progress; rc is sticky: after a failure nothing is added. */
struct dg {
    EVP_MD_CTX *md;
    struct keymap units, groups;
    struct idlist messages, cases;
    int64_t events, leads; /* rows seen so far */
    int rc;
    ny_err *e;
};

static void put_bytes(struct dg *d, const void *p, size_t n)
{
    if (d->rc == NY_OK && EVP_DigestUpdate(d->md, p, n) != 1)
        d->rc = ny_err_set(d->e, NY_ERR, "SHA-256 update failed");
}

/* A type tag and a 64-bit big-endian number. */
static void put_tagged(struct dg *d, char tag, uint64_t v)
{
    unsigned char b[9];
    b[0] = (unsigned char)tag;
    for (int i = 0; i < 8; i++)
        b[1 + i] = (unsigned char)(v >> (56 - 8 * i));
    put_bytes(d, b, sizeof b);
}

static void put_int(struct dg *d, int64_t v)
{
    put_tagged(d, 'I', (uint64_t)v);
}

/* 'S', length, bytes; NULL is 'N' alone. */
static void put_str(struct dg *d, const char *s)
{
    if (!s) {
        put_bytes(d, "N", 1);
        return;
    }
    size_t n = strlen(s);
    put_tagged(d, 'S', (uint64_t)n);
    put_bytes(d, s, n);
}

/* Doubles as exact decimal text ("%.17g" round-trips). */
static void put_double(struct dg *d, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    put_str(d, buf);
}

/* Records id (ascending) and returns its rank, 1-based. */
static int64_t idlist_add(struct dg *d, struct idlist *l, int64_t id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            if (d->rc == NY_OK)
                d->rc = ny_err_set(d->e, NY_ERR, "out of memory");
            return 0;
        }
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = id;
    return (int64_t)l->n;
}

/* The rank of id in l, or 0 for 0 (no reference) and for unknown ids. */
static int64_t idlist_rank(const struct idlist *l, int64_t id)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->n && l->v[lo] == id ? (int64_t)lo + 1 : 0;
}

/* Terminates a row; returns the sticky status for the *_each callback. */
static int end_row(struct dg *d)
{
    put_bytes(d, "E", 1);
    return d->rc;
}

static void put_table(struct dg *d, const char *name)
{
    put_bytes(d, "T", 1);
    put_str(d, name);
}

/* Records that row id has natural key a (joined with b by 0x1F if b). */
static int keymap_add(struct dg *d, struct keymap *m, int64_t id, const char *a, const char *b)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        struct key *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return d->rc = ny_err_set(d->e, NY_ERR, "out of memory");
        m->v = v;
        m->cap = cap;
    }
    size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + 1;
    char *k = malloc(n);
    if (!k)
        return d->rc = ny_err_set(d->e, NY_ERR, "out of memory");
    if (b)
        snprintf(k, n, "%s\x1f%s", a, b);
    else
        snprintf(k, n, "%s", a);
    m->v[m->n++] = (struct key){id, k};
    return NY_OK;
}

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static void keymap_sort(struct keymap *m)
{
    if (m->n)
        qsort(m->v, m->n, sizeof *m->v, key_cmp);
}

/* Hashes the natural key of row id from m (a sorted map). */
static void put_key(struct dg *d, const struct keymap *m, int64_t id, const char *what)
{
    struct key probe = {id, NULL};
    const struct key *k = m->n ? bsearch(&probe, m->v, m->n, sizeof *m->v, key_cmp) : NULL;
    if (!k && d->rc == NY_OK)
        d->rc = ny_err_set(d->e, NY_ERR, "digest: unknown %s id %lld", what, (long long)id);
    put_str(d, k ? k->key : NULL);
}

static void keymap_free(struct keymap *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].key);
    free(m->v);
}

/* ---- one callback per table --------------------------------------------- */

static int on_unit(void *ctx, const store_unit *u)
{
    struct dg *d = ctx;
    put_str(d, u->code);
    put_str(d, u->name);
    put_str(d, u->level);
    put_str(d, u->parent_code);
    if (end_row(d) == NY_OK)
        keymap_add(d, &d->units, u->id, u->code, NULL);
    return d->rc;
}

static int on_household(void *ctx, const store_household *x)
{
    struct dg *d = ctx;
    put_str(d, x->code);
    put_str(d, x->grid_code);
    put_str(d, x->address);
    put_int(d, x->size);
    put_str(d, x->phone);
    return end_row(d);
}

static int on_enterprise(void *ctx, const store_enterprise *x)
{
    struct dg *d = ctx;
    put_str(d, x->uscc);
    put_str(d, x->name);
    put_str(d, x->industry);
    put_str(d, x->grid_code);
    return end_row(d);
}

static int on_group(void *ctx, const store_group *g)
{
    struct dg *d = ctx;
    put_str(d, g->platform);
    put_str(d, g->external_id);
    put_str(d, g->kind);
    put_str(d, g->unit_code);
    put_str(d, g->name);
    put_int(d, g->members);
    put_str(d, g->target);
    if (end_row(d) == NY_OK)
        keymap_add(d, &d->groups, g->id, g->platform, g->external_id);
    return d->rc;
}

static int on_staff(void *ctx, const store_staff *p)
{
    struct dg *d = ctx;
    put_str(d, p->account);
    put_str(d, p->name);
    put_str(d, p->phone);
    put_str(d, p->role);
    put_str(d, p->unit_code);
    put_str(d, p->department);
    return end_row(d);
}

static int on_policy(void *ctx, const store_policy *p)
{
    struct dg *d = ctx;
    put_str(d, p->code);
    put_str(d, p->title);
    put_str(d, p->category);
    put_str(d, p->audience);
    put_str(d, p->department);
    put_str(d, p->summary);
    put_str(d, p->eligibility);
    put_str(d, p->how_to_apply);
    put_str(d, p->keywords);
    return end_row(d);
}

static int on_lexeme(void *ctx, const store_lexeme *l)
{
    struct dg *d = ctx;
    put_str(d, l->term);
    put_str(d, l->kind);
    put_str(d, l->intent);
    put_str(d, l->category);
    put_double(d, l->weight);
    put_str(d, l->action);
    return end_row(d);
}

static int on_message(void *ctx, const store_message *m)
{
    struct dg *d = ctx;
    put_int(d, idlist_add(d, &d->messages, m->id));
    put_key(d, &d->groups, m->group_id, "group");
    put_str(d, m->connector);
    put_str(d, m->external_id);
    put_str(d, m->sender_id);
    put_str(d, m->sender_name);
    put_int(d, m->sent_at);
    put_str(d, m->text);
    put_str(d, m->intent);
    put_str(d, m->category);
    put_str(d, m->triage);
    return end_row(d);
}

static int on_case(void *ctx, const store_case *c)
{
    struct dg *d = ctx;
    put_int(d, idlist_add(d, &d->cases, c->id));
    put_str(d, c->source);
    put_str(d, c->title);
    put_str(d, c->description);
    put_str(d, c->category);
    put_str(d, c->urgency);
    put_int(d, c->priority);
    put_str(d, c->status);
    put_str(d, c->level);
    put_key(d, &d->units, c->unit_id, "unit");
    put_str(d, c->department);
    put_str(d, c->location);
    put_str(d, c->photo_url);
    put_str(d, c->reporter);
    put_int(d, c->opened_at);
    put_int(d, c->due_at);
    put_int(d, c->closed_at);
    put_int(d, c->overdue);
    put_int(d, c->satisfaction);
    return end_row(d);
}

static int on_event(void *ctx, const store_case_event *ev)
{
    struct dg *d = ctx;
    put_int(d, ++d->events);
    put_int(d, idlist_rank(&d->cases, ev->case_id));
    put_int(d, ev->at);
    put_str(d, ev->actor);
    put_str(d, ev->action);
    put_str(d, ev->changes);
    put_str(d, ev->note);
    return end_row(d);
}

static int on_lead(void *ctx, const store_lead *l)
{
    struct dg *d = ctx;
    put_int(d, ++d->leads);
    put_int(d, idlist_rank(&d->messages, l->message_id));
    put_key(d, &d->groups, l->group_id, "group");
    put_key(d, &d->units, l->unit_id, "unit");
    put_str(d, l->intent);
    put_str(d, l->category);
    put_int(d, l->created_at);
    put_int(d, idlist_rank(&d->cases, l->case_id));
    return end_row(d);
}

/* Hashes every table in the canonical order; stops at the first failure. */
static int digest_tables(store *s, struct dg *d, ny_err *e)
{
    int rc;
    put_table(d, "units");
    if ((rc = store_units_subtree(s, NULL, on_unit, d, e)) != NY_OK)
        return rc;
    keymap_sort(&d->units);
    put_table(d, "households");
    if ((rc = store_households_each(s, on_household, d, e)) != NY_OK)
        return rc;
    put_table(d, "enterprises");
    if ((rc = store_enterprises_each(s, on_enterprise, d, e)) != NY_OK)
        return rc;
    put_table(d, "groups");
    if ((rc = store_groups_each(s, on_group, d, e)) != NY_OK)
        return rc;
    keymap_sort(&d->groups);
    put_table(d, "staff");
    if ((rc = store_staff_each(s, on_staff, d, e)) != NY_OK)
        return rc;
    put_table(d, "policies");
    if ((rc = store_policies_each(s, on_policy, d, e)) != NY_OK)
        return rc;
    put_table(d, "lexicon");
    if ((rc = store_lexicon_each(s, on_lexeme, d, e)) != NY_OK)
        return rc;
    put_table(d, "messages");
    if ((rc = store_messages_each(s, on_message, d, e)) != NY_OK)
        return rc;
    put_table(d, "cases");
    if ((rc = store_cases_each(s, on_case, d, e)) != NY_OK)
        return rc;
    put_table(d, "case_events");
    if ((rc = store_case_events_each(s, on_event, d, e)) != NY_OK)
        return rc;
    put_table(d, "leads");
    if ((rc = store_leads_each(s, on_lead, d, e)) != NY_OK)
        return rc;
    return d->rc;
}

int store_digest(store *s, char hex_out[65], ny_err *e)
{
    ny_err_clear(e);
    hex_out[0] = '\0';
    struct dg d = {.md = EVP_MD_CTX_new(), .rc = NY_OK, .e = e};
    if (!d.md || EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(d.md);
        return ny_err_set(e, NY_ERR, "cannot start SHA-256");
    }
    int rc = digest_tables(s, &d, e);
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (rc == NY_OK && (EVP_DigestFinal_ex(d.md, sum, &len) != 1 || len != 32))
        rc = ny_err_set(e, NY_ERR, "cannot finish SHA-256");
    if (rc == NY_OK)
        for (unsigned int i = 0; i < len; i++)
            snprintf(hex_out + 2 * i, 3, "%02x", sum[i]);
    EVP_MD_CTX_free(d.md);
    keymap_free(&d.units);
    keymap_free(&d.groups);
    free(d.messages.v);
    free(d.cases.v);
    return rc;
}
