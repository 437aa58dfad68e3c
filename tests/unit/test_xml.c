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

/* Does expat, the parser XMPP servers use, take `<a x='ATTR'>TEXT</a>`?
 * The independent check that the output is well-formed. */
static bool parses(const char *attr, const char *text)
{
    struct buf doc = BUF_INIT;
    buf_printf(&doc, "<a x='%s'>%s</a>", attr, text);
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, buf_cstr(&doc));
    buf_free(&doc);
    if (st)
        xmpp_stanza_release(st);
    return st != NULL;
}

/* Text through xml_text_n, xml_attr_n and xml_markup_n: all three must give
 * `want`, and what they give must parse. */
static void check_all_ways(const char *in, size_t n, const char *want)
{
    struct buf t = BUF_INIT, a = BUF_INIT, m = BUF_INIT;
    xml_text_n(&t, in, n);
    xml_attr_n(&a, "x", in, n);
    xml_markup_n(&m, in, n);
    assert_string_equal(buf_cstr(&t), want);
    assert_string_equal(buf_cstr(&m), want);
    struct buf wa = BUF_INIT;
    buf_printf(&wa, " x='%s'", want);
    assert_string_equal(buf_cstr(&a), buf_cstr(&wa));
    assert_true(parses(want, buf_cstr(&t)));
    buf_free(&t);
    buf_free(&a);
    buf_free(&m);
    buf_free(&wa);
}

#define FFFD "\xef\xbf\xbd"

/* Valid text of every width, and the characters XML allows at the edges,
 * come out byte for byte. */
static void test_valid_text_unchanged(void **state)
{
    (void)state;
    const char *valid =
        "tab\tlf\ncr\r del\x7f C1\xc2\x85 \xc3\xa9\xdf\xbf \xe0\xa0\x80"
        "\xe2\x82\xac\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd\xef\xbf\xbc "
        "\xf0\x90\x80\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf "
        "\xef\xb7\x90 (U+FDD0) end";
    for (size_t pad = 0; pad <= 9; pad++) {
        char in[256];
        snprintf(in, sizeof in, "%.*s%s", (int)pad, "ppppppppp", valid);
        check_all_ways(in, strlen(in), in);
    }
    /* long ASCII runs */
    char run[3000];
    memset(run, 'q', sizeof run - 1);
    run[sizeof run - 1] = '\0';
    check_all_ways(run, strlen(run), run);
}

/* Every class of ill-formed UTF-8, every C0 control XML forbids, NUL, and
 * U+FFFE/U+FFFF: each becomes U+FFFD (one per maximal subpart). */
static void test_invalid_becomes_replacement(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"a\x80" "b", "a" FFFD "b"},                  /* lone continuation */
        {"a\xc3", "a" FFFD},                          /* cut 2-byte */
        {"a\xe2\x82", "a" FFFD},                      /* cut 3-byte */
        {"a\xf0\x9f\x98", "a" FFFD},                  /* cut 4-byte */
        {"\xe2\x82" "x", FFFD "x"},
        {"\xc0\xaf", FFFD FFFD},                      /* overlong '/' */
        {"\xe0\x80\xaf", FFFD FFFD FFFD},             /* overlong 3-byte */
        {"\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD},    /* overlong 4-byte */
        {"\xed\xa0\x80", FFFD FFFD FFFD},             /* U+D800 */
        {"\xed\xb0\x80", FFFD FFFD FFFD},             /* U+DC00 */
        {"\xed\xa0\xbd\xed\xb8\x80", FFFD FFFD FFFD FFFD FFFD FFFD}, /* CESU-8 */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},    /* U+110000 */
        {"\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD},
        {"\xfe\xff", FFFD FFFD},
        {"\xef\xbf\xbe", FFFD},                      /* U+FFFE */
        {"\xef\xbf\xbf", FFFD},                      /* U+FFFF */
        {"x\x01y\x1fz", "x" FFFD "y" FFFD "z"},       /* C0 controls */
        {"\x0b\x0c", FFFD FFFD},
    };
    /* at every offset from the eight-byte words the writer checks */
    for (size_t pad = 0; pad <= 9; pad++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char in[64], want[128];
            snprintf(in, sizeof in, "%.*s%s0123456789", (int)pad, "ppppppppp",
                     cases[i].in);
            snprintf(want, sizeof want, "%.*s%s0123456789", (int)pad,
                     "ppppppppp", cases[i].want);
            check_all_ways(in, strlen(in), want);
        }
    }
    for (int c = 1; c < 0x20; c++) {
        char in[2] = {(char)c, 0};
        bool allowed = c == '\t' || c == '\n' || c == '\r';
        check_all_ways(in, 1, allowed ? in : FFFD);
    }
    check_all_ways("a\0b", 3, "a" FFFD "b"); /* NUL, with a length */
    /* Escaping still works next to a replacement. */
    struct buf b = BUF_INIT;
    xml_attr(&b, "v", "<\xe2\x82'&");
    assert_string_equal(b.data, " v='&lt;" FFFD "&apos;&amp;'");
    buf_free(&b);
}

/* Whatever two bytes follow a letter, the output parses: exhaustive over
 * pairs, and over every lead byte followed by every continuation pair. */
static void test_any_bytes_parse(void **state)
{
    (void)state;
    struct buf t = BUF_INIT, a = BUF_INIT;
    for (unsigned x = 1; x < 256; x++) {
        for (unsigned y = 1; y < 256; y++) {
            char in[4] = {'a', (char)x, (char)y, 0};
            buf_reset(&t);
            buf_reset(&a);
            xml_text(&t, in);
            xml_attr_value(&a, in);
            assert_true(parses(buf_cstr(&a), buf_cstr(&t)));
        }
    }
    for (unsigned x = 0xE0; x < 256; x++) {
        for (unsigned y = 0x80; y < 0xC0; y++) {
            char in[5] = {(char)x, (char)y, (char)0x80, (char)0xBF, 0};
            buf_reset(&t);
            xml_text(&t, in);
            assert_true(parses("", buf_cstr(&t)));
        }
    }
    buf_free(&t);
    buf_free(&a);
}

