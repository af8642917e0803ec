/* server_cases_report.c - the case figures of the staff API: KPIs for a
 * unit's subtree and a time range, the grid-worker table (考核), the
 * rectification ledger (整改台账) and the daily digest (日报), with CSV
 * exports; and the digest delivery the scheduler runs once a day.
 *
 * Figures count the cases reported in [from, to) whose origin (the unit
 * where the matter lies) is in the subtree, so a street's figures include
 * what its grids escalated to it; the ledger and the digest's open counts
 * follow the holding unit, as the case list does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "kpi.h"
#include "server_cases.h"
#include "store_case.h"
#include "store_case_report.h"

#define DAY 86400

/* "2026-05-01" (local midnight) or an ISO-8601 time; NY_OK or NY_EINVAL. */
static int parse_when(const char *s, int64_t *out)
{
    int y, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 && s[10] == '\0') {
        struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
        if (m < 1 || m > 12 || d < 1 || d > 31)
            return NY_EINVAL;
        *out = (int64_t)timegm(&tm) - CALENDAR_OFFSET;
        return NY_OK;
    }
    return server_parse_time(s, out);
}

/* The unit of a report: unit= (in the caller's area, else 403) or the
 * caller's own; fills code, name and subtree prefix. Answers r and returns
 * non-zero on a problem. */
static int report_unit(server *sv, const server_caller *who, const server_call *call, char *code,
                       char *name, char *prefix, server_reply *r)
{
    const char *u = server_query(call, "unit");
    if (u && *u && !server_in_scope(who, u))
        return server_forbidden(r, "unit outside your area / 单位不在本辖区");
    snprintf(code, 32, "%s", u && *u ? u : who->id.unit_code);
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    char level[16], parent[32];
    int rc =
        w ? store_case_unit(w->db, code, name, 128, level, sizeof level, parent, sizeof parent, &e)
          : NY_EUNAVAIL;
    if (rc == NY_ENOTFOUND)
        return server_error(r, 422, e.msg, "unit", -1);
    if (rc != NY_OK)
        return server_store_error(r, rc, &e);
    if (domain_unit_prefix(level, code, prefix, 32) != NY_OK)
        return server_error(r, 422, "malformed unit code / 单位代码有误", "unit", -1);
    return 0;
}

/* from/to of a report (default: the year up to now). */
static int report_range(server *sv, const server_call *call, int64_t *from, int64_t *to,
                        server_reply *r)
{
    const char *f = server_query(call, "from"), *t = server_query(call, "to");
    *to = server_now(sv) + 1;
    *from = *to - 365 * DAY;
    if (f && *f && parse_when(f, from) != NY_OK)
        return server_error(r, 422, "from must be a date or ISO-8601 time / 起始时间格式错误",
                            "from", -1);
    if (t && *t && parse_when(t, to) != NY_OK)
        return server_error(r, 422, "to must be a date or ISO-8601 time / 截止时间格式错误", "to",
                            -1);
    if (*to <= *from)
        return server_error(r, 422, "to must be after from / 截止时间须晚于起始时间", "to", -1);
    return 0;
}

/* ?limit= (default 50, at most 500) and ?offset=; answers 422 and returns
 * non-zero when one is not a whole number. */
static int page_args(const server_call *call, long *limit, long *offset, server_reply *r)
{
    const char *l = server_query(call, "limit"), *o = server_query(call, "offset");
    char *end = NULL;
    if (l && *l) {
        *limit = strtol(l, &end, 10);
        if (*end || *limit < 1)
            return server_error(r, 422, "limit must be 1..500 / 分页参数错误", "limit", -1);
        if (*limit > 500)
            *limit = 500;
    }
    if (o && *o) {
        *offset = strtol(o, &end, 10);
        if (*end || *offset < 0)
            return server_error(r, 422, "offset must be 0 or more / 分页参数错误", "offset", -1);
    }
    return 0;
}

#define MAX_CHILDREN 64
#define NCAT 8

struct kpi_run {
    const calendar *cal;
    kpi_acc all, cat[NCAT];
    long level[4];
    int nchild;
    char child_code[MAX_CHILDREN][32], child_name[MAX_CHILDREN][128],
        child_prefix[MAX_CHILDREN][32];
    kpi_acc child[MAX_CHILDREN];
};

