/* Unit tests: the desk's routing decisions (desk/routing.c) with the real
 * strategy plugins (dlopen of plugins/NAME.so, as the daemon loads them)
 * and nothing below: queues, members, staff and chats are the desk's own
 * structures, built here; presence and room occupants are reported as
 * queue.c and chat.c report them, and the offer routing makes is recorded
 * (with the bookkeeping desk_offer_make does) instead of inviting.
 *
 * Besides the rules one by one (eligibility, order, decline skips,
 * max chats, one offer per agent, each strategy's pick), a model check:
 * random sequences of events, after each of which the incremental routing
 * must have made exactly the offers of the rule applied to every waiting
 * chat (a plain re-implementation of the full pass the desk ran before,
 * here as the oracle); and counts of the strategy's calls, which is what
 * "O(what changed)" means: a presence change that makes nobody eligible
 * asks nothing, however many chats wait. */
#include "cmocka_prelude.h"
#include "core/loop.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define MAX_CHATS 1000
#define MAX_STAFF 16
#define SKIP_MS 20000

/* ---- plugins, with a count of the questions asked ---------------------------------- */

static const struct mucdesk_plugin *load(const char *name)
{
    const char *dir = getenv("MUCDESK_PLUGIN_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.so", dir ? dir : "plugins/.libs", name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        print_message("plugin %s not built (%s): skipped\n", name, dlerror());
        return NULL;
    }
    const struct mucdesk_plugin *p = dlsym(h, MUCDESK_PLUGIN_SYMBOL);
    assert_non_null(p);
    assert_non_null(p->pick_agent);
    return p;
}

/* The strategy a queue uses, behind a wrapper that counts its calls. */
struct counted {
    const struct mucdesk_plugin *real;
    void *real_state;
    unsigned long asks;
    unsigned long candidates; /* summed over the asks */
};

static int counted_pick(void *state, const struct mucdesk_route_request *req)
{
    struct counted *c = state;
    c->asks++;
    c->candidates += req->candidate_count;
    return c->real->pick_agent(c->real_state, req);
}

static const struct mucdesk_plugin counted_plugin = {
    .abi = MUCDESK_PLUGIN_ABI,
    .name = "counted",
    .pick_agent = counted_pick,
};

/* ---- a desk of hand-built structures ----------------------------------------------------- */

struct world {
    struct desk d;                /* first: c->desk leads back here */
    struct desk_queue *queues[4];
    struct counted strat[4];
    struct desk_plugin_ref refs[4];
    size_t nqueues;
    struct desk_staff *staff[MAX_STAFF];
    size_t nstaff;
    struct desk_chat *chats[MAX_CHATS];
    size_t nchats;
    uint64_t clock;               /* a fake time for the candidates' fields */
    char offers[4096];            /* "ticket>agent " for each offer made */
    int dummy_room;               /* what a room pointer points to */
};

static struct loop *loop;

static int setup(void **state)
{
    (void)state;
    loop = loop_new();
    return loop ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    loop_free(loop);
    return 0;
}

static struct desk_staff *staff_get(struct world *w, const char *jid)
{
    for (size_t i = 0; i < w->nstaff; i++)
        if (strcmp(w->staff[i]->jid, jid) == 0)
            return w->staff[i];
    assert_true(w->nstaff < MAX_STAFF);
    struct desk_staff *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->jid = strdup(jid);
    HASH_ADD_KEYPTR(hh, w->d.staff, s->jid, strlen(s->jid), s);
    w->staff[w->nstaff++] = s;
    return s;
}

/* What desk_offer_make does to the routing state (its invitation, timer and
 * plugin event are the MUC's and queue.c's business). */
static int record_offer(struct desk_chat *c, const char *jid)
{
    struct world *w = (struct world *)c->desk;
    struct desk_staff *s = staff_get(w, jid);
    size_t len = strlen(w->offers);
    snprintf(w->offers + len, sizeof w->offers - len, "%lld>%s ",
             (long long)c->id, jid);
    if (desk_routing_offer_started(c, s, jid) < 0)
        return -1;
    s->last_offer_ms = ++w->clock;
    return 0;
}

static struct world *world_new(void)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->d.loop = loop;
    w->d.route_offer = record_offer;
    w->clock = 1000;
    return w;
}

