/* Internal to muc/: Affiliation changes and their effects on the occupants present (roles.c). */
#ifndef MUCDESK_MUC_ROLES_H
#define MUCDESK_MUC_ROLES_H

#include "muc/room.h"

/* Re-applies the room's affiliation record to the user's occupants:
 * presence updates, or removal (301 ban, 321 members-only).  actor_nick
 * and reason go into the removal presence. */
void muc_apply_affiliation(struct muc_room *room, const char *bare_jid,
                           const char *actor_nick, const char *reason);
/* Removes occupants who may no longer be in a members-only room (322). */
void muc_enforce_members_only(struct muc_room *room);

#endif
