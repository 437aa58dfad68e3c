/* Ad-hoc commands (XEP-0050): sessions, actions, errors, discovery.  The
 * commands themselves live in the modules that register them. */
#include "build-config.h"

#include "xmpp/adhoc.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "xmpp/form.h"
#include "xmpp/xml.h"

#define LOG "adhoc"
#define SESSION_ID_MAX 33
/* Senders tracked for the per-JID and per-domain caps: only those with a
 * session open, so at most max_sessions; the tables never need more. */
#define TRACKED_MAX(lim) ((lim)->max_sessions ? (lim)->max_sessions : 100000)

struct command_entry {
    struct adhoc_command cmd;
    struct command_entry *next;
};

struct session {
    char id[SESSION_ID_MAX];
    const struct command_entry *entry;
    char *owner;        /* full JID of the requester */
    char *target;       /* room local part, NULL for D */
    unsigned stage;
    unsigned actions;
    unsigned default_action;
    void *data;
    uint64_t expires_ms;
    bool busy;          /* a deferred step has not answered yet */
    /* The expiry list: every request pushes expires_ms to now + ttl, so
     * moving the session to the tail keeps the list in expiry order and
     * the sweep only ever looks at its head. */
    struct session *older, *newer;
    struct budget_holder by_jid, by_domain;
    UT_hash_handle hh;
};

struct adhoc_reply {
    struct adhoc *a;
    char *from, *to, *id, *node, *sid;
    struct buf payload;
    struct adhoc_reply *next, *prev;
};

struct adhoc {
    struct adhoc_reply *deferred;
    struct adhoc_reply *deferring; /* set by adhoc_defer during a step */
    struct loop *loop;
    struct router *router;
    struct disco *disco;
    uint64_t ttl_ms;
    struct adhoc_limits lim;
    struct command_entry *commands;
    struct session *sessions;
    struct session *oldest, *newest; /* the expiry list */
    unsigned session_count;
    struct budget *per_jid, *per_domain;
    uint64_t swept, shed;
    adhoc_class_fn class_fn;
    void *class_ud;
};

static int on_command(void *ud, const struct stanza_in *in,
                      xmpp_stanza_t *payload, struct xerr *err);
static void set_app_error(struct xerr *err, enum xerr_cond cond,
                          const char *app, const char *text);
static void write_reply(struct adhoc *a, const struct stanza_in *in,
                        const char *node, const char *sid,
                        const struct adhoc_step *st);
static int service_items(void *ud, const struct stanza_in *in,
                         const char *node, struct buf *out, struct xerr *err);

struct adhoc *adhoc_new(struct loop *loop, struct router *router,
                        struct disco *disco, const struct adhoc_limits *lim)
{
    struct adhoc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->loop = loop;
    a->router = router;
    a->disco = disco;
    a->ttl_ms = lim->session_ttl_ms;
    a->lim = *lim;
    a->per_jid = budget_new(0, 0, lim->per_jid, TRACKED_MAX(lim));
    a->per_domain = budget_new(0, 0, lim->per_domain, TRACKED_MAX(lim));
    if (!a->per_jid || !a->per_domain) {
        adhoc_free(a);
        return NULL;
    }
    if (router_on_iq(router, ROUTE_SERVICE, NS_COMMANDS, on_command, a) ||
        router_on_iq(router, ROUTE_ROOM, NS_COMMANDS, on_command, a) ||
        disco_add_feature(disco, NS_COMMANDS) ||
        disco_add_items(disco, NS_COMMANDS, service_items, a)) {
        adhoc_free(a);
        return NULL;
    }
    return a;
}

static void expiry_unlink(struct adhoc *a, struct session *s)
{
    if (s->older)
        s->older->newer = s->newer;
    else
        a->oldest = s->newer;
    if (s->newer)
        s->newer->older = s->older;
    else
        a->newest = s->older;
    s->older = s->newer = NULL;
}

static void expiry_append(struct adhoc *a, struct session *s)
{
    s->older = a->newest;
    s->newer = NULL;
    if (a->newest)
        a->newest->newer = s;
    else
        a->oldest = s;
    a->newest = s;
}