/* A queue with a strategy and members "jid:max:skill,skill" (skills
 * optional), in membership order. */
static struct desk_queue *queue_add(struct world *w, const char *name,
                                    const char *strategy,
                                    const char *const *members)
{
    assert_true(w->nqueues < 4);
    const struct mucdesk_plugin *real = load(strategy);
    if (!real)
        return NULL;
    size_t k = w->nqueues++;
    struct counted *cs = &w->strat[k];
    cs->real = real;
    if (real->init)
        assert_int_equal(real->init(&cs->real_state), 0);
    w->refs[k] = (struct desk_plugin_ref){.name = (char *)strategy,
                                          .plugin = &counted_plugin,
                                          .state = cs};
    struct desk_queue *q = calloc(1, sizeof *q);
    assert_non_null(q);
    q->desk = &w->d;
    q->name = strdup(name);
    q->room = (struct muc_room *)&w->dummy_room;
    q->plugin = &w->refs[k];
    size_t n = 0;
    while (members[n])
        n++;
    q->members = calloc(n + 1, sizeof *q->members);
    for (size_t i = 0; i < n; i++) {
        struct desk_member *m = &q->members[i];
        char spec[256];
        snprintf(spec, sizeof spec, "%s", members[i]);
        char *max = strchr(spec, ':');
        assert_non_null(max);
        *max++ = '\0';
        char *skills = strchr(max, ':');
        if (skills)
            *skills++ = '\0';
        m->jid = strdup(spec);
        m->role = DESK_ROLE_AGENT;
        m->max_chats = atoi(max);
        m->takes_chats = true;
        m->skills = calloc(8, sizeof *m->skills);
        char *save = NULL;
        for (char *t = skills ? strtok_r(skills, ",", &save) : NULL; t;
             t = strtok_r(NULL, ",", &save))
            m->skills[m->skill_count++] = strdup(t);
        HASH_ADD_KEYPTR(hh, q->member_index, m->jid, strlen(m->jid), m);
        m->staff = staff_get(w, m->jid);
        q->member_count++;
    }
    HASH_ADD_KEYPTR(hh, w->d.queues, q->name, strlen(q->name), q);
    w->queues[k] = q;
    return q;
}

static struct desk_member *member(struct desk_queue *q, const char *jid)
{
    struct desk_member *m = NULL;
    HASH_FIND_STR(q->member_index, jid, m);
    assert_non_null(m);
    return m;
}

/* The member enters (or leaves) the queue room, available. */
static void shown(struct desk_queue *q, const char *jid, bool on)
{
    struct desk_member *m = member(q, jid);
    m->occupants = on ? 1 : 0;
    desk_routing_member_shown(m, on);
}

static struct desk_chat *chat_new(struct world *w, struct desk_queue *q,
                                  const char *skills)
{
    assert_true(w->nchats < MAX_CHATS);
    struct desk_chat *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->desk = &w->d;
    c->id = (int64_t)w->nchats + 1;
    c->queue = strdup(q->name);
    c->room = (struct muc_room *)&w->dummy_room;
    c->skills = skills ? strdup(skills) : NULL;
    c->state = DESK_CHAT_WAITING;
    c->enqueued_ms = loop_now(loop);
    w->chats[w->nchats++] = c;
    desk_wait_add(q, c, false);
    return c;
}

static struct desk_queue *queue_of(struct world *w, const struct desk_chat *c)
{
    for (size_t i = 0; i < w->nqueues; i++)
        if (strcmp(w->queues[i]->name, c->queue) == 0)
            return w->queues[i];
    return NULL;
}

static void names_free(struct desk_name *n)
{
    while (n) {
        struct desk_name *next = n->next;
        free(n->jid);
        free(n);
        n = next;
    }
}

