"""Starting, stopping and cleaning up the processes the tests run.

Every server is started in a session of its own (a Ctrl-C meant for pytest
does not hit it; killpg reaches whatever it forks into its group; note
that PostgreSQL's backends make sessions of their own: kill_tree() handles
them) and recorded here; an atexit hook kills whatever a test forgot to
stop, so an aborted pytest run leaves no postgres, prosody or mucdesk
behind.

Servers that refuse to run as root (postgres, prosody) are started as their
Debian system user by the subprocess module itself (setuid/setgid between
fork and exec), not through runuser: runuser stays in between as a
"watching parent" that turns a signal into SIGTERM-then-SIGKILL for its
child, which would spoil a fast PostgreSQL shutdown and would make the pid
we hold not the server's.

Also here: run directories that the postgres and prosody users can reach,
and small log-file helpers shared by the server classes.
"""

import atexit
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

_live_lock = threading.Lock()
_live = {}          # pid -> (Popen, description)


# ---------------------------------------------------------------- users ---

def user_ids(user):
    """(uid, gid, supplementary gids) of a system user."""
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid, os.getgrouplist(user, pw.pw_gid)


def chown_tree(path, user):
    """chown -R path to user:user's primary group."""
    uid, gid, _ = user_ids(user)
    path = Path(path)
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def check_reachable(path, user):
    """Raise PermissionError unless `user` can traverse every ancestor of path.

    The classic trap: pytest's tmp_path lives under /tmp/pytest-of-root,
    which is mode 0700, and a checkout under /root is too; the postgres and
    prosody users then cannot reach their own data directory, and the
    servers fail with an unhelpful message.
    """
    uid, gid, groups = user_ids(user)
    if uid == 0:
        return
    path = Path(path).resolve()
    for ancestor in reversed(path.parents):
        st = ancestor.stat()
        if st.st_uid == uid:
            ok = st.st_mode & 0o100
        elif st.st_gid in groups:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            raise PermissionError(
                "user %r cannot reach %s: %s is mode %o (owner %s); "
                "put the run directory elsewhere (MUCDESK_TEST_TMPDIR) or chmod o+x it"
                % (user, path, ancestor, st.st_mode & 0o7777,
                   pwd.getpwuid(st.st_uid).pw_name if _has_uid(st.st_uid) else st.st_uid))


def _has_uid(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


# ------------------------------------------------------------ run dirs ---

_session_root = None
_session_lock = threading.Lock()
_counter = 0


def session_root():
    """A per-process directory for run dirs, reachable by system users.

    Under $MUCDESK_TEST_TMPDIR or /tmp, mode 0755, removed at exit unless
    MUCDESK_KEEP_RUNS=1.  Paths stay short because a PostgreSQL socket path
    must fit in 107 bytes.
    """
    global _session_root
    with _session_lock:
        if _session_root is None:
            base = os.environ.get("MUCDESK_TEST_TMPDIR") or "/tmp"
            _session_root = Path(tempfile.mkdtemp(prefix="mdt-", dir=base))
            os.chmod(_session_root, 0o755)
        return _session_root


def new_run_dir(label="run"):
    """A fresh, empty directory (mode 0755) for one server or one test."""
    global _counter
    with _session_lock:
        _counter += 1
        n = _counter
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:24]
    path = session_root() / ("%d-%s" % (n, safe))
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    return path


# ----------------------------------------------------------- processes ---

