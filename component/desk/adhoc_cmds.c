/* The desk's ad-hoc commands (XEP-0050, PRODUCT.md §4), on xmpp/adhoc.h.
 *
 *   on a queue JID:  request-chat
 *   on D, customers: resume-chat, rate-chat
 *   on D, admins:    queue-create, queue-configure, queue-delete,
 *                    agent-add, agent-remove
 *   on D, staff:     every text command with a form (accept, waiting,
 *                    observe, join, take, stats, and the session commands
 *                    with a `ticket` field), run through commands.c so that
 *                    text and forms do exactly the same thing.
 *
 * Field names are the contract of PRODUCT.md §4 and doc/widget-protocol.md. */
#include "build-config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/dbops.h"
#include "desk/details.h"
#include "desk/directory.h"
#include "desk/forms.h"
#include "desk/limits.h"
#include "desk/prechat.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/text.h"
#include "desk/juggling.h"
#include "desk/tickets.h"
#include "muc/muc.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)
#define FORM_REQUEST "urn:mucdesk:request-chat"

static bool everyone(void *ud, const char *asker, const char *target)
{
    (void)ud;
    (void)asker;
    (void)target;
    return true;
}

/* ---- request-chat (on a queue JID) ----------------------------------------------- */

static bool mail_enabled(const struct desk *d)
{
    return d->cfg->mail.from != NULL;
}

/* The request form: a chat's, or a message's when nobody can chat. */
static void request_form(struct desk *d, struct desk_queue *q,
                         struct adhoc_step *st, bool closed, bool offline)
{
    char title[300];
    utf8_snprintf(title, sizeof title, "%s %s",
                  offline ? "Leave a message for" : "Chat with",
                  q->title ? q->title : q->name);
    const char *instr =
        closed ? desk_queue_closed_text(q)
        : offline ? (q->offline_message
                         ? q->offline_message
                         : "Nobody can chat right now. Leave us a message "
                           "and we will answer by email.")
                  : (q->greeting ? q->greeting
                                 : "Tell us about your question.");
    form_open(st->payload, "form", FORM_REQUEST, title, instr);
    form_add_field(st->payload, "name", "text-single", "Your name", NULL, true,
          NULL);
    form_add_field(st->payload, "email", "text-single", "Email", NULL, true, NULL);
    form_add_field(st->payload, "question", "text-multi", "Question", NULL, true,
          NULL);
    if (q->prechat)
        desk_prechat_form(q->prechat, st->payload);
    if (!offline && mail_enabled(d) && !q->transcript_email)
        form_add_field(st->payload, "transcript", "boolean",
                       "Email me a transcript of this chat", "0", false,
                       NULL);
    form_add_field(st->payload, "page", "hidden", NULL, NULL, false, NULL);
    form_add_field(st->payload, "browser", "hidden", NULL, NULL, false, NULL);
    form_add_field(st->payload, "skills", "hidden", NULL, NULL, false, NULL);
    if (offline)
        form_add_field(st->payload, "offline", "hidden", NULL, "1", false, NULL);
    form_close(st->payload);
    desk_step_executing(st, 1);
}

/* The submitted form's answers checked, the queue's extra fields and the
 * transcript wish into extras (details.h).  0, or -1 with *err naming
 * the field. */
static int request_check(struct desk *d, struct desk_queue *q,
                         struct adhoc_step *st, const struct buf *question,
                         struct json_object *extras, struct xerr *err)
{
    const char *name = desk_form_text(st->form, "name");
    const char *email = desk_form_text(st->form, "email");
    if (!*name) {
        xerr_set(err, XERR_BAD_REQUEST, "name: please tell us your name");
        return -1;
    }
    if (!desk_email_ok(email)) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "email: give one email address, such as name@example.org");
        return -1;
    }
    if (!question->len) {
        xerr_set(err, XERR_BAD_REQUEST, "question: please write your question");
        return -1;
    }
    if (strlen(name) > 100) {
        xerr_set(err, XERR_BAD_REQUEST, "name: at most 100 characters");
        return -1;
    }
    char problem[200];
    int answers = 0;
    if (q->prechat)
        answers = desk_prechat_read(q->prechat, st->form, extras, problem,
                                    sizeof problem);
    if (answers == -2) { /* out of memory */
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "Chat is not available right now.");
        return -1;
    }
    if (answers < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "%s", problem);
        return -1;
    }
    bool transcript = false;
    const char *tv = desk_form_text(st->form, "transcript");
    if (*tv && form_parse_bool(tv, &transcript) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "transcript: yes or no");
        return -1;
    }
    if (transcript && mail_enabled(d) &&
        desk_details_set(extras, "transcript", "1") < 0) {
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "Chat is not available right now.");
        return -1;
    }
    return 0;
}

