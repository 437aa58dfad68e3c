/* Token bucket (ratelimit.h).  Credit is kept in thousandths of an event so
 * that slow rates (a few a minute) refill with integer maths, and the
 * clock advances only by the time the credit given stands for: frequent
 * calls (a flood) lose no refill to rounding. */
#include "build-config.h"

#include "core/ratelimit.h"

bool rate_bucket_take(struct rate_bucket *b, uint32_t per_window,
                      uint32_t window_ms, uint32_t now_ms)
{
    uint64_t per_window_milli = (uint64_t)per_window * 1000u;
    uint64_t cap = per_window_milli;
    if (b->at_ms == 0 && b->credit == 0) {
        b->credit = (uint32_t)cap; /* new: starts full */
        b->at_ms = now_ms;
    } else if (window_ms == 0) {
        b->credit = (uint32_t)cap;
        b->at_ms = now_ms;
    } else {
        uint32_t elapsed = now_ms - b->at_ms; /* wraps correctly */
        if (elapsed == UINT32_MAX)
            elapsed = 0; /* at_ms was nudged from 0 to 1 (below) */
        uint64_t refill = (uint64_t)elapsed * per_window_milli / window_ms;
        uint64_t credit = b->credit + refill;
        if (credit >= cap) {
            b->credit = (uint32_t)cap;
            b->at_ms = now_ms;
        } else {
            b->credit = (uint32_t)credit;
            /* The rest of `elapsed` counts towards the next refill. */
            b->at_ms += (uint32_t)(refill * window_ms / per_window_milli);
        }
    }
    /* 0 with no credit would read as "new" on the next call. */
    if (b->at_ms == 0)
        b->at_ms = 1;
    if (b->credit < 1000u)
        return false;
    b->credit -= 1000u;
    return true;
}

void rate_bucket_give(struct rate_bucket *b, uint32_t per_window)
{
    if (b->at_ms == 0 && b->credit == 0)
        return; /* new: full */
    uint64_t cap = (uint64_t)per_window * 1000u;
    uint64_t credit = (uint64_t)b->credit + 1000u;
    b->credit = (uint32_t)(credit > cap ? cap : credit);
}
