/* Chats: one ticket, one session room.  Creation (request-chat or a plain
 * message to the queue), the waiting list, acceptance (the offered agent
 * joining), requeue, the end (for the customer: a closing status message,
 * then the room "destroyed" for them alone; it stays for staff and MAM
 * until [desk] closed_room_hours), chat time, the customer's reconnect
 * grace, resume tokens, and restoring open tickets at start-up.
 *
 * Tickets are journaled (store/tickets.h): a chat goes on while
 * PostgreSQL is away; a new one is refused when no ticket number is
 * reserved or the archive cannot take more. */
#include "build-config.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/counters.h"
#include "desk/events.h"
#include "desk/forms.h"
#include "desk/limits.h"
#include "desk/plugins.h"
#include "desk/prechat.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "desk/text.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "store/tickets.h"
#include "xmpp/form.h"
#include "xmpp/stamp.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)

static const struct muc_room_hooks session_hooks;

static char *dup_opt(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static void names_free(struct desk_name *n)
{
    while (n) {
        struct desk_name *next = n->next;
        free(n->jid);
        free(n);
        n = next;
    }
}

static int names_add(struct desk_name **list, const char *jid)
{
    for (struct desk_name *n = *list; n; n = n->next)
        if (strcmp(n->jid, jid) == 0)
            return 0;
    struct desk_name *n = calloc(1, sizeof *n);
    if (!n || !(n->jid = strdup(jid))) {
        free(n);
        return -1;
    }
    n->next = *list;
    *list = n;
    return 1;
}

static bool names_take(struct desk_name **list, const char *jid)
{
    for (struct desk_name **p = list; *p; p = &(*p)->next) {
        if (strcmp((*p)->jid, jid) == 0) {
            struct desk_name *n = *p;
            *p = n->next;
            free(n->jid);
            free(n);
            return true;
        }
    }
    return false;
}

/* ---- the customer index ------------------------------------------------------ */

static int customer_index_add(struct desk *d, const char *bare,
                              struct desk_chat *c)
{
    struct desk_customer *e = NULL;
    HASH_FIND_STR(d->by_customer, bare, e);
    if (!e) {
        size_t n = strlen(bare);
        if (!(e = calloc(1, sizeof *e + n + 1)))
            return -1;
        memcpy(e->jid, bare, n + 1);
        HASH_ADD_KEYPTR(hh, d->by_customer, e->jid, n, e);
    }
    if (e->n == e->cap) {
        unsigned cap = e->cap ? 2 * e->cap : 2;
        struct desk_chat **grown = realloc(e->chats, cap * sizeof *grown);
        if (!grown)
            return -1;
        e->chats = grown;
        e->cap = cap;
    }
    e->chats[e->n++] = c;
    return 0;
}

static void customer_index_del(struct desk *d, const char *bare,
                               const struct desk_chat *c)
{
    struct desk_customer *e = NULL;
    HASH_FIND_STR(d->by_customer, bare, e);
    if (!e)
        return;
    for (unsigned i = 0; i < e->n; i++)
        if (e->chats[i] == c) {
            e->chats[i] = e->chats[--e->n];
            break;
        }
    if (e->n == 0) {
        HASH_DEL(d->by_customer, e);
        free(e->chats);
        free(e);
    }
}

/* Adds bare to the chat's customers and to the index.  0 or -1. */
static int customer_add(struct desk_chat *c, const char *bare)
{
    int rc = names_add(&c->customers, bare);
    if (rc <= 0)
        return rc;
    if (customer_index_add(c->desk, bare, c) < 0) {
        names_take(&c->customers, bare);
        return -1;
    }
    return 0;
}

bool desk_chat_is_customer(const struct desk_chat *c, const char *bare)
{
    for (const struct desk_name *n = c->customers; n; n = n->next)
        if (strcmp(n->jid, bare) == 0)
            return true;
    return false;
}

int desk_chat_add_customer(struct desk_chat *c, const char *bare)
{
    if (customer_add(c, bare) < 0)
        return -1;
    if (c->room)
        muc_room_set_affiliation(c->room, bare, MUC_AFFIL_MEMBER, NULL);
    return 0;
}

/* ---- the ticket -------------------------------------------------------------- */

static void snapshot(const struct desk_chat *c, struct store_ticket *t)
{
    memset(t, 0, sizeof *t);
    t->id = c->id;
    t->queue = c->queue;
    t->status = c->status;
    t->subject = c->subject;
    t->customer_jid = c->customer_jid;
    t->customer_name = c->customer_name;
    t->customer_email = c->customer_email;
    t->owner_jid = c->owner_jid;
    t->priority = c->priority;
    t->created_us = c->created_us;
    t->accepted_us = c->accepted_us;
    t->ended_us = c->ended_us;
    t->chat_seconds = desk_chat_seconds(c);
    t->rating = c->rating;
    t->rating_comment = c->rating_comment;
    t->room = c->room_name;
    t->has_token_hash = c->has_token;
    memcpy(t->token_hash, c->token_hash, sizeof t->token_hash);
    t->details = c->details;
}

void desk_chat_save(struct desk_chat *c)
{
    struct store_ticket t;
    snapshot(c, &t);
    if (store_ticket_update(c->desk->archive, &t) == 0)
        log_error(LOG, "ticket %lld: the journal refused its update",
                  (long long)c->id);
}

void desk_chat_event(struct desk_chat *c, enum archive_kind kind,
                     const char *actor_jid, const char *actor_nick,
                     const char *body, bool staff_only)
{
    char sid[48];
    desk_make_stanza_id(c->desk, sid, sizeof sid);
    struct archive_event ev = {
        .stanza_id = sid,
        .room = c->room_name,
        .ticket_id = c->id,
        .at_us = stamp_now_us(),
        .kind = kind,
        .actor_jid = actor_jid,
        .actor_nick = actor_nick,
        .body = body,
        .staff_only = staff_only,
    };
    if (archive_append(c->desk->archive, &ev) == 0)
        log_error(LOG, "ticket %lld: the archive refused an event",
                  (long long)c->id);
}

int desk_chat_seconds(const struct desk_chat *c)
{
    int s = c->chat_seconds;
    if (c->clock_running)
        s += (int)((loop_now(c->desk->loop) - c->clock_since_ms) / 1000);
    return s;
}

void desk_chat_clock(struct desk_chat *c, bool run)
{
    if (run == c->clock_running)
        return;
    if (!run)
        c->chat_seconds = desk_chat_seconds(c);
    c->clock_running = run;
    c->clock_since_ms = loop_now(c->desk->loop);
}

int desk_chat_rate(struct desk_chat *c, int rating, const char *comment,
                   const char *actor)
{
    if (rating < 1 || rating > 5)
        return -1;
    c->rating = rating;
    free(c->rating_comment);
    c->rating_comment =
        comment && *comment ? utf8_strndup(comment, 2000) : NULL;
    desk_chat_save(c);
    char body[2100];
    snprintf(body, sizeof body, "%d%s%s", rating, c->rating_comment ? ": " : "",
             c->rating_comment ? c->rating_comment : "");
    desk_chat_event(c, ARCHIVE_RATING, actor, NULL, body, false);
    log_info(LOG, "ticket %lld: rated %d", (long long)c->id, rating);
    desk_events_emit(c->desk, &(struct desk_event){
                                  .kind = DESK_EV_RATED, .chat = c,
                                  .actor = actor, .rated = {rating}});
    return 0;
}

/* ---- tokens ------------------------------------------------------------------ */

static void token_hash(const char *token, uint8_t out[TICKET_TOKEN_HASH_SIZE])
{
    SHA256((const unsigned char *)token, strlen(token), out);
}

static int token_new(char *out, size_t size, uint8_t hash[TICKET_TOKEN_HASH_SIZE])
{
    unsigned char rnd[DESK_TOKEN_BYTES];
    if (size < 2 * sizeof rnd + 1 || RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
    token_hash(out, hash);
    return 0;
}

bool desk_chat_token_matches(const struct desk_chat *c, const char *token)
{
    if (!c->has_token || !token || !*token)
        return false;
    uint8_t h[TICKET_TOKEN_HASH_SIZE];
    token_hash(token, h);
    return CRYPTO_memcmp(h, c->token_hash, sizeof h) == 0;
}

/* Chats are found by the SHA-256 of their token in a hash table: a
 * resume-chat costs the same with 10 chats or 100,000 (it walked them all).
 * The lookup's timing can tell at most whether the hash of a guess shares
 * a bucket with a stored hash, which says nothing about any token (160
 * random bits); the match is confirmed in constant time. */
static void token_index(struct desk_chat *c, bool on)
{
    struct desk *d = c->desk;
    if (c->token_indexed && !on) {
        HASH_DELETE(hh_token, d->by_token, c);
        c->token_indexed = false;
    } else if (!c->token_indexed && on && c->has_token) {
        HASH_ADD(hh_token, d->by_token, token_hash, sizeof c->token_hash, c);
        c->token_indexed = true;
    }
}

struct desk_chat *desk_chat_by_token(struct desk *d, const char *token)
{
    if (!token || !*token)
        return NULL;
    uint8_t h[TICKET_TOKEN_HASH_SIZE];
    token_hash(token, h);
    struct desk_chat *c = NULL;
    HASH_FIND(hh_token, d->by_token, h, sizeof h, c);
    if (c && CRYPTO_memcmp(h, c->token_hash, sizeof h) != 0)
        c = NULL;
    return c;
}

/* ---- creation ---------------------------------------------------------------- */

static struct desk_chat *chat_alloc(struct desk *d)
{
    struct desk_chat *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->desk = d;
    c->priority = 3;
    c->last_position = -1;
    return c;
}

void desk_chat_free(struct desk_chat *c)
{
    if (!c)
        return;
    struct desk *d = c->desk;
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_CHAT_GONE,
                                             .chat = c});
    desk_wait_remove(c);
    loop_timer_cancel(d->loop, c->skip_timer);
    loop_timer_cancel(d->loop, c->grace_timer);
    loop_timer_cancel(d->loop, c->maxwait_timer);
    loop_timer_cancel(d->loop, c->announce_timer);
    loop_timer_cancel(d->loop, c->expire_timer);
    loop_timer_cancel(d->loop, c->rejoin_timer);
    desk_limits_chat_gone(c);
    token_index(c, false);
    for (struct desk_name *n = c->customers; n; n = n->next)
        customer_index_del(d, n->jid, c);
    if (c->id && desk_chat_find(d, c->id) == c)
        HASH_DEL(d->chats, c);
    if (c->room) {
        struct muc_room *room = c->room;
        c->room = NULL;
        if (!d->stopping)
            muc_room_destroy(room, NULL, NULL);
    }
    names_free(c->customers);
    names_free(c->declines);
    names_free(c->in_room);
    names_free(c->observers);
    free(c->queue);
    free(c->subject);
    free(c->customer_jid);
    free(c->customer_name);
    free(c->customer_email);
    free(c->owner_jid);
    free(c->rating_comment);
    free(c->details);
    free(c->question);
    free(c->skills);
    free(c->offered_to);
    free(c);
}

