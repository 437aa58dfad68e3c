/* Unit tests: a chat's life in the desk (desk/chat.c, queue.c, session.c,
 * limits.c) over the real MUC, with the fakes the fuzz world uses below it
 * (tests/fuzz/fake.h: the link, the store and archive, libpq, the random
 * generator), so that nothing leaves the process and time is the loop's
 * own: loop_advance() moves the clock every timer reads (offers, the
 * customer's grace, the unentered chat's expiry).
 *
 * One queue, "help" (round-robin: the agent offered a chat longest ago
 * first; offers expire after 10 s; the customer is told after 60 s that
 * nobody is free), with four members:
 *   a1  agent, 2 chats at most
 *   a2  agent, 1 chat at most
 *   a3  agent who does not take chats (takes_chats = no)
 *   sup supervisor (takes none by role)
 * Each test starts from an empty world (no one present, no chat) and says
 * what it needs: staff entering the queue room, customers writing to the
 * queue, entering and leaving their chat's room.  What the service sends
 * is kept (stanzas addressed to someone, with `to`, `from` and the text)
 * so that a test can ask whom an invitation went to. */
#include "cmocka_prelude.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "desk/chat.h"
#include "desk/events.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "fake.h"
#include "fuzz_check.h"
#include "service.h"
#include "xmpp/link.h"

#define D "support.localhost"
#define MUC_X "<x xmlns='http://jabber.org/protocol/muc'/>"
#define OFFER_TIMEOUT_MS 10000
#define UNJOINED_TIMEOUT_MS 30000
#define GRACE_MS 15000
#define MAX_WAIT_MS 60000

#define A1 "a1@localhost"
#define A2 "a2@localhost"
#define A3 "a3@localhost"
#define SUP "sup@localhost"

/* ---- the directory in the fake database -------------------------------------------- */

static const char *const t_version[] = {"1"};
static const char *const t_queues[] = {
    /* name, title, strategy, offer_timeout, max_wait, greeting,
     * offline_message, prechat_fields, hours, timezone, closed_message,
     * transcript_email, answer_reminder */
    "help", "Help", "round-robin", "10", "60", NULL, "Leave us a message.",
    "", "", "UTC", NULL, "f", "0",
};
static const char *const t_agents[] = {
    /* queue, jid, role, max_chats, skills, takes_chats */
    "help", A1, "agent", "2", "", NULL,
    "help", A2, "agent", "1", "", NULL,
    "help", A3, "agent", "2", "", "f",
    "help", SUP, "supervisor", "0", "", NULL,
};
static const char *const none[1] = {NULL};

static void set_directory(void)
{
    fake_pq_set_table("FROM desk_directory", 1, 1, t_version);
    fake_pq_set_table("FROM queues", 13, 1, t_queues);
    fake_pq_set_table("FROM agents", 6, 4, t_agents);
    fake_pq_set_table("FROM canned_responses", 3, 0, none);
    fake_pq_set_table("FROM muc_rooms", 17, 0, none);
    fake_pq_set_table("FROM muc_affiliations", 4, 0, none);
}

static struct config cfg;

static int load_config(void)
{
    char dir[] = "/tmp/mucdesk-unit-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/mucdesk.conf", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "[component]\njid = " D "\nsecret = unit\n"
            "[database]\nconninfo = dbname=fake\ndurability = async\n"
            "[service]\nadmins = admin@localhost\nstate_dir = %s\n"
            "plugin_dir = %s\n"
            "[desk]\nplugins = ratings\ncustomer_grace = %d\n"
            "unjoined_timeout = %d\ndecline_skip = 60\n"
            "[webhooks]\nenabled = 0\n"
            "[muc]\nmax_occupants = 30\nmessage_rate = 100\n"
            "[log]\nlevel = error\n",
            dir, UNIT_PLUGIN_DIR, GRACE_MS / 1000, UNJOINED_TIMEOUT_MS / 1000);
    fclose(f);
    struct config_error err;
    int rc = config_load(path, &cfg, &err);
    if (rc < 0)
        print_error("configuration: %s\n", err.text);
    unlink(path);
    rmdir(dir);
    return rc;
}

