"""The process: command line, configuration errors (exit 2, one line naming
file, line and key), signals, and a database that is down at start."""

import os
import re
import signal
import subprocess
import time

from mdtest.mucdesk import LINK_UP, binary, run_ctl, write_config


def run(args, timeout=10):
    return subprocess.run([str(binary())] + args, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def good_config():
    return {
        "component": {"jid": "support.localhost", "secret": "s", "port": 5347},
        "database": {"conninfo": "dbname=x"},
        "service": {"admins": "admin@localhost"},
    }


def test_version_and_help():
    r = run(["--version"])
    assert r.returncode == 0
    assert re.fullmatch(r"mucdesk \d+\.\d+\.\d+\n", r.stdout)
    r = run(["--help"])
    assert r.returncode == 0 and "usage: mucdesk -c FILE" in r.stdout
    r = run([])
    assert r.returncode == 2 and "missing -c FILE" in r.stderr
    r = run(["--bogus"])
    assert r.returncode == 2


BAD_CONFIGS = [
    # (mutation of the good config, expected line:key suffix)
    (lambda c: c["component"].pop("secret"), ":1: [component] secret: required key is missing"),
    (lambda c: c["component"].update(port="http"),
     ":4: [component] port: 'http' must be a whole number from 1 to 65535"),
    (lambda c: c["service"].update(admnis="x@y"), ":11: [service] admnis: unknown key"),
    (lambda c: c.update(extra={"a": "b"}), ":13: [extra] a: unknown section [extra]"),
    (lambda c: c["component"].update(host="xmpp.example.org"),
     ":5: [component] host: 'xmpp.example.org' must be an IP address"),
    # The placeholder of the shipped examples (Debian's mucdesk.conf).
    (lambda c: c["component"].update(secret="change this secret"),
     ":3: [component] secret: 'change this secret' is the example's placeholder"),
]


def test_bad_configuration_exits_2_with_one_line(run_dir):
    for mutate, expected in BAD_CONFIGS:
        cfg = good_config()
        mutate(cfg)
        path = write_config(run_dir / "bad.conf", cfg)
        for argv, tool in (([str(binary()), "-c", str(path)], "mucdesk"),
                           (None, "mucdeskctl")):
            if argv:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                rc, err = r.returncode, r.stderr
            else:
                res = run_ctl(["check-config", path])
                rc, err = res.returncode, res.stderr
            assert rc == 2, (tool, expected, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1, (tool, err)
            assert lines[0].startswith(str(path) + expected), (tool, lines[0], expected)


def test_missing_config_file_exits_2(run_dir):
    r = run(["-c", str(run_dir / "nope.conf")])
    assert r.returncode == 2
    assert r.stderr.strip() == "%s:0: cannot open: No such file or directory" % (run_dir / "nope.conf")


def test_check_config_accepts_a_good_file(run_dir):
    path = write_config(run_dir / "good.conf", good_config())
    res = run_ctl(["check-config", path])
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""


def test_database_down_at_start(fake_server, mucdesk_factory):
    """The XMPP side comes up and serves while PostgreSQL is unreachable; the
    retries are logged once per backoff step, not once per attempt."""
    md = mucdesk_factory()
    fake_server.send("<iq type='get' id='p' from='u@localhost/r' to='support.localhost'>"
                     "<ping xmlns='urn:xmpp:ping'/></iq>")
    assert fake_server.expect("/s:iq[@id='p']").get("type") == "result"
    md.wait_for_log("database unreachable", timeout=5)
    # Attempts at 0, ~1, ~3, ~7 s: watch 7.5 s and count the lines.
    time.sleep(7.5)
    lines = [l for l in md.log_lines(module="store") if "database unreachable" in l[3]]
    assert 3 <= len(lines) <= 5, lines
    steps = [int(re.search(r"next try in (\d+) s", l[3]).group(1)) for l in lines]
    assert steps == sorted(steps), steps
    assert md.is_running()


def test_sighup_reopens_the_log_file(fake_server, mucdesk_factory, run_dir):
    log_file = run_dir / "daemon-file.log"
    md = mucdesk_factory({"log": {"file": log_file}}, wait=False)
    assert fake_server.wait_for_handshake().ok
    deadline = time.time() + 10
    while LINK_UP not in (log_file.read_text() if log_file.exists() else ""):
        assert time.time() < deadline, "no link-up line in the log file"
        time.sleep(0.05)
    rotated = run_dir / "daemon-file.log.1"
    os.rename(log_file, rotated)
    md.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while not log_file.exists() or "log file reopened" not in log_file.read_text():
        assert time.time() < deadline, "log file not reopened"
        time.sleep(0.05)
    assert "log file reopened" not in rotated.read_text()


def test_a_second_daemon_on_the_same_state_dir_exits(fake_server, mucdesk_factory, run_dir):
    """Two processes must never share a journal.  Prosody refuses a second
    component connection, but ejabberd takes it and splits the domain's
    traffic between the two; on one host the state_dir lock stops the
    second daemon before it connects."""
    first = mucdesk_factory()
    second = mucdesk_factory(wait=False, name="second")
    assert second.wait_exit(10) == 1
    errors = [l for l in second.log_lines() if l[1] == "error"]
    assert any("%s is in use by another mucdesk process" % (run_dir / "state" / "journal")
               in l[3] for l in errors), second.log_text()
    assert LINK_UP not in second.log_text()
    # The first daemon never noticed.
    fake_server.send("<iq type='get' id='p2' from='u@localhost/r' to='support.localhost'>"
                     "<ping xmlns='urn:xmpp:ping'/></iq>")
    assert fake_server.expect("/s:iq[@id='p2']").get("type") == "result"
    assert first.is_running()
    # Once the first has stopped, the state_dir is free again.
    assert first.stop() == 0
    third = mucdesk_factory(name="third")
    assert third.is_running()


OPEN_CONFIG = "is open to other users"


def test_warns_once_when_the_config_is_open_to_others(fake_server, mucdesk_factory):
    """The config holds the component secret and the database conninfo: a
    file others can read is logged as a warning, once, at start (a SIGHUP
    does not repeat it); 0640 (the Debian package's root:_mucdesk) is fine."""
    md = mucdesk_factory(start=False)
    os.chmod(md.config_path, 0o644)
    md.start()
    assert fake_server.wait_for_handshake().ok
    md.wait_for_log(LINK_UP)
    md.send_signal(signal.SIGHUP)
    md.wait_for_log("log file reopened")
    warnings = [l for l in md.log_lines(level="warn") if OPEN_CONFIG in l[3]]
    assert len(warnings) == 1, md.log_text()
    assert warnings[0][3] == ("%s is open to other users (mode 0644) and holds secrets "
                              "(the component secret, the database conninfo): chmod o= %s"
                              % (md.config_path, md.config_path))
    assert md.stop() == 0

    os.chmod(md.config_path, 0o640)
    md.start()
    assert fake_server.wait_for_handshake().ok
    md.wait_for_log(LINK_UP)
    assert OPEN_CONFIG not in md.log_text(), md.log_text()


def test_the_shipped_example_config_is_valid_but_for_its_placeholder_secret():
    """contrib/mucdesk.conf is the Debian package's /etc/mucdesk/mucdesk.conf:
    every key in it is right, and the only thing refused is the secret an
    admin must set."""
    from mdtest import REPO
    example = REPO / "contrib" / "mucdesk.conf"
    res = run_ctl(["check-config", example])
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(
        r"%s:\d+: \[component\] secret: 'change this secret' is the example's "
        r"placeholder: .*" % re.escape(str(example)), lines[0]), res.stderr
    # With a real secret, nothing else needs changing to pass validation.
    text = example.read_text().replace("secret = change this secret", "secret = s3cret")
    assert text != example.read_text()
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(text)
        f.flush()
        res = run_ctl(["check-config", f.name])
    assert res.returncode == 0 and res.stderr == "", res.stderr
