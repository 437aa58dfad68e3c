"""The foundation end to end: a real client (slixmpp) reaches mucdesk
through Prosody; schema migrations; reconnecting after the XMPP server restarts;
PostgreSQL arriving late."""

from mdtest.mucdesk import LINK_UP
from mdtest.stanzas import NS, error_condition

DOMAIN = "support.localhost"


def test_disco_ping_version_and_errors_from_a_real_client(mucdesk, xmpp):
    agent = xmpp.login("agent1")
    info = agent.send_iq("<iq type='get' to='%s'><query "
                         "xmlns='http://jabber.org/protocol/disco#info'/></iq>" % DOMAIN)
    assert info.get("type") == "result"
    assert info.xpath("info:query/info:identity/@category", namespaces=NS) == ["conference"]
    assert "urn:xmpp:ping" in info.xpath("info:query/info:feature/@var", namespaces=NS)

    ping = agent.send_iq("<iq type='get' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>" % DOMAIN)
    assert ping.get("type") == "result"

    version = agent.send_iq("<iq type='get' to='%s'><query xmlns='jabber:iq:version'/></iq>"
                            % DOMAIN)
    assert version.xpath("string(ver:query/ver:name)", namespaces=NS) == "mucdesk"

    unknown = agent.send_iq("<iq type='get' to='%s'><query xmlns='urn:example:x'/></iq>"
                            % DOMAIN)
    assert error_condition(unknown)[:2] == ("cancel", "service-unavailable")

    anon = xmpp.anonymous()
    assert anon.send_iq("<iq type='get' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                        % DOMAIN).get("type") == "result"


def test_migrations_applied_at_start_and_idempotent(mucdesk_factory, db):
    md = mucdesk_factory(migrate=False)
    md.wait_for_log("database connected")
    assert db.value("SELECT count(*) FROM schema_migrations WHERE version = 1") == "1"
    # The contract tables exist with their contract columns.
    cols = {r[0] for r in db.psql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'tickets'")}
    assert {"id", "queue", "status", "subject", "customer_jid", "customer_name",
            "customer_email", "owner_jid", "priority", "created_at", "accepted_at",
            "ended_at", "chat_seconds", "rating", "rating_comment"} <= cols
    cols = {r[0] for r in db.psql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'ticket_events'")}
    assert {"id", "ticket_id", "at", "kind", "actor_jid", "actor_nick", "body",
            "stanza_id", "staff_only"} <= cols
    before = db.value("SELECT count(*) FROM schema_migrations")
    res = md.run_ctl(["migrate"], check=True)
    assert "0 migration(s) applied" in res.stdout
    assert res.stderr == ""
    assert db.value("SELECT count(*) FROM schema_migrations") == before


def test_reconnects_after_server_restart(mucdesk, xmpp_server, xmpp):
    mark = mucdesk.mark()
    xmpp_server.restart()
    mucdesk.wait_for_log("component link to", after=mark)
    mucdesk.wait_for_log(LINK_UP, after=mark, timeout=15)
    xmpp_server.wait_for_log(xmpp_server.COMPONENT_UP)
    agent = xmpp.login("agent2")
    assert agent.send_iq("<iq type='get' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                         % DOMAIN).get("type") == "result"


def test_database_created_after_start(mucdesk_factory, postgres, db, xmpp):
    """The database does not exist yet: mucdesk serves XMPP, retries, and
    migrates once it appears."""
    late = db.name + "_late"
    md = mucdesk_factory({"database": {"conninfo": postgres.conninfo(late)}}, migrate=False)
    md.wait_for_log("database unreachable")
    agent = xmpp.login("agent1")
    assert agent.send_iq("<iq type='get' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                         % DOMAIN).get("type") == "result"
    postgres.create_database(late)
    try:
        md.wait_for_log("database connected", timeout=20)
        assert postgres.value("SELECT max(version) FROM schema_migrations", late) is not None
    finally:
        assert md.stop() == 0
        postgres.drop_database(late)
