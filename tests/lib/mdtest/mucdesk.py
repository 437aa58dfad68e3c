"""The mucdesk daemon (and mucdeskctl) under test.

    md = Mucdesk({"component": {...}, "database": {...}, ...}, run_dir)
    md.start()
    md.wait_for_log("component link up")
    assert md.stop() == 0          # SIGTERM, returns the exit status
    md.check_sanitizers()          # AssertionError on an ASan/UBSan/LSan report

Binaries: $MUCDESK_BIN and $MUCDESKCTL_BIN (tests/run points them at the
sanitizer build), else <repo>/build/mucdesk and <repo>/build/mucdeskctl.
The daemon runs in the foreground in its own session, as the current user
(root in the tests); its stderr, where it logs one line per event
("2026-11-22T10:00:00.123Z LEVEL module: message"), goes to
run_dir/mucdesk.log.
"""

import os
import signal
import subprocess
from pathlib import Path

from . import REPO, procs

#: What the daemon logs when the component handshake succeeded.
LINK_UP = "component link up"

#: Markers of a sanitizer report in a process's stderr.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",                  # UndefinedBehaviorSanitizer
    "ERROR: UndefinedBehaviorSanitizer",
    "ERROR: ThreadSanitizer", "WARNING: ThreadSanitizer",
)


def binary():
    return Path(os.environ.get("MUCDESK_BIN") or REPO / "build" / "mucdesk")


def ctl_binary():
    return Path(os.environ.get("MUCDESKCTL_BIN") or REPO / "build" / "mucdeskctl")


def plugin_dir():
    """Where the routing plugins were built (libtool puts them in .libs)."""
    build = os.environ.get("MUCDESK_BUILD_DIR")
    base = Path(build) if build else REPO / "build"
    return base / "plugins" / ".libs"


def write_config(path, sections):
    """Write an INI file from {section: {key: value}} (order kept).

    Values are written as str(); lists become comma-separated.  A value
    of None leaves the key out (handy to test a missing key).
    """
    lines = []
    for section, keys in sections.items():
        lines.append("[%s]" % section)
        for key, value in keys.items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value)
            lines.append("%s = %s" % (key, value))
        lines.append("")
    Path(path).write_text("\n".join(lines))
    # It holds secrets: mucdesk warns about a file others can read.
    os.chmod(path, 0o600)
    return Path(path)


def make_config(run_dir, component_port, secret, conninfo, domain="support.localhost",
                admins="admin@localhost", log_level="debug", **extra):
    """The usual config as a dict: component link to 127.0.0.1:component_port,
    database conninfo, state_dir run_dir/state.  extra: {section: {key: value}}
    merged on top."""
    cfg = {
        "component": {"jid": domain, "secret": secret, "host": "127.0.0.1",
                      "port": component_port},
        "database": {"conninfo": conninfo},
        "service": {"admins": admins, "state_dir": Path(run_dir) / "state",
                    "plugin_dir": plugin_dir(), "mucdeskctl": ctl_binary()},
        "log": {"level": log_level},
    }
    for section, keys in extra.items():
        cfg.setdefault(section, {}).update(keys)
    return cfg


def sanitizer_report(text):
    """The part of text from the first sanitizer marker on, or None."""
    hits = [text.find(m) for m in SANITIZER_MARKERS if m in text]
    if not hits:
        return None
    start = text.rfind("\n", 0, min(hits)) + 1
    return text[start:]


class CtlResult:
    """Outcome of a mucdeskctl run: returncode, stdout, stderr."""

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr

    def __repr__(self):
        return "<mucdeskctl %s: %d>" % (" ".join(self.argv[1:]), self.returncode)

    def check(self):
        if self.returncode != 0:
            raise AssertionError("%s exited with %d\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(self.argv), self.returncode, self.stdout, self.stderr))
        return self


def run_ctl(args, config=None, binary_path=None, timeout=60, check=False, env=None,
            input=None):
    """Run mucdeskctl; config (a path) is passed as `-c FILE` first; input
    (text) goes to its standard input (else /dev/null).

    Returns a CtlResult; check=True raises AssertionError on a non-zero
    status (and on a sanitizer report in stderr, always).
    """
    argv = [str(binary_path or ctl_binary())]
    if config is not None:
        argv += ["-c", str(config)]
    argv += [str(a) for a in args]
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                       **stdin)
    res = CtlResult(argv, r.returncode, r.stdout, r.stderr)
    report = sanitizer_report(r.stderr)
    if report:
        raise AssertionError("sanitizer report from %s:\n%s" % (" ".join(argv), report))
    if check:
        res.check()
    return res


