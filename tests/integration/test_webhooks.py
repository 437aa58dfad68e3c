"""Issue 16, webhooks: what happens to tickets is POSTed, signed, in order
per ticket, at least once, to a real local HTTP receiver, through Prosody
(or ejabberd), PostgreSQL and mucdesk.  Events are written by triggers in
the transaction of their change (sql/011), whoever makes it: the chat's
own path (the archive shipper), mucdeskctl ticket-update.  A receiver that
is down for a minute gets every event afterwards, in order; an event the
receiver refuses ends in the dead-letter list after [webhooks]
max_attempts and is sent again by a replay; a paused endpoint keeps its
events until resumed.  The metrics count what happened."""

import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from desk_e2e import (DOMAIN, command, ctl, expect_invite, expect_notice, join,  # noqa: F401
                      join_queue, request_chat, say, wait_for)
from desk_e2e import desk  # noqa: F401  (the fixture)
from mdtest.ops import parse_metrics, scrape
from mdtest.ports import free_port, wait_for_port
from mdtest.webhooks import Receiver

Q = [("billing", "round-robin"), ("sales", "round-robin")]
A = [("billing", "agent1@localhost", "agent"), ("sales", "agent2@localhost", "agent")]
SECRET = "s3cret-of-the-receiver-0123456789"
ALL = ("ticket.created", "ticket.assigned", "ticket.requeued", "ticket.ended",
       "ticket.updated", "ticket.rated", "message.added")
FAST = {"retry_min": 1, "retry_max": 2, "max_attempts": 3, "timeout": 5}


def endpoint(db, url, events=ALL, queues=None, secret=SECRET):
    q = "NULL" if queues is None else "ARRAY[%s]" % ",".join("'%s'" % x for x in queues)
    return int(db.value(
        "INSERT INTO webhook_endpoints (url, secret, events, queues) VALUES "
        "('%s', '%s', ARRAY[%s], %s) RETURNING id"
        % (url, secret, ",".join("'%s'" % e for e in events), q)))


def started(desk, xmpp, overrides=None):
    addr = "127.0.0.1:%d" % free_port()
    cfg = {"webhooks": dict(FAST), "http": {"listen": addr}}
    for k, v in (overrides or {}).items():
        cfg.setdefault(k, {}).update(v)
    md = desk(queues=Q, agents=A, overrides=cfg)
    return md, addr


def a_chat(xmpp, agent, lines, close="!close resolved", chat_out=None):
    """A billing chat: the customer and agent say their lines, the agent
    closes it.  Returns the ticket number (chat_out, a dict: gets the
    request-chat result and the clients)."""
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing", question="Webhook question")
    room = chat["room"]
    join(customer, room, "Ann")
    expect_invite(agent, room)
    join(agent, room, "Alex")
    for who, text in lines:
        sender, other = (customer, agent) if who == "customer" else (agent, customer)
        say(sender, room, text)
        if text.startswith("!note"):  # staff only: the agent is answered
            expect_notice(agent, room, "Note added")
        else:
            other.expect("/s:message[@type='groupchat'][s:body='%s']" % text)
    if close:
        say(agent, room, close)
    if chat_out is not None:
        chat_out.update(chat, customer=customer)
    return int(chat["ticket"])


def outbox(db, ep):
    return [(int(r[0]), r[1], r[2]) for r in db.psql(
        "SELECT id, event, state FROM webhook_outbox WHERE endpoint_id = %d ORDER BY id" % ep)]


def metric(addr, name, **labels):
    return parse_metrics(scrape(addr)).get(name, **labels)


