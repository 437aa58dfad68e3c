#include "build-config.h"

#include "muc/room.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "muc/history.h"

/* ---- names --------------------------------------------------------------------- */

static const char *const role_names[] = {"none", "visitor", "participant",
                                         "moderator"};
static const char *const affiliation_names[] = {"outcast", "none", "member",
                                                "admin", "owner"};
static const char *const show_names[] = {"", "chat", "away", "xa", "dnd"};

const char *muc_role_name(enum muc_role role)
{
    return role <= MUC_ROLE_MODERATOR ? role_names[role] : "none";
}

const char *muc_affiliation_name(enum muc_affiliation a)
{
    return a <= MUC_AFFIL_OWNER ? affiliation_names[a] : "none";
}

const char *muc_show_name(enum muc_show show)
{
    return show <= MUC_SHOW_DND ? show_names[show] : "";
}

int muc_bare_of(const char *jid, char *out, size_t size)
{
    const char *slash = strchr(jid, '/');
    size_t n = slash ? (size_t)(slash - jid) : strlen(jid);
    if (n + 1 > size)
        return -1;
    memcpy(out, jid, n);
    out[n] = '\0';
    return 0;
}

/* ---- configuration ---------------------------------------------------------------- */

void muc_room_config_defaults(struct muc_room_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->allow_pm = MUC_PM_ANYONE;
    cfg->semi_anonymous = true;
    cfg->archived = true;
}

void muc_room_config_free(struct muc_room_config *cfg)
{
    free(cfg->title);
    free(cfg->description);
    free(cfg->password);
    cfg->title = cfg->description = cfg->password = NULL;
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int muc_room_config_copy(struct muc_room_config *dst,
                         const struct muc_room_config *src)
{
    *dst = *src;
    if (dup_opt(&dst->title, src->title) < 0 ||
        dup_opt(&dst->description, src->description) < 0 ||
        dup_opt(&dst->password, src->password) < 0) {
        muc_room_config_free(dst);
        return -1;
    }
    return 0;
}

int muc_room_max_occupants(const struct muc_room *room)
{
    int max = room->muc->cfg->muc.max_occupants;
    if (room->cfg.max_occupants > 0 && room->cfg.max_occupants < max)
        return room->cfg.max_occupants;
    return max;
}

int muc_room_history_size(const struct muc_room *room)
{
    if (room->cfg.history_size < 0)
        return 0;
    int max = room->muc->cfg->muc.history_max;
    if (room->cfg.history_size > 0 && room->cfg.history_size < max)
        return room->cfg.history_size;
    return max;
}

/* ---- rooms ----------------------------------------------------------------------- */

struct muc_room *muc_room_new(struct muc *muc, const char *name,
                              const struct muc_room_config *cfg)
{
    struct muc_room *room = calloc(1, sizeof *room);
    if (!room)
        return NULL;
    room->muc = muc;
    size_t jid_len = strlen(name) + 1 + strlen(muc->domain) + 1;
    room->name = strdup(name);
    room->jid = malloc(jid_len);
    if (!room->name || !room->jid || muc_room_config_copy(&room->cfg, cfg) < 0) {
        free(room->name);
        free(room->jid);
        free(room);
        return NULL;
    }
    snprintf(room->jid, jid_len, "%s@%s", name, muc->domain);
    HASH_ADD_KEYPTR(hh, muc->rooms, room->name, strlen(room->name), room);
    muc->room_count++;
    room->listed = true;
    room->seq = ++muc->room_seq;
    muc_room_index_public(room);
    return room;
}

static void public_remove(struct muc_room *room)
{
    struct muc *muc = room->muc;
    if (room->pub_prev)
        room->pub_prev->pub_next = room->pub_next;
    else
        muc->public_head = room->pub_next;
    if (room->pub_next)
        room->pub_next->pub_prev = room->pub_prev;
    else
        muc->public_tail = room->pub_prev;
    room->pub_prev = room->pub_next = NULL;
    room->in_public = false;
}

/* In seq order: a new room goes last; a room made public again finds its
 * place from the end (an admin's action, over the public rooms only). */
static void public_insert(struct muc_room *room)
{
    struct muc *muc = room->muc;
    struct muc_room *after = muc->public_tail;
    while (after && after->seq > room->seq)
        after = after->pub_prev;
    room->pub_prev = after;
    room->pub_next = after ? after->pub_next : muc->public_head;
    if (room->pub_next)
        room->pub_next->pub_prev = room;
    else
        muc->public_tail = room;
    if (after)
        after->pub_next = room;
    else
        muc->public_head = room;
    room->in_public = true;
}

void muc_room_index_public(struct muc_room *room)
{
    bool want = room->listed && !room->cfg.hidden;
    if (want && !room->in_public)
        public_insert(room);
    else if (!want && room->in_public)
        public_remove(room);
}

void muc_room_unlist(struct muc_room *room)
{
    if (!room->listed)
        return;
    HASH_DEL(room->muc->rooms, room);
    room->muc->room_count--;
    room->listed = false;
    muc_room_index_public(room);
}

static void invitations_free(struct muc_room *room)
{
    while (room->invitations) {
        struct muc_invitation *inv = room->invitations;
        room->invitations = inv->next;
        muc_invitation_free(inv);
    }
}

void muc_room_free(struct muc_room *room)
{
    if (!room)
        return;
    /* A destroyed room is unlisted and empty: then this touches nothing of
     * the service (it may run after the service is gone: see muc.c). */
    muc_room_unlist(room);
    while (room->occupants)
        muc_occupant_remove(room->occupants);
    invitations_free(room);
    while (room->affiliations) {
        struct muc_affil_record *a = room->affiliations;
        room->affiliations = a->next;
        free(a->nick);
        free(a);
    }
    muc_history_free(&room->history);
    muc_room_config_free(&room->cfg);
    free(room->subject);
    free(room->subject_nick);
    free(room->voice);
    free(room->name);
    free(room->jid);
    free(room);
}

struct muc_room *muc_room_find(struct muc *muc, const char *name)
{
    struct muc_room *room;
    HASH_FIND_STR(muc->rooms, name, room);
    return room;
}

bool muc_room_concealed(struct muc *muc, const char *local,
                        const struct stanza_in *in)
{
    if (!muc->conceal || !local || !local[0])
        return false;
    char bare[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, bare, sizeof bare);
    return muc->conceal(muc->conceal_ud, local, bare);
}

struct muc_room *muc_room_for_sender(struct muc *muc,
                                     const struct stanza_in *in)
{
    struct muc_room *room = muc_room_find(muc, in->to.local);
    if (!room || !muc->conceal)
        return room;
    /* Those in the room know it (and must be able to leave it). */
    if (muc_session_find(room, in->from_text))
        return room;
    return muc_room_concealed(muc, in->to.local, in) ? NULL : room;
}

struct muc_room *muc_room_addressed(struct muc *muc, const struct stanza_in *in,
                                    struct xerr *err)
{
    struct muc_room *room = muc_room_for_sender(muc, in);
    if (!room || room->destroying) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "The room does not exist");
        return NULL;
    }
    return room;
}

