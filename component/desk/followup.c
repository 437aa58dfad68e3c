/* The follow-up announcer (tickets.h): work that reached a queue outside
 * any chat (an e-mail through mucdeskctl mail-in, a ticket moved there or
 * back to QUEUED with ticket-update, here or by mucdeskctl) is marked in
 * tickets.followup_at; every FOLLOWUP_POLL_MS the desk claims what is
 * marked (clearing the mark in the same statement, so that each is told
 * once, by one instance) and tells the queue's room.
 *
 * A poll rather than LISTEN on 'mucdesk_followup' (which mail-in and
 * ticket-update also send, for integrations): the desk's connection
 * serves queued jobs one at a time and has no idle moment to wait for
 * notifications in; a poll of a partial index costs next to nothing. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/dbops.h"
#include "desk/directory.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/ticketdb.h"
#include "desk/tickets.h"

#define LOG "desk"
#define FOLLOWUP_POLL_MS 3000
#define FOLLOWUP_BATCH 20

struct followup_job {
    struct desk_followup rows[FOLLOWUP_BATCH];
    size_t count;
};

static void schedule(struct desk *d, uint64_t ms);

static int claim_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct followup_job *j = ud;
    return desk_db_followups_claim(conn, j->rows, FOLLOWUP_BATCH, &j->count,
                                   err, errlen);
}

static void announce(struct desk *d, const struct desk_followup *f)
{
    struct desk_queue *q = desk_queue_find(d, f->queue);
    if (!q) {
        log_warn(LOG, "ticket %lld: follow-up for queue %s, which is not "
                      "here",
                 (long long)f->id, f->queue);
        return;
    }
    char text[1200];
    utf8_snprintf(text, sizeof text,
                  "Follow-up: ticket #%lld (%s)%s%.*s%s%.*s, %s. !ticket %lld "
                  "to read it.",
                  (long long)f->id, f->status, f->customer[0] ? " from " : "",
                  utf8_prec(f->customer, 100), f->customer,
                  f->subject[0] ? ": " : "", utf8_prec(f->subject, 200),
                  f->subject, f->note[0] ? f->note : "the customer wrote by "
                                                     "e-mail",
                  (long long)f->id);
    desk_queue_announce(q, text);
    log_info(LOG, "ticket %lld: follow-up announced in %s", (long long)f->id,
             f->queue);
}

static void claim_after(struct desk *d, void *ud, int rc, const char *err)
{
    struct followup_job *j = ud;
    d->followup_claiming = false;
    if (d->stopping) {
        free(j);
        return;
    }
    if (rc != DESK_DB_OK) {
        log_warn(LOG, "cannot read the follow-ups: %s", err);
    } else {
        for (size_t i = 0; i < j->count; i++)
            announce(d, &j->rows[i]);
    }
    /* A full batch: more may be waiting. */
    schedule(d, rc == DESK_DB_OK && j->count == FOLLOWUP_BATCH
                    ? 0
                    : FOLLOWUP_POLL_MS);
    free(j);
}

static void poll_now(void *ud)
{
    struct desk *d = ud;
    d->followup_timer = NULL;
    if (d->followup_claiming || d->stopping)
        return; /* the claim's end schedules the next */
    struct followup_job *j = calloc(1, sizeof *j);
    if (!j) {
        schedule(d, FOLLOWUP_POLL_MS);
        return;
    }
    d->followup_claiming = true;
    if (desk_db_submit(d, claim_run, claim_after, j, DESK_DB_TIMEOUT_MS) < 0) {
        d->followup_claiming = false;
        free(j);
        schedule(d, FOLLOWUP_POLL_MS);
    }
}

static void schedule(struct desk *d, uint64_t ms)
{
    if (d->followup_timer) {
        if (loop_timer_due(d->followup_timer) <= loop_now(d->loop) + ms)
            return;
        loop_timer_cancel(d->loop, d->followup_timer);
    }
    d->followup_timer = loop_timer_add(d->loop, ms, poll_now, d, NULL);
}

int desk_followup_start(struct desk *d)
{
    schedule(d, FOLLOWUP_POLL_MS);
    return d->followup_timer ? 0 : -1;
}

void desk_followup_poke(struct desk *d)
{
    if (!d->stopping)
        schedule(d, 0);
}

void desk_followup_stop(struct desk *d)
{
    loop_timer_cancel(d->loop, d->followup_timer);
    d->followup_timer = NULL;
}
