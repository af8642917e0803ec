/* cli.h - the nuanyang command-line subcommands.
 *
 * Each cmd_* receives the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit code: CLI_OK (0) on success,
 * CLI_FAIL (1) on a runtime error (bad data, engine failure), CLI_USAGE (2) on
 * a usage error. Messages go to stderr, prefixed "nuanyang <cmd>: "; results
 * go to stdout. */
#ifndef NY_CLI_H
#define NY_CLI_H

#include "store.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cmd_init(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_triage(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_connector(int argc, char **argv);
int cmd_outbox(int argc, char **argv);

/* The database named by --db, or $NUANYANG_DB, or NULL after printing a usage
 * message for cmd. */
const char *cli_db_uri(const char *cmd, const char *given);

/* Opens the database for cmd; prints the reason and returns CLI_FAIL (or
 * CLI_USAGE when no database was named) on failure. */
int cli_open(const char *cmd, const char *uri, int must_exist, store **out);

/* The assistant's data directory into buf (sz bytes): given (--data DIR),
 * else $NUANYANG_DATA, else the data/ directory next to the build directory
 * of the executable (build/nuanyang and build/asan/nuanyang find ./data of
 * the repository), else ./data. Returns buf, or NULL when the path does not
 * fit. */
const char *cli_data_dir(const char *given, char *buf, size_t sz);

/* Prints "nuanyang <cmd>: <msg>" to stderr and returns CLI_FAIL. */
int cli_fail(const char *cmd, const ny_err *e);

/* Prints a usage error plus "try 'nuanyang <cmd> --help'" and returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
