/* store_sqlite_walbuf.c - the ingest committer's writes to the SQLite
 * write-ahead log gathered into large writes.
 *
 * SQLite appends a transaction to the WAL a frame at a time and writes each
 * frame with two system calls, its 24-byte header and then its page, so
 * one group commit of the server (a few hundred to a thousand pages) made
 * one to two thousand pwrite calls on the one committer thread
 * (docs/BENCHMARKS.md, session 9). This file puts a thin VFS over SQLite's
 * default one and makes it the default: every call of every connection
 * goes through to the default VFS unchanged, except on a connection that
 * set SQ_WALBUF_PRAGMA (the committer's, store_wal.c). There the writes to
 * the WAL that follow each other in the file are copied into a buffer of
 * WB_SIZE bytes and written with one call when the buffer is full or the
 * next write does not follow on, and before every other operation on the
 * WAL file: a read, a sync, a truncation, its size, a lock, a file control
 * and its close. So the file receives the same bytes at the same offsets in
 * the same order, in fewer calls.
 *
 * What is durable does not change: a commit on a synchronous=FULL
 * connection syncs the WAL before it returns, and the sync writes the
 * buffer first. A crash or a power loss finds in the WAL a prefix of what
 * SQLite wrote, as before (what it had not synced may be missing either
 * way; recovery keeps the frames up to the last whole, checksummed commit).
 * Other connections read frames only up to the end the writer publishes in
 * the WAL index after that sync; the buffer is written also at the shared
 * memory barrier that comes just before the publication (the database
 * file's xShmBarrier), so nothing depends on the order of the two. */
#include "store_sqlite_walbuf.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The largest run of WAL bytes held back: 30 frames of 4 KiB pages. The
 * default (unix) VFS takes at most 128 KiB a write (it masks the length
 * with 0x1ffff). */
#define WB_SIZE (124 << 10)

typedef struct wb_file wb_file;
struct wb_file {
    sqlite3_file base;  /* pMethods = &wb_io */
    sqlite3_file *real; /* the default VFS's file, just after this struct */
    wb_file *peer;      /* a database file: its open WAL; a WAL: its database file */
    int is_wal;         /* opened as a WAL */
    int gather;         /* a database file: its connection set the pragma */
    int err;            /* a write of the buffer that failed where it could not be reported */
    unsigned char *buf; /* WB_SIZE bytes once the first write is held back */
    sqlite3_int64 off;  /* offset of buf[0] in the file */
    int len;            /* bytes held in buf */
};

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *wb_base;
static const sqlite3_io_methods wb_io;

/* Writes what f holds back; returns an earlier unreported failure first. */
static int flush(wb_file *f)
{
    int rc = f->err;
    f->err = SQLITE_OK;
    if (rc == SQLITE_OK && f->len)
        rc = f->real->pMethods->xWrite(f->real, f->buf, f->len, f->off);
    f->len = 0;
    return rc;
}

static int wb_close(sqlite3_file *file)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    if (f->peer)
        f->peer->peer = NULL;
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *data, int amt, sqlite3_int64 off)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, data, amt, off);
}

static int wb_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
    wb_file *f = (wb_file *)file;
    if (f->is_wal && f->peer && f->peer->gather && amt < WB_SIZE) {
        if (f->len && off == f->off + f->len && f->len + amt <= WB_SIZE) {
            memcpy(f->buf + f->len, data, (size_t)amt);
            f->len += amt;
            return SQLITE_OK;
        }
        int rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
        if (!f->buf)
            f->buf = malloc(WB_SIZE);
        if (f->buf) { /* without memory the write just goes through */
            memcpy(f->buf, data, (size_t)amt);
            f->off = off;
            f->len = amt;
            return SQLITE_OK;
        }
    }
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xWrite(f->real, data, amt, off);
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *file, int flags)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_size(sqlite3_file *file, sqlite3_int64 *size)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *file, int level)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xLock(f->real, level);
}

static int wb_unlock(sqlite3_file *file, int level)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int wb_reserved(sqlite3_file *file, int *out)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

/* "ON", "1", "TRUE", "YES" (any case) turn gathering on; anything else off. */
static int truthy(const char *v)
{
    static const char *const on[] = {"on", "1", "true", "yes"};
    for (size_t i = 0; v && i < sizeof on / sizeof on[0]; i++)
        if (sqlite3_stricmp(v, on[i]) == 0)
            return 1;
    return 0;
}

static int wb_control(sqlite3_file *file, int op, void *arg)
{
    wb_file *f = (wb_file *)file;
    if (op == SQLITE_FCNTL_PRAGMA && !f->is_wal) {
        char **a = arg; /* a[1] the pragma's name, a[2] its value or NULL */
        if (a[1] && sqlite3_stricmp(a[1], SQ_WALBUF_PRAGMA) == 0) {
            if (a[2]) {
                f->gather = truthy(a[2]);
                if (!f->gather && f->peer) {
                    int rc = flush(f->peer);
                    if (rc != SQLITE_OK)
                        return rc;
                }
            } else {
                a[0] = sqlite3_mprintf("%d", f->gather);
            }
            return SQLITE_OK;
        }
    }
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector(sqlite3_file *file)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device(sqlite3_file *file)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wb_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

static int wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

/* Comes just before a writer publishes new frames in the WAL index: its
 * WAL's held-back bytes are written first. A failure here cannot be
 * returned; the WAL's next operation returns it (a synchronous=FULL
 * commit has written everything at its sync, before this). */
static void wb_shm_barrier(sqlite3_file *file)
{
    wb_file *f = (wb_file *)file;
    if (f->peer && f->peer->len) {
        int rc = flush(f->peer);
        if (rc != SQLITE_OK)
            f->peer->err = rc;
    }
    f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *file, int del)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xShmUnmap(f->real, del);
}

static int wb_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xFetch(f->real, off, amt, out);
}

static int wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods wb_io = {
    3,           wb_close,       wb_read,      wb_write,   wb_truncate, wb_sync,   wb_size,
    wb_lock,     wb_unlock,      wb_reserved,  wb_control, wb_sector,   wb_device, wb_shm_map,
    wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch,   wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    (void)vfs;
    wb_file *f = (wb_file *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    int rc = wb_base->xOpen(wb_base, name, f->real, flags, out);
    f->base.pMethods = f->real->pMethods ? &wb_io : NULL;
    if (rc != SQLITE_OK || !f->real->pMethods)
        return rc;
    if (f->real->pMethods->iVersion < 3) { /* a default VFS without shared memory or mapping */
        f->base.pMethods = NULL;
        f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    if ((flags & SQLITE_OPEN_WAL) && name) {
        sqlite3_file *db = sqlite3_database_file_object(name);
        f->is_wal = 1;
        if (db && db->pMethods == &wb_io) {
            f->peer = (wb_file *)db;
            f->peer->peer = f;
        }
    }
    return SQLITE_OK;
}

int sq_walbuf_install(void)
{
    if (wb_base)
        return SQLITE_OK;
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    if (!base)
        return SQLITE_ERROR;
    /* the default VFS's other methods are used as they are: they are given
     * this one, which carries its pAppData and path length */
    wb_vfs = *base;
    wb_vfs.pNext = NULL;
    wb_vfs.zName = "nuanyang";
    wb_vfs.szOsFile = (int)sizeof(wb_file) + base->szOsFile; /* wb_file keeps 8-byte alignment */
    wb_vfs.xOpen = wb_open;
    wb_base = base;
    return sqlite3_vfs_register(&wb_vfs, 1);
}
