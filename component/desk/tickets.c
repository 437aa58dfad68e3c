/* The ticket commands after the chat (see tickets.h; PRODUCT.md §4).
 *
 * Each request becomes a ticket_job: its arguments are checked here, on
 * the XMPP thread (the same field=value rules for a form and for a text
 * command), its SQL runs on the DB thread (ticketdb.c), and the answer is
 * written back as a note and a XEP-0004 result (ad-hoc) or as text in the
 * room (desk_later).  The queues the asker may see travel with the job:
 * PostgreSQL refuses a ticket outside them exactly as a missing one. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/dbops.h"
#include "desk/directory.h"
#include "desk/forms.h"
#include "desk/mail.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/text.h"
#include "desk/ticket_args.h"
#include "desk/ticketdb.h"
#include "desk/tickets.h"
#include "desk/transcript.h"
#include "muc/muc.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stamp.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)
#define SHOW_EVENTS 15            /* `ticket`: the latest lines shown */
#define SHOW_LOAD_MAX 5000
#define REPLY_MAX 8000            /* bytes of a ticket-reply's text */
#define STRINGS_MAX 16

enum job_kind { JOB_LIST, JOB_SHOW, JOB_UPDATE, JOB_REPLY };

struct ticket_job {
    enum job_kind kind;
    struct desk *desk;
    struct adhoc_reply *reply;    /* answered as an ad-hoc command, or */
    struct desk_later *later;     /* as a text command */
    char asker[BARE_MAX];
    const char **queues;          /* visible queues (strings in names) */
    char *names;
    size_t queue_count;
    bool all;                     /* an admin: every queue */
    char *strings[STRINGS_MAX];   /* owned copies of the arguments */
    size_t nstrings;
    bool oom;
    int64_t id;
    /* JOB_LIST */
    struct desk_ticket_filter filter;
    struct desk_found *found;
    size_t count;
    long total;
    /* JOB_SHOW */
    struct desk_transcript t;
    /* JOB_UPDATE */
    struct desk_ticket_change change;
    struct desk_ticket_updated updated;
    char key[64];
    char requeued_to[128];        /* a live chat put back to waiting here */
    /* JOB_REPLY */
    const char *text;
    char nick[128];
};

static void job_free(struct ticket_job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->nstrings; i++)
        free(j->strings[i]);
    free(j->queues);
    free(j->names);
    desk_found_free(j->found, j->count);
    desk_transcript_free(&j->t);
    free(j);
}

/* A copy the job owns (NULL and j->oom if out of memory or room). */
static const char *keep(struct ticket_job *j, const char *s)
{
    char *c = j->nstrings < STRINGS_MAX ? strdup(s) : NULL;
    if (!c) {
        j->oom = true;
        return NULL;
    }
    j->strings[j->nstrings++] = c;
    return c;
}

/* The queues the asker is staff of (all for admins), copied. */
static struct ticket_job *job_new(struct desk *d, enum job_kind kind,
                                  const char *asker)
{
    struct ticket_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = kind;
    j->desk = d;
    utf8_snprintf(j->asker, sizeof j->asker, "%s", asker);
    j->all = config_is_admin(d->cfg, asker);
    size_t n = 0, len = 0;
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        if (desk_authz_allows(desk_role_for(d, asker, q, NULL),
                              DESK_ACT_READ_TICKET)) {
            n++;
            len += strlen(q->name) + 1;
        }
    j->queues = calloc(n + 1, sizeof *j->queues);
    j->names = malloc(len + 1);
    if (!j->queues || !j->names) {
        job_free(j);
        return NULL;
    }
    char *p = j->names;
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        if (desk_authz_allows(desk_role_for(d, asker, q, NULL),
                              DESK_ACT_READ_TICKET)) {
            size_t l = strlen(q->name) + 1;
            memcpy(p, q->name, l);
            j->queues[j->queue_count++] = p;
            p += l;
        }
    return j;
}

static const char *const *visible(const struct ticket_job *j)
{
    return j->all ? NULL : j->queues;
}

/* A ticket still in memory is checked against its queue now (it may have
 * moved since PostgreSQL last heard); the others by the query. */
static int check_chat(struct desk *d, const char *asker, int64_t id,
                      struct xerr *err)
{
    struct desk_chat *c = desk_chat_find(d, id);
    if (c && desk_authorize(d, asker, DESK_ACT_READ_TICKET,
                            desk_queue_find(d, c->queue), NULL, err) < 0)
        return -1;
    return 0;
}

