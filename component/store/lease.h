/* The lease: who of several mucdesk processes serves (active/standby).
 *
 * Every process of one deployment (same PostgreSQL, same config, each with
 * its own state_dir) runs a lease.  A lease keeps one dedicated libpq
 * connection, the lock session, and waits on it in pg_advisory_lock(key),
 * in PostgreSQL's lock queue: the lock goes to the instance that asked
 * first, the moment it is free (poll_ms only paces reconnecting when the
 * database is out of reach).  PostgreSQL drops the lock when that
 * session ends, however it ends (the process exits or is killed, the
 * session is terminated, the server loses sight of the client's host).
 *
 * The holder proves every lease_ms/4 that its session is alive (SELECT 1,
 * answered within lease_ms).  If the session fails or no answer comes in
 * time, the lease is *lost* and never comes back in this process: the
 * service must stop serving at once (fencing), before PostgreSQL could
 * drop the session and a standby could take the lock.  The server side of
 * the lock session is set to give up on a silent client only after
 * lease_ms + 2 s (TCP keepalives and tcp_user_timeout of that session), so
 * a holder that cannot reach the database has stopped serving 2 s before
 * the lock is free.  lease_valid() is that promise as a predicate, for
 * writes that must not go out once it no longer holds.
 *
 * The lease runs on its own thread (blocking libpq, never the XMPP
 * thread); the events come on the XMPP thread through the loop. */
#ifndef MUCDESK_STORE_LEASE_H
#define MUCDESK_STORE_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"

struct lease;

struct lease_config {
    const char *conninfo;     /* [database] conninfo (copied) */
    int connect_timeout_s;
    int64_t key;              /* pg_try_advisory_lock(key) */
    unsigned lease_ms;        /* fence when the session is silent this long */
    unsigned poll_ms;         /* retry pace while the database is out of reach */
};

struct lease_events {
    void *ud;
    /* This process holds the lock: it may serve. */
    void (*acquired)(void *ud);
    /* It held the lock and no longer can prove it does: stop serving now.
     * `why` is one line for the log. */
    void (*lost)(void *ud, const char *why);
};

enum lease_state {
    LEASE_IDLE,    /* not started */
    LEASE_WAITING, /* standby: asking for the lock */
    LEASE_HELD,    /* active */
    LEASE_LOST,    /* was active, fenced: never held again */
};

/* NULL on failure (out of memory, no eventfd).  Copies the strings. */
struct lease *lease_new(struct loop *loop, const struct lease_config *cfg,
                        const struct lease_events *events);
/* Starts the lock thread.  0 or -1. */
int lease_start(struct lease *l);
/* Stops the thread and closes the lock session (which frees the lock). */
void lease_free(struct lease *l);

enum lease_state lease_state(const struct lease *l);
/* True while the lock is held and its session answered within lease_ms:
 * any thread may ask, cheaply. */
bool lease_valid(const struct lease *l);
/* The lock session's backend pid (0 if not connected), for the log. */
int lease_backend_pid(const struct lease *l);

#endif
