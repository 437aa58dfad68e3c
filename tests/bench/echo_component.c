/* echo_component: the fastest MUC-shaped component this stack allows.
 *
 * It is the yardstick for mucdesk's fan-out figures (issue 3, "Benchmark"):
 * built on the same libstrophe 0.12.2, connected the same way (the
 * component-mode crash workaround, the socket fd captured in the sockopt
 * callback, driven from epoll with xmpp_run_once), and writing the same
 * stanzas mucdesk writes, but doing nothing else: no JID preparation, no
 * privileges, no history, no archive.  Whatever it reaches is "the
 * physical limit of this stack"; tests/bench/muc_load runs against both and
 * prints the ratio.
 *
 * What it does:
 *   - a join presence to roomN@DOMAIN/nick: remembers (up to) three
 *     occupants per room, answers with the others' presence, the
 *     self-presence (110, and 201 for the first), and an empty subject;
 *   - a muc#owner iq (the instant-room form): an empty result;
 *   - a groupchat message from an occupant: reflected to all occupants of
 *     the room, sender included, each copy with the sender's id, a
 *     XEP-0359 stanza-id and a XEP-0421 occupant-id, like mucdesk's.
 *
 * To be the *best* this stack can do it serialises every reply itself into
 * one buffer per loop turn and hands that to xmpp_send_raw() once (one
 * write per turn instead of libstrophe's serialisation and one write per
 * stanza), and it keeps libstrophe from rendering every received stanza to
 * text for a debug log nobody reads (see xmpp_stanza_to_text() below;
 * --render restores the stock behaviour, to measure what that costs). */

#include "build-config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strophe.h>

#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define NS_MUC_OWNER "http://jabber.org/protocol/muc#owner"

/* ---- keeping libstrophe from rendering what it receives --------------------
 * libstrophe 0.12.2 calls xmpp_stanza_to_text() on every received stanza
 * (conn.c, _handle_stream_stanza) only to pass the text to strophe_debug(),
 * which drops it when no logger is set: a full serialisation and an
 * allocation per stanza for nothing.  The library calls the function
 * through its PLT, so a definition in the executable interposes it.  The
 * other callers inside libstrophe are xmpp_send() (not used here: replies go
 * out with xmpp_send_raw) and two error paths that log, which cope with a
 * failure.  With --render the real function is called. */

static bool render_stanzas;

int xmpp_stanza_to_text(xmpp_stanza_t *stanza, char **buf, size_t *buflen)
{
    typedef int (*to_text_fn)(xmpp_stanza_t *, char **, size_t *);
    static to_text_fn real;
    if (render_stanzas) {
        if (!real)
            real = (to_text_fn)(uintptr_t)dlsym(RTLD_NEXT,
                                                "xmpp_stanza_to_text");
        if (real)
            return real(stanza, buf, buflen);
    }
    *buf = NULL;
    *buflen = 0;
    return XMPP_EINT;
}

/* ---- output buffer ------------------------------------------------------- */

struct obuf {
    char *data;
    size_t len, cap;
};

static void ob_reserve(struct obuf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256u << 10;
    while (cap < b->len + n)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        fprintf(stderr, "echo_component: out of memory\n");
        exit(1);
    }
    b->data = d;
    b->cap = cap;
}

static void ob_put(struct obuf *b, const char *s, size_t n)
{
    ob_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void ob_str(struct obuf *b, const char *s)
{
    ob_put(b, s, strlen(s));
}

/* XML escaping for text and single-quoted attribute values, as mucdesk's
 * xml.c does it: runs without special characters are copied at once. */
static void ob_esc(struct obuf *b, const char *s)
{
    size_t start = 0, i = 0;
    for (; s[i]; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\'': rep = "&apos;"; break;
        case '"': rep = "&quot;"; break;
        default: continue;
        }
        ob_put(b, s + start, i - start);
        ob_str(b, rep);
        start = i + 1;
    }
    ob_put(b, s + start, i - start);
}

/* ---- rooms ------------------------------------------------------------------ */

struct occupant {
    char *jid;  /* full JID of the client */
    char *nick;
    char oid[17]; /* XEP-0421 occupant id */
    bool owner;
};

struct room {
    struct occupant occ[3];
    unsigned n;
};

struct echo {
    const char *domain, *secret, *host;
    unsigned short port;
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    int fd, ep;
    bool refuse_sockets, up, down;
    uint32_t watched;

    struct room *rooms;
    size_t nrooms;
    struct obuf out;
    struct obuf scratch;
    uint64_t sid_counter;
    int reads_per_turn;

    uint64_t stanzas_in, groupchat_in, stanzas_out, turns, writes;
};

/* libstrophe's sockopt callback receives only the connection; one
 * connection per process, so a static is the simplest link back. */
