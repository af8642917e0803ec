/* store_savepoint.c - one level of savepoint inside an explicit
 * transaction, written once for both engines through store_sql.
 *
 * The server's group commit (server_commit.c) runs several requests' writes
 * in one transaction and must be able to undo one request's writes without
 * losing the others'; a savepoint around each request does that. SAVEPOINT,
 * ROLLBACK TO and RELEASE are spelled the same in SQLite and PostgreSQL. The
 * name is fixed: savepoints of this module do not nest (the drivers' own
 * batch savepoints have other names and may nest inside). */
#include "store_sql.h"

int store_savepoint(store *s, ny_err *e)
{
    return store_sql(s, "SAVEPOINT ny_member", NULL, 0, NULL, NULL, NULL, e);
}

int store_savepoint_release(store *s, ny_err *e)
{
    return store_sql(s, "RELEASE SAVEPOINT ny_member", NULL, 0, NULL, NULL, NULL, e);
}

int store_savepoint_rollback(store *s, ny_err *e)
{
    int rc = store_sql(s, "ROLLBACK TO SAVEPOINT ny_member", NULL, 0, NULL, NULL, NULL, e);
    return rc == NY_OK ? store_savepoint_release(s, e) : rc;
}
