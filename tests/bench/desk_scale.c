/* desk_scale: the desk scale benchmark (issue 11): W waiting chats and A
 * agents in one queue, with presence churn; how long the desk takes to
 * decide an offer, and the CPU one presence change costs.
 *
 * In-process, with the real code from the router down: the real loop,
 * router, disco, MUC, archive and desk of libmucdesk.a, as the daemon
 * wires them, and nothing below them but a link that is never connected
 * (everything mucdesk writes lands in the link's output buffer, which is
 * emptied after each stanza) and a store whose database thread is never
 * started (the archive runs in async mode with its journal in a temporary
 * directory).  Stanzas are parsed from text outside the timed section and
 * handed to router_dispatch(), the function the link calls for each
 * received stanza; the time measured is that call: the MUC's handling
 * (including its broadcast of the presence to every agent in the queue
 * room) and the desk's, up to the invitation written to the link.
 *
 * Setup: the directory (one queue, the agents) is applied as a load from
 * PostgreSQL would be (desk_dir_apply); every agent joins the queue room;
 * the waiting chats are restored as at a start-up (desk_chat_restore, then
 * desk_route_all, timed as the "initial pass"): each has its session room,
 * no customer in it.  The loop never runs, so the clock stands still: no
 * offer times out and no decline skip ends during a run.
 *
 * Churn: STEPS steps, each one step of some agent's cycle (at most
 * CONCURRENCY agents are in a cycle at once: a step starts a random
 * available agent's cycle while fewer are, else moves a random one of them
 * on):
 *   away     an available agent (holding an offer) sends <show>away</show>:
 *            nobody becomes eligible;
 *   decline  the away agent declines its offer (the chat waits again;
 *            nobody is eligible for it but the decliner, who is away and
 *            skipped for it);
 *   back     the away agent, now without offer, becomes available: it is
 *            eligible, and the desk offers it the first waiting chat it may
 *            take: the offer decision.
 * Each kind is reported apart (wall time per stanza, p50/p99/max, and
 * thread CPU per stanza), with the offers each made.
 *
 * This file uses only interfaces that exist on main before issue 11's
 * routing change (desk_new, desk_dir_apply, desk_chat_restore,
 * desk_route_all, struct desk_staff's offer), so tests/bench/run-desk
 * builds the same program against an older tree for the "before" figures.
 *
 * Output: a report on stdout, and one line starting with "RESULT " with
 * key=value pairs for scripts. */
#include "build-config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/tz.h"
#include "desk/chat.h"
#include "desk/dbops.h"
#include "desk/desk.h"
#include "desk/directory.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "store/db.h"
#include "store/tickets.h"
#include "xmpp/disco.h"
#include "xmpp/link.h"
#include "xmpp/router.h"

#define DOMAIN "desk.bench.local"
#define QUEUE "support"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("desk_scale: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: the same churn for the same seed, on every tree. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* ---- samples -------------------------------------------------------------------- */

struct series {
    const char *name;
    uint64_t *wall_ns, *cpu_each_ns;
    size_t n, cap;
    uint64_t cpu_ns;
    uint64_t offers;
};

static void series_add(struct series *s, uint64_t wall, uint64_t cpu,
                       unsigned offers)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->wall_ns = realloc(s->wall_ns, s->cap * sizeof *s->wall_ns);
        s->cpu_each_ns =
            realloc(s->cpu_each_ns, s->cap * sizeof *s->cpu_each_ns);
        if (!s->wall_ns || !s->cpu_each_ns)
            die("out of memory");
    }
    s->cpu_each_ns[s->n] = cpu;
    s->wall_ns[s->n++] = wall;
    s->cpu_ns += cpu;
    s->offers += offers;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of sorted samples v, in microseconds; 0
 * without samples. */
static double quantile(const uint64_t *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > n)
        i = n;
    return (double)v[i - 1] / 1000.0;
}

static double quantile_us(const struct series *s, double q)
{
    return quantile(s->wall_ns, s->n, q);
}

static double cpu_quantile_us(const struct series *s, double q)
{
    return quantile(s->cpu_each_ns, s->n, q);
}

static double cpu_mean_us(const struct series *s)
{
    return s->n ? (double)s->cpu_ns / 1000.0 / (double)s->n : 0;
}

