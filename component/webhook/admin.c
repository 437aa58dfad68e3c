/* The SQL of the webhook admin commands (see admin.h).
 *
 * Each operation is one statement where it can be (a statement is its own
 * transaction: the change and its pg_notify commit together, and an
 * unknown id changes nothing); add checks its fields first so that an
 * admin reads which field is wrong rather than a constraint's name. */
#include "build-config.h"

#include "webhook/admin.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "store/pq.h"

const char *const webhook_event_names[] = {
    "ticket.created", "ticket.assigned", "ticket.requeued", "ticket.ended",
    "ticket.updated", "ticket.rated",    "message.added",   NULL};

#define NOTIFY "pg_notify('mucdesk_webhooks', '')"
/* A timestamptz as XEP-0082 text in UTC. */
#define STAMP(col)                                                             \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ---- pure checks ------------------------------------------------------------ */

const char *webhook_url_problem(const char *url)
{
    size_t len = strlen(url);
    size_t scheme = strncmp(url, "https://", 8) == 0  ? 8
                    : strncmp(url, "http://", 7) == 0 ? 7
                                                      : 0;
    if (!scheme)
        return "an http:// or https:// address";
    if (len == scheme)
        return "a host after the scheme";
    if (len > WEBHOOK_URL_MAX)
        return "at most 2000 characters";
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (isspace(*p) || *p < 0x20 || *p == 0x7f)
            return "no spaces or control characters";
    if (utf8_valid_len(url, len) != len)
        return "not valid UTF-8";
    return NULL;
}

bool webhook_event_known(const char *name)
{
    for (size_t i = 0; webhook_event_names[i]; i++)
        if (strcmp(name, webhook_event_names[i]) == 0)
            return true;
    return false;
}

int webhook_parse_id(const char *text, int *id)
{
    if (text[0] == '#')
        text++;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    char *end;
    long v = strtol(text, &end, 10);
    if (*end || v < 1 || v > INT_MAX)
        return -1;
    *id = (int)v;
    return 0;
}

/* ---- SQL helpers ------------------------------------------------------------- */

/* The failed result (cleared here) as a result code, its text in err. */
static int db_error(PGconn *conn, PGresult *res, const char *what, char *err,
                    size_t errlen)
{
    const char *state = store_pq_error(err, errlen, conn, res, what);
    /* class 22 (data exception) and 23 (integrity): a value refused */
    int rc = state && (strncmp(state, "22", 2) == 0 ||
                       strncmp(state, "23", 2) == 0)
                 ? WEBHOOK_ADMIN_INVALID
                 : WEBHOOK_ADMIN_FAILED;
    PQclear(res);
    return rc;
}

static char *dup_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
                                      : strdup(PQgetvalue(res, row, col));
}

/* A text[] literal of n strings, each quoted (backslash before '"' and
 * '\'); NULL out of memory. */
static char *text_array(const char *const *items, size_t n)
{
    struct buf b = BUF_INIT;
    buf_append_char(&b, '{');
    for (size_t i = 0; i < n; i++) {
        buf_append_str(&b, i ? ",\"" : "\"");
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_append_char(&b, '\\');
            buf_append_char(&b, *p);
        }
        buf_append_char(&b, '"');
    }
    buf_append_char(&b, '}');
    if (buf_failed(&b)) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static void id_text(int id, char out[16])
{
    snprintf(out, 16, "%d", id);
}

/* ---- add ----------------------------------------------------------------------- */

