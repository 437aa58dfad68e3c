#include "build-config.h"

#include "xmpp/link.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "core/backoff.h"
#include "core/log.h"
#include "xmpp/strophe_render.h"

#define LOG "link"

/* While the link is not up, libstrophe must run now and then even without
 * socket activity: it checks its connect and handshake timeouts there. */
#define CONNECTING_TICK_MS 200
/* A burst can grow the output buffer; give the memory back after it. */
#define OUT_BUFFER_KEEP (4u << 20)

enum link_state {
    LINK_IDLE,       /* not started, or closed */
    LINK_CONNECTING, /* TCP connect or handshake in progress */
    LINK_UP,         /* handshake accepted */
    LINK_WAITING,    /* disconnected; a retry is scheduled */
};

struct link {
    struct loop *loop;
    char *domain, *secret, *host;
    unsigned short port;
    struct link_events events;

    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    enum link_state state;
    bool closing;
    int fd;                  /* the current socket, -1 if none */
    uint32_t watched;        /* epoll events we asked for on fd */
    bool refuse_sockets;     /* see work_around_component_crash() */

    struct backoff backoff;
    struct loop_timer *retry_timer;
    struct loop_timer *tick_timer;

    struct buf out;
    struct link_stats stats;

    bool (*may_send)(void *ud); /* the fencing gate, or NULL */
    void *gate_ud;
};

/* libstrophe's sockopt callback receives only the connection, and a
 * connection has no user-data getter; mucdesk runs one link per process. */
static struct link *sockopt_owner;

static void schedule_retry(struct link *link);
static void start_connect(struct link *link);

/* ---- socket and event loop glue --------------------------------------------- */

static int on_new_socket(xmpp_conn_t *conn, void *sockptr)
{
    struct link *link = sockopt_owner;
    int fd = *(int *)sockptr;

    (void)conn;
    if (!link || link->refuse_sockets)
        return -1;
    if (fd >= FD_SETSIZE) {
        /* libstrophe watches its socket with select(2). */
        log_error(LOG, "socket fd %d is too high for libstrophe's select()",
                  fd);
        return -1;
    }
    int one = 1;
    /* Stanzas are written once per loop turn, already batched: Nagle would
     * only add latency. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int idle = 60, interval = 10, count = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    link->fd = fd;
    return 0;
}

static void update_interest(struct link *link)
{
    if (link->fd < 0)
        return;
    uint32_t want = EPOLLIN;
    if (link->state == LINK_CONNECTING ||
        xmpp_conn_send_queue_len(link->conn) > 0)
        want |= EPOLLOUT;
    if (want != link->watched && loop_io_modify(link->loop, link->fd, want) == 0)
        link->watched = want;
}

static void on_socket_ready(void *ud, int fd, uint32_t events)
{
    struct link *link = ud;
    (void)fd;
    (void)events;
    xmpp_run_once(link->ctx, 0);
    update_interest(link);
}

static void on_tick(void *ud)
{
    struct link *link = ud;
    link->tick_timer = NULL;
    if (link->state != LINK_CONNECTING)
        return;
    xmpp_run_once(link->ctx, 0);
    update_interest(link);
    if (link->state == LINK_CONNECTING && !link->tick_timer)
        link->tick_timer =
            loop_timer_add(link->loop, CONNECTING_TICK_MS, on_tick, link, NULL);
}

static bool on_turn_end(void *ud)
{
    struct link *link = ud;

    if (link->out.len == 0 && !link->out.failed)
        return false;
    if (link->state != LINK_UP) {
        buf_reset(&link->out);
        return false;
    }
    if (link->out.failed) {
        /* Cannot happen short of memory exhaustion; the stanzas are lost but
         * the stream stays well-formed because nothing partial is sent. */
        log_error(LOG, "out of memory building output: %zu bytes dropped",
                  link->out.len);
        buf_reset(&link->out);
        return false;
    }
    link_flush(link);
    /* Handlers run by that xmpp_run_once() may have written more. */
    return link->out.len > 0;
}

void link_flush(struct link *link)
{
    if (link->state != LINK_UP || link->out.len == 0)
        return;
    if (link->may_send && !link->may_send(link->gate_ud)) {
        log_error(LOG, "fencing: this instance may no longer serve; %zu "
                  "bytes not sent, cutting the component link", link->out.len);
        link_abort(link);
        return;
    }
    xmpp_send_raw(link->conn, link->out.data, link->out.len);
    link->stats.bytes_out += link->out.len;
    if (link->out.cap > OUT_BUFFER_KEEP)
        buf_free(&link->out);
    else
        buf_reset(&link->out);
    /* Writes the queue now; also reads and dispatches what has arrived. */
    xmpp_run_once(link->ctx, 0);
    update_interest(link);
}

