/* Unit tests: the token bucket behind [muc] message_rate and [desk]
 * new_tickets_per_minute. */
#include "cmocka_prelude.h"

#include "core/ratelimit.h"

static int take_n(struct rate_bucket *b, int n, uint32_t per, uint32_t window,
                  uint32_t now)
{
    int taken = 0;
    for (int i = 0; i < n; i++)
        taken += rate_bucket_take(b, per, window, now);
    return taken;
}

static void test_a_new_bucket_allows_a_full_burst(void **state)
{
    (void)state;
    struct rate_bucket b = {0};
    assert_int_equal(take_n(&b, 10, 5, 10000, 12345), 5);
    assert_false(rate_bucket_take(&b, 5, 10000, 12345));
}

static void test_it_refills_at_the_rate(void **state)
{
    (void)state;
    struct rate_bucket b = {0};
    assert_int_equal(take_n(&b, 3, 3, 60000, 1000), 3);
    /* One every 20 s: nothing after 19.9 s, one at 20 s, not two. */
    assert_false(rate_bucket_take(&b, 3, 60000, 1000 + 19900));
    assert_true(rate_bucket_take(&b, 3, 60000, 1000 + 20000));
    assert_false(rate_bucket_take(&b, 3, 60000, 1000 + 20000));
    /* A long pause refills to the burst, no more. */
    assert_int_equal(take_n(&b, 10, 3, 60000, 1000 + 3600000), 3);
}

static void test_fractions_accumulate(void **state)
{
    (void)state;
    struct rate_bucket b = {0};
    assert_int_equal(take_n(&b, 2, 2, 60000, 500), 2);
    /* 2 a minute: 10 s steps add a third of an event each. */
    assert_false(rate_bucket_take(&b, 2, 60000, 10500));
    assert_false(rate_bucket_take(&b, 2, 60000, 20500));
    assert_true(rate_bucket_take(&b, 2, 60000, 30500));
}

static void test_a_flood_of_attempts_loses_no_refill(void **state)
{
    (void)state;
    struct rate_bucket b = {0};
    assert_int_equal(take_n(&b, 2, 2, 60000, 1), 2);
    /* An attempt every millisecond, each refilling 0.033 of an event: the
     * next one is still allowed 30 s later. */
    int taken = 0;
    uint32_t at = 0;
    for (uint32_t t = 2; t <= 30001 && !taken; t++)
        if (rate_bucket_take(&b, 2, 60000, t))
            taken = 1, at = t;
    assert_true(taken);
    assert_in_range(at, 29990, 30001);
}

static void test_the_clock_may_wrap_and_start_at_zero(void **state)
{
    (void)state;
    struct rate_bucket b = {0};
    assert_true(rate_bucket_take(&b, 1, 1000, 0));   /* now 0: still "used" */
    assert_false(rate_bucket_take(&b, 1, 1000, 0));
    struct rate_bucket w = {0};
    assert_true(rate_bucket_take(&w, 1, 1000, UINT32_MAX - 499));
    assert_false(rate_bucket_take(&w, 1, 1000, UINT32_MAX));
    assert_true(rate_bucket_take(&w, 1, 1000, 500));  /* 1 s later, wrapped */
}

static void test_high_rates_do_not_overflow(void **state)
{
    (void)state;
    struct rate_bucket b = {0};
    assert_int_equal(take_n(&b, 5, 4000000, 1, 7), 5);
    assert_true(rate_bucket_take(&b, 4000000, 1, UINT32_MAX / 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_bucket_allows_a_full_burst),
        cmocka_unit_test(test_it_refills_at_the_rate),
        cmocka_unit_test(test_fractions_accumulate),
        cmocka_unit_test(test_a_flood_of_attempts_loses_no_refill),
        cmocka_unit_test(test_the_clock_may_wrap_and_start_at_zero),
        cmocka_unit_test(test_high_rates_do_not_overflow),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
