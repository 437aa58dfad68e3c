"""The Debian package: built from this checkout, checked by lintian, then
installed, started, reinstalled, upgraded and purged in a throwaway Debian
12 root (see conftest.py and debroot.py).  The tests run in order on one
root; each one starts where the previous one left it.

The daemon runs inside the root the way the installed systemd unit says
(its User=, Group= and ExecStart=, through setpriv), against a private
Prosody and PostgreSQL outside it: there is no systemd in a chroot, so the
unit's sandboxing options are not exercised here.
"""

import glob
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest
from lxml import etree

import debroot
from mdtest import procs
from mdtest.client import XmppSession
from mdtest.mucdesk import LINK_UP
from mdtest.pytest_support import make_run_dir, results_dir

from conftest import ADMIN, DOMAIN, SECRET

TOP = Path(__file__).resolve().parents[2]

CONF = "/etc/mucdesk/mucdesk.conf"
STATE = "/var/lib/mucdesk"
UNIT = "/lib/systemd/system/mucdesk.service"
USER = "_mucdesk"

#: What a purge may change in the root besides removing the package: dpkg's
#: and apt's own records and logs, the account tools' backups and locks
#: (adduser's /run/adduser is on a tmpfs on a real system).
NOT_COMPARED = (r"^(proc|dev|tmp|run/postgresql|var/lib/dpkg|var/lib/apt|var/log"
                r"|var/cache/apt|var/cache/debconf)(/|$)"
                r"|^etc/(passwd|group|shadow|gshadow)-$|^etc/\.pwd\.lock$|^run/adduser$")

#: Shared between the ordered tests of this module.
state = {}


# ------------------------------------------------------------- helpers ---

def unit_service(root):
    """The [Service] keys of the installed unit ({key: last value})."""
    keys, section = {}, None
    for line in root.inside(UNIT).read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys[k.strip()] = v.strip()
    return keys


def as_unit_says(root, argv=None):
    """argv (default: the unit's ExecStart) run as the unit's User= and
    Group= with a clean environment, as systemd would."""
    svc = unit_service(root)
    argv = argv if argv is not None else shlex.split(svc["ExecStart"])
    return ["setpriv", "--reuid=" + svc["User"], "--regid=" + svc["Group"],
            "--init-groups", "--reset-env", "--"] + list(argv)


def stat(root, path):
    """'owner:group mode' of path inside the root."""
    return root.run(["stat", "-c", "%U:%G %a", path]).stdout.strip()


def status(root):
    r = root.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}${Version}", "mucdesk"],
                 check=False)
    return r.stdout.strip() if r.returncode == 0 else "not known to dpkg"


def install(root, deb):
    # How an admin installs a downloaded .deb; the base root already has
    # its dependencies, so apt needs no network.
    return root.run(["apt-get", "install", "-y", "--no-install-recommends",
                     "/tmp/" + deb.name])


