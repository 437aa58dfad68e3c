#include "build-config.h"

#include "store/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/backoff.h"
#include "core/log.h"
#include "store/migrate.h"
#include "store/pq.h"

#define LOG "store"

/* At the backoff cap, a reminder that the database is still away every
 * this many attempts (about five minutes at 30 s). */
#define STILL_DOWN_EVERY 10

struct op_list {
    struct store_op *head, *tail;
};

struct store {
    struct loop *loop;
    char *conninfo;
    int connect_timeout_s;
    int statement_timeout_ms;

    pthread_t thread;
    bool thread_running;
    bool abandoned;            /* the thread outlived store_stop(): leak s */
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* new work, or stop */
    struct op_list pending;    /* guarded by lock: waiting to run */
    struct op_list finished;   /* guarded by lock: waiting for done() */
    bool stopping;             /* guarded by lock */
    uint64_t stop_deadline_ms; /* guarded by lock */

    int eventfd;               /* DB thread -> XMPP thread */
    atomic_bool connected;
    atomic_size_t outstanding; /* submitted, done not yet run (metrics) */

    struct connect_hook {
        store_connect_fn fn;
        void *ud;
    } *hooks;                  /* set before the thread starts */
    size_t hook_count;

    /* DB-thread-only state */
    PGconn *conn;
    struct backoff backoff;
};

static void list_push(struct op_list *l, struct store_op *op)
{
    op->next = NULL;
    if (l->tail)
        l->tail->next = op;
    else
        l->head = op;
    l->tail = op;
}

static struct store_op *list_take_all(struct op_list *l)
{
    struct store_op *head = l->head;
    l->head = l->tail = NULL;
    return head;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- XMPP-thread side ----------------------------------------------------------- */

static void run_done(struct store *s, struct store_op *op)
{
    atomic_fetch_sub_explicit(&s->outstanding, 1, memory_order_relaxed);
    if (op->done)
        op->done(op);
    else
        free(op);
}

static void deliver_finished(struct store *s)
{
    pthread_mutex_lock(&s->lock);
    struct store_op *op = list_take_all(&s->finished);
    pthread_mutex_unlock(&s->lock);
    while (op) {
        struct store_op *next = op->next;
        run_done(s, op);
        op = next;
    }
}

static void on_eventfd(void *ud, int fd, uint32_t events)
{
    struct store *s = ud;
    uint64_t n;
    (void)events;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd read failed: %s", strerror(errno));
    deliver_finished(s);
}

struct store *store_new(struct loop *loop, const struct store_config *cfg)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->eventfd = -1;
    s->conninfo = strdup(cfg->conninfo);
    s->connect_timeout_s = cfg->connect_timeout_s;
    s->statement_timeout_ms = cfg->statement_timeout_ms;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    backoff_init(&s->backoff, 1000, 30000);
    if (!s->conninfo)
        goto fail;
    s->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->eventfd < 0)
        goto fail;
    if (loop && loop_io_add(loop, s->eventfd, EPOLLIN, on_eventfd, s) < 0)
        goto fail;
    return s;
fail:
    store_free(s);
    return NULL;
}

int store_on_connect(struct store *s, store_connect_fn fn, void *ud)
{
    struct connect_hook *h =
        realloc(s->hooks, (s->hook_count + 1) * sizeof *s->hooks);
    if (!h)
        return -1;
    s->hooks = h;
    s->hooks[s->hook_count++] = (struct connect_hook){fn, ud};
    return 0;
}

