-- 007: the ticket's follow-up fields (issue 14) and mail-in's mark.
--
-- impact, ci (the configuration item: a product, a host, a contract),
-- tags, solution: set by staff as the ticket goes on after its chat;
-- customer_phone: personal data like customer_email (erased with it);
-- merged_into: the ticket this one was merged into (it is then closed).
ALTER TABLE tickets
    ADD COLUMN impact         text,
    ADD COLUMN ci             text,
    ADD COLUMN tags           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN solution       text,
    ADD COLUMN customer_phone text,
    ADD COLUMN merged_into    bigint REFERENCES tickets (id) ON DELETE SET NULL
                              CHECK (merged_into <> id),
    -- Set when something outside a chat (mucdeskctl mail-in) added to the
    -- ticket or reopened it, for the daemon to announce it in its queue
    -- room; the daemon clears it once announced.  pg_notify
    -- ('mucdesk_followup', id) is sent in the same transaction.
    ADD COLUMN followup_at    timestamptz;
CREATE INDEX tickets_followup ON tickets (followup_at)
    WHERE followup_at IS NOT NULL;
CREATE INDEX tickets_tags ON tickets USING gin (tags);

-- As in 005, and the phone number with the other personal data.
CREATE OR REPLACE FUNCTION mucdesk_erase_personal_data(ids bigint[], transcripts boolean)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF transcripts THEN
        DELETE FROM ticket_events WHERE ticket_id = ANY (ids);
    ELSE
        UPDATE ticket_events e SET actor_jid = NULL, actor_nick = NULL
          FROM tickets t
         WHERE t.id = ANY (ids) AND e.ticket_id = t.id
           AND t.customer_jid IS NOT NULL AND e.actor_jid = t.customer_jid;
    END IF;
    DELETE FROM mail_jobs WHERE ticket_id = ANY (ids);
    UPDATE tickets SET customer_jid = NULL, customer_name = NULL,
           customer_email = NULL, customer_phone = NULL,
           resume_token_hash = NULL,
           rating_comment = NULL, details = '{}'::jsonb,
           subject = CASE WHEN transcripts THEN NULL ELSE subject END,
           personal_data_erased_at = coalesce(personal_data_erased_at, now())
     WHERE id = ANY (ids);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
