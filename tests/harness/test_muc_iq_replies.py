"""Replies to iqs forwarded to occupants (§7.5 of doc/protocol.md): bound
to the JID the request went to, under an id nobody can guess, and never
taken by themselves as proof that the occupant is gone.

What the servers send when the target is gone was measured (doc/protocol.md,
"iq to occupants"): Prosody 0.12 and ejabberd 23.01 both answer an iq to a
full JID that has no session with <service-unavailable/> of type cancel,
from that full JID, without `by` -- byte for byte what a client that does
not support a namespace may answer itself.  So an error of that kind only
makes the room probe the JID with an empty groupchat message, which a
server bounces and a client ignores; the bounce removes the ghost (§17.3).
"""

import re

from muc_support import (IQ, NS, body, codes_of, error, messages, muc, presences,  # noqa: F401
                         room_jid)

ADMIN = "admin@localhost/a"
BOB = "bob@localhost/b"
EVE = "eve@localhost/e"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def err_xml(cond, type_="cancel", extra=""):
    return "<error type='%s'><%s xmlns='%s'/>%s</error>" % (type_, cond, STANZAS, extra)


def setup_room(m):
    m.create_room("r")
    m.join(BOB, "r", "bob")
    m.join(EVE, "r", "eve")


def forward(m, fake_server, sender, payload, target=BOB, nick="bob", ident="q1"):
    """sender asks nick something; returns the iq mucdesk forwarded."""
    m.send("<iq type='get' id='%s' from='%s' to='%s'>%s</iq>"
           % (ident, sender, room_jid("r", nick), payload))
    return fake_server.expect("/s:iq[@to='%s'][@type='get']" % target)


def still_in(m, jid):
    """jid still gets the room's groupchat (it is an occupant)."""
    out = m.groupchat(ADMIN, "r", "roll call")
    return jid in [s.get("to") for s in messages(out)]


def test_reply_from_anyone_else_is_never_matched(muc, fake_server):
    m = muc.start(wait_open=True)
    setup_room(m)
    fwd = forward(m, fake_server, EVE, "<vCard xmlns='vcard-temp'/>")
    # Eve learnt the id somehow and answers in Bob's place, from her own
    # JID, with a delivery error: nothing is relayed, nobody is removed.
    out = m.exchange("<iq type='error' id='%s' from='%s' to='%s'>%s</iq>"
                     % (fwd.get("id"), EVE, fwd.get("from"), err_xml("recipient-unavailable")))
    assert out == []
    # The same from another occupant's JID and from the service's own domain.
    out = m.exchange("<iq type='result' id='%s' from='%s' to='%s'/>"
                     % (fwd.get("id"), ADMIN, fwd.get("from")))
    assert out == []
    assert still_in(m, BOB)
    # Bob's own answer still goes through, once.
    fake_server.send("<iq type='result' id='%s' from='%s' to='%s'><vCard xmlns='vcard-temp'>"
                     "<FN>Bob</FN></vCard></iq>" % (fwd.get("id"), BOB, fwd.get("from")))
    back = fake_server.expect("/s:iq[@id='q1']")
    assert back.get("type") == "result" and back.get("to") == EVE
    assert back.xpath("string(vcard:vCard/vcard:FN)", namespaces=NS) == "Bob"


def test_ids_cannot_be_guessed(muc, fake_server):
    m = muc.start(wait_open=True)
    setup_room(m)
    # Eve sees the ids of what is forwarded to herself...
    ids = []
    for i in range(3):
        fwd = forward(m, fake_server, EVE, "<vCard xmlns='vcard-temp'/>", target=EVE,
                      nick="eve", ident="s%d" % i)
        ids.append(fwd.get("id"))
        m.exchange("<iq type='result' id='%s' from='%s' to='%s'/>"
                   % (fwd.get("id"), EVE, fwd.get("from")))
    # ...and none says anything of the next: at least 128 random bits each,
    # no common prefix beyond a fixed tag, no counter.
    assert len(set(ids)) == 3
    for a in ids:
        body = re.sub(r"^md-", "", a)
        assert len(body) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", body), a
    assert len(set(x[:6] for x in ids)) > 1