/* ---- connection lifecycle ----------------------------------------------------- */

static const char *describe_stream_error(const xmpp_stream_error_t *se)
{
    switch (se->type) {
    case XMPP_SE_NOT_AUTHORIZED:
        return "the server refused the handshake (not-authorized): check "
               "[component] secret";
    case XMPP_SE_HOST_UNKNOWN:
        return "the server does not know this component domain (host-unknown):"
               " check [component] jid and the server's Component entry";
    case XMPP_SE_CONFLICT:
        return "another component is already connected for this domain "
               "(conflict)";
    case XMPP_SE_SYSTEM_SHUTDOWN:
        return "the server is shutting down";
    default:
        return "the server closed the stream with an error";
    }
}

static void on_connection_event(xmpp_conn_t *conn, xmpp_conn_event_t status,
                                int error, xmpp_stream_error_t *stream_error,
                                void *ud)
{
    struct link *link = ud;
    (void)conn;

    if (status == XMPP_CONN_CONNECT) {
        link->state = LINK_UP;
        link->stats.connects++;
        backoff_reset(&link->backoff);
        loop_timer_cancel(link->loop, link->tick_timer);
        link->tick_timer = NULL;
        update_interest(link);
        strophe_render_skip(true);
        log_info(LOG, "component link up: %s connected to %s:%u", link->domain,
                 link->host, link->port);
        if (link->events.up)
            link->events.up(link->events.ud);
        return;
    }
    if (status != XMPP_CONN_DISCONNECT && status != XMPP_CONN_FAIL)
        return;

    bool was_up = link->state == LINK_UP;
    strophe_render_skip(false);
    loop_io_remove(link->loop, link->fd);
    link->fd = -1;
    link->watched = 0;
    buf_reset(&link->out);
    loop_timer_cancel(link->loop, link->tick_timer);
    link->tick_timer = NULL;
    link->state = LINK_IDLE;

    if (stream_error) {
        if (stream_error->type == XMPP_SE_NOT_AUTHORIZED)
            link->stats.handshake_failures++;
        log_error(LOG, "component link to %s:%u lost: %s%s%s", link->host,
                  link->port, describe_stream_error(stream_error),
                  stream_error->text ? ": " : "",
                  stream_error->text ? stream_error->text : "");
    } else if (link->closing) {
        log_info(LOG, "component link closed");
    } else {
        log_warn(LOG, "component link to %s:%u %s: %s", link->host, link->port,
                 was_up ? "lost" : "failed",
                 error ? strerror(error) : "connection closed by the server");
    }
    if (was_up && link->events.down)
        link->events.down(link->events.ud);
    if (!link->closing)
        schedule_retry(link);
}

static void on_retry(void *ud)
{
    struct link *link = ud;
    link->retry_timer = NULL;
    start_connect(link);
}

static void schedule_retry(struct link *link)
{
    uint32_t delay = backoff_next(&link->backoff);
    link->state = LINK_WAITING;
    log_info(LOG, "reconnecting to %s:%u in %u.%03u s", link->host, link->port,
             delay / 1000, delay % 1000);
    link->retry_timer = loop_timer_add(link->loop, delay, on_retry, link, NULL);
    if (!link->retry_timer)
        log_error(LOG, "cannot schedule reconnect: out of memory");
}

static void start_connect(struct link *link)
{
    link->fd = -1;
    int rc = xmpp_connect_component(link->conn, link->host, link->port,
                                    on_connection_event, link);
    if (rc != XMPP_EOK || link->fd < 0) {
        log_warn(LOG, "cannot connect to %s:%u (libstrophe error %d)",
                 link->host, link->port, rc);
        schedule_retry(link);
        return;
    }
    link->state = LINK_CONNECTING;
    link->watched = EPOLLIN | EPOLLOUT;
    if (loop_io_add(link->loop, link->fd, link->watched, on_socket_ready,
                    link) < 0) {
        log_error(LOG, "cannot watch socket %d: %s", link->fd, strerror(errno));
        xmpp_disconnect(link->conn);
    }
    link->tick_timer =
        loop_timer_add(link->loop, CONNECTING_TICK_MS, on_tick, link, NULL);
}

/* libstrophe 0.12.2 allocates the XEP-0198 state (conn->sm_state) only in
 * xmpp_connect_client(), yet dereferences it on every received stanza and
 * every disconnect, so a component connection crashes as shipped.  Calling
 * xmpp_connect_client() once while our sockopt callback refuses every socket
 * makes it fail before any I/O, after allocating that state; the state then
 * survives every later connect and reconnect. */
