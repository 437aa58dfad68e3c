/* Messages: groupchat to the room (§7.4) with limits and the desk's
 * message hook, subject changes (§8.1), private messages (§7.5: off the
 * record, never archived), voice requests (§7.13), messages from
 * outsiders, error bounces (ghosts), and the room's own posts for the
 * layer above.  History and subject on join are in replay.c. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/archiving.h"
#include "muc/durable.h"
#include "muc/fanout.h"
#include "muc/invite.h"
#include "muc/message.h"
#include "muc/persist.h"
#include "muc/presence.h"
#include "muc/privilege.h"
#include "muc/room.h"
#include "muc/send.h"
#include "muc/visibility.h"
#include "muc/voice.h"
#include "xmpp/form.h"
#include "xmpp/stamp.h"
#include "xmpp/xml.h"

#define LOG "muc"
/* A visitor's voice requests reach the moderators at most this often. */
#define VOICE_REQUEST_INTERVAL_S 120

static struct buf *out_of(const struct muc *muc)
{
    return router_out(muc->router);
}

static void reply_error(struct muc *muc, const struct stanza_in *in,
                        const char *by, enum xerr_cond cond, const char *text)
{
    struct xerr err;
    xerr_set(&err, cond, "%s", text ? text : "");
    muc_error_write(out_of(muc), in, &err, by, NULL);
}

/* ---- error bounces ----------------------------------------------------------------- */

static const char *error_condition(const struct stanza_in *in)
{
    xmpp_stanza_t *error = stanza_child(in->st, "error", NULL);
    if (!error)
        return NULL;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(error); c;
         c = xmpp_stanza_get_next(c)) {
        const char *ns = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_ns(c) : NULL;
        if (ns && strcmp(ns, NS_STANZAS) == 0)
            return xmpp_stanza_get_name(c);
    }
    return NULL;
}

/* §17.3: errors that say the recipient is not there.  A message to a
 * full JID that has gone offline bounces with service-unavailable (RFC 6121
 * 8.5.3.2.1), so it counts for messages. */
static bool is_delivery_error(const char *cond)
{
    static const char *const conds[] = {
        "gone", "item-not-found", "recipient-unavailable", "redirect",
        "remote-server-not-found", "remote-server-timeout",
        "service-unavailable", NULL};
    for (const char *const *c = conds; cond && *c; c++)
        if (strcmp(cond, *c) == 0)
            return true;
    return false;
}

static void handle_bounce(struct muc *muc, const struct stanza_in *in)
{
    if (is_delivery_error(error_condition(in)))
        muc_ghost_remove(muc, in->from_text);
}

/* ---- limits ---------------------------------------------------------------------------- */

/* message_rate messages per 10 seconds per occupant, in bursts of up to
 * message_rate. */
static bool rate_allows(struct muc *muc, struct muc_occupant *occ)
{
    if (rate_bucket_take(&occ->rate, (uint32_t)muc->cfg->muc.message_rate,
                         10000, (uint32_t)loop_now(muc->loop)))
        return true;
    muc->stats.rate_limited++;
    return false;
}

static bool body_too_long(struct muc *muc, const char *body)
{
    return body && strlen(body) > (size_t)muc->cfg->muc.max_body_bytes;
}

/* ---- serialising a message's payload ------------------------------------------------------- */

/* Children we never pass on: ids only the room may stamp (XEP-0359,
 * XEP-0421), and muc#user data only the service may generate. */
static bool message_child_kept(xmpp_stanza_t *c, const char *room_jid)
{
    const char *name = xmpp_stanza_get_name(c);
    const char *ns = xmpp_stanza_get_ns(c);
    if (!name)
        return false;
    if (!ns)
        return true;
    if (strcmp(ns, NS_OCCUPANT_ID) == 0 || strcmp(ns, NS_MUC_USER) == 0)
        return false;
    if (strcmp(ns, NS_SID) == 0 && strcmp(name, "stanza-id") == 0) {
        const char *by = stanza_attr(c, "by");
        return !(by && strcmp(by, room_jid) == 0);
    }
    return true;
}

