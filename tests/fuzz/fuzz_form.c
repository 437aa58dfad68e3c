/* Fuzz target: XEP-0004 data forms (xmpp/form.c) and the desk's reading
 * of the pre-chat answers (desk/prechat.c).
 *
 * The input is the XML of a submitted form (<x xmlns='jabber:x:data'>),
 * parsed as the stream parser would inside a stanza.  Every reader runs
 * on every field; then the form is written back with the writers (each
 * field through the writer for its type, plus a <reported/> table of the
 * fields) and the result must be well-formed XML that reads back to the
 * same values (up to XML's own line-end and attribute-space
 * normalisation).  The answers are also read against a queue's extra
 * pre-chat fields: the details that makes (desk/details.c) must be UTF-8
 * and read back as one object of strings. */
#include "build-config.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>

#include "core/buf.h"
#include "desk/details.h"
#include "desk/prechat.h"
#include "desk/text.h"
#include "fuzz_check.h"
#include "xmpp/form.h"
#include "xmpp/stanza.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64

static xmpp_ctx_t *ctx;
static struct desk_prechat prechat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    ctx = xmpp_ctx_new(NULL, NULL);
    char err[300];
    if (desk_prechat_parse("order|text-single|Order number|required\n"
                           "plan|list-single|Your plan||free,pro,enterprise\n"
                           "topics|list-multi|Topics||a,b,c\n"
                           "notes|text-multi|Notes\n"
                           "newsletter|boolean|Send me the newsletter",
                           &prechat, err, sizeof err) < 0)
        fuzz_fail("prechat: %s", err);
    return 0;
}

static xmpp_stanza_t *parse_in(const char *open, const uint8_t *data,
                               size_t size, const char *close)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, open);
    buf_append(&b, data, size);
    buf_append_str(&b, close);
    xmpp_stanza_t *st = NULL;
    if (!buf_failed(&b) && strlen(buf_cstr(&b)) == b.len)
        st = xmpp_stanza_new_from_string(ctx, buf_cstr(&b));
    buf_free(&b);
    return st;
}

/* What a value becomes after a trip through XML text: CR LF and lone CR
 * read back as LF (XML 1.0 §2.11). */
static void eol_normalise(const char *in, struct buf *out)
{
    for (const char *p = in; *p; p++) {
        if (*p == '\r') {
            buf_append_char(out, '\n');
            if (p[1] == '\n')
                p++;
        } else {
            buf_append_char(out, *p);
        }
    }
}

static void count_value(void *ud, const char *v)
{
    (void)v;
    (*(int *)ud)++;
}

struct field {
    const char *var, *type, *label, *value;
    bool required, first;
    const char *options[2 * 16 + 1];
};

static void read_fields(xmpp_stanza_t *form, struct field *f, size_t *n)
{
    *n = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(form); c && *n < MAX_FIELDS;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
        const char *var = stanza_attr(c, "var");
        if (!name || strcmp(name, "field") != 0 || !var)
            continue;
        struct field *x = &f[(*n)++];
        memset(x, 0, sizeof *x);
        x->var = var;
        x->type = stanza_attr(c, "type");
        x->label = stanza_attr(c, "label");
        x->required = stanza_child(c, "required", NULL) != NULL;
        x->first = form_field(form, var) == c;
        x->value = form_value(form, var);
        /* The readers, on every field. */
        int count = 0;
        int each = form_each_value(form, var, count_value, &count);
        if (each != count)
            fuzz_fail("form_each_value counted %d, called %d", each, count);
        struct buf joined = BUF_INIT;
        if (form_join_values(form, var, "\n", &joined) != each)
            fuzz_fail("form_join_values and form_each_value disagree");
        buf_free(&joined);
        bool b;
        if (x->value && form_parse_bool(x->value, &b) == 0 &&
            strcmp(x->value, b ? "1" : "0") != 0 &&
            strcmp(x->value, b ? "true" : "false") != 0)
            fuzz_fail("form_parse_bool accepted '%s'", x->value);
        size_t k = 0;
        for (xmpp_stanza_t *o = xmpp_stanza_get_children(c); o && k < 32;
             o = xmpp_stanza_get_next(o)) {
            const char *on = xmpp_stanza_is_tag(o) ? xmpp_stanza_get_name(o) : NULL;
            if (!on || strcmp(on, "option") != 0)
                continue;
            x->options[k++] = stanza_text(stanza_child(o, "value", NULL));
            x->options[k++] = stanza_attr(o, "label");
            if (!x->options[k - 1])
                x->options[k - 1] = "";
        }
        x->options[k] = NULL;
    }
}

