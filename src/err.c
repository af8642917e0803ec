/* err.c - storage for the error convention declared in err.h.
 *
 * Kept deliberately tiny: formatting a message into the caller's ny_err and
 * naming codes. Every module reports failures through these helpers so that
 * the CLI and (later) the HTTP layer can turn them into exit codes and 4xx/5xx
 * responses in one place. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

void ny_err_clear(ny_err *e)
{
    if (!e)
        return;
    e->code = NY_OK;
    e->index = -1;
    e->msg[0] = '\0';
}

static int err_vset(ny_err *e, int code, long index, const char *fmt, va_list ap)
{
    if (!e)
        return code;
    e->code = code;
    e->index = index;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

int ny_err_set(ny_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, -1, fmt, ap);
    va_end(ap);
    return code;
}

int ny_err_set_at(ny_err *e, int code, long index, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, index, fmt, ap);
    va_end(ap);
    return code;
}

const char *ny_err_name(int code)
{
    switch (code) {
    case NY_OK: return "ok";
    case NY_ERR: return "runtime error";
    case NY_EINVAL: return "invalid input";
    case NY_ENOTFOUND: return "not found";
    case NY_EEXIST: return "already exists";
    case NY_ECONFLICT: return "conflict";
    case NY_EVERSION: return "schema version too new";
    case NY_EUNAVAIL: return "unavailable";
    default: return "unknown error";
    }
}
