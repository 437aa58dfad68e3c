/* iq to occupant JIDs: XEP-0410 self-ping answered by the room, anything
 * else (vCard, version, disco...) forwarded to the occupant's real JID with
 * a fresh id and the answer routed back (§18.3).  A nick the sender may not
 * see gets exactly the answer of a nick nobody holds.
 *
 * The answer is the one from the JID we asked, under an id nobody can
 * guess (router_expect_reply): another occupant cannot answer in its place.
 * An error answer never removes the occupant by itself: for an iq to a full
 * JID that is gone, Prosody 0.12 and ejabberd 23.01 answer
 * <service-unavailable/> from that JID (measured; doc/protocol.md), which is
 * also what a client says of a namespace it does not support (RFC 6120
 * 8.4), and a client says item-not-found of a disco node it lacks.  So an
 * error that may mean "gone" only makes the room probe the JID with an empty
 * groupchat message: a server bounces it for a JID without a session, a
 * client ignores it, and the bounce removes the ghost (message.c, §17.3). */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/iq.h"
#include "muc/room.h"
#include "muc/visibility.h"
#include "muc/voice.h"
#include "xmpp/ping.h"
#include "xmpp/xml.h"

#define LOG "muc"
#define FORWARD_TIMEOUT_MS 30000
/* At most one ghost probe per session this often. */
#define PROBE_INTERVAL_S 60

/* One forwarded iq waiting for its answer.  Kept in a list so that the
 * service can free the ones still waiting when it stops. */
struct muc_forward {
    struct muc_forward *prev, *next;
    struct muc *muc;
    char *requester;  /* real full JID that asked */
    char *id;         /* its iq id */
    char *target_jid; /* the real JID we asked */
    char *from;       /* room@D/target-nick: the answer's from */
};

static void forward_free(struct muc_forward *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        f->muc->forwards = f->next;
    if (f->next)
        f->next->prev = f->prev;
    free(f->requester);
    free(f->id);
    free(f->target_jid);
    free(f->from);
    free(f);
}

void muc_forwards_free_all(struct muc *muc)
{
    while (muc->forwards)
        forward_free(muc->forwards);
}

/* Errors a server gives when it cannot deliver to the JID (RFC 6120 8.3.3,
 * §17.3), service-unavailable first: what both servers send for a full JID
 * without a session.  item-not-found is not among them: no server says it
 * of a full JID (measured), clients say it of disco nodes. */
static bool may_mean_gone(const struct stanza_in *in)
{
    xmpp_stanza_t *error = stanza_child(in->st, "error", NULL);
    if (!error)
        return false;
    static const char *const conds[] = {
        "service-unavailable", "recipient-unavailable", "gone", "redirect",
        "remote-server-not-found", "remote-server-timeout", NULL};
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(error); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        const char *ns = name ? xmpp_stanza_get_ns(c) : NULL;
        if (!ns || strcmp(ns, NS_STANZAS) != 0)
            continue;
        for (const char *const *p = conds; *p; p++)
            if (strcmp(name, *p) == 0)
                return true;
    }
    return false;
}

/* An empty groupchat message from room `room_jid` to its occupant's
 * session `jid`, if it is still there and was not probed lately.  A server
 * answers it with an error only if the JID has no session (both servers
 * bounce groupchat to such a JID, RFC 6121 8.5.3.2.1); clients show nothing
 * for a message without a body.  The bounce comes back to message.c as a
 * ghost's. */
static void probe(struct muc *muc, const char *room_jid, const char *jid)
{
    struct muc_session *s = muc_sessions_of(muc, jid);
    while (s && strcmp(s->occ->room->jid, room_jid) != 0)
        s = s->same_jid;
    if (!s)
        return; /* gone already */
    uint32_t now_s = (uint32_t)(loop_now(muc->loop) / 1000) | 1; /* never 0 */
    if (s->probed_s && now_s - s->probed_s < PROBE_INTERVAL_S)
        return;
    char id[ROUTER_ID_SIZE];
    if (router_new_id(muc->router, id, sizeof id) < 0)
        return;
    s->probed_s = now_s;
    struct buf *out = router_out(muc->router);
    buf_append_str(out, "<message type='groupchat'");
    xml_attr(out, "from", room_jid);
    xml_attr(out, "to", jid);
    xml_attr(out, "id", id);
    buf_append_str(out, "><no-store xmlns='urn:xmpp:hints'/></message>");
    log_debug(LOG, "%s: probing a session that may be gone", room_jid);
}

static void on_answer(void *ud, const struct stanza_in *in)
{
    struct muc_forward *f = ud;
    struct muc *muc = f->muc;
    struct buf *out = router_out(muc->router);

    if (!in) {
        buf_append_str(out, "<iq type='error'");
        xml_attr(out, "from", f->from);
        xml_attr(out, "to", f->requester);
        xml_attr(out, "id", f->id);
        buf_append_str(out, "><error type='wait'><remote-server-timeout"
                            " xmlns='" NS_STANZAS "'/></error></iq>");
        forward_free(f);
        return;
    }
    buf_append_str(out, "<iq");
    xml_attr(out, "type", in->type);
    xml_attr(out, "from", f->from);
    xml_attr(out, "to", f->requester);
    xml_attr(out, "id", f->id);
    buf_append_char(out, '>');
    xml_write_children(out, in->st, XML_NS_COMPONENT);
    buf_append_str(out, "</iq>");
    if (in->type && strcmp(in->type, "error") == 0 && may_mean_gone(in)) {
        char room_jid[JID_TEXT_MAX + 1];
        if (muc_bare_of(f->from, room_jid, sizeof room_jid) == 0)
            probe(muc, room_jid, f->target_jid);
    }
    forward_free(f);
}

