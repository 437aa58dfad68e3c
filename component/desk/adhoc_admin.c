/* Ad-hoc commands for running the desk (PRODUCT.md §4):
 *
 *   canned-edit      admins: add, change, delete canned responses
 *   kb-edit          admins: add, change, delete knowledge-base articles
 *   stats            staff: per queue and overall for a period (the
 *                    asker's queues; admins: all)
 *   ticket-search    supervisors (their queues), admins (all)
 *   purge-customer   admins: erase a customer's personal data and
 *                    transcripts (an audit event records it)
 *   widget-snippet   admins: the HTML a site pastes for a queue
 *
 * Database work is deferred (adhoc_defer) to the DB thread.  A queue the
 * asker may not see is refused like one that does not exist. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/authz.h"
#include "desk/canned.h"
#include "desk/chat.h"
#include "desk/dbops.h"
#include "desk/directory.h"
#include "desk/forms.h"
#include "desk/files.h"
#include "desk/library.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/reports.h"
#include "desk/state.h"
#include "desk/text.h"
#include "store/archive.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stamp.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)
#define SEARCH_MAX 200

static void fail_db(struct adhoc_reply *r, int rc, const char *errtext,
                    const char *what)
{
    struct xerr err;
    if (rc == DESK_DB_INVALID || rc == DESK_DB_NOT_FOUND ||
        rc == DESK_DB_EXISTS) {
        xerr_set(&err, XERR_BAD_REQUEST, "%s", errtext);
    } else {
        log_warn(LOG, "%s: %s", what, errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The database is not reachable; try again later");
    }
    adhoc_fail(r, &err);
}

static void finish_note(struct adhoc_reply *r, const char *text)
{
    struct buf *b = adhoc_reply_payload(r);
    buf_append_str(b, "<note type='info'>");
    xml_text(b, text);
    buf_append_str(b, "</note>");
    adhoc_finish(r);
}

/* The queues with "" first ("every queue"/"all"), for a list field. */
static const char **queue_options_with(struct desk *d, const char *none)
{
    const char **q = desk_queue_options(d);
    if (!q)
        return NULL;
    size_t n = 0;
    while (q[n])
        n++;
    const char **all = calloc(n + 3, sizeof *all);
    if (!all) {
        free(q);
        return NULL;
    }
    all[0] = "";
    all[1] = none;
    memcpy(all + 2, q, n * sizeof *q);
    free(q);
    return all;
}

static int oom(struct xerr *err)
{
    xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
    return -1;
}

/* ---- canned-edit -------------------------------------------------------------------- */

struct canned_edit {
    char queue[128];
    char name[80];
    bool remove;
    struct buf body;
    struct adhoc_reply *reply;
};

static void canned_edit_free(void *data)
{
    struct canned_edit *e = data;
    if (e)
        buf_free(&e->body);
    free(e);
}

static int canned_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct canned_edit *e = ud;
    return e->remove ? desk_db_canned_delete(conn, e->queue, e->name, err,
                                             errlen)
                     : desk_db_canned_save(conn, e->queue, e->name,
                                           buf_cstr(&e->body), err, errlen);
}

static void canned_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct canned_edit *e = ud;
    if (rc != DESK_DB_OK) {
        fail_db(e->reply, rc, errtext, "canned-edit");
    } else {
        desk_reload_soon(d); /* in memory at once, not at the next poll */
        char text[300];
        utf8_snprintf(text, sizeof text, "Canned response %s %s%s%s.", e->name,
                      e->remove ? "deleted" : "saved",
                      e->queue[0] ? " for queue " : " for every queue",
                      e->queue);
        finish_note(e->reply, text);
    }
    canned_edit_free(e);
}

/* Queues the job: a copy of what the session holds. */
static int canned_submit(struct desk *d, struct adhoc_step *st,
                         const struct canned_edit *from, const char *body,
                         struct xerr *err)
{
    struct canned_edit *e = calloc(1, sizeof *e);
    if (!e)
        return oom(err);
    memcpy(e->queue, from->queue, sizeof e->queue);
    memcpy(e->name, from->name, sizeof e->name);
    e->remove = from->remove;
    buf_append_str(&e->body, body ? body : "");
    e->reply = adhoc_defer(st);
    if (!e->reply ||
        desk_db_submit(d, canned_run, canned_after, e, DESK_DB_TIMEOUT_MS) <
            0) {
        canned_edit_free(e);
        return oom(err);
    }
    return 0;
}

/* canned-edit's first form: queue, name, action. */
static int canned_name_form(struct desk *d, struct adhoc_step *st,
                            struct xerr *err)
{
    static const char *const actions[] = {"save", "Add or change", "delete",
                                          "Delete", NULL};
    const char **opts = queue_options_with(d, "Every queue");
    if (!opts)
        return oom(err);
    form_open(st->payload, "form", "urn:mucdesk:canned", "Canned response",
              NULL);
    form_add_choice(st->payload, "queue", "list-single", "Queue", "", opts,
                    false);
    form_add_field(st->payload, "name", "text-single", "Name", NULL, true,
                   "What agents type after /canned: a-z, 0-9, '.', '_', "
                   "'-'");
    form_add_choice(st->payload, "action", "list-single", "Action", "save",
                    actions, true);
    form_close(st->payload);
    free(opts);
    desk_step_executing(st, 0);
    st->actions = ADHOC_ACT_NEXT | ADHOC_ACT_COMPLETE;
    st->default_action = ADHOC_ACT_NEXT;
    return 0;
}

