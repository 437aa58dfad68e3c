"""Files in chats (issue 15): XEP-0363 slots on mucdesk's own domain for
the occupants of an open chat, the PUT and GET on mucdesk's HTTP listener
(real Prosody, PostgreSQL, slixmpp, urllib), the `file` event in the
transcript, files deleted with their transcripts by purge-customer, the
scan hook holding a file, and the queue status resource."""

import hashlib
import http.client
import json
import os
import random
import re
import stat
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from desk_e2e import (DOMAIN, command, desk, expect_desk_event, expect_invite,  # noqa: F401
                      join, join_queue, request_chat, result_values, say,
                      ticket_row, wait_for)
from mdtest.ports import free_port
from mdtest.stanzas import NS, attr, error_condition

D = DOMAIN
NS_UP = "urn:xmpp:http:upload:0"
Q = [("billing", "round-robin")]
A = [("billing", "agent1@localhost", "agent")]
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
PDF = b"%PDF-1.4\n" + os.urandom(20000) + b"\n%%EOF\n"
REFUSAL = ("forbidden", "You are not allowed to do that")


def upload_desk(desk, upload=None, **kw):
    addr = "127.0.0.1:%d" % free_port()
    over = {"http": {"listen": addr, "public_url": "http://%s/" % addr},
            "upload": dict({"max_file_size": 100000, "max_ticket_bytes": 150000},
                           **(upload or {}))}
    md = desk(queues=Q, agents=A, overrides=over, **kw)
    return md, addr


def started_chat(desk, xmpp, db, upload=None):
    md, addr = upload_desk(desk, upload)
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    customer = xmpp.anonymous()
    chat = request_chat(customer, "billing")
    join(customer, chat["room"], "Ann")
    expect_invite(agent, chat["room"])
    join(agent, chat["room"], "Alex")
    customer.expect("/s:presence[@from='%s/Alex']" % chat["room"])
    wait_for(lambda: ticket_row(db, chat["ticket"], "status") == [("INPROGRESS",)],
             what="accepted")
    return md, addr, customer, agent, chat


def slot(client, name, size, ctype=None, extra=""):
    """The (put, get) URLs, or the (condition, text) of a refusal."""
    ct = " content-type=%s" % attr(ctype) if ctype else ""
    reply = client.send_iq("<iq type='get' to='%s'><request xmlns='%s' filename=%s "
                           "size='%s'%s>%s</request></iq>"
                           % (D, NS_UP, attr(name), size, ct, extra))
    if reply.get("type") == "error":
        return error_condition(reply)[1:]
    s = reply.find("{%s}slot" % NS_UP)
    return s.find("{%s}put" % NS_UP).get("url"), s.find("{%s}get" % NS_UP).get("url")


