/* XEP-0313 message archive management on room JIDs, with XEP-0059 paging,
 * served by archive_query() (store/archive.h) for every page: the archive
 * sees everything appended, shipped to PostgreSQL yet or not.
 *
 * Who may read: occupants; in members-only rooms members and up; in open
 * rooms anyone not banned; and privileged staff (the room's is_privileged
 * hook).  Staff-only records reach privileged readers only, real JIDs only
 * readers allowed to see them (visibility.c).  Private messages are never
 * archived, so they cannot come back this way.
 *
 * urn:xmpp:mam:2#extended: before-id/after-id, flipped pages, the 'ids'
 * field (records by stanza id, at most MAM_IDS_MAX at once) and the
 * metadata query (the first and last record the asker may read).  Both go
 * through the same checks as a query and ask the archive for the kinds
 * write_item() shows only, with staff-only records for staff only: a
 * record hidden from the asker is, for it, not in the archive.
 *
 * In a ticket's room (ticket_id > 0) the layer above may show more: the
 * joins, leaves, transfers, status changes and ratings its transcript
 * shows the reader (struct muc_archive_events, muc.h), as groupchat
 * messages from the room's bare JID.  The kinds it names for the reader
 * join MAM_KINDS in the archive query itself, so pages, counts, `ids` and
 * metadata all see the same records; plain rooms never show them. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "core/utf8.h"
#include "muc/archiving.h"
#include "muc/mam.h"
#include "muc/room.h"
#include "muc/visibility.h"
#include "muc/voice.h"
#include "xmpp/form.h"
#include "xmpp/stamp.h"
#include "xmpp/xml.h"

#define LOG "muc"
#define NS_XDATA_VALIDATE "http://jabber.org/protocol/xdata-validate"
#define MAM_DEFAULT_MAX 20
#define MAM_MAX 100
/* Stanza ids in one 'ids' query: a page's worth (MAM_MAX), so that one
 * query can never make the archive look up an unbounded list. */
#define MAM_IDS_MAX 100

/* The kinds of records MAM shows (write_item renders exactly these). */
#define MAM_KINDS                                                              \
    (ARCHIVE_KIND_BIT(ARCHIVE_MESSAGE) | ARCHIVE_KIND_BIT(ARCHIVE_NOTE) |      \
     ARCHIVE_KIND_BIT(ARCHIVE_FILE) | ARCHIVE_KIND_BIT(ARCHIVE_SUBJECT) |      \
     ARCHIVE_KIND_BIT(ARCHIVE_SYSTEM))
/* The kinds that are nobody's message: shown in tickets' rooms only, as the
 * layer above words them (muc_archive_events), to readers it names. */
#define MAM_EVENT_KINDS                                                        \
    (ARCHIVE_KIND_BIT(ARCHIVE_JOIN) | ARCHIVE_KIND_BIT(ARCHIVE_LEAVE) |        \
     ARCHIVE_KIND_BIT(ARCHIVE_STATUS) | ARCHIVE_KIND_BIT(ARCHIVE_TRANSFER) |   \
     ARCHIVE_KIND_BIT(ARCHIVE_RATING))
/* How long a query may wait for the database before it is answered with
 * an error (the archive applies it). */

/* The archive answers only the kinds asked for, but a record may still not
 * be shown (one the layer above has no words for, out of memory): a page
 * is filled by asking the archive again from where the last answer
 * stopped, at most this many times. */
#define MAX_ROUNDS 20

/* One result, rendered, and its archive id. */
struct shown {
    char *xml;
    char *id;
};

/* One query waiting for the archive.  Holds copies: the room may be gone
 * when the answer comes. */
struct muc_mam_query {
    struct muc_mam_query *prev, *next;
    struct muc *muc;          /* NULL once the service is gone */
    char *requester;
    char *id;
    char *queryid;
    char *room_jid;
    bool jids_visible;
    bool privileged;          /* the asker, as the layer above's words need */
    char *voice;              /* the room's voice this asker hears it from
                                 (voice.h), or NULL: its bare JID */
    char voice_id[MUC_OCCUPANT_ID_LEN + 1];
    bool flip;
    /* The archive query, re-issued to fill the page; its strings: */
    struct archive_query aq;
    char *room, *with_jid, *with_nick, *after_id, *before_id;
    char **ids;
    bool backward;            /* the page nearest the end (<before/>) */
    /* A metadata query: first the oldest record, then the newest. */
    bool metadata;
    char *start_id;           /* the oldest, once found */
    int64_t start_us;
    unsigned want;            /* results to show */
    unsigned rounds;
    struct shown *items;      /* chronological */
    size_t count;
    /* Counted in flight ([muc] mam_queries_*) from query_start on. */
    bool counted;
    struct budget_holder by_jid, by_domain;
};

