/* Internal to muc/: the service, room, occupant and session structures and
 * their bookkeeping (room.c).  The desk sees none of this (muc.h).
 *
 * Memory matters here (the target is under 1 KiB per occupant with 100k
 * rooms of 3): structures are compact, strings are allocated once, an
 * occupant's presence is kept as show + status + the other children as
 * XML, and the history ring is bounded in bytes.
 *
 * Indexes:
 *   muc->rooms            rooms by local part
 *   room->occupants       a list in join order (rooms are small; a hash
 *                         table per room would cost more than the room)
 *   muc->sessions         sessions by real full JID; sessions of one JID in
 *                         several rooms are chained through `same_jid`
 *   room->affiliations    a list of affiliation records
 *   muc->public_head      rooms that are not hidden, in creation order */
#ifndef MUCDESK_MUC_ROOM_H
#define MUCDESK_MUC_ROOM_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "core/budget.h"
#include "core/buf.h"
#include "core/ratelimit.h"
#include "muc/muc.h"

#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define NS_MUC_ADMIN "http://jabber.org/protocol/muc#admin"
#define NS_MUC_OWNER "http://jabber.org/protocol/muc#owner"
#define NS_MUC_ROOMCONFIG "http://jabber.org/protocol/muc#roomconfig"
#define NS_MUC_ROOMINFO "http://jabber.org/protocol/muc#roominfo"
#define NS_MUC_REQUEST "http://jabber.org/protocol/muc#request"
#define NS_MUC_STABLE_ID "http://jabber.org/protocol/muc#stable_id"
#define NS_MUC_SELF_PING "http://jabber.org/protocol/muc#self-ping-optimization"
#define NS_SID "urn:xmpp:sid:0"
#define NS_OCCUPANT_ID "urn:xmpp:occupant-id:0"
#define NS_DELAY "urn:xmpp:delay"
#define NS_MAM "urn:xmpp:mam:2"
#define NS_MAM_EXTENDED "urn:xmpp:mam:2#extended"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_CONFERENCE "jabber:x:conference"
#define NS_OBSERVER "urn:mucdesk:observer"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

/* Longest nick we accept, in bytes (resourceprep allows 1023). */
#define MUC_NICK_MAX 127
/* XEP-0421 ids: 12 bytes of HMAC as base64url. */
#define MUC_OCCUPANT_ID_LEN 16
/* Stanza ids: per-process random prefix + counter. */
#define MUC_STANZA_ID_MAX 40

enum muc_pm_policy { MUC_PM_ANYONE, MUC_PM_PARTICIPANTS, MUC_PM_MODERATORS,
                     MUC_PM_NONE };

/* A room's configuration: programmatic options and plain rooms' muc#owner
 * form land here alike. */
struct muc_room_config {
    char *title;          /* NULL: the local part */
    char *description;
    char *password;       /* NULL: none */
    int max_occupants;    /* 0: service default */
    int history_size;     /* 0: service default, < 0: none */
    uint8_t allow_pm;     /* enum muc_pm_policy */
    bool hidden : 1;
    bool members_only : 1;
    bool moderated : 1;
    bool persistent : 1;
    bool semi_anonymous : 1;
    bool pm_privileged_only : 1;
    bool archived : 1;
    bool change_subject : 1; /* occupants (not only moderators) may */
    bool allow_invites : 1;  /* members may invite to a members-only room */
};

/* One client connection (real full JID) of an occupant. */
struct muc_session {
    struct muc_occupant *occ;
    struct muc_session *next;     /* the occupant's other sessions */
    struct muc_session *same_jid; /* this JID's sessions in other rooms */
    UT_hash_handle hh;            /* muc->sessions (chain heads only) */
    uint32_t probed_s;            /* loop time (s) of the last ghost probe
                                     (iq.c); 0: never */
    char jid[];                   /* real full JID, prepared */
};

struct muc_occupant {
    struct muc_room *room;
    struct muc_session *sessions; /* never empty while in the room */
    struct muc_occupant *next;    /* room->occupants, in join order */
    struct muc_occupant **pprev;  /* the pointer that points here */
    char *nick;
    char *status;                 /* presence <status/> text, or NULL */
    char *extra;                  /* other presence children (XML), or NULL */
    struct rate_bucket rate;      /* [muc] message_rate */
    uint32_t voice_asked_s;       /* loop time (s) of its last voice request;
                                     0: never */
    uint16_t bare_len;            /* bare JID = sessions->jid[0..bare_len) */
    uint8_t role;                 /* enum muc_role */
    uint8_t affiliation;          /* enum muc_affiliation (cached) */
    uint8_t show;                 /* enum muc_show */
    bool privileged : 1;
    bool invisible : 1;
    bool joined : 1;              /* the joined hook ran */
    char occupant_id[MUC_OCCUPANT_ID_LEN + 1];
};

