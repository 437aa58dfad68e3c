"""No text from outside, however it falls on the service's byte limits,
makes mucdesk write ill-formed XML (issue 11).  The XMPP server closes the
component stream on the first ill-formed byte, for every user at once, so
each text here puts a multi-byte character across a limit where mucdesk
shortens text: the question (the ticket's subject at 199 bytes, the
re-announcement at 300, the announcement and the offer at 400), the page
(the session details, 1023), a MAM form field (an error text, 100), the
rating comment (999 in the ratings plugin, 2000 in the desk), /subject
(300), /canned (60) and /kb (200).  The link must stay up, the texts
arrive cut before the character (never with U+FFFD standing for half of
one), and every row reaches PostgreSQL (no dead letter)."""

from desk_e2e import (DOMAIN, barrier, expect_desk_event, expect_invite,  # noqa: F401
                      expect_notice, jid, join, join_queue, request_chat, say,
                      ticket_row, wait_for)
from desk_e2e import desk  # noqa: F401 (fixture)
from mdtest.mucdesk import LINK_UP
from mdtest.stanzas import NS, attr, error_condition

Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent")]
WIDE = ["\u00e9", "\u20ac", "\U0001F600"]  # 2, 3 and 4 bytes
REPLACEMENT = "\ufffd"
NAME = "Zo\u00eb"


def straddling(cuts, total, fill="a"):
    """An ASCII text of `total` bytes with a multi-byte character across
    each byte limit in cuts (the limit falls after its first byte, after
    its second...: every position inside a character, by turns)."""
    out = b""
    for i, cut in enumerate(sorted(cuts)):
        ch = WIDE[i % 3].encode()
        inside = 1 + i % (len(ch) - 1)        # bytes of ch kept by the cut
        out += fill.encode() * (cut - inside - len(out)) + ch
        assert len(out) - len(ch) + inside == cut
    out += b"z" * (total - len(out))
    return out.decode()


def cut(text, limit):
    """What a correct cut to `limit` bytes keeps."""
    b = text.encode()[:limit]
    return b.decode("utf-8", "ignore")


def body(el):
    return el.findtext("{jabber:client}body") or ""


