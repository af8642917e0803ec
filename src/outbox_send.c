/* outbox_send.c - the pure parts of sending one outbox row: its HTTP
 * requests, the judgement of an answer and the per-target minute limits.
 *
 * The worker (outbox_worker.c) does the I/O; this file turns a claimed row
 * into the payloads of robot.h for its channel, built at send time because
 * DingTalk and Feishu sign the time, reads the robots' answers (they say
 * "errcode" or "code" non-zero with HTTP 200 when they refuse, for example
 * WeCom's 45009 when a robot's minute is spent) and names each target for
 * its sliding minute of send times (store_outbox_rate_take), by a hash of
 * its URL, so that no access token in a URL is stored. It also keeps the
 * worker's short memory of hosts that could not be resolved or connected
 * to, so that the rows queued for a host that is down fail at once, without
 * a request, until its first retry is due. */
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "outbox_int.h"

/* ---- the stored payload ------------------------------------------------------ */

/* What a row's payload says; strings point into a buffer or a jansson tree. */
typedef struct payload {
    const char *text, *group;
    const char *users[OUTBOX_MAX_MENTIONS];
    size_t nu;
} payload;

/* Skips white space and then the literal s at *p: 1 when it was there. */
static int lit(const char **p, const char *s)
{
    const char *q = *p;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
        q++;
    size_t n = strlen(s);
    if (strncmp(q, s, n) != 0)
        return 0;
    *p = q + n;
    return 1;
}

/* Reads the JSON string at *p (white space first) into *out, advancing
 * both; the decoded string, or NULL for anything but the plain escapes
 * (\u… is left to jansson). */
static const char *read_str(const char **p, char **out)
{
    if (!lit(p, "\""))
        return NULL;
    const char *s = *p;
    char *o = *out, *start = o;
    for (;;) {
        unsigned char c = (unsigned char)*s++;
        if (c == '"')
            break;
        if (c < 0x20) /* the end of the text, or a control character */
            return NULL;
        if (c == '\\') {
            c = (unsigned char)*s++;
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *k = c ? strchr(from, c) : NULL;
            if (!k)
                return NULL;
            c = (unsigned char)to[k - from];
        }
        *o++ = (char)c;
    }
    *o++ = '\0';
    *p = s;
    *out = o;
    return start;
}

/* Reads a payload written as outbox.c writes it — {"text":…,"group":…,
 * "mentions":[…]}, members in that order — without a JSON library (jansson
 * took more than the rest of building a send), unescaping its strings into
 * buf (strlen(src) + 1 bytes). 1 when it has that shape, else 0. */
static int read_payload(const char *src, char *buf, payload *pl)
{
    const char *p = src;
    char *o = buf;
    memset(pl, 0, sizeof *pl);
    if (!lit(&p, "{") || !lit(&p, "\"text\"") || !lit(&p, ":") || !(pl->text = read_str(&p, &o)) ||
        !lit(&p, ",") || !lit(&p, "\"group\"") || !lit(&p, ":") ||
        !(pl->group = read_str(&p, &o)) || !lit(&p, ",") || !lit(&p, "\"mentions\"") ||
        !lit(&p, ":") || !lit(&p, "["))
        return 0;
    if (!lit(&p, "]")) {
        do {
            const char *u = read_str(&p, &o);
            if (!u)
                return 0;
            if (pl->nu < OUTBOX_MAX_MENTIONS)
                pl->users[pl->nu++] = u;
        } while (lit(&p, ","));
        if (!lit(&p, "]"))
            return 0;
    }
    if (!lit(&p, "}"))
        return 0;
    lit(&p, ""); /* white space after it */
    return *p == '\0';
}

/* Reads any other payload with jansson into pl (strings in *tree, which
 * the caller frees). 1 when it has a text and a group. */
static int parse_payload(const char *src, json_t **tree, payload *pl)
{
    json_error_t je;
    json_t *p = *tree = json_loads(src, 0, &je);
    memset(pl, 0, sizeof *pl);
    pl->text = json_string_value(json_object_get(p, "text"));
    pl->group = json_string_value(json_object_get(p, "group"));
    json_t *ms = json_object_get(p, "mentions");
    for (size_t i = 0; i < json_array_size(ms) && pl->nu < OUTBOX_MAX_MENTIONS; i++)
        if (json_is_string(json_array_get(ms, i)))
            pl->users[pl->nu++] = json_string_value(json_array_get(ms, i));
    return pl->text && pl->group;
}

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
    char *buf = malloc(strlen(r->payload) + 1);
    if (!buf)
        return ny_err_set(e, NY_ERR, "out of memory");
    json_t *tree = NULL;
    payload pl;
    if ((!read_payload(r->payload, buf, &pl) && !parse_payload(r->payload, &tree, &pl)) ||
        !*pl.text) {
        json_decref(tree);
        free(buf);
        return ny_err_set(e, NY_EINVAL, "outbox payload is not {text, group, mentions}");
    }
    robot_text t = {r->key, pl.text, strlen(pl.text), pl.users, pl.nu, NULL, 0, false};
    int rc;
    if (strcmp(r->channel, "wecom") == 0)
        rc = robot_wecom(&t, b, e);
    else if (strcmp(r->channel, "dingtalk") == 0)
        rc = robot_dingtalk(&t, secret, now_ms, b, e);
    else if (strcmp(r->channel, "feishu") == 0)
        rc = robot_feishu(&t, secret, now_ms / 1000, b, e);
    else if (strcmp(r->channel, "webhook") == 0)
        rc = robot_generic(&t, r->kind, *pl.group ? pl.group : "-", b, e);
    else
        rc = ny_err_set(e, NY_EINVAL, "unknown outbox channel '%s'", r->channel);
    json_decref(tree);
    free(buf);
    return rc;
}

