-- 004: the desk (queues, agents) as the running daemon follows them.
--
-- queues and agents (001) are the truth; mucdesk keeps them in memory and
-- reloads them when desk_directory.version moves.  Triggers move it on
-- every change, whoever makes it (mucdeskctl, an ad-hoc command, psql), so
-- a change made anywhere reaches every running instance within
-- [desk] reload_interval.

CREATE TABLE desk_directory (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    version     bigint NOT NULL DEFAULT 1,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO desk_directory DEFAULT VALUES;

CREATE FUNCTION desk_directory_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE desk_directory SET version = version + 1, changed_at = now();
    RETURN NULL;
END
$$;

CREATE TRIGGER queues_touch AFTER INSERT OR UPDATE OR DELETE ON queues
    FOR EACH STATEMENT EXECUTE FUNCTION desk_directory_touch();
CREATE TRIGGER agents_touch AFTER INSERT OR UPDATE OR DELETE ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION desk_directory_touch();

-- Short offer timeouts are useful on small teams (and in tests).
ALTER TABLE queues DROP CONSTRAINT queues_offer_timeout_check;
ALTER TABLE queues ADD CONSTRAINT queues_offer_timeout_check
    CHECK (offer_timeout BETWEEN 1 AND 600);
-- Queue names that would collide with session rooms are refused.
ALTER TABLE queues ADD CONSTRAINT queues_name_not_ticket
    CHECK (name !~ '^ticket-');
-- The order agents joined a queue (round-robin's tie-break).
ALTER TABLE agents ADD COLUMN added_at timestamptz NOT NULL DEFAULT now();
