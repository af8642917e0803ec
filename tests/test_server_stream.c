/* test_server_stream.c - GET /api/v1/stream and server_stream_publish: a
 * server on a free loopback port over a small district, event streams read
 * by libcurl in threads, events published in process. Checks that each
 * stream gets the events of its caller's scope and nothing else, in order
 * and in the SSE format, that keep-alive comments flow, that a stream
 * without a session is refused, that a full queue tells the client what it
 * missed, and that stopping the server ends open streams at once.
 *
 * Nothing here waits a fixed time for the server: a test publishes once
 * every stream has its first bytes (the server registers a stream before
 * it sends them), and a reader stops when it has read the last event it
 * expects (events arrive in order, so what did not come before it will not
 * come), each under a deadline far beyond what a loaded machine needs. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* Deadline of everything a test waits for, in ms. */
#define DEADLINE_MS 60000

/* One stream read into a buffer until it shows `until` (or, with pings, has
 * that many keep-alive comments), ms have passed or the server ends it. */
typedef struct reader {
    const char *token;
    long ms;
    const char *until;
    int pings;
    char buf[1 << 16];
    size_t len;
    atomic_int opened; /* the stream's first bytes have arrived */
    long status;
    pthread_t th;
} reader;

static int count_pings(const char *p)
{
    int n = 0;
    for (; (p = strstr(p, ": keep-alive\n\n")); p++)
        n++;
    return n;
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    reader *r = ctx;
    size_t k = size * n;
    if (r->len + k >= sizeof r->buf)
        k = sizeof r->buf - r->len - 1;
    memcpy(r->buf + r->len, p, k);
    r->len += k;
    r->buf[r->len] = '\0';
    if (strstr(r->buf, "retry: 3000\n"))
        atomic_store(&r->opened, 1);
    if ((r->until && strstr(r->buf, r->until)) || (r->pings && count_pings(r->buf) >= r->pings))
        return 0; /* seen what was awaited: end the transfer */
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

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void msleep(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits until each of the n readers' streams is open. */
static void wait_open(reader *rs, int n)
{
    double t0 = now_ms();
    for (int i = 0; i < n; i++)
        while (!atomic_load(&rs[i].opened)) {
            assert_true(now_ms() - t0 < DEADLINE_MS);
            msleep(5);
        }
}

static void publish(const char *event, const char *unit, int n)
{
    json_t *j = json_pack("{s:i, s:s}", "n", n, "unit", unit);
    server_stream_publish(sv, event, unit, j);
    json_decref(j);
}

/* Reads fd into b (*len bytes, cap) until it holds want or the deadline
 * passes (each read waits at most a second). */
static void read_until(int fd, char **b, size_t *len, size_t *cap, const char *want)
{
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    double t0 = now_ms();
    while (!strstr(*b, want) && now_ms() - t0 < DEADLINE_MS) {
        ssize_t got = read(fd, *b + *len, *cap - *len - 1);
        if (got == 0)
            break;
        if (got < 0)
            continue; /* nothing within the second */
        *len += (size_t)got;
        (*b)[*len] = '\0';
        if (*cap - *len < 4096) {
            *cap *= 2;
            *b = realloc(*b, *cap);
            assert_non_null(*b);
        }
    }
}

/* Opens a stream on a raw socket with a small receive buffer, waits for
 * its first bytes, does not read while n events for the caller's grid are
 * published, then reads until the last of them has arrived. Returns what
 * it read (malloc'd). */
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
    size_t len = 0, cap = 1 << 20;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\0';
    read_until(fd, &buf, &len, &cap, "retry: 3000\n");
    assert_non_null(strstr(buf, "retry: 3000\n"));
    for (int i = 0; i < n; i++)
        publish("lead", "411571001001001", 100 + i);
    char last[32];
    snprintf(last, sizeof last, "\"n\":%d,", 100 + n - 1);
    read_until(fd, &buf, &len, &cap, last);
    close(fd);
    return buf;
}

static void test_scope(void **state)
{
    (void)state;
    start();
    reader *rs = calloc(3, sizeof *rs);
    const char *toks[] = {tok_district, tok_street, tok_gw};
    /* no stream yet: publishers may skip the work (not with a relay to other nodes) */
    assert_int_equal(server_stream_listening(sv), tu_is_pg());
    for (int i = 0; i < 3; i++) {
        rs[i].token = toks[i];
        rs[i].ms = DEADLINE_MS;
        rs[i].until = "\"n\":4,"; /* the last event, which every scope gets */
        pthread_create(&rs[i].th, NULL, read_stream, &rs[i]);
    }
    wait_open(rs, 3);
    assert_int_equal(server_stream_listening(sv), 1);
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
    rs[0] = (reader){.token = NULL, .ms = DEADLINE_MS};
    read_stream(&rs[0]);
    assert_int_equal(rs[0].status, 401);

    /* a reader that stops reading loses the oldest events, and is told */
    char *got = lagging_reader(tok_gw, 100000);
    assert_non_null(strstr(got, "event: overflow\ndata: {\"dropped\":"));
    assert_non_null(strstr(got, "\"n\":100099,"));
    free(got);

    /* stopping the server ends open streams at once */
    rs[0] = (reader){.token = tok_street, .ms = DEADLINE_MS};
    pthread_create(&rs[0].th, NULL, read_stream, &rs[0]);
    wait_open(rs, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    server_stop(sv, 10);
    pthread_join(rs[0].th, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5); /* not the reader's own deadline */
    assert_int_equal(rs[0].status, 200);
    free(rs);
}

/* With keep-alives every 100 ms, three arrive well within 10 s (the
 * default interval of 15 s would give none). */
static void test_keepalive(void **state)
{
    (void)state;
    setenv("NUANYANG_STREAM_KEEPALIVE_MS", "100", 1);
    start();
    reader *r = calloc(1, sizeof *r);
    r->token = tok_street;
    r->ms = 10000;
    r->pings = 3;
    read_stream(r);
    assert_int_equal(r->status, 200);
    assert_true(count_pings(r->buf) >= 3);
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