/* Writes <body/> first, then the other kept children; *others_at is where
 * the others start (the archive keeps body and the rest apart). */
static void write_payload(struct buf *b, const struct stanza_in *in,
                          const char *room_jid, const char *body,
                          size_t *others_at)
{
    buf_reset(b);
    if (body) {
        buf_append_str(b, "<body>");
        xml_text(b, body);
        buf_append_str(b, "</body>");
    }
    *others_at = b->len;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(in->st); c;
         c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        const char *name = xmpp_stanza_get_name(c);
        if (name && strcmp(name, "body") == 0)
            continue; /* written above (the first one only) */
        if (message_child_kept(c, room_jid))
            xml_write_stanza(b, c, XML_NS_COMPONENT);
    }
}

static xmpp_stanza_t *body_element(const struct stanza_in *in)
{
    return stanza_child(in->st, "body", NULL);
}

/* ---- subject --------------------------------------------------------------------------------- */

static int set_subject(struct muc_room *room, const char *subject,
                       const struct muc_occupant *by, const char *id)
{
    struct muc *muc = room->muc;
    char *copy = strdup(subject);
    char *nick = by ? strdup(by->nick) : NULL;
    if (!copy || (by && !nick)) {
        free(copy);
        free(nick);
        return -1;
    }
    struct muc_msg msg = {.room = room, .at_us = stamp_now_us(),
                          .nick = by ? by->nick : NULL, .id = id,
                          .occupant_id = by ? by->occupant_id : NULL};
    struct buf *b = &muc->scratch;
    buf_reset(b);
    buf_append_str(b, "<subject>");
    xml_text(b, subject);
    buf_append_str(b, "</subject>");
    msg.payload = buf_cstr(b);
    msg.payload_len = b->len;
    muc_stanza_id_make(muc, msg.stanza_id);
    uint64_t seq = 0;
    if (muc_archiving(room)) {
        seq = muc_archive_event(room, ARCHIVE_SUBJECT, by,
                                by ? by->nick : NULL, subject, NULL,
                                msg.stanza_id, msg.at_us, false);
        if (seq == 0) {
            free(copy);
            free(nick);
            return -1;
        }
    }
    free(room->subject);
    free(room->subject_nick);
    room->subject = copy;
    room->subject_nick = nick;
    room->subject_at_us = msg.at_us;
    if (room->stored)
        muc_persist_subject(room);
    return muc_msg_release(&msg, seq);
}

int muc_room_set_subject(struct muc_room *room, const char *subject)
{
    if (room->destroying)
        return -1;
    if (room->subject && strcmp(room->subject, subject) == 0)
        return 0;
    return set_subject(room, subject, NULL, NULL) < 0 ? -1 : 1;
}

/* ---- groupchat --------------------------------------------------------------------------------- */

static bool is_subject_change(const struct stanza_in *in)
{
    return stanza_child(in->st, "subject", NULL) && !body_element(in) &&
           !stanza_child(in->st, "thread", NULL);
}

/* The sender's session in the room; else NULL, and the sender is told
 * (not-acceptable) that they are not in it. */
static struct muc_session *sender_session(struct muc *muc,
                                          struct muc_room *room,
                                          const struct stanza_in *in)
{
    struct muc_session *s = muc_session_find(room, in->from_text);
    if (!s)
        reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                    "You are not in this room");
    return s;
}

/* A subject change (§8.1): refused to invisible observers, over the
 * length limit, or without the right (the room's hook may grant it). */
