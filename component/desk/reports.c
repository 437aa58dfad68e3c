/* Statistics, ticket search, erasure on request (see reports.h). */
#include "build-config.h"

#include "desk/reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"
#include "desk/directory.h"
#include "desk/text.h"
#include "xmpp/stamp.h"

#define TS_PARAM(n) "('epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond')"

/* ---- arithmetic ------------------------------------------------------------------ */

static long add_live(long a, long b)
{
    return a < 0 || b < 0 ? -1 : a + b;
}

void desk_stats_add(struct desk_stats *t, const struct desk_stats *s)
{
    t->waiting = add_live(t->waiting, s->waiting);
    t->active = add_live(t->active, s->active);
    t->online = add_live(t->online, s->online);
    t->available = add_live(t->available, s->available);
    t->chats += s->chats;
    t->answered += s->answered;
    t->abandoned += s->abandoned;
    t->handled += s->handled;
    t->rated += s->rated;
    t->wait_sum_s += s->wait_sum_s;
    t->handle_sum_s += s->handle_sum_s;
    t->rating_sum += s->rating_sum;
}

double desk_stats_avg_wait(const struct desk_stats *s)
{
    return s->answered > 0 ? s->wait_sum_s / (double)s->answered : -1;
}

double desk_stats_avg_handle(const struct desk_stats *s)
{
    return s->handled > 0 ? s->handle_sum_s / (double)s->handled : -1;
}

double desk_stats_abandon_rate(const struct desk_stats *s)
{
    long n = s->answered + s->abandoned;
    return n > 0 ? (double)s->abandoned / (double)n : -1;
}

double desk_stats_rating(const struct desk_stats *s)
{
    return s->rated > 0 ? (double)s->rating_sum / (double)s->rated : -1;
}

void desk_stats_figure(double value, int decimals, double scale, char *out,
                       size_t size)
{
    if (value < 0) {
        snprintf(out, size, "-");
        return;
    }
    /* Rounded half away from zero, whatever the C library's printf does
     * with binary halves (12.5 stays "12.5", 0.125 -> "0.13"). */
    double f = 1;
    for (int i = 0; i < decimals; i++)
        f *= 10;
    double v = (double)(long long)(value * scale * f + 0.5 + 1e-9) / f;
    snprintf(out, size, "%.*f", decimals, v);
}

static void live_text(struct buf *out, size_t start, const char *label,
                      long v)
{
    if (v >= 0)
        buf_printf(out, "%s %ld %s", out->len > start ? "," : "", v, label);
}

void desk_stats_text(const struct desk_stats *s, struct buf *out)
{
    char wait[32], handle[32], rate[32], rating[32];
    desk_stats_figure(desk_stats_avg_wait(s), 0, 1, wait, sizeof wait);
    desk_stats_figure(desk_stats_avg_handle(s), 0, 1, handle, sizeof handle);
    desk_stats_figure(desk_stats_abandon_rate(s), 1, 100, rate, sizeof rate);
    desk_stats_figure(desk_stats_rating(s), 2, 1, rating, sizeof rating);
    buf_printf(out, "%s:", s->queue[0] ? s->queue : "all queues");
    size_t before = out->len;
    live_text(out, before, "waiting", s->waiting);
    live_text(out, before, "active", s->active);
    live_text(out, before, "agent(s) online", s->online);
    live_text(out, before, "available", s->available);
    buf_printf(out, "%s %ld chat(s), %ld answered, %ld abandoned (%s%s), "
                    "average wait %s%s, average handle time %s%s, rating %s "
                    "(%ld)",
               out->len > before ? ";" : "", s->chats, s->answered,
               s->abandoned, rate, rate[0] == '-' ? "" : "%", wait,
               wait[0] == '-' ? "" : " s", handle, handle[0] == '-' ? "" : " s",
               rating, s->rated);
}

/* ---- dates --------------------------------------------------------------------- */

int desk_parse_when(const char *text, int64_t *us)
{
    int y, m, d;
    char tail;
    if (strlen(text) == 10 &&
        sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
        if (m < 1 || m > 12 || d < 1 || d > 31)
            return -1;
        *us = tz_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 *
              INT64_C(1000000);
        return 0;
    }
    return stamp_parse(text, us);
}

/* ---- SQL helpers ------------------------------------------------------------------ */

static char *dup_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
                                      : strdup(PQgetvalue(res, row, col));
}