void desk_chat_details_text(const struct desk_chat *c, struct buf *out)
{
    char v[1024];
    char when[STAMP_TEXT_MAX];
    stamp_format(c->created_us, when);
    buf_printf(out, "Ticket #%lld", (long long)c->id);
    buf_printf(out, "\nName: %s", c->customer_name ? c->customer_name : "-");
    buf_printf(out, "\nEmail: %s",
               c->customer_email ? c->customer_email : "-");
    buf_printf(out, "\nQuestion: %s", c->question ? c->question : "-");
    if (desk_json_get(c->details, "page", v, sizeof v) == 0 && v[0])
        buf_printf(out, "\nPage: %s", v);
    if (desk_json_get(c->details, "browser", v, sizeof v) == 0 && v[0])
        buf_printf(out, "\nBrowser: %s", v);
    /* The queue's extra pre-chat questions, under their labels (the
     * transcript lists every answer kept, whatever the queue asks today). */
    const struct desk_queue *q = desk_queue_find(c->desk, c->queue);
    for (size_t i = 0; q && q->prechat && i < q->prechat->count; i++) {
        const struct desk_prechat_field *f = &q->prechat->f[i];
        if (desk_json_get(c->details, f->var, v, sizeof v) < 0 || !v[0])
            continue;
        const char *shown = v;
        if (strcmp(f->type, "boolean") == 0)
            shown = strcmp(v, "1") == 0 ? "yes" : "no";
        buf_printf(out, "\n%s: %s", f->label[0] ? f->label : f->var, shown);
    }
    buf_printf(out, "\nQueue: %s", c->queue);
    buf_printf(out, "\nStarted: %s", when);
}

/* For the texts staff read about a chat. */
static const char *customer_called(const struct desk_chat *c)
{
    return c->customer_name ? c->customer_name : "a customer";
}

static const char *question_of(const struct desk_chat *c)
{
    return c->question ? c->question : "";
}

static void set_room_subject(struct desk_chat *c)
{
    char text[400];
    const char *subject = c->subject ? c->subject : "";
    snprintf(text, sizeof text, "Ticket #%lld: %.*s", (long long)c->id,
             utf8_prec(subject, 300), subject);
    if (c->room)
        muc_room_set_subject(c->room, text);
}

static void announce_timer(void *ud);
static void maxwait_timer(void *ud);

static void announce_new(struct desk_chat *c, struct desk_queue *q)
{
    char text[700];
    const char *who = customer_called(c), *question = question_of(c);
    snprintf(text, sizeof text, "New chat: ticket #%lld from %.*s: %.*s",
             (long long)c->id, utf8_prec(who, 100), who,
             utf8_prec(question, 400), question);
    desk_queue_announce(q, text);
}

/* Re-announcements back off (reannounce_after, then twice, four times as
 * long...) and stop after [desk] reannounce_max: a chat nobody takes is
 * not repeated to the agents forever. */
