/* The HTTP listener: libmicrohttpd driven from a thread of our own (MHD's
 * "external" epoll mode), so that this thread can also enforce what MHD
 * does not: a deadline for the whole request.  MHD's connection timeout is
 * an idle timeout, which a client sending one byte every few seconds
 * (slowloris) never trips; here a connection that has not delivered its
 * request within [http] timeout of its start, or of the end of its previous
 * request, is shut down.
 *
 * Who owns a request: the HTTP thread from its head until it is handed
 * over (pushed on `incoming` under the lock), the XMPP thread from then
 * until http_respond() pushes it on `answered`, the HTTP thread again until
 * MHD reports it complete.  Every MHD call is made on the HTTP thread (and,
 * after it is joined, by http_server_free). */
#include "build-config.h"

#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/netaddr.h"

#define LOG "http"

/* How often the HTTP thread looks for connections past their deadline. */
#define DEADLINE_CHECK_MS 250
/* At stop: how long the thread keeps running to send the last answers. */
#define STOP_FLUSH_MS 200
/* MHD's memory pool per connection: the request head (at most
 * HTTP_HEAD_MAX) and the response headers. */
#define CONNECTION_MEMORY (2 * HTTP_HEAD_MAX)

struct kv {
    char *name;
    char *value;
    bool query;                   /* a query argument, not a header */
};

/* One open connection, for the request deadline (HTTP thread only). */
struct track {
    MHD_socket fd;
    uint64_t since_ms;            /* the deadline counts from here */
    bool busy;                    /* handed over or answering: no deadline */
    bool shut;                    /* shut down for its deadline */
    uint64_t limit_ms;            /* 0: [http] timeout; a streamed body's */
    struct track *prev, *next;
};

enum req_state {
    REQ_READING,                  /* head and body arriving (HTTP thread) */
    REQ_HELD,                     /* with the XMPP thread */
    REQ_ANSWERED,                 /* the answer is ready (HTTP thread) */
    REQ_SENT,                     /* queued to MHD */
};

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    const struct http_route *route;
    size_t max_body;              /* in memory; 0 for a streamed route's
                                     other methods */
    enum req_state state;
    bool closing;                 /* stopping: close instead of answering */
    char method[16];
    char *path;
    char peer[INET6_ADDRSTRLEN];
    struct kv *kv;
    size_t nkv;
    struct buf body;
    /* a streamed body (route->stream) */
    bool streaming;
    bool begun;                   /* accepted and the head call repeated */
    int sink_fd;                  /* -1 until accepted */
    char *tmp_path, *final_path;
    EVP_MD_CTX *sha;
    uint64_t received;
    unsigned char digest[32];
    enum http_body_state body_state;
    /* the answer */
    unsigned status;
    char *content_type;
    char *resp;
    size_t resp_len;
    int resp_fd;                  /* >= 0: the body is this file */
    uint64_t resp_fd_size;
    struct kv *rh;
    size_t nrh;
    /* lists */
    struct http_request *next;    /* incoming / answered */
    struct http_request *sprev, *snext; /* suspended (HTTP thread) */
};

struct http_server {
    struct loop *loop;
    struct http_config cfg;
    char *listen;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct http_route *routes;
    size_t nroutes;
    struct MHD_Daemon *mhd;

    pthread_t thread;
    bool thread_running;
    bool stopped;                 /* XMPP thread: http_server_stop ran */
    pthread_mutex_t lock;
    struct http_request *incoming, *incoming_tail; /* guarded by lock */
    struct http_request *answered, *answered_tail; /* guarded by lock */
    bool stopping;                /* guarded by lock */
    int xmpp_fd;                  /* HTTP thread -> XMPP thread */
    int wake_fd;                  /* XMPP thread -> HTTP thread */

    /* HTTP thread */
    struct track *tracks;
    size_t ntracks;
    struct http_request *suspended;
    uint64_t last_check_ms;

