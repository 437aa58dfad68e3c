/* Internal to muc/: muc#owner: configuration and destruction (owner.c). */
#ifndef MUCDESK_MUC_OWNER_H
#define MUCDESK_MUC_OWNER_H

#include "muc/room.h"

int muc_iq_owner(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
                 struct xerr *err);

#endif
