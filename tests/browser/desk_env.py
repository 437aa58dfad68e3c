#!/usr/bin/python3
"""The server side of the browser tests: real PostgreSQL, Prosody (WebSocket,
anonymous host; ejabberd instead when MUCDESK_TEST_XMPP_SERVER=ejabberd) and mucdesk with a demo queue, plus the agent, a real XMPP
client (slixmpp), all driven by the Node test (tests/browser/lib/env.mjs)
over stdin/stdout.

Protocol: one JSON object per line each way.  The first line out, once
everything is up, is {"id": 0, "ok": true, "result": {...}} (ports, the
WebSocket URL, the run directory).  Then each request {"id": N, "op": NAME,
...arguments} gets exactly one answer {"id": N, "ok": true, "result": ...}
or {"id": N, "ok": false, "error": TEXT}, in order.  Anything else this
process says goes to stderr.  End of input, SIGTERM or {"op": "stop"} stops
everything it started (mucdesk must exit 0 with no sanitizer report: "stop"
answers the problems found, if any).

Built on tests/lib/mdtest, the fixtures of the integration tests, so that
the servers are started, stopped and checked exactly as there.  The agent's
slixmpp loop runs only inside a request (mdtest.client): what arrives
between requests waits, in order, for the next expect.
"""

import itertools
import json
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from mdtest import procs  # noqa: E402
from mdtest.client import XmppSession  # noqa: E402
from mdtest.mucdesk import LINK_UP, Mucdesk, make_config  # noqa: E402
from mdtest.postgres import Postgres  # noqa: E402
from mdtest.ejabberd import Ejabberd  # noqa: E402
from mdtest.prosody import Prosody  # noqa: E402
from mdtest import stanzas  # noqa: E402
from mdtest.stanzas import NS, attr, error_condition, esc, muc_status_codes  # noqa: E402

DOMAIN = "support.localhost"
SECRET = "browser-secret"
QUEUE = "billing"
AGENT = "agent1@localhost"
AGENT_PASSWORD = "agent1-pass"
AGENT_NICK = "Alex"

#: Short desk timers (mucdesk.conf(5)), so that the tests wait on events.
#: customer_grace stays well above the longest page reload or network cut
#: the tests make: a chat must survive them.
DESK = {"customer_grace": 20, "decline_skip": 2, "status_interval": 2,
        "reannounce_after": 3, "reload_interval": 1}


def log(*args):
    print("desk_env:", *args, file=sys.stderr, flush=True)


class Stop(Exception):
    pass


