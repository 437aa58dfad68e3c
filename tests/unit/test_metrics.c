/* Unit tests: the metrics registry and the Prometheus text exposition. */
#include "cmocka_prelude.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

static char *expose(struct metrics *m)
{
    struct buf b = BUF_INIT;
    metrics_expose(m, &b);
    assert_false(buf_failed(&b));
    return buf_steal(&b);
}

static void test_counter_and_gauge(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    uint64_t messages = 0, waiting = 7;
    assert_int_equal(metrics_add_u64(m, "mucdesk_messages_total",
                                     METRICS_COUNTER, "Messages delivered.",
                                     &messages), 0);
    assert_int_equal(metrics_add_u64(m, "mucdesk_waiting", METRICS_GAUGE,
                                     "Chats waiting.", &waiting), 0);
    messages += 3; /* read at scrape time, not at registration */
    char *text = expose(m);
    assert_string_equal(text,
                        "# HELP mucdesk_messages_total Messages delivered.\n"
                        "# TYPE mucdesk_messages_total counter\n"
                        "mucdesk_messages_total 3\n"
                        "# HELP mucdesk_waiting Chats waiting.\n"
                        "# TYPE mucdesk_waiting gauge\n"
                        "mucdesk_waiting 7\n");
    free(text);
    metrics_free(m);
}

static void collect_labels(void *ud, struct metrics_out *out)
{
    (void)ud;
    struct metrics_label a[] = {{"queue", "bil\"l\\ing\nx"}, {"kind", "pm"}};
    metrics_sample(out, a, 2, 0.25);
    struct metrics_label bad[] = {{"1queue", "x"}};
    metrics_sample(out, bad, 1, 1);          /* dropped: invalid label name */
    struct metrics_label reserved[] = {{"__name__", "x"}};
    metrics_sample(out, reserved, 1, 1);     /* dropped: reserved */
    struct metrics_label le[] = {{"le", "x"}};
    metrics_sample(out, le, 1, 1);           /* dropped: histograms' */
    metrics_sample(out, NULL, 0, INFINITY);
    metrics_sample(out, NULL, 0, NAN);
    metrics_sample(out, NULL, 0, 0.1);
    metrics_sample(out, NULL, 0, 1e21);
}

static void test_label_escaping_and_numbers(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_int_equal(metrics_add(m, "mucdesk_x", METRICS_GAUGE,
                                 "Help with \\ and\nnewline.", collect_labels,
                                 NULL), 0);
    char *text = expose(m);
    assert_string_equal(text,
                        "# HELP mucdesk_x Help with \\\\ and\\nnewline.\n"
                        "# TYPE mucdesk_x gauge\n"
                        "mucdesk_x{queue=\"bil\\\"l\\\\ing\\nx\",kind=\"pm\"} 0.25\n"
                        "mucdesk_x +Inf\n"
                        "mucdesk_x NaN\n"
                        "mucdesk_x 0.1\n"
                        "mucdesk_x 1e+21\n");
    free(text);
    metrics_free(m);
}

static const double bounds[] = {1, 2.5, 10};

struct two {
    struct metrics_histogram a, b;
};

static void collect_hist(void *ud, struct metrics_out *out)
{
    struct two *t = ud;
    struct metrics_label q = {"queue", "a"};
    metrics_sample_histogram(out, &q, 1, &t->a);
    metrics_sample_histogram(out, NULL, 0, &t->b);
    metrics_sample(out, NULL, 0, 1); /* dropped: not for a histogram */
}

