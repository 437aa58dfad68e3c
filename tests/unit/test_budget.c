/* Unit tests: per-sender budgets (core/budget.h) — rates per key, holders
 * capped per key, a bounded table that forgets idle keys without walking. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <string.h>

#include "core/budget.h"

static void test_each_key_has_its_own_rate(void **state)
{
    (void)state;
    struct budget *b = budget_new(2, 60000, 0, 100);
    assert_non_null(b);
    assert_int_equal(budget_take(b, "a@x", 1000), BUDGET_OK);
    assert_int_equal(budget_take(b, "a@x", 1000), BUDGET_OK);
    assert_int_equal(budget_take(b, "a@x", 1000), BUDGET_EXCEEDED);
    /* Another key is not affected. */
    assert_int_equal(budget_take(b, "b@x", 1000), BUDGET_OK);
    /* One back every 30 s. */
    assert_int_equal(budget_take(b, "a@x", 31000), BUDGET_OK);
    assert_int_equal(budget_take(b, "a@x", 31000), BUDGET_EXCEEDED);
    budget_free(b);
}

static void test_a_token_given_back_can_be_used_again(void **state)
{
    (void)state;
    struct budget *b = budget_new(1, 60000, 0, 100);
    assert_int_equal(budget_take(b, "d", 5), BUDGET_OK);
    assert_int_equal(budget_take(b, "d", 5), BUDGET_EXCEEDED);
    budget_give_back(b, "d", 6);
    assert_int_equal(budget_take(b, "d", 7), BUDGET_OK);
    /* Never more than the burst. */
    budget_give_back(b, "d", 8);
    budget_give_back(b, "d", 8);
    assert_int_equal(budget_take(b, "d", 9), BUDGET_OK);
    assert_int_equal(budget_take(b, "d", 9), BUDGET_EXCEEDED);
    budget_free(b);
}

struct thing {
    int n;
    struct budget_holder h;
};

static void test_holders_are_capped_and_kept_oldest_first(void **state)
{
    (void)state;
    struct budget *b = budget_new(0, 0, 2, 100);
    struct thing t[3] = {{1, {0}}, {2, {0}}, {3, {0}}};
    assert_int_equal(budget_hold(b, "k", &t[0].h, 1), BUDGET_OK);
    assert_int_equal(budget_hold(b, "k", &t[1].h, 2), BUDGET_OK);
    assert_int_equal(budget_hold(b, "k", &t[2].h, 3), BUDGET_EXCEEDED);
    assert_null(t[2].h.entry);
    assert_int_equal(budget_held(b, "k"), 2);
    struct budget_holder *old = budget_oldest(b, "k");
    assert_int_equal(BUDGET_OWNER(old, struct thing, h)->n, 1);
    /* Shedding the oldest makes room. */
    budget_release(b, old, 4);
    assert_int_equal(budget_hold(b, "k", &t[2].h, 4), BUDGET_OK);
    assert_int_equal(BUDGET_OWNER(budget_oldest(b, "k"), struct thing, h)->n,
                     2);
    budget_release(b, &t[1].h, 5);
    budget_release(b, &t[2].h, 5);
    budget_release(b, &t[2].h, 5); /* not held: nothing */
    assert_int_equal(budget_held(b, "k"), 0);
    /* Without a rate an entry that holds nothing is gone at once. */
    assert_int_equal(budget_entries(b), 0);
    budget_free(b);
}

static void test_idle_keys_are_forgotten_without_a_walk(void **state)
{
    (void)state;
    struct budget *b = budget_new(1, 1000, 0, 1000);
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "anon%d@anon.localhost", i);
        assert_int_equal(budget_take(b, key, 10), BUDGET_OK);
    }
    assert_int_equal(budget_entries(b), 100);
    /* A window later each call forgets (up to) two idle entries. */
    assert_int_equal(budget_take(b, "late@x", 2000), BUDGET_OK);
    assert_int_equal(budget_entries(b), 99);
    for (int i = 0; i < 60; i++)
        budget_take(b, "late@x", 2001);
    assert_int_equal(budget_entries(b), 1);
    budget_free(b);
}

static void test_a_full_table_forgets_the_least_recently_used(void **state)
{
    (void)state;
    struct budget *b = budget_new(1, 3600000, 0, 3);
    assert_int_equal(budget_take(b, "a", 1), BUDGET_OK);
    assert_int_equal(budget_take(b, "b", 2), BUDGET_OK);
    assert_int_equal(budget_take(b, "c", 3), BUDGET_OK);
    assert_int_equal(budget_take(b, "a", 4), BUDGET_EXCEEDED); /* a is used */
    assert_int_equal(budget_take(b, "d", 5), BUDGET_OK);       /* b goes */
    assert_int_equal(budget_entries(b), 3);
    /* b starts afresh (lenient), a is still remembered. */
    assert_int_equal(budget_take(b, "b", 6), BUDGET_OK);
    assert_int_equal(budget_take(b, "a", 7), BUDGET_EXCEEDED);
    budget_free(b);
}

static void test_entries_that_hold_something_are_never_forgotten(void **state)
{
    (void)state;
    struct budget *b = budget_new(5, 1000, 10, 2);
    struct budget_holder h1 = {0}, h2 = {0}, h3 = {0};
    assert_int_equal(budget_hold(b, "a", &h1, 1), BUDGET_OK);
    assert_int_equal(budget_hold(b, "b", &h2, 1), BUDGET_OK);
    /* Full of holders: a third key is refused, whatever the time. */
    assert_int_equal(budget_hold(b, "c", &h3, 100000), BUDGET_FULL);
    assert_int_equal(budget_take(b, "c", 100000), BUDGET_FULL);
    assert_int_equal(budget_held(b, "a"), 1);
    budget_release(b, &h1, 100000);
    assert_int_equal(budget_hold(b, "c", &h3, 100001), BUDGET_OK);
    budget_free(b); /* unlinks h2 and h3 */
    assert_null(h2.entry);
    assert_null(h3.entry);
}

static void test_long_keys_cost_no_more(void **state)
{
    (void)state;
    struct budget *b = budget_new(1, 1000, 0, 10);
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(budget_take(b, big, 1), BUDGET_OK);
    assert_int_equal(budget_take(b, big, 1), BUDGET_EXCEEDED);
    budget_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_key_has_its_own_rate),
        cmocka_unit_test(test_a_token_given_back_can_be_used_again),
        cmocka_unit_test(test_holders_are_capped_and_kept_oldest_first),
        cmocka_unit_test(test_idle_keys_are_forgotten_without_a_walk),
        cmocka_unit_test(test_a_full_table_forgets_the_least_recently_used),
        cmocka_unit_test(test_entries_that_hold_something_are_never_forgotten),
        cmocka_unit_test(test_long_keys_cost_no_more),
    };
    return cmocka_run_group_tests_name("budget", tests, NULL, NULL);
}