/* No longer in flight: the asker may start another. */
static void query_uncount(struct muc *muc, struct muc_mam_query *q)
{
    if (!q->counted)
        return;
    q->counted = false;
    muc->mam_in_flight--;
    uint64_t now = loop_now(muc->loop);
    budget_release(muc->mam_by_jid, &q->by_jid, now);
    budget_release(muc->mam_by_domain, &q->by_domain, now);
}

static void query_free(struct muc_mam_query *q)
{
    if (q->muc) {
        query_uncount(q->muc, q);
        if (q->prev)
            q->prev->next = q->next;
        else
            q->muc->mam_queries = q->next;
        if (q->next)
            q->next->prev = q->prev;
    }
    free(q->requester);
    free(q->id);
    free(q->queryid);
    free(q->room_jid);
    free(q->voice);
    free(q->room);
    free(q->with_jid);
    free(q->with_nick);
    free(q->after_id);
    free(q->before_id);
    for (size_t i = 0; q->ids && i < q->aq.n_ids; i++)
        free(q->ids[i]);
    free(q->ids);
    free(q->start_id);
    for (size_t i = 0; i < q->count; i++) {
        free(q->items[i].xml);
        free(q->items[i].id);
    }
    free(q->items);
    free(q);
}

void muc_mam_orphan_all(struct muc *muc)
{
    /* The archive still owes these an answer; when it comes, the callback
     * only frees them. */
    for (struct muc_mam_query *q = muc->mam_queries; q; q = q->next) {
        query_uncount(muc, q);
        q->muc = NULL;
    }
    muc->mam_queries = NULL;
}

/* ---- rendering one archived item --------------------------------------------------------- */

/* The kinds MAM shows this reader of this room: room messages, and in a
 * ticket's room what the layer above names for the reader. */
static unsigned shown_kinds(const struct muc *muc, const struct muc_room *room,
                            bool privileged)
{
    const struct muc_archive_events *ev = &muc->archive_events;
    unsigned kinds = MAM_KINDS;
    if (room->ticket_id > 0 && ev->kinds && ev->render)
        kinds |= ev->kinds(ev->ud, privileged) & MAM_EVENT_KINDS;
    return kinds;
}

/* A record that is nobody's message, worded by the layer above into body
 * and extra; false if it is not one this query shows. */
static bool event_words(const struct muc_mam_query *q,
                        const struct archive_item *it, struct buf *body,
                        struct buf *extra)
{
    const struct muc_archive_events *ev = &q->muc->archive_events;
    if (!(MAM_EVENT_KINDS & q->aq.kinds & ARCHIVE_KIND_BIT(it->kind)) ||
        q->aq.ticket_id <= 0 || !ev->render)
        return false;
    return ev->render(ev->ud, it, q->privileged, body, extra) &&
           !buf_failed(body) && !buf_failed(extra);
}

/* Renders one archived record as a MAM result; false for records that
 * are not shown (nothing written). */
/* What one archived item says as a room message: its element (body or
 * subject), text and payload, and whether it comes from the room itself.
 * words and extra hold an event's text the layer above wrote (freed by
 * the caller).  False: this item is not shown to this requester. */
struct item_view {
    const char *element;
    const char *text;
    const char *payload;
    bool from_room;
    bool voiced; /* the room's own words, not a subject */
};

