#include "build-config.h"

#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pq.h"

/* Any constant will do as long as every mucdesk uses the same one. */
#define MIGRATION_LOCK_KEY 0x6d7563646573LL /* "mucdes" */

static int exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        store_pq_error(err, errlen, conn, res, NULL);
        /* libpq messages end with a newline: the log wants one line. */
        for (char *p = err; *p; p++)
            if (*p == '\n')
                *p = (p[1] ? ' ' : '\0');
    }
    PQclear(res);
    return ok ? 0 : -1;
}

static int ensure_table(PGconn *conn, char *err, size_t errlen)
{
    return exec_ok(conn,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version integer PRIMARY KEY,"
                   " name text NOT NULL,"
                   " applied_at timestamptz NOT NULL DEFAULT now())",
                   err, errlen);
}

int migrate_current_version(PGconn *conn, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM "
                                 "schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_pq_error(err, errlen, conn, res, NULL);
        PQclear(res);
        return -1;
    }
    int v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static int is_applied(PGconn *conn, int version, char *err, size_t errlen)
{
    char vbuf[16];
    const char *params[1] = {vbuf};
    snprintf(vbuf, sizeof vbuf, "%d", version);
    PGresult *res = PQexecParams(
        conn, "SELECT 1 FROM schema_migrations WHERE version = $1::integer", 1,
        NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_pq_error(err, errlen, conn, res, NULL);
        PQclear(res);
        return -1;
    }
    int applied = PQntuples(res) > 0;
    PQclear(res);
    return applied;
}

static int apply_one(PGconn *conn, const struct migration *m, char *err,
                     size_t errlen)
{
    char detail[512];
    char vbuf[16];
    const char *params[2] = {vbuf, m->name};

    if (exec_ok(conn, "BEGIN", detail, sizeof detail) < 0)
        goto fail;
    if (exec_ok(conn, m->sql, detail, sizeof detail) < 0) {
        exec_ok(conn, "ROLLBACK", err, errlen);
        goto fail;
    }
    snprintf(vbuf, sizeof vbuf, "%d", m->version);
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO schema_migrations (version, name)"
                                 " VALUES ($1::integer, $2)",
                                 2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        store_pq_error(detail, sizeof detail, conn, res, NULL);
    PQclear(res);
    if (!ok) {
        exec_ok(conn, "ROLLBACK", err, errlen);
        goto fail;
    }
    if (exec_ok(conn, "COMMIT", detail, sizeof detail) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "migration %s failed: %s", m->name, detail);
    return -1;
}

int migrate_apply(PGconn *conn, char *err, size_t errlen)
{
    char lock_sql[96];
    int applied = 0;

    /* "relation already exists, skipping" notices are not news. */
    if (exec_ok(conn, "SET client_min_messages = warning", err, errlen) < 0)
        return -1;
    snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_lock(%lld)",
             MIGRATION_LOCK_KEY);
    if (exec_ok(conn, lock_sql, err, errlen) < 0)
        return -1;
    int rc = ensure_table(conn, err, errlen);
    for (size_t i = 0; rc == 0 && i < migration_count; i++) {
        int done = is_applied(conn, migrations[i].version, err, errlen);
        if (done < 0) {
            rc = -1;
        } else if (!done) {
            rc = apply_one(conn, &migrations[i], err, errlen);
            applied += rc == 0;
        }
    }
    char unlock_err[256];
    snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_unlock(%lld)",
             MIGRATION_LOCK_KEY);
    exec_ok(conn, lock_sql, unlock_err, sizeof unlock_err);
    return rc < 0 ? -1 : applied;
}
