/* An in-memory store for the fuzz world: component/store's interface
 * (store/db.h, store/archive.h, store/tickets.h) without PostgreSQL, the
 * journal or threads, linked in place of the objects of component/store.
 *
 * - store_submit(): the op runs at the end of the loop turn, against the
 *   fake database (fake_pq.c), then its `done` runs, as the DB thread and
 *   its eventfd would do it.
 * - archive_append(), store_ticket_create/update(): records kept in memory
 *   with one sequence; durable at the end of the turn (async durability),
 *   unless fake_store_hold() holds them back.
 * - archive_query() and the ticket reads are answered from memory, always
 *   after the call returns, with archive_query.c's rules for an archive
 *   whose records are all unshipped.
 *
 * Every function runs on the (only) thread.  service.c builds one store
 * and one archive per world, as in the daemon. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "fuzz_check.h"
#include "store/archive.h"
#include "store/db.h"
#include "store/lease.h"
#include "store/tickets.h"

struct event {
    uint64_t seq;
    struct archive_item item;
    char *room;
    int64_t ticket_id;
};

struct pending_query {
    struct archive_query q;       /* strings owned (copied) */
    char **ids;
    void (*fn)(void *ud, const struct archive_page *page);
    void *ud;
    struct pending_query *next;
};

struct pending_tickets {
    int64_t ended_since_us;
    store_tickets_fn fn;
    void *ud;
    struct pending_tickets *next;
};

struct ticket_rec {
    struct store_ticket t;        /* strings owned */
};

struct store {
    struct loop *loop;
    struct store_op *ops_head, *ops_tail;
    bool started;
};

struct archive {
    struct loop *loop;
    struct store *store;
    uint64_t next_seq, durable, durable_told;
    void (*on_durable)(void *ud, uint64_t seq);
    void *on_durable_ud;
    bool hold;                    /* durability held back (a slow disk) */
    bool refuse;                  /* appends refused (disk full) */
    struct event *events;
    size_t n_events, cap_events;
    struct ticket_rec *tickets;
    size_t n_tickets, cap_tickets;
    int64_t next_ticket_id;
    struct pending_query *queries;
    struct pending_tickets *ticket_reads;
    uint64_t appended_total;
};

static char *dup_opt(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort(); /* the fuzz world does not test running out of memory */
    return d;
}

/* ---- store/db.h ------------------------------------------------------------------ */

static bool store_turn(void *ud);

