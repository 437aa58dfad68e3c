/* Internal to muc/: muc#admin (admin.c). */
#ifndef MUCDESK_MUC_ADMIN_H
#define MUCDESK_MUC_ADMIN_H

#include "muc/room.h"

int muc_iq_admin(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
                 struct xerr *err);

#endif
