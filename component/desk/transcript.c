/* Transcripts as text, and the transcript mail (see transcript.h). */
#include "build-config.h"

#include "desk/transcript.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mailref.h"
#include "core/tz.h"
#include "core/utf8.h"
#include "desk/details.h"
#include "desk/directory.h"
#include "desk/state.h"
#include "desk/text.h"
#include "store/archive.h"
#include "xmpp/xml.h"

#define TS_US(col) "(extract(epoch from " col ") * 1000000)::bigint"

static char *dup_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
                                      : strdup(PQgetvalue(res, row, col));
}

static int64_t us_or_zero(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0
                                      : strtoll(PQgetvalue(res, row, col),
                                                NULL, 10);
}

/* The ticket's columns (the first query of desk_db_transcript, in its
 * order) from the result's first row. */
static void ticket_from_row(const PGresult *res, struct desk_ticket_row *t)
{
    t->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    t->queue = dup_or_null(res, 0, 1);
    t->status = dup_or_null(res, 0, 2);
    t->subject = dup_or_null(res, 0, 3);
    t->customer_jid = dup_or_null(res, 0, 4);
    t->customer_name = dup_or_null(res, 0, 5);
    t->customer_email = dup_or_null(res, 0, 6);
    t->owner_jid = dup_or_null(res, 0, 7);
    t->priority = atoi(PQgetvalue(res, 0, 8));
    t->created_us = us_or_zero(res, 0, 9);
    t->accepted_us = us_or_zero(res, 0, 10);
    t->ended_us = us_or_zero(res, 0, 11);
    t->chat_seconds = atoi(PQgetvalue(res, 0, 12));
    t->rating = PQgetisnull(res, 0, 13) ? 0 : atoi(PQgetvalue(res, 0, 13));
    t->rating_comment = dup_or_null(res, 0, 14);
    t->details = dup_or_null(res, 0, 15);
    t->erased = strcmp(PQgetvalue(res, 0, 16), "t") == 0;
    t->impact = dup_or_null(res, 0, 17);
    t->ci = dup_or_null(res, 0, 18);
    t->tags = dup_or_null(res, 0, 19);
    t->solution = dup_or_null(res, 0, 20);
    t->customer_phone = dup_or_null(res, 0, 21);
    t->merged_into = us_or_zero(res, 0, 22);
}

