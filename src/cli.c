/* cli.c - helpers shared by the subcommands (see cli.h).
 *
 * Naming and opening the database, finding the assistant's data directory,
 * and printing runtime and usage errors, in one place so that every subcommand reports problems the
 * same way and maps them to the same exit codes. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_db_uri(const char *cmd, const char *given)
{
    if (given && *given)
        return given;
    const char *env = getenv("NUANYANG_DB");
    if (env && *env)
        return env;
    cli_usage_error(cmd, "no database: give --db FILE (or postgresql://...) or set NUANYANG_DB");
    return NULL;
}

int cli_open(const char *cmd, const char *uri, int must_exist, store **out)
{
    ny_err e;
    store_open_opts opts = {.target_version = 0, .must_exist = must_exist};
    if (store_open(uri, &opts, out, &e) != NY_OK)
        return cli_fail(cmd, &e);
    return CLI_OK;
}

int cli_fail(const char *cmd, const ny_err *e)
{
    fprintf(stderr, "nuanyang %s: %s\n", cmd, e->msg[0] ? e->msg : ny_err_name(e->code));
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nuanyang %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'nuanyang %s --help'\n", cmd);
    return CLI_USAGE;
}

static int has_lexicon(const char *dir)
{
    char path[PATH_MAX];
    return snprintf(path, sizeof path, "%s/lexicon.csv", dir) < (int)sizeof path &&
           access(path, R_OK) == 0;
}

const char *cli_data_dir(const char *given, char *buf, size_t sz)
{
    if (given)
        return snprintf(buf, sz, "%s", given) < (int)sz ? buf : NULL;
    const char *env = getenv("NUANYANG_DATA");
    if (env && *env)
        return snprintf(buf, sz, "%s", env) < (int)sz ? buf : NULL;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        static const char *const up[] = {"/../data", "/../../data"};
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        for (size_t i = 0; i < 2; i++)
            if (snprintf(buf, sz, "%s%s", exe, up[i]) < (int)sz && has_lexicon(buf))
                return buf;
    }
    return snprintf(buf, sz, "data") < (int)sz ? buf : NULL;
}