/* A message left: the ticket's number.  0 or -1. */
static int request_message(struct desk_queue *q, struct adhoc_step *st,
                           const struct desk_request *r, struct xerr *err)
{
    int64_t id;
    if (desk_chat_leave_message(q, r, &id, err) < 0)
        return -1;
    adhoc_note(st, "info", "Thank you: we will answer by email. Your "
                           "ticket number is %lld.",
               (long long)id);
    desk_result_open(st);
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)id);
    form_add(st->payload, "ticket", "text-single", "Ticket", n);
    form_add(st->payload, "offline", "boolean", NULL, "1");
    form_close(st->payload);
    return 0;
}

/* A chat (new, or the customer's open one): its room, ticket, token,
 * place and wait.  0 or -1. */
static int request_chat_result(struct desk_queue *q, struct adhoc_step *st,
                               const struct desk_request *r,
                               struct xerr *err)
{
    struct desk_chat *c;
    bool existing;
    char token[2 * DESK_TOKEN_BYTES + 1];
    if (desk_chat_request(q, r, &c, &existing, token, sizeof token, err) < 0)
        return -1;
    desk_result_open(st);
    char n[32];
    form_add(st->payload, "room", "jid-single", "Chat room",
             muc_room_jid(c->room));
    snprintf(n, sizeof n, "%lld", (long long)c->id);
    form_add(st->payload, "ticket", "text-single", "Ticket", n);
    form_add(st->payload, "token", "text-private", "Resume token", token);
    int pos = desk_chat_position(c);
    snprintf(n, sizeof n, "%d", pos);
    form_add(st->payload, "position", "text-single", "Position in the queue",
             n);
    if (pos > 0) {
        double avg = desk_rolling_mean(&q->waits);
        int wait = desk_wait_estimate(avg > 0 ? avg : 60.0, pos);
        snprintf(n, sizeof n, "%d", wait);
        form_add(st->payload, "wait", "text-single", "Estimated wait (s)", n);
    }
    form_add(st->payload, "nick", "text-single", "Nickname", r->nick);
    form_add_bool(st->payload, "no-agents", "No agent available now",
                  desk_queue_available_count(q) == 0 &&
                      c->state == DESK_CHAT_WAITING);
    form_close(st->payload);
    return 0;
}

static int request_chat(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    struct desk_queue *q = desk_queue_find(d, st->target);
    if (!q) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "No such queue");
        return -1;
    }
    bool closed = !desk_queue_open_now(q);
    bool offline = closed || desk_queue_online_count(q) == 0;
    if (!st->form) {
        request_form(d, q, st, closed, offline);
        return 0;
    }
    struct buf question = BUF_INIT;
    struct json_object *extras = desk_details_new();
    desk_form_lines(st->form, "question", "\n", &question);
    int rc = -1;
    if (!extras) {
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "Chat is not available right now.");
        goto out;
    }
    if (request_check(d, q, st, &question, extras, err) < 0)
        goto out;
    const char *name = desk_form_text(st->form, "name");
    char nick[JID_PART_MAX + 1];
    if (jid_prep_resource(name, nick) < 0)
        snprintf(nick, sizeof nick, "Customer");
    char skills[256];
    utf8_snprintf(skills, sizeof skills, "%s",
                  desk_form_text(st->form, "skills"));
    desk_normalise_list(skills);
    struct desk_request r = {
        .customer_full = st->in->from_text,
        .name = name,
        .email = desk_form_text(st->form, "email"),
        .question = buf_cstr(&question),
        .page = desk_form_text(st->form, "page"),
        .browser = desk_form_text(st->form, "browser"),
        .skills = skills,
        .nick = nick,
        .extra = extras,
    };
    if (strcmp(desk_form_text(st->form, "offline"), "1") == 0 || closed)
        rc = request_message(q, st, &r, err);
    else
        rc = request_chat_result(q, st, &r, err);
out:
    buf_free(&question);
    json_object_put(extras);
    return rc;
}

/* ---- resume-chat, rate-chat (on D) ------------------------------------------------ */

static int resume_chat(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        form_open(st->payload, "form", "urn:mucdesk:resume-chat",
                  "Resume a chat", NULL);
        form_add_field(st->payload, "token", "text-private", "Resume token", NULL,
              true, NULL);
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    struct desk_chat *c = desk_chat_by_token(d, desk_form_text(st->form, "token"));
    if (!c || !c->room) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "token: unknown or expired");
        return -1;
    }
    /* A connection of the same customer the server has not noticed is
     * dead yet leaves quietly: the new one takes its place. */
    if (c->state != DESK_CHAT_ENDED) {
        struct muc_occupant *o;
        c->replacing_customer = true;
        while ((o = desk_chat_customer_occupant(c)) != NULL) {
            char bare[BARE_MAX];
            muc_occupant_bare_jid(o, bare, sizeof bare);
            if (strcmp(bare, st->asker) == 0)
                break;
            muc_occupant_drop(o);
        }
        c->replacing_customer = false;
    }
    /* Membership: to come in while it lasts, to read the archive after. */
    desk_chat_add_customer(c, st->asker);
    log_info(LOG, "ticket %lld: resumed by a new address", (long long)c->id);
    desk_result_open(st);
    char n[32];
    form_add(st->payload, "room", "jid-single", "Chat room",
             muc_room_jid(c->room));
    snprintf(n, sizeof n, "%lld", (long long)c->id);
    form_add(st->payload, "ticket", "text-single", "Ticket", n);
    char nick[200] = "";
    if (desk_details_get(c->details, "nick", nick, sizeof nick) == 0 && nick[0])
        form_add(st->payload, "nick", "text-single", "Nickname", nick);
    int pos = desk_chat_position(c);
    if (pos > 0) {
        snprintf(n, sizeof n, "%d", pos);
        form_add(st->payload, "position", "text-single", "Position", n);
    }
    if (c->state == DESK_CHAT_ENDED)
        form_add(st->payload, "ended", "boolean", "The chat has ended", "1");
    form_close(st->payload);
    return 0;
}

