/* server_effects.c - what an ingested message causes, written in the same
 * transaction that stores it: leads, the bot's reply and the staff told.
 *
 * The ingest path (server_ingest.c) notes each message's triage result
 * while it triages (server_effects_note copies what outlives the
 * workspace), resolves on its own thread what needs no write lock
 * (server_effects_resolve), stores the batch, then calls
 * server_effects_apply inside the same open transaction with the stored
 * ids. For every newly stored message (never for a duplicate, so a retried
 * request causes nothing twice) the server's one shared group etiquette
 * decides (thread-safe, triage_etiquette_*): the bot's own messages cause
 * nothing; a message for a person opens a lead, or joins the lead of the
 * same problem reported moments ago in the group (one lead, several
 * reporters); a lead of an intent the case loop takes gets its case; a new
 * lead notifies the staff the decision names (grid worker; community for
 * complaints; grid, community and street at once, urgent, for emergencies;
 * the district department where a cue calls for one), each an outbox row
 * keyed "n:<message id>:<i>"; and the reply, when the etiquette lets the
 * bot speak (20 a minute per group, no repeats, always for an @-mention),
 * is an outbox row "r:<message id>" to the group — unless the message came
 * through a callback that answers in its own response
 * (server_msg.reply_inline: the WeCom callback).
 *
 * Apply runs inside the group commit, where every instruction is paid for
 * by every request waiting behind it, so it does as little as it can there:
 *  - before the commit, resolve reads through the request thread's own
 *    handle each group's target and its unit's id, name and level (the case's
 *    holder: all of a request's groups in one range read when their ids lie
 *    close together), and each notified staff member's target, once per
 *    request, unless the thread read them less than a second ago
 *    (server_fxcache.c),
 *    and builds the notifications' text and payload (one per message: the
 *    same for every person told) and the payload of the reply triage
 *    proposes (the etiquette inside decides whether it is sent; only a
 *    help text for an @-mention without a reply is built inside), and the
 *    case row the message's lead would open (title, description, urgency:
 *    case_from_lead_row; whether the lead opens is decided inside); the
 *    note also reads whether the text is feedback on a case
 *    (case_feedback_kind), so that the commit looks for the case only then,
 *    and what the group etiquette reads of it without its group's state
 *    (triage_etiquette_prepare: @-mention, text and policy hashes, the
 *    sketch its duplicate test compares);
 *  - inside, the new leads of a request (of every request of a commit
 *    group's first run: server_commit.c hands them in together) are
 *    written together: their cases (the prepared row with its time, state
 *    and deadline, case_open_fill, store_case_insert_batch), the cases'
 *    "report" log entries and first reporters, the leads, then
 *    every notification and reply of the request, each table with a few
 *    multi-row statements (store_sql_rows) instead of one statement per
 *    message. A message that joins a lead first writes the new leads before
 *    it (the lead it joins may be one of them), then joins one at a time
 *    (store_lead_join, server_cases_lead), as does a reporter's feedback.
 * After the commit server_effects_committed wakes the delivery worker and
 * publishes the leads on the event stream. A group or person whose target
 * is malformed is logged and skipped rather than failing the messages. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "case.h"
#include "case_feedback.h"
#include "log.h"
#include "outbox.h"
#include "server_cases.h"
#include "server_fxcache.h"
#include "server_int.h"
#include "store_case.h"
#include "store_outbox.h"

/* A group of the request: its target, and its unit's name and level. */
typedef struct fx_group {
    int64_t id;
    const char *unit_code; /* the unit the server has for it (server_group) */
    int ready;             /* target and unit read */
    int cached;            /* ... or taken from the thread's memory (server_fxcache) */
    store_target t;        /* t.unit_id: the group's unit in the database (its leads') */
    int64_t unit_id;       /* the unit_code's id (its cases' holder) */
    char unit_name[128], level[16];
    int unit_rc; /* NY_OK, or why the unit was not found */
} fx_group;

/* A staff member notified by the request: target, or why it has none. */
typedef struct fx_staff {
    const char *account;
    store_target t;
    int rc;
    int cached; /* taken from the thread's memory (server_fxcache) */
} fx_staff;

