"""Issue 7's command surface through real clients: queue settings (extra
pre-chat fields, business hours), canned responses and the knowledge base,
ratings (the ratings plugin), stats checked to the figure, transcripts,
ticket search, erasure on request, transcript mail through a fake
sendmail, the agent's own commands, the widget snippet, and who may run
what (table driven, missing and forbidden alike)."""

import hashlib
import os
import pwd
import re
import stat

from desk_e2e import (DOMAIN, command, ctl, desk, desk_sender, execute, expect_desk_event,  # noqa: F401
                      expect_invite, expect_notice, jid, join, join_queue, request_chat,
                      result_values, say, submit, ticket_row, wait_for)
from mdtest.stanzas import NS, error_condition, form_values

D = DOMAIN
Q = [("billing", "round-robin"), ("sales", "round-robin")]
A = [("billing", "agent1@localhost", "agent"),
     ("billing", "super1@localhost", "supervisor"),
     ("sales", "agent2@localhost", "agent")]


def started_chat(desk_fixture, xmpp, db, queues=Q, agents=A, **kw):
    """A billing chat accepted by agent1 (Alex); (md, customer, agent, chat)."""
    md = desk_fixture(queues=queues, agents=agents, **kw)
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
    return md, customer, agent, chat


def table(reply):
    """The items of a result form's table: [{var: value}]."""
    x = reply.find(".//{jabber:x:data}x")
    rows = []
    for item in (x.findall("{jabber:x:data}item") if x is not None else []):
        rows.append({f.get("var"): f.findtext("{jabber:x:data}value")
                     for f in item.findall("{jabber:x:data}field")})
    return rows


def fields(reply):
    x = reply.find(".//{jabber:x:data}x")
    return {f.get("var"): f for f in x.findall("{jabber:x:data}field")}


def refusal(client, node, values, to=D):
    """The (condition, text) of a command that must fail."""
    reply, _, _ = command(client, to, node, values, check=False)
    assert reply.get("type") == "error", "%s succeeded" % node
    return error_condition(reply)[1:]


def body_of(el):
    return el.findtext("{jabber:client}body") or ""