class Env:
    def __init__(self):
        self.base = procs.new_run_dir("browser")
        self.pg = self.server = self.md = self.xs = self.agent = None
        self.queue_room = "%s@%s" % (QUEUE, DOMAIN)
        self.in_queue = False
        self.users = {}

    # ------------------------------------------------------- lifecycle ---

    def start(self):
        t0 = time.monotonic()
        self.pg = Postgres(self.base / "pg")
        self.pg.start()
        self.pg.create_database("mucdesk")
        server_class = {"prosody": Prosody, "ejabberd": Ejabberd}[
            os.environ.get("MUCDESK_TEST_XMPP_SERVER", "prosody")]
        self.server = server_class.with_accounts(self.base / server_class.name, DOMAIN,
                                                 SECRET, {AGENT: AGENT_PASSWORD},
                                                 log_level="info")
        cfg = make_config(self.base, self.server.component_port, SECRET,
                          self.pg.conninfo("mucdesk"), domain=DOMAIN,
                          admins="admin@localhost", log_level="debug")
        cfg["desk"] = dict(DESK)
        # Files in chats (widget-files.test.mjs): DESK_ENV_UPLOAD is the
        # [upload] section as JSON; {"scan": true} adds a scan command that
        # holds every file 2 s and fails those starting with HELD-BAD.
        self.upload_url = None
        upload = json.loads(os.environ.get("DESK_ENV_UPLOAD") or "null")
        if upload is not None:
            from mdtest.ports import free_port
            addr = "127.0.0.1:%d" % free_port()
            self.upload_url = "http://%s/" % addr
            if upload.pop("scan", False):
                script = self.base / "scan.sh"
                script.write_text("#!/bin/sh\n# every file held 2 s; one starting HELD-BAD fails\n"
                                  "sleep 2\nif head -c 8 | grep -q HELD-BAD; then exit 1; fi\nexit 0\n")
                script.chmod(0o755)
                upload["scan_command"] = str(script)
            cfg["http"] = {"listen": addr, "public_url": self.upload_url}
            cfg["upload"] = upload
        self.md = Mucdesk(cfg, run_dir=self.base, name="mucdesk")
        self.md.run_ctl(["migrate"], check=True)
        self.md.run_ctl(["queue-create", QUEUE, "--name", "Billing", "--strategy", "round-robin",
                         "--offer-timeout", "60",
                         "--greeting", "Tell us about your question: the billing team answers.",
                         "--offline-message",
                         "Nobody from billing can chat right now. Leave us a message "
                         "and we will answer by email."], check=True)
        self.md.run_ctl(["agent-add", QUEUE, AGENT, "--role", "agent"], check=True)
        mark = self.server.mark()
        self.md.start()
        self.md.wait_for_log(LINK_UP)
        self.server.wait_for_log(self.server.COMPONENT_UP, after=mark)
        self.md.wait_for_log("1 queue(s), 1 membership(s)", after=0)
        self.xs = XmppSession(self.server.c2s_port, accounts={AGENT: AGENT_PASSWORD})
        self.agent = self.xs.login(AGENT, name="agent")
        log("up in %.1f s, run directory %s" % (time.monotonic() - t0, self.base))
        return {
            "websocket": self.server.websocket_url,
            "http_port": self.server.http_port,
            "domain": DOMAIN,
            "anonymous_domain": "anon.localhost",
            "queue": self.queue_room,
            "agent": AGENT,
            "agent_nick": AGENT_NICK,
            "run_dir": str(self.base),
            "upload_url": self.upload_url,
        }

    def stop(self, save_logs_to=None):
        """Stops everything (idempotent); returns a list of problems."""
        problems = []
        if self.xs is not None:
            try:
                self.xs.close()
            except Exception as e:         # noqa: BLE001  (keep stopping)
                problems.append("closing the agent's client: %s" % e)
            self.xs = None
        if self.md is not None:
            md, self.md = self.md, None
            if md.is_running():
                try:
                    rc = md.stop(signal.SIGTERM)
                    if rc != 0:
                        problems.append("mucdesk exited with %s on SIGTERM; log tail:\n%s"
                                        % (rc, procs.tail(md.log_text())))
                except AssertionError as e:
                    problems.append(str(e))
            else:
                problems.append("mucdesk was not running at the end; log tail:\n%s"
                                % procs.tail(md.log_text()))
            try:
                md.check_sanitizers()
            except AssertionError as e:
                problems.append(str(e))
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
        if save_logs_to:
            dest = Path(save_logs_to)
            for root, _dirs, files in os.walk(self.base):
                for f in files:
                    if f.endswith((".log", ".conf", ".lua", ".out")):
                        p = Path(root) / f
                        (dest / p.relative_to(self.base)).parent.mkdir(parents=True, exist_ok=True)
                        try:
                            shutil.copyfile(p, dest / p.relative_to(self.base))
                        except OSError:
                            pass
        return problems

    # ------------------------------------------------------------- ops ---

    def op_sql(self, query):
        """Rows as lists of strings (NULL as None)."""
        return [list(r) for r in self.pg.psql(query, "mucdesk")]

    def op_kb_add(self, title, url=None, body=None):
        """A knowledge-base article (mucdeskctl kb-add, every queue);
        returns its number, for the agent's /kb send N."""
        args = ["kb-add", "--title", title]
        if url:
            args += ["--url", url]
        if body:
            args += ["--body", body]
        return int(self.md.run_ctl(args, check=True).stdout.strip())

    def op_agent_join_queue(self, show=None):
        """The agent comes online in the queue room, or changes its show
        there (away, dnd...: None is available)."""
        show_el = "<show>%s</show>" % esc(show) if show else ""
        to = attr(self.queue_room + "/" + AGENT_NICK)
        if not self.in_queue:
            self.agent.send("<presence to=%s><x xmlns='%s'><history maxstanzas='0'/></x>%s"
                            "</presence>" % (to, NS["muc"], show_el))
            pres = self.agent.expect(self._self_presence(self.queue_room))
            if pres.get("type") == "error":
                raise AssertionError("cannot join the queue room")
            self.in_queue = True
        else:
            # A change of availability is a plain presence (XEP-0045 §7.7):
            # with <x xmlns='…muc'/> it would be a join again.
            self.agent.send("<presence to=%s>%s</presence>" % (to, show_el))
        self.agent.sync(to=DOMAIN)      # a barrier through mucdesk
        return True

    def op_agent_command(self, room, text):
        """A text command (/close ...): never broadcast, so no reflection;
        returns once mucdesk has handled it."""
        self.agent.send("<message type='groupchat' to=%s><body>%s</body></message>"
                        % (attr(room), esc(text)))
        self.agent.sync(to=DOMAIN)
        return True

    def op_agent_leave_queue(self):
        """The agent goes offline in the queue room (if it was there)."""
        if not self.in_queue:
            return True
        self.agent.send("<presence type='unavailable' to=%s/>"
                        % attr(self.queue_room + "/" + AGENT_NICK))
        self.agent.expect("/s:presence[@type='unavailable'][@from=%s]"
                          % attr(self.queue_room + "/" + AGENT_NICK))
        self.in_queue = False
        self.agent.sync(to=DOMAIN)
        return True

    def op_agent_accept(self, room, timeout=15):
        """Waits for the desk's offer (an invitation from room) and accepts
        it by joining."""
        self.agent.expect("/s:message[@from=%s]/mucu:x/mucu:invite" % attr(room), timeout=timeout)
        self.agent.send("<presence to=%s><x xmlns='%s'><history maxstanzas='0'/></x></presence>"
                        % (attr(room + "/" + AGENT_NICK), NS["muc"]))
        pres = self.agent.expect(self._self_presence(room))
        if pres.get("type") == "error":
            raise AssertionError("cannot join %s" % room)
        return True

    def op_agent_say(self, room, body):
        """Sends a groupchat message; returns its stanza-id once the room
        reflected it (so it is archived)."""
        ident = "agent-%d" % next(_ids)
        self.agent.send("<message type='groupchat' to=%s id=%s><body>%s</body>"
                        "<active xmlns='%s'/></message>"
                        % (attr(room), attr(ident), esc(body), NS["chat"]))
        echo = self.agent.expect("/s:message[@id=%s][@from=%s]"
                                 % (attr(ident), attr(room + "/" + AGENT_NICK)))
        sid = echo.find("{%s}stanza-id" % NS["sid"])
        return sid.get("id") if sid is not None else None

    def op_agent_chatstate(self, room, state):
        self.agent.send("<message type='groupchat' to=%s><%s xmlns='%s'/>"
                        "<no-store xmlns='%s'/></message>"
                        % (attr(room), state, NS["chat"], NS["hints"]))
        self.agent.sync(to=DOMAIN)
        return True

    def op_agent_expect_chatstate(self, room, nick, state, timeout=10):
        self.agent.expect("/s:message[@from=%s][not(s:body)]/chat:%s"
                          % (attr(room + "/" + nick), state), timeout=timeout)
        return True

    def op_agent_expect_message(self, room, nick, body, timeout=10):
        """Waits for nick's message with exactly this body; returns
        {stanza_id, origin_id}."""
        def match(el):
            return (el.tag == "{jabber:client}message" and el.get("type") == "groupchat"
                    and el.get("from") == room + "/" + nick
                    and el.findtext("{jabber:client}body") == body)
        match.description = "message from %s/%s: %r" % (room, nick, body)
        el = self.agent.expect(match, timeout=timeout)
        sid = el.find("{%s}stanza-id" % NS["sid"])
        oid = el.find("{%s}origin-id" % NS["sid"])
        return {"stanza_id": sid.get("id") if sid is not None else None,
                "origin_id": oid.get("id") if oid is not None else None}

    def op_agent_expect_presence(self, room, nick, type="available", timeout=15):
        """Waits for nick's presence in room: available (joined) or
        unavailable (left, or its connection dropped)."""
        cond = "[@type='unavailable']" if type == "unavailable" else "[not(@type)]"
        self.agent.expect("/s:presence%s[@from=%s]" % (cond, attr(room + "/" + nick)),
                          timeout=timeout)
        return True

    def op_agent_messages(self, room, nick=None):
        """Bodies of the groupchat messages received from room (from nick,
        or from anybody but the agent) since the last clear, in order,
        taken out of the pending queue."""
        self.agent.sync(to=DOMAIN)      # whatever mucdesk sent us has arrived

        def mine(el):
            frm = el.get("from", "")
            return (el.tag == "{jabber:client}message" and el.get("type") == "groupchat"
                    and frm.startswith(room + "/") and el.find("{jabber:client}body") is not None
                    and (frm == room + "/" + nick if nick else frm != room + "/" + AGENT_NICK))
        return [el.findtext("{jabber:client}body") for el in self.agent.take_all(mine)]

    def op_agent_expect_file(self, room, nick, timeout=15):
        """Waits for nick's message carrying a file (XEP-0066); downloads it.
        Returns {body, oob, status, held (423 first), type, disposition,
        sha256, size}."""
        import hashlib
        import urllib.error
        import urllib.request

        def match(el):
            return (el.tag == "{jabber:client}message" and el.get("type") == "groupchat"
                    and el.get("from") == room + "/" + nick
                    and el.find("{jabber:x:oob}x") is not None)
        match.description = "a file from %s/%s" % (room, nick)
        el = self.agent.expect(match, timeout=timeout)
        body = el.findtext("{jabber:client}body")
        url = el.find("{jabber:x:oob}x").findtext("{jabber:x:oob}url")
        # While the scan holds it (423), asked again, as a client would.
        deadline = time.monotonic() + 20
        held = False
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    data, status, h = r.read(), r.status, r.headers
            except urllib.error.HTTPError as e:
                data, status, h = e.read(), e.code, e.headers
            if status != 423 or time.monotonic() > deadline:
                break
            held = True
            time.sleep(0.2)
        return {"body": body, "oob": url, "status": status, "held": held, "type": h.get("Content-Type"),
                "disposition": h.get("Content-Disposition"),
                "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def op_agent_send_file(self, room, name, content_type, data_hex):
        """The agent uploads a file (XEP-0363 on mucdesk) and sends it as
        body=URL with XEP-0066, as Conversations does.  Returns the URL."""
        import urllib.request
        data = bytes.fromhex(data_hex)
        reply = self.agent.send_iq(
            "<iq type='get' to='%s'><request xmlns='urn:xmpp:http:upload:0' filename=%s size='%d' "
            "content-type=%s/></iq>" % (DOMAIN, attr(name), len(data), attr(content_type)))
        slot = reply.find("{urn:xmpp:http:upload:0}slot")
        if slot is None:
            raise AssertionError("no slot: %s" % (error_condition(reply),))
        put = slot.find("{urn:xmpp:http:upload:0}put").get("url")
        req = urllib.request.Request(put, data=data, method="PUT", headers={"Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 201:
                raise AssertionError("PUT answered %d" % r.status)
        get = slot.find("{urn:xmpp:http:upload:0}get").get("url")
        ident = "agent-%d" % next(_ids)
        self.agent.send("<message type='groupchat' to=%s id=%s><body>%s</body>"
                        "<x xmlns='jabber:x:oob'><url>%s</url></x></message>"
                        % (attr(room), attr(ident), esc(get), esc(get)))
        self.agent.expect("/s:message[@id=%s][@from=%s]" % (attr(ident), attr(room + "/" + AGENT_NICK)))
        return get

    def op_mucdesk_log(self):
        return self.md.log_text()

    def op_agent_clear(self):
        self.agent.clear()
        return True

    # ------------------------------------------- other users (MUC) ---
    # Other accounts on localhost, each a slixmpp client named by its
    # user name ("admin" is a service admin: it may create plain rooms).
    # The ops take `who` and say everything explicitly (room, nick), so
    # that a test reads like the room's conversation.

    def _user(self, who):
        if who not in self.users:
            bare = "%s@localhost" % who
            password = "%s-pass" % who
            self.server.register(who, "localhost", password)
            self.xs.accounts[bare] = password
            self.users[who] = self.xs.login(bare, name=who)
        return self.users[who]

    def op_customer_request(self, queue, who="customer", name="Ann", email="ann@example.org",
                            question="Where is my parcel?"):
        """An anonymous customer (slixmpp on anon.localhost, then known as
        `who`) asks for a chat with the request-chat command and enters
        the session room it gets; returns {room, ticket, nick}."""
        customer = self.xs.anonymous("anon.localhost", name=who)
        self.users[who] = customer
        queue_jid = "%s@%s" % (queue, DOMAIN)

        def command(action, sessionid=None, form=""):
            reply = customer.send_iq(
                "<iq type='set' to=%s><command xmlns='%s' node='request-chat' action=%s%s>"
                "%s</command></iq>" % (attr(queue_jid), NS["cmd"], attr(action),
                                       " sessionid=%s" % attr(sessionid) if sessionid else "",
                                       form), check=True)
            return reply.find("{%s}command" % NS["cmd"])
        first = command("execute")
        form = stanzas.submit_form({"name": name, "email": email, "question": question})
        done = command("complete", first.get("sessionid"), form)
        result = stanzas.form_values(done.find("{jabber:x:data}x"))
        room, nick = result["room"], result["nick"]
        customer.send("<presence to=%s><x xmlns='%s'><history maxstanzas='0'/></x></presence>"
                      % (attr(room + "/" + nick), NS["muc"]))
        pres = customer.expect(self._self_presence(room))
        if pres.get("type") == "error":
            raise AssertionError("the customer cannot enter %s: %s" % (room, error_condition(pres)))
        return {"room": room, "ticket": result["ticket"], "nick": nick}

    def op_user_join(self, who, room, nick, config=None):
        """who joins room as nick (no history).  A room this makes (an
        admin's join: status 201) is configured with config, a dict of
        muc#roomconfig fields (values as strings or lists), or made an
        instant room without one.  Returns the status codes of the
        self-presence."""
        user = self._user(who)
        user.send("<presence to=%s><x xmlns='%s'><history maxstanzas='0'/></x></presence>"
                  % (attr(room + "/" + nick), NS["muc"]))
        pres = user.expect(self._self_presence(room))
        if pres.get("type") == "error":
            raise AssertionError("%s cannot join %s: %s" % (who, room, error_condition(pres)))
        codes = sorted(muc_status_codes(pres))
        if 201 in codes:
            form = (stanzas.submit_form(config, NS["muc"] + "#roomconfig") if config
                    else "<x xmlns='jabber:x:data' type='submit'/>")
            user.send_iq("<iq type='set' to=%s><query xmlns='%s'>%s</query></iq>"
                         % (attr(room), NS["muco"], form), check=True)
        user.sync(to=DOMAIN)
        return codes

    def op_user_say(self, who, room, nick, body, replace=None):
        """A groupchat message (with replace: a XEP-0308 correction of the
        message of that id); returns {id, stanza_id} once the room
        reflected it (so it is archived)."""
        user = self._user(who)
        ident = "%s-%d" % (who, next(_ids))
        correction = ("<replace xmlns='%s' id=%s/>" % (NS["corr"], attr(replace))
                      if replace else "")
        user.send("<message type='groupchat' to=%s id=%s><body>%s</body>%s</message>"
                  % (attr(room), attr(ident), esc(body), correction))
        echo = user.expect("/s:message[@id=%s][@from=%s]" % (attr(ident), attr(room + "/" + nick)))
        sid = echo.find("{%s}stanza-id" % NS["sid"])
        return {"id": ident, "stanza_id": sid.get("id") if sid is not None else None}

    def op_user_pm(self, who, room, nick, body):
        """A private message to room/nick (XEP-0045 §7.5); returns once
        mucdesk has handled it (an error bounce raises)."""
        user = self._user(who)
        ident = "%s-pm-%d" % (who, next(_ids))
        user.send("<message type='chat' to=%s id=%s><body>%s</body>"
                  "<x xmlns='%s'/></message>"
                  % (attr(room + "/" + nick), attr(ident), esc(body), NS["mucu"]))
        user.sync(to=DOMAIN)
        bounced = user.take_all("/s:message[@type='error'][@id=%s]" % attr(ident))
        if bounced:
            raise AssertionError("the private message bounced: %s" % error_condition(bounced[0]))
        return True

    def op_user_expect_message(self, who, room, nick, body, type="groupchat", timeout=10):
        """Waits for a message from room/nick with exactly this body, then
        lets mucdesk's traffic settle (a ping through it) and counts the
        copies: returns {id, stanza_id, origin_id, copies, stanza}."""
        user = self._user(who)

        def match(el):
            return (el.tag == "{jabber:client}message" and el.get("type") == type
                    and el.get("from") == room + "/" + nick
                    and el.findtext("{jabber:client}body") == body)
        match.description = "%s message from %s/%s: %r" % (type, room, nick, body)
        el = user.expect(match, timeout=timeout)
        user.sync(to=DOMAIN)
        more = user.take_all(match)
        sid = el.find("{%s}stanza-id" % NS["sid"])
        oid = el.find("{%s}origin-id" % NS["sid"])
        return {"id": el.get("id"),
                "stanza_id": sid.get("id") if sid is not None else None,
                "origin_id": oid.get("id") if oid is not None else None,
                "copies": 1 + len(more),
                "stanza": stanzas.to_str(el)}

    def op_user_received(self, who, room, nick):
        """Every stanza `who` received from room/nick (letter case folded;
        errors answering its own stanzas there left out), as text, after
        mucdesk's traffic settled: what it learned of that occupant."""
        user = self._user(who)
        user.sync(to=DOMAIN)
        sender = (room + "/" + nick).lower()
        return [stanzas.to_str(el) for el in user.received
                if (el.get("from") or "").lower() == sender and el.get("type") != "error"]

    def op_user_expect_presence(self, who, room, nick, type="available", timeout=15):
        """Waits for nick's presence in room (available: joined;
        unavailable: left); returns the stanza's text."""
        cond = "[@type='unavailable']" if type == "unavailable" else "[not(@type)]"
        el = self._user(who).expect("/s:presence%s[@from=%s]" % (cond, attr(room + "/" + nick)),
                                    timeout=timeout)
        return stanzas.to_str(el)

    @staticmethod
    def _self_presence(room):
        def done(el):
            if el.tag != "{jabber:client}presence" or el.get("from", "").split("/")[0] != room:
                return False
            return el.get("type") == "error" or 110 in muc_status_codes(el)
        done.description = "self-presence from %s" % room
        return done


_ids = itertools.count(1)


def main():
    def on_term(_sig, _frame):
        raise Stop()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    out = sys.stdout
    sys.stdout = sys.stderr         # stray prints must not break the protocol

    def answer(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    env = Env()
    problems = None
    try:
        try:
            answer({"id": 0, "ok": True, "result": env.start()})
        except Exception as e:      # noqa: BLE001
            traceback.print_exc()
            answer({"id": 0, "ok": False, "error": "start-up failed: %s" % e})
            problems = env.stop(save_logs_to=os.environ.get("DESK_ENV_LOGS"))
            return 1
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            rid, op = req.pop("id"), req.pop("op")
            if op == "stop":
                problems = env.stop(save_logs_to=req.get("save_logs_to"))
                answer({"id": rid, "ok": True, "result": problems})
                return 0
            try:
                fn = getattr(env, "op_" + op, None)
                if fn is None:
                    raise ValueError("unknown op %r" % op)
                answer({"id": rid, "ok": True, "result": fn(**req)})
            except Exception as e:  # noqa: BLE001
                log("%s failed:\n%s" % (op, traceback.format_exc()))
                answer({"id": rid, "ok": False, "error": "%s: %s" % (op, e)})
        log("end of input: stopping")
    except Stop:
        log("signalled: stopping")
    finally:
        if problems is None:
            for p in env.stop(save_logs_to=os.environ.get("DESK_ENV_LOGS")):
                log("problem: " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
