/* Writing XML into a buffer: escaping, and serialising received stanzas.
 *
 * mucdesk builds outgoing stanzas as text straight into the link's output
 * buffer; libstrophe's own serialiser allocates per node and is the slowest
 * part of the send path (ARCHITECTURE.md). */
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

/* Serialises `st` and its subtree.  `parent_ns` is the default namespace in
 * effect where it is written: an xmlns equal to it is omitted, and stanzas in
 * jabber:client or jabber:component:accept are written in the parent's.
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