/* A text[] literal of queue names (they hold no quotes, commas, braces or
 * blanks: directory.c refuses them), or NULL for "all". */
static char *queue_array(const char *const *queues, size_t n)
{
    if (!queues)
        return NULL;
    struct buf b = BUF_INIT;
    buf_append_char(&b, '{');
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s\"%s\"", i ? "," : "", queues[i]);
    buf_append_char(&b, '}');
    return buf_steal(&b);
}

int desk_db_stats(PGconn *conn, int64_t from_us, int64_t to_us,
                  const char *const *queues, size_t queue_count,
                  struct desk_stats **out, size_t *count, char *err,
                  size_t errlen)
{
    char from[24], to[24];
    snprintf(from, sizeof from, "%lld", (long long)from_us);
    snprintf(to, sizeof to, "%lld", (long long)to_us);
    char *arr = queue_array(queues, queue_count);
    const char *p[] = {from_us ? from : NULL, to_us ? to : NULL, arr};
    PGresult *res = PQexecParams(
        conn,
        "SELECT queue, count(*), count(accepted_at),"
        " count(*) FILTER (WHERE accepted_at IS NULL AND ended_at IS NOT NULL"
        "  AND room IS NOT NULL),"
        " coalesce(sum(extract(epoch from accepted_at - created_at))"
        "  FILTER (WHERE accepted_at IS NOT NULL), 0),"
        " count(*) FILTER (WHERE accepted_at IS NOT NULL AND ended_at IS NOT"
        "  NULL),"
        " coalesce(sum(chat_seconds) FILTER (WHERE accepted_at IS NOT NULL"
        "  AND ended_at IS NOT NULL), 0),"
        " count(rating), coalesce(sum(rating), 0)"
        " FROM tickets WHERE ($1::bigint IS NULL OR created_at >= " TS_PARAM(1)
        ") AND ($2::bigint IS NULL OR created_at < " TS_PARAM(2) ")"
        " AND ($3::text[] IS NULL OR queue = ANY ($3::text[]))"
        " GROUP BY queue ORDER BY queue",
        3, NULL, p, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    *count = 0;
    int n;
    *out = desk_db_rows(res, sizeof **out, &n, err, errlen);
    if (!*out)
        return DESK_DB_FAILED;
    for (int i = 0; i < n; i++) {
        struct desk_stats *s = &(*out)[i];
        snprintf(s->queue, sizeof s->queue, "%s", PQgetvalue(res, i, 0));
        s->waiting = s->active = s->online = s->available = -1;
        s->chats = atol(PQgetvalue(res, i, 1));
        s->answered = atol(PQgetvalue(res, i, 2));
        s->abandoned = atol(PQgetvalue(res, i, 3));
        s->wait_sum_s = strtod(PQgetvalue(res, i, 4), NULL);
        s->handled = atol(PQgetvalue(res, i, 5));
        s->handle_sum_s = strtod(PQgetvalue(res, i, 6), NULL);
        s->rated = atol(PQgetvalue(res, i, 7));
        s->rating_sum = atol(PQgetvalue(res, i, 8));
        (*count)++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

/* ---- search ---------------------------------------------------------------------- */

void desk_found_read(const PGresult *res, int row, struct desk_found *f)
{
    f->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    f->queue = dup_or_null(res, row, 1);
    f->status = dup_or_null(res, row, 2);
    f->subject = dup_or_null(res, row, 3);
    f->customer_name = dup_or_null(res, row, 4);
    f->customer_email = dup_or_null(res, row, 5);
    f->owner_jid = dup_or_null(res, row, 6);
    f->created_us = strtoll(PQgetvalue(res, row, 7), NULL, 10);
}

void desk_found_free(struct desk_found *list, size_t count)
{
    for (size_t i = 0; list && i < count; i++) {
        free(list[i].queue);
        free(list[i].status);
        free(list[i].subject);
        free(list[i].customer_name);
        free(list[i].customer_email);
        free(list[i].owner_jid);
    }
    free(list);
}

/* ILIKE '%' || escaped($n) || '%' */
#define CONTAINS(n)                                                            \
    "('%' || replace(replace(replace($" #n ", '\\', '\\\\'), '%', '\\%'),"      \
    " '_', '\\_') || '%')"

int desk_db_ticket_search(PGconn *conn, const struct desk_search *q,
                          struct desk_found **out, size_t *count, char *err,
                          size_t errlen)
{
    char from[24], to[24], lim[16];
    snprintf(from, sizeof from, "%lld", (long long)q->from_us);
    snprintf(to, sizeof to, "%lld", (long long)q->to_us);
    snprintf(lim, sizeof lim, "%d", q->limit > 0 ? q->limit : 50);
    char *arr = queue_array(q->queues, q->queue_count);
#define OPT(s) ((s) && *(s) ? (s) : NULL)
    const char *p[] = {OPT(q->customer), OPT(q->status), OPT(q->queue),
                       OPT(q->agent), q->from_us ? from : NULL,
                       q->to_us ? to : NULL, OPT(q->text), arr, lim};
#undef OPT
    PGresult *res = PQexecParams(
        conn,
        "SELECT t.id, t.queue, t.status, t.subject, t.customer_name,"
        " t.customer_email, t.owner_jid,"
        " (extract(epoch from t.created_at) * 1000000)::bigint"
        " FROM tickets t WHERE"
        " ($1::text IS NULL OR t.customer_name ILIKE " CONTAINS(1)
        "  OR t.customer_email ILIKE " CONTAINS(1)
        "  OR t.customer_jid ILIKE " CONTAINS(1) ")"
        " AND ($2::text IS NULL OR t.status = upper($2))"
        " AND ($3::text IS NULL OR t.queue = $3)"
        " AND ($4::text IS NULL OR t.owner_jid = $4)"
        " AND ($5::bigint IS NULL OR t.created_at >= " TS_PARAM(5) ")"
        " AND ($6::bigint IS NULL OR t.created_at < " TS_PARAM(6) ")"
        " AND ($7::text IS NULL OR t.subject ILIKE " CONTAINS(7)
        "  OR EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id"
        "  AND e.body ILIKE " CONTAINS(7) "))"
        " AND ($8::text[] IS NULL OR t.queue = ANY ($8::text[]))"
        " ORDER BY t.id DESC LIMIT $9::integer",
        9, NULL, p, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    *count = 0;
    int n;
    *out = desk_db_rows(res, sizeof **out, &n, err, errlen);
    if (!*out)
        return DESK_DB_FAILED;
    for (int i = 0; i < n; i++) {
        desk_found_read(res, i, &(*out)[i]);
        (*count)++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

/* ---- erasure on request -------------------------------------------------------------- */

static int exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return desk_db_error(conn, res, err, errlen);
    PQclear(res);
    return DESK_DB_OK;
}

int desk_db_purge_customer(PGconn *conn, const char *who, const char *actor,
                           int settle_s, long *erased, long *open, char *err,
                           size_t errlen)
{
    *erased = *open = 0;
    int rc = exec_ok(conn, "BEGIN", err, errlen);
    if (rc < 0)
        return rc;
    char settle[16];
    snprintf(settle, sizeof settle, "%d", settle_s);
    const char *p[] = {who, actor, settle};
    /* Live chats (not ended, with a room) are left alone: the daemon still
     * writes them; so are chats that ended within the settle time. */
    PGresult *res = PQexecParams(
        conn,
        "WITH mine AS (SELECT id, (ended_at IS NULL AND room IS NOT NULL) OR"
        "  coalesce(ended_at > now() - make_interval(secs => $3::integer),"
        "  false) AS live FROM tickets WHERE customer_jid = $1"
        "  OR lower(customer_email) = lower($1) FOR UPDATE),"
        " gone AS (SELECT coalesce(array_agg(id ORDER BY id) FILTER"
        "  (WHERE NOT live), '{}') AS ids, count(*) FILTER (WHERE live) AS"
        "  open FROM mine),"
        " erased AS (SELECT mucdesk_erase_personal_data(ids, true) AS n,"
        "  ids, open FROM gone)"
        " INSERT INTO audit_events (actor, action, detail)"
        " SELECT $2, 'purge-customer', jsonb_build_object("
        "  'customer_sha256', encode(sha256(convert_to(lower($1), 'UTF8')),"
        "  'hex'), 'tickets', to_jsonb(ids), 'erased', n, 'left_open', open)"
        " FROM erased RETURNING (detail->>'erased')::bigint,"
        " (detail->>'left_open')::bigint",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = desk_db_error(conn, res, err, errlen);
        PQclear(PQexec(conn, "ROLLBACK"));
        return rc < 0 ? rc : DESK_DB_FAILED;
    }
    *erased = atol(PQgetvalue(res, 0, 0));
    *open = atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    rc = exec_ok(conn, "COMMIT", err, errlen);
    if (rc < 0)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}
