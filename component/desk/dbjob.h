/* Any SQL on the DB thread (dbjob.c). */
#ifndef MUCDESK_DESK_DBJOB_H
#define MUCDESK_DESK_DBJOB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct desk;

/* Any SQL on the DB thread: run(conn, ud, err) there (a desk_db_result;
 * retried after a reconnection if the connection was lost), then
 * after(d, ud, rc, err) on the XMPP thread, which owns ud (rc is
 * DESK_DB_FAILED if the database did not answer within timeout_ms; 0:
 * wait as long as it takes).  0, or -1 if nothing was queued (the caller
 * keeps ud). */
typedef int (*desk_db_run_fn)(PGconn *conn, void *ud, char *err,
                              size_t errlen);
typedef void (*desk_db_after_fn)(struct desk *d, void *ud, int rc,
                                 const char *err);
int desk_db_submit(struct desk *d, desk_db_run_fn run, desk_db_after_fn after,
                   void *ud, uint64_t timeout_ms);
#define DESK_DB_TIMEOUT_MS 15000

#endif
