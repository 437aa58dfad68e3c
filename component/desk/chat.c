/* Chats: one ticket, one session room; the lifecycle.  Creation
 * (request-chat or a plain message to the queue), the waiting list,
 * acceptance (the offered agent joining), requeue, the end (for the
 * customer: a closing status message, then the room "destroyed" for them
 * alone; it stays for staff and MAM until [desk] closed_room_hours), chat
 * time, the rating, the staff rights that follow the queue's membership.
 * Each change emits its event (events.h); what follows
 * (offers, counts, plugins, mail, routing) is the subscribers' business.
 * The customers are in chat_customers.c, tokens in chat_tokens.c, the
 * start-up restore in chat_restore.c, the room's hooks in session.c.
 *
 * Tickets are journaled (store/tickets.h): a chat goes on while
 * PostgreSQL is away; a new one is refused when no ticket number is
 * reserved or the archive cannot take more. */
#include "build-config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/chat.h"
#include "desk/details.h"
#include "desk/events.h"
#include "desk/limits.h"
#include "desk/prechat.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "desk/text.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "store/tickets.h"
#include "xmpp/stamp.h"
#include "xmpp/stanza.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)

static char *dup_opt(const char *s)
{
    return s && *s ? strdup(s) : NULL;
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

void desk_chat_set_ticket_subject(struct desk_chat *c, const char *subject)
{
    char *s = utf8_strndup(subject, DESK_SUBJECT_MAX);
    if (!s)
        return; /* out of memory: the old subject stays */
    free(c->subject);
    c->subject = s;
    desk_chat_save(c);
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

/* ---- creation ---------------------------------------------------------------- */

struct desk_chat *desk_chat_alloc(struct desk *d)
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
    desk_chat_token_index(c, false);
    desk_chat_customers_forget(c);
    if (c->id && desk_chat_find(d, c->id) == c)
        HASH_DEL(d->chats, c);
    if (c->room) {
        struct muc_room *room = c->room;
        c->room = NULL;
        if (!d->stopping)
            muc_room_destroy(room, NULL, NULL);
    }
    desk_names_free(c->customers);
    desk_names_free(c->declines);
    desk_names_free(c->in_room);
    desk_names_free(c->observers);
    free(c->queue);
    free(c->subject);
    free(c->customer_jid);
    free(c->customer_name);
    free(c->customer_email);
    free(c->owner_jid);
    free(c->rating_comment);
    free(c->details);
    free(c->details_told);
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
    struct json_object *d = desk_details_parse(c->details);
    buf_printf(out, "Ticket #%lld", (long long)c->id);
    buf_printf(out, "\nName: %s", c->customer_name ? c->customer_name : "-");
    buf_printf(out, "\nEmail: %s",
               c->customer_email ? c->customer_email : "-");
    buf_printf(out, "\nQuestion: %s", c->question ? c->question : "-");
    if (desk_details_string(d, "page", v, sizeof v) == 0 && v[0])
        buf_printf(out, "\nPage: %s", v);
    if (desk_details_string(d, "browser", v, sizeof v) == 0 && v[0])
        buf_printf(out, "\nBrowser: %s", v);
    /* The queue's extra pre-chat questions, under their labels (the
     * transcript lists every answer kept, whatever the queue asks today). */
    const struct desk_queue *q = desk_queue_find(c->desk, c->queue);
    for (size_t i = 0; q && q->prechat && i < q->prechat->count; i++) {
        const struct desk_prechat_field *f = &q->prechat->f[i];
        if (desk_details_string(d, f->var, v, sizeof v) < 0 || !v[0])
            continue;
        const char *shown = v;
        if (strcmp(f->type, "boolean") == 0)
            shown = strcmp(v, "1") == 0 ? "yes" : "no";
        buf_printf(out, "\n%s: %s", f->label[0] ? f->label : f->var, shown);
    }
    json_object_put(d);
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

void desk_chat_set_subject(struct desk_chat *c)
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

void desk_chat_announce_new(struct desk_chat *c, struct desk_queue *q)
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

void desk_chat_start_waiting(struct desk_chat *c, struct desk_queue *q)
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

int desk_chat_open_room(struct desk_chat *c)
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
    c->room = muc_room_create(c->desk->muc, c->room_name, &o, &desk_session_hooks,
                              c);
    if (!c->room)
        return -1;
    /* Staff hear the desk from an occupant; the customer, from the room. */
    if (muc_room_set_voice(c->room, DESK_VOICE_NICK) < 0)
        log_error(LOG, "ticket %lld: the desk's voice could not be set",
                  (long long)c->id);
    for (struct desk_name *n = c->customers; n; n = n->next)
        muc_room_set_affiliation(c->room, n->jid, MUC_AFFIL_MEMBER, NULL);
    return 0;
}

static void first_line(const char *text, char *out, size_t size)
{
    size_t n = strcspn(text ? text : "", "\r\n");
    if (n >= size)
        n = utf8_trim(text, size - 1);
    memcpy(out, text ? text : "", n);
    out[n] = '\0';
}

/* The ticket's details as JSON text (the caller frees it), or NULL if
 * out of memory. */
static char *make_details(const struct desk_request *r)
{
    struct json_object *d = desk_details_new();
    char *text = NULL;
    if (d && desk_details_set(d, "question", r->question) == 0 &&
        desk_details_set(d, "page", r->page) == 0 &&
        desk_details_set(d, "browser", r->browser) == 0 &&
        desk_details_set(d, "skills", r->skills) == 0 &&
        desk_details_set(d, "nick", r->nick) == 0 &&
        desk_details_merge(d, r->extra) == 0)
        text = desk_details_text(d);
    json_object_put(d);
    return text;
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
    uint64_t seq = details ? store_ticket_create(d->archive, &t) : 0;
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

/* A customer asking again for their open chat: it counts against the
 * sender's budget like a new request (a new token, a ticket update), and
 * the caller gets a fresh token (only its hash is kept: the old one stops
 * working).  0, or -1 with *err. */
static int request_again(struct desk_chat *old, const char *bare,
                         char *token_out, size_t token_size, struct xerr *err)
{
    if (desk_limits_request_again(old->desk, bare, err) < 0)
        return -1;
    desk_chat_add_customer(old, bare);
    desk_chat_token_index(old, false);
    if (desk_chat_token_new(token_out, token_size, old->token_hash) == 0) {
        old->has_token = true;
        desk_chat_token_index(old, true);
        desk_chat_save(old);
    }
    return 0;
}

/* A new chat's fields from the request.  0, or -1 if out of memory. */
static int fill_from_request(struct desk_chat *c, const struct desk_queue *q,
                             const struct desk_request *r, const char *bare)
{
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
        desk_chat_customer_add(c, bare) < 0)
        return -1;
    return 0;
}

/* A new chat whose room is open starts waiting in q: the transcript starts
 * with the session details (staff only: the customer gets the greeting;
 * not in the room's history, since every staff member is told them on
 * entering, session.c), the subject, the greeting; counted against its
 * domain until the customer enters (this may end the domain's oldest chat
 * nobody entered); announced and timed unless held. */
static void start_waiting_new(struct desk_chat *c, struct desk_queue *q)
{
    struct desk *d = c->desk;
    struct buf details = BUF_INIT;
    desk_chat_details_text(c, &details);
    if (muc_room_record_said(c->room, buf_cstr(&details), true,
                             &c->details_said) == 0) {
        free(c->details_told);
        c->details_told = strdup(buf_cstr(&details));
    }
    buf_free(&details);
    desk_chat_set_subject(c);
    if (q->greeting)
        muc_room_post(c->room, q->greeting, false);
    c->state = DESK_CHAT_WAITING;
    c->enqueued_ms = loop_now(d->loop);
    desk_wait_add(q, c, false);
    desk_limits_chat_created(c);
    log_info(LOG, "ticket %lld: new chat in %s%s", (long long)c->id, q->name,
             c->held ? " (held until the customer enters)" : "");
    if (!c->held) {
        desk_chat_start_waiting(c, q);
        desk_chat_announce_new(c, q);
    }
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
    struct desk_chat *old = desk_chat_open_of(d, q->name, bare);
    if (old) {
        if (request_again(old, bare, token_out, token_size, err) < 0)
            return -1;
        *out = old;
        *existing = true;
        return 0;
    }
    bool held;
    if (check_accepting(d, bare, true, &held, err) < 0)
        return -1;
    struct desk_chat *c = desk_chat_alloc(d);
    if (!c)
        goto oom;
    c->held = held;
    if (fill_from_request(c, q, r, bare) < 0)
        goto oom;
    if (desk_chat_token_new(token_out, token_size, c->token_hash) < 0)
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
    desk_chat_token_index(c, true);
    if (desk_chat_open_room(c) < 0) {
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
    start_waiting_new(c, q);
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

void desk_chat_owner_release(struct desk_chat *c)
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
        desk_chat_owner_release(c);
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
    desk_chat_owner_release(c);
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
    desk_chat_start_waiting(c, q);
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

void desk_chat_expire_in(struct desk_chat *c, uint64_t ms)
{
    struct desk *d = c->desk;
    loop_timer_cancel(d->loop, c->expire_timer);
    c->expire_timer = loop_timer_add(d->loop, ms, expire_timer, c, NULL);
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
    desk_chat_owner_release(c);
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

/* ---- staff rights ---------------------------------------------------------- */

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
        desk_chat_owner_release(c);
        desk_route_pending(d);
    }
}
