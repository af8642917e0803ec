/* test_server_stream.c - GET /api/v1/stream and server_stream_publish: a
 * server on a free loopback port over a small district, event streams read
 * by libcurl in threads, events published in process. Checks that each
 * stream gets the events of its caller's scope and nothing else, in order
 * and in the SSE format, that keep-alive comments flow, that a stream
 * without a session is refused, that a full queue tells the client what it
 * missed, and that stopping the server ends open streams at once. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "server.h"
#include "server_int.h"
#include "testutil.h"

#define T0 1767225600LL
#define PASSWORD "yangshan2026"

static const auth_params cheap = {
    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, 0, {0, 0, 0}};

static const store_unit units[] = {
    {0, "411571000000", "羊山新区", "district", NULL},
    {0, "411571001000", "前进街道", "street", "411571000000"},
    {0, "411571001001", "新都社区", "community", "411571001000"},
    {0, "411571001001001", "新都社区第一网格", "grid", "411571001001"},
    {0, "411571001001002", "新都社区第二网格", "grid", "411571001001"},
    {0, "411571002000", "南京路街道", "street", "411571000000"},
};
static const store_staff staff[] = {
    {0, "district1", "区领导", "13900000001", "district", "411571000000", ""},
    {0, "street01", "街道", "13900000002", "street", "411571001000", ""},
    {0, "gw1", "王芳", "13900000003", "grid_worker", "411571001001001", ""},
};

/* A server over a fresh district; tokens of the three accounts. */
static server *sv;
static char uri[512], tok_district[64], tok_street[64], tok_gw[64];

static void start(void)
{
    ny_err e;
    store *s;
    snprintf(uri, sizeof uri, "%s", tu_db_uri("stream"));
    MUST(store_open(uri, NULL, &s, &e));
    MUST(store_unit_put_batch(s, units, sizeof units / sizeof units[0], NULL, &e));
    MUST(store_staff_put_batch(s, staff, sizeof staff / sizeof staff[0], NULL, &e));
    char *toks[] = {tok_district, tok_street, tok_gw};
    for (size_t i = 0; i < 3; i++) {
        MUST(auth_set_password(s, &cheap, staff[i].account, PASSWORD, T0, &e));
        MUST(auth_login(s, &cheap, staff[i].account, PASSWORD, time(NULL), toks[i], NULL, &e));
    }
    store_close(s);
    server_opts o = {.db_uri = uri, .data_dir = "data", .listen_addr = "127.0.0.1", .threads = 2};
    MUST(server_start(&o, &sv, &e));
}

/* One stream read for a while into a buffer. */
typedef struct reader {
    const char *token;
    long ms; /* how long to read */
    char buf[1 << 16];
    size_t len;
    long status;
    pthread_t th;
} reader;

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    reader *r = ctx;
    size_t k = size * n;
    if (r->len + k >= sizeof r->buf)
        k = sizeof r->buf - r->len - 1;
    memcpy(r->buf + r->len, p, k);
    r->len += k;
    r->buf[r->len] = '\0';
    return size * n;
}

static void *read_stream(void *arg)
{
    reader *r = arg;
    char url[96], auth[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/stream", server_port(sv));
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", r->token);
    CURL *c = curl_easy_init();
    struct curl_slist *h = r->token ? curl_slist_append(NULL, auth) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->ms);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static void msleep(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void publish(const char *event, const char *unit, int n)
{
    json_t *j = json_pack("{s:i, s:s}", "n", n, "unit", unit);
    server_stream_publish(sv, event, unit, j);
    json_decref(j);
}

/* Opens a stream on a raw socket with a small receive buffer, does not read
 * while n events for the caller's grid are published, then reads what
 * arrives within a second. Returns it (malloc'd). */
static char *lagging_reader(const char *token, int n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(server_port(sv))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[256];
    int k = snprintf(req, sizeof req,
                     "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
                     token);
    assert_int_equal(write(fd, req, (size_t)k), k);
    msleep(300);
    for (int i = 0; i < n; i++)
        publish("lead", "411571001001001", 100 + i);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t len = 0, cap = 1 << 20;
    char *buf = malloc(cap);
    for (ssize_t got; (got = read(fd, buf + len, cap - len - 1)) > 0;) {
        len += (size_t)got;
        if (cap - len < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void test_scope(void **state)
{
    (void)state;
    start();
    reader *rs = calloc(3, sizeof *rs);
    const char *toks[] = {tok_district, tok_street, tok_gw};
    for (int i = 0; i < 3; i++) {
        rs[i].token = toks[i];
        rs[i].ms = 1500;
        pthread_create(&rs[i].th, NULL, read_stream, &rs[i]);
    }
    msleep(400);
    publish("lead", "411571001001001", 1); /* grid 1: everyone */
    publish("lead", "411571001001002", 2); /* grid 2: district and street */
    publish("case", "411571002000", 3);    /* another street: district only */
    publish("lead", "411571001001001", 4);
    for (int i = 0; i < 3; i++)
        pthread_join(rs[i].th, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rs[i].status, 200);
        assert_non_null(strstr(rs[i].buf, "retry: 3000\n"));
    }
    assert_non_null(strstr(rs[0].buf, "event: lead\nid: 1\ndata: {\"n\":1,"));
    assert_non_null(strstr(rs[0].buf, "\"n\":2"));
    assert_non_null(strstr(rs[0].buf, "event: case\nid: 3\ndata: {\"n\":3,"));
    assert_true(strstr(rs[0].buf, "\"n\":1") < strstr(rs[0].buf, "\"n\":4"));
    assert_non_null(strstr(rs[1].buf, "\"n\":2"));
    assert_null(strstr(rs[1].buf, "\"n\":3"));
    assert_non_null(strstr(rs[2].buf, "\"n\":1"));
    assert_non_null(strstr(rs[2].buf, "\"n\":4"));
    assert_null(strstr(rs[2].buf, "\"n\":2"));
    assert_null(strstr(rs[2].buf, "\"n\":3"));

    /* no session: 401 */
    rs[0] = (reader){.token = NULL, .ms = 1000};
    read_stream(&rs[0]);
    assert_int_equal(rs[0].status, 401);

    /* a reader that stops reading loses the oldest events, and is told */
    char *got = lagging_reader(tok_gw, 100000);
    assert_non_null(strstr(got, "event: overflow\ndata: {\"dropped\":"));
    assert_non_null(strstr(got, "\"n\":100099,"));
    free(got);

    /* stopping the server ends open streams at once */
    rs[0] = (reader){.token = tok_street, .ms = 20000};
    pthread_create(&rs[0].th, NULL, read_stream, &rs[0]);
    msleep(300);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    server_stop(sv, 10);
    pthread_join(rs[0].th, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    assert_int_equal(rs[0].status, 200);
    free(rs);
}

static void test_keepalive(void **state)
{
    (void)state;
    setenv("NUANYANG_STREAM_KEEPALIVE_MS", "100", 1);
    start();
    reader *r = calloc(1, sizeof *r);
    r->token = tok_street;
    r->ms = 700;
    read_stream(r);
    assert_int_equal(r->status, 200);
    int pings = 0;
    for (const char *p = r->buf; (p = strstr(p, ": keep-alive\n\n")); p++)
        pings++;
    assert_true(pings >= 3);
    free(r);
    server_stop(sv, 10);
    unsetenv("NUANYANG_STREAM_KEEPALIVE_MS");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_keepalive),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
