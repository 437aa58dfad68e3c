/* The MUC service's composition root: creation and wiring into the router
 * and disco, the service-wide settings of the layer above, the counts for
 * the metrics, and freeing.  Nothing else in muc/ calls into this file. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/admin.h"
#include "muc/durable.h"
#include "muc/iq.h"
#include "muc/mam.h"
#include "muc/message.h"
#include "muc/muc.h"
#include "muc/owner.h"
#include "muc/persist.h"
#include "muc/presence.h"
#include "muc/room.h"
#include "muc/roomdisco.h"

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

const struct muc_stats *muc_stats(const struct muc *muc)
{
    return &muc->stats;
}

unsigned muc_room_count_all(const struct muc *muc)
{
    return muc->room_count;
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

void muc_set_archive_events(struct muc *muc,
                            const struct muc_archive_events *events)
{
    muc->archive_events = *events;
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
