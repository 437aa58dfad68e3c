/* Chats: one ticket, one session room (chat.c: the lifecycle). */
#ifndef MUCDESK_DESK_CHAT_H
#define MUCDESK_DESK_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "core/budget.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "store/tickets.h"
#include "xmpp/stanza.h"

#define DESK_ROOM_PREFIX "ticket-"
#define DESK_TOKEN_BYTES 20   /* 160 bits */

struct buf;
struct desk;
struct desk_queue;
struct loop_timer;
struct muc_occupant;
struct muc_room;
struct muc_room_hooks;
struct desk_route_class;

enum desk_chat_state {
    DESK_CHAT_WAITING,            /* QUEUED, in its queue's waiting list */
    DESK_CHAT_ACTIVE,             /* an agent owns it and talks */
    DESK_CHAT_ENDED,              /* over for the customer; room kept */
};

struct desk_name {
    char *jid;
    uint64_t until_ms;            /* declines: skipped until then */
    struct desk_name *next;
};

struct desk_chat {
    struct desk *desk;
    int64_t id;
    char room_name[40];
    struct muc_room *room;
    enum desk_chat_state state;
    /* the ticket row */
    char *queue;
    enum ticket_status status;
    char *subject;
    char *customer_jid;
    char *customer_name;
    char *customer_email;
    char *owner_jid;
    bool owner_counted;           /* counted in the owner's active chats */
    int priority;
    int64_t created_us, accepted_us, ended_us;
    int rating;
    char *rating_comment;
    bool has_token;
    uint8_t token_hash[TICKET_TOKEN_HASH_SIZE];
    char *details;                /* JSON: question, page, browser... */
    char *details_told;           /* the session details as recorded in the
                                     room (NULL: not in this process) */
    struct muc_said details_said; /* that record, told again on entering */
    char *question;
    char *skills;                 /* required, comma-separated */
    /* who may enter as the customer (bare JIDs) */
    struct desk_name *customers;
    /* routing */
    char *offered_to;
    struct loop_timer *offer_timer;
    struct desk_name *declines;   /* decline skips (some maybe ended) */
    struct loop_timer *skip_timer; /* the first skip's end */
    struct desk_name *in_room;    /* one per occupant of its room (bare) */
    int64_t order;                /* its place in waiting_in's list */
    char *route_key;              /* its class (routing.c) */
    struct desk_route_class *rclass; /* while routable: in its heap */
    size_t heap_index;
    bool dirty;                   /* in waiting_in's dirty_chats */
    struct desk_chat *dprev, *dnext;
    struct desk_chat *aprev, *anext; /* waiting_in's age list */
    uint64_t enqueued_ms;
    bool no_agents_told;
    /* Abuse limits (admin guide, "Abuse and limits"): a chat whose
     * customer has not entered yet counts against its domain (and ends
     * after [desk] unjoined_timeout); one accepted while the domain was
     * over its budget is held: announced and offered only once the
     * customer enters. */
    bool joined_once;             /* the customer has entered the room */
    bool held;                    /* not routable (routing.c) meanwhile */
    struct desk_chat *uprev, *unext; /* in unentered_q->unentered_head */
    struct desk_queue *unentered_q;
    bool charged_domain;          /* given back when the customer enters */
    struct budget_holder unjoined; /* in d->tickets_by_domain */
    struct loop_timer *unjoined_timer;
    int reannounced;              /* re-announcements so far */
    bool customer_present;
    bool customer_left_explicitly;
    bool responded;               /* an agent wrote (desk_count_message) */
    bool replacing_customer;      /* resume-chat removes a stale session */
    struct loop_timer *grace_timer;
    struct loop_timer *maxwait_timer;
    struct loop_timer *announce_timer;
    struct loop_timer *expire_timer;
    struct loop_timer *rejoin_timer; /* after a restart: people come back */
    int last_position, last_wait;
    uint64_t last_status_ms;
    /* chat time */
    int chat_seconds;             /* accumulated while not running */
    bool clock_running;
    uint64_t clock_since_ms;
    /* the answer clock (juggling.c) */
    int64_t unanswered_us;        /* the customer's oldest message since
                                     staff last wrote; 0: none waiting */
    int64_t last_message_us;      /* anyone's last message; 0: none yet */
    bool reminded;                /* the reminder for unanswered_us is out */
    /* supervisors who asked to observe (join invisibly) */
    struct desk_name *observers;
    struct desk_chat *wprev, *wnext;
    struct desk_queue *waiting_in; /* the list it is in, or NULL */
    UT_hash_handle hh;
    UT_hash_handle hh_token;      /* d->by_token, key token_hash */
    bool token_indexed;
};

struct json_object;

struct desk_request {
    const char *customer_full;    /* the requesting JID */
    const char *name;
    const char *email;
    const char *question;
    const char *page;
    const char *browser;
    const char *skills;
    const char *nick;
    struct json_object *extra;    /* more details (pre-chat answers,
                                     desk/details.h), or NULL */
};

/* ---- chat.c: the lifecycle (emits events.h's events) ---------------------- */

/* Creates the ticket and its room, or returns the customer's open chat in
 * this queue (*existing set).  *token_out gets a new token (hex) for a new
 * chat, "" for an existing one.  0, or -1 with *err. */
int desk_chat_request(struct desk_queue *q, const struct desk_request *r,
                      struct desk_chat **out, bool *existing,
                      char *token_out, size_t token_size, struct xerr *err);
