/* The support desk: queues, agents, tickets, routing, offers, chat
 * sessions, text and ad-hoc commands, supervision (PRODUCT.md §1-5).
 *
 * Built on the MUC service (muc/muc.h): queue rooms and session rooms are
 * programmatic rooms whose hooks the desk implements; tickets and their
 * events go through store/tickets.h and the archive.  See README.md. */
#ifndef MUCDESK_DESK_DESK_H
#define MUCDESK_DESK_DESK_H

#include "core/config.h"
#include "core/loop.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "store/db.h"
#include "xmpp/disco.h"
#include "xmpp/router.h"

struct desk;

/* Registers the desk's commands and handlers.  Borrows everything for its
 * whole life.  NULL on failure (logged). */
struct desk *desk_new(struct loop *loop, struct router *router,
                      struct disco *disco, struct muc *muc,
                      struct store *store, struct archive *archive,
                      const struct config *cfg);
/* Loads queues and agents, then the open tickets (their rooms come back).
 * Call after archive_start().  0 or -1. */
int desk_start(struct desk *desk);
/* Reads queues and agents from PostgreSQL again now (SIGHUP). */
void desk_reload(struct desk *desk);
void desk_free(struct desk *desk);

#endif
