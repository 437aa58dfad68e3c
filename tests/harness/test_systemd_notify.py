"""What mucdesk tells systemd ($NOTIFY_SOCKET, a fake one here) when the
database cannot be reached: STATUS lines say so, WATCHDOG=1 keeps coming
from the event loop's timer, READY=1 never comes; STOPPING=1 at the end.
(READY=1 once everything is up: tests/integration/test_ops.py.)"""

import os
import signal
import time
from pathlib import Path

import pytest

from mdtest.ops import NotifySocket


def built_with_systemd():
    build = os.environ.get("MUCDESK_BUILD_DIR")
    header = Path(build or Path(__file__).resolve().parents[2] / "build") / "build-config.h"
    return header.exists() and "#define HAVE_LIBSYSTEMD 1" in header.read_text()


pytestmark = pytest.mark.skipif(not built_with_systemd(),
                                reason="built without libsystemd: sd_notify is a no-op")


def test_no_ready_without_the_database_but_status_and_watchdog(mucdesk_factory, run_dir):
    with NotifySocket(run_dir) as ns:
        md = mucdesk_factory(env=dict(os.environ, **ns.env(watchdog_usec=300000)))
        ns.wait_for("STATUS=starting: link up, database connecting, restoring open chats")
        t0 = time.monotonic()
        time.sleep(2)
        beats = [at for at, var, _ in ns.assignments() if var == "WATCHDOG" and at >= t0]
        # Every 150 ms (half of WatchdogSec): about 13 in 2 s.
        assert len(beats) >= 8, beats
        assert max(b - a for a, b in zip(beats, beats[1:])) < 0.6
        assert not [v for _, v, _ in ns.assignments() if v == "READY"]
        assert "watchdog: every 150 ms" in md.log_text()
        # A SIGHUP before the start-up is done: RELOADING, no READY yet.
        md.send_signal(signal.SIGHUP)
        ns.wait_for("RELOADING=1")
        time.sleep(0.3)
        assert not [v for _, v, _ in ns.assignments() if v == "READY"]
        assert md.stop() == 0
        ns.wait_for("STOPPING=1")


def test_no_watchdog_unless_asked(mucdesk_factory, run_dir):
    with NotifySocket(run_dir) as ns:
        md = mucdesk_factory(env=dict(os.environ, **ns.env()))
        ns.wait_for("STATUS=")
        time.sleep(0.5)
        assert not [v for _, v, _ in ns.assignments() if v == "WATCHDOG"]
        assert "readiness: watchdog" not in md.log_text()
        assert md.stop() == 0
    # And without $NOTIFY_SOCKET at all the daemon runs as ever.
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    other = mucdesk_factory(env=env, name="plain")
    assert other.is_running()
