/* muc#admin (§8-10): reading affiliation and role lists, and changing
 * roles (kick, voice, moderator) and affiliations (ban, member, admin,
 * owner).  A request is checked as a whole before anything is applied: one
 * refused item refuses the request (§9.2). */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/admin.h"
#include "muc/persist.h"
#include "muc/presence.h"
#include "muc/privilege.h"
#include "muc/roles.h"
#include "muc/room.h"
#include "muc/send.h"
#include "muc/visibility.h"
#include "xmpp/xml.h"

#define LOG "muc"
#define MAX_ITEMS 100

static int parse_role(const char *s, enum muc_role *out)
{
    static const char *const names[] = {"none", "visitor", "participant",
                                        "moderator"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum muc_role)i;
            return 0;
        }
    }
    return -1;
}

static int parse_affiliation(const char *s, enum muc_affiliation *out)
{
    static const char *const names[] = {"outcast", "none", "member", "admin",
                                        "owner"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum muc_affiliation)i;
            return 0;
        }
    }
    return -1;
}

static int verdict_error(enum muc_priv_verdict v, struct xerr *err)
{
    switch (v) {
    case MUC_PRIV_OK:
        return 0;
    case MUC_PRIV_FORBIDDEN:
        xerr_set(err, XERR_FORBIDDEN, "You are not allowed to do that");
        return -1;
    case MUC_PRIV_NOT_ALLOWED:
        xerr_set(err, XERR_NOT_ALLOWED,
                 "You cannot do that to someone of higher rank");
        return -1;
    case MUC_PRIV_CONFLICT:
    default:
        xerr_set(err, XERR_CONFLICT, "You cannot do that to yourself");
        return -1;
    }
}

struct actor {
    struct muc_occupant *occ;
    enum muc_role role;
    enum muc_affiliation affil;
    bool privileged;
    char bare[JID_TEXT_MAX + 1];
};

static void identify(struct muc_room *room, const struct stanza_in *in,
                     struct actor *a)
{
    jid_bare_text(&in->from, a->bare, sizeof a->bare);
    struct muc_session *s = muc_session_find(room, in->from_text);
    a->occ = s ? s->occ : NULL;
    a->role = a->occ ? (enum muc_role)a->occ->role : MUC_ROLE_NONE;
    a->affil = muc_room_affiliation(room, a->bare);
    a->privileged = a->occ ? a->occ->privileged
                           : muc_outsider_privileged(room, a->bare);
}

/* ---- reading lists -------------------------------------------------------------------- */

static int get_list(struct muc_room *room, const struct stanza_in *in,
                    xmpp_stanza_t *item, const struct actor *a,
                    struct xerr *err)
{
    const char *affil_s = stanza_attr(item, "affiliation");
    const char *role_s = stanza_attr(item, "role");
    enum muc_affiliation affil;
    enum muc_role role;
    enum muc_list list;
    bool by_role = false;

    if (affil_s && !role_s && parse_affiliation(affil_s, &affil) == 0 &&
        affil != MUC_AFFIL_NONE) {
        list = affil == MUC_AFFIL_OUTCAST  ? MUC_LIST_OUTCAST
               : affil == MUC_AFFIL_MEMBER ? MUC_LIST_MEMBER
               : affil == MUC_AFFIL_ADMIN  ? MUC_LIST_ADMIN
                                           : MUC_LIST_OWNER;
    } else if (role_s && !affil_s && parse_role(role_s, &role) == 0 &&
               (role == MUC_ROLE_MODERATOR || role == MUC_ROLE_PARTICIPANT ||
                role == MUC_ROLE_VISITOR)) {
        list = role == MUC_ROLE_MODERATOR ? MUC_LIST_MODERATOR
                                          : MUC_LIST_PARTICIPANT;
        by_role = true;
    } else {
        xerr_set(err, XERR_BAD_REQUEST,
                 "Ask for one affiliation or one role list");
        return -1;
    }
    if (verdict_error(muc_priv_get_list(a->role, a->affil, list,
                                        room->cfg.semi_anonymous),
                      err) < 0)
        return -1;

    struct buf *out = router_out(room->muc->router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query xmlns='" NS_MUC_ADMIN "'>");
    if (by_role) {
        for (struct muc_occupant *o = room->occupants; o; o = o->next) {
            if (o->role != role ||
                !muc_visible_to(room, a->occ, a->privileged, o))
                continue;
            buf_append_str(out, "<item");
            xml_attr(out, "affiliation",
                     muc_affiliation_name((enum muc_affiliation)o->affiliation));
            xml_attr(out, "jid", o->sessions->jid);
            xml_attr(out, "nick", o->nick);
            xml_attr(out, "role", muc_role_name((enum muc_role)o->role));
            buf_append_str(out, "/>");
        }
    } else {
        for (struct muc_affil_record *r = room->affiliations; r;
             r = r->next) {
            if (r->affiliation != affil)
                continue;
            buf_append_str(out, "<item");
            xml_attr(out, "affiliation", muc_affiliation_name(affil));
            xml_attr(out, "jid", r->jid);
            xml_attr(out, "nick", r->nick);
            buf_append_str(out, "/>");
        }
    }
    buf_append_str(out, "</query></iq>");
    return 0;
}

/* ---- changes ---------------------------------------------------------------------------- */

struct change {
    bool by_role;
    struct muc_occupant *target; /* role changes */
    enum muc_role role;
    char bare[JID_TEXT_MAX + 1]; /* affiliation changes */
    enum muc_affiliation affil;
    const char *nick;            /* reserved nick to record, or NULL */
    const char *reason;
};

static int check_item(struct muc_room *room, xmpp_stanza_t *item,
                      const struct actor *a, struct change *c,
                      struct xerr *err)
{
    const char *affil_s = stanza_attr(item, "affiliation");
    const char *role_s = stanza_attr(item, "role");
    xmpp_stanza_t *reason = stanza_child(item, "reason", NULL);
    memset(c, 0, sizeof *c);
    c->reason = reason ? stanza_text(reason) : NULL;

