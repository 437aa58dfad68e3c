/* Text commands (PRODUCT.md §3), typed by staff in queue and session
 * rooms, and run the same way by the ad-hoc commands (adhoc_cmds.c).  A
 * command is never broadcast or archived; its effects are archived as
 * ticket events; the reply goes to the caller only.
 *
 * Every command asks authz first, for the queue of the ticket concerned;
 * a refusal is the same `forbidden` whether the ticket exists or not. */
#include "build-config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/canned.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/events.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/juggling.h"
#include "desk/tickets.h"
#include "desk/text.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "store/tickets.h"
#include "xmpp/adhoc.h"
#include "xmpp/stamp.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define BARE_MAX (JID_TEXT_MAX + 1)

typedef int (*command_fn)(struct desk_call *call, const char *args,
                          struct xerr *err);

struct command {
    const char *name;
    enum desk_place place;
    enum desk_action action;
    const char *usage;            /* for !help; NULL: an alias, not listed */
    const char *what;             /* one line of what it does, for !help */
    command_fn fn;
};

/* ---- helpers ------------------------------------------------------------------- */

static void usage_error(struct xerr *err, const char *usage)
{
    xerr_set(err, XERR_BAD_REQUEST, "Usage: %s", usage);
}

/* The ticket named by `word` ("42" or "#42"), if the caller may act on it
 * with `act`; the same refusal otherwise, existing or not. */
static struct desk_chat *ticket_arg(struct desk_call *call, const char *word,
                                    enum desk_action act, struct xerr *err)
{
    long n;
    if (word[0] == '#')
        word++;
    if (desk_parse_int(word, 1, INT64_MAX / 2, &n) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "ticket: a ticket number is needed");
        return NULL;
    }
    struct desk_chat *c = desk_chat_find(call->desk, (int64_t)n);
    struct desk_queue *q = c ? desk_queue_find(call->desk, c->queue) : NULL;
    if (!c || desk_authorize(call->desk, call->actor, act, q, NULL, err) < 0) {
        desk_authz_refuse(err);
        return NULL;
    }
    return c;
}

static void point_to_room(struct desk_call *call, const struct desk_chat *c)
{
    utf8_snprintf(call->room_jid, sizeof call->room_jid, "%s",
                  c->room ? muc_room_jid(c->room) : "");
}

/* The ticket named by the command's first argument (usage error if none),
 * as ticket_arg. */
static struct desk_chat *ticket_of_args(struct desk_call *call,
                                        const char *args, const char *usage,
                                        enum desk_action act, struct xerr *err)
{
    char word[32];
    if (!desk_next_word(&args, word, sizeof word)) {
        usage_error(err, usage);
        return NULL;
    }
    return ticket_arg(call, word, act, err);
}

/* The chat's room for a supervisor to enter, or NULL with item-not-found
 * (a message left has none). */
static struct muc_room *room_to_enter(struct desk_chat *c, struct xerr *err)
{
    if (!c->room)
        xerr_set(err, XERR_ITEM_NOT_FOUND, "Ticket #%lld has no chat room",
                 (long long)c->id);
    return c->room;
}

/* ---- queue room --------------------------------------------------------------- */

static int cmd_accept(struct desk_call *call, const char *args,
                      struct xerr *err)
{
    struct desk_chat *c =
        ticket_of_args(call, args, "!accept N", DESK_ACT_ACCEPT, err);
    if (!c)
        return -1;
    if (c->state != DESK_CHAT_WAITING) {
        xerr_set(err, XERR_CONFLICT, "Ticket #%lld is not waiting any more",
                 (long long)c->id);
        return -1;
    }
    struct desk_queue *q = desk_queue_find(call->desk, c->queue);
    const struct desk_member *m = desk_member_find(q, call->actor);
    struct desk_staff *s = desk_staff_get(call->desk, call->actor);
    if (m && s && s->active >= m->max_chats) {
        xerr_set(err, XERR_NOT_ALLOWED,
                 "You already have %d chats, your maximum", s->active);
        return -1;
    }
    if (desk_offer_make(c, call->actor) < 0) {
        xerr_set(err, XERR_INTERNAL_SERVER_ERROR, "That failed; try again");
        return -1;
    }
    point_to_room(call, c);
    /* An offer, not the ticket: it is theirs once they enter. */
    buf_printf(call->reply, "Ticket #%lld is offered to you: join %s to take "
                            "it (you were sent an invitation).",
               (long long)c->id, call->room_jid);
    return 0;
}

