"""The authorisation matrix: each role x each action it must not do, table
driven, through real clients.  A refusal is `forbidden` (or
`registration-required` for room entry) with the same text whether the
ticket exists or not: a session room one may not enter answers exactly as
a ticket room that does not exist (entry, archive, disco), so ticket
numbers cannot be probed.  Plus:
disco#items of the commands node filtered by who asks, and the admin
commands that manage queues and agents."""

from desk_e2e import (command, desk, execute, expect_invite, jid, join, join_queue,  # noqa: F401
                      request_chat, submit, wait_for)
from mdtest.stanzas import NS, error_condition

D = "support.localhost"
Q = [("billing", "round-robin"), ("sales", "round-robin")]
A = [("billing", "agent1@localhost", "agent"),
     ("billing", "super1@localhost", "supervisor"),
     ("sales", "agent2@localhost", "agent")]


def run_command(client, node, values, to=D):
    reply, _, notes = command(client, to, node, values, check=False)
    if reply.get("type") == "error":
        return error_condition(reply)[1], error_condition(reply)[2]
    return "ok", notes


def enter(client, room, nick):
    pres = join(client, room, nick)
    if pres.get("type") == "error":
        return error_condition(pres)[1], error_condition(pres)[2]
    client.send("<presence type='unavailable' to='%s/%s'/>" % (room, nick))
    return "ok", None


def mam(client, room):
    r = client.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2'/></iq>" % room)
    return ((error_condition(r)[1], error_condition(r)[2]) if r.get("type") == "error"
            else ("ok", None))


def disco_info(client, room):
    r = client.send_iq("<iq type='get' to='%s'><query xmlns='%s'/></iq>" % (room, NS["info"]))
    return ((error_condition(r)[1], error_condition(r)[2]) if r.get("type") == "error"
            else ("ok", None))