/* One odd byte at every position of a 21-byte ASCII text (the writer
 * checks eight bytes at a time): the output is the byte's escape or
 * replacement in place, the rest unchanged. */
static void test_one_byte_everywhere(void **state)
{
    (void)state;
    struct buf t = BUF_INIT, a = BUF_INIT, want_t = BUF_INIT, want_a = BUF_INIT;
    for (unsigned c = 1; c < 256; c++) {
        const char *ent = c == '&' ? "&amp;" : c == '<' ? "&lt;"
                          : c == '>' ? "&gt;" : NULL;
        const char *quote = c == '\'' ? "&apos;" : c == '"' ? "&quot;" : NULL;
        bool bad = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x80;
        for (size_t pos = 0; pos < 21; pos++) {
            char in[22];
            memset(in, 'q', 21);
            in[21] = '\0';
            in[pos] = (char)c;
            buf_reset(&t);
            buf_reset(&a);
            buf_reset(&want_t);
            buf_reset(&want_a);
            xml_text(&t, in);
            xml_attr_value(&a, in);
            buf_append(&want_t, in, pos);
            buf_append(&want_a, in, pos);
            char self[2] = {(char)c, 0};
            const char *rt = bad ? FFFD : ent ? ent : self;
            const char *ra = bad ? FFFD : ent ? ent : quote ? quote : self;
            buf_append_str(&want_t, rt);
            buf_append_str(&want_a, ra);
            buf_append_str(&want_t, in + pos + 1);
            buf_append_str(&want_a, in + pos + 1);
            assert_string_equal(buf_cstr(&t), buf_cstr(&want_t));
            assert_string_equal(buf_cstr(&a), buf_cstr(&want_a));
        }
    }
    buf_free(&t);
    buf_free(&a);
    buf_free(&want_t);
    buf_free(&want_a);
}

/* A stanza whose text was cut inside a character (libstrophe keeps what a
 * handler puts in) is serialised well-formed. */
static void test_stanza_with_cut_text(void **state)
{
    (void)state;
    xmpp_stanza_t *st = xmpp_message_new(ctx, "groupchat", "r@d", NULL);
    assert_non_null(st);
    assert_int_equal(xmpp_message_set_body(st, "caf\xc3"), XMPP_EOK);
    xmpp_stanza_set_attribute(st, "cut", "\xe2\x82");
    struct buf b = BUF_INIT;
    xml_write_stanza(&b, st, XML_NS_COMPONENT);
    assert_non_null(strstr(b.data, "<body>caf" FFFD "</body>"));
    assert_non_null(strstr(b.data, " cut='" FFFD "'"));
    xmpp_stanza_t *back = xmpp_stanza_new_from_string(ctx, b.data);
    assert_non_null(back);
    xmpp_stanza_release(back);
    xmpp_stanza_release(st);
    buf_free(&b);
}

/* The writer does not recurse: a stanza nested 100,000 deep (what 700 KB
 * can hold) is written back whole, without running out of stack. */
static void test_deep_stanza(void **state)
{
    (void)state;
    const int depth = 100000;
    struct buf in = BUF_INIT;
    buf_append_str(&in, "<message to='r@d'>");
    for (int i = 0; i < depth; i++)
        buf_append(&in, "<a>", 3);
    buf_append_str(&in, "x");
    for (int i = 0; i < depth; i++)
        buf_append(&in, "</a>", 4);
    buf_append_str(&in, "</message>");
    assert_false(buf_failed(&in));
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, buf_cstr(&in));
    assert_non_null(st);
    struct buf out = BUF_INIT;
    xml_write_stanza(&out, st, NULL);
    assert_false(buf_failed(&out));
    assert_string_equal(buf_cstr(&out), buf_cstr(&in));
    /* children only, and mixed siblings at depth */
    buf_reset(&out);
    xml_write_children(&out, st, NULL);
    assert_int_equal(out.len, in.len - strlen("<message to='r@d'></message>"));
    xmpp_stanza_release(st);
    buf_free(&in);
    buf_free(&out);
}

static void test_siblings_and_namespaces(void **state)
{
    (void)state;
    const char *in =
        "<iq xmlns='jabber:client' id='1'>"
        "<query xmlns='urn:x'><a/><b><c xmlns='urn:y'><d/>t</c>u</b><e/></query>"
        "<f/></iq>";
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, in);
    assert_non_null(st);
    struct buf out = BUF_INIT;
    xml_write_stanza(&out, st, XML_NS_COMPONENT);
    assert_string_equal(
        buf_cstr(&out),
        "<iq id='1'><query xmlns='urn:x'><a/><b><c xmlns='urn:y'>"
        "<d/>t</c>u</b><e/></query><f/></iq>");
    xmpp_stanza_release(st);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_round_trip_keeps_payload),
        cmocka_unit_test(test_many_attributes),
        cmocka_unit_test(test_valid_text_unchanged),
        cmocka_unit_test(test_invalid_becomes_replacement),
        cmocka_unit_test(test_any_bytes_parse),
        cmocka_unit_test(test_one_byte_everywhere),
        cmocka_unit_test(test_stanza_with_cut_text),
        cmocka_unit_test(test_deep_stanza),
        cmocka_unit_test(test_siblings_and_namespaces),
    };
    return cmocka_run_group_tests_name("xml", tests, setup, teardown);
}
