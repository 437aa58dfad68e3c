/* Routing: which agent is offered which waiting chat, at a cost of what
 * changed rather than of everything that waits.
 *
 * The rule (PRODUCT.md §1.3, README "Routing"): a queue's waiting chats are
 * served in order; for each one, the candidates are the queue's members who
 * are in the queue room with no <show/> (or chat), not busy, below their
 * maximum, holding no offer, not skipped for that chat after declining it
 * and not in its room already, in membership order; the queue's strategy
 * plugin picks one of them or nobody.
 *
 * Applying that rule to every waiting chat on every change costs
 * O(waiting x agents) per presence change.  Instead each queue keeps
 *  - E, its *eligible* members (available, holding no offer), ascending by
 *    membership order, and its count of available ones (the subject's);
 *  - its *routable* chats (waiting, no offer, a room) in classes of chats
 *    needing the same skills, each class a heap in queue order;
 * and this invariant: for each routable chat, the strategy picked nobody,
 * as things stood the last time anything in that chat's request changed.
 * A change then makes the desk ask again only for the chats whose request
 * it changed:
 *  - a chat became routable (new, requeued, its offer ended, a decline
 *    skip ended, someone left its room): that chat;
 *  - a member became eligible, or a candidate field of an eligible member
 *    changed: in each class, the chats in queue order, skipping those that
 *    exclude the member (their request did not change), asking those whose
 *    own exclusions leave out other eligible members, and stopping after
 *    the first chat that excludes no eligible member: every later chat of
 *    the class asks the same question, or the same with fewer candidates;
 *  - a member stopped being eligible, an exclusion was added: nothing.
 * The earliest chat (queue order) given to someone is offered first, as a
 * pass in order would, and the desk asks again until nothing moves.  An
 * agent becoming available therefore costs one question per class (one
 * class when chats need no skills), each O(eligible members), plus the
 * offer; a presence change that makes nobody eligible costs O(1).
 *
 * This relies on the strategies' contract (component/plugin.h): the pick
 * depends on the request only, on required skills only through which
 * candidates have them, and a strategy that picks nobody among some
 * candidates picks nobody among fewer of them.  That is what makes "the
 * same skills" mean: the same skills among those the queue's members have,
 * plus whether the chat needs one that none of them has; so customers,
 * who choose the skills a chat needs, cannot make more classes than the
 * members' skills allow.
 *
 * Nothing here calls the MUC: queue.c and chat.c report presence and room
 * occupants, and offers go through d->route_offer; so the unit tests drive
 * this file alone. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "desk/chat.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "plugin.h"

#define LOG "desk"
#define MAX_REQUIRED 32 /* skills of a chat passed to the strategy */

/* ---- members ------------------------------------------------------------------- */

static struct desk_member *member_find(const struct desk_queue *q,
                                       const char *jid)
{
    struct desk_member *m = NULL;
    HASH_FIND_STR(q->member_index, jid, m);
    return m;
}

static void mark_member(struct desk_queue *q, struct desk_member *m)
{
    if (m->dirty)
        return;
    m->dirty = true;
    m->dirty_next = q->dirty_members;
    q->dirty_members = m;
    q->pending = true;
}

