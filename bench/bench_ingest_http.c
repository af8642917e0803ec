/* bench_ingest_http.c - bench_ingest's HTTP side: the closed-loop load
 * generator and the requests it sends.
 *
 * N keep-alive connections to a server on loopback, each with one request
 * outstanding (a connection sends its next request when the answer to the
 * last one is complete), on one epoll thread with non-blocking sockets, so
 * the client costs a few microseconds a request. Every answer must be 200;
 * anything else is counted as an error. Latency is measured per request
 * from the first byte written to the last byte read. The requests come
 * from a next_fn: GET of a path, signed POSTs of new messages, or the
 * prepared bodies of a replay (bench_ingest_store.c reads them). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_ingest.h"
#include "sign.h"

void die(const char *what)
{
    fprintf(stderr, "bench_ingest: %s\n", what);
    exit(1);
}

/* ---- growable byte buffer ------------------------------------------------- */

void buf_need(buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (!(b->p = realloc(b->p, cap)))
        die("out of memory");
    b->cap = cap;
}

void buf_add(buf *b, const char *s, size_t n)
{
    buf_need(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_need(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends s as a JSON string literal. */
void buf_json_str(buf *b, const char *s)
{
    buf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_add(b, esc, 2);
        } else if (c < 0x20) {
            buf_printf(b, "\\u%04x", c);
        } else {
            buf_add(b, s, 1);
        }
    }
    buf_add(b, "\"", 1);
}

/* ---- lines of a file -------------------------------------------------------- */

texts read_lines(const char *path)
{
    texts t = {0};
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0 && texts_add(&t, line, (size_t)n) != 0)
            die("out of memory");
    }
    free(line);
    fclose(f);
    if (t.n == 0)
        die("empty input file");
    return t;
}

typedef struct conn {
    int fd;
    buf out, in;
    size_t sent;
    double t0;
    int busy;
} conn;

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("cannot connect to the server");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Length of a complete response at the start of b (headers and
 * Content-Length body), or 0 while incomplete; *status gets the code. */
static size_t response_len(const buf *b, int *status)
{
    if (!b->p)
        return 0;
    const char *end = strstr(b->p, "\r\n\r\n");
    if (!end)
        return 0;
    size_t head = (size_t)(end - b->p) + 4, body = 0;
    *status = atoi(b->p + 9);
    for (const char *p = b->p; p < end; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            body = strtoul(p + 15, NULL, 10);
    return b->len >= head + body ? head + body : 0;
}

static void record(load *ld, double ms, int status, const buf *in)
{
    if (ld->nlat == ld->cap) {
        ld->cap = ld->cap ? ld->cap * 2 : 65536;
        if (!(ld->lat = realloc(ld->lat, ld->cap * sizeof *ld->lat)))
            die("out of memory");
    }
    ld->lat[ld->nlat++] = ms;
    ld->done++;
    if (status != 200) {
        ld->errors++;
        if (!ld->printed_error++)
            fprintf(stderr, "bench_ingest: first error: %.300s\n", in->p);
    }
}

static int start_request(conn *c, next_fn next, void *ctx)
{
    c->out.len = 0;
    if (!next(ctx, &c->out))
        return 0;
    c->sent = 0;
    c->busy = 1;
    c->t0 = bench_wall_now();
    return 1;
}

static void flush_out(conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0)
            die("send failed (server gone?)");
        c->sent += (size_t)n;
    }
}

/* Runs the closed loop on nconn connections until next says there is no
 * more work or seconds (> 0) have passed; returns the wall time taken. */
