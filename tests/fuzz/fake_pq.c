/* A fake PostgreSQL for the fuzz world: the libpq functions the desk and
 * the MUC call, linked in place of libpq, answering from a few in-memory
 * tables.
 *
 * - SELECTs from a table the world filled (fake_pq_set_table: queues,
 *   agents, canned responses, the directory version, persistent rooms)
 *   return its rows; the columns are those the daemon's statement lists.
 * - BEGIN, COMMIT, ROLLBACK succeed; so do writes to the MUC's own tables
 *   (persistent rooms and affiliations: taken, not read back).
 * - Anything else fails as a statement PostgreSQL refused (SQLSTATE 0A000):
 *   the path of a database that answers with an error.
 *
 * It checks what a real server would refuse: a statement whose $N
 * parameters do not match the values bound (a bug: fake_fail), and text
 * parameters that are not valid UTF-8 or hold NUL (refused with SQLSTATE
 * 22021, as PostgreSQL does).  Every parameter is read, so that a dangling
 * or unterminated one shows up under AddressSanitizer. */
#include "build-config.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake.h"
#include "fuzz_check.h"

#define MAX_TABLES 8

struct pg_conn {
    int unused;
};

struct pg_result {
    ExecStatusType status;
    const char *sqlstate;
    char message[160];
    int nrows, ncols;
    const char *const *cells;     /* borrowed from the table, row-major */
    char cmd_tuples[16];
};

struct table {
    const char *match;            /* "FROM queues" */
    int ncols, nrows;
    const char *const *cells;
};

static struct pg_conn the_conn;
static struct table tables[MAX_TABLES];
static size_t n_tables;
static unsigned long statements;

PGconn *fake_pq_conn(void)
{
    return &the_conn;
}

void fake_pq_set_table(const char *match, int ncols, int nrows,
                       const char *const *cells)
{
    for (size_t i = 0; i < n_tables; i++)
        if (strcmp(tables[i].match, match) == 0) {
            tables[i] = (struct table){match, ncols, nrows, cells};
            return;
        }
    if (n_tables == MAX_TABLES)
        abort();
    tables[n_tables++] = (struct table){match, ncols, nrows, cells};
}

unsigned long fake_pq_statements(void)
{
    return statements;
}

static PGresult *result(ExecStatusType status, const char *sqlstate,
                        const char *message)
{
    PGresult *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->status = status;
    r->sqlstate = sqlstate;
    snprintf(r->message, sizeof r->message, "%s", message ? message : "");
    return r;
}

static bool starts_with_word(const char *sql, const char *word)
{
    while (isspace((unsigned char)*sql))
        sql++;
    size_t n = strlen(word);
    return strncasecmp(sql, word, n) == 0 &&
           !isalnum((unsigned char)sql[n]) && sql[n] != '_';
}

static PGresult *run(const char *sql)
{
    statements++;
    if (starts_with_word(sql, "BEGIN") || starts_with_word(sql, "COMMIT") ||
        starts_with_word(sql, "ROLLBACK"))
        return result(PGRES_COMMAND_OK, NULL, NULL);
    if (starts_with_word(sql, "SELECT")) {
        for (size_t i = 0; i < n_tables; i++)
            if (strstr(sql, tables[i].match)) {
                PGresult *r = result(PGRES_TUPLES_OK, NULL, NULL);
                r->nrows = tables[i].nrows;
                r->ncols = tables[i].ncols;
                r->cells = tables[i].cells;
                return r;
            }
    }
    if ((starts_with_word(sql, "INSERT") || starts_with_word(sql, "UPDATE") ||
         starts_with_word(sql, "DELETE")) &&
        (strstr(sql, " muc_rooms") || strstr(sql, " muc_affiliations")))
        return result(PGRES_COMMAND_OK, NULL, NULL);
    return result(PGRES_FATAL_ERROR, "0A000",
                  "ERROR:  the fuzz world's database does not run this "
                  "statement\n");
}

/* The highest $N in the statement (quoted text aside). */
static int max_param(const char *sql)
{
    int max = 0;
    bool quoted = false;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (quoted || *p != '$' || !isdigit((unsigned char)p[1]))
            continue;
        int n = atoi(p + 1);
        if (n > max)
            max = n;
    }
    return max;
}

PGresult *PQexec(PGconn *conn, const char *query)
{
    if (conn != &the_conn)
        fuzz_fail("PQexec on a connection that is not the database's");
    if (max_param(query) != 0)
        fuzz_fail("PQexec of a statement with parameters: %.80s", query);
    return run(query);
}

