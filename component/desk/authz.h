/* Authorisation: who may do what on the desk.  Every command (text or
 * ad-hoc) and every room entry asks here.
 *
 * The rule is a pure table (desk_authz_allows) from the asker's role *for
 * the queue concerned* to the action; desk_authz_role() works that role
 * out (admins from the configuration, agents and supervisors from the
 * queue's membership, customers from the ticket).  A refusal is always
 * `forbidden` with one text that says nothing of whether the ticket or
 * queue exists. */
#ifndef MUCDESK_DESK_AUTHZ_H
#define MUCDESK_DESK_AUTHZ_H

#include <stdbool.h>

#include "xmpp/stanza.h"

/* Ordered: a supervisor may do what an agent may, an admin everything. */
enum desk_role {
    DESK_ROLE_NONE,       /* nobody in particular */
    DESK_ROLE_CUSTOMER,   /* the ticket's customer */
    DESK_ROLE_AGENT,
    DESK_ROLE_SUPERVISOR,
    DESK_ROLE_ADMIN,
};

enum desk_action {
    DESK_ACT_REQUEST_CHAT,   /* anyone */
    DESK_ACT_ENTER_SESSION,  /* the customer, the queue's staff */
    DESK_ACT_ENTER_QUEUE,    /* the queue's staff */
    DESK_ACT_READ_TICKET,    /* staff: MAM, disco, session details,
                                transcript */
    DESK_ACT_ACCEPT,         /* staff: /accept */
    DESK_ACT_WAITING,        /* staff: /waiting, stats of their queues */
    DESK_ACT_SESSION,        /* staff: /invite /forward /leave /close /note
                                /time /subject /priority /canned /kb /rate,
                                plugin commands */
    DESK_ACT_SUPERVISE,      /* supervisors: /observe /join /take /visible
                                /invisible */
    DESK_ACT_REPORTS,        /* supervisors: ticket-search */
    DESK_ACT_ADMIN,          /* admins: queues, agents, canned responses,
                                knowledge base, purge, snippet */
    DESK_ACT_COUNT,
};

const char *desk_role_name(enum desk_role role);
const char *desk_action_name(enum desk_action action);

/* The rule table. */
bool desk_authz_allows(enum desk_role role, enum desk_action action);

/* The refusal, the same whatever the reason. */
void desk_authz_refuse(struct xerr *err);

#endif