static void change_subject(struct muc *muc, struct muc_room *room,
                           struct muc_occupant *occ,
                           const struct stanza_in *in)
{
    if (occ->invisible) {
        reply_error(muc, in, room->jid, XERR_FORBIDDEN,
                    "You are observing invisibly and cannot change the "
                    "subject");
        return;
    }
    const char *subject = stanza_text(stanza_child(in->st, "subject",
                                                   NULL));
    if (body_too_long(muc, subject)) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                    "The subject is too long");
        return;
    }
    bool allowed = muc_priv_change_subject((enum muc_role)occ->role,
                                           room->cfg.change_subject);
    if (!allowed && room->hooks && room->hooks->subject_changing)
        allowed = room->hooks->subject_changing(room->ud, room, occ,
                                                subject ? subject : "");
    if (!allowed) {
        reply_error(muc, in, room->jid, XERR_FORBIDDEN,
                    "You are not allowed to change the subject");
        return;
    }
    if (set_subject(room, subject, occ, in->id) < 0)
        reply_error(muc, in, room->jid, XERR_RESOURCE_CONSTRAINT,
                    "The subject could not be stored; try again");
}

/* A groupchat message that may be sent: archived (a body, in an archived
 * room), then fanned out. */
static void relay(struct muc *muc, struct muc_room *room,
                  struct muc_occupant *occ, const struct stanza_in *in,
                  const char *body)
{
    struct muc_msg msg = {.room = room, .at_us = stamp_now_us(),
                          .nick = occ->nick, .id = in->id,
                          .occupant_id = occ->occupant_id,
                          .history = body != NULL};
    size_t others_at;
    struct buf *b = &muc->scratch;
    write_payload(b, in, room->jid, body, &others_at);
    if (b->len > (size_t)muc->cfg->muc.max_stanza_bytes) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                    "Your message is too large");
        return;
    }
    msg.payload = buf_cstr(b);
    msg.payload_len = b->len;
    uint64_t seq = 0;
    if (body) {
        muc_stanza_id_make(muc, msg.stanza_id);
        if (muc_archiving(room)) {
            seq = muc_archive_message(room, occ, &msg, body,
                                      b->len > others_at ? b->data + others_at
                                                         : NULL);
            if (seq == 0) {
                reply_error(muc, in, room->jid, XERR_RESOURCE_CONSTRAINT,
                            "Your message could not be stored; try again");
                return;
            }
        }
    }
    if (muc_msg_release(&msg, seq) < 0)
        reply_error(muc, in, room->jid, XERR_RESOURCE_CONSTRAINT,
                    "Your message could not be sent; try again");
    else if (body)
        muc->stats.groupchat++;
}

static void groupchat(struct muc *muc, struct muc_room *room,
                      const struct stanza_in *in)
{
    struct muc_session *s = sender_session(muc, room, in);
    if (!s)
        return;
    struct muc_occupant *occ = s->occ;

    if (is_subject_change(in)) {
        change_subject(muc, room, occ, in);
        return;
    }

    xmpp_stanza_t *body_el = body_element(in);
    const char *body = body_el ? stanza_text(body_el) : NULL;
    if (body_too_long(muc, body)) {
        char text[96];
        snprintf(text, sizeof text,
                 "Your message is too long (at most %d bytes)",
                 muc->cfg->muc.max_body_bytes);
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION, text);
        return;
    }
    /* An observer's client sends chat states (poezio: on every keystroke
     * and tab switch): dropped without a word, since an error each time is
     * noise and relaying them would show the observer. */
    if (occ->invisible && !body)
        return;
    /* Every groupchat message is fanned out, chat states included: all of
     * them count. */
    if (!rate_allows(muc, occ)) {
        struct xerr err;
        xerr_set(&err, XERR_RESOURCE_CONSTRAINT,
                 "You are sending messages too fast; wait a moment");
        muc_error_write(out_of(muc), in, &err, room->jid, NULL);
        return;
    }
    if (body && room->hooks && room->hooks->message) {
        enum muc_message_verdict v =
            room->hooks->message(room->ud, room, occ, body, in);
        if (v == MUC_MESSAGE_CONSUMED)
            return;
        /* The hook may have acted on the room or on the sender. */
        if (room->destroying || !(s = muc_session_find(room, in->from_text)))
            return;
        occ = s->occ;
    }
    if (occ->invisible) {
        reply_error(muc, in, room->jid, XERR_FORBIDDEN,
                    "You are observing invisibly: your messages would not be "
                    "seen. Private messages to staff are possible.");
        return;
    }
    if (!muc_priv_speak((enum muc_role)occ->role, room->cfg.moderated)) {
        reply_error(muc, in, room->jid, XERR_FORBIDDEN,
                    "You need voice to write in this room");
        return;
    }

    relay(muc, room, occ, in, body);
}

