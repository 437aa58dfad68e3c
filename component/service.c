#include "build-config.h"

#include "service.h"

#include <stdio.h>
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
#include "store/lease.h"
#include "upload/upload.h"
#include "webhook/sender.h"
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
    struct upload *upload;       /* files and /status/ on http, with a desk */
    struct readiness *readiness;
    struct webhook_sender *webhooks; /* NULL: [webhooks] enabled = 0 */
    struct lease *lease;      /* [ha] mode = active-standby, else NULL */
    enum service_role role;
    bool failed;              /* could not start serving after the lock */
};

static const char *const role_names[] = {
    [SERVICE_STARTING] = "starting", [SERVICE_STANDALONE] = "standalone",
    [SERVICE_STANDBY] = "standby",   [SERVICE_ACTIVE] = "active",
    [SERVICE_FENCED] = "fenced",
};

const char *service_role_name(enum service_role role)
{
    return (unsigned)role <= SERVICE_FENCED ? role_names[role] : "?";
}

enum service_role service_role(const struct service *svc)
{
    return svc->role;
}

bool service_is_active(const struct service *svc)
{
    return svc->role == SERVICE_STANDALONE || svc->role == SERVICE_ACTIVE;
}

bool service_failed(const struct service *svc)
{
    return svc->failed;
}

/* One line per change of role, the same words as service_role_name(), for
 * whoever reads the log (and tests). */
static void set_role(struct service *svc, enum service_role role,
                     const char *why)
{
    svc->role = role;
    if (role == SERVICE_FENCED)
        log_error(LOG, "instance role: %s (%s)", service_role_name(role), why);
    else
        log_info(LOG, "instance role: %s (%s)", service_role_name(role), why);
}

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
    st->standby = svc->role == SERVICE_STANDBY;
    st->fenced = svc->role == SERVICE_FENCED;
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
        if (svc->desk && !(svc->upload = upload_new(
                               svc->loop, svc->router, svc->disco, svc->http,
                               svc->desk, svc->store, svc->archive, cfg)))
            return -1;
    }
    svc->metric_sources = (struct service_metrics_sources){
        .link = svc->link, .store = svc->store, .archive = svc->archive,
        .muc = svc->muc, .desk = svc->desk, .http = svc->http,
        .service = svc,
        .start_time_s = (uint64_t)time(NULL)};
    if (service_metrics_register(svc->metrics, &svc->metric_sources) < 0 ||
        (svc->desk && desk_metrics_register(svc->desk, svc->metrics) < 0) ||
        (svc->webhooks && webhook_sender_metrics(svc->webhooks, svc->metrics) < 0))
        return -1;
    svc->readiness = readiness_new(svc->loop, probe, svc);
    return svc->readiness ? 0 : -1;
}

static void on_link_stanza(void *ud, xmpp_stanza_t *st)
{
    struct service *svc = ud;
    router_dispatch(svc->router, st);
}

/* ---- active/standby ----------------------------------------------------------- */

static bool may_send(void *ud)
{
    struct service *svc = ud;
    return lease_valid(svc->lease);
}

static int start_serving(struct service *svc);

static void on_lease_acquired(void *ud)
{
    struct service *svc = ud;
    char why[160];
    snprintf(why, sizeof why, "holds database lock %d on backend pid %d: "
             "restoring chats and connecting the component link",
             svc->cfg->ha.lock_key, lease_backend_pid(svc->lease));
    set_role(svc, SERVICE_ACTIVE, why);
    if (start_serving(svc) < 0) {
        svc->failed = true;
        loop_stop(svc->loop);
    }
}

/* Fencing: not one more stanza once the lock may be someone else's. */
static void on_lease_lost(void *ud, const char *why)
{
    struct service *svc = ud;
    link_abort(svc->link);
    char text[400];
    snprintf(text, sizeof text, "%s: the component link is cut, this process "
             "starts again as a standby", why);
    set_role(svc, SERVICE_FENCED, text);
    loop_stop(svc->loop);
}

static int setup_lease(struct service *svc)
{
    const struct config *cfg = svc->cfg;
    struct lease_config lc = {
        .conninfo = cfg->database.conninfo,
        .connect_timeout_s = cfg->database.connect_timeout_s,
        .key = cfg->ha.lock_key,
        .lease_ms = (unsigned)cfg->ha.lease_ms,
        .poll_ms = (unsigned)cfg->ha.poll_ms,
    };
    struct lease_events ev = {.ud = svc, .acquired = on_lease_acquired,
                              .lost = on_lease_lost};
    svc->lease = lease_new(svc->loop, &lc, &ev);
    if (!svc->lease) {
        log_error(LOG, "cannot set up the database lock");
        return -1;
    }
    link_set_gate(svc->link, may_send, svc);
    if (cfg->database.durability != CONFIG_DURABILITY_DATABASE)
        log_warn(LOG, "[ha] mode = active-standby with [database] durability "
                 "= %s: messages shown before PostgreSQL has them are on this "
                 "host's disk only until shipped (set durability = database)",
                 cfg->database.durability == CONFIG_DURABILITY_ASYNC ? "async"
                                                                    : "journal");
    return 0;
}

