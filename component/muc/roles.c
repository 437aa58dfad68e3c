/* Kicks, role changes and affiliation changes, with their effects on the
 * occupants present: presence updates, or removal (301 ban, 321 and 322
 * members-only, 307 kick). */
#include "build-config.h"

#include "core/jid.h"
#include "muc/persist.h"
#include "muc/presence.h"
#include "muc/privilege.h"
#include "muc/roles.h"
#include "muc/room.h"
#include "muc/send.h"

static void kick_occupant(struct muc_occupant *occ, enum muc_leave_reason why,
                          int code, const char *actor_nick, const char *reason)
{
    struct muc_pres p = {.type = "unavailable", .actor_nick = actor_nick,
                         .reason = reason, .codes = {code}};
    muc_occupant_leave(occ, why, &p);
}

void muc_occupant_kick(struct muc_occupant *occ, const char *reason)
{
    kick_occupant(occ, MUC_LEFT_KICK, 307, NULL, reason);
}

void muc_occupant_drop(struct muc_occupant *occ)
{
    kick_occupant(occ, MUC_LEFT_DISCONNECT, 0, NULL, NULL);
}

bool muc_occupant_set_role(struct muc_occupant *occ, enum muc_role role,
                           const char *reason)
{
    if (occ->role == role)
        return false;
    if (role == MUC_ROLE_NONE) {
        muc_occupant_kick(occ, reason);
        return true;
    }
    occ->role = (uint8_t)role;
    struct muc_pres p = {.reason = reason};
    muc_presence_broadcast(occ->room, occ, &p, false);
    return true;
}

void muc_apply_affiliation(struct muc_room *room, const char *bare_jid,
                           const char *actor_nick, const char *reason)
{
    enum muc_affiliation affil = muc_room_affiliation(room, bare_jid);
    for (;;) {
        /* Removals change the index: look again after each. */
        struct muc_occupant *occ = NULL;
        for (struct muc_occupant *o = room->occupants; o; o = o->next) {
            if (muc_occupant_is_bare(o, bare_jid) && o->affiliation != affil) {
                occ = o;
                break;
            }
        }
        if (!occ)
            return;
        enum muc_affiliation old = (enum muc_affiliation)occ->affiliation;
        occ->affiliation = (uint8_t)affil;
        if (affil == MUC_AFFIL_OUTCAST) {
            kick_occupant(occ, MUC_LEFT_BAN, 301, actor_nick, reason);
            continue;
        }
        if (room->cfg.members_only && affil < MUC_AFFIL_MEMBER) {
            kick_occupant(occ, MUC_LEFT_AFFILIATION, 321, actor_nick, reason);
            continue;
        }
        /* Gaining a rank brings its role; losing one keeps a role the new
         * rank allows (§5.1.3). */
        enum muc_role def = muc_default_role(affil, room->cfg.moderated);
        if (affil > old && occ->role < def)
            occ->role = (uint8_t)def;
        else if (affil < old && occ->role > def)
            occ->role = (uint8_t)def;
        struct muc_pres p = {.reason = reason};
        muc_presence_broadcast(room, occ, &p, false);
    }
}

void muc_enforce_members_only(struct muc_room *room)
{
    if (!room->cfg.members_only)
        return;
    for (;;) {
        struct muc_occupant *occ = NULL;
        for (struct muc_occupant *o = room->occupants; o; o = o->next) {
            if (o->affiliation < MUC_AFFIL_MEMBER) {
                occ = o;
                break;
            }
        }
        if (!occ)
            return;
        kick_occupant(occ, MUC_LEFT_AFFILIATION, 322, NULL, NULL);
    }
}

int muc_room_set_affiliation(struct muc_room *room, const char *bare_jid,
                             enum muc_affiliation affiliation,
                             const char *reason)
{
    struct jid j;
    char bare[JID_TEXT_MAX + 1];
    if (room->destroying || jid_parse(bare_jid, &j) < 0 ||
        affiliation > MUC_AFFIL_OWNER)
        return -1;
    jid_bare_text(&j, bare, sizeof bare);
    if (muc_room_affiliation(room, bare) == affiliation)
        return 0;
    if (muc_affil_put(room, bare, affiliation, NULL) < 0)
        return -1;
    if (room->stored)
        muc_persist_affiliation(room, bare);
    muc_apply_affiliation(room, bare, NULL, reason);
    return 1;
}
