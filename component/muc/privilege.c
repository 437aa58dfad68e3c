#include "build-config.h"

#include "muc/privilege.h"

enum muc_role muc_default_role(enum muc_affiliation affiliation,
                               bool moderated)
{
    switch (affiliation) {
    case MUC_AFFIL_OWNER:
    case MUC_AFFIL_ADMIN:
        return MUC_ROLE_MODERATOR;
    case MUC_AFFIL_MEMBER:
        return MUC_ROLE_PARTICIPANT;
    case MUC_AFFIL_NONE:
        return moderated ? MUC_ROLE_VISITOR : MUC_ROLE_PARTICIPANT;
    case MUC_AFFIL_OUTCAST:
    default:
        return MUC_ROLE_NONE;
    }
}

enum muc_priv_verdict muc_priv_set_role(enum muc_role actor_role,
                                        enum muc_affiliation actor_affil,
                                        enum muc_role target_role,
                                        enum muc_affiliation target_affil,
                                        enum muc_role new_role, bool is_self)
{
    if (actor_role != MUC_ROLE_MODERATOR)
        return MUC_PRIV_FORBIDDEN;
    if (new_role == target_role)
        return MUC_PRIV_OK; /* nothing changes */
    if (new_role == MUC_ROLE_NONE && is_self)
        return MUC_PRIV_CONFLICT; /* §8.2: MAY refuse kicking oneself */
    /* Nobody outranked may be touched (§8.2 kick, §8.4 voice): that is
     * not-allowed even where the actor also lacks the privilege. */
    if (target_affil > actor_affil)
        return MUC_PRIV_NOT_ALLOWED;
    /* Granting or revoking moderator status is an admin's privilege
     * (§9.6-9.7); a mere moderator may only kick and grant or revoke
     * voice. */
    if ((new_role == MUC_ROLE_MODERATOR || target_role == MUC_ROLE_MODERATOR) &&
        actor_affil < MUC_AFFIL_ADMIN)
        return MUC_PRIV_FORBIDDEN;
    /* Admins and owners never lose moderator status or voice through a role
     * change (§8.4, §9.7); only a higher rank may kick them. */
    if (target_affil >= MUC_AFFIL_ADMIN && new_role < MUC_ROLE_MODERATOR &&
        !(new_role == MUC_ROLE_NONE && actor_affil > target_affil))
        return MUC_PRIV_NOT_ALLOWED;
    return MUC_PRIV_OK;
}

enum muc_priv_verdict muc_priv_set_affiliation(
    enum muc_affiliation actor_affil, enum muc_affiliation target_affil,
    enum muc_affiliation new_affil, bool is_self, unsigned owners)
{
    if (actor_affil < MUC_AFFIL_ADMIN)
        return MUC_PRIV_FORBIDDEN;
    if (new_affil == target_affil)
        return MUC_PRIV_OK;
    if (is_self && new_affil == MUC_AFFIL_OUTCAST)
        return MUC_PRIV_CONFLICT; /* §9.1: no banning oneself */
    if (actor_affil != MUC_AFFIL_OWNER) {
        /* An admin: edits members and outcasts only (§9), never admins or
         * owners (the admin and owner lists are the owners', §10). */
        if (new_affil >= MUC_AFFIL_ADMIN)
            return MUC_PRIV_FORBIDDEN;
        if (target_affil >= MUC_AFFIL_ADMIN)
            return MUC_PRIV_NOT_ALLOWED;
        return MUC_PRIV_OK;
    }
    if (target_affil == MUC_AFFIL_OWNER && owners <= 1)
        return MUC_PRIV_CONFLICT; /* §10.4: a room keeps an owner */
    return MUC_PRIV_OK;
}

enum muc_priv_verdict muc_priv_get_list(enum muc_role actor_role,
                                        enum muc_affiliation actor_affil,
                                        enum muc_list list,
                                        bool semi_anonymous)
{
    switch (list) {
    case MUC_LIST_OUTCAST:
        return actor_affil >= MUC_AFFIL_ADMIN ? MUC_PRIV_OK
                                              : MUC_PRIV_FORBIDDEN;
    case MUC_LIST_MEMBER:
        /* The member list carries JIDs: members may read it only where
         * JIDs are public anyway (§5.2.1, §9.5). */
        if (actor_affil >= MUC_AFFIL_ADMIN)
            return MUC_PRIV_OK;
        if (!semi_anonymous && actor_affil >= MUC_AFFIL_MEMBER)
            return MUC_PRIV_OK;
        return MUC_PRIV_FORBIDDEN;
    case MUC_LIST_ADMIN:
    case MUC_LIST_OWNER:
        /* §10.5, §10.8: owners; in non-anonymous rooms also admins. */
        if (actor_affil == MUC_AFFIL_OWNER)
            return MUC_PRIV_OK;
        if (!semi_anonymous && actor_affil >= MUC_AFFIL_ADMIN)
            return MUC_PRIV_OK;
        return MUC_PRIV_FORBIDDEN;
    case MUC_LIST_MODERATOR:
        return actor_affil >= MUC_AFFIL_ADMIN ||
                       actor_role == MUC_ROLE_MODERATOR
                   ? MUC_PRIV_OK
                   : MUC_PRIV_FORBIDDEN;
    case MUC_LIST_PARTICIPANT:
    default:
        return actor_role == MUC_ROLE_MODERATOR ? MUC_PRIV_OK
                                                : MUC_PRIV_FORBIDDEN;
    }
}

bool muc_priv_change_subject(enum muc_role role, bool occupants_may)
{
    if (role == MUC_ROLE_MODERATOR)
        return true;
    return occupants_may && role >= MUC_ROLE_PARTICIPANT;
}

bool muc_priv_invite(enum muc_role role, enum muc_affiliation affiliation,
                     bool members_only, bool members_may_invite)
{
    if (role == MUC_ROLE_NONE)
        return false;
    if (!members_only)
        return true;
    if (affiliation >= MUC_AFFIL_ADMIN)
        return true;
    return members_may_invite && affiliation >= MUC_AFFIL_MEMBER;
}

bool muc_priv_speak(enum muc_role role, bool moderated)
{
    if (role >= MUC_ROLE_PARTICIPANT)
        return true;
    return role == MUC_ROLE_VISITOR && !moderated;
}
