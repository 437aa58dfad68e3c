/* Unit tests: the desk's event bus (desk/events.c) and two of its
 * subscribers with nothing below them: the counts (desk/metrics.c) and
 * the plugins' `event` hook (desk/plugins.c, through the plugin ABI).
 * The desk is a hand-built struct desk (no MUC, no store): what is
 * checked is the order subscribers run in, what each kind reaches, and
 * what a plugin of each ABI hears. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk/chat.h"
#include "desk/counters.h"
#include "desk/events.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/state.h"
#include "plugin.h"

/* ---- the bus ----------------------------------------------------------------------- */

static char trace[512];

static void note(const char *what)
{
    size_t n = strlen(trace);
    snprintf(trace + n, sizeof trace - n, "%s%s", n ? " " : "", what);
}

static void sub_note(void *ctx, const struct desk_event *ev)
{
    char line[64];
    snprintf(line, sizeof line, "%s:%s", (const char *)ctx,
             desk_event_name(ev->kind));
    note(line);
}

static struct desk *desk_with_bus(void)
{
    struct desk *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->events = desk_events_new();
    assert_non_null(d->events);
    trace[0] = '\0';
    return d;
}

static void desk_done(struct desk *d)
{
    desk_events_free(d->events);
    free(d);
}

static void test_priority_order(void **state)
{
    (void)state;
    struct desk *d = desk_with_bus();
    /* Subscribed out of order: run by priority, ties in subscription
     * order. */
    assert_int_equal(desk_events_subscribe(d, DESK_EV_ENDED, DESK_PRIO_ROUTE,
                                           sub_note, "route"), 0);
    assert_int_equal(desk_events_subscribe(d, DESK_EV_ENDED, DESK_PRIO_NOTIFY,
                                           sub_note, "plugins"), 0);
    assert_int_equal(desk_events_subscribe(d, DESK_EV_ENDED, DESK_PRIO_STATE,
                                           sub_note, "offers"), 0);
    assert_int_equal(desk_events_subscribe(d, DESK_EV_ENDED, DESK_PRIO_NOTIFY,
                                           sub_note, "mail"), 0);
    assert_int_equal(desk_events_subscribe(d, DESK_EV_ENDED, DESK_PRIO_STATE - 1,
                                           sub_note, "first"), 0);
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_ENDED});
    assert_string_equal(trace, "first:ended offers:ended plugins:ended "
                               "mail:ended route:ended");
    desk_done(d);
}

static void test_kinds_apart(void **state)
{
    (void)state;
    struct desk *d = desk_with_bus();
    assert_int_equal(desk_events_subscribe(d, DESK_EV_ACCEPTED,
                                           DESK_PRIO_NOTIFY, sub_note, "a"), 0);
    assert_int_equal(desk_events_subscribe(d, DESK_EV_RATED, DESK_PRIO_NOTIFY,
                                           sub_note, "r"), 0);
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_REQUEUED});
    assert_string_equal(trace, "");
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_RATED});
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_ACCEPTED});
    assert_string_equal(trace, "r:rated a:accepted");
    /* Out of range: refused, and emitting it does nothing. */
    assert_int_equal(desk_events_subscribe(d, DESK_EV_COUNT, 0, sub_note, "x"),
                     -1);
    assert_int_equal(desk_events_subscribe(d, DESK_EV_RATED, 0, NULL, "x"), -1);
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_COUNT});
    assert_string_equal(trace, "r:rated a:accepted");
    assert_string_equal(desk_event_name(DESK_EV_REQUESTED), "chat-requested");
    assert_string_equal(desk_event_name(DESK_EV_AGENT_STATE), "agent-state");
    desk_done(d);
}

/* A subscriber that emits (an accept that routes, routing that offers):
 * the nested event is delivered at once, then the outer one goes on. */
static void sub_nested(void *ctx, const struct desk_event *ev)
{
    struct desk *d = ctx;
    (void)ev;
    note("nest");
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_OFFERED});
}

