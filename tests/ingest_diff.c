/* ingest_diff.c - the differential check of the ingest body reader
 * (ingest_diff.h): a server over a few groups, and the comparison of the
 * fast reader with the jansson path for one body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "ingest_diff.h"
#include "server_int.h"

const char *const ingest_diff_groups[INGEST_DIFF_NGROUPS] = {"g1", "wx:12345@chatroom",
                                                             "群-新都一网格", "a\"b/c\\d", "群😀"};

int ingest_diff_server(const char *db_uri, server **out, ny_err *e)
{
    static const store_unit units[] = {
        {0, "411571000000", "羊山新区", "district", NULL},
        {0, "411571001000", "前进街道", "street", "411571000000"},
        {0, "411571001001", "新都社区", "community", "411571001000"},
        {0, "411571001001001", "新都社区第一网格", "grid", "411571001001"},
    };
    store_group g[INGEST_DIFF_NGROUPS];
    for (size_t i = 0; i < INGEST_DIFF_NGROUPS; i++)
        g[i] = (store_group){0,
                             "wechat",
                             ingest_diff_groups[i],
                             i % 2 ? "enterprise" : "resident",
                             "411571001001001",
                             ingest_diff_groups[i],
                             10,
                             ""};
    store *s;
    int rc = store_open(db_uri, NULL, &s, e);
    if (rc != NY_OK)
        return rc;
    rc = store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, e);
    if (rc == NY_OK)
        rc = store_group_put_batch(s, g, INGEST_DIFF_NGROUPS, NULL, e);
    store_close(s);
    if (rc != NY_OK)
        return rc;
    server_opts o = {.db_uri = db_uri,
                     .data_dir = "data",
                     .listen_addr = "127.0.0.1",
                     .threads = 1,
                     .no_outbox = 1};
    return server_start(&o, out, e);
}

/* A field of a message as text, for the report of a difference. */
static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Compares the messages x and y (count n): 0, or 1 with why. */
static int same_msgs(const server_msg *x, const server_msg *y, size_t n, const char *what,
                     ingest_diff_outcome *out)
{
    for (size_t i = 0; i < n; i++) {
        const server_msg *a = &x[i], *b = &y[i];
        const char *bad = !same_str(a->id, b->id)                     ? "id"
                          : !same_str(a->sender_id, b->sender_id)     ? "sender.id"
                          : !same_str(a->sender_name, b->sender_name) ? "sender.name"
                          : a->text_len != b->text_len || memcmp(a->text, b->text, a->text_len) != 0
                              ? "text"
                          : a->g != b->g                                         ? "group"
                          : a->sent_at != b->sent_at                             ? "time"
                          : !a->mentions != !b->mentions                         ? "mentions"
                          : a->mentions && !json_equal(a->mentions, b->mentions) ? "mentions"
                          : a->reply_inline != b->reply_inline                   ? "reply_inline"
                                                                                 : NULL;
        if (bad) {
            snprintf(out->why, sizeof out->why, "%s: message %zu differs in %s", what, i, bad);
            return 1;
        }
    }
    return 0;
}

/* One run of server_ingest_parse: its status, answer and messages. */
typedef struct parsed {
    int status;
    server_reply r;
    server_msg *in;
    size_t n;
    json_t *doc;
    char *strs;
} parsed;

static void parse(const server *sv, const char *body, size_t len, int fast, parsed *p)
{
    memset(p, 0, sizeof *p);
    p->status = server_ingest_parse(sv, body, len, fast, &p->in, &p->n, &p->doc, &p->strs, &p->r);
}

static void parsed_free(parsed *p)
{
    free(p->r.body);
    free(p->in);
    json_decref(p->doc);
    free(p->strs);
}

int ingest_diff(const server *sv, const char *body, size_t len, ingest_diff_outcome *out)
{
    memset(out, 0, sizeof *out);
    char *z = malloc(len + 1), *exact = malloc(len ? len : 1);
    if (!z || !exact) {
        free(z);
        free(exact);
        snprintf(out->why, sizeof out->why, "out of memory");
        return 1;
    }
    memcpy(z, body, len);
    z[len] = '\0';
    memcpy(exact, body, len);
    parsed ref, full;
    parse(sv, z, len, 0, &ref);
    parse(sv, z, len, 1, &full);
    out->status = ref.status;
    out->count = ref.n;
    int bad = 0;
    if (ref.status && !ref.r.body) {
        snprintf(out->why, sizeof out->why, "refusal %d without a JSON reason", ref.status);
        bad = 1;
    }
    /* the fast reader alone: only on valid UTF-8, as server_ingest_parse
     * calls it */
    server_msg *fm = NULL;
    size_t fn = 0;
    char *fs = NULL;
    if (domain_utf8_check(exact, len, NULL) == NY_OK)
        out->fast = server_ingest_read(sv, exact, len, &fm, &fn, &fs);
    if (out->fast) {
        if (ref.status) {
            snprintf(out->why, sizeof out->why,
                     "fast reader accepted %zu messages, jansson path refused %d: %.300s", fn,
                     ref.status, ref.r.body ? ref.r.body : "");
            bad = 1;
        } else if (fn != ref.n) {
            snprintf(out->why, sizeof out->why, "fast reader %zu messages, jansson path %zu", fn,
                     ref.n);
            bad = 1;
        } else {
            bad = same_msgs(fm, ref.in, fn, "fast reader against jansson", out);
        }
    }
    if (!bad && full.status != ref.status) {
        snprintf(out->why, sizeof out->why, "status %d with the fast reader, %d without",
                 full.status, ref.status);
        bad = 1;
    }
    if (!bad && ref.status &&
        (full.r.len != ref.r.len || memcmp(full.r.body, ref.r.body, ref.r.len) != 0)) {
        snprintf(out->why, sizeof out->why, "reason %.200s with the fast reader, %.200s without",
                 full.r.body, ref.r.body);
        bad = 1;
    }
    if (!bad && !ref.status) {
        if (full.n != ref.n) {
            snprintf(out->why, sizeof out->why, "%zu messages with the fast reader, %zu without",
                     full.n, ref.n);
            bad = 1;
        } else {
            bad = same_msgs(full.in, ref.in, ref.n, "parse with and without the fast reader", out);
        }
    }
    free(fm);
    free(fs);
    parsed_free(&ref);
    parsed_free(&full);
    free(z);
    free(exact);
    return bad;
}