double run_load(int port, int nconn, double seconds, next_fn next, void *ctx, load *ld)
{
    int ep = epoll_create1(0);
    conn *cs = calloc((size_t)nconn, sizeof *cs);
    if (ep < 0 || !cs)
        die("epoll");
    int active = 0;
    double t_start = bench_wall_now();
    for (int i = 0; i < nconn; i++) {
        cs[i].fd = connect_to(port);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        if (start_request(&cs[i], next, ctx)) {
            active++;
            flush_out(&cs[i]);
        }
    }
    struct epoll_event evs[256];
    int stopping = 0;
    while (active > 0) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (!stopping && seconds > 0 && bench_wall_now() - t_start >= seconds)
            stopping = 1;
        for (int k = 0; k < n; k++) {
            conn *c = &cs[evs[k].data.u32];
            if (!c->busy)
                continue;
            if (evs[k].events & EPOLLOUT)
                flush_out(c);
            for (;;) {
                buf_need(&c->in, 65536);
                ssize_t r = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    break;
                if (r <= 0)
                    die("connection closed by the server");
                c->in.len += (size_t)r;
                c->in.p[c->in.len] = '\0';
            }
            int status = 0;
            size_t len = response_len(&c->in, &status);
            if (!len)
                continue;
            record(ld, (bench_wall_now() - c->t0) * 1e3, status, &c->in);
            memmove(c->in.p, c->in.p + len, c->in.len - len + 1);
            c->in.len -= len;
            c->busy = 0;
            if (!stopping && start_request(c, next, ctx))
                flush_out(c);
            else
                active--;
        }
    }
    double took = bench_wall_now() - t_start;
    for (int i = 0; i < nconn; i++) {
        close(cs[i].fd);
        free(cs[i].out.p);
        free(cs[i].in.p);
    }
    free(cs);
    close(ep);
    return took;
}

double client_cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void report(const char *mode, load *ld, double took, long per_request)
{
    double p50 = 0, p99 = 0;
    if (ld->nlat) {
        qsort(ld->lat, ld->nlat, sizeof *ld->lat, bench_cmp_double);
        p50 = ld->lat[ld->nlat / 2];
        p99 = ld->lat[(size_t)((double)ld->nlat * 0.99)];
    }
    printf("mode=%s requests=%ld errors=%ld seconds=%.2f req_per_s=%.0f msgs_per_s=%.0f "
           "p50_ms=%.2f p99_ms=%.2f client_cpu_s=%.2f\n",
           mode, ld->done, ld->errors, took, (double)ld->done / took,
           (double)(ld->done * per_request) / took, p50, p99, client_cpu());
    free(ld->lat);
}

/* ---- GET -------------------------------------------------------------------------- */

int next_get(void *ctx, buf *out)
{
    buf_printf(out, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", (const char *)ctx);
    return 1;
}

/* ---- signed POST -------------------------------------------------------------------- */

static void signed_post(poster *p, const char *body, size_t len, buf *out)
{
    char ts[24], sig[SIGN_HEADER_LEN + 1];
    ny_err e;
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    if (sign_connector(p->secret, ts, body, len, sig, &e) != NY_OK)
        die(e.msg);
    buf_printf(out,
               "POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Type: application/json\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n"
               "Content-Length: %zu\r\n\r\n",
               SIGN_HEADER_KEY, p->key, SIGN_HEADER_TIMESTAMP, ts, SIGN_HEADER_SIGNATURE, sig, len);
    buf_add(out, body, len);
}

int next_post(void *ctx, buf *out)
{
    poster *p = ctx;
    if (p->max && p->seq >= p->max * p->batch)
        return 0;
    p->body.len = 0;
    long long now = (long long)time(NULL);
    if (p->batch > 1)
        buf_add(&p->body, "{\"messages\":[", 13);
    for (long i = 0; i < p->batch; i++) {
        long k = p->seq++;
        buf_printf(&p->body, "%s{\"id\":\"%s-%ld\",\"group\":", i ? "," : "", p->run, k);
        buf_json_str(&p->body, p->groups.s[(size_t)k % p->groups.n]);
        buf_printf(&p->body,
                   ",\"sender\":{\"id\":\"u%ld\",\"name\":\"居民%ld\"},\"text\":", k % 5000,
                   k % 5000);
        buf_json_str(&p->body, p->texts.s[(size_t)k % p->texts.n]);
        buf_printf(&p->body, ",\"time\":%lld}", now);
    }
    if (p->batch > 1)
        buf_add(&p->body, "]}", 2);
    signed_post(p, p->body.p, p->body.len, out);
    return 1;
}

int next_replay(void *ctx, buf *out)
{
    poster *p = ctx;
    if (p->next_body == p->nbodies || (p->max && (long)p->next_body >= p->max))
        return 0;
    const char *b = p->bodies[p->next_body++];
    signed_post(p, b, strlen(b), out);
    return 1;
}
