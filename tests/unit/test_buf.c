/* Unit tests: the growable buffer. */
#include "cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void test_append_and_grow(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    assert_string_equal(buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        buf_append_str(&b, "0123456789");
    assert_int_equal(b.len, 10000);
    assert_false(buf_failed(&b));
    assert_int_equal(strlen(b.data), 10000);
    assert_memory_equal(b.data + 9990, "0123456789", 10);
    buf_free(&b);
    assert_null(b.data);
}

static void test_printf_small_and_large(void **state)
{
    struct buf b = BUF_INIT;
    char big[1000];
    (void)state;
    buf_printf(&b, "%d-%s", 42, "x");
    assert_string_equal(b.data, "42-x");
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 4 + 2 + 999);
    assert_int_equal(b.data[b.len - 1], ']');
    buf_free(&b);
}

static void test_truncate_consume_reset(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    buf_append_str(&b, "hello world");
    buf_truncate(&b, 5);
    assert_string_equal(b.data, "hello");
    buf_consume(&b, 2);
    assert_string_equal(b.data, "llo");
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap); /* the allocation is kept for reuse */
    buf_free(&b);
}

static void test_steal(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    buf_append_char(&b, 'a');
    char *s = buf_steal(&b);
    assert_string_equal(s, "a");
    assert_null(b.data);
    free(s);
    s = buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
}

static void test_failure_is_sticky(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    buf_append_str(&b, "ok");
    assert_int_equal(buf_reserve(&b, SIZE_MAX / 2), -1);
    assert_true(buf_failed(&b));
    buf_append_str(&b, "ignored");
    assert_string_equal(b.data, "ok");
    assert_null(buf_steal(&b)); /* a failed buffer yields nothing */
    buf_append_str(&b, "fresh");
    assert_false(buf_failed(&b));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_printf_small_and_large),
        cmocka_unit_test(test_truncate_consume_reset),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_failure_is_sticky),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
