/* The service: every module of the daemon, wired together.
 *
 * main.c owns the process (arguments, signals, exit status); the service
 * owns what runs inside it.  Modules are created in layer order (store,
 * xmpp, muc, desk) and freed in reverse. */
#ifndef MUCDESK_SERVICE_H
#define MUCDESK_SERVICE_H

#include <stdbool.h>

#include "core/config.h"
#include "core/loop.h"

struct service;

enum service_flags {
    SERVICE_NO_DESK = 1, /* the MUC alone (tests/muc/testdesk.c drives it) */
};

/* Builds every module.  NULL (with the reason logged) on failure. */
struct service *service_new(struct loop *loop, const struct config *cfg,
                            unsigned flags);
/* Starts the DB thread and the journal; then, standalone, the rooms, the
 * chats and the XMPP link; with [ha] mode = active-standby, the lock
 * thread: the rest starts once this process holds the lock.  0 or -1. */
int service_start(struct service *svc);

/* Which instance serves (active/standby).  The role changes on the XMPP
 * thread, each change logged as "instance role: NAME (why)". */
enum service_role {
    SERVICE_STARTING,   /* before service_start() */
    SERVICE_STANDALONE, /* [ha] mode = standalone: serving */
    SERVICE_STANDBY,    /* waiting for the database lock */
    SERVICE_ACTIVE,     /* holds the lock: serving */
    SERVICE_FENCED,     /* held it and lost it: stopped serving, the loop
                           is stopped; main() starts the process again */
};
enum service_role service_role(const struct service *svc);
const char *service_role_name(enum service_role role);
/* True while this process serves (standalone, or active). */
bool service_is_active(const struct service *svc);
/* True if it got the lock but could not start serving (exit 1). */
bool service_failed(const struct service *svc);
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
struct desk;
/* The desk, for tests that look at its chats (borrowed, as service_muc). */
struct desk *service_desk(struct service *svc);

#endif
