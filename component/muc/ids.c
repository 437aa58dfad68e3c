#include "build-config.h"

#include "muc/room.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"

/* RFC 4648 base32 alphabet, lower case: ids are case-insensitive safe. */
static const char base32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char base64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The XEP-0421 key must survive restarts (ids are stable per user and
 * room) and must not be guessable (ids are pseudonymous).  The component
 * secret is both, so the key is derived from it; changing the secret
 * changes every occupant id, which the admin guide says. */
int muc_ids_init(struct muc *muc)
{
    static const char label[] = "mucdesk occupant-id v1";
    const char *secret = muc->cfg->component.secret;
    unsigned int len = sizeof muc->id_key;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
              (const unsigned char *)label, sizeof label - 1, muc->id_key,
              &len))
        return -1;

    /* Stanza ids: a random prefix per process, then a counter.  50 random
     * bits make a collision with an earlier run's ids negligible, which
     * the archive's unique stanza_id relies on. */
    unsigned char rnd[10];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        muc->sid_prefix[i] = base32[rnd[i] & 31];
    muc->sid_prefix[sizeof rnd] = '\0';
    muc->sid_counter = 0;
    return 0;
}

void muc_occupant_id_make(const struct muc *muc, const char *room_jid,
                          const char *bare_jid,
                          char out[MUC_OCCUPANT_ID_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    /* room JID, NUL, bare JID: no two pairs give the same input. */
    unsigned char msg[2 * (JID_TEXT_MAX + 1)];
    size_t r = strlen(room_jid), b = strlen(bare_jid);
    if (r + 1 + b > sizeof msg)
        b = sizeof msg - r - 1;
    memcpy(msg, room_jid, r);
    msg[r] = 0;
    memcpy(msg + r + 1, bare_jid, b);
    if (!HMAC(EVP_sha256(), muc->id_key, sizeof muc->id_key, msg, r + 1 + b,
              mac, &mac_len) ||
        mac_len < 12) {
        log_error("muc", "cannot compute an occupant id");
        memset(mac, 0, sizeof mac);
    }
    /* 12 bytes -> 16 base64url characters, no padding. */
    for (int i = 0, o = 0; i < 12; i += 3) {
        uint32_t v = (uint32_t)mac[i] << 16 | (uint32_t)mac[i + 1] << 8 |
                     mac[i + 2];
        out[o++] = base64url[(v >> 18) & 63];
        out[o++] = base64url[(v >> 12) & 63];
        out[o++] = base64url[(v >> 6) & 63];
        out[o++] = base64url[v & 63];
    }
    out[MUC_OCCUPANT_ID_LEN] = '\0';
}

void muc_stanza_id_make(struct muc *muc, char out[MUC_STANZA_ID_MAX])
{
    char digits[16];
    int n = 0;
    uint64_t v = ++muc->sid_counter;
    do {
        digits[n++] = base32[v & 31];
        v >>= 5;
    } while (v);
    /* Counter written most significant first, after the fixed-length
     * prefix, so ids of one run sort by length then by counter. */
    size_t p = strlen(muc->sid_prefix);
    memcpy(out, muc->sid_prefix, p);
    for (int i = 0; i < n; i++)
        out[p + (size_t)i] = digits[n - 1 - i];
    out[p + (size_t)n] = '\0';
}
