/* Unit tests: the forms the desk builds and checks that are pure: a
 * queue's extra pre-chat fields (desk/prechat.c): parsing the admin's
 * text, the form fields written, the customer's answers checked and kept
 * in the details JSON. */
#include "cmocka_prelude.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk/details.h"
#include "desk/prechat.h"
#include "desk/text.h"

static const char spec[] =
    "# order first\n"
    "order|text-single|Order number|required\n"
    "plan | list-single | Your plan | | free, pro ,enterprise\n"
    "\n"
    "topics|list-multi|Topics||billing,tech\n"
    "notes|text-multi\n"
    "terms|boolean|I accept the terms|required\n";

static void test_parse(void **state)
{
    (void)state;
    struct desk_prechat p;
    char err[200];
    assert_int_equal(desk_prechat_parse(spec, &p, err, sizeof err), 0);
    assert_int_equal(p.count, 5);
    assert_string_equal(p.f[0].var, "order");
    assert_true(p.f[0].required);
    assert_string_equal(p.f[1].type, "list-single");
    assert_string_equal(p.f[1].label, "Your plan");
    assert_false(p.f[1].required);
    assert_string_equal(p.f[1].options, "free,pro,enterprise");
    assert_string_equal(p.f[3].type, "text-multi");
    assert_string_equal(p.f[3].label, "notes");
    assert_int_equal(desk_prechat_parse("", &p, err, sizeof err), 0);
    assert_int_equal(p.count, 0);
    static const struct {
        const char *text, *error;
    } bad[] = {
        {"email|text-single", "line 1: the name"},
        {"ok\nBad Name", "line 2: the name"},
        {"x|date", "line 1: type"},
        {"x|list-single|X", "line 1: a list needs options"},
        {"x|list-single|X||a,,b", "line 1: a list needs options"},
        {"x|text-single|X||a,b", "line 1: only lists"},
        {"x|text-single|X|maybe", "line 1: 'required'"},
        {"x\nx", "line 2: that name is used twice"},
        {"x|text-single|X||a|b", "line 1: too many"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(desk_prechat_parse(bad[i].text, &p, err, sizeof err),
                         -1);
        if (!strstr(err, bad[i].error))
            fail_msg("%s: got '%s', expected '%s'", bad[i].text, err,
                     bad[i].error);
    }
}

static void test_form_fields(void **state)
{
    (void)state;
    struct desk_prechat p;
    char err[200];
    assert_int_equal(desk_prechat_parse("plan|list-single|Plan & co|required|"
                                        "free,pro\nn|boolean",
                                        &p, err, sizeof err), 0);
    struct buf out = BUF_INIT;
    desk_prechat_form(&p, &out);
    assert_string_equal(buf_cstr(&out),
        "<field var='plan' type='list-single' label='Plan &amp; co'>"
        "<required/><option label='free'><value>free</value></option>"
        "<option label='pro'><value>pro</value></option></field>"
        "<field var='n' type='boolean' label='n'></field>");
    buf_free(&out);
}

/* Reads `answers` (field elements) against the spec: the details they make
 * (JSON text), or the error text. */
static const char *answer(const char *answers, char *out, size_t size)
{
    static struct desk_prechat p;
    char err[200];
    assert_int_equal(desk_prechat_parse(spec, &p, err, sizeof err), 0);
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    char xml[2048];
    snprintf(xml, sizeof xml, "<x xmlns='jabber:x:data' type='submit'>%s</x>",
             answers);
    xmpp_stanza_t *x = xmpp_stanza_new_from_string(ctx, xml);
    assert_non_null(x);
    struct json_object *details = desk_details_new();
    assert_non_null(details);
    if (desk_prechat_read(&p, x, details, err, sizeof err) == 0) {
        char *text = desk_details_text(details);
        assert_non_null(text);
        snprintf(out, size, "%s", text);
        free(text);
    } else {
        snprintf(out, size, "ERROR %s", err);
    }
    json_object_put(details);
    xmpp_stanza_release(x);
    xmpp_ctx_free(ctx);
    return out;
}

static void test_answers(void **state)
{
    (void)state;
    char out[1024];
    assert_string_equal(
        answer("<field var='order'><value>A-17</value></field>"
               "<field var='plan'><value>pro</value></field>"
               "<field var='topics'><value>billing</value><value>tech</value>"
               "</field><field var='notes'><value>one</value><value>two"
               "</value></field><field var='terms'><value>true</value>"
               "</field>", out, sizeof out),
        "{\"order\":\"A-17\",\"plan\":\"pro\",\"topics\":\"billing, tech\","
        "\"notes\":\"one\\ntwo\",\"terms\":\"1\"}");
    /* Optional ones may be left out; required ones may not. */
    assert_string_equal(
        answer("<field var='order'><value>1</value></field>"
               "<field var='terms'><value>1</value></field>", out, sizeof out),
        "{\"order\":\"1\",\"terms\":\"1\"}");
    assert_string_equal(
        answer("<field var='terms'><value>1</value></field>", out, sizeof out),
        "ERROR order: required");
    assert_string_equal(
        answer("<field var='order'><value>1</value></field>"
               "<field var='terms'><value>0</value></field>", out, sizeof out),
        "ERROR terms: required");
    assert_string_equal(
        answer("<field var='order'><value>1</value></field>"
               "<field var='plan'><value>gold</value></field>"
               "<field var='terms'><value>1</value></field>", out, sizeof out),
        "ERROR plan: choose one of the options");
    assert_string_equal(
        answer("<field var='order'><value>1</value></field>"
               "<field var='topics'><value>tech</value><value>x</value>"
               "</field><field var='terms'><value>1</value></field>",
               out, sizeof out),
        "ERROR topics: choose among the options");
    assert_string_equal(
        answer("<field var='order'><value>1</value></field>"
               "<field var='terms'><value>maybe</value></field>",
               out, sizeof out),
        "ERROR terms: yes or no");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_form_fields),
        cmocka_unit_test(test_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