def test_queue_settings_prechat_fields_and_business_hours(desk, xmpp, db):
    md = desk(queues=[("billing", "round-robin",
                       {"prechat-fields": "plan|list-single|Your plan|required|free,pro"}),
                      ("night", "manual", {"hours": "2020-01-01 09:00-10:00",
                                           "closed-message": "We open at nine."})],
              agents=[A[0], ("night", "agent2@localhost", "agent")])
    agent, night_agent = xmpp.login("agent1"), xmpp.login("agent2")
    join_queue(agent, "billing", "Alex")
    join_queue(night_agent, "night", "Nina")
    c = xmpp.anonymous()
    # The extra field in the form, checked on submit, kept in the details.
    first = execute(c, jid("billing"), "request-chat")
    plan = fields(first)["plan"]
    assert plan.get("type") == "list-single" and plan.find("{jabber:x:data}required") is not None
    assert [o.findtext("{jabber:x:data}value") for o in plan.findall("{jabber:x:data}option")] \
        == ["free", "pro"]
    sid = first.find("{%s}command" % NS["cmd"]).get("sessionid")
    bad = execute(c, jid("billing"), "request-chat", action="complete", sessionid=sid,
                  form=submit({"name": "Ann", "email": "ann@example.org", "question": "Q",
                               "plan": "gold"}), check=False)
    assert error_condition(bad)[1:] == ("bad-request", "plan: choose one of the options")
    res = request_chat(c, "billing", plan="pro")
    wait_for(lambda: db.value("SELECT details->>'plan' FROM tickets WHERE id=%s"
                              % res["ticket"]) == "pro", what="plan in details")
    # And in the session details, under its label: told to staff on
    # entering, never to the customer.
    join(c, res["room"], "Ann", history="<history maxstanzas='20'/>")
    expect_invite(agent, res["room"])
    join(agent, res["room"], "Alex")
    agent.expect("/s:message[@from='%s']/s:body[contains(., 'Your plan: pro')]"
                 % desk_sender(agent, res["room"]))
    assert "Your plan" not in "".join(body_of(e) or "" for e in c.received)
    # Outside business hours (an agent is there): the offline form with the
    # closed-hours message, and a message ticket.
    form = execute(c, jid("night"), "request-chat").find(".//{jabber:x:data}x")
    assert form.findtext("{jabber:x:data}instructions") == "We open at nine."
    assert form_values(form).get("offline") == "1"
    _, out, _ = command(c, jid("night"), "request-chat",
                        {"name": "Ann", "email": "ann@example.org", "question": "Late",
                         "offline": "1"})
    assert out["offline"] == "1" and "room" not in out
    # A plain message to the closed queue's JID: left as a message too, no
    # chat started, the closed-hours text in the answer.
    plain = xmpp.login("super1")
    plain.send("<message type='chat' to='%s'><body>Are you there?</body></message>"
               % jid("night"))
    answer = plain.expect("/s:message[@type='chat'][@from='%s']" % jid("night"))
    text = body_of(answer)
    assert text.startswith("We open at nine.\nYour message is ticket #"), text
    left = re.search(r"ticket #(\d+)", text).group(1)
    wait_for(lambda: db.psql("SELECT status, customer_jid, subject FROM tickets "
                             "WHERE id=%s" % left)
             == [("QUEUED", "super1@localhost", "Are you there?")], what="message ticket")
    night_agent.expect("/s:message[@type='groupchat'][@from='%s']/s:body"
                       "[contains(., 'Message left (outside business hours): ticket #%s ')]"
                       % (desk_sender(night_agent, jid("night")), left))
    # queue-configure: the settings shown, checked, saved.
    admin = xmpp.login("admin")
    first = execute(admin, D, "queue-configure")
    sid = first.find("{%s}command" % NS["cmd"]).get("sessionid")
    second = execute(admin, D, "queue-configure", action="next", sessionid=sid,
                     form=submit({"queue": "night"}))
    shown = form_values(second.find(".//{jabber:x:data}x"))
    assert shown["hours"] == ["2020-01-01 09:00-10:00"] and shown["timezone"] == "UTC"
    assert shown["closed-message"] == ["We open at nine."]
    bad = execute(admin, D, "queue-configure", action="complete", sessionid=sid,
                  form=submit({"hours": "mon 9-17"}), check=False)
    assert error_condition(bad)[1] == "bad-request"
    assert error_condition(bad)[2].startswith("hours: not a time range")
    assert refusal(admin, "queue-configure", {"queue": "night", "timezone": "Mars/Base"}) \
        == ("bad-request", "timezone: unknown time zone Mars/Base (No such file or directory)")
    command(admin, D, "queue-configure", {"queue": "night", "hours": "", "timezone":
                                          "Europe/Paris"})
    wait_for(lambda: db.psql("SELECT hours, timezone FROM queues WHERE name='night'")
             == [("", "Europe/Paris")], what="configured")
    # Always open now: a live chat is offered.
    wait_for(lambda: "offline" not in form_values(
        execute(c, jid("night"), "request-chat").find(".//{jabber:x:data}x")),
        what="open again")


def canned_names(agent, room):
    say(agent, room, "/canned")
    return expect_notice(agent, room, "Canned responses:").findtext("{jabber:client}body")


