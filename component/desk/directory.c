/* Queues and agents in PostgreSQL: the SQL of the daemon's DB thread and
 * of mucdeskctl, in one place so both say the same thing. */
#include "build-config.h"

#include "desk/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"
#include "core/utf8.h"
#include "desk/hours.h"
#include "desk/prechat.h"

static const char *const strategies[] = {"manual", "round-robin",
                                         "least-busy", "skills", NULL};

bool desk_strategy_known(const char *name)
{
    for (const char *const *s = strategies; *s; s++)
        if (strcmp(*s, name) == 0)
            return true;
    return false;
}

const char *desk_queue_name_problem(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63)
        return "must be 1 to 63 characters";
    if (!((name[0] >= 'a' && name[0] <= 'z') ||
          (name[0] >= '0' && name[0] <= '9')))
        return "must start with a lower-case letter or a digit";
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return "may hold only a-z, 0-9, '.', '_' and '-'";
    }
    if (strncmp(name, "ticket-", 7) == 0)
        return "must not start with 'ticket-' (session rooms use it)";
    return NULL;
}

static char *dup_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
                                      : strdup(PQgetvalue(res, row, col));
}

void desk_directory_free(struct desk_directory *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->queue_count; i++) {
        struct desk_queue_row *q = &d->queues[i];
        free(q->name);
        free(q->title);
        free(q->strategy);
        free(q->greeting);
        free(q->offline_message);
        free(q->prechat_fields);
        free(q->hours);
        free(q->timezone);
        free(q->closed_message);
        tz_free(q->tz);
        free(q->tz_problem);
    }
    for (size_t i = 0; i < d->canned_count; i++) {
        free(d->canned[i].queue);
        free(d->canned[i].name);
        free(d->canned[i].body);
    }
    free(d->canned);
    for (size_t i = 0; i < d->agent_count; i++) {
        struct desk_agent_row *a = &d->agents[i];
        free(a->queue);
        free(a->jid);
        free(a->role);
        free(a->skills);
    }
    free(d->queues);
    free(d->agents);
    memset(d, 0, sizeof *d);
}

void *desk_db_rows(PGresult *res, size_t size, int *n, char *err,
                   size_t errlen)
{
    *n = PQntuples(res);
    void *rows = calloc((size_t)*n + 1, size);
    if (!rows) {
        PQclear(res);
        snprintf(err, errlen, "out of memory");
    }
    return rows;
}

int desk_db_error(PGconn *conn, PGresult *res, char *err, size_t errlen)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                          : NULL;
    utf8_snprintf(err, errlen, "%s", msg ? msg : PQerrorMessage(conn));
    char *nl = strchr(err, '\n');
    if (nl)
        *nl = '\0';
    int rc = DESK_DB_FAILED;
    if (state && strcmp(state, "23505") == 0)
        rc = DESK_DB_EXISTS;
    else if (state && strcmp(state, "23503") == 0)
        rc = DESK_DB_NOT_FOUND;
    else if (state && (strcmp(state, "23514") == 0 ||
                       strcmp(state, "22P02") == 0 ||
                       strcmp(state, "23502") == 0))
        rc = DESK_DB_INVALID;
    PQclear(res);
    return rc;
}

int desk_db_version(PGconn *conn, int64_t *version, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, "SELECT version FROM desk_directory");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return desk_db_error(conn, res, err, errlen);
    *version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return DESK_DB_OK;
}

/* Runs a SELECT and allocates the array for its n rows (n + 1 zeroed
 * elements of size).  DESK_DB_OK, or an error with err (the result then
 * cleared). */
