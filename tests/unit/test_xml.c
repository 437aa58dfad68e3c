/* Unit tests: XML escaping and stanza serialisation. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <string.h>

#include "xmpp/xml.h"

static xmpp_ctx_t *ctx;

static int setup(void **state)
{
    (void)state;
    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return 0;
}

static void test_escaping(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    xml_text(&b, "a<b>&'\"c");
    assert_string_equal(b.data, "a&lt;b&gt;&amp;'\"c");
    buf_reset(&b);
    xml_attr(&b, "to", "x'y\"z<&");
    assert_string_equal(b.data, " to='x&apos;y&quot;z&lt;&amp;'");
    buf_reset(&b);
    xml_attr(&b, "absent", NULL);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_round_trip_keeps_payload(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    const char *in =
        "<message xmlns='jabber:component:accept' to='r@d' type='groupchat' "
        "xml:lang='de'><body>Hallo &amp; &lt;tsch&#xFC;ss&gt;</body>"
        "<active xmlns='http://jabber.org/protocol/chatstates'/>"
        "<x xmlns='jabber:x:oob'><url>https://e.org/?a=1&amp;b=2</url></x>"
        "</message>";
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, in);
    assert_non_null(st);
    xml_write_stanza(&b, st, XML_NS_COMPONENT);
    /* The stream namespace is not repeated, xml:lang survives libstrophe
     * dropping attribute namespaces, text is re-escaped. */
    assert_non_null(strstr(b.data, "xml:lang='de'"));
    assert_null(strstr(b.data, "xmlns='jabber:component:accept'"));
    assert_non_null(strstr(b.data, "<body>Hallo &amp; &lt;tsch\xc3\xbcss&gt;</body>"));
    assert_non_null(
        strstr(b.data, "<active xmlns='http://jabber.org/protocol/chatstates'/>"));
    assert_non_null(strstr(b.data, "<url>https://e.org/?a=1&amp;b=2</url>"));
    /* A client-namespace stanza is written into the component stream. */
    buf_reset(&b);
    xmpp_stanza_t *body = xmpp_stanza_get_child_by_name(st, "body");
    xml_write_children(&b, st, XML_NS_COMPONENT);
    assert_true(strncmp(b.data, "<body>", 6) == 0);
    (void)body;
    xmpp_stanza_release(st);
    buf_free(&b);
}

static void test_many_attributes(void **state)
{
    struct buf b = BUF_INIT;
    char in[2048] = "<item";
    (void)state;
    for (int i = 0; i < 40; i++) {
        char attr[32];
        snprintf(attr, sizeof attr, " a%d='%d'", i, i);
        strcat(in, attr);
    }
    strcat(in, "/>");
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, in);
    assert_non_null(st);
    xml_write_stanza(&b, st, NULL);
    assert_non_null(strstr(b.data, " a0='0'"));
    assert_non_null(strstr(b.data, " a39='39'"));
    xmpp_stanza_release(st);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_round_trip_keeps_payload),
        cmocka_unit_test(test_many_attributes),
    };
    return cmocka_run_group_tests_name("xml", tests, setup, teardown);
}