    _Atomic uint64_t requests, refused, timeouts, connections;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void wake(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd write failed: %s", strerror(errno));
}

static void drain(int fd)
{
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_error(LOG, "eventfd read failed: %s", strerror(errno));
}

static void push(struct http_request **head, struct http_request **tail,
                 struct http_request *r)
{
    r->next = NULL;
    if (*tail)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
}

static void kv_free(struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

static void request_free(struct http_request *r)
{
    if (!r)
        return;
    free(r->path);
    if (r->sink_fd >= 0)
        close(r->sink_fd);
    if (r->resp_fd >= 0)
        close(r->resp_fd);
    free(r->tmp_path);
    free(r->final_path);
    EVP_MD_CTX_free(r->sha);
    kv_free(r->kv, r->nkv);
    buf_free(&r->body);
    free(r->content_type);
    free(r->resp);
    kv_free(r->rh, r->nrh);
    free(r);
}

static int kv_add(struct kv **kv, size_t *n, const char *name,
                  const char *value, bool query)
{
    struct kv *more = realloc(*kv, (*n + 1) * sizeof *more);
    if (!more)
        return -1;
    *kv = more;
    char *k = strdup(name), *v = strdup(value ? value : "");
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    more[(*n)++] = (struct kv){k, v, query};
    return 0;
}

/* ---- the HTTP thread: MHD callbacks ------------------------------------------- */

static struct track *track_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct track *t = calloc(1, sizeof *t);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!t || !ci) {
            free(t);
            return; /* no deadline for it: MHD's idle timeout still holds */
        }
        t->fd = ci->connect_fd;
        t->since_ms = now_ms();
        t->next = s->tracks;
        if (s->tracks)
            s->tracks->prev = t;
        s->tracks = t;
        s->ntracks++;
        *socket_context = t;
        atomic_fetch_add(&s->connections, 1);
        return;
    }
    struct track *t = *socket_context;
    atomic_fetch_sub(&s->connections, 1);
    if (!t)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        s->tracks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    s->ntracks--;
    free(t);
    *socket_context = NULL;
}

static void set_busy(struct MHD_Connection *c, bool busy)
{
    struct track *t = track_of(c);
    if (!t)
        return;
    t->busy = busy;
    if (!busy) {
        t->since_ms = now_ms();
        t->limit_ms = 0;
    }
}

static void set_limit(struct MHD_Connection *c, unsigned timeout_s)
{
    struct track *t = track_of(c);
    if (t && timeout_s) {
        t->since_ms = now_ms();
        t->limit_ms = (uint64_t)timeout_s * 1000u;
    }
}

static void hand_over_aborted(struct http_server *s, struct http_request *r);

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    struct http_request *r = *con_cls;
    /* A streamed body cut short: the XMPP thread hears of it (its handler
     * gave the file; it frees what it set aside). */
    if (r && r->state == REQ_READING && r->sink_fd >= 0)
        hand_over_aborted(cls, r);
    /* A request the XMPP thread holds is its to free (only at a stop). */
    else if (r && r->state != REQ_HELD)
        request_free(r);
    *con_cls = NULL;
    set_busy(c, false); /* the next request's deadline starts now */
}

static enum MHD_Result queue_resp(struct MHD_Connection *c, unsigned status,
                                  const char *ctype, struct MHD_Response *resp,
                                  const struct kv *headers, size_t nheaders);

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status,
                             const char *ctype, char *body, size_t len,
                             const struct kv *headers, size_t nheaders)
{
    /* MHD frees an owned body with free(). */
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    return queue_resp(c, status, ctype, resp, headers, nheaders);
}

/* A file as the body: MHD reads it (sendfile where it can) and closes it. */
static enum MHD_Result queue_fd(struct MHD_Connection *c, unsigned status,
                                const char *ctype, int fd, uint64_t size,
                                const struct kv *headers, size_t nheaders)
{
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    return queue_resp(c, status, ctype, resp, headers, nheaders);
}

static enum MHD_Result queue_resp(struct MHD_Connection *c, unsigned status,
                                  const char *ctype, struct MHD_Response *resp,
                                  const struct kv *headers, size_t nheaders)
{
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    for (size_t i = 0; i < nheaders; i++)
        MHD_add_response_header(resp, headers[i].name, headers[i].value);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    set_busy(c, true);
    return rc;
}

/* An answer the HTTP thread gives by itself. */
static enum MHD_Result refuse(struct http_server *s, struct MHD_Connection *c,
                              unsigned status, const char *text,
                              const char *allow)
{
    atomic_fetch_add(&s->refused, 1);
    atomic_fetch_add(&s->requests, 1);
    struct kv h = {(char *)MHD_HTTP_HEADER_ALLOW, (char *)allow, false};
    char *body = strdup(text);
    return queue(c, status, "text/plain; charset=utf-8", body,
                 body ? strlen(body) : 0, &h, allow ? 1 : 0);
}