/* ---- voice requests (§7.13, §8.6) ------------------------------------------------------------------------ */

/* A visitor asks for voice: each moderator who may see it gets an approval
 * form (at most once per VOICE_REQUEST_INTERVAL_S per visitor); a
 * moderator's submitted form with muc#request_allow grants it.  Every room
 * takes them (and says so in disco#info): a moderator may make anyone a
 * visitor. */
static void voice_request(struct muc *muc, struct muc_room *room,
                          const struct stanza_in *in, xmpp_stanza_t *form)
{
    struct muc_session *s = sender_session(muc, room, in);
    if (!s)
        return;
    struct muc_occupant *occ = s->occ;
    if (strcmp(form_type(form), "submit") == 0 &&
        form_value(form, "muc#request_allow")) {
        /* A moderator's answer. */
        bool allow = false;
        const char *nick = form_value(form, "muc#roomnick");
        form_parse_bool(form_value(form, "muc#request_allow"), &allow);
        if (occ->role != MUC_ROLE_MODERATOR) {
            reply_error(muc, in, room->jid, XERR_FORBIDDEN,
                        "Only moderators may grant voice");
            return;
        }
        struct muc_occupant *target =
            nick ? muc_visible_occupant(room, nick, occ, occ->privileged) : NULL;
        if (!target) {
            reply_error(muc, in, room->jid, XERR_ITEM_NOT_FOUND,
                        "There is nobody with that nickname here");
            return;
        }
        if (allow && target->role == MUC_ROLE_VISITOR)
            muc_occupant_set_role(target, MUC_ROLE_PARTICIPANT, NULL);
        return;
    }
    if (occ->role != MUC_ROLE_VISITOR)
        return; /* nothing to ask for */
    /* Each request reaches every moderator: once in a while only. */
    uint32_t now_s = (uint32_t)(loop_now(muc->loop) / 1000) | 1; /* never 0 */
    if (occ->voice_asked_s &&
        now_s - occ->voice_asked_s < VOICE_REQUEST_INTERVAL_S) {
        reply_error(muc, in, room->jid, XERR_RESOURCE_CONSTRAINT,
                    "You asked for voice a moment ago; wait for a moderator");
        return;
    }
    occ->voice_asked_s = now_s;
    struct buf *out = out_of(muc);
    for (struct muc_occupant *m = room->occupants; m; m = m->next) {
        if (m->role != MUC_ROLE_MODERATOR ||
            !muc_visible_to(room, m, m->privileged, occ))
            continue;
        for (struct muc_session *ms = m->sessions; ms; ms = ms->next) {
            buf_append_str(out, "<message");
            xml_attr(out, "from", room->jid);
            xml_attr(out, "to", ms->jid);
            buf_append_char(out, '>');
            form_open(out, "form", NS_MUC_REQUEST, "Voice request",
                      "To approve this request for voice, select the "
                      "\"Grant voice\" checkbox and click OK.");
            form_add(out, "muc#role", "list-single", "Requested role",
                     "participant");
            if (muc_jids_visible_to(room, m, m->privileged))
                form_add(out, "muc#jid", "jid-single", "User ID",
                         occ->sessions->jid);
            form_add(out, "muc#roomnick", "text-single", "Room nickname",
                     occ->nick);
            form_add_bool(out, "muc#request_allow", "Grant voice", false);
            form_close(out);
            buf_append_str(out, "</message>");
        }
    }
}

/* ---- the handlers --------------------------------------------------------------------------------- */

