/* server_effects.c - what an ingested message causes, written in the same
 * transaction that stores it: leads, the bot's reply and the staff told.
 *
 * The ingest path (server_ingest.c) notes each message's triage result
 * while it triages (server_effects_note copies what outlives the
 * workspace), stores the batch, then calls server_effects_apply inside the
 * same open transaction with the stored ids. For every newly stored
 * message (never for a duplicate, so a retried request causes nothing
 * twice) the server's one shared group etiquette decides (thread-safe,
 * triage_etiquette_*): the bot's own messages cause nothing; a message for
 * a person opens a lead, or joins the lead of the same problem reported
 * moments ago in the group (one lead, several reporters); a lead of an
 * intent the case loop takes gets its case (a new lead's case is opened
 * first and the lead written with it); a new lead
 * notifies the staff the decision names (grid worker; community for
 * complaints; grid, community and street at once, urgent, for
 * emergencies; the district department where a cue calls for one), each
 * an outbox row keyed "n:<message id>:<i>"; and the reply, when the
 * etiquette lets the bot speak (20 a minute per group, no repeats, always
 * for an @-mention), is an outbox row "r:<message id>" to the group —
 * unless the message came through a callback that answers in its own
 * response (server_msg.reply_inline: the WeCom callback). A message's
 * notifications and reply are queued in one statement
 * (outbox_enqueue_batch): this runs inside the group commit, where every
 * statement is paid for by every request waiting behind it.
 * After the commit server_effects_committed wakes the delivery worker. A
 * group or person whose target is malformed is logged and skipped rather
 * than failing the messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "case_feedback.h"
#include "log.h"
#include "outbox.h"
#include "server_cases.h"
#include "server_int.h"
#include "store_outbox.h"

typedef struct fx_msg {
    triage_result t; /* shallow copy; norm and reply owned below */
    char *norm, *reply;
    const store_message *row;
    const server_group *g;
    int reply_inline;
    const char *mentions[OUTBOX_MAX_MENTIONS];
    size_t nmentions;
    int64_t lead_id, message_id; /* set by apply: the lead this message opened or joined */
    int lead_opened;
} fx_msg;

struct server_effects {
    size_t n;
    long queued; /* outbox rows written by apply */
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
    }
    free(fx);
}

int server_effects_note(server_effects *fx, size_t i, const triage_result *t,
                        const store_message *row, const server_msg *in)
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
    for (size_t k = 0; k < json_array_size(in->mentions) && m->nmentions < OUTBOX_MAX_MENTIONS; k++)
        m->mentions[m->nmentions++] = json_string_value(json_array_get(in->mentions, k));
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

/* What one message sends: its staff notifications and its reply, queued
 * together (outbox_enqueue_batch). */
typedef struct fx_out {
    outbox_item it[TRIAGE_MAX_NOTIFY + 1];
    char keys[TRIAGE_MAX_NOTIFY + 1][64];
    char text[1536];
    const char *who[1];
    size_t n;
} fx_out;

/* Adds the staff notifications of a new lead to o. */
static void notify(fx_out *o, const fx_msg *m, int64_t msg_id, const store_target *grp)
{
    const char *body = m->row->text, *who = m->row->sender_name;
    int nbody = clip(body, 1000), nwho = clip(who, 90), ngroup = clip(grp->name, 120);
    snprintf(o->text, sizeof o->text, "【暖羊阳】%s线索（%s · %s）\n群：%.*s\n%.*s：%.*s%s\n%s",
             m->t.priority == TRIAGE_URGENT ? "紧急" : "新", intent_zh(m->t.intent_name),
             m->t.category_name, ngroup, grp->name, nwho, who, nbody, body, body[nbody] ? "……" : "",
             m->t.priority == TRIAGE_URGENT ? "请立即处置并回复群众。" : "请及时处置。");
    for (size_t k = 0; k < m->t.nnotify && k < TRIAGE_MAX_NOTIFY; k++) {
        if (!m->t.notify[k].account)
            continue; /* nobody holds that role there */
        size_t j = o->n++;
        snprintf(o->keys[j], sizeof o->keys[j], "n:%lld:%zu", (long long)msg_id, k);
        o->it[j] = (outbox_item){
            o->keys[j], "notify", NULL, NULL,          NULL, 0, m->t.notify[k].account,
            o->text,    NULL,     0,    m->t.priority, 0};
    }
}

/* Queues o; an item with a malformed target is logged and skipped, store
 * errors fail. */
static int queue(server_effects *fx, store *db, const fx_out *o, int64_t now, ny_err *e)
{
    int item_rc[TRIAGE_MAX_NOTIFY + 1];
    long queued = 0;
    int rc = outbox_enqueue_batch(db, o->it, o->n, now, item_rc, &queued, e);
    for (size_t k = 0; rc == NY_OK && k < o->n; k++)
        if (item_rc[k] != NY_OK)
            log_event("warn", "outbound message skipped", "key", o->it[k].key, NULL);
    fx->queued += queued;
    return rc;
}

