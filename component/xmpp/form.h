/* XEP-0004 data forms: reading a submitted form, writing one.
 *
 * Reading borrows from the libstrophe stanza (valid while it lives);
 * writing appends text to a buffer. */
#ifndef MUCDESK_XMPP_FORM_H
#define MUCDESK_XMPP_FORM_H

#include <stdbool.h>
#include <strophe.h>

#include "core/buf.h"

#define NS_DATA_FORMS "jabber:x:data"

/* The <x xmlns='jabber:x:data'/> child of `parent`, or NULL. */
xmpp_stanza_t *form_find(const xmpp_stanza_t *parent);
/* The form's type attribute ("submit", "cancel", "form", "result"), or "". */
const char *form_type(const xmpp_stanza_t *form);
/* The value of the hidden FORM_TYPE field, or NULL. */
const char *form_form_type(const xmpp_stanza_t *form);
/* The <field var='var'/> element, or NULL. */
xmpp_stanza_t *form_field(const xmpp_stanza_t *form, const char *var);
/* The first <value/> of a field (borrowed), or NULL if the field is absent
 * or has no value; "" for an empty value. */
const char *form_value(const xmpp_stanza_t *form, const char *var);
/* Parses a boolean value ("1", "true", "0", "false").  Returns 0 and sets
 * *out, or -1 if the text is none of those. */
int form_parse_bool(const char *text, bool *out);

/* Calls fn for each <value/> text of the field.  Returns how many. */
int form_each_value(const xmpp_stanza_t *form, const char *var,
                    void (*fn)(void *ud, const char *value), void *ud);

/* ---- writing ---------------------------------------------------------------- */

/* <x xmlns='jabber:x:data' type='TYPE'> with an optional title and
 * instructions; then a hidden FORM_TYPE field if form_type is not NULL. */
void form_open(struct buf *out, const char *type, const char *form_type,
               const char *title, const char *instructions);
void form_close(struct buf *out);
/* A field with zero or one value (value NULL: none). */
void form_add(struct buf *out, const char *var, const char *type,
              const char *label, const char *value);
void form_add_bool(struct buf *out, const char *var, const char *label,
                   bool value);
/* A list-single field; options is a NULL-terminated array of value, label
 * pairs. */
void form_add_list(struct buf *out, const char *var, const char *label,
                   const char *value, const char *const *options);
/* Opening and closing of a field with several values (jid-multi...), for
 * writing <value/> elements with form_add_value in between. */
void form_field_open(struct buf *out, const char *var, const char *type,
                     const char *label);
void form_add_value(struct buf *out, const char *value);
void form_field_close(struct buf *out);
/* A field with an optional label, <desc/>, <required/> and value. */
void form_add_field(struct buf *out, const char *var, const char *type,
                    const char *label, const char *value, bool required,
                    const char *desc);
/* <option label='LABEL'><value>VALUE</value></option> */
void form_add_option(struct buf *out, const char *value, const char *label);
/* A list-single or list-multi field: options are value, label pairs
 * (NULL-terminated); value the current one (NULL: none). */
void form_add_choice(struct buf *out, const char *var, const char *type,
                     const char *label, const char *value,
                     const char *const *options, bool required);
/* A table in a result form (XEP-0004 §3.4): <reported> with one field per
 * column, then one <item> per row with a value per column. */
void form_reported_open(struct buf *out);
void form_reported_field(struct buf *out, const char *var, const char *label);
void form_reported_close(struct buf *out);
void form_item_open(struct buf *out);
void form_item_value(struct buf *out, const char *var, const char *value);
void form_item_close(struct buf *out);
/* A text-multi (or jid-multi...) field with one <value/> per line of text. */
void form_add_lines(struct buf *out, const char *var, const char *type,
                    const char *label, const char *text);
/* Appends every <value/> of a field, joined with sep, to out (a text-multi
 * field's lines, a list-multi's items).  Returns how many. */
int form_join_values(const xmpp_stanza_t *form, const char *var,
                     const char *sep, struct buf *out);

#endif