def account(root):
    r = root.run(["getent", "passwd", USER], check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def edit_config(root, values):
    """Change `key = value` lines of the conffile in place, as an admin with
    an editor would (owner and mode stay)."""
    path = root.inside(CONF)
    text = path.read_text()
    for key, value in values.items():
        text, n = re.subn(r"^%s = .*$" % re.escape(key), "%s = %s" % (key, value), text,
                          count=1, flags=re.M)
        assert n == 1, "no '%s = ' line in the packaged config" % key
    with open(path, "r+") as f:
        f.write(text)
        f.truncate()


def start_daemon(root, run_dir, name):
    log = run_dir / ("%s.log" % name)
    proc = procs.spawn(root.command(as_unit_says(root)), log_path=log, description=name)
    return proc, log


def stop_daemon(proc):
    rc, in_time = procs.stop(proc, signal.SIGTERM, 20)
    procs.forget(proc)
    assert in_time, "the installed mucdesk did not stop within 20 s of SIGTERM"
    return rc


def link_up(root, prosody, run_dir, name):
    """Start the installed daemon; wait for the link and the database."""
    mark = prosody.mark()
    proc, log = start_daemon(root, run_dir, name)
    try:
        procs.wait_for_text(log, LINK_UP, 20, alive=lambda: proc.poll() is None,
                            what="installed mucdesk's log")
        prosody.wait_for_log(prosody.COMPONENT_UP, timeout=10, after=mark)
        procs.wait_for_text(log, "open ticket(s) restored", 20,
                            alive=lambda: proc.poll() is None, what="installed mucdesk's log")
    except BaseException:
        stop_daemon(proc)
        raise
    return proc, log


@pytest.fixture
def run_dir(request):
    return make_run_dir(request, "package")


# --------------------------------------------------------------- tests ---

def test_lintian_reports_no_errors_or_warnings(packages):
    # Judged here, not by --fail-on: with --show-overrides (kept for the
    # record in the results) lintian counts overridden tags as failures.
    r = subprocess.run(["lintian", "-I", "--show-overrides", "--fail-on", "none",
                        str(packages["changes"])], capture_output=True, text=True, timeout=600)
    out = results_dir() / "package-lintian.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(r.stdout + r.stderr)
    bad = [l for l in r.stdout.splitlines() if l.startswith(("E:", "W:"))]
    assert r.returncode == 0 and not bad, "lintian:\n" + r.stdout + r.stderr


def test_the_unit_is_hardened_as_the_admin_guide_says():
    """systemd-analyze security (offline: the unit file as shipped) rates
    the unit at most 2.0; the admin guide states the figure (1.2, "OK")."""
    unit = TOP / "contrib" / "systemd" / "mucdesk.service"
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                       capture_output=True, text=True, timeout=120)
    out = results_dir() / "package-systemd-security.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(r.stdout + r.stderr)
    m = re.search(r"Overall exposure level for mucdesk\.service: (\d+\.\d+) (\w+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, m.group(0)
    guide = (TOP / "doc" / "admin-guide.md").read_text()
    assert "rates it %s (\"%s\"" % (m.group(1), m.group(2)) in guide, m.group(0)


def test_installs_in_a_fresh_debian_12(root, packages):
    state["before"] = root_snapshot(root)
    assert status(root) == "not known to dpkg"
    install(root, packages["v1"])
    assert status(root) == "ii " + packages["version1"]

    # The system user, its group and its home: the state directory.
    pw = account(root).split(":")
    assert pw[0] == USER and int(pw[2]) < 1000, pw
    assert pw[5] == STATE and pw[6] == "/usr/sbin/nologin", pw
    assert root.run(["getent", "group", USER], check=False).returncode == 0
    # The config: a conffile only root writes and only the daemon reads.
    conffiles = root.run(["dpkg-query", "-W", "-f=${Conffiles}", "mucdesk"]).stdout
    assert CONF in conffiles, conffiles
    assert stat(root, CONF) == "root:%s 640" % USER
    assert stat(root, STATE) == "%s:%s 750" % (USER, USER)

    # The unit runs the installed daemon as that user, its state where the
    # config (and the daemon's default) puts it.
    svc = unit_service(root)
    assert svc["User"] == USER and svc["Group"] == USER, svc
    exe = shlex.split(svc["ExecStart"])
    assert exe[:3] == ["/usr/sbin/mucdesk", "-c", CONF], exe
    assert svc.get("StateDirectory") == "mucdesk", svc
    # Readiness and the watchdog come from the daemon (sd_notify, built in).
    assert svc.get("Type") == "notify" and svc.get("NotifyAccess") == "main", svc
    assert svc.get("WatchdogSec"), svc
    assert re.search(r"^state_dir = %s$" % STATE, root.inside(CONF).read_text(), re.M)

    # What else it ships.
    upstream = packages["version1"].rsplit("-", 1)[0]
    assert root.run(["mucdesk", "--version"]).stdout.strip() == "mucdesk " + upstream
    r = root.run(["mucdeskctl", "--help"], check=False)
    assert "usage: mucdeskctl" in r.stdout + r.stderr, r
    listing = root.run(["dpkg", "-L", "mucdesk"]).stdout.split()
    for plugin in ("manual", "round-robin", "least-busy", "skills", "ratings"):
        assert any(p.endswith("/mucdesk/%s.so" % plugin) for p in listing), plugin
    for page in ("man8/mucdesk.8.gz", "man8/mucdeskctl.8.gz", "man5/mucdesk.conf.5.gz"):
        assert "/usr/share/man/" + page in listing, page
    for f in ("examples/component.cfg.lua", "examples/component.yml", "examples/mucdesk.conf",
              "examples/mucdesk-webhook-bridge", "webhooks.md"):
        # dh_compress gzips documents over 4 kB.
        f = "/usr/share/doc/mucdesk/" + f
        assert f in listing or f + ".gz" in listing, f
    sql = sorted(os.path.basename(p) for p in glob.glob(str(TOP / "sql" / "*.sql")))
    assert sql and all("/usr/share/mucdesk/sql/" + f in listing for f in sql), sql

    # Untouched, the config is refused: the placeholder secret.
    r = root.run(as_unit_says(root), check=False, timeout=30)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert re.fullmatch(r"%s:\d+: \[component\] secret: 'change this secret' is the "
                        r"example's placeholder: .*\n" % CONF, r.stderr), r.stderr


def test_installed_daemon_starts_and_its_link_comes_up(root, prosody, postgres, run_dir):
    edit_config(root, {"jid": DOMAIN, "secret": SECRET, "port": prosody.component_port,
                       "admins": ADMIN[0]})
    assert stat(root, CONF) == "root:%s 640" % USER
    ctl = ["mucdeskctl", "-c", CONF]
    root.run(["mucdeskctl", "check-config", CONF])
    # The example's database instructions: the daemon's user owns it.
    root.run(as_unit_says(root, ctl + ["migrate"]))
    root.run(as_unit_says(root, ctl + ["queue-create", "support", "--name", "Support"]))

    proc, log = link_up(root, prosody, run_dir, "mucdesk-v1")
    try:
        with XmppSession(prosody.c2s_port, accounts=dict([ADMIN])) as xmpp:
            admin = xmpp.login(ADMIN[0])
            reply = admin.send_iq("<iq type='get' to='%s'><query xmlns="
                                  "'http://jabber.org/protocol/disco#info'/></iq>" % DOMAIN)
            assert reply.get("type") == "result", reply
            assert b"http://jabber.org/protocol/muc" in _xml(reply)
        journal = root.run(["find", STATE, "-mindepth", "1", "-printf", "%u %p\n"]).stdout
        assert "%s %s/journal" % (USER, STATE) in journal, journal
        assert all(l.startswith(USER + " ") for l in journal.splitlines()), journal
    finally:
        rc = stop_daemon(proc)
    text = procs.read_text(log)
    assert rc == 0, text
    assert "is open to other users" not in text, text
    state["journal"] = journal


def test_reinstall_and_upgrade_keep_config_account_and_state(root, packages, prosody, run_dir):
    conf = root.inside(CONF).read_text()
    pw = account(root)
    for deb, version in ((packages["v1"], packages["version1"]),
                         (packages["v2"], packages["version2"])):
        root.run(["dpkg", "-i", "/tmp/" + deb.name])
        assert status(root) == "ii " + version
        assert root.inside(CONF).read_text() == conf, "the edited config was replaced"
        assert stat(root, CONF) == "root:%s 640" % USER
        assert stat(root, STATE) == "%s:%s 750" % (USER, USER)
        assert account(root) == pw
        left = root.run(["find", "/etc/mucdesk", "-name", "*.dpkg-*"]).stdout
        assert left == "", left
        assert root.run(["find", STATE, "-mindepth", "1", "-printf", "%u %p\n"]).stdout \
            == state["journal"]
    # The upgraded daemon starts on the journal the first one left.
    proc, log = link_up(root, prosody, run_dir, "mucdesk-v2")
    assert stop_daemon(proc) == 0, procs.read_text(log)


def test_purge_leaves_nothing_behind(root):
    r = root.run(["dpkg", "--purge", "mucdesk"])
    assert status(root) == "not known to dpkg", status(root)
    assert account(root) is None
    assert root.run(["getent", "group", USER], check=False).returncode == 2
    assert not root.inside("/etc/mucdesk").exists()
    assert not root.inside(STATE).exists()
    diff = _diff(state["before"], root_snapshot(root))
    assert diff == [], "purge output:\n%s%s\n" % (r.stdout, r.stderr) + "\n".join(diff)


# ------------------------------------------------------------ plumbing ---

def root_snapshot(root):
    return debroot.tree_snapshot(root.path, NOT_COMPARED)


def _diff(before, after):
    return debroot.snapshot_diff(before, after)


def _xml(el):
    return etree.tostring(el)