/* ---- the world ------------------------------------------------------------------------ */

#define SENT_MAX 256

struct sent {
    char to[1024];
    char from[1024];
    char *text;
};

struct world {
    struct loop *loop;
    struct service *svc;
    struct desk *d;
    struct link *link;
    struct sent sent[SENT_MAX];   /* what the service wrote, oldest first */
    size_t nsent;
};

static void keep_stanza(void *ud, const struct fuzz_stanza *st)
{
    struct world *w = ud;
    if (w->nsent == SENT_MAX)
        return;
    struct sent *s = &w->sent[w->nsent++];
    snprintf(s->to, sizeof s->to, "%s", st->to);
    snprintf(s->from, sizeof s->from, "%s", st->from);
    s->text = strndup(st->text, st->len);
    assert_non_null(s->text);
}

static void forget_sent(struct world *w)
{
    for (size_t i = 0; i < w->nsent; i++)
        free(w->sent[i].text);
    w->nsent = 0;
}

/* Lets ms pass (0: just ends the turn: store ops, zero-delay timers) and
 * keeps what the service wrote meanwhile. */
static void advance(struct world *w, uint64_t ms)
{
    loop_advance(w->loop, ms);
    size_t len;
    const char *out = fake_link_output(w->link, &len);
    struct fuzz_xml_visitor v = {.ud = w, .stanza_end = keep_stanza};
    assert_int_equal(fuzz_check_output("the service's output", out, len, &v),
                     0);
    fake_link_clear(w->link);
}