static int rate_chat(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    static const char *const ratings[] = {"1", "1", "2", "2", "3", "3",
                                          "4", "4", "5", "5", NULL};
    if (!st->form) {
        form_open(st->payload, "form", FORM_RATE,
                  "Rate your chat", "How did we do?");
        form_add_field(st->payload, "ticket", "text-single", "Ticket", NULL, true,
              NULL);
        form_add_field(st->payload, "token", "text-private", "Resume token", NULL, true,
              NULL);
        form_add_choice(st->payload, "rating", "list-single", "Rating (5 is best)", NULL, ratings,
                   true);
        form_add_field(st->payload, "comment", "text-multi", "Comment", NULL, false,
              NULL);
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    long id, rating;
    struct desk_chat *c = NULL;
    if (desk_parse_int(desk_form_text(st->form, "ticket"), 1, INT64_MAX / 2, &id) == 0)
        c = desk_chat_find(d, (int64_t)id);
    if (!c || !desk_chat_token_matches(c, desk_form_text(st->form, "token"))) {
        xerr_set(err, XERR_FORBIDDEN, "token: not valid for this ticket");
        return -1;
    }
    if (desk_parse_int(desk_form_text(st->form, "rating"), 1, 5, &rating) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "rating: choose 1 to 5");
        return -1;
    }
    if (desk_limits_rating(d, st->asker, err) < 0)
        return -1;
    struct buf comment = BUF_INIT;
    desk_form_lines(st->form, "comment", "\n", &comment);
    desk_chat_rate(c, (int)rating, comment.len ? buf_cstr(&comment) : NULL,
                   st->asker);
    buf_free(&comment);
    adhoc_note(st, "info", "Thank you for your feedback!");
    return 0;
}

/* ---- queues and agents (admins) ----------------------------------------------------- */