void store_submit(struct store *s, struct store_op *op)
{
    op->failed = false;
    op->error[0] = '\0';
    atomic_fetch_add_explicit(&s->outstanding, 1, memory_order_relaxed);
    pthread_mutex_lock(&s->lock);
    list_push(&s->pending, op);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

bool store_connected(const struct store *s)
{
    return atomic_load(&s->connected);
}

size_t store_queue_depth(const struct store *s)
{
    return atomic_load_explicit(&s->outstanding, memory_order_relaxed);
}

/* ---- DB-thread side -------------------------------------------------------------- */

bool store_connection_lost(PGconn *conn)
{
    return PQstatus(conn) != CONNECTION_OK;
}

static void notify_xmpp_thread(struct store *s)
{
    uint64_t one = 1;
    if (write(s->eventfd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd write failed: %s", strerror(errno));
}

static void finish(struct store *s, struct store_op *op)
{
    pthread_mutex_lock(&s->lock);
    list_push(&s->finished, op);
    pthread_mutex_unlock(&s->lock);
}

/* libpq messages span lines ("...\n\tIs the server running...?\n"); a log
 * entry is one line. */
/* Server notices (NOTICE: relation ... already exists, skipping) go to the
 * debug log instead of libpq's default, stderr. */
static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    /* bytes: cut at the first newline */
    log_debug(LOG, "server notice: %.*s", (int)strcspn(message, "\n"), message);
}

static PGconn *open_connection(struct store *s, char *err, size_t errlen)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", s->connect_timeout_s);
    /* Defaults first, then the operator's conninfo (expanded from dbname),
     * which overrides them.  Keepalives and tcp_user_timeout make a dead
     * server show up as an error instead of a hang. */
    const char *keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
                          "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout", "application_name", "dbname",
                          NULL};
    const char *values[] = {timeout, "1", "10", "5", "3", "15000", "mucdesk",
                            s->conninfo, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        store_pq_error(err, errlen, conn, NULL, NULL);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, notice_to_log, NULL);
    char sql[96];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d",
             s->statement_timeout_ms);
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    res = PQexec(conn, "SET TIME ZONE 'UTC'");
    ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        store_pq_error(err, errlen, conn, NULL,
                       "cannot set session parameters");
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Waits on the condition variable until `ms` passed or the store is told to
 * stop.  Called with the lock held. */
static void wait_locked(struct store *s, uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->wake, &s->lock, &ts);
}

/* Fails queued ops whose deadline passed while the database was away, so a
 * reader (a MAM query, say) gets an answer instead of waiting forever. */
static void expire_waiting_ops(struct store *s)
{
    uint64_t now = now_ms();
    bool any = false;
    pthread_mutex_lock(&s->lock);
    struct store_op *op = list_take_all(&s->pending);
    while (op) {
        struct store_op *next = op->next;
        if (op->deadline_ms && op->deadline_ms <= now) {
            op->failed = true;
            snprintf(op->error, sizeof op->error, "database unavailable");
            list_push(&s->finished, op);
            any = true;
        } else {
            list_push(&s->pending, op);
        }
        op = next;
    }
    pthread_mutex_unlock(&s->lock);
    if (any)
        notify_xmpp_thread(s);
}

static bool connect_with_backoff(struct store *s)
{
    char err[512];
    static const char *const unreachable = "database unreachable";
    uint64_t down_since = now_ms();
    unsigned attempts = 0;
    bool tried_while_stopping = false;

    for (;;) {
        /* Once stopping, the database gets one more attempt: what it cannot
         * take then is in the journal, or not worth delaying the exit for. */
        pthread_mutex_lock(&s->lock);
        bool stopping = s->stopping;
        bool stop_now = stopping && (s->pending.head == NULL ||
                                     tried_while_stopping ||
                                     now_ms() >= s->stop_deadline_ms);
        pthread_mutex_unlock(&s->lock);
        if (stop_now)
            return false;

        s->conn = open_connection(s, err, sizeof err);
        attempts++;
        tried_while_stopping = stopping;
        if (s->conn) {
            int applied = migrate_apply(s->conn, err, sizeof err);
            for (size_t i = 0; applied >= 0 && i < s->hook_count; i++)
                if (s->hooks[i].fn(s->hooks[i].ud, s->conn, err, sizeof err) < 0)
                    applied = -1;
            if (applied >= 0) {
                if (applied > 0)
                    log_info(LOG, "applied %d schema migration(s)", applied);
                log_info(LOG, "database connected%s",
                         attempts > 1 ? " (after retrying)" : "");
                backoff_reset(&s->backoff);
                atomic_store(&s->connected, true);
                return true;
            }
            log_error(LOG, "%s", err);
            PQfinish(s->conn);
            s->conn = NULL;
        }

        /* One line per backoff step; at the cap, an occasional reminder. */
        uint32_t step_before = backoff_step_ms(&s->backoff);
        uint32_t delay = backoff_next(&s->backoff);
        uint32_t step_after = backoff_step_ms(&s->backoff);
        if (attempts == 1 || step_after != step_before ||
            attempts % STILL_DOWN_EVERY == 0)
            log_warn(LOG, "%s for %llu s (%u attempts): %s; next try in %u s",
                     unreachable,
                     (unsigned long long)((now_ms() - down_since) / 1000),
                     attempts, err, (delay + 500) / 1000);
        expire_waiting_ops(s);

        /* Sleep the whole delay: new work arriving must not cut the backoff
         * short (every submitted op would otherwise cause an attempt); only
         * a stop request does. */
        pthread_mutex_lock(&s->lock);
        uint64_t until = now_ms() + delay;
        for (uint64_t now = now_ms(); !s->stopping && now < until; now = now_ms())
            wait_locked(s, until - now);
        pthread_mutex_unlock(&s->lock);
    }
}

