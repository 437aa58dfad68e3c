"""Plain rooms end to end, through Prosody, with slixmpp's XEP-0045 plugin:
an admin creates and configures a room, others join, talk, change nicks,
get kicked; persistent rooms and their affiliations survive a restart of
mucdesk (PostgreSQL); clients that vanish are removed."""

from muc_e2e import (barrier, groupchat, join, room_jid, status_codes)  # noqa: F401
from mdtest.stanzas import NS, error_condition


def muc_plugin(client):
    client.xmpp.register_plugin("xep_0045")
    client.xmpp.register_plugin("xep_0004")
    return client.xmpp.plugin["xep_0045"]


def test_slixmpp_creates_configures_and_uses_a_room(mucdesk, xmpp, db):
    admin = xmpp.login("admin")
    agent = xmpp.login("agent1")
    room = room_jid("team")
    muc = muc_plugin(admin)

    # Anyone but an admin is refused.
    pres = join(agent, "team", "agent1")
    assert error_condition(pres)[1] == "not-allowed"

    own, subject, occupants, history = xmpp.run(muc.join_muc_wait(room, "boss", maxstanzas=0))
    assert {110, 201} <= set(own["muc"]["status_codes"])
    form = xmpp.run(muc.get_room_config(room))
    values = form.get_values()
    assert "muc#roomconfig_persistentroom" in values
    form.set_values({"muc#roomconfig_persistentroom": True,
                     "muc#roomconfig_roomname": "The team",
                     "muc#roomconfig_membersonly": False})
    form["type"] = "submit"
    xmpp.run(muc.set_room_config(room, form))
    muc.set_subject(room, "Team matters")
    barrier(admin)

    agent_muc = muc_plugin(agent)
    own, subject, occupants, history = xmpp.run(
        agent_muc.join_muc_wait(room, "agent1", maxstanzas=10))
    assert own["muc"]["role"] == "participant"
    assert subject["subject"] == "Team matters"
    assert sorted(str(o["from"]) for o in occupants) == sorted(
        [room_jid("team", "boss"), room_jid("team", "agent1")])

    groupchat(agent, "team", "hello team", ident="h1")
    got = admin.expect("/s:message[@type='groupchat'][s:body='hello team']")
    assert got.get("from") == room_jid("team", "agent1") and got.get("id") == "h1"
    assert got.xpath("sid:stanza-id/@by", namespaces=NS) == [room]
    agent.expect("/s:message[@type='groupchat'][@id='h1']")   # reflected

    # Affiliations through the plugin; they land in PostgreSQL.
    xmpp.run(muc.set_affiliation(room, "member", jid="agent2@localhost", reason="welcome"))
    members = xmpp.run(muc.get_affiliation_list(room, "member"))
    assert [str(j) for j in members] == ["agent2@localhost"]
    barrier(admin)
    assert db.value("SELECT title FROM muc_rooms WHERE name = 'team'") == "The team"
    assert db.value("SELECT subject FROM muc_rooms WHERE name = 'team'") == "Team matters"
    assert sorted(db.psql("SELECT jid, affiliation FROM muc_affiliations WHERE room = 'team'")) \
        == [("admin@localhost", "owner"), ("agent2@localhost", "member")]

    # Nick change, then a kick.
    agent.send("<presence to='%s'/>" % room_jid("team", "agent-one"))
    gone = admin.expect("/s:presence[@type='unavailable'][@from='%s']"
                        % room_jid("team", "agent1"))
    assert 303 in status_codes(gone)
    admin.expect("/s:presence[@from='%s']" % room_jid("team", "agent-one"))
    xmpp.run(muc.set_role(room, "agent-one", "none", reason="enough"))
    kicked = agent.expect("/s:presence[@type='unavailable'][@from='%s']"
                          % room_jid("team", "agent-one"))
    assert {110, 307} <= status_codes(kicked)


def test_persistent_room_survives_a_restart(mucdesk_factory, xmpp, db):
    md = mucdesk_factory()
    admin = xmpp.login("admin")
    room = room_jid("keep")
    muc = muc_plugin(admin)
    xmpp.run(muc.join_muc_wait(room, "boss", maxstanzas=0))
    form = xmpp.run(muc.get_room_config(room))
    form.set_values({"muc#roomconfig_persistentroom": True,
                     "muc#roomconfig_membersonly": True,
                     "muc#roomconfig_roomdesc": "Kept across restarts"})
    form["type"] = "submit"
    xmpp.run(muc.set_room_config(room, form))
    xmpp.run(muc.set_affiliation(room, "member", jid="agent1@localhost"))
    xmpp.run(muc.set_affiliation(room, "outcast", jid="agent2@localhost"))
    muc.set_subject(room, "Still here")
    # The room's reflection says mucdesk has the subject (a barrier alone
    # does not: ejabberd may route the ping ahead of the message).
    admin.expect("/s:message[s:subject='Still here']")
    barrier(admin)
    assert md.stop() == 0

    md = mucdesk_factory()
    md.wait_for_log("1 persistent room(s) loaded")
    agent = xmpp.login("agent1")
    pres = join(agent, "keep", "agent1", history="")
    assert pres.get("type") is None
    assert pres.xpath("mucu:x/mucu:item/@affiliation", namespaces=NS) == ["member"]
    subject = agent.expect("/s:message[s:subject]")
    assert subject.xpath("string(c:subject)", namespaces=NS) == "Still here"
    banned = xmpp.login("agent2")
    assert error_condition(join(banned, "keep", "agent2"))[1] == "forbidden"
    info = agent.send_iq("<iq type='get' to='%s'><query "
                         "xmlns='http://jabber.org/protocol/disco#info'/></iq>" % room)
    features = info.xpath("info:query/info:feature/@var", namespaces=NS)
    assert "muc_persistent" in features and "muc_membersonly" in features
    # Destroying it removes it from the database too.
    admin2 = xmpp.login("admin", resource="again")
    admin2.send_iq("<iq type='set' to='%s'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                   "<destroy/></query></iq>" % room, check=True)
    barrier(admin2)
    assert db.value("SELECT count(*) FROM muc_rooms WHERE name = 'keep'") == "0"
    assert db.value("SELECT count(*) FROM muc_affiliations WHERE room = 'keep'") == "0"


def test_a_client_that_vanishes_leaves_every_room(mucdesk, xmpp):
    admin = xmpp.login("admin")
    for room in ("v1", "v2"):
        join(admin, room, "boss")
        admin.send_iq("<iq type='set' to='%s'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                      "<x xmlns='jabber:x:data' type='submit'/></query></iq>" % room_jid(room),
                      check=True)
    agent = xmpp.login("agent1")
    join(agent, "v1", "agent1")
    join(agent, "v2", "agent1")
    admin.clear()
    agent.abort()   # no unavailable presence, no stream close
    for room in ("v1", "v2"):
        admin.expect("/s:presence[@type='unavailable'][@from='%s']"
                     % room_jid(room, "agent1"), timeout=30)
