/* The archive: appends on the XMPP thread, the journal thread (group
 * commit), and the bookkeeping that ties them to shipping (archive_ship.c).
 * See archive_impl.h for who owns what. */
#include "build-config.h"

#include "store/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/archive_impl.h"

#define LOG ARCHIVE_LOG

/* How long the journal thread sleeps between retries of a failing write,
 * and between housekeeping rounds when idle. */
#define JOURNAL_RETRY_MS 250
#define JOURNAL_IDLE_MS 1000
#define HOUSEKEEPING_MS 200


/* ---- the tail: unshipped records in memory ----------------------------------- */

/* Keeps memory within bounds: records already on disk leave the tail
 * oldest first (reads then find them in the journal). */
static void tail_evict(struct archive *a)
{
    /* durability = database: the tail is what occupants wait for (held
     * messages); it is bounded by refusing appends instead. */
    if (a->db_durable)
        return;
    uint64_t inflight = atomic_load(&a->inflight) + a->turn.len;
    size_t budget = inflight < a->memory_max ? a->memory_max - (size_t)inflight : 0;
    uint64_t written = atomic_load(&a->written);
    while (a->tail.count && a->tail.bytes > budget &&
           a->tail.v[a->tail.head].seq <= written)
        tail_pop(&a->tail);
}

/* ---- the journal thread ------------------------------------------------------------ */

static void notify(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd write failed: %s", strerror(errno));
}

static void timed_wait(pthread_cond_t *cond, pthread_mutex_t *lock, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cond, lock, &ts);
}

