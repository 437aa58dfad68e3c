/* Unit tests: dispatch of received stanzas and the base protocol answers
 * (disco, ping, version, errors), without a network: stanzas are parsed from
 * text and the replies read from the link's output buffer. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <string.h>

#include "core/loop.h"
#include "xmpp/disco.h"
#include "xmpp/link.h"
#include "xmpp/ping.h"
#include "xmpp/router.h"
#include "xmpp/version.h"

struct fixture {
    struct loop *loop;
    struct link *link;
    struct router *router;
    struct disco *disco;
    int room_messages;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    f.loop = loop_new();
    struct link_config cfg = {"support.localhost", "secret", "127.0.0.1", 5347,
                              30000};
    struct link_events ev = {0};
    f.link = link_new(f.loop, &cfg, &ev);
    f.router = router_new(f.loop, f.link, "support.localhost");
    f.disco = disco_new(f.router, "Support");
    assert_int_equal(ping_register(f.router, f.disco), 0);
    assert_int_equal(version_register(f.router, f.disco), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    disco_free(f->disco);
    router_free(f->router);
    link_free(f->link);
    loop_free(f->loop);
    return 0;
}

/* Dispatches one stanza and returns what was written in reply. */
static const char *dispatch(struct fixture *f, const char *xml)
{
    buf_reset(link_out(f->link));
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(link_strophe(f->link), xml);
    assert_non_null(st);
    router_dispatch(f->router, st);
    xmpp_stanza_release(st);
    return buf_cstr(link_out(f->link));
}

static void test_disco_info(void **state)
{
    const char *out = dispatch(*state,
        "<iq type='get' id='d1' from='u@localhost/r' to='support.localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_non_null(strstr(out, "<iq type='result' from='support.localhost' "
                                "to='u@localhost/r' id='d1'>"));
    assert_non_null(strstr(out, "<identity category='conference' type='text' "
                                "name='Support'/>"));
    assert_non_null(strstr(out, "var='urn:xmpp:ping'"));
    assert_non_null(strstr(out, "var='jabber:iq:version'"));
    /* Features are sorted: disco#info before disco#items before jabber:... */
    assert_true(strstr(out, "disco#info'") < strstr(out, "disco#items'"));
    assert_true(strstr(out, "disco#items'") < strstr(out, "jabber:iq:version"));
}

static void test_disco_unknown_node(void **state)
{
    const char *out = dispatch(*state,
        "<iq type='get' id='d2' from='u@localhost/r' to='support.localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>");
    assert_non_null(strstr(out, "type='error'"));
    assert_non_null(strstr(out, "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"));
    assert_null(strstr(out, "<identity")); /* no half-written result */
}

static void test_ping_and_version(void **state)
{
    const char *out = dispatch(*state,
        "<iq type='get' id='p1' from='u@localhost/r' to='support.localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    assert_string_equal(out, "<iq type='result' from='support.localhost' "
                             "to='u@localhost/r' id='p1'/>");
    out = dispatch(*state,
        "<iq type='get' id='v1' from='u@localhost/r' to='support.localhost'>"
        "<query xmlns='jabber:iq:version'/></iq>");
    assert_non_null(strstr(out, "<name>mucdesk</name><version>" PACKAGE_VERSION
                                "</version>"));
}

static void test_unknown_namespace_is_service_unavailable(void **state)
{
    const char *out = dispatch(*state,
        "<iq type='get' id='u1' from='u@localhost/r' to='support.localhost'>"
        "<query xmlns='urn:example:unknown'/></iq>");
    assert_non_null(strstr(out, "type='error'"));
    assert_non_null(strstr(out, "<error type='cancel'><service-unavailable"));
    /* Also for rooms and occupants while nothing handles them. */
    out = dispatch(*state,
        "<iq type='set' id='u2' from='u@localhost/r' to='room@support.localhost/nick'>"
        "<query xmlns='urn:example:unknown'/></iq>");
    assert_non_null(strstr(out, "<service-unavailable"));
}

