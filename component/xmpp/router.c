#include "build-config.h"

#include "xmpp/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include <uthash.h>

#include "core/jid.h"
#include "core/log.h"

#define LOG "router"

struct iq_route {
    char *ns;
    router_iq_fn fn;
    void *ud;
    UT_hash_handle hh;
};

struct pending_reply {
    char *id;
    char *from; /* the prepared full JID the answer must come from */
    router_reply_fn fn;
    void *ud;
    struct loop_timer *timer;
    struct router *router;
    UT_hash_handle hh;
};

struct stanza_route {
    router_stanza_fn fn;
    void *ud;
};

struct router {
    struct loop *loop;
    struct link *link;
    char *domain;
    struct iq_route *iq_routes[ROUTE_KINDS];
    struct iq_route other_iq[ROUTE_KINDS];
    struct stanza_route messages[ROUTE_KINDS];
    struct stanza_route presences[ROUTE_KINDS];
    struct pending_reply *pending;
};

struct router *router_new(struct loop *loop, struct link *link,
                          const char *domain)
{
    struct router *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->loop = loop;
    r->link = link;
    r->domain = strdup(domain);
    if (!r->domain) {
        free(r);
        return NULL;
    }
    return r;
}

static void drop_pending(struct router *r, struct pending_reply *p)
{
    HASH_DEL(r->pending, p);
    free(p->id);
    free(p->from);
    free(p);
}

void router_free(struct router *r)
{
    if (!r)
        return;
    for (int k = 0; k < ROUTE_KINDS; k++) {
        struct iq_route *route, *tmp;
        HASH_ITER(hh, r->iq_routes[k], route, tmp) {
            HASH_DEL(r->iq_routes[k], route);
            free(route->ns);
            free(route);
        }
    }
    struct pending_reply *p, *tmp;
    HASH_ITER(hh, r->pending, p, tmp) {
        loop_timer_cancel(r->loop, p->timer);
        drop_pending(r, p);
    }
    free(r->domain);
    free(r);
}

int router_on_iq(struct router *r, enum route_kind kind, const char *ns,
                 router_iq_fn fn, void *ud)
{
    struct iq_route *route;
    HASH_FIND_STR(r->iq_routes[kind], ns, route);
    if (route)
        return -1; /* two modules claiming one namespace is a wiring bug */
    route = calloc(1, sizeof *route);
    if (!route || !(route->ns = strdup(ns))) {
        free(route);
        return -1;
    }
    route->fn = fn;
    route->ud = ud;
    HASH_ADD_KEYPTR(hh, r->iq_routes[kind], route->ns, strlen(route->ns),
                    route);
    return 0;
}

int router_on_other_iq(struct router *r, enum route_kind kind,
                       router_iq_fn fn, void *ud)
{
    r->other_iq[kind].fn = fn;
    r->other_iq[kind].ud = ud;
    return 0;
}

int router_on_message(struct router *r, enum route_kind kind,
                      router_stanza_fn fn, void *ud)
{
    r->messages[kind] = (struct stanza_route){fn, ud};
    return 0;
}

int router_on_presence(struct router *r, enum route_kind kind,
                       router_stanza_fn fn, void *ud)
{
    r->presences[kind] = (struct stanza_route){fn, ud};
    return 0;
}

int router_new_id(struct router *r, char *out, size_t size)
{
    (void)r;
    unsigned char rnd[16];
    if (size < ROUTER_ID_SIZE || RAND_bytes(rnd, sizeof rnd) != 1) {
        if (size)
            out[0] = '\0';
        return -1;
    }
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "md-", 3);
    for (size_t i = 0; i < sizeof rnd; i++) {
        out[3 + 2 * i] = hex[rnd[i] >> 4];
        out[4 + 2 * i] = hex[rnd[i] & 15];
    }
    out[3 + 2 * sizeof rnd] = '\0';
    return 0;
}

static void on_reply_timeout(void *ud)
{
    struct pending_reply *p = ud;
    struct router *r = p->router;
    router_reply_fn fn = p->fn;
    void *fn_ud = p->ud;
    p->timer = NULL; /* the loop frees it after we return */
    drop_pending(r, p);
    fn(fn_ud, NULL);
}

int router_expect_reply(struct router *r, const char *id, const char *to_jid,
                        uint64_t timeout_ms, router_reply_fn fn, void *ud)
{
    struct jid to;
    char from[JID_TEXT_MAX + 1];
    struct pending_reply *p = NULL;
    if (!id || !to_jid || jid_parse(to_jid, &to) < 0 ||
        jid_full_text(&to, from, sizeof from) < 0)
        return -1;
    HASH_FIND_STR(r->pending, id, p);
    if (p)
        return -1; /* ids are unique: a second wait under one is a bug */
    p = calloc(1, sizeof *p);
    if (!p || !(p->id = strdup(id)) || !(p->from = strdup(from))) {
        if (p)
            free(p->id);
        free(p);
        return -1;
    }
    p->fn = fn;
    p->ud = ud;
    p->router = r;
    p->timer = loop_timer_add(r->loop, timeout_ms, on_reply_timeout, p, NULL);
    if (!p->timer) {
        free(p->id);
        free(p->from);
        free(p);
        return -1;
    }
    HASH_ADD_KEYPTR(hh, r->pending, p->id, strlen(p->id), p);
    return 0;
}

