/* The session details with json-c (details.h). */
#include "build-config.h"

#include "desk/details.h"

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"

struct json_object *desk_details_new(void)
{
    return json_object_new_object();
}

/* s[0..n) made UTF-8 into b (reset first).  0, or -1 if out of memory. */
static int clean(struct buf *b, const char *s, size_t n)
{
    buf_reset(b);
    utf8_sanitize(b, s, n);
    return buf_failed(b) ? -1 : 0;
}

/* Sets key to value[0..n). */
static int set(struct json_object *d, const char *key, const char *value,
               size_t n)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    int rc = -1;
    if (clean(&k, key, strlen(key)) < 0 || clean(&v, value, n) < 0 ||
        v.len > (size_t)INT32_MAX)
        goto out;
    struct json_object *s = json_object_new_string_len(buf_cstr(&v),
                                                       (int)v.len);
    if (!s)
        goto out;
    /* json-c copies the key; on failure the value is still ours. */
    if (json_object_object_add(d, buf_cstr(&k), s) < 0) {
        json_object_put(s);
        goto out;
    }
    rc = 0;
out:
    buf_free(&k);
    buf_free(&v);
    return rc;
}

int desk_details_set(struct json_object *d, const char *key,
                     const char *value)
{
    return value ? set(d, key, value, strlen(value)) : 0;
}

int desk_details_merge(struct json_object *d, struct json_object *from)
{
    if (!from || !json_object_is_type(from, json_type_object))
        return 0;
    json_object_object_foreach(from, key, val) {
        if (!json_object_is_type(val, json_type_string))
            continue;
        /* All of it: a \u0000 inside becomes U+FFFD, as when read. */
        if (set(d, key, json_object_get_string(val),
                (size_t)json_object_get_string_len(val)) < 0)
            return -1;
    }
    return 0;
}

char *desk_details_text(struct json_object *d)
{
    /* The text is d's own until d changes or goes: copied. */
    const char *text = json_object_to_json_string_ext(
        d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return text ? strdup(text) : NULL;
}

struct json_object *desk_details_parse(const char *json)
{
    if (!json)
        return NULL;
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    size_t len = strlen(json);
    struct json_object *o =
        len <= (size_t)INT32_MAX ? json_tokener_parse_ex(tok, json, (int)len)
                                 : NULL;
    if (o) {
        /* The whole text is one value (blanks may follow it). */
        size_t end = json_tokener_get_parse_end(tok);
        while (end < len && strchr(" \t\r\n", json[end]))
            end++;
        if (end != len || !json_object_is_type(o, json_type_object)) {
            json_object_put(o);
            o = NULL;
        }
    }
    json_tokener_free(tok);
    return o;
}

int desk_details_string(struct json_object *d, const char *key, char *out,
                        size_t size)
{
    struct json_object *v;
    out[0] = '\0';
    if (!d || !json_object_object_get_ex(d, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return -1;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (utf8_valid_len(s, n) != n || memchr(s, '\0', n)) {
        /* Not from the desk (it writes UTF-8, jsonb refuses \u0000):
         * made text as the writer would make it. */
        struct buf b = BUF_INIT;
        if (clean(&b, s, n) < 0) {
            buf_free(&b);
            return -1;
        }
        n = utf8_cut(buf_cstr(&b), size - 1);
        memcpy(out, buf_cstr(&b), n);
        out[n] = '\0';
        buf_free(&b);
        return 0;
    }
    n = utf8_cut(s, size - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int desk_details_get(const char *json, const char *key, char *out,
                     size_t size)
{
    struct json_object *d = desk_details_parse(json);
    int rc = desk_details_string(d, key, out, size);
    json_object_put(d);
    return rc;
}