static void world_free(struct world *w)
{
    for (size_t i = 0; i < w->nchats; i++) {
        struct desk_chat *c = w->chats[i];
        desk_wait_remove(c);
        names_free(c->declines);
        names_free(c->in_room);
        free(c->offered_to);
        free(c->owner_jid);
        free(c->queue);
        free(c->skills);
        free(c);
    }
    for (size_t k = 0; k < w->nqueues; k++) {
        struct desk_queue *q = w->queues[k];
        HASH_DEL(w->d.queues, q);
        desk_routing_queue_free(q);
        HASH_CLEAR(hh, q->member_index);
        for (size_t i = 0; i < q->member_count; i++) {
            for (size_t j = 0; j < q->members[i].skill_count; j++)
                free(q->members[i].skills[j]);
            free(q->members[i].skills);
            free(q->members[i].jid);
        }
        free(q->members);
        free(q->name);
        free(q);
        if (w->strat[k].real->fini)
            w->strat[k].real->fini(w->strat[k].real_state);
    }
    for (size_t i = 0; i < w->nstaff; i++) {
        HASH_DEL(w->d.staff, w->staff[i]);
        desk_routing_staff_free(w->staff[i]);
        free(w->staff[i]->jid);
        free(w->staff[i]);
    }
    free(w);
}

/* ---- events, as chat.c and queue.c report them ---------------------------------------- */

static void decline(struct world *w, struct desk_chat *c)
{
    assert_non_null(c->offered_to);
    struct desk_staff *s = staff_get(w, c->offered_to);
    desk_routing_offer_ended(c, s, loop_now(loop) + SKIP_MS);
}

static void accept(struct world *w, struct desk_chat *c)
{
    assert_non_null(c->offered_to);
    struct desk_staff *s = staff_get(w, c->offered_to);
    c->owner_jid = strdup(c->offered_to);
    desk_routing_offer_ended(c, s, 0);
    desk_wait_remove(c);
    c->state = DESK_CHAT_ACTIVE;
    s->active++;
    desk_routing_staff_changed(&w->d, s, true);
}

/* The owner's chat ends (it leaves or is requeued to q, at the front). */
static void release(struct world *w, struct desk_chat *c, struct desk_queue *q)
{
    struct desk_staff *s = staff_get(w, c->owner_jid);
    free(c->owner_jid);
    c->owner_jid = NULL;
    s->active--;
    s->idle_since_ms = ++w->clock;
    desk_routing_staff_changed(&w->d, s, true);
    if (q) {
        free(c->queue);
        c->queue = strdup(q->name);
        c->state = DESK_CHAT_WAITING;
        desk_wait_add(q, c, true);
    } else {
        c->state = DESK_CHAT_ENDED;
    }
}

static void busy(struct world *w, struct desk_staff *s, bool on)
{
    s->busy = on;
    if (on && s->offer)
        desk_routing_offer_ended(s->offer, s, 0);
    desk_routing_staff_changed(&w->d, s, false);
}

/* Every skip of c ends. */
static void skips_end(struct desk_chat *c)
{
    for (struct desk_name *n = c->declines; n; n = n->next)
        n->until_ms = 0;
    desk_routing_skips_expired(c);
}

static const char *offer_of(const struct desk_chat *c)
{
    return c->offered_to ? c->offered_to : "-";
}

static void route(struct world *w)
{
    desk_routing_run(&w->d);
}

/* ---- the rules, one by one --------------------------------------------------------------- */

static void test_eligibility(void **state)
{
    (void)state;
    struct world *w = world_new();
    const char *const members[] = {"ann@x:2", "bob@x:2", NULL};
    struct desk_queue *q = queue_add(w, "q", "least-busy", members);
    if (!q) {
        world_free(w);
        skip();
    }
    desk_routing_rebuild(&w->d);
    struct desk_chat *c1 = chat_new(w, q, NULL);
    route(w);
    assert_null(c1->offered_to); /* nobody in the queue room */
    assert_int_equal(q->available_count, 0);

    shown(q, "ann@x", true);
    route(w);
    assert_string_equal(offer_of(c1), "ann@x");
    assert_int_equal(q->available_count, 1); /* holding an offer counts */
    assert_int_equal(q->eligible_count, 0);

    /* Away (or leaving the room) takes nothing back, but ann gets nothing
     * new: bob, when he comes, gets the next chat. */
    struct desk_chat *c2 = chat_new(w, q, NULL);
    shown(q, "ann@x", false);
    route(w);
    assert_null(c2->offered_to);
    assert_string_equal(offer_of(c1), "ann@x");
    shown(q, "bob@x", true);
    route(w);
    assert_string_equal(offer_of(c2), "bob@x");

    /* Busy: no new chats even while present. */
    accept(w, c2);
    busy(w, staff_get(w, "bob@x"), true);
    struct desk_chat *c3 = chat_new(w, q, NULL);
    route(w);
    assert_null(c3->offered_to);
    busy(w, staff_get(w, "bob@x"), false);
    route(w);
    assert_string_equal(offer_of(c3), "bob@x");
    world_free(w);
}

