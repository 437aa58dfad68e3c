/* Unit tests: the session details (desk/details.c over json-c): what the
 * desk writes, and what it reads back from what the database holds. */
#include "cmocka_prelude.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "desk/details.h"

/* The text of the details set from key, value pairs (NULL-terminated). */
static char *written(const char *const *kv)
{
    struct json_object *d = desk_details_new();
    assert_non_null(d);
    for (; kv[0]; kv += 2)
        assert_int_equal(desk_details_set(d, kv[0], kv[1]), 0);
    char *text = desk_details_text(d);
    assert_non_null(text);
    json_object_put(d);
    return text;
}

/* JSON is UTF-8: a value (or key) cut through a character, or bytes
 * from a file, is written with U+FFFD, never as the bytes themselves
 * (PostgreSQL's jsonb refuses those: the details would be lost). */
static void test_writes_only_utf8(void **state)
{
    (void)state;
    static const char *const kv[] = {
        "name", "Zo\xc3",                /* cut through "ë" */
        "k\xff", "a\xed\xa0\x80" "b",    /* a surrogate in UTF-8 */
        NULL};
    char *text = written(kv);
    assert_string_equal(text, "{\"name\":\"Zo\xef\xbf\xbd\","
                              "\"k\xef\xbf\xbd\":\"a\xef\xbf\xbd"
                              "\xef\xbf\xbd\xef\xbf\xbd" "b\"}");
    char v[32];
    assert_int_equal(desk_details_get(text, "name", v, sizeof v), 0);
    assert_string_equal(v, "Zo\xef\xbf\xbd");
    free(text);
}

/* A long key and the key that is its prefix are two keys (fuzz_json once
 * found the long key's value read for the short one). */
static void test_long_key_is_not_its_prefix(void **state)
{
    (void)state;
    char longkey[201], shortkey[128];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    memcpy(shortkey, longkey, 127);
    shortkey[127] = '\0';
    const char *const kv[] = {longkey, "long", shortkey, "short", NULL};
    char *text = written(kv);
    char v[32];
    assert_int_equal(desk_details_get(text, shortkey, v, sizeof v), 0);
    assert_string_equal(v, "short");
    assert_int_equal(desk_details_get(text, longkey, v, sizeof v), 0);
    assert_string_equal(v, "long");
    free(text);
}

static void test_write_and_read(void **state)
{
    (void)state;
    static const char *const kv[] = {
        "question", "line 1\nline \"2\" \\ é",
        "page", "https://x/?a=1&b=2",
        "skip", NULL,                    /* no value: no member */
        "ctl", "\x01",
        NULL};
    char *text = written(kv);
    /* Compact, in the order set, "/" not escaped. */
    assert_string_equal(text,
                        "{\"question\":\"line 1\\nline \\\"2\\\" \\\\ é\","
                        "\"page\":\"https://x/?a=1&b=2\",\"ctl\":\"\\u0001\"}");
    char v[64];
    assert_int_equal(desk_details_get(text, "question", v, sizeof v), 0);
    assert_string_equal(v, "line 1\nline \"2\" \\ é");
    assert_int_equal(desk_details_get(text, "page", v, sizeof v), 0);
    assert_string_equal(v, "https://x/?a=1&b=2");
    assert_int_equal(desk_details_get(text, "ctl", v, sizeof v), 0);
    assert_string_equal(v, "\x01");
    assert_int_equal(desk_details_get(text, "skip", v, sizeof v), -1);
    assert_int_equal(desk_details_get(text, "nope", v, sizeof v), -1);
    assert_string_equal(v, "");
    free(text);
}

/* Setting a key again replaces its value (one member, where it was). */
static void test_set_replaces(void **state)
{
    (void)state;
    static const char *const kv[] = {"a", "1", "b", "2", "a", "3", NULL};
    char *text = written(kv);
    assert_string_equal(text, "{\"a\":\"3\",\"b\":\"2\"}");
    free(text);
}

/* The pre-chat answers go into the ticket's details: every string member,
 * in order; anything else is not a detail. */
static void test_merge(void **state)
{
    (void)state;
    struct json_object *d = desk_details_new();
    assert_int_equal(desk_details_set(d, "question", "Why?"), 0);
    struct json_object *extra =
        desk_details_parse("{\"plan\":\"pro\",\"n\":1,\"terms\":\"1\"}");
    assert_non_null(extra);
    assert_int_equal(desk_details_merge(d, extra), 0);
    assert_int_equal(desk_details_merge(d, NULL), 0);
    char *text = desk_details_text(d);
    assert_string_equal(text,
                        "{\"question\":\"Why?\",\"plan\":\"pro\",\"terms\":\"1\"}");
    free(text);
    json_object_put(extra);
    json_object_put(d);
}

