"""XML helpers shared by the XMPP test client and the fake XMPP server.

Stanzas are lxml elements, each the root of its own document, so absolute
XPath works: "/s:iq[@type='result']/disco:query".

XPath prefixes (NS below).  `s` is the *stream's* content namespace:
jabber:client for a client (mdtest.client), jabber:component:accept on the
fake server's side of a component link; so one matcher works on both.

    s        stanza namespace of the stream (see above)
    c        jabber:client             ca     jabber:component:accept
    stream   http://etherx.jabber.org/streams
    err      urn:ietf:params:xml:ns:xmpp-stanzas (stanza error conditions)
    serr     urn:ietf:params:xml:ns:xmpp-streams (stream error conditions)
    muc mucu muco muca   MUC: join, #user, #owner, #admin
    info items           disco#info, disco#items
    cmd x                ad-hoc commands, data forms
    mam fwd delay sid rsm    archive, forwarded, delay, stanza-id, RSM
    ping ver time vcard conf chat receipts markers corr hints oob
"""

from xml.sax.saxutils import escape, quoteattr

from lxml import etree

JABBER_CLIENT = "jabber:client"
COMPONENT_ACCEPT = "jabber:component:accept"
STREAMS = "http://etherx.jabber.org/streams"

NS = {
    "c": JABBER_CLIENT,
    "ca": COMPONENT_ACCEPT,
    "stream": STREAMS,
    "err": "urn:ietf:params:xml:ns:xmpp-stanzas",
    "serr": "urn:ietf:params:xml:ns:xmpp-streams",
    "muc": "http://jabber.org/protocol/muc",
    "mucu": "http://jabber.org/protocol/muc#user",
    "muco": "http://jabber.org/protocol/muc#owner",
    "muca": "http://jabber.org/protocol/muc#admin",
    "info": "http://jabber.org/protocol/disco#info",
    "items": "http://jabber.org/protocol/disco#items",
    "cmd": "http://jabber.org/protocol/commands",
    "x": "jabber:x:data",
    "mam": "urn:xmpp:mam:2",
    "fwd": "urn:xmpp:forward:0",
    "delay": "urn:xmpp:delay",
    "sid": "urn:xmpp:sid:0",
    "rsm": "http://jabber.org/protocol/rsm",
    "ping": "urn:xmpp:ping",
    "ver": "jabber:iq:version",
    "time": "urn:xmpp:time",
    "vcard": "vcard-temp",
    "conf": "jabber:x:conference",
    "chat": "http://jabber.org/protocol/chatstates",
    "receipts": "urn:xmpp:receipts",
    "markers": "urn:xmpp:chat-markers:0",
    "corr": "urn:xmpp:message-correct:0",
    "hints": "urn:xmpp:hints",
    "oob": "jabber:x:oob",
}

_parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def namespaces(stream_ns=JABBER_CLIENT):
    """The prefix map for XPath, with `s` bound to stream_ns."""
    m = dict(NS)
    m["s"] = stream_ns
    return m


def parse(xml, stream_ns=JABBER_CLIENT):
    """Parse one stanza written as text; elements without a namespace get
    stream_ns, as they would inside a stream.  Returns an lxml element."""
    els = parse_many(xml, stream_ns)
    if len(els) != 1:
        raise ValueError("expected one element, got %d in %r" % (len(els), xml))
    return els[0]


def parse_many(xml, stream_ns=JABBER_CLIENT):
    """Parse zero or more top-level elements (as they would appear in a
    stream whose default namespace is stream_ns).  Raises ValueError with
    lxml's message if the text is not well-formed."""
    if isinstance(xml, bytes):
        xml = xml.decode("utf-8")
    wrapped = "<wrap xmlns=%s xmlns:stream=%s>%s</wrap>" % (
        quoteattr(stream_ns), quoteattr(STREAMS), xml)
    try:
        root = etree.fromstring(wrapped.encode("utf-8"), _parser)
    except etree.XMLSyntaxError as e:
        raise ValueError("not well-formed XML (%s): %s" % (e, xml)) from None
    out = []
    for child in root:
        if not isinstance(child.tag, str):
            continue            # comments, processing instructions
        out.append(detach(child))
    return out


def detach(el):
    """A copy of el as the root of its own document (namespaces kept)."""
    import copy
    new = copy.deepcopy(el)
    new.tail = None
    return new


def to_str(el, pretty=False):
    """Serialise an element (or return a string unchanged)."""
    if isinstance(el, str):
        return el
    return etree.tostring(el, encoding="unicode", pretty_print=pretty, with_tail=False)