static void db_done(void *ud, int rc, const char *errtext)
{
    struct adhoc_reply *r = ud;
    struct xerr err;
    char what[300]; /* as long as the longest done text (defer_write's) */
    /* The note said what is being done; db_done finishes it. */
    utf8_snprintf(what, sizeof what, "%s", buf_cstr(adhoc_reply_payload(r)));
    buf_reset(adhoc_reply_payload(r));
    switch (rc) {
    case DESK_DB_OK:
        buf_append_str(adhoc_reply_payload(r), "<note type='info'>");
        xml_text(adhoc_reply_payload(r), what);
        buf_append_str(adhoc_reply_payload(r), "</note>");
        adhoc_finish(r);
        return;
    case DESK_DB_EXISTS:
        xerr_set(&err, XERR_BAD_REQUEST, "queue: a queue with this name exists");
        break;
    case DESK_DB_NOT_FOUND:
        xerr_set(&err, XERR_BAD_REQUEST, "queue: %s", errtext);
        break;
    case DESK_DB_INVALID:
        xerr_set(&err, XERR_BAD_REQUEST, "%s", errtext);
        break;
    default:
        log_warn(LOG, "directory change failed: %s", errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The database is not reachable; try again later");
        break;
    }
    adhoc_fail(r, &err);
}

static int defer_write(struct desk *d, struct adhoc_step *st, const char *kind,
                       const struct desk_queue_row *q,
                       const struct desk_agent_row *a, const char *done_text,
                       struct xerr *err)
{
    struct adhoc_reply *r = adhoc_defer(st);
    if (!r) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    buf_append_str(adhoc_reply_payload(r), done_text);
    if (desk_dir_write(d, kind, q, a, db_done, r) < 0) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    return 0;
}

static const char *const strategy_options[] = {
    "manual", "Manual (agents accept)", "round-robin", "Round robin",
    "least-busy", "Least busy", "skills", "By skills", NULL};

static void queue_fields(struct buf *out, const struct desk_queue *q,
                         bool with_name)
{
    char n[16];
    if (with_name)
        form_add_field(out, "queue", "text-single", "Queue (local part of its JID)",
              NULL, true, NULL);
    form_add_field(out, "name", "text-single", "Name", q ? q->title : NULL, with_name,
          NULL);
    form_add_choice(out, "strategy", "list-single", "Routing strategy",
               q ? q->strategy : "round-robin", strategy_options, false);
    snprintf(n, sizeof n, "%d", q ? q->offer_timeout_s : 20);
    form_add_field(out, "offer-timeout", "text-single", "Offer timeout (seconds)", n,
          false, NULL);
    snprintf(n, sizeof n, "%d", q ? q->max_wait_s : 240);
    form_add_field(out, "max-wait", "text-single", "Maximum wait (seconds)", n, false,
          NULL);
    snprintf(n, sizeof n, "%d", q ? q->answer_reminder_s : 120);
    form_add_field(out, "answer-reminder", "text-single",
                   "Answer reminder (seconds)", n, false,
                   "Staff are reminded when a customer's message has waited "
                   "this long for an answer; 0: never");
    form_add_field(out, "greeting", "text-multi", "Greeting",
          q ? q->greeting : NULL, false, NULL);
    form_add_field(out, "offline-message", "text-multi", "Offline message",
          q ? q->offline_message : NULL, false,
          "Shown when no agent is online");
    form_add_field(out, "prechat-fields", "text-multi", "Extra pre-chat fields",
          q && q->prechat_text ? q->prechat_text : NULL, false,
          "One per line: var|type|label|required|options, e.g. "
          "plan|list-single|Your plan|required|free,pro");
    form_add_field(out, "hours", "text-multi", "Business hours",
          q && q->hours_text ? q->hours_text : NULL, false,
          "e.g. mon-fri 09:00-17:30; sat 10:00-13:00; 2025-12-25 closed. "
          "Empty: always open");
    form_add_field(out, "timezone", "text-single", "Time zone of the hours",
          q && q->timezone ? q->timezone : "UTC", false,
          "An IANA name such as Europe/Paris");
    form_add_field(out, "closed-message", "text-multi", "Closed-hours message",
          q ? q->closed_message : NULL, false,
          "Shown outside business hours, above the leave-a-message form");
    form_add_field(out, "transcript-email", "boolean",
                   "Email the transcript to the customer after every chat",
                   q && q->transcript_email ? "1" : "0", false, NULL);
}

/* Reads the queue settings of a form into row; NULL/-1 for absent ones. */
static int read_queue_fields(xmpp_stanza_t *form, struct desk_queue_row *row,
                             struct buf *greeting, struct buf *offline,
                             struct xerr *err)
{
    long v;
    const char *s;
    s = form_value(form, "name");
    row->title = s && *s ? (char *)s : NULL;
    s = form_value(form, "strategy");
    row->strategy = s && *s ? (char *)s : NULL;
    if (row->strategy && !desk_strategy_known(row->strategy)) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "strategy: manual, round-robin, least-busy or skills");
        return -1;
    }
    row->offer_timeout = row->max_wait = row->answer_reminder = -1;
    s = form_value(form, "offer-timeout");
    if (s && *s) {
        if (desk_parse_int(s, 1, 600, &v) < 0) {
            xerr_set(err, XERR_BAD_REQUEST,
                     "offer-timeout: seconds, 1 to 600");
            return -1;
        }
        row->offer_timeout = (int)v;
    }
    s = form_value(form, "max-wait");
    if (s && *s) {
        if (desk_parse_int(s, 0, 86400, &v) < 0) {
            xerr_set(err, XERR_BAD_REQUEST, "max-wait: seconds, 0 to 86400");
            return -1;
        }
        row->max_wait = (int)v;
    }
    s = form_value(form, "answer-reminder");
    if (s && *s) {
        if (desk_parse_int(s, 0, 86400, &v) < 0) {
            xerr_set(err, XERR_BAD_REQUEST,
                     "answer-reminder: seconds, 0 (never) to 86400");
            return -1;
        }
        row->answer_reminder = (int)v;
    }
    if (form_field(form, "greeting")) {
        desk_form_lines(form, "greeting", "\n", greeting);
        buf_append_str(greeting, ""); /* "" clears it */
        row->greeting = (char *)buf_cstr(greeting);
    }
    if (form_field(form, "offline-message")) {
        desk_form_lines(form, "offline-message", "\n", offline);
        buf_append_str(offline, "");
        row->offline_message = (char *)buf_cstr(offline);
    }
    return 0;
}

/* The settings added with issue 7, in their own buffers (freed by
 * settings_free). */
struct settings_text {
    struct buf prechat, hours, closed;
};

static void settings_free(struct settings_text *t)
{
    buf_free(&t->prechat);
    buf_free(&t->hours);
    buf_free(&t->closed);
}

