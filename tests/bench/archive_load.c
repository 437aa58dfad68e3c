/* archive-load: drives the archive (store/archive.h) the way the MUC does,
 * without XMPP, for the store fault tests and the benchmark.
 *
 *   archive-load -c mucdesk.conf [options]
 *
 * Appends events at a rate (or as fast as the archive takes them), waits
 * for each to become durable the way the MUC holds fan-out, and reports:
 *   --acked FILE     every durable stanza-id, one per line, as it becomes
 *                    durable (what a client would have received)
 *   --stats-ms N     a "stats ..." line every N ms
 *   --latency        append -> durable percentiles at the end
 * Other options: --rate N (events/s; 0 = flat out), --count N, --duration S,
 * --rooms N, --tickets N (events go to N tickets created through
 * store/tickets.h), --prefix P (stanza-id prefix), --body-size N,
 * --bad-every N (every Nth event names a ticket that does not exist: a
 * dead letter), --wait-committed (at the end, wait until PostgreSQL has
 * everything), --query ROOM / --query-ticket ID (print every stanza-id the
 * archive returns, paging with max 50, then exit), --stop-timeout MS,
 * --replay-only (append nothing: ship what the journal holds, with
 * --wait-committed), --ticket-every N (open a new ticket every N events and
 * resolve the oldest: tickets created and updated through the journal),
 * --query-check (once everything appended is durable, page through the
 * first room forwards and backwards, max 7 per page, and check both give
 * exactly the events this run appended there, in order: prints "query check
 * ok items=N" or "query check FAILED ...").  --query-from-tail: the same,
 * the way a client catches up after a reconnect (forwards from after the
 * room's first event, then the newest page): answered from memory, so it
 * also works while PostgreSQL is down.  --tickets-check: once durable, read
 * the open tickets (store_tickets_load_open) and the oldest ticket by room
 * (store_ticket_find) and check them against what this run created and
 * resolved: prints "tickets check ok open=N" or "tickets check FAILED ...".
 * --odd-text: every text (event body and nick, ticket subject, name and
 * details) holds ill-formed UTF-8, as a byte cut inside a character
 * leaves it: the store must still take every row.
 *
 * SIGTERM/SIGINT stop it cleanly (archive_stop flushes); exit status 0. */
#include "build-config.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/archive.h"
#include "store/db.h"
#include "store/tickets.h"

struct opts {
    const char *config;
    double rate;
    uint64_t count;
    double duration;
    unsigned rooms;
    unsigned tickets;
    const char *prefix;
    const char *acked;
    unsigned stats_ms;
    bool latency;
    unsigned body_size;
    unsigned bad_every;
    bool wait_committed;
    const char *query_room;
    int64_t query_ticket;
    unsigned stop_timeout_ms;
    bool replay_only;
    unsigned ticket_every;
    bool query_check;
    bool query_from_tail;
    bool tickets_check;
    bool odd_text;
};

/* Ill-formed UTF-8 of each kind: a character cut after 2 of its 3 bytes,
 * a byte that is never UTF-8, a surrogate, an overlong '/'. */
#define ODD "\xe2\x82|\xff|\xed\xa0\x80|\xc0\xaf"

struct load {
    struct opts o;
    struct loop *loop;
    struct store *store;
    struct archive *archive;
    FILE *acked;
    char *body;
    uint64_t started_ns;
    uint64_t appended;       /* events appended */
    uint64_t refused;
    bool appending_done;
    bool stopping;
    /* seq -> event index, for the acked file and latency */
    uint64_t *seq_event;     /* ring indexed by seq % RING */
    uint64_t *seq_time_ns;
    uint64_t reported;       /* durable seq already processed */
    int64_t *ticket_ids;
    unsigned tickets_made;
    uint64_t *lat_us;        /* latency samples */
    size_t lat_n, lat_cap;
    /* query mode */
    char *after;
    uint64_t query_items;
    int exit_status;
    /* --ticket-every: tickets[] is a window of open tickets */
    unsigned ticket_base;     /* index of the oldest open ticket */
    /* --query-check */
    char **expect;            /* ids appended to the first room, in order */
    size_t expect_n, expect_cap;
    char **got;
    size_t got_n, got_cap;
    int check_phase;          /* 0 not started, 1 forward, 2 backward, 3 done */
    bool check_started;
    int tickets_phase;        /* 0 not started, 1 open, 2 find, 3 done */
    size_t open_total;
};

