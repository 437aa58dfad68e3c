/* The service: every module of the daemon, wired together.
 *
 * main.c owns the process (arguments, signals, exit status); the service
 * owns what runs inside it.  Modules are created in layer order (store,
 * xmpp, muc, desk) and freed in reverse. */
#ifndef MUCDESK_SERVICE_H
#define MUCDESK_SERVICE_H

#include "core/config.h"
#include "core/loop.h"

struct service;

enum service_flags {
    SERVICE_NO_DESK = 1, /* the MUC alone (tests/muc/testdesk.c drives it) */
};

/* Builds every module.  NULL (with the reason logged) on failure. */
struct service *service_new(struct loop *loop, const struct config *cfg,
                            unsigned flags);
/* Starts the DB thread and the XMPP link.  0 or -1. */
int service_start(struct service *svc);
/* Orderly shutdown: occupants told (status 332), the stream closed, the DB
 * thread flushed.  Returns 0 if everything queued reached the database. */
int service_stop(struct service *svc);
void service_free(struct service *svc);

/* SIGHUP, after config_reload() changed the live configuration: queues
 * and agents are read from the database again, the [desk] and [mail]
 * settings taken up, and the service manager told (READY=1). */
void service_reload(struct service *svc);

struct muc;
/* The MUC service, for the layer above it (borrowed, lives as long as svc). */
struct muc *service_muc(struct service *svc);

#endif
