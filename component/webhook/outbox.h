/* The sender's SQL on webhook_outbox and webhook_endpoints (sql/011):
 * which events are due, what became of an attempt, what is waiting.  Plain
 * libpq on the sender's own session; every function returns 0 or -1 with
 * the reason in err. */
#ifndef MUCDESK_WEBHOOK_OUTBOX_H
#define MUCDESK_WEBHOOK_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "webhook/payload.h"

/* Events due now, oldest first: of every ticket, the oldest pending one,
 * for endpoints not paused and not waiting out a failure. */
struct outbox_due {
    PGresult *res;               /* owns the strings below */
    int count;
};

/* One due event (strings borrowed from the outbox_due). */
struct outbox_event {
    struct webhook_event_row row;
    int attempts;                /* made before this one */
    int endpoint;
    const char *url;
    const char *secret;
};

int outbox_due_read(PGconn *conn, int limit, struct outbox_due *out,
                    char *err, size_t errlen);
void outbox_due_get(const struct outbox_due *due, int i, struct outbox_event *ev);
void outbox_due_clear(struct outbox_due *due);

struct outbox_backoff {
    int min_s, max_s;            /* min * 2^(n-1), at most max */
    int max_attempts;            /* refusals; then: a dead letter */
};

/* A 2xx answer: the event is delivered, its endpoint well. */
int outbox_delivered(PGconn *conn, int64_t id, long status, char *err,
                     size_t errlen);
/* Any other outcome.  receiver_down: the endpoint as a whole waits (no
 * answer, 5xx, 408, 429); else (a refusal) only this ticket's events
 * wait.  *dead: the event has been refused max_attempts times and is a
 * dead letter now (a receiver that is down never makes one). */
int outbox_failed(PGconn *conn, int64_t id, long status, const char *error,
                  bool receiver_down, const struct outbox_backoff *b,
                  bool *dead, char *err, size_t errlen);

/* Milliseconds until the next event is due (0: now), or -1 if nothing is
 * pending for an endpoint that is not paused. */
int outbox_next_due_ms(PGconn *conn, long *ms, char *err, size_t errlen);

struct outbox_counts {
    uint64_t pending, dead;
    uint64_t oldest_pending_s;   /* 0: none pending */
};
int outbox_count(PGconn *conn, struct outbox_counts *out, char *err,
                 size_t errlen);

/* Deletes delivered events older than keep_days (0: keeps them).
 * *deleted: how many. */
int outbox_expire(PGconn *conn, int keep_days, long *deleted, char *err,
                  size_t errlen);

#endif