def spawn(argv, *, log_path, user=None, env=None, cwd=None, description=None):
    """Start argv in a new session with stdout+stderr appended to log_path.

    user: run as this system user (uid, gid and its groups).  env: the whole
    environment (default: a minimal one).  Returns the Popen; its pid is the
    server's own pid (no wrapper in between).
    """
    if env is None:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    kwargs = {}
    if user is not None:
        uid, gid, groups = user_ids(user)
        kwargs.update(user=uid, group=gid, extra_groups=groups)
        env = dict(env)
        env.setdefault("HOME", str(cwd or "/"))
        env.setdefault("USER", user)
    log = open(log_path, "ab", buffering=0)
    try:
        proc = subprocess.Popen(
            [str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            env=env, cwd=str(cwd) if cwd else None, start_new_session=True,
            close_fds=True, **kwargs)
    finally:
        log.close()
    with _live_lock:
        _live[proc.pid] = (proc, description or os.path.basename(str(argv[0])))
    return proc


def forget(proc):
    """Stop tracking a process that has been reaped."""
    with _live_lock:
        _live.pop(proc.pid, None)


def signal_group(proc, sig):
    """Send sig to the process group the process leads (ignore if gone)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def signal_process(proc, sig):
    """Send sig to the process itself (ignore if gone)."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


def wait(proc, timeout):
    """Wait up to timeout seconds; return the exit status or None."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def kill_hard(proc):
    """SIGKILL the whole process group and reap the leader."""
    signal_group(proc, signal.SIGKILL)
    signal_process(proc, signal.SIGKILL)
    rc = wait(proc, 10)
    reap_group(proc)
    forget(proc)
    return rc


def group_alive(proc):
    """True while a live process is left in the group proc led.

    Zombies do not count: a killed member whose parent died too is reaped
    by init, which here may take a second or more (PID 1 is not always a
    prompt reaper), and a zombie holds no port, file or memory.
    """
    return any(pgrp == proc.pid and state != "Z"
               for _, state, _, pgrp in _processes())


def reap_group(proc, timeout=5.0):
    """SIGKILL what is left of the group once its leader has exited.

    A killed postmaster can leave backends behind for a moment; they share
    its process group, which outlives the leader while any member does.
    """
    deadline = time.monotonic() + timeout
    while group_alive(proc):
        signal_group(proc, signal.SIGKILL)
        if time.monotonic() >= deadline:
            return
        time.sleep(0.02)


def stop(proc, sig=signal.SIGTERM, timeout=10.0):
    """Signal the process, wait, SIGKILL the group if it is too slow.

    Returns (exit status, True if it exited by itself in time).
    """
    if proc.poll() is None:
        signal_process(proc, sig)
    rc = wait(proc, timeout)
    in_time = rc is not None
    if not in_time:
        rc = kill_hard(proc)
    reap_group(proc)
    forget(proc)
    return rc, in_time


def handles_signal(proc, sig):
    """True if the process has installed a handler for sig (/proc SigCgt)."""
    try:
        with open("/proc/%d/status" % proc.pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (int(sig) - 1)))
    except (OSError, ValueError):
        pass
    return False


def _stat(pid):
    """(state, ppid, pgrp) of a process from /proc/PID/stat, or None."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


def _processes():
    """(pid, state, ppid, pgrp) of every process, from /proc."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(entry)
            if st is not None:
                yield (int(entry),) + st


def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    return [child for child, _, ppid, _ in _processes() if ppid == pid]


def pid_gone(pid):
    """True if pid no longer exists or is a zombie."""
    st = _stat(pid)
    return st is None or st[0] == "Z"


def kill_tree(proc, timeout=10.0):
    """SIGKILL a process and its direct children (PostgreSQL's backends
    each run in a session of their own, out of reach of killpg), then wait
    until all are gone.  Returns the leader's exit status."""
    kids = children_of(proc.pid)
    signal_process(proc, signal.SIGKILL)
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    rc = wait(proc, timeout)
    deadline = time.monotonic() + timeout
    while not all(pid_gone(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.01)
    reap_group(proc, 1.0)
    forget(proc)
    return rc


def live_processes():
    """[(pid, description)] of tracked processes still running."""
    with _live_lock:
        return [(pid, d) for pid, (p, d) in _live.items() if p.poll() is None]


def _kill_leftovers():
    with _live_lock:
        items = list(_live.values())
    for proc, _ in items:
        if proc.poll() is None:
            signal_group(proc, signal.SIGKILL)
            kill_tree(proc, 5.0)
        reap_group(proc, 1.0)
        forget(proc)


@atexit.register
def _at_exit():
    """Kill what is left, then remove the run directories (in that order)."""
    _kill_leftovers()
    if _session_root is not None and os.environ.get("MUCDESK_KEEP_RUNS") != "1":
        shutil.rmtree(str(_session_root), ignore_errors=True)


# ------------------------------------------------------------- logs ---

def read_text(path, start=0):
    """Text of a file from byte offset start ('' if missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def file_size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def tail(text, lines=30):
    return "\n".join(text.splitlines()[-lines:])


def wait_for_text(path, needle, timeout, start=0, alive=None, what="log"):
    """Wait until needle appears in the file after byte offset start.

    alive(): optional; when it returns False, give up early (the process
    died).  Returns the byte offset just past the first match; raises
    TimeoutError with the end of the file otherwise.
    """
    deadline = time.monotonic() + timeout
    while True:
        data = read_text(path, start)
        i = data.find(needle)
        if i >= 0:
            return start + len(data[: i + len(needle)].encode("utf-8"))
        if alive is not None and not alive():
            data = read_text(path, start)  # one last look, it may have flushed
            i = data.find(needle)
            if i >= 0:
                return start + len(data[: i + len(needle)].encode("utf-8"))
            raise TimeoutError("process exited before %r appeared in %s %s; last lines:\n%s"
                               % (needle, what, path, tail(data)))
        if time.monotonic() >= deadline:
            raise TimeoutError("%r did not appear in %s %s within %.1f s; last lines:\n%s"
                               % (needle, what, path, timeout, tail(data)))
        time.sleep(0.02)
