/* Presence to occupant JIDs: entering (§7.2), nick changes (§7.6),
 * presence updates (§7.7), exiting (§7.14), multi-session occupants, ghost
 * removal (§17.3, error bounces), and the visibility changes of invisible
 * observers.  Kicks and affiliation effects are in roles.c. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "muc/archiving.h"
#include "muc/create.h"
#include "muc/presence.h"
#include "muc/privilege.h"
#include "muc/replay.h"
#include "muc/room.h"
#include "muc/send.h"
#include "muc/visibility.h"
#include "muc/voice.h"
#include "xmpp/stamp.h"
#include "xmpp/xml.h"

#define LOG "muc"

/* Presence extensions bigger than this are refused: they are kept for as
 * long as the occupant stays and copied to every newcomer. */
#define MAX_PRESENCE_EXTRA 4096

static struct buf *out_of(const struct muc *muc)
{
    return router_out(muc->router);
}

static void reply_error(struct muc *muc, const struct stanza_in *in,
                        const char *room_jid, enum xerr_cond cond,
                        const char *type, const char *text)
{
    struct xerr err;
    xerr_set(&err, cond, "%s", text ? text : "");
    if (!text)
        err.text[0] = '\0';
    muc_error_write(out_of(muc), in, &err, room_jid, type);
}

/* ---- reading a presence ------------------------------------------------------------ */

struct presence_state {
    enum muc_show show;
    const char *status;
    const char *extra; /* in muc->scratch2, or NULL */
    size_t extra_len;
};

static enum muc_show parse_show(const char *text)
{
    static const char *const names[] = {"chat", "away", "xa", "dnd"};
    for (int i = 0; i < 4; i++)
        if (strcmp(text, names[i]) == 0)
            return (enum muc_show)(MUC_SHOW_CHAT + i);
    return MUC_SHOW_AVAILABLE;
}

/* Extensions we never reflect: our own namespaces, and what only the
 * service may say (§7.2.1, XEP-0421 §4, XEP-0359). */
static bool presence_child_kept(xmpp_stanza_t *c)
{
    const char *name = xmpp_stanza_get_name(c);
    const char *ns = xmpp_stanza_get_ns(c);
    if (!name)
        return false;
    if (strcmp(name, "show") == 0 || strcmp(name, "status") == 0 ||
        strcmp(name, "priority") == 0)
        return false;
    if (ns && (strcmp(ns, NS_MUC) == 0 || strcmp(ns, NS_MUC_USER) == 0 ||
               strcmp(ns, NS_OCCUPANT_ID) == 0 || strcmp(ns, NS_OBSERVER) == 0 ||
               strcmp(ns, NS_SID) == 0))
        return false;
    return true;
}

static void read_presence(struct muc *muc, const struct stanza_in *in,
                          struct presence_state *ps)
{
    xmpp_stanza_t *show = stanza_child(in->st, "show", NULL);
    xmpp_stanza_t *status = stanza_child(in->st, "status", NULL);
    ps->show = show ? parse_show(stanza_text(show)) : MUC_SHOW_AVAILABLE;
    ps->status = status ? stanza_text(status) : NULL;
    struct buf *b = &muc->scratch2;
    buf_reset(b);
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(in->st); c;
         c = xmpp_stanza_get_next(c)) {
        if (xmpp_stanza_is_tag(c) && presence_child_kept(c))
            xml_write_stanza(b, c, XML_NS_COMPONENT);
    }
    ps->extra = b->len ? buf_cstr(b) : NULL;
    ps->extra_len = b->len;
}

static bool presence_differs(const struct muc_occupant *occ,
                             const struct presence_state *ps)
{
    if (occ->show != ps->show)
        return true;
    const char *a = occ->status ? occ->status : "";
    const char *b = ps->status ? ps->status : "";
    if (strcmp(a, b) != 0)
        return true;
    a = occ->extra ? occ->extra : "";
    b = ps->extra ? ps->extra : "";
    return strcmp(a, b) != 0;
}

/* A nick we accept: prepared by the router (resourceprep), not too long,
 * and not empty or made of spaces only (§16.1). */
static bool nick_acceptable(const char *nick)
{
    size_t n = strlen(nick);
    if (n == 0 || n > MUC_NICK_MAX)
        return false;
    for (const char *p = nick; *p; p++)
        if (*p != ' ')
            return true;
    return false;
}

