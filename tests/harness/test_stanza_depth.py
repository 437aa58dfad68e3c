"""Deeply nested stanzas (issue 11): a stanza of a few hundred kilobytes can
nest tens of thousands of levels, and code that recurses per level runs out
of stack.  Received stanzas deeper than 100 levels are refused with
policy-violation before any handler walks them; the writer does not recurse
at all.  The service carries on."""

from muc_support import (IQ, MSG, PRES, body, error, messages, muc,  # noqa: F401
                         room_jid)

ALICE = "alice@localhost/a"
BOB = "bob@localhost/b"


def nested(levels, inner="x"):
    """`levels` elements, one inside the other."""
    return "<a>" * levels + inner + "</a>" * levels


def test_deep_stanzas_are_refused_and_the_service_goes_on(muc):
    m = muc.start(rooms="desk1", wait_open=True)
    m.join(ALICE, "desk1", "alice")
    m.join(BOB, "desk1", "bob")

    # 100 levels in all (the message, <x>, 98 <a>): accepted and relayed
    # whole.
    out = m.groupchat(ALICE, "desk1", "ok", extra="<x xmlns='urn:example:deep'>%s</x>"
                      % nested(98))
    relayed = [s for s in messages(out) if s.get("to") == BOB]
    assert relayed and not error(out[0])
    depth, el = 0, relayed[0].find("{urn:example:deep}x")
    while el is not None:
        depth += 1
        el = next(iter(el), None)
    assert depth == 99                     # <x> and its 98 <a>

    # 101 levels: refused.
    out = m.groupchat(ALICE, "desk1", "no", extra="<x xmlns='urn:example:deep'>%s</x>"
                      % nested(99))
    assert [error(s)[1:] for s in out] == [
        ("policy-violation", "The stanza is nested too deeply (at most 100 levels)")]

    # 50,000 levels (350 KB) of a message, an iq and a presence: each refused,
    # sent as raw bytes (the test's own parser would refuse them too).
    deep = nested(50000)
    m.srv.send_raw("<message type='groupchat' id='d1' from='%s' to='%s'><body>hi</body>%s"
                   "</message>" % (ALICE, room_jid("desk1"), deep))
    m.srv.send_raw("<iq type='get' id='d2' from='%s' to='support.localhost'>"
                   "<query xmlns='http://jabber.org/protocol/disco#info'>%s</query></iq>"
                   % (ALICE, deep))
    m.srv.send_raw("<presence id='d3' from='%s' to='%s'>%s</presence>"
                   % (BOB, room_jid("desk1", "bob"), deep))
    m.barrier()
    out = m.srv.take_all()
    refused = {(s.tag, s.get("id")): error(s)[1] for s in out if error(s)}
    assert refused == {(MSG, "d1"): "policy-violation", (IQ, "d2"): "policy-violation",
                       (PRES, "d3"): "policy-violation"}
    assert not [s for s in out if not error(s)]   # nothing relayed

    # The room goes on.
    out = m.groupchat(ALICE, "desk1", "still here")
    assert [body(s) for s in messages(out) if s.get("to") == BOB] == ["still here"]