def test_canned_responses_and_knowledge_base(desk, xmpp, db):
    md, customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    admin = xmpp.login("admin")
    # canned-edit in two stages: which one, then its text.
    first = execute(admin, D, "canned-edit")
    sid = first.find("{%s}command" % NS["cmd"]).get("sessionid")
    execute(admin, D, "canned-edit", action="next", sessionid=sid,
            form=submit({"queue": "", "name": "hello", "action": "save"}))
    done = execute(admin, D, "canned-edit", action="complete", sessionid=sid,
                   form=submit({"text": ["Hi {customer}, I am {agent}.",
                                         "Ticket {ticket}."]}))
    assert "saved for every queue" in done.findtext(".//{%s}note" % NS["cmd"])
    ctl(md, "canned-set", "billing", "docs", "https://example.org/docs")
    ctl(md, "canned-set", "sales", "secret", "sales only")
    wait_for(lambda: "docs" in canned_names(agent, room), what="canned loaded")
    assert "secret" not in canned_names(agent, room)
    say(agent, room, "/canned hello")
    got = customer.expect("/s:message[@from='%s/Alex']/s:body" % room)
    assert body_of(got) == "Hi Ann, I am Alex.\nTicket %s." % ticket
    say(agent, room, "/canned DOCS")
    got = customer.expect("/s:message[@from='%s/Alex']/oob:x" % room)
    assert got.findtext("{jabber:x:oob}x/{jabber:x:oob}url") == "https://example.org/docs"
    say(agent, room, "/canned secret")
    expect_notice(agent, room, "No canned response called secret")
    # The ad-hoc command: the chat, then a list of this queue's responses.
    first = execute(agent, D, "canned")
    sid = first.find("{%s}command" % NS["cmd"]).get("sessionid")
    second = execute(agent, D, "canned", action="next", sessionid=sid,
                     form=submit({"ticket": ticket}))
    options = [o.findtext("{jabber:x:data}value")
               for o in second.iter("{jabber:x:data}option")]
    assert options == ["hello", "docs"]   # the global one, then the queue's
    done = execute(agent, D, "canned", action="complete", sessionid=sid,
                   form=submit({"name": "hello"}))
    assert done.findtext(".//{%s}note" % NS["cmd"]) == "Canned response hello sent."
    customer.expect("/s:message[@from='%s/Alex']/s:body" % room)
    # The knowledge base: ranked full-text search, billing's and global
    # articles only.
    ids = {}
    for key, args in {
            "reset": ["--title", "Reset your password", "--body",
                      "Open the settings page and choose Reset."],
            "invoices": ["--title", "Invoices and billing", "--body",
                         "Invoices are sent monthly. If you forgot your password, "
                         "reset it before you download one."],
            "rules": ["--title", "Password rules", "--url",
                      "https://example.org/password-rules", "--body",
                      "A password needs twelve characters. Change your password "
                      "every year; old passwords are refused."],
            "printer": ["--title", "Printer setup", "--body", "Install the driver."],
            "sales": ["--title", "Sales password", "--queue", "sales", "--body",
                      "password password password"]}.items():
        ids[key] = ctl(md, "kb-add", *args).stdout.strip()

    def kb(query):
        say(agent, room, "/kb " + query)
        text = body_of(expect_notice(agent, room, "Articles for"))
        return re.findall(r"^#(\d+) ", text, re.M)
    assert kb("password") == [ids["rules"], ids["reset"], ids["invoices"]]
    assert kb("reset password") == [ids["reset"], ids["invoices"]]
    say(agent, room, "/kb printer toner")
    expect_notice(agent, room, 'No article matches "printer toner"')
    say(agent, room, "/kb send %s" % ids["reset"])
    got = customer.expect("/s:message[@from='%s/Alex']/s:body" % room)
    assert body_of(got) == "Reset your password\n\nOpen the settings page and choose Reset."
    say(agent, room, "/kb send %s" % ids["rules"])
    got = customer.expect("/s:message[@from='%s/Alex']/oob:x" % room)
    # A readable link: the title on its line, then the URL; the OOB data
    # names it (<desc>) for clients that render a card.
    assert body_of(got) == "Password rules\nhttps://example.org/password-rules"
    x = got.find("{jabber:x:oob}x")
    assert (x.findtext("{jabber:x:oob}url"), x.findtext("{jabber:x:oob}desc")) == \
        ("https://example.org/password-rules", "Password rules")
    say(agent, room, "/kb send %s" % ids["sales"])
    expect_notice(agent, room, "No article #%s for this queue" % ids["sales"])
    _, _, notes = command(agent, D, "kb", {"ticket": ticket, "query": "invoice"})
    assert notes[0][1].startswith('Articles for "invoice":\n#%s Invoices and billing'
                                  % ids["invoices"])
    # All of it is in the transcript (the article sends noted for staff).
    def transcript():
        reply, _, _ = command(agent, D, "transcript", {"ticket": ticket})
        return "\n".join(result_values(reply)["transcript"])
    text = wait_for(lambda: (lambda t: t if "Alex: Password rules" in t else None)(
        transcript()), what="the transcript in PostgreSQL")
    assert "Alex: Hi Ann, I am Alex." in text
    assert "Alex: Reset your password" in text
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "staff_only AND body LIKE 'knowledge base article #%%'"
                              % ticket) == "2", what="kb events")


