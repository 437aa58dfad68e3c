-- 006: the sender's own message id (the `id` attribute of the groupchat
-- message), kept so that history and MAM give it back: clients match a
-- XEP-0308 correction or a XEP-0444 reaction to the message by it.
-- NULL for rows archived before this migration and for events that are no
-- one's message (joins, status lines).

ALTER TABLE ticket_events ADD COLUMN message_id text;
ALTER TABLE muc_archive ADD COLUMN message_id text;
