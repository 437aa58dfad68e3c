/* Skipping libstrophe's rendering of received stanzas.
 *
 * libstrophe 0.12.2 serialises every received stanza to text only to hand
 * it to a debug logger that drops it (conn.c, _handle_stream_stanza): a
 * third of the instructions mucdesk spends per groupchat message
 * (doc/performance.md, "MUC fan-out").  strophe_render.c defines
 * xmpp_stanza_to_text() in the executable, which takes the place of the
 * library's own (libstrophe calls it through its PLT), and passes calls
 * through to the real function except while rendering is skipped. */
#ifndef MUCDESK_XMPP_STROPHE_RENDER_H
#define MUCDESK_XMPP_STROPHE_RENDER_H

#include <stdbool.h>

/* Skip (true) or allow (false) rendering.  The link skips it while the
 * stream is up: mucdesk itself never calls xmpp_send(), the only other
 * caller that needs the text (libstrophe's client-login paths are never
 * used by a component, and its stream-error reply to a server sending
 * malformed XML is then not sent: the link drops the connection anyway). */
void strophe_render_skip(bool skip);

/* True if this process's xmpp_stanza_to_text() is ours, i.e. the
 * interposition works (a test checks it). */
bool strophe_render_interposed(void);

#endif
