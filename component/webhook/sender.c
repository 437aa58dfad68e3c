/* The sender's thread (see sender.h for the contract): connect, take the
 * sender lock, LISTEN; then rounds of "send what is due", sleeping until
 * the next retry is due or a NOTIFY says there is something new. */
#include "build-config.h"

#include "webhook/sender.h"

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

#include <curl/curl.h>

#include "core/log.h"
#include "core/metrics.h"
#include "store/pq.h"
#include "webhook/outbox.h"
#include "webhook/payload.h"
#include "webhook/post.h"

#define LOG "webhook"

/* Events taken per round (each is one POST). */
#define ROUND_EVENTS 64
/* The longest sleep between rounds: a retry time written by someone else
 * (webhook-resume, webhook-replay) is noticed this soon without a NOTIFY. */
#define IDLE_MS 5000
/* A session that cannot get the sender lock asks again this often. */
#define LOCK_RETRY_MS 10000
#define COUNT_EVERY_MS 2000
#define EXPIRE_EVERY_MS (3600u * 1000u)
/* A failing database is logged once, then every this often. */
#define RELOG_MS 30000

struct webhook_sender {
    struct webhook_sender_config cfg;  /* conninfo: our copy */
    struct outbox_backoff backoff;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    int wake_fd;                       /* eventfd: stop() wakes the thread */

    /* The thread's own. */
    PGconn *conn;
    bool locked;
    struct webhook_http *http;
    uint64_t counted_ms, expired_ms, db_logged_ms;

    /* Read by the metrics (any thread). */
    _Atomic uint64_t delivered, refused, receiver_down, dead_letters;
    _Atomic uint64_t pending, dead, oldest_pending_s;
    atomic_bool up;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits up to ms for the database socket (fd >= 0) or a stop.  True if
 * the socket is readable. */
static bool wait_for(struct webhook_sender *s, int fd, long ms)
{
    struct pollfd p[2] = {{.fd = s->wake_fd, .events = POLLIN},
                          {.fd = fd, .events = POLLIN}};
    int rc = poll(p, fd >= 0 ? 2 : 1, (int)ms);
    return rc > 0 && fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR));
}

static void db_trouble(struct webhook_sender *s, const char *err)
{
    uint64_t now = mono_ms();
    if (!s->db_logged_ms || now - s->db_logged_ms >= RELOG_MS) {
        log_warn(LOG, "webhook sender: %s (retrying)", err);
        s->db_logged_ms = now;
    }
}

static void disconnect(struct webhook_sender *s)
{
    PQfinish(s->conn);
    s->conn = NULL;
    s->locked = false;
    atomic_store(&s->up, false);
}

static bool exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        store_pq_error(err, errlen, conn, res, NULL);
    PQclear(res);
    return ok;
}

static int connect_db(struct webhook_sender *s, char *err, size_t errlen)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", s->cfg.connect_timeout_s);
    /* After the operator's conninfo, so they win: a session that died
     * silently is noticed (keepalives, tcp_user_timeout) and no statement
     * waits forever, so that stopping never hangs on this thread. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name",
                          "keepalives", "keepalives_idle",
                          "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout", "options", NULL};
    const char *values[] = {s->cfg.conninfo, timeout, "mucdesk-webhooks",
                            "1", "10", "5", "3", "30000",
                            "-c statement_timeout=30000", NULL};
    s->conn = PQconnectdbParams(keys, values, 1);
    if (!s->conn) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        store_pq_error(err, errlen, s->conn, NULL, "cannot connect");
        disconnect(s);
        return -1;
    }
    return 0;
}

/* 1: we hold the sender lock and listen; 0: another session holds it;
 * -1: the session failed. */
static int take_lock(struct webhook_sender *s, char *err, size_t errlen)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, %d)",
             WEBHOOK_LOCK_CLASS, WEBHOOK_LOCK_OBJECT);
    PGresult *res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_pq_error(err, errlen, s->conn, res, "cannot take the sender lock");
        PQclear(res);
        return -1;
    }
    bool held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!held)
        return 0;
    if (!exec_ok(s->conn, "LISTEN mucdesk_webhooks", err, errlen))
        return -1;
    s->locked = true;
    atomic_store(&s->up, true);
    log_info(LOG, "webhook sender: delivering (holds the sender lock on "
             "backend pid %d)", PQbackendPID(s->conn));
    return 0;
}

/* One event: the body, the POST, what became of it.  -1 if the database
 * failed (the event is sent again later: at least once). */