static const struct http_route *find_route(const struct http_server *s,
                                           const char *path)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct http_route *r = &s->routes[i];
        if (r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0
                      : strcmp(path, r->path) == 0)
            return r;
    }
    return NULL;
}

static unsigned method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return HTTP_GET;
    if (strcmp(m, "POST") == 0)
        return HTTP_POST;
    if (strcmp(m, "PUT") == 0)
        return HTTP_PUT;
    if (strcmp(m, "DELETE") == 0)
        return HTTP_DELETE;
    return 0;
}

static void allow_text(unsigned methods, char *out, size_t size)
{
    static const char *const names[] = {"GET, HEAD", "POST", "PUT", "DELETE"};
    out[0] = '\0';
    for (unsigned i = 0; i < 4; i++)
        if (methods & (1u << i))
            snprintf(out + strlen(out), size - strlen(out), "%s%s",
                     out[0] ? ", " : "", names[i]);
}

/* A CORS preflight for a route any origin may use. */
static enum MHD_Result preflight(struct http_server *s, struct MHD_Connection *c,
                                 const struct http_route *route)
{
    char allow[64];
    allow_text(route->methods, allow, sizeof allow);
    struct kv h[] = {
        {(char *)"Access-Control-Allow-Origin", (char *)"*", false},
        {(char *)"Access-Control-Allow-Methods", allow, false},
        {(char *)"Access-Control-Allow-Headers", (char *)"Content-Type", false},
        {(char *)"Access-Control-Max-Age", (char *)"600", false},
    };
    atomic_fetch_add(&s->requests, 1);
    return queue(c, MHD_HTTP_NO_CONTENT, NULL, NULL, 0, h, sizeof h / sizeof *h);
}

static enum MHD_Result copy_value(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    struct http_request *r = cls;
    if (kv_add(&r->kv, &r->nkv, key, value, kind == MHD_GET_ARGUMENT_KIND) < 0)
        return MHD_NO;
    return MHD_YES;
}

static struct http_request *request_new(struct http_server *s,
                                        struct MHD_Connection *c,
                                        const struct http_route *route,
                                        const char *url, const char *method)
{
    struct http_request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = s;
    r->conn = c;
    r->route = route;
    r->sink_fd = r->resp_fd = -1;
    snprintf(r->method, sizeof r->method, "%s", method);
    r->path = strdup(url);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        const void *a = sa->sa_family == AF_INET6
                            ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                            : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
        if (!inet_ntop(sa->sa_family, a, r->peer, sizeof r->peer))
            r->peer[0] = '\0';
    }
    int n = MHD_get_connection_values(
        c, (enum MHD_ValueKind)(MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND),
        copy_value, r);
    if (!r->path || n < 0 || r->nkv < (size_t)n) {
        request_free(r);
        return NULL;
    }
    return r;
}

static void suspended_add(struct http_server *s, struct http_request *r)
{
    r->sprev = NULL;
    r->snext = s->suspended;
    if (s->suspended)
        s->suspended->sprev = r;
    s->suspended = r;
}

static void suspended_remove(struct http_server *s, struct http_request *r)
{
    if (r->sprev)
        r->sprev->snext = r->snext;
    else
        s->suspended = r->snext;
    if (r->snext)
        r->snext->sprev = r->sprev;
    r->sprev = r->snext = NULL;
}

/* The request is complete: to the XMPP thread. */
static enum MHD_Result hand_over(struct http_server *s, struct http_request *r)
{
    pthread_mutex_lock(&s->lock);
    bool stopping = s->stopping;
    if (!stopping) {
        r->state = REQ_HELD;
        push(&s->incoming, &s->incoming_tail, r);
    }
    pthread_mutex_unlock(&s->lock);
    if (stopping)
        return refuse(s, r->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "Shutting down\n", NULL);
    set_busy(r->conn, true);
    MHD_suspend_connection(r->conn);
    suspended_add(s, r);
    wake(s->xmpp_fd);
    return MHD_YES;
}