#define RING (1u << 22)
#define WINDOW 200000        /* flat out: at most this many not durable */
#define BATCH_PER_TURN 5000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: archive-load -c CONF [--rate N] [--count N] "
            "[--duration S] [--rooms N] [--tickets N] [--prefix P] "
            "[--acked FILE] [--stats-ms N] [--latency] [--body-size N] "
            "[--bad-every N] [--wait-committed] [--query ROOM] "
            "[--query-ticket ID] [--stop-timeout MS] [--odd-text]\n");
}

static void print_stats(struct load *l, const char *tag)
{
    struct archive_stats st;
    archive_get_stats(l->archive, &st);
    printf("%s t=%.3f events=%" PRIu64 " refused=%" PRIu64 " appended=%" PRIu64
           " durable=%" PRIu64 " written=%" PRIu64 " committed=%" PRIu64
           " dead=%" PRIu64 " tail=%zu tail_bytes=%zu segments=%zu "
           "journal_bytes=%" PRIu64 " accepting=%d connected=%d\n",
           tag, (double)(now_ns() - l->started_ns) / 1e9, l->appended,
           l->refused, st.appended, st.durable, st.written, st.committed,
           st.dead_letters, st.tail_records, st.tail_bytes,
           st.journal_segments, st.journal_bytes, st.accepting,
           store_connected(l->store));
}

static void on_durable(void *ud, uint64_t seq)
{
    struct load *l = ud;
    uint64_t t = now_ns();
    for (uint64_t s = l->reported + 1; s <= seq; s++) {
        uint64_t ev = l->seq_event[s % RING];
        if (!ev)
            continue; /* a ticket record, or from a previous run */
        l->seq_event[s % RING] = 0;
        if (l->acked)
            fprintf(l->acked, "%s-%" PRIu64 "\n", l->o.prefix, ev);
        if (l->o.latency) {
            if (l->lat_n == l->lat_cap) {
                l->lat_cap = l->lat_cap ? l->lat_cap * 2 : 1 << 20;
                l->lat_us = realloc(l->lat_us, l->lat_cap * sizeof *l->lat_us);
            }
            l->lat_us[l->lat_n++] = (t - l->seq_time_ns[s % RING]) / 1000;
        }
    }
    if (l->acked)
        fflush(l->acked);
    l->reported = seq;
}

