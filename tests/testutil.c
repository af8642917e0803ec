/* testutil.c - fresh databases and scratch files for the tests (testutil.h).
 *
 * SQLite databases live in a per-process directory under $TMPDIR, removed at
 * exit unless NUANYANG_TEST_KEEP is set; PostgreSQL databases are created on
 * the cluster named by NUANYANG_TEST_PG with a name unique to the process and
 * call, and are left for the throw-away cluster to take with it. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <ftw.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static pid_t tmpdir_owner;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* Removes the scratch directory at exit, in the process that made it only
 * (forked test workers exit too). */
static void tu_cleanup(void)
{
    if (tmpdir[0] && getpid() == tmpdir_owner && !getenv("NUANYANG_TEST_KEEP"))
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tu_dir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/nuanyang-test.XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir))
            fail_msg("mkdtemp failed");
        tmpdir_owner = getpid();
        atexit(tu_cleanup);
    }
    return tmpdir;
}

int tu_is_pg(void)
{
    const char *pg = getenv("NUANYANG_TEST_PG");
    return pg && *pg;
}

const char *tu_tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_dir(), name);
    return path;
}

const char *tu_db_uri(const char *tag)
{
    static char uri[1024];
    static int serial;
    serial++;
    if (!tu_is_pg()) {
        snprintf(uri, sizeof uri, "%s/%s-%d.db", tu_dir(), tag, serial);
        return uri;
    }
    const char *admin = getenv("NUANYANG_TEST_PG");
    char name[128], sql[256];
    snprintf(name, sizeof name, "ny_%s_%ld_%d", tag, (long)getpid(), serial);
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot reach test PostgreSQL: %s", PQerrorMessage(c));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    /* later keywords override earlier ones in a libpq conninfo string */
    snprintf(uri, sizeof uri, "%s dbname=%s", admin, name);
    return uri;
}

store *tu_open_fresh(const char *tag)
{
    store *s = NULL;
    ny_err e;
    if (store_open(tu_db_uri(tag), NULL, &s, &e) != NY_OK)
        fail_msg("store_open: %s", e.msg);
    return s;
}

void tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}
