/* Unit tests: the event loop's timers, descriptors and turn hooks. */
#include "cmocka_prelude.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/loop.h"

struct record {
    struct loop *loop;
    char order[64];
    int finalized;
    int fired;
    struct loop_timer *to_cancel;
};

static void note(struct record *r, char c)
{
    size_t n = strlen(r->order);
    r->order[n] = c;
    r->order[n + 1] = '\0';
}

static void fire_a(void *ud) { note(ud, 'a'); }
static void fire_b(void *ud) { note(ud, 'b'); }
static void fire_c(void *ud) { note(ud, 'c'); }
static void fire_stop(void *ud)
{
    struct record *r = ud;
    note(r, 's');
    loop_stop(r->loop);
}
static void finalize(void *ud) { ((struct record *)ud)->finalized++; }

static void test_timers_fire_in_due_order(void **state)
{
    struct record r = {0};
    (void)state;
    /* Timers count from the loop's cached time (read at loop_new and once
     * per turn), so measure from before that. */
    uint64_t start = loop_clock_ms();
    r.loop = loop_new();
    assert_non_null(r.loop);
    loop_timer_add(r.loop, 30, fire_c, &r, finalize);
    loop_timer_add(r.loop, 10, fire_a, &r, finalize);
    loop_timer_add(r.loop, 20, fire_b, &r, finalize);
    /* Same due time: first added runs first. */
    loop_timer_add(r.loop, 20, fire_c, &r, finalize);
    loop_timer_add(r.loop, 40, fire_stop, &r, finalize);
    assert_int_equal(loop_run(r.loop), 0);
    assert_string_equal(r.order, "abccs");
    assert_int_equal(r.finalized, 5);
    assert_true(loop_clock_ms() - start >= 40);
    loop_free(r.loop);
}

static void test_cancel_runs_finalizer_not_callback(void **state)
{
    struct record r = {0};
    (void)state;
    r.loop = loop_new();
    struct loop_timer *t = loop_timer_add(r.loop, 5, fire_a, &r, finalize);
    loop_timer_add(r.loop, 10, fire_stop, &r, NULL);
    loop_timer_cancel(r.loop, t);
    assert_int_equal(r.finalized, 1);
    loop_run(r.loop);
    assert_string_equal(r.order, "s");
    loop_timer_cancel(r.loop, NULL); /* a no-op */
    loop_free(r.loop);
}

static void test_many_timers_heap(void **state)
{
    struct record r = {0};
    (void)state;
    r.loop = loop_new();
    struct loop_timer *timers[200];
    for (int i = 0; i < 200; i++)
        timers[i] = loop_timer_add(r.loop, (uint64_t)(1000 - i * 3 % 997),
                                   fire_a, &r, finalize);
    /* Cancel every other one, from the middle of the heap. */
    for (int i = 0; i < 200; i += 2)
        loop_timer_cancel(r.loop, timers[i]);
    assert_int_equal(r.finalized, 100);
    /* Freeing the loop finalizes what is left, without firing. */
    loop_free(r.loop);
    assert_int_equal(r.finalized, 200);
    assert_string_equal(r.order, "");
}

struct io_record {
    struct loop *loop;
    int reads;
    uint64_t value;
};

static void on_readable(void *ud, int fd, uint32_t events)
{
    struct io_record *io = ud;
    uint64_t v;
    assert_true(events & EPOLLIN);
    assert_int_equal(read(fd, &v, sizeof v), sizeof v);
    io->value += v;
    io->reads++;
    loop_stop(io->loop);
}

static void test_descriptor_readiness(void **state)
{
    struct io_record io = {0};
    (void)state;
    io.loop = loop_new();
    int efd = eventfd(0, EFD_NONBLOCK);
    assert_int_equal(loop_io_add(io.loop, efd, EPOLLIN, on_readable, &io), 0);
    uint64_t seven = 7;
    assert_int_equal(write(efd, &seven, sizeof seven), sizeof seven);
    loop_run(io.loop);
    assert_int_equal(io.reads, 1);
    assert_int_equal(io.value, 7);
    loop_io_remove(io.loop, efd);
    loop_io_remove(io.loop, efd); /* twice is harmless */
    close(efd);
    loop_free(io.loop);
}

struct hook_record {
    struct loop *loop;
    int calls;
};

static bool hook(void *ud)
{
    struct hook_record *h = ud;
    /* Ask for three more turns without waiting, then stop. */
    if (++h->calls == 4)
        loop_stop(h->loop);
    return h->calls < 4;
}

static void test_turn_hook_keeps_loop_polling(void **state)
{
    struct hook_record h = {0};
    (void)state;
    h.loop = loop_new();
    loop_turn_hook_add(h.loop, hook, &h);
    uint64_t start = loop_clock_ms();
    loop_run(h.loop); /* no timers, no fds: would block forever if not */
    assert_int_equal(h.calls, 4);
    assert_true(loop_clock_ms() - start < 1000);
    loop_free(h.loop);
}

/* loop_advance: virtual time for tests and fuzz targets. */
struct advance {
    struct loop *loop;
    uint64_t start;
    uint64_t at[8];
    int n;
    int turns;
};

static void at_due(void *ud)
{
    struct advance *a = ud;
    a->at[a->n++] = loop_now(a->loop) - a->start;
}

static void at_due_then_more(void *ud)
{
    struct advance *a = ud;
    at_due(ud);
    /* Counts from its own due time, not from where the advance ends. */
    loop_timer_add(a->loop, 5, at_due, a, NULL);
}

static bool count_turn(void *ud)
{
    ((struct advance *)ud)->turns++;
    return false;
}

static void test_advance_runs_timers_at_their_time(void **state)
{
    (void)state;
    struct advance a = {0};
    a.loop = loop_new();
    a.start = loop_now(a.loop);
    assert_int_equal(loop_turn_hook_add(a.loop, count_turn, &a), 0);
    loop_timer_add(a.loop, 20, at_due_then_more, &a, NULL);
    loop_timer_add(a.loop, 10, at_due, &a, NULL);
    loop_timer_add(a.loop, 1000, at_due, &a, NULL);
    loop_advance(a.loop, 30);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.at[0], 10);
    assert_int_equal(a.at[1], 20);
    assert_int_equal(a.at[2], 25);
    assert_int_equal(loop_now(a.loop) - a.start, 30);
    assert_true(a.turns >= 3);
    loop_advance(a.loop, 0); /* a turn, nothing due */
    assert_int_equal(a.n, 3);
    loop_advance(a.loop, 970);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.at[3], 1000);
    loop_free(a.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_due_order),
        cmocka_unit_test(test_advance_runs_timers_at_their_time),
        cmocka_unit_test(test_cancel_runs_finalizer_not_callback),
        cmocka_unit_test(test_many_timers_heap),
        cmocka_unit_test(test_descriptor_readiness),
        cmocka_unit_test(test_turn_hook_keeps_loop_polling),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