static bool item_view(const struct muc_mam_query *q,
                      const struct archive_item *it, struct buf *words,
                      struct buf *extra, struct item_view *v)
{
    *v = (struct item_view){"body", it->body, it->payload, false, false};
    switch (it->kind) {
    case ARCHIVE_MESSAGE:
    case ARCHIVE_NOTE:
    case ARCHIVE_FILE:
        break;
    case ARCHIVE_SUBJECT:
        v->element = "subject";
        v->from_room = !it->actor_nick;
        break;
    case ARCHIVE_SYSTEM:
        v->from_room = true;
        break;
    default:
        /* Joins, leaves, ticket events: only as the layer above words
         * them, from the room. */
        if (!event_words(q, it, words, extra))
            return false;
        v->from_room = true;
        v->text = buf_cstr(words);
        v->payload = extra->len ? buf_cstr(extra) : NULL;
        break;
    }
    if (!v->from_room && !it->actor_nick)
        v->from_room = true;
    v->voiced = v->from_room && it->kind != ARCHIVE_SUBJECT;
    return true;
}

static bool write_item(struct buf *out, const struct muc_mam_query *q,
                       const struct archive_item *it)
{
    struct buf words = BUF_INIT, extra = BUF_INIT;
    struct item_view v;
    if (!item_view(q, it, &words, &extra, &v)) {
        buf_free(&words);
        buf_free(&extra);
        return false;
    }
    char from[JID_TEXT_MAX + 1];
    bool voiced = v.voiced && q->voice;
    if (voiced)
        snprintf(from, sizeof from, "%s/%s", q->room_jid, q->voice);
    else if (v.from_room)
        snprintf(from, sizeof from, "%s", q->room_jid);
    else
        snprintf(from, sizeof from, "%s/%s", q->room_jid, it->actor_nick);
    char stamp[STAMP_TEXT_MAX];
    stamp_format(it->at_us, stamp);

    buf_append_str(out, "<message");
    xml_attr(out, "from", q->room_jid);
    xml_attr(out, "to", q->requester);
    buf_append_str(out, "><result xmlns='" NS_MAM "'");
    xml_attr(out, "queryid", q->queryid);
    xml_attr(out, "id", it->stanza_id);
    buf_append_str(out, "><forwarded xmlns='" NS_FORWARD "'>"
                        "<delay xmlns='" NS_DELAY "'");
    xml_attr(out, "stamp", stamp);
    buf_append_str(out, "/><message xmlns='jabber:client' type='groupchat'");
    xml_attr(out, "from", from);
    /* The sender's own id, as the live copy had it (muc#stable_id):
     * clients find the message a correction or reaction refers to by it. */
    if (it->message_id && !v.from_room)
        xml_attr(out, "id", it->message_id);
    buf_printf(out, "><%s>", v.element);
    if (v.text)
        xml_text(out, v.text);
    buf_printf(out, "</%s>", v.element);
    if (v.payload)
        xml_markup(out, v.payload); /* from the store: checked again */
    if (q->jids_visible && it->actor_jid && !v.from_room) {
        buf_append_str(out, "<x xmlns='" NS_MUC_USER "'><item");
        xml_attr(out, "jid", it->actor_jid);
        buf_append_str(out, "/></x>");
    }
    if ((it->occupant_id && !v.from_room) || voiced) {
        buf_append_str(out, "<occupant-id xmlns='" NS_OCCUPANT_ID "'");
        xml_attr(out, "id", voiced ? q->voice_id : it->occupant_id);
        buf_append_str(out, "/>");
    }
    buf_append_str(out, "<stanza-id xmlns='" NS_SID "'");
    xml_attr(out, "id", it->stanza_id);
    xml_attr(out, "by", q->room_jid);
    buf_append_str(out, "/></message></forwarded></result></message>");
    buf_free(&words);
    buf_free(&extra);
    return true;
}

static void write_error(struct buf *out, const struct muc_mam_query *q,
                        enum xerr_cond cond, const char *text)
{
    buf_append_str(out, "<iq type='error'");
    xml_attr(out, "from", q->room_jid);
    xml_attr(out, "to", q->requester);
    xml_attr(out, "id", q->id);
    buf_append_str(out, "><error");
    xml_attr(out, "type", xerr_cond_type(cond));
    buf_append_str(out, "><");
    buf_append_str(out, xerr_cond_name(cond));
    buf_append_str(out, " xmlns='" NS_STANZAS "'/><text xmlns='" NS_STANZAS
                        "' xml:lang='en'>");
    xml_text(out, text);
    buf_append_str(out, "</text></error></iq>");
}

static void on_page(void *ud, const struct archive_page *page);

