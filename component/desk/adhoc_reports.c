/* Ad-hoc commands for figures and searches (PRODUCT.md §4), on
 * reports.c's SQL:
 *
 *   stats            staff: per queue and overall for a period (the
 *                    asker's queues; admins: all)
 *   ticket-search    supervisors (their queues), admins (all)
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
        desk_adhoc_fail_db(j->reply, rc, errtext, "stats");
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
        return desk_adhoc_oom(err);
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
            return desk_adhoc_oom(err);
        j->queues[0] = q->name;
        j->queue_count = 1;
    } else {
        j->queues = visible_queues(d, asker, DESK_ACT_WAITING,
                                   &j->queue_count, &all);
        if (!j->queues)
            return desk_adhoc_oom(err);
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
            return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
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
        desk_adhoc_fail_db(j->reply, rc, errtext, "ticket-search");
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
        /* bytes: %.19s of an ASCII stamp (to the second) */
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
        return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
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
        return desk_adhoc_oom(err);
    }
    j->reply = adhoc_defer(st);
    if (!j->reply ||
        desk_db_submit(d, search_run, search_after, j, DESK_DB_TIMEOUT_MS) <
            0) {
        search_free(j);
        return desk_adhoc_oom(err);
    }
    return 0;
}

/* ---- registration ------------------------------------------------------------------ */

int desk_adhoc_reports_register(struct desk *d)
{
    const struct adhoc_command cmds[] = {
        {"stats", "Queue figures", NULL, desk_visible_staff, stats, NULL, d},
        {"ticket-search", "Search tickets", NULL, desk_visible_supervisor,
         ticket_search, NULL, d},
    };
    return adhoc_register_all(d->adhoc, cmds, sizeof cmds / sizeof cmds[0]);
}
