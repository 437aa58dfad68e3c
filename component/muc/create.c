/* Creating rooms: the layer above's rooms with hooks (muc_room_create)
 * and a plain room for a service admin's first presence. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/create.h"
#include "muc/room.h"

#define LOG "muc"

struct muc_room *muc_room_create(struct muc *muc, const char *name,
                                 const struct muc_room_options *opts,
                                 const struct muc_room_hooks *hooks, void *ud)
{
    char local[JID_PART_MAX + 1];
    if (muc->shutting_down || jid_prep_local(name, local) < 0) {
        log_warn(LOG, "cannot create a room: invalid name");
        return NULL;
    }
    if (muc_room_find(muc, local)) {
        log_warn(LOG, "cannot create room %s: it exists", local);
        return NULL;
    }
    if (muc->room_count >= (unsigned)muc->cfg->muc.max_rooms) {
        log_warn(LOG, "cannot create room %s: the room limit is reached",
                 local);
        return NULL;
    }
    struct muc_room_config c;
    memset(&c, 0, sizeof c);
    c.title = (char *)opts->title;
    c.description = (char *)opts->description;
    c.hidden = opts->hidden;
    c.members_only = opts->members_only;
    c.moderated = opts->moderated;
    c.persistent = opts->persistent;
    c.semi_anonymous = opts->semi_anonymous;
    c.pm_privileged_only = opts->pm_privileged_only;
    c.archived = opts->archived;
    c.history_size = opts->history_size;
    c.max_occupants = opts->max_occupants;
    c.change_subject = opts->occupants_change_subject;
    c.allow_pm = MUC_PM_ANYONE;
    struct muc_room *room = muc_room_new(muc, local, &c); /* copies c */
    if (!room) {
        log_error(LOG, "cannot create room %s: out of memory", local);
        return NULL;
    }
    room->hooks = hooks;
    room->ud = ud;
    room->ticket_id = opts->ticket_id;
    log_debug(LOG, "%s: created", room->jid);
    return room;
}

struct muc_room *muc_room_create_plain(struct muc *muc, const char *name,
                                       const char *owner_bare,
                                       struct xerr *err)
{
    if (!config_is_admin(muc->cfg, owner_bare)) {
        xerr_set(err, XERR_NOT_ALLOWED,
                 "Only the service administrators can create rooms");
        return NULL;
    }
    if (muc->room_count >= (unsigned)muc->cfg->muc.max_rooms) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "No more rooms can be created at the moment");
        return NULL;
    }
    struct muc_room_config cfg;
    muc_room_config_defaults(&cfg);
    cfg.archived = muc->cfg->muc.archive_by_default != 0;
    struct muc_room *room = muc_room_new(muc, name, &cfg);
    if (!room || muc_affil_put(room, owner_bare, MUC_AFFIL_OWNER, NULL) < 0) {
        muc_room_free(room);
        xerr_set(err, XERR_INTERNAL_SERVER_ERROR, NULL);
        return NULL;
    }
    room->locked = true; /* until the owner configures it (§10.1.1) */
    log_info(LOG, "%s: created by an admin", room->jid);
    return room;
}
