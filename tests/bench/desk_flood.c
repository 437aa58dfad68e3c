/* desk_flood: the flood benchmark of issue 11.  One client sends as fast as
 * the service answers it (messages to rooms it is not in, joins, the room
 * list, archive queries, new chats, ad-hoc sessions, plain messages to the
 * queue, pings) while N normal support chats go on; the normal chats'
 * latency is measured before, during and after the flood, and the
 * component's memory sampled every second.
 *
 * Like muc_load it plays the XMPP server's side of XEP-0114 and every
 * client itself (tests/bench/bench_util.h), so that the driver is not the
 * bottleneck.  The desk must already know queue QUEUE and agents
 * a0..a<A-1>@USERS (tests/bench/run-flood puts them in PostgreSQL).
 *
 * Set-up: every agent enters the queue room (available); customer i
 * (c<i>@web<i % 50>.<USERS>/w) asks for a chat with request-chat (one
 * round trip, the form given with the execute) and enters the session
 * room it names; the agent the desk offers it to enters too (accepting
 * it).  Then each customer writes at RATE/N messages per second in total
 * RATE, and the time from sending a message to the agent's copy is
 * measured.
 *
 * Phases, each DURATION seconds after WARMUP: quiet, flood, after.  The
 * flooder is flood@anon.<USERS>/x; with --fresh each new chat comes from a
 * fresh JID of that domain instead (a burst of anonymous accounts).  It
 * keeps WINDOW stanzas in flight: it sends one more whenever an answer
 * comes back, as a client pipelining requests does ("as fast as it can":
 * the one TCP link of a component carries everyone's stanzas in order, so
 * what one client costs everyone is what it has in flight times what each
 * of its stanzas costs the component).
 *
 * Output: a report, the timeline (one line a second) and one "RESULT " line
 * per phase for scripts. */

#include "build-config.h"

#define BENCH_NAME "desk_flood"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "bench_util.h"

#define S_NS 1000000000ull
#define CUSTOMER_DOMAINS 50

enum phase { PH_HANDSHAKE, PH_SETTLE, PH_AGENTS, PH_CHATS, PH_TRAFFIC,
             PH_DRAIN, PH_DONE };
enum window { W_WARMUP, W_QUIET, W_FLOOD, W_AFTER, W_COUNT };
static const char *const window_names[W_COUNT] = {"warmup", "quiet", "flood",
                                                  "after"};

enum flood_kind { F_ROOM_MESSAGE, F_JOIN, F_ROOM_LIST, F_MAM, F_NEW_CHAT,
                  F_SESSION, F_QUEUE_MESSAGE, F_PING, F_KINDS };
static const char *const kind_names[F_KINDS] = {
    "room-message", "join", "room-list", "mam", "new-chat", "session",
    "queue-message", "ping"};

struct opts {
    const char *listen_host;
    int port;
    const char *domain, *secret, *users, *queue;
    long chats, agents;
    double rate, duration_s, warmup_s, settle_s;
    long window, setup_window;
    bool fresh, no_flood;
    pid_t pid;
    int cpu, daemon_cpu;
    char **cmd;
};

struct chat {
    char room[32];        /* local part of the session room */
    long agent;           /* -1 until an agent is in */
    bool asked, customer_in;
};

struct phase_figures {
    struct hist lat;
    uint64_t sent, copies, flood_sent, flood_answers;
    uint64_t kind_sent[F_KINDS];
    long rss_min_kb, rss_max_kb, rss_first_kb, rss_last_kb;
    uint64_t cpu0, cpu1;
    uint64_t t0, t1;
};

struct driver {
    struct opts o;
    int ep, lfd, fd;
    enum phase phase;
    bool spawned, peer_closed, stream_open, want_out;
    char *rbuf;
    size_t rlen, rcap;
    struct obuf out;
    char stream_id[33], expect_digest[41];

    /* set-up */
    long agents_in, chats_asked, chats_ready, chats_busy;
    struct chat *chat;
    long *ticket_chat;    /* ticket number -> chat index, -1: none */
    long ticket_cap;
    uint64_t progress_ns;
    uint64_t setup_errors;
    /* Requests refused (no ticket number reserved yet: the desk refills
     * its pool from PostgreSQL): asked again after a pause. */
    long *retry;
    long n_retry;
    uint64_t retry_after_ns;

    /* traffic */
    uint64_t seq;
    uint64_t *sent_at;    /* per seq & mask */
    uint64_t mask;
    double tokens;
    uint64_t last_token_ns, traffic_start_ns, next_sample_ns;
    enum window win;
    struct phase_figures fig[W_COUNT];
    long next_chat;

    /* flood */
    uint64_t flood_seq, flood_out, fresh_seq;
    uint64_t answers_by_kind[3]; /* result, error, other */
    uint64_t rng;

    /* the timeline: the current second */
    uint64_t tl_sent, tl_copies, tl_flood;
    struct hist tl_lat;
};

