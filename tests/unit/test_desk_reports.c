/* Unit tests: the pure parts of issue 7's commands: canned-response
 * placeholders and URLs (desk/text.c), the embed snippet, the statistics'
 * arithmetic and wording (desk/reports.c), transcripts for staff and for
 * the customer, and the transcript mail (desk/transcript.c). */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"
#include "desk/reports.h"
#include "desk/text.h"
#include "desk/transcript.h"
#include "store/archive.h"

static void test_placeholders(void **state)
{
    (void)state;
    const char *vars[] = {"customer", "Ann", "agent", "Alex", "ticket", "42",
                          "empty", NULL, NULL};
    struct buf out = BUF_INIT;
    desk_expand("Hi {customer}, I am {agent} (ticket #{ticket}).{empty}",
                vars, &out);
    assert_string_equal(buf_cstr(&out),
                        "Hi Ann, I am Alex (ticket #42).");
    buf_reset(&out);
    desk_expand("{unknown} {customer {agent}} {} {", vars, &out);
    assert_string_equal(buf_cstr(&out), "{unknown} {customer Alex} {} {");
    buf_reset(&out);
    desk_expand("{customer}{customer}", vars, &out);
    assert_string_equal(buf_cstr(&out), "AnnAnn");
    buf_free(&out);
}

static void test_urls(void **state)
{
    (void)state;
    char url[64];
    assert_true(desk_is_url("  https://example.org/a?b=c \n", url, sizeof url));
    assert_string_equal(url, "https://example.org/a?b=c");
    assert_true(desk_is_url("http://x", url, sizeof url));
    assert_false(desk_is_url("see https://example.org", url, sizeof url));
    assert_false(desk_is_url("https://example.org and more", url, sizeof url));
    assert_false(desk_is_url("https://", url, sizeof url));
    assert_false(desk_is_url("ftp://example.org", url, sizeof url));
    assert_false(desk_is_url("https://a/<b>", url, sizeof url));
    assert_false(desk_is_url("https://example.org/a-very-long-path-that-does-"
                             "not-fit-the-buffer-given-here",
                             url, sizeof url));
}

static void test_snippet(void **state)
{
    (void)state;
    /* The first vector of contrib/widget/tests/snippet-vectors.json (all
     * of them run against mucdeskctl in tests/integration). */
    struct buf out = BUF_INIT;
    desk_widget_snippet(&out, "http://127.0.0.1:8080/mucdesk-widget.js",
                        "ws://127.0.0.1:5280/xmpp-websocket", "anon.localhost",
                        "support.localhost", "billing@support.localhost");
    assert_string_equal(buf_cstr(&out),
        "<script src=\"http://127.0.0.1:8080/mucdesk-widget.js\" defer\n"
        "  data-websocket=\"ws://127.0.0.1:5280/xmpp-websocket\"\n"
        "  data-domain=\"anon.localhost\"\n"
        "  data-service=\"support.localhost\"\n"
        "  data-queue=\"billing@support.localhost\"></script>\n");
    buf_reset(&out);
    desk_html_escape_attr(&out, "a&b<c>d\"e'f/g");
    assert_string_equal(buf_cstr(&out), "a&amp;b&lt;c&gt;d&quot;e&#39;f/g");
    buf_free(&out);
}

