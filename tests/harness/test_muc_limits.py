"""Limits ([muc] in mucdesk.conf): body size, stanza size, message rate,
occupants per room, rooms.  Each refusal is an error to the sender; the
service carries on."""

from muc_support import (body, error, messages, muc, room_jid,  # noqa: F401
                         self_presence)

ADMIN = "admin@localhost/a"
LIMITS = {"muc": {"max_body_size": "200", "max_stanza_size": "2048",
                  "message_rate": "5", "max_occupants": "3", "max_rooms": "4"}}


def test_limits(muc):
    m = muc.start(rooms="desk1\ndesk2", overrides=LIMITS)
    jids = ["u%d@localhost/r" % i for i in range(5)]
    m.join(jids[0], "desk1", "u0")
    # Body size.
    out = m.groupchat(jids[0], "desk1", "x" * 201)
    assert error(out[0])[1] == "policy-violation" and len(out) == 1
    assert "200" in error(out[0])[2]
    out = m.groupchat(jids[0], "desk1", "x" * 200)
    assert len(messages(out)) == 1 and not error(out[0])
    # Stanza size (a payload beside the body).
    big = "<data xmlns='urn:example:x'>%s</data>" % ("y" * 2100)
    out = m.groupchat(jids[0], "desk1", "small", extra=big)
    assert error(out[0])[1] == "policy-violation"
    # Rate: 5 per 10 s; two were spent above (the refused large stanza
    # counts: it was read and serialised).
    for i in range(3):
        out = m.groupchat(jids[0], "desk1", "m%d" % i)
        assert not error(out[0]), out
    out = m.groupchat(jids[0], "desk1", "one too many")
    assert error(out[0])[:2] == ("wait", "resource-constraint")
    # Occupants: 3 per room.
    m.join(jids[1], "desk1", "u1")
    m.join(jids[2], "desk1", "u2")
    out = m.join(jids[3], "desk1", "u3")
    assert error(out[0])[:2] == ("wait", "service-unavailable")
    # The service is still fine.
    assert self_presence(m.join(jids[3], "desk2", "u3"), jids[3]) is not None


def test_room_limit(muc):
    m = muc.start(rooms="d1\nd2\nd3", overrides=LIMITS, wait_open=True)
    m.create_room("fourth")
    out = m.join(ADMIN, "fifth", "boss")
    assert error(out[0])[1] == "resource-constraint"


def test_admins_enter_a_full_room(muc):
    m = muc.start(overrides={"muc": {"max_occupants": "2"}}, wait_open=True)
    m.create_room("full")
    m.join("u1@localhost/r", "full", "u1")
    out = m.join("u2@localhost/r", "full", "u2")
    assert error(out[0])[1] == "service-unavailable"
    out = m.join("admin@localhost/second", "full", "owner")  # the owner's 2nd client
    assert self_presence(out, "admin@localhost/second") is not None