PGresult *PQexecParams(PGconn *conn, const char *command, int nParams,
                       const Oid *paramTypes, const char *const *paramValues,
                       const int *paramLengths, const int *paramFormats,
                       int resultFormat)
{
    (void)paramTypes;
    (void)resultFormat;
    if (conn != &the_conn)
        fuzz_fail("PQexecParams on a connection that is not the database's");
    int want = max_param(command);
    if (want != nParams)
        fuzz_fail("statement uses %d parameter(s), %d bound: %.120s", want,
                  nParams, command);
    bool refused = false;
    for (int i = 0; i < nParams; i++) {
        if (!paramValues || !paramValues[i])
            continue; /* SQL NULL */
        bool binary = paramFormats && paramFormats[i] == 1;
        size_t len = binary ? (size_t)paramLengths[i] : strlen(paramValues[i]);
        /* Read every byte: a bad pointer is an AddressSanitizer report. */
        volatile unsigned char sum = 0;
        for (size_t k = 0; k < len; k++)
            sum ^= (unsigned char)paramValues[i][k];
        (void)sum;
        if (!binary && fuzz_utf8_problem(paramValues[i], len, false))
            refused = true;
    }
    if (refused) {
        statements++;
        return result(PGRES_FATAL_ERROR, "22021",
                      "ERROR:  invalid byte sequence for encoding \"UTF8\"\n");
    }
    return run(command);
}

ExecStatusType PQresultStatus(const PGresult *res)
{
    return res ? res->status : PGRES_FATAL_ERROR;
}

int PQntuples(const PGresult *res)
{
    return res ? res->nrows : 0;
}

static void check_cell(const PGresult *res, int row, int col)
{
    if (!res || res->status != PGRES_TUPLES_OK || row < 0 ||
        row >= res->nrows || col < 0 || col >= res->ncols)
        fuzz_fail("PQgetvalue(%d, %d) outside the result (%d x %d)", row,
                  col, res ? res->nrows : -1, res ? res->ncols : -1);
}

char *PQgetvalue(const PGresult *res, int row, int col)
{
    check_cell(res, row, col);
    const char *v = res->cells[row * res->ncols + col];
    return (char *)(v ? v : ""); /* libpq gives "" for NULL */
}

int PQgetisnull(const PGresult *res, int row, int col)
{
    check_cell(res, row, col);
    return res->cells[row * res->ncols + col] == NULL;
}

char *PQcmdTuples(PGresult *res)
{
    if (!res || (res->status != PGRES_TUPLES_OK &&
                 res->status != PGRES_COMMAND_OK))
        return (char *)"";
    snprintf(res->cmd_tuples, sizeof res->cmd_tuples, "%d", res->nrows);
    return res->cmd_tuples;
}

char *PQresultErrorField(const PGresult *res, int fieldcode)
{
    if (!res || fieldcode != PG_DIAG_SQLSTATE)
        return NULL;
    return (char *)res->sqlstate;
}

char *PQresultErrorMessage(const PGresult *res)
{
    return (char *)(res ? res->message : "");
}

char *PQerrorMessage(const PGconn *conn)
{
    (void)conn;
    return (char *)"the fuzz world's database refused the statement\n";
}

void PQclear(PGresult *res)
{
    free(res);
}

/* ---- the webhook sender's session ----------------------------------------------- */

/* webhook/sender.c links in with the service, but this world turns it off
 * ([webhooks] enabled = 0: the sender's session is a real one of its own,
 * not served by these tables).  Reaching any of these is a bug. */
#define SENDER_ONLY(what) fuzz_fail("%s: the webhook sender ran in the fuzz world", what)

PGconn *PQconnectdbParams(const char *const *keywords,
                          const char *const *values, int expand_dbname)
{
    (void)keywords, (void)values, (void)expand_dbname;
    SENDER_ONLY("PQconnectdbParams");
    return NULL;
}

ConnStatusType PQstatus(const PGconn *conn)
{
    (void)conn;
    SENDER_ONLY("PQstatus");
    return CONNECTION_BAD;
}

void PQfinish(PGconn *conn)
{
    if (conn)
        SENDER_ONLY("PQfinish");
}

int PQsocket(const PGconn *conn)
{
    (void)conn;
    SENDER_ONLY("PQsocket");
    return -1;
}

int PQconsumeInput(PGconn *conn)
{
    (void)conn;
    SENDER_ONLY("PQconsumeInput");
    return 0;
}

PGnotify *PQnotifies(PGconn *conn)
{
    (void)conn;
    SENDER_ONLY("PQnotifies");
    return NULL;
}

void PQfreemem(void *ptr)
{
    (void)ptr;
    SENDER_ONLY("PQfreemem");
}

int PQbackendPID(const PGconn *conn)
{
    (void)conn;
    SENDER_ONLY("PQbackendPID");
    return 0;
}