static void test_stats_arithmetic(void **state)
{
    (void)state;
    struct desk_stats a = {"billing", 2, 1, 3, 1, 6, 3, 1, 2, 3,
                           150.0, 700.0, 13};
    /* 3 answered waiting 150 s: 50; 2 handled in 700 s: 350; 1 abandoned
     * of 4 that ended one way or the other: 25 %; ratings 13 / 3. */
    assert_true(desk_stats_avg_wait(&a) == 50.0);
    assert_true(desk_stats_avg_handle(&a) == 350.0);
    assert_true(desk_stats_abandon_rate(&a) == 0.25);
    char v[32];
    desk_stats_figure(desk_stats_rating(&a), 2, 1, v, sizeof v);
    assert_string_equal(v, "4.33");
    desk_stats_figure(desk_stats_abandon_rate(&a), 1, 100, v, sizeof v);
    assert_string_equal(v, "25.0");
    desk_stats_figure(0.125, 2, 1, v, sizeof v);
    assert_string_equal(v, "0.13");
    desk_stats_figure(2.5, 0, 1, v, sizeof v);
    assert_string_equal(v, "3");
    struct desk_stats none = {"sales", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_true(desk_stats_avg_wait(&none) < 0);
    assert_true(desk_stats_abandon_rate(&none) < 0);
    desk_stats_figure(desk_stats_rating(&none), 2, 1, v, sizeof v);
    assert_string_equal(v, "-");
    struct desk_stats total;
    memset(&total, 0, sizeof total);
    desk_stats_add(&total, &a);
    desk_stats_add(&total, &none);
    assert_int_equal(total.chats, 6);
    assert_int_equal(total.waiting, 2);
    struct desk_stats offline = none;
    offline.waiting = offline.active = offline.online = offline.available =
        -1; /* mucdeskctl: no live figures */
    desk_stats_add(&total, &offline);
    assert_int_equal(total.waiting, -1);
    struct buf out = BUF_INIT;
    desk_stats_text(&a, &out);
    assert_string_equal(buf_cstr(&out),
        "billing: 2 waiting, 1 active, 3 agent(s) online, 1 available; 6 "
        "chat(s), 3 answered, 1 abandoned (25.0%), average wait 50 s, average "
        "handle time 350 s, rating 4.33 (3)");
    buf_reset(&out);
    desk_stats_text(&offline, &out);
    assert_string_equal(buf_cstr(&out),
        "sales: 0 chat(s), 0 answered, 0 abandoned (-), average wait -, "
        "average handle time -, rating - (0)");
    buf_free(&out);
    int64_t us;
    assert_int_equal(desk_parse_when("2025-01-31", &us), 0);
    assert_int_equal(us, tz_days_from_civil(2025, 1, 31) * 86400 * 1000000);
    assert_int_equal(desk_parse_when("2025-01-31T10:00:00Z", &us), 0);
    assert_int_equal(desk_parse_when("31/01/2025", &us), -1);
    assert_int_equal(desk_parse_when("2025-13-01", &us), -1);
}

/* A small ticket: the details post, a subject, messages, a note, a
 * status, an observer's join, a rating. */
static struct desk_transcript sample(void)
{
    static struct desk_event_row ev[] = {
        {0, "system", NULL, NULL, NULL, "Ticket #42\nName: Ann", false},
        {0, "system", "subject", NULL, NULL, "Ticket #42: Invoice", false},
        {0, "message", NULL, "c1@anon.localhost", "Ann", "Hello?", false},
        {0, "status", NULL, "agent1@localhost", "Alex",
         "accepted by agent1@localhost", false},
        {0, "message", NULL, "agent1@localhost", "Alex", "Hi Ann", false},
        {0, "note", NULL, "agent1@localhost", "Alex", "VIP customer", true},
        {0, "join", NULL, "super1@localhost", "Boss", "Boss joined", true},
        {0, "status", NULL, "agent1@localhost", NULL, "closed: RESOLVED",
         false},
    };
    int64_t t0 = tz_days_from_civil(2025, 1, 31) * 86400 + 23 * 3600 + 59 * 60;
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        ev[i].at_us = (t0 + 20 * (int64_t)i) * 1000000;
    struct desk_transcript t;
    memset(&t, 0, sizeof t);
    t.ticket.id = 42;
    t.ticket.queue = "billing";
    t.ticket.status = "RESOLVED";
    t.ticket.subject = "Invoice";
    t.ticket.customer_jid = "c1@anon.localhost";
    t.ticket.customer_name = "Ann";
    t.ticket.customer_email = "ann@example.org";
    t.ticket.owner_jid = "agent1@localhost";
    t.ticket.priority = 3;
    t.ticket.created_us = t0 * 1000000;
    t.ticket.ended_us = (t0 + 200) * 1000000;
    t.ticket.chat_seconds = 185;
    t.ticket.rating = 4;
    t.ticket.rating_comment = "quick";
    t.ticket.details = "{\"question\":\"Invoice\",\"page\":\"https://shop\","
                       "\"plan\":\"pro\",\"nick\":\"Ann\"}";
    t.events = ev;
    t.count = sizeof ev / sizeof ev[0];
    return t;
}

/* Joins, leaves and transfers name who and what (the room records a
 * join with the nick and no text). */
static void test_event_actions(void **state)
{
    (void)state;
    struct desk_event_row join = {0, "join", NULL, "c1@anon.localhost", "Ann",
                                  NULL, false};
    struct desk_event_row leave = {0, "leave", NULL, "agent1@localhost", NULL,
                                   NULL, false};
    struct desk_event_row move = {0, "transfer", NULL, "agent1@localhost",
                                  "Alex", "to queue sales", false};
    struct buf out = BUF_INIT;
    desk_event_action(&join, DESK_VIEW_CUSTOMER, &out);
    assert_string_equal(buf_cstr(&out), "Ann entered the chat");
    buf_reset(&out);
    desk_event_action(&leave, DESK_VIEW_STAFF, &out);
    assert_string_equal(buf_cstr(&out), "agent1@localhost left the chat");
    buf_reset(&out);
    /* A staff JID is not the customer's to see. */
    desk_event_action(&leave, DESK_VIEW_CUSTOMER, &out);
    assert_string_equal(buf_cstr(&out), "Someone left the chat");
    buf_reset(&out);
    desk_event_action(&move, DESK_VIEW_STAFF, &out);
    assert_string_equal(buf_cstr(&out), "to queue sales (by agent1@localhost)");
    buf_free(&out);
}

/* MAM in a session room: the transcript's kinds and words for each view
 * (staff: every kind, the actor's JID; the customer: none of the events
 * the customer's transcript leaves out). */
static void test_mam_events(void **state)
{
    (void)state;
    unsigned staff = desk_mam_event_kinds(NULL, true);
    unsigned customer = desk_mam_event_kinds(NULL, false);
    const enum archive_kind events[] = {ARCHIVE_JOIN, ARCHIVE_LEAVE,
                                        ARCHIVE_TRANSFER, ARCHIVE_STATUS,
                                        ARCHIVE_RATING};
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
        assert_true(staff & ARCHIVE_KIND_BIT(events[i]));
        assert_false(customer & ARCHIVE_KIND_BIT(events[i]));
    }
    assert_true(customer & ARCHIVE_KIND_BIT(ARCHIVE_MESSAGE));
    assert_true(customer & ARCHIVE_KIND_BIT(ARCHIVE_FILE));
    assert_false(customer & ARCHIVE_KIND_BIT(ARCHIVE_NOTE));

    struct archive_item join = {.kind = ARCHIVE_JOIN,
                                .actor_jid = "super1@localhost",
                                .actor_nick = "Boss", .staff_only = true};
    struct archive_item move = {.kind = ARCHIVE_TRANSFER,
                                .actor_jid = "agent1@localhost",
                                .body = "forwarded to agent2@localhost"};
    struct buf body = BUF_INIT, extra = BUF_INIT;
    assert_true(desk_mam_event_render(NULL, &join, true, &body, &extra));
    assert_string_equal(buf_cstr(&body), "Boss entered the chat");
    assert_string_equal(buf_cstr(&extra),
                        "<desk xmlns='urn:mucdesk:0' event='join' nick='Boss' "
                        "jid='super1@localhost'/>");
    buf_reset(&body);
    buf_reset(&extra);
    assert_true(desk_mam_event_render(NULL, &move, true, &body, &extra));
    assert_string_equal(buf_cstr(&body), "forwarded to agent2@localhost (by "
                                         "agent1@localhost)");
    assert_string_equal(buf_cstr(&extra),
                        "<desk xmlns='urn:mucdesk:0' event='transfer' "
                        "jid='agent1@localhost'/>");
    buf_reset(&body);
    buf_reset(&extra);
    /* The customer's view: not shown, nothing written. */
    join.staff_only = false;
    assert_false(desk_mam_event_render(NULL, &join, false, &body, &extra));
    assert_false(desk_mam_event_render(NULL, &move, false, &body, &extra));
    assert_int_equal(body.len + extra.len, 0);
    buf_free(&body);
    buf_free(&extra);
}

