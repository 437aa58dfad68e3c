/* The plugin ABI: what a shared object in [service] plugin_dir exports so
 * that mucdesk can load it by name.
 *
 * A plugin is one .so exporting one symbol, `mucdesk_plugin`, a const
 * struct mucdesk_plugin whose first member is MUCDESK_PLUGIN_ABI.  It
 * compiles against this header alone (plain C types, no mucdesk
 * structures), so the core may change freely behind it.  Hooks a plugin
 * does not implement are NULL.  Everything runs on the XMPP thread and
 * must not block.
 *
 * Hooks:
 *  - pick_agent (routing strategies: a queue's `strategy` names the plugin):
 *    given the chat and the agents who may take it now, the index of the
 *    one to offer it to, or -1 for nobody (the chat is announced and waits
 *    for an agent's /accept).
 *  - event: the desk tells of ticket life events (created, offered,
 *    accepted, closed...).  Informational.
 *  - command: a text command the desk does not know (issue 7's /canned,
 *    /kb...).  Reserved: the desk does not call it yet.
 * New hooks are added at the end, with the ABI version raised only if an
 * existing member changes. */
#ifndef MUCDESK_PLUGIN_H
#define MUCDESK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define MUCDESK_PLUGIN_ABI 1
#define MUCDESK_PLUGIN_SYMBOL "mucdesk_plugin"

/* One agent who could take the chat now: present in the queue room and
 * available (no <show/> or chat), below their maximum, not holding another
 * offer, and not having declined this chat recently.  In the queue's
 * membership order. */
struct mucdesk_candidate {
    const char *jid;            /* bare JID */
    int active_chats;           /* chats they own now, in every queue */
    int max_chats;
    uint64_t idle_since_ms;     /* monotonic ms of their last chat's end
                                   (or of their arrival): smaller = idle
                                   longer */
    uint64_t last_offer_ms;     /* monotonic ms of their last offer, 0 if
                                   none since they arrived */
    const char *const *skills;  /* lower-case */
    size_t skill_count;
};

struct mucdesk_route_request {
    const char *queue;
    int64_t ticket;
    const char *const *required_skills; /* lower-case; may be empty */
    size_t required_count;
    const struct mucdesk_candidate *candidates;
    size_t candidate_count;
};

enum mucdesk_event_kind {
    MUCDESK_EVENT_CREATED,
    MUCDESK_EVENT_OFFERED,
    MUCDESK_EVENT_ACCEPTED,
    MUCDESK_EVENT_REQUEUED,
    MUCDESK_EVENT_CLOSED,
};

struct mucdesk_event {
    enum mucdesk_event_kind kind;
    const char *queue;
    int64_t ticket;
    const char *actor_jid;      /* NULL if none */
    const char *status;         /* the ticket's status after the event */
};

/* Reserved for text commands handled by plugins (issue 7). */
struct mucdesk_command_call;

struct mucdesk_plugin {
    unsigned abi;               /* MUCDESK_PLUGIN_ABI */
    const char *name;           /* as in the configuration ("round-robin") */
    const char *description;
    /* Called once after loading; *state is handed to every hook.  0, or -1
     * to refuse loading (logged). */
    int (*init)(void **state);
    void (*fini)(void *state);
    int (*pick_agent)(void *state, const struct mucdesk_route_request *req);
    void (*event)(void *state, const struct mucdesk_event *ev);
    int (*command)(void *state, struct mucdesk_command_call *call);
};

#endif