/* Position of index i in E, or where it would go. */
static size_t eligible_slot(const struct desk_queue *q, size_t i)
{
    size_t lo = 0, hi = q->eligible_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->eligible[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int eligible_set(struct desk_queue *q, struct desk_member *m, bool on)
{
    size_t at = eligible_slot(q, m->index);
    if (!on) {
        memmove(q->eligible + at, q->eligible + at + 1,
                (q->eligible_count - at - 1) * sizeof *q->eligible);
        q->eligible_count--;
        return 0;
    }
    if (q->eligible_count == q->eligible_cap) {
        size_t cap = q->eligible_cap ? 2 * q->eligible_cap : 16;
        size_t *e = realloc(q->eligible, cap * sizeof *e);
        if (!e)
            return -1;
        q->eligible = e;
        q->eligible_cap = cap;
    }
    memmove(q->eligible + at + 1, q->eligible + at,
            (q->eligible_count - at) * sizeof *q->eligible);
    q->eligible[at] = m->index;
    q->eligible_count++;
    return 0;
}

/* Recomputes m's flags.  Newly eligible, or eligible with a candidate
 * field changed (`fields`): its chats are asked again (mark). */
static void member_update(struct desk_member *m, bool fields, bool mark)
{
    struct desk_queue *q = m->queue;
    const struct desk_staff *s = m->staff;
    bool available = m->takes_chats && m->shown && s && !s->busy &&
                     s->active < m->max_chats;
    bool eligible = available && !s->offer;
    if (available != m->available) {
        m->available = available;
        if (available)
            q->available_count++;
        else
            q->available_count--;
        q->subject_stale = true;
    }
    bool became = eligible && !m->eligible;
    if (eligible != m->eligible) {
        if (eligible_set(q, m, eligible) < 0) {
            log_error(LOG, "out of memory: %s not routed in %s", m->jid,
                      q->name);
            return;
        }
        m->eligible = eligible;
    }
    if (mark && eligible && (became || fields))
        mark_member(q, m);
}

void desk_routing_member_shown(struct desk_member *m, bool shown)
{
    if (!m->queue || m->queue->desk->routing_stale)
        return;
    m->shown = shown;
    member_update(m, false, true);
}

void desk_routing_staff_changed(struct desk *d, struct desk_staff *s,
                                bool fields)
{
    if (d->routing_stale)
        return;
    for (size_t i = 0; i < s->membership_count; i++)
        member_update(s->memberships[i], fields, true);
}

static int membership_add(struct desk_staff *s, struct desk_member *m)
{
    if (s->membership_count == s->membership_cap) {
        size_t cap = s->membership_cap ? 2 * s->membership_cap : 4;
        struct desk_member **a = realloc(s->memberships, cap * sizeof *a);
        if (!a)
            return -1;
        s->memberships = a;
        s->membership_cap = cap;
    }
    s->memberships[s->membership_count++] = m;
    return 0;
}

void desk_routing_staff_free(struct desk_staff *s)
{
    free(s->memberships);
    s->memberships = NULL;
    s->membership_count = s->membership_cap = 0;
}

/* ---- classes: heaps of routable chats in queue order --------------------------- */

static void heap_set(struct desk_route_class *g, size_t i, struct desk_chat *c)
{
    g->heap[i] = c;
    c->heap_index = i;
}

static void heap_up(struct desk_route_class *g, size_t i)
{
    struct desk_chat *c = g->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (g->heap[parent]->order <= c->order)
            break;
        heap_set(g, i, g->heap[parent]);
        i = parent;
    }
    heap_set(g, i, c);
}

static void heap_down(struct desk_route_class *g, size_t i)
{
    struct desk_chat *c = g->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= g->len)
            break;
        if (child + 1 < g->len &&
            g->heap[child + 1]->order < g->heap[child]->order)
            child++;
        if (c->order <= g->heap[child]->order)
            break;
        heap_set(g, i, g->heap[child]);
        i = child;
    }
    heap_set(g, i, c);
}

static int heap_push(struct desk_route_class *g, struct desk_chat *c)
{
    if (g->len == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct desk_chat **h = realloc(g->heap, cap * sizeof *h);
        if (!h)
            return -1;
        g->heap = h;
        g->cap = cap;
    }
    heap_set(g, g->len++, c);
    heap_up(g, g->len - 1);
    return 0;
}

static void heap_remove(struct desk_route_class *g, struct desk_chat *c)
{
    size_t i = c->heap_index;
    struct desk_chat *last = g->heap[--g->len];
    if (i == g->len)
        return;
    heap_set(g, i, last);
    heap_up(g, i);
    heap_down(g, last->heap_index);
}

static void class_free(struct desk_route_class *g)
{
    free(g->key);
    free(g->heap);
    free(g);
}

