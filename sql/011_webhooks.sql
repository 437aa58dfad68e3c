-- 011: webhooks (issue 16): what happened to tickets, POSTed to the
-- systems an operator already runs (a helpdesk, a CRM).
--
-- Every event is written to webhook_outbox by the triggers below, in the
-- same transaction as the change it describes, whoever makes the change:
-- the daemon's archive shipper, its ticket-update, mucdeskctl, mail-in.  A
-- rolled-back change leaves no event; a committed one always has its
-- rows.  The daemon's sender (component/webhook/) delivers them.
--
-- The triggers must never fail the change they watch (the shipper would
-- retry a transcript batch forever): they only read the row they fire on
-- and insert rows that satisfy every constraint below; an endpoint removed
-- meanwhile is skipped (FOR KEY SHARE).  The one way they can fail is a
-- deadlock of two writers' per-ticket turns (mucdesk_webhook_ticket_turn),
-- which PostgreSQL resolves by aborting one of them.

CREATE TABLE webhook_endpoints (
    id              serial PRIMARY KEY,
    url             text NOT NULL
                    CHECK (url ~ '^https?://[^[:space:]]+$' AND length(url) <= 2000),
    -- HMAC-SHA256 key of the X-Mucdesk-Signature header.
    secret          text NOT NULL CHECK (length(secret) BETWEEN 16 AND 200),
    events          text[] NOT NULL
                    CHECK (cardinality(events) > 0 AND events <@ ARRAY[
                        'ticket.created', 'ticket.assigned', 'ticket.requeued',
                        'ticket.ended', 'ticket.updated', 'ticket.rated',
                        'message.added']),
    queues          text[],               -- NULL: tickets of every queue
    description     text,
    -- Paused: events are still written (nothing is lost), not sent.
    paused          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- The sender's bookkeeping: consecutive failures of the receiver (no
    -- answer, 5xx, 408, 429) and when to try it again.
    failures        integer NOT NULL DEFAULT 0,
    retry_at        timestamptz NOT NULL DEFAULT '-infinity',
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    last_error      text
);

CREATE TABLE webhook_outbox (
    id              bigserial PRIMARY KEY,   -- the order of delivery
    endpoint_id     integer NOT NULL
                    REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event           text NOT NULL,
    ticket_id       bigint REFERENCES tickets (id) ON DELETE CASCADE,
    -- Sent as Idempotency-Key: the same for every attempt.
    delivery_id     uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    data            jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,  -- POSTs made
    -- Of those, the ones the receiver answered with a refusal (4xx but
    -- 408/429, 3xx): only these count toward [webhooks] max_attempts, so
    -- a receiver that is down, however long, loses nothing.
    refusals        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
    last_status     integer,                 -- HTTP status; NULL: no answer
    last_error      text,
    delivered_at    timestamptz
);
-- The sender's question: the oldest pending event of each ticket.
CREATE INDEX webhook_outbox_heads ON webhook_outbox (endpoint_id, ticket_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_outbox_dead ON webhook_outbox (endpoint_id, id)
    WHERE state = 'dead';
CREATE INDEX webhook_outbox_delivered ON webhook_outbox (delivered_at)
    WHERE state = 'delivered';
CREATE INDEX webhook_outbox_ticket ON webhook_outbox (ticket_id);

-- The ticket as every event carries it (doc/webhooks.md).  Never the
-- resume token's hash.
CREATE FUNCTION mucdesk_webhook_ticket(t tickets) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'queue', t.queue, 'status', t.status,
        'subject', t.subject, 'priority', t.priority, 'owner', t.owner_jid,
        'customer', jsonb_build_object(
            'jid', t.customer_jid, 'name', t.customer_name,
            'email', t.customer_email, 'phone', t.customer_phone),
        'created_at', t.created_at, 'accepted_at', t.accepted_at,
        'ended_at', t.ended_at, 'chat_seconds', t.chat_seconds,
        'rating', t.rating, 'rating_comment', t.rating_comment,
        'impact', t.impact, 'ci', t.ci, 'tags', to_jsonb(t.tags),
        'solution', t.solution, 'merged_into', t.merged_into,
        'details', t.details)
