/* Tickets after the chat (tickets.c, issue 14): the commands `tickets`,
 * `ticket`, `ticket-update` and `ticket-reply` for staff of a ticket's
 * queue (admins: every ticket), as ad-hoc commands on the service domain
 * and as text commands in queue and session rooms; and the follow-up
 * announcer (followup.c), which tells a queue room of work others gave
 * it (mail-in, ticket-update, mucdeskctl). */
#ifndef MUCDESK_DESK_TICKETS_H
#define MUCDESK_DESK_TICKETS_H

#include "xmpp/stanza.h"

struct desk;
struct desk_call;

int desk_adhoc_tickets_register(struct desk *d);

/* The text twins: !tickets [field=value...], !ticket N,
 * !ticket-update N field=value..., !ticket-reply N TEXT (in a session
 * room N may be left out: this chat's ticket). */
int desk_cmd_tickets(struct desk_call *call, const char *args,
                     struct xerr *err);
int desk_cmd_ticket(struct desk_call *call, const char *args,
                    struct xerr *err);
int desk_cmd_ticket_update(struct desk_call *call, const char *args,
                           struct xerr *err);
int desk_cmd_ticket_reply(struct desk_call *call, const char *args,
                          struct xerr *err);

/* The announcer: polls every few seconds while the desk runs. */
int desk_followup_start(struct desk *d);
/* Something was just marked for follow-up here: look now. */
void desk_followup_poke(struct desk *d);
void desk_followup_stop(struct desk *d);

#endif