static struct desk_route_class *class_get(struct desk_queue *q,
                                          const char *key)
{
    struct desk_route_class *g = NULL;
    HASH_FIND_STR(q->classes, key, g);
    if (g)
        return g;
    g = calloc(1, sizeof *g);
    if (!g || !(g->key = strdup(key))) {
        free(g);
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, q->classes, g->key, strlen(g->key), g);
    return g;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The chat's required skills as handed to the strategy: its `skills`
 * list, empty entries skipped, at most MAX_REQUIRED.  Points into copy,
 * which the caller frees. */
static size_t required_skills(const char *skills, char **copy,
                              const char *out[MAX_REQUIRED])
{
    size_t n = 0;
    char *save = NULL;
    *copy = skills ? strdup(skills) : NULL;
    for (char *tok = *copy ? strtok_r(*copy, ",", &save) : NULL;
         tok && n < MAX_REQUIRED; tok = strtok_r(NULL, ",", &save))
        if (*tok)
            out[n++] = tok;
    return n;
}

/* The class of a chat: its required skills that some member of q has,
 * sorted, without repeats, and "|?" if it needs one that none has.  NULL
 * if out of memory. */
static char *route_key(const struct desk_queue *q, const char *skills)
{
    const char *req[MAX_REQUIRED], *known[MAX_REQUIRED];
    char *copy;
    size_t n = required_skills(skills, &copy, req), k = 0;
    bool unknown = false;
    for (size_t i = 0; i < n; i++) {
        struct desk_skill *sk = NULL;
        HASH_FIND_STR(q->known_skills, req[i], sk);
        if (sk)
            known[k++] = sk->name;
        else
            unknown = true;
    }
    qsort(known, k, sizeof *known, cmp_str);
    size_t len = 3;
    for (size_t i = 0; i < k; i++)
        len += strlen(known[i]) + 1;
    char *key = malloc(len), *p = key;
    if (key) {
        for (size_t i = 0; i < k; i++) {
            if (i && strcmp(known[i], known[i - 1]) == 0)
                continue;
            size_t l = strlen(known[i]);
            if (p != key)
                *p++ = ',';
            memcpy(p, known[i], l);
            p += l;
        }
        if (unknown)
            *p++ = '|', *p++ = '?';
        *p = '\0';
    }
    free(copy);
    return key;
}

/* ---- chats --------------------------------------------------------------------- */

/* A held chat (limits.c: nobody entered it while its domain was over
 * budget, or while a customer who is there waited) is routed once its
 * customer enters. */
static bool routable(const struct desk_chat *c)
{
    return c->waiting_in && !c->offered_to && c->room && !c->held;
}

static void mark_chat(struct desk_queue *q, struct desk_chat *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dprev = NULL;
    c->dnext = q->dirty_chats;
    if (q->dirty_chats)
        q->dirty_chats->dprev = c;
    q->dirty_chats = c;
    q->pending = true;
}

static void unmark_chat(struct desk_queue *q, struct desk_chat *c)
{
    if (!c->dirty)
        return;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        q->dirty_chats = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    c->dprev = c->dnext = NULL;
    c->dirty = false;
}

/* Out of its class's heap (c->rclass set: in q's), and out of the
 * dirty list. */
static void leave_heap(struct desk_queue *q, struct desk_chat *c)
{
    struct desk_route_class *g = c->rclass;
    if (g) {
        heap_remove(g, c);
        c->rclass = NULL;
        if (!g->len) {
            HASH_DEL(q->classes, g);
            class_free(g);
        }
    }
    unmark_chat(q, c);
}

/* Puts c in its class's heap or takes it out, as routable() says; a chat
 * that becomes routable is asked (mark).  In a heap: c->rclass set. */
static void chat_sync(struct desk_chat *c, bool mark)
{
    struct desk_queue *q = c->waiting_in;
    if (!q)
        return; /* not waiting: in no heap */
    if (!routable(c) || q->desk->routing_stale) {
        leave_heap(q, c);
        return;
    }
    if (c->rclass)
        return;
    if (!c->route_key && !(c->route_key = route_key(q, c->skills)))
        goto oom;
    struct desk_route_class *g = class_get(q, c->route_key);
    if (!g || heap_push(g, c) < 0)
        goto oom;
    c->rclass = g;
    if (mark)
        mark_chat(q, c);
    return;
oom:
    log_error(LOG, "out of memory: ticket %lld not routed", (long long)c->id);
}

void desk_routing_chat_changed(struct desk_chat *c)
{
    chat_sync(c, true);
}

static void age_remove(struct desk_queue *q, struct desk_chat *c)
{
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        q->age_head = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    else
        q->age_tail = c->aprev;
    c->aprev = c->anext = NULL;
}

void desk_wait_remove(struct desk_chat *c)
{
    struct desk_queue *q = c->waiting_in;
    if (!q)
        return;
    leave_heap(q, c);
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        q->wait_head = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    else
        q->wait_tail = c->wprev;
    c->wprev = c->wnext = NULL;
    age_remove(q, c);
    q->waiting_count--;
    q->subject_stale = true;
    c->waiting_in = NULL;
    free(c->route_key);
    c->route_key = NULL;
}

void desk_wait_add(struct desk_queue *q, struct desk_chat *c, bool front)
{
    desk_wait_remove(c);
    c->waiting_in = q;
    if (front) {
        c->order = --q->order_front;
        c->wprev = NULL;
        c->wnext = q->wait_head;
        if (q->wait_head)
            q->wait_head->wprev = c;
        else
            q->wait_tail = c;
        q->wait_head = c;
    } else {
        c->order = ++q->order_back;
        c->wnext = NULL;
        c->wprev = q->wait_tail;
        if (q->wait_tail)
            q->wait_tail->wnext = c;
        else
            q->wait_head = c;
        q->wait_tail = c;
    }
    /* enqueued_ms is set to now before every add, and now never goes
     * back: the age list stays sorted by appending. */
    c->anext = NULL;
    c->aprev = q->age_tail;
    if (q->age_tail)
        q->age_tail->anext = c;
    else
        q->age_head = c;
    q->age_tail = c;
    q->waiting_count++;
    q->subject_stale = true;
    chat_sync(c, true);
}

/* ---- exclusions: decline skips and the chat's own room ------------------------- */

static bool skip_active(const struct desk_name *n, uint64_t now)
{
    return now < n->until_ms;
}

static bool excludes(const struct desk_chat *c, const struct desk_member *m,
                     uint64_t now)
{
    for (const struct desk_name *n = c->declines; n; n = n->next)
        if (skip_active(n, now) && strcmp(n->jid, m->jid) == 0)
            return true;
    for (const struct desk_name *n = c->in_room; n; n = n->next)
        if (strcmp(n->jid, m->jid) == 0)
            return true;
    return false;
}

/* Whether c's exclusions leave out an eligible member of q (its request
 * then differs from its class's plain one). */
static bool narrowed(const struct desk_queue *q, const struct desk_chat *c,
                     uint64_t now)
{
    for (const struct desk_name *n = c->declines; n; n = n->next) {
        const struct desk_member *m = skip_active(n, now)
                                          ? member_find(q, n->jid) : NULL;
        if (m && m->eligible)
            return true;
    }
    for (const struct desk_name *n = c->in_room; n; n = n->next) {
        const struct desk_member *m = member_find(q, n->jid);
        if (m && m->eligible)
            return true;
    }
    return false;
}

static void set_excluded(const struct desk_queue *q, const struct desk_chat *c,
                         uint64_t now, bool on)
{
    for (const struct desk_name *n = c->declines; n; n = n->next) {
        struct desk_member *m = skip_active(n, now) ? member_find(q, n->jid)
                                                    : NULL;
        if (m)
            m->excluded = on;
    }
    for (const struct desk_name *n = c->in_room; n; n = n->next) {
        struct desk_member *m = member_find(q, n->jid);
        if (m)
            m->excluded = on;
    }
}

int desk_routing_chat_occupant(struct desk_chat *c, const char *bare, bool in)
{
    /* One occupant fewer: its member may be a candidate now. */
    struct desk_member *m = c->waiting_in ? member_find(c->waiting_in, bare)
                                          : NULL;
    if (in) {
        struct desk_name *n = calloc(1, sizeof *n);
        if (!n || !(n->jid = strdup(bare))) {
            free(n);
            return -1;
        }
        n->next = c->in_room;
        c->in_room = n;
        return 0;
    }
    for (struct desk_name **p = &c->in_room; *p; p = &(*p)->next) {
        if (strcmp((*p)->jid, bare) == 0) {
            struct desk_name *n = *p;
            *p = n->next;
            free(n->jid);
            free(n);
            break;
        }
    }
    if (m && m->eligible && routable(c) && !c->desk->routing_stale)
        mark_chat(c->waiting_in, c);
    return 0;
}

void desk_routing_skips_expired(struct desk_chat *c)
{
    uint64_t now = loop_now(c->desk->loop);
    bool ended = false;
    for (struct desk_name **p = &c->declines; *p;) {
        struct desk_name *n = *p;
        if (skip_active(n, now)) {
            p = &n->next;
            continue;
        }
        *p = n->next;
        free(n->jid);
        free(n);
        ended = true;
    }
    if (ended && routable(c) && !c->desk->routing_stale)
        mark_chat(c->waiting_in, c);
}

uint64_t desk_routing_next_skip(const struct desk_chat *c)
{
    uint64_t first = 0;
    for (const struct desk_name *n = c->declines; n; n = n->next)
        if (!first || n->until_ms < first)
            first = n->until_ms;
    return first;
}

/* ---- offers' bookkeeping ------------------------------------------------------- */

int desk_routing_offer_started(struct desk_chat *c, struct desk_staff *s,
                               const char *jid)
{
    struct desk *d = c->desk;
    if (!(c->offered_to = strdup(jid)))
        return -1;
    s->offer = c;
    s->last_offer_ms = loop_now(d->loop);
    chat_sync(c, false);
    desk_routing_staff_changed(d, s, false);
    return 0;
}

void desk_routing_offer_ended(struct desk_chat *c, struct desk_staff *s,
                              uint64_t skip_until_ms)
{
    struct desk *d = c->desk;
    if (s && s->offer == c)
        s->offer = NULL;
    if (skip_until_ms) {
        struct desk_name *n = calloc(1, sizeof *n);
        if (n && (n->jid = strdup(c->offered_to))) {
            n->until_ms = skip_until_ms;
            n->next = c->declines;
            c->declines = n;
        } else {
            free(n);
        }
    }
    free(c->offered_to);
    c->offered_to = NULL;
    chat_sync(c, true);
    if (s)
        desk_routing_staff_changed(d, s, false);
}

/* ---- asking the strategy ------------------------------------------------------- */

/* The member the strategy gives c to now, or NULL: nobody (or no
 * strategy, or no candidate). */
static struct desk_member *ask(struct desk_queue *q, struct desk_chat *c,
                               uint64_t now)
{
    const struct mucdesk_plugin *p = q->plugin ? q->plugin->plugin : NULL;
    if (!p || !p->pick_agent || !q->eligible_count)
        return NULL;
    struct mucdesk_candidate *cands =
        malloc(q->eligible_count * sizeof *cands);
    struct desk_member **who = malloc(q->eligible_count * sizeof *who);
    if (!cands || !who) {
        free(cands);
        free(who);
        return NULL;
    }
    set_excluded(q, c, now, true);
    size_t n = 0;
    for (size_t i = 0; i < q->eligible_count; i++) {
        struct desk_member *m = &q->members[q->eligible[i]];
        if (m->excluded)
            continue;
        const struct desk_staff *s = m->staff;
        cands[n] = (struct mucdesk_candidate){
            .jid = m->jid,
            .active_chats = s->active,
            .max_chats = m->max_chats,
            .idle_since_ms = s->idle_since_ms,
            .last_offer_ms = s->last_offer_ms,
            .skills = (const char *const *)m->skills,
            .skill_count = m->skill_count,
        };
        who[n++] = m;
    }
    set_excluded(q, c, now, false);
    struct desk_member *picked = NULL;
    if (n) {
        const char *required[MAX_REQUIRED];
        char *copy;
        size_t nreq = required_skills(c->skills, &copy, required);
        struct mucdesk_route_request req = {q->name, c->id, required, nreq,
                                            cands, n};
        int pick = p->pick_agent(q->plugin->state, &req);
        if (pick >= 0 && (size_t)pick < n)
            picked = who[pick];
        free(copy);
    }
    free(cands);
    free(who);
    return picked;
}

struct choice {
    struct desk_chat *chat;
    struct desk_member *agent;
};

/* A small heap of indices into g->heap, by order: g's chats in queue
 * order without changing g (the k smallest of a heap in O(k log k)). */
struct walk {
    const struct desk_route_class *g;
    size_t *idx;
    size_t len, cap;
};

static bool walk_push(struct walk *w, size_t i)
{
    if (i >= w->g->len)
        return true;
    if (w->len == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        size_t *a = realloc(w->idx, cap * sizeof *a);
        if (!a)
            return false;
        w->idx = a;
        w->cap = cap;
    }
    size_t at = w->len++;
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (w->g->heap[w->idx[parent]]->order <= w->g->heap[i]->order)
            break;
        w->idx[at] = w->idx[parent];
        at = parent;
    }
    w->idx[at] = i;
    return true;
}