static uint64_t reannounce_delay_ms(const struct desk_chat *c)
{
    uint64_t ms = (uint64_t)c->desk->cfg->desk.reannounce_s * 1000;
    for (int i = 0; i < c->reannounced && ms < 86400000; i++)
        ms *= 2;
    return ms < 86400000 ? ms : 86400000;
}

static void start_waiting_timers(struct desk_chat *c, struct desk_queue *q)
{
    struct desk *d = c->desk;
    loop_timer_cancel(d->loop, c->announce_timer);
    loop_timer_cancel(d->loop, c->maxwait_timer);
    c->reannounced = 0;
    c->announce_timer = NULL;
    if (d->cfg->desk.reannounce_max > 0)
        c->announce_timer = loop_timer_add(d->loop, reannounce_delay_ms(c),
                                           announce_timer, c, NULL);
    c->maxwait_timer = NULL;
    if (q->max_wait_s > 0 && !c->no_agents_told)
        c->maxwait_timer = loop_timer_add(
            d->loop, (uint64_t)q->max_wait_s * 1000, maxwait_timer, c, NULL);
}

static int open_room(struct desk_chat *c)
{
    struct muc_room_options o = {
        .title = NULL,
        .description = "Support chat",
        .hidden = true,
        .members_only = true,
        .persistent = true,
        .semi_anonymous = true,
        .pm_privileged_only = true,
        .archived = true,
        .ticket_id = c->id,
    };
    c->room = muc_room_create(c->desk->muc, c->room_name, &o, &session_hooks,
                              c);
    if (!c->room)
        return -1;
    for (struct desk_name *n = c->customers; n; n = n->next)
        muc_room_set_affiliation(c->room, n->jid, MUC_AFFIL_MEMBER, NULL);
    return 0;
}

static struct desk_chat *open_chat_of(struct desk *d, const char *queue,
                                      const char *bare)
{
    struct desk_customer *e = NULL;
    HASH_FIND_STR(d->by_customer, bare, e);
    for (unsigned i = 0; e && i < e->n; i++) {
        struct desk_chat *c = e->chats[i];
        if (c->state != DESK_CHAT_ENDED && strcmp(c->queue, queue) == 0)
            return c;
    }
    return NULL;
}

static void first_line(const char *text, char *out, size_t size)
{
    size_t n = strcspn(text ? text : "", "\r\n");
    if (n >= size)
        n = utf8_trim(text, size - 1);
    memcpy(out, text ? text : "", n);
    out[n] = '\0';
}

static char *make_details(const struct desk_request *r)
{
    struct buf b = BUF_INIT;
    desk_json_open(&b);
    desk_json_add(&b, "question", r->question);
    desk_json_add(&b, "page", r->page);
    desk_json_add(&b, "browser", r->browser);
    desk_json_add(&b, "skills", r->skills);
    desk_json_add(&b, "nick", r->nick);
    if (r->extra_json && r->extra_json[0]) {
        buf_append_char(&b, ',');
        buf_append_str(&b, r->extra_json);
    }
    desk_json_close(&b);
    return buf_steal(&b);
}

/* Whether a new ticket may be opened: the archive can take it, and the
 * sender, its domain and the service are within their budgets
 * (limits.c).  0 (charged; *held for a chat to hold), or -1 with *err. */
static int check_accepting(struct desk *d, const char *bare, bool chat,
                           bool *held, struct xerr *err)
{
    if (!archive_accepting(d->archive) ||
        store_ticket_ids_available(d->archive) == 0) {
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "Chat is not available right now. Please try again in a "
                 "few minutes.");
        return -1;
    }
    return desk_limits_new_ticket(d, bare, chat, held, err);
}

int desk_chat_leave_message(struct desk_queue *q, const struct desk_request *r,
                            int64_t *ticket_out, struct xerr *err)
{
    struct desk *d = q->desk;
    char bare[BARE_MAX];
    struct jid j;
    if (jid_parse(r->customer_full, &j) < 0 ||
        jid_bare_text(&j, bare, sizeof bare) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Your address is not valid");
        return -1;
    }
    bool held;
    if (check_accepting(d, bare, false, &held, err) < 0)
        return -1;
    char subject[200];
    first_line(r->question, subject, sizeof subject);
    char *details = make_details(r);
    struct store_ticket t = {
        .queue = q->name, .status = TICKET_QUEUED, .subject = subject,
        .customer_jid = bare, .customer_name = r->name,
        .customer_email = r->email, .priority = 3, .details = details};
    uint64_t seq = store_ticket_create(d->archive, &t);
    free(details);
    if (!seq) {
        desk_limits_ticket_failed(d, bare, false);
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "Chat is not available right now.");
        return -1;
    }
    *ticket_out = t.id;
    /* The message is the ticket's first line. */
    char room[40];
    snprintf(room, sizeof room, DESK_ROOM_PREFIX "%lld", (long long)t.id);
    char sid[48];
    desk_make_stanza_id(d, sid, sizeof sid);
    struct archive_event ev = {.stanza_id = sid, .room = room,
                               .ticket_id = t.id, .at_us = stamp_now_us(),
                               .kind = ARCHIVE_MESSAGE, .actor_jid = bare,
                               .actor_nick = r->name, .body = r->question};
    archive_append(d->archive, &ev);
    char text[700];
    const char *who = r->name ? r->name : "a customer";
    const char *email = r->email ? r->email : "-";
    const char *question = r->question ? r->question : "";
    snprintf(text, sizeof text,
             "Message left (%s): ticket #%lld from %.*s <%.*s>: %.*s",
             desk_queue_open_now(q) ? "no agent online"
                                    : "outside business hours",
             (long long)t.id, utf8_prec(who, 100), who, utf8_prec(email, 100),
             email, utf8_prec(question, 400), question);
    desk_queue_announce(q, text);
    log_info(LOG, "ticket %lld: message left in %s", (long long)t.id,
             q->name);
    return 0;
}

