/* Unit tests: skipping libstrophe's rendering of received stanzas. */
#include "cmocka_prelude.h"

#include <string.h>
#include <strophe.h>

#include "xmpp/strophe_render.h"

static void test_our_definition_is_the_one_used(void **state)
{
    (void)state;
    /* libstrophe's internal calls go through the global symbol: if that is
     * ours, its receive path skips the rendering too. */
    assert_true(strophe_render_interposed());
}

static void test_renders_unless_skipped(void **state)
{
    (void)state;
    xmpp_initialize();
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, "<a b='c'><d/></a>");
    char *text = NULL;
    size_t len = 0;

    strophe_render_skip(false);
    assert_int_equal(xmpp_stanza_to_text(st, &text, &len), XMPP_EOK);
    assert_string_equal(text, "<a b=\"c\"><d/></a>");
    assert_int_equal(len, strlen(text));
    xmpp_free(ctx, text);

    strophe_render_skip(true);
    text = (char *)"untouched";
    assert_int_equal(xmpp_stanza_to_text(st, &text, &len), XMPP_EINT);
    assert_null(text);
    assert_int_equal(len, 0);
    strophe_render_skip(false);

    xmpp_stanza_release(st);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_our_definition_is_the_one_used),
        cmocka_unit_test(test_renders_unless_skipped),
    };
    return cmocka_run_group_tests_name("strophe_render", tests, NULL, NULL);
}
