/* Ad-hoc commands for running the desk (PRODUCT.md §4):
 *
 *   purge-customer   admins: erase a customer's personal data and
 *                    transcripts (an audit event records it)
 *   widget-snippet   admins: the HTML a site pastes for a queue
 *
 * Editing canned responses and the knowledge base is adhoc_library.c's,
 * stats and ticket-search adhoc_reports.c's. */
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
        desk_adhoc_fail_db(j->reply, rc, errtext, "purge-customer");
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
    desk_adhoc_finish_note(j->reply, text);
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
        return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
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
            return desk_adhoc_oom(err);
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

int desk_adhoc_admin_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"purge-customer", "Erase a customer's data", NULL,
         desk_visible_admin, purge_customer, NULL, d},
        {"widget-snippet", "Widget snippet for a web site", NULL,
         desk_visible_admin, widget_snippet, NULL, d},
    };
    return adhoc_register_all(d->adhoc, cmds, sizeof cmds / sizeof cmds[0]);
}