static uint64_t rnd(struct driver *d)
{
    uint64_t x = d->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return d->rng = x;
}

/* ---- socket -------------------------------------------------------------------- */

static void set_out_interest(struct driver *d, bool want)
{
    if (want == d->want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                             .data.fd = d->fd};
    epoll_ctl(d->ep, EPOLL_CTL_MOD, d->fd, &ev);
    d->want_out = want;
}

static void flush_out(struct driver *d)
{
    struct obuf *b = &d->out;
    while (ob_pending(b)) {
        ssize_t n = send(d->fd, b->data + b->off, ob_pending(b), MSG_NOSIGNAL);
        if (n > 0) {
            b->off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        die("write to the component failed: %s", strerror(errno));
    }
    if (!ob_pending(b))
        b->off = b->len = 0;
    set_out_interest(d, ob_pending(b) > 0);
}

/* ---- addresses ----------------------------------------------------------------- */

static void put_customer(struct driver *d, long i)
{
    ob_str(&d->out, "c");
    ob_dec(&d->out, (uint64_t)i);
    ob_str(&d->out, "@web");
    ob_dec(&d->out, (uint64_t)(i % CUSTOMER_DOMAINS));
    ob_str(&d->out, ".");
    ob_str(&d->out, d->o.users);
    ob_str(&d->out, "/w");
}

static void put_agent(struct driver *d, long a)
{
    ob_str(&d->out, "a");
    ob_dec(&d->out, (uint64_t)a);
    ob_str(&d->out, "@");
    ob_str(&d->out, d->o.users);
    ob_str(&d->out, "/d");
}

static void put_jid(struct driver *d, const char *local)
{
    ob_str(&d->out, local);
    ob_str(&d->out, "@");
    ob_str(&d->out, d->o.domain);
}

static void put_flooder(struct driver *d, bool fresh)
{
    if (fresh) {
        ob_str(&d->out, "f");
        ob_dec(&d->out, ++d->fresh_seq);
    } else {
        ob_str(&d->out, "flood");
    }
    ob_str(&d->out, "@anon.");
    ob_str(&d->out, d->o.users);
    ob_str(&d->out, "/x");
}

/* ---- set-up -------------------------------------------------------------------- */

static void join_queue(struct driver *d, long a)
{
    ob_str(&d->out, "<presence from='");
    put_agent(d, a);
    ob_str(&d->out, "' to='");
    put_jid(d, d->o.queue);
    ob_str(&d->out, "/a");
    ob_dec(&d->out, (uint64_t)a);
    ob_str(&d->out, "'><x xmlns='http://jabber.org/protocol/muc'>"
                    "<history maxstanzas='0'/></x></presence>");
}

static void put_request_form(struct driver *d, const char *name)
{
    ob_str(&d->out, "<command xmlns='http://jabber.org/protocol/commands' "
                    "node='request-chat' action='execute'>"
                    "<x xmlns='jabber:x:data' type='submit'>"
                    "<field var='name'><value>");
    ob_str(&d->out, name);
    ob_str(&d->out, "</value></field><field var='email'><value>x@example.org"
                    "</value></field><field var='question'><value>My invoice "
                    "is wrong</value></field></x></command>");
}

static void ask_chat(struct driver *d, long i, bool again)
{
    ob_str(&d->out, "<iq type='set' id='r");
    ob_dec(&d->out, (uint64_t)i);
    ob_str(&d->out, "' from='");
    put_customer(d, i);
    ob_str(&d->out, "' to='");
    put_jid(d, d->o.queue);
    ob_str(&d->out, "'>");
    put_request_form(d, "Customer");
    ob_str(&d->out, "</iq>");
    d->chat[i].asked = true;
    if (!again)
        d->chats_asked++;
    d->chats_busy++;
}

static void start_chats(struct driver *d)
{
    if (now_ns() < d->retry_after_ns)
        return;
    while (d->n_retry && d->chats_busy < d->o.setup_window)
        ask_chat(d, d->retry[--d->n_retry], true);
    while (d->chats_asked < d->o.chats && d->chats_busy < d->o.setup_window)
        ask_chat(d, d->chats_asked, false);
}

/* The value of the first <field var='VAR'> of a stanza, into out. */
static bool field_value(const struct stanza *st, const char *var, char *out,
                        size_t size)
{
    char key[64];
    snprintf(key, sizeof key, "var='%s'", var);
    const char *p = memmem(st->p, st->len, key, strlen(key));
    if (!p)
        return false;
    const char *end = st->p + st->len;
    const char *v = memmem(p, (size_t)(end - p), "<value>", 7);
    if (!v)
        return false;
    v += 7;
    const char *e = memchr(v, '<', (size_t)(end - v));
    if (!e || (size_t)(e - v) >= size)
        return false;
    memcpy(out, v, (size_t)(e - v));
    out[e - v] = '\0';
    return true;
}

static long ticket_of_room(struct span room)
{
    static const char prefix[] = "ticket-";
    if (room.n <= sizeof prefix - 1 ||
        memcmp(room.p, prefix, sizeof prefix - 1) != 0)
        return -1;
    long k;
    return parse_dec(room.p + 7, room.p + room.n, &k) ? k : -1;
}

static void map_ticket(struct driver *d, long ticket, long chat)
{
    if (ticket >= d->ticket_cap) {
        long cap = d->ticket_cap ? d->ticket_cap : 1024;
        while (cap <= ticket)
            cap *= 2;
        d->ticket_chat = realloc(d->ticket_chat, (size_t)cap * sizeof(long));
        if (!d->ticket_chat)
            die("out of memory");
        for (long i = d->ticket_cap; i < cap; i++)
            d->ticket_chat[i] = -1;
        d->ticket_cap = cap;
    }
    d->ticket_chat[ticket] = chat;
}

static long chat_of_ticket(struct driver *d, long ticket)
{
    return ticket >= 0 && ticket < d->ticket_cap ? d->ticket_chat[ticket] : -1;
}

static void on_request_answer(struct driver *d, const struct stanza *st)
{
    long i;
    if (!parse_dec(st->id.p + 1, st->id.p + st->id.n, &i) || i >= d->o.chats)
        return;
    char room[300];
    if (!span_is(st->type, "result") || !field_value(st, "room", room,
                                                     sizeof room)) {
        d->setup_errors++;
        if (d->setup_errors <= 3)
            fprintf(stderr, BENCH_NAME ": request-chat failed: %.*s\n",
                    (int)(st->len > 400 ? 400 : st->len), st->p);
        d->chat[i].asked = false;
        d->retry[d->n_retry++] = i;
        d->retry_after_ns = now_ns() + 200 * 1000000ull;
        d->chats_busy--;
        return;
    }
    char *at = strchr(room, '@');
    if (at)
        *at = '\0';
    if (strlen(room) >= sizeof d->chat[i].room)
        die("unexpected room name %s", room);
    memcpy(d->chat[i].room, room, strlen(room) + 1);
    map_ticket(d, ticket_of_room((struct span){room, strlen(room)}), i);
    ob_str(&d->out, "<presence from='");
    put_customer(d, i);
    ob_str(&d->out, "' to='");
    put_jid(d, room);
    ob_str(&d->out, "/c");
    ob_dec(&d->out, (uint64_t)i);
    ob_str(&d->out, "'><x xmlns='http://jabber.org/protocol/muc'>"
                    "<history maxstanzas='0'/></x></presence>");
}

/* An agent's invitation (the offer): the agent enters, which accepts. */
static void on_invite(struct driver *d, const struct stanza *st)
{
    const char *at = memchr(st->from.p, '@', st->from.n);
    if (!at)
        return;
    ob_str(&d->out, "<presence from='");
    ob_put(&d->out, st->to.p, st->to.n);
    ob_str(&d->out, "' to='");
    ob_put(&d->out, st->from.p, st->from.n);
    ob_str(&d->out, "/agent'><x xmlns='http://jabber.org/protocol/muc'>"
                    "<history maxstanzas='0'/></x></presence>");
}

static bool has(const struct stanza *st, const char *lit)
{
    return memmem(st->p, st->len, lit, strlen(lit)) != NULL;
}

/* A self-presence (status 110) of an agent or a customer. */
static void on_self_presence(struct driver *d, const struct stanza *st)
{
    d->progress_ns = now_ns();
    struct span room = st->from;
    const char *at = memchr(room.p, '@', room.n);
    if (!at)
        return;
    room.n = (size_t)(at - room.p);
    bool agent = st->to.n && st->to.p[0] == 'a';
    if (span_is(room, d->o.queue)) {
        if (agent)
            d->agents_in++;
        return;
    }
    long i = chat_of_ticket(d, ticket_of_room(room));
    if (i < 0)
        return;
    struct chat *c = &d->chat[i];
    bool was_ready = c->customer_in && c->agent >= 0;
    if (agent) {
        long a;
        if (parse_dec(st->to.p + 1, st->to.p + st->to.n, &a))
            c->agent = a;
    } else {
        c->customer_in = true;
        d->chats_busy--;
    }
    if (!was_ready && c->customer_in && c->agent >= 0)
        d->chats_ready++;
}

/* ---- traffic ------------------------------------------------------------------- */

static void sample_cpu_rss(struct driver *d, struct phase_figures *f,
                           bool first)
{
    if (d->o.pid <= 0)
        return;
    long kb = read_rss_kb(d->o.pid);
    if (first) {
        f->rss_first_kb = f->rss_min_kb = f->rss_max_kb = kb;
        f->cpu0 = read_cpu_ticks(d->o.pid);
    }
    if (kb < f->rss_min_kb)
        f->rss_min_kb = kb;
    if (kb > f->rss_max_kb)
        f->rss_max_kb = kb;
    f->rss_last_kb = kb;
    f->cpu1 = read_cpu_ticks(d->o.pid);
}

static void send_normal(struct driver *d, uint64_t t)
{
    long i = d->next_chat;
    d->next_chat = (d->next_chat + 1) % d->o.chats;
    uint64_t seq = d->seq++;
    d->sent_at[seq & d->mask] = t;
    ob_str(&d->out, "<message type='groupchat' id='m");
    ob_hex(&d->out, seq);
    ob_str(&d->out, "' from='");
    put_customer(d, i);
    ob_str(&d->out, "' to='");
    put_jid(d, d->chat[i].room);
    ob_str(&d->out, "'><body>Any news about my invoice?</body></message>");
    d->fig[d->win].sent++;
    d->tl_sent++;
}

static void on_copy(struct driver *d, const struct stanza *st, uint64_t t)
{
    if (!(st->to.n && st->to.p[0] == 'a'))
        return; /* the customer's own copy */
    const char *p = st->id.p + 1;
    uint64_t seq;
    if (st->id.n < 2 || st->id.p[0] != 'm' ||
        !parse_hex(&p, st->id.p + st->id.n, &seq) || seq >= d->seq ||
        d->seq - seq > d->mask)
        return;
    uint64_t lat = t - d->sent_at[seq & d->mask];
    hist_add(&d->fig[d->win].lat, lat);
    hist_add(&d->tl_lat, lat);
    d->fig[d->win].copies++;
    d->tl_copies++;
}

/* One flood stanza, of the next kind; room-addressed kinds pick a session
 * room of the normal chats (concealed from the flooder). */
static void send_flood(struct driver *d)
{
    enum flood_kind k = (enum flood_kind)(d->flood_seq % F_KINDS);
    uint64_t id = d->flood_seq++;
    const char *room = d->chat[rnd(d) % (uint64_t)d->o.chats].room;
    struct obuf *b = &d->out;
    switch (k) {
    case F_ROOM_MESSAGE:
    case F_QUEUE_MESSAGE:
        ob_str(b, k == F_ROOM_MESSAGE ? "<message type='groupchat' id='f"
                                      : "<message type='chat' id='f");
        ob_hex(b, id);
        ob_str(b, "' from='");
        put_flooder(d, false);
        ob_str(b, "' to='");
        put_jid(d, k == F_ROOM_MESSAGE ? room : d->o.queue);
        ob_str(b, "'><body>buy cheap pills</body></message>");
        break;
    case F_JOIN:
        ob_str(b, "<presence id='f");
        ob_hex(b, id);
        ob_str(b, "' from='");
        put_flooder(d, false);
        ob_str(b, "' to='");
        put_jid(d, room);
        ob_str(b, "/spam'><x xmlns='http://jabber.org/protocol/muc'/>"
                  "</presence>");
        break;
    case F_ROOM_LIST:
    case F_MAM:
    case F_PING:
    case F_NEW_CHAT:
    case F_SESSION:
        ob_str(b, k == F_ROOM_LIST || k == F_PING ? "<iq type='get' id='f"
                                                  : "<iq type='set' id='f");
        ob_hex(b, id);
        ob_str(b, "' from='");
        put_flooder(d, k == F_NEW_CHAT && d->o.fresh);
        ob_str(b, "' to='");
        if (k == F_ROOM_LIST || k == F_PING)
            ob_str(b, d->o.domain);
        else
            put_jid(d, k == F_MAM ? room : d->o.queue);
        ob_str(b, "'>");
        if (k == F_ROOM_LIST)
            ob_str(b, "<query xmlns='http://jabber.org/protocol/disco#items'/>");
        else if (k == F_PING)
            ob_str(b, "<ping xmlns='urn:xmpp:ping'/>");
        else if (k == F_MAM)
            ob_str(b, "<query xmlns='urn:xmpp:mam:2'/>");
        else if (k == F_NEW_CHAT)
            put_request_form(d, "Spammer");
        else
            ob_str(b, "<command xmlns='http://jabber.org/protocol/commands' "
                      "node='request-chat' action='execute'/>");
        ob_str(b, "</iq>");
        break;
    case F_KINDS:
        break;
    }
    d->flood_out++;
    d->fig[d->win].flood_sent++;
    d->fig[d->win].kind_sent[k]++;
    d->tl_flood++;
}

/* Whatever comes back to the flooder: an answer frees a place in its
 * window (invitations to its own chat do not count). */
static void on_flood_answer(struct driver *d, const struct stanza *st)
{
    bool answer = span_is(st->name, "iq") || span_is(st->type, "error") ||
                  (span_is(st->name, "message") && span_is(st->type, "chat"));
    if (!answer)
        return;
    if (d->flood_out)
        d->flood_out--;
    d->fig[d->win].flood_answers++;
    d->answers_by_kind[span_is(st->type, "result") ? 0
                       : span_is(st->type, "error") ? 1 : 2]++;
}

static void on_stanza(struct driver *d, struct stanza *st, uint64_t t)
{
    parse_top(st);
    const char *to = st->to.p;
    if ((st->to.n > 5 && memcmp(to, "flood", 5) == 0) ||
        (st->to.n > 1 && to[0] == 'f')) {
        on_flood_answer(d, st);
        return;
    }
    if (span_is(st->name, "message")) {
        if (span_is(st->type, "groupchat")) {
            if (d->phase == PH_TRAFFIC || d->phase == PH_DRAIN)
                on_copy(d, st, t);
        } else if (st->to.n && to[0] == 'a' && has(st, "<invite")) {
            on_invite(d, st);
        }
        return;
    }
    if (span_is(st->name, "iq")) {
        if (st->id.n > 1 && st->id.p[0] == 'r')
            on_request_answer(d, st);
        return;
    }
    if (span_is(st->name, "presence")) {
        if (span_is(st->type, "error")) {
            d->setup_errors++;
            if (d->setup_errors <= 3)
                fprintf(stderr, BENCH_NAME ": join refused: %.*s\n",
                        (int)(st->len > 400 ? 400 : st->len), st->p);
        } else if (!st->type.n && has(st, "code='110'")) {
            on_self_presence(d, st);
        }
    }
}

/* ---- the stream ------------------------------------------------------------------ */

static void make_stream_id(struct driver *d)
{
    static const char digits[] = "0123456789abcdef";
    uint64_t x = now_ns() ^ ((uint64_t)getpid() << 32);
    for (int i = 0; i < 16; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        d->stream_id[i] = digits[x & 15];
    }
    d->stream_id[16] = '\0';
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char in[512];
    int il = snprintf(in, sizeof in, "%s%s", d->stream_id, d->o.secret);
    if (il < 0 || (size_t)il >= sizeof in ||
        !EVP_Digest(in, (size_t)il, md, &mdlen, EVP_sha1(), NULL) ||
        mdlen != 20)
        die("SHA-1 failed");
    for (unsigned i = 0; i < mdlen; i++) {
        d->expect_digest[2 * i] = digits[md[i] >> 4];
        d->expect_digest[2 * i + 1] = digits[md[i] & 15];
    }
    d->expect_digest[40] = '\0';
}

static void on_handshake(struct driver *d, const struct stanza *st)
{
    const char *gt = memchr(st->p, '>', st->len);
    const char *lt = gt ? memchr(gt, '<', (size_t)(st->p + st->len - gt)) : NULL;
    size_t n = gt && lt ? (size_t)(lt - gt - 1) : 0;
    if (!span_is(st->name, "handshake") || n != 40 ||
        strncasecmp(gt + 1, d->expect_digest, 40) != 0)
        die("component handshake refused (check the secret)");
    ob_str(&d->out, "<handshake/>");
    flush_out(d);
    d->phase = PH_SETTLE;
}

static size_t read_stream_header(struct driver *d, const char *p, size_t n)
{
    const char *h = memmem(p, n, "<stream:stream", 14);
    const char *gt = h ? memchr(h, '>', (size_t)(p + n - h)) : NULL;
    if (!gt)
        return 0;
    make_stream_id(d);
    ob_str(&d->out, "<?xml version='1.0'?><stream:stream "
                    "xmlns:stream='http://etherx.jabber.org/streams' "
                    "xmlns='jabber:component:accept' from='");
    ob_str(&d->out, d->o.domain);
    ob_str(&d->out, "' id='");
    ob_str(&d->out, d->stream_id);
    ob_str(&d->out, "'>");
    flush_out(d);
    d->stream_open = true;
    return (size_t)(gt - p) + 1;
}

static void consume(struct driver *d, uint64_t t)
{
    size_t pos = 0;
    if (!d->stream_open) {
        if (!(pos = read_stream_header(d, d->rbuf, d->rlen)))
            return;
    }
    while (pos < d->rlen) {
        const char *lt = memchr(d->rbuf + pos, '<', d->rlen - pos);
        if (!lt) {
            pos = d->rlen;
            break;
        }
        pos = (size_t)(lt - d->rbuf);
        size_t len = element_end(d->rbuf + pos, d->rlen - pos);
        if (len == 0)
            break;
        if (len == (size_t)-1) {
            d->peer_closed = true;
            pos = d->rlen;
            break;
        }
        struct stanza st = {.p = d->rbuf + pos, .len = len};
        if (d->phase == PH_HANDSHAKE) {
            parse_top(&st);
            on_handshake(d, &st);
        } else {
            on_stanza(d, &st, t);
        }
        pos += len;
    }
    memmove(d->rbuf, d->rbuf + pos, d->rlen - pos);
    d->rlen -= pos;
}

static void on_readable(struct driver *d)
{
    for (int round = 0; round < 8; round++) {
        if (d->rlen == d->rcap) {
            d->rcap *= 2;
            if (!(d->rbuf = realloc(d->rbuf, d->rcap)))
                die("out of memory (read buffer)");
        }
        ssize_t n = recv(d->fd, d->rbuf + d->rlen, d->rcap - d->rlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            d->peer_closed = true;
            return;
        }
        d->rlen += (size_t)n;
        consume(d, now_ns());
        if (d->peer_closed)
            return;
    }
}

/* ---- process and connection ------------------------------------------------------ */

static int listen_on(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0)
        die("cannot listen on %s:%d: %s", host, port, strerror(errno));
    return fd;
}

