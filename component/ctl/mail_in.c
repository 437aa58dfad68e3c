/* mucdeskctl mail-in: one e-mail on standard input, the way an MTA pipes
 * mail to a program (Postfix pipe(8), Exim's pipe transport, .forward),
 * into PostgreSQL in one transaction:
 *
 *  - a reply to a ticket ([Ticket#N] in the subject, or one of our
 *    Message-IDs in In-Reply-To/References) from the ticket's customer
 *    address is appended to it as the customer's message; a RESOLVED ticket
 *    goes back to QUEUED;
 *  - any other mail opens a QUEUED ticket in [mail] in_queue (or is
 *    refused, EX_NOUSER, without it).  A reply naming a ticket but sent
 *    from another address is treated as other mail: anyone can write
 *    [Ticket#N] in a subject, and must not add to someone else's ticket;
 *  - attachments are kept as chat files are (mail_files.c: the upload
 *    directory, a capability URL, the [upload] limits and scan) and are
 *    'file' events with that URL; one the limits refuse is listed (name,
 *    type, size, SHA-256) with the reason;
 *  - the ticket's followup_at is set and pg_notify('mucdesk_followup', N)
 *    sent, which is how the daemon finds tickets to announce in their
 *    queue room (sql/007_ticket_fields.sql).
 *
 * Exit codes are sendmail's (sysexits.h), which MTAs act on: 0 delivered
 * (or a duplicate of a delivered message, or our own mail looping back),
 * 65 unreadable (bounced), 67 nowhere to put it (no ticket, no
 * in_queue), 75 PostgreSQL unreachable or failing, or the configuration
 * broken (the MTA keeps the message and retries: nothing is lost).  Retried deliveries never duplicate a line:
 * every event's stanza_id derives from the Message-ID (or the message's
 * bytes), and ticket_events.stanza_id is unique. */
#include "build-config.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mailref.h"
#include "ctl/ctl.h"
#include "ctl/mail_files.h"
#include "mailin/parse.h"

static int read_stdin(struct buf *in)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        buf_append(in, chunk, n);
        if (buf_failed(in) || in->len > MAILIN_MESSAGE_MAX)
            return -1;
    }
    return ferror(stdin) ? -1 : 0;
}

/* "mail:" and 40 hex digits of the SHA-256 of the Message-ID (the bytes
 * of the whole message when it has none). */
static void delivery_key(const struct mailin_message *m, const struct buf *raw,
                         char out[64])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const void *p = m->message_id ? (const void *)m->message_id : raw->data;
    size_t len = m->message_id ? strlen(m->message_id) : raw->len;
    if (!EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL))
        mdlen = 0;
    strcpy(out, "mail:");
    for (unsigned i = 0; i < 20 && i < mdlen; i++)
        snprintf(out + 5 + 2 * i, 3, "%02x", md[i]);
}

struct tx {
    PGconn *conn;
    bool failed;
    char err[512];
};

/* One statement; NULL (and tx->failed, tx->err) if it failed. */
static PGresult *run(struct tx *tx, const char *sql, int n,
                     const char *const *params)
{
    if (tx->failed)
        return NULL;
    PGresult *res = PQexecParams(tx->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    snprintf(tx->err, sizeof tx->err, "%s", PQerrorMessage(tx->conn));
    for (char *c = tx->err; *c; c++)
        if (*c == '\n')
            *c = c[1] ? ' ' : '\0';
    PQclear(res);
    tx->failed = true;
    return NULL;
}

static void exec(struct tx *tx, const char *sql, int n, const char *const *params)
{
    PGresult *res = run(tx, sql, n, params);
    PQclear(res);
}

/* The ticket if the mail may be added to it: it exists, its personal data
 * was not erased, and the sender is its customer (or it has no address). */
static int64_t reply_target(struct tx *tx, const struct mailin_message *m)
{
    if (!m->ticket)
        return 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)m->ticket);
    const char *p[] = {id, m->from_addr};
    PGresult *res = run(tx,
        "SELECT id FROM tickets WHERE id = $1::bigint"
        " AND personal_data_erased_at IS NULL"
        " AND (customer_email IS NULL OR lower(customer_email) = lower($2))"
        " FOR UPDATE", 2, p);
    int64_t found = res && PQntuples(res) == 1 ? m->ticket : 0;
    PQclear(res);
    return found;
}

