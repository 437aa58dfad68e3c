/* The fuzz world (world.h): service.c's wiring of the real router, MUC and
 * desk over fake_link.c, fake_store.c and fake_pq.c. */
#include "build-config.h"

#include "world.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "fake.h"
#include "fuzz_check.h"
#include "muc/muc.h"
#include "service.h"
#include "xmpp/link.h"

#define D "support.localhost"
#define OBSERVER_BARE "sup@localhost"
#define OBSERVER_NICK "Watcher"
#define OBSERVED_ROOM "ticket-1"
#define MAX_STANZAS 64            /* per input: keeps executions short */
#define MAX_ADVANCE_MS (3600u * 1000u)

static const char *const sender_jid[WORLD_SENDERS] = {
    "ann@anon.localhost/widget", "bob@anon.localhost/widget",
    "agent1@localhost/desk",     "agent2@localhost/desk",
    "sup@localhost/desk",        "admin@localhost/console",
    "mallory@evil.example/x",    "localhost",
};

/* Who may learn of the observer (the staff of billing, and admins). */
static const char *const staff_bare[] = {
    "agent1@localhost", "agent2@localhost", "sup@localhost",
    "admin@localhost", NULL,
};

struct world {
    struct loop *loop;
    struct service *svc;
    struct muc *muc;
    struct link *link;
    const uint8_t *input;
    size_t input_len;
    unsigned stanzas;
    char last_sessionid[64];      /* the last ad-hoc session id sent */
};

static struct config cfg;
static bool initialised;
static bool trace;                /* MUCDESK_FUZZ_TRACE: print the traffic */

/* ---- once per process -------------------------------------------------------- */

/* The fake database's tables, in the column order of the daemon's
 * statements (desk/directory.c, muc/persist.c). */
static const char *const t_version[] = {"1"};
static const char *const t_queues[] = {
    /* name, title, strategy, offer_timeout, max_wait, greeting,
     * offline_message, prechat_fields, hours, timezone, closed_message,
     * transcript_email, answer_reminder */
    "billing", "Billing", "least-busy", "20", "240",
    "Welcome to billing, {name}!", "Leave us a message.", "", "", "UTC",
    NULL, "f", "1",
    "sales", "Sales", "manual", "30", "600", NULL, "Nobody is here.",
    "order|text-single|Order number|required\n"
    "plan|list-single|Your plan||free,pro,enterprise\n"
    "newsletter|boolean|Send me the newsletter",
    "", "Europe/Paris", "We are closed.", "t", "0",
};
static const char *const t_agents[] = {
    /* queue, jid, role, max_chats, skills, takes_chats (sup opted in) */
    "billing", "agent1@localhost", "agent", "1", "en,refunds", NULL,
    "billing", "agent2@localhost", "agent", "3", "fr", NULL,
    "billing", "sup@localhost", "supervisor", "0", "", "t",
    "sales", "agent2@localhost", "agent", "2", "", NULL,
};
static const char *const t_canned[] = {
    /* queue, name, body */
    "", "hello", "Hello! How can I help you today?",
    "billing", "refund", "Refunds take 5 days: {name}, ticket {ticket}.",
};

/* Changes of the directory made elsewhere (mucdeskctl, psql), read by a
 * reload: world_directory(). */
static const char *const t_version2[] = {"2"};
static const char *const t_agents_no_agent2[] = {
    "billing", "agent1@localhost", "agent", "1", "en,refunds", NULL,
    "billing", "sup@localhost", "supervisor", "0", "", "t",
};
static const char *const t_agents_no_sup[] = {
    "billing", "agent1@localhost", "agent", "1", "en,refunds", NULL,
    "billing", "agent2@localhost", "agent", "3", "fr", NULL,
    "sales", "agent2@localhost", "agent", "2", "", NULL,
};
static const char *const t_agents_moved[] = {
    "billing", "agent2@localhost", "agent", "3", "fr", NULL,
    "billing", "sup@localhost", "agent", "2", "en", NULL,
    "sales", "agent1@localhost", "supervisor", "5", "refunds", NULL,
};
static const char *const t_queues_changed[] = {
    "billing", "Billing & Co", "skills", "5", "30", NULL, NULL,
    "topic|list-single|Topic|required|a,b", "mon-sun 00:00-24:00", "UTC",
    "Closed", "t", "120",
};
static const char *const t_queues_badplugin[] = {
    "billing", "Billing", "no-such-plugin", "20", "240", "Hi", NULL, "", "",
    "Mars/Olympus", NULL, "f", "120",
    "sales", "Sales", "round-robin", "30", "600", NULL, NULL, "", "", "UTC",
    NULL, "f", "120",
};

