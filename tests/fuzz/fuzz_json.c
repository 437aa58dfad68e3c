/* Fuzz target: the session details (desk/details.c) the widget's answers
 * become and the desk reads back, also as PostgreSQL hands them back
 * (jsonb as text).  json-c parses and prints; what is fuzzed here is the
 * desk's part on top of it: text made UTF-8 before it is written, values
 * read into small buffers cut on a character boundary, anything that is
 * not a string absent, the whole text one object.
 *
 * Byte 0 chooses: even, the rest is NUL-separated key, value pairs that
 * the desk sets and then reads back; odd, the rest is JSON text from
 * elsewhere that the desk reads (and writes again, as a merge does).
 *
 * Checks: what the desk writes is UTF-8 and reads back as one object with
 * one member per key (made UTF-8; the last value set wins), each value as
 * set when it fits its buffer, else its longest prefix that is whole
 * characters; on JSON text from elsewhere, every string member reads as
 * json-c's value made UTF-8 (and cut the same way), every other member is
 * absent, and a merge of it writes the same string members again. */
#include "build-config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "desk/details.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 32
#define OUT_SIZE 200   /* the desk reads details into buffers this small */
#define BIG_SIZE 70000 /* larger than any input: nothing is cut */

static char big[BIG_SIZE];

static char *clean_copy(const char *s, size_t n)
{
    struct buf b = BUF_INIT;
    utf8_sanitize(&b, s, n);
    char *copy = strdup(buf_cstr(&b));
    buf_free(&b);
    if (!copy)
        abort();
    return copy;
}

/* Reads key from d twice, whole and into a small buffer, and checks both
 * against want (the value made UTF-8). */
static void check_read(struct json_object *d, const char *key,
                       const char *want, const char *text)
{
    if (desk_details_string(d, key, big, sizeof big) < 0)
        fuzz_fail("desk_details_string misses key %s in %s", key, text);
    if (strcmp(big, want) != 0)
        fuzz_fail("desk_details_string(%s) gives '%s', want '%s'", key, big,
                  want);
    char got[OUT_SIZE];
    if (desk_details_string(d, key, got, sizeof got) < 0)
        fuzz_fail("desk_details_string(%s) fails on a small buffer", key);
    size_t n = strlen(got), whole = strlen(want);
    if (fuzz_utf8_problem(got, n, false))
        fuzz_fail("desk_details_string(%s) gives ill-formed UTF-8", key);
    /* Cut: a prefix, ending before a character that does not fit. */
    if (whole < sizeof got ? strcmp(got, want) != 0
                           : strncmp(got, want, n) != 0 ||
                                 ((unsigned char)want[n] & 0xC0) == 0x80 ||
                                 n + utf8_lead_len((unsigned char)want[n]) <
                                     sizeof got)
        fuzz_fail("desk_details_string(%s) into %zu bytes gives '%s' of '%s'",
                  key, sizeof got, got, want);
}

static void write_and_read(const char *p, size_t n)
{
    const char *keys[MAX_PAIRS], *values[MAX_PAIRS];
    size_t count = 0;
    const char *end = p + n;
    while (p < end && count < MAX_PAIRS) {
        const char *k = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        if (p >= end)
            break;
        const char *v = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        keys[count] = k;
        values[count++] = v;
    }
    struct json_object *d = desk_details_new();
    if (!d)
        abort();
    for (size_t i = 0; i < count; i++)
        if (desk_details_set(d, keys[i], values[i]) < 0)
            fuzz_fail("desk_details_set failed (memory)");
    if (desk_details_set(d, "unset", NULL) < 0)
        fuzz_fail("desk_details_set of no value failed");
    char *text = desk_details_text(d);
    json_object_put(d);
    if (!text)
        fuzz_fail("desk_details_text failed (memory)");
    if (fuzz_utf8_problem(text, strlen(text), false))
        fuzz_fail("the details written are not UTF-8: %s", text);
    struct json_object *back = desk_details_parse(text);
    if (!back)
        fuzz_fail("desk_details_parse refuses what was written: %s", text);
    /* One member per key made UTF-8, holding the last value set. */
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++) {
        char *key = clean_copy(keys[i], strlen(keys[i]));
        size_t last = i;
        bool seen = false;
        for (size_t k = 0; k < count; k++) {
            char *other = clean_copy(keys[k], strlen(keys[k]));
            if (strcmp(other, key) == 0) {
                seen = seen || k < i;
                last = k;
            }
            free(other);
        }
        if (!seen) {
            distinct++;
            char *value = clean_copy(values[last], strlen(values[last]));
            check_read(back, key, value, text);
            free(value);
        }
        free(key);
    }
    if ((size_t)json_object_object_length(back) != distinct)
        fuzz_fail("%zu keys set, %d members written: %s", distinct,
                  json_object_object_length(back), text);
    bool named = false;
    for (size_t i = 0; i < count && !named; i++)
        named = strcmp(keys[i], "unset") == 0;
    char v[8];
    if (!named && desk_details_string(back, "unset", v, sizeof v) == 0)
        fuzz_fail("a NULL value was written: %s", text);
    json_object_put(back);
    free(text);
}