/* One stanza from `from`, as the XMPP server hands it over. */
static void send_xml(struct world *w, const char *from, const char *fmt, ...)
{
    char xml[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(xml, sizeof xml, fmt, ap);
    va_end(ap);
    char wrapped[2200];
    snprintf(wrapped, sizeof wrapped,
             "<w xmlns='jabber:component:accept'>%s</w>", xml);
    xmpp_stanza_t *wrap =
        xmpp_stanza_new_from_string(link_strophe(w->link), wrapped);
    assert_non_null(wrap);
    xmpp_stanza_t *st = xmpp_stanza_copy(xmpp_stanza_get_children(wrap));
    assert_non_null(st);
    xmpp_stanza_set_from(st, from);
    fake_link_receive(w->link, st);
    xmpp_stanza_release(st);
    xmpp_stanza_release(wrap);
    advance(w, 0);
}

static void enter(struct world *w, const char *full, const char *room,
                  const char *nick, const char *show)
{
    char extra[100] = "";
    if (show)
        snprintf(extra, sizeof extra, "<show>%s</show>", show);
    send_xml(w, full, "<presence to='%s@" D "/%s'>" MUC_X "%s</presence>",
             room, nick, extra);
}

static void leave(struct world *w, const char *full, const char *room,
                  const char *nick)
{
    send_xml(w, full, "<presence type='unavailable' to='%s@" D "/%s'/>", room,
             nick);
}

static void say(struct world *w, const char *full, const char *room,
                const char *body)
{
    send_xml(w, full, "<message type='groupchat' to='%s@" D "'><body>%s"
                      "</body></message>", room, body);
}

/* An agent in the queue room (show NULL: available). */
static void agent_in(struct world *w, const char *bare, const char *show)
{
    char full[100], nick[20];
    snprintf(full, sizeof full, "%s/desk", bare);
    snprintf(nick, sizeof nick, "%.*s", (int)strcspn(bare, "@"), bare);
    enter(w, full, "help", nick, show);
}

/* An agent in the queue room changes their presence there (show NULL:
 * available); a presence update carries no MUC element. */
static void agent_shows(struct world *w, const char *bare, const char *show)
{
    char full[100], nick[20], extra[100] = "";
    snprintf(full, sizeof full, "%s/desk", bare);
    snprintf(nick, sizeof nick, "%.*s", (int)strcspn(bare, "@"), bare);
    if (show)
        snprintf(extra, sizeof extra, "<show>%s</show>", show);
    send_xml(w, full, "<presence to='help@" D "/%s'>%s</presence>", nick,
             extra);
}

/* A customer writes to the queue: a new ticket.  Its id (the fake store
 * numbers tickets from 1 in each world). */
static int64_t ask(struct world *w, const char *customer)
{
    int64_t before = 0;
    struct desk_chat *c, *tmp;
    HASH_ITER(hh, w->d->chats, c, tmp)
        if (c->id > before)
            before = c->id;
    char full[100];
    snprintf(full, sizeof full, "%s@anon.localhost/widget", customer);
    send_xml(w, full, "<message type='chat' to='help@" D "'><body>I need "
                      "help</body></message>");
    int64_t id = 0;
    HASH_ITER(hh, w->d->chats, c, tmp)
        if (c->id > id)
            id = c->id;
    assert_true(id > before);
    return id;
}

static void customer_enters(struct world *w, const char *customer, int64_t id)
{
    char full[100], room[40];
    snprintf(full, sizeof full, "%s@anon.localhost/widget", customer);
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld", (long long)id);
    enter(w, full, room, customer, NULL);
}

/* The agent joins the chat's room: takes it. */
static void agent_joins(struct world *w, const char *bare, int64_t id)
{
    char full[100], room[40];
    snprintf(full, sizeof full, "%s/desk", bare);
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld", (long long)id);
    enter(w, full, room, bare, NULL);
}

static void agent_leaves(struct world *w, const char *bare, int64_t id)
{
    char full[100], room[40];
    snprintf(full, sizeof full, "%s/desk", bare);
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld", (long long)id);
    leave(w, full, room, bare);
}

static struct desk_chat *chat(struct world *w, int64_t id)
{
    struct desk_chat *c = desk_chat_find(w->d, id);
    assert_non_null(c);
    return c;
}

/* How many invitations to chat `id`'s room went to `bare` since the last
 * forget_sent(). */
static int invitations(struct world *w, const char *bare, int64_t id)
{
    char room[60];
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld@" D, (long long)id);
    int n = 0;
    size_t blen = strlen(bare);
    for (size_t i = 0; i < w->nsent; i++) {
        const struct sent *s = &w->sent[i];
        if (strncmp(s->to, bare, blen) == 0 &&
            (s->to[blen] == '\0' || s->to[blen] == '/') &&
            strcmp(s->from, room) == 0 && strstr(s->text, "<invite"))
            n++;
    }
    return n;
}

static struct world *world_new(void)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    fake_rand_seed(0x756e6974ULL);
    set_directory();
    w->loop = loop_new();
    assert_non_null(w->loop);
    w->svc = service_new(w->loop, &cfg, 0);
    assert_non_null(w->svc);
    w->link = fake_link();
    w->d = service_desk(w->svc);
    assert_non_null(w->d);
    assert_int_equal(service_start(w->svc), 0);
    advance(w, 0);
    forget_sent(w);
    return w;
}

static void world_free(struct world *w)
{
    service_stop(w->svc);
    advance(w, 0);
    forget_sent(w);
    service_free(w->svc);
    loop_free(w->loop);
    free(w);
}

static int setup(void **state)
{
    *state = world_new();
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    return 0;
}

/* ---- routing decisions ------------------------------------------------------------------ */

/* A new chat is offered to an available agent, once, and waits meanwhile. */
static void test_offer_to_available_agent(void **state)
{
    struct world *w = *state;
    agent_in(w, A2, NULL);
    forget_sent(w);
    int64_t id = ask(w, "ann");
    struct desk_chat *c = chat(w, id);
    assert_int_equal(c->state, DESK_CHAT_WAITING);
    assert_int_equal(c->status, TICKET_QUEUED);
    assert_non_null(c->offered_to);
    assert_string_equal(c->offered_to, A2);
    assert_int_equal(invitations(w, A2, id), 1);
}

