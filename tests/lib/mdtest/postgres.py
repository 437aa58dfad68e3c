"""A private PostgreSQL cluster for tests: unix socket only, no TCP.

    pg = Postgres("/tmp/x/pg")       # created if missing, chowned to postgres
    pg.start()                       # initdb on first start
    pg.create_database("t1")
    pg.psql("select 1, 'a'", "t1")   # -> [("1", "a")]
    pg.conninfo("t1")                # "host=/tmp/x/pg port=5432 user=postgres dbname=t1"
    pg.kill(); pg.start()            # crash and crash recovery
    pg.stop()

Layout: base_dir/data is the cluster, base_dir holds the socket
(.s.PGSQL.<port>) and postgres.log.  The port only names the socket.
initdb and postgres refuse to run as root, so they run as the `postgres`
user; base_dir and its ancestors must be reachable by that user (checked,
with a clear error).  Queries go through the psql client (no Python driver
is needed; python3-psycopg2 is not required).
"""

import glob
import os
import signal
import subprocess
import time
from pathlib import Path

from . import procs

#: psql prints SQL NULL as this (a control character no test data uses).
_NULL = "\x1a"
_FIELD_SEP = "\x1f"
_RECORD_SEP = "\x1e"


class PsqlError(RuntimeError):
    """psql failed; .stderr holds PostgreSQL's message."""

    def __init__(self, message, stderr=""):
        super().__init__(message)
        self.stderr = stderr


def find_bindir():
    """The newest /usr/lib/postgresql/N/bin (or $MUCDESK_PG_BINDIR)."""
    env = os.environ.get("MUCDESK_PG_BINDIR")
    if env:
        return Path(env)
    dirs = glob.glob("/usr/lib/postgresql/*/bin")
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, "postgres"))]
    if not dirs:
        raise FileNotFoundError("no PostgreSQL server found under /usr/lib/postgresql "
                                "(apt-get install postgresql)")
    dirs.sort(key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0)
    return Path(dirs[-1])


