/* Unit tests: incoming mail (mailin/parse.c) on real MIME shapes:
 * quoted-printable ISO-8859-1, base64 UTF-8, Shift_JIS, multipart with an
 * attachment, HTML only, RFC 2047 headers; the ticket from the subject or
 * from our Message-ID in In-Reply-To / References; the bounds. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mailref.h"
#include "mailin/parse.h"

#define DOMAIN "desk.example"

static struct mailin_message parse_ok(const char *text)
{
    struct mailin_message m;
    char err[128] = "";
    int rc = mailin_parse(text, strlen(text), DOMAIN, &m, err, sizeof err);
    if (rc != MAILIN_OK)
        fail_msg("parse failed (%d): %s", rc, err);
    return m;
}

static void test_quoted_printable_latin1(void **state)
{
    (void)state;
    struct mailin_message m = parse_ok(
        "From: =?ISO-8859-1?Q?Ren=E9e_Dupr=E9?= <renee@example.fr>\r\n"
        "To: support@desk.example\r\n"
        "Subject: =?ISO-8859-1?Q?Re:_Votre_re=E7u?= [Ticket#42]\r\n"
        "Message-ID: <abc@example.fr>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=ISO-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Le re=E7u est d=E9j=E0 pay=E9, merci =\r\nbeaucoup.\r\n");
    assert_string_equal(m.from_addr, "renee@example.fr");
    assert_string_equal(m.from_name, "Renée Dupré");
    assert_string_equal(m.subject, "Re: Votre reçu [Ticket#42]");
    assert_string_equal(m.message_id, "abc@example.fr");
    assert_int_equal(m.ticket, 42);
    assert_string_equal(m.body, "Le reçu est déjà payé, merci beaucoup.");
    assert_false(m.body_from_html);
    assert_int_equal(m.attachment_count, 0);
    mailin_message_free(&m);
}

static void test_base64_utf8_in_reply_to(void **state)
{
    (void)state;
    /* "Здравствуйте!\nСпасибо." */
    struct mailin_message m = parse_ok(
        "From: boris@example.ru\r\n"
        "Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?=\r\n"
        "In-Reply-To: <other@example.ru>\r\n"
        "References: <mucdesk.77.9-1700000000@desk.example> <x@y>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "0JfQtNGA0LDQstGB0YLQstGD0LnRgtC1IQrQodC/0LDRgdC40LHQvi4K\r\n");
    assert_string_equal(m.subject, "Привет");
    assert_null(m.from_name);
    assert_int_equal(m.ticket, 77);
    assert_string_equal(m.body, "Здравствуйте!\nСпасибо.");
    mailin_message_free(&m);
}

static void test_shift_jis(void **state)
{
    (void)state;
    /* "請求書" (invoice) in Shift_JIS: 90 BF 8B 81 8F 91 */
    const char *msg =
        "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n"
        "Subject: invoice\r\n"
        "Content-Type: text/plain; charset=Shift_JIS\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "\x90\xbf\x8b\x81\x8f\x91\r\n";
    struct mailin_message m = parse_ok(msg);
    assert_string_equal(m.from_name, "山田");
    assert_string_equal(m.body, "請求書");
    assert_int_equal(m.ticket, 0);
    mailin_message_free(&m);
}

