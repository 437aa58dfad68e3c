#include "build-config.h"

#include "core/sdnotify.h"

#include <stdlib.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "core/log.h"

#define LOG "sdnotify"

bool sdnotify_enabled(void)
{
#ifdef HAVE_LIBSYSTEMD
    const char *s = getenv("NOTIFY_SOCKET");
    return s && *s;
#else
    return false;
#endif
}

void sdnotify_send(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
    if (!sdnotify_enabled())
        return;
    /* A datagram on a local socket: never blocks for long.  Failures are
     * logged at debug level only: the watchdog sends every few seconds. */
    int rc = sd_notify(0, state);
    if (rc < 0)
        log_debug(LOG, "sd_notify failed: %d", rc);
#else
    (void)state;
#endif
}

uint64_t sdnotify_watchdog_usec(void)
{
#ifdef HAVE_LIBSYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0)
        return usec;
#endif
    return 0;
}
