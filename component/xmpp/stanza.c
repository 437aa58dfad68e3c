#include "build-config.h"

#include "xmpp/stanza.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "xmpp/xml.h"

/* True if an element below `st` lies deeper than `levels` levels below it.
 * The recursion is bounded by `levels`. */
static bool deeper_than(const xmpp_stanza_t *st, int levels)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children((xmpp_stanza_t *)st); c;
         c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        if (levels == 0 || deeper_than(c, levels - 1))
            return true;
    }
    return false;
}

enum stanza_parse_result stanza_in_parse(xmpp_stanza_t *st,
                                         struct stanza_in *in)
{
    in->st = st;
    in->name = xmpp_stanza_get_name(st);
    in->type = xmpp_stanza_get_type(st);
    in->id = xmpp_stanza_get_id(st);
    in->from_text = xmpp_stanza_get_from(st);
    in->to_text = xmpp_stanza_get_to(st);

    if (!in->name)
        in->kind = STANZA_OTHER;
    else if (strcmp(in->name, "message") == 0)
        in->kind = STANZA_MESSAGE;
    else if (strcmp(in->name, "presence") == 0)
        in->kind = STANZA_PRESENCE;
    else if (strcmp(in->name, "iq") == 0)
        in->kind = STANZA_IQ;
    else
        in->kind = STANZA_OTHER;

    if (!in->from_text || !in->to_text)
        return STANZA_NO_ADDRESS;
    if (jid_parse(in->from_text, &in->from) < 0)
        return STANZA_BAD_FROM;
    if (jid_parse(in->to_text, &in->to) < 0)
        return STANZA_BAD_TO;
    if (deeper_than(st, STANZA_DEPTH_MAX - 1))
        return STANZA_TOO_DEEP;
    return STANZA_OK;
}

/* ---- errors ----------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *type;
} conditions[] = {
    [XERR_BAD_REQUEST] = {"bad-request", "modify"},
    [XERR_CONFLICT] = {"conflict", "cancel"},
    [XERR_FEATURE_NOT_IMPLEMENTED] = {"feature-not-implemented", "cancel"},
    [XERR_FORBIDDEN] = {"forbidden", "auth"},
    [XERR_GONE] = {"gone", "cancel"},
    [XERR_INTERNAL_SERVER_ERROR] = {"internal-server-error", "cancel"},
    [XERR_ITEM_NOT_FOUND] = {"item-not-found", "cancel"},
    [XERR_JID_MALFORMED] = {"jid-malformed", "modify"},
    [XERR_NOT_ACCEPTABLE] = {"not-acceptable", "modify"},
    [XERR_NOT_ALLOWED] = {"not-allowed", "cancel"},
    [XERR_NOT_AUTHORIZED] = {"not-authorized", "auth"},
    [XERR_POLICY_VIOLATION] = {"policy-violation", "modify"},
    [XERR_RECIPIENT_UNAVAILABLE] = {"recipient-unavailable", "wait"},
    [XERR_REGISTRATION_REQUIRED] = {"registration-required", "auth"},
    [XERR_REMOTE_SERVER_NOT_FOUND] = {"remote-server-not-found", "cancel"},
    [XERR_RESOURCE_CONSTRAINT] = {"resource-constraint", "wait"},
    [XERR_SERVICE_UNAVAILABLE] = {"service-unavailable", "cancel"},
    [XERR_UNDEFINED_CONDITION] = {"undefined-condition", "cancel"},
    [XERR_UNEXPECTED_REQUEST] = {"unexpected-request", "wait"},
};

void xerr_init(struct xerr *e)
{
    e->cond = XERR_INTERNAL_SERVER_ERROR;
    e->app_ns = NULL;
    e->app_condition = NULL;
    e->text[0] = '\0';
}

void xerr_set(struct xerr *e, enum xerr_cond cond, const char *fmt, ...)
{
    e->cond = cond;
    e->app_ns = NULL;
    e->app_condition = NULL;
    if (!fmt) {
        e->text[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    utf8_vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

const char *xerr_cond_name(enum xerr_cond cond)
{
    return conditions[cond].name;
}

const char *xerr_cond_type(enum xerr_cond cond)
{
    return conditions[cond].type;
}

void stanza_open_reply(struct buf *out, const struct stanza_in *in,
                       const char *type)
{
    buf_append_char(out, '<');
    buf_append_str(out, in->name);
    xml_attr(out, "type", type);
    xml_attr(out, "from", in->to_text);
    xml_attr(out, "to", in->from_text);
    xml_attr(out, "id", in->id);
}

void stanza_write_error(struct buf *out, const struct stanza_in *in,
                        const struct xerr *e)
{
    if (in->kind == STANZA_OTHER)
        return;
    /* Never answer an error with an error, nor a result (RFC 6120 8.3.1). */
    if (in->type && (strcmp(in->type, "error") == 0 ||
                     (in->kind == STANZA_IQ && strcmp(in->type, "result") == 0)))
        return;
    stanza_open_reply(out, in, "error");
    buf_append(out, "><error", 7);
    xml_attr(out, "type", xerr_cond_type(e->cond));
    buf_append(out, "><", 2);
    buf_append_str(out, xerr_cond_name(e->cond));
    buf_append_str(out, " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>");
    if (e->text[0]) {
        buf_append_str(out, "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'"
                            " xml:lang='en'>");
        xml_text(out, e->text);
        buf_append_str(out, "</text>");
    }
    if (e->app_ns && e->app_condition) {
        buf_append_char(out, '<');
        buf_append_str(out, e->app_condition);
        xml_attr(out, "xmlns", e->app_ns);
        buf_append(out, "/>", 2);
    }
    buf_append(out, "</error></", 10);
    buf_append_str(out, in->name);
    buf_append_char(out, '>');
}

/* ---- reading helpers -------------------------------------------------------- */

xmpp_stanza_t *stanza_child(const xmpp_stanza_t *st, const char *name,
                            const char *ns)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children((xmpp_stanza_t *)st); c;
         c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        const char *cname = xmpp_stanza_get_name(c);
        const char *cns = xmpp_stanza_get_ns(c);
        if (name && (!cname || strcmp(cname, name) != 0))
            continue;
        if (ns && (!cns || strcmp(cns, ns) != 0))
            continue;
        return c;
    }
    return NULL;
}

const char *stanza_text(const xmpp_stanza_t *st)
{
    if (!st)
        return "";
    for (xmpp_stanza_t *c = xmpp_stanza_get_children((xmpp_stanza_t *)st); c;
         c = xmpp_stanza_get_next(c)) {
        if (xmpp_stanza_is_text(c)) {
            const char *t = xmpp_stanza_get_text_ptr(c);
            return t ? t : "";
        }
    }
    return "";
}

const char *stanza_attr(const xmpp_stanza_t *st, const char *name)
{
    return st ? xmpp_stanza_get_attribute((xmpp_stanza_t *)st, name) : NULL;
}