static void spawn(struct driver *d)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        close(d->lfd);
        pin_to(0, d->o.daemon_cpu, "component");
        execvp(d->o.cmd[0], d->o.cmd);
        fprintf(stderr, BENCH_NAME ": cannot run %s: %s\n", d->o.cmd[0],
                strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    d->o.pid = pid;
    d->spawned = true;
    child_group = pid;
}

static void accept_component(struct driver *d)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->lfd};
    epoll_ctl(d->ep, EPOLL_CTL_ADD, d->lfd, &ev);
    uint64_t deadline = now_ns() + 30 * S_NS;
    while (epoll_wait(d->ep, &ev, 1, 200) != 1) {
        if (d->spawned && waitpid(d->o.pid, NULL, WNOHANG) == d->o.pid)
            die("the component exited before connecting");
        if (now_ns() > deadline)
            die("no component connected within 30 s");
    }
    d->fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (d->fd < 0)
        die("accept: %s", strerror(errno));
    epoll_ctl(d->ep, EPOLL_CTL_DEL, d->lfd, NULL);
    close(d->lfd);
    int one = 1;
    setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = d->fd};
    epoll_ctl(d->ep, EPOLL_CTL_ADD, d->fd, &ev);
}

static void wait_ns(struct driver *d, uint64_t ns)
{
    struct epoll_event evs[4];
    struct timespec ts = {.tv_sec = (time_t)(ns / S_NS),
                          .tv_nsec = (long)(ns % S_NS)};
    int n = epoll_pwait2(d->ep, evs, 4, &ts, NULL);
    for (int i = 0; i < n; i++) {
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            on_readable(d);
        if (evs[i].events & EPOLLOUT)
            flush_out(d);
    }
}

