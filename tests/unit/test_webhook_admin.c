/* Unit tests: the pure checks of the webhook admin commands
 * (webhook/admin.c): URLs, event names, endpoint ids, a new endpoint's
 * fields and the texts that name them. */
#include "cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "webhook/admin.h"

static void test_urls(void **state)
{
    (void)state;
    assert_null(webhook_url_problem("https://hooks.example.org/mucdesk?x=1"));
    assert_null(webhook_url_problem("http://127.0.0.1:8080/"));
    assert_string_equal(webhook_url_problem("ftp://example.org/"),
                        "an http:// or https:// address");
    assert_string_equal(webhook_url_problem("HTTPS://example.org/"),
                        "an http:// or https:// address");
    assert_string_equal(webhook_url_problem(""),
                        "an http:// or https:// address");
    assert_string_equal(webhook_url_problem("https://"),
                        "a host after the scheme");
    assert_string_equal(webhook_url_problem("https://a b"),
                        "no spaces or control characters");
    assert_string_equal(webhook_url_problem("https://a\tb"),
                        "no spaces or control characters");
    assert_string_equal(webhook_url_problem("https://a\x7f"),
                        "no spaces or control characters");
    assert_string_equal(webhook_url_problem("https://a\xc3"),
                        "not valid UTF-8");
    assert_null(webhook_url_problem("https://b\xc3\xbc" "cher.example/"));
    char *url = malloc(WEBHOOK_URL_MAX + 2);
    memcpy(url, "https://", 8);
    memset(url + 8, 'a', WEBHOOK_URL_MAX - 8);
    url[WEBHOOK_URL_MAX] = '\0';
    assert_null(webhook_url_problem(url));
    url[WEBHOOK_URL_MAX] = 'a';
    url[WEBHOOK_URL_MAX + 1] = '\0';
    assert_string_equal(webhook_url_problem(url), "at most 2000 characters");
    free(url);
}

static void test_events_and_ids(void **state)
{
    (void)state;
    size_t n = 0;
    while (webhook_event_names[n]) {
        assert_true(webhook_event_known(webhook_event_names[n]));
        n++;
    }
    assert_int_equal(n, WEBHOOK_EVENT_COUNT);
    assert_false(webhook_event_known("webhook.test")); /* not to subscribe */
    assert_false(webhook_event_known("ticket.Created"));
    assert_false(webhook_event_known(""));
    int id = 0;
    assert_int_equal(webhook_parse_id("12", &id), 0);
    assert_int_equal(id, 12);
    assert_int_equal(webhook_parse_id("#7", &id), 0);
    assert_int_equal(id, 7);
    const char *bad[] = {"", "#", "0", "-1", "+3", " 3", "3 ", "3x", "x",
                         "2147483648", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(webhook_parse_id(bad[i], &id), -1);
}

static void test_new_endpoint(void **state)
{
    (void)state;
    char err[300];
    const char *events[] = {"ticket.created", "message.added"};
    struct webhook_endpoint_new e = {.url = "https://x.example/",
                                     .events = events, .event_count = 2};
    assert_int_equal(webhook_endpoint_check(&e, err, sizeof err), 0);
    e.secret = "";                                   /* one is made */
    assert_int_equal(webhook_endpoint_check(&e, err, sizeof err), 0);
    e.secret = "0123456789abcde";                    /* 15 */
    assert_int_equal(webhook_endpoint_check(&e, err, sizeof err),
                     WEBHOOK_ADMIN_INVALID);
    assert_string_equal(err,
                        "secret: 16 to 200 characters (or empty: one is made)");
    e.secret = "0123456789abcdef";
    assert_int_equal(webhook_endpoint_check(&e, err, sizeof err), 0);
    const char *wrong[] = {"ticket.created", "ticket.closed"};
    e.events = wrong;
    assert_int_equal(webhook_endpoint_check(&e, err, sizeof err),
                     WEBHOOK_ADMIN_INVALID);
    assert_string_equal(err, "events: unknown event 'ticket.closed' "
                             "(ticket.created, ticket.assigned, "
                             "ticket.requeued, ticket.ended, ticket.updated, "
                             "ticket.rated, message.added)");
    e.events = events;
    e.url = "mailto:a@b";
    assert_int_equal(webhook_endpoint_check(&e, err, sizeof err),
                     WEBHOOK_ADMIN_INVALID);
    assert_string_equal(err, "url: an http:// or https:// address");
    e.url = NULL;
    assert_int_equal(webhook_endpoint_check(&e, err, sizeof err),
                     WEBHOOK_ADMIN_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_events_and_ids),
        cmocka_unit_test(test_new_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
