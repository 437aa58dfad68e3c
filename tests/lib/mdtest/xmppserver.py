"""What the private XMPP servers of the tests have in common
(mdtest.prosody.Prosody, mdtest.ejabberd.Ejabberd): the fixtures and tests
use only this interface, so that every end-to-end test runs against either.

A subclass sets `name` (its run directory's name and its word in errors),
USER (the system user it runs as), WEBSOCKET_PATH and BOSH_PATH (on its
HTTP port), COMPONENT_UP (the log line that says a component completed its
handshake), and in __init__: base_dir, c2s_port, component_port, http_port, log_path,
proc = None, _log_start = 0; it provides start(), stop() and register().
"""

import os

from . import procs


class XmppServer:
    name = "xmpp server"
    USER = None
    WEBSOCKET_PATH = None
    BOSH_PATH = None
    COMPONENT_UP = None

    @property
    def websocket_url(self):
        return "ws://127.0.0.1:%d%s" % (self.http_port, self.WEBSOCKET_PATH)

    @property
    def bosh_url(self):
        return "http://127.0.0.1:%d%s" % (self.http_port, self.BOSH_PATH)

    def _hand_over_run_dir(self):
        """The run directory (config written) to the server's user."""
        procs.chown_tree(self.base_dir, self.USER)
        os.chmod(self.config_path, 0o640)        # holds the component secret
        procs.check_reachable(self.base_dir, self.USER)

    @classmethod
    def with_accounts(cls, base_dir, component_domain, component_secret, accounts,
                      **options):
        """A started server where accounts ({bare JID: password}) exist;
        options go to the constructor (log_level...)."""
        server = cls(base_dir, component_domain, component_secret, **options)
        server.start()
        server.register_all(accounts)
        return server

    def register_all(self, accounts):
        """register() each {bare JID: password}."""
        for jid, password in accounts.items():
            user, host = jid.split("@")
            self.register(user, host, password)

    # -------------------------------------------------------- lifecycle ---

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        """End of a test: a clean stop (a subclass may do it faster)."""
        self.stop()

    def kill(self):
        """SIGKILL the server and its whole process group (a crash)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        procs.kill_hard(proc)

    def restart(self):
        self.stop()
        self.start()

    # ------------------------------------------------------------- logs ---

    def mark(self):
        """Current end of the log: pass as `after` to wait_for_log()."""
        return procs.file_size(self.log_path)

    def log_text(self, after=0):
        return procs.read_text(self.log_path, after)

    def wait_for_log(self, substring, timeout=10.0, after=None):
        """Wait for substring in the log written since the last start()
        (or since the offset `after` from mark()).  Returns the offset just
        past the match, usable as the next `after`."""
        return procs.wait_for_text(self.log_path, substring, timeout,
                                   start=self._log_start if after is None else after,
                                   alive=self.is_running, what="%s log" % self.name)
