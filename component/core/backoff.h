/* Exponential backoff with jitter, for reconnecting to the XMPP server and to
 * PostgreSQL.  Delays double from `base_ms` up to `cap_ms`; each one is drawn
 * from [d/2, d] so that many instances restarted together spread out. */
#ifndef MUCDESK_CORE_BACKOFF_H
#define MUCDESK_CORE_BACKOFF_H

#include <stdint.h>

struct backoff {
    uint32_t base_ms;
    uint32_t cap_ms;
    unsigned attempt;  /* failures since the last success */
    uint64_t rng;      /* per-instance state: no locking between threads */
};

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms);
/* The delay before the next attempt; counts one more failure. */
uint32_t backoff_next(struct backoff *b);
/* The ceiling of the current step (before jitter): 1 s, 2 s, ... cap. */
uint32_t backoff_step_ms(const struct backoff *b);
void backoff_reset(struct backoff *b);

#endif
