"""iq to occupants (self-ping, forwarding with rewritten ids) and service
discovery on the service and on rooms."""

from muc_support import (NS, error, muc, room_jid)  # noqa: F401

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
EVE = "eve@localhost/e"


def test_self_ping(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    reply, rest = m.iq(BOB, room_jid("r", "bob"), "<ping xmlns='urn:xmpp:ping'/>")
    assert reply.get("type") == "result" and rest == []
    reply, _ = m.iq(EVE, room_jid("r", "bob"), "<ping xmlns='urn:xmpp:ping'/>")
    assert error(reply)[1] == "not-acceptable"
    m.leave(BOB, "r", "bob")
    reply, _ = m.iq(BOB, room_jid("r", "bob"), "<ping xmlns='urn:xmpp:ping'/>")
    assert error(reply)[1] == "not-acceptable"
    # Disco to an occupant from outside: bad-request (§6.6).
    reply, _ = m.iq(EVE, room_jid("r", "owner"),
                    "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert error(reply)[1] == "bad-request"


def test_iq_forwarding(muc, fake_server):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    m.send("<iq type='get' id='v1' from='%s' to='%s'><vCard xmlns='vcard-temp'/></iq>"
           % (ADMIN, room_jid("r", "bob")))
    fwd = fake_server.expect("/s:iq[@to='%s']" % BOB)
    assert fwd.get("from") == room_jid("r", "owner")   # no real JID revealed
    assert fwd.get("id") != "v1"
    assert fwd.xpath("vcard:vCard", namespaces=NS)
    fake_server.send("<iq type='result' id='%s' from='%s' to='%s'><vCard xmlns='vcard-temp'>"
                     "<FN>Bob</FN></vCard></iq>" % (fwd.get("id"), BOB, fwd.get("from")))
    back = fake_server.expect("/s:iq[@id='v1']")
    assert back.get("type") == "result" and back.get("to") == ADMIN
    assert back.get("from") == room_jid("r", "bob")
    assert back.xpath("string(vcard:vCard/vcard:FN)", namespaces=NS) == "Bob"
    # An error answer is relayed too; a delivery error makes the room probe
    # the JID, and the probe's bounce removes the ghost (test_muc_iq_replies).
    m.send("<iq type='get' id='v2' from='%s' to='%s'><query xmlns='jabber:iq:version'/></iq>"
           % (ADMIN, room_jid("r", "bob")))
    fwd = fake_server.expect("/s:iq[@to='%s']" % BOB)
    fake_server.send("<iq type='error' id='%s' from='%s' to='%s'><error type='cancel'>"
                     "<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                     "</error></iq>" % (fwd.get("id"), BOB, fwd.get("from")))
    back = fake_server.expect("/s:iq[@id='v2']")
    assert error(back)[1] == "recipient-unavailable"
    probe = fake_server.expect("/s:message[@to='%s'][@type='groupchat']" % BOB)
    fake_server.send("<message type='error' id='%s' from='%s' to='%s'><error type='cancel'>"
                     "<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                     "</error></message>" % (probe.get("id"), BOB, probe.get("from")))
    gone = fake_server.expect("/s:presence[@to='%s']" % ADMIN)
    assert gone.get("type") == "unavailable" and gone.get("from") == room_jid("r", "bob")
    # A nick nobody has.
    reply, _ = m.iq(ADMIN, room_jid("r", "ghost"), "<vCard xmlns='vcard-temp'/>")
    assert error(reply)[1] == "item-not-found"


def test_disco(muc):
    m = muc.start(rooms="hiddenroom hidden members_only", wait_open=True)
    m.create_room("pub", config={"muc#roomconfig_roomname": "Public room",
                                 "muc#roomconfig_roomdesc": "All welcome"})
    reply, _ = m.iq(EVE, "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    features = set(reply.xpath("info:query/info:feature/@var", namespaces=NS))
    assert {"http://jabber.org/protocol/muc", "http://jabber.org/protocol/muc#stable_id",
            "urn:xmpp:occupant-id:0"} <= features
    # The room list: hidden rooms only for those who belong there.
    reply, _ = m.iq(EVE, "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert [(i.get("jid"), i.get("name")) for i in
            reply.xpath("items:query/items:item", namespaces=NS)] == \
        [(room_jid("pub"), "Public room")]
    reply, _ = m.iq("agent1@localhost/x", "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert sorted(reply.xpath("items:query/items:item/@jid", namespaces=NS)) == \
        sorted([room_jid("pub"), room_jid("hiddenroom")])
    # RSM paging.
    reply, _ = m.iq("agent1@localhost/x", "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#items'><set "
                    "xmlns='http://jabber.org/protocol/rsm'><max>1</max></set></query>")
    first = reply.xpath("items:query/items:item/@jid", namespaces=NS)
    assert len(first) == 1
    last = reply.xpath("string(items:query/rsm:set/rsm:last)", namespaces=NS)
    reply, _ = m.iq("agent1@localhost/x", "support.localhost",
                    "<query xmlns='http://jabber.org/protocol/disco#items'><set "
                    "xmlns='http://jabber.org/protocol/rsm'><max>5</max><after>%s</after></set>"
                    "</query>" % last)
    second = reply.xpath("items:query/items:item/@jid", namespaces=NS)
    assert sorted(first + second) == sorted([room_jid("pub"), room_jid("hiddenroom")])
    # A room's info.
    reply, _ = m.iq(EVE, room_jid("pub"), "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert reply.xpath("info:query/info:identity/@category", namespaces=NS) == ["conference"]
    features = set(reply.xpath("info:query/info:feature/@var", namespaces=NS))
    assert {"http://jabber.org/protocol/muc", "muc_public", "muc_open", "muc_unmoderated",
            "muc_semianonymous", "muc_temporary", "muc_unsecured", "urn:xmpp:sid:0",
            "http://jabber.org/protocol/muc#self-ping-optimization"} <= features
    assert "urn:xmpp:mam:2" not in features   # no archive in this test
    form = {f.get("var"): f.xpath("string(x:value)", namespaces=NS)
            for f in reply.xpath("info:query/x:x/x:field", namespaces=NS)}
    assert form["FORM_TYPE"] == "http://jabber.org/protocol/muc#roominfo"
    assert form["muc#roominfo_description"] == "All welcome"
    assert form["muc#roominfo_occupants"] == "1"
    # No such room.
    reply, _ = m.iq(EVE, room_jid("nope"), "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert error(reply)[1] == "item-not-found"
    # Occupants are listed to occupants only.
    reply, _ = m.iq(EVE, room_jid("pub"), "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert reply.xpath("items:query/items:item", namespaces=NS) == []
    reply, _ = m.iq(ADMIN, room_jid("pub"),
                    "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert reply.xpath("items:query/items:item/@jid", namespaces=NS) == [room_jid("pub", "owner")]


def test_room_list_pages_for_outsiders_and_hides_what_they_may_not_know(muc):
    """The service's room list for someone who is staff nowhere comes from
    the index of public rooms plus the hidden rooms they are in (never a
    walk over every room); RSM pages through it in creation order; and
    paging after a hidden room one is not in answers exactly as after a
    room that does not exist (ticket numbers cannot be probed)."""
    m = muc.start(rooms="hiddenroom hidden members_only\nhid2 hidden\nhid3 hidden",
                  wait_open=True)
    for name in ("pub1", "pub2", "pub3"):
        m.create_room(name)
    m.join(EVE, "hid2", "eve")

    def page(asker, after=None, maximum=1):
        rsm = "<max>%d</max>%s" % (maximum, "<after>%s</after>" % after if after else "")
        reply, _ = m.iq(asker, "support.localhost",
                        "<query xmlns='http://jabber.org/protocol/disco#items'>"
                        "<set xmlns='http://jabber.org/protocol/rsm'>%s</set></query>" % rsm)
        return reply

    seen, after = [], None
    for _ in range(6):
        reply = page(EVE, after)
        items = reply.xpath("items:query/items:item/@jid", namespaces=NS)
        if not items:
            break
        assert len(items) == 1
        seen += items
        after = reply.xpath("string(items:query/rsm:set/rsm:last)", namespaces=NS)
    assert seen == [room_jid("hid2"), room_jid("pub1"), room_jid("pub2"), room_jid("pub3")]
    # A bigger page: the same, in one answer.
    reply = page(EVE, maximum=10)
    assert reply.xpath("items:query/items:item/@jid", namespaces=NS) == seen
    # Paging after a hidden room she is not in, or after none at all: the
    # same answer.
    for probe in ("hiddenroom", "hid3", "nosuchroom"):
        assert error(page(EVE, room_jid(probe)))[1] == "item-not-found", probe
    # Staff see every room, and may page after a hidden one.
    reply = page("agent1@localhost/x", maximum=100)
    everything = reply.xpath("items:query/items:item/@jid", namespaces=NS)
    assert sorted(everything) == sorted([room_jid(r) for r in
                                         ("hiddenroom", "hid2", "hid3", "pub1", "pub2", "pub3")])
    reply = page("agent1@localhost/x", room_jid("hiddenroom"), maximum=100)
    assert reply.get("type") == "result"
    # A room made hidden by its owner leaves the outsider's list.
    reply, _ = m.iq("admin@localhost/a", room_jid("pub2"),
                    "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
                    "type='submit'><field var='FORM_TYPE'><value>"
                    "http://jabber.org/protocol/muc#roomconfig</value></field><field "
                    "var='muc#roomconfig_publicroom'><value>0</value></field></x></query>", "set")
    assert reply.get("type") == "result", reply
    reply = page(EVE, maximum=10)
    assert reply.xpath("items:query/items:item/@jid", namespaces=NS) == \
        [room_jid("hid2"), room_jid("pub1"), room_jid("pub3")]
