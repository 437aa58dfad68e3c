/* Routing strategy "manual": nobody is picked.  Every new chat is announced
 * in the queue room and the first agent to /accept it wins. */
#include "plugin.h"

static int pick_agent(void *state, const struct mucdesk_route_request *req)
{
    (void)state;
    (void)req;
    return -1;
}

const struct mucdesk_plugin mucdesk_plugin = {
    .abi = MUCDESK_PLUGIN_ABI,
    .name = "manual",
    .description = "announce each chat; the first agent to accept it wins",
    .pick_agent = pick_agent,
};