/* 1 when the len bytes at b could name a member "code" or "errcode": they
 * hold "code" or a backslash (an escape could spell it). */
static int names_code(const char *b, size_t len)
{
    if (memchr(b, '\\', len))
        return 1;
    for (const char *p = b, *end = b + len; (p = memchr(p, 'c', (size_t)(end - p))); p++)
        if (end - p >= 4 && memcmp(p, "code", 4) == 0)
            return 1;
    return 0;
}

int outbox_judge(long status, const char *body, size_t len, char *why, size_t sz)
{
    if (status < 200 || status > 299) {
        snprintf(why, sz, "HTTP %ld: %.*s", status, (int)(len < 200 ? len : 200), body);
        return 0;
    }
    /* a body that names no "code" (and has no escape that could spell it)
     * has neither member, and one that starts with a zero "errcode" (the
     * WeCom and DingTalk robots' success) and names none again has no other:
     * neither needs a parse */
    static const char zero[] = "{\"errcode\":0";
    size_t nz = sizeof zero - 1;
    if (!names_code(body, len) ||
        (len > nz && memcmp(body, zero, nz) == 0 && (body[nz] == ',' || body[nz] == '}') &&
         !names_code(body + nz, len - nz)))
        return 1;
    json_t *j = json_loadb(body, len, 0, NULL);
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

/* ---- the name of a target ------------------------------------------------- */

void outbox_target_key(const char *url, char key[OUTBOX_KEY_LEN + 1])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";
    SHA256((const unsigned char *)url, strlen(url), d);
    for (size_t i = 0; i < sizeof d; i++) {
        key[2 * i] = hex[d[i] >> 4];
        key[2 * i + 1] = hex[d[i] & 15];
    }
    key[2 * sizeof d] = '\0';
}

const char *outbox_key_of(outbox_keys *c, const char *url)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = url; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    size_t i = (size_t)(h % OUTBOX_KEY_CACHE);
    if (c->url[i] && c->hash[i] == h && strcmp(c->url[i], url) == 0)
        return c->key[i];
    free(c->url[i]);
    c->url[i] = strdup(url); /* none when out of memory: the key is then not remembered */
    c->hash[i] = h;
    outbox_target_key(url, c->key[i]);
    return c->key[i];
}

void outbox_keys_free(outbox_keys *c)
{
    for (size_t i = 0; i < OUTBOX_KEY_CACHE; i++)
        free(c->url[i]);
}

/* ---- hosts that could not be reached ------------------------------------------ */

/* The host part of url ("host:port" after the scheme, before any path,
 * query, fragment or user info) into host; 0 when it does not fit. */
static int host_of(const char *url, char host[OUTBOX_HOST_MAX])
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    if (n == 0 || n >= OUTBOX_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
    host[n] = '\0';
    return 1;
}

static outbox_down *down_find(outbox_downs *d, const char *host)
{
    for (size_t i = 0; i < OUTBOX_DOWN_SLOTS; i++)
        if (d->v[i].until_ms && strcmp(d->v[i].host, host) == 0)
            return &d->v[i];
    return NULL;
}

void outbox_down_note(outbox_downs *d, const char *url, int64_t until_ms, const char *why)
{
    char host[OUTBOX_HOST_MAX];
    if (!host_of(url, host))
        return;
    outbox_down *x = down_find(d, host);
    if (!x)
        x = &d->v[d->next++ % OUTBOX_DOWN_SLOTS];
    memcpy(x->host, host, sizeof host);
    x->until_ms = until_ms;
    snprintf(x->why, sizeof x->why, "%s", why ? why : "");
}

void outbox_down_clear(outbox_downs *d, const char *url)
{
    char host[OUTBOX_HOST_MAX];
    outbox_down *x = host_of(url, host) ? down_find(d, host) : NULL;
    if (x)
        x->until_ms = 0;
}

int outbox_down_check(outbox_downs *d, const char *url, int64_t now_ms, char *why, size_t sz)
{
    char host[OUTBOX_HOST_MAX];
    outbox_down *x = host_of(url, host) ? down_find(d, host) : NULL;
    if (!x)
        return 0;
    if (now_ms >= x->until_ms) {
        x->until_ms = 0;
        return 0;
    }
    snprintf(why, sz, "%s unreachable moments ago, not tried again yet: %s", x->host, x->why);
    return 1;
}
