/* Service discovery for the MUC (§6): the service's room list (what the
 * asker may see: public rooms and rooms it may enter, with RSM paging;
 * from an index for askers who can be staff nowhere),
 * disco#info on rooms (features from the configuration, the muc#roominfo
 * form with the occupant count as the asker may see it), disco#items on
 * rooms (occupants the asker may see, to occupants only), and the
 * x-roomuser-item node (§7.12). */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "muc/archiving.h"
#include "muc/room.h"
#include "muc/roomdisco.h"
#include "muc/visibility.h"
#include "xmpp/form.h"
#include "xmpp/ping.h"
#include "xmpp/xml.h"

#define ROOM_LIST_DEFAULT_MAX 200
#define ROOM_LIST_CAP 1000

/* Who is asking, as the room sees them. */
struct asker {
    struct muc_occupant *occ; /* NULL: not in the room */
    bool privileged;
    char bare[JID_TEXT_MAX + 1];
};

static void identify(struct muc_room *room, const struct stanza_in *in,
                     struct asker *a)
{
    jid_bare_text(&in->from, a->bare, sizeof a->bare);
    struct muc_session *s = muc_session_find(room, in->from_text);
    a->occ = s ? s->occ : NULL;
    a->privileged = a->occ ? a->occ->privileged
                           : muc_outsider_privileged(room, a->bare);
}

static struct muc_room *room_for(struct muc *muc, const struct stanza_in *in,
                                 struct xerr *err)
{
    struct muc_room *room = muc_room_addressed(muc, in, err);
    if (room && room->locked && !muc_session_find(room, in->from_text)) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "The room does not exist");
        return NULL;
    }
    return room;
}

/* ---- disco#info on a room ------------------------------------------------------------ */

static void feature(struct buf *out, const char *var)
{
    disco_write_feature(out, var);
}

static const char *allowpm_value(const struct muc_room *room,
                                 const struct asker *a)
{
    if (room->cfg.pm_privileged_only && !a->privileged)
        return "none";
    switch ((enum muc_pm_policy)room->cfg.allow_pm) {
    case MUC_PM_ANYONE: return "anyone";
    case MUC_PM_PARTICIPANTS: return "participants";
    case MUC_PM_MODERATORS: return "moderators";
    default: return "none";
    }
}

/* A query on one of the desk's nodes of a room (ad-hoc commands): the
 * provider writes the query's contents; a failure drops the half-written
 * reply. */
static int answer_node(struct muc *muc, const struct stanza_in *in,
                       const char *ns, const char *node, disco_info_fn provider,
                       struct xerr *err)
{
    struct buf *out = router_out(muc->router);
    size_t mark = out->len;
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query");
    xml_attr(out, "xmlns", ns);
    xml_attr(out, "node", node);
    buf_append_char(out, '>');
    if (provider(muc->room_disco.ud, in, node, out, err) < 0) {
        buf_truncate(out, mark);
        return -1;
    }
    buf_append_str(out, "</query></iq>");
    return 0;
}

/* The reserved nick query (XEP-0045 §7.12): the asker's registered nick,
 * or their nick in the room. */
static void reserved_nick(struct buf *out, const struct stanza_in *in,
                          struct muc_room *room, const struct asker *a,
                          const char *node)
{
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query xmlns='" NS_DISCO_INFO "'");
    xml_attr(out, "node", node);
    buf_append_char(out, '>');
    struct muc_affil_record *rec = muc_affil_find(room, a->bare);
    const char *nick = rec && rec->nick ? rec->nick
                                        : (a->occ ? a->occ->nick : NULL);
    if (nick) {
        buf_append_str(out, "<identity category='conference' type='text'");
        xml_attr(out, "name", nick);
        buf_append_str(out, "/>");
    }
    buf_append_str(out, "</query></iq>");
}