static void *db_thread_main(void *arg)
{
    struct store *s = arg;

    for (;;) {
        if (!s->conn && !connect_with_backoff(s))
            break;

        pthread_mutex_lock(&s->lock);
        while (!s->pending.head && !s->stopping)
            pthread_cond_wait(&s->wake, &s->lock);
        struct store_op *batch = list_take_all(&s->pending);
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);

        if (!batch && stopping)
            break;

        bool delivered = false;
        while (batch) {
            struct store_op *op = batch;
            batch = op->next;
            if (op->run(op, s->conn) == STORE_RUN_RETRY &&
                store_connection_lost(s->conn)) {
                /* Put this op and the rest back, in order, ahead of newer
                 * work, and reconnect. */
                op->next = batch;
                struct store_op *tail = op;
                while (tail->next)
                    tail = tail->next;
                pthread_mutex_lock(&s->lock);
                tail->next = s->pending.head;
                if (!s->pending.head)
                    s->pending.tail = tail;
                s->pending.head = op;
                pthread_mutex_unlock(&s->lock);
                log_warn(LOG, "database connection lost: %s", op->error);
                atomic_store(&s->connected, false);
                PQfinish(s->conn);
                s->conn = NULL;
                break;
            }
            finish(s, op);
            delivered = true;
        }
        if (delivered)
            notify_xmpp_thread(s);
    }
    if (s->conn) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    atomic_store(&s->connected, false);
    return NULL;
}

int store_start(struct store *s)
{
    if (pthread_create(&s->thread, NULL, db_thread_main, s) != 0)
        return -1;
    s->thread_running = true;
    return 0;
}

size_t store_stop(struct store *s, unsigned timeout_ms)
{
    size_t lost = 0;

    if (s->thread_running) {
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        s->stop_deadline_ms = now_ms() + timeout_ms;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->lock);

        /* The thread itself gives up waiting for the database at the
         * deadline; a statement in flight is bounded by statement_timeout.
         * Allow that much longer before abandoning the thread. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t grace = timeout_ms + (uint64_t)s->statement_timeout_ms +
                         (uint64_t)s->connect_timeout_s * 1000u;
        ts.tv_sec += (time_t)(grace / 1000);
        ts.tv_nsec += (long)(grace % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np(s->thread, NULL, &ts) != 0) {
            log_error(LOG, "database thread did not stop in time");
            pthread_detach(s->thread);
            s->thread_running = false;
            s->abandoned = true;
            return (size_t)-1;
        }
        s->thread_running = false;
    }
    deliver_finished(s);
    pthread_mutex_lock(&s->lock);
    struct store_op *op = list_take_all(&s->pending);
    pthread_mutex_unlock(&s->lock);
    while (op) {
        struct store_op *next = op->next;
        op->failed = true;
        snprintf(op->error, sizeof op->error, "shut down before it could run");
        run_done(s, op);
        lost++;
        op = next;
    }
    return lost;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    if (s->thread_running)
        store_stop(s, 0);
    if (s->abandoned)
        return; /* still in use by a thread we could not join */
    if (s->eventfd >= 0) {
        if (s->loop)
            loop_io_remove(s->loop, s->eventfd);
        close(s->eventfd);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s->hooks);
    free(s->conninfo);
    free(s);
}
