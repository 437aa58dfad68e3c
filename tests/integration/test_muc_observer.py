"""An invisible observer, end to end through Prosody with real clients: the
customer (anonymous login) must not learn of it by any path.  Every stanza
the customer's client receives is searched for the observer at the end.

The room is set up by the test desk (tests/muc/testdesk.c): super1 joins
invisibly, agent1 is staff, the anonymous user is the customer."""

import time

from muc_e2e import (barrier, groupchat, join, mam_query, pm, room_jid,  # noqa: F401
                     status_codes, testdesk)
from mdtest.stanzas import NS, error_condition, to_str

ROOM = "s42"
ROOMS = "s42 hidden members_only semi_anonymous pm_privileged_only persistent archived ticket=42"


def observer_marker(el):
    return el.xpath("//*[local-name()='x' and namespace-uri()='urn:mucdesk:observer']")


def test_the_customer_never_learns_of_the_observer(testdesk, xmpp, db):
    testdesk(ROOMS)
    db.psql("INSERT INTO tickets (id, queue) VALUES (42, 'billing')")
    customer = xmpp.anonymous()
    agent = xmpp.login("agent1")
    boss = xmpp.login("super1")

    join(customer, ROOM, "Customer")
    join(agent, ROOM, "Agent")
    groupchat(customer, ROOM, "my printer is on fire")
    agent.expect("/s:message[s:body='my printer is on fire']")

    # The observer arrives: staff see it (marked), the customer nothing.
    own = join(boss, ROOM, "Boss")
    assert 110 in status_codes(own) and observer_marker(own)
    seen_by_agent = agent.expect("/s:presence[@from='%s']" % room_jid(ROOM, "Boss"))
    assert observer_marker(seen_by_agent)

    # Everything the customer may try, from a real client.
    customer.send_iq("<iq type='get' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'/>"
                     "</iq>" % room_jid(ROOM))
    items = customer.send_iq("<iq type='get' to='%s'><query "
                             "xmlns='http://jabber.org/protocol/disco#items'/></iq>"
                             % room_jid(ROOM))
    assert "Boss" not in to_str(items)
    answers = {}
    for nick in ("Boss", "Nobody"):
        vcard = customer.send_iq("<iq type='get' to='%s'><vCard xmlns='vcard-temp'/></iq>"
                                 % room_jid(ROOM, nick))
        ping = customer.send_iq("<iq type='get' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                                % room_jid(ROOM, nick))
        pm(customer, ROOM, nick, "hello?")
        err = customer.expect("/s:message[@type='error'][@from='%s']" % room_jid(ROOM, nick))
        answers[nick] = (error_condition(vcard), error_condition(ping), error_condition(err))
    assert answers["Boss"] == answers["Nobody"]
    # The observer writes to staff only, and may not speak in the room.
    pm(boss, ROOM, "Agent", "watch the tone")
    agent.expect("/s:message[@type='chat'][@from='%s']" % room_jid(ROOM, "Boss"))
    pm(boss, ROOM, "Customer", "hi")
    assert error_condition(boss.expect("/s:message[@type='error']"))[1] == "not-acceptable"
    groupchat(boss, ROOM, "can you see me")
    assert error_condition(boss.expect("/s:message[@type='error']"))[1] == "forbidden"
    # A staff-only note; the observer's presence changes; it leaves.
    groupchat(agent, ROOM, "/note supervisor present")
    boss.expect("/s:message[s:body='supervisor present']")
    boss.send("<presence to='%s'><show>dnd</show></presence>" % room_jid(ROOM, "Boss"))
    agent.expect("/s:presence[@from='%s'][s:show='dnd']" % room_jid(ROOM, "Boss"))
    # The customer takes the observer's nick: no conflict.
    customer.send("<presence to='%s'/>" % room_jid(ROOM, "Boss"))
    mine = customer.expect("/s:presence[@from='%s']" % room_jid(ROOM, "Boss"))
    assert mine.get("type") is None and 110 in status_codes(mine)
    boss.expect("/s:presence[mucu:x/mucu:status/@code='210']".replace("mucu:", "*[local-name()='x']/") if False
                else "/s:presence[@from='%s']" % room_jid(ROOM, "Boss (2)"))

    # A late join of a second customer client: the roster has no observer.
    customer2 = xmpp.anonymous()
    join(customer2, ROOM, "Helper")
    roster = [p.get("from") for p in customer2.take_all("/s:presence")]
    assert room_jid(ROOM, "Boss (2)") not in roster

    # The archive: the customer's MAM has no observer record, staff's has
    # the note.  (Records are durable once shown; the query sees them.)
    results, fin = mam_query(customer, ROOM)
    assert fin.get("type") == "result"
    bodies = [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
              for r in results]
    assert "my printer is on fire" in bodies and "supervisor present" not in bodies
    results, fin = mam_query(agent, ROOM)
    assert "supervisor present" in [
        r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
        for r in results]

    boss.send("<presence type='unavailable' to='%s'/>" % room_jid(ROOM, "Boss (2)"))
    agent.expect("/s:presence[@type='unavailable'][@from='%s']" % room_jid(ROOM, "Boss (2)"))
    barrier(customer)
    barrier(boss)

    # In PostgreSQL, the observer's join and leave are staff-only.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = db.psql("SELECT kind, staff_only FROM ticket_events WHERE ticket_id = 42 "
                       "AND actor_nick LIKE 'Boss%' AND kind IN ('join', 'leave') ORDER BY id")
        if len(rows) >= 2:
            break
        time.sleep(0.2)
    assert rows and all(staff == "t" for _, staff in rows), rows

    # Nothing the customer's clients received names the observer.
    everything = "\n".join(to_str(el) for c in (customer, customer2) for el in c.received)
    for trace in ("Boss (2)", "super1", "urn:mucdesk:observer", "Observer", "supervisor present",
                  "watch the tone"):
        assert trace not in everything, "%r reached the customer" % trace
    # ...except the nick the customer itself took ("Boss"), which names the
    # customer: check no presence *from* Boss reached it other than its own.
    for el in customer.received:
        if el.get("from") == room_jid(ROOM, "Boss") and el.tag.endswith("presence"):
            assert 110 in status_codes(el)
