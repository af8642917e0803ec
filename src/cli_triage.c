/* cli_triage.c - the `triage` subcommand: the assistant on standard input.
 *
 * `nuanyang triage` reads chat messages from stdin, one per line, runs each
 * through the triage engine (triage.h) and writes one JSON object per line,
 * in input order: intent, category, keywords, policies, notify, reply,
 * priority. This is the command-line contract of the assistant used for
 * external evaluation, so its fields and exit codes stay stable. Lines of
 * any length are read with getline; bytes that are not UTF-8 are repaired by
 * the normaliser, so every input line gives exactly one output line. The
 * JSON is written by hand into one large buffer that goes out with fwrite,
 * which keeps the command as fast as the engine allows.
 *
 * Without --db the engine uses the default data directory: --data DIR, else
 * $NUANYANG_DATA, else the data/ directory next to the build directory of
 * the executable (build/nuanyang and build/asan/nuanyang find ./data of the
 * repository), else ./data. The models always come from DATA/models. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "domain.h"
#include "triage.h"

#define CMD "triage"
#define OUT_FLUSH (1u << 20)

/* ---- output buffer ----------------------------------------------------------- */

typedef struct out {
    char *s;
    size_t n, cap;
    int failed; /* memory or write error */
} out;

static void out_reserve(out *o, size_t more)
{
    if (o->n + more <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 2 * OUT_FLUSH;
    while (cap < o->n + more)
        cap *= 2;
    char *p = realloc(o->s, cap);
    if (!p) {
        o->failed = 1;
        o->n = 0;
        return;
    }
    o->s = p;
    o->cap = cap;
}

static void out_mem(out *o, const char *s, size_t n)
{
    out_reserve(o, n);
    if (o->failed)
        return;
    memcpy(o->s + o->n, s, n);
    o->n += n;
}

static void out_str(out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

/* 1 when none of the eight bytes of x is a quote, a backslash or a control
 * character (the exact "has a byte below n" and "has a zero byte" tests). */
static inline int plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return !(((x - ones * 0x20) & ~x & high) | ((q - ones) & ~q & high) | ((b - ones) & ~b & high));
}

/* A JSON string: quotes, backslashes and control characters escaped. The
 * text is valid UTF-8 (normaliser output, lexicon, policies), passed as is. */
static void out_json(out *o, const char *s)
{
    size_t n = strlen(s);
    out_reserve(o, 6 * n + 2);
    if (o->failed)
        return;
    char *d = o->s + o->n;
    *d++ = '"';
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { /* eight bytes at a time while none needs escaping */
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (!plain8(x))
            break;
        memcpy(d, &x, 8);
        d += 8;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = (char)c;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            *d++ = '\\';
            if (c == '\n' || c == '\t' || c == '\r') {
                *d++ = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
            } else {
                memcpy(d, "u00", 3);
                d[3] = hex[c >> 4];
                d[4] = hex[c & 15];
                d += 5;
            }
        } else {
            *d++ = (char)c;
        }
    }
    *d++ = '"';
    o->n = (size_t)(d - o->s);
}

static void out_json_or_null(out *o, const char *s)
{
    if (s)
        out_json(o, s);
    else
        out_str(o, "null");
}

/* A non-negative score with three decimals. */
static void out_score(out *o, double x)
{
    char buf[32];
    unsigned long long v = x > 0 && x < 1e15 ? (unsigned long long)(x * 1000 + 0.5) : 0;
    int n = snprintf(buf, sizeof buf, "%llu.%03llu", v / 1000, v % 1000);
    out_mem(o, buf, (size_t)n);
}

static void write_result(out *o, const triage_result *r)
{
    out_str(o, "{\"intent\":\"");
    out_str(o, r->intent_name);
    out_str(o, "\",\"category\":\"");
    out_str(o, r->category_name);
    out_str(o, "\",\"keywords\":[");
    for (size_t i = 0, first = 1; i < r->nkeywords; i++) {
        if (r->keywords[i].repeat)
            continue;
        if (!first)
            out_mem(o, ",", 1);
        out_json(o, r->keywords[i].term);
        first = 0;
    }
    out_str(o, "],\"policies\":[");
    for (size_t i = 0; i < r->npolicies; i++) {
        out_str(o, i ? ",{\"id\":" : "{\"id\":");
        out_json(o, r->policies[i].code);
        out_str(o, ",\"title\":");
        out_json(o, r->policies[i].title);
        out_str(o, ",\"score\":");
        out_score(o, r->policies[i].score);
        out_mem(o, "}", 1);
    }
    out_str(o, "],\"notify\":[");
    for (size_t i = 0; i < r->nnotify; i++) {
        const triage_notify *n = &r->notify[i];
        out_str(o, i ? ",{\"role\":\"" : "{\"role\":\"");
        out_str(o, n->role);
        out_str(o, "\",\"unit\":");
        out_json_or_null(o, n->unit_code);
        if (n->unit_name) {
            out_str(o, ",\"unit_name\":");
            out_json(o, n->unit_name);
        }
        if (n->department) {
            out_str(o, ",\"department\":");
            out_json(o, n->department);
        }
        if (n->account) {
            out_str(o, ",\"account\":");
            out_json(o, n->account);
            out_str(o, ",\"name\":");
            out_json(o, n->name);
        }
        out_mem(o, "}", 1);
    }
    out_str(o, "],\"reply\":");
    out_json_or_null(o, r->reply);
    out_str(o, ",\"priority\":\"");
    out_str(o, triage_priority_name(r->priority));
    out_str(o, "\"}\n");
}