static int set_copy(char **dst, const char *src)
{
    free(*dst);
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

static int ask_archive(struct muc_mam_query *q)
{
    q->aq.room = q->room;
    q->aq.with_jid = q->with_jid;
    q->aq.with_nick = q->with_nick;
    q->aq.after_id = q->after_id;
    q->aq.before_id = q->before_id;
    q->aq.ids = (const char *const *)q->ids;
    q->aq.max = q->want - (unsigned)q->count;
    q->rounds++;
    return q->muc->archive.query(q->muc->archive.archive, &q->aq, on_page, q);
}

static void finish(struct muc_mam_query *q, bool complete,
                   const char *raw_first, const char *raw_last)
{
    struct buf *out = router_out(q->muc->router);
    for (size_t i = 0; i < q->count; i++) {
        size_t k = q->flip ? q->count - 1 - i : i;
        buf_append_str(out, q->items[k].xml);
    }
    buf_append_str(out, "<iq type='result'");
    xml_attr(out, "from", q->room_jid);
    xml_attr(out, "to", q->requester);
    xml_attr(out, "id", q->id);
    buf_append_str(out, "><fin xmlns='" NS_MAM "'");
    if (complete)
        buf_append_str(out, " complete='true'");
    buf_append_str(out, "><set xmlns='" NS_RSM "'>");
    /* The results shown; if none could be shown before giving up, the
     * records passed over, so that paging moves on. */
    const char *first = q->count ? q->items[0].id : raw_first;
    const char *last = q->count ? q->items[q->count - 1].id : raw_last;
    if (first && last) {
        buf_append_str(out, "<first>");
        xml_text(out, first);
        buf_append_str(out, "</first><last>");
        xml_text(out, last);
        buf_append_str(out, "</last>");
    }
    buf_append_str(out, "</set></fin></iq>");
}

/* ---- metadata ---------------------------------------------------------------------------- */

static void write_bound(struct buf *out, const char *element, const char *id,
                        int64_t at_us)
{
    char stamp[STAMP_TEXT_MAX];
    stamp_format(at_us, stamp);
    buf_append_char(out, '<');
    buf_append_str(out, element);
    xml_attr(out, "id", id);
    xml_attr(out, "timestamp", stamp);
    buf_append_str(out, "/>");
}

/* The answer; an empty <metadata/> for an archive with nothing the asker
 * may read (start_id NULL). */
static void write_metadata(struct buf *out, const struct muc_mam_query *q,
                           const struct archive_item *end)
{
    buf_append_str(out, "<iq type='result'");
    xml_attr(out, "from", q->room_jid);
    xml_attr(out, "to", q->requester);
    xml_attr(out, "id", q->id);
    buf_append_str(out, "><metadata xmlns='" NS_MAM "'");
    if (!q->start_id || !end) {
        buf_append_str(out, "/></iq>");
        return;
    }
    buf_append_char(out, '>');
    write_bound(out, "start", q->start_id, q->start_us);
    write_bound(out, "end", end->stanza_id, end->at_us);
    buf_append_str(out, "</metadata></iq>");
}

/* Two answers: the oldest record (forwards, one item), then the newest
 * (the last page, one item).  The archive filters as for a query, so both
 * are records this asker could page to. */
static void on_metadata_page(struct muc_mam_query *q,
                             const struct archive_page *page)
{
    struct buf *out = router_out(q->muc->router);
    const struct archive_item *it = page->count ? &page->items[0] : NULL;
    if (q->aq.last_page || !it) {
        /* A record appended between the two answers may be the newest
         * one; none at all means nothing to read yet. */
        write_metadata(out, q, it);
        query_free(q);
        return;
    }
    if (set_copy(&q->start_id, it->stanza_id) < 0) {
        write_error(out, q, XERR_INTERNAL_SERVER_ERROR, "Out of memory");
        query_free(q);
        return;
    }
    q->start_us = it->at_us;
    q->aq.last_page = true;
    if (ask_archive(q) < 0) {
        write_error(out, q, XERR_RESOURCE_CONSTRAINT,
                    "The archive is busy; try again");
        query_free(q);
    }
}

static void on_page(void *ud, const struct archive_page *page)
{
    struct muc_mam_query *q = ud;
    if (!q->muc) {
        query_free(q);
        return;
    }
    struct buf *out = router_out(q->muc->router);
    if (page->failed) {
        write_error(out, q, XERR_RESOURCE_CONSTRAINT,
                    "The archive is not available right now; try again");
        query_free(q);
        return;
    }
    if (page->unknown_id) {
        write_error(out, q, XERR_ITEM_NOT_FOUND,
                    "That message is not in the archive");
        query_free(q);
        return;
    }
    if (q->metadata) {
        on_metadata_page(q, page);
        return;
    }
    /* Render this answer, oldest first, and add it on the side it extends:
     * after what we have going forwards, before it going backwards. */
    struct shown *fresh = calloc(page->count ? page->count : 1, sizeof *fresh);
    size_t n = 0;
    struct buf b = BUF_INIT;
    for (size_t i = 0; fresh && i < page->count; i++) {
        buf_reset(&b);
        if (!write_item(&b, q, &page->items[i]) || buf_failed(&b))
            continue;
        fresh[n].xml = strdup(buf_cstr(&b));
        fresh[n].id = strdup(page->items[i].stanza_id);
        if (fresh[n].xml && fresh[n].id)
            n++;
        else {
            free(fresh[n].xml);
            free(fresh[n].id);
        }
    }
    buf_free(&b);
    struct shown *all = fresh ? realloc(q->items, (q->count + n + 1) *
                                                      sizeof *all)
                              : NULL;
    if (!all) {
        for (size_t i = 0; i < n; i++) {
            free(fresh[i].xml);
            free(fresh[i].id);
        }
        free(fresh);
        write_error(out, q, XERR_INTERNAL_SERVER_ERROR, "Out of memory");
        query_free(q);
        return;
    }
    q->items = all;
    if (q->backward) {
        memmove(q->items + n, q->items, q->count * sizeof *q->items);
        memcpy(q->items, fresh, n * sizeof *q->items);
    } else {
        memcpy(q->items + q->count, fresh, n * sizeof *q->items);
    }
    q->count += n;
    free(fresh);

    bool exhausted = page->complete || page->count == 0;
    const char *raw_first = page->count ? page->items[0].stanza_id : NULL;
    const char *raw_last =
        page->count ? page->items[page->count - 1].stanza_id : NULL;
    if (q->count < q->want && !exhausted && q->rounds < MAX_ROUNDS) {
        /* Ask again from where this answer stopped. */
        int rc = q->backward ? set_copy(&q->before_id, raw_first)
                             : set_copy(&q->after_id, raw_last);
        q->aq.last_page = false;
        if (rc == 0 && ask_archive(q) == 0)
            return;
    }
    finish(q, exhausted, raw_first, raw_last);
    query_free(q);
}

/* ---- the query ------------------------------------------------------------------------- */

static void write_query_form(struct buf *out, const struct stanza_in *in)
{
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query xmlns='" NS_MAM "'>");
    form_open(out, "form", NS_MAM, NULL, NULL);
    form_add(out, "with", "jid-single", NULL, NULL);
    form_add(out, "start", "text-single", NULL, NULL);
    form_add(out, "end", "text-single", NULL, NULL);
    form_add(out, "before-id", "text-single", NULL, NULL);
    form_add(out, "after-id", "text-single", NULL, NULL);
    /* XEP-0313 4.1.5: the list is open (XEP-0122), never enumerated. */
    form_field_open(out, "ids", "list-multi", NULL);
    buf_append_str(out, "<validate xmlns='" NS_XDATA_VALIDATE "' "
                        "datatype='xs:string'><open/></validate>");
    form_field_close(out);
    form_close(out);
    buf_append_str(out, "</query></iq>");
}

static bool field_known(const char *var)
{
    static const char *const known[] = {"FORM_TYPE", "with", "start", "end",
                                        "before-id", "after-id", "ids",
                                        NULL};
    for (const char *const *k = known; *k; k++)
        if (strcmp(var, *k) == 0)
            return true;
    return false;
}

static bool may_read(struct muc_room *room, const struct muc_occupant *occ,
                     bool privileged, enum muc_affiliation affil)
{
    if (privileged)
        return true;
    if (affil == MUC_AFFIL_OUTCAST)
        return false;
    if (occ)
        return true;
    return !room->cfg.members_only || affil >= MUC_AFFIL_MEMBER;
}

/* The 'ids' field's values, borrowed from the request. */
struct id_list {
    const char *v[MAM_IDS_MAX];
    size_t n;
    bool too_many;
};

static void add_id(void *ud, const char *value)
{
    struct id_list *l = ud;
    if (l->n == MAM_IDS_MAX)
        l->too_many = true;
    else
        l->v[l->n++] = value;
}

/* A query for `in` to `room`, not yet asking: the copies every answer
 * needs.  NULL out of memory. */
static struct muc_mam_query *query_new(struct muc *muc, struct muc_room *room,
                                       const struct stanza_in *in)
{
    struct muc_mam_query *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    if (!(q->requester = strdup(in->from_text)) || !(q->id = strdup(in->id)) ||
        !(q->room_jid = strdup(room->jid)) || set_copy(&q->room, room->name)) {
        query_free(q); /* not listed yet: q->muc is NULL */
        return NULL;
    }
    q->aq.room = q->room;
    q->aq.ticket_id = room->ticket_id;
    return q;
}

/* Counts q in flight for its asker, the asker's domain and the service:
 * one client cannot keep the archive (and the DB thread) busy for
 * everyone.  0, or -1 with err set (q not counted). */
static int query_count(struct muc *muc, struct muc_mam_query *q,
                       const struct stanza_in *in, struct xerr *err)
{
    char bare[JID_TEXT_MAX + 1];
    uint64_t now = loop_now(muc->loop);
    if (muc->mam_in_flight >= (unsigned)muc->cfg->muc.mam_queries_max ||
        jid_bare_text(&in->from, bare, sizeof bare) < 0 ||
        budget_hold(muc->mam_by_jid, bare, &q->by_jid, now) != BUDGET_OK) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "Too many archive queries at once: wait for the answers, "
                 "then try again");
        return -1;
    }
    if (budget_hold(muc->mam_by_domain, in->from.domain, &q->by_domain,
                    now) != BUDGET_OK) {
        budget_release(muc->mam_by_jid, &q->by_jid, now);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "The archive is busy; please try again in a moment");
        return -1;
    }
    muc->mam_in_flight++;
    q->counted = true;
    return 0;
}