$$;

-- Writers of one ticket's events take turns: the outbox id (the order of
-- delivery) is drawn under this lock, held to the end of the transaction,
-- so that a ticket's ids follow the order its transactions commit in (the
-- sender never sees id N+1 committed while N is still to come).  The
-- two-key form keeps apart from [ha] lock_key's one-bigint key space; the
-- class differs from the sender's lock (1836542067, 1).
CREATE FUNCTION mucdesk_webhook_ticket_turn(ticket bigint) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(1836542068, (ticket % 2147483647)::integer)
$$;

-- One row per endpoint that wants `ev` for t's queue.
CREATE FUNCTION mucdesk_webhook_enqueue(ev text, t tickets, extra jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints e
                    WHERE ev = ANY (e.events)
                      AND (e.queues IS NULL OR t.queue = ANY (e.queues))) THEN
        RETURN;
    END IF;
    PERFORM mucdesk_webhook_ticket_turn(t.id);
    INSERT INTO webhook_outbox (endpoint_id, event, ticket_id, data)
    SELECT e.id, ev, t.id,
           jsonb_build_object('ticket', mucdesk_webhook_ticket(t))
               || coalesce(extra, '{}'::jsonb)
      FROM webhook_endpoints e
     WHERE ev = ANY (e.events)
       AND (e.queues IS NULL OR t.queue = ANY (e.queues))
     ORDER BY e.id
     -- An endpoint removed meanwhile is skipped, not a foreign-key error
     -- that would fail the change this trigger watches.
       FOR KEY SHARE OF e;
    IF FOUND THEN
        PERFORM pg_notify('mucdesk_webhooks', '');
    END IF;
END
$$;

