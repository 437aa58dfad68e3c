/* Routing strategy "skills": only agents who have every skill the chat
 * requires (required ⊆ agent's skills); among them the least busy, then
 * the one idle longest.  Nobody has them all: nobody is picked (the chat
 * is announced and waits). */
#include <string.h>

#include "plugin.h"

static int has_skill(const struct mucdesk_candidate *c, const char *skill)
{
    for (size_t i = 0; i < c->skill_count; i++)
        if (strcmp(c->skills[i], skill) == 0)
            return 1;
    return 0;
}

static int qualified(const struct mucdesk_candidate *c,
                     const struct mucdesk_route_request *req)
{
    for (size_t i = 0; i < req->required_count; i++)
        if (!has_skill(c, req->required_skills[i]))
            return 0;
    return 1;
}

static int pick_agent(void *state, const struct mucdesk_route_request *req)
{
    (void)state;
    int best = -1;
    for (size_t i = 0; i < req->candidate_count; i++) {
        const struct mucdesk_candidate *c = &req->candidates[i];
        if (!qualified(c, req))
            continue;
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
    .name = "skills",
    .description = "agents with every required skill, least busy first",
    .pick_agent = pick_agent,
};
