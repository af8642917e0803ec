/* robot.c - chat robot payload builders and text splitting (see robot.h).
 *
 * The outbox worker calls one builder per queued item and target kind, at
 * send time, and POSTs the resulting bodies in order; robot_retry.c holds the
 * retry arithmetic that goes with it. Bodies are written directly as JSON
 * text (jbuf: compact, members in the documented order, UTF-8 kept as is, so
 * a content's byte count is what the platform counts; a jansson tree only to
 * print it cost more than the rest of a send). Splitting works on
 * valid UTF-8 only, so it can step from character to character by the lead
 * byte; it first counts the parts for a given marker width and widens the
 * marker when the count needs more digits. DingTalk's signed URL suffix and
 * Feishu's signature come from sign.c. */
#include "robot.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "jbuf.h"
#include "sign.h"

/* Characters allowed in idempotency keys and in mention ids (see robot.h). */
#define KEY_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@+-"

void robot_batch_free(robot_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i].body);
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

void robot_parts_free(char **parts, size_t n)
{
    if (!parts)
        return;
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
}

/* Checks a text to send: present, not empty, valid UTF-8 without NUL. */
static int check_text(const char *what, const char *s, size_t len, ny_err *e)
{
    if (!s || len == 0)
        return ny_err_set(e, NY_EINVAL, "%s is empty", what);
    const char *nul = memchr(s, '\0', len);
    if (nul)
        return ny_err_set(e, NY_EINVAL, "%s has a NUL byte at byte %zu", what,
                          (size_t)(nul - s) + 1);
    ny_err sub;
    if (domain_utf8_check(s, len, &sub) != NY_OK)
        return ny_err_set(e, NY_EINVAL, "%s: %s", what, sub.msg);
    return NY_OK;
}

/* Bytes of the UTF-8 character whose lead byte is c (valid input). */
static size_t u8len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* 1 when the c bytes at s are one of the listed characters. */
static int one_of(const char *s, size_t c, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == c && memcmp(s, list[i], c) == 0)
            return 1;
    return 0;
}

static const char *const sentence_ends[] = {"。", "！", "？", "!", "?", NULL};
static const char *const closers[] = {"”", "’", "」", "』", "）", "》", "】", ")", "\"", "'", NULL};
static const char *const clause_marks[] = {"，", "、", "；", "：", ",", ";", " ", "\t", NULL};

/* End (exclusive) of the part that starts at start when more than budget
 * bytes remain: the best cut within [start + budget / 2, start + budget]. */
static size_t cut(const char *s, size_t start, size_t budget)
{
    size_t hard = start + budget, min = start + budget / 2;
    size_t nl = 0, sentence = 0, clause = 0, p = start;
    while (p < hard) {
        size_t c = u8len((unsigned char)s[p]);
        if (p + c > hard)
            break;
        size_t q = p + c;
        if (s[p] == '\n') {
            nl = q;
        } else if (one_of(s + p, c, sentence_ends)) {
            for (size_t c2; q < hard; q += c2) {
                c2 = u8len((unsigned char)s[q]);
                if (q + c2 > hard || !one_of(s + q, c2, closers))
                    break;
            }
            sentence = q;
        } else if (one_of(s + p, c, clause_marks)) {
            clause = q;
        }
        p += c;
    }
    if (nl >= min)
        return nl;
    if (sentence >= min)
        return sentence;
    if (clause >= min)
        return clause;
    return p;
}

/* Cuts text into parts of at most budget bytes; stores the end of each part
 * in ends (when not NULL) and returns the number of parts. */
static size_t chunks(const char *s, size_t len, size_t budget, size_t *ends)
{
    size_t n = 0, pos = 0;
    while (pos < len) {
        size_t end = len - pos > budget ? cut(s, pos, budget) : len;
        if (ends)
            ends[n] = end;
        n++;
        pos = end;
    }
    return n;
}