static int on_child(void *ctx, const char *code, const char *name, const char *level)
{
    struct kpi_run *k = ctx;
    if (k->nchild == MAX_CHILDREN)
        return NY_OK;
    int i = k->nchild++;
    snprintf(k->child_code[i], 32, "%s", code);
    snprintf(k->child_name[i], 128, "%s", name);
    if (domain_unit_prefix(level, code, k->child_prefix[i], 32) != NY_OK)
        snprintf(k->child_prefix[i], 32, "%s", code);
    return NY_OK;
}

static int on_kpi_case(void *ctx, const kpi_case *c)
{
    struct kpi_run *k = ctx;
    int rc = kpi_add(&k->all, k->cal, c);
    int cat = domain_index(domain_categories, c->category);
    if (rc == NY_OK && cat >= 0 && cat < NCAT)
        rc = kpi_add(&k->cat[cat], k->cal, c);
    int lv = domain_level(c->level);
    if (lv >= 0)
        k->level[lv]++;
    for (int i = 0; i < k->nchild && rc == NY_OK; i++)
        if (strncmp(c->origin, k->child_prefix[i], strlen(k->child_prefix[i])) == 0) {
            rc = kpi_add(&k->child[i], k->cal, c);
            break;
        }
    return rc;
}

static void kpi_run_free(struct kpi_run *k)
{
    kpi_reset(&k->all);
    for (int i = 0; i < NCAT; i++)
        kpi_reset(&k->cat[i]);
    for (int i = 0; i < k->nchild; i++)
        kpi_reset(&k->child[i]);
    free(k);
}

void server_kpi(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    char code[32], name[128], prefix[32];
    int64_t from, to;
    if (server_auth(sv, call, &who, r) != NY_OK ||
        report_unit(sv, &who, call, code, name, prefix, r) || report_range(sv, call, &from, &to, r))
        return;
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    struct kpi_run *k = calloc(1, sizeof *k);
    int rc = !w ? NY_EUNAVAIL : !k ? ny_err_set(&e, NY_ERR, "out of memory") : NY_OK;
    if (rc == NY_OK) {
        k->cal = sla_calendar(server_cases_sla(sv));
        rc = store_case_children(w->db, code, on_child, k, &e);
    }
    if (rc == NY_OK)
        rc = store_case_kpi(w->db, prefix, from, to, 0, on_kpi_case, k, &e);
    if (rc != NY_OK) {
        if (k)
            kpi_run_free(k);
        server_store_error(r, rc, &e);
        return;
    }
    json_t *j = kpi_json(&k->all), *cats = json_object(), *levels = json_object(),
           *kids = json_array();
    for (int i = 0; i < NCAT; i++)
        if (k->cat[i].total)
            json_object_set_new(cats, domain_categories[i], kpi_json(&k->cat[i]));
    for (int i = 0; i < 4; i++)
        json_object_set_new(levels, domain_levels[i], json_integer(k->level[i]));
    for (int i = 0; i < k->nchild; i++) {
        json_t *c = kpi_json(&k->child[i]);
        json_object_set_new(c, "unit", json_string(k->child_code[i]));
        json_object_set_new(c, "unit_name", json_string(k->child_name[i]));
        json_array_append_new(kids, c);
    }
    char f[32], t[32];
    case_time_iso(from, f);
    case_time_iso(to, t);
    json_object_set_new(j, "unit", json_string(code));
    json_object_set_new(j, "unit_name", json_string(name));
    json_object_set_new(j, "from", json_string(f));
    json_object_set_new(j, "to", json_string(t));
    json_object_set_new(j, "by_category", cats);
    json_object_set_new(j, "by_level", levels);
    json_object_set_new(j, "by_child", kids);
    kpi_run_free(k);
    server_json(r, j);
}

/* ---- grid workers (考核) ---------------------------------------------------- */

typedef struct worker_row {
    char grid[32], grid_name[128], account[128], name[128];
    kpi_acc acc;
} worker_row;

struct workers {
    const calendar *cal;
    worker_row *w;
    int n, cap;
};

