/* The MUC service (XEP-0045) on our domain, and the interface the desk
 * drives it through.  This is the only muc/ header desk/ includes.
 *
 * Two kinds of rooms live here:
 *  - plain rooms, created by service admins with the ordinary XEP-0045 flow
 *    and configured with muc#owner forms: pure XEP-0045, no hooks;
 *  - programmatic rooms (queue and session rooms), created with
 *    muc_room_create() by the layer above, which attaches hooks to them.
 *
 * Everything here runs on the XMPP thread.  Pointers to rooms and occupants
 * handed to hooks are valid during the call; a room stays valid until it is
 * destroyed (the `destroyed` hook is its last use), an occupant until it
 * leaves (the `left` hook is its last use).
 *
 * Privilege and visibility.  An occupant is either *privileged* (staff; set
 * by the pre_join hook) or not.  An occupant may be made *invisible*: then
 * only privileged occupants and itself learn of it, by any path (presence,
 * occupant lists and counts, disco, history, MAM, errors, nick conflicts,
 * iq and private messages to its nick).  Privileged viewers see it with an
 * observer marker (doc/protocol.md).  The rule lives in muc/visibility.c. */
#ifndef MUCDESK_MUC_MUC_H
#define MUCDESK_MUC_MUC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/loop.h"
#include "store/archive.h"
#include "store/db.h"
#include "xmpp/disco.h"
#include "xmpp/router.h"
#include "xmpp/stanza.h"

struct muc;
struct muc_room;
struct muc_occupant;

/* Ordered by rank: a comparison means "at least". */
enum muc_role {
    MUC_ROLE_NONE,
    MUC_ROLE_VISITOR,
    MUC_ROLE_PARTICIPANT,
    MUC_ROLE_MODERATOR,
};

enum muc_affiliation {
    MUC_AFFIL_OUTCAST,
    MUC_AFFIL_NONE,
    MUC_AFFIL_MEMBER,
    MUC_AFFIL_ADMIN,
    MUC_AFFIL_OWNER,
};

/* The <show/> of an occupant's presence (AVAILABLE: none). */
enum muc_show {
    MUC_SHOW_AVAILABLE,
    MUC_SHOW_CHAT,
    MUC_SHOW_AWAY,
    MUC_SHOW_XA,
    MUC_SHOW_DND,
};

/* Why an occupant left (the `left` hook). */
enum muc_leave_reason {
    MUC_LEFT_LEAVE,       /* sent unavailable presence */
    MUC_LEFT_KICK,        /* kicked (307) */
    MUC_LEFT_BAN,         /* banned (301) */
    MUC_LEFT_AFFILIATION, /* lost the membership a members-only room needs */
    MUC_LEFT_DISCONNECT,  /* ghost: an error bounce or the server's
                             unavailable presence (333) */
    MUC_LEFT_SHUTDOWN,    /* the service is stopping (332) */
    MUC_LEFT_DESTROY,     /* the room was destroyed */
};

const char *muc_role_name(enum muc_role role);
const char *muc_affiliation_name(enum muc_affiliation affiliation);
const char *muc_show_name(enum muc_show show); /* "" for AVAILABLE */

/* ---- the service -------------------------------------------------------------- */

/* The archive the MUC writes to and reads from.  Normally the functions of
 * store/archive.h; a table so that tests can stand in for it.  All NULL (or
 * `archive` NULL): no archiving, no MAM. */
struct muc_archive {
    struct archive *archive;
    uint64_t (*append)(struct archive *a, const struct archive_event *ev);
    uint64_t (*durable)(const struct archive *a);
    void (*on_durable)(struct archive *a, void (*fn)(void *ud, uint64_t seq),
                       void *ud);
    int (*query)(struct archive *a, const struct archive_query *q,
                 void (*fn)(void *ud, const struct archive_page *page),
                 void *ud);
};

/* Registers the MUC's handlers with the router and disco.  `store` may be
 * NULL (no persistent plain rooms: tests).  Borrows everything it is given
 * for its whole life.  NULL on failure (logged). */
struct muc *muc_new(struct loop *loop, struct router *router,
                    struct disco *disco, struct store *store,
                    const struct muc_archive *archive,
                    const struct config *cfg);
/* Loads persistent plain rooms (a store operation; until it completes,
 * stanzas to rooms not yet loaded are answered "try again").  0 or -1. */
int muc_start(struct muc *muc);
/* The service is stopping: every occupant gets its unavailable presence
 * with status 332, then every room is freed (hooks see MUC_LEFT_SHUTDOWN
 * and `destroyed`).  Call before the link closes. */
