/* store_notify.c - notifications between nodes (store_notify.h): sending
 * and subscribing as statements through store_sql(), waiting through the
 * driver (only the PostgreSQL driver has a wait). Part of the storage layer,
 * so that the server's relay (server_relay.c) holds no SQL. */
#include <stdio.h>
#include <string.h>

#include "store_notify.h"
#include "store_sql.h"

int store_notify_available(store *s)
{
    return strcmp(store_engine(s), "postgresql") == 0;
}

static int channel_ok(const char *channel)
{
    size_t n = strlen(channel);
    if (n == 0 || n > 63)
        return 0;
    for (const char *p = channel; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

int store_notify(store *s, const char *channel, const char *payload, ny_err *e)
{
    if (!store_notify_available(s))
        return ny_err_set(e, NY_ECONFLICT, "notifications need PostgreSQL");
    if (!channel_ok(channel) || strlen(payload) > STORE_NOTIFY_MAX)
        return ny_err_set(e, NY_EINVAL, "bad notification channel or payload too long");
    store_val p[] = {SV_TEXT(channel), SV_TEXT(payload)};
    return store_sql(s, "SELECT pg_notify(?, ?)", p, 2, NULL, NULL, NULL, e);
}

int store_listen(store *s, const char *channel, ny_err *e)
{
    if (!store_notify_available(s))
        return ny_err_set(e, NY_ECONFLICT, "notifications need PostgreSQL");
    if (!channel_ok(channel))
        return ny_err_set(e, NY_EINVAL, "bad notification channel '%s'", channel);
    char sql[96];
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    return store_sql(s, sql, NULL, 0, NULL, NULL, NULL, e);
}
