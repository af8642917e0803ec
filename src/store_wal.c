/* store_wal.c - checkpoints of the SQLite write-ahead log taken out of the
 * ingest commit path.
 *
 * By default every SQLite connection checkpoints at the end of the commit
 * that takes the WAL past 1,000 pages: it copies those pages into the
 * database file and flushes it before the commit returns, so one group
 * commit in a few (the ingest path writes a few hundred pages a group)
 * took several times as long as the others and every request in it waited.
 * The server's group commit (server_commit.c) therefore writes through a
 * handle set up by store_wal_writer, and a background thread of its own
 * runs store_wal_checkpoint on another handle. Part of the storage layer
 * through store_sql; the statements are SQLite pragmas, so on PostgreSQL
 * both calls return at once. */
#include <string.h>

#include "store_sql.h"
#include "store_wal.h"

static int is_sqlite(store *s)
{
    return strcmp(store_engine(s), "sqlite") == 0;
}

int store_wal_writer(store *s, ny_err *e)
{
    if (!is_sqlite(s))
        return NY_OK;
    static const char *const set[] = {"PRAGMA wal_autocheckpoint = 0", "PRAGMA temp_store = MEMORY",
                                      "PRAGMA cache_size = -16384",
                                      "PRAGMA nuanyang_wal_buffer = ON"};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        int rc = store_sql(s, set[i], NULL, 0, NULL, NULL, NULL, e);
        if (rc != NY_OK)
            return rc;
    }
    return NY_OK;
}

struct ckpt {
    long busy, frames, done;
};

static int on_ckpt(void *ctx, const store_row *row)
{
    struct ckpt *c = ctx;
    c->busy = (long)store_row_int(row, 0);
    c->frames = (long)store_row_int(row, 1);
    c->done = (long)store_row_int(row, 2);
    return NY_OK;
}

int store_wal_checkpoint(store *s, int restart, long *frames, long *done, ny_err *e)
{
    struct ckpt c = {0, 0, 0};
    const char *sql = restart ? "PRAGMA wal_checkpoint(RESTART)" : "PRAGMA wal_checkpoint(PASSIVE)";
    int rc = is_sqlite(s) ? store_sql(s, sql, NULL, 0, on_ckpt, &c, NULL, e) : NY_OK;
    if (frames)
        *frames = c.frames;
    if (done)
        *done = c.done;
    if (rc == NY_OK && restart && c.busy) /* the lock or the readers did not come free */
        rc = ny_err_set(e, NY_EUNAVAIL, "WAL restart: readers or the writer kept the WAL busy");
    return rc;
}
