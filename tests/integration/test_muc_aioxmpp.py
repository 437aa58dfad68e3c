"""A second XMPP library against the MUC service: aioxmpp (Debian's
python3-aioxmpp 0.13), whose MUC client is written apart from slixmpp's and
is stricter about the protocol: it tracks the join order, matches its own
reflected messages, follows nick changes by status 303 and checks that it
is still in the room with XEP-0410 self-pings.  An admin (slixmpp) makes the
room and talks with the aioxmpp client.

aioxmpp runs on the same asyncio loop as the slixmpp clients of the test
(XmppSession.loop), so waiting on either drives both.
"""

import asyncio
import time
from datetime import timedelta

import aioxmpp
import aioxmpp.connector
import aioxmpp.misc  # noqa: F401 (Message.xep0203_delay)
import aioxmpp.muc
import aioxmpp.muc.xso
import aioxmpp.ping
import aioxmpp.security_layer

from muc_e2e import barrier, groupchat, room_jid, status_codes  # noqa: F401
from mdtest.stanzas import NS

ROOM = "interop"


class AioClient:
    """One aioxmpp client, logged in on the test's XMPP server, with its
    MUC service summoned.  Signals are recorded in `events` as tuples."""

    def __init__(self, session, port, jid, password):
        self.session = session
        self.events = []
        provider = aioxmpp.security_layer.PasswordSASLProvider(
            lambda _jid, _attempt: asyncio.sleep(0, password))
        # Loopback without TLS, as the test servers are configured.
        security = aioxmpp.security_layer.SecurityLayer(
            ssl_context_factory=aioxmpp.security_layer.default_ssl_context,
            certificate_verifier_factory=aioxmpp.security_layer._NullVerifier,
            tls_required=False, sasl_providers=[provider])
        self.client = aioxmpp.PresenceManagedClient(
            aioxmpp.JID.fromstr(jid), security,
            override_peer=[("127.0.0.1", port, aioxmpp.connector.STARTTLSConnector())],
            loop=session.loop)
        self.client.presence = aioxmpp.PresenceState(True)
        self.muc = self.client.summon(aioxmpp.MUCClient)
        self.run(self._wait_established())

    async def _wait_established(self):
        established = asyncio.Event()
        self.client.on_stream_established.connect(lambda: established.set())
        await asyncio.wait_for(established.wait(), 10)

    def run(self, coro, timeout=10):
        return self.session.run(asyncio.wait_for(coro, timeout), timeout + 1)

    def wait_for(self, predicate, timeout=10, what="event"):
        """Drive the loop until predicate(events) is true; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.events)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("aioxmpp: no %s within %.0f s; events: %r"
                                     % (what, timeout, self.events))
            self.session.pump(0.05)

    def join(self, room, nick, maxstanzas):
        room_obj, joined = self.muc.join(aioxmpp.JID.fromstr(room), nick,
                                         history=aioxmpp.muc.xso.History(
                                             maxstanzas=maxstanzas))
        room_obj.on_message.connect(
            lambda msg, member, source, **kw: self.events.append(
                ("message", member.nick if member else None, msg.body.any(),
                 bool(msg.xep0203_delay))))
        room_obj.on_join.connect(
            lambda member, **kw: self.events.append(("join", member.nick)))
        room_obj.on_leave.connect(
            lambda member, **kw: self.events.append(("leave", member.nick)))
        room_obj.on_nick_changed.connect(
            lambda member, old, new, **kw: self.events.append(("nick", old, new)))
        room_obj.on_topic_changed.connect(
            lambda member, topic, **kw: self.events.append(("topic", topic.any())))
        room_obj.on_muc_stale.connect(lambda **kw: self.events.append(("stale",)))
        room_obj.on_exit.connect(lambda **kw: self.events.append(("exit",)))
        self.run(joined)
        return room_obj

    def say(self, room_obj, text):
        msg = aioxmpp.Message(type_=aioxmpp.MessageType.GROUPCHAT)
        msg.body[None] = text
        self.run(room_obj.send_message(msg))

    def close(self):
        if self.client.running:
            self.client.stop()
            self.session.pump(0.2)


def messages(events, text):
    return [e for e in events if e[0] == "message" and e[2] == text]


def test_aioxmpp_joins_talks_renames_and_leaves(mucdesk, xmpp, xmpp_server, monkeypatch):
    admin = xmpp.login("admin")
    room = room_jid(ROOM)
    # The admin makes the room (instant) and says something before anyone
    # else is there: aioxmpp gets it as history.
    admin.send("<presence to='%s'><x xmlns='%s'/></presence>"
               % (room_jid(ROOM, "boss"), NS["muc"]))
    own = admin.expect("/s:presence[@from='%s']" % room_jid(ROOM, "boss"))
    assert 201 in status_codes(own)
    admin.send("<iq type='set' id='inst' to='%s'><query xmlns='%s#owner'>"
               "<x xmlns='jabber:x:data' type='submit'/></query></iq>" % (room, NS["muc"]))
    assert admin.expect("/s:iq[@id='inst']").get("type") == "result"
    admin.send("<message type='groupchat' to='%s'><subject>Interop</subject></message>" % room)
    admin.expect("/s:message[s:subject='Interop']")
    groupchat(admin, ROOM, "said before you came", ident="early")
    admin.expect("/s:message[@id='early']")

    aio = AioClient(xmpp, xmpp_server.c2s_port, "agent1@localhost", "agent1-pass")
    try:
        room_obj = aio.join(room, "Aio", maxstanzas=10)
        # Joined: the room knows us and the admin, with the right roles.
        assert room_obj.muc_joined
        assert room_obj.me.nick == "Aio"
        assert sorted(m.nick for m in room_obj.members) == ["Aio", "boss"]
        boss = next(m for m in room_obj.members if m.nick == "boss")
        assert boss.affiliation == "owner" and boss.role == "moderator"
        assert room_obj.me.role == "participant"
        # The subject ends the join (after the history).
        aio.wait_for(lambda ev: ("topic", "Interop") in ev, what="subject")
        assert room_obj.muc_subject.any() == "Interop"
        admin.expect("/s:presence[@from='%s']" % room_jid(ROOM, "Aio"))
        # History came once, from the admin.
        early = aio.wait_for(lambda ev: messages(ev, "said before you came"), what="history")
        assert len(early) == 1 and early[0][1] == "boss"
        assert early[0][3], "history without a XEP-0203 delay"

        # Both ways.
        groupchat(admin, ROOM, "hello from slixmpp", ident="s1")
        got = aio.wait_for(lambda ev: messages(ev, "hello from slixmpp"), what="message")
        assert got[0][1] == "boss" and not got[0][3]
        aio.say(room_obj, "hello from aioxmpp")
        heard = admin.expect("/s:message[@type='groupchat'][s:body='hello from aioxmpp']")
        assert heard.get("from") == room_jid(ROOM, "Aio")
        assert heard.xpath("sid:stanza-id/@by", namespaces=NS) == [room]
        # aioxmpp saw its own message reflected, exactly once.
        own_msgs = aio.wait_for(lambda ev: messages(ev, "hello from aioxmpp"), what="reflection")
        barrier(admin)
        aio.session.pump(0.1)
        assert len(messages(aio.events, "hello from aioxmpp")) == 1
        assert own_msgs[0][1] == "Aio"

        # The admin changes nick: aioxmpp follows it (303), no leave + join.
        admin.send("<presence to='%s'/>" % room_jid(ROOM, "chief"))
        admin.expect("/s:presence[@from='%s'][not(@type)]" % room_jid(ROOM, "chief"))
        aio.wait_for(lambda ev: ("nick", "boss", "chief") in ev, what="nick change")
        assert ("leave", "boss") not in aio.events
        assert sorted(m.nick for m in room_obj.members) == ["Aio", "chief"]

        # aioxmpp changes its own nick.
        aio.run(room_obj.set_nick("Aio2"))
        moved = admin.expect("/s:presence[@type='unavailable'][@from='%s']"
                             % room_jid(ROOM, "Aio"))
        assert 303 in status_codes(moved)
        admin.expect("/s:presence[@from='%s'][not(@type)]" % room_jid(ROOM, "Aio2"))
        assert room_obj.me.nick == "Aio2"

        # A subject change by the owner reaches aioxmpp.
        admin.send("<message type='groupchat' to='%s'><subject>Interop, day 2</subject>"
                   "</message>" % room)
        aio.wait_for(lambda ev: ("topic", "Interop, day 2") in ev, what="subject")

        # XEP-0410: aioxmpp's self-pings (made frequent here) find it in
        # the room: nothing goes stale, and it is never thrown out.
        answered = []
        real_ping = aioxmpp.ping.ping

        async def counted_ping(client, peer):
            result = await real_ping(client, peer)   # raises on an error reply
            answered.append(str(peer))
            return result
        monkeypatch.setattr(aioxmpp.ping, "ping", counted_ping)
        room_obj.muc_ping_interval = timedelta(seconds=0.2)
        room_obj.muc_soft_timeout = timedelta(seconds=1)
        room_obj.muc_hard_timeout = timedelta(seconds=2)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            xmpp.pump(0.1)
        assert answered and set(answered) == {room_jid(ROOM, "Aio2")}, answered
        assert ("stale",) not in aio.events and ("exit",) not in aio.events
        assert room_obj.muc_active

        # Leaving: the admin sees aioxmpp go; aioxmpp's room is left.
        aio.run(room_obj.leave())
        gone = admin.expect("/s:presence[@type='unavailable'][@from='%s']"
                            % room_jid(ROOM, "Aio2"))
        assert 110 not in status_codes(gone)
        assert not room_obj.muc_joined
    finally:
        aio.close()