def req(method, url, body=None, headers=None):
    """(status, headers, body) of one request (urllib: what a client does)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def put(url, body, ctype):
    return req("PUT", url, body, {"Content-Type": ctype})[0]


def transcript(agent, ticket):
    reply, _, _ = command(agent, D, "transcript", {"ticket": ticket})
    return result_values(reply)["transcript"]


def test_customer_uploads_an_image_and_a_pdf_the_agent_gets_them(desk, xmpp, db):
    md, addr, customer, agent, chat = started_chat(desk, xmpp, db)
    ticket = chat["ticket"]
    # The service says it uploads, and how much.
    info = customer.send_iq("<iq type='get' to='%s'><query xmlns='%s'/></iq>"
                            % (D, NS["info"]))
    assert NS_UP in [f.get("var") for f in info.iter("{%s}feature" % NS["info"])]
    fields = {f.get("var"): [v.text for v in f.iter("{jabber:x:data}value")]
              for f in info.iter("{jabber:x:data}field")}
    # XEP-0363's size cap, and mucdesk's own fields (XEP-0128): the bytes
    # per chat and the types allowed, so that a client refuses before asking.
    assert fields == {"FORM_TYPE": [NS_UP], "max-file-size": ["100000"],
                      "urn:mucdesk:0#max-ticket-size": ["150000"],
                      "urn:mucdesk:0#content-types": [
                          "image/png", "image/jpeg", "image/gif", "image/webp",
                          "application/pdf", "text/plain"]}

    put_url, get_url = slot(customer, "screen shot.png", len(PNG), "image/png")
    assert put_url == get_url
    assert put_url.startswith("http://%s/upload/%s/" % (addr, ticket))
    token = urlsplit(put_url).path.split("/")[3]
    assert len(token) == 48  # 192 random bits
    assert put(put_url, PNG, "image/png") == 201
    pdf_put, pdf_get = slot(customer, "invoice.pdf", len(PDF), "application/pdf")
    assert put(pdf_put, PDF, "application/pdf") == 201

    status, h, body = req("GET", get_url)
    assert (status, body) == (200, PNG)
    assert h["Content-Type"] == "image/png"
    assert h["Content-Disposition"] == "inline; filename*=UTF-8''screen%20shot.png"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert h["Cache-Control"] == "private, max-age=300"
    status, h, body = req("GET", pdf_get)
    assert (status, body) == (200, PDF)
    assert h["Content-Disposition"] == "attachment; filename*=UTF-8''invoice.pdf"
    assert h["Content-Type"] == "application/pdf"
    # HEAD: the headers, no body.
    status, h, body = req("HEAD", pdf_get)
    assert (status, h["Content-Length"], body) == (200, str(len(PDF)), b"")

    # A page of any origin may upload (the URL is the capability): the
    # preflight is answered, and so is the PUT's origin.
    status, h, _ = req("OPTIONS", put_url, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "PUT"})
    assert (status, h["Access-Control-Allow-Origin"], h["Access-Control-Allow-Methods"],
            h["Access-Control-Allow-Headers"]) == (204, "*", "GET, HEAD, PUT", "Content-Type")
    assert req("GET", get_url)[1]["Access-Control-Allow-Origin"] == "*"
    # The customer sends the URL as XEP-0066 OOB: the agent's client gets
    # it as sent (and shows the image inline).
    customer.send("<message type='groupchat' to=%s><body>%s</body><x xmlns='jabber:x:oob'>"
                  "<url>%s</url></x></message>" % (attr(chat["room"]), get_url, get_url))
    agent.expect("/s:message[@from='%s/Ann']/oob:x/oob:url[.='%s']" % (chat["room"], get_url))

    # The agent's file goes to the same chat.
    reply_put, reply_get = slot(agent, "answer.txt", 5, "text/plain")
    assert put(reply_put, b"hello", "text/plain") == 201
    assert req("GET", reply_get)[2] == b"hello"

    # Each file is an event of the ticket: name, size, type, SHA-256, who.
    def rows():
        return db.psql("SELECT actor_jid, actor_nick, body, payload FROM ticket_events "
                       "WHERE ticket_id=%s AND kind='file' ORDER BY id" % ticket)
    wait_for(lambda: len(rows()) == 3, what="three file events")
    r = rows()
    sha = hashlib.sha256(PNG).hexdigest()
    assert r[0][:3] == (customer.jid.split("/")[0], "Ann",
                        "screen shot.png (image/png, %d bytes, sha256 %s): %s"
                        % (len(PNG), sha, get_url))
    assert "<url>%s</url>" % get_url in r[0][3] and "sha256='%s'" % sha in r[0][3]
    assert r[2][:2] == ("agent1@localhost", "Alex")
    lines = transcript(agent, ticket)
    assert any(line.endswith("] File from Ann: screen shot.png (image/png, %d bytes, "
                             "sha256 %s): %s" % (len(PNG), sha, get_url)) for line in lines)
    assert any("] File from Alex: answer.txt (text/plain, 5 bytes" in line for line in lines)
    # Stored under the run dir, owner-only, durably named by the token.
    path = os.path.join(md.config["service"]["state_dir"], "uploads", ticket, token)
    assert open(path, "rb").read() == PNG
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_slots_only_for_the_chat_limits_before_upload(desk, xmpp, db):
    md, addr, customer, agent, chat = started_chat(desk, xmpp, db)
    # An outsider, a customer of no chat, an agent in no chat: refused word
    # for word as a transcript of a ticket that does not exist.
    outsider = xmpp.login("agent2")
    missing = command(agent, D, "transcript", {"ticket": "99999"}, check=False)[0]
    assert error_condition(missing)[1:] == REFUSAL
    assert slot(outsider, "a.png", 10, "image/png") == REFUSAL
    assert slot(xmpp.anonymous(), "a.png", 10, "image/png") == REFUSAL
    # Another session of the customer's own account is not in the room.
    # Size and type before any byte is sent.
    assert slot(customer, "big.png", 100001, "image/png") == \
        ("not-acceptable", "File too large: at most 100000 bytes are accepted")
    assert slot(customer, "x.html", 10, "text/html") == \
        ("not-acceptable", "Files of this type are not accepted here (allowed: image/png,"
                           "image/jpeg,image/gif,image/webp,application/pdf,text/plain)")
    assert slot(customer, "x.bin", 10) == slot(customer, "x.html", 10, "text/html")
    assert slot(customer, "../x.png", 10, "image/png")[0] == "bad-request"
    assert slot(customer, "x.png", -1, "image/png")[0] == "bad-request"
    # The ticket's cap counts what is stored and what slots may still add.
    a = slot(customer, "a.png", 90000, "image/png")
    assert slot(customer, "b.png", 90000, "image/png") == \
        ("resource-constraint", "This chat's files would exceed 150000 bytes")
    assert put(a[0], b"x" * 90000, "image/png") == 201
    assert slot(customer, "b.png", 60001, "image/png")[0] == "resource-constraint"
    assert isinstance(slot(customer, "b.png", 60000, "image/png")[0], str)
    # Once the chat is over: no more slots.
    say(agent, chat["room"], "/close resolved")
    expect_desk_event(customer, chat["room"], "closed")
    assert slot(customer, "c.png", 10, "image/png") == REFUSAL


def test_put_must_match_the_slot_once(desk, xmpp, db):
    md, addr, customer, agent, chat = started_chat(desk, xmpp, db)
    url, _ = slot(customer, "a.pdf", 1000, "application/pdf")
    assert put(url, b"x" * 999, "application/pdf") == 400
    assert put(url, b"x" * 1000, "image/png") == 415
    assert req("PUT", url, b"x" * 1000)[0] == 415  # no type is not the slot's
    assert put(url, b"x" * 1000, "application/pdf") == 201
    assert put(url, b"y" * 1000, "application/pdf") == 409
    assert req("GET", url)[2] == b"x" * 1000
    # A token nobody was given, a token under another ticket.
    path = urlsplit(url).path.split("/")
    other = "http://%s/upload/%s/%s/a.pdf" % (addr, path[2], "0" * 48)
    assert put(other, b"x", "application/pdf") == 404
    assert req("GET", other)[0] == 404
    wrong = "http://%s/upload/%d/%s/a.pdf" % (addr, int(path[2]) + 1, path[3])
    assert req("GET", wrong)[0] == 404
    assert req("DELETE", url)[0] == 405


def test_huge_put_refused_before_the_body(desk, xmpp, db):
    """The body limit is the listener's: a PUT announcing more than
    max_file_size is answered 413 from its head, a chunked one (no length)
    411, and the listener goes on serving."""
    md, addr, customer, agent, chat = started_chat(desk, xmpp, db)
    url, _ = slot(customer, "a.png", 1000, "image/png")
    host, port = addr.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.putrequest("PUT", urlsplit(url).path)
    c.putheader("Content-Type", "image/png")
    c.putheader("Content-Length", str(10 ** 12))
    c.endheaders()  # no body sent: the answer comes from the head
    r = c.getresponse()
    assert r.status == 413
    c.close()
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.putrequest("PUT", urlsplit(url).path)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    assert c.getresponse().status == 411
    c.close()
    # A GET takes no body (it would be held in memory).
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.putrequest("GET", urlsplit(url).path)
    c.putheader("Content-Length", "5")
    c.endheaders()
    assert c.getresponse().status == 413
    c.close()
    # Hostile paths: every one is a 404 from the path alone.
    rnd = random.Random(15)
    for _ in range(60):
        junk = "".join(rnd.choice("0123456789abcdef/.%~-x") for _ in range(rnd.randint(0, 80)))
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.putrequest(rnd.choice(["GET", "PUT"]), "/upload/" + junk, skip_accept_encoding=True)
        c.putheader("Content-Length", "0")
        c.endheaders()
        status = c.getresponse().status
        assert status in (400, 404), (junk, status)
        c.close()
    # A client that stops mid-body: the slot is free again.
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.putrequest("PUT", urlsplit(url).path)
    c.putheader("Content-Type", "image/png")
    c.putheader("Content-Length", "1000")
    c.endheaders()
    c.send(b"x" * 500)
    time.sleep(0.3)
    c.close()
    wait_for(lambda: put(url, b"z" * 1000, "image/png") == 201, what="slot usable again")
    assert req("GET", url)[2] == b"z" * 1000


def test_purge_customer_deletes_the_files(desk, xmpp, db):
    md, addr, customer, agent, chat = started_chat(desk, xmpp, db)
    url, _ = slot(customer, "a.png", len(PNG), "image/png")
    assert put(url, PNG, "image/png") == 201
    say(agent, chat["room"], "/close resolved")
    expect_desk_event(customer, chat["room"], "closed")
    admin = xmpp.login("admin")
    _, _, notes = command(admin, D, "purge-customer", {"customer": "ann@example.org",
                                                        "confirm": "1"})
    assert notes == [("info", "Erased the personal data and transcripts of 1 ticket(s).")]
    wait_for(lambda: req("GET", url)[0] == 404, what="file gone")
    assert not os.path.exists(os.path.join(md.config["service"]["state_dir"], "uploads",
                                           chat["ticket"]))
    assert "deleted 1 file(s) whose transcript is gone" in md.log_text()


def test_scan_hook_holds_a_file(desk, xmpp, db, run_dir):
    script = os.path.join(str(run_dir), "scan.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n# a PDF fails, after a while; anything else passes\n"
                "sleep 1.5\nif head -c 4 | grep -q %PDF; then exit 1; fi\nexit 0\n")
    os.chmod(script, 0o755)
    md, addr, customer, agent, chat = started_chat(
        desk, xmpp, db, upload={"scan_command": script})
    good, _ = slot(customer, "a.png", len(PNG), "image/png")
    bad, _ = slot(customer, "b.pdf", len(PDF), "application/pdf")
    assert put(good, PNG, "image/png") == 201
    assert put(bad, PDF, "application/pdf") == 201
    assert req("GET", good)[0] == 423
    wait_for(lambda: req("GET", good)[0] == 200, what="passed")
    assert req("GET", bad)[0] == 423
    wait_for(lambda: req("GET", bad)[0] == 404, timeout=15, what="failed and deleted")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "kind='system' AND body='The file b.pdf did not pass the "
                              "check and was deleted'" % chat["ticket"]) == "1",
             what="the event")


def test_queue_status_resource(desk, xmpp, db):
    md, addr = upload_desk(desk)
    url = "http://%s/status/billing" % addr
    status, h, body = req("GET", url)
    assert (status, json.loads(body)) == (200, {"open": True, "available": 0})
    assert body == b'{"open":true,"available":0}\n'  # one compact line
    assert h["Cache-Control"] == "public, max-age=5"
    assert h["Content-Type"] == "application/json"
    assert h["Access-Control-Allow-Origin"] == "*"
    # Revalidation: the same state answers 304 without a body to its ETag;
    # a changed state is a new tag and a full answer.
    etag = h["ETag"]
    assert re.fullmatch(r'W/"[0-9a-f]{8}"', etag), etag
    status, h304, body = req("GET", url, headers={"If-None-Match": etag})
    assert (status, body, h304["ETag"]) == (304, b"", etag)
    assert h304["Cache-Control"] == "public, max-age=5"
    assert req("GET", url, headers={"If-None-Match": 'W/"00000000"'})[0] == 200
    agent = xmpp.login("agent1")
    join_queue(agent, "billing", "Alex")
    wait_for(lambda: json.loads(req("GET", url)[2]) == {"open": True, "available": 1},
             what="one available")
    status, h, body = req("GET", url, headers={"If-None-Match": etag})
    assert status == 200 and h["ETag"] != etag, "a new state, a new tag"
    status, h, body = req("GET", "http://%s/status/nosuch" % addr)
    assert (status, json.loads(body)) == (404, {"error": "no such queue"})
    assert h["Content-Type"] == "application/json"


def mail_with(tid, parts):
    """A customer's reply to ticket tid with attachments [(name, type, bytes)]."""
    import base64
    msg = ("From: Ann <ann@example.org>\r\nTo: support@example.org\r\n"
           "Subject: Re: [Ticket#%s]\r\nMessage-ID: <att-%s@example.org>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
           "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere they are.\r\n"
           % (tid, random.randrange(1 << 30)))
    for name, ctype, data in parts:
        msg += ("--XX\r\nContent-Type: %s\r\nContent-Disposition: attachment; "
                "filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                % (ctype, name, base64.encodebytes(data).decode().replace("\n", "\r\n")))
    return msg + "--XX--\r\n"


def test_mail_attachments_are_kept_served_and_purged_like_chat_files(desk, xmpp, db,
                                                                     run_dir):
    """Issue 14: mucdeskctl mail-in keeps an e-mail's attachments as chat
    files are: the daemon serves them on the capability URL of the file
    event, the [upload] limits and scan apply, purge-customer deletes them."""
    script = os.path.join(str(run_dir), "scan.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nif head -c 4 | grep -q EVIL; then exit 1; fi\nexit 0\n")
    os.chmod(script, 0o755)
    md, addr, customer, agent, chat = started_chat(
        desk, xmpp, db, upload={"scan_command": script})
    tid = chat["ticket"]
    say(agent, chat["room"], "/close resolved")
    expect_desk_event(customer, chat["room"], "closed")
    wait_for(lambda: ticket_row(db, tid, "status") == [("RESOLVED",)], what="resolved")
    big = os.urandom(100001)
    r = md.run_ctl(["mail-in"], input=mail_with(tid, [
        ("shot/../1.png", "image/png", PNG), ("a.pdf", "application/pdf", PDF),
        ("big.png", "image/png", big), ("run.exe", "application/x-msdownload", b"MZ"),
        ("evil.png", "image/png", b"EVIL" + PNG)]), check=True)
    assert r.stdout.strip() == "appended to ticket #%s (reopened: QUEUED)" % tid
    rows = db.psql("SELECT body, payload IS NOT NULL FROM ticket_events WHERE "
                   "ticket_id=%s AND kind='file' ORDER BY id" % tid)
    assert len(rows) == 5, rows
    png_sha = hashlib.sha256(PNG).hexdigest()
    m = re.fullmatch(r"shot_.._1\.png \(image/png, %d bytes, sha256 %s\): "
                     r"(http://%s/upload/%s/[0-9a-f]{48}/shot_.._1\.png)"
                     % (len(PNG), png_sha, re.escape(addr), tid), rows[0][0])
    assert m and rows[0][1] == "t", rows[0]
    assert rows[1][0].startswith("a.pdf (application/pdf, %d bytes" % len(PDF))
    assert rows[2][0].endswith("not kept: larger than [upload] max_file_size"), rows[2]
    assert rows[3][0].endswith("not kept: its type is not allowed ([upload] types)")
    assert rows[4][0].endswith("not kept: it did not pass the scan ([upload] "
                               "scan_command)"), rows[4]
    # Served by the daemon as its own uploads are.
    status, headers, body = req("GET", m.group(1))
    assert (status, body) == (200, PNG)
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    pdf_url = rows[1][0].rsplit(": ", 1)[1]
    status, headers, body = req("GET", pdf_url)
    assert (status, body) == (200, PDF) and headers["Content-Disposition"].startswith(
        "attachment")
    # Only the kept ones are on disk, no part left behind.
    tdir = os.path.join(md.config["service"]["state_dir"], "uploads", tid)
    assert sorted(n.rsplit(".", 1)[-1] if "." in n else "data" for n in os.listdir(tdir)) \
        == ["data", "data", "meta", "meta"]
    # And they go with the transcript.
    admin = xmpp.login("admin")
    command(admin, D, "purge-customer", {"customer": "ann@example.org", "confirm": "1"})
    wait_for(lambda: req("GET", m.group(1))[0] == 404, what="file gone")
    wait_for(lambda: req("GET", pdf_url)[0] == 404, what="pdf gone")


def test_staff_get_a_transcript_as_a_pdf_link(desk, xmpp, db):
    """Issue 14: the transcript command's `format` pdf: mucdeskctl draws
    it, the daemon serves it as a staff-only file of the ticket, and it goes
    with the transcript."""
    import shutil
    import subprocess
    md, addr, customer, agent, chat = started_chat(desk, xmpp, db)
    tid = chat["ticket"]
    say(customer, chat["room"], "Привет, мой счёт неверен")
    agent.expect("/s:message[@from='%s/Ann']" % chat["room"])
    say(agent, chat["room"], "/close resolved")
    expect_desk_event(customer, chat["room"], "closed")
    wait_for(lambda: db.value("SELECT count(*) FROM ticket_events WHERE ticket_id=%s AND "
                              "body LIKE 'closed:%%'" % tid) == "1", what="shipped")
    reply, out, notes = command(agent, D, "transcript", {"ticket": tid, "format": "pdf"})
    url = out["url"]
    assert re.fullmatch(r"http://%s/upload/%s/[0-9a-f]{48}/ticket-%s\.pdf"
                        % (re.escape(addr), tid, tid), url), url
    assert notes == [("info", "Transcript PDF: " + url)]
    status, headers, body = req("GET", url)
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF-") and headers["Content-Disposition"].startswith(
        "attachment")
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed"
    text = subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True,
                          check=True).stdout.decode()
    assert "мой счёт неверен" in text and "Ticket #%s" % tid in text, text
    # A staff-only file of the ticket: not in what the customer saw.
    assert db.psql("SELECT actor_jid, staff_only FROM ticket_events WHERE ticket_id=%s"
                   " AND kind='file'" % tid) == [("agent1@localhost", "t")]
    assert "ticket-%s.pdf" % tid not in md.run_ctl(
        ["transcript", tid, "--view", "customer"], check=True).stdout
    # Not for the customer, nor for bad formats.
    reply, _, _ = command(customer, D, "transcript", {"ticket": tid, "format": "pdf"},
                          check=False)
    assert reply.get("type") == "error"
    reply, _, _ = command(agent, D, "transcript", {"ticket": tid, "format": "doc"},
                          check=False)
    assert error_condition(reply)[1:] == ("bad-request", "format: text or pdf")
    # It goes with the transcript.
    admin = xmpp.login("admin")
    command(admin, D, "purge-customer", {"customer": "ann@example.org", "confirm": "1"})
    wait_for(lambda: req("GET", url)[0] == 404, what="pdf gone")
