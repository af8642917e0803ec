/* store_case_stamp.h - a cheap change stamp of the case data: every change
 * to a case appends to the case log (case_events) in the same transaction,
 * so the newest log id moves whenever any case figure may have moved.
 * Answers memoised from case data (server_kpi_memo.c) check it. */
#ifndef NY_STORE_CASE_STAMP_H
#define NY_STORE_CASE_STAMP_H

#include <stdint.h>

#include "store.h"

/* The id of the newest case log entry (0 when there is none) into *stamp;
 * one probe of the log's primary key. */
int store_case_stamp(store *s, int64_t *stamp, ny_err *e);

#endif
