/* demo.h - the deterministic demo district.
 *
 * Fills an empty database with a complete, plausible 羊山新区: the unit tree
 * (district, streets and townships, communities and villages, grids), staff
 * accounts for every level and department, 820 resident and 31 enterprise
 * chat groups, about 130,000 households and 2,300 enterprises and, on
 * request, a year of chat messages with the leads, cases and case logs they
 * give rise to. Everything follows from the seed alone: the same seed gives
 * the same database (the same store_digest) on any engine, run after run.
 *
 * The unit tree and the staff accounts are the same for every seed, so the
 * demo logins are fixed: admin; district1..district3; dept-zhujian,
 * dept-huanbao, dept-jiaotong, dept-jiaoti, dept-renshe, dept-shangwu,
 * dept-weijian; streetNN and streetNNb (NN = the street's 2-digit number,
 * 01..07); comm<community code> and, where a community has a second
 * officer, comm<community code>b; gw<grid code> for each grid worker.
 *
 * One account per role can log in: demo_logins[] lists them, and
 * demo_generate gives each the password DEMO_PASSWORD (argon2id-hashed with
 * a random salt, so credentials are outside the determinism promise; the
 * digest does not read them). The other accounts have no password. */
#ifndef NY_DEMO_H
#define NY_DEMO_H

#include <stdint.h>

#include "auth.h"
#include "err.h"
#include "store.h"

/* The most messages demo_generate accepts. */
#define DEMO_MAX_MESSAGES 100000000L

typedef struct demo_opts {
    uint64_t seed; /* any value; 0 is as good as any other */
    long messages; /* chat messages to generate, 0 = none, at most DEMO_MAX_MESSAGES */
    /* Called (when not NULL) as each stage starts, periodically during the
     * big stages and when each stage ends (done == total). Stages, in order:
     * "units", "staff", "households", "enterprises", "groups", "messages". */
    void (*progress)(void *ctx, const char *stage, long done, long total);
    void *progress_ctx;
    /* argon2id costs of the demo passwords (NULL = auth's defaults). */
    const auth_params *auth;
} demo_opts;

/* The password of the demo logins: for the demo district only. */
#define DEMO_PASSWORD "yangshan2026"

/* The demo logins, one per role: admin, district, street, community,
 * grid_worker, department, in that order. */
typedef struct demo_login {
    const char *role;
    const char *account;
    const char *unit; /* the unit whose subtree the account sees */
} demo_login;

#define DEMO_LOGINS 6
extern const demo_login demo_logins[DEMO_LOGINS];

/* Writes the demo district into s, all in one transaction: on any failure
 * the transaction is rolled back and the database is left as it was. A
 * database that already has units is refused with NY_EEXIST, an
 * out-of-range option with NY_EINVAL; storage errors are passed on. s must
 * not be inside a transaction of the caller's. */
int demo_generate(store *s, const demo_opts *o, ny_err *e);

#endif