static void set_flag(struct archive *a, atomic_bool *flag, bool on,
                     const char *on_text, const char *off_text, int err)
{
    if (atomic_exchange(flag, on) == on)
        return;
    if (on)
        log_error(LOG, "%s (%s): new chats are refused until it is fixed",
                  on_text, strerror(err));
    else
        log_info(LOG, "%s", off_text);
    (void)a;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void count_batch(struct archive *a, uint64_t us)
{
    unsigned i = 0;
    while (i < 23 && us >= (1ull << i))
        i++;
    atomic_fetch_add(&a->sync_hist[i], 1);
    atomic_fetch_add(&a->batches, 1);
}

/* Writes one batch: everything handed over since the last one. */
static void journal_write_batch(struct archive *a, struct buf *batch)
{
    uint64_t started = mono_us();
    size_t off = 0;
    while (off < batch->len) {
        size_t done = 0;
        int rc = journal_append(a->journal, (const uint8_t *)batch->data + off,
                                batch->len - off, &done);
        off += done;
        atomic_fetch_sub(&a->inflight, done);
        atomic_store(&a->written, journal_next_seq(a->journal) - 1);
        if (rc == 0) {
            if (!atomic_load(&a->sync_broken))
                set_flag(a, &a->failing, false, NULL,
                         "the journal is writable again", 0);
            break;
        }
        int err = errno;
        set_flag(a, &a->failing, true, "cannot write the journal in the "
                 "state directory (disk full?)", NULL, err);
        pthread_mutex_lock(&a->jlock);
        bool stop = a->jstop;
        if (!stop)
            timed_wait(&a->jwake, &a->jlock, JOURNAL_RETRY_MS);
        pthread_mutex_unlock(&a->jlock);
        if (stop) {
            log_error(LOG, "stopping with %zu bytes of records that could not "
                      "be written to the journal", batch->len - off);
            atomic_fetch_sub(&a->inflight, batch->len - off);
            break;
        }
    }
    uint64_t written = atomic_load(&a->written);
    if (!a->sync) {
        atomic_store(&a->synced, written);
    } else if (!atomic_load(&a->sync_broken)) {
        if (journal_sync(a->journal) == 0) {
            atomic_store(&a->synced, written);
        } else {
            /* After a failed fsync the kernel may have dropped the data
             * and a later fsync can succeed without it: never trust the
             * disk again in this process.  Records become durable once
             * PostgreSQL has them. */
            int err = errno;
            atomic_store(&a->sync_broken, true);
            set_flag(a, &a->failing, true, "fdatasync of the journal failed; "
                     "restart mucdesk once the disk is fixed", NULL, err);
        }
    }
    count_batch(a, mono_us() - started);
}

/* The committed mark: how far PostgreSQL is known to have everything, so
 * that a restart does not ship the active segment's records again.  Only a
 * hint (never ahead of the truth: written after the commit); no fsync. */
#define MARK_NAME "committed"
#define MARK_EVERY_MS 500

static void write_mark(struct archive *a, uint64_t committed)
{
    char path[4096], tmp[4200], text[32];
    snprintf(path, sizeof path, "%s/" MARK_NAME, a->journal_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", committed);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    bool ok = write(fd, text, (size_t)n) == n;
    close(fd);
    if (!ok || rename(tmp, path) < 0)
        unlink(tmp);
}

static uint64_t read_mark(const struct archive *a)
{
    char path[4096], text[32] = {0};
    snprintf(path, sizeof path, "%s/" MARK_NAME, a->journal_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    return n > 0 ? strtoull(text, NULL, 10) : 0;
}

static void maybe_write_mark(struct archive *a, bool now)
{
    uint64_t c = atomic_load(&a->committed);
    uint64_t t = loop_clock_ms();
    if (c == a->mark_written || (!now && t < a->mark_at + MARK_EVERY_MS))
        return;
    write_mark(a, c);
    a->mark_written = c;
    a->mark_at = t;
}

static void housekeeping(struct archive *a)
{
    maybe_write_mark(a, false);
    if (journal_prepare(a->journal) < 0)
        set_flag(a, &a->disk_low, true,
                 "cannot preallocate the next journal segment (disk full?)",
                 NULL, errno);
    else
        set_flag(a, &a->disk_low, false, NULL,
                 "journal space available again", 0);
    journal_trim(a->journal, atomic_load(&a->committed));
}

static void *journal_thread_main(void *arg)
{
    struct archive *a = arg;
    struct buf batch = BUF_INIT;

    pthread_mutex_lock(&a->jlock);
    for (;;) {
        if (!a->pending.len && !a->jstop) {
            timed_wait(&a->jwake, &a->jlock, JOURNAL_IDLE_MS);
            continue;
        }

        if (!a->pending.len && a->jstop)
            break;
        /* Swap buffers: the XMPP thread keeps appending into the other. */
        struct buf tmp = a->pending;
        a->pending = batch;
        batch = tmp;
        a->jbusy = true;
        pthread_mutex_unlock(&a->jlock);

        journal_write_batch(a, &batch);
        buf_reset(&batch);
        notify(a->jevfd);
        pthread_cond_signal(&a->hwake); /* the housekeeper may have work */

        pthread_mutex_lock(&a->jlock);
        a->jbusy = false;
        pthread_cond_broadcast(&a->jidle);
    }
    pthread_mutex_unlock(&a->jlock);
    buf_free(&batch);
    return NULL;
}

/* The housekeeper: prepares the next segment, deletes shipped ones and
 * writes the committed mark, so that the journal thread only ever writes
 * and syncs. */
static void *housekeeper_main(void *arg)
{
    struct archive *a = arg;
    pthread_mutex_lock(&a->hlock);
    while (!a->hstop) {
        pthread_mutex_unlock(&a->hlock);
        housekeeping(a);
        pthread_mutex_lock(&a->hlock);
        if (!a->hstop)
            timed_wait(&a->hwake, &a->hlock, HOUSEKEEPING_MS);
    }
    pthread_mutex_unlock(&a->hlock);
    return NULL;
}

static void stop_housekeeper(struct archive *a)
{
    if (!a->hthread_running)
        return;
    pthread_mutex_lock(&a->hlock);
    a->hstop = true;
    pthread_cond_signal(&a->hwake);
    pthread_mutex_unlock(&a->hlock);
    pthread_join(a->hthread, NULL);
    a->hthread_running = false;
}

/* ---- XMPP thread ------------------------------------------------------------------- */

static uint64_t durable_now(const struct archive *a)
{
    if (a->db_durable)
        return atomic_load(&a->committed);
    if (!a->sync)
        return a->next_seq - 1;
    uint64_t synced = atomic_load(&a->synced);
    uint64_t committed = atomic_load(&a->committed);
    return synced > committed ? synced : committed;
}

static void report_durable(struct archive *a)
{
    uint64_t d = durable_now(a);
    if (d > a->next_seq - 1)
        d = a->next_seq - 1;
    if (d <= a->durable_seen)
        return;
    a->durable_seen = d;
    if (a->durable_fn)
        a->durable_fn(a->durable_ud, d);
}

/* Hands this turn's records to the journal thread. */
static void hand_over(struct archive *a)
{
    if (!a->turn.len)
        return;
    atomic_fetch_add(&a->inflight, a->turn.len);
    pthread_mutex_lock(&a->jlock);
    if (!a->pending.len) {
        struct buf tmp = a->pending;
        a->pending = a->turn;
        a->turn = tmp;
    } else {
        buf_append(&a->pending, a->turn.data, a->turn.len);
    }
    bool wake = !a->jbusy;
    pthread_mutex_unlock(&a->jlock);
    if (wake)
        pthread_cond_signal(&a->jwake);
    buf_reset(&a->turn);
}

static bool on_turn_end(void *ud)
{
    struct archive *a = ud;
    if (!a->started || a->stopped)
        return false;
    hand_over(a);
    if (!a->sync && !a->db_durable)
        report_durable(a);
    return false;
}

static void on_journal_event(void *ud, int fd, uint32_t events)
{
    struct archive *a = ud;
    uint64_t n;
    (void)events;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd read failed: %s", strerror(errno));
    report_durable(a);
    tail_evict(a);
    archive_ship_kick(a);
}

/* ---- the shipping lag (lag_marks) ---------------------------------------------------- */

static void lag_mark(struct archive *a, uint64_t seq)
{
    uint64_t now = loop_now(a->loop);
    if (a->lag_count) {
        size_t last = (a->lag_head + a->lag_count - 1) % ARCHIVE_LAG_MARKS;
        if (now - a->lag_marks[last].at_ms < 1000 ||
            a->lag_count == ARCHIVE_LAG_MARKS)
            return;
    }
    size_t at = (a->lag_head + a->lag_count) % ARCHIVE_LAG_MARKS;
    a->lag_marks[at] = (struct lag_mark){seq, now};
    a->lag_count++;
}

/* Records up to `committed` are in PostgreSQL: the first mark stays only
 * while it still dates the oldest record left. */
static void lag_forget(struct archive *a, uint64_t committed)
{
    while (a->lag_count) {
        size_t next = (a->lag_head + 1) % ARCHIVE_LAG_MARKS;
        bool all = committed + 1 >= a->next_seq;
        if (!all && (a->lag_count < 2 || a->lag_marks[next].seq > committed + 1))
            break;
        a->lag_head = next;
        a->lag_count--;
    }
}

static uint64_t lag_age(const struct archive *a)
{
    if (!a->lag_count || a->committed_seen + 1 >= a->next_seq)
        return 0;
    return loop_now(a->loop) - a->lag_marks[a->lag_head].at_ms;
}

/* The XMPP thread learned that `committed` advanced. */
static void archive_committed(struct archive *a)
{
    uint64_t c = atomic_load(&a->committed);
    a->committed_seen = c;
    lag_forget(a, c);
    while (a->tail.count && a->tail.v[a->tail.head].seq <= c)
        tail_pop(&a->tail);
    uint64_t dl = atomic_load(&a->dead_letters);
    if (dl != a->dead_letters_seen) {
        log_error(LOG, "%" PRIu64 " record(s) could not be stored and are in "
                  "%s", dl, a->dead_letter_path);
        a->dead_letters_seen = dl;
    }
    if (a->replay_until && c >= a->replay_until) {
        log_info(LOG, "journal replay complete: PostgreSQL has every record "
                 "up to %" PRIu64, a->replay_until);
        a->replay_until = 0;
    }
    report_durable(a);
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

struct archive *archive_new(struct loop *loop, struct store *store,
                            const struct config *cfg)
{
    struct archive *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->loop = loop;
    a->store = store;
    a->jevfd = -1;
    a->sync = cfg->database.durability == CONFIG_DURABILITY_JOURNAL;
    /* In `database` mode the journal is still written (shipping reads it,
     * and it keeps what PostgreSQL has not taken across a restart) but
     * never synced: the commit is what makes an event durable. */
    a->db_durable = cfg->database.durability == CONFIG_DURABILITY_DATABASE;
    a->segment_size = (uint64_t)cfg->database.journal_segment_mb << 20;
    a->memory_max = (size_t)cfg->database.queue_memory_mb << 20;
    a->query_timeout_ms = (unsigned)cfg->database.query_timeout_ms;
    a->retention_events_days = cfg->retention.closed_ticket_days;
    a->retention_personal_days = cfg->retention.personal_data_days;
    a->retention_batch = (unsigned)cfg->retention.batch_size;
    a->retention_interval_s = (unsigned)cfg->retention.interval_s;
    a->next_seq = 1;
    pthread_mutex_init(&a->jlock, NULL);
    pthread_cond_init(&a->jwake, NULL);
    pthread_cond_init(&a->jidle, NULL);
    pthread_mutex_init(&a->hlock, NULL);
    pthread_cond_init(&a->hwake, NULL);
    a->journal_dir = path_join(cfg->service.state_dir, "journal");
    a->dead_letter_path = path_join(cfg->service.state_dir, "dead-letter.jsonl");
    if (!a->journal_dir || !a->dead_letter_path)
        goto fail;
    a->ship = shipper_new(a, archive_committed);
    if (!a->ship)
        goto fail;
    a->jevfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->jevfd < 0)
        goto fail;
    if (loop_io_add(loop, a->jevfd, EPOLLIN, on_journal_event, a) < 0 ||
        loop_turn_hook_add(loop, on_turn_end, a) < 0)
        goto fail;
    if (store_on_connect(store, shipper_on_connect, a->ship) < 0 ||
        store_on_connect(store, tickets_on_connect, a) < 0)
        goto fail;
    return a;
fail:
    archive_free(a);
    return NULL;
}

/* Creates the state directory if it is missing (the parent must exist). */
static int ensure_dir(const char *journal_dir)
{
    char *parent = strdup(journal_dir);
    if (!parent)
        return -1;
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (mkdir(parent, 0700) < 0 && errno != EEXIST) {
            log_error(LOG, "cannot create the state directory %s: %s", parent,
                      strerror(errno));
            free(parent);
            return -1;
        }
    }
    free(parent);
    return 0;
}

int archive_start(struct archive *a)
{
    char err[512];
    struct journal_open_report rep;
    struct journal_options opt = {
        .dir = a->journal_dir,
        .segment_size = a->segment_size,
        .sync = a->sync,
    };
    if (ensure_dir(a->journal_dir) < 0)
        return -1;
    if (journal_open(&opt, &a->journal, &rep, err, sizeof err) < 0) {
        log_error(LOG, "cannot open the journal: %s", err);
        return -1;
    }
    if (rep.cut_bytes)
        log_warn(LOG, "journal: cut a torn tail of %" PRIu64 " bytes after "
                 "record %" PRIu64 " (a crash while writing; those records "
                 "were never acknowledged)", rep.cut_bytes, rep.next_seq - 1);
    if (rep.gaps)
        log_error(LOG, "journal: %u corrupt stretch(es) skipped: records "
                  "were lost (see above)", rep.gaps);
    a->next_seq = rep.next_seq;
    a->durable_seen = rep.next_seq - 1;
    atomic_store(&a->written, rep.next_seq - 1);
    atomic_store(&a->synced, rep.next_seq - 1);
    /* Shipping resumes after the committed mark (or from the oldest
     * record kept, if the mark is missing or older). */
    uint64_t committed = rep.first_seq - 1, mark = read_mark(a);
    if (mark > committed)
        committed = mark < rep.next_seq - 1 ? mark : rep.next_seq - 1;
    a->mark_written = committed;
    atomic_store(&a->committed, committed);
    a->committed_seen = committed;
    shipper_set_committed(a->ship, committed);
    if (committed < rep.next_seq - 1) {
        a->replay_until = rep.next_seq - 1;
        /* Their age is unknown: at least since the start. */
        a->lag_marks[0] = (struct lag_mark){committed + 1, loop_now(a->loop)};
        a->lag_head = 0;
        a->lag_count = 1;
        log_info(LOG, "journal replay: records %" PRIu64 "..%" PRIu64 " (of %"
                 PRIu64 " kept in %zu segment(s)) are shipped to PostgreSQL, "
                 "which keeps one copy of each", committed + 1,
                 rep.next_seq - 1, rep.records, rep.segments);
    } else {
        log_info(LOG, "journal open in %s (%s durability), next record %" PRIu64,
                 a->journal_dir,
                 a->db_durable ? "database" : a->sync ? "journal" : "async",
                 rep.next_seq);
    }
    if (pthread_create(&a->jthread, NULL, journal_thread_main, a) != 0) {
        log_error(LOG, "cannot start the journal thread");
        journal_close(a->journal);
        a->journal = NULL;
        return -1;
    }
    a->jthread_running = true;
    if (pthread_create(&a->hthread, NULL, housekeeper_main, a) == 0)
        a->hthread_running = true;
    else
        log_error(LOG, "cannot start the journal housekeeper: segments are "
                  "neither prepared ahead nor deleted");
    a->started = true;
    archive_ship_kick(a);
    tickets_refill(a);
    retention_start(a);
    return 0;
}

/* Blocks until the journal thread wrote and synced everything handed to
 * it.  Only at shutdown (the XMPP thread may block then). */
static void journal_flush(struct archive *a)
{
    hand_over(a);
    pthread_mutex_lock(&a->jlock);
    while ((a->pending.len || a->jbusy) && !a->jstop) {
        pthread_cond_signal(&a->jwake);
        timed_wait(&a->jidle, &a->jlock, 100);
    }
    pthread_mutex_unlock(&a->jlock);
}

void archive_stop(struct archive *a, unsigned timeout_ms)
{
    if (!a || !a->started || a->stopped)
        return;
    journal_flush(a);
    report_durable(a);
    uint64_t last = a->next_seq - 1;
    retention_stop(a);
    if (a->ids_timer) {
        loop_timer_cancel(a->loop, a->ids_timer);
        a->ids_timer = NULL;
    }
    if (a->ship_timer) {
        loop_timer_cancel(a->loop, a->ship_timer);
        a->ship_timer = NULL;
    }
    /* Everything is in the journal already: wait for the database only if
     * it is there (the next start ships the rest). */
    archive_ship_drain(a, last, store_connected(a->store) ? timeout_ms : 0);
    uint64_t committed = atomic_load(&a->committed);
    if (committed < last)
        log_warn(LOG, "stopping with records %" PRIu64 "..%" PRIu64 " not in "
                 "PostgreSQL yet: they stay in the journal for the next start",
                 committed + 1, last);
    else
        log_info(LOG, "every record is in PostgreSQL");

    pthread_mutex_lock(&a->jlock);
    a->jstop = true;
    pthread_cond_signal(&a->jwake);
    pthread_mutex_unlock(&a->jlock);
    pthread_join(a->jthread, NULL);
    a->jthread_running = false;
    stop_housekeeper(a);
    /* Trim what was shipped during the drain. */
    journal_trim(a->journal, atomic_load(&a->committed));
    maybe_write_mark(a, true);
    a->stopped = true;
}

void archive_free(struct archive *a)
{
    if (!a)
        return;
    if (a->jthread_running) {
        pthread_mutex_lock(&a->jlock);
        a->jstop = true;
        pthread_cond_signal(&a->jwake);
        pthread_mutex_unlock(&a->jlock);
        pthread_join(a->jthread, NULL);
    }
    stop_housekeeper(a);
    if (a->loop) {
        if (a->ship_timer)
            loop_timer_cancel(a->loop, a->ship_timer);
        if (a->ids_timer)
            loop_timer_cancel(a->loop, a->ids_timer);
        retention_stop(a);
    }
    if (a->jevfd >= 0) {
        loop_io_remove(a->loop, a->jevfd);
        close(a->jevfd);
    }
    shipper_free(a->ship);
    journal_close(a->journal);
    tickets_free(a);
    tail_free(&a->tail);
    buf_free(&a->turn);
    buf_free(&a->scratch);
    buf_free(&a->pending);
    pthread_mutex_destroy(&a->jlock);
    pthread_cond_destroy(&a->jwake);
    pthread_cond_destroy(&a->jidle);
    pthread_mutex_destroy(&a->hlock);
    pthread_cond_destroy(&a->hwake);
    free(a->journal_dir);
    free(a->dead_letter_path);
    free(a);
}

uint64_t archive_append_record(struct archive *a, uint8_t type,
                               const void *payload, size_t len)
{
    if (!a->started || a->stopped || atomic_load(&a->failing))
        goto refuse;
    uint64_t inflight = atomic_load(&a->inflight) + a->turn.len;
    if (inflight + len > a->memory_max)
        goto refuse; /* the disk is not keeping up: never lose what we ack */
    /* durability = database: PostgreSQL is not keeping up (or is away),
     * and what it has not committed waits in memory, shown to nobody. */
    if (a->db_durable &&
        a->tail.bytes + len + sizeof(struct tail_entry) > a->memory_max)
        goto refuse;
    uint64_t seq = a->next_seq;
    size_t start = journal_record_begin(&a->turn);
    buf_append(&a->turn, payload, len);
    journal_record_end(&a->turn, start, seq, type);
    if (buf_failed(&a->turn) || tail_push(&a->tail, seq, type, payload, len) < 0) {
        bool failed = buf_failed(&a->turn);
        buf_truncate(&a->turn, start);
        if (failed)
            a->turn.failed = false;
        goto refuse;
    }
    a->next_seq++;
    lag_mark(a, seq);
    tail_evict(a);
    return seq;
refuse:
    if (a->refused++ % 10000 == 0)
        log_error(LOG, "cannot record an archive event (%s): the action is "
                  "refused (%" PRIu64 " so far)",
                  atomic_load(&a->failing) ? "journal failing"
                  : a->db_durable ? "PostgreSQL backlog full ([database] "
                                    "queue_memory)"
                                  : "journal backlog full",
                  a->refused);
    return 0;
}

uint64_t archive_append(struct archive *a, const struct archive_event *ev)
{
    if (!ev->stanza_id || !ev->stanza_id[0] || !ev->room || !ev->room[0] ||
        (unsigned)ev->kind > ARCHIVE_SUBJECT) {
        log_error(LOG, "archive_append: an event without stanza id or room");
        return 0;
    }
    /* Encode into a scratch buffer first, then frame it. */
    buf_reset(&a->scratch);
    record_encode_event(&a->scratch, ev);
    if (buf_failed(&a->scratch))
        return 0;
    return archive_append_record(a, RECORD_EVENT, a->scratch.data,
                                 a->scratch.len);
}

uint64_t archive_durable(const struct archive *a)
{
    if (!a->sync && !a->db_durable && a->started)
        return a->next_seq - 1;
    return a->durable_seen;
}

void archive_on_durable(struct archive *a, void (*fn)(void *ud, uint64_t seq),
                        void *ud)
{
    a->durable_fn = fn;
    a->durable_ud = ud;
}

bool archive_accepting(const struct archive *a)
{
    if (!a->started || a->stopped || atomic_load(&a->failing) ||
        atomic_load(&a->disk_low))
        return false;
    uint64_t inflight = atomic_load(&a->inflight) + a->turn.len;
    if (a->db_durable && a->tail.bytes >= a->memory_max / 2)
        return false; /* PostgreSQL has not taken half the backlog allowed */
    return inflight < a->memory_max / 2;
}

void archive_get_stats(const struct archive *a, struct archive_stats *out)
{
    memset(out, 0, sizeof *out);
    out->appended = a->next_seq ? a->next_seq - 1 : 0;
    out->durable = archive_durable(a);
    out->written = atomic_load(&a->written);
    out->committed = atomic_load(&a->committed);
    out->dead_letters = atomic_load(&a->dead_letters);
    out->tail_records = a->tail.count;
    out->tail_bytes = a->tail.bytes;
    if (a->journal)
        out->journal_segments = journal_segments(a->journal, &out->journal_bytes);
    out->accepting = archive_accepting(a);
    out->batches = atomic_load(&a->batches);
    for (int i = 0; i < 24; i++)
        out->sync_hist[i] = atomic_load(&a->sync_hist[i]);
    out->unshipped_age_ms = lag_age(a);
}
