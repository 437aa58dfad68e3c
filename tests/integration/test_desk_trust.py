"""Nobody can make mucdesk act on a stanza they had no right to send
(issue 11), through a real server: a customer forging the answer to an iq
forwarded to their agent, a decline relayed through a queue room, staff
who lost their rights keeping the staff view of a chat."""

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from desk_e2e import (barrier, desk, desk_voice_seen, expect_invite, expect_notice, jid, join,  # noqa: F401
                      join_queue, request_chat, say, ticket_row, wait_for)
from mdtest.stanzas import error_condition, to_str

Q = [("billing", "round-robin"), ("sales", "round-robin")]
A = [("billing", "agent1@localhost", "agent"),
     ("billing", "super1@localhost", "supervisor"),
     ("sales", "agent2@localhost", "agent")]
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def started_chat(desk_fixture, xmpp, db):
    """A chat in billing accepted by agent1; returns (mucdesk, customer,
    agent, chat)."""
    md = desk_fixture(queues=Q, agents=A)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    join(customer, chat["room"], "Ann")
    expect_invite(agent, chat["room"])
    join(agent, chat["room"], "Alex")
    customer.expect("/s:presence[@from='%s/Alex']" % chat["room"])
    wait_for(lambda: ticket_row(db, chat["ticket"], "status") == [("INPROGRESS",)],
             what="accepted")
    return md, customer, agent, chat


def hold_vcard_requests(client):
    """The client keeps vCard requests unanswered (slixmpp would answer
    each at once); they stay readable in its pending stanzas."""
    client.xmpp.register_handler(Callback(
        "hold-vcard", MatchXPath("{jabber:client}iq/{vcard-temp}vCard"), lambda iq: None))


def observe(xmpp, ticket, room):
    boss = xmpp.login("super1")
    join_queue(boss, "billing", "Boss")
    say(boss, jid("billing"), "/observe %s" % ticket)
    expect_invite(boss, room)
    join(boss, room, "Boss")
    return boss


def test_a_customer_cannot_forge_the_reply_that_ejects_their_agent(desk, xmpp, db):
    md, customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    hold_vcard_requests(agent)
    hold_vcard_requests(customer)
    # The customer sees the id of an iq forwarded to themselves...
    customer.send("<iq type='get' id='self1' to='%s/Ann'><vCard xmlns='vcard-temp'/></iq>" % room)
    own = customer.expect("/s:iq[@type='get'][@from='%s/Ann']/vcard:vCard/.." % room)
    # ...asks their agent for a vCard, and answers in the agent's place with
    # a delivery error: under the id the agent really got (the strongest
    # attacker: one who knows it), and under guesses from the id they saw.
    customer.send("<iq type='get' id='ask1' to='%s/Alex'><vCard xmlns='vcard-temp'/></iq>" % room)
    fwd = agent.expect("/s:iq[@type='get'][@from='%s/Ann']/vcard:vCard/.." % room)
    guesses = {fwd.get("id"), own.get("id")}
    prefix, _, number = own.get("id").rpartition("-")
    try:
        guesses |= {"%s-%x" % (prefix, int(number, 16) + k) for k in range(1, 6)}
    except ValueError:
        pass
    for g in sorted(guesses):
        customer.send("<iq type='error' id='%s' to='%s/Ann'><error type='cancel'>"
                      "<recipient-unavailable xmlns='%s'/></error></iq>" % (g, room, STANZAS))
    barrier(customer)
    barrier(agent)
    # The agent is still in the chat, and the ticket still theirs.
    customer.expect_none("/s:presence[@from='%s/Alex'][@type='unavailable']" % room, 1.0)
    assert ticket_row(db, ticket, "status, owner_jid") == [("INPROGRESS", "agent1@localhost")]
    assert not customer.take_all("/s:iq[@id='ask1']")
    # The agent's own answer is the one the customer gets.
    agent.send("<iq type='result' id='%s' to='%s'><vCard xmlns='vcard-temp'><FN>Alex</FN>"
               "</vCard></iq>" % (fwd.get("id"), fwd.get("from")))
    back = customer.expect("/s:iq[@id='ask1']")
    assert back.get("type") == "result"
    assert back.xpath("string(vcard:vCard/vcard:FN)", namespaces={"vcard": "vcard-temp"}) == "Alex"
    say(customer, room, "thanks")
    agent.expect("/s:message[@from='%s/Ann']/s:body[.='thanks']" % room)


