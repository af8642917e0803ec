/* server_wecom.c - GET/POST /connectors/wecom/{name}: the WeCom (企业微信)
 * callback URL of one connector of kind wecom.
 *
 * GET is WeCom's URL check: the echostr in the query is verified against
 * msg_signature and decrypted, and its plaintext is the answer. POST carries
 * an encrypted message in an XML envelope (app and group-robot callbacks) or
 * a JSON one (AI-bot callbacks, receive_id ""), told apart by the body's
 * first character. Every step refuses before the next runs: the connector
 * must exist, be of kind wecom and be enabled (404/403); msg_signature,
 * timestamp and nonce must be present (400) and the timestamp within five
 * minutes of server_now (401, as for signed ingest); the envelope must parse
 * (400); the signature is checked before anything is decrypted (401); the
 * plaintext must decrypt, be UTF-8 and parse (400). A text message from a
 * group then goes through server_ingest_store, the path POST
 * /api/v1/messages takes, with the WeCom message id as its id, so WeCom's
 * retries are answered "duplicate" and stored once. When the assistant has
 * a reply, the answer is that reply encrypted and signed in the envelope
 * format of the request (wecom_reply): a group-robot text with the sender
 * mentioned for XML, a finished stream message for AI bots. Anything that is
 * not a group text message (events, images, one-to-one app messages) is
 * acknowledged with an empty 200, which WeCom takes as "no reply", and
 * logged as not stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "domain.h"
#include "log.h"
#include "server_int.h"
#include "wecom.h"

/* Seconds a callback's timestamp may differ from the server's clock. */
#define WINDOW_S 300

/* ---- the connector ---------------------------------------------------------- */

typedef struct wc_conn {
    wecom w;
    char name[80];
    int is_wecom, disabled, init_rc;
    ny_err e;
} wc_conn;

static int on_connector(void *ctx, const store_connector *c)
{
    wc_conn *cc = ctx;
    snprintf(cc->name, sizeof cc->name, "%s", c->name);
    cc->is_wecom = strcmp(c->kind, "wecom") == 0;
    cc->disabled = c->disabled;
    if (cc->is_wecom)
        cc->init_rc =
            wecom_init(&cc->w, c->wecom_token, c->wecom_aes_key, c->wecom_receive_id, &cc->e);
    return NY_OK;
}

/* Finds the connector named in the path and checks the query's signature
 * parameters; on failure answers r and returns its status. */
static int prepare(server *sv, server_worker *w, const server_call *call, wc_conn *cc,
                   server_reply *r)
{
    char why[320];
    ny_err e;
    int rc = store_connector_find(w->db, call->params[0], on_connector, cc, &e);
    if (rc == NY_ENOTFOUND || (rc == NY_OK && !cc->is_wecom)) {
        snprintf(why, sizeof why, "没有这个企业微信连接器 / no WeCom connector named '%.80s'",
                 call->params[0]);
        return server_error(r, 404, why, NULL, -1);
    }
    if (rc != NY_OK)
        return server_error(r, rc == NY_EUNAVAIL ? 503 : 500, e.msg, NULL, -1);
    if (cc->init_rc != NY_OK) {
        snprintf(why, sizeof why, "连接器配置有误 / connector misconfigured: %.200s", cc->e.msg);
        return server_error(r, 500, why, NULL, -1);
    }
    if (cc->disabled)
        return server_error(r, 403, "连接器已停用 / connector is disabled", NULL, -1);
    static const char *const need[] = {"msg_signature", "timestamp", "nonce"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = server_query(call, need[i]);
        if (!v || !*v) {
            snprintf(why, sizeof why, "缺少参数 / missing query parameter %s", need[i]);
            return server_error(r, 400, why, need[i], -1);
        }
    }
    const char *ts = server_query(call, "timestamp");
    size_t nd = strspn(ts, "0123456789");
    if (nd == 0 || nd > 18 || ts[nd])
        return server_error(r, 400, "时间戳格式错误 / timestamp is not 1..18 digits", "timestamp",
                            -1);
    long long t = strtoll(ts, NULL, 10), now = (long long)server_now(sv);
    if (t < now - WINDOW_S || t > now + WINDOW_S)
        return server_error(r, 401,
                            "时间戳超出五分钟窗口 / timestamp outside the 5-minute window "
                            "(stale or replayed)",
                            "timestamp", -1);
    return 0;
}

/* Verifies msg_signature over encrypt, then decrypts it; on failure answers
 * r and returns its status. */
