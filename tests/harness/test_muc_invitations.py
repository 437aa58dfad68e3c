"""What rooms re-send on a user's behalf (doc/protocol.md, "What the
service relays"): mediated invitations (who may invite, whom, how many),
declines (only from an invitee, to its inviter, once), voice requests (a
visitor's, to moderators, once in a while) and the feature that says so."""

from muc_support import (NS, body, error, messages, muc, room_jid)  # noqa: F401

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
EVE = "eve@localhost/e"
CAROL = "carol@localhost/c"
MUCU = "http://jabber.org/protocol/muc#user"


def invite(m, sender, room, *invitees, reason="Join us"):
    items = "".join("<invite to='%s'><reason>%s</reason></invite>" % (i, reason)
                    for i in invitees)
    return m.exchange("<message from='%s' to='%s' id='inv'><x xmlns='%s'>%s</x></message>"
                      % (sender, room_jid(room), MUCU, items))


def decline(m, sender, room, to=None, reason="Busy"):
    to_attr = " to='%s'" % to if to else ""
    return m.exchange("<message from='%s' to='%s' id='dec'><x xmlns='%s'><decline%s>"
                      "<reason>%s</reason></decline></x></message>"
                      % (sender, room_jid(room), MUCU, to_attr, reason))


def declines(out):
    return [(s.get("to"), s.xpath("string(mucu:x/mucu:decline/@from)", namespaces=NS),
             s.xpath("string(mucu:x/mucu:decline/mucu:reason)", namespaces=NS))
            for s in messages(out) if s.xpath("mucu:x/mucu:decline", namespaces=NS)]


def test_declines_only_from_an_invitee_to_its_inviter_once(muc):
    m = muc.start(wait_open=True)
    m.create_room("r")
    m.join(BOB, "r", "bob")
    # Nobody invited carol: her decline, naming anyone, goes nowhere.
    for to in ("bob@localhost", "admin@localhost", room_jid("r", "owner"), None):
        out = decline(m, CAROL, "r", to=to, reason="Cheap pills")
        assert declines(out) == []
        assert [error(s)[1] for s in out] == ["not-acceptable"]
    # Bob invites eve; eve's decline goes to bob (his real JID), and only once.
    out = invite(m, BOB, "r", "eve@localhost")
    assert [s.get("to") for s in messages(out)] == ["eve@localhost"]
    out = decline(m, "eve@localhost/other", "r", to="someone@else.example")
    assert declines(out) == [] and error(out[0])[1] == "not-acceptable"
    out = decline(m, EVE, "r", to=room_jid("r", "bob"))
    assert declines(out) == [(BOB, "eve@localhost", "Busy")]
    out = decline(m, EVE, "r", to=room_jid("r", "bob"))
    assert declines(out) == [] and error(out[0])[1] == "not-acceptable"
    # Without `to` (clients may leave it out): the latest invitation.
    invite(m, BOB, "r", "eve@localhost")
    out = decline(m, EVE, "r")
    assert declines(out) == [(BOB, "eve@localhost", "Busy")]


def test_who_may_invite_whom_and_how_many(muc):
    m = muc.start(wait_open=True, overrides={"muc": {"message_rate": 5}})
    m.create_room("r")
    m.join(BOB, "r", "bob")
    # Not an occupant: not-acceptable, nothing sent.
    out = invite(m, CAROL, "r", "eve@localhost")
    assert [error(s)[1] for s in out] == ["not-acceptable"]
    # Rooms and occupants of this service cannot be invited.
    out = invite(m, BOB, "r", room_jid("other"))
    assert [error(s)[1] for s in out] == ["not-acceptable"]
    out = invite(m, BOB, "r", "support.localhost")
    assert [error(s)[1] for s in out] == ["not-acceptable"]
    # At most a handful per message...
    many = ["u%d@localhost" % i for i in range(6)]
    out = invite(m, BOB, "r", *many)
    assert [error(s)[1] for s in out] == ["policy-violation"]
    out = invite(m, BOB, "r", *many[:5])
    assert sorted(s.get("to") for s in messages(out)) == sorted(many[:5])
    # ...and at the occupant's message rate (message_rate = 5 here: spent).
    out = invite(m, BOB, "r", "late@localhost")
    assert [error(s)[1] for s in out] == ["resource-constraint"]


def test_invitations_in_rooms_of_the_layer_above(muc):
    m = muc.start(rooms="s1 members_only semi_anonymous pm_privileged_only", wait_open=True)
    m.join("cust@anon.localhost/w", "s1", "Customer")
    m.join("agent1@localhost/a", "s1", "Agent")
    # The desk decides whom its rooms' occupants may invite (testdesk: only
    # staff), and invitations grant no membership there.
    out = invite(m, "agent1@localhost/a", "s1", "stranger@example.org")
    assert [error(s)[1] for s in out] == ["forbidden"]
    out = invite(m, "cust@anon.localhost/w", "s1", "agent2@localhost")
    assert [error(s)[1] for s in out] == ["forbidden"]
    out = invite(m, "agent1@localhost/a", "s1", "agent2@localhost")
    assert [s.get("to") for s in messages(out)] == ["agent2@localhost"]
    # (that no membership is granted: tests/unit/test_muc_flow.c)
    # The desk's own invitation: the decline reaches the desk, once.
    m.exchange("<message type='groupchat' from='agent1@localhost/a' to='%s'>"
               "<body>/invite agent3@localhost Ticket 9</body></message>" % room_jid("s1"))
    out = decline(m, "agent3@localhost/z", "s1")
    assert [body(s) for s in messages(out, "agent1@localhost/a")] == \
        ["declined by agent3@localhost/z: Busy"]
    assert declines(out) == []
    out = decline(m, "agent3@localhost/z", "s1")
    assert [error(s)[1] for s in out] == ["not-acceptable"]
    assert messages(out, "agent1@localhost/a") == []


def voice_request(m, sender, room="mod"):
    return m.exchange("<message from='%s' to='%s'><x xmlns='jabber:x:data' type='submit'>"
                      "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request"
                      "</value></field><field var='muc#role'><value>participant</value>"
                      "</field></x></message>" % (sender, room_jid(room)))


def test_voice_requests_are_advertised_and_throttled(muc):
    m = muc.start(wait_open=True)
    m.create_room("mod", config={"muc#roomconfig_moderatedroom": "1"})
    reply, _ = m.iq(EVE, room_jid("mod"), "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert "http://jabber.org/protocol/muc#request" in \
        reply.xpath("info:query/info:feature/@var", namespaces=NS)
    m.join(EVE, "mod", "eve")
    assert len(messages(voice_request(m, EVE), ADMIN)) == 1
    # Asking again at once reaches no moderator.
    out = voice_request(m, EVE)
    assert messages(out, ADMIN) == []
    assert [error(s)[1] for s in out] == ["resource-constraint"]
    # Only visitors ask: nothing for a participant.
    out = voice_request(m, ADMIN)
    assert messages(out, ADMIN) == []