static size_t walk_pop(struct walk *w)
{
    size_t top = w->idx[0], last = w->idx[--w->len], at = 0;
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= w->len)
            break;
        if (child + 1 < w->len && w->g->heap[w->idx[child + 1]]->order <
                                      w->g->heap[w->idx[child]]->order)
            child++;
        if (w->g->heap[last]->order <= w->g->heap[w->idx[child]]->order)
            break;
        w->idx[at] = w->idx[child];
        at = child;
    }
    if (w->len)
        w->idx[at] = last;
    return top;
}

/* For member m, newly eligible: the first chat of class g, before
 * `bound` in queue order, that the strategy now gives to someone.
 * *complete: the class was searched to its end (not cut by bound). */
static struct choice class_taker(struct desk_queue *q,
                                 struct desk_route_class *g,
                                 const struct desk_member *m, int64_t bound,
                                 uint64_t now, bool *complete)
{
    struct choice found = {NULL, NULL};
    struct walk w = {g, NULL, 0, 0};
    *complete = true;
    if (!walk_push(&w, 0))
        goto oom;
    while (w.len) {
        struct desk_chat *c = g->heap[walk_pop(&w)];
        if (c->order >= bound) {
            *complete = false;
            break;
        }
        if (!walk_push(&w, 2 * c->heap_index + 1) ||
            !walk_push(&w, 2 * c->heap_index + 2))
            goto oom;
        if (excludes(c, m, now))
            continue; /* its request did not change */
        bool plain = !narrowed(q, c, now);
        if (plain && g->rejected)
            break; /* asked already in this run: nobody */
        struct desk_member *who = ask(q, c, now);
        if (who) {
            found = (struct choice){c, who};
            break;
        }
        if (plain) {
            g->rejected = true;
            break; /* the rest of the class asks this, or less */
        }
    }
    free(w.idx);
    return found;
oom:
    free(w.idx);
    log_error(LOG, "out of memory while routing in %s", q->name);
    return found;
}

