/* cli_serve.c - the `serve` subcommand: runs the platform server.
 *
 * `nuanyang serve --db DB [--listen ADDR:PORT] [--config FILE]` starts the
 * server of server.h and waits for SIGTERM or SIGINT, then stops it
 * gracefully (no new connections, requests in flight finish, stores closed)
 * and exits 0. The signals are blocked before the server's threads start, so
 * only this thread receives them, through sigwait. The optional config file
 * is a JSON object whose keys have the meaning of the options of the same
 * name ("listen", "data", "web", "threads", "max_body", "max_connections",
 * "timeout", "outbox_attempts", "outbox_backoff_ms", "outbox_lease",
 * "outbox_rate", "outbox_keep_days", "bot_id", "open311"); options on the
 * command line win. The web front end is served from --web DIR, by default
 * the web/ directory beside the data directory (the repository's own when
 * the data directory is found as `triage` finds it). Log lines (JSON, one
 * per line) go to stderr. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "domain.h"
#include "log.h"
#include "server.h"

#define CMD "serve"

/* --open311, in the order of SERVER_OPEN311_*. */
static const char *const open311_modes[] = {"public", "key", "off", NULL};

/* Settings of the delivery worker, the bot and Open311; -1 / NULL = not given. */
typedef struct outbound_cfg {
    long attempts, backoff_ms, lease, rate, keep_days;
    const char *bot_id;
    const char *open311; /* Open311 read mode: public, key or off */
} outbound_cfg;

static int help(void)
{
    printf("usage: nuanyang serve --db FILE|URI [--listen ADDR:PORT] [--config FILE]\n"
           "                      [--data DIR] [--web DIR] [--threads N] [--max-body BYTES]\n"
           "                      [--test-clock[=TIME]]\n\n"
           "Runs the platform server until SIGTERM or SIGINT. Routes:\n"
           "  GET  /healthz           {\"status\":\"ok\",\"engine\":...,\"schema_version\":...}\n"
           "  GET  /metrics           Prometheus text format\n"
           "  POST /api/v1/messages   signed connector ingest (see `nuanyang connector`)\n"
           "  GET  /                  the web command centre (files of --web)\n\n"
           "  --listen ADDR:PORT  IPv4 address and port (default 127.0.0.1:8080)\n"
           "  --config FILE       JSON object: listen, data, web, threads, max_body,\n"
           "                      max_connections, timeout (seconds)\n"
           "  --data DIR          the assistant's data directory (default: as `triage`)\n"
           "  --web DIR           the web front end (default: web/ beside the data directory)\n"
           "  --threads N         worker threads (default: 2 per core, at most 64)\n"
           "  --max-body BYTES    request body limit (default 1048576)\n"
           "  --test-clock        allow POST /api/v1/admin/clock to set the server's time\n"
           "                      (for tests only; never in production); =TIME (ISO-8601)\n"
           "                      starts the clock there\n"
           "  --outbox-attempts N dead-letter an outbound message after N failed attempts (10)\n"
           "  --outbox-backoff-ms MS  first retry delay ceiling, doubling per failure (1000)\n"
           "  --outbox-lease S    seconds a node holds a claimed outbound message (30)\n"
           "  --outbox-rate N     requests to one target in any minute (20)\n"
           "  --outbox-keep-days N  delete sent outbound messages N days after sending (7)\n"
           "  --outbox-nice N     the delivery thread's nice value above the server's, so\n"
           "                      that ingest goes first on busy cores (0..19, default 10)\n"
           "  --pool-nice N       the request threads' nice value above the server's, so\n"
           "                      that the group commit goes first on busy cores (0..19,\n"
           "                      default 0)\n"
           "  --no-outbox         queue outbound messages but let other nodes deliver them\n"
           "  --bot-id ID         the bot's own sender id (its messages are ignored)\n"
           "  --open311 MODE      Open311 reads: public (default), key (need an api_key,\n"
           "                      limited to its unit) or off (no /open311 routes)\n");
    return CLI_OK;
}

/* "ADDR:PORT" into addr (a copy) and port. */
static int parse_listen(const char *s, char *addr, size_t sz, unsigned short *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon || colon == s || (size_t)(colon - s) >= sz)
        return 0;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return 0;
    memcpy(addr, s, (size_t)(colon - s));
    addr[colon - s] = '\0';
    *port = (unsigned short)p;
    return 1;
}