/* A room's features: the protocols, the owner's additions, its settings. */
static void room_features(struct muc *muc, const struct muc_room *room,
                          struct buf *out)
{
    const struct muc_room_config *c = &room->cfg;
    feature(out, NS_DISCO_INFO);
    feature(out, NS_DISCO_ITEMS);
    feature(out, NS_MUC);
    feature(out, NS_MUC_STABLE_ID);
    feature(out, NS_MUC_REQUEST); /* voice requests, §7.13 (message.c) */
    feature(out, NS_MUC_SELF_PING);
    feature(out, NS_OCCUPANT_ID);
    feature(out, NS_SID);
    feature(out, NS_PING);
    if (muc_mam_enabled(room)) {
        feature(out, NS_MAM);
        /* ids, metadata, before-id/after-id, flipped pages (mam.c) */
        feature(out, NS_MAM_EXTENDED);
    }
    if (muc->room_disco.features)
        muc->room_disco.features(muc->room_disco.ud, room, out);
    feature(out, c->hidden ? "muc_hidden" : "muc_public");
    feature(out, c->members_only ? "muc_membersonly" : "muc_open");
    feature(out, c->moderated ? "muc_moderated" : "muc_unmoderated");
    feature(out, c->semi_anonymous ? "muc_semianonymous" : "muc_nonanonymous");
    feature(out, c->persistent ? "muc_persistent" : "muc_temporary");
    feature(out, c->password ? "muc_passwordprotected" : "muc_unsecured");
}

static int room_info(void *ud, const struct stanza_in *in,
                     xmpp_stanza_t *payload, struct xerr *err)
{
    struct muc *muc = ud;
    if (strcmp(in->type, "get") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "disco#info is read-only");
        return -1;
    }
    struct muc_room *room = room_for(muc, in, err);
    if (!room)
        return -1;
    struct asker a;
    identify(room, in, &a);
    const char *node = stanza_attr(payload, "node");
    struct buf *out = router_out(muc->router);

    if (node && strcmp(node, "x-roomuser-item") == 0) {
        reserved_nick(out, in, room, &a, node);
        return 0;
    }
    if (node && strcmp(node, "http://jabber.org/protocol/muc#traffic") == 0) {
        xerr_set(err, XERR_SERVICE_UNAVAILABLE, NULL); /* §17.1.1 */
        return -1;
    }
    if (node && muc->room_disco.node_info)
        return answer_node(muc, in, NS_DISCO_INFO, node,
                           muc->room_disco.node_info, err);
    if (node) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such node");
        return -1;
    }

    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query xmlns='" NS_DISCO_INFO "'>"
                        "<identity category='conference' type='text'");
    xml_attr(out, "name", muc_room_title(room));
    buf_append_str(out, "/>");
    room_features(muc, room, out);
    const struct muc_room_config *c = &room->cfg;
    char count[16];
    snprintf(count, sizeof count, "%u",
             muc_visible_count(room, a.occ, a.privileged));
    char hist[16];
    snprintf(hist, sizeof hist, "%d", muc_room_history_size(room));
    form_open(out, "result", NS_MUC_ROOMINFO, NULL, NULL);
    form_add(out, "muc#roomconfig_roomname", "text-single", "Name",
             muc_room_title(room));
    form_add(out, "muc#roominfo_description", "text-single", "Description",
             c->description ? c->description : "");
    form_add(out, "muc#roominfo_subject", "text-single", "Subject",
             room->subject ? room->subject : "");
    form_add(out, "muc#roominfo_occupants", "text-single",
             "Number of occupants", count);
    form_add_bool(out, "muc#roomconfig_changesubject",
                  "Occupants may change the subject", c->change_subject);
    form_add(out, "muc#roomconfig_allowpm", "list-single",
             "Who may send private messages", allowpm_value(room, &a));
    form_add(out, "muc#maxhistoryfetch", "text-single",
             "Maximum number of history messages returned by the room", hist);
    form_close(out);
    buf_append_str(out, "</query></iq>");
    return 0;
}

/* ---- disco#items on a room ------------------------------------------------------------ */

