/* Ad-hoc commands for the library (PRODUCT.md §4), on library.c's SQL:
 *
 *   canned-edit      admins: add, change, delete canned responses
 *   kb-edit          admins: add, change, delete knowledge-base articles
 *
 * Database work is deferred (adhoc_defer) to the DB thread. */
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
        desk_adhoc_fail_db(e->reply, rc, errtext, "canned-edit");
    } else {
        desk_reload_soon(d); /* in memory at once, not at the next poll */
        char text[300];
        utf8_snprintf(text, sizeof text, "Canned response %s %s%s%s.", e->name,
                      e->remove ? "deleted" : "saved",
                      e->queue[0] ? " for queue " : " for every queue",
                      e->queue);
        desk_adhoc_finish_note(e->reply, text);
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
        return desk_adhoc_oom(err);
    memcpy(e->queue, from->queue, sizeof e->queue);
    memcpy(e->name, from->name, sizeof e->name);
    e->remove = from->remove;
    buf_append_str(&e->body, body ? body : "");
    e->reply = adhoc_defer(st);
    if (!e->reply ||
        desk_db_submit(d, canned_run, canned_after, e, DESK_DB_TIMEOUT_MS) <
            0) {
        canned_edit_free(e);
        return desk_adhoc_oom(err);
    }
    return 0;
}

/* canned-edit's first form: queue, name, action. */
static int canned_name_form(struct desk *d, struct adhoc_step *st,
                            struct xerr *err)
{
    static const char *const actions[] = {"save", "Add or change", "delete",
                                          "Delete", NULL};
    const char **opts = desk_queue_options_with(d, "Every queue");
    if (!opts)
        return desk_adhoc_oom(err);
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
            return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
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
    const char **opts = desk_queue_options_with(d, "Every queue");
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
        desk_adhoc_fail_db(e->reply, rc,
                           rc == DESK_DB_NOT_FOUND ? "article: no such article"
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
        desk_adhoc_finish_note(e->reply, text);
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
        return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
    st->data = id;
    struct kb_edit *e = calloc(1, sizeof *e);
    if (!e)
        return desk_adhoc_oom(err);
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

/* ---- registration ------------------------------------------------------------------ */

static void canned_data_free(void *data)
{
    canned_edit_free(data);
}

int desk_adhoc_library_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"canned-edit", "Edit canned responses", NULL, desk_visible_admin,
         canned_edit, canned_data_free, d},
        {"kb-edit", "Edit the knowledge base", NULL, desk_visible_admin,
         kb_edit, NULL, d},
    };
    return adhoc_register_all(d->adhoc, cmds, sizeof cmds / sizeof cmds[0]);
}
