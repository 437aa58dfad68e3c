/* Internal to muc/: Holding room messages until the archive has them (durable.c). */
#ifndef MUCDESK_MUC_DURABLE_H
#define MUCDESK_MUC_DURABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "muc/fanout.h"

/* Shows the message once it is durable: at once if seq is durable (or 0:
 * not archived), otherwise when the archive says so.  0 or -1 (no memory
 * to hold it: nothing was sent). */
int muc_msg_release(struct muc_msg *msg, uint64_t seq);
/* Forgets the room's held messages (the room is going away). */
void muc_held_drop_room(struct muc *muc, struct muc_room *room);
/* Listens to the archive's durability reports. */
void muc_archiving_start(struct muc *muc);
void muc_held_free_all(struct muc *muc);

#endif
