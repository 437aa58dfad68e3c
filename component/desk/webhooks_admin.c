/* Admins' ad-hoc commands for webhook endpoints (issue 16), on the
 * service JID:
 *
 *   webhook-add      url, secret (empty: one is made and shown once),
 *                    events (default all), queues (default all),
 *                    description
 *   webhook-list     a table of every endpoint and its outbox counts
 *   webhook-test     queues a webhook.test event for one endpoint
 *   webhook-pause    stops sending (events are still written)
 *   webhook-resume   sends again at once
 *   webhook-replay   dead events (and delivered ones since a time) again
 *   webhook-remove   the endpoint and its events
 *   webhook-dead     the dead-letter table (one endpoint's, or all)
 *
 * The SQL is webhook/admin.c's (mucdeskctl runs the same), deferred to
 * the DB thread.  Fields are checked there too (bad-request naming the
 * field); an unknown endpoint is item-not-found. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "desk/dbops.h"
#include "desk/forms.h"
#include "desk/state.h"
#include "webhook/admin.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define NS_FORM "urn:mucdesk:webhook"

enum hook_op {
    HOOK_ADD, HOOK_LIST, HOOK_TEST, HOOK_PAUSE, HOOK_RESUME, HOOK_REPLAY,
    HOOK_REMOVE, HOOK_DEAD,
};

/* What a command asks of the DB thread, and what it answers. */
struct hook_job {
    enum hook_op op;
    const char *node;             /* for logs: the command's literal */
    struct adhoc_reply *reply;
    char asker[JID_TEXT_MAX + 1];
    int id;                       /* 0: none (dead: every endpoint) */
    char *since;                  /* replay; NULL: none */
    /* add */
    char *url, *secret_in, *description;
    char **events, **queues;      /* owned strings */
    size_t event_count, queue_count;
    bool all_queues;
    char secret[WEBHOOK_SECRET_MAX + 1];
    /* answers */
    bool changed;
    long count;
    int64_t outbox_id;
    char delivery_id[37];
    struct webhook_endpoint_info *list;
    struct webhook_dead_row *dead;
    size_t rows;
};

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void hook_job_free(struct hook_job *j)
{
    free(j->since);
    free(j->url);
    free(j->secret_in);
    free(j->description);
    strings_free(j->events, j->event_count);
    strings_free(j->queues, j->queue_count);
    webhook_endpoint_info_free(j->list, j->rows);
    webhook_dead_rows_free(j->dead, j->rows);
    /* the secret goes no further than the reply */
    memset(j->secret, 0, sizeof j->secret);
    free(j);
}

static int oom(struct xerr *err)
{
    xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
    return -1;
}

/* ---- on the DB thread ---------------------------------------------------------- */

static int hook_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct hook_job *j = ud;
    switch (j->op) {
    case HOOK_ADD: {
        struct webhook_endpoint_new e = {
            .url = j->url,
            .secret = j->secret_in,
            .events = (const char *const *)j->events,
            .event_count = j->event_count,
            .queues = j->all_queues ? NULL : (const char *const *)j->queues,
            .queue_count = j->queue_count,
            .description = j->description,
        };
        return webhook_admin_add(conn, &e, &j->id, j->secret, err, errlen);
    }
    case HOOK_LIST:
        webhook_endpoint_info_free(j->list, j->rows);
        j->list = NULL;
        return webhook_admin_list(conn, &j->list, &j->rows, err, errlen);
    case HOOK_TEST:
        return webhook_admin_test(conn, j->id, &j->outbox_id, j->delivery_id,
                                  err, errlen);
    case HOOK_PAUSE:
        return webhook_admin_pause(conn, j->id, &j->changed, err, errlen);
    case HOOK_RESUME:
        return webhook_admin_resume(conn, j->id, &j->changed, err, errlen);
    case HOOK_REPLAY:
        return webhook_admin_replay(conn, j->id, j->since, &j->count, err,
                                    errlen);
    case HOOK_REMOVE:
        return webhook_admin_remove(conn, j->id, &j->count, err, errlen);
    case HOOK_DEAD:
        webhook_dead_rows_free(j->dead, j->rows);
        j->dead = NULL;
        return webhook_admin_dead(conn, j->id, WEBHOOK_DEAD_LIMIT, &j->dead,
                                  &j->rows, err, errlen);
    }
    snprintf(err, errlen, "unknown operation");
    return WEBHOOK_ADMIN_FAILED;
}

/* ---- answers (XMPP thread) ------------------------------------------------------- */