void muc_shutdown(struct muc *muc);
void muc_free(struct muc *muc);


/* Counts since the start, for the metrics (plain increments on the XMPP
 * thread).  Borrowed: lives as long as the service. */
struct muc_stats {
    uint64_t groupchat;       /* occupants' groupchat messages with a body, sent */
    uint64_t private_msgs;    /* private messages with a body, delivered */
    uint64_t mam_queries;     /* MAM queries answered or started */
    uint64_t rate_limited;    /* stanzas refused by [muc] message_rate */
};
const struct muc_stats *muc_stats(const struct muc *muc);
/* Rooms now (every kind). */
unsigned muc_room_count_all(const struct muc *muc);

/* ---- programmatic rooms ---------------------------------------------------------- */

struct muc_room_options {
    const char *title;        /* disco name; NULL: the room's local part */
    const char *description;  /* NULL: none */
    bool hidden;              /* not listed in disco#items */
    bool members_only;        /* only affiliated users may enter (pre_join
                                 may grant membership) */
    bool moderated;           /* only participants and up may speak */
    bool persistent;          /* false: destroyed when the last occupant
                                 leaves */
    bool semi_anonymous;      /* real JIDs only for privileged viewers and
                                 moderators; false: for everyone */
    bool pm_privileged_only;  /* private messages only between privileged
                                 occupants (others get not-acceptable) */
    bool archived;            /* groupchat goes through the archive (and is
                                 shown only once durable); MAM enabled */
    int64_t ticket_id;        /* > 0: the archived events belong to this
                                 ticket (ticket_events) */
    int history_size;         /* messages on join: 0 the service default,
                                 < 0 none */
    int max_occupants;        /* 0: the service default */
    bool occupants_change_subject; /* false: moderators only */
};

/* What the pre_join hook sees and decides for one joining user.  The hook
 * may change the fields marked "decided". */
struct muc_join {
    const char *real_jid;     /* full JID of the joining session */
    const char *bare_jid;
    const char *requested_nick;
    enum muc_affiliation affiliation; /* the room's record for bare_jid;
                                         decided: a change is recorded */
    bool privileged;          /* decided (default false) */
    bool invisible;           /* decided: join as an invisible observer */
    enum muc_role role;       /* decided: NONE means the default for the
                                 affiliation and room type */
    char nick[128];           /* decided: the nick to use ("" keeps the
                                 requested one; a change sends status 210) */
};

enum muc_join_verdict {
    MUC_JOIN_ALLOW,
    MUC_JOIN_DENY, /* the hook filled *err (e.g. registration-required) */
};

enum muc_message_verdict {
    MUC_MESSAGE_PASS,     /* archive and broadcast it as usual */
    MUC_MESSAGE_CONSUMED, /* a command: neither broadcast nor archived */
};

