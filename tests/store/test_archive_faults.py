"""The archive through faults, against a real PostgreSQL: every event that
became durable (what the MUC fans out) is in PostgreSQL exactly once, and
a slow or absent database never slows appends.

The archive is driven by archive-load (see conftest.py): it appends
events, writes each stanza-id to --acked once it is durable, and prints
"stats" lines (appended, durable, committed, ...)."""

import json
import threading
import time
from collections import Counter
from pathlib import Path


def read_acked(path):
    """The stanza-ids archive-load reported durable (a list)."""
    p = Path(path)
    if not p.exists():
        return []
    return [line for line in p.read_text().splitlines() if line]


def assert_exactly_once(pg, acked, table="muc_archive", prefix=None):
    """Every acked id is stored once; nothing stored that was not appended."""
    stored = pg.stanza_ids(table)
    if prefix:
        stored = [s for s in stored if s.startswith(prefix + "-")]
    dups = [s for s, n in Counter(stored).items() if n > 1]
    assert not dups, "stored more than once: %s" % dups[:10]
    missing = set(acked) - set(stored)
    assert not missing, "%d acknowledged event(s) missing, e.g. %s" % (
        len(missing), sorted(missing)[:10])
    return stored


def test_database_down_in_the_middle_of_a_chat(pg, archive_load, run_dir):
    """PostgreSQL is stopped for 15 s while chats go on: appends and durable
    acknowledgements continue, tickets are created and resolved from the
    reserved numbers, and afterwards every line is stored exactly once.
    (The full 60 s outage runs through real groupchat in
    tests/integration/test_archive_e2e.py; this one drives the archive
    directly, with tickets.)"""
    acked = run_dir / "acked.txt"
    load = archive_load("--rate", 300, "--duration", 33, "--tickets", 4,
                        "--ticket-every", 300, "--prefix", "outage",
                        "--acked", acked, "--stats-ms", 250, "--wait-committed",
                        "--stop-timeout", 60000)
    load.wait_stats(lambda s: s["committed"] > 500, 20, "first events shipped")

    stopped_at = time.time()
    pg.stop()
    time.sleep(1)  # a stats line taken after the server went
    down = load.last()
    time.sleep(9)
    mid = load.last()
    # The chat goes on: durable keeps up with appends, nothing is refused,
    # nothing reaches the database.
    assert mid["durable"] - down["durable"] >= 1800
    assert mid["appended"] - mid["durable"] < 300
    assert mid["refused"] == 0
    assert mid["committed"] == down["committed"]
    assert mid["connected"] == 0
    time.sleep(5)
    before_up = load.last()
    assert before_up["durable"] - down["durable"] >= 4000
    assert before_up["committed"] == down["committed"]
    assert before_up["refused"] == 0
    restarted_at = time.time()
    pg.start()

    # The backoff may wait up to 30 s before the next attempt.
    load.wait_for(lambda l: l.last("committed") is not None, 90,
                  "everything shipped after the outage")
    assert load.wait_exit(30) == 0
    final = load.last("committed")
    assert final["committed"] == final["appended"]
    assert final["refused"] == 0

    ids = read_acked(acked)
    assert len(ids) == final["events"]
    assert_exactly_once(pg, ids, "ticket_events", prefix="outage")
    assert int(pg.db_value("SELECT count(*) FROM ticket_events")) == final["events"]
    # Tickets opened during the outage exist, with their events and the
    # final state of each snapshot.
    tickets = pg.db_rows("SELECT room, status FROM tickets ORDER BY id")
    assert len(tickets) >= 4 + 25
    assert all(t[1] == "RESOLVED" for t in tickets[:-4])
    assert all(t[1] == "QUEUED" for t in tickets[-4:])
    created_while_down = pg.db_value(
        "SELECT count(*) FROM tickets WHERE created_at > to_timestamp(%f) "
        "AND created_at < to_timestamp(%f)" % (stopped_at, restarted_at))
    assert int(created_while_down) >= 10
    assert "database unreachable" in load.text()


