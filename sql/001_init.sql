-- 001: queues, agents, tickets and ticket events.
--
-- tickets and ticket_events are a public interface (PRODUCT.md section 5):
-- integrations query them directly.  Columns may be added, never renamed
-- or removed.  Off-the-record messages never appear in any table.

CREATE TABLE queues (
    name            text PRIMARY KEY
                    CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    title           text NOT NULL,
    strategy        text NOT NULL DEFAULT 'round-robin',
    offer_timeout   integer NOT NULL DEFAULT 20
                    CHECK (offer_timeout BETWEEN 5 AND 600),
    max_wait        integer NOT NULL DEFAULT 240 CHECK (max_wait >= 0),
    greeting        text,
    offline_message text,
    settings        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    queue       text NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    jid         text NOT NULL,
    role        text NOT NULL DEFAULT 'agent'
                CHECK (role IN ('agent', 'supervisor')),
    max_chats   integer NOT NULL DEFAULT 3 CHECK (max_chats BETWEEN 1 AND 100),
    skills      text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (queue, jid)
);
CREATE INDEX agents_jid ON agents (jid);

CREATE TABLE tickets (
    id                bigserial PRIMARY KEY,
    queue             text NOT NULL,
    status            text NOT NULL DEFAULT 'QUEUED'
                      CHECK (status IN ('QUEUED', 'INPROGRESS', 'RESOLVED')),
    subject           text,
    customer_jid      text,
    customer_name     text,
    customer_email    text,
    owner_jid         text,
    priority          smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    created_at        timestamptz NOT NULL DEFAULT now(),
    accepted_at       timestamptz,
    ended_at          timestamptz,
    chat_seconds      integer NOT NULL DEFAULT 0 CHECK (chat_seconds >= 0),
    rating            smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment    text,
    -- Beyond the contract: what mucdesk needs to run the chat.
    room              text UNIQUE,       -- local part of the session room
    resume_token_hash bytea,             -- SHA-256 of the resume token
    details           jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX tickets_queue_status ON tickets (queue, status);
CREATE INDEX tickets_customer_jid ON tickets (customer_jid);
CREATE INDEX tickets_open ON tickets (status) WHERE status <> 'RESOLVED';

CREATE TABLE ticket_events (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL
                CHECK (kind IN ('message', 'join', 'leave', 'status', 'note',
                                'transfer', 'file', 'rating', 'system')),
    actor_jid   text,
    actor_nick  text,
    body        text,
    -- Every event mucdesk writes carries a unique id (the room's stanza-id
    -- for messages), so a write retried after a lost commit acknowledgement
    -- can never duplicate a line.
    stanza_id   text UNIQUE,
    staff_only  boolean NOT NULL DEFAULT false
);
CREATE INDEX ticket_events_ticket_at ON ticket_events (ticket_id, at, id);
