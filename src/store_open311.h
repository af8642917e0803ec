/* store_open311.h - storage of the Open311 GeoReport v2 interface
 * (server_open311.c): its clients, the requests they opened, and cases read
 * as public service requests.
 *
 * Written once for both engines over store_sql (store_sql.h). A client is a
 * civic tool (FixMyStreet and the like) holding an api_key; only the key's
 * SHA-256 is stored (auth_key_hash). Each client is bound to a unit: the
 * requests it opens land in that unit's subtree and its reads are limited to
 * it. A request opened through Open311 is an ordinary case (store_case.h)
 * plus one open311_requests row naming the client and the location as sent. */
#ifndef NY_STORE_OPEN311_H
#define NY_STORE_OPEN311_H

#include <stdint.h>

#include "store.h"

/* One client as stored (never its key). */
typedef struct store_open311_client {
    int64_t id, created_at;
    char name[72];
    char unit[32];  /* the code of the unit it is bound to */
    char level[16]; /* that unit's level */
    char unit_name[128];
    int disabled;
} store_open311_client;

/* Creates the client name (1..64 of [A-Za-z0-9._-]) bound to the unit with
 * this code, or gives an existing one a new key hash and unit and enables
 * it. NY_EINVAL for a malformed name or hash, NY_ENOTFOUND for an unknown
 * unit. */
int store_open311_client_put(store *s, const char *name, const char *key_hash, const char *unit,
                             int64_t now, ny_err *e);

/* The client with this name (key_hash NULL) or this key hash (name NULL)
 * into *out, disabled ones too. NY_ENOTFOUND if there is none. */
int store_open311_client_find(store *s, const char *name, const char *key_hash,
                              store_open311_client *out, ny_err *e);

/* Disables (1) or enables (0) the client name. NY_ENOTFOUND if unknown. */
int store_open311_client_disable(store *s, const char *name, int disabled, ny_err *e);

/* Every client, by name. */
int store_open311_clients_each(store *s, int (*fn)(void *ctx, const store_open311_client *c),
                               void *ctx, ny_err *e);

/* The unit a request lands in, inside the subtree with code prefix scope,
 * into unit[32]: the unit whose code is address_id when that is given
 * (NY_ENOTFOUND when there is no such unit in the subtree); else the
 * deepest unit whose name occurs in address (longer names first); else
 * fallback. */
int store_open311_locate(store *s, const char *scope, const char *address_id, const char *address,
                         const char *fallback, char unit[32], ny_err *e);

/* Records that client opened case_id with this location (lat and lon
 * decimal text or NULL, address_id "" when none), in the caller's
 * transaction. */
int store_open311_request_put(store *s, int64_t case_id, int64_t client_id, const char *lat,
                              const char *lon, const char *address_id, int64_t now, ny_err *e);

/* What GET requests.json asks for. scope: a unit code prefix the case's
 * origin unit (where the matter lies; it stays when the case climbs the
 * levels) must start with (NULL or "" = everywhere). ids (n_ids > 0) select
 * those cases and ignore the other filters; otherwise category ("" = any),
 * opening time in [start, end] and status (0 any, 1 open, 2 closed). At most
 * limit requests, newest first. Only cases of kind "case" are requests. */
typedef struct store_open311_filter {
    const char *scope, *category;
    const int64_t *ids;
    int n_ids, status, limit;
    int64_t start, end;
} store_open311_filter;

/* One case as a service request; strings valid during the callback, ""
 * when empty, lat and lon NULL when not sent. note is the latest non-empty
 * note of its log, updated_at the time of its latest entry. */
typedef struct store_open311_request {
    int64_t id, opened_at, updated_at, due_at, merged_into;
    const char *status, *category, *title, *description, *location, *photo_url;
    const char *unit_name, *level, *department, *note, *lat, *lon, *address_id;
} store_open311_request;

int store_open311_requests(store *s, const store_open311_filter *f,
                           int (*fn)(void *ctx, const store_open311_request *r), void *ctx,
                           ny_err *e);

#endif
