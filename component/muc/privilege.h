/* XEP-0045 privilege rules (§5, §8-10) as pure functions of roles and
 * affiliations, so they can be tested as a table.  The handlers (admin.c,
 * message.c, presence.c) ask these and turn a verdict into an error. */
#ifndef MUCDESK_MUC_PRIVILEGE_H
#define MUCDESK_MUC_PRIVILEGE_H

#include <stdbool.h>

#include "muc/muc.h"

enum muc_priv_verdict {
    MUC_PRIV_OK,
    MUC_PRIV_FORBIDDEN,   /* the actor lacks the privilege */
    MUC_PRIV_NOT_ALLOWED, /* the target outranks the actor */
    MUC_PRIV_CONFLICT,    /* self-harm the spec refuses (ban self, last
                             owner resigning, kicking oneself) */
};

/* The role an occupant gets on entering (§5.1.2). */
enum muc_role muc_default_role(enum muc_affiliation affiliation,
                               bool moderated);

/* A moderator-initiated role change of `target` to `new_role` (NONE is a
 * kick).  §8.2-8.6, §9.6-9.7. */
enum muc_priv_verdict muc_priv_set_role(enum muc_role actor_role,
                                        enum muc_affiliation actor_affil,
                                        enum muc_role target_role,
                                        enum muc_affiliation target_affil,
                                        enum muc_role new_role, bool is_self);

/* An affiliation change of a bare JID from `target_affil` to `new_affil`
 * (OUTCAST is a ban).  owners: how many owners the room has.  §9, §10. */
enum muc_priv_verdict muc_priv_set_affiliation(
    enum muc_affiliation actor_affil, enum muc_affiliation target_affil,
    enum muc_affiliation new_affil, bool is_self, unsigned owners);

/* Which lists an actor may read (§9.5, §10.5, §10.8). */
enum muc_list {
    MUC_LIST_OUTCAST,
    MUC_LIST_MEMBER,
    MUC_LIST_ADMIN,
    MUC_LIST_OWNER,
    MUC_LIST_MODERATOR,   /* by role */
    MUC_LIST_PARTICIPANT, /* the voice list, by role */
};
enum muc_priv_verdict muc_priv_get_list(enum muc_role actor_role,
                                        enum muc_affiliation actor_affil,
                                        enum muc_list list,
                                        bool semi_anonymous);

/* Subject changes (§8.1): moderators, or any participant if the room lets
 * occupants change it. */
bool muc_priv_change_subject(enum muc_role role, bool occupants_may);

/* Mediated invitations (§7.8.2): anyone present in an open room; in a
 * members-only room admins and owners, or members if the room allows. */
bool muc_priv_invite(enum muc_role role, enum muc_affiliation affiliation,
                     bool members_only, bool members_may_invite);

/* Sending groupchat messages (§7.4): participants and moderators, and
 * visitors of unmoderated rooms. */
bool muc_priv_speak(enum muc_role role, bool moderated);

#endif
