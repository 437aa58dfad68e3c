/* Fuzz target: the session details JSON the widget's answers become and
 * the desk reads back (desk/text.c: desk_json_add, desk_json_get), also
 * as PostgreSQL hands it back (jsonb as text), checked against json-c.
 *
 * Byte 0 chooses: even, the rest is NUL-separated key, value pairs that
 * the desk writes and then reads back; odd, the rest is JSON text from
 * elsewhere that the desk reads.
 *
 * Checks: what the desk writes is JSON json-c reads as the same object;
 * desk_json_get gives back each value written (when it fits its buffer), made
 * UTF-8 as the writer makes it;
 * on JSON text it agrees with json-c about every string value it finds;
 * and what it gives is UTF-8 whenever the JSON was (a cut through a
 * character, or a \u escape of a surrogate, is the known UTF-8 finding). */
#include "build-config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "desk/text.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 32
#define OUT_SIZE 200   /* the desk reads details into buffers this small */

static json_object *parse_json(const char *text, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    /* Whole text only: trailing bytes are not one object. */
    if (o && (size_t)json_tokener_get_parse_end(tok) != len) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static void check_utf8(const char *json, const char *key, const char *got)
{
    if (!fuzz_utf8_problem(got, strlen(got), false))
        return;
    char detail[600];
    snprintf(detail, sizeof detail, "desk_json_get(\"%.60s\") of valid UTF-8 "
             "JSON %.200s", key, json);
    fuzz_known(FUZZ_KNOWN_INVALID_UTF8, detail);
}

static char *clean_copy(const char *s)
{
    struct buf b = BUF_INIT;
    utf8_sanitize(&b, s, strlen(s));
    char *copy = strdup(buf_cstr(&b));
    buf_free(&b);
    if (!copy)
        abort();
    return copy;
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
    struct buf json = BUF_INIT;
    desk_json_open(&json);
    for (size_t i = 0; i < count; i++)
        desk_json_add(&json, keys[i], values[i]);
    desk_json_close(&json);
    const char *text = buf_cstr(&json);
    json_object *o = parse_json(text, json.len);
    if (!o || !json_object_is_type(o, json_type_object))
        fuzz_fail("desk_json_add wrote JSON json-c refuses: %s", text);
    for (size_t i = 0; i < count; i++) {
        /* What was written is the text made UTF-8 (ill-formed parts are
         * U+FFFD): compare with that.  Two keys may become one. */
        char *key = clean_copy(keys[i]), *value = clean_copy(values[i]);
        bool dup = false;
        for (size_t k = 0; k < count && !dup; k++) {
            char *other = k != i ? clean_copy(keys[k]) : NULL;
            dup = other && strcmp(other, key) == 0;
            free(other);
        }
        if (dup || strlen(key) >= 127) {
            free(key);
            free(value);
            continue;
        }
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) ||
            strcmp(json_object_get_string(v), value) != 0)
            fuzz_fail("json-c reads key %s differently than written", key);
        char got[OUT_SIZE];
        if (desk_json_get(text, key, got, sizeof got) < 0)
            fuzz_fail("desk_json_get misses key %s in %s", key, text);
        if (strlen(value) < sizeof got && strcmp(got, value) != 0)
            fuzz_fail("desk_json_get(%s) gives '%s', written '%s'", key,
                      got, value);
        if (fuzz_utf8_problem(got, strlen(got), false))
            fuzz_fail("desk_json_get(%s) gives ill-formed UTF-8", key);
        free(key);
        free(value);
    }
    json_object_put(o);
    buf_free(&json);
}

static void read_foreign(const char *text, size_t n)
{
    json_object *o = parse_json(text, n);
    if (!o)
        return;
    bool valid = !fuzz_utf8_problem(text, n, false);
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, key, val) {
            char got[OUT_SIZE];
            int rc = desk_json_get(text, key, got, sizeof got);
            if (rc < 0 || !json_object_is_type(val, json_type_string))
                continue;
            if (valid)
                check_utf8(text, key, got);
            const char *want = json_object_get_string(val);
            /* json-c keeps the last of duplicate keys, the desk the
             * first; and json-c decodes surrogate pairs, the desk not.
             * Text that is not UTF-8 is no JSON (RFC 8259, 8.1): it is
             * not compared; PostgreSQL's jsonb never gives it. */
            if (valid && strlen(want) < sizeof got && !strstr(text, "\\u") &&
                strcmp(got, want) != 0 && !strstr(text + (strstr(text, key) - text) + 1, key))
                fuzz_fail("desk_json_get(%s) gives '%s', json-c '%s': %s", key,
                          got, want, text);
        }
    }
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_set_input(data, size);
    char *text = malloc(size);
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