/* Counts q, lists it (so that shutdown can orphan it) and asks the
 * archive.  0, or -1 with err set and q freed. */
static int query_start(struct muc *muc, struct muc_mam_query *q,
                       const struct stanza_in *in, struct xerr *err)
{
    if (query_count(muc, q, in, err) < 0) {
        query_free(q); /* not listed: q->muc is NULL */
        return -1;
    }
    q->muc = muc;
    q->next = muc->mam_queries;
    if (muc->mam_queries)
        muc->mam_queries->prev = q;
    muc->mam_queries = q;
    if (ask_archive(q) < 0) {
        query_free(q);
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "The archive is busy; try again");
        return -1;
    }
    return 0;
}

/* Copies the ids into q (freed with it). */
static int ids_copy(struct muc_mam_query *q, const struct id_list *ids)
{
    q->aq.n_ids = 0;
    if (!ids->n)
        return 0;
    if (!(q->ids = calloc(ids->n, sizeof *q->ids)))
        return -1;
    q->aq.n_ids = ids->n; /* query_free frees up to here */
    for (size_t i = 0; i < ids->n; i++)
        if (!(q->ids[i] = strdup(ids->v[i])))
            return -1;
    return 0;
}

/* <metadata/>: the oldest and newest records this asker may read. */
static int metadata_start(struct muc *muc, struct muc_room *room,
                          const struct stanza_in *in, bool privileged,
                          struct xerr *err)
{
    struct muc_mam_query *q = query_new(muc, room, in);
    if (!q)
        return -1;
    q->metadata = true;
    q->want = 1;
    q->privileged = privileged;
    q->aq.kinds = shown_kinds(muc, room, privileged);
    q->aq.include_staff_only = privileged;
    return query_start(muc, q, in, err);
}