int desk_db_transcript(PGconn *conn, int64_t id, size_t max_events,
                       struct desk_transcript *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char n[24], lim[24];
    snprintf(n, sizeof n, "%lld", (long long)id);
    snprintf(lim, sizeof lim, "%zu", max_events ? max_events + 1 : 0);
    const char *p[] = {n, max_events ? lim : NULL};
    PGresult *res = PQexecParams(
        conn,
        "SELECT id, queue, status, subject, customer_jid, customer_name,"
        " customer_email, owner_jid, priority, " TS_US("created_at") ", "
        TS_US("accepted_at") ", " TS_US("ended_at") ", chat_seconds,"
        " rating, rating_comment, details::text,"
        " personal_data_erased_at IS NOT NULL, impact, ci,"
        " nullif(array_to_string(tags, ', '), ''), solution, customer_phone,"
        " merged_into FROM tickets WHERE id = $1::bigint",
        1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "no ticket #%lld", (long long)id);
        return DESK_DB_NOT_FOUND;
    }
    ticket_from_row(res, &out->ticket);
    PQclear(res);
    res = PQexecParams(
        conn,
        "SELECT " TS_US("at") ", kind, mam_kind, actor_jid, actor_nick, body,"
        " staff_only FROM ticket_events WHERE ticket_id = $1::bigint"
        " ORDER BY id LIMIT $2::bigint",
        2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = desk_db_error(conn, res, err, errlen);
        desk_transcript_free(out);
        return rc;
    }
    size_t rows = (size_t)PQntuples(res);
    if (max_events && rows > max_events) {
        rows = max_events;
        out->truncated = true;
    }
    out->events = calloc(rows + 1, sizeof *out->events);
    if (!out->events) {
        PQclear(res);
        desk_transcript_free(out);
        snprintf(err, errlen, "out of memory");
        return DESK_DB_FAILED;
    }
    for (size_t i = 0; i < rows; i++) {
        struct desk_event_row *e = &out->events[i];
        e->at_us = us_or_zero(res, (int)i, 0);
        e->kind = dup_or_null(res, (int)i, 1);
        e->mam_kind = dup_or_null(res, (int)i, 2);
        e->actor_jid = dup_or_null(res, (int)i, 3);
        e->actor_nick = dup_or_null(res, (int)i, 4);
        e->body = dup_or_null(res, (int)i, 5);
        e->staff_only = strcmp(PQgetvalue(res, (int)i, 6), "t") == 0;
        out->count++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

void desk_transcript_free(struct desk_transcript *tr)
{
    struct desk_ticket_row *t = &tr->ticket;
    free(t->queue);
    free(t->status);
    free(t->subject);
    free(t->customer_jid);
    free(t->customer_name);
    free(t->customer_email);
    free(t->owner_jid);
    free(t->rating_comment);
    free(t->details);
    free(t->impact);
    free(t->ci);
    free(t->tags);
    free(t->solution);
    free(t->customer_phone);
    for (size_t i = 0; i < tr->count; i++) {
        struct desk_event_row *e = &tr->events[i];
        free(e->kind);
        free(e->mam_kind);
        free(e->actor_jid);
        free(e->actor_nick);
        free(e->body);
    }
    free(tr->events);
    memset(tr, 0, sizeof *tr);
}

/* ---- text ---------------------------------------------------------------------- */

static void civil(int64_t us, char date[16], char time[16])
{
    int64_t s = us / 1000000 - (us % 1000000 < 0);
    int64_t day = s / 86400 - (s % 86400 < 0);
    unsigned sec = (unsigned)(s - day * 86400);
    int y;
    unsigned m, d;
    tz_civil_from_days(day, &y, &m, &d);
    snprintf(date, 16, "%04u-%02u-%02u", (unsigned)y % 10000u, m % 100u,
             d % 100u);
    snprintf(time, 16, "%02u:%02u:%02u", sec / 3600 % 100, sec / 60 % 60,
             sec % 60);
}

static void when(struct buf *out, const char *label, int64_t us)
{
    if (!us)
        return;
    char date[16], time[16];
    civil(us, date, time);
    buf_printf(out, "\n%s: %s %s UTC", label, date, time);
}

bool desk_event_shown_to_customer(const struct desk_event_row *e)
{
    if (e->staff_only)
        return false;
    if (e->mam_kind && strcmp(e->mam_kind, "subject") == 0)
        return false;
    return strcmp(e->kind, "message") == 0 || strcmp(e->kind, "system") == 0 ||
           strcmp(e->kind, "file") == 0;
}

/* The pre-chat answers beyond the form's own fields, in their order. */
static void extra_details(struct buf *out, struct json_object *details)
{
    static const char *const own[] = {"question", "page", "browser",
                                      "skills", "nick", "transcript", NULL};
    if (!details)
        return;
    json_object_object_foreach(details, key, val) {
        (void)val;
        bool skip = false;
        for (const char *const *o = own; *o; o++)
            skip = skip || strcmp(*o, key) == 0;
        char v[1024];
        if (!skip && desk_details_string(details, key, v, sizeof v) == 0 &&
            v[0])
            buf_printf(out, "\n%s: %s", key, v);
    }
}

static void header(const struct desk_transcript *tr, enum desk_view view,
                   struct buf *out)
{
    const struct desk_ticket_row *t = &tr->ticket;
    char v[1024];
    struct json_object *details = desk_details_parse(t->details);
    buf_printf(out, "Ticket #%lld%s%s", (long long)t->id,
               t->subject ? ": " : "", t->subject ? t->subject : "");
    buf_printf(out, "\nQueue: %s", t->queue ? t->queue : "-");
    if (view == DESK_VIEW_STAFF) {
        buf_printf(out, "\nStatus: %s", t->status ? t->status : "-");
        buf_printf(out, "\nPriority: %d", t->priority);
    }
    if (t->erased) {
        buf_append_str(out, "\nCustomer: (personal data erased)");
    } else {
        buf_printf(out, "\nCustomer: %s", t->customer_name ? t->customer_name
                                                           : "-");
        if (t->customer_email)
            buf_printf(out, " <%s>", t->customer_email);
        if (view == DESK_VIEW_STAFF && t->customer_jid)
            buf_printf(out, " (%s)", t->customer_jid);
    }
    if (view == DESK_VIEW_STAFF && !t->erased && t->customer_phone)
        buf_printf(out, "\nPhone: %s", t->customer_phone);
    if (view == DESK_VIEW_STAFF)
        buf_printf(out, "\nAgent: %s", t->owner_jid ? t->owner_jid : "-");
    if (view == DESK_VIEW_STAFF) {
        const char *const f[][2] = {{"Impact", t->impact}, {"CI", t->ci},
                                    {"Tags", t->tags}};
        for (size_t i = 0; i < sizeof f / sizeof *f; i++)
            if (f[i][1] && f[i][1][0])
                buf_printf(out, "\n%s: %s", f[i][0], f[i][1]);
    }
    if (t->merged_into)
        buf_printf(out, "\nMerged into: ticket #%lld", (long long)t->merged_into);
    if (t->solution && t->solution[0])
        buf_printf(out, "\nSolution: %s", t->solution);
    when(out, "Started", t->created_us);
    when(out, "Accepted", t->accepted_us);
    when(out, "Ended", t->ended_us);
    if (view == DESK_VIEW_STAFF) {
        char d[32];
        desk_format_duration(t->chat_seconds, d, sizeof d);
        buf_printf(out, "\nChat time: %s", d);
        if (t->rating)
            buf_printf(out, "\nRating: %d/5%s%s%s", t->rating,
                       t->rating_comment ? " \"" : "",
                       t->rating_comment ? t->rating_comment : "",
                       t->rating_comment ? "\"" : "");
        if (desk_details_string(details, "page", v, sizeof v) == 0 && v[0])
            buf_printf(out, "\nPage: %s", v);
        if (desk_details_string(details, "browser", v, sizeof v) == 0 &&
            v[0])
            buf_printf(out, "\nBrowser: %s", v);
        extra_details(out, details);
    }
    if (desk_details_string(details, "question", v, sizeof v) == 0 && v[0])
        buf_printf(out, "\nQuestion: %s", v);
    json_object_put(details);
}

void desk_event_action(const struct desk_event_row *e, enum desk_view view,
                       struct buf *out)
{
    const char *body = e->body ? e->body : "";
    const char *who = e->actor_nick ? e->actor_nick
                      : view == DESK_VIEW_STAFF && e->actor_jid ? e->actor_jid
                                                                 : NULL;
    if (e->mam_kind && strcmp(e->mam_kind, "subject") == 0) {
        buf_printf(out, "subject: %s", body);
    } else if (!*body && (strcmp(e->kind, "join") == 0 ||
                          strcmp(e->kind, "leave") == 0)) {
        /* The room records who, not a text. */
        buf_printf(out, "%s %s the chat", who ? who : "Someone",
                   e->kind[0] == 'j' ? "entered" : "left");
    } else if (strcmp(e->kind, "transfer") == 0 && view == DESK_VIEW_STAFF &&
               e->actor_jid) {
        buf_printf(out, "%s (by %s)", body, e->actor_jid);
    } else {
        buf_append_str(out, body);
    }
}

/* The row the transcript would read for an archived record (the strings
 * borrowed: read only). */
static struct desk_event_row archived_row(const struct archive_item *it)
{
    return (struct desk_event_row){
        .at_us = it->at_us,
        .kind = (char *)archive_kind_name(it->kind),
        .mam_kind = it->kind == ARCHIVE_SUBJECT ? (char *)"subject" : NULL,
        .actor_jid = it->actor_jid,
        .actor_nick = it->actor_nick,
        .body = it->body,
        .staff_only = it->staff_only,
    };
}

unsigned desk_mam_event_kinds(void *ud, bool privileged)
{
    (void)ud;
    unsigned kinds = 0;
    for (unsigned k = 0; k <= ARCHIVE_SUBJECT; k++) {
        /* Staff-only records: the archive keeps them from customers. */
        struct archive_item it = {.kind = (enum archive_kind)k};
        struct desk_event_row e = archived_row(&it);
        if (privileged || desk_event_shown_to_customer(&e))
            kinds |= ARCHIVE_KIND_BIT(k);
    }
    return kinds;
}

bool desk_mam_event_render(void *ud, const struct archive_item *item,
                           bool privileged, struct buf *body,
                           struct buf *extra)
{
    (void)ud;
    struct desk_event_row e = archived_row(item);
    enum desk_view view = privileged ? DESK_VIEW_STAFF : DESK_VIEW_CUSTOMER;
    if (view == DESK_VIEW_CUSTOMER && !desk_event_shown_to_customer(&e))
        return false;
    desk_event_action(&e, view, body);
    buf_append_str(extra, "<desk xmlns='" NS_DESK "'");
    xml_attr(extra, "event", e.kind);
    if (item->actor_nick)
        xml_attr(extra, "nick", item->actor_nick);
    if (view == DESK_VIEW_STAFF && item->actor_jid)
        xml_attr(extra, "jid", item->actor_jid);
    buf_append_str(extra, "/>");
    return true;
}

void desk_transcript_text(const struct desk_transcript *tr, enum desk_view view,
                          struct buf *out)
{
    header(tr, view, out);
    buf_append_str(out, "\n");
    char last_date[16] = "";
    for (size_t i = 0; i < tr->count; i++) {
        const struct desk_event_row *e = &tr->events[i];
        if (view == DESK_VIEW_CUSTOMER && !desk_event_shown_to_customer(e))
            continue;
        char date[16], time[16];
        civil(e->at_us, date, time);
        if (strcmp(date, last_date) != 0) {
            buf_printf(out, "\n--- %s ---", date);
            memcpy(last_date, date, sizeof date);
        }
        const char *body = e->body ? e->body : "";
        const char *nick = e->actor_nick ? e->actor_nick
                           : view == DESK_VIEW_STAFF && e->actor_jid
                               ? e->actor_jid
                               : NULL;
        buf_printf(out, "\n[%s] %s", time, e->staff_only ? "[staff] " : "");
        if (strcmp(e->kind, "message") == 0)
            buf_printf(out, "%s: %s", nick ? nick : "?", body);
        else if (strcmp(e->kind, "file") == 0)
            buf_printf(out, "File from %s: %s", nick ? nick : "?", body);
        else if (strcmp(e->kind, "note") == 0)
            buf_printf(out, "Note by %s: %s", nick ? nick : "?", body);
        else {
            buf_append_str(out, "* ");
            desk_event_action(e, view, out);
        }
    }
    if (tr->truncated)
        buf_append_str(out, "\n(more lines: export the whole transcript with "
                            "mucdeskctl transcript)");
    buf_append_char(out, '\n');
}

void desk_transcript_latest_text(const struct desk_transcript *t,
                                 size_t latest, struct buf *out)
{
    struct desk_transcript tail = *t;
    if (tail.count > latest) {
        tail.events += tail.count - latest;
        tail.count = latest;
    }
    tail.truncated = false;
    desk_transcript_text(&tail, DESK_VIEW_STAFF, out);
    if (t->count > latest)
        buf_printf(out, "(the latest %zu of %zu%s lines: the transcript "
                        "command shows them all)\n",
                   latest, t->count, t->truncated ? "+" : "");
}

/* ---- mail ------------------------------------------------------------------------ */

static void header_line(struct buf *out, const char *name, const char *value)
{
    buf_append_str(out, name);
    buf_append_str(out, ": ");
    for (const char *p = value; *p; p++)
        if (*p != '\r' && *p != '\n')
            buf_append_char(out, *p);
    buf_append_char(out, '\n');
}

/* Appends text with lines cut at 990 bytes (on a UTF-8 boundary). */
static void body_lines(struct buf *out, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        while (n > 990) {
            size_t cut = utf8_trim(p, 990);
            buf_append(out, p, cut);
            buf_append_char(out, '\n');
            p += cut;
            n -= cut;
        }
        buf_append(out, p, n);
        buf_append_char(out, '\n');
        p += n + (p[n] == '\n');
    }
}

