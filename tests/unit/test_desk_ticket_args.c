/* Unit tests: parsing for the ticket commands (desk/ticket_args.c): the
 * field=value words of !tickets and !ticket-update, the age filter,
 * ticket numbers and statuses. */
#include "cmocka_prelude.h"

#include <string.h>

#include "desk/ticket_args.h"

static void test_kv(void **state)
{
    (void)state;
    char f[16], v[32];
    const char *a = "  status=resolved Note=\"fixed the \\\"jam\\\"\" x=  ";
    assert_int_equal(desk_kv_next(&a, f, sizeof f, v, sizeof v), 1);
    assert_string_equal(f, "status");
    assert_string_equal(v, "resolved");
    assert_int_equal(desk_kv_next(&a, f, sizeof f, v, sizeof v), 1);
    assert_string_equal(f, "note");
    assert_string_equal(v, "fixed the \"jam\"");
    /* An empty value is a value (it clears a field). */
    assert_int_equal(desk_kv_next(&a, f, sizeof f, v, sizeof v), 1);
    assert_string_equal(f, "x");
    assert_string_equal(v, "");
    assert_int_equal(desk_kv_next(&a, f, sizeof f, v, sizeof v), 0);
    assert_int_equal(desk_kv_next(&a, f, sizeof f, v, sizeof v), 0);

    const char *b = "merge-into=#12 tags=a,b";
    assert_int_equal(desk_kv_next(&b, f, sizeof f, v, sizeof v), 1);
    assert_string_equal(f, "merge-into");
    assert_string_equal(v, "#12");
    assert_int_equal(desk_kv_next(&b, f, sizeof f, v, sizeof v), 1);
    assert_string_equal(v, "a,b");
}

static void test_kv_bad(void **state)
{
    (void)state;
    char f[8], v[8];
    const char *bad[] = {"word", "=value", "st atus=x", "a=\"open",
                         "a=\"x\"y", "f%=1", "waytoolongfield=1",
                         "a=123456789", "a=\"123456789\"", NULL};
    for (size_t i = 0; bad[i]; i++) {
        const char *p = bad[i];
        assert_int_equal(desk_kv_next(&p, f, sizeof f, v, sizeof v), -1);
    }
    /* It stops at the bad word, after the good ones. */
    const char *p = "a=1 oops";
    assert_int_equal(desk_kv_next(&p, f, sizeof f, v, sizeof v), 1);
    assert_int_equal(desk_kv_next(&p, f, sizeof f, v, sizeof v), -1);
    assert_string_equal(p, "oops");
    /* UTF-8 values pass whole. */
    char big[32];
    const char *u = "text=\"Привет мир\"";
    assert_int_equal(desk_kv_next(&u, f, sizeof f, big, sizeof big), 1);
    assert_string_equal(big, "Привет мир");
}

static void test_age(void **state)
{
    (void)state;
    int64_t s;
    bool older;
    assert_int_equal(desk_parse_age("30m", &s, &older), 0);
    assert_int_equal(s, 1800);
    assert_false(older);
    assert_int_equal(desk_parse_age(">2d", &s, &older), 0);
    assert_int_equal(s, 2 * 86400);
    assert_true(older);
    assert_int_equal(desk_parse_age("1w", &s, &older), 0);
    assert_int_equal(s, 7 * 86400);
    assert_int_equal(desk_parse_age("12h", &s, &older), 0);
    assert_int_equal(s, 12 * 3600);
    const char *bad[] = {"", "h", "2", "2y", "-2d", "0d", "2 d", ">", "d2",
                         "+2d", "99999999999999d", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(desk_parse_age(bad[i], &s, &older), -1);
    assert_int_equal(desk_parse_age(NULL, &s, &older), -1);
}

static void test_ticket_and_status(void **state)
{
    (void)state;
    int64_t id;
    assert_int_equal(desk_parse_ticket("42", &id), 0);
    assert_int_equal(id, 42);
    assert_int_equal(desk_parse_ticket("#7", &id), 0);
    assert_int_equal(id, 7);
    assert_int_equal(desk_parse_ticket("0", &id), -1);
    assert_int_equal(desk_parse_ticket("-3", &id), -1);
    assert_int_equal(desk_parse_ticket("+3", &id), -1);
    assert_int_equal(desk_parse_ticket("4x", &id), -1);
    assert_int_equal(desk_parse_ticket("", &id), -1);
    assert_int_equal(desk_parse_ticket(NULL, &id), -1);
    char st[16];
    assert_int_equal(desk_parse_status("resolved", st, sizeof st), 0);
    assert_string_equal(st, "RESOLVED");
    assert_int_equal(desk_parse_status("InProgress", st, sizeof st), 0);
    assert_string_equal(st, "INPROGRESS");
    assert_int_equal(desk_parse_status("closed", st, sizeof st), -1);
    assert_int_equal(desk_parse_status("", st, sizeof st), -1);
}

static void test_age_text(void **state)
{
    (void)state;
    char b[16];
    desk_age_text(5, b, sizeof b);
    assert_string_equal(b, "5s");
    desk_age_text(125, b, sizeof b);
    assert_string_equal(b, "2m");
    desk_age_text(7200, b, sizeof b);
    assert_string_equal(b, "2h");
    desk_age_text(3 * 86400 + 5, b, sizeof b);
    assert_string_equal(b, "3d");
    desk_age_text(-4, b, sizeof b);
    assert_string_equal(b, "0s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_kv_bad),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_ticket_and_status),
        cmocka_unit_test(test_age_text),
    };
    return cmocka_run_group_tests_name("desk_ticket_args", tests, NULL, NULL);
}
