"""Operations, end to end: the metrics move by exactly what was done (a
chat requested, offered, accepted, talked in, closed), mucdeskctl status
prints them, systemd hears READY=1 only once the link is up, the database
reached and the open chats restored (then STATUS lines and WATCHDOG=1),
and SIGHUP takes up [desk] settings and names what needs a restart."""

import copy
import os
import re
import signal
import time

from desk_e2e import (barrier, command, desk, expect_desk_event, expect_invite, jid, join,  # noqa: F401
                      join_queue, request_chat, say, wait_for)
from mdtest.mucdesk import LINK_UP, Mucdesk, write_config
from mdtest.ops import NotifySocket, parse_metrics, scrape
from mdtest.ports import free_port
from mdtest.stanzas import NS, error_condition

Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent"), ("billing", "agent2@localhost", "agent")]


def metrics(addr):
    return parse_metrics(scrape(addr))


def wait_metric(addr, name, value, **labels):
    """Scrape until name{labels} == value; returns the parsed scrape."""
    last = {}

    def ok():
        m = metrics(addr)
        last["v"] = m.get(name, **labels)
        return m if last["v"] == value else None
    try:
        return wait_for(ok, what="%s%r == %s" % (name, labels, value))
    except AssertionError:
        raise AssertionError("%s%r is %r, not %r" % (name, labels, last.get("v"), value))


COUNTERS = [("mucdesk_chats_created_total", {}),
            ("mucdesk_offers_made_total", {}),
            ("mucdesk_offers_declined_total", {}),
            ("mucdesk_offers_expired_total", {}),
            ("mucdesk_chats_requeued_total", {}),
            ("mucdesk_messages_total", {"type": "groupchat"}),
            ("mucdesk_messages_total", {"type": "private"}),
            ("mucdesk_mam_queries_total", {}),
            ("mucdesk_chat_wait_seconds_count", {}),
            ("mucdesk_chat_first_response_seconds_count", {}),
            ("mucdesk_rate_limited_total", {"limit": "message_rate"}),
            ("mucdesk_rate_limited_total", {"limit": "new_tickets"})] + [
    ("mucdesk_chats_ended_total", {"outcome": o})
    for o in ("resolved", "inprogress", "queued", "abandoned")]


def counters(m):
    return {(n, tuple(sorted(l.items()))): m.value(n, **l) for n, l in COUNTERS}


def moved(before, after):
    """The counters that changed, by how much."""
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))


