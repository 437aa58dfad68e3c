"""Operations: the daemon's /metrics and what it tells systemd.

    text = scrape(md_listen)                       # GET /metrics, 200 checked
    m = parse_metrics(text)                        # strict: format errors raise
    m.value("mucdesk_chats_created_total")         # a sample's value
    m.value("mucdesk_queue_waiting_chats", queue="billing")

    with NotifySocket(run_dir) as ns:              # a fake $NOTIFY_SOCKET
        md = Mucdesk(cfg, env=dict(os.environ, **ns.env(watchdog_usec=400000)))
        ns.wait_for("READY=1")
"""

import os
import re
import socket
import threading
import time
import urllib.request

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"'
_SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)\})? (\S+)$" % (_NAME, _LABEL, _LABEL))


def scrape(listen, path="/metrics", timeout=10):
    """GET http://listen/path; returns the body (str), asserting 200 and the
    exposition's content type."""
    with urllib.request.urlopen("http://%s%s" % (listen, path), timeout=timeout) as r:
        assert r.status == 200, r.status
        ctype = r.headers.get("Content-Type", "")
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        return r.read().decode("utf-8")


def _unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)


class Metrics:
    """A parsed exposition: families {name: (type, help)}, samples
    {(name, ((label, value), ...)): float}."""

    def __init__(self):
        self.families = {}
        self.samples = {}

    def value(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        if key not in self.samples:
            raise KeyError("no sample %s%r; have: %s" % (
                name, labels, sorted(k for k in self.samples if k[0] == name)))
        return self.samples[key]

    def get(self, name, default=None, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), default)

    def labelled(self, name):
        """{labels tuple: value} of every sample of name."""
        return {k[1]: v for k, v in self.samples.items() if k[0] == name}


def parse_metrics(text, prefix="mucdesk_"):
    """Parse Prometheus text format 0.0.4 strictly (what our daemon writes):
    every family has HELP then TYPE before its samples, every name starts
    with prefix, histogram buckets are cumulative and end with +Inf equal
    to _count.  AssertionError on anything else."""
    m = Metrics()
    current = None
    assert text.endswith("\n"), "the exposition ends with a newline"
    lines = text.split("\n")[:-1]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name) and name.startswith(prefix), line
            assert name not in m.families, "family %s twice" % name
            t = lines[i + 1] if i + 1 < len(lines) else ""
            mt = re.fullmatch(r"# TYPE (%s) (counter|gauge|histogram)" % _NAME, t)
            assert mt and mt.group(1) == name, "TYPE must follow HELP: %r" % t
            m.families[name] = (mt.group(2), help_text)
            current = name
            i += 2
            continue
        assert not line.startswith("#"), "unexpected comment %r" % line
        ms = _SAMPLE.match(line)
        assert ms, "not a sample line: %r" % line
        name, labels_text, value = ms.group(1), ms.group(2), ms.group(len(ms.groups()))
        ftype = m.families[current][0]
        if ftype == "histogram":
            assert re.fullmatch(re.escape(current) + "_(bucket|sum|count)", name), line
        else:
            assert name == current, "sample %s under family %s" % (name, current)
        labels = tuple(sorted((k, _unescape(v)) for k, v in
                              re.findall(_LABEL, labels_text or "")))
        assert len(dict(labels)) == len(labels), "a label twice: %r" % line
        key = (name, labels)
        assert key not in m.samples, "sample twice: %r" % line
        m.samples[key] = float(value)
        i += 1
    # Histograms: cumulative buckets, +Inf == _count.
    for name, (ftype, _) in m.families.items():
        if ftype != "histogram":
            continue
        series = {}
        for (n, labels), v in m.samples.items():
            if n == name + "_bucket":
                rest = tuple(x for x in labels if x[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((float(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), "%s buckets not cumulative" % name
            assert buckets[-1][0] == float("inf"), "%s without +Inf" % name
            assert counts[-1] == m.samples[(name + "_count", rest)], name
    return m


class NotifySocket:
    """A unix datagram socket standing in for systemd's $NOTIFY_SOCKET;
    every datagram is kept as (monotonic time, text)."""

    def __init__(self, run_dir):
        self.path = os.path.join(str(run_dir), "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def env(self, watchdog_usec=None):
        """The environment a service manager gives the daemon.  With a
        watchdog, WATCHDOG_PID is left out: sd_watchdog_enabled() then
        takes the interval for whichever process reads it."""
        e = {"NOTIFY_SOCKET": self.path}
        if watchdog_usec:
            e["WATCHDOG_USEC"] = str(watchdog_usec)
        return e

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode("utf-8", "replace")))

    def texts(self):
        with self._lock:
            return [t for _, t in self.messages]

    def assignments(self):
        """Every VAR=value sent, in order, as (time, var, value)."""
        out = []
        with self._lock:
            for at, text in self.messages:
                for line in text.split("\n"):
                    if "=" in line:
                        var, _, value = line.partition("=")
                        out.append((at, var, value))
        return out

    def wait_for(self, assignment, timeout=15.0, after=0.0):
        """Wait until a datagram holds the line `assignment` ("READY=1") or,
        for "VAR=" ending in '=', any VAR; sent after monotonic time `after`.
        Returns (time, value)."""
        deadline = time.monotonic() + timeout
        var, _, value = assignment.partition("=")
        while time.monotonic() < deadline:
            for at, v, val in self.assignments():
                if at >= after and v == var and (not value or val == value):
                    return at, val
            time.sleep(0.05)
        raise TimeoutError("no %s within %.0f s; got: %r" % (assignment, timeout, self.texts()))

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