static void list_waiting(struct desk_call *call, struct desk_queue *q)
{
    uint64_t now = loop_now(call->desk->loop);
    for (struct desk_chat *c = q->wait_head; c; c = c->wnext) {
        char waited[32];
        desk_format_duration((int)((now - c->enqueued_ms) / 1000), waited,
                             sizeof waited);
        buf_printf(call->reply, "\n#%lld %s (%s, waiting %s%s%s): %s",
                   (long long)c->id,
                   c->customer_name ? c->customer_name : "customer", q->name,
                   waited, c->offered_to ? ", offered to " : "",
                   c->offered_to ? c->offered_to : "",
                   c->question ? c->question : "");
    }
}

static int cmd_waiting(struct desk_call *call, const char *args,
                       struct xerr *err)
{
    (void)args;
    (void)err;
    buf_append_str(call->reply, "Waiting chats:");
    size_t before = call->reply->len;
    if (call->queue) {
        list_waiting(call, call->queue);
    } else {
        for (struct desk_queue *q = call->desk->queues; q; q = q->hh.next)
            if (desk_authz_allows(desk_role_for(call->desk, call->actor, q,
                                                NULL),
                                  DESK_ACT_WAITING))
                list_waiting(call, q);
    }
    if (call->reply->len == before)
        buf_append_str(call->reply, " none.");
    return 0;
}

static int cmd_stats(struct desk_call *call, const char *args,
                     struct xerr *err)
{
    (void)args;
    (void)err;
    for (struct desk_queue *q = call->desk->queues; q; q = q->hh.next) {
        if (call->queue && q != call->queue)
            continue;
        if (!desk_authz_allows(desk_role_for(call->desk, call->actor, q, NULL),
                               DESK_ACT_WAITING))
            continue;
        unsigned waiting = 0, active = 0;
        for (struct desk_chat *c = q->wait_head; c; c = c->wnext)
            waiting++;
        for (struct desk_chat *c = call->desk->chats; c; c = c->hh.next)
            active += c->state == DESK_CHAT_ACTIVE &&
                      strcmp(c->queue, q->name) == 0;
        char avg[32];
        desk_format_duration((int)desk_rolling_mean(&q->waits), avg,
                             sizeof avg);
        buf_printf(call->reply,
                   "%s%s: %u waiting, %u active, %u agent(s) online, %u "
                   "available, average wait %s",
                   call->reply->len ? "\n" : "", q->name, waiting, active,
                   desk_queue_online_count(q), desk_queue_available_count(q),
                   avg);
    }
    return 0;
}

static int cmd_observe(struct desk_call *call, const char *args,
                       struct xerr *err)
{
    struct desk_chat *c =
        ticket_of_args(call, args, "!observe N", DESK_ACT_SUPERVISE, err);
    if (!c)
        return -1;
    if (!room_to_enter(c, err))
        return -1;
    point_to_room(call, c);
    struct muc_occupant *o = muc_room_find_user(c->room, call->actor);
    if (o) {
        muc_occupant_set_invisible(o, true);
        buf_printf(call->reply, "You now observe ticket #%lld invisibly.",
                   (long long)c->id);
        return 0;
    }
    struct desk_name *n = calloc(1, sizeof *n);
    if (!n || !(n->jid = strdup(call->actor))) {
        free(n);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again");
        return -1;
    }
    n->next = c->observers;
    c->observers = n;
    char reason[120];
    snprintf(reason, sizeof reason,
             "Observe ticket #%lld (you will be invisible)", (long long)c->id);
    muc_room_invite(c->room, call->actor, reason);
    buf_printf(call->reply,
               "Join %s to observe ticket #%lld: you will be invisible to the "
               "customer (an invitation was sent).",
               call->room_jid, (long long)c->id);
    return 0;
}