/* The connection of a streamed body is gone: the XMPP thread hears it,
 * and frees the request when it answers (no connection to resume). */
static void hand_over_aborted(struct http_server *s, struct http_request *r)
{
    close(r->sink_fd);
    r->sink_fd = -1;
    unlink(r->tmp_path);
    r->body_state = HTTP_BODY_ABORTED;
    r->conn = NULL;
    pthread_mutex_lock(&s->lock);
    bool stopping = s->stopping;
    if (!stopping) {
        r->state = REQ_HELD;
        push(&s->incoming, &s->incoming_tail, r);
    }
    pthread_mutex_unlock(&s->lock);
    if (stopping)
        request_free(r);
    else
        wake(s->xmpp_fd);
}

static enum MHD_Result first_call(struct http_server *s,
                                  struct MHD_Connection *c, const char *url,
                                  const char *method, void **con_cls)
{
    /* MHD's memory limit is coarser (it is shared with the response's
     * headers): the head's own limit is checked here. */
    const union MHD_ConnectionInfo *hs =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (hs && hs->header_size > HTTP_HEAD_MAX)
        return refuse(s, c, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                      "Request head too large\n", NULL);
    const struct http_route *route = find_route(s, url);
    if (!route)
        return refuse(s, c, MHD_HTTP_NOT_FOUND, "Not Found\n", NULL);
    if (route->cors && strcmp(method, "OPTIONS") == 0)
        return preflight(s, c, route);
    if (!(route->methods & method_bit(method))) {
        char allow[64];
        allow_text(route->methods, allow, sizeof allow);
        return refuse(s, c, MHD_HTTP_METHOD_NOT_ALLOWED,
                      "Method Not Allowed\n", allow);
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    bool body_method = strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0;
    /* A streamed route's body goes to a file: its GET takes none. */
    size_t max_body = route->stream && !body_method ? 0 : route->max_body;
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > max_body)
            return refuse(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
                          "Request body too large\n", NULL);
    }
    if (route->stream && body_method && !cl)
        return refuse(s, c, MHD_HTTP_LENGTH_REQUIRED,
                      "Content-Length required\n", NULL);
    struct http_request *r = request_new(s, c, route, url, method);
    if (!r)
        return refuse(s, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "Out of memory\n", NULL);
    r->max_body = max_body;
    *con_cls = r;
    if (route->stream && body_method) {
        /* The handler decides at the head whether the body may come. */
        r->streaming = true;
        return hand_over(s, r);
    }
    return MHD_YES;
}

