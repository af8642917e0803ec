/* bench_sink.c - a local robot receiver for the ingest benchmarks, so that
 * the server's outbox worker is measured delivering rather than failing.
 *
 * bench/ingest.sh points every chat group's and staff member's target at
 * it (`nuanyang outbox rebase --db DB http://127.0.0.1:PORT`); each POST is
 * answered at once 200 with the WeCom robot's success body {"errcode":0},
 * which every channel's judgement (outbox_judge) takes as delivered. One
 * epoll thread, non-blocking keep-alive connections, requests parsed by
 * their Content-Length (an "Expect: 100-continue" is answered first).
 *
 *   bench_sink PORT [SECONDS]
 *       listens on 127.0.0.1:PORT (0: a free port), prints "port=N" once
 *       bound, and runs until SIGTERM or SIGINT (or SECONDS); then prints
 *       one line of key=value pairs: requests answered, connections
 *       accepted, distinct idempotency keys (X-Nuanyang-Idempotency-Key)
 *       and repeats of a key already seen - what at-least-once delivery
 *       allows after a crash, and what a healthy run should not show.
 *
 * Not run by bench/run.sh on its own (it waits for requests). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_sink: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- the set of idempotency keys seen (64-bit hashes, open addressing) ---- */

typedef struct keyset {
    uint64_t *v;
    size_t n, cap;
} keyset;

static uint64_t hash_key(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h ? h : 1;
}

/* Adds h; returns 1 when it was new, 0 when seen before. */
static int keyset_add(keyset *s, uint64_t h)
{
    if (2 * (s->n + 1) > s->cap) {
        keyset t = {calloc(s->cap ? 2 * s->cap : 65536, sizeof *t.v), 0,
                    s->cap ? 2 * s->cap : 65536};
        if (!t.v)
            die("out of memory");
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i])
                keyset_add(&t, s->v[i]);
        free(s->v);
        *s = t;
    }
    size_t i = (size_t)h & (s->cap - 1);
    while (s->v[i] && s->v[i] != h)
        i = (i + 1) & (s->cap - 1);
    if (s->v[i])
        return 0;
    s->v[i] = h;
    s->n++;
    return 1;
}

/* ---- connections ------------------------------------------------------------ */

typedef struct conn {
    int fd;
    char *in;
    size_t len, cap;
    int continued; /* "100 Continue" sent for the request at the start of in */
} conn;

typedef struct sink {
    long requests, accepted, repeats;
    keyset keys;
} sink;

static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: 13\r\n\r\n{\"errcode\":0}";

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the peer went away; its next read ends the connection */
        p += w;
        n -= (size_t)w;
    }
}

/* The value of header name in the head [p, end), or NULL; *n its length. */
static const char *header(const char *p, const char *end, const char *name, size_t *n)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(p, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if ((size_t)(end - h) > nl && strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            *n = (size_t)((e ? e : end) - v);
            return v;
        }
    }
    return NULL;
}

/* Answers every complete request at the start of c->in. */
static void serve(sink *s, conn *c)
{
    size_t used = 0;
    for (;;) {
        char *p = c->in + used;
        char *end = strstr(p, "\r\n\r\n");
        if (!end)
            break;
        size_t n = 0, body = 0;
        const char *cl = header(p, end, "Content-Length", &n);
        if (cl)
            body = strtoul(cl, NULL, 10);
        size_t head = (size_t)(end - p) + 4;
        if (c->len - used < head + body) {
            if (!c->continued && header(p, end, "Expect", &n)) {
                send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                c->continued = 1;
            }
            break;
        }
        const char *key = header(p, end, "X-Nuanyang-Idempotency-Key", &n);
        if (key && !keyset_add(&s->keys, hash_key(key, n)))
            s->repeats++;
        s->requests++;
        send_all(c->fd, ok, sizeof ok - 1);
        used += head + body;
        c->continued = 0;
    }
    memmove(c->in, c->in + used, c->len - used + 1);
    c->len -= used;
}

/* Reads what c has; 0 when the connection is over. */
static int readable(sink *s, conn *c)
{
    for (;;) {
        if (c->len + 65536 + 1 > c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 131072;
            char *p = realloc(c->in, cap);
            if (!p)
                die("out of memory");
            c->in = p;
            c->cap = cap;
        }
        ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (r <= 0)
            return 0;
        c->len += (size_t)r;
        c->in[c->len] = '\0';
        serve(s, c);
    }
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 512) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        die("cannot listen");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    printf("port=%d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_sink PORT [SECONDS]\n");
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    double until = argc == 3 ? bench_wall_now() + atof(argv[2]) : 0;
    int lfd = listen_on(atoi(argv[1])), ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        die("epoll");
    sink s = {0};
    struct epoll_event evs[128];
    while (!stop && (!until || bench_wall_now() < until)) {
        int n = epoll_wait(ep, evs, 128, 200);
        for (int k = 0; k < n; k++) {
            conn *c = evs[k].data.ptr;
            if (!c) { /* the listening socket */
                int fd;
                while ((fd = accept(lfd, NULL, NULL)) >= 0) {
                    int one = 1;
                    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (!(c = calloc(1, sizeof *c)))
                        die("out of memory");
                    c->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) != 0)
                        die("epoll");
                    s.accepted++;
                }
                continue;
            }
            if (!readable(&s, c)) {
                close(c->fd);
                free(c->in);
                free(c);
            }
        }
    }
    printf("mode=sink requests=%ld connections=%ld keys=%zu repeats=%ld\n", s.requests, s.accepted,
           s.keys.n, s.repeats);
    return 0;
}