static void test_nested_emit(void **state)
{
    (void)state;
    struct desk *d = desk_with_bus();
    desk_events_subscribe(d, DESK_EV_ACCEPTED, DESK_PRIO_STATE, sub_note, "s");
    desk_events_subscribe(d, DESK_EV_ACCEPTED, DESK_PRIO_NOTIFY, sub_nested, d);
    desk_events_subscribe(d, DESK_EV_ACCEPTED, DESK_PRIO_ROUTE, sub_note, "r");
    desk_events_subscribe(d, DESK_EV_OFFERED, DESK_PRIO_NOTIFY, sub_note, "o");
    /* Many subscribers on one kind: the array grows. */
    for (int i = 0; i < 20; i++)
        assert_int_equal(desk_events_subscribe(d, DESK_EV_RATED, i, sub_note,
                                               "n"), 0);
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_ACCEPTED});
    assert_string_equal(trace, "s:accepted nest o:offered r:accepted");
    desk_done(d);
}

/* No bus (a desk some test built without one): emitting is a no-op. */
static void test_no_bus(void **state)
{
    (void)state;
    struct desk d;
    memset(&d, 0, sizeof d);
    desk_events_emit(&d, &(struct desk_event){.kind = DESK_EV_ENDED});
    assert_int_equal(desk_events_subscribe(&d, DESK_EV_ENDED, 0, sub_note, "x"),
                     -1);
}

/* ---- the counts ----------------------------------------------------------------- */

static void test_metrics_subscriber(void **state)
{
    (void)state;
    struct desk *d = desk_with_bus();
    desk_counters_init(&d->counters, 0);
    assert_int_equal(desk_metrics_subscribe(d), 0);
    struct desk_chat c = {.desk = d, .id = 7};
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_REQUESTED,
                                             .chat = &c});
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_OFFERED,
                                             .chat = &c});
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_DECLINED,
                                             .chat = &c});
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_REQUEUED,
                                             .chat = &c});
    assert_int_equal(d->counters.chats_created, 1);
    assert_int_equal(d->counters.offers_made, 1);
    assert_int_equal(d->counters.offers_declined, 1);
    assert_int_equal(d->counters.chats_requeued, 1);
    /* The wait is observed only for a chat that was waiting. */
    desk_events_emit(d, &(struct desk_event){
                            .kind = DESK_EV_ACCEPTED, .chat = &c,
                            .accepted = {.waited = true, .waited_ms = 3000}});
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_ACCEPTED,
                                             .chat = &c,
                                             .accepted = {.transfer = true}});
    assert_int_equal(d->counters.wait.count, 1);
    /* The outcome is read from the state before the end. */
    desk_events_emit(d, &(struct desk_event){
                            .kind = DESK_EV_ENDED, .chat = &c,
                            .ended = {.status = TICKET_RESOLVED,
                                      .was = DESK_CHAT_WAITING}});
    desk_events_emit(d, &(struct desk_event){
                            .kind = DESK_EV_ENDED, .chat = &c,
                            .ended = {.status = TICKET_RESOLVED,
                                      .was = DESK_CHAT_ACTIVE}});
    desk_events_emit(d, &(struct desk_event){
                            .kind = DESK_EV_ENDED, .chat = &c,
                            .ended = {.status = TICKET_QUEUED,
                                      .was = DESK_CHAT_WAITING}});
    assert_int_equal(d->counters.chats_ended[DESK_OUTCOME_ABANDONED], 1);
    assert_int_equal(d->counters.chats_ended[DESK_OUTCOME_RESOLVED], 1);
    assert_int_equal(d->counters.chats_ended[DESK_OUTCOME_QUEUED], 1);
    desk_done(d);
}

/* ---- the plugins' view ------------------------------------------------------------ */

struct heard {
    char log[512];
};

static void heard_event(void *state, const struct mucdesk_event *ev)
{
    struct heard *h = state;
    size_t n = strlen(h->log);
    snprintf(h->log + n, sizeof h->log - n, "%s%d:%s:%lld:%s:%s:%d",
             n ? " " : "", (int)ev->kind, ev->queue ? ev->queue : "-",
             (long long)ev->ticket, ev->actor_jid ? ev->actor_jid : "-",
             ev->status ? ev->status : "-", ev->rating);
}