/* canned-edit's second form: the text, with the current one if any. */
static void canned_text_form(struct desk *d, struct adhoc_step *st,
                             const struct canned_edit *e)
{
    const char *current = NULL;
    for (size_t i = 0; i < d->canned_count && !current; i++)
        if (strcmp(d->canned[i].queue, e->queue) == 0 &&
            strcmp(d->canned[i].name, e->name) == 0)
            current = d->canned[i].body;
    char title[160];
    utf8_snprintf(title, sizeof title, "Canned response %s", e->name);
    form_open(st->payload, "form", "urn:mucdesk:canned", title, NULL);
    form_add_field(st->payload, "text", "text-multi", "Text", NULL, true,
                   "{customer}, {agent}, {ticket} and {queue} are filled "
                   "in; a text that is one URL is sent as a link");
    if (current) { /* the field again, with its value (one per line) */
        st->payload->len -= strlen("</field>");
        const char *p = current;
        while (*p) {
            size_t n = strcspn(p, "\n");
            buf_append_str(st->payload, "<value>");
            xml_text_n(st->payload, p, n);
            buf_append_str(st->payload, "</value>");
            p += n + (p[n] == '\n');
        }
        buf_append_str(st->payload, "</field>");
    }
    form_close(st->payload);
    desk_step_executing(st, 1);
    st->actions = ADHOC_ACT_PREV | ADHOC_ACT_COMPLETE;
}

static int canned_edit(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    struct canned_edit *e = st->data;
    if (st->stage == 0 && !st->form)
        return canned_name_form(d, st, err);
    if (st->stage == 0) {
        const char *queue = desk_form_text(st->form, "queue");
        char name[80];
        utf8_snprintf(name, sizeof name, "%s",
                      desk_form_text(st->form, "name"));
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        const char *problem = desk_canned_name_problem(name);
        if (problem) {
            xerr_set(err, XERR_BAD_REQUEST, "name: %s", problem);
            return -1;
        }
        if (*queue && !desk_queue_find(d, queue)) {
            xerr_set(err, XERR_BAD_REQUEST, "queue: no such queue");
            return -1;
        }
        const char *action = desk_form_text(st->form, "action");
        if (*action && strcmp(action, "save") && strcmp(action, "delete")) {
            xerr_set(err, XERR_BAD_REQUEST, "action: save or delete");
            return -1;
        }
        if (!e && !(e = calloc(1, sizeof *e)))
            return oom(err);
        st->data = e;
        utf8_snprintf(e->queue, sizeof e->queue, "%s", queue);
        utf8_snprintf(e->name, sizeof e->name, "%s", name);
        e->remove = strcmp(action, "delete") == 0;
        if (e->remove)
            return canned_submit(d, st, e, NULL, err);
        if (!form_field(st->form, "text")) {
            st->form = NULL;
            st->stage = 1;
        }
    }
    if (!e)
        return oom(err);
    if (!st->form) {
        canned_text_form(d, st, e);
        return 0;
    }
    struct buf body = BUF_INIT;
    desk_form_lines(st->form, "text", "\n", &body);
    if (!body.len) {
        buf_free(&body);
        xerr_set(err, XERR_BAD_REQUEST, "text: a canned response needs a text");
        return -1;
    }
    int rc = canned_submit(d, st, e, buf_cstr(&body), err);
    buf_free(&body);
    return rc;
}

/* ---- kb-edit ---------------------------------------------------------------------- */

struct kb_edit {
    int64_t id;                   /* 0: a new article */
    bool remove;
    struct desk_kb_article article;
    struct adhoc_reply *reply;
    bool loading;                 /* the job reads the article (stage 0) */
    struct desk *desk;
};

static void kb_form(struct desk *d, struct buf *out,
                    const struct desk_kb_article *a)
{
    const char **opts = queue_options_with(d, "Every queue");
    char title[80];
    if (a->id)
        snprintf(title, sizeof title, "Article #%lld", (long long)a->id);
    else
        snprintf(title, sizeof title, "New article");
    form_open(out, "form", "urn:mucdesk:kb", title, NULL);
    form_add_field(out, "title", "text-single", "Title", a->title, true, NULL);
    if (opts)
        form_add_choice(out, "queue", "list-single", "Queue",
                        a->queue ? a->queue : "", opts, false);
    form_add_field(out, "url", "text-single", "Link", a->url, false,
                   "If set, /kb send sends the title and this link");
    form_add_lines(out, "body", "text-multi", "Text", a->body ? a->body : "");
    form_close(out);
    free(opts);
}

static int kb_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct kb_edit *e = ud;
    if (e->loading) {
        desk_kb_article_clear(&e->article);
        return desk_db_kb_get(conn, e->id, NULL, &e->article, err, errlen);
    }
    if (e->remove)
        return desk_db_kb_delete(conn, e->id, err, errlen);
    e->article.id = e->id;
    return desk_db_kb_save(conn, &e->article, err, errlen);
}

static void kb_edit_free(struct kb_edit *e)
{
    desk_kb_article_clear(&e->article);
    free(e);
}

static void kb_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct kb_edit *e = ud;
    if (rc != DESK_DB_OK) {
        fail_db(e->reply, rc, rc == DESK_DB_NOT_FOUND ? "article: no such "
                                                        "article"
                                                      : errtext,
                "kb-edit");
    } else if (e->loading) {
        kb_form(d, adhoc_reply_payload(e->reply), &e->article);
        adhoc_continue(e->reply, 1, ADHOC_ACT_PREV | ADHOC_ACT_COMPLETE,
                       ADHOC_ACT_COMPLETE);
    } else {
        char text[120];
        snprintf(text, sizeof text, "Article #%lld %s.",
                 (long long)e->article.id ? (long long)e->article.id
                                          : (long long)e->id,
                 e->remove ? "deleted" : "saved");
        finish_note(e->reply, text);
    }
    kb_edit_free(e);
}

static int kb_submit(struct desk *d, struct adhoc_step *st, struct kb_edit *e,
                     struct xerr *err)
{
    e->desk = d;
    e->reply = adhoc_defer(st);
    if (!e->reply ||
        desk_db_submit(d, kb_run, kb_after, e, DESK_DB_TIMEOUT_MS) < 0) {
        kb_edit_free(e);
        return oom(err);
    }
    return 0;
}