/* A request on the session: it lives another ttl, at the young end. */
static void session_touch(struct adhoc *a, struct session *s)
{
    s->expires_ms = loop_now(a->loop) + a->ttl_ms;
    if (a->newest != s) {
        expiry_unlink(a, s);
        expiry_append(a, s);
    }
}

static void session_free(struct adhoc *a, struct session *s)
{
    HASH_DEL(a->sessions, s);
    expiry_unlink(a, s);
    a->session_count--;
    uint64_t now = loop_now(a->loop);
    budget_release(a->per_jid, &s->by_jid, now);
    budget_release(a->per_domain, &s->by_domain, now);
    if (s->data) {
        if (s->entry->cmd.free_data)
            s->entry->cmd.free_data(s->data);
        else
            free(s->data);
    }
    free(s->owner);
    free(s->target);
    free(s);
}

static void reply_free(struct adhoc_reply *r)
{
    struct adhoc *a = r->a;
    if (r->prev)
        r->prev->next = r->next;
    else
        a->deferred = r->next;
    if (r->next)
        r->next->prev = r->prev;
    free(r->from);
    free(r->to);
    free(r->id);
    free(r->node);
    free(r->sid);
    buf_free(&r->payload);
    free(r);
}

static void reply_in(const struct adhoc_reply *r, struct stanza_in *in)
{
    memset(in, 0, sizeof *in);
    in->kind = STANZA_IQ;
    in->name = "iq";
    in->type = "set";
    in->id = r->id;
    in->from_text = r->from;
    in->to_text = r->to;
}

struct adhoc_reply *adhoc_defer(struct adhoc_step *step)
{
    struct adhoc *a = (struct adhoc *)step->adhoc;
    struct adhoc_reply *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->a = a;
    r->from = strdup(step->in->from_text);
    r->to = strdup(step->in->to_text);
    r->id = strdup(step->in->id ? step->in->id : "");
    r->node = strdup(step->node);
    if (!r->from || !r->to || !r->id || !r->node) {
        free(r->from);
        free(r->to);
        free(r->id);
        free(r->node);
        free(r);
        return NULL;
    }
    r->next = a->deferred;
    if (a->deferred)
        a->deferred->prev = r;
    a->deferred = r;
    a->deferring = r;
    return r;
}

struct buf *adhoc_reply_payload(struct adhoc_reply *r)
{
    return &r->payload;
}

static struct session *reply_session(struct adhoc_reply *r)
{
    struct session *s = NULL;
    if (r->sid)
        HASH_FIND_STR(r->a->sessions, r->sid, s);
    return s;
}

static void end_session_of(struct adhoc_reply *r)
{
    struct session *s = reply_session(r);
    if (s)
        session_free(r->a, s);
}

void *adhoc_reply_data(struct adhoc_reply *r)
{
    struct session *s = reply_session(r);
    return s ? s->data : NULL;
}

void adhoc_continue(struct adhoc_reply *r, unsigned next_stage,
                    unsigned actions, unsigned default_action)
{
    struct session *s = reply_session(r);
    if (!s) {
        struct xerr err;
        set_app_error(&err, XERR_NOT_ALLOWED, "session-expired",
                      "The session expired: start again");
        adhoc_fail(r, &err);
        return;
    }
    struct adhoc_step st = {.status = ADHOC_EXECUTING,
                            .actions = actions ? actions : ADHOC_ACT_COMPLETE,
                            .default_action = default_action,
                            .payload = &r->payload};
    if (!(st.actions & st.default_action))
        st.default_action = (st.actions & ADHOC_ACT_COMPLETE)
                                ? ADHOC_ACT_COMPLETE
                                : ADHOC_ACT_NEXT;
    s->busy = false;
    s->stage = next_stage;
    s->actions = st.actions;
    s->default_action = st.default_action;
    session_touch(r->a, s);
    struct stanza_in in;
    reply_in(r, &in);
    write_reply(r->a, &in, r->node, s->id, &st);
    reply_free(r);
}

void adhoc_finish(struct adhoc_reply *r)
{
    end_session_of(r);
    struct buf *out = router_out(r->a->router);
    struct stanza_in in;
    reply_in(r, &in);
    stanza_open_reply(out, &in, "result");
    buf_append_str(out, "><command xmlns='" NS_COMMANDS "' status='completed'");
    xml_attr(out, "node", r->node);
    xml_attr(out, "sessionid", r->sid);
    buf_append_char(out, '>');
    buf_append(out, buf_cstr(&r->payload), r->payload.len);
    buf_append_str(out, "</command></iq>");
    reply_free(r);
}