def test_backend_killed_in_the_middle_of_copy(pg, archive_load, run_dir):
    """pg_terminate_backend() while a COPY is running: the batch is written
    again after reconnecting, and no row is lost or doubled."""
    acked = run_dir / "acked.txt"
    load = archive_load("--rate", 0, "--count", 400000, "--rooms", 50,
                        "--prefix", "copy", "--acked", acked, "--stats-ms", 500,
                        "--wait-committed", "--stop-timeout", 60000)
    kills = []

    def killer():
        deadline = time.monotonic() + 60
        while len(kills) < 3 and time.monotonic() < deadline and load.proc.poll() is None:
            rows = pg.psql(
                "SELECT pg_terminate_backend(pid), query FROM pg_stat_activity "
                "WHERE application_name = 'mucdesk' AND state = 'active' "
                "AND query LIKE 'COPY%'", "postgres")
            kills.extend(r for r in rows if r[0] == "t")

    t = threading.Thread(target=killer)
    t.start()
    t.join(90)
    assert load.wait_exit(120) == 0
    assert len(kills) >= 1, "never caught a COPY in flight"
    assert "database connection lost" in load.text()
    final = load.last("committed")
    assert final["committed"] == final["appended"] == 400000
    stored = assert_exactly_once(pg, read_acked(acked))
    assert len(stored) == 400000


def test_table_locked_for_seconds(pg, archive_load, run_dir):
    """A table locked for 6 s: appends and durable acknowledgements are
    unaffected (latency stays low), shipping waits and then catches up."""
    acked = run_dir / "acked.txt"
    load = archive_load("--rate", 2000, "--duration", 12, "--prefix", "lock",
                        "--acked", acked, "--stats-ms", 200, "--latency",
                        "--wait-committed")
    load.wait_stats(lambda s: s["committed"] > 2000, 20, "shipping")
    locker = pg.lock_in_background("muc_archive", 6)
    time.sleep(1)
    at_lock = load.last()
    time.sleep(4)
    during = load.last()
    assert during["committed"] - at_lock["committed"] < 100  # shipping blocked
    assert during["durable"] - at_lock["durable"] >= 7000    # acks go on
    assert during["appended"] - during["durable"] < 400
    locker.wait(30)
    assert load.wait_exit(60) == 0
    final = load.last("committed")
    assert final["committed"] == final["appended"]
    assert final["refused"] == 0
    lat = load.lines("latency")[0]
    # Append -> durable, over the whole run, lock included (sanitizer build).
    assert lat["p99_us"] < 100000, lat
    assert lat["max_us"] < 1000000, lat
    assert_exactly_once(pg, read_acked(acked))
    assert "lock timeout" in load.text()


def test_sigkill_under_load_then_restart(pg, archive_load, run_dir):
    """The process is SIGKILLed while appending; after a restart every event
    that was acknowledged durable is in PostgreSQL exactly once."""
    acked = run_dir / "acked.txt"
    first = archive_load("--rate", 20000, "--duration", 30, "--tickets", 3,
                         "--prefix", "kill", "--acked", acked, "--stats-ms", 100)
    first.wait_stats(lambda s: s["committed"] > 20000, 30, "load under way")
    first.kill()
    before = read_acked(acked)
    assert len(before) > 20000
    stored_before = int(pg.db_value("SELECT count(*) FROM ticket_events"))

    second = archive_load("--replay-only", "--wait-committed", "--stats-ms", 200,
                          name="restart")
    assert second.wait_exit(60) == 0
    assert "journal replay" in second.text()
    stored = assert_exactly_once(pg, before, "ticket_events", prefix="kill")
    assert len(stored) >= stored_before
    # Only appended events can be there: ids beyond the last appended are not.
    numbers = sorted(int(s.rsplit("-", 1)[1]) for s in stored)
    assert numbers == list(range(1, len(numbers) + 1))


