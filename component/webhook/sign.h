/* The X-Mucdesk-Signature header: HMAC-SHA256, keyed with the endpoint's
 * secret, over "TIMESTAMP.BODY" (TIMESTAMP is the X-Mucdesk-Timestamp
 * header, Unix seconds), written "sha256=" and 64 lowercase hex digits.
 * Signing the timestamp with the body lets a receiver refuse a replayed
 * request (doc/webhooks.md shows the check). */
#ifndef MUCDESK_WEBHOOK_SIGN_H
#define MUCDESK_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* "sha256=" + 64 hex digits + NUL */
#define WEBHOOK_SIGNATURE_SIZE (7 + 64 + 1)

/* Writes the header's value into out.  0, or -1 if OpenSSL failed. */
int webhook_sign(const char *secret, int64_t timestamp, const char *body,
                 size_t body_len, char out[WEBHOOK_SIGNATURE_SIZE]);

#endif
