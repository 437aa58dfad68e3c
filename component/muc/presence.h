/* Internal to muc/: Presence to occupant JIDs: joins, leaves, nick changes, presence updates (presence.c). */
#ifndef MUCDESK_MUC_PRESENCE_H
#define MUCDESK_MUC_PRESENCE_H

#include "muc/room.h"
#include "muc/send.h"

void muc_presence_to_occupant(void *ud, const struct stanza_in *in);
void muc_presence_to_room(void *ud, const struct stanza_in *in);
void muc_presence_to_service(void *ud, const struct stanza_in *in);

/* Removes the occupant: unavailable presence to those who see it (with the
 * codes in p), a leave record, the left hook, then frees it.  Destroys a
 * room left empty unless it is persistent. */
void muc_occupant_leave(struct muc_occupant *occ, enum muc_leave_reason why,
                        const struct muc_pres *p);
/* Removes every session of a real full JID from every room (status 333):
 * the client is gone without telling us. */
void muc_ghost_remove(struct muc *muc, const char *jid);

#endif