static void series_report(struct series *s, FILE *out, const char *kind)
{
    qsort(s->wall_ns, s->n, sizeof *s->wall_ns, cmp_u64);
    qsort(s->cpu_each_ns, s->n, sizeof *s->cpu_each_ns, cmp_u64);
    fprintf(out,
            "%-8s %7zu %11.1f %11.1f %11.1f %11.1f %11.1f %7" PRIu64 "\n",
            kind, s->n, quantile_us(s, 0.5), quantile_us(s, 0.99),
            quantile_us(s, 1.0), cpu_mean_us(s), cpu_quantile_us(s, 0.99),
            s->offers);
}

/* ---- the service, as service.c wires it, without the network --------------------- */

struct bench {
    struct config cfg;
    struct loop *loop;
    struct store *store;
    struct archive *archive;
    struct link *link;
    struct router *router;
    struct disco *disco;
    struct muc *muc;
    struct desk *desk;
    char tmp[64];
};

static void write_config(struct bench *b, const char *plugin_dir,
                         unsigned agents, unsigned chats)
{
    char path[128];
    snprintf(path, sizeof path, "%s/mucdesk.conf", b->tmp);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s", path);
    fprintf(f,
            "[component]\njid = " DOMAIN "\nsecret = bench\n"
            "[database]\n"
            "conninfo = host=/nonexistent dbname=none\n"
            "durability = async\nqueue_memory = 4096\n"
            "[service]\nadmins = admin@bench.local\nstate_dir = %s\n"
            "plugin_dir = %s\n"
            "[desk]\n"
            "[log]\nlevel = error\n"
            "[muc]\nmax_rooms = %u\nmax_occupants = %u\n"
            "message_rate = 100000\n",
            b->tmp, plugin_dir, chats + 100, agents + 100);
    fclose(f);
    struct config_error err;
    if (config_load(path, &b->cfg, &err) < 0)
        die("config: %s", err.text);
    unlink(path);
}

static void bench_open(struct bench *b, const char *plugin_dir,
                       unsigned agents, unsigned chats)
{
    snprintf(b->tmp, sizeof b->tmp, "/tmp/desk-scale-XXXXXX");
    if (!mkdtemp(b->tmp))
        die("mkdtemp failed");
    write_config(b, plugin_dir, agents, chats);
    log_setup(LOG_LEVEL_ERROR, false, NULL);
    b->loop = loop_new();
    struct store_config sc = {b->cfg.database.conninfo, 1, 1000};
    b->store = store_new(b->loop, &sc);
    b->archive = archive_new(b->loop, b->store, &b->cfg);
    if (!b->store || !b->archive || archive_start(b->archive) < 0)
        die("cannot set up the archive");
    struct link_config lc = {DOMAIN, "bench", "127.0.0.1", 5347, 30000};
    struct link_events ev = {0};
    b->link = link_new(b->loop, &lc, &ev);
    b->router = router_new(b->loop, b->link, DOMAIN);
    b->disco = disco_new(b->router, "bench");
    struct muc_archive arch = {b->archive, archive_append, archive_durable,
                               archive_on_durable, archive_query};
    b->muc = muc_new(b->loop, b->router, b->disco, NULL, &arch, &b->cfg);
    if (!b->muc || muc_start(b->muc) < 0)
        die("cannot set up the MUC");
    b->desk = desk_new(b->loop, b->router, b->disco, b->muc, b->store,
                       b->archive, &b->cfg);
    if (!b->desk)
        die("cannot set up the desk");
}

/* Dispatches one stanza; returns the wall and thread CPU time of
 * router_dispatch().  The output is dropped. */
static void dispatch(struct bench *b, const char *xml, uint64_t *wall,
                     uint64_t *cpu)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(link_strophe(b->link), xml);
    if (!st)
        die("unparsable stanza: %s", xml);
    buf_reset(link_out(b->link));
    uint64_t w0 = clock_ns(CLOCK_MONOTONIC);
    uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    router_dispatch(b->router, st);
    uint64_t c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t w1 = clock_ns(CLOCK_MONOTONIC);
    xmpp_stanza_release(st);
    if (wall)
        *wall = w1 - w0;
    if (cpu)
        *cpu = c1 - c0;
    buf_reset(link_out(b->link));
}

/* ---- the desk's state (read only) ---------------------------------------------------- */

static char agent_jid[64];
static const char *agent(unsigned i)
{
    snprintf(agent_jid, sizeof agent_jid, "agent%u@bench.local", i);
    return agent_jid;
}

