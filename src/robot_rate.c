/* robot_rate.c - outbound pacing: token buckets and the retry schedule (see robot.h).
 *
 * The outbox worker keeps one robot_rate per delivery target and asks it
 * before every send; when it says no, the item waits until the time it
 * returns. After a failed send the worker asks robot_retry_next for the
 * delay before the next attempt or for the dead-letter verdict. Times are
 * always passed in (milliseconds), so the behaviour is reproducible in tests
 * and across restarts. Bucket arithmetic is integral: a token is 60000
 * units and a bucket refilled at R tokens a minute gains exactly R units
 * per millisecond, so no rounding drift builds up. */
#include "robot.h"

/* Units per token: milliseconds per minute. */
#define UNITS 60000
/* Largest capacity and refill rate accepted. */
#define RATE_MAX 1000000u
/* Largest retry ceiling accepted: one day. */
#define RETRY_CAP_MAX 86400000

int robot_rate_init(robot_rate *r, uint32_t capacity, uint32_t per_minute, int64_t now_ms,
                    ny_err *e)
{
    if (capacity < 1 || capacity > RATE_MAX)
        return ny_err_set(e, NY_EINVAL, "rate capacity %u is outside 1..%u", capacity, RATE_MAX);
    if (per_minute < 1 || per_minute > RATE_MAX)
        return ny_err_set(e, NY_EINVAL, "rate refill %u per minute is outside 1..%u", per_minute,
                          RATE_MAX);
    r->cap = (int64_t)capacity * UNITS;
    r->units = r->cap;
    r->per_ms = per_minute;
    r->last_ms = now_ms;
    return NY_OK;
}

bool robot_rate_take(robot_rate *r, int64_t now_ms, int64_t *next_ms)
{
    if (now_ms > r->last_ms) {
        /* compare before multiplying: a long idle time must not overflow */
        if ((now_ms - r->last_ms) >= (r->cap - r->units) / r->per_ms + 1)
            r->units = r->cap;
        else
            r->units += (now_ms - r->last_ms) * r->per_ms;
        r->last_ms = now_ms;
    }
    if (r->units >= UNITS) {
        r->units -= UNITS;
        *next_ms = now_ms;
        return true;
    }
    int64_t need = UNITS - r->units;
    int64_t wait = need > 0 ? (need + r->per_ms - 1) / r->per_ms : 0;
    *next_ms = r->last_ms + wait;
    return false;
}

int robot_retry_init(robot_retry *p, int64_t base_ms, int64_t cap_ms, uint32_t max_attempts,
                     ny_err *e)
{
    if (base_ms < 1 || cap_ms < base_ms || cap_ms > RETRY_CAP_MAX)
        return ny_err_set(e, NY_EINVAL,
                          "retry delays must satisfy 1 <= base (%lld ms) <= cap (%lld ms) <= %d ms",
                          (long long)base_ms, (long long)cap_ms, RETRY_CAP_MAX);
    if (max_attempts < 1)
        return ny_err_set(e, NY_EINVAL, "retry attempts must be at least 1");
    p->base_ms = base_ms;
    p->cap_ms = cap_ms;
    p->max_attempts = max_attempts;
    return NY_OK;
}

int64_t robot_retry_ceiling(const robot_retry *p, uint32_t failures)
{
    if (failures == 0)
        return 0;
    int64_t c = p->base_ms;
    for (uint32_t i = 1; i < failures && c < p->cap_ms; i++)
        c *= 2; /* c < cap <= one day before doubling: no overflow */
    return c < p->cap_ms ? c : p->cap_ms;
}

bool robot_retry_next(const robot_retry *p, uint32_t failures, uint64_t rnd, int64_t *delay_ms)
{
    if (failures >= p->max_attempts) {
        *delay_ms = 0;
        return false;
    }
    int64_t ceiling = robot_retry_ceiling(p, failures);
    /* the top 53 bits of rnd as a fraction in [0, 1), scaled to [0, ceiling] */
    double u = (double)(rnd >> 11) * 0x1p-53;
    int64_t d = (int64_t)(u * (double)(ceiling + 1));
    *delay_ms = d > ceiling ? ceiling : d;
    return true;
}
