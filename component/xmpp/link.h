/* The XEP-0114 link to the XMPP server, through libstrophe.
 *
 * The link owns the libstrophe context and connection, drives the socket
 * from our event loop (libstrophe has no API for its fd: we capture it in the
 * sockopt callback), reconnects with exponential backoff and jitter, and
 * sends everything a loop turn wrote into link_out() as one write.
 *
 * Stanzas written while the link is down are dropped: the server bounces
 * stanzas addressed to us while we are away, and occupants rejoin. */
#ifndef MUCDESK_XMPP_LINK_H
#define MUCDESK_XMPP_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

#include "core/buf.h"
#include "core/loop.h"

struct link;

struct link_config {
    const char *domain;   /* the component's JID */
    const char *secret;
    const char *host;     /* IP literal */
    unsigned short port;
    uint32_t reconnect_max_ms;
};

struct link_events {
    void *ud;
    void (*up)(void *ud);                        /* handshake accepted */
    void (*down)(void *ud);                      /* connection lost */
    void (*stanza)(void *ud, xmpp_stanza_t *st); /* one received stanza */
};

/* Creates the link (not yet connecting).  Copies the config strings.
 * NULL on failure. */
struct link *link_new(struct loop *loop, const struct link_config *cfg,
                      const struct link_events *events);
void link_free(struct link *link);

/* Starts connecting; failures are retried with backoff from then on. */
int link_start(struct link *link);

/* Ends the stream politely: sends what is buffered and </stream:stream>,
 * then waits (running the loop's I/O for the link only) at most timeout_ms
 * for the write to finish.  No reconnect afterwards. */
void link_close(struct link *link, unsigned timeout_ms);

bool link_is_up(const struct link *link);

/* Fencing (active/standby, service.c): may_send(ud) is asked before each
 * write to the server; once it answers false the link is cut as by
 * link_abort() and nothing more goes out. */
void link_set_gate(struct link *link, bool (*may_send)(void *ud), void *ud);
/* Cuts the connection now: what is buffered is dropped, the socket is shut
 * down both ways (the server sees the stream end), no reconnect. */
void link_abort(struct link *link);

/* The output buffer for this turn: append whole stanzas (text in the
 * jabber:component:accept namespace).  Flushed at the end of the turn. */
struct buf *link_out(struct link *link);

/* Flushes link_out() now instead of at the end of the turn. */
void link_flush(struct link *link);

xmpp_ctx_t *link_strophe(struct link *link);

/* Counters for logs and benchmarks. */
struct link_stats {
    uint64_t stanzas_in;
    uint64_t bytes_out;
    uint64_t connects;
    uint64_t handshake_failures;
};
const struct link_stats *link_stats(const struct link *link);

#endif
