"""Routing: offers, timeout and decline, each strategy's pick, routing
again when an agent frees a slot or becomes available, no agent within the
queue's maximum wait."""

from desk_e2e import (command, desk, desk_event, expect_desk_event, expect_invite,  # noqa: F401
                      expect_notice, jid, join, join_queue, request_chat, say, ticket_row,
                      wait_for)


def decline(agent, room, customer_jid="x@y"):
    agent.send("<message to='%s'><x xmlns='http://jabber.org/protocol/muc#user'>"
               "<decline><reason>busy</reason></decline></x></message>" % room)


def test_decline_and_timeout_move_the_offer_on(desk, xmpp, db):
    desk(queues=[("billing", "round-robin", {"offer-timeout": 2})],
         agents=[("billing", "agent1@localhost", "agent"),
                 ("billing", "agent2@localhost", "agent")])
    a1, a2 = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(a1, "billing", "A1")
    join_queue(a2, "billing", "A2")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    room = chat["room"]
    # Round robin: agent1 first (membership order, never offered).
    expect_invite(a1, room)
    decline(a1, room)
    expect_invite(a2, room)
    # agent2 lets it expire; agent1 declined less than decline_skip ago, so
    # the offer comes back to agent1 only once the skip is over.
    again = expect_invite(a1, room, timeout=8)
    assert again is not None
    join(a1, room, "A1")
    wait_for(lambda: ticket_row(db, chat["ticket"], "owner_jid") == [("agent1@localhost",)],
             what="agent1 owns the ticket")


def test_round_robin_takes_turns(desk, xmpp, db):
    desk(queues=[("billing", "round-robin")],
         agents=[("billing", "agent1@localhost", "agent"),
                 ("billing", "agent2@localhost", "agent")])
    a1, a2 = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(a1, "billing", "A1")
    join_queue(a2, "billing", "A2")
    rooms = []
    for i in range(3):
        c = xmpp.anonymous()
        rooms.append(request_chat(c, "billing", name="C%d" % i)["room"])
        who = a1 if i % 2 == 0 else a2
        expect_invite(who, rooms[-1])
        join(who, rooms[-1], "A")


def test_least_busy_prefers_the_agent_with_fewer_chats(desk, xmpp, db):
    desk(queues=[("billing", "least-busy")],
         agents=[("billing", "agent1@localhost", "agent"),
                 ("billing", "agent2@localhost", "agent")])
    a1, a2 = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(a1, "billing", "A1")
    # agent1 alone: takes the first chat.
    c1 = xmpp.anonymous()
    r1 = request_chat(c1, "billing", name="C1")["room"]
    expect_invite(a1, r1)
    join(a1, r1, "A1")
    join_queue(a2, "billing", "A2")
    # Now agent2 has fewer chats: the next one is theirs.
    c2 = xmpp.anonymous()
    r2 = request_chat(c2, "billing", name="C2")["room"]
    expect_invite(a2, r2)
    a1.expect_none("/s:message[@from='%s']/mucu:x/mucu:invite" % r2, 0.5)


def test_skills_pick_the_agent_who_has_them(desk, xmpp, db):
    desk(queues=[("billing", "skills")],
         agents=[("billing", "agent1@localhost", "agent", {"skills": "english"}),
                 ("billing", "agent2@localhost", "agent", {"skills": "english,french"})])
    a1, a2 = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(a1, "billing", "A1")
    join_queue(a2, "billing", "A2")
    c = xmpp.anonymous()
    room = request_chat(c, "billing", skills="French")["room"]
    expect_invite(a2, room)
    a1.expect_none("/s:message[@from='%s']/mucu:x/mucu:invite" % room, 0.5)