/* ---- arguments (the same for forms and text) ------------------------------------ */

/* Bad input: -1 with the text naming what is wrong. */
#define BAD(err, ...) (xerr_set((err), XERR_BAD_REQUEST, __VA_ARGS__), -1)

static int list_arg(struct ticket_job *j, const char *field, const char *v,
                    struct xerr *err)
{
    struct desk_ticket_filter *f = &j->filter;
    if (strcmp(field, "queue") == 0) {
        if (!desk_queue_find(j->desk, v))
            return BAD(err, "queue: no queue named %s", v);
        f->queue = keep(j, v);
    } else if (strcmp(field, "status") == 0) {
        char st[16];
        if (strcasecmp(v, "any") == 0)
            f->status = NULL;
        else if (strcasecmp(v, "open") == 0)
            f->status = "OPEN";
        else if (desk_parse_status(v, st, sizeof st) == 0)
            f->status = keep(j, st);
        else
            return BAD(err, "%s: open, queued, inprogress, resolved or any",
                       "status");
    } else if (strcmp(field, "owner") == 0) {
        char who[BARE_MAX];
        bool none, any;
        if (desk_owner_arg(j->asker, v, who, sizeof who, &none, &any) < 0)
            return BAD(err, "%s: me, none, any or a JID", "owner");
        f->unassigned = none;
        f->owner = none || any ? NULL : keep(j, who);
    } else if (strcmp(field, "text") == 0) {
        f->text = keep(j, v);
    } else if (strcmp(field, "age") == 0) {
        if (desk_parse_age(v, &f->age_s, &f->older) < 0)
            return BAD(err, "%s: like 30m, 12h, 3d, 2w (at most that old) or "
                            ">3d (older)", "age");
    } else if (strcmp(field, "max") == 0) {
        long n;
        if (desk_parse_int(v, 1, 200, &n) < 0)
            return BAD(err, "%s: 1 to 200", "max");
        f->limit = (int)n;
    } else {
        return BAD(err, "Unknown field %s: queue, status, owner, text, age "
                        "or max", field);
    }
    return 0;
}

static const char *keep_cb(void *ud, const char *s)
{
    return keep(ud, s);
}

static int update_arg(struct ticket_job *j, const char *field, const char *v,
                      struct xerr *err)
{
    char why[200];
    int rc = desk_ticket_change_set(&j->change, j->asker, field, v, keep_cb,
                                    j, why, sizeof why);
    if (rc == -1)
        return BAD(err, "%s", why);
    return 0; /* -2: j->oom, told by job_submit */
}

/* ---- answers ---------------------------------------------------------------- */

static void fail(struct ticket_job *j, const struct xerr *err)
{
    if (j->reply)
        adhoc_fail(j->reply, err);
    else
        desk_later_fail(j->later, err);
}

/* The database's answer as the caller's error; a ticket outside the
 * asker's queues reads exactly as a missing one. */
