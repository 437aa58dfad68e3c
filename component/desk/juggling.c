/* Helping agents juggle several chats (see juggling.h).
 *
 * The answer clock: a chat's unanswered_us is set by the customer's first
 * message after staff last wrote and cleared when a visible staff member
 * writes (typed, or !canned / !kb send); an invisible observer's words
 * reach nobody and answer nothing.  The reminder goes once per wait, to
 * the staff in the room only, when the wait passes the queue's
 * answer_reminder (0: never), checked on the desk's tick.  Both lists
 * come from the live state: nothing here reads the database. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/forms.h"
#include "desk/juggling.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/text.h"
#include "desk/ticket_args.h"
#include "muc/muc.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stamp.h"

#define LOG "desk"

/* ---- the answer clock -------------------------------------------------------------- */

void desk_chat_heard(struct desk_chat *c, const struct muc_occupant *from)
{
    int64_t now = stamp_now_us();
    if (muc_occupant_invisible(from))
        return;
    c->last_message_us = now;
    if (muc_occupant_privileged(from)) {
        c->unanswered_us = 0;
        c->reminded = false;
    } else if (!c->unanswered_us) {
        c->unanswered_us = now;
    }
}

int64_t desk_chat_unanswered_s(const struct desk_chat *c, int64_t now_us)
{
    if (!c->unanswered_us || c->state == DESK_CHAT_ENDED)
        return 0;
    int64_t s = (now_us - c->unanswered_us) / 1000000;
    return s > 0 ? s : 1;
}

static const char *customer_called(const struct desk_chat *c)
{
    return c->customer_name && *c->customer_name ? c->customer_name
                                                 : "The customer";
}

void desk_remind_due(struct desk *d)
{
    int64_t now = stamp_now_us();
    for (struct desk_chat *c = d->chats; c; c = c->hh.next) {
        if (c->state != DESK_CHAT_ACTIVE || !c->unanswered_us || c->reminded ||
            !c->room)
            continue;
        const struct desk_queue *q = desk_queue_find(d, c->queue);
        if (!q || q->answer_reminder_s <= 0 ||
            now - c->unanswered_us < (int64_t)q->answer_reminder_s * 1000000)
            continue;
        c->reminded = true;
        char age[16], text[300];
        desk_age_text(desk_chat_unanswered_s(c, now), age, sizeof age);
        const char *who = customer_called(c);
        utf8_snprintf(text, sizeof text,
                      "Reminder: %.*s has waited %s for an answer (ticket "
                      "#%lld).",
                      utf8_prec(who, 100), who, age, (long long)c->id);
        /* Staff only: the customer is waiting, not to be told so. */
        for (struct muc_occupant *o = muc_room_first_occupant(c->room); o;
             o = muc_occupant_next(o))
            if (muc_occupant_privileged(o))
                muc_room_tell(c->room, o, text);
        log_info(LOG, "ticket %lld: answer reminder (%s)", (long long)c->id,
                 age);
    }
}

/* ---- my chats ---------------------------------------------------------------------- */

static const char *state_name(const struct desk_chat *c)
{
    return c->state == DESK_CHAT_WAITING ? "waiting" : "active";
}

struct mine {
    struct desk_chat *chat;
    const char *how;
    int64_t unanswered_s;
};

static int by_wait(const void *a, const void *b)
{
    const struct mine *x = a, *y = b;
    /* Waiting since earlier first; nobody waiting last. */
    int64_t ux = x->unanswered_s ? x->chat->unanswered_us : INT64_MAX;
    int64_t uy = y->unanswered_s ? y->chat->unanswered_us : INT64_MAX;
    if (ux != uy)
        return ux < uy ? -1 : 1;
    return x->chat->id < y->chat->id ? -1 : x->chat->id > y->chat->id;
}

