#!/usr/bin/python3
"""Takeover and restart times with many open chats (issue 17).

Seeds a database with CHATS open chats (INPROGRESS, each owned by one of
1000 agents) and ROWS archived transcript lines, then, through a private
Prosody and PostgreSQL, with the mucdesk binary in $MUCDESK_BIN (an
optimised build: tests/bench/run-ha builds one):

  takeover  an active and a standby ([ha] mode = active-standby,
            durability = database); the active is killed with SIGKILL and
            the time is taken from the kill to the first message the
            standby delivers (an agent rejoins one of its chats and sends a
            line; the time is when its reflection arrives)
  restart   one standalone instance is stopped and started again; the time
            from the start to the first message delivered the same way

Each is measured REPEAT times; the phases come from mucdesk's log (lock
acquired, chats restored, link up).  Prints one line per run and a table of
medians.  Not part of tests/run: figures, not a verdict."""

import argparse
import datetime
import os
import signal
import statistics
import sys
import time
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lib"))

from mdtest import procs  # noqa: E402
from mdtest.client import XmppSession  # noqa: E402
from mdtest.mucdesk import LINK_UP, Mucdesk, make_config  # noqa: E402
from mdtest.ports import free_port  # noqa: E402
from mdtest.postgres import Postgres  # noqa: E402
from mdtest.prosody import Prosody  # noqa: E402

DOMAIN = "support.localhost"
SECRET = "bench-secret"
ACCOUNTS = {"admin@localhost": "admin-pass", "agent1@localhost": "agent1-pass"}
AGENTS = 1000


