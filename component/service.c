#include "build-config.h"

#include "service.h"

#include <stdlib.h>

#include "core/log.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "store/db.h"
#include "xmpp/disco.h"
#include "xmpp/link.h"
#include "xmpp/ping.h"
#include "xmpp/router.h"
#include "xmpp/version.h"

#define LOG "service"

/* How long shutdown waits for the XMPP server to take our last stanzas, and
 * for the database to take what is queued. */
#define SHUTDOWN_LINK_MS 2000
#define SHUTDOWN_STORE_MS 10000

struct service {
    const struct config *cfg;
    struct loop *loop;
    struct store *store;
    struct archive *archive;
    struct link *link;
    struct router *router;
    struct disco *disco;
    struct muc *muc;
};

static void on_link_stanza(void *ud, xmpp_stanza_t *st)
{
    struct service *svc = ud;
    router_dispatch(svc->router, st);
}

struct service *service_new(struct loop *loop, const struct config *cfg)
{
    struct service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return NULL;
    svc->cfg = cfg;
    svc->loop = loop;

    struct store_config store_cfg = {
        .conninfo = cfg->database.conninfo,
        .connect_timeout_s = cfg->database.connect_timeout_s,
        .statement_timeout_ms = cfg->database.statement_timeout_ms,
    };
    svc->store = store_new(loop, &store_cfg);
    if (!svc->store) {
        log_error(LOG, "cannot set up the database thread");
        goto fail;
    }
    /* Before the DB thread starts: the archive adds connect hooks. */
    svc->archive = archive_new(loop, svc->store, cfg);
    if (!svc->archive) {
        log_error(LOG, "cannot set up the archive");
        goto fail;
    }

    struct link_config link_cfg = {
        .domain = cfg->component.jid,
        .secret = cfg->component.secret,
        .host = cfg->component.host,
        .port = (unsigned short)cfg->component.port,
        .reconnect_max_ms = (uint32_t)cfg->component.reconnect_max_s * 1000u,
    };
    struct link_events events = {.ud = svc, .stanza = on_link_stanza};
    svc->link = link_new(loop, &link_cfg, &events);
    if (!svc->link) {
        log_error(LOG, "cannot set up the XMPP link");
        goto fail;
    }
    svc->router = router_new(loop, svc->link, cfg->component.jid);
    svc->disco = svc->router ? disco_new(svc->router, cfg->service.name) : NULL;
    if (!svc->disco || ping_register(svc->router, svc->disco) < 0 ||
        version_register(svc->router, svc->disco) < 0) {
        log_error(LOG, "cannot register the base protocol handlers");
        goto fail;
    }
    struct muc_archive archive = {svc->archive, archive_append,
                                  archive_durable, archive_on_durable,
                                  archive_query};
    svc->muc = muc_new(loop, svc->router, svc->disco, svc->store, &archive,
                       cfg);
    if (!svc->muc) {
        log_error(LOG, "cannot set up the MUC service");
        goto fail;
    }
    return svc;
fail:
    service_free(svc);
    return NULL;
}

int service_start(struct service *svc)
{
    if (store_start(svc->store) < 0) {
        log_error(LOG, "cannot start the database thread");
        return -1;
    }
    if (muc_start(svc->muc) < 0) {
        log_error(LOG, "cannot start the MUC service");
        return -1;
    }
    /* The journal is replayed (shipped again) before the link comes up. */
    if (archive_start(svc->archive) < 0)
        return -1;
    return link_start(svc->link);
}

int service_stop(struct service *svc)
{
    /* Occupants are told (332) while the link can still carry it. */
    muc_shutdown(svc->muc);
    link_close(svc->link, SHUTDOWN_LINK_MS);
    /* Everything the link produced is appended by now: flush the journal
     * and ship what the database takes within the time allowed. */
    archive_stop(svc->archive, SHUTDOWN_STORE_MS);
    size_t lost = store_stop(svc->store, SHUTDOWN_STORE_MS);
    if (lost) {
        log_error(LOG, "%zu database operation(s) could not be completed",
                  lost);
        return -1;
    }
    return 0;
}

void service_free(struct service *svc)
{
    if (!svc)
        return;
    /* Finish the store's ops first: their callbacks use the modules above
     * it (the archive, the MUC). */
    if (svc->store)
        store_stop(svc->store, 0);
    muc_free(svc->muc);
    disco_free(svc->disco);
    router_free(svc->router);
    link_free(svc->link);
    archive_free(svc->archive);
    store_free(svc->store);
    free(svc);
}

struct muc *service_muc(struct service *svc)
{
    return svc->muc;
}
