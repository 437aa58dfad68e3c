/* Reads of the archive (MAM pages): PostgreSQL merged with what is not
 * shipped yet.
 *
 * Order: the archive's own, the order events were appended, which is the
 * order occupants saw them (timestamps only filter; a clock that steps back
 * cannot reorder a transcript).  Stored rows are in id order and all come
 * before the unshipped records (seq order), which is where those will be
 * once shipped: a stored row's key is (0, id), an unshipped record's
 * (1, seq).
 *
 * Every event appended before archive_query() is seen exactly once: on the
 * DB thread, PostgreSQL holds the records up to the shipper's committed
 * sequence number; the journal holds the ones after it that left the
 * in-memory tail; the op carries copies of the matching tail records.
 * Unshipped records PostgreSQL already has (replayed after a restart) are
 * dropped by stanza-id. */
#include "build-config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/archive_impl.h"
#include "store/pq.h"

#define LOG ARCHIVE_LOG

struct key {
    int src;   /* 0 stored, 1 unshipped */
    int64_t n; /* id, or seq */
};

static int key_cmp(const struct key *x, const struct key *y)
{
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* A candidate item with its key; strings owned. */
struct cand {
    struct key key;
    struct archive_item item;
};

struct cand_list {
    struct cand *v;
    size_t n, cap;
};

struct query_op {
    struct store_op op;
    struct archive *a;
    struct archive_query q;       /* strings point into `strings` */
    char *strings[6];
    char **ids;                   /* q.ids points here */
    uint64_t tail_lo;             /* records >= this are in `carried` */
    struct cand_list carried;     /* matching tail records */
    void (*fn)(void *ud, const struct archive_page *page);
    void *ud;
    /* result */
    struct archive_page page;
    struct cand_list out;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void item_free(struct archive_item *it)
{
    free(it->stanza_id);
    free(it->actor_jid);
    free(it->actor_nick);
    free(it->occupant_id);
    free(it->message_id);
    free(it->body);
    free(it->payload);
}

static void list_free(struct cand_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        item_free(&l->v[i].item);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static struct cand *list_push(struct cand_list *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct cand *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    struct cand *c = &l->v[l->n++];
    memset(c, 0, sizeof *c);
    return c;
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Is an unshipped event one this query may see at all (its room, staff
 * only, its kind)? */
static bool visible(const struct archive_query *q, const struct archive_event *ev)
{
    if (q->ticket_id > 0) {
        if (ev->ticket_id != q->ticket_id)
            return false;
    } else if (ev->ticket_id > 0 || !str_eq(ev->room, q->room)) {
        return false;
    }
    if (!q->include_staff_only && ev->staff_only)
        return false;
    if (q->messages_only && ev->kind != ARCHIVE_MESSAGE &&
        ev->kind != ARCHIVE_SUBJECT)
        return false;
    if (q->kinds && !(q->kinds & ARCHIVE_KIND_BIT(ev->kind)))
        return false;
    return true;
}

/* The filters by time and by sender. */
static bool filtered_in(const struct archive_query *q, const struct archive_item *it)
{
    if (q->start_us && it->at_us < q->start_us)
        return false;
    if (q->end_us && it->at_us > q->end_us)
        return false;
    if (q->with_jid && !str_eq(it->actor_jid, q->with_jid))
        return false;
    if (q->with_nick && !str_eq(it->actor_nick, q->with_nick))
        return false;
    return true;
}

static bool id_wanted(const struct archive_query *q, const char *stanza_id)
{
    for (size_t i = 0; i < q->n_ids; i++)
        if (str_eq(q->ids[i], stanza_id))
            return true;
    return false;
}

/* Does an unshipped event belong in the answer (ignoring paging)?  By ids,
 * every requested record the query may see is collected, whatever the
 * filters: a missing id must be told apart from a record filtered out
 * (query_run and answer_ids_from_tail apply the filters afterwards). */
static bool matches(const struct archive_query *q, const struct archive_event *ev)
{
    if (!visible(q, ev))
        return false;
    if (q->n_ids)
        return id_wanted(q, ev->stanza_id);
    struct archive_item it = {
        .at_us = ev->at_us,
        .actor_jid = (char *)ev->actor_jid,
        .actor_nick = (char *)ev->actor_nick,
    };
    return filtered_in(q, &it);
}

static int add_event(struct cand_list *l, uint64_t seq,
                     const struct archive_event *ev)
{
    struct cand *c = list_push(l);
    if (!c)
        return -1;
    c->key = (struct key){1, (int64_t)seq};
    c->item.stanza_id = dup_or_null(ev->stanza_id);
    c->item.at_us = ev->at_us;
    c->item.kind = ev->kind;
    c->item.actor_jid = dup_or_null(ev->actor_jid);
    c->item.actor_nick = dup_or_null(ev->actor_nick);
    c->item.occupant_id = dup_or_null(ev->occupant_id);
    c->item.message_id = dup_or_null(ev->message_id);
    c->item.body = dup_or_null(ev->body);
    c->item.payload = dup_or_null(ev->payload);
    c->item.staff_only = ev->staff_only;
    return 0;
}

/* Appends a deep copy of c.  0, or -1 out of memory. */
static int cand_copy(struct cand_list *into, const struct cand *c)
{
    struct cand *d = list_push(into);
    if (!d)
        return -1;
    d->key = c->key;
    d->item = c->item;
    d->item.stanza_id = dup_or_null(c->item.stanza_id);
    d->item.actor_jid = dup_or_null(c->item.actor_jid);
    d->item.actor_nick = dup_or_null(c->item.actor_nick);
    d->item.occupant_id = dup_or_null(c->item.occupant_id);
    d->item.message_id = dup_or_null(c->item.message_id);
    d->item.body = dup_or_null(c->item.body);
    d->item.payload = dup_or_null(c->item.payload);
    return 0;
}

/* ---- DB thread ------------------------------------------------------------------ */

struct scan_ctx {
    struct query_op *qo;
    struct cand_list *into;
};

static void scan_one(void *ud, uint64_t seq, uint8_t type, const uint8_t *p,
                     size_t len)
{
    struct scan_ctx *ctx = ud;
    struct archive_event ev;
    if (type != RECORD_EVENT || record_decode_event(p, len, &ev) < 0)
        return;
    if (matches(&ctx->qo->q, &ev))
        add_event(ctx->into, seq, &ev);
}

static int cand_cmp(const void *x, const void *y)
{
    return key_cmp(&((const struct cand *)x)->key, &((const struct cand *)y)->key);
}

/* Parameters of a dynamically built statement. */
struct params {
    const char *v[16];
    char num[16][24];
    int n;
};

static int param_str(struct params *p, const char *s)
{
    p->v[p->n] = s;
    return ++p->n;
}

static int param_i64(struct params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, v);
    p->v[p->n] = p->num[p->n];
    return ++p->n;
}

struct table {
    const char *name;
    const char *scope_col;   /* ticket_id or room */
    const char *nick_col;
    const char *kind_expr;
};

static const struct table ticket_table = {"ticket_events", "ticket_id",
                                          "actor_nick", "coalesce(mam_kind, kind)"};
static const struct table room_table = {"muc_archive", "room", "nick", "kind"};

#define US_EXPR "(extract(epoch from at) * 1000000)::bigint"

static void scope_sql(struct buf *sql, struct params *p, const struct table *t,
                      const struct archive_query *q)
{
    if (q->ticket_id > 0)
        buf_printf(sql, " WHERE ticket_id = $%d", param_i64(p, q->ticket_id));
    else
        buf_printf(sql, " WHERE room = $%d", param_str(p, q->room));
    (void)t;
}

/* Appends one element to a PostgreSQL array literal being built in arr
 * (which starts as "{"; the caller closes it). */
static void array_add(struct buf *arr, const char *s)
{
    if (arr->len > 1)
        buf_append_char(arr, ',');
    buf_append_char(arr, '"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_append_char(arr, '\\');
        buf_append_char(arr, *s);
    }
    buf_append_char(arr, '"');
}

/* Only the kinds in the mask.  Kind texts this build does not know are
 * read as ARCHIVE_SYSTEM (fetch_stored), so they are kept exactly when
 * system records are: the list names the kinds left out then, else the
 * kinds wanted.  The texts are our own constants, written inline. */
static void kinds_sql(struct buf *sql, const struct table *t, unsigned kinds)
{
    bool system = kinds & ARCHIVE_KIND_BIT(ARCHIVE_SYSTEM);
    bool listed = false;
    for (unsigned k = 0; k <= ARCHIVE_SUBJECT; k++) {
        bool wanted = kinds & ARCHIVE_KIND_BIT(k);
        if (wanted == system)
            continue;
        if (listed)
            buf_append_str(sql, ", ");
        else
            buf_printf(sql, " AND %s %s (", t->kind_expr,
                       system ? "NOT IN" : "IN");
        buf_printf(sql, "'%s'", archive_kind_text((enum archive_kind)k));
        listed = true;
    }
    if (listed)
        buf_append_char(sql, ')');
}

/* What the query may see at all (staff only, kinds): visible() for
 * stored rows. */
static void visible_sql(struct buf *sql, const struct table *t,
                        const struct archive_query *q)
{
    if (!q->include_staff_only)
        buf_append_str(sql, " AND NOT staff_only");
    if (q->messages_only)
        buf_printf(sql, " AND %s IN ('message', 'subject')", t->kind_expr);
    if (q->kinds)
        kinds_sql(sql, t, q->kinds);
}

/* What the query may see at all, the ids asked for; then, unless it asks
 * by ids (query_run filters those itself), the filters by time and
 * sender.  ids_arr holds the ids' array literal until the statement has
 * run. */
static void filter_sql(struct buf *sql, struct params *p, const struct table *t,
                       const struct archive_query *q, struct buf *ids_arr)
{
    visible_sql(sql, t, q);
    if (q->n_ids) {
        buf_append_char(ids_arr, '{');
        for (size_t i = 0; i < q->n_ids; i++)
            array_add(ids_arr, q->ids[i]);
        buf_append_char(ids_arr, '}');
        buf_printf(sql, " AND stanza_id = ANY($%d::text[])",
                   param_str(p, buf_cstr(ids_arr)));
        return;
    }
    if (q->start_us)
        buf_printf(sql, " AND at >= 'epoch'::timestamptz + $%d::bigint * "
                   "interval '1 microsecond'", param_i64(p, q->start_us));
    if (q->end_us)
        buf_printf(sql, " AND at <= 'epoch'::timestamptz + $%d::bigint * "
                   "interval '1 microsecond'", param_i64(p, q->end_us));
    if (q->with_jid)
        buf_printf(sql, " AND actor_jid = $%d", param_str(p, q->with_jid));
    if (q->with_nick)
        buf_printf(sql, " AND %s = $%d", t->nick_col, param_str(p, q->with_nick));
}

/* Stored rows after a bound key (dir > 0) or before it. */
static void bound_sql(struct buf *sql, struct params *p, const struct key *k,
                      int dir)
{
    if (k->src == 1) {
        /* Every stored row comes before an unshipped record. */
        if (dir > 0)
            buf_append_str(sql, " AND false");
    } else {
        buf_printf(sql, dir > 0 ? " AND id > $%d::bigint" : " AND id < $%d::bigint",
                   param_i64(p, k->n));
    }
}

static bool conn_lost(PGconn *conn)
{
    return PQstatus(conn) != CONNECTION_OK;
}

static void set_error(struct query_op *qo, PGconn *conn, PGresult *res)
{
    store_pq_error(qo->op.error, sizeof qo->op.error, conn, res, NULL);
}

/* Finds the key of stanza id `id`: in the unshipped list, else stored,
 * among the records the query may see at all, so that an id the reader
 * may not see (a staff-only record, for a customer) answers as one that
 * does not exist.  1 found, 0 not, -1 error. */
static int resolve(struct query_op *qo, PGconn *conn, const struct table *t,
                   const struct cand_list *u, const char *id, struct key *out)
{
    for (size_t i = 0; i < u->n; i++)
        if (str_eq(u->v[i].item.stanza_id, id)) {
            *out = u->v[i].key;
            return 1;
        }
    struct params p = {0};
    struct buf sql = BUF_INIT;
    buf_printf(&sql, "SELECT id FROM %s", t->name);
    scope_sql(&sql, &p, t, &qo->q);
    visible_sql(&sql, t, &qo->q);
    buf_printf(&sql, " AND stanza_id = $%d", param_str(&p, id));
    PGresult *res = PQexecParams(conn, buf_cstr(&sql), p.n, NULL, p.v, NULL,
                                 NULL, 0);
    buf_free(&sql);
    int rc;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_error(qo, conn, res);
        rc = -1;
    } else if (PQntuples(res) == 0) {
        rc = 0;
    } else {
        out->src = 0;
        out->n = pgtext_parse_us(PQgetvalue(res, 0, 0));
        rc = 1;
    }
    PQclear(res);
    return rc;
}

/* Drops unshipped records PostgreSQL already has (a replay). */
static int dedupe(struct query_op *qo, PGconn *conn, const struct table *t,
                  struct cand_list *u)
{
    if (!u->n)
        return 0;
    struct buf arr = BUF_INIT;
    buf_append_char(&arr, '{');
    for (size_t i = 0; i < u->n; i++)
        array_add(&arr, u->v[i].item.stanza_id);
    buf_append_char(&arr, '}');
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT stanza_id FROM %s WHERE stanza_id = "
             "ANY($1::text[])", t->name);
    const char *v[1] = {buf_cstr(&arr)};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, v, NULL, NULL, 0);
    buf_free(&arr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_error(qo, conn, res);
        PQclear(res);
        return -1;
    }
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        const char *id = PQgetvalue(res, r, 0);
        for (size_t i = 0; i < u->n; i++)
            if (str_eq(u->v[i].item.stanza_id, id)) {
                item_free(&u->v[i].item);
                u->v[i] = u->v[--u->n];
                break;
            }
    }
    PQclear(res);
    if (u->n) /* qsort's base must not be NULL (UBSan) */
        qsort(u->v, u->n, sizeof *u->v, cand_cmp);
    return 0;
}

