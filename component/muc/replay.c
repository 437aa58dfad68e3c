/* What a joining session is sent after the roster: the discussion history
 * its <history/> asks for (§7.2.15), and the subject (§7.2.16). */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "muc/history.h"
#include "muc/replay.h"
#include "muc/room.h"
#include "muc/visibility.h"
#include "muc/voice.h"
#include "xmpp/stamp.h"
#include "xmpp/xml.h"

static struct buf *out_of(const struct muc *muc)
{
    return router_out(muc->router);
}

void muc_subject_send(struct muc_room *room, const char *to_jid)
{
    struct buf *out = out_of(room->muc);
    buf_append_str(out, "<message type='groupchat'");
    if (room->subject_nick) {
        char from[JID_TEXT_MAX + 1];
        snprintf(from, sizeof from, "%s/%s", room->jid, room->subject_nick);
        xml_attr(out, "from", from);
    } else {
        xml_attr(out, "from", room->jid);
    }
    xml_attr(out, "to", to_jid);
    buf_append_str(out, "><subject>");
    if (room->subject)
        xml_text(out, room->subject);
    buf_append_str(out, "</subject>");
    if (room->subject) {
        char stamp[STAMP_TEXT_MAX];
        stamp_format(room->subject_at_us, stamp);
        buf_append_str(out, "<delay xmlns='" NS_DELAY "'");
        xml_attr(out, "from", room->jid);
        xml_attr(out, "stamp", stamp);
        buf_append_str(out, "/>");
    }
    buf_append_str(out, "</message>");
}

static long attr_long(xmpp_stanza_t *el, const char *name, long dflt)
{
    const char *v = stanza_attr(el, name);
    if (!v || !*v)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n < 0) ? dflt : n;
}

/* What one history message costs a client, roughly, for maxchars: our
 * envelope is about 250 characters beyond the payload. */
static size_t history_chars(const struct muc_history_entry *e)
{
    return 250 + e->nick_len + e->stanza_id_len + e->occupant_id_len +
           e->payload_len;
}

/* What the joiner's <history/> asks for, within the room's own limit. */
struct history_ask {
    long maxstanzas;
    long maxchars;      /* -1: no limit */
    int64_t not_before; /* INT64_MIN: no limit */
};

static void read_history_ask(const struct muc_room *room,
                             xmpp_stanza_t *history, struct history_ask *ask)
{
    ask->maxstanzas = muc_room_history_size(room);
    ask->maxchars = -1;
    ask->not_before = INT64_MIN;
    if (!history)
        return;
    long asked = attr_long(history, "maxstanzas", ask->maxstanzas);
    if (asked < ask->maxstanzas)
        ask->maxstanzas = asked;
    ask->maxchars = attr_long(history, "maxchars", -1);
    long seconds = attr_long(history, "seconds", -1);
    /* Any number may come in (strtol gives LONG_MAX past the range): more
     * seconds than since 1970 means no limit, and the product below can no
     * longer overflow. */
    int64_t now_us = stamp_now_us();
    if (seconds >= 0 && seconds <= now_us / 1000000)
        ask->not_before = now_us - (int64_t)seconds * 1000000;
    const char *since = stanza_attr(history, "since");
    int64_t since_us;
    if (since && stamp_parse(since, &since_us) == 0 &&
        since_us > ask->not_before)
        ask->not_before = since_us;
}

/* Writes one history entry as a delayed groupchat message to to_jid. */
static void write_history_message(struct buf *out, const struct muc_room *room,
                                  const struct muc_history_entry *e,
                                  const char *to_jid, bool privileged)
{
    char from[JID_TEXT_MAX + 1];
    const char *voice = e->voiced ? muc_voice_for(room, privileged) : NULL;
    const char *occupant_id = e->occupant_id;
    size_t occupant_id_len = e->occupant_id_len;
    if (e->nick_len) {
        /* bytes: the whole nick, which the entry stores unterminated */
        snprintf(from, sizeof from, "%s/%.*s", room->jid, (int)e->nick_len,
                 e->nick);
    } else if (voice) {
        snprintf(from, sizeof from, "%s/%s", room->jid, voice);
        occupant_id = room->voice_id;
        occupant_id_len = strlen(room->voice_id);
    } else {
        snprintf(from, sizeof from, "%s", room->jid);
    }
    char stamp[STAMP_TEXT_MAX];
    stamp_format(e->at_us, stamp);
    buf_append_str(out, "<message type='groupchat'");
    xml_attr(out, "from", from);
    xml_attr(out, "to", to_jid);
    /* The sender's id, as live (muc#stable_id): corrections refer to it. */
    xml_attr_n(out, "id", e->message_id, e->message_id_len);
    buf_append_char(out, '>');
    buf_append(out, e->payload, e->payload_len);
    buf_append_str(out, "<delay xmlns='" NS_DELAY "'");
    xml_attr(out, "from", room->jid);
    xml_attr(out, "stamp", stamp);
    buf_append_str(out, "/><stanza-id xmlns='" NS_SID "' id='");
    buf_append(out, e->stanza_id, e->stanza_id_len);
    buf_append_str(out, "'");
    xml_attr(out, "by", room->jid);
    buf_append_str(out, "/>");
    if (occupant_id_len) {
        buf_append_str(out, "<occupant-id xmlns='" NS_OCCUPANT_ID "' id='");
        buf_append(out, occupant_id, occupant_id_len);
        buf_append_str(out, "'/>");
    }
    buf_append_str(out, "</message>");
}

void muc_history_send(struct muc_room *room, const struct muc_occupant *occ,
                      const char *to_jid, xmpp_stanza_t *history)
{
    const struct muc_history *h = &room->history;
    if (h->count == 0)
        return;
    struct history_ask ask;
    read_history_ask(room, history, &ask);
    if (ask.maxstanzas <= 0 || ask.maxchars == 0)
        return;

    /* Choose from the newest backwards, then send oldest first. */
    size_t *offsets = malloc(h->count * sizeof *offsets);
    if (!offsets)
        return;
    size_t n = 0, pos = 0;
    struct muc_history_entry e;
    size_t at = 0;
    while (at = pos, n < h->count && muc_history_next(h, &pos, &e)) {
        if (!muc_event_visible_to(e.staff_only, occ->privileged))
            continue;
        if (e.at_us < ask.not_before)
            continue;
        offsets[n++] = at;
    }
    size_t first = n, chars = 0;
    while (first > 0 && (long)(n - first) < ask.maxstanzas) {
        size_t p = offsets[first - 1];
        muc_history_next(h, &p, &e);
        size_t c = history_chars(&e);
        if (ask.maxchars > 0 && chars + c > (size_t)ask.maxchars)
            break;
        chars += c;
        first--;
    }

    struct buf *out = out_of(room->muc);
    for (size_t i = first; i < n; i++) {
        size_t p = offsets[i];
        muc_history_next(h, &p, &e);
        write_history_message(out, room, &e, to_jid, occ->privileged);
    }
    free(offsets);
}
