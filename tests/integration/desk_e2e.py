"""Helpers for the desk's end-to-end tests (real Prosody, PostgreSQL,
mucdesk with its desk, slixmpp clients).

    from desk_e2e import desk, request_chat, ...   # noqa: F401 (fixture)

    def test_x(desk, xmpp, db):
        md = desk(queues=[("billing", "round-robin")],
                  agents=[("billing", "agent1@localhost", "agent")])
        customer = xmpp.anonymous()
        chat = request_chat(customer, "billing")

Timers are short (see FAST) so that tests wait on events, not on time.
"""

import itertools
import time

import pytest

from mdtest.stanzas import NS, attr, error_condition, esc, form_values, muc_status_codes

DOMAIN = "support.localhost"
_ids = itertools.count(1)

#: Short timers for tests ([desk] keys, mucdesk.conf(5)).
FAST = {"customer_grace": 2, "decline_skip": 2, "status_interval": 2,
        "reannounce_after": 3, "reload_interval": 1}


def jid(local, nick=None):
    return "%s@%s%s" % (local, DOMAIN, "/" + nick if nick else "")


@pytest.fixture
def desk(mucdesk_factory, db):
    """make(queues=[(name, strategy, {opts})], agents=[(queue, jid, role,
    {opts})], desk={key: value}) -> a started mucdesk whose queues are
    loaded."""

    def make(queues=(), agents=(), desk=None, overrides=None, name=None, env=None):
        cfg = {"desk": dict(FAST, **(desk or {}))}
        for section, keys in (overrides or {}).items():
            cfg.setdefault(section, {}).update(keys)
        md = mucdesk_factory(cfg, wait=False, name=name, env=env)
        for q in queues:
            qname, strategy = q[0], q[1]
            opts = q[2] if len(q) > 2 else {}
            args = ["queue-create", qname, "--strategy", strategy]
            for k, v in opts.items():
                args += ["--" + k, str(v)]
            md.run_ctl(args, check=True)
        for a in agents:
            args = ["agent-add", a[0], a[1], "--role", a[2] if len(a) > 2 else "agent"]
            for k, v in (a[3] if len(a) > 3 else {}).items():
                args += ["--" + k, str(v)]
            md.run_ctl(args, check=True)
        md.wait_for_log("component link up")
        md.wait_for_log("open ticket(s) restored")
        wait_log(md, "%d queue(s), %d membership(s)" % (len(queues), len(agents)))
        return md

    return make


def wait_log(md, text, timeout=10.0):
    return md.wait_for_log(text, timeout=timeout, after=0)


def ctl(md, *args):
    return md.run_ctl(list(args), check=True)


# ------------------------------------------------------------ commands ---

def execute(client, to, node, action="execute", sessionid=None, form="", check=True):
    """One XEP-0050 request; returns the reply iq."""
    sid = " sessionid=%s" % attr(sessionid) if sessionid else ""
    reply = client.send_iq("<iq type='set' to=%s><command xmlns='%s' node=%s action='%s'%s>"
                           "%s</command></iq>" % (attr(to), NS["cmd"], attr(node), action, sid, form))
    if check and reply.get("type") == "error":
        raise AssertionError("%s on %s failed: %s" % (node, to, error_condition(reply)))
    return reply


def submit(values):
    parts = ["<x xmlns='jabber:x:data' type='submit'>"]
    for var, val in values.items():
        vals = val if isinstance(val, (list, tuple)) else [val]
        parts.append("<field var=%s>%s</field>" % (
            attr(var), "".join("<value>%s</value>" % esc(v) for v in vals)))
    parts.append("</x>")
    return "".join(parts)


def command(client, to, node, values=None, check=True):
    """execute, then complete with `values`; returns (reply iq, result form
    values, notes [(type, text)]).  With check=False an error reply is
    returned as it is (form values {})."""
    first = execute(client, to, node, check=check)
    if first.get("type") == "error":
        return first, {}, []
    cmd = first.find("{%s}command" % NS["cmd"])
    if cmd.get("status") == "executing":
        reply = execute(client, to, node, action="complete", sessionid=cmd.get("sessionid"),
                        form=submit(values or {}), check=check)
    else:
        reply = first
    return reply, result_values(reply), notes(reply)


