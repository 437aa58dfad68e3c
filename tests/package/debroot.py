"""Throwaway Debian 12 roots for the package tests.

    base = ensure_base(["adduser", "libpq5", ...])    # cached debootstrap
    root = Root(base, run_dir)                        # overlay on top of it
    root.mount()                                      # overlay, /proc, /dev
    root.bind(pg_socket_dir, "/run/postgresql")
    root.run(["dpkg", "-i", "/tmp/x.deb"])            # chroot ROOT argv
    root.unmount()                                    # always (a finalizer)

The base: `debootstrap --variant=minbase bookworm` from the Debian mirror
the host's apt sources name (or $MUCDESK_DEBIAN_MIRROR), with the packages
the built .deb depends on included, so that installing it needs no network.
It is kept under $MUCDESK_CACHE_DIR (default /var/cache/mucdesk-tests),
outside the clone, one directory per (suite, architecture, included
packages): the first run takes a debootstrap (about 30 s on a good link),
later ones reuse it.  Each run mounts an overlay (the base read-only below,
a fresh upper directory per run), so a run starts from the same pristine
root in no time and the base is never written.

Mounts are undone by unmount() (a fixture finalizer, so after a failure
too); tests/run also runs this layer in a private mount namespace (unshare
-m), where the kernel drops every mount when the run ends, even a killed
one.  Work directories left by a dead run are swept (their mounts undone
first) by the next one.  Nothing is ever deleted below a mount point.
"""

import fcntl
import glob
import hashlib
import os
import re
import subprocess
import time
from pathlib import Path

SUITE = "bookworm"
VARIANT = "minbase"
DEFAULT_MIRROR = "http://deb.debian.org/debian"

#: Where per-run overlays live (each in a directory named after its pid).
WORK_ROOT = Path("/var/tmp/mucdesk-pkgtest")


def cache_dir():
    return Path(os.environ.get("MUCDESK_CACHE_DIR") or "/var/cache/mucdesk-tests")


def host_arch():
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True, check=True).stdout.strip()


# ------------------------------------------------------------- mirror ---

def _sources_entries():
    """(uri, suites, components) of every `deb` source the host's apt has,
    from one-line .list files and deb822 .sources files."""
    entries = []
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for f in files:
        try:
            lines = Path(f).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.split("#", 1)[0].strip()
            m = re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)", line)
            if m:
                entries.append((m.group(1), [m.group(2)], m.group(3).split()))
    for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            text = Path(f).read_text()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.split()
            if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"]) == ["no"]:
                continue
            for uri in fields.get("uris", []):
                entries.append((uri, fields.get("suites", []), fields.get("components", [])))
    return entries


def mirror():
    """The Debian mirror for debootstrap: $MUCDESK_DEBIAN_MIRROR, else the
    first apt source of the host serving `bookworm main`, else
    deb.debian.org."""
    env = os.environ.get("MUCDESK_DEBIAN_MIRROR")
    if env:
        return env
    for uri, suites, components in _sources_entries():
        if SUITE in suites and "main" in components and uri.startswith(("http://", "https://")):
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def mirror_reachable(uri, timeout=20):
    """True if the mirror serves dists/SUITE/Release (a plain HTTP GET,
    as debootstrap's wget would)."""
    import urllib.request
    try:
        with urllib.request.urlopen("%s/dists/%s/Release" % (uri, SUITE), timeout=timeout) as r:
            return r.status == 200 and b"Codename: " + SUITE.encode() in r.read(4096)
    except OSError:
        return False


# ---------------------------------------------------------- the base ---

