"""Issue 16: the admin commands of webhook endpoints, through Prosody (or
ejabberd), a real PostgreSQL and slixmpp, and their mucdeskctl twins: add
(a secret made and shown once), list (never the secret), pause and
resume, test (a webhook.test event pending in the outbox), replay of dead
events (and delivered ones since a time), the dead-letter list, remove;
bad fields refused with bad-request naming the field, an unknown endpoint
with item-not-found (exit 2), non-admins with forbidden.

No sender runs here: the endpoints point at a closed local port and are
paused before anything is queued, so nothing leaves the outbox but what
the tests do with SQL."""

import itertools
import re
import subprocess
import time
import xml.etree.ElementTree as ET

from desk_e2e import DOMAIN, command  # noqa: F401
from desk_e2e import desk  # noqa: F401  (the fixture)
from mdtest.mucdesk import make_config, run_ctl, write_config
from mdtest.stanzas import NS, error_condition

D = DOMAIN
URL = "http://127.0.0.1:9/mucdesk"
#: The sender is off here: these tests read what the commands leave in the
#: database, which a live sender would change under them (delivery is
#: test_webhooks.py's).
NO_SENDER = {"webhooks": {"enabled": 0}}
ALL_EVENTS = ("ticket.created,ticket.assigned,ticket.requeued,ticket.ended,"
              "ticket.updated,ticket.rated,message.added")
COMMANDS = ("webhook-add", "webhook-list", "webhook-test", "webhook-pause",
            "webhook-resume", "webhook-replay", "webhook-remove", "webhook-dead")


def table(reply):
    x = reply.find(".//{jabber:x:data}x")
    return [{f.get("var"): f.findtext("{jabber:x:data}value")
             for f in item.findall("{jabber:x:data}field")}
            for item in (x.findall("{jabber:x:data}item") if x is not None else [])]


def columns(reply):
    x = reply.find(".//{jabber:x:data}x")
    return [f.get("var") for f in x.find("{jabber:x:data}reported")]


def refusal(client, node, values):
    reply, _, _ = command(client, D, node, values, check=False)
    assert reply.get("type") == "error", "%s succeeded" % node
    return error_condition(reply)[1:]


def outbox(db, endpoint):
    return db.psql("SELECT event, state, attempts, last_error, data->>'text'"
                   " FROM webhook_outbox WHERE endpoint_id=%d ORDER BY id" % endpoint)


