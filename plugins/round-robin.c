/* Routing strategy "round-robin": agents take turns.  The turn goes to the
 * candidate offered a chat longest ago (never offered: first), ties broken
 * by the queue's membership order; so each agent is offered in turn,
 * without any state kept here. */
#include "plugin.h"

static int pick_agent(void *state, const struct mucdesk_route_request *req)
{
    (void)state;
    int best = -1;
    for (size_t i = 0; i < req->candidate_count; i++) {
        const struct mucdesk_candidate *c = &req->candidates[i];
        if (best < 0 || c->last_offer_ms < req->candidates[best].last_offer_ms)
            best = (int)i;
    }
    return best;
}

const struct mucdesk_plugin mucdesk_plugin = {
    .abi = MUCDESK_PLUGIN_ABI,
    .name = "round-robin",
    .description = "agents take turns",
    .pick_agent = pick_agent,
};
