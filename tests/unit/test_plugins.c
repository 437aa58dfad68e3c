/* Unit tests: the routing strategies and the ratings feature plugin,
 * loaded as the daemon loads them
 * (dlopen of plugins/NAME.so, the mucdesk_plugin descriptor).  A plugin
 * that was not built is skipped, not failed.  $MUCDESK_PLUGIN_DIR
 * overrides where they are looked for (default: the build tree's
 * plugins/.libs). */
#include "cmocka_prelude.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

static const struct mucdesk_plugin *load_any(const char *name)
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
    assert_int_equal(p->abi, MUCDESK_PLUGIN_ABI);
    assert_string_equal(p->name, name);
    return p;
}

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
    assert_int_equal(p->abi, MUCDESK_PLUGIN_ABI);
    assert_string_equal(p->name, name);
    assert_non_null(p->pick_agent);
    return p;
}

static const char *const english[] = {"english"};
static const char *const both[] = {"english", "french"};

/* Three candidates: a busy (2 chats, idle since 50), b (1 chat, idle since
 * 300, offered at 100), c (1 chat, idle since 200, never offered). */
static struct mucdesk_candidate cands[] = {
    {"a@x", 2, 3, 50, 500, english, 1},
    {"b@x", 1, 3, 300, 100, both, 2},
    {"c@x", 1, 3, 200, 0, english, 1},
};

static int pick(const struct mucdesk_plugin *p, const char *const *req,
                size_t nreq, size_t ncands)
{
    void *st = NULL;
    if (p->init)
        assert_int_equal(p->init(&st), 0);
    struct mucdesk_route_request r = {"billing", 7, req, nreq, cands, ncands};
    int i = p->pick_agent(st, &r);
    if (p->fini)
        p->fini(st);
    return i;
}

static void test_manual(void **state)
{
    (void)state;
    const struct mucdesk_plugin *p = load("manual");
    if (!p)
        skip();
    assert_int_equal(pick(p, NULL, 0, 3), -1);
}

static void test_round_robin(void **state)
{
    (void)state;
    const struct mucdesk_plugin *p = load("round-robin");
    if (!p)
        skip();
    /* the one offered longest ago (never: first) */
    assert_int_equal(pick(p, NULL, 0, 3), 2);
    assert_int_equal(pick(p, NULL, 0, 2), 1);
    assert_int_equal(pick(p, NULL, 0, 0), -1);
}

static void test_least_busy(void **state)
{
    (void)state;
    const struct mucdesk_plugin *p = load("least-busy");
    if (!p)
        skip();
    /* b and c have one chat; c has been idle longer */
    assert_int_equal(pick(p, NULL, 0, 3), 2);
    assert_int_equal(pick(p, NULL, 0, 1), 0);
    assert_int_equal(pick(p, NULL, 0, 0), -1);
}

static void test_skills(void **state)
{
    (void)state;
    const struct mucdesk_plugin *p = load("skills");
    if (!p)
        skip();
    const char *const french[] = {"french"};
    const char *const german[] = {"german"};
    assert_int_equal(pick(p, french, 1, 3), 1);   /* only b speaks French */
    assert_int_equal(pick(p, german, 1, 3), -1);  /* nobody: announced */
    assert_int_equal(pick(p, english, 1, 3), 2);  /* least busy of all */
    assert_int_equal(pick(p, both, 2, 3), 1);
    assert_int_equal(pick(p, NULL, 0, 3), 2);     /* no requirement */
}

/* ---- the ratings plugin against a host that records what it is asked ---- */

struct fake_host {
    char posted[2048];
    int64_t posted_ticket;
    int rating;
    char comment[256];
    int tells;
};

static int fake_post(void *ctx, int64_t ticket, const char *text,
                     const char *extra)
{
    struct fake_host *h = ctx;
    h->posted_ticket = ticket;
    snprintf(h->posted, sizeof h->posted, "%s|%s", text, extra ? extra : "");
    return ticket == 99 ? -1 : 0; /* 99: a chat that is not open */
}

static int fake_tell(void *ctx, int64_t ticket, const char *text)
{
    (void)ticket;
    (void)text;
    ((struct fake_host *)ctx)->tells++;
    return 0;
}

