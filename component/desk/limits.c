/* The desk's abuse limits (limits.h): per-sender budgets for new tickets
 * and ratings (core/budget.h tables), the service-wide ticket budget, and
 * the chats whose customer has not entered yet (their count per domain,
 * their expiry). */
#include "build-config.h"

#include "core/budget.h"
#include "core/config.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/ratelimit.h"
#include "desk/chat.h"
#include "desk/limits.h"
#include "desk/queue.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "xmpp/stanza.h"

#include <string.h>


#define LOG "desk"
/* Senders (bare JIDs, domains) each table remembers at once; an idle one
 * is forgotten once its bucket is full again (core/budget.h). */
#define TRACKED_SENDERS 65536
#define HOUR_MS 3600000u
#define MINUTE_MS 60000u

int desk_limits_new(struct desk *d)
{
    const struct config *cfg = d->cfg;
    d->tickets_by_jid = budget_new((uint32_t)cfg->desk.jid_tickets_per_hour,
                                   HOUR_MS, 0, TRACKED_SENDERS);
    d->tickets_by_domain = budget_new(
        (uint32_t)cfg->desk.domain_tickets_per_minute, MINUTE_MS,
        (uint32_t)cfg->desk.domain_unjoined_max, TRACKED_SENDERS);
    d->ratings_by_jid = budget_new((uint32_t)cfg->desk.jid_ratings_per_hour,
                                   HOUR_MS, 0, TRACKED_SENDERS);
    d->ratings_by_domain =
        budget_new((uint32_t)cfg->desk.domain_ratings_per_minute, MINUTE_MS,
                   0, TRACKED_SENDERS);
    return d->tickets_by_jid && d->tickets_by_domain && d->ratings_by_jid &&
                   d->ratings_by_domain
               ? 0
               : -1;
}

void desk_limits_free(struct desk *d)
{
    budget_free(d->tickets_by_jid);
    budget_free(d->tickets_by_domain);
    budget_free(d->ratings_by_jid);
    budget_free(d->ratings_by_domain);
    d->tickets_by_jid = d->tickets_by_domain = NULL;
    d->ratings_by_jid = d->ratings_by_domain = NULL;
}

const char *desk_domain_of(const char *bare)
{
    const char *at = strchr(bare, '@');
    return at ? at + 1 : bare;
}

/* One warning every 10 s at most, with the count, whatever the flood. */
static void log_refusal(struct desk *d, const char *what, const char *who)
{
    uint64_t now = loop_now(d->loop);
    d->budget_refused++;
    d->counters.sender_refused++;
    if (d->budget_logged_ms && now - d->budget_logged_ms < 10000)
        return;
    log_warn(LOG, "%s (%s): %llu request(s) refused by per-sender limits "
                  "since the last warning",
             what, who, (unsigned long long)d->budget_refused);
    d->budget_refused = 0;
    d->budget_logged_ms = now;
}

/* The service-wide budget of new tickets (chats and messages left), so
 * that a flood of requests (anonymous accounts are free) cannot fill the
 * queues and the database: a customer who already has a chat gets it back
 * before this is asked. */
static int service_budget(struct desk *d, struct xerr *err)
{
    uint32_t per_minute = (uint32_t)d->cfg->desk.new_tickets_per_minute;
    uint64_t now = loop_now(d->loop);
    if (per_minute == 0 ||
        rate_bucket_take(&d->new_tickets, per_minute, 60000, (uint32_t)now))
        return 0;
    d->tickets_refused++;
    d->counters.tickets_refused++;
    if (now - d->refused_logged_ms >= 10000 || d->refused_logged_ms == 0) {
        log_warn(LOG, "more than %u new tickets a minute: %llu request(s) "
                      "refused ([desk] new_tickets_per_minute)",
                 per_minute, (unsigned long long)d->tickets_refused);
        d->tickets_refused = 0;
        d->refused_logged_ms = now;
    }
    xerr_set(err, XERR_RESOURCE_CONSTRAINT,
             "We are receiving too many requests right now. Please try "
             "again in a minute.");
    return -1;
}

