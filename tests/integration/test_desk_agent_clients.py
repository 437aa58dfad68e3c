"""Issue 13: what an agent on an ordinary client meets on day one, each
as slixmpp sends it the way Profanity, poezio or converse.js would.

- `!` commands (the clients keep `/` for themselves), `!help` with a
  line per command, `!time`;
- a late join takes the chat; `!decline` / `!pass`;
- the queue room's subject changes only when its counts do;
- an observer's chat states are dropped without an error;
- session details are for staff only, and every staff member gets them
  on entering, whatever history their client asks for;
- the chat's own agent may change the subject the standard way.
"""

import time

from desk_e2e import (DOMAIN, barrier, desk, expect_invite, expect_notice,  # noqa: F401
                      jid, join, join_queue, request_chat, say, ticket_row, wait_for)
from mdtest.stanzas import error_condition, to_str

Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent"),
     ("billing", "agent2@localhost", "agent"),
     ("billing", "super1@localhost", "supervisor")]


def body(el):
    return el.findtext("{jabber:client}body") or ""


def customer_waiting(xmpp, queue="billing"):
    customer = xmpp.anonymous()
    chat = request_chat(customer, queue)
    join(customer, chat["room"], "Ann")
    return customer, chat


def accepted(desk_fixture, xmpp, db, queues=Q, agents=A[:1], **kw):
    desk_fixture(queues=queues, agents=agents, **kw)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer, chat = customer_waiting(xmpp)
    expect_invite(agent, chat["room"])
    join(agent, chat["room"], "Alex")
    customer.expect("/s:presence[@from='%s/Alex']" % chat["room"])
    wait_for(lambda: ticket_row(db, chat["ticket"], "status") == [("INPROGRESS",)],
             what="accepted")
    return customer, agent, chat


def test_bang_commands_are_the_primary_form_and_never_reach_the_customer(desk, xmpp, db):
    customer, agent, chat = accepted(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    say(agent, room, "!note she is on plan B")
    expect_notice(agent, room, "Note added")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='note' AND staff_only" % ticket) == "1", what="the note")
    # !help: each command with one line of what it does, in the ! form.
    say(agent, room, "!help")
    text = body(expect_notice(agent, room, "!close"))
    lines = [line for line in text.splitlines() if line.startswith("!")]
    assert len(lines) >= 8, text
    for line in lines:
        assert " - " in line or "  " in line.strip(), "no description: %r" % line
    assert "/note" not in text, "help names the / form first: %s" % text
    # !time: the running chat time.
    say(agent, room, "!time")
    assert "running" in body(expect_notice(agent, room, "Chat time")).lower()
    # The answers say ! too.
    say(agent, room, "!nonsense")
    assert "!help" in body(expect_notice(agent, room, "Unknown command"))
    # `/` still works for clients that pass it through.
    say(agent, room, "/note second")
    expect_notice(agent, room, "Note added")
    say(agent, room, "!close resolved")
    wait_for(lambda: ticket_row(db, ticket, "status") == [("RESOLVED",)], what="closed")
    barrier(customer)
    seen = "".join(to_str(e) for e in customer.received)
    assert "plan B" not in seen and "!close" not in seen and "!help" not in seen


def test_a_late_join_takes_the_chat_and_withdraws_the_offer(desk, xmpp, db):
    desk(queues=[("billing", "round-robin", {"offer-timeout": 2})], agents=A[:2])
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "Alex")
    customer, chat = customer_waiting(xmpp)
    room, ticket = chat["room"], chat["ticket"]
    expect_invite(a1, room)
    time.sleep(3)                      # the offer expired; the agent joins anyway
    join(a1, room, "Alex")
    wait_for(lambda: ticket_row(db, ticket, "status, owner_jid")
             == [("INPROGRESS", "agent1@localhost")], what="the late join took the chat")
    # No more "waiting" talk about it, no new offers.
    a2 = xmpp.login("agent2")
    join_queue(a2, "billing", "Sam")
    a2.expect_none("/s:message/mucu:x/mucu:invite", duration=3)
    say(a1, room, "!accept")
    text = body(expect_notice(a1, room, ""))
    assert "is yours: join" not in text


