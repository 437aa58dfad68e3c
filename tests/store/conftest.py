"""Fixtures for the archive's fault tests: a private PostgreSQL per test
(so a test may stop, kill or lock it freely) and the archive driven by
tests/bench/archive-load (store/archive.h without XMPP: appends at a rate,
reports what became durable, ships to PostgreSQL).

    def test_x(pg, archive_load):
        load = archive_load("--rate", 500, "--duration", 5, "--wait-committed")
        load.wait_exit(60)
        assert load.acked() <= pg.stanza_ids()

pg               a started Postgres with database `mucdesk` (.db_value(sql),
                 .db_rows(sql), .stanza_ids(table))
config           the archive-load config dict (edit before archive_load())
archive_load     start(*args, config_overrides=None) -> Load
run_dir          the test's directory (logs saved on failure)

Every archive-load still running at teardown is killed; each one's stderr
is checked for sanitizer reports (a report fails the test).
"""

import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from mdtest import REPO, procs  # noqa: E402
from mdtest.mucdesk import run_ctl, sanitizer_report, write_config  # noqa: E402
from mdtest.postgres import Postgres  # noqa: E402
from mdtest.pytest_support import (make_run_dir, mark_failed,  # noqa: E402,F401
                                   pytest_runtest_makereport, pytest_sessionfinish)

LAYER = "store"


def load_binary():
    build = os.environ.get("MUCDESK_BUILD_DIR")
    path = Path(build) / "tests" / "bench" / "archive-load" if build else \
        REPO / "build" / "tests" / "bench" / "archive-load"
    if not path.exists():
        pytest.skip("archive-load not built: %s" % path)
    return path


@pytest.fixture
def run_dir(request):
    return make_run_dir(request, LAYER)


class TestPostgres(Postgres):
    """Postgres with the test database `mucdesk` and a few helpers."""

    def db_rows(self, sql):
        return self.psql(sql, "mucdesk")

    def db_value(self, sql):
        return self.value(sql, "mucdesk")

    def stanza_ids(self, table="muc_archive"):
        """Every stanza_id in the table, as a list (duplicates kept)."""
        return [r[0] for r in self.db_rows("SELECT stanza_id FROM %s" % table)]

    def lock_in_background(self, table, seconds, mode="ACCESS EXCLUSIVE"):
        """Holds a lock on table for `seconds` in a separate psql; returns
        the process (wait on it)."""
        import subprocess
        sql = ("BEGIN; LOCK TABLE %s IN %s MODE; SELECT pg_sleep(%s); COMMIT;"
               % (table, mode, seconds))
        return subprocess.Popen(self._psql_argv("mucdesk") + ["-c", sql],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


    def release_locks(self, proc):
        """Ends a lock_in_background() early (its backend is terminated)."""
        self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE query LIKE 'BEGIN; LOCK TABLE%' AND pid <> pg_backend_pid()",
                  "postgres")
        proc.wait(30)


@pytest.fixture
def pg(run_dir):
    p = TestPostgres(run_dir / "pg")
    p.start()
    p.create_database("mucdesk")
    yield p
    p.stop()


@pytest.fixture
def config(run_dir, pg):
    """The config, with the schema already applied (mucdeskctl migrate)."""
    cfg = {
        "component": {"jid": "support.localhost", "secret": "x"},
        "database": {"conninfo": pg.conninfo("mucdesk"), "connect_timeout": 2},
        "service": {"admins": "admin@localhost", "state_dir": run_dir / "state"},
        "log": {"level": "info"},
    }
    run_ctl(["migrate"], config=write_config(run_dir / "migrate.conf", cfg),
            check=True)
    return cfg


STATS_RE = re.compile(r"^(\w+) (\w+=\S+(?: \w+=\S+)*)$")


class Load:
    """One archive-load process; stdout+stderr go to its log file."""

    def __init__(self, argv, log_path):
        self.argv = argv
        self.log_path = log_path
        self._start = procs.file_size(log_path)
        self.proc = procs.spawn(argv, log_path=log_path, env=dict(os.environ),
                                description="archive-load")
        self.returncode = None

    def text(self):
        return procs.read_text(self.log_path, self._start)

    def lines(self, tag):
        """Parsed "<tag> t=... k=v ..." lines: a list of dicts (ints)."""
        out = []
        for line in self.text().splitlines():
            m = STATS_RE.match(line)
            if m and m.group(1) == tag:
                d = {}
                for kv in m.group(2).split():
                    k, _, v = kv.partition("=")
                    for conv in (int, float):
                        try:
                            d[k] = conv(v)
                            break
                        except ValueError:
                            d[k] = v
                out.append(d)
        return out

    def last(self, tag="stats"):
        got = self.lines(tag)
        return got[-1] if got else None

    def wait_for(self, predicate, timeout, what):
        """Polls predicate(self) until true; fails with the log tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            if self.proc.poll() is not None and not predicate(self):
                break
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s; archive-load log:\n%s"
                             % (what, procs.tail(self.text(), 40)))

    def wait_stats(self, predicate, timeout, what):
        self.wait_for(lambda l: l.last() is not None and predicate(l.last()),
                      timeout, what)
        return self.last()

    def wait_exit(self, timeout):
        rc = procs.wait(self.proc, timeout)
        if rc is None:
            raise AssertionError("archive-load still running after %s s:\n%s"
                                 % (timeout, procs.tail(self.text(), 40)))
        procs.forget(self.proc)
        self.returncode = rc
        self.check_sanitizers()
        return rc

    def stop(self, timeout=30):
        procs.signal_process(self.proc, signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        procs.signal_process(self.proc, signal.SIGKILL)
        procs.wait(self.proc, 10)
        procs.forget(self.proc)
        self.returncode = -9

    def check_sanitizers(self):
        report = sanitizer_report(self.text())
        if report:
            raise AssertionError("sanitizer report from archive-load:\n%s" % report)


@pytest.fixture
def archive_load(request, run_dir, config):
    started = []

    def start(*args, config_overrides=None, name=None):
        cfg = {s: dict(v) for s, v in config.items()}
        for section, keys in (config_overrides or {}).items():
            cfg.setdefault(section, {}).update(keys)
        n = len(started)
        conf = write_config(run_dir / ("load%d.conf" % n), cfg)
        argv = [load_binary(), "-c", conf] + [str(a) for a in args]
        load = Load(argv, run_dir / ("%s.log" % (name or "load%d" % n)))
        started.append(load)
        return load

    yield start

    problems = []
    for load in started:
        if load.returncode is None and load.proc.poll() is None:
            load.kill()
        try:
            load.check_sanitizers()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        mark_failed(request)
        pytest.fail("\n\n".join(problems), pytrace=False)