static void push_str(char ***v, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *v = realloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = strdup(s);
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void ticket_snapshot(struct load *l, unsigned k, enum ticket_status st,
                            struct store_ticket *t, char *room, char *name)
{
    sprintf(room, "%s-t%u", l->o.prefix, k);
    sprintf(name, "Customer %u%s", k, l->o.odd_text ? " " ODD : "");
    *t = (struct store_ticket){
        .queue = "load",
        .status = st,
        .subject = l->o.odd_text ? "load test " ODD : "load test",
        .customer_jid = "customer@anon.localhost",
        .customer_name = name,
        .owner_jid = st == TICKET_QUEUED ? NULL : "agent@localhost",
        .priority = 3,
        .room = room,
        .details = l->o.odd_text ? "{\"source\": \"" ODD "\"}"
                                 : "{\"source\": \"archive-load\"}",
    };
}

/* --ticket-every: the oldest open ticket is resolved, a new one opened. */
static bool rotate_ticket(struct load *l)
{
    char room[64], name[64];
    struct store_ticket t;
    unsigned k = l->ticket_base;
    ticket_snapshot(l, l->tickets_made, TICKET_QUEUED, &t, room, name);
    if (!store_ticket_create(l->archive, &t))
        return false;
    l->ticket_ids = realloc(l->ticket_ids, (l->tickets_made + 1) * sizeof *l->ticket_ids);
    l->ticket_ids[l->tickets_made++] = t.id;
    ticket_snapshot(l, k, TICKET_RESOLVED, &t, room, name);
    t.id = l->ticket_ids[k];
    t.ended_us = 1;
    t.chat_seconds = 60;
    store_ticket_update(l->archive, &t);
    l->ticket_base++;
    return true;
}

static bool make_tickets(struct load *l)
{
    while (l->tickets_made < l->o.tickets) {
        char room[64], name[64];
        snprintf(room, sizeof room, "%s-t%u", l->o.prefix, l->tickets_made);
        snprintf(name, sizeof name, "Customer %u%s", l->tickets_made,
                 l->o.odd_text ? " " ODD : "");
        struct store_ticket t = {
            .queue = "load",
            .status = TICKET_INPROGRESS,
            .subject = l->o.odd_text ? "load test " ODD : "load test",
            .customer_jid = "customer@anon.localhost",
            .customer_name = name,
            .priority = 3,
            .room = room,
            .details = l->o.odd_text ? "{\"source\": \"" ODD "\"}"
                                     : "{\"source\": \"archive-load\"}",
        };
        if (!store_ticket_create(l->archive, &t))
            return false; /* no number reserved yet: try again later */
        l->ticket_ids[l->tickets_made++] = t.id;
    }
    return true;
}

static bool first_room_event(struct load *l, uint64_t n)
{
    if (l->o.bad_every && n % l->o.bad_every == 0)
        return false;
    if (l->o.tickets)
        return l->ticket_base + (unsigned)(n % l->o.tickets) == 0;
    return n % l->o.rooms == 0;
}

static bool append_one(struct load *l)
{
    uint64_t n = l->appended + 1;
    char id[96], room[64], nick[32];
    snprintf(id, sizeof id, "%s-%" PRIu64, l->o.prefix, n);
    struct archive_event ev = {
        .stanza_id = id,
        .room = room,
        .at_us = (int64_t)(time(NULL)) * 1000000 + (int64_t)(n % 1000000),
        .kind = ARCHIVE_MESSAGE,
        .actor_jid = "agent@localhost",
        .actor_nick = nick,
        .occupant_id = "occ",
        .body = l->body,
        .payload = "<active xmlns='http://jabber.org/protocol/chatstates'/>",
    };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ev.at_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    snprintf(nick, sizeof nick, "nick%" PRIu64 "%s", n % 7,
             l->o.odd_text ? ODD : "");
    if (l->o.tickets) {
        unsigned k = l->ticket_base + (unsigned)(n % l->o.tickets);
        ev.ticket_id = l->ticket_ids[k];
        snprintf(room, sizeof room, "%s-t%u", l->o.prefix, k);
    } else {
        snprintf(room, sizeof room, "%s-r%u", l->o.prefix,
                 (unsigned)(n % l->o.rooms));
    }
    if (l->o.bad_every && n % l->o.bad_every == 0)
        ev.ticket_id = INT64_MAX - 1; /* no such ticket: a dead letter */
    uint64_t seq = archive_append(l->archive, &ev);
    if (!seq) {
        l->refused++;
        return false;
    }
    l->appended = n;
    if (l->o.query_check && first_room_event(l, n))
        push_str(&l->expect, &l->expect_n, &l->expect_cap, id);
    l->seq_event[seq % RING] = n;
    l->seq_time_ns[seq % RING] = now_ns();
    return true;
}

static void finish(struct load *l)
{
    if (!l->stopping) {
        l->stopping = true;
        loop_stop(l->loop);
    }
}

static void tick(void *ud);
static void check_start(struct load *l);
static void tickets_check_start(struct load *l);

static void schedule_tick(struct load *l, uint64_t ms)
{
    loop_timer_add(l->loop, ms, tick, l, NULL);
}

static void tick(void *ud)
{
    struct load *l = ud;
    if (l->stopping)
        return;
    double elapsed = (double)(now_ns() - l->started_ns) / 1e9;
    if (!l->appending_done) {
        if (!make_tickets(l)) {
            schedule_tick(l, 10);
            return;
        }
        uint64_t target;
        if (l->o.rate > 0)
            target = (uint64_t)(elapsed * l->o.rate);
        else
            target = archive_durable(l->archive) + WINDOW > l->appended
                         ? l->appended + BATCH_PER_TURN
                         : l->appended;
        if (l->o.count && target > l->o.count)
            target = l->o.count;
        unsigned budget = 20000;
        while (l->appended < target && budget--) {
            if (l->o.ticket_every && l->appended &&
                l->appended % l->o.ticket_every == 0 &&
                l->tickets_made == l->ticket_base + l->o.tickets &&
                !rotate_ticket(l)) {
                l->refused++; /* no ticket number: the chat would be refused */
                break;
            }
            if (!append_one(l))
                break;
        }
        if ((l->o.count && l->appended >= l->o.count) ||
            (l->o.duration > 0 && elapsed >= l->o.duration)) {
            l->appending_done = true;
            print_stats(l, "appended");
        }
    }
    if (l->appending_done) {
        struct archive_stats st;
        archive_get_stats(l->archive, &st);
        bool durable = st.durable >= st.appended;
        bool committed = st.committed >= st.appended;
        if (durable && l->o.tickets_check && l->tickets_phase != 3) {
            if (!l->tickets_phase)
                tickets_check_start(l);
            schedule_tick(l, 1);
            return;
        }
        if (durable && l->o.query_check && l->check_phase != 3) {
            if (!l->check_started) {
                l->check_started = true;
                check_start(l);
            }
            schedule_tick(l, 1);
            return;
        }
        if (durable && (!l->o.wait_committed || committed)) {
            print_stats(l, committed ? "committed" : "durable");
            finish(l);
            return;
        }
    }
    schedule_tick(l, 1); /* a 0 ms timer would run again in the same pass */
}

/* ---- --query-check ---- */

static void check_page(void *ud, const struct archive_page *page);

static void check_query(struct load *l, const char *after, const char *before,
                        bool last)
{
    char room[64];
    if (l->o.tickets)
        snprintf(room, sizeof room, "%s-t0", l->o.prefix);
    else
        snprintf(room, sizeof room, "%s-r0", l->o.prefix);
    struct archive_query q = {
        .room = room,
        .ticket_id = l->o.tickets ? l->ticket_ids[0] : 0,
        .after_id = after,
        .before_id = before,
        .last_page = last,
        .max = 7,
        .include_staff_only = true,
    };
    if (archive_query(l->archive, &q, check_page, l) < 0) {
        printf("query check FAILED: cannot queue\n");
        l->exit_status = 1;
        l->check_phase = 3;
    }
}

static void check_start(struct load *l)
{
    l->check_phase = 1;
    if (l->o.query_from_tail && l->expect_n)
        check_query(l, l->expect[0], NULL, false);
    else
        check_query(l, NULL, NULL, false);
}

static bool same(char **a, char **b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0) {
            printf("query check FAILED: item %zu is %s, expected %s\n", i, a[i], b[i]);
            return false;
        }
    return true;
}