static struct desk_chat *offer_of(struct bench *b, unsigned i)
{
    struct desk_staff *s = desk_staff_get(b->desk, agent(i));
    return s ? s->offer : NULL;
}

static unsigned offers_held(struct bench *b, unsigned agents)
{
    unsigned n = 0;
    for (unsigned i = 0; i < agents; i++)
        n += offer_of(b, i) != NULL;
    return n;
}

/* ---- set-up --------------------------------------------------------------------------- */

static const char *const skill_names[] = {"billing", "tech", "french",
                                          "german", "vip", "sales"};
#define SKILL_NAMES (sizeof skill_names / sizeof skill_names[0])

/* A comma list of the skills in mask (bit i: skill_names[i]). */
static void skills_text(unsigned mask, char *out, size_t size)
{
    out[0] = '\0';
    for (unsigned i = 0; i < SKILL_NAMES; i++)
        if (mask & (1u << i))
            snprintf(out + strlen(out), size - strlen(out), "%s%s",
                     out[0] ? "," : "", skill_names[i]);
}

static void apply_directory(struct bench *b, const char *strategy,
                            unsigned agents, int max_chats, unsigned skills)
{
    struct desk_directory dir = {0};
    dir.version = 1;
    dir.queue_count = 1;
    dir.queues = calloc(1, sizeof *dir.queues);
    dir.agents = calloc(agents + 1, sizeof *dir.agents);
    if (!dir.queues || !dir.agents)
        die("out of memory");
    struct desk_queue_row *q = &dir.queues[0];
    q->name = strdup(QUEUE);
    q->title = strdup("Support");
    q->strategy = strdup(strategy);
    q->offer_timeout = 30;
    q->max_wait = 300;
    q->prechat_fields = strdup("");
    q->hours = strdup("");
    q->timezone = strdup("UTC");
    q->tz = tz_utc();
    q->transcript_email = 0;
    for (unsigned i = 0; i < agents; i++) {
        struct desk_agent_row *a = &dir.agents[i];
        char sk[128];
        /* Every agent has one or two of the first `skills` skills. */
        unsigned mask = 0;
        if (skills) {
            mask = 1u << (rng() % skills);
            if (rng() % 2)
                mask |= 1u << (rng() % skills);
        }
        skills_text(mask, sk, sizeof sk);
        a->queue = strdup(QUEUE);
        a->jid = strdup(agent(i));
        a->role = strdup("agent");
        a->max_chats = max_chats;
        a->skills = strdup(sk);
    }
    dir.agent_count = agents;
    desk_dir_apply(b->desk, &dir);
    desk_directory_free(&dir);
    if (!desk_queue_find(b->desk, QUEUE))
        die("the queue was not created (strategy plugin missing?)");
}

static void join_agents(struct bench *b, unsigned agents)
{
    char xml[512];
    for (unsigned i = 0; i < agents; i++) {
        snprintf(xml, sizeof xml,
                 "<presence from='agent%u@bench.local/desk' "
                 "to='" QUEUE "@" DOMAIN "/agent%u'>"
                 "<x xmlns='http://jabber.org/protocol/muc'/></presence>",
                 i, i);
        dispatch(b, xml, NULL, NULL);
    }
    struct desk_queue *q = desk_queue_find(b->desk, QUEUE);
    if (!q->room || muc_room_occupant_count(q->room) != agents)
        die("only %u of %u agents in the queue room",
            q->room ? muc_room_occupant_count(q->room) : 0, agents);
}

static void restore_chats(struct bench *b, unsigned chats, unsigned skills)
{
    for (unsigned i = 1; i <= chats; i++) {
        char room[40], cust[64], details[256], sk[128];
        unsigned mask = skills ? 1u << (rng() % skills) : 0;
        skills_text(mask, sk, sizeof sk);
        snprintf(room, sizeof room, DESK_ROOM_PREFIX "%u", i);
        snprintf(cust, sizeof cust, "customer%u@bench.local", i);
        snprintf(details, sizeof details,
                 "{\"question\":\"Question %u\",\"skills\":\"%s\"}", i, sk);
        struct store_ticket t = {
            .id = i,
            .queue = QUEUE,
            .status = TICKET_QUEUED,
            .customer_jid = cust,
            .customer_name = "Customer",
            .created_us = 1,
            .room = room,
            .details = details,
        };
        if (!desk_chat_restore(b->desk, &t))
            die("cannot restore chat %u", i);
    }
}

