#!/usr/bin/python3
"""End-to-end MUC through ejabberd: mucdesk against ejabberd's own mod_muc,
on the same traffic, in the same run (issue 17).

One private ejabberd (the test suite's demo config plus mod_muc on
conference.localhost, no room archive) with mucdesk attached as the MUC
service of support.localhost (archiving off, durability database: rooms
are plain, so nothing is written per message; with ARCHIVE=1 rooms
archive, durability database).  ROOMS rooms of three occupants, each
occupant its own anonymous c2s connection.  For each target, in turn:

  flat out    every occupant keeps WINDOW of its own messages in flight
              (its own reflection acknowledges one): delivered messages/s
  fixed rate  RATE messages/s in all, spread evenly: p50/p99 latency from
              sending a message to each occupant receiving it

The driver is this one Python process with raw sockets (asyncio, no XMPP
library: stanzas are written as text and received messages found by a
byte search for their body), so that the driver is not what is measured:
its CPU share is printed beside ejabberd's and mucdesk's.  Prints one line
per run and a table of medians.  Not part of tests/run."""

import argparse
import base64
import asyncio
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lib"))

from mdtest import procs  # noqa: E402
from mdtest.ejabberd import Ejabberd  # noqa: E402
from mdtest.mucdesk import LINK_UP, Mucdesk, make_config  # noqa: E402
from mdtest.ports import free_port  # noqa: E402
from mdtest.postgres import Postgres  # noqa: E402

DOMAIN = "support.localhost"
SECRET = "bench-secret"
MOD_MUC = "conference.localhost"
CLK = 1e-9
ADMIN = ("admin", "localhost", "admin-pass")

# The default host, conference.@HOST@: conference.localhost (and, unused,
# conference.anon.localhost).
MOD_MUC_CONFIG = """
  mod_muc:
    access_create: all
    max_user_conferences: 1000
    max_users: 1000
    history_size: 0
    default_room_options:
      mam: false
      persistent: false
"""

BODY_RE = re.compile(rb"<body>m (\d+) (\d+)</body>")


