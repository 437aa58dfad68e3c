/* XEP-0363 slots, the files' PUT and GET, the queue status resource.
 *
 * A slot is a capability: /upload/TICKET/TOKEN/NAME on [http] public_url,
 * TOKEN 192 random bits (hex).  Slots live in memory (a restart forgets
 * the unused ones: the client asks again).  A stored file is
 * DIR/TICKET/TOKEN (its content type and name in DIR/TICKET/TOKEN.meta),
 * or DIR/TICKET/TOKEN.held while the scan command has not passed it.  Its
 * transcript event has the stanza id "file-" + hex(SHA-256(TOKEN))[0..32]:
 * the sweep deletes every file whose event the database no longer has
 * (retention, purge-customer, by the daemon or mucdeskctl). */
#include "build-config.h"

#include "upload/upload.h"
#include "upload/upload_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crc32c.h"
#include "core/jid.h"
#include "core/log.h"
#include "desk/files.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define NS_UPLOAD "urn:xmpp:http:upload:0"
#define NS_DESK_HINT "urn:mucdesk:0"
#define NS_OOB "jabber:x:oob"
/* The desk's one refusal (desk/authz.c): an outsider learns nothing. */
#define REFUSAL "You are not allowed to do that"
#define NAME_MAX_BYTES UPLOAD_NAME_MAX_BYTES
#define TYPE_MAX_BYTES UPLOAD_TYPE_MAX_BYTES
/* Unused slots at once: per requester, in all. */
#define SLOTS_PER_JID 10
#define SLOTS_MAX 2000

/* ---- helpers --------------------------------------------------------------------- */

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* A media type, lower-cased into out: type/subtype, RFC 6838 characters,
 * no parameters.  0 or -1. */
static int media_type(const char *in, char *out, size_t size)
{
    size_t n = strlen(in);
    if (n == 0 || n >= size || n > TYPE_MAX_BYTES)
        return -1;
    int slashes = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = in[i];
        if (c == '/')
            slashes++;
        else if (c && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || strchr("!#$&-^_.+", c)))
            return -1;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return slashes == 1 && out[0] != '/' && out[n - 1] != '/' ? 0 : -1;
}

static void slot_url(const struct upload *u, const struct upload_slot *s,
                     struct buf *out)
{
    upload_url(out, u->public_url, s->ticket, s->token, s->name);
}

/* ---- slots ----------------------------------------------------------------------- */

static void slot_free(struct upload *u, struct upload_slot *s)
{
    HASH_DEL(u->slots, s);
    u->slot_count--;
    struct upload_ticket *t = upload_ticket_use(u, s->ticket);
    if (t && !s->stored)
        t->reserved -= s->size;
    free(s->requester);
    free(s->bare);
    free(s->nick);
    free(s->name);
    free(s->type);
    free(s);
}

static void expire_slots(struct upload *u)
{
    uint64_t now = loop_now(u->loop);
    struct upload_slot *s, *tmp;
    HASH_ITER(hh, u->slots, s, tmp)
        if (!s->uploading && now >= s->expires_ms)
            slot_free(u, s);
}

static unsigned slots_of(const struct upload *u, const char *requester)
{
    unsigned n = 0;
    for (const struct upload_slot *s = u->slots; s; s = s->hh.next)
        if (!s->uploading && !s->stored && strcmp(s->requester, requester) == 0)
            n++;
    return n;
}