/* Members who do not take chats (takes_chats = no, or a supervisor by
 * role) get no offer, however long the chat waits; an agent who comes in
 * then does. */
static void test_no_offer_to_who_takes_no_chats(void **state)
{
    struct world *w = *state;
    agent_in(w, A3, NULL);
    agent_in(w, SUP, NULL);
    forget_sent(w);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    advance(w, 3 * OFFER_TIMEOUT_MS);
    assert_null(chat(w, id)->offered_to);
    assert_int_equal(invitations(w, A3, id), 0);
    assert_int_equal(invitations(w, SUP, id), 0);
    agent_in(w, A1, NULL);
    assert_non_null(chat(w, id)->offered_to);
    assert_string_equal(chat(w, id)->offered_to, A1);
    assert_int_equal(invitations(w, A1, id), 1);
}

/* A busy agent (dnd) is offered nothing until available again. */
static void test_busy_agent_gets_no_offer(void **state)
{
    struct world *w = *state;
    agent_in(w, A1, "dnd");
    forget_sent(w);
    int64_t id = ask(w, "ann");
    assert_null(chat(w, id)->offered_to);
    assert_int_equal(invitations(w, A1, id), 0);
    agent_shows(w, A1, NULL);
    assert_non_null(chat(w, id)->offered_to);
    assert_string_equal(chat(w, id)->offered_to, A1);
}

/* Round-robin: each new chat goes to the available agent offered one
 * longest ago (never offered first, in membership order), and only one
 * offer per agent at a time. */
static void test_offer_to_longest_idle(void **state)
{
    struct world *w = *state;
    agent_in(w, A1, NULL);
    agent_in(w, A2, NULL);
    int64_t first = ask(w, "ann");
    assert_string_equal(chat(w, first)->offered_to, A1);
    int64_t second = ask(w, "bob");
    assert_string_equal(chat(w, second)->offered_to, A2);
    /* Both have an offer out: the third waits. */
    int64_t third = ask(w, "cid");
    assert_null(chat(w, third)->offered_to);
    /* a1 takes the first: free for an offer again, the longest idle. */
    agent_joins(w, A1, first);
    assert_non_null(chat(w, third)->offered_to);
    assert_string_equal(chat(w, third)->offered_to, A1);
}

/* An agent at their max_chats is offered nothing more; one below is. */
static void test_chat_limit(void **state)
{
    struct world *w = *state;
    agent_in(w, A2, NULL); /* max 1 */
    int64_t first = ask(w, "ann");
    customer_enters(w, "ann", first);
    agent_joins(w, A2, first);
    assert_int_equal(chat(w, first)->state, DESK_CHAT_ACTIVE);
    forget_sent(w);
    int64_t second = ask(w, "bob");
    advance(w, OFFER_TIMEOUT_MS);
    assert_null(chat(w, second)->offered_to);
    assert_int_equal(invitations(w, A2, second), 0);
    agent_in(w, A1, NULL); /* max 2, none yet */
    assert_string_equal(chat(w, second)->offered_to, A1);
}

/* ---- timers ------------------------------------------------------------------------------ */

/* An offer nobody answers expires after the queue's offer_timeout and the
 * chat is offered to the next agent; not a moment before. */
static void test_offer_timeout_moves_on(void **state)
{
    struct world *w = *state;
    agent_in(w, A1, NULL);
    agent_in(w, A2, NULL);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    assert_string_equal(chat(w, id)->offered_to, A1);
    forget_sent(w);
    advance(w, OFFER_TIMEOUT_MS - 1);
    assert_string_equal(chat(w, id)->offered_to, A1);
    assert_int_equal(invitations(w, A2, id), 0);
    advance(w, 1);
    assert_non_null(chat(w, id)->offered_to);
    assert_string_equal(chat(w, id)->offered_to, A2);
    assert_int_equal(invitations(w, A2, id), 1);
    assert_int_equal(chat(w, id)->state, DESK_CHAT_WAITING);
}