struct muc_affil_record {
    struct muc_affil_record *next; /* room->affiliations */
    uint8_t affiliation;          /* never NONE (no record instead) */
    char *nick;                   /* reserved nick, or NULL */
    char jid[];                   /* real bare JID */
};

/* The bounded ring of recent messages for history on join (history.c). */
struct muc_history {
    char *data;
    uint32_t len, cap;
    uint16_t count;
};

struct muc_room {
    struct muc *muc;
    UT_hash_handle hh;            /* muc->rooms, key name */
    char *name;                   /* local part, prepared */
    char *jid;                    /* name@domain */
    struct muc_occupant *occupants;
    struct muc_occupant **occupants_tail; /* where the next one goes */
    struct muc_affil_record *affiliations;
    struct muc_invitation *invitations; /* sent, not declined (invite.c) */
    struct muc_room_config cfg;
    char *subject;                /* NULL: never set */
    char *subject_nick;           /* who set it (NULL: the room) */
    char *voice;                  /* the service voice's nick (voice.c), or
                                     NULL: the room speaks from its JID */
    char voice_id[MUC_OCCUPANT_ID_LEN + 1]; /* its occupant id */
    int64_t subject_at_us;
    struct muc_history history;
    const struct muc_room_hooks *hooks; /* NULL: a plain room */
    void *ud;
    int64_t ticket_id;
    unsigned occupant_count;
    unsigned held;                /* messages waiting to be durable */
    uint64_t seq;                 /* creation order: the room list's order */
    struct muc_room *pub_prev, *pub_next; /* muc->public_head, by seq */
    bool in_public : 1;           /* in that list (not hidden, listed) */
    bool listed : 1;              /* in muc->rooms */
    bool locked : 1;              /* created by presence, not configured */
    bool destroying : 1;
    bool stored : 1;              /* has a muc_rooms row */
};

/* A message waiting for the archive to make it durable (archiving.c). */
struct muc_held;
struct muc_forward;
struct muc_mam_query;

struct muc {
    struct loop *loop;
    struct router *router;
    struct disco *disco;
    struct store *store;
    struct muc_archive archive;   /* archive.archive NULL: none */
    const struct config *cfg;
    const char *domain;
    struct muc_room *rooms;
    unsigned room_count;
    /* Rooms not hidden, in creation order: the room list of someone who
     * may see no hidden room but their own is built from this and their
     * sessions, never by walking every room (roomdisco.c). */
    struct muc_room *public_head, *public_tail;
    uint64_t room_seq;
    struct muc_session *sessions;
    bool loaded;                  /* persistent rooms are in memory, or
                                     the database kept us waiting */
    struct loop_timer *load_timer;
    uint64_t load_started_ms;
    bool shutting_down;
    unsigned char id_key[32];     /* XEP-0421 HMAC key */
    char sid_prefix[16];
    uint64_t sid_counter;
    struct muc_held *held_head, *held_tail;
    struct muc_forward *forwards; /* iq forwarded to occupants (iq.c) */
    struct muc_mam_query *mam_queries; /* waiting for the archive (mam.c) */
    unsigned mam_in_flight;
    struct budget *mam_by_jid, *mam_by_domain; /* [muc] mam_queries_per_* */
    struct buf scratch;           /* payload serialisation, reused */
    struct buf scratch2;
    struct muc_room_disco room_disco; /* nodes the layer above answers */
    muc_conceal_fn conceal;       /* rooms some may not know of */
    void *conceal_ud;
    struct muc_archive_events archive_events; /* session rooms' MAM (mam.c) */
    struct muc_stats stats;       /* for the metrics */
};

/* ---- room.c -------------------------------------------------------------------- */

/* The room a stanza is addressed to, as its sender may know it: NULL if
 * there is none, or if the layer above conceals it from the sender (who is
 * not in it).  Every handler of stanzas to rooms and occupants looks rooms
 * up this way, so a concealed room answers exactly as a missing one. */
struct muc_room *muc_room_for_sender(struct muc *muc,
                                     const struct stanza_in *in);
/* The room an iq or message addresses, as muc_room_for_sender() sees it,
 * not being destroyed; else NULL with item-not-found "The room does not
 * exist" in *err (a concealed room reads the same). */
struct muc_room *muc_room_addressed(struct muc *muc, const struct stanza_in *in,
                                    struct xerr *err);