static int read_more_fields(xmpp_stanza_t *form, struct desk_queue_row *row,
                            struct settings_text *t, struct xerr *err)
{
    row->transcript_email = -1;
    if (form_field(form, "prechat-fields")) {
        desk_form_lines(form, "prechat-fields", "\n", &t->prechat);
        buf_append_str(&t->prechat, "");
        row->prechat_fields = (char *)buf_cstr(&t->prechat);
    }
    if (form_field(form, "hours")) {
        desk_form_lines(form, "hours", "\n", &t->hours);
        buf_append_str(&t->hours, "");
        row->hours = (char *)buf_cstr(&t->hours);
    }
    if (form_field(form, "closed-message")) {
        desk_form_lines(form, "closed-message", "\n", &t->closed);
        buf_append_str(&t->closed, "");
        row->closed_message = (char *)buf_cstr(&t->closed);
    }
    const char *tzname = form_value(form, "timezone");
    row->timezone = tzname && *tzname ? (char *)tzname : NULL;
    const char *te = form_value(form, "transcript-email");
    if (te && *te) {
        bool b;
        if (form_parse_bool(te, &b) < 0) {
            xerr_set(err, XERR_BAD_REQUEST, "transcript-email: yes or no");
            return -1;
        }
        row->transcript_email = b;
    }
    /* Checked here too, so that the admin hears at once what is wrong
     * (the pre-chat fields and hours are pure; the time zone is checked
     * when the change is saved, on the DB thread: reading it is I/O). */
    char problem[300];
    struct desk_queue_row pure = *row;
    pure.timezone = NULL;
    if (desk_queue_row_problem(&pure, problem, sizeof problem)) {
        xerr_set(err, XERR_BAD_REQUEST, "%s", problem);
        return -1;
    }
    return 0;
}

static int queue_create(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        form_open(st->payload, "form", "urn:mucdesk:queue", "Create a queue",
                  NULL);
        queue_fields(st->payload, NULL, true);
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    struct desk_queue_row row = {0};
    const char *name = desk_form_text(st->form, "queue");
    const char *problem = desk_queue_name_problem(name);
    if (problem) {
        xerr_set(err, XERR_BAD_REQUEST, "queue: %s", problem);
        return -1;
    }
    struct buf g = BUF_INIT, o = BUF_INIT;
    struct settings_text more = {BUF_INIT, BUF_INIT, BUF_INIT};
    int rc = read_queue_fields(st->form, &row, &g, &o, err);
    if (rc == 0)
        rc = read_more_fields(st->form, &row, &more, err);
    row.name = (char *)name;
    char done[200];
    utf8_snprintf(done, sizeof done, "Queue %s created.", name);
    if (rc == 0)
        rc = defer_write(d, st, "queue-create", &row, NULL, done, err);
    buf_free(&g);
    buf_free(&o);
    settings_free(&more);
    return rc;
}

struct configure_data {
    char queue[128];
};

