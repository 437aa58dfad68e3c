"""The life of a chat (PRODUCT.md §1), end to end: request (ad-hoc and
plain message) -> offer -> accept -> conversation -> close, with the ticket
rows checked; position updates; idempotent requests; the customer's
leaving; the last agent leaving; requeue and forward."""

from desk_e2e import (barrier, command, desk, desk_event, expect_desk_event,  # noqa: F401
                      expect_invite, expect_notice, jid, join, join_queue, request_chat,
                      say, ticket_row, wait_for)
from mdtest.stanzas import NS, error_condition, muc_status_codes

Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent")]


def wait_row(db, ticket, expected, cols="status, owner_jid"):
    return wait_for(lambda: ticket_row(db, ticket, cols) == [expected] and expected,
                    what="ticket %s row %r (is %r)" % (ticket, expected,
                                                        ticket_row(db, ticket, cols)))


def test_request_offer_accept_talk_close(desk, xmpp, db):
    desk(queues=Q, agents=A)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing", question="Invoice 17 is wrong",
                        page="https://shop.example/cart", browser="TestBrowser/1")
    room, ticket = chat["room"], chat["ticket"]
    assert room == jid("ticket-%s" % ticket)
    assert len(chat["token"]) >= 32 and chat["position"] == "1"
    assert chat["nick"] == "Ann" and chat["no-agents"] == "0"

    # The queue room hears of it; its subject counts; the agent gets the offer.
    expect_notice(agent, jid("billing"), "New chat: ticket #%s from Ann" % ticket)
    subject = agent.expect("/s:message[@from='%s']/s:subject[contains(., '1 waiting')]"
                           % jid("billing"))
    assert "agent(s) available" in subject.findtext("{jabber:client}subject")
    invite = expect_invite(agent, room)
    reason = invite.findtext(".//{%s}reason" % NS["mucu"])
    assert "#%s" % ticket in reason and "Ann" in reason and "Invoice 17" in reason

    pres = join(customer, room, "Ann")
    assert 110 in muc_status_codes(pres)
    wait_row(db, ticket, ("QUEUED", None))

    join(agent, room, "Alex")
    wait_row(db, ticket, ("INPROGRESS", "agent1@localhost"))
    customer.expect("/s:presence[@from='%s/Alex']" % room)
    say(customer, room, "hello?")
    agent.expect("/s:message[@from='%s/Ann']/s:body[.='hello?']" % room)
    say(agent, room, "Hi Ann, let me look")
    customer.expect("/s:message[@from='%s/Alex']/s:body[.='Hi Ann, let me look']" % room)

    # /close: never broadcast; the customer gets the closing message, then
    # the room is destroyed for them.
    say(agent, room, "/close resolved fixed the invoice")
    closed = expect_desk_event(customer, room, "closed")
    assert desk_event(closed)["status"] == "RESOLVED"
    gone = customer.expect("/s:presence[@type='unavailable'][@from='%s/Ann']" % room)
    assert gone.find(".//{%s}destroy" % NS["mucu"]) is not None
    expect_notice(agent, room, "closed (RESOLVED)")
    barrier(customer)
    assert not [m for m in customer.received
                if "/close" in (m.findtext("{jabber:client}body") or "")]

    row = wait_row(db, ticket, ("RESOLVED", "agent1@localhost", "t", "t"),
                   cols="status, owner_jid, accepted_at IS NOT NULL, ended_at IS NOT NULL")
    assert row
    details = db.psql("SELECT customer_name, customer_email, subject, queue, "
                      "details->>'page', details->>'browser' FROM tickets WHERE id=%s" % ticket)
    assert details == [("Ann", "ann@example.org", "Invoice 17 is wrong", "billing",
                        "https://shop.example/cart", "TestBrowser/1")]
    # The transcript starts with the session details; the command itself is
    # not in it, its effect (the note, the status) is.
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s "
                              "AND kind='note'" % ticket) == "1", what="note event")
    events = db.psql("SELECT kind, body, staff_only FROM ticket_events WHERE ticket_id=%s "
                     "ORDER BY id" % ticket)
    first_system = events[0]
    assert first_system[1].startswith("Ticket #%s\nName: Ann\nEmail: ann@example.org" % ticket)
    assert "Page: https://shop.example/cart" in first_system[1]
    assert not [e for e in events if "/close" in (e[1] or "")]
    assert ("note", "fixed the invoice", "t") in events
    assert [e for e in events if e[0] == "message" and e[1] == "hello?"]

    # The customer cannot come back in, nor read the archive; staff can.
    again = join(customer, room, "Ann")
    assert again.get("type") == "error"
    mam = customer.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2'/></iq>" % room)
    assert mam.get("type") == "error"
    fin = agent.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2' queryid='a'/>"
                        "</iq>" % room)
    assert fin.get("type") == "result"
    bodies = [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
              for r in agent.take_all("/s:message/mam:result[@queryid='a']")]
    assert "hello?" in bodies and "Hi Ann, let me look" in bodies