static int on_worker(void *ctx, const char *grid, const char *grid_name, const char *account,
                     const char *name)
{
    struct workers *ws = ctx;
    if (ws->n > 0 && strcmp(ws->w[ws->n - 1].grid, grid) == 0)
        return NY_OK; /* one row per grid: its first worker */
    if (ws->n == ws->cap) {
        int cap = ws->cap ? ws->cap * 2 : 64;
        worker_row *p = realloc(ws->w, (size_t)cap * sizeof *p);
        if (!p)
            return NY_ERR;
        ws->w = p;
        ws->cap = cap;
    }
    worker_row *x = &ws->w[ws->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->grid, sizeof x->grid, "%s", grid);
    snprintf(x->grid_name, sizeof x->grid_name, "%s", grid_name);
    snprintf(x->account, sizeof x->account, "%s", account);
    snprintf(x->name, sizeof x->name, "%s", name);
    return NY_OK;
}

static int on_worker_case(void *ctx, const kpi_case *c)
{
    struct workers *ws = ctx;
    int lo = 0, hi = ws->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(ws->w[mid].grid, c->origin) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ws->n && strcmp(ws->w[lo].grid, c->origin) == 0)
        return kpi_add(&ws->w[lo].acc, ws->cal, c);
    return NY_OK;
}

static void csv_field(char **buf, size_t *len, size_t *cap, const char *v, int last)
{
    size_t need = *len + strlen(v) * 2 + 8;
    if (need > *cap) {
        size_t c = need * 2;
        char *p = realloc(*buf, c);
        if (!p)
            return;
        *buf = p;
        *cap = c;
    }
    int quote = strpbrk(v, ",\"\r\n") != NULL;
    char *o = *buf + *len;
    if (quote)
        *o++ = '"';
    for (const char *s = v; *s; s++) {
        if (*s == '"' && quote)
            *o++ = '"';
        *o++ = *s;
    }
    if (quote)
        *o++ = '"';
    *o++ = last ? '\n' : ',';
    *len = (size_t)(o - *buf);
}

static void rate_text(char *buf, long num, long den)
{
    buf[0] = '\0';
    if (den > 0)
        snprintf(buf, 16, "%.4f", (double)num / (double)den);
}

static void reply_csv(server_reply *r, char *buf, size_t len)
{
    free(r->body);
    r->body = buf;
    r->len = len;
    r->status = buf ? 200 : 500;
    r->content_type = "text/csv; charset=utf-8";
}

void server_kpi_workers(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    char code[32], name[128], prefix[32];
    int64_t from, to;
    if (server_auth(sv, call, &who, r) != NY_OK ||
        report_unit(sv, &who, call, code, name, prefix, r) || report_range(sv, call, &from, &to, r))
        return;
    const char *format = server_query(call, "format");
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    struct workers ws = {sla_calendar(server_cases_sla(sv)), NULL, 0, 0};
    int rc = w ? store_case_grid_workers(w->db, prefix, on_worker, &ws, &e) : NY_EUNAVAIL;
    if (rc == NY_OK)
        rc = store_case_kpi(w->db, prefix, from, to, 1, on_worker_case, &ws, &e);
    if (rc != NY_OK) {
        for (int i = 0; i < ws.n; i++)
            kpi_reset(&ws.w[i].acc);
        free(ws.w);
        server_store_error(r, rc, &e);
        return;
    }
    int csv = format && strcmp(format, "csv") == 0;
    long limit = 50, offset = 0;
    if (page_args(call, &limit, &offset, r)) {
        for (int i = 0; i < ws.n; i++)
            kpi_reset(&ws.w[i].acc);
        free(ws.w);
        return;
    }
    json_t *items = json_array();
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (csv) {
        static const char *const head[] = {"网格代码",   "网格",   "账号",   "姓名",   "案件数",
                                           "即办数",     "上报数", "超期数", "响应率", "按期处置率",
                                           "按期结案率", "结案率", "满意率"};
        for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
            csv_field(&buf, &len, &cap, head[i], i + 1 == sizeof head / sizeof head[0]);
    }
    for (int i = 0; i < ws.n; i++) {
        worker_row *x = &ws.w[i];
        kpi_acc *a = &x->acc;
        if (csv) {
            char n[5][24], rt[5][16];
            snprintf(n[0], 24, "%ld", a->total);
            snprintf(n[1], 24, "%ld", a->on_spot);
            snprintf(n[2], 24, "%ld", a->escalated);
            snprintf(n[3], 24, "%ld", a->overdue);
            rate_text(rt[0], a->accepted_on_time, a->accept_due);
            rate_text(rt[1], a->resolved_on_time, a->resolve_due);
            rate_text(rt[2], a->closed_on_time, a->close_due);
            rate_text(rt[3], a->closed, a->close_due);
            rate_text(rt[4], a->satisfied, a->rated);
            const char *row[] = {x->grid, x->grid_name, x->account, x->name, n[0],  n[1], n[2],
                                 n[3],    rt[0],        rt[1],      rt[2],   rt[3], rt[4]};
            for (size_t k = 0; k < sizeof row / sizeof row[0]; k++)
                csv_field(&buf, &len, &cap, row[k], k + 1 == sizeof row / sizeof row[0]);
        } else if (i >= offset && i - offset < limit) {
            json_t *j = kpi_json(a);
            json_object_set_new(j, "grid", json_string(x->grid));
            json_object_set_new(j, "grid_name", json_string(x->grid_name));
            json_object_set_new(j, "account", json_string(x->account));
            json_object_set_new(j, "name", json_string(x->name));
            json_array_append_new(items, j);
        }
        kpi_reset(a);
    }
    free(ws.w);
    if (csv) {
        json_decref(items);
        reply_csv(r, buf, len);
    } else {
        server_json(r, json_pack("{s:s, s:s, s:o, s:i, s:I, s:I}", "unit", code, "unit_name", name,
                                 "items", items, "total", ws.n, "limit", (json_int_t)limit,
                                 "offset", (json_int_t)offset));
    }
}

