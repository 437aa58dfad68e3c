/* Internal to muc/: Room events into the archive; MAM enablement (archiving.c). */
#ifndef MUCDESK_MUC_ARCHIVING_H
#define MUCDESK_MUC_ARCHIVING_H

#include <stdbool.h>
#include <stdint.h>

#include "muc/fanout.h"

bool muc_archiving(const struct muc_room *room);
/* Archived, and the archive answers queries: MAM is offered on the room. */
bool muc_mam_enabled(const struct muc_room *room);
/* Appends an event for the room (kind, actor, body, payload).  Returns its
 * sequence (> 0), or 0 if the archive refused it.  Not archived rooms: 1. */
uint64_t muc_archive_event(struct muc_room *room, enum archive_kind kind,
                           const struct muc_occupant *actor,
                           const char *actor_nick, const char *body,
                           const char *payload, const char *stanza_id,
                           int64_t at_us, bool staff_only);
/* The same for an occupant's groupchat message: msg (its stanza-id, time,
 * occupant, sender's id and payload) with the body apart; payload_extra:
 * the payload's children after the body, or NULL. */
uint64_t muc_archive_message(struct muc_room *room,
                             const struct muc_occupant *occ,
                             const struct muc_msg *msg, const char *body,
                             const char *payload_extra);

#endif
