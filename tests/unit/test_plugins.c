/* Unit tests: the routing strategies, loaded as the daemon loads them
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manual),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_least_busy),
        cmocka_unit_test(test_skills),
    };
    return cmocka_run_group_tests_name("plugins", tests, NULL, NULL);
}
