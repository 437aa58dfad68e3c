/* The lease: a PostgreSQL advisory lock held on a dedicated session (see
 * lease.h for the promise).  One thread: connect, wait in PostgreSQL's
 * lock queue, then, once held, heartbeat until the session fails. */
#include "build-config.h"

#include "store/lease.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"
#include "store/pq.h"

#define LOG "lease"

/* What the server allows a silent client beyond lease_ms before it drops
 * the session (and the lock): the holder's safety margin for fencing. */
#define SERVER_MARGIN_MS 2000
/* The thread looks at its stop flag at least this often. */
#define STOP_CHECK_MS 100
/* A failing connection is logged once, then every this often. */
#define RELOG_MS 30000

struct lease {
    struct loop *loop;
    char *conninfo;
    int connect_timeout_s;
    int64_t key;
    unsigned lease_ms, poll_ms, heartbeat_ms;
    struct lease_events events;

    int evfd;                      /* lock thread -> XMPP thread */
    pthread_t thread;
    bool running;
    atomic_bool stop;
    _Atomic int state;             /* enum lease_state */
    _Atomic uint64_t valid_until;  /* monotonic ms; 0: not held */
    _Atomic int backend_pid;
    char why[256];                 /* written before state turns LOST */

    /* XMPP thread: what it told the service already. */
    int told;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void notify(struct lease *l)
{
    uint64_t one = 1;
    if (write(l->evfd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd write failed: %s", strerror(errno));
}

/* Sleeps ms, waking early if told to stop.  False if told to stop. */
static bool nap(struct lease *l, unsigned ms)
{
    uint64_t until = mono_ms() + ms;
    while (!atomic_load(&l->stop)) {
        uint64_t now = mono_ms();
        if (now >= until)
            return true;
        uint64_t left = until - now;
        usleep((useconds_t)(left < STOP_CHECK_MS ? left : STOP_CHECK_MS) * 1000);
    }
    return false;
}

static bool exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
              PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok;
}

/* The lock session.  Our timeouts come after the operator's conninfo, so
 * they win: the lease's timing is what fencing relies on. */
static PGconn *lease_connect(struct lease *l, char *err, size_t errlen)
{
    char timeout[16], count[16], user_timeout[16];
    snprintf(timeout, sizeof timeout, "%d", l->connect_timeout_s);
    snprintf(count, sizeof count, "%u", (l->lease_ms + 999) / 1000);
    snprintf(user_timeout, sizeof user_timeout, "%u", l->lease_ms);
    const char *keys[] = {"dbname", "connect_timeout", "keepalives",
                          "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout",
                          "application_name", NULL};
    const char *values[] = {l->conninfo, timeout, "1", "1", "1", count,
                            user_timeout, "mucdesk-lease", NULL};
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
    /* The server's side of this session: a client silent for lease_ms +
     * SERVER_MARGIN_MS is dropped (keepalive probes while idle; unanswered
     * writes through tcp_user_timeout), and the lock with it.  The holder
     * fences itself after lease_ms. */
    char sql[256];
    unsigned idle_s = (l->lease_ms + 999) / 1000;
    snprintf(sql, sizeof sql,
             "SELECT set_config('tcp_keepalives_idle', '%u', false),"
             " set_config('tcp_keepalives_interval', '1', false),"
             " set_config('tcp_keepalives_count', '%u', false),"
             " set_config('tcp_user_timeout', '%u', false),"
             " set_config('statement_timeout', '%u', false)",
             idle_s, SERVER_MARGIN_MS / 1000, l->lease_ms + SERVER_MARGIN_MS,
             l->lease_ms);
    if (!exec_ok(conn, sql)) {
        store_pq_error(err, errlen, conn, NULL,
                       "cannot set the lock session's timeouts");
        PQfinish(conn);
        return NULL;
    }
    atomic_store(&l->backend_pid, PQbackendPID(conn));
    return conn;
}

/* Waits until the socket is readable or `until` (monotonic ms) passes.
 * 1 readable, 0 timed out or told to stop, -1 poll failed. */
static int wait_readable(struct lease *l, int sock, uint64_t until)
{
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= until || atomic_load(&l->stop))
            return 0;
        uint64_t left = until - now;
        struct pollfd p = {.fd = sock, .events = POLLIN};
        int rc = poll(&p, 1, (int)(left < STOP_CHECK_MS ? left : STOP_CHECK_MS));
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Reads what the server sent.  False if the session is gone. */
static bool consume(PGconn *conn)
{
    if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
        return false;
    PGnotify *n;
    while ((n = PQnotifies(conn)))
        PQfreemem(n);
    return true;
}

/* Asks PostgreSQL to cancel what this session is doing (the lock wait),
 * so that its backend leaves the lock queue now rather than when it
 * would have been granted the lock. */
static void cancel_query(PGconn *conn)
{
    PGcancel *c = PQgetCancel(conn);
    if (c) {
        char buf[256];
        (void)PQcancel(c, buf, sizeof buf);
        PQfreeCancel(c);
    }
}

/* Queues for the lock: pg_advisory_lock() waits in PostgreSQL's lock
 * queue, so the lock goes to the first in line the moment it is free (no
 * polling gap), and instances get it in the order they asked: a standby
 * that has waited all along comes before a fenced active that starts
 * again and asks later.  The wait has no statement_timeout; the session's
 * own end (server gone, keepalives) wakes it.
 * 1: we hold the lock, 0: told to stop, -1: the session failed. */
static int queue_for_lock(struct lease *l, PGconn *conn, char *err, size_t errlen)
{
    char sql[96];
    if (!exec_ok(conn, "SET statement_timeout = 0")) {
        store_pq_error(err, errlen, conn, NULL, "cannot lift the lock wait's timeout");
        return -1;
    }
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%" PRId64 ")", l->key);
    if (!PQsendQuery(conn, sql) || PQflush(conn) != 0) {
        store_pq_error(err, errlen, conn, NULL, "cannot ask for the lock");
        return -1;
    }
    while (PQisBusy(conn)) {
        int rc = wait_readable(l, PQsocket(conn), UINT64_MAX);
        if (rc == 0) { /* told to stop */
            cancel_query(conn);
            return 0;
        }
        if (rc < 0) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return -1;
        }
        if (!consume(conn)) {
            store_pq_error(err, errlen, conn, NULL, NULL);
            return -1;
        }
    }
    bool granted = false, failed = false;
    PGresult *res;
    while ((res = PQgetResult(conn))) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            granted = true;
        else if (!failed) {
            store_pq_error(err, errlen, conn, res, NULL);
            failed = true;
        }
        PQclear(res);
    }
    if (!failed && !granted)
        snprintf(err, errlen, "no answer to the lock request");
    if (failed || !granted)
        return -1;
    snprintf(sql, sizeof sql, "SET statement_timeout = %u", l->lease_ms);
    if (!exec_ok(conn, sql)) {
        store_pq_error(err, errlen, conn, NULL, "cannot set the heartbeat's timeout");
        return -1;
    }
    return 1;
}

