/* muc_load: a load driver for mucdesk's MUC service (issue 3, "Benchmark").
 *
 * It plays the XMPP server's side of XEP-0114 itself: it listens on a
 * loopback port, accepts the component's connection, performs the
 * handshake, and then plays every client.  Rooms are set up with three
 * occupants each (the first one an admin, who creates the room and
 * configures it as an instant room), then groupchat messages are sent at a
 * set rate or flat out and each reflected copy is timed.
 *
 * The driver must not be the bottleneck, so it is deliberately plain: one
 * non-blocking socket under epoll, a large read buffer, a streaming scanner
 * that only finds stanza boundaries and a few attributes of the top element
 * (no DOM, no allocation per stanza), writes batched into one buffer, and a
 * log-bucket histogram for latency.  Run it pinned to another core than the
 * component (--cpu / --daemon-cpu) and check the "driver CPU" line: well
 * under 100% means the component, not the driver, set the pace.
 *
 * The component under test is either started by the driver (everything
 * after "--" is executed once the driver listens) or already running and
 * named with --pid; the pid is needed for RSS and CPU figures.
 *
 * Output: a human-readable report on stdout, and one line starting with
 * "RESULT " with key=value pairs for scripts (tests/bench/run-muc). */

#include "build-config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

/* ---- the run's parameters and state ---------------------------------------- */

enum phase { PH_HANDSHAKE, PH_SETTLE, PH_SETUP, PH_TRAFFIC, PH_DRAIN, PH_DONE };

enum room_state { RS_IDLE, RS_CREATING, RS_CONFIGURING, RS_JOINING, RS_READY };

/* Per message slot: copies received (0..3), or this flag for "answered with
 * an error". */
#define SLOT_ERROR 0x80u

struct opts {
    const char *label;
    const char *listen_host;
    int port;
    const char *domain, *secret;
    const char *admin;       /* bare JID listed in [service] admins */
    const char *user_domain; /* domain of the simulated clients */
    long rooms;
    double rate;             /* messages/s in total; 0 = flat out */
    double duration_s, warmup_s;
    long per_room;           /* if > 0: stop after rooms*per_room messages */
    long window;             /* max messages without any copy back yet */
    long setup_window;       /* rooms being set up at once */
    int archive;             /* -1 leave the default, 0 off, 1 on */
    size_t body_bytes;
    pid_t pid;
    int cpu, daemon_cpu;
    double setup_timeout_s, drain_timeout_s, settle_s;
    bool verbose;
    double timeline_s;       /* > 0: print latency figures per interval */
    char **cmd;              /* component to start, or NULL */
};

struct driver {
    struct opts o;
    int ep, lfd, fd;
    enum phase phase;
    bool spawned;
    bool peer_closed;

    char *rbuf;
    size_t rlen, rcap;
    bool stream_open; /* the component's stream header has been read */
    struct obuf out;
    bool want_out;    /* EPOLLOUT requested */

    char stream_id[33];
    char expect_digest[41];

    /* setup */
    uint8_t *room_state;
    uint8_t *joined; /* per room: occupants with a 110 self-presence */
    long next_room;  /* next room to start setting up */
    long rooms_busy; /* rooms being set up */
    long rooms_ready;
    uint64_t setup_started_ns, setup_done_ns;
    uint64_t setup_progress_ns; /* last self-presence or config result */

    /* traffic */
    char *body;
    uint64_t seq;         /* messages sent */
    uint64_t outstanding; /* sent, no copy and no error back yet */
    uint8_t *slot;
    uint64_t slot_mask;
    double tokens;
    uint64_t last_token_ns;
    uint64_t traffic_start_ns, meas_start_ns, traffic_end_ns, drain_end_ns;
    uint64_t meas_first_seq; /* first message sent in the measured window */
    uint64_t meas_last_seq;  /* first message sent after it */
    uint64_t target_msgs;    /* with --per-room */

    /* figures */
    struct hist lat;
    uint64_t in_meas, stanzas_meas;        /* within the measured window */
    uint64_t accepted, complete, copies_total, stanzas_in_total;
    uint64_t errors, error_msgs, setup_errors, unexpected, stale;
    uint64_t stalls;        /* turns when the window was full */
    long rss_before_kb, rss_setup_kb, rss_after_kb;
    double daemon_cpu_meas, driver_cpu_meas;
    uint64_t d_cpu0, d_cpu1; /* clock ticks */
    double drv_cpu0, drv_cpu1;
    unsigned errors_shown;

    /* --timeline: the current interval */
    uint64_t tl_start_ns, tl_copies, tl_over_1ms, tl_max;
};

/* ---- socket output ------------------------------------------------------------ */

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

/* ---- the simulated clients ------------------------------------------------------
 * Occupant i (0 <= i < 3 * rooms) is in room i / 3.  The first occupant of
 * each room is the admin, with one resource per room (ADMIN/u<i>); the
 * others are u<i>@USERDOMAIN/r.  Their nick in the room is n<i % 3>. */

