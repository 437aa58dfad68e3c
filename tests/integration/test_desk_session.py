"""During and after a chat: supervision (observe, visible/invisible, join,
take), off-the-record staff PMs, notes staff-only, requeue and forward,
the last agent leaving, chat time, the customer's reconnect grace, resume
on a new JID with what was missed."""

from desk_e2e import (DESK_NICK, barrier, desk_voice_seen, command, desk, desk_event, expect_desk_event,  # noqa: F401
                      expect_invite, expect_notice, jid, join, join_queue, request_chat,
                      say, ticket_row, wait_for)
from mdtest.stanzas import NS, error_condition, muc_status_codes, to_str

Q = [("billing", "round-robin"), ("sales", "round-robin")]
A = [("billing", "agent1@localhost", "agent"),
     ("billing", "super1@localhost", "supervisor"),
     ("sales", "agent2@localhost", "agent")]


def started_chat(desk_fixture, xmpp, db, **kw):
    """A chat in billing accepted by agent1; returns (customer, agent, chat)."""
    desk_fixture(queues=Q, agents=A, **kw)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    join(customer, chat["room"], "Ann")
    expect_invite(agent, chat["room"])
    join(agent, chat["room"], "Alex")
    customer.expect("/s:presence[@from='%s/Alex']" % chat["room"])
    wait_for(lambda: ticket_row(db, chat["ticket"], "status") == [("INPROGRESS",)],
             what="accepted")
    return customer, agent, chat


def mam_bodies(client, room, qid):
    fin = client.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2' queryid='%s'/>"
                         "</iq>" % (room, qid))
    assert fin.get("type") == "result", error_condition(fin)
    return [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
            for r in client.take_all("/s:message/mam:result[@queryid='%s']" % qid)]


def test_observer_is_invisible_and_silenced_then_visible(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    boss = xmpp.login("super1")
    join_queue(boss, "billing", "Boss")
    say(boss, jid("billing"), "/observe %s" % ticket)
    expect_notice(boss, jid("billing"), "observe ticket #%s" % ticket)
    expect_invite(boss, room)
    own = join(boss, room, "Boss")
    assert own.find(".//{urn:mucdesk:observer}x") is not None
    seen = agent.expect("/s:presence[@from='%s/Boss']" % room)
    assert seen.find(".//{urn:mucdesk:observer}x") is not None
    # Silenced: a groupchat message is refused with a helpful text.
    say(boss, room, "hello everyone", ident="boss1")
    err = boss.expect("/s:message[@type='error'][@id='boss1']")
    assert error_condition(err)[1] == "forbidden"
    # Staff PMs: delivered, never archived; to the customer: refused.
    boss.send("<message type='chat' to='%s/Alex'><body>watch the tone</body>"
              "<x xmlns='http://jabber.org/protocol/muc#user'/></message>" % room)
    agent.expect("/s:message[@type='chat'][@from='%s/Boss']" % room)
    boss.send("<message type='chat' to='%s/Ann' id='pm2'><body>psst</body>"
              "<x xmlns='http://jabber.org/protocol/muc#user'/></message>" % room)
    assert error_condition(boss.expect("/s:message[@id='pm2']"))[1] == "not-acceptable"
    customer.send("<message type='chat' to='%s/Alex' id='pm3'><body>private?</body>"
                  "<x xmlns='http://jabber.org/protocol/muc#user'/></message>" % room)
    err_pm3 = customer.expect("/s:message[@id='pm3']")
    assert error_condition(err_pm3)[1] == "not-acceptable"
    # The desk's voice: staff (the observer too) see it as an occupant and
    # may write it a text command privately, answered from it; a customer's
    # private message to it is refused as to any nick.
    assert boss.received and [e for e in desk_voice_seen(boss, room)
                              if e.tag == "{jabber:client}presence"]
    boss.send("<message type='chat' to='%s/%s' id='pm4'><body>!help</body>"
              "<x xmlns='http://jabber.org/protocol/muc#user'/></message>" % (room, DESK_NICK))
    expect_notice(boss, room, "!note TEXT")
    boss.send("<message type='chat' to='%s/%s' id='pm5'><body>hello desk</body></message>"
              % (room, DESK_NICK))
    assert error_condition(boss.expect("/s:message[@id='pm5']"))[1] == "feature-not-implemented"
    customer.send("<message type='chat' to='%s/%s' id='pm6'><body>!help</body>"
                  "<x xmlns='http://jabber.org/protocol/muc#user'/></message>" % (room, DESK_NICK))
    refused = customer.expect("/s:message[@id='pm6']")
    assert error_condition(refused) == error_condition(err_pm3)
    barrier(customer)
    assert "Boss" not in "".join(to_str(e) for e in customer.received)
    assert desk_voice_seen(customer, room) == []
    # /visible: everyone learns they joined; they may now speak.
    say(boss, room, "/visible")
    customer.expect("/s:presence[@from='%s/Boss']" % room)
    say(boss, room, "I am the supervisor")
    customer.expect("/s:message[@from='%s/Boss']/s:body[.='I am the supervisor']" % room)
    say(agent, room, "/close resolved")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='status' AND body LIKE 'closed%%'" % ticket) == "1",
             what="closed")
    assert db.value("SELECT count(*) FROM ticket_events WHERE body LIKE '%%watch the tone%%' "
                    "OR body LIKE '%%psst%%'") == "0"


