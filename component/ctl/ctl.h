/* mucdeskctl's commands beyond mucdeskctl.c: the PDF transcript (pdf.c),
 * mail-in (mail_in.c), tickets (tickets.c), webhooks (webhooks.c). */
#ifndef MUCDESK_CTL_CTL_H
#define MUCDESK_CTL_CTL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "desk/transcript.h"

/* sysexits.h values, which MTAs act on (mail-in). */
enum ctl_sysexit {
    CTL_EX_DATAERR = 65,   /* the message cannot be read: bounce */
    CTL_EX_NOUSER = 67,    /* no ticket and no [mail] in_queue: bounce */
    CTL_EX_TEMPFAIL = 75,  /* PostgreSQL away, configuration broken: the
                            * MTA keeps the message and retries later */
};

/* The database of the configuration, or NULL (the reason on stderr). */
PGconn *ctl_connect_db(const struct config *cfg);

/* Transcript t as a PDF in path ("-" or NULL: standard output).  0, or
 * -1 with the reason on stderr. */
int ctl_transcript_pdf(const struct desk_transcript *t, enum desk_view view,
                       const char *path);

/* mucdeskctl mail-in: one message on standard input; returns the exit
 * status (0 or a CTL_EX_*). */
int ctl_mail_in(const struct config *cfg);

/* tickets, ticket, ticket-update, ticket-reply (tickets.c): argv[i...]
 * are the command's arguments; returns the exit status (0, 1 the
 * database failed, 2 bad usage or no such ticket). */
int ctl_tickets(PGconn *conn, const char *command, int argc, char **argv,
                int i);

/* webhook-add, -list, -test, -pause, -resume, -replay, -remove, -dead
 * (webhooks.c), the same way: exit status 0, 1 the database failed, 2 bad
 * usage or no such endpoint. */
bool ctl_is_webhook_command(const char *command);
int ctl_webhooks(PGconn *conn, const char *command, int argc, char **argv,
                 int i);

#endif