/* The end of a streamed body: durable under its final name. */
static void finish_body(struct http_request *r)
{
    unsigned len = 0;
    bool ok = EVP_DigestFinal_ex(r->sha, r->digest, &len) == 1 &&
              r->body_state != HTTP_BODY_FAILED && fsync(r->sink_fd) == 0;
    close(r->sink_fd);
    r->sink_fd = -1;
    if (ok && rename(r->tmp_path, r->final_path) == 0) {
        /* The rename itself is durable once its directory is synced. */
        char *slash = strrchr(r->final_path, '/');
        if (slash) {
            *slash = '\0';
            int dfd = open(r->final_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            *slash = '/';
            ok = dfd >= 0 && fsync(dfd) == 0;
            if (dfd >= 0)
                close(dfd);
        }
    } else {
        ok = false;
    }
    if (!ok) {
        log_error(LOG, "cannot store %s: %s", r->final_path, strerror(errno));
        unlink(r->tmp_path);
    }
    r->body_state = ok ? HTTP_BODY_DONE : HTTP_BODY_FAILED;
}

/* A streamed request after the handler accepted its body. */
static enum MHD_Result stream_body(struct http_server *s, struct http_request *r,
                                   const char *data, size_t *size)
{
    if (!r->begun) {
        /* MHD repeats the head's call after a resume. */
        r->begun = true;
        set_limit(r->conn, r->route->timeout_s);
        if (*size == 0)
            return MHD_YES;
    }
    if (*size) {
        if (r->body_state != HTTP_BODY_FAILED) {
            const char *p = data;
            size_t left = *size;
            while (left) {
                ssize_t n = write(r->sink_fd, p, left);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    r->body_state = HTTP_BODY_FAILED;
                    break;
                }
                p += n;
                left -= (size_t)n;
            }
            if (EVP_DigestUpdate(r->sha, data, *size) != 1)
                r->body_state = HTTP_BODY_FAILED;
        }
        r->received += *size;
        *size = 0;
        return MHD_YES;
    }
    finish_body(r);
    return hand_over(s, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct http_request *r = *con_cls;
    (void)version;
    if (!r)
        return first_call(s, c, url, method, con_cls);
    if (r->closing)
        return MHD_NO;
    switch (r->state) {
    case REQ_READING:
        if (r->sink_fd >= 0)
            return stream_body(s, r, upload_data, upload_data_size);
        if (*upload_data_size) {
            /* A chunked body (no Content-Length) over the limit: MHD takes
             * no answer in the middle of a body, so the connection is
             * closed. */
            if (r->body.len + *upload_data_size > r->max_body)
                return MHD_NO;
            buf_append(&r->body, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return buf_failed(&r->body) ? MHD_NO : MHD_YES;
        }
        return hand_over(s, r);
    case REQ_ANSWERED:
        r->state = REQ_SENT;
        if (r->route->cors &&
            kv_add(&r->rh, &r->nrh, "Access-Control-Allow-Origin", "*", false) < 0)
            return MHD_NO;
        atomic_fetch_add(&s->requests, 1);
        if (r->resp_fd >= 0) {
            int fd = r->resp_fd;
            r->resp_fd = -1;
            return queue_fd(c, r->status, r->content_type, fd,
                            r->resp_fd_size, r->rh, r->nrh);
        }
        char *body = r->resp;
        r->resp = NULL;
        return queue(c, r->status, r->content_type, body, r->resp_len, r->rh,
                     r->nrh);
    case REQ_HELD:
    case REQ_SENT:
        break;
    }
    return MHD_NO;
}

/* libmicrohttpd's own messages: fmt is its format string, passed on. */
__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!log_enabled(LOG_LEVEL_DEBUG))
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug(LOG, "libmicrohttpd: %s", line);
}

/* ---- the HTTP thread: its loop --------------------------------------------------- */

static void enforce_deadlines(struct http_server *s)
{
    uint64_t now = now_ms();
    if (now - s->last_check_ms < DEADLINE_CHECK_MS)
        return;
    s->last_check_ms = now;
    uint64_t limit = (uint64_t)s->cfg.timeout_s * 1000;
    for (struct track *t = s->tracks; t; t = t->next) {
        if (t->busy || t->shut ||
            now - t->since_ms < (t->limit_ms ? t->limit_ms : limit))
            continue;
        /* MHD sees the end of the stream on its next read and closes the
         * connection (no answer: the client was too slow to get one). */
        t->shut = true;
        shutdown(t->fd, SHUT_RDWR);
        atomic_fetch_add(&s->timeouts, 1);
    }
}

/* Resumes what the XMPP thread answered.  Returns whether we are stopping. */
static bool take_answers(struct http_server *s)
{
    pthread_mutex_lock(&s->lock);
    struct http_request *r = s->answered;
    s->answered = s->answered_tail = NULL;
    bool stopping = s->stopping;
    pthread_mutex_unlock(&s->lock);
    while (r) {
        struct http_request *next = r->next;
        suspended_remove(s, r);
        MHD_resume_connection(r->conn);
        r = next;
    }
    return stopping;
}

static int poll_timeout(struct http_server *s)
{
    MHD_UNSIGNED_LONG_LONG to;
    int t = -1;
    if (MHD_get_timeout(s->mhd, &to) == MHD_YES)
        t = to > INT_MAX ? INT_MAX : (int)to;
    if (s->ntracks && (t < 0 || t > DEADLINE_CHECK_MS))
        t = DEADLINE_CHECK_MS;
    return t;
}