def test_crash_during_journal_replay(pg, archive_load, run_dir):
    """A backlog built while PostgreSQL was down is being replayed when the
    process is killed; the next start finishes it, each row stored once."""
    pg.stop()
    backlog = archive_load("--rate", 0, "--count", 150000, "--prefix", "replay",
                           "--acked", run_dir / "acked.txt", "--stop-timeout", 0,
                           name="backlog")
    assert backlog.wait_exit(120) == 0
    acked = read_acked(run_dir / "acked.txt")
    assert len(acked) == 150000
    pg.start()

    replay = archive_load("--replay-only", "--wait-committed", "--stats-ms", 20,
                          name="replay1")
    replay.wait_stats(lambda s: 0 < s["committed"] < 150000, 60, "replay under way")
    replay.kill()
    partial = int(pg.db_value("SELECT count(*) FROM muc_archive"))
    assert 0 < partial < 150000

    again = archive_load("--replay-only", "--wait-committed", name="replay2")
    assert again.wait_exit(120) == 0
    stored = assert_exactly_once(pg, acked)
    assert len(stored) == 150000


def test_bad_rows_go_to_dead_letters_and_the_rest_continues(pg, archive_load, run_dir):
    """Events that can never be stored (their ticket does not exist) are set
    aside, logged with their stanza-id, and do not hold up the others."""
    acked = run_dir / "acked.txt"
    load = archive_load("--count", 5000, "--rate", 0, "--tickets", 2,
                        "--bad-every", 50, "--prefix", "bad", "--acked", acked,
                        "--wait-committed")
    assert load.wait_exit(60) == 0
    final = load.last("committed")
    assert final["dead"] == 100
    stored = pg.stanza_ids("ticket_events")
    assert len(stored) == 4900
    dead_file = (run_dir / "state" / "dead-letter.jsonl").read_text().splitlines()
    assert len(dead_file) == 100
    assert '"stanza_id":"bad-50"' in dead_file[0]
    assert "23503" in dead_file[0]
    # One JSON object a line: the record, when, and why.
    dead = [json.loads(line) for line in dead_file]
    assert [d["event"]["stanza_id"] for d in dead[:2]] == ["bad-50", "bad-100"]
    assert all(d["sqlstate"] == "23503" and d["error"] and d["seq"] > 0
               and isinstance(d["event"]["staff_only"], bool) for d in dead)
    assert "bad-50" in load.text()  # logged with its stanza-id
    good = [a for a in read_acked(acked) if int(a.rsplit("-", 1)[1]) % 50]
    assert_exactly_once(pg, good, "ticket_events")


def test_ill_formed_text_is_no_dead_letter(pg, archive_load, run_dir):
    """Text holding ill-formed UTF-8 (a byte cut inside a character, bytes
    that are never UTF-8, a surrogate, an overlong form: see archive-load
    --odd-text) in event bodies and nicks and in tickets' subject, name and
    details: PostgreSQL would refuse each row (22021) and every one would be
    a dead letter, a transcript line lost.  The store replaces what is
    ill-formed with U+FFFD where text enters it, and takes every row."""
    load = archive_load("--count", 300, "--rate", 0, "--tickets", 3, "--odd-text",
                        "--prefix", "odd", "--wait-committed")
    assert load.wait_exit(60) == 0
    final = load.last("committed")
    assert final["dead"] == 0 and final["committed"] == final["appended"]
    dead = run_dir / "state" / "dead-letter.jsonl"
    assert not dead.exists() or dead.read_text() == ""
    odd = "\ufffd|\ufffd|\ufffd\ufffd\ufffd|\ufffd\ufffd"
    rows = pg.db_rows("SELECT actor_nick, body FROM ticket_events "
                      "WHERE stanza_id LIKE 'odd-%%'")
    assert len(rows) == 300
    assert all(nick.endswith(odd) and body.startswith(odd) for nick, body in rows)
    tickets = pg.db_rows("SELECT subject, customer_name, details->>'source' FROM tickets "
                         "ORDER BY id")
    assert len(tickets) == 3
    assert all(t[0] == "load test " + odd and t[1].endswith(" " + odd) and t[2] == odd
               for t in tickets), tickets