static void hook_fail(struct hook_job *j, int rc, const char *errtext)
{
    struct xerr err;
    if (rc == WEBHOOK_ADMIN_INVALID) {
        xerr_set(&err, XERR_BAD_REQUEST, "%s", errtext);
    } else if (rc == WEBHOOK_ADMIN_NOT_FOUND) {
        xerr_set(&err, XERR_ITEM_NOT_FOUND, "id: no webhook endpoint #%d",
                 j->id);
    } else {
        log_warn(LOG, "%s: %s", j->node, errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The database is not reachable; try again later");
    }
    adhoc_fail(j->reply, &err);
}

static void note(struct buf *out, const char *text)
{
    buf_append_str(out, "<note type='info'>");
    xml_text(out, text);
    buf_append_str(out, "</note>");
}

static void count_text(char *out, size_t size, long v)
{
    snprintf(out, size, "%ld", v);
}

static void list_answer(struct hook_job *j, struct buf *out)
{
    struct buf text = BUF_INIT;
    buf_printf(&text, "%zu webhook endpoint(s)", j->rows);
    for (size_t i = 0; i < j->rows; i++) {
        const struct webhook_endpoint_info *w = &j->list[i];
        buf_printf(&text, "\n#%d %s%s: %s; queues %s; %ld pending, %ld dead, "
                          "%ld delivered; %d failure(s)",
                   w->id, w->url, w->paused ? " (paused)" : "", w->events,
                   w->queues ? w->queues : "all", w->pending, w->dead,
                   w->delivered, w->failures);
        if (w->last_error)
            buf_printf(&text, "; last error: %.*s",
                       utf8_prec(w->last_error, 200), w->last_error);
    }
    note(out, buf_cstr(&text));
    buf_free(&text);
    form_open(out, "result", NULL, "Webhook endpoints", NULL);
    form_reported_open(out);
    static const char *const cols[][2] = {
        {"id", "Id"}, {"url", "URL"}, {"events", "Events"},
        {"queues", "Queues"}, {"paused", "Paused"}, {"pending", "Pending"},
        {"dead", "Dead"}, {"delivered", "Delivered"},
        {"failures", "Failures"}, {"last-success", "Last success"},
        {"last-error", "Last error"}, {"description", "Description"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        form_reported_field(out, cols[i][0], cols[i][1]);
    form_reported_close(out);
    for (size_t i = 0; i < j->rows; i++) {
        const struct webhook_endpoint_info *w = &j->list[i];
        char v[24];
        form_item_open(out);
        snprintf(v, sizeof v, "%d", w->id);
        form_item_value(out, "id", v);
        form_item_value(out, "url", w->url);
        form_item_value(out, "events", w->events);
        form_item_value(out, "queues", w->queues ? w->queues : "all");
        form_item_value(out, "paused", w->paused ? "yes" : "no");
        count_text(v, sizeof v, w->pending);
        form_item_value(out, "pending", v);
        count_text(v, sizeof v, w->dead);
        form_item_value(out, "dead", v);
        count_text(v, sizeof v, w->delivered);
        form_item_value(out, "delivered", v);
        count_text(v, sizeof v, w->failures);
        form_item_value(out, "failures", v);
        form_item_value(out, "last-success",
                        w->last_success_at ? w->last_success_at : "");
        form_item_value(out, "last-error", w->last_error ? w->last_error : "");
        form_item_value(out, "description",
                        w->description ? w->description : "");
        form_item_close(out);
    }
    form_close(out);
}

static void dead_answer(struct hook_job *j, struct buf *out)
{
    struct buf text = BUF_INIT;
    buf_printf(&text, "%zu dead event(s)%s", j->rows,
               j->rows >= WEBHOOK_DEAD_LIMIT ? " (the newest)" : "");
    for (size_t i = 0; i < j->rows; i++) {
        const struct webhook_dead_row *r = &j->dead[i];
        buf_printf(&text, "\n%lld endpoint #%d %s", (long long)r->id,
                   r->endpoint_id, r->event);
        if (r->ticket_id)
            buf_printf(&text, " ticket #%lld", (long long)r->ticket_id);
        buf_printf(&text, ", %d attempt(s)", r->attempts);
        if (r->last_status)
            buf_printf(&text, ", HTTP %d", r->last_status);
        if (r->last_error)
            buf_printf(&text, ": %.*s", utf8_prec(r->last_error, 200),
                       r->last_error);
    }
    note(out, buf_cstr(&text));
    buf_free(&text);
    form_open(out, "result", NULL, "Dead webhook events", NULL);
    form_reported_open(out);
    static const char *const cols[][2] = {
        {"id", "Event"}, {"endpoint", "Endpoint"}, {"event", "Kind"},
        {"ticket", "Ticket"}, {"attempts", "Attempts"},
        {"last-status", "Last HTTP status"}, {"last-error", "Last error"},
        {"created", "Created"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        form_reported_field(out, cols[i][0], cols[i][1]);
    form_reported_close(out);
    for (size_t i = 0; i < j->rows; i++) {
        const struct webhook_dead_row *r = &j->dead[i];
        char v[24];
        form_item_open(out);
        snprintf(v, sizeof v, "%lld", (long long)r->id);
        form_item_value(out, "id", v);
        snprintf(v, sizeof v, "%d", r->endpoint_id);
        form_item_value(out, "endpoint", v);
        form_item_value(out, "event", r->event);
        if (r->ticket_id)
            snprintf(v, sizeof v, "%lld", (long long)r->ticket_id);
        else
            v[0] = '\0';
        form_item_value(out, "ticket", v);
        snprintf(v, sizeof v, "%d", r->attempts);
        form_item_value(out, "attempts", v);
        if (r->last_status)
            snprintf(v, sizeof v, "%d", r->last_status);
        else
            v[0] = '\0';
        form_item_value(out, "last-status", v);
        form_item_value(out, "last-error", r->last_error ? r->last_error : "");
        form_item_value(out, "created", r->created_at);
        form_item_close(out);
    }
    form_close(out);
}

static void hook_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct hook_job *j = ud;
    (void)d;
    if (rc != WEBHOOK_ADMIN_OK) {
        hook_fail(j, rc, errtext);
        hook_job_free(j);
        return;
    }
    struct buf *out = adhoc_reply_payload(j->reply);
    char text[400], v[24];
    switch (j->op) {
    case HOOK_ADD:
        log_info(LOG, "webhook endpoint #%d added by %s", j->id, j->asker);
        snprintf(text, sizeof text,
                 "Webhook endpoint #%d added. Its secret (shown only now; it "
                 "signs every request): %s",
                 j->id, j->secret);
        note(out, text);
        form_open(out, "result", NULL, "Webhook endpoint added", NULL);
        snprintf(v, sizeof v, "%d", j->id);
        form_add(out, "id", "text-single", "Id", v);
        form_add(out, "secret", "text-single", "Secret", j->secret);
        form_close(out);
        break;
    case HOOK_LIST:
        list_answer(j, out);
        break;
    case HOOK_TEST:
        snprintf(text, sizeof text,
                 "A webhook.test event (#%lld, delivery %s) is queued for "
                 "endpoint #%d.",
                 (long long)j->outbox_id, j->delivery_id, j->id);
        note(out, text);
        form_open(out, "result", NULL, NULL, NULL);
        snprintf(v, sizeof v, "%lld", (long long)j->outbox_id);
        form_add(out, "event", "text-single", "Event", v);
        form_add(out, "delivery", "text-single", "Delivery id",
                 j->delivery_id);
        form_close(out);
        break;
    case HOOK_PAUSE:
    case HOOK_RESUME:
        log_info(LOG, "webhook endpoint #%d %s by %s", j->id,
                 j->op == HOOK_PAUSE ? "paused" : "resumed", j->asker);
        snprintf(text, sizeof text, "Webhook endpoint #%d %s%s.", j->id,
                 j->changed ? "" : "was already ",
                 j->op == HOOK_PAUSE
                     ? "paused: its events are kept, not sent"
                     : "active: its events are sent");
        note(out, text);
        break;
    case HOOK_REPLAY:
        log_info(LOG, "webhook endpoint #%d: %ld event(s) replayed by %s",
                 j->id, j->count, j->asker);
        snprintf(text, sizeof text,
                 "%ld event(s) of webhook endpoint #%d will be sent again.",
                 j->count, j->id);
        note(out, text);
        form_open(out, "result", NULL, NULL, NULL);
        count_text(v, sizeof v, j->count);
        form_add(out, "count", "text-single", "Events", v);
        form_close(out);
        break;
    case HOOK_REMOVE:
        log_info(LOG, "webhook endpoint #%d removed by %s", j->id, j->asker);
        snprintf(text, sizeof text,
                 "Webhook endpoint #%d removed, with %ld event(s) not "
                 "delivered.",
                 j->id, j->count);
        note(out, text);
        break;
    case HOOK_DEAD:
        dead_answer(j, out);
        break;
    }
    adhoc_finish(j->reply);
    hook_job_free(j);
}

static int hook_submit(struct desk *d, struct adhoc_step *st,
                       struct hook_job *j, struct xerr *err)
{
    utf8_snprintf(j->asker, sizeof j->asker, "%s", st->asker);
    j->reply = adhoc_defer(st);
    if (!j->reply ||
        desk_db_submit(d, hook_run, hook_after, j, DESK_DB_TIMEOUT_MS) < 0) {
        hook_job_free(j);
        return oom(err);
    }
    return 0;
}

static struct hook_job *hook_job_new(enum hook_op op, const char *node)
{
    struct hook_job *j = calloc(1, sizeof *j);
    if (j) {
        j->op = op;
        j->node = node;
    }
    return j;
}

/* ---- forms ------------------------------------------------------------------------ */

static void id_field(struct buf *out, bool required)
{
    form_add_field(out, "id", "text-single", "Endpoint", NULL, required,
                   required ? "Its number in webhook-list"
                            : "Its number in webhook-list; empty: every "
                              "endpoint");
}

/* The "id" field: 0 if empty and optional. */
static int read_id(xmpp_stanza_t *form, bool required, int *id,
                   struct xerr *err)
{
    const char *t = desk_form_text(form, "id");
    *id = 0;
    if (!*t && !required)
        return 0;
    if (webhook_parse_id(t, id) < 0) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "id: an endpoint's number (see webhook-list)");
        return -1;
    }
    return 0;
}

/* Splits every value of a field on commas and blanks into owned strings. */
struct split {
    char **items;
    size_t n, cap;
    bool failed;
};

static void split_value(void *ud, const char *value)
{
    struct split *s = ud;
    const char *p = value;
    while (*p && !s->failed) {
        size_t skip = strspn(p, ", \t\r\n");
        p += skip;
        size_t len = strcspn(p, ", \t\r\n");
        if (!len)
            break;
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 8;
            char **items = realloc(s->items, cap * sizeof *items);
            if (!items) {
                s->failed = true;
                return;
            }
            s->items = items;
            s->cap = cap;
        }
        char *item = utf8_strndup(p, len);
        if (!item) {
            s->failed = true;
            return;
        }
        s->items[s->n++] = item;
        p += len;
    }
}

static int read_list(xmpp_stanza_t *form, const char *var, char ***items,
                     size_t *n)
{
    struct split s = {0};
    form_each_value(form, var, split_value, &s);
    if (s.failed) {
        strings_free(s.items, s.n);
        return -1;
    }
    *items = s.items;
    *n = s.n;
    return 0;
}

static char *dup_text(xmpp_stanza_t *form, const char *var)
{
    return strdup(desk_form_text(form, var));
}

/* ---- the commands ------------------------------------------------------------------ */

static int webhook_add(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        struct buf *out = st->payload;
        form_open(out, "form", NS_FORM, "Add a webhook endpoint",
                  "mucdesk POSTs what happens to tickets to this address, "
                  "signed with the secret (doc/webhooks.md).");
        form_add_field(out, "url", "text-single", "URL", NULL, true,
                       "http:// or https://");
        form_add_field(out, "secret", "text-private", "Secret", NULL, false,
                       "16 to 200 characters; empty: one is made and shown "
                       "once");
        form_field_open(out, "events", "list-multi", "Events");
        for (size_t i = 0; webhook_event_names[i]; i++)
            form_add_option(out, webhook_event_names[i],
                            webhook_event_names[i]);
        for (size_t i = 0; webhook_event_names[i]; i++)
            form_add_value(out, webhook_event_names[i]);
        form_field_close(out);
        form_add_field(out, "queues", "text-multi", "Queues", NULL, false,
                       "One per line (or comma-separated); empty: every "
                       "queue");
        form_add_field(out, "description", "text-single", "Description", NULL,
                       false, NULL);
        form_close(out);
        desk_step_executing(st, 1);
        return 0;
    }
    struct hook_job *j = hook_job_new(HOOK_ADD, "webhook-add");
    if (!j)
        return oom(err);
    j->url = dup_text(st->form, "url");
    j->secret_in = dup_text(st->form, "secret");
    j->description = dup_text(st->form, "description");
    if (!j->url || !j->secret_in || !j->description ||
        read_list(st->form, "events", &j->events, &j->event_count) < 0 ||
        read_list(st->form, "queues", &j->queues, &j->queue_count) < 0) {
        hook_job_free(j);
        return oom(err);
    }
    if (form_field(st->form, "events") && !j->event_count) {
        xerr_set(err, XERR_BAD_REQUEST, "events: choose at least one");
        hook_job_free(j);
        return -1;
    }
    /* What needs no database is refused at once. */
    struct webhook_endpoint_new e = {
        .url = j->url, .secret = j->secret_in,
        .events = (const char *const *)j->events,
        .event_count = j->event_count};
    char why[300];
    if (webhook_endpoint_check(&e, why, sizeof why) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "%s", why);
        hook_job_free(j);
        return -1;
    }
    j->all_queues = j->queue_count == 0;
    return hook_submit(d, st, j, err);
}

