/* /canned and /kb: what agents send to customers from the desk's library.
 *
 * Canned responses are in memory (read with the directory, so a change
 * made anywhere arrives within [desk] reload_interval): /canned NAME posts
 * the text as the agent at once, placeholders filled in; a text that is
 * one URL goes with XEP-0066 out-of-band data so clients show a link.
 *
 * The knowledge base stays in PostgreSQL (full-text search): /kb QUERY
 * answers the agent privately with the best matches, /kb send ID posts the
 * article (or its link) as the agent, which puts it in the transcript.
 *
 * Why not plugins (ARCHITECTURE.md suggests them): both need the
 * database (the directory load, searches), which the plugin ABI does not
 * offer; an asynchronous SQL interface in the ABI would tie every plugin
 * to the schema and the DB thread's contract.  The ratings plugin shows
 * what the ABI is for. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "desk/canned.h"
#include "desk/chat.h"
#include "desk/juggling.h"
#include "desk/commands.h"
#include "desk/dbops.h"
#include "desk/directory.h"
#include "desk/library.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/text.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define BARE_MAX (JID_TEXT_MAX + 1)
#define KB_RESULTS 5

const struct desk_canned *desk_canned_find(const struct desk *d,
                                           const char *queue,
                                           const char *name)
{
    const struct desk_canned *global = NULL;
    for (size_t i = 0; i < d->canned_count; i++) {
        const struct desk_canned *c = &d->canned[i];
        if (strcmp(c->name, name) != 0)
            continue;
        if (queue && strcmp(c->queue, queue) == 0)
            return c;
        if (!c->queue[0])
            global = c;
    }
    return global;
}

/* The caller's occupant in the chat's room, visible (a message from an
 * invisible observer would reveal them). */
static struct muc_occupant *speaker(struct desk_call *call, struct xerr *err)
{
    struct desk_chat *c = call->chat;
    if (c->state == DESK_CHAT_ENDED || !c->room) {
        xerr_set(err, XERR_CONFLICT, "This chat has ended");
        return NULL;
    }
    struct muc_occupant *o = call->occ ? call->occ
                                       : muc_room_find_user(c->room,
                                                            call->actor);
    if (!o) {
        xerr_set(err, XERR_NOT_ALLOWED, "Join the chat first");
        return NULL;
    }
    if (muc_occupant_invisible(o)) {
        xerr_set(err, XERR_NOT_ALLOWED,
                 "You are observing invisibly: !visible first");
        return NULL;
    }
    return o;
}

/* Posts text as the occupant in c's room, with XEP-0066 data if it is a
 * URL (desc: what the link is, or NULL): staff answering the customer
 * (the answer clock, juggling.c). */
static int say(struct desk_chat *c, struct muc_occupant *o, const char *text,
               const char *url, const char *desc, struct xerr *err)
{
    struct buf oob = BUF_INIT;
    if (url) {
        buf_append_str(&oob, "<x xmlns='jabber:x:oob'><url>");
        xml_text(&oob, url);
        buf_append_str(&oob, "</url>");
        if (desc) {
            buf_append_str(&oob, "<desc>");
            xml_text(&oob, desc);
            buf_append_str(&oob, "</desc>");
        }
        buf_append_str(&oob, "</x>");
    }
    int rc = muc_occupant_say(o, text, url ? buf_cstr(&oob) : NULL);
    buf_free(&oob);
    if (rc == 0)
        desk_chat_heard(c, o);
    if (rc < 0)
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "That could not be sent; try again");
    return rc;
}

static void list_canned(struct desk_call *call)
{
    const char *queue = call->chat->queue;
    buf_append_str(call->reply, "Canned responses:");
    size_t before = call->reply->len;
    for (size_t i = 0; i < call->desk->canned_count; i++) {
        const struct desk_canned *c = &call->desk->canned[i];
        if (c->queue[0] && strcmp(c->queue, queue) != 0)
            continue;
        /* A queue's own hides the global one of the same name. */
        if (!c->queue[0] && desk_canned_find(call->desk, queue, c->name) != c)
            continue;
        buf_printf(call->reply, "%s %s", call->reply->len > before ? "," : "",
                   c->name);
    }
    if (call->reply->len == before)
        buf_append_str(call->reply, " none.");
}

int desk_cmd_canned(struct desk_call *call, const char *args,
                    struct xerr *err)
{
    struct desk_chat *c = call->chat;
    char name[80];
    if (!desk_next_word(&args, name, sizeof name)) {
        list_canned(call);
        return 0;
    }
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const struct desk_canned *cr = desk_canned_find(call->desk, c->queue, name);
    if (!cr) {
        xerr_set(err, XERR_ITEM_NOT_FOUND,
                 "No canned response called %.*s (!canned lists them)",
                 utf8_prec(name, 60), name);
        return -1;
    }
    struct muc_occupant *o = speaker(call, err);
    if (!o)
        return -1;
    char ticket[24];
    snprintf(ticket, sizeof ticket, "%lld", (long long)c->id);
    const struct desk_queue *q = call->queue;
    const char *vars[] = {
        "customer", c->customer_name ? c->customer_name : "",
        "agent", muc_occupant_nick(o),
        "ticket", ticket,
        "queue", q ? (q->title ? q->title : q->name) : c->queue,
        NULL};
    struct buf text = BUF_INIT;
    desk_expand(cr->body, vars, &text);
    char url[2048];
    bool is_url = desk_is_url(buf_cstr(&text), url, sizeof url);
    int rc = say(c, o, buf_cstr(&text), is_url ? url : NULL, NULL, err);
    buf_free(&text);
    if (rc == 0 && call->step)
        buf_printf(call->reply, "Canned response %s sent.", cr->name);
    return rc;
}

