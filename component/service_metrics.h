/* The service's metrics: the families of the modules below the desk (the
 * link, the database thread, the archive, the MUC, the HTTP listener) and
 * the /metrics route that exposes every family of the registry.
 *
 * The collect functions read the modules through their read-only
 * accessors on the XMPP thread, where /metrics is answered. */
#ifndef MUCDESK_SERVICE_METRICS_H
#define MUCDESK_SERVICE_METRICS_H

#include <stdint.h>

struct archive;
struct desk;
struct http_server;
struct link;
struct metrics;
struct muc;
struct store;

/* What the families read (borrowed; must outlive the registry).  desk
 * NULL: no desk; http NULL: no listener. */
struct service_metrics_sources {
    const struct link *link;
    const struct store *store;
    const struct archive *archive;
    const struct muc *muc;
    const struct desk *desk;
    const struct http_server *http;
    const struct service *service; /* its role (active/standby) */
    uint64_t start_time_s;   /* the Unix time the process started */
};

/* 0 or -1. */
int service_metrics_register(struct metrics *m,
                             const struct service_metrics_sources *src);
/* GET /metrics on the listener, answered from m.  0 or -1. */
int service_metrics_route(struct http_server *http, struct metrics *m);

#endif