/* A ticket without a live chat (a message left while no agent is there). */
int desk_chat_leave_message(struct desk_queue *q, const struct desk_request *r,
                            int64_t *ticket_out, struct xerr *err);
void desk_chat_free(struct desk_chat *c);
/* The ticket's subject (cut at DESK_SUBJECT_MAX bytes on a character
 * boundary), saved; the room's subject is the caller's. */
#define DESK_SUBJECT_MAX 300
void desk_chat_set_ticket_subject(struct desk_chat *c, const char *subject);
void desk_chat_save(struct desk_chat *c);
void desk_chat_event(struct desk_chat *c, enum archive_kind kind,
                     const char *actor_jid, const char *actor_nick,
                     const char *body, bool staff_only);
void desk_chat_accept(struct desk_chat *c, const char *agent,
                      const char *nick);
/* Back to waiting in `q` (requeue, forward to a queue, last agent gone). */
void desk_chat_requeue(struct desk_chat *c, struct desk_queue *q,
                       const char *actor, const char *why);
/* Ends the chat for the customer with the ticket's final status. */
void desk_chat_end(struct desk_chat *c, enum ticket_status status,
                   const char *actor, const char *note, const char *text);
/* Ends a chat nobody entered (limits.c): its announcement withdrawn in the
 * queue room, its offer withdrawn, the ticket RESOLVED with `why` as a
 * staff note. */
void desk_chat_withdraw(struct desk_chat *c, const char *why);
int desk_chat_seconds(const struct desk_chat *c);
/* The customer's rating (1 to 5, comment NULL: none): on the ticket, and a
 * rating event.  0, or -1 for a rating out of range. */
int desk_chat_rate(struct desk_chat *c, int rating, const char *comment,
                   const char *actor);
void desk_chat_clock(struct desk_chat *c, bool run);
void desk_chat_details_text(const struct desk_chat *c, struct buf *out);
/* For the other chat files: a zeroed chat of d (NULL if out of memory);
 * its session room created with desk_session_hooks (0 or -1); its
 * subject; the re-announcement and maximum-wait timers of a chat waiting
 * in q; the agents told of a new chat in q; the owner's slot freed (the
 * owner stays); freed after ms (the closed room's expiry). */
struct desk_chat *desk_chat_alloc(struct desk *d);
int desk_chat_open_room(struct desk_chat *c);
void desk_chat_set_subject(struct desk_chat *c);
void desk_chat_start_waiting(struct desk_chat *c, struct desk_queue *q);
void desk_chat_announce_new(struct desk_chat *c, struct desk_queue *q);
void desk_chat_owner_release(struct desk_chat *c);
void desk_chat_expire_in(struct desk_chat *c, uint64_t ms);
/* Staff who take part (visible, privileged) in the chat's room. */
bool desk_chat_has_staff(const struct desk_chat *c);
/* Re-evaluates every occupant's staff rights in the chat's room (after a
 * directory change or a move to another queue). */
void desk_chat_review_staff(struct desk_chat *c);

/* ---- chat_customers.c: customers, the index by customer, name lists ------- */

bool desk_chat_is_customer(const struct desk_chat *c, const char *bare);
/* Whether o is the chat's customer (not staff, one of its customers'
 * JIDs: staff who lost their rights are neither); the first such occupant
 * of its room, or NULL. */
bool desk_chat_customer_is(const struct desk_chat *c,
                           const struct muc_occupant *o);
struct muc_occupant *desk_chat_customer_occupant(const struct desk_chat *c);
/* Adds bare to the chat's customers and the index (and, with a room, its
 * members).  0 or -1. */
int desk_chat_add_customer(struct desk_chat *c, const char *bare);
/* The same without the room.  0 or -1. */
int desk_chat_customer_add(struct desk_chat *c, const char *bare);
/* Takes the chat out of the index (before it is freed). */
void desk_chat_customers_forget(struct desk_chat *c);
/* The customer's chat in `queue` that has not ended, or NULL. */
struct desk_chat *desk_chat_open_of(struct desk *d, const char *queue,
                                    const char *bare);
/* Lists of bare JIDs: add (1 added, 0 there already, -1 out of memory),
 * take out (whether it was there), free. */
int desk_names_add(struct desk_name **list, const char *jid);
bool desk_names_take(struct desk_name **list, const char *jid);
void desk_names_free(struct desk_name *n);

/* ---- chat_tokens.c: resume tokens --------------------------------------- */

/* A new token (hex, size >= 2 * DESK_TOKEN_BYTES + 1) and its hash.  0 or
 * -1. */
int desk_chat_token_new(char *out, size_t size,
                        uint8_t hash[TICKET_TOKEN_HASH_SIZE]);
/* In d->by_token (on) or out of it. */
void desk_chat_token_index(struct desk_chat *c, bool on);
/* The chat whose token hashes to `hash` (constant-time compares). */
struct desk_chat *desk_chat_by_token(struct desk *d, const char *token);
bool desk_chat_token_matches(const struct desk_chat *c, const char *token);

/* ---- chat_restore.c: open tickets at start-up ----------------------------- */

/* The chat of a ticket from before the start, or NULL (nothing to
 * restore, or it could not be). */
struct desk_chat *desk_chat_restore(struct desk *d,
                                    const struct store_ticket *t);

/* ---- session.c: the session room's hooks ---------------------------------- */

extern const struct muc_room_hooks desk_session_hooks;

#endif
