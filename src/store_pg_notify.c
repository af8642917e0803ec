/* store_pg_notify.c - the PostgreSQL driver's wait for notifications
 * (store_notify.h): polls the connection's socket and a caller's wake-up
 * descriptor, then hands every notification libpq has read to the caller.
 * Sending and subscribing are plain statements (store_notify.c). */
#include <poll.h>

#include "store_pg.h"

int pg_notify_wait(void *impl, int wake_fd, int timeout_ms,
                   int (*fn)(void *ctx, const char *payload), void *ctx, ny_err *e)
{
    struct pg *h = impl;
    int sock = PQsocket(h->conn);
    if (sock < 0 || PQstatus(h->conn) != CONNECTION_OK)
        return ny_err_set(e, NY_EUNAVAIL, "notifications: the connection is lost");
    struct pollfd p[2] = {{sock, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms) < 0)
        return NY_OK; /* interrupted: the caller loops */
    if ((p[0].revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(h->conn))
        return ny_err_set(e, NY_EUNAVAIL, "notifications: %s", PQerrorMessage(h->conn));
    PGnotify *n;
    int rc = NY_OK;
    while (rc == NY_OK && (n = PQnotifies(h->conn))) {
        rc = fn(ctx, n->extra);
        PQfreemem(n);
    }
    return rc;
}
