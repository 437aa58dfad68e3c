/* Ticket rows in PostgreSQL (DB thread): the status names, statements
 * prepared once per connection, and the upsert that applies a journaled
 * ticket snapshot (the shipper calls it). */
#include "build-config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "store/archive_impl.h"
#include "store/pq.h"

static const char *const status_names[] = {"QUEUED", "INPROGRESS", "RESOLVED"};

const char *ticket_status_name(enum ticket_status status)
{
    return (unsigned)status <= TICKET_RESOLVED ? status_names[status] : "QUEUED";
}

int ticket_status_parse(const char *name, enum ticket_status *out)
{
    for (unsigned i = 0; i <= TICKET_RESOLVED; i++)
        if (name && strcmp(name, status_names[i]) == 0) {
            *out = (enum ticket_status)i;
            return 0;
        }
    return -1;
}

/* ---- DB thread: statements ------------------------------------------------------- */

#define TS_PARAM(n) "'epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond'"
#define KEEP_UNLESS_ERASED(col)                                                \
    col " = CASE WHEN tickets.personal_data_erased_at IS NULL THEN EXCLUDED." col \
        " END"

#define FOLLOWUP(col)                                                          \
    col " = CASE WHEN $25::boolean THEN EXCLUDED." col " ELSE tickets." col " END"

static const char upsert_sql[] =
    "INSERT INTO tickets (id, queue, status, subject, customer_jid,"
    " customer_name, customer_email, owner_jid, priority, created_at,"
    " accepted_at, ended_at, chat_seconds, rating, rating_comment, room,"
    " resume_token_hash, details, impact, ci, tags, solution, customer_phone,"
    " merged_into)"
    " VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9::smallint,"
    " coalesce(" TS_PARAM(10) ", now()), " TS_PARAM(11) ", " TS_PARAM(12) ","
    " $13::integer, $14::smallint, $15, $16, decode($17, 'hex'),"
    " coalesce($18::jsonb, '{}'::jsonb), $19, $20,"
    " coalesce(string_to_array($21, ','), '{}'), $22, $23, $24::bigint)"
    " ON CONFLICT (id) DO UPDATE SET queue = EXCLUDED.queue,"
    " status = EXCLUDED.status, subject = EXCLUDED.subject,"
    " owner_jid = EXCLUDED.owner_jid, priority = EXCLUDED.priority,"
    " created_at = CASE WHEN $10::bigint IS NULL THEN tickets.created_at"
    "  ELSE EXCLUDED.created_at END,"
    " accepted_at = EXCLUDED.accepted_at, ended_at = EXCLUDED.ended_at,"
    " chat_seconds = EXCLUDED.chat_seconds, rating = EXCLUDED.rating,"
    " room = EXCLUDED.room, "
    /* Personal data erased by retention or on request stays erased, even if
     * an older snapshot is shipped again after a crash. */
    KEEP_UNLESS_ERASED("customer_jid") ", "
    KEEP_UNLESS_ERASED("customer_name") ", "
    KEEP_UNLESS_ERASED("customer_email") ", "
    KEEP_UNLESS_ERASED("rating_comment") ", "
    KEEP_UNLESS_ERASED("resume_token_hash") ","
    " details = CASE WHEN tickets.personal_data_erased_at IS NULL"
    "  THEN EXCLUDED.details ELSE '{}'::jsonb END, "
    /* A snapshot without the follow-up fields ($25 false) leaves them. */
    FOLLOWUP("impact") ", " FOLLOWUP("ci") ", " FOLLOWUP("tags") ", "
    FOLLOWUP("solution") ", " FOLLOWUP("merged_into") ","
    " customer_phone = CASE WHEN NOT $25::boolean THEN tickets.customer_phone"
    "  WHEN tickets.personal_data_erased_at IS NULL"
    "  THEN EXCLUDED.customer_phone END";

/* Statements are prepared on first use after each (re)connection, not in
 * the connect hook: preparing an INSERT takes a lock on its table, and a
 * table locked by someone else must delay only what writes to it, not make
 * the whole connection fail. */