static struct echo *sockopt_owner;

static int on_new_socket(xmpp_conn_t *conn, void *sockptr)
{
    struct echo *e = sockopt_owner;
    int fd = *(int *)sockptr;
    (void)conn;
    if (e->refuse_sockets)
        return -1;
    if (fd >= FD_SETSIZE)
        return -1; /* libstrophe uses select(2) */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    e->fd = fd;
    return 0;
}

/* "roomN@DOMAIN" or "roomN@DOMAIN/nick": N, or -1. */
static long room_number(const char *jid)
{
    if (!jid || strncmp(jid, "room", 4) != 0)
        return -1;
    char *end;
    long n = strtol(jid + 4, &end, 10);
    if (end == jid + 4 || *end != '@' || n < 0)
        return -1;
    return n;
}

static struct room *room_get(struct echo *e, long n)
{
    if ((size_t)n >= e->nrooms) {
        size_t cap = e->nrooms ? e->nrooms : 1024;
        while (cap <= (size_t)n)
            cap *= 2;
        struct room *r = realloc(e->rooms, cap * sizeof *r);
        if (!r)
            return NULL;
        memset(r + e->nrooms, 0, (cap - e->nrooms) * sizeof *r);
        e->rooms = r;
        e->nrooms = cap;
    }
    return &e->rooms[n];
}

static void make_oid(struct occupant *o, long room, unsigned k)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t x = (uint64_t)room * 0x9E3779B97F4A7C15ull + k + 1;
    for (int i = 0; i < 16; i++) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        o->oid[i] = b64[x >> 58];
    }
    o->oid[16] = '\0';
}

static void write_presence(struct echo *e, const char *room_jid,
                           const struct occupant *about, const char *to,
                           bool self, bool created)
{
    struct obuf *b = &e->out;
    ob_str(b, "<presence from='");
    ob_esc(b, room_jid);
    ob_put(b, "/", 1);
    ob_esc(b, about->nick);
    ob_str(b, "' to='");
    ob_esc(b, to);
    ob_str(b, "'><x xmlns='" NS_MUC_USER "'><item ");
    /* The room's creator owns it (and moderates); the others take part. */
    ob_str(b, about->owner ? "affiliation='owner' role='moderator'/>"
                           : "affiliation='none' role='participant'/>");
    if (self) {
        ob_str(b, "<status code='110'/>");
        if (created)
            ob_str(b, "<status code='201'/>");
    }
    ob_str(b, "</x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='");
    ob_str(b, about->oid);
    ob_str(b, "'/></presence>");
    e->stanzas_out++;
}

static void on_presence(struct echo *e, xmpp_stanza_t *st)
{
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    const char *type = xmpp_stanza_get_type(st);
    long n = room_number(to);
    const char *slash = to ? strchr(to, '/') : NULL;
    if (n < 0 || !from || !slash || (type && strcmp(type, "unavailable") != 0))
        return;
    struct room *r = room_get(e, n);
    if (!r)
        return;
    char room_jid[256];
    snprintf(room_jid, sizeof room_jid, "%.*s", (int)(slash - to), to);

    if (type) { /* unavailable: forget the occupant */
        for (unsigned i = 0; i < r->n; i++)
            if (strcmp(r->occ[i].jid, from) == 0) {
                free(r->occ[i].jid);
                free(r->occ[i].nick);
                r->occ[i] = r->occ[--r->n];
                break;
            }
        return;
    }
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->occ[i].jid, from) == 0)
            return; /* already in */
    if (r->n == 3) {
        ob_str(&e->out, "<presence type='error' from='");
        ob_esc(&e->out, to);
        ob_str(&e->out, "' to='");
        ob_esc(&e->out, from);
        ob_str(&e->out, "'><error type='wait'><service-unavailable "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                        "</error></presence>");
        return;
    }
    bool created = r->n == 0;
    struct occupant *o = &r->occ[r->n];
    o->jid = strdup(from);
    o->nick = strdup(slash + 1);
    if (!o->jid || !o->nick)
        return;
    make_oid(o, n, r->n);
    o->owner = created;
    r->n++;
    /* The join order of XEP-0045 §7.2: the others' presence, the
     * self-presence, (history,) the subject; the others learn of the new
     * occupant. */
    for (unsigned i = 0; i + 1 < r->n; i++) {
        write_presence(e, room_jid, &r->occ[i], from, false, false);
        write_presence(e, room_jid, o, r->occ[i].jid, false, false);
    }
    write_presence(e, room_jid, o, from, true, created);
    ob_str(&e->out, "<message type='groupchat' from='");
    ob_esc(&e->out, room_jid);
    ob_str(&e->out, "' to='");
    ob_esc(&e->out, from);
    ob_str(&e->out, "'><subject/></message>");
    e->stanzas_out++;
}