/* Hooks of a programmatic room.  Every one is optional (NULL). */
struct muc_room_hooks {
    /* A user asks to enter (a new occupant, not a second session of one).
     * Runs before the affiliation checks, so it may admit a user by
     * granting membership. */
    enum muc_join_verdict (*pre_join)(void *ud, struct muc_room *room,
                                      struct muc_join *join, struct xerr *err);
    /* The occupant is in, and has received the room state. */
    void (*joined)(void *ud, struct muc_room *room, struct muc_occupant *occ);
    /* The occupant's last session sent unavailable presence `in` and is
     * about to leave (`left` follows).  Lets the layer above read what the
     * client said on leaving (an explicit "end chat" marker). */
    void (*leaving)(void *ud, struct muc_room *room,
                    const struct muc_occupant *occ, const struct stanza_in *in);
    /* The occupant's last session left.  Last use of `occ`. */
    void (*left)(void *ud, struct muc_room *room,
                 const struct muc_occupant *occ, enum muc_leave_reason why);
    /* The occupant changed its <show/> or <status/>. */
    void (*presence_changed)(void *ud, struct muc_room *room,
                             struct muc_occupant *occ);
    /* A groupchat message with a body from an occupant, before any check on
     * its right to speak and before it is archived or broadcast. */
    enum muc_message_verdict (*message)(void *ud, struct muc_room *room,
                                        struct muc_occupant *from,
                                        const char *body,
                                        const struct stanza_in *in);
    /* A message to the room JID from someone not in the room (customers
     * write to a queue JID).  Without this hook they get an error. */
    void (*outsider_message)(void *ud, struct muc_room *room,
                             const struct stanza_in *in, const char *body);
    /* An occupant sent the room JID a message carrying a submitted data
     * form (XEP-0004 "forms in messages": the answer to a form the room
     * sent) whose FORM_TYPE the MUC does not handle itself.  0, or -1 with
     * err: the sender gets that error.  Without this hook such a message
     * is refused as any other non-groupchat message with a body. */
    int (*form_submitted)(void *ud, struct muc_room *room,
                          struct muc_occupant *from, xmpp_stanza_t *form,
                          const struct stanza_in *in, struct xerr *err);
    /* An occupant asks the room to invite `invitee_bare` (a mediated
     * invitation, §7.8.2): true lets the room send it.  Without this hook
     * occupants of the room cannot invite anyone (muc_room_invite() still
     * can); membership is never granted by an occupant's invitation in
     * these rooms. */
    bool (*may_invite)(void *ud, struct muc_room *room,
                       const struct muc_occupant *inviter,
                       const char *invitee_bare);
    /* Someone declined an invitation of this room (mediated, §7.8.2): only
     * an invitee, once per invitation (the room relays it to the inviting
     * occupant, if any).  from_jid: the decliner's real JID. */
    void (*invite_declined)(void *ud, struct muc_room *room,
                            const char *from_jid, const char *reason);
    /* An occupant changes the subject the standard way (§8.1): true allows
     * it where the room's configuration alone would not, and lets the layer
     * above take the subject for its own (a ticket's).  Not asked of
     * invisible occupants, who never may. */
    bool (*subject_changing)(void *ud, struct muc_room *room,
                             const struct muc_occupant *occ,
                             const char *subject);
    /* A privileged occupant sent the room's voice (muc_room_set_voice())
     * a private message with a body: the body as typed.  0 if the layer
     * above took it (answering with muc_room_tell(), say), or -1 with
     * err: the sender gets that error.  NULL: feature-not-implemented.
     * Nobody else can reach the voice: for them its nick is free. */
    int (*voice_message)(void *ud, struct muc_room *room,
                         struct muc_occupant *from, const char *body,
                         const struct stanza_in *in, struct xerr *err);
    /* Whether a user who is not an occupant counts as privileged when it
     * asks the room something (MAM, disco).  NULL: nobody is. */
    bool (*is_privileged)(void *ud, struct muc_room *room,
                          const char *bare_jid);
    /* The room is going away.  Last use of `room`. */
    void (*destroyed)(void *ud, struct muc_room *room);
};

/* Creates a room named `name` (a local part; prepared here).  The options
 * are copied; hooks and ud are borrowed until `destroyed`.  NULL if the name
 * is invalid or taken or the room limit is reached (logged). */
struct muc_room *muc_room_create(struct muc *muc, const char *name,
                                 const struct muc_room_options *opts,
                                 const struct muc_room_hooks *hooks, void *ud);
/* The room with this local part, or NULL. */
struct muc_room *muc_room_find(struct muc *muc, const char *name);
/* Removes every occupant (each gets unavailable presence with <destroy/>,
 * the reason and the alternate venue, both optional), then frees the room.
 * Persistent plain rooms are also deleted from the database.  What the
 * archive holds stays in PostgreSQL, but MAM on the room JID ends with the
 * room: to keep a transcript readable over MAM, keep the room and remove
 * its occupants instead (kick, and refuse them in pre_join). */
void muc_room_destroy(struct muc_room *room, const char *reason,
                      const char *alternate_jid);

const char *muc_room_name(const struct muc_room *room); /* local part */
const char *muc_room_jid(const struct muc_room *room);  /* room@domain */
unsigned muc_room_occupant_count(const struct muc_room *room);

/* Records an affiliation for a bare JID (NONE removes it) and applies it to
 * occupants: presence updates, removal of an outcast (301) or of a non-member
 * from a members-only room (321).  Returns 1 if something changed, 0 if not,
 * -1 on bad input. */
int muc_room_set_affiliation(struct muc_room *room, const char *bare_jid,
                             enum muc_affiliation affiliation,
                             const char *reason);
enum muc_affiliation muc_room_affiliation(const struct muc_room *room,
                                          const char *bare_jid);

/* Sends a mediated invitation (§7.8.2) from the room to `to_jid`.  The
 * room remembers it for a day (the last 32 per room): one decline from
 * that user comes back through the invite_declined hook.  0 or -1. */
int muc_room_invite(struct muc_room *room, const char *to_jid,
                    const char *reason);