def _key(arch, include, uri):
    text = "\n".join([SUITE, VARIANT, arch, uri] + sorted(include))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_base(include, log_path):
    """The cached base root for these packages, made by debootstrap if
    missing (under a lock: parallel runs make it once).  Returns
    (path, seconds spent making it; 0 when it was cached)."""
    arch = host_arch()
    uri = mirror()
    cdir = cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    base = cdir / ("%s-%s-%s-%s" % (SUITE, VARIANT, arch, _key(arch, include, uri)))
    ready = base / ".mucdesk-base-ready"
    with open(cdir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            ready.touch()                       # last used
            return base, 0.0
        _sweep(cdir, "tmp-")
        if not mirror_reachable(uri):
            raise RuntimeError("the Debian mirror %s does not answer (dists/%s/Release): "
                               "set MUCDESK_DEBIAN_MIRROR" % (uri, SUITE))
        tmp = cdir / ("tmp-%d" % os.getpid())
        t0 = time.monotonic()
        with open(log_path, "ab") as log:
            r = subprocess.run(["debootstrap", "--variant=" + VARIANT,
                                "--include=" + ",".join(sorted(include)),
                                "--arch=" + arch, SUITE, str(tmp), uri],
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            _remove_tree(tmp)
            raise RuntimeError("debootstrap failed (status %d): see %s" % (r.returncode, log_path))
        # Clean what a per-run root does not need: the downloaded .debs.
        for deb in (tmp / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        if _mounts_under(tmp):
            raise RuntimeError("debootstrap left mounts under %s" % tmp)
        os.rename(tmp, base)
        ready.touch()
        return base, time.monotonic() - t0


# ------------------------------------------------------------ mounts ---

def _mounts_under(path):
    """Mount points at or below path (deepest first), from mountinfo."""
    path = os.path.realpath(path)
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path or mp.startswith(path.rstrip("/") + "/"):
                points.append(mp)
    return sorted(set(points), key=len, reverse=True)


def _umount(point):
    if subprocess.run(["umount", point], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", point], capture_output=True)


def _remove_tree(path):
    """rm -rf path, but only once nothing is mounted below it (a /dev bind
    mount must never be emptied), and never across filesystems."""
    for point in _mounts_under(path):
        _umount(point)
    left = _mounts_under(path)
    if left:
        raise RuntimeError("still mounted, not removing %s: %s" % (path, ", ".join(left)))
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(parent, prefix):
    """Remove parent/<prefix><pid>* directories whose process is gone."""
    for d in Path(parent).glob(prefix + "*"):
        m = re.match(re.escape(prefix) + r"(\d+)", d.name)
        if m and not _pid_alive(int(m.group(1))):
            try:
                _remove_tree(d)
            except RuntimeError:
                pass


class Root:
    """One throwaway root: an overlay on the base, with /proc and /dev."""

    def __init__(self, base, label="root"):
        WORK_ROOT.mkdir(parents=True, exist_ok=True)
        _sweep(WORK_ROOT, "run-")
        self.base = Path(base)
        self.work = WORK_ROOT / ("run-%d-%s" % (os.getpid(), label))
        if self.work.exists():
            _remove_tree(self.work)
        self.path = self.work / "root"
        self._mounted = []

    def mount(self):
        for d in ("upper", "ovl-work", "root"):
            (self.work / d).mkdir(parents=True, exist_ok=True)
        self._mount(["-t", "overlay", "overlay", "-o",
                     "lowerdir=%s,upperdir=%s,workdir=%s"
                     % (self.base, self.work / "upper", self.work / "ovl-work")], self.path)
        self._mount(["-t", "proc", "proc"], self.path / "proc")
        self._mount(["--bind", "/dev"], self.path / "dev")
        return self

    def bind(self, source, target):
        """Bind-mount host directory source at target inside the root."""
        inside = self.inside(target)
        inside.mkdir(parents=True, exist_ok=True)
        self._mount(["--bind", str(source)], inside)

    def _mount(self, args, point):
        subprocess.run(["mount"] + args + [str(point)], check=True, capture_output=True)
        self._mounted.append(str(point))

    def inside(self, path):
        """The host path of path (absolute, inside the root)."""
        return self.path / str(path).lstrip("/")

    def command(self, argv):
        return ["/usr/sbin/chroot", str(self.path)] + [str(a) for a in argv]

    def run(self, argv, check=True, timeout=300, env=None, input=None):
        """Run argv inside the root (as root); returns CompletedProcess with
        text stdout/stderr.  check: raise AssertionError with both on failure."""
        env = env or {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                      "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
        r = subprocess.run(self.command(argv), capture_output=True, text=True,
                           timeout=timeout, env=env, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError("in the root: %s exited with %d\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(map(str, argv)), r.returncode, r.stdout, r.stderr))
        return r

    def processes(self):
        """Pids of processes whose root directory is this root."""
        pids = []
        me = os.path.realpath(self.path)
        for p in glob.glob("/proc/[0-9]*"):
            try:
                if os.readlink(p + "/root") == me:
                    pids.append(int(os.path.basename(p)))
            except OSError:
                pass
        return pids

    def unmount(self):
        """Kill what still runs inside, undo every mount, delete the run's
        directories.  Safe to call twice; raises if a mount stays."""
        import signal
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        for point in reversed(self._mounted):
            _umount(point)
        self._mounted = []
        if self.work.exists():
            _remove_tree(self.work)


def tree_snapshot(root, exclude):
    """{relative path: (type, mode, uid, gid, size, sha256 for /etc files)}
    of everything in root on its own filesystem, skipping paths that match
    the regular expression exclude (relative, no leading slash)."""
    root = str(root)
    rx = re.compile(exclude)
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            rel = os.path.normpath(os.path.join(rel_dir, d))
            if os.path.ismount(full) or rx.match(rel):
                continue
            keep.append(d)
            st = os.lstat(full)
            snap[rel] = ("d", st.st_mode, st.st_uid, st.st_gid, 0, None)
        dirnames[:] = keep
        for f in filenames:
            full = os.path.join(dirpath, f)
            rel = os.path.normpath(os.path.join(rel_dir, f))
            if rx.match(rel):
                continue
            st = os.lstat(full)
            digest = None
            if rel.startswith("etc/") and os.path.isfile(full) and not os.path.islink(full):
                with open(full, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            kind = "l" if os.path.islink(full) else "f"
            snap[rel] = (kind, st.st_mode, st.st_uid, st.st_gid,
                         st.st_size if kind == "f" else 0, digest)
    return snap


def snapshot_diff(before, after):
    """Lines describing what purge left behind or took away."""
    out = []
    for p in sorted(set(before) | set(after)):
        if p not in before:
            out.append("left behind: /%s %s" % (p, after[p]))
        elif p not in after:
            out.append("removed: /%s" % p)
        elif before[p] != after[p]:
            out.append("changed: /%s %s -> %s" % (p, before[p], after[p]))
    return out


def remove_stale_bases(keep, days=30):
    """Delete cached bases other than keep not used for `days` days."""
    cutoff = time.time() - days * 86400
    for marker in cache_dir().glob("*/.mucdesk-base-ready"):
        base = marker.parent
        if base != Path(keep) and marker.stat().st_mtime < cutoff:
            try:
                _remove_tree(base)
            except RuntimeError:
                pass


__all__ = ["ensure_base", "Root", "mirror", "mirror_reachable", "tree_snapshot",
           "snapshot_diff", "remove_stale_bases"]
