/* cli_outbox.c - the `outbox` subcommand: where outbound messages go and
 * what is waiting.
 *
 * `nuanyang outbox rebase --db DB URL` points every chat group's target at
 * URL/<platform>/<external id> and every staff member's notification target
 * at URL/staff/<account> (generic webhook): a demo or test district whose
 * robots are one local receiver. `nuanyang outbox target --db DB ACCOUNT
 * CHANNEL URL` sets one staff member's notification target (CHANNEL wecom,
 * dingtalk, feishu or webhook; "-" clears it). `nuanyang outbox list --db
 * DB [--status S]` prints the newest rows (id, kind, channel, status,
 * attempts, last error) and the counts waiting and dead. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store_outbox.h"

#define CMD "outbox"

static int help(void)
{
    printf("usage: nuanyang outbox rebase --db FILE|URI URL\n"
           "       nuanyang outbox target --db FILE|URI ACCOUNT CHANNEL|- [URL]\n"
           "       nuanyang outbox list --db FILE|URI [--status pending|sending|sent|dead]\n\n"
           "rebase points every group's robot at URL/<platform>/<group id> and every\n"
           "staff member's notifications at URL/staff/<account> (a local receiver for\n"
           "demos and tests); target sets one staff member's notification target\n"
           "(wecom, dingtalk, feishu or webhook; '-' clears it; a robot's signing secret\n"
           "goes in the URL as #sign=SECRET); list shows the newest outbound messages.\n");
    return CLI_OK;
}

static int on_row(void *ctx, const store_outbox_row *r)
{
    (void)ctx;
    printf("%lld\t%s\t%s\t%s\t%d\t%s\n", (long long)r->id, r->kind, r->channel, r->status,
           r->attempts, r->last_error);
    return NY_OK;
}

static int run(store *s, const char *verb, char **args, int nargs, const char *status, ny_err *e)
{
    if (strcmp(verb, "rebase") == 0) {
        long g = 0, p = 0;
        int rc = store_targets_rebase(s, args[0], 1, &g, &p, e);
        if (rc == NY_OK)
            printf("%ld groups and %ld staff now point at %s\n", g, p, args[0]);
        return rc;
    }
    if (strcmp(verb, "target") == 0) {
        int clear = strcmp(args[1], "-") == 0;
        return store_staff_target_set(s, args[0], clear ? "" : args[1],
                                      clear || nargs < 3 ? "" : args[2], e);
    }
    long total = 0, waiting = 0, dead = 0;
    int rc = store_outbox_list(s, status, 50, 0, on_row, NULL, &total, e);
    if (rc == NY_OK)
        rc = store_outbox_depth(s, &waiting, &dead, e);
    if (rc == NY_OK)
        printf("%ld shown of %ld; %ld waiting, %ld dead\n", total < 50 ? total : 50, total, waiting,
               dead);
    return rc;
}

int cmd_outbox(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"status", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *status = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 's':
            status = optarg;
            break;
        case 'h':
            return help();
        case ':':
            return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(CMD, "which command? rebase, target or list");
    const char *verb = argv[optind++];
    int nargs = argc - optind;
    static const char *const channels[] = {"wecom", "dingtalk", "feishu", "webhook", "-"};
    if (strcmp(verb, "rebase") == 0) {
        if (nargs != 1 ||
            (strncmp(argv[optind], "http://", 7) != 0 && strncmp(argv[optind], "https://", 8) != 0))
            return cli_usage_error(CMD, "rebase needs one http:// or https:// URL");
    } else if (strcmp(verb, "target") == 0) {
        int known = 0;
        for (size_t i = 0; nargs >= 2 && i < sizeof channels / sizeof *channels; i++)
            known |= strcmp(argv[optind + 1], channels[i]) == 0;
        if (!known || nargs != (strcmp(argv[optind + 1], "-") == 0 ? 2 : 3))
            return cli_usage_error(CMD, "target needs ACCOUNT and CHANNEL (wecom, dingtalk, "
                                        "feishu, webhook) with a URL, or ACCOUNT -");
    } else if (strcmp(verb, "list") == 0) {
        if (nargs)
            return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    } else {
        return cli_usage_error(CMD, "unknown command '%s' (rebase, target or list)", verb);
    }
    const char *uri = cli_db_uri(CMD, db);
    if (!uri)
        return CLI_USAGE;
    store *s;
    int rc = cli_open(CMD, uri, 1, &s);
    if (rc != CLI_OK)
        return rc;
    ny_err e;
    if (run(s, verb, argv + optind, nargs, status, &e) != NY_OK)
        rc = cli_fail(CMD, &e);
    store_close(s);
    return rc;
}
