"""A private ejabberd instance for tests, made from the demo config template.

    e = Ejabberd(run_dir, "support.localhost", "s3cret")   # picks free ports
    e.start()                                 # as the ejabberd user, foreground
    e.register("agent1", "localhost", "pw")   # needs the node running
    e.register_all({"agent1@localhost": "pw", ...})
    e.c2s_port, e.component_port, e.http_port
    e.wait_for_log(e.COMPONENT_UP)
    e.stop()

The same interface as mdtest.prosody.Prosody, so the integration fixtures
can run the end-to-end tests against either server (tests/run's
`ejabberd` layer).  The config comes from contrib/ejabberd/mucdesk-demo.yml.in:
hosts `localhost` (accounts) and `anon.localhost` (anonymous login), the
component domain, no TLS, everything on 127.0.0.1.

ejabberd is started through Debian's ejabberdctl with a ctl config of its
own (`ejabberdctl -c FILE`; `--config` is not honoured): node name, Mnesia
spool, log directory and config path all under run_dir.  ERL_DIST_PORT
gives the node a fixed distribution port, so no epmd daemon is started
(one would outlive the test) and ejabberdctl's own commands (register,
unregister) reach the node on that port.  Everything runs as the ejabberd user,
with HOME in run_dir so that the node and ejabberdctl share one Erlang
cookie.

ejabberd's log lines worth waiting for (logs/ejabberd.log, level info):
  "is started in the node"                                   up
  "Accepted external component handshake authentication"     component connected
"""

import itertools
import os
import shutil
import signal
import time
from pathlib import Path

from . import REPO, procs
from .ports import free_port, wait_for_port
from .prosody import render_template
from .xmppserver import XmppServer

TEMPLATE = REPO / "contrib" / "ejabberd" / "mucdesk-demo.yml.in"
EJABBERDCTL = "/usr/sbin/ejabberdctl"

_instances = itertools.count(1)
_templates = {}     # sorted account items -> (node name, spool directory)