void muc_message_to_room(void *ud, const struct stanza_in *in)
{
    struct muc *muc = ud;
    if (in->type && strcmp(in->type, "error") == 0) {
        handle_bounce(muc, in);
        return;
    }
    struct muc_room *room = muc_room_for_sender(muc, in);
    if (!room || room->destroying ||
        (room->locked && !muc_session_find(room, in->from_text))) {
        reply_error(muc, in, NULL, XERR_ITEM_NOT_FOUND,
                    "The room does not exist");
        return;
    }
    if (in->type && strcmp(in->type, "groupchat") == 0) {
        groupchat(muc, room, in);
        return;
    }
    xmpp_stanza_t *x = stanza_child(in->st, "x", NS_MUC_USER);
    if (x && stanza_child(x, "invite", NULL)) {
        muc_invite_handle(muc, room, in, x);
        return;
    }
    if (x && stanza_child(x, "decline", NULL)) {
        muc_decline_handle(muc, room, in, stanza_child(x, "decline", NULL));
        return;
    }
    xmpp_stanza_t *form = form_find(in->st);
    if (form && form_form_type(form) &&
        strcmp(form_form_type(form), NS_MUC_REQUEST) == 0) {
        voice_request(muc, room, in, form);
        return;
    }
    struct muc_session *s = muc_session_find(room, in->from_text);
    if (s && form && room->hooks && room->hooks->form_submitted &&
        strcmp(form_type(form), "submit") == 0) {
        struct xerr err;
        xerr_init(&err);
        if (room->hooks->form_submitted(room->ud, room, s->occ, form, in,
                                        &err) < 0)
            muc_error_write(out_of(muc), in, &err, room->jid, NULL);
        return;
    }
    if (!s) {
        xmpp_stanza_t *body = body_element(in);
        if (room->hooks && room->hooks->outsider_message) {
            if (body && body_too_long(muc, stanza_text(body))) {
                reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                            "Your message is too long");
                return;
            }
            room->hooks->outsider_message(room->ud, room, in,
                                          body ? stanza_text(body) : NULL);
            return;
        }
        if (body)
            reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                        "You are not in this room");
        return;
    }
    if (body_element(in))
        reply_error(muc, in, room->jid, XERR_BAD_REQUEST,
                    "Messages to the room must be of type groupchat");
}

/* The occupant a private message goes to, or NULL (the sender told why).
 * Policy before existence: a refusal must not tell a nick that exists
 * from one that does not. */
static struct muc_occupant *pm_recipient(struct muc *muc,
                                         struct muc_room *room,
                                         const struct stanza_in *in,
                                         struct muc_occupant *from)
{
    if (room->cfg.pm_privileged_only && !from->privileged) {
        reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                    "Private messages are not available in this room");
        return NULL;
    }
    struct muc_occupant *to = muc_visible_occupant(room, in->to.resource, from,
                                                   from->privileged);
    if (!to) {
        reply_error(muc, in, room->jid, XERR_ITEM_NOT_FOUND,
                    "There is nobody with that nickname here");
        return NULL;
    }
    switch (muc_pm_check(room, from, to)) {
    case MUC_PM_OK:
        return to;
    case MUC_PM_UNSEEN:
        reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                    "While observing invisibly you can write privately only "
                    "to staff");
        return NULL;
    case MUC_PM_NOT_ACCEPTABLE:
    default:
        reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                    "Private messages are not available in this room");
        return NULL;
    }
}

