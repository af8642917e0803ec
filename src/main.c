/* main.c - entry point of the nuanyang binary: subcommand dispatch.
 *
 * `nuanyang <command> [options]` looks the command up in one table and hands
 * the rest of the arguments to its cmd_* function (cli.h); the helpers the
 * commands share live in cli.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define NUANYANG_VERSION "0.1.0"

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"init", cmd_init, "create or upgrade a database (SQLite file or PostgreSQL)"},
    {"import", cmd_import, "load units, groups, staff, households, ... from CSV"},
    {"export", cmd_export, "write units, groups, staff, households, ... as CSV"},
    {"demo", cmd_demo, "generate the Yangshan-scale demo district"},
    {"stats", cmd_stats, "print counts of everything in a database"},
    {"user", cmd_user, "add staff accounts, set passwords, disable, enable, list"},
    {"triage", cmd_triage, "triage chat messages from stdin into JSON lines"},
    {"train", cmd_train, "train the intent and category models into data/models"},
    {"eval", cmd_eval, "score the models on a labelled file (or cross-validate)"},
    {"serve", cmd_serve, "run the platform server (ingest API, health, metrics)"},
    {"connector", cmd_connector, "add a chat connector (prints its key and secret), list them"},
    {"outbox", cmd_outbox, "outbound messages: point targets at a receiver, list the queue"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "nuanyang %s - 暖羊阳 网格化便民服务平台 (grid-governance convenience service)\n\n"
            "usage: nuanyang <command> [options]\n\ncommands:\n",
            NUANYANG_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nEvery command takes --db FILE or --db postgresql://... (default: $NUANYANG_DB)\n"
            "and --help. Exit codes: 0 ok, 1 runtime error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("nuanyang %s\n", NUANYANG_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nuanyang: unknown command '%s'\n\n", name);
    usage(stderr);
    return CLI_USAGE;
}