/* ---- sending the room state to a (re)joining session ----------------------------------- */

static void send_state(struct muc_room *room, struct muc_occupant *occ,
                       struct muc_session *session, const struct stanza_in *in,
                       const int *self_codes, bool broadcast_self)
{
    struct muc *muc = room->muc;
    struct buf *out = out_of(muc);
    struct muc_pres p = {0};

    /* 1. the others, as this occupant may see them */
    for (struct muc_occupant *o = room->occupants; o; o = o->next) {
        if (o == occ || !muc_visible_to(room, occ, occ->privileged, o))
            continue;
        muc_presence_write(out, room, o, occ, session->jid, &p);
    }
    /* ...and the room's voice, to those who hear the room from it */
    if (muc_voice_for(room, occ->privileged))
        muc_voice_presence_write(out, room, session->jid, true);
    /* 2. this occupant to the others who may see it */
    if (broadcast_self)
        muc_presence_broadcast(room, occ, &p, true);
    /* 3. self-presence, last of the roster */
    struct muc_pres self = {0};
    self.self_id = in ? in->id : NULL;
    memcpy(self.self_codes, self_codes, sizeof self.self_codes);
    muc_presence_write(out, room, occ, occ, session->jid, &self);
    /* 4. history, 5. subject */
    xmpp_stanza_t *x = in ? stanza_child(in->st, "x", NS_MUC) : NULL;
    muc_history_send(room, occ, session->jid,
                     x ? stanza_child(x, "history", NULL) : NULL);
    muc_subject_send(room, session->jid);
}

static void join_codes(const struct muc_room *room, bool created,
                       bool nick_modified, int codes[MUC_MAX_CODES])
{
    int n = 0;
    memset(codes, 0, sizeof(int) * MUC_MAX_CODES);
    if (!room->cfg.semi_anonymous)
        codes[n++] = 100;
    if (muc_archiving(room))
        codes[n++] = 170;
    if (created)
        codes[n++] = 201;
    if (nick_modified)
        codes[n++] = 210;
}

/* ---- invisible occupants and nick conflicts ------------------------------------------- */

/* Gives an occupant that `viewer` cannot see a new nick, so that the viewer
 * can take the old one without learning it was taken.  Those who can see
 * the renamed occupant see an ordinary nick change; the occupant gets 110
 * and 210 (the service changed its nick). */
static int rename_hidden(struct muc_occupant *hidden)
{
    struct muc_room *room = hidden->room;
    char nick[MUC_NICK_MAX + 1 + 16];
    for (int i = 2; i < 1000; i++) {
        snprintf(nick, sizeof nick, "%.*s (%d)",
                 utf8_prec(hidden->nick, MUC_NICK_MAX - 8), hidden->nick, i);
        if (!muc_room_find_occupant(room, nick) &&
            !muc_affil_nick_owner(room, nick))
            break;
    }
    struct muc_pres gone = {.type = "unavailable", .new_nick = nick,
                            .codes = {303}};
    muc_presence_broadcast(room, hidden, &gone, false);
    if (muc_occupant_rename(hidden, nick) < 0)
        return -1;
    struct muc_pres back = {.self_codes = {210}};
    muc_presence_broadcast(room, hidden, &back, false);
    return 0;
}

/* ---- leaving -------------------------------------------------------------------------- */

static void destroy_if_unused(struct muc_room *room)
{
    if (room->destroying || room->muc->shutting_down)
        return;
    if (room->occupant_count == 0 && (!room->cfg.persistent || room->locked))
        muc_room_destroy(room, NULL, NULL);
}

void muc_occupant_leave(struct muc_occupant *occ, enum muc_leave_reason why,
                        const struct muc_pres *p)
{
    struct muc_room *room = occ->room;
    struct muc *muc = room->muc;
    bool was_owner_of_locked = room->locked &&
                               occ->affiliation == MUC_AFFIL_OWNER;

    muc_presence_broadcast(room, occ, p, false);
    if (muc_archiving(room) && why != MUC_LEFT_SHUTDOWN) {
        char sid[MUC_STANZA_ID_MAX];
        muc_stanza_id_make(muc, sid);
        muc_archive_event(room, ARCHIVE_LEAVE, occ, occ->nick, NULL, NULL, sid,
                          stamp_now_us(), occ->invisible);
    }
    log_debug(LOG, "%s: %s left (%d)", room->jid, occ->nick, (int)why);

    /* Out of the room before the hook runs: the hook may act on the room
     * (even destroy it) and must not find a half-gone occupant there. */
    muc_occupant_unlink(occ);
    if (occ->joined && room->hooks && room->hooks->left)
        room->hooks->left(room->ud, room, occ, why);
    muc_occupant_free(occ);

    if (was_owner_of_locked && !room->destroying) {
        /* §10.1.4: the creator left before configuring: no room. */
        muc_room_destroy(room, NULL, NULL);
        return;
    }
    destroy_if_unused(room);
}

