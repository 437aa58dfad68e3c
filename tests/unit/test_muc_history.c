/* Unit tests: the MUC's history ring (muc/history.c): bounded in entries
 * and in bytes, oldest dropped first, staff-only flag kept. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <string.h>

#include "muc/history.h"
#include "muc/room.h"

static void add(struct muc_history *h, int i, size_t payload_len,
                unsigned max_count, size_t max_bytes, bool staff_only)
{
    char payload[4096], sid[16];
    memset(payload, 'p', payload_len);
    snprintf(sid, sizeof sid, "id%d", i);
    struct muc_history_entry e = {
        .at_us = i, .nick = "nick", .nick_len = 4, .stanza_id = sid,
        .stanza_id_len = strlen(sid), .occupant_id = "", .occupant_id_len = 0,
        .payload = payload, .payload_len = payload_len,
        .staff_only = staff_only,
    };
    muc_history_add(h, &e, max_count, max_bytes);
}

static int ids(const struct muc_history *h, int *out, int max)
{
    size_t pos = 0;
    struct muc_history_entry e;
    int n = 0;
    while (n < max && muc_history_next(h, &pos, &e))
        out[n++] = (int)e.at_us;
    return n;
}

static void test_count_bound(void **state)
{
    (void)state;
    struct muc_history h = {0};
    for (int i = 1; i <= 20; i++)
        add(&h, i, 10, 5, 100000, false);
    int got[32];
    int n = ids(&h, got, 32);
    assert_true(n <= 5);
    assert_true(n >= 3); /* drops a quarter at once */
    assert_int_equal(got[n - 1], 20);
    for (int i = 1; i < n; i++)
        assert_int_equal(got[i], got[i - 1] + 1);
    muc_history_free(&h);
}

static void test_byte_bound(void **state)
{
    (void)state;
    struct muc_history h = {0};
    for (int i = 1; i <= 100; i++)
        add(&h, i, 100, 1000, 1024, i % 2 == 0);
    assert_true(muc_history_bytes(&h) <= 1024);
    int got[64];
    int n = ids(&h, got, 64);
    assert_true(n >= 4);
    assert_int_equal(got[n - 1], 100);
    size_t pos = 0;
    struct muc_history_entry e;
    while (muc_history_next(&h, &pos, &e)) {
        assert_int_equal(e.staff_only, e.at_us % 2 == 0);
        assert_int_equal(e.payload_len, 100);
        assert_memory_equal(e.nick, "nick", 4);
    }
    /* An entry bigger than the whole budget is not kept. */
    add(&h, 101, 2000, 1000, 1024, false);
    n = ids(&h, got, 64);
    assert_int_equal(got[n - 1], 100);
    muc_history_free(&h);
}

/* The sender's id comes back with the entry; one too long to keep is
 * dropped, not the message. */
static void test_message_id_kept(void **state)
{
    (void)state;
    struct muc_history h = {0};
    char long_id[300];
    memset(long_id, 'x', sizeof long_id);
    const struct {
        const char *id;
        size_t len;
    } cases[] = {{"client-1", 8}, {"", 0}, {long_id, sizeof long_id}};
    for (int i = 0; i < 3; i++) {
        struct muc_history_entry e = {
            .at_us = i, .nick = "n", .nick_len = 1, .stanza_id = "s",
            .stanza_id_len = 1, .occupant_id = "o", .occupant_id_len = 1,
            .message_id = cases[i].id, .message_id_len = cases[i].len,
            .payload = "<body>b</body>", .payload_len = 14,
        };
        muc_history_add(&h, &e, 10, 100000);
    }
    size_t pos = 0;
    struct muc_history_entry e;
    assert_true(muc_history_next(&h, &pos, &e));
    assert_int_equal(e.message_id_len, 8);
    assert_memory_equal(e.message_id, "client-1", 8);
    assert_memory_equal(e.occupant_id, "o", 1);
    assert_memory_equal(e.payload, "<body>b</body>", 14);
    assert_true(muc_history_next(&h, &pos, &e));
    assert_int_equal(e.message_id_len, 0);
    assert_true(muc_history_next(&h, &pos, &e));
    assert_int_equal(e.at_us, 2);
    assert_int_equal(e.message_id_len, 0);
    assert_memory_equal(e.payload, "<body>b</body>", 14);
    assert_false(muc_history_next(&h, &pos, &e));
    muc_history_free(&h);
}

static void test_empty(void **state)
{
    (void)state;
    struct muc_history h = {0};
    size_t pos = 0;
    struct muc_history_entry e;
    assert_false(muc_history_next(&h, &pos, &e));
    add(&h, 1, 10, 0, 1000, false); /* history off */
    assert_false(muc_history_next(&h, &pos, &e));
    muc_history_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_bound),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_message_id_kept),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests_name("muc_history", tests, NULL, NULL);
}