static int deliver(struct webhook_sender *s, const struct outbox_event *ev,
                   bool *receiver_down, char *err, size_t errlen)
{
    struct webhook_result res;
    size_t len = 0;
    char *body = webhook_payload(&ev->row, &len);
    if (!body) {
        /* Never expected (the trigger writes an object): refused, so the
         * event ends as a dead letter rather than blocking its ticket. */
        res = (struct webhook_result){.outcome = WEBHOOK_REFUSED};
        snprintf(res.error, sizeof res.error,
                 "cannot write the event as JSON (out of memory?)");
    } else {
        struct webhook_request req = {
            .url = ev->url, .type = ev->row.type,
            .delivery_id = ev->row.delivery_id, .secret = ev->secret,
            .body = body, .body_len = len};
        webhook_post(s->http, &req, &res);
        free(body);
    }
    if (res.outcome == WEBHOOK_ABORTED)
        return 0;
    if (res.outcome == WEBHOOK_DELIVERED) {
        atomic_fetch_add(&s->delivered, 1);
        return outbox_delivered(s->conn, ev->row.sequence, res.status, err,
                                errlen);
    }
    *receiver_down = res.outcome == WEBHOOK_RECEIVER_DOWN;
    atomic_fetch_add(*receiver_down ? &s->receiver_down : &s->refused, 1);
    bool dead = false;
    if (outbox_failed(s->conn, ev->row.sequence, res.status, res.error,
                      *receiver_down, &s->backoff, &dead, err, errlen) < 0)
        return -1;
    if (dead) {
        atomic_fetch_add(&s->dead_letters, 1);
        log_warn(LOG, "webhook event %" PRId64 " (%s) for endpoint %d is a "
                 "dead letter, refused %d times: %s (webhook-replay sends "
                 "it again)", ev->row.sequence, ev->row.type, ev->endpoint,
                 s->backoff.max_attempts, res.error);
    } else if (ev->attempts == 0) {
        log_info(LOG, "webhook endpoint %d: %s (event %" PRId64 " will be "
                 "sent again)", ev->endpoint, res.error, ev->row.sequence);
    }
    return 0;
}

/* Sends what is due.  *sent: attempts made.  -1 if the database failed. */
static int round_due(struct webhook_sender *s, int *sent, char *err,
                     size_t errlen)
{
    *sent = 0;
    struct outbox_due due;
    if (outbox_due_read(s->conn, ROUND_EVENTS, &due, err, errlen) < 0)
        return -1;
    /* An endpoint that failed as a whole is not asked again this round. */
    int down[ROUND_EVENTS], ndown = 0;
    int rc = 0;
    for (int i = 0; i < due.count && !atomic_load(&s->stop); i++) {
        struct outbox_event ev;
        outbox_due_get(&due, i, &ev);
        bool skip = false;
        for (int j = 0; j < ndown && !skip; j++)
            skip = down[j] == ev.endpoint;
        if (skip)
            continue;
        bool receiver_down = false;
        if ((rc = deliver(s, &ev, &receiver_down, err, errlen)) < 0)
            break;
        (*sent)++;
        if (receiver_down)
            down[ndown++] = ev.endpoint;
    }
    outbox_due_clear(&due);
    return rc;
}

static void housekeeping(struct webhook_sender *s, char *err, size_t errlen)
{
    uint64_t now = mono_ms();
    if (!s->counted_ms || now - s->counted_ms >= COUNT_EVERY_MS) {
        struct outbox_counts c;
        if (outbox_count(s->conn, &c, err, errlen) == 0) {
            atomic_store(&s->pending, c.pending);
            atomic_store(&s->dead, c.dead);
            atomic_store(&s->oldest_pending_s, c.oldest_pending_s);
        }
        s->counted_ms = now;
    }
    if (!s->expired_ms || now - s->expired_ms >= EXPIRE_EVERY_MS) {
        long n = 0;
        if (outbox_expire(s->conn, s->cfg.keep_delivered_days, &n, err,
                          errlen) == 0 && n > 0)
            log_info(LOG, "webhook sender: %ld delivered event(s) older than "
                     "%d days deleted", n, s->cfg.keep_delivered_days);
        s->expired_ms = now;
    }
}

/* Sleeps until the next event is due, a NOTIFY, or IDLE_MS.  -1 if the
 * database failed. */
static int sleep_until_due(struct webhook_sender *s, char *err, size_t errlen)
{
    long ms = -1;
    if (outbox_next_due_ms(s->conn, &ms, err, errlen) < 0)
        return -1;
    if (ms < 0 || ms > IDLE_MS)
        ms = IDLE_MS;
    if (ms == 0)
        return 0;
    if (wait_for(s, PQsocket(s->conn), ms)) {
        if (PQconsumeInput(s->conn) != 1) {
            store_pq_error(err, errlen, s->conn, NULL, "session lost");
            return -1;
        }
        PGnotify *n;
        while ((n = PQnotifies(s->conn)))
            PQfreemem(n);
    }
    return 0;
}

/* After a failure: logged (not every time), the session dropped, a wait
 * that doubles up to 16 s until a round succeeds again. */
static void after_failure(struct webhook_sender *s, const char *err,
                          unsigned *backoff_ms)
{
    db_trouble(s, err);
    disconnect(s);
    wait_for(s, -1, *backoff_ms);
    *backoff_ms = *backoff_ms < 8000 ? *backoff_ms * 2 : 16000;
}

