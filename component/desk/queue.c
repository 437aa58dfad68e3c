/* Queues: availability in the queue room (presence), its subject and
 * announcements, routing through the queue's strategy plugin,
 * offers (mediated invitations from the session room) with timeout and
 * decline, and the position updates pushed to waiting customers.
 *
 * Routing runs again on every change that could let a waiting chat move:
 * a new chat, a requeue, an agent arriving, becoming available, freeing a
 * slot, declining or letting an offer expire, a decliner's skip ending;
 * routing.c decides, from what changed, which chats to ask about again.
 * Here: the MUC side (who is in the queue room, invitations, timers); the
 * queue room's hooks are queue_room.c's. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/events.h"
#include "desk/hours.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "desk/text.h"
#include "muc/muc.h"
#include "xmpp/router.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)

/* ---- availability -------------------------------------------------------------- */

static struct muc_occupant *present(const struct desk_queue *q,
                                    const char *jid)
{
    return q->room ? muc_room_find_user(q->room, jid) : NULL;
}

static bool show_available(enum muc_show show)
{
    return show == MUC_SHOW_AVAILABLE || show == MUC_SHOW_CHAT;
}

struct desk_member *desk_queue_member(struct desk_queue *q, const char *jid)
{
    struct desk_member *m = NULL;
    HASH_FIND_STR(q->member_index, jid, m);
    return m;
}

/* Members present (the first occupant with the member's bare JID has no
 * <show/> or chat), not busy, below max_chats: kept by routing.c from the
 * queue room's hooks below. */
unsigned desk_queue_available_count(const struct desk_queue *q)
{
    return q->available_count;
}

/* Whether the member's first occupant in the queue room (as
 * muc_room_find_user() finds it) is there and available; `o` is one of
 * its occupants, or NULL.  With one occupant (the usual case) that is o:
 * no walk over the room. */
bool desk_member_shown(const struct desk_queue *q,
                       const struct desk_member *m, struct muc_occupant *o)
{
    if (m->occupants <= 0)
        return false;
    if (m->occupants > 1 || !o)
        o = present(q, m->jid);
    return o && show_available(muc_occupant_show(o));
}

/* The members' occupants and presence, read from the queue room (before a
 * rebuild of the routing state). */
static void read_presence(struct desk_queue *q)
{
    for (size_t i = 0; i < q->member_count; i++) {
        q->members[i].occupants = 0;
        q->members[i].shown = false;
    }
    if (!q->room)
        return;
    for (struct muc_occupant *o = muc_room_first_occupant(q->room); o;
         o = muc_occupant_next(o)) {
        char bare[BARE_MAX];
        muc_occupant_bare_jid(o, bare, sizeof bare);
        struct desk_member *m = desk_queue_member(q, bare);
        if (m && m->occupants++ == 0)
            m->shown = show_available(muc_occupant_show(o));
    }
}

unsigned desk_queue_online_count(const struct desk_queue *q)
{
    unsigned n = 0;
    for (size_t i = 0; i < q->member_count; i++) {
        struct muc_occupant *o = present(q, q->members[i].jid);
        n += o && muc_occupant_show(o) != MUC_SHOW_DND;
    }
    return n;
}

bool desk_queue_open_now(const struct desk_queue *q)
{
    return !q->hours || desk_hours_open(q->hours, q->tz, (int64_t)time(NULL));
}

const char *desk_queue_closed_text(const struct desk_queue *q)
{
    if (q->closed_message)
        return q->closed_message;
    if (q->offline_message)
        return q->offline_message;
    return "We are closed right now. Leave us a message and we will answer "
           "by email.";
}

/* ---- subject and announcements -------------------------------------------------- */

/* The subject holds counts only: a waiting time in it would change it
 * every few seconds, and each change is a line in every agent's client
 * (24 subject lines on one screen buried the "New chat" ones).  Waiting
 * times are in !waiting and in the announcements.  muc_room_set_subject
 * sends nothing when the text is the same. */
void desk_queue_update_subject(struct desk_queue *q)
{
    q->subject_stale = false;
    if (!q->room)
        return;
    char text[256];
    utf8_snprintf(text, sizeof text, "%s: %u waiting, %u agent(s) available",
                  q->title ? q->title : q->name, q->waiting_count,
                  desk_queue_available_count(q));
    muc_room_set_subject(q->room, text);
}