static int digits(size_t n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

int robot_split(const char *text, size_t len, size_t limit, char ***parts, size_t *n, ny_err *e)
{
    *parts = NULL;
    *n = 0;
    if (limit < ROBOT_SPLIT_MIN)
        return ny_err_set(e, NY_EINVAL, "split limit %zu is below %d bytes", limit,
                          ROBOT_SPLIT_MIN);
    int rc = check_text("text", text, len, e);
    if (rc != NY_OK)
        return rc;
    size_t count = 1, budget = limit;
    int d = 0;
    if (len > limit) {
        /* widen the "(i/n) " marker until the part count fits its width */
        do {
            d++;
            budget = limit - (2 * (size_t)d + 4);
            count = chunks(text, len, budget, NULL);
        } while (digits(count) > d);
    }
    size_t *ends = malloc(count * sizeof *ends);
    char **v = calloc(count, sizeof *v);
    if (!ends || !v) {
        free(ends);
        free(v);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    if (count == 1)
        ends[0] = len;
    else
        chunks(text, len, budget, ends);
    for (size_t i = 0, pos = 0; i < count; pos = ends[i++]) {
        char marker[48] = "";
        if (count > 1)
            snprintf(marker, sizeof marker, "(%zu/%zu) ", i + 1, count);
        size_t ml = strlen(marker), pl = ends[i] - pos;
        if (!(v[i] = malloc(ml + pl + 1))) {
            robot_parts_free(v, count);
            free(ends);
            return ny_err_set(e, NY_ERR, "out of memory");
        }
        memcpy(v[i], marker, ml);
        memcpy(v[i] + ml, text + pos, pl);
        v[i][ml + pl] = '\0';
    }
    free(ends);
    *parts = v;
    *n = count;
    return NY_OK;
}

/* Checks the idempotency key, the text and the mention ids of m. */
static int check_msg(const robot_text *m, ny_err *e)
{
    size_t kl = m->key ? strlen(m->key) : 0;
    if (kl == 0 || kl > ROBOT_KEY_MAX)
        return ny_err_set(e, NY_EINVAL, "idempotency key must have 1 to %d characters",
                          ROBOT_KEY_MAX);
    for (size_t i = 0; i < kl; i++)
        if (!strchr(KEY_CHARS, m->key[i]))
            return ny_err_set(e, NY_EINVAL, "idempotency key: character %zu is not allowed", i + 1);
    int rc = check_text("text", m->text, m->len, e);
    if (rc != NY_OK)
        return rc;
    for (int list = 0; list < 2; list++) {
        const char *const *ids = list ? m->mobiles : m->users;
        size_t n = list ? m->n_mobiles : m->n_users;
        if (n > 0 && !ids)
            return ny_err_set(e, NY_EINVAL, "mention list is NULL but has %zu entries", n);
        for (size_t i = 0; i < n; i++) {
            size_t l = ids[i] ? strlen(ids[i]) : 0;
            if (l == 0 || l > ROBOT_ID_MAX)
                return ny_err_set_at(e, NY_EINVAL, (long)i,
                                     "mention %zu must have 1 to %d "
                                     "characters",
                                     i + 1, ROBOT_ID_MAX);
            for (size_t k = 0; k < l; k++)
                if (!strchr(ID_CHARS, ids[i][k]))
                    return ny_err_set_at(e, NY_EINVAL, (long)i,
                                         "mention %zu: character %zu is not allowed", i + 1, k + 1);
        }
    }
    return NY_OK;
}

/* Appends a JSON array of the n strings ids, plus extra when not NULL. */
static void id_array(jbuf *b, const char *const *ids, size_t n, const char *extra)
{
    jbuf_add(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        jbuf_add(b, ",", i > 0);
        jbuf_str(b, ids[i]);
    }
    if (extra) {
        jbuf_add(b, ",", n > 0);
        jbuf_str(b, extra);
    }
    jbuf_add(b, "]", 1);
}

/* Hands the body written in b to p with key and query; NY_ERR when memory
 * ran out. */
static int put(robot_payload *p, jbuf *b, const char *key, const char *query, ny_err *e)
{
    memset(p, 0, sizeof *p);
    int rc = jbuf_finish(b, &p->body, &p->len, e);
    if (rc != NY_OK)
        return rc;
    snprintf(p->key, sizeof p->key, "%s", key);
    snprintf(p->query, sizeof p->query, "%s", query);
    return NY_OK;
}

/* A batch of the one body written in b. */
static int single(robot_batch *out, jbuf *b, const char *key, const char *query, ny_err *e)
{
    out->v = malloc(sizeof *out->v);
    if (!out->v) {
        jbuf_free(b);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    int rc = put(out->v, b, key, query, e);
    if (rc != NY_OK) {
        free(out->v);
        out->v = NULL;
        return rc;
    }
    out->n = 1;
    return NY_OK;
}

int robot_wecom(const robot_text *m, robot_batch *out, ny_err *e)
{
    out->v = NULL;
    out->n = 0;
    int rc = check_msg(m, e);
    char **parts = NULL;
    size_t n = 0;
    if (rc == NY_OK)
        rc = robot_split(m->text, m->len, ROBOT_WECOM_TEXT_MAX, &parts, &n, e);
    if (rc != NY_OK)
        return rc;
    out->v = calloc(n, sizeof *out->v);
    if (!out->v)
        rc = ny_err_set(e, NY_ERR, "out of memory");
    for (size_t i = 0; rc == NY_OK && i < n; i++) {
        bool first = i == 0;
        jbuf j = {0};
        jbuf_puts(&j, "{\"msgtype\":\"text\",\"text\":{\"content\":");
        jbuf_str(&j, parts[i]);
        jbuf_puts(&j, ",\"mentioned_list\":");
        id_array(&j, m->users, first ? m->n_users : 0, first && m->at_all ? "@all" : NULL);
        jbuf_puts(&j, ",\"mentioned_mobile_list\":");
        id_array(&j, m->mobiles, first ? m->n_mobiles : 0, NULL);
        jbuf_puts(&j, "}}");
        char key[ROBOT_KEY_MAX + 24];
        if (n > 1)
            snprintf(key, sizeof key, "%s/%zu", m->key, i + 1);
        else
            snprintf(key, sizeof key, "%s", m->key);
        rc = put(&out->v[i], &j, key, "", e);
        if (rc == NY_OK)
            out->n = i + 1;
    }
    robot_parts_free(parts, n);
    if (rc != NY_OK)
        robot_batch_free(out);
    return rc;
}

/* Appends len bytes at s to the malloc'd buffer *buf of *used bytes. */
static int append(char **buf, size_t *used, const char *s, size_t len, ny_err *e)
{
    char *nb = realloc(*buf, *used + len + 1);
    if (!nb)
        return ny_err_set(e, NY_ERR, "out of memory");
    memcpy(nb + *used, s, len);
    *used += len;
    nb[*used] = '\0';
    *buf = nb;
    return NY_OK;
}

/* 1 when "@id" occurs in the len bytes of text, followed by a non-id byte. */
static int mentions_id(const char *text, size_t len, const char *id)
{
    size_t l = strlen(id);
    for (size_t i = 0; i + l < len; i++)
        if (text[i] == '@' && memcmp(text + i + 1, id, l) == 0 &&
            (i + 1 + l == len || !strchr(ID_CHARS, text[i + 1 + l])))
            return 1;
    return 0;
}

/* Percent-encodes s (all but unreserved characters) into out of size cap. */
static void url_encode(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 4 <= cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
    }
    out[o] = '\0';
}

int robot_dingtalk(const robot_text *m, const char *secret, int64_t now_ms, robot_batch *out,
                   ny_err *e)
{
    out->v = NULL;
    out->n = 0;
    int rc = check_msg(m, e);
    if (rc != NY_OK)
        return rc;
    char query[ROBOT_QUERY_MAX] = "";
    if (secret && secret[0]) {
        char sig[SIGN_B64_LEN + 1], enc[3 * SIGN_B64_LEN + 4];
        rc = sign_dingtalk(secret, now_ms, sig, e);
        if (rc != NY_OK)
            return rc;
        url_encode(sig, enc, sizeof enc);
        snprintf(query, sizeof query, "&timestamp=%" PRId64 "&sign=%s", now_ms, enc);
    }
    char *content = NULL;
    size_t used = 0;
    rc = append(&content, &used, m->text, m->len, e);
    for (int list = 0; rc == NY_OK && list < 2; list++) {
        const char *const *ids = list ? m->users : m->mobiles;
        size_t n = list ? m->n_users : m->n_mobiles;
        for (size_t i = 0; rc == NY_OK && i < n; i++)
            if (!mentions_id(m->text, m->len, ids[i])) {
                rc = append(&content, &used, " @", 2, e);
                if (rc == NY_OK)
                    rc = append(&content, &used, ids[i], strlen(ids[i]), e);
            }
    }
    if (rc == NY_OK) {
        jbuf j = {0};
        jbuf_puts(&j, "{\"msgtype\":\"text\",\"text\":{\"content\":");
        jbuf_strn(&j, content, used);
        jbuf_puts(&j, "},\"at\":{\"atMobiles\":");
        id_array(&j, m->mobiles, m->n_mobiles, NULL);
        jbuf_puts(&j, ",\"atUserIds\":");
        id_array(&j, m->users, m->n_users, NULL);
        jbuf_puts(&j, m->at_all ? ",\"isAtAll\":true}}" : ",\"isAtAll\":false}}");
        rc = single(out, &j, m->key, query, e);
    }
    free(content);
    return rc;
}

/* The Feishu text: m's text with "<at" defused, then the mention tags. */
static int feishu_text(const robot_text *m, char **out, size_t *used, ny_err *e)
{
    int rc = NY_OK;
    size_t from = 0;
    for (size_t i = 0; rc == NY_OK && i < m->len; i++)
        if (m->text[i] == '<' && i + 2 < m->len && (m->text[i + 1] | 0x20) == 'a' &&
            (m->text[i + 2] | 0x20) == 't') {
            rc = append(out, used, m->text + from, i - from, e);
            if (rc == NY_OK)
                rc = append(out, used, "＜", strlen("＜"), e);
            from = i + 1;
        }
    if (rc == NY_OK)
        rc = append(out, used, m->text + from, m->len - from, e);
    for (size_t i = 0; rc == NY_OK && i <= m->n_users; i++) {
        const char *id = i < m->n_users ? m->users[i] : m->at_all ? "all" : NULL;
        char tag[ROBOT_ID_MAX + 32];
        if (!id)
            break;
        int tl = snprintf(tag, sizeof tag, " <at user_id=\"%s\"></at>", id);
        rc = append(out, used, tag, (size_t)tl, e);
    }
    return rc;
}

int robot_feishu(const robot_text *m, const char *secret, int64_t now_s, robot_batch *out,
                 ny_err *e)
{
    out->v = NULL;
    out->n = 0;
    int rc = check_msg(m, e);
    if (rc != NY_OK)
        return rc;
    char *text = NULL;
    size_t used = 0;
    rc = feishu_text(m, &text, &used, e);
    jbuf j = {0};
    if (rc == NY_OK && secret && secret[0]) {
        char sig[SIGN_B64_LEN + 1], ts[24];
        rc = sign_feishu(secret, now_s, sig, e);
        snprintf(ts, sizeof ts, "%" PRId64, now_s);
        jbuf_puts(&j, "{\"timestamp\":");
        jbuf_str(&j, ts);
        jbuf_puts(&j, ",\"sign\":");
        jbuf_str(&j, sig);
        jbuf_add(&j, ",", 1);
    } else {
        jbuf_add(&j, "{", 1);
    }
    jbuf_puts(&j, "\"msg_type\":\"text\",\"content\":{\"text\":");
    jbuf_strn(&j, text ? text : "", used);
    jbuf_puts(&j, "}}");
    if (rc == NY_OK)
        rc = single(out, &j, m->key, "", e);
    else
        jbuf_free(&j);
    free(text);
    return rc;
}

int robot_generic(const robot_text *m, const char *kind, const char *group, robot_batch *out,
                  ny_err *e)
{
    out->v = NULL;
    out->n = 0;
    int rc = check_msg(m, e);
    if (rc == NY_OK)
        rc = check_text("kind", kind, kind ? strlen(kind) : 0, e);
    if (rc == NY_OK)
        rc = check_text("group", group, group ? strlen(group) : 0, e);
    if (rc != NY_OK)
        return rc;
    jbuf j = {0};
    jbuf_puts(&j, "{\"idempotency_key\":");
    jbuf_str(&j, m->key);
    jbuf_puts(&j, ",\"kind\":");
    jbuf_str(&j, kind);
    jbuf_puts(&j, ",\"group\":");
    jbuf_str(&j, group);
    jbuf_puts(&j, ",\"text\":");
    jbuf_strn(&j, m->text, m->len);
    jbuf_puts(&j, ",\"mentions\":");
    id_array(&j, m->users, m->n_users, m->at_all ? "@all" : NULL);
    jbuf_add(&j, "}", 1);
    return single(out, &j, m->key, "", e);
}
