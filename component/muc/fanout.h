/* Internal to muc/: A room message and its fan-out to the occupants (fanout.c). */
#ifndef MUCDESK_MUC_FANOUT_H
#define MUCDESK_MUC_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "muc/room.h"

/* A room message ready to go out: a groupchat message with a body, a room
 * status message, or a subject change. */
struct muc_msg {
    struct muc_room *room;
    int64_t at_us;
    const char *nick;        /* sender's nick; NULL: the room itself */
    const char *id;          /* the sender's stanza id, or NULL */
    const char *payload;     /* children as XML (body, extensions) */
    size_t payload_len;
    char stanza_id[MUC_STANZA_ID_MAX];
    const char *occupant_id; /* NULL for the room */
    bool staff_only;
    bool history;            /* keep in the history ring */
    bool voiced;             /* the room's own words (nick NULL): from its
                                service voice to privileged occupants */
};

/* Writes the message to every occupant allowed to see it, and keeps it in
 * the history ring. */
void muc_msg_fanout(const struct muc_msg *msg);
/* A message from the room JID with only status codes (§10.2.1). */
void muc_status_message_broadcast(struct muc_room *room, const int *codes);

#endif