def result_values(reply):
    cmd = reply.find("{%s}command" % NS["cmd"])
    if cmd is None:
        return {}
    x = cmd.find("{jabber:x:data}x")
    return form_values(x) if x is not None else {}


def notes(reply):
    return [(n.get("type"), n.text or "")
            for n in reply.iter("{%s}note" % NS["cmd"])]


def request_chat(customer, queue, name="Ann", email="ann@example.org",
                 question="My invoice is wrong", **extra):
    values = {"name": name, "email": email, "question": question}
    values.update(extra)
    reply, res, _ = command(customer, jid(queue), "request-chat", values)
    assert res.get("room"), "no room in %s" % res
    return res


# ----------------------------------------------------------------- MUC ---

def join(client, room, nick, history="<history maxstanzas='0'/>", extra="", show=None):
    """Join room (a bare JID) as nick; returns the self-presence or error."""
    show_el = "<show>%s</show>" % show if show else ""
    client.send("<presence to=%s><x xmlns='http://jabber.org/protocol/muc'>%s</x>%s%s"
                "</presence>" % (attr(room + "/" + nick), history, show_el, extra))

    def done(el):
        if el.tag != "{jabber:client}presence" or el.get("from", "").split("/")[0] != room:
            return False
        return el.get("type") == "error" or 110 in muc_status_codes(el)
    return client.expect(done)


def join_queue(client, queue, nick, show=None):
    pres = join(client, jid(queue), nick, show=show)
    assert pres.get("type") != "error", "cannot join queue %s: %s" % (queue, error_condition(pres))
    return pres


def say(client, room, body, ident=None):
    ident = ident or "m%d" % next(_ids)
    client.send("<message type='groupchat' to=%s id=%s><body>%s</body></message>"
                % (attr(room), attr(ident), esc(body)))
    return ident


def expect_invite(client, room, timeout=10):
    """A mediated invitation from room; returns the message."""
    return client.expect("/s:message[@from='%s']/mucu:x/mucu:invite" % room, timeout=timeout)


#: The nick the desk speaks from to staff (doc/protocol.md, "The desk's
#: voice"); customers get the same words from the room's bare JID.
DESK_NICK = "desk"


def is_customer(client):
    """In these tests customers log in anonymously (anon.localhost) and
    staff with accounts."""
    return client.domain == "anon.localhost"


def desk_sender(client, room, staff=None):
    """Where the desk's words in `room` come from for `client`: the voice
    ROOM/desk for staff, the bare room JID for customers (staff=True/False
    says it when the login does not)."""
    if staff is None:
        staff = not is_customer(client)
    return room + "/" + DESK_NICK if staff else room


def expect_notice(client, room, contains, timeout=10, staff=None):
    """A message from the desk (desk_sender) whose body contains `contains`."""
    sender = desk_sender(client, room, staff)

    def match(el):
        return (el.tag == "{jabber:client}message" and el.get("from") == sender
                and contains in (el.findtext("{jabber:client}body") or ""))
    match.description = "message from %s containing %r" % (sender, contains)
    return client.expect(match, timeout=timeout)


def desk_event(el):
    d = el.find("{urn:mucdesk:0}desk")
    return dict(d.attrib) if d is not None else None


def expect_desk_event(client, room, event, timeout=10, staff=None):
    sender = desk_sender(client, room, staff)

    def match(el):
        return (el.tag == "{jabber:client}message" and el.get("from") == sender
                and (desk_event(el) or {}).get("event") == event)
    match.description = "desk event %s from %s" % (event, sender)
    return client.expect(match, timeout=timeout)


def desk_voice_seen(client, room):
    """What `client` received of the desk's voice in `room` (presence or
    any stanza from ROOM/desk, in any letter case, but errors answering the
    client's own stanzas to that address, which come from wherever they
    were sent, as for any free nick): customers must get nothing."""
    voice = (room + "/" + DESK_NICK).lower()
    return [el for el in client.received if (el.get("from") or "").lower() == voice
            and el.get("type") != "error"]


def barrier(client):
    client.sync(to=DOMAIN)


def ticket_row(db, ticket, cols="status, owner_jid, accepted_at IS NOT NULL, "
                                 "ended_at IS NOT NULL, chat_seconds"):
    return db.psql("SELECT %s FROM tickets WHERE id = %d" % (cols, int(ticket)))


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s" % what)


def db_value(db, sql):
    return db.value(sql)