/* The lead of message i: opened, or joined under the etiquette's key, with
 * its case (cl: the lead as the case loop sees it). *opened is 1 for a new
 * lead; *lead_id is the lead's id. A new lead cannot have a case yet, so its
 * case is opened first and the lead written with it; a joined lead's case
 * gets the reporter (server_cases_lead). */
static int lead(server *sv, store *db, const fx_msg *m, int64_t msg_id, const triage_verdict *v,
                case_lead *cl, int *opened, int64_t *lead_id, ny_err *e)
{
    char merge[64];
    snprintf(merge, sizeof merge, "%s:%llu", sv->fx_node, (unsigned long long)v->lead);
    *opened = 0;
    int rc;
    if (v->merged && v->lead) {
        rc = store_lead_join(db, merge, msg_id, m->row->sender_id, (int)v->reporters, cl->at,
                             lead_id, e);
        if (rc == NY_OK)
            return server_cases_lead(sv, db, *lead_id, cl, e);
        if (rc != NY_ENOTFOUND)
            return rc; /* failed; not found: the lead predates this server */
    }
    int64_t case_id = 0;
    if (case_lead_opens(cl->intent) &&
        (rc = case_from_lead(db, server_cases_sla(sv), cl, cl->at, &case_id, e)) != NY_OK)
        return rc;
    store_lead l = {0, msg_id, m->g->id, 0, m->t.intent_name, m->t.category_name, cl->at, case_id};
    *opened = 1;
    return store_lead_open(db, &l, v->lead ? merge : NULL, m->row->sender_id, lead_id, e);
}

int server_effects_apply(server *sv, store *db, server_effects *fx, const int64_t *ids,
                         const int *dup, ny_err *e)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = server_now(sv), wall = (int64_t)ts.tv_sec;
    int64_t now_ms = now * 1000 + ts.tv_nsec / 1000000;
    for (size_t i = 0; i < fx->n; i++) {
        fx_msg *m = &fx->m[i];
        m->lead_id = 0;
        if (dup[i])
            continue;
        int64_t feedback = 0, lead_id = 0; /* a reporter's reply on their case (server_cases) */
        int rc = case_feedback(db, server_cases_sla(sv), m->g->id, m->row->sender_id, m->row->text,
                               now, &feedback, e);
        if (rc != NY_OK)
            return rc;
        if (feedback)
            continue;
        triage_post p = {m->g->external_id, m->row->sender_id,    m->mentions, m->nmentions,
                         m->row->text,      strlen(m->row->text), now_ms};
        triage_verdict v;
        rc = triage_etiquette_decide(sv->etiquette, &p, &m->t, &v, e);
        if (rc != NY_OK)
            return rc;
        if (v.why == TRIAGE_OWN)
            continue;
        int opened = 0, wants_reply = v.why == TRIAGE_SAY && v.reply && !m->reply_inline;
        case_lead cl = {m->g->id,
                        ids[i],
                        now,
                        m->g->unit_code,
                        m->row->sender_id,
                        m->row->sender_name,
                        m->row->text,
                        m->t.intent_name,
                        m->t.category_name,
                        0};
        if (m->t.nnotify > 0 &&
            (rc = lead(sv, db, m, ids[i], &v, &cl, &opened, &lead_id, e)) != NY_OK)
            return rc;
        m->lead_id = lead_id;
        m->message_id = ids[i];
        m->lead_opened = opened;
        if (!opened && !wants_reply)
            continue;
        store_target grp;
        if ((rc = store_group_target(db, m->g->id, &grp, e)) != NY_OK)
            return rc;
        fx_out o;
        o.n = 0;
        if (opened)
            notify(&o, m, ids[i], &grp);
        if (wants_reply && grp.channel[0]) {
            size_t j = o.n++;
            snprintf(o.keys[j], sizeof o.keys[j], "r:%lld", (long long)ids[i]);
            o.who[0] = m->row->sender_id;
            o.it[j] = (outbox_item){o.keys[j], "reply", grp.channel, grp.target, grp.group,     0,
                                    NULL,      v.reply, o.who,       1,          m->t.priority, 0};
        }
        if (o.n && (rc = queue(fx, db, &o, wall, e)) != NY_OK)
            return rc;
    }
    return NY_OK;
}

void server_effects_committed(server *sv, server_effects *fx)
{
    if (fx->queued)
        outbox_wake(sv->outbox);
    for (size_t i = 0; i < fx->n; i++) { /* committed leads go to GET /api/v1/stream */
        const fx_msg *m = &fx->m[i];
        if (!m->lead_id)
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
