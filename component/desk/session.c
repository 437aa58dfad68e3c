/* The session room's MUC hooks (muc/muc.h): who may enter a chat's room
 * (its customers, the queue's staff; supervisors invisibly on /observe),
 * what entering and leaving mean (acceptance by the offered agent, the
 * customer's reconnect grace, the last agent leaving), commands and
 * plugins on its messages, the rating form, invitations.  The staff
 * rights that follow the queue's membership are chat.c's. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/counters.h"
#include "desk/events.h"
#include "desk/forms.h"
#include "desk/limits.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/routing.h"
#include "desk/juggling.h"
#include "desk/state.h"
#include "desk/text.h"
#include "muc/muc.h"
#include "xmpp/form.h"
#include "xmpp/stanza.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)

static enum muc_join_verdict s_pre_join(void *ud, struct muc_room *room,
                                        struct muc_join *j, struct xerr *err)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    (void)room;
    struct desk_queue *q = desk_queue_find(d, c->queue);
    enum desk_role role = desk_role_for(d, j->bare_jid, q, c);
    if (role >= DESK_ROLE_AGENT) {
        j->privileged = true;
        /* /observe: the supervisor asked to come in invisibly. */
        if (desk_names_take(&c->observers, j->bare_jid) &&
            desk_authz_allows(role, DESK_ACT_SUPERVISE))
            j->invisible = true;
        if (j->affiliation < MUC_AFFIL_MEMBER)
            j->affiliation = MUC_AFFIL_MEMBER;
        return MUC_JOIN_ALLOW;
    }
    if (role == DESK_ROLE_CUSTOMER && c->state != DESK_CHAT_ENDED) {
        if (j->affiliation < MUC_AFFIL_MEMBER)
            j->affiliation = MUC_AFFIL_MEMBER;
        return MUC_JOIN_ALLOW;
    }
    xerr_set(err, XERR_REGISTRATION_REQUIRED,
             "You are not expected in this room");
    return MUC_JOIN_DENY;
}

/* An agent of the queue who enters a waiting chat's room takes it, offer
 * or not (the offer expired while their client showed it in a console
 * window, or they saw it in !waiting), within their chat limit: the
 * customer already sees them, so the ticket must say so too.  Accepting
 * withdraws any other offer (queue.c).  An agent who takes no chats
 * (agent-add, set-availability) does not; nor do supervisors entering
 * visibly (!join): !take does that. */
static bool late_joiner_takes(const struct desk_chat *c, const char *bare)
{
    if (c->state != DESK_CHAT_WAITING)
        return false;
    struct desk_queue *q = desk_queue_find(c->desk, c->queue);
    const struct desk_member *m = q ? desk_member_find(q, bare) : NULL;
    if (!m || m->role != DESK_ROLE_AGENT || !m->takes_chats)
        return false;
    const struct desk_staff *s = desk_staff_get(c->desk, bare);
    return !s || s->active < m->max_chats;
}

