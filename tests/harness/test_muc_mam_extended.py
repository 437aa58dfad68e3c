"""urn:xmpp:mam:2#extended on archived room JIDs: the 'ids' field (from the
archive's in-memory window without a database, and from PostgreSQL), the
metadata query (empty, after messages, staff-only records such as an
invisible observer's notes never first or last for a customer), the disco
feature and the query form.

The test desk (tests/muc/testdesk.c): agent* is staff, super* a staff
observer who joins invisibly, anyone else a customer; `/note TEXT` from
staff posts a staff-only room status message."""

import itertools
import re
import time

import pytest

from mdtest import procs
from mdtest.postgres import Postgres
from muc_support import IQ, MSG, NS, error, muc, room_jid  # noqa: F401

CUSTOMER = "cust@anon.localhost/c"
AGENT = "agent1@localhost/a"
OBSERVER = "super1@localhost/s"
EXTENDED = "urn:xmpp:mam:2#extended"

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres(procs.new_run_dir("postgres-mamext"))
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture
def db(postgres, request):
    name = "mamext_%d_%s" % (next(_ids), request.node.name.lower()[:30])
    name = "".join(c if c.isalnum() else "_" for c in name)
    postgres.create_database(name)
    yield name
    postgres.drop_database(name)


def say(m, jid, room, text):
    """A groupchat message, waited for until shown to its sender (durable);
    returns its stanza-id."""
    ident = "say%d" % next(_ids)
    m.send("<message type='groupchat' id='%s' from='%s' to='%s'><body>%s</body></message>"
           % (ident, jid, room_jid(room), text))
    shown = m.srv.expect("/s:message[@to='%s'][@id='%s']" % (jid, ident))
    return shown.xpath("string(sid:stanza-id/@id)", namespaces=NS)


def note(m, jid, room, text):
    """A staff-only room status message posted by staff; returns its
    stanza-id (as the poster receives it)."""
    m.send("<message type='groupchat' id='n%d' from='%s' to='%s'><body>/note %s</body></message>"
           % (next(_ids), jid, room_jid(room), text))
    shown = m.srv.expect(lambda el: el.tag == MSG and el.get("to") == jid
                         and el.xpath("string(*[local-name()='body'])") == text)
    return shown.xpath("string(sid:stanza-id/@id)", namespaces=NS)


def ask(m, jid, room, payload, type_="set", timeout=15):
    """An iq to the room, answered asynchronously: (reply, messages before it)."""
    ident = "mam%d" % next(_ids)
    m.send("<iq type='%s' id='%s' from='%s' to='%s'>%s</iq>"
           % (type_, ident, jid, room_jid(room), payload))
    reply = m.srv.expect("/s:iq[@id='%s']" % ident, timeout=timeout)
    results = m.srv.take_all(lambda el: el.tag == MSG and el.get("to") == jid
                             and el.xpath("mam:result", namespaces=NS))
    return reply, results


def by_ids(m, jid, room, ids, extra_fields="", rsm=""):
    values = "".join("<value>%s</value>" % i for i in ids)
    return ask(m, jid, room,
               "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>"
               "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>"
               "<field var='ids'>%s</field>%s</x>%s</query>"
               % (values, extra_fields, "<set xmlns='http://jabber.org/protocol/rsm'>%s</set>"
                  % rsm if rsm else ""))


def result_ids(results):
    return [r.xpath("string(mam:result/@id)", namespaces=NS) for r in results]


def result_bodies(results):
    return [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
            for r in results]


def metadata(m, jid, room):
    """(start, end) of a metadata answer, each (id, timestamp) or None."""
    reply, _ = ask(m, jid, room, "<metadata xmlns='urn:xmpp:mam:2'/>", "get")
    assert reply.get("type") == "result", error(reply)
    md = reply.xpath("mam:metadata", namespaces=NS)
    assert len(md) == 1

    def bound(name):
        el = md[0].xpath("mam:%s" % name, namespaces=NS)
        return (el[0].get("id"), el[0].get("timestamp")) if el else None
    return bound("start"), bound("end")


def setup_room(m):
    m.join(CUSTOMER, "r1", "Cust")
    m.join(AGENT, "r1", "Agent")