void adhoc_fail(struct adhoc_reply *r, const struct xerr *err)
{
    end_session_of(r);
    struct stanza_in in;
    reply_in(r, &in);
    stanza_write_error(router_out(r->a->router), &in, err);
    reply_free(r);
}

void adhoc_free(struct adhoc *a)
{
    if (!a)
        return;
    while (a->deferred) {
        struct xerr err;
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE, "The service is stopping");
        adhoc_fail(a->deferred, &err);
    }
    struct session *s, *tmp;
    HASH_ITER(hh, a->sessions, s, tmp) {
        session_free(a, s);
    }
    budget_free(a->per_jid);
    budget_free(a->per_domain);
    struct command_entry *e = a->commands;
    while (e) {
        struct command_entry *next = e->next;
        free(e);
        e = next;
    }
    free(a);
}

void adhoc_set_session_ttl(struct adhoc *a, uint64_t session_ttl_ms)
{
    a->ttl_ms = session_ttl_ms;
}

void adhoc_set_class_lookup(struct adhoc *a, adhoc_class_fn fn, void *ud)
{
    a->class_fn = fn;
    a->class_ud = ud;
}

unsigned adhoc_session_count(const struct adhoc *a)
{
    return a->session_count;
}

void adhoc_session_stats(const struct adhoc *a, uint64_t *swept,
                         uint64_t *shed)
{
    *swept = a->swept;
    *shed = a->shed;
}

static bool same_target(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static const struct command_entry *find_command(const struct adhoc *a,
                                                const char *node,
                                                const char *cls)
{
    for (const struct command_entry *e = a->commands; e; e = e->next)
        if (strcmp(e->cmd.node, node) == 0 &&
            same_target(e->cmd.target_class, cls))
            return e;
    return NULL;
}

static int node_info(void *ud, const struct stanza_in *in, const char *node,
                     struct buf *out, struct xerr *err);

int adhoc_register(struct adhoc *a, const struct adhoc_command *cmd)
{
    if (!cmd->node || !cmd->step ||
        find_command(a, cmd->node, cmd->target_class))
        return -1;
    struct command_entry *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->cmd = *cmd;
    /* Kept in registration order: disco#items lists them that way. */
    struct command_entry **tail = &a->commands;
    while (*tail)
        tail = &(*tail)->next;
    *tail = e;
    if (!cmd->target_class &&
        disco_add_node_info(a->disco, cmd->node, node_info, a) < 0)
        return -1;
    return 0;
}

int adhoc_register_all(struct adhoc *a, const struct adhoc_command *cmds,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (adhoc_register(a, &cmds[i]) < 0)
            return -1;
    return 0;
}

void adhoc_note(struct adhoc_step *step, const char *type, const char *fmt,
                ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    utf8_vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    buf_append_str(step->payload, "<note");
    xml_attr(step->payload, "type", type);
    buf_append_char(step->payload, '>');
    xml_text(step->payload, text);
    buf_append_str(step->payload, "</note>");
}

/* ---- who sees what -------------------------------------------------------------- */

static const char *room_class(const struct adhoc *a, const char *local)
{
    return a->class_fn && local ? a->class_fn(a->class_ud, local) : NULL;
}

static bool visible_to(const struct command_entry *e, const char *asker,
                       const char *target)
{
    return !e->cmd.visible || e->cmd.visible(e->cmd.ud, asker, target);
}

static void write_items(const struct adhoc *a, const char *cls,
                        const char *jid, const char *asker, const char *target,
                        struct buf *out)
{
    for (const struct command_entry *e = a->commands; e; e = e->next) {
        if (!same_target(e->cmd.target_class, cls) ||
            !visible_to(e, asker, target))
            continue;
        buf_append_str(out, "<item");
        xml_attr(out, "jid", jid);
        xml_attr(out, "node", e->cmd.node);
        xml_attr(out, "name", e->cmd.name ? e->cmd.name : e->cmd.node);
        buf_append_str(out, "/>");
    }
}

static int service_items(void *ud, const struct stanza_in *in,
                         const char *node, struct buf *out, struct xerr *err)
{
    struct adhoc *a = ud;
    char asker[JID_TEXT_MAX + 1];
    (void)node;
    (void)err;
    jid_bare_text(&in->from, asker, sizeof asker);
    write_items(a, NULL, in->to.domain, asker, NULL, out);
    return 0;
}

int adhoc_room_node_items(void *ud, const struct stanza_in *in,
                          const char *node, struct buf *out, struct xerr *err)
{
    struct adhoc *a = ud;
    const char *cls = room_class(a, in->to.local);
    if (strcmp(node, NS_COMMANDS) != 0 || !cls) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such node");
        return -1;
    }
    char asker[JID_TEXT_MAX + 1], jid[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, asker, sizeof asker);
    jid_bare_text(&in->to, jid, sizeof jid);
    write_items(a, cls, jid, asker, in->to.local, out);
    return 0;
}

