/* Who may learn of whom: the one place that decides it.
 *
 * Every path that tells anyone about an occupant (presence fan-out, the
 * occupant list on join, self-presence, history and MAM, disco#info counts
 * and disco#items, nick conflicts, iq and private messages to a nick, error
 * texts, status messages, room destruction) asks these functions.  The
 * product's promise rests on them: a customer never learns of an invisible
 * observer by any means (PRODUCT.md section 2).
 *
 * A viewer is an occupant, or NULL for someone outside the room; its
 * privilege is passed separately because outsiders have one too (a staff
 * member reading the archive without being in the room). */
#ifndef MUCDESK_MUC_VISIBILITY_H
#define MUCDESK_MUC_VISIBILITY_H

#include <stdbool.h>

#include "muc/room.h"

/* May `viewer` learn that `subject` is in the room?  Visible occupants: yes.
 * Invisible ones: only to themselves and to privileged viewers. */
bool muc_visible_to(const struct muc_room *room,
                    const struct muc_occupant *viewer, bool viewer_privileged,
                    const struct muc_occupant *subject);

/* May `viewer` learn occupants' real JIDs?  In non-anonymous rooms anyone
 * may; in semi-anonymous rooms moderators and privileged viewers. */
bool muc_jids_visible_to(const struct muc_room *room,
                         const struct muc_occupant *viewer,
                         bool viewer_privileged);

/* May an event (history entry, archived record, room status message) be
 * shown to this viewer?  Staff-only events: privileged viewers only. */
bool muc_event_visible_to(bool staff_only, bool viewer_privileged);

/* The occupant holding `nick` as the viewer sees the room: NULL if nobody
 * holds it or if its holder is hidden from the viewer (then the nick must
 * look free: no conflict, item-not-found for iq and private messages). */
struct muc_occupant *muc_visible_occupant(const struct muc_room *room,
                                          const char *nick,
                                          const struct muc_occupant *viewer,
                                          bool viewer_privileged);

/* How many occupants the viewer can see (disco#info). */
unsigned muc_visible_count(const struct muc_room *room,
                           const struct muc_occupant *viewer,
                           bool viewer_privileged);

enum muc_pm_verdict {
    MUC_PM_OK,
    MUC_PM_NOT_ACCEPTABLE, /* room policy (pm_privileged_only, allowpm) */
    MUC_PM_UNSEEN,         /* the recipient may not learn of the sender */
};

/* May `from` send a private message (or an iq) to `to`?  Both are
 * occupants; `to` is visible to `from` (ask muc_visible_occupant first).
 * Off-the-record rule: with pm_privileged_only both must be privileged. */
enum muc_pm_verdict muc_pm_check(const struct muc_room *room,
                                 const struct muc_occupant *from,
                                 const struct muc_occupant *to);

/* Whether a user who is not in the room is privileged for it (the layer
 * above's is_privileged hook; plain rooms: nobody). */
bool muc_outsider_privileged(struct muc_room *room, const char *bare_jid);

#endif