static void heard_event_abi2(void *state, const struct mucdesk_event *ev)
{
    /* An ABI 2 plugin reads no further than `status`. */
    struct heard *h = state;
    size_t n = strlen(h->log);
    snprintf(h->log + n, sizeof h->log - n, "%s%d:%lld", n ? " " : "",
             (int)ev->kind, (long long)ev->ticket);
}

static void test_plugin_subscriber(void **state)
{
    (void)state;
    struct desk *d = desk_with_bus();
    assert_int_equal(desk_plugins_subscribe(d), 0);
    static const struct mucdesk_plugin feature3 = {
        .abi = 3, .name = "f3", .event = heard_event};
    static const struct mucdesk_plugin feature2 = {
        .abi = 2, .name = "f2", .event = heard_event_abi2};
    static const struct mucdesk_plugin strategy = {
        .abi = 3, .name = "s", .event = heard_event};
    struct heard h3 = {""}, h2 = {""}, hs = {""}, hs_other = {""};
    struct desk_plugin_ref r3 = {.name = "f3", .plugin = &feature3,
                                 .state = &h3, .feature = true};
    struct desk_plugin_ref r2 = {.name = "f2", .plugin = &feature2,
                                 .state = &h2, .feature = true, .next = &r3};
    struct desk_plugin_ref rs = {.name = "s", .plugin = &strategy,
                                 .state = &hs, .next = &r2};
    struct desk_plugin_ref ro = {.name = "s2", .plugin = &strategy,
                                 .state = &hs_other, .next = &rs};
    d->plugins = &ro;
    struct desk_queue q = {.desk = d, .name = "billing", .plugin = &rs};
    struct desk_queue other = {.desk = d, .name = "sales", .plugin = &ro};
    HASH_ADD_KEYPTR(hh, d->queues, q.name, strlen(q.name), &q);
    HASH_ADD_KEYPTR(hh, d->queues, other.name, strlen(other.name), &other);
    struct desk_chat c = {.desk = d, .id = 42, .queue = "billing",
                          .status = TICKET_INPROGRESS};
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_ACCEPTED,
                                             .chat = &c,
                                             .actor = "agent@x"});
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_DECLINED,
                                             .chat = &c, .actor = "bob@x"});
    c.status = TICKET_RESOLVED;
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_RATED,
                                             .chat = &c, .actor = "cust@y",
                                             .rated = {4}});
    struct desk_staff s = {.jid = "agent@x"};
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_AGENT_STATE,
                                             .actor = s.jid,
                                             .agent_state = {&s, true}});
    /* Internal kinds are not the plugins' business. */
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_CHAT_GONE,
                                             .chat = &c});
    char want[512];
    snprintf(want, sizeof want,
             "%d:billing:42:agent@x:INPROGRESS:0 "
             "%d:billing:42:bob@x:INPROGRESS:0 "
             "%d:billing:42:cust@y:RESOLVED:4 "
             "%d:-:0:agent@x:busy:0",
             MUCDESK_EVENT_ACCEPTED, MUCDESK_EVENT_DECLINED,
             MUCDESK_EVENT_RATED, MUCDESK_EVENT_AGENT_STATE);
    assert_string_equal(h3.log, want);
    /* ABI 2: the kinds it had, no more. */
    snprintf(want, sizeof want, "%d:42 %d:42", MUCDESK_EVENT_ACCEPTED,
             MUCDESK_EVENT_RATED);
    assert_string_equal(h2.log, want);
    /* The queue's strategy hears its chats, not agents; another queue's
     * strategy hears nothing. */
    snprintf(want, sizeof want,
             "%d:billing:42:agent@x:INPROGRESS:0 "
             "%d:billing:42:bob@x:INPROGRESS:0 "
             "%d:billing:42:cust@y:RESOLVED:4",
             MUCDESK_EVENT_ACCEPTED, MUCDESK_EVENT_DECLINED,
             MUCDESK_EVENT_RATED);
    assert_string_equal(hs.log, want);
    assert_string_equal(hs_other.log, "");
    HASH_CLEAR(hh, d->queues);
    desk_done(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_kinds_apart),
        cmocka_unit_test(test_nested_emit),
        cmocka_unit_test(test_no_bus),
        cmocka_unit_test(test_metrics_subscriber),
        cmocka_unit_test(test_plugin_subscriber),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
