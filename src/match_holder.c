/* match_holder.c - hot reload of the keyword matcher: the one place where
 * the current match_set (match.c) is published to the threads that triage
 * messages, and where an administrator's lexicon change replaces it without
 * stopping them.
 *
 * Readers announce themselves in active[epoch & 1] for the few instructions
 * between loading `cur` and taking their reference. A writer publishes the
 * new set, then twice flips the epoch and waits for the counter of the old
 * parity to drain: afterwards no reader can still be about to take a
 * reference to the old set, so the holder's reference can go; readers that
 * took one keep the old set until their match_release. New readers use the
 * other counter, so a writer never waits for them, and readers never wait at
 * all. */
#include "match.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <threads.h>

struct match_holder {
    _Atomic(match_set *) cur;
    atomic_uint epoch;
    atomic_long active[2];
    atomic_flag wlock; /* serialises writers (swaps are rare: a spin lock) */
};

int match_holder_new(match_set *m, match_holder **out, ny_err *e)
{
    ny_err_clear(e);
    match_holder *h = calloc(1, sizeof *h);
    if (!h) {
        match_release(m);
        *out = NULL;
        return ny_err_set(e, NY_ERR, "match_holder_new: out of memory");
    }
    atomic_init(&h->cur, m);
    atomic_init(&h->epoch, 0);
    atomic_init(&h->active[0], 0);
    atomic_init(&h->active[1], 0);
    atomic_flag_clear(&h->wlock);
    *out = h;
    return NY_OK;
}

match_set *match_holder_acquire(match_holder *h)
{
    unsigned ep = atomic_load(&h->epoch) & 1u;
    atomic_fetch_add(&h->active[ep], 1);
    match_set *m = atomic_load(&h->cur);
    match_retain(m);
    atomic_fetch_sub(&h->active[ep], 1);
    return m;
}

void match_holder_swap(match_holder *h, match_set *next)
{
    while (atomic_flag_test_and_set(&h->wlock))
        thrd_yield();
    match_set *old = atomic_exchange(&h->cur, next);
    for (int phase = 0; phase < 2; phase++) {
        unsigned ep = atomic_fetch_add(&h->epoch, 1) & 1u;
        while (atomic_load(&h->active[ep]) != 0)
            thrd_yield();
    }
    atomic_flag_clear(&h->wlock);
    match_release(old);
}

void match_holder_free(match_holder *h)
{
    if (!h)
        return;
    match_release(atomic_load(&h->cur));
    free(h);
}