def test_rating_by_reply_and_transcript_view(desk, xmpp, db):
    md, customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    say(agent, room, "/help")
    assert "!rate" in body_of(expect_notice(agent, room, "Commands here"))
    say(agent, room, "/rate")
    expect_notice(agent, room, "asked for a rating")
    ask = expect_desk_event(customer, room, "rate")
    assert "number from 1 (poor) to 5" in body_of(ask)
    form = form_values(ask.find("{jabber:x:data}x"))
    assert form["FORM_TYPE"] == "urn:mucdesk:rate-chat" and form["ticket"] == ticket
    say(customer, room, "10 minutes ago it worked")   # not a rating
    agent.expect("/s:message[@from='%s/Ann']" % room)
    say(customer, room, "4/5 - quick, thanks")
    agent.expect("/s:message[@from='%s/Ann']" % room)  # stays in the conversation
    expect_notice(customer, room, "Thank you for your rating!")
    wait_for(lambda: ticket_row(db, ticket, "rating, rating_comment")
             == [("4", "quick, thanks")], what="rating")
    # The same as an ad-hoc command (the plugin's, listed for staff).
    _, _, notes = command(agent, D, "rate", {"ticket": ticket})
    assert notes == [("info", "The customer was asked for a rating.")]
    ask = expect_desk_event(customer, room, "rate")
    # A client that renders forms in messages submits it back to the room.
    customer.send("<message to='%s'><x xmlns='jabber:x:data' type='submit'>"
                  "<field var='FORM_TYPE'><value>urn:mucdesk:rate-chat</value></field>"
                  "<field var='ticket'><value>%s</value></field>"
                  "<field var='rating'><value>9</value></field></x></message>"
                  % (room, ticket))
    bad = customer.expect("/s:message[@type='error'][@from='%s']" % room)
    assert error_condition(bad)[1:] == ("bad-request", "rating: choose 1 to 5")
    agent.send("<message to='%s'><x xmlns='jabber:x:data' type='submit'>"
               "<field var='FORM_TYPE'><value>urn:mucdesk:rate-chat</value></field>"
               "<field var='rating'><value>1</value></field></x></message>" % room)
    bad = agent.expect("/s:message[@type='error'][@from='%s']" % room)
    assert error_condition(bad)[1] == "forbidden"
    customer.send("<message to='%s'><x xmlns='jabber:x:data' type='submit'>"
                  "<field var='FORM_TYPE'><value>urn:mucdesk:rate-chat</value></field>"
                  "<field var='ticket'><value>%s</value></field>"
                  "<field var='rating'><value>2</value></field>"
                  "<field var='comment'><value>slow</value><value>today</value></field>"
                  "</x></message>" % (room, ticket))
    expect_notice(customer, room, "Thank you for your feedback!")
    wait_for(lambda: ticket_row(db, ticket, "rating, rating_comment")
             == [("2", "slow\ntoday")], what="rating by form")
    # Rated: a later message starting with a digit is conversation only.
    say(customer, room, "3 more questions, sorry")
    agent.expect("/s:message[@from='%s/Ann']" % room)
    customer.expect_none("/s:message/s:body[contains(., 'Thank you for your rating')]",
                         duration=1.0)
    assert ticket_row(db, ticket, "rating") == [("2",)]
    say(agent, room, "/close resolved")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='status' AND body='closed: RESOLVED'" % ticket) == "1",
             what="closed")
    out = ctl(md, "transcript", ticket).stdout
    assert "Rating: 2/5 \"slow\ntoday\"" in out, out
    assert "] Ann: 4/5 - quick, thanks" in out
    out = ctl(md, "transcript", ticket, "--view", "customer").stdout
    assert "agent1@localhost" not in out and "Ann: 4/5" in out


# Tickets of 2020-01-01 with known times: (id, queue, created, accepted,
# ended, chat_seconds, rating, room).
STATS_TICKETS = [
    (900001, "billing", "10:00", "10:01", "10:11", 600, 5, "r1"),
    (900002, "billing", "11:00", "11:03", "11:08", 300, 3, "r2"),
    (900003, "billing", "12:00", None, "12:05", 0, None, "r3"),    # abandoned
    (900004, "billing", "13:00", None, None, 0, None, None),       # a message left
    (900005, "billing", "14:00", "14:02", None, 0, None, "r5"),    # still going
    (900006, "sales", "10:00", "10:00:30", "10:02", 90, 4, "r6"),
    (900007, "billing", "2020-01-03 10:00", None, None, 0, 1, None),  # another day
]


