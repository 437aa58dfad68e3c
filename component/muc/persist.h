/* Internal to muc/: Plain persistent rooms in PostgreSQL (persist.c). */
#ifndef MUCDESK_MUC_PERSIST_H
#define MUCDESK_MUC_PERSIST_H

#include "muc/room.h"

/* Submits the load of persistent rooms; muc->loaded is set when done. */
int muc_persist_load(struct muc *muc);
/* Writes the room's row and affiliations (insert or update). */
void muc_persist_room(struct muc_room *room);
void muc_persist_subject(struct muc_room *room);
void muc_persist_affiliation(struct muc_room *room, const char *bare_jid);
void muc_persist_delete(struct muc_room *room);

#endif