static void put_occupant_jid(struct driver *d, long occ)
{
    struct obuf *b = &d->out;
    if (occ % 3 == 0) {
        ob_str(b, d->o.admin);
        ob_str(b, "/u");
        ob_dec(b, (uint64_t)occ);
    } else {
        ob_put(b, "u", 1);
        ob_dec(b, (uint64_t)occ);
        ob_put(b, "@", 1);
        ob_str(b, d->o.user_domain);
        ob_put(b, "/r", 2);
    }
}

static void put_room_jid(struct driver *d, long room)
{
    ob_put(&d->out, "room", 4);
    ob_dec(&d->out, (uint64_t)room);
    ob_put(&d->out, "@", 1);
    ob_str(&d->out, d->o.domain);
}

/* The occupant a stanza is addressed to, or -1. */
static long occupant_of(struct driver *d, struct span to)
{
    const char *p = to.p, *end = to.p + to.n;
    size_t al = strlen(d->o.admin);
    long v;
    if (to.n > al + 2 && memcmp(p, d->o.admin, al) == 0 && p[al] == '/' &&
        p[al + 1] == 'u') {
        if (parse_dec(p + al + 2, end, &v))
            return v;
        return -1;
    }
    if (to.n > 1 && p[0] == 'u' && parse_dec(p + 1, end, &v))
        return v;
    return -1;
}

