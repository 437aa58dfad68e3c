#include "build-config.h"

#include "service.h"

#include <stdlib.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "desk/desk.h"
#include "http/server.h"
#include "readiness.h"
#include "service_metrics.h"
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
    struct desk *desk;
    struct metrics *metrics;
    struct service_metrics_sources metric_sources;
    struct http_server *http;    /* NULL: [http] listen unset */
    struct readiness *readiness;
};

static void probe(void *ud, struct readiness_state *st)
{
    struct service *svc = ud;
    struct desk_status ds = {.restored = true};
    if (svc->desk)
        desk_get_status(svc->desk, &ds);
    st->link_up = link_is_up(svc->link);
    st->db_up = store_connected(svc->store);
    st->restored = ds.restored;
    st->queues = ds.queues;
    st->waiting = ds.waiting;
    st->active = ds.active;
}

/* The HTTP listener with /metrics, when [http] listen is set. */
static int setup_http(struct service *svc)
{
    const struct config *cfg = svc->cfg;
    svc->metrics = metrics_new();
    if (!svc->metrics)
        return -1;
    if (cfg->http.listen) {
        struct http_config hc = {
            .listen = cfg->http.listen,
            .max_connections = (unsigned)cfg->http.max_connections,
            .max_connections_per_ip = (unsigned)cfg->http.max_connections_per_ip,
            .timeout_s = (unsigned)cfg->http.timeout_s,
        };
        char err[200];
        svc->http = http_server_new(svc->loop, &hc, err, sizeof err);
        if (!svc->http) {
            log_error(LOG, "[http] listen: %s", err);
            return -1;
        }
        if (service_metrics_route(svc->http, svc->metrics) < 0)
            return -1;
    }
    svc->metric_sources = (struct service_metrics_sources){
        .link = svc->link, .store = svc->store, .archive = svc->archive,
        .muc = svc->muc, .desk = svc->desk, .http = svc->http,
        .start_time_s = (uint64_t)time(NULL)};
    if (service_metrics_register(svc->metrics, &svc->metric_sources) < 0 ||
        (svc->desk && desk_metrics_register(svc->desk, svc->metrics) < 0))
        return -1;
    svc->readiness = readiness_new(svc->loop, probe, svc);
    return svc->readiness ? 0 : -1;
}

static void on_link_stanza(void *ud, xmpp_stanza_t *st)
{
    struct service *svc = ud;
    router_dispatch(svc->router, st);
}

struct service *service_new(struct loop *loop, const struct config *cfg,
                            unsigned flags)
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
    if (!(flags & SERVICE_NO_DESK)) {
        svc->desk = desk_new(loop, svc->router, svc->disco, svc->muc,
                             svc->store, svc->archive, cfg);
        if (!svc->desk) {
            log_error(LOG, "cannot set up the desk");
            goto fail;
        }
    }
    if (setup_http(svc) < 0) {
        log_error(LOG, "cannot set up the HTTP listener and the metrics");
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
    if (svc->desk && desk_start(svc->desk) < 0) {
        log_error(LOG, "cannot start the desk");
        return -1;
    }
    if (svc->http && http_server_start(svc->http) < 0)
        return -1;
    if (readiness_start(svc->readiness) < 0)
        return -1;
    return link_start(svc->link);
}

int service_stop(struct service *svc)
{
    readiness_stopping(svc->readiness);
    /* No HTTP request is answered from a half-stopped service. */
    http_server_stop(svc->http);
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
    /* Finish the store's ops first: their callbacks use the desk, the MUC
     * and the archive. */
    if (svc->store)
        store_stop(svc->store, 0);
    http_server_free(svc->http);
    readiness_free(svc->readiness);
    metrics_free(svc->metrics);
    desk_free(svc->desk);
    muc_free(svc->muc);
    disco_free(svc->disco);
    router_free(svc->router);
    link_free(svc->link);
    archive_free(svc->archive);
    store_free(svc->store);
    free(svc);
}

void service_reload(struct service *svc)
{
    if (svc->desk)
        desk_reload(svc->desk);
    readiness_reloaded(svc->readiness);
}

struct muc *service_muc(struct service *svc)
{
    return svc->muc;
}
