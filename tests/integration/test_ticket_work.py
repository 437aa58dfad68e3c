"""Issue 14: tickets after the chat, through Prosody (or ejabberd), a real
PostgreSQL and slixmpp clients.  A chat closed QUEUED to another queue is
announced there; that queue's agent finds it with `tickets` (ad-hoc and
!tickets), reads it with `ticket`, answers the customer by mail with
`ticket-reply` (a fake sendmail captures it), resolves it with
`ticket-update`; the customer's answer piped to `mucdeskctl mail-in`
reopens it and is announced; merging; mucdeskctl's twins; a live chat's
status stays its room's; and who may do what, refused word for word as a
missing ticket."""

import os
import re
import stat

from desk_e2e import (DOMAIN, command, ctl, expect_invite, expect_notice, jid, join,  # noqa: F401
                      join_queue, request_chat, say, ticket_row, wait_for)
from desk_e2e import desk  # noqa: F401  (the fixture)
from mdtest.stanzas import error_condition

D = DOMAIN
Q = [("billing", "round-robin"), ("sales", "round-robin")]
A = [("billing", "agent1@localhost", "agent"),
     ("sales", "agent2@localhost", "agent")]
REFUSED = ("forbidden", "You are not allowed to do that")

RECORDING_SENDMAIL = """#!/bin/sh
# Records each run's standard input.
dir=%(dir)s
n=$(ls "$dir" | grep -c '[.]msg$' || true)
cat > "$dir/run$((n + 1)).msg"
"""


def table(reply):
    x = reply.find(".//{jabber:x:data}x")
    return [{f.get("var"): f.findtext("{jabber:x:data}value")
             for f in item.findall("{jabber:x:data}field")}
            for item in (x.findall("{jabber:x:data}item") if x is not None else [])]


def refusal(client, node, values):
    reply, _, _ = command(client, D, node, values, check=False)
    assert reply.get("type") == "error", "%s succeeded" % node
    return error_condition(reply)[1:]


def mail_setup(run_dir):
    spool = run_dir / "mail"
    spool.mkdir()
    script = run_dir / "fake-sendmail"
    script.write_text(RECORDING_SENDMAIL % {"dir": spool})
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return spool, {"mail": {"from": "support@example.org", "sendmail": str(script),
                            "retry_interval": 1, "timeout": 10}}


def chat_passed_to_sales(md_factory, xmpp, db, overrides):
    """A billing chat Alex closes `queued sales`; (md, customer, alex, sam, chat)."""
    md = md_factory(queues=Q, agents=A, overrides=overrides)
    alex, sam = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(alex, "billing", "Alex")
    join_queue(sam, "sales", "Sam")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing", question="My invoice is wrong\nand late")
    join(customer, chat["room"], "Ann")
    expect_invite(alex, chat["room"])
    join(alex, chat["room"], "Alex")
    say(customer, chat["room"], "Can sales fix my contract?")
    alex.expect("/s:message[@from='%s/Ann']" % chat["room"])
    say(alex, chat["room"], "!close queued sales contract question")
    return md, customer, alex, sam, chat