/* ---- the knowledge base ------------------------------------------------------------ */

struct kb_job {
    struct desk_later *later;
    int64_t ticket;
    char queue[128];
    char actor[BARE_MAX];
    bool send;
    int64_t id;
    char query[512];
    struct desk_kb_article *hits;
    size_t count;
    struct desk_kb_article article;
};

static int kb_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct kb_job *j = ud;
    if (j->send)
        return desk_db_kb_get(conn, j->id, j->queue, &j->article, err, errlen);
    return desk_db_kb_search(conn, j->queue, j->query, KB_RESULTS, &j->hits,
                             &j->count, err, errlen);
}

static void kb_found(struct kb_job *j)
{
    struct buf text = BUF_INIT;
    if (!j->count) {
        buf_printf(&text, "No article matches \"%.*s\".",
                   utf8_prec(j->query, 200), j->query);
    } else {
        buf_printf(&text, "Articles for \"%.*s\":", utf8_prec(j->query, 200),
                   j->query);
        for (size_t i = 0; i < j->count; i++) {
            const struct desk_kb_article *a = &j->hits[i];
            buf_printf(&text, "\n#%lld %s", (long long)a->id, a->title);
            if (a->url)
                buf_printf(&text, " <%s>", a->url);
            if (a->excerpt && a->excerpt[0])
                buf_printf(&text, "\n    %s", a->excerpt);
        }
        buf_append_str(&text, "\nSend one with !kb send ID.");
    }
    desk_later_reply(j->later, buf_cstr(&text));
    buf_free(&text);
}

static void kb_send(struct desk *d, struct kb_job *j)
{
    struct xerr err;
    xerr_init(&err);
    struct desk_chat *c = desk_chat_find(d, j->ticket);
    struct desk_call call = {.desk = d, .actor = j->actor, .chat = c,
                             .place = DESK_IN_SESSION};
    struct muc_occupant *o = c ? speaker(&call, &err) : NULL;
    if (!c) /* closed and gone meanwhile */
        xerr_set(&err, XERR_CONFLICT, "This chat has ended");
    if (!o) {
        desk_later_fail(j->later, &err);
        return;
    }
    const struct desk_kb_article *a = &j->article;
    struct buf text = BUF_INIT;
    /* The title on its own line, then the link: every client shows that
     * readably (not "Title?: https://..."), and turns the URL into a
     * link; the OOB <desc> names it for clients that render a card. */
    if (a->url)
        buf_printf(&text, "%s\n%s", a->title, a->url);
    else
        buf_printf(&text, "%s\n\n%s", a->title, a->body ? a->body : "");
    if (say(c, o, buf_cstr(&text), a->url, a->url ? a->title : NULL, &err) < 0) {
        buf_free(&text);
        desk_later_fail(j->later, &err);
        return;
    }
    buf_free(&text);
    char note[120];
    snprintf(note, sizeof note, "knowledge base article #%lld sent",
             (long long)a->id);
    desk_chat_event(c, ARCHIVE_SYSTEM, j->actor, muc_occupant_nick(o), note,
                    true);
    /* The agent sees the message itself; a form user gets a note. */
    snprintf(note, sizeof note, "Article #%lld sent.", (long long)a->id);
    desk_later_reply(j->later, note);
}

static void kb_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct kb_job *j = ud;
    struct xerr err;
    if (rc == DESK_DB_NOT_FOUND) {
        xerr_set(&err, XERR_ITEM_NOT_FOUND,
                 "No article #%lld for this queue", (long long)j->id);
        desk_later_fail(j->later, &err);
    } else if (rc != DESK_DB_OK) {
        log_warn(LOG, "knowledge base: %s", errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The knowledge base cannot be reached; try again");
        desk_later_fail(j->later, &err);
    } else if (j->send) {
        kb_send(d, j);
    } else {
        kb_found(j);
    }
    desk_kb_articles_free(j->hits, j->count);
    desk_kb_article_clear(&j->article);
    free(j);
}

int desk_cmd_kb(struct desk_call *call, const char *args, struct xerr *err)
{
    static const char usage[] = "Usage: !kb QUERY, or !kb send ID";
    struct desk_chat *c = call->chat;
    struct kb_job *j = calloc(1, sizeof *j);
    if (!j) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again");
        return -1;
    }
    j->ticket = c->id;
    utf8_snprintf(j->queue, sizeof j->queue, "%s", c->queue);
    utf8_snprintf(j->actor, sizeof j->actor, "%s", call->actor);
    const char *rest = args;
    char word[32];
    long id;
    if (desk_next_word(&rest, word, sizeof word) && strcmp(word, "send") == 0) {
        if (desk_parse_int(rest[0] == '#' ? rest + 1 : rest, 1,
                           INT64_MAX / 2, &id) < 0) {
            xerr_set(err, XERR_BAD_REQUEST, "article: a number; %s", usage);
            free(j);
            return -1;
        }
        if (!speaker(call, err)) { /* tell now rather than after the query */
            free(j);
            return -1;
        }
        j->send = true;
        j->id = id;
    } else if (*args) {
        utf8_snprintf(j->query, sizeof j->query, "%s", args);
    } else {
        xerr_set(err, XERR_BAD_REQUEST, "%s", usage);
        free(j);
        return -1;
    }
    j->later = desk_call_defer(call);
    if (!j->later ||
        desk_db_submit(call->desk, kb_run, kb_after, j, DESK_DB_TIMEOUT_MS) <
            0) {
        /* Nothing is queued: the command fails now after all. */
        desk_later_cancel(j->later);
        free(j);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again");
        return -1;
    }
    return 0;
}
