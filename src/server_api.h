/* server_api.h - the staff API's route handlers (units, groups, messages,
 * leads, stats, policies, lexicon, triage; server_api*.c) and the helpers they share:
 * authentication with the caller's worker, the unit filter with its scope rule, pages and time
 * ranges from the query string, and time formatting. Part of the server module; route rows are in
 * server_routes.c, the contract in docs/API.md. */
#ifndef NY_SERVER_API_H
#define NY_SERVER_API_H

#include <stddef.h>
#include <stdint.h>

#include "server_int.h"

/* The district's offset from UTC (China time, no daylight saving). */
#define API_UTC_OFFSET (8 * 3600)

/* A unit a request is about: code, level and the code range of its
 * subtree ([lo, hi)). */
typedef struct api_unit {
    char code[32], name[256], level[16];
    char lo[32], hi[40];
    int64_t id;
} api_unit;

/* Authenticates call (server_auth) and gets the calling thread's worker.
 * NY_OK, or r is answered and the code returned. */
int api_begin(server *sv, const server_call *call, server_caller *who, server_worker **w,
              server_reply *r);

/* The unit named by the query argument "unit" or, without one, the
 * caller's own unit, into *u. 403 when it lies outside who's scope
 * (checked first, whatever the text), 404 when it does not exist, 422 when
 * it is malformed: r is answered and a non-NY_OK code returned. */
int api_unit_filter(server_worker *w, const server_call *call, const server_caller *who,
                    api_unit *u, server_reply *r);

/* Loads the unit with this code into *u. NY_ENOTFOUND when absent. */
int api_unit_load(server_worker *w, const char *code, api_unit *u, ny_err *e);

/* ?limit= (default 50, 1..500) and ?offset= (default 0). 422 otherwise. */
int api_page(const server_call *call, long *limit, long *offset, server_reply *r);

/* ?from= and ?to= as Unix seconds (0 when absent): an ISO date
 * ("2026-05-01", midnight China time) or an ISO-8601 time with offset.
 * 422 naming the field otherwise, or when from >= to. */
int api_range(const server_call *call, int64_t *from, int64_t *to, server_reply *r);

/* t as "2026-05-01T08:30:00+08:00" into buf (at least 32 bytes). */
const char *api_time(int64_t t, char *buf, size_t n);

/* {"items": items, "total", "limit", "offset"} answered with status 200. */
void api_list(server_reply *r, json_t *items, int64_t total, long limit, long offset);

/* Route handlers. */
void api_units_get(server *sv, const server_call *call, server_reply *r);
void api_unit_get(server *sv, const server_call *call, server_reply *r);
void api_groups(server *sv, const server_call *call, server_reply *r);
void api_messages(server *sv, const server_call *call, server_reply *r);
void api_leads(server *sv, const server_call *call, server_reply *r);
void api_stats(server *sv, const server_call *call, server_reply *r);
void api_policies(server *sv, const server_call *call, server_reply *r);
void api_policy_get(server *sv, const server_call *call, server_reply *r);
void api_policy_post(server *sv, const server_call *call, server_reply *r);
void api_policy_put(server *sv, const server_call *call, server_reply *r);
void api_policy_delete(server *sv, const server_call *call, server_reply *r);
void api_lexicon(server *sv, const server_call *call, server_reply *r);
void api_lexeme_post(server *sv, const server_call *call, server_reply *r);
void api_lexeme_put(server *sv, const server_call *call, server_reply *r);
void api_lexeme_delete(server *sv, const server_call *call, server_reply *r);
void api_triage(server *sv, const server_call *call, server_reply *r);

#endif
