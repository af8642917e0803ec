/* outbox.c - queueing outbound texts (outbox_enqueue).
 *
 * The one door into the outbox for every producer: ingest effects (bot
 * replies, staff notifications), notices and case feedback. It checks the
 * item, resolves a group's or a staff member's target when the caller named
 * one instead of a URL, and stores the text with its mentions as a small
 * JSON payload (store_outbox_put); the platform body is built only when the
 * worker sends it (outbox_worker.c, outbox_send.c). The row is written
 * through the caller's store handle, so it commits or rolls back with
 * whatever caused it. */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "jbuf.h"
#include "robot.h"
#include "store_outbox.h"

static int key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n > ROBOT_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || strchr("._:-", k[i])))
            return 0;
    return 1;
}

static int mention_ok(const char *m)
{
    size_t n = m ? strlen(m) : 0;
    if (n == 0 || n > ROBOT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= 'A' && m[i] <= 'Z') ||
              (m[i] >= '0' && m[i] <= '9') || strchr("_.@+-", m[i])))
            return 0;
    return 1;
}

static int one_of(const char *v, const char *const *list)
{
    for (; v && *list; list++)
        if (strcmp(v, *list) == 0)
            return 1;
    return 0;
}

static int target_ok(const char *t)
{
    size_t n = strlen(t);
    if (n > 1000 || (strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
            return 0;
    return 1;
}

static const char *const channels[] = {"wecom", "dingtalk", "feishu", "webhook", NULL};

/* The stored payload: {"text":…,"group":…,"mentions":[…]}, written
 * directly (jbuf): it is made for every notification of every lead. */
static char *payload_of(const outbox_item *it, const char *group)
{
    jbuf b = {0};
    jbuf_puts(&b, "{\"text\":");
    jbuf_str(&b, it->text);
    jbuf_puts(&b, ",\"group\":");
    jbuf_str(&b, group ? group : "");
    jbuf_puts(&b, ",\"mentions\":[");
    size_t n = it->nmentions < OUTBOX_MAX_MENTIONS ? it->nmentions : OUTBOX_MAX_MENTIONS;
    for (size_t i = 0, k = 0; i < n; i++)
        if (mention_ok(it->mentions[i])) {
            jbuf_add(&b, ",", k++ > 0);
            jbuf_str(&b, it->mentions[i]);
        }
    jbuf_puts(&b, "]}");
    char *s;
    return jbuf_finish(&b, &s, NULL, NULL) == NY_OK ? s : NULL;
}

/* Checks what the item itself says (key, kind, text, priority). */
static int item_ok(const outbox_item *it, ny_err *e)
{
    static const char *const kinds[] = {"reply", "notify", "notice", NULL};
    if (!key_ok(it->key))
        return ny_err_set(e, NY_EINVAL,
                          "outbox key must be 1..%d letters, digits or ._:- characters",
                          ROBOT_KEY_MAX);
    if (!one_of(it->kind, kinds))
        return ny_err_set(e, NY_EINVAL, "outbox kind must be reply, notify or notice");
    size_t len = it->text ? strlen(it->text) : 0;
    if (len == 0 || len > OUTBOX_TEXT_MAX)
        return ny_err_set(e, NY_EINVAL, "outbox text must be 1..%d bytes", OUTBOX_TEXT_MAX);
    int rc = domain_utf8_check(it->text, len, e);
    if (rc != NY_OK)
        return rc;
    if (it->priority < 0 || it->priority > 3)
        return ny_err_set(e, NY_EINVAL, "outbox priority must be 0..3");
    return NY_OK;
}

/* The row of a checked item it for its resolved target t (see
 * outbox_row_of). */
static int row_of(const outbox_item *it, const store_target *t, int64_t now, store_outbox_row *r,
                  char **payload, ny_err *e)
{
    *payload = NULL;
    if (!t->channel[0])
        return NY_OK; /* not reachable: nothing to queue */
    if (!one_of(t->channel, channels) || !target_ok(t->target))
        return ny_err_set(e, NY_EINVAL, "outbox target must be an http(s) URL, not '%.200s'",
                          t->target);
    if (!(*payload = payload_of(it, t->group)))
        return ny_err_set(e, NY_ERR, "out of memory");
    *r = (store_outbox_row){0};
    r->key = it->key;
    r->kind = it->kind;
    r->channel = t->channel;
    r->target = t->target;
    r->payload = *payload;
    r->priority = it->priority;
    r->next_at = it->not_before > now ? it->not_before : now;
    r->created_at = now;
    return NY_OK;
}

/* Checks it and resolves its target into *t; on NY_OK with t->channel
 * empty there is nothing to queue, else r is the row to store and
 * *payload (r->payload, to free) its payload. */
static int prepare(store *s, const outbox_item *it, int64_t now, store_target *t,
                   store_outbox_row *r, char **payload, ny_err *e)
{
    *payload = NULL;
    int rc = item_ok(it, e);
    if (rc != NY_OK)
        return rc;
    if (it->channel) {
        memset(t, 0, sizeof *t);
        snprintf(t->channel, sizeof t->channel, "%s", it->channel);
        snprintf(t->target, sizeof t->target, "%s", it->target ? it->target : "");
        snprintf(t->group, sizeof t->group, "%s", it->group ? it->group : "");
        if (!one_of(it->channel, channels))
            return ny_err_set(e, NY_EINVAL,
                              "outbox channel must be wecom, dingtalk, feishu or webhook");
    } else if (it->group_id > 0) {
        rc = store_group_target(s, it->group_id, t, e);
    } else if (it->account) {
        rc = store_staff_target(s, it->account, t, e);
    } else {
        return ny_err_set(e, NY_EINVAL, "outbox item names no channel, group or account");
    }
    return rc == NY_OK ? row_of(it, t, now, r, payload, e) : rc;
}

int outbox_row_of(const outbox_item *it, const store_target *t, int64_t now, store_outbox_row *r,
                  char **payload, ny_err *e)
{
    *payload = NULL;
    int rc = item_ok(it, e);
    return rc == NY_OK ? row_of(it, t, now, r, payload, e) : rc;
}

int outbox_enqueue(store *s, const outbox_item *it, int64_t now, int64_t *id_out, int *fresh,
                   ny_err *e)
{
    ny_err_clear(e);
    if (id_out)
        *id_out = 0;
    if (fresh)
        *fresh = 0;
    store_target t;
    store_outbox_row r;
    char *payload;
    int rc = prepare(s, it, now, &t, &r, &payload, e);
    if (rc == NY_OK && t.channel[0])
        rc = store_outbox_put(s, &r, id_out, fresh, e);
    free(payload);
    return rc;
}

int outbox_enqueue_batch(store *s, const outbox_item *items, size_t n, int64_t now, int *item_rc,
                         long *queued, ny_err *e)
{
    ny_err_clear(e);
    *queued = 0;
    if (n > OUTBOX_BATCH_MAX)
        return ny_err_set(e, NY_EINVAL, "at most %d outbox items at once", OUTBOX_BATCH_MAX);
    store_target t[OUTBOX_BATCH_MAX];
    store_outbox_row r[OUTBOX_BATCH_MAX];
    char *payload[OUTBOX_BATCH_MAX] = {0};
    size_t k = 0;
    int rc = NY_OK;
    for (size_t i = 0; i < n && rc == NY_OK; i++) {
        ny_err ie;
        item_rc[i] = prepare(s, &items[i], now, &t[k], &r[k], &payload[k], &ie);
        if (item_rc[i] == NY_OK && t[k].channel[0]) {
            k++;
        } else if (item_rc[i] != NY_OK && item_rc[i] != NY_EINVAL && item_rc[i] != NY_ENOTFOUND) {
            rc = item_rc[i]; /* the store failed: the transaction is in doubt */
            *e = ie;
        }
    }
    if (rc == NY_OK && k)
        rc = store_outbox_put_batch(s, r, k, queued, e);
    for (size_t i = 0; i < k; i++)
        free(payload[i]);
    return rc;
}
