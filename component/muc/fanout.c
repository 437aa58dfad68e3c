/* Writing a room message to every occupant allowed to see it, and keeping
 * it in the history ring.  The payload is serialised once per message and
 * each recipient costs one <message> written into the link's buffer, with
 * no allocation. */
#include "build-config.h"

#include <string.h>

#include "muc/fanout.h"
#include "muc/history.h"
#include "muc/room.h"
#include "muc/send.h"
#include "xmpp/xml.h"

/* One envelope into hb: the head (everything before the recipient's JID)
 * and, at *tail_at, the tail (everything after it). */
static void write_envelope(struct buf *hb, const struct muc_msg *msg,
                           const char *nick, const char *occupant_id,
                           size_t *tail_at)
{
    const struct muc_room *room = msg->room;
    buf_append_str(hb, "<message type='groupchat' from='");
    xml_attr_value(hb, room->jid);
    if (nick) {
        buf_append_char(hb, '/');
        xml_attr_value(hb, nick);
    }
    buf_append_char(hb, '\'');
    xml_attr(hb, "id", msg->id);
    buf_append_str(hb, " to='");
    *tail_at = hb->len;
    buf_append_str(hb, "'>");
    buf_append(hb, msg->payload, msg->payload_len);
    if (msg->stanza_id[0]) {
        buf_append_str(hb, "<stanza-id xmlns='" NS_SID "' id='");
        buf_append_str(hb, msg->stanza_id);
        buf_append_str(hb, "' by='");
        xml_attr_value(hb, room->jid);
        buf_append_str(hb, "'/>");
    }
    if (occupant_id) {
        buf_append_str(hb, "<occupant-id xmlns='" NS_OCCUPANT_ID "' id='");
        buf_append_str(hb, occupant_id);
        buf_append_str(hb, "'/>");
    }
    buf_append_str(hb, "</message>");
}

void muc_msg_fanout(const struct muc_msg *msg)
{
    struct muc_room *room = msg->room;
    struct muc *muc = room->muc;
    struct buf *out = router_out(muc->router);

    /* Both envelopes built once: as everyone gets it, and, for the room's
     * own words in a room with a voice, as privileged occupants do.
     * Offsets first: the buffer may move while it grows. */
    struct buf *hb = &muc->scratch2;
    buf_reset(hb);
    size_t tail_at, voiced_at = 0, voiced_tail_at = 0;
    write_envelope(hb, msg, msg->nick, msg->occupant_id, &tail_at);
    size_t plain_len = hb->len;
    bool voiced = msg->voiced && !msg->nick && room->voice;
    if (voiced) {
        voiced_at = hb->len;
        write_envelope(hb, msg, room->voice, room->voice_id, &voiced_tail_at);
    }
    if (buf_failed(hb))
        return;
    const char *head = hb->data, *tail = hb->data + tail_at;
    size_t head_len = tail_at, tail_len = plain_len - tail_at;
    const char *vhead = hb->data + voiced_at, *vtail = hb->data + voiced_tail_at;
    size_t vhead_len = voiced_tail_at - voiced_at,
           vtail_len = hb->len - voiced_tail_at;

    for (const struct muc_occupant *o = room->occupants; o; o = o->next) {
        if (msg->staff_only && !o->privileged)
            continue; /* muc_event_visible_to(), inlined on the hot path */
        bool v = voiced && o->privileged;
        for (const struct muc_session *s = o->sessions; s; s = s->next) {
            buf_append(out, v ? vhead : head, v ? vhead_len : head_len);
            xml_attr_value(out, s->jid);
            buf_append(out, v ? vtail : tail, v ? vtail_len : tail_len);
        }
    }

    if (msg->history) {
        struct muc_history_entry e = {
            .at_us = msg->at_us,
            .nick = msg->nick ? msg->nick : "",
            .nick_len = msg->nick ? strlen(msg->nick) : 0,
            .stanza_id = msg->stanza_id,
            .stanza_id_len = strlen(msg->stanza_id),
            .occupant_id = msg->occupant_id ? msg->occupant_id : "",
            .occupant_id_len = msg->occupant_id ? strlen(msg->occupant_id) : 0,
            .message_id = msg->id ? msg->id : "",
            .message_id_len = msg->id ? strlen(msg->id) : 0,
            .payload = msg->payload,
            .payload_len = msg->payload_len,
            .staff_only = msg->staff_only,
            .voiced = msg->voiced && !msg->nick,
        };
        muc_history_add(&room->history, &e,
                        (unsigned)muc_room_history_size(room),
                        (size_t)muc->cfg->muc.history_bytes);
    }
}


void muc_status_message_broadcast(struct muc_room *room, const int *codes)
{
    struct buf *out = router_out(room->muc->router);
    for (struct muc_occupant *o = room->occupants; o; o = o->next) {
        for (struct muc_session *s = o->sessions; s; s = s->next) {
            buf_append_str(out, "<message type='groupchat'");
            xml_attr(out, "from", room->jid);
            xml_attr(out, "to", s->jid);
            buf_append_str(out, "><x xmlns='" NS_MUC_USER "'>");
            for (int i = 0; i < MUC_MAX_CODES && codes[i]; i++) {
                buf_append_str(out, "<status code='");
                muc_buf_int(out, codes[i]);
                buf_append_str(out, "'/>");
            }
            buf_append_str(out, "</x></message>");
        }
    }
}
