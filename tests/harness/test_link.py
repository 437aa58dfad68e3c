"""The XEP-0114 link: handshake, reconnect with backoff, the libstrophe
component-mode workaround, and a clean close.  Against the fake server."""

import signal
import time

from mdtest.mucdesk import LINK_UP
from mdtest.stanzas import error_condition

DOMAIN = "support.localhost"


def ping(srv, ident):
    srv.send("<iq type='get' id='%s' from='u@localhost/r' to='%s'>"
             "<ping xmlns='urn:xmpp:ping'/></iq>" % (ident, DOMAIN))
    reply = srv.expect("/s:iq[@id='%s']" % ident)
    assert reply.get("type") == "result"


def test_handshake_ok_and_stream_header(fake_server, mucdesk_factory):
    mucdesk_factory()
    conn = fake_server.connection
    assert conn.authenticated
    # The component opens its stream to its own domain.
    assert conn.header.get("to") == DOMAIN
    ping(fake_server, "p1")


def test_wrong_secret_is_logged_clearly_and_retried_with_backoff(fake_server, mucdesk_factory):
    md = mucdesk_factory({"component": {"secret": "not-the-secret"}}, wait=False)
    attempts = [fake_server.wait_for_handshake(timeout=10) for _ in range(3)]
    assert [a.result for a in attempts] == ["bad", "bad", "bad"]
    md.wait_for_log("refused the handshake (not-authorized): check [component] secret")
    # Backoff with jitter: 1 s then 2 s steps, each drawn from [step/2, step].
    gap1 = attempts[1].at - attempts[0].at
    gap2 = attempts[2].at - attempts[1].at
    assert 0.4 <= gap1 <= 1.6, gap1
    assert 0.9 <= gap2 <= 2.6, gap2
    assert LINK_UP not in md.log_text()
    assert md.is_running()


def test_reconnects_after_drops_and_keeps_serving(fake_server, mucdesk_factory):
    """libstrophe 0.12.2 crashes in component mode on the first received
    stanza or disconnect unless worked around: receive, drop, reconnect,
    several times, and the daemon must still answer."""
    md = mucdesk_factory()
    for round_ in range(3):
        ping(fake_server, "before-%d" % round_)
        mark = md.mark()
        fake_server.drop_connection(reset=(round_ % 2 == 1))
        attempt = fake_server.wait_for_handshake(timeout=10)
        assert attempt.ok
        md.wait_for_log(LINK_UP, after=mark)
        ping(fake_server, "after-%d" % round_)
    assert md.is_running()
    assert fake_server.connections_count == 4


def test_reconnects_after_stream_error_and_server_restart(fake_server, mucdesk_factory):
    md = mucdesk_factory()
    fake_server.send_stream_error("system-shutdown")
    md.wait_for_log("the server is shutting down")
    assert fake_server.wait_for_handshake(timeout=10).ok
    # The server goes away entirely for a while, then comes back.
    fake_server.stop_listening()
    fake_server.drop_connection()
    time.sleep(1.5)
    fake_server.start_listening()
    assert fake_server.wait_for_handshake(timeout=15).ok
    ping(fake_server, "back")
    assert md.is_running()


def test_sigterm_closes_the_stream_and_exits_0(fake_server, mucdesk_factory):
    md = mucdesk_factory()
    ping(fake_server, "p")
    conn = fake_server.connection
    assert md.stop(signal.SIGTERM) == 0
    fake_server.wait_for_disconnect(connection=conn)
    assert conn.stream_closed_by_peer, "no </stream:stream> before closing"
    assert "SIGTERM received: shutting down" in md.log_text()


def test_sigint_exits_0(fake_server, mucdesk_factory):
    md = mucdesk_factory()
    assert md.stop(signal.SIGINT) == 0


def test_error_bounces_never_answered(fake_server, mucdesk_factory):
    mucdesk_factory()
    fake_server.send("<iq type='error' id='e1' from='u@localhost/r' to='%s'>"
                     "<error type='cancel'><item-not-found "
                     "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>" % DOMAIN)
    fake_server.send("<message type='error' id='e2' from='u@localhost/r' to='%s'/>" % DOMAIN)
    ping(fake_server, "sync")
    fake_server.expect_none("/s:*[@id='e1' or @id='e2']", duration=0.3)


def test_unknown_iq_gets_service_unavailable(fake_server, mucdesk_factory):
    mucdesk_factory()
    fake_server.send("<iq type='get' id='u1' from='u@localhost/r' to='%s'>"
                     "<query xmlns='urn:example:nothing'/></iq>" % DOMAIN)
    reply = fake_server.expect("/s:iq[@id='u1']")
    assert reply.get("type") == "error"
    assert reply.get("to") == "u@localhost/r"
    assert reply.get("from") == DOMAIN
    assert error_condition(reply)[:2] == ("cancel", "service-unavailable")