static void test_transcript_views(void **state)
{
    (void)state;
    struct desk_transcript t = sample();
    struct buf out = BUF_INIT;
    desk_transcript_text(&t, DESK_VIEW_STAFF, &out);
    assert_string_equal(buf_cstr(&out),
        "Ticket #42: Invoice\n"
        "Queue: billing\n"
        "Status: RESOLVED\n"
        "Priority: 3\n"
        "Customer: Ann <ann@example.org> (c1@anon.localhost)\n"
        "Agent: agent1@localhost\n"
        "Started: 2025-01-31 23:59:00 UTC\n"
        "Ended: 2025-02-01 00:02:20 UTC\n"
        "Chat time: 3 min\n"
        "Rating: 4/5 \"quick\"\n"
        "Page: https://shop\n"
        "plan: pro\n"
        "Question: Invoice\n"
        "\n--- 2025-01-31 ---\n"
        "[23:59:00] * Ticket #42\nName: Ann\n"
        "[23:59:20] * subject: Ticket #42: Invoice\n"
        "[23:59:40] Ann: Hello?\n"
        "--- 2025-02-01 ---\n"
        "[00:00:00] * accepted by agent1@localhost\n"
        "[00:00:20] Alex: Hi Ann\n"
        "[00:00:40] [staff] Note by Alex: VIP customer\n"
        "[00:01:00] [staff] * Boss joined\n"
        "[00:01:20] * closed: RESOLVED\n");
    buf_reset(&out);
    desk_transcript_text(&t, DESK_VIEW_CUSTOMER, &out);
    assert_string_equal(buf_cstr(&out),
        "Ticket #42: Invoice\n"
        "Queue: billing\n"
        "Customer: Ann <ann@example.org>\n"
        "Started: 2025-01-31 23:59:00 UTC\n"
        "Ended: 2025-02-01 00:02:20 UTC\n"
        "Question: Invoice\n"
        "\n--- 2025-01-31 ---\n"
        "[23:59:00] * Ticket #42\nName: Ann\n"
        "[23:59:40] Ann: Hello?\n"
        "--- 2025-02-01 ---\n"
        "[00:00:20] Alex: Hi Ann\n");
    buf_free(&out);
}