static void fail_db(struct ticket_job *j, int rc, const char *errtext)
{
    struct xerr err;
    if (rc == DESK_DB_NOT_FOUND) {
        desk_authz_refuse(&err);
    } else if (rc == DESK_DB_INVALID) {
        xerr_set(&err, XERR_BAD_REQUEST, "%s", errtext);
    } else if (rc == DESK_DB_LIVE_CHAT) {
        xerr_set(&err, XERR_CONFLICT, "%s", errtext);
    } else {
        log_warn(LOG, "ticket command: %s", errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The database is not reachable; try again later");
    }
    fail(j, &err);
}

/* text as a note (ad-hoc, then the result form the caller wrote into
 * `form`, if any) or in the room. */
static void answer(struct ticket_job *j, const char *text,
                   const struct buf *form)
{
    if (j->reply) {
        struct buf *out = adhoc_reply_payload(j->reply);
        buf_append_str(out, "<note type='info'>");
        xml_text(out, text);
        buf_append_str(out, "</note>");
        if (form && form->len)
            buf_append(out, form->data, form->len);
        adhoc_finish(j->reply);
    } else {
        desk_later_reply(j->later, text);
    }
}

static void list_answer(struct ticket_job *j)
{
    int64_t now = stamp_now_us();
    struct buf text = BUF_INIT, form = BUF_INIT;
    buf_printf(&text, "%zu ticket(s)", j->count);
    if (j->total > (long)j->count)
        buf_printf(&text, " of %ld (the oldest; narrow the filter for the "
                          "others)", j->total);
    if (j->reply) {
        form_open(&form, "result", NULL, "Tickets", NULL);
        form_reported_open(&form);
        static const char *const cols[][2] = {
            {"ticket", "Ticket"}, {"status", "Status"}, {"queue", "Queue"},
            {"owner", "Owner"}, {"customer", "Customer"},
            {"subject", "Subject"}, {"age", "Age"}};
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            form_reported_field(&form, cols[i][0], cols[i][1]);
        form_reported_close(&form);
    }
    for (size_t i = 0; i < j->count; i++) {
        const struct desk_found *f = &j->found[i];
        char id[24], age[16];
        snprintf(id, sizeof id, "%lld", (long long)f->id);
        desk_age_text((now - f->created_us) / 1000000, age, sizeof age);
        const char *who = f->customer_name   ? f->customer_name
                          : f->customer_email ? f->customer_email
                                              : "-";
        buf_printf(&text, "\n#%s %s %s %s %s %s: %s", id, f->status, f->queue,
                   age, f->owner_jid ? f->owner_jid : "unassigned", who,
                   f->subject ? f->subject : "");
        if (j->reply) {
            form_item_open(&form);
            form_item_value(&form, "ticket", id);
            form_item_value(&form, "status", f->status);
            form_item_value(&form, "queue", f->queue);
            form_item_value(&form, "owner", f->owner_jid);
            form_item_value(&form, "customer", who);
            form_item_value(&form, "subject", f->subject);
            form_item_value(&form, "age", age);
            form_item_close(&form);
        }
    }
    if (j->reply)
        form_close(&form);
    answer(j, buf_cstr(&text), &form);
    buf_free(&text);
    buf_free(&form);
}

static void show_answer(struct ticket_job *j)
{
    /* The fields, then the latest lines only: the transcript command and
     * mucdeskctl give the whole of it. */
    struct buf text = BUF_INIT, form = BUF_INIT;
    desk_transcript_latest_text(&j->t, SHOW_EVENTS, &text);
    if (j->reply) {
        const struct desk_ticket_row *t = &j->t.ticket;
        char title[64], id[24], prio[8], merged[24];
        snprintf(title, sizeof title, "Ticket #%lld", (long long)t->id);
        snprintf(id, sizeof id, "%lld", (long long)t->id);
        snprintf(prio, sizeof prio, "%d", t->priority);
        snprintf(merged, sizeof merged, "%lld", (long long)t->merged_into);
        form_open(&form, "result", NULL, title, NULL);
        const char *const fields[][3] = {
            {"ticket", "Ticket", id},
            {"status", "Status", t->status},
            {"queue", "Queue", t->queue},
            {"owner", "Owner", t->owner_jid},
            {"priority", "Priority", prio},
            {"subject", "Subject", t->subject},
            {"customer", "Customer", t->customer_name},
            {"email", "E-mail", t->customer_email},
            {"phone", "Phone", t->customer_phone},
            {"impact", "Impact", t->impact},
            {"ci", "Configuration item", t->ci},
            {"tags", "Tags", t->tags},
            {"solution", "Solution", t->solution},
            {"merged-into", "Merged into", t->merged_into ? merged : NULL},
        };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (fields[i][2])
                form_add(&form, fields[i][0], "text-single", fields[i][1],
                         fields[i][2]);
        form_add_lines(&form, "events", "text-multi", "Latest events",
                       buf_cstr(&text));
        form_close(&form);
    }
    char note[300];
    utf8_snprintf(note, sizeof note, "Ticket #%lld: %s in %s",
                  (long long)j->t.ticket.id,
                  j->t.ticket.status ? j->t.ticket.status : "-",
                  j->t.ticket.queue ? j->t.ticket.queue : "-");
    answer(j, j->reply ? note : buf_cstr(&text), &form);
    buf_free(&text);
    buf_free(&form);
}

/* A chat that ended but is still in memory (its room kept for staff)
 * takes the new values, so that a later snapshot of it (a rating, the
 * room going) does not write the old ones back. */
static void sync_chat(struct desk *d, const struct ticket_job *j)
{
    struct desk_chat *c = desk_chat_find(d, j->change.id);
    if (!c || c->state != DESK_CHAT_ENDED)
        return;
    const struct desk_ticket_updated *u = &j->updated;
    enum ticket_status st;
    if (ticket_status_parse(u->status, &st) == 0)
        c->status = st;
    if (strcmp(c->queue, u->queue) != 0) {
        char *q = strdup(u->queue);
        if (q) {
            free(c->queue);
            c->queue = q;
        }
    }
    if (strcmp(c->owner_jid ? c->owner_jid : "", u->owner) != 0) {
        char *o = u->owner[0] ? strdup(u->owner) : NULL;
        if (o || !u->owner[0]) {
            free(c->owner_jid);
            c->owner_jid = o;
        }
    }
    c->priority = u->priority;
}

static bool requeue_after(struct ticket_job *j);

static void update_answer(struct ticket_job *j)
{
    const struct desk_ticket_updated *u = &j->updated;
    char text[1300];
    if (j->requeued_to[0] && requeue_after(j))
        utf8_snprintf(text, sizeof text, "Ticket #%lld waits in queue %s "
                      "and is offered like a new chat%s%s.",
                      (long long)j->change.id, j->requeued_to,
                      u->changes ? "; " : "", u->changes ? u->summary : "");
    else if (j->requeued_to[0])
        utf8_snprintf(text, sizeof text, "Ticket #%lld: its chat ended "
                      "meanwhile, so it was not put back to waiting%s%s.",
                      (long long)j->change.id, u->changes ? "; " : "",
                      u->changes ? u->summary : "");
    else if (!u->changes)
        utf8_snprintf(text, sizeof text, "Ticket #%lld: nothing to change.",
                      (long long)j->change.id);
    else
        utf8_snprintf(text, sizeof text, "Ticket #%lld: %s.",
                      (long long)j->change.id, u->summary);
    sync_chat(j->desk, j);
    if (u->followup)
        desk_followup_poke(j->desk);
    log_info(LOG, "ticket %lld: updated by %s (%d change(s))",
             (long long)j->change.id, j->asker, u->changes);
    answer(j, text, NULL);
}

static void reply_answer(struct ticket_job *j)
{
    char text[200];
    snprintf(text, sizeof text, "Ticket #%lld: your reply is in the ticket "
                                "and is being mailed to the customer.",
             (long long)j->id);
    if (!j->desk->mailer)
        snprintf(text, sizeof text, "Ticket #%lld: your reply is in the "
                                    "ticket; it is mailed once [mail] from "
                                    "is set.",
                 (long long)j->id);
    log_info(LOG, "ticket %lld: reply by %s queued for mail",
             (long long)j->id, j->asker);
    desk_mail_poke(j->desk);
    answer(j, text, NULL);
}

/* ---- the DB thread, and back ---------------------------------------------------------- */

static int job_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct ticket_job *j = ud;
    switch (j->kind) {
    case JOB_LIST:
        j->filter.queues = visible(j);
        j->filter.queue_count = j->queue_count;
        return desk_db_tickets_list(conn, &j->filter, &j->found, &j->count,
                                    &j->total, err, errlen);
    case JOB_SHOW: {
        int rc = desk_db_ticket_visible(conn, j->id, visible(j),
                                        j->queue_count, err, errlen);
        return rc < 0 ? rc
                      : desk_db_transcript(conn, j->id, SHOW_LOAD_MAX, &j->t,
                                           err, errlen);
    }
    case JOB_UPDATE:
        j->change.queues = visible(j);
        j->change.queue_count = j->queue_count;
        return desk_db_ticket_update(conn, &j->change, &j->updated, err,
                                     errlen);
    case JOB_REPLY:
        return desk_db_ticket_reply(conn, j->id, j->asker, j->nick, j->text,
                                    j->key, visible(j), j->queue_count, err,
                                    errlen);
    }
    return DESK_DB_FAILED;
}

