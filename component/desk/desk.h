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
/* SIGHUP: reads queues and agents from PostgreSQL again now, and takes
 * up the [desk] and [mail] settings config_reload() changed. */
void desk_reload(struct desk *desk);
void desk_free(struct desk *desk);

/* ---- for the metrics and the service manager (desk/metrics.c) ------------- */

struct metrics;
/* Registers the desk's families (mucdesk_queue_*, mucdesk_chats_*,
 * mucdesk_offers_*, the wait and first-response histograms).  0 or -1. */
int desk_metrics_register(struct desk *desk, struct metrics *m);

struct desk_status {
    bool restored;            /* the open tickets are back (after a start) */
    unsigned queues;
    unsigned waiting;         /* chats waiting, all queues */
    unsigned active;          /* chats an agent has */
    uint64_t tickets_refused; /* by [desk] new_tickets_per_minute */
    uint64_t sender_refused;  /* by the per-sender budgets (limits.c) */
};
void desk_get_status(const struct desk *desk, struct desk_status *out);

#endif