/* Validates the request's attributes into the slot.  0, or -1 with err. */
static int read_request(struct upload *u, xmpp_stanza_t *payload,
                        struct upload_slot *s, struct xerr *err)
{
    const char *name = stanza_attr(payload, "filename");
    const char *size = stanza_attr(payload, "size");
    const char *type = stanza_attr(payload, "content-type");
    char *end;
    if (!name || !upload_name_ok(name)) {
        xerr_set(err, XERR_BAD_REQUEST, "The file name is missing or not "
                 "acceptable (at most %d bytes, no '/' or control characters)",
                 NAME_MAX_BYTES);
        return -1;
    }
    errno = 0;
    unsigned long long n = size ? strtoull(size, &end, 10) : 0;
    if (!size || errno || *end || size[0] == '-' || n == 0) {
        xerr_set(err, XERR_BAD_REQUEST, "The size must be a positive integer");
        return -1;
    }
    if (n > (unsigned long long)u->cfg->upload.max_file_size) {
        xerr_set(err, XERR_NOT_ACCEPTABLE,
                 "File too large: at most %d bytes are accepted",
                 u->cfg->upload.max_file_size);
        err->app_ns = NS_UPLOAD;
        err->app_condition = "file-too-large";
        return -1;
    }
    char mt[TYPE_MAX_BYTES + 1];
    if (media_type(type ? type : "application/octet-stream", mt, sizeof mt) < 0 ||
        !upload_type_allowed(u->cfg->upload.types, mt)) {
        xerr_set(err, XERR_NOT_ACCEPTABLE, "Files of this type are not "
                 "accepted here (allowed: %s)", u->cfg->upload.types);
        return -1;
    }
    s->size = n;
    s->name = strdup(name);
    s->type = strdup(mt);
    return s->name && s->type ? 0 : -1;
}

static void write_slot(struct upload *u, const struct stanza_in *in,
                       const struct upload_slot *s)
{
    struct buf url;
    buf_init(&url);
    slot_url(u, s, &url);
    struct buf *out = router_out(u->router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><slot xmlns='" NS_UPLOAD "'><put");
    xml_attr(out, "url", buf_cstr(&url));
    buf_append_str(out, "/><get");
    xml_attr(out, "url", buf_cstr(&url));
    buf_append_str(out, "/></slot></iq>");
    buf_free(&url);
}

static int on_request(void *ud, const struct stanza_in *in,
                      xmpp_stanza_t *payload, struct xerr *err)
{
    struct upload *u = ud;
    if (strcmp(in->type, "get") != 0 ||
        strcmp(xmpp_stanza_get_name(payload), "request") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Ask for a slot with <request/>");
        return -1;
    }
    expire_slots(u);
    /* Who asks first: an outsider hears the same whatever they send. */
    xmpp_stanza_t *hint_el = stanza_child(payload, "chat", NS_DESK_HINT);
    struct desk_file_chat chat;
    if (desk_files_find_chat(u->desk, in->from_text,
                             hint_el ? stanza_attr(hint_el, "room") : NULL,
                             &chat) < 0) {
        xerr_set(err, XERR_FORBIDDEN, REFUSAL);
        return -1;
    }
    struct upload_slot *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    if (read_request(u, payload, s, err) < 0)
        goto fail;
    struct upload_ticket *t = upload_ticket_use(u, chat.ticket);
    if (!t)
        goto fail;
    if (t->stored + t->reserved + s->size >
        (uint64_t)u->cfg->upload.max_ticket_bytes) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "This chat's files would "
                 "exceed %d bytes", u->cfg->upload.max_ticket_bytes);
        goto fail;
    }
    if (u->slot_count >= SLOTS_MAX ||
        slots_of(u, in->from_text) >= SLOTS_PER_JID) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Too many uploads waiting: "
                 "use the slots you have or try again later");
        goto fail;
    }
    unsigned char rnd[UPLOAD_TOKEN_BYTES];
    char bare[JID_TEXT_MAX + 1];
    if (RAND_bytes(rnd, sizeof rnd) != 1 ||
        jid_bare_text(&in->from, bare, sizeof bare) < 0)
        goto fail;
    hex(rnd, sizeof rnd, s->token);
    s->ticket = chat.ticket;
    s->requester = strdup(in->from_text);
    s->bare = strdup(bare);
    s->nick = strdup(chat.nick);
    if (!s->requester || !s->bare || !s->nick)
        goto fail;
    s->expires_ms = loop_now(u->loop) + (uint64_t)u->cfg->upload.slot_timeout_s * 1000u;
    t->reserved += s->size;
    HASH_ADD_STR(u->slots, token, s);
    u->slot_count++;
    log_info(LOG, "ticket %" PRId64 ": slot for %s (%" PRIu64 " bytes, %s)",
             s->ticket, s->bare, s->size, s->type);
    write_slot(u, in, s);
    return 0;
fail:
    free(s->requester);
    free(s->bare);
    free(s->nick);
    free(s->name);
    free(s->type);
    free(s);
    return -1;
}