static int queue_configure(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    struct configure_data *data = st->data;
    if (st->stage == 0 && !st->form) {
        const char *const *opts = desk_queue_options(d);
        if (!opts) {
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        form_open(st->payload, "form", "urn:mucdesk:queue",
                  "Configure a queue", "Which queue?");
        form_add_choice(st->payload, "queue", "list-single", "Queue", NULL, opts, true);
        form_close(st->payload);
        free((void *)opts);
        desk_step_executing(st, 0);
        st->actions = ADHOC_ACT_NEXT | ADHOC_ACT_COMPLETE;
        st->default_action = ADHOC_ACT_NEXT;
        return 0;
    }
    if (st->stage == 0) {
        const char *name = desk_form_text(st->form, "queue");
        if (!desk_queue_find(d, name)) {
            xerr_set(err, XERR_BAD_REQUEST, "queue: no such queue");
            return -1;
        }
        if (!data && !(data = calloc(1, sizeof *data))) {
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        st->data = data;
        utf8_snprintf(data->queue, sizeof data->queue, "%s", name);
        /* A script may send the settings along with the queue. */
        static const char *const settings[] = {
            "name", "strategy", "offer-timeout", "max-wait",
            "answer-reminder", "greeting",
            "offline-message", "prechat-fields", "hours", "timezone",
            "closed-message", "transcript-email", NULL};
        bool any = false;
        for (const char *const *f = settings; *f && !any; f++)
            any = form_field(st->form, *f) != NULL;
        if (!any) {
            st->form = NULL;
            st->stage = 1;
        }
    }
    struct desk_queue *q = data ? desk_queue_find(d, data->queue) : NULL;
    if (!q) {
        xerr_set(err, XERR_BAD_REQUEST, "queue: no such queue");
        return -1;
    }
    if (!st->form) {
        char title[200];
        utf8_snprintf(title, sizeof title, "Configure queue %s", q->name);
        form_open(st->payload, "form", "urn:mucdesk:queue", title, NULL);
        queue_fields(st->payload, q, false);
        form_close(st->payload);
        desk_step_executing(st, 1);
        st->actions = ADHOC_ACT_PREV | ADHOC_ACT_COMPLETE;
        return 0;
    }
    struct desk_queue_row row = {0};
    struct buf g = BUF_INIT, o = BUF_INIT;
    struct settings_text more = {BUF_INIT, BUF_INIT, BUF_INIT};
    int rc = read_queue_fields(st->form, &row, &g, &o, err);
    if (rc == 0)
        rc = read_more_fields(st->form, &row, &more, err);
    row.name = q->name;
    char done[200];
    utf8_snprintf(done, sizeof done, "Queue %s configured.", q->name);
    if (rc == 0)
        rc = defer_write(d, st, "queue-configure", &row, NULL, done, err);
    buf_free(&g);
    buf_free(&o);
    settings_free(&more);
    return rc;
}

static int queue_delete(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        const char *const *opts = desk_queue_options(d);
        if (!opts) {
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        form_open(st->payload, "form", "urn:mucdesk:queue", "Delete a queue",
                  "Its agents lose it; its open chats stay open.");
        form_add_choice(st->payload, "queue", "list-single", "Queue", NULL, opts, true);
        form_close(st->payload);
        free((void *)opts);
        desk_step_executing(st, 1);
        return 0;
    }
    struct desk_queue_row row = {.name = (char *)desk_form_text(st->form, "queue"),
                                 .offer_timeout = -1, .max_wait = -1,
                                 .answer_reminder = -1};
    if (!*row.name) {
        xerr_set(err, XERR_BAD_REQUEST, "queue: which queue?");
        return -1;
    }
    char done[200];
    utf8_snprintf(done, sizeof done, "Queue %s deleted.", row.name);
    return defer_write(d, st, "queue-delete", &row, NULL, done, err);
}

static int bare_of(const char *text, char *out, size_t size)
{
    struct jid j;
    if (jid_parse(text, &j) < 0 || !jid_has_local(&j) || jid_has_resource(&j))
        return -1;
    return jid_bare_text(&j, out, size) < 0 ? -1 : 0;
}

static const char *const takes_options[] = {
    "role", "As the role says (agents yes, supervisors no)",
    "yes", "Yes: offer chats", "no", "No: watch only", NULL};

static int agent_add(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    static const char *const roles[] = {"agent", "Agent", "supervisor",
                                        "Supervisor", NULL};
    if (!st->form) {
        const char *const *opts = desk_queue_options(d);
        if (!opts) {
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        form_open(st->payload, "form", "urn:mucdesk:agent", "Add an agent",
                  NULL);
        form_add_choice(st->payload, "queue", "list-single", "Queue", NULL, opts, true);
        form_add_field(st->payload, "jid", "jid-single", "Agent's JID", NULL, true,
              NULL);
        form_add_choice(st->payload, "role", "list-single", "Role", "agent", roles, true);
        form_add_field(st->payload, "max-chats", "text-single",
              "Most chats at a time", "3", false, NULL);
        form_add_field(st->payload, "skills", "text-single", "Skills",
              NULL, false, "Comma-separated, e.g. billing,french");
        form_add_choice(st->payload, "takes-chats", "list-single",
                        "Takes chats", "role", takes_options, false);
        form_close(st->payload);
        free((void *)opts);
        desk_step_executing(st, 1);
        return 0;
    }
    char bare[BARE_MAX];
    if (bare_of(desk_form_text(st->form, "jid"), bare, sizeof bare) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "jid: a bare JID such as "
                                        "alex@example.org");
        return -1;
    }
    const char *role = desk_form_text(st->form, "role");
    if (!*role)
        role = "agent";
    if (strcmp(role, "agent") && strcmp(role, "supervisor")) {
        xerr_set(err, XERR_BAD_REQUEST, "role: agent or supervisor");
        return -1;
    }
    long max = 3;
    const char *m = desk_form_text(st->form, "max-chats");
    if (*m && desk_parse_int(m, 1, 100, &max) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "max-chats: 1 to 100");
        return -1;
    }
    struct buf skills = BUF_INIT;
    desk_form_lines(st->form, "skills", ",", &skills);
    char *sk = buf_steal(&skills);
    if (!sk) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        return -1;
    }
    desk_normalise_list(sk);
    enum desk_takes takes;
    if (desk_takes_parse(desk_form_text(st->form, "takes-chats"), &takes) < 0) {
        free(sk);
        xerr_set(err, XERR_BAD_REQUEST, "takes-chats: role, yes or no");
        return -1;
    }
    struct desk_agent_row row = {.queue = (char *)desk_form_text(st->form, "queue"),
                                 .jid = bare, .role = (char *)role,
                                 .max_chats = (int)max, .skills = sk,
                                 .takes_chats = takes};
    char done[300];
    utf8_snprintf(done, sizeof done, "%.*s is now %s of queue %.*s.",
                  utf8_prec(bare, 200), bare,
                  strcmp(role, "agent") == 0 ? "an agent" : "a supervisor",
                  utf8_prec(row.queue, 60), row.queue);
    int rc = defer_write(d, st, "agent-add", NULL, &row, done, err);
    free(sk);
    return rc;
}

