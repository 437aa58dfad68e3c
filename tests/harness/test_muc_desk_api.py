"""The interface for the desk (muc.h), driven through the test desk
(tests/muc/testdesk.c): pre_join vetoes, commands consumed by the message
hook, room posts (staff-only ones too), notices, subjects, invitations from
the room and their declines, messages from outsiders, kicks, destruction,
and privilege changes."""

from muc_support import (NS, body, codes_of, error, item, messages, muc,  # noqa: F401
                         presences, room_jid, self_presence, to)

ROOMS = "s1 members_only semi_anonymous pm_privileged_only persistent"
CUST = "cust@anon.localhost/w"
AGENT = "agent1@localhost/a"
SUPER = "super1@localhost/s"


def command(m, jid, text):
    return m.exchange("<message type='groupchat' from='%s' to='%s'><body>%s</body></message>"
                      % (jid, room_jid("s1"), text))


def test_pre_join_and_commands(muc):
    m = muc.start(rooms=ROOMS)
    out = m.join("banned@localhost/x", "s1", "bad")
    assert error(out[0])[1] == "registration-required"
    assert error(out[0])[2] == "You are not expected in this room"
    m.join(CUST, "s1", "Customer")
    m.join(AGENT, "s1", "Agent")
    m.md.wait_for_log("Agent joined s1")

    # A command is consumed: not broadcast; the answer is a notice to the
    # sender only, never archived (no stanza-id).
    out = command(m, AGENT, "/tell just for you")
    assert [(s.get("to"), body(s)) for s in messages(out)] == [(AGENT, "just for you")]
    notice = messages(out)[0]
    assert notice.get("from") == room_jid("s1")
    assert not notice.xpath("sid:stanza-id", namespaces=NS)
    # The customer's "/..." is an ordinary message.
    out = command(m, CUST, "/help")
    assert len(messages(out)) == 2

    # Posts: public, and staff-only.
    out = command(m, AGENT, "/post Agent joined the chat")
    posts = [s for s in messages(out) if body(s) == "Agent joined the chat"]
    assert sorted(s.get("to") for s in posts) == sorted([CUST, AGENT])
    assert all(s.get("from") == room_jid("s1") and s.xpath("sid:stanza-id", namespaces=NS)
               for s in posts)
    out = command(m, AGENT, "/note for staff")
    assert [s.get("to") for s in messages(out) if body(s) == "for staff"] == [AGENT]
    # History keeps both, each for whom it was meant.
    out = m.join("cust@anon.localhost/phone", "s1", "Customer")
    hist = [body(s) for s in messages(out) if s.xpath("delay:delay", namespaces=NS)]
    assert "Agent joined the chat" in hist and "for staff" not in hist
    out = m.join("agent2@localhost/b", "s1", "Helper")
    hist = [body(s) for s in messages(out) if s.xpath("delay:delay", namespaces=NS)]
    assert "Agent joined the chat" in hist and "for staff" in hist

    # Subject from the room itself.
    out = command(m, AGENT, "/subject Ticket 42: printer on fire")
    subj = [s for s in messages(out) if s.xpath("*[local-name()='subject']")]
    assert {s.get("from") for s in subj} == {room_jid("s1")}
    assert len(subj) == 4   # every session: the customer's two, agent, helper
    # Kick by the desk.
    out = command(m, AGENT, "/kick Helper")
    assert 307 in codes_of(presences(out, "agent2@localhost/b")[0])
    m.md.wait_for_log("Helper left s1 (reason 1)")


def test_invitations_declines_and_outsiders(muc):
    m = muc.start(rooms=ROOMS)
    m.join(AGENT, "s1", "Agent")
    out = command(m, AGENT, "/invite agent2@localhost Ticket 42 from Alice")
    inv = [s for s in messages(out) if s.get("to") == "agent2@localhost"][0]
    assert inv.get("from") == room_jid("s1")
    assert inv.xpath("mucu:x/mucu:invite/@from", namespaces=NS) == [room_jid("s1")]
    assert inv.xpath("string(mucu:x/mucu:invite/mucu:reason)", namespaces=NS) == \
        "Ticket 42 from Alice"
    # The decline reaches the desk (which posts it for staff).
    out = m.exchange("<message from='agent2@localhost/b' to='%s'><x "
                     "xmlns='http://jabber.org/protocol/muc#user'><decline><reason>Busy</reason>"
                     "</decline></x></message>" % room_jid("s1"))
    assert [body(s) for s in messages(out, AGENT)] == ["declined by agent2@localhost/b: Busy"]
    # A stranger writing to the room: the desk answers with an invitation.
    out = m.exchange("<message type='chat' from='visitor@anon.localhost/z' to='%s'>"
                     "<body>I need help</body></message>" % room_jid("s1"))
    inv = messages(out)[0]
    assert inv.get("to") == "visitor@anon.localhost/z"
    assert inv.xpath("string(mucu:x/mucu:invite/mucu:reason)", namespaces=NS) == \
        "You wrote: I need help"


def test_destroy_and_privilege_change(muc):
    m = muc.start(rooms=ROOMS, wait_open=True)
    m.join(CUST, "s1", "Customer")
    m.join(AGENT, "s1", "Agent")
    m.join(SUPER, "s1", "Boss")
    # An agent losing its privilege stops seeing the observer at once, and
    # sees the customer's presence again without the real JID (the room is
    # semi-anonymous); nobody else hears of it.
    out = command(m, SUPER, "/unprivilege Agent")
    gone = [p for p in presences(out, AGENT) if p.get("from") == room_jid("s1", "Boss")]
    assert [p.get("type") for p in gone] == ["unavailable"]
    again = [p for p in presences(out, AGENT) if p.get("from") == room_jid("s1", "Customer")]
    assert [(p.get("type"), item(p).get("jid")) for p in again] == [(None, None)]
    assert {p.get("to") for p in presences(out)} == {AGENT}
    # Destroyed by the desk: everyone hears about itself only.
    out = command(m, SUPER, "/destroy Ticket closed")
    got = sorted((p.get("to"), p.get("from")) for p in presences(out))
    assert got == sorted([(CUST, room_jid("s1", "Customer")), (AGENT, room_jid("s1", "Agent")),
                          (SUPER, room_jid("s1", "Boss"))])
    assert all(p.xpath("string(mucu:x/mucu:destroy/mucu:reason)", namespaces=NS) ==
               "Ticket closed" for p in presences(out))
    m.md.wait_for_log("s1 destroyed")
    out = m.join(CUST, "s1", "Customer")
    assert error(out[0])[1] == "not-allowed"
