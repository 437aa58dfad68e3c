/* Unit tests: MUC flows through the router without a network (stanzas
 * parsed from text, replies read from the link's output buffer), with a
 * scripted archive standing in for store/archive.c.  The same behaviours
 * are tested end to end by tests/harness and tests/integration; these run
 * in milliseconds under the sanitizers. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/loop.h"
#include "muc/muc.h"
#include "xmpp/disco.h"
#include "xmpp/link.h"
#include "xmpp/router.h"

/* ---- a scripted archive ------------------------------------------------------------- */

struct archive {
    uint64_t appended;
    uint64_t durable;
    void (*on_durable)(void *ud, uint64_t seq);
    void *ud;
    int events[64]; /* kinds appended */
    bool staff_only[64];
    char bodies[64][64];
    bool refuse;
    /* the last query */
    struct archive_query q;
    void (*answer)(void *ud, const struct archive_page *page);
    void *answer_ud;
};

static uint64_t fake_append(struct archive *a, const struct archive_event *ev)
{
    if (a->refuse)
        return 0;
    if (a->appended < 64) {
        a->events[a->appended] = (int)ev->kind;
        a->staff_only[a->appended] = ev->staff_only;
        snprintf(a->bodies[a->appended], 64, "%s", ev->body ? ev->body : "");
    }
    return ++a->appended;
}

static uint64_t fake_durable(const struct archive *a) { return a->durable; }

static void fake_on_durable(struct archive *a, void (*fn)(void *, uint64_t),
                            void *ud)
{
    a->on_durable = fn;
    a->ud = ud;
}

static int fake_query(struct archive *a, const struct archive_query *q,
                      void (*fn)(void *, const struct archive_page *), void *ud)
{
    a->q = *q;
    a->answer = fn;
    a->answer_ud = ud;
    return 0;
}

static void make_durable(struct archive *a, uint64_t seq)
{
    a->durable = seq;
    a->on_durable(a->ud, seq);
}

/* ---- fixture ---------------------------------------------------------------------------- */

struct fixture {
    struct config cfg;
    struct loop *loop;
    struct link *link;
    struct router *router;
    struct disco *disco;
    struct archive archive;
    struct muc *muc;
};

static struct fixture f;

static const char *const config_text =
    "[component]\njid = support.localhost\nsecret = s3cret\n"
    "[database]\nconninfo = dbname=none\n"
    "[service]\nadmins = admin@localhost\n"
    "[muc]\nmax_body_size = 100\nmessage_rate = 3\nmax_occupants = 4\n"
    "history_size = 5\n";

static int setup(void **state)
{
    memset(&f, 0, sizeof f);
    char path[] = "/tmp/mucdesk-test-muc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, config_text, strlen(config_text)),
                     (ssize_t)strlen(config_text));
    close(fd);
    struct config_error err;
    assert_int_equal(config_load(path, &f.cfg, &err), 0);
    unlink(path);
    f.loop = loop_new();
    struct link_config lc = {"support.localhost", "s3cret", "127.0.0.1", 5347,
                             30000};
    struct link_events ev = {0};
    f.link = link_new(f.loop, &lc, &ev);
    f.router = router_new(f.loop, f.link, "support.localhost");
    f.disco = disco_new(f.router, "Support");
    struct muc_archive arch = {&f.archive, fake_append, fake_durable,
                               fake_on_durable, fake_query};
    f.muc = muc_new(f.loop, f.router, f.disco, NULL, &arch, &f.cfg);
    assert_non_null(f.muc);
    assert_int_equal(muc_start(f.muc), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    muc_free(f.muc);
    disco_free(f.disco);
    router_free(f.router);
    link_free(f.link);
    loop_free(f.loop);
    config_free(&f.cfg);
    return 0;
}

/* Dispatches one stanza; returns everything written in reply. */
static const char *send_xml(const char *xml)
{
    buf_reset(link_out(f.link));
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(link_strophe(f.link), xml);
    assert_non_null(st);
    router_dispatch(f.router, st);
    xmpp_stanza_release(st);
    return buf_cstr(link_out(f.link));
}