/* A declined offer (!decline in the queue room) goes to the next agent at
 * once; the agent who declined is skipped for this chat. */
static void test_decline_moves_on(void **state)
{
    struct world *w = *state;
    agent_in(w, A1, NULL);
    agent_in(w, A2, NULL);
    int64_t id = ask(w, "ann");
    assert_string_equal(chat(w, id)->offered_to, A1);
    char text[40];
    snprintf(text, sizeof text, "!decline %lld", (long long)id);
    say(w, A1 "/desk", "help", text);
    assert_non_null(chat(w, id)->offered_to);
    assert_string_equal(chat(w, id)->offered_to, A2);
    /* a2 lets it expire: a1 declined, so nobody is offered it now. */
    advance(w, OFFER_TIMEOUT_MS);
    assert_null(chat(w, id)->offered_to);
}

/* A chat whose customer never enters its room ends after [desk]
 * unjoined_timeout: RESOLVED, no longer offered.  One whose customer
 * entered stays. */
static void test_unentered_chat_expires(void **state)
{
    struct world *w = *state;
    agent_in(w, A3, NULL); /* present, takes no chats: nobody is offered */
    int64_t lonely = ask(w, "ann");
    int64_t entered = ask(w, "bob");
    customer_enters(w, "bob", entered);
    advance(w, UNJOINED_TIMEOUT_MS - 1);
    assert_int_equal(chat(w, lonely)->state, DESK_CHAT_WAITING);
    advance(w, 1);
    struct desk_chat *c = desk_chat_find(w->d, lonely);
    assert_true(c == NULL || c->state == DESK_CHAT_ENDED);
    if (c)
        assert_int_equal(c->status, TICKET_RESOLVED);
    assert_int_equal(chat(w, entered)->state, DESK_CHAT_WAITING);
}

/* How many stanzas to `to_prefix` since the last forget_sent() contain
 * `text`. */
static int sent_with(struct world *w, const char *to_prefix, const char *text)
{
    int n = 0;
    for (size_t i = 0; i < w->nsent; i++)
        if (strncmp(w->sent[i].to, to_prefix, strlen(to_prefix)) == 0 &&
            strstr(w->sent[i].text, text))
            n++;
    return n;
}

/* Nobody takes a chat within the queue's max_wait: the customer is told
 * once (the no-agents event) and keeps the place in the queue. */
static void test_max_wait_tells_the_customer_once(void **state)
{
    struct world *w = *state;
    agent_in(w, A3, NULL);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    forget_sent(w);
    advance(w, MAX_WAIT_MS - 1);
    assert_int_equal(sent_with(w, "ann@anon.localhost", "event='no-agents'"),
                     0);
    advance(w, 1);
    assert_int_equal(sent_with(w, "ann@anon.localhost", "event='no-agents'"),
                     1);
    advance(w, 2 * MAX_WAIT_MS);
    assert_int_equal(sent_with(w, "ann@anon.localhost", "event='no-agents'"),
                     1);
    assert_int_equal(chat(w, id)->state, DESK_CHAT_WAITING);
    assert_non_null(chat(w, id)->waiting_in);
}

/* ---- state transitions ---------------------------------------------------------------- */

/* The offered agent entering the room accepts: ACTIVE, INPROGRESS, owned,
 * the offer gone. */
static void test_accept_makes_it_in_progress(void **state)
{
    struct world *w = *state;
    agent_in(w, A1, NULL);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    agent_joins(w, A1, id);
    struct desk_chat *c = chat(w, id);
    assert_int_equal(c->state, DESK_CHAT_ACTIVE);
    assert_int_equal(c->status, TICKET_INPROGRESS);
    assert_non_null(c->owner_jid);
    assert_string_equal(c->owner_jid, A1);
    assert_null(c->offered_to);
    assert_null(c->offer_timer);
    assert_null(c->waiting_in);
}

