/* The MUC service: wiring into the router and disco, programmatic rooms
 * for the desk, room destruction, and shutdown (status 332). */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/handlers.h"

#define LOG "muc"

struct muc *muc_new(struct loop *loop, struct router *router,
                    struct disco *disco, struct store *store,
                    const struct muc_archive *archive,
                    const struct config *cfg)
{
    struct muc *muc = calloc(1, sizeof *muc);
    if (!muc)
        return NULL;
    muc->loop = loop;
    muc->router = router;
    muc->disco = disco;
    muc->store = store;
    muc->cfg = cfg;
    muc->domain = router_domain(router);
    if (archive && archive->archive && archive->append && archive->durable)
        muc->archive = *archive;
    buf_init(&muc->scratch);
    buf_init(&muc->scratch2);
    /* Archive queries in flight: only senders with one open are tracked,
     * so the tables never hold more than mam_queries_max entries. */
    if (!(muc->mam_by_jid = budget_new(0, 0,
                                       (uint32_t)cfg->muc.mam_queries_per_jid,
                                       (size_t)cfg->muc.mam_queries_max)) ||
        !(muc->mam_by_domain = budget_new(
              0, 0, (uint32_t)cfg->muc.mam_queries_per_domain,
              (size_t)cfg->muc.mam_queries_max))) {
        log_error(LOG, "out of memory");
        goto fail;
    }
    if (muc_ids_init(muc) < 0) {
        log_error(LOG, "cannot set up stanza and occupant ids");
        goto fail;
    }
    if (router_on_presence(router, ROUTE_OCCUPANT, muc_presence_to_occupant,
                           muc) ||
        router_on_presence(router, ROUTE_ROOM, muc_presence_to_room, muc) ||
        router_on_presence(router, ROUTE_SERVICE, muc_presence_to_service,
                           muc) ||
        router_on_message(router, ROUTE_ROOM, muc_message_to_room, muc) ||
        router_on_message(router, ROUTE_OCCUPANT, muc_message_to_occupant,
                          muc) ||
        router_on_iq(router, ROUTE_ROOM, NS_MUC_ADMIN, muc_iq_admin, muc) ||
        router_on_iq(router, ROUTE_ROOM, NS_MUC_OWNER, muc_iq_owner, muc) ||
        router_on_iq(router, ROUTE_ROOM, "urn:xmpp:ping", muc_iq_ping_room,
                     muc) ||
        router_on_other_iq(router, ROUTE_OCCUPANT, muc_iq_to_occupant, muc) ||
        muc_disco_register(muc) < 0) {
        log_error(LOG, "cannot register the MUC handlers");
        goto fail;
    }
    if (muc->archive.archive && muc->archive.query &&
        router_on_iq(router, ROUTE_ROOM, NS_MAM, muc_iq_mam, muc)) {
        log_error(LOG, "cannot register the MAM handler");
        goto fail;
    }
    return muc;
fail:
    muc_free(muc);
    return NULL;
}

int muc_start(struct muc *muc)
{
    muc_archiving_start(muc);
    return muc_persist_load(muc);
}

const char *muc_domain(const struct muc *muc)
{
    return muc->domain;
}

const struct muc_stats *muc_stats(const struct muc *muc)
{
    return &muc->stats;
}

unsigned muc_room_count_all(const struct muc *muc)
{
    return muc->room_count;
}

/* ---- programmatic rooms ------------------------------------------------------------- */

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

/* ---- destruction ------------------------------------------------------------------------ */

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

void muc_set_room_disco(struct muc *muc, const struct muc_room_disco *disco)
{
    muc->room_disco = *disco;
}

void muc_set_conceal(struct muc *muc, muc_conceal_fn fn, void *ud)
{
    muc->conceal = fn;
    muc->conceal_ud = ud;
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

void muc_free(struct muc *muc)
{
    if (!muc)
        return;
    loop_timer_cancel(muc->loop, muc->load_timer);
    /* The archive outlives us: it must not call back into a freed MUC. */
    if (muc->archive.archive && muc->archive.on_durable)
        muc->archive.on_durable(muc->archive.archive, NULL, NULL);
    while (muc->rooms)
        muc_room_free(muc->rooms);
    muc_held_free_all(muc);
    muc_forwards_free_all(muc);
    muc_mam_orphan_all(muc);
    budget_free(muc->mam_by_jid);
    budget_free(muc->mam_by_domain);
    buf_free(&muc->scratch);
    buf_free(&muc->scratch2);
    free(muc);
}