static int select_rows(PGconn *conn, const char *sql, PGresult **res, int *n,
                       void **rows, size_t size, char *err, size_t errlen)
{
    *res = PQexec(conn, sql);
    if (PQresultStatus(*res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, *res, err, errlen);
    *n = PQntuples(*res);
    *rows = calloc((size_t)*n + 1, size);
    if (!*rows) {
        PQclear(*res);
        snprintf(err, errlen, "out of memory");
        return DESK_DB_FAILED;
    }
    return DESK_DB_OK;
}

/* The queues into out (freed by the caller on failure).  DESK_DB_OK, or
 * an error with err. */
static int load_queues(PGconn *conn, struct desk_directory *out, char *err,
                       size_t errlen)
{
    PGresult *res;
    int n;
    void *rows;
    int rc = select_rows(
        conn, "SELECT name, title, strategy, offer_timeout, max_wait, "
              "greeting, offline_message, prechat_fields, hours, "
              "timezone, closed_message, transcript_email, "
              "answer_reminder FROM queues ORDER BY name",
        &res, &n, &rows, sizeof *out->queues, err, errlen);
    if (rc < 0)
        return rc;
    out->queues = rows;
    for (int i = 0; i < n; i++) {
        struct desk_queue_row *q = &out->queues[i];
        q->name = dup_or_null(res, i, 0);
        q->title = dup_or_null(res, i, 1);
        q->strategy = dup_or_null(res, i, 2);
        q->offer_timeout = atoi(PQgetvalue(res, i, 3));
        q->max_wait = atoi(PQgetvalue(res, i, 4));
        q->greeting = dup_or_null(res, i, 5);
        q->offline_message = dup_or_null(res, i, 6);
        q->prechat_fields = dup_or_null(res, i, 7);
        q->hours = dup_or_null(res, i, 8);
        q->timezone = dup_or_null(res, i, 9);
        q->closed_message = dup_or_null(res, i, 10);
        q->transcript_email = strcmp(PQgetvalue(res, i, 11), "t") == 0;
        q->answer_reminder = atoi(PQgetvalue(res, i, 12));
        /* Read here, on the DB thread: the XMPP thread reads no files. */
        char tzerr[200];
        q->tz = tz_load(q->timezone, tzerr, sizeof tzerr);
        if (!q->tz) {
            q->tz_problem = strdup(tzerr);
            q->tz = tz_utc();
        }
        out->queue_count++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

/* The memberships into out (freed by the caller on failure).  DESK_DB_OK,
 * or an error with err. */
static int load_agents(PGconn *conn, struct desk_directory *out, char *err,
                       size_t errlen)
{
    PGresult *res;
    int n;
    void *rows;
    int rc = select_rows(
        conn, "SELECT queue, jid, role, max_chats, "
              "lower(array_to_string(skills, ',')), takes_chats "
              "FROM agents ORDER BY queue, added_at, jid",
        &res, &n, &rows, sizeof *out->agents, err, errlen);
    if (rc < 0)
        return rc;
    out->agents = rows;
    for (int i = 0; i < n; i++) {
        struct desk_agent_row *a = &out->agents[i];
        a->queue = dup_or_null(res, i, 0);
        a->jid = dup_or_null(res, i, 1);
        a->role = dup_or_null(res, i, 2);
        a->max_chats = atoi(PQgetvalue(res, i, 3));
        a->skills = dup_or_null(res, i, 4);
        a->takes_chats = PQgetisnull(res, i, 5) ? DESK_TAKES_DEFAULT
                         : strcmp(PQgetvalue(res, i, 5), "t") == 0
                             ? DESK_TAKES_YES
                             : DESK_TAKES_NO;
        out->agent_count++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

/* The canned responses into out (freed by the caller on failure).
 * DESK_DB_OK, or an error with err. */
static int load_canned(PGconn *conn, struct desk_directory *out, char *err,
                       size_t errlen)
{
    PGresult *res;
    int n;
    void *rows;
    int rc = select_rows(
        conn, "SELECT coalesce(queue, ''), name, body FROM "
              "canned_responses ORDER BY queue NULLS FIRST, name",
        &res, &n, &rows, sizeof *out->canned, err, errlen);
    if (rc < 0)
        return rc;
    out->canned = rows;
    for (int i = 0; i < n; i++) {
        struct desk_canned_row *c = &out->canned[i];
        c->queue = dup_or_null(res, i, 0);
        c->name = dup_or_null(res, i, 1);
        c->body = dup_or_null(res, i, 2);
        out->canned_count++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

int desk_db_load(PGconn *conn, struct desk_directory *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    /* One snapshot for the three reads. */
    PGresult *res = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return desk_db_error(conn, res, err, errlen);
    PQclear(res);
    int rc = desk_db_version(conn, &out->version, err, errlen);
    if (rc < 0 || (rc = load_queues(conn, out, err, errlen)) < 0 ||
        (rc = load_agents(conn, out, err, errlen)) < 0 ||
        (rc = load_canned(conn, out, err, errlen)) < 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        desk_directory_free(out);
        return rc;
    }
    PQclear(PQexec(conn, "COMMIT"));
    return DESK_DB_OK;
}

const char *desk_queue_row_problem(const struct desk_queue_row *q, char *err,
                                   size_t errlen)
{
    char why[300];
    if (q->prechat_fields) {
        struct desk_prechat *p = malloc(sizeof *p);
        int rc = p ? desk_prechat_parse(q->prechat_fields, p, why, sizeof why)
                   : -1;
        free(p);
        if (rc < 0) {
            utf8_snprintf(err, errlen, "%s", p ? why : "out of memory");
            return err;
        }
    }
    if (q->hours) {
        struct desk_hours *h = malloc(sizeof *h);
        int rc = h ? desk_hours_parse(q->hours, h, why, sizeof why) : -1;
        free(h);
        if (rc < 0) {
            utf8_snprintf(err, errlen, "%s", h ? why : "out of memory");
            return err;
        }
    }
    if (q->timezone) {
        struct tz *tz = tz_load(q->timezone, why, sizeof why);
        if (!tz) {
            utf8_snprintf(err, errlen, "timezone: %s", why);
            return err;
        }
        tz_free(tz);
    }
    return NULL;
}

int desk_db_queue_save(PGconn *conn, const struct desk_queue_row *q,
                       bool create, char *err, size_t errlen)
{
    if (desk_queue_row_problem(q, err, errlen))
        return DESK_DB_INVALID;
    char timeout[16] = "", wait[16] = "", remind[16] = "";
    if (q->answer_reminder >= 0)
        snprintf(remind, sizeof remind, "%d", q->answer_reminder);
    if (q->offer_timeout >= 0)
        snprintf(timeout, sizeof timeout, "%d", q->offer_timeout);
    if (q->max_wait >= 0)
        snprintf(wait, sizeof wait, "%d", q->max_wait);
    const char *params[] = {q->name,
                            q->title,
                            q->strategy,
                            timeout[0] ? timeout : NULL,
                            wait[0] ? wait : NULL,
                            q->greeting,
                            q->offline_message,
                            q->prechat_fields,
                            q->hours,
                            q->timezone,
                            q->closed_message,
                            q->transcript_email < 0 ? NULL
                            : q->transcript_email ? "true"
                                                  : "false",
                            remind[0] ? remind : NULL};
    const char *sql =
        create
            ? "INSERT INTO queues (name, title, strategy, offer_timeout, "
              "max_wait, greeting, offline_message, prechat_fields, hours, "
              "timezone, closed_message, transcript_email, answer_reminder) "
              "VALUES ($1, "
              "coalesce($2, $1), coalesce($3, 'round-robin'), "
              "coalesce($4::integer, 20), coalesce($5::integer, 240), "
              "nullif($6, ''), nullif($7, ''), coalesce($8, ''), "
              "coalesce($9, ''), coalesce($10, 'UTC'), nullif($11, ''), "
              "coalesce($12::boolean, false), coalesce($13::integer, 120))"
            : "UPDATE queues SET title = coalesce($2, title), "
              "strategy = coalesce($3, strategy), "
              "offer_timeout = coalesce($4::integer, offer_timeout), "
              "max_wait = coalesce($5::integer, max_wait), "
              "greeting = CASE WHEN $6::text IS NULL THEN greeting "
              "ELSE nullif($6, '') END, "
              "offline_message = CASE WHEN $7::text IS NULL THEN "
              "offline_message ELSE nullif($7, '') END, "
              "prechat_fields = coalesce($8, prechat_fields), "
              "hours = coalesce($9, hours), "
              "timezone = coalesce($10, timezone), "
              "closed_message = CASE WHEN $11::text IS NULL THEN "
              "closed_message ELSE nullif($11, '') END, "
              "transcript_email = coalesce($12::boolean, transcript_email), "
              "answer_reminder = coalesce($13::integer, answer_reminder) "
              "WHERE name = $1";
    PGresult *res = PQexecParams(conn, sql, 13, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return desk_db_error(conn, res, err, errlen);
    bool none = strcmp(PQcmdTuples(res), "0") == 0;
    PQclear(res);
    if (none) {
        utf8_snprintf(err, errlen, "no queue named %s", q->name);
        return DESK_DB_NOT_FOUND;
    }
    return DESK_DB_OK;
}

static int exec_count(PGconn *conn, const char *sql, int nparams,
                      const char *const *params, const char *what, char *err,
                      size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL,
                                 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return desk_db_error(conn, res, err, errlen);
    bool none = strcmp(PQcmdTuples(res), "0") == 0;
    PQclear(res);
    if (none) {
        utf8_snprintf(err, errlen, "%s", what);
        return DESK_DB_NOT_FOUND;
    }
    return DESK_DB_OK;
}

int desk_db_queue_delete(PGconn *conn, const char *name, char *err,
                         size_t errlen)
{
    const char *params[] = {name};
    return exec_count(conn, "DELETE FROM queues WHERE name = $1", 1, params,
                      "no such queue", err, errlen);
}

bool desk_agent_takes_chats(const char *role, enum desk_takes takes)
{
    if (takes != DESK_TAKES_DEFAULT)
        return takes == DESK_TAKES_YES;
    return !role || strcmp(role, "supervisor") != 0;
}

int desk_takes_parse(const char *text, enum desk_takes *out)
{
    if (!*text || strcmp(text, "role") == 0)
        *out = DESK_TAKES_DEFAULT;
    else if (!strcmp(text, "yes") || !strcmp(text, "1") || !strcmp(text, "true"))
        *out = DESK_TAKES_YES;
    else if (!strcmp(text, "no") || !strcmp(text, "0") || !strcmp(text, "false"))
        *out = DESK_TAKES_NO;
    else
        return -1;
    return 0;
}

const char *desk_takes_name(enum desk_takes takes)
{
    return takes == DESK_TAKES_DEFAULT ? "role"
           : takes == DESK_TAKES_YES   ? "yes"
                                       : "no";
}

static const char *takes_param(enum desk_takes takes)
{
    return takes == DESK_TAKES_DEFAULT ? NULL
           : takes == DESK_TAKES_YES   ? "t"
                                       : "f";
}

int desk_db_agent_takes_chats(PGconn *conn, const char *jid,
                              enum desk_takes takes, char *err, size_t errlen)
{
    const char *params[] = {jid, takes_param(takes)};
    return exec_count(conn, "UPDATE agents SET takes_chats = $2::boolean "
                            "WHERE jid = $1",
                      2, params, "you are a member of no queue", err, errlen);
}

int desk_db_agent_save(PGconn *conn, const struct desk_agent_row *a,
                       char *err, size_t errlen)
{
    char max[16];
    snprintf(max, sizeof max, "%d", a->max_chats > 0 ? a->max_chats : 3);
    const char *takes = takes_param(a->takes_chats);
    const char *params[] = {a->queue, a->jid, a->role ? a->role : "agent",
                            max, a->skills ? a->skills : "", takes};
    int rc = exec_count(
        conn,
        "INSERT INTO agents (queue, jid, role, max_chats, skills, takes_chats)"
        " VALUES ($1, $2, $3, $4::integer, array_remove(string_to_array("
        "lower(replace($5, ' ', '')), ','), ''), $6::boolean) ON CONFLICT "
        "(queue, jid) DO UPDATE SET role = excluded.role, max_chats = "
        "excluded.max_chats, skills = excluded.skills, takes_chats = "
        "excluded.takes_chats",
        6, params, "not saved", err, errlen);
    if (rc == DESK_DB_NOT_FOUND && !strstr(err, "not saved"))
        utf8_snprintf(err, errlen, "no queue named %s", a->queue);
    return rc;
}

int desk_db_agent_remove(PGconn *conn, const char *queue, const char *jid,
                         char *err, size_t errlen)
{
    const char *params[] = {queue, jid};
    return exec_count(conn, "DELETE FROM agents WHERE queue = $1 AND jid = $2",
                      2, params, "no such agent in that queue", err, errlen);
}