static void leave_session(struct muc_session *s, const struct stanza_in *in,
                          enum muc_leave_reason why, const int *codes)
{
    struct muc_occupant *occ = s->occ;
    struct muc_pres p = {.type = "unavailable"};
    if (codes)
        memcpy(p.codes, codes, sizeof p.codes);
    if (in) {
        xmpp_stanza_t *status = stanza_child(in->st, "status", NULL);
        p.status_text = status ? stanza_text(status) : NULL;
    }
    if (occ->sessions->next) {
        /* One of several clients of this occupant: only it is told. */
        muc_presence_write(out_of(occ->room->muc), occ->room, occ, occ, s->jid,
                           &p);
        muc_session_remove(s);
        return;
    }
    struct muc_room *room = occ->room;
    if (in && occ->joined && room->hooks && room->hooks->leaving)
        room->hooks->leaving(room->ud, room, occ, in);
    if (room->destroying)
        return;
    muc_occupant_leave(occ, why, &p);
}

void muc_ghost_remove(struct muc *muc, const char *jid)
{
    static const int codes[MUC_MAX_CODES] = {333};
    struct muc_session *s;
    /* Each removal may reshape the chain (and the hooks may do more): start
     * over from the index every time. */
    while ((s = muc_sessions_of(muc, jid)) != NULL) {
        log_info(LOG, "%s: removing a session that is gone", s->occ->room->jid);
        leave_session(s, NULL, MUC_LEFT_DISCONNECT, codes);
    }
}

/* ---- joining ----------------------------------------------------------------------------- */

static void kick_non_occupant(struct muc *muc, const struct stanza_in *in)
{
    /* §7.2.24: presence without <x/> from someone not in the room is a
     * desynchronised client; tell it plainly that it is not in. */
    struct buf *out = out_of(muc);
    buf_append_str(out, "<presence type='unavailable'");
    xml_attr(out, "from", in->to_text);
    xml_attr(out, "to", in->from_text);
    buf_append_str(out, "><x xmlns='" NS_MUC_USER "'><item affiliation='none'"
                        " role='none'><reason>You are not in the room."
                        "</reason></item><status code='110'/>"
                        "<status code='307'/><status code='333'/></x>"
                        "</presence>");
}

/* The join decision (§7.2), in the manner of Prosody's pre-join events: a
 * table of small checks run in order, each with one job.  A check returns
 * JOIN_NEXT to let the next one run, or JOIN_DONE when it has answered
 * (refused, or served a second session); then admit() adds the occupant.
 * The order is the contract: a concealed or absent room answers before the
 * desk's hook is asked, bans and members-only before the password, and a
 * nick held by someone the joiner cannot see looks free. */

struct join_attempt {
    struct muc *muc;
    struct muc_room *room; /* NULL until found or created */
    const struct stanza_in *in;
    const char *nick_in;   /* the nick asked for */
    const char *by;        /* the room JID errors come from, or NULL */
    char bare[JID_TEXT_MAX + 1];
    char room_jid[JID_TEXT_MAX + 1];
    bool created;
    struct muc_join j;     /* what the desk's pre_join hook decided */
    char nick[JID_PART_MAX + 1];
    bool nick_modified;
    enum muc_affiliation affil;
    struct muc_occupant *holder; /* the nick's current holder, or NULL */
    struct presence_state ps;
};

enum join_step { JOIN_NEXT, JOIN_DONE };

static enum join_step refuse(struct join_attempt *a, const char *by,
                             enum xerr_cond cond, const char *type,
                             const char *text)
{
    reply_error(a->muc, a->in, by, cond, type, text);
    return JOIN_DONE;
}

static enum join_step check_muc_x(struct join_attempt *a)
{
    if (stanza_child(a->in->st, "x", NS_MUC))
        return JOIN_NEXT;
    kick_non_occupant(a->muc, a->in);
    return JOIN_DONE;
}

