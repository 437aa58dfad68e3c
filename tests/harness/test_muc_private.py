"""Private messages (§7.5): delivered with the muc#user marker, the error
rules, the room's allowpm setting, and the off-the-record rule of support
rooms (private messages between staff only)."""

from muc_support import (body, error, messages, muc, room_jid, to)  # noqa: F401

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
BOB2 = "bob@localhost/phone"
EVE = "eve@localhost/e"


def test_private_messages(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    m.join(BOB2, "r", "bob")
    out = m.pm(ADMIN, "r", "bob", "between us")
    assert sorted(s.get("to") for s in out) == sorted([BOB, BOB2])  # every client
    for s in out:
        assert s.get("from") == room_jid("r", "owner") and s.get("type") == "chat"
        assert body(s) == "between us"
        assert s.xpath("*[local-name()='x' and namespace-uri()="
                       "'http://jabber.org/protocol/muc#user']")
    # Type normal is a private message too.
    out = m.pm(BOB, "r", "owner", "normal one", type_="normal")
    assert [s.get("to") for s in out] == [ADMIN]
    # Errors: groupchat type, unknown nick, sender not in the room.
    out = m.pm(BOB, "r", "owner", "x", type_="groupchat")
    assert error(out[0])[1] == "bad-request" and len(out) == 1
    out = m.pm(BOB, "r", "nobody", "x")
    assert error(out[0])[1] == "item-not-found"
    out = m.pm(EVE, "r", "bob", "x")
    assert error(out[0])[1] == "not-acceptable" and len(out) == 1


def test_allowpm_setting(muc):
    m = muc.start(wait_open=True)
    m.create_room("r", config={"muc#roomconfig_allowpm": "moderators"})
    m.join(BOB, "r", "bob")
    m.join(EVE, "r", "eve")
    out = m.pm(BOB, "r", "eve", "psst")
    assert error(out[0])[1] == "not-acceptable" and len(out) == 1
    out = m.pm(ADMIN, "r", "eve", "moderators may")
    assert [s.get("to") for s in out] == [EVE]


def test_support_room_pms_only_between_staff(muc):
    m = muc.start(rooms="s1 members_only pm_privileged_only semi_anonymous")
    cust, agent, agent2 = "c@anon.localhost/w", "agent1@localhost/a", "agent2@localhost/b"
    m.join(cust, "s1", "Customer")
    m.join(agent, "s1", "Agent")
    m.join(agent2, "s1", "Helper")
    out = m.pm(agent, "s1", "Helper", "off the record")
    assert [s.get("to") for s in out] == [agent2]
    for sender, nick in ((cust, "Agent"), (agent, "Customer")):
        out = m.pm(sender, "s1", nick, "on the record only")
        assert len(out) == 1 and error(out[0])[1] == "not-acceptable"
    # disco#info says so: for the customer, nobody may.
    reply, _ = m.iq(cust, room_jid("s1"), "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert reply.xpath("string(//*[@var='muc#roomconfig_allowpm']/*)") == "none"