typedef struct fx_msg {
    triage_result t; /* shallow copy; norm and reply owned below */
    char *norm, *reply;
    const store_message *row;
    const server_group *g;
    int reply_inline;
    int fb; /* case_feedback_kind of the text, read on the request thread */
    const char *mentions[OUTBOX_MAX_MENTIONS];
    size_t nmentions;
    /* resolved before the commit */
    fx_group *grp;
    fx_staff *staff[TRIAGE_MAX_NOTIFY];
    char *npayload; /* the notifications' payload, NULL when none */
    char *rpayload; /* the payload of the reply m->reply to the group, NULL when none */
    int rrc;        /* NY_OK, or NY_EINVAL when the group's target is malformed */
    case_row crow;  /* the case its lead would open (case_from_lead_row), title NULL: none */
    triage_etiquette_prep prep; /* what the etiquette reads of it, prepared */
    /* set by apply */
    int64_t lead_id, message_id; /* the lead this message opened or joined */
    int lead_opened, dup;
    const char *say; /* the reply the etiquette allows, or NULL */
    char merge[64];  /* the lead's merge key, "" for none */
} fx_msg;

struct server_effects {
    size_t n, ngroups, nstaff;
    long queued; /* outbox rows written by the apply that held it (with others) */
    fx_group **groups;
    fx_staff **staff;
    size_t *gslot, *sslot, gcap, scap; /* hash slots: index + 1, 0 = empty */
    fx_msg m[];
};

server_effects *server_effects_new(size_t n)
{
    server_effects *fx = calloc(1, sizeof *fx + n * sizeof fx->m[0]);
    if (fx)
        fx->n = n;
    return fx;
}

void server_effects_free(server_effects *fx)
{
    for (size_t i = 0; fx && i < fx->n; i++) {
        free(fx->m[i].norm);
        free(fx->m[i].reply);
        free(fx->m[i].npayload);
        free(fx->m[i].rpayload);
        case_row_free(&fx->m[i].crow);
    }
    for (size_t i = 0; fx && i < fx->ngroups; i++)
        free(fx->groups[i]);
    for (size_t i = 0; fx && i < fx->nstaff; i++)
        free(fx->staff[i]);
    if (fx) {
        free(fx->groups);
        free(fx->staff);
        free(fx->gslot);
        free(fx->sslot);
    }
    free(fx);
}

int server_effects_note(server_effects *fx, const triage_etiquette *et, size_t i,
                        const triage_result *t, const store_message *row, const server_msg *in)
{
    fx_msg *m = &fx->m[i];
    m->t = *t;
    m->t.keywords = NULL;
    m->t.nkeywords = 0;
    m->norm = strndup(t->norm, t->norm_len);
    m->reply = t->reply ? strdup(t->reply) : NULL;
    m->t.norm = m->norm;
    m->t.reply = m->reply;
    m->row = row;
    m->g = in->g;
    m->reply_inline = in->reply_inline;
    m->fb = case_feedback_kind(row->text);
    for (size_t k = 0; k < json_array_size(in->mentions) && m->nmentions < OUTBOX_MAX_MENTIONS; k++)
        m->mentions[m->nmentions++] = json_string_value(json_array_get(in->mentions, k));
    triage_post tp = {m->g->external_id, row->sender_id,    m->mentions, m->nmentions,
                      row->text,         strlen(row->text), 0,           NULL};
    triage_etiquette_prepare(et, &tp, &m->t, &m->prep);
    return m->norm && (m->reply || !t->reply) ? NY_OK : NY_ERR;
}

static const char *intent_zh(const char *intent)
{
    static const char *const map[][2] = {{"consult", "咨询"},   {"help", "求助"},
                                         {"report", "报事"},    {"emergency", "紧急"},
                                         {"complaint", "投诉"}, {"other", "其他"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], intent) == 0)
            return map[i][1];
    return intent;
}

/* Bytes of s to keep so that at most max are kept, cut between UTF-8
 * characters. */
