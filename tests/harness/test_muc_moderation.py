"""Roles and affiliations (§8-10): kick (307), ban (301), voice, lists, and
the privilege rules' errors."""

from muc_support import (NS, codes_of, error, item, messages, muc,  # noqa: F401
                         presences, room_jid, self_presence, to)

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
EVE = "eve@localhost/e"
CAROL = "carol@localhost/c"
ADMIN_NS = "<query xmlns='http://jabber.org/protocol/muc#admin'>%s</query>"


def admin_set(m, actor, room, items):
    return m.iq(actor, room_jid(room), ADMIN_NS % items, "set")


def test_kick(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    m.join(EVE, "r", "eve")
    reply, out = admin_set(m, ADMIN, "r", "<item nick='eve' role='none'><reason>Spam"
                                          "</reason></item>")
    assert reply.get("type") == "result"
    for who in (ADMIN, BOB, EVE):
        p = presences(out, who)[0]
        assert p.get("from") == room_jid("r", "eve") and p.get("type") == "unavailable"
        assert 307 in codes_of(p)
        assert p.xpath("string(mucu:x/mucu:item/mucu:reason)", namespaces=NS) == "Spam"
        assert p.xpath("mucu:x/mucu:item/mucu:actor/@nick", namespaces=NS) == ["owner"]
        assert item(p).get("role") == "none"
    assert 110 in codes_of(presences(out, EVE)[0])
    # A participant may not kick.
    reply, out = admin_set(m, BOB, "r", "<item nick='owner' role='none'/>")
    assert error(reply)[1] == "forbidden"
    assert presences(out) == []
    # Kicking oneself: conflict.
    reply, _ = admin_set(m, ADMIN, "r", "<item nick='owner' role='none'/>")
    assert error(reply)[1] == "conflict"
    # A nick nobody has.
    reply, _ = admin_set(m, ADMIN, "r", "<item nick='nobody' role='none'/>")
    assert error(reply)[1] == "item-not-found"


def test_ban_and_ban_list(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    reply, out = admin_set(m, ADMIN, "r", "<item affiliation='outcast' jid='bob@localhost'>"
                                          "<reason>Trouble</reason></item>")
    assert reply.get("type") == "result"
    p = presences(out, BOB)[0]
    assert codes_of(p) == {110, 301} and item(p).get("affiliation") == "outcast"
    out = m.join("bob@localhost/other", "r", "bobby")
    assert error(out[0])[:2] == ("auth", "forbidden")
    reply, _ = m.iq(ADMIN, room_jid("r"), ADMIN_NS % "<item affiliation='outcast'/>")
    items = reply.xpath("muca:query/muca:item", namespaces=NS)
    assert [(i.get("jid"), i.get("affiliation")) for i in items] == [("bob@localhost", "outcast")]
    # Lifting the ban.
    reply, _ = admin_set(m, ADMIN, "r", "<item affiliation='none' jid='bob@localhost'/>")
    assert reply.get("type") == "result"
    assert self_presence(m.join(BOB, "r", "bob"), BOB) is not None
    # Banning oneself, or the last owner stepping down: conflict.
    reply, _ = admin_set(m, ADMIN, "r", "<item affiliation='outcast' jid='admin@localhost'/>")
    assert error(reply)[1] == "conflict"
    reply, _ = admin_set(m, ADMIN, "r", "<item affiliation='member' jid='admin@localhost'/>")
    assert error(reply)[1] == "conflict"


def test_ranks(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    admin_set(m, ADMIN, "r", "<item affiliation='admin' jid='carol@localhost'/>")
    out = m.join(CAROL, "r", "carol")
    own = self_presence(out, CAROL)
    assert (item(own).get("affiliation"), item(own).get("role")) == ("admin", "moderator")
    m.join(BOB, "r", "bob")
    # An admin may ban a member or a user...
    reply, _ = admin_set(m, CAROL, "r", "<item affiliation='member' jid='bob@localhost'/>")
    assert reply.get("type") == "result"
    # ...but not touch the owner, nor make admins.
    reply, _ = admin_set(m, CAROL, "r", "<item affiliation='outcast' jid='admin@localhost'/>")
    assert error(reply)[1] == "not-allowed"
    reply, _ = admin_set(m, CAROL, "r", "<item affiliation='admin' jid='bob@localhost'/>")
    assert error(reply)[1] == "forbidden"
    reply, _ = admin_set(m, CAROL, "r", "<item nick='owner' role='none'/>")
    assert error(reply)[1] == "not-allowed"
    # Both a role and an affiliation in one item: bad-request.
    reply, _ = admin_set(m, ADMIN, "r", "<item nick='bob' role='visitor' affiliation='none' "
                                        "jid='bob@localhost'/>")
    assert error(reply)[1] == "bad-request"
    # All or nothing: one refused item refuses the request.
    reply, out = admin_set(m, CAROL, "r", "<item affiliation='outcast' jid='eve@localhost'/>"
                                          "<item affiliation='outcast' jid='admin@localhost'/>")
    assert error(reply)[1] == "not-allowed"
    reply, _ = m.iq(ADMIN, room_jid("r"), ADMIN_NS % "<item affiliation='outcast'/>")
    assert reply.xpath("muca:query/muca:item", namespaces=NS) == []


def test_lists_and_who_may_read_them(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    admin_set(m, ADMIN, "r", "<item affiliation='member' jid='bob@localhost' nick='bob'/>"
                             "<item affiliation='admin' jid='carol@localhost'/>")
    m.join(BOB, "r", "bob")

    def members(actor):
        reply, _ = m.iq(actor, room_jid("r"), ADMIN_NS % "<item affiliation='member'/>")
        return reply
    reply = members(ADMIN)
    assert [(i.get("jid"), i.get("nick"), i.get("role"))
            for i in reply.xpath("muca:query/muca:item", namespaces=NS)] == \
        [("bob@localhost", "bob", None)]
    # Semi-anonymous room: a member may not read the member list.
    assert error(members(BOB))[1] == "forbidden"
    reply, _ = m.iq(ADMIN, room_jid("r"), ADMIN_NS % "<item affiliation='owner'/>")
    assert reply.xpath("muca:query/muca:item/@jid", namespaces=NS) == ["admin@localhost"]
    reply, _ = m.iq(ADMIN, room_jid("r"), ADMIN_NS % "<item role='participant'/>")
    assert [(i.get("nick"), i.get("jid")) for i in
            reply.xpath("muca:query/muca:item", namespaces=NS)] == [("bob", BOB)]
    reply, _ = m.iq(BOB, room_jid("r"), ADMIN_NS % "<item role='participant'/>")
    assert error(reply)[1] == "forbidden"


def test_voice_in_a_moderated_room(muc):
    m = muc.start(wait_open=True)
    m.create_room("mod", config={"muc#roomconfig_moderatedroom": "1"})
    out = m.join(EVE, "mod", "eve")
    assert item(self_presence(out, EVE)).get("role") == "visitor"
    out = m.groupchat(EVE, "mod", "may I?")
    assert error(out[0])[1] == "forbidden" and not messages(out, ADMIN)
    reply, out = admin_set(m, ADMIN, "mod", "<item nick='eve' role='participant'/>")
    assert reply.get("type") == "result"
    assert item(presences(out, EVE)[0]).get("role") == "participant"
    out = m.groupchat(EVE, "mod", "thanks")
    assert messages(out, ADMIN)
    reply, out = admin_set(m, ADMIN, "mod", "<item nick='eve' role='visitor'/>")
    assert item(presences(out, ADMIN)[0]).get("role") == "visitor"
    # Membership brings voice in a moderated room.
    reply, out = admin_set(m, ADMIN, "mod", "<item affiliation='member' jid='eve@localhost'/>")
    p = presences(out, ADMIN)[0]
    assert (item(p).get("affiliation"), item(p).get("role")) == ("member", "participant")


def test_voice_request(muc):
    m = muc.start(wait_open=True)
    m.create_room("mod", config={"muc#roomconfig_moderatedroom": "1"})
    m.join(EVE, "mod", "eve")
    request = ("<message from='%s' to='%s'><x xmlns='jabber:x:data' type='submit'>"
               "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value>"
               "</field><field var='muc#role'><value>participant</value></field></x></message>"
               % (EVE, room_jid("mod")))
    out = m.exchange(request)
    forms = messages(out, ADMIN)
    assert len(forms) == 1 and forms[0].get("from") == room_jid("mod")
    values = {f.get("var"): f.xpath("string(x:value)", namespaces=NS)
              for f in forms[0].xpath("x:x/x:field", namespaces=NS)}
    assert values["FORM_TYPE"] == "http://jabber.org/protocol/muc#request"
    assert values["muc#roomnick"] == "eve" and values["muc#request_allow"] == "0"
    # A participant cannot approve; the moderator can.
    answer = ("<message from='%s' to='%s'><x xmlns='jabber:x:data' type='submit'>"
              "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value>"
              "</field><field var='muc#roomnick'><value>eve</value></field>"
              "<field var='muc#request_allow'><value>true</value></field></x></message>")
    out = m.exchange(answer % (EVE, room_jid("mod")))
    assert error(out[0])[1] == "forbidden"
    out = m.exchange(answer % (ADMIN, room_jid("mod")))
    assert item(presences(out, EVE)[0]).get("role") == "participant"
