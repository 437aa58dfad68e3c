-- 003: the archive (store/archive.h, store/tickets.h).
--
-- Every archived line carries its room's stanza-id, unique per table, so a
-- write retried after a lost commit acknowledgement never duplicates it.

-- What a MAM (XEP-0313) answer needs beyond the contract columns.
ALTER TABLE ticket_events
    ADD COLUMN occupant_id text,      -- XEP-0421 occupant id
    ADD COLUMN payload     text,      -- the message's other children, as XML
    ADD COLUMN mam_kind    text;      -- the archive's own kind ('subject' is
                                      -- stored as kind 'system')

-- Rooms without a ticket: plain rooms and queue rooms.
CREATE TABLE muc_archive (
    id          bigserial PRIMARY KEY,
    room        text NOT NULL,        -- local part of the room JID
    stanza_id   text NOT NULL UNIQUE,
    at          timestamptz NOT NULL,
    kind        text NOT NULL
                CHECK (kind IN ('message', 'join', 'leave', 'status', 'note',
                                'transfer', 'file', 'rating', 'system',
                                'subject')),
    nick        text,
    actor_jid   text,
    occupant_id text,
    body        text,
    payload     text,
    staff_only  boolean NOT NULL DEFAULT false
);
-- MAM pages: a room's rows in archive order (id: the order they were
-- appended, which is the order occupants saw them).
CREATE INDEX muc_archive_room_id ON muc_archive (room, id);

-- Retention: closed tickets by end time, and a mark on tickets whose
-- customer's personal data was erased (so they are not visited again).
ALTER TABLE tickets ADD COLUMN personal_data_erased_at timestamptz;
CREATE INDEX tickets_resolved_ended ON tickets (ended_at)
    WHERE status = 'RESOLVED';