static void s_joined(void *ud, struct muc_room *room, struct muc_occupant *o)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    char bare[BARE_MAX];
    muc_occupant_bare_jid(o, bare, sizeof bare);
    /* Whoever is in the room is no candidate for it (routing.c). */
    if (desk_routing_chat_occupant(c, bare, true) < 0)
        log_error(LOG, "ticket %lld: out of memory", (long long)c->id);
    if (!muc_occupant_privileged(o)) {
        c->customer_present = true;
        c->customer_left_explicitly = false;
        if (!c->joined_once) {
            bool was_held = c->held;
            desk_limits_chat_entered(c);
            /* Held while its domain was over budget: the agents hear of
             * it now that a customer is really there. */
            if (was_held && c->state == DESK_CHAT_WAITING && c->waiting_in) {
                desk_routing_chat_changed(c); /* routable now */
                desk_chat_start_waiting(c, c->waiting_in);
                desk_chat_announce_new(c, c->waiting_in);
            }
        }
        if (c->grace_timer) {
            loop_timer_cancel(d->loop, c->grace_timer);
            c->grace_timer = NULL;
            log_info(LOG, "ticket %lld: the customer is back",
                     (long long)c->id);
        }
        if (c->state == DESK_CHAT_WAITING && c->waiting_in) {
            c->last_position = -1;
            desk_push_positions(c->waiting_in, false);
            if (c->no_agents_told)
                muc_room_tell_with(
                    room, o,
                    "No agent is available right now. You keep your place "
                    "in the queue; you may also leave a message here.",
                    "<desk xmlns='" NS_DESK "' event='no-agents'/>");
            if (!c->offered_to)
                desk_route(c->waiting_in);
            if (!c->offered_to)
                desk_limits_customer_waits(c);
        }
        return;
    }
    /* Every staff member gets the session details on entering, observers
     * included, whatever history their client asked for (poezio asks for
     * none and reads MAM instead). */
    struct buf details = BUF_INIT;
    desk_chat_details_text(c, &details);
    /* The record itself again while it still says the same (not after a
     * forward, say): a client that reads it from MAM too shows it once. */
    if (c->details_told && c->details_said.stanza_id[0] &&
        strcmp(c->details_told, buf_cstr(&details)) == 0)
        muc_room_tell_again(room, o, c->details_told, &c->details_said);
    else
        muc_room_tell(room, o, buf_cstr(&details));
    buf_free(&details);
    if (muc_occupant_invisible(o) || c->state == DESK_CHAT_ENDED)
        return;
    if ((c->offered_to && strcmp(c->offered_to, bare) == 0) ||
        late_joiner_takes(c, bare))
        desk_chat_accept(c, bare, muc_occupant_nick(o));
}

static void s_leaving(void *ud, struct muc_room *room,
                      const struct muc_occupant *o, const struct stanza_in *in)
{
    struct desk_chat *c = ud;
    (void)room;
    if (!desk_chat_customer_is(c, o))
        return;
    xmpp_stanza_t *x = stanza_child(in->st, "desk", NS_DESK);
    const char *ev = x ? stanza_attr(x, "event") : NULL;
    if (ev && strcmp(ev, "leave") == 0)
        c->customer_left_explicitly = true;
}

/* The customer is gone for good: the chat ends. */
static void customer_gone(struct desk_chat *c, const char *why)
{
    enum ticket_status st = TICKET_RESOLVED;
    const char *text = "The customer left the chat.";
    /* A customer who left while nobody had taken the chat, after being
     * told no agent is there, left a message: it stays to be answered. */
    if (c->state == DESK_CHAT_WAITING && c->no_agents_told) {
        st = TICKET_QUEUED;
        text = "The customer left; the ticket waits for an answer.";
    }
    log_info(LOG, "ticket %lld: the customer %s", (long long)c->id, why);
    desk_chat_end(c, st, c->customer_jid, NULL, text);
}

static void grace_timer(void *ud)
{
    struct desk_chat *c = ud;
    c->grace_timer = NULL;
    if (c->state == DESK_CHAT_ENDED || desk_chat_customer_occupant(c))
        return;
    customer_gone(c, "did not come back");
}

