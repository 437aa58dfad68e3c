/* The session details (tickets.details, jsonb): a flat JSON object whose
 * values are strings - the widget's page and browser, the question, the
 * pre-chat answers.  Written and read with json-c; this file only adds the
 * desk's rules on top: text is made UTF-8 before it is written, a value is
 * read into a bounded buffer cut on a character boundary, and anything that
 * is not a string (a number, null, an object) counts as absent.
 * Unit-tested in tests/unit/test_desk_details.c, fuzzed by fuzz_json. */
#ifndef MUCDESK_DESK_DETAILS_H
#define MUCDESK_DESK_DETAILS_H

#include <stddef.h>

struct json_object;

/* A new empty details object (the caller json_object_put()s it), or NULL
 * if out of memory. */
struct json_object *desk_details_new(void);

/* Sets key to value, replacing an earlier value of key; a NULL value sets
 * nothing.  Ill-formed UTF-8 in either (a cut through a character, bytes
 * from a file) is written as U+FFFD: what PostgreSQL's jsonb takes.
 * 0, or -1 if out of memory (d is then unchanged). */
int desk_details_set(struct json_object *d, const char *key,
                     const char *value);

/* Sets every string member of from (may be NULL) in d.  0 or -1 (out of
 * memory: d may hold some of them). */
int desk_details_merge(struct json_object *d, struct json_object *from);

/* d as compact JSON text (the caller frees it), or NULL if out of memory. */
char *desk_details_text(struct json_object *d);

/* Parses details as stored: the object (the caller json_object_put()s it),
 * or NULL if json is NULL, not JSON, has more after the value, is not an
 * object, or memory ran out - every caller treats that as no details. */
struct json_object *desk_details_parse(const char *json);

/* The string value of key in d (may be NULL) into out[size] (size > 0),
 * cut on a character boundary if it does not fit, ill-formed UTF-8 made
 * U+FFFD.  0, or -1 (out is then "") if d has no such key or its value is
 * not a string. */
int desk_details_string(struct json_object *d, const char *key, char *out,
                        size_t size);

/* desk_details_string() of desk_details_parse(json), for one key. */
int desk_details_get(const char *json, const char *key, char *out,
                     size_t size);

#endif