def test_no_decline_is_relayed_for_an_invitation_never_made(desk, xmpp, db):
    desk(queues=Q, agents=A)
    agent = xmpp.login("agent1")
    customer = xmpp.anonymous()
    # Anyone may send a decline to a queue room naming anyone: nobody
    # invited them, so nobody hears of it.
    customer.send("<message to='%s' id='dec1'><x xmlns='http://jabber.org/protocol/muc#user'>"
                  "<decline to='agent1@localhost'><reason>Cheap pills at example.com</reason>"
                  "</decline></x></message>" % jid("billing"))
    err = customer.expect("/s:message[@id='dec1'][@type='error']")
    assert error_condition(err)[1] == "not-acceptable"
    barrier(customer)
    barrier(agent)
    assert "pills" not in "".join(to_str(e) for e in agent.received)
    # A real offer declined goes to the desk (the offer moves on), to nobody else.
    join_queue(agent, "billing", "Alex")
    chat = request_chat(customer, "billing")
    expect_invite(agent, chat["room"])
    agent.send("<message to='%s' id='dec2'><x xmlns='http://jabber.org/protocol/muc#user'>"
               "<decline><reason>busy</reason></decline></x></message>" % chat["room"])
    barrier(agent)
    assert customer.take_all("/s:message/mucu:x/mucu:decline") == []
    # Declining twice: the second is refused.
    agent.send("<message to='%s' id='dec3'><x xmlns='http://jabber.org/protocol/muc#user'>"
               "<decline><reason>busy</reason></decline></x></message>" % chat["room"])
    err = agent.expect("/s:message[@id='dec3'][@type='error']")
    assert error_condition(err)[1] == "not-acceptable"


def staff_view_lost(customer, agent, boss, room):
    """agent no longer sees the observer nor staff-only notes; nothing of
    it reaches the customer."""
    gone = agent.expect("/s:presence[@from='%s/Boss'][@type='unavailable']" % room)
    assert gone is not None
    say(boss, room, "/note between staff only")
    expect_notice(boss, room, "Note added")
    barrier(agent)
    barrier(customer)
    assert not [e for e in agent.take_all() if "between staff only" in to_str(e)]
    assert "Boss" not in "".join(to_str(e) for e in customer.received)
    # The desk's voice left the agent's view too; the customer never had it.
    voice = desk_voice_seen(agent, room)
    assert voice and voice[-1].tag == "{jabber:client}presence" and \
        voice[-1].get("type") == "unavailable", [to_str(e) for e in voice]
    assert desk_voice_seen(customer, room) == []


def test_an_agent_removed_from_the_queue_loses_the_staff_view(desk, xmpp, db):
    md, customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    boss = observe(xmpp, ticket, room)
    agent.expect("/s:presence[@from='%s/Boss']" % room)
    say(boss, room, "/note before the change")
    expect_notice(agent, room, "Note by Boss: before the change")
    # The admin removes agent1 from billing (the directory poll applies it).
    md.run_ctl(["agent-remove", "billing", "agent1@localhost"], check=True)
    staff_view_lost(customer, agent, boss, room)
    # No staff left in the chat: it waits for the next agent of billing.
    wait_for(lambda: ticket_row(db, ticket, "status, owner_jid") == [("QUEUED", None)],
             what="requeued")
    # Still in the room, as anyone else: no staff commands.
    say(agent, room, "/note am I staff?")
    expect_notice(agent, room, "not allowed", staff=False)
    assert "am I staff" not in "".join(to_str(e) for e in customer.take_all())


def test_an_agent_left_in_a_chat_forwarded_away_loses_the_staff_view(desk, xmpp, db):
    md, customer, agent, chat = started_chat(desk, xmpp, db)
    room, ticket = chat["room"], chat["ticket"]
    boss = observe(xmpp, ticket, room)
    agent.expect("/s:presence[@from='%s/Boss']" % room)
    say(agent, room, "/forward sales")
    # agent1 is no staff of a sales chat: the desk speaks from the room.
    expect_notice(agent, room, "forwarded to queue sales", staff=False)
    # billing's supervisor has no rights in a sales chat either: removed.
    left = boss.expect("/s:presence[@from='%s/Boss'][@type='unavailable']" % room)
    assert left is not None
    gone = agent.expect("/s:presence[@from='%s/Boss'][@type='unavailable']" % room)
    assert gone is not None
    a2 = xmpp.login("agent2")
    join_queue(a2, "sales", "Sam")
    expect_invite(a2, room)
    join(a2, room, "Sam")
    say(a2, room, "/note sales staff only")
    expect_notice(a2, room, "Note added")
    barrier(agent)
    barrier(customer)
    assert not [e for e in agent.take_all() if "sales staff only" in to_str(e)]
    assert "Boss" not in "".join(to_str(e) for e in customer.received)
    assert desk_voice_seen(customer, room) == []