static int fetch_stored(struct query_op *qo, PGconn *conn, const struct table *t,
                        const struct key *lower, const struct key *upper,
                        bool backward, unsigned limit, struct cand_list *into)
{
    struct params p = {0};
    struct buf sql = BUF_INIT, ids_arr = BUF_INIT;
    buf_printf(&sql, "SELECT stanza_id, " US_EXPR ", %s, actor_jid, %s, "
               "occupant_id, body, payload, staff_only, id, message_id FROM %s",
               t->kind_expr, t->nick_col, t->name);
    scope_sql(&sql, &p, t, &qo->q);
    filter_sql(&sql, &p, t, &qo->q, &ids_arr);
    if (lower)
        bound_sql(&sql, &p, lower, +1);
    if (upper)
        bound_sql(&sql, &p, upper, -1);
    buf_printf(&sql, backward ? " ORDER BY id DESC LIMIT %u"
                              : " ORDER BY id LIMIT %u", limit);
    PGresult *res = PQexecParams(conn, buf_cstr(&sql), p.n, NULL, p.v, NULL,
                                 NULL, 0);
    bool failed = buf_failed(&sql) || buf_failed(&ids_arr);
    buf_free(&sql);
    buf_free(&ids_arr);
    if (failed || PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_error(qo, conn, res);
        PQclear(res);
        return -1;
    }
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        struct cand *c = list_push(into);
        if (!c)
            break;
#define COL(i) (PQgetisnull(res, r, i) ? NULL : strdup(PQgetvalue(res, r, i)))
        c->item.stanza_id = COL(0);
        c->item.at_us = pgtext_parse_us(PQgetvalue(res, r, 1));
        enum archive_kind kind = ARCHIVE_SYSTEM;
        archive_kind_parse(PQgetvalue(res, r, 2), &kind);
        c->item.kind = kind;
        c->item.actor_jid = COL(3);
        c->item.actor_nick = COL(4);
        c->item.occupant_id = COL(5);
        c->item.body = COL(6);
        c->item.payload = COL(7);
        c->item.staff_only = PQgetvalue(res, r, 8)[0] == 't';
        c->key = (struct key){0, pgtext_parse_us(PQgetvalue(res, r, 9))};
        c->item.message_id = COL(10);
#undef COL
    }
    PQclear(res);
    return 0;
}