int desk_chat_request(struct desk_queue *q, const struct desk_request *r,
                      struct desk_chat **out, bool *existing,
                      char *token_out, size_t token_size, struct xerr *err)
{
    struct desk *d = q->desk;
    char bare[BARE_MAX];
    struct jid j;
    *existing = false;
    if (token_size)
        token_out[0] = '\0';
    if (jid_parse(r->customer_full, &j) < 0 ||
        jid_bare_text(&j, bare, sizeof bare) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Your address is not valid");
        return -1;
    }
    /* One open chat per customer and queue: asking again returns it. */
    struct desk_chat *old = open_chat_of(d, q->name, bare);
    if (old) {
        /* Asking again costs a new token and a ticket update: it counts
         * against the sender's budget like a new request. */
        if (desk_limits_request_again(d, bare, err) < 0)
            return -1;
        desk_chat_add_customer(old, bare);
        /* Only the token's hash is kept: the caller gets a fresh token
         * (the old one stops working). */
        token_index(old, false);
        if (token_new(token_out, token_size, old->token_hash) == 0) {
            old->has_token = true;
            token_index(old, true);
            desk_chat_save(old);
        }
        *out = old;
        *existing = true;
        return 0;
    }
    bool held;
    if (check_accepting(d, bare, true, &held, err) < 0)
        return -1;
    struct desk_chat *c = chat_alloc(d);
    if (!c)
        goto oom;
    c->held = held;
    char subject[200];
    first_line(r->question, subject, sizeof subject);
    c->queue = strdup(q->name);
    c->status = TICKET_QUEUED;
    c->subject = dup_opt(subject);
    c->customer_jid = strdup(bare);
    c->customer_name = dup_opt(r->name);
    c->customer_email = dup_opt(r->email);
    c->question = dup_opt(r->question);
    c->skills = dup_opt(r->skills);
    c->details = make_details(r);
    c->created_us = stamp_now_us();
    if (!c->queue || !c->customer_jid || !c->details ||
        customer_add(c, bare) < 0)
        goto oom;
    if (token_new(token_out, token_size, c->token_hash) < 0)
        goto oom;
    c->has_token = true;
    struct store_ticket t;
    snapshot(c, &t);
    t.room = NULL;
    if (store_ticket_create(d->archive, &t) == 0) {
        desk_chat_free(c);
        desk_limits_ticket_failed(d, bare, held);
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "Chat is not available right now. Please try again in a "
                 "few minutes.");
        return -1;
    }
    c->id = t.id;
    snprintf(c->room_name, sizeof c->room_name, DESK_ROOM_PREFIX "%lld",
             (long long)c->id);
    HASH_ADD(hh, d->chats, id, sizeof c->id, c);
    token_index(c, true);
    if (open_room(c) < 0) {
        log_error(LOG, "ticket %lld: cannot open its room", (long long)c->id);
        c->status = TICKET_RESOLVED;
        c->ended_us = stamp_now_us();
        desk_chat_save(c);
        desk_chat_free(c);
        desk_limits_ticket_failed(d, bare, held);
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "Chat is not available right now.");
        return -1;
    }
    desk_chat_save(c); /* now with its room */
    /* The transcript starts with the session details. */
    struct buf details = BUF_INIT;
    desk_chat_details_text(c, &details);
    muc_room_post(c->room, buf_cstr(&details), false);
    buf_free(&details);
    set_room_subject(c);
    if (q->greeting)
        muc_room_post(c->room, q->greeting, false);
    c->state = DESK_CHAT_WAITING;
    c->enqueued_ms = loop_now(d->loop);
    desk_wait_add(q, c, false);
    /* Counted against its domain until the customer enters (this may end
     * the domain's oldest chat nobody entered). */
    desk_limits_chat_created(c);
    log_info(LOG, "ticket %lld: new chat in %s%s", (long long)c->id, q->name,
             c->held ? " (held until the customer enters)" : "");
    if (!c->held) {
        start_waiting_timers(c, q);
        announce_new(c, q);
    }
    desk_events_emit(d, &(struct desk_event){
                            .kind = DESK_EV_REQUESTED, .chat = c,
                            .actor = bare, .requested = {q, c->held}});
    *out = c;
    return 0;
oom:
    desk_chat_free(c);
    desk_limits_ticket_failed(d, bare, held);
    xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Please try again later");
    return -1;
}

/* ---- timers while waiting ------------------------------------------------------- */

static void announce_timer(void *ud)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    c->announce_timer = NULL;
    if (c->state != DESK_CHAT_WAITING || !c->waiting_in)
        return;
    char waited[32], text[600];
    desk_format_duration(
        (int)((loop_now(d->loop) - c->enqueued_ms) / 1000), waited,
        sizeof waited);
    const char *who = customer_called(c), *question = question_of(c);
    snprintf(text, sizeof text,
             "Still waiting for %s: ticket #%lld from %.*s: %.*s", waited,
             (long long)c->id, utf8_prec(who, 100), who,
             utf8_prec(question, 300), question);
    desk_queue_announce(c->waiting_in, text);
    if (++c->reannounced < d->cfg->desk.reannounce_max)
        c->announce_timer = loop_timer_add(d->loop, reannounce_delay_ms(c),
                                           announce_timer, c, NULL);
}

static void maxwait_timer(void *ud)
{
    struct desk_chat *c = ud;
    c->maxwait_timer = NULL;
    if (c->state != DESK_CHAT_WAITING || c->no_agents_told || !c->room)
        return;
    c->no_agents_told = true;
    muc_room_post_with(
        c->room,
        "No agent is available right now. You keep your place in the queue; "
        "you may also leave a message here and we will get back to you.",
        "<desk xmlns='" NS_DESK "' event='no-agents'/>", false);
    if (c->waiting_in) {
        char text[300];
        snprintf(text, sizeof text,
                 "Nobody took ticket #%lld within the queue's maximum wait; "
                 "the customer was told and may leave a message.",
                 (long long)c->id);
        desk_queue_announce(c->waiting_in, text);
    }
}

/* ---- acceptance, requeue, end ---------------------------------------------------- */

static void owner_release(struct desk_chat *c)
{
    if (!c->owner_jid || !c->owner_counted)
        return;
    c->owner_counted = false;
    struct desk_staff *s = desk_staff_get(c->desk, c->owner_jid);
    if (s && s->active > 0) {
        s->active--;
        s->idle_since_ms = loop_now(c->desk->loop);
        desk_routing_staff_changed(c->desk, s, true);
    }
}

void desk_chat_accept(struct desk_chat *c, const char *agent, const char *nick)
{
    struct desk *d = c->desk;
    struct desk_queue *q = c->waiting_in ? c->waiting_in
                                         : desk_queue_find(d, c->queue);
    desk_limits_chat_unqueued(c); /* taken: no phantom any more */
    struct desk_ev_accepted ev = {q, agent, c->state == DESK_CHAT_ACTIVE,
                                  c->waiting_in != NULL, 0};
    bool transfer = ev.transfer;
    if (transfer)
        owner_release(c);
    if (c->waiting_in) {
        struct desk_queue *wq = c->waiting_in;
        ev.waited_ms = loop_now(d->loop) - c->enqueued_ms;
        desk_rolling_add(&wq->waits, (double)ev.waited_ms / 1000.0);
        desk_wait_remove(c);
    }
    loop_timer_cancel(d->loop, c->announce_timer);
    loop_timer_cancel(d->loop, c->maxwait_timer);
    c->announce_timer = c->maxwait_timer = NULL;
    free(c->owner_jid);
    c->owner_jid = strdup(agent);
    c->state = DESK_CHAT_ACTIVE;
    c->status = TICKET_INPROGRESS;
    if (!c->accepted_us)
        c->accepted_us = stamp_now_us();
    desk_chat_clock(c, true);
    struct desk_staff *s = desk_staff_get(d, agent);
    if (s) {
        s->active++;
        c->owner_counted = true;
        desk_routing_staff_changed(d, s, true);
    }
    desk_chat_save(c);
    char body[300];
    utf8_snprintf(body, sizeof body, "%s by %s",
                  transfer ? "taken" : "accepted", agent);
    desk_chat_event(c, ARCHIVE_STATUS, agent, nick, body, false);
    log_info(LOG, "ticket %lld: %s by %s", (long long)c->id,
             transfer ? "taken" : "accepted", agent);
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_ACCEPTED,
                                             .chat = c, .actor = agent,
                                             .accepted = ev});
}