/* A query being read from the iq: who asks, and what. */
struct mam_request {
    struct muc_occupant *occ; /* NULL: asked from outside the room */
    bool privileged;
    bool jids_visible;
    struct archive_query aq;
    struct id_list ids;
    char with_bare[JID_TEXT_MAX + 1];
    char with_nick[JID_PART_MAX + 1];
};

/* The room whose archive is asked for, or NULL with *err set: a concealed
 * room answers as one whose archive the asker may not read. */
static struct muc_room *archive_room(struct muc *muc,
                                     const struct stanza_in *in,
                                     struct xerr *err)
{
    struct muc_room *room = muc_room_for_sender(muc, in);
    if (!room && muc_room_concealed(muc, in->to.local, in)) {
        /* Existing or not, as for a room whose archive one may not read. */
        xerr_set(err, XERR_FORBIDDEN, "You may not read this room's archive");
        return NULL;
    }
    if (!room || room->destroying || room->locked) {
        xerr_set(err, XERR_ITEM_NOT_FOUND, "The room does not exist");
        return NULL;
    }
    if (!muc_mam_enabled(room)) {
        xerr_set(err, XERR_SERVICE_UNAVAILABLE,
                 "This room keeps no message archive");
        return NULL;
    }
    return room;
}

/* Who asks, and whether they may read the archive.  0 or -1. */
static int identify_reader(struct muc_room *room, const struct stanza_in *in,
                           struct mam_request *r, struct xerr *err)
{
    char bare[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, bare, sizeof bare);
    struct muc_session *s = muc_session_find(room, in->from_text);
    r->occ = s ? s->occ : NULL;
    r->privileged = r->occ ? r->occ->privileged
                           : muc_outsider_privileged(room, bare);
    if (!may_read(room, r->occ, r->privileged,
                  muc_room_affiliation(room, bare))) {
        xerr_set(err, XERR_FORBIDDEN, "You may not read this room's archive");
        return -1;
    }
    r->jids_visible = muc_jids_visible_to(room, r->occ, r->privileged);
    return 0;
}