static void send_join(struct driver *d, long occ)
{
    struct obuf *b = &d->out;
    ob_str(b, "<presence from='");
    put_occupant_jid(d, occ);
    ob_str(b, "' to='");
    put_room_jid(d, occ / 3);
    ob_str(b, "/n");
    ob_dec(b, (uint64_t)(occ % 3));
    ob_str(b, "'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
}

/* XEP-0045 §10.1.2, instant room: an empty submitted form accepts the
 * defaults.  With --archive, the one field that decides archiving is set
 * (mucdesk's form: muc#roomconfig_enablelogging). */
static void send_room_config(struct driver *d, long room)
{
    struct obuf *b = &d->out;
    ob_str(b, "<iq type='set' id='c");
    ob_dec(b, (uint64_t)room);
    ob_str(b, "' from='");
    put_occupant_jid(d, room * 3);
    ob_str(b, "' to='");
    put_room_jid(d, room);
    ob_str(b, "'><query xmlns='http://jabber.org/protocol/muc#owner'>"
              "<x xmlns='jabber:x:data' type='submit'>");
    if (d->o.archive >= 0) {
        ob_str(b, "<field var='FORM_TYPE'><value>"
                  "http://jabber.org/protocol/muc#roomconfig</value></field>"
                  "<field var='muc#roomconfig_enablelogging'><value>");
        ob_str(b, d->o.archive ? "1" : "0");
        ob_str(b, "</value></field>");
    }
    ob_str(b, "</x></query></iq>");
}

static void start_rooms(struct driver *d)
{
    while (d->rooms_busy < d->o.setup_window && d->next_room < d->o.rooms) {
        long r = d->next_room++;
        d->room_state[r] = RS_CREATING;
        d->rooms_busy++;
        send_join(d, r * 3);
    }
}

static void show_error(struct driver *d, const struct stanza *st)
{
    if (d->errors_shown >= 5 && !d->o.verbose)
        return;
    if (d->errors_shown++ == 5 && !d->o.verbose) {
        fprintf(stderr, "muc_load: (further error stanzas not shown)\n");
        return;
    }
    fprintf(stderr, "muc_load: error stanza: %.*s\n",
            (int)(st->len > 600 ? 600 : st->len), st->p);
}

static void on_self_presence(struct driver *d, long occ)
{
    long r = occ / 3;
    d->setup_progress_ns = now_ns();
    if (occ < 0 || r >= d->o.rooms)
        return;
    if (occ % 3 == 0 && d->room_state[r] == RS_CREATING) {
        d->room_state[r] = RS_CONFIGURING;
        send_room_config(d, r);
        return;
    }
    if (d->joined[r] < 3 && ++d->joined[r] == 3 &&
        d->room_state[r] == RS_JOINING) {
        d->room_state[r] = RS_READY;
        d->rooms_busy--;
        d->rooms_ready++;
    }
}

static void on_config_result(struct driver *d, struct span id)
{
    long r;
    if (id.n < 2 || id.p[0] != 'c' || !parse_dec(id.p + 1, id.p + id.n, &r) ||
        r >= d->o.rooms || d->room_state[r] != RS_CONFIGURING)
        return;
    d->setup_progress_ns = now_ns();
    d->room_state[r] = RS_JOINING;
    d->joined[r] = 1; /* the admin */
    send_join(d, r * 3 + 1);
    send_join(d, r * 3 + 2);
}

/* One reflected groupchat copy, or an error for one of our messages. */
static void on_traffic_message(struct driver *d, const struct stanza *st,
                               bool is_error, uint64_t recv_ns)
{
    const char *p = st->id.p + 1, *end = st->id.p + st->id.n;
    uint64_t seq, sent_ns;
    if (!parse_hex(&p, end, &seq) || p >= end || *p != '-' ||
        (p++, !parse_hex(&p, end, &sent_ns))) {
        d->unexpected++;
        return;
    }
    if (seq >= d->seq || d->seq - seq > d->slot_mask) {
        d->stale++; /* older than the slot ring remembers */
        return;
    }
    uint8_t *s = &d->slot[seq & d->slot_mask];
    if (is_error) {
        d->error_msgs++;
        if (*s == 0)
            d->outstanding--;
        *s |= SLOT_ERROR;
        return;
    }
    d->copies_total++;
    uint8_t copies = (uint8_t)((*s & ~SLOT_ERROR) + 1);
    *s = (uint8_t)((*s & SLOT_ERROR) | copies);
    if (copies == 1) {
        if (!(*s & SLOT_ERROR))
            d->outstanding--;
        d->accepted++;
        if (d->meas_start_ns && recv_ns >= d->meas_start_ns &&
            d->phase == PH_TRAFFIC)
            d->in_meas++;
    }
    if (copies == 3)
        d->complete++;
    if (seq >= d->meas_first_seq && d->meas_start_ns)
    {
        uint64_t lat = recv_ns > sent_ns ? recv_ns - sent_ns : 0;
        hist_add(&d->lat, lat);
        d->tl_copies++;
        if (lat > 1000000)
            d->tl_over_1ms++;
        if (lat > d->tl_max)
            d->tl_max = lat;
    }
}

/* A join or a room configuration refused: the component cannot take this
 * load (no MUC service, the driver's admin not in [service] admins, a
 * limit), and waiting for the setup timeout would only hide it. */
static void setup_failed(struct driver *d)
{
    if (d->phase == PH_SETUP)
        die("setup refused by the component after %ld of %ld rooms (the "
            "error stanza is above)",
            d->rooms_ready, d->o.rooms);
}

static bool contains(const struct stanza *st, const char *lit)
{
    return memmem(st->p, st->len, lit, strlen(lit)) != NULL;
}

static void on_stanza(struct driver *d, struct stanza *st, uint64_t recv_ns)
{
    parse_top(st);
    d->stanzas_in_total++;
    if (d->phase == PH_TRAFFIC && recv_ns >= d->meas_start_ns &&
        d->meas_start_ns)
        d->stanzas_meas++;
    bool is_error = span_is(st->type, "error");

    if (span_is(st->name, "message")) {
        if (st->id.n > 2 && st->id.p[0] == 'b') {
            if (is_error) {
                d->errors++;
                show_error(d, st);
            }
            on_traffic_message(d, st, is_error, recv_ns);
            return;
        }
        if (is_error) {
            d->errors++;
            show_error(d, st);
        }
        return; /* room subjects and the like */
    }
    if (span_is(st->name, "presence")) {
        if (is_error) {
            d->errors++;
            d->setup_errors++;
            show_error(d, st);
            setup_failed(d);
            return;
        }
        if (contains(st, "code='110'") || contains(st, "code=\"110\""))
            on_self_presence(d, occupant_of(d, st->to));
        return;
    }
    if (span_is(st->name, "iq")) {
        if (is_error) {
            d->errors++;
            d->setup_errors++;
            show_error(d, st);
            setup_failed(d);
            return;
        }
        if (span_is(st->type, "result"))
            on_config_result(d, st->id);
        return;
    }
    d->unexpected++;
}

/* ---- handshake (XEP-0114 §3, server side) ---------------------------------- */

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
    size_t il = strlen(d->stream_id), sl = strlen(d->o.secret);
    char *in = xmalloc(il + sl + 1);
    memcpy(in, d->stream_id, il);
    memcpy(in + il, d->o.secret, sl);
    if (!EVP_Digest(in, il + sl, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        die("SHA-1 failed");
    free(in);
    for (unsigned i = 0; i < mdlen; i++) {
        d->expect_digest[2 * i] = digits[md[i] >> 4];
        d->expect_digest[2 * i + 1] = digits[md[i] & 15];
    }
    d->expect_digest[40] = '\0';
}

static void on_handshake(struct driver *d, const struct stanza *st)
{
    if (!span_is(st->name, "handshake"))
        die("expected <handshake>, got: %.*s", (int)st->len, st->p);
    const char *gt = memchr(st->p, '>', st->len);
    const char *lt = gt ? memchr(gt, '<', (size_t)(st->p + st->len - gt)) : NULL;
    size_t n = gt && lt ? (size_t)(lt - gt - 1) : 0;
    bool ok = n == 40 && strncasecmp(gt + 1, d->expect_digest, 40) == 0;
    if (!ok) {
        ob_str(&d->out, "<stream:error><not-authorized "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                        "</stream:error></stream:stream>");
        flush_out(d);
        die("component handshake: wrong digest (check the secret)");
    }
    ob_str(&d->out, "<handshake/>");
    flush_out(d);
    d->phase = PH_SETTLE;
}

/* The component's stream header: <?xml?> then <stream:stream ...>. */
static size_t read_stream_header(struct driver *d, const char *p, size_t n)
{
    size_t i = 0;
    for (;;) {
        const char *lt = memchr(p + i, '<', n - i);
        if (!lt)
            return 0;
        i = (size_t)(lt - p);
        if (i + 1 < n && p[i + 1] == '?') {
            const char *e = memmem(p + i, n - i, "?>", 2);
            if (!e)
                return 0;
            i = (size_t)(e - p) + 2;
            continue;
        }
        const char *gt = memchr(p + i, '>', n - i);
        if (!gt)
            return 0;
        if (n - i < 14 || memcmp(p + i, "<stream:stream", 14) != 0)
            die("expected a stream header, got: %.*s", (int)(n - i), p + i);
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
}

/* ---- input ---------------------------------------------------------------------- */

static void consume(struct driver *d, uint64_t recv_ns)
{
    size_t pos = 0;
    if (!d->stream_open) {
        size_t used = read_stream_header(d, d->rbuf, d->rlen);
        if (!used)
            return;
        pos = used;
    }
    while (pos < d->rlen) {
        const char *p = d->rbuf + pos;
        size_t left = d->rlen - pos;
        const char *lt = memchr(p, '<', left);
        if (!lt) {
            pos = d->rlen; /* whitespace between stanzas */
            break;
        }
        pos += (size_t)(lt - p);
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
            on_stanza(d, &st, recv_ns);
        }
        pos += len;
    }
    if (pos) {
        memmove(d->rbuf, d->rbuf + pos, d->rlen - pos);
        d->rlen -= pos;
    }
}

static void on_readable(struct driver *d)
{
    /* A few reads per wake-up, then let the writer run. */
    for (int round = 0; round < 8; round++) {
        if (d->rlen == d->rcap) {
            d->rcap *= 2; /* a stanza larger than the buffer */
            d->rbuf = realloc(d->rbuf, d->rcap);
            if (!d->rbuf)
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
        /* Everything in one read arrived together: one timestamp. */
        uint64_t t = now_ns();
        d->rlen += (size_t)n;
        consume(d, t);
        if (d->peer_closed)
            return;
    }
}

/* ---- traffic ---------------------------------------------------------------------- */

static void send_message(struct driver *d, uint64_t t)
{
    uint64_t seq = d->seq++;
    long room = (long)(seq % (uint64_t)d->o.rooms);
    long occ = room * 3 + (long)((seq / (uint64_t)d->o.rooms) % 3);
    d->slot[seq & d->slot_mask] = 0;
    d->outstanding++;

    struct obuf *b = &d->out;
    ob_str(b, "<message type='groupchat' id='b");
    ob_hex(b, seq);
    ob_put(b, "-", 1);
    ob_hex(b, t);
    ob_str(b, "' from='");
    put_occupant_jid(d, occ);
    ob_str(b, "' to='");
    put_room_jid(d, room);
    ob_str(b, "'><body>");
    ob_put(b, d->body, d->o.body_bytes);
    ob_str(b, "</body></message>");
}

/* Sends what the rate (or the window, flat out) allows now.  Returns how
 * long the loop may sleep before there is more to send, in ns. */
static uint64_t generate(struct driver *d, uint64_t t)
{
    const size_t out_high = 512u << 10; /* don't queue more than this */
    uint64_t budget;
    if (d->o.rate > 0) {
        double dt = (double)(t - d->last_token_ns) / 1e9;
        d->last_token_ns = t;
        d->tokens += dt * d->o.rate;
        /* Up to 10 ms of missed sends are caught up after a stall (the
         * driver preempted, a long read): a shorter memory would quietly
         * offer less than the set rate on a busy machine, a longer one
         * would turn a stall into a burst that says more about the stall
         * than about the component. */
        double burst = d->o.rate / 100.0 > 1.0 ? d->o.rate / 100.0 : 1.0;
        if (d->tokens > burst)
            d->tokens = burst;
        budget = (uint64_t)d->tokens;
    } else {
        budget = 1024; /* per turn; the window below is the real limit */
    }
    if (d->target_msgs && d->seq + budget > d->target_msgs)
        budget = d->target_msgs - d->seq;
    uint64_t sent = 0;
    while (sent < budget && ob_pending(&d->out) < out_high) {
        if (d->outstanding >= (uint64_t)d->o.window) {
            d->stalls++;
            break;
        }
        send_message(d, t);
        sent++;
    }
    if (d->o.rate > 0) {
        d->tokens -= (double)sent;
        if (d->tokens >= 1.0)
            return 0;
        /* Waking up costs the driver more than sending: below 20 us
         * between messages, send them in pairs, triples... */
        uint64_t wait = (uint64_t)((1.0 - d->tokens) / d->o.rate * 1e9) + 1;
        return wait < 20000 ? 20000 : wait;
    }
    /* Flat out: go again at once unless blocked by the window or socket. */
    return (d->outstanding >= (uint64_t)d->o.window ||
            ob_pending(&d->out) >= out_high)
               ? UINT64_MAX
               : 0;
}

/* ---- the run ------------------------------------------------------------------------ */

/* One line per interval: when the tail of the latency comes from
 * something periodic (a timer, a flush, another process), it shows. */
static void timeline(struct driver *d, uint64_t t)
{
    if (!d->tl_start_ns) {
        d->tl_start_ns = t;
        return;
    }
    if (t - d->tl_start_ns < (uint64_t)(d->o.timeline_s * 1e9))
        return;
    printf("  t=%7.3f s  copies %8" PRIu64 "  over 1 ms %6" PRIu64
           "  max %8.3f ms\n",
           (double)(t - d->meas_start_ns) / 1e9, d->tl_copies, d->tl_over_1ms,
           (double)d->tl_max / 1e6);
    d->tl_start_ns = t;
    d->tl_copies = d->tl_over_1ms = d->tl_max = 0;
}

static void start_measuring(struct driver *d, uint64_t t)
{
    d->meas_start_ns = t;
    d->meas_first_seq = d->seq;
    if (d->o.pid > 0)
        d->d_cpu0 = read_cpu_ticks(d->o.pid);
    d->drv_cpu0 = self_cpu_s();
}

static void stop_measuring(struct driver *d, uint64_t t)
{
    d->traffic_end_ns = t;
    d->meas_last_seq = d->seq;
    if (d->o.pid > 0)
        d->d_cpu1 = read_cpu_ticks(d->o.pid);
    d->drv_cpu1 = self_cpu_s();
    double wall = (double)(t - d->meas_start_ns) / 1e9;
    long hz = sysconf(_SC_CLK_TCK);
    if (wall > 0) {
        d->daemon_cpu_meas =
            d->o.pid > 0 ? (double)(d->d_cpu1 - d->d_cpu0) / (double)hz / wall
                         : 0;
        d->driver_cpu_meas = (d->drv_cpu1 - d->drv_cpu0) / wall;
    }
}

static int listen_on(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        die("--listen needs an IPv4 address: %s", host);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind %s:%d: %s", host, port, strerror(errno));
    if (listen(fd, 4) < 0)
        die("listen: %s", strerror(errno));
    return fd;
}

static void spawn(struct driver *d)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* A process group of its own: a wrapper (strace, perf, env) and
         * the component it starts are stopped together. */
        setpgid(0, 0);
        close(d->lfd);
        pin_to(0, d->o.daemon_cpu, "component");
        execvp(d->o.cmd[0], d->o.cmd);
        fprintf(stderr, "muc_load: cannot run %s: %s\n", d->o.cmd[0],
                strerror(errno));
        _exit(127);
    }
    d->o.pid = pid;
    d->spawned = true;
    /* Also here, not only in the child: the group must exist before a
     * signal could try to reach it. */
    setpgid(pid, pid);
    child_group = pid;
}

static void stop_spawned(struct driver *d)
{
    if (!d->spawned)
        return;
    pid_t group = -d->o.pid;
    kill(group, SIGTERM);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) { /* 10 s */
        gone = waitpid(d->o.pid, NULL, WNOHANG) == d->o.pid;
        if (!gone)
            usleep(100000);
    }
    if (!gone) {
        fprintf(stderr, "muc_load: component did not stop on SIGTERM; "
                        "killing\n");
        kill(group, SIGKILL);
        waitpid(d->o.pid, NULL, 0);
    }
    /* Whatever the started process left behind in its group (a component
     * under a wrapper that exited first) is stopped as well; give it the
     * time to write what it must (a profile) first. */
    for (int i = 0; i < 100 && kill(group, 0) == 0; i++)
        usleep(100000);
    kill(group, SIGKILL);
    child_group = 0;
}