static void check_page(void *ud, const struct archive_page *page)
{
    struct load *l = ud;
    if (page->failed || page->unknown_id) {
        printf("query check FAILED: page %s\n", page->failed ? "failed" : "unknown id");
        l->exit_status = 1;
        l->check_phase = 3;
        return;
    }
    if (l->check_phase == 1) {
        for (size_t i = 0; i < page->count; i++)
            push_str(&l->got, &l->got_n, &l->got_cap, page->items[i].stanza_id);
        if (!page->complete) {
            check_query(l, l->got[l->got_n - 1], NULL, false);
            return;
        }
        size_t skip = l->o.query_from_tail ? 1 : 0;
        bool ok = l->got_n + skip == l->expect_n &&
                  same(l->got, l->expect + skip, l->got_n);
        if (!ok) {
            printf("query check FAILED: forward %zu items, expected %zu\n",
                   l->got_n, l->expect_n - skip);
            l->exit_status = 1;
            l->check_phase = 3;
            return;
        }
        free_strs(l->got, l->got_n);
        l->got = NULL;
        l->got_n = l->got_cap = 0;
        l->check_phase = 2;
        check_query(l, NULL, NULL, true);
        return;
    }
    /* backward: pages arrive newest first, each oldest first */
    for (size_t i = page->count; i-- > 0;)
        push_str(&l->got, &l->got_n, &l->got_cap, page->items[i].stanza_id);
    if (l->o.query_from_tail) {
        /* Only the newest page: the older ones need the database. */
        bool ok = l->expect_n >= 7 && l->got_n == 7 && !page->complete;
        for (size_t i = 0; ok && i < 7; i++)
            ok = strcmp(l->got[i], l->expect[l->expect_n - 1 - i]) == 0;
        struct archive_stats st;
        archive_get_stats(l->archive, &st);
        if (ok)
            printf("query check ok items=%zu committed=%" PRIu64 "\n",
                   l->expect_n - 1, st.committed);
        else
            printf("query check FAILED: newest page\n");
        if (!ok)
            l->exit_status = 1;
        l->check_phase = 3;
        return;
    }
    if (!page->complete) {
        check_query(l, NULL, l->got[l->got_n - 1], false);
        return;
    }
    for (size_t i = 0; i < l->got_n / 2; i++) {
        char *t = l->got[i];
        l->got[i] = l->got[l->got_n - 1 - i];
        l->got[l->got_n - 1 - i] = t;
    }
    bool ok = l->got_n == l->expect_n && same(l->got, l->expect, l->got_n);
    if (ok) {
        struct archive_stats st;
        archive_get_stats(l->archive, &st);
        printf("query check ok items=%zu committed=%" PRIu64 "\n", l->got_n,
               st.committed);
    } else {
        printf("query check FAILED: backward %zu items, expected %zu\n",
               l->got_n, l->expect_n);
        l->exit_status = 1;
    }
    l->check_phase = 3;
}