def test_decline_by_text_passes_the_offer_on(desk, xmpp, db):
    desk(queues=Q, agents=A[:2])
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "Alex")
    customer, chat = customer_waiting(xmpp)
    room, ticket = chat["room"], chat["ticket"]
    inv = expect_invite(a1, room)
    assert "!decline" in to_str(inv), "the offer does not say how to decline: %s" % to_str(inv)
    a2 = xmpp.login("agent2")
    join_queue(a2, "billing", "Sam")
    say(a1, jid("billing"), "!decline %s" % ticket)
    expect_invite(a2, room, timeout=5)


def test_the_queue_subject_changes_only_when_its_counts_do(desk, xmpp, db):
    desk(queues=Q, agents=A[:1])
    a1 = xmpp.login("agent1")
    join_queue(a1, "billing", "Alex", show="dnd")    # busy: the chat keeps waiting
    customer, chat = customer_waiting(xmpp)
    a1.clear()
    time.sleep(7)                      # status_interval is 2 s in the tests
    a1.session.pump(0.2)
    subjects = [e for e in a1.take_all("/s:message[@from='%s']" % jid("billing"))
                if e.find("{jabber:client}subject") is not None]
    assert len(subjects) <= 1, [to_str(s) for s in subjects]


def test_an_observers_chat_states_are_dropped_silently(desk, xmpp, db):
    customer, agent, chat = accepted(desk, xmpp, db, agents=[A[0], A[2]])
    room, ticket = chat["room"], chat["ticket"]
    boss = xmpp.login("super1")
    join_queue(boss, "billing", "Boss")
    say(boss, jid("billing"), "!observe %s" % ticket)
    expect_invite(boss, room)
    join(boss, room, "Boss")
    boss.clear()
    for i, state in enumerate(("composing", "paused", "active", "inactive")):
        boss.send("<message type='groupchat' to='%s' id='cs%d'><%s xmlns="
                  "'http://jabber.org/protocol/chatstates'/></message>" % (room, i, state))
    boss.expect_none("/s:message[@type='error']", duration=1.5)
    barrier(customer)
    assert "Boss" not in "".join(to_str(e) for e in customer.received)


def test_session_details_are_for_staff_only_and_reach_every_staff_member(desk, xmpp, db):
    desk(queues=Q, agents=[A[0], A[2]])
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer, chat = customer_waiting(xmpp)
    room, ticket = chat["room"], chat["ticket"]
    expect_invite(agent, room)
    # As poezio does: no history on entering.
    join(agent, room, "Alex", history="<history maxstanzas='0'/>")
    told = expect_notice(agent, room, "Question:")
    assert "My invoice is wrong" in body(told)
    # The archived record told again (its stanza-id, its time): a client
    # that reads MAM as well shows it once.
    sid = told.find("{urn:xmpp:sid:0}stanza-id")
    assert sid is not None and sid.get("by") == room and sid.get("id")
    assert told.find("{urn:xmpp:delay}delay") is not None
    barrier(customer)
    seen = "".join(body(e) for e in customer.received)
    assert "Email:" not in seen and "Queue:" not in seen, seen
    boss = xmpp.login("super1")
    join_queue(boss, "billing", "Boss")
    say(boss, jid("billing"), "!observe %s" % ticket)
    expect_invite(boss, room)
    join(boss, room, "Boss", history="<history maxstanzas='0'/>")
    again = expect_notice(boss, room, "Question:")
    assert again.find("{urn:xmpp:sid:0}stanza-id").get("id") == sid.get("id")


def test_the_chats_own_agent_may_change_the_subject_the_standard_way(desk, xmpp, db):
    customer, agent, chat = accepted(desk, xmpp, db)
    room = chat["room"]
    agent.send("<message type='groupchat' to='%s' id='subj1'><subject>Invoice 4711"
               "</subject></message>" % room)
    agent.expect_none("/s:message[@type='error'][@id='subj1']", duration=1.0)
    customer.expect("/s:message[@from='%s/Alex'][s:subject='Invoice 4711']" % room)
