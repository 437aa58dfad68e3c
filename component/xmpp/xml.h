/* Writing XML into a buffer: escaping, and serialising received stanzas.
 *
 * mucdesk builds outgoing stanzas as text straight into the link's output
 * buffer; libstrophe's own serialiser allocates per node and is the slowest
 * part of the send path (ARCHITECTURE.md).
 *
 * Everything written here is well-formed XML 1.0 in UTF-8 whatever the bytes
 * given: ill-formed UTF-8 and the characters XML forbids (C0 controls other
 * than TAB, LF and CR; U+FFFE, U+FFFF) are written as U+FFFD, valid text
 * unchanged.  So user text never reaches the output buffer any other way
 * (no buf_printf("%s") of it into router_out()/link_out()). */
#ifndef MUCDESK_XMPP_XML_H
#define MUCDESK_XMPP_XML_H

#include <stddef.h>
#include <strophe.h>

#include "core/buf.h"

/* Character data: escapes & < >. */
void xml_text(struct buf *b, const char *s);
void xml_text_n(struct buf *b, const char *s, size_t n);
/* Appends ` name='value'` with the value escaped; nothing if value is NULL. */
void xml_attr(struct buf *b, const char *name, const char *value);
/* The same for a value of n bytes (not NUL-terminated); nothing if n is 0. */
void xml_attr_n(struct buf *b, const char *name, const char *value, size_t n);
/* An attribute value alone (escapes & < > ' "), for a writer that writes
 * ` name='` itself. */
void xml_attr_value(struct buf *b, const char *s);

/* Appends markup that is already XML (a payload this writer serialised,
 * kept in the history or the archive) as it is, except that ill-formed
 * UTF-8 and forbidden characters become U+FFFD, as above: neither can be
 * part of markup, so the structure is unchanged. */
void xml_markup(struct buf *b, const char *xml);
void xml_markup_n(struct buf *b, const char *xml, size_t n);

/* Serialises `st` and its subtree, at any depth (it does not recurse).
 * `parent_ns` is the default namespace in effect where it is written: an
 * xmlns equal to it is omitted, and stanzas in jabber:client or
 * jabber:component:accept are written in the parent's.
 * (libstrophe keeps the namespace the server used: see ARCHITECTURE.md.) */
void xml_write_stanza(struct buf *b, const xmpp_stanza_t *st,
                      const char *parent_ns);
/* Serialises the children of `st` only (for copying a message payload). */
void xml_write_children(struct buf *b, const xmpp_stanza_t *st,
                        const char *parent_ns);

/* The stream namespace our stanzas are written in. */
#define XML_NS_COMPONENT "jabber:component:accept"
#define XML_NS_CLIENT "jabber:client"

#endif
