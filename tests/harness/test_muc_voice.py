"""The room's service voice (muc_room_set_voice, muc.h), driven through the
test desk (tests/muc/testdesk.c, room option voice=NICK, command /voice):
privileged occupants hear the room's own words from ROOM/voice and see it
as an occupant; customers get the same words, payloads and all, from the
bare room JID and never learn of it; its nick is reserved; a private
message to it reaches the layer above's hook."""

from muc_support import (NS, body, error, item, messages, muc,  # noqa: F401
                         presences, room_jid, self_presence, text_of)

ROOMS = ("s1 members_only semi_anonymous pm_privileged_only persistent "
         "voice=desk\n"
         "plain members_only persistent")
CUST = "cust@anon.localhost/w"
AGENT = "agent1@localhost/a"
AGENT2 = "agent2@localhost/b"
SUPER = "super1@localhost/s"
VOICE = room_jid("s1", "desk")
NSX = dict(NS, occ="urn:xmpp:occupant-id:0")


def command(m, jid, text, room="s1"):
    return m.exchange("<message type='groupchat' from='%s' to='%s'><body>%s</body></message>"
                      % (jid, room_jid(room), text))


def voice_in(stanzas):
    return [s for s in stanzas if (s.get("from") or "").lower() == VOICE.lower()
            and s.get("type") != "error"]


def recording(m):
    """Every stanza mucdesk writes from now on, also kept in a list."""
    log, exchange = [], m.exchange

    def recorded(xml):
        out = exchange(xml)
        log.extend(out)
        return out
    m.exchange = recorded
    return log


def test_staff_see_the_voice_customers_never(muc):
    m = muc.start(rooms=ROOMS)
    log = recording(m)
    out = m.join(CUST, "s1", "Customer")
    assert voice_in(out) == []
    out = m.join(AGENT, "s1", "Agent", history="maxstanzas='20'")
    # The roster: the customer, the voice, then the agent's self-presence.
    pres = [p.get("from") for p in presences(out, AGENT)]
    assert pres == [room_jid("s1", "Customer"), VOICE, room_jid("s1", "Agent")], pres
    v = presences(out, AGENT)[1]
    assert v.get("type") is None
    assert (item(v).get("affiliation"), item(v).get("role"), item(v).get("jid")) == \
        ("none", "moderator", None)
    assert v.xpath("occ:occupant-id/@id", namespaces=NSX)
    # An observer, privileged too, sees it; nobody learns of the observer.
    out = m.join(SUPER, "s1", "Chief")
    assert VOICE in [p.get("from") for p in presences(out, SUPER)]
    assert voice_in(presences(out, CUST)) == []

    # Posts, staff-only posts, tells: from the voice to staff, from the
    # room to the customer, same payload.
    out = command(m, AGENT, "/post Hello from the room")
    posts = [s for s in messages(out) if body(s) == "Hello from the room"]
    by_to = {s.get("to"): s for s in posts}
    assert by_to[AGENT].get("from") == VOICE and by_to[SUPER].get("from") == VOICE
    assert by_to[CUST].get("from") == room_jid("s1")
    sid = lambda s: s.xpath("string(sid:stanza-id/@id)", namespaces=NSX)  # noqa: E731
    assert sid(by_to[AGENT]) == sid(by_to[CUST]) != ""
    assert by_to[AGENT].xpath("occ:occupant-id", namespaces=NSX)
    assert not by_to[CUST].xpath("occ:occupant-id", namespaces=NSX)
    out = command(m, AGENT, "/tell only me")
    assert [(s.get("to"), s.get("from")) for s in messages(out)] == [(AGENT, VOICE)]
    out = command(m, AGENT, "/note staff eyes")
    assert sorted((s.get("to"), s.get("from")) for s in messages(out) if body(s) == "staff eyes") == \
        sorted([(AGENT, VOICE), (SUPER, VOICE)])

    # History: the same split.
    out = m.join("cust@anon.localhost/phone", "s1", "Customer", history="maxstanzas='20'")
    hist = [s for s in messages(out) if s.xpath("delay:delay", namespaces=NSX)]
    assert [s.get("from") for s in hist if body(s) == "Hello from the room"] == [room_jid("s1")]
    assert voice_in(out) == []
    out = m.join(AGENT2, "s1", "Helper", history="maxstanzas='20'")
    hist = [s for s in messages(out) if s.xpath("delay:delay", namespaces=NSX)]
    assert {s.get("from") for s in hist if body(s) in ("Hello from the room", "staff eyes")} == {VOICE}

    # Nothing a customer received names it.
    to_customers = [s for s in log if "anon.localhost" in (s.get("to") or "")]
    assert to_customers and "/desk" not in text_of(to_customers)