/* The value a merge of d writes under ckey (a key made UTF-8): that of
 * the last string member whose key becomes ckey (made UTF-8 too). */
static char *merged_value(struct json_object *d, const char *ckey)
{
    char *want = NULL;
    json_object_object_foreach(d, key, val) {
        char *k = clean_copy(key, strlen(key));
        if (strcmp(k, ckey) == 0 && json_object_is_type(val, json_type_string)) {
            free(want);
            want = clean_copy(json_object_get_string(val),
                              (size_t)json_object_get_string_len(val));
        }
        free(k);
    }
    return want;
}

/* JSON text from elsewhere. */
static void read_foreign(const char *text, size_t n)
{
    struct json_object *d = desk_details_parse(text);
    /* json-c itself on the same text: the desk takes what it takes as a
     * whole object. */
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)n);
    size_t stop = o ? json_tokener_get_parse_end(tok) : 0;
    json_tokener_free(tok);
    while (o && stop < n && strchr(" \t\r\n", text[stop]))
        stop++;
    bool whole_object = o && stop == n && json_object_is_type(o, json_type_object);
    if (!d != !whole_object)
        fuzz_fail("desk_details_parse %s what json-c reads as %s: %s",
                  d ? "takes" : "refuses",
                  whole_object ? "one object" : "no object", text);
    json_object_put(o);
    if (!d)
        return;
    struct json_object *copy = desk_details_new();
    if (!copy || desk_details_merge(copy, d) < 0)
        fuzz_fail("desk_details_merge failed (memory)");
    char *again = desk_details_text(copy);
    json_object_put(copy);
    if (!again)
        fuzz_fail("desk_details_text failed (memory)");
    if (fuzz_utf8_problem(again, strlen(again), false))
        fuzz_fail("the details merged are not UTF-8: %s", again);
    struct json_object *back = desk_details_parse(again);
    if (!back)
        fuzz_fail("desk_details_parse refuses a merge's text: %s", again);
    json_object_object_foreach(d, key, val) {
        char v[8];
        if (!json_object_is_type(val, json_type_string)) {
            if (desk_details_string(d, key, v, sizeof v) == 0)
                fuzz_fail("member %s is no string, yet read: %s", key, text);
            continue;
        }
        /* json-c keeps the last of duplicate keys; so does jsonb. */
        char *want = clean_copy(json_object_get_string(val),
                                (size_t)json_object_get_string_len(val));
        check_read(d, key, want, text);
        free(want);
        /* The merge wrote it under its key made UTF-8 (where two keys
         * become one, the later value). */
        char *ckey = clean_copy(key, strlen(key));
        want = merged_value(d, ckey);
        check_read(back, ckey, want, again);
        free(ckey);
        free(want);
    }
    json_object_put(back);
    free(again);
    json_object_put(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_set_input(data, size);
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1)
        read_foreign(text, strlen(text));
    else
        write_and_read(text, size - 1);
    free(text);
    fuzz_set_input(NULL, 0);
    return 0;
}
