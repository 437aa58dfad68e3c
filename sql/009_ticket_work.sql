-- 009: tickets after the chat (issue 14): replies by e-mail and what the
-- follow-up announcement says.
--
-- A ticket may have any number of 'reply' mail jobs (ticket-reply), each
-- with its text; still at most one transcript mail.
ALTER TABLE mail_jobs
    DROP CONSTRAINT mail_jobs_kind_check,
    ADD CONSTRAINT mail_jobs_kind_check CHECK (kind IN ('transcript', 'reply')),
    DROP CONSTRAINT mail_jobs_ticket_id_kind_key,
    ADD COLUMN body      text,          -- a reply's text
    ADD COLUMN actor_jid text;          -- who wrote it
CREATE UNIQUE INDEX mail_jobs_one_transcript ON mail_jobs (ticket_id)
    WHERE kind = 'transcript';

-- Set with followup_at by ticket-update (a change of queue, back to
-- QUEUED): who did what, for the announcement in the queue room.  NULL
-- when mail-in set followup_at (the customer wrote).
ALTER TABLE tickets ADD COLUMN followup_note text;
