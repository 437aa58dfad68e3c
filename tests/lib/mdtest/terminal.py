"""Real terminal XMPP clients (Profanity, poezio) driven through tmux:
keystrokes in (`send-keys`), the screen out (`capture-pane`).

Each client runs in a tmux server of its own (its own socket under the
test's run directory, so nothing touches another tmux on the machine),
with HOME and the XDG directories under the run directory too: no user
configuration leaks in, and the client's own logs stay with the test.

    with Profanity(run_dir / "prof", "agent1@localhost", "pw", port) as p:
        p.command("/join support@support.localhost nick Alex")
        p.wait_for("Alex has joined")   # or a compiled regex

Screens are matched as text: what an agent reads.  `wait_for` raises
AssertionError with the last screen when the text does not appear.
"""

import os
import re
import shutil
import subprocess
import time

TMUX = shutil.which("tmux") or "/usr/bin/tmux"


class TerminalClient:
    """A program in a detached tmux session of its own."""

    width, height = 200, 50

    def __init__(self, base_dir, argv, env=None):
        self.base_dir = base_dir
        os.makedirs(base_dir, exist_ok=True)
        self.home = os.path.join(base_dir, "home")
        os.makedirs(self.home, exist_ok=True)
        self.socket = os.path.join(base_dir, "tmux.sock")
        self.argv = argv
        self.env = {
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PATH": "/usr/bin:/bin",
        }
        self.env.update(env or {})
        self.started = False

    def _tmux(self, *args, check=True):
        return subprocess.run([TMUX, "-S", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, check=check,
                              env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})

    def start(self):
        env = ["env", "-i"] + ["%s=%s" % kv for kv in self.env.items()]
        self._tmux("new-session", "-d", "-s", "client", "-x", str(self.width),
                   "-y", str(self.height), *env, *self.argv)
        self.started = True
        return self

    def stop(self):
        """Ends the tmux server (and the client in it); safe to call twice."""
        if self.started:
            self._tmux("kill-server", check=False)
            self.started = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def keys(self, text, enter=True):
        """Types text (literally: no tmux key names) and, by default, Enter."""
        self._tmux("send-keys", "-t", "client", "-l", text)
        if enter:
            self._tmux("send-keys", "-t", "client", "Enter")

    def key(self, name):
        """Presses one named key (tmux's names: Enter, Escape, M-2, C-n...)."""
        self._tmux("send-keys", "-t", "client", name)

    def screen(self):
        """The visible screen as text, trailing blanks removed per line."""
        out = self._tmux("capture-pane", "-p", "-J", "-t", "client").stdout
        return "\n".join(line.rstrip() for line in out.splitlines())

    def alive(self):
        return self.started and self._tmux("has-session", "-t", "client",
                                           check=False).returncode == 0

    def wait_for(self, pattern, timeout=15.0, absent=False):
        """Waits until pattern (text or compiled regex) is on the screen (or,
        absent=True, is no longer); returns the screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            found = (pattern.search(screen) if isinstance(pattern, re.Pattern)
                     else pattern in screen)
            if bool(found) != absent:
                return screen
            time.sleep(0.2)
        raise AssertionError("%s %r on %s's screen after %.0f s; the screen:\n%s"
                             % ("still" if absent else "no", getattr(pattern, "pattern",
                                                                      pattern),
                                self.argv[0], timeout, screen))

    def assert_never(self, pattern, duration=1.5):
        """pattern does not appear on the screen for duration seconds."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            screen = self.screen()
            found = (pattern.search(screen) if isinstance(pattern, re.Pattern)
                     else pattern in screen)
            assert not found, "%r on the screen:\n%s" % (pattern, screen)
            time.sleep(0.2)


class Profanity(TerminalClient):
    """Profanity (0.13, Debian's) logged in as jid on 127.0.0.1:port,
    without TLS (the test servers allow plain authentication on loopback).
    """

    def __init__(self, base_dir, jid, password, port):
        super().__init__(base_dir, ["/usr/bin/profanity", "-l", "DEBUG"])
        self.jid, self.password, self.port = jid, password, port

    def start(self):
        super().start()
        self.wait_for("Type '/help'", timeout=15)
        self.command("/connect %s server 127.0.0.1 port %d tls disable"
                     % (self.jid, self.port))
        self.wait_for("password", timeout=10)
        self.keys(self.password)
        self.wait_for("logged in successfully", timeout=15)
        return self

    def command(self, text):
        """Types a line in the current window, as an agent would."""
        self.keys(text)

    def window(self, number):
        """Switches to window number (1 is the console)."""
        self.key("M-%d" % number) if number < 10 else self.command("/win %d" % number)

    def log(self):
        """Profanity's own debug log (what it sent and received)."""
        path = os.path.join(self.home, ".local", "share", "profanity", "logs",
                            "profanity.log")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""