static void job_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct ticket_job *j = ud;
    (void)d;
    if (rc != DESK_DB_OK)
        fail_db(j, rc, errtext);
    else if (j->kind == JOB_LIST)
        list_answer(j);
    else if (j->kind == JOB_SHOW)
        show_answer(j);
    else if (j->kind == JOB_UPDATE)
        update_answer(j);
    else
        reply_answer(j);
    job_free(j);
}

/* Defers the answer (ad-hoc step or text call) and queues the SQL.  0, or
 * -1 with *err (j is freed either way). */
static int job_submit(struct ticket_job *j, struct adhoc_step *st,
                      struct desk_call *call, struct xerr *err)
{
    if (j->oom)
        goto oom;
    desk_make_stanza_id(j->desk, j->key, sizeof j->key);
    j->change.key = j->key;
    j->change.actor = j->asker;
    if (st) {
        j->reply = adhoc_defer(st);
        if (!j->reply)
            goto oom;
    } else {
        j->later = desk_call_defer(call);
        if (!j->later)
            goto oom;
    }
    if (desk_db_submit(j->desk, job_run, job_after, j, DESK_DB_TIMEOUT_MS) < 0) {
        /* An ad-hoc reply still deferred is the framework's when the step
         * returns -1. */
        desk_later_cancel(j->later);
        goto oom;
    }
    return 0;
oom:
    job_free(j);
    xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
    return -1;
}