static void set_directory(int variant)
{
    fake_pq_set_table("FROM desk_directory", 1, 1,
                      variant ? t_version2 : t_version);
    fake_pq_set_table("FROM queues", 13, 2, t_queues);
    fake_pq_set_table("FROM agents", 6, 4, t_agents);
    fake_pq_set_table("FROM canned_responses", 3, 2, t_canned);
    switch (variant) {
    case 1:
        fake_pq_set_table("FROM agents", 6, 2, t_agents_no_agent2);
        break;
    case 2:
        fake_pq_set_table("FROM agents", 6, 3, t_agents_no_sup);
        break;
    case 3:
        fake_pq_set_table("FROM agents", 6, 3, t_agents_moved);
        break;
    case 4: /* sales deleted, billing reconfigured */
        fake_pq_set_table("FROM queues", 13, 1, t_queues_changed);
        fake_pq_set_table("FROM canned_responses", 3, 0, t_canned);
        break;
    case 5:
        fake_pq_set_table("FROM queues", 13, 2, t_queues_badplugin);
        break;
    default:
        break;
    }
}

static void write_config(const char *dir, char *path, size_t size)
{
    snprintf(path, size, "%s/mucdesk.conf", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        fuzz_fail("cannot write %s", path);
    fprintf(f,
            "[component]\njid = " D "\nsecret = fuzz\n"
            "[database]\nconninfo = dbname=fake\ndurability = async\n"
            "[service]\nadmins = admin@localhost\nstate_dir = %s\n"
            "plugin_dir = %s\n"
            "[desk]\nplugins = ratings\n"
            /* The sender has a real session of its own: not this world's. */
            "[webhooks]\nenabled = 0\n"
            "[muc]\nmax_occupants = 30\nhistory_size = 20\n"
            "message_rate = 20\nmax_body_size = 4096\n"
            "[log]\nlevel = error\n",
            dir, FUZZ_PLUGIN_DIR);
    fclose(f);
}

void world_init(void)
{
    if (initialised)
        return;
    initialised = true;
    char dir[] = "/tmp/mucdesk-fuzz-XXXXXX";
    if (!mkdtemp(dir))
        fuzz_fail("cannot make a temporary directory");
    char path[4200];
    write_config(dir, path, sizeof path);
    struct config_error err;
    if (config_load(path, &cfg, &err) < 0)
        fuzz_fail("the world's configuration: %s", err.text);
    unlink(path);
    rmdir(dir);
    trace = getenv("MUCDESK_FUZZ_TRACE") != NULL;
    /* The daemon's log only on demand (MUCDESK_FUZZ_LOG=1: everything, to
     * stderr): a full disk, say, logs an error per stanza. */
    if (getenv("MUCDESK_FUZZ_LOG"))
        log_setup(LOG_LEVEL_DEBUG, false, NULL);
    else
        log_setup(LOG_LEVEL_ERROR, false, "/dev/null");
    /* Loaded once and kept: the desk's dlopen/dlclose per world then only
     * counts references (libFuzzer registers a module's counters at each
     * real load). */
    static const char *const plugins[] = {"manual", "round-robin",
                                          "least-busy", "skills", "ratings"};
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.so", FUZZ_PLUGIN_DIR, plugins[i]);
        if (!dlopen(path, RTLD_NOW | RTLD_LOCAL))
            fuzz_fail("cannot load %s: %s", path, dlerror());
    }
    static const char *const none[1] = {NULL};
    fake_pq_set_table("FROM muc_rooms", 17, 0, none);
    fake_pq_set_table("FROM muc_affiliations", 4, 0, none);
}

/* ---- the checks ---------------------------------------------------------------- */

static bool is_staff(const char *to)
{
    size_t n = strcspn(to, "/");
    for (const char *const *s = staff_bare; *s; s++)
        if (strlen(*s) == n && strncasecmp(to, *s, n) == 0)
            return true;
    return false;
}

static struct muc_occupant *observer(struct world *w)
{
    struct muc_room *room = muc_room_find(w->muc, OBSERVED_ROOM);
    if (!room)
        return NULL;
    struct muc_occupant *o = muc_room_find_user(room, OBSERVER_BARE);
    return o && muc_occupant_invisible(o) ? o : NULL;
}

struct leak_check {
    struct world *w;
    const char *names[4];
    size_t count;
};

