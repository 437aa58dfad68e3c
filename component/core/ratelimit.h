/* A token bucket: at most `per_window` events per `window_ms`, in bursts
 * of up to `per_window`.  Eight bytes, no allocation (one per MUC
 * occupant); the caller passes the time, so that tests drive it.
 *
 * A zeroed bucket is new and starts full. */
#ifndef MUCDESK_CORE_RATELIMIT_H
#define MUCDESK_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rate_bucket {
    uint32_t at_ms;               /* last refill (a wrapping clock) */
    uint32_t credit;              /* in thousandths of an event */
};

/* Refills for the time since the last call and takes one event if there
 * is one: true, or false (nothing taken) when the rate is exceeded.
 * per_window: 1 to 4 000 000. */
bool rate_bucket_take(struct rate_bucket *b, uint32_t per_window,
                      uint32_t window_ms, uint32_t now_ms);
/* Gives one event back (it did not cost what it was charged for), up to
 * the burst.  A new bucket is full already. */
void rate_bucket_give(struct rate_bucket *b, uint32_t per_window);

#endif
