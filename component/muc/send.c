#include "build-config.h"

#include "muc/send.h"

#include <stdio.h>
#include <string.h>

#include "core/jid.h"
#include "muc/visibility.h"
#include "muc/voice.h"
#include "xmpp/stamp.h"
#include "xmpp/xml.h"

void muc_buf_int(struct buf *out, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    buf_append(out, tmp, (size_t)n);
}

static void write_codes(struct buf *out, const int *codes)
{
    for (int i = 0; i < MUC_MAX_CODES && codes[i]; i++) {
        buf_append_str(out, "<status code='");
        muc_buf_int(out, codes[i]);
        buf_append_str(out, "'/>");
    }
}

static void write_from_occupant(struct buf *out, const struct muc_room *room,
                                const char *nick)
{
    char from[JID_TEXT_MAX + 1];
    snprintf(from, sizeof from, "%s/%s", room->jid, nick);
    xml_attr(out, "from", from);
}

/* The presence's status text; an observer's says so (only those allowed
 * to see an observer ever get its presence: tell them what they are
 * looking at). */
static void write_status(struct buf *out, const char *status, bool invisible)
{
    if (invisible) {
        buf_append_str(out, "<status>");
        buf_append_str(out, "Observer (invisible)");
        if (status && status[0]) {
            buf_append_str(out, ": ");
            xml_text(out, status);
        }
        buf_append_str(out, "</status>");
    } else if (status && status[0]) {
        buf_append_str(out, "<status>");
        xml_text(out, status);
        buf_append_str(out, "</status>");
    }
}

/* The end of the <item/>: the actor and the reason, if any. */
static void write_item_end(struct buf *out, const struct muc_pres *p)
{
    if (p->actor_nick || p->reason) {
        buf_append_char(out, '>');
        if (p->actor_nick) {
            buf_append_str(out, "<actor");
            xml_attr(out, "nick", p->actor_nick);
            buf_append_str(out, "/>");
        }
        if (p->reason) {
            buf_append_str(out, "<reason>");
            xml_text(out, p->reason);
            buf_append_str(out, "</reason>");
        }
        buf_append_str(out, "</item>");
    } else {
        buf_append_str(out, "/>");
    }
}

/* The room's destruction (§10.9): the alternative venue, the reason. */
static void write_destroy(struct buf *out, const struct muc_pres *p)
{
    buf_append_str(out, "<destroy");
    xml_attr(out, "jid", p->destroy_jid);
    if (p->destroy_reason) {
        buf_append_str(out, "><reason>");
        xml_text(out, p->destroy_reason);
        buf_append_str(out, "</reason></destroy>");
    } else {
        buf_append_str(out, "/>");
    }
}

void muc_presence_write(struct buf *out, const struct muc_room *room,
                        const struct muc_occupant *subject,
                        const struct muc_occupant *viewer, const char *to_jid,
                        const struct muc_pres *p)
{
    bool self = viewer == subject;
    bool unavailable = p->type != NULL;

    buf_append_str(out, "<presence");
    write_from_occupant(out, room, subject->nick);
    xml_attr(out, "to", to_jid);
    if (self)
        xml_attr(out, "id", p->self_id);
    xml_attr(out, "type", p->type);
    buf_append_char(out, '>');

    if (!unavailable && subject->show != MUC_SHOW_AVAILABLE) {
        buf_append_str(out, "<show>");
        buf_append_str(out, muc_show_name((enum muc_show)subject->show));
        buf_append_str(out, "</show>");
    }
    write_status(out, unavailable ? p->status_text : subject->status,
                 subject->invisible);
    if (!unavailable && subject->extra)
        buf_append_str(out, subject->extra);

    buf_append_str(out, "<x xmlns='" NS_MUC_USER "'><item");
    xml_attr(out, "affiliation",
             muc_affiliation_name((enum muc_affiliation)subject->affiliation));
    xml_attr(out, "role", unavailable ? "none"
                                      : muc_role_name((enum muc_role)subject->role));
    if (self || muc_jids_visible_to(room, viewer, viewer->privileged))
        xml_attr(out, "jid", self ? to_jid : subject->sessions->jid);
    xml_attr(out, "nick", p->new_nick);
    write_item_end(out, p);
    if (self) {
        /* 110 first, then the rest in ascending order as clients expect
         * nothing in particular but tests read better. */
        buf_append_str(out, "<status code='110'/>");
        write_codes(out, p->self_codes);
    }
    write_codes(out, p->codes);
    if (p->destroy)
        write_destroy(out, p);
    buf_append_str(out, "</x><occupant-id xmlns='" NS_OCCUPANT_ID "'");
    xml_attr(out, "id", subject->occupant_id);
    buf_append_str(out, "/>");
    if (subject->invisible)
        buf_append_str(out, "<x xmlns='" NS_OBSERVER "'/>");
    buf_append_str(out, "</presence>");
}

