/* Schema migrations: the numbered files in sql/, compiled into the binary
 * (sql_migrations.c is generated at build time), applied in order, each in
 * its own transaction, and recorded in schema_migrations. */
#ifndef MUCDESK_STORE_MIGRATE_H
#define MUCDESK_STORE_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

struct migration {
    int version;
    const char *name; /* file name, e.g. "001_init.sql" */
    const char *sql;
};

/* The migrations compiled in, in version order (generated). */
extern const struct migration migrations[];
extern const size_t migration_count;

/* Applies every pending migration.  Concurrent callers (two mucdesk
 * instances, or mucdeskctl) serialise on an advisory lock.  Returns the
 * number applied (>= 0), or -1 with a one-line message in err. */
int migrate_apply(PGconn *conn, char *err, size_t errlen);

/* The highest version recorded in the database, 0 if none, -1 on error. */
int migrate_current_version(PGconn *conn, char *err, size_t errlen);

#endif