/* A component may only send from its own domain (Prosody and ejabberd
 * close the whole component stream on anything else: invalid-from), and
 * every stanza it sends is addressed to someone. */
static void check_addresses(const struct fuzz_stanza *st)
{
    const char *from = st->from;
    const char *at = strchr(from, '@');
    const char *dom = at ? at + 1 : from;
    size_t n = strcspn(dom, "/");
    if (n != strlen(D) || strncmp(dom, D, n) != 0 || (at && at == from))
        fuzz_fail("a stanza from '%s', outside " D " (the server would "
                  "close the component's stream): %.*s", from, (int)st->len,
                  st->text);
    if (!st->to[0])
        fuzz_fail("a stanza without 'to': %.*s", (int)st->len, st->text);
}

static void leak_stanza(void *ud, const struct fuzz_stanza *st)
{
    struct leak_check *lc = ud;
    check_addresses(st);
    if (!lc->count || is_staff(st->to))
        return;
    for (size_t i = 0; i < lc->count; i++) {
        const char *name = lc->names[i];
        /* A name the input spells out may come back as the sender's own
         * text or address: only names it could not know are checked. */
        if (fuzz_contains(lc->w->input, lc->w->input_len, name))
            continue;
        if (fuzz_contains(st->text, st->len, name))
            fuzz_fail("the invisible observer (%s) is named in a stanza to "
                      "%s: %.*s", name, st->to, (int)st->len, st->text);
    }
}

static void note_element(void *ud, const struct fuzz_stanza *st,
                         const char *name, const char **attrs)
{
    (void)st;
    struct leak_check *lc = ud;
    if (strcmp(name, "command") != 0)
        return;
    for (size_t i = 0; attrs[i]; i += 2)
        if (strcmp(attrs[i], "sessionid") == 0)
            snprintf(lc->w->last_sessionid, sizeof lc->w->last_sessionid,
                     "%s", attrs[i + 1]);
}

/* Takes what the service wrote and checks it.  The observer check holds
 * while the observer stays invisible: before the step (`before`) and
 * after it (a supervisor may make themselves visible: /visible). */
static void check_output(struct world *w, struct muc_occupant *before)
{
    size_t len;
    const char *out = fake_link_output(w->link, &len);
    struct muc_occupant *after = observer(w);
    struct leak_check lc = {.w = w};
    if (before && after) {
        lc.names[lc.count++] = OBSERVER_BARE;
        lc.names[lc.count++] = muc_occupant_nick(after);
        const char *id = muc_occupant_id(after);
        if (id && *id)
            lc.names[lc.count++] = id;
    }
    struct fuzz_xml_visitor v = {.ud = &lc, .element = note_element,
                                 .stanza_end = leak_stanza};
    if (trace && len)
        fprintf(stderr, "  >>> %.*s\n", (int)len, out);
    fuzz_check_output("the service's output", out, len, &v);
    fake_link_clear(w->link);
}

/* Ends the turn: store ops, durability, queries, zero-delay timers. */
static void end_turn(struct world *w, uint64_t ms)
{
    loop_advance(w->loop, ms);
}

/* ---- feeding stanzas ---------------------------------------------------------------- */

/* Parses text as the server's stream would: inside an element in the
 * component namespace, so that unqualified children inherit it. */
static xmpp_stanza_t *parse(struct world *w, const char *xml, size_t len)
{
    static const char open[] = "<w xmlns='jabber:component:accept'>";
    static const char close[] = "</w>";
    char *text = malloc(sizeof open + len + sizeof close);
    if (!text)
        abort();
    memcpy(text, open, sizeof open - 1);
    memcpy(text + sizeof open - 1, xml, len);
    memcpy(text + sizeof open - 1 + len, close, sizeof close);
    /* libstrophe takes a C string: a NUL ends the text there (it is not
     * XML anyway). */
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(link_strophe(w->link), text);
    free(text);
    return st;
}

/* What the XMPP server does before a stanza reaches the component: it
 * prepares `to` (RFC 7622, as Prosody's stanza router does) and routes
 * only stanzas for the component's domain to it; it stamps `from` with
 * the sender's address.  False: the component would never see it. */
static bool route_as_server(xmpp_stanza_t *st, enum world_sender sender)
{
    const char *to = xmpp_stanza_get_to(st);
    static struct jid j;
    static char prepped[JID_TEXT_MAX + 1];
    if (!to || jid_parse(to, &j) < 0 || strcmp(j.domain, D) != 0 ||
        jid_full_text(&j, prepped, sizeof prepped) < 0)
        return false;
    xmpp_stanza_set_to(st, prepped);
    xmpp_stanza_set_from(st, sender_jid[sender]);
    return true;
}

