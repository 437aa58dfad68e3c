/* Reports over the tickets table: queue statistics for a period, ticket
 * search, and erasing a customer on request (purge-customer).  The SQL is
 * shared by the daemon (DB thread) and mucdeskctl; the arithmetic and the
 * wording are pure (unit-tested in tests/unit/test_desk_reports.c).
 *
 * What the figures mean (doc/admin-guide.md), for tickets created in the
 * period, counted in the queue they are in now:
 *   chats      tickets created (messages left included)
 *   answered   an agent accepted it
 *   abandoned  a live chat that ended before any agent accepted it
 *   avg wait   accepted_at - created_at over answered ones
 *   avg handle chat_seconds over answered ones that ended
 *   abandon    abandoned / (answered + abandoned)
 *   rating     the mean of the ratings given
 * and, live from the running desk: waiting, active, agents online and
 * available. */
#ifndef MUCDESK_DESK_REPORTS_H
#define MUCDESK_DESK_REPORTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct desk_stats {
    char queue[128];                 /* "" for the overall line */
    /* live (the daemon fills them; mucdeskctl cannot: -1) */
    long waiting, active, online, available;
    /* from the period's tickets */
    long chats, answered, abandoned, handled, rated;
    double wait_sum_s, handle_sum_s;
    long rating_sum;
};

/* Adds s's counts to total (live ones too, unless either is -1). */
void desk_stats_add(struct desk_stats *total, const struct desk_stats *s);
/* The figures; < 0 when there is nothing to average. */
double desk_stats_avg_wait(const struct desk_stats *s);
double desk_stats_avg_handle(const struct desk_stats *s);
double desk_stats_abandon_rate(const struct desk_stats *s); /* 0 to 1 */
double desk_stats_rating(const struct desk_stats *s);
/* The figures as the commands show them: seconds rounded ("42"), a
 * percentage with one decimal ("12.5"), a mean with two ("4.33"); "-"
 * when there is nothing to show. */
void desk_stats_figure(double value, int decimals, double scale, char *out,
                       size_t size);
/* One line per queue for text clients and mucdeskctl. */
void desk_stats_text(const struct desk_stats *s, struct buf *out);

/* Per queue, tickets created in [from_us, to_us) (0: unbounded), only the
 * queues listed (NULL: all).  Live fields are set to -1. */
int desk_db_stats(PGconn *conn, int64_t from_us, int64_t to_us,
                  const char *const *queues, size_t queue_count,
                  struct desk_stats **out, size_t *count, char *err,
                  size_t errlen);

/* "2025-01-31" (midnight UTC) or "2025-01-31T10:00:00Z" (XEP-0082) into
 * Unix microseconds.  0 or -1. */
int desk_parse_when(const char *text, int64_t *us);

/* ---- ticket search ------------------------------------------------------------- */

struct desk_search {
    const char *customer;     /* in the name, e-mail or JID (any case) */
    const char *status;       /* QUEUED, INPROGRESS, RESOLVED, or NULL */
    const char *queue;        /* or NULL */
    const char *agent;        /* the owner's bare JID, or NULL */
    int64_t from_us, to_us;   /* created in [from, to); 0: unbounded */
    const char *text;         /* in the subject or any transcript line */
    const char *const *queues;/* only these queues (NULL: all) */
    size_t queue_count;
    int limit;                /* at most (newest first) */
};

struct desk_found {
    int64_t id;
    char *queue, *status, *subject, *customer_name, *customer_email;
    char *owner_jid;
    int64_t created_us;
};

int desk_db_ticket_search(PGconn *conn, const struct desk_search *q,
                          struct desk_found **out, size_t *count, char *err,
                          size_t errlen);
void desk_found_free(struct desk_found *list, size_t count);
/* Row `row` of a result whose first 8 columns are id, queue, status,
 * subject, customer_name, customer_email, owner_jid, created (Unix
 * microseconds), as both ticket lists select them. */
void desk_found_read(const PGresult *res, int row, struct desk_found *f);

/* ---- erasure on request ------------------------------------------------------------ */

/* Erases every ticket whose customer JID or e-mail is `who` (exactly, any
 * case for the e-mail): personal data and transcripts
 * (mucdesk_erase_personal_data), and records an audit event by `actor`
 * with the ticket numbers and a SHA-256 of `who` (not `who` itself), in
 * one transaction.  Whatever its status, a ticket is erased unless it is
 * a live chat (a room, not ended) or it ended less than `settle_s`
 * seconds ago (its last lines may not be shipped yet: the daemon waits
 * for the archive and passes 0; mucdeskctl cannot and passes a margin);
 * those are left and counted in *open.  *erased: how many were erased. */
int desk_db_purge_customer(PGconn *conn, const char *who, const char *actor,
                           int settle_s, long *erased, long *open, char *err,
                           size_t errlen);

#endif
