/* Internal to muc/: Creating rooms (create.c; muc_room_create is in muc.h). */
#ifndef MUCDESK_MUC_CREATE_H
#define MUCDESK_MUC_CREATE_H

#include "muc/room.h"

/* Creates a plain room for an admin's first presence: locked until
 * configured.  NULL with *err set. */
struct muc_room *muc_room_create_plain(struct muc *muc, const char *name,
                                       const char *owner_bare,
                                       struct xerr *err);

#endif