def test_plain_message_to_the_queue_gets_an_invitation(desk, xmpp, db):
    desk(queues=Q, agents=A)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.login("super1")    # any XMPP user, not staff of billing
    customer.send("<message type='chat' to='%s'><body>Where is my parcel?</body></message>"
                  % jid("billing"))
    explain = customer.expect("/s:message[@type='chat'][@from='%s']" % jid("billing"))
    text = explain.findtext("{jabber:client}body")
    assert "ticket #" in text
    invite = customer.expect("/s:message/mucu:x/mucu:invite")
    room = invite.get("from")
    ticket = room.split("@")[0].split("-")[1]
    agent_invite = expect_invite(agent, room)
    assert "Where is my parcel?" in agent_invite.findtext(".//{%s}reason" % NS["mucu"])
    join(customer, room, "super1")
    join(agent, room, "Alex")
    wait_row(db, ticket, ("INPROGRESS", "agent1@localhost"))
    # Asking again gives the same chat, not a second ticket.
    customer.send("<message type='chat' to='%s'><body>hello?</body></message>" % jid("billing"))
    again = customer.expect("/s:message[@type='chat'][@from='%s']" % jid("billing"))
    assert "already" in again.findtext("{jabber:client}body")
    assert "#%s" % ticket in again.findtext("{jabber:client}body")
    assert db.value("SELECT count(*) FROM tickets") == "1"
    say(agent, room, "/close resolved")
    wait_row(db, ticket, ("RESOLVED", "agent1@localhost"))


def test_request_is_idempotent_and_positions_are_pushed(desk, xmpp, db):
    desk(queues=Q, agents=A)
    c1 = xmpp.anonymous()
    c2 = xmpp.anonymous()
    first = request_chat(c1, "billing", name="One")
    second = request_chat(c2, "billing", name="Two")
    assert (first["position"], second["position"]) == ("1", "2")
    assert first["no-agents"] == "1"
    again = request_chat(c1, "billing", name="One")
    assert again["ticket"] == first["ticket"] and again["room"] == first["room"]
    join(c1, first["room"], "One")
    join(c2, second["room"], "Two")
    ev = expect_desk_event(c2, second["room"], "queue")
    assert desk_event(ev)["position"] == "2" and int(desk_event(ev)["wait"]) > 0
    # The first leaves for good: the second moves up at once.
    c1.send("<presence to='%s/One' type='unavailable'><desk xmlns='urn:mucdesk:0' "
            "event='leave'/></presence>" % first["room"])
    ev = expect_desk_event(c2, second["room"], "queue")
    assert desk_event(ev)["position"] == "1"
    wait_row(db, first["ticket"], ("RESOLVED", None))
    assert db.value("SELECT count(*) FROM tickets") == "2"


def test_new_tickets_are_rate_limited_service_wide(desk, xmpp, db):
    """[desk] new_tickets_per_minute: beyond it, request-chat, a message
    left and a plain message to the queue are refused with
    resource-constraint (no ticket written); a customer who already has a
    chat still gets it back."""
    md = desk(queues=Q, agents=A, desk={"new_tickets_per_minute": 2})
    first = xmpp.anonymous()
    chat = request_chat(first, "billing", name="One")
    request_chat(xmpp.anonymous(), "billing", name="Two")
    wait_for(lambda: db.value("SELECT count(*) FROM tickets") == "2", what="2 tickets")
    # The third new ticket in the minute: refused, by every way in.
    third = xmpp.anonymous()
    refused, _, _ = command(third, jid("billing"), "request-chat",
                            {"name": "Three", "email": "three@example.org",
                             "question": "Hello?"}, check=False)
    assert error_condition(refused)[:2] == ("wait", "resource-constraint"), \
        error_condition(refused)
    assert "too many requests" in error_condition(refused)[2]
    left, _, _ = command(third, jid("billing"), "request-chat",
                         {"name": "Three", "email": "three@example.org",
                          "question": "Hello?", "offline": "1"}, check=False)
    assert error_condition(left)[1] == "resource-constraint"
    plain = xmpp.login("super1")
    plain.send("<message type='chat' to='%s'><body>Anyone?</body></message>" % jid("billing"))
    answer = plain.expect("/s:message[@type='chat'][@from='%s']" % jid("billing"))
    assert "too many requests" in answer.findtext("{jabber:client}body")
    # The first customer asking again gets their chat, not a refusal.
    again = request_chat(first, "billing", name="One")
    assert again["ticket"] == chat["ticket"] and again["room"] == chat["room"]
    md.wait_for_log("more than 2 new tickets a minute: 1 request(s) refused")
    barrier(first)
    assert db.value("SELECT count(*) FROM tickets") == "2"
