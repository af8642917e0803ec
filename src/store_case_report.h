/* store_case_report.h - the reads behind case figures, the worker table,
 * the ledger and the daily digest; portable SQL (store_sql.h). Units are
 * named by code and subtrees by code prefix (domain_unit_prefix). */
#ifndef NY_STORE_CASE_REPORT_H
#define NY_STORE_CASE_REPORT_H

#include <stdint.h>

#include "kpi.h"
#include "store.h"

/* The milestones of every case (not rectification items, not merged away)
 * reported in [from, to) whose origin unit's code starts with prefix, in
 * no particular order. With on_spot, kpi_case.on_spot says whether it was
 * handled on the spot (one more indexed probe per case). */
int store_case_kpi(store *s, const char *prefix, int64_t from, int64_t to, int on_spot,
                   int (*fn)(void *ctx, const kpi_case *c), void *ctx, ny_err *e);

/* The units directly below code, by code. */
int store_case_children(store *s, const char *code,
                        int (*fn)(void *ctx, const char *code, const char *name, const char *level),
                        void *ctx, ny_err *e);

/* Grid workers of the grids under prefix: (grid code, grid name, account,
 * name), by grid code and account. */
int store_case_grid_workers(store *s, const char *prefix,
                            int (*fn)(void *ctx, const char *grid, const char *grid_name,
                                      const char *account, const char *name),
                            void *ctx, ny_err *e);

/* Cases whose holding unit's code starts with prefix that closed in
 * [from, to). */
int store_case_closed_count(store *s, const char *prefix, int64_t from, int64_t to, int64_t *n,
                            ny_err *e);

/* Every (unit code, level, account) of staff other than admins, by unit
 * code: the recipients of daily digests. */
int store_case_digest_staff(store *s,
                            int (*fn)(void *ctx, const char *code, const char *level,
                                      const char *account),
                            void *ctx, ny_err *e);

/* How many daily digest jobs there have been (0 on a database whose server
 * never reached a digest time: there is no missed digest to catch up). */
int store_case_digest_jobs(store *s, int64_t *n, ny_err *e);

#endif
