/* OpenSSL's RAND_bytes() for the fuzz targets: a seeded generator
 * (splitmix64) that the world reseeds for every input, so that session
 * ids, resume tokens and stanza ids are the same each time an input is
 * replayed.  Defined in the executable, it takes the place of libcrypto's
 * for every call from mucdesk's code. */
#include "build-config.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

#include "fake.h"

static uint64_t state = 0x6d75636465736bULL;

void fake_rand_seed(uint64_t seed)
{
    state = seed;
}

static uint64_t next(void)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int RAND_bytes(unsigned char *buf, int num)
{
    while (num > 0) {
        uint64_t v = next();
        int n = num < 8 ? num : 8;
        memcpy(buf, &v, (size_t)n);
        buf += n;
        num -= n;
    }
    return 1;
}