/* Classes by their first chat's place in the queue. */
static int cmp_class(const void *a, const void *b)
{
    int64_t x = (*(struct desk_route_class *const *)a)->heap[0]->order;
    int64_t y = (*(struct desk_route_class *const *)b)->heap[0]->order;
    return x < y ? -1 : x > y;
}

/* For member m, newly eligible: the first chat of q before `bound` that
 * the strategy gives to someone.  *complete as for class_taker. */
static struct choice member_taker(struct desk_queue *q,
                                  const struct desk_member *m, int64_t bound,
                                  uint64_t now, bool *complete)
{
    struct choice best = {NULL, NULL};
    *complete = true;
    unsigned n = HASH_COUNT(q->classes);
    if (!n)
        return best;
    struct desk_route_class **gs = malloc(n * sizeof *gs);
    if (!gs) {
        *complete = false;
        return best;
    }
    size_t k = 0;
    for (struct desk_route_class *g = q->classes; g; g = g->hh.next)
        gs[k++] = g;
    qsort(gs, k, sizeof *gs, cmp_class);
    for (size_t i = 0; i < k; i++) {
        if (gs[i]->heap[0]->order >= bound) {
            *complete = false;
            break;
        }
        bool whole;
        struct choice c = class_taker(q, gs[i], m, bound, now, &whole);
        if (!whole)
            *complete = false;
        if (c.chat) {
            best = c;
            bound = c.chat->order;
        }
    }
    free(gs);
    return best;
}