/* ---- churn ------------------------------------------------------------------------------ */

enum phase { AVAILABLE, AWAY_OFFERED, AWAY_FREE };

struct churn {
    struct series away, decline, back;
    unsigned offers_missed;   /* "back" steps that made no offer */
};

static void step(struct bench *b, struct churn *ch, enum phase *ph, unsigned i)
{
    char xml[512];
    uint64_t wall, cpu;
    switch (ph[i]) {
    case AVAILABLE:
        snprintf(xml, sizeof xml,
                 "<presence from='agent%u@bench.local/desk' "
                 "to='" QUEUE "@" DOMAIN "/agent%u'><show>away</show>"
                 "</presence>",
                 i, i);
        dispatch(b, xml, &wall, &cpu);
        series_add(&ch->away, wall, cpu, 0);
        ph[i] = offer_of(b, i) ? AWAY_OFFERED : AWAY_FREE;
        break;
    case AWAY_OFFERED: {
        struct desk_chat *c = offer_of(b, i);
        if (!c) {
            ph[i] = AWAY_FREE;
            return;
        }
        snprintf(xml, sizeof xml,
                 "<message from='agent%u@bench.local/desk' "
                 "to='%s@" DOMAIN "'><x xmlns='"
                 "http://jabber.org/protocol/muc#user'><decline/></x>"
                 "</message>",
                 i, c->room_name);
        dispatch(b, xml, &wall, &cpu);
        series_add(&ch->decline, wall, cpu, 0);
        if (offer_of(b, i))
            die("agent%u still holds its offer after declining", i);
        ph[i] = AWAY_FREE;
        break;
    }
    case AWAY_FREE:
        snprintf(xml, sizeof xml,
                 "<presence from='agent%u@bench.local/desk' "
                 "to='" QUEUE "@" DOMAIN "/agent%u'/>",
                 i, i);
        dispatch(b, xml, &wall, &cpu);
        bool offered = offer_of(b, i) != NULL;
        series_add(&ch->back, wall, cpu, offered);
        ch->offers_missed += !offered;
        ph[i] = AVAILABLE;
        break;
    }
}

/* Agents in a cycle (away or declined, not back yet). */
struct cycling {
    unsigned *agent;
    unsigned len, max;
};

static unsigned pick_step(struct cycling *cy, const enum phase *ph,
                          unsigned agents)
{
    if (cy->len < cy->max) {
        for (;;) {
            unsigned i = (unsigned)(rng() % agents);
            if (ph[i] == AVAILABLE) {
                cy->agent[cy->len++] = i;
                return i;
            }
        }
    }
    unsigned k = (unsigned)(rng() % cy->len), i = cy->agent[k];
    if (ph[i] == AWAY_FREE) /* its last step: the cycle ends */
        cy->agent[k] = cy->agent[--cy->len];
    return i;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: desk_scale [--chats N] [--agents N] [--steps N] "
            "[--strategy NAME] [--max-chats N] [--skills N] [--seed N] "
            "[--concurrency N] "
            "[--label TEXT] --plugin-dir DIR\n");
    exit(2);
}