/* ---- sessions: the global index by real full JID ------------------------------------ */

struct muc_session *muc_sessions_of(const struct muc *muc, const char *jid)
{
    struct muc_session *s;
    HASH_FIND_STR(muc->sessions, jid, s);
    return s;
}

struct muc_session *muc_session_find(const struct muc_room *room,
                                     const char *jid)
{
    for (struct muc_session *s = muc_sessions_of(room->muc, jid); s;
         s = s->same_jid)
        if (s->occ->room == room)
            return s;
    return NULL;
}

static struct muc_session *session_new(struct muc_occupant *occ,
                                       const char *jid)
{
    size_t n = strlen(jid);
    struct muc_session *s = calloc(1, sizeof *s + n + 1);
    if (!s)
        return NULL;
    memcpy(s->jid, jid, n + 1);
    s->occ = occ;
    struct muc *muc = occ->room->muc;
    struct muc_session *head = muc_sessions_of(muc, jid);
    if (head) {
        /* Keep the chain head in the hash; link the new one behind it. */
        s->same_jid = head->same_jid;
        head->same_jid = s;
    } else {
        HASH_ADD_KEYPTR(hh, muc->sessions, s->jid, n, s);
    }
    return s;
}

static void session_unindex(struct muc *muc, struct muc_session *s)
{
    struct muc_session *head = muc_sessions_of(muc, s->jid);
    if (head == s) {
        HASH_DEL(muc->sessions, s);
        if (s->same_jid)
            HASH_ADD_KEYPTR(hh, muc->sessions, s->same_jid->jid,
                            strlen(s->same_jid->jid), s->same_jid);
        return;
    }
    for (struct muc_session *p = head; p; p = p->same_jid) {
        if (p->same_jid == s) {
            p->same_jid = s->same_jid;
            return;
        }
    }
}

struct muc_session *muc_session_add(struct muc_occupant *occ,
                                    const char *real_jid)
{
    struct muc_session *s = session_new(occ, real_jid);
    if (!s)
        return NULL;
    /* Append: the first session stays the occupant's "real JID". */
    struct muc_session **p = &occ->sessions;
    while (*p)
        p = &(*p)->next;
    *p = s;
    return s;
}

