/* Who may do what: the one table.  Roles are worked out per queue in
 * desk.c (desk_role_for) and passed here; nothing else decides. */
#include "build-config.h"

#include "desk/authz.h"

/* The lowest role that may do each action. */
static const enum desk_role minimum[DESK_ACT_COUNT] = {
    [DESK_ACT_REQUEST_CHAT] = DESK_ROLE_NONE,
    [DESK_ACT_ENTER_SESSION] = DESK_ROLE_CUSTOMER,
    [DESK_ACT_ENTER_QUEUE] = DESK_ROLE_AGENT,
    [DESK_ACT_READ_TICKET] = DESK_ROLE_AGENT,
    [DESK_ACT_ACCEPT] = DESK_ROLE_AGENT,
    [DESK_ACT_WAITING] = DESK_ROLE_AGENT,
    [DESK_ACT_SESSION] = DESK_ROLE_AGENT,
    [DESK_ACT_SUPERVISE] = DESK_ROLE_SUPERVISOR,
    [DESK_ACT_REPORTS] = DESK_ROLE_SUPERVISOR,
    [DESK_ACT_ADMIN] = DESK_ROLE_ADMIN,
};

bool desk_authz_allows(enum desk_role role, enum desk_action action)
{
    if ((unsigned)action >= DESK_ACT_COUNT)
        return false;
    return role >= minimum[action];
}

const char *desk_role_name(enum desk_role role)
{
    switch (role) {
    case DESK_ROLE_CUSTOMER: return "customer";
    case DESK_ROLE_AGENT: return "agent";
    case DESK_ROLE_SUPERVISOR: return "supervisor";
    case DESK_ROLE_ADMIN: return "admin";
    default: return "none";
    }
}

const char *desk_action_name(enum desk_action action)
{
    static const char *const names[DESK_ACT_COUNT] = {
        "request-chat", "enter-session", "enter-queue", "read-ticket",
        "accept", "waiting", "session", "supervise", "reports", "admin",
    };
    return (unsigned)action < DESK_ACT_COUNT ? names[action] : "?";
}

void desk_authz_refuse(struct xerr *err)
{
    /* One text for every refusal: it must not tell a ticket that exists
     * from one that does not. */
    xerr_set(err, XERR_FORBIDDEN, "You are not allowed to do that");
}