static int room_items(void *ud, const struct stanza_in *in,
                      xmpp_stanza_t *payload, struct xerr *err)
{
    struct muc *muc = ud;
    if (strcmp(in->type, "get") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "disco#items is read-only");
        return -1;
    }
    struct muc_room *room = room_for(muc, in, err);
    if (!room)
        return -1;
    const char *node = stanza_attr(payload, "node");
    struct buf *out = router_out(muc->router);
    if (node && muc->room_disco.node_items)
        return answer_node(muc, in, NS_DISCO_ITEMS, node,
                           muc->room_disco.node_items, err);
    if (node) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such node");
        return -1;
    }
    struct asker a;
    identify(room, in, &a);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query xmlns='" NS_DISCO_ITEMS "'>");
    /* The occupant list is private (§6.5) except to those in the room, and
     * to privileged staff; each sees only whom it may see. */
    if (a.occ || a.privileged) {
        for (struct muc_occupant *o = room->occupants; o; o = o->next) {
            if (!muc_visible_to(room, a.occ, a.privileged, o))
                continue;
            char jid[JID_TEXT_MAX + 1];
            snprintf(jid, sizeof jid, "%s/%s", room->jid, o->nick);
            buf_append_str(out, "<item");
            xml_attr(out, "jid", jid);
            xml_attr(out, "name", o->nick);
            buf_append_str(out, "/>");
        }
    }
    buf_append_str(out, "</query></iq>");
    return 0;
}

/* ---- the service's room list -------------------------------------------------------------- */

static bool listed_for(struct muc_room *room, const char *bare,
                       const char *full)
{
    if (room->destroying || room->locked)
        return false;
    if (!room->cfg.hidden)
        return true;
    /* Hidden rooms only to those who belong there. */
    if (muc_room_affiliation(room, bare) >= MUC_AFFIL_MEMBER)
        return true;
    if (muc_session_find(room, full))
        return true;
    return muc_outsider_privileged(room, bare);
}

/* The page being written: items up to max, then whether there is more. */
struct page {
    struct buf *out;
    long max, n;
    const char *first, *last;
    bool more;
};

/* Adds one room; false once the page is full (then `more` is known). */
static bool page_add(struct page *p, struct muc_room *r)
{
    if (p->n == p->max) {
        p->more = true;
        return false;
    }
    buf_append_str(p->out, "<item");
    xml_attr(p->out, "jid", r->jid);
    xml_attr(p->out, "name", muc_room_title(r));
    buf_append_str(p->out, "/>");
    if (!p->first)
        p->first = r->jid;
    p->last = r->jid;
    p->n++;
    return true;
}

/* Someone who may be privileged somewhere: every room, each asked. */
static void list_all(struct muc *muc, const struct stanza_in *in,
                     const char *bare, struct muc_room *after,
                     struct page *p)
{
    for (struct muc_room *r = after ? after->hh.next : muc->rooms; r;
         r = r->hh.next)
        if (listed_for(r, bare, in->from_text) && !page_add(p, r))
            return;
}

