"""The ticket's follow-up fields of migration 007 (issue 14): impact, ci,
tags, solution, the customer's phone and merged_into, in the text
transcript's header (staff view; the phone, personal data, not in the
customer's)."""

import pytest

from desk_tickets import ctl, make_ticket
from mdtest.mucdesk import write_config


@pytest.fixture
def conf(run_dir, config, pg):
    pg.db_rows("INSERT INTO queues (name, title) VALUES ('billing', 'Billing')"
               " RETURNING name")
    return write_config(run_dir / "ctl.conf", config)


def test_transcript_text_header_shows_the_new_fields(pg, conf):
    first = make_ticket(pg)
    tid = make_ticket(pg)
    pg.db_rows("UPDATE tickets SET merged_into = %d WHERE id = %d RETURNING id"
               % (first, tid))
    rc, stdout, err = ctl(conf, ["transcript", tid])
    assert rc == 0, err
    text = stdout.decode()
    assert "Impact: high\nCI: invoice-service\nTags: billing, vip" in text, text
    assert "Merged into: ticket #%d" % first in text, text
    assert "Solution: Credit note sent" in text, text
    assert "Phone: +33 1 23 45 67 89" in text, text
    rc, stdout, err = ctl(conf, ["transcript", tid, "--view", "customer"])
    assert rc == 0, err
    text = stdout.decode()
    assert "Solution: Credit note sent" in text, text
    assert "+33 1 23" not in text and "invoice-service" not in text, text


def test_erasing_personal_data_erases_the_phone(pg, conf):
    tid = make_ticket(pg)
    pg.db_rows("SELECT mucdesk_erase_personal_data(ARRAY[%d]::bigint[], false)"
               % tid)
    assert pg.db_value("SELECT customer_phone IS NULL FROM tickets WHERE id = %d"
                       % tid) == "t"
