"""Abuse limits (admin guide, "Abuse and limits"), end to end: a chat
nobody enters ends and is withdrawn; re-announcements stop; one JID over
its ticket budget is refused while another still gets a chat; a burst of
fresh anonymous JIDs cannot keep a real customer of the same domain
waiting; open ad-hoc sessions are capped per JID; archive queries in flight
are capped per JID; ratings have a budget."""

import signal
import time

from desk_e2e import (command, desk, desk_sender, execute, expect_invite, expect_notice,  # noqa: F401
                      jid, join, join_queue, request_chat, submit, ticket_row, wait_for)
from mdtest.stanzas import NS, error_condition

Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent")]


def notices(client, room, contains):
    sender = desk_sender(client, room)
    return [m for m in client.received
            if m.tag == "{jabber:client}message" and m.get("from") == sender
            and contains in (m.findtext("{jabber:client}body") or "")]


def test_a_chat_nobody_enters_ends_and_is_withdrawn(desk, xmpp, db):
    """[desk] unjoined_timeout: the ticket ends RESOLVED with a staff note,
    the queue room hears it is withdrawn, the offer is withdrawn (the agent
    is free for the next customer at once), it is not announced again, and
    its room is not kept (nor brought back by a restart) as ended chats'
    rooms are: phantoms would pile up rooms for closed_room_hours."""
    md = desk(queues=[("billing", "round-robin", {"offer-timeout": 120})], agents=A,
              desk={"unjoined_timeout": 5, "reannounce_after": 1})
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    ghost = request_chat(xmpp.anonymous(), "billing", name="Ghost")
    expect_notice(agent, jid("billing"), "New chat: ticket #%s" % ghost["ticket"])
    expect_invite(agent, ghost["room"])
    withdrawn = expect_notice(agent, jid("billing"), "Withdrawn: ticket #%s" % ghost["ticket"],
                              timeout=10)
    assert "never entered" in withdrawn.findtext("{jabber:client}body")
    wait_for(lambda: ticket_row(db, ghost["ticket"], "status, accepted_at IS NULL, "
                                "ended_at IS NOT NULL") == [("RESOLVED", "t", "t")],
             what="the ticket ended")
    assert db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND kind='note' "
                    "AND body LIKE '%%never entered%%'" % ghost["ticket"]) == "1"
    # The agent's offer went with it: the next customer is offered at once
    # (not after the 120 s offer timeout).
    real = xmpp.anonymous()
    chat = request_chat(real, "billing", name="Real")
    join(real, chat["room"], "Real")
    expect_invite(agent, chat["room"], timeout=5)
    # And the ghost is not announced again.
    agent.clear()
    agent.expect_none(lambda el: "ticket #%s" % ghost["ticket"] in
                      (el.findtext("{jabber:client}body") or ""), 2.5)
    # Its room is gone, even for staff (an ended chat's room is kept).
    assert join(agent, ghost["room"], "Alex").get("type") == "error"
    # A restart does not bring it back.
    assert md.stop(signal.SIGTERM) == 0
    mark = md.mark()
    md.start()
    md.wait_for_log("open ticket(s) restored", after=mark)
    assert "; 0 ended chat room(s) kept for staff" in md.log_text(after=mark)


def test_reannouncements_back_off_and_stop(desk, xmpp, db):
    """[desk] reannounce_max: a chat nobody takes is announced again after
    reannounce_after, then twice as long after, ... at most that often."""
    desk(queues=Q, agents=A, desk={"reannounce_after": 1, "reannounce_max": 2})
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex", show="dnd")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    join(customer, chat["room"], "Ann")
    t0 = time.monotonic()
    expect_notice(agent, jid("billing"), "Still waiting for", timeout=5)
    expect_notice(agent, jid("billing"), "Still waiting for", timeout=5)
    assert time.monotonic() - t0 >= 2.5      # 1 s, then 2 s more
    # A third would come 4 s after the second: none, ever.
    agent.expect_none(lambda el: "Still waiting for" in
                      (el.findtext("{jabber:client}body") or ""), 6)


