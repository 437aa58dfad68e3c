/* Internal to muc/: the room's service voice (voice.c).  Not XEP-0045's
 * "voice" (the right to speak): the nick under which the room's own words
 * (muc_room_post(), _record(), _tell()) reach privileged occupants, since
 * some clients show no groupchat message from a room's bare JID
 * (converse.js, its issue #1678).
 *
 * Privileged occupants see the voice as an occupant (affiliation none,
 * role moderator: it speaks for the room, and clients list it with those
 * who run it; its item has no real JID) and get the room's words from
 * ROOM/voice, live, in history and in MAM; everyone else gets them from
 * the bare room JID and never learns of the voice: no presence, no
 * count, and a private message or iq to its nick is answered as for any
 * free nick.  Nobody may take its nick (compared with ASCII letters
 * folded: "Desk" is refused too). */
#ifndef MUCDESK_MUC_VOICE_H
#define MUCDESK_MUC_VOICE_H

#include <stdbool.h>

#include "muc/room.h"

/* Whether `nick` is the room's voice's (false when the room has none). */
bool muc_voice_is(const struct muc_room *room, const char *nick);

/* The nick the room's own words come from for a viewer of this
 * privilege: the voice's, or NULL (the bare room JID). */
const char *muc_voice_for(const struct muc_room *room, bool privileged);

/* Writes the voice's presence (available, or unavailable) to one session.
 * The caller has checked that the viewer is privileged. */
void muc_voice_presence_write(struct buf *out, const struct muc_room *room,
                              const char *to_jid, bool available);

/* Tells every session of `occ` that the voice appeared or vanished for it
 * (its privilege changed); nothing if the room has no voice. */
void muc_voice_privilege_changed(const struct muc_occupant *occ);

#endif
