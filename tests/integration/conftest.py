"""Fixtures for end-to-end tests: a real XMPP server (Prosody, or ejabberd
when MUCDESK_TEST_XMPP_SERVER=ejabberd: tests/run's `ejabberd` layer), real
PostgreSQL, real clients (slixmpp), and mucdesk between them.

    def test_ping(mucdesk, xmpp):
        agent = xmpp.login("agent1")                    # password from ACCOUNTS
        reply = agent.send_iq("<iq type='get' to='support.localhost'>"
                              "<ping xmlns='urn:xmpp:ping'/></iq>")
        assert reply.get("type") == "result"

postgres         session: one private cluster for the whole run
db               function: a fresh database (unique name) on it; .name,
                 .conninfo, .psql(sql), .value(sql), .script(sql)
xmpp_server      function: a private Prosody or ejabberd (free ports) with
                 ACCOUNTS; .restart(), .mark(), .wait_for_log(),
                 .COMPONENT_UP (the same interface for both)
accounts         {bare JID: password} of ACCOUNTS
mucdesk_factory  make(overrides=None, *, migrate=True, wait=True) -> Mucdesk
                 wired to xmpp_server and db, started
mucdesk          mucdesk_factory() : link up, the server saw the handshake
xmpp             an XmppSession on xmpp_server's c2s port (knows ACCOUNTS);
                 every client is disconnected at teardown
run_dir          the test's own directory (logs saved on failure)

Teardown stops everything, even after a failure: each mucdesk still
running gets SIGTERM and must exit 0 with no sanitizer report (else the
test fails at teardown), then the XMPP server stops, then the database is
dropped.
"""

import itertools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from mdtest import procs  # noqa: E402
from mdtest.client import XmppSession  # noqa: E402
from mdtest.mucdesk import LINK_UP, Mucdesk, make_config  # noqa: E402
from mdtest.postgres import Postgres  # noqa: E402
from mdtest.ejabberd import Ejabberd  # noqa: E402
from mdtest.prosody import Prosody  # noqa: E402
from mdtest.pytest_support import (make_run_dir, save_logs, stop_daemons,  # noqa: E402,F401
                                   pytest_runtest_makereport, pytest_sessionfinish)

#: Which XMPP server the end-to-end tests run against.
XMPP_SERVERS = {"prosody": Prosody, "ejabberd": Ejabberd}
XMPP_SERVER = os.environ.get("MUCDESK_TEST_XMPP_SERVER", "prosody")
if XMPP_SERVER not in XMPP_SERVERS:
    raise SystemExit("MUCDESK_TEST_XMPP_SERVER: %r is none of %s"
                     % (XMPP_SERVER, ", ".join(XMPP_SERVERS)))
LAYER = "integration" if XMPP_SERVER == "prosody" else XMPP_SERVER
DOMAIN = "support.localhost"
SECRET = "integration-secret"

#: The accounts every test's Prosody has (host localhost).
ACCOUNTS = {
    "admin@localhost": "admin-pass",
    "agent1@localhost": "agent1-pass",
    "agent2@localhost": "agent2-pass",
    "super1@localhost": "super1-pass",
}

_db_numbers = itertools.count(1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "prosody_only: long, and what it checks does not depend on the XMPP "
        "server: the ejabberd layer leaves it out (tests/run: -m 'not prosody_only')")


@pytest.fixture
def run_dir(request):
    return make_run_dir(request, LAYER)


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres(procs.new_run_dir("postgres"))
    pg.start()
    yield pg
    pg.stop()
    # The cluster's log covers every test; keep it whatever happened.
    save_logs(pg.base_dir, LAYER, "postgres")


class Database:
    """A database of the session's cluster, for one test."""

    def __init__(self, postgres, name):
        self.postgres = postgres
        self.name = name
        self.conninfo = postgres.conninfo(name)

    def psql(self, sql):
        return self.postgres.psql(sql, self.name)

    def value(self, sql):
        return self.postgres.value(sql, self.name)

    def script(self, sql):
        return self.postgres.script(sql, self.name)

    def __repr__(self):
        return "<Database %s>" % self.name


@pytest.fixture
def db(postgres, request):
    # Unique per test and readable in the server log; identifiers <= 63 bytes.
    slug = "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    name = "t%d_%s" % (next(_db_numbers), slug)
    postgres.create_database(name)
    yield Database(postgres, name)
    postgres.drop_database(name)


@pytest.fixture
def accounts():
    return dict(ACCOUNTS)


@pytest.fixture
def xmpp_server(run_dir):
    server_class = XMPP_SERVERS[XMPP_SERVER]
    server = server_class.with_accounts(run_dir / server_class.name, DOMAIN, SECRET,
                                        ACCOUNTS)
    yield server
    server.close()


@pytest.fixture
def mucdesk_factory(request, xmpp_server, db, run_dir):
    """make(overrides=None, *, migrate=True, wait=True, name=None, env=None)
    -> Mucdesk (env: the daemon's whole environment; None: the tests').

    overrides: {section: {key: value}} on top of the default config (a
    value of None removes the key).  migrate: run `mucdeskctl migrate`
    first.  wait: wait for "component link up" in mucdesk's log and for
    Prosody's "External component successfully authenticated".
    """
    made = []

    def make(overrides=None, *, migrate=True, wait=True, name=None, env=None):
        cfg = make_config(run_dir, xmpp_server.component_port, SECRET, db.conninfo,
                          domain=DOMAIN, admins="admin@localhost")
        for section, keys in (overrides or {}).items():
            sec = cfg.setdefault(section, {})
            for k, v in keys.items():
                if v is None:
                    sec.pop(k, None)
                else:
                    sec[k] = v
        md = Mucdesk(cfg, run_dir=run_dir, name=name or "mucdesk%s" % (len(made) or ""),
                     env=env)
        made.append(md)
        if migrate:
            md.run_ctl(["migrate"], check=True)
        mark = xmpp_server.mark()
        md.start()
        if wait:
            md.wait_for_log(LINK_UP)
            xmpp_server.wait_for_log(xmpp_server.COMPONENT_UP, after=mark)
        return md

    yield make
    stop_daemons(request, made)


@pytest.fixture
def mucdesk(mucdesk_factory):
    return mucdesk_factory()


@pytest.fixture
def xmpp(xmpp_server):
    session = XmppSession(xmpp_server.c2s_port, accounts=ACCOUNTS)
    yield session
    session.close()
