/* Internal to muc/: iq to occupants: forwarding, self-ping (iq.c). */
#ifndef MUCDESK_MUC_IQ_H
#define MUCDESK_MUC_IQ_H

#include "muc/room.h"

int muc_iq_to_occupant(void *ud, const struct stanza_in *in,
                       xmpp_stanza_t *payload, struct xerr *err);
void muc_forwards_free_all(struct muc *muc);
int muc_iq_ping_room(void *ud, const struct stanza_in *in,
                     xmpp_stanza_t *payload, struct xerr *err);

#endif