def test_authorisation_matrix(desk, xmpp, db):
    desk(queues=Q, agents=A)
    people = {
        "admin": xmpp.login("admin"),
        "supervisor": xmpp.login("super1"),
        "agent": xmpp.login("agent1"),
        "other-agent": xmpp.login("agent2"),
        "customer": xmpp.anonymous(),
        "stranger": xmpp.anonymous(),
    }
    join_queue(people["agent"], "billing", "Alex")
    chat = request_chat(people["customer"], "billing")
    room, ticket = chat["room"], chat["ticket"]
    expect_invite(people["agent"], room)
    missing = "99999"
    nowhere = jid("ticket-" + missing)

    # (who, what, how) -> expected condition
    cases = [
        ("other-agent", "enter queue room", lambda c: enter(c, jid("billing"), "X"),
         "registration-required"),
        ("customer", "enter queue room", lambda c: enter(c, jid("billing"), "X"),
         "registration-required"),
        ("stranger", "enter queue room", lambda c: enter(c, jid("billing"), "X"),
         "registration-required"),
        ("other-agent", "enter session room", lambda c: enter(c, room, "X"),
         "registration-required"),
        ("stranger", "enter session room", lambda c: enter(c, room, "X"),
         "registration-required"),
        ("stranger", "enter missing session room", lambda c: enter(c, nowhere, "X"),
         "registration-required"),
        ("admin", "enter (create) a room named like a ticket's",
         lambda c: enter(c, nowhere, "X"), "registration-required"),
        ("stranger", "read the transcript", lambda c: mam(c, room), "forbidden"),
        ("other-agent", "read the transcript", lambda c: mam(c, room), "forbidden"),
        ("other-agent", "read a missing transcript", lambda c: mam(c, nowhere),
         "forbidden"),
        ("stranger", "disco the session room", lambda c: disco_info(c, room),
         "item-not-found"),
        ("stranger", "disco a missing session room", lambda c: disco_info(c, nowhere),
         "item-not-found"),
        ("other-agent", "accept", lambda c: run_command(c, "accept", {"ticket": ticket}),
         "forbidden"),
        ("customer", "accept", lambda c: run_command(c, "accept", {"ticket": ticket}),
         "forbidden"),
        ("agent", "observe", lambda c: run_command(c, "observe", {"ticket": ticket}),
         "forbidden"),
        ("other-agent", "close", lambda c: run_command(
            c, "close", {"ticket": ticket, "status": "resolved"}), "forbidden"),
        ("customer", "close", lambda c: run_command(
            c, "close", {"ticket": ticket, "status": "resolved"}), "forbidden"),
        ("agent", "close a ticket that does not exist", lambda c: run_command(
            c, "close", {"ticket": missing, "status": "resolved"}), "forbidden"),
        ("other-agent", "note", lambda c: run_command(
            c, "note", {"ticket": ticket, "text": "x"}), "forbidden"),
        ("agent", "queue-create", lambda c: run_command(
            c, "queue-create", {"queue": "x1", "name": "X"}), "forbidden"),
        ("supervisor", "queue-create", lambda c: run_command(
            c, "queue-create", {"queue": "x1", "name": "X"}), "forbidden"),
        ("agent", "agent-add", lambda c: run_command(
            c, "agent-add", {"queue": "billing", "jid": "agent2@localhost"}), "forbidden"),
        ("customer", "queue-delete", lambda c: run_command(
            c, "queue-delete", {"queue": "billing"}), "forbidden"),
        ("supervisor", "agent-remove", lambda c: run_command(
            c, "agent-remove", {"queue": "billing", "jid": "agent1@localhost"}), "forbidden"),
    ]
    problems = []
    texts = {}
    for who, what, how, expected in cases:
        got, detail = how(people[who])
        if got != expected:
            problems.append("%s may %s: got %s, expected %s" % (who, what, got, expected))
        if got != "ok" and detail is not None and "queue room" not in what:
            key = "close" if what.startswith("close") else what.split()[0]
            texts.setdefault(key, set()).add(detail)
    assert not problems, "\n".join(problems)
    # Not existing and not allowed say the same thing, word for word.
    for key in ("close", "enter", "read", "disco"):
        assert len(texts.get(key, set())) == 1, texts

    # And what each may do (the matrix's other half, briefly).
    assert disco_info(people["agent"], room)[0] == "ok"
    assert enter(people["customer"], room, "Ann")[0] == "ok"
    assert enter(people["supervisor"], room, "Boss")[0] == "ok"
    assert run_command(people["supervisor"], "observe", {"ticket": ticket})[0] == "ok"
    assert mam(people["agent"], room)[0] == "ok"


def command_nodes(client, to=D):
    r = client.send_iq("<iq type='get' to='%s'><query xmlns='%s' node='%s'/></iq>"
                       % (to, NS["items"], NS["cmd"]))
    return {i.get("node") for i in r.iter("{%s}item" % NS["items"])}


def test_commands_listed_by_who_asks(desk, xmpp, db):
    desk(queues=Q, agents=A)
    customer, agent = xmpp.anonymous(), xmpp.login("agent1")
    boss, admin = xmpp.login("super1"), xmpp.login("admin")
    assert command_nodes(customer) == {"resume-chat", "rate-chat"}
    seen = command_nodes(agent)
    assert {"accept", "waiting", "close", "note", "forward"} <= seen
    assert not seen & {"observe", "queue-create", "agent-add"}
    assert {"observe", "take", "join"} <= command_nodes(boss)
    assert {"queue-create", "queue-configure", "queue-delete", "agent-add",
            "agent-remove"} <= command_nodes(admin)
    assert command_nodes(customer, jid("billing")) == {"request-chat"}
    info = customer.send_iq("<iq type='get' to='%s'><query xmlns='%s'/></iq>"
                            % (jid("billing"), NS["info"]))
    assert NS["cmd"] in {f.get("var") for f in info.iter("{%s}feature" % NS["info"])}
    hidden = customer.send_iq("<iq type='get' to='%s'><query xmlns='%s' node='queue-create'/>"
                              "</iq>" % (D, NS["info"]))
    assert error_condition(hidden)[1] == "item-not-found"