void desk_chat_requeue(struct desk_chat *c, struct desk_queue *q,
                       const char *actor, const char *why)
{
    struct desk *d = c->desk;
    struct desk_queue *old = desk_queue_find(d, c->queue);
    owner_release(c);
    desk_chat_clock(c, false);
    /* Staff put it back: routed like any other from now on. */
    desk_limits_chat_unqueued(c);
    c->held = false;
    free(c->owner_jid);
    c->owner_jid = NULL;
    bool moved = strcmp(c->queue, q->name) != 0;
    if (moved) {
        free(c->queue);
        c->queue = strdup(q->name);
    }
    c->state = DESK_CHAT_WAITING;
    c->status = TICKET_QUEUED;
    c->enqueued_ms = loop_now(d->loop);
    c->no_agents_told = false;
    c->last_position = -1;
    /* Back at the front: this customer has waited already. */
    desk_wait_add(q, c, true);
    start_waiting_timers(c, q);
    desk_chat_save(c);
    char body[300];
    utf8_snprintf(body, sizeof body, "%s to queue %s", why, q->name);
    desk_chat_event(c, moved ? ARCHIVE_TRANSFER : ARCHIVE_STATUS, actor, NULL,
                    body, false);
    if (c->room)
        muc_room_post(c->room,
                      moved ? "Your chat was passed to another team. Please "
                              "wait for the next agent."
                            : "Please wait: the next available agent will "
                              "take your chat.",
                      false);
    char text[600];
    const char *who = customer_called(c), *question = question_of(c);
    snprintf(text, sizeof text, "Requeued: ticket #%lld from %.*s (%s): %.*s",
             (long long)c->id, utf8_prec(who, 100), who, why,
             utf8_prec(question, 300), question);
    desk_queue_announce(q, text);
    log_info(LOG, "ticket %lld: %s to %s", (long long)c->id, why, q->name);
    if (moved)
        desk_chat_review_staff(c); /* the old queue's staff lose their rights */
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_REQUEUED,
                                             .chat = c, .actor = actor,
                                             .requeued = {q, old, moved}});
}

static void expire_timer(void *ud)
{
    struct desk_chat *c = ud;
    c->expire_timer = NULL;
    log_info(LOG, "ticket %lld: closed room expired", (long long)c->id);
    desk_chat_free(c);
}

void desk_chat_end(struct desk_chat *c, enum ticket_status status,
                   const char *actor, const char *note, const char *text)
{
    struct desk *d = c->desk;
    if (c->state == DESK_CHAT_ENDED)
        return;
    struct desk_ev_ended ev = {
        c->waiting_in ? c->waiting_in : desk_queue_find(d, c->queue), status,
        (int)c->state};
    owner_release(c);
    desk_wait_remove(c);
    desk_chat_clock(c, false);
    loop_timer_cancel(d->loop, c->grace_timer);
    loop_timer_cancel(d->loop, c->announce_timer);
    loop_timer_cancel(d->loop, c->maxwait_timer);
    c->grace_timer = c->announce_timer = c->maxwait_timer = NULL;
    desk_limits_chat_gone(c);
    c->state = DESK_CHAT_ENDED;
    c->status = status;
    c->ended_us = stamp_now_us();
    if (status == TICKET_QUEUED) {
        free(c->owner_jid);
        c->owner_jid = NULL;
    }
    desk_chat_save(c);
    char body[200];
    snprintf(body, sizeof body, "closed: %s", ticket_status_name(status));
    desk_chat_event(c, ARCHIVE_STATUS, actor, NULL, body, false);
    if (note && *note)
        desk_chat_event(c, ARCHIVE_NOTE, actor, NULL, note, true);
    if (c->room) {
        char x[120];
        snprintf(x, sizeof x, "<desk xmlns='" NS_DESK "' event='closed' "
                              "status='%s'/>",
                 ticket_status_name(status));
        const char *said = text ? text : "This chat has ended. Thank you!";
        /* In the transcript (and for staff once durable)... */
        muc_room_post_with(c->room, said, x, false);
        /* ...and told to the customer now, since they leave before the
         * archived copy is shown: the room is destroyed for them alone,
         * and they lose their membership (no entry, no MAM); staff keep
         * it. */
        struct muc_occupant *o;
        while ((o = desk_chat_customer_occupant(c)) != NULL) {
            muc_room_tell_with(c->room, o, said, x);
            muc_occupant_dismiss(o, "The chat has ended");
        }
        for (struct desk_name *n = c->customers; n; n = n->next)
            muc_room_set_affiliation(c->room, n->jid, MUC_AFFIL_NONE, NULL);
    }
    log_info(LOG, "ticket %lld: ended (%s, %d s)", (long long)c->id,
             ticket_status_name(status), desk_chat_seconds(c));
    uint64_t keep = (uint64_t)d->cfg->desk.closed_room_hours * 3600 * 1000;
    c->expire_timer = loop_timer_add(d->loop, keep ? keep : 1, expire_timer, c,
                                     NULL);
    desk_events_emit(d, &(struct desk_event){.kind = DESK_EV_ENDED,
                                             .chat = c, .actor = actor,
                                             .ended = ev});
}

void desk_chat_withdraw(struct desk_chat *c, const char *why)
{
    struct desk *d = c->desk;
    if (c->state == DESK_CHAT_ENDED)
        return;
    struct desk_queue *q = c->waiting_in ? c->waiting_in
                                         : desk_queue_find(d, c->queue);
    /* Agents were told of it (unless it was held): they are told it is
     * gone, and whoever had its offer may forget it. */
    if (q && !c->held && c->state == DESK_CHAT_WAITING) {
        char text[400];
        const char *who = customer_called(c);
        snprintf(text, sizeof text,
                 "Withdrawn: ticket #%lld from %.*s (%s)%s", (long long)c->id,
                 utf8_prec(who, 100), who, why,
                 c->offered_to ? "; its offer is withdrawn" : "");
        desk_queue_announce(q, text);
    }
    desk_chat_end(c, TICKET_RESOLVED, NULL, why,
                  "This chat was closed: nobody entered it.");
    /* Its room holds the session details and the greeting only, and no
     * customer will rate it: it goes at once instead of being kept for
     * closed_room_hours, or a stream of phantom requests would pile up
     * rooms for a day (the transcript is in PostgreSQL). */
    loop_timer_cancel(d->loop, c->expire_timer);
    c->expire_timer = loop_timer_add(d->loop, 1, expire_timer, c, NULL);
}

/* ---- restoring at start-up ------------------------------------------------------- */

/* After a restart, clients notice (the widget self-pings every 30 s, then
 * reconnects with backoff) and rejoin; whoever has not come back within
 * three customer graces is taken as gone. */
#define REJOIN_GRACES 3

