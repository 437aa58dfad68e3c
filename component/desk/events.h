/* The desk's event bus: what happened to a chat or an agent, told to
 * whoever subscribed, so that the file where it happens (chat.c) knows
 * nothing of what follows (offers withdrawn, metrics, plugins, mail,
 * routing again; webhooks next).
 *
 * Subscribers register at start-up (desk_new), each for one kind, with a
 * priority: lower runs first, equal ones in the order they subscribed.
 * An event is emitted after the change it names (the chat's state and
 * ticket already say so); what was true before travels in the event.
 * Everything on the XMPP thread; a subscriber may emit another event (it
 * is delivered at once, nested), never subscribe. */
#ifndef MUCDESK_DESK_EVENTS_H
#define MUCDESK_DESK_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/tickets.h"

struct desk;
struct desk_chat;
struct desk_queue;
struct desk_staff;

enum desk_event_kind {
    DESK_EV_REQUESTED,            /* a new chat (waiting, or held) */
    DESK_EV_OFFERED,              /* offered to an agent (invited) */
    DESK_EV_DECLINED,             /* the offered agent declined */
    DESK_EV_ACCEPTED,             /* an agent took it (or took it over) */
    DESK_EV_REQUEUED,             /* back to waiting, maybe elsewhere */
    DESK_EV_ENDED,                /* over for the customer */
    DESK_EV_RATED,                /* the customer's rating, by any path */
    DESK_EV_AGENT_STATE,          /* an agent became busy or available */
    DESK_EV_CHAT_GONE,            /* its memory is about to be freed */
    DESK_EV_COUNT
};

/* Named priorities: the desk's own bookkeeping first, then those who
 * tell the outside, then routing, which acts on everything before it. */
enum desk_event_priority {
    DESK_PRIO_STATE = 100,        /* offers withdrawn, counters */
    DESK_PRIO_NOTIFY = 200,       /* plugins, mail, (webhooks) */
    DESK_PRIO_ROUTE = 300,        /* positions pushed, routing run */
};

/* One struct per kind; the chat (NULL for agent-state) and actor (bare
 * JID, NULL: nobody, e.g. a timer) are in struct desk_event. */
struct desk_ev_requested {
    struct desk_queue *queue;
    bool held;                    /* not routed until the customer enters */
};
struct desk_ev_offered {
    const char *agent;            /* bare JID */
};
struct desk_ev_declined {
    const char *agent;
};
struct desk_ev_accepted {
    struct desk_queue *queue;     /* it waited in, or its own; maybe NULL */
    const char *agent;
    bool transfer;                /* it was active: taken over */
    bool waited;                  /* it was waiting: waited_ms is set */
    uint64_t waited_ms;
};
struct desk_ev_requeued {
    struct desk_queue *queue;     /* where it waits now */
    struct desk_queue *from;      /* where it was (maybe NULL or queue) */
    bool moved;                   /* to another queue */
};
struct desk_ev_ended {
    struct desk_queue *queue;     /* it waited in, or its own; maybe NULL */
    enum ticket_status status;    /* the ticket's final status */
    int was;                      /* enum desk_chat_state before the end */
};
struct desk_ev_rated {
    int rating;                   /* 1 to 5 */
};
struct desk_ev_agent_state {
    struct desk_staff *staff;
    bool busy;
};

struct desk_event {
    enum desk_event_kind kind;
    struct desk_chat *chat;
    const char *actor;
    union {
        struct desk_ev_requested requested;
        struct desk_ev_offered offered;
        struct desk_ev_declined declined;
        struct desk_ev_accepted accepted;
        struct desk_ev_requeued requeued;
        struct desk_ev_ended ended;
        struct desk_ev_rated rated;
        struct desk_ev_agent_state agent_state;
    };
};

typedef void (*desk_event_fn)(void *ctx, const struct desk_event *ev);

struct desk_events;

/* The bus (owned by the desk: desk_events_free).  NULL if out of memory. */
struct desk_events *desk_events_new(void);
void desk_events_free(struct desk_events *bus);
/* fn(ctx, ev) for every event of `kind`, in priority order.  0, or -1 if
 * out of memory. */
int desk_events_subscribe(struct desk *d, enum desk_event_kind kind,
                          int priority, desk_event_fn fn, void *ctx);
/* Tells every subscriber of ev->kind, in order. */
void desk_events_emit(struct desk *d, const struct desk_event *ev);
/* The name used in logs and the plugin ABI ("ended"). */
const char *desk_event_name(enum desk_event_kind kind);

#endif
