/* The desk's abuse limits (admin guide, "Abuse and limits"): what one
 * sender, or a burst of fresh anonymous senders, may cost.
 *
 *  - New tickets (a chat by form or by a plain message to a queue, a
 *    message left): at most [desk] jid_tickets_per_hour per bare JID
 *    (refused beyond: that sender's own doing; asking again for the chat
 *    one has counts too, since each answer is a new token and a ticket
 *    update), and the service-wide new_tickets_per_minute (refused
 *    beyond).
 *  - Per domain, the tickets nobody entered: a chat counts until its
 *    customer enters the room, a message left counts for good.  Real
 *    customers enter at once (the widget joins as soon as request-chat
 *    answers), so they give their share back; a script that never joins
 *    keeps it.  Beyond [desk] domain_tickets_per_minute a domain's new
 *    chats are still accepted but *held*: announced and offered only once
 *    their customer enters, so phantoms cost agents nothing while real
 *    customers of the same domain go through; messages left are refused.
 *    And at most domain_unjoined_max chats of one domain wait for their
 *    customer at once: a new one ends the domain's oldest (a real
 *    customer is long inside by then).
 *  - When a customer who is in the room gets no offer, the queue's other
 *    chats nobody entered are held too (their offers withdrawn): phantoms
 *    cannot keep agents from the customers who are there.
 *  - A chat whose customer never enters ends after [desk]
 *    unjoined_timeout: its announcement is withdrawn in the queue room,
 *    any offer withdrawn.
 *  - Ratings: jid_ratings_per_hour per bare JID, domain_ratings_per_minute
 *    per domain (refused beyond).
 *
 * Refusals are resource-constraint (type wait) with a text for the
 * customer, and a warning in the log at most every 10 s with their
 * count.  Everything runs on the XMPP thread. */
#ifndef MUCDESK_DESK_LIMITS_H
#define MUCDESK_DESK_LIMITS_H

#include <stdbool.h>

#include "xmpp/stanza.h"

struct desk;
struct desk_chat;

/* The tables ([desk] settings).  0, or -1 out of memory. */
int desk_limits_new(struct desk *d);
void desk_limits_free(struct desk *d);

/* May bare JID `bare` open a new ticket now?  chat: a chat (else a message
 * left).  0 (charged: *held says whether a chat is to be held), or -1
 * with *err set (nothing charged). */
int desk_limits_new_ticket(struct desk *d, const char *bare, bool chat,
                           bool *held, struct xerr *err);
/* bare asks again for the chat it has (a new token, a ticket update):
 * charged to its own budget only.  0, or -1 with *err. */
int desk_limits_request_again(struct desk *d, const char *bare,
                              struct xerr *err);
/* The ticket was not created after all: gives back what was charged
 * (held: the domain was not charged). */
void desk_limits_ticket_failed(struct desk *d, const char *bare, bool held);

/* A new chat (its ticket created, customer not in yet): counted against
 * its domain, ending the domain's oldest such chat at the cap; its
 * unjoined_timeout starts. */
void desk_limits_chat_created(struct desk_chat *c);
/* The customer entered for the first time: no longer counted; the
 * domain gets its share back; a held chat is announced and routed. */
void desk_limits_chat_entered(struct desk_chat *c);
/* The chat ended or is freed: whatever it held is let go. */
void desk_limits_chat_gone(struct desk_chat *c);
/* The chat leaves its queue (a requeue, the queue removed): no longer
 * among the queue's chats nobody entered. */
void desk_limits_chat_unqueued(struct desk_chat *c);
/* c's customer is in the room and no agent was offered it: every other
 * chat of its queue nobody has entered is held (its offer withdrawn), so
 * that phantom requests, announced before the domain went over budget,
 * cannot keep agents from a customer who is there; then routing runs. */
void desk_limits_customer_waits(struct desk_chat *c);

/* A rating from `bare`: 0, or -1 with *err when that JID or its domain
 * rated too often. */
int desk_limits_rating(struct desk *d, const char *bare, struct xerr *err);

/* The domain part of a bare JID (the JID itself for a domain JID). */
const char *desk_domain_of(const char *bare);

#endif