static int write_node_info(const struct command_entry *e, const char *asker,
                           const char *target, struct buf *out,
                           struct xerr *err)
{
    if (!e || !visible_to(e, asker, target)) {
        /* Whether a command exists is not told to who may not run it. */
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such node");
        return -1;
    }
    buf_append_str(out, "<identity category='automation' type='command-node'");
    xml_attr(out, "name", e->cmd.name ? e->cmd.name : e->cmd.node);
    buf_append_str(out, "/>");
    disco_write_feature(out, NS_COMMANDS);
    disco_write_feature(out, NS_DATA_FORMS);
    return 0;
}

static int node_info(void *ud, const struct stanza_in *in, const char *node,
                     struct buf *out, struct xerr *err)
{
    struct adhoc *a = ud;
    char asker[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, asker, sizeof asker);
    return write_node_info(find_command(a, node, NULL), asker, NULL, out, err);
}

int adhoc_room_node_info(void *ud, const struct stanza_in *in,
                         const char *node, struct buf *out, struct xerr *err)
{
    struct adhoc *a = ud;
    const char *cls = room_class(a, in->to.local);
    char asker[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, asker, sizeof asker);
    if (cls && strcmp(node, NS_COMMANDS) == 0) {
        buf_append_str(out, "<identity category='automation' type='command-list'/>");
        return 0;
    }
    return write_node_info(cls ? find_command(a, node, cls) : NULL, asker,
                           in->to.local, out, err);
}

bool adhoc_room_has_commands(const struct adhoc *a, const char *local)
{
    const char *cls = room_class(a, local);
    if (!cls)
        return false;
    for (const struct command_entry *e = a->commands; e; e = e->next)
        if (same_target(e->cmd.target_class, cls))
            return true;
    return false;
}

/* ---- executing --------------------------------------------------------------------- */

static void set_app_error(struct xerr *err, enum xerr_cond cond,
                          const char *app, const char *text)
{
    xerr_set(err, cond, "%s", text);
    err->app_ns = NS_COMMANDS;
    err->app_condition = app;
}

/* Ends the sessions past their second period, from the oldest: each is
 * looked at once when it goes, and the first live one stops the sweep. */
static void sweep(struct adhoc *a)
{
    uint64_t now = loop_now(a->loop);
    while (a->oldest) {
        a->swept++;
        /* Expired sessions are remembered for one more period, so that a
         * late request hears "session-expired" rather than "bad-sessionid". */
        if (now <= a->oldest->expires_ms + a->ttl_ms)
            break;
        session_free(a, a->oldest);
    }
}

/* Links s to its sender's and its domain's counts, ending the oldest
 * session of the same JID (then domain) at the cap.  0, or -1 if the
 * tables are full of senders (each with a session open). */
static int session_count_in(struct adhoc *a, struct session *s,
                            const struct stanza_in *in)
{
    char bare[JID_TEXT_MAX + 1];
    if (jid_bare_text(&in->from, bare, sizeof bare) < 0)
        return -1;
    uint64_t now = loop_now(a->loop);
    struct { struct budget *t; const char *key; struct budget_holder *h; }
        caps[] = {{a->per_jid, bare, &s->by_jid},
                  {a->per_domain, in->from.domain, &s->by_domain}};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        enum budget_verdict v;
        while ((v = budget_hold(caps[i].t, caps[i].key, caps[i].h, now)) ==
               BUDGET_EXCEEDED) {
            struct budget_holder *old = budget_oldest(caps[i].t, caps[i].key);
            if (!old)
                return -1;
            struct session *victim =
                i == 0 ? BUDGET_OWNER(old, struct session, by_jid)
                       : BUDGET_OWNER(old, struct session, by_domain);
            a->shed++;
            session_free(a, victim);
        }
        if (v != BUDGET_OK)
            return -1;
    }
    return 0;
}

