"""mucdeskctl mail-in against a real PostgreSQL (issue 14): a reply with
[Ticket#N] (or one of our Message-IDs in In-Reply-To) from the ticket's
customer is appended and reopens it (QUEUED); other mail opens a ticket in
[mail] in_queue; attachments without a place to be served from are
listed (test_upload.py: kept); a redelivery adds nothing; exit
codes as an MTA expects (65 unreadable, 67 nowhere to go, 75 while
PostgreSQL is down, then delivered once it is back)."""

import pytest

from desk_tickets import ctl, make_ticket
from mdtest.mucdesk import write_config


@pytest.fixture
def conf(run_dir, config, pg):
    cfg = {s: dict(v) for s, v in config.items()}
    cfg["mail"] = {"from": "Support <support@desk.example>", "in_queue": "billing"}
    pg.db_rows("INSERT INTO queues (name, title) VALUES ('billing', 'Billing')"
               " RETURNING name")
    return write_config(run_dir / "ctl.conf", cfg)


def reply(tid, body="Thanks, but it is still wrong.", msgid="r1@example.org",
          sender="Ann <ann@example.org>", extra=""):
    return ("From: %s\r\nTo: support@desk.example\r\n"
            "Subject: Re: Your chat transcript [Ticket#%d]\r\n"
            "Message-ID: <%s>\r\n%sMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"
            % (sender, tid, msgid, extra, body)).encode()


def test_mail_reply_reopens_its_ticket(pg, conf):
    tid = make_ticket(pg)
    rc, out, err = ctl(conf, ["mail-in"], reply(tid, body="Спасибо, but still wrong"))
    assert rc == 0, err
    assert b"appended to ticket #%d (reopened: QUEUED)" % tid in out
    assert pg.db_value("SELECT status FROM tickets WHERE id = %d" % tid) == "QUEUED"
    assert pg.db_value("SELECT followup_at IS NOT NULL FROM tickets WHERE id = %d"
                       % tid) == "t"
    rows = pg.db_rows("SELECT kind, actor_nick, body FROM ticket_events"
                      " WHERE ticket_id = %d ORDER BY id" % tid)
    assert rows[-1] == ("message", "Ann", "Спасибо, but still wrong")
    assert rows[-2][0] == "status"
    # The MTA delivers the same message again (lost acknowledgement).
    rc, out, err = ctl(conf, ["mail-in"], reply(tid, body="Спасибо, but still wrong"))
    assert rc == 0 and b"already delivered" in out
    assert int(pg.db_value("SELECT count(*) FROM ticket_events WHERE ticket_id = %d"
                           % tid)) == len(rows)


def test_mail_by_in_reply_to_with_attachment(pg, conf):
    tid = make_ticket(pg, status="INPROGRESS")
    msg = ("From: ann@example.org\r\nSubject: the screenshot\r\n"
           "In-Reply-To: <mucdesk.%d.42-1700000000@desk.example>\r\n"
           "Message-ID: <a2@example.org>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
           "Content-Type: text/plain; charset=iso-8859-1\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           "Voil=E0 la capture.\r\n--XX\r\nContent-Type: image/png\r\n"
           "Content-Disposition: attachment; filename=\"shot.png\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--XX--\r\n" % tid)
    rc, out, err = ctl(conf, ["mail-in"], msg.encode())
    assert rc == 0, err
    assert pg.db_value("SELECT status FROM tickets WHERE id = %d" % tid) == "INPROGRESS"
    rows = pg.db_rows("SELECT kind, body FROM ticket_events WHERE ticket_id = %d"
                      " ORDER BY id" % tid)
    assert rows[0] == ("message", "Voilà la capture.")
    assert rows[1][0] == "file"
    # sha256("hello")
    assert rows[1][1] == ("Attachment: shot.png (image/png, 5 bytes, SHA-256 "
                          "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824), not kept: "
                          "no [http] public_url to serve it from")


def test_mail_without_ticket_or_from_a_stranger_opens_one(pg, conf):
    tid = make_ticket(pg)
    # [Ticket#N] from another address: not added to N.
    rc, out, err = ctl(conf, ["mail-in"], reply(tid, msgid="s1@evil.example",
                                                sender="eve@evil.example"))
    assert rc == 0, err
    assert pg.db_value("SELECT status FROM tickets WHERE id = %d" % tid) == "RESOLVED"
    new = pg.db_rows("SELECT id, queue, status, customer_email, details->>'refers_to'"
                     " FROM tickets WHERE id <> %d" % tid)
    assert len(new) == 1 and new[0][1:] == ("billing", "QUEUED", "eve@evil.example",
                                            str(tid))
    assert b"opened ticket #%s" % new[0][0].encode() in out


def test_mail_exit_codes(pg, conf, run_dir, config):
    rc, out, err = ctl(conf, ["mail-in"], b"this is not mail at all\n")
    assert rc == 65, (rc, err)
    # No ticket and no in_queue: 67.
    cfg = {s: dict(v) for s, v in config.items()}
    cfg["mail"] = {"from": "support@desk.example"}
    noq = write_config(run_dir / "noq.conf", cfg)
    rc, out, err = ctl(noq, ["mail-in"], reply(999999, msgid="x@y"))
    assert rc == 67, (rc, err)
    # Our own mail looping back: accepted, dropped.
    rc, out, err = ctl(conf, ["mail-in"], reply(1, sender="support@desk.example"))
    assert rc == 0 and b"dropped" in out
    # PostgreSQL down: 75, and the same message goes in once it is back.
    tid = make_ticket(pg)
    pg.stop()
    try:
        rc, out, err = ctl(conf, ["mail-in"], reply(tid, msgid="later@example.org"))
        assert rc == 75, (rc, err)
    finally:
        pg.start()
    rc, out, err = ctl(conf, ["mail-in"], reply(tid, msgid="later@example.org"))
    assert rc == 0, err
    assert pg.db_value("SELECT status FROM tickets WHERE id = %d" % tid) == "QUEUED"
