/* What the service manager is told (systemd, Type=notify; core/sdnotify.h):
 *
 *   READY=1     once the link is up, the database reached and the open
 *               chats restored (each of them, for the first time); a
 *               standby ([ha] mode) once the database is reached: it is
 *               started as what it is, and says so in STATUS;
 *   STATUS=...  one line: the link, the database, the chats, sent when it
 *               changes (looked at every second);
 *   WATCHDOG=1  from a timer of the event loop, at half the WatchdogSec=
 *               interval: a loop that hangs stops sending, and systemd
 *               restarts the daemon;
 *   RELOADING=1 ... READY=1 around a SIGHUP; STOPPING=1 at the end.
 *
 * Without libsystemd or $NOTIFY_SOCKET it still runs (cheaply) and sends
 * nothing. */
#ifndef MUCDESK_READINESS_H
#define MUCDESK_READINESS_H

#include <stdbool.h>

#include "core/loop.h"

struct readiness_state {
    bool link_up;
    bool db_up;
    bool restored;       /* the open chats are back (true without a desk) */
    bool standby;        /* [ha]: waiting for the database lock; ready as
                            such once the database is reached */
    bool fenced;         /* lost the lock session: stopping */
    unsigned queues, waiting, active;
};

typedef void (*readiness_probe_fn)(void *ud, struct readiness_state *out);

struct readiness;

/* probe is asked for the state at each look.  NULL on allocation failure. */
struct readiness *readiness_new(struct loop *loop, readiness_probe_fn probe,
                                void *ud);
/* Starts looking (and the watchdog).  0 or -1. */
int readiness_start(struct readiness *r);
/* A SIGHUP was handled: READY=1 again, with the status. */
void readiness_reloaded(struct readiness *r);
void readiness_stopping(struct readiness *r);
/* NULL is a no-op. */
void readiness_free(struct readiness *r);


#endif
