/* The desk's event bus (events.h): per kind, the subscribers sorted by
 * priority, kept in an array that only grows at start-up, so that a
 * nested emit (a subscriber's own event) walks it safely. */
#include "build-config.h"

#include <stdlib.h>

#include "desk/events.h"
#include "desk/state.h"

struct subscriber {
    int priority;
    desk_event_fn fn;
    void *ctx;
};

struct desk_events {
    struct subscriber *subs[DESK_EV_COUNT];
    size_t len[DESK_EV_COUNT], cap[DESK_EV_COUNT];
};

struct desk_events *desk_events_new(void)
{
    return calloc(1, sizeof(struct desk_events));
}

void desk_events_free(struct desk_events *bus)
{
    if (!bus)
        return;
    for (int k = 0; k < DESK_EV_COUNT; k++)
        free(bus->subs[k]);
    free(bus);
}

int desk_events_subscribe(struct desk *d, enum desk_event_kind kind,
                          int priority, desk_event_fn fn, void *ctx)
{
    struct desk_events *bus = d->events;
    if (!bus || (unsigned)kind >= DESK_EV_COUNT || !fn)
        return -1;
    if (bus->len[kind] == bus->cap[kind]) {
        size_t cap = bus->cap[kind] ? 2 * bus->cap[kind] : 4;
        struct subscriber *s = realloc(bus->subs[kind], cap * sizeof *s);
        if (!s)
            return -1;
        bus->subs[kind] = s;
        bus->cap[kind] = cap;
    }
    /* After every one of the same priority: subscription order. */
    struct subscriber *s = bus->subs[kind];
    size_t i = bus->len[kind];
    while (i > 0 && s[i - 1].priority > priority) {
        s[i] = s[i - 1];
        i--;
    }
    s[i] = (struct subscriber){priority, fn, ctx};
    bus->len[kind]++;
    return 0;
}

void desk_events_emit(struct desk *d, const struct desk_event *ev)
{
    struct desk_events *bus = d->events;
    if (!bus || (unsigned)ev->kind >= DESK_EV_COUNT)
        return;
    for (size_t i = 0; i < bus->len[ev->kind]; i++) {
        const struct subscriber *s = &bus->subs[ev->kind][i];
        s->fn(s->ctx, ev);
    }
}

const char *desk_event_name(enum desk_event_kind kind)
{
    static const char *const names[DESK_EV_COUNT] = {
        [DESK_EV_REQUESTED] = "chat-requested",
        [DESK_EV_OFFERED] = "offered",
        [DESK_EV_DECLINED] = "declined",
        [DESK_EV_ACCEPTED] = "accepted",
        [DESK_EV_REQUEUED] = "requeued",
        [DESK_EV_ENDED] = "ended",
        [DESK_EV_RATED] = "rated",
        [DESK_EV_AGENT_STATE] = "agent-state",
        [DESK_EV_CHAT_GONE] = "chat-gone",
    };
    return (unsigned)kind < DESK_EV_COUNT ? names[kind] : "?";
}
