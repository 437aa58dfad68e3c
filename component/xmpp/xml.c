#include "build-config.h"

#include "xmpp/xml.h"

#include <stdlib.h>
#include <string.h>

static void escape(struct buf *b, const char *s, size_t n, bool in_attr)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\'': rep = in_attr ? "&apos;" : NULL; break;
        case '"': rep = in_attr ? "&quot;" : NULL; break;
        default: rep = NULL; break;
        }
        if (!rep)
            continue;
        buf_append(b, s + start, i - start);
        buf_append_str(b, rep);
        start = i + 1;
    }
    buf_append(b, s + start, n - start);
}

void xml_text_n(struct buf *b, const char *s, size_t n)
{
    escape(b, s, n, false);
}

void xml_text(struct buf *b, const char *s)
{
    escape(b, s, strlen(s), false);
}

void xml_attr_n(struct buf *b, const char *name, const char *value, size_t n)
{
    if (n == 0)
        return;
    buf_append_char(b, ' ');
    buf_append_str(b, name);
    buf_append(b, "='", 2);
    escape(b, value, n, true);
    buf_append_char(b, '\'');
}

void xml_attr(struct buf *b, const char *name, const char *value)
{
    if (!value)
        return;
    buf_append_char(b, ' ');
    buf_append_str(b, name);
    buf_append(b, "='", 2);
    escape(b, value, strlen(value), true);
    buf_append_char(b, '\'');
}

static bool is_stream_ns(const char *ns)
{
    return ns && (strcmp(ns, XML_NS_COMPONENT) == 0 ||
                  strcmp(ns, XML_NS_CLIENT) == 0);
}

void xml_write_stanza(struct buf *b, const xmpp_stanza_t *st,
                      const char *parent_ns)
{
    xmpp_stanza_t *node = (xmpp_stanza_t *)st; /* libstrophe lacks const */

    if (xmpp_stanza_is_text(node)) {
        const char *text = xmpp_stanza_get_text_ptr(node);
        if (text)
            xml_text(b, text);
        return;
    }
    const char *name = xmpp_stanza_get_name(node);
    if (!name)
        return;
    const char *ns = xmpp_stanza_get_ns(node);
    if (is_stream_ns(ns) && is_stream_ns(parent_ns))
        ns = parent_ns;

    buf_append_char(b, '<');
    buf_append_str(b, name);
    if (ns && (!parent_ns || strcmp(ns, parent_ns) != 0))
        xml_attr(b, "xmlns", ns);

    int count = xmpp_stanza_get_attribute_count(node);
    if (count > 0) {
        const char *stack_attrs[2 * 16];
        const char **attrs = stack_attrs;
        if (count > 16 && !(attrs = malloc(2 * (size_t)count * sizeof *attrs))) {
            b->failed = true;
            return;
        }
        int got = xmpp_stanza_get_attributes(node, attrs, 2 * count);
        for (int i = 0; i + 1 < got; i += 2) {
            if (strcmp(attrs[i], "xmlns") == 0)
                continue;
            /* libstrophe drops attribute namespaces, so xml:lang arrives as
             * "lang"; no XMPP element has an unqualified lang attribute. */
            xml_attr(b, strcmp(attrs[i], "lang") == 0 ? "xml:lang" : attrs[i],
                     attrs[i + 1]);
        }
        if (attrs != stack_attrs)
            free(attrs);
    }
    xmpp_stanza_t *child = xmpp_stanza_get_children(node);
    if (!child) {
        buf_append(b, "/>", 2);
        return;
    }
    buf_append_char(b, '>');
    for (; child; child = xmpp_stanza_get_next(child))
        xml_write_stanza(b, child, ns ? ns : parent_ns);
    buf_append(b, "</", 2);
    buf_append_str(b, name);
    buf_append_char(b, '>');
}

void xml_write_children(struct buf *b, const xmpp_stanza_t *st,
                        const char *parent_ns)
{
    for (xmpp_stanza_t *child = xmpp_stanza_get_children((xmpp_stanza_t *)st);
         child; child = xmpp_stanza_get_next(child))
        xml_write_stanza(b, child, parent_ns);
}
