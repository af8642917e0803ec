/* server_open311.c - the Open311 GeoReport v2 endpoints (docs/API.md
 * "Open311"), so that existing civic tools (FixMyStreet and the like) can
 * file problems with the district and follow them.
 *
 * Services are the assistant's categories (seven plus 其他), each with a
 * stable code and, as its group, the department that holds its cases at
 * district level (data/sla.tsv). A service request is a case of kind
 * "case": its id, open/closed from its state, the latest note of its log,
 * the unit or department holding it, its times and the deadline of its
 * current stage. Public output is de-personalised: never a reporter, a chat
 * group or a sender, and digit runs and e-mail addresses in free text are
 * masked. POST needs an api_key (auth_api_key, issued by `nuanyang connector
 * add --kind open311`); the key is bound to a unit, and the request opens a
 * case through case_open, the path of staff-opened cases, at the unit its
 * address_id or address names inside that unit's subtree, or else at the
 * key's unit. Reads are public, or need an api_key and cover its subtree
 * (`serve --open311 key`), or the routes are off. Errors use Open311's
 * shape, an array of {code, description}. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "case.h"
#include "domain.h"
#include "server_cases.h"
#include "store_open311.h"

/* The service list: one per category, in the order of domain_categories. */
static const struct service {
    const char *code, *category, *name, *description, *keywords;
} services[] = {
    {"urban", "城乡建设", "城乡建设",
     "道路、井盖、路灯、供水供电、房屋安全、物业和违法建设等城乡建设与市政问题",
     "路灯,井盖,道路,积水,违建,物业,停水,停电"},
    {"environment", "环境保护", "环境保护", "垃圾堆放、噪声、油烟、污水、扬尘和绿化等环境问题",
     "垃圾,噪声,油烟,污水,扬尘,绿化"},
    {"transport", "交通运输", "交通运输", "公交、停车、占道、交通设施和出租车等交通问题",
     "公交,停车,占道,红绿灯,出租车"},
    {"education", "教育文体", "教育文体", "入学、学校周边、文化体育场地和活动等问题",
     "入学,学校,培训,健身,文化"},
    {"labour", "劳动和社会保障", "劳动和社会保障", "欠薪、社保、就业、养老和低保等事项",
     "欠薪,社保,就业,养老,低保"},
    {"commerce", "商贸旅游", "商贸旅游", "市场秩序、消费纠纷、价格和旅游服务等问题",
     "消费,价格,市场,商户,旅游"},
    {"health", "卫生计生", "卫生计生", "医疗服务、疫苗、食品卫生和公共卫生等问题",
     "医院,疫苗,食品安全,卫生"},
    {"other", "无", "其他", "不属于以上类别的其他问题", "其他"},
};
#define NSERVICES (sizeof services / sizeof services[0])

/* The one attribute of every service: the case's urgency (sla.h). */
static const char *const urgencies[][2] = {
    {"general", "一般"}, {"utility", "水电气暖中断"}, {"complex", "复杂"}, {"emergency", "紧急"}};
#define NURGENCIES (sizeof urgencies / sizeof urgencies[0])

/* The date the service list last changed (discovery's changeset). */
#define CHANGESET "2026-11-29T00:00:00+08:00"

static const struct service *service_by_code(const char *code)
{
    for (size_t i = 0; code && i < NSERVICES; i++)
        if (strcmp(services[i].code, code) == 0)
            return &services[i];
    return NULL;
}

static const struct service *service_by_category(const char *category)
{
    for (size_t i = 0; i < NSERVICES; i++)
        if (strcmp(services[i].category, category) == 0)
            return &services[i];
    return &services[NSERVICES - 1];
}

/* Answers the JSON document j (stolen) with status; coordinates are
 * written with 10 significant digits (32.1, not 32.100000000000001). */
static void reply(server_reply *r, json_t *j, int status)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (!text) {
        server_error(r, 500, "out of memory", NULL, -1);
        return;
    }
    free(r->body);
    r->body = text;
    r->len = strlen(text);
    r->content_type = "application/json";
    r->status = status;
}

/* Answers the Open311 error [{code, description}] with status. */
static void fail(server_reply *r, int status, const char *description)
{
    reply(r, json_pack("[{s:i, s:s}]", "code", status, "description", description), status);
}

