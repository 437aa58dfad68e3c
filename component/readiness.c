#include "build-config.h"

#include "readiness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/sdnotify.h"

#define LOG "readiness"

/* How often the state is looked at: quickly until ready (READY=1 soon
 * after the last condition holds), then for the status line. */
#define LOOK_STARTING_MS 100
#define LOOK_RUNNING_MS 1000

struct readiness {
    struct loop *loop;
    readiness_probe_fn probe;
    void *ud;
    bool ready;
    char status[200];          /* the last STATUS= sent */
    struct loop_timer *look_timer;
    struct loop_timer *watchdog_timer;
    uint64_t watchdog_ms;      /* 0: no watchdog */
};

static void status_line(const struct readiness_state *st, bool ready,
                        char *out, size_t size)
{
    if (st->fenced) {
        snprintf(out, size, "fenced: the database lock session was lost; "
                            "not serving");
        return;
    }
    if (st->standby) {
        snprintf(out, size, "standby: database %s, waiting for the lock "
                            "(another instance serves)",
                 st->db_up ? "up" : "connecting");
        return;
    }
    if (ready) {
        snprintf(out, size,
                 "link up, database up, %u queue(s), %u chat(s) waiting, %u "
                 "active",
                 st->queues, st->waiting, st->active);
        return;
    }
    snprintf(out, size, "starting: link %s, database %s, %s",
             st->link_up ? "up" : "connecting",
             st->db_up ? "up" : "connecting",
             st->restored ? "open chats restored" : "restoring open chats");
}

static void send_status(struct readiness *r, const char *line, bool ready_too)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%sSTATUS=%s", ready_too ? "READY=1\n" : "",
             line);
    sdnotify_send(msg);
    snprintf(r->status, sizeof r->status, "%s", line);
}

static void look(void *ud)
{
    struct readiness *r = ud;
    r->look_timer = NULL;
    struct readiness_state st = {0};
    r->probe(r->ud, &st);
    bool now_ready = !r->ready &&
                     (st.standby ? st.db_up
                                 : st.link_up && st.db_up && st.restored);
    if (now_ready) {
        r->ready = true;
        if (st.standby)
            log_info(LOG, "ready as a standby: the database reached");
        else
            log_info(LOG, "ready: the link is up, the database reached and "
                          "the open chats restored");
    }
    /* Once ready, a link or database outage shows in the status line only:
     * the daemon rides it out, systemd need not act. */
    char line[200];
    if (r->ready && !st.standby && !st.fenced && (!st.link_up || !st.db_up))
        snprintf(line, sizeof line, "link %s, database %s, %u chat(s) "
                 "waiting, %u active", st.link_up ? "up" : "down (reconnecting)",
                 st.db_up ? "up" : "down (journal keeps the archive)",
                 st.waiting, st.active);
    else
        status_line(&st, r->ready, line, sizeof line);
    if (now_ready || strcmp(line, r->status) != 0)
        send_status(r, line, now_ready);
    r->look_timer = loop_timer_add(r->loop,
                                   r->ready ? LOOK_RUNNING_MS : LOOK_STARTING_MS,
                                   look, r, NULL);
}

static void watchdog(void *ud)
{
    struct readiness *r = ud;
    r->watchdog_timer = NULL;
    sdnotify_send("WATCHDOG=1");
    r->watchdog_timer = loop_timer_add(r->loop, r->watchdog_ms, watchdog, r,
                                       NULL);
}

struct readiness *readiness_new(struct loop *loop, readiness_probe_fn probe,
                                void *ud)
{
    struct readiness *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->loop = loop;
    r->probe = probe;
    r->ud = ud;
    return r;
}

int readiness_start(struct readiness *r)
{
    uint64_t usec = sdnotify_watchdog_usec();
    if (usec) {
        /* Half the interval, as sd_watchdog_enabled(3) advises. */
        r->watchdog_ms = usec / 2000 ? usec / 2000 : 1;
        log_info(LOG, "watchdog: every %llu ms (WatchdogSec=%.1fs)",
                 (unsigned long long)r->watchdog_ms, (double)usec / 1e6);
        sdnotify_send("WATCHDOG=1");
        r->watchdog_timer = loop_timer_add(r->loop, r->watchdog_ms, watchdog,
                                           r, NULL);
        if (!r->watchdog_timer)
            return -1;
    }
    r->look_timer = loop_timer_add(r->loop, 0, look, r, NULL);
    return r->look_timer ? 0 : -1;
}

void readiness_reloaded(struct readiness *r)
{
    if (!r->ready)
        return; /* READY=1 comes when the start-up is done */
    char msg[256];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", r->status);
    sdnotify_send(msg);
}

void readiness_stopping(struct readiness *r)
{
    sdnotify_send("STOPPING=1\nSTATUS=stopping: telling occupants, flushing "
                  "the archive");
}

void readiness_free(struct readiness *r)
{
    if (!r)
        return;
    loop_timer_cancel(r->loop, r->look_timer);
    loop_timer_cancel(r->loop, r->watchdog_timer);
    free(r);
}