static void *http_thread(void *arg)
{
    struct http_server *s = arg;
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    struct pollfd p[2] = {{di ? di->epoll_fd : -1, POLLIN, 0},
                          {s->wake_fd, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, poll_timeout(s)) < 0 && errno != EINTR) {
            log_error(LOG, "poll failed: %s", strerror(errno));
            break;
        }
        if (p[1].revents)
            drain(s->wake_fd);
        bool stopping = take_answers(s);
        MHD_run(s->mhd);
        enforce_deadlines(s);
        if (stopping)
            break;
    }
    /* Stopping: send what is answered; close what the XMPP thread still
     * holds (MHD must not be stopped with suspended connections). */
    take_answers(s);
    for (struct http_request *r = s->suspended, *next; r; r = next) {
        next = r->snext;
        r->closing = true;
        suspended_remove(s, r);
        MHD_resume_connection(r->conn);
    }
    uint64_t until = now_ms() + STOP_FLUSH_MS;
    do {
        MHD_run(s->mhd);
        poll(p, 1, 10);
    } while (s->ntracks && now_ms() < until);
    return NULL;
}

/* ---- the XMPP thread --------------------------------------------------------- */

static void on_incoming(void *ud, int fd, uint32_t events)
{
    struct http_server *s = ud;
    (void)events;
    drain(fd);
    pthread_mutex_lock(&s->lock);
    struct http_request *r = s->incoming;
    s->incoming = s->incoming_tail = NULL;
    pthread_mutex_unlock(&s->lock);
    while (r) {
        struct http_request *next = r->next;
        r->next = NULL;
        log_debug(LOG, "%s %s from %s", r->method, r->path, r->peer);
        r->route->handler(r->route->ud, r);
        r = next;
    }
}

struct http_server *http_server_new(struct loop *loop,
                                    const struct http_config *cfg, char *err,
                                    size_t errlen)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->cfg = *cfg;
    s->xmpp_fd = s->wake_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    s->listen = strdup(cfg->listen ? cfg->listen : "");
    if (!s->listen || netaddr_parse(cfg->listen, &s->addr, &s->addrlen) < 0) {
        snprintf(err, errlen, "'%s' is not ADDRESS:PORT",
                 cfg->listen ? cfg->listen : "");
        goto fail;
    }
    s->cfg.listen = s->listen;
    s->xmpp_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->xmpp_fd < 0 || s->wake_fd < 0 ||
        loop_io_add(loop, s->xmpp_fd, EPOLLIN, on_incoming, s) < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    return s;
fail:
    http_server_free(s);
    return NULL;
}

int http_server_route(struct http_server *s, const struct http_route *route)
{
    if (s->mhd || !route->path || route->path[0] != '/' || !route->handler)
        return -1;
    for (size_t i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].path, route->path) == 0)
            return -1;
    struct http_route *more =
        realloc(s->routes, (s->nroutes + 1) * sizeof *more);
    if (!more)
        return -1;
    s->routes = more;
    s->routes[s->nroutes++] = *route;
    return 0;
}

int http_server_start(struct http_server *s)
{
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (s->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)s->cfg.max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->cfg.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)64,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_END);
    if (!s->mhd) {
        log_error(LOG, "cannot listen on %s: %s", s->listen,
                  errno ? strerror(errno) : "libmicrohttpd refused to start");
        return -1;
    }
    if (pthread_create(&s->thread, NULL, http_thread, s) != 0) {
        log_error(LOG, "cannot start the HTTP thread");
        MHD_stop_daemon(s->mhd);
        s->mhd = NULL;
        return -1;
    }
    s->thread_running = true;
    log_info(LOG, "listening on %s", s->listen);
    return 0;
}

static void answer_503(struct http_server *s, struct http_request *r)
{
    free(r->content_type);
    r->content_type = strdup("text/plain; charset=utf-8");
    r->resp = strdup("Shutting down\n");
    r->resp_len = r->resp ? strlen(r->resp) : 0;
    r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
    r->state = REQ_ANSWERED;
    push(&s->answered, &s->answered_tail, r);
}

void http_server_stop(struct http_server *s)
{
    if (!s || s->stopped)
        return;
    s->stopped = true;
    if (!s->thread_running)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    struct http_request *r = s->incoming;
    s->incoming = s->incoming_tail = NULL;
    while (r) {
        struct http_request *next = r->next;
        answer_503(s, r);
        r = next;
    }
    pthread_mutex_unlock(&s->lock);
    wake(s->wake_fd);
    pthread_join(s->thread, NULL);
    s->thread_running = false;
    /* Closes the connections; their completed callbacks run here. */
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    log_info(LOG, "stopped listening on %s", s->listen);
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    http_server_stop(s);
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->xmpp_fd >= 0) {
        loop_io_remove(s->loop, s->xmpp_fd);
        close(s->xmpp_fd);
    }
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_mutex_destroy(&s->lock);
    free(s->routes);
    free(s->listen);
    free(s);
}