/* The webhook sender (started with the serving, see start_serving). */
static int setup_webhooks(struct service *svc)
{
    const struct config *cfg = svc->cfg;
    struct webhook_sender_config wc = {
        .conninfo = cfg->database.conninfo,
        .connect_timeout_s = cfg->database.connect_timeout_s,
        .timeout_s = cfg->webhooks.timeout_s,
        .retry_min_s = cfg->webhooks.retry_min_s,
        .retry_max_s = cfg->webhooks.retry_max_s,
        .max_attempts = cfg->webhooks.max_attempts,
        .keep_delivered_days = cfg->webhooks.keep_delivered_days,
    };
    if (!(svc->webhooks = webhook_sender_new(&wc))) {
        log_error(LOG, "cannot set up the webhook sender");
        return -1;
    }
    return 0;
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
    if (cfg->ha.mode == CONFIG_HA_ACTIVE_STANDBY && setup_lease(svc) < 0)
        goto fail;
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
    if (svc->desk && cfg->webhooks.enabled && setup_webhooks(svc) < 0)
        goto fail;
    if (setup_http(svc) < 0) {
        log_error(LOG, "cannot set up the HTTP listener and the metrics");
        goto fail;
    }
    return svc;
fail:
    service_free(svc);
    return NULL;
}

/* Rooms and chats from PostgreSQL, then the component link: what a
 * standalone start does, and what a standby does once it holds the lock. */
static int start_serving(struct service *svc)
{
    if (muc_start(svc->muc) < 0) {
        log_error(LOG, "cannot start the MUC service");
        return -1;
    }
    if (svc->desk && desk_start(svc->desk) < 0) {
        log_error(LOG, "cannot start the desk");
        return -1;
    }
    if (svc->upload && upload_start(svc->upload) < 0)
        return -1;
    /* Only a serving instance sends; its own lock keeps a second one on
     * the same database from sending too (webhook/sender.h). */
    if (svc->webhooks && webhook_sender_start(svc->webhooks) < 0)
        return -1;
    return link_start(svc->link);
}

int service_start(struct service *svc)
{
    if (store_start(svc->store) < 0) {
        log_error(LOG, "cannot start the database thread");
        return -1;
    }
    /* The journal is replayed (shipped again) before the link comes up; a
     * standby ships what its journal kept from when it last served. */
    if (archive_start(svc->archive) < 0)
        return -1;
    /* A standby answers /metrics and tells systemd what it is too. */
    if (svc->http && http_server_start(svc->http) < 0)
        return -1;
    if (readiness_start(svc->readiness) < 0)
        return -1;
    if (!svc->lease) {
        set_role(svc, SERVICE_STANDALONE, "[ha] mode = standalone: serving");
        return start_serving(svc);
    }
    char why[160];
    snprintf(why, sizeof why, "queued for database lock %d (retrying every "
             "%d ms while the database is out of reach); fencing after %d ms "
             "without the lock session",
             svc->cfg->ha.lock_key, svc->cfg->ha.poll_ms, svc->cfg->ha.lease_ms);
    set_role(svc, SERVICE_STANDBY, why);
    return lease_start(svc->lease);
}

int service_stop(struct service *svc)
{
    readiness_stopping(svc->readiness);
    /* No HTTP request is answered from a half-stopped service. */
    http_server_stop(svc->http);
    if (svc->role == SERVICE_FENCED) {
        /* Nothing more to the XMPP server, not even goodbyes: another
         * instance may be serving these rooms by now. */
        link_abort(svc->link);
    } else {
        /* Occupants are told (332) while the link can still carry it. */
        muc_shutdown(svc->muc);
        link_close(svc->link, SHUTDOWN_LINK_MS);
    }
    /* A POST under way is abandoned: its event is sent again next time. */
    webhook_sender_stop(svc->webhooks);
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
    webhook_sender_free(svc->webhooks);
    upload_free(svc->upload);
    http_server_free(svc->http);
    readiness_free(svc->readiness);
    metrics_free(svc->metrics);
    desk_free(svc->desk);
    muc_free(svc->muc);
    disco_free(svc->disco);
    router_free(svc->router);
    lease_free(svc->lease); /* closing the lock session frees the lock */
    link_free(svc->link);
    archive_free(svc->archive);
    store_free(svc->store);
    free(svc);
}

void service_reload(struct service *svc)
{
    /* A standby holds no queues yet: what it reads now it reads again
     * when it takes over (a reload before that would restore chats that
     * are stale by then). */
    if (svc->desk && service_is_active(svc))
        desk_reload(svc->desk);
    readiness_reloaded(svc->readiness);
}

struct muc *service_muc(struct service *svc)
{
    return svc->muc;
}

struct desk *service_desk(struct service *svc)
{
    return svc->desk;
}