/* ---- the run ----------------------------------------------------------------------- */

static void print_second(struct driver *d, uint64_t t)
{
    long kb = d->o.pid > 0 ? read_rss_kb(d->o.pid) : -1;
    printf("  t=%5.1f s %-6s normal %6" PRIu64 "/s p99 %8.3f ms  flood "
           "%7" PRIu64 "/s  rss %7.1f MB\n",
           (double)(t - d->traffic_start_ns) / 1e9, window_names[d->win],
           d->tl_copies, hist_percentile(&d->tl_lat, 0.99) / 1e6, d->tl_flood,
           kb / 1024.0);
    fflush(stdout);
    memset(&d->tl_lat, 0, sizeof d->tl_lat);
    d->tl_sent = d->tl_copies = d->tl_flood = 0;
    sample_cpu_rss(d, &d->fig[d->win], false);
}

/* The window the clock is in now; moving to the next samples its start. */
static void advance_window(struct driver *d, uint64_t t)
{
    double el = (double)(t - d->traffic_start_ns) / 1e9;
    enum window w = el < d->o.warmup_s                         ? W_WARMUP
                    : el < d->o.warmup_s + d->o.duration_s     ? W_QUIET
                    : el < d->o.warmup_s + 2 * d->o.duration_s ? W_FLOOD
                                                               : W_AFTER;
    if (w == d->win)
        return;
    d->fig[d->win].t1 = t;
    sample_cpu_rss(d, &d->fig[d->win], false);
    d->win = w;
    d->fig[w].t0 = t;
    sample_cpu_rss(d, &d->fig[w], true);
}

