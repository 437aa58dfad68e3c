"""Room types and configuration changes: members-only (registration-required,
322 when a room becomes members-only, 321 when membership is revoked),
passwords, anonymity changes (172/173), and invitations (§7.8.2)."""

from muc_support import (NS, codes_of, error, messages, muc, presences,  # noqa: F401
                         room_jid, self_presence)

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
EVE = "eve@localhost/e"
OWNER_FORM = ("<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
              "type='submit'>%s</x></query>")


def field(var, value):
    return "<field var='%s'><value>%s</value></field>" % (var, value)


def test_members_only(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    m.join(EVE, "r", "eve")
    m.iq(ADMIN, room_jid("r"), "<query xmlns='http://jabber.org/protocol/muc#admin'><item "
                               "affiliation='member' jid='bob@localhost'/></query>", "set")
    reply, out = m.iq(ADMIN, room_jid("r"),
                      OWNER_FORM % field("muc#roomconfig_membersonly", "1"), "set")
    assert reply.get("type") == "result"
    # eve (not a member) is removed with 322; bob stays.
    removed = [(p.get("to"), p.get("from")) for p in presences(out) if 322 in codes_of(p)]
    assert sorted(removed) == sorted([(EVE, room_jid("r", "eve")), (ADMIN, room_jid("r", "eve")),
                                      (BOB, room_jid("r", "eve"))])
    out = m.join(EVE, "r", "eve")
    assert error(out[0])[:2] == ("auth", "registration-required")
    # Revoking bob's membership removes him (321).
    reply, out = m.iq(ADMIN, room_jid("r"), "<query xmlns='http://jabber.org/protocol/muc#admin'>"
                                            "<item affiliation='none' jid='bob@localhost'/></query>",
                      "set")
    assert 321 in codes_of(presences(out, BOB)[0])


def test_invitations_to_a_members_only_room(muc):
    m = muc.start(wait_open=True)
    m.create_room("r", config={"muc#roomconfig_membersonly": "1"})
    m.iq(ADMIN, room_jid("r"), "<query xmlns='http://jabber.org/protocol/muc#admin'><item "
                               "affiliation='member' jid='bob@localhost'/></query>", "set")
    m.join(BOB, "r", "bob")
    invite = ("<message from='%s' to='%s' id='inv1'><x xmlns='http://jabber.org/protocol/muc#user'>"
              "<invite to='eve@localhost'><reason>Join us</reason></invite></x></message>")
    # A member may not invite unless the room allows it.
    out = m.exchange(invite % (BOB, room_jid("r")))
    assert error(out[0])[1] == "forbidden"
    # The owner may; the invitee becomes a member and may enter.
    out = m.exchange(invite % (ADMIN, room_jid("r")))
    inv = [s for s in messages(out) if s.get("to") == "eve@localhost"][0]
    assert inv.get("from") == room_jid("r")
    assert inv.xpath("mucu:x/mucu:invite/@from", namespaces=NS) == [room_jid("r", "owner")]
    assert inv.xpath("string(mucu:x/mucu:invite/mucu:reason)", namespaces=NS) == "Join us"
    assert inv.xpath("conf:x/@jid", namespaces=NS) == [room_jid("r")]   # XEP-0249 too
    assert self_presence(m.join(EVE, "r", "eve"), EVE) is not None
    # An invitee declines another invitation: the inviter is told
    # (test_muc_invitations: only invitees, only the inviter, once).
    m.exchange(invite.replace("eve@localhost", "carol@localhost") % (ADMIN, room_jid("r")))
    out = m.exchange("<message from='carol@localhost/c' to='%s'><x "
                     "xmlns='http://jabber.org/protocol/muc#user'><decline to='%s'><reason>Busy"
                     "</reason></decline></x></message>" % (room_jid("r"), "admin@localhost"))
    dec = messages(out)[0]
    assert dec.get("to") == ADMIN and dec.get("from") == room_jid("r")
    assert dec.xpath("mucu:x/mucu:decline/@from", namespaces=NS) == ["carol@localhost"]


def test_password_protected(muc):
    m = muc.start(wait_open=True)
    m.create_room("pw", config={"muc#roomconfig_passwordprotectedroom": "1",
                                "muc#roomconfig_roomsecret": "sesame"})
    out = m.join(BOB, "pw", "bob")
    assert error(out[0])[:2] == ("auth", "not-authorized")
    out = m.join(BOB, "pw", "bob", password="wrong")
    assert error(out[0])[1] == "not-authorized"
    assert self_presence(m.join(BOB, "pw", "bob", password="sesame"), BOB) is not None
    # Protection without a password is refused.
    reply, _ = m.iq(ADMIN, room_jid("pw"),
                    OWNER_FORM % (field("muc#roomconfig_passwordprotectedroom", "1")
                                  + field("muc#roomconfig_roomsecret", "")), "set")
    assert error(reply)[1] == "not-acceptable"


def test_anonymity_change_is_announced(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    reply, out = m.iq(ADMIN, room_jid("r"), OWNER_FORM % field("muc#roomconfig_whois", "anyone"),
                      "set")
    assert [c.xpath("mucu:x/mucu:status/@code", namespaces=NS) for c in messages(out, BOB)] == \
        [["172"]]
    out = m.join(EVE, "r", "eve")
    assert 100 in codes_of(self_presence(out, EVE))