static void accept_component(struct driver *d)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->lfd};
    epoll_ctl(d->ep, EPOLL_CTL_ADD, d->lfd, &ev);
    uint64_t deadline = now_ns() + 30ull * 1000000000u;
    for (;;) {
        int n = epoll_wait(d->ep, &ev, 1, 200);
        if (n == 1)
            break;
        if (d->spawned && waitpid(d->o.pid, NULL, WNOHANG) == d->o.pid) {
            d->spawned = false;
            die("the component exited before connecting");
        }
        if (now_ns() > deadline)
            die("no component connected within 30 s");
    }
    d->fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (d->fd < 0)
        die("accept: %s", strerror(errno));
    epoll_ctl(d->ep, EPOLL_CTL_DEL, d->lfd, NULL);
    close(d->lfd);
    d->lfd = -1;
    int one = 1;
    setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = d->fd};
    epoll_ctl(d->ep, EPOLL_CTL_ADD, d->fd, &ev);
}

static void wait_ns(struct driver *d, uint64_t ns)
{
    struct epoll_event evs[4];
    int n;
    if (ns == UINT64_MAX) {
        n = epoll_wait(d->ep, evs, 4, 100);
    } else {
        struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                              .tv_nsec = (long)(ns % 1000000000u)};
        n = epoll_pwait2(d->ep, evs, 4, &ts, NULL);
    }
    for (int i = 0; i < n; i++) {
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            on_readable(d);
        if (evs[i].events & EPOLLOUT)
            flush_out(d);
    }
}

