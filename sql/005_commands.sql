-- 005: the command surface (issue 7): queue settings for the pre-chat form
-- and business hours, canned responses, the knowledge base, transcript
-- mail jobs, the audit log, and one function that erases a customer's
-- personal data (retention and purge-customer share it).

-- Queue settings the desk follows (queues and agents are the directory:
-- the triggers of 004 reload them in every running mucdesk).
ALTER TABLE queues
    -- Extra pre-chat fields, one per line: var|type|label|required|options
    -- (doc/admin-guide.md); shown in request-chat's form, answers stored in
    -- the ticket's details.
    ADD COLUMN prechat_fields   text NOT NULL DEFAULT '',
    -- Business hours ('' = always open), e.g. 'mon-fri 09:00-17:30; sat
    -- 10:00-13:00', in the queue's time zone (an IANA name).
    ADD COLUMN hours            text NOT NULL DEFAULT '',
    ADD COLUMN timezone         text NOT NULL DEFAULT 'UTC',
    -- Shown instead of the form's instructions outside business hours.
    ADD COLUMN closed_message   text,
    -- Mail every chat's transcript to the customer when it ends.
    ADD COLUMN transcript_email boolean NOT NULL DEFAULT false;

-- Canned responses, per queue or (queue NULL) for every queue.  Small and
-- read on every /canned: part of the directory, reloaded on change.
CREATE TABLE canned_responses (
    id          bigserial PRIMARY KEY,
    queue       text REFERENCES queues (name) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    body        text NOT NULL CHECK (body <> ''),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX canned_responses_queue_name
    ON canned_responses ((coalesce(queue, '')), name);
CREATE TRIGGER canned_responses_touch
    AFTER INSERT OR UPDATE OR DELETE ON canned_responses
    FOR EACH STATEMENT EXECUTE FUNCTION desk_directory_touch();

-- The knowledge base: searched with PostgreSQL full-text search, titles
-- weighing more than bodies.  queue NULL: for every queue.
CREATE TABLE kb_articles (
    id          bigserial PRIMARY KEY,
    queue       text REFERENCES queues (name) ON DELETE CASCADE,
    title       text NOT NULL CHECK (title <> ''),
    body        text NOT NULL DEFAULT '',
    url         text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', title), 'A') ||
                    setweight(to_tsvector('english', body), 'B')) STORED
);
CREATE INDEX kb_articles_search ON kb_articles USING gin (search);

-- Mail to send (the transcript when a chat ends), retried with backoff.
-- No foreign key to tickets: the job may be recorded before the ticket's
-- row is shipped from the journal.  Who sent what is in the log.
CREATE TABLE mail_jobs (
    id              bigserial PRIMARY KEY,
    ticket_id       bigint NOT NULL,
    kind            text NOT NULL DEFAULT 'transcript'
                    CHECK (kind IN ('transcript')),
    recipient       text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,          -- a mucdesk is sending it
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (ticket_id, kind)
);
CREATE INDEX mail_jobs_due ON mail_jobs (next_attempt_at)
    WHERE state = 'pending';

-- What admins did that must be accountable (purge-customer...).  Never
-- holds the personal data it is about: the erased customer is recorded as
-- a SHA-256 of what the admin typed.
CREATE TABLE audit_events (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,            -- bare JID, or 'mucdeskctl:USER'
    action  text NOT NULL,
    detail  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_at ON audit_events (at);

-- Search by period (stats, ticket-search).
CREATE INDEX tickets_created_at ON tickets (created_at);

-- Erases the customer's personal data from the given tickets: their JID,
-- name, e-mail, resume token, rating comment and pre-chat details, their
-- pending mail; then either the whole transcript (transcripts = true, with
-- the subject, which is the question's first line) or only their JID and
-- nick on its lines.  Marks the tickets (the archive never writes the data
-- back, store/tickets.c).  Returns the number of tickets.
CREATE FUNCTION mucdesk_erase_personal_data(ids bigint[], transcripts boolean)
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
           customer_email = NULL, resume_token_hash = NULL,
           rating_comment = NULL, details = '{}'::jsonb,
           subject = CASE WHEN transcripts THEN NULL ELSE subject END,
           personal_data_erased_at = coalesce(personal_data_erased_at, now())
     WHERE id = ANY (ids);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