def test_manual_announces_and_the_first_accept_wins(desk, xmpp, db):
    desk(queues=[("billing", "manual")],
         agents=[("billing", "agent1@localhost", "agent"),
                 ("billing", "agent2@localhost", "agent")])
    a1, a2 = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(a1, "billing", "A1")
    join_queue(a2, "billing", "A2")
    c = xmpp.anonymous()
    chat = request_chat(c, "billing")
    room, ticket = chat["room"], chat["ticket"]
    expect_notice(a2, jid("billing"), "New chat: ticket #%s" % ticket)
    a1.expect_none("/s:message[@from='%s']/mucu:x/mucu:invite" % room, 0.5)
    say(a2, jid("billing"), "/accept %s" % ticket)
    expect_notice(a2, jid("billing"), "Ticket #%s is offered to you" % ticket)
    expect_invite(a2, room)
    join(a2, room, "A2")
    wait_for(lambda: ticket_row(db, ticket, "owner_jid") == [("agent2@localhost",)],
             what="agent2 owns it")
    # Too late for agent1; the command itself was never shown in the room.
    say(a1, jid("billing"), "/accept %s" % ticket)
    expect_notice(a1, jid("billing"), "not waiting")
    assert not [m for m in a2.received if (m.findtext("{jabber:client}body") or "")
                .startswith("/accept")]


def test_routing_runs_again_when_an_agent_frees_up(desk, xmpp, db):
    desk(queues=[("billing", "round-robin")],
         agents=[("billing", "agent1@localhost", "agent", {"max-chats": 1})])
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "A1")
    c1, c2 = xmpp.anonymous(), xmpp.anonymous()
    r1 = request_chat(c1, "billing", name="C1")["room"]
    expect_invite(a1, r1)
    join(a1, r1, "A1")
    chat2 = request_chat(c2, "billing", name="C2")
    assert chat2["position"] == "1"
    a1.expect_none("/s:message[@from='%s']/mucu:x/mucu:invite" % chat2["room"], 0.5)
    say(a1, r1, "/close resolved")
    # The slot is free: the waiting chat is offered without a new request.
    expect_invite(a1, chat2["room"])


def test_routing_runs_again_when_an_agent_becomes_available(desk, xmpp, db):
    desk(queues=[("billing", "round-robin")],
         agents=[("billing", "agent1@localhost", "agent")])
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "A1", show="away")
    c = xmpp.anonymous()
    room = request_chat(c, "billing")["room"]
    a1.expect_none("/s:message[@from='%s']/mucu:x/mucu:invite" % room, 0.5)
    a1.send("<presence to='%s/A1'/>" % jid("billing"))
    expect_invite(a1, room)


def test_no_agent_within_max_wait_tells_the_customer(desk, xmpp, db):
    desk(queues=[("billing", "round-robin", {"max-wait": 1})],
         agents=[("billing", "agent1@localhost", "agent")])
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "A1", show="dnd")
    c = xmpp.anonymous()
    chat = request_chat(c, "billing")
    assert chat["no-agents"] == "1"
    join(c, chat["room"], "Ann")
    expect_desk_event(c, chat["room"], "no-agents", timeout=6)
    expect_notice(a1, jid("billing"), "maximum wait")
    # Agents must not miss it: announced again while it waits.
    expect_notice(a1, jid("billing"), "Still waiting for", timeout=8)
    # The customer leaves a message and goes: the ticket stays QUEUED.
    say(c, chat["room"], "Please call me back on 555-1234")
    c.send("<presence to='%s/Ann' type='unavailable'><desk xmlns='urn:mucdesk:0' "
           "event='leave'/></presence>" % chat["room"])
    wait_for(lambda: ticket_row(db, chat["ticket"], "status, ended_at IS NOT NULL")
             == [("QUEUED", "t")], what="ticket stays QUEUED")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "body LIKE '%%555-1234%%'" % chat["ticket"]) == "1",
             what="the message is on the ticket")


def test_an_agent_freed_in_one_queue_is_offered_the_chat_of_another(desk, xmpp, db):
    # agent1 staffs two queues.  Holding billing's offer, they get none of
    # sales'; declining it frees them for sales at once, without waiting
    # for another change in sales (routing used to run for the declined
    # chat's queue only).
    desk(queues=[("billing", "round-robin"), ("sales", "round-robin")],
         agents=[("billing", "agent1@localhost", "agent"),
                 ("sales", "agent1@localhost", "agent")])
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "A1")
    join_queue(a1, "sales", "A1")
    c1, c2 = xmpp.anonymous(), xmpp.anonymous()
    billing = request_chat(c1, "billing", name="C1")["room"]
    expect_invite(a1, billing)
    sales = request_chat(c2, "sales", name="C2")["room"]
    a1.expect_none("/s:message[@from='%s']/mucu:x/mucu:invite" % sales, 0.5)
    decline(a1, billing)
    expect_invite(a1, sales, timeout=3)
