"""A scripted fake XMPP server: the server side of XEP-0114 for one component.

mucdesk connects to it exactly as it would to Prosody's component port; the
test then plays the server and every client behind it, stanza by stanza:

    srv = FakeServer("s3cret", domain="support.localhost")
    ...start mucdesk with port = srv.port...
    assert srv.wait_for_handshake().ok
    srv.send("<iq type='get' id='1' from='u@localhost/r' to='support.localhost'>"
             "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
    reply = srv.expect("/s:iq[@id='1']")          # s = jabber:component:accept
    srv.drop_connection()                          # the link breaks...
    assert srv.wait_for_handshake(timeout=10).ok   # ...and mucdesk comes back
    srv.close()

Protocol (XEP-0114): the component opens <stream:stream
xmlns='jabber:component:accept' to='DOMAIN'>; we answer with a stream
header carrying a fresh `id`; the component sends
<handshake>hex(SHA-1(id + secret))</handshake>, lowercase hex, which we
answer with an empty <handshake/>, or with a not-authorized stream error
and a close.  Like Prosody, a second component that authenticates while
one is connected gets a `conflict` stream error.

Design: one background thread owns every socket and parses each incoming
stream incrementally (lxml XMLPullParser); the test's thread never touches
a socket, it hands commands to that thread and waits for them to be done,
so send/drop/close happen in the order the test wrote them.  Received
stanzas are queued (lxml elements, each its own document); expect() takes
the first matching one, leaving the others queued.  close() stops the
thread and closes every socket; nothing is left behind.
"""

import collections
import hashlib
import selectors
import socket
import threading
import time
import traceback
import uuid
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from mdtest import stanzas
from mdtest.stanzas import COMPONENT_ACCEPT, STREAMS

STREAM_ERRORS_NS = "urn:ietf:params:xml:ns:xmpp-streams"
DEFAULT_TIMEOUT = 10.0


class HandshakeAttempt:
    """One <handshake/> received.

    result: "ok", "bad" (wrong digest, or refused by refuse_handshakes),
    or "conflict" (right digest while another component is connected).
    at: time.monotonic() when it arrived; connection: the Connection.
    """

    def __init__(self, connection, value, result):
        self.connection = connection
        self.value = value
        self.result = result
        self.at = time.monotonic()

    @property
    def ok(self):
        return self.result == "ok"

    def __repr__(self):
        return "<HandshakeAttempt #%d %s>" % (self.connection.index, self.result)


class Connection:
    """One TCP connection from a component.

    index (0, 1, ...), accepted_at (monotonic), header (attributes of the
    component's stream header), stream_id, authenticated, closed_at,
    closed_by ("peer": the component closed or dropped it; "server": we
    did), stream_closed_by_peer (it sent </stream:stream>), stanza_count.
    """

    def __init__(self, index, sock, peer):
        self.index = index
        self.peer = peer
        self.accepted_at = time.monotonic()
        self.header = None
        self.stream_id = None
        self.authenticated = False
        self.closed_at = None
        self.closed_by = None
        self.stream_closed_by_peer = False
        self.stanza_count = 0
        # Owned by the I/O thread:
        self._sock = sock
        self._parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False,
                                           no_network=True)
        self._depth = 0
        self._root = None
        self._out = bytearray()
        self._close_after_flush = False
        self._close_by = "server"
        self._footer_sent = False

    @property
    def open(self):
        return self.closed_at is None

    def __repr__(self):
        state = "open" if self.open else "closed by %s" % self.closed_by
        return "<Connection #%d %s%s>" % (self.index, state,
                                          " authenticated" if self.authenticated else "")