-- tickets: created; and for an update, what changed.  Each change is told
-- by the most specific event (an accept is `assigned`, a chat's end
-- `ended`); `updated` carries what no other event explains, as the list
-- `changes`.  A snapshot stored again unchanged (a journal replay) says
-- nothing.
CREATE FUNCTION mucdesk_webhook_on_ticket() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes text[] := '{}';
    explained text[] := '{}';
    ending boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM mucdesk_webhook_enqueue('ticket.created', NEW, NULL);
        RETURN NULL;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN changes := changes || 'status'::text; END IF;
    IF NEW.queue IS DISTINCT FROM OLD.queue THEN changes := changes || 'queue'::text; END IF;
    IF NEW.owner_jid IS DISTINCT FROM OLD.owner_jid THEN changes := changes || 'owner'::text; END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN changes := changes || 'priority'::text; END IF;
    IF NEW.subject IS DISTINCT FROM OLD.subject THEN changes := changes || 'subject'::text; END IF;
    IF NEW.impact IS DISTINCT FROM OLD.impact THEN changes := changes || 'impact'::text; END IF;
    IF NEW.ci IS DISTINCT FROM OLD.ci THEN changes := changes || 'ci'::text; END IF;
    IF NEW.tags IS DISTINCT FROM OLD.tags THEN changes := changes || 'tags'::text; END IF;
    IF NEW.solution IS DISTINCT FROM OLD.solution THEN changes := changes || 'solution'::text; END IF;
    IF NEW.merged_into IS DISTINCT FROM OLD.merged_into THEN changes := changes || 'merged_into'::text; END IF;
    IF (NEW.customer_jid, NEW.customer_name, NEW.customer_email, NEW.customer_phone)
       IS DISTINCT FROM (OLD.customer_jid, OLD.customer_name, OLD.customer_email, OLD.customer_phone)
    THEN
        changes := changes || 'customer'::text;
    END IF;

    ending := OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL;
    IF NEW.owner_jid IS NOT NULL AND NEW.owner_jid IS DISTINCT FROM OLD.owner_jid
       AND NEW.status = 'INPROGRESS' AND NOT ending THEN
        PERFORM mucdesk_webhook_enqueue('ticket.assigned', NEW,
            jsonb_build_object('previous_owner', OLD.owner_jid));
        explained := explained || ARRAY['owner', 'status'];
    END IF;
    IF NEW.status = 'QUEUED' AND NOT ending
       AND (OLD.status <> 'QUEUED' OR NEW.queue IS DISTINCT FROM OLD.queue) THEN
        PERFORM mucdesk_webhook_enqueue('ticket.requeued', NEW,
            jsonb_build_object('previous_queue', OLD.queue,
                               'previous_status', OLD.status,
                               'previous_owner', OLD.owner_jid));
        explained := explained || ARRAY['status', 'queue', 'owner'];
    END IF;
    IF ending THEN
        PERFORM mucdesk_webhook_enqueue('ticket.ended', NEW, NULL);
        explained := explained || ARRAY['status', 'queue', 'owner'];
    END IF;
    IF NEW.rating IS NOT NULL AND NEW.rating IS DISTINCT FROM OLD.rating THEN
        PERFORM mucdesk_webhook_enqueue('ticket.rated', NEW, NULL);
    END IF;
    changes := ARRAY(SELECT c FROM unnest(changes) WITH ORDINALITY AS u (c, n)
                      WHERE c <> ALL (explained) ORDER BY n);
    IF cardinality(changes) > 0 THEN
        PERFORM mucdesk_webhook_enqueue('ticket.updated', NEW,
            jsonb_build_object('changes', to_jsonb(changes)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_ticket AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION mucdesk_webhook_on_ticket();

-- ticket_events: message.added for messages, internal notes and files,
-- once per statement (the shipper COPYs thousands of rows in one).
CREATE FUNCTION mucdesk_webhook_on_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints
                    WHERE 'message.added' = ANY (events)) THEN
        RETURN NULL;
    END IF;
    -- Each ticket's turn (enqueue's comment), in ticket order within the
    -- statement.  (Two writers that took turns of two tickets in opposite
    -- orders, a shipping batch and a merge of those two tickets, would
    -- deadlock; PostgreSQL then aborts one: the shipper retries its batch,
    -- a ticket-update answers with the error and may be sent again.)
    PERFORM mucdesk_webhook_ticket_turn(x.ticket_id)
       FROM (SELECT DISTINCT ticket_id FROM added
              WHERE kind IN ('message', 'note', 'file') ORDER BY 1) x;
    INSERT INTO webhook_outbox (endpoint_id, event, ticket_id, data)
    SELECT e.id, 'message.added', a.ticket_id,
           jsonb_build_object(
               'ticket', mucdesk_webhook_ticket(t),
               'message', jsonb_build_object(
                   'id', a.id, 'at', a.at, 'kind', a.kind,
                   'from', jsonb_build_object('jid', a.actor_jid,
                                              'nick', a.actor_nick),
                   'body', a.body, 'internal', a.staff_only))
      FROM added a
      JOIN tickets t ON t.id = a.ticket_id
      JOIN webhook_endpoints e
        ON 'message.added' = ANY (e.events)
       AND (e.queues IS NULL OR t.queue = ANY (e.queues))
     WHERE a.kind IN ('message', 'note', 'file')
     ORDER BY a.id, e.id
       FOR KEY SHARE OF e;  -- as in mucdesk_webhook_enqueue
    IF FOUND THEN
        PERFORM pg_notify('mucdesk_webhooks', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_events AFTER INSERT ON ticket_events
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION mucdesk_webhook_on_events();

-- As in 007, and the events not delivered yet with the rest of the
-- personal data: the erasure itself is then told as ticket.updated.
CREATE OR REPLACE FUNCTION mucdesk_erase_personal_data(ids bigint[], transcripts boolean)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM webhook_outbox WHERE ticket_id = ANY (ids);
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