static void run(struct driver *d)
{
    uint64_t t0 = now_ns(), settle_until = 0;
    const uint64_t S = 1000000000u;
    while (d->phase != PH_DONE) {
        uint64_t t = now_ns(), sleep_ns = UINT64_MAX;
        if (d->peer_closed)
            die("the component closed the connection (phase %d)", (int)d->phase);

        switch (d->phase) {
        case PH_HANDSHAKE:
            if (t - t0 > 30 * S)
                die("no handshake within 30 s");
            break;
        case PH_SETTLE:
            if (!settle_until)
                settle_until = t + (uint64_t)(d->o.settle_s * 1e9);
            if (t >= settle_until) {
                d->rss_before_kb = d->o.pid > 0 ? read_rss_kb(d->o.pid) : -1;
                d->phase = PH_SETUP;
                d->setup_started_ns = d->setup_progress_ns = t;
                start_rooms(d);
                sleep_ns = 0;
            } else {
                sleep_ns = settle_until - t;
            }
            break;
        case PH_SETUP:
            start_rooms(d);
            if (d->rooms_ready == d->o.rooms) {
                d->setup_done_ns = t;
                d->rss_setup_kb = d->o.pid > 0 ? read_rss_kb(d->o.pid) : -1;
                d->phase = PH_TRAFFIC;
                d->traffic_start_ns = d->last_token_ns = t;
                if (d->o.warmup_s <= 0)
                    start_measuring(d, t);
                sleep_ns = 0;
            } else if (t - d->setup_progress_ns > 30 * S) {
                die("setup stalled: no answer to joins for 30 s, %ld of %ld "
                    "rooms ready (does the component serve MUC rooms?)",
                    d->rooms_ready, d->o.rooms);
            } else if (t - d->setup_started_ns >
                       (uint64_t)(d->o.setup_timeout_s * 1e9)) {
                die("setup incomplete after %.0f s: %ld of %ld rooms ready, "
                    "%" PRIu64 " error stanzas (see above)",
                    d->o.setup_timeout_s, d->rooms_ready, d->o.rooms,
                    d->setup_errors);
            }
            break;
        case PH_TRAFFIC: {
            if (!d->meas_start_ns &&
                t >= d->traffic_start_ns + (uint64_t)(d->o.warmup_s * 1e9))
                start_measuring(d, t);
            bool over = d->target_msgs
                            ? d->seq >= d->target_msgs
                            : t >= d->traffic_start_ns +
                                       (uint64_t)((d->o.warmup_s +
                                                   d->o.duration_s) * 1e9);
            if (over) {
                if (!d->meas_start_ns)
                    start_measuring(d, d->traffic_start_ns);
                stop_measuring(d, t);
                d->phase = PH_DRAIN;
                d->drain_end_ns = t + (uint64_t)(d->o.drain_timeout_s * 1e9);
                break;
            }
            sleep_ns = generate(d, t);
            if (d->o.timeline_s > 0 && d->meas_start_ns)
                timeline(d, t);
            break;
        }
        case PH_DRAIN:
            if (d->complete + d->error_msgs >= d->seq || t >= d->drain_end_ns) {
                d->rss_after_kb = d->o.pid > 0 ? read_rss_kb(d->o.pid) : -1;
                d->phase = PH_DONE;
                continue;
            }
            sleep_ns = d->drain_end_ns - t;
            break;
        case PH_DONE:
            break;
        }
        if (ob_pending(&d->out))
            flush_out(d);
        wait_ns(d, sleep_ns);
    }
}