int webhook_endpoint_check(const struct webhook_endpoint_new *e, char *err,
                           size_t errlen)
{
    const char *problem = e->url ? webhook_url_problem(e->url)
                                 : "an http:// or https:// address";
    if (problem) {
        snprintf(err, errlen, "url: %s", problem);
        return WEBHOOK_ADMIN_INVALID;
    }
    if (e->secret && e->secret[0]) {
        size_t n = strlen(e->secret);
        if (n < WEBHOOK_SECRET_MIN || n > WEBHOOK_SECRET_MAX ||
            utf8_valid_len(e->secret, n) != n) {
            snprintf(err, errlen,
                     "secret: %d to %d characters (or empty: one is made)",
                     WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
            return WEBHOOK_ADMIN_INVALID;
        }
    }
    for (size_t i = 0; i < e->event_count; i++)
        if (!webhook_event_known(e->events[i])) {
            utf8_snprintf(err, errlen,
                          "events: unknown event '%.*s' (ticket.created, "
                          "ticket.assigned, ticket.requeued, ticket.ended, "
                          "ticket.updated, ticket.rated, message.added)",
                          utf8_prec(e->events[i], 60), e->events[i]);
            return WEBHOOK_ADMIN_INVALID;
        }
    return WEBHOOK_ADMIN_OK;
}

/* The first of the queues that does not exist, or none. */
static int check_queues(PGconn *conn, const char *queues, char *err,
                        size_t errlen)
{
    const char *p[] = {queues};
    PGresult *res = PQexecParams(
        conn,
        "SELECT q FROM unnest($1::text[]) WITH ORDINALITY AS u (q, n)"
        " WHERE NOT EXISTS (SELECT 1 FROM queues WHERE name = u.q)"
        " ORDER BY n LIMIT 1",
        1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_error(conn, res, "queues", err, errlen);
    int rc = WEBHOOK_ADMIN_OK;
    if (PQntuples(res) > 0) {
        const char *q = PQgetvalue(res, 0, 0);
        utf8_snprintf(err, errlen, "queues: no such queue '%.*s'",
                      utf8_prec(q, 100), q);
        rc = WEBHOOK_ADMIN_INVALID;
    }
    PQclear(res);
    return rc;
}

static int make_secret(char *out, char *err, size_t errlen)
{
    unsigned char rnd[32];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        snprintf(err, errlen, "no random bytes for a secret");
        return WEBHOOK_ADMIN_FAILED;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof rnd; i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 15];
    }
    out[2 * sizeof rnd] = '\0';
    return WEBHOOK_ADMIN_OK;
}

int webhook_admin_add(PGconn *conn, const struct webhook_endpoint_new *e,
                      int *id, char *secret, char *err, size_t errlen)
{
    int rc = webhook_endpoint_check(e, err, errlen);
    if (rc < 0)
        return rc;
    if (e->secret && e->secret[0])
        snprintf(secret, WEBHOOK_SECRET_MAX + 1, "%s", e->secret);
    else if ((rc = make_secret(secret, err, errlen)) < 0)
        return rc;
    char *events = e->event_count
                       ? text_array(e->events, e->event_count)
                       : text_array(webhook_event_names, WEBHOOK_EVENT_COUNT);
    bool some_queues = e->queues && e->queue_count;
    char *queues = some_queues ? text_array(e->queues, e->queue_count) : NULL;
    struct buf desc = BUF_INIT;
    if (e->description && e->description[0])
        utf8_sanitize(&desc, e->description, strlen(e->description));
    if (!events || (some_queues && !queues) || buf_failed(&desc)) {
        snprintf(err, errlen, "out of memory");
        rc = WEBHOOK_ADMIN_FAILED;
        goto out;
    }
    if (queues && (rc = check_queues(conn, queues, err, errlen)) < 0)
        goto out;
    const char *p[] = {e->url, secret, events, queues,
                       desc.len ? buf_cstr(&desc) : NULL};
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO webhook_endpoints (url, secret, events, queues,"
        " description) VALUES ($1, $2, $3::text[], $4::text[], $5)"
        " RETURNING id",
        5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = db_error(conn, res, "webhook-add", err, errlen);
        goto out;
    }
    *id = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    rc = WEBHOOK_ADMIN_OK;
out:
    free(events);
    free(queues);
    buf_free(&desc);
    return rc;
}

/* ---- list ---------------------------------------------------------------------- */

void webhook_endpoint_info_free(struct webhook_endpoint_info *list,
                                size_t count)
{
    for (size_t i = 0; list && i < count; i++) {
        free(list[i].url);
        free(list[i].events);
        free(list[i].queues);
        free(list[i].description);
        free(list[i].last_success_at);
        free(list[i].last_error);
    }
    free(list);
}

