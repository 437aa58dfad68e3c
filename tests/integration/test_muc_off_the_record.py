"""Private messages are off the record: delivered, and never written to any
table of the database (PRODUCT.md section 2).  The search covers every
column of every table; what is on the record (a room subject, archived
groupchat) is found by the same search, so the search itself is proven."""

import time
import uuid

from muc_e2e import (barrier, groupchat, join, pm, room_jid, testdesk)  # noqa: F401
from mdtest.stanzas import NS


def find_everywhere(db, needle):
    """[(table, column)] where some row holds needle, in any column."""
    cols = db.psql("SELECT table_name, column_name FROM information_schema.columns "
                   "WHERE table_schema = 'public' ORDER BY table_name, column_name")
    hits = []
    for table, column in cols:
        n = db.value("SELECT count(*) FROM \"%s\" WHERE \"%s\"::text LIKE '%%%s%%'"
                     % (table, column, needle))
        if n != "0":
            hits.append((table, column))
    return hits


def wait_found(db, needle, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = find_everywhere(db, needle)
        if hits:
            return hits
        time.sleep(0.2)
    return []


def test_private_messages_never_reach_postgresql(testdesk, xmpp, db):
    testdesk("s7 members_only pm_privileged_only semi_anonymous archived ticket=7")
    # The ticket the support room's events belong to (the desk makes it).
    db.psql("INSERT INTO tickets (id, queue) VALUES (7, 'billing')")
    admin = xmpp.login("admin")
    agent = xmpp.login("agent1")
    agent2 = xmpp.login("agent2")
    marks = {k: "mark-%s-%s" % (k, uuid.uuid4().hex[:12])
             for k in ("pm_plain", "pm_staff", "subject", "groupchat")}

    # A persistent plain room: its subject is stored (on the record).
    join(admin, "lounge", "boss")
    admin.send_iq("<iq type='set' to='%s'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                  "<x xmlns='jabber:x:data' type='submit'><field "
                  "var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>"
                  % room_jid("lounge"), check=True)
    admin.send("<message type='groupchat' to='%s'><subject>%s</subject></message>"
               % (room_jid("lounge"), marks["subject"]))
    join(agent, "lounge", "agent1")
    pm(admin, "lounge", "agent1", marks["pm_plain"])
    got = agent.expect("/s:message[@type='chat'][s:body='%s']" % marks["pm_plain"])
    assert got.get("from") == room_jid("lounge", "boss")

    # A support room: staff talk off the record; the customer on it.
    customer = xmpp.anonymous()
    join(customer, "s7", "Customer")
    join(agent, "s7", "Agent")
    join(agent2, "s7", "Helper")
    pm(agent, "s7", "Helper", marks["pm_staff"])
    agent2.expect("/s:message[@type='chat'][s:body='%s']" % marks["pm_staff"])
    groupchat(customer, "s7", marks["groupchat"])
    agent.expect("/s:message[@type='groupchat'][s:body='%s']" % marks["groupchat"])
    for c in (admin, agent, agent2, customer):
        barrier(c)

    # On the record: found (this proves the search works and that writes
    # have landed by now).
    assert ("muc_rooms", "subject") in wait_found(db, marks["subject"])
    assert wait_found(db, marks["groupchat"]), "archived groupchat not in PostgreSQL"
    # Off the record: nowhere.
    for k in ("pm_plain", "pm_staff"):
        assert find_everywhere(db, marks[k]) == [], "%s found in the database" % k


def own_archive_bodies(client):
    """The bodies in the client's own account archive (MAM on its server)."""
    qid = "own%s" % uuid.uuid4().hex[:8]
    reply = client.send_iq("<iq type='set'><query xmlns='urn:xmpp:mam:2' queryid='%s'/></iq>"
                           % qid)
    assert reply.get("type") == "result", reply
    results = client.take_all("/s:message/mam:result[@queryid='%s']" % qid)
    return [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
            for r in results]


def test_private_messages_ask_the_users_server_not_to_archive_them(mucdesk, xmpp):
    """Off the record goes beyond our database: the recipient's own server
    keeps a personal archive (mod_mam, on in the test servers as on most
    deployments); a private message from the room carries the XEP-0334
    no-permanent-store hint, and the server leaves it out.  A direct
    message between the same two accounts is archived: the archive works."""
    admin = xmpp.login("admin")
    agent = xmpp.login("agent1")
    off = "off-%s" % uuid.uuid4().hex[:12]
    on = "on-%s" % uuid.uuid4().hex[:12]
    join(admin, "backroom", "boss")
    admin.send_iq("<iq type='set' to='%s'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                  "<x xmlns='jabber:x:data' type='submit'/></query></iq>"
                  % room_jid("backroom"), check=True)                  # instant room
    join(agent, "backroom", "agent1")
    pm(admin, "backroom", "agent1", off)
    got = agent.expect("/s:message[@type='chat'][s:body='%s']" % off)
    assert got.xpath("hints:no-permanent-store", namespaces=NS)
    admin.send("<message type='chat' to='agent1@localhost'><body>%s</body></message>" % on)
    agent.expect("/s:message[@type='chat'][s:body='%s']" % on)
    bodies = own_archive_bodies(agent)
    assert on in bodies, bodies
    assert off not in bodies, bodies