/* 1 with r answered 404 when the Open311 routes are turned off. */
static int off(server *sv, server_reply *r)
{
    if (sv->o.open311 != SERVER_OPEN311_OFF)
        return 0;
    fail(r, 404, "本平台未开放 Open311 接口 / Open311 is not enabled on this server");
    return 1;
}

/* The part of a path segment before ".json" into out; 0 when the segment
 * does not end so or is empty before it. */
static int strip_json(const char *seg, char *out, size_t n)
{
    size_t len = strlen(seg);
    if (len <= 5 || len - 5 >= n || strcmp(seg + len - 5, ".json") != 0)
        return 0;
    memcpy(out, seg, len - 5);
    out[len - 5] = '\0';
    return 1;
}

/* The worker, or 0 with r answered 503. */
static server_worker *worker(server *sv, server_reply *r)
{
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    if (!w)
        fail(r, 503, "数据库暂不可用 / database unavailable");
    return w;
}

/* The client presenting key into *c and its subtree's prefix; 0 with r
 * answered 403 (503) when the key is missing, unknown or disabled. */
static int client_of(server_worker *w, const char *key, store_open311_client *c, char *prefix,
                     server_reply *r)
{
    char hash[AUTH_KEY_HASH_LEN + 1];
    ny_err e;
    if (!key || !key[0]) {
        fail(r, 403, "缺少 api_key / api_key is required");
        return 0;
    }
    auth_key_hash(key, hash);
    int rc = store_open311_client_find(w->db, NULL, hash, c, &e);
    if (rc == NY_OK && c->disabled)
        rc = NY_ENOTFOUND;
    if (rc == NY_OK && domain_unit_prefix(c->level, c->unit, prefix, 32) != NY_OK)
        rc = NY_EINVAL;
    if (rc == NY_ENOTFOUND || rc == NY_EINVAL)
        fail(r, 403, "api_key 无效或已停用 / api_key is invalid or disabled");
    else if (rc != NY_OK)
        fail(r, 503, "数据库暂不可用 / database unavailable");
    return rc == NY_OK;
}

void server_open311_discovery(server *sv, const server_call *call, server_reply *r)
{
    if (off(sv, r))
        return;
    const char *host = server_header(call, "Host");
    const char *proto = server_header(call, "X-Forwarded-Proto");
    char url[300];
    if (!host || !host[0] || strlen(host) > 200 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
            strlen(host))
        host = "127.0.0.1";
    snprintf(url, sizeof url, "%s://%s/open311/v2",
             proto && strcmp(proto, "https") == 0 ? "https" : "http", host);
    server_json(r,
                json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:[s]}]}", "changeset",
                          CHANGESET, "contact", "羊山新区社会治理中心（暖羊阳平台）", "key_service",
                          "api_key 由区平台管理员签发（nuanyang connector add --kind open311），"
                          "每个 api_key 绑定一个单位 / api keys are issued by the district's"
                          " administrator, each bound to a unit",
                          "endpoints", "specification", "http://wiki.open311.org/GeoReport_v2",
                          "url", url, "changeset", CHANGESET, "type", "production", "formats",
                          "application/json"));
}

static json_t *service_json(server *sv, const struct service *s)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "service_code", s->code, "service_name",
                     s->name, "description", s->description, "metadata", 1, "type", "realtime",
                     "keywords", s->keywords, "group",
                     sla_department(server_cases_sla(sv), s->category));
}

void server_open311_services(server *sv, const server_call *call, server_reply *r)
{
    (void)call;
    if (off(sv, r))
        return;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < NSERVICES; i++)
        json_array_append_new(arr, service_json(sv, &services[i]));
    reply(r, arr, 200);
}

void server_open311_service(server *sv, const server_call *call, server_reply *r)
{
    char code[96];
    if (off(sv, r))
        return;
    const struct service *s =
        strip_json(call->params[0], code, sizeof code) ? service_by_code(code) : NULL;
    if (!s) {
        fail(r, 404, "没有这个服务 / no such service_code");
        return;
    }
    json_t *values = json_array();
    for (size_t i = 0; values && i < NURGENCIES; i++)
        json_array_append_new(
            values, json_pack("{s:s, s:s}", "key", urgencies[i][0], "name", urgencies[i][1]));
    server_json(r, json_pack("{s:s, s:[{s:b, s:s, s:s, s:b, s:s, s:i, s:s, s:o}]}", "service_code",
                             s->code, "attributes", "variable", 1, "code", "urgency", "datatype",
                             "singlevaluelist", "required", 0, "datatype_description",
                             "不填为一般；紧急指危及人身财产安全，需 2 小时内处置", "order", 1,
                             "description", "紧急程度", "values", values));
}