def insert_stats_tickets(db):
    def ts(t):
        return "NULL" if t is None else "'%s+00'" % (t if " " in t else "2020-01-01 " + t)
    rows = ["(%d, '%s', 'RESOLVED', %s, %s, %s, %d, %s, %s)"
            % (i, q, ts(c), ts(a), ts(e), secs, "NULL" if r is None else r,
               "NULL" if room is None else "'%s'" % room)
            for i, q, c, a, e, secs, r, room in STATS_TICKETS]
    db.psql("INSERT INTO tickets (id, queue, status, created_at, accepted_at, ended_at, "
            "chat_seconds, rating, room) VALUES " + ", ".join(rows))


def test_stats_figures_are_exact(desk, xmpp, db):
    md = desk(queues=Q, agents=A)
    insert_stats_tickets(db)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    waiting = xmpp.anonymous()
    chat = request_chat(waiting, "billing")   # live: one waiting (offered)
    expect_invite(agent, chat["room"])
    admin = xmpp.login("admin")
    period = {"period": "custom", "from": "2020-01-01", "to": "2020-01-02"}
    reply, _, notes = command(admin, D, "stats", dict(period, queue=""))
    rows = {r["queue"]: r for r in table(reply)}
    assert rows["billing"] == {
        "queue": "billing", "waiting": "1", "active": "0", "online": "1",
        "available": "1", "chats": "5", "answered": "3", "abandoned": "1",
        "abandon-rate": "25.0", "avg-wait": "120", "avg-handle": "450",
        "rating": "4.00", "ratings": "2"}
    assert rows["sales"] == {
        "queue": "sales", "waiting": "0", "active": "0", "online": "0",
        "available": "0", "chats": "1", "answered": "1", "abandoned": "0",
        "abandon-rate": "0.0", "avg-wait": "30", "avg-handle": "90",
        "rating": "4.00", "ratings": "1"}
    # Overall: (60+180+120+30)/4 = 97.5 s waited, rounded half up.
    assert rows["*"] == {
        "queue": "*", "waiting": "1", "active": "0", "online": "1", "available": "1",
        "chats": "6", "answered": "4", "abandoned": "1", "abandon-rate": "20.0",
        "avg-wait": "98", "avg-handle": "330", "rating": "4.00", "ratings": "3"}
    assert "billing: 1 waiting, 0 active, 1 agent(s) online, 1 available; 5 chat(s)" \
        in notes[0][1]
    # An agent sees their queues only; another queue, existing or not, is
    # refused alike.
    reply, _, _ = command(agent, D, "stats", dict(period, queue=""))
    assert [r["queue"] for r in table(reply)] == ["billing", "*"]
    assert refusal(agent, "stats", dict(period, queue="sales")) == \
        refusal(agent, "stats", dict(period, queue="nosuch")) == \
        ("forbidden", "You are not allowed to do that")
    assert refusal(agent, "stats", {"period": "custom", "from": "31/01/2020"})[0] == \
        "bad-request"
    # mucdeskctl, from the same SQL.
    out = ctl(md, "stats", "--from", "2020-01-01", "--to", "2020-01-02").stdout
    assert "billing: 5 chat(s), 3 answered, 1 abandoned (25.0%), average wait 120 s, " \
           "average handle time 450 s, rating 4.00 (2)" in out
    assert "all queues: 6 chat(s), 4 answered, 1 abandoned (20.0%), average wait 98 s" in out