def test_admin_manages_queues_and_agents_by_command(desk, xmpp, db):
    md = desk(queues=Q, agents=A)
    admin = xmpp.login("admin")
    _, _, notes = command(admin, D, "queue-create",
                          {"queue": "support", "name": "Support", "strategy": "least-busy",
                           "offer-timeout": "15", "max-wait": "120"})
    assert notes == [("info", "Queue support created.")]
    md.wait_for_log("queue support (least-busy)", after=0)
    err, _, _ = command(admin, D, "queue-create", {"queue": "support"}, check=False)
    assert error_condition(err)[1:] == ("bad-request", "queue: a queue with this name exists")
    err, _, _ = command(admin, D, "queue-create", {"queue": "Bad Name"}, check=False)
    assert error_condition(err)[1] == "bad-request"
    assert error_condition(err)[2].startswith("queue: ")
    _, _, notes = command(admin, D, "agent-add",
                          {"queue": "support", "jid": "agent2@localhost", "role": "supervisor",
                           "max-chats": "2", "skills": "French, billing"})
    assert notes == [("info", "agent2@localhost is now a supervisor of queue support.")]
    wait_for(lambda: db.psql("SELECT role, max_chats, skills FROM agents WHERE queue='support'")
             == [("supervisor", "2", "{french,billing}")], what="agent row")
    # The note is whole, however long the address (it was cut at 63 bytes).
    _, _, notes = command(admin, D, "agent-add",
                          {"queue": "support", "jid": "night-shift-supervisor@localhost"})
    assert notes == [("info", "night-shift-supervisor@localhost is now an agent of "
                              "queue support.")]
    _, _, notes = command(admin, D, "agent-remove", {"queue": "support",
                                                     "jid": "night-shift-supervisor@localhost"})
    assert notes == [("info", "night-shift-supervisor@localhost removed from queue support.")]
    # queue-configure: two stages (which queue, then its settings).
    first = execute(admin, D, "queue-configure")
    sid = first.find("{%s}command" % NS["cmd"]).get("sessionid")
    second = execute(admin, D, "queue-configure", action="next", sessionid=sid,
                     form=submit({"queue": "support"}))
    cmd = second.find("{%s}command" % NS["cmd"])
    assert cmd.get("status") == "executing"
    assert cmd.find("{%s}actions/{%s}prev" % (NS["cmd"], NS["cmd"])) is not None
    done = execute(admin, D, "queue-configure", action="complete", sessionid=sid,
                   form=submit({"name": "Support team", "offer-timeout": "30"}))
    assert done.find("{%s}command" % NS["cmd"]).get("status") == "completed"
    wait_for(lambda: db.psql("SELECT title, offer_timeout, strategy FROM queues WHERE "
                             "name='support'") == [("Support team", "30", "least-busy")],
             what="configured")
    # XEP-0050 errors: a session used after completion, an unknown action.
    stale = execute(admin, D, "queue-configure", action="complete", sessionid=sid,
                    form=submit({}), check=False)
    assert error_condition(stale)[1] == "bad-request"
    assert stale.find(".//{%s}bad-sessionid" % NS["cmd"]) is not None
    bad = execute(admin, D, "queue-delete", action="explode", check=False)
    assert bad.find(".//{%s}malformed-action" % NS["cmd"]) is not None
    _, _, notes = command(admin, D, "agent-remove", {"queue": "support",
                                                     "jid": "agent2@localhost"})
    _, _, notes = command(admin, D, "queue-delete", {"queue": "support"})
    assert notes == [("info", "Queue support deleted.")]
    md.wait_for_log("queue support removed", after=0)