/* A session that never made it into the lists. */
static void session_discard(struct adhoc *a, struct session *s)
{
    uint64_t now = loop_now(a->loop);
    budget_release(a->per_jid, &s->by_jid, now);
    budget_release(a->per_domain, &s->by_domain, now);
    free(s->owner);
    free(s->target);
    free(s);
}

static struct session *session_new(struct adhoc *a,
                                   const struct command_entry *e,
                                   const struct stanza_in *in,
                                   const char *target)
{
    sweep(a);
    if (a->lim.max_sessions && a->session_count >= a->lim.max_sessions &&
        a->oldest) {
        a->shed++;
        session_free(a, a->oldest);
    }
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    /* Counted before it is listed: session_free() undoes both. */
    if (session_count_in(a, s, in) < 0) {
        session_discard(a, s);
        return NULL;
    }
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        session_discard(a, s);
        return NULL;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
    s->entry = e;
    s->owner = strdup(in->from_text);
    s->target = target ? strdup(target) : NULL;
    if (!s->owner || (target && !s->target)) {
        session_discard(a, s);
        return NULL;
    }
    s->expires_ms = loop_now(a->loop) + a->ttl_ms;
    HASH_ADD_STR(a->sessions, id, s);
    expiry_append(a, s);
    a->session_count++;
    return s;
}

static const char *action_name(unsigned bit)
{
    switch (bit) {
    case ADHOC_ACT_NEXT: return "next";
    case ADHOC_ACT_PREV: return "prev";
    default: return "complete";
    }
}