static bool in_bounds(const struct key *k, const struct key *lower,
                      const struct key *upper)
{
    return (!lower || key_cmp(k, lower) > 0) && (!upper || key_cmp(k, upper) < 0);
}

/* Within the bounds; and by ids, through the filters by time and sender
 * (left until the ids were all found). */
static bool kept(const struct archive_query *q, const struct cand *c,
                 const struct key *lower, const struct key *upper)
{
    if (!in_bounds(&c->key, lower, upper))
        return false;
    return !q->n_ids || filtered_in(q, &c->item);
}

static bool list_has(const struct cand_list *l, const char *stanza_id)
{
    for (size_t i = 0; i < l->n; i++)
        if (str_eq(l->v[i].item.stanza_id, stanza_id))
            return true;
    return false;
}

/* Is every requested id a record the query may see, stored or not? */
static bool ids_all_found(const struct archive_query *q,
                          const struct cand_list *stored,
                          const struct cand_list *unshipped)
{
    for (size_t i = 0; i < q->n_ids; i++)
        if (!list_has(stored, q->ids[i]) && !list_has(unshipped, q->ids[i]))
            return false;
    return true;
}

static enum store_run_result query_run(struct store_op *op, PGconn *conn)
{
    struct query_op *qo = (struct query_op *)op;
    struct archive *a = qo->a;
    const struct archive_query *q = &qo->q;
    const struct table *t = q->ticket_id > 0 ? &ticket_table : &room_table;
    struct cand_list u = {0}, stored = {0};
    uint64_t committed = shipper_committed(a->ship);
    memset(&qo->page, 0, sizeof qo->page);
    list_free(&qo->out);

