"""Tests of the fake XMPP server itself, with a tiny Python component.

They prove the harness right independently of mucdesk: if one of these
fails, a failing mucdesk harness test says nothing about mucdesk.
"""

import hashlib
import re
import socket
import threading
import time

import pytest
from lxml import etree

from fakeserver import FakeServer, handshake_digest
from mdtest import stanzas

SECRET = "selftest-secret"
DOMAIN = "support.localhost"


class MiniComponent:
    """The component side of XEP-0114, the least that works: blocking
    socket, lxml pull parser, no threads."""

    def __init__(self, port, domain=DOMAIN, ns="jabber:component:accept"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.parser = etree.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header = None
        self.stanzas = []
        self.closed = False          # server's </stream:stream> or EOF seen
        self.sock.sendall(("<?xml version='1.0'?><stream:stream xmlns='%s' "
                           "xmlns:stream='http://etherx.jabber.org/streams' to='%s'>"
                           % (ns, domain)).encode())

    def _pump(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.closed = True
            return True
        if not data:
            self.closed = True
            return True
        self.parser.feed(data)
        for event, el in self.parser.read_events():
            if event == "start":
                if self.depth == 0:
                    self.header = dict(el.attrib)
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 0:
                    self.closed = True
                elif self.depth == 1:
                    self.stanzas.append(stanzas.detach(el))
        return True

    def wait(self, cond, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("MiniComponent: condition not met; got %r"
                                     % [stanzas.to_str(s) for s in self.stanzas])
            self._pump(left)

    def handshake(self, secret=SECRET, case=str.lower):
        self.wait(lambda: self.header is not None or self.closed)
        digest = case(hashlib.sha1((self.header["id"] + secret).encode()).hexdigest())
        self.sock.sendall(("<handshake>%s</handshake>" % digest).encode())
        self.wait(lambda: self.stanzas or self.closed)
        return self.stanzas.pop(0)

    def next_stanza(self, timeout=5.0):
        self.wait(lambda: self.stanzas or self.closed, timeout)
        return self.stanzas.pop(0) if self.stanzas else None

    def send(self, text):
        self.sock.sendall(text.encode())

    def close(self):
        self.sock.close()


@pytest.fixture
def server(tmp_path):
    srv = FakeServer(SECRET, domain=DOMAIN, log_path=tmp_path / "fakeserver.log")
    yield srv
    srv.close()


def connect(server, **kw):
    c = MiniComponent(server.port, **kw)
    return c


def test_good_handshake(server):
    c = connect(server)
    reply = c.handshake()
    assert reply.tag == "{jabber:component:accept}handshake"
    assert reply.text is None and len(reply) == 0
    conn = server.wait_for_connection()
    assert conn.header["to"] == DOMAIN
    assert c.header["id"] == conn.stream_id and c.header["from"] == DOMAIN
    attempt = server.wait_for_handshake()
    assert attempt.ok and attempt.result == "ok" and attempt.connection is conn
    assert attempt.value == handshake_digest(conn.stream_id, SECRET)
    assert server.connections_count == 1
    c.close()


def test_bad_secret_gets_not_authorized_and_close(server):
    c = connect(server)
    reply = c.handshake(secret="wrong")
    assert reply.tag == "{http://etherx.jabber.org/streams}error"
    assert reply.find("{urn:ietf:params:xml:ns:xmpp-streams}not-authorized") is not None
    c.wait(lambda: c.closed)
    attempt = server.wait_for_handshake()
    assert not attempt.ok and attempt.result == "bad"
    conn = server.wait_for_disconnect(connection=attempt.connection)
    assert conn.closed_by == "server"
    c.close()


def test_uppercase_digest_is_refused(server):
    """XEP-0114 says lowercase hex; the fake server is strict about it."""
    c = connect(server)
    c.handshake(case=str.upper)
    assert server.wait_for_handshake().result == "bad"
    c.close()


def test_wrong_namespace_and_wrong_domain(server):
    c = connect(server, ns="jabber:client")
    c.wait(lambda: c.stanzas or c.closed)
    err = c.stanzas[0]
    assert err.find("{urn:ietf:params:xml:ns:xmpp-streams}invalid-namespace") is not None
    c.close()
    c = connect(server, domain="other.localhost")
    c.wait(lambda: c.stanzas or c.closed)
    assert c.stanzas[0].find("{urn:ietf:params:xml:ns:xmpp-streams}host-unknown") is not None
    c.close()


def test_stanzas_both_ways(server):
    c = connect(server)
    c.handshake()
    server.wait_for_handshake()
    server.send("<iq type='get' id='q1' from='u@localhost/r' to='support.localhost'>"
                "<ping xmlns='urn:xmpp:ping'/></iq>")
    got = c.next_stanza()
    assert got.tag == "{jabber:component:accept}iq" and got.get("id") == "q1"
    assert got.find("{urn:xmpp:ping}ping") is not None
    c.send("<iq type='result' id='q1' from='support.localhost' to='u@localhost/r'/>"
           "<message from='room@support.localhost/n' to='u@localhost/r' type='groupchat'>"
           "<body>hi &amp; bye</body></message>")
    msg = server.expect("/s:message[@type='groupchat']")      # out of order is fine
    assert stanzas.text(msg, "s:body", "jabber:component:accept") == "hi & bye"
    iq = server.expect("/ca:iq[@type='result' and @id='q1']")
    assert iq.get("to") == "u@localhost/r"
    assert server.pending == []
    assert len(server.received) == 2 and server.connection.stanza_count == 2
    c.close()


def test_fragmented_input_is_parsed(server):
    """A stanza split over many TCP segments arrives whole."""
    c = connect(server)
    c.handshake()
    text = ("<message to='a@localhost' from='r@support.localhost'><body>%s</body>"
            "<x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></message>"
            % ("é" * 50))
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = text.encode()
    for i in range(0, len(data), 7):
        c.sock.sendall(data[i:i + 7])
        time.sleep(0.001)
    m = server.expect("/s:message")
    assert stanzas.text(m, "s:body", "jabber:component:accept") == "é" * 50
    assert stanzas.muc_status_codes(m) == {110}
    c.close()


def test_expect_timeout_message_lists_pending(server):
    c = connect(server)
    c.handshake()
    c.send("<presence from='room@support.localhost/x' to='u@localhost/r'/>")
    with pytest.raises(AssertionError) as e:
        server.expect("/s:message", timeout=0.3)
    assert "no stanza matching XPath /s:message" in str(e.value)
    assert "<presence" in str(e.value)
    # The presence is still there for a later expect.
    server.expect("/s:presence")
    c.close()


def test_expect_none(server):
    c = connect(server)
    c.handshake()
    server.expect_none("/s:message", 0.2)
    c.send("<message to='u@localhost' from='support.localhost'><body>x</body></message>")
    with pytest.raises(AssertionError, match="unexpected stanza"):
        server.expect_none("/s:message", 1.0)
    c.close()


def test_drop_and_reconnect_with_timestamps(server):
    c = connect(server)
    c.handshake()
    first = server.wait_for_handshake()
    server.drop_connection()
    c.wait(lambda: c.closed)
    assert server.wait_for_disconnect(connection=first.connection).closed_by == "server"
    c.close()
    time.sleep(0.1)
    c2 = connect(server)
    c2.handshake()
    second = server.wait_for_handshake()
    assert second.ok and second.connection.index == 1
    assert second.at - first.at >= 0.1
    assert server.connections_count == 2
    assert [a.result for a in server.handshake_attempts] == ["ok", "ok"]
    # Stanzas now go to the new connection.
    server.send("<message to='support.localhost' from='u@localhost/r'><body>again</body></message>")
    assert c2.next_stanza().tag == "{jabber:component:accept}message"
    c2.close()


def test_drop_with_reset(server):
    c = connect(server)
    c.handshake()
    server.drop_connection(reset=True)
    c.wait(lambda: c.closed)
    c.close()


def test_second_component_gets_conflict(server):
    c1 = connect(server)
    c1.handshake()
    c2 = connect(server)
    reply = c2.handshake()
    assert reply.find("{urn:ietf:params:xml:ns:xmpp-streams}conflict") is not None
    assert [a.result for a in server.handshake_attempts] == ["ok", "conflict"]
    # The first one is still served.
    server.send("<message to='support.localhost' from='u@localhost/r'/>")
    assert c1.next_stanza() is not None
    c1.close()
    c2.close()


def test_refuse_handshakes_for_backoff_tests(server):
    server.refuse_handshakes = True
    times = []
    for _ in range(3):
        c = connect(server)
        c.handshake()
        c.wait(lambda: c.closed)
        c.close()
        times.append(server.wait_for_handshake())
    assert [a.result for a in times] == ["bad"] * 3
    assert times[0].at <= times[1].at <= times[2].at


def test_stanza_before_handshake_is_refused(server):
    c = connect(server)
    c.wait(lambda: c.header is not None)
    c.send("<message to='u@localhost'/>")
    c.wait(lambda: c.closed)
    assert c.stanzas[0].find("{urn:ietf:params:xml:ns:xmpp-streams}not-authorized") is not None
    assert server.received == []
    c.close()


def test_component_closes_stream(server):
    c = connect(server)
    c.handshake()
    conn = server.wait_for_connection()
    c.send("</stream:stream>")
    c.wait(lambda: c.closed)          # the server answers with its own footer
    server.wait_for_disconnect(connection=conn)
    assert conn.stream_closed_by_peer and conn.closed_by == "peer"
    c.close()


def test_component_eof(server):
    c = connect(server)
    c.handshake()
    conn = server.wait_for_connection()
    c.close()
    server.wait_for_disconnect(connection=conn)
    assert conn.closed_by == "peer" and not conn.stream_closed_by_peer


def test_close_stream_and_stream_error(server):
    c = connect(server)
    c.handshake()
    server.close_stream(wait=0.3)
    c.wait(lambda: c.closed)
    c.close()
    c = connect(server)
    c.handshake()
    server.send_stream_error("system-shutdown", "bye")
    c.wait(lambda: c.closed)
    err = c.stanzas[0]
    assert err.find("{urn:ietf:params:xml:ns:xmpp-streams}system-shutdown") is not None
    c.close()


def test_malformed_input_gets_not_well_formed(server):
    c = connect(server)
    c.handshake()
    c.send("<message><body>oops</message>")
    c.wait(lambda: c.closed)
    assert any(s.find("{urn:ietf:params:xml:ns:xmpp-streams}not-well-formed") is not None
               for s in c.stanzas)
    assert any("not well-formed" in e for e in server.errors)
    c.close()


def test_send_checks_well_formedness_and_needs_a_connection(server):
    with pytest.raises(AssertionError, match="no authenticated component"):
        server.send("<message/>")
    with pytest.raises(ValueError, match="not well-formed"):
        server.send("<message>")


def test_stop_and_start_listening(server):
    server.stop_listening()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
    server.start_listening()
    c = connect(server)
    assert c.handshake().tag == "{jabber:component:accept}handshake"
    c.close()


def test_wait_for_handshake_times_out_clearly(server):
    with pytest.raises(AssertionError, match="no new handshake within"):
        server.wait_for_handshake(timeout=0.2)


def test_close_leaves_no_thread_and_no_socket(tmp_path):
    before = set(threading.enumerate())
    srv = FakeServer(SECRET, log_path=tmp_path / "t.log")
    port = srv.port
    c = connect(srv)
    c.handshake()
    srv.close()
    srv.close()                               # idempotent
    assert set(threading.enumerate()) == before
    c.wait(lambda: c.closed)
    c.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    with pytest.raises(RuntimeError, match="closed"):
        srv.send_raw(b" ")


def test_transcript_records_both_directions(server):
    c = connect(server)
    c.handshake()
    c.close()
    server.wait_for_disconnect(connection=server.wait_for_connection())
    t = server.transcript()
    assert re.search(r"#0 C: .*<stream:stream", t)
    assert re.search(r"#0 S: <handshake/>", t)
