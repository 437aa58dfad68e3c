-- 002: plain MUC rooms.
--
-- Persistent rooms that admins create with the ordinary XEP-0045 flow
-- (staff team rooms) and their affiliations; mucdesk loads them at start-up.
-- Queue and session rooms are not here: the desk rebuilds them from its own
-- tables.  Room messages are archived by the archive (store/archive.h), not
-- in these tables; private messages are never stored anywhere.

CREATE TABLE muc_rooms (
    name            text PRIMARY KEY,      -- the room JID's local part
    title           text,
    description     text,
    -- XEP-0045 room passwords are shared secrets handed out in invitations,
    -- so they are kept as they are.
    password        text,
    public          boolean NOT NULL DEFAULT true,
    members_only    boolean NOT NULL DEFAULT false,
    moderated       boolean NOT NULL DEFAULT false,
    semi_anonymous  boolean NOT NULL DEFAULT true,
    allow_pm        text NOT NULL DEFAULT 'anyone'
                    CHECK (allow_pm IN ('anyone', 'participants',
                                        'moderators', 'none')),
    change_subject  boolean NOT NULL DEFAULT false,
    allow_invites   boolean NOT NULL DEFAULT false,
    archived        boolean NOT NULL DEFAULT true,
    max_occupants   integer NOT NULL DEFAULT 0 CHECK (max_occupants >= 0),
    history_size    integer NOT NULL DEFAULT 0,  -- 0 default, -1 none
    subject         text,
    subject_nick    text,
    subject_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE muc_affiliations (
    room        text NOT NULL REFERENCES muc_rooms (name) ON DELETE CASCADE,
    jid         text NOT NULL,                -- real bare JID
    affiliation text NOT NULL
                CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
    nick        text,                         -- reserved nickname
    PRIMARY KEY (room, jid)
);