/* The private message (payload b) to each session of `to`. */
static void deliver_private(struct muc *muc, struct muc_room *room,
                            const struct stanza_in *in,
                            const struct muc_occupant *from,
                            const struct muc_occupant *to,
                            const struct buf *b, bool counted)
{
    char sender[JID_TEXT_MAX + 1];
    snprintf(sender, sizeof sender, "%s/%s", room->jid, from->nick);
    struct buf *out = out_of(muc);
    if (counted)
        muc->stats.private_msgs++;
    for (struct muc_session *t = to->sessions; t; t = t->next) {
        buf_append_str(out, "<message");
        xml_attr(out, "from", sender);
        xml_attr(out, "to", t->jid);
        xml_attr(out, "type", in->type);
        xml_attr(out, "id", in->id);
        buf_append_char(out, '>');
        buf_append(out, b->data ? b->data : "", b->len);
        /* Off the record on the users' servers too: XEP-0334 asks the
         * recipient's server not to keep the message in its archive
         * (Prosody's and ejabberd's mod_mam honour it). */
        buf_append_str(out, "<x xmlns='" NS_MUC_USER "'/>"
                            "<no-permanent-store xmlns='urn:xmpp:hints'/>"
                            "<occupant-id xmlns='" NS_OCCUPANT_ID "' id='");
        buf_append_str(out, from->occupant_id);
        buf_append_str(out, "'/></message>");
    }
}

/* A privileged occupant writes the room's voice: the layer above's, if it
 * wants it (text commands), else an error that says so.  Chat states and
 * other body-less messages are dropped without a word, as an observer's
 * are in the room. */
static void message_to_voice(struct muc *muc, struct muc_room *room,
                             struct muc_occupant *from,
                             const struct stanza_in *in)
{
    xmpp_stanza_t *body_el = body_element(in);
    const char *body = body_el ? stanza_text(body_el) : NULL;
    if (!body)
        return;
    if (body_too_long(muc, body)) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                    "Your message is too long");
        return;
    }
    if (!rate_allows(muc, from)) {
        reply_error(muc, in, room->jid, XERR_RESOURCE_CONSTRAINT,
                    "You are sending messages too fast; wait a moment");
        return;
    }
    struct xerr err;
    xerr_set(&err, XERR_FEATURE_NOT_IMPLEMENTED,
             "%s speaks for the room and reads no messages", room->voice);
    if (room->hooks && room->hooks->voice_message) {
        xerr_init(&err);
        if (room->hooks->voice_message(room->ud, room, from, body, in,
                                       &err) == 0)
            return;
    }
    muc_error_write(out_of(muc), in, &err, room->jid, NULL);
}

void muc_message_to_occupant(void *ud, const struct stanza_in *in)
{
    struct muc *muc = ud;
    if (in->type && strcmp(in->type, "error") == 0) {
        handle_bounce(muc, in);
        return;
    }
    struct muc_room *room = muc_room_for_sender(muc, in);
    if (!room || room->destroying) {
        reply_error(muc, in, NULL, XERR_ITEM_NOT_FOUND,
                    "The room does not exist");
        return;
    }
    if (in->type && strcmp(in->type, "groupchat") == 0) {
        reply_error(muc, in, room->jid, XERR_BAD_REQUEST,
                    "A private message cannot be of type groupchat");
        return;
    }
    struct muc_session *s = sender_session(muc, room, in);
    if (!s)
        return;
    struct muc_occupant *from = s->occ;
    /* Only those who see the voice can reach it; for anyone else its nick
     * is as free as any (pm_recipient answers as for nobody). */
    if (from->privileged && muc_voice_is(room, in->to.resource)) {
        message_to_voice(muc, room, from, in);
        return;
    }
    struct muc_occupant *to = pm_recipient(muc, room, in, from);
    if (!to)
        return;
    xmpp_stanza_t *body_el = body_element(in);
    const char *body = body_el ? stanza_text(body_el) : NULL;
    if (body_too_long(muc, body)) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                    "Your message is too long");
        return;
    }
    if (body && !rate_allows(muc, from)) {
        reply_error(muc, in, room->jid, XERR_RESOURCE_CONSTRAINT,
                    "You are sending messages too fast; wait a moment");
        return;
    }
    /* Off the record: delivered, never archived nor kept (PRODUCT.md 2). */
    size_t others_at;
    struct buf *b = &muc->scratch;
    write_payload(b, in, room->jid, body, &others_at);
    if (b->len > (size_t)muc->cfg->muc.max_stanza_bytes) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                    "Your message is too large");
        return;
    }
    deliver_private(muc, room, in, from, to, b, body != NULL);
}

/* ---- room status messages ------------------------------------------------------------------------- */