static char *dup_field(xmpp_stanza_t *form, const char *var, const char *sep)
{
    if (!form_field(form, var))
        return NULL;
    struct buf b = BUF_INIT;
    desk_form_lines(form, var, sep, &b);
    buf_append_str(&b, "");
    return buf_steal(&b);
}

/* The article's fields from a submitted form. */
static int kb_read(xmpp_stanza_t *form, struct kb_edit *e, struct desk *d,
                   struct xerr *err)
{
    struct desk_kb_article *a = &e->article;
    a->title = dup_field(form, "title", " ");
    a->queue = dup_field(form, "queue", "");
    a->url = dup_field(form, "url", "");
    a->body = dup_field(form, "body", "\n");
    if (e->id == 0 && (!a->title || !a->title[0])) {
        xerr_set(err, XERR_BAD_REQUEST, "title: an article needs a title");
        return -1;
    }
    if (a->queue && a->queue[0] && !desk_queue_find(d, a->queue)) {
        xerr_set(err, XERR_BAD_REQUEST, "queue: no such queue");
        return -1;
    }
    char url[2048];
    if (a->url && a->url[0] && !desk_is_url(a->url, url, sizeof url)) {
        xerr_set(err, XERR_BAD_REQUEST, "url: an http or https address");
        return -1;
    }
    return 0;
}

/* kb-edit's first form: the article's number, the action. */
static void kb_number_form(struct adhoc_step *st)
{
    static const char *const actions[] = {"save", "Add or change", "delete",
                                          "Delete", NULL};
    form_open(st->payload, "form", "urn:mucdesk:kb", "Knowledge base article",
              NULL);
    form_add_field(st->payload, "article", "text-single", "Article number",
                   NULL, false, "Empty for a new article");
    form_add_choice(st->payload, "action", "list-single", "Action", "save",
                    actions, true);
    form_close(st->payload);
    desk_step_executing(st, 0);
    /* complete: a script sending the article at once. */
    st->actions = ADHOC_ACT_NEXT | ADHOC_ACT_COMPLETE;
    st->default_action = ADHOC_ACT_NEXT;
}

/* kb-edit's article form: an existing article is read first (and shown
 * when it is there), a new one shown empty. */
static int kb_show(struct desk *d, struct adhoc_step *st, struct kb_edit *e,
                   struct xerr *err)
{
    if (e->id) {
        e->loading = true;
        return kb_submit(d, st, e, err);
    }
    kb_form(d, st->payload, &e->article);
    kb_edit_free(e);
    desk_step_executing(st, 1);
    st->actions = ADHOC_ACT_PREV | ADHOC_ACT_COMPLETE;
    return 0;
}

static int kb_edit(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    int64_t *id = st->data;
    if (st->stage == 0 && !st->form) {
        kb_number_form(st);
        return 0;
    }
    if (!id && !(id = calloc(1, sizeof *id)))
        return oom(err);
    st->data = id;
    struct kb_edit *e = calloc(1, sizeof *e);
    if (!e)
        return oom(err);
    if (st->stage == 0) {
        const char *a = desk_form_text(st->form, "article");
        long n = 0;
        if (*a && desk_parse_int(a[0] == '#' ? a + 1 : a, 1, INT64_MAX / 2,
                                 &n) < 0) {
            free(e);
            xerr_set(err, XERR_BAD_REQUEST, "article: a number, or empty");
            return -1;
        }
        *id = n;
        e->id = n;
        const char *action = desk_form_text(st->form, "action");
        if (strcmp(action, "delete") == 0) {
            if (!n) {
                free(e);
                xerr_set(err, XERR_BAD_REQUEST, "article: which one?");
                return -1;
            }
            e->remove = true;
            return kb_submit(d, st, e, err);
        }
        if (form_field(st->form, "title") || form_field(st->form, "body")) {
            /* A script: the article in the same request. */
            if (kb_read(st->form, e, d, err) < 0) {
                kb_edit_free(e);
                return -1;
            }
            return kb_submit(d, st, e, err);
        }
        return kb_show(d, st, e, err);
    }
    e->id = *id;
    if (!st->form) /* back here with prev */
        return kb_show(d, st, e, err);
    if (kb_read(st->form, e, d, err) < 0) {
        kb_edit_free(e);
        return -1;
    }
    return kb_submit(d, st, e, err);
}

/* ---- stats ------------------------------------------------------------------------ */

static const char *const period_options[] = {
    "today", "Today (UTC)", "24h", "The last 24 hours", "7d",
    "The last 7 days", "30d", "The last 30 days", "all", "Since the start",
    "custom", "From / to below", NULL};

/* The period's bounds in microseconds (0: unbounded). */
static int read_period(xmpp_stanza_t *form, int64_t *from, int64_t *to,
                       struct xerr *err)
{
    const char *p = desk_form_text(form, "period");
    int64_t now = (int64_t)time(NULL);
    *from = *to = 0;
    if (!*p || strcmp(p, "24h") == 0) {
        *from = (now - 86400) * INT64_C(1000000);
    } else if (strcmp(p, "today") == 0) {
        *from = (now - now % 86400) * INT64_C(1000000);
    } else if (strcmp(p, "7d") == 0) {
        *from = (now - 7 * 86400) * INT64_C(1000000);
    } else if (strcmp(p, "30d") == 0) {
        *from = (now - 30 * 86400) * INT64_C(1000000);
    } else if (strcmp(p, "custom") == 0 || strcmp(p, "all") == 0) {
        const char *f = desk_form_text(form, "from");
        const char *t = desk_form_text(form, "to");
        if (strcmp(p, "custom") == 0 && *f && desk_parse_when(f, from) < 0) {
            xerr_set(err, XERR_BAD_REQUEST,
                     "from: a date (2025-01-31) or a time (2025-01-31T10:00:00Z)");
            return -1;
        }
        if (strcmp(p, "custom") == 0 && *t && desk_parse_when(t, to) < 0) {
            xerr_set(err, XERR_BAD_REQUEST,
                     "to: a date (2025-01-31) or a time (2025-01-31T10:00:00Z)");
            return -1;
        }
    } else {
        xerr_set(err, XERR_BAD_REQUEST,
                 "period: today, 24h, 7d, 30d, all or custom");
        return -1;
    }
    return 0;
}