static void test_order_of_waiting_chats(void **state)
{
    (void)state;
    struct world *w = world_new();
    const char *const members[] = {"ann@x:5", NULL};
    struct desk_queue *q = queue_add(w, "q", "round-robin", members);
    if (!q) {
        world_free(w);
        skip();
    }
    desk_routing_rebuild(&w->d);
    struct desk_chat *c1 = chat_new(w, q, NULL);
    struct desk_chat *c2 = chat_new(w, q, NULL);
    struct desk_chat *c3 = chat_new(w, q, NULL);
    assert_int_equal(q->waiting_count, 3);
    shown(q, "ann@x", true);
    route(w);
    /* The first in the queue first; one at a time. */
    assert_string_equal(offer_of(c1), "ann@x");
    assert_null(c2->offered_to);
    accept(w, c1);
    route(w);
    assert_string_equal(offer_of(c2), "ann@x");
    /* A requeued chat goes to the front: it waited already. */
    decline(w, c2);
    release(w, c1, q);
    route(w);
    assert_true(q->wait_head == c1);
    assert_string_equal(offer_of(c1), "ann@x");
    assert_null(c2->offered_to); /* declined by ann, and c1 came first */
    assert_null(c3->offered_to);
    accept(w, c1);
    route(w);
    assert_string_equal(offer_of(c3), "ann@x"); /* c2: ann is skipped */
    /* The subject's longest wait: the first enqueued still waiting. */
    assert_true(q->age_head == c2);
    world_free(w);
}

static void test_decline_skip_and_its_end(void **state)
{
    (void)state;
    struct world *w = world_new();
    const char *const members[] = {"ann@x:3", "bob@x:3", NULL};
    struct desk_queue *q = queue_add(w, "q", "least-busy", members);
    if (!q) {
        world_free(w);
        skip();
    }
    desk_routing_rebuild(&w->d);
    shown(q, "ann@x", true);
    struct desk_chat *c1 = chat_new(w, q, NULL);
    route(w);
    assert_string_equal(offer_of(c1), "ann@x");
    decline(w, c1);
    route(w);
    assert_null(c1->offered_to); /* ann is skipped, nobody else is here */
    assert_non_null(c1->declines);
    shown(q, "bob@x", true);
    route(w);
    assert_string_equal(offer_of(c1), "bob@x");
    decline(w, c1);
    route(w);
    assert_null(c1->offered_to); /* both skipped */
    /* ann may take another chat meanwhile */
    struct desk_chat *c2 = chat_new(w, q, NULL);
    route(w);
    assert_string_equal(offer_of(c2), "ann@x");
    /* The skips end: bob, free, gets c1 again. */
    assert_true(desk_routing_next_skip(c1) > loop_now(loop));
    skips_end(c1);
    assert_null(c1->declines);
    route(w);
    assert_string_equal(offer_of(c1), "bob@x");
    world_free(w);
}

static void test_max_chats_and_one_offer_per_agent(void **state)
{
    (void)state;
    struct world *w = world_new();
    const char *const members[] = {"ann@x:2", NULL};
    struct desk_queue *q = queue_add(w, "q", "least-busy", members);
    if (!q) {
        world_free(w);
        skip();
    }
    desk_routing_rebuild(&w->d);
    shown(q, "ann@x", true);
    struct desk_chat *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = chat_new(w, q, NULL);
    route(w);
    /* One offer at a time, however many chats wait. */
    assert_string_equal(offer_of(c[0]), "ann@x");
    for (int i = 1; i < 4; i++)
        assert_null(c[i]->offered_to);
    accept(w, c[0]);
    route(w);
    assert_string_equal(offer_of(c[1]), "ann@x");
    accept(w, c[1]);
    route(w);
    /* Two chats: her maximum. */
    assert_null(c[2]->offered_to);
    assert_int_equal(q->available_count, 0);
    release(w, c[0], NULL);
    route(w);
    assert_string_equal(offer_of(c[2]), "ann@x");
    world_free(w);
}