/* ---- report -------------------------------------------------------------------------- */

static void report(struct driver *d)
{
    const struct opts *o = &d->o;
    long occupants = o->rooms * 3;
    double window = (double)(d->traffic_end_ns - d->meas_start_ns) / 1e9;
    double in_s = window > 0 ? (double)d->in_meas / window : 0;
    double out_s = window > 0 ? (double)d->stanzas_meas / window : 0;
    double sent_s =
        window > 0 ? (double)(d->meas_last_seq - d->meas_first_seq) / window : 0;
    /* Every message not completed (3 copies) and not refused is a loss;
     * refused ones are counted as errors. */
    uint64_t lost = d->seq - d->complete - d->error_msgs;
    double p50 = (double)hist_percentile(&d->lat, 0.50) / 1e6;
    double p99 = (double)hist_percentile(&d->lat, 0.99) / 1e6;
    double pmax = (double)d->lat.max / 1e6;
    double setup_s = (double)(d->setup_done_ns - d->setup_started_ns) / 1e9;
    long rss_per_occ = -1, rss_setup_per_occ = -1;
    if (d->rss_before_kb >= 0 && d->rss_after_kb >= 0 && occupants)
        rss_per_occ = (d->rss_after_kb - d->rss_before_kb) * 1024 / occupants;
    if (d->rss_before_kb >= 0 && d->rss_setup_kb >= 0 && occupants)
        rss_setup_per_occ =
            (d->rss_setup_kb - d->rss_before_kb) * 1024 / occupants;

    printf("muc_load %s: %ld rooms x 3 occupants, %s, body %zu bytes, "
           "archive %s\n",
           o->label, o->rooms,
           o->rate > 0 ? "fixed rate" : "flat out", o->body_bytes,
           o->archive < 0 ? "default" : o->archive ? "on" : "off");
    if (o->rate > 0)
        printf("  offered rate          %.0f msg/s\n", o->rate);
    printf("  setup                 %.2f s (%.0f joins/s)\n", setup_s,
           setup_s > 0 ? occupants / setup_s : 0);
    printf("  measured              %.2f s after %.1f s warm-up\n", window,
           o->warmup_s);
    printf("  messages in/s         %.0f (sent %.0f/s)\n", in_s, sent_s);
    printf("  stanzas out/s         %.0f\n", out_s);
    printf("  latency p50/p99/max   %.3f / %.3f / %.3f ms (%" PRIu64
           " copies)\n",
           p50, p99, pmax, d->lat.total);
    printf("  sent/accepted/complete %" PRIu64 " / %" PRIu64 " / %" PRIu64
           "; lost %" PRIu64 "; error stanzas %" PRIu64 " (%" PRIu64
           " refused messages)\n",
           d->seq, d->accepted, d->complete, lost, d->errors, d->error_msgs);
    printf("  CPU (share of a core) component %.1f%%, driver %.1f%%\n",
           d->daemon_cpu_meas * 100, d->driver_cpu_meas * 100);
    if (d->rss_before_kb >= 0)
        printf("  RSS before/after setup/after traffic  %ld / %ld / %ld KiB;"
               " per occupant %ld B (after setup %ld B)\n",
               d->rss_before_kb, d->rss_setup_kb, d->rss_after_kb,
               rss_per_occ, rss_setup_per_occ);
    printf("RESULT label=%s rooms=%ld occupants=%ld rate=%.0f archive=%d "
           "sent_per_s=%.0f in_per_s=%.0f out_per_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "sent=%" PRIu64 " accepted=%" PRIu64 " complete=%" PRIu64
           " lost=%" PRIu64 " errors=%" PRIu64 " setup_s=%.2f "
           "rss_before_kb=%ld rss_setup_kb=%ld rss_after_kb=%ld "
           "rss_per_occ_b=%ld cpu_component=%.3f cpu_driver=%.3f\n",
           o->label, o->rooms, occupants, o->rate, o->archive, sent_s, in_s, out_s,
           p50, p99, pmax, d->seq, d->accepted, d->complete, lost, d->errors,
           setup_s, d->rss_before_kb, d->rss_setup_kb, d->rss_after_kb,
           rss_per_occ, d->daemon_cpu_meas, d->driver_cpu_meas);
    fflush(stdout);
}

