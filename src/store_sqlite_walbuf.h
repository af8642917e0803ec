/* store_sqlite_walbuf.h - gathered writes to the SQLite write-ahead log,
 * internal to the SQLite driver (store_sqlite.c installs it). */
#ifndef NY_STORE_SQLITE_WALBUF_H
#define NY_STORE_SQLITE_WALBUF_H

/* The pragma that turns gathering on for one connection's WAL: "PRAGMA
 * nuanyang_wal_buffer = ON" (OFF, or never set, passes every write through
 * as SQLite makes it). Only for a connection whose commits sync the WAL
 * (synchronous=FULL): store_wal_writer sets it on the ingest committer's. */
#define SQ_WALBUF_PRAGMA "nuanyang_wal_buffer"

/* Registers, once and before the process opens its first connection, a VFS
 * over SQLite's default one as the new default: every call goes through to
 * the default VFS unchanged, except the WAL writes of a connection that set
 * SQ_WALBUF_PRAGMA. Returns an SQLite result code (SQLITE_OK). */
int sq_walbuf_install(void);

#endif