def test_notes_are_staff_only_by_every_path(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    say(agent, room, "/note customer sounds upset")
    expect_notice(agent, room, "Note added")
    say(customer, room, "are you there?")
    agent.expect("/s:message[@from='%s/Ann']" % room)
    barrier(customer)
    assert "upset" not in "".join(to_str(e) for e in customer.received)
    assert not [b for b in mam_bodies(customer, room, "c1") if "upset" in b]
    late = xmpp.anonymous()   # history on a rejoin: nothing either
    wait_for(lambda: db.value("SELECT staff_only FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='note'" % ticket) == "t", what="the note, staff only")
    assert late  # (another customer could not even enter: see the authz tests)


def test_forward_to_a_queue_and_the_last_agent_leaving_requeue(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    a2 = xmpp.login("agent2")
    join_queue(a2, "sales", "Sam")
    say(agent, room, "/forward sales")
    # agent1 is no staff of a sales ticket: the desk's voice leaves its
    # view, and the desk speaks from the room's JID to it, as to customers.
    agent.expect("/s:presence[@from='%s/%s'][@type='unavailable']" % (room, DESK_NICK))
    expect_notice(agent, room, "forwarded to queue sales", staff=False)
    expect_notice(customer, room, "passed to another team")
    expect_invite(a2, room)
    join(a2, room, "Sam")
    wait_for(lambda: ticket_row(db, ticket, "queue, owner_jid, status")
             == [("sales", "agent2@localhost", "INPROGRESS")], what="forwarded")
    # agent1 (billing) has no say in a sales ticket any more.
    say(agent, room, "/note still here")
    expect_notice(agent, room, "not allowed", staff=False)
    # Both agents leave without closing: back in the queue.
    say(a2, room, "/leave")
    agent.send("<presence type='unavailable' to='%s/Alex'/>" % room)
    wait_for(lambda: ticket_row(db, ticket, "status, owner_jid") == [("QUEUED", None)],
             what="requeued")
    expect_notice(a2, jid("sales"), "Requeued: ticket #%s" % ticket)
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='transfer'" % ticket) == "1", what="transfer event")


def test_forward_to_an_agent_and_take(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    boss = xmpp.login("super1")
    join_queue(boss, "billing", "Boss")
    say(boss, jid("billing"), "/take %s" % ticket)
    expect_invite(boss, room)
    join(boss, room, "Boss")
    wait_for(lambda: ticket_row(db, ticket, "owner_jid") == [("super1@localhost",)],
             what="taken")
    # /forward to someone in the chat makes it theirs at once...
    say(boss, room, "/forward agent1@localhost")
    expect_notice(boss, room, "is now agent1@localhost's")
    wait_for(lambda: ticket_row(db, ticket, "owner_jid") == [("agent1@localhost",)],
             what="forwarded back")
    # ...to someone elsewhere, it is an offer they take by joining.
    agent.send("<presence type='unavailable' to='%s/Alex'/>" % room)
    agent.expect("/s:presence[@type='unavailable'][@from='%s/Alex']" % room)
    say(boss, room, "/forward agent1@localhost")
    expect_invite(agent, room)
    join(agent, room, "Alex")
    wait_for(lambda: ticket_row(db, ticket, "owner_jid") == [("agent1@localhost",)],
             what="forwarded back")


def test_chat_time_pause_resume_set(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    say(agent, room, "/time pause")
    expect_notice(agent, room, "(paused)")
    say(agent, room, "/time set 7")
    expect_notice(agent, room, "Chat time: 7 min 0 s (paused)")
    say(agent, room, "/time resume")
    say(agent, room, "/close inprogress follow up by mail")
    wait_for(lambda: ticket_row(db, ticket, "status, owner_jid, chat_seconds BETWEEN 420 AND 430")
             == [("INPROGRESS", "agent1@localhost", "t")], what="chat_seconds 7 min")


def test_customer_dropping_has_a_grace_then_the_chat_ends(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    # A plain unavailable (the connection dropped): nothing ends yet...
    customer.send("<presence type='unavailable' to='%s/Ann'/>" % room)
    agent.expect("/s:presence[@type='unavailable'][@from='%s/Ann']" % room)
    join(customer, room, "Ann")            # ...and coming back in time keeps it.
    agent.expect("/s:presence[@from='%s/Ann']" % room)
    customer.send("<presence type='unavailable' to='%s/Ann'/>" % room)
    # Not back within the grace (2 s in tests): the chat ends.
    expect_notice(agent, room, "The customer left", timeout=8)
    wait_for(lambda: ticket_row(db, ticket, "status, ended_at IS NOT NULL")
             == [("RESOLVED", "t")], what="ended")


def test_resume_on_a_new_jid_gets_the_missed_messages(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket, token = chat["room"], chat["ticket"], chat["token"]
    say(customer, room, "before the drop")
    agent.expect("/s:message[@from='%s/Ann']" % room)
    customer.abort()                        # the network goes away
    say(agent, room, "while you were away")
    newc = xmpp.anonymous()
    reply, res, _ = command(newc, "support.localhost", "resume-chat", {"token": token})
    assert res["room"] == room and res["ticket"] == ticket and res.get("nick") == "Ann"
    assert res.get("ended") in (None, "0")
    pres = join(newc, room, "Ann")
    assert 110 in muc_status_codes(pres)
    bodies = mam_bodies(newc, room, "r1")
    assert "before the drop" in bodies and "while you were away" in bodies
    # A bad token says nothing more than "unknown".
    bad, _, _ = command(xmpp.anonymous(), "support.localhost", "resume-chat",
                        {"token": "0" * 40}, check=False)
    assert error_condition(bad)[1] == "item-not-found"
    # After the end the token still tells the chat ended (and rates it).
    say(agent, room, "/close resolved")
    expect_desk_event(newc, room, "closed")
    third = xmpp.anonymous()
    _, res, _ = command(third, "support.localhost", "resume-chat", {"token": token})
    assert res["ended"] == "1"
    _, _, notes = command(third, "support.localhost", "rate-chat",
                          {"ticket": ticket, "token": token, "rating": "4",
                           "comment": "quick, thanks"})
    assert notes[0][0] == "info"
    wait_for(lambda: ticket_row(db, ticket, "rating, rating_comment")
             == [("4", "quick, thanks")], what="rating stored")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='rating'" % ticket) == "1", what="rating event")
    wrong, _, _ = command(third, "support.localhost", "rate-chat",
                          {"ticket": ticket, "token": "f" * 40, "rating": "1"}, check=False)
    assert error_condition(wrong)[1] == "forbidden"


def test_help_lists_what_the_caller_may_use_and_forms_do_what_text_does(desk, xmpp, db):
    customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    boss = xmpp.login("super1")
    join_queue(boss, "billing", "Boss")
    say(agent, jid("billing"), "/help")
    text = expect_notice(agent, jid("billing"), "Commands here").findtext("{jabber:client}body")
    assert "!accept N" in text and "!observe" not in text
    say(boss, jid("billing"), "/help")
    text = expect_notice(boss, jid("billing"), "Commands here").findtext("{jabber:client}body")
    assert "!observe N" in text and "!take N" in text
    say(agent, room, "/help")
    text = expect_notice(agent, room, "Commands here").findtext("{jabber:client}body")
    assert "!close" in text and "!visible" not in text
    say(agent, room, "/frobnicate")
    expect_notice(agent, room, "Unknown command !frobnicate")
    say(agent, jid("billing"), "/waiting")
    expect_notice(agent, jid("billing"), "Waiting chats: none.")
    # The same action as an ad-hoc command: a note, then the close.
    _, _, notes = command(agent, "support.localhost", "note",
                          {"ticket": ticket, "text": "by form"})
    assert notes == [("info", "Note added (staff only).")]
    _, _, notes = command(agent, "support.localhost", "close",
                          {"ticket": ticket, "status": "resolved"})
    assert notes == [("info", "Ticket #%s closed (RESOLVED)." % ticket)]
    expect_desk_event(customer, room, "closed")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='note' AND body='by form' AND staff_only" % ticket) == "1",
             what="note by form")