class Postgres:
    """One private PostgreSQL cluster (see the module docstring)."""

    def __init__(self, base_dir, port=5432, fsync=False, bindir=None, settings=None):
        self.base_dir = Path(base_dir).resolve()
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir
        self.port = int(port)
        self.log_path = self.base_dir / "postgres.log"
        self.bindir = Path(bindir) if bindir else find_bindir()
        self.fsync = fsync
        # Extra `-c name=value` server settings.
        self.settings = dict(settings or {})
        self.proc = None
        self._log_start = 0
        sock = self.socket_dir / (".s.PGSQL.%d" % self.port)
        if len(str(sock).encode()) > 107:
            raise ValueError("PostgreSQL socket path too long (max 107 bytes): %s" % sock)

    # ------------------------------------------------------ lifecycle ---

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def initialised(self):
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def _prepare_dirs(self):
        self.base_dir.mkdir(parents=True, exist_ok=True)
        uid, gid, _ = procs.user_ids("postgres")
        os.chown(self.base_dir, uid, gid)
        os.chmod(self.base_dir, 0o755)       # root (mucdesk, psql) reaches the socket
        procs.check_reachable(self.base_dir, "postgres")

    def initdb(self):
        """Create the cluster (trust auth, superuser `postgres`, UTF-8)."""
        self._prepare_dirs()
        log = self.base_dir / "initdb.log"
        argv = [self.bindir / "initdb", "-D", self.data_dir, "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"]
        p = procs.spawn(argv, log_path=log, user="postgres", cwd=self.base_dir,
                        description="initdb")
        rc = procs.wait(p, 120)
        procs.forget(p)
        if rc != 0:
            raise RuntimeError("initdb failed (status %s):\n%s" % (rc, procs.tail(procs.read_text(log))))

    def start(self, timeout=30.0):
        """Start the server (initdb first if needed); wait until it takes queries."""
        if self.is_running():
            return
        if not self.initialised:
            self.initdb()
        else:
            self._prepare_dirs()
            os.chmod(self.data_dir, 0o700)      # postgres insists
        argv = [self.bindir / "postgres", "-D", self.data_dir, "-k", self.socket_dir,
                "-p", str(self.port), "-c", "listen_addresses=",
                "-c", "unix_socket_permissions=0777"]
        settings = {}
        if not self.fsync:
            # Safe against a killed server (the OS keeps what was written),
            # not against a power cut; fast.  synchronous_commit stays on: a
            # commit reported to mucdesk must survive kill(), as in production.
            settings.update(fsync="off", full_page_writes="off")
        settings.update(self.settings)
        for k, v in settings.items():
            argv += ["-c", "%s=%s" % (k, v)]
        self._log_start = procs.file_size(self.log_path)
        self.proc = procs.spawn(argv, log_path=self.log_path, user="postgres",
                                cwd=self.base_dir, description="postgres")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                procs.forget(self.proc)
                self.proc = None
                raise RuntimeError("postgres exited with status %s while starting:\n%s"
                                   % (rc, procs.tail(self.log_text())))
            if self._ready():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError("postgres not ready after %.0f s:\n%s"
                                   % (timeout, procs.tail(self.log_text())))
            time.sleep(0.02)

    def _ready(self):
        if not (self.socket_dir / (".s.PGSQL.%d" % self.port)).exists():
            return False
        r = subprocess.run([str(self.bindir / "pg_isready"), "-q", "-h", str(self.socket_dir),
                            "-p", str(self.port), "-U", "postgres", "-d", "postgres"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def stop(self, timeout=30.0):
        """Fast shutdown (SIGINT: roll back sessions, checkpoint, exit).

        Escalates to immediate shutdown, then SIGKILL of the whole group.
        Returns the postmaster's exit status (None if it was not running).
        """
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        procs.signal_process(proc, signal.SIGINT)
        rc = procs.wait(proc, timeout)
        if rc is None:
            procs.signal_process(proc, signal.SIGQUIT)
            rc = procs.wait(proc, 5)
        if rc is None:
            rc = procs.kill_tree(proc)
        procs.forget(proc)
        return rc

    def kill(self):
        """SIGKILL the postmaster and all its processes at once (the server
        crashes, for fault tests); returns when they are all gone.  The next
        start() runs crash recovery."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        procs.kill_tree(proc)

    def restart(self):
        self.stop()
        self.start()

    # ------------------------------------------------------------ logs ---

    def log_text(self, since_start=False):
        return procs.read_text(self.log_path, self._log_start if since_start else 0)

    # ------------------------------------------------------------- SQL ---

    def conninfo(self, dbname="postgres"):
        """libpq connection string for database dbname."""
        return "host=%s port=%d user=postgres dbname=%s" % (self.socket_dir, self.port, dbname)

    def psql(self, sql, dbname="postgres", timeout=60):
        """Run SQL and return the rows of its last statement.

        sql may hold several statements; they run as one request, in one
        implicit transaction (so not CREATE DATABASE together with others;
        use script() for that).  Each row is a tuple of strings, None for
        NULL; a statement without rows gives [].  Errors raise PsqlError.
        """
        argv = self._psql_argv(dbname) + [
            "-A", "-t", "-v", "SHOW_ALL_RESULTS=off",
            "-P", "null=" + _NULL, "-F", _FIELD_SEP, "-R", _RECORD_SEP, "-c", sql]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise PsqlError("psql failed on %s: %s" % (dbname, r.stderr.strip()), r.stderr)
        return _parse_rows(r.stdout)

    def script(self, sql, dbname="postgres", timeout=120):
        """Run an SQL script (statement by statement, as `psql -f` would).

        Returns psql's text output.  Stops at the first error (PsqlError).
        """
        argv = self._psql_argv(dbname) + ["-f", "-"]
        r = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise PsqlError("psql script failed on %s: %s" % (dbname, r.stderr.strip()), r.stderr)
        return r.stdout

    def _psql_argv(self, dbname):
        return [str(self.bindir / "psql"), "-X", "-q", "-h", str(self.socket_dir),
                "-p", str(self.port), "-U", "postgres", "-d", dbname,
                "-v", "ON_ERROR_STOP=1"]

    def value(self, sql, dbname="postgres"):
        """The single value of a one-row, one-column query (None if no row)."""
        rows = self.psql(sql, dbname)
        if not rows:
            return None
        if len(rows) != 1 or len(rows[0]) != 1:
            raise ValueError("expected one value from %r, got %r" % (sql, rows))
        return rows[0][0]

    def create_database(self, name, template=None):
        sql = 'CREATE DATABASE "%s"' % _ident(name)
        if template:
            sql += ' TEMPLATE "%s"' % _ident(template)
        self.psql(sql)

    def drop_database(self, name, force=True):
        """DROP DATABASE IF EXISTS; force also disconnects its sessions."""
        sql = 'DROP DATABASE IF EXISTS "%s"' % _ident(name)
        if force:
            sql += " WITH (FORCE)"
        self.psql(sql)

    def databases(self):
        return [r[0] for r in self.psql("SELECT datname FROM pg_database ORDER BY 1")]


def _ident(name):
    if not name or '"' in name or "\0" in name:
        raise ValueError("bad database name %r" % name)
    return name


def _parse_rows(out):
    """Rows from `psql -A -t` output of one result with our separators.

    psql separates records with the record separator and ends the result
    with one newline; no output at all means no rows.
    """
    if out == "":
        return []
    if out.endswith("\n"):
        out = out[:-1]
    return [tuple(None if f == _NULL else f for f in rec.split(_FIELD_SEP))
            for rec in out.split(_RECORD_SEP)]