static void write_reply(struct adhoc *a, const struct stanza_in *in,
                        const char *node, const char *sid,
                        const struct adhoc_step *st)
{
    struct buf *out = router_out(a->router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><command xmlns='" NS_COMMANDS "'");
    xml_attr(out, "node", node);
    xml_attr(out, "sessionid", sid);
    xml_attr(out, "status",
             st->status == ADHOC_EXECUTING  ? "executing"
             : st->status == ADHOC_CANCELED ? "canceled"
                                            : "completed");
    buf_append_char(out, '>');
    if (st->status == ADHOC_EXECUTING) {
        buf_append_str(out, "<actions");
        xml_attr(out, "execute", action_name(st->default_action));
        buf_append_char(out, '>');
        if (st->actions & ADHOC_ACT_PREV)
            buf_append_str(out, "<prev/>");
        if (st->actions & ADHOC_ACT_NEXT)
            buf_append_str(out, "<next/>");
        if (st->actions & ADHOC_ACT_COMPLETE)
            buf_append_str(out, "<complete/>");
        buf_append_str(out, "</actions>");
    }
    buf_append(out, buf_cstr(st->payload), st->payload->len);
    buf_append_str(out, "</command></iq>");
}

/* Runs one step; on EXECUTING records what the session offers next. */
static int run_step(const struct command_entry *e, struct session *s,
                    struct adhoc_step *st, struct xerr *err)
{
    struct adhoc *a = (struct adhoc *)st->adhoc;
    a->deferring = NULL;
    st->deferred_out = false;
    st->status = ADHOC_COMPLETED;
    st->next_stage = s->stage;
    st->actions = 0;
    st->default_action = 0;
    st->data = s->data;
    int rc = e->cmd.step(e->cmd.ud, st, err);
    s->data = st->data;
    if (a->deferring) {
        if (rc < 0) {
            /* Deferred and failed at once: the caller answers. */
            reply_free(a->deferring);
            a->deferring = NULL;
            return -1;
        }
        st->deferred_out = true;
        a->deferring->sid = strdup(s->id);
        a->deferring = NULL;
        return 0;
    }
    if (rc < 0)
        return -1;
    if (st->status == ADHOC_EXECUTING) {
        if (!st->actions)
            st->actions = ADHOC_ACT_COMPLETE;
        if (!st->default_action || !(st->actions & st->default_action))
            st->default_action = (st->actions & ADHOC_ACT_COMPLETE)
                                     ? ADHOC_ACT_COMPLETE
                                     : ADHOC_ACT_NEXT;
        s->stage = st->next_stage;
        s->actions = st->actions;
        s->default_action = st->default_action;
    }
    return 0;
}

static int parse_action(const char *text, unsigned *bit, bool *cancel,
                        bool *execute)
{
    *cancel = *execute = false;
    *bit = 0;
    if (!text || strcmp(text, "execute") == 0)
        *execute = true;
    else if (strcmp(text, "next") == 0)
        *bit = ADHOC_ACT_NEXT;
    else if (strcmp(text, "prev") == 0)
        *bit = ADHOC_ACT_PREV;
    else if (strcmp(text, "complete") == 0)
        *bit = ADHOC_ACT_COMPLETE;
    else if (strcmp(text, "cancel") == 0)
        *cancel = true;
    else
        return -1;
    return 0;
}

/* One <command/> as asked: which command, by whom, for which room, and
 * what to do with the session. */
struct command_request {
    const char *node;
    const char *target; /* room local part, or NULL: the service */
    const char *sid;    /* NULL: start a session */
    const struct command_entry *e;
    char asker[JID_TEXT_MAX + 1];
    unsigned bit;       /* the action asked for */
    bool cancel, execute;
    xmpp_stanza_t *form; /* a submitted form, or NULL */
};

/* How a step went: the reply is still to write (RAN), or an error is set
 * with the session kept (REFUSED: not ours, or a deferred step still
 * answers) or freed (FAILED), or the answer is already written. */
enum step_outcome { STEP_RAN, STEP_REFUSED, STEP_FAILED, STEP_ANSWERED };

/* Reads and checks the request: the command exists for this address and
 * the asker may see it, the action is known.  0 or -1 with *err set. */
static int read_request(struct adhoc *a, const struct stanza_in *in,
                        xmpp_stanza_t *payload, struct command_request *r,
                        struct xerr *err)
{
    if (strcmp(in->type, "set") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Commands are run with iq set");
        return -1;
    }
    r->node = stanza_attr(payload, "node");
    if (!r->node || !r->node[0]) {
        xerr_set(err, XERR_BAD_REQUEST, "node: missing");
        return -1;
    }
    r->target = jid_has_local(&in->to) ? in->to.local : NULL;
    const char *cls = NULL;
    if (r->target && !(cls = room_class(a, r->target))) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such command");
        return -1;
    }
    jid_bare_text(&in->from, r->asker, sizeof r->asker);
    r->e = find_command(a, r->node, cls);
    if (!r->e) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such command");
        return -1;
    }
    if (!visible_to(r->e, r->asker, r->target)) {
        xerr_set(err, XERR_FORBIDDEN, "You are not allowed to do that");
        return -1;
    }
    if (parse_action(stanza_attr(payload, "action"), &r->bit, &r->cancel,
                     &r->execute) < 0) {
        set_app_error(err, XERR_BAD_REQUEST, "malformed-action",
                      "Unknown action");
        return -1;
    }
    r->sid = stanza_attr(payload, "sessionid");
    r->form = form_find(payload);
    if (r->form && strcmp(form_type(r->form), "submit") != 0)
        r->form = NULL;
    if (r->form && form_type(r->form)[0] &&
        strcmp(form_type(r->form), "cancel") == 0)
        r->cancel = true;
    return 0;
}

/* No session id: a new session, its first step (and the second at once
 * when a script sent the answers with its first request). */
static enum step_outcome first_step(struct adhoc *a,
                                    const struct command_request *r,
                                    const struct stanza_in *in,
                                    struct adhoc_step *st, struct session **sp,
                                    struct xerr *err)
{
    if (!r->execute) {
        set_app_error(err, XERR_BAD_REQUEST, "bad-sessionid",
                      "No session to act on");
        return STEP_REFUSED;
    }
    struct session *s = *sp = session_new(a, r->e, in, r->target);
    if (!s) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "Too many command sessions are open right now; please "
                 "try again later");
        return STEP_REFUSED;
    }
    st->stage = 0;
    st->form = NULL;
    if (run_step(r->e, s, st, err) < 0)
        return STEP_FAILED;
    if (r->form && st->status == ADHOC_EXECUTING && !st->deferred_out) {
        buf_reset(st->payload);
        st->stage = s->stage;
        st->form = r->form;
        if (run_step(r->e, s, st, err) < 0)
            return STEP_FAILED;
    }
    return STEP_RAN;
}

