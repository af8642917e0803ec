/* store_case_stamp.c - the case data's change stamp (store_case_stamp.h):
 * the newest id of the append-only case log, read through its primary key
 * in portable SQL on both engines. */
#include "store_case_stamp.h"

#include "store_sql.h"

int store_case_stamp(store *s, int64_t *stamp, ny_err *e)
{
    *stamp = 0;
    return store_sql_int(s, "SELECT COALESCE(MAX(id), 0) FROM case_events", NULL, 0, stamp, e);
}