    /* Unshipped: from the journal (left the tail), then the tail's copy. */
    struct scan_ctx ctx = {qo, &u};
    shipper_scan_unshipped(a->ship, qo->tail_lo, scan_one, &ctx);
    for (size_t i = 0; i < qo->carried.n; i++) {
        const struct cand *c = &qo->carried.v[i];
        if ((uint64_t)c->key.n <= committed)
            continue; /* stored since the query was made */
        /* Copied, not moved: the op may run again after a reconnect. */
        if (cand_copy(&u, c) < 0)
            break;
    }
    if (dedupe(qo, conn, t, &u) < 0)
        goto fail;

    struct key lower, upper;
    bool has_lower = false, has_upper = false;
    if (q->after_id) {
        int rc = resolve(qo, conn, t, &u, q->after_id, &lower);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            qo->page.unknown_id = true;
            goto done;
        }
        has_lower = true;
    }
    if (q->before_id) {
        int rc = resolve(qo, conn, t, &u, q->before_id, &upper);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            qo->page.unknown_id = true;
            goto done;
        }
        has_upper = true;
    }
    bool backward = q->last_page || q->before_id;
    const struct key *lo = has_lower ? &lower : NULL;
    const struct key *hi = has_upper ? &upper : NULL;
    if (q->n_ids) {
        /* Every requested record, whatever the bounds and filters: one
         * missing is an error, not a shorter page.  stanza_id is unique,
         * so there are at most n_ids rows. */
        if (fetch_stored(qo, conn, t, NULL, NULL, false, (unsigned)q->n_ids,
                         &stored) < 0)
            goto fail;
        if (!ids_all_found(q, &stored, &u)) {
            qo->page.unknown_id = true;
            goto done;
        }
    } else if (fetch_stored(qo, conn, t, lo, hi, backward, q->max + 1,
                            &stored) < 0) {
        goto fail;
    }

    /* Merge: stored rows and unshipped records within the bounds. */
    struct cand_list *out = &qo->out;
    for (size_t i = 0; i < stored.n; i++) {
        if (!kept(q, &stored.v[i], lo, hi))
            continue;
        struct cand *c = list_push(out);
        if (!c)
            break;
        *c = stored.v[i];
        memset(&stored.v[i].item, 0, sizeof stored.v[i].item);
    }
    for (size_t i = 0; i < u.n; i++) {
        if (!kept(q, &u.v[i], lo, hi))
            continue;
        struct cand *c = list_push(out);
        if (!c)
            break;
        *c = u.v[i];
        memset(&u.v[i].item, 0, sizeof u.v[i].item);
    }
    if (out->n) /* qsort's base must not be NULL, even for no items (UBSan) */
        qsort(out->v, out->n, sizeof *out->v, cand_cmp);
    qo->page.complete = out->n <= q->max;
    if (out->n > q->max) {
        /* Keep the max items nearest the starting point. */
        size_t drop = out->n - q->max;
        size_t from = backward ? 0 : q->max;
        for (size_t i = from; i < from + drop; i++)
            item_free(&out->v[i].item);
        if (backward)
            memmove(out->v, out->v + drop, q->max * sizeof *out->v);
        out->n = q->max;
    }
    goto done;