static int cmd_join(struct desk_call *call, const char *args,
                    struct xerr *err)
{
    struct desk_chat *c =
        ticket_of_args(call, args, "!join N", DESK_ACT_SUPERVISE, err);
    if (!c)
        return -1;
    if (!room_to_enter(c, err))
        return -1;
    point_to_room(call, c);
    struct muc_occupant *o = muc_room_find_user(c->room, call->actor);
    if (o) {
        muc_occupant_set_invisible(o, false);
        buf_printf(call->reply, "You are now visible in ticket #%lld.",
                   (long long)c->id);
        return 0;
    }
    char reason[120];
    snprintf(reason, sizeof reason, "Join ticket #%lld", (long long)c->id);
    muc_room_invite(c->room, call->actor, reason);
    buf_printf(call->reply, "Join %s (an invitation was sent).",
               call->room_jid);
    return 0;
}

static int cmd_take(struct desk_call *call, const char *args,
                    struct xerr *err)
{
    struct desk_chat *c =
        ticket_of_args(call, args, "!take N", DESK_ACT_SUPERVISE, err);
    if (!c)
        return -1;
    if (c->state == DESK_CHAT_ENDED || !c->room) {
        xerr_set(err, XERR_CONFLICT, "Ticket #%lld has ended",
                 (long long)c->id);
        return -1;
    }
    point_to_room(call, c);
    struct muc_occupant *o = muc_room_find_user(c->room, call->actor);
    if (o) {
        muc_occupant_set_invisible(o, false);
        desk_chat_accept(c, call->actor, muc_occupant_nick(o));
        buf_printf(call->reply, "You now own ticket #%lld.", (long long)c->id);
        return 0;
    }
    desk_offer_make(c, call->actor);
    buf_printf(call->reply, "Join %s to take ticket #%lld (an invitation was "
                            "sent).",
               call->room_jid, (long long)c->id);
    return 0;
}

/* ---- session room ------------------------------------------------------------- */

/* A JID, or the nick of someone in the chat's queue room. */
static int staff_arg(struct desk_call *call, const char *word, char *out,
                     size_t size, struct xerr *err)
{
    struct desk_queue *q = call->queue;
    if (strchr(word, '@')) {
        struct jid j;
        if (jid_parse(word, &j) < 0 || jid_bare_text(&j, out, size) < 0) {
            xerr_set(err, XERR_BAD_REQUEST, "jid: not a valid JID");
            return -1;
        }
    } else {
        struct muc_occupant *o =
            q && q->room ? muc_room_find_occupant(q->room, word) : NULL;
        if (!o) {
            xerr_set(err, XERR_ITEM_NOT_FOUND,
                     "Nobody is called %.*s in the queue room",
                     utf8_prec(word, 60), word);
            return -1;
        }
        muc_occupant_bare_jid(o, out, size);
    }
    if (!desk_authz_allows(desk_role_for(call->desk, out, q, NULL),
                           DESK_ACT_ENTER_QUEUE)) {
        xerr_set(err, XERR_NOT_ALLOWED,
                 "Only staff of this queue can be brought into its chats");
        return -1;
    }
    return 0;
}

static int cmd_invite(struct desk_call *call, const char *args,
                      struct xerr *err)
{
    char word[512], bare[BARE_MAX];
    if (!desk_next_word(&args, word, sizeof word)) {
        usage_error(err, "!invite JID-or-nick [reason]");
        return -1;
    }
    if (staff_arg(call, word, bare, sizeof bare, err) < 0)
        return -1;
    char reason[400];
    utf8_snprintf(reason, sizeof reason, "%s (ticket #%lld)",
                  *args ? args : "Please join this chat",
                  (long long)call->chat->id);
    muc_room_invite(call->chat->room, bare, reason);
    buf_printf(call->reply, "%s was invited.", bare);
    return 0;
}

