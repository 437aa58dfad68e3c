/* Mediated invitations and their declines (§7.8.2): what a room re-sends on
 * an occupant's behalf to someone outside it, so it is bounded and only
 * ever goes where it is due.
 *
 *  - Who may invite: an occupant, by XEP-0045's rules in plain rooms
 *    (muc_priv_invite); in rooms of the layer above only if its
 *    `may_invite` hook agrees (no hook: nobody; the layer invites through
 *    muc_room_invite()).
 *  - Whom: a valid JID outside this service (rooms and occupants here
 *    cannot be invited: the service would write to itself), at most
 *    MAX_PER_STANZA per message, each one taken from the inviter's
 *    [muc] message_rate; the reason at most [muc] max_body_size bytes.
 *  - Each invitation sent is remembered per room (at most MAX_PENDING,
 *    the oldest forgotten first, each for PENDING_TTL_MS): invitee's bare
 *    JID, the inviting session's real JID (none for the room's own).
 *  - A decline is relayed only if its sender's bare JID has such an
 *    invitation, only to that invitation's inviter, and only once: it uses
 *    the invitation up.  Its `to`, when given, picks which invitation (the
 *    inviter's occupant JID as shown, or its real JID); a `to` naming
 *    nobody who invited the sender is refused.  Others get not-acceptable
 *    and nobody hears of their decline. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/invite.h"
#include "muc/privilege.h"
#include "muc/room.h"
#include "muc/send.h"
#include "xmpp/xml.h"

#define LOG "muc"
#define MAX_PER_STANZA 5
#define MAX_PENDING 32
#define PENDING_TTL_MS (24ULL * 3600 * 1000)


/* Drops expired invitations, and the oldest beyond `keep`. */
static void prune(struct muc_room *room, unsigned keep)
{
    uint64_t now = loop_now(room->muc->loop);
    unsigned n = 0;
    for (struct muc_invitation **p = &room->invitations; *p;) {
        struct muc_invitation *inv = *p;
        if (inv->expires_ms <= now || n >= keep) {
            *p = inv->next;
            muc_invitation_free(inv);
            continue;
        }
        n++;
        p = &inv->next;
    }
}

static void remember(struct muc_room *room, const char *invitee_bare,
                     const char *inviter, const char *shown)
{
    prune(room, MAX_PENDING - 1);
    size_t n = strlen(invitee_bare);
    struct muc_invitation *inv = calloc(1, sizeof *inv + n + 1);
    if (!inv || (inviter && !(inv->inviter = strdup(inviter))) ||
        !(inv->shown = strdup(shown))) {
        /* Without a record a decline is not relayed: nothing worse. */
        muc_invitation_free(inv);
        log_warn(LOG, "%s: out of memory recording an invitation", room->jid);
        return;
    }
    memcpy(inv->invitee, invitee_bare, n + 1);
    inv->expires_ms = loop_now(room->muc->loop) + PENDING_TTL_MS;
    inv->next = room->invitations;
    room->invitations = inv;
}

/* Whether `to` (a decline's to attribute, prepared) names the inviter. */
static bool names_inviter(const struct muc_invitation *inv, const char *to)
{
    if (strcmp(to, inv->shown) == 0)
        return true;
    if (!inv->inviter)
        return false;
    if (strcmp(to, inv->inviter) == 0)
        return true;
    char bare[JID_TEXT_MAX + 1];
    return muc_bare_of(inv->inviter, bare, sizeof bare) == 0 &&
           strcmp(to, bare) == 0;
}

/* Unlinks and returns the invitation a decline from `invitee_bare` (with
 * `to`, prepared, or NULL) answers: the newest that matches.  NULL if none. */
static struct muc_invitation *take(struct muc_room *room,
                                   const char *invitee_bare, const char *to)
{
    prune(room, MAX_PENDING);
    for (struct muc_invitation **p = &room->invitations; *p; p = &(*p)->next) {
        struct muc_invitation *inv = *p;
        if (strcmp(inv->invitee, invitee_bare) != 0 ||
            (to && !names_inviter(inv, to)))
            continue;
        *p = inv->next;
        return inv;
    }
    return NULL;
}