def short(el, limit=600):
    """One stanza as text, cut to limit characters, for error messages."""
    s = to_str(el)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def xpath(el, expr, stream_ns=JABBER_CLIENT):
    """Evaluate XPath with the NS prefixes (s = stream_ns)."""
    return el.xpath(expr, namespaces=namespaces(stream_ns))


def first(el, expr, stream_ns=JABBER_CLIENT):
    """First XPath result (element, string, number) or None."""
    r = xpath(el, expr, stream_ns)
    if isinstance(r, list):
        return r[0] if r else None
    return r


def text(el, expr, stream_ns=JABBER_CLIENT):
    """Text of the first element matched (or the string result), or None."""
    r = first(el, expr, stream_ns)
    if r is None:
        return None
    if isinstance(r, str):
        return str(r)
    return r.text or ""


def compile_match(match, stream_ns=JABBER_CLIENT):
    """Turn a matcher into a predicate on elements.

    match: an XPath string (true when the result is a non-empty node set,
    true boolean, non-zero number or non-empty string), a callable taking
    the element, or None (matches anything).
    """
    if match is None:
        return lambda el: True
    if callable(match):
        return match
    if isinstance(match, str):
        try:
            compiled = etree.XPath(match, namespaces=namespaces(stream_ns))
        except etree.XPathSyntaxError as e:
            raise ValueError("bad XPath %r: %s" % (match, e)) from None

        def pred(el):
            r = compiled(el)
            if isinstance(r, list):
                return len(r) > 0
            return bool(r)
        pred.description = match
        return pred
    raise TypeError("match must be an XPath string, a callable or None, not %r" % (match,))


def describe(match):
    """Human text for a matcher, for error messages."""
    if match is None:
        return "any stanza"
    if isinstance(match, str):
        return "XPath %s" % match
    return getattr(match, "description", None) or getattr(match, "__name__", repr(match))


def local_name(el):
    return etree.QName(el).localname


# ----------------------------------------------------------- errors ---

def error_condition(el):
    """For an error stanza: (type, condition, text); None if not an error.

    condition is the local name of the defined condition element, e.g.
    "item-not-found"; text is the <text/> content or None.
    """
    if el.get("type") != "error":
        return None
    err = None
    for child in el:
        if isinstance(child.tag, str) and local_name(child) == "error":
            err = child
    if err is None:
        return (None, None, None)
    cond = None
    txt = None
    for child in err:
        if not isinstance(child.tag, str):
            continue
        q = etree.QName(child)
        if q.namespace == NS["err"]:
            if q.localname == "text":
                txt = child.text or ""
            elif cond is None:
                cond = q.localname
    return (err.get("type"), cond, txt)


# ------------------------------------------------------------ forms ---

def form(el, form_type=None):
    """The first data form (jabber:x:data) inside el, or None; with
    form_type, the first whose FORM_TYPE field has that value."""
    for x in el.iter("{jabber:x:data}x"):
        if form_type is None or form_values(x).get("FORM_TYPE") == form_type:
            return x
    return None


def form_values(x):
    """{var: value} of a data form; list-multi/jid-multi/text-multi fields
    (or any field with several <value/>) give lists."""
    if x is None:
        return {}
    if x.tag != "{jabber:x:data}x":
        x = form(x)
        if x is None:
            return {}
    out = {}
    for f in x.findall("{jabber:x:data}field"):
        var = f.get("var")
        if var is None:
            continue
        values = [v.text or "" for v in f.findall("{jabber:x:data}value")]
        if f.get("type", "").endswith("-multi") or len(values) > 1:
            out[var] = values
        else:
            out[var] = values[0] if values else None
    return out


def submit_form(values, form_type=None):
    """XML text of a submitted data form: values {var: str | list}."""
    parts = ["<x xmlns='jabber:x:data' type='submit'>"]
    if form_type:
        parts.append("<field var='FORM_TYPE' type='hidden'><value>%s</value></field>"
                     % escape(form_type))
    for var, val in values.items():
        vals = val if isinstance(val, (list, tuple)) else [val]
        parts.append("<field var=%s>%s</field>" % (
            quoteattr(var), "".join("<value>%s</value>" % escape(str(v)) for v in vals)))
    parts.append("</x>")
    return "".join(parts)


# -------------------------------------------------------------- MUC ---

def muc_status_codes(el):
    """The set of MUC status codes (ints) in a presence or message."""
    return {int(s.get("code")) for s in el.iter("{http://jabber.org/protocol/muc#user}status")
            if (s.get("code") or "").isdigit()}


def attr(value):
    """An XML attribute value, quoted: f"<message to={attr(jid)}/>"."""
    return quoteattr(str(value))


def esc(value):
    """Text escaped for element content."""
    return escape(str(value))