static void rejoin_timer(void *ud)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    c->rejoin_timer = NULL;
    if (c->state == DESK_CHAT_ENDED)
        return;
    if (!desk_chat_customer_occupant(c)) {
        log_info(LOG, "ticket %lld: the customer did not come back after the "
                      "restart", (long long)c->id);
        enum ticket_status st = c->state == DESK_CHAT_ACTIVE ? TICKET_RESOLVED
                                                             : TICKET_QUEUED;
        desk_chat_end(c, st, NULL, NULL,
                      "The customer did not come back after a restart.");
        return;
    }
    if (c->state == DESK_CHAT_ACTIVE && !desk_chat_has_staff(c)) {
        struct desk_queue *q = desk_queue_find(d, c->queue);
        if (q)
            desk_chat_requeue(c, q, NULL, "agent did not come back");
    }
}

/* An ended chat's room, kept for staff (MAM) and the customer's rating
 * until closed_room_hours after its end, as desk_chat_end leaves it. */
static void restore_ended(struct desk_chat *c, int64_t keep_us)
{
    struct desk *d = c->desk;
    c->state = DESK_CHAT_ENDED;
    int64_t left_us = c->ended_us + keep_us - stamp_now_us();
    uint64_t left_ms = left_us > 1000 ? (uint64_t)(left_us / 1000) : 1;
    c->expire_timer = loop_timer_add(d->loop, left_ms, expire_timer, c, NULL);
}

struct desk_chat *desk_chat_restore(struct desk *d, const struct store_ticket *t)
{
    if (!t->room || desk_chat_find(d, t->id))
        return NULL;
    /* An ended chat never goes back to a queue, whatever its status
     * (closed as QUEUED for a follow-up, say): its room is kept for staff
     * within closed_room_hours, and past that there is nothing to
     * restore (the transcript is in PostgreSQL). */
    bool ended = t->ended_us != 0;
    int64_t keep_us = (int64_t)d->cfg->desk.closed_room_hours * 3600 * 1000000;
    if (ended && t->ended_us + keep_us <= stamp_now_us())
        return NULL;
    /* Nor does a chat nobody took that ended RESOLVED (withdrawn, or left
     * before anyone came) come back: nobody rates it, staff read it with
     * the transcript command, and a day of phantom requests must not
     * come back as rooms at every start. */
    if (ended && !t->accepted_us && t->status == TICKET_RESOLVED)
        return NULL;
    struct desk_queue *q = desk_queue_find(d, t->queue);
    struct desk_chat *c = chat_alloc(d);
    if (!c)
        return NULL;
    c->id = t->id;
    snprintf(c->room_name, sizeof c->room_name, "%s", t->room);
    c->queue = strdup(t->queue);
    c->status = t->status;
    c->subject = dup_opt(t->subject);
    c->customer_jid = dup_opt(t->customer_jid);
    c->customer_name = dup_opt(t->customer_name);
    c->customer_email = dup_opt(t->customer_email);
    c->owner_jid = dup_opt(t->owner_jid);
    c->priority = t->priority ? t->priority : 3;
    c->created_us = t->created_us;
    c->accepted_us = t->accepted_us;
    c->ended_us = t->ended_us;
    c->chat_seconds = t->chat_seconds;
    c->rating = t->rating;
    c->rating_comment = dup_opt(t->rating_comment);
    c->has_token = t->has_token_hash;
    memcpy(c->token_hash, t->token_hash, sizeof c->token_hash);
    c->details = strdup(t->details ? t->details : "{}");
    /* From before the restart: not counted as a chat nobody entered (the
     * rejoin grace below ends it if the customer does not come back). */
    c->joined_once = true;
    char v[4096];
    if (desk_json_get(c->details, "question", v, sizeof v) == 0)
        c->question = dup_opt(v);
    if (desk_json_get(c->details, "skills", v, sizeof v) == 0)
        c->skills = dup_opt(v);
    /* The customers of an ended chat have lost their membership. */
    if (!c->queue || !c->details ||
        (!ended && c->customer_jid &&
         customer_add(c, c->customer_jid) < 0)) {
        desk_chat_free(c);
        return NULL;
    }
    HASH_ADD(hh, d->chats, id, sizeof c->id, c);
    token_index(c, true);
    if (open_room(c) < 0) {
        log_error(LOG, "ticket %lld: cannot reopen room %s", (long long)c->id,
                  c->room_name);
        HASH_DEL(d->chats, c);
        c->id = 0;
        desk_chat_free(c);
        return NULL;
    }
    set_room_subject(c);
    if (ended) {
        restore_ended(c, keep_us);
        log_info(LOG, "ticket %lld: ended chat's room %s kept for staff",
                 (long long)c->id, c->room_name);
        return c;
    }
    if (t->status == TICKET_INPROGRESS && c->owner_jid) {
        c->state = DESK_CHAT_ACTIVE;
        struct desk_staff *s = desk_staff_get(d, c->owner_jid);
        if (s) {
            s->active++;
            c->owner_counted = true;
            desk_routing_staff_changed(d, s, true);
        }
        desk_chat_clock(c, true);
    } else {
        c->state = DESK_CHAT_WAITING;
        c->status = TICKET_QUEUED;
        c->enqueued_ms = loop_now(d->loop);
        if (q) {
            desk_wait_add(q, c, false);
            start_waiting_timers(c, q);
        }
    }
    c->rejoin_timer = loop_timer_add(
        d->loop,
        (uint64_t)d->cfg->desk.customer_grace_s * 1000 * REJOIN_GRACES + 1,
        rejoin_timer, c, NULL);
    log_info(LOG, "ticket %lld: room %s restored (%s)", (long long)c->id,
             c->room_name, ticket_status_name(c->status));
    return c;
}

/* ---- the session room's hooks ---------------------------------------------------- */

/* The chat's customer among the occupants: not staff, and one of its
 * customers' JIDs (staff who lost their rights stay in the room as
 * neither). */
static bool is_customer_occupant(const struct desk_chat *c,
                                 const struct muc_occupant *o)
{
    char bare[BARE_MAX];
    return !muc_occupant_privileged(o) &&
           desk_chat_is_customer(c, muc_occupant_bare_jid(o, bare, sizeof bare));
}

struct muc_occupant *desk_chat_customer_occupant(const struct desk_chat *c)
{
    if (!c->room)
        return NULL;
    for (struct muc_occupant *o = muc_room_first_occupant(c->room); o;
         o = muc_occupant_next(o))
        if (is_customer_occupant(c, o))
            return o;
    return NULL;
}

/* Staff who take part (visible, privileged) in the room. */
bool desk_chat_has_staff(const struct desk_chat *c)
{
    if (!c->room)
        return false;
    for (struct muc_occupant *o = muc_room_first_occupant(c->room); o;
         o = muc_occupant_next(o))
        if (muc_occupant_privileged(o) && !muc_occupant_invisible(o))
            return true;
    return false;
}