/* 'with': an occupant JID of this room (its nick) or, for those who may
 * see real JIDs, a bare JID.  0 or -1. */
static int read_with(struct muc *muc, struct muc_room *room, const char *with,
                     struct mam_request *r, struct xerr *err)
{
    struct jid wj;
    if (jid_parse(with, &wj) < 0) {
        xerr_set(err, XERR_BAD_REQUEST, "'with' is not a JID");
        return -1;
    }
    if (strcmp(wj.local, room->name) == 0 &&
        strcmp(wj.domain, muc->domain) == 0 && wj.resource[0]) {
        snprintf(r->with_nick, sizeof r->with_nick, "%s", wj.resource);
        r->aq.with_nick = r->with_nick;
        return 0;
    }
    if (!r->jids_visible) {
        xerr_set(err, XERR_FORBIDDEN,
                 "You may not search by real address here");
        return -1;
    }
    jid_bare_text(&wj, r->with_bare, sizeof r->with_bare);
    r->aq.with_jid = r->with_bare;
    return 0;
}

/* The query's data form (XEP-0313 §4.1).  0 or -1. */
static int read_query_form(struct muc *muc, struct muc_room *room,
                           xmpp_stanza_t *form, struct mam_request *r,
                           struct xerr *err)
{
    for (xmpp_stanza_t *f = xmpp_stanza_get_children(form); f;
         f = xmpp_stanza_get_next(f)) {
        const char *fname = xmpp_stanza_is_tag(f) ? xmpp_stanza_get_name(f)
                                                  : NULL;
        const char *var = stanza_attr(f, "var");
        if (fname && strcmp(fname, "field") == 0 && var && !field_known(var)) {
            xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED,
                     "Unknown query field %.*s", utf8_prec(var, 100), var);
            return -1;
        }
    }
    const char *ft = form_form_type(form);
    if (ft && strcmp(ft, NS_MAM) != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "FORM_TYPE must be " NS_MAM);
        return -1;
    }
    const char *with = form_value(form, "with");
    if (with && *with && read_with(muc, room, with, r, err) < 0)
        return -1;
    const char *start = form_value(form, "start");
    const char *end = form_value(form, "end");
    if ((start && *start && stamp_parse(start, &r->aq.start_us) < 0) ||
        (end && *end && stamp_parse(end, &r->aq.end_us) < 0)) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "start and end must be XEP-0082 date-times");
        return -1;
    }
    const char *after = form_value(form, "after-id");
    const char *before = form_value(form, "before-id");
    r->aq.after_id = after && *after ? after : NULL;
    r->aq.before_id = before && *before ? before : NULL;
    form_each_value(form, "ids", add_id, &r->ids);
    if (r->ids.too_many) {
        xerr_set(err, XERR_BAD_REQUEST,
                 "At most %d ids may be asked for in one query", MAM_IDS_MAX);
        return -1;
    }
    return 0;
}

