#include "build-config.h"

#include "core/backoff.h"

#include <sys/random.h>
#include <time.h>

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms)
{
    b->base_ms = base_ms ? base_ms : 1;
    b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
    b->attempt = 0;
    if (getrandom(&b->rng, sizeof b->rng, GRND_NONBLOCK) != sizeof b->rng)
        b->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)b;
    b->rng |= 1; /* xorshift must not start at zero */
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

uint32_t backoff_step_ms(const struct backoff *b)
{
    uint64_t d = b->base_ms;
    for (unsigned i = 0; i < b->attempt && d < b->cap_ms; i++)
        d *= 2;
    return d > b->cap_ms ? b->cap_ms : (uint32_t)d;
}

uint32_t backoff_next(struct backoff *b)
{
    uint32_t step = backoff_step_ms(b);
    if (b->attempt < 64)
        b->attempt++;
    uint32_t half = step / 2;
    return half + (uint32_t)(xorshift64(&b->rng) % (uint64_t)(step - half + 1));
}

void backoff_reset(struct backoff *b)
{
    b->attempt = 0;
}
