"""Helpers for the MUC's end-to-end tests (real XMPP server, PostgreSQL,
slixmpp).

    from muc_e2e import testdesk, join, ...   # noqa: F401 (fixture)

    def test_x(testdesk, xmpp, db):
        md = testdesk("s1 members_only pm_privileged_only archived ticket=7")
        customer = xmpp.anonymous()
        join(customer, "s1", "Customer")

`testdesk(rooms)` starts tests/muc/mucdesk-testdesk (mucdesk plus the
scripted desk of tests/muc/testdesk.c) against the test's XMPP server and
database; plain `mucdesk` (conftest) is the real daemon.

Every helper waits on events (a stanza, or a ping round trip through
mucdesk), never on time.
"""

import itertools
import os
from pathlib import Path

import pytest

from mdtest import REPO
from mdtest.mucdesk import LINK_UP, Mucdesk, make_config
from mdtest.pytest_support import stop_daemons
from mdtest.stanzas import NS, muc_status_codes

DOMAIN = "support.localhost"
SECRET = "integration-secret"
_ids = itertools.count(1)


def testdesk_binary():
    build = os.environ.get("MUCDESK_BUILD_DIR")
    if build:
        return Path(build) / "tests" / "muc" / "mucdesk-testdesk"
    return REPO / "build" / "tests" / "muc" / "mucdesk-testdesk"


def room_jid(room, nick=None):
    return "%s@%s%s" % (room, DOMAIN, "/" + nick if nick else "")


@pytest.fixture
def testdesk(request, xmpp_server, db, run_dir):
    """make(rooms, overrides=None, wait=True) -> a started testdesk."""
    made = []

    def make(rooms="", overrides=None, wait=True, name=None):
        cfg = make_config(run_dir, xmpp_server.component_port, SECRET, db.conninfo,
                          domain=DOMAIN, admins="admin@localhost")
        for section, keys in (overrides or {}).items():
            cfg.setdefault(section, {}).update(keys)
        rooms_path = run_dir / ("rooms%d.txt" % len(made))
        rooms_path.write_text(rooms + "\n")
        md = Mucdesk(cfg, run_dir=run_dir, binary_path=testdesk_binary(),
                     name=name or "testdesk%s" % (len(made) or ""))
        made.append(md)
        md.run_ctl(["migrate"], check=True)
        mark = xmpp_server.mark()
        md.start(["-d", str(rooms_path)])
        if wait:
            md.wait_for_log(LINK_UP)
            xmpp_server.wait_for_log(xmpp_server.COMPONENT_UP, after=mark)
            md.wait_for_log("persistent room(s) loaded")
        return md

    yield make
    stop_daemons(request, made)


def barrier(client):
    """A ping through mucdesk: everything the client sent before has been
    handled, and what mucdesk wrote before answering has been routed."""
    client.sync(to=DOMAIN)


def join(client, room, nick, history="<history maxstanzas='0'/>", extra=""):
    """Join and wait for the self-presence (or the error); returns it."""
    target = room_jid(room, nick)
    client.send("<presence to='%s'><x xmlns='http://jabber.org/protocol/muc'>%s</x>%s"
                "</presence>" % (target, history, extra))

    def done(el):
        if el.tag != "{jabber:client}presence" or el.get("from", "").split("/")[0] != \
                room_jid(room):
            return False
        return el.get("type") == "error" or 110 in muc_status_codes(el)
    return client.expect(done)


def groupchat(client, room, body, ident=None):
    ident = ident or "gc%d" % next(_ids)
    client.send("<message type='groupchat' to='%s' id='%s'><body>%s</body></message>"
                % (room_jid(room), ident, body))
    return ident


def pm(client, room, nick, body):
    client.send("<message type='chat' to='%s' id='pm%d'><body>%s</body>"
                "<x xmlns='http://jabber.org/protocol/muc#user'/></message>"
                % (room_jid(room, nick), next(_ids), body))


def mam_query(client, room, form="", rsm="", queryid=None):
    """A MAM query on the room; returns (results, fin iq)."""
    queryid = queryid or "q%d" % next(_ids)
    x = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
         "<value>urn:xmpp:mam:2</value></field>%s</x>" % form) if form else ""
    rsm = "<set xmlns='http://jabber.org/protocol/rsm'>%s</set>" % rsm if rsm else ""
    reply = client.send_iq("<iq type='set' to='%s'><query xmlns='urn:xmpp:mam:2' "
                           "queryid='%s'>%s%s</query></iq>" % (room_jid(room), queryid, x, rsm))
    results = client.take_all(
        "/s:message/mam:result[@queryid='%s']" % queryid)
    return results, reply


def result_body(result):
    return result.xpath("string(mam:result/fwd:forwarded/c:message/c:body)", namespaces=NS)


def status_codes(el):
    return muc_status_codes(el)
