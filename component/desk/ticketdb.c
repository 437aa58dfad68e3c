/* The SQL of the ticket commands (see ticketdb.h). */
#include "build-config.h"

#include "desk/ticketdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "desk/directory.h"
#include "desk/text.h"

/* ILIKE '%' || escaped($n) || '%' (as reports.c) */
#define CONTAINS(n)                                                            \
    "('%' || replace(replace(replace($" #n ", '\\', '\\\\'), '%', '\\%'),"      \
    " '_', '\\_') || '%')"
#define VISIBLE(n) "($" #n "::text[] IS NULL OR queue = ANY ($" #n "::text[]))"

static char *dup_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
                                      : strdup(PQgetvalue(res, row, col));
}

char *desk_db_queue_array(const char *const *queues, size_t n)
{
    /* Queue names hold no quotes, commas, braces or blanks (directory.c
     * refuses them). */
    if (!queues)
        return NULL;
    struct buf b = BUF_INIT;
    buf_append_char(&b, '{');
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s\"%s\"", i ? "," : "", queues[i]);
    buf_append_char(&b, '}');
    return buf_steal(&b);
}

int desk_db_tickets_list(PGconn *conn, const struct desk_ticket_filter *f,
                         struct desk_found **out, size_t *count, long *total,
                         char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    *total = 0;
    char age[24], lim[16];
    snprintf(age, sizeof age, "%lld", (long long)f->age_s);
    snprintf(lim, sizeof lim, "%d", f->limit > 0 ? f->limit : DESK_TICKETS_MAX);
    char *arr = desk_db_queue_array(f->queues, f->queue_count);
#define OPT(s) ((s) && *(s) ? (s) : NULL)
    const char *p[] = {OPT(f->queue), OPT(f->status), OPT(f->owner),
                       f->unassigned ? "t" : "f", OPT(f->text),
                       f->age_s ? age : NULL, f->older ? "t" : "f", arr, lim};
#undef OPT
    PGresult *res = PQexecParams(
        conn,
        "SELECT id, queue, status, subject, customer_name, customer_email,"
        " owner_jid, (extract(epoch from created_at) * 1000000)::bigint,"
        " count(*) OVER () FROM tickets WHERE"
        " ($1::text IS NULL OR queue = $1)"
        " AND ($2::text IS NULL OR status = $2"
        "  OR ($2 = 'OPEN' AND status <> 'RESOLVED'))"
        " AND ($3::text IS NULL OR owner_jid = $3)"
        " AND (NOT $4::boolean OR owner_jid IS NULL)"
        " AND ($5::text IS NULL OR subject ILIKE " CONTAINS(5)
        "  OR customer_name ILIKE " CONTAINS(5)
        "  OR customer_email ILIKE " CONTAINS(5)
        "  OR details->>'question' ILIKE " CONTAINS(5) ")"
        " AND ($6::bigint IS NULL OR CASE WHEN $7::boolean"
        "  THEN created_at < now() - $6::bigint * interval '1 second'"
        "  ELSE created_at >= now() - $6::bigint * interval '1 second' END)"
        " AND " VISIBLE(8)
        " ORDER BY id LIMIT $9::integer",
        9, NULL, p, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    int n;
    *out = desk_db_rows(res, sizeof **out, &n, err, errlen);
    if (!*out)
        return DESK_DB_FAILED;
    for (int i = 0; i < n; i++) {
        desk_found_read(res, i, &(*out)[i]);
        *total = atol(PQgetvalue(res, i, 8));
        (*count)++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

int desk_db_ticket_visible(PGconn *conn, int64_t id, const char *const *queues,
                           size_t queue_count, char *err, size_t errlen)
{
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)id);
    char *arr = desk_db_queue_array(queues, queue_count);
    const char *p[] = {tid, arr};
    PGresult *res = PQexecParams(conn,
                                 "SELECT 1 FROM tickets WHERE id = $1::bigint"
                                 " AND " VISIBLE(2),
                                 2, NULL, p, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    bool found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        snprintf(err, errlen, "ticket: not found");
        return DESK_DB_NOT_FOUND;
    }
    return DESK_DB_OK;
}

/* ---- update ------------------------------------------------------------------- */

static int exec_cmd(PGconn *conn, const char *sql, int n, const char *const *p,
                    char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    PQclear(res);
    return DESK_DB_OK;
}

/* One staff-only event; *seq numbers the request's events for their
 * stanza_id (a retry writes the same ids: ON CONFLICT skips them). */
static int add_event(PGconn *conn, const struct desk_ticket_change *c,
                     int64_t ticket, const char *kind, const char *body,
                     int *seq, char *err, size_t errlen)
{
    char id[24], sid[96];
    snprintf(id, sizeof id, "%lld", (long long)ticket);
    snprintf(sid, sizeof sid, "%s-%d", c->key, (*seq)++);
    const char *p[] = {id, kind, c->actor, body, sid};
    return exec_cmd(conn,
                    "INSERT INTO ticket_events (ticket_id, kind, actor_jid,"
                    " body, stanza_id, staff_only) VALUES ($1::bigint, $2,"
                    " $3, $4, $5, true) ON CONFLICT (stanza_id) DO NOTHING",
                    5, p, err, errlen);
}

static bool differs(const char *want, const char *have)
{
    if (!want)
        return false;
    return strcmp(want, have ? have : "") != 0;
}

/* "label value" (or "label" alone) added to the summary. */
static void summary_add(struct desk_ticket_updated *o, const char *label,
                        const char *value)
{
    size_t len = strlen(o->summary);
    utf8_snprintf(o->summary + len, sizeof o->summary - len, "%s%s%s%s",
                  len ? "; " : "", label, value ? " " : "", value ? value : "");
    o->changes++;
}

/* The text field `col` of the ticket: event and summary if it changes. */
struct text_field {
    const char *name;             /* the form field */
    const char *want;
    const char *have;
};

/* One ticket-update in its transaction: what the ticket is now, what
 * changes, and each step's statements. */
struct update {
    PGconn *conn;
    const struct desk_ticket_change *c;
    struct desk_ticket_updated *o;
    char *err;
    size_t errlen;
    char id[24], mid[24];
    char *arr;                    /* the visible queues (text[]), or NULL */
    /* now */
    char *owner;
    int priority;
    bool live;                    /* a chat not yet ended */
    struct text_field texts[4];   /* impact, ci, tags, solution */
    /* what changes */
    const char *status;           /* wanted (RESOLVED for a merge), or NULL */
    bool st_changed, q_changed, own_changed, pr_changed;
    char pr[8];
    int seq;                      /* the request's events so far */
};

#define NTEXTS 4

static int event(struct update *u, int64_t ticket, const char *kind,
                 const char *body)
{
    return add_event(u->conn, u->c, ticket, kind, body, &u->seq, u->err,
                     u->errlen);
}

/* The ticket's row, locked: NOT_FOUND unless visible. */
static int load_current(struct update *u)
{
    const char *p[] = {u->id, u->arr};
    PGresult *res = PQexecParams(
        u->conn,
        "SELECT queue, status, owner_jid, priority, coalesce(customer_name,"
        " ''), coalesce(subject, ''), impact, ci,"
        " array_to_string(tags, ','), solution,"
        " room IS NOT NULL AND ended_at IS NULL FROM tickets"
        " WHERE id = $1::bigint AND " VISIBLE(2) " FOR UPDATE",
        2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(u->conn, res, u->err, u->errlen);
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(u->err, u->errlen, "ticket: not found");
        return DESK_DB_NOT_FOUND;
    }
    struct desk_ticket_updated *o = u->o;
    utf8_snprintf(o->old_queue, sizeof o->old_queue, "%s",
                  PQgetvalue(res, 0, 0));
    utf8_snprintf(o->queue, sizeof o->queue, "%s", PQgetvalue(res, 0, 0));
    utf8_snprintf(o->status, sizeof o->status, "%s", PQgetvalue(res, 0, 1));
    utf8_snprintf(o->customer, sizeof o->customer, "%s",
                  PQgetvalue(res, 0, 4));
    utf8_snprintf(o->subject, sizeof o->subject, "%s", PQgetvalue(res, 0, 5));
    u->owner = dup_or_null(res, 0, 2);
    u->priority = atoi(PQgetvalue(res, 0, 3));
    u->live = strcmp(PQgetvalue(res, 0, 10), "t") == 0;
    const struct desk_ticket_change *c = u->c;
    const char *const names[NTEXTS] = {"impact", "ci", "tags", "solution"};
    const char *const wants[NTEXTS] = {c->impact, c->ci, c->tags, c->solution};
    for (int i = 0; i < NTEXTS; i++)
        u->texts[i] = (struct text_field){names[i], wants[i],
                                          dup_or_null(res, 0, 6 + i)};
    PQclear(res);
    return DESK_DB_OK;
}

/* Whether one row answers sql($1): 1, 0, or a DESK_DB_ error. */
static int exists(struct update *u, const char *sql, int n,
                  const char *const *p)
{
    PGresult *res = PQexecParams(u->conn, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(u->conn, res, u->err, u->errlen);
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found;
}

/* What may not be done: a live chat's own fields, a merge target or a
 * queue that is not there. */
static int check_request(struct update *u)
{
    const struct desk_ticket_change *c = u->c;
    if (u->live && (c->status || c->owner || c->queue || c->priority ||
                    c->merge_into)) {
        snprintf(u->err, u->errlen,
                 "Ticket #%lld is a live chat: its status, owner, queue and "
                 "priority change in its room (!close, !forward, !take, "
                 "!priority)",
                 (long long)c->id);
        return DESK_DB_LIVE_CHAT;
    }
    if (c->merge_into) {
        const char *mp[] = {u->mid, u->arr};
        int f = exists(u, "SELECT 1 FROM tickets WHERE id = $1::bigint AND "
                          VISIBLE(2) " FOR UPDATE", 2, mp);
        if (f <= 0) {
            if (f == 0)
                snprintf(u->err, u->errlen, "merge-into: not found");
            return f == 0 ? DESK_DB_NOT_FOUND : f;
        }
    }
    if (c->queue && strcmp(c->queue, u->o->queue) != 0) {
        const char *qp[] = {c->queue};
        int f = exists(u, "SELECT 1 FROM queues WHERE name = $1", 1, qp);
        if (f <= 0) {
            if (f == 0)
                snprintf(u->err, u->errlen, "queue: no such queue");
            return f == 0 ? DESK_DB_INVALID : f;
        }
    }
    return DESK_DB_OK;
}

static void plan(struct update *u)
{
    const struct desk_ticket_change *c = u->c;
    u->status = c->merge_into ? "RESOLVED" : c->status;
    u->st_changed = u->status && strcmp(u->status, u->o->status) != 0;
    u->q_changed = c->queue && strcmp(c->queue, u->o->queue) != 0;
    u->own_changed = differs(c->owner, u->owner);
    u->pr_changed = c->priority && c->priority != u->priority;
    snprintf(u->pr, sizeof u->pr, "%d", c->priority);
}

/* The columns: each changed one set (NULL keeps the others). */
static int apply_columns(struct update *u)
{
    const struct desk_ticket_change *c = u->c;
    const struct text_field *t = u->texts;
    const char *up[] = {u->id,
                        u->st_changed ? u->status : NULL,
                        u->q_changed ? c->queue : NULL,
                        u->own_changed ? "t" : "f",
                        u->own_changed && *c->owner ? c->owner : NULL,
                        u->pr_changed ? u->pr : NULL,
                        differs(t[0].want, t[0].have) ? t[0].want : NULL,
                        differs(t[1].want, t[1].have) ? t[1].want : NULL,
                        differs(t[2].want, t[2].have) ? t[2].want : NULL,
                        differs(t[3].want, t[3].have) ? t[3].want : NULL,
                        c->merge_into ? u->mid : NULL};
    return exec_cmd(
        u->conn,
        "UPDATE tickets SET status = coalesce($2::text, status),"
        " ended_at = CASE WHEN $2::text = 'RESOLVED' THEN coalesce(ended_at, now())"
        "  ELSE ended_at END,"
        " queue = coalesce($3::text, queue),"
        " owner_jid = CASE WHEN $4::boolean THEN $5::text ELSE owner_jid END,"
        " priority = coalesce($6::integer, priority),"
        " impact = CASE WHEN $7::text IS NULL THEN impact ELSE nullif($7::text, '') END,"
        " ci = CASE WHEN $8::text IS NULL THEN ci ELSE nullif($8::text, '') END,"
        " tags = CASE WHEN $9::text IS NULL THEN tags WHEN $9::text = '' THEN '{}'"
        "  ELSE string_to_array($9::text, ',') END,"
        " solution = CASE WHEN $10::text IS NULL THEN solution"
        "  ELSE nullif($10::text, '') END,"
        " merged_into = coalesce($11::bigint, merged_into)"
        " WHERE id = $1::bigint",
        11, up, u->err, u->errlen);
}

/* One staff-only event per change, in the order of the form, and the
 * summary the asker is told. */
static int change_events(struct update *u)
{
    const struct desk_ticket_change *c = u->c;
    struct desk_ticket_updated *o = u->o;
    char body[1200];
    int rc = DESK_DB_OK;
    if (u->st_changed && !c->merge_into) {
        utf8_snprintf(body, sizeof body, "status %s (was %s)", u->status,
                      o->status);
        summary_add(o, "status", u->status);
        if ((rc = event(u, c->id, "status", body)) < 0)
            return rc;
    }
    if (u->own_changed) {
        const char *now = *c->owner ? c->owner : "none";
        utf8_snprintf(body, sizeof body, "owner %s (was %s)", now,
                      u->owner ? u->owner : "none");
        summary_add(o, "owner", now);
        if ((rc = event(u, c->id, "system", body)) < 0)
            return rc;
    }
    if (u->q_changed) {
        utf8_snprintf(body, sizeof body, "to queue %s (from %s)", c->queue,
                      o->queue);
        summary_add(o, "queue", c->queue);
        if ((rc = event(u, c->id, "transfer", body)) < 0)
            return rc;
        utf8_snprintf(o->queue, sizeof o->queue, "%s", c->queue);
    }
    if (u->pr_changed) {
        utf8_snprintf(body, sizeof body, "priority %d (was %d)", c->priority,
                      u->priority);
        summary_add(o, "priority", u->pr);
        if ((rc = event(u, c->id, "system", body)) < 0)
            return rc;
    }
    for (int i = 0; i < NTEXTS; i++) {
        const struct text_field *t = &u->texts[i];
        if (!differs(t->want, t->have))
            continue;
        utf8_snprintf(body, sizeof body, "%s: %s", t->name,
                      *t->want ? t->want : "(cleared)");
        summary_add(o, t->name, *t->want ? NULL : "cleared");
        if ((rc = event(u, c->id, "system", body)) < 0)
            return rc;
    }
    if (c->note && *c->note) {
        summary_add(o, "note", NULL);
        rc = event(u, c->id, "note", c->note);
    }
    return rc;
}

/* The events move to M (the conversation goes on there); N keeps only the
 * pointer, written after the move. */
static int merge(struct update *u)
{
    const struct desk_ticket_change *c = u->c;
    const char *mp[] = {u->id, u->mid};
    int rc = exec_cmd(u->conn,
                      "UPDATE ticket_events SET ticket_id = $2::bigint"
                      " WHERE ticket_id = $1::bigint",
                      2, mp, u->err, u->errlen);
    if (rc < 0)
        return rc;
    char body[300];
    utf8_snprintf(body, sizeof body, "ticket #%lld merged into this one",
                  (long long)c->id);
    if ((rc = event(u, c->merge_into, "system", body)) < 0)
        return rc;
    utf8_snprintf(body, sizeof body,
                  "merged into ticket #%lld (its events are there); "
                  "status RESOLVED (was %s)",
                  (long long)c->merge_into, u->o->status);
    if ((rc = event(u, c->id, "system", body)) < 0)
        return rc;
    char into[28];
    snprintf(into, sizeof into, "#%s", u->mid);
    summary_add(u->o, "merged into", into);
    return DESK_DB_OK;
}

/* Moved to another queue, or back to QUEUED: that queue's room is told
 * (the daemon claims it, desk_db_followups_claim). */
static int mark_followup(struct update *u)
{
    bool requeued = u->st_changed && strcmp(u->status, "QUEUED") == 0;
    if (!u->q_changed && !requeued)
        return DESK_DB_OK;
    char body[600];
    utf8_snprintf(body, sizeof body, "%s by %s%s%s%s",
                  u->q_changed ? "moved here" : "back to QUEUED", u->c->actor,
                  u->q_changed ? " from " : "",
                  u->q_changed ? u->o->old_queue : "",
                  u->q_changed && requeued ? ", back to QUEUED" : "");
    const char *fp[] = {u->id, body};
    int rc = exec_cmd(u->conn,
                      "UPDATE tickets SET followup_at = now(),"
                      " followup_note = $2 WHERE id = $1::bigint",
                      2, fp, u->err, u->errlen);
    if (rc == DESK_DB_OK)
        rc = exec_cmd(u->conn, "SELECT pg_notify('mucdesk_followup', $1)", 1,
                      fp, u->err, u->errlen);
    if (rc == DESK_DB_OK)
        u->o->followup = true;
    return rc;
}

static int update_in_tx(PGconn *conn, const struct desk_ticket_change *c,
                        struct desk_ticket_updated *o, char *err,
                        size_t errlen)
{
    struct update u = {.conn = conn, .c = c, .o = o, .err = err,
                       .errlen = errlen};
    snprintf(u.id, sizeof u.id, "%lld", (long long)c->id);
    snprintf(u.mid, sizeof u.mid, "%lld", (long long)c->merge_into);
    u.arr = desk_db_queue_array(c->queues, c->queue_count);
    int rc = load_current(&u);
    if (rc == DESK_DB_OK && (rc = check_request(&u)) == DESK_DB_OK) {
        plan(&u);
        if ((rc = apply_columns(&u)) == DESK_DB_OK &&
            (rc = change_events(&u)) == DESK_DB_OK &&
            (!c->merge_into || (rc = merge(&u)) == DESK_DB_OK)) {
            if (u.status)
                utf8_snprintf(o->status, sizeof o->status, "%s", u.status);
            utf8_snprintf(o->owner, sizeof o->owner, "%s",
                          u.own_changed ? c->owner
                          : u.owner     ? u.owner
                                        : "");
            o->priority = u.pr_changed ? c->priority : u.priority;
            rc = mark_followup(&u);
        }
    }
    free(u.arr);
    free(u.owner);
    for (int i = 0; i < NTEXTS; i++)
        free((char *)u.texts[i].have);
    return rc;
}

int desk_db_ticket_update(PGconn *conn, const struct desk_ticket_change *c,
                          struct desk_ticket_updated *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (c->merge_into == c->id) {
        snprintf(err, errlen, "merge-into: another ticket than this one");
        return DESK_DB_INVALID;
    }
    int rc = exec_cmd(conn, "BEGIN", 0, NULL, err, errlen);
    if (rc < 0)
        return rc;
    rc = update_in_tx(conn, c, out, err, errlen);
    char ignored[128];
    if (rc < 0) {
        exec_cmd(conn, "ROLLBACK", 0, NULL, ignored, sizeof ignored);
        return rc;
    }
    return exec_cmd(conn, "COMMIT", 0, NULL, err, errlen);
}

/* ---- reply by e-mail ---------------------------------------------------------------- */

static int reply_in_tx(PGconn *conn, int64_t id, const char *actor,
                       const char *nick, const char *text, const char *key,
                       const char *arr, char *err, size_t errlen)
{
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)id);
    const char *p[] = {tid, arr};
    PGresult *res = PQexecParams(conn,
                                 "SELECT customer_email FROM tickets"
                                 " WHERE id = $1::bigint AND " VISIBLE(2)
                                 " FOR UPDATE",
                                 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "ticket: not found");
        return DESK_DB_NOT_FOUND;
    }
    char *to = dup_or_null(res, 0, 0);
    PQclear(res);
    /* One mailbox only: `sendmail -t` would mail every name of a list. */
    if (!to || !desk_email_ok(to)) {
        free(to);
        snprintf(err, errlen, "Ticket #%lld has no e-mail address of its "
                              "customer to reply to",
                 (long long)id);
        return DESK_DB_INVALID;
    }
    char sid[96];
    snprintf(sid, sizeof sid, "%s-reply", key);
    const char *ep[] = {tid, actor, nick, text, sid};
    res = PQexecParams(conn,
                       "INSERT INTO ticket_events (ticket_id, kind, actor_jid,"
                       " actor_nick, body, stanza_id, staff_only) VALUES"
                       " ($1::bigint, 'message', $2, $3, $4, $5, false)"
                       " ON CONFLICT (stanza_id) DO NOTHING RETURNING id",
                       5, NULL, ep, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        free(to);
        return desk_db_error(conn, res, err, errlen);
    }
    /* A retried request (its event is there) mails nothing twice. */
    bool fresh = PQntuples(res) == 1;
    PQclear(res);
    int rc = DESK_DB_OK;
    if (fresh) {
        const char *mp[] = {tid, to, text, actor};
        rc = exec_cmd(conn,
                      "INSERT INTO mail_jobs (ticket_id, kind, recipient,"
                      " body, actor_jid) VALUES ($1::bigint, 'reply', $2, $3,"
                      " $4)",
                      4, mp, err, errlen);
    }
    free(to);
    return rc;
}