def test_texts_across_every_cut_keep_the_link(desk, xmpp, db, xmpp_server, run_dir):
    server_mark = xmpp_server.mark()
    md = desk(queues=Q, agents=A, desk={"reannounce_after": 2})
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.anonymous()

    question = straddling([199, 300, 400], 460)
    page = "https://shop.example/" + straddling([1023 - 21], 1100 - 21, fill="p")
    chat = request_chat(customer, "billing", name=NAME,
                        question=question, page=page)
    room, ticket = chat["room"], chat["ticket"]

    # The announcement and the offer (the question cut at 400 bytes), then
    # the re-announcement (at 300).
    new = body(expect_notice(agent, jid("billing"), "New chat: ticket #%s" % ticket))
    assert new.endswith(": " + cut(question, 400)) and REPLACEMENT not in new
    invite = expect_invite(agent, room)
    reason = invite.findtext(".//{%s}reason" % NS["mucu"])
    assert (": " + cut(question, 400) + " (join to take it") in reason \
        and REPLACEMENT not in reason
    again = body(expect_notice(agent, jid("billing"), "Still waiting", timeout=15))
    assert again.endswith(": " + cut(question, 300)) and REPLACEMENT not in again

    # The customer joins: the room's subject (the question's first line cut
    # at 199 bytes for the ticket's subject), then the session details (the
    # page cut at 1023 bytes) from the archive.
    nick = chat["nick"]
    join(customer, room, nick)
    subject = customer.expect("/s:message[@from='%s']/s:subject/.." % room)
    assert subject.findtext("{jabber:client}subject") == "Ticket #%s: %s" % (
        ticket, cut(question, 199))
    fin = customer.send_iq("<iq type='set' to=%s><query xmlns='urn:xmpp:mam:2' queryid='d'/>"
                           "</iq>" % attr(room))
    assert fin.get("type") == "result"
    archived = [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
                for r in customer.take_all("/s:message/mam:result[@queryid='d']")]
    # The session details are staff-only: not in the customer's archive.
    assert not [b for b in archived if b.startswith("Ticket #")], archived

    # A MAM form field named across the 100 bytes of the error text.
    var = straddling([100], 130, fill="v")
    reply = customer.send_iq(
        "<iq type='set' to=%s><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
        "type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value>"
        "</field><field var=%s><value>1</value></field></x></query></iq>"
        % (attr(room), attr(var)))
    assert error_condition(reply)[1:] == ("feature-not-implemented",
                                          "Unknown query field " + cut(var, 100))

    join(agent, room, "Alex")
    wait_for(lambda: ticket_row(db, ticket, "status") == [("INPROGRESS",)], what="accepted")
    # The session details (the page cut at 1023 bytes): told to the agent on
    # entering, and in the archive the agent reads.
    told = body(expect_notice(agent, room, "\nPage: "))
    assert "\nPage: " + cut(page, 1023) + "\n" in told and REPLACEMENT not in told
    fin = agent.send_iq("<iq type='set' to=%s><query xmlns='urn:xmpp:mam:2' queryid='s'/>"
                        "</iq>" % attr(room))
    assert fin.get("type") == "result"
    archived = [r.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)
                for r in agent.take_all("/s:message/mam:result[@queryid='s']")]
    details = [b for b in archived if b.startswith("Ticket #")][0]
    assert "\nPage: " + cut(page, 1023) + "\n" in details and REPLACEMENT not in details

    # The agent's own texts: /subject (300), /canned (60), /kb (200).
    subj = straddling([300], 340, fill="s")
    say(agent, room, "/subject " + subj)
    changed = customer.expect("/s:message[@from='%s']/s:subject[starts-with(., 'Ticket #%s: s')]/.."
                              % (room, ticket))
    assert changed.findtext("{jabber:client}subject") == "Ticket #%s: %s" % (
        ticket, cut(subj, 300))
    name = straddling([60], 80, fill="n")
    say(agent, room, "/canned " + name)
    refused = body(expect_notice(agent, room, "No canned response called"))
    assert refused.startswith("No canned response called %s (" % cut(name, 60))
    query = straddling([200], 230, fill="k")
    say(agent, room, "/kb " + query)
    none = body(expect_notice(agent, room, "No article matches"))
    assert none == 'No article matches "%s".' % cut(query, 200)

    # A rating whose comment crosses the plugin's old 999 and the desk's
    # 2000 bytes.
    say(agent, room, "/rate")
    expect_desk_event(customer, room, "rate")
    comment = straddling([999, 2000], 2100, fill="c")
    say(customer, room, "5 " + comment)
    expect_notice(customer, room, "Thank you for your rating!")

    # Through all of it, the conversation goes on over the same link.
    say(customer, room, "still there?")
    agent.expect("/s:message[@from='%s/%s']/s:body[.='still there?']" % (room, nick))
    barrier(agent)
    assert md.log_text().count(LINK_UP) == 1, "the component link went down"
    assert "component link to" not in md.log_text()
    assert xmpp_server.log_text(after=server_mark).count(xmpp_server.COMPONENT_UP) == 1

    # Every row is in PostgreSQL, cut where the texts were.
    wait_for(lambda: ticket_row(db, ticket, "rating") == [("5",)], what="the rating")
    assert ticket_row(db, ticket, "subject, rating_comment, customer_name") == [
        (cut(subj, 300), cut(comment, 2000), NAME)]
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='message' AND body='still there?'" % ticket) == "1",
             what="the last line archived")
    first = db.value("SELECT body FROM ticket_events WHERE ticket_id=%s ORDER BY id LIMIT 1"
                     % ticket)
    assert first == details
    dead = run_dir / "state" / "dead-letter.jsonl"
    assert not dead.exists() or dead.read_text() == ""
