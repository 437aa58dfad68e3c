/* Unit tests: the desk's pure helpers (desk/text.c): text command lines,
 * the wait estimate, the rolling average, the customer's email address.
 * (The session details JSON: test_desk_details.c.) */
#include "cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "desk/text.h"

static void test_cmdline(void **state)
{
    (void)state;
    struct desk_cmdline cl;
    assert_int_equal(desk_cmdline_parse("/close resolved  fixed it", &cl), 0);
    assert_string_equal(cl.name, "close");
    assert_string_equal(cl.args, "resolved  fixed it");
    assert_int_equal(desk_cmdline_parse("/HELP", &cl), 0);
    assert_string_equal(cl.name, "help");
    assert_string_equal(cl.args, "");
    assert_int_equal(desk_cmdline_parse("hello /close", &cl), -1);
    assert_int_equal(desk_cmdline_parse("//not a command", &cl), -1);
    assert_int_equal(desk_cmdline_parse("/ x", &cl), -1);
    assert_int_equal(desk_cmdline_parse("/", &cl), -1);
    assert_int_equal(
        desk_cmdline_parse("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &cl),
        -1);
    assert_int_equal(desk_cmdline_parse(NULL, &cl), -1);
    /* "!" is the primary form (clients keep "/"); followed by a letter. */
    assert_int_equal(desk_cmdline_parse("!close resolved", &cl), 0);
    assert_string_equal(cl.name, "close");
    assert_string_equal(cl.args, "resolved");
    assert_int_equal(desk_cmdline_parse("!Note x", &cl), 0);
    assert_string_equal(cl.name, "note");
    assert_int_equal(desk_cmdline_parse("!!", &cl), -1);
    assert_int_equal(desk_cmdline_parse("! yes", &cl), -1);
    assert_int_equal(desk_cmdline_parse("!1", &cl), -1);
    assert_int_equal(desk_cmdline_parse("!", &cl), -1);
    assert_false(desk_cmdline_prefix("great!"));
    assert_true(desk_cmdline_prefix("!help"));
}

static void test_words_and_ints(void **state)
{
    (void)state;
    const char *args = "  queued   sales call back ";
    char w[16];
    assert_true(desk_next_word(&args, w, sizeof w));
    assert_string_equal(w, "queued");
    assert_true(desk_next_word(&args, w, sizeof w));
    assert_string_equal(w, "sales");
    assert_string_equal(args, "call back ");
    const char *none = "   ";
    assert_false(desk_next_word(&none, w, sizeof w));
    long v;
    assert_int_equal(desk_parse_int("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(desk_parse_int("0", 1, 5, &v), -1);
    assert_int_equal(desk_parse_int("6", 1, 5, &v), -1);
    assert_int_equal(desk_parse_int("3x", 1, 5, &v), -1);
    assert_int_equal(desk_parse_int("", 1, 5, &v), -1);
    assert_int_equal(desk_parse_int("5 ", 1, 5, &v), 0);
}

static void test_wait_estimate(void **state)
{
    (void)state;
    /* rolling average x (index + 1), position 1 = next */
    assert_int_equal(desk_wait_estimate(60.0, 1), 60);
    assert_int_equal(desk_wait_estimate(60.0, 3), 180);
    assert_int_equal(desk_wait_estimate(12.5, 2), 25);
    assert_int_equal(desk_wait_estimate(0, 2), -1);
    assert_int_equal(desk_wait_estimate(60, 0), -1);
    assert_int_equal(desk_wait_estimate(1e9, 5), 86400);
    char t[16];
    desk_format_duration(45, t, sizeof t);
    assert_string_equal(t, "45 s");
    desk_format_duration(150, t, sizeof t);
    assert_string_equal(t, "3 min");
}

static void test_rolling_average(void **state)
{
    (void)state;
    struct desk_rolling r = {0};
    assert_true(desk_rolling_mean(&r) == 0);
    desk_rolling_add(&r, 10);
    desk_rolling_add(&r, 20);
    assert_true(desk_rolling_mean(&r) == 15);
    for (int i = 0; i < DESK_WAIT_SAMPLES; i++)
        desk_rolling_add(&r, 100);
    /* the old values have rolled out */
    assert_true(desk_rolling_mean(&r) == 100);
}

static void test_email(void **state)
{
    (void)state;
    static const char *const good[] = {
        "ann@example.org", "a.b+tag@mail.example.co.uk", "o'brien@example.ie",
        "x@xn--bcher-kva.example", "j\xc3\xb6rg@b\xc3\xbc" "cher.example",
        "{weird}~!#$%&*=?^_`|@x-y.example", "a@b.c",
    };
    static const char *const bad[] = {
        "", "ann", "@example.org", "ann@", "ann@example", "ann@@example.org",
        "a@b@example.org", "ann@example.org,eve@evil.example",
        "ann@example.org, eve@evil.example", "root,ann@example.org",
        "ann@example.org;eve@evil.example", "Ann <ann@example.org>",
        "\"ann\"@example.org", "ann@example.org\r\nBcc: eve@evil.example",
        "ann@example.org\nBcc: eve", "ann@example.org\r", "an n@example.org",
        "ann@exa mple.org", "(c)ann@example.org", "ann@[127.0.0.1]",
        "group:ann@example.org;", ".ann@example.org", "ann.@example.org",
        "a..b@example.org", "ann@example..org", "ann@.example.org",
        "ann@example.org.", "ann@-example.org", "ann@example-.org",
        "ann@exam\\ple.org", "ann\t@example.org", "ann@example.org\x01",
        "ann@ex\xe2\x82.org", /* ill-formed UTF-8 */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(desk_email_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (desk_email_ok(bad[i]))
            fail_msg("accepted %s", bad[i]);
    char longest[300];
    memset(longest, 'a', 64);
    strcpy(longest + 64, "@");
    for (size_t n = strlen(longest); n < 254; n += 2)
        strcpy(longest + n, n + 2 < 254 ? "b." : "bc");
    longest[254] = '\0';
    longest[253] = 'c';
    assert_true(desk_email_ok(longest));
    longest[254] = 'c';
    longest[255] = '\0';
    assert_false(desk_email_ok(longest));  /* 255 bytes */
    memset(longest, 'a', 65);
    strcpy(longest + 65, "@example.org");
    assert_false(desk_email_ok(longest));  /* a 65-byte local part */
}

static void test_normalise_list(void **state)
{
    (void)state;
    char s[] = " French, billing,,  VIP ";
    assert_int_equal(desk_normalise_list(s), 3);
    assert_string_equal(s, "french,billing,vip");
    char e[] = " , ";
    assert_int_equal(desk_normalise_list(e), 0);
    assert_string_equal(e, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdline),
        cmocka_unit_test(test_words_and_ints),
        cmocka_unit_test(test_wait_estimate),
        cmocka_unit_test(test_rolling_average),
        cmocka_unit_test(test_normalise_list),
        cmocka_unit_test(test_email),
    };
    return cmocka_run_group_tests_name("desk_text", tests, NULL, NULL);
}