fail:
    if (conn_lost(conn)) {
        list_free(&u);
        list_free(&stored);
        return STORE_RUN_RETRY;
    }
    log_warn(LOG, "archive query failed: %s", op->error);
    op->failed = true;
done:
    list_free(&u);
    list_free(&stored);
    return STORE_RUN_DONE;
}

static void query_free(struct query_op *qo)
{
    for (size_t i = 0; i < sizeof qo->strings / sizeof qo->strings[0]; i++)
        free(qo->strings[i]);
    for (size_t i = 0; qo->ids && i < qo->q.n_ids; i++)
        free(qo->ids[i]);
    free(qo->ids);
    list_free(&qo->carried);
    list_free(&qo->out);
    free(qo);
}

static void query_done(struct store_op *op)
{
    struct query_op *qo = (struct query_op *)op;
    struct archive_page page = qo->page;
    struct archive_item *items = NULL;
    if (op->failed) {
        memset(&page, 0, sizeof page);
        page.failed = true;
    } else if (qo->out.n) {
        items = calloc(qo->out.n, sizeof *items);
        if (!items) {
            page.failed = true;
        } else {
            for (size_t i = 0; i < qo->out.n; i++)
                items[i] = qo->out.v[i].item;
            page.items = items;
            page.count = qo->out.n;
        }
    }
    qo->fn(qo->ud, &page);
    free(items);
    query_free(qo);
}

