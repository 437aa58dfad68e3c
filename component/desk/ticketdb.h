/* The SQL of the "tickets after the chat" commands (issue 14), shared by
 * the daemon (DB thread: tickets.c) and mucdeskctl: the bounded list, the
 * update (every change a staff-only ticket_events row; merges), the reply
 * by e-mail, and the follow-up claims the daemon announces.
 * Blocking libpq: never on the XMPP thread.
 *
 * Authorisation is part of the query: `queues` (NULL: all) are the queues
 * the asker may see, and a ticket outside them is DESK_DB_NOT_FOUND
 * exactly as a missing one, so the callers cannot tell them apart. */
#ifndef MUCDESK_DESK_TICKETDB_H
#define MUCDESK_DESK_TICKETDB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desk/reports.h"

#define DESK_TICKETS_MAX 50
/* A live chat's status, owner, queue and priority belong to its room's
 * commands, not to ticket-update. */
#define DESK_DB_LIVE_CHAT (-5)

struct desk_ticket_filter {
    const char *queue;            /* or NULL */
    const char *status;           /* upper case, "OPEN" (not RESOLVED), or
                                     NULL (any) */
    const char *owner;            /* a bare JID, or NULL */
    bool unassigned;              /* no owner */
    const char *text;             /* in subject, customer or question */
    int64_t age_s;                /* 0: any */
    bool older;                   /* age_s: older than (else at most) */
    const char *const *queues;    /* visible queues; NULL: all */
    size_t queue_count;
    int limit;                    /* <= 0: DESK_TICKETS_MAX */
};

/* Oldest first (the longest waiting work on top), at most limit rows
 * into *out (desk_found_free), *total: how many match in all. */
int desk_db_tickets_list(PGconn *conn, const struct desk_ticket_filter *f,
                         struct desk_found **out, size_t *count, long *total,
                         char *err, size_t errlen);

/* Whether ticket id is visible (queues: as above): DESK_DB_OK or
 * DESK_DB_NOT_FOUND. */
int desk_db_ticket_visible(PGconn *conn, int64_t id, const char *const *queues,
                           size_t queue_count, char *err, size_t errlen);

/* What to change (NULL / 0: unchanged; "" clears a text field, and owner
 * "" makes it unassigned). */
struct desk_ticket_change {
    int64_t id;
    const char *actor;            /* bare JID, or "mucdeskctl:USER" */
    const char *status;           /* upper case */
    const char *owner;
    const char *queue;            /* must exist (DESK_DB_INVALID) */
    int priority;                 /* 1..5 */
    const char *impact, *ci, *tags, *solution;
    const char *note;
    int64_t merge_into;           /* visible too, not id itself */
    /* A unique key per request: the events' stanza_id prefix, so that a
     * request retried after a lost commit acknowledgement adds nothing. */
    const char *key;
    const char *const *queues;    /* visible queues; NULL: all */
    size_t queue_count;
};

struct desk_ticket_updated {
    char old_queue[128];
    char queue[128];              /* after the change */
    char status[16];              /* after the change */
    char owner[320];              /* after the change; "" none */
    int priority;                 /* after the change */
    char customer[128];           /* name, or "" */
    char subject[256];
    char summary[1024];           /* "status RESOLVED; note" (the changes) */
    int changes;                  /* 0: nothing changed */
    bool followup;                /* announced in its queue room (moved
                                     there, or back to QUEUED) */
};

/* In one transaction.  A move to another queue or back to QUEUED sets
 * followup_at and followup_note and notifies 'mucdesk_followup'.
 * DESK_DB_NOT_FOUND (the ticket or merge-into not visible),
 * DESK_DB_INVALID (err names the field), DESK_DB_LIVE_CHAT (status,
 * owner, queue, priority or a merge asked of a chat not yet ended),
 * DESK_DB_FAILED. */
int desk_db_ticket_update(PGconn *conn, const struct desk_ticket_change *c,
                          struct desk_ticket_updated *out, char *err,
                          size_t errlen);

/* ticket-reply: the text as a message of the ticket (the customer's
 * transcript shows it) and a 'reply' mail job to the customer's address,
 * in one transaction; the mailer of a running mucdesk sends it.  nick:
 * how the transcript names the writer.  DESK_DB_NOT_FOUND,
 * DESK_DB_INVALID (no usable customer address), DESK_DB_FAILED. */
int desk_db_ticket_reply(PGconn *conn, int64_t id, const char *actor,
                         const char *nick, const char *text, const char *key,
                         const char *const *queues, size_t queue_count,
                         char *err, size_t errlen);

/* Follow-up work someone outside a chat caused (mail-in, ticket-update,
 * mucdeskctl), claimed for announcing: followup_at is cleared on the rows
 * returned, at most max of them, oldest first. */
struct desk_followup {
    int64_t id;
    char queue[128];
    char status[16];
    char customer[128];
    char subject[256];
    char note[512];               /* "" when mail-in set it */
};
int desk_db_followups_claim(PGconn *conn, struct desk_followup *out,
                            size_t max, size_t *count, char *err,
                            size_t errlen);

/* A text[] literal of queue names, or NULL for NULL (the caller frees). */
char *desk_db_queue_array(const char *const *queues, size_t n);

#endif
