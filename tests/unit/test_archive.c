/* Unit tests: the archive's XMPP-thread side and journal thread, without a
 * database (the DB thread runs but never connects): appends, group commit
 * and the durable listener, async mode, the memory cap, a full disk, the
 * journal kept across restarts, the record codec, and tickets without
 * reserved numbers. */
#include "cmocka_prelude.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/config.h"
#include "core/loop.h"
#include "store/archive.h"
#include "store/db.h"
#include "store/archive_impl.h"
#include "store/records.h"
#include "store/tickets.h"

struct fixture {
    char dir[64];
    struct config cfg;
    struct loop *loop;
    struct store *store;
    struct archive *archive;
    uint64_t durable;       /* last value the listener got */
    unsigned calls;
    bool in_append;         /* the listener must never run inside append */
    bool reentered;
    uint64_t wait_for;
    struct loop_timer *give_up;
};

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            rm_rf(p);
        else
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void on_durable(void *ud, uint64_t seq)
{
    struct fixture *f = ud;
    if (f->in_append)
        f->reentered = true;
    assert_true(seq > f->durable);
    f->durable = seq;
    f->calls++;
}

static void open_archive(struct fixture *f)
{
    f->loop = loop_new();
    struct store_config scfg = {
        /* Nothing listens there: the DB thread keeps retrying. */
        .conninfo = "host=/nonexistent port=1 dbname=none",
        .connect_timeout_s = 1,
        .statement_timeout_ms = 1000,
    };
    f->store = store_new(f->loop, &scfg);
    assert_non_null(f->store);
    f->archive = archive_new(f->loop, f->store, &f->cfg);
    assert_non_null(f->archive);
    archive_on_durable(f->archive, on_durable, f);
    assert_int_equal(store_start(f->store), 0);
    assert_int_equal(archive_start(f->archive), 0);
    f->durable = archive_durable(f->archive);
    f->calls = 0;
}

static void close_archive(struct fixture *f)
{
    archive_stop(f->archive, 0);
    store_stop(f->store, 0);
    archive_free(f->archive);
    store_free(f->store);
    loop_free(f->loop);
    f->archive = NULL;
    f->store = NULL;
    f->loop = NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_archive.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->cfg.service.state_dir = f->dir;
    f->cfg.database.durability = CONFIG_DURABILITY_JOURNAL;
    f->cfg.database.journal_segment_mb = 1;
    f->cfg.database.queue_memory_mb = 16;
    f->cfg.database.query_timeout_ms = 1000;
    f->cfg.retention.batch_size = 100;
    f->cfg.retention.interval_s = 3600;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->archive)
        close_archive(f);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static void check_wait(void *ud)
{
    struct fixture *f = ud;
    if (f->durable >= f->wait_for)
        loop_stop(f->loop);
    else
        loop_timer_add(f->loop, 2, check_wait, f, NULL);
}

static void give_up(void *ud)
{
    struct fixture *f = ud;
    f->give_up = NULL;
    loop_stop(f->loop);
}

/* Runs the loop until the listener reported `seq` (or timeout_ms passed). */
static void run_until_durable_ms(struct fixture *f, uint64_t seq,
                                 uint64_t timeout_ms)
{
    f->wait_for = seq;
    f->give_up = loop_timer_add(f->loop, timeout_ms, give_up, f, NULL);
    loop_timer_add(f->loop, 0, check_wait, f, NULL);
    loop_run(f->loop);
    loop_timer_cancel(f->loop, f->give_up); /* NULL if it fired */
    f->give_up = NULL;
}

static void run_until_durable(struct fixture *f, uint64_t seq)
{
    run_until_durable_ms(f, seq, 5000);
}