/* The last agent leaving an active chat puts it back to waiting in its
 * queue (QUEUED, unowned) and it is offered again. */
static void test_agent_leaves_requeues(void **state)
{
    struct world *w = *state;
    agent_in(w, A1, NULL);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    agent_joins(w, A1, id);
    agent_in(w, A2, NULL);
    forget_sent(w);
    agent_leaves(w, A1, id);
    struct desk_chat *c = chat(w, id);
    assert_int_equal(c->state, DESK_CHAT_WAITING);
    assert_int_equal(c->status, TICKET_QUEUED);
    assert_non_null(c->waiting_in);
    assert_non_null(c->offered_to);
    assert_int_equal(invitations(w, c->offered_to, id), 1);
}

/* The customer leaving starts the grace: back within it, the chat goes
 * on; gone longer, it ends. */
static void test_customer_grace(void **state)
{
    struct world *w = *state;
    agent_in(w, A1, NULL);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    agent_joins(w, A1, id);
    char room[40];
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld", (long long)id);
    leave(w, "ann@anon.localhost/widget", room, "ann");
    advance(w, GRACE_MS - 1);
    customer_enters(w, "ann", id);
    advance(w, GRACE_MS);
    assert_int_equal(chat(w, id)->state, DESK_CHAT_ACTIVE);
    leave(w, "ann@anon.localhost/widget", room, "ann");
    advance(w, GRACE_MS);
    assert_int_equal(chat(w, id)->state, DESK_CHAT_ENDED);
    assert_int_equal(chat(w, id)->status, TICKET_RESOLVED);
}

/* Requeued as ticket-update's status=queued does (desk_chat_requeue): a
 * requeued event, and the chat offered anew. */
struct seen {
    char log[512];
    int count;
};

static void note(void *ctx, const struct desk_event *ev, const char *who)
{
    struct seen *s = ctx;
    size_t len = strlen(s->log);
    snprintf(s->log + len, sizeof s->log - len, "%s:%s:%lld ", who,
             desk_event_name(ev->kind),
             ev->chat ? (long long)ev->chat->id : 0LL);
    s->count++;
}

static void note_requeued(void *ctx, const struct desk_event *ev)
{
    note(ctx, ev, "r");
    const struct desk_ev_requeued *r = &ev->requeued;
    assert_non_null(r->queue);
    assert_string_equal(r->queue->name, "help");
    assert_false(r->moved);
    /* Emitted after the change. */
    assert_int_equal(ev->chat->state, DESK_CHAT_WAITING);
}

static void test_requeue_as_ticket_update(void **state)
{
    struct world *w = *state;
    static struct seen seen;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(desk_events_subscribe(w->d, DESK_EV_REQUEUED,
                                           DESK_PRIO_NOTIFY, note_requeued,
                                           &seen), 0);
    agent_in(w, A1, NULL);
    agent_in(w, A2, NULL);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    agent_joins(w, A1, id);
    assert_int_equal(chat(w, id)->state, DESK_CHAT_ACTIVE);
    forget_sent(w);
    desk_chat_requeue(chat(w, id), desk_queue_find(w->d, "help"), A1,
                      "requeued by ticket-update");
    advance(w, 0);
    struct desk_chat *c = chat(w, id);
    assert_int_equal(seen.count, 1);
    assert_int_equal(c->state, DESK_CHAT_WAITING);
    assert_int_equal(c->status, TICKET_QUEUED);
    assert_null(c->owner_jid);
    /* a1 is still in the room (a ticket-update comes from outside it), so
     * it is offered to whoever is free: a2, the longest idle. */
    assert_non_null(c->offered_to);
    assert_string_equal(c->offered_to, A2);
    assert_int_equal(invitations(w, A2, id), 1);
}

/* ---- the end and its event ------------------------------------------------------------- */