void desk_queue_announce(struct desk_queue *q, const char *text)
{
    if (q->room)
        muc_room_post(q->room, text, false);
}

/* ---- positions ------------------------------------------------------------------ */

int desk_chat_position(const struct desk_chat *c)
{
    if (!c->waiting_in)
        return 0;
    int pos = 1;
    for (const struct desk_chat *x = c->waiting_in->wait_head; x && x != c;
         x = x->wnext)
        pos++;
    return pos;
}

static double average_wait(const struct desk_queue *q)
{
    double avg = desk_rolling_mean(&q->waits);
    return avg > 0 ? avg : 60.0; /* no history yet: a minute each */
}

void desk_push_positions(struct desk_queue *q, bool force)
{
    struct desk *d = q->desk;
    uint64_t now = loop_now(d->loop);
    uint64_t every = (uint64_t)d->cfg->desk.status_interval_s * 1000;
    int pos = 0;
    for (struct desk_chat *c = q->wait_head; c; c = c->wnext) {
        pos++;
        int wait = desk_wait_estimate(average_wait(q), pos);
        bool changed = pos != c->last_position;
        if (!force && !changed && now - c->last_status_ms < every)
            continue;
        struct muc_occupant *occ = desk_chat_customer_occupant(c);
        if (!occ)
            continue;
        char waittext[32], text[160], x[160];
        desk_format_duration(wait, waittext, sizeof waittext);
        snprintf(text, sizeof text,
                 "You are number %d in the queue. Estimated wait: about %s.",
                 pos, waittext);
        snprintf(x, sizeof x,
                 "<desk xmlns='" NS_DESK "' event='queue' position='%d' "
                 "wait='%d'/>",
                 pos, wait);
        muc_room_tell_with(c->room, occ, text, x);
        c->last_position = pos;
        c->last_wait = wait;
        c->last_status_ms = now;
    }
}

/* ---- offers ------------------------------------------------------------------- */

static void skip_timer_arm(struct desk_chat *c);

/* A decline skip ended: the decliner may get the chat again. */
static void skip_timer(void *ud)
{
    struct desk_chat *c = ud;
    c->skip_timer = NULL;
    desk_routing_skips_expired(c);
    skip_timer_arm(c);
    if (c->waiting_in)
        desk_route(c->waiting_in);
}

static void skip_timer_arm(struct desk_chat *c)
{
    struct desk *d = c->desk;
    uint64_t next = desk_routing_next_skip(c), now = loop_now(d->loop);
    if (!next || c->skip_timer)
        return;
    c->skip_timer = loop_timer_add(d->loop, next > now ? next - now : 0,
                                   skip_timer, c, NULL);
}

static void offer_expired(void *ud)
{
    struct desk_chat *c = ud;
    c->offer_timer = NULL;
    log_info(LOG, "ticket %lld: offer to %s expired", (long long)c->id,
             c->offered_to ? c->offered_to : "?");
    c->desk->counters.offers_expired++;
    desk_offer_withdraw(c, true);
    if (c->waiting_in)
        desk_route(c->waiting_in);
}

void desk_offer_withdraw(struct desk_chat *c, bool declined)
{
    struct desk *d = c->desk;
    loop_timer_cancel(d->loop, c->offer_timer);
    c->offer_timer = NULL;
    if (!c->offered_to)
        return;
    struct desk_staff *s = desk_staff_get(d, c->offered_to);
    uint64_t skip = declined && d->cfg->desk.decline_skip_s > 0
                        ? loop_now(d->loop) +
                              (uint64_t)d->cfg->desk.decline_skip_s * 1000
                        : 0;
    desk_routing_offer_ended(c, s, skip);
    if (skip)
        skip_timer_arm(c);
}

int desk_offer_make(struct desk_chat *c, const char *jid)
{
    struct desk *d = c->desk;
    struct desk_queue *q = desk_queue_find(d, c->queue);
    if (c->offered_to)
        desk_offer_withdraw(c, false);
    struct desk_staff *s = desk_staff_get(d, jid);
    if (!s)
        return -1;
    if (s->offer && s->offer != c)
        desk_offer_withdraw(s->offer, false);
    if (desk_routing_offer_started(c, s, jid) < 0)
        return -1;
    int timeout = q ? q->offer_timeout_s : 20;
    c->offer_timer = loop_timer_add(d->loop, (uint64_t)timeout * 1000,
                                    offer_expired, c, NULL);
    char reason[700];
    const char *who = c->customer_name ? c->customer_name : "a customer";
    const char *question = c->question ? c->question : "";
    /* How to answer it from any client: most cannot send a decline. */
    snprintf(reason, sizeof reason,
             "Ticket #%lld from %.*s: %.*s (join to take it; to pass, say "
             "!decline %lld in the queue room)",
             (long long)c->id, utf8_prec(who, 100), who,
             utf8_prec(question, 400), question, (long long)c->id);
    log_info(LOG, "ticket %lld offered to %s", (long long)c->id, jid);
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_OFFERED,
                                             .chat = c, .actor = jid,
                                             .offered = {jid}});
    return muc_room_invite(c->room, jid, reason);
}