struct store *store_new(struct loop *loop, const struct store_config *cfg)
{
    (void)cfg;
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    if (loop_turn_hook_add(loop, store_turn, s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

int store_on_connect(struct store *store, store_connect_fn fn, void *ud)
{
    (void)store, (void)fn, (void)ud;
    return 0;
}

int store_start(struct store *store)
{
    store->started = true;
    return 0;
}

void store_submit(struct store *store, struct store_op *op)
{
    op->next = NULL;
    if (store->ops_tail)
        store->ops_tail->next = op;
    else
        store->ops_head = op;
    store->ops_tail = op;
}

static void finish(struct store_op *op)
{
    if (op->done)
        op->done(op);
    else
        free(op);
}

/* One op: run against the fake database, then done.  A run that asks to
 * be retried (only a lost connection does) fails: this database never
 * goes away. */
static void run_one(struct store *store)
{
    struct store_op *op = store->ops_head;
    store->ops_head = op->next;
    if (!store->ops_head)
        store->ops_tail = NULL;
    op->next = NULL;
    if (op->run(op, fake_pq_conn()) == STORE_RUN_RETRY) {
        op->failed = true;
        snprintf(op->error, sizeof op->error, "fake database: no retry");
    }
    finish(op);
}

static bool store_turn(void *ud)
{
    struct store *store = ud;
    /* Ops that done callbacks submit run in the next turn, as they would
     * after the eventfd. */
    struct store_op *last = store->ops_tail;
    while (store->ops_head) {
        bool was_last = store->ops_head == last;
        run_one(store);
        if (was_last)
            break;
    }
    return store->ops_head != NULL;
}

size_t store_stop(struct store *store, unsigned timeout_ms)
{
    (void)timeout_ms;
    size_t n = 0;
    while (store->ops_head) {
        struct store_op *op = store->ops_head;
        store->ops_head = op->next;
        op->failed = true;
        snprintf(op->error, sizeof op->error, "stopping");
        finish(op);
        n++;
    }
    store->ops_tail = NULL;
    return n;
}

void store_free(struct store *store)
{
    if (!store)
        return;
    store_stop(store, 0);
    free(store);
}

bool store_connected(const struct store *store)
{
    return store->started;
}

size_t store_queue_depth(const struct store *store)
{
    size_t n = 0;
    for (const struct store_op *op = store->ops_head; op; op = op->next)
        n++;
    return n;
}

bool store_connection_lost(PGconn *conn)
{
    (void)conn;
    return false;
}

/* ---- store/archive.h ------------------------------------------------------------- */

static bool archive_turn(void *ud);

static struct archive *current;

struct archive *fake_archive(void)
{
    return current;
}

struct archive *archive_new(struct loop *loop, struct store *store,
                            const struct config *cfg)
{
    (void)cfg;
    struct archive *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->loop = loop;
    a->store = store;
    a->next_seq = 1;
    a->next_ticket_id = 1;
    if (loop_turn_hook_add(loop, archive_turn, a) < 0) {
        free(a);
        return NULL;
    }
    current = a;
    return a;
}

int archive_start(struct archive *a)
{
    (void)a;
    return 0;
}

void archive_stop(struct archive *a, unsigned timeout_ms)
{
    (void)a, (void)timeout_ms;
}

void fake_archive_hold(struct archive *a, bool hold)
{
    a->hold = hold;
}

void fake_archive_refuse(struct archive *a, bool refuse)
{
    a->refuse = refuse;
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

static void ticket_strings_free(struct store_ticket *t)
{
    free((char *)t->queue);
    free((char *)t->subject);
    free((char *)t->customer_jid);
    free((char *)t->customer_name);
    free((char *)t->customer_email);
    free((char *)t->owner_jid);
    free((char *)t->rating_comment);
    free((char *)t->room);
    free((char *)t->details);
    free((char *)t->impact);
    free((char *)t->ci);
    free((char *)t->tags);
    free((char *)t->solution);
    free((char *)t->customer_phone);
}

static void query_free(struct pending_query *p)
{
    free((char *)p->q.room);
    free((char *)p->q.with_jid);
    free((char *)p->q.with_nick);
    free((char *)p->q.after_id);
    free((char *)p->q.before_id);
    for (size_t i = 0; i < p->q.n_ids; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p);
}

void archive_free(struct archive *a)
{
    if (!a)
        return;
    if (current == a)
        current = NULL;
    for (size_t i = 0; i < a->n_events; i++) {
        item_free(&a->events[i].item);
        free(a->events[i].room);
    }
    free(a->events);
    for (size_t i = 0; i < a->n_tickets; i++)
        ticket_strings_free(&a->tickets[i].t);
    free(a->tickets);
    while (a->queries) {
        struct pending_query *p = a->queries;
        a->queries = p->next;
        query_free(p);
    }
    while (a->ticket_reads) {
        struct pending_tickets *p = a->ticket_reads;
        a->ticket_reads = p->next;
        free(p);
    }
    free(a);
}

uint64_t archive_append(struct archive *a, const struct archive_event *ev)
{
    /* The contract's refusals: no stanza id or room, or the disk is full. */
    if (a->refuse || !ev->stanza_id || !ev->room)
        return 0;
    if (a->n_events == a->cap_events) {
        size_t cap = a->cap_events ? a->cap_events * 2 : 64;
        struct event *e = realloc(a->events, cap * sizeof *e);
        if (!e)
            abort();
        a->events = e;
        a->cap_events = cap;
    }
    struct event *e = &a->events[a->n_events++];
    memset(e, 0, sizeof *e);
    e->seq = a->next_seq++;
    e->room = dup_opt(ev->room);
    e->ticket_id = ev->ticket_id;
    e->item.stanza_id = dup_opt(ev->stanza_id);
    e->item.at_us = ev->at_us;
    e->item.kind = ev->kind;
    e->item.actor_jid = dup_opt(ev->actor_jid);
    e->item.actor_nick = dup_opt(ev->actor_nick);
    e->item.occupant_id = dup_opt(ev->occupant_id);
    e->item.message_id = dup_opt(ev->message_id);
    e->item.body = dup_opt(ev->body);
    e->item.payload = dup_opt(ev->payload);
    e->item.staff_only = ev->staff_only;
    a->appended_total++;
    return e->seq;
}

uint64_t archive_durable(const struct archive *a)
{
    return a->durable;
}

void archive_on_durable(struct archive *a, void (*fn)(void *ud, uint64_t seq),
                        void *ud)
{
    a->on_durable = fn;
    a->on_durable_ud = ud;
}

bool archive_accepting(const struct archive *a)
{
    return !a->refuse;
}

void archive_get_stats(const struct archive *a, struct archive_stats *out)
{
    memset(out, 0, sizeof *out);
    out->appended = a->next_seq - 1;
    out->durable = a->durable;
    out->written = a->next_seq - 1;
    out->committed = a->durable;
    out->accepting = !a->refuse;
}

/* ---- reading, with archive_query.c's rules ------------------------------------- */

static bool str_eq(const char *x, const char *y)
{
    return x && y && strcmp(x, y) == 0;
}

static bool visible(const struct archive_query *q, const struct event *e)
{
    if (q->ticket_id > 0) {
        if (e->ticket_id != q->ticket_id)
            return false;
    } else if (e->ticket_id > 0 || !str_eq(e->room, q->room)) {
        return false;
    }
    if (!q->include_staff_only && e->item.staff_only)
        return false;
    if (q->messages_only && e->item.kind != ARCHIVE_MESSAGE &&
        e->item.kind != ARCHIVE_SUBJECT)
        return false;
    if (q->kinds && !(q->kinds & ARCHIVE_KIND_BIT(e->item.kind)))
        return false;
    return true;
}

static bool filtered_in(const struct archive_query *q,
                        const struct archive_item *it)
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

static bool id_wanted(const struct archive_query *q, const char *id)
{
    for (size_t i = 0; i < q->n_ids; i++)
        if (str_eq(q->ids[i], id))
            return true;
    return false;
}

/* The position (index into events) of a visible record by stanza id. */
static bool resolve(const struct archive *a, const struct archive_query *q,
                    const char *id, size_t *at)
{
    for (size_t i = 0; i < a->n_events; i++)
        if (visible(q, &a->events[i]) &&
            str_eq(a->events[i].item.stanza_id, id)) {
            *at = i;
            return true;
        }
    return false;
}

static void answer_query(struct archive *a, const struct pending_query *p)
{
    const struct archive_query *q = &p->q;
    struct archive_page page = {0};
    size_t lo = 0, hi = a->n_events, at;
    bool backward = q->last_page || q->before_id;
    if (q->after_id) {
        if (!resolve(a, q, q->after_id, &at)) {
            page.unknown_id = true;
            goto answer;
        }
        lo = at + 1;
    }
    if (q->before_id) {
        if (!resolve(a, q, q->before_id, &at)) {
            page.unknown_id = true;
            goto answer;
        }
        hi = at;
    }
    for (size_t i = 0; i < q->n_ids; i++) {
        size_t k;
        if (!resolve(a, q, q->ids[i], &k)) {
            page.unknown_id = true;
            goto answer;
        }
    }
    /* The matching records within the bounds, in archive order. */
    size_t n = 0;
    page.items = calloc(a->n_events + 1, sizeof *page.items);
    if (!page.items)
        abort();
    for (size_t i = lo; i < hi; i++) {
        const struct event *e = &a->events[i];
        if (!visible(q, e) || !filtered_in(q, &e->item))
            continue;
        if (q->n_ids && !id_wanted(q, e->item.stanza_id))
            continue;
        page.items[n++] = e->item; /* borrowed for the callback */
    }
    page.complete = n <= q->max;
    if (n > q->max) {
        /* The max items nearest the starting point. */
        if (backward)
            memmove(page.items, page.items + (n - q->max),
                    q->max * sizeof *page.items);
        n = q->max;
    }
    page.count = n;
answer:
    p->fn(p->ud, &page);
    free(page.items);
}

int archive_query(struct archive *a, const struct archive_query *q,
                  void (*fn)(void *ud, const struct archive_page *page),
                  void *ud)
{
    if (!q->room)
        return -1;
    struct pending_query *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->q = *q;
    p->q.room = dup_opt(q->room);
    p->q.with_jid = dup_opt(q->with_jid);
    p->q.with_nick = dup_opt(q->with_nick);
    p->q.after_id = dup_opt(q->after_id);
    p->q.before_id = dup_opt(q->before_id);
    p->q.ids = NULL;
    if (q->n_ids) {
        p->ids = calloc(q->n_ids, sizeof *p->ids);
        if (!p->ids)
            abort();
        for (size_t i = 0; i < q->n_ids; i++)
            p->ids[i] = dup_opt(q->ids[i] ? q->ids[i] : "");
        p->q.ids = (const char *const *)p->ids;
    }
    p->fn = fn;
    p->ud = ud;
    /* Answered in order, at the end of the turn. */
    struct pending_query **tail = &a->queries;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    return 0;
}

/* ---- store/tickets.h ------------------------------------------------------------- */

static const char *const status_names[] = {"QUEUED", "INPROGRESS", "RESOLVED"};

/* The same as tickets.c's (which this file replaces). */
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

static void ticket_copy(struct store_ticket *to, const struct store_ticket *t)
{
    *to = *t;
    to->queue = dup_opt(t->queue);
    to->subject = dup_opt(t->subject);
    to->customer_jid = dup_opt(t->customer_jid);
    to->customer_name = dup_opt(t->customer_name);
    to->customer_email = dup_opt(t->customer_email);
    to->owner_jid = dup_opt(t->owner_jid);
    to->rating_comment = dup_opt(t->rating_comment);
    to->room = dup_opt(t->room);
    to->details = dup_opt(t->details);
    to->impact = dup_opt(t->impact);
    to->ci = dup_opt(t->ci);
    to->tags = dup_opt(t->tags);
    to->solution = dup_opt(t->solution);
    to->customer_phone = dup_opt(t->customer_phone);
}

static struct ticket_rec *ticket_find(struct archive *a, int64_t id)
{
    for (size_t i = 0; i < a->n_tickets; i++)
        if (a->tickets[i].t.id == id)
            return &a->tickets[i];
    return NULL;
}

/* The checks PostgreSQL's tickets table would make (sql/001_init.sql: NOT
 * NULL queue, the priority, rating and chat_seconds ranges; 0 stands for
 * the default priority and for no rating): a snapshot it would refuse is
 * a bug. */
static void ticket_check(const struct store_ticket *t)
{
    if (!t->queue || t->priority < 0 || t->priority > 5 || t->rating < 0 ||
        t->rating > 5 || (unsigned)t->status > TICKET_RESOLVED ||
        t->chat_seconds < 0)
        fuzz_fail("ticket snapshot the tickets table refuses: id %lld queue "
                  "%s priority %d rating %d", (long long)t->id,
                  t->queue ? t->queue : "(null)", t->priority, t->rating);
}

uint64_t store_ticket_create(struct archive *a, struct store_ticket *t)
{
    if (a->refuse) {
        t->id = 0;
        return 0;
    }
    t->id = a->next_ticket_id++;
    ticket_check(t);
    if (a->n_tickets == a->cap_tickets) {
        size_t cap = a->cap_tickets ? a->cap_tickets * 2 : 16;
        struct ticket_rec *r = realloc(a->tickets, cap * sizeof *r);
        if (!r)
            abort();
        a->tickets = r;
        a->cap_tickets = cap;
    }
    ticket_copy(&a->tickets[a->n_tickets++].t, t);
    return a->next_seq++;
}

uint64_t store_ticket_update(struct archive *a, const struct store_ticket *t)
{
    if (a->refuse)
        return 0;
    struct ticket_rec *r = ticket_find(a, t->id);
    if (!r)
        fuzz_fail("update of ticket %lld, never created", (long long)t->id);
    ticket_check(t);
    struct store_ticket copy;
    ticket_copy(&copy, t);
    ticket_strings_free(&r->t);
    r->t = copy;
    return a->next_seq++;
}

size_t store_ticket_ids_available(const struct archive *a)
{
    return a->refuse ? 0 : 64;
}

int store_tickets_load_open(struct archive *a, int64_t ended_since_us,
                            store_tickets_fn fn, void *ud)
{
    struct pending_tickets *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->ended_since_us = ended_since_us;
    p->fn = fn;
    p->ud = ud;
    p->next = a->ticket_reads;
    a->ticket_reads = p;
    return 0;
}

static void answer_tickets(struct archive *a, const struct pending_tickets *p)
{
    struct store_ticket *list = calloc(a->n_tickets + 1, sizeof *list);
    if (!list)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < a->n_tickets; i++) {
        const struct store_ticket *t = &a->tickets[i].t;
        if (t->status != TICKET_RESOLVED ||
            (p->ended_since_us && t->ended_us >= p->ended_since_us))
            list[n++] = *t;
    }
    struct store_ticket_list l = {.tickets = list, .count = n};
    p->fn(p->ud, &l);
    free(list);
}

/* ---- the end of a turn --------------------------------------------------------- */

static bool archive_turn(void *ud)
{
    struct archive *a = ud;
    bool more = false;
    if (!a->hold && a->durable < a->next_seq - 1) {
        a->durable = a->next_seq - 1;
        if (a->on_durable)
            a->on_durable(a->on_durable_ud, a->durable);
        more = true; /* the listener may have appended */
    }
    struct pending_query *qs = a->queries;
    a->queries = NULL;
    while (qs) {
        struct pending_query *p = qs;
        qs = p->next;
        answer_query(a, p);
        query_free(p);
        more = true;
    }
    struct pending_tickets *ts = a->ticket_reads;
    a->ticket_reads = NULL;
    while (ts) {
        struct pending_tickets *p = ts;
        ts = p->next;
        answer_tickets(a, p);
        free(p);
        more = true;
    }
    return more;
}

/* ---- the [ha] lease: the world runs standalone ---------------------------------- */

/* The world's configuration has no [ha] section, so service.c never asks
 * for a lease; these keep store/lease.c (and the libpq it needs) out of
 * the link.  A lease asked for anyway fails, as without memory. */
struct lease *lease_new(struct loop *loop, const struct lease_config *cfg,
                        const struct lease_events *events)
{
    (void)loop;
    (void)cfg;
    (void)events;
    return NULL;
}

int lease_start(struct lease *l)
{
    (void)l;
    return -1;
}

void lease_free(struct lease *l)
{
    (void)l;
}

bool lease_valid(const struct lease *l)
{
    (void)l;
    return false;
}

int lease_backend_pid(const struct lease *l)
{
    (void)l;
    return 0;
}