def test_transcript_search_and_purge(desk, xmpp, db):
    md, customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    say(customer, room, "My invoice shows the wrong amount")
    agent.expect("/s:message[@from='%s/Ann']" % room)
    say(agent, room, "/note refund likely")
    expect_notice(agent, room, "Note added")
    # While open: purge refuses.
    admin, boss, other = xmpp.login("admin"), xmpp.login("super1"), xmpp.login("agent2")
    assert refusal(admin, "purge-customer", {"customer": "ann@example.org",
                                             "confirm": "1"}) == \
        ("bad-request", "customer: 1 chat(s) of this customer are still open; close them first")
    say(agent, room, "/close resolved")
    expect_desk_event(customer, room, "closed")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='status' AND body='closed: RESOLVED'" % ticket) == "1",
             what="closed")
    reply, _, _ = command(agent, D, "transcript", {"ticket": ticket})
    lines = result_values(reply)["transcript"]
    assert lines[0] == "Ticket #%s: My invoice is wrong" % ticket
    assert "Customer: Ann <ann@example.org> (%s)" % customer.bare in lines
    assert any(line.endswith("] Ann: My invoice shows the wrong amount") for line in lines)
    assert any(line.endswith("] [staff] Note by Alex: refund likely") for line in lines)
    # Another queue's agent: refused as for a ticket that does not exist.
    assert refusal(other, "transcript", {"ticket": ticket}) == \
        refusal(other, "transcript", {"ticket": "99999"}) == \
        ("forbidden", "You are not allowed to do that")
    # ticket-search: supervisors in their queues.
    reply, _, _ = command(boss, D, "ticket-search", {"customer": "ANN@example",
                                                     "text": "wrong amount"})
    assert [(r["ticket"], r["queue"], r["status"], r["email"]) for r in table(reply)] == \
        [(ticket, "billing", "RESOLVED", "ann@example.org")]
    reply, _, _ = command(boss, D, "ticket-search", {"text": "nothing like this"})
    assert table(reply) == []
    assert refusal(boss, "ticket-search", {"queue": "sales"}) == \
        refusal(boss, "ticket-search", {"queue": "nosuch"}) == \
        ("forbidden", "You are not allowed to do that")
    assert ctl(md, "ticket-search", "--customer", "ann", "--status", "RESOLVED") \
        .stdout.startswith(ticket + "\tbilling\tRESOLVED\t")
    # Erasure on request: personal data and transcript gone, audited.
    _, _, notes = command(admin, D, "purge-customer", {"customer": "Ann@Example.org",
                                                        "confirm": "1"})
    assert notes == [("info", "Erased the personal data and transcripts of 1 ticket(s).")]
    assert ticket_row(db, ticket, "customer_name, customer_email, customer_jid, details, "
                                  "subject, personal_data_erased_at IS NOT NULL, status") \
        == [(None, None, None, "{}", None, "t", "RESOLVED")]
    assert db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s" % ticket) == "0"
    audit = db.psql("SELECT actor, action, detail->>'tickets', detail->>'customer_sha256', "
                    "detail::text LIKE '%%example%%' FROM audit_events")
    assert audit == [("admin@localhost", "purge-customer", "[%s]" % ticket,
                      hashlib.sha256(b"ann@example.org").hexdigest(), "f")]
    assert "Customer: (personal data erased)" in ctl(md, "transcript", ticket).stdout
    assert "1 ticket(s) erased" in md.log_text()
    # mucdeskctl cannot wait for the daemon's archive: a chat that ended in
    # the last ten minutes is left for a later run; an older one and a
    # message left (no room) are erased.
    db.psql("INSERT INTO tickets (id, queue, status, customer_email, customer_name, room, "
            "created_at, ended_at) VALUES "
            "(910001, 'billing', 'RESOLVED', 'bob@example.org', 'Bob', 'r1', "
            " now() - interval '2 hours', now() - interval '1 hour'), "
            "(910002, 'billing', 'RESOLVED', 'Bob@example.org', 'Bob', 'r2', "
            " now() - interval '5 minutes', now() - interval '1 minute'), "
            "(910003, 'billing', 'QUEUED', 'bob@example.org', 'Bob', NULL, now(), NULL)")
    out = ctl(md, "purge-customer", "bob@example.org", "--yes").stdout
    assert out == ("erased 2 ticket(s); 1 live or just ended (last 10 minutes) left: "
                   "purge again once they are over\n"), out
    assert db.psql("SELECT id, customer_name IS NULL FROM tickets WHERE id > 910000 "
                   "ORDER BY id") == [("910001", "t"), ("910002", "f"), ("910003", "t")]
    actor = db.psql("SELECT actor, detail->>'tickets' FROM audit_events "
                    "WHERE actor LIKE 'mucdeskctl:%%'")
    assert actor == [("mucdeskctl:" + pwd.getpwuid(os.geteuid()).pw_name, "[910001, 910003]")]


FAKE_SENDMAIL = """#!/bin/sh
# Records each run (arguments, standard input); the first run fails.
dir=%(dir)s
n=$(ls "$dir" | grep -c '[.]args$' || true)
n=$((n + 1))
echo "$@" > "$dir/run$n.args"
cat > "$dir/run$n.msg"
if [ "$n" -eq 1 ]; then echo "queue temporarily unavailable" >&2; exit 75; fi
exit 0
"""


