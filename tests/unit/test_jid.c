/* Unit tests: JID parsing and preparation. */
#include "cmocka_prelude.h"

#include <string.h>

#include "core/jid.h"

static void test_full_jid(void **state)
{
    struct jid j;
    char text[JID_TEXT_MAX + 1];
    (void)state;
    assert_int_equal(jid_parse("Room@Support.LocalHost/Nick Name", &j), 0);
    assert_string_equal(j.local, "room");
    assert_string_equal(j.domain, "support.localhost");
    /* Resources keep their case and spaces (resourceprep). */
    assert_string_equal(j.resource, "Nick Name");
    assert_int_equal(jid_bare_text(&j, text, sizeof text), 22);
    assert_string_equal(text, "room@support.localhost");
    jid_full_text(&j, text, sizeof text);
    assert_string_equal(text, "room@support.localhost/Nick Name");
}

static void test_domain_only_and_trailing_dot(void **state)
{
    struct jid j;
    (void)state;
    assert_int_equal(jid_parse("support.localhost.", &j), 0);
    assert_false(jid_has_local(&j));
    assert_false(jid_has_resource(&j));
    assert_string_equal(j.domain, "support.localhost");
}

static void test_resource_may_contain_at_and_slash(void **state)
{
    struct jid j;
    (void)state;
    assert_int_equal(jid_parse("a@b/c@d/e", &j), 0);
    assert_string_equal(j.local, "a");
    assert_string_equal(j.domain, "b");
    assert_string_equal(j.resource, "c@d/e");
}

static void test_invalid_jids(void **state)
{
    struct jid j;
    (void)state;
    assert_int_equal(jid_parse("", &j), -1);
    assert_int_equal(jid_parse("@domain", &j), -1);
    assert_int_equal(jid_parse("user@", &j), -1);
    assert_int_equal(jid_parse("user@domain/", &j), -1);
    assert_int_equal(jid_parse("us er@domain", &j), -1);
    assert_int_equal(jid_parse("us\"er@domain", &j), -1);
    assert_int_equal(jid_parse("user@dom ain", &j), -1);
    assert_int_equal(jid_parse("user@domain/bad\x01res", &j), -1);
    char long_local[1100];
    memset(long_local, 'a', sizeof long_local);
    strcpy(long_local + 1030, "@example.org");
    assert_int_equal(jid_parse(long_local, &j), -1);
}

static void test_non_ascii_goes_through_stringprep(void **state)
{
    struct jid j;
    (void)state;
    /* Nodeprep folds case outside ASCII too: Ä -> ä. */
    assert_int_equal(jid_parse("\xc3\x84rger@example.org/\xc3\x84", &j), 0);
    assert_string_equal(j.local, "\xc3\xa4rger");
    assert_string_equal(j.resource, "\xc3\x84");
    /* U+00A0 (no-break space) is prohibited in a node. */
    assert_int_equal(jid_parse("a\xc2\xa0" "b@example.org", &j), -1);
}

/* A domain with a non-ASCII character goes through nameprep, which allows
 * ASCII punctuation: the characters the ASCII path refuses ('@', '<',
 * space...) must be refused there too (found by tests/fuzz: "a@b@münchen"
 * parsed with the domain "b@münchen"). */
static void test_non_ascii_domain_keeps_ascii_rules(void **state)
{
    (void)state;
    struct jid j;
    assert_int_equal(jid_parse("a@b@m\xc3\xbcnchen.example", &j), -1);
    assert_int_equal(jid_parse("m\xc3\xbcnchen.example<x>", &j), -1);
    assert_int_equal(jid_parse("m\xc3\xbcn chen.example", &j), -1);
    assert_int_equal(jid_parse("m\xc3\xbcnchen.example:5222", &j), -1);
    assert_int_equal(jid_parse("ann@M\xc3\x9cnchen.example/r", &j), 0);
    assert_string_equal(j.domain, "m\xc3\xbcnchen.example");
    /* and a local part through nodeprep keeps its own */
    assert_int_equal(jid_parse("\xc3\xa9<b>@example.org", &j), -1);
}

/* Empty labels are refused: "a.." would lose one dot per parse (found by
 * tests/fuzz: 'x@mrt..' printed as 'x@mrt.', which parses as 'x@mrt'). */
static void test_empty_domain_labels(void **state)
{
    (void)state;
    struct jid j;
    assert_int_equal(jid_parse("x@mrt..", &j), -1);
    assert_int_equal(jid_parse("x@a..b", &j), -1);
    assert_int_equal(jid_parse(".example.org", &j), -1);
    assert_int_equal(jid_parse("x@m\xc3\xbcnchen..example", &j), -1);
    assert_int_equal(jid_parse("x@example.org.", &j), 0);
    assert_string_equal(j.domain, "example.org");
}

static void test_prep_parts(void **state)
{
    char out[JID_PART_MAX + 1];
    (void)state;
    assert_int_equal(jid_prep_local("Billing", out), 0);
    assert_string_equal(out, "billing");
    assert_int_equal(jid_prep_local("bil ling", out), -1);
    assert_int_equal(jid_prep_resource("Anna K.", out), 0);
    assert_string_equal(out, "Anna K.");
    assert_int_equal(jid_prep_resource("", out), -1);
}

static void test_bare_equal(void **state)
{
    struct jid a, b;
    (void)state;
    jid_parse("User@Example.org/one", &a);
    jid_parse("user@example.org/two", &b);
    assert_true(jid_bare_equal(&a, &b));
    jid_parse("other@example.org", &b);
    assert_false(jid_bare_equal(&a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_jid),
        cmocka_unit_test(test_domain_only_and_trailing_dot),
        cmocka_unit_test(test_resource_may_contain_at_and_slash),
        cmocka_unit_test(test_invalid_jids),
        cmocka_unit_test(test_non_ascii_goes_through_stringprep),
        cmocka_unit_test(test_non_ascii_domain_keeps_ascii_rules),
        cmocka_unit_test(test_empty_domain_labels),
        cmocka_unit_test(test_prep_parts),
        cmocka_unit_test(test_bare_equal),
    };
    return cmocka_run_group_tests_name("jid", tests, NULL, NULL);
}