/* A session id: the asker's own live session of this command, not busy;
 * cancel, go back, or on. */
static enum step_outcome next_step(struct adhoc *a,
                                   const struct command_request *r,
                                   const struct stanza_in *in,
                                   struct adhoc_step *st, struct session **sp,
                                   struct xerr *err)
{
    struct session *s;
    HASH_FIND_STR(a->sessions, r->sid, s);
    if (!s || strcmp(s->owner, in->from_text) != 0 || s->entry != r->e ||
        !same_target(s->target, r->target)) {
        set_app_error(err, XERR_BAD_REQUEST, "bad-sessionid",
                      "Unknown session");
        return STEP_REFUSED;
    }
    if (s->busy) {
        /* Not freed: the deferred step still answers. */
        xerr_set(err, XERR_UNEXPECTED_REQUEST,
                 "The previous step has not answered yet");
        return STEP_REFUSED;
    }
    *sp = s;
    if (loop_now(a->loop) > s->expires_ms) {
        set_app_error(err, XERR_NOT_ALLOWED, "session-expired",
                      "The session expired: start again");
        return STEP_FAILED;
    }
    if (r->cancel) {
        st->status = ADHOC_CANCELED;
        write_reply(a, in, r->node, s->id, st);
        session_free(a, s);
        *sp = NULL;
        return STEP_ANSWERED;
    }
    unsigned bit = r->execute ? s->default_action : r->bit;
    if (!(bit & s->actions)) {
        set_app_error(err, XERR_BAD_REQUEST, "bad-action",
                      "That action is not offered here");
        return STEP_FAILED;
    }
    session_touch(a, s);
    if (bit == ADHOC_ACT_PREV) {
        st->stage = s->stage ? s->stage - 1 : 0;
        s->stage = st->stage;
        st->form = NULL;
    } else {
        st->stage = s->stage;
        st->form = r->form;
    }
    return run_step(r->e, s, st, err) < 0 ? STEP_FAILED : STEP_RAN;
}

/* After a step ran: the reply now, or later from a deferred step.  0 or -1
 * (the session is then freed). */
static int reply_step(struct adhoc *a, const struct command_request *r,
                      const struct stanza_in *in, struct session *s,
                      struct adhoc_step *st, struct xerr *err)
{
    if (st->deferred_out) {
        /* The reply (adhoc_finish, _fail or _continue) ends or goes on
         * with the session. */
        s->busy = true;
        return 0;
    }
    if (buf_failed(st->payload)) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        session_free(a, s);
        return -1;
    }
    if (st->status == ADHOC_COMPLETED && r->cancel)
        st->status = ADHOC_CANCELED;
    write_reply(a, in, r->node, s->id, st);
    if (st->status != ADHOC_EXECUTING)
        session_free(a, s);
    return 0;
}

static int on_command(void *ud, const struct stanza_in *in,
                      xmpp_stanza_t *payload, struct xerr *err)
{
    struct adhoc *a = ud;
    struct command_request r;
    memset(&r, 0, sizeof r);
    if (read_request(a, in, payload, &r, err) < 0)
        return -1;
    struct buf payload_buf = BUF_INIT;
    struct adhoc_step st = {.in = in, .node = r.node, .asker = r.asker,
                            .target = r.target, .payload = &payload_buf,
                            .adhoc = a};
    struct session *s = NULL;
    int rc = -1;
    switch (r.sid ? next_step(a, &r, in, &st, &s, err)
                  : first_step(a, &r, in, &st, &s, err)) {
    case STEP_RAN:
        rc = reply_step(a, &r, in, s, &st, err);
        break;
    case STEP_ANSWERED:
        rc = 0;
        break;
    case STEP_FAILED:
        if (s)
            session_free(a, s);
        break;
    case STEP_REFUSED:
        break;
    }
    buf_free(&payload_buf);
    return rc;
}
