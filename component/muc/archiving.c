/* Everything between the MUC and the archive (store/archive.h): events,
 * and the FIFO that holds room messages until the archive says they are
 * durable, so that nothing anyone saw can be lost in a crash.  And the
 * fan-out itself: the payload is serialised once per message and each
 * recipient costs one <message> written into the link's buffer, with no
 * allocation. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/handlers.h"
#include "muc/history.h"
#include "xmpp/xml.h"

#define LOG "muc"

struct muc_held {
    struct muc_held *next;
    uint64_t seq;
    struct muc_msg msg; /* strings point into data */
    char data[];
};

bool muc_archiving(const struct muc_room *room)
{
    return room->cfg.archived && room->muc->archive.archive != NULL;
}

static uint64_t append_event(struct muc_room *room, struct archive_event *ev,
                             const struct muc_occupant *actor)
{
    struct muc *muc = room->muc;
    if (!muc_archiving(room))
        return 1;
    char bare[JID_TEXT_MAX + 1];
    ev->room = room->name;
    ev->ticket_id = room->ticket_id;
    if (actor) {
        ev->actor_jid = muc_occupant_bare_jid(actor, bare, sizeof bare);
        ev->occupant_id = actor->occupant_id;
    }
    uint64_t seq = muc->archive.append(muc->archive.archive, ev);
    if (seq == 0)
        log_warn(LOG, "%s: the archive refused an event", room->jid);
    return seq;
}

uint64_t muc_archive_event(struct muc_room *room, enum archive_kind kind,
                           const struct muc_occupant *actor,
                           const char *actor_nick, const char *body,
                           const char *payload, const char *stanza_id,
                           int64_t at_us, bool staff_only)
{
    struct archive_event ev = {
        .stanza_id = stanza_id,
        .at_us = at_us,
        .kind = kind,
        .actor_nick = actor_nick,
        .body = body,
        .payload = payload,
        .staff_only = staff_only,
    };
    return append_event(room, &ev, actor);
}

uint64_t muc_archive_message(struct muc_room *room,
                             const struct muc_occupant *occ,
                             const struct muc_msg *msg, const char *body,
                             const char *payload_extra)
{
    struct archive_event ev = {
        .stanza_id = msg->stanza_id,
        .at_us = msg->at_us,
        .kind = ARCHIVE_MESSAGE,
        .actor_nick = occ->nick,
        .message_id = msg->id,
        .body = body,
        .payload = payload_extra,
        .staff_only = msg->staff_only,
    };
    return append_event(room, &ev, occ);
}

/* ---- fan-out --------------------------------------------------------------------- */

void muc_msg_fanout(const struct muc_msg *msg)
{
    struct muc_room *room = msg->room;
    struct muc *muc = room->muc;
    struct buf *out = router_out(muc->router);

    /* head: everything before the recipient's JID; tail: everything
     * after it.  Both built once. */
    struct buf *hb = &muc->scratch2;
    buf_reset(hb);
    buf_append_str(hb, "<message type='groupchat' from='");
    xml_attr_value(hb, room->jid);
    if (msg->nick) {
        buf_append_char(hb, '/');
        xml_attr_value(hb, msg->nick);
    }
    buf_append_char(hb, '\'');
    xml_attr(hb, "id", msg->id);
    buf_append_str(hb, " to='");
    size_t head_len = hb->len;
    buf_append_str(hb, "'>");
    buf_append(hb, msg->payload, msg->payload_len);
    if (msg->stanza_id[0]) {
        buf_append_str(hb, "<stanza-id xmlns='" NS_SID "' id='");
        buf_append_str(hb, msg->stanza_id);
        buf_append_str(hb, "' by='");
        xml_attr_value(hb, room->jid);
        buf_append_str(hb, "'/>");
    }
    if (msg->occupant_id) {
        buf_append_str(hb, "<occupant-id xmlns='" NS_OCCUPANT_ID "' id='");
        buf_append_str(hb, msg->occupant_id);
        buf_append_str(hb, "'/>");
    }
    buf_append_str(hb, "</message>");
    if (buf_failed(hb))
        return;
    const char *head = hb->data, *tail = hb->data + head_len;
    size_t tail_len = hb->len - head_len;

    for (const struct muc_occupant *o = room->occupants; o; o = o->next) {
        if (msg->staff_only && !o->privileged)
            continue; /* muc_event_visible_to(), inlined on the hot path */
        for (const struct muc_session *s = o->sessions; s; s = s->next) {
            buf_append(out, head, head_len);
            xml_attr_value(out, s->jid);
            buf_append(out, tail, tail_len);
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
        };
        muc_history_add(&room->history, &e,
                        (unsigned)muc_room_history_size(room),
                        (size_t)muc->cfg->muc.history_bytes);
    }
}