/* The room's service voice (not XEP-0045's voice): a nick from which
 * privileged occupants get the room's own words (posts, records, tells,
 * and these in history and MAM) instead of the bare room JID, which some
 * clients do not show (converse.js 14).  They see it as an occupant
 * (affiliation none, role moderator, no real JID; its available presence
 * in the occupant list on entering, before their self-presence; an
 * unavailable one if their privilege is revoked); nobody may join as it or
 * take its nick (409, ASCII case folded).  Everyone else gets the same
 * words, payloads and all, from the bare room JID, and never learns of it
 * (no presence, no count, its nick answers as a free one).  Subjects and
 * status codes still come from the room JID.  nick NULL removes it.
 * Returns 1 if it changed, 0 if not, -1 if the nick is not a valid one or
 * an occupant holds it. */
int muc_room_set_voice(struct muc_room *room, const char *nick);

/* A room status message: a groupchat message from the room JID.  Archived
 * (kind system) in archived rooms, kept in history, and, if staff_only,
 * shown only to privileged occupants (now and in history and MAM).
 * 0, or -1 if the archive could not take it. */
int muc_room_post(struct muc_room *room, const char *text, bool staff_only);
/* The same with extra XML after the <body/> (a payload element such as
 * <desk xmlns='urn:mucdesk:0'/>; NULL: none), archived with the message. */
int muc_room_post_with(struct muc_room *room, const char *text,
                       const char *extra_xml, bool staff_only);
/* muc_room_post() kept out of the history: archived and sent to those in
 * the room now, for text the layer above hands every newcomer itself
 * (whatever history their client asks for on entering). */
int muc_room_record(struct muc_room *room, const char *text, bool staff_only);
/* What a room record was: its stanza id and time, for telling it again. */
struct muc_said {
    char stanza_id[48];
    int64_t at_us;
};
/* muc_room_record() that also says what it was (*said; zeroed on
 * failure). */
int muc_room_record_said(struct muc_room *room, const char *text,
                         bool staff_only, struct muc_said *said);
/* Tells one occupant (all its sessions) a record again, `text` being the
 * record's own: as history replays it (its stanza id, a delay with its
 * time), so that a client that also reads it from MAM or history keeps
 * one copy.  Never archived again. */
void muc_room_tell_again(struct muc_room *room, struct muc_occupant *occ,
                         const char *text, const struct muc_said *said);
/* A groupchat message from the occupant itself (a canned response an
 * agent sends through a command): archived and shown like one it typed,
 * with extra XML after the <body/> (NULL: none).  0, or -1 if the occupant
 * is invisible or the archive could not take it. */
int muc_occupant_say(struct muc_occupant *occ, const char *text,
                     const char *extra_xml);
/* A notice to one occupant only (all its sessions), from the room JID (the
 * voice, for a privileged one);
 * never archived nor kept in history (replies to text commands). */
void muc_room_tell(struct muc_room *room, struct muc_occupant *occ,
                   const char *text);
/* muc_room_tell() with extra XML after the <body/> (NULL: none). */
void muc_room_tell_with(struct muc_room *room, struct muc_occupant *occ,
                        const char *text, const char *extra_xml);
/* Sets the subject, from the room itself, and tells the occupants.  Archived
 * in archived rooms.  Returns 1 if it changed, 0 if not, -1 on failure. */
int muc_room_set_subject(struct muc_room *room, const char *subject);

/* Iteration in join order.  Do not remove occupants while iterating. */
struct muc_occupant *muc_room_first_occupant(const struct muc_room *room);
struct muc_occupant *muc_occupant_next(const struct muc_occupant *occ);
struct muc_occupant *muc_room_find_occupant(const struct muc_room *room,
                                            const char *nick);
/* The occupant one of whose sessions has this real JID (full, or bare: any
 * session of that user), or NULL. */
struct muc_occupant *muc_room_find_user(const struct muc_room *room,
                                        const char *real_jid);

/* Disco nodes on room JIDs answered by the layer above (ad-hoc commands on
 * a queue JID), and extra features in a room's disco#info.  The functions
 * find the room's local part in in->to.local; `features` writes
 * <feature/> elements.  Any member may be NULL.  Borrowed for the life of
 * the service. */
struct muc_room_disco {
    disco_info_fn node_info;
    disco_items_fn node_items;
    void (*features)(void *ud, const struct muc_room *room, struct buf *out);
    /* Whether user `bare` may be privileged in some room (the
     * is_privileged hook): only then does the service's room list look
     * at every hidden room for them; anyone else sees the public rooms
     * and the rooms they are in.  NULL: everyone may be. */
    bool (*privileged_somewhere)(void *ud, const char *bare);
    void *ud;
};
void muc_set_room_disco(struct muc *muc, const struct muc_room_disco *disco);

