/* Tickets through the archive: reserved numbers, journaled snapshots, and
 * reads that merge PostgreSQL with what is not shipped yet. */
#include "build-config.h"

#include "store/tickets.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/utf8.h"
#include "store/archive_impl.h"
#include "store/pq.h"

#define LOG "tickets"

/* Numbers are reserved this many at a time, when fewer than LOW are left. */
#define ID_BLOCK 64
#define ID_LOW 16
#define ID_RETRY_MS 5000


#define SELECT_TICKET                                                          \
    "SELECT id, queue, status, subject, customer_jid, customer_name,"          \
    " customer_email, owner_jid, priority,"                                    \
    " (extract(epoch from created_at) * 1000000)::bigint,"                     \
    " (extract(epoch from accepted_at) * 1000000)::bigint,"                    \
    " (extract(epoch from ended_at) * 1000000)::bigint,"                       \
    " chat_seconds, rating, rating_comment, room,"                             \
    " encode(resume_token_hash, 'hex'), details::text, impact, ci,"           \
    " array_to_string(tags, ','), solution, customer_phone, merged_into"      \
    " FROM tickets"

/* ---- reserved numbers ------------------------------------------------------------- */

struct ids_op {
    struct store_op op;
    struct archive *a;
    int want;
    int64_t got[ID_BLOCK];
    size_t n;
};

static enum store_run_result ids_run(struct store_op *op, PGconn *conn)
{
    struct ids_op *io = (struct ids_op *)op;
    char want[16], state[6];
    if (tickets_prepare_once(io->a, conn, &io->a->ids_gen, "md_reserve_ids",
                     "SELECT nextval(pg_get_serial_sequence('tickets', 'id'))"
                     " FROM generate_series(1, $1::integer)", 1,
                     op->error, sizeof op->error, state) < 0) {
        if (store_connection_lost(conn))
            return STORE_RUN_RETRY;
        op->failed = true;
        return STORE_RUN_DONE;
    }
    snprintf(want, sizeof want, "%d", io->want);
    const char *v[1] = {want};
    PGresult *res = PQexecPrepared(conn, "md_reserve_ids", 1, v, NULL, NULL, 0);
    io->n = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_pq_error(op->error, sizeof op->error, conn, res, NULL);
        PQclear(res);
        if (store_connection_lost(conn))
            return STORE_RUN_RETRY;
        op->failed = true;
        return STORE_RUN_DONE;
    }
    for (int r = 0; r < PQntuples(res) && io->n < ID_BLOCK; r++)
        io->got[io->n++] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
    PQclear(res);
    return STORE_RUN_DONE;
}

static void ids_retry(void *ud)
{
    struct archive *a = ud;
    a->ids_timer = NULL;
    tickets_refill(a);
}

static void ids_done(struct store_op *op)
{
    struct ids_op *io = (struct ids_op *)op;
    struct archive *a = io->a;
    a->ids_in_flight = false;
    if (op->failed)
        log_warn(LOG, "cannot reserve ticket numbers: %s", op->error);
    if (a->ids_count + io->n > a->ids_cap) {
        size_t cap = a->ids_cap ? a->ids_cap * 2 : 2 * ID_BLOCK;
        while (cap < a->ids_count + io->n)
            cap *= 2;
        int64_t *v = realloc(a->ids, cap * sizeof *v);
        if (v) {
            a->ids = v;
            a->ids_cap = cap;
        }
    }
    for (size_t i = 0; i < io->n && a->ids_count < a->ids_cap; i++)
        a->ids[a->ids_count++] = io->got[i];
    bool failed = op->failed;
    free(op);
    if (a->stopped)
        return;
    if (failed)
        a->ids_timer = loop_timer_add(a->loop, ID_RETRY_MS, ids_retry, a, NULL);
    else
        tickets_refill(a);
}

