"""Groupchat messages (§7.4): reflection with the sender's id, XEP-0359
stanza-id and XEP-0421 occupant-id, forged ids removed, subject changes,
and what happens to messages from outside the room."""

from muc_support import (NS, body, error, messages, muc, room_jid,  # noqa: F401
                         self_presence, to)

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
EVE = "eve@localhost/e"


def sid(msg):
    return msg.xpath("string(sid:stanza-id/@id)", namespaces=NS)


def oid(stanza):
    return stanza.xpath("string(*[local-name()='occupant-id']/@id)")


def test_reflection_and_ids(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    out = m.join(BOB, "r", "bob")
    bob_oid = oid(self_presence(out, BOB))
    assert len(bob_oid) >= 8
    forged = ("<stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='%s'/>"
              "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/>"
              "<x xmlns='http://jabber.org/protocol/muc#user'><item jid='x@y'/></x>"
              "<active xmlns='http://jabber.org/protocol/chatstates'/>" % room_jid("r"))
    out = m.groupchat(BOB, "r", "hello", ident="msg-1", extra=forged)
    copies = messages(out)
    assert sorted(c.get("to") for c in copies) == sorted([ADMIN, BOB])
    ids = set()
    for c in copies:
        assert c.get("id") == "msg-1" and c.get("type") == "groupchat"
        assert c.get("from") == room_jid("r", "bob")
        assert body(c) == "hello"
        assert c.xpath("sid:stanza-id/@by", namespaces=NS) == [room_jid("r")]
        assert c.xpath("count(sid:stanza-id)", namespaces=NS) == 1
        assert "forged" not in (sid(c), oid(c))
        assert oid(c) == bob_oid
        assert not c.xpath("mucu:x", namespaces=NS)
        assert c.xpath("chat:active", namespaces=NS)  # other extensions pass
        ids.add(sid(c))
    assert len(ids) == 1  # one stanza-id per message, the same for everyone
    out = m.groupchat(BOB, "r", "again")
    assert sid(messages(out)[0]) not in ids
    # The occupant id is stable for the user across visits and nicks...
    m.leave(BOB, "r", "bob")
    out = m.join("bob@localhost/other", "r", "bobby")
    assert oid(self_presence(out, "bob@localhost/other")) == bob_oid
    # ...and differs between users and between rooms.
    out = m.join(EVE, "r", "eve")
    assert oid(self_presence(out, EVE)) != bob_oid
    m.create_room("r2")
    out = m.join(BOB, "r2", "bob")
    assert oid(self_presence(out, BOB)) != bob_oid


def test_messages_from_outside_and_bad_types(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    out = m.groupchat(EVE, "r", "let me in")
    assert error(out[0])[1] == "not-acceptable" and len(out) == 1
    out = m.groupchat(EVE, "noroom", "anyone?")
    assert error(out[0])[1] == "item-not-found"
    out = m.exchange("<message type='chat' from='%s' to='%s'><body>hi room</body></message>"
                     % (ADMIN, room_jid("r")))
    assert error(out[0])[1] == "bad-request"
    # Chat states without a body pass through, and are not history.
    out = m.exchange("<message type='groupchat' from='%s' to='%s'><composing "
                     "xmlns='http://jabber.org/protocol/chatstates'/></message>"
                     % (ADMIN, room_jid("r")))
    assert [c.get("to") for c in messages(out)] == [ADMIN]
    assert not messages(out)[0].xpath("sid:stanza-id", namespaces=NS)
    out = m.join(BOB, "r", "bob")
    assert not [s for s in messages(out, BOB) if s.xpath("delay:delay", namespaces=NS)]


def test_subject_rules(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    subject = "<message type='groupchat' from='%s' to='%s' id='s1'><subject>%s</subject></message>"
    out = m.exchange(subject % (BOB, room_jid("r"), "mine now"))
    assert error(out[0])[1] == "forbidden"
    out = m.exchange(subject % (ADMIN, room_jid("r"), "Rules"))
    for c in messages(out):
        assert c.get("from") == room_jid("r", "owner")
        assert c.xpath("string(*[local-name()='subject'])") == "Rules"
    assert sorted(c.get("to") for c in messages(out)) == sorted([ADMIN, BOB])
    # A subject with a body is a message, not a subject change.
    out = m.exchange("<message type='groupchat' from='%s' to='%s'><subject>no</subject>"
                     "<body>just a message</body></message>" % (BOB, room_jid("r")))
    assert [body(c) for c in messages(out)] == ["just a message", "just a message"]
    # Occupants may change it when the room says so.
    reply, out = m.iq(ADMIN, room_jid("r"),
                      "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
                      "type='submit'><field var='muc#roomconfig_changesubject'><value>1</value>"
                      "</field></x></query>", "set")
    assert reply.get("type") == "result"
    assert [c.xpath("mucu:x/mucu:status/@code", namespaces=NS) for c in messages(out, BOB)] == \
        [["104"]]
    out = m.exchange(subject % (BOB, room_jid("r"), "ours"))
    assert [c.xpath("string(*[local-name()='subject'])") for c in messages(out)] == \
        ["ours", "ours"]
