"""What doc/widget-protocol.md says the desk must do, item by item, driven
with raw stanzas from an anonymous client (the widget's view)."""

from desk_e2e import (command, desk, desk_event, execute, expect_desk_event,  # noqa: F401
                      expect_invite, jid, join, join_queue, request_chat, submit,
                      ticket_row, wait_for)
from mdtest.stanzas import NS, error_condition, form_values, muc_status_codes

D = "support.localhost"
Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent")]


def fields(x):
    return {f.get("var"): f for f in x.findall("{jabber:x:data}field")}


def test_2_request_chat_form_and_result(desk, xmpp, db):
    desk(queues=Q, agents=A)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    c = xmpp.anonymous()
    first = execute(c, jid("billing"), "request-chat")
    cmd = first.find("{%s}command" % NS["cmd"])
    assert cmd.get("status") == "executing" and cmd.get("sessionid")
    assert cmd.find("{%s}actions" % NS["cmd"]).get("execute") == "complete"
    x = cmd.find("{jabber:x:data}x")
    assert x.get("type") == "form" and x.findtext("{jabber:x:data}title")
    f = fields(x)
    for var in ("name", "email", "question"):
        assert f[var].find("{jabber:x:data}required") is not None
    assert f["question"].get("type") == "text-multi"
    assert f["page"].get("type") == "hidden" and f["browser"].get("type") == "hidden"
    assert "offline" not in f
    # Field errors name the field.
    bad = execute(c, jid("billing"), "request-chat", action="complete",
                  sessionid=cmd.get("sessionid"),
                  form=submit({"name": "Ann", "email": "not-an-address",
                               "question": ["line 1", "line 2"]}), check=False)
    assert error_condition(bad)[1] == "bad-request"
    assert error_condition(bad)[2].startswith("email: ")
    # A fresh execute, then a good submit (text-multi as one value per line).
    res = request_chat(c, "billing", question=["line 1", "line 2"])
    x = execute  # noqa: F841
    assert set(res) >= {"room", "ticket", "token", "position", "wait", "nick", "no-agents"}
    wait_for(lambda: db.value("SELECT details->>'question' FROM tickets WHERE id=%s"
                              % res["ticket"]) == "line 1\nline 2", what="question lines")
    # The requester is a member: the join succeeds, roster then 110.
    pres = join(c, res["room"], res["nick"])
    assert 110 in muc_status_codes(pres)


def test_2_offline_queue_leaves_a_message(desk, xmpp, db):
    desk(queues=[("billing", "round-robin", {"offline-message": "We are closed."})],
         agents=A)
    c = xmpp.anonymous()
    first = execute(c, jid("billing"), "request-chat")
    x = first.find(".//{jabber:x:data}x")
    f = fields(x)
    assert f["offline"].get("type") == "hidden" and \
        f["offline"].findtext("{jabber:x:data}value") == "1"
    assert x.findtext("{jabber:x:data}instructions") == "We are closed."
    done = execute(c, jid("billing"), "request-chat", action="complete",
                   sessionid=first.find("{%s}command" % NS["cmd"]).get("sessionid"),
                   form=submit({"name": "Ann", "email": "ann@example.org",
                                "question": "Call me", "offline": "1"}))
    res = form_values(done.find(".//{jabber:x:data}x"))
    assert res["offline"] == "1" and res["ticket"] and "room" not in res and "token" not in res
    wait_for(lambda: ticket_row(db, res["ticket"], "status, customer_email")
             == [("QUEUED", "ann@example.org")], what="message ticket")


def test_3_messages_stanza_ids_origin_ids_chat_states(desk, xmpp, db):
    desk(queues=Q, agents=A)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    c = xmpp.anonymous()
    res = request_chat(c, "billing")
    room = res["room"]
    join(c, room, "Ann")
    expect_invite(agent, room)
    join(agent, room, "Alex")
    c.send("<message to='%s' type='groupchat' id='X1'><body>hi</body>"
           "<active xmlns='http://jabber.org/protocol/chatstates'/>"
           "<origin-id xmlns='urn:xmpp:sid:0' id='X1'/></message>" % room)
    echo = c.expect("/s:message[@id='X1'][@from='%s/Ann']" % room)
    sid = echo.find("{urn:xmpp:sid:0}stanza-id")
    assert sid.get("by") == room and echo.find("{urn:xmpp:sid:0}origin-id").get("id") == "X1"
    # Chat states pass, with no stanza-id.
    agent.send("<message to='%s' type='groupchat'><composing "
               "xmlns='http://jabber.org/protocol/chatstates'/><no-store xmlns='urn:xmpp:hints'/>"
               "</message>" % room)
    typing = c.expect("/s:message[@from='%s/Alex']/chat:composing" % room)
    assert typing.find("{urn:xmpp:sid:0}stanza-id") is None
    # MAM: the same id, the origin-id kept.
    fin = c.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2' queryid='w'/></iq>"
                    % room)
    assert fin.get("type") == "result"
    results = c.take_all("/s:message/mam:result[@queryid='w']")
    mine = [r for r in results if r.find(".//{urn:xmpp:sid:0}origin-id") is not None]
    assert mine and mine[0].find("{urn:xmpp:mam:2}result").get("id") == sid.get("id")