/* desk_details_get(json, key) into a buffer of `size` bytes (at most 64)
 * reads `want`; want NULL: the key is absent (-1). */
static void reads_as(const char *json, const char *key, size_t size,
                     const char *want)
{
    char v[64];
    assert_true(size <= sizeof v);
    int rc = desk_details_get(json, key, v, size);
    if (!want) {
        assert_int_equal(rc, -1);
        return;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(v, want);
}

/* What the database gives back: PostgreSQL's jsonb text form (spaces, its
 * own order), \u escapes, and whatever was stored before. */
static void test_read_stored(void **state)
{
    (void)state;
    static const struct {
        const char *json, *key, *want; /* want NULL: absent */
    } cases[] = {
        {"{\"a\": \"x\", \"b\": \"\\u00e9t\\u00e9\"}", "b", "été"},
        {" {\"a\": \"x\"}\n", "a", "x"},
        /* no details, or none the desk can read: every key absent */
        {NULL, "a", NULL},
        {"", "a", NULL},
        {"{}", "a", NULL},
        {"not json", "a", NULL},
        {"[\"a\"]", "a", NULL},
        {"\"a\"", "a", NULL},
        {"{\"a\": \"unterminated", "a", NULL},
        {"{\"a\": \"x\"} {\"a\": \"y\"}", "a", NULL},
        /* a value that is not a string is no detail, and hides no other */
        {"{\"a\": 1}", "a", NULL},
        {"{\"a\": null}", "a", NULL},
        {"{\"a\": {\"b\": \"c\"}}", "b", NULL},
        {"{\"n\": 1, \"o\": [\"x\"], \"a\": \"y\"}", "a", "y"},
        /* text that is not UTF-8 (never from jsonb) reads as U+FFFD, and
         * so does \u0000 (which jsonb refuses) */
        {"{\"a\": \"x\xffy\"}", "a", "x\xef\xbf\xbdy"},
        {"{\"a\": \"x\\u0000y\"}", "a", "x\xef\xbf\xbdy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        reads_as(cases[i].json, cases[i].key, 64, cases[i].want);
    assert_null(desk_details_parse("{\"a\": \"x\"},"));
}

/* A value longer than its buffer is cut there, on a character boundary. */
static void test_read_cut(void **state)
{
    (void)state;
    reads_as("{\"a\": \"abcdef\"}", "a", 4, "abc");
    /* ...and whole characters: "é" (2 bytes) does not fit after "ab" */
    reads_as("{\"a\": \"ab\\u00e9\"}", "a", 4, "ab");
    reads_as("{\"a\": \"ab\xc3\xa9\"}", "a", 4, "ab");
    reads_as("{\"a\": \"x\xff\xff\"}", "a", 4, "x");
}

/* A surrogate pair is one character; a lone half is U+FFFD, never the
 * ill-formed 3-byte form of a surrogate. */
static void test_read_surrogates(void **state)
{
    (void)state;
    reads_as("{\"a\": \"\\ud83d\\ude00\"}", "a", 64, "\xf0\x9f\x98\x80");
    reads_as("{\"a\": \"x\\ud83dy\\udc00\"}", "a", 64,
             "x\xef\xbf\xbdy\xef\xbf\xbd");
}

/* One parse for many keys, as the transcript's header reads them. */
static void test_parsed_once(void **state)
{
    (void)state;
    struct json_object *d =
        desk_details_parse("{\"page\": \"https://shop\", \"plan\": \"pro\"}");
    assert_non_null(d);
    char v[64];
    assert_int_equal(desk_details_string(d, "page", v, sizeof v), 0);
    assert_string_equal(v, "https://shop");
    assert_int_equal(desk_details_string(d, "plan", v, sizeof v), 0);
    assert_string_equal(v, "pro");
    assert_int_equal(desk_details_string(NULL, "plan", v, sizeof v), -1);
    json_object_put(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_read),
        cmocka_unit_test(test_writes_only_utf8),
        cmocka_unit_test(test_long_key_is_not_its_prefix),
        cmocka_unit_test(test_set_replaces),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_read_stored),
        cmocka_unit_test(test_read_cut),
        cmocka_unit_test(test_read_surrogates),
        cmocka_unit_test(test_parsed_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