static int open_encrypt(wc_conn *cc, const server_call *call, const char *encrypt, char **msg,
                        size_t *len, server_reply *r)
{
    char why[320];
    ny_err e;
    if (wecom_verify(&cc->w, server_query(call, "msg_signature"), server_query(call, "timestamp"),
                     server_query(call, "nonce"), encrypt, &e) != NY_OK) {
        snprintf(why, sizeof why, "签名无效 / bad msg_signature: %.200s", e.msg);
        return server_error(r, 401, why, "msg_signature", -1);
    }
    if (wecom_decrypt(&cc->w, encrypt, msg, len, &e) != NY_OK) {
        snprintf(why, sizeof why, "无法解密 / cannot decrypt: %.200s", e.msg);
        return server_error(r, 400, why, "encrypt", -1);
    }
    if (domain_utf8_check(*msg, *len, &e) != NY_OK) {
        free(*msg);
        *msg = NULL;
        snprintf(why, sizeof why, "消息不是 UTF-8 / message is not valid UTF-8: %.200s", e.msg);
        return server_error(r, 400, why, "encrypt", -1);
    }
    return 0;
}

/* A body of len bytes answered with content type ct (body stolen). */
static void answer_raw(server_reply *r, char *body, size_t len, const char *ct)
{
    free(r->body);
    r->body = body;
    r->len = len;
    r->status = 200;
    r->content_type = ct;
    if (!body)
        server_error(r, 500, "out of memory", NULL, -1);
}

/* GET: URL verification. */
static void verify_url(wc_conn *cc, const server_call *call, server_reply *r)
{
    const char *echostr = server_query(call, "echostr");
    if (!echostr || !*echostr) {
        server_error(r, 400, "缺少参数 / missing query parameter echostr", "echostr", -1);
        return;
    }
    char *enc = strdup(echostr), *msg = NULL;
    size_t len = 0;
    if (!enc) {
        server_error(r, 500, "out of memory", NULL, -1);
        return;
    }
    for (char *p = enc; *p; p++) /* a '+' left unescaped arrives as a space */
        if (*p == ' ')
            *p = '+';
    if (!open_encrypt(cc, call, enc, &msg, &len, r))
        answer_raw(r, msg, len, "text/plain; charset=utf-8");
    free(enc);
}

/* ---- the decrypted message ------------------------------------------------- */

/* The fields of a decrypted callback message that ingest needs. Strings
 * are malloc'd (XML) or point into json (JSON). */
typedef struct wc_msg {
    const char *type, *id, *chat, *sender, *name, *text;
    long long created; /* 0 when absent */
    char *own[7];
    json_t *json;
} wc_msg;

static void msg_free(wc_msg *m)
{
    for (size_t i = 0; i < sizeof m->own / sizeof m->own[0]; i++)
        free(m->own[i]);
    json_decref(m->json);
}

/* The first "]]>" in x[i..n), or NULL. */
static const char *cdata_end(const char *x, size_t i, size_t n)
{
    for (; i + 3 <= n; i++)
        if (x[i] == ']' && x[i + 1] == ']' && x[i + 2] == '>')
            return x + i;
    return NULL;
}

/* The text of the first element <tag> of the XML x (n bytes) at any depth,
 * CDATA or character data with the five predefined entities decoded, as a
 * malloc'd string; NULL when absent. CDATA sections are skipped while
 * searching, so a user's text cannot fake an element. */