def test_one_jid_over_its_ticket_budget_is_refused_while_another_gets_a_chat(desk, xmpp, db):
    """[desk] jid_tickets_per_hour: new tickets (messages left, chats by
    form or by a plain message) from one bare JID beyond it are refused
    with resource-constraint; other JIDs are not affected."""
    desk(queues=Q, agents=A, desk={"jid_tickets_per_hour": 2})
    pest = xmpp.login("super1")
    left = {"name": "P", "email": "p@example.org", "question": "Hi", "offline": "1"}
    for _ in range(2):
        reply, res, _ = command(pest, jid("billing"), "request-chat", left)
        assert res.get("ticket"), reply
    refused, _, _ = command(pest, jid("billing"), "request-chat", left, check=False)
    assert error_condition(refused)[:2] == ("wait", "resource-constraint"), \
        error_condition(refused)
    assert "many chats in a short time" in error_condition(refused)[2]
    chat, _, _ = command(pest, jid("billing"), "request-chat",
                         {"name": "P", "email": "p@example.org", "question": "Hi"},
                         check=False)
    assert error_condition(chat)[1] == "resource-constraint"
    pest.send("<message type='chat' to='%s'><body>Anyone?</body></message>" % jid("billing"))
    answer = pest.expect("/s:message[@type='chat'][@from='%s']" % jid("billing"))
    assert "many chats in a short time" in answer.findtext("{jabber:client}body")
    # Someone else still gets a chat.
    other = request_chat(xmpp.anonymous(), "billing", name="Other")
    assert other["ticket"]
    # The archive ships the two tickets a moment after they were made.
    wait_for(lambda: db.value("SELECT count(*) FROM tickets WHERE customer_jid LIKE "
                              "'super1@%'") == "2", what="both tickets shipped")


def test_fresh_anonymous_jids_cannot_keep_a_real_customer_waiting(desk, xmpp, db):
    """The per-domain rule, as a customer lives it: whatever number of fresh
    anonymous JIDs asked for chats before them and never entered, a real
    customer of the same domain who enters their room is not refused and is
    offered to the available agent at once (within 5 s, though the offer
    timeout is 120 s and the agent holds a phantom's offer); phantoms beyond
    domain_tickets_per_minute are held (never announced nor offered), and
    at most domain_unjoined_max of them stay open (the oldest end)."""
    desk(queues=[("billing", "round-robin", {"offer-timeout": 120})], agents=A,
         desk={"domain_tickets_per_minute": 3, "domain_unjoined_max": 8})
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    phantoms = [request_chat(xmpp.anonymous(), "billing", name="P%d" % i)["ticket"]
                for i in range(9)]
    # The first three are announced, the rest held; at eight open, the
    # ninth ends the oldest, and its offer moves on to the second.
    for t in phantoms[:3]:
        expect_notice(agent, jid("billing"), "New chat: ticket #%s" % t)
    expect_notice(agent, jid("billing"), "Withdrawn: ticket #%s" % phantoms[0])
    expect_invite(agent, jid("ticket-%s" % phantoms[1]))
    # The real customer: their request (held too) ends the oldest phantom
    # again; the third gets the agent's offer...
    real = xmpp.anonymous()
    chat = request_chat(real, "billing", name="Real")
    expect_notice(agent, jid("billing"), "Withdrawn: ticket #%s" % phantoms[1])
    expect_invite(agent, jid("ticket-%s" % phantoms[2]))
    # ...which the real customer takes over as soon as they are in.
    join(real, chat["room"], "Real")
    t0 = time.monotonic()
    expect_invite(agent, chat["room"], timeout=5)
    assert time.monotonic() - t0 < 5
    expect_notice(agent, jid("billing"), "New chat: ticket #%s" % chat["ticket"])
    join(agent, chat["room"], "Alex")
    wait_for(lambda: ticket_row(db, chat["ticket"], "status, owner_jid")
             == [("INPROGRESS", "agent1@localhost")], what="the real chat is taken")
    for t in phantoms[:2]:
        wait_for(lambda: ticket_row(db, t, "status, ended_at IS NOT NULL")
                 == [("RESOLVED", "t")], what="ticket %s ended" % t)
    # Held phantoms were never announced nor offered.
    for t in phantoms[3:]:
        assert not notices(agent, jid("billing"), "New chat: ticket #%s" % t), t
        assert not [m for m in agent.received
                    if m.get("from") == jid("ticket-%s" % t)], t
    # Seven phantoms wait for a customer who will not come, no more.
    assert db.value("SELECT count(*) FROM tickets WHERE ended_at IS NULL AND "
                    "accepted_at IS NULL") == "7"