static void s_left(void *ud, struct muc_room *room,
                   const struct muc_occupant *o, enum muc_leave_reason why)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    (void)room;
    char bare[BARE_MAX];
    muc_occupant_bare_jid(o, bare, sizeof bare);
    desk_routing_chat_occupant(c, bare, false);
    if (why == MUC_LEFT_SHUTDOWN || why == MUC_LEFT_DESTROY ||
        c->state == DESK_CHAT_ENDED || d->stopping)
        return;
    if (!muc_occupant_privileged(o) && !desk_chat_is_customer(c, bare))
        return; /* staff who lost their rights here: nothing follows */
    /* Staff leaving a waiting chat may be its candidates now. */
    if (c->state == DESK_CHAT_WAITING && muc_occupant_privileged(o))
        desk_route_pending(d);
    if (!muc_occupant_privileged(o)) {
        if (desk_chat_customer_occupant(c))
            return; /* another session of the customer is still there */
        c->customer_present = false;
        if (c->replacing_customer || why == MUC_LEFT_KICK)
            return; /* resume-chat moved them to a new address */
        if (c->customer_left_explicitly) {
            customer_gone(c, "ended the chat");
            return;
        }
        loop_timer_cancel(d->loop, c->grace_timer);
        c->grace_timer = loop_timer_add(
            d->loop, (uint64_t)d->cfg->desk.customer_grace_s * 1000,
            grace_timer, c, NULL);
        return;
    }
    if (muc_occupant_invisible(o))
        return;
    /* The last agent leaving without closing: back to the queue. */
    if (c->state == DESK_CHAT_ACTIVE && !desk_chat_has_staff(c)) {
        struct desk_queue *q = desk_queue_find(d, c->queue);
        if (q)
            desk_chat_requeue(c, q, bare, "agent left");
    } else if (c->state == DESK_CHAT_ACTIVE && c->owner_jid &&
               strcmp(c->owner_jid, bare) == 0) {
        /* The owner left, others stay: the owner's slot is free. */
        desk_chat_owner_release(c);
        desk_route_pending(d);
    }
}

/* Whether body is a text command from anyone but the customer: staff who
 * lost their rights here get a refusal, not their "!note ..." shown to
 * the customer. */
static bool s_is_command(struct desk_chat *c, const struct muc_occupant *from,
                         const char *body)
{
    struct desk_cmdline cl;
    return desk_cmdline_prefix(body) && !desk_chat_customer_is(c, from) &&
           desk_cmdline_parse(body, &cl) == 0;
}

/* Runs a text command; the answer goes to the caller alone. */
static void s_run_command(struct desk_chat *c, struct muc_room *room,
                          struct muc_occupant *from, const char *body)
{
    char bare[BARE_MAX];
    muc_occupant_bare_jid(from, bare, sizeof bare);
    struct buf reply = BUF_INIT;
    struct desk_call call = {.desk = c->desk, .actor = bare, .occ = from,
                             .place = DESK_IN_SESSION,
                             .queue = desk_queue_find(c->desk, c->queue),
                             .chat = c, .reply = &reply};
    struct xerr err;
    xerr_init(&err);
    int rc = desk_command_run(&call, body, &err);
    /* The command may have ended the chat or removed the caller. */
    if (muc_room_find_user(room, bare) == from) {
        if (rc < 0)
            muc_room_tell(room, from, err.text[0] ? err.text : "That failed.");
        else if (reply.len)
            muc_room_tell(room, from, buf_cstr(&reply));
    }
    buf_free(&reply);
}

static enum muc_message_verdict s_message(void *ud, struct muc_room *room,
                                          struct muc_occupant *from,
                                          const char *body,
                                          const struct stanza_in *in)
{
    struct desk_chat *c = ud;
    (void)in;
    if (!s_is_command(c, from, body)) {
        if (desk_plugin_message(c, from, body))
            return MUC_MESSAGE_CONSUMED;
        desk_count_message(c, from);
        desk_chat_heard(c, from);
        return MUC_MESSAGE_PASS;
    }
    s_run_command(c, room, from, body);
    return MUC_MESSAGE_CONSUMED;
}

/* A text command written privately to the desk's voice (only staff see
 * it), as if typed in the room. */
static int s_voice_message(void *ud, struct muc_room *room,
                           struct muc_occupant *from, const char *body,
                           const struct stanza_in *in, struct xerr *err)
{
    struct desk_chat *c = ud;
    (void)in;
    if (!s_is_command(c, from, body)) {
        xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED,
                 "The desk reads text commands only: write !help");
        return -1;
    }
    s_run_command(c, room, from, body);
    return 0;
}

static void s_declined(void *ud, struct muc_room *room, const char *from_jid,
                       const char *reason)
{
    struct desk_chat *c = ud;
    (void)room;
    (void)reason;
    struct jid j;
    char bare[BARE_MAX];
    if (jid_parse(from_jid, &j) < 0 || jid_bare_text(&j, bare, sizeof bare) < 0)
        return;
    if (!c->offered_to || strcmp(c->offered_to, bare) != 0)
        return;
    log_info(LOG, "ticket %lld: declined by %s", (long long)c->id, bare);
    desk_events_emit(c->desk, &(struct desk_event){.kind = DESK_EV_DECLINED,
                                                   .chat = c, .actor = bare,
                                                   .declined = {bare}});
}