/* Whether room `local` (existing or not) is concealed from the sender. */
bool muc_room_concealed(struct muc *muc, const char *local,
                        const struct stanza_in *in);

/* A new empty room (no occupants); name must be prepared.  NULL on
 * allocation failure. */
struct muc_room *muc_room_new(struct muc *muc, const char *name,
                              const struct muc_room_config *cfg);
/* Frees a room (and any occupants left, without telling them); unlinks it
 * from the service if it is still listed. */
void muc_room_free(struct muc_room *room);
/* Takes the room out of the service's index (its name is free again). */
void muc_room_unlist(struct muc_room *room);
/* Puts a listed room in, or out of, the list of public rooms as its
 * configuration now says (after a muc#owner form). */
void muc_room_index_public(struct muc_room *room);
void muc_room_config_free(struct muc_room_config *cfg);
/* Deep copy (strings duplicated).  0 or -1. */
int muc_room_config_copy(struct muc_room_config *dst,
                         const struct muc_room_config *src);
/* Defaults for a plain room created by an admin. */
void muc_room_config_defaults(struct muc_room_config *cfg);

int muc_room_max_occupants(const struct muc_room *room);
int muc_room_history_size(const struct muc_room *room);

/* Occupants and sessions. */
struct muc_occupant *muc_occupant_add(struct muc_room *room, const char *nick,
                                      const char *real_jid);
/* Adds a session to an existing occupant.  NULL on allocation failure. */
struct muc_session *muc_session_add(struct muc_occupant *occ,
                                    const char *real_jid);
/* Removes one session (not the occupant's last: use muc_occupant_remove). */
void muc_session_remove(struct muc_session *s);
/* Removes the occupant and all its sessions and frees it. */
void muc_occupant_remove(struct muc_occupant *occ);
/* The two halves of muc_occupant_remove: out of the room and the JID index
 * (its fields stay readable), then freed. */
void muc_occupant_unlink(struct muc_occupant *occ);
void muc_occupant_free(struct muc_occupant *occ);
int muc_occupant_rename(struct muc_occupant *occ, const char *nick);
/* The session of real full JID `jid` in `room`, or NULL. */
struct muc_session *muc_session_find(const struct muc_room *room,
                                     const char *jid);
/* The first session of `jid` in any room (chain through same_jid). */
struct muc_session *muc_sessions_of(const struct muc *muc, const char *jid);
bool muc_occupant_is_bare(const struct muc_occupant *occ,
                          const char *bare_jid);
int muc_occupant_set_presence(struct muc_occupant *occ, enum muc_show show,
                              const char *status, const char *extra);

/* Affiliation records. */
struct muc_affil_record *muc_affil_find(const struct muc_room *room,
                                        const char *bare_jid);
/* Sets (or with NONE removes) the record; nick NULL keeps the old one.
 * 0 or -1. */
int muc_affil_put(struct muc_room *room, const char *bare_jid,
                  enum muc_affiliation affiliation, const char *nick);
unsigned muc_affil_count(const struct muc_room *room,
                         enum muc_affiliation affiliation);
/* The bare JID that reserved `nick`, or NULL. */
const char *muc_affil_nick_owner(const struct muc_room *room,
                                 const char *nick);

/* Bare part of a JID text into out (size JID_TEXT_MAX + 1).  0 or -1. */
int muc_bare_of(const char *jid, char *out, size_t size);

/* The room's effective title (title, or the local part). */
const char *muc_room_title(const struct muc_room *room);

/* Pending invitations (the list; invite.c holds the policy). */
/* One invitation sent and not yet declined (room->invitations, newest
 * first). */
struct muc_invitation {
    struct muc_invitation *next;
    uint64_t expires_ms;
    char *inviter;   /* real full JID of the inviting session; NULL: the
                        room itself (the layer above) */
    char *shown;     /* invite/@from as sent: room@D/nick or room@D */
    char invitee[];  /* bare JID, prepared */
};
void muc_invitation_free(struct muc_invitation *inv);

/* ---- ids.c ------------------------------------------------------------------- */

/* Derives the XEP-0421 key from the component secret and draws the
 * per-process stanza-id prefix.  0 or -1. */
int muc_ids_init(struct muc *muc);
/* XEP-0421: base64url(HMAC-SHA256(key, room JID NUL bare JID))[0..16). */
void muc_occupant_id_make(const struct muc *muc, const char *room_jid,
                          const char *bare_jid,
                          char out[MUC_OCCUPANT_ID_LEN + 1]);
/* A new XEP-0359 stanza id, unique for the service (across restarts). */
void muc_stanza_id_make(struct muc *muc, char out[MUC_STANZA_ID_MAX]);

#endif