static void write_form(xmpp_stanza_t *form, const struct field *f, size_t n,
                       struct buf *out)
{
    xmpp_stanza_t *title = stanza_child(form, "title", NULL);
    xmpp_stanza_t *instr = stanza_child(form, "instructions", NULL);
    form_open(out, form_type(form), form_form_type(form),
              title ? stanza_text(title) : NULL,
              instr ? stanza_text(instr) : NULL);
    for (size_t i = 0; i < n; i++) {
        const struct field *x = &f[i];
        const char *type = x->type ? x->type : "text-single";
        if (strcmp(x->var, "FORM_TYPE") == 0)
            continue;
        if (strcmp(type, "boolean") == 0) {
            bool b = false;
            form_add_bool(out, x->var, x->label,
                          x->value && form_parse_bool(x->value, &b) == 0 && b);
        } else if (strncmp(type, "list-", 5) == 0) {
            form_add_choice(out, x->var, type, x->label, x->value, x->options,
                            x->required);
        } else if (strcmp(type, "text-multi") == 0 ||
                   strcmp(type, "jid-multi") == 0) {
            struct buf lines = BUF_INIT;
            form_join_values(form, x->var, "\n", &lines);
            form_add_lines(out, x->var, type, x->label, buf_cstr(&lines));
            buf_free(&lines);
        } else {
            form_add_field(out, x->var, type, x->label, x->value, x->required,
                           NULL);
        }
    }
    form_reported_open(out);
    for (size_t i = 0; i < n; i++)
        form_reported_field(out, f[i].var, f[i].label);
    form_reported_close(out);
    form_item_open(out);
    for (size_t i = 0; i < n; i++)
        form_item_value(out, f[i].var, f[i].value);
    form_item_close(out);
    form_close(out);
}

/* The written form reads back to what was read. */
static void check_round_trip(const struct field *f, size_t n, const char *xml)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
    if (!st)
        fuzz_fail("the written form does not parse: %s", xml);
    xmpp_stanza_t *back = form_find(st);
    if (!back)
        fuzz_fail("the written form is not found back: %s", xml);
    for (size_t i = 0; i < n; i++) {
        const struct field *x = &f[i];
        const char *type = x->type ? x->type : "text-single";
        /* Attribute values read back with whitespace as spaces. */
        if (!x->first || strpbrk(x->var, "\t\r\n") ||
            strcmp(x->var, "FORM_TYPE") == 0 ||
            strcmp(type, "boolean") == 0 || strcmp(type, "text-multi") == 0 ||
            strcmp(type, "jid-multi") == 0)
            continue;
        const char *again = form_value(back, x->var);
        if (!x->value && again)
            fuzz_fail("field %s: no value became '%s'", x->var, again);
        if (!x->value || !again)
            continue;
        struct buf want = BUF_INIT;
        eol_normalise(x->value, &want);
        if (strcmp(buf_cstr(&want), again) != 0)
            fuzz_fail("field %s: value '%s' read back as '%s'", x->var,
                      x->value, again);
        buf_free(&want);
    }
    xmpp_stanza_release(st);
}

static void check_prechat(xmpp_stanza_t *form)
{
    char err[300];
    struct json_object *details = desk_details_new();
    if (!details)
        abort();
    int rc = desk_prechat_read(&prechat, form, details, err, sizeof err);
    if (rc == -2)
        fuzz_fail("desk_prechat_read ran out of memory");
    char *text = rc == 0 ? desk_details_text(details) : NULL;
    json_object_put(details);
    if (rc < 0)
        return;
    if (!text)
        fuzz_fail("desk_details_text failed (memory)");
    /* Whatever the customer sent, the details are UTF-8 (jsonb takes
     * them) and one object of strings again when read. */
    if (fuzz_utf8_problem(text, strlen(text), false))
        fuzz_fail("pre-chat answers make details that are not UTF-8: %s",
                  text);
    struct json_object *back = desk_details_parse(text);
    if (!back)
        fuzz_fail("pre-chat answers make details json-c refuses: %s", text);
    json_object_object_foreach(back, key, val) {
        if (!json_object_is_type(val, json_type_string))
            fuzz_fail("pre-chat answer %s is not a string: %s", key, text);
    }
    json_object_put(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_input(data, size);
    xmpp_stanza_t *st = parse_in("<iq xmlns='jabber:component:accept'>", data,
                                 size, "</iq>");
    xmpp_stanza_t *form = st ? form_find(st) : NULL;
    if (!form) {
        if (st)
            xmpp_stanza_release(st);
        return 0;
    }
    static struct field fields[MAX_FIELDS];
    size_t n;
    read_fields(form, fields, &n);
    struct buf out = BUF_INIT;
    buf_append_str(&out, "<message xmlns='jabber:client'>");
    write_form(form, fields, n, &out);
    buf_append_str(&out, "</message>");
    if (buf_failed(&out))
        abort();
    fuzz_check_output("the written form", out.data, out.len, NULL);
    if (!fuzz_utf8_problem(out.data, out.len, true))
        check_round_trip(fields, n, out.data);
    check_prechat(form);
    buf_free(&out);
    xmpp_stanza_release(st);
    fuzz_set_input(NULL, 0);
    return 0;
}
