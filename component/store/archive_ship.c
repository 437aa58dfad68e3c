/* Shipping: the DB thread reads journaled records and writes them to
 * PostgreSQL in batches, exactly once.
 *
 * A batch is one transaction: the ticket upserts it holds (prepared
 * statement), then its events with COPY FROM STDIN straight into
 * ticket_events / muc_archive.  That is the fast path; a stanza-id already
 * there (a retry after a lost commit acknowledgement, a replay after a
 * crash) makes COPY fail as a whole, and the batch is written again through
 * a temporary staging table with INSERT ... SELECT ... ON CONFLICT
 * (stanza_id) DO NOTHING.  Either way a row is stored once.
 *
 * Errors are told apart by SQLSTATE: a lost connection retries the batch
 * after reconnecting (db.c); bad data (classes 22, 23, 54) splits the batch
 * in halves until the one record that can never be stored is found, which
 * goes to the dead-letter file, loudly, while the rest continues; anything
 * else (a lock timeout, a statement timeout, a missing table) retries the
 * batch later, never dropping it. */
#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"
#include "store/archive_impl.h"
#include "store/pq.h"

#define LOG ARCHIVE_LOG

/* One transaction holds at most this much; a shipping op runs at most
 * SHIP_TURN_MS before letting other operations (reads) have the thread. */
#define BATCH_ROWS 20000
#define BATCH_BYTES (8u << 20)
#define SHIP_TURN_MS 250
/* Once caught up, the next shipping op waits this long: a steady trickle
 * is written in a few transactions a second, not one per journal sync
 * (each commit is a WAL fsync competing with the journal's own). */
#define SHIP_IDLE_MS 50
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 2000
#define COPY_CHUNK (256u << 10)

enum ship_result {
    SHIP_OK,
    SHIP_CONN_LOST,  /* reconnect, then ship again */
    SHIP_TRANSIENT,  /* try again later */
    SHIP_DUP,        /* fast path: a stanza-id is already stored */
    SHIP_BAD_DATA,   /* some record can never be stored */
};

struct item {
    uint64_t seq;
    uint8_t type;
    bool decoded;              /* RECORD_EVENT: ev is valid */
    size_t off, len;           /* payload in batch.raw */
    struct journal_pos after;  /* reader position after this record */
    struct archive_event ev;   /* decoded once, points into batch.raw */
};

struct shipper {
    struct archive *a;
    void (*on_committed)(struct archive *a); /* the archive's, XMPP thread */
    struct journal_reader *reader;  /* at committed + 1 when positioned */
    struct journal_reader *scan;    /* for reads of unshipped records */
    bool positioned;
    uint64_t committed;             /* DB thread's exact copy */
    bool staging;                   /* recent duplicates: skip the fast path */
    bool force_staging;             /* benchmark knob (see shipper_new) */
    struct buf raw;
    struct item *items;
    size_t n, cap;
    struct buf copy;                /* COPY text, sent a chunk at a time */
    char sqlstate[6];
    char error[512];
    char last_logged[512];          /* the last transient error logged */
    uint64_t last_logged_ms;
    uint64_t transient_count;

    /* archive_stop's drain */
    pthread_mutex_t drain_lock;
    pthread_cond_t drain_cond;
    int drain_state;                /* 0 idle, 1 queued, 2 running, 3 done */
    bool drain_abandoned;
    atomic_bool stop;               /* no shipping after archive_stop */
};

