/* Internal to muc/: Mediated invitations and declines, §7.8.2 (invite.c). */
#ifndef MUCDESK_MUC_INVITE_H
#define MUCDESK_MUC_INVITE_H

#include "muc/room.h"

/* A message to the room with <x muc#user/> holding <invite/> or <decline/>
 * children; x or the <decline/> element. */
void muc_invite_handle(struct muc *muc, struct muc_room *room,
                       const struct stanza_in *in, xmpp_stanza_t *x);
void muc_decline_handle(struct muc *muc, struct muc_room *room,
                        const struct stanza_in *in, xmpp_stanza_t *decline);

#endif