class Mucdesk:
    """One mucdesk daemon process.

    config: path of an existing config file, or {section: {key: value}}
    written to run_dir/mucdesk.conf.  run_dir defaults to a fresh one.
    """

    def __init__(self, config, run_dir=None, binary_path=None, env=None, name="mucdesk"):
        self.run_dir = Path(run_dir) if run_dir else procs.new_run_dir(name)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        if isinstance(config, dict):
            self.config = dict(config)
            self.config_path = write_config(self.run_dir / ("%s.conf" % name), config)
        else:
            self.config = None
            self.config_path = Path(config)
        self.binary = Path(binary_path) if binary_path else binary()
        self.log_path = self.run_dir / ("%s.log" % name)
        self.env = env
        self.proc = None
        self.returncode = None
        self._log_start = 0

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        if self.is_running():
            self.stop()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, args=()):
        """Start `mucdesk -c CONFIG [args]`; returns at once (see wait_for_log)."""
        if self.is_running():
            raise RuntimeError("%s already running (pid %d)" % (self.name, self.proc.pid))
        if not self.binary.exists():
            raise FileNotFoundError("mucdesk binary not found: %s (build it, or set MUCDESK_BIN)"
                                    % self.binary)
        env = dict(os.environ) if self.env is None else dict(self.env)
        self._log_start = procs.file_size(self.log_path)
        self.returncode = None
        self.proc = procs.spawn([self.binary, "-c", self.config_path] + list(args),
                                log_path=self.log_path, env=env, cwd=self.run_dir,
                                description=self.name)
        return self

    def wait_for_log(self, substring, timeout=10.0, after=None):
        """Wait until substring is logged (since the last start, or since the
        offset `after` from mark()).  Returns the offset past the match.
        Raises TimeoutError with the log's tail, early if the daemon exits."""
        return procs.wait_for_text(self.log_path, substring, timeout,
                                   start=self._log_start if after is None else after,
                                   alive=self.is_running, what="%s log" % self.name)

    def wait_link_up(self, timeout=10.0):
        return self.wait_for_log(LINK_UP, timeout)

    def mark(self):
        return procs.file_size(self.log_path)

    def log_text(self, after=None):
        """The log since the last start (or since offset `after`)."""
        return procs.read_text(self.log_path, self._log_start if after is None else after)

    def log_lines(self, level=None, module=None, after=None):
        """Log lines parsed as (timestamp, level, module, message); lines
        that do not follow the format (sanitizer output) are skipped."""
        out = []
        for line in self.log_text(after).splitlines():
            parts = line.split(" ", 3)
            if len(parts) < 4 or not parts[2].endswith(":"):
                continue
            ts, lvl, mod, msg = parts[0], parts[1], parts[2][:-1], parts[3]
            if (level is None or lvl == level) and (module is None or mod == module):
                out.append((ts, lvl, mod, msg))
        return out

    def wait_exit(self, timeout=10.0):
        """Wait for the daemon to exit by itself; returns its status or None."""
        if self.proc is None:
            return self.returncode
        rc = procs.wait(self.proc, timeout)
        if rc is not None:
            self._reaped(rc)
        return rc

    def send_signal(self, sig):
        if self.is_running():
            procs.signal_process(self.proc, sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Send sig, wait for the exit, return the exit status (negative:
        killed by that signal).  If it does not exit within timeout it is
        SIGKILLed and AssertionError is raised."""
        if self.proc is None:
            return self.returncode
        rc, in_time = procs.stop(self.proc, sig, timeout)
        self._reaped(rc)
        if not in_time:
            raise AssertionError("%s did not exit within %.0f s of signal %d (killed); log:\n%s"
                                 % (self.name, timeout, sig, procs.tail(self.log_text())))
        return rc

    def kill(self):
        """SIGKILL (a crash)."""
        if self.proc is None:
            return self.returncode
        rc = procs.kill_hard(self.proc)
        self._reaped(rc)
        return rc

    def _reaped(self, rc):
        procs.forget(self.proc)
        self.returncode = rc
        self.proc = None

    def check_sanitizers(self):
        """AssertionError if the log holds a sanitizer report."""
        report = sanitizer_report(procs.read_text(self.log_path))
        if report:
            raise AssertionError("sanitizer report in %s:\n%s" % (self.log_path, report[:20000]))

    def run_ctl(self, args, **kw):
        """mucdeskctl -c <this config> args..."""
        return run_ctl(args, config=self.config_path, **kw)
