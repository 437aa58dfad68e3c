/* The archive's insides, shared by archive.c (the XMPP thread and the
 * journal thread), archive_ship.c (shipping on the DB thread),
 * archive_query.c (MAM reads), tickets.c and retention.c.  Not for other
 * modules: they use archive.h and tickets.h.
 *
 * Three threads, each owning its part:
 *  - the XMPP thread appends records (framed into `turn`), keeps the
 *    unshipped ones in `tail` for reads, and hands `turn` to the journal
 *    thread once per loop turn;
 *  - the journal thread writes and fdatasyncs them (group commit), then
 *    publishes `written`/`synced` and wakes the XMPP thread (eventfd);
 *  - the housekeeper thread prepares the next segment, deletes shipped
 *    ones and writes the committed mark (slow disk work off the path);
 *  - the DB thread ships records from the journal files to PostgreSQL and
 *    publishes `committed`.
 * A record is durable once synced or committed. */
#ifndef MUCDESK_STORE_ARCHIVE_IMPL_H
#define MUCDESK_STORE_ARCHIVE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "store/archive.h"
#include "store/copy_rows.h"
#include "store/journal.h"
#include "store/records.h"
#include "store/tail.h"
#include "store/tickets.h"

#define ARCHIVE_LOG "archive"
#define ARCHIVE_LAG_MARKS 1024

struct shipper; /* DB-thread state, archive_ship.c */

struct archive {
    struct loop *loop;
    struct store *store;
    bool sync;                  /* durability = journal: fdatasync */
    bool db_durable;            /* durability = database: durable = committed */
    char *journal_dir;
    char *dead_letter_path;
    uint64_t segment_size;
    size_t memory_max;
    unsigned query_timeout_ms;
    int retention_events_days;   /* 0: keep forever */
    int retention_personal_days; /* 0: keep forever */
    unsigned retention_batch;
    unsigned retention_interval_s;

    struct journal *journal;
    bool started, stopped;

    /* ---- XMPP thread ---- */
    uint64_t next_seq;
    uint64_t durable_seen;       /* last value the listener was told */
    void (*durable_fn)(void *ud, uint64_t seq);
    void *durable_ud;
    struct buf turn;             /* framed records of this loop turn */
    struct buf scratch;          /* encoding */
    struct tail tail;
    uint64_t committed_seen;
    bool ship_in_flight;
    struct loop_timer *ship_timer;
    unsigned ship_retry_ms;
    uint64_t replay_until;       /* start-up: journal records to re-ship */
    int jevfd;                   /* journal thread -> XMPP thread */
    int64_t *ids;                /* reserved ticket numbers */
    size_t ids_count, ids_cap;
    bool ids_in_flight;
    struct loop_timer *ids_timer;
    struct loop_timer *retention_timer;
    bool retention_in_flight;
    uint64_t refused;            /* appends refused (for the log) */
    uint64_t dead_letters_seen;
    /* When records were appended, one mark a second at most: the age of
     * the oldest record PostgreSQL does not have yet, to the second,
     * without a time per record (metrics: the shipping lag).  Full, it
     * takes no more marks: the lag then reads older, never younger. */
    struct lag_mark {
        uint64_t seq, at_ms;
    } lag_marks[ARCHIVE_LAG_MARKS];
    size_t lag_head, lag_count;

    /* ---- shared with the journal thread ---- */
    pthread_t jthread;
    bool jthread_running;
    pthread_mutex_t jlock;
    pthread_cond_t jwake;        /* new records, or stop */
    pthread_cond_t jidle;        /* the journal thread finished a batch */
    struct buf pending;          /* guarded by jlock */
    bool jstop;                  /* guarded by jlock */
    bool jbusy;                  /* guarded by jlock */

    _Atomic uint64_t written;    /* last seq written to the journal */
    _Atomic uint64_t synced;     /* last seq made durable on disk */
    _Atomic uint64_t committed;  /* last seq shipped (or dead-lettered) */
    _Atomic uint64_t inflight;   /* bytes handed over and not yet written */
    _Atomic uint64_t dead_letters;
    _Atomic uint64_t batches;
    _Atomic uint64_t sync_hist[24];
    atomic_bool failing;         /* journal writes fail: refuse appends */
    atomic_bool disk_low;        /* next segment cannot be prepared */
    atomic_bool sync_broken;     /* an fsync failed: never trust it again */
    /* ---- the housekeeper thread (prepare, trim, mark) ---- */
    pthread_t hthread;
    bool hthread_running;
    pthread_mutex_t hlock;
    pthread_cond_t hwake;
    bool hstop;                  /* guarded by hlock */
    uint64_t mark_written;       /* housekeeper (and start/stop) */
    uint64_t mark_at;

    /* ---- DB thread ---- */
    struct shipper *ship;
    uint64_t db_gen;             /* connections made (connect hook) */
    uint64_t upsert_gen, ids_gen; /* connection a statement was prepared on */
};

/* archive.c */
/* Journals one record payload (already encoded at the end of scratch from
 * `start`).  Returns its seq or 0. */
uint64_t archive_append_record(struct archive *a, uint8_t type,
                               const void *payload, size_t len);

/* archive_ship.c */
/* committed: called on the XMPP thread when a shipping op is done (the
 * archive learns that `committed` advanced). */
struct shipper *shipper_new(struct archive *a,
                            void (*committed)(struct archive *a));
void shipper_free(struct shipper *sh);
int shipper_on_connect(void *ud, PGconn *conn, char *err, size_t errlen);
/* XMPP thread: ships what is written, if no shipping op is in flight. */
void archive_ship_kick(struct archive *a);
/* Runs a shipping pass on the calling thread's connection until caught up
 * with `upto` or the deadline passes (archive_stop). */
void archive_ship_drain(struct archive *a, uint64_t upto, unsigned timeout_ms);
/* DB thread: reads records (committed, upto] from the journal, calling fn
 * for each.  Used by reads that must see what is not shipped yet. */
typedef void (*ship_record_fn)(void *ud, uint64_t seq, uint8_t type,
                               const uint8_t *payload, size_t len);
void shipper_scan_unshipped(struct shipper *sh, uint64_t below, ship_record_fn fn,
                            void *ud);
uint64_t shipper_committed(const struct shipper *sh);
/* Before the first op: where shipping starts (archive_start). */
void shipper_set_committed(struct shipper *sh, uint64_t seq);


/* tickets.c */
void tickets_refill(struct archive *a);
void tickets_free(struct archive *a);

/* ticket_sql.c */
int tickets_on_connect(void *ud, PGconn *conn, char *err, size_t errlen);
/* Prepares a statement on this connection unless done since it was made
 * (*have: the connection generation it was prepared on).  0 or -1 with err
 * and sqlstate (may be NULL) set. */
int tickets_prepare_once(struct archive *a, PGconn *conn, uint64_t *have,
                         const char *name, const char *sql, int nparams,
                         char *err, size_t errlen, char sqlstate[6]);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void tickets_hex(char *out, const uint8_t *p, size_t n);
/* DB thread: applies ticket records to PostgreSQL (one upsert). */
int tickets_upsert(struct archive *a, PGconn *conn, const struct store_ticket *t,
                   char *err, size_t errlen, char sqlstate[6]);

/* retention.c */
void retention_start(struct archive *a);
void retention_stop(struct archive *a);

#endif