/* ---- pages the tail alone can answer ------------------------------------------ */

static bool find_carried(const struct cand_list *l, const char *id, size_t *at)
{
    for (size_t i = 0; i < l->n; i++)
        if (str_eq(l->v[i].item.stanza_id, id)) {
            *at = i;
            return true;
        }
    return false;
}

/* By ids: the tail answers when it holds every requested record (one it
 * does not hold may be stored, or be absent: only the database can say).
 * Paging bounds need the stored records' order, so only without them. */
static bool answer_ids_from_tail(struct query_op *qo)
{
    const struct archive_query *q = &qo->q;
    const struct cand_list *t = &qo->carried;
    if (q->after_id || q->before_id || q->last_page)
        return false;
    for (size_t i = 0; i < q->n_ids; i++)
        if (!list_has(t, q->ids[i]))
            return false;
    qo->page.complete = true;
    for (size_t k = 0; k < t->n; k++) {
        if (!filtered_in(q, &t->v[k].item))
            continue;
        if (qo->out.n == q->max) {
            qo->page.complete = false;
            break;
        }
        if (cand_copy(&qo->out, &t->v[k]) < 0)
            return false;
    }
    return true;
}

/* The tail holds every record from tail_lo on, so a page that lies wholly
 * after a record it holds (a client catching up after a reconnect), or the
 * newest page when it holds enough, needs no database: it is answered at
 * once, also while the database is down.  Returns true with qo->page and
 * qo->out filled, false if the database must answer. */