static bool is_disco(xmpp_stanza_t *payload)
{
    const char *ns = xmpp_stanza_get_ns(payload);
    return ns && (strcmp(ns, NS_DISCO_INFO) == 0 ||
                  strcmp(ns, NS_DISCO_ITEMS) == 0);
}

/* The request goes to the occupant's (first) session from the sender's
 * room JID, under a new id; the answer comes back through on_answer.  0,
 * or -1 (internal-server-error). */
static int forward(struct muc *muc, const struct muc_room *room,
                   const struct stanza_in *in, xmpp_stanza_t *payload,
                   const struct muc_occupant *from,
                   const struct muc_occupant *to)
{
    char sender[JID_TEXT_MAX + 1], target[JID_TEXT_MAX + 1];
    char id[ROUTER_ID_SIZE];
    snprintf(sender, sizeof sender, "%s/%s", room->jid, from->nick);
    snprintf(target, sizeof target, "%s/%s", room->jid, to->nick);
    if (router_new_id(muc->router, id, sizeof id) < 0)
        return -1; /* internal-server-error */
    struct muc_forward *f = calloc(1, sizeof *f);
    if (!f || !(f->requester = strdup(in->from_text)) ||
        !(f->id = strdup(in->id)) || !(f->target_jid = strdup(to->sessions->jid)) ||
        !(f->from = strdup(target))) {
        if (f) {
            free(f->requester);
            free(f->id);
            free(f->target_jid);
            free(f);
        }
        return -1; /* internal-server-error */
    }
    f->muc = muc;
    f->next = muc->forwards;
    if (muc->forwards)
        muc->forwards->prev = f;
    muc->forwards = f;
    if (router_expect_reply(muc->router, id, f->target_jid, FORWARD_TIMEOUT_MS,
                            on_answer, f) < 0) {
        forward_free(f);
        return -1;
    }
    struct buf *out = router_out(muc->router);
    buf_append_str(out, "<iq");
    xml_attr(out, "type", in->type);
    xml_attr(out, "from", sender);
    xml_attr(out, "to", to->sessions->jid);
    xml_attr(out, "id", id);
    buf_append_char(out, '>');
    xml_write_stanza(out, payload, XML_NS_COMPONENT);
    buf_append_str(out, "</iq>");
    return 0;
}

int muc_iq_to_occupant(void *ud, const struct stanza_in *in,
                       xmpp_stanza_t *payload, struct xerr *err)
{
    struct muc *muc = ud;
    struct muc_room *room = muc_room_addressed(muc, in, err);
    if (!room)
        return -1;
    struct muc_session *s = muc_session_find(room, in->from_text);
    if (!s) {
        /* The same answer whatever the nick: nothing to learn here. */
        if (is_disco(payload))
            xerr_set(err, XERR_BAD_REQUEST, "You are not in this room");
        else
            xerr_set(err, XERR_NOT_ACCEPTABLE, "You are not in this room");
        return -1;
    }
    struct muc_occupant *from = s->occ;
    const char *ns = xmpp_stanza_get_ns(payload);
    if (ns && strcmp(ns, NS_PING) == 0 && strcmp(in->type, "get") == 0 &&
        strcmp(from->nick, in->to.resource) == 0) {
        /* XEP-0410 self-ping: answered by the room. */
        struct buf *out = router_out(muc->router);
        stanza_open_reply(out, in, "result");
        buf_append_str(out, "/>");
        return 0;
    }
    if (from->privileged && muc_voice_is(room, in->to.resource)) {
        /* What a client lacking the namespace answers (RFC 6120 8.4). */
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "%s speaks for the room and answers no requests",
                 room->voice);
        return -1;
    }
    struct muc_occupant *to = muc_visible_occupant(room, in->to.resource, from,
                                                   from->privileged);
    if (!to) {
        xerr_set(err, XERR_ITEM_NOT_FOUND,
                 "There is nobody with that nickname here");
        return -1;
    }
    if (muc_pm_check(room, from, to) == MUC_PM_UNSEEN) {
        xerr_set(err, XERR_NOT_ACCEPTABLE,
                 "While observing invisibly you can reach only staff");
        return -1;
    }

    /* Forwarded requests count against the sender's message rate: one
     * occupant cannot flood another's client through the room. */
    if (!rate_bucket_take(&from->rate, (uint32_t)muc->cfg->muc.message_rate,
                          10000, (uint32_t)loop_now(muc->loop))) {
        muc->stats.rate_limited++;
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "You are sending requests too fast; wait a moment");
        return -1;
    }

    return forward(muc, room, in, payload, from, to);
}

int muc_iq_ping_room(void *ud, const struct stanza_in *in,
                     xmpp_stanza_t *payload, struct xerr *err)
{
    struct muc *muc = ud;
    (void)payload;
    struct muc_room *room = muc_room_addressed(muc, in, err);
    if (!room)
        return -1;
    if (strcmp(in->type, "get") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "ping is an iq of type get");
        return -1;
    }
    struct buf *out = router_out(muc->router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "/>");
    return 0;
}
