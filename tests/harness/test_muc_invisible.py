"""An invisible observer must not leak to the customer by any path
(PRODUCT.md section 2, muc/visibility.c): presence fan-out, the roster on
join, self-presence, history, disco counts and items, nick conflicts, iq and
private messages to its nick, error texts, status messages, groupchat,
nick and presence changes, leaving, destruction and shutdown.

The test desk (tests/muc/testdesk.c) makes super* users invisible
privileged occupants, agent* privileged, everyone else a customer.  Every
stanza the customer receives is kept and searched at the end for any trace
of the observer."""

import signal

from muc_support import (NS, body, codes_of, error, item, messages, muc,  # noqa: F401
                         presences, room_jid, self_presence, text_of, to)

ROOM = "t42"
ROOMS = "t42 hidden members_only semi_anonymous pm_privileged_only persistent"
CUST = "cust@anon.localhost/web"
CUST2 = "cust2@anon.localhost/web"
AGENT = "agent1@localhost/desk"
OBS = "super1@localhost/laptop"
OBS_NICK = "Boss"


def test_invisible_observer_leaks_nowhere(muc):
    m = muc.start(rooms=ROOMS)
    seen = []          # everything the customer received

    def run(xml_or_out):
        out = m.exchange(xml_or_out) if isinstance(xml_or_out, str) else xml_or_out
        seen.extend(to(out, CUST))
        seen.extend(to(out, CUST2))
        return out

    run(m.join(CUST, ROOM, "Customer"))
    run(m.join(AGENT, ROOM, "Agent"))

    # --- the observer joins: staff see it, marked; the customer nothing.
    out = run(m.join(OBS, ROOM, OBS_NICK))
    assert to(out, CUST) == []
    to_agent = presences(out, AGENT)
    assert [p.get("from") for p in to_agent] == [room_jid(ROOM, OBS_NICK)]
    assert to_agent[0].xpath("*[local-name()='x' and namespace-uri()='urn:mucdesk:observer']")
    assert to_agent[0].xpath("string(*[local-name()='status'])").startswith("Observer")
    own = self_presence(out, OBS)
    assert own.xpath("*[local-name()='x' and namespace-uri()='urn:mucdesk:observer']")
    roster = [p.get("from") for p in presences(out, OBS) if 110 not in codes_of(p)]
    assert sorted(roster) == sorted([room_jid(ROOM, "Customer"), room_jid(ROOM, "Agent")])

    # --- a second customer's roster on join: no observer.
    out = run(m.join(CUST2, ROOM, "Other"))
    assert room_jid(ROOM, OBS_NICK) not in [p.get("from") for p in presences(out, CUST2)]

    # --- disco#info counts and disco#items, as each asker may see.
    def count_for(jid):
        reply, _ = m.iq(jid, room_jid(ROOM),
                        "<query xmlns='http://jabber.org/protocol/disco#info'/>")
        return reply.xpath("string(info:query/x:x/x:field[@var='muc#roominfo_occupants']/x:value)",
                           namespaces=NS)
    assert count_for(CUST) == "3"
    assert count_for(AGENT) == "4"
    assert count_for("stranger@localhost/x") == "3"
    reply, _ = m.iq(CUST, room_jid(ROOM), "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    seen.append(reply)
    assert OBS_NICK not in [i.get("name") for i in reply.xpath("items:query/items:item",
                                                               namespaces=NS)]
    reply, _ = m.iq(AGENT, room_jid(ROOM), "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert OBS_NICK in [i.get("name") for i in reply.xpath("items:query/items:item",
                                                           namespaces=NS)]

    # --- iq to the observer's nick: exactly the answer for a free nick.
    def iq_answer(nick, payload):
        reply, rest = m.iq(CUST, room_jid(ROOM, nick), payload)
        seen.append(reply)
        assert rest == [] or all(s.get("to") != OBS for s in rest)
        return (reply.get("type"), reply.get("from").split("/")[0], error(reply))
    for payload in ("<vCard xmlns='vcard-temp'/>", "<ping xmlns='urn:xmpp:ping'/>",
                    "<query xmlns='jabber:iq:version'/>"):
        assert iq_answer(OBS_NICK, payload) == iq_answer("NobodyAtAll", payload)

    # --- private messages: off the record, and the observer's nick is
    # indistinguishable from a free one (or from a staff member's).
    def pm_answer(nick):
        out = run(m.pm(CUST, ROOM, nick, "psst"))
        assert [s for s in out if s.get("to") in (OBS, AGENT)] == []
        return error(out[0])
    assert pm_answer(OBS_NICK) == pm_answer("NobodyAtAll") == pm_answer("Agent")
    assert pm_answer(OBS_NICK)[1] == "not-acceptable"
    # The observer writes privately to staff, never to the customer.
    out = run(m.pm(OBS, ROOM, "Agent", "quiet word"))
    assert [s.get("from") for s in messages(out, AGENT)] == [room_jid(ROOM, OBS_NICK)]
    out = run(m.pm(OBS, ROOM, "Customer", "hello customer"))
    assert error(out[0])[1] == "not-acceptable" and to(out, CUST) == []

    # --- the observer cannot speak in the room.
    out = run(m.groupchat(OBS, ROOM, "can you hear me"))
    assert error(out[0])[1] == "forbidden" and to(out, CUST) == []
    assert len(error(out[0])[2]) > 10  # a helpful text, for the observer
    # ...nor change the subject.
    out = run("<message type='groupchat' from='%s' to='%s'><subject>x</subject></message>"
              % (OBS, room_jid(ROOM)))
    assert error(out[0])[1] == "forbidden" and to(out, CUST) == []

    # --- staff-only status messages go to staff only, now and in history.
    out = run("<message type='groupchat' from='%s' to='%s'><body>/note observer on board"
              "</body></message>" % (AGENT, room_jid(ROOM)))
    assert to(out, CUST) == []
    assert [body(s) for s in messages(out, OBS) if body(s) != "ok /note"] == \
        ["observer on board"]

    # --- the observer changes its presence and its nick: staff only.
    out = run("<presence from='%s' to='%s'><show>away</show></presence>"
              % (OBS, room_jid(ROOM, OBS_NICK)))
    assert presences(out, AGENT) and to(out, CUST) == []
    out = run("<presence from='%s' to='%s'/>" % (OBS, room_jid(ROOM, "Chief")))
    assert codes_of(presences(out, AGENT)[0]) == {303}
    assert to(out, CUST) == []
    obs_nick = "Chief"

    # --- the customer takes the observer's nick: no conflict; the observer
    # is renamed, seen only by staff (and itself, with 110 and 210).
    out = run("<presence from='%s' to='%s'/>" % (CUST, room_jid(ROOM, obs_nick)))
    assert not [s for s in to(out, CUST) if s.get("type") == "error"]
    assert all(codes_of(p) <= {110, 303} for p in presences(out, CUST))
    renamed = [p for p in presences(out, OBS) if codes_of(p) == {110, 210}]
    assert renamed and renamed[0].get("from") == room_jid(ROOM, obs_nick + " (2)")
    assert [p for p in presences(out, AGENT) if 303 in codes_of(p)
            and item(p).get("nick") == obs_nick + " (2)"]
    obs_nick += " (2)"
    # The customer's second client joining under the customer's new nick
    # is fine; a *new* user taking the renamed nick also gets it.
    out = run(m.join(CUST2, ROOM, obs_nick))  # a nick change for CUST2
    assert not [s for s in to(out, CUST2) if s.get("type") == "error"]
    obs_nick += " (2)"

    # --- becoming visible: everyone gets a join presence; invisible again:
    # an unavailable one.  (While visible it is an ordinary occupant.)
    out = run("<message type='groupchat' from='%s' to='%s'><body>/visible</body></message>"
              % (OBS, room_jid(ROOM)))
    came = presences(out, CUST)
    assert [p.get("from") for p in came] == [room_jid(ROOM, obs_nick)]
    assert came[0].get("type") is None
    assert not came[0].xpath("*[local-name()='x' and namespace-uri()='urn:mucdesk:observer']")
    out = run("<message type='groupchat' from='%s' to='%s'><body>/invisible</body></message>"
              % (OBS, room_jid(ROOM)))
    gone = presences(out, CUST)
    assert [(p.get("from"), p.get("type")) for p in gone] == \
        [(room_jid(ROOM, obs_nick), "unavailable")]
    # What the customer learnt then was public; from here on nothing again.
    public_until = len(seen)

    # --- the observer leaves and comes back: nothing for the customer.
    out = run(m.leave(OBS, ROOM, obs_nick))
    assert to(out, CUST) == []
    out = run(m.join(OBS, ROOM, "Boss"))
    assert to(out, CUST) == []

    # --- the service shuts down: each occupant hears only about itself.
    m.srv.take_all()
    m.md.send_signal(signal.SIGTERM)
    assert m.md.wait_exit(15) == 0
    out = m.srv.take_all()
    seen.extend(to(out, CUST))
    mine = presences(out, CUST)
    assert [(p.get("from"), codes_of(p)) for p in mine] == \
        [(room_jid(ROOM, "Chief"), {110, 332})]

    # --- nothing the customer ever received names the observer (outside
    # the moment it chose to be visible).
    leaked = text_of(seen[:8] + seen[public_until:])
    for trace in ("Boss", "super1", "urn:mucdesk:observer", "Observer", "observ"):
        assert trace not in leaked, "%r reached the customer:\n%s" % (trace, leaked)
