/* Unit tests: XEP-0082 timestamps (xmpp/stamp.c) and XEP-0004 forms
 * (xmpp/form.c). */
#include "cmocka_prelude.h"

#include <stdint.h>
#include <string.h>

#include "xmpp/form.h"
#include "xmpp/stamp.h"

static void test_stamp_roundtrip(void **state)
{
    (void)state;
    char text[STAMP_TEXT_MAX];
    stamp_format(0, text);
    assert_string_equal(text, "1970-01-01T00:00:00.000Z");
    /* Fixed width: a whole second still carries ".000". */
    stamp_format(1700000000000999, text);
    assert_string_equal(text, "2023-11-14T22:13:20.000Z");
    stamp_format(1700000000123000, text);
    assert_string_equal(text, "2023-11-14T22:13:20.123Z");
    int64_t us;
    assert_int_equal(stamp_parse(text, &us), 0);
    assert_int_equal(us, 1700000000123000);
    assert_int_equal(stamp_parse("2023-11-14T23:13:20+01:00", &us), 0);
    assert_int_equal(us, 1700000000000000);
    assert_int_equal(stamp_parse("2002-10-13T23:58:37.123456Z", &us), 0);
    assert_int_equal(us % 1000000, 123456);
    assert_int_equal(stamp_parse("1969-12-31T23:59:59Z", &us), 0);
    assert_int_equal(us, -1000000);
    assert_int_equal(stamp_parse("2023-11-14 22:13:20Z", &us), -1);
    assert_int_equal(stamp_parse("2023-13-14T22:13:20Z", &us), -1);
    assert_int_equal(stamp_parse("2023-11-14T22:13:20", &us), -1);
    assert_int_equal(stamp_parse("2023-11-14T22:13:20.Z", &us), -1);
    assert_int_equal(stamp_parse("", &us), -1);
}

/* Years before 1000 keep four digits, so that what a client sent
 * (MAM start, history since) prints in a form stamp_parse reads back
 * (found by tests/fuzz: year 1 printed as "1-01-01..."). */
static void test_stamp_early_years(void **state)
{
    (void)state;
    int64_t us;
    char text[STAMP_TEXT_MAX];
    assert_int_equal(stamp_parse("0001-01-01T00:00:00Z", &us), 0);
    stamp_format(us, text);
    assert_string_equal(text, "0001-01-01T00:00:00.000Z");
    assert_int_equal(stamp_parse("0999-12-31T23:59:59.5Z", &us), 0);
    stamp_format(us, text);
    assert_string_equal(text, "0999-12-31T23:59:59.500Z");
    int64_t back;
    assert_int_equal(stamp_parse(text, &back), 0);
    assert_int_equal(back, us);
    /* Instants XEP-0082 cannot write (before year 0, after 9999) print as
     * the nearest it can (found by tests/fuzz: an offset took year 0 into
     * year -1, printed as December of year 0). */
    assert_int_equal(stamp_parse("0000-01-01T00:00:00+01:00", &us), 0);
    stamp_format(us, text);
    assert_string_equal(text, "0000-01-01T00:00:00.000Z");
    stamp_format(INT64_MIN, text);
    assert_string_equal(text, "0000-01-01T00:00:00.000Z");
    assert_int_equal(stamp_parse("9999-12-31T23:59:59.9999-01:00", &us), 0);
    stamp_format(us, text);
    assert_string_equal(text, "9999-12-31T23:59:59.999Z");
    stamp_format(INT64_MAX, text);
    assert_string_equal(text, "9999-12-31T23:59:59.999Z");
}

static void test_form_read_write(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *q = xmpp_stanza_new_from_string(ctx,
        "<query xmlns='q'><x xmlns='jabber:x:data' type='submit'>"
        "<field var='FORM_TYPE'><value>urn:test</value></field>"
        "<field var='a'><value>1</value></field>"
        "<field var='multi'><value>x</value><value>y</value></field>"
        "<field var='empty'><value/></field></x></query>");
    assert_non_null(q);
    xmpp_stanza_t *x = form_find(q);
    assert_non_null(x);
    assert_string_equal(form_type(x), "submit");
    assert_string_equal(form_form_type(x), "urn:test");
    assert_string_equal(form_value(x, "a"), "1");
    assert_string_equal(form_value(x, "empty"), "");
    assert_null(form_value(x, "missing"));
    bool b;
    assert_int_equal(form_parse_bool("true", &b), 0);
    assert_true(b);
    assert_int_equal(form_parse_bool("0", &b), 0);
    assert_false(b);
    assert_int_equal(form_parse_bool("yes", &b), -1);
    xmpp_stanza_release(q);
    xmpp_ctx_free(ctx);

    struct buf out = BUF_INIT;
    static const char *const opts[] = {"a", "A & co", NULL};
    form_open(&out, "form", "urn:test", "T", NULL);
    form_add_bool(&out, "b", "B", true);
    form_add_list(&out, "l", "L", "a", opts);
    form_close(&out);
    assert_string_equal(buf_cstr(&out),
        "<x xmlns='jabber:x:data' type='form'><title>T</title>"
        "<field var='FORM_TYPE' type='hidden'><value>urn:test</value></field>"
        "<field var='b' type='boolean' label='B'><value>1</value></field>"
        "<field var='l' type='list-single' label='L'><value>a</value>"
        "<option label='A &amp; co'><value>a</value></option></field></x>");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stamp_roundtrip),
        cmocka_unit_test(test_stamp_early_years),
        cmocka_unit_test(test_form_read_write),
    };
    return cmocka_run_group_tests_name("stamp_form", tests, NULL, NULL);
}
