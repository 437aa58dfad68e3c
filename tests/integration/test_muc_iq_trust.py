"""iq to occupants through a real server: a client's own error answers
never remove it, a client that is really gone still is (§17.3).

Measured (doc/protocol.md, "iq to occupants"): for an iq to a full JID
without a session, Prosody 0.12 and ejabberd 23.01 answer
<service-unavailable/> (type cancel, from that full JID, no `by`), which a
client may answer too; so the room probes with an empty groupchat message,
which both servers bounce for a gone JID and a client ignores."""

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from muc_e2e import barrier, groupchat, join, room_jid, testdesk  # noqa: F401
from mdtest.stanzas import error_condition, muc_status_codes

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def answer_with_error(client, xpath, condition):
    """Make client answer iqs matching xpath (slixmpp's clark notation)
    with an error of `condition`, as a client that lacks what was asked."""
    def reply(iq):
        client.xmpp.send_raw(
            "<iq type='error' id='%s' to='%s'><error type='cancel'><%s xmlns='%s'/>"
            "</error></iq>" % (iq["id"], iq["from"], condition, STANZAS))
    client.xmpp.register_handler(Callback("error-" + condition, MatchXPath(xpath), reply))


def ask(client, nick, payload, ident):
    return client.send_iq("<iq type='get' id='%s' to='%s'>%s</iq>"
                          % (ident, room_jid("g1", nick), payload))


def test_client_errors_do_not_remove_the_occupant(testdesk, xmpp):
    testdesk("g1")
    agent, customer = xmpp.login("agent1"), xmpp.anonymous()
    join(agent, "g1", "Agent")
    join(customer, "g1", "Customer")
    answer_with_error(agent, "{jabber:client}iq/{http://jabber.org/protocol/disco#info}query",
                      "item-not-found")
    answer_with_error(agent, "{jabber:client}iq/{urn:example:nothing}query",
                      "service-unavailable")
    # A disco node the agent's client does not have, and a namespace it
    # does not support: the customer gets the client's answers...
    reply = ask(customer, "Agent", "<query xmlns='http://jabber.org/protocol/disco#info' "
                                   "node='urn:example:nosuch'/>", "d1")
    assert error_condition(reply)[1] == "item-not-found"
    reply = ask(customer, "Agent", "<query xmlns='urn:example:nothing'/>", "d2")
    assert error_condition(reply)[1] == "service-unavailable"
    barrier(customer)
    barrier(agent)
    # ...and the agent stays in the room.
    customer.expect_none("/s:presence[@from='%s'][@type='unavailable']"
                         % room_jid("g1", "Agent"), 1.0)
    ident = groupchat(customer, "g1", "still there?")
    agent.expect("/s:message[@id='%s']" % ident)


def test_a_client_that_is_really_gone_is_removed(testdesk, xmpp, xmpp_server):
    md = testdesk("g1")
    agent, other = xmpp.login("agent1"), xmpp.login("agent2")
    join(agent, "g1", "Agent")
    join(other, "g1", "Other")
    # A client whose connection dies: the server says so (unavailable on
    # its behalf), the room hears it.
    agent.abort()
    gone = other.expect("/s:presence[@from='%s'][@type='unavailable']" % room_jid("g1", "Agent"))
    assert gone is not None
    join(xmpp.login("agent1", resource="second"), "g1", "Agent")
    # The server itself crashes: nobody tells the room anything, so both
    # agents stay in it as ghosts once the link is back.
    mark = md.mark()
    xmpp_server.kill()
    xmpp_server.start()
    md.wait_for_log("component link up", after=mark, timeout=30)
    fresh = xmpp.anonymous()
    join(fresh, "g1", "Fresh")
    fresh.expect("/s:presence[@from='%s']" % room_jid("g1", "Agent"))
    # An iq to the ghost: the server answers for it, the room probes, the
    # server bounces the probe, and the ghost is removed (333).
    reply = ask(fresh, "Agent", "<vCard xmlns='vcard-temp'/>", "v1")
    assert error_condition(reply)[1] == "service-unavailable"
    gone = fresh.expect("/s:presence[@from='%s'][@type='unavailable']" % room_jid("g1", "Agent"))
    assert 333 in muc_status_codes(gone)
    reply = ask(fresh, "Agent", "<vCard xmlns='vcard-temp'/>", "v2")
    assert error_condition(reply)[1] == "item-not-found"
