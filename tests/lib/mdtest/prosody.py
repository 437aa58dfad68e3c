"""A private Prosody instance for tests, made from the demo config template.

    p = Prosody(run_dir, "support.localhost", "s3cret")   # picks free ports
    p.register("agent1", "localhost", "pw")
    p.start()                                 # as the prosody user, foreground
    p.c2s_port, p.component_port, p.http_port
    p.wait_for_log("External component successfully authenticated")
    p.stop()

The config comes from contrib/prosody/mucdesk-demo.cfg.lua.in (the same
template the quickstart uses): hosts `localhost` (accounts) and
`anon.localhost` (anonymous login), the component domain, no TLS, plain
SASL allowed, everything on 127.0.0.1.  Prosody refuses to run as root, so
it runs as the `prosody` user; run_dir is chowned to that user.

Prosody's log lines worth waiting for (prosody.log, level info):
  "External component successfully authenticated"   component connected
  "Component authentication failed"                 bad secret
  "Second component attempted to connect"           a second instance refused
  "Component not connected, bouncing error"         stanza bounced, link down
"""

import signal
import time
from pathlib import Path

from . import REPO, procs
from .ports import free_port, wait_for_port
from .xmppserver import XmppServer

TEMPLATE = REPO / "contrib" / "prosody" / "mucdesk-demo.cfg.lua.in"

#: Log line Prosody writes when a component completes the handshake.
COMPONENT_UP = "External component successfully authenticated"


def render_template(template_text, values):
    """Replace every @NAME@ in the template; fail on any left unreplaced."""
    out = template_text
    for name, value in values.items():
        out = out.replace("@%s@" % name, str(value))
    import re
    left = sorted(set(re.findall(r"@[A-Z_]+@", out)))
    if left:
        raise ValueError("template placeholders without a value: %s" % ", ".join(left))
    return out


def _store_name(s):
    """A user or host name as Prosody's file store encodes it: every byte
    that is not an ASCII letter or digit becomes %xx."""
    return "".join(chr(b) if chr(b).isascii() and chr(b).isalnum() else "%%%02x" % b
                   for b in s.encode("utf-8"))


class Prosody(XmppServer):
    """One private Prosody (see the module docstring).

    extra_global: Lua lines added to the global section (before the first
    VirtualHost), e.g. 'component_conflict_resolve = "kick_old"'.
    """

    #: Log line Prosody writes when a component completes the handshake.
    COMPONENT_UP = COMPONENT_UP
    name = "prosody"
    USER = "prosody"
    WEBSOCKET_PATH = "/xmpp-websocket"
    BOSH_PATH = "/http-bind"

    def __init__(self, base_dir, component_domain="support.localhost",
                 component_secret="changeme", c2s_port=None, component_port=None,
                 http_port=None, log_level="debug", template=None, extra_global=""):
        self.base_dir = Path(base_dir).resolve()
        self.component_domain = component_domain
        self.component_secret = component_secret
        self.c2s_port = c2s_port or free_port()
        self.component_port = component_port or free_port()
        self.http_port = http_port or free_port()
        self.log_level = log_level
        self.template = Path(template) if template else TEMPLATE
        self.extra_global = extra_global
        self.config_path = self.base_dir / "prosody.cfg.lua"
        self.log_path = self.base_dir / "prosody.log"
        self.out_path = self.base_dir / "prosody.out"     # stdout/stderr (start-up errors)
        self.data_dir = self.base_dir / "data"
        self.proc = None
        self._log_start = 0
        self._write_config()

    # ----------------------------------------------------------- config ---

    def _write_config(self):
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        (self.base_dir / "certs").mkdir(exist_ok=True)   # none needed; silences a warning
        text = render_template(self.template.read_text(), {
            "RUN_DIR": self.base_dir,
            "C2S_PORT": self.c2s_port,
            "COMPONENT_PORT": self.component_port,
            "HTTP_PORT": self.http_port,
            "COMPONENT_DOMAIN": self.component_domain,
            "COMPONENT_SECRET": self.component_secret,
            "LOG_LEVEL": self.log_level,
        })
        if self.extra_global:
            i = text.index('\nVirtualHost "')
            text = text[:i] + "\n-- added by the test\n" + self.extra_global.rstrip() + "\n" + text[i:]
        self.config_path.write_text(text)
        self._hand_over_run_dir()

    # --------------------------------------------------------- accounts ---

    def register(self, user, host, password):
        """Create (or reset the password of) an account, with prosodyctl.

        Works whether Prosody is running or not: the internal_plain store
        is read at each login.
        """
        if self.account_exists(user, host):
            self._prosodyctl("deluser", "%s@%s" % (user, host))
        self._prosodyctl("register", user, host, password)

    def account_exists(self, user, host):
        """True if the internal store has an account file for user@host."""
        return (self.data_dir / _store_name(host) / "accounts"
                / (_store_name(user) + ".dat")).exists()

    def _prosodyctl(self, *args, check=True):
        log = self.base_dir / "prosodyctl.log"
        start = procs.file_size(log)
        p = procs.spawn(["prosodyctl", "--config", self.config_path] + list(args),
                        log_path=log, user="prosody", cwd=self.base_dir,
                        description="prosodyctl")
        rc = procs.wait(p, 60)
        procs.forget(p)
        if rc is None:
            procs.kill_hard(p)
        if check and rc != 0:
            raise RuntimeError("prosodyctl %s failed (status %s):\n%s"
                               % (" ".join(args[:1]), rc, procs.read_text(log, start)))
        return rc

    # -------------------------------------------------------- lifecycle ---

    def start(self, timeout=15.0):
        """Start Prosody in the foreground as the prosody user.

        Returns when the c2s, component and HTTP ports accept connections.
        """
        if self.is_running():
            return
        self._log_start = procs.file_size(self.log_path)
        self.proc = procs.spawn(["prosody", "-F", "--config", self.config_path],
                                log_path=self.out_path, user="prosody", cwd=self.base_dir,
                                description="prosody")
        deadline = time.monotonic() + timeout
        for port in (self.c2s_port, self.component_port, self.http_port):
            left = max(0.1, deadline - time.monotonic())
            if not wait_for_port(port, timeout=left, alive=self.is_running):
                why = "exited with status %s" % self.proc.poll() if not self.is_running() \
                    else "did not listen on port %d within %.0f s" % (port, timeout)
                out = procs.read_text(self.out_path)
                log = self.log_text()
                self.kill()
                raise RuntimeError("prosody %s\n--- stdout/stderr:\n%s\n--- log:\n%s"
                                   % (why, procs.tail(out), procs.tail(log)))
        # Prosody installs its SIGTERM handler from a timer just after the
        # loop starts; until then SIGTERM kills it without a clean shutdown.
        # Wait for the handler so that stop() right after start() is clean.
        while not procs.handles_signal(self.proc, signal.SIGTERM):
            if not self.is_running() or time.monotonic() > deadline:
                break
            time.sleep(0.005)

    def stop(self, timeout=10.0):
        """SIGTERM and wait (SIGKILL after timeout).  Returns the exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        rc, _ = procs.stop(proc, signal.SIGTERM, timeout)
        return rc
