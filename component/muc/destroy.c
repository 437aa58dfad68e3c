/* Ending rooms and occupants from the service's side: destruction (§10.9),
 * dismissal and shutdown (332).  Each occupant is told only about itself:
 * no one learns of anyone else, invisible or not. */
#include "build-config.h"

#include <stdlib.h>

#include "core/log.h"
#include "muc/durable.h"
#include "muc/persist.h"
#include "muc/room.h"
#include "muc/send.h"

#define LOG "muc"

static void room_timer_noop(void *ud)
{
    (void)ud;
}

static void room_finalize(void *ud)
{
    muc_room_free(ud);
}

/* Tells each session of the occupant, and only it, that it is out (§10.9,
 * §17.2): no one learns of anyone else, invisible or not. */
static void remove_silently(struct muc_occupant *occ,
                            enum muc_leave_reason why,
                            const struct muc_pres *p)
{
    struct muc_room *room = occ->room;
    struct buf *out = router_out(room->muc->router);
    for (struct muc_session *s = occ->sessions; s; s = s->next)
        muc_presence_write(out, room, occ, occ, s->jid, p);
    muc_occupant_unlink(occ);
    if (occ->joined && room->hooks && room->hooks->left)
        room->hooks->left(room->ud, room, occ, why);
    muc_occupant_free(occ);
}

void muc_occupant_dismiss(struct muc_occupant *occ, const char *reason)
{
    struct muc_room *room = occ->room;
    struct buf *out = router_out(room->muc->router);
    struct muc_pres self = {.type = "unavailable", .destroy = true,
                            .destroy_reason = reason};
    for (struct muc_session *s = occ->sessions; s; s = s->next)
        muc_presence_write(out, room, occ, occ, s->jid, &self);
    struct muc_pres others = {.type = "unavailable"};
    muc_presence_broadcast(room, occ, &others, true);
    muc_occupant_unlink(occ);
    if (occ->joined && room->hooks && room->hooks->left)
        room->hooks->left(room->ud, room, occ, MUC_LEFT_DESTROY);
    muc_occupant_free(occ);
}

void muc_room_destroy(struct muc_room *room, const char *reason,
                      const char *alternate_jid)
{
    if (room->destroying)
        return;
    struct muc *muc = room->muc;
    room->destroying = true;
    struct muc_pres p = {.type = "unavailable", .destroy = true,
                         .destroy_jid = alternate_jid,
                         .destroy_reason = reason};
    while (room->occupants)
        remove_silently(room->occupants, MUC_LEFT_DESTROY, &p);
    if (room->hooks && room->hooks->destroyed)
        room->hooks->destroyed(room->ud, room);
    muc_held_drop_room(muc, room);
    if (room->stored)
        muc_persist_delete(room);
    muc_room_unlist(room);
    log_info(LOG, "%s: destroyed", room->jid);
    /* Freed after the current turn: handlers up the stack (and hooks) may
     * still hold the pointer; they see room->destroying. */
    if (!loop_timer_add(muc->loop, 0, room_timer_noop, room, room_finalize))
        muc_room_free(room); /* out of memory: free now, and hope */
}

void muc_shutdown(struct muc *muc)
{
    if (muc->shutting_down)
        return;
    muc->shutting_down = true;
    loop_timer_cancel(muc->loop, muc->load_timer);
    muc->load_timer = NULL;
    struct muc_pres p = {.type = "unavailable", .codes = {332}};
    unsigned told = 0;
    struct muc_room *room;
    while ((room = muc->rooms) != NULL) {
        room->destroying = true;
        while (room->occupants) {
            remove_silently(room->occupants, MUC_LEFT_SHUTDOWN, &p);
            told++;
        }
        if (room->hooks && room->hooks->destroyed)
            room->hooks->destroyed(room->ud, room);
        muc_held_drop_room(muc, room);
        muc_room_free(room);
    }
    log_info(LOG, "shutdown: %u occupant(s) told", told);
}
