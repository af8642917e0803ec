/* outbox_send.c - the pure parts of sending one outbox row: its HTTP
 * requests, the judgement of an answer and the per-target minute limits.
 *
 * The worker (outbox_worker.c) does the I/O; this file turns a claimed row
 * into the payloads of robot.h for its channel, built at send time because
 * DingTalk and Feishu sign the time, reads the robots' answers (they say
 * "errcode" or "code" non-zero with HTTP 200 when they refuse, for example
 * WeCom's 45009 when a robot's minute is spent) and keeps a sliding window
 * of send times per target. The window, not a token bucket: WeCom and
 * DingTalk allow 20 messages in any minute, and a bucket refilled while it
 * is spent would let up to 40 through in one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox_int.h"

int outbox_build(const store_outbox_row *r, int64_t now_ms, char *url, size_t sz, robot_batch *b,
                 ny_err *e)
{
    memset(b, 0, sizeof *b);
    const char *hash = strchr(r->target, '#');
    size_t ulen = hash ? (size_t)(hash - r->target) : strlen(r->target);
    if (ulen + ROBOT_QUERY_MAX >= sz)
        return ny_err_set(e, NY_EINVAL, "target URL too long");
    memcpy(url, r->target, ulen);
    url[ulen] = '\0';
    const char *secret = hash && strncmp(hash, "#sign=", 6) == 0 ? hash + 6 : "";
    json_error_t je;
    json_t *p = json_loads(r->payload, 0, &je);
    const char *text = json_string_value(json_object_get(p, "text"));
    const char *group = json_string_value(json_object_get(p, "group"));
    json_t *ms = json_object_get(p, "mentions");
    if (!text || !*text || !group) {
        json_decref(p);
        return ny_err_set(e, NY_EINVAL, "outbox payload is not {text, group, mentions}");
    }
    const char *users[8];
    size_t nu = 0;
    for (size_t i = 0; i < json_array_size(ms) && nu < 8; i++)
        if (json_is_string(json_array_get(ms, i)))
            users[nu++] = json_string_value(json_array_get(ms, i));
    robot_text t = {r->key, text, strlen(text), users, nu, NULL, 0, false};
    int rc;
    if (strcmp(r->channel, "wecom") == 0)
        rc = robot_wecom(&t, b, e);
    else if (strcmp(r->channel, "dingtalk") == 0)
        rc = robot_dingtalk(&t, secret, now_ms, b, e);
    else if (strcmp(r->channel, "feishu") == 0)
        rc = robot_feishu(&t, secret, now_ms / 1000, b, e);
    else if (strcmp(r->channel, "webhook") == 0)
        rc = robot_generic(&t, r->kind, *group ? group : "-", b, e);
    else
        rc = ny_err_set(e, NY_EINVAL, "unknown outbox channel '%s'", r->channel);
    json_decref(p);
    return rc;
}

int outbox_judge(long status, const char *body, size_t len, char *why, size_t sz)
{
    if (status < 200 || status > 299) {
        snprintf(why, sz, "HTTP %ld: %.*s", status, (int)(len < 200 ? len : 200), body);
        return 0;
    }
    json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *code = json_object_get(j, "errcode");
    if (!code)
        code = json_object_get(j, "code");
    long c = json_is_integer(code) ? (long)json_integer_value(code) : 0;
    if (c != 0) {
        const char *msg = json_string_value(json_object_get(j, "errmsg"));
        if (!msg)
            msg = json_string_value(json_object_get(j, "msg"));
        snprintf(why, sz, "robot refused: code %ld: %.200s", c, msg ? msg : "");
    }
    json_decref(j);
    return c == 0;
}

/* ---- per-target sliding minute ------------------------------------------ */

#define NBUCKETS 1024

typedef struct rate_entry {
    char *target;
    int64_t *at; /* ring of the last per_minute send times */
    unsigned head, count;
    struct rate_entry *next;
} rate_entry;

struct outbox_rates {
    unsigned per_minute;
    rate_entry *b[NBUCKETS];
};

int outbox_rates_new(unsigned per_minute, outbox_rates **out, ny_err *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return ny_err_set(e, NY_ERR, "out of memory");
    (*out)->per_minute = per_minute;
    return NY_OK;
}

void outbox_rates_free(outbox_rates *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (rate_entry *x = r->b[i], *next; x; x = next) {
            next = x->next;
            free(x->target);
            free(x->at);
            free(x);
        }
    free(r);
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

static rate_entry *entry(outbox_rates *r, const char *target)
{
    rate_entry **slot = &r->b[hash(target)];
    for (rate_entry *x = *slot; x; x = x->next)
        if (strcmp(x->target, target) == 0)
            return x;
    rate_entry *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->target = strdup(target);
    x->at = calloc(r->per_minute, sizeof *x->at);
    if (!x->target || !x->at) {
        free(x->target);
        free(x->at);
        free(x);
        return NULL;
    }
    x->next = *slot;
    *slot = x;
    return x;
}

int outbox_rates_take(outbox_rates *r, const char *target, unsigned k, int64_t now_ms,
                      int64_t *next_ms)
{
    rate_entry *x = entry(r, target);
    if (!x)
        return NY_ERR;
    unsigned cap = r->per_minute;
    if (k > cap)
        k = cap;
    while (x->count && x->at[x->head] <= now_ms - 60000) { /* forget sends over a minute old */
        x->head = (x->head + 1) % cap;
        x->count--;
    }
    if (cap - x->count < k) { /* the (k - free)-th oldest send must leave the window first */
        *next_ms = x->at[(x->head + (k - (cap - x->count)) - 1) % cap] + 60000;
        return 0;
    }
    for (unsigned i = 0; i < k; i++)
        x->at[(x->head + x->count++) % cap] = now_ms;
    *next_ms = now_ms;
    return 1;
}
