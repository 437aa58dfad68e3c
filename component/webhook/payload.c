#include "build-config.h"

#include "webhook/payload.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* Adds key = value to obj, taking value's reference.  0 or -1. */
static int put(struct json_object *obj, const char *key,
               struct json_object *value)
{
    if (!value || json_object_object_add(obj, key, value) != 0) {
        json_object_put(value);
        return -1;
    }
    return 0;
}

char *webhook_payload(const struct webhook_event_row *row, size_t *len)
{
    enum json_tokener_error perr;
    struct json_object *data = json_tokener_parse_verbose(row->data, &perr);
    if (!data || !json_object_is_type(data, json_type_object)) {
        json_object_put(data);
        return NULL;
    }
    struct json_object *body = json_object_new_object();
    int rc = body ? 0 : -1;
    if (rc == 0)
        rc = put(body, "id", json_object_new_string(row->delivery_id));
    if (rc == 0)
        rc = put(body, "type", json_object_new_string(row->type));
    if (rc == 0)
        rc = put(body, "sequence", json_object_new_int64(row->sequence));
    if (rc == 0)
        rc = put(body, "created_at", json_object_new_string(row->created_at));
    /* The event's own members after the envelope; none may replace it. */
    json_object_object_foreach(data, key, value) {
        if (rc != 0)
            break;
        if (json_object_object_get_ex(body, key, NULL))
            continue;
        /* value is NULL for a JSON null: added as it is. */
        struct json_object *v = json_object_get(value);
        if (json_object_object_add(body, key, v) != 0) {
            json_object_put(v);
            rc = -1;
        }
    }
    char *out = NULL;
    if (rc == 0) {
        size_t n = 0;
        const char *text = json_object_to_json_string_length(
            body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (text && (out = malloc(n + 1))) {
            memcpy(out, text, n + 1);
            *len = n;
        }
    }
    json_object_put(body);
    json_object_put(data);
    return out;
}