void tickets_refill(struct archive *a)
{
    if (a->ids_in_flight || a->ids_timer || a->stopped ||
        a->ids_count >= ID_LOW)
        return;
    struct ids_op *io = calloc(1, sizeof *io);
    if (!io)
        return;
    io->op.run = ids_run;
    io->op.done = ids_done;
    io->a = a;
    io->want = ID_BLOCK;
    a->ids_in_flight = true;
    store_submit(a->store, &io->op);
}

void tickets_free(struct archive *a)
{
    free(a->ids);
    a->ids = NULL;
    a->ids_count = a->ids_cap = 0;
}

size_t store_ticket_ids_available(const struct archive *a)
{
    return a->ids_count;
}

/* ---- journaled snapshots --------------------------------------------------------- */

static uint64_t journal_ticket(struct archive *a, const struct store_ticket *t)
{
    if (!t->queue || t->id <= 0 || (unsigned)t->status > TICKET_RESOLVED ||
        t->priority < 0 || t->priority > 5 || t->rating < 0 || t->rating > 5 ||
        t->chat_seconds < 0) {
        log_error(LOG, "refusing a malformed ticket snapshot (id %" PRId64 ")",
                  t->id);
        return 0;
    }
    buf_reset(&a->scratch);
    record_encode_ticket(&a->scratch, t);
    if (buf_failed(&a->scratch))
        return 0;
    return archive_append_record(a, RECORD_TICKET, a->scratch.data,
                                 a->scratch.len);
}

uint64_t store_ticket_create(struct archive *a, struct store_ticket *t)
{
    t->id = 0;
    if (!a->ids_count) {
        tickets_refill(a);
        return 0;
    }
    t->id = a->ids[0];
    if (!t->created_us)
        t->created_us = (int64_t)archive_now_us();
    uint64_t seq = journal_ticket(a, t);
    if (!seq) {
        t->id = 0;
        return 0;
    }
    memmove(a->ids, a->ids + 1, (a->ids_count - 1) * sizeof *a->ids);
    a->ids_count--;
    tickets_refill(a);
    return seq;
}

uint64_t store_ticket_update(struct archive *a, const struct store_ticket *t)
{
    return journal_ticket(a, t);
}

/* ---- reads ------------------------------------------------------------------------ */

/* A ticket that owns its strings: they point into `payload`. */
struct owned_ticket {
    uint8_t *payload;
    size_t len;
    struct store_ticket t;
};

struct tickets_op {
    struct store_op op;
    struct archive *a;
    bool open_only;
    int64_t ended_since_us;       /* with open_only: recently ended too */
    struct store_ticket_key key;
    char *room;
    uint64_t tail_lo;
    struct owned_ticket *carried; /* ticket records in the tail */
    uint64_t *carried_seq;
    size_t ncarried;
    struct owned_ticket *v;       /* the answer, by id */
    size_t n, cap;
    store_tickets_fn fn;
    void *ud;
};

/* Copies a ticket into owned storage (encode, then decode in place). */
static int owned_from(struct owned_ticket *o, const struct store_ticket *t)
{
    struct buf b = BUF_INIT;
    record_encode_ticket(&b, t);
    if (buf_failed(&b)) {
        buf_free(&b);
        return -1;
    }
    size_t len = b.len;
    uint8_t *p = (uint8_t *)buf_steal(&b);
    if (!p || record_decode_ticket(p, len, &o->t) < 0) {
        free(p);
        return -1;
    }
    o->payload = p;
    o->len = len;
    return 0;
}

static void owned_list_free(struct owned_ticket *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].payload);
    free(v);
}

static bool key_matches(const struct tickets_op *to, const struct store_ticket *t)
{
    if (to->open_only)
        return t->status != TICKET_RESOLVED ||
               (to->ended_since_us && t->ended_us >= to->ended_since_us);
    if (to->key.id)
        return t->id == to->key.id;
    if (to->room)
        return t->room && strcmp(t->room, to->room) == 0;
    if (to->key.has_token_hash)
        return t->has_token_hash &&
               memcmp(t->token_hash, to->key.token_hash, sizeof t->token_hash) == 0;
    return false;
}

