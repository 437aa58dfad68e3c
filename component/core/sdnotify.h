/* Telling the service manager how the daemon is (sd_notify(3)): READY=1,
 * STATUS=..., WATCHDOG=1, RELOADING=1, STOPPING=1.
 *
 * Through libsystemd when configure found it; without it (or without
 * $NOTIFY_SOCKET, as when run by hand) every call does nothing. */
#ifndef MUCDESK_CORE_SDNOTIFY_H
#define MUCDESK_CORE_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* True if notifications go anywhere (built with libsystemd and
 * $NOTIFY_SOCKET set). */
bool sdnotify_enabled(void);
/* Sends one notification: newline-separated VAR=value assignments. */
void sdnotify_send(const char *state);
/* The watchdog interval the manager asks for (WatchdogSec=, through
 * $WATCHDOG_USEC for this process), in microseconds; 0: none. */
uint64_t sdnotify_watchdog_usec(void);

#endif