static void dispatch(struct world *w, enum world_sender sender,
                     xmpp_stanza_t *st)
{
    if (!route_as_server(st, sender))
        return;
    struct muc_occupant *before = observer(w);
    if (trace) {
        char *text;
        size_t n;
        if (xmpp_stanza_to_text(st, &text, &n) == 0) {
            fprintf(stderr, "<<< %s\n", text);
            xmpp_free(link_strophe(w->link), text);
        }
    }
    fake_link_receive(w->link, st);
    end_turn(w, 0);
    check_output(w, before);
}

void world_send(struct world *w, enum world_sender sender, const char *xml,
                size_t len)
{
    if ((unsigned)sender >= WORLD_SENDERS)
        return;
    xmpp_stanza_t *wrap = parse(w, xml, len);
    if (!wrap)
        return; /* not XML: the server would have closed that stream */
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(wrap); c;
         c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        if (w->stanzas++ >= MAX_STANZAS)
            break;
        /* Deeper than the serialiser's recursion takes: the known finding
         * (the copy below would recurse as deep, too). */
        size_t depth = fuzz_stanza_depth(c);
        if (depth > FUZZ_KNOWN_DEPTH) {
            char detail[100];
            snprintf(detail, sizeof detail, "a stanza %zu levels deep", depth);
            if (fuzz_known_avoid(FUZZ_KNOWN_DEEP_NESTING, detail))
                continue;
        }
        /* A stanza of its own, as the stream parser hands it over. */
        xmpp_stanza_t *st = xmpp_stanza_copy(c);
        if (!st)
            abort();
        dispatch(w, sender, st);
        xmpp_stanza_release(st);
    }
    xmpp_stanza_release(wrap);
}

void world_say(struct world *w, enum world_sender sender, const char *room,
               const char *body, size_t len)
{
    if ((unsigned)sender >= WORLD_SENDERS || w->stanzas++ >= MAX_STANZAS)
        return;
    xmpp_ctx_t *ctx = link_strophe(w->link);
    xmpp_stanza_t *m = xmpp_message_new(ctx, "groupchat", NULL, NULL);
    char to[300];
    snprintf(to, sizeof to, "%s@" D, room);
    xmpp_stanza_set_to(m, to);
    xmpp_stanza_set_ns(m, "jabber:component:accept");
    /* The body as the parser would give it: text without NULs, which
     * only a broken stream could carry (expat checks the rest). */
    char *text = strndup(body, len);
    if (!text)
        abort();
    if (!fuzz_utf8_problem(text, strlen(text), true)) {
        xmpp_message_set_body(m, text);
        dispatch(w, sender, m);
    }
    free(text);
    xmpp_stanza_release(m);
}

void world_advance(struct world *w, uint64_t ms)
{
    if (ms > MAX_ADVANCE_MS)
        ms = MAX_ADVANCE_MS;
    if (trace)
        fprintf(stderr, "<<< %llu ms pass\n", (unsigned long long)ms);
    struct muc_occupant *before = observer(w);
    end_turn(w, ms);
    check_output(w, before);
}

void world_disk(struct world *w, int hold, int refuse)
{
    (void)w;
    fake_archive_hold(fake_archive(), hold != 0);
    fake_archive_refuse(fake_archive(), refuse != 0);
}

void world_directory(struct world *w, int variant)
{
    struct muc_occupant *before = observer(w);
    set_directory(variant < 0 ? 0 : variant % WORLD_DIRECTORIES);
    service_reload(w->svc);
    end_turn(w, 0);
    check_output(w, before);
}

void world_set_input(struct world *w, const uint8_t *data, size_t size)
{
    w->input = data;
    w->input_len = size;
    w->stanzas = 0;
}

/* ---- the fixed state ------------------------------------------------------------------ */

static void setup(struct world *w, enum world_sender sender, const char *xml)
{
    world_send(w, sender, xml, strlen(xml));
}

#define MUC_X "<x xmlns='http://jabber.org/protocol/muc'/>"

