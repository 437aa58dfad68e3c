"""Issue 14: a session room's MAM gives back the joins, leaves, transfers
and status changes its transcript shows, worded as the transcript words
them, to whom the transcript shows them.  A customer, an agent who
forwards the chat to another agent, an invisible supervisor (/observe):
the new agent's MAM has, from the room's bare JID, exactly the staff
transcript's "* ..." lines (the observer's included: staff saw it), the
customer's exactly the customer transcript's (no join, leave or transfer
at all, and never the observer, by ids, by 'with' or in the metadata
either).  RSM pages, first/last and fin complete count the same items."""

import re

from desk_e2e import (DESK_NICK, barrier, ctl, desk, desk_sender,  # noqa: F401
                      expect_invite, expect_notice, jid, join, join_queue, request_chat, say, ticket_row, wait_for)
from mdtest.stanzas import NS, error_condition, to_str

Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent"),
     ("billing", "agent2@localhost", "agent"),
     ("billing", "super1@localhost", "supervisor")]
EVENTS = {"join", "leave", "transfer", "status", "rating"}
DESK = "{urn:mucdesk:0}desk"


def mam(client, room, form="", rsm="<max>100</max>"):
    """One MAM query on room; (results, fin iq)."""
    qid = "q%d" % mam.n
    mam.n += 1
    x = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
         "<value>urn:xmpp:mam:2</value></field>%s</x>" % form) if form else ""
    fin = client.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2' queryid='%s'>"
                         "%s<set xmlns='http://jabber.org/protocol/rsm'>%s</set></query></iq>"
                         % (room, qid, x, rsm))
    return client.take_all("/s:message/mam:result[@queryid='%s']" % qid), fin


mam.n = 1


def inner(result):
    return result.find("{urn:xmpp:mam:2}result/{urn:xmpp:forward:0}forwarded/"
                       "{jabber:client}message")


def result_id(result):
    return result.find("{urn:xmpp:mam:2}result").get("id")


def room_lines(results, sender):
    """The bodies of the results from the room itself (status messages and
    the events; `sender` is where the desk speaks from to the reader:
    desk_sender()), oldest first."""
    out = []
    for r in results:
        m = inner(r)
        if m.get("from") == sender and m.find("{jabber:client}body") is not None:
            out.append((m.findtext("{jabber:client}body") or "").rstrip("\n"))
    return out


def action_lines(transcript):
    """The transcript's "* ..." lines (not the subject), "[staff] " dropped."""
    entries = re.split(r"\n\[\d\d:\d\d:\d\d\] ", transcript)[1:]
    out = []
    for e in entries:
        e = re.sub(r"\n--- \d{4}-\d\d-\d\d ---$", "", e.rstrip("\n"))
        if e.startswith("[staff] "):
            e = e[len("[staff] "):]
        if e.startswith("* ") and not e.startswith("* subject: "):
            out.append(e[2:])
    return out


def fin_set(fin):
    s = fin.find("{urn:xmpp:mam:2}fin/{http://jabber.org/protocol/rsm}set")
    return (fin.find("{urn:xmpp:mam:2}fin").get("complete"),
            s.findtext("{http://jabber.org/protocol/rsm}first"),
            s.findtext("{http://jabber.org/protocol/rsm}last"))


def metadata(client, room):
    reply = client.send_iq("<iq type='get' to='%s'><metadata xmlns='urn:xmpp:mam:2'/></iq>"
                           % room)
    md = reply.find("{urn:xmpp:mam:2}metadata")
    return (md.find("{urn:xmpp:mam:2}start").get("id"),
            md.find("{urn:xmpp:mam:2}end").get("id"))


