"""The agent's side of the desk as typed in a real terminal client:
Profanity (Debian's 0.13) driven through tmux (mdtest.terminal), against
the test's Prosody (or ejabberd) and mucdesk; the customer is slixmpp.

What an agent reads is checked on Profanity's screen, what the desk did
in PostgreSQL, and what the customer got on the customer's connection.
"""

import re
import time

import pytest

from desk_e2e import (DOMAIN, desk, join, request_chat, say, ticket_row,  # noqa: F401
                      wait_for)
from mdtest.terminal import Profanity

Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent")]


@pytest.fixture
def profanity(xmpp_server, accounts, run_dir):
    """make(jid) -> a started Profanity logged in as jid; all stopped at
    teardown."""
    started = []

    def make(jid):
        p = Profanity(run_dir / ("profanity-" + jid.split("@")[0]), jid, accounts[jid],
                      xmpp_server.c2s_port)
        started.append(p)
        return p.start()

    yield make
    for p in started:
        p.stop()


def queue_room(p, queue="billing"):
    p.command("/join %s@%s nick Alex" % (queue, DOMAIN))
    p.wait_for("You have joined the room as Alex")


def customer_chat(xmpp, queue="billing", question="My invoice is wrong"):
    customer = xmpp.anonymous()
    chat = request_chat(customer, queue, question=question)
    join(customer, chat["room"], "Ann")
    return customer, chat


def test_an_agent_in_profanity_sees_the_offer_takes_the_chat_and_closes_it(
        desk, xmpp, db, profanity):
    desk(queues=Q, agents=A)
    p = profanity("agent1@localhost")
    queue_room(p)
    customer, chat = customer_chat(xmpp)
    room, ticket = chat["room"], chat["ticket"]

    # The queue room says a chat waits; the offer is an invitation, which
    # Profanity shows in its console window with the way to accept it.
    p.wait_for("New chat: ticket #%s from Ann: My invoice is wrong" % ticket)
    p.window(1)
    p.wait_for("Use '/join %s' to accept the invitation" % room)

    # Accepting the way Profanity says: the agent enters the room, the
    # ticket is theirs, and they read the session details.
    p.command("/join %s nick Alex" % room)
    p.wait_for("You have joined the room as Alex")
    p.wait_for(re.compile(r"Question: My invoice is wrong"))
    wait_for(lambda: ticket_row(db, ticket, "status, owner_jid")
             == [("INPROGRESS", "agent1@localhost")], what="the chat accepted")
    customer.expect("/s:presence[@from='%s/Alex']" % room)

    # Both ways: the customer's line on the agent's screen, the agent's
    # line at the customer.
    say(customer, room, "Hello, is anyone there?")
    p.wait_for("Ann: Hello, is anyone there?")
    p.command("Hi Ann, I am looking at your invoice")
    customer.expect("/s:message[@type='groupchat'][s:body='Hi Ann, I am looking at "
                    "your invoice']")

    # A text command as Profanity lets it through (its own /note is
    # Profanity's: a second slash sends the text): answered for the agent,
    # a staff-only note in the ticket, never shown to the customer.
    p.command("//note she is on plan B")
    p.wait_for("Note added (staff only).")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id = %s "
                              "AND staff_only AND body LIKE '%%she is on plan B%%'"
                              % ticket) == "1", what="the note stored")

    p.command("//close resolved")
    p.wait_for("Ticket #%s closed (RESOLVED)." % ticket)
    wait_for(lambda: ticket_row(db, ticket, "status") == [("RESOLVED",)],
             what="the ticket resolved")
    customer.expect("/s:message[contains(s:body, 'This chat has ended')]")
    customer.session.pump(0.5)
    bodies = [m.findtext("{jabber:client}body") or ""
              for m in customer.take_all("/s:message")]
    assert not [b for b in bodies if "plan B" in b or "/close" in b or "/note" in b], \
        "the customer saw a command or a note: %r" % bodies


