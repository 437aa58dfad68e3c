"""pytest glue shared by the conftest.py files of tests/harness and
tests/integration.

A conftest imports the hooks by name so that pytest registers them:

    from mdtest.pytest_support import (pytest_runtest_makereport,
                                       pytest_sessionfinish, make_run_dir)

- pytest_runtest_makereport records each phase's report on the item, so a
  fixture can tell whether its test failed (test_failed(request)).
- make_run_dir(request, layer) gives a test its own run directory (short
  path under /tmp, reachable by the postgres and prosody users) and, at
  teardown, copies the logs and configs in it to
  $MUCDESK_RESULTS_DIR/logs/<layer>/<test>/ when the test failed, so that
  tests/run's results keep what is needed to understand a failure.
- pytest_sessionfinish kills any server a test left running and says so.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

from . import REPO, procs

_LOG_SUFFIXES = (".log", ".conf", ".lua", ".out", ".txt")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    reports = getattr(item, "mdtest_reports", None)
    if reports is None:
        reports = item.mdtest_reports = {}
    reports[rep.when] = rep


def pytest_sessionfinish(session, exitstatus):
    left = procs.live_processes()
    if left:
        sys.stderr.write("\nmdtest: killing processes left running by the tests: %s\n"
                         % ", ".join("%s (pid %d)" % (d, p) for p, d in left))
        procs._kill_leftovers()


def test_failed(request):
    """True if the requesting test's setup or call failed (so far), or a
    fixture called mark_failed() during teardown."""
    reports = getattr(request.node, "mdtest_reports", {})
    return (any(r.failed for r in reports.values())
            or getattr(request.node, "mdtest_teardown_failed", False))


def mark_failed(request):
    """Called by a fixture whose teardown is about to fail the test, so that
    the run directory's logs are kept."""
    request.node.mdtest_teardown_failed = True


def stop_daemons(request, made):
    """A fixture's teardown for the mucdesk processes it made: each still
    running gets SIGTERM and must exit 0, and none may have written a
    sanitizer report; otherwise the test fails (its logs kept)."""
    import signal
    problems = []
    for md in made:
        if md.is_running():
            try:
                rc = md.stop(signal.SIGTERM)
                if rc != 0:
                    problems.append("%s exited with %s on SIGTERM; log tail:\n%s"
                                    % (md.name, rc, procs.tail(md.log_text())))
            except AssertionError as e:
                problems.append(str(e))
        try:
            md.check_sanitizers()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        mark_failed(request)
        pytest.fail("\n\n".join(problems), pytrace=False)


def results_dir():
    """$MUCDESK_RESULTS_DIR (tests/run sets it) or <repo>/tests/results."""
    return Path(os.environ.get("MUCDESK_RESULTS_DIR") or REPO / "tests" / "results")


def save_logs(src, layer, name):
    """Copy log-like files under src into results/logs/<layer>/<name>/."""
    dest = results_dir() / "logs" / layer / _safe(name)
    for root, _dirs, files in os.walk(src):
        for f in files:
            if f.endswith(_LOG_SUFFIXES):
                p = Path(root) / f
                rel = p.relative_to(src)
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copyfile(p, dest / rel)
                except OSError:
                    pass
    return dest


def make_run_dir(request, layer):
    """A fresh run directory for the requesting test (see module doc)."""
    path = procs.new_run_dir(request.node.name)

    def finish():
        if test_failed(request) or os.environ.get("MUCDESK_SAVE_ALL_LOGS") == "1":
            save_logs(path, layer, request.node.nodeid)
    request.addfinalizer(finish)
    return path


def _safe(name):
    return "".join(c if c.isalnum() or c in "-_.[]" else "_" for c in name)[:150]