/* ---- routing ------------------------------------------------------------------ */

void desk_route_pending(struct desk *d)
{
    desk_routing_run(d);
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        if (q->subject_stale)
            desk_queue_update_subject(q);
}

void desk_route(struct desk_queue *q)
{
    desk_route_pending(q->desk);
    desk_queue_update_subject(q);
}

void desk_route_all(struct desk *d)
{
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        read_presence(q);
    desk_routing_rebuild(d);
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        desk_queue_update_subject(q);
}

/* ---- what follows a change (events.h) ------------------------------------------ */

/* A chat that is taken, put back, over or gone holds no offer any more; a
 * decline also skips the decliner for a while; a busy agent's offer waits
 * for nobody. */
static void offers_on_event(void *ud, const struct desk_event *ev)
{
    (void)ud;
    switch (ev->kind) {
    case DESK_EV_ACCEPTED:
    case DESK_EV_REQUEUED:
    case DESK_EV_ENDED:
    case DESK_EV_CHAT_GONE:
        desk_offer_withdraw(ev->chat, false);
        break;
    case DESK_EV_DECLINED:
        desk_offer_withdraw(ev->chat, true);
        break;
    case DESK_EV_AGENT_STATE:
        if (ev->agent_state.busy && ev->agent_state.staff->offer)
            desk_offer_withdraw(ev->agent_state.staff->offer, false);
        break;
    default:
        break;
    }
}

/* Routing again where the change may let a waiting chat move, after
 * everyone else heard of it; positions told to those still waiting. */
static void route_on_event(void *ud, const struct desk_event *ev)
{
    struct desk *d = ud;
    struct desk_queue *q;
    switch (ev->kind) {
    case DESK_EV_REQUESTED:
        if (!ev->requested.held)
            desk_route(ev->requested.queue);
        break;
    case DESK_EV_DECLINED:
        if (ev->chat->waiting_in)
            desk_route(ev->chat->waiting_in);
        break;
    case DESK_EV_ACCEPTED:
    case DESK_EV_ENDED:
        q = ev->kind == DESK_EV_ACCEPTED ? ev->accepted.queue
                                         : ev->ended.queue;
        if (q) {
            desk_push_positions(q, false);
            desk_route(q);
        }
        break;
    case DESK_EV_REQUEUED:
        q = ev->requeued.queue;
        desk_push_positions(q, true);
        desk_route(q);
        if (ev->requeued.from && ev->requeued.from != q)
            desk_route(ev->requeued.from);
        break;
    case DESK_EV_AGENT_STATE:
        /* Freed capacity routes. */
        desk_routing_staff_changed(d, ev->agent_state.staff, false);
        desk_route_pending(d);
        break;
    default:
        break;
    }
}

int desk_queue_subscribe(struct desk *d)
{
    static const enum desk_event_kind offers[] = {
        DESK_EV_ACCEPTED, DESK_EV_REQUEUED, DESK_EV_ENDED,
        DESK_EV_CHAT_GONE, DESK_EV_DECLINED, DESK_EV_AGENT_STATE};
    static const enum desk_event_kind routes[] = {
        DESK_EV_REQUESTED, DESK_EV_DECLINED, DESK_EV_ACCEPTED,
        DESK_EV_ENDED, DESK_EV_REQUEUED, DESK_EV_AGENT_STATE};
    for (size_t i = 0; i < sizeof offers / sizeof offers[0]; i++)
        if (desk_events_subscribe(d, offers[i], DESK_PRIO_STATE,
                                  offers_on_event, d) < 0)
            return -1;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (desk_events_subscribe(d, routes[i], DESK_PRIO_ROUTE,
                                  route_on_event, d) < 0)
            return -1;
    return 0;
}