def test_endpoints_through_ad_hoc_commands(desk, xmpp, db):  # noqa: F811
    desk(queues=[("billing", "round-robin"), ("sales", "round-robin")], overrides=NO_SENDER)
    admin = xmpp.login("admin")

    # Added: the secret is made, shown once (note and result).
    reply, out, notes = command(admin, D, "webhook-add", {
        "url": URL, "queues": ["billing", "sales"], "description": "The CRM"})
    secret, hook = out["secret"], int(out["id"])
    assert re.fullmatch(r"[0-9a-f]{64}", secret), secret
    assert notes == [("info", "Webhook endpoint #%d added. Its secret (shown only now; "
                              "it signs every request): %s" % (hook, secret))]
    assert db.psql("SELECT url, secret, events, queues, description, paused FROM"
                   " webhook_endpoints") == [
        (URL, secret, "{%s}" % ALL_EVENTS, "{billing,sales}", "The CRM", "f")]

    # Listed as a table, without the secret.
    reply, _, notes = command(admin, D, "webhook-list")
    assert secret not in ET.tostring(reply, encoding="unicode")
    assert columns(reply) == ["id", "url", "events", "queues", "paused", "pending", "dead",
                              "delivered", "failures", "last-success", "last-error",
                              "description"]
    assert table(reply) == [{
        "id": str(hook), "url": URL, "events": ALL_EVENTS, "queues": "billing,sales",
        "paused": "no", "pending": "0", "dead": "0", "delivered": "0", "failures": "0",
        "last-success": "", "last-error": "", "description": "The CRM"}]
    assert notes[0][1].startswith("1 webhook endpoint(s)\n#%d %s: " % (hook, URL))

    # Paused: the list says so.
    _, _, notes = command(admin, D, "webhook-pause", {"id": str(hook)})
    assert notes == [("info", "Webhook endpoint #%d paused: its events are kept, not "
                              "sent." % hook)]
    _, _, notes = command(admin, D, "webhook-pause", {"id": "#%d" % hook})
    assert notes[0][1].startswith("Webhook endpoint #%d was already paused" % hook)
    reply, _, _ = command(admin, D, "webhook-list")
    assert table(reply)[0]["paused"] == "yes"

    # A test event, pending in the outbox.
    reply, out, notes = command(admin, D, "webhook-test", {"id": str(hook)})
    assert outbox(db, hook) == [("webhook.test", "pending", "0", None,
                                 "mucdesk webhook test")]
    row = db.psql("SELECT id, delivery_id, data->>'endpoint' FROM webhook_outbox")
    assert (out["event"], out["delivery"]) == row[0][:2] and row[0][2] == str(hook)

    # Dead (as the sender would leave it): listed, then replayed.
    db.psql("UPDATE webhook_outbox SET state='dead', attempts=8, last_status=500,"
            " last_error='HTTP 500' WHERE endpoint_id=%d" % hook)
    reply, _, notes = command(admin, D, "webhook-dead", {})
    dead = table(reply)
    assert [(r["id"], r["endpoint"], r["event"], r["ticket"], r["attempts"],
             r["last-status"], r["last-error"]) for r in dead] == \
        [(out["event"], str(hook), "webhook.test", "", "8", "500", "HTTP 500")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", dead[0]["created"]), dead
    reply, _, _ = command(admin, D, "webhook-dead", {"id": str(hook)})
    assert len(table(reply)) == 1
    reply, _, _ = command(admin, D, "webhook-list")
    assert (table(reply)[0]["pending"], table(reply)[0]["dead"]) == ("0", "1")
    reply, res, notes = command(admin, D, "webhook-replay", {"id": str(hook)})
    assert res["count"] == "1" and notes == [
        ("info", "1 event(s) of webhook endpoint #%d will be sent again." % hook)]
    assert outbox(db, hook) == [("webhook.test", "pending", "0", None,
                                 "mucdesk webhook test")]
    reply, _, _ = command(admin, D, "webhook-dead", {})
    assert table(reply) == []

    # Resumed: failures and back-off cleared.
    db.psql("UPDATE webhook_endpoints SET failures=4, retry_at=now() + interval '1 hour'")
    _, _, notes = command(admin, D, "webhook-resume", {"id": str(hook)})
    assert notes == [("info", "Webhook endpoint #%d active: its events are sent." % hook)]
    assert db.psql("SELECT paused, failures, retry_at FROM webhook_endpoints") == \
        [("f", "0", "-infinity")]
    command(admin, D, "webhook-pause", {"id": str(hook)})

    # Refused, with the field and what it takes.
    cases = [
        ({"url": "ftp://example.org/x"}, "url: an http:// or https:// address"),
        ({"url": "https://example.org/a b"}, "url: no spaces or control characters"),
        ({"url": "https://" + "a" * 2000}, "url: at most 2000 characters"),
        ({"url": URL, "events": ["ticket.created", "ticket.deleted"]},
         "events: unknown event 'ticket.deleted' (ticket.created, ticket.assigned, "
         "ticket.requeued, ticket.ended, ticket.updated, ticket.rated, message.added)"),
        ({"url": URL, "events": []}, "events: choose at least one"),
        ({"url": URL, "secret": "short"},
         "secret: 16 to 200 characters (or empty: one is made)"),
        ({"url": URL, "queues": "billing\nnope"}, "queues: no such queue 'nope'"),
    ]
    got = [refusal(admin, "webhook-add", values) for values, _ in cases]
    assert got == [("bad-request", text) for _, text in cases]
    assert db.value("SELECT count(*) FROM webhook_endpoints") == "1"
    # A secret given, and only some events.
    _, out, _ = command(admin, D, "webhook-add", {
        "url": "https://hooks.example.org/x", "secret": "s" * 20,
        "events": ["ticket.created", "ticket.ended"]})
    assert out["secret"] == "s" * 20
    assert db.psql("SELECT events, queues FROM webhook_endpoints WHERE id=%s" % out["id"]) \
        == [("{ticket.created,ticket.ended}", None)]
    command(admin, D, "webhook-remove", {"id": out["id"]})

    # An unknown endpoint: item-not-found; not a number: bad-request.
    for node in ("webhook-test", "webhook-pause", "webhook-resume", "webhook-replay",
                 "webhook-remove", "webhook-dead"):
        assert refusal(admin, node, {"id": "999"}) == \
            ("item-not-found", "id: no webhook endpoint #999"), node
        assert refusal(admin, node, {"id": "x1"}) == \
            ("bad-request", "id: an endpoint's number (see webhook-list)"), node
    assert refusal(admin, "webhook-replay", {"id": str(hook), "since": "yesterday-ish"}) \
        == ("bad-request", "since: a time such as 2026-12-07T10:00:00Z or 2026-12-07")

    # Removed, with its events.
    _, _, notes = command(admin, D, "webhook-remove", {"id": str(hook)})
    assert notes == [("info", "Webhook endpoint #%d removed, with 1 event(s) not "
                              "delivered." % hook)]
    assert db.value("SELECT count(*) FROM webhook_endpoints") == "0"
    assert db.value("SELECT count(*) FROM webhook_outbox") == "0"
    reply, _, notes = command(admin, D, "webhook-list")
    assert table(reply) == [] and notes == [("info", "0 webhook endpoint(s)")]


def test_only_admins_manage_webhooks(desk, xmpp, db):  # noqa: F811
    desk(queues=[("billing", "round-robin")],
         agents=[("billing", "agent1@localhost", "agent"),
                 ("billing", "super1@localhost", "supervisor")])
    hook = int(db.value("INSERT INTO webhook_endpoints (url, secret, events) VALUES"
                        " ('%s', repeat('k', 32), '{ticket.created}') RETURNING id" % URL))

    def nodes(client):
        r = client.send_iq("<iq type='get' to='%s'><query xmlns='%s' node='%s'/></iq>"
                           % (D, NS["items"], NS["cmd"]))
        return {i.get("node") for i in r.iter("{%s}item" % NS["items"])}

    assert set(COMMANDS) <= nodes(xmpp.login("admin"))
    for client in (xmpp.login("agent1"), xmpp.login("super1"), xmpp.anonymous()):
        assert not nodes(client) & set(COMMANDS)
        for node in COMMANDS:
            assert refusal(client, node, {"id": str(hook), "url": URL}) == \
                ("forbidden", "You are not allowed to do that"), node
    assert db.psql("SELECT paused FROM webhook_endpoints") == [("f",)]
    assert db.value("SELECT count(*) FROM webhook_outbox") == "0"


def test_mucdeskctl_twins(desk, db, run_dir):  # noqa: F811
    md = desk(queues=[("billing", "round-robin")], overrides=NO_SENDER)

    def ctl(*args):
        return md.run_ctl(list(args))

    r = ctl("webhook-add", URL, "--events", "ticket.created,ticket.ended",
            "--queues", "billing", "--secret", "0123456789abcdef0123",
            "--description", "Helpdesk")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"id (\d+)\nsecret 0123456789abcdef0123\n", r.stdout)
    assert m, r.stdout
    hook = int(m.group(1))
    r = ctl("webhook-add", "https://hooks.example.org/x")
    assert r.returncode == 0 and re.fullmatch(r"id \d+\nsecret [0-9a-f]{64}\n", r.stdout), r
    other = int(r.stdout.split()[1])
    secret = r.stdout.split()[3]
    assert db.psql("SELECT events, queues, description FROM webhook_endpoints"
                   " ORDER BY id") == [
        ("{ticket.created,ticket.ended}", "{billing}", "Helpdesk"),
        ("{%s}" % ALL_EVENTS, None, None)]

    # The list: tab-separated, never a secret.
    r = ctl("webhook-list")
    assert r.returncode == 0 and secret not in r.stdout and "0123456789abcdef" not in r.stdout
    assert [line.split("\t") for line in r.stdout.splitlines()] == [
        [str(hook), URL, "ticket.created,ticket.ended", "billing", "active", "0", "0", "0",
         "0", "-", "-"],
        [str(other), "https://hooks.example.org/x", ALL_EVENTS, "*", "active", "0", "0",
         "0", "0", "-", "-"]]

    assert ctl("webhook-pause", str(hook)).stdout == "webhook %d: paused\n" % hook
    assert ctl("webhook-pause", str(other)).returncode == 0
    assert ctl("webhook-list").stdout.splitlines()[0].split("\t")[4] == "paused"
    r = ctl("webhook-test", str(hook))
    assert r.returncode == 0 and r.stdout.startswith("webhook %d: test event " % hook), r
    assert outbox(db, hook) == [("webhook.test", "pending", "0", None,
                                 "mucdesk webhook test")]

    # Dead letters, and a replay since a time takes delivered ones too.
    db.psql("UPDATE webhook_outbox SET state='dead', attempts=3, last_status=NULL,"
            " last_error='connection refused'")
    r = ctl("webhook-dead")
    cols = r.stdout.rstrip("\n").split("\t")
    assert r.returncode == 0 and cols[1:6] == [str(hook), "webhook.test", "-", "3", "-"] \
        and cols[7] == "connection refused", r.stdout
    assert ctl("webhook-dead", str(other)).stdout == ""
    assert ctl("webhook-replay", str(hook)).stdout == "webhook %d: 1 event(s) to send again\n" \
        % hook
    assert ctl("webhook-replay", str(hook)).stdout == "webhook %d: 0 event(s) to send again\n" \
        % hook
    db.psql("UPDATE webhook_outbox SET state='delivered', delivered_at=now(),"
            " created_at='2026-01-10T12:00:00Z'")
    assert ctl("webhook-replay", str(hook), "--since", "2026-01-11T00:00:00Z").stdout == \
        "webhook %d: 0 event(s) to send again\n" % hook
    assert ctl("webhook-replay", str(hook), "--since", "2026-01-10").stdout == \
        "webhook %d: 1 event(s) to send again\n" % hook
    assert outbox(db, hook)[0][1] == "pending"

    db.psql("UPDATE webhook_endpoints SET failures=5")
    assert ctl("webhook-resume", str(hook)).stdout == "webhook %d: active\n" % hook
    assert ctl("webhook-resume", str(hook)).stdout == "webhook %d: already active\n" % hook
    assert db.value("SELECT failures FROM webhook_endpoints WHERE id=%d" % hook) == "0"

    # Bad usage, bad values and unknown endpoints: exit 2, with the reason.
    for args, text in [
            (("webhook-test", "999"), "mucdeskctl: no webhook endpoint #999\n"),
            (("webhook-remove", "999"), "mucdeskctl: no webhook endpoint #999\n"),
            (("webhook-dead", "999"), "mucdeskctl: no webhook endpoint #999\n"),
            (("webhook-pause", "abc"), "mucdeskctl: webhook-pause: not an endpoint id: abc\n"),
            (("webhook-pause",), "usage: mucdeskctl -c FILE webhook-pause ID\n"),
            (("webhook-add", "gopher://x"),
             "mucdeskctl: url: an http:// or https:// address\n"),
            (("webhook-add", URL, "--events", "ticket.closed"),
             "mucdeskctl: events: unknown event 'ticket.closed' (ticket.created, "
             "ticket.assigned, ticket.requeued, ticket.ended, ticket.updated, "
             "ticket.rated, message.added)\n"),
            (("webhook-add", URL, "--queues", "billing,nope"),
             "mucdeskctl: queues: no such queue 'nope'\n"),
            (("webhook-add", URL, "--color", "red"),
             "mucdeskctl: webhook-add: bad option --color red (see mucdeskctl(8))\n"),
            (("webhook-replay", str(hook), "--since", "soon"),
             "mucdeskctl: since: a time such as 2026-12-07T10:00:00Z or 2026-12-07\n")]:
        r = ctl(*args)
        assert (r.returncode, r.stderr) == (2, text), (args, r.stderr)

    r = ctl("webhook-remove", str(hook))
    assert r.stdout == "webhook %d: removed (1 event(s) not delivered)\n" % hook, r
    assert db.value("SELECT count(*) FROM webhook_outbox") == "0"
    assert ctl("webhook-list").stdout.splitlines()[0].split("\t")[0] == str(other)

    # The database away: exit 1.
    cfg = write_config(run_dir / "nodb.conf", make_config(
        run_dir, 1, "x", "host=127.0.0.1 port=1 dbname=x connect_timeout=2", domain=D))
    r = run_ctl(["webhook-list"], config=cfg)
    assert r.returncode == 1 and "cannot connect to the database" in r.stderr, r.stderr