/* Reads the config file into the settings not given on the command line. */
static int read_config(const char *path, const char **listen, const char **data, const char **web,
                       long *threads, long *max_body, long *max_conn, long *timeout,
                       outbound_cfg *ob, json_t **keep)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "nuanyang %s: %s:%d: %s\n", CMD, path, je.line,
                j ? "the config must be a JSON object" : je.text);
        json_decref(j);
        return CLI_FAIL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        long *num = strcmp(key, "threads") == 0             ? threads
                    : strcmp(key, "max_body") == 0          ? max_body
                    : strcmp(key, "max_connections") == 0   ? max_conn
                    : strcmp(key, "timeout") == 0           ? timeout
                    : strcmp(key, "outbox_attempts") == 0   ? &ob->attempts
                    : strcmp(key, "outbox_backoff_ms") == 0 ? &ob->backoff_ms
                    : strcmp(key, "outbox_lease") == 0      ? &ob->lease
                    : strcmp(key, "outbox_rate") == 0       ? &ob->rate
                    : strcmp(key, "outbox_keep_days") == 0  ? &ob->keep_days
                                                            : NULL;
        const char **str = strcmp(key, "listen") == 0    ? listen
                           : strcmp(key, "data") == 0    ? data
                           : strcmp(key, "web") == 0     ? web
                           : strcmp(key, "bot_id") == 0  ? &ob->bot_id
                           : strcmp(key, "open311") == 0 ? &ob->open311
                                                         : NULL;
        if (num && json_is_integer(v)) {
            if (*num < 0)
                *num = (long)json_integer_value(v);
        } else if (str && json_is_string(v)) {
            if (!*str)
                *str = json_string_value(v);
        } else {
            fprintf(stderr, "nuanyang %s: %s: unknown key or wrong type: '%s'\n", CMD, path, key);
            json_decref(j);
            return CLI_FAIL;
        }
    }
    *keep = j;
    return CLI_OK;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The web/ directory beside data_dir, or NULL when there is none. */
static const char *default_web(const char *data_dir, char *buf, size_t sz)
{
    if (!data_dir || snprintf(buf, sz, "%s/../web", data_dir) >= (int)sz)
        return NULL;
    return is_dir(buf) ? buf : NULL;
}

static int number(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < lo || v > hi)
        return cli_usage_error(CMD, "%s must be %ld..%ld, not '%s'", opt, lo, hi, s);
    *out = v;
    return CLI_OK;
}