/* ---- the rectification ledger (整改台账) ------------------------------------ */

struct ledger {
    json_t *items;
    char *buf;
    size_t len, cap;
    int csv;
    int64_t now;
};

static int on_ledger(void *ctx, const case_row *c)
{
    struct ledger *l = ctx;
    long age = (long)((l->now - c->opened_at) / DAY);
    int late = c->overdue || (c->due_at && l->now > c->due_at);
    if (l->csv) {
        char id[24], ag[24], opened[32], due[32] = "";
        snprintf(id, sizeof id, "%lld", (long long)c->id);
        snprintf(ag, sizeof ag, "%ld", age);
        case_time_iso(c->opened_at, opened);
        if (c->due_at)
            case_time_iso(c->due_at, due);
        const char *row[] = {
            id,     c->title, c->unit, c->unit_name,      case_status_label(c->status),
            opened, due,      ag,      late ? "超期" : ""};
        for (size_t k = 0; k < sizeof row / sizeof row[0]; k++)
            csv_field(&l->buf, &l->len, &l->cap, row[k], k + 1 == sizeof row / sizeof row[0]);
        return NY_OK;
    }
    json_t *j = server_case_json(c);
    json_object_set_new(j, "age_days", json_integer(age));
    json_object_set_new(j, "overdue", json_boolean(late));
    return json_array_append_new(l->items, j) ? NY_ERR : NY_OK;
}

void server_ledger(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    char code[32], name[128], prefix[32];
    if (server_auth(sv, call, &who, r) != NY_OK ||
        report_unit(sv, &who, call, code, name, prefix, r))
        return;
    const char *format = server_query(call, "format");
    struct ledger l = {json_array(),  NULL, 0, 0, format && strcmp(format, "csv") == 0,
                       server_now(sv)};
    if (l.csv) {
        static const char *const head[] = {"编号",     "事项",     "责任单位代码",
                                           "责任单位", "状态",     "登记时间",
                                           "整改期限", "已历天数", "超期"};
        for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
            csv_field(&l.buf, &l.len, &l.cap, head[i], i + 1 == sizeof head / sizeof head[0]);
    }
    case_filter f = {
        .scope = prefix, .kind = "rectification", .overdue = -1, .open_only = 1, .limit = 50};
    if (l.csv) {
        f.limit = 1000000; /* the export is the whole ledger */
    } else if (page_args(call, &f.limit, &f.offset, r)) {
        json_decref(l.items);
        return;
    }
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    long total = 0;
    int rc = w ? store_case_list(w->db, &f, on_ledger, &l, &total, &e) : NY_EUNAVAIL;
    if (rc != NY_OK) {
        json_decref(l.items);
        free(l.buf);
        server_store_error(r, rc, &e);
        return;
    }
    if (l.csv) {
        json_decref(l.items);
        reply_csv(r, l.buf, l.len);
    } else {
        server_json(r, json_pack("{s:s, s:s, s:o, s:I, s:I, s:I}", "unit", code, "unit_name", name,
                                 "items", l.items, "total", (json_int_t)total, "limit",
                                 (json_int_t)f.limit, "offset", (json_int_t)f.offset));
    }
}