/* The queues the asker may see with `act` (NULL with *all for admins). */
static const char **visible_queues(struct desk *d, const char *asker,
                                   enum desk_action act, size_t *n, bool *all)
{
    *n = 0;
    *all = config_is_admin(d->cfg, asker);
    const char **list = calloc(HASH_COUNT(d->queues) + 1, sizeof *list);
    if (!list)
        return NULL;
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        if (desk_authz_allows(desk_role_for(d, asker, q, NULL), act))
            list[(*n)++] = q->name;
    return list;
}

/* The options (value, label pairs, NULL-terminated) of a "queue" field
 * listing the queues the asker may run ACT on, after a first "" option
 * labelled ANY_LABEL (NULL: "All queues" for admins, "All my queues" for
 * the others).  The strings belong to the queues; the caller frees the
 * array.  NULL when out of memory. */
static const char **queue_options(struct desk *d, const char *asker,
                                  enum desk_action act, const char *any_label)
{
    size_t n;
    bool all;
    const char **mine = visible_queues(d, asker, act, &n, &all);
    const char **opts = mine ? calloc(2 * n + 3, sizeof *opts) : NULL;
    if (!opts) {
        free(mine);
        return NULL;
    }
    opts[0] = "";
    opts[1] = any_label ? any_label : all ? "All queues" : "All my queues";
    for (size_t i = 0; i < n; i++) {
        const struct desk_queue *q = desk_queue_find(d, mine[i]);
        opts[2 + 2 * i] = mine[i];
        opts[3 + 2 * i] = q && q->title ? q->title : mine[i];
    }
    free(mine);
    return opts;
}

struct stats_job {
    struct adhoc_reply *reply;
    char asker[BARE_MAX];
    char queue[128];              /* "" for all the asker's */
    int64_t from, to;
    const char **queues;          /* NULL: every queue (admins) */
    size_t queue_count;
    struct desk_stats *rows;
    size_t count;
};

static int stats_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct stats_job *j = ud;
    return desk_db_stats(conn, j->from, j->to, j->queues, j->queue_count,
                         &j->rows, &j->count, err, errlen);
}

static void live(struct desk *d, struct desk_queue *q, struct desk_stats *s)
{
    s->waiting = s->active = 0;
    for (struct desk_chat *c = q->wait_head; c; c = c->wnext)
        s->waiting++;
    for (struct desk_chat *c = d->chats; c; c = c->hh.next)
        s->active += c->state == DESK_CHAT_ACTIVE &&
                     strcmp(c->queue, q->name) == 0;
    s->online = (long)desk_queue_online_count(q);
    s->available = (long)desk_queue_available_count(q);
}

static void stats_row(struct buf *rows, struct buf *text,
                      const struct desk_stats *s)
{
    char v[32];
    form_item_open(rows);
    form_item_value(rows, "queue", s->queue[0] ? s->queue : "*");
#define LIVE(var, field)                                                       \
    do {                                                                       \
        if (s->field >= 0)                                                     \
            snprintf(v, sizeof v, "%ld", s->field);                            \
        else                                                                   \
            snprintf(v, sizeof v, "-");                                        \
        form_item_value(rows, var, v);                                         \
    } while (0)
    LIVE("waiting", waiting);
    LIVE("active", active);
    LIVE("online", online);
    LIVE("available", available);
    LIVE("chats", chats);
    LIVE("answered", answered);
    LIVE("abandoned", abandoned);
#undef LIVE
    desk_stats_figure(desk_stats_abandon_rate(s), 1, 100, v, sizeof v);
    form_item_value(rows, "abandon-rate", v);
    desk_stats_figure(desk_stats_avg_wait(s), 0, 1, v, sizeof v);
    form_item_value(rows, "avg-wait", v);
    desk_stats_figure(desk_stats_avg_handle(s), 0, 1, v, sizeof v);
    form_item_value(rows, "avg-handle", v);
    desk_stats_figure(desk_stats_rating(s), 2, 1, v, sizeof v);
    form_item_value(rows, "rating", v);
    snprintf(v, sizeof v, "%ld", s->rated);
    form_item_value(rows, "ratings", v);
    form_item_close(rows);
    if (text->len)
        buf_append_char(text, '\n');
    desk_stats_text(s, text);
}

