/* store_pg_schema.h - PostgreSQL migrations, internal to the PostgreSQL driver. */
#ifndef NY_STORE_PG_SCHEMA_H
#define NY_STORE_PG_SCHEMA_H

/* store_pg_migrations[k-1] upgrades schema version k-1 to k: one or more SQL
 * statements for PQexec, run inside the migration's transaction. */
extern const char *const store_pg_migrations[];
extern const int store_pg_migration_count;

#endif