static void test_mail(void **state)
{
    (void)state;
    struct desk_transcript t = sample();
    static char longline[3000];
    memset(longline, 'x', sizeof longline - 1);
    memcpy(longline + 985, "\xc3\xa9\xc3\xa9\xc3\xa9", 6); /* UTF-8 at the cut */
    t.events[4].body = longline;
    struct buf out = BUF_INIT;
    int64_t now = tz_days_from_civil(2025, 2, 1) * 86400 + 3600;
    desk_mail_compose(&out, "support@example.org",
                      "ann@example.org\r\nBcc: evil@example.org", "Acme",
                      &t, now);
    const char *m = buf_cstr(&out);
    assert_non_null(strstr(m, "From: support@example.org\n"));
    /* A line break in a header value cannot add a header. */
    assert_non_null(strstr(m, "To: ann@example.orgBcc: evil@example.org\n"));
    assert_null(strstr(m, "\nBcc:"));
    assert_non_null(strstr(m, "Subject: Your chat transcript [Ticket#42]\n"));
    assert_non_null(strstr(m, "Date: Sat, 01 Feb 2025 01:00:00 +0000\n"));
    /* Our Message-ID: the customer's reply finds the ticket by it. */
    char id[128];
    snprintf(id, sizeof id, "Message-ID: <mucdesk.42.t%lld@example.org>\n",
             (long long)now);
    assert_non_null(strstr(m, id));
    assert_non_null(strstr(m, "Content-Type: text/plain; charset=utf-8\n"));
    assert_non_null(strstr(m, "\n\nHello Ann,\n\nHere is the transcript of "
                              "your chat with Acme.\n"));
    assert_null(strstr(m, "VIP"));             /* staff only */
    assert_null(strstr(m, "agent1@localhost")); /* no staff JIDs */
    assert_null(strstr(m, "\r"));
    /* No line over 998 bytes, and no UTF-8 sequence cut in two. */
    for (const char *p = m; *p;) {
        size_t n = strcspn(p, "\n");
        assert_true(n <= 998);
        assert_true(((unsigned char)p[0] & 0xC0) != 0x80);
        p += n + (p[n] == '\n');
    }
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_snippet),
        cmocka_unit_test(test_stats_arithmetic),
        cmocka_unit_test(test_transcript_views),
        cmocka_unit_test(test_event_actions),
        cmocka_unit_test(test_mam_events),
        cmocka_unit_test(test_mail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
