"""Free TCP ports on the loopback interface.

free_port() picks a random port *below* the kernel's ephemeral range, so
that it cannot be taken in the meantime by the source port of some outgoing
connection, checks that it can be bound right now, and never hands the same
port out twice in one process.  Random choice (from the OS's entropy, not
the `random` module's global state, which a test may seed) keeps parallel
test runs on one machine from picking the same ports.
"""

import random
import socket
import threading

_rng = random.SystemRandom()
_lock = threading.Lock()
_handed_out = set()

# Ports below this are left alone: well-known services and the quickstart's
# defaults (5222, 5280, 5347) live there.
_LOWEST = 20000


def _ephemeral_low():
    """First port of the kernel's ephemeral range (32768 by default)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_is_free(port, host="127.0.0.1"):
    """True if a listening socket could bind host:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host="127.0.0.1"):
    """Return a TCP port on `host` that is free now and new to this process."""
    high = _ephemeral_low()
    low = _LOWEST if high - _LOWEST > 1000 else 1024
    with _lock:
        for _ in range(500):
            port = _rng.randrange(low, high)
            if port in _handed_out:
                continue
            if port_is_free(port, host):
                _handed_out.add(port)
                return port
        # Crowded machine: let the kernel choose (may be ephemeral).
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("no free TCP port found on %s" % host)


def wait_for_port(port, host="127.0.0.1", timeout=10.0, alive=None):
    """Wait until host:port accepts a TCP connection.

    `alive`, if given, is called between attempts; when it returns False
    (the server process died) waiting stops early.  Returns True when the
    port accepted a connection, False on timeout or death.
    """
    import time
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            pass
        if alive is not None and not alive():
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