static int clip(const char *s, size_t max)
{
    size_t len = strlen(s), n = len < max ? len : max;
    while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/* ---- before the commit ------------------------------------------------------ */

/* The slot of hash h in a table of cap (a power of two) slots whose
 * occupant is found (same) or that is empty. */
#define PROBE(slot, cap, h, same)                                                                  \
    do {                                                                                           \
        size_t j_ = (h) & ((cap)-1);                                                               \
        while ((slot)[j_] && !(same))                                                              \
            j_ = (j_ + 1) & ((cap)-1);                                                             \
        at = j_;                                                                                   \
    } while (0)

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* The request's entry for group g, made when there is none (*made = 1). */
static fx_group *group_entry(server_effects *fx, const server_group *g, int *made)
{
    size_t at, h = (size_t)((uint64_t)g->id * 11400714819323198485ULL >> 20);
    PROBE(fx->gslot, fx->gcap, h, fx->groups[fx->gslot[j_] - 1]->id == g->id);
    *made = !fx->gslot[at];
    if (!*made)
        return fx->groups[fx->gslot[at] - 1];
    fx_group *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    fx->groups[fx->ngroups++] = x;
    fx->gslot[at] = fx->ngroups;
    x->id = g->id;
    x->unit_code = g->unit_code;
    return x;
}

/* The request's entry for group g, looked up through db the first time
 * unless prefetch_groups has read it. */
static int group_of(server_effects *fx, store *db, const server_group *g, fx_group **out, ny_err *e)
{
    int made;
    fx_group *x = group_entry(fx, g, &made);
    if (!x)
        return ny_err_set(e, NY_ERR, "out of memory");
    *out = x;
    if (x->ready)
        return NY_OK;
    x->ready = 1;
    ny_err ue;
    x->unit_rc = store_unit_of_code(db, g->unit_code, &x->unit_id, x->unit_name,
                                    sizeof x->unit_name, x->level, sizeof x->level, &ue);
    if (x->unit_rc != NY_OK && x->unit_rc != NY_ENOTFOUND) {
        *e = ue;
        return x->unit_rc;
    }
    return store_group_target(db, g->id, &x->t, e);
}

/* One group of the range read: kept when the request has it and its unit is
 * the one the server has for it (else group_of reads it alone). */
static int on_group_unit(void *ctx, const store_group_unit *gu)
{
    server_effects *fx = ctx;
    size_t at, h = (size_t)((uint64_t)gu->t.id * 11400714819323198485ULL >> 20);
    PROBE(fx->gslot, fx->gcap, h, fx->groups[fx->gslot[j_] - 1]->id == gu->t.id);
    fx_group *x = fx->gslot[at] ? fx->groups[fx->gslot[at] - 1] : NULL;
    if (!x || x->ready || !gu->unit_code || strcmp(gu->unit_code, x->unit_code) != 0)
        return NY_OK;
    x->t = gu->t;
    x->unit_id = gu->t.unit_id; /* the unit the server has for it, joined by id */
    snprintf(x->unit_name, sizeof x->unit_name, "%s", gu->unit_name ? gu->unit_name : "");
    snprintf(x->level, sizeof x->level, "%s", gu->level ? gu->level : "");
    x->unit_rc = NY_OK;
    x->ready = 1;
    return NY_OK;
}

/* Reads the request's groups in one range read of chat_groups when their
 * ids lie close together (at most twice as many ids from the lowest to the
 * highest as the request has messages): a batch of 1,000 over the district
 * touches some 600 of its 851 groups, each two reads when looked up alone;
 * a request of one group (a single message) reads it in one. */
static int prefetch_groups(server_effects *fx, store *db, const server_fxcache *cache,
                           long long now, ny_err *e)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    size_t left = 0;
    for (size_t i = 0; i < fx->n; i++) {
        int made;
        fx_group *x = group_entry(fx, fx->m[i].g, &made);
        if (!x)
            return ny_err_set(e, NY_ERR, "out of memory");
        fxc_group c;
        if (made && server_fxcache_group(cache, x->id, x->unit_code, now, &c)) {
            x->t = c.t;
            x->unit_id = c.unit_id;
            memcpy(x->unit_name, c.unit_name, sizeof x->unit_name);
            memcpy(x->level, c.level, sizeof x->level);
            x->unit_rc = c.unit_rc;
            x->ready = x->cached = 1;
        }
        if (x->ready)
            continue;
        left += made;
        lo = x->id < lo ? x->id : lo;
        hi = x->id > hi ? x->id : hi;
    }
    if (!left || (left > 1 && left < 8) || (uint64_t)(hi - lo) >= 2 * (uint64_t)fx->n)
        return NY_OK; /* all remembered, few groups, or spread thin: each read alone */
    return store_groups_targets(db, lo, hi, on_group_unit, fx, e);
}