/* The rating form the ratings plugin's /rate message carries, submitted
 * back to the room by a client that renders forms in messages. */
static int s_form_submitted(void *ud, struct muc_room *room,
                            struct muc_occupant *from, xmpp_stanza_t *form,
                            const struct stanza_in *in, struct xerr *err)
{
    struct desk_chat *c = ud;
    const char *type = form_form_type(form);
    if (!type || strcmp(type, FORM_RATE) != 0) {
        xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED,
                 "This room expects no such form");
        return -1;
    }
    char bare[BARE_MAX];
    jid_bare_text(&in->from, bare, sizeof bare);
    if (!desk_chat_is_customer(c, bare)) {
        xerr_set(err, XERR_FORBIDDEN, "Only the customer rates the chat");
        return -1;
    }
    long rating;
    if (desk_parse_int(desk_form_text(form, "rating"), 1, 5, &rating) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "rating: choose 1 to 5");
        return -1;
    }
    if (desk_limits_rating(c->desk, bare, err) < 0)
        return -1;
    struct buf comment = BUF_INIT;
    desk_form_lines(form, "comment", "\n", &comment);
    int rc = desk_chat_rate(c, (int)rating,
                            comment.len ? buf_cstr(&comment) : NULL, bare);
    buf_free(&comment);
    if (rc < 0) {
        xerr_set(err, XERR_INTERNAL_SERVER_ERROR, "The rating was not saved");
        return -1;
    }
    muc_room_tell(room, from, "Thank you for your feedback!");
    return 0;
}

static bool s_is_privileged(void *ud, struct muc_room *room, const char *bare)
{
    struct desk_chat *c = ud;
    (void)room;
    struct desk_queue *q = desk_queue_find(c->desk, c->queue);
    return desk_authz_allows(desk_role_for(c->desk, bare, q, NULL),
                             DESK_ACT_READ_TICKET);
}

/* Staff may bring in whoever may enter the chat (the queue's staff,
 * admins), as /invite does; the customer invites nobody. */
static bool s_may_invite(void *ud, struct muc_room *room,
                         const struct muc_occupant *inviter,
                         const char *invitee_bare)
{
    struct desk_chat *c = ud;
    (void)room;
    struct desk_queue *q = desk_queue_find(c->desk, c->queue);
    return muc_occupant_privileged(inviter) &&
           desk_authz_allows(desk_role_for(c->desk, invitee_bare, q, NULL),
                             DESK_ACT_ENTER_SESSION);
}

/* The chat's staff may set its subject the standard way too (clients
 * keep /subject for themselves); it becomes the ticket's subject, as with
 * !subject.  Staff who lost their rights here are plain occupants. */
static bool s_subject_changing(void *ud, struct muc_room *room,
                               const struct muc_occupant *occ,
                               const char *subject)
{
    struct desk_chat *c = ud;
    (void)room;
    if (!muc_occupant_privileged(occ) || c->state == DESK_CHAT_ENDED)
        return false;
    desk_chat_set_ticket_subject(c, subject);
    return true;
}

static void s_destroyed(void *ud, struct muc_room *room)
{
    struct desk_chat *c = ud;
    if (c->room == room) {
        c->room = NULL;
        desk_routing_chat_changed(c);
    }
}

const struct muc_room_hooks desk_session_hooks = {
    .pre_join = s_pre_join,
    .joined = s_joined,
    .leaving = s_leaving,
    .left = s_left,
    .message = s_message,
    .voice_message = s_voice_message,
    .form_submitted = s_form_submitted,
    .may_invite = s_may_invite,
    .invite_declined = s_declined,
    .is_privileged = s_is_privileged,
    .subject_changing = s_subject_changing,
    .destroyed = s_destroyed,
};
