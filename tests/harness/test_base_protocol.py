"""Base protocol on the service domain: disco, ping, version, errors."""

from mdtest.stanzas import NS, error_condition

DOMAIN = "support.localhost"


def iq(srv, ident, payload, type_="get", to=DOMAIN):
    srv.send("<iq type='%s' id='%s' from='user@localhost/res' to='%s'>%s</iq>"
             % (type_, ident, to, payload))
    return srv.expect("/s:iq[@id='%s']" % ident)


def test_disco_info(fake_server, mucdesk_factory):
    mucdesk_factory({"service": {"name": "Acme Support"}})
    reply = iq(fake_server, "i1", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert reply.get("type") == "result"
    ident = reply.xpath("info:query/info:identity", namespaces=NS)
    assert [(i.get("category"), i.get("type"), i.get("name")) for i in ident] == \
        [("conference", "text", "Acme Support")]
    features = set(reply.xpath("info:query/info:feature/@var", namespaces=NS))
    assert {"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
            "urn:xmpp:ping", "jabber:iq:version"} <= features


def test_disco_items_answers(fake_server, mucdesk_factory):
    mucdesk_factory()
    reply = iq(fake_server, "it1", "<query xmlns='http://jabber.org/protocol/disco#items'/>")
    assert reply.get("type") == "result"
    reply = iq(fake_server, "it2",
               "<query xmlns='http://jabber.org/protocol/disco#items' node='no-such-node'/>")
    assert error_condition(reply)[1] == "item-not-found"


def test_disco_set_is_bad_request(fake_server, mucdesk_factory):
    mucdesk_factory()
    reply = iq(fake_server, "s1", "<query xmlns='http://jabber.org/protocol/disco#info'/>",
               type_="set")
    assert error_condition(reply)[:2] == ("modify", "bad-request")


def test_ping_and_version(fake_server, mucdesk_factory):
    mucdesk_factory()
    reply = iq(fake_server, "p1", "<ping xmlns='urn:xmpp:ping'/>")
    assert reply.get("type") == "result" and len(reply) == 0
    reply = iq(fake_server, "v1", "<query xmlns='jabber:iq:version'/>")
    assert reply.xpath("string(ver:query/ver:name)", namespaces=NS) == "mucdesk"
    assert reply.xpath("string(ver:query/ver:version)", namespaces=NS)
    # The operating system is not disclosed.
    assert not reply.xpath("ver:query/ver:os", namespaces=NS)


def test_malformed_requests(fake_server, mucdesk_factory):
    mucdesk_factory()
    fake_server.send("<iq type='get' id='m1' from='user@localhost/res' to='%s'/>" % DOMAIN)
    assert error_condition(fake_server.expect("/s:iq[@id='m1']"))[1] == "bad-request"
    reply = iq(fake_server, "m2", "<ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/>")
    assert error_condition(reply)[1] == "bad-request"
    reply = iq(fake_server, "m3", "<ping xmlns='urn:xmpp:ping'/>", to="bad user@" + DOMAIN)
    assert error_condition(reply)[1] == "jid-malformed"


def test_message_to_service_gets_an_error(fake_server, mucdesk_factory):
    mucdesk_factory()
    fake_server.send("<message type='chat' id='c1' from='user@localhost/res' to='%s'>"
                     "<body>hello?</body></message>" % DOMAIN)
    reply = fake_server.expect("/s:message[@id='c1']")
    assert reply.get("type") == "error"
    assert error_condition(reply)[1] == "service-unavailable"
