"""Ghosts (§17.3): a client that disconnected without leaving is removed
from every room when its server bounces a stanza or announces it gone."""

from muc_support import (codes_of, messages, muc, presences, room_jid)  # noqa: F401

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
ERR = "<error type='cancel'><%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"


def setup_two_rooms(m):
    m.create_room("g1")
    m.create_room("g2")
    m.join(BOB, "g1", "bob")
    m.join(BOB, "g2", "bob")


def removed_everywhere(out):
    gone = [(p.get("from"), codes_of(p)) for p in presences(out, ADMIN)]
    return sorted(gone) == sorted([(room_jid("g1", "bob"), {333}),
                                   (room_jid("g2", "bob"), {333})])


def test_message_bounce_removes_everywhere(muc):
    m = muc.start(wait_open=True)
    setup_two_rooms(m)
    out = m.exchange("<message type='error' from='%s' to='%s'>%s</message>"
                     % (BOB, room_jid("g1", "owner"), ERR % "recipient-unavailable"))
    assert removed_everywhere(out)
    out = m.groupchat(ADMIN, "g1", "still there?")
    assert [s.get("to") for s in messages(out)] == [ADMIN]


def test_presence_error_and_server_unavailable(muc):
    m = muc.start(wait_open=True)
    setup_two_rooms(m)
    out = m.exchange("<presence type='error' from='%s' to='%s'>%s</presence>"
                     % (BOB, room_jid("g2", "bob"), ERR % "remote-server-not-found"))
    assert removed_everywhere(out)
    m.join(BOB, "g1", "bob")
    m.join(BOB, "g2", "bob")
    # The server tells the service domain the client is gone.
    out = m.exchange("<presence type='unavailable' from='%s' to='support.localhost'/>" % BOB)
    assert removed_everywhere(out)


def test_other_errors_do_not_remove(muc):
    m = muc.start(wait_open=True)
    setup_two_rooms(m)
    out = m.exchange("<message type='error' from='%s' to='%s'>%s</message>"
                     % (BOB, room_jid("g1", "owner"), ERR % "feature-not-implemented"))
    assert out == []
    out = m.groupchat(ADMIN, "g1", "here?")
    assert sorted(s.get("to") for s in messages(out)) == sorted([ADMIN, BOB])