/* ---- de-personalised output ---------------------------------------------- */

/* Bytes of the decimal digit at p (ASCII, or full-width U+FF10..FF19), or 0. */
static int digit_at(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    if (u[0] >= '0' && u[0] <= '9')
        return 1;
    if (u[0] == 0xEF && u[1] == 0xBC && u[2] >= 0x90 && u[2] <= 0x99)
        return 3;
    return 0;
}

static int local_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("._%+-", ch));
}

/* Bytes from s that form an e-mail address (local@domain.tld), or 0. */
static size_t email_at(const char *s)
{
    size_t k = 0, m, dot = 0;
    while (local_char(s[k]))
        k++;
    if (!k || s[k] != '@')
        return 0;
    for (m = k + 1; local_char(s[m]) && s[m] != '%' && s[m] != '+' && s[m] != '_'; m++)
        if (s[m] == '.')
            dot = m;
    return dot > k + 1 && dot + 1 < m ? m : 0;
}

/* A copy of s for the public: every run of 7 or more digits (with single
 * spaces or hyphens inside: phone, ID card and account numbers) and every
 * e-mail address replaced by "***". NULL when memory runs out. */
static char *scrub(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t o = 0, i = 0;
    if (!out)
        return NULL;
    while (s[i]) {
        size_t mail = (i == 0 || !local_char(s[i - 1])) ? email_at(s + i) : 0;
        if (mail) {
            memcpy(out + o, "***", 3);
            o += 3;
            i += mail;
            continue;
        }
        int d = digit_at(s + i);
        if (!d) {
            out[o++] = s[i++];
            continue;
        }
        size_t j = i, count = 0;
        for (;;) {
            if ((d = digit_at(s + j)) > 0) {
                count++;
                j += (size_t)d;
            } else if ((s[j] == ' ' || s[j] == '-') && digit_at(s + j + 1)) {
                j++;
            } else {
                break;
            }
        }
        if (count >= 7 && (s[j] == 'X' || s[j] == 'x'))
            j++;
        if (count >= 7) {
            memcpy(out + o, "***", 3);
            o += 3;
        } else {
            memcpy(out + o, s + i, j - i);
            o += j - i;
        }
        i = j;
    }
    out[o] = '\0';
    return out;
}

/* Sets key of j to the scrubbed text (NY_ERR when memory runs out). */
static int set_scrubbed(json_t *j, const char *key, const char *text)
{
    char *clean = scrub(text);
    int rc = clean && json_object_set_new(j, key, json_string(clean)) == 0 ? NY_OK : NY_ERR;
    free(clean);
    return rc;
}

static json_t *time_json(int64_t t)
{
    char buf[32];
    if (!t)
        return json_null();
    case_time_iso(t, buf);
    return json_string(buf);
}

static json_t *coord_json(const char *v)
{
    return v ? json_real(strtod(v, NULL)) : json_null();
}