def test_client_errors_do_not_remove(muc, fake_server):
    m = muc.start(wait_open=True)
    setup_room(m)
    # A client asked for a disco node it does not have: item-not-found.
    fwd = forward(m, fake_server, EVE,
                  "<query xmlns='http://jabber.org/protocol/disco#info' node='nosuch'/>")
    out = m.exchange("<iq type='error' id='%s' from='%s' to='%s'>%s</iq>"
                     % (fwd.get("id"), BOB, fwd.get("from"), err_xml("item-not-found")))
    assert [error(s)[1] for s in out if s.tag == IQ and s.get("to") == EVE] == ["item-not-found"]
    assert [s for s in out if s.get("to") == BOB] == []   # no probe for that
    assert presences(out) == []
    assert still_in(m, BOB)
    # A client that does not support a namespace: service-unavailable (RFC
    # 6120 8.4), exactly what a server says for a gone JID.  The room
    # probes; the client is there and ignores it: nothing more happens.
    fwd = forward(m, fake_server, EVE, "<query xmlns='urn:example:nothing'/>", ident="q2")
    out = m.exchange("<iq type='error' id='%s' from='%s' to='%s'>%s</iq>"
                     % (fwd.get("id"), BOB, fwd.get("from"), err_xml("service-unavailable")))
    assert [error(s)[1] for s in out if s.tag == IQ and s.get("to") == EVE] == ["service-unavailable"]
    probes = [s for s in messages(out, BOB)]
    assert len(probes) == 1
    probe = probes[0]
    assert probe.get("type") == "groupchat" and probe.get("from") == room_jid("r")
    assert body(probe) == "" and len(probe.get("id")) >= 22
    assert presences(out) == []
    assert still_in(m, BOB)
    # Asking again and again probes at most once in a while.
    fwd = forward(m, fake_server, EVE, "<query xmlns='urn:example:nothing'/>", ident="q3")
    out = m.exchange("<iq type='error' id='%s' from='%s' to='%s'>%s</iq>"
                     % (fwd.get("id"), BOB, fwd.get("from"), err_xml("service-unavailable")))
    assert messages(out, BOB) == []


def test_server_bounce_removes_the_ghost(muc, fake_server):
    m = muc.start(wait_open=True)
    setup_room(m)
    fwd = forward(m, fake_server, EVE, "<vCard xmlns='vcard-temp'/>")
    # Prosody 0.12's answer for a full JID without a session (measured).
    out = m.exchange("<iq from='%s' type='error' to='%s' id='%s'>%s</iq>"
                     % (BOB, fwd.get("from"), fwd.get("id"), err_xml("service-unavailable")))
    assert [error(s)[1] for s in out if s.tag == IQ and s.get("to") == EVE] == ["service-unavailable"]
    probe = messages(out, BOB)[0]
    assert presences(out) == []          # not yet: the reply alone proves nothing
    # ejabberd 23.01's bounce of the probe (measured): the payload echoed,
    # a text, no `by`.
    out = m.exchange("<message to='%s' from='%s' type='error' id='%s'>%s</message>"
                     % (probe.get("from"), BOB, probe.get("id"),
                        err_xml("service-unavailable",
                                extra="<text xml:lang='en' xmlns='%s'>User session not found"
                                      "</text>" % STANZAS)))
    gone = [(p.get("to"), p.get("type"), codes_of(p)) for p in presences(out)
            if p.get("from") == room_jid("r", "bob")]
    assert sorted(gone) == sorted([(ADMIN, "unavailable", {333}),
                                   (EVE, "unavailable", {333}),
                                   (BOB, "unavailable", {110, 333})])
    assert not still_in(m, BOB)


def test_timeout_and_unknown_ids(muc, fake_server):
    m = muc.start(wait_open=True)
    setup_room(m)
    # A reply nobody waits for is dropped, never answered (RFC 6120 8.2.3).
    out = m.exchange("<iq type='error' id='md-1' from='%s' to='%s'>%s</iq>"
                     % (EVE, room_jid("r", "bob"), err_xml("recipient-unavailable")))
    assert out == []
    assert still_in(m, BOB)
