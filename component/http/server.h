/* The HTTP listener ([http] listen): libmicrohttpd on a thread of its own,
 * and a router of paths to handlers that run on the XMPP thread.
 *
 * The HTTP thread reads and bounds each request (connections in all and
 * per address, the request head's size, the time to send a request, the
 * body's size per route) and answers by itself what needs no live state:
 * 404 for a path no route has, 405 for a method the route does not take,
 * 413 for a body over the route's limit.  A request for a route is then
 * suspended (MHD suspend/resume) and handed to the XMPP thread through a
 * queue and an eventfd, as the DB thread hands back its operations; there
 * the route's handler reads the live state and answers, at once or later
 * (after a database operation, say), and the answer goes back to the HTTP
 * thread the same way.  No code on the HTTP thread touches live state.
 *
 * Routes are added before http_server_start() and never change after: the
 * HTTP thread reads the table without a lock.  A route is a path, exact or
 * a prefix ("/upload/" for every path under it), the methods it takes and
 * the largest body it accepts (bodies are read on the HTTP thread into
 * memory and handed over whole). */
#ifndef MUCDESK_HTTP_SERVER_H
#define MUCDESK_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"

struct http_server;
struct http_request;

struct http_config {
    const char *listen;           /* "ADDRESS:PORT" (core/netaddr.h) */
    unsigned max_connections;     /* open at once, all clients */
    unsigned max_connections_per_ip;
    unsigned timeout_s;           /* a request must arrive within this from
                                     the connection's start (or the end of
                                     the previous request); the idle limit */
};

enum http_method {
    HTTP_GET = 1 << 0,            /* HEAD too: libmicrohttpd drops the body */
    HTTP_POST = 1 << 1,
    HTTP_PUT = 1 << 2,
    HTTP_DELETE = 1 << 3,
};

/* Runs on the XMPP thread.  Must answer req exactly once with
 * http_respond*(), now or later; until then req stays valid. */
typedef void (*http_handler_fn)(void *ud, struct http_request *req);

struct http_route {
    const char *path;             /* begins with '/'; borrowed (a literal) */
    bool prefix;                  /* matches every path that starts so */
    unsigned methods;             /* enum http_method bits */
    size_t max_body;              /* 0: a request with a body gets 413 */
    http_handler_fn handler;
    void *ud;
    /* Streamed bodies (uploads): a PUT or POST must carry Content-Length
     * (else 411) and is handed over at its head, before the body; the
     * handler answers (a refusal) or calls http_request_accept_body(),
     * and is called again once the body is written (or the client went
     * away: http_request_aborted()).  timeout_s is the deadline for the
     * body from there (0: [http] timeout). */
    bool stream;
    unsigned timeout_s;
    /* Pages of any origin may use it (the URL is the capability): the
     * HTTP thread answers a CORS preflight (OPTIONS) itself, and every
     * answer carries Access-Control-Allow-Origin: *. */
    bool cors;
};

/* The request head's size limit (request line and headers): libmicrohttpd
 * answers a larger one with 431 (or 414 for the request line). */
#define HTTP_HEAD_MAX 8192

/* Creates the server (not yet listening).  NULL, with the reason in err,
 * if the configuration cannot work. */
struct http_server *http_server_new(struct loop *loop,
                                    const struct http_config *cfg, char *err,
                                    size_t errlen);
/* Adds a route (copied; strings borrowed).  Only before the start.  0, or
 * -1 (started already, no memory, a path some route has). */
int http_server_route(struct http_server *s, const struct http_route *route);
/* Binds the address and starts the HTTP thread.  The caller must have
 * blocked the signals the main thread handles.  0, or -1 (logged). */
int http_server_start(struct http_server *s);
/* Stops the thread: requests not yet handed over get 503, connections are
 * closed.  A request still held by a handler may be answered later (the
 * answer is dropped).  Idempotent. */
void http_server_stop(struct http_server *s);
/* Stops it if needed.  Every request held by a handler must have been
 * answered.  NULL is a no-op. */
void http_server_free(struct http_server *s);

/* Counts for the metrics (read on the XMPP thread). */
struct http_stats {
    uint64_t requests;            /* requests answered, any status */
    uint64_t refused;             /* answered by the HTTP thread (4xx) */
    uint64_t timeouts;            /* connections closed: request too slow */
    uint64_t connections;         /* open now */
};
void http_server_stats(const struct http_server *s, struct http_stats *out);

/* ---- a request, on the XMPP thread (valid until answered) ---------------- */

const char *http_request_method(const struct http_request *r); /* "GET" */
const char *http_request_path(const struct http_request *r);   /* "/metrics" */
/* A request header (name case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r,
                                const char *name);

/* ---- streamed bodies (struct http_route.stream) ------------------------------------ */

enum http_body_state {
    HTTP_BODY_NONE,               /* not a streamed request, or at its head */
    HTTP_BODY_DONE,               /* written, fsynced and renamed */
    HTTP_BODY_FAILED,             /* a write, the fsync or the rename failed */
    HTTP_BODY_ABORTED,            /* the client went away: answer anyway
                                     (http_respond only frees the request) */
};
/* At the head: the HTTP thread writes the body to fd (taken: closed with
 * the request), computing its SHA-256, then fsyncs it, renames tmp_path to
 * final_path and fsyncs the directory; then the handler is called again.
 * 0, or -1 (the request is unchanged: answer it). */
int http_request_accept_body(struct http_request *r, int fd,
                             const char *tmp_path, const char *final_path);
enum http_body_state http_request_body_state(const struct http_request *r);
/* The body's length and SHA-256 (32 bytes) once HTTP_BODY_DONE. */
uint64_t http_request_body_received(const struct http_request *r);
const unsigned char *http_request_body_sha256(const struct http_request *r);

/* Adds a response header (copied) before the answer.  0 or -1. */
int http_response_header(struct http_request *r, const char *name,
                         const char *value);
/* Answers: status, content type, the body (copied).  req is gone after. */
void http_respond(struct http_request *r, unsigned status,
                  const char *content_type, const void *body, size_t len);
/* Answers with an open file's first `size` bytes as the body (fd taken:
 * libmicrohttpd reads and closes it on the HTTP thread). */
void http_respond_fd(struct http_request *r, unsigned status,
                     const char *content_type, int fd, uint64_t size);
/* The same, taking the buffer's data (the buffer is left empty); a failed
 * buffer answers 500. */
void http_respond_buf(struct http_request *r, unsigned status,
                      const char *content_type, struct buf *body);

#endif