/* A live chat's owner and priority are its room's (PostgreSQL would
 * refuse them too).  Back to QUEUED and another queue are taken here
 * rather than refused: the customer is in the room, so the chat waits
 * again (in the queue named, if one is) and is offered like a new one,
 * exactly as !forward and a requeue do.  The rest of the change (impact,
 * tags, a note...) goes to the database as for any ticket. */
static int live_change(struct ticket_job *j, struct xerr *err)
{
    struct desk_ticket_change *c = &j->change;
    struct desk_chat *chat = desk_chat_find(j->desk, c->id);
    if (!chat || chat->state == DESK_CHAT_ENDED)
        return 0;
    bool to_queued = c->status && strcmp(c->status, "QUEUED") == 0;
    if ((c->status && !to_queued) || c->owner || c->priority || c->merge_into) {
        xerr_set(err, XERR_CONFLICT,
                 "Ticket #%lld is a live chat: its owner, priority and end "
                 "change in its room (!take, !priority, !close); "
                 "status=queued or queue=NAME puts it back to waiting",
                 (long long)c->id);
        return -1;
    }
    if (!to_queued && !c->queue)
        return 0;
    struct desk *d = j->desk;
    struct desk_queue *from = desk_queue_find(d, chat->queue);
    struct desk_queue *q = c->queue ? desk_queue_find(d, c->queue) : from;
    if (!q)
        return BAD(err, "queue: no queue named %s", c->queue);
    /* The chat's own staff hand it on (as !forward from its room): being
     * staff of the target queue alone does not let one pull it over. */
    if (!from || !desk_authz_allows(desk_role_for(d, j->asker, from, NULL),
                                    DESK_ACT_SESSION)) {
        desk_authz_refuse(err);
        return -1;
    }
    /* Done once the rest of the change is stored (requeue_after): a
     * request that fails moves nothing. */
    utf8_snprintf(j->requeued_to, sizeof j->requeued_to, "%s", q->name);
    c->status = NULL;
    c->queue = NULL;
    return 0;
}

/* After the database took the rest of the change: the chat back to
 * waiting in the queue live_change checked, if it is still live there
 * (it may have ended or moved meanwhile: then nothing, and the answer
 * says so).  False if it could not be done. */
static bool requeue_after(struct ticket_job *j)
{
    struct desk *d = j->desk;
    struct desk_chat *chat = desk_chat_find(d, j->change.id);
    struct desk_queue *q = desk_queue_find(d, j->requeued_to);
    if (!chat || chat->state == DESK_CHAT_ENDED || !q)
        return false;
    if (!(chat->state == DESK_CHAT_WAITING && strcmp(chat->queue, q->name) == 0))
        desk_chat_requeue(chat, q, j->asker, "requeued by ticket-update");
    return true;
}

/* ---- ad-hoc commands ------------------------------------------------------------------- */

static int ticket_number(struct adhoc_step *st, int64_t *id, struct xerr *err)
{
    if (desk_parse_ticket(desk_form_text(st->form, "ticket"), id) < 0)
        return BAD(err, "%s: a ticket number", "ticket");
    return 0;
}

static const char *const status_filter[] = {
    "open", "Open (queued or in progress)", "queued", "Queued",
    "inprogress", "In progress", "resolved", "Resolved", "any", "Any", NULL};

