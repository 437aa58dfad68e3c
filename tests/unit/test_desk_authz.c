/* Unit tests: the authorisation table (desk/authz.c), every role against
 * every action, and the queue-name rules of the directory. */
#include "cmocka_prelude.h"

#include <string.h>

#include "desk/authz.h"
#include "desk/directory.h"

/* The expected matrix, written out: 1 = allowed. */
static const int expected[5][DESK_ACT_COUNT] = {
    /*                request enter-s enter-q read accept waiting session supervise reports admin */
    [DESK_ROLE_NONE] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    [DESK_ROLE_CUSTOMER] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0},
    [DESK_ROLE_AGENT] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
    [DESK_ROLE_SUPERVISOR] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
    [DESK_ROLE_ADMIN] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};

static void test_matrix(void **state)
{
    (void)state;
    for (int r = DESK_ROLE_NONE; r <= DESK_ROLE_ADMIN; r++)
        for (int a = 0; a < DESK_ACT_COUNT; a++) {
            bool got = desk_authz_allows((enum desk_role)r,
                                         (enum desk_action)a);
            if (got != (bool)expected[r][a])
                fail_msg("%s / %s: got %d", desk_role_name((enum desk_role)r),
                         desk_action_name((enum desk_action)a), got);
        }
    assert_false(desk_authz_allows(DESK_ROLE_ADMIN, DESK_ACT_COUNT));
}

static void test_refusal_says_nothing(void **state)
{
    (void)state;
    struct xerr a, b;
    desk_authz_refuse(&a);
    desk_authz_refuse(&b);
    assert_int_equal(a.cond, XERR_FORBIDDEN);
    assert_string_equal(a.text, b.text);
    assert_null(strstr(a.text, "ticket"));
    assert_null(strstr(a.text, "exist"));
}

static void test_queue_names(void **state)
{
    (void)state;
    assert_null(desk_queue_name_problem("billing"));
    assert_null(desk_queue_name_problem("eu.support-2_b"));
    assert_non_null(desk_queue_name_problem(""));
    assert_non_null(desk_queue_name_problem("Billing"));
    assert_non_null(desk_queue_name_problem("-x"));
    assert_non_null(desk_queue_name_problem("a b"));
    assert_non_null(desk_queue_name_problem("ticket-5"));
    assert_non_null(desk_queue_name_problem(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_true(desk_strategy_known("skills"));
    assert_false(desk_strategy_known("random"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_refusal_says_nothing),
        cmocka_unit_test(test_queue_names),
    };
    return cmocka_run_group_tests_name("desk_authz", tests, NULL, NULL);
}