/* Makes the offer; false if it did not take (routing stops there). */
static bool offer(struct desk_queue *q, struct choice ch)
{
    struct desk *d = q->desk;
    /* Its result says whether the invitation was written; the offer
     * stands either way (as it always did), so only the state counts. */
    if (d->route_offer)
        d->route_offer(ch.chat, ch.agent->jid);
    if (!d->route_offer || routable(ch.chat) || ch.agent->eligible) {
        log_error(LOG, "ticket %lld: the offer to %s failed",
                  (long long)ch.chat->id, ch.agent->jid);
        return false;
    }
    return true;
}

static void clear_dirty(struct desk_queue *q)
{
    while (q->dirty_chats)
        unmark_chat(q, q->dirty_chats);
    for (struct desk_member *m = q->dirty_members; m; m = m->dirty_next)
        m->dirty = false;
    q->dirty_members = NULL;
    q->pending = false;
}

static int cmp_order(const void *a, const void *b)
{
    const struct desk_chat *x = *(const struct desk_chat *const *)a;
    const struct desk_chat *y = *(const struct desk_chat *const *)b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The dirty chats of q, in queue order (NULL if none, or out of memory:
 * then *n is 0 and they are dropped). */
static struct desk_chat **dirty_sorted(struct desk_queue *q, size_t *n)
{
    *n = 0;
    for (struct desk_chat *c = q->dirty_chats; c; c = c->dnext)
        (*n)++;
    struct desk_chat **a = *n ? malloc(*n * sizeof *a) : NULL;
    if (!a) {
        if (*n)
            log_error(LOG, "out of memory while routing in %s", q->name);
        *n = 0;
        return NULL;
    }
    size_t i = 0;
    for (struct desk_chat *c = q->dirty_chats; c; c = c->dnext)
        a[i++] = c;
    qsort(a, *n, sizeof *a, cmp_order);
    return a;
}

/* The first dirty chat from *at on that the strategy gives to someone;
 * those before it that got nobody are clean again.  A class whose plain
 * request (no exclusion of an eligible member) got nobody is not asked
 * again in this run: agents only go during a run, never come. */
static struct choice dirty_taker(struct desk_queue *q, struct desk_chat **a,
                                 size_t n, size_t *at, uint64_t now)
{
    for (; *at < n; ++*at) {
        struct desk_chat *c = a[*at];
        if (!c->dirty)
            continue; /* offered meanwhile */
        if (!c->rclass) {
            unmark_chat(q, c);
            continue;
        }
        bool plain = !narrowed(q, c, now);
        struct desk_member *who =
            plain && c->rclass->rejected ? NULL : ask(q, c, now);
        if (who)
            return (struct choice){c, who};
        if (plain)
            c->rclass->rejected = true;
        unmark_chat(q, c); /* nobody: the invariant holds */
    }
    return (struct choice){NULL, NULL};
}

/* Asks again what changed in q, offering the earliest chat that someone
 * gets first, until nothing moves. */
static void run_queue(struct desk_queue *q)
{
    const struct mucdesk_plugin *p = q->plugin ? q->plugin->plugin : NULL;
    q->pending = false;
    if (!q->room || !p || !p->pick_agent) {
        clear_dirty(q);
        return;
    }
    for (struct desk_route_class *g = q->classes; g; g = g->hh.next)
        g->rejected = false;
    size_t n, at = 0;
    struct desk_chat **dirty = dirty_sorted(q, &n);
    for (;;) {
        uint64_t now = loop_now(q->desk->loop);
        struct choice best = dirty_taker(q, dirty, n, &at, now);
        for (struct desk_member **pm = &q->dirty_members; *pm;) {
            struct desk_member *m = *pm;
            bool complete = false;
            struct choice ch = {NULL, NULL};
            if (m->eligible)
                ch = member_taker(q, m, best.chat ? best.chat->order
                                                  : INT64_MAX,
                                  now, &complete);
            if (ch.chat)
                best = ch;
            if (!m->eligible || (!ch.chat && complete)) {
                *pm = m->dirty_next; /* nothing anywhere for m */
                m->dirty = false;
            } else {
                pm = &m->dirty_next;
            }
        }
        if (!best.chat)
            break;
        unmark_chat(q, best.chat);
        if (!offer(q, best)) {
            clear_dirty(q);
            break;
        }
    }
    free(dirty);
    /* What is left was marked during the run (by a plugin's doing, say):
     * the next pass of desk_routing_run() takes it. */
    q->pending = q->dirty_chats || q->dirty_members;
}

void desk_routing_run(struct desk *d)
{
    if (d->routing_stale)
        return;
    /* An offer only takes agents away, so one pass is enough; the bound is
     * a guard. */
    for (int pass = 0; pass < 4; pass++) {
        bool any = false;
        for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
            if (q->pending) {
                any = true;
                run_queue(q);
            }
        }
        if (pass == 3 && any)
            for (struct desk_queue *q = d->queues; q; q = q->hh.next)
                clear_dirty(q);
        if (!any)
            return;
    }
}