def test_a_chat_is_told_in_order_signed_and_to_whom_asked(desk, xmpp, db):
    with Receiver() as rx:
        md, addr = started(desk, xmpp)
        everything = endpoint(db, rx.url("/all"))
        ended_only = endpoint(db, rx.url("/ended"), events=["ticket.ended"], queues=["billing"])
        sales_only = endpoint(db, rx.url("/sales"), queues=["sales"])
        alex = xmpp.login("agent1")
        join_queue(alex, "billing", "Alex")
        chat = {}
        ticket = a_chat(xmpp, alex, [("customer", "hello, my invoice"),
                                     ("agent", "let me look"),
                                     ("agent", "!note customer is on the old plan"),
                                     ("customer", "thanks")], chat_out=chat)
        got = rx.wait(lambda g: any(d.type == "ticket.ended" for d in g), path="/all",
                      what="ticket.ended")
        # Everything the chat did, in the order it happened.
        mine = [d for d in got if d.json["ticket"]["id"] == ticket]
        kinds = [(d.type, d.json.get("message", {}).get("body")) for d in mine]
        assert kinds == [("ticket.created", None), ("ticket.assigned", None),
                         ("message.added", "hello, my invoice"),
                         ("message.added", "let me look"),
                         ("message.added", "customer is on the old plan"),
                         ("message.added", "thanks"),
                         ("ticket.ended", None)], kinds
        seqs = [d.json["sequence"] for d in mine]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        for d in mine:
            assert d.signature_ok(SECRET), d.headers
            assert not d.signature_ok("another secret of 16+ chars")
            assert d.headers["X-Mucdesk-Event"] == d.type
            assert d.headers["Idempotency-Key"] == d.headers["X-Mucdesk-Delivery"] == d.json["id"]
            assert d.headers["Content-Type"] == "application/json"
        created, assigned, note, ended = mine[0].json, mine[1].json, mine[4].json, mine[6].json
        assert created["ticket"]["queue"] == "billing"
        assert created["ticket"]["customer"]["name"] == "Ann"
        assert created["ticket"]["customer"]["email"] == "ann@example.org"
        assert created["ticket"]["details"]["question"] == "Webhook question"
        assert "resume_token_hash" not in created["ticket"]
        assert assigned["ticket"]["owner"] == "agent1@localhost"
        assert assigned["previous_owner"] is None
        assert note["message"]["internal"] is True and note["message"]["kind"] == "note"
        assert mine[2].json["message"]["internal"] is False
        assert mine[3].json["message"]["from"]["jid"] == "agent1@localhost"
        assert ended["ticket"]["status"] == "RESOLVED" and ended["ticket"]["ended_at"]
        # The endpoint that asked for ends of billing tickets got that only;
        # the one for sales nothing.
        wait_for(lambda: [d.type for d in rx.got("/ended")] == ["ticket.ended"],
                 what="ended-only endpoint")
        assert rx.got("/sales") == []
        assert outbox(db, sales_only) == []
        assert metric(addr, "mucdesk_webhook_sender_up") == 1
        # The customer's rating, afterwards.
        command(xmpp.anonymous(), DOMAIN, "rate-chat", {"ticket": str(ticket), "token": chat["token"],
                                                         "rating": "5", "comment": "quick"})
        rated = rx.wait(lambda g: any(d.type == "ticket.rated" for d in g), path="/all")
        rated = [d.json for d in rated if d.type == "ticket.rated"][0]
        assert (rated["ticket"]["rating"], rated["ticket"]["rating_comment"]) == (5, "quick")
        # Later work on the ticket, from mucdeskctl: `updated`, with what changed.
        ctl(md, "ticket-update", str(ticket), "priority=1", "tags=vip,invoice")
        upd = rx.wait(lambda g: any(d.type == "ticket.updated" for d in g), path="/all")
        upd = [d.json for d in upd if d.type == "ticket.updated"]
        assert upd[-1]["changes"] == ["priority", "tags"]
        assert upd[-1]["ticket"]["tags"] == ["vip", "invoice"]
        # Forwarded to sales: `requeued`, now a sales ticket, so the sales
        # endpoint hears of it from here on.
        moved = a_chat(xmpp, alex, [("customer", "a contract question")], close="!forward sales")
        got = rx.wait(lambda g: any(d.type == "ticket.requeued" for d in g), path="/sales")
        req = [d.json for d in got if d.type == "ticket.requeued"][0]
        assert (req["ticket"]["id"], req["ticket"]["queue"], req["ticket"]["status"]) == \
            (moved, "sales", "QUEUED")
        assert (req["previous_queue"], req["previous_status"], req["previous_owner"]) == \
            ("billing", "INPROGRESS", "agent1@localhost")
        assert [d.type for d in got if d.json["ticket"]["id"] == moved] == ["ticket.requeued"]
        assert [d.type for d in rx.got("/all") if d.json["ticket"]["id"] == moved][-1] == \
            "ticket.requeued"
        # Nothing left behind, every row delivered once.
        wait_for(lambda: all(s == "delivered" for _, _, s in outbox(db, everything)),
                 what="all delivered")
        ids = [d.json["id"] for d in rx.got("/all")]
        assert len(ids) == len(set(ids)) == len(outbox(db, everything))
        assert len(outbox(db, ended_only)) == 1
        wait_for(lambda: all(s == "delivered" for _, _, s in outbox(db, sales_only)),
                 what="sales delivered")
        assert metric(addr, "mucdesk_webhook_attempts_total", outcome="delivered") == \
            len(rx.got("/all")) + len(rx.got("/ended")) + len(rx.got("/sales"))