static void stats_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct stats_job *j = ud;
    if (rc != DESK_DB_OK) {
        fail_db(j->reply, rc, errtext, "stats");
        goto out;
    }
    struct buf rows = BUF_INIT, text = BUF_INIT;
    struct desk_stats total;
    memset(&total, 0, sizeof total);
    /* One line per queue asked about that exists now (live figures and
     * the period's), then those only the database knows (deleted queues:
     * admins), then the total. */
    for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
        bool wanted = false;
        if (j->queue[0])
            wanted = strcmp(j->queue, q->name) == 0;
        else if (!j->queues)
            wanted = true;
        else
            for (size_t i = 0; i < j->queue_count && !wanted; i++)
                wanted = strcmp(j->queues[i], q->name) == 0;
        if (!wanted)
            continue;
        struct desk_stats s;
        memset(&s, 0, sizeof s);
        utf8_snprintf(s.queue, sizeof s.queue, "%s", q->name);
        for (size_t i = 0; i < j->count; i++)
            if (strcmp(j->rows[i].queue, q->name) == 0)
                s = j->rows[i];
        live(d, q, &s);
        desk_stats_add(&total, &s);
        stats_row(&rows, &text, &s);
    }
    for (size_t i = 0; i < j->count; i++) {
        if (desk_queue_find(d, j->rows[i].queue))
            continue;
        struct desk_stats s = j->rows[i];
        s.waiting = s.active = s.online = s.available = 0;
        desk_stats_add(&total, &s);
        stats_row(&rows, &text, &s);
    }
    if (!j->queue[0])
        stats_row(&rows, &text, &total);
    struct buf *out = adhoc_reply_payload(j->reply);
    buf_append_str(out, "<note type='info'>");
    xml_text(out, buf_cstr(&text));
    buf_append_str(out, "</note>");
    form_open(out, "result", NULL, "Queue figures", NULL);
    form_reported_open(out);
    static const char *const cols[][2] = {
        {"queue", "Queue"}, {"waiting", "Waiting"}, {"active", "Active"},
        {"online", "Agents online"}, {"available", "Available"},
        {"chats", "Chats"}, {"answered", "Answered"},
        {"abandoned", "Abandoned"}, {"abandon-rate", "Abandon rate (%)"},
        {"avg-wait", "Average wait (s)"},
        {"avg-handle", "Average handle time (s)"},
        {"rating", "Rating (1-5)"}, {"ratings", "Ratings"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        form_reported_field(out, cols[i][0], cols[i][1]);
    form_reported_close(out);
    buf_append(out, buf_cstr(&rows), rows.len);
    form_close(out);
    buf_free(&rows);
    buf_free(&text);
    adhoc_finish(j->reply);
out:
    free(j->rows);
    free(j->queues);
    free(j);
}

/* The stats form (the first stage). */
static int stats_form(struct desk *d, struct adhoc_step *st, struct xerr *err)
{
    const char **opts = queue_options(d, st->asker, DESK_ACT_WAITING, NULL);
    if (!opts)
        return oom(err);
    form_open(st->payload, "form", "urn:mucdesk:stats", "Queue figures",
              NULL);
    form_add_choice(st->payload, "queue", "list-single", "Queue", "", opts,
                    false);
    form_add_choice(st->payload, "period", "list-single", "Period", "24h",
                    period_options, true);
    form_add_field(st->payload, "from", "text-single", "From", NULL, false,
                   "For a custom period: 2025-01-31 or "
                   "2025-01-31T10:00:00Z");
    form_add_field(st->payload, "to", "text-single", "To (not included)",
                   NULL, false, NULL);
    form_close(st->payload);
    free(opts);
    desk_step_executing(st, 1);
    return 0;
}

/* The queues the figures are for: the one asked for (if the asker may see
 * it), or all the asker may see (j->queues NULL: every queue).  0, or -1
 * with *err (j->queues freed). */
static int stats_queues(struct desk *d, struct stats_job *j,
                        const char *asker, const char *queue,
                        struct xerr *err)
{
    bool all;
    if (*queue) {
        struct desk_queue *q = desk_queue_find(d, queue);
        /* Missing or not the asker's: the same refusal. */
        if (desk_authorize(d, asker, DESK_ACT_WAITING, q, NULL, err) < 0 ||
            !q) {
            desk_authz_refuse(err);
            return -1;
        }
        utf8_snprintf(j->queue, sizeof j->queue, "%s", q->name);
        j->queues = calloc(2, sizeof *j->queues);
        if (!j->queues)
            return oom(err);
        j->queues[0] = q->name;
        j->queue_count = 1;
    } else {
        j->queues = visible_queues(d, asker, DESK_ACT_WAITING,
                                   &j->queue_count, &all);
        if (!j->queues)
            return oom(err);
        if (all) {
            free(j->queues);
            j->queues = NULL;
        }
    }
    /* The names are the queues': copied now, the queues may change while
     * the database answers. */
    if (j->queues) {
        size_t len = 0;
        for (size_t i = 0; i < j->queue_count; i++)
            len += strlen(j->queues[i]) + 1;
        const char **copy = malloc((j->queue_count + 1) * sizeof *copy + len);
        if (!copy) {
            free(j->queues);
            j->queues = NULL;
            return oom(err);
        }
        char *p = (char *)(copy + j->queue_count + 1);
        for (size_t i = 0; i < j->queue_count; i++) {
            strcpy(p, j->queues[i]);
            copy[i] = p;
            p += strlen(p) + 1;
        }
        copy[j->queue_count] = NULL;
        free(j->queues);
        j->queues = copy;
    }
    return 0;
}

static int stats(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form)
        return stats_form(d, st, err);
    struct stats_job *j = calloc(1, sizeof *j);
    if (!j)
        return oom(err);
    utf8_snprintf(j->asker, sizeof j->asker, "%s", st->asker);
    const char *queue = desk_form_text(st->form, "queue");
    if (read_period(st->form, &j->from, &j->to, err) < 0 ||
        stats_queues(d, j, st->asker, queue, err) < 0) {
        free(j);
        return -1;
    }
    j->reply = adhoc_defer(st);
    if (!j->reply ||
        desk_db_submit(d, stats_run, stats_after, j, DESK_DB_TIMEOUT_MS) < 0) {
        free(j->queues);
        free(j);
        return oom(err);
    }
    return 0;
}

/* ---- ticket-search ------------------------------------------------------------------- */

struct search_job {
    struct adhoc_reply *reply;
    struct desk_search q;
    char *strings[6];             /* owned copies of the criteria */
    const char **queues;
    struct desk_found *found;
    size_t count;
};

static int search_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct search_job *j = ud;
    return desk_db_ticket_search(conn, &j->q, &j->found, &j->count, err,
                                 errlen);
}

