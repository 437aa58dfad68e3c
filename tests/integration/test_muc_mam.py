"""MAM (XEP-0313) on room JIDs end to end: paging with RSM forwards and
backwards, start/end/with/after-id/before-id filters, complete, unknown
ids, and the disco feature only where the archive is on; #extended: ids
fetched from PostgreSQL and the metadata query."""

import time

from muc_e2e import (groupchat, join, mam_query, result_body, room_jid,  # noqa: F401
                     testdesk)
from mdtest.stanzas import NS, error_condition


def fin_ids(fin):
    return (fin.xpath("string(mam:fin/rsm:set/rsm:first)", namespaces=NS),
            fin.xpath("string(mam:fin/rsm:set/rsm:last)", namespaces=NS))


def complete(fin):
    return fin.xpath("string(mam:fin/@complete)", namespaces=NS) == "true"


def test_mam_paging_and_filters(testdesk, xmpp):
    testdesk("q1 archived\nplain")
    agent = xmpp.login("agent1")
    agent2 = xmpp.login("agent2")
    join(agent, "q1", "one")
    join(agent2, "q1", "two")
    for i in range(12):
        who = agent if i % 3 else agent2
        ident = groupchat(who, "q1", "line %02d" % i)
        who.expect("/s:message[@id='%s']" % ident)   # shown: durable

    info = agent.send_iq("<iq type='get' to='%s'><query "
                         "xmlns='http://jabber.org/protocol/disco#info'/></iq>" % room_jid("q1"))
    assert "urn:xmpp:mam:2" in info.xpath("info:query/info:feature/@var", namespaces=NS)
    info = agent.send_iq("<iq type='get' to='%s'><query "
                         "xmlns='http://jabber.org/protocol/disco#info'/></iq>"
                         % room_jid("plain"))
    assert "urn:xmpp:mam:2" not in info.xpath("info:query/info:feature/@var", namespaces=NS)

    # The form.
    form = agent.send_iq("<iq type='get' to='%s'><query xmlns='urn:xmpp:mam:2'/></iq>"
                         % room_jid("q1"))
    assert {"FORM_TYPE", "with", "start", "end", "before-id", "after-id"} <= set(
        form.xpath("mam:query/x:x/x:field/@var", namespaces=NS))

    # Forwards, five at a time.
    got, after = [], None
    for page in range(4):
        rsm = "<max>5</max>" + ("<after>%s</after>" % after if after else "")
        results, fin = mam_query(agent, "q1", rsm=rsm)
        assert fin.get("type") == "result"
        got += [result_body(r) for r in results]
        first, after = fin_ids(fin)
        if complete(fin):
            break
    assert got == ["line %02d" % i for i in range(12)]
    # Each result is the room's message: from the occupant JID, with ids.
    results, fin = mam_query(agent, "q1", rsm="<max>1</max>")
    fwd = results[0].xpath("mam:result/fwd:forwarded", namespaces=NS)[0]
    msg = fwd.xpath("c:message", namespaces=NS)[0]
    assert msg.get("from") == room_jid("q1", "two") and msg.get("type") == "groupchat"
    assert fwd.xpath("delay:delay/@stamp", namespaces=NS)
    assert msg.xpath("*[local-name()='occupant-id']/@id")
    assert results[0].xpath("string(mam:result/@id)", namespaces=NS) == fin_ids(fin)[0]
    assert not complete(fin)

    # The last page, then backwards.
    results, fin = mam_query(agent, "q1", rsm="<max>4</max><before/>")
    assert [result_body(r) for r in results] == ["line %02d" % i for i in range(8, 12)]
    first, _ = fin_ids(fin)
    results, fin = mam_query(agent, "q1", rsm="<max>4</max><before>%s</before>" % first)
    assert [result_body(r) for r in results] == ["line %02d" % i for i in range(4, 8)]

    # Filters: with (an occupant JID), after-id / before-id, start in the future.
    results, fin = mam_query(agent, "q1", form="<field var='with'><value>%s</value></field>"
                             % room_jid("q1", "two"))
    assert [result_body(r) for r in results] == ["line %02d" % i for i in (0, 3, 6, 9)]
    all_results, _ = mam_query(agent, "q1", rsm="<max>20</max>")
    ids = [r.xpath("string(mam:result/@id)", namespaces=NS) for r in all_results]
    results, fin = mam_query(agent, "q1", form="<field var='after-id'><value>%s</value></field>"
                             "<field var='before-id'><value>%s</value></field>" % (ids[2], ids[6]))
    assert [result_body(r) for r in results] == ["line %02d" % i for i in (3, 4, 5)]
    results, fin = mam_query(agent, "q1", form="<field var='start'><value>2999-01-01T00:00:00Z"
                             "</value></field>")
    assert results == [] and complete(fin)
    # An id that is not in the archive.
    results, fin = mam_query(agent, "q1", rsm="<after>no-such-id</after>")
    assert error_condition(fin)[1] == "item-not-found"