static int adhoc_tickets(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    struct ticket_job *j = job_new(d, JOB_LIST, st->asker);
    if (!j) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    if (!st->form) {
        const char **opts = calloc(2 * j->queue_count + 3, sizeof *opts);
        if (!opts) {
            job_free(j);
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        opts[0] = "";
        opts[1] = j->all ? "All queues" : "All my queues";
        for (size_t i = 0; i < j->queue_count; i++) {
            const struct desk_queue *q = desk_queue_find(d, j->queues[i]);
            opts[2 + 2 * i] = j->queues[i];
            opts[3 + 2 * i] = q && q->title ? q->title : j->queues[i];
        }
        static const char *const owners[] = {
            "any", "Anyone or nobody", "me", "Me", "none", "Unassigned", NULL};
        form_open(st->payload, "form", "urn:mucdesk:tickets", "Tickets",
                  "The tickets of your queues, the longest waiting first.");
        form_add_choice(st->payload, "queue", "list-single", "Queue", "", opts,
                        false);
        form_add_choice(st->payload, "status", "list-single", "Status", "open",
                        status_filter, false);
        form_add_choice(st->payload, "owner", "list-single", "Owner", "any",
                        owners, false);
        form_add_field(st->payload, "text", "text-single", "Text", NULL, false,
                       "In the subject, the customer or the question");
        form_add_field(st->payload, "age", "text-single", "Age", NULL, false,
                       "3d: at most 3 days old; >3d: older");
        form_add_field(st->payload, "max", "text-single", "At most", "50",
                       false, NULL);
        form_close(st->payload);
        free(opts);
        job_free(j);
        desk_step_executing(st, 1);
        return 0;
    }
    j->filter.status = "OPEN";
    static const char *const fields[] = {"queue", "status", "owner", "text",
                                         "age", "max", NULL};
    for (const char *const *f = fields; *f; f++) {
        const char *v = desk_form_text(st->form, *f);
        if (*v && list_arg(j, *f, v, err) < 0) {
            job_free(j);
            return -1;
        }
    }
    if (j->filter.queue && !j->all &&
        !desk_authz_allows(desk_role_for(d, st->asker,
                                         desk_queue_find(d, j->filter.queue),
                                         NULL),
                           DESK_ACT_READ_TICKET)) {
        job_free(j);
        desk_authz_refuse(err);
        return -1;
    }
    return job_submit(j, st, NULL, err);
}

static int ticket_form(struct adhoc_step *st, const char *title)
{
    form_open(st->payload, "form", NULL, title, NULL);
    form_add_field(st->payload, "ticket", "text-single", "Ticket", NULL, true,
                   NULL);
    return 0;
}

static int adhoc_ticket(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        ticket_form(st, "A ticket");
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    int64_t id;
    if (ticket_number(st, &id, err) < 0 || check_chat(d, st->asker, id, err) < 0)
        return -1;
    struct ticket_job *j = job_new(d, JOB_SHOW, st->asker);
    if (!j) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    j->id = id;
    return job_submit(j, st, NULL, err);
}

static int adhoc_ticket_update(void *ud, struct adhoc_step *st,
                               struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        const char **queues = desk_queue_options(d);
        const char **opts = NULL;
        size_t n = 0;
        while (queues && queues[2 * n])
            n++;
        opts = queues ? calloc(2 * n + 3, sizeof *opts) : NULL;
        if (!opts) {
            free(queues);
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        opts[0] = "";
        opts[1] = "Unchanged";
        memcpy(opts + 2, queues, 2 * n * sizeof *opts);
        free(queues);
        static const char *const statuses[] = {
            "", "Unchanged", "queued", "Queued", "inprogress", "In progress",
            "resolved", "Resolved", NULL};
        static const char *const priorities[] = {
            "", "Unchanged", "1", "1 (highest)", "2", "2", "3", "3", "4", "4",
            "5", "5 (lowest)", NULL};
        ticket_form(st, "Update a ticket");
        form_add_choice(st->payload, "status", "list-single", "Status", "",
                        statuses, false);
        form_add_field(st->payload, "owner", "text-single", "Owner", NULL,
                       false, "me, none, or a JID");
        form_add_choice(st->payload, "queue", "list-single", "Queue", "", opts,
                        false);
        form_add_choice(st->payload, "priority", "list-single", "Priority", "",
                        priorities, false);
        static const char *const texts[][2] = {
            {"impact", "Impact"}, {"ci", "Configuration item"},
            {"tags", "Tags (comma-separated)"}, {"solution", "Solution"}};
        for (size_t i = 0; i < 4; i++)
            form_add_field(st->payload, texts[i][0], "text-single",
                           texts[i][1], NULL, false, "- clears it");
        form_add_field(st->payload, "note", "text-multi", "Note (staff only)",
                       NULL, false, NULL);
        form_add_field(st->payload, "merge-into", "text-single",
                       "Merge into ticket", NULL, false,
                       "Its events move there; this one is resolved");
        form_close(st->payload);
        free(opts);
        desk_step_executing(st, 1);
        return 0;
    }
    int64_t id;
    if (ticket_number(st, &id, err) < 0 || check_chat(d, st->asker, id, err) < 0)
        return -1;
    struct ticket_job *j = job_new(d, JOB_UPDATE, st->asker);
    if (!j) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    j->change.id = id;
    static const char *const fields[] = {"status", "owner", "queue",
                                         "priority", "impact", "ci", "tags",
                                         "solution", "merge-into", NULL};
    for (const char *const *f = fields; *f; f++) {
        const char *v = desk_form_text(st->form, *f);
        if (*v && update_arg(j, *f, v, err) < 0) {
            job_free(j);
            return -1;
        }
    }
    struct buf note = BUF_INIT;
    desk_form_lines(st->form, "note", "\n", &note);
    int rc = note.len ? update_arg(j, "note", buf_cstr(&note), err) : 0;
    buf_free(&note);
    if (rc < 0 || live_change(j, err) < 0) {
        job_free(j);
        return -1;
    }
    return job_submit(j, st, NULL, err);
}

/* The transcript names the writer by their nick in the chat, else the
 * local part of their JID. */
static void reply_nick(struct ticket_job *j, const char *nick)
{
    if (nick && *nick) {
        utf8_snprintf(j->nick, sizeof j->nick, "%s", nick);
        return;
    }
    const char *at = strchr(j->asker, '@');
    size_t len = at ? (size_t)(at - j->asker) : strlen(j->asker);
    utf8_snprintf(j->nick, sizeof j->nick, "%.*s",
                  utf8_prec(j->asker, len < 100 ? len : 100), j->asker);
}

static int reply_text(struct ticket_job *j, const char *text,
                      struct xerr *err)
{
    size_t len = strlen(text);
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\n'))
        len--;
    if (!len)
        return BAD(err, "%s: what to write to the customer", "text");
    if (len > REPLY_MAX)
        return BAD(err, "%s: at most 8000 bytes", "text");
    /* bytes: less the trailing ASCII space */
    char *t = strndup(text, len);
    if (!t || j->nstrings >= STRINGS_MAX) {
        free(t);
        j->oom = true;
        return 0;
    }
    j->strings[j->nstrings++] = t;
    j->text = t;
    return 0;
}

static int adhoc_ticket_reply(void *ud, struct adhoc_step *st,
                              struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        ticket_form(st, "Reply to the customer by e-mail");
        form_add_field(st->payload, "text", "text-multi", "Text", NULL, true,
                       "Mailed to the ticket's customer address, with "
                       "[Ticket#N] in the subject");
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    int64_t id;
    if (ticket_number(st, &id, err) < 0 || check_chat(d, st->asker, id, err) < 0)
        return -1;
    struct ticket_job *j = job_new(d, JOB_REPLY, st->asker);
    if (!j) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    j->id = id;
    reply_nick(j, NULL);
    struct buf text = BUF_INIT;
    desk_form_lines(st->form, "text", "\n", &text);
    int rc = reply_text(j, buf_cstr(&text), err);
    buf_free(&text);
    if (rc < 0) {
        job_free(j);
        return -1;
    }
    return job_submit(j, st, NULL, err);
}

int desk_adhoc_tickets_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"tickets", "Tickets of my queues", NULL, desk_visible_staff,
         adhoc_tickets, NULL, d},
        {"ticket", "A ticket", NULL, desk_visible_staff, adhoc_ticket, NULL,
         d},
        {"ticket-update", "Update a ticket", NULL, desk_visible_staff,
         adhoc_ticket_update, NULL, d},
        {"ticket-reply", "Reply to a ticket's customer by e-mail", NULL,
         desk_visible_staff, adhoc_ticket_reply, NULL, d},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (adhoc_register(d->adhoc, &cmds[i]) < 0)
            return -1;
    return 0;
}