def test_a_ticket_goes_on_after_its_chat(desk, xmpp, db, run_dir):  # noqa: F811
    spool, mail = mail_setup(run_dir)
    md, customer, alex, sam, chat = chat_passed_to_sales(desk, xmpp, db, mail)
    ticket, room = chat["ticket"], chat["room"]
    # The other team is told in its queue room.
    expect_notice(sam, jid("sales"), "Ticket #%s was passed to this queue by "
                  "agent1@localhost from billing (QUEUED): My invoice is wrong" % ticket)
    wait_for(lambda: ticket_row(db, ticket, "status, queue") == [("QUEUED", "sales")],
             what="queued in sales")

    # Sam finds it: the ad-hoc table, and !tickets in the sales room.
    reply, _, notes = command(sam, D, "tickets", {"status": "open"})
    rows = table(reply)
    assert [(r["ticket"], r["status"], r["queue"], r["customer"]) for r in rows] == \
        [(ticket, "QUEUED", "sales", "Ann")], rows
    assert rows[0]["subject"].startswith("My invoice is wrong") and not rows[0]["owner"]
    assert re.fullmatch(r"\d+[smhd]", rows[0]["age"]), rows[0]
    assert notes == [("info", notes[0][1])] and notes[0][1].startswith("1 ticket(s)\n#%s QUEUED"
                                                                      % ticket)
    say(sam, jid("sales"), "!tickets owner=none")
    listed = expect_notice(sam, jid("sales"), "1 ticket(s)")
    assert "#%s QUEUED sales" % ticket in listed.findtext("{jabber:client}body")
    # Alex (billing only) sees none of sales' work.
    reply, _, _ = command(alex, D, "tickets", {})
    assert table(reply) == []

    # `ticket`: the fields and the latest lines.
    reply, out, _ = command(sam, D, "ticket", {"ticket": ticket})
    assert out["status"] == "QUEUED" and out["queue"] == "sales" and out["email"] == \
        "ann@example.org"
    lines = "\n".join(out["events"])
    assert "Ann: Can sales fix my contract?" in lines and "to queue sales" in lines, lines

    # A reply by mail: in the ticket, and mailed with [Ticket#N].
    _, _, notes = command(sam, D, "ticket-reply",
                          {"ticket": ticket, "text": "We fixed your contract.\nRegards"})
    assert notes == [("info", "Ticket #%s: your reply is in the ticket and is being mailed "
                               "to the customer." % ticket)]
    wait_for(lambda: db.psql("SELECT kind, state FROM mail_jobs WHERE ticket_id=%s"
                             " AND kind='reply'" % ticket) == [("reply", "sent")],
             timeout=20, what="reply mailed")
    msg = (spool / "run1.msg").read_text()
    head, body = msg.split("\n\n", 1)
    assert "To: ann@example.org" in head.split("\n")
    assert "Subject: Re: My invoice is wrong [Ticket#%s]" % ticket in head.split("\n")
    assert "Auto-Submitted" not in head
    assert body.startswith("We fixed your contract.\nRegards\n\n-- \n")
    assert db.psql("SELECT actor_jid, actor_nick, body, staff_only FROM ticket_events "
                   "WHERE ticket_id=%s AND kind='message' ORDER BY id DESC LIMIT 1"
                   % ticket) == [("agent2@localhost", "agent2",
                                  "We fixed your contract.\nRegards", "f")]
    # The customer's transcript view shows the reply.
    view = ctl(md, "transcript", ticket, "--view", "customer").stdout
    assert "agent2: We fixed your contract." in view, view
    # Staff's transcript names who entered and who moved it.
    staff = ctl(md, "transcript", ticket).stdout
    assert "] * Ann entered the chat" in staff and "] * Alex entered the chat" in staff
    assert "] * to queue sales (by agent1@localhost)" in staff, staff
    assert "] * \n" not in staff

    # Resolved, with a solution and a note: every change a staff-only event.
    _, _, notes = command(sam, D, "ticket-update",
                          {"ticket": ticket, "status": "resolved", "owner": "me",
                           "solution": "contract corrected", "tags": "contract,sales",
                           "note": "checked with legal"})
    assert notes == [("info", "Ticket #%s: status RESOLVED; owner agent2@localhost; "
                              "tags; solution; note." % ticket)], notes
    assert db.psql("SELECT status, owner_jid, solution, array_to_string(tags, ',')"
                   " FROM tickets WHERE id=%s" % ticket) == \
        [("RESOLVED", "agent2@localhost", "contract corrected", "contract,sales")]
    staff = db.psql("SELECT kind, body, staff_only FROM ticket_events WHERE ticket_id=%s"
                    " AND actor_jid='agent2@localhost' AND kind <> 'message' ORDER BY id"
                    % ticket)
    assert staff == [("status", "status RESOLVED (was QUEUED)", "t"),
                     ("system", "owner agent2@localhost (was none)", "t"),
                     ("system", "tags: contract,sales", "t"),
                     ("system", "solution: contract corrected", "t"),
                     ("note", "checked with legal", "t")], staff
    # The same again changes nothing and adds nothing.
    _, _, notes = command(sam, D, "ticket-update", {"ticket": ticket, "status": "resolved"})
    assert notes == [("info", "Ticket #%s: nothing to change." % ticket)]

    # The customer answers the reply: mail-in reopens it, and sales is told.
    mid = [h for h in head.split("\n") if h.startswith("Message-ID: ")][0][12:]
    answer = ("From: Ann <ann@example.org>\nTo: support@example.org\n"
              "Subject: Re: Re: My invoice\nIn-Reply-To: %s\nMessage-ID: <a2@example.org>\n"
              "Content-Type: text/plain; charset=utf-8\n\nStill wrong, sorry.\n" % mid)
    r = md.run_ctl(["mail-in"], input=answer, check=True)
    assert r.stdout.strip() == "appended to ticket #%s (reopened: QUEUED)" % ticket
    expect_notice(sam, jid("sales"), "Follow-up: ticket #%s (QUEUED) from Ann: My invoice "
                  "is wrong" % ticket, timeout=15)
    assert db.value("SELECT followup_at IS NULL FROM tickets WHERE id=%s" % ticket) == "t"
    # The chat is still in memory (its room kept for staff): the customer's
    # rating, which saves its snapshot, must not write the old state back.
    command(sam, D, "ticket-update", {"ticket": ticket, "status": "resolved"})
    command(customer, D, "rate-chat", {"ticket": ticket, "token": chat["token"],
                                       "rating": "4"})
    wait_for(lambda: ticket_row(db, ticket, "rating") == [("4",)], what="rated")
    assert ticket_row(db, ticket, "status, owner_jid, queue") == \
        [("RESOLVED", "agent2@localhost", "sales")]