/* ---- --tickets-check ---- */

static void tickets_fail(struct load *l, const char *why)
{
    printf("tickets check FAILED: %s\n", why);
    l->exit_status = 1;
    l->tickets_phase = 3;
}

static void on_found(void *ud, const struct store_ticket_list *list)
{
    struct load *l = ud;
    char room[64];
    snprintf(room, sizeof room, "%s-t0", l->o.prefix);
    if (list->failed || list->count != 1)
        return tickets_fail(l, "find by room");
    const struct store_ticket *t = &list->tickets[0];
    enum ticket_status want = l->ticket_base > 0 ? TICKET_RESOLVED : TICKET_INPROGRESS;
    if (t->id != l->ticket_ids[0] || t->status != want || !t->room ||
        strcmp(t->room, room) != 0 || !t->customer_name ||
        strcmp(t->customer_name, "Customer 0") != 0)
        return tickets_fail(l, "the ticket found is not the one created");
    struct archive_stats st;
    archive_get_stats(l->archive, &st);
    printf("tickets check ok open=%u all_open=%zu committed=%" PRIu64 "\n",
           l->tickets_made - l->ticket_base, l->open_total, st.committed);
    l->tickets_phase = 3;
}

static void on_open(void *ud, const struct store_ticket_list *list)
{
    struct load *l = ud;
    if (list->failed)
        return tickets_fail(l, "load_open failed");
    /* This run's tickets among them (earlier runs may have left some). */
    unsigned want = l->tickets_made - l->ticket_base, mine = 0;
    for (size_t i = 0; i < list->count; i++) {
        const struct store_ticket *t = &list->tickets[i];
        if (t->status == TICKET_RESOLVED)
            return tickets_fail(l, "a resolved ticket among the open ones");
        for (unsigned k = 0; k < l->tickets_made; k++)
            if (l->ticket_ids[k] == t->id) {
                if (k < l->ticket_base)
                    return tickets_fail(l, "a ticket resolved by this run is open");
                mine++;
            }
    }
    if (mine != want) {
        printf("tickets check: %u of this run's tickets open, expected %u\n",
               mine, want);
        return tickets_fail(l, "open count");
    }
    l->open_total = list->count;
    l->tickets_phase = 2;
    char room[64];
    snprintf(room, sizeof room, "%s-t0", l->o.prefix);
    struct store_ticket_key key = {.room = room};
    if (store_ticket_find(l->archive, &key, on_found, l) < 0)
        tickets_fail(l, "cannot queue find");
}

static void tickets_check_start(struct load *l)
{
    l->tickets_phase = 1;
    if (store_tickets_load_open(l->archive, 0, on_open, l) < 0)
        tickets_fail(l, "cannot queue load_open");
}

static void stats_tick(void *ud)
{
    struct load *l = ud;
    if (l->stopping)
        return;
    print_stats(l, "stats");
    loop_timer_add(l->loop, l->o.stats_ms, stats_tick, l, NULL);
}

static void on_signal(void *ud, int fd, uint32_t events)
{
    struct load *l = ud;
    struct signalfd_siginfo info;
    (void)events;
    while (read(fd, &info, sizeof info) == (ssize_t)sizeof info)
        finish(l);
}

/* ---- query mode ---- */

static void query_next(struct load *l);

static void on_page(void *ud, const struct archive_page *page)
{
    struct load *l = ud;
    if (page->failed || page->unknown_id) {
        printf("query failed%s\n", page->unknown_id ? " (unknown id)" : "");
        l->exit_status = 1;
        finish(l);
        return;
    }
    for (size_t i = 0; i < page->count; i++)
        printf("item %s %s %s\n", page->items[i].stanza_id,
               page->items[i].actor_nick ? page->items[i].actor_nick : "-",
               page->items[i].body ? "body" : "-");
    l->query_items += page->count;
    if (page->complete || !page->count) {
        printf("query done items=%" PRIu64 "\n", l->query_items);
        finish(l);
        return;
    }
    free(l->after);
    l->after = strdup(page->items[page->count - 1].stanza_id);
    query_next(l);
}

