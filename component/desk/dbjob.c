/* Any SQL on the DB thread (dbjob.h): a job run there, retried after a
 * reconnection, and its answer back on the XMPP thread. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/loop.h"
#include "desk/dbjob.h"
#include "desk/directory.h"
#include "desk/state.h"
#include "store/db.h"

struct job_op {
    struct store_op op;           /* first */
    struct desk *desk;
    desk_db_run_fn run;
    desk_db_after_fn after;
    void *ud;
    int rc;
};

static enum store_run_result job_run(struct store_op *op, PGconn *conn)
{
    struct job_op *j = (struct job_op *)op;
    j->rc = j->run(conn, j->ud, op->error, sizeof op->error);
    if (j->rc == DESK_DB_FAILED && store_connection_lost(conn))
        return STORE_RUN_RETRY;
    return STORE_RUN_DONE;
}

static void job_done(struct store_op *op)
{
    struct job_op *j = (struct job_op *)op;
    if (op->failed && j->rc == DESK_DB_OK) {
        j->rc = DESK_DB_FAILED; /* the deadline passed */
        if (!op->error[0])
            snprintf(op->error, sizeof op->error, "the database did not "
                                                  "answer in time");
    }
    j->after(j->desk, j->ud, j->rc, op->error);
    free(j);
}

int desk_db_submit(struct desk *d, desk_db_run_fn fn, desk_db_after_fn after,
                   void *ud, uint64_t timeout_ms)
{
    struct job_op *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->op.run = job_run;
    j->op.done = job_done;
    j->op.deadline_ms = timeout_ms ? loop_now(d->loop) + timeout_ms : 0;
    j->desk = d;
    j->run = fn;
    j->after = after;
    j->ud = ud;
    j->rc = DESK_DB_OK;
    store_submit(d->store, &j->op);
    return 0;
}
