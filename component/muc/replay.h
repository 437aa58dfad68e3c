/* Internal to muc/: History and subject for a joining session (replay.c). */
#ifndef MUCDESK_MUC_REPLAY_H
#define MUCDESK_MUC_REPLAY_H

#include "muc/room.h"

/* Sends discussion history to one session, as the <history/> element of
 * the join asks (NULL: the room's default). */
void muc_history_send(struct muc_room *room, const struct muc_occupant *occ,
                      const char *to_jid, xmpp_stanza_t *history);
/* Sends the current subject to one session. */
void muc_subject_send(struct muc_room *room, const char *to_jid);

#endif
