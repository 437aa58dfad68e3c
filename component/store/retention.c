/* Retention: closed tickets' events and customers' personal data are
 * deleted after a configured number of days, in small batches on the DB
 * thread, only while shipping is idle (the archive always comes first). */
#include "build-config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/archive_impl.h"
#include "store/pq.h"

#define LOG "retention"

/* First run shortly after start-up; while a run finds full batches, the
 * next one follows after MORE_MS; when shipping is busy, BUSY_MS. */
#define FIRST_MS 30000
#define MORE_MS 200
#define BUSY_MS 10000

struct retention_op {
    struct store_op op;
    struct archive *a;
    int events_days, personal_days;
    unsigned batch;
    long events_deleted;
    long tickets_erased;
};

static const char delete_events_sql[] =
    "DELETE FROM ticket_events WHERE id IN ("
    " SELECT e.id FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id"
    " WHERE t.status = 'RESOLVED'"
    "  AND t.ended_at < now() - make_interval(days => $1::integer)"
    " LIMIT $2::integer)";

/* The customer's JID, name, e-mail, token, comment and pre-chat details on
 * the ticket, and their JID and nick on the ticket's events: the SQL
 * function of sql/005_commands.sql, which purge-customer uses too. */
static const char erase_personal_sql[] =
    "SELECT mucdesk_erase_personal_data(array("
    " SELECT id FROM tickets"
    " WHERE status = 'RESOLVED' AND personal_data_erased_at IS NULL"
    "  AND ended_at < now() - make_interval(days => $1::integer)"
    " ORDER BY id LIMIT $2::integer FOR UPDATE SKIP LOCKED), false)";

static long run_batch(struct store_op *op, PGconn *conn, const char *sql,
                      int days, unsigned batch)
{
    char d[16], n[16];
    snprintf(d, sizeof d, "%d", days);
    snprintf(n, sizeof n, "%u", batch);
    const char *v[2] = {d, n};
    PGresult *res = PQexecParams(conn, sql, 2, NULL, v, NULL, NULL, 0);
    long count = -1;
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        count = atol(PQcmdTuples(res));
    } else if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        count = atol(PQgetvalue(res, 0, 0)); /* a function's count */
    } else {
        store_pq_error(op->error, sizeof op->error, conn, res, NULL);
    }
    PQclear(res);
    return count;
}

static enum store_run_result retention_run(struct store_op *op, PGconn *conn)
{
    struct retention_op *ro = (struct retention_op *)op;
    if (ro->events_days > 0) {
        ro->events_deleted = run_batch(op, conn, delete_events_sql,
                                       ro->events_days, ro->batch);
        if (ro->events_deleted < 0)
            goto fail;
    }
    if (ro->personal_days > 0) {
        ro->tickets_erased = run_batch(op, conn, erase_personal_sql,
                                       ro->personal_days, ro->batch);
        if (ro->tickets_erased < 0)
            goto fail;
    }
    return STORE_RUN_DONE;
fail:
    if (store_connection_lost(conn))
        return STORE_RUN_RETRY;
    op->failed = true;
    return STORE_RUN_DONE;
}

static void retention_tick(void *ud);

static void schedule(struct archive *a, uint64_t ms)
{
    if (a->stopped || a->retention_timer)
        return;
    a->retention_timer = loop_timer_add(a->loop, ms, retention_tick, a, NULL);
}

static void retention_done(struct store_op *op)
{
    struct retention_op *ro = (struct retention_op *)op;
    struct archive *a = ro->a;
    a->retention_in_flight = false;
    bool more = false;
    if (op->failed) {
        log_warn(LOG, "retention batch failed (will try again): %s", op->error);
    } else {
        if (ro->events_deleted > 0 || ro->tickets_erased > 0)
            log_info(LOG, "deleted %ld event(s) of closed tickets, erased the "
                     "personal data of %ld ticket(s)", ro->events_deleted,
                     ro->tickets_erased);
        more = ro->events_deleted >= (long)ro->batch ||
               ro->tickets_erased >= (long)ro->batch;
    }
    free(op);
    schedule(a, more ? MORE_MS : (uint64_t)a->retention_interval_s * 1000u);
}

static void retention_tick(void *ud)
{
    struct archive *a = ud;
    a->retention_timer = NULL;
    if (a->stopped)
        return;
    /* Low priority: only when the archive is caught up. */
    if (a->ship_in_flight || a->tail.count > 1000 || !store_connected(a->store)) {
        schedule(a, BUSY_MS);
        return;
    }
    struct retention_op *ro = calloc(1, sizeof *ro);
    if (!ro) {
        schedule(a, BUSY_MS);
        return;
    }
    ro->op.run = retention_run;
    ro->op.done = retention_done;
    ro->a = a;
    ro->events_days = a->retention_events_days;
    ro->personal_days = a->retention_personal_days;
    ro->batch = a->retention_batch;
    a->retention_in_flight = true;
    store_submit(a->store, &ro->op);
}

void retention_start(struct archive *a)
{
    if (a->retention_events_days <= 0 && a->retention_personal_days <= 0)
        return;
    log_info(LOG, "closed tickets' events kept %d day(s), personal data %d "
             "day(s) (0: forever)", a->retention_events_days,
             a->retention_personal_days);
    uint64_t first = (uint64_t)a->retention_interval_s * 1000u;
    schedule(a, first < FIRST_MS ? first : FIRST_MS);
}

void retention_stop(struct archive *a)
{
    if (a->retention_timer) {
        loop_timer_cancel(a->loop, a->retention_timer);
        a->retention_timer = NULL;
    }
}