static enum join_step check_nick_form(struct join_attempt *a)
{
    if (nick_acceptable(a->nick_in))
        return JOIN_NEXT;
    return refuse(a, a->room_jid, XERR_JID_MALFORMED, NULL,
                  "That nickname cannot be used");
}

static enum join_step check_concealed(struct join_attempt *a)
{
    if (a->room || !muc_room_concealed(a->muc, a->in->to.local, a->in))
        return JOIN_NEXT;
    /* Concealed, existing or not: the members-only refusal, word for word,
     * so that entry tells nothing of whether the room exists. */
    return refuse(a, a->room_jid, XERR_REGISTRATION_REQUIRED, NULL,
                  "This room is for members only");
}

/* Finds the room, or creates a plain one for a service admin. */
static enum join_step check_room(struct join_attempt *a)
{
    struct muc_room *room = a->room;
    if (room) {
        if (room->destroying ||
            (room->locked &&
             muc_room_affiliation(room, a->bare) != MUC_AFFIL_OWNER))
            return refuse(a, a->by, XERR_ITEM_NOT_FOUND, NULL,
                          "The room does not exist");
        return JOIN_NEXT;
    }
    if (!a->muc->loaded)
        return refuse(a, a->room_jid, XERR_RESOURCE_CONSTRAINT, NULL,
                      "The chat service is starting; try again in a moment");
    struct xerr err;
    a->room = muc_room_create_plain(a->muc, a->in->to.local, a->bare, &err);
    if (!a->room) {
        muc_error_write(out_of(a->muc), a->in, &err, a->room_jid, NULL);
        return JOIN_DONE;
    }
    a->created = true;
    a->by = a->room->jid;
    return JOIN_NEXT;
}

/* The layer above (the desk) decides privilege, role, nick and may deny. */
static enum join_step check_desk_hook(struct join_attempt *a)
{
    struct muc_room *room = a->room;
    a->j.real_jid = a->in->from_text;
    a->j.bare_jid = a->bare;
    a->j.requested_nick = a->nick_in;
    a->j.affiliation = muc_room_affiliation(room, a->bare);
    if (!room->hooks || !room->hooks->pre_join)
        return JOIN_NEXT;
    struct xerr err;
    xerr_init(&err);
    enum muc_affiliation before = a->j.affiliation;
    if (room->hooks->pre_join(room->ud, room, &a->j, &err) == MUC_JOIN_DENY) {
        muc_error_write(out_of(a->muc), a->in, &err, a->by, NULL);
        return JOIN_DONE;
    }
    if (room->destroying)
        return refuse(a, a->by, XERR_ITEM_NOT_FOUND, NULL,
                      "The room does not exist");
    if (a->j.affiliation != before)
        muc_affil_put(room, a->bare, a->j.affiliation, NULL);
    return JOIN_NEXT;
}

/* The nick the hook chose, if any, prepared as a resource (210). */
static enum join_step check_hook_nick(struct join_attempt *a)
{
    if (!a->j.nick[0] || strcmp(a->j.nick, a->nick_in) == 0) {
        snprintf(a->nick, sizeof a->nick, "%s", a->nick_in);
        return JOIN_NEXT;
    }
    if (jid_prep_resource(a->j.nick, a->nick) < 0 || !nick_acceptable(a->nick))
        return refuse(a, a->by, XERR_NOT_ACCEPTABLE, NULL,
                      "That nickname cannot be used");
    a->nick_modified = strcmp(a->nick, a->nick_in) != 0;
    return JOIN_NEXT;
}

static enum join_step check_outcast(struct join_attempt *a)
{
    a->affil = muc_room_affiliation(a->room, a->bare);
    if (a->affil != MUC_AFFIL_OUTCAST)
        return JOIN_NEXT;
    return refuse(a, a->by, XERR_FORBIDDEN, NULL,
                  "You are banned from this room");
}

static enum join_step check_members_only(struct join_attempt *a)
{
    if (!a->room->cfg.members_only || a->affil >= MUC_AFFIL_MEMBER)
        return JOIN_NEXT;
    return refuse(a, a->by, XERR_REGISTRATION_REQUIRED, NULL,
                  "This room is for members only");
}

