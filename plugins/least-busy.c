/* Routing strategy "least-busy": the agent with the fewest active chats,
 * then the one idle longest (ties: membership order). */
#include "plugin.h"

static int pick_agent(void *state, const struct mucdesk_route_request *req)
{
    (void)state;
    int best = -1;
    for (size_t i = 0; i < req->candidate_count; i++) {
        const struct mucdesk_candidate *c = &req->candidates[i];
        if (best < 0) {
            best = (int)i;
            continue;
        }
        const struct mucdesk_candidate *b = &req->candidates[best];
        if (c->active_chats < b->active_chats ||
            (c->active_chats == b->active_chats &&
             c->idle_since_ms < b->idle_since_ms))
            best = (int)i;
    }
    return best;
}

const struct mucdesk_plugin mucdesk_plugin = {
    .abi = MUCDESK_PLUGIN_ABI,
    .name = "least-busy",
    .description = "fewest active chats, then idle longest",
    .pick_agent = pick_agent,
};
