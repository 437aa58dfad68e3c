/* mucdeskctl's commands beyond mucdeskctl.c: the PDF transcript (pdf.c). */
#ifndef MUCDESK_CTL_CTL_H
#define MUCDESK_CTL_CTL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/config.h"
#include "desk/transcript.h"

/* The database of the configuration, or NULL (the reason on stderr). */
PGconn *ctl_connect_db(const struct config *cfg);

/* Transcript t as a PDF in path ("-" or NULL: standard output).  0, or
 * -1 with the reason on stderr. */
int ctl_transcript_pdf(const struct desk_transcript *t, enum desk_view view,
                       const char *path);

#endif