def seed(pg, db, chats, rows):
    t0 = time.monotonic()
    per = max(1, rows // chats)
    pg.script("""
INSERT INTO queues (name, title) VALUES ('billing', 'Billing');
INSERT INTO agents (queue, jid, role, max_chats)
  SELECT 'billing', 'agent' || g || '@localhost', 'agent', 100
  FROM generate_series(1, %(agents)d) g;
INSERT INTO tickets (queue, status, subject, customer_jid, customer_name,
                     customer_email, owner_jid, accepted_at, details)
  SELECT 'billing', 'INPROGRESS', 'question ' || g,
         'c' || g || '@anon.localhost/widget', 'Customer ' || g,
         'c' || g || '@example.org', 'agent' || (1 + (g - 1) %% %(agents)d) || '@localhost',
         now(), jsonb_build_object('question', 'question ' || g)
  FROM generate_series(1, %(chats)d) g;
UPDATE tickets SET room = 'ticket-' || id;
INSERT INTO ticket_events (ticket_id, at, kind, actor_jid, actor_nick, body, stanza_id)
  SELECT t.id, now() - make_interval(secs => %(per)d - n), 'message',
         t.customer_jid, 'Customer', 'seeded line ' || n || ' of ticket ' || t.id,
         'seed-' || t.id || '-' || n
  FROM tickets t, generate_series(1, %(per)d) n;
ANALYZE;
""" % {"agents": AGENTS, "chats": chats, "per": per}, db, timeout=1800)
    n = pg.value("SELECT count(*) FROM ticket_events", db)
    print("seeded %s chats, %s archived rows in %.0f s"
          % (pg.value("SELECT count(*) FROM tickets WHERE status <> 'RESOLVED'", db), n,
             time.monotonic() - t0), flush=True)


def log_times(md, mark):
    """{phase: wall-clock seconds} from the log lines after mark."""
    phases = {"active": "instance role: active", "restored": "open ticket(s) restored",
              "link": LINK_UP}
    out = {}
    for ts, _lvl, _mod, msg in md.log_lines(after=mark):
        for name, text in phases.items():
            if name not in out and text in msg:
                out[name] = datetime.datetime.strptime(
                    ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                        tzinfo=datetime.timezone.utc).timestamp()
    return out


def first_message(agent, room, t0, limit=120.0):
    """Rejoins room until the service answers, then sends a line: the wall
    time its reflection arrived."""
    nick = "Agent1"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        agent.pending = []
        agent.send("<presence to='%s/%s'><x xmlns='http://jabber.org/protocol/muc'>"
                   "<history maxstanzas='0'/></x></presence>" % (room, nick))
        try:
            # The self-presence of this join, or an error (nobody serves
            # yet); not the unavailable one a stopping instance sent.
            pres = agent.expect(lambda el: el.tag == "{jabber:client}presence"
                                and el.get("from", "").startswith(room)
                                and (el.get("type") == "error" or
                                     (el.get("type") is None and
                                      b"code=\"110\"" in etree.tostring(el))),
                                timeout=0.5)
        except AssertionError:
            continue
        if pres.get("type") == "error":
            time.sleep(0.05)
            continue
        body = "probe %.6f" % time.time()
        agent.send("<message type='groupchat' to='%s'><body>%s</body></message>" % (room, body))
        got = agent.expect(lambda el: el.tag == "{jabber:client}message"
                           and el.get("from", "").startswith(room)
                           and (el.get("type") == "error"
                                or el.findtext("{jabber:client}body") == body), timeout=30)
        if got.get("type") != "error":
            return time.time()
    raise AssertionError("no message delivered within %.0f s" % limit)


def config(run_dir, xmpp, pg, db, name, ha):
    cfg = make_config(run_dir, xmpp.component_port, SECRET, pg.conninfo(db), domain=DOMAIN,
                      log_level="info")
    cfg["service"]["state_dir"] = run_dir / ("state-" + name)
    cfg["database"]["durability"] = "database"
    cfg["desk"] = {"customer_grace": 3600}   # nobody leaves while we measure
    if ha:
        cfg["ha"] = {"mode": "active-standby"}
    return cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chats", type=int, default=int(os.environ.get("CHATS", 10000)))
    ap.add_argument("--rows", type=int, default=int(os.environ.get("ROWS", 1000000)))
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", 3)))
    args = ap.parse_args()

    run_dir = procs.new_run_dir("ha-bench")
    pg = Postgres(run_dir / "pg", port=free_port(), fsync=True)
    pg.start()
    xmpp = Prosody.with_accounts(run_dir / "prosody", DOMAIN, SECRET, ACCOUNTS)
    made = []
    results = {"takeover": [], "restart": []}
    try:
        db = "hb"
        pg.create_database(db)
        first = Mucdesk(config(run_dir, xmpp, pg, db, "x", False), run_dir=run_dir, name="x")
        first.run_ctl(["migrate"], check=True)
        seed(pg, db, args.chats, args.rows)
        room = "%s@%s" % (pg.value("SELECT room FROM tickets WHERE owner_jid = "
                                   "'agent1@localhost' ORDER BY id LIMIT 1", db), DOMAIN)
        session = XmppSession(xmpp.c2s_port, accounts=ACCOUNTS, timeout=30)
        agent = session.login("agent1")

        # ---- takeover: kill -9 the active, the standby serves ----
        names = iter("abcdefghijklmnop")
        active = Mucdesk(config(run_dir, xmpp, pg, db, next(names), True), run_dir=run_dir,
                         name="active0")
        made.append(active)
        active.start()
        active.wait_for_log(LINK_UP, timeout=300)
        active.wait_for_log("open ticket(s) restored", timeout=300)
        first_message(agent, room, time.time())
        for i in range(args.repeat):
            standby = Mucdesk(config(run_dir, xmpp, pg, db, next(names), True),
                              run_dir=run_dir, name="standby%d" % i)
            made.append(standby)
            standby.start()
            standby.wait_for_log("instance role: standby", timeout=60)
            time.sleep(1.0)
            mark = standby.mark()
            t0 = time.time()
            active.kill()
            t1 = first_message(agent, room, t0)
            ph = log_times(standby, mark)
            results["takeover"].append(
                {"total": t1 - t0, "lock": ph.get("active", t1) - t0,
                 "restored": ph.get("restored", t1) - t0, "link": ph.get("link", t1) - t0})
            print("takeover %d: %.2f s to the first message (lock at %.2f s, %d chats "
                  "restored at %.2f s, link up at %.2f s)"
                  % (i + 1, t1 - t0, results["takeover"][-1]["lock"], args.chats,
                     results["takeover"][-1]["restored"], results["takeover"][-1]["link"]),
                  flush=True)
            active = standby

        # ---- restart of a single instance ----
        active.stop(signal.SIGTERM, timeout=120)
        alone = Mucdesk(config(run_dir, xmpp, pg, db, "alone", False), run_dir=run_dir,
                        name="alone")
        made.append(alone)
        for i in range(args.repeat):
            mark = alone.mark()
            t0 = time.time()
            alone.start()
            t1 = first_message(agent, room, t0)
            ph = log_times(alone, mark)
            results["restart"].append(
                {"total": t1 - t0, "lock": 0.0,
                 "restored": ph.get("restored", t1) - t0, "link": ph.get("link", t1) - t0})
            print("restart %d: %.2f s from start to the first message (%d chats restored "
                  "at %.2f s, link up at %.2f s)"
                  % (i + 1, t1 - t0, args.chats, results["restart"][-1]["restored"],
                     results["restart"][-1]["link"]), flush=True)
            t2 = time.monotonic()
            alone.stop(signal.SIGTERM, timeout=120)
            print("  (stop took %.2f s)" % (time.monotonic() - t2), flush=True)
        session.close()
    finally:
        for md in made:
            if md.is_running():
                md.stop(signal.SIGTERM, timeout=120)
        xmpp.close()
        pg.stop()

    print("\nmedians of %d runs, %d open chats, %d archived rows (load %s):"
          % (args.repeat, args.chats, args.rows, open("/proc/loadavg").read().split()[0]))
    print("%-9s %8s %8s %9s %8s" % ("", "lock s", "restored", "link up", "message"))
    for name, runs in results.items():
        if runs:
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print("%-9s %8.2f %8.2f %9.2f %8.2f"
                  % (name, med["lock"], med["restored"], med["link"], med["total"]))
    goal = results["takeover"] and statistics.median(r["total"] for r in results["takeover"])
    if goal:
        print("goal: takeover under 5 s: %s (%.2f s)" % ("met" if goal < 5 else "MISSED", goal))


if __name__ == "__main__":
    main()
