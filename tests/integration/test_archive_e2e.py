"""The archive end to end: real groupchat through Prosody into PostgreSQL,
through a 60 s database outage and a SIGKILL of mucdesk.  Every message an
occupant received is in muc_archive exactly once, in the order they saw.

Needs the MUC service (tests/muc/mucdesk-testdesk, the daemon with a
scripted desk): skipped where it is not built."""

import time

import pytest

muc_e2e = pytest.importorskip("muc_e2e")
from muc_e2e import groupchat, join, testdesk  # noqa: E402,F401 (fixture)


@pytest.fixture(autouse=True)
def needs_testdesk():
    if not muc_e2e.testdesk_binary().exists():
        pytest.skip("mucdesk-testdesk not built")


def body_xpath(body):
    return "/s:message[@type='groupchat'][s:body='%s']" % body


def archived(db, room):
    return [r[0] for r in db.psql(
        "SELECT body FROM muc_archive WHERE room = '%s' AND kind = 'message' "
        "ORDER BY id" % room)]


def wait_archived(db, room, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = archived(db, room)
        if len(got) >= count:
            return got
        time.sleep(0.25)
    return archived(db, room)


@pytest.mark.prosody_only      # a minute of PostgreSQL being down
def test_groupchat_goes_on_while_postgres_is_down_for_60s(testdesk, xmpp, postgres, db):
    testdesk("q1 archived")
    one, two = xmpp.login("agent1"), xmpp.login("agent2")
    join(one, "q1", "one")
    join(two, "q1", "two")
    sent = []

    def say(i):
        who, other = (one, two) if i % 2 else (two, one)
        body = "line %04d" % i
        groupchat(who, "q1", body)
        other.expect(body_xpath(body), timeout=5)   # fanned out: durable
        who.expect(body_xpath(body), timeout=5)     # the sender's echo
        sent.append(body)

    for i in range(10):
        say(i)
    assert wait_archived(db, "q1", 10, 10) == sent

    postgres.stop()
    try:
        down_at = time.monotonic()
        i = 10
        while time.monotonic() - down_at < 60:
            say(i)   # each message still reaches the other occupant at once
            i += 1
            time.sleep(0.2)
    finally:
        postgres.start()
    assert len(sent) > 200

    # Back within the reconnect backoff (at most 30 s), then shipped.
    assert wait_archived(db, "q1", len(sent), 60) == sent   # once each, in order
    assert db.value("SELECT count(DISTINCT stanza_id) FROM muc_archive "
                    "WHERE room = 'q1' AND kind = 'message'") == str(len(sent))


def test_mucdesk_killed_every_received_message_is_stored_once(testdesk, xmpp, db):
    unlimited = {"muc": {"message_rate": 100000}}
    md = testdesk("q1 archived", overrides=unlimited)
    one, two = xmpp.login("agent1"), xmpp.login("agent2")
    join(one, "q1", "one")
    join(two, "q1", "two")
    for i in range(400):
        groupchat(one, "q1", "burst %04d" % i)
    received = []
    while len(received) < 100:
        el = two.expect("/s:message[@type='groupchat'][s:body]", timeout=10)
        received.append(el.xpath("string(*[local-name()='body'])"))
    md.kill()   # SIGKILL in the middle of the burst
    while True:
        try:
            el = two.expect("/s:message[@type='groupchat'][s:body]", timeout=1)
        except AssertionError:
            break
        received.append(el.xpath("string(*[local-name()='body'])"))
    assert received == ["burst %04d" % i for i in range(len(received))]

    md2 = testdesk("q1 archived", overrides=unlimited, name="restarted")
    md2.wait_for_log("journal", timeout=10)
    stored = wait_archived(db, "q1", len(received), 30)
    # Everything a client saw is there, once, in order; what was stored
    # beyond it was durable but not delivered before the kill.
    assert stored[:len(received)] == received
    assert stored == ["burst %04d" % i for i in range(len(stored))]