static void test_histogram(void **state)
{
    (void)state;
    struct two t;
    assert_int_equal(metrics_histogram_init(&t.a, bounds, 3), 0);
    assert_int_equal(metrics_histogram_init(&t.b, bounds, 3), 0);
    metrics_histogram_observe(&t.a, 0.5);
    metrics_histogram_observe(&t.a, 1);    /* le is inclusive */
    metrics_histogram_observe(&t.a, 2);
    metrics_histogram_observe(&t.a, 11);   /* +Inf only */
    struct metrics *m = metrics_new();
    assert_int_equal(metrics_add(m, "mucdesk_wait_seconds", METRICS_HISTOGRAM,
                                 "Wait.", collect_hist, &t), 0);
    char *text = expose(m);
    assert_string_equal(text,
                        "# HELP mucdesk_wait_seconds Wait.\n"
                        "# TYPE mucdesk_wait_seconds histogram\n"
                        "mucdesk_wait_seconds_bucket{queue=\"a\",le=\"1\"} 2\n"
                        "mucdesk_wait_seconds_bucket{queue=\"a\",le=\"2.5\"} 3\n"
                        "mucdesk_wait_seconds_bucket{queue=\"a\",le=\"10\"} 3\n"
                        "mucdesk_wait_seconds_bucket{queue=\"a\",le=\"+Inf\"} 4\n"
                        "mucdesk_wait_seconds_sum{queue=\"a\"} 14.5\n"
                        "mucdesk_wait_seconds_count{queue=\"a\"} 4\n"
                        "mucdesk_wait_seconds_bucket{le=\"1\"} 0\n"
                        "mucdesk_wait_seconds_bucket{le=\"2.5\"} 0\n"
                        "mucdesk_wait_seconds_bucket{le=\"10\"} 0\n"
                        "mucdesk_wait_seconds_bucket{le=\"+Inf\"} 0\n"
                        "mucdesk_wait_seconds_sum 0\n"
                        "mucdesk_wait_seconds_count 0\n");
    free(text);
    metrics_free(m);
}

static void test_registration_rules(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    uint64_t v = 0;
    struct metrics_histogram h;
    static const double unordered[] = {1, 1};
    double many[METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
        many[i] = (double)i;
    assert_int_equal(metrics_add_u64(m, "ok:name_1", METRICS_GAUGE, "", &v), 0);
    assert_int_equal(metrics_add_u64(m, "ok:name_1", METRICS_GAUGE, "", &v), -1);
    assert_int_equal(metrics_add_u64(m, "1bad", METRICS_GAUGE, "", &v), -1);
    assert_int_equal(metrics_add_u64(m, "bad-name", METRICS_GAUGE, "", &v), -1);
    assert_int_equal(metrics_add_u64(m, "", METRICS_GAUGE, "", &v), -1);
    assert_int_equal(metrics_add_u64(m, "h", METRICS_HISTOGRAM, "", &v), -1);
    assert_int_equal(metrics_histogram_init(&h, unordered, 2), -1);
    assert_int_equal(metrics_histogram_init(&h, many, METRICS_MAX_BUCKETS + 1), -1);
    assert_int_equal(metrics_histogram_init(&h, many, METRICS_MAX_BUCKETS), 0);
    /* Many families: the table grows. */
    char names[100][16];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        assert_int_equal(metrics_add_u64(m, names[i], METRICS_COUNTER, "", &v), 0);
    }
    char *text = expose(m);
    assert_non_null(strstr(text, "# TYPE f99 counter\nf99 0\n"));
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_format_double(void **state)
{
    (void)state;
    char s[32];
    const double values[] = {0, 1, -1, 0.1, 1.0 / 3, 123456789.125, 5e-324,
                             1.7976931348623157e308};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        metrics_format_double(values[i], s, sizeof s);
        assert_true(strtod(s, NULL) == values[i]);
    }
    metrics_format_double(0.3, s, sizeof s);
    assert_string_equal(s, "0.3");
    metrics_format_double(10, s, sizeof s);
    assert_string_equal(s, "10");
    metrics_format_double(1800, s, sizeof s);
    assert_string_equal(s, "1800");
    metrics_format_double(0.0001, s, sizeof s);
    assert_string_equal(s, "0.0001");
    metrics_format_double(0.00001, s, sizeof s);
    assert_string_equal(s, "1e-05");
    metrics_format_double(-2.5, s, sizeof s);
    assert_string_equal(s, "-2.5");
    metrics_format_double(-INFINITY, s, sizeof s);
    assert_string_equal(s, "-Inf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge),
        cmocka_unit_test(test_label_escaping_and_numbers),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_registration_rules),
        cmocka_unit_test(test_format_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