/* The request's entry for a staff account, looked up through db the first
 * time (an unknown account is kept with its error and skipped later). */
static int staff_of(server_effects *fx, store *db, server_fxcache **cache, long long now,
                    const char *account, fx_staff **out, ny_err *e)
{
    size_t at;
    PROBE(fx->sslot, fx->scap, hash_str(account),
          strcmp(fx->staff[fx->sslot[j_] - 1]->account, account) == 0);
    if (fx->sslot[at]) {
        *out = fx->staff[fx->sslot[at] - 1];
        return NY_OK;
    }
    fx_staff *x = calloc(1, sizeof *x);
    if (!x)
        return ny_err_set(e, NY_ERR, "out of memory");
    fx->staff[fx->nstaff++] = x;
    fx->sslot[at] = fx->nstaff;
    x->account = account;
    fxc_staff c;
    if (server_fxcache_staff(*cache, account, now, &c)) {
        x->t = c.t;
        x->rc = c.rc;
        x->cached = 1;
        *out = x;
        return NY_OK;
    }
    ny_err se;
    x->rc = store_staff_target(db, account, &x->t, &se);
    if (x->rc != NY_OK && x->rc != NY_ENOTFOUND) {
        *e = se;
        return x->rc;
    }
    *out = x;
    if (x->rc != NY_OK || !x->t.channel[0])
        return NY_OK;
    /* a malformed target is skipped (and logged) as outbox_enqueue would */
    outbox_item it = {"n:0:0", "notify", NULL, NULL, NULL, 0, NULL, "-", NULL, 0, 0, 0};
    store_outbox_row r;
    char *payload = NULL;
    x->rc = outbox_row_of(&it, &x->t, 0, &r, &payload, &se);
    free(payload);
    if (x->rc != NY_OK && x->rc != NY_EINVAL) {
        *e = se;
        return x->rc;
    }
    return NY_OK;
}

/* Keeps in the thread's memory what resolve read at time now (the groups
 * and staff it did not take from there). */
static void remember(const server_effects *fx, server_fxcache **cache, long long now)
{
    for (size_t i = 0; i < fx->ngroups; i++) {
        const fx_group *x = fx->groups[i];
        if (!x->ready || x->cached)
            continue;
        fxc_group c = {x->id, x->t, x->unit_id, "", "", x->unit_rc};
        memcpy(c.unit_name, x->unit_name, sizeof c.unit_name);
        memcpy(c.level, x->level, sizeof c.level);
        server_fxcache_put_group(cache, x->unit_code, &c, now);
    }
    for (size_t i = 0; i < fx->nstaff; i++) {
        const fx_staff *x = fx->staff[i];
        if (!x->cached && (x->rc == NY_OK || x->rc == NY_ENOTFOUND || x->rc == NY_EINVAL))
            server_fxcache_put_staff(cache, x->account, &(fxc_staff){x->t, x->rc}, now);
    }
}

/* A table of at least twice n slots. */
static size_t *slots(size_t n, size_t *cap)
{
    *cap = 16;
    while (*cap < 2 * n)
        *cap *= 2;
    return calloc(*cap, sizeof(size_t));
}

/* The notification text of message m's new lead into buf. */
static void notify_text(const fx_msg *m, char *buf, size_t size)
{
    const char *body = m->row->text, *who = m->row->sender_name, *gname = m->grp->t.name;
    int nbody = clip(body, 1000), nwho = clip(who, 90), ngroup = clip(gname, 120);
    snprintf(buf, size, "【暖羊阳】%s线索（%s · %s）\n群：%.*s\n%.*s：%.*s%s\n%s",
             m->t.priority == TRIAGE_URGENT ? "紧急" : "新", intent_zh(m->t.intent_name),
             m->t.category_name, ngroup, gname, nwho, who, nbody, body, body[nbody] ? "……" : "",
             m->t.priority == TRIAGE_URGENT ? "请立即处置并回复群众。" : "请及时处置。");
}

/* The payload of message m's reply to its group, built before the commit
 * for the reply triage proposed (the etiquette inside decides whether it is
 * sent; the payload holds no key, so one built now serves the row written
 * then). A malformed group target is kept in m->rrc, skipped later. */
