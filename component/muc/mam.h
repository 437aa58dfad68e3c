/* Internal to muc/: XEP-0313 on room JIDs (mam.c). */
#ifndef MUCDESK_MUC_MAM_H
#define MUCDESK_MUC_MAM_H

#include "muc/room.h"

int muc_iq_mam(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
               struct xerr *err);
/* The service is going: queries still waiting are only freed when their
 * answer comes. */
void muc_mam_orphan_all(struct muc *muc);

#endif