def test_metrics_follow_a_chat(desk, xmpp, db):
    addr = "127.0.0.1:%d" % free_port()
    md = desk(queues=Q, agents=A, overrides={"http": {"listen": addr}})
    m0 = wait_metric(addr, "mucdesk_ready", 1)
    assert m0.value("mucdesk_queue_waiting_chats", queue="billing") == 0
    assert m0.value("mucdesk_queue_agents_online", queue="billing") == 0
    c0 = counters(m0)

    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    wait_metric(addr, "mucdesk_queue_agents_available", 1, queue="billing")
    other = xmpp.login("agent2")
    join_queue(other, "billing", "Bo", show="away")  # online, not available
    m = wait_metric(addr, "mucdesk_queue_agents_online", 2, queue="billing")
    assert m.value("mucdesk_queue_agents_available", queue="billing") == 1

    # A request: one chat, waiting, offered to the one available agent.
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    room = chat["room"]
    expect_invite(agent, room)
    m = wait_metric(addr, "mucdesk_queue_waiting_chats", 1, queue="billing")
    assert m.value("mucdesk_queue_longest_wait_seconds", queue="billing") >= 0
    assert moved(c0, counters(m)) == {key("mucdesk_chats_created_total"): 1,
                                      key("mucdesk_offers_made_total"): 1}

    # Accepted: waiting no more, active, one wait timed.
    join(customer, room, "Ann")
    join(agent, room, "Alex")
    m = wait_metric(addr, "mucdesk_queue_active_chats", 1, queue="billing")
    assert m.value("mucdesk_queue_waiting_chats", queue="billing") == 0
    assert m.value("mucdesk_queue_longest_wait_seconds", queue="billing") == 0

    # Talk: the customer, the agent (the first response), a private word
    # between staff, an archive query; a command is none of these.
    say(customer, room, "hello?")
    agent.expect("/s:message[@from='%s/Ann']/s:body[.='hello?']" % room)
    say(agent, room, "Hi Ann")
    customer.expect("/s:message[@from='%s/Alex']/s:body[.='Hi Ann']" % room)
    join(other, room, "Bo")
    agent.send("<message type='chat' to='%s/Bo'><body>psst</body></message>" % room)
    other.expect("/s:message[@from='%s/Alex']/s:body[.='psst']" % room)
    fin = agent.send_iq("<iq type='set' to='%s'><query xmlns='%s'/></iq>" % (room, NS["mam"]))
    assert fin.get("type") == "result"
    say(agent, room, "/note checked the invoice")
    barrier(agent)

    # Closed: resolved, nothing active.
    say(agent, room, "/close resolved")
    expect_desk_event(customer, room, "closed")
    m = wait_metric(addr, "mucdesk_chats_ended_total", c0[key(
        "mucdesk_chats_ended_total", outcome="resolved")] + 1, outcome="resolved")
    assert m.value("mucdesk_queue_active_chats", queue="billing") == 0
    assert moved(c0, counters(m)) == {
        key("mucdesk_chats_created_total"): 1,
        key("mucdesk_offers_made_total"): 1,
        key("mucdesk_chat_wait_seconds_count"): 1,
        key("mucdesk_messages_total", type="groupchat"): 2,
        key("mucdesk_messages_total", type="private"): 1,
        key("mucdesk_mam_queries_total"): 1,
        key("mucdesk_chat_first_response_seconds_count"): 1,
        key("mucdesk_chats_ended_total", outcome="resolved"): 1,
    }
    # The histograms hold what happened: the wait and the first answer
    # took seconds, not minutes.
    assert m.value("mucdesk_chat_wait_seconds_bucket", le="60") == 1
    assert m.value("mucdesk_chat_first_response_seconds_bucket", le="60") == 1
    assert m.value("mucdesk_database_up") == 1 and m.value("mucdesk_link_up") == 1

    # mucdeskctl status says the same to a person.
    out = md.run_ctl(["status"], check=True).stdout
    assert out.startswith("mucdesk at %s: ready, running since " % addr), out
    assert out.splitlines()[1] == "role: standalone (no [ha] lock, serving)", out
    assert "link: up, 0 reconnect(s); database: up" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["billing", "0", "0s", "1", "2", "0"] in lines, out
    assert "chats: 1 created, 0 requeued; ended: 1 resolved, 0 in progress" in out
    assert "offers: 1 made, 0 declined, 0 expired" in out
    assert "messages: 2 groupchat, 1 private; 1 MAM query(ies)" in out


def test_status_without_a_listener_says_so(mucdesk):
    r = mucdesk.run_ctl(["status"])
    assert r.returncode == 1
    assert "has no [http] listen: the daemon has no HTTP listener" in r.stderr


def test_a_declined_and_an_expired_offer_are_counted(desk, xmpp):
    addr = "127.0.0.1:%d" % free_port()
    desk(queues=[("billing", "round-robin", {"offer-timeout": 1})],
         agents=A[:1], overrides={"http": {"listen": addr}})
    c0 = counters(wait_metric(addr, "mucdesk_ready", 1))
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.anonymous()
    room = request_chat(customer, "billing")["room"]
    join(customer, room, "Ann")
    expect_invite(agent, room)
    agent.send("<message to='%s'><x xmlns='%s'><decline><reason>busy</reason></decline>"
               "</x></message>" % (room, NS["mucu"]))
    m = wait_metric(addr, "mucdesk_offers_declined_total", 1)
    # Offered again after the decline skip ([desk] decline_skip 2 s), then
    # left to expire (the offer timeout, 1 s).
    wait_metric(addr, "mucdesk_offers_expired_total", 1)
    # The customer gives up while waiting: abandoned.
    customer.send("<presence type='unavailable' to='%s/Ann'/>" % room)
    m = wait_metric(addr, "mucdesk_chats_ended_total", 1, outcome="abandoned")
    d = moved(c0, counters(m))
    assert d[key("mucdesk_offers_declined_total")] == 1
    assert d[key("mucdesk_offers_expired_total")] >= 1
    assert d[key("mucdesk_chats_ended_total", outcome="abandoned")] == 1
    assert key("mucdesk_chat_wait_seconds_count") not in d