void muc_presence_broadcast(const struct muc_room *room,
                            const struct muc_occupant *subject,
                            const struct muc_pres *p, bool skip_self)
{
    struct buf *out = router_out(room->muc->router);
    for (const struct muc_occupant *v = room->occupants; v; v = v->next) {
        if (v == subject && skip_self)
            continue;
        if (!muc_visible_to(room, v, v->privileged, subject))
            continue;
        for (const struct muc_session *s = v->sessions; s; s = s->next)
            muc_presence_write(out, room, subject, v, s->jid, p);
    }
}

void muc_error_write(struct buf *out, const struct stanza_in *in,
                     const struct xerr *e, const char *by, const char *type)
{
    if (in->type && strcmp(in->type, "error") == 0)
        return; /* never answer an error with an error */
    if (in->kind == STANZA_IQ && in->type && strcmp(in->type, "result") == 0)
        return;
    stanza_open_reply(out, in, "error");
    buf_append_char(out, '>');
    if (in->kind == STANZA_PRESENCE)
        buf_append_str(out, "<x xmlns='" NS_MUC "'/>");
    buf_append_str(out, "<error");
    xml_attr(out, "type", type ? type : xerr_cond_type(e->cond));
    xml_attr(out, "by", by);
    buf_append_str(out, "><");
    buf_append_str(out, xerr_cond_name(e->cond));
    buf_append_str(out, " xmlns='" NS_STANZAS "'/>");
    if (e->text[0]) {
        buf_append_str(out, "<text xmlns='" NS_STANZAS "' xml:lang='en'>");
        xml_text(out, e->text);
        buf_append_str(out, "</text>");
    }
    buf_append_str(out, "</error></");
    buf_append_str(out, in->name);
    buf_append_char(out, '>');
}

void muc_notice_write(struct buf *out, const struct muc_room *room,
                      const struct muc_occupant *to, const char *text,
                      const char *extra_xml)
{
    const char *voice = muc_voice_for(room, to->privileged);
    char from[JID_TEXT_MAX + 1];
    if (voice)
        snprintf(from, sizeof from, "%s/%s", room->jid, voice);
    else
        snprintf(from, sizeof from, "%s", room->jid);
    for (const struct muc_session *s = to->sessions; s; s = s->next) {
        buf_append_str(out, "<message type='groupchat'");
        xml_attr(out, "from", from);
        xml_attr(out, "to", s->jid);
        buf_append_str(out, "><body>");
        xml_text(out, text);
        buf_append_str(out, "</body>");
        if (extra_xml)
            buf_append_str(out, extra_xml);
        if (voice) {
            buf_append_str(out, "<occupant-id xmlns='" NS_OCCUPANT_ID "'");
            xml_attr(out, "id", room->voice_id);
            buf_append_str(out, "/>");
        }
        /* Not part of the conversation: clients should not store it. */
        buf_append_str(out, "<no-store xmlns='urn:xmpp:hints'/></message>");
    }
}

void muc_record_again_write(struct buf *out, const struct muc_room *room,
                            const struct muc_occupant *to, const char *text,
                            const struct muc_said *said)
{
    const char *voice = muc_voice_for(room, to->privileged);
    char from[JID_TEXT_MAX + 1];
    if (voice)
        snprintf(from, sizeof from, "%s/%s", room->jid, voice);
    else
        snprintf(from, sizeof from, "%s", room->jid);
    char stamp[STAMP_TEXT_MAX];
    stamp_format(said->at_us, stamp);
    for (const struct muc_session *s = to->sessions; s; s = s->next) {
        buf_append_str(out, "<message type='groupchat'");
        xml_attr(out, "from", from);
        xml_attr(out, "to", s->jid);
        buf_append_str(out, "><body>");
        xml_text(out, text);
        buf_append_str(out, "</body><delay xmlns='" NS_DELAY "'");
        xml_attr(out, "from", room->jid);
        xml_attr(out, "stamp", stamp);
        buf_append_str(out, "/><stanza-id xmlns='" NS_SID "'");
        xml_attr(out, "id", said->stanza_id);
        xml_attr(out, "by", room->jid);
        buf_append_str(out, "/>");
        if (voice) {
            buf_append_str(out, "<occupant-id xmlns='" NS_OCCUPANT_ID "'");
            xml_attr(out, "id", room->voice_id);
            buf_append_str(out, "/>");
        }
        buf_append_str(out, "</message>");
    }
}