/* ---- everything again ---------------------------------------------------------- */

static void classes_free(struct desk_queue *q)
{
    for (struct desk_chat *c = q->wait_head; c; c = c->wnext) {
        c->rclass = NULL;
        free(c->route_key);
        c->route_key = NULL;
    }
    struct desk_route_class *g, *tmp;
    HASH_ITER(hh, q->classes, g, tmp) {
        HASH_DEL(q->classes, g);
        class_free(g);
    }
    struct desk_skill *sk, *stmp;
    HASH_ITER(hh, q->known_skills, sk, stmp) {
        HASH_DEL(q->known_skills, sk);
        free(sk->name);
        free(sk);
    }
}

static void known_skills_build(struct desk_queue *q)
{
    for (size_t i = 0; i < q->member_count; i++) {
        const struct desk_member *m = &q->members[i];
        for (size_t k = 0; k < m->skill_count; k++) {
            struct desk_skill *sk = NULL;
            HASH_FIND_STR(q->known_skills, m->skills[k], sk);
            if (sk)
                continue;
            sk = calloc(1, sizeof *sk);
            if (!sk || !(sk->name = strdup(m->skills[k]))) {
                free(sk);
                continue; /* a skill left out: its chats look unroutable */
            }
            HASH_ADD_KEYPTR(hh, q->known_skills, sk->name, strlen(sk->name),
                            sk);
        }
    }
}