static int cmd_forward(struct desk_call *call, const char *args,
                       struct xerr *err)
{
    struct desk_chat *c = call->chat;
    char word[512];
    if (!desk_next_word(&args, word, sizeof word)) {
        usage_error(err, "!forward JID-or-queue");
        return -1;
    }
    if (c->state == DESK_CHAT_ENDED) {
        xerr_set(err, XERR_CONFLICT, "This chat has ended");
        return -1;
    }
    struct desk_queue *q = desk_queue_find(call->desk, word);
    if (q && !strchr(word, '@')) {
        desk_chat_requeue(c, q, call->actor, "forwarded");
        buf_printf(call->reply, "Ticket #%lld forwarded to queue %s.",
                   (long long)c->id, q->name);
        return 0;
    }
    char bare[BARE_MAX];
    if (staff_arg(call, word, bare, sizeof bare, err) < 0)
        return -1;
    char body[300];
    utf8_snprintf(body, sizeof body, "forwarded to %.*s", utf8_prec(bare, 250),
                  bare);
    desk_chat_event(c, ARCHIVE_TRANSFER, call->actor, NULL, body, false);
    struct muc_occupant *there = c->room ? muc_room_find_user(c->room, bare)
                                         : NULL;
    if (there && !muc_occupant_invisible(there)) {
        /* Already in the chat: theirs at once. */
        desk_chat_accept(c, bare, muc_occupant_nick(there));
        buf_printf(call->reply, "Ticket #%lld is now %.*s's.", (long long)c->id,
                   utf8_prec(bare, 200), bare);
        return 0;
    }
    desk_offer_make(c, bare);
    buf_printf(call->reply,
               "Ticket #%lld offered to %.*s: they take it by "
               "joining.",
               (long long)c->id, utf8_prec(bare, 200), bare);
    return 0;
}

static int cmd_leave(struct desk_call *call, const char *args,
                     struct xerr *err)
{
    (void)args;
    if (!call->occ) {
        struct muc_occupant *o =
            call->chat->room ? muc_room_find_user(call->chat->room, call->actor)
                             : NULL;
        if (!o) {
            xerr_set(err, XERR_ITEM_NOT_FOUND, "You are not in that chat");
            return -1;
        }
        call->occ = o;
    }
    muc_occupant_kick(call->occ, "You left the chat");
    call->occ = NULL;
    return 0;
}