static int jid_budget(struct desk *d, const char *bare, uint64_t now,
                      struct xerr *err)
{
    if (budget_take(d->tickets_by_jid, bare, now) == BUDGET_OK)
        return 0;
    log_refusal(d, "too many requests for a chat from one address", bare);
    xerr_set(err, XERR_RESOURCE_CONSTRAINT,
             "You have asked for many chats in a short time. Please wait a "
             "while before asking again.");
    return -1;
}

int desk_limits_request_again(struct desk *d, const char *bare,
                              struct xerr *err)
{
    return jid_budget(d, bare, loop_now(d->loop), err);
}

int desk_limits_new_ticket(struct desk *d, const char *bare, bool chat,
                           bool *held, struct xerr *err)
{
    uint64_t now = loop_now(d->loop);
    const char *domain = desk_domain_of(bare);
    *held = false;
    if (jid_budget(d, bare, now, err) < 0)
        return -1;
    enum budget_verdict v = budget_take(d->tickets_by_domain, domain, now);
    if (v != BUDGET_OK && !chat) {
        /* A message left is never given back: the domain's budget is its
         * only bound. */
        budget_give_back(d->tickets_by_jid, bare, now);
        log_refusal(d, "too many messages left from one domain", domain);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "We are receiving too many messages right now. Please try "
                 "again in a minute.");
        return -1;
    }
    if (service_budget(d, err) < 0) {
        budget_give_back(d->tickets_by_jid, bare, now);
        if (v == BUDGET_OK)
            budget_give_back(d->tickets_by_domain, domain, now);
        return -1;
    }
    if (v != BUDGET_OK) {
        *held = true;
        log_refusal(d, "chats held until their customer enters", domain);
    }
    return 0;
}

void desk_limits_ticket_failed(struct desk *d, const char *bare, bool held)
{
    uint64_t now = loop_now(d->loop);
    budget_give_back(d->tickets_by_jid, bare, now);
    if (!held)
        budget_give_back(d->tickets_by_domain, desk_domain_of(bare), now);
}

/* ---- chats nobody entered -------------------------------------------------------- */

static void unjoined_expired(void *ud)
{
    struct desk_chat *c = ud;
    c->unjoined_timer = NULL;
    if (c->joined_once || c->state == DESK_CHAT_ENDED)
        return;
    log_info(LOG, "ticket %lld: nobody entered the chat within %d s",
             (long long)c->id, c->desk->cfg->desk.unjoined_timeout_s);
    c->desk->withdraw_unentered(c, "the customer never entered the chat");
}

static void unentered_unlink(struct desk_chat *c)
{
    struct desk_queue *q = c->unentered_q;
    if (!q)
        return;
    if (c->uprev)
        c->uprev->unext = c->unext;
    else
        q->unentered_head = c->unext;
    if (c->unext)
        c->unext->uprev = c->uprev;
    c->uprev = c->unext = NULL;
    c->unentered_q = NULL;
}

void desk_limits_chat_unqueued(struct desk_chat *c)
{
    unentered_unlink(c);
}

void desk_limits_customer_waits(struct desk_chat *c)
{
    struct desk_queue *q = c->waiting_in;
    if (!q || c->offered_to)
        return;
    bool freed = false;
    struct desk_chat *x;
    while ((x = q->unentered_head) != NULL) {
        unentered_unlink(x);
        x->held = true; /* first: the withdrawal must not route it again */
        loop_timer_cancel(c->desk->loop, x->announce_timer);
        loop_timer_cancel(c->desk->loop, x->maxwait_timer);
        x->announce_timer = x->maxwait_timer = NULL;
        if (x->offered_to) {
            log_info(LOG, "ticket %lld: offer withdrawn, nobody entered it "
                          "while ticket %lld's customer waits",
                     (long long)x->id, (long long)c->id);
            desk_offer_withdraw(x, false);
            freed = true;
        }
        desk_routing_chat_changed(x);
    }
    if (freed)
        desk_route(q);
}