/* ---- text commands --------------------------------------------------------------------- */

/* N from the arguments, or this session room's ticket; *args moves past
 * it. */
static int call_ticket(struct desk_call *call, const char **args, int64_t *id,
                       const char *usage, struct xerr *err)
{
    const char *p = *args;
    char word[32];
    size_t n = strcspn(p, " \t");
    if (n && n < sizeof word) {
        memcpy(word, p, n);
        word[n] = '\0';
        if (desk_parse_ticket(word, id) == 0) {
            p += n;
            while (*p == ' ' || *p == '\t')
                p++;
            *args = p;
            return check_chat(call->desk, call->actor, *id, err);
        }
    }
    if (call->place == DESK_IN_SESSION && call->chat) {
        *id = call->chat->id;
        return 0;
    }
    xerr_set(err, XERR_BAD_REQUEST, "Usage: %s", usage);
    return -1;
}

static int oom(struct xerr *err)
{
    xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
    return -1;
}

/* Each field=value of args through set(). */
static int each_kv(struct ticket_job *j, const char *args,
                   int (*set)(struct ticket_job *, const char *, const char *,
                              struct xerr *),
                   const char *usage, struct xerr *err)
{
    char field[32], value[4097]; /* a note: 4000 bytes */
    int r;
    while ((r = desk_kv_next(&args, field, sizeof field, value,
                             sizeof value)) == 1)
        if (set(j, field, value, err) < 0)
            return -1;
    if (r < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Not field=value: %.*s; usage: %s",
                 utf8_prec(args, 60), args, usage);
        return -1;
    }
    return 0;
}