def test_reads_see_events_not_shipped_yet(pg, archive_load):
    """While the table cannot be written, MAM pages (forwards and backwards)
    still return every appended event, in order, from memory and from the
    journal (a 1 MiB memory cap forces the journal path)."""
    locker = pg.lock_in_background("muc_archive", 20, mode="EXCLUSIVE")
    time.sleep(0.5)
    load = archive_load("--count", 6000, "--rate", 0, "--prefix", "read",
                        "--query-check", "--stats-ms", 200,
                        config_overrides={"database": {"queue_memory": 1}})
    load.wait_for(lambda l: "query check" in l.text(), 60, "the query check")
    # Checked while nothing was shipped, most of it read from the journal.
    assert "query check ok items=600 committed=0" in load.text(), load.text()[-2000:]
    assert load.wait_exit(60) == 0
    assert load.last("durable")["tail"] < 6000
    pg.release_locks(locker)

    # A room without any event: an empty, complete page.
    empty = archive_load("--query", "no-such-room", name="empty")
    assert empty.wait_exit(30) == 0
    assert "query done items=0" in empty.text()

    # And again once everything is stored, with tickets.
    load = archive_load("--count", 3000, "--rate", 0, "--tickets", 3,
                        "--prefix", "read2", "--query-check", "--wait-committed")
    assert load.wait_exit(60) == 0
    assert "query check ok items=" in load.text()


def test_async_durability_exactly_once(pg, archive_load, run_dir):
    """durability = async: acknowledged at once, still exactly once after a
    database restart in the middle."""
    acked = run_dir / "acked.txt"
    load = archive_load("--rate", 2000, "--duration", 6, "--prefix", "async",
                        "--acked", acked, "--stats-ms", 200, "--wait-committed",
                        config_overrides={"database": {"durability": "async"}})
    load.wait_stats(lambda s: s["committed"] > 1000, 20, "shipping")
    pg.kill()
    time.sleep(1)
    pg.start()
    assert load.wait_exit(90) == 0
    final = load.last("committed")
    assert final["committed"] == final["appended"]
    assert_exactly_once(pg, read_acked(acked))
    assert len(pg.stanza_ids()) == final["events"]


def test_retention_deletes_old_closed_tickets_in_batches(pg, archive_load, run_dir):
    """Closed tickets older than the retention period lose their events and
    the customer's personal data, a batch at a time; recent and open ones
    keep theirs."""
    pg.script("""
        INSERT INTO tickets (id, queue, status, customer_jid, customer_name,
                             customer_email, ended_at, details)
        VALUES (90001, 'q', 'RESOLVED', 'c1@anon', 'Old', 'old@x',
                now() - interval '100 days', '{"page": "x"}'),
               (90002, 'q', 'RESOLVED', 'c2@anon', 'Recent', 'new@x',
                now() - interval '1 day', '{}'),
               (90003, 'q', 'INPROGRESS', 'c3@anon', 'Open', 'open@x', NULL, '{}');
        INSERT INTO ticket_events (ticket_id, kind, actor_jid, actor_nick, body, stanza_id)
        SELECT t, 'message', 'c' || (t - 90000) || '@anon', 'Nick', 'hello', 'r' || t || '-' || g
        FROM generate_series(90001, 90003) t, generate_series(1, 45) g;
    """, "mucdesk")
    load = archive_load("--duration", 6, "--rate", 10,
                        config_overrides={"retention": {
                            "closed_ticket_days": 30, "personal_data_days": 30,
                            "batch_size": 10, "interval": 1}})
    load.wait_for(lambda l: pg.db_value(
        "SELECT count(*) FROM ticket_events WHERE ticket_id = 90001") == "0", 30,
        "old events deleted")
    assert load.wait_exit(60) == 0
    counts = dict(pg.db_rows("SELECT ticket_id, count(*) FROM ticket_events "
                             "WHERE ticket_id > 90000 GROUP BY 1"))
    assert counts == {"90002": "45", "90003": "45"}
    old = pg.db_rows("SELECT customer_jid, customer_name, customer_email, details, "
                     "personal_data_erased_at IS NOT NULL FROM tickets WHERE id = 90001")
    assert old == [(None, None, None, "{}", "t")]
    recent = pg.db_rows("SELECT customer_name FROM tickets WHERE id IN (90002, 90003) "
                        "ORDER BY id")
    assert recent == [("Recent",), ("Open",)]
    # Deleted a batch (10 rows) at a time.
    assert "retention: deleted 10 event(s)" in load.text()


def test_catching_up_is_answered_while_the_database_is_down(pg, archive_load):
    """A client catching up after a reconnect (MAM forwards from the last id
    it saw, or the newest page) is answered from memory even while
    PostgreSQL is down."""
    pg.stop()
    load = archive_load("--count", 3000, "--rate", 0, "--prefix", "down",
                        "--query-from-tail", "--stop-timeout", 0)
    assert load.wait_exit(60) == 0
    assert "query check ok items=299 committed=0" in load.text(), load.text()[-2000:]