/* One case as an Open311 service request, or NULL (out of memory). */
static json_t *request_json(const store_open311_request *q)
{
    const struct service *s = service_by_category(q->category);
    int closed = strcmp(q->status, "closed") == 0;
    char id[24], notes[2200];
    snprintf(id, sizeof id, "%lld", (long long)q->id);
    if (q->merged_into)
        snprintf(notes, sizeof notes, "%s：与 #%lld 合并办理", case_status_label(q->status),
                 (long long)q->merged_into);
    else
        snprintf(notes, sizeof notes, "%s%s%s", case_status_label(q->status),
                 q->note[0] ? "：" : "", q->note);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s?, s:o, s:o, s:o, s:s}",
        "service_request_id", id, "status", closed ? "closed" : "open", "service_name", s->name,
        "service_code", s->code, "agency_responsible",
        strcmp(q->level, "district") == 0 && q->department[0] ? q->department : q->unit_name,
        "service_notice", "", "requested_datetime", time_json(q->opened_at), "updated_datetime",
        time_json(q->updated_at ? q->updated_at : q->opened_at), "expected_datetime",
        time_json(closed || strcmp(q->status, "suspended") == 0 ? 0 : q->due_at), "address_id",
        q->address_id[0] ? q->address_id : NULL, "zipcode", json_null(), "lat", coord_json(q->lat),
        "long", coord_json(q->lon), "media_url", q->photo_url);
    if (!j || set_scrubbed(j, "status_notes", notes) != NY_OK ||
        set_scrubbed(j, "description", q->description[0] ? q->description : q->title) != NY_OK ||
        set_scrubbed(j, "address", q->location) != NY_OK) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int on_request(void *ctx, const store_open311_request *q)
{
    json_t *j = request_json(q);
    return j && json_array_append_new(ctx, j) == 0 ? NY_OK : NY_ERR;
}

/* ---- reading requests ----------------------------------------------------- */

/* The subtree a read covers into prefix ("" = the whole district): with an
 * api_key its client's, without one everything while reads are public.
 * 0 with r answered (403) otherwise. */
static int read_scope(server *sv, server_worker *w, const server_call *call, char prefix[32],
                      server_reply *r)
{
    const char *key = server_query(call, "api_key");
    store_open311_client c;
    prefix[0] = '\0';
    if ((!key || !key[0]) && sv->o.open311 == SERVER_OPEN311_PUBLIC)
        return 1;
    return client_of(w, key, &c, prefix, r);
}

/* An Open311 time argument (ISO-8601 with offset; a '+' the query turned
 * into a space is taken back). 0 when absent, -1 when malformed. */
