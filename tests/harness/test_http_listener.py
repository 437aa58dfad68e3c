"""The HTTP listener ([http] listen): /metrics in the Prometheus text
format, what the listener answers by itself (404, 405, 413, 431), and its
bounds: connections per address and in all, a request that takes too long
to arrive (slowloris), an idle connection.  No database here: the metrics
say so."""

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

from pathlib import Path

import pytest

from mdtest.mucdesk import Mucdesk, make_config
from mdtest.ops import parse_metrics, scrape
from mdtest.ports import free_port


def listener(mucdesk_factory, **http):
    addr = "127.0.0.1:%d" % free_port()
    md = mucdesk_factory({"http": dict({"listen": addr}, **http)})
    md.wait_for_log("http: listening on %s" % addr, after=0)
    return md, addr


def raw(addr, data, timeout=5.0):
    """Sends bytes, returns everything the server sent until it closed."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    return out


def status_of(response):
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.") else None


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


def closed_within(sock, seconds):
    """Seconds until the server closed sock (EOF or reset), or None."""
    t0 = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - t0 < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0
    return None


def test_metrics_in_the_prometheus_text_format(mucdesk_factory):
    md, addr = listener(mucdesk_factory)
    m = parse_metrics(scrape(addr))
    # What the process knows without a database: the link is up, the
    # database not, so it is not ready; the counters start at zero.
    assert m.value("mucdesk_link_up") == 1
    assert m.value("mucdesk_database_up") == 0
    assert m.value("mucdesk_ready") == 0
    assert m.value("mucdesk_messages_total", type="groupchat") == 0
    assert m.value("mucdesk_rate_limited_total", limit="message_rate") == 0
    assert m.value("mucdesk_link_reconnects_total") == 0
    assert list(m.labelled("mucdesk_build_info").values()) == [1]
    for name, kind in [("mucdesk_queue_waiting_chats", "gauge"),
                       ("mucdesk_queue_longest_wait_seconds", "gauge"),
                       ("mucdesk_queue_agents_available", "gauge"),
                       ("mucdesk_queue_agents_online", "gauge"),
                       ("mucdesk_queue_active_chats", "gauge"),
                       ("mucdesk_chats_created_total", "counter"),
                       ("mucdesk_chats_ended_total", "counter"),
                       ("mucdesk_offers_made_total", "counter"),
                       ("mucdesk_offers_declined_total", "counter"),
                       ("mucdesk_offers_expired_total", "counter"),
                       ("mucdesk_mam_queries_total", "counter"),
                       ("mucdesk_chat_wait_seconds", "histogram"),
                       ("mucdesk_chat_first_response_seconds", "histogram"),
                       ("mucdesk_archive_journal_bytes", "gauge"),
                       ("mucdesk_archive_shipping_lag_seconds", "gauge"),
                       ("mucdesk_database_queue_depth", "gauge"),
                       ("mucdesk_http_requests_total", "counter")]:
        assert m.families[name][0] == kind, name
    # The scrape itself was counted by the next one.
    assert parse_metrics(scrape(addr)).value("mucdesk_http_requests_total") >= 1
    # HEAD: the headers only.
    req = urllib.request.Request("http://%s/metrics" % addr, method="HEAD")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and r.read() == b""


def test_what_the_listener_answers_by_itself(mucdesk_factory):
    md, addr = listener(mucdesk_factory)
    host = b"Host: x\r\n"
    r = raw(addr, b"GET /nothing HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n")
    assert status_of(r) == 404
    r = raw(addr, b"DELETE /metrics HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n")
    assert status_of(r) == 405 and b"\r\nAllow: GET, HEAD\r\n" in r
    # A body where none is taken: refused from its Content-Length, unread.
    r = raw(addr, b"GET /metrics HTTP/1.1\r\n" + host +
            b"Content-Length: 100000000\r\n\r\n" + b"x" * 1000)
    assert status_of(r) == 413
    # The same without a length (chunked): the connection is closed, no answer.
    r = raw(addr, b"GET /metrics HTTP/1.1\r\n" + host +
            b"Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n")
    assert status_of(r) in (None, 413), r[:200]
    # A request head over HTTP_HEAD_MAX (8 KiB).
    r = raw(addr, b"GET /metrics HTTP/1.1\r\n" + host +
            b"X-Big: " + b"a" * 12000 + b"\r\n\r\n")
    assert status_of(r) in (413, 431), r[:200]
    r = raw(addr, b"GET /metrics?" + b"a" * 12000 + b" HTTP/1.1\r\n" + host + b"\r\n")
    assert status_of(r) in (414, 431), r[:200]
    # Garbage is a bad request, and the listener still works after all that.
    r = raw(addr, b"\x00\x01 nonsense\r\n\r\n")
    assert status_of(r) in (None, 400), r[:200]
    m = parse_metrics(scrape(addr))
    assert m.value("mucdesk_http_refused_total") >= 3
    md.check_sanitizers()


def test_connections_per_address_are_bounded(mucdesk_factory):
    md, addr = listener(mucdesk_factory, max_connections_per_ip=3)
    held = [connect(addr) for _ in range(3)]
    try:
        time.sleep(0.3)
        extra = connect(addr)
        # The fourth from the same address is closed at once, unanswered.
        extra.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed_within(extra, 3) is not None
        extra.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)
    assert parse_metrics(scrape(addr)).value("mucdesk_http_connections") == 1


def test_connections_in_all_are_bounded(mucdesk_factory):
    md, addr = listener(mucdesk_factory, max_connections=2, timeout=30)
    held = [connect(addr) for _ in range(2)]
    time.sleep(0.3)
    waiting = connect(addr)   # the kernel takes it; the listener does not yet
    waiting.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    waiting.settimeout(1.5)
    with pytest.raises(socket.timeout):
        waiting.recv(4096)
    held.pop().close()        # a slot frees: it is served
    waiting.settimeout(5)
    data = b""
    while not data.endswith(b"\n") or b"mucdesk_ready" not in data:
        chunk = waiting.recv(65536)
        if not chunk:
            break
        data += chunk
    assert status_of(data) == 200
    waiting.close()
    for s in held:
        s.close()


def test_a_request_too_slow_to_arrive_is_cut(mucdesk_factory):
    md, addr = listener(mucdesk_factory, timeout=2)
    # Slowloris: a byte every 0.4 s keeps an idle timeout from ever firing;
    # the request deadline (2 s from the connection's start) does not.
    slow = connect(addr)
    idle = connect(addr)
    t0 = time.monotonic()
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    cut = None
    slow.settimeout(0.4)
    for b in head:
        try:
            slow.send(bytes([b]))
            if slow.recv(4096) == b"":
                cut = time.monotonic() - t0
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            cut = time.monotonic() - t0
            break
    assert cut is not None and 1.5 <= cut <= 4.5, cut
    # The idle one (nothing sent) went the same way.
    assert closed_within(idle, 3) is not None
    slow.close()
    idle.close()
    m = parse_metrics(scrape(addr))
    assert m.value("mucdesk_http_timeouts_total") >= 1
    # A keep-alive connection that asks in time is served, twice.
    s = connect(addr)
    for _ in range(2):
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"mucdesk_http_connections" not in data:
            data += s.recv(65536)
        assert status_of(data) == 200
    s.close()


def test_no_listener_unless_configured_and_address_errors(mucdesk_factory, fake_server,
                                                           run_dir):
    md = mucdesk_factory()
    assert "http: listening" not in md.log_text()
    # A port someone holds: the daemon says so and exits 1.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    addr = "127.0.0.1:%d" % taken.getsockname()[1]
    cfg = make_config(run_dir / "busy", fake_server.port, "x", conninfo="dbname=none",
                      http={"listen": addr})
    other = Mucdesk(cfg, run_dir=run_dir / "busy", name="busyport")
    other.start()
    assert other.wait_exit(10) == 1
    assert "http: cannot listen on %s: Address already in use" % addr in other.log_text()
    other.check_sanitizers()
    taken.close()


@pytest.mark.parametrize("value", ["localhost:9100", "127.0.0.1", "127.0.0.1:0",
                                   "[::1]9100", "127.0.0.1:70000"])
def test_a_bad_listen_address_is_a_config_error(run_dir, fake_server, value):
    cfg = make_config(run_dir, fake_server.port, "x", conninfo="dbname=none",
                      http={"listen": value})
    md = Mucdesk(cfg, run_dir=run_dir, name="badlisten")
    md.start()
    assert md.wait_exit(10) == 2
    assert ("[http] listen: '%s' must be ADDRESS:PORT with an IP address" % value
            in md.log_text())


def test_metrics_not_reachable_by_other_paths(mucdesk_factory):
    md, addr = listener(mucdesk_factory)
    for path in ("/metrics/", "/metrics/x", "/Metrics", "/"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://%s%s" % (addr, path), timeout=5)
        assert e.value.code == 404, path


def test_the_exposition_passes_promtool_and_feeds_the_monitoring_files(mucdesk_factory):
    """Prometheus' own linter takes the scrape; every metric the example
    dashboard and alert rules use is in it; the rules load and their unit
    tests pass (contrib/monitoring)."""
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package prometheus)")
    md, addr = listener(mucdesk_factory)
    text = scrape(addr)
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r
    exposed = set(parse_metrics(text).families)
    mon = Path(__file__).resolve().parents[2] / "contrib" / "monitoring"
    used = set()
    for f in ("mucdesk-grafana.json", "mucdesk-alerts.yml"):
        for name in re.findall(r"\bmucdesk_[a-z_]+", (mon / f).read_text()):
            used.add(re.sub(r"_(bucket|sum|count)$", "", name))
    assert used and used <= exposed, sorted(used - exposed)
    for args in (["check", "rules", "mucdesk-alerts.yml"],
                 ["test", "rules", "mucdesk-alerts.test.yml"]):
        r = subprocess.run([promtool] + args, cwd=mon, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    json.loads((mon / "mucdesk-grafana.json").read_text())
