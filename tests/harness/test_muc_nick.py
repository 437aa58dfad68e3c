"""Nicknames: conflicts (409), several clients of one user under one nick,
nick changes (303), reserved nicks."""

from muc_support import (NS, body, codes_of, error, item, messages, muc,  # noqa: F401
                         presences, room_jid, self_presence, to)

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
BOB2 = "bob@localhost/phone"
EVE = "eve@localhost/e"


def test_conflict(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    out = m.join(EVE, "r", "bob")
    assert len(out) == 1
    assert error(out[0])[:2] == ("cancel", "conflict")
    assert out[0].get("from") == room_jid("r", "bob")
    assert out[0].xpath("muc:x", namespaces=NS)


def test_one_user_several_clients(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    out = m.join(BOB2, "r", "bob")
    assert self_presence(out, BOB2) is not None
    assert not [s for s in out if s.get("type") == "error"]
    # Both clients get room traffic.
    out = m.groupchat(ADMIN, "r", "to both")
    assert [body(s) for s in messages(out, BOB)] == ["to both"]
    assert [body(s) for s in messages(out, BOB2)] == ["to both"]
    # Both may speak.
    out = m.groupchat(BOB2, "r", "from the phone")
    assert [s.get("from") for s in messages(out, ADMIN)] == [room_jid("r", "bob")]
    # One client leaves: only it is told; bob stays for everyone else.
    out = m.leave(BOB2, "r", "bob")
    assert [(p.get("to"), codes_of(p)) for p in presences(out)] == [(BOB2, {110})]
    out = m.groupchat(ADMIN, "r", "still there?")
    assert messages(out, BOB) and not messages(out, BOB2)


def test_nick_change(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    out = m.exchange("<presence from='%s' to='%s' id='nc1'><show>away</show></presence>"
                     % (BOB, room_jid("r", "robert")))
    for who in (ADMIN, BOB):
        ps = presences(out, who)
        assert [p.get("type") for p in ps] == ["unavailable", None]
        assert ps[0].get("from") == room_jid("r", "bob")
        assert item(ps[0]).get("nick") == "robert"
        assert 303 in codes_of(ps[0])
        assert ps[1].get("from") == room_jid("r", "robert")
        assert ps[1].xpath("string(*[local-name()='show'])") == "away"
    assert 110 in codes_of(presences(out, BOB)[0]) and 110 in codes_of(presences(out, BOB)[1])
    assert 110 not in codes_of(presences(out, ADMIN)[1])
    # Taking a nick in use: conflict, nothing changes.
    out = m.exchange("<presence from='%s' to='%s'/>" % (BOB, room_jid("r", "owner")))
    assert error(out[0])[1] == "conflict"
    out = m.groupchat(BOB, "r", "hi")
    assert messages(out, ADMIN)[0].get("from") == room_jid("r", "robert")


def test_reserved_nick(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    reply, _ = m.iq(ADMIN, room_jid("r"),
                    "<query xmlns='http://jabber.org/protocol/muc#admin'><item "
                    "affiliation='member' jid='carol@localhost' nick='carol'/></query>", "set")
    assert reply.get("type") == "result"
    out = m.join(EVE, "r", "carol")
    assert error(out[0])[1] == "conflict"
    out = m.join("carol@localhost/x", "r", "carol")
    assert self_presence(out, "carol@localhost/x") is not None
    # x-roomuser-item tells a user its reserved nick.
    reply, _ = m.iq("carol@localhost/y", room_jid("r"),
                    "<query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/>")
    assert reply.xpath("info:query/info:identity/@name", namespaces=NS) == ["carol"]
    reply, _ = m.iq(EVE, room_jid("r"),
                    "<query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/>")
    assert reply.get("type") == "result"
    assert reply.xpath("info:query/*", namespaces=NS) == []
