"""Issue 13: members have a "takes chats" setting.  By default agents take
chats and supervisors do not (a supervisor who only watches the queue room
used to be offered every chat, adding an offer timeout to each); agent-add
and mucdeskctl agent-add set it per membership, set-availability for all
of one's memberships, and an agent who takes no chats does not take a
waiting chat by entering its room either."""

from desk_e2e import (DOMAIN, barrier, command, desk, expect_invite, jid, join,  # noqa: F401
                      join_queue, request_chat, ticket_row, wait_for, wait_log)

Q = [("billing", "round-robin")]


def waiting_chat(xmpp, name="Ann"):
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing", name=name)
    join(customer, chat["room"], name)
    return customer, chat


def listed(md):
    r = md.run_ctl(["agent-list", "billing"], check=True)
    return {line.split("\t")[1]: line.split("\t")[5] for line in r.stdout.splitlines()}


def test_supervisors_are_offered_chats_only_once_they_opt_in(desk, xmpp, db):
    md = desk(queues=Q, agents=[("billing", "super1@localhost", "supervisor")])
    assert listed(md) == {"super1@localhost": "takes-chats=no"}
    sup = xmpp.login("super1")
    join_queue(sup, "billing", "Sam")
    customer, chat = waiting_chat(xmpp)
    sup.expect_none("/s:message/mucu:x/mucu:invite", 1.5)
    assert ticket_row(db, chat["ticket"], "status, owner_jid") == [("QUEUED", None)]

    _, _, notes = command(sup, DOMAIN, "set-availability",
                          {"availability": "available", "takes-chats": "yes"})
    assert ("info", "You take chats: they are offered to you when you are "
                    "available.") in notes, notes
    # Stored (the directory reloads) and routed: the waiting chat comes.
    wait_for(lambda: listed(md) == {"super1@localhost": "takes-chats=yes"},
             what="stored")
    expect_invite(sup, chat["room"])


def test_an_agent_who_takes_no_chats_is_passed_by_even_when_entering(desk, xmpp, db):
    md = desk(queues=Q, agents=[("billing", "agent1@localhost", "agent",
                                 {"takes-chats": "no"}),
                                ("billing", "agent2@localhost", "agent")])
    assert listed(md) == {"agent1@localhost": "takes-chats=no",
                          "agent2@localhost": "takes-chats=yes"}
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "Alex")
    customer, chat = waiting_chat(xmpp)
    a1.expect_none("/s:message/mucu:x/mucu:invite", 1.5)
    # Entering the waiting chat's room does not take it either.
    join(a1, chat["room"], "Alex")
    barrier(a1)
    a1.expect_none("/s:message/mucu:x/mucu:invite", 1.0)
    assert ticket_row(db, chat["ticket"], "status, owner_jid") == [("QUEUED", None)]
    # agent2 (takes chats by default) is offered it and takes it.
    a2 = xmpp.login("agent2")
    join_queue(a2, "billing", "Bea")
    expect_invite(a2, chat["room"])
    join(a2, chat["room"], "Bea")
    wait_for(lambda: ticket_row(db, chat["ticket"], "status, owner_jid")
             == [("INPROGRESS", "agent2@localhost")], what="agent2 took it")

    # agent2 stops taking chats (all queues): the next chat waits.
    _, _, notes = command(a2, DOMAIN, "set-availability", {"takes-chats": "no"})
    assert ("info", "You take no chats: none is offered to you, whatever your "
                    "availability.") in notes
    wait_for(lambda: listed(md)["agent2@localhost"] == "takes-chats=no", what="stored")
    wait_log(md, "agent2@localhost: takes chats = no")
    other, chat2 = waiting_chat(xmpp, name="Bob")
    a2.expect_none("/s:message/mucu:x/mucu:invite", 1.5)
    # Back to the role's default: offered again.
    command(a2, DOMAIN, "set-availability", {"takes-chats": "role"})
    expect_invite(a2, chat2["room"])


def test_takes_chats_refuses_nonsense_and_strangers(desk, xmpp, db):
    md = desk(queues=Q, agents=[("billing", "agent1@localhost", "agent")])
    r = md.run_ctl(["agent-add", "billing", "agent3@localhost", "--takes-chats", "maybe"])
    assert r.returncode == 2 and "--takes-chats must be yes, no or role" in r.stderr
    a1 = xmpp.login("agent1")
    reply, _, _ = command(a1, DOMAIN, "set-availability", {"takes-chats": "maybe"},
                          check=False)
    assert reply.get("type") == "error"
    assert "takes-chats: yes, no or role" in "".join(reply.itertext())