static void *sender_main(void *ud)
{
    struct webhook_sender *s = ud;
    char err[512];
    unsigned backoff_ms = 250;
    while (!atomic_load(&s->stop)) {
        if (!s->conn && connect_db(s, err, sizeof err) < 0) {
            after_failure(s, err, &backoff_ms);
            continue;
        }
        if (!s->locked) {
            if (take_lock(s, err, sizeof err) < 0) {
                after_failure(s, err, &backoff_ms);
                continue;
            }
            if (!s->locked) {
                wait_for(s, -1, LOCK_RETRY_MS);
                continue;
            }
        }
        int sent = 0;
        if (round_due(s, &sent, err, sizeof err) < 0) {
            after_failure(s, err, &backoff_ms);
            continue;
        }
        backoff_ms = 250;
        s->db_logged_ms = 0;
        housekeeping(s, err, sizeof err);
        if (sent == 0 && sleep_until_due(s, err, sizeof err) < 0)
            after_failure(s, err, &backoff_ms);
    }
    disconnect(s);
    return NULL;
}

struct webhook_sender *webhook_sender_new(const struct webhook_sender_config *cfg)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct webhook_sender *s = calloc(1, sizeof *s);
    if (!s) {
        curl_global_cleanup();
        return NULL;
    }
    s->cfg = *cfg;
    s->cfg.conninfo = strdup(cfg->conninfo);
    s->backoff = (struct outbox_backoff){cfg->retry_min_s, cfg->retry_max_s,
                                         cfg->max_attempts};
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->http = webhook_http_new(cfg->timeout_s, &s->stop);
    if (!s->cfg.conninfo || s->wake_fd < 0 || !s->http) {
        webhook_sender_free(s);
        return NULL;
    }
    return s;
}

int webhook_sender_start(struct webhook_sender *s)
{
    if (s->running)
        return 0;
    atomic_store(&s->stop, false);
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        log_error(LOG, "cannot start the webhook sender thread");
        return -1;
    }
    s->running = true;
    return 0;
}

void webhook_sender_stop(struct webhook_sender *s)
{
    if (!s || !s->running)
        return;
    atomic_store(&s->stop, true);
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd write failed: %s", strerror(errno));
    pthread_join(s->thread, NULL);
    s->running = false;
}

void webhook_sender_free(struct webhook_sender *s)
{
    if (!s)
        return;
    webhook_sender_stop(s);
    webhook_http_free(s->http);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free((char *)s->cfg.conninfo);
    free(s);
    curl_global_cleanup();
}

/* ---- metrics ---------------------------------------------------------------- */

static void collect_deliveries(void *ud, struct metrics_out *out)
{
    struct webhook_sender *s = ud;
    struct metrics_label l = {"outcome", "delivered"};
    metrics_sample_u64(out, &l, 1, atomic_load(&s->delivered));
    l.value = "refused";
    metrics_sample_u64(out, &l, 1, atomic_load(&s->refused));
    l.value = "receiver_down";
    metrics_sample_u64(out, &l, 1, atomic_load(&s->receiver_down));
}

#define ATOMIC_FAMILY(fn, field)                                            \
    static void fn(void *ud, struct metrics_out *out)                       \
    {                                                                       \
        struct webhook_sender *s = ud;                                      \
        metrics_sample_u64(out, NULL, 0, (uint64_t)atomic_load(&s->field)); \
    }
ATOMIC_FAMILY(collect_dead_letters, dead_letters)
ATOMIC_FAMILY(collect_pending, pending)
ATOMIC_FAMILY(collect_dead, dead)
ATOMIC_FAMILY(collect_oldest, oldest_pending_s)
ATOMIC_FAMILY(collect_up, up)

int webhook_sender_metrics(struct webhook_sender *s, struct metrics *m)
{
    struct {
        const char *name;
        enum metrics_type type;
        const char *help;
        metrics_collect_fn fn;
    } families[] = {
        {"mucdesk_webhook_attempts_total", METRICS_COUNTER,
         "Webhook POSTs by outcome (delivered, refused by the receiver, "
         "receiver down).", collect_deliveries},
        {"mucdesk_webhook_dead_letters_total", METRICS_COUNTER,
         "Webhook events given up after [webhooks] max_attempts.",
         collect_dead_letters},
        {"mucdesk_webhook_events_pending", METRICS_GAUGE,
         "Webhook events waiting to be delivered (all endpoints).",
         collect_pending},
        {"mucdesk_webhook_events_dead", METRICS_GAUGE,
         "Webhook events in the dead-letter list (webhook-dead).",
         collect_dead},
        {"mucdesk_webhook_oldest_pending_seconds", METRICS_GAUGE,
         "Age of the oldest webhook event not delivered yet.",
         collect_oldest},
        {"mucdesk_webhook_sender_up", METRICS_GAUGE,
         "1 while this process is the one delivering webhooks.", collect_up},
    };
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (metrics_add(m, families[i].name, families[i].type,
                        families[i].help, families[i].fn, s) < 0)
            return -1;
    return 0;
}
