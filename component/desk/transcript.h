/* A ticket's transcript from PostgreSQL (tickets, ticket_events) as text:
 * for staff (the `transcript` command, mucdeskctl transcript: everything,
 * staff-only lines marked) or for the customer (the transcript mail: what
 * they saw, nothing staff-only, no staff JIDs); and the mail itself.
 *
 * desk_db_transcript() blocks (DB thread, mucdeskctl); the rest is pure
 * (unit-tested in tests/unit/test_desk_reports.c). */
#ifndef MUCDESK_DESK_TRANSCRIPT_H
#define MUCDESK_DESK_TRANSCRIPT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct desk_ticket_row {
    int64_t id;
    char *queue;
    char *status;
    char *subject;
    char *customer_jid;
    char *customer_name;
    char *customer_email;
    char *owner_jid;
    int priority;
    int64_t created_us, accepted_us, ended_us;   /* 0: none */
    int chat_seconds;
    int rating;                                  /* 0: none */
    char *rating_comment;
    char *details;                               /* JSON object */
    bool erased;                                 /* personal data erased */
    /* sql/007's follow-up fields (NULL / 0: none) */
    char *impact, *ci, *tags, *solution, *customer_phone;
    int64_t merged_into;
};

struct desk_event_row {
    int64_t at_us;
    char *kind;            /* ticket_events.kind */
    char *mam_kind;        /* "subject" for subject changes, or NULL */
    char *actor_jid;
    char *actor_nick;
    char *body;
    bool staff_only;
};

struct desk_transcript {
    struct desk_ticket_row ticket;
    struct desk_event_row *events;   /* in the order they happened */
    size_t count;
    bool truncated;                  /* more than max_events */
};

/* The ticket and its first max_events events (0: all).  DESK_DB_NOT_FOUND
 * if there is no such ticket. */
int desk_db_transcript(PGconn *conn, int64_t id, size_t max_events,
                       struct desk_transcript *out, char *err, size_t errlen);
void desk_transcript_free(struct desk_transcript *t);

enum desk_view { DESK_VIEW_STAFF, DESK_VIEW_CUSTOMER };

/* Whether the customer's view shows the event (what they saw: messages,
 * system lines, files; nothing staff-only). */
bool desk_event_shown_to_customer(const struct desk_event_row *e);
/* The text of an event that is nobody's message or note, as the
 * transcripts show it after "* ": who entered or left, a transfer and
 * who made it, a status, a subject. */
void desk_event_action(const struct desk_event_row *e, enum desk_view view,
                       struct buf *out);

/* MAM in a session room (the MUC's muc_archive_events, installed by
 * desk.c): the archive records that are nobody's message (joins, leaves,
 * transfers, status changes, ratings) as the transcript shows them to the
 * reader, staff (privileged) or the customer's view, by the rules above.
 * desk_mam_event_kinds: the ARCHIVE_KIND_BIT()s of the kinds that view
 * shows; desk_mam_event_render: the line (desk_event_action) and a
 * <desk xmlns='urn:mucdesk:0' event='KIND' nick= jid=/> after it (the
 * actor's JID for staff only); false where that view shows nothing. */
struct archive_item;
unsigned desk_mam_event_kinds(void *ud, bool privileged);
bool desk_mam_event_render(void *ud, const struct archive_item *item,
                           bool privileged, struct buf *body,
                           struct buf *extra);

/* The session details on top, then one line per event. */
void desk_transcript_text(const struct desk_transcript *t, enum desk_view view,
                          struct buf *out);

/* The staff view's header (every field) and only the latest events:
 * the `ticket` command. */
void desk_transcript_latest_text(const struct desk_transcript *t,
                                 size_t latest, struct buf *out);

/* The transcript mail for the customer (RFC 5322 message: headers, blank
 * line, body; lines end with \n as sendmail -t expects; header values
 * cleaned of line breaks; no line longer than 998 bytes).  now: Unix
 * seconds for the Date header. */
void desk_mail_compose(struct buf *out, const char *from, const char *to,
                       const char *service_name,
                       const struct desk_transcript *t, int64_t now);
/* A staff member's reply to the customer (ticket-reply), as above: the
 * subject "Re: SUBJECT [Ticket#N]", the text, a signature line.  job (the
 * mail job's id) makes the Message-ID unique. */
void desk_mail_compose_reply(struct buf *out, const char *from, const char *to,
                             const char *service_name,
                             const struct desk_ticket_row *t, const char *text,
                             int64_t job, int64_t now);

#endif