static enum join_step check_password(struct join_attempt *a)
{
    const char *password = a->room->cfg.password;
    if (!password || a->affil >= MUC_AFFIL_OWNER)
        return JOIN_NEXT;
    xmpp_stanza_t *x = stanza_child(a->in->st, "x", NS_MUC);
    xmpp_stanza_t *pw = x ? stanza_child(x, "password", NULL) : NULL;
    if (pw && strcmp(stanza_text(pw), password) == 0)
        return JOIN_NEXT;
    return refuse(a, a->by, XERR_NOT_AUTHORIZED, NULL,
                  "This room needs a password");
}

/* The room's voice keeps its nick, whoever asks (whether they could see
 * it or not: its nick is the layer above's, the same in every room). */
static enum join_step check_voice_nick(struct join_attempt *a)
{
    if (!muc_voice_is(a->room, a->nick))
        return JOIN_NEXT;
    return refuse(a, a->by, XERR_CONFLICT, NULL,
                  "That nickname is reserved by the room");
}

static enum join_step check_reserved_nick(struct join_attempt *a)
{
    const char *reserver = muc_affil_nick_owner(a->room, a->nick);
    if (!reserver || strcmp(reserver, a->bare) == 0)
        return JOIN_NEXT;
    return refuse(a, a->by, XERR_CONFLICT, NULL,
                  "That nickname is reserved by another user");
}

/* Another client of the same user under the same nick (§7.2.9): a new
 * session of the occupant, not a new occupant. */
static enum join_step check_same_user(struct join_attempt *a)
{
    struct muc_room *room = a->room;
    struct muc_occupant *holder = muc_room_find_occupant(room, a->nick);
    a->holder = holder;
    if (!holder || !muc_occupant_is_bare(holder, a->bare))
        return JOIN_NEXT;
    struct muc_session *s = muc_session_add(holder, a->in->from_text);
    if (!s)
        return refuse(a, a->by, XERR_INTERNAL_SERVER_ERROR, NULL, NULL);
    struct presence_state ps;
    read_presence(a->muc, a->in, &ps);
    bool changed = presence_differs(holder, &ps);
    if (changed)
        muc_occupant_set_presence(holder, ps.show, ps.status, ps.extra);
    int codes[MUC_MAX_CODES];
    join_codes(room, false, a->nick_modified, codes);
    send_state(room, holder, s, a->in, codes, changed);
    return JOIN_DONE;
}

static enum join_step check_nick_conflict(struct join_attempt *a)
{
    if (a->holder && muc_visible_to(a->room, NULL, a->j.privileged, a->holder))
        return refuse(a, a->by, XERR_CONFLICT, NULL,
                      "That nickname is already in use");
    /* Otherwise a holder is hidden from this user: the nick must look
     * free, and the holder is renamed once nothing else refuses the join. */
    return JOIN_NEXT;
}

/* Admins and owners get in even when the room is full (§7.2.10).  The
 * count is the one this user could observe: observers never make a room
 * look full. */
static enum join_step check_capacity(struct join_attempt *a)
{
    unsigned seen = muc_visible_count(a->room, NULL, a->j.privileged);
    if (a->created || a->affil >= MUC_AFFIL_ADMIN ||
        seen < (unsigned)muc_room_max_occupants(a->room))
        return JOIN_NEXT;
    return refuse(a, a->by, XERR_SERVICE_UNAVAILABLE, "wait",
                  "The room is full");
}

static enum join_step check_presence_size(struct join_attempt *a)
{
    read_presence(a->muc, a->in, &a->ps);
    if (a->ps.extra_len <= MAX_PRESENCE_EXTRA)
        return JOIN_NEXT;
    return refuse(a, a->by, XERR_POLICY_VIOLATION, NULL,
                  "Your presence is too large");
}

static const struct {
    const char *name;
    enum join_step (*run)(struct join_attempt *);
} join_checks[] = {
    {"muc-x", check_muc_x},
    {"nick-form", check_nick_form},
    {"concealed", check_concealed},
    {"room", check_room},
    {"desk-hook", check_desk_hook},
    {"hook-nick", check_hook_nick},
    {"outcast", check_outcast},
    {"members-only", check_members_only},
    {"password", check_password},
    {"voice-nick", check_voice_nick},
    {"reserved-nick", check_reserved_nick},
    {"same-user", check_same_user},
    {"nick-conflict", check_nick_conflict},
    {"capacity", check_capacity},
    {"presence-size", check_presence_size},
};

