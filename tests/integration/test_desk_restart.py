"""A restart of mucdesk with open chats: the session rooms come back from
PostgreSQL, customers and agents notice (self-ping) and rejoin, the chat
goes on; waiting chats are routed again.  And mucdeskctl changes reach the
running daemon."""

import signal

from desk_e2e import (command, desk, expect_invite, expect_notice, jid, join,  # noqa: F401
                      join_queue, request_chat, say, ticket_row, wait_for)
from mdtest.stanzas import NS, error_condition, muc_status_codes


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


def mam_bodies(client, room):
    fin = client.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2' "
                         "queryid='q1'/></iq>" % room)
    if fin.get("type") != "result":
        return error_condition(fin)[1]
    return [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
            for r in client.take_all("/s:message/mam:result[@queryid='q1']")]


def test_ended_chats_after_a_restart(desk, xmpp, db):
    """Chats that ended before a restart: their rooms come back for staff
    (MAM) and the customer's rating within closed_room_hours, and none goes
    back to the queue, even one closed as QUEUED for a follow-up."""
    md = desk(queues=[("billing", "round-robin")],
              agents=[("billing", "agent1@localhost", "agent")])
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    ended = {}
    for name, close in (("Ann", "/close resolved"), ("Bob", "/close queued call back")):
        customer = xmpp.anonymous()
        chat = request_chat(customer, "billing", name=name)
        join(customer, chat["room"], name)
        expect_invite(agent, chat["room"])
        join(agent, chat["room"], "Alex")
        say(customer, chat["room"], "%s before the restart" % name)
        agent.expect("/s:message[@from='%s/%s']" % (chat["room"], name))
        say(agent, chat["room"], close)
        customer.expect("/s:presence[@type='unavailable'][@from='%s/%s']"
                        % (chat["room"], name))
        ended[name] = (customer, chat)
    ann, bob = ended["Ann"][1], ended["Bob"][1]
    wait_for(lambda: ticket_row(db, bob["ticket"], "status, ended_at IS NOT NULL")
             == [("QUEUED", "t")], what="Bob's chat closed as QUEUED")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE body LIKE "
                              "'%% before the restart'") == "2", what="archived")

    assert md.stop(signal.SIGTERM) == 0
    mark = md.mark()
    md.start()
    md.wait_for_log("open ticket(s) restored", after=mark)
    md.wait_for_log("component link up", after=mark)
    assert ("0 open ticket(s) restored; 2 ended chat room(s) kept for staff"
            in md.log_text(after=mark))

    # Staff read the ended chats over MAM; the customers, no longer members,
    # cannot.
    assert "Ann before the restart" in mam_bodies(agent, ann["room"])
    assert "Bob before the restart" in mam_bodies(agent, bob["room"])
    assert mam_bodies(ended["Ann"][0], ann["room"]) == "forbidden"
    # The chat closed as QUEUED is not offered again, nor counted waiting.
    agent.take_all()
    join_queue(agent, "billing", "Alex")
    subject = agent.expect("/s:message[@from='%s']/s:subject" % jid("billing"))
    assert subject.findtext("{jabber:client}subject").startswith("billing: 0 waiting"), \
        subject.findtext("{jabber:client}subject")
    agent.expect_none("/s:message/mucu:x/mucu:invite", duration=2.0)
    assert ticket_row(db, bob["ticket"], "status, ended_at IS NOT NULL") == [("QUEUED", "t")]
    # The customer rates with the token after the restart (the widget's end
    # screen).
    _, _, notes = command(ended["Ann"][0], "support.localhost", "rate-chat",
                          {"ticket": ann["ticket"], "token": ann["token"], "rating": "5"})
    assert notes == [("info", "Thank you for your feedback!")]
    wait_for(lambda: ticket_row(db, ann["ticket"], "rating") == [("5",)], what="rated")
