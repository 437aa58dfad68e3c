/* The event loop: epoll for file descriptors, a heap of one-shot timers, and
 * turn hooks that run once at the end of every turn (the XMPP link uses one
 * to send everything a turn produced as a single write).
 *
 * Single-threaded: every function here must be called from the thread that
 * runs the loop.  Other threads wake it through an eventfd they own. */
#ifndef MUCDESK_CORE_LOOP_H
#define MUCDESK_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_timer;

/* events: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP as reported by epoll. */
typedef void (*loop_io_fn)(void *ud, int fd, uint32_t events);
typedef void (*loop_timer_fn)(void *ud);
/* Called when a timer is done with its user data: after it fired, or when it
 * was cancelled, or when the loop is freed with the timer still pending. */
typedef void (*loop_finalize_fn)(void *ud);
/* Runs at the end of each turn.  Returns true if it left work that should
 * run again without waiting (the loop then polls instead of sleeping). */
typedef bool (*loop_turn_fn)(void *ud);

struct loop *loop_new(void);
/* Cancels pending timers (running their finalizers) and closes epoll.
 * Watched descriptors are not closed: they belong to their owners. */
void loop_free(struct loop *loop);

/* Watches fd (level-triggered).  Returns 0 or -1 with errno. */
int loop_io_add(struct loop *loop, int fd, uint32_t events, loop_io_fn fn,
                void *ud);
int loop_io_modify(struct loop *loop, int fd, uint32_t events);
/* Stops watching fd.  Safe if the owner already closed it. */
void loop_io_remove(struct loop *loop, int fd);

/* A one-shot timer, due delay_ms from now.  The handle stays valid until the
 * timer fires (its callback is the last use) or is cancelled.  NULL on
 * allocation failure. */
struct loop_timer *loop_timer_add(struct loop *loop, uint64_t delay_ms,
                                  loop_timer_fn fn, void *ud,
                                  loop_finalize_fn finalize);
/* Cancels a pending timer; runs its finalizer.  NULL is a no-op. */
void loop_timer_cancel(struct loop *loop, struct loop_timer *timer);
uint64_t loop_timer_due(const struct loop_timer *timer);

int loop_turn_hook_add(struct loop *loop, loop_turn_fn fn, void *ud);

/* Milliseconds on the monotonic clock, read once per turn. */
uint64_t loop_now(const struct loop *loop);
/* Reads the clock afresh (for latency measurements). */
uint64_t loop_clock_ms(void);

/* Runs until loop_stop() is called during the run (it may be run again
 * afterwards: tests do).  Returns 0, or -1 if epoll failed. */
int loop_run(struct loop *loop);
/* Tests and fuzz targets: moves this loop's clock ms forward without
 * waiting, running the timers due on the way (each at its own time) and
 * the turn hooks, as loop_run would; no I/O is polled.  Until the hooks
 * report no more work.  Not for a loop that loop_run drives (which reads
 * the real clock again). */
void loop_advance(struct loop *loop, uint64_t ms);
/* Makes loop_run return after the current turn (turn hooks still run). */
void loop_stop(struct loop *loop);
bool loop_stopping(const struct loop *loop);

#endif