int webhook_admin_list(PGconn *conn, struct webhook_endpoint_info **out,
                       size_t *count, char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    PGresult *res = PQexec(
        conn,
        "SELECT e.id, e.url, array_to_string(e.events, ','),"
        " array_to_string(e.queues, ','), e.description, e.paused,"
        " (SELECT count(*) FROM webhook_outbox o WHERE o.endpoint_id = e.id"
        "  AND o.state = 'pending'),"
        " (SELECT count(*) FROM webhook_outbox o WHERE o.endpoint_id = e.id"
        "  AND o.state = 'dead'),"
        " (SELECT count(*) FROM webhook_outbox o WHERE o.endpoint_id = e.id"
        "  AND o.state = 'delivered'),"
        " e.failures, " STAMP("e.last_success_at") ", e.last_error"
        " FROM webhook_endpoints e ORDER BY e.id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_error(conn, res, "webhook-list", err, errlen);
    int n = PQntuples(res);
    struct webhook_endpoint_info *list = calloc((size_t)n + 1, sizeof *list);
    if (!list) {
        PQclear(res);
        snprintf(err, errlen, "out of memory");
        return WEBHOOK_ADMIN_FAILED;
    }
    bool oom = false;
    for (int i = 0; i < n; i++) {
        struct webhook_endpoint_info *w = &list[i];
        w->id = atoi(PQgetvalue(res, i, 0));
        w->url = dup_or_null(res, i, 1);
        w->events = dup_or_null(res, i, 2);
        w->queues = dup_or_null(res, i, 3);
        w->description = dup_or_null(res, i, 4);
        w->paused = strcmp(PQgetvalue(res, i, 5), "t") == 0;
        w->pending = atol(PQgetvalue(res, i, 6));
        w->dead = atol(PQgetvalue(res, i, 7));
        w->delivered = atol(PQgetvalue(res, i, 8));
        w->failures = atoi(PQgetvalue(res, i, 9));
        w->last_success_at = dup_or_null(res, i, 10);
        w->last_error = dup_or_null(res, i, 11);
        oom = oom || !w->url || !w->events ||
              (!w->queues && !PQgetisnull(res, i, 3)) ||
              (!w->description && !PQgetisnull(res, i, 4)) ||
              (!w->last_success_at && !PQgetisnull(res, i, 10)) ||
              (!w->last_error && !PQgetisnull(res, i, 11));
    }
    PQclear(res);
    if (oom) {
        webhook_endpoint_info_free(list, (size_t)n);
        snprintf(err, errlen, "out of memory");
        return WEBHOOK_ADMIN_FAILED;
    }
    *out = list;
    *count = (size_t)n;
    return WEBHOOK_ADMIN_OK;
}

/* ---- one endpoint's changes ------------------------------------------------------ */

/* The commands on one endpoint: each one statement ($1 the id; replay's
 * $2 its since, maybe NULL) giving at most one row, and what its cells
 * say (id_command). */
enum id_command_kind { ID_TEST, ID_PAUSE, ID_RESUME, ID_REPLAY, ID_REMOVE };

static const struct id_command {
    const char *what;             /* for the error: the command's name */
    int nparams;
    int ncells;                   /* the row's cells read (1 or 2) */
    const char *sql;
} id_commands[] = {
    [ID_TEST] = {"webhook-test", 1, 2,
        "WITH ins AS (INSERT INTO webhook_outbox (endpoint_id, event, data)"
        "  SELECT e.id, 'webhook.test', jsonb_build_object('endpoint', e.id,"
        "  'text', 'mucdesk webhook test') FROM webhook_endpoints e"
        "  WHERE e.id = $1::integer RETURNING id, delivery_id)"
        " SELECT id, delivery_id, " NOTIFY " FROM ins"},
    [ID_PAUSE] = {"webhook-pause", 1, 1,
        "WITH old AS (SELECT id, paused FROM webhook_endpoints"
        "  WHERE id = $1::integer FOR UPDATE)"
        " UPDATE webhook_endpoints e SET paused = true FROM old"
        " WHERE e.id = old.id RETURNING old.paused"},
    [ID_RESUME] = {"webhook-resume", 1, 1,
        "WITH old AS (SELECT id, paused FROM webhook_endpoints"
        "  WHERE id = $1::integer FOR UPDATE),"
        " upd AS (UPDATE webhook_endpoints e SET paused = false, failures = 0,"
        "  retry_at = '-infinity' FROM old WHERE e.id = old.id"
        "  RETURNING old.paused)"
        " SELECT paused, " NOTIFY " FROM upd"},
    [ID_REPLAY] = {"webhook-replay", 2, 1,
        "WITH e AS (SELECT id FROM webhook_endpoints WHERE id = $1::integer"
        "  FOR UPDATE),"
        " r AS (UPDATE webhook_outbox o SET state = 'pending', attempts = 0,"
        "  refusals = 0, next_attempt_at = '-infinity', last_error = NULL,"
        "  delivered_at = NULL FROM e WHERE o.endpoint_id = e.id"
        "  AND (o.state = 'dead' OR ($2::timestamptz IS NOT NULL"
        "  AND o.state = 'delivered' AND o.created_at >= $2::timestamptz))"
        "  RETURNING o.id)"
        " SELECT (SELECT count(*) FROM r), " NOTIFY " FROM e"},
    /* The subquery sees the rows as they were before the cascade. */
    [ID_REMOVE] = {"webhook-remove", 1, 1,
        "WITH d AS (DELETE FROM webhook_endpoints WHERE id = $1::integer"
        "  RETURNING id)"
        " SELECT (SELECT count(*) FROM webhook_outbox o"
        "  WHERE o.endpoint_id = d.id AND o.state <> 'delivered') FROM d"},
};

/* Runs the command for endpoint `id` and copies its row's first ncells
 * cells (text) into cells: no row is NOT_FOUND. */
#define CELL_MAX 64
static int id_command(PGconn *conn, enum id_command_kind kind, int id,
                      const char *param2, char cells[2][CELL_MAX], char *err,
                      size_t errlen)
{
    const struct id_command *cmd = &id_commands[kind];
    char idt[16];
    id_text(id, idt);
    const char *p[] = {idt, param2};
    PGresult *res = PQexecParams(conn, cmd->sql, cmd->nparams, NULL, p, NULL,
                                 NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_error(conn, res, cmd->what, err, errlen);
    if (PQntuples(res) == 0) {
        PQclear(res);
        snprintf(err, errlen, "no webhook endpoint #%d", id);
        return WEBHOOK_ADMIN_NOT_FOUND;
    }
    for (int i = 0; i < cmd->ncells; i++)
        snprintf(cells[i], CELL_MAX, "%s", PQgetvalue(res, 0, i));
    PQclear(res);
    return WEBHOOK_ADMIN_OK;
}

int webhook_admin_test(PGconn *conn, int id, int64_t *outbox_id,
                       char delivery_id[37], char *err, size_t errlen)
{
    char cells[2][CELL_MAX];
    int rc = id_command(conn, ID_TEST, id, NULL, cells, err, errlen);
    if (rc == WEBHOOK_ADMIN_OK) {
        *outbox_id = strtoll(cells[0], NULL, 10);
        /* bytes: a UUID, ASCII */
        snprintf(delivery_id, 37, "%.36s", cells[1]);
    }
    return rc;
}

/* Pause and resume: *changed if it was not paused (resumed) before. */
static int set_paused(PGconn *conn, int id, bool pause, bool *changed,
                      char *err, size_t errlen)
{
    char was[2][CELL_MAX];
    int rc = id_command(conn, pause ? ID_PAUSE : ID_RESUME, id, NULL, was,
                        err, errlen);
    if (rc == WEBHOOK_ADMIN_OK && changed)
        *changed = strcmp(was[0], pause ? "f" : "t") == 0;
    return rc;
}

int webhook_admin_pause(PGconn *conn, int id, bool *changed, char *err,
                        size_t errlen)
{
    return set_paused(conn, id, true, changed, err, errlen);
}

int webhook_admin_resume(PGconn *conn, int id, bool *changed, char *err,
                         size_t errlen)
{
    return set_paused(conn, id, false, changed, err, errlen);
}

int webhook_admin_replay(PGconn *conn, int id, const char *since, long *count,
                         char *err, size_t errlen)
{
    *count = 0;
    char n[2][CELL_MAX];
    int rc = id_command(conn, ID_REPLAY, id, since && since[0] ? since : NULL,
                        n, err, errlen);
    if (rc == WEBHOOK_ADMIN_INVALID)
        snprintf(err, errlen,
                 "since: a time such as 2026-12-07T10:00:00Z or 2026-12-07");
    else if (rc == WEBHOOK_ADMIN_OK)
        *count = atol(n[0]);
    return rc;
}

int webhook_admin_remove(PGconn *conn, int id, long *undelivered, char *err,
                         size_t errlen)
{
    char n[2][CELL_MAX];
    int rc = id_command(conn, ID_REMOVE, id, NULL, n, err, errlen);
    if (rc == WEBHOOK_ADMIN_OK && undelivered)
        *undelivered = atol(n[0]);
    return rc;
}

/* ---- dead letters ---------------------------------------------------------------- */

void webhook_dead_rows_free(struct webhook_dead_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].event);
        free(rows[i].last_error);
        free(rows[i].created_at);
    }
    free(rows);
}