def pgroup_cpu(pgid):
    """CPU seconds of every process in a process group."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Occupant:
    def __init__(self, bench, room, nick):
        self.bench, self.room, self.nick = bench, room, nick
        self.buf = b""
        self.inflight = 0
        self.window_open = asyncio.Event()

    async def read_until(self, pattern, timeout=30):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("%s: no %r in %r" % (self.nick, pattern, self.buf[-300:]))
            try:
                data = await asyncio.wait_for(self.reader.read(65536), left)
            except asyncio.TimeoutError:
                raise TimeoutError("%s: no %r in %r" % (self.nick, pattern,
                                                         self.buf[-600:])) from None
            if not data:
                raise ConnectionError("%s: connection closed: %r" % (self.nick, self.buf[-300:]))
            self.buf += data

    def send(self, text):
        self.writer.write(text.encode())

    async def connect(self, port, account=None):
        """Anonymous, or account=(user, host, password) with SASL PLAIN."""
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        header = ("<?xml version='1.0'?><stream:stream to='%s' "
                  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                  "version='1.0'>" % (account[1] if account else "anon.localhost"))
        self.send(header)
        await self.read_until(rb"</stream:features>")
        if account:
            cred = base64.b64encode(("\0%s\0%s" % (account[0], account[2])).encode()).decode()
            self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s"
                      "</auth>" % cred)
        else:
            self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
        await self.read_until(rb"<success")
        self.send(header)
        await self.read_until(rb"</stream:features>")
        self.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
        await self.read_until(rb"</iq>")

    async def join(self, create):
        self.send("<presence to='%s/%s'><x xmlns='http://jabber.org/protocol/muc'>"
                  "<history maxstanzas='0'/></x></presence>" % (self.room, self.nick))
        await self.read_until(rb"code=['\"]110['\"]")
        if create:
            # An instant room (XEP-0045 10.1.2): both services lock a new one.
            self.send("<iq type='set' id='c' to='%s'><query xmlns='http://jabber.org/"
                      "protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>%s</x>"
                      "</query></iq>" % (self.room, self.bench.room_form))
            await self.read_until(rb"<iq[^>]*id=['\"]c['\"][^>]*>|<iq[^>]*id=['\"]c['\"]")

    def say(self, index):
        self.send("<message type='groupchat' to='%s'><body>m %d %d</body></message>"
                  % (self.room, index, time.monotonic_ns()))
        self.inflight += 1

    async def receive_loop(self):
        b = self.bench
        while True:
            data = await self.reader.read(262144)
            if not data:
                return
            buf = self.buf + data
            end = buf.rfind(b"</message>")
            if end < 0:
                self.buf = buf
                continue
            end += len(b"</message>")
            now = time.monotonic_ns()
            for m in BODY_RE.finditer(buf, 0, end):
                b.delivered += 1
                if b.measuring:
                    b.window_delivered += 1
                    if b.latencies is not None and len(b.latencies) < 2000000:
                        b.latencies.append(now - int(m.group(2)))
                if int(m.group(1)) == self.index:
                    self.inflight -= 1
                    self.window_open.set()
            self.buf = buf[end:]


class Bench:
    def __init__(self, port, service, rooms, room_form):
        self.port, self.service, self.rooms = port, service, rooms
        self.room_form = room_form
        self.occupants = []
        self.delivered = 0
        self.window_delivered = 0
        self.measuring = False
        self.latencies = None
        self.tasks = []

    async def setup(self, tag):
        # The service's admin creates each room (persistent, so that it
        # stays once the admin leaves: mucdesk lets only admins create
        # rooms), then three anonymous occupants join it.
        admin = Occupant(self, None, "creator")
        await admin.connect(self.port, ADMIN)
        for r in range(self.rooms):
            admin.room = "%s%d@%s" % (tag, r, self.service)
            await admin.join(create=True)
            admin.send("<presence type='unavailable' to='%s/creator'/>" % admin.room)
            await admin.read_until(rb"type=['\"]unavailable['\"]")
        admin.send("</stream:stream>")
        admin.writer.close()
        sem = asyncio.Semaphore(50)

        async def one(r):
            async with sem:
                room = "%s%d@%s" % (tag, r, self.service)
                group = []
                for k in range(3):
                    o = Occupant(self, room, "n%d" % k)
                    await o.connect(self.port)
                    await o.join(create=False)
                    group.append(o)
                return group
        groups = await asyncio.gather(*(one(r) for r in range(self.rooms)))
        for g in groups:
            self.occupants.extend(g)
        for i, o in enumerate(self.occupants):
            o.index = i
            o.buf = b""
            self.tasks.append(asyncio.ensure_future(o.receive_loop()))
        await asyncio.sleep(0.5)

    async def flat_out(self, seconds, window, warmup):
        stop = time.monotonic() + warmup + seconds

        async def pump(o):
            while time.monotonic() < stop:
                while o.inflight < window:
                    o.say(o.index)
                await o.writer.drain()
                o.window_open.clear()
                try:
                    await asyncio.wait_for(o.window_open.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
        pumps = [asyncio.ensure_future(pump(o)) for o in self.occupants]
        await asyncio.sleep(warmup)
        return await self.window(seconds, pumps, None)

    async def fixed_rate(self, seconds, rate, warmup):
        tick = 0.01
        per_tick = rate * tick
        stop = time.monotonic() + warmup + seconds

        async def ticker():
            owed, i, n = 0.0, 0, len(self.occupants)
            next_t = time.monotonic()
            while time.monotonic() < stop:
                owed += per_tick
                while owed >= 1:
                    o = self.occupants[i % n]
                    o.say(o.index)
                    i += 1
                    owed -= 1
                next_t += tick
                await asyncio.sleep(max(0, next_t - time.monotonic()))
        t = asyncio.ensure_future(ticker())
        await asyncio.sleep(warmup)
        return await self.window(seconds, [t], [])

    async def window(self, seconds, tasks, latencies):
        self.window_delivered = 0
        self.latencies = latencies
        c0, s0, t0 = self.server_cpu(), self_cpu(), time.monotonic()
        self.measuring = True
        await asyncio.sleep(seconds)
        self.measuring = False
        c1, s1, t1 = self.server_cpu(), self_cpu(), time.monotonic()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(1.0)   # let what is in flight arrive
        span = t1 - t0
        res = {"out_per_s": self.window_delivered / span, "in_per_s": self.window_delivered / 3 / span,
               "driver_cpu": (s1 - s0) / span}
        res.update({k: (c1[k] - c0[k]) / span for k in c0})
        if latencies:
            lat = sorted(latencies)
            res["p50_ms"] = lat[len(lat) // 2] * CLK * 1000
            res["p99_ms"] = lat[int(len(lat) * 0.99)] * CLK * 1000
        self.latencies = None
        return res

    async def close(self):
        for o in self.occupants:
            try:
                o.send("</stream:stream>")
                o.writer.close()
            except Exception:
                pass
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ.get
    ap.add_argument("--rooms", type=int, default=int(env("ROOMS", 100)))
    ap.add_argument("--duration", type=float, default=float(env("DURATION", 8)))
    ap.add_argument("--warmup", type=float, default=float(env("WARMUP", 2)))
    ap.add_argument("--window", type=int, default=int(env("WINDOW", 4)))
    ap.add_argument("--rate", type=int, default=int(env("RATE", 1000)))
    ap.add_argument("--repeat", type=int, default=int(env("REPEAT", 3)))
    ap.add_argument("--archive", type=int, default=int(env("ARCHIVE", 0)))
    args = ap.parse_args()

    run_dir = procs.new_run_dir("e2e-muc")
    pg = Postgres(run_dir / "pg", port=free_port(), fsync=True)
    pg.start()
    ej = Ejabberd(run_dir / "ejabberd", DOMAIN, SECRET, log_level="info")
    with open(ej.config_path, "a") as f:
        f.write(MOD_MUC_CONFIG)
    ej.start()
    ej.register(*ADMIN)
    pg.create_database("e2e")
    cfg = make_config(run_dir, ej.component_port, SECRET, pg.conninfo("e2e"), domain=DOMAIN,
                      admins="admin@localhost", log_level="info")
    cfg["database"]["durability"] = "database"
    cfg["muc"] = {"archive_by_default": args.archive, "message_rate": 100000}
    md = Mucdesk(cfg, run_dir=run_dir, name="mucdesk")
    md.run_ctl(["migrate"], check=True)
    md.start()
    md.wait_for_log(LINK_UP, timeout=30)
    ej_pgid = ej.proc.pid

    def cpu():
        out = {"ejabberd_cpu": pgroup_cpu(ej_pgid)}
        out["mucdesk_cpu"] = pgroup_cpu(md.pid)
        return out

    form = ("<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value>"
            "</field><field var='muc#roomconfig_persistentroom'><value>1</value></field>")
    archive_field = ("<field var='muc#roomconfig_enablelogging'><value>%d</value></field>"
                     % args.archive)
    targets = [("mod_muc", MOD_MUC, form), ("mucdesk", DOMAIN, form + archive_field)]
    results = {}
    print("run-e2e: %d rooms x 3 occupants (%d c2s connections per target), window %d, "
          "rate %d msg/s, archive %s" % (args.rooms, args.rooms * 3, args.window, args.rate,
                                         "on (durability database)" if args.archive else "off"),
          flush=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        for rep in range(args.repeat):
            for name, service, form in targets:
                bench = Bench(ej.c2s_port, service, args.rooms, form)
                bench.server_cpu = cpu
                loop.run_until_complete(bench.setup("r%d" % rep))
                flat = loop.run_until_complete(bench.flat_out(args.duration, args.window,
                                                              args.warmup))
                fixed = loop.run_until_complete(bench.fixed_rate(args.duration, args.rate,
                                                                 args.warmup))
                loop.run_until_complete(bench.close())
                results.setdefault(name, []).append((flat, fixed))
                print("%-8s run %d: flat out %7.0f msg in/s (%7.0f delivered/s; CPU ejabberd "
                      "%3.0f%%, mucdesk %3.0f%%, driver %3.0f%%); at %d msg/s p50 %.2f ms p99 "
                      "%.2f ms (CPU ejabberd %3.0f%%, mucdesk %3.0f%%, driver %3.0f%%)"
                      % (name, rep + 1, flat["in_per_s"], flat["out_per_s"],
                         100 * flat["ejabberd_cpu"], 100 * flat["mucdesk_cpu"],
                         100 * flat["driver_cpu"], args.rate, fixed.get("p50_ms", -1),
                         fixed.get("p99_ms", -1), 100 * fixed["ejabberd_cpu"],
                         100 * fixed["mucdesk_cpu"], 100 * fixed["driver_cpu"]), flush=True)
    finally:
        loop.close()
        md.stop()
        ej.close()
        pg.stop()

    print("\nmedians of %d runs (load %s):" % (args.repeat, open("/proc/loadavg").read().split()[0]))
    # delivered/CPU-s: stanzas delivered per second of the servers' CPU
    # (ejabberd + mucdesk), the figure least moved by other load.
    print("%-8s %10s %12s %14s %8s %8s %8s %8s %8s" % (
        "", "msg in/s", "delivered/s", "deliv/CPU-s", "ej CPU", "md CPU", "drv CPU",
        "p50 ms", "p99 ms"))
    for name, runs in results.items():
        def med(which, key):
            return statistics.median(r[which].get(key, 0) for r in runs)
        per_cpu = statistics.median(r[0]["out_per_s"] / max(1e-9, r[0]["ejabberd_cpu"]
                                                            + r[0]["mucdesk_cpu"])
                                    for r in runs)
        print("%-8s %10.0f %12.0f %14.0f %7.0f%% %7.0f%% %7.0f%% %8.2f %8.2f"
              % (name, med(0, "in_per_s"), med(0, "out_per_s"), per_cpu,
                 100 * med(0, "ejabberd_cpu"), 100 * med(0, "mucdesk_cpu"),
                 100 * med(0, "driver_cpu"), med(1, "p50_ms"), med(1, "p99_ms")))


if __name__ == "__main__":
    main()