/* Applies a newer snapshot to the answer. */
static void overlay(struct tickets_op *to, const struct store_ticket *t)
{
    size_t i = 0;
    while (i < to->n && to->v[i].t.id != t->id)
        i++;
    bool keep = key_matches(to, t);
    if (i < to->n) {
        free(to->v[i].payload);
        if (keep && owned_from(&to->v[i], t) == 0)
            return;
        to->v[i] = to->v[--to->n];
        return;
    }
    if (!keep)
        return;
    if (to->n == to->cap) {
        size_t cap = to->cap ? to->cap * 2 : 16;
        struct owned_ticket *v = realloc(to->v, cap * sizeof *v);
        if (!v)
            return;
        to->v = v;
        to->cap = cap;
    }
    if (owned_from(&to->v[to->n], t) == 0)
        to->n++;
}

static void scan_ticket(void *ud, uint64_t seq, uint8_t type, const uint8_t *p,
                        size_t len)
{
    struct store_ticket t;
    (void)seq;
    if (type == RECORD_TICKET && record_decode_ticket(p, len, &t) == 0)
        overlay(ud, &t);
}

static int cmp_ticket(const void *x, const void *y)
{
    int64_t a = ((const struct owned_ticket *)x)->t.id;
    int64_t b = ((const struct owned_ticket *)y)->t.id;
    return a < b ? -1 : a > b;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | d) : d << 4);
    }
    return 0;
}

static enum store_run_result tickets_run(struct store_op *op, PGconn *conn)
{
    struct tickets_op *to = (struct tickets_op *)op;
    struct archive *a = to->a;
    char idbuf[24], token[2 * TICKET_TOKEN_HASH_SIZE + 1], since[24];
    const char *v[1] = {NULL};
    int nparams = 0;
    const char *sql;

    owned_list_free(to->v, to->n);
    to->v = NULL;
    to->n = to->cap = 0;
    if (to->open_only) {
        snprintf(since, sizeof since, "%" PRId64, to->ended_since_us);
        v[0] = since;
        nparams = 1;
        sql = SELECT_TICKET " WHERE status <> 'RESOLVED' OR ($1::bigint > 0"
              " AND ended_at >= 'epoch'::timestamptz + $1::bigint *"
              " interval '1 microsecond') ORDER BY id";
    } else if (to->key.id) {
        snprintf(idbuf, sizeof idbuf, "%" PRId64, to->key.id);
        v[0] = idbuf;
        nparams = 1;
        sql = SELECT_TICKET " WHERE id = $1::bigint";
    } else if (to->room) {
        v[0] = to->room;
        nparams = 1;
        sql = SELECT_TICKET " WHERE room = $1";
    } else {
        tickets_hex(token, to->key.token_hash, sizeof to->key.token_hash);
        v[0] = token;
        nparams = 1;
        sql = SELECT_TICKET " WHERE resume_token_hash = decode($1, 'hex')";
    }
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_pq_error(op->error, sizeof op->error, conn, res, NULL);
        PQclear(res);
        if (store_connection_lost(conn))
            return STORE_RUN_RETRY;
        op->failed = true;
        return STORE_RUN_DONE;
    }
    for (int r = 0; r < PQntuples(res); r++) {
#define S(i) (PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i))
#define I(i) (PQgetisnull(res, r, i) ? 0 : strtoll(PQgetvalue(res, r, i), NULL, 10))
        struct store_ticket t = {
            .id = I(0), .queue = S(1), .subject = S(3), .customer_jid = S(4),
            .customer_name = S(5), .customer_email = S(6), .owner_jid = S(7),
            .priority = (int)I(8), .created_us = I(9), .accepted_us = I(10),
            .ended_us = I(11), .chat_seconds = (int)I(12), .rating = (int)I(13),
            .rating_comment = S(14), .room = S(15), .details = S(17),
            .followup_known = true, .impact = S(18), .ci = S(19),
            .tags = S(20) && S(20)[0] ? S(20) : NULL, .solution = S(21),
            .customer_phone = S(22), .merged_into = I(23),
        };
        ticket_status_parse(S(2), &t.status);
        if (S(16) && hex_decode(S(16), t.token_hash, sizeof t.token_hash) == 0)
            t.has_token_hash = true;
#undef S
#undef I
        overlay(to, &t);
    }
    PQclear(res);

    /* What PostgreSQL does not have yet, in order. */
    shipper_scan_unshipped(a->ship, to->tail_lo, scan_ticket, to);
    uint64_t committed = shipper_committed(a->ship);
    for (size_t i = 0; i < to->ncarried; i++)
        if (to->carried_seq[i] > committed)
            overlay(to, &to->carried[i].t);
    if (to->n) /* qsort's base must not be NULL (UBSan) */
        qsort(to->v, to->n, sizeof *to->v, cmp_ticket);
    return STORE_RUN_DONE;
}