/* RSM (XEP-0059): max, after, before (empty: the last page); no index.
 * 0 or -1. */
static int read_rsm(xmpp_stanza_t *set, struct archive_query *aq,
                    struct xerr *err)
{
    xmpp_stanza_t *m = stanza_child(set, "max", NULL);
    if (m) {
        long n = strtol(stanza_text(m), NULL, 10);
        aq->max = n < 0 ? 0 : n > MAM_MAX ? MAM_MAX : (unsigned)n;
    }
    xmpp_stanza_t *after = stanza_child(set, "after", NULL);
    xmpp_stanza_t *before = stanza_child(set, "before", NULL);
    if (after && *stanza_text(after))
        aq->after_id = stanza_text(after);
    if (before) {
        if (*stanza_text(before))
            aq->before_id = stanza_text(before);
        else
            aq->last_page = true;
    }
    if (stanza_child(set, "index", NULL)) {
        xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED,
                 "Paging by index is not supported");
        return -1;
    }
    return 0;
}

/* Makes the query (its strings copied) and asks the archive. */
static int submit(struct muc *muc, struct muc_room *room,
                  const struct stanza_in *in, xmpp_stanza_t *payload,
                  const struct mam_request *r, struct xerr *err)
{
    struct muc_mam_query *q = query_new(muc, room, in);
    if (!q)
        return -1;
    muc->stats.mam_queries++;
    q->jids_visible = r->jids_visible;
    q->privileged = r->privileged;
    const char *voice = muc_voice_for(room, r->privileged);
    if (voice) {
        if (!(q->voice = strdup(voice))) {
            query_free(q);
            return -1;
        }
        memcpy(q->voice_id, room->voice_id, sizeof q->voice_id);
    }
    q->flip = stanza_child(payload, "flip-page", NULL) != NULL;
    q->aq = r->aq;
    q->want = r->aq.max;
    q->backward = r->aq.last_page || r->aq.before_id;
    const char *queryid = stanza_attr(payload, "queryid");
    if ((queryid && !(q->queryid = strdup(queryid))) ||
        set_copy(&q->with_jid, r->aq.with_jid) ||
        set_copy(&q->with_nick, r->aq.with_nick) ||
        set_copy(&q->after_id, r->aq.after_id) ||
        set_copy(&q->before_id, r->aq.before_id) || ids_copy(q, &r->ids) < 0) {
        query_free(q);
        return -1;
    }
    if (q->want == 0) {
        /* RSM max 0: only the count (which we do not keep); say nothing. */
        q->muc = muc;
        finish(q, false, NULL, NULL);
        q->muc = NULL;
        query_free(q);
        return 0;
    }
    return query_start(muc, q, in, err);
}

int muc_iq_mam(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
               struct xerr *err)
{
    struct muc *muc = ud;
    struct muc_room *room = archive_room(muc, in, err);
    if (!room)
        return -1;
    struct mam_request r;
    memset(&r, 0, sizeof r);
    if (identify_reader(room, in, &r, err) < 0)
        return -1;
    const char *name = xmpp_stanza_get_name(payload);
    if (strcmp(in->type, "get") == 0) {
        if (name && strcmp(name, "metadata") == 0)
            return metadata_start(muc, room, in, r.privileged, err);
        if (!name || strcmp(name, "query") != 0) {
            xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED, NULL);
            return -1;
        }
        write_query_form(router_out(muc->router), in);
        return 0;
    }
    if (!name || strcmp(name, "query") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Expected a query");
        return -1;
    }
    r.aq = (struct archive_query){
        .room = room->name,
        .ticket_id = room->ticket_id,
        .max = MAM_DEFAULT_MAX,
        .include_staff_only = r.privileged,
        .kinds = shown_kinds(muc, room, r.privileged),
    };
    xmpp_stanza_t *form = form_find(payload);
    if (form && read_query_form(muc, room, form, &r, err) < 0)
        return -1;
    xmpp_stanza_t *set = stanza_child(payload, "set", NS_RSM);
    if (set && read_rsm(set, &r.aq, err) < 0)
        return -1;
    return submit(muc, room, in, payload, &r, err);
}
