"""Helpers for the MUC's component tests against the fake XMPP server.

    from muc_support import muc, PRES, MSG   # noqa: F401  (muc is a fixture)

    def test_something(muc):
        m = muc.start(rooms="t1 hidden members_only pm_privileged_only")
        out = m.join("customer@anon.localhost/c", "t1", "Customer")
        ...

The daemon under test is tests/muc/mucdesk-testdesk: mucdesk plus a scripted
stand-in for the desk (see tests/muc/testdesk.c for who is staff, who joins
invisibly, and the /commands).  Rooms listed in `rooms` exist at start-up;
plain rooms are created by admin@localhost with create_room().

Every exchange ends with a barrier: an iq ping to the service, answered only
after mucdesk has handled (and written the answers to) everything sent
before it, so what a test reads is complete without any sleep.
"""

import itertools
import os
import signal
from pathlib import Path

import pytest

from mdtest import REPO, procs
from mdtest.mucdesk import LINK_UP, Mucdesk, make_config
from mdtest.pytest_support import mark_failed
from mdtest.stanzas import NS, error_condition, muc_status_codes  # noqa: F401

DOMAIN = "support.localhost"
SECRET = "harness-secret"
PRES = "{jabber:component:accept}presence"
MSG = "{jabber:component:accept}message"
IQ = "{jabber:component:accept}iq"

_ids = itertools.count(1)


def testdesk_binary():
    build = os.environ.get("MUCDESK_BUILD_DIR")
    if build:
        return Path(build) / "tests" / "muc" / "mucdesk-testdesk"
    return REPO / "build" / "tests" / "muc" / "mucdesk-testdesk"


def room_jid(room, nick=None):
    return "%s@%s%s" % (room, DOMAIN, "/" + nick if nick else "")


class MucHarness:
    """One mucdesk-testdesk wired to the test's fake server."""

    def __init__(self, srv, run_dir):
        self.srv = srv
        self.run_dir = Path(run_dir)
        self.md = None

    # ------------------------------------------------------------ start ---

    def start(self, rooms="", overrides=None, wait_open=False):
        """Start the daemon with `rooms` (lines of tests/muc/testdesk.c's
        format).  wait_open: wait until plain rooms can be created (without
        a database that takes the MUC's 1 s of patience).

        There is no database here, so plain rooms are not archived (the
        archive would hold every message until its journal is synced, and
        wait for the database when stopping); tests/integration covers
        archived rooms."""
        cfg = make_config(
            self.run_dir, self.srv.port, SECRET,
            conninfo="host=%s port=5432 user=postgres dbname=mucdesk connect_timeout=1"
                     % (self.run_dir / "nopg"))
        cfg.setdefault("muc", {})["archive_by_default"] = 0
        for section, keys in (overrides or {}).items():
            cfg.setdefault(section, {}).update(keys)
        rooms_path = self.run_dir / "rooms.txt"
        rooms_path.write_text(rooms + "\n")
        self.md = Mucdesk(cfg, run_dir=self.run_dir, binary_path=testdesk_binary(),
                          name="testdesk")
        self.md.start(["-d", str(rooms_path)])
        attempt = self.srv.wait_for_handshake()
        assert attempt.ok, "handshake %s; log:\n%s" % (attempt.result, self.md.log_text())
        self.md.wait_for_log(LINK_UP)
        if wait_open:
            self.md.wait_for_log("rooms open now")
        return self

    # ------------------------------------------------------------- talk ---

    def send(self, xml):
        self.srv.send(xml)

    def barrier(self):
        """Everything sent before has been handled and answered."""
        ident = "barrier%d" % next(_ids)
        self.srv.send("<iq type='get' id='%s' from='barrier@localhost/b' to='%s'>"
                      "<ping xmlns='urn:xmpp:ping'/></iq>" % (ident, DOMAIN))
        self.srv.expect("/s:iq[@id='%s']" % ident)

    def exchange(self, xml):
        """Send, wait for the barrier, and return every stanza mucdesk
        wrote meanwhile (in order)."""
        self.srv.send(xml)
        self.barrier()
        return self.srv.take_all()

    def join(self, jid, room, nick, history=None, extra="", password=None):
        """A MUC join; returns all stanzas written in reaction."""
        x = ""
        if history is not None:
            x += "<history %s/>" % history
        if password is not None:
            x += "<password>%s</password>" % password
        return self.exchange(
            "<presence from='%s' to='%s' id='j%d'><x xmlns='http://jabber.org/protocol/muc'>"
            "%s</x>%s</presence>" % (jid, room_jid(room, nick), next(_ids), x, extra))

    def leave(self, jid, room, nick, status=None):
        st = "<status>%s</status>" % status if status else ""
        return self.exchange("<presence type='unavailable' from='%s' to='%s'>%s</presence>"
                             % (jid, room_jid(room, nick), st))

    def groupchat(self, jid, room, body, ident=None, extra=""):
        ident = ident or "g%d" % next(_ids)
        return self.exchange("<message type='groupchat' id='%s' from='%s' to='%s'>"
                             "<body>%s</body>%s</message>"
                             % (ident, jid, room_jid(room), body, extra))

    def pm(self, jid, room, nick, body, type_="chat"):
        return self.exchange("<message type='%s' id='pm%d' from='%s' to='%s'>"
                             "<body>%s</body></message>"
                             % (type_, next(_ids), jid, room_jid(room, nick), body))

    def iq(self, jid, to, payload, type_="get"):
        """Send an iq and return (reply, everything else written)."""
        ident = "iq%d" % next(_ids)
        out = self.exchange("<iq type='%s' id='%s' from='%s' to='%s'>%s</iq>"
                            % (type_, ident, jid, to, payload))
        reply = [s for s in out if s.tag == IQ and s.get("id") == ident
                 and s.get("to") == jid]
        rest = [s for s in out if not (s.tag == IQ and s.get("id") == ident
                                       and s.get("to") == jid)]
        return (reply[0] if reply else None), rest

    def create_room(self, room, owner="admin@localhost/a", nick="owner", config=None):
        """An admin creates a plain room: instant, or reserved with the
        given {var: value} configuration."""
        out = self.join(owner, room, nick)
        assert 201 in codes_of(self_presence(out, owner)), out
        form = "<x xmlns='jabber:x:data' type='submit'/>"
        if config:
            fields = "".join("<field var='%s'><value>%s</value></field>" % (k, v)
                             for k, v in config.items())
            form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
                    "<value>http://jabber.org/protocol/muc#roomconfig</value></field>%s</x>"
                    % fields)
        reply, _ = self.iq(owner, room_jid(room),
                           "<query xmlns='http://jabber.org/protocol/muc#owner'>%s</query>"
                           % form, "set")
        assert reply.get("type") == "result", reply
        return out

    # ------------------------------------------------------------ stop ---

    def stop(self):
        if self.md and self.md.is_running():
            return self.md.stop(signal.SIGTERM)
        return None