static uint64_t traffic(struct driver *d, uint64_t t)
{
    if (t >= d->next_sample_ns) {
        print_second(d, t); /* the second just gone, in its window */
        d->next_sample_ns += S_NS;
    }
    advance_window(d, t);
    double el = (double)(t - d->last_token_ns) / 1e9;
    d->last_token_ns = t;
    d->tokens += el * d->o.rate;
    if (d->tokens > d->o.rate / 100 + 1)
        d->tokens = d->o.rate / 100 + 1; /* no bursts after a stall */
    while (d->tokens >= 1) {
        send_normal(d, t);
        d->tokens -= 1;
    }
    if (d->win == W_FLOOD && !d->o.no_flood)
        for (int i = 0; i < 256 && d->flood_out < (uint64_t)d->o.window; i++)
            send_flood(d);
    uint64_t next = (uint64_t)((1 - d->tokens) / d->o.rate * 1e9);
    return next < 200000 ? next : 200000;
}

static void run(struct driver *d)
{
    uint64_t t0 = now_ns(), settle_until = 0, drain_until = 0;
    while (d->phase != PH_DONE) {
        uint64_t t = now_ns(), sleep_ns = 100 * 1000000ull;
        if (d->peer_closed)
            die("the component closed the connection (phase %d)", d->phase);
        switch (d->phase) {
        case PH_HANDSHAKE:
            if (t - t0 > 30 * S_NS)
                die("no handshake within 30 s");
            break;
        case PH_SETTLE:
            if (!settle_until)
                settle_until = t + (uint64_t)(d->o.settle_s * 1e9);
            if (t >= settle_until) {
                for (long a = 0; a < d->o.agents; a++)
                    join_queue(d, a);
                d->phase = PH_AGENTS;
                d->progress_ns = t;
            }
            break;
        case PH_AGENTS:
            if (d->agents_in == d->o.agents) {
                d->phase = PH_CHATS;
                fprintf(stderr, BENCH_NAME ": %ld agents in the queue room\n",
                        d->agents_in);
                sleep_ns = 0;
            } else if (t - d->progress_ns > 20 * S_NS) {
                die("only %ld of %ld agents could enter the queue room (is "
                    "the queue in the database?)",
                    d->agents_in, d->o.agents);
            }
            break;
        case PH_CHATS:
            start_chats(d);
            sleep_ns = 1000000;
            if (d->chats_ready == d->o.chats) {
                fprintf(stderr, BENCH_NAME ": %ld chats going on (%.1f s to "
                                "set up)\n",
                        d->chats_ready, (double)(t - t0) / 1e9);
                d->phase = PH_TRAFFIC;
                d->traffic_start_ns = d->last_token_ns = t;
                d->next_sample_ns = t + S_NS;
                d->fig[W_WARMUP].t0 = t;
                sample_cpu_rss(d, &d->fig[W_WARMUP], true);
                sleep_ns = 0;
            } else if (t - d->progress_ns > 30 * S_NS) {
                die("set-up stalled: %ld of %ld chats going on, %" PRIu64
                    " errors",
                    d->chats_ready, d->o.chats, d->setup_errors);
            }
            break;
        case PH_TRAFFIC:
            sleep_ns = traffic(d, t);
            if (t >= d->traffic_start_ns +
                         (uint64_t)((d->o.warmup_s + 3 * d->o.duration_s) *
                                    1e9)) {
                d->fig[d->win].t1 = t;
                sample_cpu_rss(d, &d->fig[d->win], false);
                d->phase = PH_DRAIN;
                drain_until = t + 2 * S_NS;
            }
            break;
        case PH_DRAIN:
            if (t >= drain_until)
                d->phase = PH_DONE;
            break;
        case PH_DONE:
            break;
        }
        if (ob_pending(&d->out))
            flush_out(d);
        wait_ns(d, sleep_ns);
    }
}