void muc_session_remove(struct muc_session *s)
{
    struct muc_occupant *occ = s->occ;
    for (struct muc_session **p = &occ->sessions; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    session_unindex(occ->room->muc, s);
    free(s);
    if (occ->sessions) {
        const char *slash = strchr(occ->sessions->jid, '/');
        occ->bare_len = (uint16_t)(slash ? (size_t)(slash - occ->sessions->jid)
                                         : strlen(occ->sessions->jid));
    }
}

/* ---- occupants ------------------------------------------------------------------- */

static void occ_link(struct muc_room *room, struct muc_occupant *occ)
{
    if (!room->occupants_tail)
        room->occupants_tail = &room->occupants;
    occ->next = NULL;
    occ->pprev = room->occupants_tail;
    *room->occupants_tail = occ;
    room->occupants_tail = &occ->next;
}

static void occ_unlink(struct muc_room *room, struct muc_occupant *occ)
{
    *occ->pprev = occ->next;
    if (occ->next)
        occ->next->pprev = occ->pprev;
    else
        room->occupants_tail = occ->pprev;
    occ->next = NULL;
    occ->pprev = NULL;
}

struct muc_occupant *muc_occupant_add(struct muc_room *room, const char *nick,
                                      const char *real_jid)
{
    struct muc_occupant *occ = calloc(1, sizeof *occ);
    if (!occ)
        return NULL;
    occ->room = room;
    occ->nick = strdup(nick);
    if (!occ->nick) {
        free(occ);
        return NULL;
    }
    occ->sessions = session_new(occ, real_jid);
    if (!occ->sessions) {
        free(occ->nick);
        free(occ);
        return NULL;
    }
    const char *slash = strchr(real_jid, '/');
    size_t bare_len = slash ? (size_t)(slash - real_jid) : strlen(real_jid);
    occ->bare_len = (uint16_t)bare_len;
    char bare[JID_TEXT_MAX + 1];
    memcpy(bare, real_jid, bare_len);
    bare[bare_len] = '\0';
    muc_occupant_id_make(room->muc, room->jid, bare, occ->occupant_id);
    struct muc_affil_record *rec = muc_affil_find(room, bare);
    occ->affiliation = rec ? rec->affiliation : MUC_AFFIL_NONE;
    occ->role = MUC_ROLE_NONE;
    occ_link(room, occ);
    room->occupant_count++;
    return occ;
}

void muc_occupant_unlink(struct muc_occupant *occ)
{
    struct muc_room *room = occ->room;
    for (struct muc_session *s = occ->sessions; s; s = s->next)
        session_unindex(room->muc, s);
    occ_unlink(room, occ);
    room->occupant_count--;
}

void muc_occupant_free(struct muc_occupant *occ)
{
    while (occ->sessions) {
        struct muc_session *s = occ->sessions;
        occ->sessions = s->next;
        free(s);
    }
    free(occ->nick);
    free(occ->status);
    free(occ->extra);
    free(occ);
}

void muc_occupant_remove(struct muc_occupant *occ)
{
    muc_occupant_unlink(occ);
    muc_occupant_free(occ);
}

int muc_occupant_rename(struct muc_occupant *occ, const char *nick)
{
    char *copy = strdup(nick);
    if (!copy)
        return -1;
    free(occ->nick);
    occ->nick = copy;
    return 0;
}

bool muc_occupant_is_bare(const struct muc_occupant *occ, const char *bare)
{
    return strlen(bare) == occ->bare_len &&
           memcmp(occ->sessions->jid, bare, occ->bare_len) == 0;
}

static int replace_str(char **dst, const char *src)
{
    if (!src || !src[0]) {
        free(*dst);
        *dst = NULL;
        return 0;
    }
    if (*dst && strcmp(*dst, src) == 0)
        return 0;
    char *copy = strdup(src);
    if (!copy)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

int muc_occupant_set_presence(struct muc_occupant *occ, enum muc_show show,
                              const char *status, const char *extra)
{
    occ->show = (uint8_t)show;
    if (replace_str(&occ->status, status) < 0 ||
        replace_str(&occ->extra, extra) < 0)
        return -1;
    return 0;
}

struct muc_occupant *muc_room_find_occupant(const struct muc_room *room,
                                            const char *nick)
{
    for (struct muc_occupant *o = room->occupants; o; o = o->next)
        if (strcmp(o->nick, nick) == 0)
            return o;
    return NULL;
}

struct muc_occupant *muc_room_find_user(const struct muc_room *room,
                                        const char *real_jid)
{
    if (strchr(real_jid, '/')) {
        struct muc_session *s = muc_session_find(room, real_jid);
        return s ? s->occ : NULL;
    }
    for (struct muc_occupant *o = room->occupants; o; o = o->next)
        if (muc_occupant_is_bare(o, real_jid))
            return o;
    return NULL;
}

/* ---- affiliations ------------------------------------------------------------------- */

struct muc_affil_record *muc_affil_find(const struct muc_room *room,
                                        const char *bare_jid)
{
    for (struct muc_affil_record *r = room->affiliations; r; r = r->next)
        if (strcmp(r->jid, bare_jid) == 0)
            return r;
    return NULL;
}

int muc_affil_put(struct muc_room *room, const char *bare_jid,
                  enum muc_affiliation affiliation, const char *nick)
{
    struct muc_affil_record *rec = muc_affil_find(room, bare_jid);
    if (affiliation == MUC_AFFIL_NONE) {
        for (struct muc_affil_record **p = &room->affiliations; *p;
             p = &(*p)->next) {
            if (*p == rec) {
                *p = rec->next;
                free(rec->nick);
                free(rec);
                break;
            }
        }
        return 0;
    }
    if (!rec) {
        size_t n = strlen(bare_jid);
        rec = calloc(1, sizeof *rec + n + 1);
        if (!rec)
            return -1;
        memcpy(rec->jid, bare_jid, n + 1);
        /* Appended: lists come out in the order they were made. */
        struct muc_affil_record **p = &room->affiliations;
        while (*p)
            p = &(*p)->next;
        *p = rec;
    }
    rec->affiliation = (uint8_t)affiliation;
    if (affiliation == MUC_AFFIL_OUTCAST) {
        free(rec->nick); /* outcasts keep no reserved nick (§9.1) */
        rec->nick = NULL;
    } else if (nick && replace_str(&rec->nick, nick) < 0) {
        return -1;
    }
    return 0;
}

unsigned muc_affil_count(const struct muc_room *room,
                         enum muc_affiliation affiliation)
{
    unsigned n = 0;
    for (struct muc_affil_record *r = room->affiliations; r; r = r->next)
        if (r->affiliation == affiliation)
            n++;
    return n;
}

const char *muc_affil_nick_owner(const struct muc_room *room, const char *nick)
{
    for (struct muc_affil_record *r = room->affiliations; r; r = r->next)
        if (r->nick && strcmp(r->nick, nick) == 0)
            return r->jid;
    return NULL;
}

/* ---- accessors (muc.h) ------------------------------------------------------------- */

const char *muc_room_name(const struct muc_room *room) { return room->name; }
const char *muc_room_jid(const struct muc_room *room) { return room->jid; }
unsigned muc_room_occupant_count(const struct muc_room *room)
{
    return room->occupant_count;
}

enum muc_affiliation muc_room_affiliation(const struct muc_room *room,
                                          const char *bare_jid)
{
    struct muc_affil_record *rec = muc_affil_find(room, bare_jid);
    return rec ? (enum muc_affiliation)rec->affiliation : MUC_AFFIL_NONE;
}

struct muc_occupant *muc_room_first_occupant(const struct muc_room *room)
{
    return room->occupants;
}

struct muc_occupant *muc_occupant_next(const struct muc_occupant *occ)
{
    return occ->next;
}

const char *muc_occupant_nick(const struct muc_occupant *occ)
{
    return occ->nick;
}
const char *muc_occupant_real_jid(const struct muc_occupant *occ)
{
    return occ->sessions->jid;
}

const char *muc_occupant_bare_jid(const struct muc_occupant *occ, char *out,
                                  size_t size)
{
    size_t n = occ->bare_len < size ? occ->bare_len : size - 1;
    memcpy(out, occ->sessions->jid, n);
    out[n] = '\0';
    return out;
}

bool muc_occupant_privileged(const struct muc_occupant *occ)
{
    return occ->privileged;
}
bool muc_occupant_invisible(const struct muc_occupant *occ)
{
    return occ->invisible;
}
enum muc_show muc_occupant_show(const struct muc_occupant *occ)
{
    return (enum muc_show)occ->show;
}
const char *muc_occupant_id(const struct muc_occupant *occ)
{
    return occ->occupant_id;
}

const char *muc_room_title(const struct muc_room *room)
{
    return room->cfg.title && room->cfg.title[0] ? room->cfg.title
                                                 : room->name;
}

void muc_invitation_free(struct muc_invitation *inv)
{
    if (!inv)
        return;
    free(inv->inviter);
    free(inv->shown);
    free(inv);
}