def test_merge_move_twins_and_a_live_chat(desk, xmpp, db):  # noqa: F811
    md = desk(queues=Q, agents=A)
    alex, sam = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(alex, "billing", "Alex")
    join_queue(sam, "sales", "Sam")
    # Two messages left (no agent in the way: offline form).
    def leave_message(question):
        _, out, _ = command(xmpp.anonymous(), jid("billing"), "request-chat",
                            {"name": "Ann", "email": "ann@example.org",
                             "question": question, "offline": "1"})
        assert "room" not in out
        return out["ticket"]
    a, b = leave_message("Refund please"), leave_message("About my refund")
    wait_for(lambda: db.value("SELECT count(*) FROM tickets WHERE id IN (%s, %s)"
                              % (a, b)) == "2", what="both tickets")
    say(alex, jid("billing"), "!tickets")
    listed = expect_notice(alex, jid("billing"), "2 ticket(s)").findtext(
        "{jabber:client}body")
    # The longest waiting first.
    assert listed.index("#%s " % a) < listed.index("#%s " % b), listed

    # Merge b into a: b's events move, b is resolved with a pointer.
    say(alex, jid("billing"), "!ticket-update %s merge-into=%s" % (b, a))
    expect_notice(alex, jid("billing"), "Ticket #%s: merged into #%s." % (b, a))
    assert db.psql("SELECT status, merged_into FROM tickets WHERE id=%s" % b) == \
        [("RESOLVED", a)]
    assert db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s"
                    " AND body='About my refund'" % a) == "1"
    assert db.psql("SELECT body FROM ticket_events WHERE ticket_id=%s" % b) == \
        [("merged into ticket #%s (its events are there); status RESOLVED (was QUEUED)"
          % a,)]

    # Moved to sales by ticket-update: sales is told who moved it.
    say(alex, jid("billing"), '!ticket-update %s queue=sales note="for the contract team"'
        % a)
    expect_notice(alex, jid("billing"), "Ticket #%s: queue sales; note." % a)
    expect_notice(sam, jid("sales"), "Follow-up: ticket #%s (QUEUED) from Ann: Refund please, "
                  "moved here by agent1@localhost from billing." % a)
    # Now it is sales' ticket: Alex is refused exactly as for no ticket.
    assert refusal(alex, "ticket", {"ticket": a}) == refusal(alex, "ticket",
                                                             {"ticket": "999999"})
    assert refusal(alex, "ticket-update", {"ticket": a, "status": "resolved"}) == REFUSED
    assert refusal(alex, "ticket-reply", {"ticket": a, "text": "hi"}) == REFUSED
    # Bad input is named.
    assert refusal(sam, "ticket-update", {"ticket": a, "priority": "9"}) == \
        ("bad-request", "priority: 1 (highest) to 5")
    say(sam, jid("sales"), "!ticket-update %s colour=blue" % a)
    expect_notice(sam, jid("sales"), "Unknown field colour")

    # mucdeskctl's twins, on the same SQL.
    out = ctl(md, "tickets", "--queue", "sales").stdout.splitlines()
    assert [line.split("\t")[:3] for line in out] == [[a, "QUEUED", "sales"]], out
    assert "Ticket #%s: Refund please" % a in ctl(md, "ticket", a).stdout
    out = ctl(md, "ticket-update", a, "queue=billing", "priority=2").stdout
    assert out == "ticket %s: queue billing; priority 2\n" % a
    expect_notice(alex, jid("billing"), "Follow-up: ticket #%s (QUEUED)" % a, timeout=10)
    assert ticket_row(db, a, "queue, priority") == [("billing", "2")]

    # A live chat's status, queue and owner are its room's.
    customer = xmpp.anonymous()
    live = request_chat(customer, "billing")
    join(customer, live["room"], "Ann")
    expect_invite(alex, live["room"])
    join(alex, live["room"], "Alex")
    wait_for(lambda: ticket_row(db, live["ticket"], "status") == [("INPROGRESS",)],
             what="accepted")
    cond = refusal(alex, "ticket-update", {"ticket": live["ticket"], "status": "resolved"})
    assert cond == ("conflict", "Ticket #%s is a live chat: its owner, priority and end "
                    "change in its room (!take, !priority, !close); status=queued or "
                    "queue=NAME puts it back to waiting" % live["ticket"])
    assert refusal(alex, "ticket-update", {"ticket": live["ticket"], "owner": "x@localhost"})[0] \
        == "conflict"
    # Its follow-up fields do not wait for the end; the customer sees none of it.
    say(alex, live["room"], "!ticket-update impact=high ci=router-7")
    expect_notice(alex, live["room"], "Ticket #%s: impact; ci." % live["ticket"])
    assert db.psql("SELECT impact, ci FROM tickets WHERE id=%s" % live["ticket"]) == \
        [("high", "router-7")]
    customer.expect_none("/s:message/s:body[contains(., 'impact')]", 0.5)
    # Back to QUEUED in another queue: the customer is right there, so the
    # chat waits again and is offered there like a new one.
    _, _, notes = command(alex, D, "ticket-update", {"ticket": live["ticket"], "status": "queued",
                                                     "queue": "sales", "tags": "contract"})
    assert notes == [("info", "Ticket #%s waits in queue sales and is offered like a new "
                              "chat; tags." % live["ticket"])], notes
    expect_notice(customer, live["room"], "Your chat was passed to another team")
    expect_notice(sam, jid("sales"), "Requeued: ticket #%s from Ann (requeued by "
                  "ticket-update)" % live["ticket"])
    expect_invite(sam, live["room"])
    join(sam, live["room"], "Sam")
    wait_for(lambda: ticket_row(db, live["ticket"], "status, queue, owner_jid, tags") ==
             [("INPROGRESS", "sales", "agent2@localhost", "{contract}")],
             what="taken in sales")
    assert db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND kind='transfer'"
                    " AND actor_jid='agent1@localhost' AND body='requeued by ticket-update"
                    " to queue sales'" % live["ticket"]) == "1"
    # The customer may use none of the commands.
    for node in ("tickets", "ticket", "ticket-update", "ticket-reply"):
        cond = refusal(customer, node, {"ticket": live["ticket"], "text": "x"})
        assert cond[0] in ("forbidden", "item-not-found"), (node, cond)
