/* cli_connector.c - the `connector` subcommand: the chat bridges allowed to
 * post messages to the server.
 *
 * `nuanyang connector add --db DB NAME [--kind webhook]` creates (or
 * re-keys) a connector with a fresh key and secret from
 * auth_connector_credentials and prints them once, as "key KEY" and
 * "secret SECRET" lines, for the bridge's configuration; the server looks
 * the key up and checks each request's HMAC with the secret (sign.h).
 * `--kind wecom --token T --aes-key K [--receive-id R]` stores the settings
 * of a WeCom app or AI bot (checked with wecom_init; receive id "" for AI
 * bots) and prints the callback path /connectors/wecom/NAME instead.
 * `--kind open311 --unit CODE` issues an api_key for an Open311 client
 * (server_open311.c) bound to that unit and prints it once as "api_key KEY";
 * only its SHA-256 is stored (store_open311.h).
 * `nuanyang connector disable|enable --db DB NAME` turns a connector's (or
 * an Open311 client's) requests away (403) or back on without changing its
 * credentials. `nuanyang connector list --db DB` prints name, kind and
 * state (and an Open311 client's unit), never a secret. One name belongs to
 * one connector or one Open311 client. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cli.h"
#include "store_open311.h"
#include "wecom.h"

#define CMD "connector"

static int help(void)
{
    printf("usage: nuanyang connector add --db FILE|URI NAME [--kind webhook]\n"
           "       nuanyang connector add --db FILE|URI NAME --kind wecom --token TOKEN\n"
           "                              --aes-key ENCODING_AES_KEY [--receive-id ID]\n"
           "       nuanyang connector add --db FILE|URI NAME --kind open311 --unit CODE\n"
           "       nuanyang connector disable|enable --db FILE|URI NAME\n"
           "       nuanyang connector list --db FILE|URI\n\n"
           "add creates the connector NAME (or gives an existing one new credentials)\n"
           "and prints its key and secret; disable makes the server refuse its\n"
           "requests (403) until enable; list prints every connector (no secrets).\n"
           "A wecom connector takes the callback settings of a WeCom app (receive id =\n"
           "CorpID) or AI bot (no receive id) and serves /connectors/wecom/NAME.\n"
           "An open311 client gets an api_key for /open311/v2: its requests open cases\n"
           "in the subtree of the unit CODE (at that unit when their place is unknown).\n");
    return CLI_OK;
}

static int on_conn(void *ctx, const store_connector *c)
{
    (void)ctx;
    printf("%s\t%s\t%s\n", c->name, c->kind, c->disabled ? "disabled" : "enabled");
    return NY_OK;
}

static int on_client(void *ctx, const store_open311_client *c)
{
    (void)ctx;
    printf("%s\topen311\t%s\t%s %s\n", c->name, c->disabled ? "disabled" : "enabled", c->unit,
           c->unit_name);
    return NY_OK;
}

static int found(void *ctx, const store_connector *c)
{
    (void)ctx;
    (void)c;
    return NY_OK;
}

/* NY_EEXIST when name is taken by the other kind of client (a connector
 * for an open311 client, an Open311 client for a connector). */
static int name_free(store *s, const char *name, int open311, ny_err *e)
{
    store_open311_client c;
    int rc = open311 ? store_connector_find(s, name, found, NULL, e)
                     : store_open311_client_find(s, name, NULL, &c, e);
    if (rc == NY_OK)
        return ny_err_set(e, NY_EEXIST, "the name '%s' is taken by %s", name,
                          open311 ? "a connector" : "an Open311 client");
    return rc == NY_ENOTFOUND ? NY_OK : rc;
}

/* Issues an api_key for the Open311 client name bound to unit. */
static int add_open311(store *s, const char *name, const char *unit, ny_err *e)
{
    char key[AUTH_KEY_LEN + 1], hash[AUTH_KEY_HASH_LEN + 1];
    int rc = name_free(s, name, 1, e);
    if (rc == NY_OK)
        rc = auth_api_key(key, hash, e);
    if (rc == NY_OK)
        rc = store_open311_client_put(s, name, hash, unit, (int64_t)time(NULL), e);
    if (rc == NY_OK)
        printf("api_key %s\nunit %s\n", key, unit);
    return rc;
}

/* What disable/enable writes back from inside store_connector_find. */
struct toggle {
    store *s;
    int disabled;
    ny_err *e;
};