struct ship_op {
    struct store_op op;
    struct archive *a;
    bool transient;
    bool caught_up;
    bool drain;
    uint64_t drain_upto;
    uint64_t drain_deadline_ms;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct shipper *shipper_new(struct archive *a,
                            void (*committed)(struct archive *a))
{
    struct shipper *sh = calloc(1, sizeof *sh);
    if (!sh)
        return NULL;
    sh->a = a;
    sh->on_committed = committed;
    /* For tests/bench only: always write through the staging table, to
     * compare it with plain COPY (doc/performance.md). */
    sh->force_staging = getenv("MUCDESK_BENCH_SHIP_STAGING") != NULL;
    sh->staging = sh->force_staging;
    pthread_mutex_init(&sh->drain_lock, NULL);
    pthread_cond_init(&sh->drain_cond, NULL);
    return sh;
}

void shipper_free(struct shipper *sh)
{
    if (!sh)
        return;
    journal_reader_free(sh->reader);
    journal_reader_free(sh->scan);
    buf_free(&sh->raw);
    buf_free(&sh->copy);
    free(sh->items);
    pthread_mutex_destroy(&sh->drain_lock);
    pthread_cond_destroy(&sh->drain_cond);
    free(sh);
}

uint64_t shipper_committed(const struct shipper *sh)
{
    return sh->committed;
}

void shipper_set_committed(struct shipper *sh, uint64_t seq)
{
    sh->committed = seq;
    sh->positioned = false;
}

/* ---- errors --------------------------------------------------------------------- */

/* Classifies a failed result (res may be NULL: a libpq-level failure). */
static enum ship_result classify(struct shipper *sh, PGconn *conn,
                                 PGresult *res)
{
    const char *state = store_pq_error(sh->error, sizeof sh->error, conn, res,
                                       NULL);
    snprintf(sh->sqlstate, sizeof sh->sqlstate, "%s", state ? state : "");
    if (PQstatus(conn) != CONNECTION_OK)
        return SHIP_CONN_LOST;
    if (!state)
        return SHIP_TRANSIENT;
    if (strcmp(state, "23505") == 0 && !sh->staging) {
        const char *c = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        if (c && (strcmp(c, "ticket_events_stanza_id_key") == 0 ||
                  strcmp(c, "muc_archive_stanza_id_key") == 0))
            return SHIP_DUP;
    }
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
        strncmp(state, "54", 2) == 0)
        return SHIP_BAD_DATA;
    return SHIP_TRANSIENT;
}

static enum ship_result exec_cmd(struct shipper *sh, PGconn *conn,
                                 const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    enum ship_result r = SHIP_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        r = classify(sh, conn, res);
    PQclear(res);
    return r;
}

/* Runs the statement built in sql (freed): *out holds its result if its
 * status is want (the caller clears it). */
static enum ship_result exec_built(struct shipper *sh, PGconn *conn,
                                   struct buf *sql, ExecStatusType want,
                                   PGresult **out)
{
    *out = NULL;
    if (buf_failed(sql)) {
        buf_free(sql);
        snprintf(sh->error, sizeof sh->error, "out of memory");
        return SHIP_TRANSIENT;
    }
    PGresult *res = PQexec(conn, buf_cstr(sql));
    buf_free(sql);
    if (PQresultStatus(res) != want) {
        enum ship_result r = classify(sh, conn, res);
        PQclear(res);
        return r;
    }
    *out = res;
    return SHIP_OK;
}

static void rollback(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return;
    PGresult *res = PQexec(conn, "ROLLBACK");
    PQclear(res);
}

/* Streams the events of items [lo, hi) that belong in one table (ticket
 * events or room events) through COPY ... FROM STDIN, formatting the next
 * chunk while the server parses the previous one. */