static void search_free(struct search_job *j)
{
    for (size_t i = 0; i < 6; i++)
        free(j->strings[i]);
    free(j->queues);
    desk_found_free(j->found, j->count);
    free(j);
}

static void search_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct search_job *j = ud;
    (void)d;
    if (rc != DESK_DB_OK) {
        fail_db(j->reply, rc, errtext, "ticket-search");
        search_free(j);
        return;
    }
    struct buf *out = adhoc_reply_payload(j->reply);
    struct buf text = BUF_INIT;
    buf_printf(&text, "%zu ticket(s)%s", j->count,
               (int)j->count >= j->q.limit ? " (the newest; narrow the search "
                                             "for more)"
                                           : "");
    for (size_t i = 0; i < j->count; i++) {
        const struct desk_found *f = &j->found[i];
        char when[STAMP_TEXT_MAX];
        stamp_format(f->created_us, when);
        buf_printf(&text, "\n#%lld %s %s %.19s %s <%s> %s: %s",
                   (long long)f->id, f->queue, f->status, when,
                   f->customer_name ? f->customer_name : "-",
                   f->customer_email ? f->customer_email : "-",
                   f->owner_jid ? f->owner_jid : "-",
                   f->subject ? f->subject : "");
    }
    buf_append_str(out, "<note type='info'>");
    xml_text(out, buf_cstr(&text));
    buf_append_str(out, "</note>");
    buf_free(&text);
    form_open(out, "result", NULL, "Tickets found", NULL);
    form_reported_open(out);
    static const char *const cols[][2] = {
        {"ticket", "Ticket"}, {"queue", "Queue"}, {"status", "Status"},
        {"created", "Created"}, {"customer", "Customer"}, {"email", "Email"},
        {"agent", "Agent"}, {"subject", "Subject"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        form_reported_field(out, cols[i][0], cols[i][1]);
    form_reported_close(out);
    for (size_t i = 0; i < j->count; i++) {
        const struct desk_found *f = &j->found[i];
        char id[24], when[STAMP_TEXT_MAX];
        snprintf(id, sizeof id, "%lld", (long long)f->id);
        stamp_format(f->created_us, when);
        form_item_open(out);
        form_item_value(out, "ticket", id);
        form_item_value(out, "queue", f->queue);
        form_item_value(out, "status", f->status);
        form_item_value(out, "created", when);
        form_item_value(out, "customer", f->customer_name);
        form_item_value(out, "email", f->customer_email);
        form_item_value(out, "agent", f->owner_jid);
        form_item_value(out, "subject", f->subject);
        form_item_close(out);
    }
    form_close(out);
    adhoc_finish(j->reply);
    search_free(j);
}

/* The search form (the first stage). */
static int search_form(struct desk *d, struct adhoc_step *st, struct xerr *err)
{
    static const char *const statuses[] = {
        "", "Any", "QUEUED", "Queued", "INPROGRESS", "In progress",
        "RESOLVED", "Resolved", NULL};
    const char **opts = queue_options(d, st->asker, DESK_ACT_REPORTS, "Any");
    if (!opts)
        return oom(err);
    form_open(st->payload, "form", "urn:mucdesk:ticket-search",
              "Search tickets", "Every criterion given must match.");
    form_add_field(st->payload, "customer", "text-single", "Customer",
                   NULL, false, "Part of the name, e-mail or JID");
    form_add_choice(st->payload, "status", "list-single", "Status", "",
                    statuses, false);
    form_add_choice(st->payload, "queue", "list-single", "Queue", "",
                    opts, false);
    form_add_field(st->payload, "agent", "jid-single", "Agent", NULL,
                   false, NULL);
    form_add_field(st->payload, "from", "text-single", "Created from",
                   NULL, false, "2025-01-31 or 2025-01-31T10:00:00Z");
    form_add_field(st->payload, "to", "text-single", "Created before",
                   NULL, false, NULL);
    form_add_field(st->payload, "text", "text-single", "Text", NULL, false,
                   "In the subject or the transcript");
    form_add_field(st->payload, "max", "text-single", "At most", "50",
                   false, NULL);
    form_close(st->payload);
    free(opts);
    desk_step_executing(st, 1);
    return 0;
}

/* The submitted criteria that need checking: status, max (into q), from
 * and to (into q), agent (its bare JID into agent).  0, or -1 with *err. */
static int search_criteria(xmpp_stanza_t *form, struct desk_search *q,
                           char *agent, size_t agent_size, struct xerr *err)
{
    const char *status = desk_form_text(form, "status");
    if (*status && strcasecmp(status, "QUEUED") &&
        strcasecmp(status, "INPROGRESS") && strcasecmp(status, "RESOLVED")) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "status: QUEUED, INPROGRESS or RESOLVED");
        return -1;
    }
    long max = 50;
    const char *m = desk_form_text(form, "max");
    if (*m && desk_parse_int(m, 1, SEARCH_MAX, &max) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "max: 1 to %d", SEARCH_MAX);
        return -1;
    }
    q->limit = (int)max;
    const char *f = desk_form_text(form, "from");
    const char *t = desk_form_text(form, "to");
    const char *bad_field = NULL;
    if (*f && desk_parse_when(f, &q->from_us) < 0)
        bad_field = "from";
    else if (*t && desk_parse_when(t, &q->to_us) < 0)
        bad_field = "to";
    if (bad_field) {
        xerr_set(err, XERR_BAD_REQUEST, "%s: a date (2025-01-31) or a time "
                                        "(2025-01-31T10:00:00Z)", bad_field);
        return -1;
    }
    const char *a = desk_form_text(form, "agent");
    struct jid aj;
    if (*a && (jid_parse(a, &aj) < 0 ||
               jid_bare_text(&aj, agent, agent_size) < 0)) {
        xerr_set(err, XERR_BAD_REQUEST, "agent: a JID");
        return -1;
    }
    return 0;
}