/* Every check passed: the occupant enters (a join record first, when the
 * room is archived: no one is shown in a room whose archive refuses). */
static void admit(struct join_attempt *a)
{
    struct muc *muc = a->muc;
    struct muc_room *room = a->room;
    if (a->holder && rename_hidden(a->holder) < 0) {
        reply_error(muc, a->in, a->by, XERR_INTERNAL_SERVER_ERROR, NULL, NULL);
        return;
    }
    struct muc_occupant *occ = muc_occupant_add(room, a->nick, a->in->from_text);
    if (!occ || muc_occupant_set_presence(occ, a->ps.show, a->ps.status,
                                          a->ps.extra)) {
        if (occ)
            muc_occupant_remove(occ);
        reply_error(muc, a->in, a->by, XERR_INTERNAL_SERVER_ERROR, NULL, NULL);
        if (a->created)
            muc_room_destroy(room, NULL, NULL);
        return;
    }
    occ->privileged = a->j.privileged;
    occ->invisible = a->j.invisible;
    occ->role = (uint8_t)(a->j.role != MUC_ROLE_NONE
                              ? a->j.role
                              : muc_default_role(a->affil, room->cfg.moderated));

    if (muc_archiving(room)) {
        char sid[MUC_STANZA_ID_MAX];
        muc_stanza_id_make(muc, sid);
        if (!muc_archive_event(room, ARCHIVE_JOIN, occ, occ->nick, NULL, NULL,
                               sid, stamp_now_us(), occ->invisible)) {
            muc_occupant_remove(occ);
            reply_error(muc, a->in, a->by, XERR_RESOURCE_CONSTRAINT, NULL,
                        "The room cannot take anyone in right now; try again "
                        "later");
            return;
        }
    }

    int codes[MUC_MAX_CODES];
    join_codes(room, a->created, a->nick_modified, codes);
    send_state(room, occ, occ->sessions, a->in, codes, true);
    log_debug(LOG, "%s: %s joined%s", room->jid, occ->nick,
              occ->invisible ? " invisibly" : "");
    occ->joined = true;
    if (room->hooks && room->hooks->joined)
        room->hooks->joined(room->ud, room, occ);
}

static void join(struct muc *muc, struct muc_room *room,
                 const struct stanza_in *in, const char *nick_in)
{
    struct join_attempt a;
    memset(&a, 0, sizeof a);
    a.muc = muc;
    a.room = room;
    a.in = in;
    a.nick_in = nick_in;
    a.by = room ? room->jid : NULL;
    jid_bare_text(&in->from, a.bare, sizeof a.bare);
    snprintf(a.room_jid, sizeof a.room_jid, "%s@%s", in->to.local, muc->domain);
    for (size_t i = 0; i < sizeof join_checks / sizeof join_checks[0]; i++) {
        if (join_checks[i].run(&a) == JOIN_DONE) {
            log_debug(LOG, "%s: join by %s settled by %s", a.room_jid, a.bare,
                      join_checks[i].name);
            return;
        }
    }
    admit(&a);
}

/* ---- nick changes -------------------------------------------------------------------------- */

static void change_nick(struct muc *muc, struct muc_occupant *occ,
                        const struct stanza_in *in, const char *nick)
{
    struct muc_room *room = occ->room;
    char bare[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, bare, sizeof bare);

    if (!nick_acceptable(nick)) {
        reply_error(muc, in, room->jid, XERR_JID_MALFORMED, NULL,
                    "That nickname cannot be used");
        return;
    }
    if (muc_voice_is(room, nick)) {
        reply_error(muc, in, room->jid, XERR_CONFLICT, NULL,
                    "That nickname is reserved by the room");
        return;
    }
    const char *reserver = muc_affil_nick_owner(room, nick);
    if (reserver && strcmp(reserver, bare) != 0) {
        reply_error(muc, in, room->jid, XERR_CONFLICT, NULL,
                    "That nickname is reserved by another user");
        return;
    }
    struct muc_occupant *holder = muc_room_find_occupant(room, nick);
    if (holder) {
        if (muc_visible_to(room, occ, occ->privileged, holder)) {
            reply_error(muc, in, room->jid, XERR_CONFLICT, NULL,
                        "That nickname is already in use");
            return;
        }
        if (rename_hidden(holder) < 0) {
            reply_error(muc, in, room->jid, XERR_INTERNAL_SERVER_ERROR, NULL,
                        NULL);
            return;
        }
    }
    struct presence_state ps;
    read_presence(muc, in, &ps);
    if (ps.extra_len > MAX_PRESENCE_EXTRA) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION, NULL,
                    "Your presence is too large");
        return;
    }
    char *keep_extra = ps.extra ? strdup(ps.extra) : NULL;
    struct muc_pres gone = {.type = "unavailable", .new_nick = nick,
                            .codes = {303}};
    muc_presence_broadcast(room, occ, &gone, false);
    if (muc_occupant_rename(occ, nick) < 0) {
        free(keep_extra);
        return;
    }
    muc_occupant_set_presence(occ, ps.show, ps.status, keep_extra);
    free(keep_extra);
    struct muc_pres back = {.self_id = in->id};
    muc_presence_broadcast(room, occ, &back, false);
    if (room->hooks && room->hooks->presence_changed)
        room->hooks->presence_changed(room->ud, room, occ);
}