class FakeServer:
    """See the module docstring.

    secret: the component secret.  domain: if set, a stream header whose
    `to` differs gets a host-unknown stream error.  port: default a free one.
    refuse_handshakes: answer every handshake with not-authorized, even a
    correct one (to test reconnect backoff).  log_path: a file that gets a
    transcript of all traffic.
    """

    def __init__(self, secret, domain=None, host="127.0.0.1", port=None,
                 refuse_handshakes=False, log_path=None):
        self.secret = secret
        self.domain = domain
        self.host = host
        self.refuse_handshakes = refuse_handshakes
        self.log_path = log_path
        self._log = open(log_path, "a", buffering=1) if log_path else None

        self.connections = []
        self.handshake_attempts = []
        self.received = []           # every stanza from an authenticated component
        self.pending = []            # ... not yet taken by expect()
        self.errors = []             # problems seen by the I/O thread (text)

        self._cond = threading.Condition()
        self._commands = collections.deque()
        self._conn_cursor = 0
        self._hs_cursor = 0
        self._closing = False
        self._closed = False

        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._listener = None
        self.port = port or 0
        self._listen()               # in this thread: the port is known at once

        self._thread = threading.Thread(target=self._run, name="fakeserver:%d" % self.port,
                                        daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<FakeServer 127.0.0.1:%d, %d connections>" % (self.port, len(self.connections))

    # ============================================== the test's side (API) ===

    @property
    def connections_count(self):
        with self._cond:
            return len(self.connections)

    @property
    def connection(self):
        """The current connection: the newest open one (None if none)."""
        with self._cond:
            for c in reversed(self.connections):
                if c.open:
                    return c
            return None

    def wait_for_connection(self, timeout=DEFAULT_TIMEOUT):
        """The next connection not yet returned by this method (waits for it)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.connections) > self._conn_cursor
                                     or self._closed, timeout)
            if not ok or len(self.connections) <= self._conn_cursor:
                raise AssertionError("no new component connection within %.1f s (%d so far)"
                                     % (timeout, len(self.connections)))
            c = self.connections[self._conn_cursor]
            self._conn_cursor += 1
            return c

    def wait_for_handshake(self, timeout=DEFAULT_TIMEOUT):
        """The next handshake attempt not yet returned by this method; its
        .ok / .result say how it went."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.handshake_attempts) > self._hs_cursor
                                     or self._closed, timeout)
            if not ok or len(self.handshake_attempts) <= self._hs_cursor:
                raise AssertionError("no new handshake within %.1f s (%d so far; connections: %r)"
                                     % (timeout, len(self.handshake_attempts), self.connections))
            a = self.handshake_attempts[self._hs_cursor]
            self._hs_cursor += 1
            return a

    def wait_for_disconnect(self, timeout=DEFAULT_TIMEOUT, connection=None):
        """Wait until connection (default: the current one) is closed;
        returns it (see closed_by, stream_closed_by_peer)."""
        conn = connection or self.connection
        if conn is None:
            raise AssertionError("no open connection to wait for")
        with self._cond:
            if not self._cond.wait_for(lambda: not conn.open, timeout):
                raise AssertionError("connection #%d still open after %.1f s"
                                     % (conn.index, timeout))
        return conn

    def send(self, xml):
        """Send stanza(s), text exactly as written, to the authenticated
        component.  Elements without xmlns are in jabber:component:accept,
        the stream's default namespace.  Checked for well-formedness."""
        if not isinstance(xml, str):
            xml = stanzas.to_str(xml)
        stanzas.parse_many(xml, COMPONENT_ACCEPT)
        self._call(self._cmd_send, xml.encode("utf-8"), True)

    def send_raw(self, data):
        """Send bytes as they are (malformed input, partial stanzas...) on the
        newest open connection, authenticated or not."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._call(self._cmd_send, data, False)

    def expect(self, match=None, timeout=DEFAULT_TIMEOUT):
        """Wait for a stanza matching match (XPath, prefix s or ca for
        jabber:component:accept; or a callable) and take it from pending."""
        pred = stanzas.compile_match(match, COMPONENT_ACCEPT)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, el in enumerate(self.pending):
                    if pred(el):
                        del self.pending[i]
                        return el
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no stanza matching %s within %.1f s; pending:%s%s"
                                         % (stanzas.describe(match), timeout,
                                            _dump(self.pending), self._state_text()))
                self._cond.wait(left)

    def expect_none(self, match=None, duration=0.5):
        """Wait `duration` seconds; fail if a matching stanza is pending or
        arrives meanwhile (it is left pending)."""
        pred = stanzas.compile_match(match, COMPONENT_ACCEPT)
        deadline = time.monotonic() + duration
        with self._cond:
            while True:
                for el in self.pending:
                    if pred(el):
                        raise AssertionError("unexpected stanza matching %s: %s"
                                             % (stanzas.describe(match), stanzas.short(el)))
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)

    def take_all(self, match=None):
        """Remove and return all pending stanzas matching match (no wait)."""
        pred = stanzas.compile_match(match, COMPONENT_ACCEPT)
        with self._cond:
            taken = [el for el in self.pending if pred(el)]
            self.pending = [el for el in self.pending if not pred(el)]
            return taken

    def drop_connection(self, reset=False):
        """Close the current connection abruptly (no stream footer).
        reset=True sends a TCP RST instead of a FIN."""
        self._call(self._cmd_drop, reset)

    def close_stream(self, wait=2.0):
        """Close the stream politely: send </stream:stream>, wait up to
        `wait` s for the component's footer or EOF, then close."""
        conn = self._call(self._cmd_close_stream)
        if conn is not None:
            with self._cond:
                self._cond.wait_for(lambda: not conn.open, wait)
            if conn.open:
                self._call(self._cmd_drop_conn, conn, False)

    def send_stream_error(self, condition, text=None):
        """Send a stream error (e.g. "system-shutdown", "conflict"), the
        stream footer, and close the current connection."""
        self._call(self._cmd_stream_error, condition, text)

    def stop_listening(self):
        """Close the listening socket: new connections are refused."""
        self._call(self._cmd_stop_listening)

    def start_listening(self):
        """Listen again on the same port."""
        self._call(self._listen)

    def close(self):
        """Stop the I/O thread and close every socket (idempotent)."""
        if self._closed:
            return
        with self._cond:
            self._closing = True
        self._wake()
        self._thread.join(10)
        if self._thread.is_alive():
            raise RuntimeError("fake server thread did not stop")
        if self._log:
            self._log.close()

    def transcript(self):
        """The traffic log (if log_path was given)."""
        if not self.log_path:
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    # =================================================== I/O thread side ===

    def _call(self, fn, *args, timeout=10.0):
        """Run fn(*args) on the I/O thread; return its result or raise its
        exception in the calling thread."""
        if self._closed or self._closing:
            raise RuntimeError("fake server is closed")
        done = threading.Event()
        box = {}
        self._commands.append((fn, args, done, box))
        self._wake()
        if not done.wait(timeout):
            raise RuntimeError("fake server I/O thread did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _run(self):
        try:
            while True:
                with self._cond:
                    if self._closing:
                        break
                for key, mask in self._sel.select(timeout=1.0):
                    kind, obj = key.data
                    if kind == "wake":
                        try:
                            self._wake_r.recv(4096)
                        except BlockingIOError:
                            pass
                    elif kind == "listen":
                        self._accept()
                    elif kind == "conn":
                        if mask & selectors.EVENT_WRITE:
                            self._flush(obj)
                        if mask & selectors.EVENT_READ and obj.open:
                            self._read(obj)
                while self._commands:
                    fn, args, done, box = self._commands.popleft()
                    try:
                        box["result"] = fn(*args)
                    except Exception as e:          # handed back to the caller
                        box["error"] = e
                    done.set()
        except Exception:
            self.errors.append(traceback.format_exc())
        finally:
            self._shutdown()

    def _shutdown(self):
        for c in self.connections:
            if c.open:
                self._close_conn(c, "server")
        if self._listener is not None:
            self._sel.unregister(self._listener)
            self._listener.close()
            self._listener = None
        # Fail commands that arrived too late.
        while self._commands:
            fn, args, done, box = self._commands.popleft()
            box["error"] = RuntimeError("fake server is closed")
            done.set()
        self._sel.unregister(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()
        self._sel.close()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ------------------------------------------------------- listening ---

    def _listen(self):
        if self._listener is not None:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if not self.port:
            from mdtest.ports import free_port
            self.port = free_port(self.host)
        s.bind((self.host, self.port))
        s.listen(16)
        s.setblocking(False)
        self._listener = s
        self._sel.register(s, selectors.EVENT_READ, ("listen", None))

    def _cmd_stop_listening(self):
        if self._listener is not None:
            self._sel.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _accept(self):
        try:
            sock, peer = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._cond:
            conn = Connection(len(self.connections), sock, peer)
            self.connections.append(conn)
            self._cond.notify_all()
        self._sel.register(sock, selectors.EVENT_READ, ("conn", conn))
        self._trace(conn, "*", "connection accepted from %s:%d" % peer)

    # --------------------------------------------------------- reading ---

    def _read(self, conn):
        try:
            data = conn._sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            self._trace(conn, "*", "recv error: %s" % e)
            self._close_conn(conn, "peer")
            return
        if not data:
            self._trace(conn, "*", "EOF from component")
            self._close_conn(conn, "peer")
            return
        self._trace(conn, "C", data.decode("utf-8", "replace"))
        try:
            conn._parser.feed(data)
            for event, el in conn._parser.read_events():
                if event == "start":
                    if conn._depth == 0:
                        self._on_stream_header(conn, el)
                    conn._depth += 1
                else:
                    conn._depth -= 1
                    if conn._depth == 0:
                        self._on_stream_end(conn)
                    elif conn._depth == 1:
                        self._on_top_level(conn, el)
                if not conn.open or conn._close_after_flush:
                    return
        except etree.XMLSyntaxError as e:
            self.errors.append("connection #%d: not well-formed: %s" % (conn.index, e))
            self._stream_error(conn, "not-well-formed")

    def _on_stream_header(self, conn, el):
        conn.header = dict(el.attrib)
        conn.stream_id = uuid.uuid4().hex[:16]
        ns = el.nsmap.get(None)
        frm = self.domain or conn.header.get("to") or "localhost"
        header = ("<?xml version='1.0'?><stream:stream xmlns:stream=%s xmlns=%s from=%s id=%s>"
                  % (quoteattr(STREAMS), quoteattr(COMPONENT_ACCEPT), quoteattr(frm),
                     quoteattr(conn.stream_id)))
        self._write(conn, header.encode())
        if el.tag != "{%s}stream" % STREAMS:
            self._stream_error(conn, "invalid-namespace", "not a stream header")
        elif ns != COMPONENT_ACCEPT:
            self._stream_error(conn, "invalid-namespace",
                               "expected xmlns='jabber:component:accept', got %r" % ns)
        elif self.domain and conn.header.get("to") != self.domain:
            self._stream_error(conn, "host-unknown",
                               "this server serves %s" % self.domain)

    def _on_stream_end(self, conn):
        conn.stream_closed_by_peer = True
        self._trace(conn, "*", "component closed its stream")
        if not conn._footer_sent:
            conn._footer_sent = True
            self._write(conn, b"</stream:stream>")
        self._close_when_flushed(conn, "peer")

    def _on_top_level(self, conn, el):
        stanza = stanzas.detach(el)
        # Keep the stream's root element empty: memory stays flat.
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)
        if stanza.tag == "{%s}handshake" % COMPONENT_ACCEPT:
            self._on_handshake(conn, stanza)
            return
        if not conn.authenticated:
            self.errors.append("connection #%d: stanza before handshake: %s"
                               % (conn.index, stanzas.short(stanza)))
            self._stream_error(conn, "not-authorized", "handshake first")
            return
        with self._cond:
            conn.stanza_count += 1
            self.received.append(stanza)
            self.pending.append(stanza)
            self._cond.notify_all()

    def _on_handshake(self, conn, stanza):
        value = (stanza.text or "").strip()
        expected = hashlib.sha1((conn.stream_id + self.secret).encode("utf-8")).hexdigest()
        if conn.authenticated:
            result = "bad"          # a second handshake on one stream
        elif value != expected or self.refuse_handshakes:
            result = "bad"
        elif any(c.open and c.authenticated and c is not conn for c in self.connections):
            result = "conflict"
        else:
            result = "ok"
        with self._cond:
            self.handshake_attempts.append(HandshakeAttempt(conn, value, result))
            if result == "ok":
                conn.authenticated = True
            self._cond.notify_all()
        if result == "ok":
            self._write(conn, b"<handshake/>")
        elif result == "conflict":
            self._stream_error(conn, "conflict", "Component already connected")
        else:
            self._stream_error(conn, "not-authorized",
                               "Given token does not match calculated token")

    # --------------------------------------------------------- writing ---

    def _write(self, conn, data):
        if not conn.open:
            return
        self._trace(conn, "S", data.decode("utf-8", "replace"))
        conn._out += data
        self._flush(conn)

    def _flush(self, conn):
        while conn._out and conn.open:
            try:
                n = conn._sock.send(conn._out)
            except BlockingIOError:
                break
            except OSError as e:
                self._trace(conn, "*", "send error: %s" % e)
                self._close_conn(conn, "peer")
                return
            del conn._out[:n]
        if not conn.open:
            return
        if conn._out:
            self._sel.modify(conn._sock, selectors.EVENT_READ | selectors.EVENT_WRITE,
                             ("conn", conn))
        else:
            self._sel.modify(conn._sock, selectors.EVENT_READ, ("conn", conn))
            if conn._close_after_flush:
                self._close_conn(conn, conn._close_by)

    def _close_when_flushed(self, conn, by="server"):
        conn._close_after_flush = True
        conn._close_by = by
        self._flush(conn)

    def _stream_error(self, conn, condition, text=None):
        body = "<%s xmlns=%s/>" % (condition, quoteattr(STREAM_ERRORS_NS))
        if text:
            body += "<text xmlns=%s>%s</text>" % (quoteattr(STREAM_ERRORS_NS), escape(text))
        self._write(conn, ("<stream:error>%s</stream:error></stream:stream>" % body).encode())
        conn._footer_sent = True
        self._close_when_flushed(conn)

    def _close_conn(self, conn, by, reset=False):
        if not conn.open:
            return
        try:
            self._sel.unregister(conn._sock)
        except (KeyError, ValueError):
            pass
        if reset:
            # SO_LINGER with a zero timeout makes close() send a RST.
            conn._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn._sock.close()
        self._trace(conn, "*", "connection closed by %s%s" % (by, " (reset)" if reset else ""))
        with self._cond:
            conn.closed_at = time.monotonic()
            conn.closed_by = by
            self._cond.notify_all()

    # -------------------------------------------------------- commands ---

    def _current(self, authenticated):
        for c in reversed(self.connections):
            if c.open and not c._close_after_flush and (c.authenticated or not authenticated):
                return c
        return None

    def _cmd_send(self, data, authenticated):
        conn = self._current(authenticated)
        if conn is None:
            raise AssertionError("no %scomponent connection to send to (%r)"
                                 % ("authenticated " if authenticated else "", self.connections))
        self._write(conn, data)

    def _cmd_drop(self, reset):
        conn = self._current(False)
        if conn is None:
            raise AssertionError("no open connection to drop")
        self._close_conn(conn, "server", reset)

    def _cmd_drop_conn(self, conn, reset):
        self._close_conn(conn, "server", reset)

    def _cmd_close_stream(self):
        conn = self._current(False)
        if conn is None:
            return None
        if not conn._footer_sent:
            conn._footer_sent = True
            self._write(conn, b"</stream:stream>")
        return conn

    def _cmd_stream_error(self, condition, text):
        conn = self._current(False)
        if conn is None:
            raise AssertionError("no open connection for a stream error")
        self._stream_error(conn, condition, text)

    # ------------------------------------------------------------ misc ---

    def _trace(self, conn, direction, text):
        if self._log:
            self._log.write("%.3f #%d %s: %s\n" % (time.monotonic(), conn.index, direction, text))

    def _state_text(self):
        return "\nconnections: %r\nhandshakes: %r%s" % (
            self.connections, self.handshake_attempts,
            ("\nserver errors:\n  " + "\n  ".join(self.errors)) if self.errors else "")


def handshake_digest(stream_id, secret):
    """What a component must send: lowercase hex SHA-1 of id + secret."""
    return hashlib.sha1((stream_id + secret).encode("utf-8")).hexdigest()


def _dump(els, limit=12):
    if not els:
        return " (nothing)"
    shown = els[-limit:]
    more = "" if len(els) <= limit else "\n  ... and %d earlier" % (len(els) - limit)
    return more + "".join("\n  " + stanzas.short(e) for e in shown)