class Listener:
    """psql LISTENing on mucdesk_webhooks: after() says which notifications
    arrived since the last call."""

    def __init__(self, db):
        pg = db.postgres
        self.proc = subprocess.Popen(pg._psql_argv(db.name) + ["-A", "-t"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.marks = itertools.count()
        self.send("LISTEN mucdesk_webhooks;")
        self.after()

    def send(self, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def after(self):
        # psql prints what arrived after the result of the query that
        # received it: a first query collects, the mark ends the lines.
        mark = "mark%d" % next(self.marks)
        self.send("SELECT 'collect';")
        self.send("SELECT '%s';" % mark)
        got = []
        for line in self.proc.stdout:
            if line.strip() == mark:
                return got
            if line.strip() != "collect":
                got.append(line.strip())
        raise AssertionError("psql ended: %s" % got)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def test_what_restarts_delivery_wakes_the_sender(desk, db):  # noqa: F811
    md = desk(overrides=NO_SENDER)
    hook = int(db.value("INSERT INTO webhook_endpoints (url, secret, events, paused)"
                        " VALUES ('%s', repeat('k', 32), '{ticket.created}', true)"
                        " RETURNING id" % URL))
    woke = 'Asynchronous notification "mucdesk_webhooks" received'
    listener = Listener(db)
    try:
        for args, notified in [(("webhook-pause", hook), False),
                               (("webhook-test", hook), True),
                               (("webhook-test", 999), False),
                               (("webhook-replay", hook), True),
                               (("webhook-resume", hook), True),
                               (("webhook-list",), False),
                               (("webhook-remove", hook), False)]:
            r = md.run_ctl(list(args))
            assert r.returncode == (2 if 999 in args else 0), r.stderr
            got = listener.after()
            for _ in range(20):      # a signal a little late: look again
                if got or not notified:
                    break
                time.sleep(0.1)
                got = listener.after()
            assert [line.startswith(woke) for line in got] == ([True] if notified else []), \
                (args, got)
    finally:
        listener.close()
