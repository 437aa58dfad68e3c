"""Smoke check of a running mucdesk behind Prosody, as a user would see it.

Usage: smoke.py --port C2S_PORT --jid agent1@localhost --password PW
                [--component support.localhost] [--anonymous anon.localhost]
                [--queue support@support.localhost]

Logs in with the account and (unless --anonymous '') anonymously, then asks
the component for disco#info (it must answer with a conference identity)
and pings it; with --queue, the anonymous user asks the queue for a chat
(request-chat: a room, a ticket and a token must come back).  Prints one line per check and exits 0 if all passed, 1
otherwise.  contrib/quickstart --smoke runs it.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mdtest import stanzas  # noqa: E402
from mdtest.client import XmppSession  # noqa: E402


def check_component(client, component, who):
    """disco#info and ping on the component; returns a list of failures."""
    failures = []
    reply = client.send_iq("<iq type='get' to=%s><query xmlns=%s/></iq>"
                           % (stanzas.attr(component), stanzas.attr(stanzas.NS["info"])))
    if reply.get("type") != "result":
        failures.append("%s: disco#info on %s failed: %s" % (who, component, stanzas.short(reply)))
    else:
        ids = stanzas.xpath(reply, "/s:iq/info:query/info:identity")
        names = ["%s/%s %r" % (i.get("category"), i.get("type"), i.get("name")) for i in ids]
        if not any(i.get("category") == "conference" for i in ids):
            failures.append("%s: disco#info on %s has no conference identity: %s"
                            % (who, component, stanzas.short(reply)))
        else:
            print("ok   %s: disco#info on %s: %s" % (who, component, ", ".join(names)))
    reply = client.send_iq("<iq type='get' to=%s><ping xmlns='urn:xmpp:ping'/></iq>"
                           % stanzas.attr(component))
    if reply.get("type") != "result":
        failures.append("%s: ping %s failed: %s" % (who, component, stanzas.short(reply)))
    else:
        print("ok   %s: ping %s" % (who, component))
    return failures


def check_request_chat(client, queue):
    """request-chat on the queue, as the widget does; a list of failures."""
    cmd_ns = stanzas.NS["cmd"]
    reply = client.send_iq("<iq type='set' to=%s><command xmlns='%s' node='request-chat' "
                           "action='execute'/></iq>" % (stanzas.attr(queue), cmd_ns))
    cmd = reply.find("{%s}command" % cmd_ns)
    if reply.get("type") != "result" or cmd is None or cmd.get("status") != "executing":
        return ["request-chat on %s: no form: %s" % (queue, stanzas.short(reply))]
    form = stanzas.submit_form({"name": "Smoke Test", "email": "smoke@example.org",
                                "question": "Is the desk up?"})
    reply = client.send_iq("<iq type='set' to=%s><command xmlns='%s' node='request-chat' "
                           "action='complete' sessionid=%s>%s</command></iq>"
                           % (stanzas.attr(queue), cmd_ns, stanzas.attr(cmd.get("sessionid")),
                              form))
    values = stanzas.form_values(reply)
    if reply.get("type") != "result" or not all(values.get(k) for k in ("room", "ticket",
                                                                        "token")):
        return ["request-chat on %s: no chat: %s" % (queue, stanzas.short(reply))]
    print("ok   anonymous: request-chat on %s: ticket %s, room %s"
          % (queue, values["ticket"], values["room"]))
    return []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--component", default="support.localhost")
    ap.add_argument("--anonymous", default="anon.localhost",
                    help="anonymous host to test too ('' to skip)")
    ap.add_argument("--queue", default="",
                    help="queue JID to ask for a chat (request-chat), '' to skip")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args(argv)

    failures = []
    with XmppSession(args.port, host=args.host, timeout=args.timeout) as xs:
        try:
            user = xs.login(args.jid, args.password)
            print("ok   logged in as %s" % user.jid)
            failures += check_component(user, args.component, args.jid)
        except AssertionError as e:
            failures.append(str(e))
        if args.anonymous:
            try:
                anon = xs.anonymous(args.anonymous)
                print("ok   logged in anonymously as %s" % anon.jid)
                failures += check_component(anon, args.component, "anonymous")
                if args.queue:
                    failures += check_request_chat(anon, args.queue)
            except AssertionError as e:
                failures.append(str(e))
    for f in failures:
        print("FAIL " + f)
    print("smoke: %s" % ("all checks passed" if not failures else "%d check(s) failed" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
