"""Entering a room: the order of events (§7.2), status codes, history,
subject, and joins that are not joins."""

from muc_support import (NS, body, codes_of, item, messages, muc,  # noqa: F401
                         presences, room_jid, self_presence, to)

OWNER = "admin@localhost/a"
BOB = "bob@localhost/b"
CAROL = "carol@localhost/c"


def test_join_order_codes_history_subject(muc):
    m = muc.start(wait_open=True)
    out = m.create_room("team")
    own = self_presence(out, OWNER)
    assert codes_of(own) == {110, 201}
    assert item(own).get("affiliation") == "owner" and item(own).get("role") == "moderator"
    m.send("<message type='groupchat' from='%s' to='%s'><subject>Plans</subject></message>"
           % (OWNER, room_jid("team")))
    for i in range(3):
        m.groupchat(OWNER, "team", "message %d" % i)

    out = to(m.join(BOB, "team", "bob"), BOB)
    kinds = []
    for s in out:
        if s.tag.endswith("presence"):
            kinds.append("self" if 110 in codes_of(s) else "other")
        elif s.xpath("*[local-name()='subject']"):
            kinds.append("subject")
        else:
            kinds.append("history")
    assert kinds == ["other", "self", "history", "history", "history", "subject"], kinds
    assert out[0].get("from") == room_jid("team", "owner")
    # Semi-anonymous by default: a participant sees no real JIDs.
    assert item(out[0]).get("jid") is None
    own = out[1]
    assert own.get("from") == room_jid("team", "bob")
    assert item(own).get("jid") == BOB  # one's own JID, always
    assert codes_of(own) == {110}
    assert own.get("id", "").startswith("j")  # the join's id is reflected
    hist = out[2]
    assert body(hist) == "message 0"
    delay = hist.xpath("delay:delay", namespaces=NS)[0]
    assert delay.get("from") == room_jid("team") and delay.get("stamp")
    assert hist.xpath("sid:stanza-id/@by", namespaces=NS) == [room_jid("team")]
    subject = out[5]
    assert subject.xpath("string(*[local-name()='subject'])") == "Plans"
    assert subject.get("from") == room_jid("team", "owner")
    assert subject.xpath("delay:delay/@from", namespaces=NS) == [room_jid("team")]


def test_history_limits(muc):
    m = muc.start(wait_open=True)
    m.create_room("hist")
    for i in range(6):
        m.groupchat(OWNER, "hist", "m%d" % i)

    def history(jid, attrs):
        out = m.join(jid, "hist", jid.split("@")[0], history=attrs)
        got = [body(s) for s in messages(out, jid) if s.xpath("delay:delay", namespaces=NS)]
        m.leave(jid, "hist", jid.split("@")[0])
        return got

    assert history("u1@localhost/r", "maxstanzas='2'") == ["m4", "m5"]
    assert history("u2@localhost/r", "maxchars='0'") == []
    assert history("u3@localhost/r", "seconds='3600'") == ["m%d" % i for i in range(6)]
    assert history("u4@localhost/r", "since='2999-01-01T00:00:00Z'") == []
    # maxchars counts whole stanzas: a small budget gives the newest only.
    got = history("u5@localhost/r", "maxchars='400'")
    assert got and got == ["m%d" % i for i in range(6)][-len(got):] and len(got) < 6


def test_history_seconds_out_of_range(muc):
    """<history seconds='...'/> beyond any time since 1970 means no limit:
    the conversion to microseconds must not overflow (UBSan reported a
    signed overflow, caught at teardown)."""
    m = muc.start(wait_open=True)
    m.create_room("hist")
    for i in range(3):
        m.groupchat(OWNER, "hist", "m%d" % i)
    for n, seconds in enumerate(("9300000000000", "9223372036854775807",
                                 "99999999999999999999999", "-5", "1e9", "")):
        jid = "u%d@localhost/r" % n
        out = m.join(jid, "hist", "u%d" % n, history="seconds='%s'" % seconds)
        got = [body(s) for s in messages(out, jid) if s.xpath("delay:delay", namespaces=NS)]
        assert got == ["m0", "m1", "m2"], (seconds, got)
        m.leave(jid, "hist", "u%d" % n)
    # Still answering.
    out = m.join("late@localhost/r", "hist", "late", history="seconds='0'")
    assert not [s for s in messages(out, "late@localhost/r")
                if s.xpath("delay:delay", namespaces=NS)]


def test_empty_subject_is_always_sent(muc):
    m = muc.start(wait_open=True)
    m.create_room("nosubj")
    out = to(m.join(BOB, "nosubj", "bob"), BOB)
    last = out[-1]
    assert last.xpath("*[local-name()='subject']") and \
        last.xpath("string(*[local-name()='subject'])") == ""


def test_non_anonymous_room_says_100_and_shows_jids(muc):
    m = muc.start(wait_open=True)
    m.create_room("open", config={"muc#roomconfig_whois": "anyone"})
    out = m.join(BOB, "open", "bob")
    assert codes_of(self_presence(out, BOB)) == {100, 110}
    owner_seen = [p for p in presences(out, BOB) if p.get("from") == room_jid("open", "owner")]
    assert item(owner_seen[0]).get("jid") == OWNER
    # ...and the owner sees bob's JID.
    to_owner = presences(out, OWNER)
    assert item(to_owner[0]).get("jid") == BOB


def test_presence_without_muc_x_from_a_stranger_is_told_it_is_out(muc):
    m = muc.start(wait_open=True)
    m.create_room("gc")
    out = m.exchange("<presence from='%s' to='%s'/>" % (BOB, room_jid("gc", "bob")))
    p = presences(out, BOB)[0]
    assert p.get("type") == "unavailable"
    assert codes_of(p) == {110, 307, 333}
    assert [s for s in out if s.get("to") == OWNER] == []


def test_rejoin_from_the_same_client_resends_the_state(muc):
    m = muc.start(wait_open=True)
    m.create_room("sync")
    m.join(BOB, "sync", "bob")
    out = m.join(BOB, "sync", "bob")
    mine = to(out, BOB)
    assert self_presence(mine, BOB) is not None
    assert [p.get("from") for p in presences(mine, BOB)] == \
        [room_jid("sync", "owner"), room_jid("sync", "bob")]
    assert mine[-1].xpath("*[local-name()='subject']")
    # Nothing changed, so the others hear nothing.
    assert to(out, OWNER) == []


def test_join_errors(muc):
    m = muc.start(wait_open=True)
    m.create_room("errs")
    # No nick: jid-malformed from the room JID.
    out = m.exchange("<presence from='%s' to='%s'><x xmlns='http://jabber.org/protocol/muc'/>"
                     "</presence>" % (BOB, room_jid("errs")))
    err = out[0]
    assert err.get("type") == "error"
    assert err.xpath("err:jid-malformed", namespaces=NS) == [] and \
        err.xpath("*[local-name()='error']/err:jid-malformed", namespaces=NS)
    # A nick of spaces.
    out = m.join(BOB, "errs", "   ")
    assert out[0].xpath("*[local-name()='error']/err:jid-malformed", namespaces=NS)
    # No such room, as a non-admin: not-allowed (only admins create rooms).
    out = m.join(BOB, "nosuchroom", "bob")
    assert out[0].get("type") == "error"
    assert out[0].xpath("*[local-name()='error']/err:not-allowed", namespaces=NS)
    assert out[0].xpath("muc:x", namespaces=NS)