static void test_staff_in_the_room(void **state)
{
    (void)state;
    struct world *w = world_new();
    const char *const members[] = {"ann@x:3", NULL};
    struct desk_queue *q = queue_add(w, "q", "least-busy", members);
    if (!q) {
        world_free(w);
        skip();
    }
    desk_routing_rebuild(&w->d);
    struct desk_chat *c1 = chat_new(w, q, NULL);
    assert_int_equal(desk_routing_chat_occupant(c1, "ann@x", true), 0);
    shown(q, "ann@x", true);
    route(w);
    assert_null(c1->offered_to); /* already in that chat */
    desk_routing_chat_occupant(c1, "ann@x", false);
    route(w);
    assert_string_equal(offer_of(c1), "ann@x");
    world_free(w);
}

/* Three agents of a queue of their own, available: a with two chats,
 * b and c with one (c idle longer), offered last at 500, 100 and 300. */
static struct desk_queue *strategy_queue(struct world *w, const char *name,
                                         const char *strategy)
{
    char a[64], b[64], c[64];
    snprintf(a, sizeof a, "a.%s@x:3:english", name);
    snprintf(b, sizeof b, "b.%s@x:3:english,french", name);
    snprintf(c, sizeof c, "c.%s@x:3:english", name);
    const char *const members[] = {a, b, c, NULL};
    struct desk_queue *q = queue_add(w, name, strategy, members);
    if (!q)
        return NULL;
    desk_routing_rebuild(&w->d);
    const int active[] = {2, 1, 1};
    const uint64_t idle[] = {50, 300, 200}, offered[] = {500, 100, 300};
    for (size_t i = 0; i < 3; i++) {
        struct desk_member *m = &q->members[i];
        m->staff->active = active[i];
        m->staff->idle_since_ms = idle[i];
        m->staff->last_offer_ms = offered[i];
        desk_routing_staff_changed(&w->d, m->staff, true);
        shown(q, m->jid, true);
    }
    return q;
}

/* Each strategy's pick, among the candidates routing gives it. */
static void test_strategies(void **state)
{
    (void)state;
    struct world *w = world_new();
    struct desk_queue *lb = strategy_queue(w, "lb", "least-busy");
    struct desk_queue *rr = strategy_queue(w, "rr", "round-robin");
    struct desk_queue *sk = strategy_queue(w, "sk", "skills");
    struct desk_queue *mn = strategy_queue(w, "mn", "manual");
    if (!lb || !rr || !sk || !mn) {
        world_free(w);
        skip();
    }
    /* least-busy: fewest chats, then idle longest */
    struct desk_chat *l = chat_new(w, lb, NULL);
    /* round-robin: offered longest ago */
    struct desk_chat *r = chat_new(w, rr, NULL);
    /* skills: nobody speaks German (the chat waits, announced); only b
     * French; English: the least busy of those left */
    struct desk_chat *german = chat_new(w, sk, "german");
    struct desk_chat *french = chat_new(w, sk, "french");
    struct desk_chat *english = chat_new(w, sk, "english");
    /* manual: nobody, ever */
    struct desk_chat *m = chat_new(w, mn, NULL);
    route(w);
    assert_string_equal(offer_of(l), "c.lb@x");
    assert_string_equal(offer_of(r), "b.rr@x");
    assert_null(german->offered_to);
    assert_string_equal(offer_of(french), "b.sk@x");
    assert_string_equal(offer_of(english), "c.sk@x");
    assert_null(m->offered_to);
    /* The next in turn, as each strategy sees it. */
    struct desk_chat *l2 = chat_new(w, lb, NULL);
    struct desk_chat *r2 = chat_new(w, rr, NULL);
    route(w);
    assert_string_equal(offer_of(l2), "b.lb@x");
    assert_string_equal(offer_of(r2), "c.rr@x");
    world_free(w);
}