static int flush(out *o, FILE *f)
{
    if (!o->failed && o->n && fwrite(o->s, 1, o->n, f) != o->n)
        o->failed = 1;
    o->n = 0;
    return o->failed ? -1 : 0;
}

/* ---- the command ---------------------------------------------------------------- */

static int help(void)
{
    printf("usage: nuanyang triage [--db FILE|URI] [--group EXTERNAL_ID]\n"
           "                       [--group-kind resident|enterprise] [--data DIR]\n"
           "                       [--threads N]\n\n"
           "Triages chat messages (消息分诊): reads UTF-8 text from stdin, one message per\n"
           "line, and writes one JSON object per line in the same order:\n"
           "  intent     consult|help|report|emergency|complaint|other\n"
           "  category   城乡建设|环境保护|交通运输|教育文体|劳动和社会保障|商贸旅游|卫生计生|无\n"
           "  keywords   lexicon terms found, in order\n"
           "  policies   [{id,title,score}] best first, for consult and help; may be empty\n"
           "  notify     [{role,unit,...}] who is told; unit is null without a group\n"
           "  reply      what the assistant says in the group, or null\n"
           "  priority   urgent|high|normal|low\n\n"
           "  --db FILE|URI    read lexicon, policies, units, groups and staff from this\n"
           "                   database (an empty lexicon or policy table falls back to\n"
           "                   the default file); $NUANYANG_DB is not consulted\n"
           "  --group ID       the messages come from the group with this external id\n"
           "                   (with --db: its kind and unit; without: no unit)\n"
           "  --group-kind K   resident or enterprise: the audience of the policies\n"
           "                   (overrides the kind of --group)\n"
           "  --data DIR       default data (lexicon.csv, policies.csv, models/); else\n"
           "                   $NUANYANG_DATA, else the data/ directory of the source\n"
           "                   tree the executable was built in, else ./data\n"
           "  --threads N      triage on N threads (default: the number of CPUs, at most\n"
           "                   8); the output order is the input order either way\n\n"
           "Invalid UTF-8 is repaired, never rejected. Exit codes: 0 ok, 1 runtime\n"
           "error (missing data, unknown group, write error), 2 usage error.\n");
    return CLI_OK;
}

/* ---- reading, triaging and writing in parallel ---------------------------------- */

/* One worker: its workspace, its share of a chunk of input and its output. */
typedef struct worker {
    triage_ws *ws;
    const triage_group *g;
    const char *from, *to; /* whole lines, each ended by '\n' or by to */
    out o;
    ny_err e;
    int rc;
    pthread_t th;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    triage_result r;
    for (const char *p = w->from; p < w->to && w->rc == NY_OK;) {
        const char *nl = memchr(p, '\n', (size_t)(w->to - p));
        const char *end = nl ? nl : w->to;
        size_t len = (size_t)(end - p);
        if (len && p[len - 1] == '\r')
            len--;
        if ((w->rc = triage_message(w->ws, p, len, w->g, &r, &w->e)) == NY_OK)
            write_result(&w->o, &r);
        p = end + 1;
    }
    return NULL;
}

/* Triages the lines in [from, to) on n workers (each gets a run of whole
 * lines of about the same size; a small chunk stays on the calling thread)
 * and writes their output in input order. */
static int triage_chunk(worker *w, int n, const char *from, const char *to, FILE *f)
{
    size_t bytes = (size_t)(to - from);
    if (bytes < 16384)
        n = 1;
    const char *p = from;
    for (int k = 0; k < n; k++) {
        const char *end = k == n - 1 ? to : p + bytes / (size_t)n;
        if (end < p)
            end = p;
        if (end < to && k < n - 1) {
            const char *nl = memchr(end, '\n', (size_t)(to - end));
            end = nl ? nl + 1 : to;
        }
        w[k].from = p;
        w[k].to = end;
        p = end;
    }
    int started = 1;
    for (int k = 1; k < n; k++, started++)
        if (pthread_create(&w[k].th, NULL, work, &w[k]) != 0)
            break;
    for (int k = started; k < n; k++) /* no thread to be had: do it here */
        work(&w[k]);
    work(&w[0]);
    for (int k = 1; k < started; k++)
        pthread_join(w[k].th, NULL);
    for (int k = 0; k < n; k++) {
        if (w[k].rc != NY_OK)
            return cli_fail(CMD, &w[k].e);
        if (flush(&w[k].o, f) != 0)
            return -1;
    }
    return CLI_OK;
}