int muc_room_post(struct muc_room *room, const char *text, bool staff_only)
{
    return muc_room_post_with(room, text, NULL, staff_only);
}

static int post(struct muc_room *room, const char *text,
                const char *extra_xml, bool staff_only, bool history,
                struct muc_said *said)
{
    if (room->destroying)
        return -1;
    struct muc *muc = room->muc;
    struct muc_msg msg = {.room = room, .at_us = stamp_now_us(),
                          .staff_only = staff_only, .history = history,
                          .voiced = true};
    struct buf *b = &muc->scratch;
    buf_reset(b);
    buf_append_str(b, "<body>");
    xml_text(b, text);
    buf_append_str(b, "</body>");
    if (extra_xml)
        buf_append_str(b, extra_xml);
    msg.payload = buf_cstr(b);
    msg.payload_len = b->len;
    muc_stanza_id_make(muc, msg.stanza_id);
    uint64_t seq = 0;
    if (muc_archiving(room)) {
        seq = muc_archive_event(room, ARCHIVE_SYSTEM, NULL, NULL, text,
                                extra_xml, msg.stanza_id, msg.at_us,
                                staff_only);
        if (seq == 0)
            return -1;
    }
    if (said) {
        snprintf(said->stanza_id, sizeof said->stanza_id, "%s", msg.stanza_id);
        said->at_us = msg.at_us;
    }
    return muc_msg_release(&msg, seq);
}

int muc_room_post_with(struct muc_room *room, const char *text,
                       const char *extra_xml, bool staff_only)
{
    return post(room, text, extra_xml, staff_only, true, NULL);
}

int muc_room_record(struct muc_room *room, const char *text, bool staff_only)
{
    return post(room, text, NULL, staff_only, false, NULL);
}

int muc_room_record_said(struct muc_room *room, const char *text,
                         bool staff_only, struct muc_said *said)
{
    memset(said, 0, sizeof *said);
    int rc = post(room, text, NULL, staff_only, false, said);
    if (rc < 0)
        memset(said, 0, sizeof *said);
    return rc;
}

void muc_room_tell_again(struct muc_room *room, struct muc_occupant *occ,
                         const char *text, const struct muc_said *said)
{
    if (room->destroying || occ->room != room)
        return;
    muc_record_again_write(out_of(room->muc), room, occ, text, said);
}

int muc_occupant_say(struct muc_occupant *occ, const char *text,
                     const char *extra_xml)
{
    struct muc_room *room = occ->room;
    if (room->destroying || occ->invisible)
        return -1;
    struct muc *muc = room->muc;
    struct muc_msg msg = {.room = room, .at_us = stamp_now_us(),
                          .nick = occ->nick,
                          .occupant_id = occ->occupant_id, .history = true};
    struct buf *b = &muc->scratch;
    buf_reset(b);
    buf_append_str(b, "<body>");
    xml_text(b, text);
    buf_append_str(b, "</body>");
    size_t others_at = b->len;
    if (extra_xml)
        buf_append_str(b, extra_xml);
    msg.payload = buf_cstr(b);
    msg.payload_len = b->len;
    muc_stanza_id_make(muc, msg.stanza_id);
    uint64_t seq = 0;
    if (muc_archiving(room)) {
        seq = muc_archive_event(room, ARCHIVE_MESSAGE, occ, occ->nick, text,
                                b->len > others_at ? b->data + others_at
                                                   : NULL,
                                msg.stanza_id, msg.at_us, false);
        if (seq == 0)
            return -1;
    }
    return muc_msg_release(&msg, seq);
}

void muc_room_tell(struct muc_room *room, struct muc_occupant *occ,
                   const char *text)
{
    muc_room_tell_with(room, occ, text, NULL);
}

void muc_room_tell_with(struct muc_room *room, struct muc_occupant *occ,
                        const char *text, const char *extra_xml)
{
    if (room->destroying || occ->room != room)
        return;
    muc_notice_write(out_of(room->muc), room, occ, text, extra_xml);
}