    if ((affil_s && role_s) || (!affil_s && !role_s)) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "Each item changes either a role or an affiliation");
        return -1;
    }
    if (role_s) {
        const char *nick = stanza_attr(item, "nick");
        if (parse_role(role_s, &c->role) < 0 || !nick) {
            xerr_set(err, XERR_BAD_REQUEST, "A role change needs a nick");
            return -1;
        }
        c->by_role = true;
        c->target = muc_visible_occupant(room, nick, a->occ, a->privileged);
        if (!c->target) {
            xerr_set(err, XERR_ITEM_NOT_FOUND,
                     "There is nobody with that nickname here");
            return -1;
        }
        return verdict_error(
            muc_priv_set_role(a->role, a->affil,
                              (enum muc_role)c->target->role,
                              (enum muc_affiliation)c->target->affiliation,
                              c->role, c->target == a->occ),
            err);
    }
    const char *jid_s = stanza_attr(item, "jid");
    struct jid j;
    if (parse_affiliation(affil_s, &c->affil) < 0 || !jid_s ||
        jid_parse(jid_s, &j) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "An affiliation change needs a JID");
        return -1;
    }
    jid_bare_text(&j, c->bare, sizeof c->bare); /* §9: by bare JID */
    c->nick = stanza_attr(item, "nick");
    enum muc_affiliation current = muc_room_affiliation(room, c->bare);
    return verdict_error(
        muc_priv_set_affiliation(a->affil, current, c->affil,
                                 strcmp(c->bare, a->bare) == 0,
                                 muc_affil_count(room, MUC_AFFIL_OWNER)),
        err);
}

static int set_items(struct muc_room *room, const struct stanza_in *in,
                     xmpp_stanza_t *query, const struct actor *a,
                     struct xerr *err)
{
    size_t count = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(query); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        if (name && strcmp(name, "item") == 0)
            count++;
    }
    if (count == 0) {
        xerr_set(err, XERR_BAD_REQUEST, "No item to change");
        return -1;
    }
    if (count > MAX_ITEMS) {
        xerr_set(err, XERR_POLICY_VIOLATION, "Too many items at once");
        return -1;
    }
    struct change *changes = calloc(count, sizeof *changes);
    if (!changes)
        return -1; /* internal-server-error */
    size_t n = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(query); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        if (!name || strcmp(name, "item") != 0)
            continue;
        if (check_item(room, c, a, &changes[n], err) < 0) {
            free(changes);
            return -1;
        }
        n++;
    }
    /* Only a visible actor is named in removals (an observer's kick must not
     * reveal the observer). */
    const char *actor_nick = a->occ && !a->occ->invisible ? a->occ->nick : NULL;
    char *actor_copy = actor_nick ? strdup(actor_nick) : NULL;

    /* Answer first: the changes may remove the actor itself. */
    struct buf *out = router_out(room->muc->router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "/>");

    for (size_t i = 0; i < n; i++) {
        struct change *c = &changes[i];
        if (room->destroying)
            break;
        if (c->by_role) {
            /* An earlier item may have removed this occupant. */
            bool present = false;
            for (struct muc_occupant *o = room->occupants; o; o = o->next)
                present |= o == c->target;
            if (!present)
                continue;
            if (c->role == MUC_ROLE_NONE) {
                struct muc_pres p = {.type = "unavailable",
                                     .actor_nick = actor_copy,
                                     .reason = c->reason, .codes = {307}};
                muc_occupant_leave(c->target, MUC_LEFT_KICK, &p);
            } else {
                muc_occupant_set_role(c->target, c->role, c->reason);
            }
            continue;
        }
        if (muc_affil_put(room, c->bare, c->affil, c->nick) < 0)
            continue;
        if (room->stored)
            muc_persist_affiliation(room, c->bare);
        muc_apply_affiliation(room, c->bare, actor_copy, c->reason);
        log_debug(LOG, "%s: affiliation of a user set to %s", room->jid,
                  muc_affiliation_name(c->affil));
    }
    free(actor_copy);
    free(changes);
    return 0;
}

int muc_iq_admin(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
                 struct xerr *err)
{
    struct muc *muc = ud;
    struct muc_room *room = muc_room_addressed(muc, in, err);
    if (!room)
        return -1;
    struct actor a;
    identify(room, in, &a);
    if (strcmp(in->type, "get") == 0) {
        xmpp_stanza_t *item = stanza_child(payload, "item", NULL);
        if (!item) {
            xerr_set(err, XERR_BAD_REQUEST, "Ask for a list with an item");
            return -1;
        }
        return get_list(room, in, item, &a, err);
    }
    return set_items(room, in, payload, &a, err);
}
