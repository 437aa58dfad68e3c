/* One webhook POST with libcurl (blocking: the sender's thread only). */
#ifndef MUCDESK_WEBHOOK_POST_H
#define MUCDESK_WEBHOOK_POST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum webhook_outcome {
    WEBHOOK_DELIVERED,      /* 2xx */
    WEBHOOK_REFUSED,        /* the receiver answered no to this event */
    WEBHOOK_RECEIVER_DOWN,  /* no answer, 5xx, 408, 429 */
    WEBHOOK_ABORTED,        /* we are stopping: not an attempt */
};

struct webhook_result {
    enum webhook_outcome outcome;
    long status;            /* HTTP status, 0: none */
    char error[300];        /* one line, UTF-8; "" when delivered */
};

struct webhook_request {
    const char *url;
    const char *type;         /* X-Mucdesk-Event */
    const char *delivery_id;  /* X-Mucdesk-Delivery, Idempotency-Key */
    const char *secret;       /* signs it */
    const char *body;
    size_t body_len;
};

struct webhook_http;

/* A libcurl handle (reused: connections are kept alive).  stop: when it
 * turns true a transfer under way is abandoned.  NULL if out of memory. */
struct webhook_http *webhook_http_new(int timeout_s, const atomic_bool *stop);
void webhook_http_free(struct webhook_http *h);

void webhook_post(struct webhook_http *h, const struct webhook_request *req,
                  struct webhook_result *out);

#endif
