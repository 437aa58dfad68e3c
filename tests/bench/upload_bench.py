"""Upload and download throughput of one file through mucdesk's HTTP
listener (issue 15).

A private Prosody and PostgreSQL, the mucdesk binary in $MUCDESK_BIN (an
optimised build: tests/bench/run-upload builds one), a customer in a chat
with an agent.  For each of REPEAT runs: a XEP-0363 slot for a SIZE_MB
file, its PUT over one loopback connection (the time from the request's
first byte to the 201, which comes after the file is fsynced and renamed
and its event appended), then a GET of it (the time to read it all).
Prints MB/s (10^6 bytes per second) per run and the medians.  Not part of
tests/run: figures, not a verdict."""

import argparse
import hashlib
import http.client
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lib"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

from desk_e2e import expect_invite, join, join_queue, request_chat  # noqa: E402
from mdtest import procs  # noqa: E402
from mdtest.client import XmppSession  # noqa: E402
from mdtest.mucdesk import LINK_UP, Mucdesk, make_config  # noqa: E402
from mdtest.ports import free_port  # noqa: E402
from mdtest.postgres import Postgres  # noqa: E402
from mdtest.prosody import Prosody  # noqa: E402

DOMAIN = "support.localhost"
SECRET = "bench-secret"
ACCOUNTS = {"admin@localhost": "admin-pass", "agent1@localhost": "agent1-pass"}
NS_UP = "urn:xmpp:http:upload:0"


def slot(client, size):
    reply = client.send_iq("<iq type='get' to='%s'><request xmlns='%s' filename='big.bin' "
                           "size='%d' content-type='application/octet-stream'/></iq>"
                           % (DOMAIN, NS_UP, size), check=True)
    return reply.find("{%s}slot/{%s}put" % (NS_UP, NS_UP)).get("url")


def put(addr, path, data):
    host, port = addr.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=120)
    t0 = time.monotonic()
    c.request("PUT", path, body=data, headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse()
    r.read()
    t = time.monotonic() - t0
    c.close()
    assert r.status == 201, r.status
    return t


def get(addr, path, want):
    host, port = addr.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=120)
    t0 = time.monotonic()
    c.request("GET", path)
    r = c.getresponse()
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    t = time.monotonic() - t0
    c.close()
    assert r.status == 200 and n == len(want[0]) and h.hexdigest() == want[1]
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=int(os.environ.get("SIZE_MB", 50)))
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", 3)))
    args = ap.parse_args()
    size = args.size_mb * 1000 * 1000
    data = os.urandom(size)
    want = (data, hashlib.sha256(data).hexdigest())

    run_dir = procs.new_run_dir("upload-bench")
    pg = Postgres(run_dir / "pg", port=free_port(), fsync=True)
    pg.start()
    xmpp = Prosody.with_accounts(run_dir / "prosody", DOMAIN, SECRET, ACCOUNTS)
    md = None
    puts, gets = [], []
    try:
        pg.create_database("ub")
        addr = "127.0.0.1:%d" % free_port()
        cfg = make_config(run_dir, xmpp.component_port, SECRET, pg.conninfo("ub"),
                          domain=DOMAIN, log_level="info",
                          http={"listen": addr, "public_url": "http://%s" % addr},
                          upload={"max_file_size": size, "max_ticket_bytes": 2 ** 31 - 1,
                                  "types": "application/octet-stream"},
                          desk={"customer_grace": 3600})
        md = Mucdesk(cfg, run_dir=run_dir, name="mucdesk")
        md.run_ctl(["migrate"], check=True)
        md.run_ctl(["queue-create", "billing", "--strategy", "round-robin"], check=True)
        md.run_ctl(["agent-add", "billing", "agent1@localhost"], check=True)
        md.start()
        md.wait_for_log(LINK_UP, timeout=60)
        md.wait_for_log("1 queue(s), 1 membership(s)", timeout=60)
        session = XmppSession(xmpp.c2s_port, accounts=ACCOUNTS, timeout=30)
        agent = session.login("agent1")
        join_queue(agent, "billing", "Alex")
        customer = session.anonymous()
        chat = request_chat(customer, "billing")
        join(customer, chat["room"], "Ann")
        expect_invite(agent, chat["room"])
        join(agent, chat["room"], "Alex")
        for i in range(args.repeat):
            path = urlsplit(slot(customer, size)).path
            tp = put(addr, path, data)
            tg = get(addr, path, want)
            puts.append(size / tp / 1e6)
            gets.append(size / tg / 1e6)
            print("run %d: PUT %d MB in %.2f s (%.0f MB/s), GET in %.2f s (%.0f MB/s)"
                  % (i + 1, args.size_mb, tp, puts[-1], tg, gets[-1]), flush=True)
        session.close()
    finally:
        if md and md.is_running():
            md.stop()
        xmpp.close()
        pg.stop()
    print("\nmedians of %d runs, %d MB file (load %s): PUT %.0f MB/s, GET %.0f MB/s"
          % (args.repeat, args.size_mb, open("/proc/loadavg").read().split()[0],
             statistics.median(puts), statistics.median(gets)))


if __name__ == "__main__":
    main()
