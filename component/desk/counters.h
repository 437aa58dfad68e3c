/* The desk's counts for the metrics: plain increments and histogram
 * observations on the XMPP thread, at the few places where a chat or an
 * offer changes (chat.c, queue.c).  desk/metrics.c exposes them with the
 * gauges it reads from the live state at scrape time. */
#ifndef MUCDESK_DESK_COUNTERS_H
#define MUCDESK_DESK_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/metrics.h"
#include "store/tickets.h"

/* How a chat ended (mucdesk_chats_ended_total{outcome}). */
enum desk_outcome {
    DESK_OUTCOME_RESOLVED,     /* an agent's chat ended RESOLVED */
    DESK_OUTCOME_INPROGRESS,   /* an agent's chat ended, the ticket open */
    DESK_OUTCOME_QUEUED,       /* ended QUEUED: requeued after the chat, or
                                  a message left while waiting */
    DESK_OUTCOME_ABANDONED,    /* the customer left while waiting */
    DESK_OUTCOME_COUNT
};

struct desk_counters {
    uint64_t chats_created;
    uint64_t chats_requeued;
    uint64_t chats_ended[DESK_OUTCOME_COUNT];
    uint64_t offers_made;
    uint64_t offers_declined;
    uint64_t offers_expired;
    uint64_t tickets_refused;            /* [desk] new_tickets_per_minute */
    uint64_t sender_refused;             /* per-sender budgets (limits.c) */
    uint64_t started_us;                 /* chats older are not timed */
    struct metrics_histogram wait;       /* a wait until accepted, seconds */
    struct metrics_histogram first_response; /* request -> first agent
                                                message, seconds */
};

struct desk;
struct desk_chat;
struct muc_occupant;

void desk_counters_init(struct desk_counters *st, uint64_t now_us);
/* Subscribes the counts to the desk's events (events.h): chats created,
 * requeued and ended, offers made and declined, the waits until accepted.
 * 0 or -1. */
int desk_metrics_subscribe(struct desk *d);
/* A groupchat message from `from` is going out in c's room: the first
 * one by an agent times the first response. */
void desk_count_message(struct desk_chat *c, const struct muc_occupant *from);

#endif
