/* Unit tests: exponential backoff with jitter. */
#include "cmocka_prelude.h"

#include "core/backoff.h"

static void test_delays_double_up_to_the_cap(void **state)
{
    struct backoff b;
    (void)state;
    backoff_init(&b, 1000, 30000);
    const uint32_t steps[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        assert_int_equal(backoff_step_ms(&b), steps[i]);
        uint32_t d = backoff_next(&b);
        /* Jitter keeps each delay within [step/2, step]. */
        assert_true(d >= steps[i] / 2);
        assert_true(d <= steps[i]);
    }
    backoff_reset(&b);
    assert_int_equal(backoff_step_ms(&b), 1000);
}

static void test_jitter_spreads_delays(void **state)
{
    struct backoff b;
    uint32_t min = UINT32_MAX, max = 0;
    (void)state;
    backoff_init(&b, 1000, 1000);
    for (int i = 0; i < 200; i++) {
        uint32_t d = backoff_next(&b);
        min = d < min ? d : min;
        max = d > max ? d : max;
    }
    /* 200 draws from [500, 1000] do not all land in a narrow band. */
    assert_true(max - min > 250);
}

static void test_many_failures_do_not_overflow(void **state)
{
    struct backoff b;
    (void)state;
    backoff_init(&b, 1000, 30000);
    for (int i = 0; i < 1000; i++)
        assert_true(backoff_next(&b) <= 30000);
    assert_int_equal(backoff_step_ms(&b), 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_double_up_to_the_cap),
        cmocka_unit_test(test_jitter_spreads_delays),
        cmocka_unit_test(test_many_failures_do_not_overflow),
    };
    return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