def test_3_explicit_leave_ends_plain_unavailable_does_not(desk, xmpp, db):
    desk(queues=Q, agents=A, desk={"customer_grace": 30})
    c = xmpp.anonymous()
    res = request_chat(c, "billing")
    room = res["room"]
    join(c, room, "Ann")
    c.send("<presence to='%s/Ann' type='unavailable'/>" % room)
    c.expect("/s:presence[@type='unavailable'][@from='%s/Ann']" % room)
    join(c, room, "Ann")          # still open: the join works
    c.send("<presence to='%s/Ann' type='unavailable'><desk xmlns='urn:mucdesk:0' "
           "event='leave'/></presence>" % room)
    wait_for(lambda: ticket_row(db, res["ticket"], "status, ended_at IS NOT NULL")
             == [("RESOLVED", "t")], what="ended at once")


def test_3_desk_events_and_the_end(desk, xmpp, db):
    desk(queues=Q, agents=A)
    agent = xmpp.login("agent1")
    c = xmpp.anonymous()
    res = request_chat(c, "billing")
    room = res["room"]
    join(c, room, "Ann")
    ev = desk_event(expect_desk_event(c, room, "queue"))
    assert ev["position"] == "1" and int(ev["wait"]) > 0
    join_queue(agent, "billing", "Alex")
    expect_invite(agent, room)
    join(agent, room, "Alex")
    agent.send("<message to='%s' type='groupchat'><body>/close resolved</body></message>"
               % room)
    closed = expect_desk_event(c, room, "closed")
    assert desk_event(closed)["status"] == "RESOLVED" and closed.findtext("{jabber:client}body")
    end = c.expect("/s:presence[@type='unavailable'][@from='%s/Ann']" % room)
    assert end.find(".//{%s}destroy/{%s}reason" % (NS["mucu"], NS["mucu"])) is not None
    assert 110 in muc_status_codes(end)


def test_4_self_ping(desk, xmpp, db):
    desk(queues=Q, agents=A)
    c, other = xmpp.anonymous(), xmpp.anonymous()
    res = request_chat(c, "billing")
    room = res["room"]
    join(c, room, "Ann")
    ok = c.send_iq("<iq type='get' to='%s/Ann'><ping xmlns='urn:xmpp:ping'/></iq>" % room)
    assert ok.get("type") == "result"
    # The customer's client after it dropped out of the room (the widget
    # then resumes): not-acceptable.
    c.send("<presence type='unavailable' to='%s/Ann'/>" % room)
    c.expect("/s:presence[@type='unavailable'][@from='%s/Ann']" % room)
    no = c.send_iq("<iq type='get' to='%s/Ann'><ping xmlns='urn:xmpp:ping'/></iq>" % room)
    assert error_condition(no)[1] == "not-acceptable"
    # Someone with no business in the room learns nothing: as for a room
    # that does not exist (both mean "not an occupant" to the widget).
    no = other.send_iq("<iq type='get' to='%s/Ann'><ping xmlns='urn:xmpp:ping'/></iq>" % room)
    assert error_condition(no)[1] == "item-not-found"


def test_6_resume_chat_is_idempotent_and_replaces_the_stale_session(desk, xmpp, db):
    desk(queues=Q, agents=A)
    c = xmpp.anonymous()
    res = request_chat(c, "billing")
    room = res["room"]
    join(c, room, "Ann")
    admin = xmpp.login("admin")                 # staff watching the room
    join(admin, room, "Boss")
    newc = xmpp.anonymous()
    for _ in range(2):
        _, again, _ = command(newc, D, "resume-chat", {"token": res["token"]})
        assert again["room"] == room and again["ticket"] == res["ticket"]
        assert again["position"] == "1"
    # Staff see the stale session leave like any other leave: it was not
    # kicked (no 307), its connection is simply gone.
    gone = admin.expect("/s:presence[@type='unavailable'][@from='%s/Ann']" % room)
    assert muc_status_codes(gone) == set()
    # The old session (the server has not noticed it is dead) is gone, so
    # the nick is free; the chat did not end.
    assert 110 in muc_status_codes(join(newc, room, "Ann"))
    assert ticket_row(db, res["ticket"], "status") in ([("QUEUED",)], [])


def test_7_rate_chat_after_the_end(desk, xmpp, db):
    desk(queues=Q, agents=A)
    c = xmpp.anonymous()
    res = request_chat(c, "billing")
    join(c, res["room"], "Ann")
    c.send("<presence to='%s/Ann' type='unavailable'><desk xmlns='urn:mucdesk:0' "
           "event='leave'/></presence>" % res["room"])
    wait_for(lambda: ticket_row(db, res["ticket"], "status") == [("RESOLVED",)],
             what="ended")
    _, _, notes = command(c, D, "rate-chat", {"ticket": res["ticket"], "token": res["token"],
                                              "rating": "5", "comment": ""})
    assert notes == [("info", "Thank you for your feedback!")]
    wait_for(lambda: ticket_row(db, res["ticket"], "rating") == [("5",)], what="rating")
