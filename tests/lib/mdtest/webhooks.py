"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that
records every POST (headers and body), answers with a status the test
chooses, and can be stopped and started again on the same port (the
receiver that is down for a while).

    with Receiver() as r:
        url = r.url("/hook")
        ...
        r.wait(lambda got: len(got) >= 3)
"""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mdtest.ports import free_port


class Delivery:
    def __init__(self, path, headers, body):
        self.path = path
        self.headers = headers
        self.raw = body
        self.json = json.loads(body.decode("utf-8"))

    @property
    def type(self):
        return self.json["type"]

    def signature_ok(self, secret, max_age=300):
        """The X-Mucdesk-Signature check doc/webhooks.md documents."""
        ts = self.headers.get("X-Mucdesk-Timestamp", "")
        sig = self.headers.get("X-Mucdesk-Signature", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > max_age:
            return False
        mac = hmac.new(secret.encode(), ts.encode() + b"." + self.raw, hashlib.sha256)
        return hmac.compare_digest("sha256=" + mac.hexdigest(), sig)

    def __repr__(self):
        return "<%s %s seq=%s>" % (self.path, self.type, self.json.get("sequence"))


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.deliveries = []   # accepted (answered 2xx), in arrival order
        self.attempts = []     # every POST, whatever the answer
        self.status = {}       # path -> status to answer (default 204)
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                status = owner.status.get(self.path, 204)
                d = Delivery(self.path, dict(self.headers.items()), body)
                with owner._lock:
                    owner.attempts.append(d)
                    if 200 <= status < 300:
                        owner.deliveries.append(d)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def got(self, path=None):
        with self._lock:
            return [d for d in self.deliveries if path is None or d.path == path]

    def wait(self, predicate, path=None, timeout=20.0, what="deliveries"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.got(path)
            if predicate(got):
                return got
            time.sleep(0.1)
        raise AssertionError("timed out waiting for %s; got %r" % (what, self.got(path)))
