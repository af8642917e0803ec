/* log.c - the server's JSON-lines log (see log.h).
 *
 * The scheduler, the commit's checkpointer, the outbox worker, the relay, the
 * live reload, the WeCom callback and libmicrohttpd itself report through
 * here, so an operator's log shipper can parse every line of stderr. Lines
 * are built with jbuf (jbuf.h) and written with one fwrite, which stdio
 * performs under the stream's lock. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "jbuf.h"

static void log_pairs(const char *level, const char *msg, va_list ap)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    jbuf b = {0};
    jbuf_puts(&b, "{\"ts\":\"");
    jbuf_puts(&b, ts);
    jbuf_puts(&b, "\",\"level\":");
    jbuf_str(&b, level);
    jbuf_puts(&b, ",\"msg\":");
    jbuf_str(&b, domain_utf8_or(msg, "(not UTF-8)"));
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;) {
        const char *value = va_arg(ap, const char *);
        if (!value)
            continue;
        jbuf_puts(&b, ",");
        jbuf_str(&b, key);
        jbuf_puts(&b, ":");
        jbuf_str(&b, domain_utf8_or(value, "(not UTF-8)"));
    }
    jbuf_puts(&b, "}\n");
    char *line;
    size_t len;
    if (jbuf_finish(&b, &line, &len, NULL) != NY_OK)
        return;
    fwrite(line, 1, len, stderr);
    free(line);
}

void log_event(const char *level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    log_pairs(level, msg, ap);
    va_end(ap);
}

void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char detail[512];
    vsnprintf(detail, sizeof detail, fmt, ap);
    size_t n = strlen(detail);
    while (n > 0 && (detail[n - 1] == '\n' || detail[n - 1] == '\r'))
        detail[--n] = '\0';
    log_event("warn", "http", "detail", detail, NULL);
}
