/* server_kpi_memo.h - GET /api/v1/kpi through a memo: the dashboard asks
 * for the same unit's figures again and again, and computing the district's
 * from a year of cases takes tens of milliseconds, so a recent answer is
 * served again while no case has changed since (store_case_stamp). */
#ifndef NY_SERVER_KPI_MEMO_H
#define NY_SERVER_KPI_MEMO_H

#include "server_int.h"

/* Answers kept, and the most seconds one is kept. The age limit bounds how
 * far the default range's end may lag behind now, and what a concurrent
 * writer on another node could hide by committing a lower log id after a
 * higher one was seen. */
#define SERVER_KPI_MEMO_SLOTS 64
#define SERVER_KPI_MEMO_TTL 300

/* Makes and frees the server's memo (server_start / server stop). */
int server_kpi_memo_start(server *sv, ny_err *e);
void server_kpi_memo_free(server *sv);

/* The /api/v1/kpi route: the caller is authenticated and the unit checked
 * against their area as server_kpi does (that handler answers every refusal
 * itself); a 200 answer for the same unit and range is served from the memo
 * while the case log's stamp is unchanged and the answer is younger than
 * the TTL, else computed by server_kpi and remembered. Without to= the range
 * ends now: such an answer is reused within the same TTL-long step of the
 * server clock (so a test clock moved further recomputes). */
void server_kpi_memoized(server *sv, const server_call *call, server_reply *r);

#endif