/* The job keeps copies of the criteria's strings and of the n visible
 * queues' names (in one block), and points q at them.  0, or -1 if out of
 * memory. */
static int search_keep(struct search_job *j, xmpp_stanza_t *form,
                       const char *agent, size_t n, bool all)
{
    struct desk_search *q = &j->q;
    j->strings[0] = strdup(desk_form_text(form, "customer"));
    j->strings[1] = strdup(desk_form_text(form, "status"));
    j->strings[2] = strdup(desk_form_text(form, "queue"));
    j->strings[3] = strdup(agent);
    j->strings[4] = strdup(desk_form_text(form, "text"));
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(j->queues[i]) + 1;
    char *names = malloc(len + 1);
    j->strings[5] = names;
    for (int i = 0; i < 6; i++)
        if (!j->strings[i])
            return -1;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(j->queues[i]) + 1;
        memcpy(names, j->queues[i], l);
        j->queues[i] = names;
        names += l;
    }
    q->customer = j->strings[0];
    q->status = j->strings[1];
    q->queue = j->strings[2];
    q->agent = j->strings[3];
    q->text = j->strings[4];
    q->queues = all ? NULL : j->queues;
    q->queue_count = n;
    return 0;
}

static int ticket_search(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form)
        return search_form(d, st, err);
    struct search_job *j = calloc(1, sizeof *j);
    if (!j)
        return oom(err);
    char agent[BARE_MAX] = "";
    if (search_criteria(st->form, &j->q, agent, sizeof agent, err) < 0) {
        search_free(j);
        return -1;
    }
    const char *queue = desk_form_text(st->form, "queue");
    size_t n;
    bool all;
    j->queues = visible_queues(d, st->asker, DESK_ACT_REPORTS, &n, &all);
    if (!j->queues) {
        search_free(j);
        return oom(err);
    }
    if (*queue) {
        struct desk_queue *dq = desk_queue_find(d, queue);
        if (!all && (!dq || !desk_authz_allows(desk_role_for(d, st->asker, dq,
                                                             NULL),
                                               DESK_ACT_REPORTS))) {
            search_free(j);
            desk_authz_refuse(err);
            return -1;
        }
    }
    if (search_keep(j, st->form, agent, n, all) < 0) {
        search_free(j);
        return oom(err);
    }
    j->reply = adhoc_defer(st);
    if (!j->reply ||
        desk_db_submit(d, search_run, search_after, j, DESK_DB_TIMEOUT_MS) <
            0) {
        search_free(j);
        return oom(err);
    }
    return 0;
}

/* ---- purge-customer ----------------------------------------------------------------- */

/* Waits for the archive to have shipped everything appended before the
 * purge (nothing unshipped may bring the data back), at most this long. */
#define PURGE_WAIT_MS 30000
#define PURGE_POLL_MS 50

struct purge_job {
    struct desk *desk;
    struct adhoc_reply *reply;
    char who[BARE_MAX];
    char actor[BARE_MAX];
    uint64_t seq;
    uint64_t deadline_ms;
    long erased, open;
};

static void purge_job_free(void *ud);

static bool is_customer(const struct desk_chat *c, const char *who)
{
    return (c->customer_jid && strcmp(c->customer_jid, who) == 0) ||
           (c->customer_email && strcasecmp(c->customer_email, who) == 0);
}

static int purge_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct purge_job *j = ud;
    /* The archive has shipped everything (purge waited for it): nothing
     * to let settle. */
    return desk_db_purge_customer(conn, j->who, j->actor, 0, &j->erased,
                                  &j->open, err, errlen);
}

static void purge_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct purge_job *j = ud;
    if (rc != DESK_DB_OK) {
        fail_db(j->reply, rc, errtext, "purge-customer");
        purge_job_free(j);
        return;
    }
    /* Ended chats still held (their rooms' history) go now. */
    struct desk_chat *c, *tmp;
    HASH_ITER(hh, d->chats, c, tmp) {
        if (c->state == DESK_CHAT_ENDED && is_customer(c, j->who))
            desk_chat_free(c);
    }
    log_info(LOG, "purge-customer by %s: %ld ticket(s) erased, %ld left "
                  "open (audit_events)",
             j->actor, j->erased, j->open);
    desk_files_purged(d); /* their files go with the transcripts */
    char text[200];
    snprintf(text, sizeof text,
             "Erased the personal data and transcripts of %ld ticket(s)%s.",
             j->erased, j->open ? "; open ones were left" : "");
    finish_note(j->reply, text);
    purge_job_free(j);
}

static void purge_job_free(void *ud)
{
    struct purge_job *j = ud;
    if (j->desk->purge == j)
        j->desk->purge = NULL;
    free(j);
}

/* Stopping while a purge waits: the framework answers the iq. */
static void purge_timer_final(void *ud)
{
    struct purge_job *j = ud;
    if (j->desk->stopping)
        purge_job_free(j);
}

static void purge_wait(void *ud)
{
    struct purge_job *j = ud;
    j->desk->purge_timer = NULL;
    struct archive_stats as;
    archive_get_stats(j->desk->archive, &as);
    if (as.committed >= j->seq ||
        loop_now(j->desk->loop) >= j->deadline_ms) {
        if (as.committed < j->seq) {
            struct xerr err;
            xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                     "The archive is behind (is the database up?); try "
                     "again later");
            adhoc_fail(j->reply, &err);
            purge_job_free(j);
            return;
        }
        if (desk_db_submit(j->desk, purge_run, purge_after, j,
                           DESK_DB_TIMEOUT_MS) < 0) {
            struct xerr err;
            xerr_set(&err, XERR_RESOURCE_CONSTRAINT, "Try again later");
            adhoc_fail(j->reply, &err);
            purge_job_free(j);
        }
        return;
    }
    j->desk->purge_timer = loop_timer_add(j->desk->loop, PURGE_POLL_MS,
                                          purge_wait, j, purge_timer_final);
    if (!j->desk->purge_timer) {
        struct xerr err;
        xerr_set(&err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        adhoc_fail(j->reply, &err);
        purge_job_free(j);
    }
}