/* ---- arguments ------------------------------------------------------------------------ */

static void usage(FILE *to)
{
    fputs(
        "usage: muc_load --domain D --secret S [options] [-- COMMAND ...]\n"
        "Plays the XMPP server (XEP-0114) and all clients against a MUC\n"
        "component: R rooms x 3 occupants, then groupchat traffic.\n"
        "  --port N            listen port (default 5347)\n"
        "  --listen ADDR       listen address (default 127.0.0.1)\n"
        "  --rooms R           rooms (default 1000)\n"
        "  --rate N            messages/s in total; 0 = flat out (default 0)\n"
        "  --duration S        measured seconds of traffic (default 10)\n"
        "  --warmup S          traffic seconds not measured (default 1)\n"
        "  --per-room N        send N messages per room instead of --duration\n"
        "  --window N          messages in flight at most (default 1000)\n"
        "  --setup-window N    rooms set up at once (default 500)\n"
        "  --archive on|off    set muc#roomconfig_enablelogging when\n"
        "                      configuring rooms (default: leave the default)\n"
        "  --body N            body length in bytes (default 48)\n"
        "  --admin JID         an admin's bare JID (default admin@bench.local)\n"
        "  --pid PID           the component's pid (for RSS and CPU), when\n"
        "                      not started by the driver\n"
        "  --cpu N             pin the driver to CPU N (default: none)\n"
        "  --daemon-cpu N      pin the component to CPU N (default: none)\n"
        "  --settle S          wait after the handshake (default 0.5)\n"
        "  --setup-timeout S   (default 600)   --drain-timeout S (default 5)\n"
        "  --label TEXT        name of this run in the output\n"
        "  --verbose           show every error stanza\n"
        "  --timeline S        print copies, copies over 1 ms and the\n"
        "                      maximum latency every S seconds\n"
        "  -- COMMAND ...      start the component once listening; it is\n"
        "                      stopped (SIGTERM) at the end\n",
        to);
}

static double arg_double(const char *s, const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < 0)
        die("bad %s: %s", what, s);
    return v;
}

