/* Ad-hoc commands for agents and supervisors (PRODUCT.md §4) beyond the
 * text commands' forms (adhoc_cmds.c):
 *
 *   my-chats          the chats you own, are offered, or are in
 *   set-availability  take new chats or not (on top of your presence)
 *   canned            a canned response into a chat: which ticket, then
 *                     which response (the queue's list)
 *   transcript        a ticket's transcript as text (tickets of your
 *                     queues; admins: all), from PostgreSQL
 *
 * Each checks authz on the queue of the ticket concerned; a ticket that
 * does not exist and one the asker may not see get the same refusal. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/canned.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/dbops.h"
#include "desk/directory.h"
#include "desk/events.h"
#include "desk/forms.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/text.h"
#include "desk/transcript.h"
#include "desk/transcript_pdf.h"
#include "muc/muc.h"
#include "plugin.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)
/* A transcript in a form: beyond this many lines, mucdeskctl exports it. */
#define TRANSCRIPT_MAX_EVENTS 2000

/* The chat named by a form's `ticket` if the asker may `act` on it. */
static struct desk_chat *ticket_field(struct desk *d, struct adhoc_step *st,
                                      enum desk_action act, struct xerr *err)
{
    long id;
    const char *t = desk_form_text(st->form, "ticket");
    if (desk_parse_int(t[0] == '#' ? t + 1 : t, 1, INT64_MAX / 2, &id) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "ticket: a ticket number");
        return NULL;
    }
    struct desk_chat *c = desk_chat_find(d, (int64_t)id);
    struct desk_queue *q = c ? desk_queue_find(d, c->queue) : NULL;
    if (!c || desk_authorize(d, st->asker, act, q, NULL, err) < 0) {
        desk_authz_refuse(err);
        return NULL;
    }
    return c;
}

/* ---- my-chats ------------------------------------------------------------------- */

/* ---- set-availability ------------------------------------------------------------ */

/* Whether any of jid's memberships takes chats, and whether it has any. */
static bool takes_any(struct desk *d, const char *jid, bool *member)
{
    bool takes = false;
    *member = false;
    struct desk_queue *q, *tmp;
    HASH_ITER(hh, d->queues, q, tmp) {
        const struct desk_member *m = desk_member_find(q, jid);
        if (m) {
            *member = true;
            takes = takes || m->takes_chats;
        }
    }
    return takes;
}