static int reply_payload(fx_msg *m, ny_err *e)
{
    m->rrc = NY_OK;
    if (!m->reply || m->reply_inline || !m->grp->t.channel[0])
        return NY_OK;
    const char *who[1] = {m->row->sender_id};
    outbox_item it = {"r:0", "reply",  NULL, NULL, NULL,          0,
                      NULL,  m->reply, who,  1,    m->t.priority, 0};
    store_outbox_row r;
    ny_err ie;
    int rc = outbox_row_of(&it, &m->grp->t, 0, &r, &m->rpayload, &ie);
    if (rc == NY_EINVAL)
        m->rrc = rc;
    else if (rc != NY_OK)
        return ny_err_set(e, rc, "%s", ie.msg);
    return NY_OK;
}

/* The lead a message opens or joins, as the case loop reads it. */
static case_lead lead_of(const fx_msg *m, int64_t now)
{
    return (case_lead){m->g->id,
                       m->message_id,
                       now,
                       m->g->unit_code,
                       m->row->sender_id,
                       m->row->sender_name,
                       m->row->text,
                       m->t.intent_name,
                       m->t.category_name,
                       0};
}

int server_effects_resolve(server_effects *fx, store *db, server_fxcache **cache, ny_err *e)
{
    long long now = server_fxcache_now(); /* before any read: an entry is never older */
    size_t most = (fx->n ? fx->n : 1) * TRIAGE_MAX_NOTIFY;
    if (fx->groups || !(fx->groups = calloc(fx->n ? fx->n : 1, sizeof *fx->groups)) ||
        !(fx->staff = calloc(most, sizeof *fx->staff)) || !(fx->gslot = slots(fx->n, &fx->gcap)) ||
        !(fx->sslot = slots(most, &fx->scap)))
        return ny_err_set(e, NY_ERR, "out of memory");
    int prc = prefetch_groups(fx, db, *cache, now, e);
    if (prc != NY_OK)
        return prc;
    for (size_t i = 0; i < fx->n; i++) {
        fx_msg *m = &fx->m[i];
        int rc = group_of(fx, db, m->g, &m->grp, e);
        if (rc != NY_OK)
            return rc;
        if ((rc = reply_payload(m, e)) != NY_OK)
            return rc;
        if (m->t.nnotify && case_lead_opens(m->t.intent_name) && m->grp->unit_rc == NY_OK) {
            case_lead cl = lead_of(m, 0); /* what the row takes depends on neither id nor time */
            if ((rc = case_from_lead_row(&cl, &m->crow, e)) != NY_OK)
                return rc;
        }
        int any = 0;
        for (size_t k = 0; k < m->t.nnotify && k < TRIAGE_MAX_NOTIFY; k++) {
            m->staff[k] = NULL;
            if (m->t.notify[k].account && (rc = staff_of(fx, db, cache, now, m->t.notify[k].account,
                                                         &m->staff[k], e)) != NY_OK)
                return rc;
            any |= m->staff[k] && m->staff[k]->rc == NY_OK && m->staff[k]->t.channel[0];
        }
        if (!any)
            continue;
        char text[1536];
        notify_text(m, text, sizeof text);
        outbox_item it = {"n:0:0", "notify", NULL, NULL, NULL,          0,
                          NULL,    text,     NULL, 0,    m->t.priority, 0};
        store_target nobody = {"webhook", "http://localhost/", "", "", 0, 0};
        store_outbox_row r;
        rc = outbox_row_of(&it, &nobody, 0, &r, &m->npayload, e);
        if (rc != NY_OK)
            return rc; /* the text is ours: only memory can fail */
    }
    remember(fx, cache, now);
    return NY_OK;
}

/* ---- inside the commit -------------------------------------------------------- */

/* The new leads waiting to be written, in message order. */
typedef struct fx_pending {
    fx_msg **at;
    size_t n;
} fx_pending;

/* Writes the pending new leads: the cases of those whose intent the case
 * loop takes, their log entries and reporters, then the leads and their
 * first reports. */