/* ---- the handlers ------------------------------------------------------------------------------ */

void muc_presence_to_occupant(void *ud, const struct stanza_in *in)
{
    struct muc *muc = ud;
    struct muc_room *room = muc_room_for_sender(muc, in);
    if (room && room->destroying)
        room = NULL;

    if (in->type && strcmp(in->type, "error") == 0) {
        /* A bounce: the client is unreachable (§17.3). */
        muc_ghost_remove(muc, in->from_text);
        return;
    }
    struct muc_session *s = room ? muc_session_find(room, in->from_text) : NULL;
    if (in->type && strcmp(in->type, "unavailable") == 0) {
        if (s)
            leave_session(s, in, MUC_LEFT_LEAVE, NULL);
        return; /* from someone not in the room: ignored (§17.2.5) */
    }
    if (in->type)
        return; /* probes and subscriptions are not for rooms */

    if (!s) {
        join(muc, room, in, in->to.resource);
        return;
    }
    struct muc_occupant *occ = s->occ;
    if (strcmp(occ->nick, in->to.resource) != 0) {
        change_nick(muc, occ, in, in->to.resource);
        return;
    }
    struct presence_state ps;
    read_presence(muc, in, &ps);
    if (ps.extra_len > MAX_PRESENCE_EXTRA) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION, NULL,
                    "Your presence is too large");
        return;
    }
    bool changed = presence_differs(occ, &ps);
    bool show_changed = occ->show != ps.show ||
                        strcmp(occ->status ? occ->status : "",
                               ps.status ? ps.status : "") != 0;
    if (changed && muc_occupant_set_presence(occ, ps.show, ps.status,
                                             ps.extra) < 0)
        return;
    if (stanza_child(in->st, "x", NS_MUC)) {
        /* A join from a client we think is in: it lost track (§7.2.1), so
         * it gets everything a join gets. */
        int codes[MUC_MAX_CODES];
        join_codes(room, false, false, codes);
        send_state(room, occ, s, in, codes, changed);
        return;
    }
    if (!changed)
        return;
    struct muc_pres p = {.self_id = in->id};
    muc_presence_broadcast(room, occ, &p, false);
    if (show_changed && room->hooks && room->hooks->presence_changed)
        room->hooks->presence_changed(room->ud, room, occ);
}

void muc_presence_to_room(void *ud, const struct stanza_in *in)
{
    struct muc *muc = ud;
    if (in->type && strcmp(in->type, "error") == 0) {
        muc_ghost_remove(muc, in->from_text);
        return;
    }
    if (in->type && strcmp(in->type, "unavailable") == 0) {
        /* The server's unavailable for a client gone from this room. */
        struct muc_room *room = muc_room_for_sender(muc, in);
        struct muc_session *s = room ? muc_session_find(room, in->from_text)
                                     : NULL;
        if (s)
            leave_session(s, in, MUC_LEFT_DISCONNECT, NULL);
        return;
    }
    if (in->type)
        return;
    /* §7.2.1: joining needs a nickname. */
    reply_error(muc, in, in->to_text, XERR_JID_MALFORMED, NULL,
                "Join the room with a nickname: room@service/nick");
}

