"""A restart of mucdesk with open chats: the session rooms come back from
PostgreSQL, customers and agents notice (self-ping) and rejoin, the chat
goes on; waiting chats are routed again.  And mucdeskctl changes reach the
running daemon."""

import signal

from desk_e2e import (command, desk, expect_invite, expect_notice, jid, join,  # noqa: F401
                      join_queue, request_chat, say, ticket_row, wait_for)
from mdtest.stanzas import error_condition, muc_status_codes


def test_open_chats_survive_a_restart(desk, xmpp, db):
    md = desk(queues=[("billing", "round-robin")],
              agents=[("billing", "agent1@localhost", "agent")])
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    room, ticket = chat["room"], chat["ticket"]
    join(customer, room, "Ann")
    expect_invite(agent, room)
    join(agent, room, "Alex")
    say(customer, room, "before the restart")
    agent.expect("/s:message[@from='%s/Ann']" % room)
    waiting = xmpp.anonymous()
    chat2 = request_chat(waiting, "billing", name="Bob")   # agent1 may take 3
    expect_invite(agent, chat2["room"])                    # offered, not taken

    assert md.stop(signal.SIGTERM) == 0
    customer.expect("/s:presence[@type='unavailable'][@from='%s/Ann']" % room)
    mark = md.mark()
    md.start()
    md.wait_for_log("open ticket(s) restored", after=mark)
    md.wait_for_log("component link up", after=mark)
    assert "2 open ticket(s) restored" in md.log_text(after=mark)

    # The customer's self-ping says "not an occupant": they rejoin.
    ping = customer.send_iq("<iq type='get' to='%s/Ann'><ping xmlns='urn:xmpp:ping'/></iq>"
                            % room)
    assert error_condition(ping)[1] == "not-acceptable"
    assert 110 in muc_status_codes(join(customer, room, "Ann"))
    join_queue(agent, "billing", "Alex")
    assert 110 in muc_status_codes(join(agent, room, "Alex"))
    say(customer, room, "after the restart")
    agent.expect("/s:message[@from='%s/Ann']/s:body[.='after the restart']" % room)
    # The waiting chat is offered again.
    expect_invite(agent, chat2["room"])
    say(agent, room, "/close resolved")
    wait_for(lambda: ticket_row(db, ticket, "status, owner_jid")
             == [("RESOLVED", "agent1@localhost")], what="closed after the restart")


def test_mucdeskctl_changes_reach_the_running_daemon(desk, xmpp, db):
    md = desk(queues=[("billing", "round-robin")], agents=[])
    agent = xmpp.login("agent2")
    refused = join(agent, jid("billing"), "Al")
    assert error_condition(refused)[1] == "registration-required"
    # The JID is prepared as XMPP does (case): the daemon compares it so.
    md.run_ctl(["agent-add", "billing", "Agent2@LocalHost", "--role", "agent"], check=True)
    md.wait_for_log("1 membership(s)", after=0)
    join_queue(agent, "billing", "Al")
    md.run_ctl(["queue-create", "sales", "--name", "Sales", "--strategy", "least-busy"],
               check=True)
    md.wait_for_log("queue sales (least-busy)", after=0)
    customer = xmpp.anonymous()
    assert request_chat(customer, "sales")["position"] == "1"
    # Removing the agent puts them out of the queue room.
    md.run_ctl(["agent-remove", "billing", "agent2@localhost"], check=True)
    agent.expect("/s:presence[@type='unavailable'][@from='%s/Al']" % jid("billing"))
    listing = md.run_ctl(["queue-list"], check=True).stdout
    assert "billing\tbilling\tround-robin" in listing and "sales\tSales\tleast-busy" in listing
    bad = md.run_ctl(["queue-create", "ticket-9"])
    assert bad.returncode == 2
    assert md.run_ctl(["queue-create", "sales"]).returncode == 2   # exists
    md.run_ctl(["queue-delete", "sales"], check=True)
    md.wait_for_log("queue sales removed", after=0)


def test_after_a_restart_who_does_not_come_back_is_taken_as_gone(desk, xmpp, db):
    md = desk(queues=[("billing", "round-robin")],
              agents=[("billing", "agent1@localhost", "agent")])
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    stays, goes = xmpp.anonymous(), xmpp.anonymous()
    c1 = request_chat(stays, "billing", name="Stays")
    join(stays, c1["room"], "Stays")
    expect_invite(agent, c1["room"])
    join(agent, c1["room"], "Alex")
    c2 = request_chat(goes, "billing", name="Goes")
    join(goes, c2["room"], "Goes")
    assert md.stop(signal.SIGTERM) == 0
    mark = md.mark()
    md.start()
    md.wait_for_log("open ticket(s) restored", after=mark)
    md.wait_for_log("component link up", after=mark)
    # The customer of chat 1 comes back, its agent does not; the customer
    # of chat 2 does not: after three graces (2 s each here) chat 1 is back
    # in the queue and chat 2 is over, waiting for an answer.
    join(stays, c1["room"], "Stays")
    wait_for(lambda: ticket_row(db, c1["ticket"], "status, owner_jid") == [("QUEUED", None)],
             timeout=15, what="chat 1 requeued")
    wait_for(lambda: ticket_row(db, c2["ticket"], "status, ended_at IS NOT NULL")
             == [("QUEUED", "t")], timeout=15, what="chat 2 ended")
