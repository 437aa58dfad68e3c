"""Issue 13, "help agents juggle several chats", through Prosody and
slixmpp: each chat's answer clock (how long its customer has waited for an
answer), the staff-only reminder past the queue's answer-reminder,
`my-chats` and `!chats` the longest unanswered first, and the
supervisors' `board` and `!board`."""

import re

from desk_e2e import (DOMAIN, command, expect_invite, expect_notice, jid, join,  # noqa: F401
                      join_queue, request_chat, say, ticket_row, wait_for)
from desk_e2e import desk  # noqa: F401  (the fixture)
from mdtest.stanzas import error_condition

D = DOMAIN
A = [("billing", "agent1@localhost", "agent", {"max-chats": "3"}),
     ("billing", "super1@localhost", "supervisor")]


def table(reply):
    x = reply.find(".//{jabber:x:data}x")
    return [{f.get("var"): f.findtext("{jabber:x:data}value")
             for f in item.findall("{jabber:x:data}field")}
            for item in (x.findall("{jabber:x:data}item") if x is not None else [])]


def accepted_chat(xmpp, db, agent, name):
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing", name=name)
    join(customer, chat["room"], name)
    expect_invite(agent, chat["room"])
    join(agent, chat["room"], "Alex")
    customer.expect("/s:presence[@from='%s/Alex']" % chat["room"])
    wait_for(lambda: ticket_row(db, chat["ticket"], "status") == [("INPROGRESS",)],
             what="accepted")
    return customer, chat


def test_answer_clock_reminder_my_chats_and_board(desk, xmpp, db):  # noqa: F811
    desk(queues=[("billing", "round-robin", {"answer-reminder": "2"})], agents=A,
         desk={"status_interval": 3})
    alex, boss = xmpp.login("agent1"), xmpp.login("super1")
    join_queue(alex, "billing", "Alex")
    join_queue(boss, "billing", "Boss", show="dnd")
    ann, first = accepted_chat(xmpp, db, alex, "Ann")
    bob, second = accepted_chat(xmpp, db, alex, "Bob")
    # Nobody waits yet: the agent's chats in ticket order.
    reply, _, _ = command(alex, D, "my-chats")
    rows = table(reply)
    assert [(r["ticket"], r["unanswered"]) for r in rows] == \
        [(first["ticket"], "0"), (second["ticket"], "0")], rows
    # Bob asks first, then Ann: Bob has waited longest.
    say(bob, second["room"], "Hello?")
    alex.expect("/s:message[@from='%s/Bob']" % second["room"])
    say(ann, first["room"], "Are you there?")
    alex.expect("/s:message[@from='%s/Ann']" % first["room"])
    reply, _, _ = command(alex, D, "my-chats")
    rows = table(reply)
    assert [r["ticket"] for r in rows] == [second["ticket"], first["ticket"]], rows
    assert all(int(r["unanswered"]) >= 1 for r in rows), rows
    say(alex, jid("billing"), "!chats")
    text = expect_notice(alex, jid("billing"), "Your chats").findtext(
        "{jabber:client}body")
    assert text.index("#%s Bob" % second["ticket"]) < text.index("#%s Ann" % first["ticket"])
    assert re.search(r"#%s Bob \(billing, active, yours\), waiting \d+s for an answer:"
                     % second["ticket"], text), text
    # Past the queue's answer-reminder: staff are reminded, once, and the
    # customer is not told.
    expect_notice(alex, second["room"], "Reminder: Bob has waited", timeout=15)
    expect_notice(alex, first["room"], "Reminder: Ann has waited", timeout=15)
    alex.expect_none("/s:message/s:body[contains(., 'Reminder: Bob')]", 4)
    bob.expect_none("/s:message/s:body[contains(., 'Reminder')]", 0.1)
    # The answer stops the clock (a canned response would too).
    say(alex, second["room"], "Here I am, Bob.")
    bob.expect("/s:message[@from='%s/Alex']" % second["room"])
    reply, _, _ = command(alex, D, "my-chats")
    rows = {r["ticket"]: r["unanswered"] for r in table(reply)}
    assert rows[second["ticket"]] == "0" and int(rows[first["ticket"]]) >= 2, rows

    # The supervisor's board: every chat with owner and waits, each member
    # with state and load.
    say(boss, jid("billing"), "!board")
    board = expect_notice(boss, jid("billing"), "chat(s):").findtext("{jabber:client}body")
    assert "2 chat(s):" in board, board
    assert re.search(r"#%s billing active agent1@localhost Ann: waiting \d+[sm], "
                     r"last message \d+[sm]" % first["ticket"], board), board
    assert "billing agent1@localhost available 2/3" in board, board
    assert "billing super1@localhost busy 0/0" in board or \
        "billing super1@localhost away" in board, board
    reply, _, notes = command(boss, D, "board")
    rows = table(reply)
    assert {r["ticket"]: r["owner"] for r in rows} == \
        {first["ticket"]: "agent1@localhost", second["ticket"]: "agent1@localhost"}
    # Agents have no board.
    say(alex, jid("billing"), "!board")
    expect_notice(alex, jid("billing"), "You are not allowed to do that")
    reply, _, _ = command(alex, D, "board", check=False)
    assert reply.get("type") == "error" and error_condition(reply)[1] in (
        "forbidden", "item-not-found")