void muc_presence_to_service(void *ud, const struct stanza_in *in)
{
    struct muc *muc = ud;
    /* The server tells us a client is gone: it was in our rooms only if it
     * had sent us presence, and now it has left them all. */
    if (in->type && (strcmp(in->type, "unavailable") == 0 ||
                     strcmp(in->type, "error") == 0))
        muc_ghost_remove(muc, in->from_text);
}

/* ---- visibility changes ------------------------------------------------------------------------- */

/* Tells each viewer what changed for it when `occ` changes visibility or
 * privilege: newly able to see it, a join presence; no longer able, an
 * unavailable presence; still able, the updated presence. */
static void announce_visibility(struct muc_occupant *subject,
                                const bool *could_see,
                                const struct muc_occupant **viewers, size_t n)
{
    struct muc_room *room = subject->room;
    struct buf *out = out_of(room->muc);
    struct muc_pres avail = {0};
    struct muc_pres gone = {.type = "unavailable"};
    for (size_t i = 0; i < n; i++) {
        const struct muc_occupant *v = viewers[i];
        bool sees = muc_visible_to(room, v, v->privileged, subject);
        if (!sees && !could_see[i])
            continue;
        for (const struct muc_session *s = v->sessions; s; s = s->next)
            muc_presence_write(out, room, subject, v, s->jid,
                               sees ? &avail : &gone);
    }
}

static int snapshot(struct muc_room *room, struct muc_occupant *subject,
                    const struct muc_occupant ***viewers, bool **could_see)
{
    size_t n = room->occupant_count;
    *viewers = calloc(n ? n : 1, sizeof **viewers);
    *could_see = calloc(n ? n : 1, sizeof **could_see);
    if (!*viewers || !*could_see) {
        free(*viewers);
        free(*could_see);
        return -1;
    }
    size_t i = 0;
    for (struct muc_occupant *v = room->occupants; v && i < n; v = v->next) {
        (*viewers)[i] = v;
        (*could_see)[i] = muc_visible_to(room, v, v->privileged, subject);
        i++;
    }
    return (int)i;
}

bool muc_occupant_set_invisible(struct muc_occupant *occ, bool invisible)
{
    if (occ->invisible == invisible)
        return false;
    struct muc_room *room = occ->room;
    const struct muc_occupant **viewers;
    bool *could_see;
    int n = snapshot(room, occ, &viewers, &could_see);
    if (n < 0)
        return false;
    occ->invisible = invisible;
    announce_visibility(occ, could_see, viewers, (size_t)n);
    free(viewers);
    free(could_see);
    if (muc_archiving(room)) {
        /* For those who could not see it, it just joined or left. */
        char sid[MUC_STANZA_ID_MAX];
        muc_stanza_id_make(room->muc, sid);
        muc_archive_event(room, invisible ? ARCHIVE_LEAVE : ARCHIVE_JOIN, occ,
                          occ->nick, NULL, NULL, sid, stamp_now_us(), false);
    }
    log_debug(LOG, "%s: %s is now %s", room->jid, occ->nick,
              invisible ? "invisible" : "visible");
    return true;
}

bool muc_occupant_set_privileged(struct muc_occupant *occ, bool privileged)
{
    if (occ->privileged == privileged)
        return false;
    struct muc_room *room = occ->room;
    struct buf *out = out_of(room->muc);
    bool jids_before = muc_jids_visible_to(room, occ, occ->privileged);
    bool jids_after = muc_jids_visible_to(room, occ, privileged);
    struct muc_pres p = {0};
    struct muc_pres gone = {.type = "unavailable"};
    /* What this occupant may see of the others changes: the invisible ones
     * appear or vanish (for it alone: nobody else learns anything), and in
     * a semi-anonymous room the others' presence comes again with or
     * without their real JIDs. */
    occ->privileged = privileged;
    for (struct muc_occupant *o = room->occupants; o; o = o->next) {
        if (o == occ)
            continue;
        bool before = muc_visible_to(room, occ, !privileged, o);
        bool after = muc_visible_to(room, occ, privileged, o);
        if (!before && !after)
            continue;
        if (before && after && jids_before == jids_after)
            continue;
        for (struct muc_session *s = occ->sessions; s; s = s->next)
            muc_presence_write(out, room, o, occ, s->jid, after ? &p : &gone);
    }
    muc_voice_privilege_changed(occ);
    log_debug(LOG, "%s: %s is now %s", room->jid, occ->nick,
              privileged ? "privileged" : "not privileged");
    return true;
}