/* The asker's chats, the longest unanswered first; *n of them (free()). */
static struct mine *my_chats_list(struct desk *d, const char *asker, size_t *n)
{
    int64_t now = stamp_now_us();
    size_t cap = HASH_COUNT(d->chats) + 1;
    struct mine *list = calloc(cap, sizeof *list);
    *n = 0;
    if (!list)
        return NULL;
    for (struct desk_chat *c = d->chats; c; c = c->hh.next) {
        if (c->state == DESK_CHAT_ENDED)
            continue;
        struct muc_occupant *o = c->room ? muc_room_find_user(c->room, asker)
                                         : NULL;
        const char *how = NULL;
        if (c->owner_jid && strcmp(c->owner_jid, asker) == 0 &&
            c->state == DESK_CHAT_ACTIVE)
            how = "yours";
        else if (c->offered_to && strcmp(c->offered_to, asker) == 0)
            how = "offered to you";
        else if (o)
            how = muc_occupant_invisible(o) ? "observing" : "in the chat";
        if (!how)
            continue;
        list[(*n)++] = (struct mine){c, how, desk_chat_unanswered_s(c, now)};
    }
    qsort(list, *n, sizeof *list, by_wait);
    return list;
}

static void mine_line(struct buf *out, const struct mine *m)
{
    const struct desk_chat *c = m->chat;
    char age[16] = "";
    if (m->unanswered_s)
        desk_age_text(m->unanswered_s, age, sizeof age);
    buf_printf(out, "\n#%lld %s (%s, %s, %s)%s%s%s: %s", (long long)c->id,
               c->customer_name ? c->customer_name : "customer", c->queue,
               state_name(c), m->how, age[0] ? ", waiting " : "", age,
               age[0] ? " for an answer" : "", c->subject ? c->subject : "");
}

int desk_cmd_chats(struct desk_call *call, const char *args, struct xerr *err)
{
    (void)args;
    size_t n;
    struct mine *list = my_chats_list(call->desk, call->actor, &n);
    if (!list) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    if (!n)
        buf_append_str(call->reply, "You have no chats now.");
    else
        buf_append_str(call->reply, "Your chats, the longest unanswered "
                                    "first:");
    for (size_t i = 0; i < n; i++)
        mine_line(call->reply, &list[i]);
    free(list);
    return 0;
}

