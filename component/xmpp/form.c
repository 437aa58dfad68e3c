#include "build-config.h"

#include "xmpp/form.h"

#include <string.h>

#include "xmpp/stanza.h"
#include "xmpp/xml.h"

xmpp_stanza_t *form_find(const xmpp_stanza_t *parent)
{
    return parent ? stanza_child(parent, "x", NS_DATA_FORMS) : NULL;
}

const char *form_type(const xmpp_stanza_t *form)
{
    const char *t = stanza_attr(form, "type");
    return t ? t : "";
}

xmpp_stanza_t *form_field(const xmpp_stanza_t *form, const char *var)
{
    if (!form)
        return NULL;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children((xmpp_stanza_t *)form);
         c; c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        const char *name = xmpp_stanza_get_name(c);
        const char *v = stanza_attr(c, "var");
        if (name && strcmp(name, "field") == 0 && v && strcmp(v, var) == 0)
            return c;
    }
    return NULL;
}

const char *form_value(const xmpp_stanza_t *form, const char *var)
{
    xmpp_stanza_t *field = form_field(form, var);
    if (!field)
        return NULL;
    xmpp_stanza_t *value = stanza_child(field, "value", NULL);
    return value ? stanza_text(value) : NULL;
}

const char *form_form_type(const xmpp_stanza_t *form)
{
    return form_value(form, "FORM_TYPE");
}

int form_parse_bool(const char *text, bool *out)
{
    if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

int form_each_value(const xmpp_stanza_t *form, const char *var,
                    void (*fn)(void *ud, const char *value), void *ud)
{
    xmpp_stanza_t *field = form_field(form, var);
    int n = 0;
    if (!field)
        return 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(field); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        if (name && strcmp(name, "value") == 0) {
            fn(ud, stanza_text(c));
            n++;
        }
    }
    return n;
}

void form_open(struct buf *out, const char *type, const char *form_type_value,
               const char *title, const char *instructions)
{
    buf_append_str(out, "<x xmlns='jabber:x:data'");
    xml_attr(out, "type", type);
    buf_append_char(out, '>');
    if (title) {
        buf_append_str(out, "<title>");
        xml_text(out, title);
        buf_append_str(out, "</title>");
    }
    if (instructions) {
        buf_append_str(out, "<instructions>");
        xml_text(out, instructions);
        buf_append_str(out, "</instructions>");
    }
    if (form_type_value)
        form_add(out, "FORM_TYPE", "hidden", NULL, form_type_value);
}

void form_close(struct buf *out)
{
    buf_append_str(out, "</x>");
}

void form_field_open(struct buf *out, const char *var, const char *type,
                     const char *label)
{
    buf_append_str(out, "<field");
    xml_attr(out, "var", var);
    xml_attr(out, "type", type);
    xml_attr(out, "label", label);
    buf_append_char(out, '>');
}

void form_add_value(struct buf *out, const char *value)
{
    buf_append_str(out, "<value>");
    xml_text(out, value);
    buf_append_str(out, "</value>");
}

void form_field_close(struct buf *out)
{
    buf_append_str(out, "</field>");
}

void form_add(struct buf *out, const char *var, const char *type,
              const char *label, const char *value)
{
    form_field_open(out, var, type, label);
    if (value)
        form_add_value(out, value);
    form_field_close(out);
}

void form_add_bool(struct buf *out, const char *var, const char *label,
                   bool value)
{
    form_add(out, var, "boolean", label, value ? "1" : "0");
}

void form_add_list(struct buf *out, const char *var, const char *label,
                   const char *value, const char *const *options)
{
    form_field_open(out, var, "list-single", label);
    if (value)
        form_add_value(out, value);
    for (const char *const *o = options; o && o[0]; o += 2) {
        buf_append_str(out, "<option");
        xml_attr(out, "label", o[1]);
        buf_append_char(out, '>');
        form_add_value(out, o[0]);
        buf_append_str(out, "</option>");
    }
    form_field_close(out);
}

void form_add_field(struct buf *out, const char *var, const char *type,
                    const char *label, const char *value, bool required,
                    const char *desc)
{
    form_field_open(out, var, type, label);
    if (desc) {
        buf_append_str(out, "<desc>");
        xml_text(out, desc);
        buf_append_str(out, "</desc>");
    }
    if (required)
        buf_append_str(out, "<required/>");
    if (value)
        form_add_value(out, value);
    form_field_close(out);
}

void form_add_option(struct buf *out, const char *value, const char *label)
{
    buf_append_str(out, "<option");
    xml_attr(out, "label", label);
    buf_append_char(out, '>');
    form_add_value(out, value);
    buf_append_str(out, "</option>");
}

void form_add_choice(struct buf *out, const char *var, const char *type,
                     const char *label, const char *value,
                     const char *const *options, bool required)
{
    form_field_open(out, var, type, label);
    if (required)
        buf_append_str(out, "<required/>");
    if (value)
        form_add_value(out, value);
    for (const char *const *o = options; o && o[0]; o += 2)
        form_add_option(out, o[0], o[1]);
    form_field_close(out);
}

struct joiner {
    struct buf *b;
    const char *sep;
    size_t start;
};

static void join_one(void *ud, const char *v)
{
    struct joiner *j = ud;
    if (j->b->len > j->start)
        buf_append_str(j->b, j->sep);
    buf_append_str(j->b, v);
}

int form_join_values(const xmpp_stanza_t *form, const char *var,
                     const char *sep, struct buf *out)
{
    struct joiner j = {out, sep, out->len};
    return form ? form_each_value(form, var, join_one, &j) : 0;
}

void form_reported_open(struct buf *out)
{
    buf_append_str(out, "<reported>");
}

void form_reported_field(struct buf *out, const char *var, const char *label)
{
    buf_append_str(out, "<field");
    xml_attr(out, "var", var);
    xml_attr(out, "label", label);
    buf_append_str(out, "/>");
}

void form_reported_close(struct buf *out)
{
    buf_append_str(out, "</reported>");
}

void form_item_open(struct buf *out)
{
    buf_append_str(out, "<item>");
}

void form_item_value(struct buf *out, const char *var, const char *value)
{
    buf_append_str(out, "<field");
    xml_attr(out, "var", var);
    buf_append_char(out, '>');
    form_add_value(out, value ? value : "");
    buf_append_str(out, "</field>");
}

void form_item_close(struct buf *out)
{
    buf_append_str(out, "</item>");
}

void form_add_lines(struct buf *out, const char *var, const char *type,
                    const char *label, const char *text)
{
    form_field_open(out, var, type, label);
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        buf_append_str(out, "<value>");
        xml_text_n(out, p, n);
        buf_append_str(out, "</value>");
        p += n + (p[n] == '\n');
    }
    form_field_close(out);
}