static bool answer_from_tail(struct query_op *qo)
{
    const struct archive_query *q = &qo->q;
    const struct cand_list *t = &qo->carried;
    size_t lo = 0, hi = t->n, i;
    bool has_lo = false;
    if (q->max == 0)
        return false;
    if (q->n_ids)
        return answer_ids_from_tail(qo);
    if (q->after_id) {
        if (!find_carried(t, q->after_id, &i))
            return false;
        lo = i + 1;
        has_lo = true;
    }
    if (q->before_id) {
        if (!find_carried(t, q->before_id, &i) || i < lo)
            return false;
        hi = i;
    }
    bool backward = q->last_page || q->before_id;
    size_t n = hi - lo, from = lo;
    if (backward) {
        if (!has_lo && n < q->max)
            return false; /* older records may be stored: ask the database */
        if (n > q->max) {
            from = hi - q->max;
            n = q->max;
        }
        qo->page.complete = has_lo && hi - lo <= q->max;
    } else {
        if (!has_lo)
            return false; /* from the oldest: the database has those */
        if (n > q->max)
            n = q->max;
        qo->page.complete = hi - lo <= q->max;
    }
    for (size_t k = from; k < from + n; k++)
        if (cand_copy(&qo->out, &t->v[k]) < 0)
            return false;
    return true;
}

static void deliver_from_tail(void *ud)
{
    query_done(ud);
}

int archive_query(struct archive *a, const struct archive_query *q,
                  void (*fn)(void *ud, const struct archive_page *page),
                  void *ud)
{
    if (!q->room || !a->started || a->stopped)
        return -1;
    struct query_op *qo = calloc(1, sizeof *qo);
    if (!qo)
        return -1;
    qo->op.run = query_run;
    qo->op.done = query_done;
    qo->op.deadline_ms = loop_clock_ms() + a->query_timeout_ms;
    qo->a = a;
    qo->fn = fn;
    qo->ud = ud;
    qo->q = *q;
    const char *src[6] = {q->room, q->with_jid, q->with_nick, q->after_id,
                          q->before_id, NULL};
    for (int i = 0; i < 5; i++)
        if (src[i] && !(qo->strings[i] = strdup(src[i])))
            goto fail;
    qo->q.room = qo->strings[0];
    qo->q.with_jid = qo->strings[1];
    qo->q.with_nick = qo->strings[2];
    qo->q.after_id = qo->strings[3];
    qo->q.before_id = qo->strings[4];
    qo->q.ids = NULL;
    if (q->n_ids) {
        if (!(qo->ids = calloc(q->n_ids, sizeof *qo->ids)))
            goto fail;
        for (size_t i = 0; i < q->n_ids; i++)
            if (!(qo->ids[i] = strdup(q->ids[i] ? q->ids[i] : "")))
                goto fail;
        qo->q.ids = (const char *const *)qo->ids;
    }

    /* Copy the matching records the tail holds. */
    qo->tail_lo = a->tail.count ? tail_first_seq(&a->tail) : a->next_seq;
    for (size_t i = 0; i < a->tail.count; i++) {
        const struct tail_entry *e = tail_at(&a->tail, i);
        struct archive_event ev;
        if (e->type != RECORD_EVENT ||
            record_decode_event(e->payload, e->len, &ev) < 0 ||
            !matches(&qo->q, &ev))
            continue;
        if (add_event(&qo->carried, e->seq, &ev) < 0)
            goto fail;
    }
    if (answer_from_tail(qo)) {
        /* Still asynchronous: the caller gets the page after it returns. */
        if (loop_timer_add(a->loop, 0, deliver_from_tail, qo, NULL))
            return 0;
        list_free(&qo->out);
        memset(&qo->page, 0, sizeof qo->page);
    }
    store_submit(a->store, &qo->op);
    return 0;
fail:
    query_free(qo);
    return -1;
}
