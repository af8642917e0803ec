/* testutil.h - helpers shared by the cmocka test programs.
 *
 * Every test that touches storage gets a fresh, empty database from
 * tu_db_uri(): a new SQLite file under a temporary directory, or, when the
 * runner exported NUANYANG_TEST_PG (a libpq conninfo of a maintenance
 * database), a newly created PostgreSQL database. The same test code thus runs
 * on both engines with identical expectations. */
#ifndef NY_TESTUTIL_H
#define NY_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"

/* 1 when the suite runs against PostgreSQL. */
int tu_is_pg(void);

/* A fresh empty database for this test; tag appears in its name. The string
 * is static storage overwritten by the next call. */
const char *tu_db_uri(const char *tag);

/* Opens a fresh database (tu_db_uri) migrated to the latest schema; fails the
 * test on error. */
store *tu_open_fresh(const char *tag);

/* A path for a scratch file under the per-process temporary directory. */
const char *tu_tmp_path(const char *name);

/* Writes text to path (fails the test on error). */
void tu_write_file(const char *path, const char *text);

/* Reads the whole file into a malloc'd NUL-terminated string (or fails). */
char *tu_read_file(const char *path);

/* Fails the test unless call returns NY_OK, showing the message of the
 * caller's ny_err, which must be named e. */
#define MUST(call)                                                                                 \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != NY_OK)                                                                          \
            fail_msg("%s -> %d: %s", #call, rc_, e.msg);                                           \
    } while (0)

#endif
