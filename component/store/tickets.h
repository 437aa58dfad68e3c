/* Tickets through the archive: created and updated even while PostgreSQL
 * is away, in order with their events.
 *
 * Contract (what the desk relies on):
 *  - Ticket numbers are reserved from the tickets id sequence in blocks,
 *    ahead of need, so creating a ticket never waits for the database.  If
 *    no number is reserved (the database was never reached since start-up)
 *    creation fails cleanly and the caller refuses the chat.
 *  - store_ticket_create() and store_ticket_update() journal a full
 *    snapshot of the ticket, in the same sequence as archive events: it
 *    reaches the tickets table (an idempotent upsert by id) before any event
 *    appended after it reaches ticket_events.  Durability and the sequence
 *    number work exactly as for archive_append().
 *  - Reads answer from PostgreSQL *and* what is journaled but not shipped
 *    yet, asynchronously, on the XMPP thread.
 *
 * All functions are called on the XMPP thread. */
#ifndef MUCDESK_STORE_TICKETS_H
#define MUCDESK_STORE_TICKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/archive.h"

enum ticket_status { TICKET_QUEUED, TICKET_INPROGRESS, TICKET_RESOLVED };

/* "QUEUED", "INPROGRESS", "RESOLVED"; and back (-1 if unknown). */
const char *ticket_status_name(enum ticket_status status);
int ticket_status_parse(const char *name, enum ticket_status *out);

#define TICKET_TOKEN_HASH_SIZE 32 /* SHA-256 */

/* The tickets row (sql/001_init.sql).  Strings may be NULL (SQL NULL);
 * times are Unix microseconds, 0 meaning NULL. */
struct store_ticket {
    int64_t id;                 /* the ticket number (> 0) */
    const char *queue;          /* required */
    enum ticket_status status;
    const char *subject;
    const char *customer_jid;
    const char *customer_name;
    const char *customer_email;
    const char *owner_jid;
    int priority;               /* 1..5 (0 is taken as the default, 3) */
    int64_t created_us;         /* 0: now */
    int64_t accepted_us;
    int64_t ended_us;
    int chat_seconds;
    int rating;                 /* 1..5, 0: none */
    const char *rating_comment;
    const char *room;           /* local part of the session room */
    bool has_token_hash;
    uint8_t token_hash[TICKET_TOKEN_HASH_SIZE];
    const char *details;        /* a JSON object as text; NULL: {} */
    /* The follow-up fields (sql/007).  followup_known: false for a snapshot
     * that does not carry them (a chat's, or a journal record older than
     * them): storing it then leaves the stored values as they are. */
    bool followup_known;
    const char *impact;
    const char *ci;             /* configuration item */
    const char *tags;           /* comma-separated, NULL: none */
    const char *solution;
    const char *customer_phone;
    int64_t merged_into;        /* ticket number, 0: none */
};

/* Takes a reserved number into t->id and journals the ticket.  Returns the
 * record's sequence number (> 0), or 0 if no number is reserved or the
 * journal cannot record it (t->id is then left 0). */
uint64_t store_ticket_create(struct archive *a, struct store_ticket *t);
/* Journals the ticket's new state (every column: a full snapshot).
 * Sequence number, or 0 if it cannot be recorded. */
uint64_t store_ticket_update(struct archive *a, const struct store_ticket *t);
/* How many ticket numbers are reserved and unused (refilled in the
 * background whenever the database is reachable). */
size_t store_ticket_ids_available(const struct archive *a);

struct store_ticket_list {
    bool failed;                  /* the database could not answer in time */
    const struct store_ticket *tickets; /* by id; valid during the callback */
    size_t count;
};

typedef void (*store_tickets_fn)(void *ud, const struct store_ticket_list *list);

/* Every ticket that is not RESOLVED, and every ticket that ended at or
 * after `ended_since_us` (0: none of those), whatever its status: the
 * desk's start-up.  0, or -1 if the read could not be queued. */
int store_tickets_load_open(struct archive *a, int64_t ended_since_us,
                            store_tickets_fn fn, void *ud);

/* One ticket by number, by session room, or by resume token hash (set one
 * key; count is 0 if there is none). */
struct store_ticket_key {
    int64_t id;
    const char *room;
    bool has_token_hash;
    uint8_t token_hash[TICKET_TOKEN_HASH_SIZE];
};
int store_ticket_find(struct archive *a, const struct store_ticket_key *key,
                      store_tickets_fn fn, void *ud);

#endif
