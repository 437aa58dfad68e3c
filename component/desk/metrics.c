/* The desk's metrics: the counts of desk/counters.h, and the gauges of each
 * queue read from the live state at scrape time (waiting chats, the
 * longest wait, agents available and online, active chats). */
#include "build-config.h"

#include <stdio.h>
#include <string.h>

#include "core/loop.h"
#include "desk/chat.h"
#include "desk/counters.h"
#include "desk/desk.h"
#include "desk/events.h"
#include "desk/queue.h"
#include "desk/state.h"
#include "muc/muc.h"
#include "store/tickets.h"
#include "xmpp/stamp.h"

/* Seconds.  Waits: from seconds to the queue's maximum wait and past it;
 * first responses: the wait plus the time to type a greeting. */
static const double wait_bounds[] = {1, 5, 10, 20, 30, 60, 120, 240, 600, 1800};
static const double response_bounds[] = {5, 10, 20, 30, 60, 120, 240, 600,
                                          1800, 3600};

void desk_counters_init(struct desk_counters *st, uint64_t now_us)
{
    memset(st, 0, sizeof *st);
    st->started_us = now_us;
    metrics_histogram_init(&st->wait, wait_bounds,
                           sizeof wait_bounds / sizeof wait_bounds[0]);
    metrics_histogram_init(&st->first_response, response_bounds,
                           sizeof response_bounds / sizeof response_bounds[0]);
}

static enum desk_outcome outcome(int was, enum ticket_status status)
{
    enum desk_outcome o;
    if (was == DESK_CHAT_WAITING && status != TICKET_QUEUED)
        o = DESK_OUTCOME_ABANDONED;
    else if (status == TICKET_QUEUED)
        o = DESK_OUTCOME_QUEUED;
    else if (status == TICKET_INPROGRESS)
        o = DESK_OUTCOME_INPROGRESS;
    else
        o = DESK_OUTCOME_RESOLVED;
    return o;
}

/* The counts kept where chats and offers change (events.h). */
static void count_event(void *ud, const struct desk_event *ev)
{
    struct desk_counters *n = &((struct desk *)ud)->counters;
    switch (ev->kind) {
    case DESK_EV_REQUESTED:
        n->chats_created++;
        break;
    case DESK_EV_OFFERED:
        n->offers_made++;
        break;
    case DESK_EV_DECLINED:
        n->offers_declined++;
        break;
    case DESK_EV_ACCEPTED:
        if (ev->accepted.waited)
            metrics_histogram_observe(
                &n->wait, (double)ev->accepted.waited_ms / 1000.0);
        break;
    case DESK_EV_REQUEUED:
        n->chats_requeued++;
        break;
    case DESK_EV_ENDED:
        n->chats_ended[outcome(ev->ended.was, ev->ended.status)]++;
        break;
    default:
        break;
    }
}

int desk_metrics_subscribe(struct desk *d)
{
    static const enum desk_event_kind kinds[] = {
        DESK_EV_REQUESTED, DESK_EV_OFFERED,  DESK_EV_DECLINED,
        DESK_EV_ACCEPTED,  DESK_EV_REQUEUED, DESK_EV_ENDED};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (desk_events_subscribe(d, kinds[i], DESK_PRIO_STATE, count_event,
                                  d) < 0)
            return -1;
    return 0;
}

void desk_count_message(struct desk_chat *c, const struct muc_occupant *from)
{
    if (c->responded || !muc_occupant_privileged(from) ||
        muc_occupant_invisible(from))
        return;
    c->responded = true;
    /* A chat from before a restart: when it was first answered is not
     * known here. */
    if ((uint64_t)c->created_us < c->desk->counters.started_us)
        return;
    int64_t us = stamp_now_us() - c->created_us;
    metrics_histogram_observe(&c->desk->counters.first_response,
                              us > 0 ? (double)us / 1e6 : 0);
}

/* ---- exposition ------------------------------------------------------------ */

struct queue_gauges {
    unsigned waiting, available, online, active;
    double longest_wait_s;
};

static void queue_gauges(struct desk *d, struct desk_queue *q,
                         struct queue_gauges *g)
{
    memset(g, 0, sizeof *g);
    g->waiting = q->waiting_count;
    g->available = desk_queue_available_count(q);
    g->online = desk_queue_online_count(q);
    if (q->age_head)
        g->longest_wait_s =
            (double)(loop_now(d->loop) - q->age_head->enqueued_ms) / 1000.0;
    for (struct desk_chat *c = d->chats; c; c = c->hh.next)
        if (c->state == DESK_CHAT_ACTIVE && strcmp(c->queue, q->name) == 0)
            g->active++;
}

enum gauge { G_WAITING, G_LONGEST, G_AVAILABLE, G_ONLINE, G_ACTIVE };

static void collect_queues(struct desk *d, enum gauge which,
                           struct metrics_out *out)
{
    for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
        struct queue_gauges g;
        queue_gauges(d, q, &g);
        struct metrics_label l = {"queue", q->name};
        switch (which) {
        case G_WAITING:
            metrics_sample_u64(out, &l, 1, g.waiting);
            break;
        case G_LONGEST:
            metrics_sample(out, &l, 1, g.longest_wait_s);
            break;
        case G_AVAILABLE:
            metrics_sample_u64(out, &l, 1, g.available);
            break;
        case G_ONLINE:
            metrics_sample_u64(out, &l, 1, g.online);
            break;
        case G_ACTIVE:
            metrics_sample_u64(out, &l, 1, g.active);
            break;
        }
    }
}

