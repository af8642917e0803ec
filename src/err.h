/* err.h - the one error convention of nuanyang.
 *
 * Every fallible function returns an int: NY_OK (0) on success or one of the
 * negative NY_E* codes below. When the caller passes a non-NULL ny_err, the
 * function also fills in a human-readable message (Chinese or English, no
 * trailing newline) and, for batch operations, the index of the element that
 * failed. Callers check every return value; they never parse the message. */
#ifndef NY_ERR_H
#define NY_ERR_H

#include <stddef.h>

enum {
    NY_OK = 0,
    NY_ERR = -1,       /* runtime failure (I/O, engine error, out of memory) */
    NY_EINVAL = -2,    /* bad input: malformed value, wrong level, bad UTF-8 */
    NY_ENOTFOUND = -3, /* a referenced object does not exist */
    NY_EEXIST = -4,    /* unique key already taken (duplicate code) */
    NY_ECONFLICT = -5, /* state does not allow the operation */
    NY_EVERSION = -6,  /* database schema is newer than this program */
    NY_EUNAVAIL = -7,  /* server unreachable / resource busy */
};

typedef struct ny_err {
    int code;       /* the NY_* code also returned by the function */
    long index;     /* failing element of a batch, or -1 */
    char msg[512];  /* what went wrong, for people */
} ny_err;

/* Resets *e (if not NULL) to "no error". */
void ny_err_clear(ny_err *e);

/* Records code and a printf-style message in *e (if not NULL); returns code so
 * callers can write `return ny_err_set(e, NY_EINVAL, "...")`. index is set to -1. */
int ny_err_set(ny_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As ny_err_set, and records the failing batch element. */
int ny_err_set_at(ny_err *e, int code, long index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A short English name of a code ("invalid input", "not found", ...). */
const char *ny_err_name(int code);

#endif