/* Staff rights in a session room follow the queue's membership, as they
 * did on entry (s_pre_join): re-evaluated whenever it may have changed (the
 * directory reloaded, the chat moved to another queue).  Whoever lost them
 * stops being privileged (muc tells them alone: no observers, no
 * staff-only posts from now on) and stays as a plain occupant; an
 * invisible observer who may no longer observe is removed.  An owner who
 * lost them no longer holds the chat: with no staff left it goes back to
 * its queue. */
void desk_chat_review_staff(struct desk_chat *c)
{
    struct desk *d = c->desk;
    if (!c->room)
        return;
    struct desk_queue *q = desk_queue_find(d, c->queue);
    bool owner_lost = false;
    for (;;) {
        struct muc_occupant *observer = NULL;
        for (struct muc_occupant *o = muc_room_first_occupant(c->room); o;
             o = muc_occupant_next(o)) {
            char bare[BARE_MAX];
            muc_occupant_bare_jid(o, bare, sizeof bare);
            enum desk_role role = desk_role_for(d, bare, q, c);
            if (muc_occupant_invisible(o) &&
                !desk_authz_allows(role, DESK_ACT_SUPERVISE)) {
                observer = o;
                break;
            }
            bool staff = role >= DESK_ROLE_AGENT;
            if (!muc_occupant_set_privileged(o, staff) || staff)
                continue;
            log_info(LOG, "ticket %lld: %s is no longer staff of queue %s",
                     (long long)c->id, bare, c->queue);
            if (c->owner_jid && strcmp(c->owner_jid, bare) == 0)
                owner_lost = true;
        }
        if (!observer)
            break;
        /* Kicked as an observer: only staff and itself hear of it. */
        muc_occupant_kick(observer, "You are no longer staff of this queue");
        if (!c->room)
            return;
    }
    if (c->state != DESK_CHAT_ACTIVE)
        return;
    if (!desk_chat_has_staff(c)) {
        if (q)
            desk_chat_requeue(c, q, NULL, "agent no longer staff");
    } else if (owner_lost) {
        owner_release(c);
        desk_route_pending(d);
    }
}

static enum muc_join_verdict s_pre_join(void *ud, struct muc_room *room,
                                        struct muc_join *j, struct xerr *err)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    (void)room;
    struct desk_queue *q = desk_queue_find(d, c->queue);
    enum desk_role role = desk_role_for(d, j->bare_jid, q, c);
    if (role >= DESK_ROLE_AGENT) {
        j->privileged = true;
        /* /observe: the supervisor asked to come in invisibly. */
        if (names_take(&c->observers, j->bare_jid) &&
            desk_authz_allows(role, DESK_ACT_SUPERVISE))
            j->invisible = true;
        if (j->affiliation < MUC_AFFIL_MEMBER)
            j->affiliation = MUC_AFFIL_MEMBER;
        return MUC_JOIN_ALLOW;
    }
    if (role == DESK_ROLE_CUSTOMER && c->state != DESK_CHAT_ENDED) {
        if (j->affiliation < MUC_AFFIL_MEMBER)
            j->affiliation = MUC_AFFIL_MEMBER;
        return MUC_JOIN_ALLOW;
    }
    xerr_set(err, XERR_REGISTRATION_REQUIRED,
             "You are not expected in this room");
    return MUC_JOIN_DENY;
}

static void s_joined(void *ud, struct muc_room *room, struct muc_occupant *o)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    (void)room;
    char bare[BARE_MAX];
    muc_occupant_bare_jid(o, bare, sizeof bare);
    /* Whoever is in the room is no candidate for it (routing.c). */
    if (desk_routing_chat_occupant(c, bare, true) < 0)
        log_error(LOG, "ticket %lld: out of memory", (long long)c->id);
    if (!muc_occupant_privileged(o)) {
        c->customer_present = true;
        c->customer_left_explicitly = false;
        if (!c->joined_once) {
            bool was_held = c->held;
            desk_limits_chat_entered(c);
            /* Held while its domain was over budget: the agents hear of
             * it now that a customer is really there. */
            if (was_held && c->state == DESK_CHAT_WAITING && c->waiting_in) {
                desk_routing_chat_changed(c); /* routable now */
                start_waiting_timers(c, c->waiting_in);
                announce_new(c, c->waiting_in);
            }
        }
        if (c->grace_timer) {
            loop_timer_cancel(d->loop, c->grace_timer);
            c->grace_timer = NULL;
            log_info(LOG, "ticket %lld: the customer is back",
                     (long long)c->id);
        }
        if (c->state == DESK_CHAT_WAITING && c->waiting_in) {
            c->last_position = -1;
            desk_push_positions(c->waiting_in, false);
            if (c->no_agents_told)
                muc_room_tell_with(
                    room, o,
                    "No agent is available right now. You keep your place "
                    "in the queue; you may also leave a message here.",
                    "<desk xmlns='" NS_DESK "' event='no-agents'/>");
            if (!c->offered_to)
                desk_route(c->waiting_in);
            if (!c->offered_to)
                desk_limits_customer_waits(c);
        }
        return;
    }
    if (muc_occupant_invisible(o))
        return;
    if (c->offered_to && strcmp(c->offered_to, bare) == 0 &&
        c->state != DESK_CHAT_ENDED)
        desk_chat_accept(c, bare, muc_occupant_nick(o));
}

static void s_leaving(void *ud, struct muc_room *room,
                      const struct muc_occupant *o, const struct stanza_in *in)
{
    struct desk_chat *c = ud;
    (void)room;
    if (!is_customer_occupant(c, o))
        return;
    xmpp_stanza_t *x = stanza_child(in->st, "desk", NS_DESK);
    const char *ev = x ? stanza_attr(x, "event") : NULL;
    if (ev && strcmp(ev, "leave") == 0)
        c->customer_left_explicitly = true;
}

/* The customer is gone for good: the chat ends. */
static void customer_gone(struct desk_chat *c, const char *why)
{
    enum ticket_status st = TICKET_RESOLVED;
    const char *text = "The customer left the chat.";
    /* A customer who left while nobody had taken the chat, after being
     * told no agent is there, left a message: it stays to be answered. */
    if (c->state == DESK_CHAT_WAITING && c->no_agents_told) {
        st = TICKET_QUEUED;
        text = "The customer left; the ticket waits for an answer.";
    }
    log_info(LOG, "ticket %lld: the customer %s", (long long)c->id, why);
    desk_chat_end(c, st, c->customer_jid, NULL, text);
}

static void grace_timer(void *ud)
{
    struct desk_chat *c = ud;
    c->grace_timer = NULL;
    if (c->state == DESK_CHAT_ENDED || desk_chat_customer_occupant(c))
        return;
    customer_gone(c, "did not come back");
}