/* One heartbeat: SELECT 1 answered before sent + lease_ms.  On success
 * the lease is valid until sent + lease_ms. */
static bool heartbeat(struct lease *l, PGconn *conn, char *err, size_t errlen)
{
    uint64_t sent = mono_ms(), deadline = sent + l->lease_ms;
    if (!PQsendQuery(conn, "SELECT 1") || PQflush(conn) < 0) {
        store_pq_error(err, errlen, conn, NULL, "cannot send a heartbeat");
        return false;
    }
    while (PQisBusy(conn)) {
        int rc = wait_readable(l, PQsocket(conn), deadline);
        if (rc <= 0 || !consume(conn)) {
            if (atomic_load(&l->stop))
                snprintf(err, errlen, "stopping");
            else if (rc == 0)
                snprintf(err, errlen, "no answer within %u ms", l->lease_ms);
            else
                store_pq_error(err, errlen, conn, NULL, NULL);
            return false;
        }
    }
    bool ok = false;
    PGresult *res;
    while ((res = PQgetResult(conn))) {
        ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok)
            store_pq_error(err, errlen, conn, res, NULL);
        PQclear(res);
    }
    if (ok && PQstatus(conn) == CONNECTION_OK) {
        atomic_store(&l->valid_until, sent + l->lease_ms);
        return true;
    }
    if (!err[0])
        store_pq_error(err, errlen, conn, NULL, NULL);
    return false;
}

/* Holds the lock until the session fails (or we stop).  Between
 * heartbeats it watches the socket: a terminated session says so at once. */
static void hold(struct lease *l, PGconn *conn, uint64_t asked_at)
{
    char err[512] = "";
    atomic_store(&l->valid_until, asked_at + l->lease_ms);
    atomic_store(&l->state, LEASE_HELD);
    notify(l);
    if (PQsetnonblocking(conn, 1) < 0) {
        snprintf(err, sizeof err, "cannot make the lock session non-blocking");
        goto lost;
    }
    for (;;) {
        uint64_t next = mono_ms() + l->heartbeat_ms;
        int rc;
        while ((rc = wait_readable(l, PQsocket(conn), next)) == 1)
            if (!consume(conn)) {
                store_pq_error(err, sizeof err, conn, NULL, NULL);
                goto lost;
            }
        if (atomic_load(&l->stop))
            return; /* an orderly stop: closing the session frees the lock */
        if (rc < 0) {
            snprintf(err, sizeof err, "poll: %s", strerror(errno));
            goto lost;
        }
        err[0] = '\0';
        if (!heartbeat(l, conn, err, sizeof err)) {
            if (atomic_load(&l->stop))
                return;
            goto lost;
        }
    }
lost:
    if (!err[0])
        snprintf(err, sizeof err, "connection lost");
    utf8_snprintf(l->why, sizeof l->why, "the lock session failed: %.*s",
                  utf8_prec(err, 200), err);
    atomic_store(&l->valid_until, 0);
    atomic_store(&l->state, LEASE_LOST);
    notify(l);
}