void desk_limits_chat_created(struct desk_chat *c)
{
    struct desk *d = c->desk;
    uint64_t now = loop_now(d->loop);
    const char *domain = desk_domain_of(c->customer_jid);
    c->charged_domain = !c->held;
    enum budget_verdict v;
    while ((v = budget_hold(d->tickets_by_domain, domain, &c->unjoined,
                            now)) == BUDGET_EXCEEDED) {
        /* At the domain's cap: its oldest chat nobody entered makes room.
         * (d->withdraw_unentered, desk_chat_withdraw, lets its holder go.) */
        struct budget_holder *old =
            budget_oldest(d->tickets_by_domain, domain);
        if (!old)
            break;
        struct desk_chat *victim =
            BUDGET_OWNER(old, struct desk_chat, unjoined);
        log_info(LOG, "ticket %lld: %s has %d chats nobody entered: the "
                      "oldest ends",
                 (long long)victim->id, domain,
                 d->cfg->desk.domain_unjoined_max);
        d->withdraw_unentered(victim, "newer requests came in from the "
                                      "same domain and nobody entered this "
                                      "chat");
        if (victim->unjoined.entry) /* cannot happen: never loop forever */
            budget_release(d->tickets_by_domain, &victim->unjoined, now);
    }
    /* BUDGET_FULL: every tracked domain has chats waiting (65,536 of
     * them); this one goes uncounted, its timeout still ends it. */
    struct desk_queue *q = c->waiting_in;
    if (q && !c->held) {
        c->unentered_q = q;
        c->uprev = NULL;
        c->unext = q->unentered_head;
        if (q->unentered_head)
            q->unentered_head->uprev = c;
        q->unentered_head = c;
    }
    c->unjoined_timer = loop_timer_add(
        d->loop, (uint64_t)d->cfg->desk.unjoined_timeout_s * 1000,
        unjoined_expired, c, NULL);
}

void desk_limits_chat_entered(struct desk_chat *c)
{
    struct desk *d = c->desk;
    uint64_t now = loop_now(d->loop);
    c->joined_once = true;
    c->held = false;
    unentered_unlink(c);
    loop_timer_cancel(d->loop, c->unjoined_timer);
    c->unjoined_timer = NULL;
    budget_release(d->tickets_by_domain, &c->unjoined, now);
    if (c->charged_domain) {
        c->charged_domain = false;
        budget_give_back(d->tickets_by_domain,
                         desk_domain_of(c->customer_jid), now);
    }
}

void desk_limits_chat_gone(struct desk_chat *c)
{
    struct desk *d = c->desk;
    unentered_unlink(c);
    loop_timer_cancel(d->loop, c->unjoined_timer);
    c->unjoined_timer = NULL;
    if (d->tickets_by_domain)
        budget_release(d->tickets_by_domain, &c->unjoined, loop_now(d->loop));
}

/* ---- ratings -------------------------------------------------------------------- */

int desk_limits_rating(struct desk *d, const char *bare, struct xerr *err)
{
    uint64_t now = loop_now(d->loop);
    if (budget_take(d->ratings_by_jid, bare, now) != BUDGET_OK) {
        log_refusal(d, "too many ratings from one address", bare);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "You have sent many ratings in a short time. Please try "
                 "again later.");
        return -1;
    }
    const char *domain = desk_domain_of(bare);
    if (budget_take(d->ratings_by_domain, domain, now) != BUDGET_OK) {
        budget_give_back(d->ratings_by_jid, bare, now);
        log_refusal(d, "too many ratings from one domain", domain);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "We are receiving too many ratings right now. Please try "
                 "again in a minute.");
        return -1;
    }
    return 0;
}