const char *router_domain(const struct router *r)
{
    return r->domain;
}

struct buf *router_out(struct router *r)
{
    return link_out(r->link);
}

/* ---- dispatch ------------------------------------------------------------------ */

static void dispatch_iq_reply(struct router *r, const struct stanza_in *in)
{
    struct pending_reply *p = NULL;
    if (in->id)
        HASH_FIND_STR(r->pending, in->id, p);
    char from[JID_TEXT_MAX + 1];
    if (p && (jid_full_text(&in->from, from, sizeof from) < 0 ||
              strcmp(from, p->from) != 0)) {
        /* Someone else answering in the addressee's place (the id leaked
         * or was guessed): not the answer.  The real one may still come. */
        log_info(LOG, "dropping an iq %s whose id awaits an answer from "
                      "someone else", in->type);
        p = NULL;
    }
    if (!p)
        return; /* a result nobody waits for: never answered (RFC 6120 8.2.3) */
    router_reply_fn fn = p->fn;
    void *ud = p->ud;
    loop_timer_cancel(r->loop, p->timer);
    drop_pending(r, p);
    fn(ud, in);
}

static void dispatch_iq(struct router *r, enum route_kind kind,
                        const struct stanza_in *in)
{
    struct xerr err;
    xerr_init(&err);

    if (in->type && (strcmp(in->type, "result") == 0 ||
                     strcmp(in->type, "error") == 0)) {
        dispatch_iq_reply(r, in);
        return;
    }
    if (!in->type || (strcmp(in->type, "get") && strcmp(in->type, "set"))) {
        xerr_set(&err, XERR_BAD_REQUEST, "iq type must be get or set");
        goto fail;
    }
    if (!in->id) {
        xerr_set(&err, XERR_BAD_REQUEST, "iq needs an id");
        goto fail;
    }
    /* RFC 6120 8.2.3: a get or set has exactly one child element. */
    xmpp_stanza_t *payload = NULL;
    int elements = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(in->st); c;
         c = xmpp_stanza_get_next(c)) {
        if (xmpp_stanza_is_tag(c) && elements++ == 0)
            payload = c;
    }
    if (elements != 1) {
        xerr_set(&err, XERR_BAD_REQUEST,
                 "iq get/set must have exactly one child element");
        goto fail;
    }
    const char *ns = xmpp_stanza_get_ns(payload);
    struct iq_route *route = NULL;
    if (ns)
        HASH_FIND_STR(r->iq_routes[kind], ns, route);
    if (!route && r->other_iq[kind].fn)
        route = &r->other_iq[kind];
    if (!route) {
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE, NULL);
        goto fail;
    }
    if (route->fn(route->ud, in, payload, &err) == 0)
        return;
fail:
    stanza_write_error(link_out(r->link), in, &err);
}

static void dispatch_stanza_route(struct router *r, const struct stanza_route *route,
                                  const struct stanza_in *in)
{
    if (route->fn) {
        route->fn(route->ud, in);
        return;
    }
    /* Nobody handles it.  Presence is informational and never answered with
     * an error unless it was a directed request; messages get one. */
    if (in->kind == STANZA_MESSAGE) {
        struct xerr err;
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE, NULL);
        stanza_write_error(link_out(r->link), in, &err);
    }
}

void router_dispatch(struct router *r, xmpp_stanza_t *st)
{
    struct stanza_in in;
    enum stanza_parse_result pr = stanza_in_parse(st, &in);

    if (in.kind == STANZA_OTHER) {
        log_debug(LOG, "ignoring <%s/> element", in.name ? in.name : "?");
        return;
    }
    if (pr == STANZA_NO_ADDRESS || pr == STANZA_BAD_FROM) {
        /* The server always stamps a valid from; nothing to answer to. */
        log_warn(LOG, "dropping %s without a valid from/to address", in.name);
        return;
    }
    if (pr == STANZA_BAD_TO) {
        struct xerr err;
        xerr_set(&err, XERR_JID_MALFORMED, "The address is not a valid JID");
        in.to_text = r->domain; /* answer from an address that is valid */
        stanza_write_error(link_out(r->link), &in, &err);
        return;
    }
    if (strcmp(in.to.domain, r->domain) != 0) {
        log_warn(LOG, "dropping %s addressed to another domain", in.name);
        return;
    }

    enum route_kind kind = !jid_has_local(&in.to)      ? ROUTE_SERVICE
                           : !jid_has_resource(&in.to) ? ROUTE_ROOM
                                                       : ROUTE_OCCUPANT;
    switch (in.kind) {
    case STANZA_IQ:
        dispatch_iq(r, kind, &in);
        break;
    case STANZA_MESSAGE:
        dispatch_stanza_route(r, &r->messages[kind], &in);
        break;
    case STANZA_PRESENCE:
        dispatch_stanza_route(r, &r->presences[kind], &in);
        break;
    default:
        break;
    }
}