static void *lease_main(void *arg)
{
    struct lease *l = arg;
    char err[512], last[512] = "";
    uint64_t last_at = 0;

    while (!atomic_load(&l->stop)) {
        PGconn *conn = lease_connect(l, err, sizeof err);
        int got = -1;
        if (conn) {
            log_info(LOG, "lock session open (backend pid %d): waiting for "
                     "lock %" PRId64, PQbackendPID(conn), l->key);
            last[0] = '\0';
            got = queue_for_lock(l, conn, err, sizeof err);
            /* The answer came when the lock was granted, which may be long
             * after we asked: validity counts from a fresh round trip. */
            uint64_t asked = mono_ms();
            if (got == 1 && !heartbeat(l, conn, err, sizeof err))
                got = -1;
            if (got == 1) {
                hold(l, conn, asked);
                atomic_store(&l->backend_pid, 0);
                PQfinish(conn);
                return NULL; /* held once: never again in this process */
            }
            atomic_store(&l->backend_pid, 0);
            PQfinish(conn);
        }
        if (atomic_load(&l->stop))
            break;
        uint64_t now = mono_ms();
        if (strcmp(err, last) != 0 || now >= last_at + RELOG_MS) {
            log_warn(LOG, "lock session: %s (retrying every %u ms)", err,
                     l->poll_ms);
            snprintf(last, sizeof last, "%s", err);
            last_at = now;
        }
        nap(l, l->poll_ms);
    }
    return NULL;
}

/* ---- XMPP thread ---------------------------------------------------------------- */

static void on_event(void *ud, int fd, uint32_t events)
{
    struct lease *l = ud;
    uint64_t n;
    (void)events;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd read failed: %s", strerror(errno));
    int s = atomic_load(&l->state);
    /* HELD is told before LOST even if both happened since the last look. */
    if (s >= LEASE_HELD && l->told < LEASE_HELD) {
        l->told = LEASE_HELD;
        if (l->events.acquired)
            l->events.acquired(l->events.ud);
    }
    if (s == LEASE_LOST && l->told < LEASE_LOST) {
        l->told = LEASE_LOST;
        if (l->events.lost)
            l->events.lost(l->events.ud, l->why);
    }
}

struct lease *lease_new(struct loop *loop, const struct lease_config *cfg,
                        const struct lease_events *events)
{
    struct lease *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->loop = loop;
    l->evfd = -1;
    l->conninfo = strdup(cfg->conninfo);
    l->connect_timeout_s = cfg->connect_timeout_s;
    l->key = cfg->key;
    l->lease_ms = cfg->lease_ms;
    l->poll_ms = cfg->poll_ms;
    l->heartbeat_ms = cfg->lease_ms / 4;
    l->events = *events;
    atomic_init(&l->state, LEASE_IDLE);
    if (!l->conninfo)
        goto fail;
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->evfd < 0 || loop_io_add(loop, l->evfd, EPOLLIN, on_event, l) < 0)
        goto fail;
    return l;
fail:
    lease_free(l);
    return NULL;
}

int lease_start(struct lease *l)
{
    atomic_store(&l->state, LEASE_WAITING);
    if (pthread_create(&l->thread, NULL, lease_main, l) != 0) {
        log_error(LOG, "cannot start the lock thread");
        return -1;
    }
    l->running = true;
    return 0;
}

void lease_free(struct lease *l)
{
    if (!l)
        return;
    if (l->running) {
        atomic_store(&l->stop, true);
        pthread_join(l->thread, NULL);
    }
    if (l->evfd >= 0) {
        loop_io_remove(l->loop, l->evfd);
        close(l->evfd);
    }
    free(l->conninfo);
    free(l);
}

enum lease_state lease_state(const struct lease *l)
{
    return (enum lease_state)atomic_load(&l->state);
}

bool lease_valid(const struct lease *l)
{
    return atomic_load(&l->state) == LEASE_HELD &&
           mono_ms() < atomic_load(&l->valid_until);
}

int lease_backend_pid(const struct lease *l)
{
    return atomic_load(&l->backend_pid);
}