static void on_groupchat(struct echo *e, xmpp_stanza_t *st)
{
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    long n = room_number(to);
    if (n < 0 || (size_t)n >= e->nrooms || !from)
        return;
    struct room *r = &e->rooms[n];
    const struct occupant *sender = NULL;
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->occ[i].jid, from) == 0)
            sender = &r->occ[i];
    if (!sender)
        return;
    xmpp_stanza_t *body = xmpp_stanza_get_child_by_name(st, "body");
    xmpp_stanza_t *text = body ? xmpp_stanza_get_children(body) : NULL;
    const char *body_text = text ? xmpp_stanza_get_text_ptr(text) : NULL;
    const char *id = xmpp_stanza_get_id(st);
    e->groupchat_in++;

    /* Like mucdesk (muc/archiving.c, muc_msg_fanout): everything before and
     * after the recipient's JID is built once, then copied per recipient. */
    struct obuf *h = &e->scratch;
    h->len = 0;
    ob_str(h, "<message type='groupchat' from='");
    ob_esc(h, to);
    ob_put(h, "/", 1);
    ob_esc(h, sender->nick);
    ob_put(h, "'", 1);
    if (id) {
        ob_str(h, " id='");
        ob_esc(h, id);
        ob_put(h, "'", 1);
    }
    ob_str(h, " to='");
    size_t head_len = h->len;
    ob_str(h, "'>");
    if (body_text) {
        ob_str(h, "<body>");
        ob_esc(h, body_text);
        ob_str(h, "</body>");
    }
    /* A stanza id as long as mucdesk's: 10 random-looking characters and a
     * counter. */
    char sid[32];
    snprintf(sid, sizeof sid, "bq3xk7f2ma%" PRIx64, ++e->sid_counter);
    ob_str(h, "<stanza-id xmlns='urn:xmpp:sid:0' id='");
    ob_str(h, sid);
    ob_str(h, "' by='");
    ob_esc(h, to);
    ob_str(h, "'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='");
    ob_str(h, sender->oid);
    ob_str(h, "'/></message>");

    for (unsigned i = 0; i < r->n; i++) {
        ob_put(&e->out, h->data, head_len);
        ob_esc(&e->out, r->occ[i].jid);
        ob_put(&e->out, h->data + head_len, h->len - head_len);
        e->stanzas_out++;
    }
}

