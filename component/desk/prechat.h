/* A queue's extra pre-chat fields: the admin's text, the fields in
 * request-chat's form, and the customer's answers checked and kept in the
 * ticket's details.  Pure (unit-tested in tests/unit/test_desk_forms.c).
 *
 * The text: one field per line,
 *
 *     var|type|label|required|options
 *
 *     order|text-single|Order number|required
 *     plan|list-single|Your plan||free,pro,enterprise
 *     newsletter|boolean|Send me the newsletter
 *
 * var: a-z, 0-9, '_' and '-' (not one of the form's own fields); type:
 * text-single (default), text-multi, list-single, list-multi, boolean;
 * label: defaults to var; required: "required" or empty; options
 * (comma-separated) for the list types.  Lines starting with '#' and blank
 * lines are skipped. */
#ifndef MUCDESK_DESK_PRECHAT_H
#define MUCDESK_DESK_PRECHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#include "core/buf.h"

#define DESK_PRECHAT_MAX 16

struct desk_prechat_field {
    char var[33];
    char type[12];
    char label[101];
    bool required;
    char options[301];            /* comma-separated, trimmed; list types */
};

struct desk_prechat {
    size_t count;
    struct desk_prechat_field f[DESK_PRECHAT_MAX];
};

/* 0, or -1 with "prechat-fields: line N: ..." in err. */
int desk_prechat_parse(const char *text, struct desk_prechat *out, char *err,
                       size_t errlen);
/* The fields, for a form being written. */
void desk_prechat_form(const struct desk_prechat *p, struct buf *out);
/* Reads the answers of a submitted form: required ones present, list
 * values among the options, booleans as "1"/"0".  Sets each answer in
 * the details being built (desk_details_set, key = var).  0, or -1 with a
 * text for the customer naming the field ("plan: choose one of the
 * options") in err, or -2 if out of memory (err "out of memory"). */
struct json_object;
int desk_prechat_read(const struct desk_prechat *p, xmpp_stanza_t *form,
                      struct json_object *details, char *err, size_t errlen);

#endif