int webhook_admin_dead(PGconn *conn, int id, int limit,
                       struct webhook_dead_row **out, size_t *count,
                       char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    char idt[16], lim[16];
    id_text(id, idt);
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : WEBHOOK_DEAD_LIMIT);
    const char *p[] = {id > 0 ? idt : NULL, lim};
    /* The first column says whether the endpoint asked about exists, so an
     * unknown one is told from one without dead letters. */
    PGresult *res = PQexecParams(
        conn,
        "SELECT ($1::integer IS NULL OR EXISTS (SELECT 1 FROM"
        "  webhook_endpoints WHERE id = $1::integer)), o.id, o.endpoint_id,"
        " o.event, o.ticket_id, o.attempts, o.last_status, o.last_error,"
        " " STAMP("o.created_at")
        " FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM webhook_outbox"
        "  WHERE state = 'dead' AND ($1::integer IS NULL"
        "  OR endpoint_id = $1::integer) ORDER BY id DESC"
        "  LIMIT $2::integer) o ON true",
        2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
        return db_error(conn, res, "webhook-dead", err, errlen);
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        snprintf(err, errlen, "no webhook endpoint #%d", id);
        return WEBHOOK_ADMIN_NOT_FOUND;
    }
    /* No dead letter: one row of NULLs. */
    int n = PQgetisnull(res, 0, 1) ? 0 : PQntuples(res);
    struct webhook_dead_row *rows = calloc((size_t)n + 1, sizeof *rows);
    if (!rows) {
        PQclear(res);
        snprintf(err, errlen, "out of memory");
        return WEBHOOK_ADMIN_FAILED;
    }
    bool oom = false;
    for (int i = 0; i < n; i++) {
        struct webhook_dead_row *r = &rows[i];
        r->id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        r->endpoint_id = atoi(PQgetvalue(res, i, 2));
        r->event = dup_or_null(res, i, 3);
        r->ticket_id = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        r->attempts = atoi(PQgetvalue(res, i, 5));
        r->last_status = atoi(PQgetvalue(res, i, 6));
        r->last_error = dup_or_null(res, i, 7);
        r->created_at = dup_or_null(res, i, 8);
        oom = oom || !r->event || !r->created_at ||
              (!r->last_error && !PQgetisnull(res, i, 7));
    }
    PQclear(res);
    if (oom) {
        webhook_dead_rows_free(rows, (size_t)n);
        snprintf(err, errlen, "out of memory");
        return WEBHOOK_ADMIN_FAILED;
    }
    *out = rows;
    *count = (size_t)n;
    return WEBHOOK_ADMIN_OK;
}