static void on_iq(struct echo *e, xmpp_stanza_t *st)
{
    const char *type = xmpp_stanza_get_type(st);
    if (!type || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
        return;
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    const char *id = xmpp_stanza_get_id(st);
    if (!from || !to || !id)
        return;
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_ns(st, NS_MUC_OWNER);
    struct obuf *b = &e->out;
    ob_str(b, q ? "<iq type='result' from='" : "<iq type='error' from='");
    ob_esc(b, to);
    ob_str(b, "' to='");
    ob_esc(b, from);
    ob_str(b, "' id='");
    ob_esc(b, id);
    if (q)
        ob_str(b, "'/>");
    else
        ob_str(b, "'><error type='cancel'><service-unavailable "
                  "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    e->stanzas_out++;
}

static int on_stanza(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct echo *e = ud;
    (void)conn;
    e->stanzas_in++;
    const char *name = xmpp_stanza_get_name(st);
    if (!name)
        return 1;
    if (strcmp(name, "message") == 0) {
        const char *type = xmpp_stanza_get_type(st);
        if (type && strcmp(type, "groupchat") == 0)
            on_groupchat(e, st);
    } else if (strcmp(name, "presence") == 0) {
        on_presence(e, st);
    } else if (strcmp(name, "iq") == 0) {
        on_iq(e, st);
    }
    return 1; /* keep the handler */
}

static void on_conn_event(xmpp_conn_t *conn, xmpp_conn_event_t status,
                          int error, xmpp_stream_error_t *stream_error,
                          void *ud)
{
    struct echo *e = ud;
    (void)conn;
    if (status == XMPP_CONN_CONNECT) {
        e->up = true;
        return;
    }
    if (status == XMPP_CONN_DISCONNECT || status == XMPP_CONN_FAIL) {
        if (stream_error && stream_error->type == XMPP_SE_NOT_AUTHORIZED)
            fprintf(stderr, "echo_component: handshake refused\n");
        else if (!e->up)
            fprintf(stderr, "echo_component: cannot connect: %s\n",
                    error ? strerror(error) : "closed");
        e->down = true;
    }
}

/* ---- the loop ------------------------------------------------------------------- */

static void watch(struct echo *e)
{
    uint32_t want = EPOLLIN;
    if (!e->up || xmpp_conn_send_queue_len(e->conn) > 0)
        want |= EPOLLOUT;
    if (want == e->watched)
        return;
    struct epoll_event ev = {.events = want, .data.fd = e->fd};
    epoll_ctl(e->ep, e->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, e->fd, &ev);
    e->watched = want;
}

static void loop(struct echo *e)
{
    struct epoll_event ev;
    while (!e->down) {
        watch(e);
        int n = epoll_wait(e->ep, &ev, 1, e->up ? 1000 : 50);
        if (n < 0 && errno != EINTR)
            break;
        e->turns++;
        /* libstrophe reads at most 4 KiB per xmpp_run_once(): read a few
         * times while more is waiting, so one write answers more. */
        for (int i = 0; i < e->reads_per_turn && !e->down; i++) {
            xmpp_run_once(e->ctx, 0);
            int pending = 0;
            if (e->down || ioctl(e->fd, FIONREAD, &pending) < 0 || pending == 0)
                break;
        }
        if (e->out.len && e->up) {
            xmpp_send_raw(e->conn, e->out.data, e->out.len);
            e->writes++;
            e->out.len = 0;
        }
    }
}

static void usage(FILE *to)
{
    fputs("usage: echo_component --domain D --secret S [--host IP] [--port N]\n"
          "                      [--reads N] [--render] [--cpu N]\n"
          "A minimal MUC-shaped XEP-0114 component on libstrophe (see the\n"
          "source): rooms of three occupants, groupchat reflected to all.\n"
          "  --reads N   xmpp_run_once() calls per loop turn at most (default 8)\n"
          "  --render    let libstrophe render every received stanza to text\n"
          "              (its stock behaviour) instead of skipping that\n",
          to);
}

int main(int argc, char **argv)
{
    static struct echo echo;
    struct echo *e = &echo;
    e->host = "127.0.0.1";
    e->port = 5347;
    e->reads_per_turn = 8;
    e->fd = -1;
    int cpu = -1;
    static const struct option lo[] = {
        {"domain", 1, 0, 'd'}, {"secret", 1, 0, 's'}, {"host", 1, 0, 'H'},
        {"port", 1, 0, 'p'},   {"reads", 1, 0, 'r'},  {"render", 0, 0, 'R'},
        {"cpu", 1, 0, 'c'},    {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'd': e->domain = optarg; break;
        case 's': e->secret = optarg; break;
        case 'H': e->host = optarg; break;
        case 'p': e->port = (unsigned short)atoi(optarg); break;
        case 'r': e->reads_per_turn = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'R': render_stanzas = true; break;
        case 'c': cpu = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!e->domain || !e->secret) {
        usage(stderr);
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    signal(SIGPIPE, SIG_IGN);

    xmpp_initialize();
    e->ctx = xmpp_ctx_new(NULL, NULL);
    e->conn = xmpp_conn_new(e->ctx);
    xmpp_conn_set_jid(e->conn, e->domain);
    xmpp_conn_set_pass(e->conn, e->secret);
    sockopt_owner = e;
    xmpp_conn_set_sockopt_callback(e->conn, on_new_socket);
    xmpp_handler_add(e->conn, on_stanza, NULL, NULL, NULL, e);

    /* The component-mode crash workaround (ARCHITECTURE.md, xmpp/link.c):
     * a client connect that fails before any I/O allocates the XEP-0198
     * state libstrophe 0.12.2 dereferences on every stanza. */
    e->refuse_sockets = true;
    if (xmpp_connect_client(e->conn, e->host, e->port, on_conn_event, e) ==
        XMPP_EOK) {
        fprintf(stderr, "echo_component: workaround failed\n");
        return 1;
    }
    e->refuse_sockets = false;
    if (xmpp_connect_component(e->conn, e->host, e->port, on_conn_event, e) !=
            XMPP_EOK ||
        e->fd < 0) {
        fprintf(stderr, "echo_component: cannot connect to %s:%u\n", e->host,
                e->port);
        return 1;
    }
    e->ep = epoll_create1(EPOLL_CLOEXEC);
    loop(e);

    fprintf(stderr,
            "echo_component: %" PRIu64 " stanzas in (%" PRIu64
            " groupchat), %" PRIu64 " out, %" PRIu64 " turns, %" PRIu64
            " writes\n",
            e->stanzas_in, e->groupchat_in, e->stanzas_out, e->turns,
            e->writes);
    xmpp_conn_release(e->conn);
    xmpp_ctx_free(e->ctx);
    xmpp_shutdown();
    for (size_t i = 0; i < e->nrooms; i++)
        for (unsigned k = 0; k < e->rooms[i].n; k++) {
            free(e->rooms[i].occ[k].jid);
            free(e->rooms[i].occ[k].nick);
        }
    free(e->rooms);
    free(e->out.data);
    free(e->scratch.data);
    return 0;
}
