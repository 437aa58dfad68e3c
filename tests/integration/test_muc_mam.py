"""MAM (XEP-0313) on room JIDs end to end: paging with RSM forwards and
backwards, start/end/with/after-id/before-id filters, complete, unknown
ids, and the disco feature only where the archive is on."""

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