static void tickets_op_free(struct tickets_op *to)
{
    owned_list_free(to->v, to->n);
    owned_list_free(to->carried, to->ncarried);
    free(to->carried_seq);
    free(to->room);
    free(to);
}

static void tickets_done(struct store_op *op)
{
    struct tickets_op *to = (struct tickets_op *)op;
    struct store_ticket_list list = {.failed = op->failed};
    struct store_ticket *v = NULL;
    if (!op->failed && to->n) {
        v = calloc(to->n, sizeof *v);
        if (!v) {
            list.failed = true;
        } else {
            for (size_t i = 0; i < to->n; i++)
                v[i] = to->v[i].t;
            list.tickets = v;
            list.count = to->n;
        }
    }
    if (op->failed)
        log_warn(LOG, "ticket read failed: %s", op->error);
    to->fn(to->ud, &list);
    free(v);
    tickets_op_free(to);
}

static int submit_read(struct archive *a, struct tickets_op *to)
{
    to->op.run = tickets_run;
    to->op.done = tickets_done;
    to->op.deadline_ms = loop_clock_ms() + a->query_timeout_ms;
    to->a = a;
    to->tail_lo = a->tail.count ? tail_first_seq(&a->tail) : a->next_seq;
    size_t n = 0;
    for (size_t i = 0; i < a->tail.count; i++)
        n += tail_at(&a->tail, i)->type == RECORD_TICKET;
    if (n) {
        to->carried = calloc(n, sizeof *to->carried);
        to->carried_seq = calloc(n, sizeof *to->carried_seq);
        if (!to->carried || !to->carried_seq)
            goto fail;
        for (size_t i = 0; i < a->tail.count; i++) {
            const struct tail_entry *e = tail_at(&a->tail, i);
            struct store_ticket t;
            if (e->type != RECORD_TICKET ||
                record_decode_ticket(e->payload, e->len, &t) < 0)
                continue;
            if (owned_from(&to->carried[to->ncarried], &t) < 0)
                goto fail;
            to->carried_seq[to->ncarried++] = e->seq;
        }
    }
    store_submit(a->store, &to->op);
    return 0;
fail:
    tickets_op_free(to);
    return -1;
}

int store_tickets_load_open(struct archive *a, int64_t ended_since_us,
                            store_tickets_fn fn, void *ud)
{
    if (!a->started || a->stopped)
        return -1;
    struct tickets_op *to = calloc(1, sizeof *to);
    if (!to)
        return -1;
    to->open_only = true;
    to->ended_since_us = ended_since_us;
    to->fn = fn;
    to->ud = ud;
    return submit_read(a, to);
}

int store_ticket_find(struct archive *a, const struct store_ticket_key *key,
                      store_tickets_fn fn, void *ud)
{
    if (!a->started || a->stopped ||
        (!key->id && !key->room && !key->has_token_hash))
        return -1;
    struct tickets_op *to = calloc(1, sizeof *to);
    if (!to)
        return -1;
    to->key = *key;
    to->key.room = NULL;
    if (key->room && !(to->room = strdup(key->room))) {
        free(to);
        return -1;
    }
    to->fn = fn;
    to->ud = ud;
    return submit_read(a, to);
}
