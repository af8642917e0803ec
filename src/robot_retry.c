/* robot_retry.c - the retry schedule of outbound delivery (see robot.h).
 *
 * After a failed send the outbox worker asks robot_retry_next for the delay
 * before the next attempt (exponential backoff with full jitter) or for the
 * dead-letter verdict. Times and the random value are passed in, so the
 * schedule is reproducible in tests. (The per-target minute limit is kept
 * in the store, shared by every node: store_outbox_rate_take.) */
#include "robot.h"

/* Largest retry ceiling accepted: one day. */
#define RETRY_CAP_MAX 86400000

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