def test_session_mam_shows_what_the_transcript_shows(desk, xmpp, db):  # noqa: F811
    md = desk(queues=Q, agents=A)
    alex = xmpp.login("agent1")
    join_queue(alex, "billing", "Alex")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    room, ticket = chat["room"], chat["ticket"]
    join(customer, room, "Ann")
    expect_invite(alex, room)
    join(alex, room, "Alex")
    customer.expect("/s:presence[@from='%s/Alex']" % room)
    wait_for(lambda: ticket_row(db, ticket, "status") == [("INPROGRESS",)], what="accepted")

    # A supervisor observes, invisibly.
    boss = xmpp.login("super1")
    join_queue(boss, "billing", "Boss")
    say(boss, jid("billing"), "/observe %s" % ticket)
    expect_notice(boss, jid("billing"), "observe ticket #%s" % ticket)
    expect_invite(boss, room)
    own = join(boss, room, "Boss")
    assert own.find(".//{urn:mucdesk:observer}x") is not None
    alex.expect("/s:presence[@from='%s/Boss']" % room)
    say(customer, room, "hello, my invoice")
    alex.expect("/s:message[@from='%s/Ann']" % room)

    # Alex forwards the chat to Cleo, who takes it by joining; Alex and
    # the observer leave.
    cleo = xmpp.login("agent2")
    say(alex, room, "!forward agent2@localhost")
    expect_invite(cleo, room)
    join(cleo, room, "Cleo")
    customer.expect("/s:presence[@from='%s/Cleo']" % room)
    wait_for(lambda: ticket_row(db, ticket, "owner_jid") == [("agent2@localhost",)],
             what="Cleo's")
    alex.send("<presence type='unavailable' to='%s/Alex'/>" % room)
    customer.expect("/s:presence[@type='unavailable'][@from='%s/Alex']" % room)
    boss.send("<presence type='unavailable' to='%s/Boss'/>" % room)
    cleo.expect("/s:presence[@type='unavailable'][@from='%s/Boss']" % room)
    say(customer, room, "thanks, bye for now")
    cleo.expect("/s:message[@from='%s/Ann']/s:body[.='thanks, bye for now']" % room)
    # Everything in PostgreSQL (shipped in order) for mucdeskctl transcript.
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "body='thanks, bye for now'" % ticket) == "1",
             timeout=20, what="the last line shipped")
    staff_text = ctl(md, "transcript", ticket).stdout
    customer_text = ctl(md, "transcript", ticket, "--view", "customer").stdout

    # Staff (Cleo): the staff transcript's lines, in order, from the room.
    staff, fin = mam(cleo, room)
    assert fin.get("type") == "result", error_condition(fin)
    staff_lines = room_lines(staff, desk_sender(cleo, room))
    assert staff_lines == action_lines(staff_text), (staff_lines, staff_text)
    for line in ("Ann entered the chat", "Alex entered the chat", "Boss entered the chat",
                 "forwarded to agent2@localhost (by agent1@localhost)",
                 "Cleo entered the chat", "Alex left the chat", "Boss left the chat"):
        assert line in staff_lines, (line, staff_lines)
    assert "] [staff] * Boss entered the chat" in staff_text
    # Each event says what it is, machine-readably.
    events = [(inner(r).find(DESK).get("event"), inner(r).find(DESK).get("nick"))
              for r in staff if inner(r).find(DESK) is not None
              and inner(r).find(DESK).get("event") in EVENTS]
    assert ("join", "Boss") in events and ("leave", "Alex") in events, events
    assert ("transfer", None) in events, events
    boss_join = [result_id(r) for r in staff if inner(r).find(DESK) is not None
                 and inner(r).find(DESK).attrib == {"event": "join", "nick": "Boss",
                                                    "jid": "super1@localhost"}]
    assert len(boss_join) == 1
    assert fin_set(fin) == ("true", result_id(staff[0]), result_id(staff[-1]))

    # The customer: the customer transcript's lines, nothing of the events.
    mine, fin = mam(customer, room)
    assert fin.get("type") == "result", error_condition(fin)
    mine_lines = room_lines(mine, desk_sender(customer, room))
    assert mine_lines == action_lines(customer_text), (mine_lines, customer_text)
    assert not [r for r in mine if inner(r).find(DESK) is not None
                and inner(r).find(DESK).get("event") in EVENTS]
    assert "Boss" not in "".join(to_str(r) for r in mine)
    # Nor of the desk's voice: the same words, from the room's JID.
    assert "%s/%s" % (room, DESK_NICK) not in "".join(to_str(r) for r in mine)
    assert "entered the chat" not in "".join(mine_lines)
    assert fin_set(fin) == ("true", result_id(mine[0]), result_id(mine[-1]))
    # Staff see more than the customer, the customer's all among them.
    mine_ids, staff_ids = [result_id(r) for r in mine], [result_id(r) for r in staff]
    assert len(staff_ids) > len(mine_ids) and set(mine_ids) < set(staff_ids)

    # The observer by every other path: by id, by 'with', in the metadata.
    ids = "<field var='ids'><value>%s</value></field>" % boss_join[0]
    _, refused = mam(customer, room, form=ids)
    assert error_condition(refused)[1] == "item-not-found"
    found, _ = mam(cleo, room, form=ids)
    assert [result_id(r) for r in found] == boss_join
    with_boss = "<field var='with'><value>%s/Boss</value></field>" % room
    none, fin = mam(customer, room, form=with_boss)
    assert fin.get("type") == "result" and none == []
    assert metadata(customer, room) == (mine_ids[0], mine_ids[-1])
    assert metadata(cleo, room) == (staff_ids[0], staff_ids[-1])

    # Paging counts the same items: staff by 4, forwards and from the end.
    paged, after = [], ""
    while True:
        page, fin = mam(cleo, room, rsm="<max>4</max>%s" % after)
        complete, first, last = fin_set(fin)
        assert len(page) <= 4 and (not page or (first, last) ==
                                   (result_id(page[0]), result_id(page[-1])))
        paged += [result_id(r) for r in page]
        if complete == "true" or not page:
            break
        after = "<after>%s</after>" % last
    assert paged == staff_ids
    tail, fin = mam(cleo, room, rsm="<max>4</max><before/>")
    assert [result_id(r) for r in tail] == staff_ids[-4:]
    tail, fin = mam(customer, room, rsm="<max>3</max><before/>")
    assert [result_id(r) for r in tail] == mine_ids[-3:]
    barrier(customer)
    assert "Boss" not in "".join(to_str(e) for e in customer.received)