def metadata_bounds(client, room):
    """(start, end) of the room's archive metadata, each (id, timestamp) or None."""
    reply = client.send_iq("<iq type='get' to='%s'><metadata xmlns='urn:xmpp:mam:2'/></iq>"
                           % room_jid(room))
    assert reply.get("type") == "result", error_condition(reply)

    def bound(name):
        el = reply.xpath("mam:metadata/mam:%s" % name, namespaces=NS)
        return (el[0].get("id"), el[0].get("timestamp")) if el else None
    return bound("start"), bound("end")


def test_mam_extended_ids_from_postgres_and_metadata(testdesk, xmpp, db):
    """#extended: metadata, and ids fetched from PostgreSQL once the
    messages have left the archive's in-memory window (shipped)."""
    testdesk("q1 archived")
    agent = xmpp.login("agent1")
    customer = xmpp.anonymous()
    join(agent, "q1", "one")
    join(customer, "q1", "cust")
    info = agent.send_iq("<iq type='get' to='%s'><query "
                         "xmlns='http://jabber.org/protocol/disco#info'/></iq>" % room_jid("q1"))
    assert "urn:xmpp:mam:2#extended" in info.xpath("info:query/info:feature/@var",
                                                   namespaces=NS)
    assert metadata_bounds(customer, "q1") == (None, None)   # joins are no records

    sids = []
    for i in range(30):
        ident = groupchat(agent, "q1", "line %02d" % i)
        shown = agent.expect("/s:message[@id='%s']" % ident)
        sids.append(shown.xpath("string(sid:stanza-id/@id)", namespaces=NS))
    # A staff-only note last: the newest record for staff, not for the customer.
    agent.send("<message type='groupchat' to='%s'><body>/note internal</body></message>"
               % room_jid("q1"))
    shown = agent.expect(lambda el: el.xpath("string(c:body)", namespaces=NS) == "internal")
    note_sid = shown.xpath("string(sid:stanza-id/@id)", namespaces=NS)

    # Wait until PostgreSQL has them all: from then on the in-memory window
    # no longer holds them.
    deadline = time.monotonic() + 20
    while int(db.value("SELECT count(*) FROM muc_archive WHERE room = 'q1' "
                       "AND kind IN ('message', 'system')")) < 31:
        assert time.monotonic() < deadline, "the archive did not reach PostgreSQL"
        time.sleep(0.1)

    start, end = metadata_bounds(customer, "q1")
    assert start[0] == sids[0] and end[0] == sids[-1]
    assert start[1] <= end[1]
    assert metadata_bounds(agent, "q1")[1][0] == note_sid

    ids = "".join("<value>%s</value>" % sids[i] for i in (25, 2, 10))
    results, fin = mam_query(customer, "q1", form="<field var='ids'>%s</field>" % ids)
    assert fin.get("type") == "result"
    assert [result_body(r) for r in results] == ["line 02", "line 10", "line 25"]
    assert complete(fin)
    # A staff-only record is, for the customer, not in the archive.
    for missing in (note_sid, "no-such-id"):
        results, fin = mam_query(customer, "q1", form="<field var='ids'><value>%s</value>"
                                 "<value>%s</value></field>" % (sids[0], missing))
        assert error_condition(fin)[1] == "item-not-found"
    results, fin = mam_query(agent, "q1", form="<field var='ids'><value>%s</value></field>"
                             % note_sid)
    assert [result_body(r) for r in results] == ["internal"]
