/* Unit tests: parsing for the ticket commands (desk/ticket_args.c): the
 * field=value words of !tickets and !ticket-update, the age filter,
 * ticket numbers and statuses. */
#include "cmocka_prelude.h"

#include <string.h>

#include "core/utf8.h"
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

static const char *same(void *ud, const char *s)
{
    (void)ud;
    return s;
}

static const char *none(void *ud, const char *s)
{
    (void)ud;
    (void)s;
    return NULL;
}

static void test_change_set(void **state)
{
    (void)state;
    struct desk_ticket_change c = {0};
    char why[200];
#define SET(f, v) desk_ticket_change_set(&c, "me@example.org", f, v, same, \
                                         NULL, why, sizeof why)
    assert_int_equal(SET("status", "Resolved"), 0);
    assert_string_equal(c.status, "RESOLVED");
    assert_int_equal(SET("owner", "me"), 0);
    assert_string_equal(c.owner, "me@example.org");
    assert_int_equal(SET("owner", "Alex@Example.org/laptop"), 0);
    assert_string_equal(c.owner, "alex@example.org");
    assert_int_equal(SET("owner", "none"), 0);
    assert_string_equal(c.owner, "");
    assert_int_equal(SET("priority", "2"), 0);
    assert_int_equal(c.priority, 2);
    assert_int_equal(SET("merge-into", "#17"), 0);
    assert_int_equal(c.merge_into, 17);
    assert_int_equal(SET("tags", "-"), 0);
    assert_string_equal(c.tags, "");
    assert_int_equal(SET("impact", "high"), 0);
    assert_string_equal(c.impact, "high");
    /* Refusals name the field. */
    assert_int_equal(SET("priority", "6"), -1);
    assert_string_equal(why, "priority: 1 (highest) to 5");
    assert_int_equal(SET("status", "closed"), -1);
    assert_string_equal(why, "status: queued, inprogress or resolved");
    assert_int_equal(SET("owner", "any"), -1);
    assert_int_equal(SET("owner", "not a jid@"), -1);
    assert_int_equal(SET("colour", "blue"), -1);
    assert_true(strncmp(why, "Unknown field colour:", 21) == 0);
    /* A long unknown name is cut on a character (issue 11): 30 ASCII bytes
     * and a two-byte character across the 31-byte cut. */
    assert_int_equal(SET("abcdefghijklmnopqrstuvwxyz0123\xc3\xa9tail", "v"), -1);
    assert_int_equal(utf8_valid_len(why, strlen(why)), strlen(why));
    assert_true(strncmp(why, "Unknown field abcdefghijklmnopqrstuvwxyz0123:",
                        45) == 0);
    char big[1100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(SET("solution", big), -1);
    assert_string_equal(why, "solution: at most 1000 bytes");
#undef SET
    /* Without an asker (mucdeskctl) "me" means nobody. */
    assert_int_equal(desk_ticket_change_set(&c, NULL, "owner", "me", same,
                                            NULL, why, sizeof why), -1);
    assert_string_equal(why, "owner: none or a JID");
    /* A failing copy is told apart from bad input. */
    assert_int_equal(desk_ticket_change_set(&c, NULL, "note", "n", none, NULL,
                                            why, sizeof why), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_kv_bad),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_ticket_and_status),
        cmocka_unit_test(test_age_text),
        cmocka_unit_test(test_change_set),
    };
    return cmocka_run_group_tests_name("desk_ticket_args", tests, NULL, NULL);
}