/* What "O(what changed)" means, in questions asked of the strategy. */
static void test_cost_of_a_presence_change(void **state)
{
    (void)state;
    const char *const members[] = {"ann@x:3", "bob@x:3", "cid@x:3", NULL};
    struct world *w = world_new();
    struct desk_queue *q = queue_add(w, "q", "least-busy", members);
    if (!q) {
        world_free(w);
        skip();
    }
    desk_routing_rebuild(&w->d);
    for (int i = 0; i < 300; i++)
        chat_new(w, q, NULL);
    shown(q, "ann@x", true);
    shown(q, "bob@x", true);
    route(w);
    assert_string_equal(offer_of(w->chats[0]), "ann@x");
    assert_string_equal(offer_of(w->chats[1]), "bob@x");
    /* Both hold offers: presence changes of theirs make nobody eligible and
     * ask nothing, whatever waits. */
    unsigned long before = w->strat[0].asks;
    for (int i = 0; i < 50; i++) {
        shown(q, "ann@x", i % 2 == 0 ? false : true);
        route(w);
    }
    assert_int_equal(w->strat[0].asks, before);
    /* cid arrives: one question (one class: no skills), one offer. */
    shown(q, "cid@x", true);
    route(w);
    assert_int_equal(w->strat[0].asks, before + 1);
    assert_string_equal(offer_of(w->chats[2]), "cid@x");
    /* A decline: the chat is looked at again (no candidate: ann is skipped,
     * the others hold offers, so the strategy is not even called), and
     * ann, free, is asked about once: for the first chat she may take. */
    before = w->strat[0].asks;
    decline(w, w->chats[0]);
    route(w);
    assert_int_equal(w->strat[0].asks, before + 1);
    assert_null(w->chats[0]->offered_to);
    assert_string_equal(offer_of(w->chats[3]), "ann@x");
    world_free(w);
}

/* Customers pick the skills their chat needs: skills no member has all
 * make one class, so they cannot multiply the questions. */
static void test_unknown_skills_make_one_class(void **state)
{
    (void)state;
    const char *const members[] = {"ann@x:3:tech", "bob@x:3:billing", NULL};
    struct world *w = world_new();
    struct desk_queue *q = queue_add(w, "q", "skills", members);
    if (!q) {
        world_free(w);
        skip();
    }
    desk_routing_rebuild(&w->d);
    for (int i = 0; i < 100; i++) {
        char sk[32];
        snprintf(sk, sizeof sk, "junk%d", i);
        chat_new(w, q, sk);
    }
    struct desk_chat *tech = chat_new(w, q, "tech,junk7");
    struct desk_chat *billing = chat_new(w, q, "billing");
    assert_int_equal(HASH_COUNT(q->classes), 3);
    /* A class is a set of skills: order and repeats do not count. */
    struct desk_chat *both = chat_new(w, q, "tech,billing");
    struct desk_chat *again = chat_new(w, q, "billing,tech,billing");
    struct desk_chat *other = chat_new(w, q, "junk3,tech");
    assert_true(both->rclass == again->rclass);
    assert_true(both->rclass != billing->rclass);
    assert_true(other->rclass == tech->rclass);
    assert_int_equal(HASH_COUNT(q->classes), 4);
    shown(q, "ann@x", true);
    unsigned long before = w->strat[0].asks;
    route(w);
    assert_null(tech->offered_to); /* nobody has junk7 */
    assert_null(billing->offered_to); /* ann has no billing */
    assert_null(both->offered_to);
    /* One question per class, not per chat. */
    assert_true(w->strat[0].asks - before <= 4);
    shown(q, "bob@x", true);
    route(w);
    assert_string_equal(offer_of(billing), "bob@x");
    world_free(w);
}

/* ---- the model check: incremental routing == the full pass, after every event ---------- */

/* The rule applied to every waiting chat, as the desk did before
 * routing.c: the oracle. */