static int run(const server_opts *o)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    ny_err e;
    server *sv;
    if (server_start(o, &sv, &e) != NY_OK)
        return cli_fail(CMD, &e);
    char url[96], pid[24], num[24];
    snprintf(url, sizeof url, "http://%s:%u", o->listen_addr, server_port(sv));
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    log_event("info", "listening", "url", url, "pid", pid, NULL);
    int sig = 0;
    sigwait(&set, &sig);
    snprintf(num, sizeof num, "%d", sig);
    log_event("info", "stopping", "signal", num, NULL);
    server_stop(sv, 10);
    log_event("info", "stopped", NULL);
    return CLI_OK;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"data", required_argument, NULL, 'D'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"max-body", required_argument, NULL, 'b'},
                                         {"test-clock", optional_argument, NULL, 'T'},
                                         {"web", required_argument, NULL, 'W'},
                                         {"outbox-attempts", required_argument, NULL, 'A'},
                                         {"outbox-backoff-ms", required_argument, NULL, 'B'},
                                         {"outbox-lease", required_argument, NULL, 'L'},
                                         {"outbox-rate", required_argument, NULL, 'R'},
                                         {"outbox-keep-days", required_argument, NULL, 'K'},
                                         {"outbox-nice", required_argument, NULL, 'Y'},
                                         {"pool-nice", required_argument, NULL, 'P'},
                                         {"no-outbox", no_argument, NULL, 'N'},
                                         {"bot-id", required_argument, NULL, 'I'},
                                         {"open311", required_argument, NULL, 'O'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *listen = NULL, *config = NULL, *data = NULL, *web = NULL;
    long threads = -1, max_body = -1, max_conn = -1, timeout = -1, outbox_nice = 10, pool_nice = 0;
    int test_clock = 0, no_outbox = 0;
    const char *test_start = NULL;
    outbound_cfg ob = {-1, -1, -1, -1, -1, NULL, NULL};
    int c, rc = CLI_OK;
    optind = 1;
    opterr = 0;
    while (rc == CLI_OK && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'D':
            data = optarg;
            break;
        case 't':
            rc = number("--threads", optarg, 1, 64, &threads);
            break;
        case 'b':
            rc = number("--max-body", optarg, 1024, 64L << 20, &max_body);
            break;
        case 'T':
            test_clock = 1;
            test_start = optarg;
            break;
        case 'W':
            web = optarg;
            break;
        case 'A':
            rc = number("--outbox-attempts", optarg, 1, 100, &ob.attempts);
            break;
        case 'B':
            rc = number("--outbox-backoff-ms", optarg, 1, 86400000, &ob.backoff_ms);
            break;
        case 'L':
            rc = number("--outbox-lease", optarg, 2, 3600, &ob.lease);
            break;
        case 'R':
            rc = number("--outbox-rate", optarg, 1, 1000, &ob.rate);
            break;
        case 'K':
            rc = number("--outbox-keep-days", optarg, 1, 3650, &ob.keep_days);
            break;
        case 'Y':
            rc = number("--outbox-nice", optarg, 0, 19, &outbox_nice);
            break;
        case 'P':
            rc = number("--pool-nice", optarg, 0, 19, &pool_nice);
            break;
        case 'N':
            no_outbox = 1;
            break;
        case 'I':
            ob.bot_id = optarg;
            break;
        case 'O':
            ob.open311 = optarg;
            break;
        case 'h':
            return help();
        case ':':
            return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (rc != CLI_OK)
        return rc;
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    const char *uri = cli_db_uri(CMD, db);
    if (!uri)
        return CLI_USAGE;
    json_t *cfg = NULL;
    if (config && (rc = read_config(config, &listen, &data, &web, &threads, &max_body, &max_conn,
                                    &timeout, &ob, &cfg)) != CLI_OK)
        return rc;
    char addr[64], dir[PATH_MAX], webdir[PATH_MAX];
    server_opts o = {uri,        cli_data_dir(data, dir, sizeof dir),
                     addr,       8080,
                     0,          0,
                     0,          0,
                     test_clock, NULL,
                     {0},        no_outbox,
                     ob.bot_id,  SERVER_OPEN311_PUBLIC,
                     test_start, 0};
    o.web_dir = web ? web : default_web(o.data_dir, webdir, sizeof webdir);
    if (!parse_listen(listen ? listen : "127.0.0.1:8080", addr, sizeof addr, &o.port))
        rc = cli_usage_error(CMD, "--listen must be ADDR:PORT, not '%s'", listen);
    else if (!o.data_dir)
        rc = cli_usage_error(CMD, "data directory path too long");
    else if ((o.open311 = domain_index(open311_modes, ob.open311 ? ob.open311 : "public")) < 0)
        rc = cli_usage_error(CMD, "--open311 must be public, key or off, not '%s'", ob.open311);
    else if (web && !is_dir(web))
        rc = cli_usage_error(CMD, "--web: '%s' is not a directory", web);
    else if (threads > 64 || max_body > (64L << 20) || max_conn > 100000 || timeout > 3600 ||
             ob.attempts > 100 || ob.backoff_ms > 86400000 || ob.lease > 3600 || ob.rate > 1000 ||
             ob.attempts == 0 || ob.backoff_ms == 0 || (ob.lease >= 0 && ob.lease < 2) ||
             ob.rate == 0 || ob.keep_days == 0 || ob.keep_days > 3650)
        rc = cli_usage_error(CMD, "a setting of %s is out of range", config ? config : "serve");
    if (rc == CLI_OK) {
        o.threads = threads > 0 ? (unsigned)threads : 0;
        o.max_body = max_body > 0 ? (size_t)max_body : 0;
        o.max_connections = max_conn > 0 ? (unsigned)max_conn : 0;
        o.timeout_s = timeout > 0 ? (unsigned)timeout : 0;
        o.outbox.max_attempts = ob.attempts > 0 ? (unsigned)ob.attempts : 0;
        o.outbox.base_ms = ob.backoff_ms > 0 ? (unsigned)ob.backoff_ms : 0;
        o.outbox.lease_s = ob.lease > 0 ? (unsigned)ob.lease : 0;
        o.outbox.per_minute = ob.rate > 0 ? (unsigned)ob.rate : 0;
        o.outbox.keep_s = ob.keep_days > 0 ? (unsigned)ob.keep_days * 86400 : 0;
        o.outbox.nice = (int)outbox_nice;
        o.pool_nice = (int)pool_nice;
        rc = run(&o);
    }
    json_decref(cfg);
    return rc;
}
