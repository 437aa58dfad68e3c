/* Dispatch of received stanzas to the modules that handle them.
 *
 * The router knows our domain D and sorts every stanza by its address:
 *   D              ROUTE_SERVICE   the service itself
 *   local@D        ROUTE_ROOM      a room (or queue)
 *   local@D/res    ROUTE_OCCUPANT  an occupant of a room
 *   D/res          ROUTE_SERVICE   (resources on the bare domain are ignored)
 * IQ requests go to the handler registered for their kind of address and the
 * namespace of their payload; anything unhandled gets the error RFC 6120
 * asks for, so an iq is never left unanswered.  Messages and presences go to
 * one handler per kind of address.
 *
 * Handlers write replies into link_out(); an iq handler that fails returns
 * -1 with the error filled in and the router writes the error reply. */
#ifndef MUCDESK_XMPP_ROUTER_H
#define MUCDESK_XMPP_ROUTER_H

#include <stdint.h>
#include <strophe.h>

#include "core/loop.h"
#include "xmpp/link.h"
#include "xmpp/stanza.h"

enum route_kind { ROUTE_SERVICE, ROUTE_ROOM, ROUTE_OCCUPANT, ROUTE_KINDS };

/* payload: the iq's only child element.  Returns 0 once it has replied, or
 * -1 with *err set (it starts as internal-server-error: fail closed). */
typedef int (*router_iq_fn)(void *ud, const struct stanza_in *in,
                            xmpp_stanza_t *payload, struct xerr *err);
/* For messages and presences; the handler answers errors itself. */
typedef void (*router_stanza_fn)(void *ud, const struct stanza_in *in);
/* The answer to an iq we sent: `in` is NULL if it timed out. */
typedef void (*router_reply_fn)(void *ud, const struct stanza_in *in);

struct router;

struct router *router_new(struct loop *loop, struct link *link,
                          const char *domain);
void router_free(struct router *router);

/* Registers the handler for iq get/set payloads in namespace `ns` sent to
 * addresses of `kind`.  One handler per (kind, ns).  0 or -1. */
int router_on_iq(struct router *router, enum route_kind kind, const char *ns,
                 router_iq_fn fn, void *ud);
/* Catches iq get/set of `kind` whose namespace has no handler (the MUC
 * forwards iqs to occupants this way). */
int router_on_other_iq(struct router *router, enum route_kind kind,
                       router_iq_fn fn, void *ud);
int router_on_message(struct router *router, enum route_kind kind,
                      router_stanza_fn fn, void *ud);
int router_on_presence(struct router *router, enum route_kind kind,
                       router_stanza_fn fn, void *ud);

/* Called when the iq we sent to `to_jid` under `id` is answered, or after
 * timeout_ms (then `in` is NULL).  Only an answer whose from is to_jid
 * (compared as prepared JIDs) is the answer: one from anyone else is an
 * unexpected stanza, dropped as any unmatched result is, and the wait goes
 * on.  So whoever learns the id cannot answer in to_jid's place.  The id
 * must be unique and unguessable: use router_new_id().  0 or -1. */
int router_expect_reply(struct router *router, const char *id,
                        const char *to_jid, uint64_t timeout_ms,
                        router_reply_fn fn, void *ud);

/* Room for an id of router_new_id(), with its NUL. */
#define ROUTER_ID_SIZE 36
/* Writes a fresh id into out[size] (size >= ROUTER_ID_SIZE): "md-" and 128
 * bits from OpenSSL's generator in hex, so that nobody can guess the id of
 * an iq sent to someone else.  0, or -1 if the generator failed (out is
 * then ""). */
int router_new_id(struct router *router, char *out, size_t size);

/* Entry point from the link. */
void router_dispatch(struct router *router, xmpp_stanza_t *st);

const char *router_domain(const struct router *router);
struct buf *router_out(struct router *router);

#endif