static int purge_customer(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        form_open(st->payload, "form", "urn:mucdesk:purge-customer",
                  "Erase a customer's data",
                  "Every ticket of this customer loses their name, e-mail, "
                  "address, pre-chat answers and its transcript. This cannot "
                  "be undone; an audit event records that it was done.");
        form_add_field(st->payload, "customer", "text-single", "Customer",
                       NULL, true, "Their e-mail address or JID, exactly");
        form_add_field(st->payload, "confirm", "boolean",
                       "Yes, erase it for good", "0", true, NULL);
        form_close(st->payload);
        desk_step_executing(st, 1);
        return 0;
    }
    const char *who = desk_form_text(st->form, "customer");
    bool yes = false;
    if (form_parse_bool(desk_form_text(st->form, "confirm")[0]
                            ? desk_form_text(st->form, "confirm")
                            : "0",
                        &yes) < 0 || !yes) {
        xerr_set(err, XERR_BAD_REQUEST, "confirm: tick it to erase");
        return -1;
    }
    char bare[BARE_MAX];
    struct jid jw;
    if (!*who || strlen(who) >= sizeof bare) {
        xerr_set(err, XERR_BAD_REQUEST, "customer: an e-mail address or JID");
        return -1;
    }
    /* A JID is compared prepared, as the desk stores it. */
    if (jid_parse(who, &jw) == 0 && jid_has_local(&jw) &&
        jid_bare_text(&jw, bare, sizeof bare) > 0 && strchr(who, '@'))
        who = bare;
    unsigned live_chats = 0;
    for (struct desk_chat *c = d->chats; c; c = c->hh.next)
        live_chats += c->state != DESK_CHAT_ENDED && is_customer(c, who);
    if (live_chats) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "customer: %u chat(s) of this customer are still open; "
                 "close them first",
                 live_chats);
        return -1;
    }
    if (d->purge) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "Another erasure is running; try again in a moment");
        return -1;
    }
    struct purge_job *j = calloc(1, sizeof *j);
    if (!j)
        return oom(err);
    j->desk = d;
    utf8_snprintf(j->who, sizeof j->who, "%s", who);
    utf8_snprintf(j->actor, sizeof j->actor, "%s", st->asker);
    struct archive_stats as;
    archive_get_stats(d->archive, &as);
    j->seq = as.appended;
    j->deadline_ms = loop_now(d->loop) + PURGE_WAIT_MS;
    j->reply = adhoc_defer(st);
    if (!j->reply) {
        free(j);
        return oom(err);
    }
    d->purge = j;
    purge_wait(j);
    return 0;
}

/* ---- widget-snippet ------------------------------------------------------------------ */

static int widget_snippet(void *ud, struct adhoc_step *st, struct xerr *err)
{
    struct desk *d = ud;
    if (!st->form) {
        const char **opts = desk_queue_options(d);
        if (!opts)
            return oom(err);
        form_open(st->payload, "form", "urn:mucdesk:widget-snippet",
                  "Embed the chat widget",
                  "The HTML to paste into a web page.");
        form_add_choice(st->payload, "queue", "list-single", "Queue", NULL,
                        opts, true);
        form_close(st->payload);
        free(opts);
        desk_step_executing(st, 1);
        return 0;
    }
    const struct config *cfg = d->cfg;
    if (!cfg->widget.script_url || !cfg->widget.websocket_url ||
        !cfg->widget.anonymous_domain) {
        adhoc_note(st, "error",
                   "Set script_url, websocket_url and anonymous_domain in the "
                   "[widget] section of the configuration first.");
        return 0;
    }
    struct desk_queue *q = desk_queue_find(d, desk_form_text(st->form,
                                                             "queue"));
    if (!q) {
        xerr_set(err, XERR_BAD_REQUEST, "queue: no such queue");
        return -1;
    }
    char jid[JID_TEXT_MAX + 1];
    utf8_snprintf(jid, sizeof jid, "%s@%s", q->name, cfg->component.jid);
    struct buf snippet = BUF_INIT;
    desk_widget_snippet(&snippet, cfg->widget.script_url,
                        cfg->widget.websocket_url,
                        cfg->widget.anonymous_domain, cfg->component.jid, jid);
    adhoc_note(st, "info", "%s", buf_cstr(&snippet));
    desk_result_open(st);
    form_add_lines(st->payload, "snippet", "text-multi", "HTML",
                   buf_cstr(&snippet));
    form_close(st->payload);
    buf_free(&snippet);
    return 0;
}

/* ---- registration ------------------------------------------------------------------ */

static void canned_data_free(void *data)
{
    canned_edit_free(data);
}

int desk_adhoc_admin_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"canned-edit", "Edit canned responses", NULL, desk_visible_admin,
         canned_edit, canned_data_free, d},
        {"kb-edit", "Edit the knowledge base", NULL, desk_visible_admin,
         kb_edit, NULL, d},
        {"stats", "Queue figures", NULL, desk_visible_staff, stats, NULL, d},
        {"ticket-search", "Search tickets", NULL, desk_visible_supervisor,
         ticket_search, NULL, d},
        {"purge-customer", "Erase a customer's data", NULL,
         desk_visible_admin, purge_customer, NULL, d},
        {"widget-snippet", "Widget snippet for a web site", NULL,
         desk_visible_admin, widget_snippet, NULL, d},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (adhoc_register(d->adhoc, &cmds[i]) < 0)
            return -1;
    return 0;
}
