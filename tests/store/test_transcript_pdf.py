"""mucdeskctl transcript N --pdf against a real PostgreSQL (issue 14): the
transcript drawn by cairo and pango, read back with pdftotext (poppler-
utils): the conversation in Latin, Cyrillic, CJK and Arabic, the header
with the ticket's fields, every page numbered."""

import re
import shutil
import subprocess

import pytest

from desk_tickets import ctl, make_ticket
from mdtest.mucdesk import write_config

LATIN = "Bonjour, ma facture est fausse"
CYRILLIC = "Здравствуйте, счёт неверный"
CJK = "请帮我检查发票"
ARABIC = "مرحبا الفاتورة خاطئة"


@pytest.fixture
def conf(run_dir, config, pg):
    pg.db_rows("INSERT INTO queues (name, title) VALUES ('billing', 'Billing')"
               " RETURNING name")
    return write_config(run_dir / "ctl.conf", config)


def pdftotext(path):
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed"
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                          check=True, timeout=60).stdout.decode("utf-8")


def test_transcript_pdf_holds_every_script_and_page_numbers(pg, conf, run_dir):
    lines = [("Ann", LATIN), ("Boris", CYRILLIC), ("Li", CJK), ("Amal", ARABIC)]
    # Enough lines for a second page.
    lines += [("Alex", "line %d of the conversation" % i) for i in range(120)]
    tid = make_ticket(pg, lines=lines)
    out = run_dir / "t.pdf"
    rc, stdout, err = ctl(conf, ["transcript", tid, "--pdf", "-o", out])
    assert rc == 0, err
    assert out.read_bytes().startswith(b"%PDF-")
    text = pdftotext(out)
    for s in (LATIN, CYRILLIC, CJK, "Ticket #%d: Invoice wrong" % tid):
        assert s in text, "%r not in the PDF text:\n%s" % (s, text[:3000])
    # pdftotext gives Arabic back in logical order when the PDF maps the
    # shaped glyphs back to their characters (ActualText / ToUnicode).
    assert ARABIC in text or all(w in text for w in ARABIC.split()), text[:3000]
    # Every page numbered "Page k of N", N the real count (more than one).
    found = re.findall(r"Page (\d+) of (\d+)", text)
    total = int(found[0][1]) if found else 0
    assert total >= 2 and found == [(str(k), str(total))
                                    for k in range(1, total + 1)], found
    # The header: the follow-up fields (staff view).
    for s in ("high", "invoice-service", "billing, vip", "Credit note sent",
              "+33 1 23 45 67 89"):
        assert s in text, s
    # Standard output, and the customer's view (no phone there).
    rc, stdout, err = ctl(conf, ["transcript", tid, "--pdf", "--view", "customer"])
    assert rc == 0, err
    assert stdout.startswith(b"%PDF-")
    (run_dir / "c.pdf").write_bytes(stdout)
    text = pdftotext(run_dir / "c.pdf")
    assert CYRILLIC in text and "+33 1 23" not in text


def test_transcript_pdf_refuses_misused_options(pg, conf):
    tid = make_ticket(pg)
    rc, out, err = ctl(conf, ["transcript", tid, "-o", "/tmp/x.pdf"])
    assert rc == 2 and "-o goes with --pdf" in err, (rc, err)
    rc, out, err = ctl(conf, ["transcript", tid + 1000, "--pdf"])
    assert rc != 0 and not out.startswith(b"%PDF-"), rc
