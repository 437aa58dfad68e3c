/* The webhook sender: delivers webhook_outbox rows (sql/011) to their
 * endpoints, off the event loop.
 *
 * One thread with its own database session and its own libcurl handle;
 * nothing of it runs on the XMPP thread but start, stop and the metrics'
 * reads.  The contract (doc/webhooks.md):
 *  - At least once: a row is marked delivered only after a 2xx answer;
 *    every attempt carries the same Idempotency-Key (the row's uuid).
 *  - In order per ticket: a ticket's next event is sent only once the one
 *    before it was delivered (or became a dead letter).
 *  - A receiver that fails (no answer, 5xx, 408, 429) is waited for as a
 *    whole, with backoff from [webhooks] retry_min to retry_max; one that
 *    refuses an event (another 4xx, 3xx) delays that ticket only.  An
 *    event refused [webhooks] max_attempts times is a dead letter (listed
 *    by webhook-dead, sent again by webhook-replay); a receiver that is
 *    down makes none, however long.
 *  - One sender per database: the session holds an advisory lock
 *    (WEBHOOK_LOCK_CLASS, WEBHOOK_LOCK_OBJECT; the triggers' per-ticket
 *    turns use class WEBHOOK_LOCK_CLASS + 1); another process finding it
 *    taken waits, so a second mucdesk on the same database never sends an
 *    event twice at once.
 *  - It wakes on NOTIFY mucdesk_webhooks (the triggers send it) and when
 *    the next retry is due. */
#ifndef MUCDESK_WEBHOOK_SENDER_H
#define MUCDESK_WEBHOOK_SENDER_H

#include <stdint.h>

/* pg_try_advisory_lock(int4, int4): a key space apart from [ha] lock_key's
 * single bigint. */
#define WEBHOOK_LOCK_CLASS 0x6d776873 /* "mwhs": 1836542067 */
#define WEBHOOK_LOCK_OBJECT 1

struct metrics;

struct webhook_sender_config {
    const char *conninfo;        /* copied */
    int connect_timeout_s;
    int timeout_s;               /* per POST */
    int retry_min_s, retry_max_s;
    int max_attempts;
    int keep_delivered_days;     /* 0: forever */
};

/* NULL if out of memory.  Call before any other thread uses libcurl. */
struct webhook_sender *webhook_sender_new(const struct webhook_sender_config *cfg);
/* Starts the thread.  0 or -1. */
int webhook_sender_start(struct webhook_sender *s);
/* Stops it: a POST under way is abandoned (not counted as an attempt; the
 * event is sent again by the next sender).  Safe if never started. */
void webhook_sender_stop(struct webhook_sender *s);
/* NULL is a no-op.  Stops it first. */
void webhook_sender_free(struct webhook_sender *s);

/* Registers the mucdesk_webhook_* families (read from the thread's
 * counters).  0 or -1. */
int webhook_sender_metrics(struct webhook_sender *s, struct metrics *m);

#endif
