/* store_stats.h - per-unit, per-day message and lead counts for the staff
 * API's statistics (GET /api/v1/stats), fast at every level of the unit
 * tree.
 *
 * Triggers (migration 7) add a delta row for every message and lead stored,
 * in the same transaction, whoever writes it (ingest, the demo generator,
 * tests); store_stats_compact folds the deltas into stat_days, one row per
 * unit of every level and day, so a district's year is 365 rows. Queries
 * add the deltas not yet folded, so answers are always exact. Days are
 * China days: (unix seconds + 8 h) / 86400. Storage code over store_sql, the
 * same SQL on both engines. */
#ifndef NY_STORE_STATS_H
#define NY_STORE_STATS_H

#include <stdint.h>

#include "store.h"

/* The counted quantities, in this order: messages, leads, replies sent
 * (stored triage with a reply), consultations answered (consult with a
 * reply), one per intent (domain_intents order), one per category
 * (domain_categories order). */
enum {
    STORE_STAT_MESSAGES,
    STORE_STAT_LEADS,
    STORE_STAT_REPLIES,
    STORE_STAT_ANSWERED,
    STORE_STAT_INTENT0,
    STORE_STAT_CATEGORY0 = STORE_STAT_INTENT0 + 6,
    STORE_STAT_N = STORE_STAT_CATEGORY0 + 8
};

typedef struct store_stat_counts {
    int64_t v[STORE_STAT_N];
} store_stat_counts;

/* The China day of Unix time t. */
int64_t store_stat_day(int64_t t);

/* Folds every delta row into stat_days when at least min_rows are waiting
 * (0 = always), in one transaction that compactors take one at a time; a
 * delta committed by another writer while it runs is left for the next
 * time. *folded (may be NULL) receives the rows folded. s must not be in a
 * transaction. */
int store_stats_compact(store *s, long min_rows, long *folded, ny_err *e);

/* The counts of the subtree of unit_code over days [from_day, to_day). */
int store_stats_total(store *s, const char *unit_code, int64_t from_day, int64_t to_day,
                      store_stat_counts *out, ny_err *e);

/* The subtree's counts per day over [from_day, to_day), days with none left
 * out, in day order. */
int store_stats_by_day(store *s, const char *unit_code, int64_t from_day, int64_t to_day,
                       int (*fn)(void *ctx, int64_t day, const store_stat_counts *c), void *ctx,
                       ny_err *e);

/* Each child unit of unit_code, in code order, with the messages and leads
 * of its subtree over [from_day, to_day) (zeros included; the other counts
 * are left 0). */
int store_stats_by_child(store *s, const char *unit_code, int64_t from_day, int64_t to_day,
                         int (*fn)(void *ctx, const store_unit *child, const store_stat_counts *c),
                         void *ctx, ny_err *e);

#endif