static char *xml_text(const char *x, size_t n, const char *tag)
{
    size_t tl = strlen(tag), i = 0;
    while (i < n) {
        const char *lt = memchr(x + i, '<', n - i);
        if (!lt)
            return NULL;
        i = (size_t)(lt - x);
        if (n - i >= 9 && memcmp(x + i, "<![CDATA[", 9) == 0) {
            const char *end = cdata_end(x, i + 9, n);
            if (!end)
                return NULL;
            i = (size_t)(end - x) + 3;
            continue;
        }
        if (n - i < tl + 2 || memcmp(x + i + 1, tag, tl) != 0 || x[i + tl + 1] != '>') {
            i++;
            continue;
        }
        i += tl + 2;
        char *out = malloc(n - i + 1);
        size_t o = 0;
        if (!out)
            return NULL;
        while (i < n && x[i] != '<') {
            static const char *const ent[][2] = {
                {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"}};
            size_t k = 0;
            while (k < 5 && !(x[i] == '&' && n - i >= strlen(ent[k][0]) &&
                              memcmp(x + i, ent[k][0], strlen(ent[k][0])) == 0))
                k++;
            out[o++] = k < 5 ? ent[k][1][0] : x[i];
            i += k < 5 ? strlen(ent[k][0]) : 1;
        }
        if (n - i >= 9 && memcmp(x + i, "<![CDATA[", 9) == 0 && o == 0) {
            const char *end = cdata_end(x, i + 9, n);
            if (!end) {
                free(out);
                return NULL;
            }
            o = (size_t)(end - (x + i + 9));
            memcpy(out, x + i + 9, o);
        }
        out[o] = '\0';
        return out;
    }
    return NULL;
}

/* Reads the XML message (app or group-robot callback) into *m. */
static void read_xml(const char *x, size_t n, wc_msg *m)
{
    m->own[0] = xml_text(x, n, "MsgType");
    m->own[1] = xml_text(x, n, "MsgId");
    m->own[2] = xml_text(x, n, "ChatId");
    m->own[3] = xml_text(x, n, "UserId"); /* group robot: <From><UserId> */
    if (!m->own[3])
        m->own[3] = xml_text(x, n, "FromUserName");
    m->own[4] = xml_text(x, n, "Name");
    m->own[5] = xml_text(x, n, "Content"); /* app: <Content>, robot: <Text><Content> */
    m->own[6] = xml_text(x, n, "CreateTime");
    m->type = m->own[0];
    m->id = m->own[1];
    m->chat = m->own[2] && *m->own[2] ? m->own[2] : NULL;
    m->sender = m->own[3];
    m->name = m->own[4] && *m->own[4] ? m->own[4] : m->sender;
    m->text = m->own[5];
    m->created = m->own[6] ? strtoll(m->own[6], NULL, 10) : 0;
}

/* Reads the JSON message of an AI-bot callback into *m; 0 when it is not a
 * JSON object. */
static int read_json(const char *x, size_t n, wc_msg *m)
{
    m->json = json_loadb(x, n, 0, NULL);
    if (!json_is_object(m->json))
        return 0;
    json_t *j = m->json, *from = json_object_get(j, "from");
    m->type = json_string_value(json_object_get(j, "msgtype"));
    m->id = json_string_value(json_object_get(j, "msgid"));
    const char *chattype = json_string_value(json_object_get(j, "chattype"));
    m->chat = chattype && strcmp(chattype, "group") == 0
                  ? json_string_value(json_object_get(j, "chatid"))
                  : NULL;
    m->sender = json_string_value(json_object_get(from, "userid"));
    m->name = json_string_value(json_object_get(from, "name"));
    if (!m->name || !*m->name)
        m->name = m->sender;
    m->text = json_string_value(json_object_get(json_object_get(j, "text"), "content"));
    json_t *ct = json_object_get(j, "create_time");
    m->created = json_is_integer(ct) ? (long long)json_integer_value(ct) : 0;
    return 1;
}

/* Writes one JSON log line saying why a callback message was not stored. */
static void log_skipped(const char *connector, const wc_msg *m, const char *why)
{
    log_event("info", "wecom message not stored", "connector", connector, "reason", why, "msgtype",
              m->type, "msgid", m->id, "from", m->sender, NULL);
}

/* ---- the reply --------------------------------------------------------------- */

/* Appends s to f as CDATA content (a "]]>" inside is split across two
 * sections). */
static void cdata(FILE *f, const char *s)
{
    fputs("<![CDATA[", f);
    for (; *s; s++) {
        if (s[0] == ']' && s[1] == ']' && s[2] == '>') {
            fputs("]]]]><![CDATA[>", f);
            s += 2;
        } else {
            fputc(*s, f);
        }
    }
    fputs("]]>", f);
}

/* The plaintext of the passive reply carrying text to m's sender. */
static char *reply_plain(wecom_format fmt, const wc_msg *m, const char *text)
{
    if (fmt == WECOM_JSON) {
        char sid[160];
        snprintf(sid, sizeof sid, "ny-%.140s", m->id);
        json_t *j = json_pack("{s:s, s:{s:s, s:b, s:s}}", "msgtype", "stream", "stream", "id", sid,
                              "finish", 1, "content", text);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return s;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs("<xml><MsgType>text</MsgType><Text><Content>", f);
    cdata(f, text);
    fputs("</Content><MentionedList><Item>", f);
    cdata(f, m->sender);
    fputs("</Item></MentionedList></Text></xml>", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Answers r with text encrypted for the connector in format fmt. */
static void answer_reply(server *sv, wc_conn *cc, wecom_format fmt, const wc_msg *m,
                         const char *text, server_reply *r)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char nonce[17], ts[24], *out = NULL;
    for (size_t i = 0; i < 16; i++)
        nonce[i] = alnum[randombytes_uniform(sizeof alnum - 1)];
    nonce[16] = '\0';
    snprintf(ts, sizeof ts, "%lld", (long long)server_now(sv));
    char *plain = reply_plain(fmt, m, text);
    ny_err e;
    if (!plain) {
        server_error(r, 500, "out of memory", NULL, -1);
    } else if (wecom_reply(&cc->w, plain, strlen(plain), ts, nonce, NULL, fmt, &out, &e) != NY_OK) {
        server_error(r, 500, e.msg, NULL, -1);
    } else {
        answer_raw(r, out, strlen(out),
                   fmt == WECOM_XML ? "application/xml; charset=utf-8" : "application/json");
    }
    free(plain);
}

/* Ingests the decrypted message and answers r. */
static void ingest(server *sv, server_worker *w, wc_conn *cc, wecom_format fmt, const char *plain,
                   size_t len, server_reply *r)
{
    wc_msg m = {0};
    char why[240];
    if (fmt == WECOM_JSON && !read_json(plain, len, &m)) {
        server_error(r, 400, "解密后的消息不是 JSON 对象 / decrypted message is not a JSON object",
                     "encrypt", -1);
    } else {
        if (fmt == WECOM_XML)
            read_xml(plain, len, &m);
        const char *skip = !m.type || strcmp(m.type, "text") != 0 ? "not a text message"
                           : !m.chat                              ? "not a group message"
                           : !m.text || !*m.text                  ? "empty text"
                                                                  : NULL;
        server_msg in = {0};
        if (skip) {
            log_skipped(cc->name, &m, skip);
            answer_raw(r, strdup(""), 0, "text/plain; charset=utf-8");
        } else if (!m.id || !*m.id || strlen(m.id) > 128) {
            server_error(r, 422, "消息缺少编号 / message id (MsgId, msgid) missing or too long",
                         "msgid", -1);
        } else if (!m.sender || !*m.sender) {
            server_error(r, 422, "消息缺少发送人 / sender (From.UserId, from.userid) missing",
                         "from", -1);
        } else if (!(in.g = server_group_find(sv, m.chat))) {
            snprintf(why, sizeof why, "未登记的群 / unknown group '%.120s'", m.chat);
            server_error(r, 422, why, "chatid", -1);
        } else {
            in.id = m.id;
            in.sender_id = m.sender;
            in.sender_name = m.name;
            in.text = m.text;
            in.text_len = strlen(m.text);
            in.reply_inline = 1; /* the reply is this request's answer */
            in.sent_at = m.created > 0 && m.created <= 253402300799LL ? m.created : server_now(sv);
            char *answer = NULL;
            size_t answer_len = 0;
            if (!server_ingest_store(sv, w, cc->name, &in, 1, &answer, &answer_len, r)) {
                json_t *doc = json_loadb(answer, answer_len, 0, NULL);
                const char *reply = json_string_value(
                    json_object_get(json_array_get(json_object_get(doc, "results"), 0), "reply"));
                if (reply && *reply)
                    answer_reply(sv, cc, fmt, &m, reply, r);
                else
                    answer_raw(r, strdup(""), 0, "text/plain; charset=utf-8");
                json_decref(doc);
            }
            free(answer);
        }
    }
    msg_free(&m);
}

/* ---- the route ------------------------------------------------------------------ */

void server_wecom(server *sv, const server_call *call, server_reply *r)
{
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    if (!w) {
        server_error(r, 503, e.msg, NULL, -1);
        return;
    }
    wc_conn cc = {0};
    if (prepare(sv, w, call, &cc, r)) {
        wecom_wipe(&cc.w);
        return;
    }
    if (strcmp(call->method, "POST") != 0) {
        verify_url(&cc, call, r);
        wecom_wipe(&cc.w);
        return;
    }
    size_t skip = strspn(call->body, " \t\r\n");
    wecom_format fmt = call->body[skip] == '{' ? WECOM_JSON : WECOM_XML;
    char *encrypt = NULL, *plain = NULL, why[320];
    size_t len = 0;
    int rc = fmt == WECOM_JSON ? wecom_envelope_json(call->body, call->len, &encrypt, &e)
                               : wecom_envelope_xml(call->body, call->len, &encrypt, &e);
    if (rc != NY_OK) {
        snprintf(why, sizeof why, "回调报文格式错误 / malformed %s envelope: %.200s",
                 fmt == WECOM_JSON ? "JSON" : "XML", e.msg);
        server_error(r, 400, why, "body", -1);
    } else if (!open_encrypt(&cc, call, encrypt, &plain, &len, r)) {
        ingest(sv, w, &cc, fmt, plain, len, r);
    }
    free(encrypt);
    free(plain);
    wecom_wipe(&cc.w);
}