/* Stores the connector found again with the toggle's disabled flag. */
static int set_disabled(void *ctx, const store_connector *c)
{
    struct toggle *t = ctx;
    store_connector x = *c;
    x.disabled = t->disabled;
    return store_connector_put(t->s, &x, NULL, t->e);
}

int cmd_connector(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"token", required_argument, NULL, 't'},
                                         {"aes-key", required_argument, NULL, 'a'},
                                         {"receive-id", required_argument, NULL, 'r'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *kind = "webhook", *token = NULL, *aes = NULL, *rid = "", *unit = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 't':
            token = optarg;
            break;
        case 'a':
            aes = optarg;
            break;
        case 'r':
            rid = optarg;
            break;
        case 'u':
            unit = optarg;
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
        return cli_usage_error(CMD, "which command? add or list");
    const char *verb = argv[optind++];
    int add = strcmp(verb, "add") == 0, list = strcmp(verb, "list") == 0;
    int toggle = strcmp(verb, "disable") == 0 ? 1 : strcmp(verb, "enable") == 0 ? 0 : -1;
    if (!add && !list && toggle < 0)
        return cli_usage_error(CMD, "unknown command '%s' (add, disable, enable or list)", verb);
    if (!list && optind + 1 != argc)
        return cli_usage_error(CMD, "%s needs exactly one NAME", verb);
    if (list && optind != argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    int wc = strcmp(kind, "wecom") == 0, o311 = strcmp(kind, "open311") == 0;
    if (!wc && !o311 && strcmp(kind, "webhook") != 0)
        return cli_usage_error(CMD, "--kind must be webhook, wecom or open311, not '%s'", kind);
    if (o311 != (unit != NULL))
        return cli_usage_error(CMD, o311 ? "--kind open311 needs --unit CODE"
                                         : "--unit goes with --kind open311");
    if (wc != (token != NULL) || wc != (aes != NULL) || (!wc && *rid))
        return cli_usage_error(CMD,
                               wc ? "--kind wecom needs --token and --aes-key"
                                  : "--token, --aes-key and --receive-id go with --kind wecom");
    wecom w;
    ny_err we;
    if (wc && wecom_init(&w, token, aes, rid, &we) != NY_OK)
        return cli_usage_error(CMD, "%s", we.msg);
    if (wc)
        wecom_wipe(&w);
    const char *uri = cli_db_uri(CMD, db);
    if (!uri)
        return CLI_USAGE;
    store *s;
    int rc = cli_open(CMD, uri, 1, &s);
    if (rc != CLI_OK)
        return rc;
    ny_err e;
    if (add && o311) {
        if (add_open311(s, argv[optind], unit, &e) != NY_OK)
            rc = cli_fail(CMD, &e);
    } else if (add) {
        char key[AUTH_KEY_LEN + 1], secret[AUTH_SECRET_LEN + 1];
        store_connector x = {0,      argv[optind],       kind,          key,
                             secret, wc ? token : "",    wc ? aes : "", rid,
                             0,      (int64_t)time(NULL)};
        if (name_free(s, argv[optind], 0, &e) != NY_OK ||
            auth_connector_credentials(key, secret, &e) != NY_OK ||
            store_connector_put(s, &x, NULL, &e) != NY_OK)
            rc = cli_fail(CMD, &e);
        else if (wc)
            printf("callback /connectors/wecom/%s\n", argv[optind]);
        else
            printf("key %s\nsecret %s\n", key, secret);
    } else if (toggle >= 0) {
        /* One write transaction from the start: otherwise the write inside
         * the find upgrades its read, which SQLite refuses at once, without
         * waiting, when a running server committed in between. */
        struct toggle t = {s, toggle, &e};
        int trc = store_begin(s, &e), began = trc == NY_OK;
        if (trc == NY_OK)
            trc = store_connector_find(s, argv[optind], set_disabled, &t, &e);
        if (trc == NY_ENOTFOUND)
            trc = store_open311_client_disable(s, argv[optind], toggle, &e);
        if (trc == NY_ENOTFOUND)
            ny_err_set(&e, trc, "no connector or Open311 client named '%s'", argv[optind]);
        if (trc == NY_OK)
            trc = store_commit(s, &e);
        else if (began)
            store_rollback(s, NULL);
        if (trc != NY_OK)
            rc = cli_fail(CMD, &e);
    } else if (store_connectors_each(s, on_conn, NULL, &e) != NY_OK ||
               store_open311_clients_each(s, on_client, NULL, &e) != NY_OK) {
        rc = cli_fail(CMD, &e);
    }
    store_close(s);
    return rc;
}
