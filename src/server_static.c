/* server_static.c - the web front end's files, served by `nuanyang serve`.
 *
 * The command centre and the grid workers' pages are plain files in the web
 * directory (server_opts.web_dir, `serve --web DIR`): index.html, the ES
 * modules under js/, the style sheet, and the one npm package the pages load
 * (ECharts, from node_modules/echarts/dist/). The route table falls back to
 * server_static for any path it does not know that is not an API path, so
 * /api/... and the health routes keep their JSON 404 while everything else
 * is a file or a small Chinese 404 page.
 *
 * Safety: a path is served only when every segment is non-empty and starts
 * with neither '.' nor '~' (no "..", no dotfiles), holds no backslash or
 * control byte, ends in an extension of the content-type table, and lies
 * outside node_modules except for node_modules/echarts/dist/; the resolved
 * real path must still lie inside the real web directory, so a symbolic
 * link cannot lead out of it. Files are read whole (at most 8 MiB).
 *
 * Caching: every file carries an ETag made of its size and modification
 * time and is answered 304 when If-None-Match names it. Pages and our own
 * modules are "no-cache" (always revalidated, so a new release shows at
 * once); the versioned npm files may be kept for a day. HTML pages carry a
 * Content-Security-Policy that allows only this origin's scripts and API.
 *
 * Compression: `make` writes FILE.gz next to each text file (gzip -9, see
 * the Makefile's web_gz). When the request accepts gzip and FILE.gz is a
 * regular file inside the web directory no older than FILE, its bytes are
 * sent instead with Content-Encoding: gzip and an ETag of their own; every
 * file answer says Vary: Accept-Encoding. A stale or missing .gz (a file
 * edited since the last make) falls back to the plain file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_int.h"

#define STATIC_MAX_FILE (8L << 20)

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char vendor_prefix[] = "/node_modules/echarts/dist/";

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self' "
                          "'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; "
                          "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

static const char not_found_page[] =
    "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>页面不存在</title>"
    "<body style=\"font-family:sans-serif;padding:2em\"><h1>页面不存在</h1>"
    "<p>您访问的页面不存在。<a href=\"/\">返回首页</a></p></body></html>";

/* The content type for path's extension, or NULL when it is not served. */
static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* 1 when every segment of the absolute path is a plain name. */
static int safe_path(const char *path)
{
    if (path[0] != '/')
        return 0;
    for (const char *seg = path + 1;; seg++) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || seg[0] == '.' || seg[0] == '~')
            return 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)seg[i];
            if (c < 0x20 || c == 0x7f || c == '\\')
                return 0;
        }
        seg += n;
        if (!*seg)
            return 1;
    }
}

static int answer_text(server_reply *r, int status, const char *type, const char *text)
{
    free(r->body);
    r->body = strdup(text);
    r->len = r->body ? strlen(r->body) : 0;
    r->content_type = type;
    r->status = status;
    r->cache_control = "no-store";
    return status;
}

static int not_found(server_reply *r)
{
    return answer_text(r, 404, "text/html; charset=utf-8", not_found_page);
}

/* 1 when the request's Accept-Encoding names gzip (or *) without q=0. */
static int accepts_gzip(const server_call *call)
{
    const char *h = server_header(call, "Accept-Encoding");
    while (h && *h) {
        h += strspn(h, " \t,");
        size_t n = strcspn(h, " \t,;");
        const char *end = h + strcspn(h, ",");
        if ((n == 4 && strncasecmp(h, "gzip", 4) == 0) || (n == 1 && h[0] == '*')) {
            const char *q = h + n;
            while (q < end && strncasecmp(q, "q=", 2) != 0)
                q++;
            return q >= end || strtod(q + 2, NULL) > 0;
        }
        h = end;
    }
    return 0;
}

/* The precompressed copy of the file at real (inside root) into gz when the
 * client takes gzip and the copy is a regular file in root no older than
 * the original; 1 when there is one. */
static int gzip_copy(const server_call *call, const char *root, const char *real, char *gz)
{
    char want[PATH_MAX];
    struct stat src, st;
    size_t rl = strlen(root);
    if (!accepts_gzip(call) || snprintf(want, sizeof want, "%s.gz", real) >= (int)sizeof want ||
        !realpath(want, gz) || strncmp(gz, root, rl) != 0 || gz[rl] != '/' ||
        stat(real, &src) != 0 || stat(gz, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return st.st_mtim.tv_sec > src.st_mtim.tv_sec ||
           (st.st_mtim.tv_sec == src.st_mtim.tv_sec && st.st_mtim.tv_nsec >= src.st_mtim.tv_nsec);
}

/* Reads the regular file at full (already checked) into r, or answers 304
 * when the client's ETag is current; gzip: full is the compressed copy. */
static int send_file(const server_call *call, server_reply *r, const char *full, const char *type,
                     int vendor, int gzip)
{
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return not_found(r);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_FILE) {
        close(fd);
        return not_found(r);
    }
    snprintf(r->etag, sizeof r->etag, "\"%lx-%llx%s\"", (unsigned long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
                 (unsigned long long)st.st_mtim.tv_nsec,
             gzip ? "-gz" : "");
    r->cache_control = vendor ? "public, max-age=86400" : "no-cache";
    r->csp = strncmp(type, "text/html", 9) == 0 ? csp : NULL;
    const char *inm = server_header(call, "If-None-Match");
    if (inm && strstr(inm, r->etag)) {
        close(fd);
        answer_text(r, 304, type, "");
        r->cache_control = vendor ? "public, max-age=86400" : "no-cache";
        r->encoding = gzip ? "gzip" : NULL;
        return 304;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return server_error(r, 500, "读取文件失败 / cannot read the file", NULL, -1);
    }
    buf[got] = '\0';
    free(r->body);
    r->body = buf;
    r->len = got;
    r->content_type = type;
    r->encoding = gzip ? "gzip" : NULL;
    r->status = 200;
    return 200;
}

int server_static(server *sv, const server_call *call, server_reply *r)
{
    const char *path = call->path;
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0)
        return 0;
    if (!sv->o.web_dir || !sv->o.web_dir[0])
        return not_found(r);
    if (strcmp(call->method, "GET") != 0 && strcmp(call->method, "HEAD") != 0) {
        server_error(r, 405, "只能读取页面文件 / only GET and HEAD are allowed here", NULL, -1);
        snprintf(r->allow, sizeof r->allow, "GET, HEAD");
        return 405;
    }
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    const char *type = content_type(path);
    int vendor = strncmp(path, vendor_prefix, sizeof vendor_prefix - 1) == 0;
    if (!type || !safe_path(path) || (!vendor && strncmp(path, "/node_modules/", 14) == 0))
        return not_found(r);
    char root[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
    if (!realpath(sv->o.web_dir, root))
        return not_found(r);
    if (snprintf(want, sizeof want, "%s%s", root, path) >= (int)sizeof want ||
        !realpath(want, real))
        return not_found(r);
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || real[rl] != '/')
        return not_found(r);
    char gz[PATH_MAX];
    if (gzip_copy(call, root, real, gz))
        return send_file(call, r, gz, type, vendor, 1);
    return send_file(call, r, real, type, vendor, 0);
}