static int cmd_close(struct desk_call *call, const char *args,
                     struct xerr *err)
{
    static const char usage[] =
        "!close resolved|queued [queue]|inprogress [note]";
    struct desk_chat *c = call->chat;
    char word[64];
    enum ticket_status st;
    if (!desk_next_word(&args, word, sizeof word)) {
        usage_error(err, usage);
        return -1;
    }
    for (char *p = word; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    if (ticket_status_parse(word, &st) < 0) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "status: resolved, queued or inprogress; usage: %s", usage);
        return -1;
    }
    if (c->state == DESK_CHAT_ENDED) {
        xerr_set(err, XERR_CONFLICT, "This chat has ended already");
        return -1;
    }
    struct desk_queue *target = NULL;
    if (st == TICKET_QUEUED) {
        const char *rest = args;
        char qname[128];
        if (desk_next_word(&rest, qname, sizeof qname) &&
            (target = desk_queue_find(call->desk, qname)) != NULL) {
            if (!desk_authz_allows(desk_role_for(call->desk, call->actor,
                                                 target, NULL),
                                   DESK_ACT_SESSION) &&
                !desk_authz_allows(desk_role_for(call->desk, call->actor,
                                                 call->queue, NULL),
                                   DESK_ACT_SESSION)) {
                desk_authz_refuse(err);
                return -1;
            }
            args = rest;
        }
    }
    if (target && strcmp(target->name, c->queue) != 0) {
        char body[200];
        utf8_snprintf(body, sizeof body, "to queue %s", target->name);
        desk_chat_event(c, ARCHIVE_TRANSFER, call->actor, NULL, body, false);
        free(c->queue);
        c->queue = strdup(target->name);
    }
    long long id = (long long)c->id;
    bool moved = target && call->queue && target != call->queue;
    desk_chat_end(c, st, call->actor, args, NULL);
    if (target)
        desk_chat_review_staff(c); /* staff of the old queue stay, unprivileged */
    if (moved) {
        /* The other team learns of the work it was given (!tickets lists
         * it). */
        char text[700];
        utf8_snprintf(text, sizeof text,
                      "Ticket #%lld was passed to this queue by %.*s from %s "
                      "(%s)%s%.*s. !ticket %lld to read it.",
                      id, utf8_prec(call->actor, 200), call->actor,
                      call->queue->name, ticket_status_name(st),
                      c->subject ? ": " : "",
                      utf8_prec(c->subject ? c->subject : "", 200),
                      c->subject ? c->subject : "", id);
        desk_queue_announce(target, text);
    }
    buf_printf(call->reply, "Ticket #%lld closed (%s).", id,
               ticket_status_name(st));
    return 0;
}

static int cmd_note(struct desk_call *call, const char *args,
                    struct xerr *err)
{
    struct desk_chat *c = call->chat;
    if (!*args) {
        usage_error(err, "!note TEXT");
        return -1;
    }
    const char *nick = call->occ ? muc_occupant_nick(call->occ) : call->actor;
    desk_chat_event(c, ARCHIVE_NOTE, call->actor, nick, args, true);
    if (c->room) {
        char text[2200];
        utf8_snprintf(text, sizeof text, "Note by %.*s: %.*s",
                      utf8_prec(nick, 100), nick, utf8_prec(args, 2000), args);
        for (struct muc_occupant *o = muc_room_first_occupant(c->room); o;
             o = muc_occupant_next(o))
            if (muc_occupant_privileged(o) && o != call->occ)
                muc_room_tell(c->room, o, text);
    }
    buf_append_str(call->reply, "Note added (staff only).");
    return 0;
}

static int cmd_time(struct desk_call *call, const char *args,
                    struct xerr *err)
{
    static const char usage[] = "!time [pause|resume|set MINUTES]";
    struct desk_chat *c = call->chat;
    char word[32];
    if (!desk_next_word(&args, word, sizeof word)) {
        int secs = desk_chat_seconds(c);
        buf_printf(call->reply, "Chat time: %d min %d s, %s.", secs / 60,
                   secs % 60, c->clock_running ? "running" : "paused");
        return 0;
    }
    if (strcmp(word, "pause") == 0) {
        desk_chat_clock(c, false);
    } else if (strcmp(word, "resume") == 0) {
        if (c->state != DESK_CHAT_ACTIVE) {
            xerr_set(err, XERR_CONFLICT, "The chat is not in progress");
            return -1;
        }
        desk_chat_clock(c, true);
    } else if (strcmp(word, "set") == 0) {
        long minutes;
        if (desk_parse_int(args, 0, 100000, &minutes) < 0) {
            xerr_set(err, XERR_BAD_REQUEST, "minutes: a whole number; usage: %s",
                     usage);
            return -1;
        }
        bool running = c->clock_running;
        desk_chat_clock(c, false);
        c->chat_seconds = (int)minutes * 60;
        desk_chat_clock(c, running);
    } else {
        usage_error(err, usage);
        return -1;
    }
    desk_chat_save(c);
    char body[80];
    utf8_snprintf(body, sizeof body, "chat time %s: %d s", word,
                  desk_chat_seconds(c));
    desk_chat_event(c, ARCHIVE_STATUS, call->actor, NULL, body, true);
    buf_printf(call->reply, "Chat time: %d min %d s%s.",
               desk_chat_seconds(c) / 60, desk_chat_seconds(c) % 60,
               c->clock_running ? "" : " (paused)");
    return 0;
}