@pytest.mark.prosody_only      # a minute of the receiver being down
def test_a_receiver_down_for_a_minute_gets_every_event_afterwards_in_order(desk, xmpp, db):
    rx = Receiver().start()
    try:
        # max_attempts stays 3 (FAST): a receiver that is down makes no
        # dead letter, however many attempts it misses.
        md, addr = started(desk, xmpp, {"webhooks": {"retry_max": 5}})
        ep = endpoint(db, rx.url())
        alex = xmpp.login("agent1")
        join_queue(alex, "billing", "Alex")
        first = a_chat(xmpp, alex, [("customer", "before the outage")])
        rx.wait(lambda g: any(d.type == "ticket.ended" for d in g), what="first chat")
        rx.stop()
        down_at = time.monotonic()
        # Two chats while the receiver is away.
        second = a_chat(xmpp, alex, [("customer", "during the outage 1"),
                                     ("agent", "answer 1")])
        third = a_chat(xmpp, alex, [("customer", "during the outage 2")], close="!close queued")
        wait_for(lambda: int(db.value(
            "SELECT failures FROM webhook_endpoints WHERE id = %d" % ep)) >= 2,
            timeout=30, what="the sender noticing the receiver is down")
        assert metric(addr, "mucdesk_webhook_attempts_total", outcome="receiver_down") >= 2
        err = db.value("SELECT last_error FROM webhook_endpoints WHERE id = %d" % ep)
        assert "onnect" in err, err
        wait_for(lambda: time.monotonic() - down_at >= 60, timeout=90,
                 what="a minute")
        assert metric(addr, "mucdesk_webhook_events_pending") > 0
        assert int(db.value("SELECT max(attempts) FROM webhook_outbox WHERE endpoint_id = %d"
                            % ep)) > 3
        assert db.value("SELECT count(*) FROM webhook_outbox WHERE state = 'dead'") == "0"
        rx.start()
        rows = outbox(db, ep)
        wait_for(lambda: all(s == "delivered" for _, _, s in outbox(db, ep)), timeout=30,
                 what="the backlog delivered")
        rows = outbox(db, ep)
        got = rx.got()
        # None lost: every row arrived; in order for each ticket.
        assert {d.json["sequence"] for d in got} == {i for i, _, _ in rows}
        for t in (first, second, third):
            seq = [d.json["sequence"] for d in got if d.json["ticket"]["id"] == t]
            assert seq == sorted(seq), (t, seq)
        bodies = [d.json["message"]["body"] for d in got if d.type == "message.added"]
        assert bodies.index("during the outage 1") < bodies.index("answer 1")
        third_types = [d.type for d in got if d.json["ticket"]["id"] == third]
        assert third_types[-1] == "ticket.ended"
        assert [d.json["ticket"]["status"] for d in got
                if d.json["ticket"]["id"] == third][-1] == "QUEUED"
        assert int(db.value("SELECT failures FROM webhook_endpoints WHERE id = %d" % ep)) == 0
        wait_for(lambda: metric(addr, "mucdesk_webhook_events_pending") == 0, what="gauge")
    finally:
        rx.stop()


def test_a_refused_event_is_a_dead_letter_until_replayed_and_pause_holds_events(desk, xmpp, db):
    """Through the admin commands' mucdeskctl twins: webhook-test,
    webhook-dead, webhook-replay, webhook-pause, webhook-resume."""
    with Receiver() as rx:
        md, addr = started(desk, xmpp)
        out = ctl(md, "webhook-add", rx.url("/picky"), "--secret", SECRET).stdout
        ep = int(out.split("\n")[0].split()[1])
        rx.status["/picky"] = 422
        assert "test event" in ctl(md, "webhook-test", str(ep)).stdout
        wait_for(lambda: db.value("SELECT state FROM webhook_outbox WHERE endpoint_id = %d" % ep)
                 == "dead", timeout=30, what="a dead letter")
        row = db.psql("SELECT attempts, last_status, last_error FROM webhook_outbox "
                      "WHERE endpoint_id = %d" % ep)[0]
        assert row[0] == "3" and row[1] == "422" and row[2].startswith("HTTP 422"), row
        assert len(rx.attempts) == 3 and rx.got() == []
        dead = ctl(md, "webhook-dead", str(ep)).stdout.strip().split("\n")
        assert len(dead) == 1 and "webhook.test" in dead[0] and "HTTP 422" in dead[0], dead
        # Refusals are the event's, not the receiver's: no endpoint backoff.
        assert db.value("SELECT failures FROM webhook_endpoints WHERE id = %d" % ep) == "0"
        assert metric(addr, "mucdesk_webhook_dead_letters_total") == 1
        assert metric(addr, "mucdesk_webhook_attempts_total", outcome="refused") == 3
        wait_for(lambda: metric(addr, "mucdesk_webhook_events_dead") == 1, what="dead gauge")
        # Replayed once the receiver takes it.
        rx.status["/picky"] = 200
        assert "1 event(s) to send again" in ctl(md, "webhook-replay", str(ep)).stdout
        got = rx.wait(lambda g: len(g) == 1)
        assert got[0].type == "webhook.test" and got[0].signature_ok(SECRET)
        assert ctl(md, "webhook-dead", str(ep)).stdout.strip() == ""
        # Paused: written, not sent; resumed: sent at once.
        ctl(md, "webhook-pause", str(ep))
        ctl(md, "webhook-test", str(ep))
        time.sleep(2)
        assert len(rx.got()) == 1
        assert db.value("SELECT count(*) FROM webhook_outbox WHERE endpoint_id = %d "
                        "AND state = 'pending'" % ep) == "1"
        ctl(md, "webhook-resume", str(ep))
        got = rx.wait(lambda g: len(g) == 2, timeout=3)
        assert got[1].json["sequence"] > got[0].json["sequence"]


