"""Self-tests of the mdtest library (no mucdesk needed).

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/lib

They start a real PostgreSQL and a real Prosody, and log real slixmpp
clients in, so a failure here means the test infrastructure, not mucdesk,
is broken.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdtest import junit, procs, stanzas
from mdtest.client import ConnectError, XmppSession
from mdtest.mucdesk import make_config, sanitizer_report, write_config
from mdtest.ports import free_port, port_is_free
from mdtest.postgres import Postgres, PsqlError
from mdtest.prosody import COMPONENT_UP, Prosody, render_template

HERE = Path(__file__).resolve().parent


def _gone(pids):
    return all(procs.pid_gone(p) for p in pids)


# --------------------------------------------------------------- ports ---

def test_free_ports_are_distinct_and_free():
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(port_is_free(p) for p in ports)


# ------------------------------------------------------------ postgres ---

@pytest.fixture(scope="module")
def pg():
    p = Postgres(procs.new_run_dir("pg"))
    p.start()
    yield p
    p.stop()


def test_postgres_queries(pg):
    pg.create_database("selftest")
    try:
        rows = pg.psql("CREATE TABLE t (a text, b int); "
                       "INSERT INTO t VALUES ('x|y', 1), (E'two\\nlines', NULL), ('', 3); "
                       "SELECT a, b FROM t ORDER BY b NULLS LAST", "selftest")
        assert rows == [("x|y", "1"), ("", "3"), ("two\nlines", None)]
        assert pg.psql("SELECT 1 WHERE false", "selftest") == []
        assert pg.value("SELECT count(*) FROM t", "selftest") == "3"
        with pytest.raises(PsqlError, match="does not exist"):
            pg.psql("SELECT nope FROM t", "selftest")
        assert "selftest" in pg.databases()
        assert "dbname=selftest" in pg.conninfo("selftest")
        assert f"host={pg.socket_dir}" in pg.conninfo("selftest")
    finally:
        pg.drop_database("selftest")
    assert "selftest" not in pg.databases()


def test_postgres_has_no_tcp_listener(pg):
    assert "listen_addresses" in " ".join(open("/proc/%d/cmdline" % pg.proc.pid).read().split("\0"))
    assert pg.value("SHOW listen_addresses") == ""


def test_postgres_kill_and_recover(pg):
    pg.create_database("crash")
    pg.psql("CREATE TABLE k (v int); INSERT INTO k VALUES (42)", "crash")
    # A client in the middle of a query while the server dies.
    sleeper = subprocess.Popen([str(pg.bindir / "psql"), "-h", str(pg.socket_dir), "-p",
                                str(pg.port), "-U", "postgres", "-d", "crash", "-c",
                                "SELECT pg_sleep(30)"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    pids = [pg.proc.pid] + procs.children_of(pg.proc.pid)
    pg.kill()
    assert _gone(pids), "postgres processes left after kill()"
    assert sleeper.wait(10) != 0
    pg.start()
    assert pg.value("SELECT v FROM k", "crash") == "42"
    pg.restart()
    assert pg.value("SELECT v FROM k", "crash") == "42"
    pg.drop_database("crash")


def test_postgres_stop_leaves_nothing():
    p = Postgres(procs.new_run_dir("pg2"))
    with p:
        pids = [p.proc.pid] + procs.children_of(p.proc.pid)
        assert len(pids) > 3
    assert _gone(pids)
    assert p.stop() is None           # idempotent


def test_unreachable_base_dir_is_reported():
    # Like pytest's tmp_path (under /tmp/pytest-of-root) or a checkout under
    # /root: a 0700 directory that the postgres user cannot enter.
    import shutil
    import tempfile
    private = tempfile.mkdtemp(prefix="mdt-private-")
    try:
        os.chmod(private, 0o700)
        with pytest.raises(PermissionError, match="cannot reach"):
            Postgres(Path(private) / "pg").start()
    finally:
        shutil.rmtree(private)


# ------------------------------------------------------------- prosody ---

ACCOUNTS = {"agent1@localhost": "pw-agent1", "agent2@localhost": "pw-agent2"}


@pytest.fixture(scope="module")
def prosody():
    p = Prosody(procs.new_run_dir("prosody"), "support.localhost", "selftest-secret")
    for jid, pw in ACCOUNTS.items():
        user, host = jid.split("@")
        p.register(user, host, pw)
    p.start()
    yield p
    p.stop()


def test_template_renders_completely(prosody):
    text = prosody.config_path.read_text()
    assert "@" not in text.replace("@localhost", "").replace("admin@", "")
    assert 'Component "support.localhost"' in text
    assert 'component_secret = "selftest-secret"' in text
    assert "c2s_ports = { %d }" % prosody.c2s_port in text
    with pytest.raises(ValueError, match="without a value"):
        render_template("x = @NOPE@", {})


def test_prosody_ports_and_restart(prosody):
    for port in (prosody.c2s_port, prosody.component_port, prosody.http_port):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    pid = prosody.proc.pid
    prosody.restart()
    assert prosody.proc.pid != pid and procs.pid_gone(pid)
    socket.create_connection(("127.0.0.1", prosody.c2s_port), timeout=2).close()


def test_prosody_component_log_line(prosody):
    """A minimal component handshake makes Prosody log COMPONENT_UP."""
    import hashlib
    import re
    mark = prosody.mark()
    s = socket.create_connection(("127.0.0.1", prosody.component_port), timeout=5)
    s.sendall(b"<stream:stream xmlns='jabber:component:accept' "
              b"xmlns:stream='http://etherx.jabber.org/streams' to='support.localhost'>")
    data = b""
    while b"id=" not in data or b">" not in data[data.find(b"id="):]:
        data += s.recv(4096)
    sid = re.search(rb"id=['\"]([^'\"]+)['\"]", data).group(1).decode()
    s.sendall(("<handshake>%s</handshake>" % hashlib.sha1((sid + "selftest-secret").encode())
               .hexdigest()).encode())
    prosody.wait_for_log(COMPONENT_UP, timeout=5, after=mark)
    s.close()
    with pytest.raises(TimeoutError, match="did not appear"):
        prosody.wait_for_log("no such line", timeout=0.2)


# -------------------------------------------------------------- client ---

def test_clients_talk_in_order(prosody):
    with XmppSession(prosody.c2s_port, timeout=5, accounts=ACCOUNTS) as xs:
        a = xs.login("agent1")
        b = xs.login("agent2@localhost", resource="desk")
        c = xs.anonymous("anon.localhost")
        assert b.jid == "agent2@localhost/desk"
        assert c.domain == "anon.localhost"
        for i in range(5):
            a.send("<message to=%s type='chat'><body>m%d</body></message>" % (stanzas.attr(b.jid), i))
        c.send("<message to=%s type='chat'><body>from anon</body></message>" % stanzas.attr(b.jid))
        bodies = [stanzas.text(b.expect("/s:message[@type='chat' and starts-with(s:body, 'm')]"),
                               "s:body") for _ in range(5)]
        assert bodies == ["m0", "m1", "m2", "m3", "m4"]
        m = b.expect("/s:message[s:body='from anon']")
        assert m.get("from") == c.jid
        reply = a.send_iq("<iq type='get' to='localhost'><query xmlns='jabber:iq:version'/></iq>")
        assert reply.get("type") == "result"
        assert stanzas.text(reply, "/s:iq/ver:query/ver:name") == "Prosody"


def test_register_while_running(prosody):
    prosody.register("late", "localhost", "pw1")
    prosody.register("late", "localhost", "pw2")        # resets the password
    with XmppSession(prosody.c2s_port, timeout=5) as xs:
        with pytest.raises(ConnectError):
            xs.login("late@localhost", "pw1")
        assert xs.login("late@localhost", "pw2").bare == "late@localhost"


def test_client_errors_are_clear(prosody):
    with XmppSession(prosody.c2s_port, timeout=5, accounts=ACCOUNTS) as xs:
        a = xs.login("agent1")
        reply = a.send_iq("<iq type='get' to='support.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        assert stanzas.error_condition(reply) == ("wait", "remote-server-timeout",
                                                  "Component unavailable")
        with pytest.raises(AssertionError, match="failed"):
            a.send_iq("<iq type='get' to='support.localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
                      check=True)
        with pytest.raises(AssertionError, match=r"no stanza matching XPath /s:message.*pending"):
            a.expect("/s:message", timeout=0.3)
        a.expect_none("/s:message", 0.2)
        with pytest.raises(ValueError, match="not well-formed"):
            a.send("<message><body>x</message>")
        with pytest.raises(ConnectError, match="authentication failed"):
            xs.login("agent1@localhost", "wrong password")
        with pytest.raises(KeyError):
            xs.login("nobody")
        a.disconnect()
        with pytest.raises(AssertionError, match="not connected"):
            a.send("<presence/>")


def test_client_connection_refused():
    port = free_port()
    with XmppSession(port, timeout=3) as xs:
        with pytest.raises(ConnectError, match="failed"):
            xs.anonymous()


def test_session_close_leaves_no_loop(prosody):
    xs = XmppSession(prosody.c2s_port, timeout=5, accounts=ACCOUNTS)
    xs.login("agent1")
    xs.close()
    xs.close()
    assert xs.loop.is_closed()


# ---------------------------------------------------- stanzas helpers ---

def test_stanza_helpers():
    el = stanzas.parse("<iq type='result' id='1'><command xmlns='http://jabber.org/protocol/commands'>"
                       "<x xmlns='jabber:x:data' type='result'>"
                       "<field var='room' type='jid-single'><value>r@d</value></field>"
                       "<field var='skills' type='list-multi'><value>a</value><value>b</value></field>"
                       "</x></command></iq>")
    assert stanzas.form_values(el) == {"room": "r@d", "skills": ["a", "b"]}
    assert stanzas.compile_match("/s:iq/cmd:command")(el)
    assert not stanzas.compile_match("/ca:iq")(el)
    assert stanzas.compile_match("/ca:iq", "jabber:component:accept")(
        stanzas.parse("<iq/>", "jabber:component:accept"))
    sub = stanzas.parse(stanzas.submit_form({"name": "A & B", "l": ["1", "2"]}, "urn:x"))
    assert stanzas.form_values(sub) == {"FORM_TYPE": "urn:x", "name": "A & B", "l": ["1", "2"]}
    pres = stanzas.parse("<presence><x xmlns='http://jabber.org/protocol/muc#user'>"
                         "<status code='110'/><status code='201'/></x></presence>")
    assert stanzas.muc_status_codes(pres) == {110, 201}


# -------------------------------------------------------------- mucdesk ---

def test_config_writer(tmp_path):
    cfg = make_config(tmp_path, 5347, "s", "host=/x dbname=y",
                      service={"admins": ["a@localhost", "b@localhost"]},
                      log={"level": None})
    text = write_config(tmp_path / "m.conf", cfg).read_text()
    assert "[component]\njid = support.localhost\nsecret = s\nhost = 127.0.0.1\nport = 5347\n" in text
    assert "admins = a@localhost, b@localhost" in text
    assert "level" not in text


def test_sanitizer_report_detection():
    assert sanitizer_report("2026 info main: ok\n") is None
    log = ("2026 info main: ok\n==123==ERROR: LeakSanitizer: detected memory leaks\n"
           "Direct leak of 8 byte(s)\n")
    assert sanitizer_report(log).startswith("==123==ERROR: LeakSanitizer")
    assert sanitizer_report("x.c:3:5: runtime error: signed integer overflow\n")


# ---------------------------------------------------------------- junit ---

CMOCKA_TWO_GROUPS = """<?xml version="1.0" encoding="UTF-8" ?>
<testsuites>
  <testsuite name="grpA" time="0.000" tests="3" failures="1" errors="0" skipped="1" >
    <testcase name="ok" time="0.000" >
    </testcase>
    <testcase name="bad" time="0.000" >
      <failure><![CDATA[0x1 != 0x2
t.c:7: error: Failure!]]></failure>
    </testcase>
    <testcase name="sk" time="0.000" >
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>
<testsuites>
  <testsuite name="grpB" time="0.000" tests="1" failures="0" errors="0" skipped="0" >
    <testcase name="ok" time="0.000" >
    </testcase>
  </testsuite>