static int my_chats(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    size_t n;
    struct mine *list = my_chats_list(d, st->asker, &n);
    if (!list) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    struct buf text = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        mine_line(&text, &list[i]);
    if (n)
        adhoc_note(st, "info", "Your chats:%s", buf_cstr(&text));
    else
        adhoc_note(st, "info", "You have no chats now.");
    form_open(st->payload, "result", NULL, "Your chats", NULL);
    form_reported_open(st->payload);
    static const char *const cols[][2] = {
        {"ticket", "Ticket"}, {"queue", "Queue"}, {"state", "State"},
        {"you", "You"}, {"customer", "Customer"}, {"subject", "Subject"},
        {"room", "Room"}, {"unanswered", "Waiting for an answer (s)"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        form_reported_field(st->payload, cols[i][0], cols[i][1]);
    form_reported_close(st->payload);
    for (size_t i = 0; i < n; i++) {
        const struct desk_chat *c = list[i].chat;
        char id[24], secs[24];
        snprintf(id, sizeof id, "%lld", (long long)c->id);
        snprintf(secs, sizeof secs, "%lld", (long long)list[i].unanswered_s);
        form_item_open(st->payload);
        form_item_value(st->payload, "ticket", id);
        form_item_value(st->payload, "queue", c->queue);
        form_item_value(st->payload, "state", state_name(c));
        form_item_value(st->payload, "you", list[i].how);
        form_item_value(st->payload, "customer", c->customer_name);
        form_item_value(st->payload, "subject", c->subject);
        form_item_value(st->payload, "room",
                        c->room ? muc_room_jid(c->room) : "");
        form_item_value(st->payload, "unanswered", secs);
        form_item_close(st->payload);
    }
    form_close(st->payload);
    buf_free(&text);
    free(list);
    return 0;
}

/* ---- the supervisors' board ------------------------------------------------------- */

static bool supervises(struct desk *d, const char *asker,
                       const struct desk_queue *q)
{
    return desk_authz_allows(desk_role_for(d, asker, q, NULL),
                             DESK_ACT_SUPERVISE);
}

static const char *member_state(const struct desk_member *m)
{
    if (!m->occupants)
        return "offline";
    if (m->staff && m->staff->busy)
        return "busy";
    if (!m->shown)
        return "away";
    if (!m->takes_chats)
        return "watching";
    return m->available ? "available" : "full";
}

/* The chats (text, and a table in form if given), then the members
 * (text).  only: one queue, or NULL for every queue the asker
 * supervises. */
static void board(struct desk *d, const char *asker,
                  const struct desk_queue *only, struct buf *text,
                  struct buf *form)
{
    int64_t now = stamp_now_us();
    uint64_t now_ms = loop_now(d->loop);
    size_t chats = 0, agents = 0;
    struct buf ctext = BUF_INIT, atext = BUF_INIT;
    if (form) {
        form_open(form, "result", NULL, "Board", NULL);
        form_reported_open(form);
        static const char *const cols[][2] = {
            {"ticket", "Ticket"}, {"queue", "Queue"}, {"state", "State"},
            {"owner", "Owner"}, {"customer", "Customer"},
            {"waiting", "Waiting (s)"}, {"last-message", "Since the last "
                                                          "message (s)"}};
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            form_reported_field(form, cols[i][0], cols[i][1]);
        form_reported_close(form);
    }
    for (struct desk_chat *c = d->chats; c; c = c->hh.next) {
        if (c->state == DESK_CHAT_ENDED)
            continue;
        const struct desk_queue *q = desk_queue_find(d, c->queue);
        if (!q || (only && q != only) || !supervises(d, asker, q))
            continue;
        /* Waiting in the queue, or for an answer. */
        int64_t waited = c->state == DESK_CHAT_WAITING
                             ? (int64_t)(now_ms - c->enqueued_ms) / 1000
                             : desk_chat_unanswered_s(c, now);
        int64_t quiet = c->last_message_us
                            ? (now - c->last_message_us) / 1000000
                            : -1;
        char w[16], l[16], ws[24], ls[24], id[24];
        desk_age_text(waited, w, sizeof w);
        if (quiet >= 0)
            desk_age_text(quiet, l, sizeof l);
        snprintf(ws, sizeof ws, "%lld", (long long)waited);
        snprintf(ls, sizeof ls, "%lld", (long long)quiet);
        snprintf(id, sizeof id, "%lld", (long long)c->id);
        buf_printf(&ctext, "\n#%s %s %s %s %s: waiting %s, last message %s",
                   id, c->queue, state_name(c),
                   c->owner_jid ? c->owner_jid : "unassigned",
                   c->customer_name ? c->customer_name : "customer",
                   waited ? w : "-", quiet >= 0 ? l : "-");
        if (form) {
            form_item_open(form);
            form_item_value(form, "ticket", id);
            form_item_value(form, "queue", c->queue);
            form_item_value(form, "state", state_name(c));
            form_item_value(form, "owner", c->owner_jid);
            form_item_value(form, "customer", c->customer_name);
            form_item_value(form, "waiting", ws);
            form_item_value(form, "last-message", quiet >= 0 ? ls : NULL);
            form_item_close(form);
        }
        chats++;
    }
    if (form)
        form_close(form);
    /* The agents are in the text: one command result holds one table. */
    for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
        if ((only && q != only) || !supervises(d, asker, q))
            continue;
        for (size_t i = 0; i < q->member_count; i++) {
            const struct desk_member *m = &q->members[i];
            char load[32];
            snprintf(load, sizeof load, "%d/%d",
                     m->staff ? m->staff->active : 0, m->max_chats);
            buf_printf(&atext, "\n%s %s %s %s", q->name, m->jid,
                       member_state(m), load);
            agents++;
        }
    }
    buf_printf(text, "%zu chat(s):%s\n%zu member(s):%s", chats,
               buf_cstr(&ctext), agents, buf_cstr(&atext));
    buf_free(&ctext);
    buf_free(&atext);
}

int desk_cmd_board(struct desk_call *call, const char *args, struct xerr *err)
{
    (void)args;
    (void)err;
    board(call->desk, call->actor, call->queue, call->reply, NULL);
    return 0;
}

static int board_step(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    (void)err;
    struct buf text = BUF_INIT, form = BUF_INIT;
    board(d, st->asker, NULL, &text, &form);
    adhoc_note(st, "info", "%s", buf_cstr(&text));
    buf_append(st->payload, form.data ? form.data : "", form.len);
    buf_free(&text);
    buf_free(&form);
    return 0;
}

int desk_adhoc_juggling_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"my-chats", "My chats", NULL, desk_visible_staff, my_chats, NULL, d},
        {"board", "Board: every chat and agent of my queues", NULL,
         desk_visible_supervisor, board_step, NULL, d},
    };
    return adhoc_register_all(d->adhoc, cmds, sizeof cmds / sizeof cmds[0]);
}