/* ---- holding until durable ---------------------------------------------------------------- */

static struct muc_held *hold(const struct muc_msg *m, uint64_t seq)
{
    size_t nick = m->nick ? strlen(m->nick) + 1 : 0;
    size_t id = m->id ? strlen(m->id) + 1 : 0;
    size_t oid = m->occupant_id ? strlen(m->occupant_id) + 1 : 0;
    struct muc_held *h = malloc(sizeof *h + nick + id + oid + m->payload_len + 1);
    if (!h)
        return NULL;
    h->next = NULL;
    h->seq = seq;
    h->msg = *m;
    char *p = h->data;
    if (nick) {
        memcpy(p, m->nick, nick);
        h->msg.nick = p;
        p += nick;
    }
    if (id) {
        memcpy(p, m->id, id);
        h->msg.id = p;
        p += id;
    }
    if (oid) {
        memcpy(p, m->occupant_id, oid);
        h->msg.occupant_id = p;
        p += oid;
    }
    memcpy(p, m->payload, m->payload_len);
    p[m->payload_len] = '\0';
    h->msg.payload = p;
    return h;
}

static void release_durable(struct muc *muc, uint64_t durable)
{
    while (muc->held_head && muc->held_head->seq <= durable) {
        struct muc_held *h = muc->held_head;
        muc->held_head = h->next;
        if (!muc->held_head)
            muc->held_tail = NULL;
        if (h->msg.room) {
            h->msg.room->held--;
            muc_msg_fanout(&h->msg);
        }
        free(h);
    }
}

static void on_durable(void *ud, uint64_t seq)
{
    release_durable(ud, seq);
}

int muc_msg_release(struct muc_msg *msg, uint64_t seq)
{
    struct muc *muc = msg->room->muc;
    if (seq == 0 || !muc_archiving(msg->room)) {
        muc_msg_fanout(msg);
        return 0;
    }
    uint64_t durable = muc->archive.durable(muc->archive.archive);
    if (!muc->held_head && durable >= seq) {
        muc_msg_fanout(msg); /* async mode, or already fsynced */
        return 0;
    }
    struct muc_held *h = hold(msg, seq);
    if (!h)
        return -1;
    msg->room->held++;
    if (muc->held_tail)
        muc->held_tail->next = h;
    else
        muc->held_head = h;
    muc->held_tail = h;
    release_durable(muc, durable);
    return 0;
}

void muc_held_drop_room(struct muc *muc, struct muc_room *room)
{
    if (!room->held)
        return;
    for (struct muc_held *h = muc->held_head; h; h = h->next)
        if (h->msg.room == room)
            h->msg.room = NULL; /* archived, but nobody left to show it to */
    room->held = 0;
}

void muc_archiving_start(struct muc *muc)
{
    if (muc->archive.archive && muc->archive.on_durable)
        muc->archive.on_durable(muc->archive.archive, on_durable, muc);
}

void muc_held_free_all(struct muc *muc)
{
    while (muc->held_head) {
        struct muc_held *h = muc->held_head;
        muc->held_head = h->next;
        free(h);
    }
    muc->held_tail = NULL;
}
