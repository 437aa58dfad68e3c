/* mucdeskctl status: the running daemon's /metrics ([http] listen), read
 * with libcurl and printed for a person. */
#ifndef MUCDESK_CTL_STATUS_H
#define MUCDESK_CTL_STATUS_H

#include "core/config.h"

/* 0 (printed), 1 (the daemon could not be read, or it has no listener:
 * said on stderr). */
int ctl_status(const struct config *cfg);

#endif
