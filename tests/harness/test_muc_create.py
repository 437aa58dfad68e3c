"""Creating plain rooms (§10.1): admins only, instant or reserved, locked
until configured, cancelled or abandoned creation destroys the room."""

from muc_support import (NS, codes_of, error, muc, presences, room_jid,  # noqa: F401
                         self_presence, to)

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
OWNER_NS = "<query xmlns='http://jabber.org/protocol/muc#owner'>%s</query>"


def test_only_admins_create_rooms(muc):
    m = muc.start(wait_open=True)
    out = m.join(BOB, "mine", "bob")
    assert error(out[0])[:2] == ("cancel", "not-allowed")
    assert out[0].xpath("*[local-name()='error']/@by") == [room_jid("mine")]
    # Nothing was created: the room is not listed, and bob can retry only
    # to be refused again.
    reply, _ = m.iq(BOB, "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert reply.xpath("items:query/items:item", namespaces=NS) == []


def test_instant_room_is_locked_until_configured(muc):
    m = muc.start(wait_open=True)
    out = m.join(ADMIN, "inst", "boss")
    assert codes_of(self_presence(out, ADMIN)) == {110, 201}
    out = m.join(BOB, "inst", "bob")
    assert error(out[0])[1] == "item-not-found"
    reply, _ = m.iq(ADMIN, room_jid("inst"),
                    OWNER_NS % "<x xmlns='jabber:x:data' type='submit'/>", "set")
    assert reply.get("type") == "result"
    out = m.join(BOB, "inst", "bob")
    assert self_presence(out, BOB) is not None
    # Listed now (public by default).
    reply, _ = m.iq(BOB, "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert reply.xpath("items:query/items:item/@jid", namespaces=NS) == [room_jid("inst")]


def test_reserved_room_with_the_form(muc):
    m = muc.start(wait_open=True)
    m.join(ADMIN, "res", "boss")
    reply, _ = m.iq(ADMIN, room_jid("res"), OWNER_NS % "")
    fields = reply.xpath("muco:query/x:x/x:field/@var", namespaces=NS)
    for var in ("FORM_TYPE", "muc#roomconfig_roomname", "muc#roomconfig_persistentroom",
                "muc#roomconfig_publicroom", "muc#roomconfig_membersonly",
                "muc#roomconfig_moderatedroom", "muc#roomconfig_whois",
                "muc#roomconfig_allowpm", "muc#roomconfig_changesubject",
                "muc#roomconfig_maxusers", "muc#roomconfig_passwordprotectedroom",
                "muc#roomconfig_roomsecret"):
        assert var in fields
    form = ("<x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>"
            "<field var='muc#roomconfig_roomname'><value>Night shift</value></field>"
            "<field var='muc#roomconfig_publicroom'><value>0</value></field>"
            "<field var='muc#roomconfig_moderatedroom'><value>1</value></field></x>")
    reply, _ = m.iq(ADMIN, room_jid("res"), OWNER_NS % form, "set")
    assert reply.get("type") == "result"
    reply, _ = m.iq(BOB, room_jid("res"), "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert reply.xpath("info:query/info:identity/@name", namespaces=NS) == ["Night shift"]
    features = set(reply.xpath("info:query/info:feature/@var", namespaces=NS))
    assert {"muc_hidden", "muc_moderated", "muc_temporary"} <= features
    # Hidden: not listed for bob; moderated: bob joins as a visitor.
    reply, _ = m.iq(BOB, "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert reply.xpath("items:query/items:item", namespaces=NS) == []
    out = m.join(BOB, "res", "bob")
    assert self_presence(out, BOB).xpath("mucu:x/mucu:item/@role", namespaces=NS) == ["visitor"]
    # Bad values are refused and change nothing.
    bad = ("<x xmlns='jabber:x:data' type='submit'>"
           "<field var='muc#roomconfig_whois'><value>everybody</value></field></x>")
    reply, _ = m.iq(ADMIN, room_jid("res"), OWNER_NS % bad, "set")
    assert error(reply)[1] == "not-acceptable"
    # Only owners see or change the configuration.
    reply, _ = m.iq(BOB, room_jid("res"), OWNER_NS % "")
    assert error(reply)[1] == "forbidden"


def test_cancelled_or_abandoned_creation_destroys(muc):
    m = muc.start(wait_open=True)
    m.join(ADMIN, "gone1", "boss")
    reply, out = m.iq(ADMIN, room_jid("gone1"),
                      OWNER_NS % "<x xmlns='jabber:x:data' type='cancel'/>", "set")
    assert reply.get("type") == "result"
    gone = presences(out, ADMIN)
    assert gone and gone[0].get("type") == "unavailable"
    assert gone[0].xpath("mucu:x/mucu:destroy", namespaces=NS)
    out = m.join(BOB, "gone1", "bob")
    assert error(out[0])[1] == "not-allowed"   # no longer exists

    m.join(ADMIN, "gone2", "boss")
    m.leave(ADMIN, "gone2", "boss")
    out = m.join(BOB, "gone2", "bob")
    assert error(out[0])[1] == "not-allowed"


def test_temporary_room_goes_when_empty(muc):
    # (Persistent rooms are tested with a database: tests/integration.)
    m = muc.start(wait_open=True)
    m.create_room("tmp")
    m.leave(ADMIN, "tmp", "owner")
    out = m.join(BOB, "tmp", "bob")
    assert error(out[0])[1] == "not-allowed"