static void full_pass(struct world *w)
{
    uint64_t now = loop_now(loop);
    for (struct desk_queue *q = w->d.queues; q; q = q->hh.next) {
        for (struct desk_chat *c = q->wait_head; c; c = c->wnext) {
            if (c->offered_to || !c->room)
                continue;
            struct mucdesk_candidate cands[MAX_STAFF];
            size_t n = 0;
            for (size_t i = 0; i < q->member_count; i++) {
                const struct desk_member *m = &q->members[i];
                const struct desk_staff *s = m->staff;
                if (!m->shown || s->busy || s->active >= m->max_chats ||
                    s->offer)
                    continue;
                bool skipped = false;
                for (const struct desk_name *d = c->declines; d; d = d->next)
                    skipped |= strcmp(d->jid, m->jid) == 0 && now < d->until_ms;
                for (const struct desk_name *d = c->in_room; d; d = d->next)
                    skipped |= strcmp(d->jid, m->jid) == 0;
                if (skipped)
                    continue;
                cands[n++] = (struct mucdesk_candidate){
                    m->jid, s->active, m->max_chats, s->idle_since_ms,
                    s->last_offer_ms, (const char *const *)m->skills,
                    m->skill_count};
            }
            const char *req[32];
            size_t nreq = 0;
            char *copy = c->skills ? strdup(c->skills) : NULL, *save = NULL;
            for (char *t = copy ? strtok_r(copy, ",", &save) : NULL;
                 t && nreq < 32; t = strtok_r(NULL, ",", &save))
                req[nreq++] = t;
            struct counted *cs = q->plugin->state;
            struct mucdesk_route_request r = {q->name, c->id, req, nreq,
                                              cands, n};
            int pick = n ? cs->real->pick_agent(cs->real_state, &r) : -1;
            free(copy);
            if (pick >= 0)
                record_offer(c, cands[pick].jid);
        }
    }
}

static const char *const model_members[3][6] = {
    {"a0@x:2:tech", "a1@x:1:tech,billing", "a2@x:3:billing", "a3@x:2",
     "a4@x:1:french,tech", NULL},
    {"a2@x:2:billing", "a5@x:2:tech", "a0@x:1", "a6@x:2:french", NULL},
    {"a7@x:1", "a3@x:3:tech", "a1@x:2:billing", NULL},
};
static const char *const model_skills[] = {NULL, NULL, "tech", "billing",
                                           "tech,billing", "french", "german",
                                           "tech,german"};

static struct world *model_world(const char *const strategies[3])
{
    struct world *w = world_new();
    for (int k = 0; k < 3; k++) {
        char name[8];
        snprintf(name, sizeof name, "q%d", k);
        if (!queue_add(w, name, strategies[k], model_members[k])) {
            world_free(w);
            return NULL;
        }
    }
    desk_routing_rebuild(&w->d);
    return w;
}

static uint64_t model_rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
    model_rng ^= model_rng << 13;
    model_rng ^= model_rng >> 7;
    model_rng ^= model_rng << 17;
    return (unsigned)(model_rng % n);
}

static bool is_offered(const struct desk_chat *c)
{
    return c->offered_to && c->state == DESK_CHAT_WAITING;
}

static bool is_owned(const struct desk_chat *c)
{
    return c->state == DESK_CHAT_ACTIVE && !c->offered_to;
}

static bool is_waiting(const struct desk_chat *c)
{
    return c->state == DESK_CHAT_WAITING;
}

static bool has_skips(const struct desk_chat *c)
{
    return c->declines != NULL;
}

static bool has_staff_in(const struct desk_chat *c)
{
    return c->in_room != NULL && c->state == DESK_CHAT_WAITING;
}

/* The (k mod count)-th chat that `what` holds for, or NULL. */
static struct desk_chat *some_chat(struct world *w,
                                   bool (*what)(const struct desk_chat *),
                                   unsigned k)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nchats; i++)
        n += what(w->chats[i]);
    if (!n)
        return NULL;
    k %= (unsigned)n;
    for (size_t i = 0; i < w->nchats; i++)
        if (what(w->chats[i]) && k-- == 0)
            return w->chats[i];
    return NULL;
}

