/* Internal to muc/: the entry points each muc/ source file offers the others.
 * One section per file. */
#ifndef MUCDESK_MUC_HANDLERS_H
#define MUCDESK_MUC_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "muc/room.h"
#include "muc/send.h"

/* ---- presence.c: joins, leaves, nick changes, presence updates ----------------- */

void muc_presence_to_occupant(void *ud, const struct stanza_in *in);
void muc_presence_to_room(void *ud, const struct stanza_in *in);
void muc_presence_to_service(void *ud, const struct stanza_in *in);

/* Removes the occupant: unavailable presence to those who see it (with the
 * codes in p), a leave record, the left hook, then frees it.  Destroys a
 * room left empty unless it is persistent. */
void muc_occupant_leave(struct muc_occupant *occ, enum muc_leave_reason why,
                        const struct muc_pres *p);
/* Removes every session of a real full JID from every room (status 333):
 * the client is gone without telling us. */
void muc_ghost_remove(struct muc *muc, const char *jid);
/* Re-applies the room's affiliation record to the user's occupants:
 * presence updates, or removal (301 ban, 321 members-only).  actor_nick
 * and reason go into the removal presence. */
void muc_apply_affiliation(struct muc_room *room, const char *bare_jid,
                           const char *actor_nick, const char *reason);
/* Removes occupants who may no longer be in a members-only room (322). */
void muc_enforce_members_only(struct muc_room *room);

/* ---- message.c: groupchat, subject, private messages, invitations -------------- */

void muc_message_to_room(void *ud, const struct stanza_in *in);
void muc_message_to_occupant(void *ud, const struct stanza_in *in);

/* Sends discussion history to one session, as the <history/> element of
 * the join asks (NULL: the room's default). */
void muc_history_send(struct muc_room *room, const struct muc_occupant *occ,
                      const char *to_jid, xmpp_stanza_t *history);
/* Sends the current subject to one session. */
void muc_subject_send(struct muc_room *room, const char *to_jid);
/* A message from the room JID with only status codes (§10.2.1). */
void muc_status_message_broadcast(struct muc_room *room, const int *codes);

/* ---- invite.c: mediated invitations and declines (§7.8.2) --------------------- */

/* A message to the room with <x muc#user/> holding <invite/> or <decline/>
 * children; x or the <decline/> element. */
void muc_invite_handle(struct muc *muc, struct muc_room *room,
                       const struct stanza_in *in, xmpp_stanza_t *x);
void muc_decline_handle(struct muc *muc, struct muc_room *room,
                        const struct stanza_in *in, xmpp_stanza_t *decline);
/* Forgets the room's pending invitations (the room is being freed). */
void muc_invitations_free(struct muc_room *room);

/* ---- archiving.c: archive events, the durability FIFO, fan-out ---------------- */

/* A room message ready to go out: a groupchat message with a body, a room
 * status message, or a subject change. */
struct muc_msg {
    struct muc_room *room;
    int64_t at_us;
    const char *nick;        /* sender's nick; NULL: the room itself */
    const char *id;          /* the sender's stanza id, or NULL */
    const char *payload;     /* children as XML (body, extensions) */
    size_t payload_len;
    char stanza_id[MUC_STANZA_ID_MAX];
    const char *occupant_id; /* NULL for the room */
    bool staff_only;
    bool history;            /* keep in the history ring */
};

bool muc_archiving(const struct muc_room *room);
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
/* Shows the message once it is durable: at once if seq is durable (or 0:
 * not archived), otherwise when the archive says so.  0 or -1 (no memory
 * to hold it: nothing was sent). */
int muc_msg_release(struct muc_msg *msg, uint64_t seq);
/* Writes the message to every occupant allowed to see it, and keeps it in
 * the history ring. */
void muc_msg_fanout(const struct muc_msg *msg);
/* Forgets the room's held messages (the room is going away). */
void muc_held_drop_room(struct muc *muc, struct muc_room *room);
void muc_archiving_start(struct muc *muc);
void muc_held_free_all(struct muc *muc);

/* ---- iq.c: iq to occupants (forwarding, self-ping) ---------------------------- */

int muc_iq_to_occupant(void *ud, const struct stanza_in *in,
                       xmpp_stanza_t *payload, struct xerr *err);
void muc_forwards_free_all(struct muc *muc);
int muc_iq_ping_room(void *ud, const struct stanza_in *in,
                     xmpp_stanza_t *payload, struct xerr *err);

/* ---- roomdisco.c: disco on rooms and the service's room list -------------------- */

int muc_disco_register(struct muc *muc);
/* Whether a user who is not in the room is privileged for it. */
bool muc_outsider_privileged(struct muc_room *room, const char *bare_jid);

/* ---- admin.c: muc#admin ------------------------------------------------------- */

int muc_iq_admin(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
                 struct xerr *err);

/* ---- owner.c: muc#owner, creation, configuration, destruction ---------------- */

int muc_iq_owner(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
                 struct xerr *err);
/* Creates a plain room for an admin's first presence: locked until
 * configured.  NULL with *err set. */
struct muc_room *muc_room_create_plain(struct muc *muc, const char *name,
                                       const char *owner_bare,
                                       struct xerr *err);
/* The room's effective title (title, or the local part). */
const char *muc_room_title(const struct muc_room *room);

/* ---- mam.c: XEP-0313 on room JIDs ----------------------------------------------- */

int muc_iq_mam(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
               struct xerr *err);
bool muc_mam_enabled(const struct muc_room *room);
/* The service is going: queries still waiting are only freed when their
 * answer comes. */
void muc_mam_orphan_all(struct muc *muc);

/* ---- persist.c: plain persistent rooms in PostgreSQL -------------------------- */

/* Submits the load of persistent rooms; muc->loaded is set when done. */
int muc_persist_load(struct muc *muc);
/* Writes the room's row and affiliations (insert or update). */
void muc_persist_room(struct muc_room *room);
void muc_persist_subject(struct muc_room *room);
void muc_persist_affiliation(struct muc_room *room, const char *bare_jid);
void muc_persist_delete(struct muc_room *room);

#endif
