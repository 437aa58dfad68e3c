-- 008: whether a queue member is offered chats ("takes chats", issue 13).
-- NULL: the role's default, yes for agents and no for supervisors (who
-- mostly watch: offering them chats added an offer timeout to every chat
-- of a team whose supervisor sat in the queue room).  agent-add sets it
-- per membership, set-availability for all of one person's memberships.

ALTER TABLE agents ADD COLUMN takes_chats boolean;
