#include "build-config.h"

#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct io_watch {
    loop_io_fn fn;
    void *ud;
    bool active;
};

struct loop_timer {
    uint64_t due;
    uint64_t seq;       /* orders timers due at the same millisecond */
    size_t heap_index;
    loop_timer_fn fn;
    loop_finalize_fn finalize;
    void *ud;
};

struct turn_hook {
    loop_turn_fn fn;
    void *ud;
};

struct loop {
    int epfd;
    bool stopping;
    uint64_t now;

    struct io_watch *watches; /* indexed by fd */
    size_t watch_cap;

    struct loop_timer **heap; /* min-heap on (due, seq) */
    size_t heap_len, heap_cap;
    uint64_t next_seq;

    struct turn_hook *hooks;
    size_t hook_len;
};

uint64_t loop_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
    struct loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    loop->now = loop_clock_ms();
    return loop;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    while (loop->heap_len)
        loop_timer_cancel(loop, loop->heap[0]);
    free(loop->heap);
    free(loop->watches);
    free(loop->hooks);
    close(loop->epfd);
    free(loop);
}

/* ---- descriptors ---------------------------------------------------------- */

static int ensure_watch_slot(struct loop *loop, int fd)
{
    if ((size_t)fd < loop->watch_cap)
        return 0;
    size_t cap = loop->watch_cap ? loop->watch_cap : 64;
    while (cap <= (size_t)fd)
        cap *= 2;
    struct io_watch *w = realloc(loop->watches, cap * sizeof *w);
    if (!w)
        return -1;
    memset(w + loop->watch_cap, 0, (cap - loop->watch_cap) * sizeof *w);
    loop->watches = w;
    loop->watch_cap = cap;
    return 0;
}

int loop_io_add(struct loop *loop, int fd, uint32_t events, loop_io_fn fn,
                void *ud)
{
    if (fd < 0 || ensure_watch_slot(loop, fd) < 0) {
        errno = fd < 0 ? EBADF : ENOMEM;
        return -1;
    }
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    loop->watches[fd] = (struct io_watch){.fn = fn, .ud = ud, .active = true};
    return 0;
}

int loop_io_modify(struct loop *loop, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void loop_io_remove(struct loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->watch_cap || !loop->watches[fd].active)
        return;
    /* Fails with EBADF when the owner closed fd first; epoll dropped it
     * already in that case, so there is nothing left to undo. */
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    loop->watches[fd].active = false;
}

/* ---- timers --------------------------------------------------------------- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_place(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_sift_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_sift_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len &&
            timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

static void heap_remove(struct loop *loop, struct loop_timer *t)
{
    size_t i = t->heap_index;
    struct loop_timer *last = loop->heap[--loop->heap_len];
    if (i == loop->heap_len)
        return;
    heap_place(loop, i, last);
    heap_sift_down(loop, i);
    heap_sift_up(loop, last->heap_index);
}

struct loop_timer *loop_timer_add(struct loop *loop, uint64_t delay_ms,
                                  loop_timer_fn fn, void *ud,
                                  loop_finalize_fn finalize)
{
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        struct loop_timer **h = realloc(loop->heap, cap * sizeof *h);
        if (!h)
            return NULL;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    struct loop_timer *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->due = loop->now + delay_ms;
    t->seq = loop->next_seq++;
    t->fn = fn;
    t->ud = ud;
    t->finalize = finalize;
    heap_place(loop, loop->heap_len++, t);
    heap_sift_up(loop, t->heap_index);
    return t;
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *timer)
{
    if (!timer)
        return;
    heap_remove(loop, timer);
    if (timer->finalize)
        timer->finalize(timer->ud);
    free(timer);
}

uint64_t loop_timer_due(const struct loop_timer *timer)
{
    return timer->due;
}

static void run_due_timers(struct loop *loop)
{
    /* Timers added by a callback are due no earlier than `now`, so this ends:
     * a zero-delay timer added here runs in this pass, which is intended. */
    while (loop->heap_len && loop->heap[0]->due <= loop->now) {
        struct loop_timer *t = loop->heap[0];
        heap_remove(loop, t);
        t->fn(t->ud);
        if (t->finalize)
            t->finalize(t->ud);
        free(t);
    }
}

/* ---- turns ---------------------------------------------------------------- */

int loop_turn_hook_add(struct loop *loop, loop_turn_fn fn, void *ud)
{
    struct turn_hook *h =
        realloc(loop->hooks, (loop->hook_len + 1) * sizeof *h);
    if (!h)
        return -1;
    h[loop->hook_len++] = (struct turn_hook){fn, ud};
    loop->hooks = h;
    return 0;
}

uint64_t loop_now(const struct loop *loop)
{
    return loop->now;
}

void loop_stop(struct loop *loop)
{
    loop->stopping = true;
}

bool loop_stopping(const struct loop *loop)
{
    return loop->stopping;
}

static bool run_turn_hooks(struct loop *loop)
{
    bool more = false;
    for (size_t i = 0; i < loop->hook_len; i++)
        more |= loop->hooks[i].fn(loop->hooks[i].ud);
    return more;
}

void loop_advance(struct loop *loop, uint64_t ms)
{
    uint64_t until = loop->now + ms;
    /* Timers in due order, each seeing the clock at its own due time (a
     * timer it adds counts from there); a turn after each batch. */
    while (loop->heap_len && loop->heap[0]->due <= until) {
        if (loop->heap[0]->due > loop->now)
            loop->now = loop->heap[0]->due;
        run_due_timers(loop);
        run_turn_hooks(loop);
    }
    loop->now = until;
    /* Bounded: hooks that always report work must not hang a test. */
    for (int turns = 0; turns < 1000; turns++) {
        run_due_timers(loop);
        if (!run_turn_hooks(loop) &&
            !(loop->heap_len && loop->heap[0]->due <= loop->now))
            break;
    }
}

int loop_run(struct loop *loop)
{
    struct epoll_event events[64];
    loop->stopping = false; /* a loop may be run again after it stopped */
    bool more_work = run_turn_hooks(loop);

    while (!loop->stopping) {
        int timeout = -1;
        if (more_work) {
            timeout = 0;
        } else if (loop->heap_len) {
            uint64_t due = loop->heap[0]->due;
            uint64_t now = loop_clock_ms();
            timeout = due <= now ? 0 : (int)(due - now > 60000 ? 60000 : due - now);
        }
        int n = epoll_wait(loop->epfd, events, 64, timeout);
        if (n < 0 && errno != EINTR)
            return -1;
        loop->now = loop_clock_ms();
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            /* An earlier callback in this batch may have removed fd. */
            if ((size_t)fd >= loop->watch_cap || !loop->watches[fd].active)
                continue;
            struct io_watch *w = &loop->watches[fd];
            w->fn(w->ud, fd, events[i].events);
        }
        run_due_timers(loop);
        more_work = run_turn_hooks(loop);
    }
    return 0;
}