# ------------------------------------------------------ reading stanzas ---

def to(stanzas, jid):
    """The stanzas addressed to jid."""
    return [s for s in stanzas if s.get("to") == jid]


def frm(stanzas, jid):
    return [s for s in stanzas if s.get("from") == jid]


def presences(stanzas, to_jid=None):
    return [s for s in stanzas if s.tag == PRES and (to_jid is None or s.get("to") == to_jid)]


def messages(stanzas, to_jid=None):
    return [s for s in stanzas if s.tag == MSG and (to_jid is None or s.get("to") == to_jid)]


def codes_of(stanza):
    return muc_status_codes(stanza) if stanza is not None else set()


def self_presence(stanzas, jid):
    """The presence to jid carrying status 110 (the last one)."""
    found = [s for s in presences(stanzas, jid) if 110 in codes_of(s)]
    return found[-1] if found else None


def item(stanza):
    """The muc#user <item/> of a presence, or None."""
    r = stanza.xpath("mucu:x/mucu:item", namespaces=NS)
    return r[0] if r else None


def body(stanza):
    r = stanza.xpath("string(*[local-name()='body'])")
    return r


def error(stanza):
    """(type, condition, text) of an error stanza."""
    return error_condition(stanza)


def text_of(stanzas):
    """Everything as one string (to look for leaks)."""
    from mdtest.stanzas import to_str
    return "\n".join(to_str(s) for s in stanzas)


# ---------------------------------------------------------------- fixture ---

@pytest.fixture
def muc(request, fake_server, run_dir):
    """A MucHarness; at teardown the daemon gets SIGTERM and must exit 0
    with no sanitizer report."""
    h = MucHarness(fake_server, run_dir)
    yield h
    problems = []
    if h.md is not None:
        try:
            rc = h.stop()
            if rc not in (None, 0):
                problems.append("testdesk exited with %s; log tail:\n%s"
                                % (rc, procs.tail(h.md.log_text())))
        except AssertionError as e:
            problems.append(str(e))
        try:
            h.md.check_sanitizers()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        mark_failed(request)
        pytest.fail("\n\n".join(problems), pytrace=False)
