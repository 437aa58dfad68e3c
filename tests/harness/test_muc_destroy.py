"""Room destruction (§10.9) and service shutdown (332): each occupant is
told about itself only."""

import signal

from muc_support import (NS, codes_of, error, muc, presences, room_jid,  # noqa: F401
                         self_presence)

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"


def test_destroy(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    reply, _ = m.iq(BOB, room_jid("r"), "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                                        "<destroy/></query>", "set")
    assert error(reply)[1] == "forbidden"
    reply, out = m.iq(ADMIN, room_jid("r"),
                      "<query xmlns='http://jabber.org/protocol/muc#owner'><destroy "
                      "jid='elsewhere@support.localhost'><reason>Moved</reason></destroy>"
                      "</query>", "set")
    assert reply.get("type") == "result"
    got = [(p.get("to"), p.get("from"), p.get("type")) for p in presences(out)]
    assert sorted(got) == sorted([(ADMIN, room_jid("r", "owner"), "unavailable"),
                                  (BOB, room_jid("r", "bob"), "unavailable")])
    for p in presences(out):
        d = p.xpath("mucu:x/mucu:destroy", namespaces=NS)[0]
        assert d.get("jid") == "elsewhere@support.localhost"
        assert d.xpath("string(mucu:reason)", namespaces=NS) == "Moved"
    out = m.join(BOB, "r", "bob")
    assert error(out[0])[1] == "not-allowed"   # gone


def test_shutdown_sends_332_before_the_stream_closes(muc, fake_server):
    m = muc.start(rooms="desk", wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    m.join(BOB, "desk", "bob")
    m.md.send_signal(signal.SIGTERM)
    conn = fake_server.wait_for_disconnect()
    assert conn.stream_closed_by_peer
    assert m.md.wait_exit(15) == 0
    out = fake_server.take_all()
    got = sorted((p.get("to"), p.get("from"), tuple(sorted(codes_of(p)))) for p in presences(out))
    assert got == sorted([(ADMIN, room_jid("r", "owner"), (110, 332)),
                          (BOB, room_jid("r", "bob"), (110, 332)),
                          (BOB, room_jid("desk", "bob"), (110, 332))])
