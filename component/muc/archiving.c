/* Room events into the archive (store/archive.h, through struct
 * muc_archive): whether a room is archived, MAM on it enabled, and the
 * mapping of joins, leaves, messages and subjects to archive events. */
#include "build-config.h"

#include "core/jid.h"
#include "core/log.h"
#include "muc/archiving.h"
#include "muc/fanout.h"
#include "muc/room.h"

#define LOG "muc"


bool muc_archiving(const struct muc_room *room)
{
    return room->cfg.archived && room->muc->archive.archive != NULL;
}

static uint64_t append_event(struct muc_room *room, struct archive_event *ev,
                             const struct muc_occupant *actor)
{
    struct muc *muc = room->muc;
    if (!muc_archiving(room))
        return 1;
    char bare[JID_TEXT_MAX + 1];
    ev->room = room->name;
    ev->ticket_id = room->ticket_id;
    if (actor) {
        ev->actor_jid = muc_occupant_bare_jid(actor, bare, sizeof bare);
        ev->occupant_id = actor->occupant_id;
    }
    uint64_t seq = muc->archive.append(muc->archive.archive, ev);
    if (seq == 0)
        log_warn(LOG, "%s: the archive refused an event", room->jid);
    return seq;
}

uint64_t muc_archive_event(struct muc_room *room, enum archive_kind kind,
                           const struct muc_occupant *actor,
                           const char *actor_nick, const char *body,
                           const char *payload, const char *stanza_id,
                           int64_t at_us, bool staff_only)
{
    struct archive_event ev = {
        .stanza_id = stanza_id,
        .at_us = at_us,
        .kind = kind,
        .actor_nick = actor_nick,
        .body = body,
        .payload = payload,
        .staff_only = staff_only,
    };
    return append_event(room, &ev, actor);
}

uint64_t muc_archive_message(struct muc_room *room,
                             const struct muc_occupant *occ,
                             const struct muc_msg *msg, const char *body,
                             const char *payload_extra)
{
    struct archive_event ev = {
        .stanza_id = msg->stanza_id,
        .at_us = msg->at_us,
        .kind = ARCHIVE_MESSAGE,
        .actor_nick = occ->nick,
        .message_id = msg->id,
        .body = body,
        .payload = payload_extra,
        .staff_only = msg->staff_only,
    };
    return append_event(room, &ev, occ);
}

bool muc_mam_enabled(const struct muc_room *room)
{
    return muc_archiving(room) && room->muc->archive.query != NULL;
}