static void build(struct world *w)
{
    /* A plain room: admin creates it (instant), agent1 joins. */
    setup(w, WORLD_ADMIN, "<presence to='lounge@" D "/Admin'>" MUC_X "</presence>");
    setup(w, WORLD_ADMIN,
          "<iq type='set' id='cfg1' to='lounge@" D "'><query "
          "xmlns='http://jabber.org/protocol/muc#owner'><x "
          "xmlns='jabber:x:data' type='submit'/></query></iq>");
    setup(w, WORLD_AGENT1, "<presence to='lounge@" D "/Agent1'>" MUC_X "</presence>");
    /* Staff in the queue room: agent1 available, agent2 busy (dnd). */
    setup(w, WORLD_AGENT1, "<presence to='billing@" D "/Agent1'>" MUC_X "</presence>");
    setup(w, WORLD_AGENT2, "<presence to='billing@" D "/Agent2'>" MUC_X
                           "<show>dnd</show></presence>");
    setup(w, WORLD_SUP, "<presence to='billing@" D "/Sup'>" MUC_X "</presence>");
    /* ann writes to the queue (a chat message): ticket 1, offered to
     * agent1, who joins (accepts); sup observes it. */
    setup(w, WORLD_ANN, "<message type='chat' to='billing@" D "' id='a1'>"
                        "<body>My invoice is wrong</body></message>");
    setup(w, WORLD_ANN, "<presence to='ticket-1@" D "/Ann'>" MUC_X "</presence>");
    setup(w, WORLD_AGENT1, "<presence to='ticket-1@" D "/Agent1'>" MUC_X "</presence>");
    world_say(w, WORLD_SUP, "billing", "/observe 1", 10);
    setup(w, WORLD_SUP, "<presence to='ticket-1@" D "/" OBSERVER_NICK "'>"
                        MUC_X "</presence>");
    /* bob asks through request-chat, as the widget does: ticket 2 waits
     * (agent1 is at their limit, agent2 is busy). */
    setup(w, WORLD_BOB, "<iq type='set' id='r1' to='billing@" D "'><command "
                        "xmlns='http://jabber.org/protocol/commands' "
                        "node='request-chat' action='execute'/></iq>");
}

static void build_request(struct world *w, const char *sessionid)
{
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<iq type='set' id='r2' to='billing@" D "'><command "
             "xmlns='http://jabber.org/protocol/commands' node='request-chat' "
             "sessionid='%s' action='complete'><x xmlns='jabber:x:data' "
             "type='submit'><field var='name'><value>Bob</value></field>"
             "<field var='email'><value>bob@example.org</value></field>"
             "<field var='question'><value>Where is my refund?</value>"
             "</field><field var='page'><value>https://shop.example/cart"
             "</value></field></x></command></iq>",
             sessionid);
    setup(w, WORLD_BOB, xml);
    setup(w, WORLD_BOB, "<presence to='ticket-2@" D "/Bob'>" MUC_X "</presence>");
}

struct world *world_new(void)
{
    world_init();
    struct world *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    fake_rand_seed(0x6d75636465736bULL);
    set_directory(0);
    w->loop = loop_new();
    if (!w->loop)
        fuzz_fail("loop_new");
    w->svc = service_new(w->loop, &cfg, 0);
    if (!w->svc)
        fuzz_fail("the world's service cannot be built");
    w->link = fake_link();
    w->muc = service_muc(w->svc);
    if (service_start(w->svc) < 0)
        fuzz_fail("the world's service cannot start");
    end_turn(w, 0);
    check_output(w, NULL);
    build(w);
    /* request-chat's session id, read from the form it sent. */
    build_request(w, w->last_sessionid);

    /* The state the targets rely on. */
    struct muc_room *r1 = muc_room_find(w->muc, OBSERVED_ROOM);
    struct muc_room *r2 = muc_room_find(w->muc, "ticket-2");
    struct muc_occupant *obs = observer(w);
    if (!r1 || !r2 || !obs || !muc_room_find_user(r1, "agent1@localhost") ||
        !muc_room_find_user(r1, "ann@anon.localhost") ||
        !muc_room_find_user(r2, "bob@anon.localhost"))
        fuzz_fail("the fuzz world's fixed state could not be built (ticket-1 "
                  "%s, ticket-2 %s, observer %s): run with MUCDESK_FUZZ_LOG=1",
                  r1 ? "ok" : "missing", r2 ? "ok" : "missing",
                  obs ? "invisible" : "missing");
    return w;
}

void world_free(struct world *w)
{
    if (!w)
        return;
    /* The shutdown's output (332 to every occupant) is checked too. */
    w->stanzas = 0;
    struct muc_occupant *before = observer(w);
    service_stop(w->svc);
    check_output(w, before);
    service_free(w->svc);
    loop_free(w->loop);
    free(w);
}