static int cmd_subject(struct desk_call *call, const char *args,
                       struct xerr *err)
{
    struct desk_chat *c = call->chat;
    if (!*args) {
        usage_error(err, "!subject TEXT");
        return -1;
    }
    desk_chat_set_ticket_subject(c, args);
    char text[400];
    utf8_snprintf(text, sizeof text, "Ticket #%lld: %.*s", (long long)c->id,
                  utf8_prec(args, 300), args);
    if (c->room)
        muc_room_set_subject(c->room, text);
    buf_append_str(call->reply, "Subject changed.");
    return 0;
}

static int cmd_priority(struct desk_call *call, const char *args,
                        struct xerr *err)
{
    long p;
    if (desk_parse_int(args, 1, 5, &p) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "priority: 1 to 5; usage: !priority 1-5");
        return -1;
    }
    call->chat->priority = (int)p;
    desk_chat_save(call->chat);
    char body[40];
    snprintf(body, sizeof body, "priority %ld", p);
    desk_chat_event(call->chat, ARCHIVE_STATUS, call->actor, NULL, body, true);
    buf_printf(call->reply, "Priority set to %ld.", p);
    return 0;
}

static int set_visibility(struct desk_call *call, bool invisible,
                          struct xerr *err)
{
    struct muc_occupant *o = call->occ;
    if (!o && call->chat->room)
        o = muc_room_find_user(call->chat->room, call->actor);
    if (!o) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "You are not in that chat");
        return -1;
    }
    muc_occupant_set_invisible(o, invisible);
    buf_append_str(call->reply, invisible ? "You are now invisible."
                                          : "You are now visible.");
    return 0;
}

static int cmd_visible(struct desk_call *call, const char *args,
                       struct xerr *err)
{
    (void)args;
    return set_visibility(call, false, err);
}

static int cmd_invisible(struct desk_call *call, const char *args,
                         struct xerr *err)
{
    (void)args;
    return set_visibility(call, true, err);
}

static int cmd_help(struct desk_call *call, const char *args,
                    struct xerr *err);

/* !decline [N] / !pass: what a decline in the client does, for clients
 * that cannot send one (Profanity's sends nothing, poezio has none). */
static int cmd_decline(struct desk_call *call, const char *args,
                       struct xerr *err)
{
    struct desk_chat *c = call->chat;
    if (!c) {
        struct desk_staff *s = desk_staff_get(call->desk, call->actor);
        c = s ? s->offer : NULL;
        long n;
        if (*args && desk_parse_int(args, 1, LONG_MAX, &n) < 0) {
            usage_error(err, "!decline [N]");
            return -1;
        }
        if (*args && c && c->id != n)
            c = NULL;
    }
    if (!c || !c->offered_to || strcmp(c->offered_to, call->actor) != 0 ||
        c->state != DESK_CHAT_WAITING) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "%s",
                 call->chat ? "This chat is not offered to you."
                            : "No such chat is offered to you right now.");
        return -1;
    }
    long long id = (long long)c->id;
    desk_events_emit(call->desk,
                     &(struct desk_event){.kind = DESK_EV_DECLINED, .chat = c,
                                          .actor = call->actor,
                                          .declined = {call->actor}});
    buf_printf(call->reply, "You passed on ticket #%lld: it is offered to "
                            "someone else.", id);
    return 0;
}

/* The text commands.  Typed with "!" (the form help and docs show: clients
 * keep "/" for their own commands) or "/" (clients that pass it on). */