class Ejabberd(XmppServer):
    """One private ejabberd (see the module docstring)."""

    #: Log line ejabberd writes when a component completes the handshake.
    COMPONENT_UP = "Accepted external component handshake authentication"
    STARTED = "is started in the node"
    name = "ejabberd"
    USER = "ejabberd"
    WEBSOCKET_PATH = "/ws"
    BOSH_PATH = "/bosh"

    def __init__(self, base_dir, component_domain="support.localhost",
                 component_secret="changeme", c2s_port=None, component_port=None,
                 http_port=None, log_level="info", node=None, spool_from=None,
                 epmd_port=None):
        """node: the Erlang node name (default: one of its own).  spool_from:
        a Mnesia spool to start from (a copy is made), written by a node of
        the same name.  epmd_port: find other nodes through the epmd on this
        port (a cluster, see start_cluster_peer) instead of a fixed
        distribution port."""
        self.base_dir = Path(base_dir).resolve()
        self.component_domain = component_domain
        self.component_secret = component_secret
        self.c2s_port = c2s_port or free_port()
        self.component_port = component_port or free_port()
        self.http_port = http_port or free_port()
        self.dist_port = free_port()
        self.log_level = log_level
        # Short names.  Mnesia's schema records the node's name: a spool
        # only starts under the name of the node that wrote it.
        self.node = node or "mdtest%d_%d@localhost" % (os.getpid(), next(_instances))
        self.spool_from = spool_from
        self.config_path = self.base_dir / "ejabberd.yml"
        self.ctl_config_path = self.base_dir / "ejabberdctl.cfg"
        self.spool_dir = self.base_dir / "spool"
        self.logs_dir = self.base_dir / "logs"
        self.log_path = self.logs_dir / "ejabberd.log"
        self.out_path = self.base_dir / "ejabberd.out"    # stdout/stderr (start-up errors)
        self.proc = None
        self._log_start = 0
        self.epmd_port = epmd_port
        self._epmd = None
        self._write_config()

    # ----------------------------------------------------------- config ---

    def _write_config(self):
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self.spool_from is not None:
            shutil.copytree(self.spool_from, self.spool_dir)
        self.spool_dir.mkdir(exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        self.config_path.write_text(render_template(TEMPLATE.read_text(), {
            "C2S_PORT": self.c2s_port,
            "COMPONENT_PORT": self.component_port,
            "HTTP_PORT": self.http_port,
            "COMPONENT_DOMAIN": self.component_domain,
            "COMPONENT_SECRET": self.component_secret,
            "LOG_LEVEL": self.log_level,
        }))
        self._write_ctl_config()
        self._hand_over_run_dir()

    def _write_ctl_config(self):
        # Alone, a fixed distribution port (no epmd).  In a cluster every
        # node assumes that port for the others too, so two nodes on one
        # host find each other through a private epmd (ERL_EPMD_PORT,
        # exported by the sourced file to the nodes and to ejabberdctl).
        if self.epmd_port is None:
            dist = ["ERL_DIST_PORT=%d" % self.dist_port]
        else:
            dist = ["ERL_EPMD_PORT=%d" % self.epmd_port, "export ERL_EPMD_PORT",
                    "ERL_EPMD_ADDRESS=127.0.0.1"]
        self.ctl_config_path.write_text("\n".join([
            "ERLANG_NODE=%s" % self.node,
            "EJABBERD_CONFIG_PATH=%s" % self.config_path,
            "SPOOL_DIR=%s" % self.spool_dir,
            "LOGS_DIR=%s" % self.logs_dir,
            "EJABBERD_PID_PATH=%s" % (self.base_dir / "ejabberd.pid"),
        ] + dist + [
            "INET_DIST_INTERFACE=127.0.0.1",
            'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"',
            "EJABBERD_BYPASS_WARNINGS=true",
            "",
        ]))

    # ---------------------------------------------------------- cluster ---

    def start_cluster_peer(self, base_dir, timeout=60.0):
        """A second node joined to this one (`ejabberdctl join_cluster`):
        its own c2s and component ports, the accounts and routes shared.
        This node is restarted on a private epmd first (the test's own
        process, killed with this node).  Returns the started peer; close
        it before this one."""
        if self._epmd is None:
            self.epmd_port = free_port()
            self._epmd = procs.spawn(["/usr/bin/epmd", "-port", str(self.epmd_port),
                                      "-address", "127.0.0.1"],
                                     log_path=self.base_dir / "epmd.log", user=self.USER,
                                     cwd=self.base_dir, description="epmd")
            if not wait_for_port(self.epmd_port, timeout=10):
                raise RuntimeError("epmd did not listen on port %d" % self.epmd_port)
            self.stop()
            self._write_ctl_config()
            self.start()
        peer = Ejabberd(base_dir, self.component_domain, self.component_secret,
                        log_level=self.log_level, epmd_port=self.epmd_port,
                        node="%s_peer@localhost" % self.node.split("@")[0])
        # One Erlang cookie for the cluster: the peer's HOME gets this one's.
        cookie = self.base_dir / ".erlang.cookie"
        shutil.copy2(cookie, peer.base_dir / ".erlang.cookie")
        uid, gid, _ = procs.user_ids(self.USER)
        os.chown(peer.base_dir / ".erlang.cookie", uid, gid)
        peer.start(timeout)
        peer._ctl("join_cluster", self.node, timeout=timeout)
        # join_cluster restarts the peer's applications: wait for its ports.
        for port in (peer.c2s_port, peer.component_port):
            if not wait_for_port(port, timeout=timeout, alive=peer.is_running):
                raise RuntimeError("the cluster peer did not listen on %d again" % port)
        return peer

    @classmethod
    def with_accounts(cls, base_dir, component_domain, component_secret, accounts,
                      **options):
        """A started ejabberd where accounts ({bare JID: password}) exist.

        Registering costs a second (an Erlang VM per ejabberdctl command),
        so the first call in a process registers them in a template node,
        stops it and keeps its spool; later calls start from a copy of it.
        """
        key = tuple(sorted(accounts.items()))
        template = _templates.get(key)
        if template is None:
            t = cls(procs.new_run_dir("ejabberd-template"), component_domain,
                    component_secret)
            t.start()
            try:
                t.register_all(accounts)
            finally:
                t.stop()
            template = _templates[key] = (t.node, t.spool_dir)
        node, spool = template
        server = cls(base_dir, component_domain, component_secret,
                     node=node, spool_from=spool, **options)
        server.start()
        return server

    # --------------------------------------------------------- accounts ---

    def register(self, user, host, password):
        """Create (or reset the password of) an account; the node must run."""
        self.register_all({"%s@%s" % (user, host): password})

    def register_all(self, accounts):
        """register() each {bare JID: password}.  ejabberdctl starts an
        Erlang VM per command (half a second): they run side by side."""
        running = []
        for jid, password in accounts.items():
            user, host = jid.split("@")
            running.append((jid, self._ctl_spawn("register", user, host, password)))
        for jid, proc in running:
            if self._ctl_wait(proc, 60) != 0:
                # Registered already (a restarted node keeps its accounts):
                # change_password needs mod_admin_extra, so register anew.
                user, host = jid.split("@")
                self._ctl("unregister", user, host)
                self._ctl("register", user, host, accounts[jid])

    def _ctl_spawn(self, *args):
        return procs.spawn([EJABBERDCTL, "-c", self.ctl_config_path] + list(args),
                           log_path=self.base_dir / "ejabberdctl.log", user="ejabberd",
                           cwd=self.base_dir, description="ejabberdctl")

    @staticmethod
    def _ctl_wait(proc, timeout):
        rc = procs.wait(proc, timeout)
        procs.forget(proc)
        if rc is None:
            procs.kill_hard(proc)
        return rc

    def _ctl(self, *args, check=True, timeout=60):
        log = self.base_dir / "ejabberdctl.log"
        start = procs.file_size(log)
        rc = self._ctl_wait(self._ctl_spawn(*args), timeout)
        if check and rc != 0:
            raise RuntimeError("ejabberdctl %s failed (status %s):\n%s"
                               % (args[0], rc, procs.read_text(log, start)))
        return rc

    # -------------------------------------------------------- lifecycle ---

    def start(self, timeout=30.0):
        """Start ejabberd in the foreground as the ejabberd user.

        Returns when it says it has started and its c2s, component and HTTP
        ports accept connections.
        """
        if self.is_running():
            return
        self._log_start = procs.file_size(self.log_path)
        self.proc = procs.spawn([EJABBERDCTL, "-c", self.ctl_config_path, "foreground"],
                                log_path=self.out_path, user="ejabberd", cwd=self.base_dir,
                                description="ejabberd")
        deadline = time.monotonic() + timeout
        try:
            procs.wait_for_text(self.log_path, self.STARTED, timeout,
                                start=self._log_start, alive=self.is_running,
                                what="ejabberd log")
            for port in (self.c2s_port, self.component_port, self.http_port):
                left = max(0.1, deadline - time.monotonic())
                if not wait_for_port(port, timeout=left, alive=self.is_running):
                    raise RuntimeError("did not listen on port %d within %.0f s"
                                       % (port, timeout))
        except Exception as e:
            out = procs.read_text(self.out_path)
            log = self.log_text()
            self.kill()
            raise RuntimeError("ejabberd did not start: %s\n--- stdout/stderr:\n%s\n--- log:\n%s"
                               % (e, procs.tail(out), procs.tail(log))) from None

    def stop(self, timeout=20.0):
        """A clean shutdown (SIGTERM: the Erlang VM stops its applications,
        about 2 s), then wait for every process of the group; SIGKILL after
        timeout.  Returns the exit status of the foreground ejabberdctl."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        # The group: ejabberdctl (a shell waiting for erl), the VM and its
        # port programs.  The shell dies at once; the VM takes its time.
        procs.signal_group(proc, signal.SIGTERM)
        rc = procs.wait(proc, timeout)
        deadline = time.monotonic() + timeout
        while procs.group_alive(proc) and time.monotonic() < deadline:
            time.sleep(0.02)
        procs.reap_group(proc)
        procs.forget(proc)
        return rc

    def close(self):
        """End of a test: the instance and its data are thrown away, so a
        kill does (a clean stop would cost every test 2 s)."""
        self.kill()
        if self._epmd is not None:
            procs.kill_hard(self._epmd)
            procs.forget(self._epmd)
            self._epmd = None