def test_transcript_mail_through_a_fake_sendmail(desk, xmpp, db, run_dir):
    spool = run_dir / "mail"
    spool.mkdir()
    script = run_dir / "fake-sendmail"
    script.write_text(FAKE_SENDMAIL % {"dir": spool})
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    md = desk(queues=Q, agents=A, overrides={"mail": {
        "from": "support@example.org", "sendmail": str(script), "retry_interval": 1,
        "timeout": 10}})
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    c = xmpp.anonymous()
    first = execute(c, jid("billing"), "request-chat")
    assert fields(first)["transcript"].get("type") == "boolean"
    # One mailbox only: `sendmail -t` would mail every address in the To:
    # line, and a header after a line break.
    for bad in ("root,ann@example.org", "ann@example.org, eve@evil.example",
                "ann@example.org\nBcc: eve@evil.example", "Ann <ann@example.org>"):
        reply, _, _ = command(c, jid("billing"), "request-chat",
                              {"name": "Ann", "email": bad, "question": "Hi"}, check=False)
        assert error_condition(reply)[1:] == (
            "bad-request", "email: give one email address, such as name@example.org"), bad
    chat = request_chat(c, "billing", transcript="1")
    room, ticket = chat["room"], chat["ticket"]
    join(c, room, "Ann")
    expect_invite(agent, room)
    join(agent, room, "Alex")
    say(c, room, "Where is my parcel?")
    agent.expect("/s:message[@from='%s/Ann']" % room)
    say(agent, room, "It left this morning.")
    say(agent, room, "/note shipped via the slow carrier")
    expect_notice(agent, room, "Note added")
    say(agent, room, "/close resolved")
    wait_for(lambda: db.psql("SELECT state, attempts, last_error FROM mail_jobs WHERE "
                             "ticket_id=%s" % ticket) == [("sent", "2", None)],
             timeout=20, what="mail sent on the second attempt")
    assert sorted(os.listdir(spool)) == ["run1.args", "run1.msg", "run2.args", "run2.msg"]
    assert (spool / "run2.args").read_text().strip() == "-t -i"
    msg = (spool / "run2.msg").read_text()
    head, body = msg.split("\n\n", 1)
    assert "To: ann@example.org" in head.split("\n")
    assert "From: support@example.org" in head.split("\n")
    assert "Subject: Your chat transcript [Ticket#%s]" % ticket in head
    assert "] Ann: Where is my parcel?" in body and "] Alex: It left this morning." in body
    assert "slow carrier" not in msg and "agent1@localhost" not in msg
    log = md.log_text()
    assert "ticket %s: transcript mail attempt 1 failed (it will be retried): exit status " \
           "75: queue temporarily unavailable" % ticket in log
    assert "ticket %s: transcript mailed (attempt 2)" % ticket in log

    # The customer answers the mail (her client keeps only In-Reply-To):
    # piped by the MTA to mucdeskctl mail-in, it reopens the ticket.
    msgid = [h for h in head.split("\n") if h.startswith("Message-ID: ")][0][12:]
    assert re.fullmatch(r"<mucdesk\.%s\.t\d+@example\.org>" % ticket, msgid), msgid
    answer = ("From: Ann <ann@example.org>\nTo: support@example.org\n"
              "Subject: Re: my parcel\nIn-Reply-To: %s\nMessage-ID: <a1@example.org>\n"
              "Content-Type: text/plain; charset=utf-8\n\nIt never came.\n" % msgid)
    r = md.run_ctl(["mail-in"], input=answer, check=True)
    assert r.stdout.strip() == "appended to ticket #%s (reopened: QUEUED)" % ticket
    assert db.psql("SELECT status FROM tickets WHERE id=%s" % ticket) == [("QUEUED",)]
    assert db.psql("SELECT actor_nick, body FROM ticket_events WHERE ticket_id=%s"
                   " AND kind='message' ORDER BY id DESC LIMIT 1" % ticket) == \
        [("Ann", "It never came.")]