static int64_t open_ticket(struct tx *tx, const struct mailin_message *m,
                           const char *queue)
{
    char refers[24] = "";
    if (m->ticket)
        snprintf(refers, sizeof refers, "%lld", (long long)m->ticket);
    const char *p[] = {queue, m->subject, m->from_name, m->from_addr,
                       m->body, refers[0] ? refers : NULL};
    PGresult *res = run(tx,
        "INSERT INTO tickets (queue, status, subject, customer_name,"
        " customer_email, details, followup_at)"
        " VALUES ($1, 'QUEUED', left(coalesce($2, ''), 200), $3, $4,"
        "  jsonb_strip_nulls(jsonb_build_object('source', 'mail',"
        "   'question', left($5, 1000), 'refers_to', $6::bigint)), now())"
        " RETURNING id", 6, p);
    int64_t id = res ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return id;
}

static void add_event_with(struct tx *tx, const char *ticket,
                           const char *kind, const char *nick,
                           const char *body, const char *key, bool staff_only,
                           const char *payload)
{
    const char *p[] = {ticket, kind, nick, body, key, staff_only ? "t" : "f",
                       payload};
    exec(tx,
         "INSERT INTO ticket_events (ticket_id, kind, actor_nick, body,"
         " stanza_id, staff_only, payload) VALUES ($1::bigint, $2, $3, $4,"
         " $5, $6::boolean, $7)", 7, p);
}

static void add_event(struct tx *tx, const char *ticket, const char *kind,
                      const char *nick, const char *body, const char *key,
                      bool staff_only)
{
    add_event_with(tx, ticket, kind, nick, body, key, staff_only, NULL);
}

static void add_events(struct tx *tx, int64_t ticket, bool reopened,
                       const struct mailin_message *m,
                       const struct mail_files *mf, const char *key)
{
    char id[24], k[96];
    snprintf(id, sizeof id, "%lld", (long long)ticket);
    const char *nick = m->from_name ? m->from_name : m->from_addr;
    if (reopened) {
        snprintf(k, sizeof k, "%s:status", key);
        add_event(tx, id, "status", NULL, "Reopened (QUEUED): the customer "
                  "answered by e-mail", k, false);
    }
    struct buf body = BUF_INIT;
    buf_append_str(&body, m->body);
    if (m->body_cut)
        buf_append_str(&body, "\n[... the rest of the e-mail was not kept]");
    add_event(tx, id, "message", nick, buf_failed(&body) ? m->body : buf_cstr(&body),
              key, false);
    buf_free(&body);
    for (size_t i = 0; i < m->attachment_count; i++) {
        const struct mailin_attachment *a = &m->attachments[i];
        const struct mail_file *f = i < mf->count ? &mf->files[i] : NULL;
        if (f && f->kept) {
            add_event_with(tx, id, "file", nick, buf_cstr(&f->body),
                           f->event_id, false, buf_cstr(&f->payload));
            continue;
        }
        struct buf line = BUF_INIT;
        buf_printf(&line, "Attachment: %s (%s, %zu bytes, SHA-256 %s), not "
                          "kept: %s",
                   a->name, a->type, a->size, a->sha256,
                   f ? f->why : "out of memory");
        snprintf(k, sizeof k, "%s:file:%zu", key, i);
        add_event(tx, id, "file", nick, buf_cstr(&line), k, false);
        buf_free(&line);
    }
    if (m->attachments_dropped) {
        char text[128];
        snprintf(text, sizeof text, "%zu more attachment(s) not listed (at "
                 "most %d per e-mail)", m->attachments_dropped,
                 MAILIN_ATTACHMENTS_MAX);
        snprintf(k, sizeof k, "%s:dropped", key);
        add_event(tx, id, "system", NULL, text, k, true);
    }
    const char *p[] = {id};
    exec(tx, "SELECT pg_notify('mucdesk_followup', $1)", 1, p);
}

/* Reopens a RESOLVED ticket and marks it for the daemon; whether it was
 * reopened.  Auto-replies (out of office) are added but change nothing. */
static bool touch_ticket(struct tx *tx, int64_t ticket, bool auto_submitted)
{
    if (auto_submitted)
        return false;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)ticket);
    const char *p[] = {id};
    PGresult *res = run(tx,
        "UPDATE tickets t SET followup_at = now(),"
        " status = CASE WHEN old.status = 'RESOLVED' THEN 'QUEUED'"
        "  ELSE old.status END"
        " FROM (SELECT status FROM tickets WHERE id = $1::bigint) old"
        " WHERE t.id = $1::bigint RETURNING old.status", 1, p);
    bool reopened = res && PQntuples(res) == 1 &&
                    strcmp(PQgetvalue(res, 0, 0), "RESOLVED") == 0;
    PQclear(res);
    return reopened;
}

/* Our own address, so that our mail bouncing back is not a new ticket. */
static bool from_us(const struct config *cfg, const char *addr)
{
    const char *f = cfg->mail.from;
    if (!f)
        return false;
    const char *lt = strchr(f, '<');
    size_t n = strlen(addr);
    const char *start = lt ? lt + 1 : f;
    return strncasecmp(start, addr, n) == 0 &&
           (start[n] == '\0' || start[n] == '>');
}

