/* Routing (routing.c): which agent is offered which waiting chat,
 * incrementally; no MUC calls. */
#ifndef MUCDESK_DESK_ROUTING_H
#define MUCDESK_DESK_ROUTING_H

#include <stdbool.h>
#include <stdint.h>

struct desk;
struct desk_chat;
struct desk_member;
struct desk_queue;
struct desk_staff;

/* The waiting list: c goes to the back of q's (or the front: it waited
 * already), out of any other; and out. */
void desk_wait_add(struct desk_queue *q, struct desk_chat *c, bool front);
void desk_wait_remove(struct desk_chat *c);
/* Tell routing what changed; desk_route_pending() then acts on it.
 *  - member_shown: m's first occupant in the queue room is (not) there
 *    with no <show/> or chat (queue.c counts m->occupants);
 *  - staff_changed: busy, active, offer or (fields) a candidate field
 *    (active chats, idle since) of s changed;
 *  - chat_changed: c's room appeared or went;
 *  - chat_occupant: `bare` entered (in) or left one occupant of c's room;
 *  - offer_started/ended: the bookkeeping of desk_offer_make/withdraw
 *    (c->offered_to, s->offer, last_offer_ms; a decline skip until
 *    skip_until_ms, 0 for none). */
void desk_routing_member_shown(struct desk_member *m, bool shown);
void desk_routing_staff_changed(struct desk *d, struct desk_staff *s,
                                bool fields);
void desk_routing_chat_changed(struct desk_chat *c);
int desk_routing_chat_occupant(struct desk_chat *c, const char *bare, bool in);
int desk_routing_offer_started(struct desk_chat *c, struct desk_staff *s,
                               const char *jid);
void desk_routing_offer_ended(struct desk_chat *c, struct desk_staff *s,
                              uint64_t skip_until_ms);
/* Forgets the skips that ended; when the first pending one ends (0: none). */
void desk_routing_skips_expired(struct desk_chat *c);
uint64_t desk_routing_next_skip(const struct desk_chat *c);
/* Offers what the changes since the last run allow (through
 * d->route_offer); O(what changed), see routing.c. */
void desk_routing_run(struct desk *d);
/* Recomputes everything from the members (their `shown` and `staff` set)
 * and the waiting lists, then runs the full pass over every waiting chat. */
void desk_routing_rebuild(struct desk *d);
void desk_routing_queue_free(struct desk_queue *q);
void desk_routing_staff_free(struct desk_staff *s);

#endif