static void reply_error(struct muc *muc, const struct stanza_in *in,
                        const char *by, enum xerr_cond cond, const char *text)
{
    struct xerr err;
    xerr_set(&err, cond, "%s", text);
    muc_error_write(router_out(muc->router), in, &err, by, NULL);
}

/* ---- invitations ------------------------------------------------------------ */

/* <message from=room to id><x muc#user><ELEMENT from=FROM>, with
 * <reason/> unless reason is NULL, closed; the caller closes the <x/>
 * and the message.  ELEMENT: "invite" or "decline" (§7.8.2). */
static void open_mediated(struct buf *out, const struct muc_room *room,
                          const char *to, const char *id,
                          const char *element, const char *from,
                          const char *reason)
{
    buf_append_str(out, "<message");
    xml_attr(out, "from", room->jid);
    xml_attr(out, "to", to);
    xml_attr(out, "id", id);
    buf_printf(out, "><x xmlns='" NS_MUC_USER "'><%s", element);
    xml_attr(out, "from", from);
    if (reason) {
        buf_append_str(out, "><reason>");
        xml_text(out, reason);
        buf_printf(out, "</reason></%s>", element);
    } else {
        buf_append_str(out, "/>");
    }
}

static void write_invitation(struct buf *out, const struct muc_room *room,
                             const char *to, const char *from,
                             const char *reason, const char *id)
{
    open_mediated(out, room, to, id, "invite", from,
                  reason && reason[0] ? reason : NULL);
    if (room->cfg.password) {
        buf_append_str(out, "<password>");
        xml_text(out, room->cfg.password);
        buf_append_str(out, "</password>");
    }
    buf_append_str(out, "</x>");
    /* The same invitation in XEP-0249 form, for clients that only
     * understand direct invitations. */
    buf_append_str(out, "<x xmlns='" NS_CONFERENCE "'");
    xml_attr(out, "jid", room->jid);
    xml_attr(out, "reason", reason && reason[0] ? reason : NULL);
    xml_attr(out, "password", room->cfg.password);
    buf_append_str(out, "/></message>");
}

int muc_room_invite(struct muc_room *room, const char *to_jid,
                    const char *reason)
{
    struct jid j;
    char to[JID_TEXT_MAX + 1], bare[JID_TEXT_MAX + 1];
    if (room->destroying || jid_parse(to_jid, &j) < 0 ||
        jid_full_text(&j, to, sizeof to) < 0 ||
        jid_bare_text(&j, bare, sizeof bare) < 0)
        return -1;
    write_invitation(router_out(room->muc->router), room, to, room->jid,
                     reason, NULL);
    remember(room, bare, NULL, room->jid);
    return 0;
}

static bool may_invite(struct muc_room *room, const struct muc_occupant *occ,
                       const char *invitee_bare)
{
    if (room->hooks)
        return room->hooks->may_invite &&
               room->hooks->may_invite(room->ud, room, occ, invitee_bare);
    return muc_priv_invite((enum muc_role)occ->role,
                           (enum muc_affiliation)occ->affiliation,
                           room->cfg.members_only, room->cfg.allow_invites);
}

/* Checks the <invite/> children of x: 0 with them in el[] (*n of them),
 * or -1 after answering the error.  All or nothing: an error sends none. */
static int read_invitees(struct muc *muc, struct muc_room *room,
                         const struct stanza_in *in, xmpp_stanza_t *x,
                         xmpp_stanza_t **el, int *n)
{
    *n = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(x); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        if (!name || strcmp(name, "invite") != 0)
            continue;
        if (*n == MAX_PER_STANZA) {
            reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                        "At most 5 invitations per message");
            return -1;
        }
        const char *to_text = stanza_attr(c, "to");
        struct jid to;
        if (!to_text || jid_parse(to_text, &to) < 0) {
            reply_error(muc, in, room->jid, XERR_JID_MALFORMED,
                        "The invitee's address is not valid");
            return -1;
        }
        if (strcmp(to.domain, muc->domain) == 0) {
            reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                        "Rooms and their occupants cannot be invited");
            return -1;
        }
        xmpp_stanza_t *reason = stanza_child(c, "reason", NULL);
        const char *text = reason ? stanza_text(reason) : NULL;
        if (text && strlen(text) > (size_t)muc->cfg->muc.max_body_bytes) {
            reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                        "The reason is too long");
            return -1;
        }
        el[(*n)++] = c;
    }
    return 0;
}

