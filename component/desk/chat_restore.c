/* Restoring the open tickets at start-up: their session rooms reopened,
 * waiting chats back in their queues, active ones with their owners; the
 * ended chats' rooms kept for staff until closed_room_hours.  Whoever
 * does not come back after the restart is taken as gone. */
#include "build-config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "desk/chat.h"
#include "desk/details.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "xmpp/stamp.h"

#define LOG "desk"

static char *dup_opt(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* After a restart, clients notice (the widget self-pings every 30 s, then
 * reconnects with backoff) and rejoin; whoever has not come back within
 * three customer graces is taken as gone. */
#define REJOIN_GRACES 3

static void rejoin_timer(void *ud)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    c->rejoin_timer = NULL;
    if (c->state == DESK_CHAT_ENDED)
        return;
    if (!desk_chat_customer_occupant(c)) {
        log_info(LOG, "ticket %lld: the customer did not come back after the "
                      "restart", (long long)c->id);
        enum ticket_status st = c->state == DESK_CHAT_ACTIVE ? TICKET_RESOLVED
                                                             : TICKET_QUEUED;
        desk_chat_end(c, st, NULL, NULL,
                      "The customer did not come back after a restart.");
        return;
    }
    if (c->state == DESK_CHAT_ACTIVE && !desk_chat_has_staff(c)) {
        struct desk_queue *q = desk_queue_find(d, c->queue);
        if (q)
            desk_chat_requeue(c, q, NULL, "agent did not come back");
    }
}

/* An ended chat's room, kept for staff (MAM) and the customer's rating
 * until closed_room_hours after its end, as desk_chat_end leaves it. */
static void restore_ended(struct desk_chat *c, int64_t keep_us)
{
    c->state = DESK_CHAT_ENDED;
    int64_t left_us = c->ended_us + keep_us - stamp_now_us();
    uint64_t left_ms = left_us > 1000 ? (uint64_t)(left_us / 1000) : 1;
    desk_chat_expire_in(c, left_ms);
}

/* The chat of a ticket read at start-up (not yet in the desk's index),
 * or NULL (out of memory). */
static struct desk_chat *chat_of_ticket(struct desk *d,
                                        const struct store_ticket *t,
                                        bool ended)
{
    struct desk_chat *c = desk_chat_alloc(d);
    if (!c)
        return NULL;
    c->id = t->id;
    snprintf(c->room_name, sizeof c->room_name, "%s", t->room);
    c->queue = strdup(t->queue);
    c->status = t->status;
    c->subject = dup_opt(t->subject);
    c->customer_jid = dup_opt(t->customer_jid);
    c->customer_name = dup_opt(t->customer_name);
    c->customer_email = dup_opt(t->customer_email);
    c->owner_jid = dup_opt(t->owner_jid);
    c->priority = t->priority ? t->priority : 3;
    c->created_us = t->created_us;
    c->accepted_us = t->accepted_us;
    c->ended_us = t->ended_us;
    c->chat_seconds = t->chat_seconds;
    c->rating = t->rating;
    c->rating_comment = dup_opt(t->rating_comment);
    c->has_token = t->has_token_hash;
    memcpy(c->token_hash, t->token_hash, sizeof c->token_hash);
    c->details = strdup(t->details ? t->details : "{}");
    /* From before the restart: not counted as a chat nobody entered (the
     * rejoin grace below ends it if the customer does not come back). */
    c->joined_once = true;
    char v[4096];
    struct json_object *details = desk_details_parse(c->details);
    if (desk_details_string(details, "question", v, sizeof v) == 0)
        c->question = dup_opt(v);
    if (desk_details_string(details, "skills", v, sizeof v) == 0)
        c->skills = dup_opt(v);
    json_object_put(details);
    /* The customers of an ended chat have lost their membership. */
    if (!c->queue || !c->details ||
        (!ended && c->customer_jid &&
         desk_chat_customer_add(c, c->customer_jid) < 0)) {
        desk_chat_free(c);
        return NULL;
    }
    return c;
}

/* A restored chat that had not ended: in progress with its owner (the
 * chat clock running), or waiting again in q; either way the rejoin grace
 * starts. */
static void restore_open(struct desk_chat *c, const struct store_ticket *t,
                         struct desk_queue *q)
{
    struct desk *d = c->desk;
    if (t->status == TICKET_INPROGRESS && c->owner_jid) {
        c->state = DESK_CHAT_ACTIVE;
        struct desk_staff *s = desk_staff_get(d, c->owner_jid);
        if (s) {
            s->active++;
            c->owner_counted = true;
            desk_routing_staff_changed(d, s, true);
        }
        desk_chat_clock(c, true);
    } else {
        c->state = DESK_CHAT_WAITING;
        c->status = TICKET_QUEUED;
        c->enqueued_ms = loop_now(d->loop);
        if (q) {
            desk_wait_add(q, c, false);
            desk_chat_start_waiting(c, q);
        }
    }
    c->rejoin_timer = loop_timer_add(
        d->loop,
        (uint64_t)d->cfg->desk.customer_grace_s * 1000 * REJOIN_GRACES + 1,
        rejoin_timer, c, NULL);
}

struct desk_chat *desk_chat_restore(struct desk *d, const struct store_ticket *t)
{
    if (!t->room || desk_chat_find(d, t->id))
        return NULL;
    /* An ended chat never goes back to a queue, whatever its status
     * (closed as QUEUED for a follow-up, say): its room is kept for staff
     * within closed_room_hours, and past that there is nothing to
     * restore (the transcript is in PostgreSQL). */
    bool ended = t->ended_us != 0;
    int64_t keep_us = (int64_t)d->cfg->desk.closed_room_hours * 3600 * 1000000;
    if (ended && t->ended_us + keep_us <= stamp_now_us())
        return NULL;
    /* Nor does a chat nobody took that ended RESOLVED (withdrawn, or left
     * before anyone came) come back: nobody rates it, staff read it with
     * the transcript command, and a day of phantom requests must not
     * come back as rooms at every start. */
    if (ended && !t->accepted_us && t->status == TICKET_RESOLVED)
        return NULL;
    struct desk_queue *q = desk_queue_find(d, t->queue);
    struct desk_chat *c = chat_of_ticket(d, t, ended);
    if (!c)
        return NULL;
    HASH_ADD(hh, d->chats, id, sizeof c->id, c);
    desk_chat_token_index(c, true);
    if (desk_chat_open_room(c) < 0) {
        log_error(LOG, "ticket %lld: cannot reopen room %s", (long long)c->id,
                  c->room_name);
        HASH_DEL(d->chats, c);
        c->id = 0;
        desk_chat_free(c);
        return NULL;
    }
    desk_chat_set_subject(c);
    if (ended) {
        restore_ended(c, keep_us);
        log_info(LOG, "ticket %lld: ended chat's room %s kept for staff",
                 (long long)c->id, c->room_name);
        return c;
    }
    restore_open(c, t, q);
    log_info(LOG, "ticket %lld: room %s restored (%s)", (long long)c->id,
             c->room_name, ticket_status_name(c->status));
    return c;
}
