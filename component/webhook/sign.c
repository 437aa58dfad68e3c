#include "build-config.h"

#include "webhook/sign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int webhook_sign(const char *secret, int64_t timestamp, const char *body,
                 size_t body_len, char out[WEBHOOK_SIGNATURE_SIZE])
{
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "%" PRId64 ".", timestamp);
    if (n < 0 || (size_t)n >= sizeof prefix)
        return -1;

    /* One buffer for the one-shot HMAC() (HMAC_CTX is deprecated in
     * OpenSSL 3, EVP_MAC absent from 1.1). */
    char *msg = malloc((size_t)n + body_len);
    if (!msg)
        return -1;
    memcpy(msg, prefix, (size_t)n);
    memcpy(msg + n, body, body_len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    unsigned char *done = HMAC(EVP_sha256(), secret, (int)strlen(secret),
                               (const unsigned char *)msg, (size_t)n + body_len,
                               mac, &mac_len);
    free(msg);
    if (!done || mac_len != 32)
        return -1;

    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[7 + 2 * i + 1] = hex[mac[i] & 15];
    }
    out[WEBHOOK_SIGNATURE_SIZE - 1] = '\0';
    return 0;
}