static void report(struct driver *d)
{
    long ticks = sysconf(_SC_CLK_TCK);
    printf("\n%-7s %8s %8s %9s %9s %9s %10s %9s %9s %6s\n", "phase",
           "msg/s", "copies", "p50 ms", "p99 ms", "max ms", "flood/s",
           "rss MB", "rss max", "comp%");
    for (int w = W_QUIET; w < W_COUNT; w++) {
        struct phase_figures *f = &d->fig[w];
        double secs = (double)(f->t1 - f->t0) / 1e9;
        double cpu = ticks > 0 && secs > 0
                         ? (double)(f->cpu1 - f->cpu0) / (double)ticks / secs
                         : 0;
        printf("%-7s %8.0f %8" PRIu64 " %9.3f %9.3f %9.3f %10.0f %9.1f %9.1f "
               "%6.1f\n",
               window_names[w], (double)f->sent / secs, f->copies,
               hist_percentile(&f->lat, 0.50) / 1e6,
               hist_percentile(&f->lat, 0.99) / 1e6, f->lat.max / 1e6,
               (double)f->flood_sent / secs, f->rss_last_kb / 1024.0,
               f->rss_max_kb / 1024.0, 100 * cpu);
        printf("RESULT phase=%s chats=%ld rate=%.0f sent=%" PRIu64
               " copies=%" PRIu64 " p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
               "flood_per_s=%.0f flood_answers=%" PRIu64 " rss_first_kb=%ld "
               "rss_last_kb=%ld rss_max_kb=%ld cpu_component=%.3f window=%ld "
               "fresh=%d\n",
               window_names[w], d->o.chats, d->o.rate, f->sent, f->copies,
               hist_percentile(&f->lat, 0.50) / 1e6,
               hist_percentile(&f->lat, 0.99) / 1e6, f->lat.max / 1e6,
               (double)f->flood_sent / secs, f->flood_answers,
               f->rss_first_kb, f->rss_last_kb, f->rss_max_kb, cpu,
               d->o.window, d->o.fresh);
    }
    struct phase_figures *f = &d->fig[W_FLOOD];
    printf("\nflood stanzas by kind:");
    for (int k = 0; k < F_KINDS; k++)
        printf(" %s=%" PRIu64, kind_names[k], f->kind_sent[k]);
    printf("\nflood answers: result=%" PRIu64 " error=%" PRIu64
           " other=%" PRIu64 "\n",
           d->answers_by_kind[0], d->answers_by_kind[1], d->answers_by_kind[2]);
    double q = hist_percentile(&d->fig[W_QUIET].lat, 0.99);
    if (q > 0)
        printf("normal chats' p99 during the flood / before: %.2f (goal: "
               "within 2)\n",
               hist_percentile(&f->lat, 0.99) / q);
}

