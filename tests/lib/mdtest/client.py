"""Real XMPP clients (slixmpp) driven synchronously from pytest.

One XmppSession per test owns one asyncio event loop, in the test's own
thread.  Every client of the test lives on that loop.  The loop runs only
while a call of this module waits (connect, send_iq, expect, pump...), and
then it serves *all* clients: whatever arrives for the customer while the
test waits on the agent is queued on the customer's client, in arrival
order, for a later expect().  Nothing runs behind the test's back, so a test
reads top to bottom like the conversation it checks:

    from mdtest.stanzas import NS
    with XmppSession(prosody.c2s_port) as xs:
        agent = xs.login("agent1@localhost", "pw")
        customer = xs.anonymous("anon.localhost")
        reply = customer.send_iq(f"<iq type='get' to='support.localhost' id='d1'>"
                                 f"<query xmlns='{NS['info']}'/></iq>")
        assert reply.get("type") == "result"
        agent.send("<presence to='billing@support.localhost/agent1'/>")
        pres = agent.expect("/s:presence[@from='billing@support.localhost/agent1']")
        agent.expect_none("/s:message[@type='groupchat']", 0.5)

Stanzas are lxml elements in namespace jabber:client (prefixes `s` or `c`
in XPath; see mdtest.stanzas).  Tests send exact XML text with send() and
send_iq(); nothing is rewritten except that send_iq() adds an id if the iq
has none.  Timeouts raise AssertionError naming what was awaited and what
did arrive.

Connections use plain SASL without TLS (Prosody from the demo template
allows it): feature_mechanisms.unencrypted_plain and disable_starttls.
"""

import asyncio
import itertools
import logging
import time

import slixmpp
from slixmpp.xmlstream.tostring import tostring as _slix_tostring
from lxml import etree

from . import stanzas
from .stanzas import JABBER_CLIENT

DEFAULT_TIMEOUT = 10.0

_ids = itertools.count(1)


class ConnectError(AssertionError):
    """A client could not connect or log in."""


class XmppSession:
    """One event loop and the clients on it (see the module docstring).

    port: the XMPP server's c2s port on host.
    timeout: default seconds for connect/expect/send_iq.
    accounts: {bare JID: password}, so that login() can omit the password.

    Use one session at a time in a thread (it installs its loop as the
    thread's current event loop, which slixmpp relies on).
    """

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, accounts=None):
        self.accounts = dict(accounts or {})
        self.host = host
        self.port = int(port)
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)   # slixmpp creates futures without a loop
        self.clients = []
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------- clients ---

    def login(self, jid, password=None, resource=None, presence=True, timeout=None, name=None,
              port=None):
        """Log in with an account; returns a connected Client.

        jid may be bare ("agent1@localhost") or full, or a bare user name
        ("agent1": @localhost is added); password defaults to the one in
        `accounts`; resource sets or replaces the resource.  presence: send
        initial presence (needed to receive stanzas addressed to the bare
        JID, e.g. MUC invitations).  port: another c2s port than the
        session's (a second node of a cluster), on the same loop.
        """
        if "@" not in jid:
            jid += "@localhost"
        if password is None:
            bare = jid.split("/", 1)[0]
            if bare not in self.accounts:
                raise KeyError("no password known for %s" % bare)
            password = self.accounts[bare]
        if resource:
            jid = jid.split("/", 1)[0] + "/" + resource
        return self._connect(jid, password, presence, timeout, name or jid.split("/")[0],
                             port)

    def anonymous(self, domain="anon.localhost", presence=True, timeout=None, name=None,
                  port=None):
        """Log in anonymously (SASL ANONYMOUS) on domain; returns a Client."""
        return self._connect(domain, "", presence, timeout, name or "anonymous", port)

    def _connect(self, jid, password, presence, timeout, name, port=None):
        self._check_open()
        client = Client(self, jid, password, name)
        client.port = int(port or self.port)
        self.clients.append(client)
        client._connect(timeout or self.timeout)
        if presence:
            client.send("<presence/>")
            client.sync()
        return client

    # ------------------------------------------------------------- loop ---

    def run(self, awaitable, timeout=None):
        """Run the loop until awaitable completes; asyncio.TimeoutError after
        timeout seconds (default: the session's)."""
        self._check_open()
        return self.loop.run_until_complete(
            asyncio.wait_for(awaitable, timeout if timeout is not None else self.timeout))

    def pump(self, seconds=0.0):
        """Let every client process its traffic for `seconds` (at least one
        loop turn)."""
        self._check_open()
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def _check_open(self):
        if self._closed:
            raise RuntimeError("XmppSession is closed")

    def close(self, timeout=3.0):
        """Disconnect every client and close the loop (idempotent)."""
        if self._closed:
            return
        for c in self.clients:
            try:
                c.disconnect(timeout=timeout)
            except Exception:      # the loop must be closed whatever happened
                c.abort()
        # Cancel slixmpp's remaining background tasks, let them unwind, close.
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        try:
            current = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            current = None
        if current is self.loop:
            asyncio.set_event_loop(None)
        self._closed = True


