#include "build-config.h"

#include "muc/visibility.h"

bool muc_visible_to(const struct muc_room *room,
                    const struct muc_occupant *viewer, bool viewer_privileged,
                    const struct muc_occupant *subject)
{
    (void)room;
    if (!subject->invisible)
        return true;
    if (viewer == subject)
        return true;
    return viewer_privileged;
}

bool muc_jids_visible_to(const struct muc_room *room,
                         const struct muc_occupant *viewer,
                         bool viewer_privileged)
{
    if (!room->cfg.semi_anonymous)
        return true;
    if (viewer_privileged)
        return true;
    return viewer && viewer->role == MUC_ROLE_MODERATOR;
}

bool muc_event_visible_to(bool staff_only, bool viewer_privileged)
{
    return !staff_only || viewer_privileged;
}

struct muc_occupant *muc_visible_occupant(const struct muc_room *room,
                                          const char *nick,
                                          const struct muc_occupant *viewer,
                                          bool viewer_privileged)
{
    struct muc_occupant *occ = muc_room_find_occupant(room, nick);
    if (occ && !muc_visible_to(room, viewer, viewer_privileged, occ))
        return NULL;
    return occ;
}

unsigned muc_visible_count(const struct muc_room *room,
                           const struct muc_occupant *viewer,
                           bool viewer_privileged)
{
    unsigned n = 0;
    for (const struct muc_occupant *o = room->occupants; o; o = o->next)
        if (muc_visible_to(room, viewer, viewer_privileged, o))
            n++;
    return n;
}

enum muc_pm_verdict muc_pm_check(const struct muc_room *room,
                                 const struct muc_occupant *from,
                                 const struct muc_occupant *to)
{
    /* The recipient must be allowed to learn of the sender: an observer may
     * write only to those who see it. */
    if (!muc_visible_to(room, to, to->privileged, from))
        return MUC_PM_UNSEEN;
    if (room->cfg.pm_privileged_only && !(from->privileged && to->privileged))
        return MUC_PM_NOT_ACCEPTABLE;
    switch ((enum muc_pm_policy)room->cfg.allow_pm) {
    case MUC_PM_ANYONE:
        return MUC_PM_OK;
    case MUC_PM_PARTICIPANTS:
        return from->role >= MUC_ROLE_PARTICIPANT ? MUC_PM_OK
                                                  : MUC_PM_NOT_ACCEPTABLE;
    case MUC_PM_MODERATORS:
        return from->role >= MUC_ROLE_MODERATOR ? MUC_PM_OK
                                                : MUC_PM_NOT_ACCEPTABLE;
    case MUC_PM_NONE:
    default:
        /* Privileged staff keep their off-the-record channel. */
        return from->privileged && to->privileged ? MUC_PM_OK
                                                  : MUC_PM_NOT_ACCEPTABLE;
    }
}

bool muc_outsider_privileged(struct muc_room *room, const char *bare_jid)
{
    if (room->hooks && room->hooks->is_privileged)
        return room->hooks->is_privileged(room->ud, room, bare_jid);
    return false;
}
