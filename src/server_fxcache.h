/* server_fxcache.h - a request thread's memory of the targets the ingest
 * effects read (server_fxcache.c): chat groups with their units, and staff
 * members, each kept for at most SERVER_FXCACHE_MS after it was read. */
#ifndef NY_SERVER_FXCACHE_H
#define NY_SERVER_FXCACHE_H

#include <stdint.h>

#include "store_outbox.h"

/* How long a remembered target is used (milliseconds): the staleness the
 * connectors' memory allows, so a target or unit changed through the CLI
 * or another node is used by every request begun a second after. */
#define SERVER_FXCACHE_MS 1000

/* What the effects read for a chat group: its target and the unit that
 * holds its cases (unit_rc NY_ENOTFOUND when that unit is gone). */
typedef struct fxc_group {
    int64_t id;
    store_target t;
    int64_t unit_id;
    char unit_name[128], level[16];
    int unit_rc;
} fxc_group;

/* What the effects read for a staff member: the target, or why none (rc:
 * NY_ENOTFOUND no such account, NY_EINVAL a malformed target). */
typedef struct fxc_staff {
    store_target t;
    int rc;
} fxc_staff;

typedef struct server_fxcache server_fxcache;

/* The current monotonic time in milliseconds, the clock of the calls
 * below. */
long long server_fxcache_now(void);

/* Copies the entry of group id into *out when there is one read at or after
 * now_ms - SERVER_FXCACHE_MS for the same unit_code (the unit the server
 * has for the group now): 1, else 0. c may be NULL (nothing kept). */
int server_fxcache_group(const server_fxcache *c, int64_t id, const char *unit_code,
                         long long now_ms, fxc_group *out);

/* Remembers g, read for unit_code at read_ms (a time taken before the
 * read began), making *c when it is NULL; nothing when memory or a long
 * unit code does not allow (the next request reads again). */
void server_fxcache_put_group(server_fxcache **c, const char *unit_code, const fxc_group *g,
                              long long read_ms);

/* As server_fxcache_group, for the staff member with this account. */
int server_fxcache_staff(const server_fxcache *c, const char *account, long long now_ms,
                         fxc_staff *out);

/* As server_fxcache_put_group, for a staff member. */
void server_fxcache_put_staff(server_fxcache **c, const char *account, const fxc_staff *s,
                              long long read_ms);

/* Frees c (NULL is fine). */
void server_fxcache_free(server_fxcache *c);

#endif