def test_agent_commands_and_who_may_run_what(desk, xmpp, db):
    md, customer, agent, chat = started_chat(
        desk, xmpp, db, overrides={"widget": {
            "script_url": "https://www.example.org/static/mucdesk-widget.js",
            "websocket_url": "wss://xmpp.example.org/xmpp-websocket",
            "anonymous_domain": "anon.example.org"}})
    room, ticket = chat["room"], chat["ticket"]
    reply, _, notes = command(agent, D, "my-chats")
    assert [(r["ticket"], r["you"], r["room"]) for r in table(reply)] == \
        [(ticket, "yours", room)]
    # Busy: new chats pass the agent by; available again: offered.
    _, _, notes = command(agent, D, "set-availability", {"availability": "busy"})
    assert notes == [("info", "You are busy: no new chats are offered to you.")]
    second = request_chat(xmpp.anonymous(), "billing", name="Bob")
    agent.expect_none("/s:message/mucu:x/mucu:invite", 0.5)
    command(agent, D, "set-availability", {"availability": "available"})
    expect_invite(agent, second["room"])
    # The widget snippet, for admins.
    admin = xmpp.login("admin")
    reply, out, _ = command(admin, D, "widget-snippet", {"queue": "billing"})
    assert "\n".join(out["snippet"]) + "\n" == (
        '<script src="https://www.example.org/static/mucdesk-widget.js" defer\n'
        '  data-websocket="wss://xmpp.example.org/xmpp-websocket"\n'
        '  data-domain="anon.example.org"\n'
        '  data-service="support.localhost"\n'
        '  data-queue="billing@support.localhost"></script>\n')
    # Who sees which command (disco#items of the commands node).
    def nodes(client):
        r = client.send_iq("<iq type='get' to='%s'><query xmlns='%s' node='%s'/></iq>"
                           % (D, NS["items"], NS["cmd"]))
        return {i.get("node") for i in r.iter("{%s}item" % NS["items"])}
    staff = {"my-chats", "set-availability", "canned", "kb", "kb-send", "transcript",
             "stats", "rate"}
    admin_only = {"canned-edit", "kb-edit", "purge-customer", "widget-snippet",
                  "webhook-add", "webhook-list", "webhook-test", "webhook-pause",
                  "webhook-resume", "webhook-replay", "webhook-remove", "webhook-dead"}
    seen = nodes(agent)
    assert staff <= seen and not seen & (admin_only | {"ticket-search"})
    assert "ticket-search" in nodes(xmpp.login("super1"))
    assert (staff | admin_only | {"ticket-search"}) <= nodes(admin)
    assert not nodes(customer) & (staff | admin_only)
    # Who may not, table driven: refused alike, ticket or queue existing or
    # not.
    other = xmpp.login("agent2")
    forbidden = ("forbidden", "You are not allowed to do that")
    cases = [
        (agent, "canned-edit", {"name": "x", "text": "y"}),
        (agent, "kb-edit", {"title": "x"}),
        (agent, "purge-customer", {"customer": "ann@example.org", "confirm": "1"}),
        (agent, "widget-snippet", {"queue": "billing"}),
        (agent, "ticket-search", {"text": "x"}),
        (customer, "my-chats", {}),
        (customer, "transcript", {"ticket": ticket}),
        (customer, "stats", {}),
        (other, "canned", {"ticket": ticket, "name": "hello"}),
        (other, "canned", {"ticket": "99999", "name": "hello"}),
        (other, "kb", {"ticket": ticket, "query": "x"}),
        (other, "kb-send", {"ticket": "99999", "article": "1"}),
        (other, "rate", {"ticket": ticket}),
        (other, "rate", {"ticket": "99999"}),
        (other, "transcript", {"ticket": ticket}),
        (other, "transcript", {"ticket": "99999"}),
    ]
    problems = ["%s %s: %s" % (c.name, node, got) for c, node, values in cases
                for got in [refusal(c, node, values)] if got != forbidden]
    assert not problems, "\n".join(problems)
    # In the room: refused as a stranger would be, as for a missing room.
    pres = join(other, room, "Sam")
    assert error_condition(pres)[1] == "registration-required"


def test_snippet_matches_the_widget_vectors(run_dir):
    """mucdeskctl widget-snippet against contrib/widget/tests/snippet-vectors.json
    (no database needed for a queue JID)."""
    import json
    from pathlib import Path
    from mdtest.mucdesk import run_ctl, write_config
    vectors = json.loads((Path(__file__).resolve().parents[2] / "contrib" / "widget" /
                          "tests" / "snippet-vectors.json").read_text())
    for i, v in enumerate(vectors):
        inp = v["input"]
        cfg = write_config(run_dir / ("v%d.conf" % i), {
            "component": {"jid": inp["service"], "secret": "x"},
            "database": {"conninfo": "dbname=unused"},
            "service": {"admins": "admin@localhost"},
            "widget": {"script_url": inp["scriptUrl"], "websocket_url": inp["websocket"],
                       "anonymous_domain": inp["domain"]}})
        out = run_ctl(["widget-snippet", inp["queue"]], config=cfg, check=True).stdout
        assert out == v["output"], v["name"]
