#include "build-config.h"

#include "webhook/outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pq.h"

/* The oldest pending event of each (endpoint, ticket): later ones wait for
 * it, which is what keeps a ticket's events in order.  Used by both
 * questions below, so that "due" and "when next" agree. */
#define HEADS                                                               \
    "(SELECT DISTINCT ON (o.endpoint_id, o.ticket_id) o.*"                  \
    "   FROM webhook_outbox o"                                              \
    "  WHERE o.state = 'pending'"                                           \
    "    AND o.endpoint_id IN (SELECT id FROM webhook_endpoints"            \
    "                           WHERE NOT paused)"                          \
    "  ORDER BY o.endpoint_id, o.ticket_id, o.id) h"                        \
    " JOIN webhook_endpoints e ON e.id = h.endpoint_id"

static int failed(char *err, size_t errlen, PGconn *conn, PGresult *res,
                  const char *what)
{
    store_pq_error(err, errlen, conn, res, what);
    PQclear(res);
    return -1;
}

int outbox_due_read(PGconn *conn, int limit, struct outbox_due *out,
                    char *err, size_t errlen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {lim};
    PGresult *res = PQexecParams(
        conn,
        "SELECT h.id, h.delivery_id, h.event,"
        "       to_char(h.created_at AT TIME ZONE 'UTC',"
        "               'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
        "       h.data::text, h.attempts, e.id, e.url, e.secret"
        "  FROM " HEADS
        " WHERE e.retry_at <= now() AND h.next_attempt_at <= now()"
        " ORDER BY h.id LIMIT $1::integer",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return failed(err, errlen, conn, res, "reading due webhook events");
    out->res = res;
    out->count = PQntuples(res);
    return 0;
}

void outbox_due_get(const struct outbox_due *due, int i, struct outbox_event *ev)
{
    PGresult *r = due->res;
    ev->row.sequence = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    ev->row.delivery_id = PQgetvalue(r, i, 1);
    ev->row.type = PQgetvalue(r, i, 2);
    ev->row.created_at = PQgetvalue(r, i, 3);
    ev->row.data = PQgetvalue(r, i, 4);
    ev->attempts = atoi(PQgetvalue(r, i, 5));
    ev->endpoint = atoi(PQgetvalue(r, i, 6));
    ev->url = PQgetvalue(r, i, 7);
    ev->secret = PQgetvalue(r, i, 8);
}

void outbox_due_clear(struct outbox_due *due)
{
    PQclear(due->res);
    due->res = NULL;
    due->count = 0;
}

/* A statement that returns nothing the caller needs. */
static int run(PGconn *conn, const char *sql, int n, const char *const *params,
               ExecStatusType want, PGresult **keep, char *err, size_t errlen,
               const char *what)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != want)
        return failed(err, errlen, conn, res, what);
    if (keep)
        *keep = res;
    else
        PQclear(res);
    return 0;
}

int outbox_delivered(PGconn *conn, int64_t id, long status, char *err,
                     size_t errlen)
{
    char sid[24], sst[16];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(sst, sizeof sst, "%ld", status);
    const char *params[] = {sid, sst};
    return run(conn,
               "WITH o AS (UPDATE webhook_outbox"
               "              SET state = 'delivered', attempts = attempts + 1,"
               "                  last_status = $2::integer, last_error = NULL,"
               "                  delivered_at = now()"
               "            WHERE id = $1::bigint RETURNING endpoint_id)"
               " UPDATE webhook_endpoints"
               "    SET failures = 0, retry_at = '-infinity',"
               "        last_attempt_at = now(), last_success_at = now(),"
               "        last_error = NULL"
               "  WHERE id = (SELECT endpoint_id FROM o)",
               2, params, PGRES_COMMAND_OK, NULL, err, errlen,
               "recording a delivered webhook event");
}