static void test_malformed_iqs(void **state)
{
    const char *out = dispatch(*state,
        "<iq type='get' id='m1' from='u@localhost/r' to='support.localhost'/>");
    assert_non_null(strstr(out, "<error type='modify'><bad-request"));
    out = dispatch(*state,
        "<iq type='get' id='m2' from='u@localhost/r' to='support.localhost'>"
        "<ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_non_null(strstr(out, "<bad-request"));
    out = dispatch(*state,
        "<iq type='fetch' id='m3' from='u@localhost/r' to='support.localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    assert_non_null(strstr(out, "<bad-request"));
    out = dispatch(*state,
        "<iq type='set' id='m4' from='u@localhost/r' to='support.localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    assert_non_null(strstr(out, "<bad-request"));
}

static void test_never_answer_results_or_errors(void **state)
{
    const char *out = dispatch(*state,
        "<iq type='result' id='r1' from='u@localhost/r' to='support.localhost'/>");
    assert_string_equal(out, "");
    out = dispatch(*state,
        "<iq type='error' id='r2' from='u@localhost/r' to='support.localhost'>"
        "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    assert_string_equal(out, "");
    out = dispatch(*state,
        "<message type='error' from='u@localhost/r' to='support.localhost'/>");
    assert_string_equal(out, "");
}

static void test_messages_without_handler_get_an_error(void **state)
{
    const char *out = dispatch(*state,
        "<message type='chat' id='c1' from='u@localhost/r' to='support.localhost'>"
        "<body>hello</body></message>");
    assert_non_null(strstr(out, "<message type='error'"));
    assert_non_null(strstr(out, "<service-unavailable"));
    /* Presence is informational: no error. */
    out = dispatch(*state,
        "<presence from='u@localhost/r' to='support.localhost'/>");
    assert_string_equal(out, "");
}

static void test_bad_addresses(void **state)
{
    const char *out = dispatch(*state,
        "<iq type='get' id='j1' from='u@localhost/r' to='bad jid@support.localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    assert_non_null(strstr(out, "<jid-malformed"));
    assert_non_null(strstr(out, "from='support.localhost'"));
    /* Another domain: not ours to answer. */
    out = dispatch(*state,
        "<iq type='get' id='j2' from='u@localhost/r' to='elsewhere.example'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    assert_string_equal(out, "");
}

static void on_room_message(void *ud, const struct stanza_in *in)
{
    struct fixture *f = ud;
    assert_string_equal(in->to.local, "billing");
    assert_string_equal(in->from.resource, "r");
    f->room_messages++;
}

static void test_routes_by_address_kind(void **state)
{
    struct fixture *f = *state;
    router_on_message(f->router, ROUTE_ROOM, on_room_message, f);
    const char *out = dispatch(f,
        "<message type='groupchat' from='u@localhost/r' to='Billing@support.localhost'>"
        "<body>x</body></message>");
    assert_string_equal(out, "");
    assert_int_equal(f->room_messages, 1);
    router_on_message(f->router, ROUTE_ROOM, NULL, NULL);
}

struct reply_record {
    int calls;
    bool timed_out;
    char type[16];
};

static void on_reply(void *ud, const struct stanza_in *in)
{
    struct reply_record *r = ud;
    r->calls++;
    r->timed_out = in == NULL;
    if (in)
        snprintf(r->type, sizeof r->type, "%s", in->type);
}

static void test_expected_replies(void **state)
{
    struct fixture *f = *state;
    struct reply_record rec = {0};
    char id[ROUTER_ID_SIZE];
    assert_int_equal(router_new_id(f->router, id, sizeof id), 0);
    assert_int_equal(router_expect_reply(f->router, id, "U@localhost/r", 10000,
                                         on_reply, &rec),
                     0);
    /* One id, one wait. */
    assert_int_equal(router_expect_reply(f->router, id, "u@localhost/r", 10000,
                                         on_reply, &rec),
                     -1);
    char xml[256];
    /* Answers from anyone but the addressee are not the answer: not from
     * another JID, another resource, the bare JID, the server. */
    static const char *const others[] = {"eve@localhost/r", "u@localhost/x",
                                         "u@localhost", "localhost"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        snprintf(xml, sizeof xml,
                 "<iq type='error' id='%s' from='%s' to='support.localhost'/>",
                 id, others[i]);
        assert_string_equal(dispatch(f, xml), "");
        assert_int_equal(rec.calls, 0);
    }
    /* The addressee's answer, as prepared (case-insensitive local part). */
    snprintf(xml, sizeof xml,
             "<iq type='result' id='%s' from='u@LOCALHOST/r' to='support.localhost'/>",
             id);
    dispatch(f, xml);
    assert_int_equal(rec.calls, 1);
    assert_false(rec.timed_out);
    assert_string_equal(rec.type, "result");
    dispatch(f, xml); /* a second answer is ignored */
    assert_int_equal(rec.calls, 1);
}

static void test_ids_are_random(void **state)
{
    struct fixture *f = *state;
    char a[ROUTER_ID_SIZE], b[ROUTER_ID_SIZE], small[8];
    assert_int_equal(router_new_id(f->router, a, sizeof a), 0);
    assert_int_equal(router_new_id(f->router, b, sizeof b), 0);
    assert_int_equal(strlen(a), ROUTER_ID_SIZE - 1);
    assert_memory_equal(a, "md-", 3);
    assert_string_not_equal(a, b);
    /* 128 random bits: two ids share their first 8 hex digits with
     * probability 2^-32. */
    assert_memory_not_equal(a + 3, b + 3, 8);
    assert_int_equal(router_new_id(f->router, small, sizeof small), -1);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disco_info),
        cmocka_unit_test(test_disco_unknown_node),
        cmocka_unit_test(test_ping_and_version),
        cmocka_unit_test(test_unknown_namespace_is_service_unavailable),
        cmocka_unit_test(test_malformed_iqs),
        cmocka_unit_test(test_never_answer_results_or_errors),
        cmocka_unit_test(test_messages_without_handler_get_an_error),
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_routes_by_address_kind),
        cmocka_unit_test(test_expected_replies),
        cmocka_unit_test(test_ids_are_random),
    };
    return cmocka_run_group_tests_name("router", tests, setup, teardown);
}