static const char *sendf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static const char *sendf(const char *fmt, ...)
{
    char xml[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(xml, sizeof xml, fmt, ap);
    va_end(ap);
    return send_xml(xml);
}

/* room_nick: "room/nick" */
static const char *join(const char *from, const char *room_nick)
{
    const char *slash = strchr(room_nick, '/');
    return sendf("<presence from='%s' to='%.*s@support.localhost/%s'>"
                 "<x xmlns='http://jabber.org/protocol/muc'/></presence>",
                 from, (int)(slash - room_nick), room_nick, slash + 1);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The stanzas in `out` addressed to `to` (concatenated), for checks that
 * one recipient saw or did not see something. */
static char *to_only(const char *out, const char *to)
{
    size_t cap = strlen(out) + 1;
    char *res = calloc(1, cap);
    char needle[256];
    snprintf(needle, sizeof needle, " to='%s'", to);
    const char *p = out;
    while (*p) {
        const char *start = p;
        /* top-level stanzas start with '<' followed by presence/message/iq */
        const char *next = strstr(p + 1, "<presence");
        const char *m = strstr(p + 1, "<message");
        const char *i = strstr(p + 1, "<iq");
        /* nested <message> inside MAM results is not top-level; tests that
         * use to_only do not mix MAM in. */
        if (m && (!next || m < next))
            next = m;
        if (i && (!next || i < next))
            next = i;
        size_t len = next ? (size_t)(next - start) : strlen(start);
        const char *gt = memchr(start, '>', len);
        if (gt) {
            size_t head = (size_t)(gt - start);
            char *h = strndup(start, head);
            if (strstr(h, needle))
                strncat(res, start, len);
            free(h);
        }
        p = start + len;
    }
    return res;
}

static void create_plain_room(const char *name)
{
    char rn[128];
    snprintf(rn, sizeof rn, "%s/owner", name);
    const char *out = join("admin@localhost/a", rn);
    assert_non_null(strstr(out, "<status code='201'/>"));
    out = sendf("<iq type='set' id='c1' from='admin@localhost/a' "
                "to='%s@support.localhost'><query "
                "xmlns='http://jabber.org/protocol/muc#owner'><x "
                "xmlns='jabber:x:data' type='submit'/></query></iq>",
                name);
    assert_non_null(strstr(out, "type='result'"));
}

/* ---- plain rooms: creation and entering ---------------------------------------------------- */

static void test_only_admins_create_rooms(void **state)
{
    (void)state;
    const char *out = join("user@localhost/r", "newroom/me");
    assert_non_null(strstr(out, "type='error'"));
    assert_non_null(strstr(out, "<not-allowed"));
    assert_null(muc_room_find(f.muc, "newroom"));
}

static void test_instant_room_and_join_order(void **state)
{
    (void)state;
    const char *out = join("admin@localhost/a", "team/boss");
    assert_non_null(strstr(out, "affiliation='owner' role='moderator'"));
    assert_non_null(strstr(out, "<status code='110'/>"));
    assert_non_null(strstr(out, "<status code='201'/>"));
    /* Locked until configured: others may not enter. */
    out = join("admin2@localhost/x", "team/other");
    assert_non_null(strstr(out, "<item-not-found"));
    out = send_xml("<iq type='set' id='c1' from='admin@localhost/a' "
                   "to='team@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/muc#owner'><x "
                   "xmlns='jabber:x:data' type='submit'/></query></iq>");
    assert_non_null(strstr(out, "type='result'"));

    sendf("<message type='groupchat' from='admin@localhost/a' "
          "to='team@support.localhost' id='m1'><body>hello</body></message>");
    make_durable(&f.archive, f.archive.appended);
    sendf("<message type='groupchat' from='admin@localhost/a' "
          "to='team@support.localhost'><subject>Topic</subject></message>");
    make_durable(&f.archive, f.archive.appended);

    out = join("bob@localhost/b", "team/bob");
    const char *others = strstr(out, "from='team@support.localhost/boss'");
    const char *self = strstr(out, "<status code='110'/>");
    const char *history = strstr(out, "<body>hello</body>");
    const char *subject = strstr(out, "<subject>Topic</subject>");
    assert_non_null(others);
    assert_non_null(self);
    assert_non_null(history);
    assert_non_null(subject);
    assert_true(others < self);
    assert_true(self < history);
    assert_true(history < subject);
    assert_non_null(strstr(history, "<delay xmlns='urn:xmpp:delay' "
                                    "from='team@support.localhost'"));
    /* The owner saw bob arrive; bob's self-presence has 170 (archived). */
    char *to_owner = to_only(out, "admin@localhost/a");
    assert_non_null(strstr(to_owner, "from='team@support.localhost/bob'"));
    assert_null(strstr(to_owner, "code='110'"));
    free(to_owner);
    assert_non_null(strstr(out, "<status code='170'/>"));
    /* Semi-anonymous by default: bob (participant) does not see JIDs. */
    char *to_bob = to_only(out, "bob@localhost/b");
    assert_null(strstr(to_bob, "jid='admin@localhost/a'"));
    free(to_bob);
}

static void test_nick_conflict_and_multi_session(void **state)
{
    (void)state;
    create_plain_room("lobby");
    join("bob@localhost/b", "lobby/bob");
    const char *out = join("eve@localhost/e", "lobby/bob");
    assert_non_null(strstr(out, "<conflict"));
    assert_non_null(strstr(out, "type='error'"));
    /* Bob's second client gets the same nick. */
    out = join("bob@localhost/phone", "lobby/bob");
    assert_null(strstr(out, "<conflict"));
    assert_non_null(strstr(out, "to='bob@localhost/phone'"));
    assert_non_null(strstr(out, "<status code='110'/>"));
    struct muc_room *room = muc_room_find(f.muc, "lobby");
    assert_int_equal(muc_room_occupant_count(room), 2);
    /* Messages reach both of bob's clients. */
    out = sendf("<message type='groupchat' from='admin@localhost/a' "
                "to='lobby@support.localhost'><body>hi</body></message>");
    make_durable(&f.archive, f.archive.appended);
    out = buf_cstr(link_out(f.link));
    assert_non_null(strstr(out, "to='bob@localhost/b'"));
    assert_non_null(strstr(out, "to='bob@localhost/phone'"));
}

static void test_nick_change(void **state)
{
    (void)state;
    create_plain_room("nicks");
    join("bob@localhost/b", "nicks/bob");
    const char *out = sendf("<presence from='bob@localhost/b' "
                            "to='nicks@support.localhost/robert'/>");
    assert_non_null(strstr(out, "type='unavailable'"));
    assert_non_null(strstr(out, "nick='robert'"));
    assert_non_null(strstr(out, "<status code='303'/>"));
    assert_non_null(strstr(out, "from='nicks@support.localhost/robert'"));
    struct muc_room *room = muc_room_find(f.muc, "nicks");
    assert_non_null(muc_room_find_occupant(room, "robert"));
    assert_null(muc_room_find_occupant(room, "bob"));
    /* Taking the owner's nick: conflict. */
    out = sendf("<presence from='bob@localhost/b' "
                "to='nicks@support.localhost/owner'/>");
    assert_non_null(strstr(out, "<conflict"));
}

static void test_leave_kick_ban_destroy(void **state)
{
    (void)state;
    create_plain_room("k");
    join("bob@localhost/b", "k/bob");
    join("eve@localhost/e", "k/eve");
    /* kick eve */
    const char *out = send_xml(
        "<iq type='set' id='k1' from='admin@localhost/a' "
        "to='k@support.localhost'><query "
        "xmlns='http://jabber.org/protocol/muc#admin'><item nick='eve' "
        "role='none'><reason>spam</reason></item></query></iq>");
    assert_non_null(strstr(out, "type='result'"));
    assert_int_equal(count(out, "<status code='307'/>"), 3);
    assert_non_null(strstr(out, "<reason>spam</reason>"));
    /* ban bob */
    out = send_xml("<iq type='set' id='k2' from='admin@localhost/a' "
                   "to='k@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/muc#admin'><item "
                   "jid='bob@localhost' affiliation='outcast'/></query></iq>");
    assert_non_null(strstr(out, "<status code='301'/>"));
    out = join("bob@localhost/b", "k/bob");
    assert_non_null(strstr(out, "<forbidden"));
    /* the ban list */
    out = send_xml("<iq type='get' id='k3' from='admin@localhost/a' "
                   "to='k@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/muc#admin'><item "
                   "affiliation='outcast'/></query></iq>");
    assert_non_null(strstr(out, "jid='bob@localhost'"));
    /* a participant may not read it */
    join("carl@localhost/c", "k/carl");
    out = send_xml("<iq type='get' id='k4' from='carl@localhost/c' "
                   "to='k@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/muc#admin'><item "
                   "affiliation='outcast'/></query></iq>");
    assert_non_null(strstr(out, "<forbidden"));
    /* leave */
    out = sendf("<presence type='unavailable' from='carl@localhost/c' "
                "to='k@support.localhost/carl'/>");
    assert_int_equal(count(out, "type='unavailable'"), 2);
    /* destroy */
    join("dan@localhost/d", "k/dan");
    out = send_xml("<iq type='set' id='k5' from='admin@localhost/a' "
                   "to='k@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/muc#owner'><destroy "
                   "jid='other@support.localhost'><reason>bye</reason>"
                   "</destroy></query></iq>");
    assert_int_equal(count(out, "<destroy jid='other@support.localhost'>"), 2);
    /* each occupant hears only of itself */
    char *to_dan = to_only(out, "dan@localhost/d");
    assert_int_equal(count(to_dan, "<presence"), 1);
    assert_non_null(strstr(to_dan, "from='k@support.localhost/dan'"));
    free(to_dan);
    assert_null(muc_room_find(f.muc, "k"));
}

static void test_limits(void **state)
{
    (void)state;
    create_plain_room("lim");
    join("bob@localhost/b", "lim/bob");
    /* body size */
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *out = sendf("<message type='groupchat' from='bob@localhost/b' "
                            "to='lim@support.localhost'><body>%s</body>"
                            "</message>", big);
    assert_non_null(strstr(out, "<policy-violation"));
    /* rate: 3 per 10 s, bursts of 3 */
    for (int i = 0; i < 3; i++) {
        out = sendf("<message type='groupchat' from='bob@localhost/b' "
                    "to='lim@support.localhost'><body>m%d</body></message>",
                    i);
        assert_null(strstr(out, "type='error'"));
    }
    out = sendf("<message type='groupchat' from='bob@localhost/b' "
                "to='lim@support.localhost'><body>too many</body></message>");
    assert_non_null(strstr(out, "<resource-constraint"));
    /* max occupants 4: owner, bob, two more; the fifth is refused */
    join("c@localhost/c", "lim/c");
    join("d@localhost/d", "lim/d");
    out = join("e@localhost/e", "lim/e");
    assert_non_null(strstr(out, "<service-unavailable"));
    assert_non_null(strstr(out, "type='wait'"));
}

static void test_ghost_removed_everywhere(void **state)
{
    (void)state;
    create_plain_room("g1");
    create_plain_room("g2");
    join("bob@localhost/b", "g1/bob");
    join("bob@localhost/b", "g2/bob");
    const char *out = send_xml(
        "<message type='error' from='bob@localhost/b' "
        "to='g1@support.localhost/owner'><error type='cancel'>"
        "<recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "</error></message>");
    /* Each room: the owner hears of it, and bob's address gets its own
     * removal (110 + 333) in case it is still there. */
    assert_int_equal(count(out, "<status code='333'/>"), 4);
    assert_null(muc_room_find_occupant(muc_room_find(f.muc, "g1"), "bob"));
    assert_null(muc_room_find_occupant(muc_room_find(f.muc, "g2"), "bob"));
}

static void test_durability_holds_messages(void **state)
{
    (void)state;
    create_plain_room("dur");
    join("bob@localhost/b", "dur/bob");
    make_durable(&f.archive, f.archive.appended);
    const char *out = sendf("<message type='groupchat' from='bob@localhost/b' "
                            "to='dur@support.localhost' id='x1'><body>one"
                            "</body></message>");
    assert_null(strstr(out, "<body>one</body>")); /* held */
    out = sendf("<message type='groupchat' from='bob@localhost/b' "
                "to='dur@support.localhost' id='x2'><body>two</body>"
                "</message>");
    assert_null(strstr(out, "<body>"));
    buf_reset(link_out(f.link));
    make_durable(&f.archive, f.archive.appended - 1);
    out = buf_cstr(link_out(f.link));
    assert_int_equal(count(out, "<body>one</body>"), 2);
    assert_null(strstr(out, "<body>two</body>"));
    buf_reset(link_out(f.link));
    make_durable(&f.archive, f.archive.appended);
    out = buf_cstr(link_out(f.link));
    assert_int_equal(count(out, "<body>two</body>"), 2);
    assert_non_null(strstr(out, "<stanza-id xmlns='urn:xmpp:sid:0' id='"));
    assert_non_null(strstr(out, "by='dur@support.localhost'"));
    assert_non_null(strstr(out, "<occupant-id xmlns='urn:xmpp:occupant-id:0'"));
    assert_non_null(strstr(out, "id='x2'"));
    /* The archive refusing means the sender is told, nobody sees it. */
    f.archive.refuse = true;
    out = sendf("<message type='groupchat' from='bob@localhost/b' "
                "to='dur@support.localhost'><body>lost</body></message>");
    assert_non_null(strstr(out, "<resource-constraint"));
    f.archive.refuse = false;
}

/* ---- programmatic rooms: invisible observers, off the record --------------------------------- */

struct desk {
    int joined, left, consumed, declined, leaving_marked;
    enum muc_leave_reason last_why;
    bool next_invisible;
};

static enum muc_join_verdict desk_pre_join(void *ud, struct muc_room *room,
                                           struct muc_join *j, struct xerr *err)
{
    struct desk *d = ud;
    (void)room;
    if (strcmp(j->bare_jid, "intruder@localhost") == 0) {
        xerr_set(err, XERR_REGISTRATION_REQUIRED, "Not for you");
        return MUC_JOIN_DENY;
    }
    j->privileged = strncmp(j->bare_jid, "staff", 5) == 0;
    j->invisible = j->privileged && d->next_invisible;
    j->affiliation = MUC_AFFIL_MEMBER;
    return MUC_JOIN_ALLOW;
}

static void desk_joined(void *ud, struct muc_room *r, struct muc_occupant *o)
{
    (void)r;
    (void)o;
    ((struct desk *)ud)->joined++;
}

static void desk_left(void *ud, struct muc_room *r,
                      const struct muc_occupant *o, enum muc_leave_reason why)
{
    (void)r;
    (void)o;
    ((struct desk *)ud)->left++;
    ((struct desk *)ud)->last_why = why;
}

/* The leaving hook sees the unavailable presence (the desk reads the
 * widget's <desk event='leave'/> there). */
static void desk_leaving(void *ud, struct muc_room *r,
                         const struct muc_occupant *o,
                         const struct stanza_in *in)
{
    (void)r;
    (void)o;
    if (stanza_child(in->st, "desk", "urn:mucdesk:0"))
        ((struct desk *)ud)->leaving_marked++;
}

static enum muc_message_verdict desk_message(void *ud, struct muc_room *room,
                                             struct muc_occupant *from,
                                             const char *body,
                                             const struct stanza_in *in)
{
    (void)in;
    if (body[0] == '/') {
        ((struct desk *)ud)->consumed++;
        muc_room_tell(room, from, "command done");
        return MUC_MESSAGE_CONSUMED;
    }
    return MUC_MESSAGE_PASS;
}

static void desk_declined(void *ud, struct muc_room *r, const char *from,
                          const char *reason)
{
    (void)r;
    (void)from;
    (void)reason;
    ((struct desk *)ud)->declined++;
}

/* Privileged occupants may invite anyone but intruder@localhost. */
static bool desk_may_invite(void *ud, struct muc_room *r,
                            const struct muc_occupant *inviter,
                            const char *invitee)
{
    (void)ud;
    (void)r;
    return muc_occupant_privileged(inviter) &&
           strcmp(invitee, "intruder@localhost") != 0;
}

static const struct muc_room_hooks desk_hooks = {
    .pre_join = desk_pre_join,
    .joined = desk_joined,
    .left = desk_left,
    .leaving = desk_leaving,
    .message = desk_message,
    .may_invite = desk_may_invite,
    .invite_declined = desk_declined,
};

static struct muc_room *session_room(struct desk *d, const char *name)
{
    struct muc_room_options o = {
        .title = "Ticket", .hidden = true, .members_only = true,
        .persistent = true, .semi_anonymous = true, .pm_privileged_only = true,
        .archived = true, .ticket_id = 42,
    };
    struct muc_room *room = muc_room_create(f.muc, name, &o, &desk_hooks, d);
    assert_non_null(room);
    return room;
}

static void test_invisible_observer_never_leaks(void **state)
{
    (void)state;
    struct desk d = {0};
    struct muc_room *room = session_room(&d, "t42");
    const char *out = join("intruder@localhost/i", "t42/x");
    assert_non_null(strstr(out, "<registration-required"));
    join("customer@anon.localhost/c", "t42/Customer");
    join("staff1@localhost/s", "t42/Agent");
    make_durable(&f.archive, f.archive.appended);

    d.next_invisible = true;
    out = join("staff2@localhost/o", "t42/Boss");
    /* The customer hears nothing; the agent sees an observer. */
    char *to_c = to_only(out, "customer@anon.localhost/c");
    char *to_a = to_only(out, "staff1@localhost/s");
    assert_string_equal(to_c, "");
    assert_non_null(strstr(to_a, "from='t42@support.localhost/Boss'"));
    assert_non_null(strstr(to_a, "<x xmlns='urn:mucdesk:observer'/>"));
    free(to_c);
    free(to_a);
    /* The observer's join record is staff only. */
    assert_int_equal(f.archive.events[f.archive.appended - 1], ARCHIVE_JOIN);
    assert_true(f.archive.staff_only[f.archive.appended - 1]);

    /* disco#info counts as the asker sees. */
    out = send_xml("<iq type='get' id='d1' from='customer@anon.localhost/c' "
                   "to='t42@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_non_null(strstr(out, "<field var='muc#roominfo_occupants' "
                                "type='text-single' label='Number of "
                                "occupants'><value>2</value>"));
    out = send_xml("<iq type='get' id='d2' from='staff1@localhost/s' "
                   "to='t42@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_non_null(strstr(out, "<value>3</value>"));
    /* disco#items */
    out = send_xml("<iq type='get' id='d3' from='customer@anon.localhost/c' "
                   "to='t42@support.localhost'><query "
                   "xmlns='http://jabber.org/protocol/disco#items'/></iq>");
    assert_null(strstr(out, "Boss"));
    assert_non_null(strstr(out, "Agent"));

    /* iq and private messages to the observer's nick answer as for a nick
     * nobody holds. */
    const char *ping_boss = send_xml(
        "<iq type='get' id='p1' from='customer@anon.localhost/c' "
        "to='t42@support.localhost/Boss'><vCard xmlns='vcard-temp'/></iq>");
    char a1[2048];
    snprintf(a1, sizeof a1, "%s", strstr(ping_boss, "<error"));
    const char *ping_none = send_xml(
        "<iq type='get' id='p1' from='customer@anon.localhost/c' "
        "to='t42@support.localhost/Nobody'><vCard xmlns='vcard-temp'/></iq>");
    assert_string_equal(a1, strstr(ping_none, "<error"));

    /* Off the record: a customer's private message is refused the same way
     * whatever the nick. */
    out = send_xml("<message type='chat' from='customer@anon.localhost/c' "
                   "to='t42@support.localhost/Boss'><body>psst</body>"
                   "</message>");
    snprintf(a1, sizeof a1, "%s", strstr(out, "<error"));
    out = send_xml("<message type='chat' from='customer@anon.localhost/c' "
                   "to='t42@support.localhost/Agent'><body>psst</body>"
                   "</message>");
    assert_string_equal(a1, strstr(out, "<error"));
    assert_non_null(strstr(a1, "<not-acceptable"));
    /* Staff between themselves: delivered, and never archived. */
    uint64_t before = f.archive.appended;
    out = send_xml("<message type='chat' from='staff2@localhost/o' "
                   "to='t42@support.localhost/Agent'><body>otr</body>"
                   "</message>");
    assert_non_null(strstr(out, "to='staff1@localhost/s'"));
    assert_non_null(strstr(out, "<x xmlns='http://jabber.org/protocol/muc#user'/>"));
    assert_int_equal(f.archive.appended, before);
    /* The observer may not write to the room, nor privately to the
     * customer. */
    out = send_xml("<message type='groupchat' from='staff2@localhost/o' "
                   "to='t42@support.localhost'><body>hi</body></message>");
    assert_non_null(strstr(out, "<forbidden"));
    out = send_xml("<message type='chat' from='staff2@localhost/o' "
                   "to='t42@support.localhost/Customer'><body>hi</body>"
                   "</message>");
    assert_non_null(strstr(out, "<not-acceptable"));
    assert_null(strstr(out, "to='customer@anon.localhost/c'"));
    /* ...but may send commands (the desk's hook sees them first). */
    out = send_xml("<message type='groupchat' from='staff2@localhost/o' "
                   "to='t42@support.localhost'><body>/visible</body></message>");
    assert_int_equal(d.consumed, 1);
    assert_non_null(strstr(out, "<body>command done</body>"));
    assert_null(strstr(out, "customer@anon.localhost"));

    /* The customer takes the observer's nick: no conflict; the observer is
     * renamed, which only staff see. */
    out = sendf("<presence from='customer@anon.localhost/c' "
                "to='t42@support.localhost/Boss'/>");
    assert_null(strstr(out, "<conflict"));
    to_c = to_only(out, "customer@anon.localhost/c");
    assert_null(strstr(to_c, "Boss ("));
    assert_null(strstr(to_c, "observer"));
    free(to_c);
    char *to_o = to_only(out, "staff2@localhost/o");
    assert_non_null(strstr(to_o, "nick='Boss (2)'"));
    assert_non_null(strstr(to_o, "<status code='210'/>"));
    free(to_o);

    /* Becoming visible: the customer gets a join presence. */
    struct muc_occupant *obs = muc_room_find_occupant(room, "Boss (2)");
    assert_non_null(obs);
    buf_reset(link_out(f.link));
    assert_true(muc_occupant_set_invisible(obs, false));
    out = buf_cstr(link_out(f.link));
    to_c = to_only(out, "customer@anon.localhost/c");
    assert_non_null(strstr(to_c, "from='t42@support.localhost/Boss (2)'"));
    assert_null(strstr(to_c, "type='unavailable'"));
    assert_null(strstr(to_c, "observer"));
    free(to_c);
    /* ...and invisible again: an unavailable presence. */
    buf_reset(link_out(f.link));
    assert_true(muc_occupant_set_invisible(obs, true));
    out = buf_cstr(link_out(f.link));
    to_c = to_only(out, "customer@anon.localhost/c");
    assert_non_null(strstr(to_c, "type='unavailable'"));
    free(to_c);

    /* Staff-only posts reach staff only, now and in history. */
    buf_reset(link_out(f.link));
    assert_int_equal(muc_room_post(room, "internal note", true), 0);
    make_durable(&f.archive, f.archive.appended);
    out = buf_cstr(link_out(f.link));
    assert_non_null(strstr(out, "to='staff1@localhost/s'"));
    assert_null(strstr(out, "to='customer@anon.localhost/c'"));
    out = join("customer@anon.localhost/c2", "t42/Boss");
    assert_null(strstr(out, "internal note"));
    assert_null(strstr(out, "Boss (2)"));

    /* Leaving while invisible: staff-only leave record, nothing to the
     * customer. */
    out = sendf("<presence type='unavailable' from='staff2@localhost/o' "
                "to='t42@support.localhost/Boss (2)'/>");
    to_c = to_only(out, "customer@anon.localhost/c");
    assert_string_equal(to_c, "");
    free(to_c);
    assert_int_equal(f.archive.events[f.archive.appended - 1], ARCHIVE_LEAVE);
    assert_true(f.archive.staff_only[f.archive.appended - 1]);

    /* Destroy: the hooks see everyone leave. */
    int left_before = d.left;
    muc_room_destroy(room, "closed", NULL);
    assert_int_equal(d.left - left_before, 2);
}

static enum muc_join_verdict moderator_pre_join(void *ud, struct muc_room *room,
                                                struct muc_join *j,
                                                struct xerr *err)
{
    enum muc_join_verdict v = desk_pre_join(ud, room, j, err);
    if (j->privileged)
        j->role = MUC_ROLE_MODERATOR;
    return v;
}

static void test_observer_kick_names_no_actor(void **state)
{
    (void)state;
    struct desk d = {.next_invisible = false};
    static const struct muc_room_hooks hooks = {
        .pre_join = moderator_pre_join,
    };
    struct muc_room_options o = {.members_only = true, .semi_anonymous = true};
    struct muc_room *room = muc_room_create(f.muc, "kk", &o, &hooks, &d);
    assert_non_null(room);
    join("customer@anon.localhost/c", "kk/Customer");
    join("staff1@localhost/s", "kk/Agent");
    d.next_invisible = true;
    join("staff2@localhost/o", "kk/Boss");
    const char *out = send_xml(
        "<iq type='set' id='kick1' from='staff2@localhost/o' "
        "to='kk@support.localhost'><query "
        "xmlns='http://jabber.org/protocol/muc#admin'><item nick='Customer' "
        "role='none'><reason>bye</reason></item></query></iq>");
    assert_non_null(strstr(out, "type='result'"));
    char *to_c = to_only(out, "customer@anon.localhost/c");
    assert_non_null(strstr(to_c, "<status code='307'/>"));
    assert_null(strstr(to_c, "<actor"));
    assert_null(strstr(to_c, "Boss"));
    free(to_c);
    /* A visible moderator is named. */
    join("customer@anon.localhost/c", "kk/Customer");
    out = send_xml(
        "<iq type='set' id='kick2' from='staff1@localhost/s' "
        "to='kk@support.localhost'><query "
        "xmlns='http://jabber.org/protocol/muc#admin'><item nick='Customer' "
        "role='none'/></query></iq>");
    assert_non_null(strstr(out, "<actor nick='Agent'/>"));
    muc_room_destroy(room, NULL, NULL);
}

static void test_invitations(void **state)
{
    (void)state;
    struct desk d = {0};
    struct muc_room *room = session_room(&d, "inv");
    assert_int_equal(muc_room_invite(room, "agent@localhost", "Ticket 42"), 0);
    const char *out = buf_cstr(link_out(f.link));
    assert_non_null(strstr(out, "<invite from='inv@support.localhost'>"
                                "<reason>Ticket 42</reason></invite>"));
    assert_non_null(strstr(out, "<x xmlns='jabber:x:conference' "
                                "jid='inv@support.localhost'"));
    out = send_xml("<message from='agent@localhost/a' "
                   "to='inv@support.localhost'><x "
                   "xmlns='http://jabber.org/protocol/muc#user'><decline>"
                   "<reason>busy</reason></decline></x></message>");
    assert_int_equal(d.declined, 1);
    /* Once per invitation; never from someone not invited. */
    out = send_xml("<message from='agent@localhost/a' "
                   "to='inv@support.localhost'><x "
                   "xmlns='http://jabber.org/protocol/muc#user'><decline>"
                   "<reason>busy</reason></decline></x></message>");
    assert_non_null(strstr(out, "<not-acceptable"));
    assert_int_equal(d.declined, 1);
    /* An occupant's invitation goes out from the room on its behalf, if
     * the room's layer agrees. */
    join("staff1@localhost/s", "inv/Agent");
    out = send_xml("<message from='staff1@localhost/s' "
                   "to='inv@support.localhost'><x "
                   "xmlns='http://jabber.org/protocol/muc#user'><invite "
                   "to='other@localhost'/></x></message>");
    assert_non_null(strstr(out, "to='other@localhost'"));
    assert_non_null(strstr(out, "<invite from='inv@support.localhost/Agent'/>"));
    /* The room's layer decides who enters: no membership granted. */
    assert_int_equal(muc_room_affiliation(room, "other@localhost"),
                     MUC_AFFIL_NONE);
    out = send_xml("<message from='staff1@localhost/s' "
                   "to='inv@support.localhost'><x "
                   "xmlns='http://jabber.org/protocol/muc#user'><invite "
                   "to='intruder@localhost'/></x></message>");
    assert_non_null(strstr(out, "<forbidden"));
    assert_null(strstr(out, "to='intruder@localhost'"));
    /* The decline of the occupant's invitation goes to that occupant's
     * real JID, and to the desk. */
    out = send_xml("<message from='other@localhost/o' "
                   "to='inv@support.localhost'><x "
                   "xmlns='http://jabber.org/protocol/muc#user'><decline "
                   "to='inv@support.localhost/Agent'/></x></message>");
    assert_non_null(strstr(out, "to='staff1@localhost/s'"));
    assert_non_null(strstr(out, "<decline from='other@localhost'/>"));
    assert_int_equal(d.declined, 2);
    muc_room_destroy(room, NULL, NULL);
}

static void test_desk_api_additions(void **state)
{
    (void)state;
    struct desk d = {0};
    struct muc_room *room = session_room(&d, "api");
    join("customer@anon.localhost/c", "api/Ann");
    join("staff1@localhost/s", "api/Agent");
    make_durable(&f.archive, f.archive.appended);
    struct muc_occupant *ann = muc_room_find_occupant(room, "Ann");
    /* A notice with a payload element, to one occupant, not archived. */
    uint64_t before = f.archive.appended;
    buf_reset(link_out(f.link));
    muc_room_tell_with(room, ann, "You are number 1",
                       "<desk xmlns='urn:mucdesk:0' event='queue'/>");
    const char *out = buf_cstr(link_out(f.link));
    assert_non_null(strstr(out, "<body>You are number 1</body><desk "
                                "xmlns='urn:mucdesk:0' event='queue'/>"));
    assert_int_equal(count(out, "<message"), 1);
    assert_int_equal(f.archive.appended, before);
    /* A post with a payload is archived with it. */
    assert_int_equal(muc_room_post_with(room, "Closed",
                                        "<desk xmlns='urn:mucdesk:0' "
                                        "event='closed'/>", false), 0);
    assert_int_equal(f.archive.appended, before + 1);
    buf_reset(link_out(f.link));
    make_durable(&f.archive, f.archive.appended);
    assert_int_equal(count(buf_cstr(link_out(f.link)), "event='closed'"), 2);
    /* Dismissed: destroyed for Ann alone; Agent sees a plain leave. */
    buf_reset(link_out(f.link));
    muc_occupant_dismiss(ann, "The chat has ended");
    out = buf_cstr(link_out(f.link));
    assert_int_equal(count(out, "<destroy>"), 1);
    assert_non_null(strstr(out, "<reason>The chat has ended</reason>"));
    assert_int_equal(count(out, "type='unavailable'"), 2);
    assert_int_equal(d.last_why, MUC_LEFT_DESTROY);
    assert_int_equal(muc_room_occupant_count(room), 1);
    assert_non_null(muc_room_find(f.muc, "api"));
    /* The leaving hook sees what the leaver said. */
    send_xml("<presence type='unavailable' from='staff1@localhost/s' "
             "to='api@support.localhost/Agent'><desk xmlns='urn:mucdesk:0' "
             "event='leave'/></presence>");
    assert_int_equal(d.leaving_marked, 1);
    muc_room_destroy(room, NULL, NULL);
}

static void test_shutdown_says_332(void **state)
{
    (void)state;
    create_plain_room("sd");
    join("bob@localhost/b", "sd/bob");
    buf_reset(link_out(f.link));
    muc_shutdown(f.muc);
    const char *out = buf_cstr(link_out(f.link));
    assert_int_equal(count(out, "<status code='332'/>"), 2);
    assert_int_equal(count(out, "<presence"), 2);
}

static void test_mam_renders_archive_pages(void **state)
{
    (void)state;
    create_plain_room("mam");
    join("bob@localhost/b", "mam/bob");
    const char *out = send_xml(
        "<iq type='set' id='q1' from='bob@localhost/b' "
        "to='mam@support.localhost'><query xmlns='urn:xmpp:mam:2' "
        "queryid='f1'><x xmlns='jabber:x:data' type='submit'><field "
        "var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>"
        "<field var='start'><value>2024-01-01T00:00:00Z</value></field></x>"
        "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/>"
        "</set></query></iq>");
    assert_string_equal(out, ""); /* answered later */
    assert_true(f.archive.q.last_page);
    assert_int_equal(f.archive.q.max, 2);
    assert_false(f.archive.q.include_staff_only);
    assert_true(f.archive.q.start_us > 0);
    struct archive_item items[2] = {
        {.stanza_id = "s1", .at_us = 1700000000000000, .kind = ARCHIVE_MESSAGE,
         .actor_jid = "bob@localhost", .actor_nick = "bob",
         .occupant_id = "oid", .body = "a<b"},
        {.stanza_id = "s2", .at_us = 1700000001000000, .kind = ARCHIVE_JOIN,
         .actor_nick = "bob"},
    };
    struct archive_page page = {.items = items, .count = 2, .complete = true};
    buf_reset(link_out(f.link));
    f.archive.answer(f.archive.answer_ud, &page);
    out = buf_cstr(link_out(f.link));
    assert_non_null(strstr(out, "<result xmlns='urn:xmpp:mam:2' queryid='f1' "
                                "id='s1'>"));
    assert_non_null(strstr(out, "<body>a&lt;b</body>"));
    assert_non_null(strstr(out, "from='mam@support.localhost/bob'"));
    assert_null(strstr(out, "jid='bob@localhost'")); /* semi-anonymous */
    assert_null(strstr(out, "id='s2'>"));             /* joins not shown */
    assert_non_null(strstr(out, "<fin xmlns='urn:xmpp:mam:2' complete='true'>"
                                "<set xmlns='http://jabber.org/protocol/rsm'>"
                                "<first>s1</first><last>s1</last></set></fin>"));
    /* A page of records MAM does not show is followed by another query
     * from where it stopped, until the page is full or the archive done. */
    out = send_xml(
        "<iq type='set' id='q4' from='bob@localhost/b' "
        "to='mam@support.localhost'><query xmlns='urn:xmpp:mam:2'>"
        "<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>"
        "</query></iq>");
    assert_int_equal(f.archive.q.max, 1);
    assert_null(f.archive.q.after_id);
    struct archive_item joins[1] = {
        {.stanza_id = "j1", .at_us = 1, .kind = ARCHIVE_JOIN,
         .actor_nick = "bob"}};
    struct archive_page only_joins = {.items = joins, .count = 1};
    buf_reset(link_out(f.link));
    f.archive.answer(f.archive.answer_ud, &only_joins);
    assert_string_equal(buf_cstr(link_out(f.link)), "");
    assert_non_null(f.archive.q.after_id);
    assert_string_equal(f.archive.q.after_id, "j1");
    struct archive_item more[1] = {
        {.stanza_id = "m2", .at_us = 2, .kind = ARCHIVE_SYSTEM,
         .body = "room notice"}};
    struct archive_page second = {.items = more, .count = 1};
    f.archive.answer(f.archive.answer_ud, &second);
    out = buf_cstr(link_out(f.link));
    assert_non_null(strstr(out, "id='m2'>"));
    assert_non_null(strstr(out, "from='mam@support.localhost'><body>room notice"));
    assert_non_null(strstr(out, "<first>m2</first><last>m2</last>"));
    assert_null(strstr(out, "complete="));
    /* Unknown form fields are refused. */
    out = send_xml("<iq type='set' id='q2' from='bob@localhost/b' "
                   "to='mam@support.localhost'><query xmlns='urn:xmpp:mam:2'>"
                   "<x xmlns='jabber:x:data' type='submit'><field var='nope'>"
                   "<value>1</value></field></x></query></iq>");
    assert_non_null(strstr(out, "<feature-not-implemented"));
    /* Outsiders of an open room may read; banned users may not. */
    out = send_xml("<iq type='set' id='q3' from='eve@localhost/e' "
                   "to='mam@support.localhost'><query "
                   "xmlns='urn:xmpp:mam:2'/></iq>");
    assert_string_equal(out, "");
    struct archive_page empty = {.complete = true};
    f.archive.answer(f.archive.answer_ud, &empty);
}

/* <history seconds='N'/> with more seconds than there have been since
 * 1970 asks for everything (found by tests/fuzz: the product overflowed). */
static void test_history_seconds_out_of_range(void **state)
{
    (void)state;
    create_plain_room("past");
    sendf("<message type='groupchat' from='admin@localhost/a' "
          "to='past@support.localhost' id='m1'><body>old news</body></message>");
    make_durable(&f.archive, f.archive.appended);
    const char *out = sendf(
        "<presence from='bob@localhost/b' to='past@support.localhost/bob'><x "
        "xmlns='http://jabber.org/protocol/muc'><history "
        "seconds='9999999999999'/></x></presence>");
    assert_non_null(strstr(out, "<body>old news</body>"));
    out = sendf("<presence from='eve@localhost/e' "
                "to='past@support.localhost/eve'><x "
                "xmlns='http://jabber.org/protocol/muc'><history "
                "seconds='9223372036854775807'/></x></presence>");
    assert_non_null(strstr(out, "<body>old news</body>"));
    out = sendf("<presence from='joe@localhost/j' "
                "to='past@support.localhost/joe'><x "
                "xmlns='http://jabber.org/protocol/muc'><history "
                "seconds='0'/></x></presence>");
    assert_null(strstr(out, "<body>old news</body>"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_only_admins_create_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instant_room_and_join_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nick_conflict_and_multi_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nick_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_kick_ban_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ghost_removed_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_holds_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invisible_observer_never_leaks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invitations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observer_kick_names_no_actor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desk_api_additions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_says_332, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mam_renders_archive_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_seconds_out_of_range, setup, teardown),
    };
    return cmocka_run_group_tests_name("muc_flow", tests, NULL, NULL);
}