static int work_around_component_crash(struct link *link)
{
    link->refuse_sockets = true;
    int rc = xmpp_connect_client(link->conn, link->host, link->port,
                                 on_connection_event, link);
    link->refuse_sockets = false;
    if (rc == XMPP_EOK) {
        /* Only possible if the callback was bypassed: undo the connect. */
        log_error(LOG, "libstrophe workaround: unexpected client connect");
        return -1;
    }
    return 0;
}

struct link *link_new(struct loop *loop, const struct link_config *cfg,
                      const struct link_events *events)
{
    struct link *link = calloc(1, sizeof *link);
    if (!link)
        return NULL;
    link->loop = loop;
    link->events = *events;
    link->fd = -1;
    link->port = cfg->port;
    link->domain = strdup(cfg->domain);
    link->secret = strdup(cfg->secret);
    link->host = strdup(cfg->host);
    buf_init(&link->out);
    backoff_init(&link->backoff, 1000, cfg->reconnect_max_ms);
    if (!link->domain || !link->secret || !link->host)
        goto fail;
    if (loop_turn_hook_add(loop, on_turn_end, link) < 0)
        goto fail;

    xmpp_initialize();
    link->ctx = xmpp_ctx_new(NULL, NULL);
    if (!link->ctx)
        goto fail;
    link->conn = xmpp_conn_new(link->ctx);
    if (!link->conn)
        goto fail;
    xmpp_conn_set_jid(link->conn, link->domain);
    xmpp_conn_set_pass(link->conn, link->secret);
    xmpp_conn_set_sockopt_callback(link->conn, on_new_socket);
    sockopt_owner = link;
    if (work_around_component_crash(link) < 0)
        goto fail;
    return link;
fail:
    link_free(link);
    return NULL;
}

static int dispatch_stanza(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct link *link = ud;
    (void)conn;
    link->stats.stanzas_in++;
    if (link->events.stanza)
        link->events.stanza(link->events.ud, st);
    return 1; /* keep this handler registered */
}

int link_start(struct link *link)
{
    xmpp_handler_add(link->conn, dispatch_stanza, NULL, NULL, NULL, link);
    start_connect(link);
    return 0;
}

void link_close(struct link *link, unsigned timeout_ms)
{
    link->closing = true;
    loop_timer_cancel(link->loop, link->retry_timer);
    link->retry_timer = NULL;
    /* A link still connecting has nothing to say goodbye to: link_free()
     * closes its socket. */
    if (link->state == LINK_UP) {
        if (link->out.len)
            xmpp_send_raw(link->conn, link->out.data, link->out.len);
        buf_reset(&link->out);
        xmpp_disconnect(link->conn);
        uint64_t deadline = loop_clock_ms() + timeout_ms;
        while (!xmpp_conn_is_disconnected(link->conn) &&
               loop_clock_ms() < deadline)
            xmpp_run_once(link->ctx, 20);
    }
    link->state = LINK_IDLE;
}

void link_set_gate(struct link *link, bool (*may_send)(void *ud), void *ud)
{
    link->may_send = may_send;
    link->gate_ud = ud;
}

void link_abort(struct link *link)
{
    link->closing = true;
    loop_timer_cancel(link->loop, link->retry_timer);
    link->retry_timer = NULL;
    buf_reset(&link->out);
    if (link->fd >= 0) {
        /* Whatever libstrophe still queues can no longer be written. */
        shutdown(link->fd, SHUT_RDWR);
        loop_io_remove(link->loop, link->fd);
        link->fd = -1;
        link->watched = 0;
    }
    if (link->state != LINK_IDLE)
        log_info(LOG, "component link cut");
    link->state = LINK_IDLE;
}

void link_free(struct link *link)
{
    if (!link)
        return;
    link->closing = true;
    loop_timer_cancel(link->loop, link->retry_timer);
    loop_timer_cancel(link->loop, link->tick_timer);
    link->retry_timer = link->tick_timer = NULL;
    if (link->conn)
        xmpp_conn_release(link->conn); /* closes the socket if still open */
    if (link->fd >= 0)
        loop_io_remove(link->loop, link->fd);
    if (link->ctx) {
        xmpp_ctx_free(link->ctx);
        xmpp_shutdown();
    }
    if (sockopt_owner == link)
        sockopt_owner = NULL;
    buf_free(&link->out);
    free(link->domain);
    free(link->secret);
    free(link->host);
    free(link);
}

bool link_is_up(const struct link *link)
{
    return link->state == LINK_UP;
}

struct buf *link_out(struct link *link)
{
    return &link->out;
}

xmpp_ctx_t *link_strophe(struct link *link)
{
    return link->ctx;
}

const struct link_stats *link_stats(const struct link *link)
{
    return &link->stats;
}