/* One random event, the same in both worlds (r: the random draws). */
static void model_event(struct world *w, const unsigned r[4], bool rebuild_ok)
{
    struct desk_queue *q = w->queues[r[1] % w->nqueues];
    struct desk_chat *c;
    switch (r[0]) {
    case 0: case 1: case 2: { /* presence */
        struct desk_member *m = &q->members[r[2] % q->member_count];
        shown(q, m->jid, !m->shown);
        break;
    }
    case 3: /* busy */
        busy(w, w->staff[r[2] % w->nstaff], r[3] % 2);
        break;
    case 4: case 5: /* a new chat (few wait: agents are free at times) */
        if (w->nchats < MAX_CHATS &&
            w->queues[0]->waiting_count + w->queues[1]->waiting_count +
                    w->queues[2]->waiting_count <
                12)
            chat_new(w, q, model_skills[r[2] % 8]);
        break;
    case 6: /* a decline, or the offer timed out */
        if ((c = some_chat(w, is_offered, r[2])))
            decline(w, c);
        break;
    case 7: /* the offered agent joins */
        if ((c = some_chat(w, is_offered, r[2])))
            accept(w, c);
        break;
    case 8: /* the chat ends, or goes back to a queue */
        if ((c = some_chat(w, is_owned, r[2])))
            release(w, c, r[3] % 2 ? q : NULL);
        break;
    case 9: /* decline skips end */
        if ((c = some_chat(w, has_skips, r[2])))
            skips_end(c);
        break;
    case 10: /* staff of the queue enter a waiting chat's room */
        if ((c = some_chat(w, is_waiting, r[2]))) {
            struct desk_queue *cq = queue_of(w, c);
            desk_routing_chat_occupant(
                c, cq->members[r[3] % cq->member_count].jid, true);
        }
        break;
    case 11: /* and leave it */
        if ((c = some_chat(w, has_staff_in, r[2])))
            desk_routing_chat_occupant(c, c->in_room->jid, false);
        break;
    case 12: /* a directory reload */
        if (rebuild_ok)
            desk_routing_rebuild(&w->d);
        break;
    }
}

static void model_check(const char *const strategies[3], unsigned events)
{
    struct world *inc = model_world(strategies);
    struct world *ref = model_world(strategies);
    if (!inc || !ref) {
        if (inc)
            world_free(inc);
        if (ref)
            world_free(ref);
        skip();
    }
    for (unsigned e = 0; e < events; e++) {
        unsigned r[4] = {rnd(13), rnd(1000), rnd(1000), rnd(1000)};
        model_event(inc, r, true);
        model_event(ref, r, false);
        route(inc);
        full_pass(ref);
        if (strcmp(inc->offers, ref->offers) != 0 ||
            inc->nchats != ref->nchats) {
            print_message("event %u (%u %u %u %u):\n  incremental %s\n"
                          "  full pass   %s\n",
                          e, r[0], r[1], r[2], r[3], inc->offers, ref->offers);
            fail();
        }
        for (size_t i = 0; i < inc->nchats; i++)
            assert_string_equal(offer_of(inc->chats[i]),
                                offer_of(ref->chats[i]));
        inc->offers[0] = ref->offers[0] = '\0';
    }
    world_free(inc);
    world_free(ref);
}

static void test_model_least_busy(void **state)
{
    (void)state;
    const char *const s[3] = {"least-busy", "least-busy", "least-busy"};
    model_check(s, 20000);
}

static void test_model_round_robin(void **state)
{
    (void)state;
    const char *const s[3] = {"round-robin", "round-robin", "round-robin"};
    model_check(s, 20000);
}

static void test_model_skills(void **state)
{
    (void)state;
    const char *const s[3] = {"skills", "skills", "skills"};
    model_check(s, 20000);
}

static void test_model_mixed(void **state)
{
    (void)state;
    const char *const s[3] = {"skills", "manual", "least-busy"};
    model_check(s, 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eligibility),
        cmocka_unit_test(test_order_of_waiting_chats),
        cmocka_unit_test(test_decline_skip_and_its_end),
        cmocka_unit_test(test_max_chats_and_one_offer_per_agent),
        cmocka_unit_test(test_staff_in_the_room),
        cmocka_unit_test(test_strategies),
        cmocka_unit_test(test_cost_of_a_presence_change),
        cmocka_unit_test(test_unknown_skills_make_one_class),
        cmocka_unit_test(test_model_least_busy),
        cmocka_unit_test(test_model_round_robin),
        cmocka_unit_test(test_model_skills),
        cmocka_unit_test(test_model_mixed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
