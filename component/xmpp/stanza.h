/* Received stanzas and the errors we answer them with.
 *
 * A struct stanza_in is a read-only view of one received stanza with its
 * addresses parsed and prepared; it borrows from the libstrophe stanza and
 * lives as long as the dispatch of that stanza. */
#ifndef MUCDESK_XMPP_STANZA_H
#define MUCDESK_XMPP_STANZA_H

#include <stdbool.h>
#include <strophe.h>

#include "core/buf.h"
#include "core/jid.h"

enum stanza_kind { STANZA_MESSAGE, STANZA_PRESENCE, STANZA_IQ, STANZA_OTHER };

struct stanza_in {
    xmpp_stanza_t *st;
    enum stanza_kind kind;
    const char *name;      /* "message", "presence", "iq" */
    const char *type;      /* NULL if absent */
    const char *id;        /* NULL if absent */
    const char *from_text; /* as received */
    const char *to_text;
    struct jid from;
    struct jid to;
};

enum stanza_parse_result {
    STANZA_OK = 0,
    STANZA_NO_ADDRESS = -1,   /* missing from/to: the server never does this */
    STANZA_BAD_FROM = -2,     /* unparseable from: cannot even answer */
    STANZA_BAD_TO = -3,       /* unparseable to: answer jid-malformed */
    STANZA_TOO_DEEP = -4,     /* nested deeper than STANZA_DEPTH_MAX:
                                 answer policy-violation */
};

/* The deepest element nesting accepted in a received stanza, the stanza
 * itself being level 1 (XHTML-IM and pubsub payloads stay far below).
 * Anything deeper is refused before a handler sees it, so no code that
 * walks a stanza has to bound its own recursion. */
#define STANZA_DEPTH_MAX 100

enum stanza_parse_result stanza_in_parse(xmpp_stanza_t *st,
                                         struct stanza_in *in);

/* ---- errors (RFC 6120 8.3) ------------------------------------------------ */

enum xerr_cond {
    XERR_BAD_REQUEST,
    XERR_CONFLICT,
    XERR_FEATURE_NOT_IMPLEMENTED,
    XERR_FORBIDDEN,
    XERR_GONE,
    XERR_INTERNAL_SERVER_ERROR,
    XERR_ITEM_NOT_FOUND,
    XERR_JID_MALFORMED,
    XERR_NOT_ACCEPTABLE,
    XERR_NOT_ALLOWED,
    XERR_NOT_AUTHORIZED,
    XERR_POLICY_VIOLATION,
    XERR_RECIPIENT_UNAVAILABLE,
    XERR_REGISTRATION_REQUIRED,
    XERR_REMOTE_SERVER_NOT_FOUND,
    XERR_RESOURCE_CONSTRAINT,
    XERR_SERVICE_UNAVAILABLE,
    XERR_UNDEFINED_CONDITION,
    XERR_UNEXPECTED_REQUEST,
};

/* An error to send back.  Filling it allocates nothing: the text is copied
 * into a fixed buffer (cut on a character boundary if it is longer).  The text is shown to the sender, so it must be safe
 * for a customer to read; internals go to the log instead. */
struct xerr {
    enum xerr_cond cond;
    const char *app_ns;        /* optional application-specific condition */
    const char *app_condition; /* element name in app_ns */
    char text[256];
};

/* Handlers start from this ("fail closed") and change it on known errors. */
void xerr_init(struct xerr *e);
void xerr_set(struct xerr *e, enum xerr_cond cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *xerr_cond_name(enum xerr_cond cond);
const char *xerr_cond_type(enum xerr_cond cond);

/* Writes the error reply to `in` into out.  Writes nothing for stanzas that
 * must never be answered with an error (type error, and iq results). */
void stanza_write_error(struct buf *out, const struct stanza_in *in,
                        const struct xerr *e);

/* ---- reading helpers ------------------------------------------------------ */

/* First child element with this name and/or namespace (NULL = any). */
xmpp_stanza_t *stanza_child(const xmpp_stanza_t *st, const char *name,
                            const char *ns);
/* The text content of an element (borrowed), "" if none. */
const char *stanza_text(const xmpp_stanza_t *st);
const char *stanza_attr(const xmpp_stanza_t *st, const char *name);

/* Writes the opening of a reply to `in`: "<NAME type='TYPE' from='TO'
 * to='FROM' id='ID'" (start tag left open). */
void stanza_open_reply(struct buf *out, const struct stanza_in *in,
                       const char *type);

#endif