static int time_arg(const server_call *call, const char *name, int64_t *out)
{
    const char *v = server_query(call, name);
    char buf[64];
    *out = 0;
    if (!v || !v[0])
        return 0;
    if (strlen(v) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", v);
    char *sp = strchr(buf, ' ');
    if (sp)
        *sp = '+';
    return server_parse_time(buf, out) == NY_OK ? 1 : -1;
}

#define DAYS90 (90 * 86400)

/* The filters of GET requests.json into *f (ids into ids[100]); 0 with r
 * answered 400 when one is malformed. */
static int read_filter(server *sv, const server_call *call, store_open311_filter *f, int64_t *ids,
                       server_reply *r)
{
    const char *v = server_query(call, "service_request_id");
    char msg[300];
    if (v && v[0]) {
        const char *p = v;
        while (*p) {
            char *end;
            long long id = strtoll(p, &end, 10);
            if (end == p || id <= 0 || (*end && *end != ',') || f->n_ids == 100) {
                fail(r, 400,
                     "service_request_id 应为以逗号分隔的编号（至多 100 个） /"
                     " service_request_id must be up to 100 comma-separated ids");
                return 0;
            }
            ids[f->n_ids++] = (int64_t)id;
            p = *end ? end + 1 : end;
        }
        f->ids = ids;
        return 1;
    }
    v = server_query(call, "service_code");
    const struct service *s = v && v[0] ? service_by_code(v) : NULL;
    if (v && v[0] && !s) {
        fail(r, 400, "没有这个 service_code / unknown service_code");
        return 0;
    }
    f->category = s ? s->category : NULL;
    int64_t start, end;
    int hs = time_arg(call, "start_date", &start), he = time_arg(call, "end_date", &end);
    if (hs < 0 || he < 0) {
        snprintf(msg, sizeof msg,
                 "%s 应为带时区的 ISO-8601 时间 / %s must be an ISO-8601 time"
                 " with offset, e.g. 2026-05-01T00:00:00+08:00",
                 hs < 0 ? "start_date" : "end_date", hs < 0 ? "start_date" : "end_date");
        fail(r, 400, msg);
        return 0;
    }
    if (!he)
        end = hs ? start + DAYS90 : server_now(sv);
    if (!hs)
        start = end - DAYS90;
    if (end < start || end - start > DAYS90) {
        fail(r, 400,
             "end_date 须晚于 start_date 且相隔不超过 90 天 / end_date must follow"
             " start_date by at most 90 days");
        return 0;
    }
    f->start = start;
    f->end = end;
    v = server_query(call, "status");
    int open = v && strstr(v, "open") != NULL, closed = v && strstr(v, "closed") != NULL;
    if (v && v[0] && strcmp(v, "open") != 0 && strcmp(v, "closed") != 0 &&
        strcmp(v, "open,closed") != 0 && strcmp(v, "closed,open") != 0) {
        fail(r, 400, "status 应为 open 或 closed / status must be open or closed");
        return 0;
    }
    f->status = open && !closed ? 1 : closed && !open ? 2 : 0;
    return 1;
}

/* Runs the query and answers the array; 404 when one id was asked for and
 * nothing came back. */
static void answer_requests(server_worker *w, const store_open311_filter *f, int one,
                            server_reply *r)
{
    ny_err e;
    json_t *arr = json_array();
    int rc = arr ? store_open311_requests(w->db, f, on_request, arr, &e) : NY_ERR;
    if (rc != NY_OK) {
        json_decref(arr);
        fail(r, rc == NY_EUNAVAIL ? 503 : 500, "查询失败 / the query failed");
    } else if (one && json_array_size(arr) == 0) {
        json_decref(arr);
        fail(r, 404, "没有这个服务请求 / no such service request");
    } else {
        reply(r, arr, 200);
    }
}

void server_open311_requests(server *sv, const server_call *call, server_reply *r)
{
    char prefix[32];
    int64_t ids[100];
    if (off(sv, r))
        return;
    server_worker *w = worker(sv, r);
    if (!w || !read_scope(sv, w, call, prefix, r))
        return;
    store_open311_filter f = {.scope = prefix, .limit = 1000};
    if (read_filter(sv, call, &f, ids, r))
        answer_requests(w, &f, 0, r);
}

void server_open311_request(server *sv, const server_call *call, server_reply *r)
{
    char prefix[32], text[96], *end = text;
    if (off(sv, r))
        return;
    long long id = strip_json(call->params[0], text, sizeof text) ? strtoll(text, &end, 10) : 0;
    if (id <= 0 || *end) {
        fail(r, 404, "没有这个服务请求 / no such service request");
        return;
    }
    server_worker *w = worker(sv, r);
    if (!w || !read_scope(sv, w, call, prefix, r))
        return;
    int64_t one = (int64_t)id;
    store_open311_filter f = {.scope = prefix, .ids = &one, .n_ids = 1, .limit = 1};
    answer_requests(w, &f, 1, r);
}

/* ---- creating a request --------------------------------------------------- */

/* Most fields a form may carry. */
#define FORM_MAX 64

/* A decoded application/x-www-form-urlencoded body: pairs point into buf. */
typedef struct form {
    char *buf;
    int n;
    const char *key[FORM_MAX], *val[FORM_MAX];
} form;

static int hex_value(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Decodes s in place ('+' is a space, %XX a byte); 0 for a bad escape. */
static int url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%') {
            int hi = hex_value(s[1]), lo = hi < 0 ? -1 : hex_value(s[2]);
            if (lo < 0)
                return 0;
            *o++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return 1;
}

/* Parses body into *f (the caller frees f->buf). NULL message on success,
 * else why it is not a form. */
static const char *form_parse(const char *body, size_t len, form *f)
{
    f->n = 0;
    f->buf = malloc(len + 1);
    if (!f->buf)
        return "out of memory";
    memcpy(f->buf, body, len);
    f->buf[len] = '\0';
    if (strlen(f->buf) != len)
        return "请求体含 NUL 字节 / the body contains a NUL byte";
    for (char *save = NULL, *pair = strtok_r(f->buf, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq || f->n == FORM_MAX)
            return "请求体应为表单编码（application/x-www-form-urlencoded） / the body must be"
                   " application/x-www-form-urlencoded";
        *eq = '\0';
        if (!url_decode(pair) || !url_decode(eq + 1) ||
            domain_utf8_check(eq + 1, strlen(eq + 1), NULL) != NY_OK)
            return "表单字段编码错误或不是 UTF-8 / a form field is badly escaped or not UTF-8";
        f->key[f->n] = pair;
        f->val[f->n++] = eq + 1;
    }
    return NULL;
}

/* The first value of name in f, or NULL ("" counts as absent). */
static const char *form_get(const form *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->key[i], name) == 0)
            return f->val[i][0] ? f->val[i] : NULL;
    return NULL;
}