static int webhook_list(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct hook_job *j = hook_job_new(HOOK_LIST, "webhook-list");
    if (!j)
        return oom(err);
    return hook_submit(ud, st, j, err);
}

/* The commands that take an endpoint's id (and replay's since). */
static int id_command(struct desk *d, struct adhoc_step *st, struct xerr *err,
                      enum hook_op op, const char *node, const char *title)
{
    bool required = op != HOOK_DEAD;
    if (!st->form) {
        form_open(st->payload, "form", NS_FORM, title, NULL);
        id_field(st->payload, required);
        if (op == HOOK_REPLAY)
            form_add_field(st->payload, "since", "text-single",
                           "Delivered ones too, since", NULL, false,
                           "Empty: only the dead events; a time "
                           "(2026-12-07T10:00:00Z): also those delivered "
                           "since then");
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    int id;
    if (read_id(st->form, required, &id, err) < 0)
        return -1;
    struct hook_job *j = hook_job_new(op, node);
    if (!j)
        return oom(err);
    j->id = id;
    if (op == HOOK_REPLAY && desk_form_text(st->form, "since")[0] &&
        !(j->since = dup_text(st->form, "since"))) {
        hook_job_free(j);
        return oom(err);
    }
    return hook_submit(d, st, j, err);
}

static int webhook_test(void *ud, struct adhoc_step *st, struct xerr *err)
{
    return id_command(ud, st, err, HOOK_TEST, "webhook-test",
                      "Send a test event");
}

static int webhook_pause(void *ud, struct adhoc_step *st, struct xerr *err)
{
    return id_command(ud, st, err, HOOK_PAUSE, "webhook-pause",
                      "Pause a webhook endpoint");
}

static int webhook_resume(void *ud, struct adhoc_step *st, struct xerr *err)
{
    return id_command(ud, st, err, HOOK_RESUME, "webhook-resume",
                      "Resume a webhook endpoint");
}

static int webhook_replay(void *ud, struct adhoc_step *st, struct xerr *err)
{
    return id_command(ud, st, err, HOOK_REPLAY, "webhook-replay",
                      "Send events again");
}

static int webhook_remove(void *ud, struct adhoc_step *st, struct xerr *err)
{
    return id_command(ud, st, err, HOOK_REMOVE, "webhook-remove",
                      "Remove a webhook endpoint");
}

static int webhook_dead(void *ud, struct adhoc_step *st, struct xerr *err)
{
    return id_command(ud, st, err, HOOK_DEAD, "webhook-dead",
                      "Dead webhook events");
}

/* ---- registration ------------------------------------------------------------------ */

int desk_adhoc_webhooks_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"webhook-add", "Add a webhook endpoint", NULL, desk_visible_admin,
         webhook_add, NULL, d},
        {"webhook-list", "Webhook endpoints", NULL, desk_visible_admin,
         webhook_list, NULL, d},
        {"webhook-test", "Send a test event to a webhook endpoint", NULL,
         desk_visible_admin, webhook_test, NULL, d},
        {"webhook-pause", "Pause a webhook endpoint", NULL,
         desk_visible_admin, webhook_pause, NULL, d},
        {"webhook-resume", "Resume a webhook endpoint", NULL,
         desk_visible_admin, webhook_resume, NULL, d},
        {"webhook-replay", "Send dead webhook events again", NULL,
         desk_visible_admin, webhook_replay, NULL, d},
        {"webhook-remove", "Remove a webhook endpoint", NULL,
         desk_visible_admin, webhook_remove, NULL, d},
        {"webhook-dead", "Dead webhook events", NULL, desk_visible_admin,
         webhook_dead, NULL, d},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (adhoc_register(d->adhoc, &cmds[i]) < 0)
            return -1;
    return 0;
}