/* Rooms whose existence some users may not learn (the desk's session
 * rooms: ticket numbers are not to be probed).  conceal(ud, local, bare)
 * answers whether user `bare` must not learn whether room `local` exists;
 * then, unless they are in it, every stanza of theirs to the room or its
 * occupants is answered as for a room that does not exist
 * (item-not-found), and a join does not create a plain room of that name
 * whoever asks.  Borrowed for the life of the service. */
typedef bool (*muc_conceal_fn)(void *ud, const char *local, const char *bare);
void muc_set_conceal(struct muc *muc, muc_conceal_fn fn, void *ud);

/* MAM in the rooms whose archive is a ticket's (ticket_id > 0): the
 * records that are nobody's message (joins, leaves, transfers, status
 * changes, ratings), which MAM leaves out in every other room, as the
 * layer above words them in its transcripts.  Both members or neither.
 *  - kinds(ud, privileged): the ARCHIVE_KIND_BIT()s of those kinds a reader
 *    of this privilege is shown.  MAM asks the archive for these kinds too
 *    (staff-only records of them for privileged readers only, as any
 *    record), so paging, RSM first/last, `ids` and metadata count exactly
 *    them: every record of these kinds the archive lets the reader see
 *    must be one render() words.
 *  - render(ud, item, privileged, body, extra): one such record's text into
 *    `body` and, optionally, XML for after the body into `extra` (a
 *    payload element); MAM sends it as a groupchat message from the room's
 *    bare JID.  false: nothing to show (left out of the page).
 * Borrowed for the life of the service; plain rooms never ask it. */
struct muc_archive_events {
    unsigned (*kinds)(void *ud, bool privileged);
    bool (*render)(void *ud, const struct archive_item *item, bool privileged,
                   struct buf *body, struct buf *extra);
    void *ud;
};
void muc_set_archive_events(struct muc *muc,
                            const struct muc_archive_events *events);

/* ---- occupants ---------------------------------------------------------------- */

const char *muc_occupant_nick(const struct muc_occupant *occ);
/* The real full JID of its first session. */
const char *muc_occupant_real_jid(const struct muc_occupant *occ);
/* Writes the real bare JID into out[size]; returns out. */
const char *muc_occupant_bare_jid(const struct muc_occupant *occ, char *out,
                                  size_t size);
bool muc_occupant_privileged(const struct muc_occupant *occ);
bool muc_occupant_invisible(const struct muc_occupant *occ);
enum muc_show muc_occupant_show(const struct muc_occupant *occ);
/* XEP-0421 id: stable per room and real bare JID. */
const char *muc_occupant_id(const struct muc_occupant *occ);

/* Makes the occupant invisible or visible.  Becoming visible: everyone who
 * could not see it gets its join presence; becoming invisible: they get its
 * unavailable presence.  Returns true if it changed. */
bool muc_occupant_set_invisible(struct muc_occupant *occ, bool invisible);
/* Grants or revokes the occupant's privilege (the layer above decides it
 * at pre_join; this is for changes later, such as staff leaving a queue).
 * The occupant alone is told what changes for it: invisible occupants
 * appear (join presence) or vanish (unavailable presence), and in a
 * semi-anonymous room the others' presence is sent again with or without
 * real JIDs; from now on it gets staff-only posts, history and archive
 * records or not.  Its own presence does not change, so nobody else
 * notices.  An invisible occupant that loses its privilege stays
 * invisible: remove it if it may not observe.  Returns true if it
 * changed. */
bool muc_occupant_set_privileged(struct muc_occupant *occ, bool privileged);
/* Changes the role and tells the occupants (NONE kicks).  Returns true if
 * it changed. */
bool muc_occupant_set_role(struct muc_occupant *occ, enum muc_role role,
                           const char *reason);
/* Removes the occupant as if the room were destroyed, for it alone: it
 * gets unavailable presence with <destroy/> (and the reason); the others
 * see an ordinary leave.  The room lives on (for staff, MAM).  `occ` is
 * invalid afterwards (the `left` hook sees MUC_LEFT_DESTROY). */
void muc_occupant_dismiss(struct muc_occupant *occ, const char *reason);
/* Removes the occupant (status 307; the reason is optional).  `occ` is
 * invalid afterwards. */
void muc_occupant_kick(struct muc_occupant *occ, const char *reason);
/* Removes an occupant whose connection is known to be gone though its
 * server has not said so (a customer back on a new address): the others
 * see an ordinary leave, with no status code, as for a ghost.  `occ` is
 * invalid afterwards (the `left` hook sees MUC_LEFT_DISCONNECT). */
void muc_occupant_drop(struct muc_occupant *occ);

#endif