def test_an_agent_in_profanity_joins_late_and_works_with_bang_commands(
        desk, xmpp, db, profanity):
    desk(queues=[("billing", "round-robin", {"offer-timeout": 2})], agents=A)
    p = profanity("agent1@localhost")
    queue_room(p)
    customer, chat = customer_chat(xmpp)
    room, ticket = chat["room"], chat["ticket"]
    p.wait_for("New chat: ticket #%s from Ann: My invoice is wrong" % ticket)
    # The offer names the way to pass on it that works in Profanity.
    p.window(1)
    p.wait_for("!decline %s" % ticket)
    # The offer expires while the agent reads the console; they enter the
    # room anyway, and that takes the chat.
    time.sleep(3)
    p.command("/join %s nick Alex" % room)
    p.wait_for("You have joined the room as Alex")
    wait_for(lambda: ticket_row(db, ticket, "status, owner_jid")
             == [("INPROGRESS", "agent1@localhost")], what="the late join took the chat")
    p.wait_for(re.compile(r"Question: My invoice is wrong"))

    # ! commands, typed as they are: Profanity sends them as text.
    p.command("!help")
    p.wait_for("!note TEXT - a note on the ticket, for staff only")
    p.wait_for("!close resolved|queued [queue]|inprogress [note] - end the chat")
    p.command("!time")
    p.wait_for(re.compile(r"Chat time: \d+ min \d+ s, running\."))
    p.command("!note she is on plan C")
    p.wait_for("Note added (staff only).")
    p.command("!close resolved")
    p.wait_for("Ticket #%s closed (RESOLVED)." % ticket)
    wait_for(lambda: ticket_row(db, ticket, "status") == [("RESOLVED",)],
             what="the ticket resolved")
    customer.expect("/s:message[contains(s:body, 'This chat has ended')]")
    customer.session.pump(0.5)
    seen = [m.findtext("{jabber:client}body") or "" for m in customer.take_all("/s:message")]
    assert not [b for b in seen if "plan C" in b or "!" in b[:1] or "Question:" in b], \
        "the customer saw a command, a note or the details: %r" % seen


def test_an_agent_in_profanity_juggles_chats_and_works_a_ticket_after_its_chat(
        desk, xmpp, db, profanity):
    """Issues 13 and 14 as typed in Profanity: !chats shows who waits for
    an answer; the chat closed queued is found with !tickets in the queue
    room and resolved there with !ticket-update."""
    desk(queues=Q, agents=A)
    p = profanity("agent1@localhost")
    queue_room(p)
    customer, chat = customer_chat(xmpp)
    room, ticket = chat["room"], chat["ticket"]
    p.wait_for("New chat: ticket #%s from Ann" % ticket)
    p.command("/join %s nick Alex" % room)
    p.wait_for("You have joined the room as Alex")
    wait_for(lambda: ticket_row(db, ticket, "status") == [("INPROGRESS",)],
             what="accepted")
    say(customer, room, "Can you call me back?")
    p.wait_for("Ann: Can you call me back?")
    p.command("!chats")
    p.wait_for(re.compile(r"#%s Ann \(billing, active, yours\), waiting \d+s" % ticket))
    p.command("!close queued")
    p.wait_for("Ticket #%s closed (QUEUED)." % ticket)
    # In the queue room (Profanity's window 2): the ticket is work to do.
    p.window(2)
    p.command("!tickets")
    p.wait_for("#%s QUEUED billing" % ticket)
    p.command('!ticket-update %s status=resolved note="called her back"' % ticket)
    p.wait_for("Ticket #%s: status RESOLVED; note." % ticket)
    wait_for(lambda: ticket_row(db, ticket, "status") == [("RESOLVED",)],
             what="resolved after the chat")
    assert db.value("SELECT count(*) FROM ticket_events WHERE ticket_id = %s AND "
                    "kind = 'note' AND staff_only AND body = 'called her back'"
                    % ticket) == "1"
