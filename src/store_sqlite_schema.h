/* store_sqlite_schema.h - SQLite migrations, internal to the SQLite driver. */
#ifndef NY_STORE_SQLITE_SCHEMA_H
#define NY_STORE_SQLITE_SCHEMA_H

/* store_sqlite_migrations[k-1] upgrades schema version k-1 to k. */
extern const char *const store_sqlite_migrations[];
extern const int store_sqlite_migration_count;

#endif