/* Characters (code points) of a UTF-8 text. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A coordinate within [-max, max] as normalised text into out; 0 if bad. */
static int coord(const char *v, double max, char out[24])
{
    char *end;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || !isfinite(d) || fabs(d) > max)
        return 0;
    snprintf(out, 24, "%.6f", d);
    return 1;
}

static int url_ok(const char *u)
{
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return 0;
    for (; *u; u++)
        if ((unsigned char)*u <= ' ' || *u == 0x7f)
            return 0;
    return 1;
}

/* The checked fields of a request. */
typedef struct o311_req {
    const struct service *svc;
    const char *description, *address, *address_id, *media_url, *urgency;
    char lat[24], lon[24], reporter[800], title[200], location[840];
    int has_coords;
} o311_req;

/* Checks f into *q; NULL or what is wrong (for a 400). */
static const char *check_request(const form *f, o311_req *q)
{
    const char *code = form_get(f, "service_code"), *v;
    if (!code)
        return "缺少 service_code / service_code is required";
    if (!(q->svc = service_by_code(code)))
        return "没有这个 service_code / unknown service_code";
    q->description = form_get(f, "description");
    q->urgency = form_get(f, "attribute[urgency]");
    if (!q->description && !q->urgency)
        return "缺少 description / description (or an attribute) is required";
    if (q->description && chars(q->description) > 4000)
        return "description 超过 4000 字 / description is longer than 4,000 characters";
    if (q->urgency) {
        size_t i = 0;
        while (i < NURGENCIES && strcmp(urgencies[i][0], q->urgency) != 0)
            i++;
        if (i == NURGENCIES)
            return "attribute[urgency] 应为 general、utility、complex 或 emergency /"
                   " attribute[urgency] must be general, utility, complex or emergency";
    }
    const char *lat = form_get(f, "lat"), *lon = form_get(f, "long");
    if ((lat || lon) && !(coord(lat, 90, q->lat) && coord(lon, 180, q->lon)))
        return "lat 和 long 应为有效的经纬度 / lat and long must be a valid latitude and longitude";
    q->has_coords = lat != NULL;
    q->address = form_get(f, "address_string");
    q->address_id = form_get(f, "address_id");
    if (!q->has_coords && !q->address && !q->address_id)
        return "缺少位置：lat/long、address_string 或 address_id / a location is required:"
               " lat and long, address_string or address_id";
    if ((q->address && chars(q->address) > 200) || (q->address_id && strlen(q->address_id) > 20))
        return "地址过长 / address_string or address_id is too long";
    q->media_url = form_get(f, "media_url");
    if (q->media_url && (strlen(q->media_url) > 1000 || !url_ok(q->media_url)))
        return "media_url 应为 http(s) 地址 / media_url must be an http(s) URL";
    const char *first = form_get(f, "first_name"), *last = form_get(f, "last_name");
    const char *phone = form_get(f, "phone"), *email = form_get(f, "email");
    if ((first && chars(first) > 50) || (last && chars(last) > 50))
        return "姓名过长 / first_name or last_name is too long";
    if (phone && (strlen(phone) > 30 || strspn(phone, "0123456789+-() ") != strlen(phone)))
        return "phone 应为电话号码 / phone must be a phone number";
    if (email && (strlen(email) > 254 || !strchr(email, '@') || strpbrk(email, " \t\r\n<>")))
        return "email 格式不正确 / email is not an e-mail address";
    /* the reporter as staff read it: 张三 (family name first unless Latin) */
    int latin =
        (!first || (unsigned char)first[0] < 0x80) && (!last || (unsigned char)last[0] < 0x80);
    char name[420];
    snprintf(name, sizeof name, "%s%s%s%s", latin && first ? first : "",
             latin && first && last ? " " : "", last ? last : "", !latin && first ? first : "");
    snprintf(q->reporter, sizeof q->reporter, "%s%s%s%s%s", name, phone ? " 电话 " : "",
             phone ? phone : "", email ? " 邮箱 " : "", email ? email : "");
    size_t lead = strspn(q->reporter, " ");
    memmove(q->reporter, q->reporter + lead, strlen(q->reporter + lead) + 1);
    if ((v = q->description) != NULL) { /* the first line, at most 30 characters */
        size_t o = 0, n = 0;
        for (; v[o] && v[o] != '\n' && v[o] != '\r' && o + 4 < sizeof q->title; o++) {
            if (((unsigned char)v[o] & 0xC0) != 0x80 && ++n > 30)
                break;
            q->title[o] = v[o];
        }
        q->title[o] = '\0';
    }
    if (!q->title[0])
        snprintf(q->title, sizeof q->title, "%s（Open311）", q->svc->name);
    if (q->address)
        snprintf(q->location, sizeof q->location, "%s", q->address);
    else if (q->has_coords)
        snprintf(q->location, sizeof q->location, "经纬度 %s,%s", q->lat, q->lon);
    return NULL;
}