def test_the_nick_is_reserved_and_pms_reach_the_hook(muc):
    m = muc.start(rooms=ROOMS)
    m.join(AGENT, "s1", "Agent")
    m.join(CUST, "s1", "Customer")
    for who, nick in ((AGENT2, "desk"), ("cust2@anon.localhost/x", "Desk")):
        out = m.join(who, "s1", nick)
        assert error(out[0])[1] == "conflict", out
    out = m.exchange("<presence from='%s' to='%s'/>" % (AGENT, VOICE))
    assert error(out[0])[1] == "conflict"
    out = m.exchange("<presence from='%s' to='%s'/>" % (CUST, room_jid("s1", "DESK")))
    assert error(out[0])[1] == "conflict"

    # A privileged occupant's private message to the voice: the hook's.
    out = m.pm(AGENT, "s1", "desk", "/tell via the voice")
    assert [(s.get("to"), s.get("from"), body(s)) for s in messages(out)] == \
        [(AGENT, VOICE, "via the voice")]
    out = m.pm(AGENT, "s1", "desk", "just chatting")
    assert error(messages(out)[0])[1] == "feature-not-implemented"
    # A customer's: exactly what a private message to any nick gets.
    a = m.pm(CUST, "s1", "desk", "/tell hi")
    b = m.pm(CUST, "s1", "nobody-here", "/tell hi")
    assert error(messages(a)[0]) == error(messages(b)[0])
    # An iq to it: staff are told it answers none; customers as for a free nick.
    reply, _ = m.iq(AGENT, VOICE, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert error(reply)[1] == "service-unavailable"
    r1, _ = m.iq(CUST, VOICE, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    r2, _ = m.iq(CUST, room_jid("s1", "nobody-here"),
                 "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert error(r1) == error(r2)


def test_voice_set_later_and_privilege_revoked(muc):
    m = muc.start(rooms=ROOMS)
    m.join(AGENT, "plain", "Agent")
    m.join(AGENT2, "plain", "Helper")
    m.join(CUST, "plain", "Customer")
    voice = room_jid("plain", "desk")
    out = command(m, AGENT, "/voice desk", room="plain")
    got = [(p.get("to"), p.get("type")) for p in presences(out) if p.get("from") == voice]
    assert sorted(got) == sorted([(AGENT, None), (AGENT2, None)])
    out = command(m, AGENT, "/unprivilege Helper", room="plain")
    assert [(p.get("to"), p.get("type")) for p in presences(out) if p.get("from") == voice] == \
        [(AGENT2, "unavailable")]
    out = command(m, AGENT, "/post after", room="plain")
    assert {(s.get("to"), s.get("from")) for s in messages(out) if body(s) == "after"} == \
        {(AGENT, voice), (AGENT2, room_jid("plain")), (CUST, room_jid("plain"))}
    out = command(m, AGENT, "/voice -", room="plain")
    assert [(p.get("to"), p.get("type")) for p in presences(out) if p.get("from") == voice] == \
        [(AGENT, "unavailable")]
    out = command(m, AGENT, "/post plain again", room="plain")
    assert {s.get("from") for s in messages(out) if body(s) == "plain again"} == {room_jid("plain")}
    assert "plain/desk" not in text_of([s for s in out if s.get("to") == CUST])