def test_open_command_sessions_are_capped_per_jid(desk, xmpp, db):
    """[desk] command_sessions_per_jid: a JID that opens more sessions than
    that loses its oldest (bad-sessionid), the others go on."""
    desk(queues=Q, agents=A, desk={"command_sessions_per_jid": 2})
    customer = xmpp.anonymous()
    sids = []
    for _ in range(3):
        first = execute(customer, jid("billing"), "request-chat")
        sids.append(first.find("{%s}command" % NS["cmd"]).get("sessionid"))
    values = submit({"name": "Ann", "email": "ann@example.org", "question": "Hi"})
    gone = execute(customer, jid("billing"), "request-chat", action="complete",
                   sessionid=sids[0], form=values, check=False)
    assert error_condition(gone)[1] == "bad-request"
    assert gone.find(".//{%s}bad-sessionid" % NS["cmd"]) is not None
    done = execute(customer, jid("billing"), "request-chat", action="complete",
                   sessionid=sids[2], form=values)
    assert done.find("{%s}command" % NS["cmd"]).get("status") == "completed"
    # Another customer is not affected.
    request_chat(xmpp.anonymous(), "billing", name="Bob")


def test_archive_queries_in_flight_are_capped_per_jid(desk, xmpp, db):
    """[muc] mam_queries_per_jid: queries sent all at once beyond it are
    refused with resource-constraint; once answered, the next is served."""
    desk(queues=Q, agents=A, overrides={"muc": {"mam_queries_per_jid": 1}})
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    room = chat["room"]
    join(customer, room, "Ann")
    customer.send("".join("<iq type='set' id='mam%d' to='%s'><query xmlns='urn:xmpp:mam:2' "
                          "queryid='q%d'/></iq>" % (i, room, i) for i in range(30)))
    replies = customer.expect_many(
        lambda el: el.tag == "{jabber:client}iq" and el.get("id", "").startswith("mam"), 30)
    refused = [r for r in replies if r.get("type") == "error"]
    assert refused and len(refused) < 30
    assert {error_condition(r)[:2] for r in refused} == {("wait", "resource-constraint")}
    assert "Too many archive queries at once" in error_condition(refused[0])[2]
    again = customer.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2'/></iq>"
                             % room)
    assert again.get("type") == "result"


def test_ratings_have_a_budget(desk, xmpp, db):
    """[desk] jid_ratings_per_hour: rate-chat beyond it is refused with
    resource-constraint (the last rating kept stays)."""
    desk(queues=Q, agents=A, desk={"jid_ratings_per_hour": 2})
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    rate = {"ticket": chat["ticket"], "token": chat["token"]}
    for stars in ("3", "4"):
        _, _, notes = command(customer, "support.localhost", "rate-chat",
                              dict(rate, rating=stars))
        assert notes == [("info", "Thank you for your feedback!")]
    refused, _, _ = command(customer, "support.localhost", "rate-chat",
                            dict(rate, rating="1"), check=False)
    assert error_condition(refused)[:2] == ("wait", "resource-constraint")
    assert "many ratings" in error_condition(refused)[2]
    wait_for(lambda: ticket_row(db, chat["ticket"], "rating") == [("4",)], what="rating 4")
    other = xmpp.anonymous()
    chat2 = request_chat(other, "billing", name="Bob")
    _, _, notes = command(other, "support.localhost", "rate-chat",
                          {"ticket": chat2["ticket"], "token": chat2["token"], "rating": "5"})
    assert notes == [("info", "Thank you for your feedback!")]
