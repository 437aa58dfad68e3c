/* The archive: every transcript line and room message that must survive.
 *
 * Contract (what the MUC and the desk rely on):
 *  - archive_append() records an event and returns its sequence number.  An
 *    event is *durable* once archive_durable() >= its sequence: in `journal`
 *    mode after the local journal was fsynced, in `async` mode at once, in
 *    `database` mode once PostgreSQL committed it.  The
 *    MUC shows a message to occupants only once it is durable, so everything
 *    anyone saw survives a crash.
 *  - Durable events reach PostgreSQL exactly once, in order, however often
 *    the database goes away (each carries a unique stanza_id; a retried
 *    write never duplicates a row).
 *  - Events with ticket_id > 0 go to ticket_events; the others to
 *    muc_archive (plain and queue rooms).
 *  - archive_query() sees every appended event, shipped to PostgreSQL yet
 *    or not, and never blocks the calling thread: the answer comes later
 *    through the callback, on the XMPP thread (never from inside the
 *    call).  Pages are in archive order: the order events were appended,
 *    which is the order occupants saw them.  A page that follows an event
 *    still held in memory (a client catching up after a reconnect) is
 *    answered without the database, so also while it is down.
 *
 * Implementation notes: component/store/README.md.  All functions are
 * called on the XMPP thread. */
#ifndef MUCDESK_STORE_ARCHIVE_H
#define MUCDESK_STORE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/loop.h"
#include "store/db.h"

struct archive;

enum archive_kind {
    ARCHIVE_MESSAGE,  /* a groupchat message */
    ARCHIVE_JOIN,
    ARCHIVE_LEAVE,
    ARCHIVE_STATUS,   /* a ticket status change */
    ARCHIVE_NOTE,     /* an internal note (staff only) */
    ARCHIVE_TRANSFER,
    ARCHIVE_FILE,
    ARCHIVE_RATING,
    ARCHIVE_SYSTEM,   /* a room status message */
    ARCHIVE_SUBJECT,
};

/* The ticket_events.kind text for each kind ("subject" is stored as
 * "system" there, since the contract has no subject kind). */
const char *archive_kind_name(enum archive_kind kind);

struct archive_event {
    const char *stanza_id;   /* unique, required (the room's stanza-id) */
    const char *room;        /* local part of the room JID, required */
    int64_t ticket_id;       /* > 0: part of this ticket's transcript */
    int64_t at_us;           /* Unix time in microseconds */
    enum archive_kind kind;
    const char *actor_jid;   /* real bare JID, NULL if none */
    const char *actor_nick;  /* NULL if none */
    const char *occupant_id; /* XEP-0421 id, NULL if none */
    const char *message_id;  /* the sender's `id` attribute, NULL if none */
    const char *body;        /* NULL if none */
    const char *payload;     /* the message's other children as XML, or NULL */
    bool staff_only;         /* never shown to customers by any path */
};

struct archive *archive_new(struct loop *loop, struct store *store,
                            const struct config *cfg);
/* Opens (and replays) the journal.  0 or -1 with the reason logged. */
int archive_start(struct archive *a);
/* Syncs everything accepted so far to the journal, ships it (waiting at
 * most timeout_ms, and only if the database is connected), then stops.
 * What could not be shipped stays in the journal for the next start. */
void archive_stop(struct archive *a, unsigned timeout_ms);
void archive_free(struct archive *a);

/* Copies the event into the archive.  Returns its sequence number (> 0), or
 * 0 if it cannot be recorded (journal disk full or failing, the disk not
 * keeping up with [database] queue_memory, or an event without stanza_id
 * or room): the caller must then refuse the action that produced it. */
uint64_t archive_append(struct archive *a, const struct archive_event *ev);
/* The highest sequence number that is durable. */
uint64_t archive_durable(const struct archive *a);
/* Called on the XMPP thread each time archive_durable() advances (after a
 * journal sync; in async mode at the end of the loop turn of the append),
 * never from inside archive_append().  One listener (the MUC releases held
 * messages from it). */
void archive_on_durable(struct archive *a, void (*fn)(void *ud, uint64_t seq),
                        void *ud);
/* False while new chats must be refused (journal cannot grow). */
bool archive_accepting(const struct archive *a);

/* Counters for monitoring, tests and benchmarks. */
struct archive_stats {
    uint64_t appended;      /* last sequence number handed out */
    uint64_t durable;
    uint64_t written;       /* in the journal file (maybe not synced) */
    uint64_t committed;     /* in PostgreSQL (or dead-lettered) */
    uint64_t dead_letters;  /* records that can never be stored */
    size_t tail_records;    /* unshipped records held in memory */
    size_t tail_bytes;
    size_t journal_segments;
    uint64_t journal_bytes;
    bool accepting;
    /* Journal batches (one write + one sync each): how many, and their
     * durations in a log2 histogram: sync_hist[i] counts batches that took
     * less than 2^i microseconds (the last bucket: longer). */
    uint64_t batches;
    uint64_t sync_hist[24];
    /* How long the oldest record PostgreSQL does not have has waited
     * (to the second; 0 when it has them all). */
    uint64_t unshipped_age_ms;
};
void archive_get_stats(const struct archive *a, struct archive_stats *out);

/* ---- reading (MAM, XEP-0313, with XEP-0059 paging) ------------------------ */

struct archive_query {
    const char *room;         /* required */
    int64_t ticket_id;        /* > 0: read ticket_events of this ticket */
    int64_t start_us;         /* 0: unbounded */
    int64_t end_us;           /* 0: unbounded */
    const char *with_jid;     /* real bare JID of the sender, or NULL */
    const char *with_nick;    /* nick of the sender, or NULL */
    const char *after_id;     /* stanza id: page after it, or NULL */
    const char *before_id;    /* stanza id: page before it, or NULL */
    bool last_page;           /* <before/> without id: the newest page */
    unsigned max;             /* page size (the caller caps it) */
    bool include_staff_only;  /* the asker is staff */
    bool messages_only;       /* only ARCHIVE_MESSAGE and ARCHIVE_SUBJECT */
    unsigned kinds;           /* ARCHIVE_KIND_BIT()s of the kinds wanted; 0: all */
    /* Only the records with these stanza ids (n_ids > 0; the caller caps
     * n_ids).  start/end/with, the bounds and max still apply, but if any
     * of the ids is not a record this query may see (absent, another
     * room's, staff-only for a customer, a kind left out) the page is
     * unknown_id: hidden records look exactly like absent ones. */
    const char *const *ids;
    size_t n_ids;
};

#define ARCHIVE_KIND_BIT(kind) (1u << (unsigned)(kind))

struct archive_item {
    char *stanza_id;
    int64_t at_us;
    enum archive_kind kind;
    char *actor_jid;
    char *actor_nick;
    char *occupant_id;
    char *message_id;   /* the sender's `id` attribute, NULL if none */
    char *body;
    char *payload;
    bool staff_only;
};

struct archive_page {
    bool failed;              /* the database could not answer in time */
    struct archive_item *items; /* oldest first */
    size_t count;
    bool complete;            /* no more items in the queried direction */
    bool unknown_id;          /* after_id/before_id or one of ids is not
                                 in the archive */
};

/* Answers through fn(ud, page) on the XMPP thread; the page is valid only
 * during the call.  0, or -1 if the query could not even be queued. */
int archive_query(struct archive *a, const struct archive_query *q,
                  void (*fn)(void *ud, const struct archive_page *page),
                  void *ud);

#endif