void muc_invite_handle(struct muc *muc, struct muc_room *room,
                       const struct stanza_in *in, xmpp_stanza_t *x)
{
    struct muc_session *s = muc_session_find(room, in->from_text);
    if (!s) {
        reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                    "You are not in this room");
        return;
    }
    struct muc_occupant *occ = s->occ;
    xmpp_stanza_t *el[MAX_PER_STANZA];
    int n;
    if (read_invitees(muc, room, in, x, el, &n) < 0)
        return;
    char from[JID_TEXT_MAX + 1];
    if (occ->invisible)
        snprintf(from, sizeof from, "%s", room->jid);
    else
        snprintf(from, sizeof from, "%s/%s", room->jid, occ->nick);
    for (int i = 0; i < n; i++) {
        struct jid to;
        char to_full[JID_TEXT_MAX + 1], to_bare[JID_TEXT_MAX + 1];
        if (jid_parse(stanza_attr(el[i], "to"), &to) < 0 ||
            jid_full_text(&to, to_full, sizeof to_full) < 0 ||
            jid_bare_text(&to, to_bare, sizeof to_bare) < 0)
            return; /* checked above */
        if (!may_invite(room, occ, to_bare)) {
            reply_error(muc, in, room->jid, XERR_FORBIDDEN,
                        "You are not allowed to invite people to this room");
            return;
        }
        if (!rate_bucket_take(&occ->rate, (uint32_t)muc->cfg->muc.message_rate,
                              10000, (uint32_t)loop_now(muc->loop))) {
            muc->stats.rate_limited++;
            reply_error(muc, in, room->jid, XERR_RESOURCE_CONSTRAINT,
                        "You are sending invitations too fast; wait a moment");
            return;
        }
        /* Members-only plain rooms admit whoever their inviters may admit
         * (§9.3); open rooms never grant membership by invitation, and
         * the layer above decides who enters its rooms. */
        if (!room->hooks && room->cfg.members_only &&
            muc_room_affiliation(room, to_bare) == MUC_AFFIL_NONE)
            muc_room_set_affiliation(room, to_bare, MUC_AFFIL_MEMBER, NULL);
        xmpp_stanza_t *reason = stanza_child(el[i], "reason", NULL);
        write_invitation(router_out(muc->router), room, to_full, from,
                         reason ? stanza_text(reason) : NULL, in->id);
        remember(room, to_bare, s->jid, from);
    }
}

/* ---- declines ------------------------------------------------------------------ */

void muc_decline_handle(struct muc *muc, struct muc_room *room,
                        const struct stanza_in *in, xmpp_stanza_t *d)
{
    xmpp_stanza_t *reason_el = stanza_child(d, "reason", NULL);
    const char *reason = reason_el ? stanza_text(reason_el) : NULL;
    if (reason && strlen(reason) > (size_t)muc->cfg->muc.max_body_bytes) {
        reply_error(muc, in, room->jid, XERR_POLICY_VIOLATION,
                    "The reason is too long");
        return;
    }
    const char *to_text = stanza_attr(d, "to");
    struct jid to;
    char to_prep[JID_TEXT_MAX + 1];
    if (to_text && (jid_parse(to_text, &to) < 0 ||
                    jid_full_text(&to, to_prep, sizeof to_prep) < 0)) {
        reply_error(muc, in, room->jid, XERR_JID_MALFORMED,
                    "The inviter's address is not valid");
        return;
    }
    char bare[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, bare, sizeof bare);
    struct muc_invitation *inv = take(room, bare, to_text ? to_prep : NULL);
    if (!inv) {
        reply_error(muc, in, room->jid, XERR_NOT_ACCEPTABLE,
                    "You have no invitation to this room to decline");
        return;
    }
    if (inv->inviter) {
        struct buf *out = router_out(muc->router);
        open_mediated(out, room, inv->inviter, in->id, "decline", bare, reason);
        buf_append_str(out, "</x></message>");
    }
    muc_invitation_free(inv);
    if (room->hooks && room->hooks->invite_declined)
        room->hooks->invite_declined(room->ud, room, in->from_text, reason);
}