int outbox_failed(PGconn *conn, int64_t id, long status, const char *error,
                  bool receiver_down, const struct outbox_backoff *b,
                  bool *dead, char *err, size_t errlen)
{
    char sid[24], sst[16], smin[16], smax[16], satt[16];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(sst, sizeof sst, "%ld", status);
    snprintf(smin, sizeof smin, "%d", b->min_s);
    snprintf(smax, sizeof smax, "%d", b->max_s);
    snprintf(satt, sizeof satt, "%d", b->max_attempts);
    const char *params[] = {sid, status > 0 ? sst : NULL, error,
                            receiver_down ? "t" : "f", smin, smax, satt};
    /* The waits: min * 2^(n-1) seconds, at most max, n counting the
     * endpoint's failures in a row (receiver down) or this event's
     * refusals.  Only refusals count toward max_attempts: a receiver
     * that is down, however long, gets every event once it is back. */
    PGresult *res = NULL;
    if (run(conn,
            "WITH o AS ("
            " UPDATE webhook_outbox"
            "    SET attempts = attempts + 1, last_status = $2::integer,"
            "        last_error = $3,"
            "        refusals = refusals + CASE WHEN $4::boolean THEN 0 ELSE 1 END,"
            "        state = CASE WHEN NOT $4::boolean"
            "                      AND refusals + 1 >= $7::integer"
            "                     THEN 'dead' ELSE 'pending' END,"
            "        next_attempt_at = CASE WHEN $4::boolean THEN next_attempt_at"
            "            ELSE now() + make_interval(secs => least($6::float8,"
            "                 $5::float8 * power(2, least(refusals, 30))))"
            "            END"
            "  WHERE id = $1::bigint RETURNING endpoint_id, state),"
            " e AS ("
            " UPDATE webhook_endpoints w"
            "    SET failures = CASE WHEN $4::boolean THEN failures + 1"
            "                        ELSE failures END,"
            "        retry_at = CASE WHEN $4::boolean"
            "            THEN now() + make_interval(secs => least($6::float8,"
            "                 $5::float8 * power(2, least(failures, 30))))"
            "            ELSE retry_at END,"
            "        last_attempt_at = now(), last_error = $3"
            "   FROM o WHERE w.id = o.endpoint_id)"
            " SELECT state FROM o",
            7, params, PGRES_TUPLES_OK, &res, err, errlen,
            "recording a failed webhook attempt") < 0)
        return -1;
    *dead = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "dead") == 0;
    PQclear(res);
    return 0;
}

int outbox_next_due_ms(PGconn *conn, long *ms, char *err, size_t errlen)
{
    PGresult *res = NULL;
    /* greatest(..., clock_timestamp()): never an infinite timestamp in
     * the subtraction. */
    if (run(conn,
            "SELECT ceil(extract(epoch FROM"
            "       min(greatest(h.next_attempt_at, e.retry_at, clock_timestamp()))"
            "       - clock_timestamp()) * 1000)::bigint"
            "  FROM " HEADS,
            0, NULL, PGRES_TUPLES_OK, &res, err, errlen,
            "reading when the next webhook event is due") < 0)
        return -1;
    *ms = PQgetisnull(res, 0, 0) ? -1 : atol(PQgetvalue(res, 0, 0));
    if (*ms < -1)
        *ms = 0;
    PQclear(res);
    return 0;
}

int outbox_count(PGconn *conn, struct outbox_counts *out, char *err,
                 size_t errlen)
{
    PGresult *res = NULL;
    if (run(conn,
            "SELECT (SELECT count(*) FROM webhook_outbox WHERE state = 'pending'),"
            "       (SELECT count(*) FROM webhook_outbox WHERE state = 'dead'),"
            "       (SELECT coalesce(floor(extract(epoch FROM now() - min(created_at))),"
            "                        0)::bigint"
            "          FROM webhook_outbox WHERE state = 'pending')",
            0, NULL, PGRES_TUPLES_OK, &res, err, errlen,
            "counting webhook events") < 0)
        return -1;
    out->pending = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    out->dead = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    long long oldest = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->oldest_pending_s = oldest > 0 ? (uint64_t)oldest : 0;
    PQclear(res);
    return 0;
}

int outbox_expire(PGconn *conn, int keep_days, long *deleted, char *err,
                  size_t errlen)
{
    *deleted = 0;
    if (keep_days <= 0)
        return 0;
    char days[16];
    snprintf(days, sizeof days, "%d", keep_days);
    const char *params[] = {days};
    PGresult *res = NULL;
    if (run(conn,
            "DELETE FROM webhook_outbox WHERE state = 'delivered'"
            "   AND delivered_at < now() - make_interval(days => $1::integer)",
            1, params, PGRES_COMMAND_OK, &res, err, errlen,
            "deleting delivered webhook events") < 0)
        return -1;
    *deleted = atol(PQcmdTuples(res));
    PQclear(res);
    return 0;
}