/* ---- the daily digest (日报) ------------------------------------------------ */

struct digest_list {
    char *text;
    size_t len, cap;
    int n;
};

static int on_overdue(void *ctx, const case_row *c)
{
    struct digest_list *d = ctx;
    char line[512];
    int n = snprintf(line, sizeof line, "\n%d. #%lld %s（%s，%s）", ++d->n, (long long)c->id,
                     c->title, c->unit_name, case_status_label(c->status));
    if (n < 0 || d->len + (size_t)n + 1 > d->cap)
        return NY_OK;
    memcpy(d->text + d->len, line, (size_t)n + 1);
    d->len += (size_t)n;
    return NY_OK;
}

static int count_new(void *ctx, const kpi_case *c)
{
    (void)c;
    (*(long *)ctx)++;
    return NY_OK;
}

int server_cases_digest_text(store *db, const char *name, const char *prefix, int64_t day,
                             char *out, size_t n, ny_err *e)
{
    long opened = 0, open = 0, overdue = 0;
    int64_t closed = 0;
    char list[2048] = "";
    struct digest_list dl = {list, 0, sizeof list, 0};
    case_filter open_f = {.scope = prefix, .overdue = -1, .open_only = 1, .limit = 1};
    case_filter late_f = {.scope = prefix, .overdue = 1, .open_only = 1, .limit = 5};
    int rc = store_case_kpi(db, prefix, day, day + DAY, 0, count_new, &opened, e);
    if (rc == NY_OK)
        rc = store_case_closed_count(db, prefix, day, day + DAY, &closed, e);
    struct digest_list skip = {NULL, 0, 0, 0};
    if (rc == NY_OK)
        rc = store_case_list(db, &open_f, on_overdue, &skip, &open, e);
    if (rc == NY_OK)
        rc = store_case_list(db, &late_f, on_overdue, &dl, &overdue, e);
    if (rc != NY_OK)
        return rc;
    char date[32];
    case_time_iso(day, date);
    date[10] = '\0';
    snprintf(out, n,
             "【暖羊阳日报】%s %s\n新增案件%ld件，办结%lld件；当前在办%ld件，其中超期%ld件。%s%s",
             name, date, opened, (long long)closed, open, overdue,
             overdue ? "\n超期案件（请尽快办理）：" : "", list);
    return NY_OK;
}

void server_digest(server *sv, const server_call *call, server_reply *r)
{
    server_caller who;
    char code[32], name[128], prefix[32];
    if (server_auth(sv, call, &who, r) != NY_OK ||
        report_unit(sv, &who, call, code, name, prefix, r))
        return;
    int64_t now = server_now(sv), day = now - ((now + CALENDAR_OFFSET) % DAY + DAY) % DAY - DAY;
    const char *date = server_query(call, "date");
    if (date && *date && parse_when(date, &day) != NY_OK)
        return (void)server_error(r, 422, "date must be YYYY-MM-DD / 日期格式错误", "date", -1);
    ny_err e;
    server_worker *w = server_worker_get(sv, &e);
    char text[4096];
    int rc =
        w ? server_cases_digest_text(w->db, name, prefix, day, text, sizeof text, &e) : NY_EUNAVAIL;
    if (rc != NY_OK) {
        server_store_error(r, rc, &e);
        return;
    }
    char d[32];
    case_time_iso(day, d);
    d[10] = '\0';
    server_json(r, json_pack("{s:s, s:s, s:s, s:s}", "unit", code, "unit_name", name, "date", d,
                             "text", text));
}
