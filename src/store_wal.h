/* store_wal.h - the SQLite write-ahead log as the ingest group commit uses
 * it: a writer handle that leaves checkpoints to a background connection.
 * On PostgreSQL (whose server runs its own checkpoints) both calls do
 * nothing. */
#ifndef NY_STORE_WAL_H
#define NY_STORE_WAL_H

#include "store.h"

/* Makes s the process's busy writer: no automatic checkpoint at commit
 * (store_wal_checkpoint on another handle does them), savepoint journals
 * kept in memory rather than in temporary files, and a 16 MiB page cache.
 * Durability is unchanged: every commit still flushes the WAL. NY_OK, or
 * NY_ERR when a setting is refused. */
int store_wal_writer(store *s, ny_err *e);

/* Copies the committed WAL frames into the database file without waiting
 * for readers or blocking writers (a passive checkpoint) and flushes it.
 * With restart set it instead takes the write lock, waiting for the writer
 * of the moment, copies every frame and waits until no reader still reads
 * from the WAL, so that the next write transaction starts the WAL over
 * from its beginning (a restart checkpoint; the writer waits meanwhile).
 * *frames (may be NULL) gets the WAL's length in frames, *done how many of
 * them are now in the database file (both 0 on PostgreSQL). NY_OK, or an
 * NY_* code (NY_EUNAVAIL when a restart found the lock or the readers
 * still busy at the end of the handle's busy timeout). */
int store_wal_checkpoint(store *s, int restart, long *frames, long *done, ny_err *e);

#endif