def test_ready_only_once_link_database_and_chats_are_back(desk, xmpp, xmpp_server, db,
                                                          run_dir):
    md = desk(queues=Q, agents=A[:1])
    customer = xmpp.anonymous()
    request_chat(customer, "billing")
    wait_for(lambda: db.value("SELECT count(*) FROM tickets WHERE status = 'QUEUED'") == "1",
             what="the ticket in PostgreSQL")
    assert md.stop() == 0
    xmpp.close()
    xmpp_server.stop()

    with NotifySocket(run_dir) as ns:
        env = dict(os.environ, **ns.env(watchdog_usec=400000))
        again = Mucdesk(md.config_path, run_dir=run_dir, name="notified", env=env)
        again.start()
        try:
            # No XMPP server: the status says so, the watchdog is fed, no READY.
            ns.wait_for("STATUS=starting: link connecting, database up, "
                        "restoring open chats", timeout=20)
            t0 = time.monotonic()
            time.sleep(1.5)
            assert "READY=1" not in "\n".join(ns.texts())
            assert len([1 for at, v, _ in ns.assignments()
                        if v == "WATCHDOG" and at >= t0]) >= 4
            xmpp_server.start()
            at, _ = ns.wait_for("READY=1", timeout=30)
            # By then the link was up and the open chat restored.
            log = again.log_text()
            assert LINK_UP in log and "1 open ticket(s) restored" in log
            # READY=1 comes with the status line (the restored chat may have
            # ended already: its customer did not come back in time).
            status = [v for a, var, v in ns.assignments() if var == "STATUS" and a >= at]
            assert re.fullmatch(r"link up, database up, 1 queue\(s\), [01] chat\(s\) "
                                r"waiting, 0 active", status[0]), status
            # The watchdog goes on, from the loop's timer.
            t1 = time.monotonic()
            time.sleep(1.2)
            assert len([1 for a, v, _ in ns.assignments() if v == "WATCHDOG" and a >= t1]) >= 3
            # SIGHUP: RELOADING=1, then READY=1 again.
            t2 = time.monotonic()
            again.send_signal(signal.SIGHUP)
            ns.wait_for("RELOADING=1", after=t2)
            ns.wait_for("READY=1", after=t2)
            # A link outage after the start is a status, not a new start.
            mark = again.mark()
            xmpp_server.restart()
            again.wait_for_log(LINK_UP, after=mark, timeout=30)
            readies = [v for a, v, _ in ns.assignments() if v == "READY"]
            assert len(readies) == 2
        finally:
            assert again.stop() == 0
        ns.wait_for("STOPPING=1")
        again.check_sanitizers()


def test_sighup_takes_desk_settings_and_names_what_needs_a_restart(desk, xmpp):
    md = desk(queues=Q, agents=A[:1])
    cfg = copy.deepcopy(md.config)
    cfg["desk"]["new_tickets_per_minute"] = 1
    cfg["component"]["reconnect_max"] = 7
    cfg["log"]["level"] = "info"
    write_config(md.config_path, cfg)
    mark = md.mark()
    md.send_signal(signal.SIGHUP)
    md.wait_for_log("SIGHUP: %s read again: 2 setting(s) changed in effect" % md.config_path,
                    after=mark)
    log = md.log_text(after=mark)
    assert "SIGHUP: [desk] new_tickets_per_minute changed: in effect now" in log
    assert "SIGHUP: [log] level changed: in effect now" in log
    assert ("SIGHUP: [component] reconnect_max changed in %s: takes effect only after a "
            "restart" % md.config_path) in log
    # The new limit holds now: one new ticket a minute.
    request_chat(xmpp.anonymous(), "billing")
    second = xmpp.anonymous()
    refused, _, _ = command(second, jid("billing"), "request-chat",
                            {"name": "Bo", "email": "bo@example.org", "question": "q"},
                            check=False)
    assert refused.get("type") == "error"
    assert error_condition(refused)[1] == "resource-constraint"
    # The log level went from debug to info: no more debug lines.
    mark = md.mark()
    barrier(second)
    assert not md.log_lines(level="debug", after=mark)

    # A file that no longer loads changes nothing.
    md.config_path.write_text(md.config_path.read_text() + "\n[desk]\nbogus = 1\n")
    mark = md.mark()
    md.send_signal(signal.SIGHUP)
    md.wait_for_log("the running configuration is kept", after=mark)
    assert md.is_running()


def test_metrics_listener_survives_a_database_outage(desk, postgres):
    """Scrapes keep working while PostgreSQL is away; the gauges say so."""
    addr = "127.0.0.1:%d" % free_port()
    desk(queues=Q, agents=A[:1], overrides={"http": {"listen": addr}})
    wait_metric(addr, "mucdesk_ready", 1)
    postgres.stop()
    try:
        m = wait_metric(addr, "mucdesk_database_up", 0)
        assert m.value("mucdesk_link_up") == 1
    finally:
        postgres.start()
    wait_metric(addr, "mucdesk_database_up", 1)