def test_ticket_reads_see_snapshots_not_shipped_yet(pg, archive_load):
    """The desk's reads (open tickets at start-up, a ticket by room) merge
    PostgreSQL with ticket snapshots still in the journal: with the tickets
    table locked, then once everything is stored."""
    locker = pg.lock_in_background("tickets", 20, mode="EXCLUSIVE")
    time.sleep(0.5)
    load = archive_load("--count", 2000, "--rate", 0, "--tickets", 3,
                        "--ticket-every", 200, "--prefix", "tk", "--tickets-check",
                        "--stop-timeout", 0)
    assert load.wait_exit(60) == 0
    assert "tickets check ok open=3 all_open=3 committed=0" in load.text(), \
        load.text()[-2000:]
    pg.release_locks(locker)

    load = archive_load("--count", 2000, "--rate", 0, "--tickets", 3,
                        "--ticket-every", 200, "--prefix", "tk2", "--tickets-check",
                        "--wait-committed")
    assert load.wait_exit(60) == 0
    # The previous run's tickets were shipped at start-up: 3 open each.
    assert "tickets check ok open=3 all_open=6" in load.text(), load.text()[-2000:]
    assert pg.db_value("SELECT count(*) FROM tickets WHERE status <> 'RESOLVED'") == "6"


def test_database_durability_acknowledges_only_what_is_committed(pg, archive_load, run_dir):
    """durability = database (active/standby): an event is durable only once
    PostgreSQL committed it, so a table that cannot be written holds the
    acknowledgements back, and after a SIGKILL PostgreSQL alone (no journal
    replay: the journal may be on a dead host) has every acknowledged event."""
    acked = run_dir / "acked.txt"
    load = archive_load("--rate", 2000, "--duration", 30, "--prefix", "dbdur",
                        "--acked", acked, "--stats-ms", 100,
                        config_overrides={"database": {"durability": "database"}})
    load.wait_stats(lambda s: s["committed"] > 2000, 20, "shipping")
    locker = pg.lock_in_background("muc_archive", 3)
    time.sleep(1)
    at_lock = load.last()
    time.sleep(1.5)
    during = load.last()
    assert during["durable"] - at_lock["durable"] < 50, (at_lock, during)
    assert during["appended"] - at_lock["appended"] > 2000      # appends go on
    locker.wait(30)
    load.wait_stats(lambda s: s["durable"] > during["appended"], 20, "acknowledged again")
    load.kill()
    for s in load.lines("stats"):
        assert s["durable"] <= s["committed"], s
    assert_exactly_once(pg, read_acked(acked))


def test_database_durability_bounds_what_waits_for_postgresql(pg, archive_load, run_dir):
    """durability = database with PostgreSQL away: nothing is acknowledged,
    what waits in memory stays within [database] queue_memory (appends are
    refused past it, as the caller then refuses the action), and once the
    server is back everything acknowledged is stored exactly once."""
    acked = run_dir / "acked.txt"
    load = archive_load("--rate", 5000, "--duration", 14, "--prefix", "dbwait",
                        "--acked", acked, "--stats-ms", 100, "--wait-committed",
                        "--stop-timeout", 30000,
                        config_overrides={"database": {"durability": "database",
                                                       "queue_memory": 1}})
    load.wait_stats(lambda s: s["committed"] > 2000, 20, "shipping")
    pg.stop()
    time.sleep(4)
    down = load.last()
    time.sleep(1)
    later = load.last()
    assert later["durable"] == down["durable"]          # nothing shown meanwhile
    assert later["refused"] > down["refused"] > 0       # refused, not held without end
    assert later["tail_bytes"] <= 1 << 20
    assert later["accepting"] == 0
    pg.start()
    load.wait_stats(lambda s: s["durable"] > later["appended"], 30, "acknowledged again")
    assert load.wait_exit(60) == 0
    final = load.last("committed")
    assert final["committed"] == final["appended"]
    assert_exactly_once(pg, read_acked(acked))
