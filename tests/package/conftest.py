"""Fixtures of the package layer (tests/run package): the Debian package
built from this checkout, a throwaway Debian 12 root to install it in, and
the servers the installed daemon connects to.

packages   session: {"v1": Path, "v2": Path, "changes": Path, "version1",
           "version2"}: `dpkg-buildpackage -us -uc -b` of a copy of the
           checkout (its tracked and new files, as they are now), then,
           after one more debian/changelog entry, `-b -nc` (the upgrade:
           the binary package made again with the new version, from the
           same compiled tree)
root       module: a debroot.Root (overlay over the cached debootstrap
           base, /proc, /dev, PostgreSQL's socket directory bound at
           /run/postgresql), with the .debs in /tmp; unmounted at teardown
           whatever happened
postgres   module: a private cluster whose socket the root sees as
           /run/postgresql (port 5432: the example conninfo as it is), with
           the role _mucdesk owning database mucdesk
prosody    module: a private Prosody for support.localhost, account
           admin@localhost
timings    session: {step: seconds}, printed in the terminal summary

The tests in test_package.py run in order on one root: install, start,
reinstall, upgrade, purge.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "lib"))
sys.path.insert(0, str(_HERE))

from mdtest import REPO, procs  # noqa: E402
from mdtest.postgres import Postgres  # noqa: E402
from mdtest.prosody import Prosody  # noqa: E402
from mdtest.pytest_support import (pytest_runtest_makereport,  # noqa: E402,F401
                                   pytest_sessionfinish, results_dir, save_logs)

import debroot  # noqa: E402

LAYER = "package"
DOMAIN = "support.localhost"
SECRET = "package-test-secret"
ADMIN = ("admin@localhost", "admin-pass")

_timings = {}


def pytest_terminal_summary(terminalreporter):
    if _timings:
        terminalreporter.write_line(
            "package layer: " + ", ".join("%s %.1f s" % kv for kv in _timings.items()))
        out = results_dir() / "package-times.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join("%s %.1f\n" % kv for kv in _timings.items()))


@pytest.fixture(scope="session")
def timings():
    return _timings


# ------------------------------------------------------------ building ---

def _copy_checkout(dest):
    """The checkout's tracked and untracked-but-not-ignored files, as they
    are in the work tree (uncommitted changes included), copied to dest."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the package is built from the repository "
                    "(debian/ is not in the release tarball)")
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, check=True).stdout
    names = [n for n in files.split(b"\0") if n and os.path.lexists(REPO / os.fsdecode(n))]
    dest.mkdir(parents=True)
    pack = subprocess.Popen(["tar", "--null", "-T", "-", "-cf", "-"], cwd=str(REPO),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    unpack = subprocess.Popen(["tar", "-xf", "-"], cwd=str(dest), stdin=pack.stdout)
    pack.stdout.close()
    pack.stdin.write(b"\0".join(names) + b"\0")
    pack.stdin.close()
    assert pack.wait() == 0 and unpack.wait() == 0, "copying the checkout failed"


def _bump_changelog(tree, version):
    """A new debian/changelog entry on top, as `dch -v` would write it."""
    path = tree / "debian" / "changelog"
    old = path.read_text()
    maint = re.search(r"^ -- (.+?>)  ", old, re.M).group(1)
    date = subprocess.run(["date", "-R"], capture_output=True, text=True).stdout.strip()
    path.write_text("mucdesk (%s) unstable; urgency=medium\n\n"
                    "  * Rebuilt by tests/package to test an upgrade.\n\n"
                    " -- %s  %s\n\n%s" % (version, maint, date, old))


def _build(tree, log_path, again=False):
    """dpkg-buildpackage -us -uc -b in tree; again: -nc, the binary package
    made anew (new version, new control files) from the compiled tree,
    without cleaning, compiling or running the unit tests a second time."""
    env = dict(os.environ)
    # Nothing of the test build's environment (sanitizer options) leaks in.
    for k in list(env):
        if k.startswith(("ASAN_", "UBSAN_", "MUCDESK_")) or k in ("CFLAGS", "LDFLAGS"):
            del env[k]
    env["DEB_BUILD_OPTIONS"] = "parallel=%d" % min(os.cpu_count() or 1, 2)
    argv = ["dpkg-buildpackage", "-us", "-uc", "-b"] + (["-nc"] if again else [])
    with open(log_path, "wb") as log:
        r = subprocess.run(argv, cwd=str(tree), env=env,
                           stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        save_logs(log_path.parent, LAYER, "build")
        raise AssertionError("%s failed (status %d):\n%s"
                             % (" ".join(argv), r.returncode,
                                procs.tail(procs.read_text(log_path), 40)))


def _version(tree):
    return subprocess.run(["dpkg-parsechangelog", "-S", "Version"], cwd=str(tree),
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="session")
def packages(timings):
    out = procs.new_run_dir("package-build")
    arch = debroot.host_arch()
    tree = out / "mucdesk"
    _copy_checkout(tree)
    result = {}
    for n, name in enumerate(("v1", "v2")):
        t0 = time.monotonic()
        version = _version(tree)
        if name == "v2":
            # The upgrade: one more changelog entry, the package built again.
            version += "+pkgtest1"
            _bump_changelog(tree, version)
        _build(tree, out / ("%s-build.log" % name), again=(name == "v2"))
        deb = out / ("mucdesk_%s_%s.deb" % (version, arch))
        assert deb.exists(), "no %s after the build" % deb.name
        result[name] = deb
        result["version%d" % (n + 1)] = version
        result.setdefault("changes", out / ("mucdesk_%s_%s.changes" % (version, arch)))
        timings["build %s" % name] = time.monotonic() - t0
    save_logs(out, LAYER, "build")
    return result


def depends_of(deb):
    """Package names the .deb depends on (first of each alternative)."""
    text = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True,
                          text=True, check=True).stdout
    names = set()
    for item in text.split(","):
        first = item.split("|")[0].strip()
        name = re.split(r"[\s(:]", first, maxsplit=1)[0]
        if name:
            names.add(name)
    return sorted(names)


# ---------------------------------------------------------------- root ---

@pytest.fixture(scope="module")
def postgres():
    pg = Postgres(procs.new_run_dir("postgres"))
    pg.start()
    # As the example config's comment says: peer authentication as the
    # daemon's user (trust here), a database it owns.
    pg.psql('CREATE ROLE "_mucdesk" LOGIN')
    pg.psql('CREATE DATABASE mucdesk OWNER "_mucdesk"')
    yield pg
    pg.stop()
    save_logs(pg.base_dir, LAYER, "postgres")


@pytest.fixture(scope="module")
def prosody():
    p = Prosody(procs.new_run_dir("prosody"), DOMAIN, SECRET, log_level="info")
    p.register(ADMIN[0].split("@")[0], "localhost", ADMIN[1])
    p.start()
    yield p
    p.stop()
    save_logs(p.base_dir, LAYER, "prosody")


@pytest.fixture(scope="module")
def root(packages, postgres, timings):
    log = results_dir() / "package-debootstrap.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    base, made = debroot.ensure_base(depends_of(packages["v1"]), log)
    timings["debootstrap (cold)" if made else "base root (cached)"] = made
    debroot.remove_stale_bases(base)
    r = debroot.Root(base)
    try:
        r.mount()
        r.bind(postgres.socket_dir, "/run/postgresql")
        for name in ("v1", "v2"):
            shutil.copy(packages[name], r.inside("/tmp"))
        yield r
    finally:
        r.unmount()
