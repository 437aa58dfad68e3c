/* The body of a webhook POST (doc/webhooks.md): the envelope (id, type,
 * sequence, created_at) and what the trigger stored for the event (ticket,
 * and message, changes, previous_* as the event has them), as one JSON
 * object, written with json-c. */
#ifndef MUCDESK_WEBHOOK_PAYLOAD_H
#define MUCDESK_WEBHOOK_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* One webhook_outbox row, as the sender reads it (strings borrowed). */
struct webhook_event_row {
    int64_t sequence;           /* webhook_outbox.id: the delivery order */
    const char *delivery_id;    /* uuid, also the Idempotency-Key */
    const char *type;           /* "ticket.ended", "webhook.test", ... */
    const char *created_at;     /* ISO 8601, UTC */
    const char *data;           /* webhook_outbox.data: a JSON object */
};

/* The body (malloc'd, NUL-terminated, its length in *len), or NULL if
 * data is not a JSON object or memory ran out. */
char *webhook_payload(const struct webhook_event_row *row, size_t *len);

#endif