/* The "takes chats" change is written; the payload holds the notes. */
static void takes_written(void *ud, int rc, const char *errtext)
{
    struct adhoc_reply *r = ud;
    struct xerr err;
    if (rc == DESK_DB_OK) {
        adhoc_finish(r);
        return;
    }
    if (rc == DESK_DB_NOT_FOUND) {
        xerr_set(&err, XERR_BAD_REQUEST, "takes-chats: %s", errtext);
    } else {
        log_warn(LOG, "takes-chats change failed: %s", errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The database is not reachable; try again later");
    }
    adhoc_fail(r, &err);
}

static void note_into(struct buf *out, const char *text)
{
    buf_append_str(out, "<note type='info'>");
    xml_text(out, text);
    buf_append_str(out, "</note>");
}

/* set-availability's form: availability, and whether to take chats at all
 * for members of a queue. */
static void availability_form(struct desk *d, struct adhoc_step *st,
                              const struct desk_staff *s)
{
    static const char *const options[] = {
        "available", "Available: offer me new chats",
        "busy", "Busy: no new chats for now", NULL};
    static const char *const takes_options[] = {
        "yes", "Yes: offer me chats", "no", "No: I only watch",
        "role", "As my role says (agents yes, supervisors no)", NULL};
    form_open(st->payload, "form", "urn:mucdesk:availability",
              "Your availability",
              "Busy keeps new chats away even while your presence says "
              "available; your chats go on.");
    form_add_choice(st->payload, "availability", "list-single",
                    "Availability", s->busy ? "busy" : "available",
                    options, true);
    bool member;
    bool takes = takes_any(d, st->asker, &member);
    if (member)
        form_add_choice(st->payload, "takes-chats", "list-single",
                        "Take chats at all (in every queue of mine)",
                        takes ? "yes" : "no", takes_options, false);
    form_close(st->payload);
    desk_step_executing(st, 1);
}

/* Takes-chats, stored for every membership of the asker (the directory's
 * reload, in every running mucdesk, applies it to routing); answered
 * later with busy_text and what it means.  0, or -1 with *err. */
static int write_takes(struct desk *d, struct adhoc_step *st,
                       const char *busy_text, enum desk_takes takes,
                       struct xerr *err)
{
    struct adhoc_reply *r = adhoc_defer(st);
    if (!r) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    struct buf *out = adhoc_reply_payload(r);
    note_into(out, busy_text);
    note_into(out, takes == DESK_TAKES_NO
                       ? "You take no chats: none is offered to you, whatever "
                         "your availability."
                   : takes == DESK_TAKES_YES
                       ? "You take chats: they are offered to you when you are "
                         "available."
                       : "You take chats as your role says: agents do, "
                         "supervisors do not.");
    struct desk_agent_row row = {.jid = (char *)st->asker, .takes_chats = takes};
    if (desk_dir_write(d, "takes-chats", NULL, &row, takes_written, r) < 0) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    log_info(LOG, "%s: takes chats = %s", st->asker, desk_takes_name(takes));
    return 0;
}

static int set_availability(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    struct desk_staff *s = desk_staff_get(d, st->asker);
    if (!s) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    if (!st->form) {
        availability_form(d, st, s);
        return 0;
    }
    const char *v = desk_form_text(st->form, "availability");
    if (*v && strcmp(v, "available") != 0 && strcmp(v, "busy") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "availability: available or busy");
        return -1;
    }
    const char *tv = desk_form_text(st->form, "takes-chats");
    enum desk_takes takes;
    if (desk_takes_parse(tv, &takes) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "takes-chats: yes, no or role");
        return -1;
    }
    if (!*v && !*tv) {
        xerr_set(err, XERR_BAD_REQUEST, "availability: available or busy");
        return -1;
    }
    if (!*v)
        v = s->busy ? "busy" : "available";
    bool busy = strcmp(v, "busy") == 0;
    if (busy != s->busy) {
        s->busy = busy;
        log_info(LOG, "%s is now %s", st->asker, v);
        /* Offers wait for nobody who is busy; freed capacity routes. */
        desk_events_emit(d, &(struct desk_event){
                                .kind = DESK_EV_AGENT_STATE,
                                .actor = s->jid,
                                .agent_state = {s, busy}});
    }
    const char *busy_text = busy ? "You are busy: no new chats are offered "
                                   "to you."
                                 : "You are available: new chats are offered "
                                   "to you again.";
    if (!*tv) {
        adhoc_note(st, "info", "%s", busy_text);
        return 0;
    }
    return write_takes(d, st, busy_text, takes, err);
}

/* ---- canned --------------------------------------------------------------------- */

/* The canned responses the chat's queue has (its own first), to choose
 * from.  0, or -1 with *err. */