static const char *our_domain(const struct config *cfg, char *out, size_t size)
{
    return mailref_domain(cfg->mail.from, out, size);
}

static int deliver(struct tx *tx, const struct config *cfg,
                   const struct mailin_message *m, const char *key)
{
    exec(tx, "BEGIN", 0, NULL);
    const char *pk[] = {key};
    PGresult *res = run(tx, "SELECT ticket_id FROM ticket_events WHERE"
                            " stanza_id = $1", 1, pk);
    if (res && PQntuples(res) == 1) {
        printf("already delivered to ticket #%s\n", PQgetvalue(res, 0, 0));
        PQclear(res);
        exec(tx, "ROLLBACK", 0, NULL);
        return tx->failed ? CTL_EX_TEMPFAIL : 0;
    }
    PQclear(res);
    int64_t ticket = reply_target(tx, m);
    bool reopened = false, created = false;
    if (ticket) {
        reopened = touch_ticket(tx, ticket, m->auto_submitted);
    } else if (!tx->failed) {
        const char *queue = cfg->mail.in_queue;
        if (m->auto_submitted || !queue) {
            exec(tx, "ROLLBACK", 0, NULL);
            if (m->auto_submitted) {
                printf("automatic mail (Auto-Submitted) for no ticket: "
                       "dropped\n");
                return tx->failed ? CTL_EX_TEMPFAIL : 0;
            }
            fprintf(stderr, "mucdeskctl: the mail names no ticket of this "
                            "sender and [mail] in_queue is not set\n");
            return tx->failed ? CTL_EX_TEMPFAIL : CTL_EX_NOUSER;
        }
        const char *pq[] = {queue};
        res = run(tx, "SELECT 1 FROM queues WHERE name = $1", 1, pq);
        bool exists = res && PQntuples(res) == 1;
        PQclear(res);
        if (!tx->failed && !exists) {
            exec(tx, "ROLLBACK", 0, NULL);
            /* Kept by the MTA until the queue is created or the key
             * fixed, rather than bounced. */
            fprintf(stderr, "mucdeskctl: [mail] in_queue: no queue named %s "
                    "(the MTA will retry)\n", queue);
            return CTL_EX_TEMPFAIL;
        }
        ticket = open_ticket(tx, m, queue);
        created = true;
    }
    struct mail_files mf = {0};
    if (!tx->failed && mail_files_prepare(cfg, ticket, m, &mf) < 0) {
        exec(tx, "ROLLBACK", 0, NULL);
        fprintf(stderr, "mucdeskctl: out of memory (the MTA will retry)\n");
        return CTL_EX_TEMPFAIL;
    }
    add_events(tx, ticket, reopened, m, &mf, key);
    exec(tx, "COMMIT", 0, NULL);
    if (tx->failed) {
        mail_files_abort(&mf);
        mail_files_free(&mf);
        fprintf(stderr, "mucdeskctl: %s (the MTA will retry)\n", tx->err);
        return CTL_EX_TEMPFAIL;
    }
    mail_files_commit(&mf);
    mail_files_free(&mf);
    printf("%s ticket #%lld%s\n", created ? "opened" : "appended to",
           (long long)ticket, reopened ? " (reopened: QUEUED)" : "");
    return 0;
}

int ctl_mail_in(const struct config *cfg)
{
    struct buf raw = BUF_INIT;
    if (read_stdin(&raw) < 0) {
        bool big = raw.len > MAILIN_MESSAGE_MAX;
        buf_free(&raw);
        fprintf(stderr, "mucdeskctl: %s\n", big ? "message too large"
                                                : "cannot read the message");
        return big ? CTL_EX_DATAERR : CTL_EX_TEMPFAIL;
    }
    char domain[256], err[256];
    struct mailin_message m;
    int rc = mailin_parse(raw.data ? raw.data : "", raw.len,
                          our_domain(cfg, domain, sizeof domain), &m, err,
                          sizeof err);
    if (rc != MAILIN_OK) {
        buf_free(&raw);
        fprintf(stderr, "mucdeskctl: %s\n", err);
        return rc == MAILIN_NOMEM ? CTL_EX_TEMPFAIL : CTL_EX_DATAERR;
    }
    int status = 0;
    if (from_us(cfg, m.from_addr)) {
        printf("mail from our own address (%s): dropped\n", m.from_addr);
    } else {
        char key[64];
        delivery_key(&m, &raw, key);
        struct tx tx = {.conn = ctl_connect_db(cfg)};
        status = tx.conn ? deliver(&tx, cfg, &m, key) : CTL_EX_TEMPFAIL;
        PQfinish(tx.conn);
    }
    mailin_message_free(&m);
    buf_free(&raw);
    return status;
}
