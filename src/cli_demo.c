/* cli_demo.c - the `demo` and `stats` subcommands.
 *
 * `demo` fills an empty database with the deterministic Yangshan-scale
 * district from the demo module, showing progress on stderr, and ends with
 * the table of demo logins (one per role) on stdout; `stats` prints
 * the counts of a database as a readable table or, with --json, as one JSON
 * object that scripts and tests compare across engines. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "demo.h"
#include "store_stats.h"

static int parse_count(const char *cmd, const char *opt, const char *text, long max,
                       unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || end == text || text[0] == '-' || v > (unsigned long long)max)
        return cli_usage_error(cmd, "%s needs a whole number 0..%ld, got '%s'", opt, max, text);
    *out = v;
    return CLI_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress on stderr: rewritten in place on a terminal, one line per stage
 * otherwise. */
struct progress {
    int tty;
    const char *stage;
    double started;
};

static void show_progress(void *ctx, const char *stage, long done, long total)
{
    struct progress *p = ctx;
    double t = now_seconds() - p->started;
    if (p->tty) {
        fprintf(stderr, "\r  %-14s %8ld / %-8ld %6.1fs", stage, done, total, t);
        if (done >= total)
            fputc('\n', stderr);
    } else if (p->stage != stage && done >= total) {
        fprintf(stderr, "  %-14s %8ld %6.1fs\n", stage, total, t);
        p->stage = stage;
    }
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"seed", required_argument, 0, 's'},
                                         {"messages", required_argument, 0, 'm'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL;
    unsigned long long seed = 1, messages = 0;
    int c;
    while ((c = getopt_long(argc, argv, "d:s:m:h", opts, NULL)) != -1) {
        if (c == 'd') {
            db = optarg;
        } else if (c == 's') {
            if (parse_count("demo", "--seed", optarg, 0x7fffffffL, &seed) != CLI_OK)
                return CLI_USAGE;
        } else if (c == 'm') {
            if (parse_count("demo", "--messages", optarg, 100000000L, &messages) != CLI_OK)
                return CLI_USAGE;
        } else if (c == 'h') {
            printf("usage: nuanyang demo --db FILE|postgresql://... [--seed N] [--messages N]\n\n"
                   "Creates the demo district 羊山新区 at the real district's scale in an empty\n"
                   "database: 6+ streets, ~70 communities, 400+ grids, 820 resident and 31\n"
                   "enterprise groups, ~130,000 households, ~2,300 enterprises and the staff.\n"
                   "--messages N also writes N chat messages spread over a year, with leads\n"
                   "and cases for the ~4%% that need a person. The same seed (default 1)\n"
                   "always gives the same district. One account per role gets the demo\n"
                   "password " DEMO_PASSWORD "; the logins are printed at the end.\n");
            return CLI_OK;
        } else {
            return cli_usage_error("demo", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
    if (!(db = cli_db_uri("demo", db)))
        return CLI_USAGE;
    store *s;
    int rc = cli_open("demo", db, 0, &s);
    if (rc != CLI_OK)
        return rc;
    struct progress p = {isatty(STDERR_FILENO), NULL, now_seconds()};
    demo_opts o = {.seed = seed, .messages = (long)messages, .progress = show_progress,
                   .progress_ctx = &p};
    ny_err e;
    fprintf(stderr, "generating demo district (seed %llu, %llu messages) in %s\n", seed, messages,
            store_engine(s));
    rc = demo_generate(s, &o, &e);
    if (rc == NY_OK) /* fold the statistics now rather than in the first /stats request */
        rc = store_stats_compact(s, 0, NULL, &e);
    store_close(s);
    if (rc != NY_OK)
        return cli_fail("demo", &e);
    fprintf(stderr, "done in %.1f s\n", now_seconds() - p.started);
    printf("demo logins (演示账号, for the demo district only):\n"
           "  %-12s %-18s %-13s %s\n",
           "role", "account", "password", "sees");
    for (int i = 0; i < DEMO_LOGINS; i++)
        printf("  %-12s %-18s %-13s %s\n", demo_logins[i].role, demo_logins[i].account,
               DEMO_PASSWORD, demo_logins[i].unit);
    return CLI_OK;
}

static json_t *stats_json(const store_stats *st, const char *engine, int version)
{
    return json_pack("{s:s, s:i, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:I, s:I, s:I,"
                     " s:{s:I, s:I}, s:I, s:I}",
                     "engine", engine, "schema_version", version, "units", "district",
                     (json_int_t)st->units_district, "street", (json_int_t)st->units_street,
                     "community", (json_int_t)st->units_community, "grid",
                     (json_int_t)st->units_grid, "groups", "resident",
                     (json_int_t)st->groups_resident, "enterprise",
                     (json_int_t)st->groups_enterprise, "households", (json_int_t)st->households,
                     "enterprises", (json_int_t)st->enterprises, "staff", (json_int_t)st->staff,
                     "messages", (json_int_t)st->messages, "leads", (json_int_t)st->leads,
                     "cases", "open", (json_int_t)st->cases_open, "closed",
                     (json_int_t)st->cases_closed, "policies", (json_int_t)st->policies,
                     "lexicon", (json_int_t)st->lexicon);
}

/* Terminal columns of a UTF-8 label: CJK characters take two. */
static int display_width(const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w += *p < 0x80 ? 1 : 2;
    return w;
}

static void stats_table(const store_stats *st, const char *engine, int version)
{
    const struct {
        const char *label;
        long value;
    } rows[] = {
        {"街道/乡 streets", st->units_street},       {"社区/村 communities", st->units_community},
        {"网格 grids", st->units_grid},               {"居民群 resident groups", st->groups_resident},
        {"企业群 enterprise groups", st->groups_enterprise},
        {"住户 households", st->households},          {"企业 enterprises", st->enterprises},
        {"工作人员 staff", st->staff},                {"群消息 messages", st->messages},
        {"问题线索 leads", st->leads},                {"办理中 open cases", st->cases_open},
        {"已结案 closed cases", st->cases_closed},    {"政策 policies", st->policies},
        {"词库 lexicon entries", st->lexicon},
    };
    printf("%s database, schema version %d, %ld district\n", engine, version,
           st->units_district);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("  %s%*s %10ld\n", rows[i].label, 28 - display_width(rows[i].label), "",
               rows[i].value);
}

int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"json", no_argument, 0, 'j'},
                                         {"digest", no_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL;
    int as_json = 0, with_digest = 0, c;
    while ((c = getopt_long(argc, argv, "d:jgh", opts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'j')
            as_json = 1;
        else if (c == 'g')
            with_digest = 1;
        else if (c == 'h') {
            printf("usage: nuanyang stats --db FILE|postgresql://... [--json] [--digest]\n\n"
                   "Prints the counts of units, groups, households, enterprises, staff,\n"
                   "messages, leads and cases (统计), as a table or as one JSON object.\n"
                   "--digest adds a SHA-256 over all content, equal for equal content on\n"
                   "either engine (reads every row: seconds for a year of messages).\n");
            return CLI_OK;
        } else
            return cli_usage_error("stats", "bad option");
    }
    if (optind < argc)
        return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
    if (!(db = cli_db_uri("stats", db)))
        return CLI_USAGE;
    store *s;
    int rc = cli_open("stats", db, 1, &s);
    if (rc != CLI_OK)
        return rc;
    store_stats st;
    int version = 0;
    char digest[65] = "";
    ny_err e;
    if (store_stats_get(s, &st, &e) != NY_OK || store_schema_version(s, &version, &e) != NY_OK ||
        (with_digest && store_digest(s, digest, &e) != NY_OK)) {
        store_close(s);
        return cli_fail("stats", &e);
    }
    if (as_json) {
        json_t *j = stats_json(&st, store_engine(s), version);
        if (j && with_digest)
            json_object_set_new(j, "digest", json_string(digest));
        char *text = j ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
        if (text)
            puts(text);
        free(text);
        json_decref(j);
        rc = text ? CLI_OK : CLI_FAIL;
    } else {
        stats_table(&st, store_engine(s), version);
        if (with_digest)
            printf("  digest %s\n", digest);
    }
    store_close(s);
    return rc;
}
