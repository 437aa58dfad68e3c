"""Helpers for the tests of tickets after the chat (issue 14): mucdeskctl
with stdin and a sanitizer check, a ticket with the follow-up fields."""

import subprocess

from mdtest.mucdesk import ctl_binary, sanitizer_report


def ctl(conf, args, stdin=b"", timeout=60):
    """mucdeskctl -c conf args, stdin as given: (status, stdout, stderr)."""
    argv = [str(ctl_binary()), "-c", str(conf)] + [str(a) for a in args]
    r = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    err = r.stderr.decode("utf-8", "replace")
    report = sanitizer_report(err)
    assert not report, "sanitizer report from %s:\n%s" % (argv, report)
    return r.returncode, r.stdout, err


def make_ticket(pg, status="RESOLVED", email="ann@example.org", lines=()):
    """A ticket in queue billing with every follow-up field set, and a
    message event per (nick, body) of lines.  Returns its number."""
    tid = pg.db_value(
        "INSERT INTO tickets (queue, status, subject, customer_name,"
        " customer_email, impact, ci, tags, solution, customer_phone,"
        " ended_at) VALUES ('billing', '%s', 'Invoice wrong', 'Ann',"
        " '%s', 'high', 'invoice-service', '{billing,vip}', 'Credit note sent',"
        " '+33 1 23 45 67 89', now()) RETURNING id" % (status, email))
    for i, (nick, body) in enumerate(lines):
        pg.db_rows("INSERT INTO ticket_events (ticket_id, kind, actor_nick, body,"
                   " stanza_id) VALUES (%s, 'message', '%s', '%s', 't%s-%d')"
                   " RETURNING id" % (tid, nick, body.replace("'", "''"), tid, i))
    return int(tid)