static void s_left(void *ud, struct muc_room *room,
                   const struct muc_occupant *o, enum muc_leave_reason why)
{
    struct desk_chat *c = ud;
    struct desk *d = c->desk;
    (void)room;
    char bare[BARE_MAX];
    muc_occupant_bare_jid(o, bare, sizeof bare);
    desk_routing_chat_occupant(c, bare, false);
    if (why == MUC_LEFT_SHUTDOWN || why == MUC_LEFT_DESTROY ||
        c->state == DESK_CHAT_ENDED || d->stopping)
        return;
    if (!muc_occupant_privileged(o) && !desk_chat_is_customer(c, bare))
        return; /* staff who lost their rights here: nothing follows */
    /* Staff leaving a waiting chat may be its candidates now. */
    if (c->state == DESK_CHAT_WAITING && muc_occupant_privileged(o))
        desk_route_pending(d);
    if (!muc_occupant_privileged(o)) {
        if (desk_chat_customer_occupant(c))
            return; /* another session of the customer is still there */
        c->customer_present = false;
        if (c->replacing_customer || why == MUC_LEFT_KICK)
            return; /* resume-chat moved them to a new address */
        if (c->customer_left_explicitly) {
            customer_gone(c, "ended the chat");
            return;
        }
        loop_timer_cancel(d->loop, c->grace_timer);
        c->grace_timer = loop_timer_add(
            d->loop, (uint64_t)d->cfg->desk.customer_grace_s * 1000,
            grace_timer, c, NULL);
        return;
    }
    if (muc_occupant_invisible(o))
        return;
    /* The last agent leaving without closing: back to the queue. */
    if (c->state == DESK_CHAT_ACTIVE && !desk_chat_has_staff(c)) {
        struct desk_queue *q = desk_queue_find(d, c->queue);
        if (q)
            desk_chat_requeue(c, q, bare, "agent left");
    } else if (c->state == DESK_CHAT_ACTIVE && c->owner_jid &&
               strcmp(c->owner_jid, bare) == 0) {
        /* The owner left, others stay: the owner's slot is free. */
        owner_release(c);
        desk_route_pending(d);
    }
}

static enum muc_message_verdict s_message(void *ud, struct muc_room *room,
                                          struct muc_occupant *from,
                                          const char *body,
                                          const struct stanza_in *in)
{
    struct desk_chat *c = ud;
    (void)in;
    struct desk_cmdline cl;
    /* Commands from anyone but the customer: staff who lost their rights
     * here get a refusal, not their "/note ..." shown to the customer. */
    if (body[0] != '/' || is_customer_occupant(c, from) ||
        desk_cmdline_parse(body, &cl) < 0) {
        if (desk_plugin_message(c, from, body))
            return MUC_MESSAGE_CONSUMED;
        desk_count_message(c, from);
        return MUC_MESSAGE_PASS;
    }
    char bare[BARE_MAX];
    muc_occupant_bare_jid(from, bare, sizeof bare);
    struct buf reply = BUF_INIT;
    struct desk_call call = {.desk = c->desk, .actor = bare, .occ = from,
                             .place = DESK_IN_SESSION,
                             .queue = desk_queue_find(c->desk, c->queue),
                             .chat = c, .reply = &reply};
    struct xerr err;
    xerr_init(&err);
    int rc = desk_command_run(&call, body, &err);
    /* The command may have ended the chat or removed the caller. */
    if (muc_room_find_user(room, bare) == from) {
        if (rc < 0)
            muc_room_tell(room, from, err.text[0] ? err.text : "That failed.");
        else if (reply.len)
            muc_room_tell(room, from, buf_cstr(&reply));
    }
    buf_free(&reply);
    return MUC_MESSAGE_CONSUMED;
}

static void s_declined(void *ud, struct muc_room *room, const char *from_jid,
                       const char *reason)
{
    struct desk_chat *c = ud;
    (void)room;
    (void)reason;
    struct jid j;
    char bare[BARE_MAX];
    if (jid_parse(from_jid, &j) < 0 || jid_bare_text(&j, bare, sizeof bare) < 0)
        return;
    if (!c->offered_to || strcmp(c->offered_to, bare) != 0)
        return;
    log_info(LOG, "ticket %lld: declined by %s", (long long)c->id, bare);
    desk_events_emit(c->desk, &(struct desk_event){.kind = DESK_EV_DECLINED,
                                                   .chat = c, .actor = bare,
                                                   .declined = {bare}});
}

/* The rating form the ratings plugin's /rate message carries, submitted
 * back to the room by a client that renders forms in messages. */
static int s_form_submitted(void *ud, struct muc_room *room,
                            struct muc_occupant *from, xmpp_stanza_t *form,
                            const struct stanza_in *in, struct xerr *err)
{
    struct desk_chat *c = ud;
    const char *type = form_form_type(form);
    if (!type || strcmp(type, FORM_RATE) != 0) {
        xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED,
                 "This room expects no such form");
        return -1;
    }
    char bare[BARE_MAX];
    jid_bare_text(&in->from, bare, sizeof bare);
    if (!desk_chat_is_customer(c, bare)) {
        xerr_set(err, XERR_FORBIDDEN, "Only the customer rates the chat");
        return -1;
    }
    long rating;
    if (desk_parse_int(desk_form_text(form, "rating"), 1, 5, &rating) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "rating: choose 1 to 5");
        return -1;
    }
    if (desk_limits_rating(c->desk, bare, err) < 0)
        return -1;
    struct buf comment = BUF_INIT;
    desk_form_lines(form, "comment", "\n", &comment);
    int rc = desk_chat_rate(c, (int)rating,
                            comment.len ? buf_cstr(&comment) : NULL, bare);
    buf_free(&comment);
    if (rc < 0) {
        xerr_set(err, XERR_INTERNAL_SERVER_ERROR, "The rating was not saved");
        return -1;
    }
    muc_room_tell(room, from, "Thank you for your feedback!");
    return 0;
}

static bool s_is_privileged(void *ud, struct muc_room *room, const char *bare)
{
    struct desk_chat *c = ud;
    (void)room;
    struct desk_queue *q = desk_queue_find(c->desk, c->queue);
    return desk_authz_allows(desk_role_for(c->desk, bare, q, NULL),
                             DESK_ACT_READ_TICKET);
}

/* Staff may bring in whoever may enter the chat (the queue's staff,
 * admins), as /invite does; the customer invites nobody. */
static bool s_may_invite(void *ud, struct muc_room *room,
                         const struct muc_occupant *inviter,
                         const char *invitee_bare)
{
    struct desk_chat *c = ud;
    (void)room;
    struct desk_queue *q = desk_queue_find(c->desk, c->queue);
    return muc_occupant_privileged(inviter) &&
           desk_authz_allows(desk_role_for(c->desk, invitee_bare, q, NULL),
                             DESK_ACT_ENTER_SESSION);
}

static void s_destroyed(void *ud, struct muc_room *room)
{
    struct desk_chat *c = ud;
    if (c->room == room) {
        c->room = NULL;
        desk_routing_chat_changed(c);
    }
}

static const struct muc_room_hooks session_hooks = {
    .pre_join = s_pre_join,
    .joined = s_joined,
    .leaving = s_leaving,
    .left = s_left,
    .message = s_message,
    .form_submitted = s_form_submitted,
    .may_invite = s_may_invite,
    .invite_declined = s_declined,
    .is_privileged = s_is_privileged,
    .destroyed = s_destroyed,
};