int desk_cmd_tickets(struct desk_call *call, const char *args,
                     struct xerr *err)
{
    static const char usage[] =
        "!tickets [queue=Q] [status=open|queued|inprogress|resolved|any] "
        "[owner=me|none|any|JID] [text=\"...\"] [age=3d|>3d] [max=N]";
    struct ticket_job *j = job_new(call->desk, JOB_LIST, call->actor);
    if (!j)
        return oom(err);
    j->filter.status = "OPEN";
    /* In a queue room: that queue's, unless another is named. */
    if (call->place == DESK_IN_QUEUE && call->queue)
        j->filter.queue = keep(j, call->queue->name);
    if (each_kv(j, args, list_arg, usage, err) < 0) {
        job_free(j);
        return -1;
    }
    if (j->filter.queue && !j->all &&
        !desk_authz_allows(desk_role_for(call->desk, call->actor,
                                         desk_queue_find(call->desk,
                                                         j->filter.queue),
                                         NULL),
                           DESK_ACT_READ_TICKET)) {
        job_free(j);
        desk_authz_refuse(err);
        return -1;
    }
    return job_submit(j, NULL, call, err);
}

int desk_cmd_ticket(struct desk_call *call, const char *args,
                    struct xerr *err)
{
    int64_t id;
    if (call_ticket(call, &args, &id, "!ticket N", err) < 0)
        return -1;
    struct ticket_job *j = job_new(call->desk, JOB_SHOW, call->actor);
    if (!j)
        return oom(err);
    j->id = id;
    return job_submit(j, NULL, call, err);
}

int desk_cmd_ticket_update(struct desk_call *call, const char *args,
                           struct xerr *err)
{
    static const char usage[] =
        "!ticket-update N field=value... (status, owner, queue, priority, "
        "impact, ci, tags, solution, note, merge-into; \"quote\" blanks)";
    int64_t id;
    if (call_ticket(call, &args, &id, usage, err) < 0)
        return -1;
    if (!*args) {
        xerr_set(err, XERR_BAD_REQUEST, "Usage: %s", usage);
        return -1;
    }
    struct ticket_job *j = job_new(call->desk, JOB_UPDATE, call->actor);
    if (!j)
        return oom(err);
    j->change.id = id;
    if (each_kv(j, args, update_arg, usage, err) < 0 ||
        live_change(j, err) < 0) {
        job_free(j);
        return -1;
    }
    return job_submit(j, NULL, call, err);
}

int desk_cmd_ticket_reply(struct desk_call *call, const char *args,
                          struct xerr *err)
{
    int64_t id;
    if (call_ticket(call, &args, &id, "!ticket-reply N TEXT", err) < 0)
        return -1;
    struct ticket_job *j = job_new(call->desk, JOB_REPLY, call->actor);
    if (!j)
        return oom(err);
    j->id = id;
    reply_nick(j, call->occ ? muc_occupant_nick(call->occ) : NULL);
    if (reply_text(j, args, err) < 0) {
        job_free(j);
        return -1;
    }
    return job_submit(j, NULL, call, err);
}