def test_ids_from_memory_window_disco_and_form(muc):
    """No database at all: ids the archive's in-memory window holds are
    answered from it, in archive order."""
    m = muc.start(rooms="r1 archived\nplain")
    setup_room(m)
    sent = [say(m, CUSTOMER if i % 2 else AGENT, "r1", "line %d" % i) for i in range(5)]
    assert all(sent) and len(set(sent)) == 5

    reply, results = by_ids(m, CUSTOMER, "r1", [sent[3], sent[0], sent[3]])
    assert reply.get("type") == "result", error(reply)
    assert result_ids(results) == [sent[0], sent[3]]
    assert result_bodies(results) == ["line 0", "line 3"]
    assert reply.xpath("string(mam:fin/@complete)", namespaces=NS) == "true"
    assert reply.xpath("string(mam:fin/rsm:set/rsm:first)", namespaces=NS) == sent[0]

    # RSM max still applies to the ids asked for.
    reply, results = by_ids(m, CUSTOMER, "r1", sent, rsm="<max>2</max>")
    assert result_ids(results) == sent[:2]
    assert reply.xpath("string(mam:fin/@complete)", namespaces=NS) != "true"

    # Too many ids: bad-request that says the limit.
    reply, _ = by_ids(m, CUSTOMER, "r1", ["x%d" % i for i in range(101)])
    typ, cond, text = error(reply)
    assert cond == "bad-request" and "100" in text

    # disco#info: #extended where the archive is on, and only there.
    info, _ = m.iq(CUSTOMER, room_jid("r1"),
                   "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    feats = info.xpath("info:query/info:feature/@var", namespaces=NS)
    assert "urn:xmpp:mam:2" in feats and EXTENDED in feats
    m.join(CUSTOMER, "plain", "Cust")
    info, _ = m.iq(CUSTOMER, room_jid("plain"),
                   "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    feats = info.xpath("info:query/info:feature/@var", namespaces=NS)
    assert "urn:xmpp:mam:2" not in feats and EXTENDED not in feats

    # The form offers ids as an open list-multi (XEP-0122 validate/open).
    form, _ = m.iq(CUSTOMER, room_jid("r1"), "<query xmlns='urn:xmpp:mam:2'/>")
    field = form.xpath("mam:query/x:x/x:field[@var='ids']", namespaces=NS)
    assert field and field[0].get("type") == "list-multi"
    assert field[0].xpath("*[local-name()='validate']/*[local-name()='open']")
    assert not field[0].xpath("x:option|x:value", namespaces=NS)


def wait_stored(postgres, dbname, count, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = int(postgres.value("SELECT count(*) FROM muc_archive WHERE room = 'r1' "
                               "AND kind <> 'join' AND kind <> 'leave'", dbname))
        if n >= count:
            return
        time.sleep(0.1)
    raise AssertionError("the archive did not reach PostgreSQL")


def test_metadata_and_ids_with_postgres(muc, postgres, db):
    m = muc.start(rooms="r1 archived members_only",
                  overrides={"database": {"conninfo": postgres.conninfo(db)}})
    setup_room(m)

    # Nothing said yet (joins are archived, but are no MAM records).
    assert metadata(m, CUSTOMER, "r1") == (None, None)
    assert metadata(m, AGENT, "r1") == (None, None)

    first = say(m, CUSTOMER, "r1", "hello")
    mid = say(m, AGENT, "r1", "hi, how can I help?")
    last = say(m, CUSTOMER, "r1", "my order")
    start, end = metadata(m, CUSTOMER, "r1")
    assert start[0] == first and end[0] == last
    # Stamps are fixed width (milliseconds always written), so they sort as
    # text: a whole second must not print shorter than the next stamp.
    for stamp in (start[1], end[1]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    assert start[1] <= end[1]

    # An invisible observer joins and leaves a staff-only note; an agent too.
    m.join(OBSERVER, "r1", "Boss")
    seen_note = note(m, OBSERVER, "r1", "watching this one")
    assert metadata(m, CUSTOMER, "r1")[1][0] == last      # not for the customer
    assert metadata(m, AGENT, "r1")[1][0] == seen_note    # staff see it
    assert metadata(m, CUSTOMER, "r1")[0][0] == first

    # ids, from PostgreSQL once shipped.
    wait_stored(postgres, db, 4)
    reply, results = by_ids(m, CUSTOMER, "r1", [last, first])
    assert reply.get("type") == "result", error(reply)
    assert result_ids(results) == [first, last]
    # The other filters still apply to the ids asked for.
    reply, results = by_ids(m, CUSTOMER, "r1", [first, mid, last],
                            "<field var='with'><value>%s</value></field>"
                            % room_jid("r1", "Agent"))
    assert result_ids(results) == [mid]
    reply, results = by_ids(m, AGENT, "r1", [first, seen_note])
    assert result_ids(results) == [first, seen_note]

    # A staff-only record is, for a customer, exactly a record that does
    # not exist: the same error, word for word.
    hidden, _ = by_ids(m, CUSTOMER, "r1", [first, seen_note])
    missing, _ = by_ids(m, CUSTOMER, "r1", [first, "no-such-id"])
    assert error(hidden)[1] == "item-not-found"
    assert error(hidden) == error(missing)
    # So is it as a paging anchor (after-id / before-id): stored, the id
    # cannot be probed by paging from it either.
    for field in ("after-id", "before-id"):
        def anchored(anchor):
            return ask(m, CUSTOMER, "r1",
                       "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
                       "type='submit'><field var='FORM_TYPE' type='hidden'><value>"
                       "urn:xmpp:mam:2</value></field><field var='%s'><value>%s"
                       "</value></field></x></query>" % (field, anchor))
        reply, results = anchored(seen_note)
        missing, _ = anchored("no-such-id")
        assert error(reply)[1] == "item-not-found" and results == [], field
        assert error(reply) == error(missing), field
        reply, results = ask(m, AGENT, "r1",
                             "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
                             "type='submit'><field var='FORM_TYPE' type='hidden'><value>"
                             "urn:xmpp:mam:2</value></field><field var='%s'><value>%s"
                             "</value></field></x></query>" % (field, seen_note))
        assert reply.get("type") == "result", (field, error(reply))

    # Readers only: a non-member of a members-only room gets what a query
    # gets.
    stranger = "stranger@localhost/x"
    reply, _ = ask(m, stranger, "r1", "<metadata xmlns='urn:xmpp:mam:2'/>", "get")
    query, _ = ask(m, stranger, "r1", "<query xmlns='urn:xmpp:mam:2'/>")
    assert error(reply)[1] == "forbidden" and error(reply) == error(query)


def test_the_senders_id_comes_back_in_history_and_mam(muc, postgres, db):
    """A message replayed (join history, MAM from the memory window and
    from PostgreSQL) keeps the sender's id, as the live copy does
    (muc#stable_id): clients find the message a XEP-0308 correction refers
    to by it.  Room status messages, which no one sent, have none."""
    m = muc.start(rooms="r1 archived members_only",
                  overrides={"database": {"conninfo": postgres.conninfo(db)}})
    setup_room(m)
    m.send("<message type='groupchat' id='client&apos;7' from='%s' to='%s'>"
           "<body>fix me</body></message>" % (CUSTOMER, room_jid("r1")))
    shown = m.srv.expect("/s:message[@to='%s'][@id=\"client'7\"]" % CUSTOMER)
    sid = shown.xpath("string(sid:stanza-id/@id)", namespaces=NS)
    seen_note = note(m, AGENT, "r1", "a status line")

    def mam_message(jid, stanza_id):
        reply, results = by_ids(m, jid, "r1", [stanza_id])
        assert reply.get("type") == "result", error(reply)
        assert len(results) == 1
        return results[0].xpath("mam:result/fwd:forwarded/c:message", namespaces=NS)[0]

    # Join history, from the room's ring.
    got = m.join("agent2@localhost/h", "r1", "Late", history="maxstanzas='5'")
    replayed = [el for el in got if el.tag == MSG and el.get("to") == "agent2@localhost/h"
                and el.xpath("string(*[local-name()='body'])") == "fix me"]
    assert len(replayed) == 1 and replayed[0].get("id") == "client'7"
    # MAM: the window in memory, then PostgreSQL once shipped.
    assert mam_message(AGENT, sid).get("id") == "client'7"
    assert mam_message(AGENT, seen_note).get("id") is None
    wait_stored(postgres, db, 2)
    assert postgres.value("SELECT message_id FROM muc_archive WHERE stanza_id = '%s'"
                          % sid, db) == "client'7"
    # A new process has nothing in memory: the answer comes from PostgreSQL.
    first = m.md
    assert m.stop() == 0
    first.check_sanitizers()
    m.start(rooms="r1 archived members_only",
            overrides={"database": {"conninfo": postgres.conninfo(db)}})
    setup_room(m)
    assert mam_message(AGENT, sid).get("id") == "client'7"
    assert mam_message(AGENT, seen_note).get("id") is None