class Client:
    """One logged-in XMPP client; create through XmppSession.

    Attributes: jid (full bound JID), bare, name (for messages), xmpp (the
    slixmpp ClientXMPP, for anything this wrapper does not cover),
    received (every stanza received, in order), pending (not yet taken by
    expect()).
    """

    def __init__(self, session, jid, password, name):
        self.session = session
        self.name = name
        self.xmpp = slixmpp.ClientXMPP(jid, password)
        self.xmpp.loop = session.loop
        self.xmpp["feature_mechanisms"].unencrypted_plain = True
        self.xmpp.whitespace_keepalive = False
        self.port = session.port
        self.received = []
        self.pending = []
        self.disconnect_reason = None
        self.connected = False
        self._arrived = asyncio.Event()
        self._login = None
        # Every top-level element from the server passes through this hook
        # before slixmpp builds its stanza objects: copy it as lxml.
        self.xmpp.incoming_filter = self._incoming
        self.xmpp.add_event_handler("session_start", self._on_session_start)
        self.xmpp.add_event_handler("failed_all_auth", self._on_failed_auth)
        self.xmpp.add_event_handler("connection_failed", self._on_connection_failed)
        self.xmpp.add_event_handler("disconnected", self._on_disconnected)

    def __repr__(self):
        return "<Client %s %s>" % (self.name, self.jid)

    @property
    def jid(self):
        return str(self.xmpp.boundjid.full)

    @property
    def bare(self):
        return str(self.xmpp.boundjid.bare)

    @property
    def domain(self):
        return str(self.xmpp.boundjid.domain)

    # --------------------------------------------------- slixmpp hooks ---

    def _incoming(self, xml):
        text = _slix_tostring(xml, top_level=True)
        try:
            el = etree.fromstring(text.encode("utf-8"))
        except etree.XMLSyntaxError:       # should not happen; keep the text
            el = etree.Element("unparsable")
            el.text = text
        self.received.append(el)
        if self.connected:
            self.pending.append(el)
        self._arrived.set()
        return xml

    def _settle(self, exc=None):
        fut = self._login
        if fut is not None and not fut.done():
            if exc is None:
                fut.set_result(True)
            else:
                fut.set_exception(exc)

    def _on_session_start(self, _event):
        self.connected = True
        self._settle()

    def _on_failed_auth(self, _event):
        self._settle(ConnectError("%s: authentication failed" % self.name))

    def _on_connection_failed(self, err):
        self._settle(ConnectError("%s: connection to %s:%d failed: %s"
                                  % (self.name, self.session.host, self.session.port, err)))

    def _on_disconnected(self, reason):
        self.connected = False
        self.disconnect_reason = reason
        self._arrived.set()
        self._settle(ConnectError("%s: disconnected while logging in: %s" % (self.name, reason)))

    def _connect(self, timeout):
        self._login = self.session.loop.create_future()
        self.xmpp.connect((self.session.host, self.port), use_ssl=False,
                          force_starttls=False, disable_starttls=True)
        try:
            self.session.run(self._login, timeout)
        except asyncio.TimeoutError:
            self.abort()
            raise ConnectError("%s: no session within %.1f s (server %s:%d); received: %s"
                               % (self.name, timeout, self.session.host, self.port,
                                  self._dump(self.received))) from None
        except ConnectError:
            self.abort()
            raise

    # -------------------------------------------------------------- send ---

    def send(self, xml):
        """Send stanza(s) exactly as written (text or lxml element).

        Text is checked for well-formedness first, so a typo in a test
        fails here rather than as a stream error later.
        """
        if not isinstance(xml, str):
            xml = stanzas.to_str(xml)
        stanzas.parse_many(xml, JABBER_CLIENT)
        if not self.connected:
            raise AssertionError("%s: cannot send, not connected (%s)"
                                 % (self.name, self.disconnect_reason))
        self.xmpp.send_raw(xml)

    def send_iq(self, xml, timeout=None, check=False):
        """Send an iq (text or element) and return the reply element.

        An id is added if missing.  The reply is the iq of type result or
        error with that id.  check=True raises AssertionError on an error
        reply.
        """
        el = stanzas.parse(xml, JABBER_CLIENT) if isinstance(xml, str) else xml
        if stanzas.local_name(el) != "iq" or el.get("type") not in ("get", "set"):
            raise ValueError("send_iq needs an <iq type='get|set'>: %s" % stanzas.short(el))
        if el.get("id") is None:
            el.set("id", "mdt%d" % next(_ids))
            xml = stanzas.to_str(el)
        elif not isinstance(xml, str):
            xml = stanzas.to_str(el)
        iq_id = el.get("id")

        def is_reply(s):
            return (s.tag == "{%s}iq" % JABBER_CLIENT and s.get("id") == iq_id
                    and s.get("type") in ("result", "error"))
        is_reply.description = "reply to iq id=%r sent: %s" % (iq_id, stanzas.short(el, 300))
        self.send(xml)
        reply = self.expect(is_reply, timeout)
        if check and reply.get("type") == "error":
            raise AssertionError("%s: iq %r failed: %s" % (self.name, iq_id, stanzas.short(reply)))
        return reply

    def sync(self, to=None, timeout=None):
        """Round trip: XEP-0199 ping to `to` (default: own server), wait for
        the answer (result or error).  Everything this client sent before
        has then been handled by that entity; pinging the component
        (to='support.localhost') is a barrier through mucdesk itself."""
        to = to or self.domain
        return self.send_iq("<iq type='get' to=%s><ping xmlns='urn:xmpp:ping'/></iq>"
                            % stanzas.attr(to), timeout)

    # ----------------------------------------------------------- receive ---

    def _take(self, pred):
        for i, el in enumerate(self.pending):
            if pred(el):
                del self.pending[i]
                return el
        return None

    def expect(self, match=None, timeout=None):
        """Wait for a stanza matching match (XPath with prefix s/c, or a
        callable); take it out of `pending` and return it.  Stanzas that do
        not match stay pending for later expects.  AssertionError on
        timeout or disconnection."""
        pred = stanzas.compile_match(match, JABBER_CLIENT)
        timeout = self.session.timeout if timeout is None else timeout

        async def wait():
            while True:
                el = self._take(pred)
                if el is not None:
                    return el
                if not self.connected:
                    return None
                self._arrived.clear()
                await self._arrived.wait()
        try:
            el = self.session.run(wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError("%s: no stanza matching %s within %.1f s; pending: %s"
                                 % (self.name, stanzas.describe(match), timeout,
                                    self._dump(self.pending))) from None
        if el is None:
            raise AssertionError("%s: disconnected (%s) while waiting for %s; pending: %s"
                                 % (self.name, self.disconnect_reason, stanzas.describe(match),
                                    self._dump(self.pending)))
        return el

    def expect_many(self, match, count, timeout=None):
        """expect() count times; returns the list."""
        deadline = time.monotonic() + (self.session.timeout if timeout is None else timeout)
        return [self.expect(match, max(0.0, deadline - time.monotonic())) for _ in range(count)]

    def expect_none(self, match=None, duration=0.5):
        """Let traffic flow for `duration` seconds and fail if a stanza
        matching match is pending (or arrives) meanwhile."""
        pred = stanzas.compile_match(match, JABBER_CLIENT)
        self.session.pump(duration)
        for el in self.pending:
            if pred(el):
                raise AssertionError("%s: unexpected stanza matching %s: %s"
                                     % (self.name, stanzas.describe(match), stanzas.short(el)))

    def take_all(self, match=None):
        """Remove and return every pending stanza matching match (no wait)."""
        pred = stanzas.compile_match(match, JABBER_CLIENT)
        taken = [el for el in self.pending if pred(el)]
        self.pending = [el for el in self.pending if not pred(el)]
        return taken

    def clear(self):
        """Forget pending stanzas (after letting queued traffic arrive)."""
        self.session.pump(0)
        self.pending = []

    # -------------------------------------------------------------- end ---

    def disconnect(self, timeout=3.0):
        """Close the stream and wait for the server to close its side."""
        if not self.connected and self.xmpp.transport is None:
            return
        fut = self.xmpp.disconnect(wait=timeout)
        try:
            self.session.run(fut, timeout + 1.0)
        except asyncio.TimeoutError:
            self.abort()
        self.connected = False

    def abort(self):
        """Drop the TCP connection without closing the stream."""
        self.connected = False
        try:
            self.xmpp.abort()
        except Exception:
            pass

    def _dump(self, els, limit=12):
        if not els:
            return "(nothing)"
        shown = els[-limit:]
        more = "" if len(els) <= limit else "\n  ... and %d earlier" % (len(els) - limit)
        return more + "".join("\n  " + stanzas.short(e) for e in shown)


# slixmpp logs every stanza at DEBUG level; keep pytest's captured logs
# readable unless asked for.
logging.getLogger("slixmpp").setLevel(logging.WARNING)
