/* The directory on the DB thread (dbops.c), and any SQL there. */
#ifndef MUCDESK_DESK_DBOPS_H
#define MUCDESK_DESK_DBOPS_H

#include <libpq-fe.h>
#include <stdint.h>

#include "desk/directory.h"

struct desk;
struct desk_queue;

void desk_dir_load(struct desk *d);
void desk_dir_poll(struct desk *d);
typedef void (*desk_db_done_fn)(void *ud, int rc, const char *err);
/* kind: "queue-create", "queue-configure", "queue-delete", "agent-add",
 * "agent-remove", "takes-chats" (a.jid, a.takes_chats: all of one
 * person's memberships); the rows are copied. */
int desk_dir_write(struct desk *d, const char *kind,
                   const struct desk_queue_row *q,
                   const struct desk_agent_row *a, desk_db_done_fn fn,
                   void *ud);
/* Takes what it keeps (the time zones) out of dir. */
void desk_dir_apply(struct desk *d, struct desk_directory *dir);

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
/* Frees a queue's settings and members (not the queue, its room or its
 * waiting list). */
void desk_queue_free_fields(struct desk_queue *q);

#endif