static int open_leads(server *sv, store *db, fx_pending *p, int64_t now, ny_err *e)
{
    size_t n = p->n, nc = 0;
    p->n = 0;
    if (!n)
        return NY_OK;
    static const case_actor sys = {"system", "系统", "system", "", "", ""};
    case_row *rows = calloc(n, sizeof *rows);
    case_row **cp = calloc(n, sizeof *cp);
    case_log_row *log = calloc(n, sizeof *log);
    case_reporter_row *rep = calloc(n, sizeof *rep);
    store_lead *leads = calloc(n, sizeof *leads);
    const char **keys = calloc(n, sizeof *keys);
    int64_t *ids = calloc(n, sizeof *ids), *case_of = calloc(n, sizeof *case_of);
    char(*changes)[256] = calloc(n, sizeof *changes);
    int rc = rows && cp && log && rep && leads && keys && ids && case_of && changes
                 ? NY_OK
                 : ny_err_set(e, NY_ERR, "out of memory");
    for (size_t j = 0; rc == NY_OK && j < n; j++) {
        fx_msg *m = p->at[j];
        if (!case_lead_opens(m->t.intent_name))
            continue;
        if (m->grp->unit_rc != NY_OK) {
            rc = ny_err_set(e, NY_ENOTFOUND, "没有这个单位 / no such unit: %s", m->g->unit_code);
            break;
        }
        case_lead cl = lead_of(m, now);
        if (!m->crow.title && (rc = case_from_lead_row(&cl, &m->crow, e)) != NY_OK)
            break;
        case_row *c = &rows[nc];
        *c = m->crow; /* its text fields stay m's: a rerun of the group opens it again */
        case_open_fill(server_cases_sla(sv), c, m->grp->unit_name, m->grp->level, now);
        c->unit_id = m->grp->unit_id;
        cp[nc] = c;
        case_of[j] = (int64_t)nc + 1; /* 1-based index of its case until the ids are known */
        nc++;
    }
    if (rc == NY_OK && nc)
        rc = store_case_insert_batch(db, cp, nc, e);
    for (size_t j = 0; rc == NY_OK && j < n; j++) {
        fx_msg *m = p->at[j];
        if (case_of[j]) {
            const case_row *c = cp[case_of[j] - 1];
            size_t k = (size_t)(case_of[j] - 1);
            log[k] = (case_log_row){c->id, now, sys.account, "report", changes[k], NULL};
            log[k].note = case_open_log(c, &sys, changes[k], sizeof changes[k]);
            rep[k] = (case_reporter_row){c->id, m->g->id,          m->message_id,
                                         now,   m->row->sender_id, m->row->sender_name};
            case_of[j] = c->id;
        }
        leads[j] = (store_lead){
            0,   m->message_id, m->g->id, m->grp->t.unit_id, m->t.intent_name, m->t.category_name,
            now, case_of[j]};
        keys[j] = m->merge[0] ? m->merge : NULL;
    }
    if (rc == NY_OK && nc)
        rc = store_case_log_batch(db, log, nc, e);
    if (rc == NY_OK && nc)
        rc = store_case_reporter_add_batch(db, rep, nc, e);
    if (rc == NY_OK)
        rc = store_lead_open_batch(db, leads, keys, n, ids, e);
    for (size_t j = 0; rc == NY_OK && j < n; j++) {
        p->at[j]->lead_id = ids[j];
        p->at[j]->lead_opened = 1;
    }
    free(rows);
    free(cp);
    free(log);
    free(rep);
    free(leads);
    free(keys);
    free(ids);
    free(case_of);
    free(changes);
    return rc;
}

/* Joins message m to the lead under its etiquette key: *joined = 1 when
 * the lead was found (its case gets the reporter, server_cases_lead). */
static int join_lead(server *sv, store *db, fx_msg *m, const triage_verdict *v, int64_t now,
                     int *joined, ny_err *e)
{
    int64_t lead_id = 0;
    *joined = 0;
    int rc = store_lead_join(db, m->merge, m->message_id, m->row->sender_id, (int)v->reporters, now,
                             &lead_id, e);
    if (rc == NY_ENOTFOUND)
        return NY_OK; /* the lead predates this server: open one */
    if (rc != NY_OK)
        return rc;
    case_lead cl = lead_of(m, now);
    *joined = 1;
    m->lead_id = lead_id;
    return server_cases_lead(sv, db, lead_id, &cl, e);
}