</testsuites>
"""


def test_junit_reads_cmocka_pytest_and_broken_files(tmp_path):
    (tmp_path / "unit-a.xml").write_text(CMOCKA_TWO_GROUPS)
    (tmp_path / "unit-crashed.xml").write_text(CMOCKA_TWO_GROUPS[:300])
    (tmp_path / "harness.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="harness">'
        '<testcase classname="t" name="a"/><testcase classname="t" name="b">'
        '<error message="failed on teardown">x</error></testcase>'
        '<testcase classname="t" name="c"><skipped message="why"/></testcase>'
        '</testsuite></testsuites>')
    cases = junit.load_dir(tmp_path)
    c = junit.counts(cases)
    assert c["unit"]["passed"] >= 2 and c["unit"]["failed"] >= 2 and c["unit"]["skipped"] >= 1
    assert c["harness"] == {"passed": 1, "failed": 1, "skipped": 1}
    text = junit.report(cases)
    last = text.splitlines()[-1]
    n_pass = sum(1 for x in cases if x.status == "passed")
    n_fail = sum(1 for x in cases if x.status == "failed")
    assert last == "%d passed, %d failed" % (n_pass, n_fail)
    assert "not well-formed" in text and "grpA::bad" in text and "t::b" in text


def test_junit_node_todo_is_skipped(tmp_path):
    # node --test's junit reporter: todo tests, failing or passing.
    (tmp_path / "browser.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites>'
        '<testcase name="a" classname="browser"/>'
        '<testcase name="b" classname="browser" failure="no">'
        '<skipped type="todo" message="known: issue 9"/><failure message="no">x</failure>'
        '</testcase>'
        '<testcase name="c" classname="browser"><skipped type="todo" message="known"/></testcase>'
        '<testcase name="d" classname="browser" failure="no"><failure message="no"/></testcase>'
        '</testsuites>')
    cases = {c.name: c for c in junit.load_dir(tmp_path)}
    assert [cases[n].status for n in "abcd"] == ["passed", "skipped", "skipped", "failed"]
    assert cases["b"].message == "known: issue 9"


def test_summarize_cli(tmp_path):
    cli = [sys.executable, str(HERE / "summarize.py"), str(tmp_path)]
    r = subprocess.run(cli, capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout.splitlines()[-1] == "0 passed, 0 failed"
    (tmp_path / "harness.xml").write_text(
        "<testsuites><testsuite name='h'><testcase classname='t' name='a'/>"
        "<testcase classname='t' name='s'><skipped/></testcase></testsuite></testsuites>")
    r = subprocess.run(cli, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines()[-1] == "1 passed, 0 failed"
    assert "1 skipped" in r.stdout