/* Opens the case of q for client c at the located unit, in one
 * transaction; *out is the new case. */
static int open_case(server *sv, store *db, const store_open311_client *c, const char *prefix,
                     const o311_req *q, case_row *out, ny_err *e)
{
    char account[96];
    snprintf(account, sizeof account, "open311:%s", c->name);
    case_actor a = {account, c->name, "open311", c->unit, prefix, ""};
    int64_t now = server_now(sv);
    snprintf(out->kind, sizeof out->kind, "case");
    snprintf(out->source, sizeof out->source, "hotline");
    snprintf(out->category, sizeof out->category, "%s", q->svc->category);
    snprintf(out->urgency, sizeof out->urgency, "%s", q->urgency ? q->urgency : "general");
    if (case_row_set(&out->title, q->title, e) ||
        case_row_set(&out->description, q->description, e) ||
        case_row_set(&out->location, q->location, e) ||
        case_row_set(&out->photo_url, q->media_url, e) ||
        case_row_set(&out->reporter, q->reporter, e))
        return NY_ERR;
    int rc = store_begin(db, e);
    if (rc != NY_OK)
        return rc;
    rc = store_open311_locate(db, prefix, q->address_id, q->address, c->unit, out->unit, e);
    if (rc == NY_OK)
        rc = case_open(db, server_cases_sla(sv), out, &a, now, e);
    if (rc == NY_OK)
        rc = store_open311_request_put(db, out->id, c->id, q->has_coords ? q->lat : NULL,
                                       q->has_coords ? q->lon : NULL, q->address_id, now, e);
    return store_end(db, rc, e);
}

void server_open311_post(server *sv, const server_call *call, server_reply *r)
{
    if (off(sv, r))
        return;
    const char *ctype = server_header(call, "Content-Type");
    form f = {0};
    const char *why =
        ctype && strstr(ctype, "json")
            ? "请求体应为表单编码 / the body must be application/x-www-form-urlencoded"
            : form_parse(call->body, call->len, &f);
    if (why) {
        free(f.buf);
        fail(r, 400, why);
        return;
    }
    server_worker *w = worker(sv, r);
    store_open311_client c;
    char prefix[32];
    if (!w || !client_of(w, form_get(&f, "api_key"), &c, prefix, r)) {
        free(f.buf);
        return;
    }
    o311_req q = {0};
    why = check_request(&f, &q);
    if (why) {
        free(f.buf);
        fail(r, 400, why);
        return;
    }
    ny_err e;
    case_row cr = {0};
    int rc = open_case(sv, w->db, &c, prefix, &q, &cr, &e);
    free(f.buf);
    if (rc != NY_OK) {
        case_row_free(&cr);
        fail(r,
             rc == NY_ENOTFOUND  ? 400
             : rc == NY_EUNAVAIL ? 503
                                 : 500,
             rc == NY_ENOTFOUND ? e.msg : "受理失败，请稍后重试 / the request could not be stored");
        return;
    }
    char id[24], due[32], notice[400];
    snprintf(id, sizeof id, "%lld", (long long)cr.id);
    case_time_iso(cr.due_at, due);
    snprintf(notice, sizeof notice, "已受理，由%s办理，立案期限 %s / received, held by %s",
             cr.unit_name, due, cr.unit_name);
    case_row_free(&cr);
    reply(r,
          json_pack("[{s:s, s:s, s:n}]", "service_request_id", id, "service_notice", notice,
                    "account_id"),
          201);
}