static int agent_remove(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        const char *const *opts = desk_queue_options(d);
        if (!opts) {
            xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            return -1;
        }
        form_open(st->payload, "form", "urn:mucdesk:agent",
                  "Remove an agent from a queue", NULL);
        form_add_choice(st->payload, "queue", "list-single", "Queue", NULL, opts, true);
        form_add_field(st->payload, "jid", "jid-single", "Agent's JID", NULL, true,
              NULL);
        form_close(st->payload);
        free((void *)opts);
        desk_step_executing(st, 1);
        return 0;
    }
    char bare[BARE_MAX];
    if (bare_of(desk_form_text(st->form, "jid"), bare, sizeof bare) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "jid: a bare JID");
        return -1;
    }
    struct desk_agent_row row = {.queue = (char *)desk_form_text(st->form, "queue"),
                                 .jid = bare};
    char done[300];
    utf8_snprintf(done, sizeof done, "%.*s removed from queue %.*s.",
                  utf8_prec(bare, 200), bare, utf8_prec(row.queue, 60),
                  row.queue);
    return defer_write(d, st, "agent-remove", NULL, &row, done, err);
}

/* ---- staff commands: the text commands with a form ---------------------------------- */

struct staff_field {
    const char *var, *type, *label;
    bool required;
    const char *const *options;
};

struct staff_command {
    const char *node, *name;
    enum desk_place place;
    bool supervisors;
    struct staff_field fields[4]; /* after `ticket` for session commands */
    const char *verb;             /* the command line's start; NULL: /node */
};

static const char *const status_options[] = {
    "resolved", "Resolved", "queued", "Back to a queue", "inprogress",
    "Keep working on it (in progress)", NULL};
static const char *const time_options[] = {"pause", "Pause", "resume",
                                           "Resume", "set", "Set", NULL};

static const struct staff_command staff_commands[] = {
    {"accept", "Accept a waiting chat", DESK_IN_QUEUE, false,
     {{"ticket", "text-single", "Ticket", true, NULL}}, NULL},
    {"waiting", "Waiting chats", DESK_IN_QUEUE, false, {{0}}, NULL},
    {"observe", "Observe a chat invisibly", DESK_IN_QUEUE, true,
     {{"ticket", "text-single", "Ticket", true, NULL}}, NULL},
    {"join", "Join a chat (visible)", DESK_IN_QUEUE, true,
     {{"ticket", "text-single", "Ticket", true, NULL}}, NULL},
    {"take", "Take over a chat", DESK_IN_QUEUE, true,
     {{"ticket", "text-single", "Ticket", true, NULL}}, NULL},
    {"invite", "Invite staff into a chat", DESK_IN_SESSION, false,
     {{"jid", "text-single", "JID or nick", true, NULL},
      {"reason", "text-single", "Reason", false, NULL}}, NULL},
    {"forward", "Forward a chat", DESK_IN_SESSION, false,
     {{"to", "text-single", "Agent JID or queue", true, NULL}}, NULL},
    {"leave", "Leave a chat", DESK_IN_SESSION, false, {{0}}, NULL},
    {"close", "Close a chat", DESK_IN_SESSION, false,
     {{"status", "list-single", "Final status", true, status_options},
      {"queue", "text-single", "Queue (for queued)", false, NULL},
      {"note", "text-single", "Note (staff only)", false, NULL}}, NULL},
    {"note", "Add an internal note", DESK_IN_SESSION, false,
     {{"text", "text-multi", "Note (staff only)", true, NULL}}, NULL},
    {"time", "Chat time", DESK_IN_SESSION, false,
     {{"action", "list-single", "Action", true, time_options},
      {"minutes", "text-single", "Minutes (for set)", false, NULL}}, NULL},
    {"subject", "Change the subject", DESK_IN_SESSION, false,
     {{"subject", "text-single", "Subject", true, NULL}}, NULL},
    {"priority", "Change the priority", DESK_IN_SESSION, false,
     {{"priority", "text-single", "Priority (1-5)", true, NULL}}, NULL},
    {"kb", "Search the knowledge base", DESK_IN_SESSION, false,
     {{"query", "text-single", "Words to look for", true, NULL}}, NULL},
    {"kb-send", "Send a knowledge base article", DESK_IN_SESSION, false,
     {{"article", "text-single", "Article number", true, NULL}}, "/kb send"},
    {"visible", "Become visible", DESK_IN_SESSION, true, {{0}}, NULL},
    {"invisible", "Become invisible (observe)", DESK_IN_SESSION, true, {{0}}, NULL},
};
#define STAFF_COMMAND_COUNT (sizeof staff_commands / sizeof staff_commands[0])

struct staff_ud {
    struct desk *desk;
    const struct staff_command *cmd;
};

static bool staff_visible(void *ud, const char *asker, const char *target)
{
    struct staff_ud *s = ud;
    return s->cmd->supervisors ? desk_visible_supervisor(s->desk, asker, target)
                               : desk_visible_staff(s->desk, asker, target);
}