/* Reads standard input in chunks of whole lines, triages each chunk on the
 * workers and writes the results. Output is flushed when it grows large and
 * whenever more input is not ready yet, so a line-by-line conversation over
 * a pipe gets each answer at once. */
static int run(triage_engine *en, const triage_group *g, int nthreads)
{
    worker *w = calloc((size_t)nthreads, sizeof *w);
    size_t cap = 1u << 20, end = 0;
    char *buf = malloc(cap);
    int rc = w && buf ? CLI_OK : CLI_FAIL, eof = 0;
    ny_err e;
    for (int k = 0; rc == CLI_OK && k < nthreads; k++) {
        w[k].g = g;
        if (triage_ws_new(en, &w[k].ws, &e) != NY_OK)
            rc = cli_fail(CMD, &e);
    }
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    while (rc == CLI_OK && !eof) {
        if (end == cap) { /* a line longer than the buffer */
            char *nb = cap < ((size_t)1 << 40) ? realloc(buf, 2 * cap) : NULL;
            if (!nb) {
                fprintf(stderr, "nuanyang %s: out of memory\n", CMD);
                rc = CLI_FAIL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        struct pollfd pfd = {0, POLLIN, 0};
        if (poll(&pfd, 1, 0) == 0 && fflush(stdout) != 0)
            rc = -1;
        ssize_t got = read(0, buf + end, cap - end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, "nuanyang %s: error reading standard input: %s\n", CMD,
                    strerror(errno));
            rc = CLI_FAIL;
            break;
        }
        eof = got == 0;
        size_t before = end; /* what was left before has no newline */
        end += (size_t)got;
        size_t cut = end; /* after the last newline; at the end of input, everything */
        while (!eof && cut > before && buf[cut - 1] != '\n')
            cut--;
        if (!eof && cut == before)
            cut = 0;
        if (cut > 0 && rc == CLI_OK)
            rc = triage_chunk(w, nthreads, buf, buf + cut, stdout);
        memmove(buf, buf + cut, end - cut);
        end -= cut;
    }
    if (rc == -1 || fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "nuanyang %s: error writing standard output\n", CMD);
        rc = CLI_FAIL;
    }
    for (int k = 0; w && k < nthreads; k++) {
        triage_ws_free(w[k].ws);
        free(w[k].o.s);
    }
    free(w);
    free(buf);
    return rc;
}

int cmd_triage(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"group-kind", required_argument, NULL, 'k'},
                                         {"data", required_argument, NULL, 'D'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db_uri = NULL, *group = NULL, *kind = NULL, *data = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN), threads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : ncpu;
    char *end;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_uri = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'D':
            data = optarg;
            break;
        case 't':
            threads = strtol(optarg, &end, 10);
            if (*end || end == optarg || threads < 1 || threads > 64)
                return cli_usage_error(CMD, "--threads must be 1..64, not '%s'", optarg);
            break;
        case 'h':
            return help();
        case ':':
            return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (kind && domain_index(domain_group_kinds, kind) < 0)
        return cli_usage_error(CMD, "--group-kind must be resident or enterprise, not '%s'", kind);
    if (db_uri && !*db_uri)
        return cli_usage_error(CMD, "--db needs a database");
    char dir[PATH_MAX];
    triage_opts to = {cli_data_dir(data, dir, sizeof dir), NULL, NULL};
    if (!to.data_dir)
        return cli_usage_error(CMD, "data directory path too long");
    int rc = db_uri ? cli_open(CMD, db_uri, 1, &to.db) : CLI_OK;
    if (rc != CLI_OK)
        return rc;
    ny_err e;
    triage_engine *en = NULL;
    triage_group g = {kind, NULL}, *gp = kind || group ? &g : NULL;
    if (triage_open(&to, &en, &e) != NY_OK) {
        rc = cli_fail(CMD, &e);
    } else if (group && db_uri) {
        triage_group found;
        if (triage_find_group(en, group, &found, &e) != NY_OK) {
            rc = cli_fail(CMD, &e);
        } else {
            g.unit_code = found.unit_code;
            g.kind = kind ? kind : found.kind;
        }
    }
    store_close(to.db);
    if (rc == CLI_OK)
        rc = run(en, gp, (int)threads);
    triage_close(en);
    return rc;
}