#define QUEUE_COLLECTOR(fn, which)                                             \
    static void fn(void *ud, struct metrics_out *out)                          \
    {                                                                          \
        collect_queues(ud, which, out);                                        \
    }
QUEUE_COLLECTOR(collect_waiting, G_WAITING)
QUEUE_COLLECTOR(collect_longest, G_LONGEST)
QUEUE_COLLECTOR(collect_available, G_AVAILABLE)
QUEUE_COLLECTOR(collect_online, G_ONLINE)
QUEUE_COLLECTOR(collect_active, G_ACTIVE)

static void collect_outcomes(void *ud, struct metrics_out *out)
{
    struct desk *d = ud;
    static const char *const names[DESK_OUTCOME_COUNT] = {
        "resolved", "inprogress", "queued", "abandoned"};
    for (int i = 0; i < DESK_OUTCOME_COUNT; i++) {
        struct metrics_label l = {"outcome", names[i]};
        metrics_sample_u64(out, &l, 1, d->counters.chats_ended[i]);
    }
}

static void collect_wait(void *ud, struct metrics_out *out)
{
    struct desk *d = ud;
    metrics_sample_histogram(out, NULL, 0, &d->counters.wait);
}

static void collect_first_response(void *ud, struct metrics_out *out)
{
    struct desk *d = ud;
    metrics_sample_histogram(out, NULL, 0, &d->counters.first_response);
}

int desk_metrics_register(struct desk *d, struct metrics *m)
{
    struct desk_counters *st = &d->counters;
    int rc = 0;
    rc |= metrics_add(m, "mucdesk_queue_waiting_chats", METRICS_GAUGE,
                      "Chats waiting for an agent, per queue.", collect_waiting, d);
    rc |= metrics_add(m, "mucdesk_queue_longest_wait_seconds", METRICS_GAUGE,
                      "How long the queue's longest-waiting chat has waited "
                      "(0: none waits).", collect_longest, d);
    rc |= metrics_add(m, "mucdesk_queue_agents_available", METRICS_GAUGE,
                      "Agents who may be offered a chat now (present, not "
                      "away or busy, below their chat limit).",
                      collect_available, d);
    rc |= metrics_add(m, "mucdesk_queue_agents_online", METRICS_GAUGE,
                      "Members present in the queue room (not dnd), "
                      "available or not.", collect_online, d);
    rc |= metrics_add(m, "mucdesk_queue_active_chats", METRICS_GAUGE,
                      "Chats an agent has taken and that have not ended.",
                      collect_active, d);
    rc |= metrics_add_u64(m, "mucdesk_chats_created_total", METRICS_COUNTER,
                          "Chats requested (new tickets with a room).",
                          &st->chats_created);
    rc |= metrics_add(m, "mucdesk_chats_ended_total", METRICS_COUNTER,
                      "Chats ended, by outcome: resolved, inprogress (the "
                      "ticket stays open), queued (requeued at the end, or a "
                      "message left), abandoned (the customer left waiting).",
                      collect_outcomes, d);
    rc |= metrics_add_u64(m, "mucdesk_chats_requeued_total", METRICS_COUNTER,
                          "Chats put back to waiting (requeue, forward to a "
                          "queue, the last agent left).",
                          &st->chats_requeued);
    rc |= metrics_add_u64(m, "mucdesk_offers_made_total", METRICS_COUNTER,
                          "Chats offered to an agent (invitations).",
                          &st->offers_made);
    rc |= metrics_add_u64(m, "mucdesk_offers_declined_total", METRICS_COUNTER,
                          "Offers the agent declined.", &st->offers_declined);
    rc |= metrics_add_u64(m, "mucdesk_offers_expired_total", METRICS_COUNTER,
                          "Offers that timed out (the queue's offer timeout).",
                          &st->offers_expired);
    rc |= metrics_add(m, "mucdesk_chat_wait_seconds", METRICS_HISTOGRAM,
                      "How long a chat waited until an agent took it (each "
                      "wait: a requeued chat waits again).",
                      collect_wait, d);
    rc |= metrics_add(m, "mucdesk_chat_first_response_seconds",
                      METRICS_HISTOGRAM,
                      "From the request to the first message an agent wrote "
                      "in the chat.", collect_first_response, d);
    return rc ? -1 : 0;
}

void desk_get_status(const struct desk *d, struct desk_status *out)
{
    memset(out, 0, sizeof *out);
    out->restored = d->tickets_loaded;
    out->tickets_refused = d->counters.tickets_refused;
    out->sender_refused = d->counters.sender_refused;
    for (const struct desk_queue *q = d->queues; q; q = q->hh.next) {
        out->queues++;
        out->waiting += q->waiting_count;
    }
    for (const struct desk_chat *c = d->chats; c; c = c->hh.next)
        if (c->state == DESK_CHAT_ACTIVE)
            out->active++;
}