def test_a_chat_held_in_the_journal_while_postgresql_is_away_is_told_in_order(
        desk, xmpp, db, postgres):
    """The whole chat reaches PostgreSQL in one shipping batch: its events
    are still told in the order they happened (ticket changes and messages
    interleaved, not all ticket changes first)."""
    with Receiver() as rx:
        started(desk, xmpp)
        endpoint(db, rx.url())
        alex = xmpp.login("agent1")
        join_queue(alex, "billing", "Alex")
        postgres.stop()
        try:
            ticket = a_chat(xmpp, alex, [("customer", "while the database sleeps"),
                                         ("agent", "still here")])
            time.sleep(1)
        finally:
            postgres.start()
        got = rx.wait(lambda g: any(d.type == "ticket.ended" for d in g), timeout=40)
        kinds = [(d.type, d.json.get("message", {}).get("body"))
                 for d in got if d.json["ticket"]["id"] == ticket]
        assert kinds == [("ticket.created", None), ("ticket.assigned", None),
                         ("message.added", "while the database sleeps"),
                         ("message.added", "still here"),
                         ("ticket.ended", None)], kinds


BRIDGE = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "webhooks",
                      "mucdesk-webhook-bridge")


def bridge(port, *target):
    proc = subprocess.Popen(["/usr/bin/python3", BRIDGE, "--listen", "127.0.0.1:%d" % port,
                             "--secret", SECRET] + list(target),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_port(port, alive=lambda: proc.poll() is None)
    return proc


def test_the_worked_examples_make_a_zammad_and_an_rt_ticket_per_chat(desk, xmpp, db):
    """doc/webhooks.md's bridge against local stand-ins for the Zammad and
    Request Tracker APIs: one ticket per chat, with the chat in it."""
    procs = []
    with Receiver() as helpdesk:
        helpdesk.status = {"/api/v1/tickets": 201, "/REST/2.0/ticket": 201}
        try:
            zp, rp = free_port(), free_port()
            procs.append(bridge(zp, "zammad", "--url", helpdesk.url(""), "--token", "zt",
                                "--group", "Billing"))
            procs.append(bridge(rp, "rt", "--url", helpdesk.url(""), "--token", "rtt",
                                "--queue", "General"))
            md, _ = started(desk, xmpp)
            for p in (zp, rp):
                ctl(md, "webhook-add", "http://127.0.0.1:%d/" % p,
                    "--events", "message.added,ticket.ended", "--secret", SECRET)
            alex = xmpp.login("agent1")
            join_queue(alex, "billing", "Alex")
            ticket = a_chat(xmpp, alex, [("customer", "my invoice is wrong"),
                                         ("agent", "fixed it"),
                                         ("agent", "!note refund 12 EUR")])
            got = helpdesk.wait(lambda g: len(g) == 2, what="two helpdesk tickets")
            # A request without mucdesk's signature makes nothing.
            req = urllib.request.Request("http://127.0.0.1:%d/" % zp, method="POST",
                                         data=b'{"id": "x", "type": "ticket.ended"}')
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(req, timeout=10)
            assert refused.value.code == 401
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)
        z = [d for d in got if d.path == "/api/v1/tickets"][0]
        assert z.headers["Authorization"] == "Token token=zt"
        assert z.json["group"] == "Billing" and z.json["customer_id"] == "guess:ann@example.org"
        assert z.json["title"] == "Webhook question"
        assert z.json["note"] == "mucdesk ticket %d\n" % ticket + z.json["note"].split("\n")[1]
        assert z.json["note"].endswith("Alex: refund 12 EUR")
        body = z.json["article"]["body"].split("\n")
        assert [line[8:] for line in body] == ["Ann: my invoice is wrong", "Alex: fixed it"]
        assert "refund 12 EUR" not in z.json["article"]["body"]
        r = [d for d in got if d.path == "/REST/2.0/ticket"][0]
        assert r.headers["Authorization"] == "token rtt"
        assert r.json["Queue"] == "General" and r.json["Requestor"] == "ann@example.org"
        assert r.json["Content"].endswith("Alex: fixed it")
        assert len(helpdesk.attempts) == 2