static enum ship_result copy_in(struct shipper *sh, PGconn *conn,
                                const struct copy_table *t, size_t lo,
                                size_t hi, bool tickets)
{
    struct buf sql = BUF_INIT;
    copy_sql_copy(&sql, t, sh->staging);
    PGresult *res;
    enum ship_result started = exec_built(sh, conn, &sql, PGRES_COPY_IN, &res);
    if (started != SHIP_OK)
        return started;
    PQclear(res);
    bool ok = true;
    struct buf *b = &sh->copy;
    buf_reset(b);
    for (size_t i = lo; i < hi && ok; i++) {
        const struct item *it = &sh->items[i];
        if (it->type != RECORD_EVENT || !it->decoded ||
            (it->ev.ticket_id > 0) != tickets)
            continue;
        copy_row(b, t, sh->staging, it->seq, &it->ev);
        if (b->len >= COPY_CHUNK) {
            ok = !buf_failed(b) && PQputCopyData(conn, b->data, (int)b->len) == 1;
            buf_reset(b);
        }
    }
    if (ok && b->len)
        ok = !buf_failed(b) && PQputCopyData(conn, b->data, (int)b->len) == 1;
    if (PQputCopyEnd(conn, ok ? NULL : "mucdesk: send failed") != 1)
        ok = false;
    enum ship_result r = SHIP_OK;
    while ((res = PQgetResult(conn))) {
        if (r == SHIP_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
            r = classify(sh, conn, res);
        PQclear(res);
    }
    if (r == SHIP_OK && !ok) {
        r = classify(sh, conn, NULL);
        if (r == SHIP_TRANSIENT && buf_failed(b))
            snprintf(sh->error, sizeof sh->error, "out of memory");
    }
    return r;
}

/* Staging: COPY into the temporary table, then move what is new. */
static enum ship_result stage_in(struct shipper *sh, PGconn *conn,
                                 const struct copy_table *t, size_t lo,
                                 size_t hi, bool tickets, long rows,
                                 bool *clean)
{
    enum ship_result r = copy_in(sh, conn, t, lo, hi, tickets);
    if (r != SHIP_OK)
        return r;
    struct buf sql = BUF_INIT;
    copy_sql_insert(&sql, t);
    PGresult *res;
    if ((r = exec_built(sh, conn, &sql, PGRES_COMMAND_OK, &res)) != SHIP_OK)
        return r;
    if (atol(PQcmdTuples(res)) != rows)
        *clean = false;
    PQclear(res);
    return SHIP_OK;
}

/* ---- one transaction ------------------------------------------------------------- */

/* The ticket events of items [lo, hi), however the batch is written now. */
static enum ship_result ticket_events_in(struct shipper *sh, PGconn *conn,
                                         size_t lo, size_t hi, long rows,
                                         bool *clean)
{
    if (!sh->staging)
        return copy_in(sh, conn, &copy_ticket_events, lo, hi, true);
    enum ship_result r = stage_in(sh, conn, &copy_ticket_events, lo, hi, true,
                                  rows, clean);
    if (r != SHIP_OK)
        return r;
    /* The staging table empties at COMMIT only: the next segment of the
     * same transaction must not see these rows again. */
    struct buf sql = BUF_INIT;
    copy_sql_clear(&sql, &copy_ticket_events);
    PGresult *res;
    if ((r = exec_built(sh, conn, &sql, PGRES_COMMAND_OK, &res)) == SHIP_OK)
        PQclear(res);
    return r;
}

static enum ship_result upsert_item(struct shipper *sh, PGconn *conn,
                                    const struct item *it)
{
    const uint8_t *p = (const uint8_t *)sh->raw.data + it->off;
    struct store_ticket t;
    if (record_decode_ticket(p, it->len, &t) < 0) {
        snprintf(sh->error, sizeof sh->error, "undecodable ticket record");
        return SHIP_BAD_DATA;
    }
    if (tickets_upsert(sh->a, conn, &t, sh->error, sizeof sh->error,
                       sh->sqlstate) == 0)
        return SHIP_OK;
    if (PQstatus(conn) != CONNECTION_OK)
        return SHIP_CONN_LOST;
    return strncmp(sh->sqlstate, "22", 2) == 0 ||
                   strncmp(sh->sqlstate, "23", 2) == 0 ||
                   strncmp(sh->sqlstate, "54", 2) == 0
               ? SHIP_BAD_DATA
               : SHIP_TRANSIENT;
}

/* Ticket upserts and ticket events are written in journal order: the
 * events between two snapshots of a ticket go in (one COPY) before the
 * second snapshot.  The webhook triggers (sql/011) see the changes in the
 * order they happened, so their outbox is in that order too.  Room events
 * (no ticket) follow in one COPY. */
static enum ship_result try_range(struct shipper *sh, PGconn *conn, size_t lo,
                                  size_t hi)
{
    enum ship_result r;
    long rows_r = 0, pending_t = 0;
    size_t seg_lo = lo;              /* ticket events not written from here */
    bool clean = true;

    if ((r = exec_cmd(sh, conn, "BEGIN")) != SHIP_OK)
        return r;
    for (size_t i = lo; i < hi; i++) {
        const struct item *it = &sh->items[i];
        if (it->type == RECORD_TICKET) {
            if (pending_t) {
                r = ticket_events_in(sh, conn, seg_lo, i, pending_t, &clean);
                if (r != SHIP_OK)
                    goto fail;
                pending_t = 0;
            }
            seg_lo = i + 1;
            if ((r = upsert_item(sh, conn, it)) != SHIP_OK)
                goto fail;
        } else if (it->type == RECORD_EVENT) {
            if (!it->decoded) {
                snprintf(sh->error, sizeof sh->error, "undecodable event record");
                r = SHIP_BAD_DATA;
                goto fail;
            }
            if (it->ev.ticket_id > 0)
                pending_t++;
            else
                rows_r++;
        }
    }
    if (pending_t &&
        (r = ticket_events_in(sh, conn, seg_lo, hi, pending_t, &clean)) != SHIP_OK)
        goto fail;
    if (rows_r) {
        r = sh->staging ? stage_in(sh, conn, &copy_room_events, lo, hi, false,
                                   rows_r, &clean)
                        : copy_in(sh, conn, &copy_room_events, lo, hi, false);
        if (r != SHIP_OK)
            goto fail;
    }
    if ((r = exec_cmd(sh, conn, "COMMIT")) != SHIP_OK)
        goto fail;
    if (sh->staging && clean && !sh->force_staging)
        sh->staging = false; /* no duplicates any more: back to plain COPY */
    return SHIP_OK;
fail:
    rollback(conn);
    return r;
}

/* ---- dead letters ----------------------------------------------------------------- */

/* A member of o: v (consumed, even on failure), or null for a NULL v when
 * null_ok.  0, or -1 if out of memory. */
static int put(struct json_object *o, const char *key, struct json_object *v,
               bool null_ok)
{
    if ((!v && !null_ok) || json_object_object_add(o, key, v) < 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

/* A string member, or null for a NULL s.  The bytes are kept as they are:
 * a dead letter is the record as it was refused. */
static int put_str(struct json_object *o, const char *key, const char *s)
{
    struct json_object *v = s ? json_object_new_string(s) : NULL;
    return s && !v ? -1 : put(o, key, v, true);
}

static int put_event(struct json_object *line, const struct archive_event *ev)
{
    char ts[64];
    pgtext_timestamp(ts, ev->at_us);
    struct json_object *o = json_object_new_object();
    if (put(line, "event", o, false) < 0) /* line owns o from here */
        return -1;
    /* || keeps the order: the members are written in the order added. */
    bool bad =
        put(o, "ticket_id", json_object_new_int64(ev->ticket_id), false) < 0 ||
        put_str(o, "room", ev->room) < 0 ||
        put_str(o, "stanza_id", ev->stanza_id) < 0 ||
        put_str(o, "at", ts) < 0 ||
        put_str(o, "kind", archive_kind_text(ev->kind)) < 0 ||
        put_str(o, "actor_jid", ev->actor_jid) < 0 ||
        put_str(o, "actor_nick", ev->actor_nick) < 0 ||
        put_str(o, "occupant_id", ev->occupant_id) < 0 ||
        put_str(o, "body", ev->body) < 0 ||
        put_str(o, "payload", ev->payload) < 0 ||
        put_str(o, "message_id", ev->message_id) < 0 ||
        put(o, "staff_only", json_object_new_boolean(ev->staff_only),
            false) < 0;
    return bad ? -1 : 0;
}

static int put_ticket(struct json_object *line, const struct store_ticket *t)
{
    struct json_object *o = json_object_new_object();
    if (put(line, "ticket", o, false) < 0)
        return -1;
    bool bad = put(o, "id", json_object_new_int64(t->id), false) < 0 ||
               put_str(o, "queue", t->queue) < 0 ||
               put_str(o, "status", ticket_status_name(t->status)) < 0 ||
               put_str(o, "room", t->room) < 0 ||
               put_str(o, "customer_jid", t->customer_jid) < 0 ||
               put_str(o, "customer_name", t->customer_name) < 0 ||
               put_str(o, "details", t->details) < 0;
    return bad ? -1 : 0;
}

static void dead_letter(struct shipper *sh, const struct item *it)
{
    struct archive *a = sh->a;
    const uint8_t *p = (const uint8_t *)sh->raw.data + it->off;
    struct buf text = BUF_INIT;
    const char *id = "?";

    /* One JSON object a line: the record's sequence number, when, why, and
     * the record itself (as far as it decodes). */
    struct json_object *line = json_object_new_object();
    bool bad = !line ||
               put(line, "seq", json_object_new_uint64(it->seq), false) < 0 ||
               put(line, "at", json_object_new_uint64(archive_now_us()),
                   false) < 0 ||
               put_str(line, "sqlstate", sh->sqlstate) < 0 ||
               put_str(line, "error", sh->error) < 0;
    if (!bad && it->type == RECORD_EVENT) {
        struct archive_event ev;
        if (record_decode_event(p, it->len, &ev) == 0) {
            id = ev.stanza_id;
            bad = put_event(line, &ev) < 0;
        }
    } else if (!bad && it->type == RECORD_TICKET) {
        struct store_ticket t;
        if (record_decode_ticket(p, it->len, &t) == 0) {
            id = "(ticket)";
            bad = put_ticket(line, &t) < 0;
        }
    }
    const char *json = bad ? NULL
                           : json_object_to_json_string_ext(
                                 line, JSON_C_TO_STRING_PLAIN |
                                           JSON_C_TO_STRING_NOSLASHESCAPE);
    bool written = json != NULL; /* json is line's: gone with it */
    if (written) {
        buf_append_str(&text, json);
        buf_append_char(&text, '\n');
    }
    json_object_put(line);

    log_error(LOG, "record %" PRIu64 " (stanza-id %s) can never be stored: "
              "%s [%s]; kept in %s, shipping goes on", it->seq, id, sh->error,
              sh->sqlstate, a->dead_letter_path);
    int fd = open(a->dead_letter_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                  0600);
    if (fd < 0 || !written || buf_failed(&text) ||
        write(fd, text.data, text.len) != (ssize_t)text.len ||
        (a->sync && fdatasync(fd) < 0))
        log_error(LOG, "cannot write the dead-letter file %s: %s",
                  a->dead_letter_path, strerror(errno));
    if (fd >= 0)
        close(fd);
    buf_free(&text);
    atomic_fetch_add(&a->dead_letters, 1);
}

/* ---- batches ---------------------------------------------------------------------- */

static void publish(struct shipper *sh, size_t last)
{
    sh->committed = sh->items[last].seq;
    atomic_store(&sh->a->committed, sh->committed);
}

/* Ships items [lo, hi): splits on bad data until the bad record is
 * isolated.  Commits (and publishes) whole sub-ranges in order. */
static enum ship_result ship_range(struct shipper *sh, PGconn *conn, size_t lo,
                                   size_t hi)
{
    enum ship_result r = try_range(sh, conn, lo, hi);
    if (r == SHIP_DUP) {
        sh->staging = true;
        r = try_range(sh, conn, lo, hi);
    }
    if (r == SHIP_OK) {
        publish(sh, hi - 1);
        return SHIP_OK;
    }
    if (r != SHIP_BAD_DATA)
        return r;
    if (hi - lo == 1) {
        dead_letter(sh, &sh->items[lo]);
        publish(sh, lo);
        return SHIP_OK;
    }
    size_t mid = lo + (hi - lo) / 2;
    r = ship_range(sh, conn, lo, mid);
    return r == SHIP_OK ? ship_range(sh, conn, mid, hi) : r;
}

static uint64_t shippable(const struct archive *a)
{
    /* Only durable records (so PostgreSQL never has a line nobody was
     * allowed to see); if fsync broke, whatever is written. */
    if (atomic_load(&a->sync_broken))
        return atomic_load(&a->written);
    return atomic_load(&a->synced);
}

static int ensure_reader(struct shipper *sh)
{
    if (!sh->reader) {
        sh->reader = journal_reader_new(sh->a->journal);
        if (!sh->reader)
            return -1;
    }
    if (!sh->positioned) {
        journal_reader_seek(sh->reader, sh->committed + 1);
        sh->positioned = true;
    }
    return 0;
}

/* Reads the next batch and ships it. */
static enum ship_result ship_some(struct shipper *sh, PGconn *conn, uint64_t limit)
{
    if (ensure_reader(sh) < 0)
        return SHIP_TRANSIENT;
    buf_reset(&sh->raw);
    sh->n = 0;
    struct journal_record rec;
    int rc;
    while (sh->n < BATCH_ROWS && sh->raw.len < BATCH_BYTES &&
           (rc = journal_reader_next(sh->reader, limit, &rec)) == 1) {
        if (sh->n == sh->cap) {
            size_t cap = sh->cap ? sh->cap * 2 : 1024;
            struct item *v = realloc(sh->items, cap * sizeof *v);
            if (!v)
                break;
            sh->items = v;
            sh->cap = cap;
        }
        struct item *it = &sh->items[sh->n++];
        it->seq = rec.seq;
        it->type = rec.type;
        it->off = sh->raw.len;
        it->len = rec.len;
        buf_append(&sh->raw, rec.payload, rec.len);
        journal_reader_tell(sh->reader, &it->after);
    }
    if (buf_failed(&sh->raw)) {
        sh->positioned = false;
        return SHIP_TRANSIENT;
    }
    /* Decode each event once, now that raw no longer moves. */
    for (size_t i = 0; i < sh->n; i++) {
        struct item *it = &sh->items[i];
        it->decoded = it->type == RECORD_EVENT &&
                      record_decode_event((const uint8_t *)sh->raw.data + it->off,
                                          it->len, &it->ev) == 0;
    }
    if (sh->n == 0) {
        struct journal_pos pos;
        journal_reader_tell(sh->reader, &pos);
        if (pos.next_seq - 1 > sh->committed && pos.next_seq - 1 <= limit) {
            /* The reader skipped records it could not read (logged). */
            sh->committed = pos.next_seq - 1;
            atomic_store(&sh->a->committed, sh->committed);
        }
        return SHIP_OK;
    }
    enum ship_result r = ship_range(sh, conn, 0, sh->n);
    if (r != SHIP_OK) {
        /* Back to just after what was committed. */
        size_t k = 0;
        while (k < sh->n && sh->items[k].seq <= sh->committed)
            k++;
        if (k > 0)
            journal_reader_restore(sh->reader, &sh->items[k - 1].after);
        else
            sh->positioned = false;
    }
    return r;
}

/* ---- the shipping op -------------------------------------------------------------- */

static enum store_run_result ship_run(struct store_op *op, PGconn *conn)
{
    struct ship_op *sop = (struct ship_op *)op;
    struct archive *a = sop->a;
    struct shipper *sh = a->ship;

    if (sop->drain) {
        pthread_mutex_lock(&sh->drain_lock);
        bool abandoned = sh->drain_abandoned;
        if (!abandoned)
            sh->drain_state = 2;
        pthread_mutex_unlock(&sh->drain_lock);
        if (abandoned)
            return STORE_RUN_DONE;
    } else if (atomic_load(&sh->stop)) {
        return STORE_RUN_DONE;
    }

    uint64_t deadline = sop->drain ? sop->drain_deadline_ms
                                   : mono_ms() + SHIP_TURN_MS;
    enum store_run_result result = STORE_RUN_DONE;
    for (;;) {
        uint64_t limit = shippable(a);
        if (sop->drain && limit > sop->drain_upto)
            limit = sop->drain_upto;
        if (sh->committed >= limit && sh->positioned) {
            sop->caught_up = true;
            break;
        }
        enum ship_result r = ship_some(sh, conn, limit);
        if (r == SHIP_OK && sh->transient_count) {
            log_info(LOG, "shipping to PostgreSQL resumed after %llu failed "
                     "attempt(s)", (unsigned long long)sh->transient_count);
            sh->transient_count = 0;
            sh->last_logged[0] = '\0';
        }
        if (r == SHIP_CONN_LOST) {
            utf8_snprintf(op->error, sizeof op->error, "%.*s",
                          utf8_prec(sh->error, 255), sh->error);
            result = sop->drain ? STORE_RUN_DONE : STORE_RUN_RETRY;
            if (sop->drain)
                op->failed = true;
            break;
        }
        if (r == SHIP_TRANSIENT) {
            /* One line per kind of failure, then a reminder every 30 s. */
            uint64_t now = mono_ms();
            sh->transient_count++;
            if (strcmp(sh->error, sh->last_logged) != 0 ||
                now >= sh->last_logged_ms + 30000) {
                log_warn(LOG, "shipping to PostgreSQL failed (%llu time(s) so "
                         "far), will retry: %s [%s]",
                         (unsigned long long)sh->transient_count, sh->error,
                         sh->sqlstate);
                utf8_snprintf(sh->last_logged, sizeof sh->last_logged, "%s",
                              sh->error);
                sh->last_logged_ms = now;
            }
            utf8_snprintf(op->error, sizeof op->error, "%.*s",
                          utf8_prec(sh->error, 255), sh->error);
            sop->transient = true;
            if (!sop->drain)
                break;
            usleep(200000);
        }
        /* durability = database: occupants wait for this commit, so
         * the XMPP thread hears of it now, not after SHIP_TURN_MS of
         * further batches (the next op takes what came meanwhile: group
         * commit). */
        if (r == SHIP_OK && a->db_durable && !sop->drain)
            break;
        if (mono_ms() >= deadline)
            break;
    }

    if (sop->drain) {
        pthread_mutex_lock(&sh->drain_lock);
        sh->drain_state = 3;
        pthread_cond_broadcast(&sh->drain_cond);
        pthread_mutex_unlock(&sh->drain_lock);
    }
    return result;
}

static void ship_retry(void *ud)
{
    struct archive *a = ud;
    a->ship_timer = NULL;
    archive_ship_kick(a);
}

static void ship_done(struct store_op *op)
{
    struct ship_op *sop = (struct ship_op *)op;
    struct archive *a = sop->a;
    bool drain = sop->drain;
    bool again = op->failed || sop->transient;
    bool idle = sop->caught_up;
    free(op);
    if (drain)
        return;
    a->ship_in_flight = false;
    a->ship->on_committed(a);
    if (a->stopped || atomic_load(&a->ship->stop))
        return;
    if (again) {
        a->ship_retry_ms = a->ship_retry_ms ? a->ship_retry_ms * 2 : RETRY_MIN_MS;
        if (a->ship_retry_ms > RETRY_MAX_MS)
            a->ship_retry_ms = RETRY_MAX_MS;
        a->ship_timer = loop_timer_add(a->loop, a->ship_retry_ms, ship_retry, a,
                                       NULL);
        return;
    }
    a->ship_retry_ms = 0;
    /* In database mode occupants wait for the commit: no pause. */
    if (idle && !a->db_durable)
        a->ship_timer = loop_timer_add(a->loop, SHIP_IDLE_MS, ship_retry, a, NULL);
    else
        archive_ship_kick(a);
}

void archive_ship_kick(struct archive *a)
{
    if (!a->started || a->stopped || a->ship_in_flight || a->ship_timer ||
        atomic_load(&a->ship->stop))
        return;
    if (shippable(a) <= a->committed_seen)
        return;
    struct ship_op *op = calloc(1, sizeof *op);
    if (!op)
        return;
    op->op.run = ship_run;
    op->op.done = ship_done;
    op->a = a;
    a->ship_in_flight = true;
    store_submit(a->store, &op->op);
}

void archive_ship_drain(struct archive *a, uint64_t upto, unsigned timeout_ms)
{
    struct shipper *sh = a->ship;
    uint64_t deadline = mono_ms() + timeout_ms;
    if (timeout_ms && atomic_load(&a->committed) < upto) {
        struct ship_op *op = calloc(1, sizeof *op);
        if (op) {
            op->op.run = ship_run;
            op->op.done = ship_done;
            op->op.deadline_ms = deadline;
            op->a = a;
            op->drain = true;
            op->drain_upto = upto;
            op->drain_deadline_ms = deadline;
            pthread_mutex_lock(&sh->drain_lock);
            sh->drain_state = 1;
            pthread_mutex_unlock(&sh->drain_lock);
            store_submit(a->store, &op->op);

            pthread_mutex_lock(&sh->drain_lock);
            while (sh->drain_state != 3) {
                if (sh->drain_state == 1 && mono_ms() >= deadline) {
                    sh->drain_abandoned = true; /* the database never came */
                    break;
                }
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 50 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&sh->drain_cond, &sh->drain_lock, &ts);
            }
            pthread_mutex_unlock(&sh->drain_lock);
        }
    }
    atomic_store(&sh->stop, true);
    a->committed_seen = atomic_load(&a->committed);
}

/* ---- connection set-up ------------------------------------------------------------ */

int shipper_on_connect(void *ud, PGconn *conn, char *err, size_t errlen)
{
    (void)ud;
    static const struct copy_table *const staged[] = {&copy_ticket_events,
                                                      &copy_room_events};
    struct buf sql = BUF_INIT;
    /* A lock held by someone else makes us retry, not wait. */
    buf_append_str(&sql, "SET lock_timeout = '2s'");
    for (size_t i = 0; i <= sizeof staged / sizeof staged[0]; i++) {
        if (i)
            copy_sql_stage(&sql, staged[i - 1]);
        if (buf_failed(&sql)) {
            snprintf(err, errlen, "archive set-up: out of memory");
            buf_free(&sql);
            return -1;
        }
        PGresult *res = PQexec(conn, buf_cstr(&sql));
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            store_pq_error(err, errlen, conn, res, "archive set-up");
        PQclear(res);
        if (!ok) {
            buf_free(&sql);
            return -1;
        }
    }
    buf_free(&sql);
    return 0;
}

/* ---- reads of what is not shipped yet ------------------------------------------ */

void shipper_scan_unshipped(struct shipper *sh, uint64_t below, ship_record_fn fn,
                            void *ud)
{
    if (!sh->scan) {
        sh->scan = journal_reader_new(sh->a->journal);
        if (!sh->scan)
            return;
    }
    uint64_t limit = atomic_load(&sh->a->written);
    if (below && below - 1 < limit)
        limit = below - 1;
    if (limit <= sh->committed)
        return;
    /* Start where shipping stands (no scan from the segment's start). */
    struct journal_pos pos;
    if (sh->reader && sh->positioned) {
        journal_reader_tell(sh->reader, &pos);
        if (pos.next_seq == sh->committed + 1 && pos.segment)
            journal_reader_restore(sh->scan, &pos);
        else
            journal_reader_seek(sh->scan, sh->committed + 1);
    } else {
        journal_reader_seek(sh->scan, sh->committed + 1);
    }
    struct journal_record rec;
    while (journal_reader_next(sh->scan, limit, &rec) == 1)
        fn(ud, rec.seq, rec.type, rec.payload, rec.len);
}