static void ended_notify(void *ctx, const struct desk_event *ev)
{
    note(ctx, ev, "notify");
}
static void ended_route(void *ctx, const struct desk_event *ev)
{
    note(ctx, ev, "route");
}
static void ended_state(void *ctx, const struct desk_event *ev)
{
    note(ctx, ev, "state");
    const struct desk_ev_ended *e = &ev->ended;
    assert_int_equal(e->status, TICKET_RESOLVED);
    assert_int_equal(e->was, DESK_CHAT_ACTIVE);
    assert_int_equal(ev->chat->state, DESK_CHAT_ENDED);
}

/* !close ends the chat: one ended event, to each subscriber once, in the
 * priority order (state, notify, route) whatever the order they came in. */
static void test_end_emits_ended_once_in_order(void **state)
{
    struct world *w = *state;
    static struct seen seen;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(desk_events_subscribe(w->d, DESK_EV_ENDED,
                                           DESK_PRIO_ROUTE, ended_route,
                                           &seen), 0);
    assert_int_equal(desk_events_subscribe(w->d, DESK_EV_ENDED,
                                           DESK_PRIO_NOTIFY, ended_notify,
                                           &seen), 0);
    assert_int_equal(desk_events_subscribe(w->d, DESK_EV_ENDED,
                                           DESK_PRIO_STATE, ended_state,
                                           &seen), 0);
    agent_in(w, A1, NULL);
    int64_t id = ask(w, "ann");
    customer_enters(w, "ann", id);
    agent_joins(w, A1, id);
    assert_int_equal(seen.count, 0);
    char room[40];
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld", (long long)id);
    say(w, A1 "/desk", room, "!close resolved");
    assert_int_equal(chat(w, id)->state, DESK_CHAT_ENDED);
    assert_int_equal(chat(w, id)->status, TICKET_RESOLVED);
    char want[200];
    snprintf(want, sizeof want, "state:ended:%lld notify:ended:%lld "
             "route:ended:%lld ", (long long)id, (long long)id, (long long)id);
    assert_string_equal(seen.log, want);
    /* Nothing more: the customer leaving an ended chat, time passing. */
    leave(w, "ann@anon.localhost/widget", room, "ann");
    advance(w, 2 * GRACE_MS);
    assert_int_equal(seen.count, 3);
}

/* The owner's slot is given back at the end: a2 (max 1) can take the
 * next chat. */
static void test_end_frees_the_agents_slot(void **state)
{
    struct world *w = *state;
    agent_in(w, A2, NULL);
    int64_t first = ask(w, "ann");
    customer_enters(w, "ann", first);
    agent_joins(w, A2, first);
    int64_t second = ask(w, "bob");
    assert_null(chat(w, second)->offered_to);
    char room[40];
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld", (long long)first);
    say(w, A2 "/desk", room, "!close resolved");
    assert_int_equal(chat(w, first)->state, DESK_CHAT_ENDED);
    assert_non_null(chat(w, second)->offered_to);
    assert_string_equal(chat(w, second)->offered_to, A2);
}

int main(void)
{
    log_setup(getenv("MUCDESK_UNIT_LOG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
              false, getenv("MUCDESK_UNIT_LOG") ? NULL : "/dev/null");
    if (load_config() < 0)
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_offer_to_available_agent),
        T(test_no_offer_to_who_takes_no_chats),
        T(test_busy_agent_gets_no_offer),
        T(test_offer_to_longest_idle),
        T(test_chat_limit),
        T(test_offer_timeout_moves_on),
        T(test_decline_moves_on),
        T(test_unentered_chat_expires),
        T(test_max_wait_tells_the_customer_once),
        T(test_accept_makes_it_in_progress),
        T(test_agent_leaves_requeues),
        T(test_customer_grace),
        T(test_requeue_as_ticket_update),
        T(test_end_emits_ended_once_in_order),
        T(test_end_frees_the_agents_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
