/* The queue room's MUC hooks (muc/muc.h): staff only; entering, leaving
 * and presence are availability (routing runs again); staff's text
 * commands in it; a customer's plain message to the queue JID asks for a
 * chat (or leaves a message outside business hours), answered by a chat
 * message. */
#include "build-config.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
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
    return desk_queue_member(q, bare);
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
        desk_routing_member_shown(m, desk_member_shown(q, m, o));
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
        desk_routing_member_shown(m, desk_member_shown(q, m, NULL));
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
        desk_routing_member_shown(m, desk_member_shown(q, m, o));
    desk_route(q);
}

/* Whether body is a text command this occupant may give here. */
static bool q_is_command(const struct muc_occupant *from, const char *body)
{
    struct desk_cmdline cl;
    return desk_cmdline_prefix(body) && muc_occupant_privileged(from) &&
           desk_cmdline_parse(body, &cl) == 0;
}

/* Runs a staff member's text command; the answer goes to them alone. */
static void q_run_command(struct desk_queue *q, struct muc_room *room,
                          struct muc_occupant *from, const char *body)
{
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
}

static enum muc_message_verdict q_message(void *ud, struct muc_room *room,
                                          struct muc_occupant *from,
                                          const char *body,
                                          const struct stanza_in *in)
{
    (void)in;
    if (!q_is_command(from, body))
        return MUC_MESSAGE_PASS;
    q_run_command(ud, room, from, body);
    return MUC_MESSAGE_CONSUMED;
}

/* A text command written privately to the desk's voice, as if typed in
 * the room (clients that keep "!" or "/" for themselves in a room). */
static int q_voice_message(void *ud, struct muc_room *room,
                           struct muc_occupant *from, const char *body,
                           const struct stanza_in *in, struct xerr *err)
{
    (void)in;
    if (!q_is_command(from, body)) {
        xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED,
                 "The desk reads text commands only: write !help");
        return -1;
    }
    q_run_command(ud, room, from, body);
    return 0;
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
    .voice_message = q_voice_message,
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
    if (muc_room_set_voice(q->room, DESK_VOICE_NICK) < 0)
        log_error(LOG, "queue %s: the desk's voice could not be set", q->name);
    desk_queue_update_subject(q);
    return 0;
}