static int canned_choice_form(struct desk *d, struct adhoc_step *st,
                              const struct desk_chat *c, struct xerr *err)
{
    size_t n = 0;
    const char **opts = calloc(2 * d->canned_count + 1, sizeof *opts);
    char (*labels)[80] = calloc(d->canned_count + 1, sizeof *labels);
    if (!opts || !labels) {
        free(opts);
        free(labels);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    for (size_t i = 0; i < d->canned_count; i++) {
        const struct desk_canned *cr = &d->canned[i];
        if (desk_canned_find(d, c->queue, cr->name) != cr)
            continue;
        utf8_snprintf(labels[n], sizeof labels[n], "%s: %.*s", cr->name,
                      utf8_prec(cr->body, 60), cr->body);
        opts[2 * n] = cr->name;
        opts[2 * n + 1] = labels[n];
        n++;
    }
    char title[80];
    snprintf(title, sizeof title, "Canned response for ticket #%lld",
             (long long)c->id);
    form_open(st->payload, "form", NULL, title,
              n ? NULL : "This queue has no canned responses.");
    form_add_choice(st->payload, "name", "list-single", "Response", NULL,
                    opts, true);
    form_close(st->payload);
    free(opts);
    free(labels);
    desk_step_executing(st, 1);
    st->actions = ADHOC_ACT_PREV | ADHOC_ACT_COMPLETE;
    return 0;
}

static int canned(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    int64_t *ticket = st->data;
    if (st->stage == 0 && !st->form) {
        form_open(st->payload, "form", NULL, "Send a canned response",
                  "Which chat?");
        form_add_field(st->payload, "ticket", "text-single", "Ticket", NULL,
                       true, NULL);
        form_close(st->payload);
        desk_step_executing(st, 0);
        /* complete: a script sending the ticket and the name at once. */
        st->actions = ADHOC_ACT_NEXT | ADHOC_ACT_COMPLETE;
        st->default_action = ADHOC_ACT_NEXT;
        return 0;
    }
    if (st->stage == 0) {
        struct desk_chat *c = ticket_field(d, st, DESK_ACT_SESSION, err);
        if (!c)
            return -1;
        if (!ticket && !(ticket = calloc(1, sizeof *ticket))) {
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        st->data = ticket;
        *ticket = c->id;
        if (!form_field(st->form, "name")) {
            st->form = NULL;
            st->stage = 1;
        }
    }
    struct desk_chat *c = ticket ? desk_chat_find(d, *ticket) : NULL;
    if (!c) {
        desk_authz_refuse(err);
        return -1;
    }
    if (!st->form)
        return canned_choice_form(d, st, c, err);
    const char *name = desk_form_text(st->form, "name");
    if (!*name) {
        xerr_set(err, XERR_BAD_REQUEST, "name: which response?");
        return -1;
    }
    char line[120];
    utf8_snprintf(line, sizeof line, "/canned %.*s", utf8_prec(name, 100),
                  name);
    return desk_adhoc_run_line(d, st, c, DESK_IN_SESSION, line, err);
}

/* ---- transcript ------------------------------------------------------------------ */

struct transcript_job {
    struct adhoc_reply *reply;
    int64_t id;
    bool pdf;                     /* as a PDF file (transcript_pdf.c) */
    char asker[BARE_MAX];
    struct desk_transcript t;
};

static int transcript_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct transcript_job *j = ud;
    return desk_db_transcript(conn, j->id, TRANSCRIPT_MAX_EVENTS, &j->t, err,
                              errlen);
}

static void transcript_after(struct desk *d, void *ud, int rc,
                             const char *errtext)
{
    struct transcript_job *j = ud;
    struct xerr err;
    struct desk_queue *q = rc == DESK_DB_OK ? desk_queue_find(d, j->t.ticket.queue)
                                            : NULL;
    if (rc == DESK_DB_NOT_FOUND ||
        (rc == DESK_DB_OK &&
         !desk_authz_allows(desk_role_for(d, j->asker, q, NULL),
                            DESK_ACT_READ_TICKET))) {
        /* Missing and not allowed look alike. */
        desk_authz_refuse(&err);
        adhoc_fail(j->reply, &err);
    } else if (rc != DESK_DB_OK) {
        log_warn(LOG, "transcript of ticket %lld: %s", (long long)j->id,
                 errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The database is not reachable; try again later");
        adhoc_fail(j->reply, &err);
    } else if (j->pdf) {
        desk_transcript_pdf_start(d, j->reply, j->id, j->asker);
    } else {
        struct buf text = BUF_INIT;
        desk_transcript_text(&j->t, DESK_VIEW_STAFF, &text);
        struct buf *out = adhoc_reply_payload(j->reply);
        char title[64];
        snprintf(title, sizeof title, "Transcript of ticket #%lld",
                 (long long)j->id);
        form_open(out, "result", NULL, title, NULL);
        form_add_lines(out, "transcript", "text-multi", "Transcript",
                       buf_cstr(&text));
        form_close(out);
        buf_free(&text);
        adhoc_finish(j->reply);
    }
    desk_transcript_free(&j->t);
    free(j);
}

static int transcript(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        static const char *const formats[] = {
            "text", "Text, here", "pdf", "PDF: a link to the file", NULL};
        form_open(st->payload, "form", NULL, "Transcript of a ticket", NULL);
        form_add_field(st->payload, "ticket", "text-single", "Ticket", NULL,
                       true, NULL);
        if (d->has_file_store)
            form_add_choice(st->payload, "format", "list-single", "Format",
                            "text", formats, false);
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    long id;
    const char *t = desk_form_text(st->form, "ticket");
    if (desk_parse_int(t[0] == '#' ? t + 1 : t, 1, INT64_MAX / 2, &id) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "ticket: a ticket number");
        return -1;
    }
    /* A chat still in memory is checked now (its queue may have changed
     * since the database last heard); others once the row is read. */
    struct desk_chat *c = desk_chat_find(d, (int64_t)id);
    if (c && desk_authorize(d, st->asker, DESK_ACT_READ_TICKET,
                            desk_queue_find(d, c->queue), NULL, err) < 0)
        return -1;
    const char *format = desk_form_text(st->form, "format");
    bool pdf = strcmp(format, "pdf") == 0;
    if (*format && !pdf && strcmp(format, "text") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "format: text or pdf");
        return -1;
    }
    if (pdf && desk_transcript_pdf_check(d, err) < 0)
        return -1;
    struct transcript_job *j = calloc(1, sizeof *j);
    if (!j) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    j->id = id;
    j->pdf = pdf;
    utf8_snprintf(j->asker, sizeof j->asker, "%s", st->asker);
    j->reply = adhoc_defer(st);
    if (!j->reply || desk_db_submit(d, transcript_run, transcript_after, j,
                                    DESK_DB_TIMEOUT_MS) < 0) {
        free(j);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    return 0;
}

/* ---- the plugins' session commands --------------------------------------------- */

struct plugin_cmd {
    struct desk *desk;
    const struct mucdesk_command_info *info;
};

static bool plugin_visible(void *ud, const char *asker, const char *target)
{
    return desk_visible_staff(((struct plugin_cmd *)ud)->desk, asker, target);
}

static int plugin_step(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct plugin_cmd *pc = ud;
    struct desk *d = pc->desk;
    if (!st->form) {
        form_open(st->payload, "form", NULL, pc->info->description, NULL);
        form_add_field(st->payload, "ticket", "text-single", "Ticket", NULL,
                       true, NULL);
        form_add_field(st->payload, "args", "text-single", "Arguments", NULL,
                       false, pc->info->usage);
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    struct desk_chat *c = ticket_field(d, st, DESK_ACT_SESSION, err);
    if (!c)
        return -1;
    char line[600];
    const char *args = desk_form_text(st->form, "args");
    utf8_snprintf(line, sizeof line, "/%s %.*s", pc->info->name,
                  utf8_prec(args, 500), args);
    return desk_adhoc_run_line(d, st, c, DESK_IN_SESSION, line, err);
}

static int register_plugin_commands(struct desk *d)
{
    size_t n = 0;
    for (struct desk_plugin_ref *p = d->plugins; p; p = p->next)
        for (const struct mucdesk_command_info *i = p->plugin->commands;
             p->feature && p->plugin->command && i && i->name; i++)
            n += i->place == MUCDESK_IN_SESSION;
    struct plugin_cmd *uds = calloc(n + 1, sizeof *uds);
    if (!uds)
        return -1;
    d->plugin_cmd_data = uds; /* freed by desk_free */
    size_t k = 0;
    for (struct desk_plugin_ref *p = d->plugins; p; p = p->next)
        for (const struct mucdesk_command_info *i = p->plugin->commands;
             p->feature && p->plugin->command && i && i->name; i++) {
            if (i->place != MUCDESK_IN_SESSION)
                continue; /* queue-room ones are text commands only */
            uds[k].desk = d;
            uds[k].info = i;
            struct adhoc_command c = {i->name,
                                      i->description ? i->description
                                                     : i->name,
                                      NULL, plugin_visible, plugin_step,
                                      NULL, &uds[k]};
            if (adhoc_register(d->adhoc, &c) < 0)
                log_warn(LOG, "plugin command %s: a command of that name "
                              "exists", i->name);
            k++;
        }
    return 0;
}

/* ---- registration ---------------------------------------------------------------- */

int desk_adhoc_agent_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"set-availability", "Set my availability", NULL, desk_visible_staff,
         set_availability, NULL, d},
        {"canned", "Send a canned response", NULL, desk_visible_staff, canned,
         NULL, d},
        {"transcript", "Transcript of a ticket", NULL, desk_visible_staff,
         transcript, NULL, d},
    };
    if (adhoc_register_all(d->adhoc, cmds, sizeof cmds / sizeof cmds[0]) < 0)
        return -1;
    return register_plugin_commands(d);
}
