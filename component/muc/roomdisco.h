/* Internal to muc/: Disco on rooms and the room list (roomdisco.c). */
#ifndef MUCDESK_MUC_ROOMDISCO_H
#define MUCDESK_MUC_ROOMDISCO_H

#include "muc/room.h"

int muc_disco_register(struct muc *muc);

#endif