static void test_multipart_with_attachment(void **state)
{
    (void)state;
    struct mailin_message m = parse_ok(
        "From: Ann <ann@example.org>\r\n"
        "Subject: screenshot\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        "preamble\r\n--b1\r\n"
        "Content-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
        "--b2\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "See the picture.\r\n"
        "--b2\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n"
        "<p>See the <b>picture</b>.</p>\r\n--b2--\r\n"
        "--b1\r\nContent-Type: image/png; name=\"x.png\"\r\n"
        "Content-Disposition: attachment;\r\n filename*=UTF-8''%C3%A9cran.png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
        "--b1\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment\r\n\r\n%PDF-1.4\r\n--b1--\r\n");
    assert_string_equal(m.body, "See the picture.");
    assert_int_equal(m.attachment_count, 2);
    assert_string_equal(m.attachments[0].name, "écran.png");
    assert_string_equal(m.attachments[0].type, "image/png");
    assert_int_equal(m.attachments[0].size, 5);
    assert_memory_equal(m.attachments[0].data, "hello", 5);
    assert_string_equal(m.attachments[0].sha256,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_string_equal(m.attachments[1].name, "attachment");
    assert_string_equal(m.attachments[1].type, "application/pdf");
    mailin_message_free(&m);
}

static void test_html_only(void **state)
{
    (void)state;
    struct mailin_message m = parse_ok(
        "From: x@example.com\r\nSubject: [ticket# 5] help\r\n"
        "Content-Type: text/html; charset=windows-1252\r\n\r\n"
        "<html><head><title>t</title><style>p{color:red}</style></head>"
        "<body><p>Caf\xe9 &amp; cr&#232;me&nbsp;&lt;ok&gt;</p>"
        "<script>alert(1)</script><div>line&#x32;</div>"
        "<p>a<br>b</p></body></html>\r\n");
    assert_true(m.body_from_html);
    assert_string_equal(m.body, "Café & crème <ok>\n\nline2\n\na\nb");
    assert_int_equal(m.ticket, 5);
    mailin_message_free(&m);
}

static void test_ticket_numbers(void **state)
{
    (void)state;
    assert_int_equal(mailref_subject_ticket("Re: [Ticket#123] x"), 123);
    assert_int_equal(mailref_subject_ticket("[TICKET#9]"), 9);
    assert_int_equal(mailref_subject_ticket("[Ticket#12"), 0);
    assert_int_equal(mailref_subject_ticket("[Ticket#1x]"), 0);
    assert_int_equal(mailref_subject_ticket("[Ticket#]"), 0);
    assert_int_equal(mailref_subject_ticket("[Ticket#1234567890123456789]"), 0);
    assert_int_equal(mailref_subject_ticket(NULL), 0);
    char id[128];
    assert_true(mailref_message_id(id, sizeof id, 31, "5-1700", DOMAIN) > 0);
    assert_string_equal(id, "mucdesk.31.5-1700@desk.example");
    assert_int_equal(mailref_message_id_ticket(id, DOMAIN), 31);
    assert_int_equal(mailref_message_id_ticket("<mucdesk.31.5@desk.example>", DOMAIN), 31);
    assert_int_equal(mailref_message_id_ticket(id, "other.example"), 0);
    assert_int_equal(mailref_message_id_ticket(id, NULL), 31);
    assert_int_equal(mailref_message_id_ticket("mucdesk.x.5@desk.example", NULL), 0);
    assert_int_equal(mailref_message_id(id, sizeof id, 1, "a b", DOMAIN), -1);
    assert_int_equal(mailref_message_id(id, 10, 1, "ab", DOMAIN), -1);
}

static void test_refused(void **state)
{
    (void)state;
    struct mailin_message m;
    char err[128];
    const char *no_from = "Subject: hi\r\n\r\nbody\r\n";
    assert_int_equal(mailin_parse(no_from, strlen(no_from), NULL, &m, err,
                                  sizeof err), MAILIN_BAD);
    assert_non_null(strstr(err, "From"));
    assert_null(m.body);
    /* Nested too deep (GMime would recurse on every level). */
    struct buf deep = BUF_INIT;
    buf_append_str(&deep, "From: a@b.c\r\n");
    for (int i = 0; i < 100; i++)
        buf_printf(&deep, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n",
                   i, i);
    assert_int_equal(mailin_parse(deep.data, deep.len, NULL, &m, err, sizeof err),
                     MAILIN_TOO_BIG);
    buf_free(&deep);
    assert_int_equal(mailin_parse("x", MAILIN_MESSAGE_MAX + 1, NULL, &m, err,
                                  sizeof err), MAILIN_TOO_BIG);
}

/* Parts that decode to nothing (base64 of padding only, an empty HTML
 * part): an empty body, not a NULL pointer walked (fuzz_mail found both). */
static void test_empty_parts(void **state)
{
    (void)state;
    struct mailin_message m = parse_ok(
        "From: bot@example.org\r\n"
        "Content-Type: text/plain; charset=x-unknown\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n////\r\n");
    assert_string_equal(m.body, "");
    mailin_message_free(&m);
    m = parse_ok("From: ann@example.org\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/html; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n====\r\n");
    assert_string_equal(m.body, "");
    mailin_message_free(&m);
    char *text = mailin_html_text(NULL, 0);
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
}

static void test_bounds(void **state)
{
    (void)state;
    struct buf msg = BUF_INIT;
    buf_append_str(&msg, "From: a@b.c\r\nAuto-Submitted: auto-replied\r\n"
                         "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
                         "--B\r\nContent-Type: text/plain\r\n\r\n");
    for (size_t i = 0; i < MAILIN_BODY_MAX / 8 + 10; i++)
        buf_append_str(&msg, "\xc3\xa9tendu ");
    buf_append_str(&msg, "\r\n");
    for (int i = 0; i < MAILIN_ATTACHMENTS_MAX + 3; i++)
        buf_printf(&msg, "--B\r\nContent-Type: text/plain; name=f%d.txt\r\n"
                         "Content-Disposition: attachment\r\n\r\nx\r\n", i);
    buf_append_str(&msg, "--B--\r\n");
    struct mailin_message m = parse_ok(buf_cstr(&msg));
    assert_true(m.auto_submitted);
    assert_true(m.body_cut);
    assert_true(strlen(m.body) <= MAILIN_BODY_MAX);
    assert_int_equal(m.attachment_count, MAILIN_ATTACHMENTS_MAX);
    assert_int_equal(m.attachments_dropped, 3);
    mailin_message_free(&m);
    buf_free(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_printable_latin1),
        cmocka_unit_test(test_base64_utf8_in_reply_to),
        cmocka_unit_test(test_shift_jis),
        cmocka_unit_test(test_multipart_with_attachment),
        cmocka_unit_test(test_html_only),
        cmocka_unit_test(test_ticket_numbers),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_empty_parts),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