static long arg_long(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0)
        die("bad %s: %s", what, s);
    return v;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
    *o = (struct opts){.label = "run", .listen_host = "127.0.0.1",
                       .port = 5347, .admin = "admin@bench.local",
                       .user_domain = "bench.local", .rooms = 1000,
                       .duration_s = 10, .warmup_s = 1, .window = 1000,
                       .setup_window = 500, .archive = -1, .body_bytes = 48,
                       .cpu = -1, .daemon_cpu = -1, .setup_timeout_s = 600,
                       .drain_timeout_s = 5, .settle_s = 0.5};
    enum { O_PORT = 256, O_LISTEN, O_DOMAIN, O_SECRET, O_ROOMS, O_RATE,
           O_DURATION, O_WARMUP, O_PERROOM, O_WINDOW, O_SETUPWIN, O_ARCHIVE,
           O_BODY, O_ADMIN, O_PID, O_CPU, O_DCPU, O_SETTLE, O_SETUPTO,
           O_DRAINTO, O_LABEL, O_VERBOSE, O_TIMELINE, O_HELP };
    static const struct option lo[] = {
        {"port", 1, 0, O_PORT}, {"listen", 1, 0, O_LISTEN},
        {"domain", 1, 0, O_DOMAIN}, {"secret", 1, 0, O_SECRET},
        {"rooms", 1, 0, O_ROOMS}, {"rate", 1, 0, O_RATE},
        {"duration", 1, 0, O_DURATION}, {"warmup", 1, 0, O_WARMUP},
        {"per-room", 1, 0, O_PERROOM}, {"window", 1, 0, O_WINDOW},
        {"setup-window", 1, 0, O_SETUPWIN}, {"archive", 1, 0, O_ARCHIVE},
        {"body", 1, 0, O_BODY}, {"admin", 1, 0, O_ADMIN},
        {"pid", 1, 0, O_PID}, {"cpu", 1, 0, O_CPU},
        {"daemon-cpu", 1, 0, O_DCPU}, {"settle", 1, 0, O_SETTLE},
        {"setup-timeout", 1, 0, O_SETUPTO},
        {"drain-timeout", 1, 0, O_DRAINTO}, {"label", 1, 0, O_LABEL},
        {"verbose", 0, 0, O_VERBOSE}, {"timeline", 1, 0, O_TIMELINE},
        {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        switch (c) {
        case O_PORT: o->port = (int)arg_long(optarg, "--port"); break;
        case O_LISTEN: o->listen_host = optarg; break;
        case O_DOMAIN: o->domain = optarg; break;
        case O_SECRET: o->secret = optarg; break;
        case O_ROOMS: o->rooms = arg_long(optarg, "--rooms"); break;
        case O_RATE: o->rate = arg_double(optarg, "--rate"); break;
        case O_DURATION: o->duration_s = arg_double(optarg, "--duration"); break;
        case O_WARMUP: o->warmup_s = arg_double(optarg, "--warmup"); break;
        case O_PERROOM: o->per_room = arg_long(optarg, "--per-room"); break;
        case O_WINDOW: o->window = arg_long(optarg, "--window"); break;
        case O_SETUPWIN: o->setup_window = arg_long(optarg, "--setup-window"); break;
        case O_ARCHIVE:
            if (strcmp(optarg, "on") == 0)
                o->archive = 1;
            else if (strcmp(optarg, "off") == 0)
                o->archive = 0;
            else
                die("--archive takes on or off");
            break;
        case O_BODY: o->body_bytes = (size_t)arg_long(optarg, "--body"); break;
        case O_ADMIN: o->admin = optarg; break;
        case O_PID: o->pid = (pid_t)arg_long(optarg, "--pid"); break;
        case O_CPU: o->cpu = (int)arg_long(optarg, "--cpu"); break;
        case O_DCPU: o->daemon_cpu = (int)arg_long(optarg, "--daemon-cpu"); break;
        case O_SETTLE: o->settle_s = arg_double(optarg, "--settle"); break;
        case O_SETUPTO: o->setup_timeout_s = arg_double(optarg, "--setup-timeout"); break;
        case O_DRAINTO: o->drain_timeout_s = arg_double(optarg, "--drain-timeout"); break;
        case O_LABEL: o->label = optarg; break;
        case O_VERBOSE: o->verbose = true; break;
        case O_TIMELINE: o->timeline_s = arg_double(optarg, "--timeline"); break;
        case O_HELP: usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (!o->domain || !o->secret) {
        usage(stderr);
        exit(2);
    }
    if (o->rooms < 1 || o->window < 1 || o->setup_window < 1)
        die("--rooms, --window and --setup-window must be at least 1");
    if (optind < argc)
        o->cmd = argv + optind;
    if (o->cmd && o->pid)
        die("--pid and a command to start exclude each other");
}

int main(int argc, char **argv)
{
    static struct driver drv; /* large (the histogram): not on the stack */
    struct driver *d = &drv;
    parse_args(&d->o, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGHUP, on_fatal_signal);
    pin_to(0, d->o.cpu, "the driver");
    /* Fixed-rate runs sleep for tens of microseconds between sends; the
     * default 50 us timer slack would make every sleep late. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    d->fd = -1;
    d->rcap = 4u << 20;
    d->rbuf = xmalloc(d->rcap);
    d->room_state = xmalloc((size_t)d->o.rooms);
    d->joined = xmalloc((size_t)d->o.rooms);
    /* The slot ring must hold every message in flight: 4M slots. */
    d->slot_mask = (1u << 22) - 1;
    d->slot = xmalloc(d->slot_mask + 1);
    if ((uint64_t)d->o.window > d->slot_mask / 2)
        die("--window is larger than the slot ring allows");
    d->body = xmalloc(d->o.body_bytes + 1);
    static const char text[] = "Hello, I have a question about my order "
                               "number 4711 and the delivery date. ";
    for (size_t i = 0; i < d->o.body_bytes; i++)
        d->body[i] = text[i % (sizeof text - 1)];
    if (d->o.per_room > 0) {
        d->target_msgs = (uint64_t)d->o.per_room * (uint64_t)d->o.rooms;
        d->o.warmup_s = 0;
    }

    d->ep = epoll_create1(EPOLL_CLOEXEC);
    d->lfd = listen_on(d->o.listen_host, d->o.port);
    if (d->o.cmd)
        spawn(d);
    else if (d->o.pid > 0)
        pin_process(d->o.pid, d->o.daemon_cpu);
    accept_component(d);
    run(d);
    report(d);

    ob_str(&d->out, "</stream:stream>");
    flush_out(d);
    close(d->fd);
    stop_spawned(d);
    return d->errors || d->seq != d->complete ? 1 : 0;
}