static const struct command commands[] = {
    {"accept", DESK_IN_QUEUE, DESK_ACT_ACCEPT, "!accept N",
     "ask for waiting ticket N (you are sent its invitation)", cmd_accept},
    {"decline", DESK_IN_QUEUE, DESK_ACT_ACCEPT, "!decline [N]",
     "pass on the chat offered to you (also !pass)", cmd_decline},
    {"pass", DESK_IN_QUEUE, DESK_ACT_ACCEPT, NULL, NULL, cmd_decline},
    {"waiting", DESK_IN_QUEUE, DESK_ACT_WAITING, "!waiting",
     "the waiting chats, how long each has waited", cmd_waiting},
    {"stats", DESK_IN_QUEUE, DESK_ACT_WAITING, "!stats",
     "waiting and active chats, agents online, the average wait",
     cmd_stats},
    {"observe", DESK_IN_QUEUE, DESK_ACT_SUPERVISE, "!observe N",
     "enter ticket N's chat invisibly", cmd_observe},
    {"join", DESK_IN_QUEUE, DESK_ACT_SUPERVISE, "!join N",
     "enter ticket N's chat visibly", cmd_join},
    {"take", DESK_IN_QUEUE, DESK_ACT_SUPERVISE, "!take N",
     "take ticket N over from its agent", cmd_take},
    {"chats", DESK_IN_QUEUE, DESK_ACT_WAITING, "!chats",
     "my chats, the longest waiting for an answer first", desk_cmd_chats},
    {"board", DESK_IN_QUEUE, DESK_ACT_SUPERVISE, "!board",
     "every chat and member of this queue: owner, state, waits, load",
     desk_cmd_board},
    {"tickets", DESK_IN_QUEUE, DESK_ACT_READ_TICKET,
     "!tickets [status=open|queued|...] [owner=me|none] [text=...] [age=3d]",
     "this queue's open tickets, the longest waiting first", desk_cmd_tickets},
    {"ticket", DESK_IN_QUEUE, DESK_ACT_READ_TICKET, "!ticket N",
     "ticket N's fields and latest lines", desk_cmd_ticket},
    {"ticket-update", DESK_IN_QUEUE, DESK_ACT_READ_TICKET,
     "!ticket-update N field=value...",
     "status, owner, queue, priority, impact, ci, tags, solution, note, "
     "merge-into of any ticket, chat or no chat", desk_cmd_ticket_update},
    {"ticket-reply", DESK_IN_QUEUE, DESK_ACT_READ_TICKET,
     "!ticket-reply N TEXT", "mail the ticket's customer (it goes in the "
     "ticket)", desk_cmd_ticket_reply},
    {"invite", DESK_IN_SESSION, DESK_ACT_SESSION,
     "!invite JID-or-nick [reason]", "bring a colleague into this chat",
     cmd_invite},
    {"forward", DESK_IN_SESSION, DESK_ACT_SESSION, "!forward JID-or-queue",
     "hand this chat to a colleague or another queue", cmd_forward},
    {"decline", DESK_IN_SESSION, DESK_ACT_SESSION, "!decline",
     "pass on this chat if it is offered to you (also !pass)",
     cmd_decline},
    {"pass", DESK_IN_SESSION, DESK_ACT_SESSION, NULL, NULL, cmd_decline},
    {"leave", DESK_IN_SESSION, DESK_ACT_SESSION, "!leave",
     "leave the chat to the other agents in it", cmd_leave},
    {"close", DESK_IN_SESSION, DESK_ACT_SESSION,
     "!close resolved|queued [queue]|inprogress [note]",
     "end the chat; the ticket gets that status", cmd_close},
    {"note", DESK_IN_SESSION, DESK_ACT_SESSION, "!note TEXT",
     "a note on the ticket, for staff only", cmd_note},
    {"time", DESK_IN_SESSION, DESK_ACT_SESSION,
     "!time [pause|resume|set MINUTES]",
     "the chat time so far; pause, resume or correct it", cmd_time},
    {"subject", DESK_IN_SESSION, DESK_ACT_SESSION, "!subject TEXT",
     "the ticket's subject (also the room's)", cmd_subject},
    {"priority", DESK_IN_SESSION, DESK_ACT_SESSION, "!priority 1-5",
     "the ticket's priority", cmd_priority},
    {"canned", DESK_IN_SESSION, DESK_ACT_SESSION, "!canned [NAME]",
     "send a canned response (without NAME: list them)", desk_cmd_canned},
    {"kb", DESK_IN_SESSION, DESK_ACT_SESSION, "!kb QUERY | !kb send ID",
     "search the knowledge base; send an article to the customer",
     desk_cmd_kb},
    {"chats", DESK_IN_SESSION, DESK_ACT_SESSION, "!chats",
     "my chats, the longest waiting for an answer first", desk_cmd_chats},
    {"ticket", DESK_IN_SESSION, DESK_ACT_SESSION, "!ticket [N]",
     "a ticket's fields and latest lines (this one's without N)",
     desk_cmd_ticket},
    {"ticket-update", DESK_IN_SESSION, DESK_ACT_SESSION,
     "!ticket-update [N] field=value...",
     "impact, ci, tags, solution, note of this ticket (or any field of "
     "ticket N)", desk_cmd_ticket_update},
    {"visible", DESK_IN_SESSION, DESK_ACT_SUPERVISE, "!visible",
     "show yourself to the customer", cmd_visible},
    {"invisible", DESK_IN_SESSION, DESK_ACT_SUPERVISE, "!invisible",
     "observe invisibly again", cmd_invisible},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

void desk_command_help(struct desk *d, enum desk_role role,
                       enum desk_place place, struct buf *out)
{
    buf_append_str(out, "Commands here (type them with ! first; / works "
                        "where your client passes it on):");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (commands[i].place == place && commands[i].usage &&
            desk_authz_allows(role, commands[i].action))
            buf_printf(out, "\n%s - %s", commands[i].usage, commands[i].what);
    if (desk_authz_allows(role, DESK_ACT_SESSION))
        desk_plugin_help(d, place, out);
    buf_append_str(out, "\n!help - this list");
}

static int cmd_help(struct desk_call *call, const char *args,
                    struct xerr *err)
{
    (void)args;
    (void)err;
    desk_command_help(call->desk,
                      desk_role_for(call->desk, call->actor, call->queue,
                                    NULL),
                      call->place, call->reply);
    return 0;
}

int desk_command_run(struct desk_call *call, const char *line,
                     struct xerr *err)
{
    struct desk_cmdline cl;
    if (desk_cmdline_parse(line, &cl) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Commands start with '!': try !help");
        return -1;
    }
    if (strcmp(cl.name, "help") == 0)
        return cmd_help(call, cl.args, err);
    const struct command *elsewhere = NULL;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const struct command *cmd = &commands[i];
        if (strcmp(cmd->name, cl.name) != 0)
            continue;
        if (cmd->place != call->place) {
            elsewhere = cmd;
            continue;
        }
        if (cmd->place == DESK_IN_SESSION) {
            /* The ticket is this room's: authz on its queue. */
            struct desk_queue *q = desk_queue_find(call->desk,
                                                   call->chat->queue);
            if (desk_authorize(call->desk, call->actor, cmd->action, q, NULL,
                               err) < 0)
                return -1;
            call->queue = q;
        } else if (call->queue &&
                   desk_authorize(call->desk, call->actor, cmd->action,
                                  call->queue, NULL, err) < 0) {
            return -1;
        }
        return cmd->fn(call, cl.args, err);
    }
    if (elsewhere) {
        xerr_set(err, XERR_BAD_REQUEST, "!%s works in %s rooms", cl.name,
                 elsewhere->place == DESK_IN_QUEUE ? "queue" : "chat");
        return -1;
    }
    int rc = desk_plugin_command_run(call, cl.name, cl.args, err);
    if (rc <= 0)
        return rc;
    xerr_set(err, XERR_BAD_REQUEST, "Unknown command !%s: try !help",
             cl.name);
    return -1;
}