void http_server_stats(const struct http_server *s, struct http_stats *out)
{
    out->requests = atomic_load(&s->requests);
    out->refused = atomic_load(&s->refused);
    out->timeouts = atomic_load(&s->timeouts);
    out->connections = atomic_load(&s->connections);
}

/* ---- requests on the XMPP thread ------------------------------------------------- */

const char *http_request_method(const struct http_request *r)
{
    return r->method;
}

const char *http_request_path(const struct http_request *r)
{
    return r->path;
}

static const char *lookup(const struct http_request *r, const char *name,
                          bool query)
{
    for (size_t i = 0; i < r->nkv; i++)
        if (r->kv[i].query == query &&
            (query ? strcmp(r->kv[i].name, name)
                   : strcasecmp(r->kv[i].name, name)) == 0)
            return r->kv[i].value;
    return NULL;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
    return lookup(r, name, false);
}

int http_response_header(struct http_request *r, const char *name,
                         const char *value)
{
    return kv_add(&r->rh, &r->nrh, name, value, false);
}

static void deliver(struct http_request *r)
{
    struct http_server *s = r->srv;
    if (s->stopped || r->body_state == HTTP_BODY_ABORTED) {
        /* The connection is gone with the server. */
        request_free(r);
        return;
    }
    pthread_mutex_lock(&s->lock);
    r->state = REQ_ANSWERED;
    push(&s->answered, &s->answered_tail, r);
    pthread_mutex_unlock(&s->lock);
    wake(s->wake_fd);
}

void http_respond(struct http_request *r, unsigned status,
                  const char *content_type, const void *body, size_t len)
{
    r->status = status;
    r->content_type = content_type ? strdup(content_type) : NULL;
    r->resp = malloc(len ? len : 1);
    if (!r->resp || (content_type && !r->content_type)) {
        free(r->resp);
        r->resp = NULL;
        r->resp_len = 0;
        r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    } else {
        memcpy(r->resp, body, len);
        r->resp_len = len;
    }
    deliver(r);
}

void http_respond_buf(struct http_request *r, unsigned status,
                      const char *content_type, struct buf *body)
{
    if (buf_failed(body)) {
        buf_reset(body);
        http_respond(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                     "Out of memory\n", 14);
        return;
    }
    r->status = status;
    r->content_type = content_type ? strdup(content_type) : NULL;
    r->resp_len = body->len;
    r->resp = buf_steal(body);
    if (!r->resp)
        r->resp_len = 0;
    deliver(r);
}

void http_respond_fd(struct http_request *r, unsigned status,
                     const char *content_type, int fd, uint64_t size)
{
    r->status = status;
    r->content_type = content_type ? strdup(content_type) : NULL;
    r->resp_fd = fd;
    r->resp_fd_size = size;
    deliver(r);
}

int http_request_accept_body(struct http_request *r, int fd,
                             const char *tmp_path, const char *final_path)
{
    struct http_server *s = r->srv;
    if (!r->streaming || r->sink_fd >= 0 || s->stopped)
        return -1;
    r->tmp_path = strdup(tmp_path);
    r->final_path = strdup(final_path);
    r->sha = EVP_MD_CTX_new();
    if (!r->tmp_path || !r->final_path || !r->sha ||
        EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1) {
        free(r->tmp_path);
        free(r->final_path);
        EVP_MD_CTX_free(r->sha);
        r->tmp_path = r->final_path = NULL;
        r->sha = NULL;
        return -1;
    }
    r->sink_fd = fd;
    /* Back to the HTTP thread, reading: resumed like an answer. */
    pthread_mutex_lock(&s->lock);
    r->state = REQ_READING;
    push(&s->answered, &s->answered_tail, r);
    pthread_mutex_unlock(&s->lock);
    wake(s->wake_fd);
    return 0;
}

enum http_body_state http_request_body_state(const struct http_request *r)
{
    return r->body_state;
}

uint64_t http_request_body_received(const struct http_request *r)
{
    return r->received;
}

const unsigned char *http_request_body_sha256(const struct http_request *r)
{
    return r->digest;
}