int main(int argc, char **argv)
{
    unsigned chats = 10000, agents = 1000, steps = 3000, skills = 0;
    unsigned concurrency = 10;
    int max_chats = 3;
    const char *strategy = "least-busy", *plugin_dir = NULL, *label = "run";
    static const struct option opts[] = {
        {"chats", required_argument, NULL, 'c'},
        {"agents", required_argument, NULL, 'a'},
        {"steps", required_argument, NULL, 's'},
        {"strategy", required_argument, NULL, 'S'},
        {"max-chats", required_argument, NULL, 'm'},
        {"skills", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 'r'},
        {"plugin-dir", required_argument, NULL, 'p'},
        {"label", required_argument, NULL, 'l'},
        {"concurrency", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': chats = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'a': agents = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': steps = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'S': strategy = optarg; break;
        case 'm': max_chats = atoi(optarg); break;
        case 'k': skills = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'r': rng_state = strtoull(optarg, NULL, 10) | 1; break;
        case 'p': plugin_dir = optarg; break;
        case 'l': label = optarg; break;
        case 'C': concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (!plugin_dir || !agents || skills > SKILL_NAMES || max_chats < 1 ||
        !concurrency || concurrency > agents)
        usage();

    struct bench b = {0};
    bench_open(&b, plugin_dir, agents, chats);
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
    apply_directory(&b, strategy, agents, max_chats, skills);
    join_agents(&b, agents);
    uint64_t t1 = clock_ns(CLOCK_MONOTONIC);
    restore_chats(&b, chats, skills);
    uint64_t t2 = clock_ns(CLOCK_MONOTONIC);
    desk_route_all(b.desk);
    uint64_t t3 = clock_ns(CLOCK_MONOTONIC);
    unsigned initial = offers_held(&b, agents);
    printf("desk_scale %s: %u waiting chats, %u agents (max %d chats), "
           "strategy %s, %u skill(s), %u steps, %u agent(s) cycling at "
           "once\n",
           label, chats, agents, max_chats, strategy, skills, steps,
           concurrency);
    printf("set-up: agents in %.2f s, chats restored in %.2f s, initial "
           "routing pass %.3f s (%u offers)\n",
           (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9,
           (double)(t3 - t2) / 1e9, initial);

    enum phase *ph = calloc(agents, sizeof *ph);
    struct churn ch = {{.name = "away"}, {.name = "decline"}, {.name = "back"}, 0};
    struct cycling cy = {calloc(concurrency, sizeof(unsigned)), 0, concurrency};
    if (!ph || !cy.agent)
        die("out of memory");
    uint64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t w0 = clock_ns(CLOCK_MONOTONIC);
    for (unsigned n = 0; n < steps; n++)
        step(&b, &ch, ph, pick_step(&cy, ph, agents));
    uint64_t w1 = clock_ns(CLOCK_MONOTONIC);
    uint64_t c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);

    printf("\n%-8s %7s %11s %11s %11s %11s %11s %7s\n", "kind", "count",
           "p50 us", "p99 us", "max us", "cpu mean us", "cpu p99 us",
           "offers");
    series_report(&ch.away, stdout, "away");
    series_report(&ch.decline, stdout, "decline");
    series_report(&ch.back, stdout, "back");
    size_t presence = ch.away.n + ch.back.n;
    double cpu_presence =
        presence ? (double)(ch.away.cpu_ns + ch.back.cpu_ns) / 1000.0 /
                       (double)presence
                 : 0;
    printf("\nchurn: %.2f s wall, %.2f s process CPU for %u steps\n",
           (double)(w1 - w0) / 1e9, (double)(c1 - c0) / 1e9, steps);
    printf("offer decision (back): p50 %.1f us, p99 %.1f us (CPU p99 %.1f "
           "us); \"back\" steps without an offer: %u\n",
           quantile_us(&ch.back, 0.5), quantile_us(&ch.back, 0.99),
           cpu_quantile_us(&ch.back, 0.99), ch.offers_missed);
    printf("CPU per presence change: %.1f us (away %.1f, back %.1f)\n",
           cpu_presence, cpu_mean_us(&ch.away), cpu_mean_us(&ch.back));
    printf("RESULT label=%s chats=%u agents=%u strategy=%s skills=%u "
           "steps=%u initial_s=%.3f initial_offers=%u",
           label, chats, agents, strategy, skills, steps,
           (double)(t3 - t2) / 1e9, initial);
    const struct series *all[] = {&ch.away, &ch.decline, &ch.back};
    for (size_t k = 0; k < 3; k++)
        printf(" %s_n=%zu %s_p50_us=%.1f %s_p99_us=%.1f %s_cpu_us=%.1f "
               "%s_cpu_p99_us=%.1f",
               all[k]->name, all[k]->n, all[k]->name,
               quantile_us(all[k], 0.5), all[k]->name,
               quantile_us(all[k], 0.99), all[k]->name, cpu_mean_us(all[k]),
               all[k]->name, cpu_quantile_us(all[k], 0.99));
    printf(" back_offers=%" PRIu64 " back_missed=%u presence_cpu_us=%.1f\n",
           ch.back.offers, ch.offers_missed, cpu_presence);
    fflush(stdout);
    /* No teardown: the archive would try to ship to a database that is not
     * there.  The journal goes with the temporary directory. */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", b.tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "desk_scale: could not remove %s\n", b.tmp);
    _exit(0);
}
