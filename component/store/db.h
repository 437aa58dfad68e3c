/* The database thread: the only owner of the PostgreSQL connection.
 *
 * The XMPP thread never touches libpq.  It submits operations; the DB thread
 * runs them in order, batching what it can, and hands each finished
 * operation back through an eventfd watched by the event loop, where its
 * `done` callback runs on the XMPP thread.
 *
 * The connection is retried with backoff for as long as it takes; pending
 * migrations are applied on every (re)connect before any operation runs. */
#ifndef MUCDESK_STORE_DB_H
#define MUCDESK_STORE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

struct store;
struct store_op;

enum store_run_result {
    STORE_RUN_DONE,  /* finished (successfully or with op->failed set) */
    STORE_RUN_RETRY, /* the connection broke: run me again after reconnect */
};

/* Runs on the DB thread.  Must not touch XMPP-thread state. */
typedef enum store_run_result (*store_run_fn)(struct store_op *op,
                                              PGconn *conn);
/* Runs on the XMPP thread once the op is finished; owns and frees op. */
typedef void (*store_done_fn)(struct store_op *op);

/* Embed this as the first member of an operation struct. */
struct store_op {
    store_run_fn run;
    store_done_fn done;      /* NULL: the op is freed with free() */
    uint64_t deadline_ms;    /* 0: wait for the database forever */
    bool failed;             /* set by run, or when the deadline passed */
    char error[256];         /* for the log: never shown to users */
    struct store_op *next;   /* queue link, owned by the store */
};

struct store_config {
    const char *conninfo;
    int connect_timeout_s;
    int statement_timeout_ms;
};

struct store *store_new(struct loop *loop, const struct store_config *cfg);

/* Runs on the DB thread after every (re)connection, once the migrations are
 * applied and before any op runs: prepare statements, create temporary
 * tables.  Returns 0, or -1 with a one-line reason in err: the connection
 * is then dropped and retried with backoff.  Hooks run in the order added;
 * add them before store_start().  0, or -1 (out of memory). */
typedef int (*store_connect_fn)(void *ud, PGconn *conn, char *err,
                                size_t errlen);
int store_on_connect(struct store *store, store_connect_fn fn, void *ud);
/* Starts the DB thread.  The caller must have blocked the signals the main
 * thread handles (the thread inherits the mask).  0 or -1. */
int store_start(struct store *store);
/* Queues an op.  Ownership passes to the store until `done` runs. */
void store_submit(struct store *store, struct store_op *op);
/* Stops accepting work, lets the thread finish what is queued (waiting at
 * most timeout_ms for the database), joins it and runs the remaining done
 * callbacks (unfinished ops are marked failed).  Returns the number of ops
 * that could not be completed. */
size_t store_stop(struct store *store, unsigned timeout_ms);
void store_free(struct store *store);

bool store_connected(const struct store *store);
/* Operations submitted whose done callback has not run yet (metrics). */
size_t store_queue_depth(const struct store *store);

/* Helper for run functions: true if a libpq failure means the connection is
 * gone (so the op should be retried) rather than the statement failed. */
bool store_connection_lost(PGconn *conn);

#endif