static uint64_t append_event(struct fixture *f, unsigned n, size_t body_size)
{
    char id[32], body[4096];
    snprintf(id, sizeof id, "sid-%u", n);
    if (body_size >= sizeof body)
        body_size = sizeof body - 1;
    memset(body, 'x', body_size);
    body[body_size] = '\0';
    struct archive_event ev = {
        .stanza_id = id, .room = "room1", .at_us = 1700000000000000 + n,
        .kind = ARCHIVE_MESSAGE, .actor_nick = "nick", .body = body,
    };
    f->in_append = true;
    uint64_t seq = archive_append(f->archive, &ev);
    f->in_append = false;
    return seq;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_record_codec(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    struct archive_event ev = {
        .stanza_id = "abc", .room = "sales", .ticket_id = 77,
        .at_us = -5, .kind = ARCHIVE_SUBJECT, .actor_jid = "a@b",
        .actor_nick = NULL, .occupant_id = "", .body = "multi\nline\ttext",
        .payload = NULL, .staff_only = true,
    };
    record_encode_event(&b, &ev);
    struct archive_event out;
    assert_int_equal(record_decode_event((const uint8_t *)b.data, b.len, &out), 0);
    assert_string_equal(out.stanza_id, "abc");
    assert_string_equal(out.room, "sales");
    assert_int_equal(out.ticket_id, 77);
    assert_int_equal(out.at_us, -5);
    assert_int_equal(out.kind, ARCHIVE_SUBJECT);
    assert_string_equal(out.actor_jid, "a@b");
    assert_null(out.actor_nick);
    assert_string_equal(out.occupant_id, "");
    assert_string_equal(out.body, "multi\nline\ttext");
    assert_null(out.payload);
    assert_true(out.staff_only);
    assert_null(out.message_id);
    /* Every truncation is refused, never read past. */
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(record_decode_event((const uint8_t *)b.data, n, &out), -1);
    /* A journal written before the sender's id was kept (version 1: the
     * same fields, without the last one) still replays. */
    b.data[0] = 1;
    assert_int_equal(record_decode_event((const uint8_t *)b.data, b.len - 4, &out), 0);
    assert_null(out.message_id);
    assert_string_equal(out.body, "multi\nline\ttext");
    assert_int_equal(record_decode_event((const uint8_t *)b.data, b.len, &out), -1);
    buf_reset(&b);
    ev.message_id = "client-42";
    record_encode_event(&b, &ev);
    assert_int_equal(record_decode_event((const uint8_t *)b.data, b.len, &out), 0);
    assert_string_equal(out.message_id, "client-42");
    buf_free(&b);

    struct store_ticket t = {
        .id = 12, .queue = "billing", .status = TICKET_RESOLVED,
        .customer_name = "Ann", .priority = 2, .created_us = 1, .ended_us = 3,
        .chat_seconds = 90, .rating = 5, .room = "t12", .has_token_hash = true,
        .details = "{\"a\": 1}",
    };
    for (int i = 0; i < TICKET_TOKEN_HASH_SIZE; i++)
        t.token_hash[i] = (uint8_t)i;
    record_encode_ticket(&b, &t);
    struct store_ticket u;
    assert_int_equal(record_decode_ticket((const uint8_t *)b.data, b.len, &u), 0);
    assert_int_equal(u.id, 12);
    assert_string_equal(u.queue, "billing");
    assert_int_equal(u.status, TICKET_RESOLVED);
    assert_null(u.subject);
    assert_string_equal(u.customer_name, "Ann");
    assert_int_equal(u.priority, 2);
    assert_int_equal(u.ended_us, 3);
    assert_int_equal(u.accepted_us, 0);
    assert_int_equal(u.chat_seconds, 90);
    assert_int_equal(u.rating, 5);
    assert_true(u.has_token_hash);
    assert_memory_equal(u.token_hash, t.token_hash, TICKET_TOKEN_HASH_SIZE);
    assert_string_equal(u.details, "{\"a\": 1}");
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(record_decode_ticket((const uint8_t *)b.data, n, &u), -1);
    assert_false(u.followup_known);

    /* Version 1 (journals written before the follow-up fields): the same
     * record without its last 29 bytes (a flag, five NULL strings,
     * merged_into) still decodes, without them; with them it is refused. */
    b.data[0] = 1;
    assert_int_equal(record_decode_ticket((const uint8_t *)b.data, b.len - 29, &u), 0);
    assert_string_equal(u.customer_name, "Ann");
    assert_false(u.followup_known);
    assert_null(u.impact);
    assert_int_equal(u.merged_into, 0);
    assert_int_equal(record_decode_ticket((const uint8_t *)b.data, b.len, &u), -1);

    /* Version 2 carries them through. */
    buf_reset(&b);
    t.followup_known = true;
    t.impact = "high";
    t.ci = "invoice-service";
    t.tags = "billing,vip";
    t.solution = "Credit note sent";
    t.customer_phone = "+33 1 23 45 67 89";
    t.merged_into = 7;
    record_encode_ticket(&b, &t);
    assert_int_equal(record_decode_ticket((const uint8_t *)b.data, b.len, &u), 0);
    assert_true(u.followup_known);
    assert_string_equal(u.impact, "high");
    assert_string_equal(u.ci, "invoice-service");
    assert_string_equal(u.tags, "billing,vip");
    assert_string_equal(u.solution, "Credit note sent");
    assert_string_equal(u.customer_phone, "+33 1 23 45 67 89");
    assert_int_equal(u.merged_into, 7);
    assert_string_equal(u.details, "{\"a\": 1}");
    buf_free(&b);
}

static void test_copy_text_and_timestamps(void **state)
{
    char ts[64];
    (void)state;
    pgtext_timestamp(ts, 1700000000123456);
    assert_string_equal(ts, "2023-11-14 22:13:20.123456+00");
    /* The cached date part is replaced when the second changes, in both
     * directions. */
    pgtext_timestamp(ts, 1700000000999999);
    assert_string_equal(ts, "2023-11-14 22:13:20.999999+00");
    pgtext_timestamp(ts, 1700000001000000);
    assert_string_equal(ts, "2023-11-14 22:13:21.000000+00");
    pgtext_timestamp(ts, 1699999999000001);
    assert_string_equal(ts, "2023-11-14 22:13:19.000001+00");
    pgtext_timestamp(ts, -1); /* before the epoch */
    assert_string_equal(ts, "1969-12-31 23:59:59.999999+00");
    pgtext_timestamp(ts, 0);
    assert_string_equal(ts, "");

    struct buf b = BUF_INIT;
    pgtext_copy_str(&b, "plain");
    buf_append_char(&b, '|');
    pgtext_copy_str(&b, "tab\there\nnew\rline \\ back");
    buf_append_char(&b, '|');
    pgtext_copy_str(&b, NULL);
    buf_append_char(&b, '|');
    pgtext_copy_str(&b, "");
    buf_append_char(&b, '|');
    pgtext_copy_str(&b, "\t\t");
    assert_string_equal(buf_cstr(&b),
                        "plain|tab\\there\\nnew\\rline \\\\ back|\\N||\\t\\t");
    buf_free(&b);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(archive_kind_name(ARCHIVE_MESSAGE), "message");
    assert_string_equal(archive_kind_name(ARCHIVE_NOTE), "note");
    assert_string_equal(archive_kind_name(ARCHIVE_SYSTEM), "system");
    assert_string_equal(archive_kind_name(ARCHIVE_SUBJECT), "system");
    assert_string_equal(ticket_status_name(TICKET_INPROGRESS), "INPROGRESS");
    enum ticket_status st;
    assert_int_equal(ticket_status_parse("RESOLVED", &st), 0);
    assert_int_equal(st, TICKET_RESOLVED);
    assert_int_equal(ticket_status_parse("closed", &st), -1);
}

static void test_appends_become_durable_by_group_commit(void **state)
{
    struct fixture *f = *state;
    open_archive(f);
    assert_true(archive_accepting(f->archive));
    uint64_t first = append_event(f, 1, 10);
    assert_int_equal(first, 1);
    /* Not durable before the journal thread synced it. */
    assert_int_equal(archive_durable(f->archive), 0);
    uint64_t last = first;
    for (unsigned i = 2; i <= 5000; i++)
        last = append_event(f, i, 100);
    assert_int_equal(last, 5000);
    run_until_durable(f, 5000);
    assert_int_equal(archive_durable(f->archive), 5000);
    assert_int_equal(f->durable, 5000);
    /* Group commit: far fewer listener calls (syncs) than records. */
    assert_true(f->calls >= 1);
    assert_true(f->calls < 100);
    assert_false(f->reentered);

    struct archive_stats st;
    archive_get_stats(f->archive, &st);
    assert_int_equal(st.appended, 5000);
    assert_int_equal(st.written, 5000);
    assert_int_equal(st.committed, 0); /* no database */
    assert_int_equal(st.tail_records, 5000);
    assert_true(st.journal_segments >= 1);
}

static void test_invalid_events_are_refused(void **state)
{
    struct fixture *f = *state;
    open_archive(f);
    struct archive_event ev = {.stanza_id = "x", .room = NULL};
    assert_int_equal(archive_append(f->archive, &ev), 0);
    ev.room = "r";
    ev.stanza_id = "";
    assert_int_equal(archive_append(f->archive, &ev), 0);
    ev.stanza_id = "ok";
    assert_int_equal(archive_append(f->archive, &ev), 1);
}

static void test_journal_survives_restart(void **state)
{
    struct fixture *f = *state;
    open_archive(f);
    for (unsigned i = 1; i <= 3000; i++)
        append_event(f, i, 200);
    run_until_durable(f, 3000);
    close_archive(f); /* the database never came: all of it stays */

    open_archive(f);
    struct archive_stats st;
    archive_get_stats(f->archive, &st);
    assert_int_equal(st.appended, 3000);    /* numbering goes on */
    assert_int_equal(st.durable, 3000);
    assert_int_equal(st.committed, 0);      /* to be shipped again */
    assert_int_equal(append_event(f, 3001, 10), 3001);
    run_until_durable(f, 3001);
    close_archive(f);
}

static void test_async_mode_is_durable_at_once_listener_deferred(void **state)
{
    struct fixture *f = *state;
    f->cfg.database.durability = CONFIG_DURABILITY_ASYNC;
    open_archive(f);
    uint64_t seq = append_event(f, 1, 10);
    assert_int_equal(seq, 1);
    assert_int_equal(archive_durable(f->archive), 1);
    /* The listener is told at the end of the loop turn, not inside
     * archive_append (the caller is still in the middle of its work). */
    assert_int_equal(f->calls, 0);
    run_until_durable(f, 1);
    assert_int_equal(f->calls, 1);
    assert_false(f->reentered);
}

static void test_memory_cap_evicts_written_records(void **state)
{
    struct fixture *f = *state;
    f->cfg.database.queue_memory_mb = 1;
    open_archive(f);
    /* 8 MiB of records through a 1 MiB budget. */
    for (unsigned i = 1; i <= 2000; i++) {
        assert_int_equal(append_event(f, i, 4000), i);
        if (i % 100 == 0)
            run_until_durable(f, i);
    }
    run_until_durable(f, 2000);
    append_event(f, 2001, 10); /* eviction happens on the next append */
    struct archive_stats st;
    archive_get_stats(f->archive, &st);
    assert_true(st.tail_bytes <= (1u << 20));
    assert_true(st.tail_records < 2001);
    assert_true(st.journal_bytes >= 8u << 20); /* the journal holds it all */
    assert_true(archive_accepting(f->archive));
}

static void test_full_disk_refuses_instead_of_losing(void **state)
{
    struct fixture *f = *state;
    /* The file size limit stands in for a full disk: a 4 MiB segment
     * cannot be preallocated under a 3 MiB limit. */
    f->cfg.database.journal_segment_mb = 4;
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 3u << 20;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc_open;
    {
        f->loop = loop_new();
        struct store_config scfg = {.conninfo = "host=/nonexistent port=1",
                                    .connect_timeout_s = 1,
                                    .statement_timeout_ms = 1000};
        f->store = store_new(f->loop, &scfg);
        f->archive = archive_new(f->loop, f->store, &f->cfg);
        archive_on_durable(f->archive, on_durable, f);
        store_start(f->store);
        rc_open = archive_start(f->archive);
    }
    /* The first segment cannot even be created: the archive refuses to
     * start rather than run without a journal. */
    assert_int_equal(rc_open, -1);
    assert_false(archive_accepting(f->archive));
    setrlimit(RLIMIT_FSIZE, &old);
    store_stop(f->store, 0);
    archive_free(f->archive);
    store_free(f->store);
    loop_free(f->loop);
    f->archive = NULL;
    f->store = NULL;
    f->loop = NULL;

    /* Now a journal that fills up while running: with 1 MiB segments and
     * the limit lowered to 1 MiB, the next segment cannot be prepared (new
     * chats refused), then the active one fills (appends refused). */
    f->cfg.database.journal_segment_mb = 1;
    open_archive(f);
    for (unsigned i = 1; i <= 100; i++)
        append_event(f, i, 1000);
    run_until_durable(f, 100);
    lim.rlim_cur = (1u << 20) - 4096; /* no new segment can be prepared */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    unsigned accepted = 100, refused = 0;
    for (unsigned i = 101; i <= 3000 && refused < 50; i++) {
        if (append_event(f, i, 1000))
            accepted = i;
        else
            refused++;
        if (i % 50 == 0)
            run_until_durable_ms(f, accepted, 200);
    }
    run_until_durable_ms(f, accepted, 200);
    /* New chats refused; then appends refused (0), never silently lost. */
    assert_false(archive_accepting(f->archive));
    assert_true(refused > 0);
    uint64_t durable = archive_durable(f->archive);
    setrlimit(RLIMIT_FSIZE, &old);
    close_archive(f);

    /* Everything acknowledged as durable is in the journal. */
    open_archive(f);
    struct archive_stats st;
    archive_get_stats(f->archive, &st);
    assert_true(st.appended >= durable);
}

static void test_ticket_create_needs_reserved_numbers(void **state)
{
    struct fixture *f = *state;
    open_archive(f);
    assert_int_equal(store_ticket_ids_available(f->archive), 0);
    struct store_ticket t = {.queue = "q", .status = TICKET_QUEUED};
    assert_int_equal(store_ticket_create(f->archive, &t), 0);
    assert_int_equal(t.id, 0);
    /* An update of a known ticket is journaled like an event. */
    t.id = 5;
    assert_int_equal(store_ticket_update(f->archive, &t), 1);
    t.queue = NULL;
    assert_int_equal(store_ticket_update(f->archive, &t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_codec),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_copy_text_and_timestamps),
        cmocka_unit_test_setup_teardown(test_appends_become_durable_by_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_events_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_mode_is_durable_at_once_listener_deferred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_cap_evicts_written_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_refuses_instead_of_losing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_create_needs_reserved_numbers, setup, teardown),
    };
    return cmocka_run_group_tests_name("archive", tests, NULL, NULL);
}
