/* Queues: the queue room (staff only; presence = availability), its
 * subject and announcements, routing through the queue's strategy plugin,
 * offers (mediated invitations from the session room) with timeout and
 * decline, and the position updates pushed to waiting customers.
 *
 * Routing runs again on every change that could let a waiting chat move:
 * a new chat, a requeue, an agent arriving, becoming available, freeing a
 * slot, declining or letting an offer expire, a decliner's skip ending;
 * routing.c decides, from what changed, which chats to ask about again.
 * Here: the MUC side (who is in the queue room, invitations, timers). */
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

static struct desk_member *member_by_jid(struct desk_queue *q,
                                         const char *jid)
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
static bool member_shown(const struct desk_queue *q,
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
        struct desk_member *m = member_by_jid(q, bare);
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

/* ---- the queue room's hooks ----------------------------------------------------- */

static enum muc_join_verdict q_pre_join(void *ud, struct muc_room *room,
                                        struct muc_join *j, struct xerr *err)
{
    struct desk_queue *q = ud;
    (void)room;
    if (!desk_authz_allows(desk_role_for(q->desk, j->bare_jid, q, NULL),
                           DESK_ACT_ENTER_QUEUE)) {
        xerr_set(err, XERR_REGISTRATION_REQUIRED,
                 "This room is for the queue's staff");
        return MUC_JOIN_DENY;
    }
    j->privileged = true;
    if (j->affiliation < MUC_AFFIL_MEMBER)
        j->affiliation = MUC_AFFIL_MEMBER;
    return MUC_JOIN_ALLOW;
}

/* The member an occupant of the queue room is (NULL: none, or the
 * members are being replaced). */
static struct desk_member *member_of(struct desk_queue *q,
                                     const struct muc_occupant *o)
{
    if (q->desk->routing_stale)
        return NULL;
    char bare[BARE_MAX];
    muc_occupant_bare_jid(o, bare, sizeof bare);
    return member_by_jid(q, bare);
}

static void q_joined(void *ud, struct muc_room *room, struct muc_occupant *o)
{
    struct desk_queue *q = ud;
    (void)room;
    char bare[BARE_MAX];
    muc_occupant_bare_jid(o, bare, sizeof bare);
    struct desk_staff *s = desk_staff_get(q->desk, bare);
    if (s && !s->active) {
        s->idle_since_ms = loop_now(q->desk->loop);
        desk_routing_staff_changed(q->desk, s, true);
    }
    struct desk_member *m = member_of(q, o);
    if (m) {
        m->occupants++;
        desk_routing_member_shown(m, member_shown(q, m, o));
    }
    desk_route(q);
}

static void q_left(void *ud, struct muc_room *room,
                   const struct muc_occupant *o, enum muc_leave_reason why)
{
    struct desk_queue *q = ud;
    (void)room;
    if (why == MUC_LEFT_SHUTDOWN || why == MUC_LEFT_DESTROY)
        return;
    struct desk_member *m = member_of(q, o);
    if (m && m->occupants > 0) {
        m->occupants--; /* o is out of the room already */
        desk_routing_member_shown(m, member_shown(q, m, NULL));
    }
    desk_queue_update_subject(q);
}

static void q_presence(void *ud, struct muc_room *room,
                       struct muc_occupant *o)
{
    struct desk_queue *q = ud;
    (void)room;
    struct desk_member *m = member_of(q, o);
    if (m)
        desk_routing_member_shown(m, member_shown(q, m, o));
    desk_route(q);
}

static enum muc_message_verdict q_message(void *ud, struct muc_room *room,
                                          struct muc_occupant *from,
                                          const char *body,
                                          const struct stanza_in *in)
{
    struct desk_queue *q = ud;
    (void)in;
    if (!desk_cmdline_prefix(body) || !muc_occupant_privileged(from))
        return MUC_MESSAGE_PASS;
    struct desk_cmdline cl;
    if (desk_cmdline_parse(body, &cl) < 0)
        return MUC_MESSAGE_PASS;
    char bare[BARE_MAX];
    muc_occupant_bare_jid(from, bare, sizeof bare);
    struct buf reply = BUF_INIT;
    struct desk_call call = {.desk = q->desk, .actor = bare, .occ = from,
                             .place = DESK_IN_QUEUE, .queue = q,
                             .reply = &reply};
    struct xerr err;
    xerr_init(&err);
    if (desk_command_run(&call, body, &err) < 0)
        muc_room_tell(room, from, err.text[0] ? err.text : "That failed.");
    else if (reply.len)
        muc_room_tell(room, from, buf_cstr(&reply));
    buf_free(&reply);
    return MUC_MESSAGE_CONSUMED;
}

static void send_chat_message(struct desk *d, const char *from,
                              const char *to, const char *text)
{
    struct buf *out = router_out(d->router);
    buf_append_str(out, "<message type='chat'");
    xml_attr(out, "from", from);
    xml_attr(out, "to", to);
    buf_append_str(out, "><body>");
    xml_text(out, text);
    buf_append_str(out, "</body></message>");
}

/* A customer writes to the queue JID: the body is the question. */
static void q_outsider(void *ud, struct muc_room *room,
                       const struct stanza_in *in, const char *body)
{
    struct desk_queue *q = ud;
    struct desk *d = q->desk;
    if (!body || !body[0])
        return; /* chat states and receipts: nothing to answer */
    if (in->type && strcmp(in->type, "chat") != 0 &&
        strcmp(in->type, "normal") != 0)
        return;
    char bare[BARE_MAX];
    jid_bare_text(&in->from, bare, sizeof bare);
    struct desk_request r = {.customer_full = in->from_text,
                             .name = in->from.local[0] ? in->from.local
                                                       : "Customer",
                             .question = body};
    struct xerr err;
    xerr_init(&err);
    if (!desk_queue_open_now(q)) {
        /* Outside business hours, as the request-chat form does: the
         * message is left for the queue, answered at this address. */
        int64_t id;
        char text[700];
        const char *closed = desk_queue_closed_text(q);
        if (desk_chat_leave_message(q, &r, &id, &err) < 0)
            utf8_snprintf(text, sizeof text, "%s",
                          err.text[0] ? err.text
                                      : "Chat is not available right now.");
        else
            snprintf(text, sizeof text,
                     "%.*s\nYour message is ticket #%lld: we will answer "
                     "you at this address.",
                     utf8_prec(closed, 500), closed, (long long)id);
        send_chat_message(d, muc_room_jid(room), in->from_text, text);
        return;
    }
    struct desk_chat *c = NULL;
    bool existing = false;
    char token[2 * DESK_TOKEN_BYTES + 1];
    if (desk_chat_request(q, &r, &c, &existing, token, sizeof token, &err) < 0) {
        send_chat_message(d, muc_room_jid(room), in->from_text,
                          err.text[0] ? err.text
                                      : "Chat is not available right now.");
        return;
    }
    char text[700];
    snprintf(text, sizeof text,
             "%s Your request is ticket #%lld. Join %s to talk with us: you "
             "were sent an invitation.%s%s",
             existing ? "You already have a chat with us."
                      : "Thanks, we received your question.",
             (long long)c->id, muc_room_jid(c->room),
             token[0] ? " To come back from another address, use the resume "
                        "token " : "",
             token[0] ? token : "");
    send_chat_message(d, muc_room_jid(room), in->from_text, text);
    char reason[300];
    snprintf(reason, sizeof reason, "Your support chat, ticket #%lld",
             (long long)c->id);
    muc_room_invite(c->room, in->from_text, reason);
}

static bool q_is_privileged(void *ud, struct muc_room *room, const char *bare)
{
    struct desk_queue *q = ud;
    (void)room;
    return desk_authz_allows(desk_role_for(q->desk, bare, q, NULL),
                             DESK_ACT_ENTER_QUEUE);
}

/* Staff may point colleagues of the queue to its room; nobody else gets
 * an invitation from it. */
static bool q_may_invite(void *ud, struct muc_room *room,
                         const struct muc_occupant *inviter,
                         const char *invitee_bare)
{
    struct desk_queue *q = ud;
    (void)room;
    return muc_occupant_privileged(inviter) &&
           desk_authz_allows(desk_role_for(q->desk, invitee_bare, q, NULL),
                             DESK_ACT_ENTER_QUEUE);
}

static void q_destroyed(void *ud, struct muc_room *room)
{
    struct desk_queue *q = ud;
    (void)room;
    /* queue_drop() cleared q->room before destroying; at shutdown the
     * queue outlives its room. */
    if (q->room == room)
        q->room = NULL;
}

static const struct muc_room_hooks queue_hooks = {
    .pre_join = q_pre_join,
    .joined = q_joined,
    .left = q_left,
    .presence_changed = q_presence,
    .message = q_message,
    .outsider_message = q_outsider,
    .may_invite = q_may_invite,
    .is_privileged = q_is_privileged,
    .destroyed = q_destroyed,
};

int desk_queue_open_room(struct desk_queue *q)
{
    struct muc_room_options o = {
        .title = q->title,
        .description = "Support queue: staff room",
        .hidden = true,
        .members_only = true,
        .persistent = true,
        .semi_anonymous = false,
        .archived = false,
    };
    q->room = muc_room_create(q->desk->muc, q->name, &o, &queue_hooks, q);
    if (!q->room) {
        log_error(LOG, "cannot open the room of queue %s (name taken?)",
                  q->name);
        return -1;
    }
    desk_queue_update_subject(q);
    return 0;
}