/* The pass over every waiting chat of q in order (the rule itself), with
 * what the invariant allows: a class whose plain request got nobody is
 * not asked again for its chats without exclusions. */
static void full_pass(struct desk_queue *q)
{
    const struct mucdesk_plugin *p = q->plugin ? q->plugin->plugin : NULL;
    if (!q->room || !p || !p->pick_agent)
        return;
    uint64_t now = loop_now(q->desk->loop);
    for (struct desk_route_class *g = q->classes; g; g = g->hh.next)
        g->rejected = false;
    for (struct desk_chat *c = q->wait_head, *next; c; c = next) {
        next = c->wnext;
        if (!routable(c) || !c->rclass)
            continue;
        if (!q->eligible_count)
            break;
        bool plain = !narrowed(q, c, now);
        if (plain && c->rclass->rejected)
            continue;
        struct desk_member *who = ask(q, c, now);
        if (!who) {
            if (plain)
                c->rclass->rejected = true;
            continue;
        }
        if (!offer(q, (struct choice){c, who}))
            break;
    }
}

void desk_routing_rebuild(struct desk *d)
{
    d->routing_stale = false;
    for (struct desk_staff *s = d->staff; s; s = s->hh.next)
        s->membership_count = 0;
    for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
        classes_free(q);
        q->dirty_chats = NULL;
        q->dirty_members = NULL;
        q->pending = false;
        q->eligible_count = 0;
        q->available_count = 0;
        q->subject_stale = true;
        known_skills_build(q);
        for (size_t i = 0; i < q->member_count; i++) {
            struct desk_member *m = &q->members[i];
            m->queue = q;
            m->index = i;
            m->available = m->eligible = m->excluded = m->dirty = false;
            if (m->staff && membership_add(m->staff, m) < 0)
                log_error(LOG, "out of memory: %s not routed", m->jid);
            member_update(m, false, false);
        }
        for (struct desk_chat *c = q->wait_head; c; c = c->wnext) {
            c->dirty = false;
            c->dprev = c->dnext = NULL;
            chat_sync(c, false);
        }
    }
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        full_pass(q);
}

void desk_routing_queue_free(struct desk_queue *q)
{
    classes_free(q);
    free(q->eligible);
    q->eligible = NULL;
    q->eligible_count = q->eligible_cap = 0;
    q->dirty_chats = NULL;
    q->dirty_members = NULL;
}
