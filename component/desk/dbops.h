/* The directory on the DB thread (dbops.c); any SQL there is dbjob.h's. */
#ifndef MUCDESK_DESK_DBOPS_H
#define MUCDESK_DESK_DBOPS_H

#include <libpq-fe.h>
#include <stdint.h>

#include "desk/dbjob.h"
#include "desk/directory.h"

struct desk;
struct desk_queue;

void desk_dir_load(struct desk *d);
/* The same, for a change just written (in memory at once, not at the next
 * poll). */
void desk_reload_soon(struct desk *d);
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

/* Frees a queue's settings and members (not the queue, its room or its
 * waiting list). */
void desk_queue_free_fields(struct desk_queue *q);

#endif
