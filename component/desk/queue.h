/* Queues, their members and the staff's live state; queue.c: availability,
 * announcements, offers, routing after a change; queue_room.c: the queue
 * rooms. */
#ifndef MUCDESK_DESK_QUEUE_H
#define MUCDESK_DESK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "desk/authz.h"
#include "desk/text.h"

struct desk;
struct desk_chat;
struct desk_hours;
struct desk_plugin_ref;
struct desk_prechat;
struct muc_occupant;
struct muc_room;
struct tz;

/* One agent's membership of a queue (the agents table). */
struct desk_member {
    char *jid;
    enum desk_role role;          /* AGENT or SUPERVISOR */
    int max_chats;
    bool takes_chats;             /* offered chats (agents.takes_chats) */
    char **skills;
    size_t skill_count;
    UT_hash_handle hh;            /* the queue's member_index, by jid */
    /* routing (routing.c); set up by desk_routing_rebuild() */
    struct desk_queue *queue;
    struct desk_staff *staff;     /* never NULL once rebuilt (or no routing) */
    size_t index;                 /* in the queue's membership order */
    int occupants;                /* queue room occupants with this bare JID */
    bool shown;                   /* the first of them: no <show/> or chat */
    bool available;               /* takes chats, shown, not busy, below
                                   * max_chats */
    bool eligible;                /* available and holding no offer */
    bool excluded;                /* scratch: left out of one request */
    bool dirty;                   /* in the queue's dirty_members */
    struct desk_member *dirty_next;
};

/* Routable waiting chats of a queue that need the same skills (as far as
 * the queue's members have them: see routing.c), in queue order. */
struct desk_route_class {
    char *key;
    struct desk_chat **heap;      /* a binary min-heap by desk_chat.order */
    size_t len, cap;
    bool rejected;                /* scratch of a full pass */
    UT_hash_handle hh;
};

/* A skill some member of a queue has (routing.c). */
struct desk_skill {
    char *name;
    UT_hash_handle hh;
};

struct desk_queue {
    struct desk *desk;
    char *name;
    char *title;
    char *strategy;
    char *greeting;
    char *offline_message;
    char *closed_message;         /* outside business hours; NULL: none */
    char *prechat_text;           /* the admin's texts, for the forms */
    char *hours_text;
    char *timezone;
    struct desk_prechat *prechat; /* extra pre-chat fields (never NULL) */
    struct desk_hours *hours;     /* never NULL (always open if none) */
    struct tz *tz;                /* the hours' time zone (never NULL) */
    bool transcript_email;        /* mail every transcript */
    int offer_timeout_s;
    int max_wait_s;
    int answer_reminder_s;        /* a customer unanswered this long: staff
                                     are reminded (answer.c); 0: never */
    struct desk_member *members;
    size_t member_count;
    struct desk_member *member_index; /* the same, by jid (uthash) */
    struct muc_room *room;
    struct desk_plugin_ref *plugin; /* NULL: could not load: manual */
    struct desk_chat *wait_head, *wait_tail; /* waiting chats, in order */
    /* Its waiting chats nobody has entered yet and not held (limits.c). */
    struct desk_chat *unentered_head;
    /* routing.c's incremental state */
    unsigned waiting_count;
    struct desk_chat *age_head, *age_tail; /* waiting, by enqueued_ms */
    int64_t order_front, order_back; /* desk_chat.order at either end */
    size_t *eligible;             /* eligible members' indices, ascending */
    size_t eligible_count, eligible_cap;
    unsigned available_count;     /* members available (offer or not) */
    struct desk_route_class *classes;
    struct desk_skill *known_skills;
    struct desk_chat *dirty_chats; /* routable chats to ask again */
    struct desk_member *dirty_members; /* members newly eligible */
    bool pending;                 /* dirty_* not empty */
    bool subject_stale;           /* counts changed since the subject */
    struct desk_rolling waits;    /* seconds from request to accept */
    bool seen;                    /* during a directory reload */
    UT_hash_handle hh;
};

/* Live state of a staff member, across queues (by bare JID). */
struct desk_staff {
    char *jid;
    int active;                   /* chats they own and are in */
    uint64_t idle_since_ms;
    uint64_t last_offer_ms;
    struct desk_chat *offer;      /* the chat offered to them now */
    bool busy;                    /* set-availability: no new chats */
    struct desk_member **memberships; /* routing.c: theirs in every queue */
    size_t membership_count, membership_cap;
    UT_hash_handle hh;
};

/* queue_room.c: the queue's room, with its hooks.  0 or -1. */
int desk_queue_open_room(struct desk_queue *q);
/* The member with that bare JID, or NULL; whether the member's first
 * occupant in the queue room is there and available (o: one of its
 * occupants, or NULL). */
struct desk_member *desk_queue_member(struct desk_queue *q, const char *jid);
bool desk_member_shown(const struct desk_queue *q,
                       const struct desk_member *m, struct muc_occupant *o);
void desk_queue_update_subject(struct desk_queue *q);
void desk_queue_announce(struct desk_queue *q, const char *text);
/* Routing after a change (routing.c decides what to ask again): pending
 * offers are made, then stale queue subjects and q's are updated. */
void desk_route(struct desk_queue *q);
void desk_route_pending(struct desk *d);
/* Everything again (after a directory load or the restore of tickets):
 * presence read from the queue rooms, desk_routing_rebuild(). */
void desk_route_all(struct desk *d);
/* Chats offered to jid: withdrawn; declined marks it skipped for a while. */
void desk_offer_withdraw(struct desk_chat *c, bool declined);
/* Subscribes what follows a chat's change here (events.h): offers
 * withdrawn (DESK_PRIO_STATE), positions pushed and routing run again
 * (DESK_PRIO_ROUTE).  0 or -1. */
int desk_queue_subscribe(struct desk *d);
/* Makes `jid` the chat's offer target and invites them. */
int desk_offer_make(struct desk_chat *c, const char *jid);
unsigned desk_queue_available_count(const struct desk_queue *q);
unsigned desk_queue_online_count(const struct desk_queue *q);
/* Within the queue's business hours now (always, if it has none). */
bool desk_queue_open_now(const struct desk_queue *q);
/* What customers read outside business hours. */
const char *desk_queue_closed_text(const struct desk_queue *q);
void desk_push_positions(struct desk_queue *q, bool force);
int desk_chat_position(const struct desk_chat *c);

#endif
