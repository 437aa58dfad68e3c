/* Internal to muc/: Messages to room and occupant JIDs (message.c). */
#ifndef MUCDESK_MUC_MESSAGE_H
#define MUCDESK_MUC_MESSAGE_H

#include "muc/room.h"

void muc_message_to_room(void *ud, const struct stanza_in *in);
void muc_message_to_occupant(void *ud, const struct stanza_in *in);

#endif