static int by_seq(const void *a, const void *b)
{
    const struct muc_room *x = *(struct muc_room *const *)a;
    const struct muc_room *y = *(struct muc_room *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

#define OWN_ROOMS_MAX 256

static bool own_or_public(struct muc_room *r, const char *full)
{
    return !r->destroying && !r->locked &&
           (!r->cfg.hidden || muc_session_find(r, full));
}

/* Anyone else (a customer, an outsider): the public rooms and the hidden
 * rooms they are in, merged in creation order, without looking at any
 * other room: a customer's disco#items costs the same with 100,000
 * session rooms as with none. */
static void list_public_and_own(struct muc *muc, const struct stanza_in *in,
                                struct muc_room *after, struct page *p)
{
    uint64_t from_seq = after ? after->seq : 0;
    struct muc_room *own[OWN_ROOMS_MAX];
    size_t n_own = 0;
    for (struct muc_session *s = muc_sessions_of(muc, in->from_text);
         s && n_own < OWN_ROOMS_MAX; s = s->same_jid) {
        struct muc_room *r = s->occ->room;
        if (r->cfg.hidden && r->seq > from_seq && !r->destroying &&
            !r->locked)
            own[n_own++] = r;
    }
    qsort(own, n_own, sizeof *own, by_seq);
    struct muc_room *pub = muc->public_head;
    if (after && after->in_public)
        pub = after->pub_next;
    else
        while (pub && pub->seq <= from_seq)
            pub = pub->pub_next;
    size_t i = 0;
    for (;;) {
        while (pub && (pub->destroying || pub->locked))
            pub = pub->pub_next;
        struct muc_room *next;
        if (pub && (i == n_own || pub->seq < own[i]->seq)) {
            next = pub;
            pub = pub->pub_next;
        } else if (i < n_own) {
            next = own[i++];
        } else {
            return;
        }
        if (!page_add(p, next))
            return;
    }
}

static int service_items(void *ud, const struct stanza_in *in,
                         const char *node, struct buf *out, struct xerr *err)
{
    struct muc *muc = ud;
    (void)node;
    char bare[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, bare, sizeof bare);

    struct page p = {.out = out, .max = ROOM_LIST_DEFAULT_MAX};
    const char *after_text = NULL;
    bool rsm = false;
    xmpp_stanza_t *query = stanza_child(in->st, "query", NS_DISCO_ITEMS);
    xmpp_stanza_t *set = query ? stanza_child(query, "set", NS_RSM) : NULL;
    if (set) {
        rsm = true;
        xmpp_stanza_t *m = stanza_child(set, "max", NULL);
        if (m) {
            p.max = strtol(stanza_text(m), NULL, 10);
            if (p.max < 0)
                p.max = 0;
            if (p.max > ROOM_LIST_CAP)
                p.max = ROOM_LIST_CAP;
        }
        xmpp_stanza_t *af = stanza_child(set, "after", NULL);
        after_text = af ? stanza_text(af) : NULL;
    }
    bool everything =
        !muc->room_disco.privileged_somewhere ||
        muc->room_disco.privileged_somewhere(muc->room_disco.ud, bare);
    struct muc_room *after = NULL;
    if (after_text) {
        struct jid aj;
        if (jid_parse(after_text, &aj) == 0 &&
            strcmp(aj.domain, muc->domain) == 0)
            after = muc_room_find(muc, aj.local);
        /* Only a room this asker could have been shown: paging after a
         * hidden room must not tell whether it exists (ticket rooms). */
        if (after && !(everything ? listed_for(after, bare, in->from_text)
                                  : own_or_public(after, in->from_text)))
            after = NULL;
        if (!after) {
            xerr_set(err, XERR_ITEM_NOT_FOUND, "No such item to page after");
            return -1;
        }
    }
    if (everything)
        list_all(muc, in, bare, after, &p);
    else
        list_public_and_own(muc, in, after, &p);
    if (rsm || p.more) {
        buf_append_str(out, "<set xmlns='" NS_RSM "'>");
        if (p.first) {
            buf_append_str(out, "<first>");
            xml_text(out, p.first);
            buf_append_str(out, "</first><last>");
            xml_text(out, p.last);
            buf_append_str(out, "</last>");
        }
        buf_append_str(out, "</set>");
    }
    return 0;
}

int muc_disco_register(struct muc *muc)
{
    if (router_on_iq(muc->router, ROUTE_ROOM, NS_DISCO_INFO, room_info, muc) ||
        router_on_iq(muc->router, ROUTE_ROOM, NS_DISCO_ITEMS, room_items,
                     muc) ||
        disco_add_items(muc->disco, NULL, service_items, muc) ||
        disco_add_feature(muc->disco, NS_MUC) ||
        disco_add_feature(muc->disco, NS_MUC_STABLE_ID) ||
        disco_add_feature(muc->disco, NS_OCCUPANT_ID))
        return -1;
    return 0;
}