static int staff_step(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct staff_ud *s = ud;
    struct desk *d = s->desk;
    const struct staff_command *cmd = s->cmd;
    bool session = cmd->place == DESK_IN_SESSION;
    bool has_fields = session || cmd->fields[0].var;
    if (!st->form && has_fields) {
        form_open(st->payload, "form", NULL, cmd->name, NULL);
        if (session)
            form_add_field(st->payload, "ticket", "text-single", "Ticket", NULL, true,
                  NULL);
        for (const struct staff_field *f = cmd->fields; f->var; f++) {
            if (f->options)
                form_add_choice(st->payload, f->var, "list-single", f->label, NULL, f->options,
                           f->required);
            else
                form_add_field(st->payload, f->var, f->type, f->label, NULL,
                      f->required, NULL);
        }
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    struct desk_call call = {.desk = d, .actor = st->asker,
                             .place = cmd->place, .step = st};
    struct buf line = BUF_INIT, reply = BUF_INIT;
    call.reply = &reply;
    if (cmd->verb)
        buf_append_str(&line, cmd->verb);
    else
        buf_printf(&line, "/%s", cmd->node);
    if (session) {
        long id;
        struct desk_chat *c = NULL;
        if (desk_parse_int(desk_form_text(st->form, "ticket"), 1, INT64_MAX / 2, &id) ==
            0)
            c = desk_chat_find(d, (int64_t)id);
        if (!c) {
            /* Unknown and forbidden look alike. */
            bool number = desk_parse_int(desk_form_text(st->form, "ticket"), 1,
                                         INT64_MAX / 2, &id) == 0;
            if (number)
                desk_authz_refuse(err);
            else
                xerr_set(err, XERR_BAD_REQUEST, "ticket: a ticket number");
            buf_free(&line);
            buf_free(&reply);
            return -1;
        }
        call.chat = c;
    }
    for (const struct staff_field *f = cmd->fields; f->var; f++) {
        struct buf v = BUF_INIT;
        desk_form_lines(st->form, f->var, " ", &v);
        if (f->required && !v.len) {
            xerr_set(err, XERR_BAD_REQUEST, "%s: required", f->var);
            buf_free(&v);
            buf_free(&line);
            buf_free(&reply);
            return -1;
        }
        if (v.len)
            buf_printf(&line, " %s", buf_cstr(&v));
        buf_free(&v);
    }
    buf_free(&reply);
    int rc = desk_adhoc_run_line(d, st, call.chat, cmd->place,
                                 buf_cstr(&line), err);
    buf_free(&line);
    return rc;
}

int desk_adhoc_run_line(struct desk *d, struct adhoc_step *st,
                        struct desk_chat *chat, enum desk_place place,
                        const char *line, struct xerr *err)
{
    struct buf reply = BUF_INIT;
    struct desk_call call = {.desk = d, .actor = st->asker, .place = place,
                             .chat = chat, .step = st, .reply = &reply};
    int rc = desk_command_run(&call, line, err);
    if (rc == 0 && !call.deferred) {
        if (reply.len)
            adhoc_note(st, "info", "%s", buf_cstr(&reply));
        if (call.room_jid[0]) {
            desk_result_open(st);
            form_add(st->payload, "room", "jid-single", "Chat room",
                     call.room_jid);
            form_close(st->payload);
        }
    }
    buf_free(&reply);
    return rc;
}

/* ---- registration ------------------------------------------------------------------ */

int desk_adhoc_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"request-chat", "Request a chat", "queue", everyone, request_chat,
         NULL, d},
        {"resume-chat", "Resume a chat", NULL, everyone, resume_chat, NULL, d},
        {"rate-chat", "Rate a chat", NULL, everyone, rate_chat, NULL, d},
        {"queue-create", "Create a queue", NULL, desk_visible_admin, queue_create,
         NULL, d},
        {"queue-configure", "Configure a queue", NULL, desk_visible_admin,
         queue_configure, NULL, d},
        {"queue-delete", "Delete a queue", NULL, desk_visible_admin, queue_delete,
         NULL, d},
        {"agent-add", "Add an agent to a queue", NULL, desk_visible_admin, agent_add,
         NULL, d},
        {"agent-remove", "Remove an agent from a queue", NULL, desk_visible_admin,
         agent_remove, NULL, d},
    };
    return adhoc_register_all(d->adhoc, cmds, sizeof cmds / sizeof cmds[0]);
}

int desk_adhoc_staff_register(struct desk *d)
{
    struct staff_ud *staff_uds = calloc(STAFF_COMMAND_COUNT, sizeof *staff_uds);
    if (!staff_uds)
        return -1;
    d->adhoc_data = staff_uds; /* freed by desk_free */
    for (size_t i = 0; i < STAFF_COMMAND_COUNT; i++) {
        staff_uds[i].desk = d;
        staff_uds[i].cmd = &staff_commands[i];
        struct adhoc_command c = {staff_commands[i].node,
                                  staff_commands[i].name, NULL, staff_visible,
                                  staff_step, NULL, &staff_uds[i]};
        if (adhoc_register(d->adhoc, &c) < 0)
            return -1;
    }
    return 0;
}