int tickets_on_connect(void *ud, PGconn *conn, char *err, size_t errlen)
{
    struct archive *a = ud;
    (void)conn;
    (void)err;
    (void)errlen;
    a->db_gen++;
    return 0;
}

int tickets_prepare_once(struct archive *a, PGconn *conn, uint64_t *have,
                        const char *name, const char *sql, int nparams,
                        char *err, size_t errlen, char sqlstate[6])
{
    if (*have == a->db_gen)
        return 0;
    PGresult *res = PQprepare(conn, name, sql, nparams, NULL);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char what[96];
        snprintf(what, sizeof what, "preparing %s", name);
        const char *state = store_pq_error(err, errlen, conn, res, what);
        if (sqlstate)
            snprintf(sqlstate, 6, "%s", state ? state : "");
        rc = -1;
    } else {
        *have = a->db_gen;
    }
    PQclear(res);
    return rc;
}

void tickets_hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

#define NPARAMS 25

int tickets_upsert(struct archive *a, PGconn *conn, const struct store_ticket *t,
                   char *err, size_t errlen, char sqlstate[6])
{
    if (tickets_prepare_once(a, conn, &a->upsert_gen, "md_ticket_upsert", upsert_sql,
                             NPARAMS,
                     err, errlen, sqlstate) < 0)
        return -1;
    char id[24], prio[8], created[24], accepted[24], ended[24], secs[16], rating[8];
    char merged[24];
    char token[2 * TICKET_TOKEN_HASH_SIZE + 1];
    snprintf(merged, sizeof merged, "%" PRId64, t->merged_into);
    snprintf(id, sizeof id, "%" PRId64, t->id);
    snprintf(prio, sizeof prio, "%d", t->priority ? t->priority : 3);
    snprintf(created, sizeof created, "%" PRId64, t->created_us);
    snprintf(accepted, sizeof accepted, "%" PRId64, t->accepted_us);
    snprintf(ended, sizeof ended, "%" PRId64, t->ended_us);
    snprintf(secs, sizeof secs, "%d", t->chat_seconds);
    snprintf(rating, sizeof rating, "%d", t->rating);
    if (t->has_token_hash)
        tickets_hex(token, t->token_hash, sizeof t->token_hash);
    const char *v[NPARAMS] = {
        id, t->queue, ticket_status_name(t->status), t->subject,
        t->customer_jid, t->customer_name, t->customer_email, t->owner_jid,
        prio, t->created_us ? created : NULL,
        t->accepted_us ? accepted : NULL, t->ended_us ? ended : NULL, secs,
        t->rating ? rating : NULL, t->rating_comment, t->room,
        t->has_token_hash ? token : NULL, t->details,
        t->impact, t->ci, t->tags && t->tags[0] ? t->tags : NULL, t->solution,
        t->customer_phone, t->merged_into ? merged : NULL,
        t->followup_known ? "t" : "f",
    };
    /* As in the COPY encoder: a snapshot from an older journal may hold
     * ill-formed UTF-8, which would make the ticket a dead letter. */
    struct buf clean[NPARAMS];
    for (int i = 0; i < NPARAMS; i++) {
        buf_init(&clean[i]);
        size_t n = v[i] ? strlen(v[i]) : 0;
        if (v[i] && utf8_valid_len(v[i], n) != n) {
            utf8_sanitize(&clean[i], v[i], n);
            v[i] = buf_cstr(&clean[i]);
        }
    }
    PGresult *res = PQexecPrepared(conn, "md_ticket_upsert", NPARAMS, v, NULL,
                                   NULL, 0);
    for (int i = 0; i < NPARAMS; i++)
        buf_free(&clean[i]);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char what[40];
        snprintf(what, sizeof what, "ticket %" PRId64, t->id);
        const char *state = store_pq_error(err, errlen, conn, res, what);
        snprintf(sqlstate, 6, "%s", state ? state : "");
        rc = -1;
    }
    PQclear(res);
    return rc;
}