static int fake_rate(void *ctx, int64_t ticket, int rating,
                     const char *comment)
{
    struct fake_host *h = ctx;
    (void)ticket;
    h->rating = rating;
    snprintf(h->comment, sizeof h->comment, "%s", comment ? comment : "(none)");
    return 0;
}

static int say(const struct mucdesk_plugin *p, void *st, int64_t ticket,
               int customer, const char *body)
{
    struct mucdesk_message m = {"billing", ticket, "c@anon", "Ann", customer,
                                body};
    return p->message(st, &m);
}

static int rate_cmd(const struct mucdesk_plugin *p, void *st, int64_t ticket)
{
    struct mucdesk_command_call call = {.name = "rate", .args = "",
                                        .queue = "billing", .ticket = ticket,
                                        .actor_jid = "a@x"};
    return p->command(st, &call);
}

static void test_ratings(void **state)
{
    (void)state;
    const struct mucdesk_plugin *p = load_any("ratings");
    if (!p)
        skip();
    assert_non_null(p->commands);
    assert_string_equal(p->commands[0].name, "rate");
    assert_int_equal(p->commands[0].place, MUCDESK_IN_SESSION);
    assert_null(p->commands[1].name);
    void *st = NULL;
    assert_int_equal(p->init(&st), 0);
    struct fake_host h;
    memset(&h, 0, sizeof h);
    struct mucdesk_host host = {&h, fake_post, fake_tell, fake_rate};
    p->attach(st, &host);
    /* Not asked: a digit is just a message. */
    assert_int_equal(say(p, st, 7, 1, "5"), MUCDESK_MESSAGE_PASS);
    assert_int_equal(h.rating, 0);
    /* /rate: the desk event, a form and the text fallback. */
    assert_int_equal(rate_cmd(p, st, 7), MUCDESK_COMMAND_DONE);
    assert_int_equal(h.posted_ticket, 7);
    assert_non_null(strstr(h.posted, "from 1 (poor) to 5 (excellent)"));
    assert_non_null(strstr(h.posted, "<desk xmlns='urn:mucdesk:0' "
                                     "event='rate'/>"));
    assert_non_null(strstr(h.posted, "urn:mucdesk:rate-chat"));
    assert_non_null(strstr(h.posted, "<value>7</value>"));
    /* Staff answering, and texts that are not ratings, change nothing. */
    say(p, st, 7, 0, "4");
    say(p, st, 7, 1, "10 minutes ago it worked");
    say(p, st, 7, 1, "4.5");
    say(p, st, 7, 1, "3pm is fine");
    say(p, st, 7, 1, "thanks a lot");
    assert_int_equal(h.rating, 0);
    /* The customer's reply: kept in the conversation, rated. */
    assert_int_equal(say(p, st, 7, 1, " 4/5 - quick and kind "),
                     MUCDESK_MESSAGE_PASS);
    assert_int_equal(h.rating, 4);
    assert_string_equal(h.comment, "quick and kind");
    assert_int_equal(h.tells, 1);
    /* Once only. */
    h.rating = 0;
    say(p, st, 7, 1, "1");
    assert_int_equal(h.rating, 0);
    assert_int_equal(rate_cmd(p, st, 8), MUCDESK_COMMAND_DONE);
    say(p, st, 8, 1, "5!");
    assert_int_equal(h.rating, 5);
    assert_string_equal(h.comment, "(none)");
    /* The chat's end forgets the question. */
    h.rating = 0;
    assert_int_equal(rate_cmd(p, st, 9), MUCDESK_COMMAND_DONE);
    struct mucdesk_event ev = {.kind = MUCDESK_EVENT_CLOSED,
                               .queue = "billing", .ticket = 9,
                               .status = "RESOLVED"};
    p->event(st, &ev);
    say(p, st, 9, 1, "3");
    assert_int_equal(h.rating, 0);
    /* A chat that is not open: the command fails with a reason. */
    struct mucdesk_command_call call = {.name = "rate", .args = "",
                                        .queue = "billing", .ticket = 99,
                                        .actor_jid = "a@x"};
    assert_int_equal(p->command(st, &call), MUCDESK_COMMAND_FAILED);
    assert_string_equal(call.reply, "This chat is not open");
    p->fini(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manual),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_least_busy),
        cmocka_unit_test(test_skills),
        cmocka_unit_test(test_ratings),
    };
    return cmocka_run_group_tests_name("plugins", tests, NULL, NULL);
}