int desk_db_ticket_reply(PGconn *conn, int64_t id, const char *actor,
                         const char *nick, const char *text, const char *key,
                         const char *const *queues, size_t queue_count,
                         char *err, size_t errlen)
{
    char *arr = desk_db_queue_array(queues, queue_count);
    int rc = exec_cmd(conn, "BEGIN", 0, NULL, err, errlen);
    if (rc == DESK_DB_OK)
        rc = reply_in_tx(conn, id, actor, nick, text, key, arr, err, errlen);
    free(arr);
    char ignored[128];
    if (rc < 0) {
        exec_cmd(conn, "ROLLBACK", 0, NULL, ignored, sizeof ignored);
        return rc;
    }
    return exec_cmd(conn, "COMMIT", 0, NULL, err, errlen);
}

/* ---- follow-ups ----------------------------------------------------------------------- */

int desk_db_followups_claim(PGconn *conn, struct desk_followup *out,
                            size_t max, size_t *count, char *err,
                            size_t errlen)
{
    *count = 0;
    char lim[16];
    snprintf(lim, sizeof lim, "%zu", max);
    const char *p[] = {lim};
    /* SKIP LOCKED: a ticket being updated is claimed on the next round. */
    PGresult *res = PQexecParams(
        conn,
        "UPDATE tickets t SET followup_at = NULL, followup_note = NULL"
        " FROM (SELECT id, followup_note FROM tickets"
        "  WHERE followup_at IS NOT NULL ORDER BY followup_at"
        "  LIMIT $1::integer FOR UPDATE SKIP LOCKED) f"
        " WHERE t.id = f.id RETURNING t.id, t.queue, t.status,"
        " coalesce(t.customer_name, t.customer_email, ''),"
        " coalesce(t.subject, ''), coalesce(f.followup_note, '')",
        1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    int n = PQntuples(res);
    for (int i = 0; i < n && (size_t)i < max; i++) {
        struct desk_followup *f = &out[i];
        f->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        utf8_snprintf(f->queue, sizeof f->queue, "%s", PQgetvalue(res, i, 1));
        utf8_snprintf(f->status, sizeof f->status, "%s",
                      PQgetvalue(res, i, 2));
        utf8_snprintf(f->customer, sizeof f->customer, "%s",
                      PQgetvalue(res, i, 3));
        utf8_snprintf(f->subject, sizeof f->subject, "%s",
                      PQgetvalue(res, i, 4));
        utf8_snprintf(f->note, sizeof f->note, "%s", PQgetvalue(res, i, 5));
        (*count)++;
    }
    PQclear(res);
    return DESK_DB_OK;
}