/* Queues every notification and reply of the n messages all, in message
 * order, with store_outbox_put_batch; *queued counts the rows written. */
static int queue_all(fx_msg *const *all, size_t n, store *db, int64_t now, long *queued, ny_err *e)
{
    size_t cap = (n ? n : 1) * (TRIAGE_MAX_NOTIFY + 1);
    store_outbox_row *r = malloc(cap * sizeof *r); /* each row set whole before it is counted */
    char(*keys)[40] = malloc(cap * sizeof *keys);
    char **own = calloc(n ? n : 1, sizeof *own);
    size_t k = 0;
    *queued = 0;
    int rc = r && keys && own ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        fx_msg *m = all[i];
        for (size_t j = 0; m->lead_opened && j < m->t.nnotify && j < TRIAGE_MAX_NOTIFY; j++) {
            const fx_staff *st = m->staff[j];
            if (!st)
                continue; /* nobody holds that role there */
            snprintf(keys[k], sizeof keys[k], "n:%lld:%zu", (long long)m->message_id, j);
            if (st->rc != NY_OK)
                log_event("warn", "outbound message skipped", "key", keys[k], NULL);
            if (st->rc != NY_OK || !st->t.channel[0] || !m->npayload)
                continue; /* unknown or malformed, or not pushed to */
            r[k] = (store_outbox_row){0};
            r[k].key = keys[k];
            r[k].kind = "notify";
            r[k].channel = st->t.channel;
            r[k].target = st->t.target;
            r[k].payload = m->npayload;
            r[k].priority = m->t.priority;
            r[k].next_at = r[k].created_at = now;
            k++;
        }
        if (!m->say || !m->grp->t.channel[0])
            continue;
        snprintf(keys[k], sizeof keys[k], "r:%lld", (long long)m->message_id);
        if (m->say == m->reply) { /* the reply resolved before the commit */
            if (m->rrc != NY_OK || !m->rpayload) {
                log_event("warn", "outbound message skipped", "key", keys[k], NULL);
                continue;
            }
            r[k] = (store_outbox_row){0};
            r[k].key = keys[k];
            r[k].kind = "reply";
            r[k].channel = m->grp->t.channel;
            r[k].target = m->grp->t.target;
            r[k].payload = m->rpayload;
            r[k].priority = m->t.priority;
            r[k].next_at = r[k].created_at = now;
            k++;
            continue;
        }
        const char *who[1] = {m->row->sender_id};
        outbox_item it = {keys[k], "reply", NULL, NULL, NULL,          0,
                          NULL,    m->say,  who,  1,    m->t.priority, 0};
        ny_err ie;
        int irc = outbox_row_of(&it, &m->grp->t, now, &r[k], &own[i], &ie);
        if (irc == NY_EINVAL)
            log_event("warn", "outbound message skipped", "key", keys[k], NULL);
        else if (irc != NY_OK)
            rc = ny_err_set(e, irc, "%s", ie.msg);
        else if (own[i])
            k++;
    }
    if (rc == NY_OK && k)
        rc = store_outbox_put_batch(db, r, k, queued, e);
    for (size_t i = 0; own && i < n; i++)
        free(own[i]);
    free(own);
    free(keys);
    free(r);
    return rc;
}

/* The messages of the parts stored with one store_message_ingest_batch,
 * each part's ids and dup filled from it. */
static int store_parts(store *db, const server_ingest_part *part, size_t nparts, size_t n,
                       ny_err *e)
{
    if (nparts == 1)
        return store_message_ingest_batch(db, part->rows, part->n, part->ids, part->dup, e);
    store_message *rows = calloc(n ? n : 1, sizeof *rows);
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    int *dup = malloc((n ? n : 1) * sizeof *dup);
    int rc = rows && ids && dup ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
    for (size_t k = 0, at = 0; rc == NY_OK && k < nparts; at += part[k++].n)
        memcpy(rows + at, part[k].rows, part[k].n * sizeof *rows);
    if (rc == NY_OK)
        rc = store_message_ingest_batch(db, rows, n, ids, dup, e);
    for (size_t k = 0, at = 0; rc == NY_OK && k < nparts; at += part[k++].n) {
        memcpy(part[k].ids, ids + at, part[k].n * sizeof *ids);
        memcpy(part[k].dup, dup + at, part[k].n * sizeof *dup);
    }
    free(rows);
    free(ids);
    free(dup);
    return rc;
}

