"""Fixtures for component tests against the scripted fake XMPP server.

    def test_disco(fake_server, mucdesk_factory):
        md = mucdesk_factory()              # started, handshake done, link up
        fake_server.send("<iq type='get' id='d1' from='u@localhost/r' "
                         "to='support.localhost'><query xmlns='...disco#info'/></iq>")
        reply = fake_server.expect("/s:iq[@id='d1']")

fake_server      a FakeServer (secret SECRET, domain DOMAIN) for the test
mucdesk_factory  make(overrides=None, wait=True, ...) -> a started Mucdesk
                 wired to fake_server; at teardown each one still running
                 gets SIGTERM and must exit 0; every one's log must be free
                 of sanitizer reports.
run_dir          the test's own directory (logs saved on failure)

No database is needed here: the config's conninfo points at a socket that
does not exist (mucdesk must keep running and retry).
"""

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "lib"))
sys.path.insert(0, str(_HERE))

from mdtest.mucdesk import LINK_UP, Mucdesk, make_config  # noqa: E402
from mdtest.pytest_support import (make_run_dir, stop_daemons,  # noqa: E402,F401
                                   pytest_runtest_makereport, pytest_sessionfinish)
from fakeserver import FakeServer  # noqa: E402

SECRET = "harness-secret"
DOMAIN = "support.localhost"
LAYER = "harness"


@pytest.fixture
def run_dir(request):
    return make_run_dir(request, LAYER)


@pytest.fixture
def fake_server(run_dir):
    srv = FakeServer(SECRET, domain=DOMAIN, log_path=run_dir / "fakeserver.log")
    yield srv
    srv.close()


def merge_config(base, overrides):
    """overrides: {section: {key: value}}; a value of None removes the key,
    a section of None removes the section."""
    cfg = {s: dict(k) for s, k in base.items()}
    for section, keys in (overrides or {}).items():
        if keys is None:
            cfg.pop(section, None)
            continue
        sec = cfg.setdefault(section, {})
        for k, v in keys.items():
            if v is None:
                sec.pop(k, None)
            else:
                sec[k] = v
    return cfg


@pytest.fixture
def mucdesk_factory(request, fake_server, run_dir):
    """make(overrides=None, *, start=True, wait=True, server=fake_server,
    secret=SECRET, name=None, env=None) -> Mucdesk (env: the daemon's whole
    environment; None: the tests').

    wait=True: wait for the fake server's next handshake (must be ok; this
    consumes it from wait_for_handshake()) and for "component link up" in
    the daemon's log.  wait=False: return right after starting.
    """
    made = []

    def make(overrides=None, *, start=True, wait=True, server=None, secret=SECRET, name=None,
             env=None):
        server = server or fake_server
        cfg = make_config(
            run_dir, server.port, secret,
            conninfo="host=%s port=5432 user=postgres dbname=mucdesk connect_timeout=1"
                     % (run_dir / "nopg"))
        cfg = merge_config(cfg, overrides)
        md = Mucdesk(cfg, run_dir=run_dir, name=name or "mucdesk%s" % (len(made) or ""),
                     env=env)
        made.append(md)
        if start:
            md.start()
            if wait:
                attempt = server.wait_for_handshake()
                assert attempt.ok, "handshake %s; log:\n%s" % (attempt.result, md.log_text())
                md.wait_for_log(LINK_UP)
        return md

    yield make
    stop_daemons(request, made)