/* ---- options ----------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: desk_flood --port P --domain D --secret S [options] "
            "[-- COMMAND...]\n"
            "  --users DOMAIN     the clients' domain (default bench.local)\n"
            "  --queue NAME       the queue (default billing)\n"
            "  --chats N          normal chats (default 1000)\n"
            "  --agents N         agents a0..a<N-1> (default 100)\n"
            "  --rate R           normal messages/s in all (default 1000)\n"
            "  --duration S       seconds per phase (default 10)\n"
            "  --warmup S         seconds before the first (default 3)\n"
            "  --window W         flood stanzas in flight (default 16)\n"
            "  --fresh            new chats of the flood from fresh JIDs\n"
            "  --no-flood         the flood phase without a flood\n"
            "  --pid PID          the component (else COMMAND is started)\n"
            "  --cpu C, --daemon-cpu C   pin the driver, the component\n");
    exit(2);
}

static void parse_args(struct opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"listen", 1, 0, 'l'}, {"port", 1, 0, 'p'}, {"domain", 1, 0, 'd'},
        {"secret", 1, 0, 's'}, {"users", 1, 0, 'u'}, {"queue", 1, 0, 'q'},
        {"chats", 1, 0, 'n'}, {"agents", 1, 0, 'a'}, {"rate", 1, 0, 'r'},
        {"duration", 1, 0, 'D'}, {"warmup", 1, 0, 'W'}, {"window", 1, 0, 'w'},
        {"fresh", 0, 0, 'f'}, {"no-flood", 0, 0, 'N'}, {"pid", 1, 0, 'P'},
        {"cpu", 1, 0, 'c'}, {"daemon-cpu", 1, 0, 'C'}, {"settle", 1, 0, 'S'},
        {0, 0, 0, 0}};
    *o = (struct opts){.listen_host = "127.0.0.1", .users = "bench.local",
                       .queue = "billing", .chats = 1000, .agents = 100,
                       .rate = 1000, .duration_s = 10, .warmup_s = 3,
                       .settle_s = 2, .window = 16, .setup_window = 50,
                       .cpu = -1, .daemon_cpu = -1};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'l': o->listen_host = optarg; break;
        case 'p': o->port = atoi(optarg); break;
        case 'd': o->domain = optarg; break;
        case 's': o->secret = optarg; break;
        case 'u': o->users = optarg; break;
        case 'q': o->queue = optarg; break;
        case 'n': o->chats = atol(optarg); break;
        case 'a': o->agents = atol(optarg); break;
        case 'r': o->rate = atof(optarg); break;
        case 'D': o->duration_s = atof(optarg); break;
        case 'W': o->warmup_s = atof(optarg); break;
        case 'w': o->window = atol(optarg); break;
        case 'f': o->fresh = true; break;
        case 'N': o->no_flood = true; break;
        case 'P': o->pid = (pid_t)atol(optarg); break;
        case 'c': o->cpu = atoi(optarg); break;
        case 'C': o->daemon_cpu = atoi(optarg); break;
        case 'S': o->settle_s = atof(optarg); break;
        default: usage();
        }
    }
    if (optind < argc)
        o->cmd = argv + optind;
    if (!o->port || !o->domain || !o->secret || o->chats < 1 ||
        o->agents < 1 || o->rate <= 0 || o->window < 1 ||
        (!o->cmd && o->pid <= 0))
        usage();
}

int main(int argc, char **argv)
{
    struct driver *d = xmalloc(sizeof *d);
    parse_args(&d->o, argc, argv);
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGPIPE, SIG_IGN);
    pin_to(0, d->o.cpu, "driver");
    d->chat = xmalloc((size_t)d->o.chats * sizeof *d->chat);
    d->retry = xmalloc((size_t)d->o.chats * sizeof *d->retry);
    for (long i = 0; i < d->o.chats; i++)
        d->chat[i].agent = -1;
    d->mask = (1u << 20) - 1;
    d->sent_at = xmalloc((d->mask + 1) * sizeof *d->sent_at);
    d->rcap = 1u << 20;
    d->rbuf = xmalloc(d->rcap);
    d->rng = 0x9e3779b97f4a7c15ull ^ now_ns();
    d->ep = epoll_create1(EPOLL_CLOEXEC);
    d->lfd = listen_on(d->o.listen_host, d->o.port);
    if (d->o.cmd)
        spawn(d);
    else
        pin_process(d->o.pid, d->o.daemon_cpu);
    accept_component(d);
    run(d);
    report(d);
    if (d->spawned) {
        kill(-d->o.pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(d->o.pid, NULL, WNOHANG) == 0; i++)
            usleep(100000);
        kill_child_group();
    }
    return 0;
}