/* ---- the HTTP side ------------------------------------------------------------ */

static void answer(struct http_request *r, unsigned status, const char *text)
{
    http_response_header(r, "Cache-Control", "no-store");
    http_respond(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* "/upload/TICKET/TOKEN/NAME" into its ticket and token.  0 or -1. */
static int parse_path(const char *path, int64_t *ticket, char token[])
{
    const char *p = path + strlen("/upload/");
    char *end;
    errno = 0;
    long long t = strtoll(p, &end, 10);
    if (errno || end == p || *end != '/' || t <= 0 || p[0] == '0')
        return -1;
    p = end + 1;
    size_t n = strspn(p, "0123456789abcdef");
    if (n != 2 * UPLOAD_TOKEN_BYTES || p[n] != '/' || !p[n + 1])
        return -1;
    memcpy(token, p, n);
    token[n] = '\0';
    *ticket = t;
    return 0;
}

/* The head of a PUT: the slot, its size and type, the bounds. */
static void put_head(struct upload *u, struct http_request *r, int64_t ticket,
                     const char *token)
{
    struct upload_slot *s = NULL;
    HASH_FIND_STR(u->slots, token, s);
    if (!s || s->ticket != ticket) {
        answer(r, 404, "No such upload slot\n");
        return;
    }
    if (s->uploading || s->stored) {
        answer(r, 409, "This slot was used already\n");
        return;
    }
    if (loop_now(u->loop) >= s->expires_ms) {
        slot_free(u, s);
        answer(r, 410, "This upload slot has expired\n");
        return;
    }
    const char *cl = http_request_header(r, "Content-Length");
    char want[24];
    snprintf(want, sizeof want, "%" PRIu64, s->size);
    if (!cl || strcmp(cl, want) != 0) {
        answer(r, 400, "Content-Length is not the size of the slot\n");
        return;
    }
    const char *ct = http_request_header(r, "Content-Type");
    char mt[TYPE_MAX_BYTES + 1];
    if (media_type(ct ? ct : "application/octet-stream", mt, sizeof mt) < 0 ||
        strcmp(mt, s->type) != 0) {
        answer(r, 415, "Content-Type is not the type of the slot\n");
        return;
    }
    if (u->uploads >= (unsigned)u->cfg->upload.max_uploads ||
        u->bytes_in_flight + s->size > (uint64_t)u->cfg->upload.max_bytes_in_flight) {
        http_response_header(r, "Retry-After", "5");
        answer(r, 503, "Too many uploads at once: try again shortly\n");
        return;
    }
    char dir[UPLOAD_PATH_MAX], tmp[UPLOAD_PATH_MAX], final[UPLOAD_PATH_MAX],
        meta[UPLOAD_PATH_MAX];
    if (upload_ticket_dir(u, ticket, dir, sizeof dir) < 0 ||
        upload_file_path(u, ticket, token, ".part", tmp, sizeof tmp) < 0 ||
        upload_file_path(u, ticket, token, u->scan ? ".held" : "", final,
                         sizeof final) < 0 ||
        upload_file_path(u, ticket, token, ".meta", meta, sizeof meta) < 0 ||
        (mkdir(dir, 0700) < 0 && errno != EEXIST) || upload_meta_write(meta, s->type, s->name) < 0) {
        log_error(LOG, "cannot prepare %s: %s", dir, strerror(errno));
        answer(r, 500, "Cannot store the file\n");
        return;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || http_request_accept_body(r, fd, tmp, final) < 0) {
        log_error(LOG, "cannot create %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        answer(r, 500, "Cannot store the file\n");
        return;
    }
    s->uploading = true;
    u->uploads++;
    u->bytes_in_flight += s->size;
}

/* The PUT's body is written (or not). */
static void put_done(struct upload *u, struct http_request *r,
                     const char *token)
{
    struct upload_slot *s = NULL;
    HASH_FIND_STR(u->slots, token, s);
    if (!s) { /* cannot happen: an uploading slot is kept */
        answer(r, 500, "Lost the slot\n");
        return;
    }
    u->uploads--;
    u->bytes_in_flight -= s->size;
    s->uploading = false;
    enum http_body_state bs = http_request_body_state(r);
    if (bs != HTTP_BODY_DONE || http_request_body_received(r) != s->size) {
        /* The client may try again with the same slot. */
        char meta[UPLOAD_PATH_MAX];
        if (upload_file_path(u, s->ticket, token, ".meta", meta, sizeof meta) == 0)
            unlink(meta);
        answer(r, bs == HTTP_BODY_ABORTED ? 400 : 500, "Cannot store the file\n");
        return;
    }
    char sha[65];
    hex(http_request_body_sha256(r), 32, sha);
    s->stored = true;
    struct upload_ticket *t = upload_ticket_use(u, s->ticket);
    if (t) {
        t->reserved -= s->size;
        t->stored += s->size;
    }
    if (upload_record(u, s, sha) < 0) {
        answer(r, 503, "Cannot record the file in the chat now\n");
        upload_delete(u, s->ticket, token);
        slot_free(u, s);
        return;
    }
    if (u->scan)
        upload_scan_enqueue(u, s->ticket, token, s->bare, s->nick, s->name);
    /* Kept until it expires: a second PUT hears 409, not 404. */
    http_response_header(r, "Cache-Control", "no-store");
    http_respond(r, 201, "text/plain; charset=utf-8", "Created\n", 8);
}

int upload_record(struct upload *u, const struct upload_slot *s,
                  const char *sha)
{
    struct buf url, body, payload;
    buf_init(&url);
    buf_init(&body);
    buf_init(&payload);
    slot_url(u, s, &url);
    upload_event_text(&body, &payload, s->name, s->type, s->size, sha,
                      buf_cstr(&url));
    char id[UPLOAD_EVENT_ID_SIZE];
    upload_event_id(s->token, id);
    struct desk_file_event ev = {
        .stanza_id = id, .actor_jid = s->bare, .actor_nick = s->nick,
        .body = buf_cstr(&body), .payload = buf_cstr(&payload),
    };
    int rc = buf_failed(&url) || buf_failed(&body) || buf_failed(&payload)
                 ? -1
                 : desk_files_event(u->desk, s->ticket, &ev);
    if (rc == 0)
        log_info(LOG, "ticket %" PRId64 ": stored %s from %s (%" PRIu64
                 " bytes, %s, sha256 %s)", s->ticket, s->name, s->bare,
                 s->size, s->type, sha);
    buf_free(&url);
    buf_free(&body);
    buf_free(&payload);
    return rc;
}

/* Images that browsers show without running anything (not SVG). */
static bool inline_image(const char *type)
{
    return strcmp(type, "image/png") == 0 || strcmp(type, "image/jpeg") == 0 ||
           strcmp(type, "image/gif") == 0 || strcmp(type, "image/webp") == 0;
}

static int read_meta(const char *path, char *type, size_t tsize, char *name,
                     size_t nsize)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int rc = fgets(type, (int)tsize, f) && fgets(name, (int)nsize, f) ? 0 : -1;
    fclose(f);
    type[strcspn(type, "\n")] = '\0';
    name[strcspn(name, "\n")] = '\0';
    return rc == 0 && type[0] && name[0] ? 0 : -1;
}

static void get_file(struct upload *u, struct http_request *r, int64_t ticket,
                     const char *token)
{
    char path[UPLOAD_PATH_MAX], meta[UPLOAD_PATH_MAX], held[UPLOAD_PATH_MAX];
    char type[TYPE_MAX_BYTES + 2], name[NAME_MAX_BYTES + 2];
    if (upload_file_path(u, ticket, token, "", path, sizeof path) < 0 ||
        upload_file_path(u, ticket, token, ".meta", meta, sizeof meta) < 0 ||
        upload_file_path(u, ticket, token, ".held", held, sizeof held) < 0) {
        answer(r, 404, "Not Found\n");
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        read_meta(meta, type, sizeof type, name, sizeof name) < 0) {
        if (fd >= 0)
            close(fd);
        if (access(held, F_OK) == 0)
            answer(r, 423, "This file is being checked: try again shortly\n");
        else
            answer(r, 404, "Not Found\n");
        return;
    }
    struct buf cd;
    buf_init(&cd);
    buf_append_str(&cd, inline_image(type) ? "inline" : "attachment");
    buf_append_str(&cd, "; filename*=UTF-8''");
    upload_url_encode(&cd, name);
    http_response_header(r, "Content-Disposition", buf_cstr(&cd));
    buf_free(&cd);
    http_response_header(r, "X-Content-Type-Options", "nosniff");
    http_response_header(r, "Content-Security-Policy",
                         "default-src 'none'; sandbox");
    /* A capability URL: no shared cache keeps it, and it goes with the
     * transcript (purge), so browsers keep it only briefly. */
    http_response_header(r, "Cache-Control", "private, max-age=300");
    http_response_header(r, "Referrer-Policy", "no-referrer");
    http_respond_fd(r, 200, type, fd, (uint64_t)st.st_size);
}

static void on_upload(void *ud, struct http_request *r)
{
    struct upload *u = ud;
    int64_t ticket;
    char token[2 * UPLOAD_TOKEN_BYTES + 1];
    bool put = strcmp(http_request_method(r), "PUT") == 0;
    if (parse_path(http_request_path(r), &ticket, token) < 0) {
        if (put && http_request_body_state(r) != HTTP_BODY_NONE)
            answer(r, 500, "Lost the slot\n"); /* cannot happen */
        else
            answer(r, 404, "Not Found\n");
        return;
    }
    if (!put)
        get_file(u, r, ticket, token);
    else if (http_request_body_state(r) == HTTP_BODY_NONE)
        put_head(u, r, ticket, token);
    else
        put_done(u, r, token);
}

/* Names body with a weak ETag (a checksum of the bytes: a cache
 * revalidating the status every few seconds then gets a bodiless 304 while
 * nothing changed); true if the request's If-None-Match already names it. */
static bool revalidated(struct http_request *r, const struct buf *body)
{
    char tag[16];
    snprintf(tag, sizeof tag, "W/\"%08" PRIx32 "\"",
             crc32c(0, body->data, body->len));
    http_response_header(r, "ETag", tag);
    const char *known = http_request_header(r, "If-None-Match");
    return known && (strstr(known, tag + 2) || strcmp(known, "*") == 0);
}

/* o (consumed) as the JSON body of a response, a line of compact JSON;
 * 500 if memory ran out making it. */
static void respond_json(struct http_request *r, unsigned status,
                         struct json_object *o)
{
    struct buf body = BUF_INIT;
    const char *text = o ? json_object_to_json_string_ext(
                               o, JSON_C_TO_STRING_PLAIN |
                                      JSON_C_TO_STRING_NOSLASHESCAPE)
                         : NULL;
    if (text) {
        buf_append_str(&body, text);
        buf_append_char(&body, '\n');
    }
    json_object_put(o);
    if (!text || buf_failed(&body))
        answer(r, 500, "Out of memory\n");
    else if (status == 200 && revalidated(r, &body))
        http_respond(r, 304, NULL, "", 0);
    else
        http_respond(r, status, "application/json", body.data, body.len);
    buf_free(&body);
}

/* A new object with one member (v consumed), or NULL if out of memory. */
static struct json_object *object_with(const char *key, struct json_object *v)
{
    struct json_object *o = v ? json_object_new_object() : NULL;
    if (!o || json_object_object_add(o, key, v) < 0) {
        json_object_put(o);
        json_object_put(v);
        return NULL;
    }
    return o;
}

/* GET /status/QUEUE: whether the widget may offer a chat, without XMPP:
 * {"open":true,"available":2}, or 404 {"error":"no such queue"}.  Cached
 * for 5 s by browsers and proxies, then revalidated with its ETag. */
static void on_status(void *ud, struct http_request *r)
{
    struct upload *u = ud;
    const char *queue = http_request_path(r) + strlen("/status/");
    bool open;
    unsigned available;
    http_response_header(r, "Cache-Control", "public, max-age=5");
    if (desk_files_queue_status(u->desk, queue, &open, &available) < 0) {
        respond_json(r, 404, object_with("error", json_object_new_string(
                                                      "no such queue")));
        return;
    }
    struct json_object *o = object_with("open", json_object_new_boolean(open));
    struct json_object *n = json_object_new_int64(available);
    if (o && (!n || json_object_object_add(o, "available", n) < 0)) {
        json_object_put(n);
        json_object_put(o);
        o = NULL;
    }
    respond_json(r, 200, o);
}

/* ---- life ------------------------------------------------------------------------ */

/* The XEP-0363 form says the size cap; two fields of mucdesk's own
 * namespace (XEP-0128 lets a form carry more) say the content types and
 * the bytes per chat, so that a client (the widget) refuses a file the
 * service would refuse before asking for a slot. */
static int add_disco(struct upload *u)
{
    struct buf form;
    buf_init(&form);
    buf_printf(&form, "<x xmlns='jabber:x:data' type='result'>"
               "<field var='FORM_TYPE' type='hidden'><value>" NS_UPLOAD
               "</value></field><field var='max-file-size'><value>%d</value>"
               "</field><field var='" NS_DESK_HINT "#max-ticket-size'>"
               "<value>%d</value></field><field var='" NS_DESK_HINT
               "#content-types' type='list-multi'>",
               u->cfg->upload.max_file_size, u->cfg->upload.max_ticket_bytes);
    for (const char *p = u->cfg->upload.types; p && *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ')
            end++;
        if (end > p) {
            buf_append_str(&form, "<value>");
            xml_text_n(&form, p, (size_t)(end - p));
            buf_append_str(&form, "</value>");
        }
        p = end;
    }
    buf_append_str(&form, "</field></x>");
    int rc = buf_failed(&form) || disco_add_feature(u->disco, NS_UPLOAD) < 0 ||
                     disco_add_extension(u->disco, buf_cstr(&form)) < 0
                 ? -1
                 : 0;
    buf_free(&form);
    return rc;
}

struct upload *upload_new(struct loop *loop, struct router *router,
                          struct disco *disco, struct http_server *http,
                          struct desk *desk, struct store *store,
                          struct archive *archive, const struct config *cfg)
{
    struct upload *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->loop = loop;
    u->router = router;
    u->disco = disco;
    u->desk = desk;
    u->store = store;
    u->archive = archive;
    u->cfg = cfg;
    struct http_route status = {.path = "/status/", .prefix = true,
                                .methods = HTTP_GET, .handler = on_status,
                                .ud = u, .cors = true};
    if (http_server_route(http, &status) < 0)
        goto fail;
    if (!cfg->http.public_url) {
        log_info(LOG, "no [http] public_url: file uploads are off");
        return u;
    }
    size_t n = strlen(cfg->http.public_url);
    while (n && cfg->http.public_url[n - 1] == '/')
        n--;
    /* bytes: less the trailing ASCII '/' */
    u->public_url = strndup(cfg->http.public_url, n);
    u->dir = upload_dir_of(cfg);
    u->scan = cfg->upload.scan_command != NULL;
    struct http_route files = {
        .path = "/upload/", .prefix = true, .methods = HTTP_GET | HTTP_PUT,
        .max_body = (size_t)cfg->upload.max_file_size, .handler = on_upload,
        .ud = u, .stream = true, .cors = true,
        .timeout_s = (unsigned)cfg->upload.put_timeout_s};
    if (!u->public_url || !u->dir || http_server_route(http, &files) < 0 ||
        add_disco(u) < 0 ||
        router_on_iq(router, ROUTE_SERVICE, NS_UPLOAD, on_request, u) < 0)
        goto fail;
    u->enabled = true;
    return u;
fail:
    log_error(LOG, "cannot set up file uploads");
    upload_free(u);
    return NULL;
}

int upload_start(struct upload *u)
{
    if (!u->enabled)
        return 0;
    if (mkdir(u->dir, 0700) < 0 && errno != EEXIST) {
        log_error(LOG, "[upload] dir %s: %s", u->dir, strerror(errno));
        return -1;
    }
    log_info(LOG, "file uploads on %s/upload/, stored in %s", u->public_url,
             u->dir);
    desk_files_set_purge_hook(u->desk, upload_sweep_soon, u);
    upload_lend_store(u);
    upload_sweep_start(u);
    return upload_scan_start(u);
}

void upload_free(struct upload *u)
{
    if (!u)
        return;
    upload_scan_stop(u);
    upload_sweep_stop(u);
    while (u->slots)
        slot_free(u, u->slots);
    upload_tickets_free(u);
    free(u->public_url);
    free(u->dir);
    free(u);
}
