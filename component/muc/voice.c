/* The room's service voice (voice.h): who hears the room from it, its
 * presence, and its nick kept for it. */
#include "build-config.h"

#include "muc/voice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "xmpp/xml.h"

#define LOG "muc"

/* ASCII letters folded: the nick is the layer above's ("desk"), and a
 * look-alike in case only is what a user would try. */
static bool nick_same(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return false;
    }
    return *a == *b;
}

bool muc_voice_is(const struct muc_room *room, const char *nick)
{
    return room->voice && nick && nick_same(room->voice, nick);
}

const char *muc_voice_for(const struct muc_room *room, bool privileged)
{
    return privileged ? room->voice : NULL;
}

void muc_voice_presence_write(struct buf *out, const struct muc_room *room,
                              const char *to_jid, bool available)
{
    char from[JID_TEXT_MAX + 1];
    snprintf(from, sizeof from, "%s/%s", room->jid, room->voice);
    buf_append_str(out, "<presence");
    xml_attr(out, "from", from);
    xml_attr(out, "to", to_jid);
    if (!available)
        xml_attr(out, "type", "unavailable");
    buf_append_str(out, "><x xmlns='" NS_MUC_USER "'><item affiliation='none'");
    xml_attr(out, "role", available ? "moderator" : "none");
    buf_append_str(out, "/></x><occupant-id xmlns='" NS_OCCUPANT_ID "'");
    xml_attr(out, "id", room->voice_id);
    buf_append_str(out, "/></presence>");
}

static void tell_privileged(const struct muc_room *room, bool available)
{
    struct buf *out = router_out(room->muc->router);
    for (const struct muc_occupant *o = room->occupants; o; o = o->next) {
        if (!o->privileged)
            continue;
        for (const struct muc_session *s = o->sessions; s; s = s->next)
            muc_voice_presence_write(out, room, s->jid, available);
    }
}

void muc_voice_privilege_changed(const struct muc_occupant *occ)
{
    const struct muc_room *room = occ->room;
    if (!room->voice)
        return;
    struct buf *out = router_out(room->muc->router);
    for (const struct muc_session *s = occ->sessions; s; s = s->next)
        muc_voice_presence_write(out, room, s->jid, occ->privileged);
}

/* Whether someone present holds the nick (exactly or folded). */
static bool nick_held(const struct muc_room *room, const char *nick)
{
    for (const struct muc_occupant *o = room->occupants; o; o = o->next)
        if (nick_same(o->nick, nick))
            return true;
    return false;
}

int muc_room_set_voice(struct muc_room *room, const char *nick)
{
    char prepped[JID_PART_MAX + 1];
    if (nick && (jid_prep_resource(nick, prepped) < 0 || !prepped[0] ||
                 strlen(prepped) > MUC_NICK_MAX))
        return -1;
    if (room->voice && nick && strcmp(room->voice, prepped) == 0)
        return 0;
    if (!room->voice && !nick)
        return 0;
    if (nick && nick_held(room, prepped)) {
        log_error(LOG, "%s: an occupant holds the nick asked for the room's "
                       "voice", room->jid);
        return -1;
    }
    char *copy = nick ? strdup(prepped) : NULL;
    if (nick && !copy)
        return -1;
    if (room->voice)
        tell_privileged(room, false);
    free(room->voice);
    room->voice = copy;
    if (copy) {
        /* An id no user can have: the "bare JID" hashed is the room's own. */
        muc_occupant_id_make(room->muc, room->jid, room->jid, room->voice_id);
        tell_privileged(room, true);
    }
    return 1;
}