static void query_next(struct load *l)
{
    struct archive_query q = {
        .room = l->o.query_room ? l->o.query_room : "-",
        .ticket_id = l->o.query_ticket,
        .after_id = l->after,
        .max = 50,
        .include_staff_only = true,
    };
    if (archive_query(l->archive, &q, on_page, l) < 0) {
        printf("query failed to queue\n");
        l->exit_status = 1;
        finish(l);
    }
}

static void query_start(void *ud)
{
    query_next(ud);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},
        {"count", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"rooms", required_argument, NULL, 'R'},
        {"tickets", required_argument, NULL, 'T'},
        {"prefix", required_argument, NULL, 'p'},
        {"acked", required_argument, NULL, 'a'},
        {"stats-ms", required_argument, NULL, 's'},
        {"latency", no_argument, NULL, 'L'},
        {"body-size", required_argument, NULL, 'b'},
        {"bad-every", required_argument, NULL, 'B'},
        {"wait-committed", no_argument, NULL, 'w'},
        {"query", required_argument, NULL, 'q'},
        {"query-ticket", required_argument, NULL, 'Q'},
        {"stop-timeout", required_argument, NULL, 'S'},
        {"replay-only", no_argument, NULL, 'P'},
        {"ticket-every", required_argument, NULL, 'E'},
        {"query-check", no_argument, NULL, 'K'},
        {"query-from-tail", no_argument, NULL, 'F'},
        {"tickets-check", no_argument, NULL, 'C'},
        {"odd-text", no_argument, NULL, 'O'},
        {NULL, 0, NULL, 0},
    };
    struct load l = {.o = {.rooms = 10, .prefix = "load", .body_size = 100,
                           .stop_timeout_ms = 10000}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:", options, NULL)) != -1) {
        switch (opt) {
        case 'c': l.o.config = optarg; break;
        case 'r': l.o.rate = atof(optarg); break;
        case 'n': l.o.count = strtoull(optarg, NULL, 10); break;
        case 'd': l.o.duration = atof(optarg); break;
        case 'R': l.o.rooms = (unsigned)atoi(optarg); break;
        case 'T': l.o.tickets = (unsigned)atoi(optarg); break;
        case 'p': l.o.prefix = optarg; break;
        case 'a': l.o.acked = optarg; break;
        case 's': l.o.stats_ms = (unsigned)atoi(optarg); break;
        case 'L': l.o.latency = true; break;
        case 'b': l.o.body_size = (unsigned)atoi(optarg); break;
        case 'B': l.o.bad_every = (unsigned)atoi(optarg); break;
        case 'w': l.o.wait_committed = true; break;
        case 'q': l.o.query_room = optarg; break;
        case 'Q': l.o.query_ticket = strtoll(optarg, NULL, 10); break;
        case 'S': l.o.stop_timeout_ms = (unsigned)atoi(optarg); break;
        case 'P': l.o.replay_only = true; break;
        case 'E': l.o.ticket_every = (unsigned)atoi(optarg); break;
        case 'K': l.o.query_check = true; break;
        case 'F': l.o.query_check = l.o.query_from_tail = true; break;
        case 'C': l.o.tickets_check = true; break;
        case 'O': l.o.odd_text = true; break;
        default: usage(); return 2;
        }
    }
    if (!l.o.config || l.o.rooms == 0) {
        usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct config cfg;
    struct config_error cerr;
    if (config_load(l.o.config, &cfg, &cerr) < 0) {
        fprintf(stderr, "%s\n", cerr.text);
        return 2;
    }
    log_setup(cfg.log.level, false, cfg.log.file);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    l.loop = loop_new();
    struct store_config scfg = {
        .conninfo = cfg.database.conninfo,
        .connect_timeout_s = cfg.database.connect_timeout_s,
        .statement_timeout_ms = cfg.database.statement_timeout_ms,
    };
    l.store = store_new(l.loop, &scfg);
    l.archive = l.store ? archive_new(l.loop, l.store, &cfg) : NULL;
    l.seq_event = calloc(RING, sizeof *l.seq_event);
    l.seq_time_ns = calloc(RING, sizeof *l.seq_time_ns);
    l.ticket_ids = calloc(l.o.tickets + 1, sizeof *l.ticket_ids);
    l.body = malloc(l.o.body_size + 1);
    if (!l.archive || !l.seq_event || !l.seq_time_ns || !l.ticket_ids ||
        !l.body || sfd < 0) {
        fprintf(stderr, "archive-load: set-up failed\n");
        return 1;
    }
    for (unsigned i = 0; i < l.o.body_size; i++)
        l.body[i] = (char)('a' + i % 26);
    l.body[l.o.body_size] = '\0';
    if (l.o.odd_text && l.o.body_size >= sizeof ODD)
        memcpy(l.body, ODD, sizeof ODD - 1);
    if (l.o.acked && !(l.acked = fopen(l.o.acked, "a"))) {
        perror(l.o.acked);
        return 1;
    }
    loop_io_add(l.loop, sfd, EPOLLIN, on_signal, &l);
    archive_on_durable(l.archive, on_durable, &l);
    if (store_start(l.store) < 0 || archive_start(l.archive) < 0) {
        fprintf(stderr, "archive-load: cannot start\n");
        return 1;
    }
    l.started_ns = now_ns();
    if (l.o.replay_only)
        l.appending_done = true;
    if (l.o.ticket_every && !l.o.tickets)
        l.o.tickets = 1;
    struct archive_stats st;
    archive_get_stats(l.archive, &st);
    l.reported = st.durable;
    printf("started appended=%" PRIu64 " committed=%" PRIu64 "\n", st.appended,
           st.committed);
    if (l.o.query_room || l.o.query_ticket)
        loop_timer_add(l.loop, 0, query_start, &l, NULL);
    else
        schedule_tick(&l, 0);
    if (l.o.stats_ms)
        loop_timer_add(l.loop, l.o.stats_ms, stats_tick, &l, NULL);
    loop_run(l.loop);

    archive_stop(l.archive, l.o.stop_timeout_ms);
    print_stats(&l, "stopped");
    store_stop(l.store, 1000);
    if (l.o.latency && l.lat_n) {
        qsort(l.lat_us, l.lat_n, sizeof *l.lat_us, cmp_u64);
        printf("latency samples=%zu p50_us=%" PRIu64 " p90_us=%" PRIu64
               " p99_us=%" PRIu64 " p999_us=%" PRIu64 " max_us=%" PRIu64 "\n",
               l.lat_n, l.lat_us[l.lat_n / 2], l.lat_us[l.lat_n * 9 / 10],
               l.lat_us[l.lat_n * 99 / 100], l.lat_us[l.lat_n * 999 / 1000],
               l.lat_us[l.lat_n - 1]);
    }
    if (l.o.latency) {
        /* The journal's own share: write + fdatasync per batch. */
        struct archive_stats js;
        archive_get_stats(l.archive, &js);
        uint64_t seen = 0, p50 = 0, p99 = 0, p999 = 0, max = 0;
        for (int i = 0; i < 24; i++) {
            uint64_t upper = 1ull << i;
            if (!p50 && (seen + js.sync_hist[i]) * 2 >= js.batches && js.batches)
                p50 = upper;
            if (!p99 && (seen + js.sync_hist[i]) * 100 >= js.batches * 99 && js.batches)
                p99 = upper;
            if (!p999 && (seen + js.sync_hist[i]) * 1000 >= js.batches * 999 && js.batches)
                p999 = upper;
            if (js.sync_hist[i])
                max = upper;
            seen += js.sync_hist[i];
        }
        printf("journal batches=%" PRIu64 " write_sync_p50_us_below=%" PRIu64
               " p99_us_below=%" PRIu64 " p999_us_below=%" PRIu64
               " max_us_below=%" PRIu64 "\n", js.batches, p50, p99, p999, max);
    }
    double secs = (double)(now_ns() - l.started_ns) / 1e9;
    printf("summary seconds=%.3f events=%" PRIu64 " rate=%.0f\n", secs,
           l.appended, l.appended / secs);
    archive_free(l.archive);
    store_free(l.store);
    if (l.acked)
        fclose(l.acked);
    loop_free(l.loop);
    close(sfd);
    free(l.seq_event);
    free(l.seq_time_ns);
    free(l.ticket_ids);
    free(l.body);
    free(l.lat_us);
    free(l.after);
    free_strs(l.expect, l.expect_n);
    free_strs(l.got, l.got_n);
    config_free(&cfg);
    log_shutdown();
    return l.exit_status;
}