/* The date, From, To, Subject and our Message-ID ("mucdesk.N.UNIQUE@"
 * the From domain: [Ticket#N] and it bring the customer's reply back to
 * the ticket, mucdeskctl mail-in), then the MIME lines. */
static void mail_headers(struct buf *out, const char *from, const char *to,
                         const char *subject, int64_t ticket,
                         const char *unique, bool automatic, int64_t now)
{
    static const char *const days[] = {"Mon", "Tue", "Wed", "Thu",
                                       "Fri", "Sat", "Sun"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    int64_t day = now / 86400 - (now % 86400 < 0);
    int64_t sec = now - day * 86400;
    int y;
    unsigned m, d;
    tz_civil_from_days(day, &y, &m, &d);
    char date[64];
    snprintf(date, sizeof date, "%s, %02u %s %04d %02d:%02d:%02d +0000",
             days[tz_weekday(day)], d, months[m - 1], y, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
    char domain[256], msgid[400];
    bool with_id = mailref_domain(from, domain, sizeof domain) &&
                   mailref_message_id(msgid + 1, sizeof msgid - 2, ticket,
                                      unique, domain) > 0;
    if (with_id) {
        msgid[0] = '<';
        strcat(msgid, ">");
    }
    header_line(out, "From", from);
    header_line(out, "To", to);
    header_line(out, "Subject", subject);
    header_line(out, "Date", date);
    if (with_id)
        header_line(out, "Message-ID", msgid);
    header_line(out, "MIME-Version", "1.0");
    header_line(out, "Content-Type", "text/plain; charset=utf-8");
    header_line(out, "Content-Transfer-Encoding", "8bit");
    if (automatic)
        header_line(out, "Auto-Submitted", "auto-generated");
    buf_append_char(out, '\n');
}

void desk_mail_compose(struct buf *out, const char *from, const char *to,
                       const char *service_name,
                       const struct desk_transcript *t, int64_t now)
{
    char subject[200], unique[32];
    snprintf(subject, sizeof subject, "Your chat transcript [Ticket#%lld]",
             (long long)t->ticket.id);
    snprintf(unique, sizeof unique, "t%lld", (long long)now);
    mail_headers(out, from, to, subject, t->ticket.id, unique, true, now);
    struct buf body = BUF_INIT;
    buf_printf(&body, "Hello %s,\n\nHere is the transcript of your chat with "
                      "%s.\n\n",
               t->ticket.customer_name ? t->ticket.customer_name : "",
               service_name ? service_name : "us");
    desk_transcript_text(t, DESK_VIEW_CUSTOMER, &body);
    body_lines(out, buf_cstr(&body));
    buf_free(&body);
}

void desk_mail_compose_reply(struct buf *out, const char *from, const char *to,
                             const char *service_name,
                             const struct desk_ticket_row *t, const char *text,
                             int64_t job, int64_t now)
{
    char subject[400], unique[48];
    const char *about = t->subject && *t->subject ? t->subject
                                                  : "Your request";
    utf8_snprintf(subject, sizeof subject, "Re: %.*s [Ticket#%lld]",
                  utf8_prec(about, 200), about, (long long)t->id);
    snprintf(unique, sizeof unique, "r%lld.%lld", (long long)job,
             (long long)now);
    /* A person wrote it: no Auto-Submitted, so that auto-replies and the
     * customer's own mail client treat it as ordinary mail. */
    mail_headers(out, from, to, subject, t->id, unique, false, now);
    struct buf body = BUF_INIT;
    buf_append_str(&body, text);
    buf_printf(&body, "\n\n-- \n%s, ticket #%lld. Reply to this message to "
                      "add to your ticket.\n",
               service_name ? service_name : "Support", (long long)t->id);
    body_lines(out, buf_cstr(&body));
    buf_free(&body);
}