int server_effects_apply(server *sv, store *db, const server_ingest_part *part, size_t nparts,
                         ny_err *e)
{
    size_t n = 0;
    for (size_t k = 0; k < nparts; k++)
        n += part[k].n;
    int rc = store_parts(db, part, nparts, n, e);
    if (rc != NY_OK)
        return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = server_now(sv), wall = (int64_t)ts.tv_sec;
    int64_t now_ms = now * 1000 + ts.tv_nsec / 1000000;
    fx_msg **all = malloc((n ? n : 1) * sizeof *all);
    fx_pending p = {malloc((n ? n : 1) * sizeof *p.at), 0};
    if (!all || !p.at) {
        free(all);
        free(p.at);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    size_t i = 0;
    for (size_t k = 0; k < nparts; k++)
        for (size_t j = 0; j < part[k].n; j++, i++) {
            fx_msg *m = all[i] = &part[k].fx->m[j];
            m->lead_id = 0;
            m->lead_opened = 0;
            m->say = NULL;
            m->merge[0] = '\0';
            m->message_id = part[k].ids[j];
            m->dup = part[k].dup[j];
        }
    for (i = 0; rc == NY_OK && i < n; i++) {
        fx_msg *m = all[i];
        if (m->dup)
            continue;
        /* a reply on a case: the case may be one of the leads not yet written */
        if (p.n && m->fb != 0 && (rc = open_leads(sv, db, &p, now, e)) != NY_OK)
            break;
        int64_t feedback = 0; /* a reporter's reply on their case (server_cases) */
        if (m->fb != 0)
            rc = case_feedback(db, server_cases_sla(sv), m->g->id, m->row->sender_id, m->row->text,
                               now, &feedback, e);
        if (rc != NY_OK || feedback)
            continue;
        triage_post tp = {m->g->external_id, m->row->sender_id,    m->mentions, m->nmentions,
                          m->row->text,      strlen(m->row->text), now_ms,      &m->prep};
        triage_verdict v;
        if ((rc = triage_etiquette_decide(sv->etiquette, &tp, &m->t, &v, e)) != NY_OK ||
            v.why == TRIAGE_OWN)
            continue;
        if (v.why == TRIAGE_SAY && v.reply && !m->reply_inline)
            m->say = v.reply;
        if (m->t.nnotify == 0)
            continue;
        if (v.lead)
            snprintf(m->merge, sizeof m->merge, "%s:%llu", sv->fx_node, (unsigned long long)v.lead);
        int joined = 0;
        if (v.merged && v.lead) { /* the lead may be one of those not yet written */
            rc = open_leads(sv, db, &p, now, e);
            if (rc == NY_OK)
                rc = join_lead(sv, db, m, &v, now, &joined, e);
        }
        if (rc == NY_OK && !joined)
            p.at[p.n++] = m;
    }
    if (rc == NY_OK)
        rc = open_leads(sv, db, &p, now, e);
    long queued = 0;
    if (rc == NY_OK)
        rc = queue_all(all, n, db, wall, &queued, e);
    for (size_t k = 0; k < nparts; k++)
        part[k].fx->queued = queued;
    free(all);
    free(p.at);
    return rc;
}

void server_effects_committed(server *sv, server_effects *fx)
{
    if (fx->queued)
        outbox_wake(sv->outbox);
    for (size_t i = 0; i < fx->n; i++) { /* committed leads go to GET /api/v1/stream */
        const fx_msg *m = &fx->m[i];
        if (!m->lead_id || !server_stream_listening(sv))
            continue;
        json_t *d = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                              (json_int_t)m->lead_id, "message_id", (json_int_t)m->message_id,
                              "text", m->row->text, "group", m->g->external_id, "unit",
                              m->g->unit_code, "intent", m->t.intent_name, "category",
                              m->t.category_name, "priority", triage_priority_name(m->t.priority),
                              "sender", m->row->sender_name, "merged", !m->lead_opened);
        if (d)
            server_stream_publish(sv, "lead", m->g->unit_code, d);
        json_decref(d);
    }
}
