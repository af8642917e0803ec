/* log.h - the server's JSON-lines log on stderr.
 *
 * Every line the server writes about itself (besides the access log, which
 * server_http.c writes by hand for speed) goes through log_event, so that
 * each is one JSON object: {"ts":…,"level":…,"msg":…, then the caller's
 * key/value pairs}. Values are escaped, text that is not UTF-8 is replaced,
 * and a line is written with a single call so lines of concurrent threads
 * never interleave. */
#ifndef NY_LOG_H
#define NY_LOG_H

#include <stdarg.h>

/* Writes one line. level is "info", "warn" or "error"; msg says what
 * happened; the variable part is pairs of const char *key, const char *value
 * ended by a NULL key. A NULL value leaves its pair out. Never fails: a line
 * that cannot be built (out of memory) is dropped. */
void log_event(const char *level, const char *msg, ...) __attribute__((sentinel));

/* A libmicrohttpd external logger (MHD_OPTION_EXTERNAL_LOGGER): the
 * library's own messages become warn lines {"msg":"http","detail":…}
 * instead of plain text in the middle of the JSON log. cls is unused. */
void log_mhd(void *cls, const char *fmt, va_list ap);

#endif
